/* The case list: the open dataset's name, a filter, one row per case with its
 * whole-volume Dice once known, and the research-use line.  Choosing a row
 * loads that case into the session. */
#pragma once

#include <gtk/gtk.h>

#include "bs-session.h"

G_BEGIN_DECLS

#define BS_TYPE_CASE_SIDEBAR (bs_case_sidebar_get_type ())
G_DECLARE_FINAL_TYPE (BsCaseSidebar, bs_case_sidebar, BS, CASE_SIDEBAR, GtkBox)

void bs_case_sidebar_set_session (BsCaseSidebar *self, BsSession *session);

G_END_DECLS
