/* Helper of bench-load.py: opens a dataset once, then loads case 0 each time
 * a line arrives on stdin and answers with the wall time in milliseconds, so
 * that the script can interleave Brainseg and nibabel runs in one session. */
#include <stdio.h>

#include "bs-dataset.h"

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  char line[64];

  if (argc != 2)
    {
      fprintf (stderr, "usage: bench-load CASE_PATH\n");
      return 2;
    }
  g_autoptr(BsDataset) ds = bs_dataset_open (argv[1], NULL, &error);
  if (ds == NULL)
    {
      fprintf (stderr, "bench-load: %s\n", error->message);
      return 1;
    }
  while (fgets (line, sizeof line, stdin) != NULL)
    {
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr(BsCase) c = bs_dataset_load_case (ds, 0, &error);
      gint64 t1 = g_get_monotonic_time ();
      if (c == NULL)
        {
          fprintf (stderr, "bench-load: %s\n", error->message);
          return 1;
        }
      printf ("%.3f %d %d\n", (t1 - t0) / 1000.0, c->image->n_channels, c->label != NULL);
      fflush (stdout);
    }
  return 0;
}
