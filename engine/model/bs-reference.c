/* The plain-C forward pass: the oracle every oneDNN plan is checked against.
 * Written to be obviously right rather than fast: one slice at a time, NCHW
 * float, plain loops, every intermediate tensor materialised. */
#include <math.h>
#include <string.h>

#include "bs-reference.h"

typedef struct {
  int c, h, w;
  float *data;  /* c x h x w */
} Tensor;

static Tensor
tensor_new (int c, int h, int w)
{
  Tensor t = { c, h, w, g_new0 (float, (gsize) c * h * w) };
  return t;
}

static void
tensor_clear (Tensor *t)
{
  g_clear_pointer (&t->data, g_free);
}

static inline float *
plane (const Tensor *t, int c)
{
  return t->data + (gsize) c * t->h * t->w;
}

/* Same-padded k x k convolution (k odd), optional ReLU. */
static Tensor
conv_same (const Tensor *in, const BsUnetLayer *l, gboolean relu)
{
  Tensor out = tensor_new (l->out_ch, in->h, in->w);
  int pad = l->kh / 2;

  for (int o = 0; o < l->out_ch; o++)
    {
      float *dst = plane (&out, o);

      for (int p = 0; p < in->h * in->w; p++)
        dst[p] = l->bias[o];
      for (int i = 0; i < l->in_ch; i++)
        {
          const float *src = plane (in, i);

          for (int ky = 0; ky < l->kh; ky++)
            for (int kx = 0; kx < l->kw; kx++)
              {
                float wgt = l->weights[(((gsize) o * l->in_ch + i) * l->kh + ky) * l->kw + kx];

                /* Output columns whose input column x + kx - pad lies inside the image. */
                int x0 = MAX (0, pad - kx), x1 = MIN (in->w, in->w + pad - kx);

                for (int y = 0; y < in->h; y++)
                  {
                    int sy = y + ky - pad;
                    if (sy < 0 || sy >= in->h)
                      continue;
                    for (int x = x0; x < x1; x++)
                      dst[y * in->w + x] += wgt * src[sy * in->w + x + kx - pad];
                  }
              }
        }
      if (relu)
        for (int p = 0; p < in->h * in->w; p++)
          dst[p] = dst[p] > 0.0f ? dst[p] : 0.0f;
    }
  return out;
}

/* 2x2 stride-2 transposed convolution: each input pixel paints a 2x2 block. */
static Tensor
transconv (const Tensor *in, const BsUnetLayer *l)
{
  Tensor out = tensor_new (l->out_ch, in->h * 2, in->w * 2);

  for (int o = 0; o < l->out_ch; o++)
    {
      float *dst = plane (&out, o);

      for (int p = 0; p < out.h * out.w; p++)
        dst[p] = l->bias[o];
      for (int i = 0; i < l->in_ch; i++)
        {
          const float *src = plane (in, i);

          for (int y = 0; y < in->h; y++)
            for (int x = 0; x < in->w; x++)
              for (int ky = 0; ky < 2; ky++)
                for (int kx = 0; kx < 2; kx++)
                  dst[(2 * y + ky) * out.w + 2 * x + kx]
                    += l->weights[(((gsize) o * l->in_ch + i) * 2 + ky) * 2 + kx] * src[y * in->w + x];
        }
    }
  return out;
}

static Tensor
upsample_nearest (const Tensor *in)
{
  Tensor out = tensor_new (in->c, in->h * 2, in->w * 2);

  for (int c = 0; c < in->c; c++)
    for (int y = 0; y < out.h; y++)
      for (int x = 0; x < out.w; x++)
        plane (&out, c)[y * out.w + x] = plane (in, c)[(y / 2) * in->w + x / 2];
  return out;
}

static Tensor
maxpool2 (const Tensor *in)
{
  Tensor out = tensor_new (in->c, in->h / 2, in->w / 2);

  for (int c = 0; c < in->c; c++)
    for (int y = 0; y < out.h; y++)
      for (int x = 0; x < out.w; x++)
        {
          const float *s = plane (in, c);
          float m = s[2 * y * in->w + 2 * x];
          m = MAX (m, s[2 * y * in->w + 2 * x + 1]);
          m = MAX (m, s[(2 * y + 1) * in->w + 2 * x]);
          m = MAX (m, s[(2 * y + 1) * in->w + 2 * x + 1]);
          plane (&out, c)[y * out.w + x] = m;
        }
  return out;
}

/* Channels of a first, then b (Keras concatenate([up, skip], axis=-1)). */
static Tensor
concat (const Tensor *a, const Tensor *b)
{
  Tensor out = tensor_new (a->c + b->c, a->h, a->w);
  gsize hw = (gsize) a->h * a->w;

  memcpy (out.data, a->data, sizeof (float) * a->c * hw);
  memcpy (out.data + a->c * hw, b->data, sizeof (float) * b->c * hw);
  return out;
}

static void
observe (BsReferenceObserver observer, gpointer user_data, int layer, const Tensor *t)
{
  if (observer)
    observer (layer, t->data, t->c, t->h, t->w, user_data);
}

static void
forward_one (const BsUnet *net, const float *input, int h, int w, float *probs,
             BsReferenceObserver observer, gpointer user_data)
{
  Tensor x = tensor_new (net->config.in_channels, h, w);
  Tensor skips[4] = { { 0 } };
  const BsUnetLayer *l = net->layers;
  int li = 0;

  memcpy (x.data, input, sizeof (float) * net->config.in_channels * h * w);
  observe (observer, user_data, -1, &x);

  /* Encoder: four levels of conv, conv, pool (keeping the skip), then the bottom. */
  for (int level = 0; level < 5; level++)
    {
      for (int k = 0; k < 2; k++)
        {
          Tensor y = conv_same (&x, &l[li], TRUE);
          observe (observer, user_data, li++, &y);
          tensor_clear (&x);
          x = y;
        }
      if (level < 4)
        {
          skips[level] = x;
          x = maxpool2 (&skips[level]);
        }
    }

  /* Decoder: upsample, concat [up, skip], conv, conv. */
  for (int level = 3; level >= 0; level--)
    {
      Tensor up, cat;

      if (net->config.upsample == BS_UPSAMPLE_TRANSPOSED)
        {
          up = transconv (&x, &l[li]);
          observe (observer, user_data, li++, &up);
        }
      else
        up = upsample_nearest (&x);
      tensor_clear (&x);
      cat = concat (&up, &skips[level]);
      tensor_clear (&up);
      tensor_clear (&skips[level]);
      x = cat;
      for (int k = 0; k < 2; k++)
        {
          Tensor y = conv_same (&x, &l[li], TRUE);
          observe (observer, user_data, li++, &y);
          tensor_clear (&x);
          x = y;
        }
    }

  {
    Tensor logits = conv_same (&x, &l[li], FALSE);
    observe (observer, user_data, li++, &logits);
    /* One sigmoid per output channel, channel-major like every tensor here. */
    for (gsize p = 0; p < (gsize) logits.c * h * w; p++)
      probs[p] = 1.0f / (1.0f + expf (-logits.data[p]));
    tensor_clear (&logits);
  }
  tensor_clear (&x);
  g_assert (li == net->n_layers);
}

void
bs_reference_forward_observed (const BsUnet *net, const float *input, int h, int w, float *probs,
                               BsReferenceObserver observer, gpointer user_data)
{
  g_return_if_fail (h % 16 == 0 && w % 16 == 0);
  forward_one (net, input, h, w, probs, observer, user_data);
}

void
bs_reference_forward (const BsUnet *net, const float *input, int n, int h, int w, float *probs)
{
  g_return_if_fail (h % 16 == 0 && w % 16 == 0);

  for (int s = 0; s < n; s++)
    forward_one (net, input + (gsize) s * net->config.in_channels * h * w, h, w,
                 probs + (gsize) s * net->config.out_channels * h * w, NULL, NULL);
}
