/* Display orientation from the affine: the same anatomy stored in different
 * voxel orders must display identically, in the radiological convention. */
#include <glib.h>
#include <string.h>

#include "bs-volume.h"

/* An "anatomy" defined in world (RAS) voxel coordinates: every world voxel
 * has a distinct value so that any flip or transpose shows. */
static float
anatomy (int r, int a, int s)
{
  return (float) (r + 100 * a + 10000 * s);
}

/* Stores the anatomy of size (nr, na, ns) with voxel axis v following world
 * axis world[v] in direction sign[v] (+1: index increases towards R/A/S). */
static BsVolume *
store (const int n[3], const int world[3], const int sign[3])
{
  int d[3];
  for (int v = 0; v < 3; v++)
    d[v] = n[world[v]];
  BsVolume *vol = bs_volume_new (d[0], d[1], d[2], 1);
  memset (vol->affine, 0, sizeof vol->affine);
  for (int v = 0; v < 3; v++)
    vol->affine[world[v]][v] = sign[v] * 1.5;
  vol->affine[3][3] = 1.0;
  for (int k = 0; k < d[2]; k++)
    for (int j = 0; j < d[1]; j++)
      for (int i = 0; i < d[0]; i++)
        {
          int idx[3] = { i, j, k };
          int w[3];
          for (int v = 0; v < 3; v++)
            w[world[v]] = sign[v] > 0 ? idx[v] : d[v] - 1 - idx[v];
          vol->data[((gsize) k * d[1] + j) * d[0] + i] = anatomy (w[0], w[1], w[2]);
        }
  return vol;
}

static const int n_world[3] = { 5, 4, 3 }; /* R-L 5, A-P 4, S-I 3 */

static void
test_codes (void)
{
  const int ras[3] = { 0, 1, 2 }, plus[3] = { 1, 1, 1 }, lps[3] = { -1, -1, 1 };
  const int perm[3] = { 2, 0, 1 }, mixed[3] = { 1, -1, -1 };
  g_autoptr(BsVolume) a = store (n_world, ras, plus);
  g_autoptr(BsVolume) b = store (n_world, ras, lps);
  g_autoptr(BsVolume) c = store (n_world, perm, mixed);
  char code[4];

  bs_volume_orientation_code (a, code);
  g_assert_cmpstr (code, ==, "RAS");
  bs_volume_orientation_code (b, code);
  g_assert_cmpstr (code, ==, "LPS");
  bs_volume_orientation_code (c, code);
  g_assert_cmpstr (code, ==, "SLP");
}

/* The displayed slice of the anatomy, from its definition: radiological
 * axial (row 0 anterior, column 0 patient's right), slice 0 inferior, etc. */
static float
expected (BsPlane plane, int index, int x, int y)
{
  int nr = n_world[0], na = n_world[1], ns = n_world[2];
  switch (plane)
    {
    case BS_PLANE_AXIAL:
      return anatomy (nr - 1 - x, na - 1 - y, index);
    case BS_PLANE_CORONAL:
      return anatomy (nr - 1 - x, index, ns - 1 - y);
    case BS_PLANE_SAGITTAL:
    default:
      return anatomy (nr - 1 - index, na - 1 - x, ns - 1 - y);
    }
}

static void
check_display (const BsVolume *vol)
{
  const BsPlane planes[3] = { BS_PLANE_AXIAL, BS_PLANE_CORONAL, BS_PLANE_SAGITTAL };
  const int want_w[3] = { n_world[0], n_world[0], n_world[1] };
  const int want_h[3] = { n_world[1], n_world[2], n_world[2] };
  const int want_n[3] = { n_world[2], n_world[1], n_world[0] };

  for (int p = 0; p < 3; p++)
    {
      int w, h;
      bs_volume_slice_size (vol, planes[p], &w, &h);
      g_assert_cmpint (w, ==, want_w[p]);
      g_assert_cmpint (h, ==, want_h[p]);
      g_assert_cmpint (bs_volume_n_slices (vol, planes[p]), ==, want_n[p]);
      g_autofree float *buf = g_new (float, w * h);
      for (int s = 0; s < want_n[p]; s++)
        {
          bs_volume_get_slice (vol, 0, planes[p], s, buf);
          for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
              {
                g_assert_cmpfloat (buf[y * w + x], ==, expected (planes[p], s, x, y));
                int ijk[3];
                bs_volume_slice_to_voxel (vol, planes[p], s, x, y, ijk);
                gsize off = ((gsize) ijk[2] * vol->dims[1] + ijk[1]) * vol->dims[0] + ijk[0];
                g_assert_cmpfloat (vol->data[off], ==, buf[y * w + x]);
              }
        }
    }
}

/* Every order of the three world axes along the voxel axes. */
static const int perms[6][3] = {
  { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
};

static void
test_display_all_orders (void)
{
  /* Every permutation with every sign combination: 48 storage orders. */
  for (int p = 0; p < 6; p++)
    for (int s = 0; s < 8; s++)
      {
        int sign[3] = { s & 1 ? -1 : 1, s & 2 ? -1 : 1, s & 4 ? -1 : 1 };
        g_autoptr(BsVolume) vol = store (n_world, perms[p], sign);
        check_display (vol);
      }
}

static void
test_set_slice_inverse (void)
{
  const int perm[3] = { 1, 2, 0 }, sign[3] = { -1, 1, -1 };
  g_autoptr(BsVolume) vol = store (n_world, perm, sign);
  g_autoptr(BsVolume) copy = bs_volume_new_like (vol, 1);
  const BsPlane planes[3] = { BS_PLANE_AXIAL, BS_PLANE_CORONAL, BS_PLANE_SAGITTAL };

  for (int p = 0; p < 3; p++)
    {
      int w, h;
      bs_volume_slice_size (vol, planes[p], &w, &h);
      g_autofree float *buf = g_new (float, w * h);
      memset (copy->data, 0, bs_volume_n_voxels (copy) * sizeof (float));
      for (int s = 0; s < bs_volume_n_slices (vol, planes[p]); s++)
        {
          bs_volume_get_slice (vol, 0, planes[p], s, buf);
          bs_volume_set_slice (copy, 0, planes[p], s, buf);
        }
      g_assert_cmpmem (copy->data, bs_volume_n_voxels (vol) * sizeof (float), vol->data,
                       bs_volume_n_voxels (vol) * sizeof (float));
    }
}

/* Adding a slice within a box changes exactly the box's voxels on that
 * slice, by the slice's value at each voxel's pixel, in all 48 storage orders
 * and every plane. */
static void
test_add_slice_box (void)
{
  for (int p = 0; p < 6; p++)
    for (int s = 0; s < 8; s++)
      {
        int sign[3] = { s & 1 ? -1 : 1, s & 2 ? -1 : 1, s & 4 ? -1 : 1 };
        g_autoptr(BsVolume) vol = store (n_world, perms[p], sign);
        /* an off-centre box, so that a mirrored one would differ */
        int lo[3] = { 1, 0, 2 }, hi[3] = { vol->dims[0] - 2, 1, vol->dims[2] - 1 };

        for (int plane = 0; plane < 3; plane++)
          for (int k = 0; k < bs_volume_n_slices (vol, (BsPlane) plane); k++)
            {
              g_autoptr(BsVolume) sum = bs_volume_copy (vol);
              int w, h;

              bs_volume_slice_size (vol, (BsPlane) plane, &w, &h);
              g_autofree float *in = g_new (float, (gsize) w * h);
              for (int i = 0; i < w * h; i++)
                in[i] = 1000.0f * (float) (i + 1);
              bs_volume_add_slice_box (sum, 0, (BsPlane) plane, k, in, lo, hi);
              /* what moved, pixel by pixel */
              g_autofree guint8 *seen = g_new0 (guint8, bs_volume_n_voxels (vol));
              for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                  {
                    int ijk[3];
                    gsize v;
                    gboolean in_box = TRUE;

                    bs_volume_slice_to_voxel (vol, (BsPlane) plane, k, x, y, ijk);
                    for (int a = 0; a < 3; a++)
                      in_box = in_box && ijk[a] >= lo[a] && ijk[a] <= hi[a];
                    v = ((gsize) ijk[2] * vol->dims[1] + ijk[1]) * vol->dims[0] + ijk[0];
                    seen[v] = 1;
                    g_assert_cmpfloat (sum->data[v], ==, vol->data[v] + (in_box ? in[y * w + x] : 0.0f));
                  }
              for (gsize v = 0; v < bs_volume_n_voxels (vol); v++)
                if (!seen[v])
                  g_assert_cmpfloat (sum->data[v], ==, vol->data[v]);
            }
      }
}

static void
test_reorient_like (void)
{
  const int ras[3] = { 0, 1, 2 }, plus[3] = { 1, 1, 1 };
  const int perm[3] = { 2, 0, 1 }, mixed[3] = { 1, -1, -1 };
  g_autoptr(BsVolume) a = store (n_world, ras, plus);
  g_autoptr(BsVolume) b = store (n_world, perm, mixed);
  g_autoptr(BsVolume) moved = bs_volume_reorient_like (b, a);

  g_assert_nonnull (moved);
  g_assert_true (bs_volume_same_geometry (moved, a));
  g_assert_cmpmem (moved->data, bs_volume_n_voxels (a) * sizeof (float), a->data,
                   bs_volume_n_voxels (a) * sizeof (float));
  /* different display sizes: refused */
  g_autoptr(BsVolume) small = bs_volume_new (2, 2, 2, 1);
  g_assert_null (bs_volume_reorient_like (small, a));
}

static void
test_oblique (void)
{
  /* 20 degrees about S: still an RAS voxel order, shown like RAS. */
  g_autoptr(BsVolume) vol = bs_volume_new (3, 3, 3, 1);
  double c = 0.9396926, s = 0.3420201;
  char code[4];
  vol->affine[0][0] = c;
  vol->affine[0][1] = -s;
  vol->affine[1][0] = s;
  vol->affine[1][1] = c;
  bs_volume_orientation_code (vol, code);
  g_assert_cmpstr (code, ==, "RAS");
}

static void
test_letters_and_names (void)
{
  g_autoptr(BsVolume) vol = bs_volume_new (2, 2, 2, 1);
  char l[4];
  BsPlane p;

  bs_volume_plane_letters (vol, BS_PLANE_AXIAL, l);
  g_assert_cmpmem (l, 4, "RLAP", 4);
  bs_volume_plane_letters (vol, BS_PLANE_CORONAL, l);
  g_assert_cmpmem (l, 4, "RLSI", 4);
  bs_volume_plane_letters (vol, BS_PLANE_SAGITTAL, l);
  g_assert_cmpmem (l, 4, "APSI", 4);
  g_assert_true (bs_plane_from_string ("Sagittal", &p));
  g_assert_cmpint (p, ==, BS_PLANE_SAGITTAL);
  g_assert_cmpstr (bs_plane_name (BS_PLANE_CORONAL), ==, "coronal");
  g_assert_false (bs_plane_from_string ("oblique", &p));
}

static void
test_channels (void)
{
  g_autoptr(BsVolume) vol = bs_volume_new (2, 2, 2, 4);
  const char *names[] = { "FLAIR", "T1w", "T1gd", "T2w" };
  float lo, hi;

  for (int c = 0; c < 4; c++)
    {
      g_free (vol->channel_names[c]);
      vol->channel_names[c] = g_strdup (names[c]);
    }
  g_assert_cmpint (bs_volume_find_channel (vol, "t2f"), ==, 0);
  g_assert_cmpint (bs_volume_find_channel (vol, "fla"), ==, 0);
  g_assert_cmpint (bs_volume_find_channel (vol, "t1ce"), ==, 2);
  g_assert_cmpint (bs_volume_find_channel (vol, "T1C"), ==, 2);
  g_assert_cmpint (bs_volume_find_channel (vol, "t1n"), ==, 1);
  g_assert_cmpint (bs_volume_find_channel (vol, "t2"), ==, 3);
  g_assert_cmpint (bs_volume_find_channel (vol, "dwi"), ==, -1);

  bs_volume_channel (vol, 2)[5] = -7.0f;
  bs_volume_channel (vol, 2)[1] = 3.0f;
  bs_volume_value_range (vol, 2, &lo, &hi);
  g_assert_cmpfloat (lo, ==, -7.0f);
  g_assert_cmpfloat (hi, ==, 3.0f);

  g_autoptr(BsVolume) one = bs_volume_extract_channel (vol, 2);
  g_assert_cmpstr (one->channel_names[0], ==, "T1gd");
  g_assert_cmpfloat (one->data[5], ==, -7.0f);
  g_autoptr(BsVolume) copy = bs_volume_copy (vol);
  g_assert_true (bs_volume_same_geometry (vol, copy));
  copy->affine[0][3] += 1.0;
  g_assert_false (bs_volume_same_geometry (vol, copy));
}

/* A zeroed volume is zero even where the heap hands back memory a volume
 * before it dirtied (large volumes come from calloc, which clears only
 * memory that is not fresh from the kernel). */
static void
test_new_is_zero_after_reuse (void)
{
  for (int round = 0; round < 3; round++)
    {
      BsVolume *dirty = bs_volume_new_uninitialized (240, 240, 155, 1 + round);
      BsVolume *clean;
      gsize n;

      g_assert_nonnull (dirty);
      n = (gsize) dirty->n_channels * bs_volume_n_voxels (dirty);
      for (gsize i = 0; i < n; i++)
        dirty->data[i] = 7.0f;
      bs_volume_free (dirty);
      clean = bs_volume_new (240, 240, 155, 1 + round);
      g_assert_nonnull (clean);
      for (gsize i = 0; i < n; i++)
        if (clean->data[i] != 0.0f)
          g_error ("voxel %" G_GSIZE_FORMAT " of a new volume is %g, not 0", i, clean->data[i]);
      bs_volume_free (clean);
    }
}

/* A window of a slice read directly is that window cut from the whole slice
 * (0 where it reaches past it), in all 48 storage orders, every plane and
 * slice, windows starting before, inside and past the slice and larger
 * than it. */
static void
test_get_window (void)
{
  const BsPlane planes[3] = { BS_PLANE_AXIAL, BS_PLANE_CORONAL, BS_PLANE_SAGITTAL };

  for (int p = 0; p < 6; p++)
    for (int sg = 0; sg < 8; sg++)
      {
        int sign[3] = { sg & 1 ? -1 : 1, sg & 2 ? -1 : 1, sg & 4 ? -1 : 1 };
        g_autoptr(BsVolume) vol = store (n_world, perms[p], sign);

        for (int q = 0; q < 3; q++)
          {
            int w, h;

            bs_volume_slice_size (vol, planes[q], &w, &h);
            g_autofree float *slice = g_new (float, w * h);
            g_autofree float *got = g_new (float, (w + 4) * (h + 4));

            for (int s = 0; s < bs_volume_n_slices (vol, planes[q]); s++)
              {
                bs_volume_get_slice (vol, 0, planes[q], s, slice);
                for (int x0 = -3; x0 <= w; x0 += 2)
                  for (int y0 = -3; y0 <= h; y0 += 2)
                    for (int size = 0; size < 3; size++)
                      {
                        int ow = size == 0 ? 1 : size == 1 ? w : w + 4, oh = size == 0 ? 2 : size == 1 ? h : h + 4;

                        bs_volume_get_window (vol, 0, planes[q], s, x0, y0, ow, oh, got);
                        for (int y = 0; y < oh; y++)
                          for (int x = 0; x < ow; x++)
                            {
                              int sx = x + x0, sy = y + y0;
                              float want = sx >= 0 && sx < w && sy >= 0 && sy < h ? slice[sy * w + sx] : 0.0f;

                              g_assert_cmpfloat (got[y * ow + x], ==, want);
                            }
                      }
              }
          }
      }
}

/* Adding a window within a box is adding the whole slice that is the window
 * and 0 elsewhere, in all 48 storage orders, every plane, windows inside,
 * across and past the slice, boxes of every size. */
static void
test_add_window_box (void)
{
  const BsPlane planes[3] = { BS_PLANE_AXIAL, BS_PLANE_CORONAL, BS_PLANE_SAGITTAL };
  GRand *rand = g_rand_new_with_seed (1207);

  for (int p = 0; p < 6; p++)
    for (int sg = 0; sg < 8; sg++)
      {
        int sign[3] = { sg & 1 ? -1 : 1, sg & 2 ? -1 : 1, sg & 4 ? -1 : 1 };
        g_autoptr(BsVolume) vol = store (n_world, perms[p], sign);
        g_autoptr(BsVolume) a = bs_volume_new_like (vol, 1);
        g_autoptr(BsVolume) b = bs_volume_new_like (vol, 1);

        for (int q = 0; q < 3; q++)
          for (int trial = 0; trial < 20; trial++)
            {
              int w, h, lo[3], hi[3];
              int wx0 = g_rand_int_range (rand, -3, 6), wy0 = g_rand_int_range (rand, -3, 6);
              int ww = g_rand_int_range (rand, 1, 9), wh = g_rand_int_range (rand, 1, 9);
              int s;

              bs_volume_slice_size (vol, planes[q], &w, &h);
              s = g_rand_int_range (rand, 0, bs_volume_n_slices (vol, planes[q]));
              for (int ax = 0; ax < 3; ax++)
                {
                  lo[ax] = g_rand_int_range (rand, 0, vol->dims[ax]);
                  hi[ax] = g_rand_int_range (rand, lo[ax], vol->dims[ax]);
                }
              g_autofree float *win = g_new (float, ww * wh);
              g_autofree float *slice = g_new0 (float, w * h);

              for (int i = 0; i < ww * wh; i++)
                win[i] = (float) g_rand_int_range (rand, 1, 1000);
              for (int y = 0; y < wh; y++)
                for (int x = 0; x < ww; x++)
                  if (x + wx0 >= 0 && x + wx0 < w && y + wy0 >= 0 && y + wy0 < h)
                    slice[(y + wy0) * w + x + wx0] = win[y * ww + x];
              memcpy (a->data, vol->data, bs_volume_n_voxels (vol) * sizeof (float));
              memcpy (b->data, vol->data, bs_volume_n_voxels (vol) * sizeof (float));
              bs_volume_add_slice_box (a, 0, planes[q], s, slice, lo, hi);
              bs_volume_add_window_box (b, 0, planes[q], s, win, wx0, wy0, ww, wh, lo, hi);
              g_assert_cmpmem (b->data, bs_volume_n_voxels (vol) * sizeof (float), a->data,
                               bs_volume_n_voxels (vol) * sizeof (float));
            }
      }
  g_rand_free (rand);
}

/* A world point of voxel (i, j, k) under vol's affine. */
static void
voxel_world (const BsVolume *vol, double i, double j, double k, double out[3])
{
  for (int r = 0; r < 3; r++)
    out[r] = vol->affine[r][0] * i + vol->affine[r][1] * j + vol->affine[r][2] * k + vol->affine[r][3];
}

/* Rescaling for fine voxels (0.5 mm pixels to 1 mm): the field of view stays
 * (the grids' outer edges meet in world space), a linear ramp stays a ramp,
 * labels drawn in 2 x 2 blocks come back exactly on the file's grid, and the
 * volume remembers that grid through volumes made like it. */
static void
test_rescale (void)
{
  g_autoptr(BsVolume) vol = bs_volume_new (40, 30, 6, 2);
  g_autoptr(BsVolume) down = NULL, lab = NULL, lab_down = NULL, back = NULL, like = NULL, ramp_back = NULL;
  const int dims[3] = { 20, 15, 6 };
  double a[3], b[3];

  /* an oblique-free LPS-like affine of 0.5 x 0.5 x 3 mm voxels */
  memset (vol->affine, 0, sizeof vol->affine);
  vol->affine[0][0] = -0.5;
  vol->affine[1][1] = -0.5;
  vol->affine[2][2] = 3.0;
  vol->affine[0][3] = 10.0;
  vol->affine[1][3] = -20.0;
  vol->affine[2][3] = 5.0;
  vol->affine[3][3] = 1.0;
  vol->spacing[0] = vol->spacing[1] = 0.5;
  vol->spacing[2] = 3.0;
  for (int k = 0; k < 6; k++)
    for (int j = 0; j < 30; j++)
      for (int i = 0; i < 40; i++)
        {
          gsize v = ((gsize) k * 30 + j) * 40 + i;

          vol->data[v] = (float) (2 * i + 3 * j + 7 * k);
          vol->data[bs_volume_n_voxels (vol) + v] = 1.0f;
        }
  g_assert_false (bs_volume_has_source (vol));
  down = bs_volume_rescale (vol, dims, FALSE);
  g_assert_nonnull (down);
  g_assert_true (bs_volume_has_source (down));
  g_assert_cmpint (down->dims[0], ==, 20);
  g_assert_cmpint (down->n_channels, ==, 2);
  g_assert_cmpfloat_with_epsilon (down->spacing[0], 1.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (down->spacing[2], 3.0, 1e-9);
  /* the first and last voxels' outer corners are where they were */
  voxel_world (vol, -0.5, -0.5, -0.5, a);
  voxel_world (down, -0.5, -0.5, -0.5, b);
  for (int r = 0; r < 3; r++)
    g_assert_cmpfloat_with_epsilon (a[r], b[r], 1e-9);
  voxel_world (vol, 39.5, 29.5, 5.5, a);
  voxel_world (down, 19.5, 14.5, 5.5, b);
  for (int r = 0; r < 3; r++)
    g_assert_cmpfloat_with_epsilon (a[r], b[r], 1e-9);
  /* the ramp: new voxel (i, j) sits at old (2i + 0.5, 2j + 0.5) */
  for (int k = 0; k < 6; k++)
    for (int j = 0; j < 15; j++)
      for (int i = 0; i < 20; i++)
        {
          gsize v = ((gsize) k * 15 + j) * 20 + i;

          g_assert_cmpfloat_with_epsilon (down->data[v], 2 * (2 * i + 0.5) + 3 * (2 * j + 0.5) + 7 * k, 1e-3);
          g_assert_cmpfloat_with_epsilon (down->data[bs_volume_n_voxels (down) + v], 1.0, 1e-6);
        }
  /* labels in 2 x 2 blocks: down to the nearest voxel and back, exactly */
  lab = bs_volume_new_like (vol, 1);
  lab->is_label = TRUE;
  for (int k = 0; k < 6; k++)
    for (int j = 0; j < 30; j++)
      for (int i = 0; i < 40; i++)
        lab->data[((gsize) k * 30 + j) * 40 + i] = (float) (((i / 2) * 7 + (j / 2) * 3 + k) % 5);
  lab_down = bs_volume_rescale (lab, dims, TRUE);
  back = bs_volume_to_source (lab_down, TRUE);
  g_assert_true (bs_volume_same_geometry (back, lab));
  g_assert_cmpmem (back->data, bs_volume_n_voxels (lab) * sizeof (float), lab->data,
                   bs_volume_n_voxels (lab) * sizeof (float));
  g_assert_false (bs_volume_has_source (back));
  /* the file's voxel under a resampled one: its centre's nearest */
  {
    int ijk[3] = { 3, 14, 5 }, file[3];

    bs_volume_voxel_in_source (down, ijk, file);
    g_assert_cmpint (file[0], ==, 7);
    g_assert_cmpint (file[1], ==, 29);
    g_assert_cmpint (file[2], ==, 5);
    bs_volume_voxel_in_source (vol, ijk, file);
    g_assert_cmpint (file[0], ==, 3);
  }
  /* a volume made like the rescaled one goes back to the same grid */
  like = bs_volume_new_like (down, 1);
  g_assert_true (bs_volume_has_source (like));
  ramp_back = bs_volume_to_source (down, FALSE);
  g_assert_true (bs_volume_same_geometry (ramp_back, vol));
  /* inside the edges the ramp comes back to within the rounding */
  for (int k = 0; k < 6; k++)
    for (int j = 2; j < 28; j++)
      for (int i = 2; i < 38; i++)
        g_assert_cmpfloat_with_epsilon (ramp_back->data[((gsize) k * 30 + j) * 40 + i], 2 * i + 3 * j + 7 * k, 1e-3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/volume/codes", test_codes);
  g_test_add_func ("/volume/display-all-orders", test_display_all_orders);
  g_test_add_func ("/volume/set-slice-inverse", test_set_slice_inverse);
  g_test_add_func ("/volume/get-window", test_get_window);
  g_test_add_func ("/volume/add-slice-box", test_add_slice_box);
  g_test_add_func ("/volume/add-window-box", test_add_window_box);
  g_test_add_func ("/volume/oblique", test_oblique);
  g_test_add_func ("/volume/reorient-like", test_reorient_like);
  g_test_add_func ("/volume/letters-and-names", test_letters_and_names);
  g_test_add_func ("/volume/channels", test_channels);
  g_test_add_func ("/volume/new-is-zero-after-reuse", test_new_is_zero_after_reuse);
  g_test_add_func ("/volume/rescale", test_rescale);
  return g_test_run ();
}
