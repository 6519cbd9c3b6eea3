/* Preprocessing shared by inference, training and display. */
#pragma once

#include "bs-volume.h"

G_BEGIN_DECLS

/* In place, per channel: the foreground (brain) voxels clipped to their 0.5
 * and 99.5 percentiles (saturated scanners) and z-scored, background set to 0.
 * The foreground is found so that raw int16 BraTS data and the pre-normalised
 * samples (constant negative background) give the same picture.  Parallel over
 * slices (oneTBB). */
void bs_preprocess_normalize (BsVolume *image);

/* The channel of image holding modality (any alias, bs_volume_find_channel),
 * or -1.  When n_wanted is 1, a lone unnamed channel (a single-modality file)
 * counts as the modality asked for. */
int bs_preprocess_find_modality (const BsVolume *image, const char *modality, int n_wanted);

/* The network input of a case: n channels, modalities[i] picked from image
 * (bs_preprocess_find_modality) and normalised (bs_preprocess_normalize), a
 * modality the image lacks a channel of zeros, which is what a missing input
 * is after normalisation.  present (may be NULL) receives bit i set for each
 * modality found (n <= 32).  Fails, naming the image, when none is found. */
BsVolume *bs_preprocess_prepare (const BsVolume *image, const char *const *modalities, int n,
                                 guint32 *present, GError **error);
/* The same, taking the image (always freed or returned): when its channels
 * are the modalities asked for, in that order, they are normalised in place
 * and the image itself is returned, with no second volume to allocate and
 * page in; otherwise as bs_preprocess_prepare. */
BsVolume *bs_preprocess_prepare_take (BsVolume *image, const char *const *modalities, int n, guint32 *present,
                                      GError **error);

/* Foreground (brain) mask of channel c: 1 inside, 0 outside. */
BsVolume *bs_preprocess_foreground (const BsVolume *image, int c);

/* Smallest multiple of 16 >= n, for padding slices to what the U-Net accepts. */
int bs_preprocess_round16 (int n);

/* The out_w x out_h window whose first pixel is (x0, y0) of a w x h slice, 0 outside the slice. */
void bs_preprocess_copy_window (const float *in, int w, int h, int x0, int y0, float *out, int out_w, int out_h);
/* n_maps maps of h x w, mirrored left-right (x -> w-1-x) from src into dst (not in place). */
void bs_preprocess_flip_x (const float *src, float *dst, gsize n_maps, int h, int w);

/* Crops (centre) or zero-pads (centre) a w x h slice to out_w x out_h. */
void bs_preprocess_crop_or_pad (const float *in, int w, int h, float *out, int out_w, int out_h);

G_END_DECLS
