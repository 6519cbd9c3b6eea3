/* brainseg-cli export: the window's exports, headless.  Segments the case
 * with the model first (only the one slice for overlay and figure). */
#include <glib/gi18n.h>
#include <math.h>
#include <nifti1.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bs-compare.h"
#include "bs-dataset.h"
#include "bs-error.h"
#include "bs-export.h"
#include "bs-file.h"
#include "bs-infer.h"
#include "bs-labels.h"
#include "bs-metrics.h"
#include "bs-nifti.h"
#include "bs-plan.h"
#include "bs-segment.h"
#include "bs-unet.h"
#include "cli.h"
#include "cli-mask.h"

typedef enum {
  WHAT_OVERLAY,
  WHAT_FIGURE,
  WHAT_MASK,
  WHAT_DICE_CSV,
  WHAT_SERIES,
  WHAT_COMPARE,
} ExportWhat;

static const char *const what_names[] = { "overlay", "figure", "mask", "dice-csv", "series", "compare" };

typedef struct {
  char *case_id, *label, *model, *plane, *what, *out, *size, *modality, *style;
  char *precision, *layout, *fusion, *cleanup, *crop, *flips, *planes, *annotations, *mask_labels, *lanes;
  char *resample;
  char *calibration;
  int slice, threads, batch;
  double opacity;
  gboolean confusion, quiet;
} ExportArgs;

static void
export_args_clear (ExportArgs *a)
{
  g_free (a->case_id);
  g_free (a->label);
  g_free (a->model);
  g_free (a->plane);
  g_free (a->what);
  g_free (a->out);
  g_free (a->size);
  g_free (a->modality);
  g_free (a->style);
  g_free (a->precision);
  g_free (a->layout);
  g_free (a->fusion);
  g_free (a->crop);
  g_free (a->flips);
  g_free (a->planes);
  g_free (a->resample);
  g_free (a->calibration);
  g_free (a->lanes);
  g_free (a->cleanup);
  g_free (a->annotations);
  g_free (a->mask_labels);
}

static gboolean
fail_invalid (GError **error, const char *fmt, const char *value)
{
  g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID, fmt, value);
  return FALSE;
}

static gboolean
parse_what (const char *s, ExportWhat *what, GError **error)
{
  for (gsize i = 0; s && i < G_N_ELEMENTS (what_names); i++)
    if (strcmp (s, what_names[i]) == 0)
      {
        *what = (ExportWhat) i;
        return TRUE;
      }
  return fail_invalid (error, _("--what must be overlay, figure, mask, dice-csv, series or compare, not “%s”"),
                       s ? s : "");
}

/* The name fits what is written: a mask .nii or .nii.gz, a PNG .png; a CSV
 * table may have any name but an image's, a volume's or a model's (a series
 * is a folder). */
static gboolean
check_out_name (ExportWhat what, const char *out, GError **error)
{
  switch (what)
    {
    case WHAT_MASK:
      return bs_cli_check_nifti_name (out, error);
    case WHAT_OVERLAY:
    case WHAT_FIGURE:
      if (bs_file_name_ends (out, ".png"))
        return TRUE;
      return fail_invalid (error, _("%s: the file would be a PNG image, so its name must end in .png"), out);
    case WHAT_DICE_CSV:
    case WHAT_COMPARE:
      return bs_cli_check_table_name (out, error);
    case WHAT_SERIES:
    default:
      return TRUE;
    }
}

static gboolean
parse_size (const char *s, int *w, int *h, GError **error)
{
  const char *text = s, *hs;
  char *end = NULL;
  gint64 a, b;

  if (s == NULL)
    return TRUE;
  a = g_ascii_strtoll (s, &end, 10);
  if (end == s || (*end != 'x' && *end != 'X'))
    return fail_invalid (error, _("--size must be WIDTHxHEIGHT in pixels, e.g. 1800x720, not “%s”"), text);
  hs = end + 1;
  b = g_ascii_strtoll (hs, &end, 10);
  /* the whole text in the message (fuzz finding: "-5x10" was reported as "10") */
  if (end == hs || *end != '\0' || a < 16 || b < 16 || a > 16384 || b > 16384)
    return fail_invalid (error, _("--size must be WIDTHxHEIGHT between 16 and 16384 pixels, not “%s”"), text);
  *w = (int) a;
  *h = (int) b;
  return TRUE;
}

/* "on" or "off" into *value; NULL (not given) leaves it. */
static gboolean
parse_switch (const char *s, gboolean *value)
{
  if (s == NULL)
    return TRUE;
  if (strcmp (s, "on") != 0 && strcmp (s, "off") != 0)
    return FALSE;
  *value = strcmp (s, "on") == 0;
  return TRUE;
}

static gboolean
parse_plan_options (const ExportArgs *a, BsPlanOptions *opts, GError **error)
{
  bs_plan_options_init (opts);
  if (a->precision && !bs_precision_from_string (a->precision, &opts->precision))
    return fail_invalid (error, _("--precision must be fp32, int8 or bf16, not “%s”"), a->precision);
  if (a->layout && !bs_memlayout_from_string (a->layout, &opts->layout))
    return fail_invalid (error, _("--layout must be nchw, nhwc or blocked, not “%s”"), a->layout);
  if (!parse_switch (a->fusion, &opts->fusion))
    return fail_invalid (error, _("--fusion must be on or off, not “%s”"), a->fusion);
  if (!parse_switch (a->crop, &opts->crop_to_brain))
    return fail_invalid (error, _("--crop-to-brain must be on or off, not “%s”"), a->crop);
  if (!parse_switch (a->flips, &opts->test_time_flips))
    return fail_invalid (error, _("--test-time-flips must be on or off, not “%s”"), a->flips);
  if (!parse_switch (a->planes, &opts->three_planes))
    return fail_invalid (error, _("--three-planes must be on or off, not “%s”"), a->planes);
  if (!parse_switch (a->lanes, &opts->slice_parallel))
    return fail_invalid (error, _("--lanes must be on or off, not “%s”"), a->lanes);
  if (a->calibration && strcmp (a->calibration, "model") != 0 && strcmp (a->calibration, "case") != 0)
    return fail_invalid (error, _("--calibration must be model or case, not “%s”"), a->calibration);
  opts->calibrate_case = a->calibration && strcmp (a->calibration, "case") == 0;
  if (a->threads < 0 || a->threads > 1024)
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                   _("--threads must be between 0 (all cores) and 1024, not %d"), a->threads);
      return FALSE;
    }
  opts->threads = a->threads;
  if (a->batch < 1 || a->batch > 1024)
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                   _("--batch must be between 1 and 1024, not %d"), a->batch);
      return FALSE;
    }
  opts->batch = a->batch;
  return TRUE;
}

/* The slice worth showing when none is asked for: the one with the most
 * tumour, or the middle one without a truth. */
static int
default_slice (const BsVolume *image, const BsVolume *truth, BsPlane plane)
{
  int best;

  if (bs_compare_pick_slices (image, truth, plane, 1, &best) == 1 && truth)
    return best;
  return bs_volume_n_slices (image, plane) / 2;
}

/* A terminal gets one line redrawn; a log gets a plain line at each quarter. */
static void
print_progress (int done, int total, gpointer user_data)
{
  static int last_quarter = -1;
  const char *what = user_data;

  if (isatty (fileno (stderr)))
    {
      fprintf (stderr, "\r%s %d/%d", what, done, total);
      if (done == total)
        fputc ('\n', stderr);
      return;
    }
  int quarter = total > 0 ? done * 4 / total : 4;
  if (quarter != last_quarter && (quarter > 0 || done == 0))
    fprintf (stderr, "%s %d/%d\n", what, done, total);
  last_quarter = quarter;
}

/* Segments either one slice (index >= 0, no clean-up) or the whole volume. */
static BsSegmentResult *
segment (const BsUnet *net, const BsVolume *prepared, int index, const BsPlanOptions *opts, gboolean cleanup,
         gboolean quiet, GError **error)
{
  BsSegmentOptions so;
  g_autofree guint8 *one = NULL;

  bs_segment_options_init (&so);
  so.plan = *opts;
  so.cleanup = cleanup;
  if (index >= 0)
    {
      one = g_new0 (guint8, bs_volume_n_slices (prepared, so.plane));
      one[index] = 1;
      so.slices = one;
      so.plan.batch = 1;
      so.cleanup = FALSE;
    }
  return bs_segment (net, prepared, NULL, &so, quiet || index >= 0 ? NULL : print_progress,
                     (gpointer) _("Segmenting"), NULL, error);
}

static void
print_compare_progress (int done, int total, int index, const BsCompareRow *row, gpointer user_data)
{
  g_autofree char *label = bs_compare_row_label (row);

  if (!isatty (fileno (stderr)))
    {
      fprintf (stderr, "%s %d/%d %s\n", _("Comparing"), done, total, label);
      return;
    }
  fprintf (stderr, "\r%s %d/%d %-28s", _("Comparing"), done, total, label);
  if (done == total)
    fputc ('\n', stderr);
}

/* Compare all, headless: the CSV the window's Compare-all dialog exports,
 * and a table on stdout. */
static int
run_compare (const BsUnet *net, const BsVolume *prepared, const BsVolume *truth, BsPlane plane, int threads,
             gboolean crop, const char *out, gboolean quiet)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BsCompareResult) result = NULL;
  g_autoptr(BsInferGeometry) geom = bs_infer_geometry_new_for_net (net, prepared, plane, crop);
  int slices[6], n;

  n = bs_compare_pick_slices (prepared, truth, plane, G_N_ELEMENTS (slices), slices);
  result = bs_compare_run (net, prepared, truth, geom, slices, n, threads, NULL,
                           quiet ? NULL : print_compare_progress, NULL, NULL, &error);
  if (result == NULL || !bs_compare_write_csv (result, out, &error))
    return bs_cli_fail (error);
  if (!quiet)
    printf (g_dngettext (GETTEXT_PACKAGE, "Every configuration on %d thread, batch 1, median of %d slices\n",
                         "Every configuration on %d threads, batch 1, median of %d slices\n", result->threads_used),
            result->threads_used, result->n_slices);
  if (!quiet)
    for (int i = 0; i < result->n_rows; i++)
      {
        const BsCompareRow *row = &result->rows[i];
        g_autofree char *label = bs_compare_row_label (row);

        if (row->available && !isnan (row->dice_delta))
          {
            g_autofree char *delta = bs_compare_format_delta (row->dice_delta);

            printf ("%-30s %9.2f ms  ΔDice %s  %s %.4f\n", label, row->ms_per_slice, delta, _("agreement"),
                    row->agreement);
          }
        else if (row->available)
          printf ("%-30s %9.2f ms  %s %.4f\n", label, row->ms_per_slice, _("agreement"), row->agreement);
        else
          printf ("%-30s %s\n", label, row->reason);
      }
  return 0;
}

/* --what mask: the mask (or label map) straight from the segmentation, with
 * nothing the file does not hold.  Once the network is done the prepared
 * image goes and the whole-tumour truth (for the Dice printed) is made in its
 * memory (BsSegmentOptions.after_network); no region truths, no copies. */
static int
export_mask (const BsUnet *net, BsVolume **prepared, BsCase *kase, const BsPlanOptions *opts, gboolean cleanup,
             BsLabelConvention conv, const ExportArgs *a)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BsVolume) truth = NULL, map = NULL;
  g_autoptr(BsSegmentResult) seg = NULL;
  const BsVolume *truths[BS_N_REGIONS] = { NULL };
  BsCliAfterNetwork after = { kase, prepared, truths, { &truth, NULL, NULL } };
  BsSegmentOptions so;
  gboolean ok;

  bs_segment_options_init (&so);
  so.plan = *opts;
  so.cleanup = cleanup;
  so.after_network = bs_cli_after_network;
  so.after_network_data = &after;
  seg = bs_segment_regions (net, *prepared, truths, &so, a->quiet ? NULL : print_progress, (gpointer) _("Segmenting"),
                            NULL, &error);
  if (seg == NULL)
    return bs_cli_fail (error);
  if (seg->planes_note != NULL && !a->quiet)
    printf (_("%s: three planes not run. %s\n"), kase->id, seg->planes_note);
  if (seg->pixel_note != NULL)
    fprintf (stderr, _("%s: warning: %s\n"), kase->id, seg->pixel_note);
  if (seg->resample_note != NULL && !a->quiet)
    printf ("%s: %s\n", kase->id, seg->resample_note);
  if (conv == BS_LABELS_BINARY)
    ok = bs_volume_save_nifti (seg->mask, a->out, DT_UINT8, &error);
  else
    ok = (map = bs_cli_mask_volume (seg, conv, &error)) != NULL && bs_volume_save_nifti (map, a->out, DT_UINT8, &error);
  if (!ok)
    return bs_cli_fail (error);
  if (!a->quiet)
    {
      char num[G_ASCII_DTOSTR_BUF_SIZE];

      if (!seg->has_truth)
        printf (_("Wrote %s (%s, no ground truth)\n"), a->out, kase->id);
      else
        printf (_("Wrote %s (%s, Dice %s)\n"), a->out, kase->id, g_ascii_formatd (num, sizeof num, "%.4f", seg->dice));
    }
  return 0;
}

static int
run_export (ExportArgs *a, const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BsDataset) ds = NULL;
  g_autoptr(BsCase) kase = NULL;
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(BsVolume) prepared = NULL, truth = NULL, regions = NULL, truth_tc = NULL, truth_et = NULL;
  g_autoptr(BsSegmentResult) seg = NULL;
  g_autofree char *model = NULL;
  BsPlanOptions plan_opts;
  BsOverlayOptions overlay;
  BsExportSource src;
  ExportWhat what;
  BsPlane plane = BS_PLANE_AXIAL;
  BsLabelConvention mask_conv = BS_LABELS_BINARY;
  const BsVolume *image;
  int case_index = 0, width = 0, height = 0, channel = 0, n_slices;
  gboolean ok, cleanup, shows_image;

  if (a->out == NULL)
    {
      g_set_error_literal (&error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                           _("--out is required: the file (or, for a series, the folder) to write"));
      return bs_cli_fail (error);
    }
  if (!parse_what (a->what, &what, &error) || !parse_size (a->size, &width, &height, &error) ||
      !parse_plan_options (a, &plan_opts, &error))
    return bs_cli_fail (error);
  /* Before segmenting a whole volume for it, not after. */
  if (!bs_export_check_destination (a->out, what == WHAT_SERIES, &error) || !check_out_name (what, a->out, &error))
    return bs_cli_fail (error);
  /* (-1, the defaults, mean "not given"; fuzz findings: nan, 5 and -5 were taken) */
  if (isnan (a->opacity) || (a->opacity != -1 && (a->opacity < 0 || a->opacity > 1)))
    {
      g_set_error (&error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID, _("--opacity must be a number from 0 to 1, not %g"),
                   a->opacity);
      return bs_cli_fail (error);
    }
  if (a->slice < -1)
    {
      g_set_error (&error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID, _("--slice must be a slice index from 0, not %d"),
                   a->slice);
      return bs_cli_fail (error);
    }
  if (a->plane && !bs_plane_from_string (a->plane, &plane))
    {
      fail_invalid (&error, _("--plane must be axial, coronal or sagittal, not “%s”"), a->plane);
      return bs_cli_fail (error);
    }
  bs_overlay_options_init (&overlay);
  overlay.confusion = a->confusion;
  if (a->opacity >= 0)
    overlay.opacity = (float) a->opacity;
  if (a->style && strcmp (a->style, "outline") == 0)
    overlay.style = BS_OVERLAY_OUTLINE;
  else if (a->style && strcmp (a->style, "fill") != 0)
    {
      fail_invalid (&error, _("--style must be fill or outline, not “%s”"), a->style);
      return bs_cli_fail (error);
    }
  overlay.annotate = a->annotations == NULL || strcmp (a->annotations, "on") == 0;
  if (a->annotations && !overlay.annotate && strcmp (a->annotations, "off") != 0)
    {
      fail_invalid (&error, _("--annotations must be on or off, not “%s”"), a->annotations);
      return bs_cli_fail (error);
    }

  if (a->resample && strcmp (a->resample, "on") != 0 && strcmp (a->resample, "off") != 0)
    {
      fail_invalid (&error, _("--resample must be on or off, not “%s”"), a->resample);
      return bs_cli_fail (error);
    }
  ds = bs_dataset_open (path, a->label, &error);
  if (ds == NULL)
    return bs_cli_fail (error);
  bs_dataset_set_resample (ds, a->resample == NULL || strcmp (a->resample, "on") == 0);
  if (a->case_id)
    {
      case_index = bs_dataset_find_case (ds, a->case_id);
      if (case_index < 0)
        {
          g_set_error (&error, BS_IO_ERROR, BS_IO_ERROR_NOT_FOUND, _("“%s” has no case “%s”"), path, a->case_id);
          return bs_cli_fail (error);
        }
    }
  {
    /* Not over the case's own files (a mask written over its label was
     * taken, and the ground truth lost). */
    const char *outputs[] = { a->out };

    if (what != WHAT_SERIES && what != WHAT_COMPARE
        && !bs_cli_check_case_outputs (outputs, 1, ds, case_index, &error))
      return bs_cli_fail (error);
  }
  kase = bs_dataset_load_case (ds, case_index, &error);
  if (kase == NULL)
    return bs_cli_fail (error);
  bs_cli_warn_nonfinite ("export", kase);

  model = a->model ? g_strdup (a->model) : bs_unet_default_model_path ();
  if (model == NULL)
    {
      g_set_error_literal (&error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE,
                           _("No model: this build ships none, pass one with --model FILE.h5"));
      return bs_cli_fail (error);
    }
  net = bs_unet_load_h5 (model, &error);
  if (net == NULL)
    return bs_cli_fail (error);
  if (a->mask_labels && what != WHAT_MASK && !g_str_equal (a->mask_labels, "wt"))
    {
      g_set_error_literal (&error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                           _("--mask-labels applies to --what mask only"));
      return bs_cli_fail (error);
    }
  /* Before segmenting: a model that cannot give the labels asked for. */
  if (!bs_cli_mask_labels (a->mask_labels, net, model, kase, &mask_conv, &error))
    return bs_cli_fail (error);
  if (a->modality)
    {
      channel = bs_volume_find_channel (kase->image, a->modality);
      if (channel < 0)
        {
          g_set_error (&error, BS_IO_ERROR, BS_IO_ERROR_NOT_FOUND, _("Case “%s” has no modality “%s”"),
                       kase->id, a->modality);
          return bs_cli_fail (error);
        }
    }
  else if (net->config.modalities && net->config.modalities[0])
    channel = MAX (0, bs_volume_find_channel (kase->image, net->config.modalities[0]));
  /* A mask, a Dice table or a comparison never shows the image: it is
   * normalised in place where it can be (no second volume to page in), as
   * infer does, and the prepared volume stands in for its geometry. */
  shows_image = what == WHAT_OVERLAY || what == WHAT_FIGURE || what == WHAT_SERIES;
  if (shows_image)
    prepared = bs_infer_prepare (net, kase->image, &error);
  else
    prepared = bs_infer_prepare_take (net, g_steal_pointer (&kase->image), &error);
  if (prepared == NULL)
    return bs_cli_fail (error);
  image = shows_image ? kase->image : prepared;
  if (!shows_image)
    channel = 0;   /* (the modality asked for was checked above; nothing shows it) */

  if (kase->label && what != WHAT_MASK)
    truth = bs_labels_whole_tumour (kase->label);
  n_slices = bs_volume_n_slices (image, plane);
  if (a->slice < 0)
    a->slice = default_slice (image, truth, plane);
  if (a->slice >= n_slices)
    {
      g_set_error (&error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                   _("--slice %d is outside the %s plane, which has slices 0 to %d"), a->slice,
                   bs_plane_name (plane), n_slices - 1);
      return bs_cli_fail (error);
    }

  if (a->cleanup && strcmp (a->cleanup, "on") != 0 && strcmp (a->cleanup, "off") != 0)
    {
      fail_invalid (&error, _("--cleanup must be on or off, not “%s”"), a->cleanup);
      return bs_cli_fail (error);
    }
  if (what == WHAT_COMPARE)
    return run_compare (net, prepared, truth, BS_INFER_NET_PLANE, plan_opts.threads, plan_opts.crop_to_brain, a->out, a->quiet);

  /* With the clean-up on, one slice also needs the whole volume: an island
   * is only known as one in 3D, and every export then agrees with the mask. */
  cleanup = !a->cleanup || strcmp (a->cleanup, "on") == 0;
  if (what == WHAT_MASK)
    return export_mask (net, &prepared, kase, &plan_opts, cleanup, mask_conv, a);
  /* The network runs in its own plane; another plane's slice is cut from the
   * whole volume, so that every plane shows the same prediction. */
  seg = segment (net, prepared,
                 (what == WHAT_OVERLAY || what == WHAT_FIGURE) && !cleanup && plane == BS_INFER_NET_PLANE ? a->slice : -1,
                 &plan_opts, cleanup, a->quiet, &error);
  if (seg == NULL)
    return bs_cli_fail (error);

  src = (BsExportSource) { image, channel, seg->mask, truth, plane, kase->id };
  src.cleanup = cleanup ? BS_EXPORT_CLEANUP_ON : BS_EXPORT_CLEANUP_OFF;
  /* A region model: its nested masks as channels, the truth's regions. */
  if (seg->region_mask[BS_REGION_TC] != NULL && seg->region_mask[BS_REGION_ET] != NULL)
    {
      static const char *const outputs[] = { "wt", "tc", "et", NULL };
      gsize nvox = bs_volume_n_voxels (seg->mask);

      regions = bs_volume_new_like (seg->mask, 3);
      for (int r = 0; r < BS_N_REGIONS; r++)
        memcpy (bs_volume_channel (regions, r), seg->region_mask[r]->data, sizeof (float) * nvox);
      src.pred = regions;
      src.pred_outputs = outputs;
    }
  /* The truth's regions, shown in their colours whatever the model predicts. */
  if (kase->label != NULL)
    {
      truth_tc = bs_labels_region (kase->label, kase->convention, BS_REGION_TC);
      truth_et = bs_labels_region (kase->label, kase->convention, BS_REGION_ET);
      src.truth_tc = truth_tc;
      src.truth_et = truth_et;
    }
  if (shows_image)
    bs_auto_window_volume (image, channel, &overlay.lo, &overlay.hi);
  switch (what)
    {
    case WHAT_OVERLAY:
      ok = bs_export_overlay_png (&src, a->slice, &overlay, width, height, a->out, &error);
      break;
    case WHAT_FIGURE:
      ok = bs_export_figure_png (&src, a->slice, &overlay, width, height, a->out, &error);
      break;
    case WHAT_DICE_CSV:
      ok = bs_export_dice_csv (&src, a->out, &error);
      break;
    case WHAT_SERIES:
    default:
      ok = bs_export_series (&src, &overlay, width, height, a->out, a->quiet ? NULL : print_progress,
                             (gpointer) _("Writing"), NULL, &error);
      break;
    }
  if (!ok)
    return bs_cli_fail (error);

  if (!a->quiet)
    {
      double dice = what == WHAT_OVERLAY || what == WHAT_FIGURE ? bs_export_slice_dice (&src, a->slice) : NAN;
      char num[G_ASCII_DTOSTR_BUF_SIZE];

      if (what != WHAT_OVERLAY && what != WHAT_FIGURE && truth)
        {
          BsConfusion c = { 0 };
          bs_confusion_add (&c, seg->mask->data, truth->data, bs_volume_n_voxels (truth));
          dice = bs_confusion_dice (&c);
        }
      if (isnan (dice))
        printf (_("Wrote %s (%s, no ground truth)\n"), a->out, kase->id);
      else if ((what == WHAT_OVERLAY || what == WHAT_FIGURE) && !bs_export_slice_has_tumour (&src, a->slice))
        /* as the image's caption says (helper finding: "Dice 1.0000" beside a caption of "no tumour") */
        printf (_("Wrote %s (%s, no tumour on this slice)\n"), a->out, kase->id);
      else
        printf (_("Wrote %s (%s, Dice %s)\n"), a->out, kase->id, g_ascii_formatd (num, sizeof num, "%.4f", dice));
    }
  return 0;
}

int
bs_cli_export (int argc, char **argv)
{
  ExportArgs a = { .slice = -1, .batch = 1, .opacity = -1 };
  const GOptionEntry entries[] = {
    { "what", 'w', 0, G_OPTION_ARG_STRING, &a.what, N_("overlay, figure, mask, dice-csv, series or compare"), N_("WHAT") },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &a.out, N_("File to write (a folder for series)"), N_("PATH") },
    { "case", 0, 0, G_OPTION_ARG_STRING, &a.case_id, N_("Case of a dataset (default: the first)"), N_("ID") },
    { "label", 0, 0, G_OPTION_ARG_FILENAME, &a.label, N_("Ground-truth label file for a single NIfTI image"), N_("FILE") },
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &a.model, N_("Weights (HDF5, Keras layout; default: the shipped model)"), N_("FILE") },
    { "plane", 0, 0, G_OPTION_ARG_STRING, &a.plane, N_("axial, coronal or sagittal (default: axial)"), N_("PLANE") },
    { "slice", 0, 0, G_OPTION_ARG_INT, &a.slice, N_("Slice index from 0 (default: the one with most tumour)"), N_("N") },
    { "modality", 0, 0, G_OPTION_ARG_STRING, &a.modality, N_("Modality shown in grey (default: the model's first)"), N_("NAME") },
    { "size", 0, 0, G_OPTION_ARG_STRING, &a.size, N_("Image size in pixels (default: the slice's own; figure 1800x720)"), N_("WxH") },
    { "style", 0, 0, G_OPTION_ARG_STRING, &a.style, N_("Mask drawn as fill or outline"), N_("STYLE") },
    { "opacity", 0, 0, G_OPTION_ARG_DOUBLE, &a.opacity, N_("Mask opacity 0..1 (default 0.5)"), N_("A") },
    { "annotations", 0, 0, G_OPTION_ARG_STRING, &a.annotations,
      N_("Overlay and series: on (default): the case, plane, slice and Dice above the slice, orientation letters beside it and a colour legend below it, outside its pixels; off: the slice's pixels alone"),
      "on|off" },
    { "confusion", 0, 0, G_OPTION_ARG_NONE, &a.confusion, N_("Overlay: true positives, false positives and false negatives in their own colours"), NULL },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &a.precision, N_("fp32, int8 or bf16"), N_("P") },
    { "layout", 0, 0, G_OPTION_ARG_STRING, &a.layout, N_("nchw, nhwc or blocked"), N_("L") },
    { "fusion", 0, 0, G_OPTION_ARG_STRING, &a.fusion, N_("on or off"), N_("F") },
    { "crop-to-brain", 0, 0, G_OPTION_ARG_STRING, &a.crop,
      N_("on (default): run only slices with brain, on the brain's window; off: every whole slice"), "on|off" },
    { "test-time-flips", 0, 0, G_OPTION_ARG_STRING, &a.flips,
      N_("on: every slice also runs mirrored left-right and the two probabilities are averaged (twice the time); off (default)"),
      "on|off" },
    { "three-planes", 0, 0, G_OPTION_ARG_STRING, &a.planes,
      N_("on (default): a whole volume also runs on coronal and sagittal slices and the three probabilities are averaged (about three times the time); off: axial slices only"),
      "on|off" },
    { "resample", 0, 0, G_OPTION_ARG_STRING, &a.resample,
      N_("on (default): voxels finer than 0.8 mm are resampled to about 1 mm, as the model learned, and the outputs written back on the file's grid; off: the case's own voxels"),
      "on|off" },
    { "lanes", 0, 0, G_OPTION_ARG_STRING, &a.lanes,
      N_("on (default): each thread runs its own copy of the network on whole batches of slices, taking the next batch when it has finished its last, so a core that another program holds slows one copy instead of all; off: every layer split between the threads"),
      "on|off" },
    { "calibration", 0, 0, G_OPTION_ARG_STRING, &a.calibration,
      N_("int8's ranges: model (default: those stored with the model, measured once on many cases; this case's when it stores none) or case (measured on slices of this case)"),
      "model|case" },
    { "cleanup", 0, 0, G_OPTION_ARG_STRING, &a.cleanup,
      N_("on (default): segment the whole volume, remove islands smaller than 20 per cent of the largest tumour component, fill the holes of the tumour core and keep the core within 6 mm of the enhancing tumour (when that is at least a tenth of it); off: the raw masks (overlay and figure then segment their slice only)"),
      "on|off" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &a.threads, N_("Threads (0: all cores)"), N_("N") },
    { "batch", 0, 0, G_OPTION_ARG_INT, &a.batch, N_("Slices per inference run (default 1, as in the window)"), N_("N") },
    { "mask-labels", 0, 0, G_OPTION_ARG_STRING, &a.mask_labels, bs_cli_mask_labels_help, "wt|input|brats|decathlon" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &a.quiet, N_("Print nothing but errors"), NULL },
    { NULL },
  };
  int status;

  if (!bs_cli_parse ("export", _("PATH"), _("Export an overlay PNG, the three-panel figure, the predicted mask "
                                            "(NIfTI), per-slice Dice (CSV), every slice as PNG, or the Compare-all table (CSV)."),
                     entries, &argc, &argv))
    {
      export_args_clear (&a);
      return 2;
    }
  if (argc != 2)
    {
      fprintf (stderr, "%s\n", _("brainseg-cli export: give exactly one PATH (file, case folder or dataset)"));
      export_args_clear (&a);
      return 2;
    }
  status = run_export (&a, argv[1]);
  export_args_clear (&a);
  return status;
}
