/* The Optimisations section: precision, layout, fused operations, threads,
 * batch, per-layer times, island clean-up, crop to brain, test-time flips and
 * Compare all.  The toggles and switches are win.* property actions on the
 * session's options; combinations that cannot run are greyed with the reason. */
#pragma once

#include <gtk/gtk.h>

#include "bs-session.h"

G_BEGIN_DECLS

#define BS_TYPE_OPTIONS_PANEL (bs_options_panel_get_type ())
G_DECLARE_FINAL_TYPE (BsOptionsPanel, bs_options_panel, BS, OPTIONS_PANEL, GtkBox)

void bs_options_panel_set_session (BsOptionsPanel *self, BsSession *session);

G_END_DECLS
