/* Helper of tests/test-metrics-scipy.py: the BraTS region metrics of two
 * NIfTI masks (value > 0.5 is on), as one JSON line; or, as
 * `bs-metrics-tool fill MASK WITHIN OUT`, the clean-up's filling of a mask's
 * holes in its axial, coronal and sagittal slices (bs_volume_fill_plane_holes)
 * within another, written to OUT, and the voxels filled printed; or, as
 * `bs-metrics-tool trim CORE ENHANCING OUT`, the clean-up's trimming of the
 * core to its enhancing rim (bs_volume_trim_core with the pipeline's radius
 * and share), written to OUT, and the voxels switched off printed. */
#include <math.h>
#include <stdio.h>

#include "bs-metrics.h"
#include "bs-postprocess.h"
#include "bs-nifti.h"
#include <nifti1.h>  /* DT_UINT8; after the headers above, as app/ does */

static void
print_number (const char *name, double v, const char *sep)
{
  if (isnan (v))
    printf ("\"%s\": null%s", name, sep);
  else
    printf ("\"%s\": %.17g%s", name, v, sep);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BsVolume) pred = NULL, truth = NULL;
  BsRegionMetrics m;

  if (argc == 5 && g_strcmp0 (argv[1], "fill") == 0)
    {
      guint64 filled = 0;

      pred = bs_volume_load_nifti (argv[2], TRUE, &error);
      if (pred != NULL)
        truth = bs_volume_load_nifti (argv[3], TRUE, &error);
      if (pred == NULL || truth == NULL || !bs_volume_fill_plane_holes (pred, truth, &filled)
          || !bs_volume_save_nifti (pred, argv[4], DT_UINT8, &error))
        {
          fprintf (stderr, "bs-metrics-tool: %s\n", error ? error->message : "cannot fill");
          return 1;
        }
      printf ("{\"filled\": %llu}\n", (unsigned long long) filled);
      return 0;
    }
  if (argc == 5 && g_strcmp0 (argv[1], "trim") == 0)
    {
      guint64 trimmed = 0;

      pred = bs_volume_load_nifti (argv[2], TRUE, &error);
      if (pred != NULL)
        truth = bs_volume_load_nifti (argv[3], TRUE, &error);
      if (pred == NULL || truth == NULL
          || !bs_volume_trim_core (pred, truth, BS_CORE_TRIM_RADIUS_MM, BS_CORE_TRIM_MIN_SHARE, &trimmed)
          || !bs_volume_save_nifti (pred, argv[4], DT_UINT8, &error))
        {
          fprintf (stderr, "bs-metrics-tool: %s\n", error ? error->message : "cannot trim");
          return 1;
        }
      printf ("{\"trimmed\": %llu, \"radius_mm\": %.17g, \"min_share\": %.17g}\n", (unsigned long long) trimmed,
              BS_CORE_TRIM_RADIUS_MM, BS_CORE_TRIM_MIN_SHARE);
      return 0;
    }
  if (argc != 3)
    {
      fprintf (stderr, "usage: bs-metrics-tool PRED.nii.gz TRUTH.nii.gz | fill MASK.nii.gz WITHIN.nii.gz OUT.nii.gz"
               " | trim CORE.nii.gz ENHANCING.nii.gz OUT.nii.gz\n");
      return 2;
    }
  pred = bs_volume_load_nifti (argv[1], TRUE, &error);
  if (pred != NULL)
    truth = bs_volume_load_nifti (argv[2], TRUE, &error);
  if (pred == NULL || truth == NULL)
    {
      fprintf (stderr, "bs-metrics-tool: %s\n", error->message);
      return 1;
    }
  bs_metrics_region (pred->data, truth->data, truth->dims, truth->spacing, &m);
  printf ("{");
  print_number ("dice", m.dice, ", ");
  print_number ("hd95", m.hd95_mm, ", ");
  print_number ("sensitivity", m.sensitivity, ", ");
  print_number ("specificity", m.specificity, ", ");
  print_number ("volume_ml", m.volume_ml, ", ");
  print_number ("true_volume_ml", m.true_volume_ml, "");
  printf ("}\n");
  return 0;
}
