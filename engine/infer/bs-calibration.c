/* int8 calibration: the slices of a case it looks at, and the ranges of every layer on them. */
#include "bs-calibration.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdlib.h>

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
bs_calibration_new_stored (const BsUnet *net)
{
  BsCalibration *cal;

  if (net->calibration == NULL)
    return NULL;
  cal = g_new0 (BsCalibration, 1);
  cal->n_layers = net->n_layers;
  cal->input_max = net->calibration[0];
  cal->layer_max = g_memdup2 (net->calibration + 1, (gsize) net->n_layers * sizeof (float));
  cal->n_cases = MAX (1, net->calibration_cases);
  return cal;
}

int
bs_calibration_get_cases (const BsCalibration *cal)
{
  return cal->n_cases;
}

int
bs_calibration_get_slices (const BsCalibration *cal)
{
  return cal->n_slices;
}

char *
bs_calibration_describe_counts (int cases, int slices)
{
  if (cases > 0)
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "int8 ranges stored with the model (median of %d case)",
                                         "int8 ranges stored with the model (median of %d cases)", cases),
                            cases);
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "int8 ranges measured on %d slice of this case",
                                       "int8 ranges measured on %d slices of this case", slices),
                          slices);
}

char *
bs_calibration_describe (const BsCalibration *cal)
{
  return bs_calibration_describe_counts (cal->n_cases, cal->n_slices);
}

static int
compare_floats (gconstpointer a, gconstpointer b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return (x > y) - (x < y);
}

static float
median (float *v, int n)
{
  qsort (v, n, sizeof *v, compare_floats);
  return n % 2 ? v[n / 2] : 0.5f * (v[n / 2 - 1] + v[n / 2]);
}

void
bs_calibration_median (const BsUnet *net, BsCalibration *const *cases, int n, float *values)
{
  g_autofree float *v = g_new (float, MAX (n, 1));

  g_return_if_fail (n > 0);
  for (int i = 0; i < n; i++)
    v[i] = cases[i]->input_max;
  values[0] = median (v, n);
  for (int l = 0; l < net->n_layers; l++)
    {
      for (int i = 0; i < n; i++)
        v[i] = cases[i]->layer_max[l];
      values[1 + l] = median (v, n);
    }
}

BsCalibration *
bs_calibration_new_for_case (const BsUnet *net, const BsVolume *prepared, const BsInferGeometry *geom,
                             gboolean per_case, GError **error)
{
  int picks[BS_CALIBRATION_SLICES], n_pick;
  gsize per = bs_infer_slice_floats (prepared, geom);
  g_autofree float *input = NULL;

  /* Stored: measured once on many cases, none of them computed here (the
   * plain-C pass below is a tenth of an int8 volume's time). */
  if (!per_case && net->calibration != NULL)
    return bs_calibration_new_stored (net);
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
