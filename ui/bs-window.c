#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "bs-dice-chart.h"
#include "bs-error.h"
#include "bs-infer.h"
#include "bs-inference-worker.h"
#include "bs-labels.h"
#include "bs-metrics.h"
#include "bs-slice-view.h"
#include "bs-window.h"
#include "bs-settings.h"

#define MAX_RECENT 8
#define SLOWEST_LAYERS 5
#define AUTO_WINDOW_STRIDE 7

/* Runs whose ms/slice the timing panel's median covers. */
#define BS_WINDOW_SPEED_RUNS 15

struct _BsWindow
{
  GtkApplicationWindow parent_instance;

  /* Template children */
  GtkMenuButton *recent_button;
  GtkMenuButton *export_button;
  GtkRevealer *note_revealer;
  GtkLabel *note_label;
  GtkLabel *dataset_label;
  GtkSearchEntry *case_filter;
  GtkListBox *case_list;
  GtkDropDown *modality_dropdown;
  GtkAdjustment *opacity_adjustment;
  GtkStack *view_stack;
  BsSliceView *input_view;
  BsSliceView *truth_view;
  BsSliceView *pred_view;
  BsSliceView *overlay_view;
  GtkScale *slice_scale;
  GtkAdjustment *slice_adjustment;
  GtkLabel *slice_label;
  GtkLabel *readout_label;
  GtkLabel *progress_label;
  GtkProgressBar *progress_bar;
  GtkButton *cancel_button;
  GtkButton *resume_button;
  GtkLabel *slice_dice_label;
  GtkLabel *volume_dice_label;
  GtkLabel *volume_count_label;
  BsDiceChart *dice_chart;
  GtkLabel *speed_label;
  GtkGrid *timing_grid;
  GtkLabel *plan_label;
  GtkLabel *cpu_label;
  GtkToggleButton *fp32_toggle;
  GtkToggleButton *int8_toggle;
  GtkToggleButton *nchw_toggle;
  GtkToggleButton *bf16_toggle;
  GtkLabel *precision_note_label;
  GtkAdjustment *threads_adjustment;  /* 1..cores, and cores + 1 for "All" (plan threads 0) */
  GtkAdjustment *batch_adjustment;
  GtkSpinButton *threads_spin;
  GtkSpinButton *batch_spin;

  GSettings *settings;
  GMenu *recent_menu;
  BsInferenceWorker *worker;

  /* Loading: one task at a time touches the dataset. */
  GCancellable *load_cancellable;
  gboolean loading;
  guint pulse_id;
  int pending_case;        /* case asked for while another one loads, or -1 */

  BsDataset *dataset;
  int case_index;
  BsCase *bcase;
  BsVolume *truth;
  BsUnet *model;           /* the window's copy; the worker has its own */
  BsInferenceInput *input;
  double *case_dice;       /* per dataset case, NaN until the volume is done */
  float *auto_lo, *auto_hi; /* per image channel */

  /* Results, main thread only.  The network runs in the plane it was trained
   * in (net_plane, axial); computed and n_computed count those slices.  Other
   * planes show reslices of the same probability volume, so the mask, the
   * volume Dice and every export are the same whatever plane is viewed. */
  BsVolume *prob;
  guint8 *computed;             /* per net_plane slice */
  int n_computed;
  BsConfusion *slice_conf;      /* per displayed slice */
  guint8 *slice_conf_valid;     /* per displayed slice: slice_conf counts a whole slice */
  BsConfusion volume_conf;
  BsConfusion raw_volume_conf;  /* before the island clean-up */
  gboolean cleanup;             /* remove islands once the volume is done */
  gboolean cleanup_applied;
  BsCleanupStats cleanup_stats;
  GArray *cleanup_saved;        /* CleanupVoxel: what the clean-up switched off */
  int first_computed;      /* slice of the first result since the last restart */
  guint generation;
  gboolean ready;
  gboolean busy;
  gboolean disposed;       /* a load may finish after the window closed */
  gboolean fill_cancelled;
  gboolean inference_failed;  /* the job stopped with an error: nothing more is coming */
  char *plan_text;
  char *inputs_text;       /* the open case's modalities, for the plan line */
  BsTiming last_timing;
  gboolean has_timing;
  /* ms/slice of the last runs (network and its stages, no drawing): the
   * panel shows their median, a figure that holds still while slices arrive. */
  double speed_hist[BS_WINDOW_SPEED_RUNS];
  int n_speed, speed_pos;
  /* The most lines the plan label and the timing rows have shown: shorter
   * texts are padded to them, so the controls below never move. */
  int plan_lines, timing_lines;
  double render_ms;

  /* View state */
  BsPlane net_plane;       /* where the network runs (see prob) */
  BsPlane plane;           /* what is shown */
  int slice;
  int channel;
  gboolean overlay_mode;
  BsOverlayOptions overlay;
  BsPlanOptions opts;
  int width, height;       /* displayed slice size */
  float *img_buf, *truth_buf, *prob_buf;
  guint render_tick;
  int displayed_pred_slice;
  double displayed_dice;
  double cursor_x, cursor_y;
};

G_DEFINE_FINAL_TYPE (BsWindow, bs_window, GTK_TYPE_APPLICATION_WINDOW)

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* Median ms/slice of the last runs, NaN before the first. */
static double
steady_ms_per_slice (BsWindow *self)
{
  double v[BS_WINDOW_SPEED_RUNS];

  if (self->n_speed == 0)
    return NAN;
  memcpy (v, self->speed_hist, sizeof v[0] * self->n_speed);
  qsort (v, self->n_speed, sizeof v[0], compare_doubles);
  return self->n_speed % 2 ? v[self->n_speed / 2] : 0.5 * (v[self->n_speed / 2 - 1] + v[self->n_speed / 2]);
}

enum {
  PROP_0,
  PROP_GENERATION,
  N_PROPS
};
static GParamSpec *properties[N_PROPS];

/* ---- Action hooks for the export branch ---- */

typedef struct {
  BsWindowActionHook hook;
  gpointer user_data;
} Hook;

static GHashTable *action_hooks;

static const char *const hook_actions[] = {
  "export-overlay", "export-figure", "export-mask", "export-dice-csv", "export-series", "compare-all",
};

void
bs_window_register_action_hook (const char *action_name, BsWindowActionHook hook, gpointer user_data)
{
  Hook *h = g_new0 (Hook, 1);

  g_return_if_fail (action_name != NULL && hook != NULL);

  if (action_hooks == NULL)
    action_hooks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  h->hook = hook;
  h->user_data = user_data;
  g_hash_table_replace (action_hooks, g_strdup (action_name), h);
}

static void
on_hook_action (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  Hook *h = action_hooks != NULL ? g_hash_table_lookup (action_hooks, g_action_get_name (G_ACTION (action))) : NULL;

  if (h != NULL)
    h->hook (BS_WINDOW (user_data), h->user_data);
}

/* ---- Small helpers ---- */

static void render_views (BsWindow *self);
static void schedule_render (BsWindow *self);
static void load_case (BsWindow *self, int index);
static void restart_inference (BsWindow *self);

static const char *
plane_id (BsPlane plane)
{
  return bs_plane_name (plane);
}

static const char *
plane_label (BsPlane plane)
{
  switch (plane)
    {
    case BS_PLANE_CORONAL:
      return _("Coronal");
    case BS_PLANE_SAGITTAL:
      return _("Sagittal");
    case BS_PLANE_AXIAL:
    default:
      return _("Axial");
    }
}

static void
show_note (BsWindow *self, const char *text)
{
  gtk_label_set_text (self->note_label, text != NULL ? text : "");
  gtk_revealer_set_reveal_child (self->note_revealer, text != NULL);
}

void
bs_window_show_error (BsWindow *self, const char *title, const GError *error)
{
  GtkWidget *dialog;

  g_return_if_fail (BS_IS_WINDOW (self));

  dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE, "%s", title);
  if (error != NULL)
    gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", error->message);
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_window_destroy), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
set_progress (BsWindow *self, const char *text, double fraction)
{
  gtk_label_set_text (self->progress_label, text != NULL ? text : "");
  if (fraction >= 0)
    gtk_progress_bar_set_fraction (self->progress_bar, fraction);
}

static gboolean
pulse_cb (gpointer data)
{
  BsWindow *self = data;

  gtk_progress_bar_pulse (self->progress_bar);
  return G_SOURCE_CONTINUE;
}

static void
start_pulse (BsWindow *self, const char *text)
{
  set_progress (self, text, -1);
  if (self->pulse_id == 0)
    self->pulse_id = g_timeout_add (120, pulse_cb, self);
}

static void
stop_pulse (BsWindow *self)
{
  g_clear_handle_id (&self->pulse_id, g_source_remove);
}

static void recount_dice (BsWindow *self);
static gboolean volume_complete (BsWindow *self);

static void
update_fill_buttons (BsWindow *self)
{
  gboolean filling = self->ready && self->prob != NULL && !volume_complete (self) && !self->inference_failed;

  /* One of the two is always there, so the status row never changes height
   * under the pointer: Stop (greyed when nothing is filling) or Resume. */
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_button), !(filling && self->fill_cancelled));
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button), filling && !self->fill_cancelled);
  gtk_widget_set_visible (GTK_WIDGET (self->resume_button), filling && self->fill_cancelled);
}

static int
n_slices (BsWindow *self)
{
  return self->bcase != NULL ? bs_volume_n_slices (self->bcase->image, self->plane) : 0;
}

/* Slices of the plane the network runs in. */
static int
n_net_slices (BsWindow *self)
{
  return self->bcase != NULL ? bs_volume_n_slices (self->bcase->image, self->net_plane) : 0;
}

static gboolean
volume_complete (BsWindow *self)
{
  return self->computed != NULL && self->n_computed >= n_net_slices (self);
}

/* Whether displayed slice s holds its final prediction: in the network's
 * plane when that slice ran, in another plane once every slice ran. */
static gboolean
display_slice_complete (BsWindow *self, int s)
{
  if (self->computed == NULL || s < 0 || s >= n_slices (self))
    return FALSE;
  return self->plane == self->net_plane ? self->computed[s] != 0 : volume_complete (self);
}

/* ---- Recent files ---- */

static void
rebuild_recent_menu (BsWindow *self)
{
  g_auto(GStrv) paths = self->settings ? g_settings_get_strv (self->settings, "recent-paths") : g_new0 (char *, 1);

  g_menu_remove_all (self->recent_menu);
  for (int i = 0; paths[i] != NULL; i++)
    {
      g_autofree char *base = g_path_get_basename (paths[i]);
      g_autoptr(GMenuItem) item = g_menu_item_new (base, NULL);

      g_menu_item_set_action_and_target_value (item, "win.open-recent", g_variant_new_string (paths[i]));
      g_menu_append_item (self->recent_menu, item);
    }
  gtk_widget_set_sensitive (GTK_WIDGET (self->recent_button), paths[0] != NULL);
}

static void
remember_recent (BsWindow *self, const char *path)
{
  g_auto(GStrv) old = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) paths = NULL;
  int n = 1;

  if (self->settings == NULL)
    return;
  old = g_settings_get_strv (self->settings, "recent-paths");
  g_strv_builder_add (builder, path);
  for (int i = 0; old[i] != NULL && n < MAX_RECENT; i++)
    if (g_strcmp0 (old[i], path) != 0)
      {
        g_strv_builder_add (builder, old[i]);
        n++;
      }
  paths = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "recent-paths", (const char *const *) paths);
}

/* ---- Opening (off the main thread) ---- */

typedef struct {
  char *path;              /* dataset path, or NULL to keep the open one */
  char *model_path;        /* model path, or NULL to keep the current model */
  gboolean model_failed;   /* the error is the model's, not the data's */
  char *inputs_text;       /* which of the model's modalities the case has */
  gboolean random_model;   /* no model path: make random weights */
  int case_index;
  BsDataset *dataset;      /* borrowed when path is NULL */
  BsUnet *model;           /* copy of the current model when model_path is NULL */
  /* results */
  BsDataset *new_dataset;
  BsCase *bcase;
  BsVolume *truth;
  BsVolume *prepared;
  BsUnet *new_model;
  float *auto_lo, *auto_hi;
  char *model_note;
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
  g_clear_pointer (&job->inputs_text, g_free);
  g_clear_pointer (&job->new_model, bs_unet_free);
  g_free (job->auto_lo);
  g_free (job->auto_hi);
  g_free (job->model_note);
  g_free (job);
}

static BsUnet *
random_model (void)
{
  BsUnetConfig config = { 0 };
  char *modalities[] = { (char *) "FLAIR", NULL };
  BsUnet *net;

  config.fms = 16;
  config.in_channels = 1;
  config.upsample = BS_UPSAMPLE_TRANSPOSED;
  config.modalities = modalities;
  config.normalisation = (char *) "zscore-foreground";
  config.crop = 128;
  net = bs_unet_new_random (&config, 1);
  return net;
}

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

  if (job->model_path != NULL)
    {
      job->new_model = bs_unet_load_h5 (job->model_path, &error);
      if (job->new_model == NULL)
        {
          job->model_failed = TRUE;
          g_task_return_error (task, error);
          return;
        }
      net = job->new_model;
    }
  else if (job->random_model)
    {
      job->new_model = random_model ();
      net = job->new_model;
    }

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
          g_task_return_new_error (task, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                                   _("“%s” contains no cases"), job->path);
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

/* Exports and Compare all need an open case: greyed until one is. */
static void
update_case_actions (BsWindow *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (hook_actions); i++)
    {
      GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), hook_actions[i]);

      if (action != NULL)
        g_simple_action_set_enabled (G_SIMPLE_ACTION (action),
                                     self->bcase != NULL && action_hooks != NULL
                                       && g_hash_table_contains (action_hooks, hook_actions[i]));
    }
}

static void
clear_case (BsWindow *self)
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
  g_clear_pointer (&self->auto_lo, g_free);
  g_clear_pointer (&self->auto_hi, g_free);
  self->ready = FALSE;
  self->busy = FALSE;
  update_case_actions (self);
}

static void
case_row_update (BsWindow *self, int index)
{
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (self->case_list, index);
  GtkWidget *dice_label;

  if (row == NULL)
    return;
  dice_label = g_object_get_data (G_OBJECT (row), "dice-label");
  if (isnan (self->case_dice[index]))
    gtk_label_set_text (GTK_LABEL (dice_label), "");
  else
    {
      g_autofree char *text = g_strdup_printf ("%.3f", self->case_dice[index]);

      gtk_label_set_text (GTK_LABEL (dice_label), text);
    }
}

static void
fill_case_list (BsWindow *self)
{
  GtkWidget *child;
  guint n = bs_dataset_get_n_cases (self->dataset);

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->case_list))) != NULL)
    gtk_list_box_remove (self->case_list, child);
  g_free (self->case_dice);
  self->case_dice = g_new (double, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    {
      GtkWidget *row = gtk_list_box_row_new ();
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
      GtkWidget *name = gtk_label_new (bs_dataset_get_case_id (self->dataset, i));
      GtkWidget *dice = gtk_label_new (NULL);

      self->case_dice[i] = NAN;
      gtk_label_set_xalign (GTK_LABEL (name), 0);
      gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_MIDDLE);
      gtk_widget_set_hexpand (name, TRUE);
      gtk_widget_add_css_class (dice, "dim-label");
      gtk_widget_add_css_class (dice, "numeric");
      if (!bs_dataset_case_has_label (self->dataset, i))
        gtk_widget_set_tooltip_text (row, _("No ground truth"));
      gtk_box_append (GTK_BOX (box), name);
      gtk_box_append (GTK_BOX (box), dice);
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
      g_object_set_data_full (G_OBJECT (row), "case-id",
                              g_strdup (bs_dataset_get_case_id (self->dataset, i)), g_free);
      g_object_set_data (G_OBJECT (row), "dice-label", dice);
      gtk_list_box_append (self->case_list, row);
    }
  gtk_label_set_text (self->dataset_label, bs_dataset_get_name (self->dataset));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->dataset_label), bs_dataset_get_path (self->dataset));
}

static void
fill_modalities (BsWindow *self)
{
  g_autoptr(GtkStringList) list = gtk_string_list_new (NULL);
  const BsVolume *img = self->bcase->image;
  int preferred = bs_volume_find_channel (img, "FLAIR");

  for (int c = 0; c < img->n_channels; c++)
    {
      const char *name = img->channel_names != NULL ? img->channel_names[c] : NULL;
      g_autofree char *fallback = g_strdup_printf (_("Channel %d"), c + 1);

      gtk_string_list_append (list, name != NULL && *name ? name : fallback);
    }
  if (self->channel < 0 || self->channel >= img->n_channels)
    self->channel = preferred >= 0 ? preferred : 0;
  gtk_drop_down_set_model (self->modality_dropdown, G_LIST_MODEL (list));
  gtk_drop_down_set_selected (self->modality_dropdown, self->channel);
  gtk_widget_set_sensitive (GTK_WIDGET (self->modality_dropdown), img->n_channels > 1);
}

static void
reset_window_level (BsWindow *self)
{
  if (self->auto_lo == NULL)
    return;
  self->overlay.lo = self->auto_lo[self->channel];
  self->overlay.hi = self->auto_hi[self->channel];
}

static void
update_slice_marks (BsWindow *self)
{
  int n = n_slices (self);
  g_autofree float *buf = NULL;
  int w, h;

  gtk_scale_clear_marks (self->slice_scale);
  if (self->truth == NULL || n == 0)
    return;
  bs_volume_slice_size (self->truth, self->plane, &w, &h);
  buf = g_new (float, (gsize) w * h);
  for (int s = 0; s < n; s++)
    {
      gboolean any = FALSE;

      bs_volume_get_slice (self->truth, 0, self->plane, s, buf);
      for (gsize p = 0; p < (gsize) w * h && !any; p++)
        any = buf[p] > 0.5f;
      if (any)
        gtk_scale_add_mark (self->slice_scale, s, GTK_POS_BOTTOM, NULL);
    }
}

static void
update_view_geometry (BsWindow *self)
{
  BsSliceView *views[] = { self->input_view, self->truth_view, self->pred_view, self->overlay_view };
  const BsVolume *img = self->bcase->image;
  char letters[4];
  double aspect;

  bs_volume_slice_size (img, self->plane, &self->width, &self->height);
  g_free (self->img_buf);
  g_free (self->truth_buf);
  g_free (self->prob_buf);
  self->img_buf = g_new (float, (gsize) self->width * self->height);
  self->truth_buf = g_new (float, (gsize) self->width * self->height);
  self->prob_buf = g_new (float, (gsize) self->width * self->height);

  bs_volume_plane_letters (img, self->plane, letters);
  /* Rows of a displayed slice run along the plane's vertical axis. */
  switch (self->plane)
    {
    case BS_PLANE_AXIAL:
      aspect = img->spacing[1] / img->spacing[0];
      break;
    case BS_PLANE_CORONAL:
      aspect = img->spacing[2] / img->spacing[0];
      break;
    case BS_PLANE_SAGITTAL:
    default:
      aspect = img->spacing[2] / img->spacing[1];
      break;
    }
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    {
      bs_slice_view_set_letters (views[i], letters);
      bs_slice_view_set_pixel_aspect (views[i], aspect);
    }
}

static void
reset_transforms (BsWindow *self)
{
  BsSliceView *views[] = { self->input_view, self->truth_view, self->pred_view, self->overlay_view };
  BsViewTransform t = { 1.0, 0.0, 0.0 };

  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    bs_slice_view_set_transform (views[i], &t);
}

/* New plane, case, model or options: results so far no longer apply. */
static void
reset_display_counts (BsWindow *self)
{
  int n = n_slices (self);

  g_clear_pointer (&self->slice_conf, g_free);
  g_clear_pointer (&self->slice_conf_valid, g_free);
  if (self->bcase != NULL)
    {
      self->slice_conf = g_new0 (BsConfusion, MAX (n, 1));
      self->slice_conf_valid = g_new0 (guint8, MAX (n, 1));
    }
  bs_dice_chart_reset (self->dice_chart, n);
  bs_dice_chart_set_current (self->dice_chart, self->slice);
}

static void
reset_results (BsWindow *self)
{
  g_clear_pointer (&self->prob, bs_volume_free);
  g_clear_pointer (&self->computed, g_free);
  if (self->bcase != NULL)
    {
      self->prob = bs_volume_new_like (self->bcase->image, 1);
      self->computed = g_new0 (guint8, MAX (n_net_slices (self), 1));
    }
  reset_display_counts (self);
  memset (&self->volume_conf, 0, sizeof self->volume_conf);
  self->cleanup_applied = FALSE;
  if (self->cleanup_saved != NULL)
    g_array_set_size (self->cleanup_saved, 0);
  self->n_computed = 0;
  self->first_computed = -1;
  self->has_timing = FALSE;
  self->n_speed = self->speed_pos = 0;
  self->fill_cancelled = FALSE;
  self->inference_failed = FALSE;
}

static void
update_dice_panel (BsWindow *self)
{
  int n = n_slices (self);
  g_autofree char *count = NULL;

  if (self->bcase == NULL)
    {
      gtk_label_set_text (self->slice_dice_label, "–");
      gtk_label_set_text (self->volume_dice_label, "–");
      gtk_label_set_text (self->volume_count_label, "");
      return;
    }
  if (self->truth == NULL)
    {
      gtk_label_set_text (self->slice_dice_label, _("No ground truth"));
      gtk_label_set_text (self->volume_dice_label, _("No ground truth"));
    }
  else
    {
      g_autofree char *slice_text = NULL, *vol_text = NULL;

      const BsConfusion *c = &self->slice_conf[self->slice];
      int nn = n_net_slices (self);

      if (display_slice_complete (self, self->slice) && self->slice_conf_valid[self->slice]
          && c->tp + c->fp + c->fn == 0)
        /* Dice is 0/0 here, not 1: say what the slice holds (the tooltip says why) */
        slice_text = g_strdup (_("no tumour"));
      else if (display_slice_complete (self, self->slice) && self->slice_conf_valid[self->slice])
        slice_text = g_strdup_printf ("%.4f", bs_confusion_dice (c));
      else if (self->inference_failed)
        slice_text = g_strdup (_("no prediction (inference stopped)"));
      else
        slice_text = g_strdup (_("computing…"));
      if (self->n_computed > 0 && self->cleanup_applied)
        /* TRANSLATORS: volume Dice after the island clean-up, then before it */
        vol_text = g_strdup_printf (_("%.4f (raw %.4f)"), bs_confusion_dice (&self->volume_conf),
                                    bs_confusion_dice (&self->raw_volume_conf));
      else if (self->n_computed >= nn)
        vol_text = g_strdup_printf ("%.4f", bs_confusion_dice (&self->volume_conf));
      else if (self->n_computed > 0)
        /* TRANSLATORS: the volume Dice so far, over the slices computed (the line below counts them) */
        vol_text = g_strdup_printf (_("%.4f (partial)"), bs_confusion_dice (&self->volume_conf));
      else
        vol_text = g_strdup ("–");
      gtk_label_set_text (self->slice_dice_label, slice_text);
      gtk_label_set_text (self->volume_dice_label, vol_text);
      /* A partial volume Dice is dimmed until every slice ran. */
      if (self->n_computed > 0 && self->n_computed < nn)
        gtk_widget_add_css_class (GTK_WIDGET (self->volume_dice_label), "dim-label");
      else
        gtk_widget_remove_css_class (GTK_WIDGET (self->volume_dice_label), "dim-label");
    }
  n = n_net_slices (self);
  if (self->plane == self->net_plane)
    count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d of %d slice computed", "%d of %d slices computed", n),
                             self->n_computed, n);
  else
    /* TRANSLATORS: the network runs on axial slices; coronal and sagittal views are cut from them */
    count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d of %d axial slice computed",
                                          "%d of %d axial slices computed", n), self->n_computed, n);
  gtk_label_set_text (self->volume_count_label, count);
}

static void
update_slice_label (BsWindow *self)
{
  /* The file's voxel index, from 0: the same number as in the cursor readout,
   * the exported file names, the per-slice CSV and the figure's title. */
  g_autofree char *text = g_strdup_printf (_("%s %d (0–%d)"), plane_label (self->plane), self->slice,
                                           MAX (n_slices (self) - 1, 0));

  gtk_label_set_text (self->slice_label, text);
}

static int
compare_entries_desc (gconstpointer a, gconstpointer b)
{
  const BsTimingEntry *ea = a, *eb = b;

  return (ea->ms < eb->ms) - (ea->ms > eb->ms);
}

/* Two multi-line labels (names, values) in the timing grid: their text
 * changes at inference rate, so no widgets are made or hidden per result. */
static void
create_timing_rows (BsWindow *self)
{
  GtkWidget *names = gtk_label_new (NULL), *values = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (names), 0);
  gtk_label_set_xalign (GTK_LABEL (values), 1);
  gtk_label_set_justify (GTK_LABEL (values), GTK_JUSTIFY_RIGHT);
  gtk_widget_set_hexpand (names, TRUE);
  gtk_widget_add_css_class (values, "numeric");
  gtk_grid_attach (self->timing_grid, names, 0, 0, 1, 1);
  gtk_grid_attach (self->timing_grid, values, 1, 0, 1, 1);
}

static void
timing_line (GString *names, GString *values, const char *name, const char *value, gboolean dim)
{
  g_autofree char *n = g_markup_escape_text (name, -1);
  g_autofree char *v = g_markup_escape_text (value, -1);
  const char *sep = names->len > 0 ? "\n" : "";

  if (dim)
    {
      g_string_append_printf (names, "%s<span alpha=\"60%%\">%s</span>", sep, n);
      g_string_append_printf (values, "%s<span alpha=\"60%%\">%s</span>", sep, v);
    }
  else
    {
      g_string_append_printf (names, "%s%s", sep, n);
      g_string_append_printf (values, "%s%s", sep, v);
    }
}

/* Keeps w at least as tall as the tallest it has been at its width, so that
 * the controls below it hold still while its text comes and goes. */
static void
hold_height (GtkWidget *w)
{
  int width = gtk_widget_get_width (w), min = 0, nat = 0, held = 0;

  if (width <= 0)
    return;
  gtk_widget_measure (w, GTK_ORIENTATION_VERTICAL, width, &min, &nat, NULL, NULL);
  gtk_widget_get_size_request (w, NULL, &held);
  if (nat > held)
    gtk_widget_set_size_request (w, -1, nat);
}

static int
count_lines (const char *s)
{
  int n = *s ? 1 : 0;

  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* Appends empty lines to s until it has lines lines. */
static void
pad_lines (GString *s, int lines)
{
  for (int n = count_lines (s->str); n < lines; n++)
    g_string_append (s, n == 0 && s->len == 0 ? " " : "\n ");
}

static void
set_timing_text (BsWindow *self, GString *names, GString *values)
{
  self->timing_lines = MAX (self->timing_lines, count_lines (names->str));
  pad_lines (names, self->timing_lines);
  pad_lines (values, self->timing_lines);
  gtk_label_set_markup (GTK_LABEL (gtk_grid_get_child_at (self->timing_grid, 0, 0)), names->str);
  gtk_label_set_markup (GTK_LABEL (gtk_grid_get_child_at (self->timing_grid, 1, 0)), values->str);
  hold_height (GTK_WIDGET (self->timing_grid));
}

static const char *
stage_label (const char *id)
{
  if (g_str_equal (id, "preprocess"))
    return _("Preprocess");
  if (g_str_equal (id, "reorder"))
    return _("Reorder");
  if (g_str_equal (id, "network"))
    return _("Network");
  if (g_str_equal (id, "output"))
    return _("Output");
  if (g_str_equal (id, "flips"))
    /* TRANSLATORS: timing stage: mirroring slices and averaging the two passes */
    return _("Test-time flips");
  if (g_str_equal (id, "threshold"))
    return _("Threshold");
  if (g_str_equal (id, "render"))
    return _("Render");
  return id;
}

static void
update_timing_panel (BsWindow *self)
{
  g_autoptr(GString) names = g_string_new (NULL);
  g_autoptr(GString) values = g_string_new (NULL);
  BsTimingEntry layers[BS_TIMING_MAX_LAYERS];
  int n_layers;
  g_autofree char *cpu = bs_cpu_description ();
  g_autofree char *cpu_text = NULL;

  /* The description already names the cores and oneDNN's ISA; the threads in
   * use are the plan's (above it): "All" adapts to the cores other programs leave free. */
  cpu_text = g_strdup (cpu != NULL ? cpu : _("Unknown CPU"));
  gtk_label_set_text (self->cpu_label, cpu_text);
  {
    g_autoptr(GString) plan = g_string_new (NULL);

    g_string_printf (plan, "%s%s%s", self->plan_text != NULL ? self->plan_text : "",
                     self->plan_text != NULL && self->inputs_text != NULL ? "\n" : "",
                     self->inputs_text != NULL ? self->inputs_text : "");
    self->plan_lines = MAX (self->plan_lines, count_lines (plan->str));
    pad_lines (plan, self->plan_lines);
    gtk_label_set_text (self->plan_label, plan->str);
    hold_height (GTK_WIDGET (self->plan_label));
  }

  if (!self->has_timing || self->last_timing.n_slices <= 0)
    {
      gtk_label_set_text (self->speed_label, self->ready ? _("Waiting for the first slice…") : "");
      set_timing_text (self, names, values);
      return;
    }
  {
    double ms_per_slice = steady_ms_per_slice (self);
    g_autofree char *speed = g_strdup_printf (_("%.1f ms/slice · %.1f slices/s"), ms_per_slice,
                                              ms_per_slice > 0 ? 1000.0 / ms_per_slice : 0.0);
    g_autofree char *tip = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                         "Median over the last %d run of the network (preprocessing to output, without drawing); the stages below are the last run's",
                                                         "Median over the last %d runs of the network (preprocessing to output, without drawing); the stages below are the last run's",
                                                         self->n_speed), self->n_speed);

    gtk_label_set_text (self->speed_label, speed);
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->speed_label), tip);
  }
  for (int i = 0; i < self->last_timing.n_stages; i++)
    {
      g_autofree char *v = g_strdup_printf (_("%.2f ms"), self->last_timing.stages[i].ms / self->last_timing.n_slices);

      timing_line (names, values, stage_label (self->last_timing.stages[i].name), v, FALSE);
    }
  {
    g_autofree char *v = g_strdup_printf (_("%.2f ms"), self->render_ms);

    timing_line (names, values, stage_label ("render"), v, FALSE);
  }
  n_layers = self->last_timing.n_layers;
  if (n_layers > 0)
    {
      timing_line (names, values, _("Slowest layers"), " ", FALSE);
      memcpy (layers, self->last_timing.layers, sizeof layers[0] * n_layers);
      qsort (layers, n_layers, sizeof layers[0], compare_entries_desc);
      for (int i = 0; i < MIN (n_layers, SLOWEST_LAYERS); i++)
        {
          g_autofree char *v = g_strdup_printf (_("%.2f ms"), layers[i].ms / self->last_timing.n_slices);

          timing_line (names, values, layers[i].name, v, TRUE);
        }
    }
  set_timing_text (self, names, values);
}

static void
update_progress (BsWindow *self)
{
  int n = n_net_slices (self);

  if (self->loading)
    return;
  if (!self->ready || n == 0)
    {
      set_progress (self, "", 0);
      return;
    }
  if (self->n_computed >= n && self->cleanup_applied && self->cleanup_stats.removed > 0)
    {
      g_autofree char *text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                            "Volume done · %d island removed",
                                                            "Volume done · %d islands removed",
                                                            self->cleanup_stats.n_components - self->cleanup_stats.n_kept),
                                               self->cleanup_stats.n_components - self->cleanup_stats.n_kept);
      set_progress (self, text, 1.0);
    }
  else if (self->n_computed >= n)
    set_progress (self, _("Volume done"), 1.0);
  else
    {
      g_autofree char *text = g_strdup_printf (self->fill_cancelled ? _("Stopped at %d / %d") : _("Predicting %d / %d"),
                                               self->n_computed, n);

      set_progress (self, text, (double) self->n_computed / n);
    }
  update_fill_buttons (self);
}

static void
set_generation (BsWindow *self)
{
  self->generation++;
  if (self->generation == 0)
    self->generation = 1;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GENERATION]);
}

/* Hands the worker a fresh job for the current case, plane and options. */
static void
restart_inference (BsWindow *self)
{
  set_generation (self);
  reset_results (self);
  self->displayed_pred_slice = -1;
  g_clear_pointer (&self->plan_text, g_free);
  if (self->input == NULL)
    {
      bs_inference_worker_clear (self->worker);
      self->ready = FALSE;
      return;
    }
  bs_inference_worker_set_job (self->worker, self->input, self->net_plane, &self->opts, self->generation);
  if (self->plane == self->net_plane)
    bs_inference_worker_request_slice (self->worker, self->generation, self->slice);
  self->ready = FALSE;
  self->busy = TRUE;
  start_pulse (self, self->opts.precision == BS_PRECISION_INT8 ? _("Calibrating and building the int8 plan…")
                                                                : _("Building the inference plan…"));
  update_dice_panel (self);
  update_timing_panel (self);
  update_fill_buttons (self);
  schedule_render (self);
}

static void
set_plane_internal (BsWindow *self, BsPlane plane)
{
  GAction *action;

  if (self->bcase == NULL)
    {
      self->plane = plane;
      return;
    }
  self->plane = plane;
  self->slice = n_slices (self) / 2;
  update_view_geometry (self);
  reset_transforms (self);
  gtk_adjustment_configure (self->slice_adjustment, self->slice, 0, MAX (n_slices (self) - 1, 0), 1, 10, 0);
  update_slice_marks (self);
  update_slice_label (self);
  /* The prediction stays: other planes are cut from it, nothing reruns. */
  recount_dice (self);
  if (self->input != NULL && plane == self->net_plane && self->computed != NULL && !self->computed[self->slice])
    bs_inference_worker_request_slice (self->worker, self->generation, self->slice);
  /* A slice of another plane needs every slice of the network's plane. */
  if (self->input != NULL && plane != self->net_plane && self->fill_cancelled && !volume_complete (self))
    g_action_group_activate_action (G_ACTION_GROUP (self), "resume-fill", NULL);
  self->displayed_pred_slice = -1;
  update_dice_panel (self);
  update_fill_buttons (self);
  schedule_render (self);
  action = g_action_map_lookup_action (G_ACTION_MAP (self), "plane");
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_string (plane_id (plane)));
}

/* Takes the model the open job loaded (if any) as the window's model. */
static void
adopt_model (BsWindow *self, OpenJob *job)
{
  if (job->new_model == NULL)
    return;
  g_clear_pointer (&self->model, bs_unet_free);
  self->model = g_steal_pointer (&job->new_model);
  if (job->random_model)
    show_note (self, _("No trained model was found: predictions come from random weights. "
                       "Load trained weights with Model."));
  else
    show_note (self, NULL);
}

static void
open_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  BsWindow *self = BS_WINDOW (source);
  GTask *task = G_TASK (result);
  OpenJob *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  int pending;

  if (self->disposed)
    {
      g_task_propagate_boolean (task, NULL);
      return;
    }
  self->loading = FALSE;
  stop_pulse (self);
  set_progress (self, "", 0);
  if (!g_task_propagate_boolean (task, &error))
    {
      /* A model that loaded stays, whatever went wrong with the data after it:
       * the next case opened must not fall back to random weights. */
      adopt_model (self, job);
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_autofree char *title = NULL;

          if (job->model_failed)
            title = g_strdup_printf (_("Could not load the model “%s”"), job->model_path);
          else if (job->path != NULL)
            title = g_strdup_printf (_("Could not open “%s”"), job->path);
          else
            title = g_strdup_printf (_("Could not load case “%s”"),
                                     bs_dataset_get_case_id (self->dataset, job->case_index));
          bs_window_show_error (self, title, error);
        }
      update_progress (self);
      pending = self->pending_case;
      self->pending_case = -1;
      if (pending >= 0)
        load_case (self, pending);
      return;
    }

  adopt_model (self, job);
  if (job->new_dataset != NULL)
    {
      clear_case (self);
      g_clear_pointer (&self->dataset, bs_dataset_free);
      self->dataset = g_steal_pointer (&job->new_dataset);
      fill_case_list (self);
      remember_recent (self, job->path);
    }
  if (job->bcase != NULL)
    {
      gboolean same_geometry = self->bcase != NULL &&
                               memcmp (self->bcase->image->dims, job->bcase->image->dims, sizeof (int) * 3) == 0;
      GtkListBoxRow *row;

      clear_case (self);
      self->case_index = job->case_index;
      self->bcase = g_steal_pointer (&job->bcase);
      update_case_actions (self);
      self->truth = g_steal_pointer (&job->truth);
      self->auto_lo = g_steal_pointer (&job->auto_lo);
      self->auto_hi = g_steal_pointer (&job->auto_hi);
      self->input = bs_inference_input_new (bs_unet_copy (self->model), g_steal_pointer (&job->prepared));
      g_free (self->inputs_text);
      self->inputs_text = g_steal_pointer (&job->inputs_text);
      fill_modalities (self);
      reset_window_level (self);
      update_view_geometry (self);
      if (!same_geometry)
        reset_transforms (self);
      if (!same_geometry || self->slice >= n_slices (self))
        self->slice = n_slices (self) / 2;
      g_signal_handlers_block_matched (self->slice_adjustment, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
      gtk_adjustment_configure (self->slice_adjustment, self->slice, 0, MAX (n_slices (self) - 1, 0), 1, 10, 0);
      g_signal_handlers_unblock_matched (self->slice_adjustment, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
      update_slice_marks (self);
      update_slice_label (self);
      row = gtk_list_box_get_row_at_index (self->case_list, self->case_index);
      if (row != NULL && gtk_list_box_get_selected_row (self->case_list) != row)
        {
          g_signal_handlers_block_matched (self->case_list, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
          gtk_list_box_select_row (self->case_list, row);
          g_signal_handlers_unblock_matched (self->case_list, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
        }
      {
        g_autofree char *title = g_strdup_printf ("%s — %s", bs_dataset_get_case_id (self->dataset, self->case_index),
                                                  _("Brainseg"));

        gtk_window_set_title (GTK_WINDOW (self), title);
      }
      restart_inference (self);
    }
  pending = self->pending_case;
  self->pending_case = -1;
  if (pending >= 0 && pending != self->case_index)
    load_case (self, pending);
}

static void
start_open (BsWindow *self, OpenJob *job, const char *what)
{
  g_autoptr(GTask) task = NULL;

  g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  self->load_cancellable = g_cancellable_new ();
  if (job->model == NULL && self->model != NULL)
    job->model = bs_unet_copy (self->model);
  if (job->model == NULL && job->model_path == NULL)
    job->random_model = TRUE;
  task = g_task_new (self, self->load_cancellable, open_done, NULL);
  g_task_set_task_data (task, job, open_job_free);
  g_task_set_name (task, "bs-open");
  self->loading = TRUE;
  start_pulse (self, what);
  g_task_run_in_thread (task, open_thread);
}

void
bs_window_open_path (BsWindow *self, const char *path)
{
  OpenJob *job;
  g_autofree char *base = NULL, *what = NULL;

  g_return_if_fail (BS_IS_WINDOW (self));
  g_return_if_fail (path != NULL);

  /* The old dataset must not be read by a task still loading from it. */
  if (self->loading)
    {
      self->pending_case = -1;
      g_cancellable_cancel (self->load_cancellable);
    }
  job = g_new0 (OpenJob, 1);
  job->path = g_strdup (path);
  job->case_index = 0;
  base = g_path_get_basename (path);
  what = g_strdup_printf (_("Opening %s…"), base);
  start_open (self, job, what);
}

void
bs_window_open_with_model (BsWindow *self, const char *path, const char *model_path)
{
  OpenJob *job;
  g_autofree char *base = NULL, *what = NULL;

  g_return_if_fail (BS_IS_WINDOW (self));
  g_return_if_fail (path != NULL);

  if (self->loading)
    {
      self->pending_case = -1;
      g_cancellable_cancel (self->load_cancellable);
    }
  job = g_new0 (OpenJob, 1);
  job->path = g_strdup (path);
  job->model_path = g_strdup (model_path);
  job->random_model = model_path == NULL;
  base = g_path_get_basename (path);
  what = g_strdup_printf (_("Opening %s…"), base);
  start_open (self, job, what);
}

void
bs_window_open_model (BsWindow *self, const char *path)
{
  OpenJob *job;
  g_autofree char *base = NULL, *what = NULL;

  g_return_if_fail (BS_IS_WINDOW (self));

  if (self->loading)
    {
      /* One task at a time may read the dataset; try again when it is done. */
      g_autoptr(GError) error = g_error_new (BS_IO_ERROR, BS_IO_ERROR_INVALID,
                                             _("A case is still loading; load the model when it has opened."));

      bs_window_show_error (self, _("Could not load the model now"), error);
      return;
    }
  job = g_new0 (OpenJob, 1);
  job->model_path = g_strdup (path);
  job->random_model = path == NULL;
  job->dataset = self->dataset;
  job->case_index = self->case_index;
  base = path != NULL ? g_path_get_basename (path) : g_strdup (_("random weights"));
  what = g_strdup_printf (_("Loading model %s…"), base);
  start_open (self, job, what);
}

static void
load_case (BsWindow *self, int index)
{
  OpenJob *job;
  g_autofree char *what = NULL;

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
  what = g_strdup_printf (_("Loading %s…"), bs_dataset_get_case_id (self->dataset, index));
  start_open (self, job, what);
}

/* ---- Rendering ---- */

static void
read_slice (const BsVolume *vol, int c, BsPlane plane, int slice, float *out)
{
  bs_volume_get_slice (vol, c, plane, slice, out);
}

static void
render_views (BsWindow *self)
{
  g_autoptr(GString) pred_title = NULL;
  BsOverlayOptions ov = self->overlay;
  cairo_surface_t *grey, *truth_s, *pred_s, *over_s;
  gboolean have_pred;
  double t0 = bs_now_ms ();
  static const char *legend_labels[3];
  const double legend_rgb[3][3] = {
    { BS_COLOR_TP[0], BS_COLOR_TP[1], BS_COLOR_TP[2] },
    { BS_COLOR_FP[0], BS_COLOR_FP[1], BS_COLOR_FP[2] },
    { BS_COLOR_FN[0], BS_COLOR_FN[1], BS_COLOR_FN[2] },
  };

  if (self->bcase == NULL || self->img_buf == NULL)
    {
      BsSliceView *views[] = { self->input_view, self->truth_view, self->pred_view, self->overlay_view };

      for (guint i = 0; i < G_N_ELEMENTS (views); i++)
        bs_slice_view_set_surface (views[i], NULL);
      self->displayed_pred_slice = -1;
      self->displayed_dice = NAN;
      return;
    }

  read_slice (self->bcase->image, self->channel, self->plane, self->slice, self->img_buf);
  /* Another plane shows what has run so far, cut from the volume. */
  have_pred = self->plane == self->net_plane ? display_slice_complete (self, self->slice)
                                             : self->computed != NULL && self->n_computed > 0;
  if (have_pred)
    read_slice (self->prob, 0, self->plane, self->slice, self->prob_buf);
  if (self->truth != NULL)
    read_slice (self->truth, 0, self->plane, self->slice, self->truth_buf);

  grey = bs_render_grey (self->img_buf, self->width, self->height, ov.lo, ov.hi);
  ov.confusion = FALSE;
  truth_s = bs_render_mask_over (self->img_buf, self->truth != NULL ? self->truth_buf : NULL,
                                 self->width, self->height, BS_COLOR_TRUTH, &ov);
  pred_s = bs_render_mask_over (self->img_buf, have_pred ? self->prob_buf : NULL,
                                self->width, self->height, BS_COLOR_PREDICTION, &ov);
  /* Without a prediction there is nothing to classify: the truth alone is not "missed". */
  ov.confusion = self->truth != NULL && have_pred;
  over_s = bs_render_overlay (self->img_buf, have_pred ? self->prob_buf : NULL,
                              self->truth != NULL ? self->truth_buf : NULL, self->width, self->height, &ov);

  bs_slice_view_set_surface (self->input_view, grey);
  bs_slice_view_set_surface (self->truth_view, truth_s);
  bs_slice_view_set_surface (self->pred_view, pred_s);
  bs_slice_view_set_surface (self->overlay_view, over_s);
  cairo_surface_destroy (grey);
  cairo_surface_destroy (truth_s);
  cairo_surface_destroy (pred_s);
  cairo_surface_destroy (over_s);

  {
    GtkStringObject *item = gtk_drop_down_get_selected_item (self->modality_dropdown);
    g_autofree char *input_title = g_strdup_printf (_("MRI input · %s"),
                                                    item != NULL ? gtk_string_object_get_string (item) : "");

    bs_slice_view_set_title (self->input_view, input_title);
  }
  bs_slice_view_set_title (self->truth_view, self->truth != NULL ? _("Ground truth") : _("Ground truth · none for this case"));
  pred_title = g_string_new (_("Prediction"));
  if (!have_pred)
    g_string_append_printf (pred_title, " · %s", _("computing…"));
  bs_slice_view_set_title (self->pred_view, pred_title->str);
  bs_slice_view_set_title (self->overlay_view, have_pred ? _("Prediction over MRI") : _("Prediction over MRI · computing…"));

  legend_labels[0] = _("True positive");
  legend_labels[1] = _("False positive");
  legend_labels[2] = _("False negative");
  if (self->truth != NULL)
    bs_slice_view_set_legend (self->overlay_view, 3, legend_rgb, legend_labels);
  else
    {
      const double pred_rgb[1][3] = { { BS_COLOR_PREDICTION[0], BS_COLOR_PREDICTION[1], BS_COLOR_PREDICTION[2] } };
      const char *pred_label[1] = { _("Prediction (no ground truth)") };

      bs_slice_view_set_legend (self->overlay_view, 1, pred_rgb, pred_label);
    }

  self->displayed_pred_slice = display_slice_complete (self, self->slice) ? self->slice : -1;
  self->displayed_dice = self->displayed_pred_slice >= 0 && self->truth != NULL && self->slice_conf_valid[self->slice]
                           ? bs_confusion_dice (&self->slice_conf[self->slice]) : NAN;
  self->render_ms = bs_now_ms () - t0;
  bs_dice_chart_set_current (self->dice_chart, self->slice);
  update_dice_panel (self);
}

static gboolean
render_tick_cb (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  BsWindow *self = BS_WINDOW (widget);

  self->render_tick = 0;
  render_views (self);
  return G_SOURCE_REMOVE;
}

/* Coalesces every change within a frame into one render: scrolling through
 * slices faster than the display refreshes renders each frame once. */
static void
schedule_render (BsWindow *self)
{
  if (self->render_tick == 0)
    self->render_tick = gtk_widget_add_tick_callback (GTK_WIDGET (self), render_tick_cb, NULL, NULL);
}

/* ---- Island clean-up (bs-postprocess.h) over the finished volume ---- */

typedef struct {
  gsize index;
  float prob;
} CleanupVoxel;

/* Slice and volume Dice from the probabilities as they are now: the volume
 * over the slices that ran, each displayed slice once it is complete. */
static void
recount_dice (BsWindow *self)
{
  int n = n_slices (self), nn = n_net_slices (self);
  int w, h;
  g_autofree float *p = NULL, *t = NULL;

  reset_display_counts (self);
  if (self->truth == NULL || self->prob == NULL)
    return;
  bs_volume_slice_size (self->prob, self->net_plane, &w, &h);
  p = g_new (float, (gsize) w * h);
  t = g_new (float, (gsize) w * h);
  memset (&self->volume_conf, 0, sizeof self->volume_conf);
  for (int s = 0; s < nn; s++)
    {
      BsConfusion c = { 0 };

      if (!self->computed[s])
        continue;
      bs_volume_get_slice (self->prob, 0, self->net_plane, s, p);
      bs_volume_get_slice (self->truth, 0, self->net_plane, s, t);
      bs_confusion_add (&c, p, t, (gsize) w * h);
      bs_confusion_merge (&self->volume_conf, &c);
    }
  g_clear_pointer (&p, g_free);
  g_clear_pointer (&t, g_free);
  bs_volume_slice_size (self->prob, self->plane, &w, &h);
  p = g_new (float, (gsize) w * h);
  t = g_new (float, (gsize) w * h);
  for (int s = 0; s < n; s++)
    {
      gboolean empty = TRUE;

      if (!display_slice_complete (self, s))
        continue;
      bs_volume_get_slice (self->prob, 0, self->plane, s, p);
      bs_volume_get_slice (self->truth, 0, self->plane, s, t);
      memset (&self->slice_conf[s], 0, sizeof self->slice_conf[s]);
      bs_confusion_add (&self->slice_conf[s], p, t, (gsize) w * h);
      self->slice_conf_valid[s] = 1;
      for (gsize k = 0; k < (gsize) w * h && empty; k++)
        empty = t[k] <= 0.5f;
      bs_dice_chart_set_value (self->dice_chart, s, bs_confusion_dice (&self->slice_conf[s]), empty);
    }
}

/* Switches off the islands of the finished volume, keeping what it switched
 * off so that turning the clean-up off needs no new inference. */
static void
cleanup_apply (BsWindow *self)
{
  gsize nvox = bs_volume_n_voxels (self->prob);
  g_autofree guint8 *on = g_try_malloc (MAX (nvox, 1));

  if (on == NULL || self->cleanup_applied)
    return;
  for (gsize v = 0; v < nvox; v++)
    on[v] = self->prob->data[v] > 0.5f;
  if (!bs_mask_remove_islands (on, self->prob->dims, BS_CLEANUP_MIN_FRACTION, &self->cleanup_stats))
    return;
  self->raw_volume_conf = self->volume_conf;
  if (self->cleanup_saved == NULL)
    self->cleanup_saved = g_array_new (FALSE, FALSE, sizeof (CleanupVoxel));
  g_array_set_size (self->cleanup_saved, 0);
  for (gsize v = 0; v < nvox; v++)
    if (!on[v] && self->prob->data[v] > 0.5f)
      {
        CleanupVoxel cv = { v, self->prob->data[v] };
        g_array_append_val (self->cleanup_saved, cv);
        self->prob->data[v] = 0.0f;
      }
  self->cleanup_applied = TRUE;
  recount_dice (self);
}

static void
cleanup_undo (BsWindow *self)
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
  recount_dice (self);
}

/* ---- Worker results ---- */

static void
on_slices_ready (BsInferenceWorker *worker, BsInferenceResult *r, BsWindow *self)
{
  gsize px = (gsize) r->width * r->height;
  g_autofree float *truth = self->truth != NULL ? g_new (float, px) : NULL;
  gboolean visible_changed = FALSE;

  if (r->generation != self->generation || self->prob == NULL || r->plane != self->net_plane)
    return;
  if (self->first_computed < 0)
    self->first_computed = r->first;
  for (int i = 0; i < r->n; i++)
    {
      int s = r->first + i;
      const float *p = r->probs + px * i;

      if (s < 0 || s >= n_net_slices (self) || (self->cleanup_applied && self->computed[s]))
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
              gboolean empty = TRUE;

              self->slice_conf[s] = c;
              self->slice_conf_valid[s] = 1;
              for (gsize k = 0; k < px && empty; k++)
                empty = truth[k] <= 0.5f;
              bs_dice_chart_set_value (self->dice_chart, s, bs_confusion_dice (&c), empty);
            }
        }
      if (!self->computed[s])
        {
          self->computed[s] = 1;
          self->n_computed++;
        }
      /* Another plane's slice crosses every slice of the network's plane. */
      visible_changed |= s == self->slice || self->plane != self->net_plane;
    }
  /* A batch of slices without brain ran nothing: keep the last real timing. */
  if (r->timing.n_slices > 0)
    {
      self->last_timing = r->timing;
      self->has_timing = TRUE;
      self->speed_hist[self->speed_pos] = r->timing.total_ms / r->timing.n_slices;
      self->speed_pos = (self->speed_pos + 1) % BS_WINDOW_SPEED_RUNS;
      self->n_speed = MIN (self->n_speed + 1, BS_WINDOW_SPEED_RUNS);
    }
  self->ready = TRUE;
  if (self->cleanup && !self->cleanup_applied && volume_complete (self))
    {
      cleanup_apply (self);
      visible_changed = TRUE;
    }
  else if (self->plane != self->net_plane && volume_complete (self))
    recount_dice (self);   /* the displayed plane's slices are whole now */
  if (visible_changed)
    schedule_render (self);
  update_dice_panel (self);
  update_timing_panel (self);
  update_progress (self);
}

static void
on_plan_ready (BsInferenceWorker *worker, guint generation, const char *description, BsWindow *self)
{
  g_free (self->plan_text);
  self->plan_text = g_strdup_printf (_("Plan: %s"), description);
  stop_pulse (self);
  self->ready = TRUE;
  update_timing_panel (self);
  update_progress (self);
}

static void
on_worker_failed (BsInferenceWorker *worker, guint generation, GError *error, BsWindow *self)
{
  g_autofree char *title = NULL;
  const char *model = self->model != NULL && self->model->path != NULL ? self->model->path : _("random weights");

  stop_pulse (self);
  self->busy = FALSE;
  self->inference_failed = TRUE;
  update_dice_panel (self);
  update_fill_buttons (self);
  schedule_render (self);
  set_progress (self, _("Inference stopped"), 0);
  title = g_strdup_printf (_("Inference with %s (%s) failed"), model, bs_precision_name (self->opts.precision));
  bs_window_show_error (self, title, error);
}

static void
on_worker_finished (BsInferenceWorker *worker, guint generation, BsWindow *self)
{
  self->busy = FALSE;
  if (self->truth != NULL && self->case_dice != NULL)
    {
      self->case_dice[self->case_index] = bs_confusion_dice (&self->volume_conf);
      case_row_update (self, self->case_index);
    }
  update_progress (self);
}

/* ---- View interaction ---- */

static void
set_slice (BsWindow *self, int slice)
{
  int n = n_slices (self);

  if (n == 0)
    return;
  slice = CLAMP (slice, 0, n - 1);
  if (slice == self->slice && (int) gtk_adjustment_get_value (self->slice_adjustment) == slice)
    return;
  self->slice = slice;
  if ((int) round (gtk_adjustment_get_value (self->slice_adjustment)) != slice)
    gtk_adjustment_set_value (self->slice_adjustment, slice);
  update_slice_label (self);
  if (self->input != NULL && self->plane == self->net_plane && !self->computed[slice])
    bs_inference_worker_request_slice (self->worker, self->generation, slice);
  schedule_render (self);
}

static void
on_slice_value_changed (GtkAdjustment *adj, BsWindow *self)
{
  set_slice (self, (int) round (gtk_adjustment_get_value (adj)));
}

static void
on_view_step (BsSliceView *view, int delta, BsWindow *self)
{
  set_slice (self, self->slice + delta);
}

static void
on_transform_changed (BsSliceView *view, BsWindow *self)
{
  BsSliceView *views[] = { self->input_view, self->truth_view, self->pred_view, self->overlay_view };
  BsViewTransform t;

  bs_slice_view_get_transform (view, &t);
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    if (views[i] != view)
      bs_slice_view_set_transform (views[i], &t);
}

static void
update_readout (BsWindow *self)
{
  int x = (int) floor (self->cursor_x), y = (int) floor (self->cursor_y);
  int ijk[3];
  gsize idx;
  g_autoptr(GString) s = NULL;
  const BsVolume *img;

  if (self->bcase == NULL || self->cursor_x < 0 || x >= self->width || y >= self->height)
    {
      gtk_label_set_text (self->readout_label, "");
      return;
    }
  img = self->bcase->image;
  bs_volume_slice_to_voxel (img, self->plane, self->slice, x, y, ijk);
  idx = ((gsize) ijk[2] * img->dims[1] + ijk[1]) * img->dims[0] + ijk[0];
  s = g_string_new (NULL);
  /* The probability first after the voxel: it is what a reader checks, and the
   * line is cut at its end when the window is narrow (the tooltip has it all). */
  g_string_append_printf (s, _("Voxel (%d, %d, %d)"), ijk[0], ijk[1], ijk[2]);
  if (display_slice_complete (self, self->slice))
    g_string_append_printf (s, _("   probability %.3f"), bs_volume_channel (self->prob, 0)[idx]);
  else
    g_string_append (s, _("   probability –"));
  if (self->bcase->label != NULL)
    {
      int v = (int) bs_volume_channel (self->bcase->label, 0)[idx];
      const char *name = v > 0 ? bs_labels_value_name (self->bcase->convention, v) : NULL;

      if (name != NULL)
        g_string_append_printf (s, _("   label %d (%s)"), v, name);
      else
        g_string_append_printf (s, _("   label %d"), v);
    }
  else
    g_string_append (s, _("   no ground truth"));
  g_string_append_printf (s, _("   intensity %.4g"), bs_volume_channel (img, self->channel)[idx]);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->readout_label), s->str);
  gtk_label_set_text (self->readout_label, s->str);
}

static void
on_cursor_moved (BsSliceView *view, double x, double y, BsWindow *self)
{
  BsSliceView *views[] = { self->input_view, self->truth_view, self->pred_view, self->overlay_view };

  self->cursor_x = x;
  self->cursor_y = y;
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    bs_slice_view_set_cursor (views[i], x, y);
  update_readout (self);
}

static void
on_window_level (BsSliceView *view, double dx, double dy, BsWindow *self)
{
  double width = self->overlay.hi - self->overlay.lo;
  double level = (self->overlay.hi + self->overlay.lo) / 2.0;

  if (self->bcase == NULL)
    return;
  /* Multiplicative width keeps the drag equally useful for any intensity scale. */
  width *= exp (dx * 0.005);
  level -= dy * width * 0.004;
  if (!(width > 1e-6))
    width = 1e-6;
  self->overlay.lo = level - width / 2.0;
  self->overlay.hi = level + width / 2.0;
  schedule_render (self);
}

static void
on_modality_changed (GtkDropDown *dropdown, GParamSpec *pspec, BsWindow *self)
{
  guint sel = gtk_drop_down_get_selected (dropdown);

  if (self->bcase == NULL || sel == GTK_INVALID_LIST_POSITION || (int) sel >= self->bcase->image->n_channels)
    return;
  if ((int) sel == self->channel)
    return;
  self->channel = sel;
  reset_window_level (self);
  schedule_render (self);
  update_readout (self);
}

static void
on_opacity_changed (GtkAdjustment *adj, BsWindow *self)
{
  self->overlay.opacity = gtk_adjustment_get_value (adj);
  schedule_render (self);
}

static void
action_mask_outline (GSimpleAction *action, GVariant *state, gpointer data)
{
  BsWindow *self = data;

  g_simple_action_set_state (action, state);
  self->overlay.style = g_variant_get_boolean (state) ? BS_OVERLAY_OUTLINE : BS_OVERLAY_FILL;
  schedule_render (self);
}

static void
on_case_row_selected (GtkListBox *box, GtkListBoxRow *row, BsWindow *self)
{
  if (row == NULL)
    return;
  if (gtk_list_box_row_get_index (row) != self->case_index || self->bcase == NULL)
    load_case (self, gtk_list_box_row_get_index (row));
}

static gboolean
case_filter_func (GtkListBoxRow *row, gpointer data)
{
  BsWindow *self = data;
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->case_filter));
  const char *id = g_object_get_data (G_OBJECT (row), "case-id");
  g_autofree char *a = NULL, *b = NULL;

  if (text == NULL || *text == '\0')
    return TRUE;
  a = g_utf8_casefold (id != NULL ? id : "", -1);
  b = g_utf8_casefold (text, -1);
  return strstr (a, b) != NULL;
}

static void
on_filter_changed (GtkSearchEntry *entry, BsWindow *self)
{
  gtk_list_box_invalidate_filter (self->case_list);
}

/* 0 threads means "every core": show that as a word, not a number. */
/* "All" sits above the highest core count, so + never leaves it for 1 and
 * − steps down from it to the cores. */
static int
threads_all_value (void)
{
  return MAX (bs_cpu_cores (), 1) + 1;
}

static int
threads_from_spin (double v)
{
  return (int) v >= threads_all_value () ? 0 : MAX ((int) v, 1);
}

static double
threads_to_spin (int threads)
{
  return threads <= 0 || threads >= threads_all_value () ? threads_all_value () : threads;
}

static gboolean
on_threads_output (GtkSpinButton *spin)
{
  if (threads_from_spin (gtk_adjustment_get_value (gtk_spin_button_get_adjustment (spin))) != 0)
    return FALSE;
  gtk_editable_set_text (GTK_EDITABLE (spin), _("All"));
  return TRUE;
}

static int
on_threads_input (GtkSpinButton *spin, double *new_value)
{
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (spin)), _("All")) != 0)
    return FALSE;
  *new_value = threads_all_value ();
  return TRUE;
}

static void
on_threads_changed (GtkAdjustment *adj, BsWindow *self)
{
  int v = threads_from_spin (gtk_adjustment_get_value (adj));

  if (v == self->opts.threads)
    return;
  self->opts.threads = v;
  if (self->settings)
    g_settings_set_int (self->settings, "threads", v);
  restart_inference (self);
}

static void
on_batch_changed (GtkAdjustment *adj, BsWindow *self)
{
  int v = MAX (1, (int) gtk_adjustment_get_value (adj));

  if (v == self->opts.batch)
    return;
  self->opts.batch = v;
  if (self->settings)
    g_settings_set_int (self->settings, "batch", v);
  restart_inference (self);
}

/* ---- Drag and drop ---- */

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, BsWindow *self)
{
  GSList *files;
  g_autofree char *path = NULL;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = g_value_get_boxed (value);
  if (files == NULL)
    return FALSE;
  path = g_file_get_path (files->data);
  if (path == NULL)
    return FALSE;
  bs_window_open_path (self, path);
  return TRUE;
}

/* ---- Actions ---- */

static void
on_open_response (GtkNativeDialog *dialog, int response, BsWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
      gboolean is_model = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (dialog), "model"));

      if (path != NULL)
        {
          if (is_model)
            bs_window_open_model (self, path);
          else
            bs_window_open_path (self, path);
        }
    }
  g_object_unref (dialog);
}

static void
show_chooser (BsWindow *self, const char *title, GtkFileChooserAction mode, gboolean model)
{
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self), mode, _("_Open"), _("_Cancel"));

  if (model)
    {
      g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

      gtk_file_filter_set_name (filter, _("Keras HDF5 weights"));
      gtk_file_filter_add_pattern (filter, "*.h5");
      gtk_file_filter_add_pattern (filter, "*.hdf5");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
    }
  else if (mode == GTK_FILE_CHOOSER_ACTION_OPEN)
    {
      g_autoptr(GtkFileFilter) images = gtk_file_filter_new ();
      g_autoptr(GtkFileFilter) all = gtk_file_filter_new ();

      gtk_file_filter_set_name (images, _("NIfTI and HDF5"));
      gtk_file_filter_add_pattern (images, "*.nii");
      gtk_file_filter_add_pattern (images, "*.nii.gz");
      gtk_file_filter_add_pattern (images, "*.h5");
      gtk_file_filter_add_pattern (images, "*.hdf5");
      gtk_file_filter_add_pattern (images, "dataset.json");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), images);
      gtk_file_filter_set_name (all, _("All files"));
      gtk_file_filter_add_pattern (all, "*");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), all);
    }
  g_object_set_data (G_OBJECT (chooser), "model", GINT_TO_POINTER (model));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_open_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
action_open (GSimpleAction *action, GVariant *param, gpointer data)
{
  show_chooser (BS_WINDOW (data), _("Open a Volume or Dataset File"), GTK_FILE_CHOOSER_ACTION_OPEN, FALSE);
}

static void
action_open_folder (GSimpleAction *action, GVariant *param, gpointer data)
{
  show_chooser (BS_WINDOW (data), _("Open a Case or Dataset Folder"), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, FALSE);
}

static void
action_open_model (GSimpleAction *action, GVariant *param, gpointer data)
{
  show_chooser (BS_WINDOW (data), _("Open Model Weights"), GTK_FILE_CHOOSER_ACTION_OPEN, TRUE);
}

static void
action_open_recent (GSimpleAction *action, GVariant *param, gpointer data)
{
  bs_window_open_path (BS_WINDOW (data), g_variant_get_string (param, NULL));
}

static void
action_slice_step (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;
  const char *name = g_action_get_name (G_ACTION (action));
  int delta = g_str_equal (name, "slice-up") ? 1 : g_str_equal (name, "slice-down") ? -1 :
              g_str_equal (name, "page-up") ? 10 : -10;

  set_slice (self, self->slice + delta);
}

void
bs_window_set_overlay_mode (BsWindow *self, gboolean overlay)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), "view-mode");

  self->overlay_mode = overlay;
  gtk_stack_set_visible_child_name (self->view_stack, overlay ? "overlay" : "panes");
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_string (overlay ? "overlay" : "panes"));
}

static void
action_view_mode (GSimpleAction *action, GVariant *param, gpointer data)
{
  bs_window_set_overlay_mode (BS_WINDOW (data), g_str_equal (g_variant_get_string (param, NULL), "overlay"));
}

static void
action_plane (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsPlane plane;

  if (bs_plane_from_string (g_variant_get_string (param, NULL), &plane))
    bs_window_set_plane (BS_WINDOW (data), plane);
}

static void
action_reset_view (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;

  reset_transforms (self);
  reset_window_level (self);
  schedule_render (self);
}

static void
action_cancel_fill (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;

  bs_inference_worker_cancel_fill (self->worker);
  self->fill_cancelled = TRUE;
  self->busy = FALSE;
  update_progress (self);
}

static void
action_resume_fill (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;

  bs_inference_worker_resume_fill (self->worker);
  self->fill_cancelled = FALSE;
  self->busy = self->computed != NULL && !volume_complete (self);
  update_progress (self);
  update_fill_buttons (self);
}

static void
action_dismiss_note (GSimpleAction *action, GVariant *param, gpointer data)
{
  show_note (BS_WINDOW (data), NULL);
}

static void
action_precision (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;
  BsPrecision p;
  BsPlanOptions opts = self->opts;

  if (!bs_precision_from_string (g_variant_get_string (param, NULL), &p))
    return;
  opts.precision = p;
  bs_window_set_plan_options (self, &opts);
}

static void
action_layout (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;
  BsMemLayout l;
  BsPlanOptions opts = self->opts;

  if (!bs_memlayout_from_string (g_variant_get_string (param, NULL), &l))
    return;
  opts.layout = l;
  bs_window_set_plan_options (self, &opts);
}

static void
action_fusion (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;
  BsPlanOptions opts = self->opts;

  opts.fusion = g_variant_get_boolean (param);
  bs_window_set_plan_options (self, &opts);
}

static void
action_crop_to_brain (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;
  BsPlanOptions opts = self->opts;

  opts.crop_to_brain = g_variant_get_boolean (param);
  bs_window_set_plan_options (self, &opts);
}

static void
action_test_time_flips (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;
  BsPlanOptions opts = self->opts;

  opts.test_time_flips = g_variant_get_boolean (param);
  bs_window_set_plan_options (self, &opts);
}

static void
action_cleanup (GSimpleAction *action, GVariant *param, gpointer data)
{
  bs_window_set_cleanup (BS_WINDOW (data), g_variant_get_boolean (param));
}

static void
action_profile_layers (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;
  BsPlanOptions opts = self->opts;

  opts.profile_layers = g_variant_get_boolean (param);
  if (self->settings)
    g_settings_set_boolean (self->settings, "profile-layers", opts.profile_layers);
  bs_window_set_plan_options (self, &opts);
}

static const GActionEntry win_entries[] = {
  { "open", action_open },
  { "open-folder", action_open_folder },
  { "open-model", action_open_model },
  { "open-recent", action_open_recent, "s" },
  { "slice-up", action_slice_step },
  { "slice-down", action_slice_step },
  { "page-up", action_slice_step },
  { "page-down", action_slice_step },
  { "view-mode", action_view_mode, "s", "'panes'" },
  { "plane", action_plane, "s", "'axial'" },
  { "reset-view", action_reset_view },
  { "cancel-fill", action_cancel_fill },
  { "resume-fill", action_resume_fill },
  { "dismiss-note", action_dismiss_note },
  { "precision", action_precision, "s", "'fp32'" },
  { "layout", action_layout, "s", "'blocked'" },
  { "fusion", NULL, NULL, "true", action_fusion },
  { "crop-to-brain", NULL, NULL, "true", action_crop_to_brain },
  { "test-time-flips", NULL, NULL, "false", action_test_time_flips },
  { "profile-layers", NULL, NULL, "true", action_profile_layers },
  { "cleanup", NULL, NULL, "true", action_cleanup },
  { "mask-outline", NULL, NULL, "false", action_mask_outline },
};

static void
sync_option_actions (BsWindow *self)
{
  GActionMap *map = G_ACTION_MAP (self);

  g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "precision")),
                             g_variant_new_string (bs_precision_name (self->opts.precision)));
  g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "layout")),
                             g_variant_new_string (bs_memlayout_name (self->opts.layout)));
  g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "fusion")),
                             g_variant_new_boolean (self->opts.fusion));
  g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "crop-to-brain")),
                             g_variant_new_boolean (self->opts.crop_to_brain));
  g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "test-time-flips")),
                             g_variant_new_boolean (self->opts.test_time_flips));
  g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "profile-layers")),
                             g_variant_new_boolean (self->opts.profile_layers));
  g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "cleanup")),
                             g_variant_new_boolean (self->cleanup));
  /* Combinations that cannot run are greyed, with the reason, before anyone clicks. */
  if (self->int8_toggle != NULL && self->nchw_toggle != NULL)
    {
      gboolean int8_here = bs_precision_available (BS_PRECISION_INT8, NULL);

      gtk_widget_set_sensitive (GTK_WIDGET (self->nchw_toggle), self->opts.precision != BS_PRECISION_INT8);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->nchw_toggle),
                                   self->opts.precision == BS_PRECISION_INT8
                                     ? _("Not with int8: oneDNN has only reference int8 kernels for plain NCHW "
                                         "(seconds per slice); int8 runs in NHWC or blocked")
                                     : _("Plain channels-first layout: every primitive reads and writes NCHW"));
      if (int8_here)
        {
          gtk_widget_set_sensitive (GTK_WIDGET (self->int8_toggle), self->opts.layout != BS_MEMLAYOUT_NCHW);
          gtk_widget_set_tooltip_text (GTK_WIDGET (self->int8_toggle),
                                       self->opts.layout == BS_MEMLAYOUT_NCHW
                                         ? _("Not with NCHW: oneDNN has only reference int8 kernels for plain NCHW "
                                             "(seconds per slice); choose NHWC or Blocked first")
                                         : _("8-bit integer weights and activations, calibrated on slices of the "
                                             "open case"));
        }
    }
  g_signal_handlers_block_matched (self->threads_adjustment, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  g_signal_handlers_block_matched (self->batch_adjustment, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  gtk_adjustment_set_value (self->threads_adjustment, threads_to_spin (self->opts.threads));
  gtk_adjustment_set_value (self->batch_adjustment, self->opts.batch);
  g_signal_handlers_unblock_matched (self->threads_adjustment, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  g_signal_handlers_unblock_matched (self->batch_adjustment, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
}

static void
setup_precision_toggles (BsWindow *self)
{
  GtkToggleButton *toggles[] = { self->fp32_toggle, self->int8_toggle, self->bf16_toggle };
  BsPrecision precisions[] = { BS_PRECISION_FP32, BS_PRECISION_INT8, BS_PRECISION_BF16 };
  g_autoptr(GString) notes = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (toggles); i++)
    {
      g_autofree char *reason = NULL;

      if (bs_precision_available (precisions[i], &reason))
        continue;
      /* The button stays clickable-looking but dead; the reason is spelt out. */
      gtk_widget_set_sensitive (GTK_WIDGET (toggles[i]), FALSE);
      gtk_widget_set_tooltip_text (GTK_WIDGET (toggles[i]), reason);
      if (reason != NULL)
        g_string_append_printf (notes, "%s%s", notes->len ? "\n" : "", reason);
    }
  gtk_label_set_text (self->precision_note_label, notes->str);
  gtk_widget_set_visible (GTK_WIDGET (self->precision_note_label), notes->len > 0);
}

/* ---- GObject ---- */

static void
bs_window_dispose (GObject *object)
{
  BsWindow *self = BS_WINDOW (object);

  self->disposed = TRUE;
  if (self->render_tick != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->render_tick);
      self->render_tick = 0;
    }
  stop_pulse (self);
  if (self->load_cancellable != NULL)
    g_cancellable_cancel (self->load_cancellable);
  g_clear_object (&self->load_cancellable);
  if (self->worker != NULL)
    g_signal_handlers_disconnect_by_data (self->worker, self);
  g_clear_object (&self->worker);
  gtk_widget_dispose_template (GTK_WIDGET (self), BS_TYPE_WINDOW);
  G_OBJECT_CLASS (bs_window_parent_class)->dispose (object);
}

static void
bs_window_finalize (GObject *object)
{
  BsWindow *self = BS_WINDOW (object);

  clear_case (self);
  g_clear_pointer (&self->dataset, bs_dataset_free);
  g_clear_pointer (&self->model, bs_unet_free);
  g_clear_object (&self->settings);
  g_clear_object (&self->recent_menu);
  g_free (self->case_dice);
  g_free (self->img_buf);
  g_free (self->truth_buf);
  g_free (self->prob_buf);
  g_free (self->plan_text);
  g_free (self->inputs_text);
  g_clear_pointer (&self->cleanup_saved, g_array_unref);
  G_OBJECT_CLASS (bs_window_parent_class)->finalize (object);
}

static void
bs_window_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BsWindow *self = BS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_GENERATION:
      g_value_set_uint (value, self->generation);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
bs_window_class_init (BsWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = bs_window_dispose;
  object_class->finalize = bs_window_finalize;
  object_class->get_property = bs_window_get_property;

  properties[PROP_GENERATION] =
    g_param_spec_uint ("generation", NULL, NULL, 0, G_MAXUINT, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (BS_TYPE_SLICE_VIEW);
  g_type_ensure (BS_TYPE_DICE_CHART);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/brainseg/Brainseg/ui/bs-window.ui");
  gtk_widget_class_bind_template_child (widget_class, BsWindow, recent_button);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, export_button);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, note_revealer);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, note_label);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, dataset_label);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, case_filter);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, case_list);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, modality_dropdown);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, opacity_adjustment);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, input_view);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, truth_view);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, pred_view);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, overlay_view);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, slice_scale);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, slice_adjustment);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, slice_label);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, readout_label);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, progress_label);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, resume_button);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, slice_dice_label);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, volume_dice_label);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, volume_count_label);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, dice_chart);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, speed_label);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, timing_grid);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, plan_label);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, cpu_label);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, fp32_toggle);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, int8_toggle);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, nchw_toggle);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, bf16_toggle);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, precision_note_label);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, threads_adjustment);
  gtk_widget_class_bind_template_callback (widget_class, on_threads_output);
  gtk_widget_class_bind_template_callback (widget_class, on_threads_input);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, batch_adjustment);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, threads_spin);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, batch_spin);
}

/* Scrolling over a spin button scrolls the panel it sits in; it never edits
 * the value (that takes a click on − or +, or typing). */
static gboolean
on_spin_scroll (GtkEventControllerScroll *controller, double dx, double dy, gpointer user_data)
{
  GtkWidget *spin = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller));
  GtkWidget *sw = gtk_widget_get_ancestor (spin, GTK_TYPE_SCROLLED_WINDOW);

  if (sw != NULL)
    {
      GtkAdjustment *v = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw));
      double step = MAX (gtk_adjustment_get_step_increment (v), 40.0);

      gtk_adjustment_set_value (v, gtk_adjustment_get_value (v) + dy * step);
    }
  return TRUE;
}

static void
spin_scrolls_panel (GtkSpinButton *spin)
{
  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);

  gtk_event_controller_set_propagation_phase (scroll, GTK_PHASE_CAPTURE);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_spin_scroll), NULL);
  gtk_widget_add_controller (GTK_WIDGET (spin), scroll);
}

static gboolean
focus_keeps_keys (BsWindow *self)
{
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));

  /* A menu or drop-down list (popovers) keeps its arrow keys and Escape too. */
  for (GtkWidget *w = focus; w != NULL; w = gtk_widget_get_parent (w))
    if (GTK_IS_EDITABLE (w) || GTK_IS_POPOVER (w))
      return TRUE;
  return FALSE;
}

static gboolean
on_window_key (GtkEventControllerKey *controller, guint keyval, guint keycode, GdkModifierType state,
               BsWindow *self)
{
  const char *action = NULL;

  if ((state & (GDK_CONTROL_MASK | GDK_ALT_MASK | GDK_SHIFT_MASK | GDK_SUPER_MASK)) != 0
      || focus_keeps_keys (self))
    return FALSE;
  switch (keyval)
    {
    case GDK_KEY_Up: case GDK_KEY_KP_Up: action = "slice-up"; break;
    case GDK_KEY_Down: case GDK_KEY_KP_Down: action = "slice-down"; break;
    case GDK_KEY_Page_Up: case GDK_KEY_KP_Page_Up: action = "page-up"; break;
    case GDK_KEY_Page_Down: case GDK_KEY_KP_Page_Down: action = "page-down"; break;
    case GDK_KEY_Home: case GDK_KEY_KP_Home: action = "reset-view"; break;
    case GDK_KEY_Escape: action = "cancel-fill"; break;
    default: return FALSE;
    }
  g_action_group_activate_action (G_ACTION_GROUP (self), action, NULL);
  return TRUE;
}

static void
bs_window_init (BsWindow *self)
{
  BsSliceView *views[] = { self->input_view, self->truth_view, self->pred_view, self->overlay_view };
  GtkDropTarget *drop;
  GtkEventController *keys;
  g_autofree char *saved_style = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));
  views[0] = self->input_view;
  views[1] = self->truth_view;
  views[2] = self->pred_view;
  views[3] = self->overlay_view;

  self->case_index = -1;
  self->first_computed = -1;
  self->pending_case = -1;
  self->channel = -1;
  self->displayed_pred_slice = -1;
  self->displayed_dice = NAN;
  self->cursor_x = self->cursor_y = -1;
  self->plane = BS_PLANE_AXIAL;
  self->net_plane = BS_INFER_NET_PLANE;
  self->settings = bs_settings_new ();

  bs_overlay_options_init (&self->overlay);
  bs_plan_options_init (&self->opts);
  self->opts.batch = 4;
  if (self->settings)
    {
      self->overlay.opacity = g_settings_get_double (self->settings, "mask-opacity");
      saved_style = g_settings_get_string (self->settings, "mask-style");
      self->overlay.style = g_str_equal (saved_style, "outline") ? BS_OVERLAY_OUTLINE : BS_OVERLAY_FILL;
      self->opts.threads = g_settings_get_int (self->settings, "threads");
      self->opts.batch = MAX (1, g_settings_get_int (self->settings, "batch"));
      self->opts.profile_layers = g_settings_get_boolean (self->settings, "profile-layers");
      self->cleanup = g_settings_get_boolean (self->settings, "cleanup");
    }
  else
    {
      self->opts.threads = 0;
      self->opts.profile_layers = FALSE;
      self->cleanup = TRUE;
    }
  /* 1..cores, then "All" */
  gtk_adjustment_configure (self->threads_adjustment, threads_all_value (), 1, threads_all_value (), 1, 1, 0);
  spin_scrolls_panel (self->threads_spin);
  spin_scrolls_panel (self->batch_spin);

  g_action_map_add_action_entries (G_ACTION_MAP (self), win_entries, G_N_ELEMENTS (win_entries), self);
  for (guint i = 0; i < G_N_ELEMENTS (hook_actions); i++)
    {
      g_autoptr(GSimpleAction) action = g_simple_action_new (hook_actions[i], NULL);

      g_simple_action_set_enabled (action, FALSE);   /* update_case_actions: once a case is open */
      g_signal_connect (action, "activate", G_CALLBACK (on_hook_action), self);
      g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (action));
    }

  /* Slice keys, Home and Escape act wherever the focus is (a toolbar button,
   * the case list, a slider), before the focused widget moves focus with
   * them; only a text entry keeps them (capture phase, see on_window_key). */
  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_window_key), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);

  self->recent_menu = g_menu_new ();
  {
    g_autoptr(GMenu) menu = g_menu_new ();
    g_autoptr(GMenu) folder = g_menu_new ();

    g_menu_append (folder, _("Open _Folder…"), "win.open-folder");
    g_menu_append_section (menu, NULL, G_MENU_MODEL (folder));
    g_menu_append_section (menu, _("Recent"), G_MENU_MODEL (self->recent_menu));
    gtk_menu_button_set_menu_model (self->recent_button, G_MENU_MODEL (menu));
  }
  rebuild_recent_menu (self);
  if (self->settings)
    g_signal_connect_object (self->settings, "changed::recent-paths", G_CALLBACK (rebuild_recent_menu), self,
                             G_CONNECT_SWAPPED);

  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    {
      g_signal_connect (views[i], "transform-changed", G_CALLBACK (on_transform_changed), self);
      g_signal_connect (views[i], "cursor-moved", G_CALLBACK (on_cursor_moved), self);
      g_signal_connect (views[i], "step", G_CALLBACK (on_view_step), self);
      g_signal_connect (views[i], "window-level", G_CALLBACK (on_window_level), self);
      bs_slice_view_set_placeholder (views[i], _("Nothing open"));
    }
  g_signal_connect (self->slice_adjustment, "value-changed", G_CALLBACK (on_slice_value_changed), self);
  g_signal_connect (self->modality_dropdown, "notify::selected", G_CALLBACK (on_modality_changed), self);
  gtk_adjustment_set_value (self->opacity_adjustment, self->overlay.opacity);
  g_signal_connect (self->opacity_adjustment, "value-changed", G_CALLBACK (on_opacity_changed), self);
  g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "mask-outline")),
                             g_variant_new_boolean (self->overlay.style == BS_OVERLAY_OUTLINE));
  g_signal_connect (self->case_list, "row-selected", G_CALLBACK (on_case_row_selected), self);
  gtk_list_box_set_filter_func (self->case_list, case_filter_func, self, NULL);
  g_signal_connect (self->case_filter, "search-changed", G_CALLBACK (on_filter_changed), self);

  sync_option_actions (self);
  g_signal_connect (self->threads_adjustment, "value-changed", G_CALLBACK (on_threads_changed), self);
  g_signal_connect (self->batch_adjustment, "value-changed", G_CALLBACK (on_batch_changed), self);
  setup_precision_toggles (self);
  create_timing_rows (self);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->timing_grid), _("Time per slice of the last run, by stage and for the slowest layers"));

  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  self->worker = bs_inference_worker_new ();
  g_signal_connect (self->worker, "slices-ready", G_CALLBACK (on_slices_ready), self);
  g_signal_connect (self->worker, "plan-ready", G_CALLBACK (on_plan_ready), self);
  g_signal_connect (self->worker, "failed", G_CALLBACK (on_worker_failed), self);
  g_signal_connect (self->worker, "finished", G_CALLBACK (on_worker_finished), self);

  bs_window_set_overlay_mode (self, self->settings && g_settings_get_boolean (self->settings, "overlay-mode"));
  update_dice_panel (self);
  update_timing_panel (self);
  update_fill_buttons (self);
}

BsWindow *
bs_window_new (BsApplication *app)
{
  return g_object_new (BS_TYPE_WINDOW, "application", app, NULL);
}

/* ---- Accessors ---- */

BsDataset *
bs_window_get_dataset (BsWindow *self)
{
  return self->dataset;
}

int
bs_window_get_case_index (BsWindow *self)
{
  return self->bcase != NULL ? self->case_index : -1;
}

BsCase *
bs_window_get_case (BsWindow *self)
{
  return self->bcase;
}

const BsVolume *
bs_window_get_truth (BsWindow *self)
{
  return self->truth;
}

const BsVolume *
bs_window_get_prepared_volume (BsWindow *self)
{
  return self->input != NULL ? self->input->prepared : NULL;
}

const BsVolume *
bs_window_get_probability_volume (BsWindow *self)
{
  return self->prob;
}

gboolean
bs_window_slice_is_computed (BsWindow *self, int slice)
{
  return display_slice_complete (self, slice);
}

int
bs_window_get_n_computed_slices (BsWindow *self)
{
  return self->n_computed;
}

const BsUnet *
bs_window_get_model (BsWindow *self)
{
  return self->model;
}

BsPlane
bs_window_get_plane (BsWindow *self)
{
  return self->plane;
}

int
bs_window_get_slice_index (BsWindow *self)
{
  return self->slice;
}

int
bs_window_get_display_channel (BsWindow *self)
{
  return self->channel;
}

void
bs_window_get_overlay_options (BsWindow *self, BsOverlayOptions *opts)
{
  *opts = self->overlay;
  opts->confusion = self->truth != NULL;
}

void
bs_window_get_plan_options (BsWindow *self, BsPlanOptions *opts)
{
  *opts = self->opts;
}

guint
bs_window_get_generation (BsWindow *self)
{
  return self->generation;
}

int
bs_window_get_first_computed_slice (BsWindow *self)
{
  return self->first_computed;
}

int
bs_window_get_displayed_slice_index_of_prediction (BsWindow *self)
{
  return self->displayed_pred_slice;
}

double
bs_window_get_displayed_slice_dice (BsWindow *self)
{
  return self->displayed_dice;
}

const char *
bs_window_get_inputs_text (BsWindow *self)
{
  return self->inputs_text;
}

void
bs_window_get_panel_texts (BsWindow *self, const char **slice_dice, const char **volume_dice, const char **speed)
{
  if (slice_dice)
    *slice_dice = gtk_label_get_text (self->slice_dice_label);
  if (volume_dice)
    *volume_dice = gtk_label_get_text (self->volume_dice_label);
  if (speed)
    *speed = gtk_label_get_text (self->speed_label);
}

const char *
bs_window_get_slice_text (BsWindow *self)
{
  return gtk_label_get_text (self->slice_label);
}

double
bs_window_get_steady_ms_per_slice (BsWindow *self)
{
  return steady_ms_per_slice (self);
}

double
bs_window_get_volume_dice (BsWindow *self)
{
  if (self->truth == NULL || self->n_computed == 0)
    return NAN;
  return bs_confusion_dice (&self->volume_conf);
}

BsPlane
bs_window_get_net_plane (BsWindow *self)
{
  return self->net_plane;
}

gboolean
bs_window_net_slice_is_computed (BsWindow *self, int k)
{
  return self->computed != NULL && k >= 0 && k < n_net_slices (self) && self->computed[k];
}

const char *
bs_window_get_plan_text (BsWindow *self)
{
  return self->plan_text;
}

gboolean
bs_window_is_ready (BsWindow *self)
{
  return self->bcase != NULL && self->ready && !self->loading;
}

gboolean
bs_window_is_busy (BsWindow *self)
{
  return self->loading || (self->ready && self->n_computed < n_net_slices (self) && !self->fill_cancelled);
}

void
bs_window_set_slice_index (BsWindow *self, int slice)
{
  set_slice (self, slice);
}

void
bs_window_set_plane (BsWindow *self, BsPlane plane)
{
  if (plane == self->plane && self->bcase != NULL)
    return;
  set_plane_internal (self, plane);
  if (self->bcase == NULL)
    g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "plane")),
                               g_variant_new_string (plane_id (plane)));
}

void
bs_window_set_plan_options (BsWindow *self, const BsPlanOptions *opts)
{
  self->opts = *opts;
  self->opts.batch = MAX (1, self->opts.batch);
  sync_option_actions (self);
  if (self->bcase != NULL)
    restart_inference (self);
}

void
bs_window_set_cleanup (BsWindow *self, gboolean cleanup)
{
  g_return_if_fail (BS_IS_WINDOW (self));
  cleanup = !!cleanup;
  if (self->settings)
    g_settings_set_boolean (self->settings, "cleanup", cleanup);
  g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "cleanup")),
                             g_variant_new_boolean (cleanup));
  if (self->cleanup == cleanup)
    return;
  self->cleanup = cleanup;
  if (self->prob == NULL)
    return;
  if (!cleanup)
    cleanup_undo (self);
  else if (volume_complete (self))
    cleanup_apply (self);
  if (self->truth != NULL && self->case_dice != NULL && volume_complete (self))
    {
      self->case_dice[self->case_index] = bs_confusion_dice (&self->volume_conf);
      case_row_update (self, self->case_index);
    }
  schedule_render (self);
  update_dice_panel (self);
  update_progress (self);
}

gboolean
bs_window_get_cleanup (BsWindow *self, BsCleanupStats *stats)
{
  g_return_val_if_fail (BS_IS_WINDOW (self), FALSE);
  if (stats != NULL)
    {
      BsCleanupStats none = { 0, 0, 0, 0 };
      *stats = self->cleanup_applied ? self->cleanup_stats : none;
    }
  return self->cleanup_applied;
}
