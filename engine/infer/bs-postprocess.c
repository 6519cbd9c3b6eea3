/* Connected components by breadth-first flood fill over 26 neighbours: one
 * int32 label per voxel and one queue, both as long as the box that holds
 * the mask (a tumour's box, not the whole head) grown by a voxel of
 * background all round, so that every neighbour is an offset away with no
 * bounds to test. */
#include "bs-postprocess.h"
#include "bs-metrics.h"
#include "bs-span.h"

#include <string.h>

static gboolean
remove_islands_in (guint8 *on, const int dims[3], double min_fraction, BsCleanupStats *stats)
{
  const int nx = dims[0], ny = dims[1], nz = dims[2];
  const gsize nvox = (gsize) nx * ny * nz;
  /* the padded grid */
  const gsize px = (gsize) nx + 2, py = (gsize) ny + 2, pz = (gsize) nz + 2, pslab = px * py, pvox = pslab * pz;
  BsCleanupStats st = { 0 };
  guint8 *grid;
  gint32 *label, *queue;
  GArray *sizes;
  guint64 threshold;
  gssize offset[26];
  int n_off = 0;

  if (stats)
    *stats = st;
  if (nvox == 0 || pvox > G_MAXINT32)
    return nvox == 0;
  grid = g_try_malloc0 (pvox);
  label = g_try_new0 (gint32, pvox);
  queue = g_try_new (gint32, nvox);
  if (!grid || !label || !queue)
    {
      g_free (grid);
      g_free (label);
      g_free (queue);
      return FALSE;
    }
  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      memcpy (grid + (gsize) (k + 1) * pslab + (gsize) (j + 1) * px + 1, on + ((gsize) k * ny + j) * nx, nx);
  for (int dk = -1; dk <= 1; dk++)
    for (int dj = -1; dj <= 1; dj++)
      for (int di = -1; di <= 1; di++)
        if (dk || dj || di)
          offset[n_off++] = (gssize) dk * (gssize) pslab + (gssize) dj * (gssize) px + di;
  sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_array_append_val (sizes, st.largest); /* label 0 = background */

  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      {
        gsize row = (gsize) (k + 1) * pslab + (gsize) (j + 1) * px + 1;

        for (int i = 0; i < nx; i++)
          {
            gsize seed = row + i, head = 0, tail = 0;
            gint32 id;

            if (!grid[seed] || label[seed])
              continue;
            id = (gint32) sizes->len;
            label[seed] = id;
            queue[tail++] = (gint32) seed;
            while (head < tail)
              {
                gsize v = (gsize) queue[head++];

                for (int o = 0; o < 26; o++)
                  {
                    gsize w = (gsize) ((gssize) v + offset[o]);

                    if (grid[w] && !label[w])
                      {
                        label[w] = id;
                        queue[tail++] = (gint32) w;
                      }
                  }
              }
            {
              guint64 size = tail;

              g_array_append_val (sizes, size);
              st.largest = MAX (st.largest, size);
            }
          }
      }

  st.n_components = (int) sizes->len - 1;
  threshold = (guint64) (min_fraction * (double) st.largest);
  for (guint c = 1; c < sizes->len; c++)
    st.n_kept += g_array_index (sizes, guint64, c) >= threshold;
  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      {
        const gint32 *lr = label + (gsize) (k + 1) * pslab + (gsize) (j + 1) * px + 1;
        guint8 *o = on + ((gsize) k * ny + j) * nx;

        for (int i = 0; i < nx; i++)
          if (lr[i] && g_array_index (sizes, guint64, lr[i]) < threshold)
            {
              o[i] = 0;
              st.removed++;
            }
      }
  g_array_unref (sizes);
  g_free (grid);
  g_free (label);
  g_free (queue);
  if (stats)
    *stats = st;
  return TRUE;
}

/* The box lo..hi (inclusive) of the non-zero bytes of on; hi[0] < 0 when
 * there are none. */
static void
mask_box (const guint8 *on, const int dims[3], int lo[3], int hi[3])
{
  const gsize nx = dims[0], ny = dims[1], nz = dims[2];

  for (int a = 0; a < 3; a++)
    {
      lo[a] = dims[a];
      hi[a] = -1;
    }
  for (gsize z = 0; z < nz; z++)
    for (gsize y = 0; y < ny; y++)
      {
        int first, last;

        if (!bs_span_nonzero (on + (z * ny + y) * nx, (int) nx, &first, &last))
          continue;
        bs_box_include (lo, hi, first, (int) y, (int) z);
        bs_box_include (lo, hi, last, (int) y, (int) z);
      }
}

gboolean
bs_mask_remove_islands (guint8 *on, const int dims[3], double min_fraction, BsCleanupStats *stats)
{
  const gsize nx = dims[0], ny = dims[1], nz = dims[2];
  int lo[3], hi[3], bd[3];
  g_autofree guint8 *box = NULL;
  gsize j = 0;

  if (nx * ny * nz == 0 || nx * ny * nz > G_MAXINT32)
    return remove_islands_in (on, dims, min_fraction, stats);
  mask_box (on, dims, lo, hi);
  if (hi[0] < 0)
    return remove_islands_in (on, dims, min_fraction, stats);
  /* No voxel outside the box is on, so the components inside it are the
   * volume's. */
  for (int a = 0; a < 3; a++)
    bd[a] = hi[a] - lo[a] + 1;
  box = g_try_malloc ((gsize) bd[0] * bd[1] * bd[2]);
  if (!box)
    return FALSE;
  for (int z = 0; z < bd[2]; z++)
    for (int y = 0; y < bd[1]; y++, j += bd[0])
      memcpy (box + j, on + ((gsize) (z + lo[2]) * ny + (gsize) (y + lo[1])) * nx + lo[0], bd[0]);
  if (!remove_islands_in (box, bd, min_fraction, stats))
    return FALSE;
  j = 0;
  for (int z = 0; z < bd[2]; z++)
    for (int y = 0; y < bd[1]; y++, j += bd[0])
      memcpy (on + ((gsize) (z + lo[2]) * ny + (gsize) (y + lo[1])) * nx + lo[0], box + j, bd[0]);
  return TRUE;
}

/* The voxel slices [z0, z1) (voxel axis 2) of v, clamped to its extent:
 * their dimensions in sub, the index of their first voxel in *first; returns
 * how many voxels they hold. */
static gsize
slices_of (const BsVolume *v, int z0, int z1, int sub[3], gsize *first)
{
  gsize plane = (gsize) v->dims[0] * v->dims[1];

  z0 = CLAMP (z0, 0, v->dims[2]);
  z1 = CLAMP (z1, z0, v->dims[2]);
  sub[0] = v->dims[0];
  sub[1] = v->dims[1];
  sub[2] = z1 - z0;
  *first = plane * z0;
  return plane * sub[2];
}

/* n bytes, 1 where data > 0.5 (in a mask); NULL when they cannot be allocated. */
static guint8 *
bytes_over_half (const float *data, gsize n)
{
  guint8 *on = g_try_malloc (MAX (n, 1));

  for (gsize v = 0; on != NULL && v < n; v++)
    on[v] = data[v] > 0.5f;
  return on;
}

gboolean
bs_volume_remove_islands_slices (BsVolume *mask, int z0, int z1, double min_fraction, BsCleanupStats *stats)
{
  int sub[3];
  gsize first, nvox = slices_of (mask, z0, z1, sub, &first);
  float *data = mask->data + first;
  g_autofree guint8 *on = bytes_over_half (data, nvox);

  if (!on)
    return FALSE;
  if (!bs_mask_remove_islands (on, sub, min_fraction, stats))
    return FALSE;
  for (gsize v = 0; v < nvox; v++)
    if (!on[v] && data[v] > 0.5f)
      data[v] = 0.0f;
  return TRUE;
}

gboolean
bs_volume_remove_islands (BsVolume *mask, double min_fraction, BsCleanupStats *stats)
{
  return bs_volume_remove_islands_slices (mask, 0, mask->dims[2], min_fraction, stats);
}

/* The holes of the slices [lo[axis], hi[axis]] of the box lo..hi across
 * voxel axis `axis`: each slice is copied into grid inside a ring of
 * background and a ring of wall (so that no step needs a bounds test), the
 * background reachable from the outer ring is marked, and what is left is a
 * hole: it becomes 2 in on (filled, still subject to `within`). */
static void
fill_slices (guint8 *on, const gsize st[3], const int lo[3], const int hi[3], int axis, guint8 *grid,
             gint32 *queue)
{
  const int ua = axis == 0 ? 1 : 0, va = axis == 2 ? 1 : 2;
  const int nu = hi[ua] - lo[ua] + 1, nv = hi[va] - lo[va] + 1, gu = nu + 4, gv = nv + 4;
  const gssize step[4] = { 1, -1, gu, -gu };

  for (int s = lo[axis]; s <= hi[axis]; s++)
    {
      guint8 *base = on + (gsize) s * st[axis] + (gsize) lo[ua] * st[ua] + (gsize) lo[va] * st[va];
      gsize head = 0, tail = 0;

      /* 0 background not reached, 1 mask or wall, 2 background reached */
      memset (grid, 0, (gsize) gu * gv);
      for (int u = 0; u < gu; u++)
        grid[u] = grid[(gsize) (gv - 1) * gu + u] = 1;
      for (int v = 0; v < gv; v++)
        grid[(gsize) v * gu] = grid[(gsize) v * gu + gu - 1] = 1;
      for (int v = 0; v < nv; v++)
        for (int u = 0; u < nu; u++)
          grid[(gsize) (v + 2) * gu + u + 2] = base[(gsize) u * st[ua] + (gsize) v * st[va]] != 0;
      grid[gu + 1] = 2;
      queue[tail++] = gu + 1;
      while (head < tail)
        {
          gsize c = (gsize) queue[head++];

          for (int d = 0; d < 4; d++)
            {
              gsize n = (gsize) ((gssize) c + step[d]);

              if (grid[n] == 0)
                {
                  grid[n] = 2;
                  queue[tail++] = (gint32) n;
                }
            }
        }
      for (int v = 0; v < nv; v++)
        for (int u = 0; u < nu; u++)
          if (grid[(gsize) (v + 2) * gu + u + 2] == 0)
            base[(gsize) u * st[ua] + (gsize) v * st[va]] = 2;
    }
}

gboolean
bs_mask_fill_plane_holes (guint8 *on, const int dims[3], const int order[3], const guint8 *within,
                          guint64 *filled)
{
  static const int voxel_order[3] = { 2, 1, 0 };
  const gsize nx = dims[0], ny = dims[1];
  const gsize st[3] = { 1, nx, nx * ny };
  int lo[3], hi[3];
  gsize most = 0;
  g_autofree guint8 *grid = NULL;
  g_autofree gint32 *queue = NULL;
  guint64 n = 0;

  if (filled)
    *filled = 0;
  mask_box (on, dims, lo, hi);
  if (hi[0] < 0)
    return TRUE;
  for (int a = 0; a < 3; a++)
    {
      int ua = a == 0 ? 1 : 0, va = a == 2 ? 1 : 2;
      gsize cells = (gsize) (hi[ua] - lo[ua] + 5) * (gsize) (hi[va] - lo[va] + 5);

      most = MAX (most, cells);
    }
  if (most > G_MAXINT32)
    return FALSE;
  grid = g_try_malloc (most);
  queue = g_try_new (gint32, most);
  if (!grid || !queue)
    return FALSE;
  if (order == NULL)
    order = voxel_order;
  for (int k = 0; k < 3; k++)
    fill_slices (on, st, lo, hi, CLAMP (order[k], 0, 2), grid, queue);
  for (gsize z = (gsize) lo[2]; z <= (gsize) hi[2]; z++)
    for (gsize y = (gsize) lo[1]; y <= (gsize) hi[1]; y++)
      for (gsize x = (gsize) lo[0]; x <= (gsize) hi[0]; x++)
        {
          gsize v = (z * ny + y) * nx + x;

          if (on[v] != 2)
            continue;
          on[v] = within == NULL || within[v] != 0;
          n += on[v];
        }
  if (filled)
    *filled = n;
  return TRUE;
}

gboolean
bs_volume_fill_plane_holes_slices (BsVolume *mask, const BsVolume *within, int z0, int z1, guint64 *filled)
{
  static const BsPlane planes[3] = { BS_PLANE_AXIAL, BS_PLANE_CORONAL, BS_PLANE_SAGITTAL };
  int sub[3], order[3];
  gsize first, nvox;
  g_autofree guint8 *on = NULL, *in = NULL;
  float *data;

  if (filled)
    *filled = 0;
  g_return_val_if_fail (within == NULL || bs_volume_n_voxels (within) == bs_volume_n_voxels (mask), FALSE);
  nvox = slices_of (mask, z0, z1, sub, &first);
  if (nvox == 0)
    return TRUE;
  data = mask->data + first;
  on = bytes_over_half (data, nvox);
  if (!on)
    return FALSE;
  if (within != NULL && !(in = bytes_over_half (within->data + first, nvox)))
    return FALSE;
  for (int k = 0; k < 3; k++)
    order[k] = bs_volume_slice_axis (mask, planes[k], 2);
  if (!bs_mask_fill_plane_holes (on, sub, order, in, filled))
    return FALSE;
  for (gsize v = 0; v < nvox; v++)
    if (on[v] && !(data[v] > 0.5f))
      data[v] = 1.0f;
  return TRUE;
}

gboolean
bs_volume_fill_plane_holes (BsVolume *mask, const BsVolume *within, guint64 *filled)
{
  return bs_volume_fill_plane_holes_slices (mask, within, 0, mask->dims[2], filled);
}

/* keep (the box lo + bd of the volume, x fastest): 1 where a core voxel
 * may stay.  Keeps only the core voxels it marks that a 26-connected path
 * of such voxels joins to an enhancing voxel: a piece of core cut off from
 * the rim by the trimming goes too (walk finding: specks of core with no
 * enhancement left in the views). */
static gboolean
keep_pieces_with_rim (const guint8 *core, const guint8 *enhancing, const int dims[3], const int lo[3],
                      const int bd[3], guint8 *keep)
{
  const gsize nx = dims[0], ny = dims[1], bn = (gsize) bd[0] * bd[1] * bd[2];
  g_autofree gint32 *queue = bn <= G_MAXINT32 ? g_try_new (gint32, bn) : NULL;
  gsize head = 0, tail = 0, j = 0;

  if (!queue)
    return FALSE;
  /* 0 goes, 1 may stay, 2 stays (reached from the rim; every enhancing
   * voxel is a start, in the core or not) */
  for (int z = 0; z < bd[2]; z++)
    for (int y = 0; y < bd[1]; y++)
      for (int x = 0; x < bd[0]; x++, j++)
        {
          gsize v = ((gsize) (z + lo[2]) * ny + (gsize) (y + lo[1])) * nx + (gsize) (x + lo[0]);

          keep[j] = keep[j] && core[v];
          if (enhancing[v])
            {
              keep[j] = 2;
              queue[tail++] = (gint32) j;
            }
        }
  while (head < tail)
    {
      gsize c = (gsize) queue[head++];
      int x = (int) (c % bd[0]), y = (int) (c / bd[0] % bd[1]), z = (int) (c / ((gsize) bd[0] * bd[1]));

      for (int dz = -1; dz <= 1; dz++)
        for (int dy = -1; dy <= 1; dy++)
          for (int dx = -1; dx <= 1; dx++)
            {
              int xx = x + dx, yy = y + dy, zz = z + dz;
              gsize m;

              if (xx < 0 || yy < 0 || zz < 0 || xx >= bd[0] || yy >= bd[1] || zz >= bd[2])
                continue;
              m = ((gsize) zz * bd[1] + (gsize) yy) * bd[0] + (gsize) xx;
              if (keep[m] == 1)
                {
                  keep[m] = 2;
                  queue[tail++] = (gint32) m;
                }
            }
    }
  for (gsize m = 0; m < bn; m++)
    keep[m] = keep[m] == 2;
  return TRUE;
}

gboolean
bs_mask_trim_core (guint8 *core, const guint8 *enhancing, const int dims[3], const int order[3],
                   const double spacing[3], double radius_mm, double min_share, guint64 *trimmed)
{
  const gsize nx = dims[0], ny = dims[1], nvox = nx * ny * (gsize) dims[2];
  int lo[3], hi[3], elo[3], ehi[3], bd[3];
  guint64 n_core = 0, n_enh = 0, n = 0;
  g_autofree guint8 *site = NULL;
  g_autofree double *d2 = NULL;
  gsize j = 0;

  if (trimmed)
    *trimmed = 0;
  for (gsize v = 0; v < nvox; v++)
    {
      n_core += core[v] != 0;
      n_enh += enhancing[v] != 0;
    }
  if (n_core == 0 || n_enh == 0 || (double) n_enh < min_share * (double) n_core)
    return TRUE;
  /* Distances inside the box that holds both masks: the nearest enhancing
   * voxel of a core voxel is in it. */
  mask_box (core, dims, lo, hi);
  mask_box (enhancing, dims, elo, ehi);
  for (int a = 0; a < 3; a++)
    {
      lo[a] = MIN (lo[a], elo[a]);
      hi[a] = MAX (hi[a], ehi[a]);
      bd[a] = hi[a] - lo[a] + 1;
    }
  site = g_try_malloc ((gsize) bd[0] * bd[1] * bd[2]);
  if (!site)
    return FALSE;
  for (int z = 0; z < bd[2]; z++)
    for (int y = 0; y < bd[1]; y++, j += bd[0])
      for (int x = 0; x < bd[0]; x++)
        site[j + x] = enhancing[((gsize) (z + lo[2]) * ny + (gsize) (y + lo[1])) * nx + (gsize) (x + lo[0])] != 0;
  if (!bs_mask_fill_plane_holes (site, bd, order, NULL, NULL))
    return FALSE;
  d2 = bs_metrics_distance_squared (site, bd, spacing);
  if (!d2)
    return FALSE;
  /* site now marks what stays: 1 near the rim, 0 elsewhere */
  for (gsize v = 0; v < (gsize) bd[0] * bd[1] * bd[2]; v++)
    site[v] = d2[v] <= radius_mm * radius_mm;
  g_clear_pointer (&d2, g_free);
  if (!keep_pieces_with_rim (core, enhancing, dims, lo, bd, site))
    return FALSE;
  j = 0;
  for (int z = 0; z < bd[2]; z++)
    for (int y = 0; y < bd[1]; y++, j += bd[0])
      for (int x = 0; x < bd[0]; x++)
        {
          guint8 *c = core + ((gsize) (z + lo[2]) * ny + (gsize) (y + lo[1])) * nx + (gsize) (x + lo[0]);

          if (*c && !site[j + x])
            {
              *c = 0;
              n++;
            }
        }
  if (trimmed)
    *trimmed = n;
  return TRUE;
}

gboolean
bs_volume_trim_core_slices (BsVolume *core, const BsVolume *enhancing, int z0, int z1, double radius_mm,
                            double min_share, guint64 *trimmed)
{
  static const BsPlane planes[3] = { BS_PLANE_AXIAL, BS_PLANE_CORONAL, BS_PLANE_SAGITTAL };
  int sub[3], order[3];
  gsize first, nvox;
  g_autofree guint8 *on = NULL, *enh = NULL;
  float *data;

  if (trimmed)
    *trimmed = 0;
  g_return_val_if_fail (bs_volume_n_voxels (enhancing) == bs_volume_n_voxels (core), FALSE);
  nvox = slices_of (core, z0, z1, sub, &first);
  if (nvox == 0)
    return TRUE;
  data = core->data + first;
  on = bytes_over_half (data, nvox);
  enh = bytes_over_half (enhancing->data + first, nvox);
  if (!on || !enh)
    return FALSE;
  for (int k = 0; k < 3; k++)
    order[k] = bs_volume_slice_axis (core, planes[k], 2);
  if (!bs_mask_trim_core (on, enh, sub, order, core->spacing, radius_mm, min_share, trimmed))
    return FALSE;
  for (gsize v = 0; v < nvox; v++)
    if (!on[v] && data[v] > 0.5f)
      data[v] = 0.0f;
  return TRUE;
}

gboolean
bs_volume_trim_core (BsVolume *core, const BsVolume *enhancing, double radius_mm, double min_share,
                     guint64 *trimmed)
{
  return bs_volume_trim_core_slices (core, enhancing, 0, core->dims[2], radius_mm, min_share, trimmed);
}
