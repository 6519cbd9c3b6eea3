/* The CPU's peak, measured: a short loop of independent fused multiply-adds
 * (or VNNI / bf16 dot products) on every thread, so that bench's "% of peak"
 * is a fraction of what this CPU really does, not of a clock read from
 * /proc/cpuinfo (which said 268 GFLOP/s on a 2-core EPYC that measures 340). */
#include <glib.h>
#include <omp.h>

#include "bs-plan.h"
#include "bs-timing.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* 12 independent chains cover the latency (4 cycles) of two FMA pipes; they
 * are spelled out so that every accumulator stays in a register. */
#define CHAINS 12
#define STEP12(OP)                                                                                            \
  do                                                                                                          \
    {                                                                                                         \
      a0 = OP (a0); a1 = OP (a1); a2 = OP (a2); a3 = OP (a3); a4 = OP (a4); a5 = OP (a5);                     \
      a6 = OP (a6); a7 = OP (a7); a8 = OP (a8); a9 = OP (a9); a10 = OP (a10); a11 = OP (a11);                 \
    }                                                                                                         \
  while (0)

#define DECL12(T, INIT) T a0 = INIT (0), a1 = INIT (1), a2 = INIT (2), a3 = INIT (3), a4 = INIT (4), a5 = INIT (5), \
  a6 = INIT (6), a7 = INIT (7), a8 = INIT (8), a9 = INIT (9), a10 = INIT (10), a11 = INIT (11)
#define SUM12(R) (R (a0) + R (a1) + R (a2) + R (a3) + R (a4) + R (a5) + R (a6) + R (a7) + R (a8) + R (a9) + \
  R (a10) + R (a11))

__attribute__ ((target ("avx512f"))) static float
loop_avx512_fp32 (long iters)
{
  const __m512 m = _mm512_set1_ps (0.999999f), c = _mm512_set1_ps (1e-7f);
#define INIT(k) _mm512_set1_ps ((float) (k))
#define OP(x) _mm512_fmadd_ps (x, m, c)
  DECL12 (__m512, INIT);
  for (long i = 0; i < iters; i++)
    STEP12 (OP);
  return SUM12 (_mm512_reduce_add_ps);
#undef INIT
#undef OP
}

__attribute__ ((target ("avx2,fma"))) static float
hsum256 (__m256 v)
{
  float out[8], s = 0.0f;

  _mm256_storeu_ps (out, v);
  for (int j = 0; j < 8; j++)
    s += out[j];
  return s;
}

__attribute__ ((target ("avx2,fma"))) static float
loop_avx2_fp32 (long iters)
{
  const __m256 m = _mm256_set1_ps (0.999999f), c = _mm256_set1_ps (1e-7f);
#define INIT(k) _mm256_set1_ps ((float) (k))
#define OP(x) _mm256_fmadd_ps (x, m, c)
  DECL12 (__m256, INIT);
  for (long i = 0; i < iters; i++)
    STEP12 (OP);
  return SUM12 (hsum256);
#undef INIT
#undef OP
}

__attribute__ ((target ("avx512f,avx512vnni"))) static float
loop_avx512_vnni (long iters)
{
  const __m512i x = _mm512_set1_epi8 (3), y = _mm512_set1_epi8 (-2);
#define INIT(k) _mm512_set1_epi32 (k)
#define OP(v) _mm512_dpbusd_epi32 (v, x, y)
#define R(v) ((float) _mm512_reduce_add_epi32 (v))
  DECL12 (__m512i, INIT);
  for (long i = 0; i < iters; i++)
    STEP12 (OP);
  return SUM12 (R);
#undef INIT
#undef OP
#undef R
}

__attribute__ ((target ("avx512f,avx512bf16"))) static float
loop_avx512_bf16 (long iters)
{
  const __m512bh x = (__m512bh) _mm512_set1_epi16 (0x3f80), y = (__m512bh) _mm512_set1_epi16 (0x3400);
#define INIT(k) _mm512_set1_ps ((float) (k))
#define OP(v) _mm512_dpbf16_ps (v, x, y)
  DECL12 (__m512, INIT);
  for (long i = 0; i < iters; i++)
    STEP12 (OP);
  return SUM12 (_mm512_reduce_add_ps);
#undef INIT
#undef OP
}

typedef float (*PeakLoop) (long iters);

/* The loop for a precision on this CPU and the operations one iteration of one chain counts. */
static PeakLoop
pick_loop (BsPrecision p, double *ops)
{
  __builtin_cpu_init ();
  if (p == BS_PRECISION_INT8 && __builtin_cpu_supports ("avx512vnni"))
    {
      *ops = 16 * 4 * 2;
      return loop_avx512_vnni;
    }
  if (p == BS_PRECISION_BF16 && __builtin_cpu_supports ("avx512bf16"))
    {
      *ops = 16 * 2 * 2;
      return loop_avx512_bf16;
    }
  if (p != BS_PRECISION_FP32)
    return NULL;   /* no dot-product instructions: the formula's multiple of fp32 */
  if (__builtin_cpu_supports ("avx512f"))
    {
      *ops = 16 * 2;
      return loop_avx512_fp32;
    }
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    {
      *ops = 8 * 2;
      return loop_avx2_fp32;
    }
  return NULL;
}
#endif

static volatile float peak_sink;

double
bs_cpu_measure_peak_gflops (BsPrecision p, int threads)
{
#if defined(__x86_64__) && defined(__GNUC__)
  double ops = 0.0, best = 0.0;
  PeakLoop loop = pick_loop (p, &ops);
  const long iters = 200000;   /* about 1 ms per thread at 3 GHz */

  if (threads <= 0)
    threads = bs_cpu_cores ();
  if (loop == NULL)
    return 0.0;
  /* Best of several short runs: the first pays for frequency ramp-up, and a
   * busy machine only ever makes a run slower.  The runs are spread over
   * some 30 ms, not run back to back, so that a slow moment of a shared
   * host does not hold all of them. */
  for (int rep = 0; rep < 24; rep++)
    {
      double t0, ms;
      float sink = 0.0f;

      if (rep > 0)
        g_usleep (1000);
      t0 = bs_now_ms ();

#pragma omp parallel num_threads (threads) reduction (+:sink)
      sink += loop (iters);
      ms = bs_now_ms () - t0;
      peak_sink = sink;
      if (ms > 0.0)
        best = MAX (best, threads * iters * CHAINS * ops / (ms * 1e6));
    }
  return best;
#else
  (void) p;
  (void) threads;
  return 0.0;
#endif
}
