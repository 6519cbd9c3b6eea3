/* The training losses: soft Dice and soft Dice + binary cross-entropy, with
 * their gradient with respect to the predicted probabilities. */
#include <math.h>

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
