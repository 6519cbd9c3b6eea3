#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define BS_APPLICATION_ID "io.github.brainseg.Brainseg"
#define BS_TYPE_APPLICATION (bs_application_get_type ())
G_DECLARE_FINAL_TYPE (BsApplication, bs_application, BS, APPLICATION, GtkApplication)

BsApplication *bs_application_new (void);

G_END_DECLS
