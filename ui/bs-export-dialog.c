#include "bs-export-dialog.h"
#include "bs-file.h"
#include "bs-error-dialog.h"

#include <glib/gi18n.h>
#include <string.h>
#include <stdio.h>

#include "bs-compare.h"
#include "bs-error.h"
#include "bs-export.h"
#include "bs-infer.h"
#include "bs-main-post.h"
#include "bs-calibration.h"
#include "bs-segment.h"

/* Everything a worker needs, copied on the main thread: the window's
 * volumes change or go away when the user opens another case. */
typedef struct {
  BsExportKind kind;
  char *path;
  int width, height;
  BsPlane plane;                /* shown: the slice of overlays and figures, the CSV's slices */
  BsPlane net_plane;            /* where the network runs (fill_missing) */
  int slice;
  char *case_id;
  BsOverlayOptions overlay;
  BsRegion region;             /* what overlays show: the region switch's choice */
  cairo_surface_t *surface;    /* overlay and figure: rendered on the main thread */
  BsVolume *image;             /* the displayed channel only */
  BsVolume *prob, *truth, *prepared;
  BsVolume *truth_tc, *truth_et;  /* the truth's regions, or NULL */
  char **outputs;                 /* a region model's outputs (prob's channels), or NULL */
  BsLabelConvention mask_labels;  /* BS_LABELS_BINARY: 0/1 whole tumour */
  BsUnet *net;
  BsPlanOptions plan_opts;
  gboolean *computed;          /* per slice of net_plane */
  int n_missing;
  gboolean planes;             /* three planes on, and the window's volume is not their mean yet */
  gboolean cleanup;            /* the window's clean-up switch */
  gboolean clean_here;         /* and the window's volume is not cleaned up yet: the export does it */
  BsExportUiProgress progress;
  gpointer progress_data;
  GTask *task;                 /* not a reference: the task owns the job */
} ExportJob;

static void
export_job_free (ExportJob *job)
{
  g_free (job->path);
  g_free (job->case_id);
  g_clear_pointer (&job->surface, cairo_surface_destroy);
  g_clear_pointer (&job->image, bs_volume_free);
  g_clear_pointer (&job->prob, bs_volume_free);
  g_clear_pointer (&job->truth, bs_volume_free);
  g_clear_pointer (&job->truth_tc, bs_volume_free);
  g_clear_pointer (&job->truth_et, bs_volume_free);
  g_strfreev (job->outputs);
  g_clear_pointer (&job->prepared, bs_volume_free);
  g_clear_pointer (&job->net, bs_unet_free);
  g_free (job->computed);
  g_free (job);
}

static const char *
plane_id (BsPlane plane)
{
  return bs_plane_name (plane);
}

char *
bs_export_suggested_name (BsSession *session, BsExportKind kind)
{
  BsCase *c = bs_session_get_case (session);
  const char *id = c && c->id ? c->id : "brainseg";
  BsPlane plane = bs_session_get_plane (session);
  int slice = bs_session_get_slice_index (session);

  switch (kind)
    {
    case BS_EXPORT_KIND_OVERLAY:
      /* The overlay shows the region the switch chose: the name says which. */
      if (bs_session_get_region (session) != BS_REGION_WT && bs_session_model_has_region (session, bs_session_get_region (session)))
        return g_strdup_printf ("%s-%s-%03d-overlay-%s.png", id, plane_id (plane), slice,
                                bs_region_name (bs_session_get_region (session)));
      return g_strdup_printf ("%s-%s-%03d-overlay.png", id, plane_id (plane), slice);
    case BS_EXPORT_KIND_FIGURE:
      return g_strdup_printf ("%s-%s-%03d-figure.png", id, plane_id (plane), slice);
    case BS_EXPORT_KIND_MASK:
      return g_strdup_printf ("%s-mask.nii.gz", id);
    case BS_EXPORT_KIND_DICE_CSV:
      return g_strdup_printf ("%s-%s-dice.csv", id, plane_id (plane));
    case BS_EXPORT_KIND_SERIES:
    default:
      return g_strdup_printf ("%s-%s-series", id, plane_id (plane));
    }
}

typedef struct {
  GTask *task;  /* keeps the job alive */
  char *stage;
  int done, total;
} ProgressMsg;

static gboolean
deliver_progress (gpointer data)
{
  ProgressMsg *msg = data;
  ExportJob *job = g_task_get_task_data (msg->task);

  /* Finishing the task clears the callback: nothing reaches a caller that
   * has already seen the result. */
  if (job->progress)
    job->progress (msg->stage, msg->done, msg->total, job->progress_data);
  return G_SOURCE_REMOVE;
}

static void
progress_msg_free (gpointer data)
{
  ProgressMsg *msg = data;

  g_object_unref (msg->task);
  g_free (msg->stage);
  g_free (msg);
}

static void
post_progress (ExportJob *job, const char *stage, int done, int total)
{
  ProgressMsg *msg;

  if (job->progress == NULL)
    return;
  msg = g_new0 (ProgressMsg, 1);
  msg->task = g_object_ref (job->task);
  msg->stage = g_strdup (stage);
  msg->done = done;
  msg->total = total;
  bs_main_post (NULL, "bs-export-progress", deliver_progress, msg, progress_msg_free);
}

static void
series_progress (int done, int total, gpointer user_data)
{
  post_progress (user_data, _("Writing images"), done, total);
}

static void
segment_progress (int done, int total, gpointer user_data)
{
  post_progress (user_data, _("Segmenting the remaining slices"), done, total);
}

/* Segments the slices the window had not reached yet, so that whole-volume
 * exports are complete. */
static gboolean
fill_missing (ExportJob *job, GCancellable *cancellable, GError **error)
{
  g_autoptr(BsSegmentResult) seg = NULL;
  g_autofree guint8 *missing = NULL;
  g_autofree float *slice = NULL;
  BsSegmentOptions so;
  int n = bs_volume_n_slices (job->prob, job->net_plane), w, h;

  if (job->n_missing == 0)
    return TRUE;
  /* The window's options, geometry and calibration policy, so that these
   * slices match the ones it computed.  No clean-up: it judges a whole
   * volume, and these are only the slices it lacks. */
  bs_segment_options_init (&so);
  so.plan = job->plan_opts;
  so.plan.batch = 1;
  so.plan.profile_layers = FALSE;
  so.plane = job->net_plane;
  so.cleanup = FALSE;
  missing = g_new (guint8, n);
  for (int k = 0; k < n; k++)
    missing[k] = !job->computed[k];
  so.slices = missing;
  seg = bs_segment (job->net, job->prepared, NULL, &so, segment_progress, job, cancellable, error);
  if (seg == NULL)
    return FALSE;
  bs_volume_slice_size (job->prob, job->net_plane, &w, &h);
  slice = g_new (float, (gsize) w * h);
  for (int k = 0; k < n; k++)
    if (missing[k])
      for (int c = 0; c < MIN (seg->prob->n_channels, job->prob->n_channels); c++)
        {
          bs_volume_get_slice (seg->prob, c, job->net_plane, k, slice);
          bs_volume_set_slice (job->prob, c, job->net_plane, k, slice);
        }
  return TRUE;
}

static void
planes_progress (int done, int total, gpointer user_data)
{
  post_progress (user_data, _("Coronal and sagittal slices"), done, total);
}

/* Three planes on and the window not done with them (still running, or
 * stopped): the mean of the three planes. */
static gboolean
mean_of_planes (ExportJob *job, GCancellable *cancellable, GError **error)
{
  g_autoptr(BsCalibration) cal = NULL;

  if (!job->planes)
    return TRUE;
  if (job->plan_opts.precision == BS_PRECISION_INT8)
    {
      g_autoptr(BsInferGeometry) geom = bs_infer_geometry_new_for_net (job->net, job->prepared, job->net_plane,
                                                                       job->plan_opts.crop_to_brain);
      cal = bs_calibration_new_for_case (job->net, job->prepared, geom, job->plan_opts.calibrate_case, error);
      if (cal == NULL)
        return FALSE;
    }
  if (!bs_segment_average_planes (job->net, job->prepared, job->net_plane, &job->plan_opts, cal, job->prob, NULL,
                                  planes_progress, job, 0,
                                  bs_segment_other_planes_slices (job->prepared, job->net_plane, job->prob), cancellable, error))
    return FALSE;
  return TRUE;
}

/* With the clean-up on and the window's volume not cleaned up yet (the
 * planes pending, slices missing, or its clean-up still running): the
 * clean-up, as infer would write it (review: an export with slices missing
 * had none). */
static gboolean
clean_up (ExportJob *job, GError **error)
{
  g_autoptr(BsSegmentResult) r = NULL;

  if (!job->clean_here)
    return TRUE;
  r = g_new0 (BsSegmentResult, 1);
  r->prob = job->prob;
  if (!bs_segment_finish (r, NULL, job->net_plane, NULL, TRUE, error))
    {
      r->prob = NULL;
      return FALSE;
    }
  r->prob = NULL;
  /* islands off, the core's holes filled and the core trimmed, as the window's volume job does */
  bs_segment_write_cleanup (r, job->prob, r->region_channel[BS_REGION_TC], NULL);
  return TRUE;
}

/* The whole volume as infer would give it: the planes' mean, then the clean-up. */
static gboolean
average_planes (ExportJob *job, GCancellable *cancellable, GError **error)
{
  return mean_of_planes (job, cancellable, error) && clean_up (job, error);
}

static void
export_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  ExportJob *job = data;
  g_autoptr(GError) error = NULL;
  BsExportSource src = { job->image, 0, job->prob, job->truth, job->plane, job->case_id,
                         (const char *const *) job->outputs, job->truth_tc, job->truth_et, job->region,
                         job->cleanup ? BS_EXPORT_CLEANUP_ON : BS_EXPORT_CLEANUP_OFF };
  gboolean ok;

  switch (job->kind)
    {
    case BS_EXPORT_KIND_OVERLAY:
    case BS_EXPORT_KIND_FIGURE:
      ok = bs_export_write_png (job->surface, job->path, &error);
      break;
    case BS_EXPORT_KIND_MASK:
      ok = fill_missing (job, cancellable, &error) && average_planes (job, cancellable, &error)
           && bs_export_label_map_nifti (&src, job->mask_labels, job->path, &error);
      break;
    case BS_EXPORT_KIND_DICE_CSV:
      ok = fill_missing (job, cancellable, &error) && average_planes (job, cancellable, &error)
           && bs_export_dice_csv (&src, job->path, &error);
      break;
    case BS_EXPORT_KIND_SERIES:
    default:
      ok = fill_missing (job, cancellable, &error) && average_planes (job, cancellable, &error) &&
           bs_export_series (&src, &job->overlay, job->width, job->height, job->path, series_progress, job,
                             cancellable, &error);
      break;
    }
  if (ok)
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, g_steal_pointer (&error));
}

static ExportJob *
snapshot_session (BsSession *session, BsExportKind kind, const char *path, int width, int height,
                  gboolean annotate, GError **error)
{
  BsCase *c = bs_session_get_case (session);
  const BsVolume *prob = bs_session_get_probability_volume (session);
  const BsVolume *truth = bs_session_get_truth (session);
  int channel = bs_session_get_display_channel (session);
  ExportJob *job;

  if (c == NULL || prob == NULL)
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                   _("Nothing to export to “%s”: no case is open yet"), path);
      return NULL;
    }
  job = g_new0 (ExportJob, 1);
  job->kind = kind;
  job->path = g_strdup (path);
  job->width = width;
  job->height = height;
  job->plane = bs_session_get_plane (session);
  job->net_plane = bs_session_get_net_plane (session);
  job->slice = bs_session_get_slice_index (session);
  job->case_id = g_strdup (c->id);
  bs_session_get_overlay_options (session, &job->overlay);
  job->overlay.annotate = annotate;
  /* An overlay image (one or a series) is the Overlay view: true positives,
   * false positives and false negatives where there is a ground truth, of
   * the region the switch chose (walk finding: it ignored both; review: the
   * series still did). */
  if (kind == BS_EXPORT_KIND_OVERLAY || kind == BS_EXPORT_KIND_SERIES)
    {
      job->overlay.confusion = truth != NULL;
      job->region = bs_session_get_region (session);
    }
  if (bs_session_model_has_region (session, BS_REGION_TC) || bs_session_model_has_region (session, BS_REGION_ET))
    job->outputs = g_strdupv (bs_session_get_model (session)->config.outputs);
  bs_session_get_plan_options (session, &job->plan_opts);

  if (kind == BS_EXPORT_KIND_OVERLAY || kind == BS_EXPORT_KIND_FIGURE)
    {
      /* One slice: rendering is as cheap as drawing a view, so it happens
       * here without copying volumes; only the encoding and the write go to
       * the worker. */
      BsExportSource src = { c->image, channel, prob, truth, job->plane, c->id,
                             (const char *const *) job->outputs,
                             bs_session_get_truth_region (session, BS_REGION_TC),
                             bs_session_get_truth_region (session, BS_REGION_ET) };

      if (!bs_session_slice_is_computed (session, job->slice))
        {
          g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                       _("Cannot export “%s” yet: the prediction of slice %d is still being computed"),
                       path, job->slice + 1);
          export_job_free (job);
          return NULL;
        }
      src.overlay_region = job->region;
      job->surface = kind == BS_EXPORT_KIND_OVERLAY
                       ? bs_export_render_overlay (&src, job->slice, &job->overlay, width, height)
                       : bs_export_render_figure (&src, job->slice, &job->overlay, width, height);
      return job;
    }

  int n = bs_volume_n_slices (prob, job->net_plane);
  job->computed = g_new0 (gboolean, n);
  for (int k = 0; k < n; k++)
    {
      job->computed[k] = bs_session_net_slice_is_computed (session, k);
      job->n_missing += !job->computed[k];
    }
  job->image = bs_volume_extract_channel (c->image, channel);
  job->planes = bs_session_three_planes_apply (session) && !bs_session_planes_done (session);
  /* The three planes' mean starts from the network's own values, as the
   * window's does (review: after a Stop the axial volume may be cleaned up
   * already, and its islands' zeros and the core's filled ones were averaged). */
  job->prob = job->planes ? bs_session_copy_network_probabilities (session) : bs_volume_copy (prob);
  job->truth = truth ? bs_volume_copy (truth) : NULL;
  if (truth != NULL && bs_session_get_truth_region (session, BS_REGION_TC) != NULL
      && bs_session_get_truth_region (session, BS_REGION_ET) != NULL)
    {
      job->truth_tc = bs_volume_copy (bs_session_get_truth_region (session, BS_REGION_TC));
      job->truth_et = bs_volume_copy (bs_session_get_truth_region (session, BS_REGION_ET));
    }
  job->cleanup = bs_session_get_cleanup_enabled (session);
  /* the three planes' mean starts from the network's values; otherwise the
   * window's volume is cleaned up once it is (bs_session_get_cleanup) */
  job->clean_here = job->cleanup && (job->planes || !bs_session_get_cleanup (session, NULL));
  if (job->n_missing > 0 || job->planes)
    {
      const BsVolume *prepared = bs_session_get_prepared_volume (session);
      const BsUnet *net = bs_session_get_model (session);

      if (prepared == NULL || net == NULL)
        {
          g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                       _("Cannot export “%s” yet: no model is loaded to segment the remaining slices"), path);
          export_job_free (job);
          return NULL;
        }
      job->prepared = bs_volume_copy (prepared);
      job->net = bs_unet_copy (net);
    }
  return job;
}

/* The export's own start: a snapshot of the session, then the work on a thread. */
static void
start_export (GTask *task, BsSession *session, BsExportKind kind, const char *path, int width, int height,
              gboolean annotate, BsLabelConvention mask_labels, BsExportUiProgress progress, gpointer progress_data)
{
  g_autoptr(GError) error = NULL;
  ExportJob *job;

  job = snapshot_session (session, kind, path, width, height, annotate, &error);
  if (job == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  job->mask_labels = mask_labels;
  job->progress = progress;
  job->progress_data = progress_data;
  job->task = task;
  g_task_set_task_data (task, job, (GDestroyNotify) export_job_free);
  g_task_run_in_thread (task, export_thread);
}

/* A whole-volume export asked for while the window runs its coronal and
 * sagittal passes waits for them (walk finding: it ran the same passes a
 * second time beside the window's). */
typedef struct {
  GTask *task;
  BsSession *session;   /* the task's source object keeps it */
  guint generation;
  BsExportKind kind;
  char *path;
  int width, height;
  gboolean annotate;
  BsLabelConvention mask_labels;
  BsExportUiProgress progress;
  gpointer progress_data;
} PendingExport;

static gboolean
window_passes_running (BsSession *session)
{
  return bs_session_planes_pending (session, NULL, NULL) && !bs_session_fill_cancelled (session)
         && bs_session_is_busy (session);
}

static gboolean
pending_poll (gpointer data)
{
  PendingExport *p = data;
  guint generation = 0;
  int done = 0, total = 0;

  g_object_get (p->session, "generation", &generation, NULL);
  if (g_task_return_error_if_cancelled (p->task))
    ;
  else if (generation != p->generation)
    g_task_return_new_error (p->task, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                             _("Cannot export “%s”: the case or the options changed while it waited"), p->path);
  else if (window_passes_running (p->session))
    {
      bs_session_planes_pending (p->session, &done, &total);
      if (p->progress)
        p->progress (_("Waiting for the window’s coronal and sagittal slices"), done, MAX (total, 1),
                     p->progress_data);
      return G_SOURCE_CONTINUE;
    }
  else
    start_export (p->task, p->session, p->kind, p->path, p->width, p->height, p->annotate,
                  p->mask_labels, p->progress, p->progress_data);
  g_object_unref (p->task);
  g_free (p->path);
  g_free (p);
  return G_SOURCE_REMOVE;
}

void
bs_export_to_path_async (BsSession *session, BsExportKind kind, const char *path, int width, int height,
                         gboolean annotate, BsLabelConvention mask_labels, BsExportUiProgress progress,
                         gpointer progress_data,
                         GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (session, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;

  g_task_set_source_tag (task, bs_export_to_path_async);
  /* Before segmenting a whole volume for it, not after. */
  if (!bs_export_check_destination (path, kind == BS_EXPORT_KIND_SERIES, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  /* Not over a file of the open case (a mask saved over its label took the
   * ground truth with it). */
  if (kind != BS_EXPORT_KIND_SERIES && bs_session_get_dataset (session) != NULL
      && bs_session_get_case_index (session) >= 0)
    {
      g_auto(GStrv) files = bs_dataset_get_case_files (bs_session_get_dataset (session),
                                                       (guint) bs_session_get_case_index (session));

      for (int i = 0; files[i]; i++)
        if (bs_file_same (path, files[i]))
          {
            g_task_return_new_error (task, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE,
                                     _("Cannot write “%s”: it is a file of the open case"), path);
            return;
          }
    }
  if (kind != BS_EXPORT_KIND_OVERLAY && kind != BS_EXPORT_KIND_FIGURE && window_passes_running (session))
    {
      PendingExport *p = g_new0 (PendingExport, 1);

      p->task = g_object_ref (task);
      p->session = session;
      g_object_get (session, "generation", &p->generation, NULL);
      p->kind = kind;
      p->path = g_strdup (path);
      p->width = width;
      p->height = height;
      p->annotate = annotate;
      p->mask_labels = mask_labels;
      p->progress = progress;
      p->progress_data = progress_data;
      g_timeout_add (200, pending_poll, p);
      return;
    }
  start_export (task, session, kind, path, width, height, annotate, mask_labels, progress, progress_data);
}

gboolean
bs_export_to_path_finish (BsSession *session, GAsyncResult *result, GError **error)
{
  ExportJob *job;

  g_return_val_if_fail (g_task_is_valid (result, session), FALSE);
  job = g_task_get_task_data (G_TASK (result));
  if (job)
    job->progress = NULL;
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- The dialogs ---- */


typedef struct {
  GtkWindow *parent;
  BsSession *session;
  BsExportKind kind;
  char *path;
  GtkWindow *progress_window;
  GtkProgressBar *bar;
  GtkLabel *label;
  GCancellable *cancellable;
} DialogRun;

static void
dialog_run_free (DialogRun *run)
{
  if (run->progress_window)
    gtk_window_destroy (run->progress_window);
  g_clear_object (&run->cancellable);
  g_object_unref (run->parent);
  g_object_unref (run->session);
  g_free (run->path);
  g_free (run);
}

static void
on_progress (const char *stage, int done, int total, gpointer user_data)
{
  DialogRun *run = user_data;
  g_autofree char *text = g_strdup_printf (_("%s: %d of %d"), stage, done, total);

  if (run->bar == NULL)
    return;
  gtk_label_set_text (run->label, text);
  gtk_progress_bar_set_fraction (run->bar, total > 0 ? (double) done / total : 0.0);
}

static void
on_cancel_clicked (GtkButton *button, DialogRun *run)
{
  g_cancellable_cancel (run->cancellable);
  gtk_widget_set_sensitive (GTK_WIDGET (button), FALSE);
}

static gboolean
on_progress_close_request (GtkWindow *window, DialogRun *run)
{
  g_cancellable_cancel (run->cancellable);
  return TRUE;  /* the window goes when the export has stopped */
}

static void
show_progress_window (DialogRun *run, const char *path)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *cancel = gtk_button_new_with_mnemonic (_("_Cancel"));
  g_autofree char *basename = g_path_get_basename (path);
  g_autofree char *text = g_strdup_printf (_("Exporting “%s”"), basename);

  run->progress_window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_title (run->progress_window, _("Export"));
  gtk_window_set_transient_for (run->progress_window, run->parent);
  gtk_window_set_modal (run->progress_window, TRUE);
  gtk_window_set_default_size (run->progress_window, 420, -1);
  gtk_window_set_resizable (run->progress_window, FALSE);
  gtk_widget_set_margin_start (box, 18);
  gtk_widget_set_margin_end (box, 18);
  gtk_widget_set_margin_top (box, 18);
  gtk_widget_set_margin_bottom (box, 18);
  gtk_label_set_text (GTK_LABEL (title), text);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  /* the whole name, wrapped (walk finding: a case's export names were cut
   * in the middle), and where it goes as the tooltip */
  gtk_label_set_wrap (GTK_LABEL (title), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (title), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_max_width_chars (GTK_LABEL (title), 40);
  gtk_widget_set_tooltip_text (title, path);
  gtk_widget_add_css_class (title, "heading");
  run->label = GTK_LABEL (gtk_label_new (_("Starting…")));
  gtk_label_set_xalign (run->label, 0);
  run->bar = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_widget_set_halign (cancel, GTK_ALIGN_END);
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (run->label));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (run->bar));
  gtk_box_append (GTK_BOX (box), cancel);
  gtk_window_set_child (run->progress_window, box);
  g_signal_connect (cancel, "clicked", G_CALLBACK (on_cancel_clicked), run);
  g_signal_connect (run->progress_window, "close-request", G_CALLBACK (on_progress_close_request), run);
  gtk_window_present (run->progress_window);
}

static void
on_export_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DialogRun *run = user_data;
  g_autoptr(GError) error = NULL;

  if (bs_export_to_path_finish (BS_SESSION (source), result, &error))
    {
      /* Say where it went: the window shows it in its progress row (win.show-message). */
      g_autofree char *text = g_strdup_printf (_("Saved “%s”"), run->path);
      gtk_widget_activate_action (GTK_WIDGET (run->parent), "win.show-message", "s", text);
    }
  else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    bs_show_error (run->parent, _("Export failed"), error);
  dialog_run_free (run);
}

/* Smallest to largest; each dialog puts its default first
 * (add_choice_default_first). */
static const char *const figure_sizes[] = { "1800x720", "1200x480", "2400x960", "3600x1440", NULL };
static const char *const overlay_sizes[] = { "native", "480x480", "960x960", "1920x1920", NULL };

static void
parse_choice (const char *choice, int *w, int *h)
{
  *w = *h = 0;
  if (choice == NULL || sscanf (choice, "%dx%d", w, h) != 2)
    *w = *h = 0;
}

static void
on_chooser_response (GtkNativeDialog *chooser, int response, gpointer user_data)
{
  DialogRun *run = user_data;
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;
  int w = 0, h = 0;
  gboolean annotate = FALSE;
  BsLabelConvention labels = BS_LABELS_BINARY;

  if (response != GTK_RESPONSE_ACCEPT)
    {
      dialog_run_free (run);
      g_object_unref (chooser);
      return;
    }
  file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  path = file ? g_file_get_path (file) : NULL;
  if (run->kind == BS_EXPORT_KIND_FIGURE || run->kind == BS_EXPORT_KIND_OVERLAY ||
      run->kind == BS_EXPORT_KIND_SERIES)
    parse_choice (gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (chooser), "size"), &w, &h);
  if (run->kind == BS_EXPORT_KIND_OVERLAY || run->kind == BS_EXPORT_KIND_SERIES)
    annotate = g_strcmp0 (gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (chooser), "annotate"), "true") == 0;
  if (run->kind == BS_EXPORT_KIND_MASK)
    {
      const char *l = gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (chooser), "labels");
      labels = g_strcmp0 (l, "brats") == 0 ? BS_LABELS_BRATS2017
               : g_strcmp0 (l, "decathlon") == 0 ? BS_LABELS_DECATHLON : BS_LABELS_BINARY;
    }
  g_object_unref (chooser);

  if (path == NULL)
    {
      g_autoptr(GError) error = g_error_new_literal (BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE,
                                                     _("The chosen location is not a local file"));
      bs_show_error (run->parent, _("Export failed"), error);
      dialog_run_free (run);
      return;
    }
  {
    g_autofree char *named = bs_export_name_for_kind (run->kind, path);
    char *resolved = bs_export_resolve_typed_name (run->parent, path, named);

    if (resolved == NULL)
      {
        dialog_run_free (run);
        return;
      }
    g_free (path);
    path = resolved;
  }
  /* The next export starts where this one went. */
  bs_export_remember_folder (path);
  run->path = g_strdup (path);
  run->cancellable = g_cancellable_new ();
  if (run->kind == BS_EXPORT_KIND_MASK || run->kind == BS_EXPORT_KIND_DICE_CSV || run->kind == BS_EXPORT_KIND_SERIES)
    show_progress_window (run, path);
  bs_export_to_path_async (run->session, run->kind, path, w, h, annotate, labels, on_progress, run, run->cancellable,
                           on_export_done, run);
}

/* A drop-down choice that starts on default_id.  GTK 4.8's file chooser
 * dialog ignores gtk_file_chooser_set_choice for a drop-down before it is
 * shown and starts on the first option (walk finding: the mask came out as
 * the whole tumour and the overlay at the slice's size, whatever was
 * chosen here), so the default goes first. */
static void
add_choice_default_first (GtkFileChooser *chooser, const char *id, const char *label, const char *const *ids,
                          const char *const *names, const char *default_id)
{
  g_autoptr(GPtrArray) order_ids = g_ptr_array_new ();
  g_autoptr(GPtrArray) order_names = g_ptr_array_new ();

  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; ids[i]; i++)
      if ((g_strcmp0 (ids[i], default_id) == 0) == (pass == 0))
        {
          g_ptr_array_add (order_ids, (gpointer) ids[i]);
          g_ptr_array_add (order_names, (gpointer) names[i]);
        }
  g_ptr_array_add (order_ids, NULL);
  g_ptr_array_add (order_names, NULL);
  gtk_file_chooser_add_choice (chooser, id, label, (const char **) order_ids->pdata,
                               (const char **) order_names->pdata);
  gtk_file_chooser_set_choice (chooser, id, default_id);
}

static void
add_size_choice (GtkFileChooser *chooser, const char *const *ids, const char *default_id)
{
  /* Labels are built from the ids so the choice reads as pixels everywhere. */
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);

  for (int i = 0; ids[i]; i++)
    {
      int w, h;
      parse_choice (ids[i], &w, &h);
      g_ptr_array_add (labels, w > 0 ? g_strdup_printf (_("%d × %d pixels"), w, h)
                                     : g_strdup (_("The slice's own size")));
    }
  g_ptr_array_add (labels, NULL);
  add_choice_default_first (chooser, "size", _("Resolution"), ids, (const char *const *) labels->pdata, default_id);
}

/* A check box, on by default: an overlay shown to others needs its case,
 * slice, orientation and colours; a pipeline may want the bare pixels. */
static void
add_annotate_choice (GtkFileChooser *chooser)
{
  gtk_file_chooser_add_choice (chooser, "annotate", _("Caption, orientation letters and legend"), NULL, NULL);
  gtk_file_chooser_set_choice (chooser, "annotate", "true");
}

static void
add_filter (GtkFileChooser *chooser, const char *name, const char *pattern)
{
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, name);
  gtk_file_filter_add_pattern (filter, pattern);
  gtk_file_chooser_add_filter (chooser, filter);
}

void
bs_export_dialog_run (GtkWindow *parent, BsSession *session, BsExportKind kind)
{
  static const char *const titles[] = {
    N_("Export Overlay Image"), N_("Export Figure"), N_("Export Predicted Mask"),
    N_("Export Per-Slice Dice"), N_("Export Every Slice as Images"),
  };
  GtkFileChooserNative *chooser;
  g_autoptr(GFile) start = NULL;
  g_autofree char *folder = NULL;
  GtkFileChooser *fc;
  DialogRun *run;

  if (bs_session_get_case (session) == NULL)
    {
      g_autoptr(GError) error = g_error_new_literal (BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                                                     _("Open a case first: there is nothing to export yet"));
      bs_show_error (parent, _("Export failed"), error);
      return;
    }
  /* A series is named like a file (the folder it creates), as `brainseg-cli
   * export --what series --out FOLDER` takes it. */
  chooser = gtk_file_chooser_native_new (_(titles[kind]), parent, GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"),
                                         _("_Cancel"));
  fc = GTK_FILE_CHOOSER (chooser);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  {
    g_autofree char *name = bs_export_suggested_name (session, kind);
    gtk_file_chooser_set_current_name (fc, name);
  }
  /* Not the working directory the program happened to start in. */
  folder = bs_export_start_folder ();
  start = g_file_new_for_path (folder);
  gtk_file_chooser_set_current_folder (fc, start, NULL);
  switch (kind)
    {
    case BS_EXPORT_KIND_FIGURE:
      add_filter (fc, _("PNG images"), "*.png");
      add_size_choice (fc, (const char *const *) figure_sizes, "1800x720");
      break;
    case BS_EXPORT_KIND_OVERLAY:
      add_filter (fc, _("PNG images"), "*.png");
      /* Annotated at the slice's own size (240 px) the caption is a few
       * pixels tall (walk finding): one overlay starts at a size a slide or
       * a report can use; a series stays at the slice's size. */
      add_size_choice (fc, (const char *const *) overlay_sizes, "960x960");
      add_annotate_choice (fc);
      break;
    case BS_EXPORT_KIND_SERIES:
      add_size_choice (fc, (const char *const *) overlay_sizes, "native");
      add_annotate_choice (fc);
      break;
    case BS_EXPORT_KIND_MASK:
      add_filter (fc, _("NIfTI volumes"), "*.nii.gz");
      /* A region model's mask can be the BraTS or Decathlon label map. */
      if (bs_session_model_has_region (session, BS_REGION_TC) && bs_session_model_has_region (session, BS_REGION_ET))
        {
          static const char *const ids[] = { "wt", "brats", "decathlon", NULL };
          const char *names[] = { _("Whole tumour (0/1)"), _("BraTS label map (1 necrotic core, 2 edema, 4 enhancing)"),
                                  _("Decathlon label map (1 edema, 2 non-enhancing, 3 enhancing)"), NULL };

          BsCase *c = bs_session_get_case (session);
          /* By default the regions the model predicts, in the case's own
           * convention (walk finding: the whole tumour alone dropped them). */
          const char *labels_default = c != NULL && c->convention == BS_LABELS_DECATHLON ? "decathlon" : "brats";

          add_choice_default_first (fc, "labels", _("Labels"), ids, names, labels_default);
        }
      break;
    case BS_EXPORT_KIND_DICE_CSV:
    default:
      add_filter (fc, _("CSV tables"), "*.csv");
      break;
    }
  run = g_new0 (DialogRun, 1);
  run->parent = g_object_ref (parent);
  run->session = g_object_ref (session);
  run->kind = kind;
  g_signal_connect (chooser, "response", G_CALLBACK (on_chooser_response), run);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}
