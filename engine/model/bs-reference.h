/* The plain-C forward pass: the oracle every oneDNN plan is checked against. */
#pragma once

#include "bs-unet.h"

G_BEGIN_DECLS

/* Same contract as bs_plan_run, no oneDNN: input n x in_channels x h x w,
 * probs n x out_channels x h x w (NCHW: slice-major, then output channel;
 * channel k is the sigmoid probability of region net->config.outputs[k], so
 * channel 0 is the whole tumour). */
void bs_reference_forward (const BsUnet *net, const float *input, int n, int h, int w, float *probs);

/* The reference pass with a look at every intermediate tensor, for int8
 * calibration (activation ranges) and for debugging a plan layer by layer. */
/* layer is the index into net->layers of the layer that produced data
 * (c x h x w, NCHW of one slice), or -1 for the network input.  For the
 * ReLU layers data is after the ReLU; for PredictionMask it is the logits. */
typedef void (*BsReferenceObserver) (int layer, const float *data, int c, int h, int w, gpointer user_data);

/* One slice: probs is out_channels x h x w. */
void bs_reference_forward_observed (const BsUnet *net, const float *input, int h, int w, float *probs,
                                    BsReferenceObserver observer, gpointer user_data);

G_END_DECLS
