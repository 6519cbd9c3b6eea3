/* The fused int8 plan's PredictionMask (private to bs-plan.c). */
#pragma once

#include <glib.h>

/* Probabilities of pixels [p0, p1) of a channels-last u8 tensor with c
 * channels: sigmoid (bias + sum_k w[k] * src[p * c + k]) into out[p]. */
void bs_plan_head_run (const guint8 *src, int c, const float *w, float bias, gsize p0, gsize p1, float *out);
