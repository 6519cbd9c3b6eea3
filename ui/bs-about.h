/* The About dialog: version, authors, the code's licence and the licences of
 * the data the shipped model was trained on. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* A new About dialog, transient for parent, not yet shown. */
GtkWidget *bs_about_dialog_new (GtkWindow *parent);
/* Creates and presents it. */
void bs_about_show (GtkWindow *parent);
/* The licence text the dialog shows (translated; free with g_free). */
char *bs_about_licence_text (void);

G_END_DECLS
