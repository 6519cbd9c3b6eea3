/* int8 calibration: the slices of a case it looks at, and the ranges of every layer on them. */
#include "bs-calibration.h"

#include <glib/gi18n.h>
#include <math.h>

#include "bs-error.h"
#include "bs-parallel.h"
#include "bs-plan-private.h"
#include "bs-preprocess.h"
#include "bs-reference.h"

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

/* ---- the ranges, from the plain-C reference pass ---- */

#define CALIBRATION_CROP 144

static void
calibration_observe (int layer, const float *data, int c, int h, int w, gpointer user_data)
{
  BsCalibration *cal = user_data;
  float *slot = layer < 0 ? &cal->input_max : &cal->layer_max[layer];
  gsize n = (gsize) c * h * w;

  for (gsize i = 0; i < n; i++)
    *slot = MAX (*slot, fabsf (data[i]));
}

typedef struct {
  const BsUnet *net;
  const float *slices;
  int c, h, w, ch, cw;
  BsCalibration *per_slice;  /* one partial calibration per slice, merged afterwards */
} CalibrationJob;

static void
calibration_slice (int s, gpointer user_data)
{
  CalibrationJob *job = user_data;
  gsize plane = (gsize) job->ch * job->cw;
  g_autofree float *crop = g_new (float, (gsize) job->c * plane);
  g_autofree float *probs = g_new (float, (gsize) job->net->config.out_channels * plane);

  for (int k = 0; k < job->c; k++)
    bs_preprocess_crop_or_pad (job->slices + ((gsize) s * job->c + k) * job->h * job->w, job->w, job->h,
                               crop + (gsize) k * plane, job->cw, job->ch);
  bs_reference_forward_observed (job->net, crop, job->ch, job->cw, probs, calibration_observe, &job->per_slice[s]);
}

BsCalibration *
bs_calibration_compute (const BsUnet *net, const float *slices, int n, int h, int w, GError **error)
{
  BsCalibration *cal;
  CalibrationJob job;

  if (n < 1 || h % 16 != 0 || w % 16 != 0)
    {
      g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_SIZE,
                   _("Calibration needs at least one slice with height and width divisible by 16 (got %d of %dx%d)"),
                   n, w, h);
      return NULL;
    }
  cal = g_new0 (BsCalibration, 1);
  cal->n_layers = net->n_layers;
  cal->layer_max = g_new0 (float, net->n_layers);
  cal->n_slices = n;
  /* The ranges come from the brain in the middle of a slice; centre crops of
   * at most CALIBRATION_CROP keep the plain-C pass affordable on whole
   * 240x240 slices.  The slices run in parallel (the reference pass is
   * single-threaded), each into its own maxima. */
  job = (CalibrationJob) { net, slices, bs_unet_input_channels (&net->config), h, w, MIN (h, CALIBRATION_CROP),
                           MIN (w, CALIBRATION_CROP), g_new0 (BsCalibration, n) };
  for (int s = 0; s < n; s++)
    job.per_slice[s].layer_max = g_new0 (float, net->n_layers);
  bs_parallel_for (n, calibration_slice, &job);
  for (int s = 0; s < n; s++)
    {
      cal->input_max = MAX (cal->input_max, job.per_slice[s].input_max);
      for (int l = 0; l < net->n_layers; l++)
        cal->layer_max[l] = MAX (cal->layer_max[l], job.per_slice[s].layer_max[l]);
      g_free (job.per_slice[s].layer_max);
    }
  g_free (job.per_slice);
  return cal;
}

void
bs_calibration_free (BsCalibration *cal)
{
  if (!cal)
    return;
  g_free (cal->layer_max);
  g_free (cal);
}
