/* Volume inference: slices of a case in display orientation through a plan. */
#pragma once

#include <gio/gio.h>
#include "bs-volume.h"
#include "bs-plan.h"

G_BEGIN_DECLS

/* A case prepared for the network: the model's modalities picked from the
 * image (by name, see bs_volume_find_channel), normalised, in one volume. */
BsVolume *bs_infer_prepare (const BsUnet *net, const BsVolume *image, GError **error);
/* The same, taking the image (bs_preprocess_prepare_take): for a caller that
 * does not read the image again. */
BsVolume *bs_infer_prepare_take (const BsUnet *net, BsVolume *image, GError **error);

/* Where the network looks in one plane of a prepared case.
 *
 * Most of a BraTS volume is air: the network runs only on slices with a brain
 * voxel, on one window per case that holds the brain of every slice (plus a
 * margin), rounded up to a multiple of 16 and aligned to the whole-slice
 * frame's 16-pixel grid so that pooling sees the same cells as on the whole
 * slice.  With crop FALSE the window is the whole slice, centre-padded to a
 * multiple of 16, and every slice runs (the behaviour before cropping). */
typedef struct {
  BsPlane plane;
  int width, height;   /* displayed slice size */
  int n_slices;
  int ph, pw;          /* network input size (multiples of 16) */
  int x0, y0;          /* displayed-slice pixel of the input's first pixel (negative: padding) */
  gboolean cropped;    /* made with crop TRUE */
  guint8 *brain;       /* n_slices: 1 where the network runs */
  int n_brain;
  int context;         /* neighbouring slices on each side in the input (the network's config.context) */
  int *box;            /* cropped: per slice x0, y0, x1, y1 of its head (inclusive, x0 > x1 when none), else NULL */
} BsInferGeometry;

/* The plane the 2D U-Net is trained in and runs in (IntelAI's and
 * Brainseg's models are axial).  A prediction is one volume: coronal and
 * sagittal views and exports are reslices of it, never a second run. */
#define BS_INFER_NET_PLANE BS_PLANE_AXIAL

/* Pixels of air kept around the brain's box.  8 since 2026-12-06 (24
 * before): on all 22 real cases in ../shared, fp32, the masks agree with
 * whole-slice inference on at least 99.9959 % of voxels and the whole-tumour
 * Dice moves by at most 0.0010 with the shipped model, 0.0004 with
 * brainseg-wt.h5 (tests/bench/crop-agreement.py; the issue allows 0.002),
 * for 0.52x the whole slices' network time against 0.62x at 16 pixels. */
#define BS_INFER_CROP_MARGIN 8

BsInferGeometry *bs_infer_geometry_new (const BsVolume *prepared, BsPlane plane, gboolean crop);
/* The geometry net runs on: bs_infer_geometry_new with net's context (the
 * neighbouring slices its input takes).  Every caller that feeds net uses
 * this, so that no path forgets the neighbours. */
BsInferGeometry *bs_infer_geometry_new_for_net (const BsUnet *net, const BsVolume *prepared, BsPlane plane,
                                                gboolean crop);
/* Narrows geom's window to the part of the box (inclusive voxel bounds of
 * vol, the volume geom was made for) seen in its plane, grown by margin
 * pixels, the start kept on the whole frame's 16-pixel grid, never beyond
 * the window it had.  The three-plane passes use it: only the tumour's box
 * needs their answer. */
void bs_infer_geometry_restrict (BsInferGeometry *geom, const BsVolume *vol, const int lo[3], const int hi[3],
                                 int margin);
void bs_infer_geometry_free (BsInferGeometry *geom);

/* Slabs: geom's brain slices cut into at most max_slabs (1 to 3) runs of
 * consecutive slices, each with the window of its own slices' box (the same
 * margin and 16-pixel grid as geom's), cut where the fewest pixels run.  The first and last slices of a
 * head are small, and each slab's window follows them; each slab needs a plan
 * of its own, so a cut is kept only where it saves at least min_saving of the
 * pixels.  A geometry made without crop, or max_slabs 1, gives one slab on
 * geom's window.  A slab's brain[] holds its own slices only, and of them
 * only those selected when selected is not NULL (the cut itself is always
 * the whole volume's, so that a slice runs on the same window alone as in
 * the whole volume): run it with that as the selection.  *n_slabs receives
 * the count; free each slab and the array. */
BsInferGeometry **bs_infer_geometry_slabs (const BsInferGeometry *geom, const guint8 *selected, int max_slabs,
                                           double min_saving, int *n_slabs);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsInferGeometry, bs_infer_geometry_free)

/* The slice in input slot `slot` of slice `slice` (0: itself, then slice - 1,
 * slice + 1, slice - 2, ...), clamped to the volume's n_slices. */
int bs_infer_context_slice (int slice, int slot, int n_slices);
/* Fills input (n x C x ph x pw, C = prepared's channels x (1 + 2 context))
 * with the window of slices first..first+n-1 and their neighbours. */
void bs_infer_fill_input (const BsVolume *prepared, const BsInferGeometry *geom, int first, int n, float *input);
/* Floats of one slice's input: prepared's channels x (1 + 2 context) x ph x pw. */
gsize bs_infer_slice_floats (const BsVolume *prepared, const BsInferGeometry *geom);
/* One slice's window (C x ph x pw), its neighbours' after it. */
void bs_infer_fill_slice (const BsVolume *prepared, const BsInferGeometry *geom, int slice, float *input);
/* No tumour where there is no head: probs[p] = 0 wherever every channel of
 * input (channels planes of n values) is 0, the background preprocessing
 * leaves.  fp32 gives about 0 there anyway; int8 gave 0.49, because the
 * bias-only activations of a region with nothing in it are smaller than one
 * quantisation step of the last layer, whose range the tumour sets. */
void bs_infer_zero_outside_head (const float *input, int channels, gsize n, float *probs);
/* The same for n_outputs probability planes of n values each (a region
 * model's WT, TC, ET): every output is 0 where there is no head. */
void bs_infer_zero_outside_head_outputs (const float *input, int channels, gsize n, int n_outputs, float *probs);
/* One probability map (ph x pw) as a displayed slice (width x height), 0
 * outside the window.  A region model's slice has one map per output
 * (bs_plan_run's C x ph x pw): call it on each, probs + c * ph * pw. */
void bs_infer_window_to_slice (const BsInferGeometry *geom, const float *input, int channels, const float *probs,
                               float *slice);
/* channels: the prepared volume's (input holds channels x (1 + 2 context)
 * planes a slice, geom's context; the head is where the slice itself is).
 * Writes n slices of probability maps (n x C x ph x pw, C = prob->n_channels,
 * slice-major as bs_plan_run writes them) back as displayed slices of prob
 * (a volume like prepared with one channel per output, channel-major: channel
 * 0 is the whole tumour), 0 outside the window. */
void bs_infer_store_output (BsVolume *prob, const BsInferGeometry *geom, const float *input, int channels, int first,
                            int n, const float *probs);

typedef void (*BsInferProgress) (int done, int total, gpointer user_data);

/* Whole volume, in batches of the plan's batch size, over geom's brain
 * slices; prob receives the sigmoid outputs (0 on skipped slices and outside
 * the window), channel c of prob being the plan's output c.  prob may have
 * fewer channels than the plan has outputs (1: the whole tumour only), not
 * more (BS_PLAN_ERROR_SIZE).  Slices go in chunks of whole batches, at
 * least 8 slices, whose inputs are gathered and outputs stored on every core
 * (bs_parallel_for) around the network's batches.  Progress counts every
 * slice, after each chunk.  Cancellable between batches.
 * The plan must be built for geom->ph x geom->pw. */
gboolean bs_infer_volume (BsPlan *plan, const BsVolume *prepared, const BsInferGeometry *geom,
                          BsVolume *prob, BsTiming *timing,
                          BsInferProgress progress, gpointer user_data,
                          GCancellable *cancellable, GError **error);

/* The same over the slices flagged in selected (one byte per slice of geom's
 * plane, non-zero = run; NULL = every slice); prob keeps what it had on the
 * others.  Progress counts the selected slices.  Cancellation is reported
 * as G_IO_ERROR_CANCELLED. */
gboolean bs_infer_slices (BsPlan *plan, const BsVolume *prepared, const BsInferGeometry *geom,
                          const guint8 *selected, BsVolume *prob, BsTiming *timing,
                          BsInferProgress progress, gpointer user_data,
                          GCancellable *cancellable, GError **error);

/* The same, adding each selected slice's probabilities to prob at the voxels
 * within the inclusive voxel box [lo, hi] instead of writing the slices: the
 * three-plane passes sum into the first plane's probabilities where they are
 * needed, with no volume of their own.  On failure or cancellation prob holds
 * part of the sum. */
gboolean bs_infer_slices_add (BsPlan *plan, const BsVolume *prepared, const BsInferGeometry *geom,
                              const guint8 *selected, BsVolume *prob, const int lo[3], const int hi[3],
                              BsTiming *timing, BsInferProgress progress, gpointer user_data,
                              GCancellable *cancellable, GError **error);

G_END_DECLS
