/* Preprocessing shared by inference, training and display. */
#pragma once

#include "bs-volume.h"

G_BEGIN_DECLS

/* In place, per channel: z-score over the foreground (brain) voxels, background
 * set to 0.  The foreground is found so that raw int16 BraTS data and the
 * pre-normalised samples (constant negative background) give the same picture.
 * Parallel over slices (oneTBB). */
void bs_preprocess_normalize (BsVolume *image);

/* Foreground (brain) mask of channel c: 1 inside, 0 outside. */
BsVolume *bs_preprocess_foreground (const BsVolume *image, int c);

/* Smallest multiple of 16 >= n, for padding slices to what the U-Net accepts. */
int bs_preprocess_round16 (int n);

/* Crops (centre) or zero-pads (centre) a w x h slice to out_w x out_h. */
void bs_preprocess_crop_or_pad (const float *in, int w, int h, float *out, int out_w, int out_h);

G_END_DECLS
