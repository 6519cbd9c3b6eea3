/* A region model for tests: the shipped whole-tumour model (brainseg-wt.h5) with its head
 * copied to TC and ET outputs whose biases are lowered (so they mark less of
 * the same tumour, nested), saved in dir. */
#pragma once

#include <glib.h>

/* The file's path, or NULL when no shipped model is built (error unset). */
char *bs_test_region_model (const char *dir, GError **error);
