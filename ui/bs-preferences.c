#include <glib/gi18n.h>

#include "bs-application.h"
#include "bs-preferences.h"
#include "bs-settings.h"
#include "bs-unet.h"

struct _BsPreferences
{
  GtkWindow parent_instance;

  GSettings *settings;
  GtkSwitch *overlay_switch;
  GtkAdjustment *opacity_adjustment;
  GtkSwitch *outline_switch;
  GtkAdjustment *threads_adjustment;
  GtkAdjustment *batch_adjustment;
  GtkSwitch *profile_switch;
  GtkEntry *model_entry;
  GtkLabel *model_hint;
};

G_DEFINE_FINAL_TYPE (BsPreferences, bs_preferences, GTK_TYPE_WINDOW)

static gboolean
style_get (GValue *value, GVariant *variant, gpointer data)
{
  g_value_set_boolean (value, g_str_equal (g_variant_get_string (variant, NULL), "outline"));
  return TRUE;
}

static GVariant *
style_set (const GValue *value, const GVariantType *type, gpointer data)
{
  return g_variant_new_string (g_value_get_boolean (value) ? "outline" : "fill");
}

/* Walk finding: a mistyped path was taken without a word, and the next
 * window started without the model.  Said under the entry as it is typed. */
static void
update_model_hint (BsPreferences *self)
{
  const char *path = gtk_editable_get_text (GTK_EDITABLE (self->model_entry));
  const char *hint = NULL;

  if (path != NULL && *path != '\0')
    {
      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        hint = _("No such file: new windows start with the shipped model instead.");
      else if (bs_unet_h5_probe (path) != BS_UNET_H5_MODEL)
        hint = _("Not a model weights file: new windows start with the shipped model instead.");
    }
  gtk_label_set_text (self->model_hint, hint != NULL ? hint : "");
  gtk_widget_set_visible (GTK_WIDGET (self->model_hint), hint != NULL);
}

const char *
bs_preferences_get_model_hint (BsPreferences *self)
{
  g_return_val_if_fail (BS_IS_PREFERENCES (self), NULL);
  return gtk_widget_get_visible (GTK_WIDGET (self->model_hint)) ? gtk_label_get_text (self->model_hint) : NULL;
}

static void
bs_preferences_dispose (GObject *object)
{
  BsPreferences *self = BS_PREFERENCES (object);

  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), BS_TYPE_PREFERENCES);
  G_OBJECT_CLASS (bs_preferences_parent_class)->dispose (object);
}

static void
bs_preferences_class_init (BsPreferencesClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = bs_preferences_dispose;
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/brainseg/Brainseg/ui/bs-preferences.ui");
  gtk_widget_class_bind_template_child (widget_class, BsPreferences, overlay_switch);
  gtk_widget_class_bind_template_child (widget_class, BsPreferences, opacity_adjustment);
  gtk_widget_class_bind_template_child (widget_class, BsPreferences, outline_switch);
  gtk_widget_class_bind_template_child (widget_class, BsPreferences, threads_adjustment);
  gtk_widget_class_bind_template_child (widget_class, BsPreferences, batch_adjustment);
  gtk_widget_class_bind_template_child (widget_class, BsPreferences, profile_switch);
  gtk_widget_class_bind_template_child (widget_class, BsPreferences, model_entry);
  gtk_widget_class_bind_template_child (widget_class, BsPreferences, model_hint);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
bs_preferences_init (BsPreferences *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect_swapped (self->model_entry, "changed", G_CALLBACK (update_model_hint), self);
  self->settings = bs_settings_new ();
  if (self->settings == NULL)
    {
      /* Nothing to store them in: show the defaults, greyed. */
      GtkWidget *content = gtk_window_get_child (GTK_WINDOW (self));
      gtk_widget_set_sensitive (content, FALSE);
      gtk_widget_set_tooltip_text (content, _("Preferences cannot be saved: the settings schema is not installed."));
      return;
    }
  g_settings_bind (self->settings, "overlay-mode", self->overlay_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "mask-opacity", self->opacity_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind_with_mapping (self->settings, "mask-style", self->outline_switch, "active", G_SETTINGS_BIND_DEFAULT,
                                style_get, style_set, NULL, NULL);
  g_settings_bind (self->settings, "threads", self->threads_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "batch", self->batch_adjustment, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "profile-layers", self->profile_switch, "active", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "default-model", self->model_entry, "text", G_SETTINGS_BIND_DEFAULT);
  update_model_hint (self);
}

GtkWidget *
bs_preferences_new (GtkWindow *parent)
{
  return g_object_new (BS_TYPE_PREFERENCES, "transient-for", parent, NULL);
}
