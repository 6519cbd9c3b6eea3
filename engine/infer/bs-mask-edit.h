/* Corrections a user paints into a predicted volume: a brush (a disk on one
 * displayed slice) that marks a region or clears it, written into the
 * probability volume the masks are cut from (bs_regions_from_probs), every
 * change recorded so that a stroke can be undone and done again exactly. */
#pragma once

#include <glib.h>

#include "bs-labels.h"
#include "bs-volume.h"

G_BEGIN_DECLS

/* One value of the probability volume a stroke changed. */
typedef struct {
  gsize index;      /* into prob->data (channel included) */
  float before, after;
} BsMaskEditVoxel;

/* Paints (erase FALSE) or erases a disk centred on displayed pixel (x, y) of
 * slice index of plane, radius columns wide (rows scaled by the plane's
 * pixel aspect, so that it is round on screen).  Painting region sets its
 * channel and those of the regions around it (a core voxel is tumour) to 1;
 * erasing sets its channel and those of the regions inside it to 0 (no core
 * outside the tumour).  channels[r] is region r's channel in prob, or -1
 * when the model has none (region must have one).  Every value that changes
 * is appended to changes (BsMaskEditVoxel).  Returns how many voxels of the
 * slice the disk covered. */
int bs_mask_edit_disk (BsVolume *prob, const int channels[BS_N_REGIONS], BsRegion region, gboolean erase,
                       BsPlane plane, int index, double x, double y, double radius, GArray *changes);

/* The changes (appended to changes, prob itself untouched: bs_mask_edit_apply
 * makes them) that turn prob's masks into a segmentation's: label is a label
 * map of conv on prob's grid (bs_dataset_load_case_mask).  Every region conv
 * tells and the model has (channels[r] >= 0) becomes the label's: a value
 * whose side of 0.5 is wrong becomes 1 or 0, the others keep the network's
 * probability.  A region conv cannot tell (a binary or unknown map: the whole
 * tumour only) is cleared outside the label's whole tumour and left alone
 * inside it.  Returns the number of voxels whose whole tumour changed; FALSE
 * from *ok when label is not on prob's grid. */
gsize bs_mask_edit_from_label (const BsVolume *prob, const int channels[BS_N_REGIONS], const BsVolume *label,
                               BsLabelConvention conv, GArray *changes, gboolean *ok);

/* Puts changes back (undo: the before values, last change first) or again
 * (the after values, first change first). */
void bs_mask_edit_apply (BsVolume *prob, const GArray *changes, gboolean undo);

/* The displayed slices of plane that changes from index from on touch:
 * [*first, *last] (FALSE when there are none). */
gboolean bs_mask_edit_slices (const BsVolume *prob, const GArray *changes, guint from, BsPlane plane, int *first,
                              int *last);

G_END_DECLS
