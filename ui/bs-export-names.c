/* Where the window's exports go and what they are called: the folder the
 * save dialogs start in, and the extension a typed name gets. */
#include "bs-export-names.h"
#include "bs-export-dialog.h"
#include "bs-error-dialog.h"

#include <glib/gi18n.h>
#include <string.h>

#include "bs-error.h"

/* Where the last export of this run of the program went. */
static char *last_folder;

char *
bs_export_start_folder (void)
{
  return g_strdup (last_folder != NULL && g_file_test (last_folder, G_FILE_TEST_IS_DIR) ? last_folder
                                                                                     : g_get_home_dir ());
}

void
bs_export_remember_folder (const char *path)
{
  g_free (last_folder);
  last_folder = g_path_get_dirname (path);
}

/* The first n bytes of path, then ext. */
static char *
concat_stem (const char *path, gsize n, const char *ext)
{
  g_autofree char *stem = g_strndup (path, n);

  return g_strconcat (stem, ext, NULL);
}

char *
bs_export_add_extension (const char *path, const char *ext)
{
  /* The other kinds' extensions: a name that ends in one of them was meant
   * for this file with the wrong kind's extension, and gets this one in its
   * place (walk finding: a PNG named "x.nii.gz" became "x.nii.gz.png"). */
  static const char *const others[] = { ".nii.gz", ".nii", ".png", ".csv" };
  g_autofree char *lower = g_ascii_strdown (path, -1);
  g_autofree char *base = g_path_get_basename (lower);

  if (g_str_has_suffix (lower, ext))
    return g_strdup (path);
  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    if (g_str_has_suffix (base, others[i]) && strlen (base) > strlen (others[i]))
      return concat_stem (path, strlen (path) - strlen (others[i]), ext);
  return g_strconcat (path, ext, NULL);
}

char *
bs_export_resolve_typed_name (GtkWindow *parent, const char *path, const char *named)
{
  /* The dialog asked before replacing the name as typed, not this one. */
  /* (A folder of that name is refused later, by the destination check.) */
  if (g_strcmp0 (named, path) != 0 && g_file_test (named, G_FILE_TEST_EXISTS)
      && !g_file_test (named, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *base = g_path_get_basename (named);
      g_autoptr(GError) error = g_error_new (BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE,
                                             _("“%s” already exists. To replace it, choose it with its extension; "
                                               "otherwise choose another name."), base);

      bs_show_error (parent, _("Export failed"), error);
      return NULL;
    }
  return g_strdup (named);
}

/* The name a user typed, with the file type's extension when it has none
 * (walk finding: "mymask" was written as a NIfTI file no viewer opens by
 * name).  A series is a folder and keeps its name. */
char *
bs_export_name_for_kind (BsExportKind kind, const char *path)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);
  const char *ext;

  switch (kind)
    {
    case BS_EXPORT_KIND_FIGURE:
    case BS_EXPORT_KIND_OVERLAY:
      ext = ".png";
      break;
    case BS_EXPORT_KIND_MASK:
      if (g_str_has_suffix (lower, ".nii") || g_str_has_suffix (lower, ".nii.gz"))
        return g_strdup (path);
      if (g_str_has_suffix (lower, ".gz"))   /* "mask.gz": compressed NIfTI meant */
        {
          g_autofree char *stem = g_strndup (path, strlen (path) - 3);

          return g_strconcat (stem, ".nii.gz", NULL);
        }
      ext = ".nii.gz";
      break;
    case BS_EXPORT_KIND_DICE_CSV:
      ext = ".csv";
      break;
    case BS_EXPORT_KIND_SERIES:
    default:
      return g_strdup (path);
    }
  return bs_export_add_extension (path, ext);
}
