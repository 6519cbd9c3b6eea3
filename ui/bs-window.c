#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "bs-error-dialog.h"
#include "bs-settings.h"
#include "bs-window-private.h"

#define MAX_RECENT 8

G_DEFINE_FINAL_TYPE (BsWindow, bs_window, GTK_TYPE_APPLICATION_WINDOW)

/* ---- Recent files ---- */

static void
rebuild_recent_menu (BsWindow *self)
{
  g_auto(GStrv) paths = self->settings ? g_settings_get_strv (self->settings, "recent-paths") : g_new0 (char *, 1);

  g_menu_remove_all (self->recent_menu);
  for (int i = 0; paths[i] != NULL; i++)
    {
      g_autofree char *base = g_path_get_basename (paths[i]);
      g_auto(GStrv) parts = g_strsplit (base, "_", -1);
      /* A menu label's "_" marks a mnemonic: the name's own are doubled
       * (walk finding: brats_2013_pat0001_1 read "brats2013pat00011"). */
      g_autofree char *shown = g_strjoinv ("__", parts);
      g_autoptr(GMenuItem) item = g_menu_item_new (shown, NULL);

      g_menu_item_set_action_and_target_value (item, "win.open-recent", g_variant_new_string (paths[i]));
      g_menu_append_item (self->recent_menu, item);
    }
  /* The menu always has Open Folder…, so the button stays usable. */
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

/* ---- Opening ---- */

static void
opened (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *path = user_data;
  BsSession *session = BS_SESSION (source);
  BsWindow *self;

  /* Errors were shown through "failed"; a window closed meanwhile gets nothing. */
  if (!bs_session_open_finish (session, result, NULL))
    return;
  self = g_object_get_data (G_OBJECT (session), "bs-window");
  if (self != NULL && path != NULL)
    remember_recent (self, path);
}

void
bs_window_open_path (BsWindow *self, const char *path)
{
  g_return_if_fail (BS_IS_WINDOW (self));
  g_return_if_fail (path != NULL);
  bs_session_open_async (self->session, path, BS_SESSION_MODEL_KEEP, NULL, NULL, opened, g_strdup (path));
}

void
bs_window_open_with_model (BsWindow *self, const char *path, const char *model_path)
{
  g_return_if_fail (BS_IS_WINDOW (self));
  g_return_if_fail (path != NULL);
  bs_session_open_async (self->session, path, model_path != NULL ? BS_SESSION_MODEL_LOAD : BS_SESSION_MODEL_RANDOM,
                         model_path, NULL, opened, g_strdup (path));
}

void
bs_window_open_model (BsWindow *self, const char *path)
{
  g_return_if_fail (BS_IS_WINDOW (self));
  bs_session_open_async (self->session, NULL, path != NULL ? BS_SESSION_MODEL_LOAD : BS_SESSION_MODEL_RANDOM, path,
                         NULL, opened, NULL);
}

/* ---- Reacting to the session ---- */

void
bs_window_show_error (BsWindow *self, const char *title, const GError *error)
{
  g_return_if_fail (BS_IS_WINDOW (self));
  bs_show_error (GTK_WINDOW (self), title, error);
}

static void
on_failed (BsSession *session, guint what, const char *title, const GError *error, BsWindow *self)
{
  bs_window_show_error (self, title, error);
}

static void
on_note (BsSession *session, GParamSpec *pspec, BsWindow *self)
{
  const char *text = bs_session_get_note (session);

  gtk_label_set_text (self->note_label, text != NULL ? text : "");
  gtk_revealer_set_reveal_child (self->note_revealer, text != NULL);
}

static void
on_case (BsSession *session, GParamSpec *pspec, BsWindow *self)
{
  BsDataset *ds = bs_session_get_dataset (session);
  g_autofree char *title = NULL;

  /* Exports and Compare all need an open case: greyed until one is. */
  static const char *const case_actions[] = {
    "export-overlay", "export-figure", "export-mask", "export-dice-csv", "export-series", "compare-all",
  };
  for (guint i = 0; i < G_N_ELEMENTS (case_actions); i++)
    {
      GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), case_actions[i]);

      if (action != NULL)
        g_simple_action_set_enabled (G_SIMPLE_ACTION (action), bs_session_get_case (session) != NULL);
    }
  if (bs_session_get_case (session) == NULL || ds == NULL)
    return;
  title = g_strdup_printf ("%s — %s", bs_dataset_get_case_id (ds, bs_session_get_case_index (session)),
                           _("Brainseg"));
  gtk_window_set_title (GTK_WINDOW (self), title);
  {
    /* The case opened without its ground truth: why, once, in a dialog (the
     * Dice panel keeps saying it). */
    g_autoptr(GError) truth_error = bs_session_take_truth_error (session);

    if (truth_error != NULL)
      bs_show_error (GTK_WINDOW (self), _("The ground truth could not be used; the case is shown without it"),
                     truth_error);
  }
}

/* The Model button names the weights in use and, in its tooltip, what they
 * predict, so that a presenter can tell the shipped region model from the
 * whole-tumour one (or from random weights) at a glance. */
static void
on_model (BsSession *session, GParamSpec *pspec, BsWindow *self)
{
  const BsUnet *net = bs_session_get_model (session);
  g_autofree char *base = NULL, *shown_base = NULL, *label = NULL, *tip = NULL, *inputs = NULL, *reads = NULL;
  g_auto(GStrv) parts = NULL;
  g_autoptr(GString) outputs = g_string_new (NULL);
  GtkWidget *child;

  if (net == NULL)
    return;
  base = net->path != NULL ? g_path_get_basename (net->path) : g_strdup (_("random weights"));
  if (g_str_has_suffix (base, ".h5"))
    base[strlen (base) - 3] = '\0';
  else if (g_str_has_suffix (base, ".hdf5"))
    base[strlen (base) - 5] = '\0';
  for (int c = 0; c < net->config.out_channels; c++)
    {
      /* An output without a name is the whole tumour (IntelAI's files). */
      const char *name = net->config.outputs != NULL ? net->config.outputs[c] : bs_region_name (BS_REGION_WT);
      const char *shown = name;

      for (int r = 0; r < BS_N_REGIONS; r++)
        if (g_strcmp0 (name, bs_region_name (r)) == 0)
          shown = bs_region_label (r);

      g_string_append_printf (outputs, "%s%s", c ? ", " : "", shown);
    }
  /* The button's mnemonic underline would eat the file name's own "_". */
  shown_base = g_strjoinv ("__", (parts = g_strsplit (base, "_", -1)));
  /* TRANSLATORS: the Model button; %s is the weights file without ".h5" */
  label = g_strdup_printf (_("_Model: %s"), shown_base);
  inputs = net->config.modalities != NULL ? g_strjoinv (", ", net->config.modalities) : g_strdup ("FLAIR");
  if (net->config.context > 0)
    /* TRANSLATORS: a 2.5D model's inputs: %s the MRI sequences, %d the neighbouring slices on each side */
    reads = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s of the slice and %d neighbouring slice on each side",
                                          "%s of the slice and %d neighbouring slices on each side",
                                          net->config.context),
                             inputs, net->config.context);
  else
    reads = g_strdup (inputs);
  /* TRANSLATORS: the Model button's tooltip: the file, what it reads, what it predicts */
  tip = g_strdup_printf (_("%s\nReads: %s\nPredicts: %s\nClick to load other U-Net weights (Keras HDF5)"),
                         net->path != NULL ? net->path : _("random weights"), reads, outputs->str);
  gtk_button_set_label (self->model_button, label);
  /* A long file name must not widen the header bar past a laptop's screen. */
  child = gtk_button_get_child (self->model_button);
  if (GTK_IS_LABEL (child))
    {
      gtk_label_set_ellipsize (GTK_LABEL (child), PANGO_ELLIPSIZE_MIDDLE);
      gtk_label_set_max_width_chars (GTK_LABEL (child), 30);
    }
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->model_button), tip);
}

/* A new dataset (from the chooser, a drop, the recent list): the keys go to
 * the slices again, not to the case filter the list rebuild left focused. */
static void
on_dataset (BsSession *session, GParamSpec *pspec, BsWindow *self)
{
  bs_slice_views_focus (self->slice_views);
}

static void
on_rendered (BsSliceViews *views, double ms, BsWindow *self)
{
  bs_timing_panel_set_render_ms (self->timing_panel, ms);
}

/* Options a user changes are remembered for the next start. */
static void
on_options (BsSession *session, GParamSpec *pspec, BsWindow *self)
{
  BsPlanOptions opts;

  if (self->settings == NULL)
    return;
  bs_session_get_plan_options (session, &opts);
  bs_settings_write_plan_options (self->settings, &opts);
  if (g_settings_get_boolean (self->settings, "cleanup") != bs_session_get_cleanup_enabled (session))
    g_settings_set_boolean (self->settings, "cleanup", bs_session_get_cleanup_enabled (session));
}

/* The mask's look (fill or outline, opacity) too; the window and level are
 * the case's own. */
static void
on_overlay (BsSession *session, GParamSpec *pspec, BsWindow *self)
{
  BsOverlayOptions ov;

  bs_session_get_overlay_options (session, &ov);
  bs_settings_write_overlay (self->settings, &ov);
}

/* The session starts from what was remembered (or the schema's defaults). */
static void
load_settings (BsWindow *self)
{
  BsPlanOptions opts;
  BsOverlayOptions ov;

  bs_plan_options_init (&opts);
  bs_overlay_options_init (&ov);
  opts.batch = 1;
  bs_settings_read_options (self->settings, &opts, &ov);
  if (self->settings != NULL)
    bs_session_set_cleanup (self->session, g_settings_get_boolean (self->settings, "cleanup"));
  bs_session_set_plan_options (self->session, &opts);
  bs_session_set_overlay_options (self->session, &ov);
}

void
bs_window_set_overlay_mode (BsWindow *self, gboolean overlay)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), "view-mode");

  bs_slice_views_set_overlay_mode (self->slice_views, overlay);
  g_simple_action_set_state (G_SIMPLE_ACTION (action), g_variant_new_string (overlay ? "overlay" : "panes"));
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

/* ---- GObject ---- */

static void
bs_window_dispose (GObject *object)
{
  BsWindow *self = BS_WINDOW (object);

  bs_window_uninstall_session_actions (self);
  if (self->mask_cancellable != NULL)
    g_cancellable_cancel (self->mask_cancellable);
  g_clear_object (&self->mask_cancellable);
  if (self->session != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->session, self);
      g_object_set_data (G_OBJECT (self->session), "bs-window", NULL);
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), BS_TYPE_WINDOW);
  g_clear_object (&self->session);
  g_clear_object (&self->settings);
  g_clear_object (&self->recent_menu);
  G_OBJECT_CLASS (bs_window_parent_class)->dispose (object);
}

/* The template asks for 1400x860.  A window manager that does not fit it to a
 * smaller screen (a 1366x768 laptop on a plain X11 session) would leave the
 * bottom of the window, with the slice bar and the optimisations, off screen. */
static void
bs_window_realize (GtkWidget *widget)
{
  GListModel *monitors = gdk_display_get_monitors (gtk_widget_get_display (widget));
  g_autoptr(GdkMonitor) monitor = g_list_model_get_n_items (monitors) > 0 ? g_list_model_get_item (monitors, 0) : NULL;
  int w, h;

  gtk_window_get_default_size (GTK_WINDOW (widget), &w, &h);
  if (monitor != NULL)
    {
      GdkRectangle area;

      gdk_monitor_get_geometry (monitor, &area);
      if (area.width > 0 && area.height > 0 && (w > area.width || h > area.height))
        gtk_window_set_default_size (GTK_WINDOW (widget), MIN (w, area.width), MIN (h, area.height));
    }
  GTK_WIDGET_CLASS (bs_window_parent_class)->realize (widget);
}

static void
bs_window_class_init (BsWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = bs_window_dispose;
  widget_class->realize = bs_window_realize;

  g_type_ensure (BS_TYPE_CASE_SIDEBAR);
  g_type_ensure (BS_TYPE_VIEW_TOOLBAR);
  g_type_ensure (BS_TYPE_SLICE_VIEWS);
  g_type_ensure (BS_TYPE_SLICE_BAR);
  g_type_ensure (BS_TYPE_PROGRESS_ROW);
  g_type_ensure (BS_TYPE_DICE_PANEL);
  g_type_ensure (BS_TYPE_TIMING_PANEL);
  g_type_ensure (BS_TYPE_OPTIONS_PANEL);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/brainseg/Brainseg/ui/bs-window.ui");
  gtk_widget_class_bind_template_child (widget_class, BsWindow, recent_button);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, model_button);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, note_revealer);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, note_label);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, case_sidebar);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, view_toolbar);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, slice_views);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, slice_bar);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, progress_row);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, dice_panel);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, timing_panel);
  gtk_widget_class_bind_template_child (widget_class, BsWindow, options_panel);
}

static void
bs_window_init (BsWindow *self)
{
  GtkDropTarget *drop;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->session = bs_session_new ();
  g_object_set_data (G_OBJECT (self->session), "bs-window", self);
  self->settings = bs_settings_new ();
  load_settings (self);

  bs_case_sidebar_set_session (self->case_sidebar, self->session);
  bs_view_toolbar_set_session (self->view_toolbar, self->session);
  bs_slice_views_set_session (self->slice_views, self->session);
  bs_slice_bar_set_session (self->slice_bar, self->session);
  bs_progress_row_set_session (self->progress_row, self->session);
  bs_dice_panel_set_session (self->dice_panel, self->session);
  bs_timing_panel_set_session (self->timing_panel, self->session);
  bs_options_panel_set_session (self->options_panel, self->session);
  g_signal_connect (self->slice_views, "rendered", G_CALLBACK (on_rendered), self);

  bs_window_install_actions (self);
  bs_window_install_edit_actions (self);

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

  g_signal_connect (self->session, "failed", G_CALLBACK (on_failed), self);
  g_signal_connect (self->session, "notify::note", G_CALLBACK (on_note), self);
  g_signal_connect (self->session, "notify::case", G_CALLBACK (on_case), self);
  g_signal_connect (self->session, "notify::model", G_CALLBACK (on_model), self);
  g_signal_connect (self->session, "notify::dataset", G_CALLBACK (on_dataset), self);
  g_signal_connect (self->session, "notify::plan-options", G_CALLBACK (on_options), self);
  g_signal_connect (self->session, "notify::cleanup", G_CALLBACK (on_options), self);
  g_signal_connect (self->session, "notify::overlay", G_CALLBACK (on_overlay), self);
  g_signal_connect_swapped (self->session, "notify::plane", G_CALLBACK (bs_window_sync_view_actions), self);
  on_case (self->session, NULL, self);

  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  bs_window_set_overlay_mode (self, self->settings && g_settings_get_boolean (self->settings, "overlay-mode"));
  bs_slice_views_focus (self->slice_views);
}

BsWindow *
bs_window_new (BsApplication *app)
{
  return g_object_new (BS_TYPE_WINDOW, "application", app, NULL);
}

BsSession *
bs_window_get_session (BsWindow *self)
{
  g_return_val_if_fail (BS_IS_WINDOW (self), NULL);
  return self->session;
}

int
bs_window_get_displayed_slice_index_of_prediction (BsWindow *self)
{
  return bs_slice_views_get_displayed_prediction_slice (self->slice_views);
}

double
bs_window_get_displayed_slice_dice (BsWindow *self)
{
  return bs_slice_views_get_displayed_dice (self->slice_views);
}

void
bs_window_get_panel_texts (BsWindow *self, const char **slice_dice, const char **volume_dice, const char **speed)
{
  if (slice_dice != NULL)
    *slice_dice = bs_dice_panel_get_slice_text (self->dice_panel);
  if (volume_dice != NULL)
    *volume_dice = bs_dice_panel_get_volume_text (self->dice_panel);
  if (speed != NULL)
    *speed = bs_timing_panel_get_speed_text (self->timing_panel);
}

const char *
bs_window_get_slice_text (BsWindow *self)
{
  return bs_slice_bar_get_text (self->slice_bar);
}
