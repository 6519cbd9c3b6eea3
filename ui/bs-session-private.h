/* BsSession's parts, shared by bs-session.c (state, worker results, viewing,
 * options, GObject), bs-session-open.c (opening off the main thread) and
 * bs-session-volume.c (whole-volume work off the main thread). */
#pragma once

#include "bs-inference-worker.h"
#include "bs-segment.h"
#include "bs-session.h"

G_BEGIN_DECLS

/* Runs whose ms/slice the steady figure's median covers. */
#define SPEED_RUNS 15

/* A voxel the clean-up changed (bs_segment_write_cleanup). */
typedef BsCleanupChange CleanupVoxel;

struct _BsSession
{
  GObject parent_instance;

  BsInferenceWorker *worker;

  /* Opening: one task at a time reads the dataset. */
  GCancellable *load_cancellable;
  gboolean loading;
  int pending_case;        /* case asked for while another one loads, or -1 */
  char *activity;          /* what runs now ("Opening …"), or NULL */

  BsDataset *dataset;
  int case_index;
  BsCase *bcase;
  BsVolume *truth;
  BsVolume *truth_tc, *truth_et;  /* tumour core and enhancing tumour of the label, or NULL */
  GError *truth_error;     /* the case's label could not be used (it opened without), not shown yet */
  BsUnet *model;           /* the session's copy; the worker has its own */
  BsInferenceInput *input;
  double *case_dice;       /* per dataset case, NaN until the volume is done */
  float *auto_lo, *auto_hi; /* per image channel */
  char *inputs_text;
  char *missing_text;          /* a case without some of the model's sequences: the warning, else NULL */
  char *note;

  /* Results.  The network runs in net_plane; computed and n_computed count
   * its slices.  Other planes are reslices of the same probability volume. */
  BsVolume *prob;
  guint8 *computed;
  int n_computed;
  int first_computed;
  BsConfusion *slice_conf;      /* per slice of the viewed plane */
  guint8 *slice_conf_valid;
  guint8 *slice_truth_empty;
  BsConfusion volume_conf;
  BsConfusion raw_volume_conf;  /* before the island clean-up */
  gboolean cleanup;
  gboolean cleanup_applied;
  BsCleanupStats cleanup_stats;
  GArray *cleanup_saved;        /* CleanupVoxel: what the clean-up switched off */

  /* Whole-volume work off the main thread (clean-up, recount after a plane
   * switch); a result whose serial is not the newest is dropped. */
  guint volume_serial;
  gboolean volume_job_running;

  /* Three planes (opts.three_planes): once the network's plane is complete,
   * the coronal and sagittal passes run off the main thread and prob becomes
   * the mean of the three (bs_segment_average_planes), before the clean-up. */
  GCancellable *planes_cancellable;
  gboolean planes_running;
  guint planes_serial;         /* of the newest passes; a stopped one's late result is dropped */
  gboolean planes_done;
  double planes_ms;            /* how long the two passes took, once done */
  int planes_slices_done, planes_slices_total;  /* progress of the running passes */

  guint generation;
  gboolean ready;
  gboolean worker_busy;
  gboolean fill_cancelled;
  gboolean stop_after_load;
  int plane_slice[3];          /* the slice last shown in each plane, -1 = not yet (BsPlane order) */
  int tumour_slice[3];         /* a first visit's slice per plane: the most labelled tumour; -1: the middle */    /* Escape while a case loads: its fill starts stopped */
  gboolean inference_failed;
  char *plan_text;
  char *plan_description;  /* the worker's, of its plan */
  BsTiming last_timing;
  gboolean has_timing;
  double speed_hist[SPEED_RUNS];
  BsTiming timing_hist[SPEED_RUNS];   /* the runs speed_hist covers, for per-stage medians */
  int n_speed, speed_pos;

  BsPlane net_plane;
  BsPlane plane;
  int slice;
  int channel;
  char *channel_name;   /* the sequence shown, kept from case to case (NULL: none chosen yet) */
  BsOverlayOptions overlay;
  BsPlanOptions opts;

  /* BraTS regions: the one TP / FP / FN and the chart show, and the whole
   * volume's metrics per region once the volume job counted them. */
  BsRegion region;
  BsRegionMetrics region_metrics[BS_N_REGIONS];
  gboolean region_metrics_valid[BS_N_REGIONS];
  /* the tumour core's and enhancing tumour's volume Dice before the
   * clean-up, while it is applied ([WT]: raw_volume_conf) */
  double region_raw_dice[BS_N_REGIONS];
  gboolean region_raw_valid[BS_N_REGIONS];

  /* Corrections (bs-session-edit.c): strokes to undo and to redo (GArrays
   * of BsMaskEditVoxel), the one being painted, and where it paints. */
  GPtrArray *edit_undo, *edit_redo;
  GArray *edit_stroke;
  gboolean edit_erase, edit_has_last;
  double edit_radius, edit_last_x, edit_last_y;
  BsPlane edit_plane;
  int edit_slice;
  gboolean edit_remeasure;      /* strokes came while a volume job ran: another one when it is done */
  guint edit_serial;            /* goes up whenever a stroke, an undo, a redo or a discard changes the values */
  double edit_network_dice;     /* the case list's Dice before the first correction: the network's */
};


enum {
  PROP_0,
  PROP_DATASET,
  PROP_CASE,
  PROP_MODEL,
  PROP_NOTE,
  PROP_LOADING,
  PROP_ACTIVITY,
  PROP_PLANE,
  PROP_SLICE,
  PROP_CHANNEL,
  PROP_OVERLAY,
  PROP_PLAN_OPTIONS,
  PROP_CLEANUP,
  PROP_GENERATION,
  PROP_READY,
  PROP_BUSY,
  PROP_N_COMPUTED,
  PROP_PLAN_TEXT,
  PROP_INPUTS_TEXT,
  PROP_REGION,
  /* The plan options one by one, for property actions */
  PROP_PRECISION,
  PROP_LAYOUT,
  PROP_FUSION,
  PROP_CROP_TO_BRAIN,
  PROP_TEST_TIME_FLIPS,
  PROP_THREE_PLANES,
  PROP_LANES,
  PROP_CALIBRATE_CASE,
  PROP_PROFILE_LAYERS,
  PROP_THREADS,
  PROP_BATCH,
  PROP_EDITS,
  N_PROPS
};

enum {
  SIGNAL_RESULTS_CHANGED,
  SIGNAL_TIMING_CHANGED,
  SIGNAL_FAILED,
  SIGNAL_CASE_DICE_CHANGED,
  N_SIGNALS
};

extern GParamSpec *bs_session_properties[N_PROPS];
extern guint bs_session_signals[N_SIGNALS];

void bs_session_notify (BsSession *self, int prop);
void bs_session_set_activity (BsSession *self, const char *text);
void bs_session_emit_failed (BsSession *self, BsSessionFailure what, const char *title, const GError *error);
/* Hands the worker a fresh job for the current case and options. */
void bs_session_restart_inference (BsSession *self);
/* New plane, case, model or options: the per-slice counts no longer apply. */
void bs_session_reset_display_counts (BsSession *self);
/* The open case's whole-volume Dice, once its volume is complete. */
void bs_session_update_case_dice (BsSession *self);
gboolean bs_session_truth_slice_empty (const float *t, gsize n);
/* The viewed plane's slice s counted against the whole tumour's truth, now
 * (on this thread: one slice), into the per-slice counts. */
void bs_session_count_slice (BsSession *self, int s);
/* Channel of the probability volume holding region, or -1. */
int bs_session_region_channel (BsSession *self, BsRegion region);
/* out = the region's mask over n voxels, nested as bs_regions_from_probs
 * nests it (probs indexed by channel; channels[r] -1 when absent). */
void bs_session_region_mask (const float *const *probs, const int *channels, BsRegion region, gsize n, float *out);
/* Drops the case, its results and the worker's job. */
void bs_session_clear_case (BsSession *self);
/* Recounts the viewed plane off the main thread, cleaning the volume up
 * first when it is complete and the clean-up is on but not applied yet. */
void bs_session_start_volume_job (BsSession *self);
/* Puts back what the clean-up switched off, then recounts. */
void bs_session_cleanup_undo (BsSession *self);
/* The network's plane has just become complete: the three-plane passes
 * when they are on and not done yet, else the volume job. */
void bs_session_volume_completed (BsSession *self);
/* Stops the three-plane passes (a new job, a Stop, closing); they start
 * again from bs_session_volume_completed. */
void bs_session_cancel_planes (BsSession *self);
/* Three planes switched alone (bs_session_set_plan_options): on, the passes
 * run on the axial volume as it stands; off, they stop and the axial volume
 * is cleaned up and measured. */
void bs_session_planes_switched (BsSession *self);
/* plan_text from plan_description and the options. */
void bs_session_update_plan_text (BsSession *self);

G_END_DECLS
