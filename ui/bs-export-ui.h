/* Connects the window's export and Compare-all actions to the export
 * branch's dialogs (see bs_window_register_action_hook). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Call once at application start-up, before windows exist. */
void bs_export_ui_register (void);

G_END_DECLS
