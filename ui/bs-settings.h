/* The application's GSettings, wherever its schema is. */
#pragma once

#include <gio/gio.h>

#include "bs-overlay.h"
#include "bs-plan.h"

G_BEGIN_DECLS

/* A new GSettings for io.github.brainseg.Brainseg, its schema found in
 * GSettings' own search path, the build tree (a program started straight from
 * build/app), the install prefix (a `meson install` into any prefix), or
 * beside the executable.  NULL when there is none anywhere: the caller then
 * works on the schema's defaults, and one line on stderr says so, once. */
GSettings *bs_settings_new (void);

/* The window's choices, remembered from one start to the next: the plan
 * options the Optimisation panel sets (precision, layout, fusion, threads,
 * batch, lanes, the brain's window, flips, three planes, int8's ranges,
 * per-layer times) and how masks are drawn (fill or outline, opacity).
 * Read fills opts and ov from settings (which may be NULL: then they are left
 * as they are); a precision this CPU cannot run is left as it was.  Write
 * sets only the keys whose value changed. */
void bs_settings_read_options (GSettings *settings, BsPlanOptions *opts, BsOverlayOptions *ov);
void bs_settings_write_plan_options (GSettings *settings, const BsPlanOptions *opts);
void bs_settings_write_overlay (GSettings *settings, const BsOverlayOptions *ov);

G_END_DECLS
