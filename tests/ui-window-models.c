/* test-ui-window, models and sessions: a failed start, a session that
 * outlives its window, the region model, mnemonics, recent files. */
#include "ui-window-tests.h"

static gboolean
not_busy (BsWindow *w)
{
  return !bs_session_is_busy (bs_window_get_session (w));
}

static gboolean
ready_with_prediction (BsWindow *w)
{
  return bs_session_is_ready (bs_window_get_session (w)) && bs_window_get_displayed_slice_index_of_prediction (w) == bs_session_get_slice_index (bs_window_get_session (w)) &&
         bs_window_get_displayed_slice_index_of_prediction (w) >= 0;
}

static const char *expected_case_id;

static gboolean
case_ready_with_prediction (BsWindow *w)
{
  const BsCase *c = bs_session_get_case (bs_window_get_session (w));

  return c != NULL && g_strcmp0 (c->id, expected_case_id) == 0 && ready_with_prediction (w);
}

/* Issue: a start-up on a mistyped path threw the model away with the data,
 * and every case opened afterwards ran on random weights.  Start on a path
 * that does not exist, then open a real case: the window's prediction must be
 * the shipped model's, slice for slice as the engine computes it. */

/* A second laptop-sized window of its own application whose start opens a
 * path that does not exist with the model given: the model loads, nothing
 * else is open. */
static BsWindow *
open_nothing_with_model (const char *model, GtkApplication **app)
{
  BsWindow *w;

  *app = GTK_APPLICATION (bs_application_new ());
  g_application_set_flags (G_APPLICATION (*app), G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (*app), NULL, NULL);
  w = bs_test_new_window (*app);
  gtk_window_set_default_size (GTK_WINDOW (w), 1366, 768);
  bs_window_open_with_model (w, "/nonexistent/typo-path", model);
  gtk_window_present (GTK_WINDOW (w));
  g_assert_true (bs_test_wait (w, not_busy, 60));
  bs_test_spin (200);
  return w;
}

void
test_failed_start_keeps_model (void)
{
  g_autofree char *sample = bs_test_sample_path ();
  g_autofree char *model_path = bs_unet_default_model_path ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BsUnet) shipped = NULL;
  g_autoptr(BsInferGeometry) geom = NULL;
  g_autoptr(BsPlan) plan = NULL;
  g_autofree float *input = NULL, *out = NULL, *expected = NULL, *shown = NULL;
  GtkApplication *app2;
  BsWindow *w2;
  const BsVolume *prepared;
  BsPlanOptions opts;
  int slice, w, h;
  double max_diff = 0.0;

  if (sample == NULL || model_path == NULL || !g_file_test (model_path, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("no sample or no shipped model");
      return;
    }
  w2 = open_nothing_with_model (model_path, &app2);
  g_assert_null (bs_session_get_case (bs_window_get_session (w2)));
  g_assert_cmpstr (bs_window_get_slice_text (w2), ==, "");  /* not "Axial 0 (0–0)" with nothing open */
  g_assert_nonnull (bs_session_get_model (bs_window_get_session (w2)));
  g_assert_cmpstr (bs_session_get_model (bs_window_get_session (w2))->path, ==, model_path);
  /* The Model button names the weights in use; its tooltip says what they predict. */
  {
    GtkWidget *label = bs_test_find_label (gtk_window_get_titlebar (GTK_WINDOW (w2)), "Model: brainseg-default", TRUE);
    GtkWidget *button;
    const char *tip;

    g_assert_nonnull (label);
    button = gtk_widget_get_ancestor (label, GTK_TYPE_BUTTON);
    g_assert_nonnull (button);
    tip = gtk_widget_get_tooltip_text (button);
    g_assert_nonnull (strstr (tip, model_path));
    g_assert_nonnull (strstr (tip, "whole tumour, tumour core, enhancing tumour"));
  }
  /* A file name's own underscores stay (the button's mnemonic took them),
   * ".hdf5" goes like ".h5", and a long name is shortened, not widening the
   * header bar (review finding). */
  {
    g_autofree char *tmp = g_dir_make_tmp ("bs-model-XXXXXX", NULL);
    g_autofree char *copy = g_build_filename (tmp, "my_unet_model_trained_on_all_twenty_one_cases.hdf5", NULL);
    g_autofree char *bytes = NULL;
    gsize len;
    BsWindow *w3;
    GtkApplication *app3;
    GtkWidget *label, *button;

    g_assert_true (g_file_get_contents (model_path, &bytes, &len, NULL));
    g_assert_true (g_file_set_contents (copy, bytes, (gssize) len, NULL));
    w3 = open_nothing_with_model (copy, &app3);
    g_assert_cmpstr (bs_session_get_model (bs_window_get_session (w3))->path, ==, copy);
    label = bs_test_find_label (gtk_window_get_titlebar (GTK_WINDOW (w3)),
                             "Model: my_unet_model_trained_on_all_twenty_one_cases", TRUE);
    g_assert_nonnull (label);
    g_assert_null (strstr (gtk_label_get_text (GTK_LABEL (label)), ".hdf5"));
    g_assert_cmpint (gtk_label_get_ellipsize (GTK_LABEL (label)), !=, PANGO_ELLIPSIZE_NONE);
    button = gtk_widget_get_ancestor (label, GTK_TYPE_BUTTON);
    g_assert_nonnull (button);
    /* shortened on screen: narrower than the whole name would be */
    {
      int nat = 0;
      PangoLayout *layout = gtk_widget_create_pango_layout (label, gtk_label_get_text (GTK_LABEL (label)));
      int full;

      pango_layout_get_pixel_size (layout, &full, NULL);
      g_object_unref (layout);
      gtk_widget_measure (button, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &nat, NULL, NULL);
      g_test_message ("Model button: %d px wide for a %d px name", nat, full);
      g_assert_cmpint (nat, <, full);
    }
    gtk_window_destroy (GTK_WINDOW (w3));
    bs_test_spin (100);
    g_object_unref (app3);
    g_unlink (copy);
    g_rmdir (tmp);
  }
  /* Issue 14, finding 17: nothing open, nothing to export or compare */
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (w2), "export-mask"));
  g_assert_false (g_action_group_get_action_enabled (G_ACTION_GROUP (w2), "compare-all"));
  /* walk finding: the empty case list says nothing is open, not that the (empty) filter hides everything */
  g_assert_null (bs_test_find_label (GTK_WIDGET (w2), "No case matches", TRUE));
  g_assert_nonnull (bs_test_find_label (GTK_WIDGET (w2), "No case open", TRUE));

  /* The Open dropdown (with Open Folder…) works before anything was opened. */
  {
    GtkWidget *filter = bs_test_find_widget (GTK_WIDGET (w2), GTK_TYPE_SEARCH_ENTRY);
    GtkWidget *dropdown = bs_test_find_widget (gtk_window_get_titlebar (GTK_WINDOW (w2)), GTK_TYPE_MENU_BUTTON);

    g_assert_nonnull (dropdown);
    g_assert_true (gtk_widget_is_sensitive (dropdown));
    /* as after typing in the filter: opening a dataset gives the keys back to the slices */
    gtk_widget_grab_focus (filter);
  }
  bs_window_open_path (w2, sample);
  g_assert_true (bs_test_wait (w2, ready_with_prediction, 300));
  g_assert_true (BS_IS_SLICE_VIEW (gtk_root_get_focus (GTK_ROOT (w2))));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (w2), "export-mask"));
  g_assert_true (g_action_group_get_action_enabled (G_ACTION_GROUP (w2), "compare-all"));
  g_assert_cmpstr (bs_session_get_model (bs_window_get_session (w2))->path, ==, model_path);

  /* The visible slice, recomputed here from the shipped file itself. */
  shipped = bs_unet_load_h5 (model_path, &error);
  g_assert_no_error (error);
  prepared = bs_session_get_prepared_volume (bs_window_get_session (w2));
  bs_session_get_plan_options (bs_window_get_session (w2), &opts);
  opts.batch = 1;
  geom = bs_infer_geometry_new_for_net (shipped, prepared, bs_session_get_plane (bs_window_get_session (w2)),
                                        opts.crop_to_brain);
  plan = bs_plan_new (shipped, geom->ph, geom->pw, &opts, NULL, &error);
  g_assert_no_error (error);
  slice = bs_session_get_slice_index (bs_window_get_session (w2));
  bs_volume_slice_size (prepared, bs_session_get_plane (bs_window_get_session (w2)), &w, &h);
  input = g_new (float, bs_infer_slice_floats (prepared, geom));
  out = g_new (float, (gsize) geom->ph * geom->pw * shipped->config.out_channels);
  expected = g_new0 (float, (gsize) w * h);
  shown = g_new (float, (gsize) w * h);
  if (geom->brain[slice])
    {
      bs_infer_fill_slice (prepared, geom, slice, input);
      g_assert_true (bs_plan_run (plan, input, 1, out, NULL, &error));
      g_assert_no_error (error);
      bs_infer_window_to_slice (geom, input, prepared->n_channels, out, expected);
    }
  bs_volume_get_slice (bs_session_get_probability_volume (bs_window_get_session (w2)), 0, bs_session_get_plane (bs_window_get_session (w2)), slice, shown);
  for (gsize i = 0; i < (gsize) w * h; i++)
    max_diff = MAX (max_diff, fabs (expected[i] - shown[i]));
  g_assert_cmpfloat (max_diff, <, 1e-4);
  g_assert_nonnull (bs_session_get_inputs_text (bs_window_get_session (w2)));
  g_assert_null (strstr (bs_session_get_inputs_text (bs_window_get_session (w2)), "missing"));

  /* In a window that never ran them, switching test-time flips on (one more
   * timing row, a longer plan line) moves no switch under the pointer. */
  {
    GtkWidget *compare = bs_test_find_button (GTK_WIDGET (w2), "Compare All…");
    double y0;

    g_assert_true (bs_test_wait (w2, not_busy, 300));
    bs_test_spin (300);
    y0 = y_of (compare);
    opts.batch = 4;
    opts.test_time_flips = TRUE;
    bs_session_set_plan_options (bs_window_get_session (w2), &opts);
    g_assert_true (bs_test_wait (w2, ready_with_prediction, 300));
    bs_test_spin (300);
    g_test_message ("Compare All at y %.0f with flips (%.0f without)", y_of (compare), y0);
    g_assert_cmpfloat (fabs (y_of (compare) - y0), <, 0.5);
    opts.test_time_flips = FALSE;
    bs_session_set_plan_options (bs_window_get_session (w2), &opts);
  }

  /* One file of a case, and a FLAIR scan alone. */
  {
    const char *samples = g_getenv ("BS_SAMPLES_DIR");
    g_autofree char *flair = samples ? g_build_filename (samples, "brats2017-2018", "Brats18_TCIA01_201_1",
                                                         "Brats18_TCIA01_201_1_flair.nii.gz", NULL) : NULL;

    if (flair != NULL && g_file_test (flair, G_FILE_TEST_EXISTS))
      {
        g_autofree char *tmp = g_dir_make_tmp ("bs-flair-XXXXXX", NULL);
        /* the modality comes from the name, as in every BraTS release */
        g_autofree char *alone = g_build_filename (tmp, "scan_flair.nii.gz", NULL);
        g_autofree char *bytes = NULL;
        gsize len = 0;

        /* Issue 14, finding 8: the FLAIR file of a BraTS case folder opens the
         * case, with every modality it has. */
        bs_window_open_path (w2, flair);
        expected_case_id = "Brats18_TCIA01_201_1";
        g_assert_true (bs_test_wait (w2, case_ready_with_prediction, 300));
        g_test_message ("%s", bs_session_get_inputs_text (bs_window_get_session (w2)));
        g_assert_cmpstr (bs_session_get_case (bs_window_get_session (w2))->id, ==, "Brats18_TCIA01_201_1");
        g_assert_cmpint (bs_session_get_case (bs_window_get_session (w2))->image->n_channels, ==, 4);
        g_assert_null (strstr (bs_session_get_inputs_text (bs_window_get_session (w2)), "missing"));
        g_assert_null (bs_dice_panel_get_missing_text (BS_DICE_PANEL (bs_test_find_widget (GTK_WIDGET (w2), BS_TYPE_DICE_PANEL))));

        /* A FLAIR scan on its own (a folder with one file) opens, and the window says what is missing. */
        g_assert_true (g_file_get_contents (flair, &bytes, &len, NULL));
        g_assert_true (g_file_set_contents (alone, bytes, len, NULL));
        bs_window_open_path (w2, alone);
        expected_case_id = "scan";   /* the name its file gives it, not the folder's */
        g_assert_true (bs_test_wait (w2, case_ready_with_prediction, 300));
        g_test_message ("%s", bs_session_get_inputs_text (bs_window_get_session (w2)));
        g_assert_nonnull (strstr (bs_session_get_inputs_text (bs_window_get_session (w2)), "missing: "));
        g_assert_nonnull (strstr (bs_session_get_inputs_text (bs_window_get_session (w2)), "T1gd"));
        /* walk finding: said beside the Dice too, not only in the timing panel */
        {
          const char *warning = bs_dice_panel_get_missing_text (
            BS_DICE_PANEL (bs_test_find_widget (GTK_WIDGET (w2), BS_TYPE_DICE_PANEL)));

          g_assert_nonnull (warning);
          g_test_message ("%s", warning);
          g_assert_nonnull (strstr (warning, "1 of 4"));
          g_assert_nonnull (strstr (warning, "T1w, T1gd, T2w"));
        }
        g_unlink (alone);
        g_rmdir (tmp);
      }
  }

  gtk_window_destroy (GTK_WINDOW (w2));
  bs_test_spin (100);
  g_object_unref (app2);
}

/* A session can outlive its window (an open still finishing holds it).  Its
 * properties back window actions (region, precision...): once the window is
 * gone, changing them must not reach the window's action group.  Before the
 * fix this raised "g_action_group_action_state_changed: assertion
 * 'G_IS_ACTION_GROUP (action_group)' failed" at the end of a test run. */
void
test_session_outlives_window (void)
{
  GtkApplication *app2;
  BsWindow *w2 = open_nothing_with_model (NULL, &app2);
  g_autoptr(BsSession) session = g_object_ref (bs_window_get_session (w2));
  BsPlanOptions opts;

  g_object_add_weak_pointer (G_OBJECT (w2), (gpointer *) &w2);
  gtk_window_destroy (GTK_WINDOW (w2));
  bs_test_spin (100);
  g_object_unref (app2);
  bs_test_spin (50);
  /* The window is gone; its session is not. */
  g_assert_null (w2);
  bs_session_set_region (session, BS_REGION_TC);
  bs_session_set_cleanup (session, !bs_session_get_cleanup_enabled (session));
  bs_session_get_plan_options (session, &opts);
  opts.test_time_flips = !opts.test_time_flips;
  opts.precision = opts.precision == BS_PRECISION_INT8 ? BS_PRECISION_FP32 : BS_PRECISION_INT8;
  bs_session_set_plan_options (session, &opts);
  bs_test_spin (50);
  /* (The assertion is that no critical fired: criticals are fatal here.) */
}

static gboolean
regions_measured (BsWindow *w)
{
  BsSession *s = bs_window_get_session (w);
  BsRegionMetrics m;

  return bs_session_model_has_region (s, BS_REGION_ET) && bs_session_volume_complete (s) && !bs_session_is_busy (s)
         && bs_session_get_region_metrics (s, BS_REGION_ET, &m);
}

/* Issue 13 (window), with a region model: the Dice table shows each
 * region's volume Dice and HD95 as the session measured them, every region
 * can be chosen, and the overlay then shows TP / FP / FN of that region
 * (exactly the rendering of the region's prediction against its truth, and
 * not the whole tumour's). */
void
test_region_model (void)
{
  g_autofree char *dir = g_dir_make_tmp ("bs-ui-regions-XXXXXX", NULL);
  g_autofree char *model = NULL, *sample = bs_test_sample_path ();
  g_autofree char *shipped = bs_unet_default_model_path ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) views = g_ptr_array_new ();
  BsSession *s;
  BsDicePanel *panel;
  BsOverlayOptions ov;
  int slice, w, h, differ = 0;

  if (!setup ())
    return;
  model = bs_test_region_model (dir, &error);
  g_assert_no_error (error);
  if (model == NULL || bs_session_get_truth_region (bs_window_get_session (win), BS_REGION_TC) == NULL)
    {
      g_test_skip ("no shipped model to derive a region model from, or no sub-region labels");
      g_rmdir (dir);
      return;
    }
  s = bs_window_get_session (win);
  bs_window_open_with_model (win, sample, model);
  g_assert_true (bs_test_wait (win, regions_measured, 600));
  panel = BS_DICE_PANEL (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_DICE_PANEL));
  bs_test_spin (200);
  for (int r = 0; r < BS_N_REGIONS; r++)
    {
      BsRegionMetrics m;
      g_autofree char *dice = NULL;

      g_assert_true (bs_session_get_region_metrics (s, r, &m));
      dice = g_strdup_printf ("%.4f", m.dice);
      g_test_message ("%s: table %s / %s / %s", bs_region_name (r), bs_dice_panel_get_region_text (panel, r, 0),
                      bs_dice_panel_get_region_text (panel, r, 1), bs_dice_panel_get_region_text (panel, r, 2));
      g_assert_cmpstr (bs_dice_panel_get_region_text (panel, r, 1), ==, dice);
      g_assert_nonnull (strstr (bs_dice_panel_get_region_text (panel, r, 2), "mm"));
      g_assert_true (bs_dice_panel_region_selectable (panel, r));
      /* walk finding: the volumes in ml, the truth's counted here */
      {
        const BsVolume *t = bs_session_get_truth_region (s, r);
        g_autofree char *ml = g_strdup_printf ("%.1f (%.1f)", m.volume_ml, m.true_volume_ml);
        guint64 on = 0;

        for (gsize v = 0; v < bs_volume_n_voxels (t); v++)
          on += t->data[v] > 0.5f;
        g_assert_cmpfloat_with_epsilon (m.true_volume_ml, on * t->spacing[0] * t->spacing[1] * t->spacing[2] / 1000.0, 1e-9);
        g_assert_cmpstr (bs_dice_panel_get_region_text (panel, r, 3), ==, ml);
      }
    }

  g_action_group_activate_action (G_ACTION_GROUP (win), "region", g_variant_new_int32 (BS_REGION_TC));
  g_assert_cmpint (bs_session_get_region (s), ==, BS_REGION_TC);
  g_action_group_activate_action (G_ACTION_GROUP (win), "view-mode", g_variant_new_string ("overlay"));
  bs_session_set_plane (s, BS_PLANE_AXIAL);
  slice = bs_test_tumour_slice (win);
  bs_session_set_slice_index (s, slice);
  bs_test_spin (400);
  /* The big figures follow the region chosen (walk finding: they stayed on
   * the whole tumour): the core's row, under a heading that names it. */
  g_test_message ("headline %s: %s / %s", bs_dice_panel_get_title_text (panel), bs_dice_panel_get_slice_text (panel),
                  bs_dice_panel_get_volume_text (panel));
  g_assert_nonnull (strstr (bs_dice_panel_get_title_text (panel), bs_region_label (BS_REGION_TC)));
  {
    /* the core's figure, and where the clean-up changed it, its raw one
     * beside it as the whole tumour's (walk finding) */
    BsRegionMetrics m;
    double raw;
    g_autofree char *want = NULL;

    g_assert_true (bs_session_get_region_metrics (s, BS_REGION_TC, &m));
    if (bs_session_get_region_raw_dice (s, BS_REGION_TC, &raw) && round (raw * 1e4) != round (m.dice * 1e4))
      want = g_strdup_printf ("%s (raw %.4f)", bs_dice_panel_get_region_text (panel, BS_REGION_TC, 1), raw);
    else
      want = g_strdup (bs_dice_panel_get_region_text (panel, BS_REGION_TC, 1));
    g_assert_cmpstr (bs_dice_panel_get_volume_text (panel), ==, want);
  }
  g_assert_false (g_str_has_prefix (bs_dice_panel_get_volume_text (panel),
                                    bs_dice_panel_get_region_text (panel, BS_REGION_WT, 1)));
  g_assert_cmpstr (bs_dice_panel_get_slice_text (panel), ==, bs_dice_panel_get_region_text (panel, BS_REGION_TC, 0));
  collect_widgets (GTK_WIDGET (win), BS_TYPE_SLICE_VIEW, views);
  bs_session_get_overlay_options (s, &ov);
  ov.confusion = TRUE;
  {
    const BsVolume *image = bs_session_get_case (s)->image;
    g_autofree float *img = NULL, *pred = NULL, *truth = NULL, *wt = NULL, *wt_truth = NULL;
    cairo_surface_t *want, *whole, *shown = bs_slice_view_get_surface (views->pdata[3]);

    bs_volume_slice_size (image, BS_PLANE_AXIAL, &w, &h);
    img = g_new (float, (gsize) w * h);
    pred = g_new (float, (gsize) w * h);
    truth = g_new (float, (gsize) w * h);
    wt = g_new (float, (gsize) w * h);
    wt_truth = g_new (float, (gsize) w * h);
    bs_volume_get_slice (image, bs_session_get_display_channel (s), BS_PLANE_AXIAL, slice, img);
    g_assert_true (bs_session_get_region_slice (s, BS_REGION_TC, BS_PLANE_AXIAL, slice, pred));
    g_assert_true (bs_session_get_region_slice (s, BS_REGION_WT, BS_PLANE_AXIAL, slice, wt));
    bs_volume_get_slice (bs_session_get_truth_region (s, BS_REGION_TC), 0, BS_PLANE_AXIAL, slice, truth);
    bs_volume_get_slice (bs_session_get_truth (s), 0, BS_PLANE_AXIAL, slice, wt_truth);
    want = bs_render_overlay (img, pred, truth, w, h, &ov);
    whole = bs_render_overlay (img, wt, wt_truth, w, h, &ov);
    cairo_surface_flush (shown);
    g_assert_cmpint (cairo_image_surface_get_width (shown), ==, w);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        {
          guint32 a = ((guint32 *) (cairo_image_surface_get_data (shown) + y * cairo_image_surface_get_stride (shown)))[x];
          guint32 b = ((guint32 *) (cairo_image_surface_get_data (want) + y * cairo_image_surface_get_stride (want)))[x];
          guint32 c = ((guint32 *) (cairo_image_surface_get_data (whole) + y * cairo_image_surface_get_stride (whole)))[x];

          g_assert_cmphex (a & 0xffffff, ==, b & 0xffffff);
          differ += (b & 0xffffff) != (c & 0xffffff);
        }
    g_test_message ("slice %d: the TC overlay differs from the whole tumour's in %d pixels", slice, differ);
    g_assert_cmpint (differ, >, 0);
    cairo_surface_destroy (want);
    cairo_surface_destroy (whole);
  }

  /* walk finding: a model without the chosen region (the whole-tumour one)
   * puts the switch back on the whole tumour, not on a greyed-out region
   * with an empty chart. */
  {
    g_autofree char *wt_model = bs_unet_shipped_model_path (BS_UNET_WT_MODEL);

    if (wt_model != NULL)
      {
        g_assert_cmpint (bs_session_get_region (s), ==, BS_REGION_TC);
        bs_window_open_with_model (win, sample, wt_model);
        /* Until the whole-tumour model is the session's and predicts. */
        for (int i = 0; i < 3000 && (g_strcmp0 (bs_session_get_model (s)->path, wt_model) != 0
                                     || !shows_current_prediction (win)); i++)
          bs_test_spin (100);
        g_assert_cmpstr (bs_session_get_model (s)->path, ==, wt_model);
        g_assert_false (bs_session_model_has_region (s, BS_REGION_TC));
        g_assert_cmpint (bs_session_get_region (s), ==, BS_REGION_WT);
      }
  }

  /* Back to the whole tumour and the shipped model for whatever runs next. */
  g_action_group_activate_action (G_ACTION_GROUP (win), "region", g_variant_new_int32 (BS_REGION_WT));
  g_action_group_activate_action (G_ACTION_GROUP (win), "view-mode", g_variant_new_string ("panes"));
  bs_window_open_with_model (win, sample, shipped);
  g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
  g_unlink (model);
  g_rmdir (dir);
}

/* Every mnemonic the window shows against the application's <Alt>
 * shortcuts: none may share a key (walk finding: Alt+O took turns between
 * the Open button and the outline, Alt+C focused Compare All instead of
 * showing the coronal plane). */
static void
collect_mnemonics (GtkWidget *root, GPtrArray *found)
{
  const char *label = NULL;

  /* a menu's own mnemonics work only while it is open */
  if (GTK_IS_POPOVER (root))
    return;
  if (GTK_IS_BUTTON (root) && gtk_button_get_use_underline (GTK_BUTTON (root)))
    label = gtk_button_get_label (GTK_BUTTON (root));
  else if (GTK_IS_MENU_BUTTON (root) && gtk_menu_button_get_use_underline (GTK_MENU_BUTTON (root)))
    label = gtk_menu_button_get_label (GTK_MENU_BUTTON (root));
  else if (GTK_IS_LABEL (root) && gtk_label_get_use_underline (GTK_LABEL (root)))
    label = gtk_label_get_label (GTK_LABEL (root));
  if (label != NULL && strchr (label, '_') != NULL)
    g_ptr_array_add (found, (gpointer) label);
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    collect_mnemonics (c, found);
}

void
test_mnemonics_clear_of_shortcuts (void)
{
  g_autoptr(GPtrArray) mnemonics = g_ptr_array_new ();
  g_auto(GStrv) actions = NULL;
  int alt_shortcuts = 0;

  if (!setup ())
    return;
  collect_mnemonics (GTK_WIDGET (win), mnemonics);
  g_assert_cmpuint (mnemonics->len, >, 0);
  actions = gtk_application_list_action_descriptions (GTK_APPLICATION (app));
  for (int a = 0; actions[a] != NULL; a++)
    {
      g_auto(GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), actions[a]);

      for (int k = 0; accels[k] != NULL; k++)
        {
          guint key;
          GdkModifierType mods;

          g_assert_true (gtk_accelerator_parse (accels[k], &key, &mods));
          if (mods != GDK_ALT_MASK)
            continue;
          alt_shortcuts++;
          for (guint m = 0; m < mnemonics->len; m++)
            {
              const char *u = strchr (mnemonics->pdata[m], '_');
              guint mkey = gdk_keyval_to_lower (gdk_unicode_to_keyval (g_utf8_get_char (u + 1)));

              if (mkey == gdk_keyval_to_lower (key))
                g_error ("the mnemonic of \"%s\" is %s's shortcut %s", (char *) mnemonics->pdata[m], actions[a], accels[k]);
            }
        }
    }
  g_test_message ("%u mnemonics, %d <Alt> shortcuts, no key shared", mnemonics->len, alt_shortcuts);
  g_assert_cmpint (alt_shortcuts, >, 0);
}

static gboolean
has_label_text (GtkWidget *root, const char *text)
{
  if (GTK_IS_LABEL (root) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (root)), text) == 0)
    return TRUE;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    if (has_label_text (c, text))
      return TRUE;
  return FALSE;
}

/* The Recent list shows a case's name as it is, underscores and all (walk
 * finding: the menu took them for mnemonics, "brats_2013_pat0001_1" read
 * "brats2013pat00011"). */
void
test_recent_names (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.brainseg.Brainseg");
  g_auto(GStrv) before = NULL;
  const char *paths[] = { "/data/brats_2013_pat0001_1", "/data/Brats18_TCIA01_201_1", NULL };
  GtkWidget *button = NULL;
  GtkPopover *popover;

  if (!setup ())
    return;
  before = g_settings_get_strv (settings, "recent-paths");
  g_settings_set_strv (settings, "recent-paths", paths);
  bs_test_spin (100);
  {
    g_autoptr(GPtrArray) buttons = g_ptr_array_new ();

    collect_widgets (GTK_WIDGET (win), GTK_TYPE_MENU_BUTTON, buttons);
    for (guint i = 0; i < buttons->len; i++)
      if (g_strcmp0 (gtk_widget_get_tooltip_text (buttons->pdata[i]), "Open a folder, or a file opened recently") == 0)
        button = buttons->pdata[i];
  }
  g_assert_nonnull (button);
  gtk_menu_button_popup (GTK_MENU_BUTTON (button));
  bs_test_spin (200);
  popover = gtk_menu_button_get_popover (GTK_MENU_BUTTON (button));
  g_assert_nonnull (popover);
  g_assert_true (has_label_text (GTK_WIDGET (popover), "brats_2013_pat0001_1"));
  g_assert_true (has_label_text (GTK_WIDGET (popover), "Brats18_TCIA01_201_1"));
  gtk_menu_button_popdown (GTK_MENU_BUTTON (button));
  g_settings_set_strv (settings, "recent-paths", (const char *const *) before);
}

/* The window remembers the options a user sets for its next start (walk
 * finding: the threads and the batch were remembered, the precision, the
 * layout and the outline were not), and the schema's defaults are the
 * engine's own. */
void
test_options_remembered (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.brainseg.Brainseg");
  BsPlanOptions before, set, dflt, read, got;
  BsOverlayOptions ov_dflt, ov_read, ov_got;
  GtkWidget *scale;
  BsWindow *second;
  BsSession *s;

  if (!setup ())
    return;
  /* the schema's defaults read back as bs_plan_options_init's */
  bs_test_reset_settings ();
  bs_plan_options_init (&dflt);
  bs_overlay_options_init (&ov_dflt);
  read = dflt;
  read.precision = BS_PRECISION_BF16;
  read.layout = BS_MEMLAYOUT_NCHW;
  read.fusion = read.crop_to_brain = read.three_planes = read.slice_parallel = FALSE;
  read.test_time_flips = read.calibrate_case = read.profile_layers = TRUE;
  read.threads = 3;
  read.batch = 8;
  ov_read = ov_dflt;
  ov_read.style = BS_OVERLAY_OUTLINE;
  ov_read.opacity = 0.9f;
  bs_settings_read_options (settings, &read, &ov_read);
  g_assert_cmpint (read.precision, ==, dflt.precision);
  g_assert_cmpint (read.layout, ==, dflt.layout);
  g_assert_cmpint (read.fusion, ==, dflt.fusion);
  g_assert_cmpint (read.crop_to_brain, ==, dflt.crop_to_brain);
  g_assert_cmpint (read.three_planes, ==, dflt.three_planes);
  g_assert_cmpint (read.slice_parallel, ==, dflt.slice_parallel);
  g_assert_cmpint (read.test_time_flips, ==, dflt.test_time_flips);
  g_assert_cmpint (read.calibrate_case, ==, dflt.calibrate_case);
  g_assert_cmpint (read.profile_layers, ==, dflt.profile_layers);
  g_assert_cmpint (read.threads, ==, dflt.threads);
  g_assert_cmpint (read.batch, ==, dflt.batch);
  g_assert_cmpint (ov_read.style, ==, ov_dflt.style);
  g_assert_cmpfloat_with_epsilon (ov_read.opacity, ov_dflt.opacity, 1e-6);

  /* what a user sets in this window, the next window starts with */
  s = bs_window_get_session (win);
  bs_session_get_plan_options (s, &before);
  set = before;
  set.precision = bs_precision_available (BS_PRECISION_INT8, NULL) ? BS_PRECISION_INT8 : BS_PRECISION_FP32;
  set.layout = BS_MEMLAYOUT_NHWC;
  set.fusion = !before.fusion;
  set.slice_parallel = !before.slice_parallel;
  set.crop_to_brain = !before.crop_to_brain;
  set.test_time_flips = !before.test_time_flips;
  set.three_planes = !before.three_planes;
  set.calibrate_case = !before.calibrate_case;
  set.batch = 4;
  set.threads = 1;
  bs_session_set_plan_options (s, &set);
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  g_action_group_change_action_state (G_ACTION_GROUP (win), "mask-outline", g_variant_new_boolean (TRUE));
  g_action_group_change_action_state (G_ACTION_GROUP (win), "mask-outline", g_variant_new_boolean (FALSE));
  scale = bs_test_find_widget (GTK_WIDGET (win), GTK_TYPE_SCALE);
  g_assert_nonnull (scale);
  gtk_range_set_value (GTK_RANGE (scale), 0.3);
  g_action_group_change_action_state (G_ACTION_GROUP (win), "mask-outline", g_variant_new_boolean (TRUE));
  bs_test_spin (100);

  second = bs_window_new (BS_APPLICATION (app));
  bs_session_get_plan_options (bs_window_get_session (second), &got);
  bs_session_get_overlay_options (bs_window_get_session (second), &ov_got);
  gtk_window_destroy (GTK_WINDOW (second));
  g_assert_cmpint (got.precision, ==, set.precision);
  g_assert_cmpint (got.layout, ==, set.layout);
  g_assert_cmpint (got.fusion, ==, set.fusion);
  g_assert_cmpint (got.slice_parallel, ==, set.slice_parallel);
  g_assert_cmpint (got.crop_to_brain, ==, set.crop_to_brain);
  g_assert_cmpint (got.test_time_flips, ==, set.test_time_flips);
  g_assert_cmpint (got.three_planes, ==, set.three_planes);
  g_assert_cmpint (got.calibrate_case, ==, set.calibrate_case);
  g_assert_cmpint (got.batch, ==, 4);
  g_assert_cmpint (got.threads, ==, 1);
  g_assert_cmpint (ov_got.style, ==, BS_OVERLAY_OUTLINE);
  g_assert_cmpfloat_with_epsilon (ov_got.opacity, 0.3, 1e-3);

  /* this window as it was */
  g_action_group_change_action_state (G_ACTION_GROUP (win), "mask-outline", g_variant_new_boolean (FALSE));
  gtk_range_set_value (GTK_RANGE (scale), ov_dflt.opacity);
  bs_session_set_plan_options (s, &before);
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  bs_test_spin (100);
  bs_test_reset_settings ();
}

static gboolean
can_edit (BsWindow *w)
{
  return bs_session_can_edit (bs_window_get_session (w), NULL);
}

/* The Prediction pane among the views: the slice view titled so. */
static BsSliceView *
prediction_view (void)
{
  g_autoptr(GPtrArray) views = g_ptr_array_new ();

  collect_widgets (GTK_WIDGET (win), BS_TYPE_SLICE_VIEW, views);
  for (guint i = 0; i < views->len; i++)
    if (g_str_has_prefix (bs_slice_view_get_title (views->pdata[i]), "Prediction"))
      return views->pdata[i];
  return NULL;
}

/* The correction brush in the window: greyed until the volume is done, then
 * win.brush turns the Prediction pane's left drag into strokes of the
 * session's, win.undo-edit takes one back, and clicking the brush in use puts
 * it away (the drag pans again). */
void
test_corrections_in_window (void)
{
  BsSession *s;
  BsSliceView *pred;
  GAction *brush, *undo;
  double radius = 0;

  if (!setup ())
    return;
  s = bs_window_get_session (win);
  brush = g_action_map_lookup_action (G_ACTION_MAP (win), "brush");
  undo = g_action_map_lookup_action (G_ACTION_MAP (win), "undo-edit");
  g_assert_nonnull (brush);
  g_assert_nonnull (undo);
  g_action_group_activate_action (G_ACTION_GROUP (win), "resume-fill", NULL);
  g_assert_true (bs_test_wait (win, can_edit, 600));
  bs_test_spin (100);
  g_assert_true (g_action_get_enabled (brush));
  g_assert_false (g_action_get_enabled (undo));
  pred = prediction_view ();
  g_assert_nonnull (pred);
  g_assert_false (bs_slice_view_get_painting (pred));
  g_action_group_activate_action (G_ACTION_GROUP (win), "brush", g_variant_new_string ("paint"));
  g_assert_true (bs_slice_view_get_painting (pred));
  g_assert_cmpint (bs_slice_views_get_brush (BS_SLICE_VIEWS (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_SLICE_VIEWS)),
                                             &radius), ==, 1);
  g_assert_cmpfloat (radius, >, 0);
  g_signal_emit_by_name (pred, "paint", 0, 3.0, 3.0);
  g_signal_emit_by_name (pred, "paint", 1, 3.0, 3.0);
  g_signal_emit_by_name (pred, "paint", 1, 9.0, 3.0);
  g_signal_emit_by_name (pred, "paint", 2, 9.0, 3.0);
  g_assert_cmpint (bs_session_get_n_edits (s, NULL), ==, 1);
  bs_test_spin (100);
  g_assert_true (g_action_get_enabled (undo));
  g_action_group_activate_action (G_ACTION_GROUP (win), "undo-edit", NULL);
  g_assert_cmpint (bs_session_get_n_edits (s, NULL), ==, 0);

  /* A real drag from the X server across the middle of the pane: one
   * stroke, and the view did not pan (the brush holds the left drag). */
  {
    g_autofree char *path = g_find_program_in_path ("xdotool");
    BsViewTransform t0, t1;
    graphene_point_t a, b;
    double sx = 0, sy = 0;
    int status = -1;

    if (path != NULL && g_getenv ("DISPLAY") != NULL)
      {
        g_autofree char *cmd = NULL;

        /* an earlier test's error dialogs (modal) would take the drag */
        {
          GListModel *tops = gtk_window_get_toplevels ();

          for (guint i = g_list_model_get_n_items (tops); i-- > 0;)
            {
              g_autoptr(GtkWindow) w = g_list_model_get_item (tops, i);

              if (w != GTK_WINDOW (win) && gtk_window_get_transient_for (w) == GTK_WINDOW (win))
                gtk_window_destroy (w);
            }
        }
        gtk_window_present (GTK_WINDOW (win));
        bs_test_spin (300);
        bs_slice_view_get_transform (pred, &t0);
        g_assert_true (gtk_widget_compute_point (GTK_WIDGET (pred), GTK_WIDGET (win),
                                                 &GRAPHENE_POINT_INIT (gtk_widget_get_width (GTK_WIDGET (pred)) * 0.2,
                                                                       gtk_widget_get_height (GTK_WIDGET (pred)) * 0.5), &a));
        g_assert_true (gtk_widget_compute_point (GTK_WIDGET (pred), GTK_WIDGET (win),
                                                 &GRAPHENE_POINT_INIT (gtk_widget_get_width (GTK_WIDGET (pred)) * 0.8,
                                                                       gtk_widget_get_height (GTK_WIDGET (pred)) * 0.5), &b));
        gtk_native_get_surface_transform (GTK_NATIVE (win), &sx, &sy);
        /* this window by its whole title, raised: an earlier test's window
         * (also "… Brainseg") may still be above it */
        g_autofree char *title = g_regex_escape_string (gtk_window_get_title (GTK_WINDOW (win)), -1);
        cmd = g_strdup_printf ("xdotool search --name \"^%s$\" windowraise windowfocus --sync "
                               "mousemove --window %%1 %d %d "
                               "mousedown 1 sleep 0.1 mousemove --window %%1 %d %d sleep 0.1 mousemove --window %%1 %d %d "
                               "sleep 0.1 mouseup 1", title, (int) (a.x + sx), (int) (a.y + sy),
                               (int) ((a.x + b.x) / 2 + sx), (int) (a.y + sy), (int) (b.x + sx), (int) (b.y + sy));
        g_test_message ("drag from %.0f,%.0f to %.0f,%.0f (surface %.0f,%.0f); pane mapped %d, zoom %.2f pan %.1f,%.1f, "
                        "plane %d slice %d", a.x, a.y, b.x, b.y, sx, sy, gtk_widget_get_mapped (GTK_WIDGET (pred)),
                        t0.zoom, t0.pan_x, t0.pan_y, bs_session_get_plane (s), bs_session_get_slice_index (s));
        if (g_spawn_command_line_sync (cmd, NULL, NULL, &status, NULL) && g_spawn_check_wait_status (status, NULL))
          {
            bs_test_spin (400);
            bs_slice_view_get_transform (pred, &t1);
            g_test_message ("a real drag: %d stroke(s)", bs_session_get_n_edits (s, NULL));
            g_assert_cmpint (bs_session_get_n_edits (s, NULL), ==, 1);
            g_assert_cmpfloat (t1.pan_x, ==, t0.pan_x);
            g_assert_cmpfloat (t1.pan_y, ==, t0.pan_y);
            /* Ctrl+Z in the case filter is the entry's; over the views, the stroke's */
            {
              GtkWidget *filter = bs_test_find_widget (GTK_WIDGET (win), GTK_TYPE_SEARCH_ENTRY);
              g_autofree char *keys = g_strdup_printf ("xdotool search --name \"^%s$\" windowfocus --sync key ctrl+z",
                                                       title);

              g_assert_nonnull (filter);
              gtk_widget_grab_focus (filter);
              bs_test_spin (200);
              g_assert_true (g_spawn_command_line_sync (keys, NULL, NULL, &status, NULL));
              bs_test_spin (300);
              g_assert_cmpint (bs_session_get_n_edits (s, NULL), ==, 1);
              gtk_widget_grab_focus (GTK_WIDGET (pred));
              bs_test_spin (200);
              g_assert_true (g_spawn_command_line_sync (keys, NULL, NULL, &status, NULL));
              bs_test_spin (300);
              g_assert_cmpint (bs_session_get_n_edits (s, NULL), ==, 0);
            }
          }
      }
  }
  /* Switching the clean-up puts the network's mask back: the status line
   * says so, once the new work has started (it would have replaced it). */
  g_signal_emit_by_name (pred, "paint", 0, 3.0, 3.0);
  g_signal_emit_by_name (pred, "paint", 1, 9.0, 3.0);
  g_signal_emit_by_name (pred, "paint", 2, 9.0, 3.0);
  g_assert_cmpint (bs_session_get_n_edits (s, NULL), ==, 1);
  g_action_group_activate_action (G_ACTION_GROUP (win), "cleanup", NULL);
  bs_test_spin (200);
  g_assert_cmpint (bs_session_get_n_edits (s, NULL), ==, 0);
  {
    GtkWidget *row = bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_PROGRESS_ROW);

    g_assert_nonnull (row);
    /* (behind the status line's activity while the volume is counted again: a slower machine) */
    for (int k = 0; k < 200 && bs_test_find_label (row, "1 correction undone: the prediction changed", TRUE) == NULL; k++)
      bs_test_spin (50);
    g_assert_nonnull (bs_test_find_label (row, "1 correction undone: the prediction changed", TRUE));
  }
  g_action_group_activate_action (G_ACTION_GROUP (win), "cleanup", NULL);
  bs_test_spin (100);
  g_action_group_activate_action (G_ACTION_GROUP (win), "brush", g_variant_new_string ("paint"));
  g_assert_false (bs_slice_view_get_painting (pred));
  bs_test_spin (100);
}
