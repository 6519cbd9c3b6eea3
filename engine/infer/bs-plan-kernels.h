/* Plain-C steps of the fused int8 plan, between oneDNN primitives
 * (private to bs-plan.c). */
#pragma once

#include <glib.h>

/* PredictionMask: probabilities of pixels [p0, p1) of a channels-last u8
 * tensor with c channels: sigmoid (bias + sum_k w[k] * src[p * c + k]). */
void bs_plan_head_run (const guint8 *src, int c, const float *w, float bias, gsize p0, gsize p1, float *out);

/* One output row of a 2x2 max pooling of an s8 channels-last tensor (input
 * rows row0 and row1, w pixels of c channels) into pooled, which also copies
 * both input rows into channels offset_c.. of the c_cat-channel rows cat0
 * and cat1 (the skip half of a concat buffer). */
void bs_plan_pool_copy_row (const gint8 *row0, const gint8 *row1, int w, int c, gint8 *pooled,
                            gint8 *cat0, gint8 *cat1, int c_cat, int offset_c);
