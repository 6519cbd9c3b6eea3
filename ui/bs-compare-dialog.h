/* BsCompareDialog: runs "Compare all" on the session's case in a worker
 * thread, fills a BsCompareChart as configurations finish, and exports the
 * chart as PNG and the numbers as CSV. */
#pragma once

#include <gtk/gtk.h>

#include "bs-compare.h"
#include "bs-session.h"

G_BEGIN_DECLS

#define BS_TYPE_COMPARE_DIALOG (bs_compare_dialog_get_type ())
G_DECLARE_FINAL_TYPE (BsCompareDialog, bs_compare_dialog, BS, COMPARE_DIALOG, GtkWindow)

/* A new dialog (over parent) for the session's case; the run starts when it is shown. */
BsCompareDialog *bs_compare_dialog_new (GtkWindow *parent, BsSession *session);

/* Slices per configuration (default 6, at most 6); call before showing. */
void bs_compare_dialog_set_n_slices (BsCompareDialog *self, int n_slices);
/* NULL until the run has finished. */
const BsCompareResult *bs_compare_dialog_get_result (BsCompareDialog *self);
gboolean bs_compare_dialog_is_running (BsCompareDialog *self);
/* Running, but waiting for the window's own inference to finish before the
 * first timing (it would share the CPU). */
gboolean bs_compare_dialog_is_waiting (BsCompareDialog *self);
/* The status line under the chart, as shown. */
const char *bs_compare_dialog_get_status_text (BsCompareDialog *self);
/* The chart, for screenshots and tests. */
GtkWidget *bs_compare_dialog_get_chart (BsCompareDialog *self);

G_END_DECLS
