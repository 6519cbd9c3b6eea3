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

static const GActionEntry edit_entries[] = {
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

/* Strokes gone without an undo (a new prediction, the clean-up switched):
 * said in the note over the views, which stays until dismissed (the status
 * line's message gives way to the new prediction at once); not for another
 * case, whose corrections go with it. */
static void
on_edits (BsWindow *self)
{
  int n_redo, n = bs_session_get_n_edits (self->session, &n_redo);
  int before = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (self), "bs-edits-before"));

  if (n == 0 && n_redo == 0 && before > 0 && bs_session_get_case (self->session) != NULL)
    {
      g_autofree char *text
        = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                        "%d correction was undone: the prediction changed (an option, the model or "
                                        "Remove islands), so the network's mask is shown again.",
                                        "%d corrections were undone: the prediction changed (an option, the model "
                                        "or Remove islands), so the network's mask is shown again.", before),
                           before);

      gtk_label_set_text (self->note_label, text);
      gtk_revealer_set_reveal_child (self->note_revealer, TRUE);
    }
  g_object_set_data (G_OBJECT (self), "bs-edits-before", GINT_TO_POINTER (n));
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
