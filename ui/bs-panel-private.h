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

/* gtk_widget_set_tooltip_text, only when the text changes (an empty text is
 * none): every call re-queries the tooltip under the pointer, and panels
 * that update on every slice kept any tooltip in the window from showing
 * while a volume was predicted (walk finding). */
static inline void
bs_widget_set_tooltip (GtkWidget *widget, const char *text)
{
  if (text != NULL && *text == '\0')
    text = NULL;
  if (g_strcmp0 (gtk_widget_get_tooltip_text (widget), text) != 0)
    gtk_widget_set_tooltip_text (widget, text);
}

G_END_DECLS
