/* BsCompareChart: horizontal bars of ms/slice for every inference
 * configuration of a "Compare all" run, each labelled with its Dice
 * difference against the fp32 reference.  The same drawing renders to PNG. */
#pragma once

#include <gtk/gtk.h>

#include "bs-compare.h"

G_BEGIN_DECLS

#define BS_TYPE_COMPARE_CHART (bs_compare_chart_get_type ())
G_DECLARE_FINAL_TYPE (BsCompareChart, bs_compare_chart, BS, COMPARE_CHART, GtkWidget)

GtkWidget *bs_compare_chart_new (void);

/* Starts a chart of pending rows (bs_compare_result_new_pending, with the
 * size and slice count filled in); takes ownership.  Rows arrive as they finish. */
void bs_compare_chart_begin (BsCompareChart *self, BsCompareResult *pending);
/* Sets row i (copied) while a run is in progress. */
void bs_compare_chart_set_row (BsCompareChart *self, int i, const BsCompareRow *row);
/* The finished run; the chart takes ownership. */
void bs_compare_chart_set_result (BsCompareChart *self, BsCompareResult *result);
const BsCompareResult *bs_compare_chart_get_result (BsCompareChart *self);

/* Draws a result into cr (width x height, white background). */
void bs_compare_chart_draw (const BsCompareResult *result, cairo_t *cr, int width, int height);
/* The chart as a PNG of width x height pixels, written atomically. */
gboolean bs_compare_chart_save_png (const BsCompareResult *result, int width, int height,
                                    const char *path, GError **error);

G_END_DECLS
