/* The Intel tutorials' preprocessed HDF5 (imgs_train, imgs_validation,
 * imgs_testing and their msks_*, N x H x W x C float32) as a dataset whose
 * cases are those stacks (bs-dataset.c opens every other layout). */
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "bs-dataset.h"
#include "bs-dataset-private.h"
#include "bs-error.h"
#include "bs-h5.h"

static const char *const h5_splits[] = { "imgs_train", "imgs_validation", "imgs_testing" };

static gboolean
h5_dataset_shape (hid_t file, const char *name, int *rank, hsize_t dims[4])
{
  if (H5Lexists (file, name, H5P_DEFAULT) <= 0)
    return FALSE;
  hid_t ds = H5Dopen2 (file, name, H5P_DEFAULT);
  if (ds < 0)
    return FALSE;
  hid_t space = H5Dget_space (ds);
  int r = space >= 0 ? H5Sget_simple_extent_ndims (space) : -1;
  if (r >= 0 && r <= 4)
    H5Sget_simple_extent_dims (space, dims, NULL);
  *rank = r;
  if (space >= 0)
    H5Sclose (space);
  H5Dclose (ds);
  return r >= 0;
}

gboolean
bs_dataset_is_hdf5_file (const char *path)
{
  return bs_h5_file_has_signature (path);
}

static BsDataset *
open_hdf5_quietly (const char *path, GError **error)
{
  g_autoptr(BsDataset) ds = bs_dataset_new_empty (BS_DATASET_HDF5, path);
  hid_t file;

  file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    {
      /* (it starts with HDF5's signature: bs_dataset_open looked) */
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT,
                   _("%s: an HDF5 file that is truncated or damaged (HDF5 cannot open it)"), path);
      return NULL;
    }
  for (gsize s = 0; s < G_N_ELEMENTS (h5_splits); s++)
    {
      hsize_t dims[4] = { 0 }, mdims[4] = { 0 };
      int rank = 0, mrank = 0;
      if (!h5_dataset_shape (file, h5_splits[s], &rank, dims))
        continue;
      if (rank != 4)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s: dataset %s has rank %d; expected 4 (slices x height x width x channels)"), path,
                       h5_splits[s], rank);
          H5Fclose (file);
          return NULL;
        }
      for (int d = 0; d < 4; d++)
        if (dims[d] == 0 || dims[d] > G_MAXINT)
          {
            g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: dataset %s has an empty or absurd shape"),
                         path, h5_splits[s]);
            H5Fclose (file);
            return NULL;
          }
      g_autofree char *mask = g_strdup_printf ("msks_%s", h5_splits[s] + 5);
      gboolean has_mask = h5_dataset_shape (file, mask, &mrank, mdims);
      if (has_mask && (mrank != 4 || mdims[0] != dims[0] || mdims[1] != dims[1] || mdims[2] != dims[2]))
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s: %s does not match %s (expected %llu x %llu x %llu x 1)"), path, mask,
                       h5_splits[s], (unsigned long long) dims[0], (unsigned long long) dims[1],
                       (unsigned long long) dims[2]);
          H5Fclose (file);
          return NULL;
        }
      CaseEntry *e = g_new0 (CaseEntry, 1);
      e->id = g_strdup (h5_splits[s]);
      e->h5_images = g_strdup (h5_splits[s]);
      e->h5_masks = has_mask ? g_steal_pointer (&mask) : NULL;
      e->convention = BS_LABELS_BINARY;
      g_ptr_array_add (ds->cases, e);
    }
  H5Fclose (file);
  if (ds->cases->len == 0)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                   _("%s: HDF5 file without imgs_train, imgs_validation or imgs_testing datasets"), path);
      return NULL;
    }
  return g_steal_pointer (&ds);
}

BsDataset *
bs_dataset_open_hdf5 (const char *path, GError **error)
{
  BsH5Quiet quiet;
  BsDataset *ds;

  bs_h5_quiet_begin (&quiet);
  ds = open_hdf5_quietly (path, error);
  bs_h5_quiet_end (&quiet);
  return ds;
}

static BsVolume *
h5_read_stack_quietly (const char *path, const char *name, gboolean as_label, GError **error)
{
  hid_t file, ds = -1, space = -1;
  hsize_t dims[4] = { 0 };
  BsVolume *vol = NULL;
  float *raw = NULL;

  file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0 || (ds = H5Dopen2 (file, name, H5P_DEFAULT)) < 0 || (space = H5Dget_space (ds)) < 0 ||
      H5Sget_simple_extent_ndims (space) != 4)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: cannot read dataset %s as a 4D array"), path,
                   name);
      goto out;
    }
  H5Sget_simple_extent_dims (space, dims, NULL);
  guint64 total = (guint64) dims[0] * dims[1] * dims[2] * dims[3];
  if (dims[3] > 64)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE, _("%s: dataset %s has %llu channels; at most 64 are read"),
                   path, name, (unsigned long long) dims[3]);
      goto out;
    }
  if (total == 0 || total > ((guint64) 1 << 31))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE, _("%s: dataset %s is too large (%llu values)"), path,
                   name, (unsigned long long) total);
      goto out;
    }
  vol = bs_volume_new_uninitialized ((int) dims[2], (int) dims[1], (int) dims[0], (int) dims[3]);
  if (vol == NULL)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE, _("%s: not enough memory for dataset %s"), path,
                   name);
      goto out;
    }
  /* Slices are read a block at a time into a small buffer and scattered to
   * the channel-major layout, so a multi-gigabyte split is never held twice. */
  gsize plane = (gsize) dims[1] * dims[2];
  int nc = (int) dims[3];
  hsize_t block = MAX ((hsize_t) 1, MIN (dims[0], (hsize_t) ((16u << 20) / (plane * nc * sizeof (float)))));
  raw = g_try_new (float, block * plane * nc);
  if (raw == NULL)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE, _("%s: not enough memory for dataset %s"), path,
                   name);
      g_clear_pointer (&vol, bs_volume_free);
      goto out;
    }
  gsize nvox = bs_volume_n_voxels (vol);
  for (hsize_t first = 0; first < dims[0]; first += block)
    {
      hsize_t count[4] = { MIN (block, dims[0] - first), dims[1], dims[2], dims[3] };
      hsize_t start[4] = { first, 0, 0, 0 };
      hid_t mem = H5Screate_simple (4, count, NULL);
      herr_t st = H5Sselect_hyperslab (space, H5S_SELECT_SET, start, NULL, count, NULL);
      if (st >= 0)
        st = H5Dread (ds, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, raw);
      H5Sclose (mem);
      if (st < 0)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT, _("%s: reading dataset %s failed"), path, name);
          g_clear_pointer (&vol, bs_volume_free);
          goto out;
        }
      gsize base = (gsize) first * plane, n = (gsize) count[0] * plane;
      for (gsize v = 0; v < n; v++)
        for (int c = 0; c < nc; c++)
          {
            float f = raw[v * nc + c];
            if (!isfinite (f))
              {
                f = 0.0f;
                vol->n_nonfinite++;
              }
            vol->data[(gsize) c * nvox + base + v] = f;
          }
    }
  /* The stored slices are 2D images already (row 0 first); an LPS affine
   * makes the axial view show each one exactly as stored. */
  vol->affine[0][0] = -1.0;
  vol->affine[1][1] = -1.0;
  vol->is_label = as_label;
  vol->path = g_strdup (path);
out:
  g_free (raw);
  if (space >= 0)
    H5Sclose (space);
  if (ds >= 0)
    H5Dclose (ds);
  if (file >= 0)
    H5Fclose (file);
  return vol;
}

/* Reads an N x H x W x C float32 dataset into a volume (x = W, y = H, z = N). */
BsVolume *
bs_dataset_h5_read_stack (const char *path, const char *name, gboolean as_label, GError **error)
{
  BsH5Quiet quiet;
  BsVolume *vol;

  bs_h5_quiet_begin (&quiet);
  vol = h5_read_stack_quietly (path, name, as_label, error);
  bs_h5_quiet_end (&quiet);
  return vol;
}

