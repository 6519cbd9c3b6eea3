/* Cases whose voxels are finer than the model learned from, resampled on
 * load (bs_dataset_set_resample). */
#include <glib/gi18n.h>
#include <math.h>

#include "bs-dataset-private.h"
#include "bs-error.h"

/* Voxels finer than the model learned from: the case resampled to about
 * 1 mm along those axes (bs_dataset_set_resample). */
gboolean
bs_dataset_resample_fine (BsCase *c, const char *file, GError **error)
{
  int dims[3];
  gboolean any = FALSE;
  g_autoptr(BsVolume) image = NULL, label = NULL;

  for (int a = 0; a < 3; a++)
    {
      double mm = c->image->spacing[a] * c->image->dims[a];

      dims[a] = c->image->dims[a];
      if (c->image->spacing[a] < BS_DATASET_FINE_VOXEL_MM && c->image->dims[a] > 1)
        {
          dims[a] = MAX (1, (int) floor (mm + 0.5));
          any = TRUE;
        }
    }
  if (!any)
    return TRUE;
  image = bs_volume_rescale (c->image, dims, FALSE);
  if (image == NULL || (c->label != NULL && (label = bs_volume_rescale (c->label, dims, TRUE)) == NULL))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: out of memory to resample the case to 1 mm voxels"),
                   file);
      return FALSE;
    }
  image->n_nonfinite = c->image->n_nonfinite;
  bs_volume_free (c->image);
  c->image = g_steal_pointer (&image);
  if (c->label != NULL)
    {
      bs_volume_free (c->label);
      c->label = g_steal_pointer (&label);
    }
  return TRUE;
}

void
bs_dataset_set_resample (BsDataset *ds, gboolean on)
{
  g_return_if_fail (ds != NULL);
  ds->keep_grid = !on;
}
