/* test-ui-window, what fits and what answers: a laptop screen, a narrow
 * window, the readouts, keys and keyboard, the chart, case names, the
 * truth's regions, spin buttons. */
#include "ui-window-tests.h"

/* In outline mode the opacity slider changes nothing (outlines are opaque):
 * it is greyed and its tooltip says why, and it comes back with fill. */
void
test_outline_opacity (void)
{
  GtkWidget *scale;

  if (!setup ())
    return;
  scale = bs_test_find_widget (GTK_WIDGET (win), GTK_TYPE_SCALE);
  g_assert_nonnull (scale);
  g_assert_true (gtk_widget_get_sensitive (scale));
  g_action_group_change_action_state (G_ACTION_GROUP (win), "mask-outline", g_variant_new_boolean (TRUE));
  g_assert_false (gtk_widget_get_sensitive (scale));
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (scale), "opaque"));
  g_action_group_change_action_state (G_ACTION_GROUP (win), "mask-outline", g_variant_new_boolean (FALSE));
  g_assert_true (gtk_widget_get_sensitive (scale));

  /* A shorter modality name does not move the controls after it. */
  if (bs_session_get_case (bs_window_get_session (win))->image->n_channels > 1)
    {
      graphene_rect_t before, after;
      int channel = bs_session_get_display_channel (bs_window_get_session (win));

      bs_test_spin (100);
      g_assert_true (gtk_widget_compute_bounds (scale, GTK_WIDGET (win), &before));
      for (int c = 0; c < bs_session_get_case (bs_window_get_session (win))->image->n_channels; c++)
        {
          bs_session_set_display_channel (bs_window_get_session (win), c);
          bs_test_spin (150);
          g_assert_true (gtk_widget_compute_bounds (scale, GTK_WIDGET (win), &after));
          g_test_message ("channel %d: opacity slider at x %.0f (was %.0f)", c, after.origin.x, before.origin.x);
          g_assert_cmpfloat (after.origin.x, ==, before.origin.x);
        }
      bs_session_set_display_channel (bs_window_get_session (win), channel);
    }
}

/* Every button of the view's toolbar lies inside the view column, and the
 * column got at least its minimum width (else GTK clips it). */
static void
assert_view_fits (int width)
{
  GtkWidget *toolbar = bs_test_find_widget (GTK_WIDGET (win), GTK_TYPE_FLOW_BOX);
  GtkWidget *column, *side;
  graphene_rect_t col, b;
  int min = 0, buttons = 0;

  g_assert_nonnull (toolbar);
  /* The view column is the start child of the paned nearest the toolbar. */
  column = gtk_paned_get_start_child (GTK_PANED (gtk_widget_get_ancestor (toolbar, GTK_TYPE_PANED)));
  side = gtk_paned_get_end_child (GTK_PANED (gtk_widget_get_ancestor (toolbar, GTK_TYPE_PANED)));
  gtk_widget_measure (column, GTK_ORIENTATION_HORIZONTAL, -1, &min, NULL, NULL, NULL);
  g_test_message ("window %d px wide: view column %d px (minimum %d), side panel %d px", width,
                  gtk_widget_get_width (column), min, gtk_widget_get_width (side));
  g_assert_cmpint (gtk_widget_get_width (GTK_WIDGET (win)), <=, width);
  g_assert_cmpint (gtk_widget_get_width (column), >=, min);
  g_assert_cmpint (gtk_widget_get_width (side), >, 0);
  g_assert_true (gtk_widget_compute_bounds (column, GTK_WIDGET (win), &col));
  for (GtkWidget *child = gtk_widget_get_first_child (toolbar); child; child = gtk_widget_get_next_sibling (child))
    {
      g_assert_true (gtk_widget_compute_bounds (child, GTK_WIDGET (win), &b));
      g_assert_cmpfloat (b.size.width, >, 10);
      g_assert_cmpfloat (b.origin.x, >=, col.origin.x - 0.5);
      g_assert_cmpfloat (b.origin.x + b.size.width, <=, col.origin.x + col.size.width + 0.5);
      buttons++;
    }
  g_assert_cmpint (buttons, ==, 5);
}

/* A presenter's 1280x800 laptop (and narrower): the view toolbar wraps
 * instead of pushing the slice panes out of the window. */
void
test_narrow_window (void)
{
  static const int widths[] = { 1560, 1270, 1100 };

  if (!setup ())
    return;
  for (gsize k = 0; k < G_N_ELEMENTS (widths); k++)
    {
      gtk_window_set_default_size (GTK_WINDOW (win), widths[k], 760);
      bs_test_spin (400);
      assert_view_fits (widths[k]);
    }
  /* A 1024x700 screen (walk finding: at 1024-1150 px wide the options fell
   * to one column and the window would not be shorter than 1007 px, their
   * lower half off the screen): the options scroll, the window fits. */
  {
    int min_h = 0;

    gtk_widget_measure (GTK_WIDGET (win), GTK_ORIENTATION_VERTICAL, 1024, &min_h, NULL, NULL, NULL);
    g_test_message ("1024 px wide: at least %d px high", min_h);
    g_assert_cmpint (min_h, <=, 700);
  }
  gtk_window_set_default_size (GTK_WINDOW (win), 1560, 940);
  bs_test_spin (300);
}

/* How far a scrolled window would have to scroll to show all of its child. */
static double
hidden_by_scrolling (GtkWidget *inside)
{
  GtkWidget *sw = gtk_widget_get_ancestor (inside, GTK_TYPE_SCROLLED_WINDOW);
  GtkAdjustment *v;

  g_assert_nonnull (sw);
  v = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw));
  return gtk_adjustment_get_upper (v) - gtk_adjustment_get_page_size (v);
}

/* Walk finding: on a laptop the options strip stood one row high, its other
 * rows scrolled away, until the first case had loaded; then it jumped to
 * its full height and the slice views shrank. A new window with no case
 * shows every row from its first frames. */
static gboolean
busy_source (gpointer data)
{
  g_usleep (2000);
  return G_SOURCE_CONTINUE;
}

void
test_strip_fits_before_case (void)
{
  BsWindow *empty;
  GtkWidget *panel, *flow;
  double hidden = -1;
  guint busy;

  if (!setup ())
    return;
  /* A main loop that always has work above idle priority, below drawing:
   * what a case being loaded and its progress did to the first fit. */
  busy = g_idle_add_full (150, busy_source, NULL, NULL);
  empty = bs_test_new_window (app);
  gtk_window_set_default_size (GTK_WINDOW (empty), 1366, 768);
  gtk_window_present (GTK_WINDOW (empty));
  panel = bs_test_find_widget (GTK_WIDGET (empty), BS_TYPE_OPTIONS_PANEL);
  g_assert_nonnull (panel);
  flow = bs_test_find_widget (panel, GTK_TYPE_FLOW_BOX);
  g_assert_nonnull (flow);
  for (int k = 0; k < 50 && gtk_widget_get_width (flow) <= 0; k++)
    bs_test_spin (20);
  bs_test_spin (300);
  g_assert_null (bs_session_get_case (bs_window_get_session (empty)));
  hidden = hidden_by_scrolling (flow);
  g_test_message ("no case: options strip %d px wide, %d px high, %.0f px scrolled out of sight",
                  gtk_widget_get_width (flow), gtk_widget_get_height (gtk_widget_get_ancestor (flow, GTK_TYPE_SCROLLED_WINDOW)),
                  hidden);
  g_source_remove (busy);
  g_assert_cmpint (gtk_widget_get_width (flow), >, 0);
  g_assert_cmpfloat (hidden, <, 1);

  /* and the Dice panel keeps its width when the case opens (it widened by
   * 78 px and moved every option under the pointer) */
  {
    GtkWidget *dice = bs_test_find_widget (GTK_WIDGET (empty), BS_TYPE_DICE_PANEL);
    g_autofree char *sample = bs_test_sample_path ();
    g_autofree char *model = bs_unet_default_model_path ();
    int before = gtk_widget_get_width (dice);

    bs_window_open_with_model (empty, sample, model);
    g_assert_true (bs_test_wait (empty, shows_current_prediction, 300));
    bs_test_spin (300);
    g_test_message ("Dice panel %d px wide before the case, %d px after", before, gtk_widget_get_width (dice));
    g_assert_cmpint (abs (gtk_widget_get_width (dice) - before), <=, 2);
    g_action_group_activate_action (G_ACTION_GROUP (empty), "cancel-fill", NULL);
  }
  gtk_window_destroy (GTK_WINDOW (empty));
  bs_test_spin (50);
}

/* A presenter's laptop (1366x768; 1280x800): the window fits the screen, and
 * the Dice, the timing and every optimisation are on screen together, with no
 * scrolling (they used to sit in one side panel that scrolled the options
 * out of sight). */
void
test_laptop_fits (void)
{
  static const int sizes[][2] = { { 1366, 768 }, { 1280, 800 }, { 1280, 720 } };
  GtkWidget *options, *dice, *timing, *flow;

  if (!setup ())
    return;
  options = bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_OPTIONS_PANEL);
  dice = bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_DICE_PANEL);
  timing = bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_TIMING_PANEL);
  g_assert_nonnull (options);
  g_assert_nonnull (dice);
  g_assert_nonnull (timing);
  flow = bs_test_find_widget (options, GTK_TYPE_FLOW_BOX);
  g_assert_nonnull (flow);
  for (gsize k = 0; k < G_N_ELEMENTS (sizes); k++)
    {
      int w = sizes[k][0], h = sizes[k][1], n_items = 0, flow_min = 0;
      graphene_rect_t b;

      bs_test_resize (win, w, h);
      gtk_widget_measure (flow, GTK_ORIENTATION_VERTICAL, gtk_widget_get_width (flow), &flow_min, NULL, NULL, NULL);
      g_test_message ("%dx%d: window %dx%d, side panel hides %.0f px, options %d px high (they need %d)", w, h,
                      gtk_widget_get_width (GTK_WIDGET (win)), gtk_widget_get_height (GTK_WIDGET (win)),
                      hidden_by_scrolling (dice), gtk_widget_get_height (flow), flow_min);
      g_assert_cmpint (gtk_widget_get_height (GTK_WIDGET (win)), <=, h);
      g_assert_cmpfloat (hidden_by_scrolling (dice), <=, 0.5);
      /* the strip (not only the flow box inside it) is as high as the rows need */
      g_assert_cmpint (gtk_widget_get_height (gtk_widget_get_ancestor (flow, GTK_TYPE_SCROLLED_WINDOW)), >=, flow_min);
      g_assert_true (gtk_widget_compute_bounds (timing, GTK_WIDGET (win), &b));
      g_assert_cmpfloat (b.origin.y + b.size.height, <=, h);
      for (GtkWidget *c = gtk_widget_get_first_child (flow); c != NULL; c = gtk_widget_get_next_sibling (c))
        {
          g_assert_true (gtk_widget_compute_bounds (c, GTK_WIDGET (win), &b));
          g_assert_cmpfloat (b.size.height, >, 10);
          g_assert_cmpfloat (b.origin.y + b.size.height, <=, h);
          g_assert_cmpfloat (b.origin.x + b.size.width, <=, w);
          n_items++;
        }
      g_assert_cmpint (n_items, ==, 12);  /* eleven options and Compare All */
    }
  gtk_window_set_default_size (GTK_WINDOW (win), 1560, 940);
  bs_test_spin (300);
}

/* Issue 14, findings 12 and 14: at a laptop's width the cursor readout still shows
 * the probability (it used to end "probability 0...."), and the top orientation
 * letter stays clear of the pane titles ("MRI input · FLAIRA"). */
void
test_readout_fits (void)
{
  static const int widths[] = { 1366, 1270 };
  GtkWidget *view;

  if (!setup ())
    return;
  bs_session_set_plane (bs_window_get_session (win), BS_PLANE_AXIAL);
  bs_session_set_slice_index (bs_window_get_session (win), bs_test_tumour_slice (win));
  g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
  view = bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_SLICE_VIEW);
  g_assert_nonnull (view);
  for (gsize k = 0; k < G_N_ELEMENTS (widths); k++)
    {
      GtkWidget *readout;
      const char *text;

      gtk_window_set_default_size (GTK_WINDOW (win), widths[k], 768);
      bs_test_spin (400);
      g_signal_emit_by_name (view, "cursor-moved", 80.0, 80.0);
      bs_test_spin (200);
      readout = bs_test_find_label (GTK_WIDGET (win), "Voxel (", TRUE);
      g_assert_nonnull (readout);
      text = gtk_label_get_text (GTK_LABEL (readout));
      g_test_message ("%d px: %s (%d px wide, ellipsized: %d)", widths[k], text, gtk_widget_get_width (readout),
                      pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (readout))));
      g_assert_nonnull (strstr (text, "probability "));
      g_assert_null (strstr (text, "probability –"));
      g_assert_false (pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (readout))));

      /* finding 14: the top orientation letter never touches a pane's title */
      {
        g_autoptr(GPtrArray) views = g_ptr_array_new ();

        collect_widgets (GTK_WIDGET (win), BS_TYPE_SLICE_VIEW, views);
        for (guint i = 0; i < views->len; i++)
          {
            GdkRectangle t, l;

            if (!gtk_widget_get_mapped (views->pdata[i]))
              continue;
            bs_slice_view_get_label_rects (views->pdata[i], &t, &l);
            g_test_message ("  view %u (%d px): title %d..%d, letter at x %d y %d", i,
                            gtk_widget_get_width (views->pdata[i]), t.x, t.x + t.width, l.x, l.y);
            g_assert_false (gdk_rectangle_intersect (&t, &l, NULL));
            /* on the title's line only well clear of it ("MRI input · T1gd A" read as one) */
            if (t.width > 0 && l.y == t.y)
              g_assert_cmpint (l.x - (t.x + t.width), >=, 24);
          }
      }
    }
  gtk_window_set_default_size (GTK_WINDOW (win), 1560, 940);
  bs_test_spin (300);
}

/* The toolbar's buttons stay reachable with Tab in the flow box. */
void
test_toolbar_keyboard (void)
{
  GtkWidget *toolbar;
  gboolean reached[5] = { FALSE };
  int n_reached = 0;

  if (!setup ())
    return;
  toolbar = bs_test_find_widget (GTK_WIDGET (win), GTK_TYPE_FLOW_BOX);
  g_assert_nonnull (toolbar);
  gtk_root_set_focus (GTK_ROOT (win), NULL);
  for (int step = 0; step < 80 && n_reached < 5; step++)
    {
      GtkWidget *focus;
      int k = 0;

      if (!gtk_widget_child_focus (GTK_WIDGET (win), GTK_DIR_TAB_FORWARD))
        gtk_root_set_focus (GTK_ROOT (win), NULL);
      focus = gtk_root_get_focus (GTK_ROOT (win));
      for (GtkWidget *c = gtk_widget_get_first_child (toolbar); c; c = gtk_widget_get_next_sibling (c), k++)
        if (focus && k < 5 && !reached[k] && gtk_widget_is_ancestor (focus, c))
          {
            reached[k] = TRUE;
            n_reached++;
            g_test_message ("Tab %d reaches toolbar group %d (%s)", step + 1, k, G_OBJECT_TYPE_NAME (focus));
          }
    }
  g_assert_cmpint (n_reached, ==, 5);
}

/* Tab goes on from the slice slider into the optimisations strip and then
 * to the Dice panel's region buttons (walk finding: it stayed on the slider). */
void
test_tab_reaches_options (void)
{
  GtkWidget *options, *dice, *scale;
  int at_scale = -1, at_options = -1, at_dice = -1;

  if (!setup ())
    return;
  options = bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_OPTIONS_PANEL);
  dice = bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_DICE_PANEL);
  scale = bs_test_find_widget (GTK_WIDGET (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_SLICE_BAR)), GTK_TYPE_SCALE);
  g_assert_nonnull (options);
  g_assert_nonnull (dice);
  g_assert_nonnull (scale);
  gtk_root_set_focus (GTK_ROOT (win), NULL);
  for (int step = 0; step < 120 && at_dice < 0; step++)
    {
      GtkWidget *focus;

      if (!gtk_widget_child_focus (GTK_WIDGET (win), GTK_DIR_TAB_FORWARD))
        gtk_root_set_focus (GTK_ROOT (win), NULL);
      focus = gtk_root_get_focus (GTK_ROOT (win));
      if (focus == NULL)
        continue;
      if (at_scale < 0 && (focus == scale || gtk_widget_is_ancestor (focus, scale)))
        at_scale = step;
      if (at_options < 0 && gtk_widget_is_ancestor (focus, options))
        at_options = step;
      if (at_dice < 0 && gtk_widget_is_ancestor (focus, dice))
        at_dice = step;
    }
  g_test_message ("Tab reaches the slice slider at %d, the options at %d, the Dice panel at %d", at_scale, at_options,
                  at_dice);
  g_assert_cmpint (at_scale, >=, 0);
  g_assert_cmpint (at_options, >, at_scale);
  g_assert_cmpint (at_dice, >, at_options);
}

static gboolean
have_xdotool (void)
{
  g_autofree char *path = g_find_program_in_path ("xdotool");

  return path != NULL && g_getenv ("DISPLAY") != NULL;
}

/* The window, presented, on axial slice `slice`, for a test that drives it
 * with xdotool; FALSE (the test skipped) without a display or xdotool. */
static gboolean
setup_for_xdotool (int slice)
{
  if (!setup ())
    return FALSE;
  if (!have_xdotool ())
    {
      g_test_skip ("needs xdotool and an X display (Xvfb)");
      return FALSE;
    }
  gtk_window_present (GTK_WINDOW (win));
  bs_session_set_plane (bs_window_get_session (win), BS_PLANE_AXIAL);
  bs_session_set_slice_index (bs_window_get_session (win), slice);
  return TRUE;
}

/* Real key presses from the X server (xdotool), as a user types them. */
static gboolean
xdotool_keys (const char *keys)
{
  g_autofree char *cmd = g_strdup_printf ("xdotool search --name \"Brainseg$\" windowfocus --sync key --delay 50 %s",
                                          keys);
  g_autoptr(GError) error = NULL;
  int status = -1;

  if (!g_spawn_command_line_sync (cmd, NULL, NULL, &status, &error) || !g_spawn_check_wait_status (status, NULL))
    return FALSE;
  bs_test_spin (400);
  return TRUE;
}

/* Issue 14, finding 4: after a click on a toolbar button or the case list,
 * Up/Down/Page Up/Page Down still step slices (they used to move focus), and
 * Escape stops the fill; inside a text entry the keys stay the entry's. */
void
test_slice_keys_anywhere (void)
{
  GtkWidget *overlay_button, *filter;
  int before;

  if (!setup_for_xdotool (40))
    return;
  overlay_button = bs_test_find_button (GTK_WIDGET (win), "Overlay");
  g_assert_nonnull (overlay_button);
  g_assert_true (gtk_widget_grab_focus (overlay_button));
  bs_test_spin (200);
  if (!xdotool_keys ("Down"))
    {
      g_test_skip ("xdotool could not reach the window");
      return;
    }
  g_assert_cmpint (bs_session_get_slice_index (bs_window_get_session (win)), ==, 39);
  g_assert_true (xdotool_keys ("Up Up Page_Up"));
  g_assert_cmpint (bs_session_get_slice_index (bs_window_get_session (win)), ==, 51);
  g_assert_true (xdotool_keys ("Page_Down"));
  g_assert_cmpint (bs_session_get_slice_index (bs_window_get_session (win)), ==, 41);
  /* focus stayed where the click put it */
  g_assert_true (gtk_root_get_focus (GTK_ROOT (win)) == overlay_button
                 || gtk_widget_is_ancestor (gtk_root_get_focus (GTK_ROOT (win)), overlay_button));
  /* Escape stops the fill */
  g_action_group_activate_action (G_ACTION_GROUP (win), "resume-fill", NULL);
  g_assert_true (xdotool_keys ("Escape"));
  g_assert_false (bs_session_is_busy (bs_window_get_session (win)));
  /* in the filter box the keys are the entry's */
  filter = bs_test_find_widget (GTK_WIDGET (win), GTK_TYPE_SEARCH_ENTRY);
  g_assert_nonnull (filter);
  gtk_widget_grab_focus (filter);
  before = bs_session_get_slice_index (bs_window_get_session (win));
  g_assert_true (xdotool_keys ("Down"));
  g_assert_cmpint (bs_session_get_slice_index (bs_window_get_session (win)), ==, before);
  gtk_root_set_focus (GTK_ROOT (win), NULL);
}

/* Issue 14, finding 17: a click on the per-slice Dice chart goes to the
 * slice under the pointer (a real click from the X server). */
void
test_chart_click (void)
{
  GtkWidget *chart;
  graphene_point_t p;
  double sx = 0, sy = 0;
  int target, n;
  g_autofree char *cmd = NULL;
  int status = -1;

  if (!setup_for_xdotool (5))
    return;
  bs_test_spin (300);
  chart = bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_DICE_CHART);
  g_assert_nonnull (chart);
  n = bs_session_get_n_slices (bs_window_get_session (win));
  /* Three quarters along the plot. */
  g_assert_true (gtk_widget_compute_point (chart, GTK_WIDGET (win),
                                           &GRAPHENE_POINT_INIT (gtk_widget_get_width (chart) * 0.75,
                                                                 gtk_widget_get_height (chart) / 2.0), &p));
  target = bs_dice_chart_slice_at (BS_DICE_CHART (chart), gtk_widget_get_width (chart) * 0.75);
  g_assert_cmpint (target, >, n / 2);
  gtk_native_get_surface_transform (GTK_NATIVE (win), &sx, &sy);
  cmd = g_strdup_printf ("xdotool search --name \"Brainseg$\" windowfocus --sync mousemove --window %%1 %d %d "
                         "click 1", (int) (p.x + sx), (int) (p.y + sy));
  if (!g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL) || !g_spawn_check_wait_status (status, NULL))
    {
      g_test_skip ("xdotool could not reach the window");
      return;
    }
  bs_test_spin (400);
  g_assert_cmpint (abs (bs_session_get_slice_index (bs_window_get_session (win)) - target), <=, 1);

  /* The tooltip names the bar under the pointer and its Dice (walk finding:
   * one fixed text, no slice or value): the slice clicked, its Dice as the
   * session has it, or why there is none. */
  {
    BsSession *s = bs_window_get_session (win);
    int slice = bs_session_get_slice_index (s);
    g_autofree char *tip = bs_dice_chart_tooltip_text (BS_DICE_CHART (chart), slice);
    g_autofree char *head = NULL;
    BsConfusion c;
    gboolean empty;

    g_test_message ("%s", tip);
    if (bs_session_get_region_slice_confusion (s, bs_session_get_region (s), slice, &c, &empty) && !empty)
      head = g_strdup_printf ("Axial slice %d: Dice %.4f. ", slice, bs_confusion_dice (&c));
    else
      head = g_strdup_printf ("Axial slice %d: ", slice);
    g_assert_true (g_str_has_prefix (tip, head));
    g_assert_nonnull (strstr (tip, "Click or drag"));
  }
}

/* Issue 14, finding 17: a case's id is never only cut in the list: the name
 * has the row's width (its Dice goes under it) and the row's tooltip is the id. */
void
test_case_row_names (void)
{
  GtkWidget *list, *row, *name;
  BsSession *s;
  const char *id;

  if (!setup ())
    return;
  s = bs_window_get_session (win);
  list = bs_test_find_widget (GTK_WIDGET (win), GTK_TYPE_LIST_BOX);
  g_assert_nonnull (list);
  row = GTK_WIDGET (gtk_list_box_get_row_at_index (GTK_LIST_BOX (list), 0));
  g_assert_nonnull (row);
  id = bs_dataset_get_case_id (bs_session_get_dataset (s), 0);
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (row), id));
  name = bs_test_find_label (row, id, TRUE);
  g_assert_nonnull (name);
  g_assert_false (pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (name))));
  g_assert_cmpint (gtk_widget_get_width (name), >=, gtk_widget_get_width (row) - 24);

  /* a filter that matches nothing says so */
  {
    GtkWidget *filter = bs_test_find_widget (GTK_WIDGET (win), GTK_TYPE_SEARCH_ENTRY);
    GtkWidget *none;

    gtk_editable_set_text (GTK_EDITABLE (filter), "no-such-case-zzz");
    bs_test_spin (600);
    none = bs_test_find_label (list, "No case matches", TRUE);
    g_assert_nonnull (none);
    g_assert_true (gtk_widget_get_mapped (none));
    gtk_editable_set_text (GTK_EDITABLE (filter), "");
    bs_test_spin (600);
    g_assert_nonnull (gtk_list_box_get_row_at_index (GTK_LIST_BOX (list), 0));
  }
}

/* The RGB of pixel (x, y) of a view's surface, 0..255. */
static void
view_pixel (BsSliceView *view, int x, int y, int rgb[3])
{
  cairo_surface_t *s = bs_slice_view_get_surface (view);
  const guint8 *row;
  guint32 px;

  g_assert_nonnull (s);
  cairo_surface_flush (s);
  row = cairo_image_surface_get_data (s) + (gsize) y * cairo_image_surface_get_stride (s);
  px = ((const guint32 *) row)[x];
  rgb[0] = (px >> 16) & 0xff;
  rgb[1] = (px >> 8) & 0xff;
  rgb[2] = px & 0xff;
}

/* Issue 13 (window): the ground-truth pane shows the label's sub-regions,
 * edema, core and enhancing tumour, each in its colour. */
void
test_truth_regions (void)
{
  BsSession *s;
  const BsVolume *tc, *et, *wt;
  g_autoptr(GPtrArray) views = g_ptr_array_new ();
  g_autofree float *bt = NULL, *bc = NULL, *be = NULL;
  int w, h, slice = -1, ex = -1, ey = -1, dx = -1, dy = -1, n, rgb[3];

  if (!setup ())
    return;
  s = bs_window_get_session (win);
  wt = bs_session_get_truth (s);
  tc = bs_session_get_truth_region (s, BS_REGION_TC);
  et = bs_session_get_truth_region (s, BS_REGION_ET);
  if (wt == NULL || tc == NULL || et == NULL)
    {
      g_test_skip ("the sample's labels have no sub-regions");
      return;
    }
  bs_session_set_plane (s, BS_PLANE_AXIAL);
  n = bs_volume_n_slices (wt, BS_PLANE_AXIAL);
  bs_volume_slice_size (wt, BS_PLANE_AXIAL, &w, &h);
  bt = g_new (float, (gsize) w * h);
  bc = g_new (float, (gsize) w * h);
  be = g_new (float, (gsize) w * h);
  /* a slice with both an enhancing voxel and an edema-only voxel */
  for (int k = 0; k < n && slice < 0; k++)
    {
      ex = dx = -1;
      bs_volume_get_slice (wt, 0, BS_PLANE_AXIAL, k, bt);
      bs_volume_get_slice (tc, 0, BS_PLANE_AXIAL, k, bc);
      bs_volume_get_slice (et, 0, BS_PLANE_AXIAL, k, be);
      for (int p = 0; p < w * h; p++)
        {
          if (be[p] > 0.5f && ex < 0)
            ex = p % w, ey = p / w;
          if (bt[p] > 0.5f && bc[p] <= 0.5f && dx < 0)
            dx = p % w, dy = p / w;
        }
      if (ex >= 0 && dx >= 0)
        slice = k;
    }
  g_assert_cmpint (slice, >=, 0);
  bs_session_set_slice_index (s, slice);
  bs_test_spin (300);
  collect_widgets (GTK_WIDGET (win), BS_TYPE_SLICE_VIEW, views);
  g_assert_cmpuint (views->len, ==, 4);  /* MRI, truth, prediction, overlay */
  view_pixel (views->pdata[1], ex, ey, rgb);
  g_test_message ("enhancing voxel (%d, %d): %d %d %d", ex, ey, rgb[0], rgb[1], rgb[2]);
  g_assert_cmpint (rgb[0], >, rgb[1]);  /* reddish purple */
  g_assert_cmpint (rgb[2], >, rgb[1]);
  view_pixel (views->pdata[1], dx, dy, rgb);
  g_test_message ("edema voxel (%d, %d): %d %d %d", dx, dy, rgb[0], rgb[1], rgb[2]);
  g_assert_cmpint (rgb[1], >, rgb[0]);  /* bluish green */

  /* The slice bar marks the slices holding the region chosen for the chart
   * and overlay (walk finding: with ET chosen it marked the whole tumour's) */
  {
    BsSliceBar *bar = BS_SLICE_BAR (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_SLICE_BAR));
    const BsVolume *truths[BS_N_REGIONS] = { wt, tc, et };
    int marks[BS_N_REGIONS];

    for (int r = BS_N_REGIONS - 1; r >= 0; r--)
      {
        int expected = 0;

        bs_session_set_region (s, r);
        for (int k = 0; k < n; k++)
          expected += bs_test_slice_count (truths[r], 0, BS_PLANE_AXIAL, k) > 0;
        marks[r] = bs_slice_bar_get_n_marks (bar);
        g_test_message ("region %d: %d slices marked", r, marks[r]);
        g_assert_cmpint (marks[r], ==, expected);
      }
    g_assert_cmpint (marks[BS_REGION_ET], <, marks[BS_REGION_WT]);
  }
}

/* Issue 14, findings 7 and 15: + on Threads "All" stays at All (it jumped to
 * 1), − goes to the cores; the wheel over a spin button scrolls the panel and
 * never edits Threads or Batch. */
void
test_spin_buttons (void)
{
  g_autoptr(GPtrArray) spins = g_ptr_array_new ();
  GtkSpinButton *threads = NULL, *batch = NULL;
  BsPlanOptions opts;

  if (!setup ())
    return;
  collect_widgets (GTK_WIDGET (win), GTK_TYPE_SPIN_BUTTON, spins);
  for (guint i = 0; i < spins->len; i++)
    {
      const char *tip = gtk_widget_get_tooltip_text (spins->pdata[i]);
      if (tip && strstr (tip, "Threads"))
        threads = spins->pdata[i];
      else if (tip && strstr (tip, "Slices per run"))
        batch = spins->pdata[i];
    }
  g_assert_nonnull (threads);
  g_assert_nonnull (batch);
  /* finding 15: every optimisation control says what it does */
  {
    const char *labels[] = { "fp32", "int8", "bf16", "NCHW", "NHWC", "Blocked", "Reset view" };

    for (guint i = 0; i < G_N_ELEMENTS (labels); i++)
      {
        GtkWidget *b = bs_test_find_button (GTK_WIDGET (win), labels[i]);
        g_assert_nonnull (b);
        g_assert_nonnull (gtk_widget_get_tooltip_text (b));
      }
    g_assert_nonnull (gtk_widget_get_tooltip_text (bs_test_find_widget (GTK_WIDGET (win), GTK_TYPE_SWITCH)));
  }
  bs_plan_options_init (&opts);
  opts.threads = 0;
  opts.batch = 4;
  bs_session_set_plan_options (bs_window_get_session (win), &opts);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (threads)), ==, "All");
  gtk_spin_button_spin (threads, GTK_SPIN_STEP_FORWARD, 1);
  bs_session_get_plan_options (bs_window_get_session (win), &opts);
  g_assert_cmpint (opts.threads, ==, 0);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (threads)), ==, "All");
  gtk_spin_button_spin (threads, GTK_SPIN_STEP_BACKWARD, 1);
  bs_session_get_plan_options (bs_window_get_session (win), &opts);
  g_assert_cmpint (opts.threads, ==, bs_cpu_cores ());
  gtk_spin_button_spin (threads, GTK_SPIN_STEP_FORWARD, 1);
  bs_session_get_plan_options (bs_window_get_session (win), &opts);
  g_assert_cmpint (opts.threads, ==, 0);

  if (have_xdotool ())
    {
      graphene_point_t p;
      g_autofree char *cmd = NULL;
      int status = -1;

      gtk_window_present (GTK_WINDOW (win));
      bs_test_spin (200);
      if (gtk_widget_compute_point (GTK_WIDGET (batch), GTK_WIDGET (win), &GRAPHENE_POINT_INIT (10, 10), &p)
          && gtk_widget_get_mapped (GTK_WIDGET (batch)))
        {
          double sx, sy;

          gtk_native_get_surface_transform (GTK_NATIVE (win), &sx, &sy);
          cmd = g_strdup_printf ("xdotool search --name \"Brainseg$\" windowfocus --sync mousemove --window %%1 %d %d "
                                 "click 5 click 5 click 4", (int) (p.x + sx), (int) (p.y + sy));
          if (g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL) && g_spawn_check_wait_status (status, NULL))
            {
              bs_test_spin (400);
              bs_session_get_plan_options (bs_window_get_session (win), &opts);
              g_test_message ("after three wheel clicks over Batch: batch %d, threads %d", opts.batch, opts.threads);
              g_assert_cmpint (opts.batch, ==, 4);
              g_assert_cmpint (opts.threads, ==, 0);
            }
        }
    }
  bs_plan_options_init (&opts);
  bs_session_set_plan_options (bs_window_get_session (win), &opts);
}

/* A right-drag's window and level show in the MRI pane's title, in the
 * image's intensities; Home (reset view) takes them back to the automatic
 * ones and the title back to its name (walk finding: nothing said what the
 * contrast had been set to). */
void
test_window_level_shown (void)
{
  BsSession *s;
  BsSliceView *mri;
  BsOverlayOptions ov, back;
  float lo, hi;

  if (!setup ())
    return;
  s = bs_window_get_session (win);
  mri = BS_SLICE_VIEW (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_SLICE_VIEW));
  g_assert_nonnull (strstr (bs_slice_view_get_title (mri), "MRI input"));
  g_assert_null (strstr (bs_slice_view_get_title (mri), " W "));
  bs_session_get_auto_window (s, bs_session_get_display_channel (s), &lo, &hi);
  bs_session_get_overlay_options (s, &ov);
  back = ov;
  ov.lo = lo + 0.25 * (hi - lo);
  ov.hi = hi + 0.25 * (hi - lo);
  bs_session_set_overlay_options (s, &ov);
  bs_test_spin (100);
  {
    g_autofree char *want = NULL;
    double w = ov.hi - ov.lo, l = (ov.hi + ov.lo) / 2;

    want = fabs (w) >= 100 ? g_strdup_printf ("W %.0f L %.0f", w, l) : g_strdup_printf ("W %.3g L %.3g", w, l);
    g_test_message ("%s", bs_slice_view_get_title (mri));
    g_assert_true (g_str_has_suffix (bs_slice_view_get_title (mri), want));
  }
  g_action_group_activate_action (G_ACTION_GROUP (win), "reset-view", NULL);
  bs_test_spin (100);
  g_assert_null (strstr (bs_slice_view_get_title (mri), " W "));
  bs_session_set_overlay_options (s, &back);
}
