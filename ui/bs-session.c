#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "bs-error.h"
#include "bs-infer.h"
#include "bs-inference-worker.h"
#include "bs-labels.h"
#include "bs-session.h"

/* Runs whose ms/slice the steady figure's median covers. */
#define SPEED_RUNS 15

typedef struct {
  gsize index;
  float prob;
} CleanupVoxel;

struct _BsSession
{
  GObject parent_instance;

  BsInferenceWorker *worker;

  /* Opening: one task at a time reads the dataset. */
  GCancellable *load_cancellable;
  gboolean loading;
  int pending_case;        /* case asked for while another one loads, or -1 */
  char *activity;          /* what runs now ("Opening …"), or NULL */

  BsDataset *dataset;
  int case_index;
  BsCase *bcase;
  BsVolume *truth;
  BsUnet *model;           /* the session's copy; the worker has its own */
  BsInferenceInput *input;
  double *case_dice;       /* per dataset case, NaN until the volume is done */
  float *auto_lo, *auto_hi; /* per image channel */
  char *inputs_text;
  char *note;

  /* Results.  The network runs in net_plane; computed and n_computed count
   * its slices.  Other planes are reslices of the same probability volume. */
  BsVolume *prob;
  guint8 *computed;
  int n_computed;
  int first_computed;
  BsConfusion *slice_conf;      /* per slice of the viewed plane */
  guint8 *slice_conf_valid;
  guint8 *slice_truth_empty;
  BsConfusion volume_conf;
  BsConfusion raw_volume_conf;  /* before the island clean-up */
  gboolean cleanup;
  gboolean cleanup_applied;
  BsCleanupStats cleanup_stats;
  GArray *cleanup_saved;        /* CleanupVoxel: what the clean-up switched off */

  /* Whole-volume work off the main thread (clean-up, recount after a plane
   * switch); a result whose serial is not the newest is dropped. */
  guint volume_serial;
  gboolean volume_job_running;

  guint generation;
  gboolean ready;
  gboolean worker_busy;
  gboolean fill_cancelled;
  gboolean inference_failed;
  char *plan_text;
  BsTiming last_timing;
  gboolean has_timing;
  double speed_hist[SPEED_RUNS];
  int n_speed, speed_pos;

  BsPlane net_plane;
  BsPlane plane;
  int slice;
  int channel;
  BsOverlayOptions overlay;
  BsPlanOptions opts;
};

G_DEFINE_FINAL_TYPE (BsSession, bs_session, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_DATASET,
  PROP_CASE,
  PROP_MODEL,
  PROP_NOTE,
  PROP_LOADING,
  PROP_ACTIVITY,
  PROP_PLANE,
  PROP_SLICE,
  PROP_CHANNEL,
  PROP_OVERLAY,
  PROP_PLAN_OPTIONS,
  PROP_CLEANUP,
  PROP_GENERATION,
  PROP_READY,
  PROP_BUSY,
  PROP_N_COMPUTED,
  PROP_PLAN_TEXT,
  PROP_INPUTS_TEXT,
  /* The plan options one by one, for property actions */
  PROP_PRECISION,
  PROP_LAYOUT,
  PROP_FUSION,
  PROP_CROP_TO_BRAIN,
  PROP_TEST_TIME_FLIPS,
  PROP_PROFILE_LAYERS,
  PROP_THREADS,
  PROP_BATCH,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_RESULTS_CHANGED,
  SIGNAL_TIMING_CHANGED,
  SIGNAL_FAILED,
  SIGNAL_CASE_DICE_CHANGED,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

static void restart_inference (BsSession *self);
static void start_volume_job (BsSession *self);

static void
notify (BsSession *self, int prop)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_activity (BsSession *self, const char *text)
{
  if (g_strcmp0 (self->activity, text) == 0)
    return;
  g_free (self->activity);
  self->activity = g_strdup (text);
  notify (self, PROP_ACTIVITY);
}

static void
emit_failed (BsSession *self, BsSessionFailure what, const char *title, const GError *error)
{
  g_signal_emit (self, signals[SIGNAL_FAILED], 0, (guint) what, title, error);
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

static gboolean
truth_slice_empty (const float *t, gsize n)
{
  for (gsize k = 0; k < n; k++)
    if (t[k] > 0.5f)
      return FALSE;
  return TRUE;
}

/* New plane, case, model or options: the per-slice counts no longer apply. */
static void
reset_display_counts (BsSession *self)
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
  g_clear_pointer (&self->prob, bs_volume_free);
  g_clear_pointer (&self->computed, g_free);
  if (self->bcase != NULL)
    {
      self->prob = bs_volume_new_like (self->bcase->image, 1);
      self->computed = g_new0 (guint8, MAX (bs_session_get_n_net_slices (self), 1));
    }
  reset_display_counts (self);
  memset (&self->volume_conf, 0, sizeof self->volume_conf);
  memset (&self->raw_volume_conf, 0, sizeof self->raw_volume_conf);
  self->cleanup_applied = FALSE;
  if (self->cleanup_saved != NULL)
    g_array_set_size (self->cleanup_saved, 0);
  self->volume_serial++;
  self->volume_job_running = FALSE;
  self->n_computed = 0;
  self->first_computed = -1;
  self->has_timing = FALSE;
  self->n_speed = self->speed_pos = 0;
  self->fill_cancelled = FALSE;
  self->inference_failed = FALSE;
}

static void
update_case_dice (BsSession *self)
{
  if (self->truth == NULL || self->case_dice == NULL || !bs_session_volume_complete (self))
    return;
  self->case_dice[self->case_index] = bs_confusion_dice (&self->volume_conf);
  g_signal_emit (self, signals[SIGNAL_CASE_DICE_CHANGED], 0, self->case_index);
}

/* ---- Whole-volume work (clean-up, recount) off the main thread ---- */

typedef struct {
  guint generation, serial;
  BsVolume *prob;        /* a copy: the session's may be freed meanwhile */
  BsVolume *truth;       /* a copy, or NULL */
  guint8 *computed;      /* network plane */
  int n_net;
  BsPlane net_plane, plane;
  gboolean apply_cleanup;
  /* results */
  gboolean cleaned;
  BsCleanupStats stats;
  GArray *saved;
  BsConfusion volume_conf;
  int n;
  BsConfusion *slice_conf;
  guint8 *valid, *empty;
} VolumeJob;

static void
volume_job_free (gpointer data)
{
  VolumeJob *job = data;

  g_clear_pointer (&job->prob, bs_volume_free);
  g_clear_pointer (&job->truth, bs_volume_free);
  g_free (job->computed);
  g_clear_pointer (&job->saved, g_array_unref);
  g_free (job->slice_conf);
  g_free (job->valid);
  g_free (job->empty);
  g_free (job);
}

static void
volume_job_clean (VolumeJob *job)
{
  gsize nvox = bs_volume_n_voxels (job->prob);
  g_autofree guint8 *on = g_try_malloc (MAX (nvox, 1));
  float *p = job->prob->data;

  if (on == NULL)
    return;
  for (gsize v = 0; v < nvox; v++)
    on[v] = p[v] > 0.5f;
  if (!bs_mask_remove_islands (on, job->prob->dims, BS_CLEANUP_MIN_FRACTION, &job->stats))
    return;
  job->saved = g_array_new (FALSE, FALSE, sizeof (CleanupVoxel));
  for (gsize v = 0; v < nvox; v++)
    if (!on[v] && p[v] > 0.5f)
      {
        CleanupVoxel cv = { v, p[v] };

        g_array_append_val (job->saved, cv);
        p[v] = 0.0f;
      }
  job->cleaned = TRUE;
}

/* Volume counts over the computed slices; per-slice counts of the viewed
 * plane for every slice that holds its final prediction. */
static void
volume_job_count (VolumeJob *job)
{
  gboolean complete = TRUE;
  int w, h;

  for (int s = 0; s < job->n_net && complete; s++)
    complete = job->computed[s] != 0;
  bs_volume_slice_size (job->prob, job->net_plane, &w, &h);
  {
    g_autofree float *p = g_new (float, (gsize) w * h);
    g_autofree float *t = g_new (float, (gsize) w * h);

    for (int s = 0; s < job->n_net; s++)
      {
        BsConfusion c = { 0 };

        if (!job->computed[s])
          continue;
        bs_volume_get_slice (job->prob, 0, job->net_plane, s, p);
        bs_volume_get_slice (job->truth, 0, job->net_plane, s, t);
        bs_confusion_add (&c, p, t, (gsize) w * h);
        bs_confusion_merge (&job->volume_conf, &c);
      }
  }
  job->n = bs_volume_n_slices (job->prob, job->plane);
  job->slice_conf = g_new0 (BsConfusion, MAX (job->n, 1));
  job->valid = g_new0 (guint8, MAX (job->n, 1));
  job->empty = g_new0 (guint8, MAX (job->n, 1));
  bs_volume_slice_size (job->prob, job->plane, &w, &h);
  {
    g_autofree float *p = g_new (float, (gsize) w * h);
    g_autofree float *t = g_new (float, (gsize) w * h);

    for (int s = 0; s < job->n; s++)
      {
        if (job->plane == job->net_plane ? !job->computed[s] : !complete)
          continue;
        bs_volume_get_slice (job->prob, 0, job->plane, s, p);
        bs_volume_get_slice (job->truth, 0, job->plane, s, t);
        bs_confusion_add (&job->slice_conf[s], p, t, (gsize) w * h);
        job->valid[s] = 1;
        job->empty[s] = truth_slice_empty (t, (gsize) w * h);
      }
  }
}

static void
volume_job_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  VolumeJob *job = task_data;

  if (job->apply_cleanup)
    volume_job_clean (job);
  if (job->truth != NULL)
    volume_job_count (job);
  g_task_return_boolean (task, TRUE);
}

static void
volume_job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BsSession *self = BS_SESSION (source);
  VolumeJob *job = g_task_get_task_data (G_TASK (result));

  g_task_propagate_boolean (G_TASK (result), NULL);
  if (job->generation != self->generation || job->serial != self->volume_serial || self->prob == NULL)
    return;
  self->volume_job_running = FALSE;
  if (job->cleaned)
    {
      /* Switching off what the job found is a short list: the volume (and
       * every pointer to it) stays the same. */
      for (guint i = 0; i < job->saved->len; i++)
        self->prob->data[g_array_index (job->saved, CleanupVoxel, i).index] = 0.0f;
      g_clear_pointer (&self->cleanup_saved, g_array_unref);
      self->cleanup_saved = g_steal_pointer (&job->saved);
      self->cleanup_stats = job->stats;
      self->raw_volume_conf = self->volume_conf;
      self->cleanup_applied = TRUE;
    }
  if (job->truth != NULL && job->n == bs_session_get_n_slices (self) && job->plane == self->plane)
    {
      if (job->cleaned)
        self->volume_conf = job->volume_conf;
      /* Slices that arrived while the job counted keep their own counts. */
      for (int s = 0; s < job->n; s++)
        if (job->valid[s] || !self->slice_conf_valid[s])
          {
            self->slice_conf[s] = job->slice_conf[s];
            self->slice_conf_valid[s] = job->valid[s];
            self->slice_truth_empty[s] = job->empty[s];
          }
    }
  update_case_dice (self);
  g_signal_emit (self, signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
  notify (self, PROP_BUSY);
  notify (self, PROP_CLEANUP);
}

/* Recounts the viewed plane, and cleans the volume up first when it is
 * complete and the clean-up is on but not applied yet. */
static void
start_volume_job (BsSession *self)
{
  g_autoptr(GTask) task = NULL;
  VolumeJob *job;

  if (self->prob == NULL)
    return;
  job = g_new0 (VolumeJob, 1);
  job->generation = self->generation;
  job->serial = ++self->volume_serial;
  job->apply_cleanup = self->cleanup && !self->cleanup_applied && bs_session_volume_complete (self);
  if (!job->apply_cleanup && self->truth == NULL)
    {
      g_free (job);
      return;
    }
  job->prob = bs_volume_copy (self->prob);
  job->truth = self->truth != NULL ? bs_volume_copy (self->truth) : NULL;
  job->n_net = bs_session_get_n_net_slices (self);
  job->computed = g_memdup2 (self->computed, MAX (job->n_net, 1));
  job->net_plane = self->net_plane;
  job->plane = self->plane;
  /* The viewed plane's counts are unknown until the job is back. */
  if (self->slice_conf_valid != NULL && !(self->plane == self->net_plane && !job->apply_cleanup))
    memset (self->slice_conf_valid, 0, MAX (bs_session_get_n_slices (self), 1));
  self->volume_job_running = TRUE;
  task = g_task_new (self, NULL, volume_job_done, NULL);
  g_task_set_task_data (task, job, volume_job_free);
  g_task_set_name (task, "bs-session-volume");
  g_task_run_in_thread (task, volume_job_thread);
  notify (self, PROP_BUSY);
}

/* Puts back what the clean-up switched off (a short list), then recounts. */
static void
cleanup_undo (BsSession *self)
{
  if (!self->cleanup_applied)
    return;
  for (guint i = 0; i < self->cleanup_saved->len; i++)
    {
      const CleanupVoxel *cv = &g_array_index (self->cleanup_saved, CleanupVoxel, i);
      self->prob->data[cv->index] = cv->prob;
    }
  g_array_set_size (self->cleanup_saved, 0);
  self->cleanup_applied = FALSE;
  self->volume_conf = self->raw_volume_conf;
  start_volume_job (self);
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
      const float *p = r->probs + px * i;

      if (s < 0 || s >= n_net || (self->cleanup_applied && self->computed[s]))
        continue;
      bs_volume_set_slice (self->prob, 0, self->net_plane, s, p);
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
              self->slice_truth_empty[s] = truth_slice_empty (truth, px);
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
      self->speed_pos = (self->speed_pos + 1) % SPEED_RUNS;
      self->n_speed = MIN (self->n_speed + 1, SPEED_RUNS);
    }
  if (!self->ready)
    {
      self->ready = TRUE;
      notify (self, PROP_READY);
    }
  /* Another plane's slice crosses every slice of the network's plane. */
  if (self->plane == self->net_plane)
    g_signal_emit (self, signals[SIGNAL_RESULTS_CHANGED], 0, r->first, r->n);
  else
    g_signal_emit (self, signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
  notify (self, PROP_N_COMPUTED);
  if (r->timing.n_slices > 0)
    g_signal_emit (self, signals[SIGNAL_TIMING_CHANGED], 0);
  if (!was_complete && bs_session_volume_complete (self)
      && ((self->cleanup && !self->cleanup_applied) || self->plane != self->net_plane))
    start_volume_job (self);
}

static void
on_plan_ready (BsInferenceWorker *worker, guint generation, const char *description, BsSession *self)
{
  g_free (self->plan_text);
  self->plan_text = g_strdup_printf (_("Plan: %s"), description);
  set_activity (self, NULL);
  notify (self, PROP_PLAN_TEXT);
  if (!self->ready)
    {
      self->ready = TRUE;
      notify (self, PROP_READY);
    }
  g_signal_emit (self, signals[SIGNAL_TIMING_CHANGED], 0);
}

static void
on_worker_failed (BsInferenceWorker *worker, guint generation, GError *error, BsSession *self)
{
  g_autofree char *title = NULL;
  const char *model = self->model != NULL && self->model->path != NULL ? self->model->path : _("random weights");

  set_activity (self, NULL);
  self->worker_busy = FALSE;
  self->inference_failed = TRUE;
  notify (self, PROP_BUSY);
  g_signal_emit (self, signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
  title = g_strdup_printf (_("Inference with %s (%s) failed"), model, bs_precision_name (self->opts.precision));
  emit_failed (self, BS_SESSION_FAILED_INFERENCE, title, error);
}

static void
on_worker_finished (BsInferenceWorker *worker, guint generation, BsSession *self)
{
  self->worker_busy = FALSE;
  update_case_dice (self);
  notify (self, PROP_BUSY);
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
static void
restart_inference (BsSession *self)
{
  set_generation (self);
  reset_results (self);
  g_clear_pointer (&self->plan_text, g_free);
  self->ready = FALSE;
  self->worker_busy = FALSE;
  if (self->input != NULL)
    {
      bs_inference_worker_set_job (self->worker, self->input, self->net_plane, &self->opts, self->generation);
      if (self->plane == self->net_plane)
        bs_inference_worker_request_slice (self->worker, self->generation, self->slice);
      self->worker_busy = TRUE;
      set_activity (self, self->opts.precision == BS_PRECISION_INT8 ? _("Calibrating and building the int8 plan…")
                                                                    : _("Building the inference plan…"));
    }
  else
    bs_inference_worker_clear (self->worker);
  g_object_freeze_notify (G_OBJECT (self));
  notify (self, PROP_GENERATION);
  notify (self, PROP_READY);
  notify (self, PROP_BUSY);
  notify (self, PROP_N_COMPUTED);
  notify (self, PROP_PLAN_TEXT);
  g_object_thaw_notify (G_OBJECT (self));
  g_signal_emit (self, signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
  g_signal_emit (self, signals[SIGNAL_TIMING_CHANGED], 0);
}

/* ---- Opening (off the main thread) ---- */

typedef struct {
  char *path;              /* dataset path, or NULL to keep the open one */
  char *model_path;        /* model to load, or NULL */
  BsSessionModel model_choice;
  BsSessionFailure failure;
  int case_index;
  BsDataset *dataset;      /* borrowed when path is NULL */
  BsUnet *model;           /* copy of the current model */
  /* results */
  BsDataset *new_dataset;
  BsCase *bcase;
  BsVolume *truth;
  BsVolume *prepared;
  BsUnet *new_model;
  float *auto_lo, *auto_hi;
  char *inputs_text;
} OpenJob;

static void
open_job_free (gpointer data)
{
  OpenJob *job = data;

  g_free (job->path);
  g_free (job->model_path);
  g_clear_pointer (&job->model, bs_unet_free);
  g_clear_pointer (&job->new_dataset, bs_dataset_free);
  g_clear_pointer (&job->bcase, bs_case_free);
  g_clear_pointer (&job->truth, bs_volume_free);
  g_clear_pointer (&job->prepared, bs_volume_free);
  g_clear_pointer (&job->new_model, bs_unet_free);
  g_free (job->auto_lo);
  g_free (job->auto_hi);
  g_free (job->inputs_text);
  g_free (job);
}

static BsUnet *
random_model (void)
{
  BsUnetConfig config = { 0 };
  char *modalities[] = { (char *) "FLAIR", NULL };

  config.fms = 16;
  config.in_channels = 1;
  config.upsample = BS_UPSAMPLE_TRANSPOSED;
  config.modalities = modalities;
  config.normalisation = (char *) "zscore-foreground";
  config.crop = 128;
  return bs_unet_new_random (&config, 1);
}

#define AUTO_WINDOW_STRIDE 7

static void
compute_auto_windows (OpenJob *job)
{
  const BsVolume *img = job->bcase->image;
  gsize nvox = bs_volume_n_voxels (img);
  gsize n = (nvox + AUTO_WINDOW_STRIDE - 1) / AUTO_WINDOW_STRIDE;
  g_autofree float *sample = g_new (float, MAX (n, 1));

  job->auto_lo = g_new (float, img->n_channels);
  job->auto_hi = g_new (float, img->n_channels);
  for (int c = 0; c < img->n_channels; c++)
    {
      const float *data = bs_volume_channel (img, c);
      gsize k = 0;

      /* A regular subsample has the same percentiles within a grey level and
       * keeps opening a large case quick. */
      for (gsize v = 0; v < nvox; v += AUTO_WINDOW_STRIDE)
        sample[k++] = data[v];
      bs_auto_window (sample, k, &job->auto_lo[c], &job->auto_hi[c]);
      if (!(job->auto_hi[c] > job->auto_lo[c]))
        bs_volume_value_range (img, c, &job->auto_lo[c], &job->auto_hi[c]);
      if (!(job->auto_hi[c] > job->auto_lo[c]))
        job->auto_hi[c] = job->auto_lo[c] + 1;
    }
}

/* "Inputs: FLAIR, T1gd · missing: T1w, T2w (zeros)": a modality the case
 * lacks is a channel of zeros after preparation (the model is trained for it). */
static char *
describe_inputs (const BsVolume *prepared)
{
  g_autoptr(GString) have = g_string_new (NULL);
  g_autoptr(GString) missing = g_string_new (NULL);
  gsize n = bs_volume_n_voxels (prepared);

  for (int c = 0; c < prepared->n_channels; c++)
    {
      const float *d = bs_volume_channel (prepared, c);
      gboolean any = FALSE;
      GString *to;

      for (gsize i = 0; i < n && !any; i++)
        any = d[i] != 0.0f;
      to = any ? have : missing;
      g_string_append_printf (to, "%s%s", to->len ? ", " : "", prepared->channel_names[c]);
    }
  if (missing->len == 0)
    return g_strdup_printf (_("Inputs: %s"), have->str);
  return g_strdup_printf (_("Inputs: %s · missing: %s (zeros)"), have->len ? have->str : "-", missing->str);
}

static void
open_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  OpenJob *job = task_data;
  GError *error = NULL;
  BsDataset *ds = job->dataset;
  const BsUnet *net = job->model;

  if (job->model_choice == BS_SESSION_MODEL_LOAD)
    {
      job->new_model = bs_unet_load_h5 (job->model_path, &error);
      if (job->new_model == NULL)
        {
          job->failure = BS_SESSION_FAILED_MODEL;
          g_task_return_error (task, error);
          return;
        }
      net = job->new_model;
    }
  else if (job->model_choice == BS_SESSION_MODEL_RANDOM || net == NULL)
    {
      job->model_choice = BS_SESSION_MODEL_RANDOM;
      job->new_model = random_model ();
      net = job->new_model;
    }

  job->failure = job->path != NULL ? BS_SESSION_FAILED_DATA : BS_SESSION_FAILED_CASE;
  if (job->path != NULL)
    {
      job->new_dataset = bs_dataset_open (job->path, NULL, &error);
      if (job->new_dataset == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      ds = job->new_dataset;
      if (bs_dataset_get_n_cases (ds) == 0)
        {
          g_task_return_new_error (task, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("“%s” contains no cases"), job->path);
          return;
        }
    }
  if (ds == NULL)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  job->bcase = bs_dataset_load_case (ds, job->case_index, &error);
  if (job->bcase == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  job->prepared = bs_infer_prepare (net, job->bcase->image, &error);
  if (job->prepared == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  job->inputs_text = describe_inputs (job->prepared);
  if (job->bcase->label != NULL)
    job->truth = bs_labels_whole_tumour (job->bcase->label);
  compute_auto_windows (job);
  g_task_return_boolean (task, TRUE);
}

static void
clear_case (BsSession *self)
{
  if (self->worker != NULL)
    bs_inference_worker_clear (self->worker);
  g_clear_pointer (&self->input, bs_inference_input_unref);
  g_clear_pointer (&self->bcase, bs_case_free);
  g_clear_pointer (&self->truth, bs_volume_free);
  g_clear_pointer (&self->prob, bs_volume_free);
  g_clear_pointer (&self->computed, g_free);
  g_clear_pointer (&self->slice_conf, g_free);
  g_clear_pointer (&self->slice_conf_valid, g_free);
  g_clear_pointer (&self->slice_truth_empty, g_free);
  g_clear_pointer (&self->auto_lo, g_free);
  g_clear_pointer (&self->auto_hi, g_free);
  self->volume_serial++;
  self->volume_job_running = FALSE;
  self->ready = FALSE;
  self->worker_busy = FALSE;
}

/* Takes the model the open job loaded (if any) as the session's model. */
static void
adopt_model (BsSession *self, OpenJob *job)
{
  if (job->new_model == NULL)
    return;
  g_clear_pointer (&self->model, bs_unet_free);
  self->model = g_steal_pointer (&job->new_model);
  g_free (self->note);
  self->note = job->model_choice == BS_SESSION_MODEL_RANDOM
                 ? g_strdup (_("No trained model was found: predictions come from random weights. "
                               "Load trained weights with Model."))
                 : NULL;
  notify (self, PROP_MODEL);
  notify (self, PROP_NOTE);
}

static void
adopt_dataset (BsSession *self, OpenJob *job)
{
  guint n;

  clear_case (self);
  g_clear_pointer (&self->dataset, bs_dataset_free);
  self->dataset = g_steal_pointer (&job->new_dataset);
  self->case_index = -1;
  n = bs_dataset_get_n_cases (self->dataset);
  g_free (self->case_dice);
  self->case_dice = g_new (double, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    self->case_dice[i] = NAN;
  notify (self, PROP_DATASET);
}

static void
adopt_case (BsSession *self, OpenJob *job)
{
  gboolean same_geometry = self->bcase != NULL &&
                           memcmp (self->bcase->image->dims, job->bcase->image->dims, sizeof (int) * 3) == 0;
  const BsVolume *img;
  int preferred;

  clear_case (self);
  self->case_index = job->case_index;
  self->bcase = g_steal_pointer (&job->bcase);
  self->truth = g_steal_pointer (&job->truth);
  self->auto_lo = g_steal_pointer (&job->auto_lo);
  self->auto_hi = g_steal_pointer (&job->auto_hi);
  self->input = bs_inference_input_new (bs_unet_copy (self->model), g_steal_pointer (&job->prepared));
  g_free (self->inputs_text);
  self->inputs_text = g_steal_pointer (&job->inputs_text);
  img = self->bcase->image;
  preferred = bs_volume_find_channel (img, "FLAIR");
  if (self->channel < 0 || self->channel >= img->n_channels)
    self->channel = preferred >= 0 ? preferred : 0;
  self->overlay.lo = self->auto_lo[self->channel];
  self->overlay.hi = self->auto_hi[self->channel];
  if (!same_geometry || self->slice >= bs_session_get_n_slices (self))
    self->slice = bs_session_get_n_slices (self) / 2;

  g_object_freeze_notify (G_OBJECT (self));
  notify (self, PROP_CASE);
  notify (self, PROP_CHANNEL);
  notify (self, PROP_SLICE);
  notify (self, PROP_OVERLAY);
  notify (self, PROP_INPUTS_TEXT);
  g_object_thaw_notify (G_OBJECT (self));
  restart_inference (self);
}

static void start_open (BsSession *self, OpenJob *job, const char *what, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data);

static void
start_pending (BsSession *self)
{
  int pending = self->pending_case;

  self->pending_case = -1;
  if (pending >= 0 && (pending != self->case_index || self->bcase == NULL))
    bs_session_load_case (self, pending);
}

static void
open_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BsSession *self = BS_SESSION (source);
  GTask *inner = G_TASK (result);
  GTask *outer = user_data;
  OpenJob *job = g_task_get_task_data (inner);
  g_autoptr(GError) error = NULL;

  self->loading = FALSE;
  set_activity (self, NULL);
  if (!g_task_propagate_boolean (inner, &error))
    {
      /* A model that loaded stays, whatever went wrong with the data after it:
       * the next case opened must not fall back to random weights. */
      adopt_model (self, job);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *title = NULL;

          if (job->failure == BS_SESSION_FAILED_MODEL)
            title = g_strdup_printf (_("Could not load the model “%s”"), job->model_path);
          else if (job->path != NULL)
            title = g_strdup_printf (_("Could not open “%s”"), job->path);
          else
            title = g_strdup_printf (_("Could not load case “%s”"),
                                     bs_dataset_get_case_id (self->dataset, job->case_index));
          emit_failed (self, job->failure, title, error);
        }
      notify (self, PROP_LOADING);
      g_task_return_error (outer, g_steal_pointer (&error));
      g_object_unref (outer);
      start_pending (self);
      return;
    }
  adopt_model (self, job);
  if (job->new_dataset != NULL)
    adopt_dataset (self, job);
  if (job->bcase != NULL)
    adopt_case (self, job);
  else if (job->new_model != NULL && self->bcase == NULL)
    restart_inference (self);
  notify (self, PROP_LOADING);
  g_task_return_boolean (outer, TRUE);
  g_object_unref (outer);
  start_pending (self);
}

static void
start_open (BsSession *self, OpenJob *job, const char *what, GCancellable *cancellable,
            GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) inner = NULL;
  GTask *outer = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (outer, bs_session_open_async);
  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();
  if (self->model != NULL)
    job->model = bs_unet_copy (self->model);
  inner = g_task_new (self, self->load_cancellable, open_done, outer);
  g_task_set_task_data (inner, job, open_job_free);
  g_task_set_name (inner, "bs-open");
  self->loading = TRUE;
  set_activity (self, what);
  notify (self, PROP_LOADING);
  g_task_run_in_thread (inner, open_thread);
}

void
bs_session_open_async (BsSession *self, const char *path, BsSessionModel model, const char *model_path,
                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  OpenJob *job;
  g_autofree char *base = NULL, *what = NULL;

  g_return_if_fail (BS_IS_SESSION (self));
  g_return_if_fail (model != BS_SESSION_MODEL_LOAD || model_path != NULL);

  if (path == NULL && self->loading)
    {
      /* One task at a time may read the dataset; try again when it is done. */
      g_autoptr(GError) error = g_error_new (BS_IO_ERROR, BS_IO_ERROR_INVALID,
                                             _("A case is still loading; load the model when it has opened."));

      emit_failed (self, BS_SESSION_FAILED_MODEL, _("Could not load the model now"), error);
      g_task_report_error (self, callback, user_data, bs_session_open_async, g_steal_pointer (&error));
      return;
    }
  /* The old dataset must not be read by a task still loading from it. */
  if (self->loading)
    {
      self->pending_case = -1;
      g_cancellable_cancel (self->load_cancellable);
    }
  job = g_new0 (OpenJob, 1);
  job->path = g_strdup (path);
  job->model_path = g_strdup (model_path);
  job->model_choice = model;
  if (path != NULL)
    {
      job->case_index = 0;
      base = g_path_get_basename (path);
      what = g_strdup_printf (_("Opening %s…"), base);
    }
  else
    {
      job->dataset = self->dataset;
      job->case_index = self->case_index;
      base = model_path != NULL ? g_path_get_basename (model_path) : g_strdup (_("random weights"));
      what = g_strdup_printf (_("Loading model %s…"), base);
    }
  start_open (self, job, what, cancellable, callback, user_data);
}

gboolean
bs_session_open_finish (BsSession *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
bs_session_load_case (BsSession *self, int index)
{
  OpenJob *job;
  g_autofree char *what = NULL;

  g_return_if_fail (BS_IS_SESSION (self));
  if (self->dataset == NULL || index < 0 || (guint) index >= bs_dataset_get_n_cases (self->dataset))
    return;
  if (self->loading)
    {
      self->pending_case = index;
      return;
    }
  job = g_new0 (OpenJob, 1);
  job->dataset = self->dataset;
  job->case_index = index;
  job->model_choice = BS_SESSION_MODEL_KEEP;
  what = g_strdup_printf (_("Loading %s…"), bs_dataset_get_case_id (self->dataset, index));
  start_open (self, job, what, NULL, NULL, NULL);
}

gboolean
bs_session_is_loading (BsSession *self)
{
  return self->loading;
}

/* ---- Viewing ---- */

void
bs_session_set_plane (BsSession *self, BsPlane plane)
{
  g_return_if_fail (BS_IS_SESSION (self));
  if (plane == self->plane && self->bcase != NULL)
    return;
  self->plane = plane;
  if (self->bcase == NULL)
    {
      notify (self, PROP_PLANE);
      return;
    }
  self->slice = bs_session_get_n_slices (self) / 2;
  reset_display_counts (self);
  /* The prediction stays: other planes are cut from it, nothing reruns. */
  if (self->input != NULL && plane == self->net_plane && self->computed != NULL && !self->computed[self->slice])
    bs_inference_worker_request_slice (self->worker, self->generation, self->slice);
  /* A slice of another plane needs every slice of the network's plane. */
  if (self->input != NULL && plane != self->net_plane && self->fill_cancelled && !bs_session_volume_complete (self))
    bs_session_resume_fill (self);
  g_object_freeze_notify (G_OBJECT (self));
  notify (self, PROP_PLANE);
  notify (self, PROP_SLICE);
  g_object_thaw_notify (G_OBJECT (self));
  start_volume_job (self);
  g_signal_emit (self, signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
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
  if (self->input != NULL && self->plane == self->net_plane && !self->computed[slice])
    bs_inference_worker_request_slice (self->worker, self->generation, slice);
  notify (self, PROP_SLICE);
}

void
bs_session_set_display_channel (BsSession *self, int channel)
{
  g_return_if_fail (BS_IS_SESSION (self));
  if (self->bcase == NULL || channel < 0 || channel >= self->bcase->image->n_channels || channel == self->channel)
    return;
  self->channel = channel;
  self->overlay.lo = self->auto_lo[channel];
  self->overlay.hi = self->auto_hi[channel];
  notify (self, PROP_CHANNEL);
  notify (self, PROP_OVERLAY);
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
  notify (self, PROP_OVERLAY);
}

void
bs_session_reset_window_level (BsSession *self)
{
  if (self->auto_lo == NULL)
    return;
  self->overlay.lo = self->auto_lo[self->channel];
  self->overlay.hi = self->auto_hi[self->channel];
  notify (self, PROP_OVERLAY);
}

void
bs_session_get_plan_options (BsSession *self, BsPlanOptions *opts)
{
  *opts = self->opts;
}

void
bs_session_set_plan_options (BsSession *self, const BsPlanOptions *opts)
{
  g_return_if_fail (BS_IS_SESSION (self));
  BsPlanOptions old = self->opts;

  self->opts = *opts;
  self->opts.batch = MAX (1, self->opts.batch);
  g_object_freeze_notify (G_OBJECT (self));
  notify (self, PROP_PLAN_OPTIONS);
  if (old.precision != self->opts.precision)
    notify (self, PROP_PRECISION);
  if (old.layout != self->opts.layout)
    notify (self, PROP_LAYOUT);
  if (old.fusion != self->opts.fusion)
    notify (self, PROP_FUSION);
  if (old.crop_to_brain != self->opts.crop_to_brain)
    notify (self, PROP_CROP_TO_BRAIN);
  if (old.test_time_flips != self->opts.test_time_flips)
    notify (self, PROP_TEST_TIME_FLIPS);
  if (old.profile_layers != self->opts.profile_layers)
    notify (self, PROP_PROFILE_LAYERS);
  if (old.threads != self->opts.threads)
    notify (self, PROP_THREADS);
  if (old.batch != self->opts.batch)
    notify (self, PROP_BATCH);
  g_object_thaw_notify (G_OBJECT (self));
  if (self->bcase != NULL)
    restart_inference (self);
}

void
bs_session_set_cleanup (BsSession *self, gboolean cleanup)
{
  g_return_if_fail (BS_IS_SESSION (self));
  cleanup = !!cleanup;
  if (self->cleanup == cleanup)
    return;
  self->cleanup = cleanup;
  if (self->prob != NULL)
    {
      if (!cleanup)
        {
          cleanup_undo (self);
          update_case_dice (self);
        }
      else if (bs_session_volume_complete (self))
        start_volume_job (self);
      g_signal_emit (self, signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
    }
  notify (self, PROP_CLEANUP);
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
      BsCleanupStats none = { 0, 0, 0, 0 };
      *stats = self->cleanup_applied ? self->cleanup_stats : none;
    }
  return self->cleanup_applied;
}

/* ---- Worker control ---- */

void
bs_session_cancel_fill (BsSession *self)
{
  bs_inference_worker_cancel_fill (self->worker);
  self->fill_cancelled = TRUE;
  self->worker_busy = FALSE;
  notify (self, PROP_BUSY);
}

void
bs_session_resume_fill (BsSession *self)
{
  bs_inference_worker_resume_fill (self->worker);
  self->fill_cancelled = FALSE;
  self->worker_busy = self->computed != NULL && !bs_session_volume_complete (self);
  notify (self, PROP_BUSY);
}

/* ---- Getters ---- */

BsDataset *bs_session_get_dataset (BsSession *self) { return self->dataset; }
int bs_session_get_case_index (BsSession *self) { return self->case_index; }
BsCase *bs_session_get_case (BsSession *self) { return self->bcase; }
const BsVolume *bs_session_get_truth (BsSession *self) { return self->truth; }
const BsUnet *bs_session_get_model (BsSession *self) { return self->model; }
const char *bs_session_get_inputs_text (BsSession *self) { return self->inputs_text; }
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

gboolean bs_session_is_busy (BsSession *self) { return self->worker_busy || self->volume_job_running; }
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

double
bs_session_get_case_dice (BsSession *self, int i)
{
  if (self->dataset == NULL || self->case_dice == NULL || i < 0 || (guint) i >= bs_dataset_get_n_cases (self->dataset))
    return NAN;
  return self->case_dice[i];
}

gboolean
bs_session_net_slice_is_computed (BsSession *self, int k)
{
  return self->computed != NULL && k >= 0 && k < bs_session_get_n_net_slices (self) && self->computed[k];
}

gboolean
bs_session_get_slice_confusion (BsSession *self, int s, BsConfusion *conf, gboolean *truth_empty)
{
  if (self->truth == NULL || self->slice_conf == NULL || s < 0 || s >= bs_session_get_n_slices (self)
      || !bs_session_slice_is_computed (self, s) || !self->slice_conf_valid[s])
    return FALSE;
  if (conf != NULL)
    *conf = self->slice_conf[s];
  if (truth_empty != NULL)
    *truth_empty = self->slice_truth_empty[s];
  return TRUE;
}

void
bs_session_get_volume_confusion (BsSession *self, BsConfusion *conf, BsConfusion *raw)
{
  if (conf != NULL)
    *conf = self->volume_conf;
  if (raw != NULL)
    *raw = self->cleanup_applied ? self->raw_volume_conf : self->volume_conf;
}

double
bs_session_get_volume_dice (BsSession *self)
{
  if (self->truth == NULL || self->n_computed == 0)
    return NAN;
  return bs_confusion_dice (&self->volume_conf);
}

gboolean
bs_session_get_last_timing (BsSession *self, BsTiming *timing)
{
  if (!self->has_timing || self->last_timing.n_slices <= 0)
    return FALSE;
  if (timing != NULL)
    *timing = self->last_timing;
  return TRUE;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

double
bs_session_get_steady_ms_per_slice (BsSession *self, int *n_runs)
{
  double v[SPEED_RUNS];
  int n = self->n_speed;

  if (n_runs != NULL)
    *n_runs = n;
  if (n == 0)
    return NAN;
  memcpy (v, self->speed_hist, sizeof v[0] * n);
  qsort (v, n, sizeof v[0], compare_doubles);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
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
    case PROP_PRECISION: g_value_set_string (value, bs_precision_name (self->opts.precision)); break;
    case PROP_LAYOUT: g_value_set_string (value, bs_memlayout_name (self->opts.layout)); break;
    case PROP_FUSION: g_value_set_boolean (value, self->opts.fusion); break;
    case PROP_CROP_TO_BRAIN: g_value_set_boolean (value, self->opts.crop_to_brain); break;
    case PROP_TEST_TIME_FLIPS: g_value_set_boolean (value, self->opts.test_time_flips); break;
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
    case PROP_CLEANUP: bs_session_set_cleanup (self, g_value_get_boolean (value)); break;
    case PROP_PRECISION:
    case PROP_LAYOUT:
    case PROP_FUSION:
    case PROP_CROP_TO_BRAIN:
    case PROP_TEST_TIME_FLIPS:
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

  clear_case (self);
  g_clear_pointer (&self->dataset, bs_dataset_free);
  g_clear_pointer (&self->model, bs_unet_free);
  g_free (self->case_dice);
  g_free (self->plan_text);
  g_free (self->inputs_text);
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

  properties[PROP_DATASET] = g_param_spec_pointer ("dataset", NULL, NULL, ro);
  properties[PROP_CASE] = g_param_spec_pointer ("case", NULL, NULL, ro);
  properties[PROP_MODEL] = g_param_spec_pointer ("model", NULL, NULL, ro);
  properties[PROP_NOTE] = g_param_spec_string ("note", NULL, NULL, NULL, ro);
  properties[PROP_LOADING] = g_param_spec_boolean ("loading", NULL, NULL, FALSE, ro);
  properties[PROP_ACTIVITY] = g_param_spec_string ("activity", NULL, NULL, NULL, ro);
  properties[PROP_PLANE] = g_param_spec_int ("plane", NULL, NULL, 0, 2, BS_PLANE_AXIAL, rw);
  properties[PROP_SLICE] = g_param_spec_int ("slice", NULL, NULL, 0, G_MAXINT, 0, rw);
  properties[PROP_CHANNEL] = g_param_spec_int ("channel", NULL, NULL, -1, G_MAXINT, -1, rw);
  properties[PROP_OVERLAY] = g_param_spec_pointer ("overlay", NULL, NULL, ro);
  properties[PROP_PLAN_OPTIONS] = g_param_spec_pointer ("plan-options", NULL, NULL, ro);
  properties[PROP_CLEANUP] = g_param_spec_boolean ("cleanup", NULL, NULL, TRUE, rw);
  properties[PROP_GENERATION] = g_param_spec_uint ("generation", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_READY] = g_param_spec_boolean ("ready", NULL, NULL, FALSE, ro);
  properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE, ro);
  properties[PROP_N_COMPUTED] = g_param_spec_int ("n-computed", NULL, NULL, 0, G_MAXINT, 0, ro);
  properties[PROP_PLAN_TEXT] = g_param_spec_string ("plan-text", NULL, NULL, NULL, ro);
  properties[PROP_INPUTS_TEXT] = g_param_spec_string ("inputs-text", NULL, NULL, NULL, ro);
  properties[PROP_PRECISION] = g_param_spec_string ("precision", NULL, NULL, "fp32", rw);
  properties[PROP_LAYOUT] = g_param_spec_string ("layout", NULL, NULL, "blocked", rw);
  properties[PROP_FUSION] = g_param_spec_boolean ("fusion", NULL, NULL, TRUE, rw);
  properties[PROP_CROP_TO_BRAIN] = g_param_spec_boolean ("crop-to-brain", NULL, NULL, TRUE, rw);
  properties[PROP_TEST_TIME_FLIPS] = g_param_spec_boolean ("test-time-flips", NULL, NULL, FALSE, rw);
  properties[PROP_PROFILE_LAYERS] = g_param_spec_boolean ("profile-layers", NULL, NULL, FALSE, rw);
  /* 0: every core the other programs leave free */
  properties[PROP_THREADS] = g_param_spec_int ("threads", NULL, NULL, 0, 1024, 0, rw);
  properties[PROP_BATCH] = g_param_spec_int ("batch", NULL, NULL, 1, 1024, 1, rw);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* (first, n): slices of the network's plane whose results changed; n < 0: anything may have. */
  signals[SIGNAL_RESULTS_CHANGED] =
    g_signal_new ("results-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);
  signals[SIGNAL_TIMING_CHANGED] =
    g_signal_new ("timing-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  /* (BsSessionFailure what, const char *title, const GError *error) */
  signals[SIGNAL_FAILED] =
    g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_UINT, G_TYPE_STRING, G_TYPE_ERROR);
  signals[SIGNAL_CASE_DICE_CHANGED] =
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
