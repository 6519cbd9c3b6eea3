/* Volume inference: slices of a case in display orientation through a plan. */
#pragma once

#include <gio/gio.h>
#include "bs-volume.h"
#include "bs-plan.h"

G_BEGIN_DECLS

/* A case prepared for the network: the model's modalities picked from the
 * image (by name, see bs_volume_find_channel), normalised, in one volume. */
BsVolume *bs_infer_prepare (const BsUnet *net, const BsVolume *image, GError **error);

/* Padded slice size the plan must be built for (multiples of 16). */
void bs_infer_padded_size (const BsVolume *prepared, BsPlane plane, int *h, int *w);

/* Fills input (n x C x ph x pw) with slices first..first+n-1, centre-padded. */
void bs_infer_fill_input (const BsVolume *prepared, BsPlane plane, int first, int n,
                          int ph, int pw, float *input);

/* Writes n probability maps (n x ph x pw) back as displayed slices of prob
 * (a single-channel volume like prepared), cropping the padding. */
void bs_infer_store_output (BsVolume *prob, BsPlane plane, int first, int n,
                            int ph, int pw, const float *probs);

typedef void (*BsInferProgress) (int done, int total, gpointer user_data);

/* Whole volume, in batches of the plan's batch size; prob receives the
 * sigmoid output.  Cancellable between batches. */
gboolean bs_infer_volume (BsPlan *plan, const BsVolume *prepared, BsPlane plane,
                          BsVolume *prob, BsTiming *timing,
                          BsInferProgress progress, gpointer user_data,
                          GCancellable *cancellable, GError **error);

G_END_DECLS
