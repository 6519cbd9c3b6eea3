#include "bs-compare-chart.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>
#include <pango/pangocairo.h>

#include "bs-export.h"

struct _BsCompareChart
{
  GtkWidget parent_instance;
  BsCompareResult *result;  /* while running, rows not run yet are unavailable without a reason */
};

G_DEFINE_FINAL_TYPE (BsCompareChart, bs_compare_chart, GTK_TYPE_WIDGET)

/* Bar colours by precision, from the Okabe-Ito palette like the overlay. */
static const double precision_rgb[3][3] = {
  { 0.000, 0.447, 0.698 },  /* fp32: blue */
  { 0.902, 0.624, 0.000 },  /* int8: orange */
  { 0.000, 0.620, 0.451 },  /* bf16: bluish green */
};

static void
show_text (cairo_t *cr, PangoLayout *layout, const char *text, double x, double y, double max_w, gboolean right)
{
  int w, h;

  pango_layout_set_text (layout, text, -1);
  pango_layout_set_width (layout, max_w > 0 ? (int) (max_w * PANGO_SCALE) : -1);
  pango_layout_set_ellipsize (layout, max_w > 0 ? PANGO_ELLIPSIZE_END : PANGO_ELLIPSIZE_NONE);
  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_move_to (cr, right ? x - w : x, y - h / 2.0);
  pango_cairo_show_layout (cr, layout);
}

static char *
accuracy_text (const BsCompareResult *r, const BsCompareRow *row, int index)
{
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  if (index == r->reference)
    return g_strdup (_("reference"));
  if (!isnan (row->dice_delta))
    {
      /* Explicit sign: a loss and a gain must not look alike. */
      g_autofree char *fmt = bs_compare_format_delta (row->dice_delta);
      return g_strdup_printf (_("ΔDice %s"), fmt);
    }
  return g_strdup_printf (_("agreement %s"), g_ascii_formatd (num, sizeof num, "%.4f", row->agreement));
}

/* "12.0 ms (2.92×)": the time and the speed-up over the reference, and how
 * many slices a configuration cut short by the time budget ran. */
static char *
time_text (const BsCompareResult *r, int i)
{
  const BsCompareRow *row = &r->rows[i];
  char num[G_ASCII_DTOSTR_BUF_SIZE], speed[G_ASCII_DTOSTR_BUF_SIZE];
  char *ms;

  g_ascii_formatd (num, sizeof num, "%.1f", row->ms_per_slice);
  if (r->reference >= 0 && r->rows[r->reference].available && i != r->reference)
    {
      g_ascii_formatd (speed, sizeof speed, "%.2f", r->rows[r->reference].ms_per_slice / row->ms_per_slice);
      /* Translators: milliseconds per slice, then the speed-up over the fp32 reference. */
      ms = g_strdup_printf (_("%s ms (%s×)"), num, speed);
    }
  else
    ms = g_strdup_printf (_("%s ms"), num);
  if (row->n_slices_run > 0 && row->n_slices_run < r->n_slices)
    {
      /* Translators: a time, then how many slices a slow configuration ran before its time budget ran out. */
      char *partial = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s, %d slice", "%s, %d slices",
                                                    row->n_slices_run),
                                       ms, row->n_slices_run);
      g_free (ms);
      ms = partial;
    }
  return ms;
}

void
bs_compare_chart_draw (const BsCompareResult *r, cairo_t *cr, int width, int height)
{
  PangoLayout *layout;
  PangoFontDescription *font;
  double max_ms = 0, top, row_h, label_w, bar_x, bar_w, acc_w, text_w = 0;
  int n = r ? r->n_rows : 0;

  cairo_save (cr);
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  layout = pango_cairo_create_layout (cr);
  font = pango_font_description_from_string ("Sans");
  pango_font_description_set_absolute_size (font, MAX (8.0, MIN (height / 40.0, width / 60.0)) * PANGO_SCALE);
  pango_layout_set_font_description (layout, font);
  cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);

  if (n == 0)
    {
      show_text (cr, layout, _("No comparison yet"), width / 2.0 - width / 8.0, height / 2.0, 0, FALSE);
      goto out;
    }

  for (int i = 0; i < n; i++)
    if (r->rows[i].available && r->rows[i].ms_per_slice > max_ms)
      max_ms = r->rows[i].ms_per_slice;
  if (max_ms <= 0)
    max_ms = 1;

  {
    g_autofree char *title = NULL;

    if (r->width > 0 && r->height > 0)
      title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                            "Milliseconds per slice (%d×%d, batch 1, %d slice; shorter is faster)",
                                            "Milliseconds per slice (%d×%d, batch 1, median of %d slices; shorter is "
                                            "faster)",
                                            r->n_slices),
                               r->width, r->height, r->n_slices);
    else  /* the brain's window is not measured yet */
      title = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                            "Milliseconds per slice (batch 1, %d slice; shorter is faster)",
                                            "Milliseconds per slice (batch 1, median of %d slices; shorter is faster)",
                                            r->n_slices),
                               r->n_slices);
    pango_font_description_set_weight (font, PANGO_WEIGHT_BOLD);
    pango_layout_set_font_description (layout, font);
    show_text (cr, layout, title, width * 0.02, height * 0.04, width * 0.96, FALSE);
    pango_font_description_set_weight (font, PANGO_WEIGHT_NORMAL);
    pango_layout_set_font_description (layout, font);
  }
  /* Which case, model and CPU: a saved chart must say what it measured. */
  if (r->caption != NULL)
    {
      cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);
      show_text (cr, layout, r->caption, width * 0.02, height * 0.085, width * 0.96, FALSE);
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
    }

  top = r->caption != NULL ? height * 0.13 : height * 0.09;
  /* What ΔDice is, in the chart itself: a saved chart goes on a slide
   * without the dialog's explanation (walk finding).  Its room is kept from
   * the start, so that the rows do not move up when the reference's Dice
   * comes in (walk finding: the chart jumped while a presenter watched). */
  {
    g_autofree char *note = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                          "ΔDice: each configuration's Dice minus the fp32 "
                                                          "reference's, on the %d slice compared, before the "
                                                          "island clean-up",
                                                          "ΔDice: each configuration's Dice minus the fp32 "
                                                          "reference's, on the %d slices compared, before the "
                                                          "island clean-up",
                                                          r->n_slices),
                                             r->n_slices);
    gboolean shown = r->reference >= 0 && r->reference < n && !isnan (r->rows[r->reference].dice);
    int nw, nh;

    /* wrapped, not cut: the German runs longer than a line (review) */
    pango_layout_set_text (layout, note, -1);
    pango_layout_set_width (layout, (int) (width * 0.96 * PANGO_SCALE));
    pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_NONE);
    pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
    pango_layout_get_pixel_size (layout, &nw, &nh);
    if (shown)
      {
        cairo_set_source_rgb (cr, 0.35, 0.35, 0.35);
        cairo_move_to (cr, width * 0.02, height * 0.99 - nh);
        pango_cairo_show_layout (cr, layout);
        cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      }
    row_h = (height - top - height * 0.02 - nh) / n;
  }
  label_w = width * 0.22;
  acc_w = width * 0.17;
  bar_x = width * 0.02 + label_w;
  /* The longest time label must fit between the longest bar and the
   * accuracy column. */
  for (int i = 0; i < n; i++)
    if (r->rows[i].available)
      {
        g_autofree char *ms = time_text (r, i);
        int tw, th;

        pango_layout_set_width (layout, -1);
        pango_layout_set_text (layout, ms, -1);
        pango_layout_get_pixel_size (layout, &tw, &th);
        text_w = MAX (text_w, tw);
      }
  bar_w = MAX (10.0, width - bar_x - acc_w - text_w - width * 0.03);

  for (int i = 0; i < n; i++)
    {
      const BsCompareRow *row = &r->rows[i];
      double cy = top + (i + 0.5) * row_h;
      g_autofree char *label = bs_compare_row_label (row);

      if (i % 2 == 0)
        {
          cairo_set_source_rgb (cr, 0.95, 0.95, 0.96);
          cairo_rectangle (cr, 0, top + i * row_h, width, row_h);
          cairo_fill (cr);
        }
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      show_text (cr, layout, label, width * 0.02, cy, label_w - width * 0.01, FALSE);

      if (!row->available)
        {
          g_autofree char *text = NULL;

          /* Pending rows have neither a time nor a reason yet. */
          /* the reason up to its first colon: the rest ("why") is in the
           * dialog's status line and the CSV, and would be cut off here */
          if (row->reason)
            {
              g_autofree char *brief = g_strndup (row->reason, strcspn (row->reason, ":"));
              text = g_strdup_printf (_("unavailable: %s"), brief);
            }
          else
            text = g_strdup (_("waiting…"));
          cairo_set_source_rgb (cr, 0.45, 0.45, 0.45);
          show_text (cr, layout, text, bar_x, cy, width - bar_x - width * 0.02, FALSE);
          continue;
        }

      double len = MAX (1.0, bar_w * row->ms_per_slice / max_ms);
      const double *rgb = precision_rgb[CLAMP ((int) row->precision, 0, 2)];
      cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
      cairo_rectangle (cr, bar_x, cy - row_h * 0.32, len, row_h * 0.64);
      cairo_fill (cr);
      if (i == r->reference)
        {
          cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
          cairo_set_line_width (cr, MAX (1.0, row_h * 0.06));
          cairo_rectangle (cr, bar_x, cy - row_h * 0.32, len, row_h * 0.64);
          cairo_stroke (cr);
        }

      g_autofree char *ms = time_text (r, i);
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      show_text (cr, layout, ms, bar_x + len + width * 0.008, cy, 0, FALSE);

      g_autofree char *acc = accuracy_text (r, row, i);
      /* A Dice loss beyond the agreement bound of the issue (0.01) in red. */
      if (!isnan (row->dice_delta) && row->dice_delta < -0.01)
        cairo_set_source_rgb (cr, 0.75, 0.1, 0.1);
      show_text (cr, layout, acc, width - width * 0.02, cy, 0, TRUE);
    }

out:
  pango_font_description_free (font);
  g_object_unref (layout);
  cairo_restore (cr);
}

gboolean
bs_compare_chart_save_png (const BsCompareResult *result, int width, int height,
                           const char *path, GError **error)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cairo_t *cr = cairo_create (s);
  gboolean ok;

  bs_compare_chart_draw (result, cr, width, height);
  cairo_destroy (cr);
  ok = bs_export_write_png (s, path, error);
  cairo_surface_destroy (s);
  return ok;
}

static void
bs_compare_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  BsCompareChart *self = BS_COMPARE_CHART (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));

  bs_compare_chart_draw (self->result, cr, w, h);
  cairo_destroy (cr);
}

static void
bs_compare_chart_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                          int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 480 : 360;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 960 : 600;
}

static void
bs_compare_chart_finalize (GObject *object)
{
  BsCompareChart *self = BS_COMPARE_CHART (object);

  bs_compare_result_free (self->result);
  G_OBJECT_CLASS (bs_compare_chart_parent_class)->finalize (object);
}

static void
bs_compare_chart_class_init (BsCompareChartClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = bs_compare_chart_finalize;
  widget_class->snapshot = bs_compare_chart_snapshot;
  widget_class->measure = bs_compare_chart_measure;
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
bs_compare_chart_init (BsCompareChart *self)
{
}

GtkWidget *
bs_compare_chart_new (void)
{
  return g_object_new (BS_TYPE_COMPARE_CHART, NULL);
}

void
bs_compare_chart_begin (BsCompareChart *self, BsCompareResult *pending)
{
  bs_compare_result_free (self->result);
  self->result = pending;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
bs_compare_chart_set_row (BsCompareChart *self, int i, const BsCompareRow *row)
{
  BsCompareRow *dst;

  g_return_if_fail (self->result != NULL && i >= 0 && i < self->result->n_rows);
  dst = &self->result->rows[i];
  g_free (dst->reason);
  *dst = *row;
  dst->reason = g_strdup (row->reason);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
bs_compare_chart_set_result (BsCompareChart *self, BsCompareResult *result)
{
  bs_compare_result_free (self->result);
  self->result = result;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const BsCompareResult *
bs_compare_chart_get_result (BsCompareChart *self)
{
  return self->result;
}
