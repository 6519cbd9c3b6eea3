/* Gunzipping a whole file into a buffer of the size its header promises:
 * libdeflate in one go where it can, zlib where a stream is damaged,
 * truncated or longer than the buffer (bs-nifti.c reads NIfTI with it). */
#include <glib/gi18n.h>
#include <libdeflate.h>
#include <string.h>
#include <zlib.h>

#include "bs-nifti-private.h"


/* Streams with zlib into out until it is full or the input is exhausted,
 * following concatenated gzip members.  With verify, a member that out
 * cannot hold whole is still inflated to its end (into a scratch buffer), so
 * that zlib checks its CRC and length: without it a file damaged in the
 * middle decoded to garbage that nothing noticed (fuzz finding). */
GunzipStatus
bs_gunzip_zlib (const guint8 *in, gsize in_len, guint8 *out, gsize out_len, gsize *produced, gboolean verify)
{
  z_stream zs = { 0 };
  gsize in_pos = 0, out_pos = 0;
  GunzipStatus status = GUNZIP_OK;
  gboolean ended = FALSE;

  if (inflateInit2 (&zs, 15 + 16) != Z_OK)
    return GUNZIP_CORRUPT;
  while (out_pos < out_len)
    {
      gsize in_chunk = MIN (in_len - in_pos, (gsize) 1 << 30);
      gsize out_chunk = MIN (out_len - out_pos, (gsize) 1 << 30);
      zs.next_in = (Bytef *) (in + in_pos);
      zs.avail_in = (uInt) in_chunk;
      zs.next_out = out + out_pos;
      zs.avail_out = (uInt) out_chunk;
      int ret = inflate (&zs, Z_NO_FLUSH);
      gsize consumed = in_chunk - zs.avail_in, produced_now = out_chunk - zs.avail_out;
      in_pos += consumed;
      out_pos += produced_now;
      if (ret == Z_STREAM_END)
        {
          /* Another member may follow; anything else after the end is
           * padding that gzip(1) would also ignore. */
          if (in_len - in_pos >= 2 && in[in_pos] == 0x1f && in[in_pos + 1] == 0x8b)
            {
              inflateReset (&zs);
              continue;
            }
          ended = TRUE;
          break;
        }
      if (ret == Z_BUF_ERROR || (ret == Z_OK && in_pos == in_len && zs.avail_out > 0))
        {
          if (in_pos == in_len)
            {
              status = GUNZIP_TRUNCATED;
              break;
            }
          /* zlib could not move with input and room left: never spin. */
          if (consumed == 0 && produced_now == 0)
            {
              status = GUNZIP_CORRUPT;
              break;
            }
          continue;
        }
      if (ret != Z_OK)
        {
          status = GUNZIP_CORRUPT;
          break;
        }
    }
  /* out is full inside a member: the rest of it only to reach its trailer. */
  while (verify && status == GUNZIP_OK && !ended)
    {
      guint8 scratch[65536];
      gsize in_chunk = MIN (in_len - in_pos, (gsize) 1 << 30);
      zs.next_in = (Bytef *) (in + in_pos);
      zs.avail_in = (uInt) in_chunk;
      zs.next_out = scratch;
      zs.avail_out = sizeof scratch;
      int ret = inflate (&zs, Z_NO_FLUSH);
      gsize consumed = in_chunk - zs.avail_in;

      in_pos += consumed;
      if (ret == Z_STREAM_END)
        ended = TRUE;
      else if (ret == Z_OK && in_pos == in_len && zs.avail_out > 0)
        status = GUNZIP_TRUNCATED;
      else if (ret == Z_BUF_ERROR && in_pos == in_len)
        status = GUNZIP_TRUNCATED;
      else if (ret != Z_OK && ret != Z_BUF_ERROR)
        status = GUNZIP_CORRUPT;
      else if (consumed == 0 && zs.avail_out == sizeof scratch)
        status = GUNZIP_CORRUPT;   /* no progress with input and room left: never spin */
    }
  inflateEnd (&zs);
  *produced = out_pos;
  return status;
}

GunzipStatus
bs_gunzip_all (const guint8 *in, gsize in_len, guint8 *out, gsize out_len, gsize *produced)
{
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor ();
  gsize in_pos = 0, out_pos = 0;
  gboolean fast_path_ok = d != NULL;

  while (fast_path_ok && in_pos < in_len && out_pos < out_len)
    {
      size_t used = 0, got = 0;
      enum libdeflate_result r =
        libdeflate_gzip_decompress_ex (d, in + in_pos, in_len - in_pos, out + out_pos, out_len - out_pos,
                                       &used, &got);
      if (r != LIBDEFLATE_SUCCESS)
        fast_path_ok = FALSE;
      else
        {
          in_pos += used;
          out_pos += got;
        }
    }
  libdeflate_free_decompressor (d);
  if (fast_path_ok)
    {
      *produced = out_pos;
      return GUNZIP_OK;
    }
  /* libdeflate wants each member to fit in the output whole; a member that
   * carries bytes past the image, trailing padding, or a damaged stream all
   * end up here, where zlib can stop early and tell truncation from corruption. */
  return bs_gunzip_zlib (in, in_len, out, out_len, produced, TRUE);
}

