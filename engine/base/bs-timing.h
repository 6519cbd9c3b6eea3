/* Where the milliseconds go: stage and per-layer times of one run. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BS_TIMING_MAX_STAGES 8
#define BS_TIMING_MAX_LAYERS 48

typedef struct {
  char name[24];   /* "preprocess", "reorder", "network", "output", "threshold", "render" */
  double ms;
} BsTimingEntry;

typedef struct {
  int n_stages;
  BsTimingEntry stages[BS_TIMING_MAX_STAGES];
  int n_layers;
  BsTimingEntry layers[BS_TIMING_MAX_LAYERS]; /* only when per-layer profiling was asked for */
  int n_slices;    /* slices the run covered */
  double total_ms;
} BsTiming;

void bs_timing_reset (BsTiming *t);
/* Adds ms to the stage called name (created on first use). */
void bs_timing_add_stage (BsTiming *t, const char *name, double ms);
void bs_timing_add_layer (BsTiming *t, const char *name, double ms);
/* Stages of n timings that ran at the same time (inference lanes), as wall
 * time: each stage's share of their summed time, of wall_ms.  Slices add up. */
void bs_timing_add_concurrent (BsTiming *t, const BsTiming *parts, int n, double wall_ms);
double bs_timing_stage_ms (const BsTiming *t, const char *name);
/* Monotonic clock in milliseconds. */
double bs_now_ms (void);

G_END_DECLS
