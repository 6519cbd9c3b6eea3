/* Painting helpers shared by the exports (engine/render/bs-export-paint.c). */
#pragma once

#include <cairo.h>

#include "bs-volume.h"

G_BEGIN_DECLS

/* slice (w x *h pixels) on square pixels: a new surface of w x
 * round (*h * aspect) replaces it (slice is freed; *h updated); slice itself
 * where aspect is 1. */
cairo_surface_t *bs_export_square_pixels (cairo_surface_t *slice, int w, int *h, double aspect);
/* Paints a w x h slice surface into the box (x, y, bw, bh), centred and
 * scaled to fit. */
void bs_export_paint_fitted (cairo_t *cr, cairo_surface_t *slice, int w, int h, double x, double y, double bw,
                             double bh);

G_END_DECLS
