/* --mask-labels: a whole-tumour mask, or the regions as a label map. */
#include "cli-mask.h"

#include <glib/gi18n.h>

#include "bs-error.h"
#include "bs-export.h"

const char *const bs_cli_mask_labels_help =
  N_("wt (default): the whole tumour as 0/1; brats: BraTS 2017-2021 labels (1 core, 2 edema, 4 enhancing); "
     "decathlon: 1 edema, 2 non-enhancing, 3 enhancing; input: the case's own convention (brats when it has "
     "none).  All but wt need a model that predicts tumour core and enhancing tumour");

gboolean
bs_cli_mask_labels (const char *option, const BsUnet *net, const char *model_path, const BsCase *c,
                    BsLabelConvention *conv, GError **error)
{
  const char *model = model_path ? model_path : net->path;

  if (option == NULL || g_str_equal (option, "wt"))
    {
      *conv = BS_LABELS_BINARY;
      return TRUE;
    }
  if (g_str_equal (option, "brats"))
    *conv = BS_LABELS_BRATS2017;
  else if (g_str_equal (option, "decathlon"))
    *conv = BS_LABELS_DECATHLON;
  else if (g_str_equal (option, "input"))
    *conv = c && c->label && bs_labels_has_region (c->convention, BS_REGION_TC) ? c->convention
                                                                                : BS_LABELS_BRATS2017;
  else
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                   _("--mask-labels must be wt, input, brats or decathlon, not “%s”"), option);
      return FALSE;
    }
  if (bs_unet_output_index (net, "tc") >= 0 && bs_unet_output_index (net, "et") >= 0)
    return TRUE;
  if (net->config.out_channels <= 1)
    g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                 _("%s predicts the whole tumour only: --mask-labels=%s needs a model with tumour core and "
                   "enhancing tumour outputs (use --mask-labels=wt)"),
                 model ? model : _("the random default model"), option);
  else
    g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                 _("%s does not predict both tumour core and enhancing tumour: --mask-labels=%s needs both "
                   "(use --mask-labels=wt)"),
                 model ? model : _("the random default model"), option);
  return FALSE;
}

BsVolume *
bs_cli_mask_volume (const BsSegmentResult *seg, BsLabelConvention conv, GError **error)
{
  if (conv == BS_LABELS_BINARY)
    return bs_volume_copy (seg->mask);
  return bs_segment_label_map (seg, conv, error);
}
