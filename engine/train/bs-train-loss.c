/* The training losses: soft Dice and soft Dice + binary cross-entropy, with
 * their gradient with respect to the predicted probabilities. */
#include <math.h>
#include <string.h>

#include "bs-train-private.h"

const char *
bs_train_loss_name (BsTrainLoss loss)
{
  return loss == BS_TRAIN_LOSS_DICE_BCE ? "dice+bce" : "dice";
}

gboolean
bs_train_loss_from_string (const char *s, BsTrainLoss *loss)
{
  if (g_ascii_strcasecmp (s, "dice") == 0)
    *loss = BS_TRAIN_LOSS_DICE;
  else if (g_ascii_strcasecmp (s, "dice+bce") == 0 || g_ascii_strcasecmp (s, "dice_bce") == 0)
    *loss = BS_TRAIN_LOSS_DICE_BCE;
  else
    return FALSE;
  return TRUE;
}

/* Soft Dice over the whole batch (as the IntelAI Keras code reduces it):
 *   D = (2 I + s) / (P + T + s),  I = sum p t,  P = sum p,  T = sum t
 *   dice loss = -log D,  d/dp_i = -2 t_i / (2 I + s) + 1 / (P + T + s)
 * BCE is the mean over pixels with p clipped away from 0 and 1, like Keras. */
double
bs_train_loss (BsTrainLoss loss, double weight_dice, const float *probs, const float *target, gsize n,
               float *dprobs)
{
  const double s = BS_TRAIN_DICE_SMOOTH, eps = 1e-7;
  double I = 0, P = 0, T = 0, bce = 0, wd, wb, value;

  wd = loss == BS_TRAIN_LOSS_DICE ? 1.0 : weight_dice;
  wb = 1.0 - wd;
#pragma omp parallel for reduction(+ : I, P, T, bce)
  for (gsize i = 0; i < n; i++)
    {
      double p = probs[i], t = target[i];
      I += p * t;
      P += p;
      T += t;
      if (wb != 0.0)
        {
          double pc = CLAMP (p, eps, 1.0 - eps);
          bce -= t * log (pc) + (1.0 - t) * log (1.0 - pc);
        }
    }
  value = wd * -log ((2.0 * I + s) / (P + T + s)) + wb * bce / (double) n;
  if (dprobs)
    {
      double a = 2.0 / (2.0 * I + s), b = 1.0 / (P + T + s);
#pragma omp parallel for
      for (gsize i = 0; i < n; i++)
        {
          double p = probs[i], t = target[i], d = wd * (b - a * t);
          if (wb != 0.0)
            {
              double pc = CLAMP (p, eps, 1.0 - eps);
              if (pc == p)
                d += wb * (-t / pc + (1.0 - t) / (1.0 - pc)) / (double) n;
            }
          dprobs[i] = (float) d;
        }
    }
  return value;
}

/* Whether output k has a valid plane among the n slices. */
static gboolean
output_counted (const float *valid, int n, int n_out, int k)
{
  for (int i = 0; i < n; i++)
    if (!valid || valid[(gsize) i * n_out + k] != 0.0f)
      return TRUE;
  return FALSE;
}

double
bs_train_loss_outputs (BsTrainLoss loss, double weight_dice, double weight_wt, const float *probs,
                       const float *target, const float *valid, int n, int n_out, gsize hw, float *dprobs)
{
  g_autofree float *p = NULL;
  g_autofree float *t = NULL;
  g_autofree float *d = NULL;
  double sum = 0.0, share[BS_N_REGIONS];
  int used = 0;
  gboolean weighted;

  if (n_out == 1)
    {
      gboolean all = TRUE;
      for (int i = 0; valid && i < n; i++)
        all = all && valid[i] != 0.0f;
      if (all)
        return bs_train_loss (loss, weight_dice, probs, target, (gsize) n * hw, dprobs);
    }
  /* Each counted output's share of the loss: alike, or the whole tumour's
   * weight_wt and the rest split. */
  g_return_val_if_fail (n_out <= BS_N_REGIONS, 0.0);
  for (int k = 0; k < n_out; k++)
    used += output_counted (valid, n, n_out, k);
  if (used == 0)
    {
      if (dprobs)
        memset (dprobs, 0, (gsize) n * n_out * hw * sizeof (float));
      return 0.0;
    }
  weighted = weight_wt > 0.0 && weight_wt < 1.0 && used > 1 && output_counted (valid, n, n_out, 0);
  for (int k = 0; k < n_out; k++)
    share[k] = !weighted ? 1.0 / used : k == 0 ? weight_wt : (1.0 - weight_wt) / (used - 1);
  /* Each output's valid planes gathered into one run, so that the Dice is
   * over the batch as for a single output. */
  p = g_new (float, (gsize) n * hw);
  t = g_new (float, (gsize) n * hw);
  d = dprobs ? g_new (float, (gsize) n * hw) : NULL;
  for (int k = 0; k < n_out; k++)
    {
      int m = 0;
      for (int i = 0; i < n; i++)
        if (!valid || valid[(gsize) i * n_out + k] != 0.0f)
          {
            memcpy (p + (gsize) m * hw, probs + ((gsize) i * n_out + k) * hw, hw * sizeof (float));
            memcpy (t + (gsize) m * hw, target + ((gsize) i * n_out + k) * hw, hw * sizeof (float));
            m++;
          }
      if (m == 0)
        {
          /* No slice tells this output: no gradient (not the last batch's). */
          for (int i = 0; dprobs && i < n; i++)
            memset (dprobs + ((gsize) i * n_out + k) * hw, 0, hw * sizeof (float));
          continue;
        }
      sum += share[k] * bs_train_loss (loss, weight_dice, p, t, (gsize) m * hw, d);
      if (!dprobs)
        continue;
      m = 0;
      for (int i = 0; i < n; i++)
        {
          float *dst = dprobs + ((gsize) i * n_out + k) * hw;
          if (!valid || valid[(gsize) i * n_out + k] != 0.0f)
            {
              const float *src = d + (gsize) m++ * hw;
              for (gsize j = 0; j < hw; j++)
                dst[j] = (float) (share[k] * src[j]);
            }
          else
            memset (dst, 0, hw * sizeof (float));
        }
    }
  return sum;
}
