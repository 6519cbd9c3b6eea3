/* What bs-unet.c and bs-unet-h5.c share and nothing else needs. */
#pragma once

#include "bs-unet.h"

#define BS_UNET_TOPOLOGY "unet2d-intelai"
#define BS_UNET_DEFAULT_NORMALISATION "zscore-foreground"

/* A network with the layers of config (its missing fields completed) and
 * zeroed weights. */
BsUnet *bs_unet_alloc_zeroed (const BsUnetConfig *config);
