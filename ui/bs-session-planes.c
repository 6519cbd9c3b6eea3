/* Three planes in the window: the coronal and sagittal passes of a complete
 * axial volume, off the main thread, averaged into the session's volume. */
#include <glib/gi18n.h>
#include <string.h>

#include "bs-calibration.h"
#include "bs-main-post.h"
#include "bs-segment.h"
#include "bs-session-private.h"

typedef struct {
  guint generation, serial;
  BsInferenceInput *input;  /* a reference: the net and the prepared case */
  BsPlane plane;
  BsPlanOptions opts;
  BsVolume *prob;           /* a copy of the session's, averaged in place */
  BsVolume *truth;          /* a copy, or NULL */
  BsConfusion raw_conf;     /* result: the mean against the truth, before the clean-up */
  double ms;
  GError *error;
  /* progress, posted to the main context */
  BsSession *session;       /* a reference */
  int done, total;
} PlanesJob;

static void
planes_job_free (gpointer data)
{
  PlanesJob *job = data;

  g_clear_pointer (&job->input, bs_inference_input_unref);
  g_clear_pointer (&job->prob, bs_volume_free);
  g_clear_pointer (&job->truth, bs_volume_free);
  g_clear_error (&job->error);
  g_clear_object (&job->session);
  g_free (job);
}

typedef struct {
  BsSession *session;
  guint generation, serial;
  int done, total;
} PlanesProgress;

static gboolean
planes_progress_main (gpointer data)
{
  PlanesProgress *p = data;
  BsSession *self = p->session;

  if (self->planes_running && p->generation == self->generation && p->serial == self->planes_serial)
    {
      self->planes_slices_done = p->done;
      self->planes_slices_total = p->total;
      bs_session_notify (self, PROP_N_COMPUTED);
    }
  g_object_unref (p->session);
  g_free (p);
  return G_SOURCE_REMOVE;
}

static void
planes_progress (int done, int total, gpointer user_data)
{
  PlanesJob *job = user_data;
  PlanesProgress *p;

  /* a line every tenth of the way is enough */
  if (done != total && done * 10 / MAX (total, 1) == job->done * 10 / MAX (total, 1))
    return;
  job->done = done;
  p = g_new (PlanesProgress, 1);
  p->session = g_object_ref (job->session);
  p->generation = job->generation;
  p->serial = job->serial;
  p->done = done;
  p->total = total;
  bs_main_post (NULL, "bs-planes-progress", planes_progress_main, p, NULL);
}

static void
planes_job_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  PlanesJob *job = task_data;
  const BsUnet *net = job->input->net;
  const BsVolume *prepared = job->input->prepared;
  g_autoptr(BsCalibration) cal = NULL;
  BsTiming timing;
  double t0 = bs_now_ms ();

  bs_timing_reset (&timing);
  if (job->opts.precision == BS_PRECISION_INT8)
    {
      /* the worker's calibration: the same slices of the same window */
      g_autoptr(BsInferGeometry) geom = bs_infer_geometry_new_for_net (net, prepared, job->plane,
                                                                       job->opts.crop_to_brain);
      cal = bs_calibration_new_for_case (net, prepared, geom, job->opts.calibrate_case, &job->error);
      if (cal == NULL)
        {
          g_task_return_boolean (task, FALSE);
          return;
        }
    }
  if (!bs_segment_average_planes (net, prepared, job->plane, &job->opts, cal, job->prob, &timing, planes_progress,
                                  job, 0, job->total, cancellable, &job->error))
    {
      g_task_return_boolean (task, FALSE);
      return;
    }
  if (job->truth != NULL)
    bs_confusion_add (&job->raw_conf, job->prob->data, job->truth->data, bs_volume_n_voxels (job->prob));
  job->ms = bs_now_ms () - t0;
  g_task_return_boolean (task, TRUE);
}

static void
planes_job_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BsSession *self = BS_SESSION (source);
  PlanesJob *job = g_task_get_task_data (G_TASK (result));
  gboolean ok = g_task_propagate_boolean (G_TASK (result), NULL);

  /* A stopped run ends (cancelled) after Resume may have started the next
   * one: only the newest run's end counts. */
  if (job->generation != self->generation || job->serial != self->planes_serial || !self->planes_running
      || self->prob == NULL)
    return;
  self->planes_running = FALSE;
  g_clear_object (&self->planes_cancellable);
  if (!ok)
    {
      if (!g_error_matches (job->error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          const char *model = self->model != NULL && self->model->path != NULL ? self->model->path
                                                                                 : _("random weights");
          g_autofree char *title = g_strdup_printf (_("Inference with %s (%s) in three planes failed"), model,
                                                    bs_precision_name (self->opts.precision));

          /* The axial volume stands; it is cleaned up and measured as it is. */
          self->planes_done = TRUE;
          bs_session_emit_failed (self, BS_SESSION_FAILED_INFERENCE, title, job->error);
          bs_session_start_volume_job (self);
        }
      bs_session_notify (self, PROP_BUSY);
      return;
    }
  /* The volume (and every pointer to it) stays; its values become the mean. */
  memcpy (self->prob->data, job->prob->data, bs_volume_n_voxels (job->prob) * job->prob->n_channels * sizeof (float));
  self->planes_done = TRUE;
  self->planes_ms = job->ms;
  /* the mean is cleaned up afresh */
  self->cleanup_applied = FALSE;
  if (self->cleanup_saved != NULL)
    g_array_set_size (self->cleanup_saved, 0);
  if (job->truth != NULL)
    self->volume_conf = self->raw_volume_conf = job->raw_conf;
  bs_session_reset_display_counts (self);
  /* the clean-up, the recount and the regions' metrics of the mean */
  bs_session_start_volume_job (self);
  g_signal_emit (self, bs_session_signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
  g_signal_emit (self, bs_session_signals[SIGNAL_TIMING_CHANGED], 0);
  bs_session_notify (self, PROP_N_COMPUTED);
  bs_session_notify (self, PROP_BUSY);
}

static void
start_planes (BsSession *self)
{
  g_autoptr(GTask) task = NULL;
  PlanesJob *job;

  job = g_new0 (PlanesJob, 1);
  job->generation = self->generation;
  job->serial = ++self->planes_serial;
  job->input = bs_inference_input_ref (self->input);
  job->plane = self->net_plane;
  job->opts = self->opts;
  job->session = g_object_ref (self);
  /* The axial volume may be cleaned up already (a Stop, then Resume): the
   * mean starts from the network's own values. */
  job->prob = bs_session_copy_network_probabilities (self);
  job->truth = self->truth != NULL ? bs_volume_copy (self->truth) : NULL;
  if (job->prob == NULL || (self->truth != NULL && job->truth == NULL))
    {
      g_warning ("Not enough memory for the three-plane passes");
      planes_job_free (job);
      self->planes_done = TRUE;
      bs_session_start_volume_job (self);
      return;
    }
  /* the slices through the tumour's box of the network's own values */
  job->total = bs_segment_other_planes_slices (self->input->prepared, self->net_plane, job->prob);
  g_clear_object (&self->planes_cancellable);
  self->planes_cancellable = g_cancellable_new ();
  self->planes_running = TRUE;
  self->planes_ms = 0;
  task = g_task_new (self, self->planes_cancellable, planes_job_done, NULL);
  g_task_set_task_data (task, job, planes_job_free);
  g_task_set_name (task, "bs-session-planes");
  g_task_set_return_on_cancel (task, FALSE);
  self->planes_slices_done = 0;
  self->planes_slices_total = job->total;
  g_task_run_in_thread (task, planes_job_thread);
  bs_session_notify (self, PROP_N_COMPUTED);
  bs_session_notify (self, PROP_BUSY);
}

void
bs_session_volume_completed (BsSession *self)
{
  if (bs_session_three_planes_apply (self) && !self->planes_done)
    {
      if (!self->planes_running)
        start_planes (self);
      return;
    }
  bs_session_start_volume_job (self);
}

void
bs_session_cancel_planes (BsSession *self)
{
  if (self->planes_cancellable != NULL)
    g_cancellable_cancel (self->planes_cancellable);
  g_clear_object (&self->planes_cancellable);
  self->planes_running = FALSE;
}

void
bs_session_planes_switched (BsSession *self)
{
  self->planes_done = FALSE;
  if (!bs_session_three_planes_apply (self))
    {
      bs_session_cancel_planes (self);
      if (bs_session_volume_complete (self))
        bs_session_start_volume_job (self);
    }
  else if (bs_session_volume_complete (self))
    bs_session_volume_completed (self);   /* the passes, from the axial network values */
  bs_session_update_plan_text (self);
  g_signal_emit (self, bs_session_signals[SIGNAL_TIMING_CHANGED], 0);
  bs_session_notify (self, PROP_N_COMPUTED);
  bs_session_notify (self, PROP_BUSY);
}
