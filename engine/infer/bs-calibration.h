/* int8 calibration of a case: which of its slices the activation ranges are
 * measured on.  The one slice policy of every caller (the window, infer,
 * export, Compare all), so that they agree on an int8 mask. */
#pragma once

#include <glib.h>

#include "bs-infer.h"
#include "bs-plan.h"
#include "bs-volume.h"

G_BEGIN_DECLS

/* Slices a calibration is measured on, at most; also the count a caller
 * without a case (brainseg-cli bench, on synthetic slices) uses. */
#define BS_CALIBRATION_SLICES 4

/* The slices of geom's plane to calibrate on: up to BS_CALIBRATION_SLICES
 * spread evenly, in order, over those whose first channel holds at least a
 * quarter of the largest brain area of any slice.  picks receives at most
 * BS_CALIBRATION_SLICES indices; returns how many (0 when no slice has brain). */
int bs_calibration_pick_slices (const BsVolume *prepared, const BsInferGeometry *geom, int *picks);

/* The calibration int8 runs a case with: the one stored with net's weights
 * (bs_calibration_new_stored) unless per_case is set or it has none,
 * otherwise measured on prepared's picked slices, each through geom's window.
 * Fails with BS_PLAN_ERROR_UNAVAILABLE when it is to be measured and the case
 * has no brain voxel to calibrate on. */
BsCalibration *bs_calibration_new_for_case (const BsUnet *net, const BsVolume *prepared,
                                            const BsInferGeometry *geom, gboolean per_case, GError **error);

/* "int8 ranges stored with the model (median of N cases)" or "int8 ranges
 * measured on N slices of this case", translated. */
char *bs_calibration_describe (const BsCalibration *cal);
/* The same from bs_calibration_get_cases and bs_calibration_get_slices. */
char *bs_calibration_describe_counts (int cases, int slices);

/* A calibration to store with net (bs_unet_set_calibration): each value the
 * median over the n cases' calibrations (as bs_calibration_new_for_case
 * measures them) of that case's maximum.  values receives 1 + net->n_layers
 * floats. */
void bs_calibration_median (const BsUnet *net, BsCalibration *const *cases, int n, float *values);

G_END_DECLS
