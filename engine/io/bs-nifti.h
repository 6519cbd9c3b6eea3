/* NIfTI-1 / NIfTI-2 (.nii, .nii.gz) reading and writing through niftilib. */
#pragma once

#include "bs-volume.h"

G_BEGIN_DECLS

/* Reads a 3D or 4D file (4th dim = channels).  uint8/int8/int16/uint16/int32/
 * float32/float64, scl_slope/scl_inter applied (not for labels).  Truncated or
 * corrupt files, absurd headers, unsupported datatypes fail with BS_IO_ERROR
 * and a message that names the file.  as_label keeps raw integer values. */
BsVolume *bs_volume_load_nifti (const char *path, gboolean as_label, GError **error);
/* The same from the bytes of a file already in memory (name is used in
 * messages and as the volume's path). */
BsVolume *bs_volume_load_nifti_from_bytes (const guint8 *bytes, gsize length, const char *name,
                                           gboolean as_label, GError **error);

/* Reads several files of the same grid (one per modality, or 4D files) as
 * the channels of one volume, decoding them in parallel straight into place.
 * Differing dimensions are an error naming both files.  The affine is the
 * first file's. */
BsVolume *bs_volume_load_nifti_channels (const char *const *paths, int n, GError **error);

/* Writes vol (all channels; 4D when n_channels > 1) with its affine as
 * sform and qform.  datatype is a NIfTI DT_* code (DT_UINT8 for masks,
 * DT_FLOAT32 for images).  Integer types store the values rounded and
 * clamped to the type's range (no scl_slope).  .nii.gz names are gzipped.
 * Written to a temporary name and renamed, so a failed write never leaves a
 * partial file. */
gboolean bs_volume_save_nifti (const BsVolume *vol, const char *path, int datatype, GError **error);

G_END_DECLS
