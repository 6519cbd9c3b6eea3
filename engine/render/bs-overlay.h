/* Rendering of slices, masks and overlays to cairo image surfaces (ARGB32),
 * shared by the window's views and every export.  No GTK here. */
#pragma once

#include <cairo.h>
#include <glib.h>
#include <stddef.h>

#include "bs-volume.h"

G_BEGIN_DECLS

typedef enum {
  BS_OVERLAY_FILL,
  BS_OVERLAY_OUTLINE,
} BsOverlayStyle;

typedef struct {
  float lo, hi;           /* window: lo maps to black, hi to white */
  float opacity;          /* 0..1, mask opacity */
  BsOverlayStyle style;
  gboolean confusion;     /* colour TP / FP / FN distinctly (needs truth) */
  /* Exported overlays only (the window's views ignore it): a caption (case,
   * plane, slice, Dice), the orientation letters and a colour legend around
   * the slice, outside its pixels, which stay as rendered.  Off after
   * bs_overlay_options_init; the CLI and the window's export turn it on. */
  gboolean annotate;
} BsOverlayOptions;

/* Colours (RGB 0..1) used everywhere, so legends and exports agree. */
extern const double BS_COLOR_PREDICTION[3];  /* prediction without truth */
extern const double BS_COLOR_TRUTH[3];       /* ground-truth pane */
extern const double BS_COLOR_TP[3];
extern const double BS_COLOR_FP[3];
extern const double BS_COLOR_FN[3];
/* The truth's sub-regions: edema (whole tumour outside the core), the core
 * outside the enhancing part (necrotic / non-enhancing), enhancing tumour. */
extern const double BS_COLOR_EDEMA[3];
extern const double BS_COLOR_CORE[3];
extern const double BS_COLOR_ENHANCING[3];

void bs_overlay_options_init (BsOverlayOptions *opts);

/* Automatic window: 0.5th and 99.5th percentiles of the non-background pixels. */
void bs_auto_window (const float *slice, size_t n, float *lo, float *hi);

/* The automatic window of one channel of a volume: bs_auto_window over a
 * regular sample of its voxels (every voxel up to a million).  One window
 * for every slice and plane, so that a series, a figure and the views show
 * the same grey levels. */
void bs_auto_window_volume (const BsVolume *image, int channel, float *lo, float *hi);

/* The MRI slice in grey (w x h). */
cairo_surface_t *bs_render_grey (const float *slice, int w, int h, float lo, float hi);

/* The slice in grey with mask (> 0.5) drawn over it in colour.  mask may be NULL. */
cairo_surface_t *bs_render_mask_over (const float *slice, const float *mask, int w, int h,
                                      const double rgb[3], const BsOverlayOptions *opts);

/* The slice with the prediction over it; with truth and opts->confusion,
 * true positives, false positives and false negatives in their colours. */
cairo_surface_t *bs_render_overlay (const float *slice, const float *pred, const float *truth,
                                    int w, int h, const BsOverlayOptions *opts);

/* The slice with a label's regions over it (each > 0.5): edema where wt is on
 * and tc is not, core where tc is on and et is not, enhancing where et is on. */
cairo_surface_t *bs_render_regions_over (const float *slice, const float *wt, const float *tc, const float *et,
                                         int w, int h, const BsOverlayOptions *opts);

G_END_DECLS
