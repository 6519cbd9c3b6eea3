/* What the session is doing: opening, building a plan (a pulsing bar),
 * predicting n / N, stopped, done (with the islands the clean-up removed),
 * and the Stop / Resume button that always holds its place. */
#pragma once

#include <gtk/gtk.h>

#include "bs-session.h"

G_BEGIN_DECLS

#define BS_TYPE_PROGRESS_ROW (bs_progress_row_get_type ())
G_DECLARE_FINAL_TYPE (BsProgressRow, bs_progress_row, BS, PROGRESS_ROW, GtkBox)

void bs_progress_row_set_session (BsProgressRow *self, BsSession *session);

G_END_DECLS
