/* oneDNN inference plans: built once for (model, H, W, batch, options), run many times.
 * Primitives are created once, weights reordered once, memory allocated up front.
 * A plan is used from one thread at a time (the inference worker owns it). */
#pragma once

#include "bs-reference.h"
#include "bs-unet.h"
#include "bs-timing.h"

G_BEGIN_DECLS

typedef enum {
  BS_PRECISION_FP32,
  BS_PRECISION_INT8,
  BS_PRECISION_BF16,
} BsPrecision;

typedef enum {
  BS_MEMLAYOUT_NCHW,     /* plain */
  BS_MEMLAYOUT_NHWC,     /* channels last */
  BS_MEMLAYOUT_BLOCKED,  /* format any: oneDNN's choice */
} BsMemLayout;

typedef struct {
  BsPrecision precision;
  BsMemLayout layout;
  gboolean fusion;   /* ReLU post-ops, transconv into concat halves, fused sigmoid */
  int threads;       /* 0 = all cores that other programs leave free (see bs-runtime.h); with
                      * slice_parallel, 0 = one lane per core */
  gboolean slice_parallel; /* many slices at once run on lanes: one single-thread copy of the network per
                            * thread, each taking the next batch when it has finished its last (see
                            * bs_plan_get_lanes), instead of every primitive split between the threads.
                            * No barriers between threads, so a thread whose core another program holds
                            * only does less of the work; one slice alone runs on one thread */
  int batch;         /* slices per run, >= 1 */
  gboolean profile_layers; /* record per-layer times (slower: waits after each primitive) */
  gboolean crop_to_brain;  /* not the plan's own: callers run brain slices on the brain's window
                            * (BsInferGeometry) instead of every whole slice */
  gboolean test_time_flips; /* every slice also runs mirrored left-right; the two probability maps
                             * are averaged (twice the network time) */
  gboolean three_planes;   /* not the plan's own: a whole volume also runs on coronal and sagittal
                            * slices and the three probability volumes are averaged (about three
                            * times the network time; bs_segment_average_planes) */
  gboolean calibrate_case; /* not the plan's own: int8 measures the case's own ranges
                            * (bs_calibration_new_for_case) even when the model stores a calibration */
} BsPlanOptions;

/* Fastest sensible defaults for this CPU: fp32, blocked, fusion on, all cores, batch 1, cropped to the brain,
 * slices on parallel lanes (callers that time one slice's latency turn it off);
 * and the most accurate whole volume: three planes on (callers that time one plane turn it off). */
void bs_plan_options_init (BsPlanOptions *opts);

const char *bs_precision_name (BsPrecision p);  /* "fp32", "int8", "bf16" */
gboolean bs_precision_from_string (const char *s, BsPrecision *p);
const char *bs_memlayout_name (BsMemLayout l);  /* "nchw", "nhwc", "blocked" */
gboolean bs_memlayout_from_string (const char *s, BsMemLayout *l);

/* Whether this CPU runs the precision natively; when not, *reason (translated,
 * free with g_free) says why, e.g. "bf16 needs AVX512-BF16 or AMX; this CPU has AVX2". */
gboolean bs_precision_available (BsPrecision p, char **reason);
/* oneDNN's effective ISA, e.g. "avx512_core_bf16", and a CPU description. */
const char *bs_dnnl_isa_name (void);
char *bs_cpu_description (void);
int bs_cpu_cores (void);
/* Theoretical peak of all cores in GFLOP/s (GOP/s for int8) from the clock and ISA. */
double bs_cpu_peak_gflops (BsPrecision p);
/* Measured peak of threads threads (0: all cores) in GFLOP/s (GOP/s for
 * int8): the best of a few ~1 ms loops of independent FMAs (AVX-512 or AVX2),
 * VNNI dot products (int8) or bf16 dot products, about 15 ms in all.  0 where
 * the CPU has no such instruction for p (AMX is not measured: see bench). */
double bs_cpu_measure_peak_gflops (BsPrecision p, int threads);

/* int8 calibration: activation ranges of every layer input, measured by running
 * the fp32 network on representative slices. */
typedef struct _BsCalibration BsCalibration;
/* slices: n x in_channels x h x w, already normalised.  Slices larger than
 * 144x144 are measured on their centre 144x144 (where the brain is), which
 * keeps this plain-C pass to about a second per slice. */
BsCalibration *bs_calibration_compute (const BsUnet *net, const float *slices, int n, int h, int w, GError **error);
/* The calibration stored with net's weights (net->calibration), or NULL when
 * it has none. */
BsCalibration *bs_calibration_new_stored (const BsUnet *net);
/* How many cases a stored calibration was measured on; 0 for one measured on
 * the case at hand. */
int bs_calibration_get_cases (const BsCalibration *cal);
/* Slices of the case at hand it was measured on (0 when stored). */
int bs_calibration_get_slices (const BsCalibration *cal);
void bs_calibration_free (BsCalibration *cal);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsCalibration, bs_calibration_free)

typedef struct _BsPlan BsPlan;

/* h and w must be multiples of 16.  int8 requires a calibration (else
 * BS_PLAN_ERROR_UNAVAILABLE); bf16 on a CPU without it fails with the reason. */
BsPlan *bs_plan_new (const BsUnet *net, int h, int w, const BsPlanOptions *opts,
                     const BsCalibration *cal, GError **error);
void bs_plan_free (BsPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsPlan, bs_plan_free)

const BsPlanOptions *bs_plan_get_options (const BsPlan *plan);
/* The threads it runs on: opts->threads, or for 0 the cores other programs
 * leave free when it was built (bs_runtime_auto_threads); with lanes, the
 * lanes (one thread each). */
int bs_plan_get_threads (const BsPlan *plan);
/* Copies of the network that run different slices at the same time, one
 * thread each: with slice_parallel and more than one thread (opts->threads,
 * or every core for 0: lanes share the work out as they go, so a busy core
 * slows one lane without holding the other up), else 1. */
int bs_plan_get_lanes (const BsPlan *plan);
#define BS_PLAN_MAX_LANES 64
void bs_plan_get_size (const BsPlan *plan, int *h, int *w, int *batch);
/* Probability maps per slice: the model's out_channels (1 for IntelAI's
 * whole tumour, 3 for a region model: WT, TC, ET). */
int bs_plan_get_outputs (const BsPlan *plan);
/* Bytes of the arena the activations that are never alive together share
 * (0 when they keep their own buffers), and of those activations apart. */
void bs_plan_get_shared_activations (const BsPlan *plan, gsize *arena, gsize *apart);
/* What the plan runs: one line per primitive with oneDNN's implementation,
 * and which concatenations could not be fused. */
const char *bs_plan_describe (const BsPlan *plan);

/* input: n x in_channels x h x w float32 (NCHW, n <= batch; batch x lanes
 * on a plan with lanes), probs:
 * n x C x h x w with C = bs_plan_get_outputs (NCHW: slice-major, then output
 * channel; channel 0 is the whole tumour).
 * Stage times go into timing (may be NULL).  Sets the OpenMP thread count on
 * the calling thread first.  With test_time_flips the mirrored pass runs too
 * (its time counts in the same stages, plus a "flips" stage for mirroring and
 * averaging, per output channel; timing->n_slices counts each slice once). */
gboolean bs_plan_run (BsPlan *plan, const float *input, int n, float *probs,
                      BsTiming *timing, GError **error);
/* On a plan with lanes, bs_plan_run takes up to batch x lanes slices and
 * hands them to the lanes in pieces of at most batch, each lane taking the
 * next piece when it has finished its last.
 * bs_plan_run_lane runs them on lane lane (0 <= lane < bs_plan_get_lanes)
 * alone, on the calling thread: different lanes may run at the same time,
 * each from one thread. */
gboolean bs_plan_run_lane (BsPlan *plan, int lane, const float *input, int n, float *probs,
                           BsTiming *timing, GError **error);

G_END_DECLS
