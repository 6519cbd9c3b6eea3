/* Weights in the formats oneDNN's primitives asked for, shared between the
 * plans that ask for the same ones (private to the inference plans).
 *
 * A plan's convolutions take their weights reordered into the primitive's
 * own format (blocked, Winograd-transformed, int8 with per-channel scales).
 * On one thread the Winograd transform of encodeEb alone took 53 ms, and a
 * whole volume builds a plan per lane and per plane (three planes), Compare
 * all one per configuration.  Entries are found by the layer's contents (a
 * hash of its weights, shape and int8 scales), never by its address, so
 * weights changed in place (training, averaging) never meet a stale copy.
 * The least recently used entries go once the cache holds more than
 * BS_PLAN_WEIGHTS_CACHE_MB; a plan keeps a reference to what it uses. */
#pragma once

#include <glib.h>
#include <oneapi/dnnl/dnnl.h>

#include "bs-unet.h"

#define BS_PLAN_WEIGHTS_CACHE_MB 128

/* The key of layer l's weights with these int8 output scales (out_ch of
 * them, or NULL). */
guint64 bs_plan_weights_key (const BsUnetLayer *l, const float *wscale);

/* A new reference to the cached weights for key in format md, or NULL. */
GBytes *bs_plan_weights_lookup (guint64 key, const dnnl_memory_desc_t *md);

/* Caches data (which the cache references) for key in format md. */
void bs_plan_weights_insert (guint64 key, const dnnl_memory_desc_t *md, GBytes *data);

/* For tests and reports: lookups that found their weights, and the bytes held (either may be NULL). */
void bs_plan_weights_stats (guint64 *hits, gsize *bytes);
