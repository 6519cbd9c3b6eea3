/* brainseg-cli infer: whole-volume inference on whole axial slices, the mask
 * as NIfTI with the source affine, whole-tumour Dice and where the time went. */
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>
#include <json-glib/json-glib.h>
#include <nifti1.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bs-dataset.h"
#include "bs-dist.h"
#include "bs-infer.h"
#include "bs-labels.h"
#include "bs-nifti.h"
#include "bs-parallel.h"
#include "bs-plan.h"
#include "bs-segment.h"
#include "bs-runtime.h"
#include "bs-unet.h"
#include "bs-calibration.h"
#include "cli.h"
#include "cli-json.h"
#include "cli-mask.h"
#include "cli-infer-all.h"


/* "regions": the BraTS metrics of every region the model predicts (the
 * whole tumour always; tumour core and enhancing tumour when it has those
 * outputs).  A region it does not predict carries "predicted": false, the
 * truth's volume where the case's labels tell the region apart, and null
 * for the rest. */
/* The metrics of every region the model predicts, the three at once (HD95's
 * distance transforms are most of the time after the mask is written). */
typedef struct {
  const BsSegmentResult *seg;
  const BsVolume *const *truths;
  const int *z;   /* the axial voxel slices [z[0], z[1]) measured */
  BsRegionMetrics m[BS_N_REGIONS];
} RegionsJob;

static void
measure_region (int r, gpointer data)
{
  RegionsJob *job = data;
  const BsVolume *mask = job->seg->region_mask[r];

  if (mask != NULL)
    bs_metrics_region_in (mask->data, job->truths[r] != NULL ? job->truths[r]->data : NULL, mask->dims,
                          mask->spacing, job->z[0], job->z[1], &job->m[r]);
}

static void
measure_regions (RegionsJob *job, const BsSegmentResult *seg, const BsVolume *const *truths, const int *z)
{
  memset (job, 0, sizeof *job);
  job->seg = seg;
  job->truths = truths;
  job->z = z;
  bs_parallel_for (BS_N_REGIONS, measure_region, job);
}

static void
add_regions_json (JsonBuilder *b, const BsSegmentResult *seg, const BsVolume *const *truths, const int *z)
{
  const BsVolume *mask = seg->mask;
  double voxel_ml = mask->spacing[0] * mask->spacing[1] * mask->spacing[2] / 1000.0;
  RegionsJob job;

  measure_regions (&job, seg, truths, z);
  json_builder_begin_object (b);
  for (int r = 0; r < BS_N_REGIONS; r++)
    {
      const BsVolume *truth = truths[r];
      BsRegionMetrics m = { 0 };

      json_builder_set_member_name (b, bs_region_name (r));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "predicted");
      json_builder_add_boolean_value (b, seg->region_mask[r] != NULL);
      if (seg->region_mask[r] != NULL)
        m = job.m[r];
      else
        {
          m.dice = m.hd95_mm = m.sensitivity = m.specificity = m.volume_ml = m.true_volume_ml = NAN;
          if (truth != NULL)
            {
              guint64 on = 0;
              for (gsize v = 0; v < bs_volume_n_voxels (truth); v++)
                on += truth->data[v] > 0.5f;
              m.true_volume_ml = (double) on * voxel_ml;
            }
        }
      bs_cli_json_add_region_metrics (b, &m);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
}

/* One line for each sub-region (the whole tumour has its own lines). */
static void
print_subregions (const BsSegmentResult *seg, const BsVolume *const *truths, const int *z)
{
  static const char *const names[BS_N_REGIONS] = { N_("whole tumour"), N_("tumour core"), N_("enhancing tumour") };
  RegionsJob job;

  measure_regions (&job, seg, truths, z);
  for (int r = BS_REGION_TC; r < BS_N_REGIONS; r++)
    {
      const BsRegionMetrics m = job.m[r];

      if (seg->region_mask[r] == NULL)
        {
          printf (_("%s: not predicted by this model\n"), _(names[r]));
          continue;
        }
      if (truths[r] != NULL)
        printf (_("%s: Dice %.4f, HD95 %.2f mm, sensitivity %.4f, specificity %.4f, %.1f ml predicted, %.1f ml "
                  "in the truth\n"), _(names[r]), m.dice, m.hd95_mm, m.sensitivity, m.specificity, m.volume_ml,
                m.true_volume_ml);
      else
        printf (_("%s: %.1f ml predicted, no ground truth for it\n"), _(names[r]), m.volume_ml);
    }
}

/* What every case of one infer run shares. */
typedef struct {
  BsUnet *net;
  gboolean is_random;
  BsDataset *ds;
  const char *prob_out, *prepared_out, *mask_labels_s;
  BsPlanOptions opts;
  gboolean cleanup, json;
  int only_slice;
  JsonArray *into;          /* every case (--all-cases): its JSON object goes here, with its "index" */
} InferRun;

static int
infer_case (const InferRun *run, int case_index, const char *out, double t_cmd)
{
  BsUnet *net = run->net;
  gboolean is_random = run->is_random, json = run->json || run->into != NULL, cleanup = run->cleanup;
  BsDataset *ds = run->ds;
  const char *prob_out = run->prob_out, *prepared_out = run->prepared_out, *mask_labels_s = run->mask_labels_s;
  const char *model = net->path;
  int only_slice = run->only_slice;
  BsPlanOptions opts = run->opts;
  g_autoptr(GError) error = NULL;
  g_autoptr(BsCase) c = NULL;
  g_autoptr(BsVolume) prepared = NULL;
  g_auto(GStrv) present = NULL;
  g_autoptr(BsVolume) truth = NULL, truth_tc = NULL, truth_et = NULL, mask_out = NULL;
  const BsVolume *truths[BS_N_REGIONS] = { NULL };
  BsLabelConvention mask_conv = BS_LABELS_BINARY;
  g_autoptr(BsSegmentResult) seg = NULL;
  g_autofree guint8 *one = NULL;
  BsSegmentOptions sopts;
  BsCliAfterNetwork after;
  const BsInferGeometry *geom;
  gboolean has_dice;
  double dice, dice_raw, t0, t_start, prepare_ms, infer_ms, load_ms, write_ms = 0;
  int slices, zr[2];
  double prepared_spacing[2][3];

  {
    /* Not over the case's own files (a mask written over its label was
     * taken, and the ground truth lost). */
    const char *outputs[] = { out, prob_out, prepared_out };

    if (!bs_cli_check_case_outputs (outputs, G_N_ELEMENTS (outputs), ds, case_index, &error))
      return bs_cli_fail (error);
  }
  c = bs_dataset_load_case (ds, case_index, &error);
  if (!c)
    return bs_cli_fail (error);
  bs_cli_warn_nonfinite ("infer", c);
  /* Before the network runs: a model that cannot give the labels asked for. */
  if (!bs_cli_mask_labels (mask_labels_s, net, model, c, &mask_conv, &error))
    return bs_cli_fail (error);

  t_start = bs_now_ms ();
  load_ms = t_start - t_cmd;
  t0 = bs_now_ms ();
  present = bs_cli_channels_present (net, c->image);
  /* The image is not read again: it is normalised in place where it can be
   * (no second volume to page in), and freed otherwise. */
  prepared = bs_infer_prepare_take (net, g_steal_pointer (&c->image), &error);
  if (!prepared)
    return bs_cli_fail (error);
  /* the file's voxel and the one the network ran on (prepared may be freed
   * once the network is done) */
  memcpy (prepared_spacing[0], prepared->source_spacing, sizeof prepared_spacing[0]);
  memcpy (prepared_spacing[1], prepared->spacing, sizeof prepared_spacing[1]);
  prepare_ms = bs_now_ms () - t0;
  slices = bs_volume_n_slices (prepared, BS_PLANE_AXIAL);
  if (only_slice >= slices)
    {
      fprintf (stderr, _("brainseg-cli infer: --slice %d: the case has %d axial slices\n"), only_slice, slices);
      return 1;
    }
  bs_segment_options_init (&sopts);
  sopts.plan = opts;
  sopts.plane = BS_PLANE_AXIAL;
  sopts.cleanup = cleanup;
  /* One slice runs through the same window and calibration as the whole
   * volume, so that it agrees with it. */
  if (only_slice >= 0)
    {
      one = g_new0 (guint8, slices);
      one[only_slice] = 1;
      sopts.slices = one;
      slices = 1;
    }
  /* The truths are made once the network is done, in the memory the
   * prepared image leaves (after_network), unless it is still to be written. */
  after = (BsCliAfterNetwork) { c, prepared_out == NULL ? &prepared : NULL, truths, { &truth, &truth_tc, &truth_et } };
  sopts.after_network = bs_cli_after_network;
  sopts.after_network_data = &after;
  seg = bs_segment_regions (net, prepared, truths, &sopts, NULL, NULL, NULL, &error);
  if (!seg)
    return bs_cli_fail (error);
  bs_timing_add_stage (&seg->timing, "preprocess", prepare_ms);
  geom = seg->geom;
  infer_ms = seg->run_ms;
  has_dice = seg->has_truth;
  dice = seg->dice;
  dice_raw = seg->dice_raw;
  /* The metrics are of what ran: with --slice, that axial slice alone
   * (helper finding: one slice's mask was measured against the whole
   * volume's truth), where axial slices are the volume's third axis. */
  zr[0] = seg->region_slices[0];
  zr[1] = seg->region_slices[1];
  if (only_slice >= 0 && bs_volume_slice_axis (seg->mask, BS_PLANE_AXIAL, 2) == 2)
    {
      int ijk[3];

      bs_volume_slice_to_voxel (seg->mask, BS_PLANE_AXIAL, only_slice, 0, 0, ijk);
      zr[0] = ijk[2];
      zr[1] = ijk[2] + 1;
    }

  t0 = bs_now_ms ();
  /* the binary mask is written as it is, a label map is made */
  if (out && mask_conv != BS_LABELS_BINARY && !(mask_out = bs_cli_mask_volume (seg, mask_conv, &error)))
    return bs_cli_fail (error);
  {
    /* All the outputs or none: the ones this run wrote before a failure go. */
    const char *paths[] = { out, prob_out, prepared_out };
    const BsVolume *vols[] = { mask_out ? mask_out : seg->mask, seg->prob, prepared };
    const int types[] = { DT_UINT8, DT_FLOAT32, DT_FLOAT32 };

    for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
      if (paths[i] != NULL && !bs_volume_save_nifti (vols[i], paths[i], types[i], &error))
        {
          for (guint j = 0; j < i; j++)
            if (paths[j] != NULL)
              g_unlink (paths[j]);
          return bs_cli_fail (error);
        }
  }
  write_ms = bs_now_ms () - t0;

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "case");
      json_builder_add_string_value (b, c->id);
      if (run->into != NULL)
        {
          /* the case's place in the dataset (processes of one run each do some) */
          json_builder_set_member_name (b, "index");
          json_builder_add_int_value (b, case_index);
        }
      bs_cli_json_add_model (b, net, is_random);
      bs_cli_json_add_channels_present (b, present);
      json_builder_set_member_name (b, "precision");
      json_builder_add_string_value (b, bs_precision_name (opts.precision));
      json_builder_set_member_name (b, "layout");
      json_builder_add_string_value (b, bs_memlayout_name (opts.layout));
      json_builder_set_member_name (b, "fusion");
      json_builder_add_string_value (b, opts.fusion ? "on" : "off");
      json_builder_set_member_name (b, "threads");
      json_builder_add_int_value (b, seg->threads);
      json_builder_set_member_name (b, "lanes");
      json_builder_add_int_value (b, seg->lanes);
      json_builder_set_member_name (b, "batch");
      json_builder_add_int_value (b, opts.batch);
      /* The whole slice padded for the network; "window" is what ran. */
      json_builder_set_member_name (b, "slice_size");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, (geom->width + 15) / 16 * 16);
      json_builder_add_int_value (b, (geom->height + 15) / 16 * 16);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "crop_to_brain");
      json_builder_add_string_value (b, geom->cropped ? "on" : "off");
      json_builder_set_member_name (b, "test_time_flips");
      json_builder_add_string_value (b, opts.test_time_flips ? "on" : "off");
      json_builder_set_member_name (b, "three_planes");
      json_builder_add_string_value (b, seg->three_planes ? "on" : "off");
      if (seg->planes_note != NULL)
        {
          json_builder_set_member_name (b, "three_planes_note");
          json_builder_add_string_value (b, seg->planes_note);
        }
      if (seg->pixel_note != NULL)
        {
          json_builder_set_member_name (b, "pixel_note");
          json_builder_add_string_value (b, seg->pixel_note);
        }
      if (seg->resample_note != NULL)
        {
          /* what the network ran on, and the file's grid the outputs were written on */
          json_builder_set_member_name (b, "resampled");
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "file_voxel_mm");
          json_builder_begin_array (b);
          for (int a = 0; a < 3; a++)
            json_builder_add_double_value (b, prepared_spacing[0][a]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "voxel_mm");
          json_builder_begin_array (b);
          for (int a = 0; a < 3; a++)
            json_builder_add_double_value (b, prepared_spacing[1][a]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "note");
          json_builder_add_string_value (b, seg->resample_note);
          json_builder_end_object (b);
        }
      json_builder_set_member_name (b, "window");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, geom->x0);
      json_builder_add_int_value (b, geom->y0);
      json_builder_add_int_value (b, geom->pw);
      json_builder_add_int_value (b, geom->ph);
      json_builder_end_array (b);
      /* The window above holds every slab's (bs_infer_geometry_slabs). */
      json_builder_set_member_name (b, "slabs");
      json_builder_add_int_value (b, seg->n_slabs);
      json_builder_set_member_name (b, "slices");
      json_builder_add_int_value (b, slices);
      json_builder_set_member_name (b, "slices_run");
      json_builder_add_int_value (b, seg->n_run);
      json_builder_set_member_name (b, "omp_wait_policy");
      json_builder_add_string_value (b, bs_runtime_wait_policy ());
      json_builder_set_member_name (b, "malloc_policy");
      json_builder_add_string_value (b, bs_runtime_malloc_policy ());
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, infer_ms / 1000.0);
      json_builder_set_member_name (b, "ms_per_slice");
      json_builder_add_double_value (b, infer_ms / MAX (slices, 1));
      /* int8: where its activation ranges came from */
      json_builder_set_member_name (b, "calibration");
      if (seg->calibration_cases > 0 || seg->calibration_slices > 0)
        {
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "source");
          json_builder_add_string_value (b, seg->calibration_cases > 0 ? "model" : "case");
          json_builder_set_member_name (b, seg->calibration_cases > 0 ? "cases" : "slices");
          json_builder_add_int_value (b, seg->calibration_cases > 0 ? seg->calibration_cases : seg->calibration_slices);
          json_builder_end_object (b);
        }
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "plan_seconds");
      json_builder_add_double_value (b, seg->plan_ms / 1000.0);
      json_builder_set_member_name (b, "total_seconds");
      json_builder_add_double_value (b, (bs_now_ms () - t_start) / 1000.0);
      /* Reading the model and the case, and writing the files asked for:
       * with total_seconds, the command from its start to the mask written. */
      json_builder_set_member_name (b, "load_seconds");
      json_builder_add_double_value (b, load_ms / 1000.0);
      json_builder_set_member_name (b, "write_seconds");
      json_builder_add_double_value (b, write_ms / 1000.0);
      json_builder_set_member_name (b, "dice_wt");
      if (has_dice)
        json_builder_add_double_value (b, dice);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "cleanup");
      json_builder_add_string_value (b, cleanup ? "on" : "off");
      json_builder_set_member_name (b, "dice_wt_raw");
      if (has_dice)
        json_builder_add_double_value (b, dice_raw);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "regions");
      add_regions_json (b, seg, truths, zr);
      json_builder_set_member_name (b, "components");
      json_builder_add_int_value (b, seg->cleanup.n_components);
      json_builder_set_member_name (b, "removed_voxels");
      json_builder_add_int_value (b, (gint64) seg->cleanup.removed);
      /* the clean-up's other parts (region models): voxels of the core's holes filled, and (below) the
       * core's voxels trimmed away from the enhancing tumour; a hole filled and then trimmed counts in both */
      json_builder_set_member_name (b, "core_filled_voxels");
      if (seg->region_mask[BS_REGION_TC] != NULL)
        json_builder_add_int_value (b, (gint64) seg->cleanup.core_filled);
      else
        json_builder_add_null_value (b);
      /* and the core's voxels far from its enhancing rim, switched off */
      json_builder_set_member_name (b, "core_trimmed_voxels");
      if (seg->region_mask[BS_REGION_TC] != NULL && seg->region_mask[BS_REGION_ET] != NULL)
        json_builder_add_int_value (b, (gint64) seg->cleanup.core_trimmed);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "tumour_voxels");
      json_builder_add_int_value (b, (gint64) seg->tumour_voxels);
      json_builder_set_member_name (b, "stages");
      json_builder_begin_object (b);
      for (int i = 0; i < seg->timing.n_stages; i++)
        {
          json_builder_set_member_name (b, seg->timing.stages[i].name);
          json_builder_add_double_value (b, seg->timing.stages[i].ms);
        }
      json_builder_end_object (b);
      json_builder_set_member_name (b, "mask_labels");
      json_builder_add_string_value (b, bs_labels_convention_name (mask_conv));
      json_builder_set_member_name (b, "out");
      if (out)
        json_builder_add_string_value (b, out);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      if (run->into != NULL)
        json_array_add_element (run->into, json_builder_get_root (b));
      else
        bs_cli_print_json (b);
    }
  else
    {
      printf (_("case %s: %d slices in %.2f s (%.1f ms/slice), %s %s fusion %s, batch %d\n"), c->id, slices,
              infer_ms / 1000.0, infer_ms / MAX (slices, 1), bs_precision_name (opts.precision),
              bs_memlayout_name (opts.layout), opts.fusion ? "on" : "off", opts.batch);
      /* No slice held anything but background (a blank or constant image, one
       * voxel): no plan was made and no thread ran, which read "0 threads
       * on every layer" (hostile-input finding). */
      if (seg->n_run == 0)
        printf ("%s\n", _("the network ran on no slice: the slices hold nothing but background, so the mask is empty"));
      else if (seg->lanes > 1)
        printf (g_dngettext (GETTEXT_PACKAGE, "lanes: %d copy of the network, one thread each, sharing out the slices\n",
                             "lanes: %d copies of the network, one thread each, sharing out the slices\n", seg->lanes),
                seg->lanes);
      else
        printf (g_dngettext (GETTEXT_PACKAGE, "%d thread on every layer\n", "%d threads on every layer\n",
                             seg->threads),
                seg->threads);
      if (seg->calibration_cases > 0 || seg->calibration_slices > 0)
        {
          g_autofree char *cal = bs_calibration_describe_counts (seg->calibration_cases, seg->calibration_slices);

          printf ("%s\n", cal);
        }
      if (opts.test_time_flips)
        printf ("%s\n", _("test-time flips: every slice also ran mirrored left-right; the probabilities are averaged"));
      if (seg->three_planes)
        printf ("%s\n", _("three planes: the network also ran on the coronal and sagittal slices through the tumour's box; the three probabilities are averaged there"));
      else if (seg->planes_note != NULL)
        printf (_("three planes: not run. %s\n"), seg->planes_note);
      if (seg->pixel_note != NULL)
        printf (_("warning: %s\n"), seg->pixel_note);
      if (seg->resample_note != NULL)
        printf ("%s\n", seg->resample_note);
      if (geom->cropped)
        printf (_("cropped to the brain: %d of %d slices run, on a %dx%d window of the %dx%d slices\n"),
                seg->n_run, slices, geom->pw, geom->ph, geom->width, geom->height);
      if (has_dice)
        printf (_("whole-tumour Dice: %.4f (%llu voxels predicted)\n"), dice, (unsigned long long) seg->tumour_voxels);
      else
        printf (_("no ground truth; %llu voxels predicted as tumour\n"), (unsigned long long) seg->tumour_voxels);
      if (has_dice)
        {
          BsRegionMetrics m;

          bs_metrics_region_in (seg->mask->data, truth->data, truth->dims, truth->spacing, zr[0], zr[1], &m);
          printf (_("whole tumour: HD95 %.2f mm, sensitivity %.4f, specificity %.4f, %.1f ml predicted, %.1f ml "
                    "in the truth\n"), m.hd95_mm, m.sensitivity, m.specificity, m.volume_ml, m.true_volume_ml);
        }
      print_subregions (seg, truths, zr);
      if (cleanup && has_dice)
        printf (_("island clean-up: kept %d of %d components, removed %.0f voxels (Dice before: %.4f)\n"),
                seg->cleanup.n_kept, seg->cleanup.n_components, (double) seg->cleanup.removed, dice_raw);
      else if (cleanup)
        printf (_("island clean-up: kept %d of %d components, removed %.0f voxels\n"), seg->cleanup.n_kept,
                seg->cleanup.n_components, (double) seg->cleanup.removed);
      if (cleanup && seg->region_mask[BS_REGION_TC] != NULL)
        /* TRANSLATORS: the clean-up also fills the holes of the tumour-core mask in its axial, coronal and
         * sagittal slices (necrosis the network left out, enclosed by the core) */
        printf (_("tumour core: %.0f voxels of holes filled\n"), (double) seg->cleanup.core_filled);
      if (cleanup && seg->region_mask[BS_REGION_TC] != NULL && seg->region_mask[BS_REGION_ET] != NULL)
        /* TRANSLATORS: the clean-up also removes tumour-core voxels more than 6 mm from the enhancing tumour */
        printf (_("tumour core: %.0f voxels far from the enhancing rim removed\n"),
                (double) seg->cleanup.core_trimmed);
      printf ("%s\n", _("stages (ms):"));
      for (int i = 0; i < seg->timing.n_stages; i++)
        printf ("  %-12s %10.1f\n", seg->timing.stages[i].name, seg->timing.stages[i].ms);
      if (out)
        printf (_("mask written to %s\n"), out);
    }
  return 0;
}

int
bs_cli_infer (int argc, char **argv)
{
  g_autofree char *model = NULL, *case_id = NULL, *out = NULL, *label = NULL;
  g_autofree char *prob_out = NULL, *prepared_out = NULL;
  g_autofree char *precision_s = NULL, *layout_s = NULL, *fusion_s = NULL, *cleanup_s = NULL, *crop_s = NULL;
  g_autofree char *flips_s = NULL, *planes_s = NULL, *mask_labels_s = NULL, *lanes_s = NULL, *cal_s = NULL;
  g_autofree char *resample_s = NULL, *out_dir = NULL;
  int threads = 0, batch = 1, only_slice = -1;
  gboolean json = FALSE, all_cases = FALSE;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, N_("Weights (Keras-layout HDF5); default: the shipped model"), "M.h5" },
    { "case", 0, 0, G_OPTION_ARG_STRING, &case_id, N_("Case to segment (default: the first)"), "ID" },
    { "label", 0, 0, G_OPTION_ARG_FILENAME, &label, N_("Ground truth for a single NIfTI file"), "FILE" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_("Write the mask as NIfTI (uint8, source affine)"), "MASK.nii.gz" },
    { "mask-labels", 0, 0, G_OPTION_ARG_STRING, &mask_labels_s, bs_cli_mask_labels_help, "wt|input|brats|decathlon" },
    { "prob-out", 0, 0, G_OPTION_ARG_FILENAME, &prob_out, N_("Also write the probabilities (float32 NIfTI)"), "PROB.nii.gz" },
    { "prepared-out", 0, 0, G_OPTION_ARG_FILENAME, &prepared_out, N_("Also write the normalised network input (float32 NIfTI)"), "IN.nii.gz" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision_s, N_("fp32 (default), int8 or bf16"), "P" },
    { "layout", 0, 0, G_OPTION_ARG_STRING, &layout_s, N_("nchw, nhwc or blocked (default)"), "L" },
    { "fusion", 0, 0, G_OPTION_ARG_STRING, &fusion_s, N_("on (default) or off"), "on|off" },
    { "cleanup", 0, 0, G_OPTION_ARG_STRING, &cleanup_s,
      N_("on (default): remove islands smaller than 20 per cent of the largest tumour component, fill the holes of the tumour core and keep the core within 6 mm of the enhancing tumour (when that is at least a tenth of it); off: the raw masks"), "on|off" },
    { "crop-to-brain", 0, 0, G_OPTION_ARG_STRING, &crop_s,
      N_("on (default): run only slices with brain, on the brain's window; off: every whole slice"), "on|off" },
    { "test-time-flips", 0, 0, G_OPTION_ARG_STRING, &flips_s,
      N_("on: every slice also runs mirrored left-right and the two probabilities are averaged (twice the time); off (default)"),
      "on|off" },
    { "three-planes", 0, 0, G_OPTION_ARG_STRING, &planes_s,
      N_("on (default): the network also runs on coronal and sagittal slices and the three probabilities are averaged (about three times the time); off: axial slices only"),
      "on|off" },
    { "lanes", 0, 0, G_OPTION_ARG_STRING, &lanes_s,
      N_("on (default): each thread runs its own copy of the network on whole batches of slices, taking the next batch when it has finished its last, so a core that another program holds slows one copy instead of all; off: every layer split between the threads"),
      "on|off" },
    { "resample", 0, 0, G_OPTION_ARG_STRING, &resample_s,
      N_("on (default): voxels finer than 0.8 mm are resampled to about 1 mm, as the model learned, and the outputs written back on the file's grid; off: the case's own voxels"),
      "on|off" },
    { "calibration", 0, 0, G_OPTION_ARG_STRING, &cal_s,
      N_("int8's ranges: model (default: those stored with the model, measured once on many cases; this case's when it stores none) or case (measured on slices of this case)"),
      "model|case" },
    { "slice", 0, 0, G_OPTION_ARG_INT, &only_slice, N_("Only this axial slice (Dice over it alone)"), "K" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("Threads (default: all cores)"), "N" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, N_("Slices per run (default 1, as in the window)"), "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    { "all-cases", 0, 0, G_OPTION_ARG_NONE, &all_cases,
      N_("Every case of the dataset, one after the other: a line (or a JSON object) per case and a summary of the Dice of each region (mean, median, worst)"),
      NULL },
    { "out-dir", 0, 0, G_OPTION_ARG_FILENAME, &out_dir,
      N_("With --all-cases: write each case's mask into this folder as CASE.nii.gz"), "DIR" },
    { NULL },
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(BsDataset) ds = NULL;
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(JsonArray) cases = NULL;
  BsPlanOptions opts;
  InferRun run;
  gboolean is_random = FALSE, cleanup;
  double t_cmd;
  int case_index = 0;
  g_autoptr(JsonArray) failed = json_array_new ();

  if (!bs_cli_parse ("infer", "PATH", _("Segment a case: whole-tumour mask, Dice against the ground truth, stage times."),
                     entries, &argc, &argv))
    return 2;
  if (argc != 2)
    {
      fprintf (stderr, "%s\n", _("brainseg-cli infer: give exactly one PATH (a case folder, Decathlon task, NIfTI or HDF5 file)"));
      return 2;
    }
  bs_plan_options_init (&opts);
  if ((precision_s && !bs_precision_from_string (precision_s, &opts.precision))
      || (layout_s && !bs_memlayout_from_string (layout_s, &opts.layout))
      || (fusion_s && !g_str_equal (fusion_s, "on") && !g_str_equal (fusion_s, "off"))
      || (cleanup_s && !g_str_equal (cleanup_s, "on") && !g_str_equal (cleanup_s, "off"))
      || (crop_s && !g_str_equal (crop_s, "on") && !g_str_equal (crop_s, "off"))
      || (flips_s && !g_str_equal (flips_s, "on") && !g_str_equal (flips_s, "off"))
      || (planes_s && !g_str_equal (planes_s, "on") && !g_str_equal (planes_s, "off"))
      || (lanes_s && !g_str_equal (lanes_s, "on") && !g_str_equal (lanes_s, "off"))
      || (resample_s && !g_str_equal (resample_s, "on") && !g_str_equal (resample_s, "off"))
      || (cal_s && !g_str_equal (cal_s, "model") && !g_str_equal (cal_s, "case")))
    {
      fprintf (stderr, "%s\n", _("brainseg-cli infer: --precision is fp32|int8|bf16, --layout nchw|nhwc|blocked, --fusion on|off, --cleanup on|off, --crop-to-brain on|off, --test-time-flips on|off, --three-planes on|off, --lanes on|off, --resample on|off, --calibration model|case"));
      return 2;
    }
  if (mask_labels_s && !g_strv_contains ((const char *const[]) { "wt", "input", "brats", "decathlon", NULL },
                                         mask_labels_s))
    {
      fprintf (stderr, "%s\n", _("brainseg-cli infer: --mask-labels is wt|input|brats|decathlon"));
      return 2;
    }
  if (threads < 0 || batch < 1)
    {
      fprintf (stderr, "%s\n", _("brainseg-cli infer: --threads must be >= 0 and --batch >= 1"));
      return 2;
    }
  opts.fusion = !fusion_s || g_str_equal (fusion_s, "on");
  opts.crop_to_brain = !crop_s || g_str_equal (crop_s, "on");
  opts.test_time_flips = flips_s && g_str_equal (flips_s, "on");
  opts.three_planes = !planes_s || g_str_equal (planes_s, "on");
  opts.slice_parallel = !lanes_s || g_str_equal (lanes_s, "on");
  opts.calibrate_case = cal_s && g_str_equal (cal_s, "case");
  /* one slice has no 3D components to judge */
  cleanup = (!cleanup_s || g_str_equal (cleanup_s, "on")) && only_slice < 0;
  opts.threads = threads;
  opts.batch = batch;
  /* processes of one run on one machine share its cores (an unbound
   * mpirun), unless the threads are given */
  if (threads == 0 && bs_dist_local_size () > 1)
    opts.threads = MAX (1, (int) g_get_num_processors () / bs_dist_local_size ());

  if (all_cases && (out || prob_out || prepared_out || case_id || only_slice >= 0))
    {
      fprintf (stderr, "%s\n", _("brainseg-cli infer: --all-cases writes masks with --out-dir DIR; --out, --prob-out, --prepared-out, --case and --slice are for one case"));
      return 2;
    }
  if (out_dir && !all_cases)
    {
      fprintf (stderr, "%s\n", _("brainseg-cli infer: --out-dir goes with --all-cases (one case: --out MASK.nii.gz)"));
      return 2;
    }
  /* Processes of one run share the cases of --all-cases out; one case done
   * by each of them would be the same work N times, into the same files. */
  if (bs_dist_size () > 1 && !all_cases)
    {
      if (bs_dist_rank () == 0)
        fprintf (stderr, "%s\n", _("brainseg-cli infer: under mpirun, give --all-cases (the processes share the cases out); one case runs as one process"));
      return 2;
    }
  /* A step that fails in one process fails in all of them together (the
   * others would wait for its cases for ever). */
  {
    gboolean ok = TRUE;

    if (out_dir && !g_file_test (out_dir, G_FILE_TEST_IS_DIR))
      {
        fprintf (stderr, _("brainseg-cli infer: %s: no such folder (--out-dir)\n"), out_dir);
        ok = FALSE;
      }
    if (ok)
      {
        const char *outputs[] = { out, prob_out, prepared_out };
        const char *inputs[] = { argv[1], label, model };

        ok = bs_cli_check_outputs (outputs, G_N_ELEMENTS (outputs), inputs, G_N_ELEMENTS (inputs), &error);
        for (gsize i = 0; ok && i < G_N_ELEMENTS (outputs); i++)
          ok = bs_cli_check_nifti_name (outputs[i], &error);
      }
    t_cmd = bs_now_ms ();
    if (ok)
      {
        net = bs_unet_load_or_default (model, &is_random, &error);
        ok = net != NULL;
      }
    if (ok && is_random)
      fprintf (stderr, "%s\n", _("brainseg-cli infer: no model given and none ships yet; random weights (the mask means nothing)"));
    if (ok)
      {
        ds = bs_dataset_open (argv[1], label, &error);
        ok = ds != NULL;
      }
    if (!ok && error != NULL)
      bs_cli_fail (error);
    if (!bs_dist_all_ok (ok))
      return 1;
  }
  bs_dataset_set_resample (ds, !resample_s || g_str_equal (resample_s, "on"));
  run = (InferRun) { net, is_random, ds, prob_out, prepared_out, mask_labels_s, opts, cleanup, json, only_slice, NULL };
  if (!all_cases)
    {
      if (case_id)
        {
          case_index = bs_dataset_find_case (ds, case_id);
          if (case_index < 0)
            {
              fprintf (stderr, _("brainseg-cli infer: %s has no case '%s'\n"), argv[1], case_id);
              return 1;
            }
        }
      return infer_case (&run, case_index, out, t_cmd);
    }
  /* Every case: one that fails says why and the others go on.  Processes
   * of one run (mpirun) take every size-th case from their rank on, and the
   * first prints them all. */
  cases = json_array_new ();
  run.into = cases;
  for (guint i = 0; i < bs_dataset_get_n_cases (ds); i++)
    {
      g_autofree char *name = NULL, *path = NULL;
      guint before = json_array_get_length (cases);

      if ((int) (i % bs_dist_size ()) != bs_dist_rank ())
        continue;
      name = out_dir ? g_strdup_printf ("%s.nii.gz", bs_dataset_get_case_id (ds, i)) : NULL;
      path = name ? g_build_filename (out_dir, name, NULL) : NULL;
      if (infer_case (&run, (int) i, path, i == (guint) bs_dist_rank () ? t_cmd : bs_now_ms ()) != 0)
        json_array_add_string_element (failed, bs_dataset_get_case_id (ds, i));
      if (!json && bs_dist_size () == 1 && json_array_get_length (cases) > before)
        bs_cli_print_case_line (json_array_get_object_element (cases, before));
    }
  if (bs_dist_size () > 1)
    {
      JsonArray *all = bs_cli_gather_cases (cases, failed);

      if (all == NULL)
        return json_array_get_length (failed) > 0 ? 1 : 0;   /* the first process reports */
      json_array_unref (cases);
      cases = all;
      if (!json)
        for (guint i = 0; i < json_array_get_length (cases); i++)
          bs_cli_print_case_line (json_array_get_object_element (cases, i));
    }
  bs_cli_print_cases_summary (json, cases, failed, (bs_now_ms () - t_cmd) / 1000.0);
  return json_array_get_length (failed) > 0 ? 1 : 0;
}
