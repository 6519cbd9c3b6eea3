/* Synthetic brain tumour MRI: a skull-stripped head with CSF, grey and white
 * matter, deep grey nuclei, cerebellum and brainstem, and one irregular
 * tumour (necrotic core, enhancing rim, edema), in the four Decathlon
 * modalities with raw scanner-like intensities, a bias field and Rician noise.
 * Everything is a pure function of (seed, case index, dims): the same inputs
 * give the same voxels on every machine. */
#pragma once

#include "bs-volume.h"

G_BEGIN_DECLS

/* Each dimension must lie in this range (voxels, 1 mm each). */
#define BS_PHANTOM_MIN_DIM 32
#define BS_PHANTOM_MAX_DIM 512

/* Decathlon label values of the phantom (Task01 convention). */
enum {
  BS_PHANTOM_BACKGROUND = 0,
  BS_PHANTOM_EDEMA = 1,
  BS_PHANTOM_CORE = 2,      /* non-enhancing tumour / necrosis */
  BS_PHANTOM_ENHANCING = 3,
};

/* Tissue under the image (for checking contrasts); tumour voxels are white matter. */
typedef enum {
  BS_PHANTOM_TISSUE_OUTSIDE = 0,
  BS_PHANTOM_TISSUE_CSF,       /* ventricles, sulci, fissures, cisterns */
  BS_PHANTOM_TISSUE_GREY,      /* cerebral and cerebellar cortex */
  BS_PHANTOM_TISSUE_WHITE,
  BS_PHANTOM_TISSUE_DEEP_GREY, /* caudate, thalamus, lentiform nucleus */
  BS_PHANTOM_TISSUE_CHOROID,   /* choroid plexus */
} BsPhantomTissue;

/* Generates one case.  image gets 4 channels "FLAIR", "T1w", "T1gd", "T2w"
 * holding integer-valued intensities (0 outside the brain, 1..32767 inside);
 * label gets the Decathlon values 0-3.  The affine is RAS with 1 mm spacing,
 * like the Decathlon files.  Fails with BS_IO_ERROR_INVALID for dims outside
 * [BS_PHANTOM_MIN_DIM, BS_PHANTOM_MAX_DIM]. */
gboolean bs_phantom_generate (guint64 seed, guint case_index, int nx, int ny, int nz,
                              BsVolume **image, BsVolume **label, GError **error);

/* The same, and also the tissue map (BsPhantomTissue values) under the image. */
gboolean bs_phantom_generate_with_tissue (guint64 seed, guint case_index, int nx, int ny, int nz,
                                          BsVolume **image, BsVolume **label, BsVolume **tissue,
                                          GError **error);

/* Writes a Decathlon task folder to outdir (created if missing): dataset.json,
 * imagesTr/BRATS_NNN.nii.gz (4D int16) and labelsTr/BRATS_NNN.nii.gz (uint8)
 * for cases 1..n_cases. */
gboolean bs_phantom_write_task (const char *outdir, guint n_cases, guint64 seed,
                                int nx, int ny, int nz, GError **error);

/* Parses "240x240x155" into dims, checking the range; the error names the text. */
gboolean bs_phantom_parse_size (const char *text, int dims[3], GError **error);

/* The bundled sample task folder: $BRAINSEG_SAMPLE if set, else the one
 * generated in the build tree, else the installed one, else NULL. */
char *bs_sample_default_path (void);

G_END_DECLS
