/* Segmenting a case: the one pipeline from a prepared case to a mask.
 *
 * Geometry (crop to the brain), int8 calibration (bs-calibration.h), the
 * plan, the network over the slices in batches, the threshold at 0.5, the
 * island clean-up and, with a truth, the confusion counts and Dice.
 * brainseg-cli infer and export and the window's exports reach a mask
 * through bs_segment, so that the same options give the same mask. */
#pragma once

#include <gio/gio.h>

#include "bs-dataset.h"
#include "bs-infer.h"
#include "bs-labels.h"
#include "bs-metrics.h"
#include "bs-plan.h"
#include "bs-postprocess.h"
#include "bs-timing.h"
#include "bs-unet.h"
#include "bs-volume.h"

G_BEGIN_DECLS

typedef struct {
  /* Precision, layout, fusion, threads, batch, crop_to_brain and
   * test_time_flips as the plan and the geometry take them. */
  BsPlanOptions plan;
  BsPlane plane;          /* where the network runs: BS_INFER_NET_PLANE unless a caller knows better */
  gboolean cleanup;       /* remove islands below BS_CLEANUP_MIN_FRACTION of the largest component */
  /* NULL: every slice of the plane.  Else one byte per slice, non-zero =
   * segment it; the others stay 0, and the Dice counts only the selected
   * slices.  The clean-up judges the volume as it is, so a partial
   * selection usually wants it off. */
  const guint8 *slices;
  /* Called once, after the network's last pass and before the masks are
   * made (NULL: nothing).  From then on bs_segment does not read prepared
   * again, and it reads the truths it was given only after this returns: a
   * caller that has no further use for the prepared image can free it here
   * and make the truths from the case's labels now, so that the truths and
   * the masks take the memory the image leaves on the heap instead of fresh
   * pages (bs-runtime.h). */
  void (*after_network) (gpointer data);
  gpointer after_network_data;
} BsSegmentOptions;

/* bs_plan_options_init's plan, BS_INFER_NET_PLANE, clean-up on, every slice, no after_network. */
void bs_segment_options_init (BsSegmentOptions *opts);

typedef struct {
  BsInferGeometry *geom;      /* where the network looked */
  int threads;                /* the plan's (options say 0 for all cores) */
  int lanes;                  /* the plan's lanes (bs_plan_get_lanes): 1, or copies of the network sharing the slices */
  int n_selected;             /* slices asked for */
  int n_run;                  /* of those, slices with brain that went through the network */
  int n_slabs;                /* windows (and plans) the pass in plane ran on: bs_infer_geometry_slabs */
  gboolean three_planes;      /* the coronal and sagittal passes ran and prob is the mean of three */
  char *planes_note;          /* three planes asked for but skipped for the voxels (bs_segment_planes_suit), else NULL */
  char *pixel_note;           /* pixels finer than the model learned from (bs_segment_pixel_note), else NULL */
  char *resample_note;        /* the case was resampled from its file's voxels (bs_segment_resample_note), else NULL */
  /* Sigmoid outputs, one channel per model output (channel-major; channel 0
   * the whole tumour, then as the model's outputs list, e.g. WT, TC, ET,
   * each channel named after its region: "wt", "tc", "et"); 0 where nothing ran. */
  BsVolume *prob;
  BsVolume *mask;             /* whole tumour: prob channel 0 > 0.5 as 0/1 (is_label), after the clean-up when it ran */
  gboolean cleaned;           /* the clean-up ran */
  BsCleanupStats cleanup;     /* zeros when it did not */
  guint64 tumour_voxels;      /* on in mask */
  gboolean has_truth;
  BsConfusion confusion_raw;  /* the mask before the clean-up against the truth */
  BsConfusion confusion;      /* mask against the truth */
  double dice_raw, dice;      /* of the two; NAN without a truth */
  /* Regions (BraTS's nested WT, TC, ET).  n_outputs: prob's channels.
   * region_channel: prob's channel of each region, -1 where the model has
   * no such output.  region_mask: 0/1 (is_label), nested: WT is mask (the
   * same pointer, owned once by the result: never free it on its own), TC is
   * P(TC) > 0.5 inside WT (with the clean-up, its plane holes filled inside
   * WT, then kept near the enhancing tumour: bs_volume_trim_core), ET is
   * P(ET) > 0.5 inside TC (inside WT without a TC output); NULL where the
   * model has no such output.  With that
   * region's truth: its confusion against it and Dice (NAN otherwise). */
  int n_outputs;
  int region_channel[BS_N_REGIONS];
  BsVolume *region_mask[BS_N_REGIONS];
  guint64 region_voxels[BS_N_REGIONS];
  gboolean region_has_truth[BS_N_REGIONS];
  BsConfusion region_confusion[BS_N_REGIONS];
  double region_dice[BS_N_REGIONS];
  /* Axial slices [region_slices[0], region_slices[1]) hold every voxel of
   * every region's mask and truth (all slices unless bs_segment_finish
   * knew better: it assumes the TC and ET truths lie in the WT truth, as
   * bs_labels_region makes them).  bs_metrics_region_in reads only them. */
  int region_slices[2];
  BsTiming timing;            /* preprocess, the plan's stages, output, threshold, cleanup */
  double plan_ms;             /* calibration and building the plan */
  /* int8: the calibration's bs_calibration_get_cases (0: measured on this
   * case) and bs_calibration_get_slices; both 0 for other precisions */
  int calibration_cases, calibration_slices;
  double run_ms;              /* network through clean-up */
} BsSegmentResult;

void bs_segment_result_free (BsSegmentResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsSegmentResult, bs_segment_result_free)

/* Segments prepared (bs_infer_prepare) with net.  With
 * opts->plan.three_planes and every slice selected (slices NULL) the network
 * also runs in the two other planes (bs_segment_average_planes) and progress
 * counts the slices of all three; with a selection of slices it runs in
 * opts->plane only (r->three_planes says which happened).  truth (whole tumour,
 * > 0.5, one channel with prepared's dims) may be NULL.  progress gets
 * (done, total) selected slices after each batch, on the calling thread.
 * Cancellable between batches (G_IO_ERROR_CANCELLED).  Errors: the plan's
 * (an unavailable precision, a case without brain to calibrate int8 on) and
 * BS_PLAN_ERROR_UNAVAILABLE when the clean-up runs out of memory. */
BsSegmentResult *bs_segment (const BsUnet *net, const BsVolume *prepared, const BsVolume *truth,
                             const BsSegmentOptions *opts,
                             BsInferProgress progress, gpointer user_data,
                             GCancellable *cancellable, GError **error);
/* The same with a truth per region (0/1, one channel with prepared's dims,
 * indexed by BsRegion, each may be NULL; e.g. bs_labels_region of the
 * case's label map): truth[BS_REGION_WT] is bs_segment's truth, TC and ET
 * give the region confusion and Dice where the model predicts them.  truth
 * itself may be NULL. */
BsSegmentResult *bs_segment_regions (const BsUnet *net, const BsVolume *prepared,
                                     const BsVolume *const *truth, const BsSegmentOptions *opts,
                                     BsInferProgress progress, gpointer user_data,
                                     GCancellable *cancellable, GError **error);

/* The two other planes of three run only on the slices through the box that
 * holds every voxel of the first plane's whole-tumour probability at or above
 * this, grown by this many voxels (engine/infer/bs-segment.c). */
#define BS_SEGMENT_PLANES_MIN_PROB 0.05f
#define BS_SEGMENT_PLANES_MARGIN 8
/* Pixels of the slice kept around the box on the other planes' windows (with
 * crop to brain), for the network's context. */
#define BS_SEGMENT_PLANES_CONTEXT 32

/* The pass in the case's own plane runs its brain slices in up to this many
 * slabs of consecutive slices, each on its own window, where that saves at
 * least this share of the pixels (bs_infer_geometry_slabs).  On six BraTS
 * 2017/2018 cases three slabs run 0.80-0.85 of one window's pixels.  Each
 * slab builds a plan for its size: on Brats18_TCIA01_201_1 the two more
 * plans cost fp32 50-90 ms and saved it 150-250 ms of network; int8's network
 * saved 45 ms and its plans cost 60 ms, so int8 cuts only where the saving
 * is far larger. */
#define BS_SEGMENT_MAX_SLABS 3
#define BS_SEGMENT_SLAB_SAVING 0.10
#define BS_SEGMENT_SLAB_SAVING_INT8 0.30

/* The slabs every path runs a pass in geom's plane on: bs_infer_geometry_slabs
 * with the limits above for that precision (the window's worker, bs_segment
 * and the tests that compare them take them from here). */
BsInferGeometry **bs_segment_slabs (const BsInferGeometry *geom, const guint8 *selected, BsPrecision precision,
                                    int *n_slabs);

/* Thick slices: the coronal and sagittal passes are skipped where the
 * slices of the network's plane are more than this many times thicker than
 * their pixels are wide (a clinical scan of 5 mm axial slices), since the
 * other planes' slices are then stretched that much.  On 8 held-out cases
 * (each by the fold model that did not train on it) resampled to 1 x 1 x 3
 * and 1 x 1 x 5 mm, three planes gave whole-tumour Dice 0.874 and 0.671
 * against 0.876 and 0.885 in the plane alone; at 1 x 1 x 2 mm 0.907 against
 * 0.887 (models/README.md, "Thick slices and fine pixels"). */
#define BS_SEGMENT_PLANES_MAX_THICKNESS 2.0

/* Whether the coronal and sagittal passes suit vol's voxels for a network
 * run in plane: FALSE where its slices are more than
 * BS_SEGMENT_PLANES_MAX_THICKNESS times thicker than their widest pixel side;
 * then why (may be NULL) gets a sentence for the user that names the voxel
 * size (free it). */
gboolean bs_segment_planes_suit (const BsVolume *vol, BsPlane plane, char **why);

/* Pixels finer than this (mm) in the network's plane: the model learned
 * from 1 mm pixels, and a tumour drawn on finer ones looks larger to it than
 * any it saw.  On 8 held-out cases (each by the fold model that did not train
 * on it) resampled to 0.7 x 0.7 x 1 mm the whole-tumour Dice fell from 0.918
 * to 0.845 (worst 0.58); at 1.4 x 1.4 x 1 mm it was 0.908 (models/README.md,
 * "Thick slices and fine pixels"). */
#define BS_SEGMENT_FINE_PIXEL_MM BS_DATASET_FINE_VOXEL_MM

/* A warning for the user where vol's pixels in plane are finer than
 * BS_SEGMENT_FINE_PIXEL_MM on either side (free it), else NULL.  Cases load
 * resampled to about 1 mm (bs_dataset_set_resample), so this is for a case
 * loaded without. */
char *bs_segment_pixel_note (const BsVolume *vol, BsPlane plane);
/* Where vol was resampled from its file's finer voxels (bs_dataset_set_resample),
 * a sentence for the user that says from what to what (free it), else NULL. */
char *bs_segment_resample_note (const BsVolume *vol);

/* Three planes (opts->three_planes): prob holds the network's probabilities
 * of a whole volume run in plane (every slice; as bs_infer_volume leaves
 * them); this runs the same network, options and calibration (cal, for
 * int8; may be NULL otherwise) on the slices of the two other planes that
 * cross the tumour's box (above), each plane on its own window
 * (opts->crop_to_brain) and plan, and leaves in prob, inside the box, the
 * mean of the three, voxel by voxel: (plane + first other + second other) / 3,
 * the others in BsPlane order.  Outside the box prob keeps the first plane's
 * values (all below BS_SEGMENT_PLANES_MIN_PROB); with no voxel at that level
 * nothing runs.  A 2D network sees each voxel three times, with context from
 * three directions: cross-validated on the 21 real cases this lifts the
 * whole-tumour Dice (models/README.md).  Stages add to timing (may be NULL;
 * the same names as the first pass, plus "planes" for the box and the mean);
 * progress gets (done_before + slices done, total) after each batch (total:
 * done_before + bs_segment_other_planes_slices with prob).  Cancellable
 * between batches (G_IO_ERROR_CANCELLED).  On any failure prob holds a partial
 * sum: callers drop it. */
gboolean bs_segment_average_planes (const BsUnet *net, const BsVolume *prepared, BsPlane plane,
                                    const BsPlanOptions *opts, const BsCalibration *cal, BsVolume *prob,
                                    BsTiming *timing, BsInferProgress progress, gpointer user_data,
                                    int done_before, int total, GCancellable *cancellable, GError **error);
/* The pieces, for a caller that runs the network itself (the trainer's
 * held-out cases).  The box: inclusive voxel bounds of prob's first channel
 * at or above BS_SEGMENT_PLANES_MIN_PROB, grown by BS_SEGMENT_PLANES_MARGIN
 * and clamped to the volume; FALSE when no voxel reaches it. */
gboolean bs_segment_planes_box (const BsVolume *prob, int lo[3], int hi[3]);
/* Which slices of vol's plane cross the box (selected[k] = 1; selected may
 * be NULL), and how many: a run of consecutive slices. */
int bs_segment_planes_slices (const BsVolume *vol, BsPlane plane, const int lo[3], const int hi[3],
                              guint8 *selected);
/* Over the box, every channel: dst += add, or with add NULL dst /= 3. */
void bs_segment_planes_add (BsVolume *dst, const BsVolume *add, const int lo[3], const int hi[3]);
/* Slices bs_segment_average_planes runs in the two planes other than plane:
 * with prob (the first plane's probabilities), those crossing its box; with
 * prob NULL, every slice (the most it can run, before prob is known). */
int bs_segment_other_planes_slices (const BsVolume *prepared, BsPlane plane, const BsVolume *prob);

/* The pipeline's last steps on r->prob (the case's geometry, one channel
 * per output): the threshold at 0.5 of channel 0 into r->mask, the island
 * clean-up when cleanup, and with a truth the confusion counts and Dice
 * before and after it (over the selected slices of plane when slices is not
 * NULL); then the nested region masks of the other channels, which are
 * told apart by their names ("tc", "et", as bs_segment names them; a
 * channel without a region name is the region of its index).  bs_segment
 * ends with it; the window's session calls it on the volume its worker
 * filled (one channel: the whole tumour). */
gboolean bs_segment_finish (BsSegmentResult *r, const BsVolume *truth, BsPlane plane, const guint8 *slices,
                            gboolean cleanup, GError **error);
/* The same with a truth per region (see bs_segment_regions; may be NULL). */
gboolean bs_segment_finish_regions (BsSegmentResult *r, const BsVolume *const *truth, BsPlane plane,
                                    const guint8 *slices, gboolean cleanup, GError **error);

/* A voxel of a probability volume that the clean-up changed: its index over
 * all channels, the network's value and the clean-up's (0 for an island of
 * the whole tumour or a core voxel trimmed far from the enhancing rim, 1 for
 * a filled hole of the tumour core). */
typedef struct {
  gsize index;
  float prob;
  float set;
} BsCleanupChange;

/* Writes a finished result's clean-up into prob (r->prob's geometry; not
 * r->prob itself, which stays the network's): channel 0's removed islands
 * become 0, and where r has a core mask read from channel core_channel, its
 * filled holes become 1 in that channel and its trimmed voxels
 * (bs_volume_trim_core) 0, so that thresholds of prob give
 * r's masks again.  Every change is appended to changes when it is not NULL.
 * Returns FALSE when the core's channel is not core_channel (its holes and
 * its trimming are then not written). */
gboolean bs_segment_write_cleanup (const BsSegmentResult *r, BsVolume *prob, int core_channel, GArray *changes);

/* The result's regions as one label map (single channel, uint8 values stored
 * as float, is_label, the case's geometry) in conv: BS_LABELS_BINARY is the
 * whole-tumour mask as 0/1; BraTS 2017-2021 (1 = TC minus ET, 2 = WT minus
 * TC, 4 = ET), Decathlon (1 edema, 2 non-enhancing, 3 enhancing), BraTS 2023
 * (1 NCR, 2 ED, 3 ET) and BraTS 2015 (2 edema, 3 non-enhancing, 4
 * enhancing; necrosis is not told apart and is 3) need a model with TC and
 * ET outputs: otherwise, and for BS_LABELS_UNKNOWN, BS_PLAN_ERROR_UNAVAILABLE. */
BsVolume *bs_segment_label_map (const BsSegmentResult *r, BsLabelConvention conv, GError **error);

G_END_DECLS
