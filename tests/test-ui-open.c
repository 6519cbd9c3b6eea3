/* Opening things from the window under a real display (Xvfb): the choosers
 * a user sees.  Findings of a walk through the window. */
#include <glib/gstdio.h>
#include <string.h>

#include "bs-case-sidebar.h"
#include "bs-compare-dialog.h"
#include "bs-phantom.h"
#include "bs-preferences.h"
#include "bs-unet.h"
#include "test-util.h"
#include "ui-harness.h"

static BsWindow *win;
static GtkApplication *app;

static gboolean
setup (void)
{
  return bs_test_window_once (&win, &app);
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

static gboolean
case_shown (BsWindow *w, int index)
{
  BsSession *s = bs_window_get_session (w);

  return bs_session_get_case_index (s) == index && !bs_session_is_loading (s) && bs_session_get_case (s) != NULL;
}

static gboolean
first_case_shown (BsWindow *w)
{
  return case_shown (w, 0);
}

static gboolean
second_case_shown (BsWindow *w)
{
  return case_shown (w, 1);
}

static gboolean
third_case_shown (BsWindow *w)
{
  return case_shown (w, 2);
}

/* Walk finding: Enter pressed right after typing in the case filter (before
 * the search entry's pause let the filter follow the text) opened the first
 * case of the list as it stood before, or nothing: the case typed opens. */
static void
test_filter_enter_at_once (void)
{
  g_autofree char *dir = bs_test_make_tmp_dir ("bs-ui-open-XXXXXX");
  g_autofree char *model = bs_unet_default_model_path ();
  g_autofree char *sample = bs_test_sample_path ();
  g_autoptr(GError) error = NULL;
  GtkWidget *filter;
  const char *third;

  if (!setup ())
    return;
  g_assert_true (bs_phantom_write_task (dir, 3, 7, 64, 64, 32, &error));
  g_assert_no_error (error);
  bs_window_open_with_model (win, dir, model);
  g_assert_true (bs_test_wait (win, first_case_shown, 120));
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  third = bs_dataset_get_case_id (bs_session_get_dataset (bs_window_get_session (win)), 2);
  filter = bs_test_find_widget (GTK_WIDGET (win), GTK_TYPE_SEARCH_ENTRY);
  g_assert_nonnull (filter);
  gtk_editable_set_text (GTK_EDITABLE (filter), third);
  g_signal_emit_by_name (filter, "activate");
  g_assert_true (bs_test_wait (win, third_case_shown, 120));
  g_assert_cmpstr (bs_session_get_case (bs_window_get_session (win))->id, ==, third);

  /* the sample again, with the filter still typed: another folder opens
   * unfiltered, its case listed (walk finding: the filter for the folder
   * before hid the case just opened) */
  bs_window_open_with_model (win, sample, model);
  g_assert_true (bs_test_wait (win, first_case_shown, 300));
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (filter)), ==, "");
  bs_test_spin (600);
  {
    GtkWidget *list = bs_test_find_widget (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_CASE_SIDEBAR),
                                           GTK_TYPE_LIST_BOX);

    g_assert_nonnull (list);
    g_assert_nonnull (bs_test_find_label (list, bs_session_get_case (bs_window_get_session (win))->id, FALSE));
  }
  bs_test_remove_tree (dir);
}

static gboolean
compare_finished (BsWindow *w)
{
  BsCompareDialog *dialog = g_object_get_data (G_OBJECT (w), "test-compare");

  return bs_compare_dialog_get_result (dialog) != NULL;
}

/* Walk finding: a case opened while Compare all runs gave the finished
 * chart's caption the new case's id (and the export names too), over the
 * numbers of the case it ran on. */
static void
test_case_during_compare (void)
{
  g_autofree char *dir = bs_test_make_tmp_dir ("bs-ui-compare-XXXXXX");
  g_autofree char *model = bs_unet_default_model_path ();
  g_autofree char *sample = bs_test_sample_path ();
  g_autofree char *ran_on = NULL;
  g_autoptr(GError) error = NULL;
  BsSession *session;
  BsCompareDialog *dialog;
  const BsCompareResult *r;

  if (!setup ())
    return;
  session = bs_window_get_session (win);
  ran_on = g_strdup (bs_session_get_case (session)->id);
  /* two cases: the sample is a phantom_001 too, the second one is not */
  g_assert_true (bs_phantom_write_task (dir, 2, 9, 64, 64, 32, &error));
  g_assert_no_error (error);
  dialog = bs_compare_dialog_new (GTK_WINDOW (win), session);
  bs_compare_dialog_set_n_slices (dialog, 1);
  g_object_set_data (G_OBJECT (win), "test-compare", dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  g_assert_true (bs_compare_dialog_is_running (dialog));

  bs_window_open_with_model (win, dir, model);
  g_assert_true (bs_test_wait (win, first_case_shown, 120));
  bs_session_load_case (session, 1);
  g_assert_true (bs_test_wait (win, second_case_shown, 120));
  g_assert_cmpstr (bs_session_get_case (session)->id, !=, ran_on);
  if (!bs_compare_dialog_is_running (dialog))
    {
      /* a machine fast enough to finish the comparison first */
      g_test_skip ("Compare all finished before the other case opened");
      gtk_window_destroy (GTK_WINDOW (dialog));
      bs_test_remove_tree (dir);
      return;
    }
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  g_assert_true (bs_test_wait (win, compare_finished, 600));
  r = bs_compare_dialog_get_result (dialog);
  g_test_message ("%s", r->caption);
  g_assert_nonnull (strstr (r->caption, ran_on));
  g_assert_null (strstr (r->caption, bs_session_get_case (session)->id));
  g_object_set_data (G_OBJECT (win), "test-compare", NULL);
  gtk_window_destroy (GTK_WINDOW (dialog));

  bs_window_open_with_model (win, sample, model);
  g_assert_true (bs_test_wait (win, first_case_shown, 300));
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  bs_test_remove_tree (dir);
}

/* Walk finding: Compare all opened while the window still filled its volume
 * timed its first configurations beside that work, up to twice as slow as
 * the later ones.  It waits for the window's inference (the volume, its
 * three-plane passes and figures), then times, on the case shown when it was
 * opened; not busy, it starts at once. */
static void
test_compare_waits_for_window (void)
{
  g_autofree char *model = bs_unet_default_model_path ();
  g_autofree char *sample = bs_test_sample_path ();
  BsSession *session;
  BsCompareDialog *dialog;
  gboolean waited_busy = FALSE, launched = FALSE;

  if (!setup ())
    return;
  session = bs_window_get_session (win);
  bs_window_open_with_model (win, sample, model);
  g_assert_true (bs_test_wait (win, first_case_shown, 300));
  /* Stopped: nothing of the window's runs, the comparison starts at once. */
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  bs_test_spin (50);
  if (!bs_session_is_busy (session))
    {
      dialog = bs_compare_dialog_new (GTK_WINDOW (win), session);
      bs_compare_dialog_set_n_slices (dialog, 1);
      gtk_window_present (GTK_WINDOW (dialog));
      g_assert_true (bs_compare_dialog_is_running (dialog));
      g_assert_false (bs_compare_dialog_is_waiting (dialog));
      gtk_window_destroy (GTK_WINDOW (dialog));
      bs_test_spin (200);
    }

  /* Filling again: the comparison waits until the window is done. */
  g_action_group_activate_action (G_ACTION_GROUP (win), "resume-fill", NULL);
  if (!bs_session_is_busy (session))
    {
      g_test_skip ("the window finished the volume before the comparison could open");
      return;
    }
  dialog = bs_compare_dialog_new (GTK_WINDOW (win), session);
  bs_compare_dialog_set_n_slices (dialog, 1);
  g_object_set_data (G_OBJECT (win), "test-compare", dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  g_assert_true (bs_compare_dialog_is_running (dialog));
  g_assert_true (bs_compare_dialog_is_waiting (dialog));
  g_assert_nonnull (strstr (bs_compare_dialog_get_status_text (dialog), "Waiting"));
  for (gint64 end = g_get_monotonic_time () + 600 * G_USEC_PER_SEC;
       !compare_finished (win) && g_get_monotonic_time () < end;)
    {
      if (bs_compare_dialog_is_waiting (dialog))
        waited_busy |= bs_session_is_busy (session);
      else if (!launched)
        {
          launched = TRUE;
          /* it started with the window idle */
          g_assert_false (bs_session_is_busy (session));
        }
      bs_test_spin (5);
    }
  g_assert_true (waited_busy);
  g_assert_true (launched);
  g_assert_true (compare_finished (win));
  g_object_set_data (G_OBJECT (win), "test-compare", NULL);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

/* Walk finding: Preferences took a mistyped model path without a word (the
 * next window then opened nothing).  It says so under the entry. */
static void
test_preferences_model_hint (void)
{
  g_autofree char *shipped = bs_unet_default_model_path ();
  g_autofree char *text_file = g_build_filename (g_get_tmp_dir (), "bs-ui-open-not-a-model.h5", NULL);
  GtkWidget *prefs;
  GtkWidget *entry;

  if (!setup ())
    return;
  if (shipped == NULL)
    {
      g_test_skip ("no shipped model built");
      return;
    }
  g_assert_true (g_file_set_contents (text_file, "not weights\n", -1, NULL));
  prefs = bs_preferences_new (GTK_WINDOW (win));
  entry = bs_test_find_widget (prefs, GTK_TYPE_ENTRY);
  g_assert_nonnull (entry);
  gtk_window_present (GTK_WINDOW (prefs));
  bs_test_spin (100);

  gtk_editable_set_text (GTK_EDITABLE (entry), "/nonexistent/mistyped.h5");
  g_assert_nonnull (bs_preferences_get_model_hint (BS_PREFERENCES (prefs)));
  g_assert_nonnull (strstr (bs_preferences_get_model_hint (BS_PREFERENCES (prefs)), "No such file"));
  gtk_editable_set_text (GTK_EDITABLE (entry), text_file);
  g_assert_nonnull (bs_preferences_get_model_hint (BS_PREFERENCES (prefs)));
  gtk_editable_set_text (GTK_EDITABLE (entry), shipped);
  g_assert_null (bs_preferences_get_model_hint (BS_PREFERENCES (prefs)));
  gtk_editable_set_text (GTK_EDITABLE (entry), "");
  g_assert_null (bs_preferences_get_model_hint (BS_PREFERENCES (prefs)));
  gtk_window_destroy (GTK_WINDOW (prefs));
  g_unlink (text_file);
}

int
main (int argc, char **argv)
{
  int ret;

  bs_test_init (&argc, &argv);
  g_test_add_func ("/ui/open/model-chooser-shipped-folder", test_model_chooser_shipped_folder);
  g_test_add_func ("/ui/open/filter-enter-at-once", test_filter_enter_at_once);
  g_test_add_func ("/ui/open/case-during-compare", test_case_during_compare);
  g_test_add_func ("/ui/open/compare-waits-for-window", test_compare_waits_for_window);
  g_test_add_func ("/ui/open/preferences-model-hint", test_preferences_model_hint);
  ret = g_test_run ();
  bs_test_window_close (win, app);
  return ret;
}
