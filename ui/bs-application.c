#include <glib/gi18n.h>

#include "bs-application.h"
#include "bs-window.h"

struct _BsApplication
{
  GtkApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (BsApplication, bs_application, GTK_TYPE_APPLICATION)

static void
bs_application_activate (GApplication *app)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    window = GTK_WINDOW (bs_window_new (BS_APPLICATION (app)));
  gtk_window_present (window);
}

static void
bs_application_class_init (BsApplicationClass *klass)
{
  G_APPLICATION_CLASS (klass)->activate = bs_application_activate;
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
                       NULL);
}
