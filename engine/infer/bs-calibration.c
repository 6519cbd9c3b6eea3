/* int8 calibration slices of a case. */
#include "bs-calibration.h"

#include <glib/gi18n.h>

#include "bs-error.h"

int
bs_calibration_pick_slices (const BsVolume *prepared, const BsInferGeometry *geom, int *picks)
{
  const int want = BS_CALIBRATION_SLICES;
  int n = geom->n_slices, cmax = 0, n_candidates = 0, n_pick = 0;
  gsize plane_px = (gsize) geom->width * geom->height;
  g_autofree float *slice = g_new (float, plane_px);
  g_autofree gsize *count = g_new0 (gsize, MAX (n, 1));

  for (int s = 0; s < n; s++)
    {
      bs_volume_get_slice (prepared, 0, geom->plane, s, slice);
      for (gsize p = 0; p < plane_px; p++)
        count[s] += slice[p] != 0.0f;
      cmax = MAX (cmax, (int) count[s]);
    }
  /* Slices at the brain's top and bottom hold little tissue: their ranges
   * would not represent the slices where the tumour is. */
  for (int s = 0; s < n; s++)
    n_candidates += count[s] > 0 && count[s] * 4 >= (gsize) cmax;
  for (int s = 0, seen = 0; s < n && n_pick < want; s++)
    {
      if (!(count[s] > 0 && count[s] * 4 >= (gsize) cmax))
        continue;
      if (n_candidates <= want || seen * want / n_candidates != (seen + 1) * want / n_candidates)
        picks[n_pick++] = s;
      seen++;
    }
  return n_pick;
}

BsCalibration *
bs_calibration_new_for_case (const BsUnet *net, const BsVolume *prepared, const BsInferGeometry *geom,
                             GError **error)
{
  int picks[BS_CALIBRATION_SLICES], n_pick;
  gsize per = bs_infer_slice_floats (prepared, geom);
  g_autofree float *input = NULL;

  n_pick = bs_calibration_pick_slices (prepared, geom, picks);
  if (n_pick == 0)
    {
      g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                   _("int8 needs calibration slices, but this case has no brain voxels to calibrate on"));
      return NULL;
    }
  input = g_new (float, per * n_pick);
  for (int i = 0; i < n_pick; i++)
    bs_infer_fill_slice (prepared, geom, picks[i], input + per * i);
  return bs_calibration_compute (net, input, n_pick, geom->ph, geom->pw, error);
}
