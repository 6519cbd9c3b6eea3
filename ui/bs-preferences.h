/* BsPreferences: the settings window, every control bound to GSettings. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define BS_TYPE_PREFERENCES (bs_preferences_get_type ())
G_DECLARE_FINAL_TYPE (BsPreferences, bs_preferences, BS, PREFERENCES, GtkWindow)

GtkWidget *bs_preferences_new (GtkWindow *parent);

G_END_DECLS
