/* The island clean-up: which 26-connected components stay, exactly; the
 * filling of the tumour core's holes in its slices; the core kept near its
 * enhancing rim; and the clean-up written into probabilities and undone. */
#include <string.h>

#include "bs-mask-edit.h"
#include "bs-postprocess.h"
#include "bs-segment.h"

#define NX 40
#define NY 30
#define NZ 20

static gsize
at (int i, int j, int k)
{
  return ((gsize) k * NY + j) * NX + i;
}

static void
fill_box (guint8 *on, int i0, int j0, int k0, int si, int sj, int sk)
{
  for (int k = k0; k < k0 + sk; k++)
    for (int j = j0; j < j0 + sj; j++)
      for (int i = i0; i < i0 + si; i++)
        on[at (i, j, k)] = 1;
}

static gsize
count (const guint8 *on)
{
  gsize n = 0;
  for (gsize v = 0; v < (gsize) NX * NY * NZ; v++)
    n += on[v] != 0;
  return n;
}

static void
test_components (void)
{
  const int dims[3] = { NX, NY, NZ };
  g_autofree guint8 *on = g_new0 (guint8, (gsize) NX * NY * NZ);
  BsCleanupStats st;

  fill_box (on, 2, 2, 2, 10, 10, 10);   /* 1000: the largest */
  fill_box (on, 20, 2, 2, 7, 7, 5);     /* 245: 24.5 %, stays */
  fill_box (on, 30, 20, 10, 3, 3, 3);   /* 27: an island, goes */
  /* touches the largest only by a corner: 26-connected, so part of it */
  on[at (12, 12, 12)] = 1;
  /* a lone voxel in the volume corner (bounds of the neighbourhood) */
  on[at (NX - 1, NY - 1, NZ - 1)] = 1;

  g_assert_true (bs_mask_remove_islands (on, dims, BS_CLEANUP_MIN_FRACTION, &st));
  g_assert_cmpint (st.n_components, ==, 4);
  g_assert_cmpint (st.n_kept, ==, 2);
  g_assert_cmpuint (st.largest, ==, 1001);
  g_assert_cmpuint (st.removed, ==, 28);
  g_assert_cmpuint (count (on), ==, 1001 + 245);
  g_assert_true (on[at (12, 12, 12)]);
  g_assert_true (on[at (20, 2, 2)]);
  g_assert_false (on[at (31, 21, 11)]);
  g_assert_false (on[at (NX - 1, NY - 1, NZ - 1)]);
}

static void
test_fraction_bounds (void)
{
  const int dims[3] = { NX, NY, NZ };
  g_autofree guint8 *on = g_new0 (guint8, (gsize) NX * NY * NZ);
  BsCleanupStats st;

  fill_box (on, 0, 0, 0, 4, 4, 4);
  fill_box (on, 10, 10, 10, 2, 2, 2);
  /* 0 keeps everything */
  g_assert_true (bs_mask_remove_islands (on, dims, 0.0, &st));
  g_assert_cmpuint (st.removed, ==, 0);
  g_assert_cmpint (st.n_kept, ==, 2);
  /* 1 keeps the largest only */
  g_assert_true (bs_mask_remove_islands (on, dims, 1.0, &st));
  g_assert_cmpuint (st.removed, ==, 8);
  g_assert_cmpuint (count (on), ==, 64);
  /* an empty mask stays empty */
  memset (on, 0, (gsize) NX * NY * NZ);
  g_assert_true (bs_mask_remove_islands (on, dims, BS_CLEANUP_MIN_FRACTION, &st));
  g_assert_cmpint (st.n_components, ==, 0);
  g_assert_cmpuint (count (on), ==, 0);
}

static void
test_volume_values (void)
{
  g_autoptr(BsVolume) prob = bs_volume_new (NX, NY, NZ, 1);
  BsCleanupStats st;

  for (int k = 0; k < 8; k++)
    for (int j = 0; j < 8; j++)
      for (int i = 0; i < 8; i++)
        prob->data[at (i, j, k)] = 0.9f;
  prob->data[at (20, 20, 10)] = 0.7f;    /* island */
  prob->data[at (30, 5, 5)] = 0.3f;      /* below threshold: not tumour, untouched */
  g_assert_true (bs_volume_remove_islands (prob, BS_CLEANUP_MIN_FRACTION, &st));
  g_assert_cmpuint (st.removed, ==, 1);
  g_assert_cmpfloat (prob->data[at (20, 20, 10)], ==, 0.0f);
  g_assert_cmpfloat (prob->data[at (30, 5, 5)], ==, 0.3f);
  g_assert_cmpfloat (prob->data[at (3, 3, 3)], ==, 0.9f);
}

/* Component sizes by union-find over the whole volume, written apart from
 * the flood fill under test (on the byte mask, and on a float volume
 * through the slices that hold it). */
static gsize
find_root (gsize *parent, gsize v)
{
  while (parent[v] != v)
    v = parent[v] = parent[parent[v]];
  return v;
}

static void
test_random_against_union_find (void)
{
  const int dims[3] = { NX, NY, NZ };
  const gsize n = (gsize) NX * NY * NZ;
  g_autofree guint8 *on = g_new0 (guint8, n);
  g_autofree guint8 *expect = g_new0 (guint8, n);
  g_autofree gsize *parent = g_new (gsize, n);
  g_autofree guint64 *size = g_new0 (guint64, n);
  GRand *rand = g_rand_new_with_seed (20261204);

  for (int round = 0; round < 12; round++)
    {
      guint64 largest = 0, removed = 0;
      BsCleanupStats st;
      /* sparse to dense, and a sub-box placed anywhere (edges included) */
      double density = 0.02 + 0.03 * round;
      int x0 = g_rand_int_range (rand, 0, NX / 2), y0 = g_rand_int_range (rand, 0, NY / 2);
      int z0 = g_rand_int_range (rand, 0, NZ / 2);
      int x1 = g_rand_int_range (rand, x0 + 1, NX + 1), y1 = g_rand_int_range (rand, y0 + 1, NY + 1);
      int z1 = g_rand_int_range (rand, z0 + 1, NZ + 1);

      memset (on, 0, n);
      for (int k = z0; k < z1; k++)
        for (int j = y0; j < y1; j++)
          for (int i = x0; i < x1; i++)
            on[at (i, j, k)] = g_rand_double (rand) < density;
      for (gsize v = 0; v < n; v++)
        parent[v] = v;
      for (int k = 0; k < NZ; k++)
        for (int j = 0; j < NY; j++)
          for (int i = 0; i < NX; i++)
            {
              if (!on[at (i, j, k)])
                continue;
              for (int dk = -1; dk <= 1; dk++)
                for (int dj = -1; dj <= 1; dj++)
                  for (int di = -1; di <= 1; di++)
                    {
                      int a = i + di, b = j + dj, c = k + dk;

                      if (a < 0 || b < 0 || c < 0 || a >= NX || b >= NY || c >= NZ || !on[at (a, b, c)])
                        continue;
                      parent[find_root (parent, at (a, b, c))] = find_root (parent, at (i, j, k));
                    }
            }
      memset (size, 0, n * sizeof size[0]);
      for (gsize v = 0; v < n; v++)
        if (on[v])
          {
            guint64 grown = ++size[find_root (parent, v)];

            largest = MAX (largest, grown);
          }
      for (gsize v = 0; v < n; v++)
        {
          expect[v] = on[v] && (double) size[find_root (parent, v)] >= (guint64) (BS_CLEANUP_MIN_FRACTION * (double) largest);
          removed += on[v] && !expect[v];
        }
      /* The float volume's clean-up on the slices [z0, z1) that hold the
       * mask alone gives the same: voxel values 0.6 + a little, kept as they
       * are where kept, 0 where removed. */
      {
        g_autoptr(BsVolume) vol = bs_volume_new (NX, NY, NZ, 1);
        BsCleanupStats vs;

        for (gsize v = 0; v < n; v++)
          vol->data[v] = on[v] ? 0.6f + (float) (v % 7) * 0.01f : 0.0f;
        g_assert_true (bs_volume_remove_islands_slices (vol, z0, z1, BS_CLEANUP_MIN_FRACTION, &vs));
        g_assert_cmpuint (vs.largest, ==, largest);
        g_assert_cmpuint (vs.removed, ==, removed);
        for (gsize v = 0; v < n; v++)
          g_assert_cmpfloat (vol->data[v], ==, expect[v] ? 0.6f + (float) (v % 7) * 0.01f : 0.0f);
      }
      g_assert_true (bs_mask_remove_islands (on, dims, BS_CLEANUP_MIN_FRACTION, &st));
      g_assert_cmpuint (st.largest, ==, largest);
      g_assert_cmpuint (st.removed, ==, removed);
      g_assert_cmpmem (on, n, expect, n);
    }
  g_rand_free (rand);
}

/* The core's holes: a tube along z (rings in its axial slices) is filled
 * though it is open at both ends; the same tube cut open along its length
 * is not (no slice of it encloses anything); a closed box is filled; within
 * keeps the filling inside it. */
static void
test_fill_plane_holes (void)
{
  const int dims[3] = { NX, NY, NZ };
  const gsize n = (gsize) NX * NY * NZ;
  g_autofree guint8 *on = g_new0 (guint8, n), *within = g_new (guint8, n);
  guint64 filled;

  /* a square tube along z: walls x 2..8, y 2..8, z 3..14, hollow x 3..7, y 3..7 */
  fill_box (on, 2, 2, 3, 7, 7, 12);
  for (int k = 3; k < 15; k++)
    for (int j = 3; j < 8; j++)
      for (int i = 3; i < 8; i++)
        on[at (i, j, k)] = 0;
  g_assert_true (bs_mask_fill_plane_holes (on, dims, NULL, NULL, &filled));
  g_assert_cmpuint (filled, ==, 5 * 5 * 12);
  g_assert_cmpuint (count (on), ==, 7 * 7 * 12);

  /* the same tube with a slit along its whole length, at x = 5 of the wall y = 2 */
  memset (on, 0, n);
  fill_box (on, 2, 2, 3, 7, 7, 12);
  for (int k = 3; k < 15; k++)
    {
      for (int j = 3; j < 8; j++)
        for (int i = 3; i < 8; i++)
          on[at (i, j, k)] = 0;
      on[at (5, 2, k)] = 0;
    }
  g_assert_true (bs_mask_fill_plane_holes (on, dims, NULL, NULL, &filled));
  g_assert_cmpuint (filled, ==, 0);
  g_assert_cmpuint (count (on), ==, 7 * 7 * 12 - 5 * 5 * 12 - 12);

  /* a closed box against the volume's far corner (no background ring in the
   * volume there), and within leaving out one voxel of its inside */
  memset (on, 0, n);
  fill_box (on, NX - 6, NY - 6, NZ - 6, 6, 6, 6);
  fill_box (on, 2, 2, 2, 3, 3, 3);   /* a second component, solid */
  for (int k = NZ - 5; k < NZ - 1; k++)
    for (int j = NY - 5; j < NY - 1; j++)
      for (int i = NX - 5; i < NX - 1; i++)
        on[at (i, j, k)] = 0;
  memset (within, 1, n);
  within[at (NX - 3, NY - 3, NZ - 3)] = 0;
  g_assert_true (bs_mask_fill_plane_holes (on, dims, NULL, within, &filled));
  g_assert_cmpuint (filled, ==, 4 * 4 * 4 - 1);
  g_assert_false (on[at (NX - 3, NY - 3, NZ - 3)]);
  g_assert_true (on[at (NX - 4, NY - 4, NZ - 4)]);
  g_assert_cmpuint (count (on), ==, 6 * 6 * 6 - 1 + 27);
  for (gsize v = 0; v < n; v++)
    g_assert_cmpuint (on[v], <=, 1);

  /* an empty mask stays empty */
  memset (on, 0, n);
  g_assert_true (bs_mask_fill_plane_holes (on, dims, NULL, NULL, &filled));
  g_assert_cmpuint (filled, ==, 0);
  g_assert_cmpuint (count (on), ==, 0);
}

/* A box whose top and bottom are rings and whose sides are two walls (not
 * touching the rings' corners): its
 * top and bottom fill only in the slices across voxel axis 2, and then its
 * inside is enclosed in the slices across axis 1 (a pass across axis 1 first
 * finds nothing).  So the order of the passes shows, and a volume's passes
 * follow its planes, axial first, whatever its voxel order. */
static void
make_cup (guint8 *on)
{
  memset (on, 0, (gsize) NX * NY * NZ);
  for (int k = 1; k <= 5; k++)
    for (int j = 1; j <= 7; j++)
      for (int i = 1; i <= 7; i++)
        {
          gboolean edge = i == 1 || i == 7 || j == 1 || j == 7;

          if ((k == 1 || k == 5) ? edge : (i == 1 || i == 7) && j > 1 && j < 7)
            on[at (i, j, k)] = 1;
        }
}

static void
test_fill_plane_order (void)
{
  const int dims[3] = { NX, NY, NZ }, axial_first[3] = { 2, 1, 0 }, coronal_first[3] = { 1, 2, 0 };
  const gsize n = (gsize) NX * NY * NZ;
  g_autofree guint8 *on = g_new (guint8, n);
  guint64 filled_a, filled_c, filled;
  g_autoptr(BsVolume) v = bs_volume_new (NX, NY, NZ, 1);

  make_cup (on);
  g_assert_true (bs_mask_fill_plane_holes (on, dims, axial_first, NULL, &filled_a));
  g_assert_true (on[at (4, 4, 3)]);
  make_cup (on);
  g_assert_true (bs_mask_fill_plane_holes (on, dims, coronal_first, NULL, &filled_c));
  g_assert_false (on[at (4, 4, 3)]);
  g_assert_cmpuint (filled_c, ==, 2 * 5 * 5);   /* the top and the bottom */
  g_assert_cmpuint (filled_a, ==, filled_c + 5 * 5 * 3);

  /* identity affine: axial slices step along voxel axis 2 */
  make_cup (on);
  for (gsize i = 0; i < n; i++)
    v->data[i] = on[i];
  g_assert_true (bs_volume_fill_plane_holes (v, NULL, &filled));
  g_assert_cmpuint (filled, ==, filled_a);
  /* voxel axis 1 runs up (superior), axis 2 forward (anterior): the axial
   * pass is across axis 1, the coronal across axis 2 */
  memset (v->affine, 0, sizeof v->affine);
  v->affine[0][0] = v->affine[2][1] = v->affine[1][2] = v->affine[3][3] = 1.0;
  g_assert_cmpint (bs_volume_slice_axis (v, BS_PLANE_AXIAL, 2), ==, 1);
  for (gsize i = 0; i < n; i++)
    v->data[i] = on[i];
  g_assert_true (bs_volume_fill_plane_holes (v, NULL, &filled));
  g_assert_cmpuint (filled, ==, filled_c);
}

/* The core trimmed to its enhancing rim: a slab of core with an enhancing
 * ring in its middle slices; core beyond the radius from the ring (its
 * inside filled: a cavity counts as rim) goes, core within it stays, and
 * the slices' spacing counts.  With too little enhancement the core stays
 * whole. */
static void
test_trim_core (void)
{
  const int dims[3] = { NX, NY, NZ }, order[3] = { 2, 1, 0 };
  const gsize n = (gsize) NX * NY * NZ;
  const double iso[3] = { 1.0, 1.0, 1.0 }, thick[3] = { 1.0, 1.0, 3.0 };
  g_autofree guint8 *core = g_new0 (guint8, n), *enh = g_new0 (guint8, n);
  guint64 trimmed;

  /* core: x 2..37, y 2..27, z 8..11; enhancing: the square ring of side 21
   * and width 2 (x 4..24, y 4..24) in z 8..11, 16 % of the core, its inside
   * 17 x 17 (a cavity 9 voxels from the ring at its centre) */
  fill_box (core, 2, 2, 8, 36, 26, 4);
  fill_box (enh, 4, 4, 8, 21, 21, 4);
  for (int k = 8; k < 12; k++)
    for (int j = 6; j < 23; j++)
      for (int i = 6; i < 23; i++)
        enh[at (i, j, k)] = 0;
  g_assert_true (bs_mask_trim_core (core, enh, dims, order, iso, 6.0, 0.1, &trimmed));
  g_assert_true (core[at (14, 14, 9)]);    /* the cavity's centre */
  g_assert_true (core[at (30, 14, 9)]);    /* 6 mm from the ring (x = 24) */
  g_assert_false (core[at (31, 14, 9)]);   /* 7 mm */
  g_assert_true (core[at (2, 2, 9)]);      /* sqrt (8) from the ring's corner */
  g_assert_false (core[at (30, 27, 9)]);   /* sqrt (6^2 + 3^2) from the corner (24, 24) */
  g_assert_cmpuint (trimmed + count (core), ==, 36 * 26 * 4);
  for (gsize v = 0; v < n; v++)
    if (enh[v])
      g_assert_true (core[v]);

  /* across slices of 3 mm: core two slices above the ring (6 mm) stays,
   * three (9 mm) goes; the ring is 9 % of this core */
  memset (core, 0, n);
  fill_box (core, 4, 4, 2, 21, 21, 16);
  g_assert_true (bs_mask_trim_core (core, enh, dims, order, thick, 6.0, 0.05, &trimmed));
  g_assert_true (core[at (14, 14, 6)]);
  g_assert_false (core[at (14, 14, 5)]);
  g_assert_true (core[at (14, 14, 13)]);
  g_assert_false (core[at (14, 14, 14)]);
  g_assert_cmpuint (trimmed, ==, (guint64) 21 * 21 * (4 + 4));

  /* a core of 36 x 26 x 4 voxels with one ring slice of 152 enhancing
   * voxels (4 %): nothing to measure from, nothing trimmed */
  memset (core, 0, n);
  fill_box (core, 2, 2, 8, 36, 26, 4);
  for (int k = 9; k < 12; k++)
    for (int j = 0; j < NY; j++)
      for (int i = 0; i < NX; i++)
        enh[at (i, j, k)] = 0;
  g_assert_true (bs_mask_trim_core (core, enh, dims, order, iso, 6.0, 0.1, &trimmed));
  g_assert_cmpuint (trimmed, ==, 0);
  g_assert_cmpuint (count (core), ==, 36 * 26 * 4);
  /* a share of 1 % lets it measure */
  g_assert_true (bs_mask_trim_core (core, enh, dims, order, iso, 6.0, 0.01, &trimmed));
  g_assert_cmpuint (trimmed, >, 0);
  g_assert_cmpuint (trimmed + count (core), ==, 36 * 26 * 4);

  /* no enhancement at all, even with no share asked: nothing to measure
   * from, nothing trimmed */
  memset (enh, 0, n);
  g_assert_true (bs_mask_trim_core (core, enh, dims, order, iso, 6.0, 0.0, &trimmed));
  g_assert_cmpuint (trimmed, ==, 0);

  /* enhancement outside the core's box still measures: a core slab x 2..9
   * beside enhancing voxels at x 10..13 (outside it) keeps x >= 4 only */
  memset (core, 0, n);
  fill_box (core, 2, 2, 2, 8, 10, 3);
  fill_box (enh, 10, 2, 2, 4, 10, 3);
  g_assert_true (bs_mask_trim_core (core, enh, dims, order, iso, 6.0, 0.1, &trimmed));
  g_assert_cmpuint (trimmed, ==, 2 * 10 * 3);
  g_assert_true (core[at (4, 5, 3)]);
  g_assert_false (core[at (3, 5, 3)]);

  /* a piece of core within the radius but cut off from the enhancing
   * tumour (two voxels of background between) goes; one touching it only
   * at a corner (26-connected) stays */
  memset (core, 0, n);
  memset (enh, 0, n);
  fill_box (core, 10, 10, 5, 6, 6, 4);   /* x 10..15, y 10..15, z 5..8 */
  fill_box (enh, 10, 10, 5, 6, 6, 4);    /* all enhancing */
  fill_box (core, 18, 10, 5, 2, 2, 2);   /* x 18..19: 3 voxels from x = 15 */
  core[at (16, 16, 9)] = 1;              /* a corner's neighbour of (15, 15, 8) */
  g_assert_true (bs_mask_trim_core (core, enh, dims, order, iso, 6.0, 0.1, &trimmed));
  g_assert_cmpuint (trimmed, ==, 2 * 2 * 2);
  g_assert_false (core[at (18, 10, 5)]);
  g_assert_true (core[at (16, 16, 9)]);
  g_assert_cmpuint (count (core), ==, 6 * 6 * 4 + 1);
}

/* The clean-up written into a region model's probabilities
 * (bs_segment_write_cleanup): the core voxels trimmed far from the rim
 * become 0 in the core's channel, thresholds then give the result's masks,
 * and the changes recorded put the network's values back exactly (the
 * window's "Remove islands" off). */
static void
test_write_cleanup_trim (void)
{
  g_autoptr(BsVolume) prob = bs_volume_new (NX, NY, NZ, 3), copy = NULL;
  g_autoptr(BsSegmentResult) r = g_new0 (BsSegmentResult, 1);
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (BsCleanupChange));
  const gsize n = (gsize) NX * NY * NZ;
  float *wt = prob->data, *tc = prob->data + n, *et = prob->data + 2 * n;
  guint64 trimmed_on = 0, core_on = 0;
  guint zeros = 0;

  /* whole tumour and core: x 4..27, y 4..27, z 3..8, the core's values
   * varied so that the undo must restore each one; enhancing: a ring 3
   * wide, x 8..20, y 8..20, in z 4..7 (14 % of the core) */
  for (int k = 3; k < 9; k++)
    for (int j = 4; j < 28; j++)
      for (int i = 4; i < 28; i++)
        {
          wt[at (i, j, k)] = 0.9f;
          tc[at (i, j, k)] = 0.6f + 0.01f * (float) (i % 7);
        }
  for (int k = 4; k < 8; k++)
    for (int j = 8; j < 21; j++)
      for (int i = 8; i < 21; i++)
        if (i < 11 || i > 17 || j < 11 || j > 17)
          et[at (i, j, k)] = 0.95f;
  copy = bs_volume_new (NX, NY, NZ, 3);
  memcpy (copy->data, prob->data, 3 * n * sizeof (float));
  r->prob = prob;
  g_assert_true (bs_segment_finish (r, NULL, BS_PLANE_AXIAL, NULL, TRUE, NULL));
  g_assert_cmpuint (r->cleanup.core_trimmed, >, 0);
  g_assert_true (bs_segment_write_cleanup (r, copy, 1, changes));
  for (guint c = 0; c < changes->len; c++)
    {
      const BsCleanupChange *ch = &g_array_index (changes, BsCleanupChange, c);

      g_assert_cmpfloat (ch->prob, ==, prob->data[ch->index]);
      zeros += ch->index >= n && ch->index < 2 * n && ch->set == 0.0f;
    }
  /* every trimmed voxel was network core here (no holes to fill) */
  g_assert_cmpuint (r->cleanup.core_filled, ==, 0);
  g_assert_cmpuint (zeros, ==, r->cleanup.core_trimmed);
  for (gsize v = 0; v < n; v++)
    {
      gboolean on = copy->data[v] > 0.5f && copy->data[n + v] > 0.5f;

      g_assert_cmpint (on, ==, r->region_mask[BS_REGION_TC]->data[v] > 0.5f);
      core_on += on;
      trimmed_on += tc[v] > 0.5f && wt[v] > 0.5f && !on;
    }
  g_assert_cmpuint (trimmed_on, ==, r->cleanup.core_trimmed);
  g_assert_cmpuint (core_on + trimmed_on, ==, 24 * 24 * 6);
  /* the undo: the network's values, bit for bit */
  for (guint c = 0; c < changes->len; c++)
    {
      const BsCleanupChange *ch = &g_array_index (changes, BsCleanupChange, c);

      copy->data[ch->index] = ch->prob;
    }
  g_assert_cmpint (memcmp (copy->data, prob->data, 3 * n * sizeof (float)), ==, 0);
  r->prob = NULL;
}

/* A random box with a random cavity (a box inside it left empty, open to
 * one side or not), in slices [z0, z1) of vol, set to 1. */
static void
random_hollow_box (BsVolume *vol, int z0, int z1)
{
  int lo[3], hi[3], clo[3], chi[3], open_axis = g_test_rand_int_range (-1, 3);
  const int dims[3] = { NX, NY, NZ };

  for (int a = 0; a < 3; a++)
    {
      int from = a == 2 ? z0 : 0, to = a == 2 ? z1 : dims[a];

      lo[a] = g_test_rand_int_range (from, to - 1);
      hi[a] = g_test_rand_int_range (lo[a] + 1, MIN (to, lo[a] + 12) + 1);
      clo[a] = lo[a] + 1;
      chi[a] = hi[a] - 1;
    }
  if (open_axis >= 0)
    chi[open_axis] = hi[open_axis];   /* the cavity reaches the box's far side: a cup */
  for (int k = lo[2]; k < hi[2]; k++)
    for (int j = lo[1]; j < hi[1]; j++)
      for (int i = lo[0]; i < hi[0]; i++)
        {
          gboolean cavity = i >= clo[0] && i < chi[0] && j >= clo[1] && j < chi[1] && k >= clo[2] && k < chi[2];

          if (!cavity)
            vol->data[at (i, j, k)] = 1.0f;
        }
}

/* The clean-up on the slices that can hold the masks (what bs_segment does
 * with its region slices) gives what it gives on the whole volume: the core's
 * holes and its trimming near the rim, with masks that touch the first and
 * last of those slices and cups open towards them. */
static void
test_slices_match_whole (void)
{
  const gsize n = (gsize) NX * NY * NZ;

  for (int trial = 0; trial < 40; trial++)
    {
      int z0 = g_test_rand_int_range (0, NZ - 4), z1 = g_test_rand_int_range (z0 + 3, NZ + 1);
      g_autoptr(BsVolume) core = bs_volume_new (NX, NY, NZ, 1), enh = bs_volume_new (NX, NY, NZ, 1);
      g_autoptr(BsVolume) within = bs_volume_new (NX, NY, NZ, 1);
      g_autoptr(BsVolume) core2 = NULL;
      guint64 filled = 0, filled2 = 0, trimmed = 0, trimmed2 = 0;

      for (int b = g_test_rand_int_range (1, 4); b > 0; b--)
        random_hollow_box (core, z0, z1);
      for (int b = g_test_rand_int_range (1, 3); b > 0; b--)
        random_hollow_box (enh, z0, z1);
      /* the whole tumour: the core grown by a voxel in x and y, in [z0, z1) */
      for (int k = z0; k < z1; k++)
        for (int j = 0; j < NY; j++)
          for (int i = 0; i < NX; i++)
            for (int d = 0; d < 9; d++)
              {
                int ii = i + d % 3 - 1, jj = j + d / 3 - 1;

                if (ii >= 0 && jj >= 0 && ii < NX && jj < NY && core->data[at (ii, jj, k)] > 0.5f)
                  within->data[at (i, j, k)] = 1.0f;
              }
      core->spacing[2] = trial % 2 ? 3.0 : 1.0;
      core2 = bs_volume_new (NX, NY, NZ, 1);
      core2->spacing[2] = core->spacing[2];
      memcpy (core2->data, core->data, n * sizeof (float));
      g_assert_true (bs_volume_fill_plane_holes (core, trial % 3 ? within : NULL, &filled));
      g_assert_true (bs_volume_fill_plane_holes_slices (core2, trial % 3 ? within : NULL, z0, z1, &filled2));
      g_assert_cmpuint (filled, ==, filled2);
      g_assert_cmpint (memcmp (core->data, core2->data, n * sizeof (float)), ==, 0);
      g_assert_true (bs_volume_trim_core (core, enh, 2.0, 0.05, &trimmed));
      g_assert_true (bs_volume_trim_core_slices (core2, enh, z0, z1, 2.0, 0.05, &trimmed2));
      g_assert_cmpuint (trimmed, ==, trimmed2);
      g_assert_cmpint (memcmp (core->data, core2->data, n * sizeof (float)), ==, 0);
      if (trial < 3)
        g_test_message ("slices %d-%d: %" G_GUINT64_FORMAT " filled, %" G_GUINT64_FORMAT " trimmed", z0, z1 - 1,
                        filled, trimmed);
    }
}

/* How many values of each of prob's three channels are 1 (marked by a stroke). */
static void
count_marked (const BsVolume *prob, int on[3])
{
  gsize nvox = bs_volume_n_voxels (prob);

  for (int c = 0; c < 3; c++)
    {
      on[c] = 0;
      for (gsize v = 0; v < nvox; v++)
        on[c] += prob->data[c * nvox + v] == 1.0f;
    }
}

/* The correction brush: painting the enhancing tumour marks it, the core
 * and the whole tumour on a disk of the slice (round: pixel centres within
 * the radius); erasing the core clears the core and the enhancing tumour and
 * leaves the whole tumour; undoing both, last first, gives the volume back
 * bit for bit; the touched slices are found in every plane. */
static void
test_mask_edit (void)
{
  g_autoptr(BsVolume) prob = bs_volume_new (12, 10, 6, 3);
  g_autoptr(BsVolume) before = NULL;
  g_autoptr(GArray) paint = g_array_new (FALSE, FALSE, sizeof (BsMaskEditVoxel));
  g_autoptr(GArray) erase = g_array_new (FALSE, FALSE, sizeof (BsMaskEditVoxel));
  const int channels[BS_N_REGIONS] = { 0, 1, 2 };
  gsize nvox = bs_volume_n_voxels (prob);
  int covered, on[3], first, last, expect = 0;

  for (gsize v = 0; v < nvox * 3; v++)
    prob->data[v] = (float) (v % 7) / 10.0f;   /* below 0.5: nothing marked */
  before = bs_volume_copy (prob);
  covered = bs_mask_edit_disk (prob, channels, BS_REGION_ET, FALSE, BS_PLANE_AXIAL, 3, 5.5, 4.5, 2.0, paint);
  for (int y = 0; y < 10; y++)
    for (int x = 0; x < 12; x++)
      expect += (x + 0.5 - 5.5) * (x + 0.5 - 5.5) + (y + 0.5 - 4.5) * (y + 0.5 - 4.5) <= 4.0;
  g_assert_cmpint (covered, ==, expect);
  g_assert_cmpint (covered, ==, 13);
  count_marked (prob, on);
  g_assert_cmpint (on[0], ==, 13);
  g_assert_cmpint (on[1], ==, 13);
  g_assert_cmpint (on[2], ==, 13);
  g_assert_cmpuint (paint->len, ==, 39);
  /* every painted voxel lies on the one axial slice 3 */
  g_assert_true (bs_mask_edit_slices (prob, paint, 0, BS_PLANE_AXIAL, &first, &last));
  g_assert_cmpint (first, ==, 3);
  g_assert_cmpint (last, ==, 3);
  g_assert_true (bs_mask_edit_slices (prob, paint, 0, BS_PLANE_CORONAL, &first, &last));
  g_assert_cmpint (last - first, ==, 4);
  /* from a later change on: the last ones only */
  g_assert_true (bs_mask_edit_slices (prob, paint, paint->len - 1, BS_PLANE_CORONAL, &first, &last));
  g_assert_cmpint (first, ==, last);
  covered = bs_mask_edit_disk (prob, channels, BS_REGION_TC, TRUE, BS_PLANE_AXIAL, 3, 5.5, 4.5, 1.0, erase);
  g_assert_cmpint (covered, ==, 5);   /* the centre and its four neighbours, at distance 1 */
  g_assert_cmpuint (erase->len, ==, 10);   /* core and enhancing, 5 voxels each; the whole tumour stays */
  count_marked (prob, on);
  g_assert_cmpint (on[0], ==, 13);
  g_assert_cmpint (on[1], ==, 8);
  g_assert_cmpint (on[2], ==, 8);
  /* outside the volume: nothing */
  g_assert_cmpint (bs_mask_edit_disk (prob, channels, BS_REGION_WT, FALSE, BS_PLANE_AXIAL, 6, 5, 5, 2, paint), ==, 0);
  bs_mask_edit_apply (prob, erase, TRUE);
  bs_mask_edit_apply (prob, paint, TRUE);
  g_assert_cmpmem (prob->data, nvox * 3 * sizeof (float), before->data, nvox * 3 * sizeof (float));
  bs_mask_edit_apply (prob, paint, FALSE);
  g_assert_cmpfloat (bs_volume_channel (prob, 2)[(gsize) 3 * 120 + 4 * 12 + 5], ==, 1.0f);
  g_array_set_size (erase, 0);
  g_assert_false (bs_mask_edit_slices (prob, erase, 0, BS_PLANE_AXIAL, &first, &last));
}

/* A segmentation as one correction: every region becomes the label map's
 * (BraTS 2017: 1 core, 2 edema, 4 enhancing) where the network's side of 0.5
 * was wrong, its other values untouched; undo gives the volume back bit for
 * bit; a 0/1 map sets the whole tumour and clears the core and enhancing
 * tumour outside it only; a map on another grid changes nothing. */
static void
test_mask_from_label (void)
{
  g_autoptr(BsVolume) prob = bs_volume_new (12, 10, 6, 3);
  g_autoptr(BsVolume) label = bs_volume_new (12, 10, 6, 1);
  g_autoptr(BsVolume) before = NULL, other = bs_volume_new (12, 10, 5, 1);
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (BsMaskEditVoxel));
  const int channels[BS_N_REGIONS] = { 0, 1, 2 };
  gsize nvox = bs_volume_n_voxels (prob), wt_changed, expect_wt = 0;
  gboolean ok;

  for (gsize v = 0; v < nvox * 3; v++)
    prob->data[v] = (float) ((v * 7919) % 10) / 9.0f;   /* some above 0.5, some below */
  for (gsize v = 0; v < nvox; v++)
    {
      static const float values[] = { 0, 1, 2, 4, 0, 2 };

      label->data[v] = values[(v * 31) % G_N_ELEMENTS (values)];
      expect_wt += (label->data[v] > 0) != (prob->data[v] > 0.5f);
    }
  before = bs_volume_copy (prob);
  wt_changed = bs_mask_edit_from_label (prob, channels, label, BS_LABELS_BRATS2017, changes, &ok);
  g_assert_true (ok);
  g_assert_cmpuint (wt_changed, ==, expect_wt);
  g_assert_cmpmem (prob->data, nvox * 3 * sizeof (float), before->data, nvox * 3 * sizeof (float));  /* untouched */
  bs_mask_edit_apply (prob, changes, FALSE);
  for (gsize v = 0; v < nvox; v++)
    {
      int value = (int) label->data[v];

      g_assert_cmpint (prob->data[v] > 0.5f, ==, value > 0);
      g_assert_cmpint (prob->data[nvox + v] > 0.5f, ==, value == 1 || value == 4);
      g_assert_cmpint (prob->data[2 * nvox + v] > 0.5f, ==, value == 4);
      for (int c = 0; c < 3; c++)   /* a value on the right side keeps the network's probability */
        if ((before->data[c * nvox + v] > 0.5f) == (prob->data[c * nvox + v] > 0.5f))
          g_assert_cmpfloat (prob->data[c * nvox + v], ==, before->data[c * nvox + v]);
    }
  bs_mask_edit_apply (prob, changes, TRUE);
  g_assert_cmpmem (prob->data, nvox * 3 * sizeof (float), before->data, nvox * 3 * sizeof (float));

  /* 0/1: the whole tumour; the core and enhancing tumour go outside it only */
  g_array_set_size (changes, 0);
  for (gsize v = 0; v < nvox; v++)
    label->data[v] = label->data[v] > 0;
  g_assert_cmpuint (bs_mask_edit_from_label (prob, channels, label, BS_LABELS_BINARY, changes, &ok), ==, expect_wt);
  g_assert_true (ok);
  bs_mask_edit_apply (prob, changes, FALSE);
  for (gsize v = 0; v < nvox; v++)
    {
      g_assert_cmpint (prob->data[v] > 0.5f, ==, label->data[v] > 0);
      for (int c = 1; c < 3; c++)
        if (label->data[v] > 0)
          g_assert_cmpfloat (prob->data[c * nvox + v], ==, before->data[c * nvox + v]);
        else
          g_assert_cmpfloat (prob->data[c * nvox + v], <=, 0.5f);
    }
  bs_mask_edit_apply (prob, changes, TRUE);
  g_assert_cmpmem (prob->data, nvox * 3 * sizeof (float), before->data, nvox * 3 * sizeof (float));

  g_array_set_size (changes, 0);
  g_assert_cmpuint (bs_mask_edit_from_label (prob, channels, other, BS_LABELS_BINARY, changes, &ok), ==, 0);
  g_assert_false (ok);
  g_assert_cmpuint (changes->len, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/postprocess/components", test_components);
  g_test_add_func ("/postprocess/fraction-bounds", test_fraction_bounds);
  g_test_add_func ("/postprocess/volume-values", test_volume_values);
  g_test_add_func ("/postprocess/random-against-union-find", test_random_against_union_find);
  g_test_add_func ("/postprocess/fill-plane-holes", test_fill_plane_holes);
  g_test_add_func ("/postprocess/fill-plane-order", test_fill_plane_order);
  g_test_add_func ("/postprocess/trim-core", test_trim_core);
  g_test_add_func ("/postprocess/write-cleanup-trim", test_write_cleanup_trim);
  g_test_add_func ("/postprocess/slices-match-whole", test_slices_match_whole);
  g_test_add_func ("/postprocess/mask-edit", test_mask_edit);
  g_test_add_func ("/postprocess/mask-from-label", test_mask_from_label);
  return g_test_run ();
}
