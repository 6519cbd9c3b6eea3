#pragma once

#include "bs-application.h"
#include "bs-dataset.h"
#include "bs-overlay.h"
#include "bs-plan.h"
#include "bs-postprocess.h"
#include "bs-unet.h"
#include "bs-volume.h"

G_BEGIN_DECLS

#define BS_TYPE_WINDOW (bs_window_get_type ())
G_DECLARE_FINAL_TYPE (BsWindow, bs_window, BS, WINDOW, GtkApplicationWindow)

BsWindow *bs_window_new (BsApplication *app);

/* Opens a dataset (file, case folder, Decathlon folder, HDF5) off the main
 * thread; progress and errors show in the window. */
void bs_window_open_path (BsWindow *self, const char *path);
/* Loads model weights off the main thread; NULL means random weights. */
void bs_window_open_model (BsWindow *self, const char *path);
/* Both at once (start-up): model_path NULL means random weights, with a note. */
void bs_window_open_with_model (BsWindow *self, const char *path, const char *model_path);

/* ---- What the export dialogs and the Compare-all chart read ----
 * Every pointer is owned by the window and valid until the case, the model or
 * the options change (listen to "notify::generation"); NULL while nothing is
 * open.  Call from the main thread only. */

/* The open dataset and the index of the case shown. */
BsDataset *bs_window_get_dataset (BsWindow *self);
int bs_window_get_case_index (BsWindow *self);
/* The case shown: raw image (all modalities) and raw label (may be NULL). */
BsCase *bs_window_get_case (BsWindow *self);
/* Whole-tumour truth (label > 0, 0/1), or NULL when the case has no labels. */
const BsVolume *bs_window_get_truth (BsWindow *self);
/* The network input: model modalities, normalised (bs_infer_prepare). */
const BsVolume *bs_window_get_prepared_volume (BsWindow *self);
/* Sigmoid output for the slices computed so far in the current plane (others 0);
 * bs_window_slice_is_computed tells which ones are done. */
const BsVolume *bs_window_get_probability_volume (BsWindow *self);
gboolean bs_window_slice_is_computed (BsWindow *self, int slice);
int bs_window_get_n_computed_slices (BsWindow *self);
/* Island clean-up (bs-postprocess.h): on by default; applied once every slice
 * of the plane is computed, undone without new inference when switched off. */
void bs_window_set_cleanup (BsWindow *self, gboolean cleanup);
/* TRUE when the clean-up has been applied to the current volume; stats then
 * tells what it removed (zeros otherwise). */
gboolean bs_window_get_cleanup (BsWindow *self, BsCleanupStats *stats);
/* The model in use. */
const BsUnet *bs_window_get_model (BsWindow *self);

BsPlane bs_window_get_plane (BsWindow *self);
int bs_window_get_slice_index (BsWindow *self);
/* Channel of the case image shown in the MRI pane (modality selector). */
int bs_window_get_display_channel (BsWindow *self);
/* Window/level, opacity, style and confusion colours as the views draw them. */
void bs_window_get_overlay_options (BsWindow *self, BsOverlayOptions *opts);
/* The plan options the worker uses now. */
void bs_window_get_plan_options (BsWindow *self, BsPlanOptions *opts);
/* Raised whenever case, model or options change: cached results are stale. */
guint bs_window_get_generation (BsWindow *self);
/* Shows an error dialog naming what failed (for the export dialogs as well). */
void bs_window_show_error (BsWindow *self, const char *title, const GError *error);

/* ---- Hooks for the export branch ----
 * The window installs win.export-overlay, win.export-figure, win.export-mask,
 * win.export-dice-csv, win.export-series and win.compare-all (Export menu in
 * the header bar, "Compare all" button in the optimisation panel).  An action
 * stays disabled until a handler is registered for its name (without the
 * "win." prefix); register once at start-up, before windows exist.  The
 * export branch does this in ui/bs-export-ui.c: `void bs_export_ui_register (void)`
 * (declared in ui/bs-export-ui.h), which BsApplication's startup calls. */
typedef void (*BsWindowActionHook) (BsWindow *win, gpointer user_data);
void bs_window_register_action_hook (const char *action_name, BsWindowActionHook hook, gpointer user_data);

/* ---- Test hooks ---- */
/* Slice index whose prediction the Prediction pane shows now, or -1 when it
 * shows none (not computed yet). */
int bs_window_get_displayed_slice_index_of_prediction (BsWindow *self);
/* First slice whose result arrived since the last restart (case, plane,
 * model or options), or -1: the visible one when the worker honours it. */
int bs_window_get_first_computed_slice (BsWindow *self);
/* Dice of the visible slice as the Dice panel shows it (NaN when none). */
double bs_window_get_displayed_slice_dice (BsWindow *self);
/* TRUE once a case is loaded and the worker has a plan. */
gboolean bs_window_is_ready (BsWindow *self);
/* What the Dice and timing panels show: the slice Dice, the volume Dice and
 * the ms/slice line (each may be NULL). */
void bs_window_get_panel_texts (BsWindow *self, const char **slice_dice, const char **volume_dice,
                                const char **speed);
/* The slice label under the views, e.g. "Axial 53 (0–95)". */
const char *bs_window_get_slice_text (BsWindow *self);
/* The timing panel's ms/slice: the median over the last runs, NaN before the first. */
double bs_window_get_steady_ms_per_slice (BsWindow *self);
/* Whole-volume Dice as the Dice panel shows it (after the clean-up when it
 * ran), NaN without ground truth or before the first slice. */
double bs_window_get_volume_dice (BsWindow *self);
/* The plane the network runs in (axial, as the model was trained); other
 * planes are shown as reslices of its prediction. */
BsPlane bs_window_get_net_plane (BsWindow *self);
/* Whether slice k of the network's plane has its prediction. */
gboolean bs_window_net_slice_is_computed (BsWindow *self, int k);
/* "Plan: fp32 · blocked · …" as the timing panel shows it, or NULL before the first plan. */
const char *bs_window_get_plan_text (BsWindow *self);
/* "Inputs: FLAIR, T1gd · missing: …" for the open case, or NULL. */
const char *bs_window_get_inputs_text (BsWindow *self);
/* TRUE while the worker is still filling the volume. */
gboolean bs_window_is_busy (BsWindow *self);
void bs_window_set_slice_index (BsWindow *self, int slice);
void bs_window_set_plane (BsWindow *self, BsPlane plane);
void bs_window_set_plan_options (BsWindow *self, const BsPlanOptions *opts);
/* Shows the overlay (TRUE) or the three panes. */
void bs_window_set_overlay_mode (BsWindow *self, gboolean overlay);

G_END_DECLS
