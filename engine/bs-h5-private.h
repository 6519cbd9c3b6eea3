/* HDF5 helpers shared by the weights file (bs-unet.c) and the training state
 * (bs-train-state.c).  Not installed; the public headers stay free of hdf5.h. */
#pragma once

#include <glib.h>
#include <hdf5.h>

G_BEGIN_DECLS

/* A new dataset name under loc of rank x dims values of file_type, written
 * from data (mem_type); FALSE on any HDF5 failure. */
gboolean bs_h5_write_dataset (hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int rank,
                              const hsize_t *dims, const void *data);

G_END_DECLS
