/* The segmentation pipeline: prepared case -> probabilities -> mask -> clean-up -> metrics. */
#include "bs-segment.h"

#include <glib/gi18n.h>
#include <math.h>

#include "bs-calibration.h"
#include "bs-error.h"

void
bs_segment_options_init (BsSegmentOptions *opts)
{
  bs_plan_options_init (&opts->plan);
  opts->plane = BS_INFER_NET_PLANE;
  opts->cleanup = TRUE;
  opts->slices = NULL;
}

void
bs_segment_result_free (BsSegmentResult *result)
{
  if (result == NULL)
    return;
  bs_infer_geometry_free (result->geom);
  bs_volume_free (result->prob);
  bs_volume_free (result->mask);
  g_free (result);
}

/* Counts of mask against truth over the selected slices of the plane (all
 * of them when selected is NULL). */
static void
confusion_over (const BsVolume *mask, const BsVolume *truth, BsPlane plane, const guint8 *selected,
                BsConfusion *c)
{
  int w, h, n = bs_volume_n_slices (mask, plane);

  *c = (BsConfusion) { 0 };
  if (selected == NULL)
    {
      bs_confusion_add (c, mask->data, truth->data, bs_volume_n_voxels (mask));
      return;
    }
  bs_volume_slice_size (mask, plane, &w, &h);
  g_autofree float *a = g_new (float, (gsize) w * h);
  g_autofree float *t = g_new (float, (gsize) w * h);
  for (int k = 0; k < n; k++)
    if (selected[k])
      {
        bs_volume_get_slice (mask, 0, plane, k, a);
        bs_volume_get_slice (truth, 0, plane, k, t);
        bs_confusion_add (c, a, t, (gsize) w * h);
      }
}

gboolean
bs_segment_finish (BsSegmentResult *r, const BsVolume *truth, BsPlane plane, const guint8 *slices, gboolean cleanup,
                   GError **error)
{
  gsize nvox;
  double t1;

  r->dice = r->dice_raw = NAN;
  r->tumour_voxels = 0;
  r->has_truth = FALSE;
  g_clear_pointer (&r->mask, bs_volume_free);
  t1 = bs_now_ms ();
  nvox = bs_volume_n_voxels (r->prob);
  r->mask = bs_volume_new_like (r->prob, 1);
  r->mask->is_label = TRUE;
  for (gsize i = 0; i < nvox; i++)
    {
      gboolean on = r->prob->data[i] > 0.5f;

      r->mask->data[i] = on ? 1.0f : 0.0f;
      r->tumour_voxels += on;
    }
  bs_timing_add_stage (&r->timing, "threshold", bs_now_ms () - t1);
  if (truth)
    {
      r->has_truth = TRUE;
      confusion_over (r->mask, truth, plane, slices, &r->confusion_raw);
      r->confusion = r->confusion_raw;
    }
  if (cleanup)
    {
      t1 = bs_now_ms ();
      if (!bs_volume_remove_islands (r->mask, BS_CLEANUP_MIN_FRACTION, &r->cleanup))
        {
          g_set_error_literal (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                               _("Out of memory for the island clean-up"));
          return FALSE;
        }
      r->cleaned = TRUE;
      r->tumour_voxels -= r->cleanup.removed;
      bs_timing_add_stage (&r->timing, "cleanup", bs_now_ms () - t1);
      if (truth)
        confusion_over (r->mask, truth, plane, slices, &r->confusion);
    }
  if (truth)
    {
      r->dice_raw = bs_confusion_dice (&r->confusion_raw);
      r->dice = bs_confusion_dice (&r->confusion);
    }
  return TRUE;
}

BsSegmentResult *
bs_segment (const BsUnet *net, const BsVolume *prepared, const BsVolume *truth, const BsSegmentOptions *opts,
            BsInferProgress progress, gpointer user_data, GCancellable *cancellable, GError **error)
{
  g_autoptr(BsSegmentResult) r = g_new0 (BsSegmentResult, 1);
  g_autoptr(BsCalibration) cal = NULL;
  g_autoptr(BsPlan) plan = NULL;
  double t0;

  bs_timing_reset (&r->timing);
  r->dice = r->dice_raw = NAN;
  t0 = bs_now_ms ();
  r->geom = bs_infer_geometry_new (prepared, opts->plane, opts->plan.crop_to_brain);
  bs_timing_add_stage (&r->timing, "preprocess", bs_now_ms () - t0);
  for (int k = 0; k < r->geom->n_slices; k++)
    if (opts->slices == NULL || opts->slices[k])
      {
        r->n_selected++;
        r->n_run += r->geom->brain[k];
      }

  t0 = bs_now_ms ();
  if (opts->plan.precision == BS_PRECISION_INT8)
    {
      cal = bs_calibration_new_for_case (net, prepared, r->geom, error);
      if (cal == NULL)
        return NULL;
    }
  plan = bs_plan_new (net, r->geom->ph, r->geom->pw, &opts->plan, cal, error);
  if (plan == NULL)
    return NULL;
  r->threads = bs_plan_get_threads (plan);
  r->plan_ms = bs_now_ms () - t0;

  t0 = bs_now_ms ();
  r->prob = bs_volume_new_like (prepared, 1);
  if (!bs_infer_slices (plan, prepared, r->geom, opts->slices, r->prob, &r->timing, progress, user_data,
                        cancellable, error))
    return NULL;

  if (!bs_segment_finish (r, truth, opts->plane, opts->slices, opts->cleanup, error))
    return NULL;
  r->run_ms = bs_now_ms () - t0;
  return g_steal_pointer (&r);
}
