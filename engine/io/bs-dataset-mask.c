/* A segmentation read onto a case's grid (bs_dataset_load_case_mask): the
 * window's "Open Mask…" and `brainseg-cli score`. */
#include <glib/gi18n.h>

#include "bs-dataset-private.h"
#include "bs-error.h"

/* The convention of a segmentation's values, where the user named none.
 * 0/1 is the whole tumour.  A 4 is BraTS 2015 (with a 3) or 2017-2021 (the
 * case's own where it is one of those).  A 3 without a 4 is a convention of
 * labels 1-3: Decathlon (1 edema, 2 non-enhancing, 3 enhancing) or BraTS 2023
 * (1 NCR, 2 ED, 3 ET): the case's own where it is one of them, else told
 * apart by edema, the largest class of most gliomas (1 in Decathlon, 2 in
 * BraTS 2023; walk finding: Brainseg's own Decathlon export was read as BraTS
 * 2015 on a BraTS 2015 case).  1 and 2 alone: the case's own convention where
 * they fit it, else the same.  Anything else: the whole tumour only. */
static BsLabelConvention
mask_convention (const BsVolume *mask, const char *path, BsLabelConvention case_convention)
{
  g_autofree int *values = NULL;
  g_autofree guint64 *counts = NULL;
  int n = bs_labels_count (mask, &values, &counts);
  guint64 count[5] = { 0 };
  gboolean other = FALSE, fits = FALSE;
  gboolean case_1_to_3 = case_convention == BS_LABELS_DECATHLON || case_convention == BS_LABELS_BRATS2023;

  for (int i = 0; i < n; i++)
    if (values[i] >= 0 && values[i] <= 4)
      count[values[i]] = counts[i];
    else
      other = TRUE;
  if (!other && count[2] == 0 && count[3] == 0 && count[4] == 0)
    return BS_LABELS_BINARY;
  if (bs_labels_has_region (case_convention, BS_REGION_TC)
      && bs_labels_check_values (mask, case_convention, path, &fits, NULL) && fits
      && (count[4] > 0 || count[3] == 0 || case_1_to_3))
    return case_convention;
  if (other)
    return BS_LABELS_UNKNOWN;
  if (count[4] > 0)
    return bs_labels_guess (mask);   /* BraTS 2015 or 2017-2021, as a case's own labels are told apart */
  return count[1] >= count[2] ? BS_LABELS_DECATHLON : BS_LABELS_BRATS2023;
}

BsVolume *
bs_dataset_load_case_mask (BsDataset *ds, guint i, const char *path, BsLabelConvention case_convention,
                           BsLabelConvention given, BsLabelConvention *convention, GError **error)
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
  if (given == BS_LABELS_UNKNOWN)
    *convention = mask_convention (c->label, path, case_convention);
  else
    {
      /* named by the user: its values must be of it (0/1 takes any label > 0 as tumour) */
      *convention = given;
      if (given != BS_LABELS_BINARY && !bs_labels_check_values (c->label, given, path, NULL, error))
        return NULL;
    }
  if (!ds->keep_grid && !bs_dataset_resample_fine (c, e->images[0], error))
    return NULL;
  return g_steal_pointer (&c->label);
}
