#include "bs-compare-dialog.h"
#include "bs-error-dialog.h"

#include <glib/gi18n.h>
#include <math.h>

#include "bs-compare-chart.h"
#include "bs-error.h"
#include "bs-export-dialog.h"
#include "bs-infer.h"
#include "bs-main-post.h"

/* Slices per configuration: enough for a stable median, few enough that
 * eighteen configurations finish in well under a minute on two cores. */
#define COMPARE_SLICES 6

struct _BsCompareDialog
{
  GtkWindow parent_instance;
  BsSession *session;
  BsCompareChart *chart;
  GtkLabel *status;
  char *done_text;           /* the status line of the finished run */
  GtkProgressBar *bar;
  GtkWidget *export_png, *export_csv;
  GCancellable *cancellable;
  /* What the run was started on: the window may open another case or
   * model while it runs (walk finding: the caption and the file names then
   * named those over the first case's numbers). */
  char *case_id, *model_name;
  int n_slices;
  gboolean running, finished;
  /* The job made when the dialog was shown, waiting while the window's own
   * inference runs (it would share the CPU with every timing). */
  GTask *waiting;
  gulong busy_handler;
  guint wait_source;
};

G_DEFINE_FINAL_TYPE (BsCompareDialog, bs_compare_dialog, GTK_TYPE_WINDOW)

/* An error dialog over the window the comparison runs for. */
static void
show_error (BsCompareDialog *self, const char *title, const GError *error)
{
  GtkWindow *parent = gtk_window_get_transient_for (GTK_WINDOW (self));

  bs_show_error (parent != NULL ? parent : GTK_WINDOW (self), title, error);
}

/* Copies of what the worker reads: the window's volumes change when the
 * user opens another case while the comparison runs. */
typedef struct {
  BsUnet *net;
  BsVolume *prepared, *truth;
  BsPlane plane;
  int slices[COMPARE_SLICES];
  int n_slices, threads;
  gboolean crop;
  BsCompareDialog *dialog;  /* strong reference, for progress messages */
} CompareJob;

static void
compare_job_free (CompareJob *job)
{
  bs_unet_free (job->net);
  bs_volume_free (job->prepared);
  bs_volume_free (job->truth);
  g_object_unref (job->dialog);
  g_free (job);
}

typedef struct {
  BsCompareDialog *dialog;
  int done, total, index;
  BsCompareRow row;
} RowMsg;

static void
row_msg_free (gpointer data)
{
  RowMsg *msg = data;

  g_free (msg->row.reason);
  g_object_unref (msg->dialog);
  g_free (msg);
}

static gboolean
deliver_row (gpointer data)
{
  RowMsg *msg = data;
  BsCompareDialog *self = msg->dialog;
  g_autofree char *label = NULL, *text = NULL;

  if (!self->running)
    return G_SOURCE_REMOVE;
  bs_compare_chart_set_row (self->chart, msg->index, &msg->row);
  gtk_progress_bar_set_fraction (self->bar, (double) msg->done / msg->total);
  label = bs_compare_row_label (&msg->row);
  text = g_strdup_printf (_("Finished %s (%d of %d)"), label, msg->done, msg->total);
  gtk_label_set_text (self->status, text);
  return G_SOURCE_REMOVE;
}

static void
on_row_done (int done, int total, int index, const BsCompareRow *row, gpointer user_data)
{
  CompareJob *job = user_data;
  RowMsg *msg = g_new0 (RowMsg, 1);

  msg->dialog = g_object_ref (job->dialog);
  msg->done = done;
  msg->total = total;
  msg->index = index;
  msg->row = *row;
  msg->row.reason = g_strdup (row->reason);
  bs_main_post (NULL, "bs-compare-row", deliver_row, msg, row_msg_free);
}

static void
compare_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  CompareJob *job = data;
  GError *error = NULL;
  BsCompareResult *result;
  g_autoptr(BsInferGeometry) geom = bs_infer_geometry_new_for_net (job->net, job->prepared, job->plane, job->crop);

  result = bs_compare_run (job->net, job->prepared, job->truth, geom, job->slices, job->n_slices,
                           job->threads, NULL, on_row_done, job, cancellable, &error);
  if (result)
    g_task_return_pointer (task, result, (GDestroyNotify) bs_compare_result_free);
  else
    g_task_return_error (task, error);
}

/* The case and model the run starts on, remembered for its caption and
 * file names. */
static void
remember_subject (BsCompareDialog *self)
{
  BsDataset *ds = bs_session_get_dataset (self->session);
  const BsUnet *net = bs_session_get_model (self->session);
  int index = bs_session_get_case_index (self->session);

  g_free (self->case_id);
  g_free (self->model_name);
  self->case_id = ds != NULL && index >= 0 ? g_strdup (bs_dataset_get_case_id (ds, index)) : NULL;
  self->model_name = net != NULL && net->path != NULL ? g_path_get_basename (net->path) : NULL;
}

/* "Case BraTS2021_00006 · model brainseg-default.h5 · 2 threads · AMD EPYC, 2
 * cores, oneDNN avx512_core_bf16"; threads 0: not known yet (the run judges
 * the free cores when it starts).  The title above it says "batch 1". */
static char *
compare_caption (BsCompareDialog *self, int threads)
{
  const char *model = self->model_name != NULL ? self->model_name : _("random weights");
  g_autofree char *cpu = bs_cpu_description ();
  const char *id = self->case_id != NULL ? self->case_id : "–";

  if (cpu == NULL)
    cpu = g_strdup (_("Unknown CPU"));
  if (threads > 0)
    /* TRANSLATORS: case id, model file, the threads every configuration ran on (walk finding: a presenter could
     * not tell them), CPU */
    return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Case %s · model %s · %d thread · %s",
                                         "Case %s · model %s · %d threads · %s", threads),
                            id, model, threads, cpu);
  /* TRANSLATORS: case id, model file, CPU */
  return g_strdup_printf (_("Case %s · model %s · %s"), id, model, cpu);
}

/* "BraTS2021_00006-compare.png": the case the comparison ran on. */
static char *
compare_file_name (BsCompareDialog *self, const char *ext)
{
  if (self->case_id == NULL)
    return g_strdup_printf ("brainseg-compare.%s", ext);
  return g_strdup_printf ("%s-compare.%s", self->case_id, ext);
}

static void
on_compare_done (GObject *source, GAsyncResult *res, gpointer user_data)
{
  BsCompareDialog *self = BS_COMPARE_DIALOG (source);
  g_autoptr(GError) error = NULL;
  BsCompareResult *result = g_task_propagate_pointer (G_TASK (res), &error);

  self->running = FALSE;
  if (result == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          gtk_label_set_text (self->status, error->message);
          show_error (self, _("Compare all failed"), error);
        }
      return;
    }
  self->finished = TRUE;
  result->caption = compare_caption (self, result->threads_used);
  bs_compare_chart_set_result (self->chart, result);
  gtk_progress_bar_set_fraction (self->bar, 1.0);
  {
    g_autoptr(GString) text = g_string_new (NULL);

    /* What the Dice here is, so that it is not read as the Dice panel's
     * (walk finding: int8 cost 0.0007 here and 0.0015 in the panel). */
    if (!isnan (result->rows[result->reference].dice))
      g_string_append_printf (text, g_dngettext (GETTEXT_PACKAGE,
                                                 "Done. Dice on the %d compared slice (the one with the most "
                                                 "tumour), before the island clean-up; the Dice panel's is the whole "
                                                 "volume's after it. ΔDice is each configuration's Dice minus the fp32 "
                                                 "reference's.",
                                                 "Done. Dice on the %d compared slices (those with the most tumour), "
                                                 "before the island clean-up; the Dice panel's is the whole volume's "
                                                 "after it. ΔDice is each configuration's Dice minus the fp32 "
                                                 "reference's.", result->n_slices),
                              result->n_slices);
    else
      g_string_append (text, _("Done. This case has no ground truth: agreement is the Dice of each "
                               "mask against the fp32 reference mask."));

    /* Each reason a configuration could not run, once and whole (the chart
     * shows its first words). */
    for (int i = 0; i < result->n_rows; i++)
      {
        const char *why = result->rows[i].reason;
        gboolean seen = FALSE;

        for (int j = 0; j < i && why != NULL; j++)
          seen |= !result->rows[j].available && g_strcmp0 (result->rows[j].reason, why) == 0;
        if (!result->rows[i].available && why != NULL && !seen)
          g_string_append_printf (text, "\n%s", why);
      }
    gtk_label_set_text (self->status, text->str);
    g_free (self->done_text);
    self->done_text = g_strdup (text->str);
  }
  gtk_widget_set_sensitive (self->export_png, TRUE);
  gtk_widget_set_sensitive (self->export_csv, TRUE);
}

/* No more looking at the window's work (the run starts, or never will). */
static void
stop_listening (BsCompareDialog *self)
{
  if (self->session != NULL)
    g_clear_signal_handler (&self->busy_handler, self->session);
  g_clear_handle_id (&self->wait_source, g_source_remove);
}

static void
launch (BsCompareDialog *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->waiting);

  stop_listening (self);
  gtk_label_set_text (self->status, _("Timing every configuration on slices of this case. Anything else "
                                      "the computer does meanwhile shows in the times, so compare ratios "
                                      "rather than absolute times."));
  g_task_run_in_thread (task, compare_thread);
}

/* The window's volume, its three-plane passes and its figures run on the
 * same cores: the timings wait for them (walk finding: the first rows were
 * timed beside the window's fill and the later ones alone, which skewed the
 * ratios).  The window's stop button starts them at once. */
static gboolean
launch_when_idle (gpointer data)
{
  BsCompareDialog *self = data;

  self->wait_source = 0;
  if (self->waiting != NULL && !bs_session_is_busy (self->session))
    launch (self);
  return G_SOURCE_REMOVE;
}

static void
on_session_busy (BsSession *session, GParamSpec *pspec, BsCompareDialog *self)
{
  /* One stage of the window's work can end just before the next begins:
   * look again once the main loop has run. */
  if (!bs_session_is_busy (session) && self->wait_source == 0)
    self->wait_source = g_timeout_add (100, launch_when_idle, self);
}

static void
start_run (BsCompareDialog *self)
{
  const BsVolume *prepared = bs_session_get_prepared_volume (self->session);
  const BsVolume *truth = bs_session_get_truth (self->session);
  const BsUnet *net = bs_session_get_model (self->session);
  BsPlanOptions opts;
  BsCompareResult *pending;
  CompareJob *job;
  int ph, pw;

  if (prepared == NULL || net == NULL)
    {
      gtk_label_set_text (self->status, _("Open a case and a model first."));
      return;
    }
  /* The case shown now is the one compared, whatever opens while it waits. */
  job = g_new0 (CompareJob, 1);
  job->net = bs_unet_copy (net);
  job->prepared = bs_volume_copy (prepared);
  job->truth = truth ? bs_volume_copy (truth) : NULL;
  /* The network's own plane, whatever the window shows. */
  job->plane = bs_session_get_net_plane (self->session);
  bs_session_get_plan_options (self->session, &opts);
  job->threads = opts.threads;
  job->crop = opts.crop_to_brain;
  job->n_slices = bs_compare_pick_slices (job->prepared, job->truth, job->plane, self->n_slices, job->slices);
  job->dialog = g_object_ref (self);

  remember_subject (self);
  pending = bs_compare_result_new_pending ();
  /* The brain's window is known once the run has looked at the volume, off
   * this thread: until then the heading names no size rather than a wrong one. */
  bs_volume_slice_size (job->prepared, job->plane, &pw, &ph);
  pending->height = job->crop ? 0 : (ph + 15) / 16 * 16;
  pending->width = job->crop ? 0 : (pw + 15) / 16 * 16;
  pending->n_slices = job->n_slices;
  pending->caption = compare_caption (self, 0);
  bs_compare_chart_begin (self->chart, pending);

  self->running = TRUE;
  self->cancellable = g_cancellable_new ();
  self->waiting = g_task_new (self, self->cancellable, on_compare_done, NULL);
  g_task_set_task_data (self->waiting, job, (GDestroyNotify) compare_job_free);
  if (!bs_session_is_busy (self->session))
    {
      launch (self);
      return;
    }
  gtk_label_set_text (self->status, _("Waiting for the window to finish this case's volume: its inference "
                                      "would share the CPU with every timing. The window's stop button "
                                      "(Escape) starts the comparison at once."));
  self->busy_handler = g_signal_connect (self->session, "notify::busy", G_CALLBACK (on_session_busy), self);
}

static void
on_saved (const char *what, const char *path, const GError *error, BsCompareDialog *self)
{
  g_autofree char *text = NULL;

  if (error)
    {
      show_error (self, what, error);
      return;
    }
  bs_export_remember_folder (path);
  /* The file went where it was asked to: said in the status line. */
  text = g_strdup_printf (_("Saved “%s”"), path);
  if (self->done_text != NULL)
    {
      g_autofree char *both = g_strdup_printf ("%s\n%s", self->done_text, text);
      gtk_label_set_text (self->status, both);
    }
  else
    gtk_label_set_text (self->status, text);
}

static void
on_png_chosen (GtkNativeDialog *chooser, int response, gpointer user_data)
{
  BsCompareDialog *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *typed = g_file_get_path (file);
      /* walk finding: "compare" was written without ".png" */
      g_autofree char *named = typed != NULL ? bs_export_add_extension (typed, ".png") : NULL;
      g_autofree char *path = named != NULL ? bs_export_resolve_typed_name (GTK_WINDOW (self), typed, named) : NULL;
      g_autoptr(GError) error = NULL;

      if (path == NULL)
        {
          g_object_unref (chooser);
          g_object_unref (self);
          return;
        }
      bs_compare_chart_save_png (bs_compare_chart_get_result (self->chart), 1600, 1000, path, &error);
      on_saved (_("Could not export the chart"), path, error, self);
    }
  g_object_unref (chooser);
  g_object_unref (self);
}

static void
on_csv_chosen (GtkNativeDialog *chooser, int response, gpointer user_data)
{
  BsCompareDialog *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *typed = g_file_get_path (file);
      /* walk finding: "compare" was written without ".csv" */
      g_autofree char *named = typed != NULL ? bs_export_add_extension (typed, ".csv") : NULL;
      g_autofree char *path = named != NULL ? bs_export_resolve_typed_name (GTK_WINDOW (self), typed, named) : NULL;
      g_autoptr(GError) error = NULL;

      if (path == NULL)
        {
          g_object_unref (chooser);
          g_object_unref (self);
          return;
        }
      bs_compare_write_csv (bs_compare_chart_get_result (self->chart), path, &error);
      on_saved (_("Could not export the table"), path, error, self);
    }
  g_object_unref (chooser);
  g_object_unref (self);
}

static void
choose_file (BsCompareDialog *self, const char *title, const char *name, GCallback on_response)
{
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self),
                                                               GTK_FILE_CHOOSER_ACTION_SAVE,
                                                               _("_Export"), _("_Cancel"));

  g_autofree char *folder = bs_export_start_folder ();
  g_autoptr(GFile) start = g_file_new_for_path (folder);

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  /* Where the window's exports go, not the folder the program started in
   * (walk finding). */
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), start, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  g_signal_connect (chooser, "response", on_response, g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
on_export_png (GtkButton *button, BsCompareDialog *self)
{
  g_autofree char *name = compare_file_name (self, "png");

  choose_file (self, _("Export Chart"), name, G_CALLBACK (on_png_chosen));
}

static void
on_export_csv (GtkButton *button, BsCompareDialog *self)
{
  g_autofree char *name = compare_file_name (self, "csv");

  choose_file (self, _("Export Table"), name, G_CALLBACK (on_csv_chosen));
}

/* A run still waiting for the window never starts: its task returns the
 * cancellation (the dialog then keeps its chart as it is). */
static void
stop_waiting (BsCompareDialog *self)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->waiting);

  stop_listening (self);
  if (task != NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s", _("Compare all was cancelled"));
}

static void
bs_compare_dialog_map (GtkWidget *widget)
{
  BsCompareDialog *self = BS_COMPARE_DIALOG (widget);

  GTK_WIDGET_CLASS (bs_compare_dialog_parent_class)->map (widget);
  if (!self->running && !self->finished)
    start_run (self);
}

static gboolean
bs_compare_dialog_close_request (GtkWindow *window)
{
  BsCompareDialog *self = BS_COMPARE_DIALOG (window);

  /* The worker stops at the next slice; the task keeps the dialog alive
   * until then, and its result is dropped. */
  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  stop_waiting (self);
  return GTK_WINDOW_CLASS (bs_compare_dialog_parent_class)->close_request (window);
}

static void
bs_compare_dialog_dispose (GObject *object)
{
  BsCompareDialog *self = BS_COMPARE_DIALOG (object);

  if (self->cancellable)
    g_cancellable_cancel (self->cancellable);
  stop_waiting (self);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->session);
  g_clear_pointer (&self->done_text, g_free);
  g_clear_pointer (&self->case_id, g_free);
  g_clear_pointer (&self->model_name, g_free);
  G_OBJECT_CLASS (bs_compare_dialog_parent_class)->dispose (object);
}

static void
bs_compare_dialog_class_init (BsCompareDialogClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = bs_compare_dialog_dispose;
  GTK_WIDGET_CLASS (klass)->map = bs_compare_dialog_map;
  GTK_WINDOW_CLASS (klass)->close_request = bs_compare_dialog_close_request;
}

static void
bs_compare_dialog_init (BsCompareDialog *self)
{
  GtkWidget *header = gtk_header_bar_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);

  self->n_slices = COMPARE_SLICES;
  gtk_window_set_title (GTK_WINDOW (self), _("Compare All Configurations"));
  gtk_window_set_default_size (GTK_WINDOW (self), 1000, 720);

  self->export_png = gtk_button_new_with_mnemonic (_("Export _Chart…"));
  self->export_csv = gtk_button_new_with_mnemonic (_("Export _Table…"));
  gtk_widget_set_tooltip_text (self->export_png, _("Save the chart as a PNG image"));
  gtk_widget_set_tooltip_text (self->export_csv, _("Save the numbers as a CSV table"));
  gtk_widget_set_sensitive (self->export_png, FALSE);
  gtk_widget_set_sensitive (self->export_csv, FALSE);
  g_signal_connect (self->export_png, "clicked", G_CALLBACK (on_export_png), self);
  g_signal_connect (self->export_csv, "clicked", G_CALLBACK (on_export_csv), self);
  gtk_header_bar_pack_end (GTK_HEADER_BAR (header), self->export_csv);
  gtk_header_bar_pack_end (GTK_HEADER_BAR (header), self->export_png);
  gtk_window_set_titlebar (GTK_WINDOW (self), header);

  self->status = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->status, TRUE);
  gtk_label_set_xalign (self->status, 0);
  gtk_label_set_yalign (self->status, 0);
  /* Four lines kept from the start (what the Dice is, over two lines at
   * 1366 px; a configuration that could not run; "Saved"), so that the chart
   * under it does not move down as they come (walk finding). */
  {
    g_autoptr(PangoLayout) one = gtk_widget_create_pango_layout (GTK_WIDGET (self->status), "X\nX\nX\nX");
    int lw, lh;

    pango_layout_get_pixel_size (one, &lw, &lh);
    gtk_widget_set_size_request (GTK_WIDGET (self->status), -1, lh);
  }
  self->bar = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  self->chart = BS_COMPARE_CHART (bs_compare_chart_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (self->chart), TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (self->chart), TRUE);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->status));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->bar));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->chart));
  gtk_window_set_child (GTK_WINDOW (self), box);
}

BsCompareDialog *
bs_compare_dialog_new (GtkWindow *parent, BsSession *session)
{
  BsCompareDialog *self = g_object_new (BS_TYPE_COMPARE_DIALOG, "transient-for", parent, NULL);

  self->session = g_object_ref (session);
  return self;
}

void
bs_compare_dialog_set_n_slices (BsCompareDialog *self, int n_slices)
{
  self->n_slices = CLAMP (n_slices, 1, COMPARE_SLICES);
}

const BsCompareResult *
bs_compare_dialog_get_result (BsCompareDialog *self)
{
  return self->finished ? bs_compare_chart_get_result (self->chart) : NULL;
}

gboolean
bs_compare_dialog_is_running (BsCompareDialog *self)
{
  return self->running;
}

GtkWidget *
bs_compare_dialog_get_chart (BsCompareDialog *self)
{
  return GTK_WIDGET (self->chart);
}

const char *
bs_compare_dialog_get_status_text (BsCompareDialog *self)
{
  return gtk_label_get_text (self->status);
}

gboolean
bs_compare_dialog_is_waiting (BsCompareDialog *self)
{
  return self->waiting != NULL;
}
