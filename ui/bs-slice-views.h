/* The linked slice views: MRI input, ground truth and prediction side by side
 * (or the prediction over the MRI), sharing zoom, pan and the cursor, drawn
 * at most once per frame whatever changed, and the voxel readout under them. */
#pragma once

#include <gtk/gtk.h>

#include "bs-session.h"

G_BEGIN_DECLS

#define BS_TYPE_SLICE_VIEWS (bs_slice_views_get_type ())
G_DECLARE_FINAL_TYPE (BsSliceViews, bs_slice_views, BS, SLICE_VIEWS, GtkBox)

/* Signals: "rendered" (double ms) after each render of the visible slice. */

void bs_slice_views_set_session (BsSliceViews *self, BsSession *session);
/* The prediction over the MRI (TRUE) or the three panes. */
void bs_slice_views_set_overlay_mode (BsSliceViews *self, gboolean overlay);
/* Gives the keyboard focus to the MRI pane (the window starts with it there,
 * not in the case filter, so the slice keys work at once). */
void bs_slice_views_focus (BsSliceViews *self);
/* Zoom and pan back to fit. */
void bs_slice_views_reset_transforms (BsSliceViews *self);
/* The correction brush on the Prediction pane and the overlay: brush 0 off
 * (a left drag pans), 1 paints, 2 erases the session's chosen region
 * (bs_session_edit_begin), radius image pixels. */
void bs_slice_views_set_brush (BsSliceViews *self, int brush, double radius);
int bs_slice_views_get_brush (BsSliceViews *self, double *radius);
/* Slice whose prediction the Prediction pane shows now, or -1 (not computed yet). */
int bs_slice_views_get_displayed_prediction_slice (BsSliceViews *self);
/* Dice of the slice as last drawn (NaN when none). */
double bs_slice_views_get_displayed_dice (BsSliceViews *self);

G_END_DECLS
