/* The "session" property every panel has: set once by the window, the panel
 * then follows the session through a GSignalGroup. */
#pragma once

#include <gtk/gtk.h>

#include "bs-session.h"

G_BEGIN_DECLS

#define BS_PANEL_SESSION_PSPEC() \
  g_param_spec_object ("session", NULL, NULL, BS_TYPE_SESSION, \
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY)

/* "Axial", "Coronal", "Sagittal", translated. */
const char *bs_plane_label (BsPlane plane);

G_END_DECLS
