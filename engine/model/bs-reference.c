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

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define CONV_CLONES __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define CONV_CLONES
#endif

/* Sixteen columns a vector (one AVX-512 register; two AVX2 ones) and eight
 * output channels at a time.  Two vectors of eight columns took 22.2 ms a
 * 128x128 slice on the AVX-512 EPYC of 2026-12-06, one of sixteen 17.1. */
#define VL 16
#define XB 1
#define OB 8
typedef float Vec __attribute__ ((vector_size (VL * sizeof (float))));

/* The rows of one block of OB output channels.  in: the input planes with
 * a zero border of pad on every side and pw >= w rounded up to XB * VL + 2 pad
 * columns; wt: [i][ky][kx][OB] (zeros past the last output channel).  Each
 * output is bias + sum over input channels, then kernel rows, then kernel
 * columns, in that order, whatever the blocking (this file is compiled with
 * -ffp-contract=off, so every CPU gives the same sums); a tap that falls on
 * the border adds w * 0. */
static inline __attribute__ ((always_inline)) void
conv_block_body (const float *in, int in_ch, int h, int w, int pw, const int k, const float *wt, const float *bias,
                 int n_out, gboolean relu, float *out)
{
  gsize in_plane = (gsize) (h + k - 1) * pw;

  /* XB blocks of VL columns at once: each weight, read once, serves them all. */
  for (int y = 0; y < h; y++)
    for (int x0 = 0; x0 < w; x0 += XB * VL)
      {
        Vec acc[XB][OB];
        const float *tap = wt;

        for (int b = 0; b < XB; b++)
          for (int j = 0; j < OB; j++)
            for (int e = 0; e < VL; e++)
              acc[b][j][e] = bias[j];
        for (int i = 0; i < in_ch; i++)
          for (int ky = 0; ky < k; ky++)
            {
              const float *row = in + (gsize) i * in_plane + (gsize) (y + ky) * pw + x0;

              for (int kx = 0; kx < k; kx++, tap += OB)
                {
                  Vec v[XB];

                  for (int b = 0; b < XB; b++)
                    memcpy (&v[b], row + kx + b * VL, sizeof v[b]);
                  for (int j = 0; j < OB; j++)
                    for (int b = 0; b < XB; b++)
                      acc[b][j] = acc[b][j] + tap[j] * v[b];
                }
            }
        for (int j = 0; j < n_out; j++)
          {
            float *dst = out + ((gsize) j * h + y) * w + x0;

            for (int e = 0; e < XB * VL && x0 + e < w; e++)
              {
                float a = acc[e / VL][j][e % VL];

                dst[e] = relu ? (a > 0.0f ? a : 0.0f) : a;
              }
          }
      }
}

/* Any k, and k = 3 (every 3x3 layer) with the kernel's loops known to the
 * compiler: the same sums in the same order, without a loop's overhead
 * around every tap. */
CONV_CLONES static void
conv_block (const float *in, int in_ch, int h, int w, int pw, int k, const float *wt, const float *bias,
            int n_out, gboolean relu, float *out)
{
  conv_block_body (in, in_ch, h, w, pw, k, wt, bias, n_out, relu, out);
}

CONV_CLONES static void
conv_block_3 (const float *in, int in_ch, int h, int w, int pw, const float *wt, const float *bias, int n_out,
              gboolean relu, float *out)
{
  conv_block_body (in, in_ch, h, w, pw, 3, wt, bias, n_out, relu, out);
}

/* Same-padded k x k convolution (k odd), optional ReLU: the input is copied
 * once into zero-bordered planes, the weights into blocks of OB output
 * channels, and conv_block sums each output in the plain order above. */
static Tensor
conv_same (const Tensor *in, const BsUnetLayer *l, gboolean relu)
{
  Tensor out = tensor_new (l->out_ch, in->h, in->w);
  int k = l->kh, pad = k / 2;
  int pw = (in->w + XB * VL - 1) / (XB * VL) * (XB * VL) + 2 * pad, ph = in->h + 2 * pad;
  g_autofree float *padded = g_new0 (float, (gsize) l->in_ch * ph * pw);
  g_autofree float *wt = g_new (float, (gsize) l->in_ch * k * k * OB);
  float bias[OB];

  g_assert (l->kh == l->kw);
  for (int i = 0; i < l->in_ch; i++)
    for (int y = 0; y < in->h; y++)
      memcpy (padded + ((gsize) i * ph + y + pad) * pw + pad, plane (in, i) + (gsize) y * in->w,
              sizeof (float) * in->w);
  for (int o0 = 0; o0 < l->out_ch; o0 += OB)
    {
      int n_out = MIN (OB, l->out_ch - o0);

      for (int i = 0; i < l->in_ch; i++)
        for (int t = 0; t < k * k; t++)
          for (int j = 0; j < OB; j++)
            wt[((gsize) i * k * k + t) * OB + j]
              = j < n_out ? l->weights[((gsize) (o0 + j) * l->in_ch + i) * k * k + t] : 0.0f;
      for (int j = 0; j < OB; j++)
        bias[j] = j < n_out ? l->bias[o0 + j] : 0.0f;
      if (k == 3)
        conv_block_3 (padded, l->in_ch, in->h, in->w, pw, wt, bias, n_out, relu, plane (&out, o0));
      else
        conv_block (padded, l->in_ch, in->h, in->w, pw, k, wt, bias, n_out, relu, plane (&out, o0));
    }
  return out;
}

/* 2x2 stride-2 transposed convolution: each input pixel paints a 2x2 block.
 * Each output is its bias plus one product per input channel, added in
 * channel order; one output channel's two rows from an input row take every
 * input channel while they are in cache, even and odd columns side by side
 * so that the compiler can vectorise them. */
CONV_CLONES static void
transconv_channel (const float *in, int in_ch, int h, int w, const float *wk, float *dst)
{
  for (int y = 0; y < h; y++)
    for (int i = 0; i < in_ch; i++)
      for (int ky = 0; ky < 2; ky++)
        {
          const float w0 = wk[i * 4 + ky * 2], w1 = wk[i * 4 + ky * 2 + 1];
          const float *s = in + ((gsize) i * h + y) * w;
          float *d = dst + (gsize) (2 * y + ky) * 2 * w;

          for (int x = 0; x < w; x++)
            {
              d[2 * x] += w0 * s[x];
              d[2 * x + 1] += w1 * s[x];
            }
        }
}

static Tensor
transconv (const Tensor *in, const BsUnetLayer *l)
{
  Tensor out = tensor_new (l->out_ch, in->h * 2, in->w * 2);

  for (int o = 0; o < l->out_ch; o++)
    {
      float *dst = plane (&out, o);

      for (int p = 0; p < out.h * out.w; p++)
        dst[p] = l->bias[o];
      transconv_channel (in->data, l->in_ch, in->h, in->w, l->weights + (gsize) o * l->in_ch * 4, dst);
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
  Tensor x = tensor_new (bs_unet_input_channels (&net->config), h, w);
  Tensor skips[4] = { { 0 } };
  const BsUnetLayer *l = net->layers;
  int li = 0;

  memcpy (x.data, input, sizeof (float) * bs_unet_input_channels (&net->config) * h * w);
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
    forward_one (net, input + (gsize) s * bs_unet_input_channels (&net->config) * h * w, h, w,
                 probs + (gsize) s * net->config.out_channels * h * w, NULL, NULL);
}
