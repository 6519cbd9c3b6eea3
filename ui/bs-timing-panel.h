/* The Timing section: a steady ms/slice of the network (the median of the
 * last runs), the last run's stages and slowest layers, the plan, the inputs
 * and the CPU.  Its rows hold their height so the controls below never move. */
#pragma once

#include <gtk/gtk.h>

#include "bs-session.h"

G_BEGIN_DECLS

#define BS_TYPE_TIMING_PANEL (bs_timing_panel_get_type ())
G_DECLARE_FINAL_TYPE (BsTimingPanel, bs_timing_panel, BS, TIMING_PANEL, GtkBox)

void bs_timing_panel_set_session (BsTimingPanel *self, BsSession *session);
/* Time the window took to draw the last slice (the "Render" row). */
void bs_timing_panel_set_render_ms (BsTimingPanel *self, double ms);
const char *bs_timing_panel_get_speed_text (BsTimingPanel *self);

G_END_DECLS
