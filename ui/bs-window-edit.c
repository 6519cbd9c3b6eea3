/* The window's correction tools: a brush that paints or erases the region
 * chosen on the Prediction pane (or the overlay), its size, and undo/redo.
 * The strokes themselves are the session's (bs-session-edit.c). */
#include <glib/gi18n.h>

#include "bs-window-private.h"

#define BRUSH_MIN 1.0
#define BRUSH_MAX 25.0
#define BRUSH_DEFAULT 4.0

static void
apply_brush (BsWindow *self)
{
  GAction *brush = g_action_map_lookup_action (G_ACTION_MAP (self), "brush");
  g_autoptr(GVariant) state = g_action_get_state (brush);
  const char *mode = g_variant_get_string (state, NULL);

  bs_slice_views_set_brush (self->slice_views, g_str_equal (mode, "paint") ? 1 : g_str_equal (mode, "erase") ? 2 : 0,
                            self->brush_radius);
}

/* What the session allows now: the brush once the volume is done and
 * measured (it turns itself off when that ends), undo and redo while there
 * are strokes. */
static void
sync_edit_actions (BsWindow *self)
{
  GActionMap *map = G_ACTION_MAP (self);
  GAction *brush = g_action_map_lookup_action (map, "brush");
  gboolean can = bs_session_can_edit (self->session, NULL);
  int n_redo, n_undo = bs_session_get_n_edits (self->session, &n_redo);

  if (brush == NULL)
    return;
  g_simple_action_set_enabled (G_SIMPLE_ACTION (brush), can);
  if (!can)
    {
      g_autoptr(GVariant) state = g_action_get_state (brush);

      if (!g_str_equal (g_variant_get_string (state, NULL), "off"))
        {
          g_simple_action_set_state (G_SIMPLE_ACTION (brush), g_variant_new_string ("off"));
          apply_brush (self);
        }
    }
  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "open-mask")),
                               can && self->mask_cancellable == NULL);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "open-mask-file")),
                               can && self->mask_cancellable == NULL);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "undo-edit")), can && n_undo > 0);
  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (map, "redo-edit")), can && n_redo > 0);
}

/* Clicking the brush in use puts it away. */
static void
action_brush (GSimpleAction *action, GVariant *value, gpointer data)
{
  BsWindow *self = data;
  g_autoptr(GVariant) state = g_action_get_state (G_ACTION (action));
  const char *want = g_variant_get_string (value, NULL);

  if (!g_str_equal (want, "off") && !g_str_equal (want, "paint") && !g_str_equal (want, "erase"))
    return;
  if (g_str_equal (want, g_variant_get_string (state, NULL)))
    want = "off";
  g_simple_action_set_state (action, g_variant_new_string (want));
  apply_brush (self);
}

static void
action_brush_size (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;
  gboolean larger = g_str_equal (g_action_get_name (G_ACTION (action)), "brush-larger");

  self->brush_radius = CLAMP (self->brush_radius + (larger ? 1.0 : -1.0), BRUSH_MIN, BRUSH_MAX);
  apply_brush (self);
}

static void
action_undo_edit (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;

  if (g_str_equal (g_action_get_name (G_ACTION (action)), "undo-edit"))
    bs_session_edit_undo (self->session);
  else
    bs_session_edit_redo (self->session);
}

/* ---- A segmentation file as one correction ---- */

static void
on_mask_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  BsWindow *self = data;
  g_autoptr(GError) error = NULL;
  gsize changed = 0, values = 0;
  BsLabelConvention conv = BS_LABELS_UNKNOWN;
  gboolean ok = bs_session_load_mask_finish (BS_SESSION (source), result, &changed, &values, &conv, &error);
  const char *path = self->mask_cancellable ? g_object_get_data (G_OBJECT (self->mask_cancellable), "bs-path") : NULL;
  g_autofree char *name = path != NULL ? g_path_get_basename (path) : g_strdup ("");
  gboolean gone = self->mask_cancellable == NULL || g_cancellable_is_cancelled (self->mask_cancellable);

  g_clear_object (&self->mask_cancellable);
  if (gone || self->progress_row == NULL)
    {
      g_object_unref (self);
      return;
    }
  if (!ok)
    {
      bs_progress_row_show_message (self->progress_row, NULL);   /* not "Reading the mask…" any more */
      bs_window_show_error (self, _("The mask could not be opened"), error);
    }
  else
    {
      g_autofree char *text = NULL;

      if (values == 0)
        /* TRANSLATORS: %s is the mask file's name */
        text = g_strdup_printf (_("The mask is the prediction already: nothing changed (%s)"), name);
      else if (changed == 0)
        /* TRANSLATORS: %s the mask file's name: its whole tumour was the prediction's, its core or enhancing tumour not */
        text = g_strdup_printf (_("Mask opened with its regions: the tumour core or enhancing tumour changed · Ctrl+Z undoes it (%s)"),
                                name);
      else if (!bs_labels_has_region (conv, BS_REGION_TC))
        /* TRANSLATORS: %lu voxels, %s the mask file's name; a 0/1 mask tells the whole tumour only */
        text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "Mask opened, whole tumour only: %lu voxel changed · Ctrl+Z undoes it (%s)",
                                             "Mask opened, whole tumour only: %lu voxels changed · Ctrl+Z undoes it (%s)",
                                             changed),
                                (unsigned long) changed, name);
      else
        /* TRANSLATORS: %lu voxels of the whole tumour, %s the mask file's name; its core and enhancing tumour are taken too */
        text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "Mask opened with its regions: %lu tumour voxel changed · Ctrl+Z undoes it (%s)",
                                             "Mask opened with its regions: %lu tumour voxels changed · Ctrl+Z undoes it (%s)",
                                             changed),
                                (unsigned long) changed, name);
      bs_progress_row_show_message (self->progress_row, text);
    }
  sync_edit_actions (self);
  g_object_unref (self);
}

/* The labels a user can say a mask file holds (the chooser's "Labels"
 * choice): automatic first. */
static const struct {
  const char *id;
  BsLabelConvention conv;
  const char *label;
} mask_labels[] = {
  { "auto", BS_LABELS_UNKNOWN, N_("Decided from the file") },
  { "wt", BS_LABELS_BINARY, N_("Whole tumour only (every label above 0)") },
  { "brats2017", BS_LABELS_BRATS2017, N_("BraTS 2017–2021: 1 core, 2 edema, 4 enhancing") },
  { "brats2015", BS_LABELS_BRATS2015, N_("BraTS 2015: 1 necrosis, 2 edema, 3 non-enhancing, 4 enhancing") },
  { "decathlon", BS_LABELS_DECATHLON, N_("Decathlon: 1 edema, 2 non-enhancing, 3 enhancing") },
  { "brats2023", BS_LABELS_BRATS2023, N_("BraTS 2023: 1 core, 2 edema, 3 enhancing") },
};

static void
open_mask (BsWindow *self, const char *path, BsLabelConvention labels)
{
  /* (a chooser that answers after the window closed: no session) */
  if (self->session == NULL || self->progress_row == NULL || self->mask_cancellable != NULL
      || !bs_session_can_edit (self->session, NULL))
    return;
  self->mask_cancellable = g_cancellable_new ();
  g_object_set_data_full (G_OBJECT (self->mask_cancellable), "bs-path", g_strdup (path), g_free);
  sync_edit_actions (self);
  bs_progress_row_show_message (self->progress_row, _("Reading the mask…"));
  bs_session_load_mask_async (self->session, path, labels, self->mask_cancellable, on_mask_loaded,
                              g_object_ref (self));
}

static void
action_open_mask_file (GSimpleAction *action, GVariant *param, gpointer data)
{
  open_mask (data, g_variant_get_string (param, NULL), BS_LABELS_UNKNOWN);
}

static void
on_mask_chosen (GtkNativeDialog *dialog, int response, gpointer data)
{
  BsWindow *self = data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;
      const char *choice = gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (dialog), "labels");
      BsLabelConvention labels = BS_LABELS_UNKNOWN;

      for (guint i = 0; choice != NULL && i < G_N_ELEMENTS (mask_labels); i++)
        if (g_str_equal (choice, mask_labels[i].id))
          labels = mask_labels[i].conv;
      if (path != NULL)
        open_mask (self, path, labels);
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
action_open_mask (GSimpleAction *action, GVariant *param, gpointer data)
{
  BsWindow *self = data;
  GtkFileChooserNative *chooser = gtk_file_chooser_native_new (_("Open a Mask as a Correction"), GTK_WINDOW (self),
                                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("NIfTI masks and label maps"));
  gtk_file_filter_add_pattern (filter, "*.nii");
  gtk_file_filter_add_pattern (filter, "*.nii.gz");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  /* Which labels the file holds, where its values cannot say (Decathlon and
   * BraTS 2023 both use 1-3; walk finding) */
  {
    const char *ids[G_N_ELEMENTS (mask_labels) + 1] = { NULL };
    const char *names[G_N_ELEMENTS (mask_labels) + 1] = { NULL };

    for (guint i = 0; i < G_N_ELEMENTS (mask_labels); i++)
      {
        ids[i] = mask_labels[i].id;
        names[i] = _(mask_labels[i].label);
      }
    gtk_file_chooser_add_choice (GTK_FILE_CHOOSER (chooser), "labels", _("Labels"), ids, names);
    gtk_file_chooser_set_choice (GTK_FILE_CHOOSER (chooser), "labels", "auto");
  }
  /* Beside the case, where its label (and often a mask exported from it)
   * lies, rather than in Recent (walk finding: a path typed into Recent's
   * location entry did not open). */
  {
    BsDataset *ds = bs_session_get_dataset (self->session);
    const char *where = ds != NULL ? bs_dataset_get_path (ds) : NULL;
    g_autofree char *dir = where == NULL ? NULL
                           : g_file_test (where, G_FILE_TEST_IS_DIR) ? g_strdup (where) : g_path_get_dirname (where);
    g_autoptr(GFile) folder = dir != NULL ? g_file_new_for_path (dir) : NULL;

    if (folder != NULL)
      gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), folder, NULL);
  }
  g_signal_connect (chooser, "response", G_CALLBACK (on_mask_chosen), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static const GActionEntry edit_entries[] = {
  { "open-mask", action_open_mask },
  { "open-mask-file", action_open_mask_file, "s" },
  { "brush", NULL, "s", "'off'", action_brush },
  { "brush-smaller", action_brush_size },
  { "brush-larger", action_brush_size },
  { "undo-edit", action_undo_edit },
  { "redo-edit", action_undo_edit },
};

static void
on_session_changed (BsWindow *self)
{
  sync_edit_actions (self);
}

/* The open case's name, or NULL. */
static char *
case_name (BsSession *s)
{
  BsDataset *ds = bs_session_get_dataset (s);
  int index = bs_session_get_case_index (s);

  return ds != NULL && index >= 0 && bs_session_get_case (s) != NULL ? g_strdup (bs_dataset_get_case_id (ds, index))
                                                                      : NULL;
}

static gboolean
show_later (gpointer data)
{
  BsWindow *self = data;
  char *text = g_object_steal_data (G_OBJECT (self), "bs-edits-message");

  /* (a window closed meanwhile has no progress row: its template is gone) */
  if (text != NULL && self->progress_row != NULL)
    bs_progress_row_show_message (self->progress_row, text);
  g_free (text);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

/* Strokes gone without an undo (a new prediction, the clean-up switched,
 * another case) are said in the status line, once the new work has started
 * (it would replace the message at once), where nothing above the views
 * moves for it (walk finding: a note over the views pushed them down). */
static void
on_edits (BsWindow *self)
{
  int n_redo, n = bs_session_get_n_edits (self->session, &n_redo);
  int before = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (self), "bs-edits-before"));
  const char *edited = g_object_get_data (G_OBJECT (self), "bs-edits-case");
  g_autofree char *now = case_name (self->session);

  if (n == 0 && n_redo == 0 && before > 0)
    {
      char *text;

      if (edited != NULL && g_strcmp0 (edited, now) != 0)
        text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "%d correction to %s was dropped: another case was opened",
                                             "%d corrections to %s were dropped: another case was opened", before),
                                before, edited);
      else
        text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                             "%d correction undone: the prediction changed",
                                             "%d corrections undone: the prediction changed", before),
                                before);
      g_object_set_data_full (G_OBJECT (self), "bs-edits-message", text, g_free);
      g_idle_add_full (G_PRIORITY_DEFAULT, show_later, g_object_ref (self), NULL);
    }
  g_object_set_data (G_OBJECT (self), "bs-edits-before", GINT_TO_POINTER (n));
  g_object_set_data_full (G_OBJECT (self), "bs-edits-case", n > 0 ? g_steal_pointer (&now) : NULL, g_free);
  sync_edit_actions (self);
}

void
bs_window_install_edit_actions (BsWindow *self)
{
  const char *signals[] = { "notify::busy", "notify::generation", "notify::n-computed",
                            "notify::cleanup", "notify::case", "notify::ready" };

  self->brush_radius = BRUSH_DEFAULT;
  g_action_map_add_action_entries (G_ACTION_MAP (self), edit_entries, G_N_ELEMENTS (edit_entries), self);
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    g_signal_connect_object (self->session, signals[i], G_CALLBACK (on_session_changed), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "results-changed", G_CALLBACK (on_session_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::edits", G_CALLBACK (on_edits), self, G_CONNECT_SWAPPED);
  sync_edit_actions (self);
}
