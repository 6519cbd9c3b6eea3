/* One int8 mask, whoever asks for it: `brainseg-cli infer`, `brainseg-cli
 * export --what mask` and the window's export (which segments the slices the
 * window has not reached through bs_segment, batch 1, no clean-up) agree
 * voxel by voxel on the bundled phantom sample.  The export dialog needs a
 * window, so its part is the engine call it makes, with its options. */
#include <glib.h>
#include <glib/gstdio.h>

#include "bs-dataset.h"
#include "bs-infer.h"
#include "bs-labels.h"
#include "bs-metrics.h"
#include "bs-nifti.h"
#include "bs-postprocess.h"
#include "bs-segment.h"
#include "bs-unet.h"

static char *sample, *tmpdir;

static void
run_cli (const char *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_ptr_array_add (argv, (gpointer) g_getenv ("BS_CLI"));
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, &error))
    g_error ("brainseg-cli %s: %s\n%s", args[0], error->message, err);
}

static BsVolume *
load (const char *name, gboolean as_label)
{
  g_autofree char *path = g_build_filename (tmpdir, name, NULL);
  g_autoptr(GError) error = NULL;
  BsVolume *v = bs_volume_load_nifti (path, as_label, &error);

  g_assert_no_error (error);
  return v;
}

static gsize
count_differ (const BsVolume *a, const BsVolume *b)
{
  gsize n = bs_volume_n_voxels (a), differ = 0;

  g_assert_cmpuint (n, ==, bs_volume_n_voxels (b));
  for (gsize v = 0; v < n; v++)
    differ += (a->data[v] > 0.5f) != (b->data[v] > 0.5f);
  return differ;
}

static void
test_int8_agreement (void)
{
  g_autofree char *infer_out = g_build_filename (tmpdir, "infer.nii.gz", NULL);
  g_autofree char *prob_out = g_build_filename (tmpdir, "infer-prob.nii.gz", NULL);
  g_autofree char *export_out = g_build_filename (tmpdir, "export.nii.gz", NULL);
  const char *const infer_args[] = { "infer", sample, "--precision", "int8", "--layout", "nhwc", "--threads", "1",
                                     "--out", infer_out, "--prob-out", prob_out, NULL };
  const char *const export_args[] = { "export", sample, "--what", "mask", "--precision", "int8", "--layout", "nhwc",
                                      "--threads", "1", "--quiet", "--out", export_out, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(BsDataset) ds = NULL;
  g_autoptr(BsCase) c = NULL;
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(BsVolume) prepared = NULL, infer_mask = NULL, infer_prob = NULL, export_mask = NULL;
  g_autoptr(BsVolume) raw = NULL, cleaned = NULL;
  g_autoptr(BsSegmentResult) seg = NULL;
  g_autofree guint8 *missing = NULL;
  BsSegmentOptions so;
  gboolean is_random = FALSE;
  int n_slices, w, h, n_missing = 0;
  gsize on = 0;

  run_cli (infer_args);
  run_cli (export_args);
  infer_mask = load ("infer.nii.gz", TRUE);
  infer_prob = load ("infer-prob.nii.gz", FALSE);
  export_mask = load ("export.nii.gz", TRUE);
  for (gsize v = 0; v < bs_volume_n_voxels (infer_mask); v++)
    on += infer_mask->data[v] > 0.5f;
  g_test_message ("infer: %" G_GSIZE_FORMAT " tumour voxels", on);
  g_assert_cmpuint (on, >, 100);
  g_assert_cmpuint (count_differ (infer_mask, export_mask), ==, 0);

  /* The export dialog's fill-in: the options it sets, and a window that
   * has computed every third slice already. */
  ds = bs_dataset_open (sample, NULL, &error);
  g_assert_no_error (error);
  c = bs_dataset_load_case (ds, 0, &error);
  g_assert_no_error (error);
  net = bs_unet_load_or_default (NULL, &is_random, &error);
  g_assert_no_error (error);
  prepared = bs_infer_prepare (net, c->image, &error);
  g_assert_no_error (error);
  n_slices = bs_volume_n_slices (prepared, BS_INFER_NET_PLANE);
  missing = g_new (guint8, n_slices);
  for (int k = 0; k < n_slices; k++)
    {
      missing[k] = k % 3 != 0;
      n_missing += missing[k];
    }
  bs_segment_options_init (&so);
  g_assert_true (bs_precision_from_string ("int8", &so.plan.precision));
  g_assert_true (bs_memlayout_from_string ("nhwc", &so.plan.layout));
  so.plan.threads = 1;
  so.plan.batch = 1;
  so.plan.profile_layers = FALSE;
  so.cleanup = FALSE;
  so.slices = missing;
  seg = bs_segment (net, prepared, NULL, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (seg->n_selected, ==, n_missing);
  g_assert_false (seg->cleaned);

  /* On the slices it ran, the same raw mask as infer's probabilities; the
   * others untouched (0). */
  bs_volume_slice_size (prepared, BS_INFER_NET_PLANE, &w, &h);
  raw = bs_volume_new_like (infer_prob, 1);
  {
    g_autofree float *mine = g_new (float, (gsize) w * h);
    g_autofree float *theirs = g_new (float, (gsize) w * h);
    gsize differ = 0, stray = 0;

    for (int k = 0; k < n_slices; k++)
      {
        bs_volume_get_slice (seg->mask, 0, BS_INFER_NET_PLANE, k, mine);
        bs_volume_get_slice (infer_prob, 0, BS_INFER_NET_PLANE, k, theirs);
        for (gsize p = 0; p < (gsize) w * h; p++)
          if (missing[k])
            differ += (mine[p] > 0.5f) != (theirs[p] > 0.5f);
          else
            stray += mine[p] != 0.0f;
      }
    g_assert_cmpuint (differ, ==, 0);
    g_assert_cmpuint (stray, ==, 0);
  }

  /* With the window's slices filled in the dialog's way, the volume the
   * export cleans up is infer's: the clean-up then gives infer's mask. */
  cleaned = bs_volume_copy (seg->prob);
  for (int k = 0; k < n_slices; k++)
    if (!missing[k])
      {
        g_autofree float *slice = g_new (float, (gsize) w * h);

        bs_volume_get_slice (infer_prob, 0, BS_INFER_NET_PLANE, k, slice);
        bs_volume_set_slice (cleaned, 0, BS_INFER_NET_PLANE, k, slice);
      }
  g_assert_cmpuint (count_differ (cleaned, infer_prob), ==, 0);
  g_assert_true (bs_volume_remove_islands (cleaned, BS_CLEANUP_MIN_FRACTION, NULL));
  g_assert_cmpuint (count_differ (cleaned, infer_mask), ==, 0);
}

typedef struct {
  int calls, last_done, total;
  GCancellable *cancel_after_first;
} Progress;

static void
on_progress (int done, int total, gpointer user_data)
{
  Progress *p = user_data;

  g_assert_cmpint (done, >, p->last_done);
  g_assert_cmpint (done, <=, total);
  p->calls++;
  p->last_done = done;
  p->total = total;
  if (p->cancel_after_first)
    g_cancellable_cancel (p->cancel_after_first);
}

/* What the result says about itself: the mask is the thresholded,
 * cleaned-up probabilities, the counts are the mask's, progress reaches
 * every slice, and a cancelled run says so the GIO way. */
static void
test_result (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BsDataset) ds = bs_dataset_open (sample, NULL, &error);
  g_autoptr(BsCase) c = NULL;
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(BsVolume) prepared = NULL, truth = NULL, raw = NULL;
  g_autoptr(BsSegmentResult) seg = NULL, none = NULL;
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  BsSegmentOptions so;
  BsCleanupStats stats;
  Progress p = { 0 };
  gboolean is_random = FALSE;
  guint64 on = 0;
  gsize n;

  g_assert_no_error (error);
  c = bs_dataset_load_case (ds, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (c->label);
  net = bs_unet_load_or_default (NULL, &is_random, &error);
  g_assert_no_error (error);
  prepared = bs_infer_prepare (net, c->image, &error);
  g_assert_no_error (error);
  truth = bs_labels_whole_tumour (c->label);
  bs_segment_options_init (&so);
  so.plan.threads = 1;
  so.plan.batch = 4;
  seg = bs_segment (net, prepared, truth, &so, on_progress, &p, NULL, &error);
  g_assert_no_error (error);
  n = bs_volume_n_voxels (seg->prob);
  g_assert_cmpint (p.total, ==, bs_volume_n_slices (prepared, BS_INFER_NET_PLANE));
  g_assert_cmpint (p.last_done, ==, p.total);
  g_assert_cmpint (seg->n_selected, ==, p.total);
  g_assert_cmpint (seg->n_run, ==, seg->geom->n_brain);
  g_assert_true (seg->cleaned && seg->has_truth);

  raw = bs_volume_copy (seg->prob);
  g_assert_true (bs_volume_remove_islands (raw, BS_CLEANUP_MIN_FRACTION, &stats));
  g_assert_cmpuint (count_differ (raw, seg->mask), ==, 0);
  g_assert_cmpint (stats.n_components, ==, seg->cleanup.n_components);
  g_assert_cmpuint (stats.removed, ==, seg->cleanup.removed);
  for (gsize v = 0; v < n; v++)
    {
      g_assert_true (seg->mask->data[v] == 0.0f || seg->mask->data[v] == 1.0f);
      on += seg->mask->data[v] > 0.5f;
    }
  g_assert_cmpuint (on, ==, seg->tumour_voxels);
  g_assert_cmpuint (seg->confusion.tp + seg->confusion.fp, ==, on);
  g_assert_cmpfloat (seg->dice, ==, bs_dice (seg->mask->data, truth->data, n));
  g_assert_cmpfloat (seg->dice_raw, ==, bs_dice (seg->prob->data, truth->data, n));
  g_assert_cmpfloat (seg->dice, >, 0.5);

  p = (Progress) { .cancel_after_first = cancel };
  none = bs_segment (net, prepared, truth, &so, on_progress, &p, cancel, &error);
  g_assert_null (none);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (p.calls, ==, 1);
}

static void
remove_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  if (d)
    g_dir_close (d);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  sample = g_build_filename (g_getenv ("BS_BUILD_ROOT"), "app", "sample", NULL);
  tmpdir = g_dir_make_tmp ("bs-segment-XXXXXX", NULL);
  g_assert_nonnull (tmpdir);
  g_test_add_func ("/segment/result", test_result);
  g_test_add_func ("/segment/int8-infer-export-dialog", test_int8_agreement);
  status = g_test_run ();
  remove_tree (tmpdir);
  g_free (tmpdir);
  g_free (sample);
  return status;
}
