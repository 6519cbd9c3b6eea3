/* The window under a real display (Xvfb): what it shows must equal what the
 * engine computes, whatever the user does meanwhile. */
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bs-application.h"
#include "bs-infer.h"
#include "bs-segment.h"
#include "bs-metrics.h"
#include "bs-plan.h"
#include "bs-preprocess.h"
#include "bs-slice-bar.h"
#include "bs-slice-view.h"
#include "bs-dice-chart.h"
#include "bs-dice-panel.h"
#include "bs-options-panel.h"
#include "bs-progress-row.h"
#include "bs-timing-panel.h"
#include "bs-overlay.h"
#include "bs-phantom.h"
#include "region-model.h"
#include "test-util.h"
#include "ui-harness.h"

static BsWindow *win;
static GtkApplication *app;

static gboolean
shows_current_prediction (BsWindow *w)
{
  /* not while a case or model opens: the case before still shows then */
  return !bs_session_is_loading (bs_window_get_session (w)) &&
         bs_window_get_displayed_slice_index_of_prediction (w) == bs_session_get_slice_index (bs_window_get_session (w)) &&
         bs_window_get_displayed_slice_index_of_prediction (w) >= 0;
}

static gboolean
setup (void)
{
  return bs_test_window_once (&win, &app);
}

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

static void
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

/* Every slice computed, and the whole-volume work after it (the clean-up,
 * counting) done: that runs off the main thread. */
static gboolean
volume_done (BsWindow *w)
{
  BsSession *s = bs_window_get_session (w);
  const BsVolume *prob = bs_session_get_probability_volume (s);
  return prob != NULL && bs_session_get_n_computed_slices (s) == bs_volume_n_slices (prob, bs_session_get_net_plane (s))
         && !bs_session_is_busy (s);
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
static void
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

static void
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

static void
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
static void
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

static void
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

static void
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

static void
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

static void
test_views_and_planes (void)
{
  const BsPlane planes[] = { BS_PLANE_CORONAL, BS_PLANE_SAGITTAL, BS_PLANE_AXIAL };

  if (!setup ())
    return;
  bs_session_set_plane (bs_window_get_session (win), BS_PLANE_AXIAL);
  bs_session_set_slice_index (bs_window_get_session (win), 40);
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
      g_assert_cmpstr (bs_dice_chart_get_axis_title (BS_DICE_CHART (bs_test_find_widget (GTK_WIDGET (win),
                                                                                        BS_TYPE_DICE_CHART))),
                       ==, planes[i] == BS_PLANE_CORONAL    ? "Coronal slice"
                           : planes[i] == BS_PLANE_SAGITTAL ? "Sagittal slice" : "Axial slice");
      g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
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
static void
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
  w = bs_window_new (BS_APPLICATION (app));
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
static void
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

static gboolean
some_computed (BsWindow *w)
{
  return bs_session_get_n_computed_slices (bs_window_get_session (w)) > 0;
}

/* Issue 14, findings 5, 9, 10, 11, 18: one slice number (the voxel index) everywhere; per-layer profiling off by default and a
 * steady (median) ms/slice; "no tumour" instead of Dice 1 on a slice with no
 * tumour anywhere; a partial volume Dice says it is partial; a visible
 * research-use line. */
static void
test_trust_panels (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.brainseg.Brainseg");
  g_autoptr(GVariant) profile = g_settings_get_default_value (settings, "profile-layers");
  BsPlanOptions opts;
  const char *slice_text, *volume_text, *speed_text;
  GtkWidget *research;
  double ms;
  char expect[64];

  g_assert_false (g_variant_get_boolean (profile));
  if (!setup ())
    return;
  research = bs_test_find_label (GTK_WIDGET (win), "Research use only", TRUE);
  g_assert_nonnull (research);
  g_assert_true (gtk_widget_get_mapped (research));

  bs_session_set_plane (bs_window_get_session (win), BS_PLANE_AXIAL);
  bs_plan_options_init (&opts);
  opts.batch = 1;
  opts.threads = 1;
  bs_session_set_plan_options (bs_window_get_session (win), &opts);
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  g_assert_true (bs_test_wait (win, some_computed, 300));
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  bs_test_spin (300);
  if (bs_session_get_truth (bs_window_get_session (win)) != NULL && bs_session_get_n_computed_slices (bs_window_get_session (win))
      < bs_volume_n_slices (bs_session_get_prepared_volume (bs_window_get_session (win)), bs_session_get_net_plane (bs_window_get_session (win))))
    {
      bs_window_get_panel_texts (win, NULL, &volume_text, NULL);
      g_test_message ("partial: %s", volume_text);
      g_assert_nonnull (strstr (volume_text, "partial"));
    }
  g_action_group_activate_action (G_ACTION_GROUP (win), "resume-fill", NULL);
  g_assert_true (bs_test_wait (win, volume_done, 300));
  bs_test_spin (300);
  bs_window_get_panel_texts (win, &slice_text, &volume_text, &speed_text);
  g_assert_null (strstr (volume_text, "partial"));
  /* the median of the last runs, as the label prints it */
  ms = bs_session_get_steady_ms_per_slice (bs_window_get_session (win), NULL);
  g_assert_true (ms > 0.0);
  g_snprintf (expect, sizeof expect, "%.1f ms/slice", ms);
  g_test_message ("speed: %s (median %.3f ms)", speed_text, ms);
  g_assert_true (g_str_has_prefix (speed_text, expect));
  /* a whole volume ran: many runs in the median, no longer settling */
  g_assert_null (strstr (speed_text, "settling"));

  /* Finding 9: one slice number everywhere, the file's voxel index from 0. */
  {
    int last = bs_volume_n_slices (bs_session_get_prepared_volume (bs_window_get_session (win)), BS_PLANE_AXIAL) - 1;
    g_autofree char *want = g_strdup_printf ("Axial %d (0–%d)", last / 2, last);

    bs_session_set_slice_index (bs_window_get_session (win), last / 2);
    g_assert_cmpstr (bs_window_get_slice_text (win), ==, want);
  }

  /* The first slice is air: no tumour in truth or prediction. */
  if (bs_session_get_truth (bs_window_get_session (win)) != NULL)
    {
      bs_session_set_slice_index (bs_window_get_session (win), 0);
      g_assert_true (bs_test_wait (win, shows_current_prediction, 60));
      bs_window_get_panel_texts (win, &slice_text, NULL, NULL);
      g_test_message ("slice 0: %s", slice_text);
      g_assert_cmpstr (slice_text, ==, "no tumour");
    }
}

/* Issue 14, finding 3: int8 with NCHW cannot run; each half of the pair is
 * greyed, with the reason, while the other is chosen. */
static double
y_of (GtkWidget *w)
{
  graphene_point_t p;

  g_assert_true (gtk_widget_compute_point (w, GTK_WIDGET (gtk_widget_get_root (w)), &GRAPHENE_POINT_INIT (0, 0), &p));
  return p.y;
}

/* Issue 14, finding 6: nothing moves under the pointer when inference
 * restarts (the timing section and the plan line used to collapse while the
 * plan was rebuilt) or when the Stop button comes and goes. */
static void
test_layout_holds_still (void)
{
  GtkWidget *compare, *precision, *pred;
  BsPlanOptions opts;
  double y_compare, y_precision, y_pred;

  if (!setup ())
    return;
  bs_plan_options_init (&opts);
  opts.threads = 1;
  bs_session_set_plan_options (bs_window_get_session (win), &opts);
  g_assert_true (bs_test_wait (win, volume_done, 300));
  bs_test_spin (300);
  compare = bs_test_find_button (GTK_WIDGET (win), "Compare All…");
  precision = bs_test_find_button (GTK_WIDGET (win), "fp32");
  pred = GTK_WIDGET (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_SLICE_VIEW));
  g_assert_nonnull (compare);
  g_assert_nonnull (precision);
  g_assert_nonnull (pred);
  y_compare = y_of (compare);
  y_precision = y_of (precision);
  y_pred = y_of (pred);
  for (int k = 0; k < 3; k++)
    {
      /* a restart: the plan is rebuilt, the timing waits for its first slice */
      opts.batch = k + 1;
      bs_session_set_plan_options (bs_window_get_session (win), &opts);
      bs_test_spin (30);
      g_test_message ("restart %d: Compare All at y %.0f (was %.0f), fp32 at %.0f (was %.0f), views at %.0f (was %.0f)",
                      k, y_of (compare), y_compare, y_of (precision), y_precision, y_of (pred), y_pred);
      g_assert_cmpfloat (fabs (y_of (compare) - y_compare), <, 0.5);
      g_assert_cmpfloat (fabs (y_of (precision) - y_precision), <, 0.5);
      g_assert_cmpfloat (fabs (y_of (pred) - y_pred), <, 0.5);
      g_assert_true (bs_test_wait (win, volume_done, 300));
      bs_test_spin (100);
      g_assert_cmpfloat (fabs (y_of (compare) - y_compare), <, 0.5);
      g_assert_cmpfloat (fabs (y_of (pred) - y_pred), <, 0.5);
    }

  /* Per-layer times: their rows come in the timing panel when profiling is
   * switched on and go when it is switched off, leaving no gap (walk
   * finding); the switch the presenter just clicked stays where it was. */
  {
    GtkWidget *timing = bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_TIMING_PANEL);
    double y_on, y_off;
    int h_before, h_on, h_off;
    int slice = bs_session_get_slice_index (bs_window_get_session (win));

    g_assert_nonnull (timing);
    h_before = gtk_widget_get_height (timing);

    opts.batch = 1;
    opts.profile_layers = TRUE;
    bs_session_set_plan_options (bs_window_get_session (win), &opts);
    bs_session_set_slice_index (bs_window_get_session (win), slice + 1);
    g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
    bs_test_spin (100);
    y_on = y_of (precision);
    h_on = gtk_widget_get_height (timing);
    opts.profile_layers = FALSE;
    bs_session_set_plan_options (bs_window_get_session (win), &opts);
    bs_session_set_slice_index (bs_window_get_session (win), slice);
    g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
    bs_test_spin (100);
    y_off = y_of (precision);
    h_off = gtk_widget_get_height (timing);
    g_test_message ("timing panel %d px high with per-layer times, %d without (was %d); fp32 button at y %.0f, "
                    "%.0f (was %.0f)", h_on, h_off, h_before, y_on, y_off, y_precision);
    g_assert_cmpint (h_on, >, h_before + 20);
    g_assert_cmpint (h_off, ==, h_before);
    g_assert_cmpfloat (fabs (y_on - y_precision), <, 0.5);
    g_assert_cmpfloat (fabs (y_off - y_precision), <, 0.5);
    /* the next test's keys want an idle window, as before this block */
    g_assert_true (bs_test_wait (win, volume_done, 300));
    bs_test_spin (100);
  }
}

static void
test_int8_nchw_greyed (void)
{
  GtkWidget *nchw, *int8;
  BsPlanOptions opts;

  if (!setup ())
    return;
  if (!bs_precision_available (BS_PRECISION_INT8, NULL))
    {
      g_test_skip ("no int8 on this CPU");
      return;
    }
  nchw = bs_test_find_button (GTK_WIDGET (win), "NCHW");
  int8 = bs_test_find_button (GTK_WIDGET (win), "int8");
  g_assert_nonnull (nchw);
  g_assert_nonnull (int8);
  bs_plan_options_init (&opts);
  opts.layout = BS_MEMLAYOUT_NHWC;
  bs_session_set_plan_options (bs_window_get_session (win), &opts);
  g_assert_true (gtk_widget_is_sensitive (nchw));
  g_assert_true (gtk_widget_is_sensitive (int8));
  g_action_group_activate_action (G_ACTION_GROUP (win), "precision", g_variant_new_string ("int8"));
  g_assert_false (gtk_widget_is_sensitive (nchw));
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (nchw), "int8"));
  g_action_group_activate_action (G_ACTION_GROUP (win), "precision", g_variant_new_string ("fp32"));
  g_action_group_activate_action (G_ACTION_GROUP (win), "layout", g_variant_new_string ("nchw"));
  g_assert_true (gtk_widget_is_sensitive (nchw));
  g_assert_false (gtk_widget_is_sensitive (int8));
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (int8), "NCHW"));
  bs_plan_options_init (&opts);
  bs_session_set_plan_options (bs_window_get_session (win), &opts);
  g_assert_true (gtk_widget_is_sensitive (nchw));
  g_assert_true (gtk_widget_is_sensitive (int8));
  g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
}

static gboolean
session_ready (BsWindow *w)
{
  return bs_session_is_ready (bs_window_get_session (w));
}

/* A clinician opens a case and presses Down: the focus starts on the MRI
 * pane, not in the case filter (where the keys would stay the entry's). */
static void
test_initial_focus (void)
{
  GtkWidget *focus;

  if (!setup ())
    return;
  focus = gtk_root_get_focus (GTK_ROOT (win));
  g_assert_nonnull (focus);
  g_assert_true (BS_IS_SLICE_VIEW (focus));
}

static void
test_bad_file (void)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  int fd;
  int case_before;

  if (!setup ())
    return;
  fd = g_file_open_tmp ("brainseg-bad-XXXXXX.nii.gz", &path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (write (fd, "not a nifti file", 16), ==, 16);
  close (fd);
  case_before = bs_session_get_case_index (bs_window_get_session (win));
  bs_window_open_path (win, path);
  /* The error dialog appears; the open case stays usable. */
  g_assert_true (bs_test_wait (win, session_ready, 60));
  bs_test_spin (200);
  g_assert_cmpint (bs_session_get_case_index (bs_window_get_session (win)), ==, case_before);
  g_assert_nonnull (bs_session_get_case (bs_window_get_session (win)));

  /* The same for weights that are not a model: the current model stays. */
  {
    const BsUnet *model_before = bs_session_get_model (bs_window_get_session (win));

    bs_window_open_model (win, path);
    g_assert_true (bs_test_wait (win, session_ready, 60));
    bs_test_spin (200);
    g_assert_true (bs_session_get_model (bs_window_get_session (win)) == model_before);
    g_assert_nonnull (bs_session_get_prepared_volume (bs_window_get_session (win)));
  }
  g_unlink (path);
}

static gboolean
loaded_with_prediction (BsWindow *w)
{
  return bs_session_is_ready (bs_window_get_session (w)) && shows_current_prediction (w);
}

/* Walk finding: Escape pressed before the background fill starts (the case
 * still loading, or its plan still building) stops it all the same. */
static void
test_stop_before_fill (void)
{
  BsSession *s;
  BsPlanOptions opts;
  g_autofree char *path = bs_test_sample_path ();

  if (!setup ())
    return;
  s = bs_window_get_session (win);
  for (int round = 0; round < 2; round++)
    {
      if (round == 0)
        {
          /* new options: a new plan, built on the worker */
          bs_session_get_plan_options (s, &opts);
          opts.fusion = !opts.fusion;
          bs_session_set_plan_options (s, &opts);
          g_assert_false (bs_session_is_ready (s));
        }
      else
        {
          /* the case opened again: it loads first */
          bs_window_open_path (win, path);
          bs_test_spin (1);
          g_assert_true (bs_session_is_loading (s));
        }
      g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
      g_assert_true (bs_test_wait (win, loaded_with_prediction, 300));
      /* long enough for dozens of slices if the fill ran */
      bs_test_spin (1500);
      g_test_message ("round %d: %d slices computed", round, bs_session_get_n_computed_slices (s));
      g_assert_true (bs_session_fill_cancelled (s));
      g_assert_false (bs_session_is_busy (s));
      g_assert_cmpint (bs_session_get_n_computed_slices (s), <=, 8);
    }
}

/* Every widget of type under root, in tree order. */
static void
collect_widgets (GtkWidget *root, GType type, GPtrArray *out)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    g_ptr_array_add (out, root);
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    collect_widgets (c, type, out);
}

static void
count_call (guint *n)
{
  (*n)++;
}

/* Walk finding: no tooltip in the window showed while a volume was
 * predicted, because the panels set theirs again on every slice (each set
 * re-queries the tooltip under the pointer).  Over a whole fill, the
 * window's tooltips change a few times, not once per slice and widget. */
static void
test_tooltips_hold_while_predicting (void)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_object_unref);
  BsPlanOptions opts;
  guint changes = 0, updates = 0;
  gulong results;

  if (!setup ())
    return;
  collect_widgets (GTK_WIDGET (win), GTK_TYPE_WIDGET, all);
  /* held while connected: a panel may rebuild a child meanwhile */
  for (guint i = 0; i < all->len; i++)
    {
      g_object_ref (all->pdata[i]);
      g_signal_connect_swapped (all->pdata[i], "notify::tooltip-text", G_CALLBACK (count_call), &changes);
    }
  results = g_signal_connect_swapped (bs_window_get_session (win), "results-changed", G_CALLBACK (count_call),
                                      &updates);
  /* a fresh fill: the plan is rebuilt, every slice predicted again */
  bs_session_get_plan_options (bs_window_get_session (win), &opts);
  opts.batch = opts.batch == 1 ? 2 : 1;
  bs_session_set_plan_options (bs_window_get_session (win), &opts);
  g_action_group_activate_action (G_ACTION_GROUP (win), "resume-fill", NULL);
  g_assert_true (bs_test_wait (win, volume_done, 600));
  bs_test_spin (200);
  g_test_message ("%u widgets, %u result updates, %u tooltip changes", all->len, updates, changes);
  g_assert_cmpuint (updates, >, 20);
  g_assert_cmpuint (changes, <, 60);
  for (guint i = 0; i < all->len; i++)
    g_signal_handlers_disconnect_by_data (all->pdata[i], &changes);
  g_signal_handler_disconnect (bs_window_get_session (win), results);
}

/* A real case without labels (BraTS 2023 validation style): the window says
 * so instead of showing a Dice. */
static void
test_no_ground_truth (void)
{
  const char *samples = g_getenv ("BS_SAMPLES_DIR");
  g_autofree char *path = NULL;

  if (!setup ())
    return;
  if (samples == NULL)
    {
      g_test_skip ("BS_SAMPLES_DIR not set: real samples absent");
      return;
    }
  path = g_build_filename (samples, "brats2023-gli-00001", NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("brats2023-gli-00001 not among the real samples");
      return;
    }
  /* With a ground truth, no message over the chart. */
  g_assert_nonnull (bs_session_get_truth (bs_window_get_session (win)));
  g_assert_null (bs_dice_chart_get_message (BS_DICE_CHART (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_DICE_CHART))));
  bs_window_open_path (win, path);
  g_assert_true (bs_test_wait (win, loaded_with_prediction, 600));
  g_assert_null (bs_session_get_truth (bs_window_get_session (win)));
  g_assert_true (isnan (bs_window_get_displayed_slice_dice (win)));

  /* Nothing to score, but the predicted volume of each region the model has
   * is in the table once the volume is done: here counted from the mask. */
  g_assert_true (bs_test_wait (win, volume_done, 600));
  bs_test_spin (200);
  {
    BsSession *s = bs_window_get_session (win);
    BsDicePanel *panel = BS_DICE_PANEL (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_DICE_PANEL));
    const BsVolume *prob = bs_session_get_probability_volume (s);
    BsRegionMetrics m;
    g_autofree char *ml = NULL;
    guint64 on = 0;

    for (gsize v = 0; v < bs_volume_n_voxels (prob); v++)
      on += prob->data[v] > 0.5f;
    g_assert_cmpuint (on, >, 0);
    g_assert_true (bs_session_get_region_metrics (s, BS_REGION_WT, &m));
    g_assert_cmpfloat_with_epsilon (m.volume_ml, on * prob->spacing[0] * prob->spacing[1] * prob->spacing[2] / 1000.0,
                                    1e-9);
    g_assert_true (isnan (m.dice));
    ml = g_strdup_printf ("%.1f", m.volume_ml);
    g_assert_cmpstr (bs_dice_panel_get_region_text (panel, BS_REGION_WT, 3), ==, ml);
    g_assert_cmpstr (bs_dice_panel_get_region_text (panel, BS_REGION_WT, 1), ==, "–");
    /* The chart says why it stays empty. */
    g_assert_nonnull (bs_dice_chart_get_message (BS_DICE_CHART (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_DICE_CHART))));
    for (int r = BS_REGION_TC; r < BS_N_REGIONS; r++)
      if (bs_session_model_has_region (s, r))
        {
          g_autofree char *rml = NULL;

          g_assert_true (bs_session_get_region_metrics (s, r, &m));
          g_assert_cmpfloat (m.volume_ml, <=, on * prob->spacing[0] * prob->spacing[1] * prob->spacing[2] / 1000.0);
          rml = g_strdup_printf ("%.1f", m.volume_ml);
          g_assert_cmpstr (bs_dice_panel_get_region_text (panel, r, 3), ==, rml);
          g_test_message ("%s: %s ml predicted, no ground truth", bs_region_name (r), rml);
        }
    /* Walk finding: the overlay showed the whole tumour alone. With nothing
     * to compare with, a region model's overlay shows its regions: the same
     * image as the side-by-side prediction pane, on a slice with tumour. */
    if (bs_session_model_has_region (s, BS_REGION_ET))
      {
        g_autoptr(GPtrArray) views = g_ptr_array_new ();
        cairo_surface_t *pred_s, *over_s;
        int w, h, best_on = 0, differ = 0, coloured = 0;
        int best = bs_test_fullest_slice (prob, 0, BS_PLANE_AXIAL, &best_on);
        g_autofree float *buf = NULL;

        g_assert_cmpint (best, >=, 0);
        bs_volume_slice_size (prob, BS_PLANE_AXIAL, &w, &h);
        buf = g_new (float, (gsize) w * h);
        bs_session_set_plane (s, BS_PLANE_AXIAL);
        bs_session_set_slice_index (s, best);
        bs_test_spin (300);
        collect_widgets (GTK_WIDGET (win), BS_TYPE_SLICE_VIEW, views);
        g_assert_cmpuint (views->len, ==, 4);  /* MRI, truth, prediction, overlay */
        pred_s = bs_slice_view_get_surface (views->pdata[2]);
        over_s = bs_slice_view_get_surface (views->pdata[3]);
        g_assert_nonnull (pred_s);
        g_assert_nonnull (over_s);
        cairo_surface_flush (pred_s);
        cairo_surface_flush (over_s);
        g_assert_cmpint (cairo_image_surface_get_width (over_s), ==, w);
        for (int y = 0; y < h; y++)
          {
            const guint32 *a = (const guint32 *) (cairo_image_surface_get_data (pred_s)
                                                  + (gsize) y * cairo_image_surface_get_stride (pred_s));
            const guint32 *b = (const guint32 *) (cairo_image_surface_get_data (over_s)
                                                  + (gsize) y * cairo_image_surface_get_stride (over_s));
            const guint32 *g = (const guint32 *) (cairo_image_surface_get_data (bs_slice_view_get_surface (views->pdata[0]))
                                                  + (gsize) y * cairo_image_surface_get_stride (bs_slice_view_get_surface (views->pdata[0])));

            for (int x = 0; x < w; x++)
              {
                differ += a[x] != b[x];
                coloured += b[x] != g[x];
              }
          }
        g_test_message ("overlay on slice %d (%d tumour pixels): %d pixels coloured, %d differ from the prediction pane",
                        best, best_on, coloured, differ);
        g_assert_cmpint (coloured, >=, best_on);
        g_assert_cmpint (differ, ==, 0);

        /* The region selector picks one region alone: the enhancing tumour's
         * pixels and no others are coloured. */
        {
          int on_et = 0, coloured_et = 0, coloured_elsewhere = 0;

          g_assert_true (bs_session_get_region_slice (s, BS_REGION_ET, BS_PLANE_AXIAL, best, buf));
          for (int p = 0; p < w * h; p++)
            on_et += buf[p] > 0.5f;
          /* the selector offers it (it was greyed without a truth) */
          g_assert_true (bs_dice_panel_region_selectable (panel, BS_REGION_ET));
          bs_session_set_region (s, BS_REGION_ET);
          bs_test_spin (300);
          over_s = bs_slice_view_get_surface (views->pdata[3]);
          cairo_surface_flush (over_s);
          for (int y = 0; y < h; y++)
            {
              const guint32 *b = (const guint32 *) (cairo_image_surface_get_data (over_s)
                                                    + (gsize) y * cairo_image_surface_get_stride (over_s));
              const guint32 *g = (const guint32 *) (cairo_image_surface_get_data (bs_slice_view_get_surface (views->pdata[0]))
                                                    + (gsize) y * cairo_image_surface_get_stride (bs_slice_view_get_surface (views->pdata[0])));

              for (int x = 0; x < w; x++)
                if (b[x] != g[x])
                  {
                    if (buf[y * w + x] > 0.5f)
                      coloured_et++;
                    else
                      coloured_elsewhere++;
                  }
            }
          g_test_message ("enhancing tumour alone: %d pixels, %d of them coloured, %d coloured elsewhere", on_et,
                          coloured_et, coloured_elsewhere);
          g_assert_cmpint (on_et, >, 0);
          g_assert_cmpint (coloured_et, ==, on_et);
          g_assert_cmpint (coloured_elsewhere, ==, 0);
          bs_session_set_region (s, BS_REGION_WT);
        }
      }
  }
}

static gboolean
tcga_volume_done (BsWindow *w)
{
  BsCase *c = bs_session_get_case (bs_window_get_session (w));

  return c != NULL && g_strcmp0 (c->id, "TCGA-DU-7294") == 0 && volume_done (w);
}

/* Labels without the sub-regions (TCGA-DU-7294's are an algorithm fusion of
 * the whole tumour): a region model's tumour core and enhancing tumour stay
 * selectable and the overlay shows the chosen one alone (walk finding: they
 * were greyed out with no reason given); the chart says why it is empty. */
static void
test_labels_without_regions (void)
{
  const char *samples = g_getenv ("BS_SAMPLES_DIR");
  g_autofree char *path = NULL;
  g_autoptr(GPtrArray) views = g_ptr_array_new ();
  BsSession *s;
  BsDicePanel *panel;
  const BsVolume *prob;
  cairo_surface_t *over_s, *grey_s;
  int w, h, best, best_on = 0, on_tc = 0, coloured_tc = 0, coloured_elsewhere = 0;
  g_autofree float *buf = NULL;

  if (!setup ())
    return;
  if (samples == NULL)
    {
      g_test_skip ("BS_SAMPLES_DIR not set: real samples absent");
      return;
    }
  path = g_build_filename (samples, "tcga-du-7294", NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("tcga-du-7294 not among the real samples");
      return;
    }
  s = bs_window_get_session (win);
  if (!bs_session_model_has_region (s, BS_REGION_TC))
    {
      g_test_skip ("the default model predicts the whole tumour only");
      return;
    }
  bs_window_open_path (win, path);
  g_assert_true (bs_test_wait (win, tcga_volume_done, 600));
  bs_test_spin (200);
  g_assert_nonnull (bs_session_get_truth (s));
  g_assert_null (bs_session_get_truth_region (s, BS_REGION_TC));
  panel = BS_DICE_PANEL (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_DICE_PANEL));
  g_assert_true (bs_dice_panel_region_selectable (panel, BS_REGION_TC));
  g_assert_true (bs_dice_panel_region_selectable (panel, BS_REGION_ET));
  /* the whole tumour's chart scores against the labels */
  g_assert_null (bs_dice_chart_get_message (BS_DICE_CHART (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_DICE_CHART))));

  prob = bs_session_get_probability_volume (s);
  bs_volume_slice_size (prob, BS_PLANE_AXIAL, &w, &h);
  buf = g_new (float, (gsize) w * h);
  best = bs_test_fullest_slice (prob, 0, BS_PLANE_AXIAL, &best_on);
  g_assert_cmpint (best, >=, 0);
  bs_session_set_plane (s, BS_PLANE_AXIAL);
  bs_session_set_slice_index (s, best);
  bs_session_set_region (s, BS_REGION_TC);
  bs_test_spin (300);
  g_assert_cmpint (bs_session_get_region (s), ==, BS_REGION_TC);
  g_assert_nonnull (bs_dice_chart_get_message (BS_DICE_CHART (bs_test_find_widget (GTK_WIDGET (win), BS_TYPE_DICE_CHART))));
  g_assert_true (bs_session_get_region_slice (s, BS_REGION_TC, BS_PLANE_AXIAL, best, buf));
  for (int p = 0; p < w * h; p++)
    on_tc += buf[p] > 0.5f;
  collect_widgets (GTK_WIDGET (win), BS_TYPE_SLICE_VIEW, views);
  g_assert_cmpuint (views->len, ==, 4);  /* MRI, truth, prediction, overlay */
  /* the truth pane names its one colour (walk finding: it read as "all edema") */
  {
    const char *const *labels;

    g_assert_cmpint (bs_slice_view_get_legend (views->pdata[1], &labels), ==, 1);
    g_assert_nonnull (strstr (labels[0], "no sub-regions"));
  }
  over_s = bs_slice_view_get_surface (views->pdata[3]);
  grey_s = bs_slice_view_get_surface (views->pdata[0]);
  cairo_surface_flush (over_s);
  cairo_surface_flush (grey_s);
  for (int y = 0; y < h; y++)
    {
      const guint32 *b = (const guint32 *) (cairo_image_surface_get_data (over_s)
                                            + (gsize) y * cairo_image_surface_get_stride (over_s));
      const guint32 *g = (const guint32 *) (cairo_image_surface_get_data (grey_s)
                                            + (gsize) y * cairo_image_surface_get_stride (grey_s));

      for (int x = 0; x < w; x++)
        if (b[x] != g[x])
          {
            if (buf[y * w + x] > 0.5f)
              coloured_tc++;
            else
              coloured_elsewhere++;
          }
    }
  g_test_message ("slice %d: tumour core alone, %d pixels, %d of them coloured, %d coloured elsewhere", best, on_tc,
                  coloured_tc, coloured_elsewhere);
  g_assert_cmpint (on_tc, >, 0);
  g_assert_cmpint (coloured_tc, ==, on_tc);
  g_assert_cmpint (coloured_elsewhere, ==, 0);
  bs_session_set_region (s, BS_REGION_WT);
}

/* A folder dropped on the window opens like File > Open: the drop target's
 * "drop" signal gets the file list a file manager would send. */
static void
test_drop (void)
{
  g_autofree char *sample = bs_test_sample_path ();
  g_autoptr(GListModel) controllers = NULL;
  GtkDropTarget *drop = NULL;
  GValue value = G_VALUE_INIT;
  GSList *files;
  gboolean accepted = FALSE;
  BsCase *c;

  if (!setup ())
    return;
  if (sample == NULL)
    {
      g_test_skip ("no bundled sample");
      return;
    }
  controllers = gtk_widget_observe_controllers (GTK_WIDGET (win));
  for (guint i = 0; i < g_list_model_get_n_items (controllers) && drop == NULL; i++)
    {
      g_autoptr(GObject) ctl = g_list_model_get_item (controllers, i);
      if (GTK_IS_DROP_TARGET (ctl))
        drop = GTK_DROP_TARGET (ctl);
    }
  g_assert_nonnull (drop);

  /* something that is not a file list is refused */
  g_value_init (&value, G_TYPE_STRING);
  g_value_set_string (&value, sample);
  g_signal_emit_by_name (drop, "drop", &value, 10.0, 10.0, &accepted);
  g_assert_false (accepted);
  g_value_unset (&value);

  files = g_slist_append (NULL, g_file_new_for_path (sample));
  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, files);
  g_signal_emit_by_name (drop, "drop", &value, 10.0, 10.0, &accepted);
  g_value_unset (&value);
  g_assert_true (accepted);
  g_assert_true (bs_test_wait (win, loaded_with_prediction, 600));
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  c = bs_session_get_case (bs_window_get_session (win));
  g_assert_nonnull (c);
  g_assert_cmpstr (c->id, ==, "phantom_001");
  g_assert_nonnull (bs_session_get_truth (bs_window_get_session (win)));
}

/* In outline mode the opacity slider changes nothing (outlines are opaque):
 * it is greyed and its tooltip says why, and it comes back with fill. */
static void
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
static void
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

static void
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
  empty = bs_window_new (BS_APPLICATION (app));
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
static void
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
static void
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
static void
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
static void
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
static void
test_slice_keys_anywhere (void)
{
  GtkWidget *overlay_button, *filter;
  int before;

  if (!setup ())
    return;
  if (!have_xdotool ())
    {
      g_test_skip ("needs xdotool and an X display (Xvfb)");
      return;
    }
  gtk_window_present (GTK_WINDOW (win));
  bs_session_set_plane (bs_window_get_session (win), BS_PLANE_AXIAL);
  bs_session_set_slice_index (bs_window_get_session (win), 40);
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
static void
test_chart_click (void)
{
  GtkWidget *chart;
  graphene_point_t p;
  double sx = 0, sy = 0;
  int target, n;
  g_autofree char *cmd = NULL;
  int status = -1;

  if (!setup ())
    return;
  if (!have_xdotool ())
    {
      g_test_skip ("needs xdotool and an X display (Xvfb)");
      return;
    }
  gtk_window_present (GTK_WINDOW (win));
  bs_session_set_plane (bs_window_get_session (win), BS_PLANE_AXIAL);
  bs_session_set_slice_index (bs_window_get_session (win), 5);
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
}

/* Issue 14, finding 17: a case's id is never only cut in the list: the name
 * has the row's width (its Dice goes under it) and the row's tooltip is the id. */
static void
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
static void
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
}

/* Issue 14, findings 7 and 15: + on Threads "All" stays at All (it jumped to
 * 1), − goes to the cores; the wheel over a spin button scrolls the panel and
 * never edits Threads or Batch. */
static void
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
  w = bs_window_new (BS_APPLICATION (*app));
  gtk_window_set_default_size (GTK_WINDOW (w), 1366, 768);
  bs_window_open_with_model (w, "/nonexistent/typo-path", model);
  gtk_window_present (GTK_WINDOW (w));
  g_assert_true (bs_test_wait (w, not_busy, 60));
  bs_test_spin (200);
  return w;
}

static void
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
static void
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
static void
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

static void
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
static void
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

static gboolean
third_case_shown (BsWindow *w)
{
  return bs_session_get_case_index (bs_window_get_session (w)) == 2 && !bs_session_is_loading (bs_window_get_session (w))
         && bs_session_get_case (bs_window_get_session (w)) != NULL;
}

static gboolean
first_case_shown (BsWindow *w)
{
  return bs_session_get_case_index (bs_window_get_session (w)) == 0 && !bs_session_is_loading (bs_window_get_session (w))
         && bs_session_get_case (bs_window_get_session (w)) != NULL;
}

/* Enter in the case filter opens the first case it lets through (walk
 * finding: with one match left, Enter did nothing). */
static void
test_filter_enter (void)
{
  g_autofree char *dir = g_dir_make_tmp ("bs-ui-filter-XXXXXX", NULL);
  g_autofree char *model = bs_unet_default_model_path ();
  g_autoptr(GError) error = NULL;
  g_autofree char *sample = bs_test_sample_path ();
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
  gtk_editable_set_text (GTK_EDITABLE (filter), third);
  bs_test_spin (600);  /* the search entry waits before it filters */
  g_signal_emit_by_name (filter, "activate");
  g_assert_true (bs_test_wait (win, third_case_shown, 120));
  g_assert_cmpstr (bs_session_get_case (bs_window_get_session (win))->id, ==, third);

  /* the sample again, for whatever runs next */
  gtk_editable_set_text (GTK_EDITABLE (filter), "");
  bs_test_spin (600);
  bs_window_open_with_model (win, sample, model);
  g_assert_true (bs_test_wait (win, shows_current_prediction, 300));
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  bs_test_remove_tree (dir);
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
  g_test_add_func ("/ui/window/filter-enter", test_filter_enter);
  ret = g_test_run ();
  bs_test_window_close (win, app);
  return ret;
}
