/* BsSession without a window and without a display: open a case, ask for
 * slices, change options, stop and resume the fill, fail an open, and get the
 * same int8 mask as `brainseg-cli infer`. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include <nifti1.h>

#include "bs-nifti.h"
#include "bs-phantom.h"
#include "bs-segment.h"
#include "bs-session.h"
#include "region-model.h"
#include "session-harness.h"
#include "test-util.h"

static char *sample, *tmpdir;

static gboolean
visible_done (BsSession *s)
{
  return bs_session_slice_is_computed (s, bs_session_get_slice_index (s));
}

static gboolean
one_more_slice (BsSession *s)
{
  return bs_session_get_n_computed_slices (s) > 0;
}

static void
count_notify (GObject *object, GParamSpec *pspec, int *n)
{
  (*n)++;
}

static BsSession *
open_sample (const BsPlanOptions *opts)
{
  BsSession *s = bs_session_new ();
  g_autofree char *model = bs_unet_default_model_path ();

  if (opts != NULL)
    bs_session_set_plan_options (s, opts);
  bs_session_open_async (s, sample, model != NULL ? BS_SESSION_MODEL_LOAD : BS_SESSION_MODEL_RANDOM, model, NULL,
                         NULL, NULL);
  g_assert_true (bs_session_is_loading (s));
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_loaded, 120));
  return s;
}

static void
test_open_and_slices (void)
{
  BsPlanOptions opts;
  g_autoptr(BsSession) s = NULL;
  int generation_notifies = 0, n, target, computed, first, most;
  guint gen;

  bs_plan_options_init (&opts);
  opts.threads = 1;
  s = open_sample (&opts);
  g_assert_nonnull (bs_session_get_truth (s));
  g_assert_nonnull (bs_session_get_prepared_volume (s));
  g_assert_nonnull (bs_session_get_inputs_text (s));
  g_assert_cmpint (bs_session_get_case_index (s), ==, 0);
  g_assert_cmpint (bs_session_get_plane (s), ==, bs_session_get_net_plane (s));
  n = bs_session_get_n_slices (s);
  /* A case with labels opens on the slice with the most tumour. */
  first = bs_session_get_slice_index (s);
  bs_test_fullest_slice (bs_session_get_truth (s), 0, bs_session_get_plane (s), &most);
  g_assert_cmpint (most, >, 0);
  g_assert_cmpint (bs_test_slice_count (bs_session_get_truth (s), 0, bs_session_get_plane (s), first), ==, most);

  /* The visible slice comes first. */
  g_assert_true (bs_test_session_spin_until (s, visible_done, 120));
  g_assert_cmpint (bs_session_get_first_computed_slice (s), ==, first);
  bs_session_cancel_fill (s);
  target = first > n / 2 ? first - 7 : first + 7;
  bs_session_set_slice_index (s, target);
  g_assert_cmpint (bs_session_get_slice_index (s), ==, target);
  g_assert_true (bs_test_session_spin_until (s, visible_done, 60));
  bs_session_set_slice_index (s, n + 50);   /* clamped */
  g_assert_cmpint (bs_session_get_slice_index (s), ==, n - 1);

  /* New options: a new generation, results start again. */
  gen = bs_session_get_generation (s);
  opts.batch = 3;
  g_signal_connect (s, "notify::generation", G_CALLBACK (count_notify), &generation_notifies);
  bs_session_set_plan_options (s, &opts);
  g_assert_cmpuint (bs_session_get_generation (s), >, gen);
  g_assert_cmpint (bs_session_get_n_computed_slices (s), ==, 0);
  g_assert_cmpint (generation_notifies, ==, 1);
  /* The same options again (the active fp32 button clicked): no restart. */
  g_assert_true (bs_test_session_spin_until (s, one_more_slice, 60));
  gen = bs_session_get_generation (s);
  computed = bs_session_get_n_computed_slices (s);
  bs_session_set_plan_options (s, &opts);
  g_assert_cmpuint (bs_session_get_generation (s), ==, gen);
  g_assert_cmpint (bs_session_get_n_computed_slices (s), >=, computed);
  g_assert_cmpint (generation_notifies, ==, 1);

  /* Stopped: nothing more arrives; resumed: the volume completes, the
   * clean-up runs off the main thread and the volume Dice is known. */
  g_assert_true (bs_test_session_spin_until (s, one_more_slice, 60));
  bs_session_cancel_fill (s);
  g_assert_true (bs_session_fill_cancelled (s));
  {
    int stopped_at = -1;

    /* A batch already running may still land; then nothing more does.  Quiet
     * for 1.5 s: on a loaded machine a sanitizer build's batch took longer
     * than the 0.4 s this waited before. */
    for (int tries = 0; tries < 20 && stopped_at != bs_session_get_n_computed_slices (s); tries++)
      {
        stopped_at = bs_session_get_n_computed_slices (s);
        for (int i = 0; i < 1500; i++)
          g_main_context_iteration (NULL, FALSE), g_usleep (1000);
      }
    for (int i = 0; i < 800; i++)
      g_main_context_iteration (NULL, FALSE), g_usleep (1000);
    g_assert_cmpint (bs_session_get_n_computed_slices (s), ==, stopped_at);
    g_assert_cmpint (stopped_at, <, bs_session_get_n_net_slices (s));
  }
  bs_session_resume_fill (s);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  g_assert_true (bs_session_get_cleanup (s, NULL));
  g_assert_false (isnan (bs_session_get_volume_dice (s)));
  g_assert_false (isnan (bs_session_get_case_dice (s, 0)));
  g_assert_cmpfloat (bs_session_get_case_dice (s, 0), ==, bs_session_get_volume_dice (s));

  /* The timing rows are medians over the same runs as the ms/slice line, so
   * they add up to about it (the last run alone could be 2-4 times it). */
  {
    BsTiming t;
    double sum = 0, steady = bs_session_get_steady_ms_per_slice (s, NULL);

    g_assert_true (bs_session_get_steady_timing (s, &t));
    g_assert_cmpint (t.n_slices, ==, 1);
    for (int i = 0; i < t.n_stages; i++)
      sum += t.stages[i].ms;
    g_test_message ("stages add up to %.2f ms/slice, the median run %.2f", sum, steady);
    g_assert_cmpfloat (sum, >, 0.5 * steady);
    g_assert_cmpfloat (sum, <, 1.5 * steady);
  }

  /* Another plane is a reslice: nothing reruns, its slices are complete. */
  gen = bs_session_get_generation (s);
  bs_session_set_plane (s, BS_PLANE_CORONAL);
  g_assert_cmpuint (bs_session_get_generation (s), ==, gen);
  g_assert_true (bs_session_slice_is_computed (s, bs_session_get_slice_index (s)));
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 60));
  {
    BsConfusion c;
    g_assert_true (bs_session_get_slice_confusion (s, bs_session_get_slice_index (s), &c, NULL));
  }
}

/* A path that does not open: "failed" names it, the case and model stay. */
static void
test_failed_open (void)
{
  g_autoptr(BsSession) s = open_sample (NULL);
  BsTestFailures f = { 0 };
  g_autofree char *missing = g_build_filename (tmpdir, "no-such-case", NULL);
  BsCase *before = bs_session_get_case (s);
  const BsUnet *model = bs_session_get_model (s);

  g_signal_connect (s, "failed", G_CALLBACK (bs_test_session_on_failed), &f);
  bs_session_open_async (s, missing, BS_SESSION_MODEL_KEEP, NULL, NULL, NULL, NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_loaded, 60));
  g_assert_cmpint (f.n, ==, 1);
  g_assert_cmpuint (f.what, ==, BS_SESSION_FAILED_DATA);
  g_assert_nonnull (strstr (f.title, "no-such-case"));
  g_assert_true (bs_session_get_case (s) == before);
  g_assert_true (bs_session_get_model (s) == model);
  g_assert_null (bs_session_get_note (s));
  g_free (f.title);
}


/* A new model whose case cannot be read again (the files went away): the
 * open fails and the session keeps the case with the model that segmented
 * it, instead of naming the new model over the old prediction (review
 * finding). */
static void
test_failed_model_reload (void)
{
  g_autofree char *dir = g_build_filename (tmpdir, "vanishing", NULL);
  g_autofree char *other = bs_unet_shipped_model_path (BS_UNET_WT_MODEL);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsSession) s = bs_session_new ();
  BsTestFailures f = { 0 };
  BsCase *before;
  const BsUnet *model;

  if (other == NULL)
    {
      g_test_skip ("no shipped whole-tumour model");
      return;
    }
  g_assert_true (bs_phantom_write_task (dir, 1, 7, 64, 64, 40, &error));
  g_assert_no_error (error);
  bs_session_open_async (s, dir, BS_SESSION_MODEL_RANDOM, NULL, NULL, NULL, NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_loaded, 60));
  before = bs_session_get_case (s);
  model = bs_session_get_model (s);
  g_assert_nonnull (model);
  g_assert_null (model->path);

  bs_test_remove_tree (dir);
  g_signal_connect (s, "failed", G_CALLBACK (bs_test_session_on_failed), &f);
  bs_session_open_async (s, NULL, BS_SESSION_MODEL_LOAD, other, NULL, NULL, NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_loaded, 60));
  g_assert_cmpint (f.n, ==, 1);
  g_assert_cmpuint (f.what, ==, BS_SESSION_FAILED_CASE);
  g_assert_true (bs_session_get_case (s) == before);
  g_assert_true (bs_session_get_model (s) == model);
  g_assert_null (bs_session_get_model (s)->path);
  g_free (f.title);
}

/* The sequence shown goes on by name from case to case (walk finding: by
 * position, T1gd of a FLAIR + T1gd case became T1w of the next). */
static void
test_channel_by_name (void)
{
  g_autofree char *dir = g_build_filename (tmpdir, "two-sequences", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsVolume) image = NULL, label = NULL;
  g_autoptr(BsSession) s = bs_session_new ();
  const char *files[2] = { "two_flair.nii.gz", "two_t1ce.nii.gz" };
  int t1gd;

  g_assert_true (bs_phantom_generate (7, 0, 64, 64, 40, &image, &label, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  for (int k = 0; k < 2; k++)
    {
      g_autoptr(BsVolume) one = bs_volume_extract_channel (image, bs_volume_find_channel (image, k ? "T1gd" : "FLAIR"));
      g_autofree char *path = g_build_filename (dir, files[k], NULL);

      g_assert_true (bs_volume_save_nifti (one, path, DT_FLOAT32, &error));
      g_assert_no_error (error);
    }
  bs_session_open_async (s, dir, BS_SESSION_MODEL_RANDOM, NULL, NULL, NULL, NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_loaded, 60));
  g_assert_cmpint (bs_session_get_case (s)->image->n_channels, ==, 2);
  t1gd = bs_volume_find_channel (bs_session_get_case (s)->image, "T1gd");
  g_assert_cmpint (t1gd, ==, 1);
  bs_session_set_display_channel (s, t1gd);

  bs_session_open_async (s, sample, BS_SESSION_MODEL_KEEP, NULL, NULL, NULL, NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_loaded, 60));
  g_assert_cmpint (bs_session_get_case (s)->image->n_channels, ==, 4);
  g_assert_cmpstr (bs_modality_canonical (bs_session_get_case (s)->image->channel_names
                                            [bs_session_get_display_channel (s)]), ==, "T1gd");
  bs_test_remove_tree (dir);
}

static void
on_case_dice (BsSession *s, int index, GArray *seen)
{
  double d = bs_session_get_case_dice (s, index);

  g_array_append_val (seen, d);
}

/* Another model: the case list's Dice of the old one goes (walk finding: it
 * stayed beside the new model's partial Dice). */
static void
test_case_dice_reset_by_model (void)
{
  g_autofree char *other = bs_unet_shipped_model_path (BS_UNET_WT_MODEL);
  g_autoptr(GArray) seen = g_array_new (FALSE, FALSE, sizeof (double));
  BsPlanOptions opts;
  g_autoptr(BsSession) s = NULL;

  if (other == NULL)
    {
      g_test_skip ("no shipped whole-tumour model");
      return;
    }
  bs_plan_options_init (&opts);
  opts.threads = 1;
  s = open_sample (&opts);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  g_assert_false (isnan (bs_session_get_case_dice (s, 0)));
  g_signal_connect (s, "case-dice-changed", G_CALLBACK (on_case_dice), seen);
  bs_session_open_async (s, NULL, BS_SESSION_MODEL_LOAD, other, NULL, NULL, NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_loaded, 60));
  g_assert_cmpstr (bs_session_get_model (s)->path, ==, other);
  g_assert_cmpuint (seen->len, >=, 1);
  g_assert_true (isnan (g_array_index (seen, double, 0)));
}

/* Voxels where prob's mask and `brainseg-cli infer sample --precision int8
 * --layout nhwc --threads 1 [calibration]`'s differ; tumour: the CLI mask's. */
static gsize
differ_from_int8_cli (const BsVolume *prob, const char *calibration, gsize *tumour)
{
  g_autofree char *out = g_build_filename (tmpdir, "infer-int8.nii.gz", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BsVolume) cli = NULL;
  g_autofree char *err = NULL;
  gsize differ = 0;
  int status = 0;

  for (const char *a[] = { g_getenv ("BS_CLI"), "infer", sample, "--precision", "int8", "--layout", "nhwc",
                           "--threads", "1", "--calibration", calibration, "--out", out, NULL }, **p = a; *p; p++)
    g_ptr_array_add (argv, (gpointer) *p);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("brainseg-cli infer: %s\n%s", error->message, err);
  cli = bs_volume_load_nifti (out, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bs_volume_n_voxels (cli), ==, bs_volume_n_voxels (prob));
  *tumour = 0;
  for (gsize v = 0; v < bs_volume_n_voxels (prob); v++)
    {
      differ += (prob->data[v] > 0.5f) != (cli->data[v] > 0.5f);
      *tumour += cli->data[v] > 0.5f;
    }
  return differ;
}

/* The session's int8 mask is `brainseg-cli infer`'s, voxel by voxel, with
 * the three-plane mean both make by default: with the ranges stored in the
 * model (the default, said on the plan line), and with the switch that has
 * int8 measure the case's own (infer --calibration case). */
static void
test_int8_mask_matches_infer (void)
{
  g_autoptr(BsSession) s = NULL;
  BsPlanOptions opts;
  gsize differ, tumour = 0;

  if (!bs_precision_available (BS_PRECISION_INT8, NULL))
    {
      g_test_skip ("no int8 on this CPU");
      return;
    }
  bs_plan_options_init (&opts);
  opts.precision = BS_PRECISION_INT8;
  opts.layout = BS_MEMLAYOUT_NHWC;
  opts.threads = 1;
  s = open_sample (&opts);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  /* three planes, as infer's default: the volume is their mean */
  g_assert_true (opts.three_planes);
  g_assert_true (bs_session_planes_done (s));
  g_assert_cmpfloat (bs_session_get_planes_ms (s), >, 0.0);
  g_assert_nonnull (strstr (bs_session_get_plan_text (s), "three planes"));
  g_assert_nonnull (strstr (bs_session_get_plan_text (s), "int8 ranges stored with the model"));
  differ = differ_from_int8_cli (bs_session_get_probability_volume (s), "model", &tumour);
  g_test_message ("int8: %" G_GSIZE_FORMAT " tumour voxels, %" G_GSIZE_FORMAT " differ", tumour, differ);
  g_assert_cmpuint (tumour, >, 0);
  g_assert_cmpuint (differ, ==, 0);

  g_object_set (s, "calibrate-case", TRUE, NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled_on_case_ranges, 300));
  g_assert_nonnull (strstr (bs_session_get_plan_text (s), "int8 ranges measured on 4 slices of this case"));
  differ = differ_from_int8_cli (bs_session_get_probability_volume (s), "case", &tumour);
  g_test_message ("int8, the case's ranges: %" G_GSIZE_FORMAT " tumour voxels, %" G_GSIZE_FORMAT " differ", tumour,
                  differ);
  g_assert_cmpuint (tumour, >, 0);
  g_assert_cmpuint (differ, ==, 0);
}

static gboolean
planes_running (BsSession *s)
{
  return bs_session_planes_pending (s, NULL, NULL) && bs_session_is_busy (s);
}

/* The mask of bs_segment with three planes on or off, cleaned up, against
 * the session's volume: how many voxels differ. */
static gsize
differ_from_segment (BsSession *s, const BsPlanOptions *opts, gboolean three_planes)
{
  g_autoptr(BsSegmentResult) seg = NULL;
  g_autoptr(GError) error = NULL;
  BsSegmentOptions so;
  const BsVolume *prob = bs_session_get_probability_volume (s);
  gsize differ = 0;

  bs_segment_options_init (&so);
  so.plan = *opts;
  so.plan.three_planes = three_planes;
  seg = bs_segment (bs_session_get_model (s), bs_session_get_prepared_volume (s), NULL, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (gsize v = 0; v < bs_volume_n_voxels (prob); v++)
    differ += (prob->data[v] > 0.5f) != (seg->mask->data[v] > 0.5f);
  return differ;
}

/* Walk finding: switching three planes on or off predicted the whole volume
 * again. On, after the axial volume is done: the passes run on it, and the
 * end is bs_segment's three-plane mask; off during the passes: they stop and
 * the axial volume is cleaned up as it stands. Neither starts a new run. */
static void
test_planes_switch_keeps_axial (void)
{
  g_autoptr(BsSession) s = NULL;
  BsPlanOptions opts;
  guint generation;

  bs_plan_options_init (&opts);
  opts.threads = 1;
  opts.three_planes = FALSE;
  s = open_sample (&opts);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  generation = bs_session_get_generation (s);
  opts.three_planes = TRUE;
  bs_session_set_plan_options (s, &opts);
  g_assert_cmpuint (bs_session_get_generation (s), ==, generation);
  g_assert_true (bs_session_volume_complete (s));
  g_assert_true (bs_session_planes_pending (s, NULL, NULL));
  g_assert_true (bs_session_is_busy (s));
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  g_assert_true (bs_session_planes_done (s));
  g_assert_cmpuint (bs_session_get_generation (s), ==, generation);
  g_assert_cmpuint (differ_from_segment (s, &opts, TRUE), ==, 0);

  /* off after the mean replaced the axial volume: predicted again */
  opts.three_planes = FALSE;
  bs_session_set_plan_options (s, &opts);
  g_assert_cmpuint (bs_session_get_generation (s), >, generation);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  /* on, and off again while the passes run: back to the axial volume, no new run */
  generation = bs_session_get_generation (s);
  opts.three_planes = TRUE;
  bs_session_set_plan_options (s, &opts);
  g_assert_true (bs_test_session_spin_until (s, planes_running, 300));
  opts.three_planes = FALSE;
  bs_session_set_plan_options (s, &opts);
  g_assert_cmpuint (bs_session_get_generation (s), ==, generation);
  g_assert_false (bs_session_planes_pending (s, NULL, NULL));
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  g_assert_cmpuint (differ_from_segment (s, &opts, FALSE), ==, 0);
}

static gboolean
wt_metrics_known (BsSession *s)
{
  BsRegionMetrics m;

  return !bs_session_is_busy (s) && bs_session_get_region_metrics (s, BS_REGION_WT, &m);
}

/* Three planes, stopped while the coronal and sagittal passes run (walk
 * finding: nothing could resume them, and the axial figures stayed): the
 * session says they are pending and stopped, the volume stays the axial
 * one; Resume runs them and ends in bs_segment's three-plane mask. */
static void
test_planes_stop_resume (void)
{
  g_autoptr(BsSession) s = NULL;
  g_autoptr(BsSegmentResult) seg = NULL;
  g_autoptr(GError) error = NULL;
  BsSegmentOptions so;
  BsPlanOptions opts;
  const BsVolume *prob;
  gsize differ = 0, tumour = 0;
  int done = -1, total = -1;

  bs_plan_options_init (&opts);
  opts.threads = 1;
  s = open_sample (&opts);
  g_assert_true (bs_test_session_spin_until (s, planes_running, 300));
  g_assert_true (bs_session_planes_pending (s, &done, &total));
  /* the slices through the tumour's box of the axial volume, fewer than all */
  g_assert_cmpint (total, ==, bs_segment_other_planes_slices (bs_session_get_prepared_volume (s),
                                                              bs_session_get_net_plane (s),
                                                              bs_session_get_probability_volume (s)));
  g_assert_cmpint (total, >, 0);
  g_assert_cmpint (total, <, bs_segment_other_planes_slices (bs_session_get_prepared_volume (s),
                                                             bs_session_get_net_plane (s), NULL));
  /* Stop and Resume at once: the stopped run ends after the new one started
   * (a race that once ended the new one's bookkeeping) */
  bs_session_cancel_fill (s);
  g_assert_true (bs_session_fill_cancelled (s));
  /* (busy now only with measuring the axial volume, which Resume overtakes) */
  bs_session_resume_fill (s);
  g_assert_true (bs_session_is_busy (s));
  /* then Stop, a pause, and Resume */
  g_assert_true (bs_test_session_spin_until (s, planes_running, 300));
  bs_session_cancel_fill (s);
  {
    gint64 until = g_get_monotonic_time () + 300 * 1000;
    while (g_get_monotonic_time () < until)
      g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  }
  g_assert_true (bs_session_planes_pending (s, NULL, NULL));
  g_assert_false (bs_session_planes_done (s));
  /* stopped, the axial volume is cleaned up and measured as it stands (its
   * table stayed "…" for good) */
  g_assert_true (bs_test_session_spin_until (s, wt_metrics_known, 120));
  g_assert_false (bs_session_is_busy (s));
  g_assert_true (bs_session_planes_pending (s, NULL, NULL));
  bs_session_resume_fill (s);
  g_assert_true (bs_session_is_busy (s));
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  g_assert_false (bs_session_planes_pending (s, NULL, NULL));
  g_assert_true (bs_session_planes_done (s));

  bs_segment_options_init (&so);
  so.plan = opts;
  seg = bs_segment (bs_session_get_model (s), bs_session_get_prepared_volume (s), NULL, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (seg->three_planes);
  prob = bs_session_get_probability_volume (s);
  for (gsize v = 0; v < bs_volume_n_voxels (prob); v++)
    {
      differ += (prob->data[v] > 0.5f) != (seg->mask->data[v] > 0.5f);
      tumour += seg->mask->data[v] > 0.5f;
    }
  g_test_message ("stopped and resumed: %" G_GSIZE_FORMAT " tumour voxels, %" G_GSIZE_FORMAT " differ", tumour, differ);
  g_assert_cmpuint (tumour, >, 0);
  g_assert_cmpuint (differ, ==, 0);
}

/* Walk finding: in a coronal view while the three-plane passes ran (or
 * stood stopped), the slice's tumour core and enhancing tumour had figures
 * and the whole tumour read "…". The whole tumour's slice counts are there
 * too, and they are the slice of the axial result. */
static void
test_planes_other_plane_slice_counts (void)
{
  g_autoptr(BsSession) s = NULL;
  g_autofree float *p = NULL, *t = NULL;
  BsPlanOptions opts;
  BsConfusion c, want = { 0 };
  const BsVolume *truth;
  int w, h, slice;

  bs_plan_options_init (&opts);
  opts.threads = 1;
  s = open_sample (&opts);
  truth = bs_session_get_truth (s);
  g_assert_nonnull (truth);
  g_assert_true (bs_test_session_spin_until (s, planes_running, 300));
  bs_session_cancel_fill (s);
  g_assert_true (bs_session_planes_pending (s, NULL, NULL));
  bs_session_set_plane (s, BS_PLANE_CORONAL);
  bs_volume_slice_size (truth, BS_PLANE_CORONAL, &w, &h);
  p = g_new (float, (gsize) w * h);
  t = g_new (float, (gsize) w * h);
  /* the coronal slice with the most tumour */
  slice = bs_test_fullest_slice (truth, 0, BS_PLANE_CORONAL, NULL);
  g_assert_cmpint (slice, >=, 0);
  bs_session_set_slice_index (s, slice);
  g_assert_true (bs_session_get_slice_confusion (s, slice, &c, NULL));
  bs_volume_get_slice (bs_session_get_probability_volume (s), 0, BS_PLANE_CORONAL, slice, p);
  bs_volume_get_slice (truth, 0, BS_PLANE_CORONAL, slice, t);
  bs_confusion_add (&want, p, t, (gsize) w * h);
  g_test_message ("coronal slice %d: tp %" G_GUINT64_FORMAT " fp %" G_GUINT64_FORMAT " fn %" G_GUINT64_FORMAT,
                  slice, c.tp, c.fp, c.fn);
  g_assert_cmpuint (want.tp, >, 0);
  g_assert_cmpuint (c.tp, ==, want.tp);
  g_assert_cmpuint (c.fp, ==, want.fp);
  g_assert_cmpuint (c.fn, ==, want.fn);
  g_assert_cmpuint (c.tn, ==, want.tn);
  if (bs_session_get_truth_region (s, BS_REGION_TC) != NULL && bs_session_model_has_region (s, BS_REGION_TC))
    g_assert_true (bs_session_get_region_slice_confusion (s, BS_REGION_TC, slice, &c, NULL));
}

typedef struct {
  GThread *main_thread;
  int on_main, elsewhere;
} NotifyThreads;

static void
on_any_notify (BsSession *s, GParamSpec *pspec, NotifyThreads *t)
{
  if (g_thread_self () == t->main_thread)
    g_atomic_int_inc (&t->on_main);
  else
    g_atomic_int_inc (&t->elsewhere);
}

/* The passes' progress reaches the session from its worker. While the main
 * thread is busy outside the loop (here: asleep, owning no context), that
 * progress still has to wait for the main loop: a notify from the worker ran
 * the window's handlers in the wrong thread (CI caught a GLib critical in the
 * progress row). */
static void
test_planes_progress_main_thread (void)
{
  g_autoptr(BsSession) s = NULL;
  NotifyThreads t = { g_thread_self (), 0, 0 };
  BsPlanOptions opts;
  gulong id;

  bs_plan_options_init (&opts);
  opts.threads = 1;
  s = open_sample (&opts);
  g_assert_true (bs_test_session_spin_until (s, planes_running, 300));
  id = g_signal_connect (s, "notify", G_CALLBACK (on_any_notify), &t);
  /* the main thread away from the loop for a while, then back */
  for (int i = 0; i < 20 && bs_session_planes_pending (s, NULL, NULL); i++)
    g_usleep (100 * 1000);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  g_assert_true (bs_test_session_spin_until (s, bs_session_planes_done, 300));
  g_signal_handler_disconnect (s, id);
  g_test_message ("notifies: %d on the main thread, %d elsewhere", t.on_main, t.elsewhere);
  g_assert_cmpint (t.on_main, >, 0);
  g_assert_cmpint (t.elsewhere, ==, 0);
}

static gboolean
region_metrics_known (BsSession *s)
{
  BsRegionMetrics m;

  return bs_test_session_settled (s) && bs_session_get_region_metrics (s, BS_REGION_ET, &m);
}

/* A session on path with the weights at model_path, on one thread, loaded. */
static BsSession *
open_with_model (const char *path, const char *model_path)
{
  BsSession *s = bs_session_new ();
  BsPlanOptions opts;

  bs_plan_options_init (&opts);
  opts.threads = 1;
  bs_session_set_plan_options (s, &opts);
  bs_session_open_async (s, path, BS_SESSION_MODEL_LOAD, model_path, NULL, NULL, NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_loaded, 120));
  return s;
}

/* `brainseg-cli infer PATH --model MODEL --threads 1 --json`, parsed into
 * parser: its "regions" object. */
static JsonObject *
infer_regions (const char *path, const char *model_path, JsonParser *parser)
{
  const char *argv[] = { g_getenv ("BS_CLI"), "infer", path, "--model", model_path, "--threads", "1", "--json", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("brainseg-cli infer: %s\n%s", error->message, err);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  return json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "regions");
}

/* A case whose labels cannot tell the core and the enhancing tumour apart
 * (TCGA-DU-7294's fused labels, 0/1/2 in no release's convention) with the
 * region model: the session still has the predicted core and enhancing
 * volumes (walk finding: the window showed "–"), no Dice for them, and the
 * same volumes as `brainseg-cli infer --json`. */
static void
test_regions_without_sub_labels (void)
{
  const char *samples = g_getenv ("BS_SAMPLES_DIR");
  g_autofree char *dir = samples != NULL ? g_build_filename (samples, "tcga-du-7294", NULL) : NULL;
  g_autofree char *model = bs_unet_default_model_path ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(BsSession) s = NULL;
  JsonObject *regions;

  if (dir == NULL || !g_file_test (dir, G_FILE_TEST_IS_DIR) || model == NULL)
    {
      g_test_skip ("real samples (BS_SAMPLES_DIR/tcga-du-7294) or the shipped model absent");
      return;
    }
  s = open_with_model (dir, model);
  if (!bs_session_model_has_region (s, BS_REGION_ET))
    {
      g_test_skip ("the shipped model predicts the whole tumour only");
      return;
    }
  g_assert_nonnull (bs_session_get_truth (s));
  g_assert_null (bs_session_get_truth_region (s, BS_REGION_TC));
  g_assert_true (bs_test_session_spin_until (s, region_metrics_known, 600));
  regions = infer_regions (dir, model, parser);
  for (int r = BS_REGION_TC; r < BS_N_REGIONS; r++)
    {
      JsonObject *o = json_object_get_object_member (regions, bs_region_name (r));
      BsRegionMetrics m;

      g_assert_true (bs_session_get_region_metrics (s, r, &m));
      g_test_message ("%s: session %.2f ml, infer %.2f ml", bs_region_name (r), m.volume_ml,
                      json_object_get_double_member (o, "volume_ml"));
      g_assert_true (isnan (m.dice));
      /* this LGG has a core; its enhancing tumour may be nothing */
      g_assert_cmpfloat (m.volume_ml, >, r == BS_REGION_TC ? 0.0 : -1e-9);
      g_assert_cmpfloat (fabs (m.volume_ml - json_object_get_double_member (o, "volume_ml")), <, 1e-6);
    }
}

/* The session (the window's worker) on model_path gives the same per-region
 * Dice, HD95 and volume as `brainseg-cli infer --json`; the regions' volumes
 * go to ml when not NULL, the session's inputs line to inputs. */
static void
check_session_matches_infer (const char *model_path, double *ml, char **inputs)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  BsSession *s;
  JsonObject *regions;

  s = open_with_model (sample, model_path);
  g_assert_true (bs_session_model_has_region (s, BS_REGION_TC));
  g_assert_true (bs_session_model_has_region (s, BS_REGION_ET));
  g_assert_true (bs_test_session_spin_until (s, region_metrics_known, 600));
  *inputs = g_strdup (bs_session_get_inputs_text (s));

  regions = infer_regions (sample, model_path, parser);
  for (int r = 0; r < BS_N_REGIONS; r++)
    {
      JsonObject *o = json_object_get_object_member (regions, bs_region_name (r));
      BsRegionMetrics m;

      g_assert_true (bs_session_get_region_metrics (s, r, &m));
      g_assert_true (json_object_get_boolean_member (o, "predicted"));
      g_test_message ("%s: session Dice %.6f HD95 %.3f mm %.2f ml; infer Dice %.6f HD95 %.3f mm", bs_region_name (r),
                      m.dice, m.hd95_mm, m.volume_ml, json_object_get_double_member (o, "dice"),
                      json_object_get_double_member (o, "hd95"));
      g_assert_cmpfloat (fabs (m.dice - json_object_get_double_member (o, "dice")), <, 1e-9);
      g_assert_cmpfloat (fabs (m.hd95_mm - json_object_get_double_member (o, "hd95")), <, 1e-6);
      g_assert_cmpfloat (fabs (m.volume_ml - json_object_get_double_member (o, "volume_ml")), <, 1e-6);
      if (ml)
        ml[r] = m.volume_ml;
    }
  g_object_unref (s);
}

/* A region model (the shipped model's whole-tumour head copied to TC and ET,
 * their biases lowered so that they mark less): the window's session shows
 * the same per-region Dice and HD95 as `brainseg-cli infer --json`, with
 * the regions nested as the pipeline nests them. */
static void
test_regions_match_infer (void)
{
  g_autofree char *model_path = NULL;
  g_autofree char *inputs = NULL;
  g_autoptr(GError) error = NULL;
  double ml[BS_N_REGIONS];

  model_path = bs_test_region_model (tmpdir, &error);
  g_assert_no_error (error);
  if (model_path == NULL)
    {
      g_test_skip ("no shipped model to derive a region model from");
      return;
    }
  check_session_matches_infer (model_path, ml, &inputs);
  /* Nested and not empty: otherwise the agreement proves little. */
  g_assert_cmpfloat (ml[BS_REGION_ET], >, 0.0);
  g_assert_cmpfloat (ml[BS_REGION_ET], <, ml[BS_REGION_TC]);
  g_assert_cmpfloat (ml[BS_REGION_TC], <, ml[BS_REGION_WT]);
  g_unlink (model_path);
}

/* 2.5D: the window's worker fills each slice's neighbours as infer does (the
 * same Dice, HD95 and volumes per region), the plan line says so, and the
 * neighbours change the mask (another volume than the 2D model's). */
static void
test_context_matches_infer (void)
{
  g_autofree char *model_path = NULL;
  g_autofree char *shipped = bs_unet_shipped_model_path (BS_UNET_DEFAULT_MODEL);
  g_autofree char *inputs = NULL, *flat_inputs = NULL;
  g_autoptr(GError) error = NULL;
  double ml[BS_N_REGIONS], flat_ml[BS_N_REGIONS];

  model_path = bs_test_context_model (tmpdir, &error);
  g_assert_no_error (error);
  if (model_path == NULL)
    {
      g_test_skip ("no shipped model to derive a 2.5D model from");
      return;
    }
  check_session_matches_infer (model_path, ml, &inputs);
  g_test_message ("%s", inputs);
  g_assert_nonnull (strstr (inputs, "± 1"));
  check_session_matches_infer (shipped, flat_ml, &flat_inputs);
  g_assert_null (strstr (flat_inputs, "±"));
  g_test_message ("whole tumour: 2.5D %.3f ml, 2D %.3f ml", ml[BS_REGION_WT], flat_ml[BS_REGION_WT]);
  g_assert_cmpfloat (fabs (ml[BS_REGION_WT] - flat_ml[BS_REGION_WT]), >, 0.01);
  g_unlink (model_path);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  sample = bs_sample_default_path ();
  if (sample == NULL)
    {
      g_test_message ("no bundled sample built");
      return 77;
    }
  tmpdir = g_dir_make_tmp ("bs-session-XXXXXX", NULL);
  g_test_add_func ("/session/open-and-slices", test_open_and_slices);
  g_test_add_func ("/session/failed-open", test_failed_open);
  g_test_add_func ("/session/failed-model-reload", test_failed_model_reload);
  g_test_add_func ("/session/channel-by-name", test_channel_by_name);
  g_test_add_func ("/session/case-dice-reset-by-model", test_case_dice_reset_by_model);
  g_test_add_func ("/session/int8-mask-matches-infer", test_int8_mask_matches_infer);
  g_test_add_func ("/session/three-planes-stop-resume", test_planes_stop_resume);
  g_test_add_func ("/session/three-planes-switch-keeps-axial", test_planes_switch_keeps_axial);
  g_test_add_func ("/session/three-planes-progress-main-thread", test_planes_progress_main_thread);
  g_test_add_func ("/session/three-planes-other-plane-slice-counts", test_planes_other_plane_slice_counts);
  g_test_add_func ("/session/regions-match-infer", test_regions_match_infer);
  g_test_add_func ("/session/regions-without-sub-labels", test_regions_without_sub_labels);
  g_test_add_func ("/session/context-matches-infer", test_context_matches_infer);
  status = g_test_run ();
  {
    g_autofree char *out = g_build_filename (tmpdir, "infer-int8.nii.gz", NULL);
    g_unlink (out);
    g_rmdir (tmpdir);
  }
  g_free (tmpdir);
  g_free (sample);
  return status;
}
