/* The main window: a header bar, the case sidebar, the view toolbar, the
 * linked slice views, the slice bar, the progress row and the side panel
 * (Dice, timing, optimisations), each a template widget bound to the one
 * BsSession the window holds.  The window keeps no case data; its actions
 * are in bs-window-actions.c. */
#pragma once

#include "bs-application.h"
#include "bs-session.h"

G_BEGIN_DECLS

#define BS_TYPE_WINDOW (bs_window_get_type ())
G_DECLARE_FINAL_TYPE (BsWindow, bs_window, BS, WINDOW, GtkApplicationWindow)

BsWindow *bs_window_new (BsApplication *app);

/* What is open and what is known about it. */
BsSession *bs_window_get_session (BsWindow *self);

/* Opens a dataset (file, case folder, Decathlon folder, HDF5) off the main
 * thread; progress and errors show in the window. */
void bs_window_open_path (BsWindow *self, const char *path);
/* Loads model weights off the main thread; NULL means random weights. */
void bs_window_open_model (BsWindow *self, const char *path);
/* Both at once (start-up): model_path NULL means random weights, with a note. */
void bs_window_open_with_model (BsWindow *self, const char *path, const char *model_path);

/* Shows an error dialog naming what failed (for the export dialogs as well). */
void bs_window_show_error (BsWindow *self, const char *title, const GError *error);
/* Shows the overlay (TRUE) or the three panes. */
void bs_window_set_overlay_mode (BsWindow *self, gboolean overlay);

/* ---- What the panels show (tests) ---- */
/* Slice index whose prediction the Prediction pane shows now, or -1. */
int bs_window_get_displayed_slice_index_of_prediction (BsWindow *self);
/* Dice of the visible slice as last drawn (NaN when none). */
double bs_window_get_displayed_slice_dice (BsWindow *self);
/* The slice Dice, the volume Dice and the ms/slice line (each may be NULL). */
void bs_window_get_panel_texts (BsWindow *self, const char **slice_dice, const char **volume_dice,
                                const char **speed);
/* The slice label under the views, e.g. "Axial 53 (0–95)". */
const char *bs_window_get_slice_text (BsWindow *self);

G_END_DECLS
