/* Segmentation metrics. */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* Counts of a binary prediction against a binary truth (value > 0.5 is "on"). */
typedef struct {
  guint64 tp, fp, fn, tn;
} BsConfusion;

void bs_confusion_add (BsConfusion *c, const float *pred, const float *truth, size_t n);
/* into += c (a volume's counts from its slices'). */
void bs_confusion_merge (BsConfusion *into, const BsConfusion *c);
/* Dice = 2TP / (2TP + FP + FN); 1.0 when both are empty (nothing to find, nothing found). */
double bs_confusion_dice (const BsConfusion *c);
double bs_dice (const float *pred, const float *truth, size_t n);

/* The BraTS metrics of one region (whole tumour, core, enhancing) of a
 * volume, from a prediction and a truth (value > 0.5 is "on"). */
typedef struct {
  BsConfusion confusion;
  double dice;           /* 1 when both are empty */
  double hd95_mm;        /* 0 when both are empty, the image diagonal when one is */
  double sensitivity;    /* TP / (TP + FN); NaN without truth voxels */
  double specificity;    /* TN / (TN + FP) */
  double volume_ml;      /* predicted */
  double true_volume_ml;
} BsRegionMetrics;

/* pred and truth: dims[0] x dims[1] x dims[2] voxels, x fastest; spacing in mm.
 * truth NULL (a case without ground truth): the predicted volume only, the
 * other measures NaN (confusion zero). */
void bs_metrics_region (const float *pred, const float *truth, const int dims[3], const double spacing[3],
                        BsRegionMetrics *m);
/* The same when every voxel outside axial slices [z0, z1) is known to be 0
 * in both pred and truth (as BsSegmentResult's region_slices say): only
 * those slices are read, so the pages of a mostly-empty mask or truth
 * outside them are never touched; the counts, volumes and HD95 (a diagonal
 * included) are the whole volume's. */
void bs_metrics_region_in (const float *pred, const float *truth, const int dims[3], const double spacing[3], int z0,
                           int z1, BsRegionMetrics *m);

/* The 95th percentile of the symmetric surface distance in mm (as medpy's
 * hd95, which BraTS evaluations use): surfaces are the mask voxels with a
 * 6-neighbour outside the mask or on the image's edge; the distances from
 * each surface to the other, pooled, 95th percentile interpolated linearly.
 * Both empty: 0; one empty: the image diagonal (bs_metrics_diagonal_mm, 373.13
 * mm for a 240 x 240 x 155 volume at 1 mm, the value BraTS 2021 reports).
 * NaN when memory for the distances runs out. */
double bs_metrics_hd95 (const guint8 *a, const guint8 *b, const int dims[3], const double spacing[3]);
double bs_metrics_diagonal_mm (const int dims[3], const double spacing[3]);

/* The squared Euclidean distance in mm^2 from every voxel of a dims volume
 * (x fastest) to the nearest voxel where site is non-zero, exact (spacing
 * honoured); 1e20 everywhere when there is no site.  g_free the result;
 * NULL when it cannot be allocated. */
double *bs_metrics_distance_squared (const guint8 *site, const int dims[3], const double spacing[3]);

/* Grows the box lo..hi (inclusive; empty while hi[0] < 0) to hold voxel (x, y, z). */
static inline void
bs_box_include (int lo[3], int hi[3], int x, int y, int z)
{
  const int p[3] = { x, y, z };

  for (int a = 0; a < 3; a++)
    {
      lo[a] = p[a] < lo[a] ? p[a] : lo[a];
      hi[a] = p[a] > hi[a] ? p[a] : hi[a];
    }
}

G_END_DECLS
