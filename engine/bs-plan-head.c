/* The fused int8 plan's PredictionMask: a 1x1 convolution to one channel and
 * a sigmoid, on convOutb's u8 output.
 *
 * Built on its own with -fno-trapping-math (see engine/meson.build): without
 * it GCC keeps the sigmoid's clamps as branches and does not vectorise the
 * loop.  With GCC on x86-64 the function is also cloned for AVX2 and AVX-512
 * machines; the code itself is plain C. */
#include "bs-plan-head.h"

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
