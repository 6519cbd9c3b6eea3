/* Opening things from the window under a real display (Xvfb): the choosers
 * a user sees.  Findings of a walk through the window. */
#include <string.h>

#include "bs-unet.h"
#include "ui-harness.h"

static BsWindow *win;
static GtkApplication *app;

static gboolean
setup (void)
{
  if (win != NULL)
    return TRUE;
  win = bs_test_open_window (&app);
  if (win == NULL)
    {
      g_test_skip ("no sample: set BRAINSEG_SAMPLE or build the bundled sample (app/sample)");
      return FALSE;
    }
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  return TRUE;
}

/* The shown file chooser dialog, or NULL (a portal shows none of ours). */
static GtkWidget *
find_chooser (void)
{
  GListModel *tops = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (tops); i++)
    {
      g_autoptr(GObject) w = g_list_model_get_item (tops, i);

      if (GTK_IS_FILE_CHOOSER_DIALOG (w) && gtk_widget_get_visible (GTK_WIDGET (w)))
        return GTK_WIDGET (w);
    }
  return NULL;
}

static GtkWidget *
wait_for_chooser (double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);

  while (find_chooser () == NULL && g_get_monotonic_time () < end)
    bs_test_spin (50);
  return find_chooser ();
}

static gboolean
has_shortcut (GtkFileChooser *chooser, GFile *folder)
{
  g_autoptr(GListModel) shortcuts = gtk_file_chooser_get_shortcut_folders (chooser);

  for (guint i = 0; i < g_list_model_get_n_items (shortcuts); i++)
    {
      g_autoptr(GFile) f = g_list_model_get_item (shortcuts, i);

      if (g_file_equal (f, folder))
        return TRUE;
    }
  return FALSE;
}

/* Walk finding: with another model loaded the model chooser opens beside
 * that model, and the way back to the shipped ones meant knowing where the
 * program keeps them.  Their folder is in the chooser's places list. */
static void
test_model_chooser_shipped_folder (void)
{
  g_autofree char *shipped = bs_unet_default_model_path ();
  g_autofree char *dir = NULL;
  g_autoptr(GFile) folder = NULL;
  GtkWidget *chooser;

  if (!setup ())
    return;
  if (shipped == NULL)
    {
      g_test_skip ("no shipped model built");
      return;
    }
  dir = g_path_get_dirname (shipped);
  folder = g_file_new_for_path (dir);
  g_action_group_activate_action (G_ACTION_GROUP (win), "open-model", NULL);
  chooser = wait_for_chooser (10);
  if (chooser == NULL)
    {
      g_test_skip ("the file chooser is not a GtkFileChooserDialog here (a portal?)");
      return;
    }
  g_assert_true (has_shortcut (GTK_FILE_CHOOSER (chooser), folder));
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_CANCEL);
  bs_test_spin (200);
  g_assert_null (find_chooser ());
}

int
main (int argc, char **argv)
{
  int ret;

  bs_test_init (&argc, &argv);
  g_test_add_func ("/ui/open/model-chooser-shipped-folder", test_model_chooser_shipped_folder);
  ret = g_test_run ();
  if (win != NULL)
    {
      gtk_window_destroy (GTK_WINDOW (win));
      bs_test_spin (100);
      g_object_unref (app);
    }
  return ret;
}
