#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "bs-slice-view.h"

#define MAX_LEGEND 4
#define ZOOM_MIN 0.25
#define ZOOM_MAX 32.0

struct _BsSliceView
{
  GtkWidget parent_instance;

  cairo_surface_t *surface;
  double aspect;
  char *title;
  char *placeholder;
  char letters[4];
  gboolean has_letters;
  int n_legend;
  double legend_rgb[MAX_LEGEND][3];
  char *legend_labels[MAX_LEGEND];

  BsViewTransform t;
  double cursor_x, cursor_y;
  /* Last pointer position in widget coordinates: zoom centres on it. */
  double pointer_x, pointer_y;

  /* Drag state. */
  double drag_pan_x, drag_pan_y;
  double wl_last_x, wl_last_y;
  /* Painting (bs_slice_view_set_painting): the left drag paints instead of
   * panning; the brush's radius in image pixels, drawn as a ring. */
  gboolean painting, stroking, hovered;
  double brush_radius;
  double drag_x, drag_y;
};

G_DEFINE_FINAL_TYPE (BsSliceView, bs_slice_view, GTK_TYPE_WIDGET)

enum {
  SIGNAL_TRANSFORM_CHANGED,
  SIGNAL_CURSOR_MOVED,
  SIGNAL_STEP,
  SIGNAL_WINDOW_LEVEL,
  SIGNAL_PAINT,
  N_SIGNALS
};
static guint signals[N_SIGNALS];

/* Image-to-widget mapping: widget = origin + image * scale (y scaled by aspect). */
static gboolean
view_geometry (BsSliceView *self, double *ox, double *oy, double *sx, double *sy)
{
  double w = gtk_widget_get_width (GTK_WIDGET (self));
  double h = gtk_widget_get_height (GTK_WIDGET (self));
  double iw, ih, fit;

  if (self->surface == NULL || w <= 0 || h <= 0)
    return FALSE;
  iw = cairo_image_surface_get_width (self->surface);
  ih = cairo_image_surface_get_height (self->surface) * self->aspect;
  if (iw <= 0 || ih <= 0)
    return FALSE;
  fit = MIN (w / iw, h / ih) * self->t.zoom;
  *sx = fit;
  *sy = fit * self->aspect;
  *ox = w / 2.0 - (iw / 2.0 + self->t.pan_x) * fit;
  *oy = h / 2.0 - (ih / 2.0 + self->t.pan_y * self->aspect) * fit;
  return TRUE;
}

static void
draw_text (cairo_t *cr, PangoLayout *layout, const char *text, double x, double y, double ax, double ay)
{
  int tw, th;

  pango_layout_set_text (layout, text, -1);
  pango_layout_get_pixel_size (layout, &tw, &th);
  x -= tw * ax;
  y -= th * ay;
  /* A dark halo keeps text legible over bright tissue. */
  cairo_set_source_rgba (cr, 0, 0, 0, 0.75);
  for (int dx = -1; dx <= 1; dx++)
    for (int dy = -1; dy <= 1; dy++)
      {
        cairo_move_to (cr, x + dx, y + dy);
        pango_cairo_show_layout (cr, layout);
      }
  cairo_set_source_rgb (cr, 1, 1, 0.85);
  cairo_move_to (cr, x, y);
  pango_cairo_show_layout (cr, layout);
}

/* Where the title (top left) and the top orientation letter (top centre) go
 * in a view w pixels wide: the letter moves below the title's line when the
 * two would touch ("MRI input · FLAIRA" in a narrow pane) or read as one
 * ("MRI input · T1gd A": walk finding), closer than three letters. */
static void
label_rects (BsSliceView *self, PangoLayout *layout, double w, GdkRectangle *title, GdkRectangle *letter)
{
  int tw = 0, th = 0, lw = 0, lh = 0;
  char s[2] = { self->has_letters ? self->letters[2] : 'A', 0 };

  if (self->title != NULL)
    {
      pango_layout_set_text (layout, self->title, -1);
      pango_layout_get_pixel_size (layout, &tw, &th);
    }
  pango_layout_set_text (layout, s, -1);
  pango_layout_get_pixel_size (layout, &lw, &lh);
  *title = (GdkRectangle) { 8, 4, self->title != NULL ? tw : 0, self->title != NULL ? th : 0 };
  *letter = (GdkRectangle) { (int) (w / 2 - lw / 2.0), 4, lw, lh };
  if (self->title != NULL && title->x + title->width + MAX (24, 3 * lw) > letter->x)
    letter->y = title->y + title->height + 2;
}

void
bs_slice_view_get_label_rects (BsSliceView *self, GdkRectangle *title, GdkRectangle *top_letter)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), NULL);

  label_rects (self, layout, gtk_widget_get_width (GTK_WIDGET (self)), title, top_letter);
}

static void
bs_slice_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  BsSliceView *self = BS_SLICE_VIEW (widget);
  double w = gtk_widget_get_width (widget);
  double h = gtk_widget_get_height (widget);
  double ox, oy, sx, sy;
  g_autoptr(PangoLayout) layout = NULL;
  cairo_t *cr;

  if (w <= 0 || h <= 0)
    return;
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  cairo_set_source_rgb (cr, 0, 0, 0);
  cairo_paint (cr);
  layout = gtk_widget_create_pango_layout (widget, NULL);

  if (view_geometry (self, &ox, &oy, &sx, &sy))
    {
      cairo_pattern_t *pattern;

      cairo_save (cr);
      cairo_translate (cr, ox, oy);
      cairo_scale (cr, sx, sy);
      cairo_set_source_surface (cr, self->surface, 0, 0);
      pattern = cairo_get_source (cr);
      /* Voxels are data: show them as squares, never smoothed. */
      cairo_pattern_set_filter (pattern, CAIRO_FILTER_NEAREST);
      cairo_paint (cr);
      cairo_restore (cr);

      if (self->cursor_x >= 0)
        {
          double cx = ox + (floor (self->cursor_x) + 0.5) * sx;
          double cy = oy + (floor (self->cursor_y) + 0.5) * sy;

          cairo_set_source_rgba (cr, 1.0, 0.85, 0.1, 0.7);
          cairo_set_line_width (cr, 1.0);
          cairo_move_to (cr, cx, MAX (0, oy));
          cairo_line_to (cr, cx, cy - 6);
          cairo_move_to (cr, cx, cy + 6);
          cairo_line_to (cr, cx, MIN (h, oy + cairo_image_surface_get_height (self->surface) * sy));
          cairo_move_to (cr, MAX (0, ox), cy);
          cairo_line_to (cr, cx - 6, cy);
          cairo_move_to (cr, cx + 6, cy);
          cairo_line_to (cr, MIN (w, ox + cairo_image_surface_get_width (self->surface) * sx), cy);
          cairo_stroke (cr);
          if (self->painting && self->brush_radius > 0 && (self->hovered || self->stroking))
            {
              /* the brush: round on screen, as bs_mask_edit_disk paints it */
              cairo_set_source_rgba (cr, 1.0, 1.0, 1.0, 0.9);
              cairo_arc (cr, self->pointer_x, self->pointer_y, self->brush_radius * sx, 0, 2 * G_PI);
              cairo_stroke (cr);
            }
        }
      if (self->has_letters)
        {
          char s[2] = { 0, 0 };
          GdkRectangle title_r, letter_r;

          s[0] = self->letters[0];
          draw_text (cr, layout, s, 6, h / 2, 0, 0.5);
          s[0] = self->letters[1];
          draw_text (cr, layout, s, w - 6, h / 2, 1, 0.5);
          label_rects (self, layout, w, &title_r, &letter_r);
          s[0] = self->letters[2];
          draw_text (cr, layout, s, w / 2, letter_r.y, 0.5, 0);
          s[0] = self->letters[3];
          draw_text (cr, layout, s, w / 2, h - 4, 0.5, 1);
        }
    }
  else if (self->placeholder != NULL)
    draw_text (cr, layout, self->placeholder, w / 2, h / 2, 0.5, 0.5);

  if (self->title != NULL)
    draw_text (cr, layout, self->title, 8, 4, 0, 0);

  /* A legend that would reach the bottom orientation letter (a long label in
   * a narrow pane) sits one row higher, clear of it. */
  double lift = 0.0;
  for (int i = 0; i < self->n_legend; i++)
    {
      int tw = 0;

      pango_layout_set_text (layout, self->legend_labels[i], -1);
      pango_layout_get_pixel_size (layout, &tw, NULL);
      if (30 + tw > w / 2.0 - 10)
        lift = 20.0;
    }
  for (int i = 0; i < self->n_legend; i++)
    {
      double y = h - 8 - lift - (self->n_legend - i) * 20;

      cairo_set_source_rgb (cr, self->legend_rgb[i][0], self->legend_rgb[i][1], self->legend_rgb[i][2]);
      cairo_rectangle (cr, 10, y + 3, 14, 14);
      cairo_fill (cr);
      draw_text (cr, layout, self->legend_labels[i], 30, y + 10, 0, 0.5);
    }
  cairo_destroy (cr);
}

static void
widget_to_image (BsSliceView *self, double wx, double wy, double *ix, double *iy)
{
  double ox, oy, sx, sy;

  if (!view_geometry (self, &ox, &oy, &sx, &sy))
    {
      *ix = *iy = -1;
      return;
    }
  *ix = (wx - ox) / sx;
  *iy = (wy - oy) / sy;
}

static void
on_motion (GtkEventControllerMotion *motion, double x, double y, BsSliceView *self)
{
  double ix, iy;

  self->pointer_x = x;
  self->pointer_y = y;
  self->hovered = TRUE;
  widget_to_image (self, x, y, &ix, &iy);
  if (self->surface == NULL || ix < 0 || iy < 0 ||
      ix >= cairo_image_surface_get_width (self->surface) ||
      iy >= cairo_image_surface_get_height (self->surface))
    ix = iy = -1;
  g_signal_emit (self, signals[SIGNAL_CURSOR_MOVED], 0, ix, iy);
}

static void
on_leave (GtkEventControllerMotion *motion, BsSliceView *self)
{
  self->hovered = FALSE;
  g_signal_emit (self, signals[SIGNAL_CURSOR_MOVED], 0, -1.0, -1.0);
}

static gboolean
on_scroll (GtkEventControllerScroll *scroll, double dx, double dy, BsSliceView *self)
{
  GdkModifierType mods = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (scroll));

  if (dy == 0)
    return FALSE;
  if (mods & GDK_CONTROL_MASK)
    {
      double px = self->pointer_x, py = self->pointer_y, before_x, before_y, after_x, after_y;
      double factor = dy < 0 ? 1.2 : 1 / 1.2;

      /* Keep the image point under the pointer where it is. */
      widget_to_image (self, px, py, &before_x, &before_y);
      self->t.zoom = CLAMP (self->t.zoom * factor, ZOOM_MIN, ZOOM_MAX);
      widget_to_image (self, px, py, &after_x, &after_y);
      self->t.pan_x += before_x - after_x;
      self->t.pan_y += before_y - after_y;
      gtk_widget_queue_draw (GTK_WIDGET (self));
      g_signal_emit (self, signals[SIGNAL_TRANSFORM_CHANGED], 0);
    }
  else
    g_signal_emit (self, signals[SIGNAL_STEP], 0, dy > 0 ? -1 : 1);
  return TRUE;
}

/* A painting drag: "paint" with phase 0 (begin), 1 (on) or 2 (end) and the
 * image pixel under the pointer (not clamped: the brush may hang over the edge). */
static void
emit_paint (BsSliceView *self, int phase, double wx, double wy)
{
  double ix, iy;

  widget_to_image (self, wx, wy, &ix, &iy);
  g_signal_emit (self, signals[SIGNAL_PAINT], 0, phase, ix, iy);
}

static void
on_pan_begin (GtkGestureDrag *drag, double x, double y, BsSliceView *self)
{
  self->drag_pan_x = self->t.pan_x;
  self->drag_pan_y = self->t.pan_y;
  self->drag_x = x;
  self->drag_y = y;
  self->stroking = self->painting && self->surface != NULL;
  if (self->stroking)
    {
      gtk_gesture_set_state (GTK_GESTURE (drag), GTK_EVENT_SEQUENCE_CLAIMED);
      emit_paint (self, 0, x, y);
      emit_paint (self, 1, x, y);
    }
}

static void
on_pan_end (GtkGestureDrag *drag, double dx, double dy, BsSliceView *self)
{
  if (!self->stroking)
    return;
  self->stroking = FALSE;
  emit_paint (self, 2, self->drag_x + dx, self->drag_y + dy);
}

static void
on_pan_update (GtkGestureDrag *drag, double dx, double dy, BsSliceView *self)
{
  double ox, oy, sx, sy;

  if (self->stroking)
    {
      self->pointer_x = self->drag_x + dx;
      self->pointer_y = self->drag_y + dy;
      emit_paint (self, 1, self->pointer_x, self->pointer_y);
      gtk_widget_queue_draw (GTK_WIDGET (self));
      return;
    }
  if (!view_geometry (self, &ox, &oy, &sx, &sy))
    return;
  self->t.pan_x = self->drag_pan_x - dx / sx;
  self->t.pan_y = self->drag_pan_y - dy / sy;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_signal_emit (self, signals[SIGNAL_TRANSFORM_CHANGED], 0);
}

static void
on_wl_begin (GtkGestureDrag *drag, double x, double y, BsSliceView *self)
{
  self->wl_last_x = 0;
  self->wl_last_y = 0;
}

static void
on_wl_update (GtkGestureDrag *drag, double dx, double dy, BsSliceView *self)
{
  g_signal_emit (self, signals[SIGNAL_WINDOW_LEVEL], 0, dx - self->wl_last_x, dy - self->wl_last_y);
  self->wl_last_x = dx;
  self->wl_last_y = dy;
}

static void
bs_slice_view_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                       int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  /* The natural height is the minimum: the views take what the window has
   * left (they expand) after the toolbar and the options strip got their
   * natural heights, so a short window scrolls the strip only when even the
   * views' minimum would not fit (walk finding: 1024x700). */
  *minimum = 120;
  *natural = orientation == GTK_ORIENTATION_VERTICAL ? 120 : 320;
}

static void
bs_slice_view_finalize (GObject *object)
{
  BsSliceView *self = BS_SLICE_VIEW (object);

  g_clear_pointer (&self->surface, cairo_surface_destroy);
  g_free (self->title);
  g_free (self->placeholder);
  for (int i = 0; i < MAX_LEGEND; i++)
    g_free (self->legend_labels[i]);
  G_OBJECT_CLASS (bs_slice_view_parent_class)->finalize (object);
}

static void
bs_slice_view_class_init (BsSliceViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = bs_slice_view_finalize;
  widget_class->snapshot = bs_slice_view_snapshot;
  widget_class->measure = bs_slice_view_measure;

  signals[SIGNAL_TRANSFORM_CHANGED] =
    g_signal_new ("transform-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  signals[SIGNAL_CURSOR_MOVED] =
    g_signal_new ("cursor-moved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
  signals[SIGNAL_STEP] =
    g_signal_new ("step", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_INT);
  signals[SIGNAL_WINDOW_LEVEL] =
    g_signal_new ("window-level", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
  signals[SIGNAL_PAINT] =
    g_signal_new ("paint", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_DOUBLE, G_TYPE_DOUBLE);
  gtk_widget_class_set_css_name (widget_class, "bs-slice-view");
}

static void
bs_slice_view_init (BsSliceView *self)
{
  GtkEventController *motion, *scroll;
  GtkGesture *pan, *wl;

  self->aspect = 1.0;
  self->t.zoom = 1.0;
  self->cursor_x = self->cursor_y = -1;
  gtk_widget_set_hexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_vexpand (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), "crosshair");
  /* A click on a pane takes the keyboard focus from the filter box, and the
   * window can start with the focus here, so the slice keys work at once. */
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_focus_on_click (GTK_WIDGET (self), TRUE);

  motion = gtk_event_controller_motion_new ();
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);

  scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL |
                                            GTK_EVENT_CONTROLLER_SCROLL_DISCRETE);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_scroll), self);
  gtk_widget_add_controller (GTK_WIDGET (self), scroll);

  pan = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (pan), GDK_BUTTON_PRIMARY);
  g_signal_connect (pan, "drag-begin", G_CALLBACK (on_pan_begin), self);
  g_signal_connect (pan, "drag-update", G_CALLBACK (on_pan_update), self);
  g_signal_connect (pan, "drag-end", G_CALLBACK (on_pan_end), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (pan));

  wl = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (wl), GDK_BUTTON_SECONDARY);
  g_signal_connect (wl, "drag-begin", G_CALLBACK (on_wl_begin), self);
  g_signal_connect (wl, "drag-update", G_CALLBACK (on_wl_update), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (wl));
}

GtkWidget *
bs_slice_view_new (void)
{
  return g_object_new (BS_TYPE_SLICE_VIEW, NULL);
}

void
bs_slice_view_set_surface (BsSliceView *self, cairo_surface_t *surface)
{
  g_return_if_fail (BS_IS_SLICE_VIEW (self));

  if (surface != NULL)
    cairo_surface_reference (surface);
  g_clear_pointer (&self->surface, cairo_surface_destroy);
  self->surface = surface;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

cairo_surface_t *
bs_slice_view_get_surface (BsSliceView *self)
{
  return self->surface;
}

void
bs_slice_view_set_pixel_aspect (BsSliceView *self, double aspect)
{
  self->aspect = aspect > 0 && isfinite (aspect) ? aspect : 1.0;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
bs_slice_view_set_title (BsSliceView *self, const char *title)
{
  if (g_strcmp0 (self->title, title) == 0)
    return;
  g_free (self->title);
  self->title = g_strdup (title);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
bs_slice_view_set_placeholder (BsSliceView *self, const char *text)
{
  if (g_strcmp0 (self->placeholder, text) == 0)
    return;
  g_free (self->placeholder);
  self->placeholder = g_strdup (text);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
bs_slice_view_set_letters (BsSliceView *self, const char letters[4])
{
  self->has_letters = letters != NULL;
  if (letters != NULL)
    memcpy (self->letters, letters, 4);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

int
bs_slice_view_get_legend (BsSliceView *self, const char *const **labels)
{
  g_return_val_if_fail (BS_IS_SLICE_VIEW (self), 0);
  if (labels != NULL)
    *labels = (const char *const *) self->legend_labels;
  return self->n_legend;
}

void
bs_slice_view_set_legend (BsSliceView *self, int n, const double (*rgb)[3], const char *const *labels)
{
  n = CLAMP (n, 0, MAX_LEGEND);
  for (int i = 0; i < MAX_LEGEND; i++)
    g_clear_pointer (&self->legend_labels[i], g_free);
  for (int i = 0; i < n; i++)
    {
      memcpy (self->legend_rgb[i], rgb[i], sizeof self->legend_rgb[i]);
      self->legend_labels[i] = g_strdup (labels[i]);
    }
  self->n_legend = n;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
bs_slice_view_get_transform (BsSliceView *self, BsViewTransform *t)
{
  *t = self->t;
}

void
bs_slice_view_set_transform (BsSliceView *self, const BsViewTransform *t)
{
  if (memcmp (&self->t, t, sizeof *t) == 0)
    return;
  self->t = *t;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
bs_slice_view_set_cursor (BsSliceView *self, double x, double y)
{
  if (x < 0)
    x = y = -1;
  if (x == self->cursor_x && y == self->cursor_y)
    return;
  self->cursor_x = x;
  self->cursor_y = y;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const char *
bs_slice_view_get_title (BsSliceView *self)
{
  return self->title;
}

void
bs_slice_view_set_painting (BsSliceView *self, gboolean painting, double radius)
{
  g_return_if_fail (BS_IS_SLICE_VIEW (self));
  painting = !!painting;
  if (self->painting == painting && self->brush_radius == radius)
    return;
  self->painting = painting;
  self->brush_radius = radius;
  gtk_widget_set_cursor_from_name (GTK_WIDGET (self), painting ? "cell" : "crosshair");
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
bs_slice_view_get_painting (BsSliceView *self)
{
  g_return_val_if_fail (BS_IS_SLICE_VIEW (self), FALSE);
  return self->painting;
}
