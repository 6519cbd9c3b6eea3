/* Helper of tests/test-metrics-scipy.py: the BraTS region metrics of two
 * NIfTI masks (value > 0.5 is on), as one JSON line. */
#include <math.h>
#include <stdio.h>

#include "bs-metrics.h"
#include "bs-nifti.h"

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

  if (argc != 3)
    {
      fprintf (stderr, "usage: bs-metrics-tool PRED.nii.gz TRUTH.nii.gz\n");
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
