/* Clean-up of a predicted whole-tumour mask over the whole volume. */
#pragma once

#include <glib.h>
#include "bs-volume.h"

G_BEGIN_DECLS

/* Components smaller than this share of the largest one are removed by
 * default: large secondary foci of a multifocal tumour stay, scattered
 * false-positive islands go. */
#define BS_CLEANUP_MIN_FRACTION 0.2

typedef struct {
  int n_components;      /* 26-connected components before the clean-up */
  int n_kept;
  guint64 largest;       /* voxels of the largest component */
  guint64 removed;       /* voxels switched off */
  guint64 core_filled;   /* tumour-core voxels switched on by bs_volume_fill_plane_holes (region models) */
  guint64 core_trimmed;  /* tumour-core voxels switched off by bs_volume_trim_core (region models; a
                          * hole filled and then trimmed counts in both) */
} BsCleanupStats;

/* on: nx*ny*nz bytes, non-zero = tumour.  Switches off every 26-connected
 * component with fewer than min_fraction x (voxels of the largest component)
 * voxels.  Returns FALSE only when the label buffer cannot be allocated. */
gboolean bs_mask_remove_islands (guint8 *on, const int dims[3], double min_fraction, BsCleanupStats *stats);

/* The same on a single-channel volume (value > 0.5 = tumour): removed voxels
 * become 0, kept ones keep their value. */
gboolean bs_volume_remove_islands (BsVolume *mask, double min_fraction, BsCleanupStats *stats);

/* The same on the voxel slices z0 <= k < z1 (voxel axis 2) alone, for a mask
 * known to be 0 outside them: the same result, without reading (and so, on a
 * volume calloc left untouched, paging in) the rest. */
gboolean bs_volume_remove_islands_slices (BsVolume *mask, int z0, int z1, double min_fraction,
                                          BsCleanupStats *stats);

/* on: nx*ny*nz bytes, non-zero = in the mask.  Fills the holes of the mask's
 * 2D slices across the voxel axes order[0], order[1], order[2] in turn (NULL:
 * 2, 1, 0), each pass on the mask the one before left: a hole is background
 * that no path of 4-connected background pixels in its slice leads out of
 * the mask's box.  Then only the filled voxels that within marks (non-zero;
 * NULL: all) stay on.  The tumour core encloses its necrosis; a cavity the
 * network leaves out is still core.  *filled (may be NULL) counts the voxels
 * switched on.  Returns FALSE only when a buffer cannot be allocated (then on
 * is as it was). */
gboolean bs_mask_fill_plane_holes (guint8 *on, const int dims[3], const int order[3], const guint8 *within,
                                   guint64 *filled);

/* The same on a single-channel volume (value > 0.5 = in the mask), within a
 * volume of the same dimensions (or NULL): filled voxels become 1.  The
 * passes go over the axial slices first, then the coronal, then the
 * sagittal, whatever the volume's voxel order (its affine). */
gboolean bs_volume_fill_plane_holes (BsVolume *mask, const BsVolume *within, guint64 *filled);
/* The same on the voxel slices z0 <= k < z1 (voxel axis 2) alone, for a
 * mask known to be 0 outside them: the same result (holes are found within
 * the mask's box, which those slices hold), without reading the rest. */
gboolean bs_volume_fill_plane_holes_slices (BsVolume *mask, const BsVolume *within, int z0, int z1,
                                            guint64 *filled);

/* The clean-up's defaults for bs_volume_trim_core (cross-validated:
 * resources/models/README.md, "The core near its enhancing rim"). */
#define BS_CORE_TRIM_RADIUS_MM 6.0
#define BS_CORE_TRIM_MIN_SHARE 0.1

/* core, enhancing: nx*ny*nz bytes, non-zero = in the mask; spacing in mm.
 * When the enhancing voxels are at least min_share of the core's, switches
 * off every core voxel farther than radius_mm from the enhancing tumour
 * with its plane holes filled (bs_mask_fill_plane_holes in order; a
 * necrotic cavity the rim encloses is at distance 0), and every piece of
 * the core that is left without an enhancing voxel (26-connected).  A core with less
 * enhancement (a low-grade glioma's) is left as it is: there is no rim to
 * measure from.  *trimmed (may be NULL) counts the voxels switched off.
 * Returns FALSE only when a buffer cannot be allocated (then core is as it
 * was). */
gboolean bs_mask_trim_core (guint8 *core, const guint8 *enhancing, const int dims[3], const int order[3],
                            const double spacing[3], double radius_mm, double min_share, guint64 *trimmed);

/* The same on single-channel volumes of the same dimensions (value > 0.5 =
 * in the mask): switched-off voxels become 0; the planes as
 * bs_volume_fill_plane_holes takes them. */
gboolean bs_volume_trim_core (BsVolume *core, const BsVolume *enhancing, double radius_mm, double min_share,
                              guint64 *trimmed);
/* The same on the voxel slices z0 <= k < z1 (voxel axis 2) alone, for masks
 * known to be 0 outside them: the same result without reading the rest
 * (review 2026-12-07: reading the whole of two masks calloc had left
 * untouched paged them in, 50-150 ms of an int8 run's regions stage). */
gboolean bs_volume_trim_core_slices (BsVolume *core, const BsVolume *enhancing, int z0, int z1, double radius_mm,
                                     double min_share, guint64 *trimmed);

G_END_DECLS
