#include <glib/gi18n.h>
#include <math.h>

#include "bs-panel-private.h"
#include "bs-dice-chart.h"

struct _BsDiceChart
{
  GtkWidget parent_instance;

  int n;
  double *dice;
  guint8 *empty;
  int current;
  char *message;   /* shown over an empty plot, or NULL */
  char *axis_title; /* under the slice numbers' axis, or NULL */
  gboolean axis_title_drawn;  /* it fitted, the last time the chart was drawn */
};

G_DEFINE_FINAL_TYPE (BsDiceChart, bs_dice_chart, GTK_TYPE_WIDGET)

enum { SIGNAL_SLICE_ACTIVATED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* The plot's margins: the Dice axis on the left, slice numbers below. */
#define CHART_LEFT 26.0
#define CHART_TOP 6.0
#define CHART_BOTTOM 16.0

int
bs_dice_chart_slice_at (BsDiceChart *self, double x)
{
  double plot_w = gtk_widget_get_width (GTK_WIDGET (self)) - CHART_LEFT - 2;
  int s;

  if (self->n <= 0 || plot_w <= 0)
    return -1;
  s = (int) floor ((x - CHART_LEFT) / plot_w * self->n);
  return CLAMP (s, 0, self->n - 1);
}

static void
activate_at (BsDiceChart *self, double x)
{
  int s = bs_dice_chart_slice_at (self, x);

  if (s >= 0)
    g_signal_emit (self, signals[SIGNAL_SLICE_ACTIVATED], 0, s);
}

static void
on_pressed (GtkGestureClick *gesture, int n_press, double x, double y, BsDiceChart *self)
{
  activate_at (self, x);
}

static void
on_drag_update (GtkGestureDrag *gesture, double dx, double dy, BsDiceChart *self)
{
  double x0, y0;

  if (gtk_gesture_drag_get_start_point (gesture, &x0, &y0))
    activate_at (self, x0 + dx);
}

static void
bs_dice_chart_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  BsDiceChart *self = BS_DICE_CHART (widget);
  double w = gtk_widget_get_width (widget);
  double h = gtk_widget_get_height (widget);
  double left = CHART_LEFT, bottom = CHART_BOTTOM, top = CHART_TOP;
  double plot_w = w - left - 2, plot_h = h - top - bottom;
  g_autoptr(PangoLayout) layout = NULL;
  cairo_t *cr;
  GdkRGBA fg;

  if (w <= left + 4 || h <= top + bottom + 4)
    return;
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  layout = gtk_widget_create_pango_layout (widget, NULL);

  /* Axis: 0, 0.5, 1 */
  cairo_set_line_width (cr, 1);
  for (int i = 0; i <= 2; i++)
    {
      double y = top + plot_h * (1 - i / 2.0);
      char label[8];
      int tw, th;

      g_snprintf (label, sizeof label, "%.1f", i / 2.0);
      pango_layout_set_text (layout, label, -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.7);
      cairo_move_to (cr, left - 4 - tw, CLAMP (y - th / 2.0, 0, h - th));
      pango_cairo_show_layout (cr, layout);
      cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.15);
      cairo_move_to (cr, left, floor (y) + 0.5);
      cairo_line_to (cr, left + plot_w, floor (y) + 0.5);
      cairo_stroke (cr);
    }

  if (self->n > 0)
    {
      double bw = plot_w / self->n;
      int ticks[3] = { 0, self->n / 2, self->n - 1 };  /* the middle a plane opens on */

      /* Slice numbers under the first, middle and last slice, as the slice
       * label counts them (from 0). */
      for (int i = 0; i < 3; i++)
        {
          char label[16];
          int tw, th;
          double x = left + (ticks[i] + 0.5) * bw;

          if (i > 0 && ticks[i] == ticks[i - 1])
            continue;
          g_snprintf (label, sizeof label, "%d", ticks[i]);
          pango_layout_set_text (layout, label, -1);
          pango_layout_get_pixel_size (layout, &tw, &th);
          cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.7);
          cairo_move_to (cr, CLAMP (x - tw / 2.0, left, w - tw), top + plot_h + 2);
          pango_cairo_show_layout (cr, layout);
        }

      /* The axis's title ("Coronal slice") between the middle and the last
       * number, or between the first and the middle one, where it fits
       * (walk finding: the line over the chart says "axial slices
       * computed", the network's plane, over coronal bars). */
      self->axis_title_drawn = FALSE;
      if (self->axis_title != NULL && ticks[2] > ticks[1] && ticks[1] > ticks[0])
        {
          int tw, th, nw[3];
          double gap_from[2], gap_to[2];

          for (int i = 0; i < 3; i++)
            {
              char label[16];

              g_snprintf (label, sizeof label, "%d", ticks[i]);
              pango_layout_set_text (layout, label, -1);
              pango_layout_get_pixel_size (layout, &nw[i], &th);
            }
          /* right of the middle number, then right of the first */
          gap_from[0] = left + (ticks[1] + 0.5) * bw + nw[1] / 2.0 + 6;
          gap_to[0] = MIN (left + (ticks[2] + 0.5) * bw - nw[2] / 2.0, w - nw[2]) - 6;
          gap_from[1] = MAX (left + (ticks[0] + 0.5) * bw + nw[0] / 2.0, left + nw[0]) + 6;
          gap_to[1] = left + (ticks[1] + 0.5) * bw - nw[1] / 2.0 - 6;
          pango_layout_set_text (layout, self->axis_title, -1);
          pango_layout_get_pixel_size (layout, &tw, &th);
          for (int g = 0; g < 2 && !self->axis_title_drawn; g++)
            if (gap_to[g] - gap_from[g] >= tw)
              {
                cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.55);
                cairo_move_to (cr, floor ((gap_from[g] + gap_to[g] - tw) / 2), top + plot_h + 2);
                pango_cairo_show_layout (cr, layout);
                self->axis_title_drawn = TRUE;
              }
        }

      for (int s = 0; s < self->n; s++)
        {
          double d = self->dice[s];
          double x = left + s * bw;

          if (isnan (d))
            continue;
          if (self->empty[s])
            {
              /* Nothing to find: no bar when nothing was found either, a red
               * mark under the axis when something was (false positives). */
              if (d < 0.5)
                {
                  cairo_set_source_rgb (cr, 0.85, 0.2, 0.15);
                  cairo_rectangle (cr, x, top + plot_h - 3, MAX (bw - (bw > 3 ? 1 : 0), 1), 3);
                  cairo_fill (cr);
                }
              continue;
            }
          /* Tumour in the truth and none of it found: a bar of height 0
           * would look like a slice without tumour (walk finding), so a
           * faint full-height column in the colour of Dice 0 marks it. */
          if (d < 0.005)
            {
              cairo_set_source_rgba (cr, 0.8, 0.35, 0.0, 0.35);
              cairo_rectangle (cr, x, top, MAX (bw - (bw > 3 ? 1 : 0), 1), plot_h);
              cairo_fill (cr);
              continue;
            }
          cairo_set_source_rgb (cr, 0.2 + 0.6 * (1 - d), 0.35 + 0.45 * d, 0.85 * d);
          cairo_rectangle (cr, x, top + plot_h * (1 - d), MAX (bw - (bw > 3 ? 1 : 0), 1), plot_h * d);
          cairo_fill (cr);
        }
      double msg_top = 0, msg_bottom = 0;  /* the message's band, which the slice marker skips */

      if (self->message != NULL)
        {
          int tw, th;

          pango_layout_set_text (layout, self->message, -1);
          pango_layout_set_width (layout, (int) (plot_w - 8) * PANGO_SCALE);
          pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
          pango_layout_get_pixel_size (layout, &tw, &th);
          cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.6);
          cairo_move_to (cr, left + 4, top + (plot_h - th) / 2);
          pango_cairo_show_layout (cr, layout);
          pango_layout_set_width (layout, -1);
          msg_top = top + (plot_h - th) / 2 - 2;
          msg_bottom = msg_top + th + 4;
        }
      if (self->current >= 0 && self->current < self->n)
        {
          double x = left + (self->current + 0.5) * bw;

          /* A thin line in the text colour with a notch on top, so it never
           * reads as one more bar. */
          cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.8);
          cairo_set_line_width (cr, 1);
          cairo_move_to (cr, floor (x) + 0.5, top + 5);
          if (msg_bottom > msg_top)
            {
              /* not through the message's words (walk finding) */
              cairo_line_to (cr, floor (x) + 0.5, msg_top);
              cairo_move_to (cr, floor (x) + 0.5, msg_bottom);
            }
          cairo_line_to (cr, floor (x) + 0.5, top + plot_h);
          cairo_stroke (cr);
          cairo_move_to (cr, x - 4, top - 2);
          cairo_line_to (cr, x + 4, top - 2);
          cairo_line_to (cr, x, top + 5);
          cairo_close_path (cr);
          cairo_fill (cr);
        }
    }
  cairo_destroy (cr);
}

static void
bs_dice_chart_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                       int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 120 : 72;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 260 : 102;
}

static void
bs_dice_chart_finalize (GObject *object)
{
  BsDiceChart *self = BS_DICE_CHART (object);

  g_free (self->dice);
  g_free (self->empty);
  g_free (self->message);
  g_free (self->axis_title);
  G_OBJECT_CLASS (bs_dice_chart_parent_class)->finalize (object);
}

static void
bs_dice_chart_class_init (BsDiceChartClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bs_dice_chart_finalize;
  GTK_WIDGET_CLASS (klass)->snapshot = bs_dice_chart_snapshot;
  GTK_WIDGET_CLASS (klass)->measure = bs_dice_chart_measure;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "bs-dice-chart");
  /* (int slice): a click or a drag over the chart picked a slice. */
  signals[SIGNAL_SLICE_ACTIVATED] = g_signal_new ("slice-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_INT);
  gtk_widget_class_set_accessible_role (GTK_WIDGET_CLASS (klass), GTK_ACCESSIBLE_ROLE_IMG);
}

char *
bs_dice_chart_tooltip_text (BsDiceChart *self, int slice)
{
  const char *legend = _("Bar height: the slice's Dice, blue at 1 to orange near 0; a faint orange column: tumour "
                         "there, none of it found; red marks: false positives on slices without tumour. Click or "
                         "drag to go to a slice.");
  const char *what = self->axis_title != NULL ? self->axis_title : _("Slice");
  g_autofree char *head = NULL;
  double d;

  if (slice < 0 || slice >= self->n)
    return g_strdup (legend);
  d = self->dice[slice];
  if (isnan (d))
    /* TRANSLATORS: "Coronal slice 77: not computed yet" */
    head = g_strdup_printf (_("%s %d: not computed yet"), what, slice);
  else if (self->empty[slice] && d < 0.5)
    head = g_strdup_printf (_("%s %d: no tumour in the ground truth, some predicted (false positives)"), what, slice);
  else if (self->empty[slice])
    head = g_strdup_printf (_("%s %d: no tumour in the ground truth or the prediction"), what, slice);
  else
    /* TRANSLATORS: "Coronal slice 77: Dice 0.9512" */
    head = g_strdup_printf (_("%s %d: Dice %.4f"), what, slice, d);
  /* TRANSLATORS: the bar under the pointer, then what the chart shows (one paragraph: it wraps) */
  return g_strdup_printf (_("%s. %s"), head, legend);
}

/* The tooltip names the bar under the pointer and its Dice (walk finding:
 * one fixed explanation, no slice or value), and is asked again when the
 * pointer leaves that bar's column. */
static gboolean
on_query_tooltip (GtkWidget *widget, int x, int y, gboolean keyboard, GtkTooltip *tooltip, gpointer data)
{
  BsDiceChart *self = BS_DICE_CHART (widget);
  int slice = keyboard ? self->current : bs_dice_chart_slice_at (self, x);
  g_autofree char *text = bs_dice_chart_tooltip_text (self, slice);

  if (slice >= 0 && self->n > 0)
    {
      double plot_w = gtk_widget_get_width (widget) - CHART_LEFT - 2, bw = plot_w / self->n;

      gtk_tooltip_set_tip_area (tooltip, &(GdkRectangle) { (int) floor (CHART_LEFT + slice * bw), 0,
                                                           MAX ((int) ceil (bw), 1),
                                                           gtk_widget_get_height (widget) });
    }
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
bs_dice_chart_init (BsDiceChart *self)
{
  GtkGesture *click = gtk_gesture_click_new ();
  GtkGesture *drag = gtk_gesture_drag_new ();

  self->current = -1;
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (self, "query-tooltip", G_CALLBACK (on_query_tooltip), NULL);
  g_signal_connect (click, "pressed", G_CALLBACK (on_pressed), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (on_drag_update), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drag));
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "pointer");
}

GtkWidget *
bs_dice_chart_new (void)
{
  return g_object_new (BS_TYPE_DICE_CHART, NULL);
}

void
bs_dice_chart_reset (BsDiceChart *self, int n)
{
  g_return_if_fail (BS_IS_DICE_CHART (self));

  n = MAX (n, 0);
  g_free (self->dice);
  g_free (self->empty);
  self->n = n;
  self->dice = g_new (double, MAX (n, 1));
  self->empty = g_new0 (guint8, MAX (n, 1));
  for (int i = 0; i < n; i++)
    self->dice[i] = NAN;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
bs_dice_chart_set_value (BsDiceChart *self, int slice, double dice, gboolean truth_empty)
{
  g_return_if_fail (BS_IS_DICE_CHART (self));

  if (slice < 0 || slice >= self->n)
    return;
  self->dice[slice] = dice;
  self->empty[slice] = truth_empty;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
bs_dice_chart_set_current (BsDiceChart *self, int slice)
{
  if (self->current == slice)
    return;
  self->current = slice;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
bs_dice_chart_set_message (BsDiceChart *self, const char *message)
{
  g_return_if_fail (BS_IS_DICE_CHART (self));
  if (g_strcmp0 (self->message, message) == 0)
    return;
  g_free (self->message);
  self->message = g_strdup (message);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const char *
bs_dice_chart_get_message (BsDiceChart *self)
{
  g_return_val_if_fail (BS_IS_DICE_CHART (self), NULL);
  return self->message;
}

void
bs_dice_chart_set_axis_title (BsDiceChart *self, const char *title)
{
  if (g_strcmp0 (title, self->axis_title) == 0)
    return;
  g_free (self->axis_title);
  self->axis_title = g_strdup (title);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const char *
bs_dice_chart_get_axis_title (BsDiceChart *self)
{
  return self->axis_title;
}

gboolean
bs_dice_chart_axis_title_drawn (BsDiceChart *self)
{
  return self->axis_title_drawn;
}
