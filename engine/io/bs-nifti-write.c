/* NIfTI writing: the volume converted to the file's type in parallel,
 * gzipped, written to a temporary name and renamed (bs-nifti.c reads). */
#include "bs-nifti.h"

#include <glib/gi18n.h>
#include <libdeflate.h>
#include <math.h>
#include <nifti2_io.h>
#include <string.h>

#include "bs-error.h"
#include "bs-file.h"
#include "bs-nifti-private.h"
#include "bs-parallel.h"

typedef struct {
  const BsVolume *vol;
  guint8 *dst;
  int datatype;
  int nbyper;
  gsize n_per_task;
  gsize n_total;
} Encode;

static inline double
clamp_round (float v, double lo, double hi)
{
  if (!isfinite (v))
    return 0.0;
  double r = nearbyint ((double) v);
  return r < lo ? lo : r > hi ? hi : r;
}

static void
encode_task (int task, gpointer user_data)
{
  Encode *en = user_data;
  gsize begin = (gsize) task * en->n_per_task;
  gsize end = MIN (begin + en->n_per_task, en->n_total);
  const float *src = en->vol->data;

  if (en->datatype == DT_UINT8)
    {
      /* Masks and label maps: mostly zeros and small whole numbers, which
       * need no rounding call. */
      for (gsize i = begin; i < end; i++)
        {
          float v = src[i];

          en->dst[i] = v == 0.0f ? 0 : v == 1.0f ? 1 : (guint8) clamp_round (v, 0, G_MAXUINT8);
        }
      return;
    }
  for (gsize i = begin; i < end; i++)
    {
      guint8 *p = en->dst + i * en->nbyper;
      float v = src[i];
      switch (en->datatype)
        {
        case DT_UINT8:
          *p = (guint8) clamp_round (v, 0, G_MAXUINT8);
          break;
        case DT_INT8:
          *(gint8 *) p = (gint8) clamp_round (v, G_MININT8, G_MAXINT8);
          break;
        case DT_INT16:
          {
            gint16 s = (gint16) clamp_round (v, G_MININT16, G_MAXINT16);
            memcpy (p, &s, 2);
          }
          break;
        case DT_UINT16:
          {
            guint16 s = (guint16) clamp_round (v, 0, G_MAXUINT16);
            memcpy (p, &s, 2);
          }
          break;
        case DT_INT32:
          {
            gint32 s = (gint32) clamp_round (v, G_MININT32, G_MAXINT32);
            memcpy (p, &s, 4);
          }
          break;
        case DT_FLOAT32:
          memcpy (p, &v, 4);
          break;
        case DT_FLOAT64:
        default:
          {
            double dv = v;
            memcpy (p, &dv, 8);
          }
          break;
        }
    }
}

static nifti_image *
volume_to_nim (const BsVolume *vol, int datatype)
{
  int64_t dims[8] = { vol->n_channels > 1 ? 4 : 3, vol->dims[0], vol->dims[1], vol->dims[2],
                      vol->n_channels, 1, 1, 1 };
  nifti_image *nim;
  nifti_dmat44 m;

  bs_nifti_quiet ();
  nim = nifti_make_new_nim (dims, datatype, 0);
  if (nim == NULL)
    return NULL;
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      m.m[r][c] = vol->affine[r][c];
  nim->sform_code = NIFTI_XFORM_SCANNER_ANAT;
  nim->sto_xyz = m;
  nim->qform_code = NIFTI_XFORM_SCANNER_ANAT;
  nifti_dmat44_to_quatern (m, &nim->quatern_b, &nim->quatern_c, &nim->quatern_d, &nim->qoffset_x,
                           &nim->qoffset_y, &nim->qoffset_z, &nim->dx, &nim->dy, &nim->dz, &nim->qfac);
  nim->qto_xyz = m;
  nim->pixdim[1] = nim->dx;
  nim->pixdim[2] = nim->dy;
  nim->pixdim[3] = nim->dz;
  nim->xyz_units = NIFTI_UNITS_MM;
  nim->scl_slope = 0.0; /* no scaling: the voxels are the values */
  nim->scl_inter = 0.0;
  nim->intent_code = vol->is_label ? NIFTI_INTENT_LABEL : NIFTI_INTENT_NONE;
  g_strlcpy (nim->descrip, "Brainseg", sizeof nim->descrip);
  return nim;
}

gboolean
bs_volume_save_nifti (const BsVolume *vol, const char *path, int datatype, GError **error)
{
  g_autofree guint8 *buf = NULL;
  g_autofree guint8 *gzbuf = NULL;
  gboolean nifti2 = FALSE;
  gsize header_size;

  g_return_val_if_fail (vol != NULL && path != NULL, FALSE);

  /* A volume of a case resampled for the network goes back onto the file's
   * grid, so that it lies on the scan it came from in every other tool:
   * masks and labels to the nearest voxel, probabilities and images linearly. */
  if (bs_volume_has_source (vol))
    {
      g_autoptr(BsVolume) back = bs_volume_to_source (vol, vol->is_label || (datatype != DT_FLOAT32
                                                                            && datatype != DT_FLOAT64));

      if (back == NULL)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_WRITE, _("%s: out of memory for the file's voxel grid"), path);
          return FALSE;
        }
      memset (back->source_dims, 0, sizeof back->source_dims);
      return bs_volume_save_nifti (back, path, datatype, error);
    }
  if (!bs_nifti_datatype_supported (datatype))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_UNSUPPORTED,
                   _("%s: cannot write voxel datatype %d"), path, datatype);
      return FALSE;
    }
  for (int a = 0; a < 3; a++)
    nifti2 = nifti2 || vol->dims[a] > G_MAXINT16;
  nifti2 = nifti2 || vol->n_channels > G_MAXINT16;

  nifti_image *nim = volume_to_nim (vol, datatype);
  if (nim == NULL)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_WRITE, _("%s: could not build a NIfTI header"), path);
      return FALSE;
    }
  nim->nifti_type = nifti2 ? NIFTI_FTYPE_NIFTI2_1 : NIFTI_FTYPE_NIFTI1_1;
  nifti_set_iname_offset (nim, nifti2 ? 2 : 1);
  gsize vox_offset = (gsize) nim->iname_offset;
  gsize data_bytes = (gsize) nim->nvox * nim->nbyper;
  int nbyper = nim->nbyper;

  buf = g_try_malloc0 (vox_offset + data_bytes);
  if (buf == NULL)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_WRITE, _("%s: not enough memory to encode the volume"), path);
      nifti_image_free (nim);
      return FALSE;
    }
  int rc;
  if (nifti2)
    {
      nifti_2_header h2;
      rc = nifti_convert_nim2n2hdr (nim, &h2);
      memcpy (buf, &h2, sizeof h2);
      header_size = sizeof h2;
    }
  else
    {
      nifti_1_header h1;
      rc = nifti_convert_nim2n1hdr (nim, &h1);
      memcpy (buf, &h1, sizeof h1);
      header_size = sizeof h1;
    }
  nifti_image_free (nim);
  if (rc != 0 || vox_offset < header_size + 4)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_WRITE, _("%s: niftilib could not encode the header"), path);
      return FALSE;
    }
  /* The 4 bytes after the header are the extension flag: none (zero). */

  Encode en = { vol, buf + vox_offset, datatype, nbyper, 1 << 20, (gsize) vol->n_channels * bs_volume_n_voxels (vol) };
  bs_parallel_for ((int) ((en.n_total + en.n_per_task - 1) / en.n_per_task), encode_task, &en);

  const guint8 *out = buf;
  gsize out_len = vox_offset + data_bytes;
  if (bs_nifti_path_ends_gz (path))
    {
      /* Level 6: close to gzip's size at a fraction of zlib's time. */
      struct libdeflate_compressor *c = libdeflate_alloc_compressor (6);
      gsize bound = c ? libdeflate_gzip_compress_bound (c, out_len) : 0;
      gzbuf = bound ? g_try_malloc (bound) : NULL;
      gsize z = gzbuf ? libdeflate_gzip_compress (c, out, out_len, gzbuf, bound) : 0;
      libdeflate_free_compressor (c);
      if (z == 0)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_WRITE, _("%s: compression failed"), path);
          return FALSE;
        }
      out = gzbuf;
      out_len = z;
    }

  g_autoptr(GError) local = NULL;
  if (!bs_file_check_replaceable (path, error))
    return FALSE;
  /* g_file_set_contents writes a temporary file beside the target and renames
   * it, so readers never see a partial volume. */
  if (!g_file_set_contents_full (path, (const char *) out, (gssize) out_len, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0644, &local))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_WRITE, _("%s: cannot write: %s"), path, bs_file_error_reason (local));
      return FALSE;
    }
  return TRUE;
}
