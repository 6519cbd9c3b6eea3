/* Where the window's exports go and what they are called (bs-export-names.c). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Where a save dialog starts: the folder of the last export (of any kind,
 * from any dialog) while it exists, else the home folder.  Free with g_free. */
char *bs_export_start_folder (void);
/* Remembers path's folder as where the next save dialog starts. */
void bs_export_remember_folder (const char *path);

/* path with ext (".png") appended when it does not end in it already; a
 * path that ends in another export's extension (".nii.gz", ".nii", ".png",
 * ".csv") has it replaced by ext ("x.nii.gz" -> "x.png"). */
char *bs_export_add_extension (const char *path, const char *ext);

/* named (the typed path with its extension) when it may be written; NULL
 * when it differs from the typed path and exists already, with an error
 * shown over parent (the save dialog asked about the name typed only). */
char *bs_export_resolve_typed_name (GtkWindow *parent, const char *path, const char *named);

G_END_DECLS
