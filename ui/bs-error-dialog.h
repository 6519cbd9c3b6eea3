/* The one error dialog: a title saying what failed, the error's message
 * (which names the file and the problem) under it. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

void bs_show_error (GtkWindow *parent, const char *title, const GError *error);

G_END_DECLS
