/* Slices painted into exports: on square pixels, fitted into a box. */
#include <math.h>

#include "bs-export-private.h"

/* slice (w x *h pixels) drawn on square pixels: its rows stretched by aspect
 * into a new surface of w x round (*h * aspect), which replaces it (walk
 * finding: the coronal and sagittal exports of a case of 5 mm slices were
 * squashed five times, where the window shows them in proportion).  Thick
 * slices stay visible as bands (nearest neighbour from twice on). */
cairo_surface_t *
bs_export_square_pixels (cairo_surface_t *slice, int w, int *h, double aspect)
{
  cairo_surface_t *out;
  cairo_t *cr;
  int nh;

  if (fabs (aspect - 1.0) < 0.01)
    return slice;
  nh = MAX (1, (int) lround (*h * aspect));
  out = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, nh);
  cr = cairo_create (out);
  cairo_scale (cr, 1.0, (double) nh / *h);
  cairo_set_source_surface (cr, slice, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), aspect >= 2.0 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
  cairo_pattern_set_extend (cairo_get_source (cr), CAIRO_EXTEND_PAD);
  cairo_rectangle (cr, 0, 0, w, *h);
  cairo_fill (cr);
  cairo_destroy (cr);
  cairo_surface_destroy (slice);
  *h = nh;
  return out;
}

/* Paints a w x h slice surface into the box (x, y, bw, bh), centred and
 * scaled to fit. */
void
bs_export_paint_fitted (cairo_t *cr, cairo_surface_t *slice, int w, int h, double x, double y, double bw, double bh)
{
  double scale = MIN (bw / w, bh / h);
  double dx = x + (bw - w * scale) / 2, dy = y + (bh - h * scale) / 2;

  cairo_save (cr);
  cairo_translate (cr, dx, dy);
  cairo_scale (cr, scale, scale);
  cairo_set_source_surface (cr, slice, 0, 0);
  /* Nearest neighbour when enlarging a lot keeps voxels (and mask edges)
   * honest; bilinear otherwise avoids aliasing. */
  cairo_pattern_set_filter (cairo_get_source (cr), scale >= 3.0 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
  cairo_rectangle (cr, 0, 0, w, h);
  cairo_fill (cr);
  cairo_restore (cr);
}
