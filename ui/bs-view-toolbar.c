#include <glib/gi18n.h>

#include "bs-panel-private.h"
#include "bs-view-toolbar.h"

struct _BsViewToolbar
{
  GtkBox parent_instance;

  BsSession *session;
  GSignalGroup *signals;

  GtkDropDown *modality_dropdown;
  GtkAdjustment *opacity_adjustment;
  GtkWidget *opacity_scale;
};

G_DEFINE_FINAL_TYPE (BsViewToolbar, bs_view_toolbar, GTK_TYPE_BOX)

enum { PROP_0, PROP_SESSION, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
on_case (BsSession *session, GParamSpec *pspec, BsViewToolbar *self)
{
  g_autoptr(GtkStringList) list = gtk_string_list_new (NULL);
  BsCase *c = bs_session_get_case (session);
  const BsVolume *img;

  if (c == NULL)
    return;
  img = c->image;
  for (int k = 0; k < img->n_channels; k++)
    {
      const char *name = img->channel_names != NULL ? img->channel_names[k] : NULL;
      g_autofree char *fallback = g_strdup_printf (_("Channel %d"), k + 1);

      gtk_string_list_append (list, name != NULL && *name ? name : fallback);
    }
  g_signal_handlers_block_matched (self->modality_dropdown, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  gtk_drop_down_set_model (self->modality_dropdown, G_LIST_MODEL (list));
  gtk_drop_down_set_selected (self->modality_dropdown, bs_session_get_display_channel (session));
  g_signal_handlers_unblock_matched (self->modality_dropdown, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
  gtk_widget_set_sensitive (GTK_WIDGET (self->modality_dropdown), img->n_channels > 1);
}

static void
on_channel (BsSession *session, GParamSpec *pspec, BsViewToolbar *self)
{
  if ((int) gtk_drop_down_get_selected (self->modality_dropdown) != bs_session_get_display_channel (session))
    gtk_drop_down_set_selected (self->modality_dropdown, bs_session_get_display_channel (session));
}

static void
on_overlay (BsSession *session, GParamSpec *pspec, BsViewToolbar *self)
{
  BsOverlayOptions ov;

  bs_session_get_overlay_options (session, &ov);
  if (gtk_adjustment_get_value (self->opacity_adjustment) != ov.opacity)
    gtk_adjustment_set_value (self->opacity_adjustment, ov.opacity);
  /* Outlines are drawn opaque (a one-pixel line at half opacity vanishes on
   * bright tissue): a slider that changes nothing is greyed and says why. */
  gtk_widget_set_sensitive (self->opacity_scale, ov.style != BS_OVERLAY_OUTLINE);
  bs_widget_set_tooltip (self->opacity_scale, ov.style == BS_OVERLAY_OUTLINE
                                                      ? _("Outlines are drawn fully opaque; opacity applies to filled masks")
                                                      : _("Mask opacity"));
}

static void
on_modality_selected (GtkDropDown *dropdown, GParamSpec *pspec, BsViewToolbar *self)
{
  guint sel = gtk_drop_down_get_selected (dropdown);

  if (self->session != NULL && sel != GTK_INVALID_LIST_POSITION)
    bs_session_set_display_channel (self->session, (int) sel);
}

static void
on_opacity_changed (GtkAdjustment *adj, BsViewToolbar *self)
{
  BsOverlayOptions ov;

  if (self->session == NULL)
    return;
  bs_session_get_overlay_options (self->session, &ov);
  if (ov.opacity == gtk_adjustment_get_value (adj))
    return;
  ov.opacity = gtk_adjustment_get_value (adj);
  bs_session_set_overlay_options (self->session, &ov);
}

void
bs_view_toolbar_set_session (BsViewToolbar *self, BsSession *session)
{
  g_return_if_fail (BS_IS_VIEW_TOOLBAR (self));
  if (!g_set_object (&self->session, session))
    return;
  g_signal_group_set_target (self->signals, session);
  if (session != NULL)
    {
      on_case (session, NULL, self);
      on_overlay (session, NULL, self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

static void
bs_view_toolbar_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    g_value_set_object (value, BS_VIEW_TOOLBAR (object)->session);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_view_toolbar_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    bs_view_toolbar_set_session (BS_VIEW_TOOLBAR (object), g_value_get_object (value));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_view_toolbar_dispose (GObject *object)
{
  BsViewToolbar *self = BS_VIEW_TOOLBAR (object);

  g_signal_group_set_target (self->signals, NULL);
  g_clear_object (&self->signals);
  g_clear_object (&self->session);
  gtk_widget_dispose_template (GTK_WIDGET (self), BS_TYPE_VIEW_TOOLBAR);
  G_OBJECT_CLASS (bs_view_toolbar_parent_class)->dispose (object);
}

static void
bs_view_toolbar_class_init (BsViewToolbarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = bs_view_toolbar_get_property;
  object_class->set_property = bs_view_toolbar_set_property;
  object_class->dispose = bs_view_toolbar_dispose;
  properties[PROP_SESSION] = BS_PANEL_SESSION_PSPEC ();
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/brainseg/Brainseg/ui/bs-view-toolbar.ui");
  gtk_widget_class_bind_template_child (widget_class, BsViewToolbar, modality_dropdown);
  gtk_widget_class_bind_template_child (widget_class, BsViewToolbar, opacity_adjustment);
  gtk_widget_class_bind_template_child (widget_class, BsViewToolbar, opacity_scale);
}

static void
bs_view_toolbar_init (BsViewToolbar *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_set_sensitive (GTK_WIDGET (self->modality_dropdown), FALSE);  /* until a case is open */
  g_signal_connect (self->modality_dropdown, "notify::selected", G_CALLBACK (on_modality_selected), self);
  g_signal_connect (self->opacity_adjustment, "value-changed", G_CALLBACK (on_opacity_changed), self);
  self->signals = g_signal_group_new (BS_TYPE_SESSION);
  g_signal_group_connect (self->signals, "notify::case", G_CALLBACK (on_case), self);
  g_signal_group_connect (self->signals, "notify::channel", G_CALLBACK (on_channel), self);
  g_signal_group_connect (self->signals, "notify::overlay", G_CALLBACK (on_overlay), self);
}
