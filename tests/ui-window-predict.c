/* test-ui-window, what the window predicts: its probabilities and Dice
 * against the engine's, the clean-up, the toggles, lanes, test-time flips
 * and planes. */
#include "ui-window-tests.h"

/* The slice's probabilities as the window holds them. */
static float *
window_probs (int slice, int *w, int *h)
{
  const BsVolume *prob = bs_session_get_probability_volume (bs_window_get_session (win));
  float *buf;

  bs_volume_slice_size (prob, bs_session_get_plane (bs_window_get_session (win)), w, h);
  buf = g_new (float, (gsize) *w * *h);
  bs_volume_get_slice (prob, 0, bs_session_get_plane (bs_window_get_session (win)), slice, buf);
  return buf;
}

/* The same slice run through a fresh plan in this thread. */
static float *
engine_probs (int slice, const BsPlanOptions *opts)
{
  const BsVolume *prepared = bs_session_get_prepared_volume (bs_window_get_session (win));
  BsPlane plane = bs_session_get_plane (bs_window_get_session (win));
  g_autoptr(GError) error = NULL;
  g_autoptr(BsPlan) plan = NULL;
  g_autofree float *input = NULL, *out = NULL;
  BsPlanOptions o = *opts;
  int ph, pw, w, h;
  float *probs;

  o.batch = 1;
  o.precision = BS_PRECISION_FP32;
  g_autoptr(BsInferGeometry) geom = bs_infer_geometry_new_for_net (bs_session_get_model (bs_window_get_session (win)),
                                                                   prepared, plane, opts->crop_to_brain);
  int n_slabs = 0;
  BsInferGeometry **slabs = bs_segment_slabs (geom, NULL, opts->precision, &n_slabs);

  /* the window of the slab the slice is in, as the session and bs_segment run it */
  for (int i = 0; i < n_slabs; i++)
    {
      if (slabs[i]->brain[slice])
        {
          bs_infer_geometry_free (geom);
          geom = g_steal_pointer (&slabs[i]);
        }
      bs_infer_geometry_free (slabs[i]);
    }
  g_free (slabs);
  ph = geom->ph;
  pw = geom->pw;
  bs_volume_slice_size (prepared, plane, &w, &h);
  plan = bs_plan_new (bs_session_get_model (bs_window_get_session (win)), ph, pw, &o, NULL, &error);
  g_assert_no_error (error);
  input = g_new (float, bs_infer_slice_floats (prepared, geom));
  /* Every output of the model; the whole tumour is the first. */
  out = g_new (float, (gsize) ph * pw * bs_session_get_model (bs_window_get_session (win))->config.out_channels);
  bs_infer_fill_slice (prepared, geom, slice, input);
  g_assert_true (bs_plan_run (plan, input, 1, out, NULL, &error));
  g_assert_no_error (error);
  probs = g_new (float, (gsize) w * h);
  if (geom->brain[slice])
    bs_infer_window_to_slice (geom, input, prepared->n_channels, out, probs);
  else
    memset (probs, 0, (gsize) w * h * sizeof (float));
  return probs;
}

static double
mask_agreement (const float *a, const float *b, gsize n)
{
  gsize same = 0;

  for (gsize i = 0; i < n; i++)
    same += (a[i] > 0.5f) == (b[i] > 0.5f);
  return (double) same / n;
}

/* Agreement over the pixels the fp32 reference is sure about (|logit| > 0.5):
 * untrained weights leave most pixels near 0.5, where any rounding flips them. */
static double
confident_agreement (const float *a, const float *ref, gsize n)
{
  gsize same = 0, confident = 0;

  for (gsize i = 0; i < n; i++)
    if (fabsf (ref[i] - 0.5f) > 0.1225f)
      {
        confident++;
        same += (a[i] > 0.5f) == (ref[i] > 0.5f);
      }
  return confident > 0 ? (double) same / confident : 1.0;
}

void
test_slice_dice (void)
{
  const BsVolume *truth;
  g_autofree float *probs = NULL, *t = NULL;
  int slice, w, h;
  double shown, expected;

  if (!setup ())
    return;
  truth = bs_session_get_truth (bs_window_get_session (win));
  if (truth == NULL)
    {
      g_test_skip ("the sample has no ground truth");
      return;
    }
  slice = bs_test_tumour_slice (win);
  g_assert_cmpint (slice, >=, 0);
  bs_session_set_slice_index (bs_window_get_session (win), slice);
  g_assert_true (bs_test_wait (win, shows_current_prediction, 300));

  probs = window_probs (slice, &w, &h);
  t = g_new (float, (gsize) w * h);
  bs_volume_get_slice (truth, 0, bs_session_get_plane (bs_window_get_session (win)), slice, t);
  expected = bs_dice (probs, t, (gsize) w * h);
  shown = bs_window_get_displayed_slice_dice (win);
  g_test_message ("slice %d: Dice shown %.6f, engine %.6f", slice, shown, expected);
  g_assert_false (isnan (shown));
  g_assert_cmpfloat_with_epsilon (shown, expected, 1e-12);
}


static gboolean
slice_dice_shown (BsWindow *w)
{
  return !bs_session_is_busy (bs_window_get_session (w)) && !isnan (bs_window_get_displayed_slice_dice (w));
}

static gsize
tumour_voxels (const BsVolume *prob)
{
  gsize n = 0;
  for (gsize v = 0; v < bs_volume_n_voxels (prob); v++)
    n += prob->data[v] > 0.5f;
  return n;
}

/* Voxels of the session's tumour-core channel above 0.5 (0 without one). */
static gsize
core_voxels (BsSession *s)
{
  const BsVolume *prob = bs_session_get_probability_volume (s);
  int c = bs_session_get_model (s) != NULL ? bs_unet_output_index (bs_session_get_model (s), "tc") : -1;
  gsize n = 0;

  if (c < 0)
    return 0;
  for (gsize v = 0; v < bs_volume_n_voxels (prob); v++)
    n += bs_volume_channel (prob, c)[v] > 0.5f;
  return n;
}

/* Once the volume is done the islands go; switching the clean-up off brings
 * them back without new inference, and on again removes the same voxels.
 * What stays is exactly the engine's clean-up of the raw mask. */
void
test_cleanup (void)
{
  const BsVolume *prob;
  g_autoptr(BsVolume) expected = NULL;
  BsCleanupStats st, again;
  gsize cleaned, raw, core_cleaned;
  guint generation;

  if (!setup ())
    return;
  bs_session_set_cleanup (bs_window_get_session (win), TRUE);
  g_action_group_activate_action (G_ACTION_GROUP (win), "resume-fill", NULL);
  g_assert_true (bs_test_wait (win, volume_done, 600));
  bs_test_spin (50);
  g_assert_true (bs_session_get_cleanup (bs_window_get_session (win), &st));
  generation = bs_session_get_generation (bs_window_get_session (win));
  prob = bs_session_get_probability_volume (bs_window_get_session (win));
  cleaned = tumour_voxels (prob);
  core_cleaned = core_voxels (bs_window_get_session (win));
  g_test_message ("clean-up: %d components, %d kept, %" G_GUINT64_FORMAT " voxels removed, %" G_GUINT64_FORMAT
                  " core voxels filled, %" G_GUINT64_FORMAT " trimmed", st.n_components, st.n_kept, st.removed,
                  st.core_filled, st.core_trimmed);
  {
    /* the status line says what the clean-up did, the core's filling too */
    GtkWidget *row = bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_PROGRESS_ROW);
    const char *status = gtk_label_get_text (GTK_LABEL (bs_test_find_widget (row, GTK_TYPE_LABEL)));

    g_test_message ("status: %s", status);
    g_assert_true ((strstr (status, " filled") != NULL) == (st.core_filled > 0));
    g_assert_true ((strstr (status, " trimmed") != NULL) == (st.core_trimmed > 0));
    g_assert_true ((strstr (status, "core: ") != NULL) == (st.core_filled > 0 || st.core_trimmed > 0));
    g_assert_true ((strstr (status, "removed") != NULL) == (st.removed > 0));
  }

  bs_session_set_cleanup (bs_window_get_session (win), FALSE);
  g_assert_false (bs_session_get_cleanup (bs_window_get_session (win), NULL));
  g_assert_cmpuint (bs_session_get_generation (bs_window_get_session (win)), ==, generation);  /* no new inference */
  raw = tumour_voxels (prob);
  g_assert_cmpuint (raw, ==, cleaned + st.removed);
  /* the core's filled holes go with it, and the core trimmed away from the
   * enhancing rim comes back, and only they */
  g_assert_cmpuint (core_voxels (bs_window_get_session (win)), ==, core_cleaned - st.core_filled + st.core_trimmed);

  expected = bs_volume_new_like (prob, 1);
  memcpy (expected->data, prob->data, bs_volume_n_voxels (prob) * sizeof (float));
  g_assert_true (bs_volume_remove_islands (expected, BS_CLEANUP_MIN_FRACTION, NULL));

  bs_session_set_cleanup (bs_window_get_session (win), TRUE);
  g_assert_true (bs_session_is_busy (bs_window_get_session (win)));  /* the clean-up runs off the main thread */
  /* Walk finding: while it runs the whole tumour's slice Dice waits, and the
   * core's and enhancing tumour's wait with it (they showed the figures of the
   * mask before the clean-up). */
  if (bs_session_get_truth_region (bs_window_get_session (win), BS_REGION_TC) != NULL
      && bs_session_model_has_region (bs_window_get_session (win), BS_REGION_TC))
    {
      BsDicePanel *panel = BS_DICE_PANEL (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_DICE_PANEL));

      g_assert_cmpstr (bs_dice_panel_get_region_text (panel, BS_REGION_WT, 0), ==, "…");
      g_assert_cmpstr (bs_dice_panel_get_region_text (panel, BS_REGION_TC, 0), ==, "…");
      g_assert_cmpstr (bs_dice_panel_get_region_text (panel, BS_REGION_ET, 0), ==, "…");
    }
  g_assert_true (bs_test_wait (win, volume_done, 60));
  g_assert_true (bs_session_get_cleanup (bs_window_get_session (win), &again));
  g_assert_cmpuint (again.removed, ==, st.removed);
  g_assert_cmpuint (again.core_filled, ==, st.core_filled);
  g_assert_cmpuint (again.core_trimmed, ==, st.core_trimmed);
  g_assert_cmpuint (core_voxels (bs_window_get_session (win)), ==, core_cleaned);
  {
    /* The window's core, voxel for voxel, is the pipeline's on the network's
     * own probabilities (bs_segment_finish, as infer makes it). */
    BsSession *s = bs_window_get_session (win);
    int c = bs_session_get_model (s) != NULL ? bs_unet_output_index (bs_session_get_model (s), "tc") : -1;
    g_autoptr(BsSegmentResult) r = g_new0 (BsSegmentResult, 1);
    g_autoptr(BsVolume) raw_prob = bs_session_copy_network_probabilities (s);
    gsize nvox = bs_volume_n_voxels (prob), differ = 0;

    g_assert_nonnull (raw_prob);
    g_assert_cmpuint (tumour_voxels (raw_prob), ==, raw);
    r->prob = raw_prob;
    g_assert_true (bs_segment_finish (r, NULL, bs_session_get_net_plane (s), NULL, TRUE, NULL));
    r->prob = NULL;
    g_assert_cmpuint (r->cleanup.core_filled, ==, st.core_filled);
    g_assert_cmpuint (r->cleanup.core_trimmed, ==, st.core_trimmed);
    if (c > 0)
      for (gsize v = 0; v < nvox; v++)
        differ += (r->region_mask[BS_REGION_TC]->data[v] > 0.5f)
                  != (bs_volume_channel (prob, c)[v] > 0.5f && prob->data[v] > 0.5f);
    g_assert_cmpuint (differ, ==, 0);
    /* The core's Dice before the clean-up, beside the cleaned one: the
     * network's own core (in its own whole tumour) against the truth. */
    if (c > 0 && bs_session_get_truth_region (s, BS_REGION_TC) != NULL)
      {
        const BsVolume *t = bs_session_get_truth_region (s, BS_REGION_TC);
        g_autofree float *own = g_new (float, nvox);
        double shown;

        for (gsize v = 0; v < nvox; v++)
          own[v] = bs_volume_channel (raw_prob, c)[v] > 0.5f && raw_prob->data[v] > 0.5f;
        g_assert_true (bs_session_get_region_raw_dice (s, BS_REGION_TC, &shown));
        g_assert_cmpfloat_with_epsilon (shown, bs_dice (own, t->data, nvox), 1e-12);
        g_test_message ("core Dice before the clean-up %.4f", shown);
      }
  }
  g_assert_cmpint (memcmp (expected->data, prob->data, bs_volume_n_voxels (prob) * sizeof (float)), ==, 0);
  if (bs_session_get_truth (bs_window_get_session (win)) != NULL)
    {
      /* the per-slice Dice follows the cleaned mask */
      int slice = bs_session_get_slice_index (bs_window_get_session (win));
      g_autofree float *p = NULL, *t = NULL;
      int w, h;

      bs_test_spin (100);
      p = window_probs (slice, &w, &h);
      t = g_new (float, (gsize) w * h);
      bs_volume_get_slice (bs_session_get_truth (bs_window_get_session (win)), 0, bs_session_get_plane (bs_window_get_session (win)), slice, t);
      g_assert_cmpfloat_with_epsilon (bs_window_get_displayed_slice_dice (win), bs_dice (p, t, (gsize) w * h), 1e-12);
    }
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
}

void
test_rapid_slice_changes (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261121);
  int n, final_slice = 0, w, h;
  BsPlanOptions opts;
  g_autofree float *shown = NULL, *expected = NULL;
  guint generation_before;

  if (!setup ())
    return;
  n = bs_volume_n_slices (bs_session_get_prepared_volume (bs_window_get_session (win)), bs_session_get_plane (bs_window_get_session (win)));
  bs_session_get_plan_options (bs_window_get_session (win), &opts);
  generation_before = bs_session_get_generation (bs_window_get_session (win));
  for (int i = 0; i < 300; i++)
    {
      final_slice = g_rand_int_range (rand, 0, n);
      bs_session_set_slice_index (bs_window_get_session (win), final_slice);
      /* Halfway, change options: every result in flight becomes stale. */
      if (i == 150)
        {
          opts.fusion = !opts.fusion;
          bs_session_set_plan_options (bs_window_get_session (win), &opts);
        }
      g_main_context_iteration (NULL, FALSE);
      /* Whatever is shown is the prediction of the slice it claims to be. */
      g_assert_true (bs_window_get_displayed_slice_index_of_prediction (win) < 0 ||
                     bs_session_slice_is_computed (bs_window_get_session (win), bs_window_get_displayed_slice_index_of_prediction (win)));
    }
  g_assert_cmpuint (bs_session_get_generation (bs_window_get_session (win)), >, generation_before);
  g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  g_assert_cmpint (bs_window_get_displayed_slice_index_of_prediction (win), ==, final_slice);

  shown = window_probs (final_slice, &w, &h);
  expected = engine_probs (final_slice, &opts);
  {
    double agree = mask_agreement (shown, expected, (gsize) w * h);
    double max_diff = 0;

    for (gsize i = 0; i < (gsize) w * h; i++)
      max_diff = MAX (max_diff, fabs (shown[i] - expected[i]));
    g_test_message ("final slice %d: mask agreement %.6f, max |p - p_engine| %.2e", final_slice, agree, max_diff);
    g_assert_cmpfloat (max_diff, <, 1e-3);
  }
}

static gboolean
passes_running (BsWindow *w)
{
  BsSession *s = bs_window_get_session (w);

  return bs_session_planes_pending (s, NULL, NULL) && bs_session_is_busy (s);
}

static gboolean
stopped_and_measured (BsWindow *w)
{
  BsSession *s = bs_window_get_session (w);
  BsRegionMetrics m;

  return !bs_session_is_busy (s) && bs_session_get_region_metrics (s, BS_REGION_WT, &m);
}

/* Walk findings: during the three-plane passes the volume Dice of the axial
 * slices is the raw one (the clean-up waits for the mean), and it said only
 * "(axial only)", which overstated what three planes buy; stopped during the
 * passes, the table stayed "…" for good. */
/* The window's Dice panel, once the sample's volume is predicted again with
 * the clean-up on and three planes as asked (threads > 0: that many); NULL
 * (the test skipped) when the sample has no ground truth. */
static BsDicePanel *
panel_for_new_run (gboolean three_planes, int threads)
{
  BsSession *s;
  BsPlanOptions opts;

  if (!setup ())
    return NULL;
  s = bs_window_get_session (win);
  if (bs_session_get_truth (s) == NULL)
    {
      g_test_skip ("the sample has no ground truth");
      return NULL;
    }
  bs_session_set_cleanup (s, TRUE);
  bs_session_get_plan_options (s, &opts);
  opts.three_planes = three_planes;
  if (threads > 0)
    opts.threads = threads;
  opts.batch = opts.batch == 1 ? 2 : 1;   /* a new run */
  bs_session_set_plan_options (s, &opts);
  g_action_group_activate_action (G_ACTION_GROUP (win), "resume-fill", NULL);
  return BS_DICE_PANEL (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_DICE_PANEL));
}

void
test_axial_only_label (void)
{
  BsDicePanel *panel = panel_for_new_run (TRUE, 1);
  BsSession *s;

  if (panel == NULL)
    return;
  s = bs_window_get_session (win);
  g_assert_true (bs_test_wait (win, passes_running, 300));
  g_test_message ("during the passes: %s", bs_dice_panel_get_volume_text (panel));
  g_assert_true (g_str_has_suffix (bs_dice_panel_get_volume_text (panel), "(axial only, raw)"));
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  g_assert_true (bs_test_wait (win, stopped_and_measured, 120));
  bs_test_spin (100);
  g_test_message ("stopped: %s; WT volume Dice %s", bs_dice_panel_get_volume_text (panel),
                  bs_dice_panel_get_region_text (panel, BS_REGION_WT, 1));
  g_assert_true (g_str_has_suffix (bs_dice_panel_get_volume_text (panel), "(axial only)"));
  g_assert_cmpstr (bs_dice_panel_get_region_text (panel, BS_REGION_WT, 1), !=, "…");
  g_assert_true (bs_session_planes_pending (s, NULL, NULL));
}

/* The volume Dice's text against the clean-up's own count. */
static void
check_raw_text (BsSession *s, BsDicePanel *panel)
{
  BsCleanupStats st;
  BsConfusion c, raw;
  const char *text = bs_dice_panel_get_volume_text (panel);

  g_assert_true (bs_session_get_cleanup (s, &st));
  bs_session_get_volume_confusion (s, &c, &raw);
  g_test_message ("%s: %s; clean-up removed %" G_GUINT64_FORMAT " voxels", bs_session_get_case (s)->id, text,
                  st.removed);
  if (round (bs_confusion_dice (&c) * 1e4) == round (bs_confusion_dice (&raw) * 1e4))
    {
      const char *tip = gtk_widget_get_tooltip_text (bs_test_find_label (GTK_WIDGET (panel), text, FALSE));

      g_assert_null (strstr (text, "raw"));
      g_assert_nonnull (tip);
      g_test_message ("tooltip: %s", tip);
      g_assert_nonnull (strstr (tip, st.removed == 0 ? "found nothing to remove" : "the same to four decimals"));
    }
  else
    g_assert_nonnull (strstr (text, "(raw "));
  /* the raw value only where it differs in what is shown */
  if (strstr (text, "(raw ") != NULL)
    {
      g_auto(GStrv) parts = g_strsplit_set (text, " ()", -1);

      g_assert_cmpstr (parts[0], !=, parts[3]);
    }
}

static gboolean
real_case_measured (BsWindow *w)
{
  BsSession *s = bs_window_get_session (w);

  return bs_session_get_case (s) != NULL && g_str_equal (bs_session_get_case (s)->id, "Brats18_TCIA01_201_1")
         && !bs_session_is_loading (s) && stopped_and_measured (w);
}

/* Walk finding: "0.9648 (raw 0.9648)" on Brats18_TCIA01_201_1 read as if
 * the island clean-up had removed nothing (it removed a few voxels, which
 * moved the Dice less than its fourth decimal).  The raw value shows only
 * where it differs in what is shown; else the panel says how many voxels
 * went, or that there was nothing to remove, with the clean-up's own count
 * as the judge (the sample and that real case). */
void
test_raw_only_when_cleaned (void)
{
  const char *samples = g_getenv ("BS_SAMPLES_DIR");
  g_autofree char *real = samples ? g_build_filename (samples, "brats2017-2018", "Brats18_TCIA01_201_1", NULL) : NULL;
  g_autofree char *model = bs_unet_default_model_path ();
  g_autofree char *sample = bs_test_sample_path ();
  BsDicePanel *panel = panel_for_new_run (FALSE, 0);
  BsSession *s;

  if (panel == NULL)
    return;
  s = bs_window_get_session (win);
  g_assert_true (bs_test_wait (win, stopped_and_measured, 300));
  bs_test_spin (100);
  check_raw_text (s, panel);

  if (real == NULL || model == NULL || !g_file_test (real, G_FILE_TEST_IS_DIR))
    {
      g_test_message ("real samples or shipped model absent: the sample's case only");
      return;
    }
  bs_window_open_with_model (win, real, model);
  g_assert_true (bs_test_wait (win, real_case_measured, 600));
  bs_test_spin (100);
  check_raw_text (s, panel);
  /* back to the sample for the tests after this one */
  bs_window_open_with_model (win, sample, model);
  g_assert_true (bs_test_wait (win, stopped_and_measured, 300));
}

void
test_toggles (void)
{
  BsPlanOptions base, opts;
  g_autofree float *reference = NULL;
  gboolean trained;
  int n_slices;
  int slice, w, h;
  /* fp32 variants compute the same function; int8 and bf16 may flip
   * pixels near the threshold, within the agreement bound. */
  struct {
    const char *what;
    double bound;
  } cases[] = {
    { "layout nchw", 0.999 },
    { "layout nhwc", 0.999 },
    { "fusion off", 0.999 },
    { "threads 1", 0.999 },
    { "batch 1", 0.999 },
    { "int8", 0.99 },
    { "bf16", 0.99 },
  };

  if (!setup ())
    return;
  trained = bs_session_get_model (bs_window_get_session (win))->path != NULL;
  bs_plan_options_init (&base);
  base.profile_layers = TRUE;
  /* Short background batches: a new plan waits for the batch in flight. */
  base.batch = 1;
  bs_session_set_plan_options (bs_window_get_session (win), &base);
  n_slices = bs_volume_n_slices (bs_session_get_prepared_volume (bs_window_get_session (win)), bs_session_get_plane (bs_window_get_session (win)));
  slice = n_slices / 2;
  bs_session_set_slice_index (bs_window_get_session (win), slice);
  g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  reference = window_probs (slice, &w, &h);

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autofree float *probs = NULL;
      g_autofree char *reason = NULL;
      guint gen;
      double agree, confident;

      opts = base;
      switch (c)
        {
        case 0: opts.layout = BS_MEMLAYOUT_NCHW; break;
        case 1: opts.layout = BS_MEMLAYOUT_NHWC; break;
        case 2: opts.fusion = FALSE; break;
        case 3: opts.threads = 1; break;
        case 4: opts.batch = 1; break;
        case 5: opts.precision = BS_PRECISION_INT8; break;
        case 6: opts.precision = BS_PRECISION_BF16; break;
        }
      if (!bs_precision_available (opts.precision, &reason))
        {
          g_test_message ("%s not available here: %s", cases[c].what, reason);
          continue;
        }
      gen = bs_session_get_generation (bs_window_get_session (win));
      bs_session_set_plan_options (bs_window_get_session (win), &opts);
      g_assert_cmpuint (bs_session_get_generation (bs_window_get_session (win)), !=, gen);
      /* The visible slice is re-inferred with the new plan. */
      g_assert_false (bs_session_slice_is_computed (bs_window_get_session (win), slice));
      g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
      g_assert_cmpint (bs_window_get_displayed_slice_index_of_prediction (win), ==, slice);
      /* The visible slice (the middle one) came first, not after a fill
       * from slice 0 up. */
      g_assert_cmpint (bs_session_get_first_computed_slice (bs_window_get_session (win)), ==, slice);
      g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
      probs = window_probs (slice, &w, &h);
      agree = mask_agreement (probs, reference, (gsize) w * h);
      confident = confident_agreement (probs, reference, (gsize) w * h);
      g_test_message ("%s: pixel agreement with fp32 %.5f, on confident pixels %.5f (bound %.3f%s)",
                      cases[c].what, agree, confident, cases[c].bound, trained ? "" : ", confident pixels: untrained model");
      g_assert_cmpfloat (trained ? agree : confident, >=, cases[c].bound);
    }
  bs_session_set_plan_options (bs_window_get_session (win), &base);
}

/* The fill on lanes: with 2 threads the plan line says the rest of the
 * volume runs on 2 lanes, and a slice the fill computed holds what one plan
 * computes for it alone; with lanes off the line says nothing of lanes. */
static gboolean
has_lanes_plan (BsWindow *w)
{
  const char *text = bs_session_get_plan_text (bs_window_get_session (w));
  return text != NULL && strstr (text, "fill on 2 lanes") != NULL;
}

static gboolean
has_plan_without_lanes (BsWindow *w)
{
  const char *text = bs_session_get_plan_text (bs_window_get_session (w));
  return text != NULL && strstr (text, "lane") == NULL && strstr (text, "2 threads") != NULL;
}

void
test_fill_lanes (void)
{
  BsSession *s;
  BsPlanOptions opts;
  int n, visible, checked = 0;

  if (!setup ())
    return;
  s = bs_window_get_session (win);
  bs_session_get_plan_options (s, &opts);
  opts.precision = BS_PRECISION_FP32;
  opts.three_planes = FALSE;
  opts.profile_layers = FALSE;
  opts.threads = 2;
  opts.slice_parallel = TRUE;
  opts.batch = 2;
  bs_session_set_plan_options (s, &opts);
  g_action_group_activate_action (G_ACTION_GROUP (win), "resume-fill", NULL);
  g_assert_true (bs_test_wait (win, volume_done, 300));
  g_test_message ("plan line: %s", bs_session_get_plan_text (s));
  g_assert_true (has_lanes_plan (win));
  n = bs_volume_n_slices (bs_session_get_prepared_volume (s), bs_session_get_plane (s));
  visible = bs_session_get_slice_index (s);
  for (int k = 1; k < n && checked < 3; k += n / 5)
    {
      g_autofree float *shown = NULL, *expect = NULL;
      int slice = (visible + k) % n, w, h;
      double err = 0;

      shown = window_probs (slice, &w, &h);
      expect = engine_probs (slice, &opts);
      for (gsize i = 0; i < (gsize) w * h; i++)
        err = MAX (err, fabs (shown[i] - expect[i]));
      g_test_message ("fill slice %d: largest difference from one plan %.3g", slice, err);
      g_assert_cmpfloat (err, <, 1e-5);
      checked++;
    }
  /* The options panel's "Lanes" switch is the session's property. */
  {
    g_autoptr(GVariant) state = g_action_group_get_action_state (G_ACTION_GROUP (win), "lanes");

    g_assert_true (g_variant_get_boolean (state));
  }
  g_action_group_change_action_state (G_ACTION_GROUP (win), "lanes", g_variant_new_boolean (FALSE));
  bs_session_get_plan_options (s, &opts);
  g_assert_false (opts.slice_parallel);
  g_assert_true (bs_test_wait (win, has_plan_without_lanes, 120));
  g_action_group_change_action_state (G_ACTION_GROUP (win), "lanes", g_variant_new_boolean (TRUE));
  g_assert_true (bs_test_wait (win, has_lanes_plan, 300));
}

/* The "Test-time flips" switch: the visible slice is re-run with the mirrored
 * pass averaged in, exactly as a plan with the option computes it, and the
 * timing panel's plan line says so. */
static gboolean
has_flips_plan (BsWindow *w)
{
  const char *text = bs_session_get_plan_text (bs_window_get_session (w));
  return text != NULL && strstr (text, "test-time flips") != NULL;
}

void
test_flips (void)
{
  BsPlanOptions opts;
  g_autofree float *shown = NULL, *expect = NULL, *plain = NULL;
  double err = 0, gap = 0;
  int slice, w, h;

  if (!setup ())
    return;
  bs_plan_options_init (&opts);
  opts.batch = 1;
  bs_session_set_plan_options (bs_window_get_session (win), &opts);
  slice = bs_test_tumour_slice (win);
  if (slice < 0)
    slice = bs_volume_n_slices (bs_session_get_prepared_volume (bs_window_get_session (win)), bs_session_get_plane (bs_window_get_session (win))) / 2;
  bs_session_set_slice_index (bs_window_get_session (win), slice);
  g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
  g_assert_false (has_flips_plan (win));
  /* as the switch does */
  g_action_group_change_action_state (G_ACTION_GROUP (win), "test-time-flips", g_variant_new_boolean (TRUE));
  bs_session_get_plan_options (bs_window_get_session (win), &opts);
  g_assert_true (opts.test_time_flips);
  g_assert_false (bs_session_slice_is_computed (bs_window_get_session (win), slice));
  g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
  g_assert_true (bs_test_wait (win, has_flips_plan, 100));
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  shown = window_probs (slice, &w, &h);
  expect = engine_probs (slice, &opts);
  opts.test_time_flips = FALSE;
  plain = engine_probs (slice, &opts);
  for (gsize i = 0; i < (gsize) w * h; i++)
    {
      err = MAX (err, fabsf (shown[i] - expect[i]));
      gap = MAX (gap, fabsf (plain[i] - expect[i]));
    }
  g_test_message ("test-time flips: max |window - plan| %.2e, max |flipped - plain| %.3f", err, gap);
  g_assert_cmpfloat (err, <, 1e-5);
  g_assert_cmpfloat (gap, >, 1e-3);
  g_action_group_change_action_state (G_ACTION_GROUP (win), "test-time-flips", g_variant_new_boolean (FALSE));
  g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
}

void
test_views_and_planes (void)
{
  const BsPlane planes[] = { BS_PLANE_CORONAL, BS_PLANE_SAGITTAL, BS_PLANE_AXIAL };
  GtkWidget *scale;
  int scale_width;

  if (!setup ())
    return;
  bs_session_set_plane (bs_window_get_session (win), BS_PLANE_AXIAL);
  bs_session_set_slice_index (bs_window_get_session (win), 40);
  /* The slider keeps its length whatever the slice and plane (walk finding:
   * its label took the slider's room at coronal and sagittal slice 100). */
  scale = bs_test_find_widget (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_SLICE_BAR), GTK_TYPE_SCALE);
  bs_test_spin (100);
  scale_width = gtk_widget_get_width (scale);
  g_assert_cmpint (scale_width, >, 100);
  for (guint i = 0; i < G_N_ELEMENTS (planes); i++)
    {
      bs_session_set_plane (bs_window_get_session (win), planes[i]);
      g_assert_cmpint (bs_session_get_plane (bs_window_get_session (win)), ==, planes[i]);
      /* a plane seen for the first time opens on the slice with the most
       * labelled tumour; back in axial, the slice left there (walk finding:
       * switching planes lost the place) */
      if (planes[i] == BS_PLANE_AXIAL)
        g_assert_cmpint (bs_session_get_slice_index (bs_window_get_session (win)), ==, 40);
      else
        {
          const BsVolume *truth = bs_session_get_truth (bs_window_get_session (win));
          int most, at = bs_session_get_slice_index (bs_window_get_session (win));

          bs_test_fullest_slice (truth, 0, planes[i], &most);
          g_assert_cmpint (most, >, 0);
          g_assert_cmpint (bs_test_slice_count (truth, 0, planes[i], at), ==, most);
        }
      g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
      /* the chart's axis names the plane its bars are slices of (walk
       * finding: "axial slices computed" over coronal slice numbers) */
      {
        BsDiceChart *chart = BS_DICE_CHART (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_DICE_CHART));

        g_assert_cmpstr (bs_dice_chart_get_axis_title (chart), ==,
                         planes[i] == BS_PLANE_CORONAL    ? "Coronal slice"
                         : planes[i] == BS_PLANE_SAGITTAL ? "Sagittal slice" : "Axial slice");
        bs_test_spin (100);
        g_assert_true (bs_dice_chart_axis_title_drawn (chart));
      }
      g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
    }
  for (guint i = 0; i < G_N_ELEMENTS (planes); i++)
    for (int k = 9; k <= 100; k += 91)
      {
        bs_session_set_plane (bs_window_get_session (win), planes[i]);
        bs_session_set_slice_index (bs_window_get_session (win), k);
        bs_test_spin (100);
        g_assert_cmpint (gtk_widget_get_width (scale), ==, scale_width);
      }
  bs_window_set_overlay_mode (win, TRUE);
  g_action_group_activate_action (G_ACTION_GROUP (win), "page-up", NULL);
  g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
  bs_window_set_overlay_mode (win, FALSE);
}

/* Walk finding: on a case of few axial slices (31 slices of 5 mm) the
 * coronal view opened on the brain's edge, slice 30: the new plane's slice
 * reached the slice bar before its range, was clamped to the axial one and
 * went back to the session.  Here 32 axial slices under 128 coronal ones: the
 * coronal view opens on its slice with the most tumour, beyond 31, and the
 * bar shows it. */
void
test_plane_range_before_slice (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("bs-ui-few-slices-XXXXXX", &error);
  g_autofree char *model = bs_unet_default_model_path ();
  g_autofree char *shown = NULL;
  GtkWidget *bar;
  BsWindow *w;
  BsSession *s;
  int most = 0, at, best;

  g_assert_no_error (error);
  g_assert_nonnull (dir);
  if (!setup ())
    return;
  g_assert_true (bs_phantom_write_task (dir, 1, 17, 128, 128, 32, &error));
  g_assert_no_error (error);
  w = bs_test_new_window (app);
  gtk_window_present (GTK_WINDOW (w));
  bs_window_open_with_model (w, dir, model);
  s = bs_window_get_session (w);
  g_assert_true (bs_test_wait (w, shows_current_prediction, 300));
  g_assert_cmpint (bs_session_get_n_slices (s), ==, 32);
  best = bs_test_fullest_slice (bs_session_get_truth (s), 0, BS_PLANE_CORONAL, &most);
  g_test_message ("coronal slice with the most tumour: %d (%d voxels)", best, most);
  g_assert_cmpint (best, >, 31);
  bs_session_set_plane (s, BS_PLANE_CORONAL);
  bs_test_spin (100);
  at = bs_session_get_slice_index (s);
  g_assert_cmpint (bs_test_slice_count (bs_session_get_truth (s), 0, BS_PLANE_CORONAL, at), ==, most);
  bar = bs_test_find_widget (GTK_WIDGET (w), BS_TYPE_SLICE_BAR);
  g_assert_nonnull (bar);
  shown = g_strdup_printf ("Coronal %d (0–127)", at);
  g_assert_nonnull (bs_test_find_label (bar, shown, FALSE));
  g_action_group_activate_action (G_ACTION_GROUP (w), "cancel-fill", NULL);
  gtk_window_destroy (GTK_WINDOW (w));
  bs_test_spin (50);
  bs_test_remove_tree (dir);
}

/* Issue 14, finding 2: the prediction of a volume is one thing.  The network
 * runs in its own plane; switching to coronal or sagittal keeps the result
 * (no new job, the same probabilities and volume Dice) and shows reslices of
 * it, with a slice Dice computed on the resliced slice. */
void
test_plane_keeps_prediction (void)
{
  const BsPlane planes[] = { BS_PLANE_CORONAL, BS_PLANE_SAGITTAL, BS_PLANE_AXIAL };
  BsPlanOptions opts;
  g_autofree float *before = NULL;
  gsize nvox;
  guint gen;
  double dice_before;

  if (!setup ())
    return;
  bs_session_set_plane (bs_window_get_session (win), BS_PLANE_AXIAL);
  bs_plan_options_init (&opts);
  bs_session_set_plan_options (bs_window_get_session (win), &opts);
  g_assert_true (bs_test_wait (win, volume_done, 300));
  nvox = bs_volume_n_voxels (bs_session_get_probability_volume (bs_window_get_session (win)));
  before = g_memdup2 (bs_session_get_probability_volume (bs_window_get_session (win))->data, nvox * sizeof (float));
  gen = bs_session_get_generation (bs_window_get_session (win));
  dice_before = bs_session_get_volume_dice (bs_window_get_session (win));
  for (guint i = 0; i < G_N_ELEMENTS (planes); i++)
    {
      const BsVolume *prob;
      g_autofree float *p = NULL, *t = NULL;
      int w, h, slice;
      double shown;

      bs_session_set_plane (bs_window_get_session (win), planes[i]);
      /* Nothing reruns: the same job, the same probabilities, the same volume Dice. */
      g_assert_cmpuint (bs_session_get_generation (bs_window_get_session (win)), ==, gen);
      prob = bs_session_get_probability_volume (bs_window_get_session (win));
      g_assert_true (memcmp (prob->data, before, nvox * sizeof (float)) == 0);
      g_assert_cmpfloat (bs_session_get_volume_dice (bs_window_get_session (win)), ==, dice_before);
      slice = bs_test_tumour_slice (win);
      g_assert_cmpint (slice, >=, 0);
      bs_session_set_slice_index (bs_window_get_session (win), slice);
      /* The resliced prediction is there at once. */
      g_assert_true (bs_session_slice_is_computed (bs_window_get_session (win), slice));
      g_assert_true (bs_test_wait (win, shows_current_prediction, 10));
      if (bs_session_get_truth (bs_window_get_session (win)) == NULL)
        continue;
      bs_volume_slice_size (prob, planes[i], &w, &h);
      p = g_new (float, (gsize) w * h);
      t = g_new (float, (gsize) w * h);
      bs_volume_get_slice (prob, 0, planes[i], slice, p);
      bs_volume_get_slice (bs_session_get_truth (bs_window_get_session (win)), 0, planes[i], slice, t);
      /* The slice Dice of the new plane is counted off the main thread. */
      g_assert_true (bs_test_wait (win, slice_dice_shown, 30));
      shown = bs_window_get_displayed_slice_dice (win);
      g_test_message ("%s slice %d: Dice %.4f (volume %.4f)", bs_plane_name (planes[i]), slice, shown, dice_before);
      g_assert_cmpfloat_with_epsilon (shown, bs_dice (p, t, (gsize) w * h), 1e-12);
    }
}
