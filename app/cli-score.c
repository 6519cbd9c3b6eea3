/* brainseg-cli score: a segmentation file (Brainseg's exported mask, a
 * corrected one, another tool's) measured against the case's ground truth,
 * region by region, with the metrics infer reports. */
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bs-dataset.h"
#include "bs-labels.h"
#include "bs-metrics.h"
#include "bs-parallel.h"
#include "cli.h"
#include "bs-timing.h"
#include "cli-infer-all.h"
#include "cli-json.h"

typedef struct {
  BsVolume *mask[BS_N_REGIONS];   /* NULL: the file cannot tell the region */
  BsVolume *truth[BS_N_REGIONS];  /* NULL: the case's labels cannot */
  BsRegionMetrics m[BS_N_REGIONS];
} ScoreJob;

static void
score_region (int r, gpointer data)
{
  ScoreJob *job = data;
  const BsVolume *mask = job->mask[r];

  if (mask != NULL)
    bs_metrics_region_in (mask->data, job->truth[r] != NULL ? job->truth[r]->data : NULL, mask->dims, mask->spacing,
                          0, mask->dims[2], &job->m[r]);
}

static double
volume_ml (const BsVolume *v)
{
  guint64 on = 0;

  for (gsize i = 0; i < bs_volume_n_voxels (v); i++)
    on += v->data[i] > 0.5f;
  return (double) on * v->spacing[0] * v->spacing[1] * v->spacing[2] / 1000.0;
}

static void
score_job_clear (ScoreJob *job)
{
  for (int r = 0; r < BS_N_REGIONS; r++)
    {
      bs_volume_free (job->mask[r]);
      bs_volume_free (job->truth[r]);
    }
}

/* One case: its mask read and measured.  into NULL: printed (the text or
 * the JSON object of one case); else its JSON object appended there, with its
 * "index" and seconds (the dataset's line and summary read them). */
static int
score_case (BsDataset *ds, int case_index, const char *mask_path, BsLabelConvention given, gboolean json,
            JsonArray *into)
{
  static const char *const names[BS_N_REGIONS] = { N_("whole tumour"), N_("tumour core"), N_("enhancing tumour") };
  g_autoptr(GError) error = NULL;
  g_autoptr(BsCase) c = NULL;
  g_autoptr(BsVolume) mask = NULL;
  BsLabelConvention conv = BS_LABELS_UNKNOWN;
  ScoreJob job = { { NULL } };
  double t0 = bs_now_ms ();

  c = bs_dataset_load_case (ds, case_index, &error);
  if (!c)
    return bs_cli_fail (error);
  if (c->label == NULL)
    {
      fprintf (stderr, _("brainseg-cli score: case %s has no ground truth to measure %s against\n"), c->id, mask_path);
      return 1;
    }
  if (!g_file_test (mask_path, G_FILE_TEST_EXISTS))
    {
      fprintf (stderr, _("brainseg-cli score: %s: no such mask file (case %s)\n"), mask_path, c->id);
      return 1;
    }
  mask = bs_dataset_load_case_mask (ds, case_index, mask_path, c->convention, given, &conv, &error);
  if (!mask)
    return bs_cli_fail (error);
  for (int r = 0; r < BS_N_REGIONS; r++)
    {
      gboolean ok = TRUE;

      job.truth[r] = r == BS_REGION_WT ? bs_labels_whole_tumour (c->label)
                     : bs_labels_has_region (c->convention, r) ? bs_labels_region (c->label, c->convention, r) : NULL;
      job.mask[r] = r == BS_REGION_WT ? bs_labels_whole_tumour (mask)
                    : bs_labels_has_region (conv, r) ? bs_labels_region (mask, conv, r) : NULL;
      ok = (job.truth[r] != NULL || (r != BS_REGION_WT && !bs_labels_has_region (c->convention, r)))
           && (job.mask[r] != NULL || (r != BS_REGION_WT && !bs_labels_has_region (conv, r)));
      if (!ok)
        {
          score_job_clear (&job);
          fprintf (stderr, _("brainseg-cli score: out of memory for the regions of %s\n"), mask_path);
          return 1;
        }
    }
  bs_parallel_for (BS_N_REGIONS, score_region, &job);

  if (json || into != NULL)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "case");
      json_builder_add_string_value (b, c->id);
      if (into != NULL)
        {
          json_builder_set_member_name (b, "index");
          json_builder_add_int_value (b, case_index);
        }
      json_builder_set_member_name (b, "mask");
      json_builder_add_string_value (b, mask_path);
      json_builder_set_member_name (b, "mask_labels");
      json_builder_add_string_value (b, bs_labels_convention_name (conv));
      json_builder_set_member_name (b, "labels");
      json_builder_add_string_value (b, bs_labels_convention_name (c->convention));
      json_builder_set_member_name (b, "regions");
      json_builder_begin_object (b);
      for (int r = 0; r < BS_N_REGIONS; r++)
        {
          BsRegionMetrics m = job.m[r];

          json_builder_set_member_name (b, bs_region_name (r));
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "predicted");
          json_builder_add_boolean_value (b, job.mask[r] != NULL);
          if (job.mask[r] == NULL || job.truth[r] == NULL)
            {
              double predicted = job.mask[r] != NULL ? m.volume_ml : NAN;

              m.dice = m.hd95_mm = m.sensitivity = m.specificity = NAN;
              m.volume_ml = predicted;
              m.true_volume_ml = job.truth[r] != NULL ? volume_ml (job.truth[r]) : NAN;
            }
          bs_cli_json_add_region_metrics (b, &m);
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
      if (into != NULL)
        {
          /* what a dataset's line reads: the seconds, and no mask written */
          json_builder_set_member_name (b, "load_seconds");
          json_builder_add_double_value (b, 0);
          json_builder_set_member_name (b, "total_seconds");
          json_builder_add_double_value (b, (bs_now_ms () - t0) / 1000.0);
          json_builder_set_member_name (b, "out");
          json_builder_add_null_value (b);
        }
      json_builder_end_object (b);
      if (into != NULL)
        json_array_add_element (into, json_builder_get_root (b));
      else
        bs_cli_print_json (b);
    }
  else
    {
      /* TRANSLATORS: the case, the mask file and the label convention its values were read in */
      printf (_("case %s: %s (%s labels)\n"), c->id, mask_path, bs_labels_convention_name (conv));
      for (int r = 0; r < BS_N_REGIONS; r++)
        {
          const BsRegionMetrics m = job.m[r];

          if (job.mask[r] == NULL)
            printf (_("%s: the mask's labels do not tell it\n"), _(names[r]));
          else if (job.truth[r] == NULL)
            printf (_("%s: %.1f ml in the mask, no ground truth for it\n"), _(names[r]), m.volume_ml);
          else
            printf (_("%s: Dice %.4f, HD95 %.2f mm, sensitivity %.4f, specificity %.4f, %.1f ml in the mask, %.1f ml "
                      "in the truth\n"), _(names[r]), m.dice, m.hd95_mm, m.sensitivity, m.specificity, m.volume_ml,
                    m.true_volume_ml);
        }
    }
  score_job_clear (&job);
  return 0;
}

/* The mask of case id in dir: ID.nii.gz, else ID.nii. */
static char *
mask_in_dir (const char *dir, const char *id)
{
  g_autofree char *gz = g_strdup_printf ("%s.nii.gz", id);
  g_autofree char *plain = g_strdup_printf ("%s.nii", id);
  char *path = g_build_filename (dir, gz, NULL);

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      char *other = g_build_filename (dir, plain, NULL);

      if (g_file_test (other, G_FILE_TEST_EXISTS))
        {
          g_free (path);
          return other;
        }
      g_free (other);
    }
  return path;
}

int
bs_cli_score (int argc, char **argv)
{
  g_autofree char *mask_path = NULL, *mask_dir = NULL, *case_id = NULL, *label = NULL, *resample_s = NULL;
  g_autofree char *labels_s = NULL;
  BsLabelConvention given = BS_LABELS_UNKNOWN;
  gboolean json = FALSE, all_cases = FALSE;
  GOptionEntry entries[] = {
    { "mask", 0, 0, G_OPTION_ARG_FILENAME, &mask_path,
      N_("The segmentation to measure (NIfTI: 0/1, or a label map of the case's or a BraTS release's labels)"),
      "MASK.nii.gz" },
    { "mask-labels", 0, 0, G_OPTION_ARG_STRING, &labels_s,
      N_("What the mask's values are: auto (default: decided from them and the case's labels), wt (every label above 0 is tumour), brats (2017-2021: 1 core, 2 edema, 4 enhancing), brats2015, decathlon (1 edema, 2 non-enhancing, 3 enhancing) or brats2023 (1 core, 2 edema, 3 enhancing)"),
      "auto|wt|brats|brats2015|decathlon|brats2023" },
    { "case", 0, 0, G_OPTION_ARG_STRING, &case_id, N_("Case (default: the first)"), "ID" },
    { "label", 0, 0, G_OPTION_ARG_FILENAME, &label, N_("Ground truth for a single NIfTI file"), "FILE" },
    { "all-cases", 0, 0, G_OPTION_ARG_NONE, &all_cases,
      N_("Every case of the dataset, its mask taken from --mask-dir: a line (or a JSON object) per case and each region's mean, median and worst Dice"),
      NULL },
    { "mask-dir", 0, 0, G_OPTION_ARG_FILENAME, &mask_dir,
      N_("With --all-cases: the folder of the masks, one per case, named CASE.nii.gz (as infer --all-cases --out-dir writes them)"),
      "DIR" },
    { "resample", 0, 0, G_OPTION_ARG_STRING, &resample_s,
      N_("on (default): a case with voxels finer than 0.8 mm is measured on about 1 mm voxels, as infer measures it; off: on its own voxels"),
      "on|off" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(BsDataset) ds = NULL;
  g_autoptr(JsonArray) cases = NULL;
  int case_index = 0;
  g_autoptr(JsonArray) failed = json_array_new ();
  double t0 = bs_now_ms ();

  if (!bs_cli_parse ("score", "PATH",
                     _("Measure a segmentation against the case's ground truth: Dice, HD95, sensitivity, specificity and volumes of the whole tumour, tumour core and enhancing tumour."),
                     entries, &argc, &argv))
    return 2;
  if (argc != 2 || (all_cases ? mask_dir == NULL || mask_path != NULL || case_id != NULL
                              : mask_path == NULL || mask_dir != NULL))
    {
      fprintf (stderr, "%s\n", _("brainseg-cli score: give exactly one PATH (a case folder, Decathlon task or NIfTI file) and --mask FILE, or --all-cases and --mask-dir DIR"));
      return 2;
    }
  if (resample_s && strcmp (resample_s, "on") != 0 && strcmp (resample_s, "off") != 0)
    {
      fprintf (stderr, "%s\n", _("brainseg-cli score: --resample is on|off"));
      return 2;
    }
  if (labels_s != NULL)
    {
      static const struct { const char *name; BsLabelConvention conv; } names[] = {
        { "auto", BS_LABELS_UNKNOWN }, { "wt", BS_LABELS_BINARY }, { "brats", BS_LABELS_BRATS2017 },
        { "brats2017", BS_LABELS_BRATS2017 }, { "brats2015", BS_LABELS_BRATS2015 },
        { "decathlon", BS_LABELS_DECATHLON }, { "brats2023", BS_LABELS_BRATS2023 },
      };
      gboolean known = FALSE;

      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        if (strcmp (labels_s, names[i].name) == 0)
          {
            given = names[i].conv;
            known = TRUE;
          }
      if (!known)
        {
          fprintf (stderr, "%s\n", _("brainseg-cli score: --mask-labels is auto|wt|brats|brats2015|decathlon|brats2023"));
          return 2;
        }
    }
  if (mask_dir && !g_file_test (mask_dir, G_FILE_TEST_IS_DIR))
    {
      fprintf (stderr, _("brainseg-cli score: %s: no such folder (--mask-dir)\n"), mask_dir);
      return 1;
    }
  ds = bs_dataset_open (argv[1], label, &error);
  if (!ds)
    return bs_cli_fail (error);
  bs_dataset_set_resample (ds, resample_s == NULL || strcmp (resample_s, "on") == 0);
  if (!all_cases)
    {
      if (case_id && (case_index = bs_dataset_find_case (ds, case_id)) < 0)
        {
          fprintf (stderr, _("brainseg-cli score: %s has no case '%s'\n"), argv[1], case_id);
          return 1;
        }
      return score_case (ds, case_index, mask_path, given, json, NULL);
    }
  /* every case: one without its mask, or whose mask is wrong, says why and the others go on */
  cases = json_array_new ();
  for (guint i = 0; i < bs_dataset_get_n_cases (ds); i++)
    {
      g_autofree char *path = mask_in_dir (mask_dir, bs_dataset_get_case_id (ds, i));
      guint before = json_array_get_length (cases);

      if (score_case (ds, (int) i, path, given, TRUE, cases) != 0)
        json_array_add_string_element (failed, bs_dataset_get_case_id (ds, i));
      if (!json && json_array_get_length (cases) > before)
        bs_cli_print_case_line (json_array_get_object_element (cases, before));
    }
  bs_cli_print_cases_summary (json, cases, failed, (bs_now_ms () - t0) / 1000.0);
  return json_array_get_length (failed) > 0 ? 1 : 0;
}
