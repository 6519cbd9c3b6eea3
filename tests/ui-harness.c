#include <glib/gi18n.h>

#include "bs-phantom.h"
#include "bs-unet.h"
#include "test-util.h"
#include "ui-harness.h"

#include <string.h>

void
bs_test_init (int *argc, char ***argv)
{
  /* Mesa's software GL leaks from a module it unloads at exit, which
   * LeakSanitizer cannot attribute or suppress; the views are cairo nodes
   * under either renderer. */
  g_setenv ("GSK_RENDERER", "cairo", FALSE);
  g_test_init (argc, argv, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
  gtk_init ();
}

static gboolean
timeout_cb (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
bs_test_wait (BsWindow *win, gboolean (*cond) (BsWindow *), double timeout_s)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add ((guint) (timeout_s * 1000), timeout_cb, &timed_out);

  while (!cond (win) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return cond (win);
}

void
bs_test_spin (int ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, timeout_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

gboolean
bs_test_save_png (GtkWidget *widget, const char *path, GError **error)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  int scale = gtk_widget_get_scale_factor (widget);

  /* A widget with a resize pending (labels changing while inference runs)
   * draws nothing until the next layout: retry across a few frames. */
  for (int tries = 0; tries < 100 && node == NULL; tries++)
    {
      GtkSnapshot *snapshot = gtk_snapshot_new ();

      /* At the widget's scale factor, so HiDPI output can be inspected. */
      gtk_snapshot_scale (snapshot, scale, scale);
      gdk_paintable_snapshot (paintable, snapshot, w, h);
      node = gtk_snapshot_free_to_node (snapshot);
      /* Never a bare blocking iteration: with inference finished nothing
       * may wake the loop, and the test would hang. */
      if (node == NULL)
        bs_test_spin (20);
    }
  if (node == NULL || renderer == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "nothing to render for %s", path);
      return FALSE;
    }
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, w * scale, h * scale));
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "could not write %s", path);
      return FALSE;
    }
  return TRUE;
}

char *
bs_test_sample_path (void)
{
  return bs_sample_default_path ();
}

static gboolean
has_prediction (BsWindow *win)
{
  return bs_session_is_ready (bs_window_get_session (win)) && bs_window_get_displayed_slice_index_of_prediction (win) >= 0;
}

void
bs_test_reset_settings (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.brainseg.Brainseg");
  g_autoptr(GSettingsSchema) schema = NULL;
  g_auto(GStrv) keys = NULL;

  g_object_get (settings, "settings-schema", &schema, NULL);
  keys = g_settings_schema_list_keys (schema);
  for (int i = 0; keys[i] != NULL; i++)
    if (!g_str_equal (keys[i], "recent-paths"))
      g_settings_reset (settings, keys[i]);
}

BsWindow *
bs_test_new_window (GtkApplication *app)
{
  bs_test_reset_settings ();
  return bs_window_new (BS_APPLICATION (app));
}

BsWindow *
bs_test_open_window (GtkApplication **app_out)
{
  g_autofree char *sample = bs_test_sample_path ();
  g_autofree char *model = NULL;
  GtkApplication *app;
  BsWindow *win;

  if (sample == NULL)
    return NULL;
  app = GTK_APPLICATION (bs_application_new ());
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, NULL);
  win = bs_test_new_window (app);
  gtk_window_set_default_size (GTK_WINDOW (win), 1560, 940);
  model = bs_unet_default_model_path ();
  bs_window_open_with_model (win, sample, model);
  gtk_window_present (GTK_WINDOW (win));
  if (!bs_test_wait (win, has_prediction, 300))
    g_error ("no prediction of the visible slice within 300 s on %s", sample);
  *app_out = app;
  return win;
}

gboolean
bs_test_window_once (BsWindow **win, GtkApplication **app)
{
  if (*win != NULL)
    return TRUE;
  *win = bs_test_open_window (app);
  if (*win == NULL)
    {
      g_test_skip ("no sample: set BRAINSEG_SAMPLE or build the bundled sample (app/sample)");
      return FALSE;
    }
  g_action_group_activate_action (G_ACTION_GROUP (*win), "cancel-fill", NULL);
  return TRUE;
}

void
bs_test_resize (BsWindow *win, int w, int h)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  gtk_window_set_default_size (GTK_WINDOW (win), w, h);
  bs_test_spin (200);
  while ((gtk_widget_get_width (GTK_WIDGET (win)) > w || gtk_widget_get_height (GTK_WIDGET (win)) > h)
         && g_get_monotonic_time () < end)
    bs_test_spin (100);
  bs_test_spin (300);
}

void
bs_test_window_close (BsWindow *win, GtkApplication *app)
{
  if (win == NULL)
    return;
  gtk_window_destroy (GTK_WINDOW (win));
  bs_test_spin (100);
  g_object_unref (app);
}

GtkWidget *
bs_test_find_widget (GtkWidget *root, GType type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = bs_test_find_widget (c, type);
      if (found != NULL)
        return found;
    }
  return NULL;
}

GtkWidget *
bs_test_find_label (GtkWidget *root, const char *text, gboolean substring)
{
  if (GTK_IS_LABEL (root))
    {
      const char *t = gtk_label_get_text (GTK_LABEL (root));
      if (substring ? strstr (t, text) != NULL : g_strcmp0 (t, text) == 0)
        return root;
    }
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = bs_test_find_label (c, text, substring);
      if (found != NULL)
        return found;
    }
  return NULL;
}

int
bs_test_tumour_slice (BsWindow *win)
{
  const BsVolume *truth = bs_session_get_truth (bs_window_get_session (win));

  return truth != NULL ? bs_test_fullest_slice (truth, 0, bs_session_get_plane (bs_window_get_session (win)), NULL)
                       : -1;
}

/* Used only by AddressSanitizer builds.  LeakSanitizer matches the
 * suppressions in tests/lsan.supp against an allocation's stack; frame-pointer
 * unwinding stops in system code built without frame pointers (oneDNN's JIT
 * kernels, Mesa), which leaves a stack that no library name can match. */
__attribute__((visibility ("default"), used)) const char *__asan_default_options (void);

__attribute__((visibility ("default"), used)) const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}

GtkWidget *
bs_test_find_button (GtkWidget *root, const char *label)
{
  if (GTK_IS_BUTTON (root) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (root)), label) == 0)
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = bs_test_find_button (c, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}
