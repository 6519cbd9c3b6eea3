/* test-ui-window's parts (test-ui-window.c, ui-window-*.c): one program, one window,
 * the tests in the order main() adds them. */
#pragma once

#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bs-application.h"
#include "bs-infer.h"
#include "bs-segment.h"
#include "bs-settings.h"
#include "bs-metrics.h"
#include "bs-plan.h"
#include "bs-preprocess.h"
#include "bs-slice-bar.h"
#include "bs-slice-view.h"
#include "bs-slice-views.h"
#include "bs-dice-chart.h"
#include "bs-dice-panel.h"
#include "bs-options-panel.h"
#include "bs-progress-row.h"
#include "bs-timing-panel.h"
#include "bs-overlay.h"
#include "bs-phantom.h"
#include "region-model.h"
#include "test-util.h"
#include "ui-harness.h"

/* The window every test shares (test-ui-window.c). */
extern BsWindow *win;
extern GtkApplication *app;

/* Opens the shared window on the sample once; FALSE where there is no display. */
gboolean setup (void);
/* The prediction shown is the current slice's. */
gboolean shows_current_prediction (BsWindow *w);

/* Every slice computed, and the whole-volume work after it (the clean-up,
 * counting) done: that runs off the main thread. */
gboolean volume_done (BsWindow *w);

/* Every widget of type under root, in tree order. */
void collect_widgets (GtkWidget *root, GType type, GPtrArray *out);

/* The widget's top, in its window's coordinates. */
double y_of (GtkWidget *w);

/* ui-window-predict.c */
void test_slice_dice (void);
void test_cleanup (void);
void test_rapid_slice_changes (void);
void test_axial_only_label (void);
void test_raw_only_when_cleaned (void);
void test_toggles (void);
void test_fill_lanes (void);
void test_flips (void);
void test_views_and_planes (void);
void test_plane_range_before_slice (void);
void test_plane_keeps_prediction (void);

/* ui-window-panels.c */
void test_trust_panels (void);
void test_layout_holds_still (void);
void test_int8_nchw_greyed (void);
void test_initial_focus (void);
void test_bad_file (void);
void test_stop_before_fill (void);
void test_tooltips_hold_while_predicting (void);
void test_no_ground_truth (void);
void test_labels_without_regions (void);
void test_drop (void);

/* ui-window-layout.c */
void test_outline_opacity (void);
void test_narrow_window (void);
void test_strip_fits_before_case (void);
void test_laptop_fits (void);
void test_readout_fits (void);
void test_toolbar_keyboard (void);
void test_tab_reaches_options (void);
void test_slice_keys_anywhere (void);
void test_chart_click (void);
void test_case_row_names (void);
void test_truth_regions (void);
void test_spin_buttons (void);
void test_window_level_shown (void);

/* ui-window-models.c */
void test_failed_start_keeps_model (void);
void test_session_outlives_window (void);
void test_region_model (void);
void test_mnemonics_clear_of_shortcuts (void);
void test_recent_names (void);
void test_options_remembered (void);
void test_corrections_in_window (void);
void test_open_mask_in_window (void);
