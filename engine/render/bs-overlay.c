#include "bs-overlay.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Okabe-Ito palette: the three confusion colours stay distinguishable with
 * deuteranopia, protanopia and tritanopia, and differ in lightness too, so
 * they also survive a greyscale print. */
const double BS_COLOR_PREDICTION[3] = { 0.902, 0.624, 0.000 }; /* orange #E69F00 */
const double BS_COLOR_TRUTH[3] = { 0.000, 0.620, 0.451 };      /* bluish green #009E73 */
const double BS_COLOR_TP[3] = { 0.941, 0.894, 0.259 };         /* yellow #F0E442 */
const double BS_COLOR_FP[3] = { 0.835, 0.369, 0.000 };         /* vermillion #D55E00 */
const double BS_COLOR_FN[3] = { 0.337, 0.706, 0.914 };         /* sky blue #56B4E9 */
const double BS_COLOR_EDEMA[3] = { 0.000, 0.620, 0.451 };      /* bluish green #009E73, as the whole tumour */
const double BS_COLOR_CORE[3] = { 0.000, 0.447, 0.698 };       /* blue #0072B2 */
const double BS_COLOR_ENHANCING[3] = { 0.800, 0.475, 0.655 };  /* reddish purple #CC79A7 */

void
bs_overlay_options_init (BsOverlayOptions *opts)
{
  opts->lo = 0.0f;
  opts->hi = 1.0f;
  opts->opacity = 0.5f;
  opts->style = BS_OVERLAY_FILL;
  opts->confusion = FALSE;
  opts->annotate = FALSE;
}

static int
compare_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;

  return (x > y) - (x < y);
}

void
bs_auto_window (const float *slice, size_t n, float *lo, float *hi)
{
  float min = INFINITY, max = -INFINITY;
  size_t count = 0;

  for (size_t i = 0; i < n; i++)
    if (isfinite (slice[i]))
      {
        min = MIN (min, slice[i]);
        max = MAX (max, slice[i]);
      }
  if (!(min < max))
    {
      /* Empty or constant slice: any window shows it as black, and a unit
       * width keeps later divisions finite. */
      *lo = isfinite (min) ? min : 0.0f;
      *hi = *lo + 1.0f;
      return;
    }

  /* Background is the constant minimum (a negative constant in
   * pre-normalised scans) or exactly 0 (raw scans, also skull-stripped ones
   * whose noise dips below 0); counting it would pull the lower percentile
   * onto it and waste half of the grey range. */
  g_autofree float *fg = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    if (isfinite (slice[i]) && slice[i] > min && slice[i] != 0.0f)
      fg[count++] = slice[i];
  if (count == 0)
    {
      *lo = min;
      *hi = max;
      return;
    }

  qsort (fg, count, sizeof (float), compare_float);
  size_t ilo = (size_t) floor (0.005 * (double) (count - 1));
  size_t ihi = (size_t) ceil (0.995 * (double) (count - 1));
  *lo = fg[ilo];
  *hi = fg[ihi];
  if (!(*hi > *lo))
    *hi = *lo + 1.0f;
}

void
bs_auto_window_volume (const BsVolume *image, int channel, float *lo, float *hi)
{
  gsize n = bs_volume_n_voxels (image);
  const float *data = bs_volume_channel (image, channel);
  /* A strided sample keeps the sort cheap; a million voxels pin the
   * percentiles far more precisely than a grey ramp of 256 levels needs. */
  gsize stride = MAX ((gsize) 1, n / 1000000);
  gsize m = (n + stride - 1) / stride;
  g_autofree float *sample = g_new (float, MAX (m, 1));

  for (gsize i = 0, j = 0; i < n && j < m; i += stride, j++)
    sample[j] = data[i];
  bs_auto_window (sample, m, lo, hi);
  /* A constant or two-valued channel (a mask, a blank modality) still gets a
   * window that shows what is there. */
  if (!(*hi > *lo))
    bs_volume_value_range (image, channel, lo, hi);
  if (!(*hi > *lo))
    *hi = *lo + 1;
}

static inline uint8_t
grey_level (float v, float lo, float hi)
{
  float t;

  if (!(hi > lo))
    return v > lo ? 255 : 0;
  t = (v - lo) / (hi - lo);
  if (!(t > 0.0f))  /* also catches NaN */
    return 0;
  if (t >= 1.0f)
    return 255;
  return (uint8_t) lrintf (t * 255.0f);
}

static inline uint32_t
pack_rgb (int r, int g, int b)
{
  return 0xff000000u | ((uint32_t) r << 16) | ((uint32_t) g << 8) | (uint32_t) b;
}

static inline uint8_t
blend_channel (uint8_t under, double over, double alpha)
{
  double v = (1.0 - alpha) * under + alpha * over * 255.0;

  return (uint8_t) CLAMP (lrint (v), 0, 255);
}

static cairo_surface_t *
new_surface (int w, int h)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, MAX (w, 1), MAX (h, 1));

  cairo_surface_flush (s);
  return s;
}

static inline uint32_t *
surface_row (cairo_surface_t *s, int y)
{
  return (uint32_t *) (cairo_image_surface_get_data (s) + (size_t) y * cairo_image_surface_get_stride (s));
}

cairo_surface_t *
bs_render_grey (const float *slice, int w, int h, float lo, float hi)
{
  cairo_surface_t *s = new_surface (w, h);

  if (cairo_surface_status (s) != CAIRO_STATUS_SUCCESS)
    return s;
  for (int y = 0; y < h; y++)
    {
      uint32_t *row = surface_row (s, y);
      const float *src = slice + (size_t) y * w;

      for (int x = 0; x < w; x++)
        {
          uint8_t g = grey_level (src[x], lo, hi);
          row[x] = pack_rgb (g, g, g);
        }
    }
  cairo_surface_mark_dirty (s);
  return s;
}

/* Per-pixel classes of the overlay: 0 = nothing drawn, else an index into
 * the colour table the caller passes to paint_classes(). */
enum { CLASS_NONE, CLASS_1, CLASS_2, CLASS_3 };

static gboolean
is_boundary (const uint8_t *cls, int w, int h, int x, int y)
{
  uint8_t c = cls[(size_t) y * w + x];

  /* A pixel on the image edge closes the outline rather than leaving it open. */
  if (x == 0 || y == 0 || x == w - 1 || y == h - 1)
    return TRUE;
  return cls[(size_t) y * w + x - 1] != c || cls[(size_t) y * w + x + 1] != c ||
         cls[(size_t) (y - 1) * w + x] != c || cls[(size_t) (y + 1) * w + x] != c;
}

/* Draws the classes over the grey surface.  An outline is drawn opaque: a
 * one-pixel line at half opacity disappears on bright tissue. */
static void
paint_classes (cairo_surface_t *s, const uint8_t *cls, int w, int h,
               const double *const colors[4], const BsOverlayOptions *opts)
{
  double alpha = opts->style == BS_OVERLAY_OUTLINE ? 1.0 : CLAMP (opts->opacity, 0.0, 1.0);

  if (alpha <= 0.0)
    return;
  cairo_surface_flush (s);
  for (int y = 0; y < h; y++)
    {
      uint32_t *row = surface_row (s, y);

      for (int x = 0; x < w; x++)
        {
          uint8_t c = cls[(size_t) y * w + x];
          const double *rgb;
          uint32_t p;

          if (c == CLASS_NONE)
            continue;
          if (opts->style == BS_OVERLAY_OUTLINE && !is_boundary (cls, w, h, x, y))
            continue;
          rgb = colors[c];
          p = row[x];
          row[x] = pack_rgb (blend_channel ((p >> 16) & 0xff, rgb[0], alpha),
                             blend_channel ((p >> 8) & 0xff, rgb[1], alpha),
                             blend_channel (p & 0xff, rgb[2], alpha));
        }
    }
  cairo_surface_mark_dirty (s);
}

cairo_surface_t *
bs_render_mask_over (const float *slice, const float *mask, int w, int h,
                     const double rgb[3], const BsOverlayOptions *opts)
{
  cairo_surface_t *s = bs_render_grey (slice, w, h, opts->lo, opts->hi);
  const double *colors[4] = { NULL, rgb, NULL, NULL };

  if (mask == NULL || cairo_surface_status (s) != CAIRO_STATUS_SUCCESS)
    return s;
  g_autofree uint8_t *cls = g_new (uint8_t, (size_t) w * h);
  for (size_t i = 0; i < (size_t) w * h; i++)
    cls[i] = mask[i] > 0.5f ? CLASS_1 : CLASS_NONE;
  paint_classes (s, cls, w, h, colors, opts);
  return s;
}

cairo_surface_t *
bs_render_overlay (const float *slice, const float *pred, const float *truth,
                   int w, int h, const BsOverlayOptions *opts)
{
  const double *colors[4] = { NULL, BS_COLOR_TP, BS_COLOR_FP, BS_COLOR_FN };

  if (truth == NULL || !opts->confusion)
    return bs_render_mask_over (slice, pred, w, h, BS_COLOR_PREDICTION, opts);

  cairo_surface_t *s = bs_render_grey (slice, w, h, opts->lo, opts->hi);
  if (cairo_surface_status (s) != CAIRO_STATUS_SUCCESS)
    return s;
  g_autofree uint8_t *cls = g_new (uint8_t, (size_t) w * h);
  for (size_t i = 0; i < (size_t) w * h; i++)
    {
      gboolean p = pred != NULL && pred[i] > 0.5f, t = truth[i] > 0.5f;
      cls[i] = p && t ? CLASS_1 : p ? CLASS_2 : t ? CLASS_3 : CLASS_NONE;
    }
  paint_classes (s, cls, w, h, colors, opts);
  return s;
}

cairo_surface_t *
bs_render_regions_over (const float *slice, const float *wt, const float *tc, const float *et, int w, int h,
                        const BsOverlayOptions *opts)
{
  const double *colors[4] = { NULL, BS_COLOR_EDEMA, BS_COLOR_CORE, BS_COLOR_ENHANCING };
  cairo_surface_t *s = bs_render_grey (slice, w, h, opts->lo, opts->hi);

  if (wt == NULL || cairo_surface_status (s) != CAIRO_STATUS_SUCCESS)
    return s;
  g_autofree uint8_t *cls = g_new (uint8_t, (size_t) w * h);
  for (size_t i = 0; i < (size_t) w * h; i++)
    cls[i] = et != NULL && et[i] > 0.5f ? CLASS_3
             : tc != NULL && tc[i] > 0.5f ? CLASS_2
             : wt[i] > 0.5f ? CLASS_1 : CLASS_NONE;
  paint_classes (s, cls, w, h, colors, opts);
  return s;
}
