/* What bs-dataset.c and bs-dataset-h5.c share, and nothing else needs. */
#pragma once

#include <glib.h>

#include "bs-dataset.h"
#include "bs-labels.h"
#include "bs-volume.h"

typedef struct {
  char *id;
  char **images;        /* one 4D file, or one file per channel */
  char **channel_names; /* names of the channels of the loaded image, or NULL: from the file */
  char *label;          /* or NULL */
  BsLabelConvention convention;
  gboolean guess_convention; /* decide from the label values when loaded */
  char *h5_images;      /* HDF5 dataset names (kind HDF5) */
  char *h5_masks;
} CaseEntry;

struct _BsDataset {
  BsDatasetKind kind;
  char *path;
  char *name;
  GPtrArray *cases; /* CaseEntry */
  gboolean keep_grid; /* bs_dataset_set_resample off */
};

/* Every image file of case e as the channels of one volume (read in
 * parallel: gunzip dominates). */
BsVolume *bs_dataset_read_images (const CaseEntry *e, GError **error);
/* The label file of case e into c->label, on the grid of c->image: read,
 * checked (numbers, classes, 3D, on the image's grid), brought into the
 * image's voxel order; c->convention from the values where e says to guess.
 * strict (a Decathlon task, whose dataset.json names the classes): a value of
 * no class of c->convention is an error; else it makes the convention unknown. */
gboolean bs_dataset_read_nifti_label (const CaseEntry *e, gboolean strict, BsCase *c, GError **error);

/* c resampled to about 1 mm along every axis whose voxels are finer than
 * BS_DATASET_FINE_VOXEL_MM, image and label alike (engine/io/bs-dataset-resample.c);
 * file names the case in the error. */
gboolean bs_dataset_resample_fine (BsCase *c, const char *file, GError **error);

/* A dataset of that kind and path with no cases yet (its name: the path's
 * last component). */
BsDataset *bs_dataset_new_empty (BsDatasetKind kind, const char *path);

/* The file starts with HDF5's signature. */
gboolean bs_dataset_is_hdf5_file (const char *path);
/* The Intel tutorial's HDF5 as a dataset: one case per split that has images. */
BsDataset *bs_dataset_open_hdf5 (const char *path, GError **error);
/* Reads an N x H x W x C float32 dataset into a volume (x = W, y = H, z = N). */
BsVolume *bs_dataset_h5_read_stack (const char *path, const char *name, gboolean as_label, GError **error);

/* The file's name without its folder and its .nii or .nii.gz ending
 * (BRATS_001 from imagesTr/BRATS_001.nii.gz). */
char *bs_dataset_case_id_from_file (const char *path);
/* A Decathlon task folder (its dataset.json). */
BsDataset *bs_dataset_open_decathlon (const char *folder, GError **error);
