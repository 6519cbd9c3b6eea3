/* A segmentation read onto a case's grid (bs_dataset_load_case_mask): the
 * window's "Open Mask…" and `brainseg-cli score`. */
#include <glib/gi18n.h>

#include "bs-dataset-private.h"
#include "bs-error.h"

/* The convention of a segmentation's values: 0/1 is the whole tumour; then
 * the case's own, the values' guess, else unknown (whole tumour only). */
static BsLabelConvention
mask_convention (const BsVolume *mask, const char *path, BsLabelConvention case_convention)
{
  const BsLabelConvention tries[] = { case_convention, bs_labels_guess (mask) };
  int *values = NULL;
  guint64 *counts = NULL;
  int n = bs_labels_count (mask, &values, &counts);
  gboolean binary = n == 0 || values[n - 1] <= 1;

  g_free (values);
  g_free (counts);
  if (binary)
    return BS_LABELS_BINARY;
  for (guint k = 0; k < G_N_ELEMENTS (tries); k++)
    {
      gboolean fits = FALSE;

      if (bs_labels_has_region (tries[k], BS_REGION_TC)
          && bs_labels_check_values (mask, tries[k], path, &fits, NULL) && fits)
        return tries[k];
    }
  return BS_LABELS_UNKNOWN;
}

BsVolume *
bs_dataset_load_case_mask (BsDataset *ds, guint i, const char *path, BsLabelConvention case_convention,
                           BsLabelConvention *convention, GError **error)
{
  const CaseEntry *e;
  g_autoptr(BsCase) c = NULL;
  char *first[2] = { NULL, NULL };
  CaseEntry one = { 0 };

  g_return_val_if_fail (ds != NULL && path != NULL && convention != NULL, NULL);
  if (i >= ds->cases->len)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_NOT_FOUND, _("%s: no case %u"), ds->path, i);
      return NULL;
    }
  e = g_ptr_array_index (ds->cases, i);
  if (ds->kind == BS_DATASET_HDF5 || e->images == NULL || e->images[0] == NULL)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_UNSUPPORTED,
                   _("%s: a mask file goes with a case read from NIfTI files, not with %s"), path, ds->path);
      return NULL;
    }
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_NOT_FOUND, _("%s: no such mask file"), path);
      return NULL;
    }
  /* The grid and voxel order of the case's first file: what its label is checked against. */
  first[0] = e->images[0];
  one.id = e->id;
  one.images = first;
  one.label = (char *) path;
  one.convention = BS_LABELS_UNKNOWN;
  c = g_new0 (BsCase, 1);
  c->convention = BS_LABELS_UNKNOWN;
  c->image = bs_dataset_read_images (&one, error);
  if (c->image == NULL || !bs_dataset_read_nifti_label (&one, FALSE, c, error))
    return NULL;
  *convention = mask_convention (c->label, path, case_convention);
  if (!ds->keep_grid && !bs_dataset_resample_fine (c, e->images[0], error))
    return NULL;
  return g_steal_pointer (&c->label);
}
