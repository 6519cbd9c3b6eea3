#include <glib/gi18n.h>
#include <math.h>

#include "bs-panel-private.h"
#include "bs-slice-bar.h"

struct _BsSliceBar
{
  GtkBox parent_instance;

  BsSession *session;
  GSignalGroup *signals;

  GtkScale *slice_scale;
  int n_marks;   /* slices marked as holding the region in the truth */
  int marks_height;  /* the slider's height with its row of marks (0: not measured yet) */
  /* Per truth region and plane, which slices hold it (NULL: not read yet):
   * the truth is read once per case, not at every region switch (review). */
  guint8 *has[BS_N_REGIONS][3];
  const BsVolume *has_truth[BS_N_REGIONS][3];  /* the truth and slice count each was read from: a */
  int has_n[BS_N_REGIONS][3];                 /* notify of the new case's plane can come before its case's */
  GtkAdjustment *slice_adjustment;
  GtkLabel *slice_label;
};

G_DEFINE_FINAL_TYPE (BsSliceBar, bs_slice_bar, GTK_TYPE_BOX)

enum { PROP_0, PROP_SESSION, N_PROPS };
static GParamSpec *properties[N_PROPS];

const char *
bs_plane_label (BsPlane plane)
{
  switch (plane)
    {
    case BS_PLANE_CORONAL:
      return _("Coronal");
    case BS_PLANE_SAGITTAL:
      return _("Sagittal");
    case BS_PLANE_AXIAL:
    default:
      return _("Axial");
    }
}

static void
update_label (BsSliceBar *self)
{
  BsSession *s = self->session;
  g_autofree char *text = NULL;

  if (bs_session_get_case (s) == NULL)
    {
      gtk_label_set_text (self->slice_label, "");
      return;
    }
  text = g_strdup_printf (_("%s %d (0–%d)"), bs_plane_label (bs_session_get_plane (s)),
                                           bs_session_get_slice_index (s), MAX (bs_session_get_n_slices (s) - 1, 0));

  gtk_label_set_text (self->slice_label, text);
}

/* The label as wide as its widest text in any plane of the case, so that
 * the slider keeps its length from slice 99 to 100 and from plane to plane
 * (walk finding: in the coronal and sagittal views its handle stepped back
 * at slice 100, the label taking the slider's room). */
static void
reserve_label_width (BsSliceBar *self)
{
  static const BsPlane planes[3] = { BS_PLANE_AXIAL, BS_PLANE_CORONAL, BS_PLANE_SAGITTAL };
  const BsCase *c = bs_session_get_case (self->session);
  int widest = -1;

  for (int k = 0; c != NULL && k < 3; k++)
    {
      int last = MAX (bs_volume_n_slices (c->image, planes[k]) - 1, 0), w, h;
      g_autofree char *text = g_strdup_printf (_("%s %d (0–%d)"), bs_plane_label (planes[k]), last, last);
      g_autoptr(PangoLayout) layout = NULL;

      /* every digit an 8, among the widest in most fonts (review) */
      for (char *d = text; *d; d++)
        if (g_ascii_isdigit (*d))
          *d = '8';
      layout = gtk_widget_create_pango_layout (GTK_WIDGET (self->slice_label), text);

      pango_layout_get_pixel_size (layout, &w, &h);
      widest = MAX (widest, w + 2);
    }
  gtk_widget_set_size_request (GTK_WIDGET (self->slice_label), widest, -1);
}

/* The cached slices of every region and plane: a new case or session. */
static void
forget_marks (BsSliceBar *self)
{
  for (int r = 0; r < BS_N_REGIONS; r++)
    for (int p = 0; p < 3; p++)
      g_clear_pointer (&self->has[r][p], g_free);
}

/* A mark under every slice with tumour in the truth, of the region the
 * chart and overlay show (walk finding: with TC or ET chosen the marks still
 * showed the whole tumour's slices); the whole tumour's where the labels do
 * not tell the region apart. */
static void
update_marks (BsSliceBar *self)
{
  BsSession *s = self->session;
  int region = bs_session_get_region (s);
  const BsVolume *truth = bs_session_get_truth_region (s, region);
  BsPlane plane = bs_session_get_plane (s);
  int n = bs_session_get_n_slices (s), w, h;

  if (truth == NULL)
    {
      truth = bs_session_get_truth (s);
      region = BS_REGION_WT;
    }
  /* The slider keeps the height of its row of marks without any (a case
   * without labels): the views above it keep their size (walk finding: 6 px
   * taller on such a case). */
  if (self->marks_height == 0)
    {
      gtk_scale_add_mark (self->slice_scale, 0, GTK_POS_BOTTOM, NULL);
      gtk_widget_measure (GTK_WIDGET (self->slice_scale), GTK_ORIENTATION_VERTICAL, -1, NULL, &self->marks_height,
                          NULL, NULL);
      gtk_widget_set_size_request (GTK_WIDGET (self->slice_scale), -1, self->marks_height);
    }
  gtk_scale_clear_marks (self->slice_scale);
  self->n_marks = 0;
  if (truth == NULL || n == 0 || n != bs_volume_n_slices (truth, plane))
    return;
  if (self->has[region][plane] == NULL || self->has_truth[region][plane] != truth || self->has_n[region][plane] != n)
    {
      g_autofree float *buf = NULL;

      bs_volume_slice_size (truth, plane, &w, &h);
      buf = g_new (float, (gsize) w * h);
      g_free (self->has[region][plane]);
      self->has[region][plane] = g_new0 (guint8, n);
      self->has_truth[region][plane] = truth;
      self->has_n[region][plane] = n;
      for (int k = 0; k < n; k++)
        {
          bs_volume_get_slice (truth, 0, plane, k, buf);
          for (gsize p = 0; p < (gsize) w * h && !self->has[region][plane][k]; p++)
            self->has[region][plane][k] = buf[p] > 0.5f;
        }
    }
  for (int k = 0; k < n; k++)
    if (self->has[region][plane][k])
      {
        gtk_scale_add_mark (self->slice_scale, k, GTK_POS_BOTTOM, NULL);
        self->n_marks++;
      }
  if (self->n_marks > 0)
    {
      int with_marks;

      /* the height real marks take (a lone mark measured less) */
      gtk_widget_set_size_request (GTK_WIDGET (self->slice_scale), -1, -1);
      gtk_widget_measure (GTK_WIDGET (self->slice_scale), GTK_ORIENTATION_VERTICAL, -1, NULL, &with_marks, NULL,
                          NULL);
      self->marks_height = MAX (self->marks_height, with_marks);
      gtk_widget_set_size_request (GTK_WIDGET (self->slice_scale), -1, self->marks_height);
    }
}

static void
on_geometry (BsSession *session, GParamSpec *pspec, BsSliceBar *self);

static void
on_case (BsSession *session, GParamSpec *pspec, BsSliceBar *self)
{
  forget_marks (self);
  on_geometry (session, pspec, self);
}

static void
on_geometry (BsSession *session, GParamSpec *pspec, BsSliceBar *self)
{
  int n = bs_session_get_n_slices (session);

  g_signal_handlers_block_matched (self->slice_adjustment, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  gtk_adjustment_configure (self->slice_adjustment, bs_session_get_slice_index (session), 0, MAX (n - 1, 0), 1, 10, 0);
  g_signal_handlers_unblock_matched (self->slice_adjustment, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  /* Nothing open: a slider of no slices is greyed (walk finding: its handle
   * sat at the left end as a stray blue dot). */
  gtk_widget_set_sensitive (GTK_WIDGET (self->slice_scale), n > 1);
  update_marks (self);
  reserve_label_width (self);
  update_label (self);
}

static void
on_slice (BsSession *session, GParamSpec *pspec, BsSliceBar *self)
{
  int slice = bs_session_get_slice_index (session);

  /* A new plane's slice can come before its notify::plane (walk finding: on
   * a case of 31 axial slices, coronal slice 100 was clamped to the axial
   * range, 30, and sent back to the session, so the coronal view opened on
   * the brain's edge): the bar takes the plane's range and slice at once. */
  if ((int) round (gtk_adjustment_get_upper (self->slice_adjustment)) != MAX (bs_session_get_n_slices (session) - 1, 0))
    {
      on_geometry (session, NULL, self);
      return;
    }
  if ((int) round (gtk_adjustment_get_value (self->slice_adjustment)) != slice)
    gtk_adjustment_set_value (self->slice_adjustment, slice);
  update_label (self);
}

static void
on_value_changed (GtkAdjustment *adj, BsSliceBar *self)
{
  if (self->session != NULL)
    bs_session_set_slice_index (self->session, (int) round (gtk_adjustment_get_value (adj)));
}

void
bs_slice_bar_set_session (BsSliceBar *self, BsSession *session)
{
  g_return_if_fail (BS_IS_SLICE_BAR (self));
  if (!g_set_object (&self->session, session))
    return;
  forget_marks (self);
  g_signal_group_set_target (self->signals, session);
  if (session != NULL)
    on_geometry (session, NULL, self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

const char *
bs_slice_bar_get_text (BsSliceBar *self)
{
  return gtk_label_get_text (self->slice_label);
}

static void
bs_slice_bar_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    g_value_set_object (value, BS_SLICE_BAR (object)->session);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_slice_bar_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    bs_slice_bar_set_session (BS_SLICE_BAR (object), g_value_get_object (value));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_slice_bar_dispose (GObject *object)
{
  BsSliceBar *self = BS_SLICE_BAR (object);

  g_signal_group_set_target (self->signals, NULL);
  g_clear_object (&self->signals);
  g_clear_object (&self->session);
  forget_marks (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), BS_TYPE_SLICE_BAR);
  G_OBJECT_CLASS (bs_slice_bar_parent_class)->dispose (object);
}

static void
bs_slice_bar_class_init (BsSliceBarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = bs_slice_bar_get_property;
  object_class->set_property = bs_slice_bar_set_property;
  object_class->dispose = bs_slice_bar_dispose;
  properties[PROP_SESSION] = BS_PANEL_SESSION_PSPEC ();
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/brainseg/Brainseg/ui/bs-slice-bar.ui");
  gtk_widget_class_bind_template_child (widget_class, BsSliceBar, slice_scale);
  gtk_widget_class_bind_template_child (widget_class, BsSliceBar, slice_adjustment);
  gtk_widget_class_bind_template_child (widget_class, BsSliceBar, slice_label);
}

static void
bs_slice_bar_init (BsSliceBar *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect (self->slice_adjustment, "value-changed", G_CALLBACK (on_value_changed), self);
  self->signals = g_signal_group_new (BS_TYPE_SESSION);
  g_signal_group_connect (self->signals, "notify::case", G_CALLBACK (on_case), self);
  g_signal_group_connect (self->signals, "notify::plane", G_CALLBACK (on_geometry), self);
  g_signal_group_connect (self->signals, "notify::slice", G_CALLBACK (on_slice), self);
  g_signal_group_connect_swapped (self->signals, "notify::region", G_CALLBACK (update_marks), self);
}

int
bs_slice_bar_get_n_marks (BsSliceBar *self)
{
  return self->n_marks;
}
