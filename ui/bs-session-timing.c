/* BsSession's timing: the last run's stage times, and the steady figures
 * the timing panel shows (medians over the recent runs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bs-session-private.h"

gboolean
bs_session_get_last_timing (BsSession *self, BsTiming *timing)
{
  if (!self->has_timing || self->last_timing.n_slices <= 0)
    return FALSE;
  if (timing != NULL)
    *timing = self->last_timing;
  return TRUE;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof v[0], compare_doubles);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

gboolean
bs_session_get_steady_timing (BsSession *self, BsTiming *timing)
{
  BsTiming last;
  double v[SPEED_RUNS];

  if (!bs_session_get_last_timing (self, &last) || self->n_speed == 0)
    return FALSE;
  bs_timing_reset (timing);
  /* Each stage in the last run's order, at its median ms/slice over the runs
   * that had it: the same runs as the headline's median, so the rows add up
   * to about it instead of showing one batch's accident. */
  for (int i = 0; i < last.n_stages; i++)
    {
      int k = 0;

      for (int r = 0; r < self->n_speed; r++)
        {
          const BsTiming *t = &self->timing_hist[r];
          for (int j = 0; j < t->n_stages; j++)
            if (g_str_equal (t->stages[j].name, last.stages[i].name) && t->n_slices > 0)
              v[k++] = t->stages[j].ms / t->n_slices;
        }
      bs_timing_add_stage (timing, last.stages[i].name, k > 0 ? median (v, k) : last.stages[i].ms / last.n_slices);
    }
  for (int i = 0; i < last.n_layers; i++)
    bs_timing_add_layer (timing, last.layers[i].name, last.layers[i].ms / last.n_slices);
  timing->n_slices = 1;
  timing->total_ms = bs_session_get_steady_ms_per_slice (self, NULL);
  return TRUE;
}

double
bs_session_get_steady_ms_per_slice (BsSession *self, int *n_runs)
{
  double v[SPEED_RUNS];
  int n = self->n_speed;

  if (n_runs != NULL)
    *n_runs = n;
  if (n == 0)
    return NAN;
  memcpy (v, self->speed_hist, sizeof v[0] * n);
  return median (v, n);
}
