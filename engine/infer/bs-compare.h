/* "Compare all": every inference configuration (precision x layout x fusion)
 * timed on the same slices of one case, with its accuracy cost against the
 * fp32 reference configuration.  Runs on the caller's thread (the window runs
 * it in a GTask); cancellable between slices. */
#pragma once

#include <gio/gio.h>

#include "bs-infer.h"
#include "bs-plan.h"
#include "bs-volume.h"

G_BEGIN_DECLS

#define BS_COMPARE_BUDGET_MS 8000.0

typedef struct {
  BsPrecision precision;
  BsMemLayout layout;
  gboolean fusion;
  gboolean available;
  char *reason;         /* translated, why the configuration could not run, or NULL */
  double ms_per_slice;  /* median over the compared slices, batch 1 */
  double dice;          /* against the truth over the compared slices; NAN without truth */
  double dice_delta;    /* dice minus the reference configuration's dice; NAN without truth */
  double agreement;     /* Dice of this configuration's mask against the reference's mask */
  int n_slices_run;     /* slices timed and compared: all of them unless the time budget ran out */
  int threads;          /* the threads its plan ran on (0 when it did not run) */
} BsCompareRow;

typedef struct {
  BsCompareRow *rows;
  int n_rows;
  int reference;        /* index of the fp32 reference row (fp32, blocked, fusion on) */
  int n_slices;
  int height, width;    /* padded slice size the plans ran at */
  int threads;          /* as asked, 0 = all cores */
  int threads_used;     /* what every row ran on: "all cores" is judged once, before the first row, so that
                         * the rows of one run compare (each plan used to judge the free cores anew) */
  char *caption;        /* what was compared (case, model, CPU), set by the caller; may be NULL */
} BsCompareResult;

void bs_compare_result_free (BsCompareResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsCompareResult, bs_compare_result_free)

/* "int8 · nhwc · fused": the configuration's short name (not translated, the
 * words are the CLI's option values). */
char *bs_compare_row_label (const BsCompareRow *row);
/* A Dice difference as shown: "+0.0012", "-0.0012", and "±0.0000" for one
 * that rounds to zero (walk finding: "-0.0000" beside "+0.0000" read as a
 * loss).  Free with g_free. */
char *bs_compare_format_delta (double delta);

/* Up to max slice indices of the plane worth comparing on: the slices with
 * the most tumour when there is a truth, else evenly spaced slices through the
 * middle of the volume.  Returns how many were written to slices. */
int bs_compare_pick_slices (const BsVolume *prepared, const BsVolume *truth, BsPlane plane,
                            int max, int *slices);

/* Every configuration as a row not yet run (available FALSE, no reason), in
 * the order bs_compare_run reports them; n_slices, height and width unset. */
BsCompareResult *bs_compare_result_new_pending (void);

/* done of total configurations finished; row is result->rows[index]. */
typedef void (*BsCompareProgress) (int done, int total, int index, const BsCompareRow *row, gpointer user_data);

/* Runs every configuration on the slices (indices of geom's plane) of
 * prepared, through geom's window (see BsInferGeometry).
 * truth (whole tumour, like prepared) may be NULL.  A configuration for which
 * oneDNN only has its reference kernels (minutes per slice) is skipped with
 * that reason; a slow one stops after BS_COMPARE_BUDGET_MS of timed runs (at
 * least one slice), and its accuracy is then measured on the slices it ran,
 * against the reference on the same slices.  cal may be NULL: it is
 * then computed (bs_calibration_new_for_case).  Configurations the CPU cannot run are rows
 * with available = FALSE and the reason.  progress is called after each
 * configuration. */
BsCompareResult *bs_compare_run (const BsUnet *net, const BsVolume *prepared, const BsVolume *truth,
                                 const BsInferGeometry *geom, const int *slices, int n_slices, int threads,
                                 const BsCalibration *cal,
                                 BsCompareProgress progress, gpointer user_data,
                                 GCancellable *cancellable, GError **error);

/* precision,layout,fusion,available,ms_per_slice,slices,dice,dice_delta,agreement,reason */
char *bs_compare_csv_text (const BsCompareResult *result);
gboolean bs_compare_write_csv (const BsCompareResult *result, const char *path, GError **error);

G_END_DECLS
