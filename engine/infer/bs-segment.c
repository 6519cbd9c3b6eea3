/* The segmentation pipeline: prepared case -> probabilities -> mask -> clean-up -> metrics. */
#include "bs-segment.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "bs-calibration.h"
#include "bs-error.h"
#include "bs-parallel.h"

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
  /* region_mask[BS_REGION_WT] is mask */
  for (int k = 0; k < BS_N_REGIONS; k++)
    if (result->region_mask[k] != result->mask)
      bs_volume_free (result->region_mask[k]);
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

/* Which channel of prob holds which region: channel 0 is the whole tumour;
 * the others by name ("tc", "et"), else by index. */
static void
find_region_channels (const BsVolume *prob, int *channel)
{
  for (int k = 0; k < BS_N_REGIONS; k++)
    channel[k] = -1;
  channel[BS_REGION_WT] = 0;
  for (int c = 1; c < prob->n_channels; c++)
    {
      const char *name = prob->channel_names ? prob->channel_names[c] : NULL;
      int region = -1;

      for (int k = BS_REGION_TC; k < BS_N_REGIONS && name; k++)
        if (g_ascii_strcasecmp (name, bs_region_name (k)) == 0)
          region = k;
      if (region < 0 && c < BS_N_REGIONS)
        region = c;
      if (region > 0 && channel[region] < 0)
        channel[region] = c;
    }
}

static void
clear_regions (BsSegmentResult *r)
{
  for (int k = 0; k < BS_N_REGIONS; k++)
    {
      if (r->region_mask[k] != r->mask)
        bs_volume_free (r->region_mask[k]);
      r->region_mask[k] = NULL;
      r->region_voxels[k] = 0;
      r->region_has_truth[k] = FALSE;
      r->region_confusion[k] = (BsConfusion) { 0 };
      r->region_dice[k] = NAN;
    }
}

/* P(region) > 0.5 inside the enclosing region's mask. */
static BsVolume *
nested_mask (const BsVolume *prob, int channel, const BsVolume *inside, guint64 *on)
{
  gsize nvox = bs_volume_n_voxels (prob);
  const float *p = bs_volume_channel (prob, channel);
  BsVolume *m = bs_volume_new_like (prob, 1);

  if (m == NULL)
    return NULL;
  m->is_label = TRUE;
  *on = 0;
  for (gsize i = 0; i < nvox; i++)
    {
      gboolean v = p[i] > 0.5f && inside->data[i] > 0.5f;
      m->data[i] = v ? 1.0f : 0.0f;
      *on += v;
    }
  return m;
}

/* The tumour core and enhancing tumour masks, nested in the cleaned whole
 * tumour, and their metrics against the truths given. */
static gboolean
finish_regions (BsSegmentResult *r, const BsVolume *const *truth, BsPlane plane, const guint8 *slices,
                GError **error)
{
  double t1 = bs_now_ms ();

  r->n_outputs = r->prob->n_channels;
  find_region_channels (r->prob, r->region_channel);
  r->region_mask[BS_REGION_WT] = r->mask;
  r->region_voxels[BS_REGION_WT] = r->tumour_voxels;
  for (int k = BS_REGION_TC; k < BS_N_REGIONS; k++)
    {
      const BsVolume *inside;

      if (r->region_channel[k] < 0)
        continue;
      /* ET sits in TC; without a TC output, in WT. */
      inside = k == BS_REGION_ET && r->region_mask[BS_REGION_TC] ? r->region_mask[BS_REGION_TC] : r->mask;
      r->region_mask[k] = nested_mask (r->prob, r->region_channel[k], inside, &r->region_voxels[k]);
      if (r->region_mask[k] == NULL)
        {
          g_set_error_literal (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                               _("Out of memory for the tumour region masks"));
          return FALSE;
        }
    }
  for (int k = 0; k < BS_N_REGIONS; k++)
    {
      if (r->region_mask[k] == NULL || truth == NULL || truth[k] == NULL)
        continue;
      r->region_has_truth[k] = TRUE;
      if (k == BS_REGION_WT)
        r->region_confusion[k] = r->confusion;
      else
        confusion_over (r->region_mask[k], truth[k], plane, slices, &r->region_confusion[k]);
      r->region_dice[k] = bs_confusion_dice (&r->region_confusion[k]);
    }
  if (r->n_outputs > 1)
    bs_timing_add_stage (&r->timing, "regions", bs_now_ms () - t1);
  return TRUE;
}

gboolean
bs_segment_finish (BsSegmentResult *r, const BsVolume *truth, BsPlane plane, const guint8 *slices, gboolean cleanup,
                   GError **error)
{
  const BsVolume *truths[BS_N_REGIONS] = { truth, NULL, NULL };

  return bs_segment_finish_regions (r, truths, plane, slices, cleanup, error);
}

gboolean
bs_segment_finish_regions (BsSegmentResult *r, const BsVolume *const *truths, BsPlane plane, const guint8 *slices,
                           gboolean cleanup, GError **error)
{
  const BsVolume *truth = truths ? truths[BS_REGION_WT] : NULL;
  gsize nvox;
  double t1;

  r->dice = r->dice_raw = NAN;
  r->tumour_voxels = 0;
  r->has_truth = FALSE;
  clear_regions (r);
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
  return finish_regions (r, truths, plane, slices, error);
}

typedef struct {
  BsInferProgress fn;
  gpointer data;
  int offset, total;
} PlanesProgress;

static void
planes_progress (int done, int total, gpointer user_data)
{
  PlanesProgress *pp = user_data;

  (void) total;
  pp->fn (pp->offset + done, pp->total, pp->data);
}

int
bs_segment_other_planes_slices (const BsVolume *prepared, BsPlane plane)
{
  int n = 0;

  for (int p = 0; p < 3; p++)
    if ((BsPlane) p != plane)
      n += bs_volume_n_slices (prepared, (BsPlane) p);
  return n;
}

/* dst[i] += add[i], or with add NULL dst[i] /= scale, over [begin, end). */
typedef struct {
  float *dst;
  const float *add;
  float scale;
} AddJob;

static void
add_range (int begin, int end, gpointer user_data)
{
  AddJob *job = user_data;

  if (job->add != NULL)
    for (int i = begin; i < end; i++)
      job->dst[i] += job->add[i];
  else
    for (int i = begin; i < end; i++)
      job->dst[i] = job->dst[i] / job->scale;
}

gboolean
bs_segment_average_planes (const BsUnet *net, const BsVolume *prepared, BsPlane plane, const BsPlanOptions *opts,
                           const BsCalibration *cal, BsVolume *prob, BsTiming *timing, BsInferProgress progress,
                           gpointer user_data, int done_before, int total, GCancellable *cancellable, GError **error)
{
  gsize n = bs_volume_n_voxels (prob) * (gsize) prob->n_channels;
  g_autoptr(BsVolume) pass = NULL;
  PlanesProgress pp = { progress, user_data, done_before, total };
  BsTiming own;
  AddJob add = { prob->data, NULL, 3.0f };
  double t0;

  if (timing == NULL)
    {
      bs_timing_reset (&own);
      timing = &own;
    }
  /* One volume for both passes: bs_infer_slices writes every slice of it
   * (0 where nothing ran), so the second pass needs no clearing. */
  pass = bs_volume_new_like (prob, prob->n_channels);
  if (pass == NULL)
    {
      g_set_error_literal (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                           _("Out of memory for the probability volume"));
      return FALSE;
    }
  add.add = pass->data;
  for (int p = 0; p < 3; p++)
    {
      g_autoptr(BsInferGeometry) geom = NULL;
      g_autoptr(BsPlan) plan = NULL;

      if ((BsPlane) p == plane)
        continue;
      t0 = bs_now_ms ();
      geom = bs_infer_geometry_new_for_net (net, prepared, (BsPlane) p, opts->crop_to_brain);
      bs_timing_add_stage (timing, "preprocess", bs_now_ms () - t0);
      plan = bs_plan_new (net, geom->ph, geom->pw, opts, cal, error);
      if (plan == NULL)
        return FALSE;
      if (!bs_infer_slices (plan, prepared, geom, NULL, pass, timing, progress ? planes_progress : NULL, &pp,
                            cancellable, error))
        return FALSE;
      pp.offset += geom->n_slices;
      t0 = bs_now_ms ();
      /* (plane + first other) + second other, in this order everywhere */
      bs_parallel_for_range ((int) n, 1 << 16, add_range, &add);
      bs_timing_add_stage (timing, "planes", bs_now_ms () - t0);
    }
  t0 = bs_now_ms ();
  add.add = NULL;
  bs_parallel_for_range ((int) n, 1 << 16, add_range, &add);
  bs_timing_add_stage (timing, "planes", bs_now_ms () - t0);
  return TRUE;
}

BsSegmentResult *
bs_segment (const BsUnet *net, const BsVolume *prepared, const BsVolume *truth, const BsSegmentOptions *opts,
            BsInferProgress progress, gpointer user_data, GCancellable *cancellable, GError **error)
{
  const BsVolume *truths[BS_N_REGIONS] = { truth, NULL, NULL };

  return bs_segment_regions (net, prepared, truths, opts, progress, user_data, cancellable, error);
}

BsSegmentResult *
bs_segment_regions (const BsUnet *net, const BsVolume *prepared, const BsVolume *const *truth,
                    const BsSegmentOptions *opts, BsInferProgress progress, gpointer user_data,
                    GCancellable *cancellable, GError **error)
{
  g_autoptr(BsSegmentResult) r = g_new0 (BsSegmentResult, 1);
  g_autoptr(BsCalibration) cal = NULL;
  g_autoptr(BsPlan) plan = NULL;
  double t0;

  bs_timing_reset (&r->timing);
  r->dice = r->dice_raw = NAN;
  t0 = bs_now_ms ();
  r->geom = bs_infer_geometry_new_for_net (net, prepared, opts->plane, opts->plan.crop_to_brain);
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
  r->prob = bs_volume_new_like (prepared, net->config.out_channels);
  if (r->prob == NULL)
    {
      g_set_error_literal (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                           _("Out of memory for the probability volume"));
      return NULL;
    }
  /* Region names tell bs_segment_finish which channel is which. */
  for (int c = 0; c < net->config.out_channels; c++)
    {
      g_free (r->prob->channel_names[c]);
      r->prob->channel_names[c] = g_strdup (net->config.outputs && net->config.outputs[c] ? net->config.outputs[c]
                                                                                          : bs_region_name (c));
    }
  r->three_planes = opts->plan.three_planes && opts->slices == NULL;
  if (r->three_planes)
    {
      PlanesProgress pp = { progress, user_data, 0, r->n_selected + bs_segment_other_planes_slices (prepared, opts->plane) };

      if (!bs_infer_slices (plan, prepared, r->geom, NULL, r->prob, &r->timing, progress ? planes_progress : NULL,
                            &pp, cancellable, error))
        return NULL;
      g_clear_pointer (&plan, bs_plan_free);
      if (!bs_segment_average_planes (net, prepared, opts->plane, &opts->plan, cal, r->prob, &r->timing, progress,
                                      user_data, r->n_selected, pp.total, cancellable, error))
        return NULL;
    }
  else if (!bs_infer_slices (plan, prepared, r->geom, opts->slices, r->prob, &r->timing, progress, user_data,
                             cancellable, error))
    return NULL;

  if (!bs_segment_finish_regions (r, truth, opts->plane, opts->slices, opts->cleanup, error))
    return NULL;
  r->run_ms = bs_now_ms () - t0;
  return g_steal_pointer (&r);
}

BsVolume *
bs_segment_label_map (const BsSegmentResult *r, BsLabelConvention conv, GError **error)
{
  const BsVolume *tc = r->region_mask[BS_REGION_TC], *et = r->region_mask[BS_REGION_ET];
  BsVolume *map;

  g_return_val_if_fail (r->mask != NULL, NULL);
  if (conv == BS_LABELS_UNKNOWN)
    {
      g_set_error_literal (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                           _("A label map needs a known label convention"));
      return NULL;
    }
  if (conv != BS_LABELS_BINARY && (tc == NULL || et == NULL))
    {
      if (r->n_outputs <= 1)
        g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                     _("The model predicts the whole tumour only: labels in the %s convention need tumour core "
                       "and enhancing tumour outputs"), bs_labels_convention_name (conv));
      else
        g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                     _("The model does not predict both tumour core and enhancing tumour: labels in the %s "
                       "convention need both"), bs_labels_convention_name (conv));
      return NULL;
    }
  map = bs_labels_from_regions (r->mask, tc, et, conv);
  if (map == NULL)
    g_set_error_literal (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE, _("Out of memory for the label map"));
  return map;
}
