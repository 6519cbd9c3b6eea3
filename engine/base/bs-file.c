#include <glib/gi18n.h>

#include "bs-error.h"
#include "bs-file.h"

gboolean
bs_file_write_atomic (const char *path, const void *data, gsize len, GError **error)
{
  g_autoptr(GError) local = NULL;

  /* CONSISTENT: written to a temporary file beside the target and renamed,
   * and the temporary file is removed when anything fails. */
  if (!g_file_set_contents_full (path, data, (gssize) len, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &local))
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE,
                   _("Could not write “%s”: %s"), path, local->message);
      return FALSE;
    }
  return TRUE;
}
