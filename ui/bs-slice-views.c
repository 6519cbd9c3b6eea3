#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "bs-labels.h"
#include "bs-panel-private.h"
#include "bs-slice-view.h"
#include "bs-slice-views.h"

struct _BsSliceViews
{
  GtkBox parent_instance;

  BsSession *session;
  GSignalGroup *signals;

  GtkStack *view_stack;
  BsSliceView *input_view;
  BsSliceView *truth_view;
  BsSliceView *pred_view;
  BsSliceView *overlay_view;
  GtkLabel *readout_label;

  int width, height;       /* displayed slice size */
  float *img_buf, *truth_buf, *prob_buf, *tc_buf, *et_buf;
  float *ptc_buf, *pet_buf, *rtruth_buf, *rpred_buf;  /* predicted regions; the chosen region's truth and prediction */
  guint render_tick;
  int displayed_pred_slice;
  double displayed_dice;
  double cursor_x, cursor_y;
  int brush;               /* 0 none, 1 paint, 2 erase (bs_slice_views_set_brush) */
  double brush_radius;
};

G_DEFINE_FINAL_TYPE (BsSliceViews, bs_slice_views, GTK_TYPE_BOX)

enum { PROP_0, PROP_SESSION, N_PROPS };
static GParamSpec *properties[N_PROPS];

enum { SIGNAL_RENDERED, N_SIGNALS };
static guint signals[N_SIGNALS];

#define VIEWS(self) { (self)->input_view, (self)->truth_view, (self)->pred_view, (self)->overlay_view }

/* Edema, core, enhancing: the legend of a pane that shows the regions (the
 * truth's, or a region model's prediction); none otherwise. */
static void
set_region_legend (BsSliceView *view, gboolean shown)
{
  const double region_rgb[3][3] = {
    { BS_COLOR_EDEMA[0], BS_COLOR_EDEMA[1], BS_COLOR_EDEMA[2] },
    { BS_COLOR_CORE[0], BS_COLOR_CORE[1], BS_COLOR_CORE[2] },
    { BS_COLOR_ENHANCING[0], BS_COLOR_ENHANCING[1], BS_COLOR_ENHANCING[2] },
  };
  /* TRANSLATORS: the regions: edema; the core outside the enhancing part (necrotic or
   * non-enhancing tumour); enhancing tumour */
  const char *region_labels[3] = { _("Edema"), _("Core"), _("Enhancing") };

  if (shown)
    bs_slice_view_set_legend (view, 3, region_rgb, region_labels);
  else
    bs_slice_view_set_legend (view, 0, NULL, NULL);
}

/* "W 812 L 406": the grey window's width and level in the image's own
 * intensities, once they differ from the automatic ones (walk finding: a
 * right-drag changed the contrast and nothing said to what); NULL while
 * they are the automatic ones. */
static char *
window_level_text (BsSession *session, int channel)
{
  BsOverlayOptions ov;
  float auto_lo, auto_hi;
  double width, level, tol;

  bs_session_get_overlay_options (session, &ov);
  auto_lo = ov.lo;   /* (kept if the automatic window is not known) */
  auto_hi = ov.hi;
  bs_session_get_auto_window (session, channel, &auto_lo, &auto_hi);
  tol = 1e-4 * MAX (fabs ((double) auto_hi - auto_lo), 1e-6);
  if (fabs (ov.lo - auto_lo) <= tol && fabs (ov.hi - auto_hi) <= tol)
    return NULL;
  width = ov.hi - ov.lo;
  level = (ov.hi + ov.lo) / 2.0;
  /* TRANSLATORS: window width and level of the grey scale, as radiology viewers abbreviate them */
  return fabs (width) >= 100.0 ? g_strdup_printf (_("W %.0f L %.0f"), width, level)
                               : g_strdup_printf (_("W %.3g L %.3g"), width, level);
}

static void
render (BsSliceViews *self)
{
  BsSession *s = self->session;
  BsCase *bcase = s != NULL ? bs_session_get_case (s) : NULL;
  const BsVolume *truth, *prob, *tc, *et;
  BsOverlayOptions ov;
  BsPlane plane;
  int slice, channel;
  cairo_surface_t *grey, *truth_s, *pred_s, *over_s;
  gboolean have_pred, pred_regions;
  BsRegion region, solo_region;
  const BsVolume *region_truth;
  g_autoptr(GString) pred_title = NULL;
  double t0 = bs_now_ms ();
  const char *legend_labels[3] = { _("True positive"), _("False positive"), _("False negative") };
  const double legend_rgb[3][3] = {
    { BS_COLOR_TP[0], BS_COLOR_TP[1], BS_COLOR_TP[2] },
    { BS_COLOR_FP[0], BS_COLOR_FP[1], BS_COLOR_FP[2] },
    { BS_COLOR_FN[0], BS_COLOR_FN[1], BS_COLOR_FN[2] },
  };

  if (bcase == NULL || self->img_buf == NULL)
    {
      BsSliceView *views[] = VIEWS (self);

      for (guint i = 0; i < G_N_ELEMENTS (views); i++)
        bs_slice_view_set_surface (views[i], NULL);
      self->displayed_pred_slice = -1;
      self->displayed_dice = NAN;
      return;
    }
  truth = bs_session_get_truth (s);
  tc = bs_session_get_truth_region (s, BS_REGION_TC);
  et = bs_session_get_truth_region (s, BS_REGION_ET);
  prob = bs_session_get_probability_volume (s);
  plane = bs_session_get_plane (s);
  slice = bs_session_get_slice_index (s);
  channel = bs_session_get_display_channel (s);
  bs_session_get_overlay_options (s, &ov);

  bs_volume_get_slice (bcase->image, channel, plane, slice, self->img_buf);
  /* Another plane shows what has run so far, cut from the volume. */
  have_pred = plane == bs_session_get_net_plane (s) ? bs_session_slice_is_computed (s, slice)
                                                    : prob != NULL && bs_session_get_n_computed_slices (s) > 0;
  if (have_pred)
    bs_volume_get_slice (prob, 0, plane, slice, self->prob_buf);
  if (truth != NULL)
    bs_volume_get_slice (truth, 0, plane, slice, self->truth_buf);

  grey = bs_render_grey (self->img_buf, self->width, self->height, ov.lo, ov.hi);
  ov.confusion = FALSE;
  /* The ground truth in its sub-regions where the case's labels have them. */
  if (truth != NULL && tc != NULL && et != NULL)
    {
      bs_volume_get_slice (tc, 0, plane, slice, self->tc_buf);
      bs_volume_get_slice (et, 0, plane, slice, self->et_buf);
      truth_s = bs_render_regions_over (self->img_buf, self->truth_buf, self->tc_buf, self->et_buf,
                                        self->width, self->height, &ov);
    }
  else
    truth_s = bs_render_mask_over (self->img_buf, truth != NULL ? self->truth_buf : NULL,
                                   self->width, self->height, BS_COLOR_TRUTH, &ov);
  /* A region model's prediction in the same colours as the truth's regions. */
  pred_regions = have_pred && bs_session_get_region_slice (s, BS_REGION_TC, plane, slice, self->ptc_buf)
                 && bs_session_get_region_slice (s, BS_REGION_ET, plane, slice, self->pet_buf);
  if (pred_regions)
    pred_s = bs_render_regions_over (self->img_buf, self->prob_buf, self->ptc_buf, self->pet_buf,
                                     self->width, self->height, &ov);
  else
    pred_s = bs_render_mask_over (self->img_buf, have_pred ? self->prob_buf : NULL,
                                  self->width, self->height, BS_COLOR_PREDICTION, &ov);
  /* TP / FP / FN of the chosen region (bs_session_set_region), where both
   * the truth and the model have it; else of the whole tumour. */
  region = bs_session_get_region (s);
  region_truth = bs_session_get_truth_region (s, region);
  /* Without a truth of the chosen region (no labels, or labels that do not
   * tell it apart, as TCGA-DU-7294's): that region alone; every region for WT. */
  solo_region = (truth == NULL || region_truth == NULL) && pred_regions ? region : BS_REGION_WT;
  if (region != BS_REGION_WT && region_truth != NULL && have_pred
      && bs_session_get_region_slice (s, region, plane, slice, self->rpred_buf))
    bs_volume_get_slice (region_truth, 0, plane, slice, self->rtruth_buf);
  else
    {
      region = BS_REGION_WT;
      memcpy (self->rpred_buf, self->prob_buf, sizeof (float) * self->width * self->height);
      if (truth != NULL)
        memcpy (self->rtruth_buf, self->truth_buf, sizeof (float) * self->width * self->height);
    }
  if (solo_region != BS_REGION_WT && !bs_session_get_region_slice (s, solo_region, plane, slice, self->rpred_buf))
    solo_region = BS_REGION_WT;
  /* Without a prediction there is nothing to classify: the truth alone is not "missed". */
  ov.confusion = truth != NULL && have_pred;
  /* Nothing to compare with: a region model's overlay shows its regions, as
   * the side-by-side prediction does (it showed the whole tumour alone). */
  if (solo_region != BS_REGION_WT)
    over_s = bs_render_mask_over (self->img_buf, self->rpred_buf, self->width, self->height,
                                  solo_region == BS_REGION_TC ? BS_COLOR_CORE : BS_COLOR_ENHANCING, &ov);
  else if (truth == NULL && pred_regions)
    over_s = bs_render_regions_over (self->img_buf, self->prob_buf, self->ptc_buf, self->pet_buf,
                                     self->width, self->height, &ov);
  else
    over_s = bs_render_overlay (self->img_buf, have_pred ? self->rpred_buf : NULL,
                                truth != NULL ? self->rtruth_buf : NULL, self->width, self->height, &ov);
  bs_slice_view_set_surface (self->input_view, grey);
  bs_slice_view_set_surface (self->truth_view, truth_s);
  bs_slice_view_set_surface (self->pred_view, pred_s);
  bs_slice_view_set_surface (self->overlay_view, over_s);
  cairo_surface_destroy (grey);
  cairo_surface_destroy (truth_s);
  cairo_surface_destroy (pred_s);
  cairo_surface_destroy (over_s);

  {
    const char *name = bcase->image->channel_names != NULL ? bcase->image->channel_names[channel] : NULL;
    g_autofree char *fallback = g_strdup_printf (_("Channel %d"), channel + 1);
    g_autofree char *input_title = g_strdup_printf (_("MRI input · %s"), name != NULL && *name ? name : fallback);
    g_autofree char *wl = window_level_text (self->session, channel);

    if (wl != NULL)
      {
        /* TRANSLATORS: the MRI pane's title, then its window and level */
        char *with = g_strdup_printf (_("%s · %s"), input_title, wl);

        g_free (input_title);
        input_title = with;
      }
    bs_slice_view_set_title (self->input_view, input_title);
  }
  bs_slice_view_set_title (self->truth_view, truth != NULL ? _("Ground truth") : _("Ground truth · none for this case"));
  pred_title = g_string_new (_("Prediction"));
  if (!have_pred)
    g_string_append_printf (pred_title, " · %s", _("computing…"));
  bs_slice_view_set_title (self->pred_view, pred_title->str);
  if (!have_pred)
    bs_slice_view_set_title (self->overlay_view, _("Prediction over MRI · computing…"));
  else if (solo_region != BS_REGION_WT && truth == NULL)
    {
      /* TRANSLATORS: the overlay's title on a case without ground truth showing one predicted region */
      g_autofree char *t = g_strdup_printf (_("Prediction over MRI · %s (no ground truth)"), bs_region_label (solo_region));
      bs_slice_view_set_title (self->overlay_view, t);
    }
  else if (solo_region != BS_REGION_WT)
    {
      /* TRANSLATORS: the overlay's title showing one predicted region on a case whose labels do not have it */
      g_autofree char *t = g_strdup_printf (_("Prediction over MRI · %s (not in the case's labels)"),
                                            bs_region_label (solo_region));
      bs_slice_view_set_title (self->overlay_view, t);
    }
  else if (truth == NULL && pred_regions)
    /* TRANSLATORS: the overlay's title on a case without ground truth, showing the predicted regions */
    bs_slice_view_set_title (self->overlay_view, _("Prediction over MRI · regions (no ground truth)"));
  else if (region != BS_REGION_WT || bs_session_model_has_region (s, BS_REGION_TC))
    {
      /* TRANSLATORS: the overlay's title when it shows one BraTS region, e.g. "tumour core" */
      g_autofree char *t = g_strdup_printf (_("Prediction over MRI · %s"), bs_region_label (region));
      bs_slice_view_set_title (self->overlay_view, t);
    }
  else
    bs_slice_view_set_title (self->overlay_view, _("Prediction over MRI"));
  set_region_legend (self->truth_view, truth != NULL && tc != NULL && et != NULL);
  /* Labels without sub-regions (tumour or not, as TCGA-DU-7294's) in the
   * edema's colour: named, so that they do not read as "all edema" (walk finding). */
  if (truth != NULL && (tc == NULL || et == NULL))
    {
      const double truth_rgb[1][3] = { { BS_COLOR_TRUTH[0], BS_COLOR_TRUTH[1], BS_COLOR_TRUTH[2] } };
      /* TRANSLATORS: the ground-truth pane's legend when the labels mark tumour or not, without sub-regions */
      const char *truth_label[1] = { _("Tumour (no sub-regions)") };

      bs_slice_view_set_legend (self->truth_view, 1, truth_rgb, truth_label);
    }
  set_region_legend (self->pred_view, pred_regions);
  /* A whole-tumour model's one colour, named (walk finding: no legend). */
  if (have_pred && !pred_regions)
    {
      const double whole_rgb[1][3] = { { BS_COLOR_PREDICTION[0], BS_COLOR_PREDICTION[1], BS_COLOR_PREDICTION[2] } };
      const char *whole_label[1] = { _("Whole tumour") };

      bs_slice_view_set_legend (self->pred_view, 1, whole_rgb, whole_label);
    }
  if (solo_region != BS_REGION_WT)
    {
      const double *c = solo_region == BS_REGION_TC ? BS_COLOR_CORE : BS_COLOR_ENHANCING;
      const double solo_rgb[1][3] = { { c[0], c[1], c[2] } };
      const char *solo_label[1] = { solo_region == BS_REGION_TC ? _("Tumour core") : _("Enhancing tumour") };

      bs_slice_view_set_legend (self->overlay_view, 1, solo_rgb, solo_label);
    }
  else if (truth != NULL)
    bs_slice_view_set_legend (self->overlay_view, 3, legend_rgb, legend_labels);
  else if (pred_regions)
    set_region_legend (self->overlay_view, TRUE);
  else
    {
      const double pred_rgb[1][3] = { { BS_COLOR_PREDICTION[0], BS_COLOR_PREDICTION[1], BS_COLOR_PREDICTION[2] } };
      const char *pred_label[1] = { _("Prediction (no ground truth)") };

      bs_slice_view_set_legend (self->overlay_view, 1, pred_rgb, pred_label);
    }

  {
    BsConfusion c;

    self->displayed_pred_slice = bs_session_slice_is_computed (s, slice) ? slice : -1;
    self->displayed_dice = self->displayed_pred_slice >= 0 && bs_session_get_slice_confusion (s, slice, &c, NULL)
                             ? bs_confusion_dice (&c) : NAN;
  }
  g_signal_emit (self, signals[SIGNAL_RENDERED], 0, bs_now_ms () - t0);
}

static gboolean
render_tick_cb (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  BsSliceViews *self = BS_SLICE_VIEWS (widget);

  self->render_tick = 0;
  render (self);
  return G_SOURCE_REMOVE;
}

/* Coalesces every change within a frame into one render: scrolling through
 * slices faster than the display refreshes renders each frame once. */
static void
schedule_render (BsSliceViews *self)
{
  if (self->render_tick == 0)
    self->render_tick = gtk_widget_add_tick_callback (GTK_WIDGET (self), render_tick_cb, NULL, NULL);
}

static void
update_readout (BsSliceViews *self)
{
  BsSession *s = self->session;
  BsCase *bcase = s != NULL ? bs_session_get_case (s) : NULL;
  int x = (int) floor (self->cursor_x), y = (int) floor (self->cursor_y);
  int ijk[3], slice, channel;
  gsize idx;
  g_autoptr(GString) text = NULL;
  const BsVolume *img;

  if (bcase == NULL || self->cursor_x < 0 || x >= self->width || y >= self->height)
    {
      gtk_label_set_text (self->readout_label, "");
      return;
    }
  img = bcase->image;
  slice = bs_session_get_slice_index (s);
  channel = bs_session_get_display_channel (s);
  bs_volume_slice_to_voxel (img, bs_session_get_plane (s), slice, x, y, ijk);
  /* A new case can arrive before the views take its size. */
  for (int a = 0; a < 3; a++)
    if (ijk[a] < 0 || ijk[a] >= img->dims[a])
      {
        gtk_label_set_text (self->readout_label, "");
        return;
      }
  idx = ((gsize) ijk[2] * img->dims[1] + ijk[1]) * img->dims[0] + ijk[0];
  text = g_string_new (NULL);
  /* The probability first after the voxel: it is what a reader checks, and the
   * line is cut at its end when the window is narrow (the tooltip has it all). */
  if (bs_volume_has_source (img))
    {
      int file[3];

      /* A case resampled for the network: the voxel as the file and every
       * other viewer number it (walk finding: the resampled grid's numbers
       * pointed at background in the file). */
      bs_volume_voxel_in_source (img, ijk, file);
      /* TRANSLATORS: the cursor's voxel in the case's file, when the window shows it resampled */
      g_string_append_printf (text, _("File voxel (%d, %d, %d)"), file[0], file[1], file[2]);
    }
  else
    g_string_append_printf (text, _("Voxel (%d, %d, %d)"), ijk[0], ijk[1], ijk[2]);
  if (bs_session_slice_is_computed (s, slice))
    g_string_append_printf (text, _("   probability %.3f"),
                            bs_volume_channel (bs_session_get_probability_volume (s), 0)[idx]);
  else
    g_string_append (text, _("   probability –"));
  if (bcase->label != NULL)
    {
      int v = (int) bs_volume_channel (bcase->label, 0)[idx];
      const char *name = v > 0 ? bs_labels_value_name (bcase->convention, v) : NULL;

      if (name != NULL)
        g_string_append_printf (text, _("   label %d (%s)"), v, name);
      else
        g_string_append_printf (text, _("   label %d"), v);
    }
  else
    g_string_append (text, _("   no ground truth"));
  g_string_append_printf (text, _("   intensity %.4g"), bs_volume_channel (img, channel)[idx]);
  bs_widget_set_tooltip (GTK_WIDGET (self->readout_label), text->str);
  gtk_label_set_text (self->readout_label, text->str);
}

void
bs_slice_views_reset_transforms (BsSliceViews *self)
{
  BsSliceView *views[] = VIEWS (self);
  BsViewTransform t = { 1.0, 0.0, 0.0 };

  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    bs_slice_view_set_transform (views[i], &t);
}

static void
update_geometry (BsSliceViews *self)
{
  BsSliceView *views[] = VIEWS (self);
  BsCase *bcase = bs_session_get_case (self->session);
  const BsVolume *img;
  BsPlane plane = bs_session_get_plane (self->session);
  char letters[4];
  double aspect;
  int w, h;

  if (bcase == NULL)
    return;
  img = bcase->image;
  bs_volume_slice_size (img, plane, &w, &h);
  if (w != self->width || h != self->height)
    bs_slice_views_reset_transforms (self);
  self->width = w;
  self->height = h;
  g_free (self->img_buf);
  g_free (self->truth_buf);
  g_free (self->prob_buf);
  g_free (self->tc_buf);
  g_free (self->et_buf);
  g_free (self->ptc_buf);
  g_free (self->pet_buf);
  g_free (self->rtruth_buf);
  g_free (self->rpred_buf);
  self->tc_buf = g_new (float, (gsize) w * h);
  self->et_buf = g_new (float, (gsize) w * h);
  self->ptc_buf = g_new (float, (gsize) w * h);
  self->pet_buf = g_new (float, (gsize) w * h);
  self->rtruth_buf = g_new (float, (gsize) w * h);
  self->rpred_buf = g_new (float, (gsize) w * h);
  self->img_buf = g_new (float, (gsize) w * h);
  self->truth_buf = g_new (float, (gsize) w * h);
  self->prob_buf = g_new (float, (gsize) w * h);
  bs_volume_plane_letters (img, plane, letters);
  /* Rows of a displayed slice run along the plane's vertical axis (the
   * exports draw the same, bs_volume_pixel_aspect). */
  aspect = bs_volume_pixel_aspect (img, plane);
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    {
      bs_slice_view_set_letters (views[i], letters);
      bs_slice_view_set_pixel_aspect (views[i], aspect);
    }
}

static void
on_case (BsSession *session, GParamSpec *pspec, BsSliceViews *self)
{
  update_geometry (self);
  schedule_render (self);
}

static void
on_plane (BsSession *session, GParamSpec *pspec, BsSliceViews *self)
{
  update_geometry (self);
  bs_slice_views_reset_transforms (self);
  self->displayed_pred_slice = -1;
  schedule_render (self);
}

static void
on_redraw (BsSession *session, GParamSpec *pspec, BsSliceViews *self)
{
  schedule_render (self);
  update_readout (self);
}

static void
on_results_changed (BsSession *session, int first, int n, BsSliceViews *self)
{
  int slice = bs_session_get_slice_index (session);

  if (n < 0 || bs_session_get_plane (session) != bs_session_get_net_plane (session)
      || (slice >= first && slice < first + n))
    {
      schedule_render (self);
      /* The pointer may rest over the view while its probability arrives. */
      update_readout (self);
    }
}

static void
on_generation (BsSession *session, GParamSpec *pspec, BsSliceViews *self)
{
  self->displayed_pred_slice = -1;
  schedule_render (self);
  update_readout (self);
}

static void
on_transform_changed (BsSliceView *view, BsSliceViews *self)
{
  BsSliceView *views[] = VIEWS (self);
  BsViewTransform t;

  bs_slice_view_get_transform (view, &t);
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    if (views[i] != view)
      bs_slice_view_set_transform (views[i], &t);
}

static void
on_cursor_moved (BsSliceView *view, double x, double y, BsSliceViews *self)
{
  BsSliceView *views[] = VIEWS (self);

  self->cursor_x = x;
  self->cursor_y = y;
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    bs_slice_view_set_cursor (views[i], x, y);
  update_readout (self);
}

static void
on_view_step (BsSliceView *view, int delta, BsSliceViews *self)
{
  if (self->session != NULL)
    bs_session_set_slice_index (self->session, bs_session_get_slice_index (self->session) + delta);
}

static void
on_window_level (BsSliceView *view, double dx, double dy, BsSliceViews *self)
{
  BsOverlayOptions ov;
  double width, level;

  if (self->session == NULL || bs_session_get_case (self->session) == NULL)
    return;
  bs_session_get_overlay_options (self->session, &ov);
  width = ov.hi - ov.lo;
  level = (ov.hi + ov.lo) / 2.0;
  /* Multiplicative width keeps the drag equally useful for any intensity scale. */
  width *= exp (dx * 0.005);
  level -= dy * width * 0.004;
  if (!(width > 1e-6))
    width = 1e-6;
  ov.lo = level - width / 2.0;
  ov.hi = level + width / 2.0;
  bs_session_set_overlay_options (self->session, &ov);
}

/* A drag with the brush on the Prediction pane or the overlay: a stroke of
 * the session's. */
static void
on_paint (BsSliceView *view, int phase, double x, double y, BsSliceViews *self)
{
  if (self->session == NULL)
    return;
  if (phase == 2)   /* a drag that began painting ends its stroke, brush or not */
    bs_session_edit_end (self->session);
  else if (self->brush == 0)
    return;
  else if (phase == 0)
    bs_session_edit_begin (self->session, self->brush == 2, self->brush_radius);
  else
    bs_session_edit_to (self->session, x, y);
}

void
bs_slice_views_set_brush (BsSliceViews *self, int brush, double radius)
{
  g_return_if_fail (BS_IS_SLICE_VIEWS (self));
  self->brush = CLAMP (brush, 0, 2);
  self->brush_radius = radius;
  bs_slice_view_set_painting (self->pred_view, self->brush != 0, radius);
  bs_slice_view_set_painting (self->overlay_view, self->brush != 0, radius);
}

int
bs_slice_views_get_brush (BsSliceViews *self, double *radius)
{
  g_return_val_if_fail (BS_IS_SLICE_VIEWS (self), 0);
  if (radius != NULL)
    *radius = self->brush_radius;
  return self->brush;
}

void
bs_slice_views_set_overlay_mode (BsSliceViews *self, gboolean overlay)
{
  gtk_stack_set_visible_child_name (self->view_stack, overlay ? "overlay" : "panes");
}

void
bs_slice_views_focus (BsSliceViews *self)
{
  gtk_window_set_focus (GTK_WINDOW (gtk_widget_get_root (GTK_WIDGET (self))), GTK_WIDGET (self->input_view));
}

int
bs_slice_views_get_displayed_prediction_slice (BsSliceViews *self)
{
  return self->displayed_pred_slice;
}

double
bs_slice_views_get_displayed_dice (BsSliceViews *self)
{
  return self->displayed_dice;
}

void
bs_slice_views_set_session (BsSliceViews *self, BsSession *session)
{
  g_return_if_fail (BS_IS_SLICE_VIEWS (self));
  if (!g_set_object (&self->session, session))
    return;
  g_signal_group_set_target (self->signals, session);
  if (session != NULL)
    on_case (session, NULL, self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

static void
bs_slice_views_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    g_value_set_object (value, BS_SLICE_VIEWS (object)->session);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_slice_views_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    bs_slice_views_set_session (BS_SLICE_VIEWS (object), g_value_get_object (value));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_slice_views_dispose (GObject *object)
{
  BsSliceViews *self = BS_SLICE_VIEWS (object);

  if (self->render_tick != 0)
    {
      gtk_widget_remove_tick_callback (GTK_WIDGET (self), self->render_tick);
      self->render_tick = 0;
    }
  g_signal_group_set_target (self->signals, NULL);
  g_clear_object (&self->signals);
  g_clear_object (&self->session);
  gtk_widget_dispose_template (GTK_WIDGET (self), BS_TYPE_SLICE_VIEWS);
  G_OBJECT_CLASS (bs_slice_views_parent_class)->dispose (object);
}

static void
bs_slice_views_finalize (GObject *object)
{
  BsSliceViews *self = BS_SLICE_VIEWS (object);

  g_free (self->img_buf);
  g_free (self->truth_buf);
  g_free (self->prob_buf);
  g_free (self->tc_buf);
  g_free (self->et_buf);
  g_free (self->ptc_buf);
  g_free (self->pet_buf);
  g_free (self->rtruth_buf);
  g_free (self->rpred_buf);
  G_OBJECT_CLASS (bs_slice_views_parent_class)->finalize (object);
}

static void
bs_slice_views_class_init (BsSliceViewsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = bs_slice_views_get_property;
  object_class->set_property = bs_slice_views_set_property;
  object_class->dispose = bs_slice_views_dispose;
  object_class->finalize = bs_slice_views_finalize;
  properties[PROP_SESSION] = BS_PANEL_SESSION_PSPEC ();
  g_object_class_install_properties (object_class, N_PROPS, properties);
  signals[SIGNAL_RENDERED] = g_signal_new ("rendered", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                           NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_DOUBLE);

  g_type_ensure (BS_TYPE_SLICE_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/brainseg/Brainseg/ui/bs-slice-views.ui");
  gtk_widget_class_bind_template_child (widget_class, BsSliceViews, view_stack);
  gtk_widget_class_bind_template_child (widget_class, BsSliceViews, input_view);
  gtk_widget_class_bind_template_child (widget_class, BsSliceViews, truth_view);
  gtk_widget_class_bind_template_child (widget_class, BsSliceViews, pred_view);
  gtk_widget_class_bind_template_child (widget_class, BsSliceViews, overlay_view);
  gtk_widget_class_bind_template_child (widget_class, BsSliceViews, readout_label);
}

static void
bs_slice_views_init (BsSliceViews *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  BsSliceView *views[] = VIEWS (self);

  self->displayed_pred_slice = -1;
  self->displayed_dice = NAN;
  self->cursor_x = self->cursor_y = -1;
  for (guint i = 0; i < G_N_ELEMENTS (views); i++)
    {
      g_signal_connect (views[i], "transform-changed", G_CALLBACK (on_transform_changed), self);
      g_signal_connect (views[i], "cursor-moved", G_CALLBACK (on_cursor_moved), self);
      g_signal_connect (views[i], "step", G_CALLBACK (on_view_step), self);
      g_signal_connect (views[i], "window-level", G_CALLBACK (on_window_level), self);
      g_signal_connect (views[i], "paint", G_CALLBACK (on_paint), self);
      bs_slice_view_set_placeholder (views[i], _("Nothing open"));
    }
  self->signals = g_signal_group_new (BS_TYPE_SESSION);
  g_signal_group_connect (self->signals, "notify::case", G_CALLBACK (on_case), self);
  g_signal_group_connect (self->signals, "notify::plane", G_CALLBACK (on_plane), self);
  g_signal_group_connect (self->signals, "notify::slice", G_CALLBACK (on_redraw), self);
  g_signal_group_connect (self->signals, "notify::channel", G_CALLBACK (on_redraw), self);
  g_signal_group_connect (self->signals, "notify::overlay", G_CALLBACK (on_redraw), self);
  g_signal_group_connect (self->signals, "notify::region", G_CALLBACK (on_redraw), self);
  g_signal_group_connect (self->signals, "notify::generation", G_CALLBACK (on_generation), self);
  g_signal_group_connect (self->signals, "results-changed", G_CALLBACK (on_results_changed), self);
}
