#include "bs-h5.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

gboolean
bs_h5_file_has_signature (const char *path)
{
  static const guint8 sig[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
  guint8 head[8] = { 0 };
  FILE *f = g_fopen (path, "rb");
  gboolean ok = FALSE;

  if (f)
    {
      ok = fread (head, 1, 8, f) == 8 && memcmp (head, sig, 8) == 0;
      fclose (f);
    }
  return ok;
}

void
bs_h5_quiet_begin (BsH5Quiet *q)
{
  H5Eget_auto2 (H5E_DEFAULT, &q->func, &q->data);
  H5Eset_auto2 (H5E_DEFAULT, NULL, NULL);
}

void
bs_h5_quiet_end (BsH5Quiet *q)
{
  H5Eset_auto2 (H5E_DEFAULT, q->func, q->data);
}

gboolean
bs_h5_link_exists (hid_t loc, const char *path)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);
  GString *prefix = g_string_new (NULL);
  gboolean ok = TRUE;

  for (int i = 0; parts[i] && ok; i++)
    {
      if (prefix->len)
        g_string_append_c (prefix, '/');
      g_string_append (prefix, parts[i]);
      ok = H5Lexists (loc, prefix->str, H5P_DEFAULT) > 0;
    }
  g_string_free (prefix, TRUE);
  return ok;
}

gboolean
bs_h5_write_dataset (hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank, const hsize_t *dims,
                     const void *data)
{
  hid_t space = H5Screate_simple (rank, dims, NULL);
  hid_t ds = space >= 0 ? H5Dcreate2 (loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
  herr_t st = -1;

  if (ds >= 0)
    {
      st = H5Dwrite (ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
      H5Dclose (ds);
    }
  if (space >= 0)
    H5Sclose (space);
  return st >= 0;
}
