#include <glib/gi18n.h>
#include <string.h>

#include "bs-error.h"
#include "bs-infer.h"
#include "bs-inference-worker.h"
#include "bs-labels.h"
#include "bs-segment.h"
#include "bs-session-private.h"

GParamSpec *bs_session_properties[N_PROPS];
guint bs_session_signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (BsSession, bs_session, G_TYPE_OBJECT)

void
bs_session_notify (BsSession *self, int prop)
{
  g_object_notify_by_pspec (G_OBJECT (self), bs_session_properties[prop]);
}

void
bs_session_set_activity (BsSession *self, const char *text)
{
  if (g_strcmp0 (self->activity, text) == 0)
    return;
  g_free (self->activity);
  self->activity = g_strdup (text);
  bs_session_notify (self, PROP_ACTIVITY);
}

void
bs_session_emit_failed (BsSession *self, BsSessionFailure what, const char *title, const GError *error)
{
  g_signal_emit (self, bs_session_signals[SIGNAL_FAILED], 0, (guint) what, title, error);
}

/* ---- Counting ---- */

int
bs_session_get_n_slices (BsSession *self)
{
  return self->bcase != NULL ? bs_volume_n_slices (self->bcase->image, self->plane) : 0;
}

int
bs_session_get_n_net_slices (BsSession *self)
{
  return self->bcase != NULL ? bs_volume_n_slices (self->bcase->image, self->net_plane) : 0;
}

gboolean
bs_session_volume_complete (BsSession *self)
{
  return self->computed != NULL && self->n_computed >= bs_session_get_n_net_slices (self);
}

gboolean
bs_session_slice_is_computed (BsSession *self, int s)
{
  if (self->computed == NULL || s < 0 || s >= bs_session_get_n_slices (self))
    return FALSE;
  return self->plane == self->net_plane ? self->computed[s] != 0 : bs_session_volume_complete (self);
}

gboolean
bs_session_truth_slice_empty (const float *t, gsize n)
{
  for (gsize k = 0; k < n; k++)
    if (t[k] > 0.5f)
      return FALSE;
  return TRUE;
}

/* New plane, case, model or options: the per-slice counts no longer apply. */
void
bs_session_reset_display_counts (BsSession *self)
{
  int n = bs_session_get_n_slices (self);

  g_clear_pointer (&self->slice_conf, g_free);
  g_clear_pointer (&self->slice_conf_valid, g_free);
  g_clear_pointer (&self->slice_truth_empty, g_free);
  if (self->bcase != NULL)
    {
      self->slice_conf = g_new0 (BsConfusion, MAX (n, 1));
      self->slice_conf_valid = g_new0 (guint8, MAX (n, 1));
      self->slice_truth_empty = g_new0 (guint8, MAX (n, 1));
    }
}

static void
reset_results (BsSession *self)
{
  bs_session_edit_discard (self, FALSE);
  g_clear_pointer (&self->prob, bs_volume_free);
  g_clear_pointer (&self->computed, g_free);
  if (self->bcase != NULL)
    {
      /* One channel per output: whole tumour, and the regions of a region model. */
      self->prob = bs_volume_new_like (self->bcase->image, self->model != NULL ? self->model->config.out_channels : 1);
      self->computed = g_new0 (guint8, MAX (bs_session_get_n_net_slices (self), 1));
    }
  bs_session_reset_display_counts (self);
  memset (&self->volume_conf, 0, sizeof self->volume_conf);
  memset (&self->raw_volume_conf, 0, sizeof self->raw_volume_conf);
  self->cleanup_applied = FALSE;
  memset (self->region_metrics_valid, 0, sizeof self->region_metrics_valid);
  memset (self->region_raw_valid, 0, sizeof self->region_raw_valid);
  if (self->cleanup_saved != NULL)
    g_array_set_size (self->cleanup_saved, 0);
  self->volume_serial++;
  self->volume_job_running = FALSE;
  bs_session_cancel_planes (self);
  self->planes_done = FALSE;
  self->planes_ms = 0;
  self->n_computed = 0;
  self->first_computed = -1;
  self->has_timing = FALSE;
  self->n_speed = self->speed_pos = 0;
  self->fill_cancelled = FALSE;
  self->inference_failed = FALSE;
}

void
bs_session_update_case_dice (BsSession *self)
{
  if (self->truth == NULL || self->case_dice == NULL || !bs_session_volume_complete (self)
      || bs_session_planes_pending (self, NULL, NULL))
    return;
  self->case_dice[self->case_index] = bs_confusion_dice (&self->volume_conf);
  g_signal_emit (self, bs_session_signals[SIGNAL_CASE_DICE_CHANGED], 0, self->case_index);
}

/* ---- Worker results ---- */

static void
on_slices_ready (BsInferenceWorker *worker, BsInferenceResult *r, BsSession *self)
{
  gsize px = (gsize) r->width * r->height;
  g_autofree float *truth = self->truth != NULL ? g_new (float, px) : NULL;
  int n_net = bs_session_get_n_net_slices (self);
  gboolean was_complete = bs_session_volume_complete (self);

  if (r->generation != self->generation || self->prob == NULL || r->plane != self->net_plane)
    return;
  if (self->first_computed < 0)
    self->first_computed = r->first;
  for (int i = 0; i < r->n; i++)
    {
      int s = r->first + i;
      const float *p = r->probs + px * (gsize) i * r->channels;  /* whole tumour */

      if (s < 0 || s >= n_net || (self->computed[s] && (self->cleanup_applied || was_complete)))
        continue;
      for (int c = 0; c < self->prob->n_channels && c < r->channels; c++)
        bs_volume_set_slice (self->prob, c, self->net_plane, s, r->probs + px * ((gsize) i * r->channels + c));
      if (truth != NULL)
        {
          BsConfusion c = { 0 };

          bs_volume_get_slice (self->truth, 0, self->net_plane, s, truth);
          bs_confusion_add (&c, p, truth, px);
          if (!self->computed[s])
            bs_confusion_merge (&self->volume_conf, &c);
          if (self->plane == self->net_plane)
            {
              self->slice_conf[s] = c;
              self->slice_conf_valid[s] = 1;
              self->slice_truth_empty[s] = bs_session_truth_slice_empty (truth, px);
            }
        }
      if (!self->computed[s])
        {
          self->computed[s] = 1;
          self->n_computed++;
        }
    }
  /* A batch of slices without brain ran nothing: keep the last real timing. */
  if (r->timing.n_slices > 0)
    {
      self->last_timing = r->timing;
      self->has_timing = TRUE;
      self->speed_hist[self->speed_pos] = r->timing.total_ms / r->timing.n_slices;
      self->timing_hist[self->speed_pos] = r->timing;
      self->speed_pos = (self->speed_pos + 1) % SPEED_RUNS;
      self->n_speed = MIN (self->n_speed + 1, SPEED_RUNS);
    }
  if (!self->ready)
    {
      self->ready = TRUE;
      bs_session_notify (self, PROP_READY);
    }
  /* Another plane's slice crosses every slice of the network's plane. */
  if (self->plane == self->net_plane)
    g_signal_emit (self, bs_session_signals[SIGNAL_RESULTS_CHANGED], 0, r->first, r->n);
  else
    g_signal_emit (self, bs_session_signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
  bs_session_notify (self, PROP_N_COMPUTED);
  if (r->timing.n_slices > 0)
    g_signal_emit (self, bs_session_signals[SIGNAL_TIMING_CHANGED], 0);
  /* Complete: clean up, recount another plane, and measure every region. */
  if (!was_complete && bs_session_volume_complete (self))
    bs_session_volume_completed (self);
}

/* "Plan: " and the worker's description of its plan, and the three-plane
 * passes the session runs after it. */
void
bs_session_update_plan_text (BsSession *self)
{
  g_autofree char *plan = NULL;

  g_clear_pointer (&self->plan_text, g_free);
  if (self->plan_description == NULL)
    return;
  /* TRANSLATORS: appended to the plan line; after the axial slices the network
   * also runs on the coronal and sagittal ones */
  if (self->opts.three_planes && self->input != NULL && !bs_session_three_planes_apply (self))
    {
      const BsVolume *v = self->input->prepared;

      /* TRANSLATORS: appended to the plan line; three planes is on, but the
       * case's slices are too thick for the coronal and sagittal passes */
      plan = g_strdup_printf (_("%s · one plane (slices %.2g mm thick)"), self->plan_description,
                              v->spacing[bs_volume_slice_axis (v, self->net_plane, 2)]);
    }
  else
    /* TRANSLATORS: appended to the plan line; after the axial slices the network
     * also runs on the coronal and sagittal ones */
    plan = self->opts.three_planes ? g_strdup_printf (_("%s · three planes"), self->plan_description)
                                   : g_strdup (self->plan_description);
  self->plan_text = g_strdup_printf (_("Plan: %s"), plan);
  bs_session_notify (self, PROP_PLAN_TEXT);
}

static void
on_plan_ready (BsInferenceWorker *worker, guint generation, const char *description, BsSession *self)
{
  g_free (self->plan_description);
  self->plan_description = g_strdup (description);
  bs_session_update_plan_text (self);
  bs_session_set_activity (self, NULL);
  if (!self->ready)
    {
      self->ready = TRUE;
      bs_session_notify (self, PROP_READY);
    }
  g_signal_emit (self, bs_session_signals[SIGNAL_TIMING_CHANGED], 0);
}

static void
on_worker_failed (BsInferenceWorker *worker, guint generation, GError *error, BsSession *self)
{
  g_autofree char *title = NULL;
  const char *model = self->model != NULL && self->model->path != NULL ? self->model->path : _("random weights");

  bs_session_set_activity (self, NULL);
  self->worker_busy = FALSE;
  self->inference_failed = TRUE;
  bs_session_notify (self, PROP_BUSY);
  g_signal_emit (self, bs_session_signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
  title = g_strdup_printf (_("Inference with %s (%s) failed"), model, bs_precision_name (self->opts.precision));
  bs_session_emit_failed (self, BS_SESSION_FAILED_INFERENCE, title, error);
}

static void
on_worker_finished (BsInferenceWorker *worker, guint generation, BsSession *self)
{
  self->worker_busy = FALSE;
  bs_session_update_case_dice (self);
  bs_session_notify (self, PROP_BUSY);
}

/* ---- Inference ---- */

static void
set_generation (BsSession *self)
{
  self->generation++;
  if (self->generation == 0)
    self->generation = 1;
}

/* Hands the worker a fresh job for the current case and options. */
void
bs_session_restart_inference (BsSession *self)
{
  set_generation (self);
  reset_results (self);
  g_clear_pointer (&self->plan_text, g_free);
  g_clear_pointer (&self->plan_description, g_free);
  self->ready = FALSE;
  self->worker_busy = FALSE;
  if (self->input != NULL)
    {
      bs_inference_worker_set_job (self->worker, self->input, self->net_plane, &self->opts, self->generation);
      if (self->plane == self->net_plane)
        bs_inference_worker_request_slice (self->worker, self->generation, self->slice);
      self->worker_busy = TRUE;
      if (self->stop_after_load && !self->loading)
        {
          /* the visible slice still comes; the rest waits for Resume */
          bs_inference_worker_cancel_fill (self->worker);
          self->fill_cancelled = TRUE;
          self->stop_after_load = FALSE;
          self->worker_busy = FALSE;
        }
      bs_session_set_activity (self, self->opts.precision == BS_PRECISION_INT8 ? _("Calibrating and building the int8 plan…")
                                                                    : _("Building the inference plan…"));
    }
  else
    bs_inference_worker_clear (self->worker);
  g_object_freeze_notify (G_OBJECT (self));
  bs_session_notify (self, PROP_GENERATION);
  bs_session_notify (self, PROP_READY);
  bs_session_notify (self, PROP_BUSY);
  bs_session_notify (self, PROP_N_COMPUTED);
  bs_session_notify (self, PROP_PLAN_TEXT);
  g_object_thaw_notify (G_OBJECT (self));
  g_signal_emit (self, bs_session_signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
  g_signal_emit (self, bs_session_signals[SIGNAL_TIMING_CHANGED], 0);
}

/* ---- Viewing ---- */

void
bs_session_set_plane (BsSession *self, BsPlane plane)
{
  g_return_if_fail (BS_IS_SESSION (self));
  if (plane == self->plane && self->bcase != NULL)
    return;
  if ((int) self->plane >= 0 && self->plane < 3)
    self->plane_slice[self->plane] = self->slice;
  self->plane = plane;
  if (self->bcase == NULL)
    {
      bs_session_notify (self, PROP_PLANE);
      return;
    }
  /* Back to a plane: the slice it showed last; a first visit: its tumour's
   * biggest slice when the case has labels, else its middle. */
  if (plane < 3 && self->plane_slice[plane] >= 0 && self->plane_slice[plane] < bs_session_get_n_slices (self))
    self->slice = self->plane_slice[plane];
  else if (plane < 3 && self->tumour_slice[plane] >= 0 && self->tumour_slice[plane] < bs_session_get_n_slices (self))
    self->slice = self->tumour_slice[plane];
  else
    self->slice = bs_session_get_n_slices (self) / 2;
  bs_session_reset_display_counts (self);
  /* The prediction stays: other planes are cut from it, nothing reruns. */
  if (self->input != NULL && plane == self->net_plane && self->computed != NULL && !self->computed[self->slice])
    bs_inference_worker_request_slice (self->worker, self->generation, self->slice);
  /* A slice of another plane needs every slice of the network's plane. */
  if (self->input != NULL && plane != self->net_plane && self->fill_cancelled && !bs_session_volume_complete (self))
    bs_session_resume_fill (self);
  g_object_freeze_notify (G_OBJECT (self));
  bs_session_notify (self, PROP_PLANE);
  bs_session_notify (self, PROP_SLICE);
  g_object_thaw_notify (G_OBJECT (self));
  /* The new plane's per-slice counts need the truth; without one the job
   * would only copy the volumes on this thread to measure the same regions
   * again, unless a clean-up is still due (review finding). */
  if (self->truth != NULL || (self->cleanup && !self->cleanup_applied && bs_session_volume_complete (self)))
    bs_session_start_volume_job (self);
  g_signal_emit (self, bs_session_signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
}

void
bs_session_set_slice_index (BsSession *self, int slice)
{
  int n;

  g_return_if_fail (BS_IS_SESSION (self));
  n = bs_session_get_n_slices (self);
  if (n == 0)
    return;
  slice = CLAMP (slice, 0, n - 1);
  if (slice == self->slice)
    return;
  self->slice = slice;
  /* (computed is NULL for a moment while a case is adopted: its
   * notifications reach the slider before inference restarts) */
  if (self->input != NULL && self->computed != NULL && self->plane == self->net_plane && !self->computed[slice])
    bs_inference_worker_request_slice (self->worker, self->generation, slice);
  bs_session_notify (self, PROP_SLICE);
}

void
bs_session_set_display_channel (BsSession *self, int channel)
{
  g_return_if_fail (BS_IS_SESSION (self));
  if (self->bcase == NULL || channel < 0 || channel >= self->bcase->image->n_channels || channel == self->channel)
    return;
  self->channel = channel;
  g_free (self->channel_name);
  self->channel_name = g_strdup (self->bcase->image->channel_names != NULL
                                 ? self->bcase->image->channel_names[channel] : NULL);
  self->overlay.lo = self->auto_lo[channel];
  self->overlay.hi = self->auto_hi[channel];
  bs_session_notify (self, PROP_CHANNEL);
  bs_session_notify (self, PROP_OVERLAY);
}

void
bs_session_get_overlay_options (BsSession *self, BsOverlayOptions *opts)
{
  *opts = self->overlay;
}

void
bs_session_set_overlay_options (BsSession *self, const BsOverlayOptions *opts)
{
  g_return_if_fail (BS_IS_SESSION (self));
  self->overlay = *opts;
  bs_session_notify (self, PROP_OVERLAY);
}

void
bs_session_reset_window_level (BsSession *self)
{
  if (self->auto_lo == NULL)
    return;
  self->overlay.lo = self->auto_lo[self->channel];
  self->overlay.hi = self->auto_hi[self->channel];
  bs_session_notify (self, PROP_OVERLAY);
}

void
bs_session_get_plan_options (BsSession *self, BsPlanOptions *opts)
{
  *opts = self->opts;
}

/* a and b run the same network the same way; three planes aside */
static gboolean
same_plan (const BsPlanOptions *a, const BsPlanOptions *b)
{
  return a->precision == b->precision && a->layout == b->layout && !a->fusion == !b->fusion
         && a->threads == b->threads && a->batch == MAX (1, b->batch) && !a->profile_layers == !b->profile_layers
         && !a->crop_to_brain == !b->crop_to_brain && !a->test_time_flips == !b->test_time_flips
         && !a->slice_parallel == !b->slice_parallel
         && (a->precision != BS_PRECISION_INT8 || !a->calibrate_case == !b->calibrate_case);
}

void
bs_session_set_plan_options (BsSession *self, const BsPlanOptions *opts)
{
  g_return_if_fail (BS_IS_SESSION (self));
  BsPlanOptions old = self->opts;
  gboolean keep, only_planes, nothing_runs;

  /* Clicking the option already in use (the active fp32 button) keeps the
   * volume being (or already) predicted instead of predicting it all again;
   * after a failure or a Stop it still starts again (a retry).  An option
   * the plan does not use yet (the int8 ranges' source in fp32) is still
   * kept for later (walk finding: the menu's check item ignored the click). */
  keep = !self->inference_failed && !self->fill_cancelled && same_plan (&old, opts);
  nothing_runs = keep && !old.three_planes == !opts->three_planes;
  /* Three planes alone switched: the axial volume stands (walk finding: a
   * presenter's switch threw it away and predicted it all again), unless it
   * is off once the mean has replaced the axial volume */
  only_planes = keep && self->bcase != NULL && self->prob != NULL && (opts->three_planes || !self->planes_done);
  if (!nothing_runs)
    bs_session_edit_discard (self, TRUE);   /* the prediction changes: corrections back first */
  self->opts = *opts;
  self->opts.batch = MAX (1, self->opts.batch);
  g_object_freeze_notify (G_OBJECT (self));
  bs_session_notify (self, PROP_PLAN_OPTIONS);
  if (old.precision != self->opts.precision)
    bs_session_notify (self, PROP_PRECISION);
  if (old.layout != self->opts.layout)
    bs_session_notify (self, PROP_LAYOUT);
  if (old.fusion != self->opts.fusion)
    bs_session_notify (self, PROP_FUSION);
  if (old.crop_to_brain != self->opts.crop_to_brain)
    bs_session_notify (self, PROP_CROP_TO_BRAIN);
  if (old.test_time_flips != self->opts.test_time_flips)
    bs_session_notify (self, PROP_TEST_TIME_FLIPS);
  if (old.three_planes != self->opts.three_planes)
    bs_session_notify (self, PROP_THREE_PLANES);
  if (!old.slice_parallel != !self->opts.slice_parallel)
    bs_session_notify (self, PROP_LANES);
  if (!old.calibrate_case != !self->opts.calibrate_case)
    bs_session_notify (self, PROP_CALIBRATE_CASE);
  if (old.profile_layers != self->opts.profile_layers)
    bs_session_notify (self, PROP_PROFILE_LAYERS);
  if (old.threads != self->opts.threads)
    bs_session_notify (self, PROP_THREADS);
  if (old.batch != self->opts.batch)
    bs_session_notify (self, PROP_BATCH);
  g_object_thaw_notify (G_OBJECT (self));
  if (nothing_runs)
    return;
  if (only_planes)
    {
      bs_session_planes_switched (self);
      return;
    }
  if (self->bcase != NULL)
    bs_session_restart_inference (self);
}

void
bs_session_set_cleanup (BsSession *self, gboolean cleanup)
{
  g_return_if_fail (BS_IS_SESSION (self));
  cleanup = !!cleanup;
  if (self->cleanup == cleanup)
    return;
  bs_session_edit_discard (self, TRUE);
  self->cleanup = cleanup;
  if (self->prob != NULL)
    {
      if (!cleanup)
        {
          bs_session_cleanup_undo (self);
          bs_session_update_case_dice (self);
        }
      else if (bs_session_volume_complete (self))
        bs_session_start_volume_job (self);
      g_signal_emit (self, bs_session_signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
    }
  bs_session_notify (self, PROP_CLEANUP);
}

gboolean
bs_session_get_cleanup_enabled (BsSession *self)
{
  return self->cleanup;
}

gboolean
bs_session_get_cleanup (BsSession *self, BsCleanupStats *stats)
{
  g_return_val_if_fail (BS_IS_SESSION (self), FALSE);
  if (stats != NULL)
    {
      BsCleanupStats none = { 0 };
      *stats = self->cleanup_applied ? self->cleanup_stats : none;
    }
  return self->cleanup_applied;
}

/* ---- Worker control ---- */

void
bs_session_cancel_fill (BsSession *self)
{
  gboolean planes_were_running = self->planes_running;

  bs_inference_worker_cancel_fill (self->worker);
  bs_session_cancel_planes (self);
  self->fill_cancelled = TRUE;
  self->worker_busy = FALSE;
  /* Stopped during the three-plane passes: the axial volume is cleaned up
   * and measured as it stands (its table stayed "…" for good, walk finding);
   * Resume starts the passes from its network values again. */
  if (planes_were_running && self->prob != NULL && bs_session_volume_complete (self))
    bs_session_start_volume_job (self);
  /* While a case loads there is no fill yet: stop the one it will start. */
  self->stop_after_load = self->loading;
  bs_session_notify (self, PROP_BUSY);
}

void
bs_session_resume_fill (BsSession *self)
{
  bs_inference_worker_resume_fill (self->worker);
  self->fill_cancelled = FALSE;
  self->stop_after_load = FALSE;
  self->worker_busy = self->computed != NULL && !bs_session_volume_complete (self);
  /* a Stop during the three-plane passes: they start again */
  if (self->computed != NULL && bs_session_volume_complete (self) && !self->inference_failed)
    bs_session_volume_completed (self);
  bs_session_notify (self, PROP_BUSY);
}

/* ---- Getters ---- */

BsDataset *bs_session_get_dataset (BsSession *self) { return self->dataset; }
int bs_session_get_case_index (BsSession *self) { return self->case_index; }
BsCase *bs_session_get_case (BsSession *self) { return self->bcase; }
const BsVolume *bs_session_get_truth (BsSession *self) { return self->truth; }

const BsVolume *
bs_session_get_truth_region (BsSession *self, BsRegion region)
{
  switch (region)
    {
    case BS_REGION_WT: return self->truth;
    case BS_REGION_TC: return self->truth_tc;
    case BS_REGION_ET: return self->truth_et;
    default: return NULL;
    }
}
const BsUnet *bs_session_get_model (BsSession *self) { return self->model; }
const char *bs_session_get_inputs_text (BsSession *self) { return self->inputs_text; }
const char *bs_session_get_missing_inputs_warning (BsSession *self) { return self->missing_text; }

GError *
bs_session_take_truth_error (BsSession *self)
{
  return g_steal_pointer (&self->truth_error);
}
const char *bs_session_get_note (BsSession *self) { return self->note; }
BsPlane bs_session_get_plane (BsSession *self) { return self->plane; }
BsPlane bs_session_get_net_plane (BsSession *self) { return self->net_plane; }
int bs_session_get_slice_index (BsSession *self) { return self->slice; }
int bs_session_get_display_channel (BsSession *self) { return self->channel; }
guint bs_session_get_generation (BsSession *self) { return self->generation; }
int bs_session_get_n_computed_slices (BsSession *self) { return self->n_computed; }
int bs_session_get_first_computed_slice (BsSession *self) { return self->first_computed; }
gboolean
bs_session_is_ready (BsSession *self)
{
  return self->bcase != NULL && self->ready && !self->loading;
}

double bs_session_get_planes_ms (BsSession *self) { return self->planes_done ? self->planes_ms : 0.0; }
gboolean bs_session_planes_done (BsSession *self) { return self->planes_done && self->planes_ms > 0; }

gboolean
bs_session_three_planes_apply (BsSession *self)
{
  return self->opts.three_planes && self->input != NULL
         && bs_segment_planes_suit (self->input->prepared, self->net_plane, NULL);
}

gboolean
bs_session_planes_pending (BsSession *self, int *done, int *total)
{
  gboolean pending = bs_session_three_planes_apply (self) && !self->planes_done && !self->inference_failed
                     && bs_session_volume_complete (self);

  if (done)
    *done = pending ? self->planes_slices_done : 0;
  if (total)
    *total = pending ? self->planes_slices_total : 0;
  return pending;
}
gboolean bs_session_is_busy (BsSession *self) { return self->worker_busy || self->volume_job_running || self->planes_running; }
gboolean bs_session_fill_cancelled (BsSession *self) { return self->fill_cancelled; }
gboolean bs_session_inference_failed (BsSession *self) { return self->inference_failed; }
const char *bs_session_get_plan_text (BsSession *self) { return self->plan_text; }

const BsVolume *
bs_session_get_prepared_volume (BsSession *self)
{
  return self->input != NULL ? self->input->prepared : NULL;
}

const BsVolume *
bs_session_get_probability_volume (BsSession *self)
{
  return self->prob;
}

void
bs_session_get_auto_window (BsSession *self, int c, float *lo, float *hi)
{
  g_return_if_fail (self->auto_lo != NULL && self->bcase != NULL && c >= 0 && c < self->bcase->image->n_channels);
  *lo = self->auto_lo[c];
  *hi = self->auto_hi[c];
}

gboolean
bs_session_net_slice_is_computed (BsSession *self, int k)
{
  return self->computed != NULL && k >= 0 && k < bs_session_get_n_net_slices (self) && self->computed[k];
}

/* ---- GObject ---- */

static void
bs_session_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BsSession *self = BS_SESSION (object);

  switch (prop_id)
    {
    case PROP_DATASET: g_value_set_pointer (value, self->dataset); break;
    case PROP_CASE: g_value_set_pointer (value, self->bcase); break;
    case PROP_MODEL: g_value_set_pointer (value, self->model); break;
    case PROP_NOTE: g_value_set_string (value, self->note); break;
    case PROP_LOADING: g_value_set_boolean (value, self->loading); break;
    case PROP_ACTIVITY: g_value_set_string (value, self->activity); break;
    case PROP_PLANE: g_value_set_int (value, self->plane); break;
    case PROP_SLICE: g_value_set_int (value, self->slice); break;
    case PROP_CHANNEL: g_value_set_int (value, self->channel); break;
    case PROP_OVERLAY: g_value_set_pointer (value, &self->overlay); break;
    case PROP_PLAN_OPTIONS: g_value_set_pointer (value, &self->opts); break;
    case PROP_CLEANUP: g_value_set_boolean (value, self->cleanup); break;
    case PROP_GENERATION: g_value_set_uint (value, self->generation); break;
    case PROP_READY: g_value_set_boolean (value, self->ready); break;
    case PROP_BUSY: g_value_set_boolean (value, bs_session_is_busy (self)); break;
    case PROP_N_COMPUTED: g_value_set_int (value, self->n_computed); break;
    case PROP_PLAN_TEXT: g_value_set_string (value, self->plan_text); break;
    case PROP_INPUTS_TEXT: g_value_set_string (value, self->inputs_text); break;
    case PROP_REGION: g_value_set_int (value, self->region); break;
    case PROP_EDITS: g_value_set_int (value, bs_session_get_n_edits (self, NULL)); break;
    case PROP_PRECISION: g_value_set_string (value, bs_precision_name (self->opts.precision)); break;
    case PROP_LAYOUT: g_value_set_string (value, bs_memlayout_name (self->opts.layout)); break;
    case PROP_FUSION: g_value_set_boolean (value, self->opts.fusion); break;
    case PROP_CROP_TO_BRAIN: g_value_set_boolean (value, self->opts.crop_to_brain); break;
    case PROP_TEST_TIME_FLIPS: g_value_set_boolean (value, self->opts.test_time_flips); break;
    case PROP_THREE_PLANES: g_value_set_boolean (value, self->opts.three_planes); break;
    case PROP_LANES: g_value_set_boolean (value, self->opts.slice_parallel); break;
    case PROP_CALIBRATE_CASE: g_value_set_boolean (value, self->opts.calibrate_case); break;
    case PROP_PROFILE_LAYERS: g_value_set_boolean (value, self->opts.profile_layers); break;
    case PROP_THREADS: g_value_set_int (value, self->opts.threads); break;
    case PROP_BATCH: g_value_set_int (value, self->opts.batch); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bs_session_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  BsSession *self = BS_SESSION (object);

  switch (prop_id)
    {
    case PROP_PLANE: bs_session_set_plane (self, g_value_get_int (value)); break;
    case PROP_SLICE: bs_session_set_slice_index (self, g_value_get_int (value)); break;
    case PROP_CHANNEL: bs_session_set_display_channel (self, g_value_get_int (value)); break;
    case PROP_REGION: bs_session_set_region (self, g_value_get_int (value)); break;
    case PROP_CLEANUP: bs_session_set_cleanup (self, g_value_get_boolean (value)); break;
    case PROP_PRECISION:
    case PROP_LAYOUT:
    case PROP_FUSION:
    case PROP_CROP_TO_BRAIN:
    case PROP_TEST_TIME_FLIPS:
    case PROP_THREE_PLANES:
    case PROP_LANES:
    case PROP_CALIBRATE_CASE:
    case PROP_PROFILE_LAYERS:
    case PROP_THREADS:
    case PROP_BATCH:
      {
        BsPlanOptions o = self->opts;

        if (prop_id == PROP_PRECISION && !bs_precision_from_string (g_value_get_string (value), &o.precision))
          return;
        if (prop_id == PROP_LAYOUT && !bs_memlayout_from_string (g_value_get_string (value), &o.layout))
          return;
        if (prop_id == PROP_FUSION)
          o.fusion = g_value_get_boolean (value);
        if (prop_id == PROP_CROP_TO_BRAIN)
          o.crop_to_brain = g_value_get_boolean (value);
        if (prop_id == PROP_TEST_TIME_FLIPS)
          o.test_time_flips = g_value_get_boolean (value);
        if (prop_id == PROP_THREE_PLANES)
          o.three_planes = g_value_get_boolean (value);
        if (prop_id == PROP_LANES)
          o.slice_parallel = g_value_get_boolean (value);
        if (prop_id == PROP_CALIBRATE_CASE)
          o.calibrate_case = g_value_get_boolean (value);
        if (prop_id == PROP_PROFILE_LAYERS)
          o.profile_layers = g_value_get_boolean (value);
        if (prop_id == PROP_THREADS)
          o.threads = g_value_get_int (value);
        if (prop_id == PROP_BATCH)
          o.batch = g_value_get_int (value);
        bs_session_set_plan_options (self, &o);
      }
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bs_session_dispose (GObject *object)
{
  BsSession *self = BS_SESSION (object);

  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  bs_session_cancel_planes (self);
  if (self->worker != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->worker, self);
      bs_inference_worker_clear (self->worker);
    }
  g_clear_object (&self->worker);
  G_OBJECT_CLASS (bs_session_parent_class)->dispose (object);
}

static void
bs_session_finalize (GObject *object)
{
  BsSession *self = BS_SESSION (object);

  bs_session_clear_case (self);
  g_clear_pointer (&self->dataset, bs_dataset_free);
  g_clear_pointer (&self->model, bs_unet_free);
  g_free (self->case_dice);
  g_free (self->plan_text);
  g_free (self->plan_description);
  g_free (self->inputs_text);
  g_free (self->channel_name);
  g_clear_error (&self->truth_error);
  g_free (self->missing_text);
  g_free (self->note);
  g_free (self->activity);
  g_clear_pointer (&self->cleanup_saved, g_array_unref);
  G_OBJECT_CLASS (bs_session_parent_class)->finalize (object);
}

static void
bs_session_class_init (BsSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->get_property = bs_session_get_property;
  object_class->set_property = bs_session_set_property;
  object_class->dispose = bs_session_dispose;
  object_class->finalize = bs_session_finalize;

  bs_session_properties[PROP_DATASET] = g_param_spec_pointer ("dataset", NULL, NULL, ro);
  bs_session_properties[PROP_CASE] = g_param_spec_pointer ("case", NULL, NULL, ro);
  bs_session_properties[PROP_MODEL] = g_param_spec_pointer ("model", NULL, NULL, ro);
  bs_session_properties[PROP_NOTE] = g_param_spec_string ("note", NULL, NULL, NULL, ro);
  bs_session_properties[PROP_LOADING] = g_param_spec_boolean ("loading", NULL, NULL, FALSE, ro);
  bs_session_properties[PROP_ACTIVITY] = g_param_spec_string ("activity", NULL, NULL, NULL, ro);
  bs_session_properties[PROP_PLANE] = g_param_spec_int ("plane", NULL, NULL, 0, 2, BS_PLANE_AXIAL, rw);
  bs_session_properties[PROP_SLICE] = g_param_spec_int ("slice", NULL, NULL, 0, G_MAXINT, 0, rw);
  bs_session_properties[PROP_CHANNEL] = g_param_spec_int ("channel", NULL, NULL, -1, G_MAXINT, -1, rw);
  bs_session_properties[PROP_OVERLAY] = g_param_spec_pointer ("overlay", NULL, NULL, ro);
  bs_session_properties[PROP_PLAN_OPTIONS] = g_param_spec_pointer ("plan-options", NULL, NULL, ro);
  bs_session_properties[PROP_CLEANUP] = g_param_spec_boolean ("cleanup", NULL, NULL, TRUE, rw);
  bs_session_properties[PROP_GENERATION] = g_param_spec_uint ("generation", NULL, NULL, 0, G_MAXUINT, 0, ro);
  bs_session_properties[PROP_READY] = g_param_spec_boolean ("ready", NULL, NULL, FALSE, ro);
  bs_session_properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE, ro);
  bs_session_properties[PROP_N_COMPUTED] = g_param_spec_int ("n-computed", NULL, NULL, 0, G_MAXINT, 0, ro);
  bs_session_properties[PROP_PLAN_TEXT] = g_param_spec_string ("plan-text", NULL, NULL, NULL, ro);
  bs_session_properties[PROP_INPUTS_TEXT] = g_param_spec_string ("inputs-text", NULL, NULL, NULL, ro);
  /* BsRegion as an int, so that a GPropertyAction can hold it */
  bs_session_properties[PROP_REGION] = g_param_spec_int ("region", NULL, NULL, 0, BS_N_REGIONS - 1, 0, rw);
  bs_session_properties[PROP_EDITS] = g_param_spec_int ("edits", NULL, NULL, 0, G_MAXINT, 0, ro);
  bs_session_properties[PROP_PRECISION] = g_param_spec_string ("precision", NULL, NULL, "fp32", rw);
  bs_session_properties[PROP_LAYOUT] = g_param_spec_string ("layout", NULL, NULL, "blocked", rw);
  bs_session_properties[PROP_FUSION] = g_param_spec_boolean ("fusion", NULL, NULL, TRUE, rw);
  bs_session_properties[PROP_CROP_TO_BRAIN] = g_param_spec_boolean ("crop-to-brain", NULL, NULL, TRUE, rw);
  bs_session_properties[PROP_TEST_TIME_FLIPS] = g_param_spec_boolean ("test-time-flips", NULL, NULL, FALSE, rw);
  bs_session_properties[PROP_THREE_PLANES] = g_param_spec_boolean ("three-planes", NULL, NULL, TRUE, rw);
  /* the volume's slices on lanes (BsPlanOptions.slice_parallel) */
  bs_session_properties[PROP_LANES] = g_param_spec_boolean ("lanes", NULL, NULL, TRUE, rw);
  /* int8 measures the case's own ranges (BsPlanOptions.calibrate_case) */
  bs_session_properties[PROP_CALIBRATE_CASE] = g_param_spec_boolean ("calibrate-case", NULL, NULL, FALSE, rw);
  bs_session_properties[PROP_PROFILE_LAYERS] = g_param_spec_boolean ("profile-layers", NULL, NULL, FALSE, rw);
  /* 0: every core the other programs leave free */
  bs_session_properties[PROP_THREADS] = g_param_spec_int ("threads", NULL, NULL, 0, 1024, 0, rw);
  bs_session_properties[PROP_BATCH] = g_param_spec_int ("batch", NULL, NULL, 1, 1024, 1, rw);
  g_object_class_install_properties (object_class, N_PROPS, bs_session_properties);

  /* (first, n): slices of the network's plane whose results changed; n < 0: anything may have. */
  bs_session_signals[SIGNAL_RESULTS_CHANGED] =
    g_signal_new ("results-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);
  bs_session_signals[SIGNAL_TIMING_CHANGED] =
    g_signal_new ("timing-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  /* (BsSessionFailure what, const char *title, const GError *error) */
  bs_session_signals[SIGNAL_FAILED] =
    g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_UINT, G_TYPE_STRING, G_TYPE_ERROR);
  bs_session_signals[SIGNAL_CASE_DICE_CHANGED] =
    g_signal_new ("case-dice-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_INT);
}

static void
bs_session_init (BsSession *self)
{
  self->case_index = -1;
  self->pending_case = -1;
  self->first_computed = -1;
  self->channel = -1;
  self->plane = BS_PLANE_AXIAL;
  self->plane_slice[0] = self->plane_slice[1] = self->plane_slice[2] = -1;
  self->tumour_slice[0] = self->tumour_slice[1] = self->tumour_slice[2] = -1;
  self->net_plane = BS_INFER_NET_PLANE;
  self->cleanup = TRUE;
  bs_overlay_options_init (&self->overlay);
  bs_plan_options_init (&self->opts);
  self->worker = bs_inference_worker_new ();
  g_signal_connect (self->worker, "slices-ready", G_CALLBACK (on_slices_ready), self);
  g_signal_connect (self->worker, "plan-ready", G_CALLBACK (on_plan_ready), self);
  g_signal_connect (self->worker, "failed", G_CALLBACK (on_worker_failed), self);
  g_signal_connect (self->worker, "finished", G_CALLBACK (on_worker_finished), self);
}

BsSession *
bs_session_new (void)
{
  return g_object_new (BS_TYPE_SESSION, NULL);
}
