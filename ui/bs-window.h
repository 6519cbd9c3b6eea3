#pragma once

#include "bs-application.h"

G_BEGIN_DECLS

#define BS_TYPE_WINDOW (bs_window_get_type ())
G_DECLARE_FINAL_TYPE (BsWindow, bs_window, BS, WINDOW, GtkApplicationWindow)

BsWindow *bs_window_new (BsApplication *app);

G_END_DECLS
