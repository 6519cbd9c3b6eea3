/* Renders the main states of the window to PNG files so that people can look
 * at them: side by side, overlay, coronal.  Writes to $BS_SCREENSHOT_DIR (or
 * the build tree) and checks that each file is a non-trivial image. */
#include <glib/gstdio.h>

#include "ui-harness.h"

static gboolean
volume_done (BsWindow *win)
{
  return !bs_session_is_busy (bs_window_get_session (win));
}

static gboolean
has_prediction (BsWindow *win)
{
  return bs_window_get_displayed_slice_index_of_prediction (win) >= 0;
}

static void
shoot_widget (GtkWidget *widget, const char *dir, const char *name, int min_width)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  bs_test_spin (300);
  g_assert_true (bs_test_save_png (widget, path, &error));
  g_assert_no_error (error);
  texture = gdk_texture_new_from_filename (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (texture), >, min_width);
  g_test_message ("wrote %s", path);
}

static void
shoot (BsWindow *win, const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  bs_test_spin (300);
  g_assert_true (bs_test_save_png (GTK_WIDGET (win), path, &error));
  g_assert_no_error (error);
  texture = gdk_texture_new_from_filename (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (texture), >, 600);
  g_test_message ("wrote %s", path);
}

static void
test_screenshots (void)
{
  GtkApplication *app = NULL;
  BsWindow *win = bs_test_open_window (&app);
  const char *dir = g_getenv ("BS_SCREENSHOT_DIR");
  g_autofree char *default_dir = g_build_filename (g_get_tmp_dir (), "brainseg-screenshots", NULL);

  if (win == NULL)
    {
      g_test_skip ("no sample: set BRAINSEG_SAMPLE or build the bundled sample");
      return;
    }
  if (dir == NULL)
    dir = default_dir;
  g_mkdir_with_parents (dir, 0755);
  /* A slice through the tumour shows what the panes are for. */
  bs_test_wait (win, volume_done, 600);
  bs_session_set_slice_index (bs_window_get_session (win), bs_test_tumour_slice (win));
  bs_test_wait (win, has_prediction, 120);
  shoot (win, dir, "side-by-side.png");
  bs_window_set_overlay_mode (win, TRUE);
  shoot (win, dir, "overlay.png");
  g_action_group_activate_action (G_ACTION_GROUP (win), "mask-outline", NULL);
  shoot (win, dir, "overlay-outline.png");
  g_action_group_activate_action (G_ACTION_GROUP (win), "mask-outline", NULL);
  bs_window_set_overlay_mode (win, FALSE);
  bs_session_set_plane (bs_window_get_session (win), BS_PLANE_CORONAL);
  bs_session_set_slice_index (bs_window_get_session (win), bs_test_tumour_slice (win));
  bs_test_wait (win, has_prediction, 120);
  shoot (win, dir, "coronal.png");
  {
    GtkShortcutsWindow *help = gtk_application_window_get_help_overlay (GTK_APPLICATION_WINDOW (win));

    g_assert_nonnull (help);
    gtk_window_present (GTK_WINDOW (help));
    shoot_widget (GTK_WIDGET (help), dir, "shortcuts.png", 200);
    gtk_widget_set_visible (GTK_WIDGET (help), FALSE);
  }
  {
    gboolean found = FALSE;

    g_action_group_activate_action (G_ACTION_GROUP (app), "preferences", NULL);
    bs_test_spin (300);
    for (GList *l = gtk_application_get_windows (app); l != NULL && !found; l = l->next)
      if (g_strcmp0 (G_OBJECT_TYPE_NAME (l->data), "BsPreferences") == 0)
        {
          shoot_widget (GTK_WIDGET (l->data), dir, "preferences.png", 200);
          gtk_window_destroy (GTK_WINDOW (l->data));
          found = TRUE;
        }
    g_assert_true (found);
  }
  gtk_window_destroy (GTK_WINDOW (win));
  g_object_unref (app);
}

int
main (int argc, char **argv)
{
  bs_test_init (&argc, &argv);
  g_test_add_func ("/ui/screenshots", test_screenshots);
  return g_test_run ();
}
