/* NIfTI round trips for every datatype, 3D and 4D, and every kind of bad
 * input the reader must refuse with a message naming the file. */
#include <glib.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <nifti2_io.h>
#include <string.h>
#include <sys/stat.h>

#include "bs-dataset.h"
#include "bs-error.h"
#include "bs-nifti.h"

static char *tmpdir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmpdir, name, NULL);
}

/* A geometry that is neither identity nor axis-aligned in sign, so that a
 * reader ignoring the sform or mixing up rows and columns fails. */
static void
set_lps_affine (BsVolume *vol)
{
  memset (vol->affine, 0, sizeof vol->affine);
  vol->affine[0][0] = -0.9;
  vol->affine[1][1] = -1.1;
  vol->affine[2][2] = 2.5;
  vol->affine[0][3] = 100.5;
  vol->affine[1][3] = 120.25;
  vol->affine[2][3] = -30.0;
  vol->affine[3][3] = 1.0;
  vol->spacing[0] = 0.9;
  vol->spacing[1] = 1.1;
  vol->spacing[2] = 2.5;
}

typedef struct {
  int datatype;
  double lo, hi;
  gboolean integer;
} TypeCase;

static const TypeCase types[] = {
  { DT_UINT8, 0, 255, TRUE },
  { DT_INT8, -128, 127, TRUE },
  { DT_INT16, -32768, 32767, TRUE },
  { DT_UINT16, 0, 65535, TRUE },
  { DT_INT32, -1000000, 1000000, TRUE },
  { DT_FLOAT32, -1e6, 1e6, FALSE },
  { DT_FLOAT64, -1e6, 1e6, FALSE },
};

static void
fill_values (BsVolume *vol, const TypeCase *tc, guint32 seed)
{
  GRand *rand = g_rand_new_with_seed (seed);
  gsize n = (gsize) vol->n_channels * bs_volume_n_voxels (vol);

  for (gsize i = 0; i < n; i++)
    {
      double v = g_rand_double_range (rand, tc->lo, tc->hi);
      vol->data[i] = tc->integer ? (float) round (v) : (float) v;
    }
  /* The extremes of the type must survive too. */
  vol->data[0] = (float) tc->lo;
  vol->data[n - 1] = (float) tc->hi;
  g_rand_free (rand);
}

static void
check_round_trip (int channels, const char *ext)
{
  for (gsize t = 0; t < G_N_ELEMENTS (types); t++)
    {
      g_autoptr(BsVolume) vol = bs_volume_new (7, 5, 3, channels);
      g_autoptr(GError) error = NULL;
      g_autofree char *name = g_strdup_printf ("rt-%d-%d%s", types[t].datatype, channels, ext);
      g_autofree char *path = tmp_path (name);

      set_lps_affine (vol);
      fill_values (vol, &types[t], 17 + (guint32) t);
      g_assert_true (bs_volume_save_nifti (vol, path, types[t].datatype, &error));
      g_assert_no_error (error);

      g_autoptr(BsVolume) back = bs_volume_load_nifti (path, FALSE, &error);
      g_assert_no_error (error);
      g_assert_nonnull (back);
      g_assert_cmpint (back->dims[0], ==, 7);
      g_assert_cmpint (back->dims[1], ==, 5);
      g_assert_cmpint (back->dims[2], ==, 3);
      g_assert_cmpint (back->n_channels, ==, channels);
      g_assert_cmpuint (back->n_nonfinite, ==, 0);
      for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
          g_assert_cmpfloat_with_epsilon (back->affine[r][c], vol->affine[r][c], 1e-5);
      for (int a = 0; a < 3; a++)
        g_assert_cmpfloat_with_epsilon (back->spacing[a], vol->spacing[a], 1e-5);
      gsize n = (gsize) channels * bs_volume_n_voxels (vol);
      for (gsize i = 0; i < n; i++)
        if (back->data[i] != vol->data[i])
          g_error ("%s: voxel %" G_GSIZE_FORMAT " is %g, wrote %g", path, i, back->data[i], vol->data[i]);
      g_assert_true (bs_volume_same_geometry (vol, back));
    }
}

static void
test_round_trip_3d (void)
{
  check_round_trip (1, ".nii");
  check_round_trip (1, ".nii.gz");
}

static void
test_round_trip_4d (void)
{
  check_round_trip (4, ".nii");
  check_round_trip (2, ".nii.gz");
}

/* Volumes big enough for the gzip data of 1- and 2-byte types to be
 * inflated into the float buffer itself and widened in place. */
static void
test_round_trip_in_place (void)
{
  const int dts[] = { DT_UINT8, DT_INT8, DT_INT16, DT_UINT16 };
  for (gsize t = 0; t < G_N_ELEMENTS (dts); t++)
    {
      const TypeCase *tc = NULL;
      for (gsize k = 0; k < G_N_ELEMENTS (types); k++)
        if (types[k].datatype == dts[t])
          tc = &types[k];
      for (int channels = 1; channels <= 3; channels += 2)
        {
          g_autoptr(BsVolume) vol = bs_volume_new (64, 48, 20, channels);
          g_autoptr(GError) error = NULL;
          g_autofree char *name = g_strdup_printf ("inplace-%d-%d.nii.gz", dts[t], channels);
          g_autofree char *path = tmp_path (name);
          fill_values (vol, tc, 99 + (guint32) t);
          g_assert_true (bs_volume_save_nifti (vol, path, dts[t], &error));
          g_autoptr(BsVolume) back = bs_volume_load_nifti (path, FALSE, &error);
          g_assert_no_error (error);
          gsize n = (gsize) channels * bs_volume_n_voxels (vol);
          /* == rather than memcmp: rounding made some -0.0, stored as integer 0 */
          for (gsize i = 0; i < n; i++)
            if (back->data[i] != vol->data[i])
              g_error ("%s: voxel %" G_GSIZE_FORMAT " is %g, wrote %g", path, i, back->data[i], vol->data[i]);
        }
    }
}

static void
test_load_channels (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = tmp_path ("chan-a.nii.gz");
  g_autofree char *b = tmp_path ("chan-b.nii");
  g_autofree char *c = tmp_path ("chan-c.nii.gz");
  g_autoptr(BsVolume) va = bs_volume_new (30, 20, 10, 1);
  g_autoptr(BsVolume) vb = bs_volume_new (30, 20, 10, 2);
  g_autoptr(BsVolume) vc = bs_volume_new (30, 20, 9, 1);

  for (gsize i = 0; i < bs_volume_n_voxels (va); i++)
    {
      va->data[i] = (float) (i % 100);
      vb->data[i] = 1000.0f + (float) (i % 77);
      bs_volume_channel (vb, 1)[i] = -5.0f;
    }
  set_lps_affine (va);
  set_lps_affine (vb);
  g_assert_true (bs_volume_save_nifti (va, a, DT_INT16, &error));
  g_assert_true (bs_volume_save_nifti (vb, b, DT_FLOAT32, &error));
  g_assert_true (bs_volume_save_nifti (vc, c, DT_UINT8, &error));

  const char *ok[] = { a, b };
  g_autoptr(BsVolume) v = bs_volume_load_nifti_channels (ok, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpint (v->n_channels, ==, 3);
  g_assert_cmpmem (bs_volume_channel (v, 0), bs_volume_n_voxels (va) * sizeof (float), va->data,
                   bs_volume_n_voxels (va) * sizeof (float));
  g_assert_cmpmem (bs_volume_channel (v, 1), 2 * bs_volume_n_voxels (va) * sizeof (float), vb->data,
                   2 * bs_volume_n_voxels (va) * sizeof (float));
  g_assert_cmpfloat_with_epsilon (v->affine[0][0], -0.9, 1e-6);

  /* The same voxel order but another place: other voxel sizes, or the grid
   * moved by two voxels, were stacked as if they fitted (helper finding). */
  for (int kind = 0; kind < 2; kind++)
    {
      g_autofree char *e = tmp_path (kind == 0 ? "chan-e-spacing.nii" : "chan-e-moved.nii");
      g_autoptr(BsVolume) ve = bs_volume_copy (vb);
      const char *moved[] = { a, e };

      if (kind == 0)
        ve->affine[0][0] = -0.8;
      else
        ve->affine[1][3] += 2 * 1.1;
      g_assert_true (bs_volume_save_nifti (ve, e, DT_FLOAT32, &error));
      g_assert_null (bs_volume_load_nifti_channels (moved, 2, &error));
      g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, a));
      g_assert_nonnull (strstr (error->message, e));
      g_assert_nonnull (strstr (error->message, "does not lie on the grid"));
      g_clear_error (&error);
      /* half a voxel is rounding, not another place */
      if (kind == 1)
        {
          g_autoptr(BsVolume) near = NULL;

          ve->affine[1][3] -= 2 * 1.1 - 0.3;
          g_assert_true (bs_volume_save_nifti (ve, e, DT_FLOAT32, &error));
          near = bs_volume_load_nifti_channels (moved, 2, &error);
          g_assert_no_error (error);
        }
    }

  const char *bad[] = { a, c };
  g_autoptr(BsVolume) none = bs_volume_load_nifti_channels (bad, 2, &error);
  g_assert_null (none);
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, a));
  g_assert_nonnull (strstr (error->message, c));
  g_clear_error (&error);

  /* Two files of one case in other voxel orders (an LPS one, a RAS one)
   * cannot be stacked voxel by voxel (fuzz finding: they were, silently). */
  {
    g_autofree char *d = tmp_path ("chan-d-ras.nii.gz");
    g_autoptr(BsVolume) vd = bs_volume_new (30, 20, 10, 1);
    const char *mixed[] = { a, d };

    g_assert_true (bs_volume_save_nifti (vd, d, DT_INT16, &error));
    g_assert_null (bs_volume_load_nifti_channels (mixed, 2, &error));
    g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, d));
    g_assert_nonnull (strstr (error->message, "LPS"));
    g_assert_nonnull (strstr (error->message, "RAS"));
  }
}

static void
test_non_finite (void)
{
  g_autoptr(BsVolume) vol = bs_volume_new (4, 4, 2, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path ("nonfinite.nii.gz");

  vol->data[3] = NAN;
  vol->data[9] = INFINITY;
  vol->data[10] = -INFINITY;
  vol->data[11] = 5.0f;
  g_assert_true (bs_volume_save_nifti (vol, path, DT_FLOAT32, &error));
  g_autoptr(BsVolume) back = bs_volume_load_nifti (path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->n_nonfinite, ==, 3);
  g_assert_cmpfloat (back->data[3], ==, 0.0f);
  g_assert_cmpfloat (back->data[9], ==, 0.0f);
  g_assert_cmpfloat (back->data[10], ==, 0.0f);
  g_assert_cmpfloat (back->data[11], ==, 5.0f);

  /* One sequence of a case with no finite voxel at all is refused by name
   * (helper finding: read as zeros, it passed for a missing sequence);
   * some non-finite voxels are counted over the channels. */
  {
    g_autofree char *all_nan = tmp_path ("all-nan.nii.gz");
    g_autoptr(BsVolume) nan_vol = bs_volume_new (4, 4, 2, 1);
    const char *pair[] = { path, all_nan }, *twice[] = { path, path };

    for (gsize i = 0; i < bs_volume_n_voxels (nan_vol); i++)
      nan_vol->data[i] = NAN;
    g_assert_true (bs_volume_save_nifti (nan_vol, all_nan, DT_FLOAT32, &error));
    g_assert_null (bs_volume_load_nifti_channels (pair, 2, &error));
    g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, all_nan));
    g_clear_error (&error);
    g_autoptr(BsVolume) two = bs_volume_load_nifti_channels (twice, 2, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (two->n_nonfinite, ==, 6);
  }
}

/* Writes a valid uncompressed int16 file and returns its bytes for patching. */
static guint8 *
valid_nii (gsize *len)
{
  g_autoptr(BsVolume) vol = bs_volume_new (6, 5, 4, 1);
  g_autofree char *path = tmp_path ("valid.nii");
  g_autoptr(GError) error = NULL;
  char *bytes = NULL;

  for (gsize i = 0; i < bs_volume_n_voxels (vol); i++)
    vol->data[i] = (float) i;
  g_assert_true (bs_volume_save_nifti (vol, path, DT_INT16, &error));
  g_assert_true (g_file_get_contents (path, &bytes, len, &error));
  return (guint8 *) bytes;
}

static void
test_scaling (void)
{
  gsize len;
  g_autofree guint8 *bytes = valid_nii (&len);
  g_autofree char *path = tmp_path ("scaled.nii");
  g_autoptr(GError) error = NULL;
  float slope = 0.5f, inter = -3.0f;

  memcpy (bytes + 112, &slope, 4);
  memcpy (bytes + 116, &inter, 4);
  g_assert_true (g_file_set_contents (path, (char *) bytes, (gssize) len, NULL));

  g_autoptr(BsVolume) img = bs_volume_load_nifti (path, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (img->data[10], ==, 10 * 0.5f - 3.0f);

  /* Labels keep their stored values. */
  g_autoptr(BsVolume) lab = bs_volume_load_nifti (path, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (lab->is_label);
  g_assert_cmpfloat (lab->data[10], ==, 10.0f);
}

static void
expect_failure (const char *name, const guint8 *bytes, gsize len, int code)
{
  g_autofree char *path = tmp_path (name);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (path, (const char *) bytes, (gssize) len, NULL));
  g_autoptr(BsVolume) vol = bs_volume_load_nifti (path, FALSE, &error);
  g_assert_null (vol);
  g_assert_nonnull (error);
  if (g_test_verbose ())
    g_printerr ("%s\n", error->message);
  g_assert_true (error->domain == BS_IO_ERROR);
  if (code >= 0)
    g_assert_cmpint (error->code, ==, code);
  g_assert_nonnull (strstr (error->message, path));
}

static guint8 *
gzip_bytes (const guint8 *in, gsize len, gsize *out_len)
{
  g_autoptr(GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  guint8 *out = g_malloc (len + 1024);
  gsize read = 0, written = 0;
  GConverterResult r = g_converter_convert (G_CONVERTER (z), in, len, out, len + 1024,
                                            G_CONVERTER_INPUT_AT_END, &read, &written, NULL);
  g_assert_cmpint (r, ==, G_CONVERTER_FINISHED);
  *out_len = written;
  return out;
}

static void
test_bad_inputs (void)
{
  gsize len;
  g_autofree guint8 *good = valid_nii (&len);
  g_autofree guint8 *b = g_malloc (len);
  gint16 s;
  float f;

  /* truncated, plain and gzip */
  expect_failure ("truncated.nii", good, len - 7, BS_IO_ERROR_CORRUPT);
  gsize zlen;
  g_autofree guint8 *gz = gzip_bytes (good, len, &zlen);
  expect_failure ("truncated.nii.gz", gz, zlen / 2, BS_IO_ERROR_CORRUPT);
  expect_failure ("tiny.nii.gz", gz, 12, BS_IO_ERROR_CORRUPT);
  /* bad gzip: damage the deflate stream in the middle */
  {
    g_autofree guint8 *bad = g_memdup2 (gz, zlen);
    for (gsize i = zlen / 3; i < zlen / 3 + 16 && i < zlen; i++)
      bad[i] ^= 0x5a;
    expect_failure ("badgzip.nii.gz", bad, zlen, -1);
  }
  /* Damage that leaves a valid deflate stream shows in the checksum alone:
   * a wrong CRC, and a file cut inside its 8-byte trailer (fuzz finding: a
   * file with two bytes flipped in the middle decoded to garbage unnoticed). */
  {
    g_autofree guint8 *bad = g_memdup2 (gz, zlen);
    bad[zlen - 8] ^= 0x01;
    expect_failure ("badcrc.nii.gz", bad, zlen, BS_IO_ERROR_CORRUPT);
    expect_failure ("notrailer.nii.gz", gz, zlen - 8, BS_IO_ERROR_CORRUPT);
    expect_failure ("halftrailer.nii.gz", gz, zlen - 3, BS_IO_ERROR_CORRUPT);
  }
  /* zero and negative dimensions */
  memcpy (b, good, len);
  s = 0;
  memcpy (b + 40 + 2 * 2, &s, 2);
  expect_failure ("zero-dim.nii", b, len, BS_IO_ERROR_CORRUPT);
  memcpy (b, good, len);
  s = -5;
  memcpy (b + 40 + 2 * 3, &s, 2);
  expect_failure ("negative-dim.nii", b, len, BS_IO_ERROR_CORRUPT);
  /* absurd sizes: 32767^3 in NIfTI-1 */
  memcpy (b, good, len);
  s = 32767;
  for (int i = 1; i <= 3; i++)
    memcpy (b + 40 + 2 * i, &s, 2);
  expect_failure ("huge1.nii", b, len, -1);
  /* vox_offset past the end */
  memcpy (b, good, len);
  f = 1e7f;
  memcpy (b + 108, &f, 4);
  expect_failure ("voxoffset.nii", b, len, BS_IO_ERROR_CORRUPT);
  /* Voxel sizes no head has, in pixdim and in the affine (helper finding: 1e30 mm
   * made every volume in ml a 90-digit number and the window unusable). */
  {
    const float sizes[] = { 1e30f, 1e-30f, 500.0f, 0.001f };

    for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
      {
        memcpy (b, good, len);
        memcpy (b + 80 + 4 * (i % 3), &sizes[i], 4);
        expect_failure ("pixdim.nii", b, len, BS_IO_ERROR_INVALID);
      }
    /* sform column of x (srow_x[0], srow_y[0], srow_z[0]) 1e30 long, sform_code 1 */
    memcpy (b, good, len);
    s = 1;
    memcpy (b + 254, &s, 2);
    f = 1e30f;
    memcpy (b + 280, &f, 4);
    expect_failure ("sform.nii", b, len, BS_IO_ERROR_INVALID);
  }
  /* unsupported datatype (complex64) */
  memcpy (b, good, len);
  s = DT_COMPLEX64;
  memcpy (b + 70, &s, 2);
  s = 64;
  memcpy (b + 72, &s, 2);
  expect_failure ("complex.nii", b, len, BS_IO_ERROR_UNSUPPORTED);
  /* not NIfTI at all */
  expect_failure ("empty.nii", (const guint8 *) "", 0, BS_IO_ERROR_CORRUPT);
  memset (b, 'x', len);
  expect_failure ("text.nii", b, len, BS_IO_ERROR_CORRUPT);
  /* Named .nii.gz, neither gzip nor NIfTI: the message says so in words. */
  {
    g_autofree char *path = tmp_path ("random.nii.gz");
    g_autoptr(GError) error = NULL;

    g_assert_true (g_file_set_contents (path, (const char *) b, (gssize) len, NULL));
    g_autoptr(BsVolume) vol = bs_volume_load_nifti (path, FALSE, &error);
    g_assert_null (vol);
    g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT);
    g_assert_nonnull (strstr (error->message, path));
    g_assert_nonnull (strstr (error->message, "not gzip-compressed"));
  }
  /* Analyze header without magic */
  memcpy (b, good, len);
  memset (b + 344, 0, 4);
  expect_failure ("analyze.nii", b, len, BS_IO_ERROR_UNSUPPORTED);
}

/* pigz and some writers produce several gzip members; others pad the file. */
static void
test_gzip_variants (void)
{
  gsize len, z1, z2, z3;
  g_autofree guint8 *good = valid_nii (&len);
  g_autofree guint8 *a = gzip_bytes (good, 100, &z1);
  g_autofree guint8 *b = gzip_bytes (good + 100, 300, &z2);
  g_autofree guint8 *c = gzip_bytes (good + 400, len - 400, &z3);
  g_autofree guint8 *multi = g_malloc (z1 + z2 + z3 + 64);
  g_autoptr(GError) error = NULL;

  memcpy (multi, a, z1);
  memcpy (multi + z1, b, z2);
  memcpy (multi + z1 + z2, c, z3);
  g_autoptr(BsVolume) v1 = bs_volume_load_nifti_from_bytes (multi, z1 + z2 + z3, "multi.nii.gz", FALSE, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < bs_volume_n_voxels (v1); i++)
    g_assert_cmpfloat (v1->data[i], ==, (float) i);

  memset (multi + z1 + z2 + z3, 0, 64);
  g_autoptr(BsVolume) v2 = bs_volume_load_nifti_from_bytes (multi, z1 + z2 + z3 + 64, "padded.nii.gz", FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (v2->data[119], ==, 119.0f);

  /* more data in the stream than the header needs: the image is read, the rest ignored */
  g_autofree guint8 *longer = g_malloc0 (len + 5000);
  memcpy (longer, good, len);
  gsize zl;
  g_autofree guint8 *zlonger = gzip_bytes (longer, len + 5000, &zl);
  g_autoptr(BsVolume) v3 = bs_volume_load_nifti_from_bytes (zlonger, zl, "longer.nii.gz", FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (v3->data[119], ==, 119.0f);
}

static void
test_huge_nifti2 (void)
{
  int64_t dims[8] = { 3, 100000, 100000, 100000, 1, 1, 1, 1 };
  nifti_2_header *h = nifti_make_new_n2_header (dims, DT_FLOAT32);
  g_autofree guint8 *bytes = g_malloc0 (544 + 4096);
  gsize zlen;

  memcpy (bytes, h, sizeof *h);
  free (h);
  expect_failure ("huge2.nii", bytes, 544 + 4096, BS_IO_ERROR_TOO_LARGE);
  g_autofree guint8 *gz = gzip_bytes (bytes, 544 + 4096, &zlen);
  expect_failure ("huge2.nii.gz", gz, zlen, BS_IO_ERROR_TOO_LARGE);
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path ("does-not-exist.nii.gz");

  g_assert_null (bs_volume_load_nifti (path, FALSE, &error));
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, path));
}

/* A pipe named like an image is refused at once, by the volume reader and
 * by the dataset opener (fuzz finding: `info fifo.nii.gz` blocked for ever). */
static void
test_not_regular (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path ("pipe.nii.gz");

  g_assert_cmpint (mkfifo (path, 0600), ==, 0);
  g_assert_null (bs_volume_load_nifti (path, FALSE, &error));
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "not a regular file"));
  g_clear_error (&error);
  g_assert_null (bs_dataset_open (path, NULL, &error));
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, path));
  g_unlink (path);
}

static void
test_write_failure (void)
{
  g_autoptr(BsVolume) vol = bs_volume_new (2, 2, 2, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *path = tmp_path ("no-such-dir/out.nii.gz");

  g_assert_false (bs_volume_save_nifti (vol, path, DT_UINT8, &error));
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_WRITE);
  g_assert_nonnull (strstr (error->message, path));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("bs-test-nifti-XXXXXX", NULL);
  g_test_add_func ("/nifti/round-trip-3d", test_round_trip_3d);
  g_test_add_func ("/nifti/round-trip-4d", test_round_trip_4d);
  g_test_add_func ("/nifti/round-trip-in-place", test_round_trip_in_place);
  g_test_add_func ("/nifti/load-channels", test_load_channels);
  g_test_add_func ("/nifti/non-finite", test_non_finite);
  g_test_add_func ("/nifti/scaling", test_scaling);
  g_test_add_func ("/nifti/bad-inputs", test_bad_inputs);
  g_test_add_func ("/nifti/gzip-variants", test_gzip_variants);
  g_test_add_func ("/nifti/huge-nifti2", test_huge_nifti2);
  g_test_add_func ("/nifti/missing-file", test_missing_file);
  g_test_add_func ("/nifti/not-regular", test_not_regular);
  g_test_add_func ("/nifti/write-failure", test_write_failure);
  int rc = g_test_run ();
  g_autoptr(GFile) dir = g_file_new_for_path (tmpdir);
  g_autoptr(GFileEnumerator) en = g_file_enumerate_children (dir, G_FILE_ATTRIBUTE_STANDARD_NAME, 0, NULL, NULL);
  GFileInfo *info;
  while (en && (info = g_file_enumerator_next_file (en, NULL, NULL)) != NULL)
    {
      g_autofree char *p = g_build_filename (tmpdir, g_file_info_get_name (info), NULL);
      g_unlink (p);
      g_object_unref (info);
    }
  g_rmdir (tmpdir);
  g_free (tmpdir);
  return rc;
}
