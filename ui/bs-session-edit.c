/* BsSession's corrections: a brush a user paints the prediction with, on the
 * displayed slice, for the region chosen (bs_mask_edit_disk), once the volume
 * is complete and settled; each stroke can be undone and done again.  The
 * masks, the Dice figures, the chart and every export are cut from the
 * probability volume, so they all follow.  A new prediction (other options,
 * another model or case, the clean-up switched) puts the corrections back
 * first and forgets them. */
#include <glib/gi18n.h>
#include <math.h>

#include "bs-error.h"
#include "bs-mask-edit.h"
#include "bs-session-private.h"

static void
free_stroke (gpointer stroke)
{
  g_array_unref (stroke);
}

static void
ensure_stacks (BsSession *self)
{
  if (self->edit_undo == NULL)
    self->edit_undo = g_ptr_array_new_with_free_func (free_stroke);
  if (self->edit_redo == NULL)
    self->edit_redo = g_ptr_array_new_with_free_func (free_stroke);
}

/* A new step on the undo stack: the first one of a prediction keeps the
 * case list's Dice, the network's, for when the corrections are dropped
 * unseen (another case: walk finding, the list kept the corrected figure). */
static void
push_step (BsSession *self, GArray *step)
{
  if ((self->edit_undo == NULL || self->edit_undo->len == 0) && (self->edit_redo == NULL || self->edit_redo->len == 0))
    self->edit_network_dice = self->case_dice != NULL && self->case_index >= 0 ? self->case_dice[self->case_index] : NAN;
  ensure_stacks (self);
  g_ptr_array_add (self->edit_undo, step);
  g_ptr_array_set_size (self->edit_redo, 0);
}

gboolean
bs_session_can_edit (BsSession *self, char **why)
{
  const char *reason = NULL;

  g_return_val_if_fail (BS_IS_SESSION (self), FALSE);
  if (self->prob == NULL || self->bcase == NULL)
    reason = _("Open a case first");
  else if (!bs_session_volume_complete (self) || self->planes_running
           || (bs_session_three_planes_apply (self) && !self->planes_done))
    reason = _("Corrections start once the whole volume is predicted");
  else if (self->cleanup && !self->cleanup_applied)
    reason = _("Corrections start once the volume is measured");
  if (why != NULL)
    *why = reason != NULL ? g_strdup (reason) : NULL;
  return reason == NULL;
}

/* The region a stroke paints: the one chosen, or the whole tumour where
 * the model has no such output. */
static BsRegion
edit_region (BsSession *self, int channels[BS_N_REGIONS])
{
  for (int r = 0; r < BS_N_REGIONS; r++)
    channels[r] = bs_session_region_channel (self, r);
  return channels[self->region] >= 0 ? self->region : BS_REGION_WT;
}

void
bs_session_edit_begin (BsSession *self, gboolean erase, double radius)
{
  g_return_if_fail (BS_IS_SESSION (self));
  bs_session_edit_end (self);   /* one left open (its drag never ended) is a step of its own */
  if (!bs_session_can_edit (self, NULL))
    return;
  self->edit_stroke = g_array_new (FALSE, FALSE, sizeof (BsMaskEditVoxel));
  self->edit_erase = erase;
  self->edit_radius = MAX (radius, 0.5);
  self->edit_plane = self->plane;
  self->edit_slice = self->slice;
  self->edit_has_last = FALSE;
}

/* The viewed slice's counts after its voxels changed (the whole tumour's;
 * the regions' rows ask for theirs as they draw). */
static void
recount_slice (BsSession *self)
{
  int s = self->edit_slice;

  if (self->truth == NULL || self->slice_conf == NULL || self->plane != self->edit_plane
      || s < 0 || s >= bs_session_get_n_slices (self))
    return;
  bs_session_count_slice (self, s);
}

void
bs_session_edit_to (BsSession *self, double x, double y)
{
  int channels[BS_N_REGIONS];
  BsRegion region;
  guint before;
  int steps = 1;
  double x0 = x, y0 = y;

  g_return_if_fail (BS_IS_SESSION (self));
  if (self->edit_stroke == NULL || self->prob == NULL)
    return;
  /* The slice or the plane changed under the drag (keys, the wheel): the
   * stroke goes on there, without a line from where it was. */
  if (self->plane != self->edit_plane || self->slice != self->edit_slice)
    {
      self->edit_plane = self->plane;
      self->edit_slice = self->slice;
      self->edit_has_last = FALSE;
    }
  region = edit_region (self, channels);
  if (channels[region] < 0)
    return;
  before = self->edit_stroke->len;
  /* dabs along the way from the last point, half a radius apart */
  if (self->edit_has_last)
    {
      double d = hypot (x - self->edit_last_x, y - self->edit_last_y);

      x0 = self->edit_last_x;
      y0 = self->edit_last_y;
      steps = MAX (1, (int) ceil (d / (self->edit_radius * 0.5)));
    }
  for (int k = 1; k <= steps; k++)
    bs_mask_edit_disk (self->prob, channels, region, self->edit_erase, self->plane, self->slice,
                       x0 + (x - x0) * k / steps, y0 + (y - y0) * k / steps, self->edit_radius, self->edit_stroke);
  self->edit_last_x = x;
  self->edit_last_y = y;
  self->edit_has_last = TRUE;
  if (self->edit_stroke->len == before)
    return;
  self->edit_serial++;
  recount_slice (self);
  /* the network's slices this dab changed, not the whole volume: the chart
   * recounts what it is told changed, on this thread */
  {
    int first, last;

    if (bs_mask_edit_slices (self->prob, self->edit_stroke, before, self->net_plane, &first, &last))
      g_signal_emit (self, bs_session_signals[SIGNAL_RESULTS_CHANGED], 0, first, last - first + 1);
  }
}

/* After voxels changed: the volume's figures counted again off the main
 * thread (the viewed slice's are already).  The network's slices the stroke
 * changed are told now when its dabs did not tell them (an undo or redo);
 * the count's end tells every slice again. */
static void
remeasure (BsSession *self, const GArray *told_or_not)
{
  int first, last;

  /* one count at a time: strokes while one runs wait for the next */
  if (self->volume_job_running)
    self->edit_remeasure = TRUE;
  else
    bs_session_start_volume_job (self);
  if (told_or_not != NULL && bs_mask_edit_slices (self->prob, told_or_not, 0, self->net_plane, &first, &last))
    g_signal_emit (self, bs_session_signals[SIGNAL_RESULTS_CHANGED], 0, first, last - first + 1);
  bs_session_notify (self, PROP_EDITS);
}

void
bs_session_edit_end (BsSession *self)
{
  g_return_if_fail (BS_IS_SESSION (self));
  if (self->edit_stroke == NULL)
    return;
  if (self->edit_stroke->len == 0)
    {
      g_clear_pointer (&self->edit_stroke, g_array_unref);
      return;
    }
  push_step (self, g_steal_pointer (&self->edit_stroke));
  remeasure (self, NULL);   /* its dabs told their slices */
}

static gboolean
move_stroke (BsSession *self, GPtrArray *from, GPtrArray *to, gboolean undo)
{
  GArray *stroke;

  bs_session_edit_end (self);
  if (from == NULL || from->len == 0 || self->prob == NULL || !bs_session_can_edit (self, NULL))
    return FALSE;
  stroke = g_ptr_array_steal_index (from, from->len - 1);
  bs_mask_edit_apply (self->prob, stroke, undo);
  self->edit_serial++;
  g_ptr_array_add (to, stroke);
  if (self->truth != NULL && self->slice_conf != NULL)
    bs_session_count_slice (self, self->slice);   /* the slice shown, now */
  remeasure (self, stroke);
  return TRUE;
}

gboolean
bs_session_edit_undo (BsSession *self)
{
  g_return_val_if_fail (BS_IS_SESSION (self), FALSE);
  ensure_stacks (self);
  return move_stroke (self, self->edit_undo, self->edit_redo, TRUE);
}

gboolean
bs_session_edit_redo (BsSession *self)
{
  g_return_val_if_fail (BS_IS_SESSION (self), FALSE);
  ensure_stacks (self);
  return move_stroke (self, self->edit_redo, self->edit_undo, FALSE);
}

int
bs_session_get_n_edits (BsSession *self, int *n_redo)
{
  g_return_val_if_fail (BS_IS_SESSION (self), 0);
  if (n_redo != NULL)
    *n_redo = self->edit_redo != NULL ? (int) self->edit_redo->len : 0;
  return self->edit_undo != NULL ? (int) self->edit_undo->len : 0;
}

void
bs_session_edit_discard (BsSession *self, gboolean restore)
{
  gboolean had;

  g_return_if_fail (BS_IS_SESSION (self));
  had = bs_session_get_n_edits (self, NULL) > 0 || self->edit_stroke != NULL
        || (self->edit_redo != NULL && self->edit_redo->len > 0);
  if (restore && self->prob != NULL)
    {
      if (self->edit_stroke != NULL)
        bs_mask_edit_apply (self->prob, self->edit_stroke, TRUE);
      for (guint i = self->edit_undo != NULL ? self->edit_undo->len : 0; i-- > 0;)
        bs_mask_edit_apply (self->prob, g_ptr_array_index (self->edit_undo, i), TRUE);
    }
  g_clear_pointer (&self->edit_stroke, g_array_unref);
  g_clear_pointer (&self->edit_undo, g_ptr_array_unref);
  g_clear_pointer (&self->edit_redo, g_ptr_array_unref);
  self->edit_serial++;
  /* dropped unseen (another case, the session cleared): the case list goes
   * back to the network's Dice; put back (a new prediction), the count that
   * follows sets it */
  if (had && !restore && self->case_dice != NULL && self->case_index >= 0 && self->dataset != NULL
      && self->case_index < (int) bs_dataset_get_n_cases (self->dataset))
    {
      self->case_dice[self->case_index] = self->edit_network_dice;
      g_signal_emit (self, bs_session_signals[SIGNAL_CASE_DICE_CHANGED], 0, self->case_index);
    }
  /* The network's values are back; what follows counts them again (a new
   * prediction starts from nothing, the clean-up's switch and three planes
   * start a volume job, which recounts a complete volume): no job here that
   * would only be dropped. */
  if (had)
    bs_session_notify (self, PROP_EDITS);
}

/* ---- A segmentation file as one correction ---- */

typedef struct {
  char *dataset_path, *case_id, *mask_path;
  BsLabelConvention case_convention, given;
  BsVolume *prob;              /* a copy: the session's may go meanwhile */
  int channels[BS_N_REGIONS];
  /* the prediction it was compared with: unchanged when it is done, or stale */
  guint generation, volume_serial, edit_serial;
  int case_index;
  gboolean cleanup_applied;
  /* results */
  GArray *changes;
  gsize wt_changed;
  BsLabelConvention convention;
} MaskJob;

static void
mask_job_free (gpointer data)
{
  MaskJob *job = data;

  g_free (job->dataset_path);
  g_free (job->case_id);
  g_free (job->mask_path);
  g_clear_pointer (&job->prob, bs_volume_free);
  g_clear_pointer (&job->changes, g_array_unref);
  g_free (job);
}

/* Off the main thread: the file read onto the case's grid (a dataset of its
 * own: the session's may be closed meanwhile), compared with the copy. */
static void
mask_job_run (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  MaskJob *job = data;
  GError *error = NULL;
  g_autoptr(BsDataset) ds = bs_dataset_open (job->dataset_path, NULL, &error);
  g_autoptr(BsVolume) label = NULL;
  gboolean ok;
  int index;

  if (ds == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  index = bs_dataset_find_case (ds, job->case_id);
  if (index < 0)
    {
      g_task_return_new_error (task, BS_IO_ERROR, BS_IO_ERROR_NOT_FOUND, _("%s: no case %s any more"),
                               job->dataset_path, job->case_id);
      return;
    }
  label = bs_dataset_load_case_mask (ds, index, job->mask_path, job->case_convention, job->given,
                                     &job->convention, &error);
  if (label == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  job->changes = g_array_new (FALSE, FALSE, sizeof (BsMaskEditVoxel));
  job->wt_changed = bs_mask_edit_from_label (job->prob, job->channels, label, job->convention, job->changes, &ok);
  if (!ok)
    {
      g_task_return_new_error (task, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                               _("%s (%dx%dx%d) is not on the grid of the prediction (%dx%dx%d)"), job->mask_path,
                               label->dims[0], label->dims[1], label->dims[2], job->prob->dims[0], job->prob->dims[1],
                               job->prob->dims[2]);
      return;
    }
  g_clear_pointer (&job->prob, bs_volume_free);
  g_task_return_boolean (task, TRUE);
}

void
bs_session_load_mask_async (BsSession *self, const char *path, BsLabelConvention labels, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer data)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *why = NULL;
  MaskJob *job;

  g_return_if_fail (BS_IS_SESSION (self) && path != NULL);
  task = g_task_new (self, cancellable, callback, data);
  g_task_set_source_tag (task, bs_session_load_mask_async);
  bs_session_edit_end (self);
  if (!bs_session_can_edit (self, &why))
    {
      g_task_return_new_error (task, BS_IO_ERROR, BS_IO_ERROR_INVALID, "%s", why);
      return;
    }
  if (bs_dataset_get_kind (self->dataset) == BS_DATASET_HDF5)
    {
      g_task_return_new_error (task, BS_IO_ERROR, BS_IO_ERROR_UNSUPPORTED,
                               _("%s: a mask file goes with a case read from NIfTI files, not with %s"), path,
                               bs_dataset_get_path (self->dataset));
      return;
    }
  job = g_new0 (MaskJob, 1);
  job->dataset_path = g_strdup (bs_dataset_get_path (self->dataset));
  job->case_id = g_strdup (self->bcase->id);
  job->mask_path = g_strdup (path);
  job->case_convention = self->bcase->convention;
  job->given = labels;
  job->prob = bs_volume_copy (self->prob);
  for (int r = 0; r < BS_N_REGIONS; r++)
    job->channels[r] = bs_session_region_channel (self, r);
  job->generation = self->generation;
  job->volume_serial = self->volume_serial;
  job->edit_serial = self->edit_serial;
  job->case_index = self->case_index;
  job->cleanup_applied = self->cleanup_applied;
  g_task_set_task_data (task, job, mask_job_free);
  if (job->prob == NULL)
    {
      g_task_return_new_error (task, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("Out of memory to compare %s"), path);
      return;
    }
  g_task_run_in_thread (task, mask_job_run);
}

gboolean
bs_session_load_mask_finish (BsSession *self, GAsyncResult *result, gsize *n_changed, gsize *n_values,
                             BsLabelConvention *convention, GError **error)
{
  MaskJob *job;

  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return FALSE;
  job = g_task_get_task_data (G_TASK (result));
  /* The prediction it was compared with must be the one shown (a stroke,
   * an undo, the clean-up's switch or another case came meanwhile). */
  if (self->prob == NULL || job->generation != self->generation || job->volume_serial != self->volume_serial
      || job->case_index != self->case_index || job->cleanup_applied != self->cleanup_applied
      || job->edit_serial != self->edit_serial || self->edit_stroke != NULL
      || !bs_session_can_edit (self, NULL))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                   _("The prediction changed while %s was read: open it again"), job->mask_path);
      return FALSE;
    }
  if (n_changed != NULL)
    *n_changed = job->wt_changed;
  if (n_values != NULL)
    *n_values = job->changes->len;
  if (convention != NULL)
    *convention = job->convention;
  if (job->changes->len == 0)
    return TRUE;
  /* one step of the undo stack, like a stroke */
  bs_mask_edit_apply (self->prob, job->changes, FALSE);
  self->edit_serial++;
  push_step (self, g_steal_pointer (&job->changes));
  if (self->truth != NULL && self->slice_conf != NULL)
    bs_session_count_slice (self, self->slice);
  remeasure (self, g_ptr_array_index (self->edit_undo, self->edit_undo->len - 1));
  return TRUE;
}
