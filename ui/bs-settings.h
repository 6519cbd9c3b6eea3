/* The application's GSettings, wherever its schema is. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* A new GSettings for io.github.brainseg.Brainseg, its schema found in
 * GSettings' own search path, the build tree (a program started straight from
 * build/app), the install prefix (a `meson install` into any prefix), or
 * beside the executable.  NULL when there is none anywhere: the caller then
 * works on the schema's defaults, and one line on stderr says so, once. */
GSettings *bs_settings_new (void);

G_END_DECLS
