/* What bs-unet.c, bs-unet-h5.c and bs-unet-calibration.c share and nothing
 * else needs. */
#pragma once

#include <json-glib/json-glib.h>

#include "bs-unet.h"

#define BS_UNET_TOPOLOGY "unet2d-intelai"
#define BS_UNET_DEFAULT_NORMALISATION "zscore-foreground"

/* A network with the layers of config (its missing fields completed) and
 * zeroed weights. */
BsUnet *bs_unet_alloc_zeroed (const BsUnetConfig *config);

/* The JSON text of what b built (g_free). */
char *bs_unet_json_text (JsonBuilder *b);

/* net's stored calibration (net->calibration, not NULL) as the JSON of the
 * brainseg_calibration attribute (g_free). */
char *bs_unet_calibration_to_json (const BsUnet *net);
/* That JSON read into net (bs_unet_set_calibration); a damaged one fails
 * naming path (BS_MODEL_ERROR_FILE; BS_MODEL_ERROR_TOPOLOGY for one of
 * another network). */
gboolean bs_unet_calibration_from_json (const char *path, const char *json, BsUnet *net, GError **error);
