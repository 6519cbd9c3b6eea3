/* What is open and what is known about it: the session the window's panels
 * are bound to.  No widgets here.
 *
 * A session holds the dataset, the case shown (image, label, whole-tumour
 * truth, the prepared network input), the model, what is viewed (plane,
 * slice, channel), the overlay and plan options, and the results: the
 * probability volume the inference worker fills, which slices are computed,
 * the confusion counts (per displayed slice and for the volume), the island
 * clean-up and what it switched off.  It owns the inference worker.
 *
 * Opening (dataset, case, model) and whole-volume work (the clean-up, Dice
 * over the volume after a plane switch) run off the main thread; results are
 * adopted on the main context.  Every change is announced: property notify
 * for the state, "results-changed" when probabilities or counts change,
 * "timing-changed" for the worker's timing and plan, "failed" when opening
 * or inference fails (the window shows a dialog), "case-dice-changed" when a
 * case's whole-volume Dice becomes known. */
#pragma once

#include <gio/gio.h>

#include "bs-dataset.h"
#include "bs-labels.h"
#include "bs-metrics.h"
#include "bs-overlay.h"
#include "bs-plan.h"
#include "bs-postprocess.h"
#include "bs-timing.h"
#include "bs-unet.h"
#include "bs-volume.h"

G_BEGIN_DECLS

#define BS_TYPE_SESSION (bs_session_get_type ())
G_DECLARE_FINAL_TYPE (BsSession, bs_session, BS, SESSION, GObject)

/* How an open treats the model. */
typedef enum {
  BS_SESSION_MODEL_KEEP,    /* the session's model (random weights when it has none) */
  BS_SESSION_MODEL_LOAD,    /* load model_path */
  BS_SESSION_MODEL_RANDOM,  /* random weights, with a note that says so */
} BsSessionModel;

/* What an open failed on, for the title of the error the window shows. */
typedef enum {
  BS_SESSION_FAILED_DATA,   /* the path (dataset, case folder, file) */
  BS_SESSION_FAILED_MODEL,  /* the model file */
  BS_SESSION_FAILED_CASE,   /* one case of the open dataset */
  BS_SESSION_FAILED_INFERENCE,
} BsSessionFailure;

BsSession *bs_session_new (void);

/* ---- Opening (off the main thread) ----
 * Opens path (a dataset file or folder, a case folder, one file of a case)
 * and its first case; path NULL keeps the dataset and reloads the case shown
 * (with a new model).  Any earlier open still running is cancelled.  When
 * nothing is open yet, a model that loaded stays even when the data then
 * fails, so that a later case is never segmented with random weights; with
 * a case open, a failure leaves case and model as they were.  A model that
 * does not load while path opens gives way to the shipped model, and the
 * note says so.  Every failure is also emitted as
 * "failed", so callers that only want the dialog pass no callback. */
void bs_session_open_async (BsSession *self, const char *path, BsSessionModel model, const char *model_path,
                            GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
gboolean bs_session_open_finish (BsSession *self, GAsyncResult *result, GError **error);

/* Loads case index of the open dataset; while another load runs, the newest
 * request waits for it (one task at a time reads the dataset). */
void bs_session_load_case (BsSession *self, int index);
gboolean bs_session_is_loading (BsSession *self);

/* ---- What is open ----
 * Every pointer is owned by the session and valid until the case, the model
 * or the options change ("notify::generation"); NULL while nothing is open. */
BsDataset *bs_session_get_dataset (BsSession *self);
int bs_session_get_case_index (BsSession *self);
BsCase *bs_session_get_case (BsSession *self);
/* Whole-tumour truth (label > 0, 0/1), or NULL when the case has no labels. */
const BsVolume *bs_session_get_truth (BsSession *self);
/* A region of the truth (0/1): whole tumour, or tumour core and enhancing
 * tumour when the case's labels tell them apart; NULL otherwise. */
const BsVolume *bs_session_get_truth_region (BsSession *self, BsRegion region);
/* The network input: model modalities, normalised (bs_infer_prepare). */
const BsVolume *bs_session_get_prepared_volume (BsSession *self);
const BsUnet *bs_session_get_model (BsSession *self);
/* "Inputs: FLAIR, T1gd · missing: …" for the open case, or NULL. */
const char *bs_session_get_inputs_text (BsSession *self);
/* When the case lacks some of the model's input sequences: a sentence that
 * says which and what it means for the mask (notify::inputs-text); else NULL. */
const char *bs_session_get_missing_inputs_warning (BsSession *self);
/* Why the open case's ground truth could not be used (it opened without; the
 * warning above says so too), once: the caller owns it, the next call gives
 * NULL until another case opens with one. */
GError *bs_session_take_truth_error (BsSession *self);
/* A note about the model a user should read (random weights), or NULL. */
const char *bs_session_get_note (BsSession *self);
/* Automatic window/level of image channel c (percentiles over the volume). */
void bs_session_get_auto_window (BsSession *self, int c, float *lo, float *hi);
/* Whole-volume Dice of dataset case i once it has been segmented, else NaN. */
double bs_session_get_case_dice (BsSession *self, int i);

/* ---- What is viewed ---- */
BsPlane bs_session_get_plane (BsSession *self);
/* Switching plane keeps the prediction: other planes are reslices of the
 * network plane's volume; the slice goes to the middle of the new plane. */
void bs_session_set_plane (BsSession *self, BsPlane plane);
/* The plane the network runs in (axial, as the model was trained). */
BsPlane bs_session_get_net_plane (BsSession *self);
int bs_session_get_n_slices (BsSession *self);      /* of the viewed plane */
int bs_session_get_n_net_slices (BsSession *self);  /* of the network's plane */
int bs_session_get_slice_index (BsSession *self);
/* Clamped to the plane; asks the worker for the slice first when it is missing. */
void bs_session_set_slice_index (BsSession *self, int slice);
/* Channel of the case image shown in the MRI pane. */
int bs_session_get_display_channel (BsSession *self);
void bs_session_set_display_channel (BsSession *self, int channel);

/* ---- Options ---- */
/* Window/level, opacity, style as the views draw them ("notify::overlay"). */
void bs_session_get_overlay_options (BsSession *self, BsOverlayOptions *opts);
void bs_session_set_overlay_options (BsSession *self, const BsOverlayOptions *opts);
/* Back to the automatic window/level of the display channel. */
void bs_session_reset_window_level (BsSession *self);
void bs_session_get_plan_options (BsSession *self, BsPlanOptions *opts);
/* New options restart inference when a case is open ("notify::plan-options"). */
void bs_session_set_plan_options (BsSession *self, const BsPlanOptions *opts);
/* The clean-up (islands; with a region model the core's holes filled and the
 * core kept near its enhancing rim: bs-postprocess.h): applied once every slice of the
 * network's plane is computed, undone without new inference when switched off. */
void bs_session_set_cleanup (BsSession *self, gboolean cleanup);
gboolean bs_session_get_cleanup_enabled (BsSession *self);
/* TRUE when the clean-up has been applied to the current volume; stats then
 * tells what it removed (zeros otherwise). */
gboolean bs_session_get_cleanup (BsSession *self, BsCleanupStats *stats);

/* ---- Results ---- */
/* Raised whenever case, model or options change: cached results are stale. */
guint bs_session_get_generation (BsSession *self);
/* Sigmoid output of the slices computed so far (others 0), image geometry. */
const BsVolume *bs_session_get_probability_volume (BsSession *self);
/* A copy of the probabilities as the network gave them: the clean-up's
 * changes (islands switched off, the core's holes filled, the core
 * trimmed to its enhancing rim) undone.  NULL
 * when nothing is predicted or memory runs out. */
BsVolume *bs_session_copy_network_probabilities (BsSession *self);
/* Whether slice k of the network's plane has its prediction. */
gboolean bs_session_net_slice_is_computed (BsSession *self, int k);
int bs_session_get_n_computed_slices (BsSession *self);
gboolean bs_session_volume_complete (BsSession *self);
/* Whether slice s of the viewed plane holds its final prediction. */
gboolean bs_session_slice_is_computed (BsSession *self, int s);
/* Confusion counts of slice s of the viewed plane; FALSE while they are not
 * known (not computed, or being recounted).  truth_empty: no tumour in the truth. */
gboolean bs_session_get_slice_confusion (BsSession *self, int s, BsConfusion *conf, gboolean *truth_empty);
/* Over the computed slices, after the clean-up when it ran; raw: before it. */
void bs_session_get_volume_confusion (BsSession *self, BsConfusion *conf, BsConfusion *raw);
/* Whole-volume Dice (after the clean-up when it ran), NaN without truth or
 * before the first slice. */
double bs_session_get_volume_dice (BsSession *self);
/* First slice whose result arrived since the last restart, or -1. */
int bs_session_get_first_computed_slice (BsSession *self);

/* ---- BraTS regions: whole tumour, tumour core, enhancing tumour ---- */
/* Whether the model predicts region (every model predicts the whole tumour;
 * a region model also TC and ET). */
gboolean bs_session_model_has_region (BsSession *self, BsRegion region);
/* The region the TP / FP / FN colours and the per-slice Dice chart show
 * ("notify::region"; whole tumour at first). */
BsRegion bs_session_get_region (BsSession *self);
void bs_session_set_region (BsSession *self, BsRegion region);
/* The predicted region of slice s of plane as 0/1 in out (the slice's
 * pixels): the whole tumour where its probability is over 0.5 (after the
 * clean-up when it ran), the core only inside it, enhancing only inside the
 * core.  FALSE when the model does not predict region. */
gboolean bs_session_get_region_slice (BsSession *self, BsRegion region, BsPlane plane, int s, float *out);
/* bs_session_get_slice_confusion for region (WT is that call); FALSE while
 * the slice is not computed, or without the region in truth or model. */
gboolean bs_session_get_region_slice_confusion (BsSession *self, BsRegion region, int s, BsConfusion *conf,
                                                gboolean *truth_empty);
/* Whole-volume Dice, HD95, sensitivity, specificity and volumes of region,
 * once every slice is computed (and cleaned up when the clean-up is on) and
 * counted off the main thread; FALSE before, and without the region in
 * truth or model. */
gboolean bs_session_get_region_metrics (BsSession *self, BsRegion region, BsRegionMetrics *m);
/* The tumour core's or enhancing tumour's volume Dice before the clean-up
 * (the network's own masks) while the clean-up is applied; FALSE otherwise
 * (the whole tumour's: bs_session_get_volume_confusion's raw). */
gboolean bs_session_get_region_raw_dice (BsSession *self, BsRegion region, double *dice);

/* ---- Corrections (bs-session-edit.c) ---- */
/* Whether the prediction can be painted now: the whole volume predicted and
 * measured; else FALSE and (why may be NULL) a translated reason. */
gboolean bs_session_can_edit (BsSession *self, char **why);
/* A stroke on the viewed slice: paint (erase FALSE) or erase the region
 * chosen (bs_session_get_region; the whole tumour for a model without it)
 * with a brush radius pixels wide, through the displayed pixels (x, y) given
 * to edit_to, until edit_end, which makes it one step to undo ("edits"
 * notifies). */
void bs_session_edit_begin (BsSession *self, gboolean erase, double radius);
void bs_session_edit_to (BsSession *self, double x, double y);
void bs_session_edit_end (BsSession *self);
gboolean bs_session_edit_undo (BsSession *self);
gboolean bs_session_edit_redo (BsSession *self);
/* Strokes that can be undone; *n_redo (may be NULL) those that can be done again. */
int bs_session_get_n_edits (BsSession *self, int *n_redo);
/* Forgets every stroke, first putting the prediction back as the network
 * left it when restore is TRUE. */
void bs_session_edit_discard (BsSession *self, gboolean restore);
/* A segmentation file (an exported mask, a corrected one, another tool's)
 * as one correction: once the volume can be edited, the file is read onto
 * the case's grid and compared with the prediction off the main thread
 * (bs_dataset_load_case_mask, bs_mask_edit_from_label); finishing makes it
 * one step that Ctrl+Z takes back (none when nothing changed).  *n_changed:
 * voxels whose whole tumour changed; *n_values: values of every region that
 * changed; *convention: the labels the file was read in (labels, when not
 * BS_LABELS_UNKNOWN: the user's word for them).  An error names the file and
 * the problem, and leaves the prediction as it was. */
void bs_session_load_mask_async (BsSession *self, const char *path, BsLabelConvention labels,
                                 GCancellable *cancellable, GAsyncReadyCallback callback, gpointer data);
gboolean bs_session_load_mask_finish (BsSession *self, GAsyncResult *result, gsize *n_changed, gsize *n_values,
                                      BsLabelConvention *convention, GError **error);

/* ---- The worker ---- */
gboolean bs_session_is_ready (BsSession *self);      /* a case is open, nothing loads and the worker has a plan */
gboolean bs_session_is_busy (BsSession *self);
/* How long the coronal and sagittal passes of the three-plane mean took, once done; else 0. */
double bs_session_get_planes_ms (BsSession *self);
/* Whether prob is the three-plane mean (the passes are done). */
gboolean bs_session_planes_done (BsSession *self);
/* Three planes on and the case open suits them (bs_segment_planes_suit: not
 * on slices far thicker than their pixels). */
gboolean bs_session_three_planes_apply (BsSession *self);
/* Three planes on, every axial slice predicted, and the coronal and sagittal
 * passes not done yet (running, or stopped by a Stop): the volume's figures
 * are the axial ones for now.  done and total (may be NULL): their slices. */
gboolean bs_session_planes_pending (BsSession *self, int *done, int *total);       /* the worker is filling the volume */
gboolean bs_session_fill_cancelled (BsSession *self);
gboolean bs_session_inference_failed (BsSession *self);
void bs_session_cancel_fill (BsSession *self);
void bs_session_resume_fill (BsSession *self);
/* "Plan: fp32 · blocked · …", or NULL before the first plan. */
const char *bs_session_get_plan_text (BsSession *self);
/* The last run's timing; FALSE before the first. */
gboolean bs_session_get_last_timing (BsSession *self, BsTiming *timing);
/* Per slice (n_slices 1): each stage at its median over the same runs as
 * bs_session_get_steady_ms_per_slice, the layers of the last run; FALSE
 * before the first run. */
gboolean bs_session_get_steady_timing (BsSession *self, BsTiming *timing);
/* ms/slice: the median over the last runs (network and its stages, no
 * drawing), NaN before the first; n_runs gets how many it covers. */
double bs_session_get_steady_ms_per_slice (BsSession *self, int *n_runs);

G_END_DECLS
