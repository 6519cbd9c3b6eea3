/* NIfTI reading: the file is read (or mapped) whole, gunzipped with libdeflate
 * (zlib only as the fallback for streams libdeflate cannot take in one go),
 * and the header is interpreted by niftilib's own conversion functions.
 * Everything a header claims is checked against what the file can hold before
 * any image-sized allocation.  Gunzipping is in bs-gunzip.c, writing in
 * bs-nifti-write.c. */
#include "bs-nifti.h"

#include <glib/gi18n.h>
#include <math.h>
#include <nifti2_io.h>
#include <string.h>

#include "bs-error.h"
#include "bs-file.h"
#include "bs-nifti-private.h"
#include "bs-parallel.h"

/* More voxels than this (over all channels) is not a brain MRI: 2^30 floats
 * is 4 GiB.  Rejecting it early keeps a corrupt header from exhausting memory. */
#define BS_NIFTI_MAX_VOXELS ((gint64) 1 << 30)
#define BS_NIFTI_MAX_CHANNELS 1024
/* The voxel sizes a head scan can have, in mm (check_voxel_size). */
#define BS_NIFTI_MIN_VOXEL_MM 0.01
#define BS_NIFTI_MAX_VOXEL_MM 100.0
/* DEFLATE cannot expand data by more than about 1032:1. */
#define BS_DEFLATE_MAX_RATIO 1040

void
bs_nifti_quiet (void)
{
  static gsize done = 0;
  if (g_once_init_enter (&done))
    {
      nifti_set_debug_level (0);
      g_once_init_leave (&done, 1);
    }
}

/* ---- header ---- */

typedef struct {
  int version;        /* 1 or 2 */
  gboolean swapped;
  gsize header_size;  /* 348 or 540 */
  gint64 dim[8];
  int datatype;
} RawHeader;

static gint32
read_i32 (const guint8 *p, gboolean swap)
{
  gint32 v;
  memcpy (&v, p, 4);
  return swap ? (gint32) GUINT32_SWAP_LE_BE ((guint32) v) : v;
}

static gint16
read_i16 (const guint8 *p, gboolean swap)
{
  gint16 v;
  memcpy (&v, p, 2);
  return swap ? (gint16) GUINT16_SWAP_LE_BE ((guint16) v) : v;
}

static gint64
read_i64 (const guint8 *p, gboolean swap)
{
  gint64 v;
  memcpy (&v, p, 8);
  return swap ? (gint64) GUINT64_SWAP_LE_BE ((guint64) v) : v;
}

/* ".gz" in any letter case. */
gboolean
bs_nifti_path_ends_gz (const char *path)
{
  return bs_file_name_ends (path, ".gz");
}

/* Identifies the version and byte order and reads the dimensions as stored,
 * because niftilib quietly turns zero or negative dimensions into 1.
 * gzipped: whether h was decompressed (a name ending in .gz that was not
 * gets its own message). */
static gboolean
parse_raw_header (const char *path, gboolean gzipped, const guint8 *h, gsize n, RawHeader *raw, GError **error)
{
  if (n < 348)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                   _("%s: too short to be a NIfTI file (%zu bytes)"), path, n);
      return FALSE;
    }
  gint32 size = read_i32 (h, FALSE);
  gint32 size_swapped = read_i32 (h, TRUE);
  if (size == 348 || size_swapped == 348)
    {
      raw->version = 1;
      raw->swapped = size != 348;
      raw->header_size = 348;
    }
  else if (size == 540 || size_swapped == 540)
    {
      raw->version = 2;
      raw->swapped = size != 540;
      raw->header_size = 540;
    }
  else if (!gzipped && bs_nifti_path_ends_gz (path))
    {
      /* What a user who picked a .nii.gz needs to hear first (walk finding:
       * the message below quotes byte values). */
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                   _("%s: not a NIfTI image: the name ends in .gz, but the file is not gzip-compressed and "
                     "does not start with a NIfTI header either (damaged, or another kind of file)"), path);
      return FALSE;
    }
  else
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                   _("%s: not a NIfTI image: the file does not start with a NIfTI-1 or NIfTI-2 header "
                     "(its first four bytes read %d, where a NIfTI file has 348 or 540)"), path, size);
      return FALSE;
    }
  if (n < raw->header_size)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                   _("%s: truncated NIfTI-2 header (%zu of 540 bytes)"), path, n);
      return FALSE;
    }

  if (raw->version == 1)
    {
      const char *magic = (const char *) h + 344;
      if (memcmp (magic, "ni1", 4) == 0)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_UNSUPPORTED,
                       _("%s: two-file NIfTI (.hdr/.img) is not supported; convert it to .nii"), path);
          return FALSE;
        }
      if (memcmp (magic, "n+1", 4) != 0)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_UNSUPPORTED,
                       _("%s: no NIfTI magic (an Analyze 7.5 header?); only NIfTI-1 and NIfTI-2 are supported"),
                       path);
          return FALSE;
        }
      for (int i = 0; i < 8; i++)
        raw->dim[i] = read_i16 (h + 40 + 2 * i, raw->swapped);
      raw->datatype = read_i16 (h + 70, raw->swapped);
    }
  else
    {
      if (memcmp (h + 4, "n+2", 4) != 0)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_UNSUPPORTED,
                       _("%s: NIfTI-2 header without the single-file magic \"n+2\""), path);
          return FALSE;
        }
      for (int i = 0; i < 8; i++)
        raw->dim[i] = read_i64 (h + 16 + 8 * i, raw->swapped);
      raw->datatype = read_i16 (h + 12, raw->swapped);
    }

  if (raw->dim[0] < 1 || raw->dim[0] > 7)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                   _("%s: invalid number of dimensions %lld (expected 1 to 7)"), path,
                   (long long) raw->dim[0]);
      return FALSE;
    }
  for (int i = 1; i <= raw->dim[0]; i++)
    if (raw->dim[i] <= 0)
      {
        g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                     _("%s: dimension %d is %lld; dimensions must be positive"), path, i,
                     (long long) raw->dim[i]);
        return FALSE;
      }
  return TRUE;
}

gboolean
bs_nifti_datatype_supported (int datatype)
{
  switch (datatype)
    {
    case DT_UINT8:
    case DT_INT8:
    case DT_INT16:
    case DT_UINT16:
    case DT_INT32:
    case DT_FLOAT32:
    case DT_FLOAT64:
      return TRUE;
    default:
      return FALSE;
    }
}

/* Voxel sizes no head scan can have (a damaged or hostile header: 1e30 mm
 * made every volume in ml a 90-digit number and the window's panels unusable)
 * are refused, from pixdim and from the affine the geometry is taken from. */
static gboolean
check_voxel_size (const char *path, const nifti_image *nim, GError **error)
{
  const nifti_dmat44 *m = nim->sform_code > 0 ? &nim->sto_xyz : &nim->qto_xyz;
  const double pix[3] = { nim->dx, nim->dy, nim->dz };
  static const char axis[3] = { 'x', 'y', 'z' };

  for (int a = 0; a < 3; a++)
    {
      double col = 0.0;

      if (isfinite (pix[a]) && pix[a] != 0.0
          && (fabs (pix[a]) < BS_NIFTI_MIN_VOXEL_MM || fabs (pix[a]) > BS_NIFTI_MAX_VOXEL_MM))
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s: the header gives voxels %g mm wide along %c; a head scan has voxels of %g to %g mm"),
                       path, fabs (pix[a]), axis[a], BS_NIFTI_MIN_VOXEL_MM, BS_NIFTI_MAX_VOXEL_MM);
          return FALSE;
        }
      for (int r = 0; r < 3; r++)
        col += m->m[r][a] * m->m[r][a];
      col = sqrt (col);
      if (isfinite (col) && col != 0.0 && (col < BS_NIFTI_MIN_VOXEL_MM || col > BS_NIFTI_MAX_VOXEL_MM))
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s: the header's affine makes voxels %g mm wide along %c; a head scan has voxels of %g to %g mm"),
                       path, col, axis[a], BS_NIFTI_MIN_VOXEL_MM, BS_NIFTI_MAX_VOXEL_MM);
          return FALSE;
        }
    }
  return TRUE;
}

static nifti_image *
header_to_nim (const char *path, const guint8 *h, const RawHeader *raw, GError **error)
{
  nifti_image *nim;

  bs_nifti_quiet ();
  if (raw->version == 1)
    {
      nifti_1_header n1;
      memcpy (&n1, h, sizeof n1);
      nim = nifti_convert_n1hdr2nim (n1, path);
    }
  else
    {
      nifti_2_header n2;
      memcpy (&n2, h, sizeof n2);
      nim = nifti_convert_n2hdr2nim (n2, path);
    }
  if (nim == NULL)
    g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT, _("%s: niftilib rejected the header"), path);
  return nim;
}

/* ---- voxel conversion ---- */

typedef struct {
  const guint8 *src;   /* first voxel of the image data */
  float *dst;
  int datatype;
  int nbyper;
  gboolean swap;
  gboolean scale;
  double slope, inter;
  gsize n_per_task;    /* voxels per task */
  gsize n_total;
  gsize *nonfinite;    /* per task */
} Convert;

static inline double
load_voxel (const guint8 *p, int datatype, gboolean swap)
{
  switch (datatype)
    {
    case DT_UINT8:
      return *p;
    case DT_INT8:
      return (gint8) *p;
    case DT_INT16:
      return read_i16 (p, swap);
    case DT_UINT16:
      return (guint16) read_i16 (p, swap);
    case DT_INT32:
      return read_i32 (p, swap);
    case DT_FLOAT32:
      {
        guint32 u;
        float f;
        memcpy (&u, p, 4);
        if (swap)
          u = GUINT32_SWAP_LE_BE (u);
        memcpy (&f, &u, 4);
        return f;
      }
    case DT_FLOAT64:
    default:
      {
        guint64 u;
        double d;
        memcpy (&u, p, 8);
        if (swap)
          u = GUINT64_SWAP_LE_BE (u);
        memcpy (&d, &u, 8);
        return d;
      }
    }
}

#define BS_CONVERT_BLOCK 4096

/* Widens n voxels from an aligned private copy: plain typed loops that the
 * compiler vectorises. */
#define WIDEN(type)                                                            \
  do                                                                           \
    {                                                                          \
      const type *in = (const type *) src;                                     \
      if (scale)                                                               \
        for (gsize k = 0; k < n; k++)                                          \
          dst[k] = (float) ((double) in[k] * slope + inter);                   \
      else                                                                     \
        for (gsize k = 0; k < n; k++)                                          \
          dst[k] = (float) in[k];                                              \
    }                                                                          \
  while (0)

static void
convert_block (const Convert *cv, const guint8 *restrict src, float *restrict dst, gsize n)
{
  gboolean scale = cv->scale;
  double slope = cv->slope, inter = cv->inter;

  if (cv->swap)
    {
      for (gsize k = 0; k < n; k++)
        {
          double v = load_voxel (src + k * cv->nbyper, cv->datatype, TRUE);
          dst[k] = (float) (scale ? v * slope + inter : v);
        }
      return;
    }
  switch (cv->datatype)
    {
    case DT_UINT8:
      WIDEN (guint8);
      break;
    case DT_INT8:
      WIDEN (gint8);
      break;
    case DT_INT16:
      WIDEN (gint16);
      break;
    case DT_UINT16:
      WIDEN (guint16);
      break;
    case DT_INT32:
      WIDEN (gint32);
      break;
    case DT_FLOAT32:
      WIDEN (float);
      break;
    case DT_FLOAT64:
    default:
      WIDEN (double);
      break;
    }
}

#undef WIDEN

/* Converts voxels [begin, end) in ascending order, a block at a time: each
 * block's source bytes are copied out before its floats are written, which
 * the in-place decode below relies on (the floats of a block never reach
 * the source bytes of a later block). */
static gsize
convert_range (const Convert *cv, gsize begin, gsize end)
{
  /* 8-byte elements: aligned for every voxel type. */
  guint64 block[BS_CONVERT_BLOCK];
  gboolean may_be_nonfinite = cv->scale || cv->datatype == DT_FLOAT32 || cv->datatype == DT_FLOAT64;
  gsize bad = 0;

  for (gsize i = begin; i < end; i += BS_CONVERT_BLOCK)
    {
      gsize n = MIN ((gsize) BS_CONVERT_BLOCK, end - i);
      float *dst = cv->dst + i;
      memcpy (block, cv->src + i * cv->nbyper, n * cv->nbyper);
      convert_block (cv, (const guint8 *) block, dst, n);
      if (may_be_nonfinite)
        for (gsize k = 0; k < n; k++)
          if (!isfinite (dst[k]))
            {
              dst[k] = 0.0f;
              bad++;
            }
    }
  return bad;
}

static void
convert_task (int task, gpointer user_data)
{
  Convert *cv = user_data;
  gsize begin = (gsize) task * cv->n_per_task;
  gsize end = MIN (begin + cv->n_per_task, cv->n_total);

  cv->nonfinite[task] = convert_range (cv, begin, end);
}

/* ---- a file being read ---- */

typedef struct {
  const char *path;
  GMappedFile *mapped; /* NULL when reading the caller's bytes */
  const guint8 *file;
  gsize file_len;
  gboolean gz;
  RawHeader raw;
  nifti_image *nim;
  int dims[3];
  int channels;
  gsize n_values;      /* voxels over all channels */
  gsize vox_offset;
  gsize data_bytes;
} NiftiSource;

static void
nifti_source_clear (NiftiSource *src)
{
  if (src->nim)
    nifti_image_free (src->nim);
  if (src->mapped)
    g_mapped_file_unref (src->mapped);
  memset (src, 0, sizeof *src);
}

/* The data after vox_offset must hold every voxel the header promises. */
static gboolean
check_data_length (const NiftiSource *src, gsize available, GError **error)
{
  if (src->vox_offset >= available)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                   _("%s: vox_offset %zu is past the end of the data (%zu bytes)"),
                   src->path, src->vox_offset, available);
      return FALSE;
    }
  if (available - src->vox_offset < src->data_bytes)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                   _("%s: truncated: the header needs %zu bytes of image data, the file has %zu"),
                   src->path, src->data_bytes, available - src->vox_offset);
      return FALSE;
    }
  return TRUE;
}

/* Reads and checks the header: everything the data must satisfy is known and
 * validated here, before any image-sized allocation. */
static gboolean
nifti_source_init (NiftiSource *src, const guint8 *file, gsize file_len, const char *path, GError **error)
{
  guint8 head[544];
  gsize head_len;

  src->path = path;
  src->file = file;
  src->file_len = file_len;
  src->gz = file_len >= 2 && file[0] == 0x1f && file[1] == 0x8b;

  if (src->gz)
    {
      GunzipStatus st = bs_gunzip_zlib (file, file_len, head, sizeof head, &head_len, FALSE);
      if (head_len < 348)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                       st == GUNZIP_CORRUPT ? _("%s: corrupt gzip data in the NIfTI header")
                                            : _("%s: truncated gzip file: the NIfTI header is incomplete"),
                       path);
          return FALSE;
        }
    }
  else
    {
      head_len = MIN (file_len, sizeof head);
      if (head_len)
        memcpy (head, file, head_len);
    }
  if (!parse_raw_header (path, src->gz, head, head_len, &src->raw, error))
    return FALSE;
  if (!bs_nifti_datatype_supported (src->raw.datatype))
    {
      const char *name = nifti_datatype_to_string (src->raw.datatype);
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_UNSUPPORTED,
                   _("%s: unsupported voxel datatype %s (%d); Brainseg reads uint8, int8, int16, uint16, "
                     "int32, float32 and float64"),
                   path, name ? name : "?", src->raw.datatype);
      return FALSE;
    }

  src->nim = header_to_nim (path, head, &src->raw, error);
  if (src->nim == NULL || !check_voxel_size (path, src->nim, error))
    return FALSE;

  /* The header's own counts, from the raw (validated) dims: channels are
   * everything beyond the third dimension. */
  gint64 d[8];
  for (int i = 1; i < 8; i++)
    d[i] = i <= src->raw.dim[0] ? src->raw.dim[i] : 1;
  gint64 nvox = 1, channels = 1;
  gboolean too_large = FALSE;
  for (int i = 1; i < 8; i++)
    {
      if (d[i] > BS_NIFTI_MAX_VOXELS || nvox > BS_NIFTI_MAX_VOXELS / d[i])
        too_large = TRUE;
      else
        nvox *= d[i];
      if (i > 3)
        channels *= MIN (d[i], BS_NIFTI_MAX_CHANNELS + 1);
    }
  if (too_large || channels > BS_NIFTI_MAX_CHANNELS)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE,
                   _("%s: header claims %lld x %lld x %lld x %lld voxels, far more than an MRI volume; the header is corrupt"),
                   path, (long long) d[1], (long long) d[2], (long long) d[3], (long long) d[4]);
      return FALSE;
    }
  for (int a = 0; a < 3; a++)
    src->dims[a] = (int) d[a + 1];
  src->channels = (int) channels;
  src->n_values = (gsize) nvox;

  int nbyper = src->nim->nbyper;
  gint64 vox_offset = src->nim->iname_offset;
  if (nbyper <= 0 || vox_offset < (gint64) src->raw.header_size)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                   _("%s: vox_offset %lld lies inside the header"), path, (long long) vox_offset);
      return FALSE;
    }
  src->vox_offset = (gsize) vox_offset;
  src->data_bytes = src->n_values * (gsize) nbyper;

  if (src->gz)
    {
      /* DEFLATE cannot expand more than ~1032:1, so a header asking for more
       * than that is lying (or the file is cut short). */
      if ((guint64) src->vox_offset + src->data_bytes > (guint64) file_len * BS_DEFLATE_MAX_RATIO + 4096)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                       _("%s: header needs %zu bytes of image data after vox_offset %zu, more than a %zu-byte gzip file can hold; "
                         "the file is truncated or the header is corrupt"),
                       path, src->data_bytes, src->vox_offset, file_len);
          return FALSE;
        }
    }
  else if (!check_data_length (src, file_len, error))
    return FALSE;
  return TRUE;
}

static gboolean
nifti_source_open (NiftiSource *src, const char *path, GError **error)
{
  g_autoptr(GError) local = NULL;

  /* A pipe or a device (a dataset.json may name one) would block or never
   * end: only regular files are read (fuzz finding). */
  if (g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_UNSUPPORTED, _("%s: not a regular file"), path);
      return FALSE;
    }
  src->mapped = g_mapped_file_new (path, FALSE, &local);
  if (src->mapped == NULL)
    {
      g_set_error (error, BS_IO_ERROR,
                   g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT) ? BS_IO_ERROR_NOT_FOUND
                                                                             : BS_IO_ERROR_CORRUPT,
                   "%s", local->message);
      return FALSE;
    }
  return nifti_source_init (src, (const guint8 *) g_mapped_file_get_contents (src->mapped),
                            g_mapped_file_get_length (src->mapped), path, error);
}

/* Decodes all voxels into dst (n_values floats).  gzip data of 1- and 2-byte
 * types is inflated into the tail of dst itself and widened in place, front
 * to back: no second image-sized buffer, and half the memory traffic. */
static gboolean
nifti_source_decode (NiftiSource *src, float *dst, gboolean as_label, gsize *nonfinite, GError **error)
{
  g_autofree guint8 *tmp = NULL;
  const guint8 *data;
  gboolean in_place = FALSE;
  int nbyper = src->nim->nbyper;

  if (src->gz)
    {
      gsize need = src->vox_offset + src->data_bytes;
      gsize dst_bytes = src->n_values * sizeof (float);
      guint8 *buf;
      gsize available;

      in_place = nbyper < 4 && need <= dst_bytes;
      if (in_place)
        buf = (guint8 *) dst + (dst_bytes - need);
      else
        {
          buf = tmp = g_try_malloc (need);
          if (tmp == NULL)
            {
              g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE,
                           _("%s: not enough memory for %zu bytes of image data"), src->path, need);
              return FALSE;
            }
        }
      GunzipStatus st = bs_gunzip_all (src->file, src->file_len, buf, need, &available);
      if (st == GUNZIP_CORRUPT)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                       _("%s: corrupt gzip data after %zu decompressed bytes"), src->path,
                       available);
          return FALSE;
        }
      if (st == GUNZIP_TRUNCATED && available >= need)
        {
          /* every voxel came out, but not the checksum that vouches for them */
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                       _("%s: truncated gzip file: it ends before the gzip checksum"), src->path);
          return FALSE;
        }
      if (st == GUNZIP_TRUNCATED && available < need)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                       _("%s: truncated gzip file: it ends after %zu of %zu bytes"),
                       src->path, available, need);
          return FALSE;
        }
      if (!check_data_length (src, available, error))
        return FALSE;
      data = buf + src->vox_offset;
    }
  else
    data = src->file + src->vox_offset;

  Convert cv = { 0 };
  cv.src = data;
  cv.dst = dst;
  cv.datatype = src->raw.datatype;
  cv.nbyper = nbyper;
  cv.swap = src->raw.swapped;
  cv.slope = src->nim->scl_slope;
  cv.inter = src->nim->scl_inter;
  cv.scale = !as_label && isfinite (cv.slope) && cv.slope != 0.0 && isfinite (cv.inter) &&
             !(cv.slope == 1.0 && cv.inter == 0.0);
  cv.n_total = src->n_values;
  if (in_place)
    {
      *nonfinite = convert_range (&cv, 0, cv.n_total);
      return TRUE;
    }
  cv.n_per_task = 1 << 20;
  int n_tasks = (int) ((cv.n_total + cv.n_per_task - 1) / cv.n_per_task);
  cv.nonfinite = g_new0 (gsize, n_tasks);
  bs_parallel_for (n_tasks, convert_task, &cv);
  *nonfinite = 0;
  for (int t = 0; t < n_tasks; t++)
    *nonfinite += cv.nonfinite[t];
  g_free (cv.nonfinite);
  return TRUE;
}

static void
fill_geometry (BsVolume *vol, const nifti_image *nim)
{
  const nifti_dmat44 *m = nim->sform_code > 0 ? &nim->sto_xyz : &nim->qto_xyz;
  double pix[3] = { nim->dx, nim->dy, nim->dz };
  gboolean finite = TRUE;

  for (int a = 0; a < 3; a++)
    vol->spacing[a] = isfinite (pix[a]) && pix[a] != 0.0 ? fabs (pix[a]) : 1.0;
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      finite = finite && isfinite (m->m[r][c]);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      {
        if (finite)
          vol->affine[r][c] = m->m[r][c];
        else
          vol->affine[r][c] = r == c ? (r < 3 ? vol->spacing[r] : 1.0) : 0.0;
      }
}

static BsVolume *
load_source (NiftiSource *src, gboolean as_label, GError **error)
{
  BsVolume *vol = bs_volume_new_uninitialized (src->dims[0], src->dims[1], src->dims[2], src->channels);
  if (vol == NULL)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE,
                   _("%s: not enough memory for %zu voxels"), src->path, src->n_values);
      return NULL;
    }
  if (!nifti_source_decode (src, vol->data, as_label, &vol->n_nonfinite, error))
    {
      bs_volume_free (vol);
      return NULL;
    }
  fill_geometry (vol, src->nim);
  vol->is_label = as_label;
  vol->path = g_strdup (src->path);
  return vol;
}

BsVolume *
bs_volume_load_nifti (const char *path, gboolean as_label, GError **error)
{
  NiftiSource src = { 0 };
  BsVolume *vol = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (nifti_source_open (&src, path, error))
    vol = load_source (&src, as_label, error);
  nifti_source_clear (&src);
  return vol;
}

BsVolume *
bs_volume_load_nifti_from_bytes (const guint8 *file, gsize file_len, const char *path, gboolean as_label,
                                 GError **error)
{
  NiftiSource src = { 0 };
  BsVolume *vol = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (nifti_source_init (&src, file, file_len, path, error))
    vol = load_source (&src, as_label, error);
  nifti_source_clear (&src);
  return vol;
}

typedef struct {
  NiftiSource *src;
  float **dst;
  gsize *nonfinite;
  GError **errors;
} DecodeJob;

static void
decode_one (int i, gpointer user_data)
{
  DecodeJob *job = user_data;
  nifti_source_decode (&job->src[i], job->dst[i], FALSE, &job->nonfinite[i], &job->errors[i]);
}

/* Which world direction each voxel axis of src runs along ("LPS", "RAS"...),
 * from the matrix fill_geometry takes. */
/* The affine a volume of src gets (fill_geometry), from its header alone. */
static void
source_affine (const NiftiSource *src, double aff[4][4])
{
  BsVolume v = { 0 };

  fill_geometry (&v, src->nim);
  memcpy (aff, v.affine, sizeof v.affine);
}

static void
source_orientation (const NiftiSource *src, char code[4])
{
  static const char pos[3] = { 'R', 'A', 'S' }, neg[3] = { 'L', 'P', 'I' };
  const nifti_dmat44 *m = src->nim->sform_code > 0 ? &src->nim->sto_xyz : &src->nim->qto_xyz;

  for (int c = 0; c < 3; c++)
    {
      int best = 0;

      for (int r = 1; r < 3; r++)
        if (fabs (m->m[r][c]) > fabs (m->m[best][c]))
          best = r;
      code[c] = m->m[best][c] >= 0 ? pos[best] : neg[best];
    }
  code[3] = '\0';
}

BsVolume *
bs_volume_load_nifti_channels (const char *const *paths, int n, GError **error)
{
  g_autofree NiftiSource *src = g_new0 (NiftiSource, n);
  g_autofree float **dst = g_new0 (float *, n);
  g_autofree gsize *nonfinite = g_new0 (gsize, n);
  g_autofree GError **errors = g_new0 (GError *, n);
  BsVolume *vol = NULL;
  int channels = 0;

  g_return_val_if_fail (n > 0, NULL);

  for (int i = 0; i < n; i++)
    {
      if (!nifti_source_open (&src[i], paths[i], error))
        goto out;
      if (i > 0 && memcmp (src[i].dims, src[0].dims, sizeof src[0].dims) != 0)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s is %dx%dx%d but %s is %dx%dx%d"), paths[i],
                       src[i].dims[0], src[i].dims[1], src[i].dims[2], paths[0], src[0].dims[0], src[0].dims[1],
                       src[0].dims[2]);
          goto out;
        }
      /* Stacked voxel by voxel, the modalities must run the same way (fuzz
       * finding: a T2 stored flipped was stacked as it was, silently). */
      if (i > 0)
        {
          char first[4], this[4];

          source_orientation (&src[0], first);
          source_orientation (&src[i], this);
          if (strcmp (first, this) != 0)
            {
              g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                           _("%s is stored in %s voxel order but %s in %s: the modalities of a case must share one"),
                           paths[i], this, paths[0], first);
              goto out;
            }
          /* ... and lie in one place: a sequence moved or resampled elsewhere
           * was stacked as if it fitted. */
          {
            double a0[4][4], ai[4][4];
            g_autofree char *why = NULL;

            source_affine (&src[0], a0);
            source_affine (&src[i], ai);
            if (!bs_affine_same_grid (ai, a0, &why))
              {
                g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s does not lie on the grid of %s: %s"),
                             paths[i], paths[0], why);
                goto out;
              }
          }
        }
      channels += src[i].channels;
    }
  if (channels > BS_NIFTI_MAX_CHANNELS)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE, _("%s: too many channels (%d)"), paths[0], channels);
      goto out;
    }
  vol = bs_volume_new_uninitialized (src[0].dims[0], src[0].dims[1], src[0].dims[2], channels);
  if (vol == NULL)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE, _("%s: not enough memory for %d channels"), paths[0],
                   channels);
      goto out;
    }
  for (int i = 0, c = 0; i < n; c += src[i].channels, i++)
    dst[i] = bs_volume_channel (vol, c);

  /* gunzip dominates: one file per task. */
  DecodeJob job = { src, dst, nonfinite, errors };
  bs_parallel_for (n, decode_one, &job);
  for (int i = 0; i < n; i++)
    if (errors[i])
      {
        g_propagate_error (error, g_steal_pointer (&errors[i]));
        g_clear_pointer (&vol, bs_volume_free);
        goto out;
      }
  /* One sequence with no finite voxel is no sequence: read as zeros it
   * passed for a missing one, with no word of why (helper finding). */
  for (int i = 0; i < n; i++)
    if (n > 1 && nonfinite[i] > 0 && nonfinite[i] >= src[i].n_values)
      {
        g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: every voxel is NaN or infinite"), paths[i]);
        g_clear_pointer (&vol, bs_volume_free);
        goto out;
      }
  for (int i = 0; i < n; i++)
    vol->n_nonfinite += nonfinite[i];
  fill_geometry (vol, src[0].nim);
  vol->path = g_strdup (paths[0]);
out:
  for (int i = 0; i < n; i++)
    {
      g_clear_error (&errors[i]);
      nifti_source_clear (&src[i]);
    }
  return vol;
}

