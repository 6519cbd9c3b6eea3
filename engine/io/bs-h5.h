/* HDF5 helpers shared by the dataset reader (HDF5 stacks), the weights file
 * and the training state.  Not installed; the public headers stay free of
 * hdf5.h. */
#pragma once

#include <glib.h>
#include <hdf5.h>

G_BEGIN_DECLS

/* HDF5 prints its own error stack on stderr by default; Brainseg's GError says
 * it better, once.  Printing is silenced only between begin and end, and end
 * restores whatever handler was installed before (the caller's, or HDF5's). */
typedef struct {
  H5E_auto2_t func;
  void *data;
} BsH5Quiet;

void bs_h5_quiet_begin (BsH5Quiet *q);
void bs_h5_quiet_end (BsH5Quiet *q);

/* The file starts with HDF5's 8-byte signature (it need not open: a truncated
 * file starts with it too). */
gboolean bs_h5_file_has_signature (const char *path);

/* TRUE when every component of the '/'-separated path exists under loc
 * (H5Lexists fails rather than says no when an intermediate group is missing). */
gboolean bs_h5_link_exists (hid_t loc, const char *path);

/* A new dataset name under loc of rank x dims values of file_type, written
 * from data (mem_type); FALSE on any HDF5 failure. */
gboolean bs_h5_write_dataset (hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                              const hsize_t *dims, const void *data);

G_END_DECLS
