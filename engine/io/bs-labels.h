/* Label conventions of the releases Brainseg reads.  Whole tumour is label > 0
 * in every one of them. */
#pragma once

#include "bs-volume.h"

G_BEGIN_DECLS

typedef enum {
  BS_LABELS_UNKNOWN,
  BS_LABELS_BINARY,     /* 0/1 whole tumour */
  BS_LABELS_DECATHLON,  /* 1 edema, 2 non-enhancing, 3 enhancing */
  BS_LABELS_BRATS2015,  /* 1 necrosis, 2 edema, 3 non-enhancing, 4 enhancing */
  BS_LABELS_BRATS2017,  /* 1 necrotic/non-enhancing core, 2 edema, 4 enhancing */
  BS_LABELS_BRATS2023,  /* 1 NCR, 2 ED, 3 ET */
} BsLabelConvention;

const char *bs_labels_convention_name (BsLabelConvention conv);
/* Translated name of label value v under conv ("edema", ...), or NULL. */
const char *bs_labels_value_name (BsLabelConvention conv, int value);
/* The convention a label map's values suggest when the layout does not say:
 * only 0/1 is binary, 4 with 3 is BraTS 2015, 4 without 3 is BraTS 2017-2021;
 * anything else is unknown (Decathlon and BraTS 2023 both use 1-3). */
BsLabelConvention bs_labels_guess (const BsVolume *label);
/* Voxel count of every label value present (value -> count), sorted by value.
 * Returns the number of distinct values; values and counts are newly allocated. */
int bs_labels_count (const BsVolume *label, int **values, guint64 **counts);
/* Whether every value of a label map read from path is a class: a whole
 * number from 0 to 255 and, under a known convention, one of its classes.
 * Else an error naming path, the value and the classes.  With fits not
 * NULL, a value outside conv's classes is no error: *fits says whether
 * every value is one of them (one pass over the labels either way). */
gboolean bs_labels_check_values (const BsVolume *label, BsLabelConvention conv, const char *path, gboolean *fits,
                                 GError **error);
/* New uint8-valued (0/1, stored as float) single-channel volume: label > 0. */
BsVolume *bs_labels_whole_tumour (const BsVolume *label);

/* The three nested regions BraTS evaluates. */
typedef enum {
  BS_REGION_WT,  /* whole tumour: every tumour label */
  BS_REGION_TC,  /* tumour core: necrotic / non-enhancing core and enhancing tumour */
  BS_REGION_ET,  /* enhancing tumour */
  BS_N_REGIONS
} BsRegion;

const char *bs_region_name (BsRegion region);  /* "wt", "tc", "et" */
const char *bs_region_label (BsRegion region); /* translated: "whole tumour", ... */
/* Whether label value belongs to region under conv (bs-labels.c lists the
 * mapping of every release). */
gboolean bs_labels_in_region (BsLabelConvention conv, BsRegion region, int value);
/* Whether conv tells the region apart: TC and ET need sub-region labels. */
gboolean bs_labels_has_region (BsLabelConvention conv, BsRegion region);
/* New 0/1 single-channel volume of the region, or NULL when conv cannot tell it. */
BsVolume *bs_labels_region (const BsVolume *label, BsLabelConvention conv, BsRegion region);

/* The label value of each sub-region under conv: ed (edema, WT minus TC),
 * core (the rest of the core, TC minus ET) and et (enhancing).  FALSE for
 * conventions without sub-regions (binary, unknown).  BraTS 2015 does not
 * tell necrosis (1) from non-enhancing tumour (3): a prediction's core is 3. */
gboolean bs_labels_region_values (BsLabelConvention conv, int *ed, int *core, int *et);
/* The label map of nested region masks (0/1, single channel, the same
 * geometry) in conv: BS_LABELS_BINARY is 1 on wt; the sub-region conventions
 * need tc and et and give ET its value, the rest of TC the core value and the
 * rest of WT edema (tc and et count only inside wt, et only inside tc).
 * NULL for BS_LABELS_UNKNOWN, or when conv needs tc and et and one is NULL. */
BsVolume *bs_labels_from_regions (const BsVolume *wt, const BsVolume *tc, const BsVolume *et,
                                  BsLabelConvention conv);

/* Nested region masks (0/1) of n voxels from a region model's sigmoid
 * outputs, the rule bs_segment uses: wt where probs[WT] > 0.5; tc where
 * also probs[TC] > 0.5; et where probs[ET] > 0.5 inside tc (inside wt when
 * the model has no TC output).  probs[r] NULL: the model lacks region r, and
 * its output stays untouched; any output may be NULL. */
void bs_regions_from_probs (const float *const probs[BS_N_REGIONS], gsize n, float *wt, float *tc, float *et);

G_END_DECLS
