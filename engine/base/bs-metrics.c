#include "bs-metrics.h"

void
bs_confusion_add (BsConfusion *c, const float *pred, const float *truth, size_t n)
{
  guint64 tp = 0, fp = 0, fn = 0, tn = 0;

  for (size_t i = 0; i < n; i++)
    {
      gboolean p = pred[i] > 0.5f, t = truth[i] > 0.5f;
      tp += p && t;
      fp += p && !t;
      fn += !p && t;
      tn += !p && !t;
    }
  c->tp += tp;
  c->fp += fp;
  c->fn += fn;
  c->tn += tn;
}

double
bs_confusion_dice (const BsConfusion *c)
{
  guint64 denom = 2 * c->tp + c->fp + c->fn;

  if (denom == 0)
    return 1.0;
  return 2.0 * c->tp / (double) denom;
}

double
bs_dice (const float *pred, const float *truth, size_t n)
{
  BsConfusion c = { 0 };

  bs_confusion_add (&c, pred, truth, n);
  return bs_confusion_dice (&c);
}

void
bs_confusion_merge (BsConfusion *into, const BsConfusion *c)
{
  into->tp += c->tp;
  into->fp += c->fp;
  into->fn += c->fn;
  into->tn += c->tn;
}
