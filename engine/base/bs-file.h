/* Files written whole or not at all. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes data to a temporary file beside path and renames it over path, so a
 * failed write never leaves a partial file; the error (BS_EXPORT_ERROR_WRITE)
 * names the file. */
gboolean bs_file_write_atomic (const char *path, const void *data, gsize len, GError **error);

/* Why a file could not be written, in words a user reads and without the
 * temporary name GLib's message carries: for the usual G_FILE_ERROR codes
 * a translated phrase, else the error's own message. */
const char *bs_file_error_reason (const GError *error);

G_END_DECLS
