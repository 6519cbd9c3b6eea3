/* Connected components by breadth-first flood fill over 26 neighbours: one
 * int32 label per voxel and one queue, both as long as the box that holds
 * the mask (a tumour's box, not the whole head). */
#include "bs-postprocess.h"
#include "bs-metrics.h"

#include <string.h>

static gboolean
remove_islands_in (guint8 *on, const int dims[3], double min_fraction, BsCleanupStats *stats)
{
  const int nx = dims[0], ny = dims[1], nz = dims[2];
  const gsize nvox = (gsize) nx * ny * nz, slab = (gsize) nx * ny;
  BsCleanupStats st = { 0, 0, 0, 0 };
  gint32 *label, *queue;
  GArray *sizes;
  guint64 threshold;

  if (stats)
    *stats = st;
  if (nvox == 0 || nvox > G_MAXINT32)
    return nvox == 0;
  label = g_try_new0 (gint32, nvox);
  queue = g_try_new (gint32, nvox);
  if (!label || !queue)
    {
      g_free (label);
      g_free (queue);
      return FALSE;
    }
  sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_array_append_val (sizes, st.largest); /* label 0 = background */

  for (gsize seed = 0; seed < nvox; seed++)
    {
      gsize head = 0, tail = 0;
      guint64 size = 0;
      gint32 id;

      if (!on[seed] || label[seed])
        continue;
      id = (gint32) sizes->len;
      label[seed] = id;
      queue[tail++] = (gint32) seed;
      while (head < tail)
        {
          gsize v = (gsize) queue[head++];
          int i = (int) (v % (gsize) nx), j = (int) ((v / (gsize) nx) % (gsize) ny), k = (int) (v / slab);

          size++;
          for (int dk = -1; dk <= 1; dk++)
            {
              if (k + dk < 0 || k + dk >= nz)
                continue;
              for (int dj = -1; dj <= 1; dj++)
                {
                  if (j + dj < 0 || j + dj >= ny)
                    continue;
                  for (int di = -1; di <= 1; di++)
                    {
                      gsize w;
                      if (i + di < 0 || i + di >= nx)
                        continue;
                      w = (gsize) (k + dk) * slab + (gsize) (j + dj) * nx + (gsize) (i + di);
                      if (on[w] && !label[w])
                        {
                          label[w] = id;
                          queue[tail++] = (gint32) w;
                        }
                    }
                }
            }
        }
      g_array_append_val (sizes, size);
      st.largest = MAX (st.largest, size);
    }

  st.n_components = (int) sizes->len - 1;
  threshold = (guint64) (min_fraction * (double) st.largest);
  for (guint c = 1; c < sizes->len; c++)
    st.n_kept += g_array_index (sizes, guint64, c) >= threshold;
  for (gsize v = 0; v < nvox; v++)
    if (label[v] && g_array_index (sizes, guint64, label[v]) < threshold)
      {
        on[v] = 0;
        st.removed++;
      }
  g_array_unref (sizes);
  g_free (label);
  g_free (queue);
  if (stats)
    *stats = st;
  return TRUE;
}

gboolean
bs_mask_remove_islands (guint8 *on, const int dims[3], double min_fraction, BsCleanupStats *stats)
{
  const gsize nx = dims[0], ny = dims[1], nz = dims[2];
  int lo[3] = { dims[0], dims[1], dims[2] }, hi[3] = { -1, -1, -1 }, bd[3];
  g_autofree guint8 *box = NULL;
  gsize j = 0;

  if (nx * ny * nz == 0 || nx * ny * nz > G_MAXINT32)
    return remove_islands_in (on, dims, min_fraction, stats);
  for (gsize z = 0; z < nz; z++)
    for (gsize y = 0; y < ny; y++)
      {
        const guint8 *row = on + (z * ny + y) * nx;

        for (gsize x = 0; x < nx; x++)
          if (row[x])
            bs_box_include (lo, hi, (int) x, (int) y, (int) z);
      }
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

gboolean
bs_volume_remove_islands (BsVolume *mask, double min_fraction, BsCleanupStats *stats)
{
  gsize nvox = bs_volume_n_voxels (mask);
  g_autofree guint8 *on = g_try_malloc (MAX (nvox, 1));

  if (!on)
    return FALSE;
  for (gsize v = 0; v < nvox; v++)
    on[v] = mask->data[v] > 0.5f;
  if (!bs_mask_remove_islands (on, mask->dims, min_fraction, stats))
    return FALSE;
  for (gsize v = 0; v < nvox; v++)
    if (!on[v] && mask->data[v] > 0.5f)
      mask->data[v] = 0.0f;
  return TRUE;
}
