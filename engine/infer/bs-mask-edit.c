#include "bs-mask-edit.h"

#include <math.h>

/* The channels a stroke on region writes: painting, the region and those
 * around it (WT holds TC holds ET); erasing, the region and those inside. */
static int
stroke_channels (const int channels[BS_N_REGIONS], BsRegion region, gboolean erase, int out[BS_N_REGIONS])
{
  int n = 0;

  for (int r = 0; r < BS_N_REGIONS; r++)
    if (channels[r] >= 0 && (erase ? r >= (int) region : r <= (int) region))
      out[n++] = channels[r];
  return n;
}

int
bs_mask_edit_disk (BsVolume *prob, const int channels[BS_N_REGIONS], BsRegion region, gboolean erase,
                   BsPlane plane, int index, double x, double y, double radius, GArray *changes)
{
  int chans[BS_N_REGIONS], n_chans, w, h, covered = 0;
  double aspect, ry;
  gsize nvox;
  float value = erase ? 0.0f : 1.0f;

  g_return_val_if_fail (prob != NULL && channels != NULL && changes != NULL, 0);
  g_return_val_if_fail (region >= 0 && region < BS_N_REGIONS && channels[region] >= 0, 0);
  if (index < 0 || index >= bs_volume_n_slices (prob, plane) || !(radius > 0))
    return 0;
  n_chans = stroke_channels (channels, region, erase, chans);
  bs_volume_slice_size (prob, plane, &w, &h);
  aspect = bs_volume_pixel_aspect (prob, plane);
  ry = radius / (aspect > 0 ? aspect : 1.0);
  nvox = bs_volume_n_voxels (prob);
  for (int py = MAX (0, (int) floor (y - ry)); py <= MIN (h - 1, (int) ceil (y + ry)); py++)
    for (int px = MAX (0, (int) floor (x - radius)); px <= MIN (w - 1, (int) ceil (x + radius)); px++)
      {
        /* pixel centres inside the ellipse (round on screen) */
        double dx = (px + 0.5 - x) / radius, dy = (py + 0.5 - y) / ry;
        int ijk[3];
        gsize v;

        if (dx * dx + dy * dy > 1.0)
          continue;
        covered++;
        bs_volume_slice_to_voxel (prob, plane, index, px, py, ijk);
        v = ((gsize) ijk[2] * prob->dims[1] + ijk[1]) * prob->dims[0] + ijk[0];
        for (int c = 0; c < n_chans; c++)
          {
            gsize at = (gsize) chans[c] * nvox + v;
            BsMaskEditVoxel e = { at, prob->data[at], value };

            if (prob->data[at] == value)
              continue;
            prob->data[at] = value;
            g_array_append_val (changes, e);
          }
      }
  return covered;
}

gsize
bs_mask_edit_from_label (const BsVolume *prob, const int channels[BS_N_REGIONS], const BsVolume *label,
                         BsLabelConvention conv, GArray *changes, gboolean *ok)
{
  gboolean tells[BS_N_REGIONS];
  gsize nvox, wt_changed = 0;

  g_return_val_if_fail (prob != NULL && channels != NULL && label != NULL && changes != NULL && ok != NULL, 0);
  *ok = label->n_channels == 1 && label->dims[0] == prob->dims[0] && label->dims[1] == prob->dims[1]
        && label->dims[2] == prob->dims[2];
  if (!*ok)
    return 0;
  for (int r = 0; r < BS_N_REGIONS; r++)
    tells[r] = r == BS_REGION_WT || bs_labels_has_region (conv, r);
  nvox = bs_volume_n_voxels (prob);
  for (gsize v = 0; v < nvox; v++)
    {
      int value = (int) lrintf (label->data[v]);

      for (int r = 0; r < BS_N_REGIONS; r++)
        {
          gsize at;
          gboolean want, on;

          if (channels[r] < 0)
            continue;
          at = (gsize) channels[r] * nvox + v;
          on = prob->data[at] > 0.5f;
          /* no core outside the tumour; inside, what the file cannot tell stays */
          want = r == BS_REGION_WT ? value > 0 : tells[r] ? bs_labels_in_region (conv, r, value) : on && value > 0;
          if (want == on)
            continue;
          {
            BsMaskEditVoxel e = { at, prob->data[at], want ? 1.0f : 0.0f };

            g_array_append_val (changes, e);
          }
          if (r == BS_REGION_WT)
            wt_changed++;
        }
    }
  return wt_changed;
}

void
bs_mask_edit_apply (BsVolume *prob, const GArray *changes, gboolean undo)
{
  g_return_if_fail (prob != NULL && changes != NULL);
  if (undo)
    for (guint i = changes->len; i-- > 0;)
      {
        const BsMaskEditVoxel *e = &g_array_index (changes, BsMaskEditVoxel, i);
        prob->data[e->index] = e->before;
      }
  else
    for (guint i = 0; i < changes->len; i++)
      {
        const BsMaskEditVoxel *e = &g_array_index (changes, BsMaskEditVoxel, i);
        prob->data[e->index] = e->after;
      }
}

gboolean
bs_mask_edit_slices (const BsVolume *prob, const GArray *changes, guint from, BsPlane plane, int *first, int *last)
{
  int axis = bs_volume_slice_axis (prob, plane, 2), n = bs_volume_n_slices (prob, plane);
  gsize nvox = bs_volume_n_voxels (prob);
  int lo = G_MAXINT, hi = -1;

  for (guint i = from; i < changes->len; i++)
    {
      gsize v = g_array_index (changes, BsMaskEditVoxel, i).index % nvox;
      int ijk[3] = { (int) (v % prob->dims[0]), (int) (v / prob->dims[0] % prob->dims[1]),
                     (int) (v / ((gsize) prob->dims[0] * prob->dims[1])) };

      lo = MIN (lo, ijk[axis]);
      hi = MAX (hi, ijk[axis]);
    }
  if (hi < 0)
    return FALSE;
  /* slice indices run along the axis, or against it where the plane flips it */
  {
    int ijk0[3], a, b;

    bs_volume_slice_to_voxel (prob, plane, 0, 0, 0, ijk0);
    a = ijk0[axis] == 0 ? lo : n - 1 - lo;
    b = ijk0[axis] == 0 ? hi : n - 1 - hi;
    *first = MIN (a, b);
    *last = MAX (a, b);
  }
  return TRUE;
}
