/* Plain-C steps of the fused int8 plan: the 1x1 convolution to one channel
 * + sigmoid at the end, and max pooling fused with the copy of the skip
 * tensor into its concat buffer.  Both are memory-bound loops that oneDNN
 * 2.6 runs slowly on 16-32 int8 channels.
 *
 * Built on its own with -fno-trapping-math (see engine/meson.build): without
 * it GCC keeps the sigmoid's clamps as branches and does not vectorise the
 * loop.  With GCC on x86-64 the functions are also cloned for AVX2 and
 * AVX-512 machines; the code itself is plain C. */
#include <string.h>

#include "bs-plan-kernels.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define HEAD_CLONES __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define HEAD_CLONES
#endif

/* 1 / (1 + e^-z) with e^-z = 2^n * 2^f, |f| <= 1/2, and 2^f from a degree-6
 * Taylor polynomial of e^(f ln 2): within 1.2e-7 of the expf version, and
 * free of calls so that the loop vectorises.  Clamping z to +-80 keeps 2^n
 * a normal float. */
static inline float
sigmoid (float z)
{
  float t = z > 80.0f ? 80.0f : z;
  t = t < -80.0f ? -80.0f : t;
  float x = -t * 1.44269504f;                  /* -z / ln 2 */
  float n = (x + 12582912.0f) - 12582912.0f;   /* rounded to an integer (1.5 * 2^23) */
  float f = (x - n) * 0.693147181f;
  float p = 1.0f + f * (1.0f + f * (1.0f / 2 + f * (1.0f / 6 + f * (1.0f / 24 + f * (1.0f / 120 + f * (1.0f / 720))))));
  union { gint32 i; float f; } two_n = { .i = ((gint32) n + 127) << 23 };
  return 1.0f / (1.0f + p * two_n.f);
}

HEAD_CLONES void
bs_plan_head_run (const guint8 *src, int c, const float *w, float bias, gsize p0, gsize p1, float *out)
{
  /* fms 16 (the shipped model) gets a constant trip count, which the
   * compiler vectorises across pixels. */
  if (c == 16)
    for (gsize p = p0; p < p1; p++)
      {
        const guint8 *x = src + p * 16;
        float z = bias;
        for (int k = 0; k < 16; k++)
          z += w[k] * x[k];
        out[p] = z;
      }
  else
    for (gsize p = p0; p < p1; p++)
      {
        const guint8 *x = src + p * c;
        float z = bias;
        for (int k = 0; k < c; k++)
          z += w[k] * x[k];
        out[p] = z;
      }
  for (gsize p = p0; p < p1; p++)
    out[p] = sigmoid (out[p]);
}

static inline __attribute__ ((always_inline)) void
pool_copy_row (const gint8 *row0, const gint8 *row1, int w, int c, gint8 *pooled, gint8 *cat0, gint8 *cat1,
               int c_cat, int offset_c)
{
  for (int x = 0; x < w; x += 2)
    {
      const gint8 *a = row0 + x * c, *b = a + c, *d = row1 + x * c, *e = d + c;
      gint8 *out = pooled + (x / 2) * c;

      for (int k = 0; k < c; k++)
        {
          gint8 m0 = a[k] > b[k] ? a[k] : b[k], m1 = d[k] > e[k] ? d[k] : e[k];
          out[k] = m0 > m1 ? m0 : m1;
        }
      memcpy (cat0 + x * c_cat + offset_c, a, c);
      memcpy (cat0 + (x + 1) * c_cat + offset_c, b, c);
      memcpy (cat1 + x * c_cat + offset_c, d, c);
      memcpy (cat1 + (x + 1) * c_cat + offset_c, e, c);
    }
}

HEAD_CLONES void
bs_plan_pool_copy_row (const gint8 *row0, const gint8 *row1, int w, int c, gint8 *pooled, gint8 *cat0, gint8 *cat1,
                       int c_cat, int offset_c)
{
  /* The U-Net's first two levels with fms 16 get constant channel counts. */
  if (c == 16)
    pool_copy_row (row0, row1, w, 16, pooled, cat0, cat1, c_cat, offset_c);
  else if (c == 32)
    pool_copy_row (row0, row1, w, 32, pooled, cat0, cat1, c_cat, offset_c);
  else
    pool_copy_row (row0, row1, w, c, pooled, cat0, cat1, c_cat, offset_c);
}
