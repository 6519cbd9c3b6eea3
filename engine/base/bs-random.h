/* The one random number generator of the engine.
 *
 * splitmix64: its whole state is one integer, so that a seed gives the same
 * network, phantom or training run on every machine, and a training
 * checkpoint can carry the state and resume drawing exactly where it stopped.
 * Streams that need a longer period (the phantom's noise) seed a xoshiro256
 * state from it. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

static inline guint64
bs_splitmix64 (guint64 *state)
{
  guint64 z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Uniform in [0, 1) from the top 53 bits. */
static inline double
bs_random_unit (guint64 bits)
{
  return (bits >> 11) * (1.0 / 9007199254740992.0);
}

G_END_DECLS
