/* The window under a real display (Xvfb): what it shows must equal what the
 * engine computes, whatever the user does meanwhile.  The tests are in
 * ui-window-predict.c, ui-window-panels.c, ui-window-layout.c and
 * ui-window-models.c; they share one window, opened once. */
#include "ui-window-tests.h"

BsWindow *win;
GtkApplication *app;

gboolean
shows_current_prediction (BsWindow *w)
{
  /* not while a case or model opens: the case before still shows then */
  return !bs_session_is_loading (bs_window_get_session (w)) &&
         bs_window_get_displayed_slice_index_of_prediction (w) == bs_session_get_slice_index (bs_window_get_session (w)) &&
         bs_window_get_displayed_slice_index_of_prediction (w) >= 0;
}

gboolean
setup (void)
{
  return bs_test_window_once (&win, &app);
}

/* Every slice computed, and the whole-volume work after it (the clean-up,
 * counting) done: that runs off the main thread. */
gboolean
volume_done (BsWindow *w)
{
  BsSession *s = bs_window_get_session (w);
  const BsVolume *prob = bs_session_get_probability_volume (s);
  return prob != NULL && bs_session_get_n_computed_slices (s) == bs_volume_n_slices (prob, bs_session_get_net_plane (s))
         && !bs_session_is_busy (s);
}

/* Every widget of type under root, in tree order. */
void
collect_widgets (GtkWidget *root, GType type, GPtrArray *out)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    g_ptr_array_add (out, root);
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    collect_widgets (c, type, out);
}

/* The widget's top, in its window's coordinates. */
double
y_of (GtkWidget *w)
{
  graphene_point_t p;

  g_assert_true (gtk_widget_compute_point (w, GTK_WIDGET (gtk_widget_get_root (w)), &GRAPHENE_POINT_INIT (0, 0), &p));
  return p.y;
}

int
main (int argc, char **argv)
{
  int ret;

  bs_test_init (&argc, &argv);
  g_test_add_func ("/ui/window/initial-focus", test_initial_focus);
  g_test_add_func ("/ui/window/slice-dice", test_slice_dice);
  g_test_add_func ("/ui/window/cleanup", test_cleanup);
  g_test_add_func ("/ui/window/rapid-slice-changes", test_rapid_slice_changes);
  g_test_add_func ("/ui/window/axial-only-label", test_axial_only_label);
  g_test_add_func ("/ui/window/toggles", test_toggles);
  g_test_add_func ("/ui/window/test-time-flips", test_flips);
  g_test_add_func ("/ui/window/fill-lanes", test_fill_lanes);
  g_test_add_func ("/ui/window/planes", test_views_and_planes);
  g_test_add_func ("/ui/window/plane-range-before-slice", test_plane_range_before_slice);
  g_test_add_func ("/ui/window/plane-keeps-prediction", test_plane_keeps_prediction);
  g_test_add_func ("/ui/window/trust-panels", test_trust_panels);
  g_test_add_func ("/ui/window/int8-nchw-greyed", test_int8_nchw_greyed);
  g_test_add_func ("/ui/window/layout-holds-still", test_layout_holds_still);
  g_test_add_func ("/ui/window/slice-keys-anywhere", test_slice_keys_anywhere);
  g_test_add_func ("/ui/window/chart-click", test_chart_click);
  g_test_add_func ("/ui/window/case-row-names", test_case_row_names);
  g_test_add_func ("/ui/window/truth-regions", test_truth_regions);
  g_test_add_func ("/ui/window/spin-buttons", test_spin_buttons);
  g_test_add_func ("/ui/window/window-level-shown", test_window_level_shown);
  g_test_add_func ("/ui/window/outline-opacity", test_outline_opacity);
  g_test_add_func ("/ui/window/no-ground-truth", test_no_ground_truth);
  g_test_add_func ("/ui/window/raw-only-when-cleaned", test_raw_only_when_cleaned);
  g_test_add_func ("/ui/window/tooltips-hold-while-predicting", test_tooltips_hold_while_predicting);
  g_test_add_func ("/ui/window/labels-without-regions", test_labels_without_regions);
  g_test_add_func ("/ui/window/drop", test_drop);
  g_test_add_func ("/ui/window/bad-file", test_bad_file);
  g_test_add_func ("/ui/window/stop-before-fill", test_stop_before_fill);
  g_test_add_func ("/ui/window/session-outlives-window", test_session_outlives_window);
  g_test_add_func ("/ui/window/failed-start-keeps-model", test_failed_start_keeps_model);
  g_test_add_func ("/ui/window/narrow", test_narrow_window);
  g_test_add_func ("/ui/window/laptop-fits", test_laptop_fits);
  g_test_add_func ("/ui/window/strip-fits-before-case", test_strip_fits_before_case);
  g_test_add_func ("/ui/window/readout-fits", test_readout_fits);
  g_test_add_func ("/ui/window/toolbar-keyboard", test_toolbar_keyboard);
  g_test_add_func ("/ui/window/tab-reaches-options", test_tab_reaches_options);
  g_test_add_func ("/ui/window/region-model", test_region_model);
  g_test_add_func ("/ui/window/mnemonics-clear-of-shortcuts", test_mnemonics_clear_of_shortcuts);
  g_test_add_func ("/ui/window/recent-names", test_recent_names);
  g_test_add_func ("/ui/window/options-remembered", test_options_remembered);
  g_test_add_func ("/ui/window/corrections", test_corrections_in_window);
  g_test_add_func ("/ui/window/open-mask", test_open_mask_in_window);
  ret = g_test_run ();
  bs_test_window_close (win, app);
  return ret;
}
