/* Datasets: everything Brainseg opens by path, with the layout detected.
 *  - a Decathlon task folder (dataset.json + imagesTr/labelsTr[/imagesTs], 4D images)
 *  - a BraTS case folder (one file per modality + optional seg), or a folder of such folders
 *  - one NIfTI file, with an optional label file
 *  - the Intel tutorial's preprocessed HDF5 (imgs_* / msks_*), each split a "case"
 *    whose slices form a stack (nx = W, ny = H, nz = N, channels = C).  The
 *    affine is diag(-1, -1, 1) (LPS), so that the axial view shows every
 *    stored H x W slice as it is stored: row 0 at the top, column 0 at the left. */
#pragma once

#include "bs-volume.h"
#include "bs-labels.h"

G_BEGIN_DECLS

typedef enum {
  BS_DATASET_DECATHLON,
  BS_DATASET_BRATS_CASE,
  BS_DATASET_BRATS_COLLECTION,
  BS_DATASET_NIFTI_FILE,
  BS_DATASET_HDF5,
} BsDatasetKind;

typedef struct _BsDataset BsDataset;

typedef struct {
  char *id;                 /* "BRATS_001", "brats_2013_pat0001_1", "imgs_testing" */
  BsVolume *image;          /* all modalities as channels, named */
  BsVolume *label;          /* raw label values, or NULL when the case has none */
  BsLabelConvention convention;
} BsCase;

BsDataset *bs_dataset_open (const char *path, const char *label_path, GError **error);
/* A Decathlon task folder described by the given dataset.json text (what
 * bs_dataset_open does after reading folder/dataset.json).  length may be -1. */
BsDataset *bs_dataset_open_decathlon_json (const char *folder, const char *json, gssize length, GError **error);
void bs_dataset_free (BsDataset *ds);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsDataset, bs_dataset_free)

BsDatasetKind bs_dataset_get_kind (const BsDataset *ds);
const char *bs_dataset_kind_name (BsDatasetKind kind); /* "decathlon", "brats-case", ... */
const char *bs_dataset_get_path (const BsDataset *ds);
const char *bs_dataset_get_name (const BsDataset *ds);  /* dataset.json "name" or folder name */
guint bs_dataset_get_n_cases (const BsDataset *ds);
const char *bs_dataset_get_case_id (const BsDataset *ds, guint i);
gboolean bs_dataset_case_has_label (const BsDataset *ds, guint i);
/* The files case i is read from: its images and label, the HDF5 file of an
 * HDF5 dataset, a Decathlon task's dataset.json; NULL-terminated (g_strfreev).
 * An export must not write over any of them. */
char **bs_dataset_get_case_files (const BsDataset *ds, guint i);
/* Index of the case with this id, or -1. */
int bs_dataset_find_case (const BsDataset *ds, const char *id);

/* Voxel sides finer than this (mm) are resampled to about 1 mm when a case
 * loads (bs_dataset_set_resample): the model learned from 1 mm voxels, and on
 * real cases resampled to 0.7 mm pixels its whole-tumour Dice fell from 0.918
 * to 0.845 (models/README.md, "Thick slices and fine pixels"). */
#define BS_DATASET_FINE_VOXEL_MM 0.8

/* On (the default), a case whose voxels are finer than
 * BS_DATASET_FINE_VOXEL_MM along an axis loads resampled along it to the
 * whole number of voxels nearest 1 mm over the same field of view (images
 * linearly, labels to the nearest voxel; bs_volume_rescale), remembering its
 * file's grid, onto which bs_volume_save_nifti writes every volume made
 * like it. */
void bs_dataset_set_resample (BsDataset *ds, gboolean on);

/* Loads the case (image + label).  Label dims differing from image dims is an
 * error naming both files.  Thread-safe for different datasets; one case at a
 * time per dataset. */
BsCase *bs_dataset_load_case (BsDataset *ds, guint i, GError **error);
/* The same, except that with label_error non-NULL a label that cannot be
 * used (unreadable, damaged, on another grid, values of no class) leaves the
 * case without one and its error in *label_error: the scan still opens. */
BsCase *bs_dataset_load_case_full (BsDataset *ds, guint i, GError **label_error, GError **error);
/* A segmentation of case i read from path (a mask Brainseg exported, another
 * tool's, a label map): checked and brought onto the case's grid as its own
 * label would be (numbers, 3D, on the grid of the case's first image file,
 * which is read again for it; its voxel order; resampled with the case), an
 * error naming path and the problem otherwise.  *convention: given, when the
 * user named one (BS_LABELS_UNKNOWN: not; BS_LABELS_BINARY: any label > 0 is
 * the whole tumour; another: the values must be of it), else decided from the
 * values and case_convention (bs-dataset-mask.c; unknown: whole tumour only).
 * Not for HDF5 datasets. */
BsVolume *bs_dataset_load_case_mask (BsDataset *ds, guint i, const char *path, BsLabelConvention case_convention,
                                     BsLabelConvention given, BsLabelConvention *convention, GError **error);
void bs_case_free (BsCase *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsCase, bs_case_free)

G_END_DECLS
