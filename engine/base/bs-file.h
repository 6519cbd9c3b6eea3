/* Files written whole or not at all. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Writes data to a temporary file beside path and renames it over path, so a
 * failed write never leaves a partial file; the error (BS_EXPORT_ERROR_WRITE)
 * names the file. */
gboolean bs_file_write_atomic (const char *path, const void *data, gsize len, GError **error);
/* FALSE with an error naming path when path exists and is not a regular
 * file (or a link to one): a device such as /dev/null, a pipe or a socket.
 * Writing to a temporary name and renaming it over such a path would
 * replace the device itself (found with --out /dev/null). */
gboolean bs_file_check_replaceable (const char *path, GError **error);
/* The same file, whether or not both names exist (a name that does not
 * exist yet is compared as written, made absolute). */
gboolean bs_file_same (const char *a, const char *b);
/* path ends in ending, in any letter case (".nii.gz", ".PNG"). */
gboolean bs_file_name_ends (const char *path, const char *ending);

/* Why a file could not be written, in words a user reads and without the
 * temporary name GLib's message carries: for the usual G_FILE_ERROR codes
 * a translated phrase, else the error's own message. */
const char *bs_file_error_reason (const GError *error);

/* The deepest nesting of [ and { in JSON text (outside strings), looked at
 * before a parser sees it: json-glib recurses once per level, and a file of
 * a few hundred kilobytes of brackets overflowed the stack (fuzz finding).
 * len < 0: text is NUL-terminated. */
#define BS_JSON_MAX_DEPTH 256
int bs_json_depth (const char *text, gssize len);

G_END_DECLS
