/* BsPreferences: the settings window, every control bound to GSettings. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define BS_TYPE_PREFERENCES (bs_preferences_get_type ())
G_DECLARE_FINAL_TYPE (BsPreferences, bs_preferences, BS, PREFERENCES, GtkWindow)

GtkWidget *bs_preferences_new (GtkWindow *parent);
/* What the window says under the model path typed (no such file, not a
 * model), or NULL when it says nothing. */
const char *bs_preferences_get_model_hint (BsPreferences *self);

G_END_DECLS
