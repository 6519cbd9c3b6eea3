/* What the session is doing: opening, building a plan (a pulsing bar),
 * predicting n / N, stopped, done (with what the clean-up did: islands
 * removed, the core filled and trimmed),
 * and the Stop / Resume button that always holds its place. */
#pragma once

#include <gtk/gtk.h>

#include "bs-session.h"

G_BEGIN_DECLS

#define BS_TYPE_PROGRESS_ROW (bs_progress_row_get_type ())
G_DECLARE_FINAL_TYPE (BsProgressRow, bs_progress_row, BS, PROGRESS_ROW, GtkBox)

void bs_progress_row_set_session (BsProgressRow *self, BsSession *session);
/* A line for the user (an export saved, say) in place of the progress text,
 * until the session starts something new or ten seconds pass: nothing above
 * the views moves for it. */
void bs_progress_row_show_message (BsProgressRow *self, const char *text);

G_END_DECLS
