/* One int8 mask, whoever asks for it: `brainseg-cli infer`, `brainseg-cli
 * export --what mask` and the window's export (which segments the slices the
 * window has not reached through bs_segment, batch 1, no clean-up) agree
 * voxel by voxel on the bundled phantom sample.  The export dialog needs a
 * window, so its part is the engine call it makes, with its options. */
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <nifti1.h>
#include <string.h>

#include "bs-calibration.h"
#include "bs-dataset.h"
#include "bs-error.h"
#include "bs-infer.h"
#include "bs-labels.h"
#include "bs-metrics.h"
#include "bs-nifti.h"
#include "bs-postprocess.h"
#include "bs-preprocess.h"
#include "bs-plan.h"
#include "bs-segment.h"
#include "bs-unet.h"
#include "test-util.h"

static char *sample, *tmpdir;

static int run_cli_status (const char *const *args, char **err);

static void
run_cli (const char *const *args)
{
  g_autofree char *err = NULL;

  if (run_cli_status (args, &err) != 0)
    g_error ("brainseg-cli %s failed:\n%s", args[0], err);
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
  g_autofree char *prob3_out = g_build_filename (tmpdir, "infer-prob3.nii.gz", NULL);
  /* the axial pass first (the window's own slices), three planes below */
  const char *const infer_args[] = { "infer", sample, "--precision", "int8", "--layout", "nhwc", "--threads", "1",
                                     "--three-planes", "off", "--out", infer_out, "--prob-out", prob_out, NULL };
  const char *const export_args[] = { "export", sample, "--what", "mask", "--precision", "int8", "--layout", "nhwc",
                                      "--threads", "1", "--three-planes", "off", "--quiet", "--out", export_out,
                                      NULL };
  const char *const infer3_args[] = { "infer", sample, "--precision", "int8", "--layout", "nhwc", "--threads", "1",
                                      "--cleanup", "off", "--prob-out", prob3_out, NULL };
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
  {
    /* Three planes (infer's default): the dialog's next step, the mean of
     * the three planes on that volume with the window's calibration, gives
     * infer's probabilities. */
    g_autoptr(BsVolume) mean = bs_volume_copy (cleaned);
    g_autoptr(BsVolume) infer3 = NULL;
    g_autoptr(BsInferGeometry) geom = bs_infer_geometry_new_for_net (net, prepared, BS_INFER_NET_PLANE, TRUE);
    g_autoptr(BsCalibration) cal = bs_calibration_new_for_case (net, prepared, geom, FALSE, &error);

    g_assert_no_error (error);
    run_cli (infer3_args);
    infer3 = load ("infer-prob3.nii.gz", FALSE);
    g_assert_true (bs_segment_average_planes (net, prepared, BS_INFER_NET_PLANE, &so.plan, cal, mean, NULL, NULL,
                                              NULL, 0, 0, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (count_differ (mean, infer3), ==, 0);
    g_assert_cmpuint (count_differ (mean, cleaned), >, 0);
  }
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

/* The sample's first case prepared for the default model (*net). */
static BsVolume *
sample_prepared (BsUnet **net)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BsDataset) ds = bs_dataset_open (sample, NULL, &error);
  g_autoptr(BsCase) c = NULL;
  gboolean is_random = FALSE;
  BsVolume *prepared;

  g_assert_no_error (error);
  c = bs_dataset_load_case (ds, 0, &error);
  g_assert_no_error (error);
  *net = bs_unet_load_or_default (NULL, &is_random, &error);
  g_assert_no_error (error);
  prepared = bs_infer_prepare (*net, c->image, &error);
  g_assert_no_error (error);
  return prepared;
}

/* Slabs (bs_infer_geometry_slabs) on the sample: consecutive runs that hold
 * every brain slice once, each window on the 16-pixel grid around its own
 * slices' boxes grown by the margin, fewer pixels than one window; the
 * axial pass on slabs agrees with one window on >= 99.9 % of the voxels;
 * a selection keeps the volume's cut; without crop, when the saving is not
 * reached and with one slab allowed, one slab. */
static void
test_slabs (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(BsVolume) prepared = sample_prepared (&net), one = NULL;
  g_autoptr(BsInferGeometry) geom = NULL, whole = NULL;
  g_autoptr(BsPlan) plan = NULL;
  g_autoptr(BsSegmentResult) seg = NULL;
  g_autofree guint8 *seen = NULL, *pick = NULL;
  BsInferGeometry **slabs;
  BsSegmentOptions so;
  int n_slabs = 0, last = -1, fx, fy;
  gint64 pixels = 0;
  gsize n, differ = 0;

  geom = bs_infer_geometry_new_for_net (net, prepared, BS_PLANE_AXIAL, TRUE);
  fx = -((bs_preprocess_round16 (geom->width) - geom->width) / 2);
  fy = -((bs_preprocess_round16 (geom->height) - geom->height) / 2);
  slabs = bs_infer_geometry_slabs (geom, NULL, 3, 0.10, &n_slabs);
  g_test_message ("%d brain slices on %dx%d; %d slabs", geom->n_brain, geom->pw, geom->ph, n_slabs);
  g_assert_cmpint (n_slabs, >=, 2);
  g_assert_cmpint (n_slabs, <=, 3);
  seen = g_new0 (guint8, geom->n_slices);
  for (int i = 0; i < n_slabs; i++)
    {
      const BsInferGeometry *s = slabs[i];
      int first = -1, end = -1;

      g_test_message ("slab %d: %d slices on %dx%d at %d,%d", i, s->n_brain, s->pw, s->ph, s->x0, s->y0);
      g_assert_cmpint ((s->x0 - fx) % 16, ==, 0);
      g_assert_cmpint ((s->y0 - fy) % 16, ==, 0);
      g_assert_cmpint (s->pw % 16, ==, 0);
      g_assert_cmpint (s->ph % 16, ==, 0);
      g_assert_cmpint (s->pw, <=, geom->pw);
      g_assert_cmpint (s->ph, <=, geom->ph);
      for (int k = 0; k < s->n_slices; k++)
        {
          const int *b = geom->box + 4 * k;

          if (!s->brain[k])
            continue;
          g_assert_true (geom->brain[k]);
          g_assert_false (seen[k]);
          seen[k] = 1;
          if (first < 0)
            first = k;
          g_assert_true (end < 0 || end == k);   /* consecutive brain slices */
          end = k + 1;
          while (end < s->n_slices && !geom->brain[end])
            end++;
          /* the slice's box, grown by the margin where the frame allows, is in the window */
          g_assert_cmpint (s->x0, <=, MAX (b[0] - BS_INFER_CROP_MARGIN, fx));
          g_assert_cmpint (s->y0, <=, MAX (b[1] - BS_INFER_CROP_MARGIN, fy));
          g_assert_cmpint (s->x0 + s->pw, >=, MIN (b[2] + 1 + BS_INFER_CROP_MARGIN, fx + bs_preprocess_round16 (geom->width)));
          g_assert_cmpint (s->y0 + s->ph, >=, MIN (b[3] + 1 + BS_INFER_CROP_MARGIN, fy + bs_preprocess_round16 (geom->height)));
        }
      g_assert_cmpint (first, >, last);
      last = first;
      pixels += (gint64) s->n_brain * s->pw * s->ph;
    }
  for (int k = 0; k < geom->n_slices; k++)
    g_assert_cmpint (seen[k], ==, geom->brain[k]);
  g_assert_cmpint (pixels, <=, 0.9 * geom->n_brain * geom->pw * geom->ph);

  /* a selection keeps the whole volume's cut and windows: a slice runs on the
   * same window alone as in the volume */
  {
    g_autofree guint8 *every7 = g_new0 (guint8, geom->n_slices);
    BsInferGeometry **sel;
    int n_sel = 0;

    for (int k = 0; k < geom->n_slices; k += 7)
      every7[k] = 1;
    sel = bs_infer_geometry_slabs (geom, every7, 3, 0.10, &n_sel);
    g_assert_cmpint (n_sel, ==, n_slabs);
    for (int i = 0; i < n_sel; i++)
      {
        int count = 0;

        g_assert_cmpint (sel[i]->x0, ==, slabs[i]->x0);
        g_assert_cmpint (sel[i]->y0, ==, slabs[i]->y0);
        g_assert_cmpint (sel[i]->pw, ==, slabs[i]->pw);
        g_assert_cmpint (sel[i]->ph, ==, slabs[i]->ph);
        for (int k = 0; k < geom->n_slices; k++)
          {
            g_assert_cmpint (sel[i]->brain[k], ==, slabs[i]->brain[k] && every7[k]);
            count += sel[i]->brain[k];
          }
        g_assert_cmpint (sel[i]->n_brain, ==, count);
        bs_infer_geometry_free (sel[i]);
      }
    g_free (sel);
  }
  for (int i = 0; i < n_slabs; i++)
    bs_infer_geometry_free (slabs[i]);
  g_free (slabs);

  /* one slab: one allowed, a geometry without crop, or a saving never reached */
  pick = g_new0 (guint8, geom->n_slices);
  for (int k = geom->n_slices / 3; k < geom->n_slices / 2; k++)
    pick[k] = 1;
  whole = bs_infer_geometry_new_for_net (net, prepared, BS_PLANE_AXIAL, FALSE);
  for (int variant = 0; variant < 3; variant++)
    {
      const BsInferGeometry *g = variant == 1 ? whole : geom;
      int expect = 0;

      slabs = bs_infer_geometry_slabs (g, variant == 2 ? pick : NULL, variant == 0 ? 1 : 3, variant == 2 ? 0.99 : 0.1,
                                       &n_slabs);
      g_assert_cmpint (n_slabs, ==, 1);
      g_assert_cmpint (slabs[0]->pw, ==, g->pw);
      g_assert_cmpint (slabs[0]->ph, ==, g->ph);
      for (int k = 0; k < g->n_slices; k++)
        {
          gboolean want = g->brain[k] && (variant != 2 || pick[k]);

          g_assert_cmpint (slabs[0]->brain[k], ==, want);
          expect += want;
        }
      g_assert_cmpint (slabs[0]->n_brain, ==, expect);
      bs_infer_geometry_free (slabs[0]);
      g_free (slabs);
    }

  /* the pipeline on slabs against one window */
  bs_segment_options_init (&so);
  so.plan.threads = 1;
  so.plan.batch = 4;
  so.plan.three_planes = FALSE;
  so.cleanup = FALSE;
  seg = bs_segment (net, prepared, NULL, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (seg->n_slabs, >=, 2);
  one = bs_volume_new_like (prepared, net->config.out_channels);
  plan = bs_plan_new (net, geom->ph, geom->pw, &so.plan, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (bs_infer_volume (plan, prepared, geom, one, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  n = bs_volume_n_voxels (prepared) * net->config.out_channels;
  for (gsize v = 0; v < n; v++)
    differ += (seg->prob->data[v] > 0.5f) != (one->data[v] > 0.5f);
  g_test_message ("%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " voxels change side of 0.5 on slabs", differ, n);
  g_assert_cmpfloat ((double) differ, <=, 0.001 * n);
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
  g_autofree char *wt_model = bs_unet_shipped_model_path (BS_UNET_WT_MODEL);
  gboolean is_random = FALSE;
  guint64 on = 0;
  gsize n;

  g_assert_no_error (error);
  c = bs_dataset_load_case (ds, 0, &error);
  g_assert_no_error (error);
  g_assert_nonnull (c->label);
  /* The shipped whole-tumour model (one output); random weights where none ships. */
  net = bs_unet_load_or_default (wt_model, &is_random, &error);
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
  /* Three planes (the default): progress counts the axial slices and the
   * coronal and sagittal ones through the tumour's box, and ends at its total. */
  g_assert_true (seg->three_planes);
  g_assert_cmpint (p.total, >, prepared->dims[2]);
  g_assert_cmpint (p.total, <, prepared->dims[0] + prepared->dims[1] + prepared->dims[2]);
  g_assert_cmpint (p.last_done, ==, p.total);
  g_assert_cmpint (seg->n_selected, ==, bs_volume_n_slices (prepared, BS_INFER_NET_PLANE));
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
  /* A one-output model: the whole tumour is its only region. */
  g_assert_cmpint (seg->n_outputs, ==, 1);
  g_assert_cmpint (seg->prob->n_channels, ==, 1);
  g_assert_true (seg->region_mask[BS_REGION_WT] == seg->mask);
  g_assert_null (seg->region_mask[BS_REGION_TC]);
  g_assert_null (seg->region_mask[BS_REGION_ET]);
  g_assert_cmpint (seg->region_channel[BS_REGION_TC], ==, -1);
  g_assert_cmpuint (seg->region_voxels[BS_REGION_WT], ==, on);
  g_assert_cmpfloat (seg->region_dice[BS_REGION_WT], ==, seg->dice);
  g_assert_true (isnan (seg->region_dice[BS_REGION_TC]));
  {
    g_autoptr(BsVolume) binary = bs_segment_label_map (seg, BS_LABELS_BINARY, &error);
    g_autoptr(BsVolume) brats = NULL;

    g_assert_no_error (error);
    for (gsize v = 0; v < n; v++)
      g_assert_cmpfloat (binary->data[v], ==, seg->mask->data[v]);
    brats = bs_segment_label_map (seg, BS_LABELS_BRATS2017, &error);
    g_assert_null (brats);
    g_assert_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE);
    g_assert_nonnull (strstr (error->message, "whole tumour only"));
    g_clear_error (&error);
  }

  p = (Progress) { .cancel_after_first = cancel };
  none = bs_segment (net, prepared, truth, &so, on_progress, &p, cancel, &error);
  g_assert_null (none);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (p.calls, ==, 1);
}

/* Three planes: bs_segment's probabilities are, voxel by voxel, the mean of
 * three one-plane runs (axial, coronal, sagittal) of the same network, and
 * those three differ (so the mean is not any one of them).  A selection of
 * slices runs in its own plane alone. */
static void
test_three_planes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BsUnet) net = NULL;
  /* the shipped default: a region model, three outputs */
  g_autoptr(BsVolume) prepared = sample_prepared (&net);
  g_autoptr(BsSegmentResult) mean = NULL, sel = NULL;
  BsSegmentResult *one[3] = { NULL };
  g_autofree guint8 *some = NULL;
  BsSegmentOptions so;
  gsize n, differ01 = 0, differ02 = 0, differ_axial = 0, outside_full = 0, changed_by_window = 0, n_inside = 0;
  BsVolume *narrowed[3] = { NULL };
  int lo[3], hi[3];
  Progress p = { 0 };

  bs_segment_options_init (&so);
  g_assert_true (so.plan.three_planes);
  so.plan.threads = 1;
  so.plan.batch = 4;
  so.cleanup = FALSE;
  mean = bs_segment (net, prepared, NULL, &so, on_progress, &p, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (mean->three_planes);
  g_assert_cmpfloat (bs_timing_stage_ms (&mean->timing, "planes"), >, 0.0);
  so.plan.three_planes = FALSE;
  for (int k = 0; k < 3; k++)
    {
      so.plane = (BsPlane) k;
      one[k] = bs_segment (net, prepared, NULL, &so, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_false (one[k]->three_planes);
    }
  /* the other planes ran on the slices through the box of the axial
   * probabilities >= 0.05 (grown by 8 voxels): fewer than all of them, as
   * progress counted */
  g_assert_true (bs_segment_planes_box (one[0]->prob, lo, hi));
  g_assert_cmpint (p.last_done, ==, prepared->dims[2] + (hi[0] - lo[0] + 1) + (hi[1] - lo[1] + 1));
  g_assert_cmpint (p.last_done, ==, p.total);
  g_assert_cmpint (p.last_done, <, prepared->dims[0] + prepared->dims[1] + prepared->dims[2]);
  n = bs_volume_n_voxels (prepared);
  g_assert_cmpint (mean->prob->n_channels, ==, net->config.out_channels);
  /* the coronal and sagittal passes as the pipeline runs them: their brain
   * windows narrowed to the box and its context */
  for (int k = 1; k < 3; k++)
    {
      g_autoptr(BsInferGeometry) geom = bs_infer_geometry_new_for_net (net, prepared, (BsPlane) k, TRUE);
      g_autoptr(BsPlan) plan = NULL;
      int pw = geom->pw, ph = geom->ph;

      bs_infer_geometry_restrict (geom, prepared, lo, hi, BS_SEGMENT_PLANES_CONTEXT);
      g_test_message ("plane %d: brain window %dx%d, narrowed to %dx%d", k, pw, ph, geom->pw, geom->ph);
      g_assert_cmpint (geom->pw * geom->ph, <=, pw * ph);
      plan = bs_plan_new (net, geom->ph, geom->pw, &so.plan, NULL, &error);
      g_assert_no_error (error);
      narrowed[k] = bs_volume_new_like (prepared, net->config.out_channels);
      g_assert_true (bs_infer_slices (plan, prepared, geom, NULL, narrowed[k], NULL, NULL, NULL, NULL, &error));
      g_assert_no_error (error);
    }
  /* a box smaller than the brain narrows a window, kept on the 16-pixel grid */
  {
    g_autoptr(BsInferGeometry) geom = bs_infer_geometry_new (prepared, BS_PLANE_AXIAL, FALSE);
    int blo[3], bhi[3], pw = geom->pw, ph = geom->ph;

    for (int a = 0; a < 3; a++)
      {
        blo[a] = prepared->dims[a] / 2 - 5;
        bhi[a] = blo[a] + 9;
      }
    bs_infer_geometry_restrict (geom, prepared, blo, bhi, 8);
    g_test_message ("axial frame %dx%d, narrowed to a 10-voxel box: %dx%d", pw, ph, geom->pw, geom->ph);
    g_assert_cmpint (geom->pw, <, pw);
    g_assert_cmpint (geom->ph, <, ph);
    g_assert_cmpint (geom->pw % 16, ==, 0);
    g_assert_cmpint (geom->ph % 16, ==, 0);
    g_assert_cmpint (geom->pw, >=, 26);
    g_assert_cmpint (geom->ph, >=, 26);
  }
  for (int c = 0; c < mean->prob->n_channels; c++)
    for (gsize i = 0; i < n; i++)
      {
        gsize at = (gsize) c * n + i;
        int ijk[3] = { (int) (i % prepared->dims[0]), (int) (i / prepared->dims[0] % prepared->dims[1]),
                       (int) (i / ((gsize) prepared->dims[0] * prepared->dims[1])) };
        gboolean inside = TRUE;
        float a = one[0]->prob->data[at], b = one[1]->prob->data[at], d = one[2]->prob->data[at];
        float nb = narrowed[1]->data[at], nd = narrowed[2]->data[at];
        /* inside the box the mean of the three, in this order; outside the axial value */
        float expect;

        for (int ax = 0; ax < 3; ax++)
          inside = inside && ijk[ax] >= lo[ax] && ijk[ax] <= hi[ax];
        expect = inside ? ((a + nb) + nd) / 3.0f : a;
        /* the narrower windows against every slice on its whole brain window */
        if (inside && c == 0)
          changed_by_window += (expect > 0.5f) != (((a + b) + d) / 3.0f > 0.5f), n_inside++;
        if (mean->prob->data[at] != expect)
          g_error ("channel %d voxel %" G_GSIZE_FORMAT " (%s the box): %.9g is not %.9g (planes %.9g, %.9g, %.9g)", c,
                   i, inside ? "inside" : "outside", mean->prob->data[at], expect, a, b, d);
        if (!inside && c == 0)
          {
            g_assert_cmpfloat (a, <, BS_SEGMENT_PLANES_MIN_PROB);
            /* what the skipped slices would have added: no tumour here either way */
            outside_full += ((a + b) + d) / 3.0f > 0.5f;
          }
        differ01 += fabsf (a - b) > 0.05f;
        differ02 += fabsf (a - d) > 0.05f;
        differ_axial += c == 0 && (mean->prob->data[at] > 0.5f) != (a > 0.5f);
      }
  g_test_message ("box x %d-%d y %d-%d z %d-%d; outside it, %" G_GSIZE_FORMAT " voxels would be tumour in all three planes",
                  lo[0], hi[0], lo[1], hi[1], lo[2], hi[2], outside_full);
  g_assert_cmpuint (outside_full, ==, 0);
  g_test_message ("inside the box, %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " voxels change side of 0.5 with the narrowed windows",
                  changed_by_window, n_inside);
  g_assert_cmpuint (changed_by_window * 1000, <=, n_inside);
  for (int k = 1; k < 3; k++)
    bs_volume_free (narrowed[k]);
  g_assert_cmpuint (differ01, >, 0);
  g_assert_cmpuint (differ02, >, 0);
  g_assert_cmpuint (differ_axial, >, 0);
  for (int k = 0; k < 3; k++)
    bs_segment_result_free (one[k]);

  /* one slice: its own plane only */
  some = g_new0 (guint8, bs_volume_n_slices (prepared, BS_INFER_NET_PLANE));
  some[bs_volume_n_slices (prepared, BS_INFER_NET_PLANE) / 2] = 1;
  so.plane = BS_INFER_NET_PLANE;
  so.plan.three_planes = TRUE;
  so.slices = some;
  sel = bs_segment (net, prepared, NULL, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (sel->three_planes);
  g_assert_cmpint (sel->n_selected, ==, 1);
}

/* Eight voxels in a row (x), one of each combination of the three
 * probabilities being over 0.5, in a 8x1x1 volume:
 *   x:    0 1 2 3 4 5 6 7
 *   P(WT) 0 0 0 0 1 1 1 1
 *   P(TC) 0 0 1 1 0 0 1 1
 *   P(ET) 0 1 0 1 0 1 0 1
 * Nested: WT 4-7, TC 6-7, ET 7 (TC or ET outside WT, ET outside TC go). */
static BsSegmentResult *
hand_result (int n_outputs, const char *const *names)
{
  static const float p[3][8] = { { 0.1f, 0.2f, 0.3f, 0.4f, 0.6f, 0.7f, 0.8f, 0.9f },
                                 { 0.1f, 0.2f, 0.7f, 0.8f, 0.3f, 0.4f, 0.6f, 0.9f },
                                 { 0.2f, 0.7f, 0.1f, 0.8f, 0.3f, 0.6f, 0.4f, 0.9f } };
  static const int region_of[3] = { BS_REGION_WT, BS_REGION_TC, BS_REGION_ET };
  BsSegmentResult *r = g_new0 (BsSegmentResult, 1);

  bs_timing_reset (&r->timing);
  r->prob = bs_volume_new (8, 1, 1, n_outputs);
  for (int c = 0; c < n_outputs; c++)
    {
      int src = names ? (g_str_equal (names[c], "tc") ? 1 : g_str_equal (names[c], "et") ? 2 : 0) : region_of[c];

      memcpy (bs_volume_channel (r->prob, c), p[src], sizeof p[src]);
      if (names)
        {
          g_free (r->prob->channel_names[c]);
          r->prob->channel_names[c] = g_strdup (names[c]);
        }
    }
  return r;
}

static BsVolume *
row_volume (const float *values)
{
  BsVolume *v = bs_volume_new (8, 1, 1, 1);

  memcpy (v->data, values, 8 * sizeof (float));
  v->is_label = TRUE;
  return v;
}

static void
assert_row (const BsVolume *v, const float *expect, const char *what)
{
  for (int x = 0; x < 8; x++)
    if (v->data[x] != expect[x])
      g_error ("%s: voxel %d is %g, not %g", what, x, v->data[x], expect[x]);
}

/* bs_segment_finish on a three-output prob volume: nested region masks,
 * their counts and, against region truths, their confusion and Dice; and
 * the label map in every convention. */
static void
test_regions_by_hand (void)
{
  static const float wt[8] = { 0, 0, 0, 0, 1, 1, 1, 1 }, tc[8] = { 0, 0, 0, 0, 0, 0, 1, 1 },
                     et[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
  static const float t_wt[8] = { 0, 0, 0, 1, 1, 1, 1, 1 }, t_tc[8] = { 0, 0, 0, 0, 0, 1, 1, 1 },
                     t_et[8] = { 0, 0, 0, 0, 0, 0, 1, 1 };
  static const struct {
    BsLabelConvention conv;
    float expect[8];
  } maps[] = {
    { BS_LABELS_BINARY, { 0, 0, 0, 0, 1, 1, 1, 1 } },
    { BS_LABELS_BRATS2017, { 0, 0, 0, 0, 2, 2, 1, 4 } },
    { BS_LABELS_DECATHLON, { 0, 0, 0, 0, 1, 1, 2, 3 } },
    { BS_LABELS_BRATS2023, { 0, 0, 0, 0, 2, 2, 1, 3 } },
    { BS_LABELS_BRATS2015, { 0, 0, 0, 0, 2, 2, 3, 4 } },
  };
  static const char *const names[] = { "wt", "tc", "et" };
  g_autoptr(BsSegmentResult) r = hand_result (3, names);
  g_autoptr(BsVolume) vt_wt = row_volume (t_wt), vt_tc = row_volume (t_tc), vt_et = row_volume (t_et);
  const BsVolume *truths[BS_N_REGIONS] = { vt_wt, vt_tc, vt_et };
  g_autoptr(GError) error = NULL;

  g_assert_true (bs_segment_finish_regions (r, truths, BS_PLANE_AXIAL, NULL, FALSE, &error));
  g_assert_no_error (error);
  g_assert_cmpint (r->n_outputs, ==, 3);
  g_assert_cmpint (r->region_channel[BS_REGION_WT], ==, 0);
  g_assert_cmpint (r->region_channel[BS_REGION_TC], ==, 1);
  g_assert_cmpint (r->region_channel[BS_REGION_ET], ==, 2);
  g_assert_true (r->region_mask[BS_REGION_WT] == r->mask);
  assert_row (r->mask, wt, "WT");
  assert_row (r->region_mask[BS_REGION_TC], tc, "TC");
  assert_row (r->region_mask[BS_REGION_ET], et, "ET");
  g_assert_true (r->region_mask[BS_REGION_TC]->is_label);
  g_assert_cmpuint (r->region_voxels[BS_REGION_WT], ==, 4);
  g_assert_cmpuint (r->region_voxels[BS_REGION_TC], ==, 2);
  g_assert_cmpuint (r->region_voxels[BS_REGION_ET], ==, 1);
  /* WT: tp 4 fn 1; TC: tp 2 fn 1; ET: tp 1 fn 1 */
  g_assert_true (r->region_has_truth[BS_REGION_TC] && r->region_has_truth[BS_REGION_ET]);
  g_assert_cmpuint (r->region_confusion[BS_REGION_TC].tp, ==, 2);
  g_assert_cmpuint (r->region_confusion[BS_REGION_TC].fn, ==, 1);
  g_assert_cmpuint (r->region_confusion[BS_REGION_TC].fp, ==, 0);
  g_assert_cmpuint (r->region_confusion[BS_REGION_ET].tn, ==, 6);
  g_assert_cmpfloat_with_epsilon (r->region_dice[BS_REGION_WT], 8.0 / 9.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (r->region_dice[BS_REGION_TC], 4.0 / 5.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (r->region_dice[BS_REGION_ET], 2.0 / 3.0, 1e-12);
  g_assert_cmpfloat (r->region_dice[BS_REGION_WT], ==, r->dice);

  for (guint i = 0; i < G_N_ELEMENTS (maps); i++)
    {
      g_autoptr(BsVolume) map = bs_segment_label_map (r, maps[i].conv, &error);

      g_assert_no_error (error);
      g_assert_true (map->is_label);
      g_assert_cmpint (map->n_channels, ==, 1);
      assert_row (map, maps[i].expect, bs_labels_convention_name (maps[i].conv));
      /* Read back through the convention's own regions, the map gives the masks. */
      if (maps[i].conv != BS_LABELS_BINARY)
        for (int k = 0; k < BS_N_REGIONS; k++)
          {
            g_autoptr(BsVolume) back = bs_labels_region (map, maps[i].conv, k);
            assert_row (back, k == 0 ? wt : k == 1 ? tc : et, bs_region_name (k));
          }
    }
  g_assert_null (bs_segment_label_map (r, BS_LABELS_UNKNOWN, &error));
  g_assert_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE);
  g_clear_error (&error);

  /* Finishing again (the window's session does, after an edit) starts over. */
  g_assert_true (bs_segment_finish (r, NULL, BS_PLANE_AXIAL, NULL, FALSE, &error));
  g_assert_false (r->region_has_truth[BS_REGION_TC]);
  g_assert_true (isnan (r->region_dice[BS_REGION_ET]));
  assert_row (r->region_mask[BS_REGION_ET], et, "ET again");
}

/* A model with WT and ET outputs only: ET nests in WT; no label map but binary. */
static void
test_regions_without_core (void)
{
  static const char *const names[] = { "wt", "et" };
  static const float et[8] = { 0, 0, 0, 0, 0, 1, 0, 1 };
  g_autoptr(BsSegmentResult) r = hand_result (2, names);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsVolume) map = NULL;

  g_assert_true (bs_segment_finish (r, NULL, BS_PLANE_AXIAL, NULL, FALSE, &error));
  g_assert_cmpint (r->region_channel[BS_REGION_TC], ==, -1);
  g_assert_cmpint (r->region_channel[BS_REGION_ET], ==, 1);
  g_assert_null (r->region_mask[BS_REGION_TC]);
  assert_row (r->region_mask[BS_REGION_ET], et, "ET in WT");
  map = bs_segment_label_map (r, BS_LABELS_DECATHLON, &error);
  g_assert_null (map);
  g_assert_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "both"));
}

/* A region model through the whole pipeline, with PredictionMask's weights
 * zero and its biases forcing the outputs: P(WT) and P(TC) high, P(ET) low
 * inside the head, everything 0 outside it.  So WT = TC = the head, ET is
 * empty, and the label map is the core value on the head. */
static void
test_regions_pipeline (void)
{
  BsUnetConfig config = { .fms = 2, .in_channels = 1, .out_channels = 3 };
  g_autoptr(BsUnet) net = bs_unet_new_random (&config, 5);
  BsUnetLayer *pm = bs_unet_find_layer (net, "PredictionMask");
  g_autoptr(BsVolume) prepared = bs_volume_new (40, 36, 6, 1);
  g_autoptr(BsVolume) truth_et = NULL;
  g_autoptr(BsSegmentResult) seg = NULL;
  g_autoptr(BsVolume) map = NULL;
  const BsVolume *truths[BS_N_REGIONS] = { NULL };
  g_autoptr(GError) error = NULL;
  BsSegmentOptions so;
  gsize n = bs_volume_n_voxels (prepared);
  guint64 head = 0;

  memset (pm->weights, 0, sizeof (float) * pm->out_ch * pm->in_ch);
  pm->bias[0] = 6.0f;
  pm->bias[1] = 4.0f;
  pm->bias[2] = -4.0f;
  /* A head: a ball on slices 1..4. */
  for (int z = 1; z <= 4; z++)
    for (int y = 0; y < 36; y++)
      for (int x = 0; x < 40; x++)
        if (hypot (x - 20.0, y - 18.0) < 10.0)
          {
            prepared->data[((gsize) z * 36 + y) * 40 + x] = 0.5f + 0.01f * (x % 7);
            head++;
          }
  truth_et = bs_volume_new_like (prepared, 1);
  truth_et->data[((gsize) 2 * 36 + 18) * 40 + 20] = 1.0f;
  truths[BS_REGION_ET] = truth_et;
  bs_segment_options_init (&so);
  so.plan.threads = 1;
  so.plan.batch = 3;
  seg = bs_segment_regions (net, prepared, truths, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (seg->n_outputs, ==, 3);
  g_assert_cmpint (seg->prob->n_channels, ==, 3);
  g_assert_cmpstr (seg->prob->channel_names[1], ==, "tc");
  g_assert_cmpstr (seg->prob->channel_names[2], ==, "et");
  for (gsize v = 0; v < n; v++)
    {
      gboolean in_head = prepared->data[v] != 0.0f;

      g_assert_cmpfloat_with_epsilon (bs_volume_channel (seg->prob, 0)[v], in_head ? 1.0f / (1.0f + expf (-6.0f)) : 0.0f, 1e-5);
      g_assert_cmpfloat_with_epsilon (bs_volume_channel (seg->prob, 1)[v], in_head ? 1.0f / (1.0f + expf (-4.0f)) : 0.0f, 1e-5);
      g_assert_cmpfloat_with_epsilon (bs_volume_channel (seg->prob, 2)[v], in_head ? 1.0f / (1.0f + expf (4.0f)) : 0.0f, 1e-5);
      g_assert_cmpfloat (seg->mask->data[v], ==, in_head ? 1.0f : 0.0f);
      g_assert_cmpfloat (seg->region_mask[BS_REGION_TC]->data[v], ==, in_head ? 1.0f : 0.0f);
      g_assert_cmpfloat (seg->region_mask[BS_REGION_ET]->data[v], ==, 0.0f);
    }
  g_assert_cmpuint (seg->tumour_voxels, ==, head);
  g_assert_cmpuint (seg->region_voxels[BS_REGION_TC], ==, head);
  g_assert_cmpuint (seg->region_voxels[BS_REGION_ET], ==, 0);
  g_assert_false (seg->has_truth);
  g_assert_false (seg->region_has_truth[BS_REGION_TC]);
  g_assert_true (seg->region_has_truth[BS_REGION_ET]);
  g_assert_cmpuint (seg->region_confusion[BS_REGION_ET].fn, ==, 1);
  g_assert_cmpfloat (seg->region_dice[BS_REGION_ET], ==, 0.0);
  map = bs_segment_label_map (seg, BS_LABELS_BRATS2017, &error);
  g_assert_no_error (error);
  for (gsize v = 0; v < n; v++)
    g_assert_cmpfloat (map->data[v], ==, prepared->data[v] != 0.0f ? 1.0f : 0.0f);
}


/* after_network runs once, after every pass (three planes here) and before
 * the masks: the prepared image freed in it and the truths made in it give
 * the same probabilities, masks and counts as both kept from the start
 * (under AddressSanitizer, a read of the freed image would fail). */
typedef struct {
  BsVolume *prepared;           /* freed by the hook */
  const BsVolume *truth_src[BS_N_REGIONS];
  BsVolume *truth[BS_N_REGIONS];
  const BsVolume **truths;      /* the array bs_segment_regions was given */
  int calls;
} AfterJob;

static void
after_hook (gpointer data)
{
  AfterJob *a = data;

  a->calls++;
  g_clear_pointer (&a->prepared, bs_volume_free);
  for (int k = 0; k < BS_N_REGIONS; k++)
    {
      a->truth[k] = bs_volume_copy (a->truth_src[k]);
      a->truths[k] = a->truth[k];
    }
}

static void
test_after_network (void)
{
  BsUnetConfig config = { .fms = 2, .in_channels = 1, .out_channels = 3 };
  g_autoptr(BsUnet) net = bs_unet_new_random (&config, 11);
  g_autoptr(BsVolume) prepared = bs_volume_new (48, 40, 20, 1);
  g_autoptr(BsVolume) tw = NULL, tt = NULL, te = NULL;
  g_autoptr(BsSegmentResult) kept = NULL, freed = NULL;
  g_autoptr(GRand) rng = g_rand_new_with_seed (17);
  const BsVolume *truths_kept[BS_N_REGIONS], *truths_late[BS_N_REGIONS] = { NULL };
  AfterJob job = { 0 };
  g_autoptr(GError) error = NULL;
  BsSegmentOptions so;
  gsize n = bs_volume_n_voxels (prepared);

  for (int z = 2; z < 18; z++)
    for (int y = 0; y < 40; y++)
      for (int x = 0; x < 48; x++)
        if (hypot (x - 24.0, y - 20.0) < 15.0)
          prepared->data[((gsize) z * 40 + y) * 48 + x] = (float) g_rand_double_range (rng, -1.0, 2.0);
  tw = bs_volume_new_like (prepared, 1);
  tt = bs_volume_new_like (prepared, 1);
  te = bs_volume_new_like (prepared, 1);
  for (gsize v = 0; v < n; v++)
    {
      tw->data[v] = prepared->data[v] > 0.5f;
      tt->data[v] = prepared->data[v] > 1.0f;
      te->data[v] = prepared->data[v] > 1.5f;
    }
  truths_kept[BS_REGION_WT] = job.truth_src[BS_REGION_WT] = tw;
  truths_kept[BS_REGION_TC] = job.truth_src[BS_REGION_TC] = tt;
  truths_kept[BS_REGION_ET] = job.truth_src[BS_REGION_ET] = te;
  bs_segment_options_init (&so);
  so.plan.threads = 2;
  so.plan.three_planes = TRUE;
  kept = bs_segment_regions (net, prepared, truths_kept, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (kept->three_planes);

  job.prepared = bs_volume_copy (prepared);
  job.truths = truths_late;
  so.after_network = after_hook;
  so.after_network_data = &job;
  freed = bs_segment_regions (net, job.prepared, truths_late, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (job.calls, ==, 1);
  g_assert_null (job.prepared);
  g_assert_cmpmem (freed->prob->data, n * 3 * sizeof (float), kept->prob->data, n * 3 * sizeof (float));
  g_assert_true (freed->has_truth);
  for (int k = 0; k < BS_N_REGIONS; k++)
    {
      g_assert_nonnull (freed->region_mask[k]);
      g_assert_cmpmem (freed->region_mask[k]->data, n * sizeof (float), kept->region_mask[k]->data, n * sizeof (float));
      g_assert_true (freed->region_has_truth[k]);
      g_assert_cmpmem (&freed->region_confusion[k], sizeof (BsConfusion), &kept->region_confusion[k], sizeof (BsConfusion));
      g_assert_cmpuint (kept->region_confusion[k].tp + kept->region_confusion[k].fn, >, 0);
      bs_volume_free (job.truth[k]);
    }
}

/* A 48x40x20 volume's brain (a disc on slices 2-17, random values) and a
 * network whose head ignores its input: every probability is sigmoid (bias). */
static void
brain_and_constant_head (BsVolume *prepared, guint32 seed, BsUnet *net, float bias)
{
  g_autoptr(GRand) rng = g_rand_new_with_seed (seed);
  BsUnetLayer *head = &net->layers[net->n_layers - 1];

  g_assert_true (prepared->dims[0] == 48 && prepared->dims[1] == 40 && prepared->dims[2] == 20);
  for (int z = 2; z < 18; z++)
    for (int y = 0; y < 40; y++)
      for (int x = 0; x < 48; x++)
        if (hypot (x - 24.0, y - 20.0) < 15.0)
          prepared->data[((gsize) z * 40 + y) * 48 + x] = (float) g_rand_double_range (rng, -1.0, 2.0);
  memset (head->weights, 0, (gsize) head->out_ch * head->in_ch * sizeof (float));
  head->bias[0] = bias;
}

/* Three planes asked for, but the first pass finds no whole tumour (every
 * probability far below the box's 0.05): the other planes have nothing to
 * run, and the result says they did not (helper finding: it said they had,
 * and infer --json reported "three_planes": "on"). */
static void
test_three_planes_nothing_found (void)
{
  BsUnetConfig config = { .fms = 2, .in_channels = 1, .out_channels = 1 };
  g_autoptr(BsUnet) net = bs_unet_new_random (&config, 31);
  g_autoptr(BsVolume) prepared = bs_volume_new (48, 40, 20, 1);
  g_autoptr(BsSegmentResult) r = NULL;
  g_autoptr(GError) error = NULL;
  BsSegmentOptions so;

  brain_and_constant_head (prepared, 37, net, -40.0f);
  bs_segment_options_init (&so);
  so.plan.threads = 1;
  so.plan.three_planes = TRUE;
  r = bs_segment (net, prepared, NULL, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->n_run, >, 0);
  g_assert_cmpuint (r->tumour_voxels, ==, 0);
  g_assert_false (r->three_planes);
}

/* Thick slices (a clinical scan of 5 mm axial slices): the coronal and
 * sagittal passes would see slices stretched five times (on real held-out
 * cases resampled so, they cost the whole tumour: models/README.md), so they
 * do not run and the result says why; at 2 mm they still run.  The axis that
 * counts is the network plane's own, whatever the voxels' order. */
static void
test_three_planes_thick_slices (void)
{
  BsUnetConfig config = { .fms = 2, .in_channels = 1, .out_channels = 1 };
  g_autoptr(BsUnet) net = bs_unet_new_random (&config, 41);
  g_autoptr(BsVolume) prepared = bs_volume_new (48, 40, 20, 1);
  g_autoptr(BsVolume) turned = bs_volume_new (20, 20, 20, 1);
  BsSegmentOptions so;
  char *why = NULL;

  /* every brain voxel tumour: the first pass has a box for the others */
  brain_and_constant_head (prepared, 43, net, 40.0f);
  bs_segment_options_init (&so);
  so.plan.threads = 1;
  so.plan.three_planes = TRUE;
  so.cleanup = FALSE;
  for (int t = 0; t < 3; t++)
    {
      static const double thickness[] = { 5.0, 2.0, 1.0 };
      g_autoptr(GError) error = NULL;
      g_autoptr(BsSegmentResult) r = NULL;

      prepared->spacing[2] = prepared->affine[2][2] = thickness[t];
      r = bs_segment (net, prepared, NULL, &so, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (r->tumour_voxels, >, 0);
      g_test_message ("%.0f mm slices: three planes %s; %s", thickness[t], r->three_planes ? "ran" : "did not run",
                      r->planes_note ? r->planes_note : "no note");
      g_assert_cmpint (r->three_planes, ==, thickness[t] <= BS_SEGMENT_PLANES_MAX_THICKNESS);
      g_assert_cmpint (r->planes_note == NULL, ==, r->three_planes);
      if (r->planes_note != NULL)
        g_assert_nonnull (strstr (r->planes_note, "1 x 1 x 5 mm"));
    }
  /* axial slices along the second voxel axis (i right, j up, k forward) */
  memset (turned->affine, 0, sizeof turned->affine);
  turned->affine[0][0] = 1.0;
  turned->affine[2][1] = 1.0;
  turned->affine[1][2] = 1.0;
  turned->affine[3][3] = 1.0;
  g_assert_cmpint (bs_volume_slice_axis (turned, BS_PLANE_AXIAL, 2), ==, 1);
  turned->spacing[1] = turned->affine[2][1] = 5.0;
  g_assert_false (bs_segment_planes_suit (turned, BS_PLANE_AXIAL, &why));
  g_assert_nonnull (why);
  g_free (why);
  g_assert_true (bs_segment_planes_suit (turned, BS_PLANE_CORONAL, NULL));
  turned->spacing[1] = turned->affine[2][1] = 1.0;
  turned->spacing[2] = turned->affine[1][2] = 5.0;
  g_assert_true (bs_segment_planes_suit (turned, BS_PLANE_AXIAL, NULL));
  g_assert_false (bs_segment_planes_suit (turned, BS_PLANE_CORONAL, NULL));
  /* pixels: 1 x 5 mm in the axial plane is not fine; 0.5 mm on one side is */
  g_assert_null (bs_segment_pixel_note (turned, BS_PLANE_AXIAL));
  turned->spacing[0] = turned->affine[0][0] = 0.5;
  why = bs_segment_pixel_note (turned, BS_PLANE_AXIAL);
  g_assert_nonnull (why);
  g_assert_nonnull (strstr (why, "Pixels of 0.5 x 5 mm"));
  g_free (why);
}

/* A calibration stored with the weights: int8 takes it instead of measuring
 * the case (the ranges are the case's own here, so the probabilities agree
 * to the bit, and ranges four times as wide change them: they are used);
 * calibrate_case still measures the case; the median of three cases'
 * calibrations is each range's middle value; the result says which ran. */
static void
test_stored_calibration (void)
{
  BsUnetConfig config = { .fms = 2, .in_channels = 1, .out_channels = 3 };
  g_autoptr(BsUnet) net = bs_unet_new_random (&config, 23);
  g_autoptr(BsVolume) prepared = bs_volume_new (48, 40, 20, 1);
  g_autoptr(BsVolume) wide = NULL, narrow = NULL;
  g_autoptr(BsInferGeometry) geom = NULL;
  g_autoptr(BsCalibration) own = NULL, stored = NULL, forced = NULL, c2 = NULL, c3 = NULL;
  g_autoptr(BsSegmentResult) by_case = NULL, by_model = NULL, by_model_forced = NULL, by_wider = NULL;
  g_autoptr(GRand) rng = g_rand_new_with_seed (29);
  g_autoptr(GError) error = NULL;
  g_autofree float *v1 = NULL, *v2 = NULL, *v3 = NULL, *mid = NULL;
  BsCalibration *three[3];
  BsSegmentOptions so;
  gsize n = bs_volume_n_voxels (prepared), nv;
  gboolean differ = FALSE;

  if (!bs_precision_available (BS_PRECISION_INT8, NULL))
    {
      g_test_skip ("int8 is not available on this CPU");
      return;
    }
  for (int z = 2; z < 18; z++)
    for (int y = 0; y < 40; y++)
      for (int x = 0; x < 48; x++)
        if (hypot (x - 24.0, y - 20.0) < 15.0)
          prepared->data[((gsize) z * 40 + y) * 48 + x] = (float) g_rand_double_range (rng, -1.0, 2.0);
  geom = bs_infer_geometry_new_for_net (net, prepared, BS_PLANE_AXIAL, TRUE);
  own = bs_calibration_new_for_case (net, prepared, geom, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bs_calibration_get_cases (own), ==, 0);
  g_assert_cmpint (bs_calibration_get_slices (own), ==, BS_CALIBRATION_SLICES);
  g_assert_null (bs_calibration_new_stored (net));

  /* the median of one calibration is itself */
  nv = 1 + net->n_layers;
  v1 = g_new (float, nv);
  bs_calibration_median (net, &own, 1, v1);
  for (gsize i = 0; i < nv; i++)
    g_assert_cmpfloat (v1[i], >, 0.0f);

  /* two more cases: the same one scaled, so every range moves */
  wide = bs_volume_copy (prepared);
  narrow = bs_volume_copy (prepared);
  for (gsize v = 0; v < n; v++)
    {
      wide->data[v] *= 3.0f;
      narrow->data[v] *= 0.25f;
    }
  c2 = bs_calibration_new_for_case (net, wide, geom, TRUE, &error);
  g_assert_no_error (error);
  c3 = bs_calibration_new_for_case (net, narrow, geom, TRUE, &error);
  g_assert_no_error (error);
  v2 = g_new (float, nv);
  v3 = g_new (float, nv);
  mid = g_new (float, nv);
  bs_calibration_median (net, &c2, 1, v2);
  bs_calibration_median (net, &c3, 1, v3);
  three[0] = c3;
  three[1] = own;
  three[2] = c2;
  bs_calibration_median (net, three, 3, mid);
  for (gsize i = 0; i < nv; i++)
    {
      float a = v1[i], b = v2[i], c = v3[i];
      float middle = (a >= b) == (a <= c) ? a : (b >= a) == (b <= c) ? b : c;

      g_assert_cmpfloat (mid[i], ==, middle);
    }
  g_assert_cmpfloat (mid[0], ==, v1[0]);  /* the input's range scales with the input */

  bs_segment_options_init (&so);
  so.plan.precision = BS_PRECISION_INT8;
  so.plan.layout = BS_MEMLAYOUT_NHWC;
  so.plan.threads = 1;
  so.plan.three_planes = FALSE;
  by_case = bs_segment_regions (net, prepared, NULL, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (by_case->calibration_cases, ==, 0);
  g_assert_cmpint (by_case->calibration_slices, ==, BS_CALIBRATION_SLICES);

  bs_unet_set_calibration (net, v1, 1);
  stored = bs_calibration_new_for_case (net, prepared, geom, FALSE, &error);
  g_assert_cmpint (bs_calibration_get_cases (stored), ==, 1);
  g_assert_cmpint (bs_calibration_get_slices (stored), ==, 0);
  forced = bs_calibration_new_for_case (net, prepared, geom, TRUE, &error);
  g_assert_cmpint (bs_calibration_get_cases (forced), ==, 0);
  by_model = bs_segment_regions (net, prepared, NULL, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (by_model->calibration_cases, ==, 1);
  g_assert_cmpint (by_model->calibration_slices, ==, 0);
  g_assert_cmpmem (by_model->prob->data, n * 3 * sizeof (float), by_case->prob->data, n * 3 * sizeof (float));
  so.plan.calibrate_case = TRUE;
  by_model_forced = bs_segment_regions (net, prepared, NULL, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (by_model_forced->calibration_cases, ==, 0);
  g_assert_cmpmem (by_model_forced->prob->data, n * 3 * sizeof (float), by_case->prob->data, n * 3 * sizeof (float));

  for (gsize i = 0; i < nv; i++)
    v1[i] *= 4.0f;
  bs_unet_set_calibration (net, v1, 5);
  so.plan.calibrate_case = FALSE;
  by_wider = bs_segment_regions (net, prepared, NULL, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (by_wider->calibration_cases, ==, 5);
  for (gsize v = 0; v < n * 3 && !differ; v++)
    differ = by_wider->prob->data[v] != by_case->prob->data[v];
  g_assert_true (differ);
}

/* bs_segment_finish_regions reads only the slices that can hold a region
 * (region_slices): on masks and truths in a few slices of a taller volume
 * its counts are the whole volume's, region_slices holds every voxel of
 * them, and bs_metrics_region_in over those slices gives what
 * bs_metrics_region gives over all.  Without a whole-tumour truth beside a
 * sub-region's, nothing is assumed: every slice. */
static void
test_region_slices (void)
{
  const int nx = 7, ny = 6, nz = 40;
  const gsize plane = (gsize) nx * ny, n = plane * nz;
  g_autoptr(GRand) rng = g_rand_new_with_seed (91);
  g_autoptr(BsSegmentResult) r = g_new0 (BsSegmentResult, 1);
  g_autoptr(BsVolume) label = bs_volume_new (nx, ny, nz, 1);
  g_autoptr(BsVolume) t_wt = NULL, t_tc = NULL, t_et = NULL;
  const BsVolume *truths[BS_N_REGIONS];
  g_autoptr(GError) error = NULL;
  int lo = nz, hi = -1;

  bs_timing_reset (&r->timing);
  r->prob = bs_volume_new (nx, ny, nz, 3);
  g_free (r->prob->channel_names[1]);
  r->prob->channel_names[1] = g_strdup ("tc");
  g_free (r->prob->channel_names[2]);
  r->prob->channel_names[2] = g_strdup ("et");
  /* predictions in slices 10-19, labels (BraTS 2017: 1 core, 2 edema, 4 enhancing) in 15-24 */
  for (gsize v = 10 * plane; v < 20 * plane; v++)
    for (int c = 0; c < 3; c++)
      bs_volume_channel (r->prob, c)[v] = (float) g_rand_double (rng);
  for (gsize v = 15 * plane; v < 25 * plane; v++)
    {
      static const float values[] = { 0, 1, 2, 4 };

      label->data[v] = values[g_rand_int_range (rng, 0, 4)];
    }
  t_wt = bs_labels_whole_tumour (label);
  t_tc = bs_labels_region (label, BS_LABELS_BRATS2017, BS_REGION_TC);
  t_et = bs_labels_region (label, BS_LABELS_BRATS2017, BS_REGION_ET);
  truths[BS_REGION_WT] = t_wt;
  truths[BS_REGION_TC] = t_tc;
  truths[BS_REGION_ET] = t_et;
  g_assert_true (bs_segment_finish_regions (r, truths, BS_PLANE_AXIAL, NULL, FALSE, &error));
  g_assert_no_error (error);
  for (int k = 0; k < BS_N_REGIONS; k++)
    {
      BsConfusion c = { 0 };
      BsRegionMetrics all, in;

      g_assert_nonnull (r->region_mask[k]);
      for (gsize v = 0; v < n; v++)
        if (r->region_mask[k]->data[v] != 0.0f || truths[k]->data[v] != 0.0f)
          {
            lo = MIN (lo, (int) (v / plane));
            hi = MAX (hi, (int) (v / plane));
          }
      bs_confusion_add (&c, r->region_mask[k]->data, truths[k]->data, n);
      g_assert_cmpuint (r->region_confusion[k].tp, ==, c.tp);
      g_assert_cmpuint (r->region_confusion[k].fp, ==, c.fp);
      g_assert_cmpuint (r->region_confusion[k].fn, ==, c.fn);
      g_assert_cmpuint (r->region_confusion[k].tn, ==, c.tn);
      g_assert_cmpuint (c.tp, >, 0);
      bs_metrics_region (r->region_mask[k]->data, truths[k]->data, label->dims, label->spacing, &all);
      bs_metrics_region_in (r->region_mask[k]->data, truths[k]->data, label->dims, label->spacing,
                            r->region_slices[0], r->region_slices[1], &in);
      g_assert_cmpmem (&all.confusion, sizeof all.confusion, &in.confusion, sizeof in.confusion);
      g_assert_cmpfloat (all.hd95_mm, ==, in.hd95_mm);
      g_assert_cmpfloat (all.specificity, ==, in.specificity);
      g_assert_cmpfloat (all.volume_ml, ==, in.volume_ml);
    }
  g_assert_cmpuint (r->confusion.tp, ==, r->region_confusion[BS_REGION_WT].tp);
  g_assert_cmpint (lo, >=, 10);
  g_assert_cmpint (hi, <=, 24);
  g_assert_cmpint (r->region_slices[0], <=, lo);
  g_assert_cmpint (r->region_slices[1], >, hi);
  g_assert_cmpint (r->region_slices[0], >=, 10);
  g_assert_cmpint (r->region_slices[1], <=, 25);

  /* An enhancing-tumour truth outside the (absent) whole-tumour truth: all slices. */
  truths[BS_REGION_WT] = NULL;
  truths[BS_REGION_TC] = NULL;
  memset (t_et->data, 0, n * sizeof (float));
  t_et->data[2 * plane + 3] = 1.0f;
  g_assert_true (bs_segment_finish_regions (r, truths, BS_PLANE_AXIAL, NULL, FALSE, &error));
  g_assert_cmpint (r->region_slices[0], ==, 0);
  g_assert_cmpint (r->region_slices[1], ==, nz);
  g_assert_cmpuint (r->region_confusion[BS_REGION_ET].fn, ==, 1);
}

/* brainseg-cli with args; its exit status, its stderr in *err. */
static int
run_cli_status (const char *const *args, char **err)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_ptr_array_add (argv, (gpointer) g_getenv ("BS_CLI"));
  for (int i = 0; args[i]; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               err, &status, &error));
  g_assert_no_error (error);
  return g_spawn_check_wait_status (status, NULL) ? 0 : 1;
}

/* `infer` checks every output before it works, and leaves none of them when
 * one cannot be written (fuzz findings: a --prob-out into a missing folder
 * left the mask written; --out could overwrite the image being segmented). */
static void
test_cli_outputs (void)
{
  g_autofree char *dir = g_build_filename (tmpdir, "outputs", NULL);
  g_autofree char *mask = g_build_filename (dir, "m.nii.gz", NULL);
  g_autofree char *image = g_build_filename (dir, "image.nii.gz", NULL);
  g_autofree char *err = NULL, *before = NULL, *after = NULL;
  gsize len_before = 0, len_after = 0;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  {
    const char *args[] = { "infer", sample, "--threads", "1", "--three-planes", "off", "--out", mask,
                           "--prob-out", "/nonexistent-brainseg-dir/p.nii.gz", NULL };

    g_assert_cmpint (run_cli_status (args, &err), !=, 0);
    g_test_message ("%s", err);
    g_assert_nonnull (strstr (err, "/nonexistent-brainseg-dir/p.nii.gz"));
    g_assert_false (g_file_test (mask, G_FILE_TEST_EXISTS));
    g_clear_pointer (&err, g_free);
  }
  {
    const char *args[] = { "infer", sample, "--threads", "1", "--out", mask, "--prob-out", mask, NULL };

    g_assert_cmpint (run_cli_status (args, &err), !=, 0);
    g_assert_nonnull (strstr (err, "twice"));
    g_assert_false (g_file_test (mask, G_FILE_TEST_EXISTS));
    g_clear_pointer (&err, g_free);
  }
  {
    /* export's numbers out of range (fuzz findings: nan, 5 and -5 were taken) */
    g_autofree char *png = g_build_filename (dir, "o.png", NULL);
    const char *opacity[] = { "export", sample, "--what", "overlay", "--out", png, "--opacity", "5", NULL };
    const char *nan_opacity[] = { "export", sample, "--what", "overlay", "--out", png, "--opacity", "nan", NULL };
    const char *slice[] = { "export", sample, "--what", "overlay", "--out", png, "--slice", "-5", NULL };

    g_assert_cmpint (run_cli_status (opacity, &err), !=, 0);
    g_assert_nonnull (strstr (err, "--opacity"));
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run_cli_status (nan_opacity, &err), !=, 0);
    g_assert_nonnull (strstr (err, "--opacity"));
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run_cli_status (slice, &err), !=, 0);
    g_assert_nonnull (strstr (err, "--slice"));
    g_clear_pointer (&err, g_free);
    {
      const char *size[] = { "export", sample, "--what", "overlay", "--out", png, "--size", "-5x10", NULL };

      g_assert_cmpint (run_cli_status (size, &err), !=, 0);
      g_assert_nonnull (strstr (err, "-5x10"));
      g_clear_pointer (&err, g_free);
    }
    g_assert_false (g_file_test (png, G_FILE_TEST_EXISTS));
  }
  {
    /* one file of the sample, segmented into itself */
    g_autoptr(BsDataset) ds = bs_dataset_open (sample, NULL, NULL);
    g_autoptr(BsCase) c = ds ? bs_dataset_load_case (ds, 0, NULL) : NULL;
    const char *args[] = { "infer", image, "--threads", "1", "--out", image, NULL };

    g_assert_nonnull (c);
    g_assert_true (bs_volume_save_nifti (c->image, image, DT_FLOAT32, NULL));
    g_assert_true (g_file_get_contents (image, &before, &len_before, NULL));
    g_assert_cmpint (run_cli_status (args, &err), !=, 0);
    g_test_message ("%s", err);
    g_assert_nonnull (strstr (err, "inputs"));
    g_assert_nonnull (strstr (err, image));
    g_assert_true (g_file_get_contents (image, &after, &len_after, NULL));
    g_assert_cmpuint (len_after, ==, len_before);
    g_assert_true (memcmp (before, after, len_before) == 0);
  }
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
  g_test_add_func ("/segment/three-planes", test_three_planes);
  g_test_add_func ("/segment/slabs", test_slabs);
  g_test_add_func ("/segment/regions-by-hand", test_regions_by_hand);
  g_test_add_func ("/segment/regions-without-core", test_regions_without_core);
  g_test_add_func ("/segment/regions-pipeline", test_regions_pipeline);
  g_test_add_func ("/segment/region-slices", test_region_slices);
  g_test_add_func ("/segment/after-network", test_after_network);
  g_test_add_func ("/segment/stored-calibration", test_stored_calibration);
  g_test_add_func ("/segment/three-planes-nothing-found", test_three_planes_nothing_found);
  g_test_add_func ("/segment/three-planes-thick-slices", test_three_planes_thick_slices);
  g_test_add_func ("/segment/int8-infer-export-dialog", test_int8_agreement);
  g_test_add_func ("/segment/cli-outputs", test_cli_outputs);
  status = g_test_run ();
  bs_test_remove_tree (tmpdir);
  g_free (tmpdir);
  g_free (sample);
  return status;
}
