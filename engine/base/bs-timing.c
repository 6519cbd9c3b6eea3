#include <string.h>

#include "bs-timing.h"

void
bs_timing_reset (BsTiming *t)
{
  memset (t, 0, sizeof *t);
}

static void
add_entry (BsTimingEntry *entries, int *n, int max, const char *name, double ms)
{
  for (int i = 0; i < *n; i++)
    if (strcmp (entries[i].name, name) == 0)
      {
        entries[i].ms += ms;
        return;
      }
  if (*n == max)
    return;
  g_strlcpy (entries[*n].name, name, sizeof entries[*n].name);
  entries[*n].ms = ms;
  (*n)++;
}

void
bs_timing_add_stage (BsTiming *t, const char *name, double ms)
{
  add_entry (t->stages, &t->n_stages, BS_TIMING_MAX_STAGES, name, ms);
  t->total_ms += ms;
}

void
bs_timing_add_layer (BsTiming *t, const char *name, double ms)
{
  add_entry (t->layers, &t->n_layers, BS_TIMING_MAX_LAYERS, name, ms);
}

void
bs_timing_add_concurrent (BsTiming *t, const BsTiming *parts, int n, double wall_ms)
{
  BsTiming sum;

  bs_timing_reset (&sum);
  for (int i = 0; i < n; i++)
    {
      for (int s = 0; s < parts[i].n_stages; s++)
        bs_timing_add_stage (&sum, parts[i].stages[s].name, parts[i].stages[s].ms);
      t->n_slices += parts[i].n_slices;
    }
  for (int s = 0; s < sum.n_stages; s++)
    bs_timing_add_stage (t, sum.stages[s].name, sum.total_ms > 0 ? wall_ms * sum.stages[s].ms / sum.total_ms : 0);
}

double
bs_timing_stage_ms (const BsTiming *t, const char *name)
{
  for (int i = 0; i < t->n_stages; i++)
    if (strcmp (t->stages[i].name, name) == 0)
      return t->stages[i].ms;
  return 0.0;
}

double
bs_now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}
