#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "bs-compare.h"
#include "bs-error.h"
#include "bs-infer.h"
#include "bs-labels.h"
#include "bs-overlay.h"
#include "bs-segment.h"
#include "bs-session-private.h"

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
  BsVolume *truth_tc, *truth_et;  /* the label's sub-regions, when its convention has them */
  BsVolume *prepared;
  BsUnet *new_model;
  float *auto_lo, *auto_hi;
  char *inputs_text;
  char *missing_text;
  char *model_note;        /* the model asked for did not load: which ran instead */
  GError *truth_error;     /* the case's label could not be used: it opens without */
  int tumour_slice[3];     /* per plane, the slice with the most labelled tumour; -1 without labels */
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
  g_clear_pointer (&job->truth_tc, bs_volume_free);
  g_clear_pointer (&job->truth_et, bs_volume_free);
  g_clear_pointer (&job->prepared, bs_volume_free);
  g_clear_pointer (&job->new_model, bs_unet_free);
  g_free (job->auto_lo);
  g_free (job->auto_hi);
  g_free (job->inputs_text);
  g_free (job->missing_text);
  g_free (job->model_note);
  g_clear_error (&job->truth_error);
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

/* A window opening its data with a model (the one chosen in Preferences)
 * that does not load: the shipped model instead, and the note says why
 * (walk finding: a mistyped path in Preferences opened nothing at all, not
 * even the case asked for).  NULL, *error kept, when there is none to take. */
static BsUnet *
load_shipped_instead (OpenJob *job, GError **error)
{
  g_autofree char *shipped = bs_unet_default_model_path ();
  g_autofree char *name = NULL;
  BsUnet *net;

  if (shipped == NULL || g_strcmp0 (shipped, job->model_path) == 0)
    return NULL;
  net = bs_unet_load_h5 (shipped, NULL);
  if (net == NULL)
    return NULL;
  name = g_path_get_basename (shipped);
  /* TRANSLATORS: why the model asked for did not load (a message naming its file), the shipped model's file name */
  job->model_note = g_strdup_printf (_("The model did not load (%s); %s segments instead."), (*error)->message, name);
  g_clear_error (error);
  return net;
}

static void
compute_auto_windows (OpenJob *job)
{
  const BsVolume *img = job->bcase->image;

  job->auto_lo = g_new (float, img->n_channels);
  job->auto_hi = g_new (float, img->n_channels);
  for (int c = 0; c < img->n_channels; c++)
    bs_auto_window_volume (img, c, &job->auto_lo[c], &job->auto_hi[c]);
}

/* "Inputs: FLAIR, T1gd · missing: T1w, T2w (zeros)": a modality the case
 * lacks is a channel of zeros after preparation (the model is trained for it);
 * a 2.5D model's neighbouring slices are said after it. */
static char *describe_channels (const BsVolume *prepared, const BsUnet *net, char **warning);

static char *
describe_inputs (const BsVolume *prepared, const BsUnet *net, char **warning)
{
  g_autofree char *channels = describe_channels (prepared, net, warning);

  if (net->config.context <= 0)
    return g_steal_pointer (&channels);
  /* TRANSLATORS: the plan line's inputs, then how many neighbouring slices on each side a 2.5D model reads */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s · slice ± %d", "%s · slice ± %d", net->config.context),
                          channels, net->config.context);
}

static char *
describe_channels (const BsVolume *prepared, const BsUnet *net, char **warning)
{
  g_autoptr(GString) have = g_string_new (NULL);
  g_autoptr(GString) missing = g_string_new (NULL);
  gsize n = bs_volume_n_voxels (prepared);
  int n_missing = 0;
  gboolean no_t1gd = FALSE;

  for (int c = 0; c < prepared->n_channels; c++)
    {
      const float *d = bs_volume_channel (prepared, c);
      gboolean any = FALSE;
      GString *to;

      for (gsize i = 0; i < n && !any; i++)
        any = d[i] != 0.0f;
      to = any ? have : missing;
      n_missing += !any;
      /* by its canonical name: a model may call it "t1ce" or "T1c" (review finding) */
      no_t1gd |= !any && g_strcmp0 (bs_modality_canonical (prepared->channel_names[c]), "T1gd") == 0;
      g_string_append_printf (to, "%s%s", to->len ? ", " : "", prepared->channel_names[c]);
    }
  *warning = NULL;
  if (missing->len == 0)
    return g_strdup_printf (_("Inputs: %s"), have->str);
  /* TRANSLATORS: the sequences present, the model's inputs, the missing ones */
  *warning = g_strdup_printf (_("Segmented from %d of %d MRI sequences: %s missing. The model sees zeros there; "
                                "expect a less accurate mask than with every sequence."),
                              prepared->n_channels - n_missing,
                              prepared->n_channels, missing->str);
  /* Enhancement is what T1gd shows: without it the enhancing tumour is a guess. */
  if (no_t1gd && net->config.outputs != NULL &&
      g_strv_contains ((const char *const *) net->config.outputs, "et"))
    {
      char *more = g_strdup_printf ("%s %s", *warning,
                                    _("Without T1gd the enhancing tumour cannot be seen: its mask and Dice mean little."));
      g_free (*warning);
      *warning = more;
    }
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
      if (job->new_model == NULL && job->path != NULL)
        job->new_model = load_shipped_instead (job, &error);
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
  /* A damaged or mismatched ground truth does not keep the scan from
   * showing (walk finding: the whole case was refused): it opens without, and
   * the window says why. */
  job->bcase = bs_dataset_load_case_full (ds, job->case_index, &job->truth_error, &error);
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
      /* The case read well: a model just chosen for it lacks its inputs
       * (walk finding: "Could not load case" when a FLAIR-only model met a
       * case without FLAIR).  Data opened with a model is the data's fault. */
      if (job->model_choice == BS_SESSION_MODEL_LOAD && job->path == NULL)
        job->failure = BS_SESSION_FAILED_MODEL;
      g_task_return_error (task, error);
      return;
    }
  job->inputs_text = describe_inputs (job->prepared, net, &job->missing_text);
  /* Pixels finer than the model learned from (a clinical 0.5 mm scan):
   * resampled on load, and said so. */
  {
    g_autofree char *resampled = bs_segment_resample_note (job->prepared);
    g_autofree char *pixels = resampled ? g_steal_pointer (&resampled)
                                        : bs_segment_pixel_note (job->prepared, BS_INFER_NET_PLANE);

    if (pixels != NULL)
      {
        char *both = job->missing_text ? g_strdup_printf ("%s %s", job->missing_text, pixels) : g_strdup (pixels);

        g_free (job->missing_text);
        job->missing_text = both;
      }
  }
  /* Non-finite voxels were read as 0 (helper finding: silently). */
  if (job->bcase->image->n_nonfinite > 0)
    {
      g_autofree char *nan_text = g_strdup_printf (
        g_dngettext (GETTEXT_PACKAGE, "%lu voxel of this case is NaN or infinite in its file and is read as 0.",
                     "%lu voxels of this case are NaN or infinite in their files and are read as 0.",
                     job->bcase->image->n_nonfinite),
        (unsigned long) job->bcase->image->n_nonfinite);
      char *both = job->missing_text ? g_strdup_printf ("%s %s", job->missing_text, nan_text) : g_strdup (nan_text);

      g_free (job->missing_text);
      job->missing_text = both;
    }
  if (job->truth_error != NULL)
    {
      g_autofree char *truth_text = g_strdup_printf (_("No ground truth: %s"), job->truth_error->message);
      char *both = job->missing_text ? g_strdup_printf ("%s %s", job->missing_text, truth_text)
                                     : g_strdup (truth_text);

      g_free (job->missing_text);
      job->missing_text = both;
    }
  job->tumour_slice[0] = job->tumour_slice[1] = job->tumour_slice[2] = -1;
  if (job->bcase->label != NULL)
    {
      job->truth = bs_labels_whole_tumour (job->bcase->label);
      job->truth_tc = bs_labels_region (job->bcase->label, job->bcase->convention, BS_REGION_TC);
      job->truth_et = bs_labels_region (job->bcase->label, job->bcase->convention, BS_REGION_ET);
      /* where the case opens: its tumour, as `export` picks its slice */
      for (int p = 0; p < 3; p++)
        if (bs_compare_pick_slices (job->bcase->image, job->truth, (BsPlane) p, 1, &job->tumour_slice[p]) != 1)
          job->tumour_slice[p] = -1;
    }
  compute_auto_windows (job);
  g_task_return_boolean (task, TRUE);
}

void
bs_session_clear_case (BsSession *self)
{
  if (self->worker != NULL)
    bs_inference_worker_clear (self->worker);
  g_clear_pointer (&self->input, bs_inference_input_unref);
  g_clear_pointer (&self->bcase, bs_case_free);
  g_clear_pointer (&self->truth, bs_volume_free);
  g_clear_pointer (&self->truth_tc, bs_volume_free);
  g_clear_pointer (&self->truth_et, bs_volume_free);
  bs_session_edit_discard (self, FALSE);
  g_clear_pointer (&self->prob, bs_volume_free);
  g_clear_pointer (&self->computed, g_free);
  g_clear_pointer (&self->slice_conf, g_free);
  g_clear_pointer (&self->slice_conf_valid, g_free);
  g_clear_pointer (&self->slice_truth_empty, g_free);
  g_clear_pointer (&self->auto_lo, g_free);
  g_clear_pointer (&self->auto_hi, g_free);
  self->volume_serial++;
  self->volume_job_running = FALSE;
  bs_session_cancel_planes (self);
  self->planes_done = FALSE;
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
  /* Every Dice in the case list was the old model's (walk finding: the list
   * kept it beside the new model's partial Dice). */
  for (guint i = 0; self->case_dice != NULL && self->dataset != NULL && i < bs_dataset_get_n_cases (self->dataset); i++)
    if (!isnan (self->case_dice[i]))
      {
        self->case_dice[i] = NAN;
        g_signal_emit (self, bs_session_signals[SIGNAL_CASE_DICE_CHANGED], 0, (int) i);
      }
  g_free (self->note);
  self->note = job->model_choice == BS_SESSION_MODEL_RANDOM
                 ? g_strdup (_("No trained model was found: predictions come from random weights. "
                               "Load trained weights with Model."))
                 : g_steal_pointer (&job->model_note);
  bs_session_notify (self, PROP_MODEL);
  bs_session_notify (self, PROP_NOTE);
}

static void
adopt_dataset (BsSession *self, OpenJob *job)
{
  guint n;

  bs_session_clear_case (self);
  g_clear_pointer (&self->dataset, bs_dataset_free);
  self->dataset = g_steal_pointer (&job->new_dataset);
  self->case_index = -1;
  n = bs_dataset_get_n_cases (self->dataset);
  g_free (self->case_dice);
  self->case_dice = g_new (double, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    self->case_dice[i] = NAN;
  bs_session_notify (self, PROP_DATASET);
}

static void
adopt_case (BsSession *self, OpenJob *job)
{
  gboolean same_geometry = self->bcase != NULL &&
                           memcmp (self->bcase->image->dims, job->bcase->image->dims, sizeof (int) * 3) == 0;
  const BsVolume *img;
  int preferred, same_sequence = -1;

  bs_session_clear_case (self);
  self->case_index = job->case_index;
  self->bcase = g_steal_pointer (&job->bcase);
  self->truth = g_steal_pointer (&job->truth);
  self->truth_tc = g_steal_pointer (&job->truth_tc);
  self->truth_et = g_steal_pointer (&job->truth_et);
  self->auto_lo = g_steal_pointer (&job->auto_lo);
  self->auto_hi = g_steal_pointer (&job->auto_hi);
  self->input = bs_inference_input_new (bs_unet_copy (self->model), g_steal_pointer (&job->prepared));
  g_free (self->inputs_text);
  self->inputs_text = g_steal_pointer (&job->inputs_text);
  g_free (self->missing_text);
  self->missing_text = g_steal_pointer (&job->missing_text);
  g_clear_error (&self->truth_error);
  self->truth_error = g_steal_pointer (&job->truth_error);
  img = self->bcase->image;
  preferred = bs_volume_find_channel (img, "FLAIR");
  /* The sequence a user chose goes on by its name (walk finding: by its
   * position, T1gd on a two-sequence case became T1w on the next). */
  if (self->channel_name != NULL)
    same_sequence = bs_volume_find_channel (img, self->channel_name);
  if (same_sequence >= 0)
    self->channel = same_sequence;
  else if (self->channel_name != NULL || self->channel < 0 || self->channel >= img->n_channels)
    self->channel = preferred >= 0 ? preferred : 0;
  self->overlay.lo = self->auto_lo[self->channel];
  self->overlay.hi = self->auto_hi[self->channel];
  /* A case with labels opens on its tumour: in each plane the slice with the
   * most of it, as `export` picks (walk finding: the middle slice often missed
   * it).  Without labels, another geometry starts every plane at its middle
   * again, the same geometry keeps the slice. */
  memcpy (self->tumour_slice, job->tumour_slice, sizeof self->tumour_slice);
  if (!same_geometry || self->truth != NULL)
    self->plane_slice[0] = self->plane_slice[1] = self->plane_slice[2] = -1;
  if (self->truth != NULL && (int) self->plane >= 0 && self->plane < 3 && self->tumour_slice[self->plane] >= 0)
    self->slice = self->tumour_slice[self->plane];
  else if (!same_geometry || self->slice >= bs_session_get_n_slices (self))
    self->slice = bs_session_get_n_slices (self) / 2;

  g_object_freeze_notify (G_OBJECT (self));
  bs_session_notify (self, PROP_CASE);
  bs_session_notify (self, PROP_CHANNEL);
  bs_session_notify (self, PROP_SLICE);
  bs_session_notify (self, PROP_OVERLAY);
  bs_session_notify (self, PROP_INPUTS_TEXT);
  g_object_thaw_notify (G_OBJECT (self));
  bs_session_restart_inference (self);
  /* A region this model cannot tell apart (the switch greys it out): back to
   * the whole tumour.  One the case's labels lack stays: its prediction shows alone. */
  if (self->region != BS_REGION_WT && !bs_session_model_has_region (self, self->region))
    bs_session_set_region (self, BS_REGION_WT);
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
  bs_session_set_activity (self, NULL);
  if (!g_task_propagate_boolean (inner, &error))
    {
      self->stop_after_load = FALSE;
      /* A model that loaded stays when nothing is open yet, whatever went
       * wrong with the data after it: the next case opened must not fall
       * back to random weights.  With a case open, the window stays as it
       * was, the case with the model that segmented it (review finding: the
       * button named the new model over the old model's prediction). */
      if (self->model == NULL || self->bcase == NULL)
        adopt_model (self, job);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *title = NULL;

          if (job->failure == BS_SESSION_FAILED_MODEL && job->bcase != NULL)
            {
              g_autofree char *model = g_path_get_basename (job->model_path);

              /* TRANSLATORS: the model's file name, the case id; the message under it names the missing input */
              title = g_strdup_printf (_("The model “%s” cannot segment “%s”"), model, job->bcase->id);
            }
          else if (job->failure == BS_SESSION_FAILED_MODEL)
            title = g_strdup_printf (_("Could not load the model “%s”"), job->model_path);
          else if (job->path != NULL)
            title = g_strdup_printf (_("Could not open “%s”"), job->path);
          else
            title = g_strdup_printf (_("Could not load case “%s”"),
                                     bs_dataset_get_case_id (self->dataset, job->case_index));
          bs_session_emit_failed (self, job->failure, title, error);
        }
      bs_session_notify (self, PROP_LOADING);
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
    bs_session_restart_inference (self);
  bs_session_notify (self, PROP_LOADING);
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
  self->stop_after_load = FALSE;
  bs_session_set_activity (self, what);
  bs_session_notify (self, PROP_LOADING);
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

      bs_session_emit_failed (self, BS_SESSION_FAILED_MODEL, _("Could not load the model now"), error);
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
