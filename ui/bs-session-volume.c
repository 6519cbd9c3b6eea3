#include <math.h>
#include <string.h>

#include "bs-postprocess.h"
#include "bs-segment.h"
#include "bs-session-private.h"

/* ---- Whole-volume work (clean-up, recount) off the main thread ---- */

typedef struct {
  guint generation, serial;
  BsVolume *prob;        /* a copy: the session's may be freed meanwhile */
  BsVolume *truth;       /* a copy, or NULL */
  BsVolume *truth_region[BS_N_REGIONS];  /* copies of TC and ET ([WT] = truth, not owned), or NULL */
  int channels[BS_N_REGIONS];            /* prob channel of each region, or -1 */
  guint8 *computed;      /* network plane */
  int n_net;
  BsPlane net_plane, plane;
  gboolean apply_cleanup;
  gboolean recount;      /* a complete volume: its counts replace the session's (corrections change them) */
  BsConfusion raw_wt;    /* the whole tumour's counts before the clean-up */
  gboolean raw_wt_valid;
  /* results */
  gboolean cleaned;
  BsCleanupStats stats;
  GArray *saved;
  BsConfusion volume_conf;
  int n;
  BsConfusion *slice_conf;
  guint8 *valid, *empty;
  BsRegionMetrics metrics[BS_N_REGIONS];
  gboolean metrics_valid[BS_N_REGIONS];
  double raw_dice[BS_N_REGIONS];         /* TC and ET before the clean-up */
  gboolean raw_valid[BS_N_REGIONS];
} VolumeJob;

static void
volume_job_free (gpointer data)
{
  VolumeJob *job = data;

  g_clear_pointer (&job->prob, bs_volume_free);
  g_clear_pointer (&job->truth, bs_volume_free);
  for (int r = BS_REGION_TC; r < BS_N_REGIONS; r++)
    g_clear_pointer (&job->truth_region[r], bs_volume_free);
  g_free (job->computed);
  g_clear_pointer (&job->saved, g_array_unref);
  g_free (job->slice_conf);
  g_free (job->valid);
  g_free (job->empty);
  g_free (job);
}

/* The tumour core's and enhancing tumour's volume Dice on the network's
 * own probabilities (job->prob before the clean-up is written into it), for
 * the Dice panel's "raw" beside the cleaned figure. */
static void
volume_job_raw_dice (VolumeJob *job)
{
  gsize nvox = bs_volume_n_voxels (job->prob);
  const float *probs[BS_N_REGIONS * 2] = { NULL };
  g_autofree float *mask = NULL;

  for (int c = 0; c < job->prob->n_channels && c < (int) G_N_ELEMENTS (probs); c++)
    probs[c] = bs_volume_channel (job->prob, c);
  /* the whole tumour's too: the session's running counts may hold
   * corrections the clean-up's switch has just put back */
  if (job->truth != NULL)
    {
      bs_confusion_add (&job->raw_wt, probs[0], job->truth->data, nvox);
      job->raw_wt_valid = TRUE;
    }
  for (int r = BS_REGION_TC; r < BS_N_REGIONS; r++)
    {
      BsConfusion c = { 0 };

      if (job->channels[r] < 0 || job->truth_region[r] == NULL)
        continue;
      if (mask == NULL && !(mask = g_try_new (float, nvox)))
        return;
      bs_session_region_mask (probs, job->channels, r, nvox, mask);
      bs_confusion_add (&c, mask, job->truth_region[r]->data, nvox);
      job->raw_dice[r] = bs_confusion_dice (&c);
      job->raw_valid[r] = TRUE;
    }
}

static void
volume_job_clean (VolumeJob *job)
{
  g_autoptr(BsSegmentResult) r = g_new0 (BsSegmentResult, 1);
  gboolean ok;

  /* The pipeline's own threshold and clean-up (bs_segment_finish), on the
   * volume the worker filled; what it changed is kept for the undo. */
  r->prob = job->prob;
  ok = bs_segment_finish (r, NULL, job->net_plane, NULL, TRUE, NULL);
  r->prob = NULL;
  if (!ok)
    return;
  job->stats = r->cleanup;
  volume_job_raw_dice (job);
  job->saved = g_array_new (FALSE, FALSE, sizeof (CleanupVoxel));
  /* The core's filled holes become certain core and its trimmed voxels
   * certain background, as the masks take them, when the pipeline read the
   * core from the channel the session shows as core; else they are not the
   * session's, and not counted. */
  if (!bs_segment_write_cleanup (r, job->prob, job->channels[BS_REGION_TC], job->saved))
    job->stats.core_filled = job->stats.core_trimmed = 0;
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
        job->empty[s] = bs_session_truth_slice_empty (t, (gsize) w * h);
      }
  }
}

/* The BraTS metrics of every region the model has, on the complete (and
 * cleaned-up) volume: Dice, HD95, volumes where the labels tell the region
 * apart; elsewhere (no ground truth, or labels without sub-regions) the
 * predicted volume alone, the rest NaN: what a clinician with an unlabelled
 * scan wants to read. */
static void
volume_job_measure (VolumeJob *job)
{
  gsize nvox = bs_volume_n_voxels (job->prob);
  const float *probs[BS_N_REGIONS * 2] = { NULL };
  g_autofree float *mask = g_new (float, nvox);

  for (int c = 0; c < job->prob->n_channels && c < (int) G_N_ELEMENTS (probs); c++)
    probs[c] = bs_volume_channel (job->prob, c);
  for (int r = 0; r < BS_N_REGIONS; r++)
    {
      const BsVolume *t = job->truth_region[r];

      /* A region the labels cannot tell apart (binary or fused labels) still
       * has the predicted volume: scored against no truth. */
      if (job->channels[r] < 0)
        continue;
      bs_session_region_mask (probs, job->channels, r, nvox, mask);
      bs_metrics_region (mask, t != NULL ? t->data : NULL, job->prob->dims, job->prob->spacing, &job->metrics[r]);
      job->metrics_valid[r] = TRUE;
    }
}

static void
volume_job_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  VolumeJob *job = task_data;
  gboolean complete = TRUE;

  if (job->apply_cleanup)
    volume_job_clean (job);
  if (job->truth != NULL)
    volume_job_count (job);
  for (int s = 0; s < job->n_net && complete; s++)
    complete = job->computed[s] != 0;
  if (complete)
    volume_job_measure (job);
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
        {
          const CleanupVoxel *cv = &g_array_index (job->saved, CleanupVoxel, i);

          self->prob->data[cv->index] = cv->set;
        }
      g_clear_pointer (&self->cleanup_saved, g_array_unref);
      self->cleanup_saved = g_steal_pointer (&job->saved);
      self->cleanup_stats = job->stats;
      self->raw_volume_conf = job->raw_wt_valid ? job->raw_wt : self->volume_conf;
      self->cleanup_applied = TRUE;
      memcpy (self->region_raw_dice, job->raw_dice, sizeof self->region_raw_dice);
      memcpy (self->region_raw_valid, job->raw_valid, sizeof self->region_raw_valid);
    }
  if (job->truth != NULL && job->n == bs_session_get_n_slices (self) && job->plane == self->plane)
    {
      if (job->cleaned || job->recount)
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
  memcpy (self->region_metrics, job->metrics, sizeof self->region_metrics);
  memcpy (self->region_metrics_valid, job->metrics_valid, sizeof self->region_metrics_valid);
  bs_session_update_case_dice (self);
  g_signal_emit (self, bs_session_signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
  bs_session_notify (self, PROP_BUSY);
  bs_session_notify (self, PROP_CLEANUP);
  /* strokes painted while it counted: one more count, not one per stroke */
  if (self->edit_remeasure)
    {
      self->edit_remeasure = FALSE;
      bs_session_start_volume_job (self);
    }
}

/* Recounts the viewed plane, and cleans the volume up first when it is
 * complete and the clean-up is on but not applied yet. */
void
bs_session_start_volume_job (BsSession *self)
{
  g_autoptr(GTask) task = NULL;
  VolumeJob *job;

  /* the three-plane passes start it when they are done */
  if (self->prob == NULL || self->planes_running)
    return;
  job = g_new0 (VolumeJob, 1);
  job->generation = self->generation;
  job->serial = ++self->volume_serial;
  job->apply_cleanup = self->cleanup && !self->cleanup_applied && bs_session_volume_complete (self);
  job->recount = bs_session_volume_complete (self);
  if (!job->apply_cleanup && self->truth == NULL && !bs_session_volume_complete (self))
    {
      g_free (job);
      return;
    }
  job->prob = bs_volume_copy (self->prob);
  job->truth = self->truth != NULL ? bs_volume_copy (self->truth) : NULL;
  if (job->prob == NULL || (self->truth != NULL && job->truth == NULL))
    {
      /* Out of memory for the copies: the counts stay as they are. */
      g_warning ("Not enough memory to measure the volume");
      volume_job_free (job);
      return;
    }
  job->truth_region[BS_REGION_WT] = job->truth;
  for (int r = 0; r < BS_N_REGIONS; r++)
    {
      const BsVolume *t = bs_session_get_truth_region (self, r);

      if (r != BS_REGION_WT && t != NULL && job->truth != NULL)
        job->truth_region[r] = bs_volume_copy (t);
      job->channels[r] = bs_session_region_channel (self, r);
    }
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
  bs_session_notify (self, PROP_BUSY);
}

BsVolume *
bs_session_copy_network_probabilities (BsSession *self)
{
  BsVolume *copy;

  g_return_val_if_fail (BS_IS_SESSION (self), NULL);
  if (self->prob == NULL || (copy = bs_volume_copy (self->prob)) == NULL)
    return NULL;
  if (self->cleanup_applied && self->cleanup_saved != NULL)
    for (guint i = 0; i < self->cleanup_saved->len; i++)
      {
        const CleanupVoxel *cv = &g_array_index (self->cleanup_saved, CleanupVoxel, i);

        copy->data[cv->index] = cv->prob;
      }
  return copy;
}

/* Puts back what the clean-up changed (a short list), then recounts. */
void
bs_session_cleanup_undo (BsSession *self)
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
  bs_session_start_volume_job (self);
}

/* ---- The Dice counts the volume job and the slices keep ---- */

double
bs_session_get_case_dice (BsSession *self, int i)
{
  if (self->dataset == NULL || self->case_dice == NULL || i < 0 || (guint) i >= bs_dataset_get_n_cases (self->dataset))
    return NAN;
  return self->case_dice[i];
}

void
bs_session_count_slice (BsSession *self, int s)
{
  g_autofree float *p = NULL, *t = NULL;
  int w, h;

  bs_volume_slice_size (self->prob, self->plane, &w, &h);
  p = g_new (float, (gsize) w * h);
  t = g_new (float, (gsize) w * h);
  bs_volume_get_slice (self->prob, 0, self->plane, s, p);
  bs_volume_get_slice (self->truth, 0, self->plane, s, t);
  self->slice_conf[s] = (BsConfusion) { 0 };
  bs_confusion_add (&self->slice_conf[s], p, t, (gsize) w * h);
  self->slice_truth_empty[s] = bs_session_truth_slice_empty (t, (gsize) w * h);
  self->slice_conf_valid[s] = 1;
}

gboolean
bs_session_get_slice_confusion (BsSession *self, int s, BsConfusion *conf, gboolean *truth_empty)
{
  if (self->truth == NULL || self->slice_conf == NULL || s < 0 || s >= bs_session_get_n_slices (self)
      || !bs_session_slice_is_computed (self, s))
    return FALSE;
  /* Another plane while the three-plane passes run or wait (stopped): no volume job counts
   * it until they end, so count this slice of the axial result now, as the
   * other regions' rows do (the whole tumour read "…" beside their figures). */
  if (!self->slice_conf_valid[s] && self->plane != self->net_plane && bs_session_planes_pending (self, NULL, NULL))
    bs_session_count_slice (self, s);
  if (!self->slice_conf_valid[s])
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
