/* What a plan and a calibration hold, shared by the files that build and
 * run plans (bs-plan.c, bs-plan-run.c) and compute calibrations
 * (bs-calibration.c); private to engine/infer. */
#pragma once

#include <glib.h>
#include <oneapi/dnnl/dnnl.h>

#include "bs-plan.h"

typedef struct {
  dnnl_primitive_t prim;
  char label[24];
  int n_sets;
  int n_args;
  dnnl_exec_arg_t *args;  /* n_sets * n_args */
  /* A plain-C step instead of a primitive (prim NULL): run (data, n slices). */
  void (*run) (gconstpointer data, int n);
  gpointer data;
  gpointer *c_ptrs[3];    /* its pointers into activations (fields of data), NULL-ended */
} PlanOp;

/* int8 with fusion: PredictionMask (1x1, one output channel per region) +
 * sigmoid in plain C, straight into the caller's probabilities.  oneDNN
 * 2.6's int8 kernels vectorise over output channels, so with one of them
 * every kernel it offers took 1.5-3.6 ms per 16 slices of 128x128 on one
 * core, more than any 3x3 convolution at that level; this loop reads the u8
 * tensor once per output and also replaces the output reorder. */
typedef struct {
  const guint8 *src;  /* convOutb's output: u8, channels last */
  int c;
  int n_out;          /* PredictionMask's output channels */
  float *w;           /* n_out x c: weight / activation scale, per input channel */
  float *bias;        /* n_out */
} Head;

struct _BsPlan {
  BsPlanOptions opts;
  int h, w, batch, in_ch;
  int n_out;             /* output channels (sigmoid probabilities) per slice */
  int chunk;             /* slices the primitives are built for (<= batch) */
  int threads;           /* OpenMP threads the primitives were built for and run on */
  int n_lanes;           /* 1, or lanes: this plan is lane 0 (one thread) */
  BsPlan **lane;         /* n_lanes - 1 more single-thread copies (lanes 1, 2, ...), or NULL */
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  GArray *ops;           /* PlanOp */
  GPtrArray *mems;       /* dnnl_memory_t owned by the plan */
  GPtrArray *held;       /* GBytes: the reordered weights its memories point into (bs-plan-weights.h) */
  dnnl_memory_t in_user, in_net;
  dnnl_primitive_t in_reorder;
  dnnl_memory_t out_net, out_user;
  dnnl_primitive_t out_reorder;
  float *in_ptr, *out_ptr;
  float *flip_in, *flip_out;  /* test-time flips: one chunk mirrored, and its output (else NULL) */
  Head *head;            /* int8 fused: PredictionMask outside oneDNN, else NULL */
  /* One scratchpad for all primitives, owned by the plan: oneDNN's own
   * per-thread scratchpad would tie execution to the building thread. */
  dnnl_memory_t scratch;
  size_t scratch_size;
  void *arena;           /* the activations that share memory (bs-plan-share.c), or NULL */
  gsize arena_size, arena_apart;   /* its bytes, and those of its tensors apart */
  GString *description;
};

struct _BsCalibration {
  int n_layers;
  float input_max;   /* max |x| of the network input */
  float *layer_max;  /* max |y| of each layer's output (after ReLU where there is one) */
  int n_slices;      /* slices measured (of this case), 0 when stored */
  int n_cases;       /* stored with the model: the cases it was measured on; 0 when of this case */
};
