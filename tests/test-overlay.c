#include <glib.h>
#include <math.h>
#include <stdint.h>

#include "bs-overlay.h"

static uint32_t
pixel (cairo_surface_t *s, int x, int y)
{
  cairo_surface_flush (s);
  return ((uint32_t *) (cairo_image_surface_get_data (s) + y * cairo_image_surface_get_stride (s)))[x];
}

static uint32_t
rgb_of (const double c[3], double alpha, int grey)
{
  int r = (int) lrint ((1 - alpha) * grey + alpha * c[0] * 255);
  int g = (int) lrint ((1 - alpha) * grey + alpha * c[1] * 255);
  int b = (int) lrint ((1 - alpha) * grey + alpha * c[2] * 255);
  return 0xff000000u | (r << 16) | (g << 8) | b;
}

static void
test_window_mapping (void)
{
  const float slice[5] = { -1.0f, 0.0f, 5.0f, 10.0f, 20.0f };
  cairo_surface_t *s = bs_render_grey (slice, 5, 1, 0.0f, 10.0f);

  g_assert_cmpint (cairo_image_surface_get_format (s), ==, CAIRO_FORMAT_ARGB32);
  g_assert_cmphex (pixel (s, 0, 0), ==, 0xff000000);  /* below lo: black */
  g_assert_cmphex (pixel (s, 1, 0), ==, 0xff000000);
  g_assert_cmphex (pixel (s, 2, 0), ==, 0xff808080);  /* 0.5 * 255 = 127.5 -> 128 */
  g_assert_cmphex (pixel (s, 3, 0), ==, 0xffffffff);
  g_assert_cmphex (pixel (s, 4, 0), ==, 0xffffffff);  /* above hi: white */
  cairo_surface_destroy (s);

  /* A degenerate window must not divide by zero. */
  s = bs_render_grey (slice, 5, 1, 5.0f, 5.0f);
  g_assert_cmphex (pixel (s, 1, 0), ==, 0xff000000);
  g_assert_cmphex (pixel (s, 3, 0), ==, 0xffffffff);
  cairo_surface_destroy (s);
}

static void
test_auto_window (void)
{
  float slice[1000];

  /* Half background at a negative constant, half ramp 1..500. */
  for (int i = 0; i < 500; i++)
    slice[i] = -3.0f;
  for (int i = 0; i < 500; i++)
    slice[500 + i] = (float) (i + 1);

  float lo, hi;
  bs_auto_window (slice, 1000, &lo, &hi);
  /* Percentiles of the ramp only: the background does not count. */
  g_assert_cmpfloat (lo, >=, 1.0f);
  g_assert_cmpfloat (lo, <=, 4.0f);
  g_assert_cmpfloat (hi, >=, 497.0f);
  g_assert_cmpfloat (hi, <=, 500.0f);

  /* An outlier above the 99.5th percentile is clipped away. */
  slice[999] = 1e6f;
  bs_auto_window (slice, 1000, &lo, &hi);
  g_assert_cmpfloat (hi, <, 1000.0f);

  /* Raw scan: background exactly 0, brain 100..599, a little noise below 0. */
  for (int i = 0; i < 500; i++)
    slice[i] = 0.0f;
  for (int i = 0; i < 500; i++)
    slice[500 + i] = (float) (100 + i);
  slice[0] = -5.0f;
  slice[1] = -3.0f;
  bs_auto_window (slice, 1000, &lo, &hi);
  g_assert_cmpfloat (lo, >=, -3.0f);
  g_assert_cmpfloat (lo, <=, 103.0f);
  g_assert_cmpfloat (hi, >=, 595.0f);

  /* Constant slice: a usable non-empty window. */
  for (int i = 0; i < 1000; i++)
    slice[i] = 7.0f;
  bs_auto_window (slice, 1000, &lo, &hi);
  g_assert_cmpfloat (hi, >, lo);
}

/* 8x8 grey slice at mid-grey with a 4x4 mask square at (2..5, 2..5). */
#define N 8
static void
make_square (float *slice, float *mask)
{
  for (int y = 0; y < N; y++)
    for (int x = 0; x < N; x++)
      {
        slice[y * N + x] = 0.5f;
        mask[y * N + x] = (x >= 2 && x <= 5 && y >= 2 && y <= 5) ? 1.0f : 0.0f;
      }
}

static void
test_fill_and_outline (void)
{
  float slice[N * N], mask[N * N];
  BsOverlayOptions opts;
  cairo_surface_t *s;
  uint32_t grey = 0xff808080;

  make_square (slice, mask);
  bs_overlay_options_init (&opts);
  opts.lo = 0.0f;
  opts.hi = 1.0f;
  opts.opacity = 0.5f;

  /* Without a mask, only grey. */
  s = bs_render_mask_over (slice, NULL, N, N, BS_COLOR_PREDICTION, &opts);
  for (int y = 0; y < N; y++)
    for (int x = 0; x < N; x++)
      g_assert_cmphex (pixel (s, x, y), ==, grey);
  cairo_surface_destroy (s);

  /* Fill: every mask pixel blended, others untouched. */
  s = bs_render_mask_over (slice, mask, N, N, BS_COLOR_PREDICTION, &opts);
  for (int y = 0; y < N; y++)
    for (int x = 0; x < N; x++)
      g_assert_cmphex (pixel (s, x, y), ==, mask[y * N + x] > 0.5f ? rgb_of (BS_COLOR_PREDICTION, 0.5, 128) : grey);
  cairo_surface_destroy (s);

  /* Opacity 1 gives exactly the colour. */
  opts.opacity = 1.0f;
  s = bs_render_mask_over (slice, mask, N, N, BS_COLOR_TRUTH, &opts);
  g_assert_cmphex (pixel (s, 3, 3), ==, rgb_of (BS_COLOR_TRUTH, 1.0, 0));
  cairo_surface_destroy (s);

  /* Outline: the square's border ring is coloured, its inside stays grey. */
  opts.style = BS_OVERLAY_OUTLINE;
  opts.opacity = 0.3f;
  s = bs_render_mask_over (slice, mask, N, N, BS_COLOR_PREDICTION, &opts);
  uint32_t line = rgb_of (BS_COLOR_PREDICTION, 1.0, 128);
  for (int y = 0; y < N; y++)
    for (int x = 0; x < N; x++)
      {
        gboolean in = mask[y * N + x] > 0.5f;
        gboolean ring = in && (x == 2 || x == 5 || y == 2 || y == 5);
        g_assert_cmphex (pixel (s, x, y), ==, ring ? line : grey);
      }
  cairo_surface_destroy (s);
}

static void
test_confusion_colours (void)
{
  float slice[N * N], pred[N * N], truth[N * N];
  BsOverlayOptions opts;

  make_square (slice, pred);
  for (int i = 0; i < N * N; i++)
    truth[i] = 0.0f;
  truth[3 * N + 3] = 1.0f;  /* inside the prediction: TP */
  truth[0 * N + 0] = 1.0f;  /* outside it: FN */

  bs_overlay_options_init (&opts);
  opts.opacity = 1.0f;
  opts.confusion = TRUE;
  cairo_surface_t *s = bs_render_overlay (slice, pred, truth, N, N, &opts);
  g_assert_cmphex (pixel (s, 3, 3), ==, rgb_of (BS_COLOR_TP, 1.0, 0));
  g_assert_cmphex (pixel (s, 4, 4), ==, rgb_of (BS_COLOR_FP, 1.0, 0));
  g_assert_cmphex (pixel (s, 0, 0), ==, rgb_of (BS_COLOR_FN, 1.0, 0));
  g_assert_cmphex (pixel (s, 7, 7), ==, 0xff808080);
  cairo_surface_destroy (s);

  /* The three colours are far apart (each channel difference summed). */
  const double *c[3] = { BS_COLOR_TP, BS_COLOR_FP, BS_COLOR_FN };
  for (int i = 0; i < 3; i++)
    for (int j = i + 1; j < 3; j++)
      g_assert_cmpfloat (fabs (c[i][0] - c[j][0]) + fabs (c[i][1] - c[j][1]) + fabs (c[i][2] - c[j][2]), >, 0.5);

  /* Without confusion, the prediction colour everywhere the prediction is. */
  opts.confusion = FALSE;
  s = bs_render_overlay (slice, pred, truth, N, N, &opts);
  g_assert_cmphex (pixel (s, 3, 3), ==, rgb_of (BS_COLOR_PREDICTION, 1.0, 0));
  g_assert_cmphex (pixel (s, 0, 0), ==, 0xff808080);
  cairo_surface_destroy (s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/overlay/window", test_window_mapping);
  g_test_add_func ("/overlay/auto-window", test_auto_window);
  g_test_add_func ("/overlay/fill-outline", test_fill_and_outline);
  g_test_add_func ("/overlay/confusion", test_confusion_colours);
  return g_test_run ();
}
