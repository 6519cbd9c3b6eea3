/* What is shown and how: side by side or overlay, the plane, the modality in
 * the MRI pane, mask opacity and style, reset view.  Wraps onto a second row
 * in a narrow window. */
#pragma once

#include <gtk/gtk.h>

#include "bs-session.h"

G_BEGIN_DECLS

#define BS_TYPE_VIEW_TOOLBAR (bs_view_toolbar_get_type ())
G_DECLARE_FINAL_TYPE (BsViewToolbar, bs_view_toolbar, BS, VIEW_TOOLBAR, GtkBox)

void bs_view_toolbar_set_session (BsViewToolbar *self, BsSession *session);

G_END_DECLS
