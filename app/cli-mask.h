/* --mask-labels of brainseg-cli infer and export: what a written mask holds. */
#pragma once

#include "bs-dataset.h"
#include "bs-labels.h"
#include "bs-segment.h"
#include "bs-unet.h"

G_BEGIN_DECLS

/* The option's help text (untranslated, as GOptionEntry takes it). */
extern const char *const bs_cli_mask_labels_help;

/* The label convention of the mask to write for case c: "wt" (or NULL) is
 * BS_LABELS_BINARY, "brats" BraTS 2017-2021, "decathlon" Decathlon, "input"
 * the case's convention when it has sub-regions, else BraTS 2017-2021.  FALSE
 * with a message for another value, or when net (from model_path, NULL for
 * the random default) does not predict the sub-regions the convention needs. */
gboolean bs_cli_mask_labels (const char *option, const BsUnet *net, const char *model_path, const BsCase *c,
                             BsLabelConvention *conv, GError **error);

/* The volume to write: seg's whole-tumour mask for BS_LABELS_BINARY, else
 * its label map in conv (bs_segment_label_map). */
BsVolume *bs_cli_mask_volume (const BsSegmentResult *seg, BsLabelConvention conv, GError **error);

G_END_DECLS
