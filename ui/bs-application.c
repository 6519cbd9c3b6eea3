#include <glib/gi18n.h>

#include "bs-about.h"
#include "brainseg-resources.h"
#include "bs-application.h"
#include "bs-settings.h"
#include "bs-phantom.h"
#include "bs-preferences.h"
#include "bs-unet.h"
#include "bs-window.h"

struct _BsApplication
{
  GtkApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (BsApplication, bs_application, GTK_TYPE_APPLICATION)

/* The model a new window starts with: the one chosen in Preferences, else the
 * shipped one; NULL means random weights (the window says so). */
static char *
startup_model_path (void)
{
  g_autoptr(GSettings) settings = bs_settings_new ();
  g_autofree char *chosen = settings ? g_settings_get_string (settings, "default-model") : NULL;

  if (chosen != NULL && *chosen != '\0')
    return g_steal_pointer (&chosen);
  return bs_unet_default_model_path ();
}

static BsWindow *
new_window (BsApplication *self, const char *path)
{
  BsWindow *window = bs_window_new (self);
  g_autofree char *model = startup_model_path ();
  g_autofree char *sample = NULL;

  if (path == NULL)
    path = sample = bs_sample_default_path ();
  if (path != NULL)
    bs_window_open_with_model (window, path, model);
  else
    {
      g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                                                     _("The bundled sample was not found. Open a volume or dataset with Open."));

      bs_window_open_model (window, model);
      bs_window_show_error (window, _("No sample to show"), error);
    }
  return window;
}

static void
bs_application_activate (GApplication *app)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    window = GTK_WINDOW (new_window (BS_APPLICATION (app), NULL));
  gtk_window_present (window);
}

static void
bs_application_open (GApplication *app, GFile **files, int n_files, const char *hint)
{
  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);
      BsWindow *window;

      if (path == NULL)
        continue;
      window = BS_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
      if (window == NULL || i > 0)
        window = new_window (BS_APPLICATION (app), path);
      else
        bs_window_open_path (window, path);
      gtk_window_present (GTK_WINDOW (window));
    }
}

static void
action_quit (GSimpleAction *action, GVariant *param, gpointer data)
{
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (data));

  /* Destroying windows lets each stop its worker before the loop ends. */
  while (windows != NULL)
    {
      GList *next = windows->next;

      gtk_window_destroy (windows->data);
      windows = next;
    }
}

static void
action_about (GSimpleAction *action, GVariant *param, gpointer data)
{
  bs_about_show (gtk_application_get_active_window (GTK_APPLICATION (data)));
}

static void
action_preferences (GSimpleAction *action, GVariant *param, gpointer data)
{
  GtkWidget *prefs = bs_preferences_new (gtk_application_get_active_window (GTK_APPLICATION (data)));

  gtk_window_set_application (GTK_WINDOW (prefs), GTK_APPLICATION (data));
  gtk_window_present (GTK_WINDOW (prefs));
}

static const GActionEntry app_entries[] = {
  { "quit", action_quit },
  { "about", action_about },
  { "preferences", action_preferences },
};

static const struct {
  const char *action;
  const char *accels[3];
} accels[] = {
  { "app.quit", { "<Control>q", NULL } },
  { "app.preferences", { "<Control>comma", NULL } },
  { "win.show-help-overlay", { "<Control>question", "F1", NULL } },
  { "window.close", { "<Control>w", NULL } },
  { "win.open", { "<Control>o", NULL } },
  { "win.open-folder", { "<Control><Shift>o", NULL } },
  { "win.open-model", { "<Control>m", NULL } },
  { "win.view-mode('panes')", { "<Alt>1", NULL } },
  { "win.view-mode('overlay')", { "<Alt>2", NULL } },
  { "win.plane('axial')", { "<Alt>a", NULL } },
  { "win.plane('coronal')", { "<Alt>c", NULL } },
  { "win.plane('sagittal')", { "<Alt>s", NULL } },
  { "win.mask-outline", { "<Alt>o", NULL } },
  { "win.export-overlay", { "<Control>e", NULL } },
  { "win.export-figure", { "<Control><Shift>e", NULL } },
};

static void
bs_application_startup (GApplication *app)
{
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();

  G_APPLICATION_CLASS (bs_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_entries, G_N_ELEMENTS (app_entries), app);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (app), accels[i].action, accels[i].accels);

  gtk_css_provider_load_from_resource (css, "/io/github/brainseg/Brainseg/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
}

static void
bs_application_class_init (BsApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  app_class->activate = bs_application_activate;
  app_class->open = bs_application_open;
  app_class->startup = bs_application_startup;
  /* Referencing the bundle links its object file (and so its registering
   * constructor) out of the static library into every program. */
  g_assert (brainseg_get_resource () != NULL);
}

static void
bs_application_init (BsApplication *self)
{
}

BsApplication *
bs_application_new (void)
{
  return g_object_new (BS_TYPE_APPLICATION,
                       "application-id", BS_APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/brainseg/Brainseg",
                       NULL);
}
