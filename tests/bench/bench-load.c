/* Helper of bench-load.py: opens a dataset once, then loads case 0 each time
 * a line arrives on stdin and answers with the wall and CPU (user + system,
 * all threads) times in milliseconds, so that the script can interleave
 * Brainseg and nibabel runs in one session. */

#include <stdio.h>
#include <sys/resource.h>

#include "bs-dataset.h"

static double
cpu_ms (void)
{
  struct rusage ru;
  getrusage (RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

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
      double c0 = cpu_ms ();
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr(BsCase) c = bs_dataset_load_case (ds, 0, &error);
      gint64 t1 = g_get_monotonic_time ();
      double c1 = cpu_ms ();
      if (c == NULL)
        {
          fprintf (stderr, "bench-load: %s\n", error->message);
          return 1;
        }
      printf ("%.3f %.3f %d %d\n", (t1 - t0) / 1000.0, c1 - c0, c->image->n_channels, c->label != NULL);
      fflush (stdout);
    }
  return 0;
}
