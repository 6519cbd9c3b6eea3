/* BsSession without a window: the state it is left in after a step a user
 * takes that changes nothing now (an option for later) or that fails (a
 * model for other inputs).  Findings of a walk through the window. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include <nifti1.h>

#include "bs-nifti.h"
#include "bs-phantom.h"
#include "bs-session.h"
#include "session-harness.h"
#include "test-util.h"

static char *sample, *tmpdir;

static gboolean
not_loading (BsSession *s)
{
  return !bs_session_is_loading (s);
}

/* path opened with the shipped default model and opts, loaded */
static BsSession *
open_with_default (const char *path, const BsPlanOptions *opts)
{
  BsSession *s = bs_session_new ();
  g_autofree char *model = bs_unet_default_model_path ();

  bs_session_set_plan_options (s, opts);
  bs_session_open_async (s, path, model != NULL ? BS_SESSION_MODEL_LOAD : BS_SESSION_MODEL_RANDOM, model, NULL,
                         NULL, NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_loaded, 120));
  return s;
}

/* Walk finding: "Measure int8 Ranges on the Open Case" (main menu, a check
 * item) clicked in fp32 stayed unticked and int8 then took the model's
 * ranges: an option the running plan does not use was dropped.  It is kept,
 * nothing is predicted again for it, and int8 uses it. */
static void
test_calibrate_case_kept_in_fp32 (void)
{
  g_autoptr(BsSession) s = NULL;
  BsPlanOptions opts;
  gboolean on = FALSE;
  guint generation;

  if (!bs_precision_available (BS_PRECISION_INT8, NULL))
    {
      g_test_skip ("no int8 on this CPU");
      return;
    }
  bs_plan_options_init (&opts);
  opts.threads = 1;
  opts.three_planes = FALSE;
  s = open_with_default (sample, &opts);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  generation = bs_session_get_generation (s);

  g_object_set (s, "calibrate-case", TRUE, NULL);
  g_object_get (s, "calibrate-case", &on, NULL);
  g_assert_true (on);
  g_assert_cmpuint (bs_session_get_generation (s), ==, generation);
  g_assert_true (bs_test_session_settled (s));

  g_object_set (s, "precision", "int8", NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled_on_case_ranges, 300));
  g_assert_nonnull (strstr (bs_session_get_plan_text (s), "int8 ranges measured on 4 slices of this case"));
}

/* A phantom case folder under tmpdir/name with n of its sequences (names[k]
 * as files[k], .nii.gz), on voxels of spacing mm. */
static char *
write_phantom_case (const char *name, guint64 seed, const char *const *names, const char *const *files, int n,
                    const double spacing[3])
{
  char *dir = g_build_filename (tmpdir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsVolume) image = NULL, label = NULL;

  g_assert_true (bs_phantom_generate (seed, 0, 64, 64, 40, &image, &label, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  for (int k = 0; k < n; k++)
    {
      g_autoptr(BsVolume) one = bs_volume_extract_channel (image, bs_volume_find_channel (image, names[k]));
      g_autofree char *path = g_build_filename (dir, files[k], NULL);

      for (int a = 0; a < 3; a++)
        {
          one->affine[a][a] *= spacing[a] / one->spacing[a];
          one->spacing[a] = spacing[a];
        }
      g_assert_true (bs_volume_save_nifti (one, path, DT_FLOAT32, &error));
      g_assert_no_error (error);
    }
  return dir;
}

/* A case folder with T1w and T1gd only (no FLAIR), as .nii.gz files. */
static char *
write_case_without_flair (void)
{
  static const char *names[2] = { "T1w", "T1gd" };
  static const char *files[2] = { "case_t1.nii.gz", "case_t1ce.nii.gz" };
  static const double mm[3] = { 1.0, 1.0, 1.0 };

  return write_phantom_case ("no-flair", 11, names, files, 2, mm);
}

/* Walk finding: loading a FLAIR-only model over a case without FLAIR said
 * "Could not load case “…”", blaming a case that had opened and segmented
 * well.  The failure is the model's and its title names the model and the
 * case; the window keeps both as they were. */
static void
test_model_for_other_inputs (void)
{
  g_autofree char *dir = write_case_without_flair ();
  g_autofree char *model_path = g_build_filename (tmpdir, "flair-only.h5", NULL);
  g_autoptr(BsSession) s = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BsUnet) flair_only = NULL;
  char *modalities[] = { (char *) "FLAIR", NULL };
  BsUnetConfig config = { 0 };
  BsPlanOptions opts;
  BsTestFailures f = { 0 };
  BsCase *before;
  const BsUnet *model;

  bs_plan_options_init (&opts);
  opts.threads = 1;
  opts.three_planes = FALSE;
  s = open_with_default (dir, &opts);
  before = bs_session_get_case (s);
  model = bs_session_get_model (s);
  g_assert_cmpint (before->image->n_channels, ==, 2);

  config.fms = 4;
  config.in_channels = 1;
  config.upsample = BS_UPSAMPLE_TRANSPOSED;
  config.modalities = modalities;
  config.normalisation = (char *) "zscore-foreground";
  config.crop = 128;
  flair_only = bs_unet_new_random (&config, 3);
  g_assert_true (bs_unet_save_h5 (flair_only, model_path, &error));
  g_assert_no_error (error);

  g_signal_connect (s, "failed", G_CALLBACK (bs_test_session_on_failed), &f);
  bs_session_open_async (s, NULL, BS_SESSION_MODEL_LOAD, model_path, NULL, NULL, NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_loaded, 60));
  g_assert_cmpint (f.n, ==, 1);
  g_assert_cmpuint (f.what, ==, BS_SESSION_FAILED_MODEL);
  g_test_message ("%s", f.title);
  g_assert_nonnull (strstr (f.title, "flair-only.h5"));
  g_assert_nonnull (strstr (f.title, before->id));
  g_assert_null (strstr (f.title, "Could not load case"));
  g_assert_true (bs_session_get_case (s) == before);
  g_assert_true (bs_session_get_model (s) == model);
  g_free (f.title);
  g_unlink (model_path);
  bs_test_remove_tree (dir);
}

/* The other way round: data opened with a model (a window starting) that
 * the model cannot take is the data's failure, and the title names the file
 * (walk finding: after the fix above it said the shipped model "cannot
 * segment" a file whose name says no sequence). */
static void
test_unnamed_file_at_start (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "scan.nii.gz", NULL);
  g_autofree char *model = bs_unet_default_model_path ();
  g_autoptr(BsSession) s = bs_session_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BsVolume) image = NULL, label = NULL, flair = NULL;
  BsTestFailures f = { 0 };

  if (model == NULL)
    {
      g_test_skip ("no shipped model built");
      return;
    }
  g_assert_true (bs_phantom_generate (5, 0, 64, 64, 40, &image, &label, &error));
  g_assert_no_error (error);
  flair = bs_volume_extract_channel (image, bs_volume_find_channel (image, "FLAIR"));
  g_assert_true (bs_volume_save_nifti (flair, path, DT_FLOAT32, &error));
  g_assert_no_error (error);
  g_signal_connect (s, "failed", G_CALLBACK (bs_test_session_on_failed), &f);
  bs_session_open_async (s, path, BS_SESSION_MODEL_LOAD, model, NULL, NULL, NULL);
  g_assert_true (bs_test_session_spin_until (s, not_loading, 60));
  g_assert_cmpint (f.n, ==, 1);
  g_assert_cmpuint (f.what, ==, BS_SESSION_FAILED_DATA);
  g_assert_nonnull (strstr (f.title, "scan.nii.gz"));
  g_assert_null (strstr (f.title, "brainseg-default"));
  g_free (f.title);
  g_unlink (path);
}

/* Walk finding: a model path mistyped in Preferences ("Model at start")
 * opened nothing, not even the case given on the command line: the window
 * said the model could not load over empty panes.  The case opens with the
 * shipped model, and the note names the model that did not load. */
static void
test_startup_model_missing (void)
{
  g_autofree char *missing = g_build_filename (tmpdir, "mistyped.h5", NULL);
  g_autofree char *shipped = bs_unet_default_model_path ();
  g_autoptr(BsSession) s = bs_session_new ();
  BsPlanOptions opts;
  BsTestFailures f = { 0 };

  if (shipped == NULL)
    {
      g_test_skip ("no shipped model built");
      return;
    }
  bs_plan_options_init (&opts);
  opts.threads = 1;
  opts.three_planes = FALSE;
  bs_session_set_plan_options (s, &opts);
  g_signal_connect (s, "failed", G_CALLBACK (bs_test_session_on_failed), &f);
  bs_session_open_async (s, sample, BS_SESSION_MODEL_LOAD, missing, NULL, NULL, NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_loaded, 120));
  g_assert_cmpint (f.n, ==, 0);
  g_assert_nonnull (bs_session_get_model (s));
  g_assert_cmpstr (bs_session_get_model (s)->path, ==, shipped);
  g_assert_nonnull (bs_session_get_note (s));
  g_test_message ("%s", bs_session_get_note (s));
  g_assert_nonnull (strstr (bs_session_get_note (s), "mistyped.h5"));
  g_assert_nonnull (strstr (bs_session_get_note (s), BS_UNET_DEFAULT_MODEL));
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));

  /* the next model that loads clears the note */
  bs_session_open_async (s, NULL, BS_SESSION_MODEL_LOAD, shipped, NULL, NULL, NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_loaded, 120));
  g_assert_null (bs_session_get_note (s));
}

/* Walk finding: a case whose ground truth is damaged was refused whole, so
 * its scan could not even be looked at.  It opens without the truth; the
 * Dice panel's warning and the error the window shows name the file. */
static void
test_damaged_truth_opens_case (void)
{
  g_autofree char *dir = g_build_filename (tmpdir, "damaged-truth", NULL);
  g_autofree char *seg = g_build_filename (dir, "labelsTr", "phantom_001.nii.gz", NULL);
  g_autofree char *model = bs_unet_default_model_path ();
  g_autofree gchar *bytes = NULL;
  g_autoptr(BsSession) s = bs_session_new ();
  g_autoptr(GError) error = NULL, truth_error = NULL;
  BsTestFailures f = { 0 };
  gsize len = 0;
  BsPlanOptions opts;

  g_assert_true (bs_phantom_write_task (dir, 1, 3, 64, 64, 32, &error));
  g_assert_no_error (error);
  /* cut the label file in half */
  g_assert_true (g_file_get_contents (seg, &bytes, &len, &error));
  g_assert_true (g_file_set_contents (seg, bytes, (gssize) (len / 2), &error));
  bs_plan_options_init (&opts);
  opts.threads = 1;
  opts.three_planes = FALSE;
  bs_session_set_plan_options (s, &opts);
  g_signal_connect (s, "failed", G_CALLBACK (bs_test_session_on_failed), &f);
  bs_session_open_async (s, dir, model != NULL ? BS_SESSION_MODEL_LOAD : BS_SESSION_MODEL_RANDOM, model, NULL, NULL,
                         NULL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_loaded, 120));
  g_assert_cmpint (f.n, ==, 0);
  g_assert_nonnull (bs_session_get_case (s));
  g_assert_null (bs_session_get_truth (s));
  g_assert_nonnull (bs_session_get_missing_inputs_warning (s));
  g_test_message ("%s", bs_session_get_missing_inputs_warning (s));
  g_assert_nonnull (strstr (bs_session_get_missing_inputs_warning (s), "labelsTr"));
  truth_error = bs_session_take_truth_error (s);
  g_assert_nonnull (truth_error);
  g_assert_nonnull (strstr (truth_error->message, "labelsTr"));
  g_assert_null (bs_session_take_truth_error (s));   /* once */
  /* the scan is segmented as any case without labels */
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  g_assert_false (bs_session_inference_failed (s));
  bs_test_remove_tree (dir);
}

/* A clinical scan: thick slices (here 4 mm) of fine pixels (0.6 mm).  The
 * case opens resampled to about 1 mm pixels, as the model learned, and the
 * window says so; with three planes on it runs the network on its own slices
 * only and its plan line says why, instead of passes on stretched slices. */
static void
test_thick_slices_one_plane (void)
{
  static const char *names[4] = { "FLAIR", "T1w", "T1gd", "T2w" };
  static const char *files[4] = { "case_flair.nii.gz", "case_t1.nii.gz", "case_t1ce.nii.gz", "case_t2.nii.gz" };
  static const double mm[3] = { 0.6, 0.6, 4.0 };
  g_autofree char *dir = write_phantom_case ("thick", 13, names, files, 4, mm);
  g_autoptr(BsSession) s = NULL;
  BsPlanOptions opts;

  bs_plan_options_init (&opts);
  opts.threads = 1;
  g_assert_true (opts.three_planes);
  s = open_with_default (dir, &opts);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  g_test_message ("%s", bs_session_get_plan_text (s));
  g_assert_false (bs_session_three_planes_apply (s));
  g_assert_false (bs_session_planes_done (s));
  g_assert_false (bs_session_planes_pending (s, NULL, NULL));
  g_assert_nonnull (strstr (bs_session_get_plan_text (s), "one plane (slices 4 mm thick)"));
  g_assert_nonnull (bs_session_get_missing_inputs_warning (s));
  g_assert_nonnull (strstr (bs_session_get_missing_inputs_warning (s),
                            "Resampled from the file's voxels of 0.6 x 0.6 x 4 mm to 1 x 1 x 4 mm"));
  g_assert_cmpint (bs_session_get_case (s)->image->dims[0], ==, 38);
  g_assert_null (strstr (bs_session_get_plan_text (s), "three planes"));
}

/* The value region's mask has at displayed pixel (x, y) of the viewed slice. */
static float
mask_at (BsSession *s, BsRegion region, int x, int y)
{
  const BsVolume *prob = bs_session_get_probability_volume (s);
  BsPlane plane = bs_session_get_plane (s);
  int w, h;
  g_autofree float *buf = NULL;

  bs_volume_slice_size (prob, plane, &w, &h);
  buf = g_new (float, (gsize) w * h);
  g_assert_true (bs_session_get_region_slice (s, region, plane, bs_session_get_slice_index (s), buf));
  return buf[(gsize) y * w + x];
}

/* Corrections (the window's brush): only once the volume is done; a stroke
 * marks the region (and, for the enhancing tumour, the core and the whole
 * tumour around it), the volume's counts follow, undo gives them back
 * exactly, redo does it again, and switching the clean-up puts the network's
 * prediction back and forgets the strokes. */
static void
test_corrections (void)
{
  g_autoptr(BsSession) s = NULL;
  g_autofree char *why = NULL;
  BsPlanOptions opts;
  BsConfusion before, after, undone, again, raw_before, raw;
  int n_redo;

  bs_plan_options_init (&opts);
  opts.threads = 1;
  s = open_with_default (sample, &opts);
  if (!bs_session_volume_complete (s))
    {
      g_assert_false (bs_session_can_edit (s, &why));
      g_assert_nonnull (why);
    }
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  g_assert_true (bs_session_can_edit (s, NULL));
  g_assert_nonnull (bs_session_get_truth (s));
  bs_session_get_volume_confusion (s, &before, &raw_before);
  g_assert_cmpfloat (mask_at (s, BS_REGION_WT, 3, 3), ==, 0.0f);

  /* a stroke in the slice's corner, where there is no tumour */
  bs_session_edit_begin (s, FALSE, 2.0);
  bs_session_edit_to (s, 3, 3);
  bs_session_edit_to (s, 12, 3);
  bs_session_edit_end (s);
  g_assert_cmpint (bs_session_get_n_edits (s, &n_redo), ==, 1);
  g_assert_cmpint (n_redo, ==, 0);
  g_assert_cmpfloat (mask_at (s, BS_REGION_WT, 3, 3), ==, 1.0f);
  g_assert_cmpfloat (mask_at (s, BS_REGION_WT, 8, 3), ==, 1.0f);   /* along the way */
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 120));
  bs_session_get_volume_confusion (s, &after, NULL);
  g_test_message ("false positives %" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT, before.fp, after.fp);
  g_assert_cmpuint (after.fp, >, before.fp);
  g_assert_cmpuint (after.tp, ==, before.tp);
  /* another plane and back: the recounts keep the correction (review
   * finding: a newer job without it put the old counts back) */
  bs_session_set_plane (s, BS_PLANE_CORONAL);
  bs_session_set_plane (s, BS_PLANE_AXIAL);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 120));
  bs_session_get_volume_confusion (s, &again, NULL);
  g_assert_cmpmem (&again, sizeof again, &after, sizeof after);

  g_assert_true (bs_session_model_has_region (s, BS_REGION_ET));
    {
      bs_session_set_region (s, BS_REGION_ET);
      bs_session_edit_begin (s, FALSE, 1.5);
      bs_session_edit_to (s, 20, 20);
      bs_session_edit_end (s);
      g_assert_cmpfloat (mask_at (s, BS_REGION_ET, 20, 20), ==, 1.0f);
      g_assert_cmpfloat (mask_at (s, BS_REGION_TC, 20, 20), ==, 1.0f);
      g_assert_cmpfloat (mask_at (s, BS_REGION_WT, 20, 20), ==, 1.0f);
      g_assert_true (bs_session_edit_undo (s));
      g_assert_cmpfloat (mask_at (s, BS_REGION_WT, 20, 20), ==, 0.0f);
      bs_session_set_region (s, BS_REGION_WT);
    }
  g_assert_true (bs_session_edit_undo (s));
  g_assert_cmpfloat (mask_at (s, BS_REGION_WT, 3, 3), ==, 0.0f);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 120));
  bs_session_get_volume_confusion (s, &undone, NULL);
  g_assert_cmpmem (&undone, sizeof undone, &before, sizeof before);
  g_assert_false (bs_session_edit_undo (s));   /* nothing left to undo */
  g_assert_true (bs_session_edit_redo (s));
  g_assert_cmpfloat (mask_at (s, BS_REGION_WT, 3, 3), ==, 1.0f);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 120));

  /* the clean-up switched: the network's prediction back, the strokes gone */
  bs_session_set_cleanup (s, FALSE);
  g_assert_cmpint (bs_session_get_n_edits (s, &n_redo), ==, 0);
  g_assert_cmpint (n_redo, ==, 0);
  g_assert_cmpfloat (mask_at (s, BS_REGION_WT, 3, 3), ==, 0.0f);
  g_assert_false (bs_session_edit_redo (s));
  /* and on again: the figures, raw and cleaned, are the network's again
   * (review finding: "raw" took the counts with the correction in) */
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 120));
  bs_session_set_cleanup (s, TRUE);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 120));
  bs_session_get_volume_confusion (s, &again, &raw);
  g_assert_cmpmem (&again, sizeof again, &before, sizeof before);
  g_assert_cmpmem (&raw, sizeof raw, &raw_before, sizeof raw_before);
}

static GAsyncResult *mask_result;

static void
on_mask (GObject *source, GAsyncResult *result, gpointer data)
{
  mask_result = g_object_ref (result);
}

static gboolean
mask_done (BsSession *s)
{
  return mask_result != NULL;
}

/* Opens path as a correction and waits for it: TRUE, or FALSE with error. */
static gboolean
load_mask (BsSession *s, const char *path, gsize *changed, BsLabelConvention *conv, GError **error)
{
  gboolean ok;

  g_clear_object (&mask_result);
  bs_session_load_mask_async (s, path, BS_LABELS_UNKNOWN, NULL, on_mask, NULL);
  g_assert_true (bs_test_session_spin_until (s, mask_done, 120));
  ok = bs_session_load_mask_finish (s, mask_result, changed, NULL, conv, error);
  g_clear_object (&mask_result);
  return ok;
}

/* A segmentation file as one correction: the case's own label turns every
 * region's Dice to 1, undo gives the network's counts back exactly; a 0/1
 * mask sets the whole tumour alone; a file on another grid, or one read
 * while the prediction changed, is an error that changes nothing. */
static void
test_open_mask (void)
{
  g_autoptr(BsSession) s = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) files = NULL;
  g_autoptr(BsVolume) small = NULL, wt = NULL;
  g_autofree char *small_path = g_build_filename (tmpdir, "small-mask.nii.gz", NULL);
  g_autofree char *wt_path = g_build_filename (tmpdir, "wt-mask.nii.gz", NULL);
  const char *label_path = NULL;
  BsPlanOptions opts;
  BsConfusion before, after, undone;
  BsRegionMetrics m;
  BsLabelConvention conv;
  gsize changed = 0;
  int n_redo;

  bs_plan_options_init (&opts);
  opts.threads = 1;
  s = open_with_default (sample, &opts);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  bs_session_get_volume_confusion (s, &before, NULL);
  g_assert_cmpuint (before.fp + before.fn, >, 0);
  files = bs_dataset_get_case_files (bs_session_get_dataset (s), bs_session_get_case_index (s));
  for (char **f = files; *f; f++)
    if (strstr (*f, "labels") != NULL)
      label_path = *f;
  g_assert_nonnull (label_path);

  /* the case's own labels: the prediction becomes the truth, every region */
  g_assert_true (load_mask (s, label_path, &changed, &conv, &error));
  g_assert_no_error (error);
  g_test_message ("%s: %" G_GSIZE_FORMAT " whole-tumour voxels changed, labels %s", label_path, changed,
                  bs_labels_convention_name (conv));
  g_assert_cmpuint (changed, ==, before.fp + before.fn);
  g_assert_true (bs_labels_has_region (conv, BS_REGION_ET));
  g_assert_cmpint (bs_session_get_n_edits (s, &n_redo), ==, 1);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 120));
  bs_session_get_volume_confusion (s, &after, NULL);
  g_assert_cmpuint (after.fp, ==, 0);
  g_assert_cmpuint (after.fn, ==, 0);
  for (int r = 0; r < BS_N_REGIONS; r++)
    {
      g_assert_true (bs_session_get_region_metrics (s, r, &m));
      g_assert_cmpfloat (m.dice, ==, 1.0);
      g_assert_cmpfloat (m.hd95_mm, ==, 0.0);
    }
  g_assert_true (bs_session_edit_undo (s));
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 120));
  bs_session_get_volume_confusion (s, &undone, NULL);
  g_assert_cmpmem (&undone, sizeof undone, &before, sizeof before);

  /* a 0/1 mask: the whole tumour alone */
  wt = bs_labels_whole_tumour (bs_session_get_case (s)->label);
  g_assert_true (bs_volume_save_nifti (wt, wt_path, DT_UINT8, &error));
  g_assert_true (load_mask (s, wt_path, &changed, &conv, &error));
  g_assert_cmpint (conv, ==, BS_LABELS_BINARY);
  g_assert_cmpuint (changed, ==, before.fp + before.fn);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 120));
  bs_session_get_volume_confusion (s, &after, NULL);
  g_assert_cmpuint (after.fp + after.fn, ==, 0);
  g_assert_cmpint (bs_session_get_n_edits (s, NULL), ==, 1);

  /* another grid: an error naming the file; nothing changes */
  {
    small = bs_volume_new (12, 10, 8, 1);
    g_assert_true (bs_volume_save_nifti (small, small_path, DT_UINT8, &error));
  }
  g_assert_false (load_mask (s, small_path, NULL, NULL, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "small-mask.nii.gz"));
  g_clear_error (&error);
  g_assert_cmpint (bs_session_get_n_edits (s, NULL), ==, 1);

  /* the prediction changed while the file was read (a stroke): refused */
  g_clear_object (&mask_result);
  bs_session_load_mask_async (s, label_path, BS_LABELS_UNKNOWN, NULL, on_mask, NULL);
  bs_session_edit_undo (s);
  g_assert_true (bs_test_session_spin_until (s, mask_done, 120));
  g_assert_false (bs_session_load_mask_finish (s, mask_result, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "changed while"));
  g_clear_error (&error);
  g_clear_object (&mask_result);
  g_assert_cmpint (bs_session_get_n_edits (s, &n_redo), ==, 0);
  g_assert_cmpint (n_redo, ==, 1);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 120));
  bs_session_get_volume_confusion (s, &undone, NULL);
  g_assert_cmpmem (&undone, sizeof undone, &before, sizeof before);
  /* an undo and a new stroke while it is read: the stacks' sizes are as they
   * were, the values are not; refused too (review finding) */
  g_assert_true (bs_session_edit_redo (s));
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 120));
  g_clear_object (&mask_result);
  bs_session_load_mask_async (s, label_path, BS_LABELS_UNKNOWN, NULL, on_mask, NULL);
  g_assert_true (bs_session_edit_undo (s));
  bs_session_edit_begin (s, FALSE, 2.0);
  bs_session_edit_to (s, 3, 3);
  bs_session_edit_end (s);
  g_assert_cmpint (bs_session_get_n_edits (s, &n_redo), ==, 1);
  g_assert_cmpint (n_redo, ==, 0);
  g_assert_true (bs_test_session_spin_until (s, mask_done, 120));
  g_assert_false (bs_session_load_mask_finish (s, mask_result, NULL, NULL, NULL, &error));
  g_assert_nonnull (strstr (error->message, "changed while"));
  g_clear_error (&error);
  g_clear_object (&mask_result);
  g_assert_true (bs_session_edit_undo (s));
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 120));
  bs_session_get_volume_confusion (s, &undone, NULL);
  g_assert_cmpmem (&undone, sizeof undone, &before, sizeof before);
  g_unlink (small_path);
  g_unlink (wt_path);
}

static gboolean
second_case_settled (BsSession *s)
{
  return bs_session_get_case_index (s) == 1 && !bs_session_is_loading (s) && bs_test_session_settled (s);
}

/* Corrections dropped by opening another case: the case list gives the first
 * case's network Dice again, not its corrected one (walk finding). */
static void
test_dropped_corrections_case_dice (void)
{
  g_autoptr(BsSession) s = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_build_filename (tmpdir, "two-cases", NULL);
  BsPlanOptions opts;
  double network, corrected;

  g_assert_true (bs_phantom_write_task (dir, 2, 5, 64, 64, 40, &error));
  g_assert_no_error (error);
  bs_plan_options_init (&opts);
  opts.threads = 1;
  s = open_with_default (dir, &opts);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 300));
  g_assert_cmpint (bs_session_get_case_index (s), ==, 0);
  network = bs_session_get_case_dice (s, 0);
  g_assert_false (isnan (network));
  bs_session_edit_begin (s, FALSE, 3.0);
  bs_session_edit_to (s, 4, 4);
  bs_session_edit_to (s, 14, 4);
  bs_session_edit_end (s);
  g_assert_true (bs_test_session_spin_until (s, bs_test_session_settled, 120));
  corrected = bs_session_get_case_dice (s, 0);
  g_test_message ("case 0: network %.4f, corrected %.4f", network, corrected);
  g_assert_cmpfloat (corrected, !=, network);
  bs_session_load_case (s, 1);
  g_assert_true (bs_test_session_spin_until (s, second_case_settled, 300));
  g_assert_cmpint (bs_session_get_case_index (s), ==, 1);
  g_assert_cmpint (bs_session_get_n_edits (s, NULL), ==, 0);
  g_assert_cmpfloat (bs_session_get_case_dice (s, 0), ==, network);
  bs_test_remove_tree (dir);
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
  tmpdir = bs_test_make_tmp_dir ("bs-session-states-XXXXXX");
  g_test_add_func ("/session-states/calibrate-case-kept-in-fp32", test_calibrate_case_kept_in_fp32);
  g_test_add_func ("/session-states/model-for-other-inputs", test_model_for_other_inputs);
  g_test_add_func ("/session-states/startup-model-missing", test_startup_model_missing);
  g_test_add_func ("/session-states/unnamed-file-at-start", test_unnamed_file_at_start);
  g_test_add_func ("/session-states/damaged-truth-opens-case", test_damaged_truth_opens_case);
  g_test_add_func ("/session-states/thick-slices-one-plane", test_thick_slices_one_plane);
  g_test_add_func ("/session-states/corrections", test_corrections);
  g_test_add_func ("/session-states/open-mask", test_open_mask);
  g_test_add_func ("/session-states/dropped-corrections-case-dice", test_dropped_corrections_case_dice);
  status = g_test_run ();
  g_rmdir (tmpdir);
  g_free (tmpdir);
  g_free (sample);
  return status;
}
