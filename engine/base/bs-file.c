#include <glib/gi18n.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "bs-error.h"
#include "bs-file.h"

const char *
bs_file_error_reason (const GError *error)
{
  if (error->domain == G_FILE_ERROR)
    switch (error->code)
      {
      case G_FILE_ERROR_NOENT:
      case G_FILE_ERROR_NOTDIR:
        return _("the folder does not exist or does not accept new files");
      case G_FILE_ERROR_ACCES:
      case G_FILE_ERROR_PERM:
        return _("permission denied");
      case G_FILE_ERROR_ROFS:
        return _("the file system is read-only");
      case G_FILE_ERROR_NOSPC:
        return _("the disk is full");
      case G_FILE_ERROR_ISDIR:
        return _("a folder has that name");
      case G_FILE_ERROR_NAMETOOLONG:
        return _("the name is too long");
      default:
        break;
      }
  return error->message;
}

gboolean
bs_file_check_replaceable (const char *path, GError **error)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0 || S_ISREG (st.st_mode) || S_ISDIR (st.st_mode))
    return TRUE;   /* absent, a file, or a folder (refused with its own words by the callers) */
  g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE,
               _("Cannot write “%s”: it is a device, pipe or socket, not a file; give the name of a file"), path);
  return FALSE;
}

gboolean
bs_file_write_atomic (const char *path, const void *data, gsize len, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (!bs_file_check_replaceable (path, error))
    return FALSE;
  /* CONSISTENT: written to a temporary file beside the target and renamed,
   * and the temporary file is removed when anything fails. */
  if (!g_file_set_contents_full (path, data, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local))
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE,
                   _("Could not write “%s”: %s"), path, bs_file_error_reason (local));
      return FALSE;
    }
  return TRUE;
}

int
bs_json_depth (const char *text, gssize len)
{
  gsize n = len < 0 ? strlen (text) : (gsize) len;
  int depth = 0, deepest = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < n; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (c == '\\')
            i++;   /* the escaped character cannot end the string */
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          depth++;
          deepest = MAX (deepest, depth);
        }
      else if ((c == ']' || c == '}') && depth > 0)
        depth--;
    }
  return deepest;
}

gboolean
bs_file_name_ends (const char *path, const char *ending)
{
  gsize n = strlen (path), k = strlen (ending);

  return n >= k && g_ascii_strcasecmp (path + n - k, ending) == 0;
}

gboolean
bs_file_same (const char *a, const char *b)
{
  GStatBuf sa, sb;
  g_autofree char *ca = NULL, *cb = NULL;

  if (g_stat (a, &sa) == 0 && g_stat (b, &sb) == 0)
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  ca = g_canonicalize_filename (a, NULL);
  cb = g_canonicalize_filename (b, NULL);
  return g_strcmp0 (ca, cb) == 0;
}
