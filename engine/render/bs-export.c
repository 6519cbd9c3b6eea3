#include "bs-export.h"
#include "bs-export-private.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <nifti1.h>

#include "bs-error.h"
#include "bs-file.h"
#include "bs-labels.h"
#include "bs-metrics.h"
#include "bs-nifti.h"

typedef struct {
  int w, h;
  float *image, *pred, *truth; /* truth NULL without one */
  /* A region model against a truth with regions: the nested predicted
   * regions and the truth's (BS_REGION_TC, BS_REGION_ET; NULL otherwise). */
  float *pred_region[BS_N_REGIONS], *truth_region[BS_N_REGIONS];
} SliceData;

/* pred's channel of region r, or -1. */
static int
pred_channel (const BsExportSource *src, BsRegion r)
{
  for (int c = 0; src->pred_outputs != NULL && src->pred_outputs[c] != NULL && c < src->pred->n_channels; c++)
    if (g_strcmp0 (src->pred_outputs[c], bs_region_name (r)) == 0)
      return c;
  return r == BS_REGION_WT ? 0 : -1;
}

/* Whether the source shows regions: the model predicts TC and ET and the
 * truth (when there is one) tells them apart. */
static gboolean
has_regions (const BsExportSource *src)
{
  return pred_channel (src, BS_REGION_TC) >= 0 && pred_channel (src, BS_REGION_ET) >= 0
         && (src->truth == NULL || (src->truth_tc != NULL && src->truth_et != NULL));
}

static void
slice_data_clear (SliceData *s)
{
  g_free (s->image);
  g_free (s->pred);
  g_free (s->truth);
  for (int r = 0; r < BS_N_REGIONS; r++)
    {
      g_free (s->pred_region[r]);
      g_free (s->truth_region[r]);
    }
}

/* Slice index of the regions: the nested prediction when the model predicts
 * TC and ET, the truth's regions when its labels tell them apart (as the
 * window's panels show them, whatever the model). */
static void
slice_regions_load (SliceData *s, const BsExportSource *src, int index)
{
  gsize n = (gsize) s->w * s->h;

  if (src->truth != NULL && src->truth_tc != NULL && src->truth_et != NULL)
    for (int r = BS_REGION_TC; r < BS_N_REGIONS; r++)
      {
        if (s->truth_region[r] == NULL)
          s->truth_region[r] = g_new (float, n);
        bs_volume_get_slice (r == BS_REGION_TC ? src->truth_tc : src->truth_et, 0, src->plane, index,
                             s->truth_region[r]);
      }
  if (pred_channel (src, BS_REGION_TC) >= 0 && pred_channel (src, BS_REGION_ET) >= 0)
    {
      g_autofree float *pt = g_new (float, n), *pe = g_new (float, n);
      const float *probs[BS_N_REGIONS] = { s->pred, pt, pe };

      for (int r = BS_REGION_TC; r < BS_N_REGIONS; r++)
        if (s->pred_region[r] == NULL)
          s->pred_region[r] = g_new (float, n);
      bs_volume_get_slice (src->pred, pred_channel (src, BS_REGION_TC), src->plane, index, pt);
      bs_volume_get_slice (src->pred, pred_channel (src, BS_REGION_ET), src->plane, index, pe);
      bs_regions_from_probs (probs, n, NULL, s->pred_region[BS_REGION_TC], s->pred_region[BS_REGION_ET]);
    }
}

static void
slice_data_load (SliceData *s, const BsExportSource *src, int index)
{
  gsize n;

  bs_volume_slice_size (src->image, src->plane, &s->w, &s->h);
  n = (gsize) s->w * s->h;
  s->image = g_new (float, n);
  s->pred = g_new (float, n);
  s->truth = src->truth ? g_new (float, n) : NULL;
  bs_volume_get_slice (src->image, src->channel, src->plane, index, s->image);
  bs_volume_get_slice (src->pred, 0, src->plane, index, s->pred);
  if (src->truth)
    bs_volume_get_slice (src->truth, 0, src->plane, index, s->truth);
  slice_regions_load (s, src, index);
}

double
bs_export_slice_dice (const BsExportSource *src, int index)
{
  SliceData s = { 0 };
  double dice;

  if (src->truth == NULL)
    return NAN;
  slice_data_load (&s, src, index);
  dice = bs_dice (s.pred, s.truth, (size_t) s.w * s.h);
  slice_data_clear (&s);
  return dice;
}

gboolean
bs_export_slice_has_tumour (const BsExportSource *src, int index)
{
  SliceData s = { 0 };
  gboolean any = FALSE;

  slice_data_load (&s, src, index);
  for (gsize i = 0; i < (gsize) s.w * s.h && !any; i++)
    any = s.pred[i] > 0.5f || (s.truth != NULL && s.truth[i] > 0.5f);
  slice_data_clear (&s);
  return any;
}

static const char *
plane_label (BsPlane plane)
{
  switch (plane)
    {
    case BS_PLANE_CORONAL:
      return _("coronal");
    case BS_PLANE_SAGITTAL:
      return _("sagittal");
    case BS_PLANE_AXIAL:
    default:
      return _("axial");
    }
}

static void
show_text_centred (cairo_t *cr, const char *text, double cx, double cy)
{
  cairo_text_extents_t ext;

  cairo_font_extents_t font;

  /* Vertical placement from the font, not the ink, so that titles with and
   * without descenders share a baseline. */
  cairo_text_extents (cr, text, &ext);
  cairo_font_extents (cr, &font);
  cairo_move_to (cr, cx - ext.width / 2 - ext.x_bearing, cy + (font.ascent - font.descent) / 2);
  cairo_show_text (cr, text);
}

/* Orientation letters at the edges of a panel, white on the dark scan. */
static void
paint_letters (cairo_t *cr, const char letters[4], double x, double y, double bw, double bh, double size)
{
  char l[2] = { 0, 0 };
  double pad = size * 0.9;

  cairo_save (cr);
  cairo_set_font_size (cr, size);
  cairo_set_source_rgb (cr, 1, 1, 1);
  l[0] = letters[0];
  show_text_centred (cr, l, x + pad, y + bh / 2);
  l[0] = letters[1];
  show_text_centred (cr, l, x + bw - pad, y + bh / 2);
  l[0] = letters[2];
  show_text_centred (cr, l, x + bw / 2, y + pad);
  l[0] = letters[3];
  show_text_centred (cr, l, x + bw / 2, y + bh - pad);
  cairo_restore (cr);
}

void
bs_export_overlay_layout (int slice_w, int slice_h, const BsOverlayOptions *opts, int width, int height,
                          BsExportOverlayLayout *layout)
{
  gboolean native = width <= 0 || height <= 0;
  double top = 0, bottom = 0, side = 0, f = 0, avail_w, avail_h;

  if (opts->annotate)
    {
      /* Large enough to read beside a 240-pixel slice, growing with the image. */
      f = MAX (10.0, (native ? MAX (slice_w, slice_h) : MIN (width, height)) / 32.0);
      side = 1.6 * f;          /* a letter beside the slice */
      top = 1.8 * f + 1.4 * f; /* caption, then the letter above the slice */
      bottom = 1.4 * f + 1.8 * f;
    }
  layout->font = f;
  if (native)
    {
      layout->scale = 1.0;
      layout->width = slice_w + (int) ceil (2 * side);
      layout->height = slice_h + (int) ceil (top + bottom);
      layout->x = ceil (side);
      layout->y = ceil (top);
      return;
    }
  layout->width = width;
  layout->height = height;
  avail_w = MAX (1.0, width - 2 * side);
  avail_h = MAX (1.0, height - top - bottom);
  layout->scale = MIN (avail_w / slice_w, avail_h / slice_h);
  layout->x = side + (avail_w - slice_w * layout->scale) / 2;
  layout->y = top + (avail_h - slice_h * layout->scale) / 2;
}

/* Left-aligned text at (x, baseline of a line centred on cy), shrunk to fit
 * max_w. */
static void
show_text_fitted (cairo_t *cr, const char *text, double x, double cy, double size, double max_w)
{
  cairo_text_extents_t ext;
  cairo_font_extents_t font;
  double k = 1.0;

  cairo_set_font_size (cr, size);
  cairo_text_extents (cr, text, &ext);
  /* A smaller font size would be rounded by hinting; a scale is exact. */
  if (ext.x_advance > max_w && ext.x_advance > 0)
    k = max_w / ext.x_advance;
  cairo_font_extents (cr, &font);
  cairo_save (cr);
  cairo_translate (cr, x, cy);
  cairo_scale (cr, k, k);
  cairo_move_to (cr, -ext.x_bearing, (font.ascent - font.descent) / 2);
  cairo_show_text (cr, text);
  cairo_restore (cr);
}

/* Coloured squares with their names, in one line from (x, cy), shrunk to
 * fit max_w. */
static void
paint_legend_entries (cairo_t *cr, const double *const *colors, const char *const *names, int n, double x, double cy,
                      double f, double max_w, double text_grey)
{
  double total = 0, scale = 1.0, box = 0.8 * f, gap = 0.4 * f, space = 1.2 * f;
  cairo_text_extents_t ext;

  cairo_set_font_size (cr, f);
  for (int i = 0; i < n; i++)
    {
      cairo_text_extents (cr, names[i], &ext);
      total += box + gap + ext.x_advance + (i ? space : 0);
    }
  if (total > max_w)
    scale = max_w / total;
  cairo_save (cr);
  cairo_translate (cr, x, cy);
  cairo_scale (cr, scale, scale);
  x = 0;
  for (int i = 0; i < n; i++)
    {
      if (i)
        x += space;
      cairo_set_source_rgb (cr, colors[i][0], colors[i][1], colors[i][2]);
      cairo_rectangle (cr, x, -box / 2, box, box);
      cairo_fill (cr);
      x += box + gap;
      cairo_set_source_rgb (cr, text_grey, text_grey, text_grey);
      show_text_fitted (cr, names[i], x, 0, f, G_MAXDOUBLE);
      cairo_text_extents (cr, names[i], &ext);
      x += ext.x_advance;
    }
  cairo_restore (cr);
}

/* The colours the overlay used, each with its name. */
static void
paint_legend (cairo_t *cr, const BsOverlayOptions *opts, gboolean has_truth, double x, double cy, double f,
              double max_w)
{
  const double *colors[3];
  const char *names[3];
  int n = 0;

  if (opts->confusion && has_truth)
    {
      colors[n] = BS_COLOR_TP, names[n++] = _("true positive");
      colors[n] = BS_COLOR_FP, names[n++] = _("false positive");
      colors[n] = BS_COLOR_FN, names[n++] = _("false negative");
    }
  else
    colors[n] = BS_COLOR_PREDICTION, names[n++] = _("predicted tumour");
  paint_legend_entries (cr, colors, names, n, x, cy, f, max_w, 1.0);
}

/* Edema, core, enhancing: the colours of a panel that shows the regions. */
static void
paint_region_legend (cairo_t *cr, double x, double cy, double f, double max_w, double text_grey)
{
  const double *colors[3] = { BS_COLOR_EDEMA, BS_COLOR_CORE, BS_COLOR_ENHANCING };
  const char *names[3] = { _("edema"), _("core"), _("enhancing") };

  paint_legend_entries (cr, colors, names, 3, x, cy, f, max_w, text_grey);
}

/* The region an overlay shows: src->overlay_region when the slice data has
 * both its prediction and its truth (or the prediction, without a truth),
 * else the whole tumour.  *pred and *truth are that region's planes. */
static BsRegion
overlay_region (const BsExportSource *src, const SliceData *s, const float **pred, const float **truth)
{
  BsRegion r = src->overlay_region;

  *pred = s->pred;
  *truth = s->truth;
  if (r != BS_REGION_TC && r != BS_REGION_ET)
    return BS_REGION_WT;
  if (s->pred_region[r] == NULL || (s->truth != NULL && s->truth_region[r] == NULL))
    return BS_REGION_WT;
  *pred = s->pred_region[r];
  *truth = s->truth != NULL ? s->truth_region[r] : NULL;
  return r;
}

/* "case · axial slice 53 (0–154) · Dice 0.8123" (or "no tumour" when the
 * slice has none in truth and prediction, whose Dice would say nothing);
 * "Dice ET 0.7123" for an overlay of another region than the whole tumour. */
static char *
overlay_caption (const BsExportSource *src, const SliceData *s, int index)
{
  g_autofree char *dice_text = NULL;
  char num[G_ASCII_DTOSTR_BUF_SIZE];
  const float *pred, *truth;
  BsRegion region = overlay_region (src, s, &pred, &truth);

  if (truth)
    {
      gsize n = (gsize) s->w * s->h, any = 0;
      for (gsize i = 0; i < n; i++)
        any += truth[i] > 0.5f || pred[i] > 0.5f;
      g_ascii_formatd (num, sizeof num, "%.4f", bs_dice (pred, truth, n));
      if (!any)
        dice_text = g_strdup (_("no tumour"));
      else if (region == BS_REGION_WT && src->pred_outputs == NULL)
        dice_text = g_strdup_printf (_("Dice %s"), num);
      else if (region == BS_REGION_WT)
        /* TRANSLATORS: WT: whole tumour, beside the core and enhancing tumour of a region model
         * (walk finding: the caption did not say which region its Dice was of) */
        dice_text = g_strdup_printf (_("Dice %s %s"), _("WT"), num);
      else
        /* TRANSLATORS: the region's abbreviation (TC: tumour core, ET:
         * enhancing tumour), then the slice's Dice */
        dice_text = g_strdup_printf (_("Dice %s %s"), region == BS_REGION_TC ? _("TC") : _("ET"), num);
    }
  const char *sequence = src->image->channel_names != NULL && src->channel >= 0
                         && src->channel < src->image->n_channels ? src->image->channel_names[src->channel] : NULL;
  /* Translators: case id, plane name, slice index (the file's voxel index, from
   * 0, as in file names, the CSV and the window), the last index. */
  g_autofree char *where = g_strdup_printf (_("%s  ·  %s slice %d (0–%d)"),
                                            src->case_id ? src->case_id : _("Case"), plane_label (src->plane),
                                            index, bs_volume_n_slices (src->image, src->plane) - 1);

  /* the MRI sequence under the mask (walk finding: the caption did not say) */
  if (sequence != NULL && *sequence)
    {
      char *with = g_strdup_printf ("%s  ·  %s", where, sequence);

      g_free (where);
      where = with;
    }
  return dice_text ? g_strdup_printf ("%s  ·  %s", where, dice_text) : g_steal_pointer (&where);
}

cairo_surface_t *
bs_export_render_overlay (const BsExportSource *src, int index, const BsOverlayOptions *opts,
                          int width, int height)
{
  SliceData s = { 0 };
  BsExportOverlayLayout lay;
  cairo_surface_t *slice, *out;
  cairo_t *cr;
  const float *pred, *truth;
  int sh;

  slice_data_load (&s, src, index);
  overlay_region (src, &s, &pred, &truth);
  slice = bs_render_overlay (s.image, pred, truth, s.w, s.h, opts);
  sh = s.h;
  slice = bs_export_square_pixels (slice, s.w, &sh, bs_volume_pixel_aspect (src->image, src->plane));
  bs_export_overlay_layout (s.w, sh, opts, width, height, &lay);
  if (!opts->annotate && lay.width == s.w && lay.height == sh)
    {
      slice_data_clear (&s);
      return slice;
    }
  out = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, lay.width, lay.height);
  cr = cairo_create (out);
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_paint (cr);
  bs_export_paint_fitted (cr, slice, s.w, sh, lay.x, lay.y, s.w * lay.scale, sh * lay.scale);
  if (opts->annotate)
    {
      double f = lay.font, pw = s.w * lay.scale, ph = sh * lay.scale;
      g_autofree char *caption = overlay_caption (src, &s, index);
      char letters[4], l[2] = { 0, 0 };

      cairo_font_options_t *fo = cairo_font_options_create ();

      /* Unhinted advances, so that text measured to fit does fit. */
      cairo_font_options_set_hint_metrics (fo, CAIRO_HINT_METRICS_OFF);
      cairo_set_font_options (cr, fo);
      cairo_font_options_destroy (fo);
      cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
      cairo_set_source_rgb (cr, 1, 1, 1);
      show_text_fitted (cr, caption, 0.5 * f, 0.9 * f, f, lay.width - f);
      /* The letters sit in the margins, so they never cover a voxel. */
      bs_volume_plane_letters (src->image, src->plane, letters);
      cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
      cairo_set_font_size (cr, f);
      l[0] = letters[0];
      show_text_centred (cr, l, lay.x / 2, lay.y + ph / 2);
      l[0] = letters[1];
      show_text_centred (cr, l, (lay.x + pw + lay.width) / 2, lay.y + ph / 2);
      l[0] = letters[2];
      show_text_centred (cr, l, lay.x + pw / 2, lay.y - 0.7 * f);
      l[0] = letters[3];
      show_text_centred (cr, l, lay.x + pw / 2, lay.y + ph + 0.7 * f);
      cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
      paint_legend (cr, opts, s.truth != NULL, 0.5 * f, lay.height - 0.9 * f, f, lay.width - f);
    }
  cairo_destroy (cr);
  cairo_surface_destroy (slice);
  slice_data_clear (&s);
  return out;
}

cairo_surface_t *
bs_export_render_figure (const BsExportSource *src, int index, const BsOverlayOptions *opts,
                         int width, int height)
{
  SliceData s = { 0 };
  cairo_surface_t *out, *panels[3];
  const char *titles[3] = { _("MRI input"), _("Ground truth"), _("Prediction") };
  char letters[4], num[G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *dice_text = NULL, *title = NULL;
  BsOverlayOptions panel_opts = *opts;
  double margin, title_h, label_h, legend_h, cell_w, cell_h;
  cairo_t *cr;
  int sh;

  if (width <= 0 || height <= 0)
    {
      width = BS_EXPORT_FIGURE_WIDTH;
      height = BS_EXPORT_FIGURE_HEIGHT;
    }
  slice_data_load (&s, src, index);
  /* The panels show one mask each, as the Intel notebook does; the
   * confusion colours belong to the overlay view. */
  panel_opts.confusion = FALSE;
  panels[0] = bs_render_grey (s.image, s.w, s.h, opts->lo, opts->hi);
  /* The regions in their colours where both sides have them. */
  if (s.truth != NULL && s.truth_region[BS_REGION_TC] != NULL)
    panels[1] = bs_render_regions_over (s.image, s.truth, s.truth_region[BS_REGION_TC], s.truth_region[BS_REGION_ET],
                                        s.w, s.h, &panel_opts);
  else
    panels[1] = bs_render_mask_over (s.image, s.truth, s.w, s.h, BS_COLOR_TRUTH, &panel_opts);
  if (s.pred_region[BS_REGION_TC] != NULL)
    panels[2] = bs_render_regions_over (s.image, s.pred, s.pred_region[BS_REGION_TC], s.pred_region[BS_REGION_ET],
                                        s.w, s.h, &panel_opts);
  else
    panels[2] = bs_render_mask_over (s.image, s.pred, s.w, s.h, BS_COLOR_PREDICTION, &panel_opts);
  sh = s.h;
  for (int p = 0; p < 3; p++)
    {
      int ph = s.h;

      panels[p] = bs_export_square_pixels (panels[p], s.w, &ph, bs_volume_pixel_aspect (src->image, src->plane));
      sh = ph;
    }

  if (s.truth)
    {
      double dice = bs_dice (s.pred, s.truth, (size_t) s.w * s.h);
      /* The dot stays a dot in every language: the figure quotes a number
       * people compare with papers and with the notebook. */
      dice_text = g_strdup_printf (_("slice Dice = %s"), g_ascii_formatd (num, sizeof num, "%.4f", dice));
      if (s.pred_region[BS_REGION_TC] != NULL && s.truth_region[BS_REGION_TC] != NULL)
        {
          char tc[G_ASCII_DTOSTR_BUF_SIZE], et[G_ASCII_DTOSTR_BUF_SIZE];
          gsize n = (gsize) s.w * s.h;

          g_free (dice_text);
          /* TRANSLATORS: Dice of the whole tumour, tumour core and enhancing tumour on the slice */
          dice_text = g_strdup_printf (_("slice Dice WT %s · TC %s · ET %s"), g_ascii_formatd (num, sizeof num, "%.4f", dice),
                                       g_ascii_formatd (tc, sizeof tc, "%.4f",
                                                        bs_dice (s.pred_region[BS_REGION_TC], s.truth_region[BS_REGION_TC], n)),
                                       g_ascii_formatd (et, sizeof et, "%.4f",
                                                        bs_dice (s.pred_region[BS_REGION_ET], s.truth_region[BS_REGION_ET], n)));
        }
    }
  else
    dice_text = g_strdup (_("no ground truth"));
  /* Translators: case id, plane name, slice index (the file's voxel index, from
   * 0, as in file names, the CSV and the window), the last index, Dice text. */
  title = g_strdup_printf (_("%s  ·  %s slice %d (0–%d)  ·  %s"),
                           src->case_id ? src->case_id : _("Case"), plane_label (src->plane),
                           index, bs_volume_n_slices (src->image, src->plane) - 1, dice_text);

  out = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (out);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);

  margin = width * 0.015;
  title_h = height * 0.12;
  label_h = height * 0.08;
  cell_w = (width - 4 * margin) / 3;
  /* A band under the panels for the regions' legend, where it covers neither
   * the tumour nor the orientation letters (walk finding: inside the image
   * it was too small to read when projected). */
  legend_h = (s.truth != NULL && s.truth_region[BS_REGION_TC] != NULL) || s.pred_region[BS_REGION_TC] != NULL
               ? height * 0.07 : 0.0;
  cell_h = height - title_h - label_h - legend_h - margin;

  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_source_rgb (cr, 0, 0, 0);
  {
    cairo_text_extents_t ext;
    cairo_font_options_t *fo = cairo_font_options_create ();
    double size = MIN (title_h * 0.42, width / 45.0);

    /* Unhinted advances, so that the title measured to fit does fit. */
    cairo_font_options_set_hint_metrics (fo, CAIRO_HINT_METRICS_OFF);
    cairo_set_font_options (cr, fo);
    cairo_font_options_destroy (fo);
    cairo_set_font_size (cr, size);
    cairo_text_extents (cr, title, &ext);
    if (ext.width > width * 0.96)
      cairo_set_font_size (cr, size * width * 0.96 / ext.width);
    show_text_centred (cr, title, width / 2.0, title_h / 2);
  }

  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  bs_volume_plane_letters (src->image, src->plane, letters);
  for (int p = 0; p < 3; p++)
    {
      double x = margin + p * (cell_w + margin), y = title_h + label_h;
      double scale = MIN (cell_w / s.w, cell_h / sh);
      double pw = s.w * scale, ph = sh * scale;

      bs_export_paint_fitted (cr, panels[p], s.w, sh, x, y, cell_w, cell_h);
      x += (cell_w - pw) / 2;
      y += (cell_h - ph) / 2;
      /* The panel title sits just above the image, also when a wide
       * coronal slice leaves room above it. */
      cairo_set_source_rgb (cr, 0, 0, 0);
      cairo_set_font_size (cr, MIN (label_h * 0.5, width / 55.0));
      if (p == 0 && src->image->channel_names != NULL && src->image->channel_names[src->channel] != NULL)
        {
          /* The sequence shown, as the window's pane says ("MRI input · FLAIR"). */
          g_autofree char *t = g_strdup_printf ("%s · %s", titles[0], src->image->channel_names[src->channel]);
          show_text_centred (cr, t, x + pw / 2, y - label_h / 2);
        }
      else
        show_text_centred (cr, titles[p], x + pw / 2, y - label_h / 2);
      paint_letters (cr, letters, x, y, pw, ph, MAX (8.0, MAX (pw, ph) / 30));
      if ((p == 1 && s.truth != NULL && s.truth_region[BS_REGION_TC] != NULL)
          || (p == 2 && s.pred_region[BS_REGION_TC] != NULL))
        {
          double f = MIN (legend_h * 0.55, width / 60.0);

          cairo_set_source_rgb (cr, 0, 0, 0);
          /* Dark text: the band is on the figure's white background. */
          paint_region_legend (cr, x, y + ph + legend_h * 0.5, f, pw, 0.0);
        }
      if (p == 1 && !s.truth)
        {
          /* Dimmed, so the note reads on bright tissue and the empty pane
           * is not mistaken for "no tumour". */
          cairo_set_source_rgba (cr, 0, 0, 0, 0.6);
          cairo_rectangle (cr, x, y, pw, ph);
          cairo_fill (cr);
          cairo_set_source_rgb (cr, 1, 1, 1);
          cairo_set_font_size (cr, MAX (8.0, ph / 16));
          show_text_centred (cr, _("no ground truth"), x + pw / 2, y + ph / 2);
        }
      cairo_surface_destroy (panels[p]);
    }
  cairo_destroy (cr);
  slice_data_clear (&s);
  return out;
}

gboolean
bs_export_check_destination (const char *path, gboolean is_folder, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (*path == '\0')
    {
      g_set_error_literal (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE, _("Cannot write to an empty file name"));
      return FALSE;
    }
  if (is_folder && g_file_test (path, G_FILE_TEST_EXISTS) && !g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE, _("Cannot write into “%s”: it is a file, not a folder"),
                   path);
      return FALSE;
    }
  if (!is_folder && g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE, _("Cannot write “%s”: it is a folder"), path);
      return FALSE;
    }
  if (!is_folder && !bs_file_check_replaceable (path, error))
    return FALSE;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE, _("Cannot write “%s”: the folder “%s” does not exist"),
                   path, dir);
      return FALSE;
    }
  if (g_access (dir, W_OK) != 0)
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE,
                   _("Cannot write “%s”: the folder “%s” is not writable"), path, dir);
      return FALSE;
    }
  return TRUE;
}

static cairo_status_t
append_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

gboolean
bs_export_write_png (cairo_surface_t *surface, const char *path, GError **error)
{
  g_autoptr(GByteArray) png = g_byte_array_new ();
  cairo_status_t status = cairo_surface_status (surface);

  if (status == CAIRO_STATUS_SUCCESS)
    status = cairo_surface_write_to_png_stream (surface, append_bytes, png);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE,
                   _("Could not encode “%s” as PNG: %s"), path, cairo_status_to_string (status));
      return FALSE;
    }
  return bs_file_write_atomic (path, png->data, png->len, error);
}

static gboolean
check_source (const BsExportSource *src, int index, const char *path, GError **error)
{
  if (src->pred == NULL || bs_volume_n_voxels (src->pred) != bs_volume_n_voxels (src->image) ||
      (src->truth && bs_volume_n_voxels (src->truth) != bs_volume_n_voxels (src->image)))
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                   _("Cannot export “%s”: the prediction or ground truth does not match the image size"), path);
      return FALSE;
    }
  if (src->channel < 0 || src->channel >= src->image->n_channels)
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                   _("Cannot export “%s”: the image has no channel %d"), path, src->channel);
      return FALSE;
    }
  if (index < 0 || index >= bs_volume_n_slices (src->image, src->plane))
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                   _("Cannot export “%s”: slice %d is outside 0 to %d"), path, index,
                   bs_volume_n_slices (src->image, src->plane) - 1);
      return FALSE;
    }
  return TRUE;
}

gboolean
bs_export_overlay_png (const BsExportSource *src, int index, const BsOverlayOptions *opts,
                       int width, int height, const char *path, GError **error)
{
  cairo_surface_t *s;
  gboolean ok;

  if (!check_source (src, index, path, error))
    return FALSE;
  s = bs_export_render_overlay (src, index, opts, width, height);
  ok = bs_export_write_png (s, path, error);
  cairo_surface_destroy (s);
  return ok;
}

gboolean
bs_export_figure_png (const BsExportSource *src, int index, const BsOverlayOptions *opts,
                      int width, int height, const char *path, GError **error)
{
  cairo_surface_t *s;
  gboolean ok;

  if (!check_source (src, index, path, error))
    return FALSE;
  s = bs_export_render_figure (src, index, opts, width, height);
  ok = bs_export_write_png (s, path, error);
  cairo_surface_destroy (s);
  return ok;
}

gboolean
bs_export_mask_nifti (const BsExportSource *src, const char *path, GError **error)
{
  g_autoptr(BsVolume) mask = NULL;
  g_autoptr(GError) local = NULL;
  gsize n = bs_volume_n_voxels (src->image);

  if (!check_source (src, 0, path, error))
    return FALSE;
  mask = bs_volume_new_like (src->image, 1);
  mask->is_label = TRUE;
  for (gsize i = 0; i < n; i++)
    mask->data[i] = src->pred->data[i] > 0.5f ? 1.0f : 0.0f;
  if (!bs_volume_save_nifti (mask, path, DT_UINT8, &local))
    {
      /* The NIfTI writer already names the file; only the domain changes so
       * callers handle every export failure alike. */
      g_set_error_literal (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE, local->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
bs_export_label_map_nifti (const BsExportSource *src, BsLabelConvention conv, const char *path, GError **error)
{
  g_autoptr(BsVolume) wt = NULL, tc = NULL, et = NULL, map = NULL;
  g_autoptr(GError) local = NULL;
  const float *probs[BS_N_REGIONS];
  gsize n = bs_volume_n_voxels (src->image);

  if (conv == BS_LABELS_BINARY)
    return bs_export_mask_nifti (src, path, error);
  if (!check_source (src, 0, path, error))
    return FALSE;
  if (pred_channel (src, BS_REGION_TC) < 0 || pred_channel (src, BS_REGION_ET) < 0)
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                   _("Cannot export “%s” as a label map: the model predicts the whole tumour only"), path);
      return FALSE;
    }
  wt = bs_volume_new_like (src->image, 1);
  tc = bs_volume_new_like (src->image, 1);
  et = bs_volume_new_like (src->image, 1);
  for (int r = 0; r < BS_N_REGIONS; r++)
    probs[r] = bs_volume_channel (src->pred, pred_channel (src, r));
  bs_regions_from_probs (probs, n, wt->data, tc->data, et->data);
  map = bs_labels_from_regions (wt, tc, et, conv);
  if (map == NULL)
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                   _("Cannot export “%s”: %s labels have no sub-regions"), path, bs_labels_convention_name (conv));
      return FALSE;
    }
  if (!bs_volume_save_nifti (map, path, DT_UINT8, &local))
    {
      g_set_error_literal (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE, local->message);
      return FALSE;
    }
  return TRUE;
}

char *
bs_export_dice_csv_text (const BsExportSource *src)
{
  gboolean regions = src->truth != NULL && has_regions (src);
  const char *cleanup = src->cleanup == BS_EXPORT_CLEANUP_ON ? ",on"
                        : src->cleanup == BS_EXPORT_CLEANUP_OFF ? ",off" : "";
  GString *csv = g_string_new (regions ? "slice,dice,truth_pixels,pred_pixels,tp,fp,fn,dice_tc,dice_et"
                                       : "slice,dice,truth_pixels,pred_pixels,tp,fp,fn");
  int n = bs_volume_n_slices (src->image, src->plane);
  SliceData s = { 0 };
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append (csv, *cleanup ? ",cleanup\n" : "\n");
  slice_data_load (&s, src, 0);
  for (int k = 0; k < n; k++)
    {
      BsConfusion c = { 0 };
      gsize npx = (gsize) s.w * s.h;

      bs_volume_get_slice (src->pred, 0, src->plane, k, s.pred);
      if (s.truth)
        {
          bs_volume_get_slice (src->truth, 0, src->plane, k, s.truth);
          bs_confusion_add (&c, s.pred, s.truth, npx);
          /* No tumour in truth or prediction: Dice is undefined there (an
           * empty cell), so that averaging the column is not inflated by 1s. */
          g_string_append_printf (csv, "%d,%s,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
                                  ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT,
                                  k, c.tp + c.fp + c.fn > 0
                                       ? g_ascii_formatd (num, sizeof num, "%.6f", bs_confusion_dice (&c)) : "",
                                  c.tp + c.fn, c.tp + c.fp, c.tp, c.fp, c.fn);
          if (regions)
            {
              slice_regions_load (&s, src, k);
              for (int r = BS_REGION_TC; r < BS_N_REGIONS; r++)
                {
                  BsConfusion rc = { 0 };

                  bs_confusion_add (&rc, s.pred_region[r], s.truth_region[r], npx);
                  g_string_append_printf (csv, ",%s", rc.tp + rc.fp + rc.fn > 0
                                                        ? g_ascii_formatd (num, sizeof num, "%.6f",
                                                                           bs_confusion_dice (&rc))
                                                        : "");
                }
            }
          g_string_append_printf (csv, "%s\n", cleanup);
        }
      else
        {
          guint64 on = 0;
          for (gsize i = 0; i < npx; i++)
            on += s.pred[i] > 0.5f;
          g_string_append_printf (csv, "%d,,,%" G_GUINT64_FORMAT ",,,%s\n", k, on, cleanup);
        }
    }
  slice_data_clear (&s);
  return g_string_free (csv, FALSE);
}

gboolean
bs_export_dice_csv (const BsExportSource *src, const char *path, GError **error)
{
  g_autofree char *text = NULL;

  if (!check_source (src, 0, path, error))
    return FALSE;
  text = bs_export_dice_csv_text (src);
  return bs_file_write_atomic (path, text, strlen (text), error);
}

gboolean
bs_export_series (const BsExportSource *src, const BsOverlayOptions *opts,
                  int width, int height, const char *dir,
                  BsExportProgress progress, gpointer user_data,
                  GCancellable *cancellable, GError **error)
{
  int n = bs_volume_n_slices (src->image, src->plane);

  if (!check_source (src, 0, dir, error))
    return FALSE;
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE,
                   _("Could not create the folder “%s”: %s"), dir, g_strerror (saved));
      return FALSE;
    }
  /* A name that is taken by a folder would stop the series half-way (fuzz
   * finding): every name is looked at before the first image is written. */
  for (int k = 0; k < n; k++)
    {
      g_autofree char *name = g_strdup_printf ("%s-%03d.png", bs_plane_name (src->plane), k);
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (!bs_export_check_destination (path, FALSE, error))
        return FALSE;
    }
  for (int k = 0; k < n; k++)
    {
      g_autofree char *name = g_strdup_printf ("%s-%03d.png", bs_plane_name (src->plane), k);
      g_autofree char *path = g_build_filename (dir, name, NULL);

      /* Stopped by the user: the images written so far stay (each whole). */
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!bs_export_overlay_png (src, k, opts, width, height, path, error))
        {
          /* A failure (the disk full...): no half series is left behind. */
          for (int j = 0; j < k; j++)
            {
              g_autofree char *done = g_strdup_printf ("%s-%03d.png", bs_plane_name (src->plane), j);
              g_autofree char *done_path = g_build_filename (dir, done, NULL);

              g_unlink (done_path);
            }
          return FALSE;
        }
      if (progress)
        progress (k + 1, n, user_data);
    }
  return TRUE;
}
