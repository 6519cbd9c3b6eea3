/* The window's actions (win.*) and the keys that act wherever the focus is. */
#include <glib/gi18n.h>

#include "bs-compare-dialog.h"
#include "bs-export-dialog.h"
#include "bs-unet.h"
#include "bs-window-private.h"

/* ---- Opening ---- */

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

void
bs_window_show_chooser (BsWindow *self, const char *title, GtkFileChooserAction mode, gboolean model)
{
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self), mode, _("_Open"), _("_Cancel"));

  if (model)
    {
      g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

      gtk_file_filter_set_name (filter, _("Keras HDF5 weights"));
      gtk_file_filter_add_pattern (filter, "*.h5");
      gtk_file_filter_add_pattern (filter, "*.hdf5");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
      /* Start on the model in use, selected (walk finding: the default
       * stayed highlighted while another was loaded); without one, where
       * the shipped models are (brainseg-default.h5, the region model, and
       * brainseg-wt.h5, whole tumour only), so both are one click away. */
      {
        const BsUnet *current = bs_session_get_model (self->session);
        g_autofree char *shipped = bs_unet_default_model_path ();
        g_autofree char *dir = shipped ? g_path_get_dirname (shipped) : NULL;
        g_autoptr(GFile) folder = dir ? g_file_new_for_path (dir) : NULL;
        g_autoptr(GFile) file = current && current->path ? g_file_new_for_path (current->path) : NULL;

        if (file == NULL || !gtk_file_chooser_set_file (GTK_FILE_CHOOSER (chooser), file, NULL))
          if (folder)
            gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder, NULL);
        /* The shipped models stay one click away in the places list (walk
         * finding: once another model was loaded, the chooser opened beside
         * it and the way back to brainseg-default meant knowing where the
         * program keeps it). */
        if (folder)
          gtk_file_chooser_add_shortcut_folder (GTK_FILE_CHOOSER (chooser), folder, NULL);
      }
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
  bs_window_show_chooser (BS_WINDOW (data), _("Open a Volume or Dataset File"), GTK_FILE_CHOOSER_ACTION_OPEN, FALSE);
}

static void
action_open_folder (GSimpleAction *action, GVariant *param, gpointer data)
{
  bs_window_show_chooser (BS_WINDOW (data), _("Open a Case or Dataset Folder"), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                          FALSE);
}

static void
action_open_model (GSimpleAction *action, GVariant *param, gpointer data)
{
  bs_window_show_chooser (BS_WINDOW (data), _("Open Model Weights"), GTK_FILE_CHOOSER_ACTION_OPEN, TRUE);
}

static void
action_open_recent (GSimpleAction *action, GVariant *param, gpointer data)
{
  bs_window_open_path (BS_WINDOW (data), g_variant_get_string (param, NULL));
}

/* ---- Viewing ---- */

static void
action_slice_step (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;
  const char *name = g_action_get_name (G_ACTION (action));
  int delta = g_str_equal (name, "slice-up") ? 1 : g_str_equal (name, "slice-down") ? -1 :
              g_str_equal (name, "page-up") ? 10 : -10;

  bs_session_set_slice_index (self->session, bs_session_get_slice_index (self->session) + delta);
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
    bs_session_set_plane (BS_WINDOW (data)->session, plane);
}

void
bs_window_sync_view_actions (BsWindow *self)
{
  GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), "plane");

  g_simple_action_set_state (G_SIMPLE_ACTION (action),
                             g_variant_new_string (bs_plane_name (bs_session_get_plane (self->session))));
}

static void
action_reset_view (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;

  bs_slice_views_reset_transforms (self->slice_views);
  bs_session_reset_window_level (self->session);
}

static void
action_mask_outline (GSimpleAction *action, GVariant *state, gpointer data)
{
  BsWindow *self = data;
  BsOverlayOptions ov;

  g_simple_action_set_state (action, state);
  bs_session_get_overlay_options (self->session, &ov);
  ov.style = g_variant_get_boolean (state) ? BS_OVERLAY_OUTLINE : BS_OVERLAY_FILL;
  bs_session_set_overlay_options (self->session, &ov);
}

/* ---- Inference ---- */

static void
action_cancel_fill (GSimpleAction *action, GVariant *param, gpointer data)
{
  bs_session_cancel_fill (BS_WINDOW (data)->session);
}

static void
action_resume_fill (GSimpleAction *action, GVariant *param, gpointer data)
{
  bs_session_resume_fill (BS_WINDOW (data)->session);
}

/* A line for the user in the progress row (an export saved, say). */
static void
action_show_message (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;

  bs_progress_row_show_message (self->progress_row, g_variant_get_string (param, NULL));
}

static void
action_dismiss_note (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;

  gtk_revealer_set_reveal_child (self->note_revealer, FALSE);
}

/* ---- Exports and Compare all ---- */

static void
action_export (GSimpleAction *action, GVariant *param, gpointer data)
{
  const char *name = g_action_get_name (G_ACTION (action));
  BsExportKind kind = g_str_equal (name, "export-overlay") ? BS_EXPORT_KIND_OVERLAY
                      : g_str_equal (name, "export-figure") ? BS_EXPORT_KIND_FIGURE
                      : g_str_equal (name, "export-mask") ? BS_EXPORT_KIND_MASK
                      : g_str_equal (name, "export-dice-csv") ? BS_EXPORT_KIND_DICE_CSV
                                                               : BS_EXPORT_KIND_SERIES;

  bs_export_dialog_run (GTK_WINDOW (data), BS_WINDOW (data)->session, kind);
}

static void
action_compare_all (GSimpleAction *action, GVariant *param, gpointer data)
{
  gtk_window_present (GTK_WINDOW (bs_compare_dialog_new (GTK_WINDOW (data), BS_WINDOW (data)->session)));
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
  { "show-message", action_show_message, "s" },
  { "mask-outline", NULL, NULL, "false", action_mask_outline },
  { "export-overlay", action_export },
  { "export-figure", action_export },
  { "export-mask", action_export },
  { "export-dice-csv", action_export },
  { "export-series", action_export },
  { "compare-all", action_compare_all },
};

/* The switches and toggles of the options panel: each is the session's
 * property of the same name, so state and action never disagree. */
static const char *const session_property_actions[] = {
  "precision", "layout", "fusion", "crop-to-brain", "test-time-flips", "three-planes", "lanes", "calibrate-case",
  "profile-layers",
  "cleanup",
  "region",
};

/* ---- Keys ---- */

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

  if (focus_keeps_keys (self))
    return FALSE;
  /* Ctrl+Z undoes a correction, Ctrl+Shift+Z and Ctrl+Y do it again; not
   * in a text entry, whose own undo they stay (walk finding: Ctrl+Z in the
   * case filter undid a stroke) */
  if ((state & (GDK_CONTROL_MASK | GDK_ALT_MASK | GDK_SUPER_MASK)) == GDK_CONTROL_MASK)
    {
      guint key = gdk_keyval_to_lower (keyval);

      if (key == GDK_KEY_z)
        action = (state & GDK_SHIFT_MASK) ? "redo-edit" : "undo-edit";
      else if (key == GDK_KEY_y)
        action = "redo-edit";
      if (action == NULL || !g_action_group_get_action_enabled (G_ACTION_GROUP (self), action))
        return FALSE;
      g_action_group_activate_action (G_ACTION_GROUP (self), action, NULL);
      return TRUE;
    }
  if ((state & (GDK_CONTROL_MASK | GDK_ALT_MASK | GDK_SHIFT_MASK | GDK_SUPER_MASK)) != 0)
    return FALSE;
  switch (keyval)
    {
    case GDK_KEY_Up: case GDK_KEY_KP_Up: action = "slice-up"; break;
    case GDK_KEY_Down: case GDK_KEY_KP_Down: action = "slice-down"; break;
    case GDK_KEY_Page_Up: case GDK_KEY_KP_Page_Up: action = "page-up"; break;
    case GDK_KEY_Page_Down: case GDK_KEY_KP_Page_Down: action = "page-down"; break;
    case GDK_KEY_Home: case GDK_KEY_KP_Home: action = "reset-view"; break;
    case GDK_KEY_Escape: action = "cancel-fill"; break;
    case GDK_KEY_bracketleft: action = "brush-smaller"; break;
    case GDK_KEY_bracketright: action = "brush-larger"; break;
    default: return FALSE;
    }
  g_action_group_activate_action (G_ACTION_GROUP (self), action, NULL);
  return TRUE;
}

void
bs_window_uninstall_session_actions (BsWindow *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (session_property_actions); i++)
    g_action_map_remove_action (G_ACTION_MAP (self), session_property_actions[i]);
}

void
bs_window_install_actions (BsWindow *self)
{
  GtkEventController *keys;
  BsOverlayOptions ov;

  g_action_map_add_action_entries (G_ACTION_MAP (self), win_entries, G_N_ELEMENTS (win_entries), self);
  for (guint i = 0; i < G_N_ELEMENTS (session_property_actions); i++)
    {
      g_autoptr(GPropertyAction) action = g_property_action_new (session_property_actions[i], self->session,
                                                                 session_property_actions[i]);

      g_action_map_add_action (G_ACTION_MAP (self), G_ACTION (action));
    }
  bs_session_get_overlay_options (self->session, &ov);
  g_simple_action_set_state (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "mask-outline")),
                             g_variant_new_boolean (ov.style == BS_OVERLAY_OUTLINE));

  /* Slice keys, Home and Escape act wherever the focus is (a toolbar button,
   * the case list, a slider), before the focused widget moves focus with
   * them; only a text entry keeps them (capture phase, see on_window_key). */
  keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_window_key), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);
}
