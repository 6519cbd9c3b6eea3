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
