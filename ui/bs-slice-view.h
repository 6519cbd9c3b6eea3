/* BsSliceView: one slice image (a cairo image surface rendered by
 * bs-overlay), drawn with nearest-neighbour magnification so that voxels stay
 * crisp at any zoom and scale factor, with orientation letters, a title, a
 * legend and the shared crosshair.  The view never renders slices itself: the
 * window hands it surfaces and keeps zoom, pan and cursor equal across views. */
#pragma once

#include <cairo.h>
#include <gtk/gtk.h>

G_BEGIN_DECLS

#define BS_TYPE_SLICE_VIEW (bs_slice_view_get_type ())
G_DECLARE_FINAL_TYPE (BsSliceView, bs_slice_view, BS, SLICE_VIEW, GtkWidget)

typedef struct {
  double zoom;     /* 1 = fit the widget */
  double pan_x;    /* image pixels the centre is moved by */
  double pan_y;
} BsViewTransform;

/* Signals:
 *  "transform-changed" ()             the user zoomed or panned this view
 *  "cursor-moved" (double x, double y) image pixel under the pointer, -1 when outside
 *  "step" (int delta)                 wheel without modifiers: slices to move
 *  "window-level" (double dx, double dy) right-drag motion in widget pixels
 *  "paint" (int phase, double x, double y) while painting: a left drag's
 *                                     begin (0), each motion (1) and end (2), image pixels */
GtkWidget *bs_slice_view_new (void);

/* Takes a reference; NULL shows the placeholder text. */
void bs_slice_view_set_surface (BsSliceView *self, cairo_surface_t *surface);
cairo_surface_t *bs_slice_view_get_surface (BsSliceView *self);
/* Height of a pixel relative to its width (anisotropic voxels). */
void bs_slice_view_set_pixel_aspect (BsSliceView *self, double aspect);
void bs_slice_view_set_title (BsSliceView *self, const char *title);
const char *bs_slice_view_get_title (BsSliceView *self);
void bs_slice_view_set_placeholder (BsSliceView *self, const char *text);
/* Left, right, top, bottom edge letters; NULL hides them. */
void bs_slice_view_set_letters (BsSliceView *self, const char letters[4]);
/* Where the title and the top orientation letter are drawn at the view's
 * current width (they never overlap: the letter moves below a long title). */
void bs_slice_view_get_label_rects (BsSliceView *self, GdkRectangle *title, GdkRectangle *top_letter);
/* Colour swatches with labels drawn in a corner (n entries, rgb 0..1). */
void bs_slice_view_set_legend (BsSliceView *self, int n, const double (*rgb)[3], const char *const *labels);
/* How many entries the legend has; *labels (may be NULL) its texts, owned by the view. */
int bs_slice_view_get_legend (BsSliceView *self, const char *const **labels);

void bs_slice_view_get_transform (BsSliceView *self, BsViewTransform *t);
void bs_slice_view_set_transform (BsSliceView *self, const BsViewTransform *t);
/* Image pixel the crosshair marks, or x < 0 for none. */
void bs_slice_view_set_cursor (BsSliceView *self, double x, double y);
/* Painting on: the left drag emits "paint" instead of panning, the pointer
 * is a cell and the brush (radius image pixels) is drawn as a ring around the
 * cursor.  Off by default. */
void bs_slice_view_set_painting (BsSliceView *self, gboolean painting, double radius);
gboolean bs_slice_view_get_painting (BsSliceView *self);

G_END_DECLS
