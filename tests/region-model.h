/* A region model for tests: the shipped whole-tumour model (brainseg-wt.h5) with its head
 * copied to TC and ET outputs whose biases are lowered (so they mark less of
 * the same tumour, nested), saved in dir. */
#pragma once

#include <glib.h>

/* The file's path, or NULL when no shipped model is built (error unset). */
char *bs_test_region_model (const char *dir, GError **error);
/* A 2.5D model: the shipped default model widened to one neighbouring slice
 * on each side, whose neighbour weights are 0.3 (slice - 1) and -0.2 (slice
 * + 1) times the slice's own, so that the neighbours and their order count;
 * saved in dir.  NULL when no shipped model is built (error unset). */
char *bs_test_context_model (const char *dir, GError **error);
