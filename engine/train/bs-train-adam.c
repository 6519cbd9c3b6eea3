/* Adam (Keras' defaults), updating the network's OIHW weights in place from
 * the gradients of a training graph's last backward pass. */
#include <math.h>

#include "bs-train-private.h"

struct _BsAdam {
  double lr, beta1, beta2, eps;
  int t;
  int n_layers;
  float **m, **v;  /* per layer: weights then bias */
};

BsAdam *
bs_adam_new (const BsUnet *net, double lr)
{
  BsAdam *a = g_new0 (BsAdam, 1);

  a->lr = lr;
  a->beta1 = 0.9;
  a->beta2 = 0.999;
  a->eps = 1e-7;  /* Keras' default */
  a->n_layers = net->n_layers;
  a->m = g_new0 (float *, net->n_layers * 2);
  a->v = g_new0 (float *, net->n_layers * 2);
  for (int i = 0; i < net->n_layers; i++)
    {
      const BsUnetLayer *L = &net->layers[i];
      gsize wn = (gsize) L->out_ch * L->in_ch * L->kh * L->kw;
      a->m[2 * i] = g_new0 (float, wn);
      a->v[2 * i] = g_new0 (float, wn);
      a->m[2 * i + 1] = g_new0 (float, L->out_ch);
      a->v[2 * i + 1] = g_new0 (float, L->out_ch);
    }
  return a;
}

void
bs_adam_free (BsAdam *a)
{
  if (!a)
    return;
  for (int i = 0; i < a->n_layers * 2; i++)
    {
      g_free (a->m[i]);
      g_free (a->v[i]);
    }
  g_free (a->m);
  g_free (a->v);
  g_free (a);
}

static void
adam_update (float *w, const float *grad, float *m, float *v, gsize n, float lr_t, float b1, float b2, float eps)
{
#pragma omp parallel for
  for (gsize i = 0; i < n; i++)
    {
      float gr = grad[i];
      m[i] = b1 * m[i] + (1.0f - b1) * gr;
      v[i] = b2 * v[i] + (1.0f - b2) * gr * gr;
      w[i] -= lr_t * m[i] / (sqrtf (v[i]) + eps);
    }
}

void
bs_adam_step (BsAdam *a, BsUnet *net, BsTrainGraph *g)
{
  double lr_t;

  a->t++;
  lr_t = a->lr * sqrt (1.0 - pow (a->beta2, a->t)) / (1.0 - pow (a->beta1, a->t));
  for (int i = 0; i < net->n_layers; i++)
    {
      BsUnetLayer *L = &net->layers[i];
      const float *dw, *db;
      gsize wn = (gsize) L->out_ch * L->in_ch * L->kh * L->kw;

      bs_train_graph_get_grads (g, i, &dw, &db);
      adam_update (L->weights, dw, a->m[2 * i], a->v[2 * i], wn, (float) lr_t, (float) a->beta1,
                   (float) a->beta2, (float) a->eps);
      adam_update (L->bias, db, a->m[2 * i + 1], a->v[2 * i + 1], L->out_ch, (float) lr_t, (float) a->beta1,
                   (float) a->beta2, (float) a->eps);
    }
}

int
bs_adam_get_step (const BsAdam *a)
{
  return a->t;
}

void
bs_adam_set_step (BsAdam *a, int t)
{
  a->t = t;
}

void
bs_adam_get_moments (BsAdam *a, int layer, gboolean bias, float **m, float **v)
{
  g_return_if_fail (layer >= 0 && layer < a->n_layers);
  *m = a->m[2 * layer + (bias ? 1 : 0)];
  *v = a->v[2 * layer + (bias ? 1 : 0)];
}
