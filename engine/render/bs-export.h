/* Exports shared by the window and `brainseg-cli export`: overlay PNG, the
 * three-panel figure, the predicted mask as NIfTI, per-slice Dice as CSV and
 * a PNG series of every slice.  Every file is written to a temporary name in
 * its folder and renamed, so a failed export never leaves a partial file;
 * errors are BS_EXPORT_ERROR and name the file.  No GTK here. */
#pragma once

#include <cairo.h>
#include <gio/gio.h>

#include "bs-labels.h"
#include "bs-overlay.h"
#include "bs-volume.h"

G_BEGIN_DECLS

typedef enum {
  BS_EXPORT_CLEANUP_UNKNOWN,
  BS_EXPORT_CLEANUP_OFF,
  BS_EXPORT_CLEANUP_ON,
} BsExportCleanup;

typedef struct {
  const BsVolume *image;  /* the MRI; channel `channel` is shown */
  int channel;
  const BsVolume *pred;   /* probabilities or mask (> 0.5 is tumour), one channel, image's dims */
  const BsVolume *truth;  /* whole tumour (> 0.5), one channel, or NULL when there is none */
  BsPlane plane;
  const char *case_id;    /* shown in the figure title; may be NULL */
  /* A region model's prediction (optional): the region name of each of
   * pred's channels ("wt", "tc", "et"; the model's outputs), NULL for whole
   * tumour only; and the truth's tumour core and enhancing tumour (0/1), or
   * NULL.  With both, the figure shows the regions and the Dice CSV has a
   * column per region. */
  const char *const *pred_outputs;
  const BsVolume *truth_tc, *truth_et;
  /* The region an overlay (and a series of overlays) shows: BS_REGION_WT
   * (0, the default) the whole tumour of pred and truth; BS_REGION_TC or
   * BS_REGION_ET that region, nested from pred's channels as the window
   * does, against truth_tc or truth_et, with the caption naming it.  An
   * overlay falls back to the whole tumour when pred or the truth cannot
   * tell the region (no such output, labels without regions). */
  BsRegion overlay_region;
  /* Whether pred is after the island clean-up: the Dice CSV then gains a
   * column "cleanup" (on or off) so that a file says which Dice it holds;
   * BS_EXPORT_CLEANUP_UNKNOWN (0, the default) leaves the column out. */
  BsExportCleanup cleanup;
} BsExportSource;

/* Default size of the figure, in pixels. */
#define BS_EXPORT_FIGURE_WIDTH 1800
#define BS_EXPORT_FIGURE_HEIGHT 720

/* Dice of one slice of pred against truth; NAN without truth. */
double bs_export_slice_dice (const BsExportSource *src, int index);
/* Whether the whole tumour is on one slice, in the prediction or the truth:
 * where it is in neither, the slice's Dice (1, both empty) says nothing, and
 * captions say "no tumour". */
gboolean bs_export_slice_has_tumour (const BsExportSource *src, int index);

/* Where an exported overlay puts the slice: the image is width x height
 * pixels and the slice's pixel (i, j) covers [x + i * scale, x + (i+1) *
 * scale) x [y + j * scale, ...).  Without annotations the slice fills the
 * image (scaled to fit keeping the aspect ratio, centred); with them, bands
 * for the caption and legend above and below it and margins for the
 * orientation letters beside it.  width or height <= 0: the slice at its own
 * size (scale 1), the image as large as that and the bands need. */
typedef struct {
  int width, height;
  double x, y, scale;
  double font;  /* caption and letter size in pixels (annotated only) */
} BsExportOverlayLayout;

void bs_export_overlay_layout (int slice_w, int slice_h, const BsOverlayOptions *opts, int width, int height,
                               BsExportOverlayLayout *layout);

/* The slice with the prediction over it (TP / FP / FN with opts->confusion and
 * a truth) placed as bs_export_overlay_layout says, annotated when
 * opts->annotate. */
cairo_surface_t *bs_export_render_overlay (const BsExportSource *src, int index,
                                           const BsOverlayOptions *opts, int width, int height);

/* "MRI input | Ground truth | Prediction" side by side with the case, plane,
 * slice and "Dice = 0.xxxx" in the title, white background, width x height
 * pixels (<= 0: the default size). */
cairo_surface_t *bs_export_render_figure (const BsExportSource *src, int index,
                                          const BsOverlayOptions *opts, int width, int height);

/* Whether path can be written before anything is computed for it: its folder
 * (for a series, the folder that will hold it) exists and is writable.  The
 * error (BS_EXPORT_ERROR_WRITE) names the folder. */
gboolean bs_export_check_destination (const char *path, gboolean is_folder, GError **error);

/* Atomic write (bs_file_write_atomic). */
gboolean bs_export_write_png (cairo_surface_t *surface, const char *path, GError **error);

gboolean bs_export_overlay_png (const BsExportSource *src, int index, const BsOverlayOptions *opts,
                                int width, int height, const char *path, GError **error);
gboolean bs_export_figure_png (const BsExportSource *src, int index, const BsOverlayOptions *opts,
                               int width, int height, const char *path, GError **error);

/* The mask (pred > 0.5) as uint8 0/1 NIfTI with the image's affine. */
gboolean bs_export_mask_nifti (const BsExportSource *src, const char *path, GError **error);
/* The same as a label map in conv (bs_labels_from_regions: BraTS 0/1/2/4,
 * Decathlon 0-3, ...) from a region model's nested regions; conv
 * BS_LABELS_BINARY is bs_export_mask_nifti.  A source without TC and ET
 * outputs fails with BS_EXPORT_ERROR_INVALID naming the file. */
gboolean bs_export_label_map_nifti (const BsExportSource *src, BsLabelConvention conv, const char *path,
                                    GError **error);

/* One row per slice of the plane: slice,dice,truth_pixels,pred_pixels,tp,fp,fn
 * (dice of the whole tumour; empty without truth, and where neither truth
 * nor prediction has tumour, since Dice is undefined there), then
 * dice_tc,dice_et for a region model and a truth with those regions (empty
 * where undefined). */
char *bs_export_dice_csv_text (const BsExportSource *src);
gboolean bs_export_dice_csv (const BsExportSource *src, const char *path, GError **error);

typedef void (*BsExportProgress) (int done, int total, gpointer user_data);

/* Every slice of the plane as <dir>/<plane>-NNN.png (overlay at width x
 * height, see bs_export_render_overlay).  The folder is created if needed.
 * Cancellable between slices (G_IO_ERROR_CANCELLED); files already written
 * are complete. */
gboolean bs_export_series (const BsExportSource *src, const BsOverlayOptions *opts,
                           int width, int height, const char *dir,
                           BsExportProgress progress, gpointer user_data,
                           GCancellable *cancellable, GError **error);

G_END_DECLS
