/* BsVolume: a 3D image with one or more channels (modalities), or a label map.
 *
 * Voxel data is float32, channel-major, x fastest, exactly as stored on disk
 * (no reorientation on load):  data[c * nvox + (k * ny + j) * nx + i]
 * Label volumes keep their raw integer values (stored as float).
 *
 * The affine maps voxel (i, j, k) to RAS+ millimetres (NIfTI convention: sform
 * if set, else qform, else pixdim scaling).  Display orientation is derived
 * from the affine, never from assumptions about the file: see BsPlane below. */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

typedef enum {
  BS_PLANE_AXIAL,    /* looking from the feet: left of image = patient's right (radiological) */
  BS_PLANE_CORONAL,  /* looking from the front: left of image = patient's right */
  BS_PLANE_SAGITTAL, /* looking from the patient's left: left of image = anterior */
} BsPlane;

typedef struct {
  int dims[3];          /* nx, ny, nz */
  int n_channels;       /* 1 for label maps and single-modality images */
  double spacing[3];    /* mm */
  double affine[4][4];  /* voxel -> RAS+ mm */
  char **channel_names; /* n_channels entries + NULL, e.g. "FLAIR", "T1w", "T1gd", "T2w" */
  float *data;          /* n_channels * nx * ny * nz */
  gboolean is_label;
  char *path;           /* file it came from, or NULL */
  /* Non-finite voxels found on load were replaced by 0 and counted here so
   * they can be reported instead of propagated into the display. */
  gsize n_nonfinite;
  /* The grid of the file this volume was resampled from for the network
   * (bs_volume_rescale: pixels finer than the model learned from), which
   * bs_volume_save_nifti writes back onto; source_dims[0] 0: the volume is
   * on its own file's grid.  Volumes made like it keep it. */
  int source_dims[3];
  double source_spacing[3];
  double source_affine[4][4];
} BsVolume;

/* Allocates zeroed data; affine is identity scaled by spacing 1. */
BsVolume *bs_volume_new (int nx, int ny, int nz, int n_channels);
/* The same with the voxels left uninitialised, for loaders that write every
 * voxel anyway.  Returns NULL (no abort) when the memory is not available,
 * as does bs_volume_new. */
BsVolume *bs_volume_new_uninitialized (int nx, int ny, int nz, int n_channels);
BsVolume *bs_volume_copy (const BsVolume *vol);
void bs_volume_free (BsVolume *vol);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsVolume, bs_volume_free)

static inline gsize
bs_volume_n_voxels (const BsVolume *vol)
{
  return (gsize) vol->dims[0] * vol->dims[1] * vol->dims[2];
}

static inline float *
bs_volume_channel (const BsVolume *vol, int c)
{
  return vol->data + (gsize) c * bs_volume_n_voxels (vol);
}

/* A new single-channel volume sharing geometry (dims, spacing, affine) with vol. */
BsVolume *bs_volume_new_like (const BsVolume *vol, int n_channels);
/* The same without zeroing the voxels, for a caller that writes every one. */
BsVolume *bs_volume_new_uninitialized_like (const BsVolume *vol, int n_channels);
/* A new single-channel volume with a copy of channel c. */
BsVolume *bs_volume_extract_channel (const BsVolume *vol, int c);
/* Same dims and affine within tolerance (for image/label pairs). */
gboolean bs_volume_same_geometry (const BsVolume *a, const BsVolume *b);
/* Whether two affines (voxel -> RAS mm) put their voxel grids in one place:
 * every voxel axis the same direction and size to 1 %, and the first voxels
 * within half a voxel of each other.  When not, and why is not NULL, *why
 * gets both grids in words (voxel sizes and where the first voxel lies). */
gboolean bs_affine_same_grid (const double a[4][4], const double b[4][4], char **why);
/* Index of the channel whose name matches (case-insensitive; aliases such as
 * "flair"/"t2f"/"fla", "t1gd"/"t1c"/"t1ce" are understood), or -1. */
int bs_volume_find_channel (const BsVolume *vol, const char *modality);
/* Canonical name ("FLAIR", "T1w", "T1gd", "T2w") of a modality name or alias
 * as found in file names and dataset.json; other names are returned as given. */
const char *bs_modality_canonical (const char *name);
/* Whether the name is one of those four or an alias of one. */
gboolean bs_modality_is_known (const char *name);
void bs_volume_value_range (const BsVolume *vol, int channel, float *min, float *max);

/* ---- Display orientation (from the affine) ---- */

/* Three-letter orientation code of the voxel axes, e.g. "RAS", "LPS". */
void bs_volume_orientation_code (const BsVolume *vol, char code[4]);

/* Size of a displayed slice of this plane and how many slices it has. */
int bs_volume_n_slices (const BsVolume *vol, BsPlane plane);
void bs_volume_slice_size (const BsVolume *vol, BsPlane plane, int *width, int *height);

/* Copies one displayed slice (row-major, width * height, row 0 at the top) of
 * channel c into out.  Slice index 0 is inferior (axial), posterior (coronal),
 * right (sagittal). */
void bs_volume_get_slice (const BsVolume *vol, int c, BsPlane plane, int index, float *out);
/* The inverse: writes a displayed slice back into channel c. */
void bs_volume_set_slice (BsVolume *vol, int c, BsPlane plane, int index, const float *in);
/* The out_w x out_h window of a displayed slice of channel c whose top-left
 * pixel is (x0, y0) of the slice (either may be negative, and the window may
 * reach past the slice: those pixels are 0), as bs_volume_get_slice and then
 * bs_preprocess_copy_window give it, reading only the window's voxels. */
void bs_volume_get_window (const BsVolume *vol, int c, BsPlane plane, int index, int x0, int y0, int out_w,
                           int out_h, float *out);
/* Adds the displayed slice in (as bs_volume_set_slice takes it) to the voxels
 * of channel c that lie within the inclusive voxel box [lo, hi]; the others
 * keep their values. */
void bs_volume_add_slice_box (BsVolume *vol, int c, BsPlane plane, int index, const float *in, const int lo[3],
                              const int hi[3]);
/* The same from a window of the slice (ww x wh pixels whose top-left is pixel
 * (wx0, wy0) of the slice), pixels outside it counting as 0: the window's
 * pixels in the box are added, nothing else is touched. */
void bs_volume_add_window_box (BsVolume *vol, int c, BsPlane plane, int index, const float *win, int wx0, int wy0,
                               int ww, int wh, const int lo[3], const int hi[3]);
/* vol on new_dims voxels over the same field of view, each axis scaled on
 * its own (the affine's columns by dims / new_dims, the first voxel's centre
 * moved so that the grid's edges stay), each channel: linear between voxel
 * centres, or the nearest voxel (labels and masks).  The result remembers
 * vol's grid as its source (or vol's own source, where vol has one).  NULL
 * when the memory is not available. */
BsVolume *bs_volume_rescale (const BsVolume *vol, const int new_dims[3], gboolean nearest);
/* vol back on its source grid (bs_volume_rescale's inverse, the source's
 * affine and spacing exactly), or a copy where it has none. */
BsVolume *bs_volume_to_source (const BsVolume *vol, gboolean nearest);
/* TRUE where vol was resampled from another grid (bs_volume_rescale). */
gboolean bs_volume_has_source (const BsVolume *vol);
/* The voxel of the source grid nearest to the centre of vol's voxel ijk (ijk
 * itself where vol has no source): what another viewer of the file calls it. */
void bs_volume_voxel_in_source (const BsVolume *vol, const int ijk[3], int out[3]);

/* The voxel axis (0 i, 1 j, 2 k) along which plane's displayed columns (d 0),
 * rows (d 1) or slices (d 2) step. */
int bs_volume_slice_axis (const BsVolume *vol, BsPlane plane, int d);
/* A displayed pixel's height over its width in mm on plane's slices (5 on
 * the coronal slices of 1 x 1 x 5 mm voxels): the window's views and the
 * exports draw them so. */
double bs_volume_pixel_aspect (const BsVolume *vol, BsPlane plane);
/* Voxel (i, j, k) shown at displayed pixel (x, y) of slice index. */
void bs_volume_slice_to_voxel (const BsVolume *vol, BsPlane plane, int index, int x, int y, int ijk[3]);
/* vol resampled onto the voxel grid of like when the two differ only in
 * voxel order (axis flips and permutations, e.g. an RAS label for an LPS
 * image): a new volume with like's dims, spacing and affine, or NULL when
 * the displayed planes do not have the same sizes.  Origins are not
 * compared: the grids are taken to cover the same box. */
BsVolume *bs_volume_reorient_like (const BsVolume *vol, const BsVolume *like);
/* Letters at the left, right, top and bottom edges of a displayed slice, e.g. "R","L","A","P". */
void bs_volume_plane_letters (const BsVolume *vol, BsPlane plane, char letters[4]);

const char *bs_plane_name (BsPlane plane); /* "axial", ... (untranslated id) */
gboolean bs_plane_from_string (const char *s, BsPlane *plane);

G_END_DECLS
