#include "test-util.h"

#include <glib/gstdio.h>

void
bs_test_remove_tree (const char *path)
{
  g_autoptr(GDir) d = NULL;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_unlink (path);
      return;
    }
  d = g_dir_open (path, 0, NULL);
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      bs_test_remove_tree (child);
    }
  g_rmdir (path);
}

int
bs_test_slice_count (const BsVolume *vol, int c, BsPlane plane, int slice)
{
  int w, h, on = 0;
  g_autofree float *buf = NULL;

  bs_volume_slice_size (vol, plane, &w, &h);
  buf = g_new (float, (gsize) w * h);
  bs_volume_get_slice (vol, c, plane, slice, buf);
  for (gsize p = 0; p < (gsize) w * h; p++)
    on += buf[p] > 0.5f;
  return on;
}

int
bs_test_fullest_slice (const BsVolume *vol, int c, BsPlane plane, int *count)
{
  int n = bs_volume_n_slices (vol, plane), w, h, best = -1, best_on = 0;
  g_autofree float *buf = NULL;

  bs_volume_slice_size (vol, plane, &w, &h);
  buf = g_new (float, (gsize) w * h);
  for (int k = 0; k < n; k++)
    {
      int on = 0;

      bs_volume_get_slice (vol, c, plane, k, buf);
      for (gsize p = 0; p < (gsize) w * h; p++)
        on += buf[p] > 0.5f;
      if (on > best_on)
        best_on = on, best = k;
    }
  if (count != NULL)
    *count = best_on;
  return best;
}

char *
bs_test_make_tmp_dir (const char *tmpl)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp (tmpl, &error);

  g_assert_no_error (error);
  return dir;
}
