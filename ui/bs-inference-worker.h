/* The one thread that owns the inference plan.
 *
 * The main thread hands it a job (model + prepared volume + plane + options,
 * tagged with a generation) and asks for the visible slice; the worker answers
 * the newest visible-slice request first (older ones are forgotten), then fills
 * the rest of the volume in batches.  Every result carries the job generation;
 * results of an older generation never reach the caller.  Results arrive on
 * the main context (an idle source) through the "slices-ready" signal. */
#pragma once

#include <glib-object.h>

#include "bs-plan.h"
#include "bs-unet.h"
#include "bs-volume.h"

G_BEGIN_DECLS

/* What the worker computes on: immutable once made, shared by reference
 * between the window and the worker thread. */
typedef struct {
  BsUnet *net;
  BsVolume *prepared;
} BsInferenceInput;

BsInferenceInput *bs_inference_input_new (BsUnet *net, BsVolume *prepared); /* takes both */
BsInferenceInput *bs_inference_input_ref (BsInferenceInput *input);
void bs_inference_input_unref (BsInferenceInput *input);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsInferenceInput, bs_inference_input_unref)

/* One batch of finished slices, valid during the signal emission. */
typedef struct {
  guint generation;
  BsPlane plane;
  int first, n;          /* slices first .. first + n - 1 */
  int width, height;     /* displayed slice size */
  int channels;          /* outputs of the model: 1, or 3 for WT, TC, ET */
  const float *probs;    /* n x channels x height x width, displayed orientation */
  gboolean visible;      /* answered a visible-slice request */
  BsTiming timing;       /* of this run */
  int done, total;       /* slices of the job finished so far */
} BsInferenceResult;

#define BS_TYPE_INFERENCE_WORKER (bs_inference_worker_get_type ())
G_DECLARE_FINAL_TYPE (BsInferenceWorker, bs_inference_worker, BS, INFERENCE_WORKER, GObject)

/* Signals (main context of the creating thread):
 *  "slices-ready" (BsInferenceResult *)
 *  "plan-ready"   (guint generation, const char *description) after a plan was built
 *  "failed"       (guint generation, GError *) the job stopped: plan or run error
 *  "finished"     (guint generation) the whole volume is done */
BsInferenceWorker *bs_inference_worker_new (void);

/* Replaces the job: cancels whatever runs for the old one.  The worker builds
 * a plan (and an int8 calibration from slices of input when needed). */
void bs_inference_worker_set_job (BsInferenceWorker *self, BsInferenceInput *input, BsPlane plane,
                                  const BsPlanOptions *opts, guint generation);
/* The visible slice; supersedes any earlier request. */
void bs_inference_worker_request_slice (BsInferenceWorker *self, guint generation, int slice);
/* Stops filling the volume (visible-slice requests are still answered). */
void bs_inference_worker_cancel_fill (BsInferenceWorker *self);
/* Resumes filling after a cancel. */
void bs_inference_worker_resume_fill (BsInferenceWorker *self);
/* Drops the job; no result of it is delivered afterwards. */
void bs_inference_worker_clear (BsInferenceWorker *self);

G_END_DECLS
