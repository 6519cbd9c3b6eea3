/* BsSession's BraTS regions: which one the TP / FP / FN colours and the
 * per-slice chart show, the predicted region masks (nested inside the whole
 * tumour, as the pipeline makes them) and their counts against the truth. */
#include <string.h>

#include "bs-session-private.h"

gboolean
bs_session_model_has_region (BsSession *self, BsRegion region)
{
  g_return_val_if_fail (BS_IS_SESSION (self), FALSE);
  if (self->model == NULL || self->prob == NULL)
    return FALSE;
  return bs_session_region_channel (self, region) >= 0;
}

/* Channel of the probability volume holding region, or -1. */
int
bs_session_region_channel (BsSession *self, BsRegion region)
{
  int k;

  if (self->model == NULL || self->prob == NULL || region < 0 || region >= BS_N_REGIONS)
    return -1;
  k = bs_unet_output_index (self->model, bs_region_name (region));
  return k >= 0 && k < self->prob->n_channels ? k : -1;
}

BsRegion
bs_session_get_region (BsSession *self)
{
  g_return_val_if_fail (BS_IS_SESSION (self), BS_REGION_WT);
  return self->region;
}

void
bs_session_set_region (BsSession *self, BsRegion region)
{
  g_return_if_fail (BS_IS_SESSION (self));
  g_return_if_fail (region >= 0 && region < BS_N_REGIONS);
  if (self->region == region)
    return;
  self->region = region;
  bs_session_notify (self, PROP_REGION);
  g_signal_emit (self, bs_session_signals[SIGNAL_RESULTS_CHANGED], 0, 0, -1);
}

/* The pipeline's nesting (bs_regions_from_probs): the clean-up of the whole
 * tumour (which zeroes its probability) removes the regions inside it too. */
void
bs_session_region_mask (const float *const *probs, const int *channels, BsRegion region, gsize n, float *out)
{
  const float *by_region[BS_N_REGIONS];
  float *outs[BS_N_REGIONS] = { NULL };

  for (int r = 0; r < BS_N_REGIONS; r++)
    by_region[r] = channels[r] >= 0 ? probs[channels[r]] : NULL;
  outs[region] = out;
  bs_regions_from_probs (by_region, n, outs[BS_REGION_WT], outs[BS_REGION_TC], outs[BS_REGION_ET]);
}

gboolean
bs_session_get_region_slice (BsSession *self, BsRegion region, BsPlane plane, int s, float *out)
{
  int channels[BS_N_REGIONS] = { 0 }, w, h;
  const float *probs[BS_N_REGIONS] = { NULL };
  g_autofree float *buf = NULL;
  gsize px;

  g_return_val_if_fail (BS_IS_SESSION (self), FALSE);
  if (self->prob == NULL || s < 0 || s >= bs_volume_n_slices (self->prob, plane))
    return FALSE;
  for (int r = 0; r < BS_N_REGIONS; r++)
    channels[r] = bs_session_region_channel (self, r);
  if (channels[region] < 0)
    return FALSE;
  bs_volume_slice_size (self->prob, plane, &w, &h);
  px = (gsize) w * h;
  buf = g_new (float, px * self->prob->n_channels);
  for (int c = 0; c < self->prob->n_channels; c++)
    {
      bs_volume_get_slice (self->prob, c, plane, s, buf + px * c);
    }
  for (int r = 0; r < BS_N_REGIONS; r++)
    if (channels[r] >= 0)
      probs[channels[r]] = buf + px * channels[r];
  bs_session_region_mask (probs, channels, region, px, out);
  return TRUE;
}

gboolean
bs_session_get_region_slice_confusion (BsSession *self, BsRegion region, int s, BsConfusion *conf,
                                       gboolean *truth_empty)
{
  const BsVolume *truth;
  g_autofree float *p = NULL, *t = NULL;
  int w, h;

  g_return_val_if_fail (BS_IS_SESSION (self), FALSE);
  if (region == BS_REGION_WT)
    return bs_session_get_slice_confusion (self, s, conf, truth_empty);
  truth = bs_session_get_truth_region (self, region);
  if (truth == NULL || !bs_session_slice_is_computed (self, s) || bs_session_region_channel (self, region) < 0)
    return FALSE;
  bs_volume_slice_size (self->prob, self->plane, &w, &h);
  p = g_new (float, (gsize) w * h);
  t = g_new (float, (gsize) w * h);
  if (!bs_session_get_region_slice (self, region, self->plane, s, p))
    return FALSE;
  bs_volume_get_slice (truth, 0, self->plane, s, t);
  memset (conf, 0, sizeof *conf);
  bs_confusion_add (conf, p, t, (gsize) w * h);
  if (truth_empty)
    *truth_empty = bs_session_truth_slice_empty (t, (gsize) w * h);
  return TRUE;
}

gboolean
bs_session_get_region_metrics (BsSession *self, BsRegion region, BsRegionMetrics *m)
{
  g_return_val_if_fail (BS_IS_SESSION (self), FALSE);
  if (region < 0 || region >= BS_N_REGIONS || !self->region_metrics_valid[region])
    return FALSE;
  *m = self->region_metrics[region];
  return TRUE;
}

gboolean
bs_session_get_region_raw_dice (BsSession *self, BsRegion region, double *dice)
{
  g_return_val_if_fail (BS_IS_SESSION (self), FALSE);
  if (region <= BS_REGION_WT || region >= BS_N_REGIONS || !self->cleanup_applied || !self->region_raw_valid[region])
    return FALSE;
  *dice = self->region_raw_dice[region];
  return TRUE;
}
