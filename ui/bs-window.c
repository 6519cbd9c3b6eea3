#include <glib/gi18n.h>

#include "bs-window.h"

struct _BsWindow
{
  GtkApplicationWindow parent_instance;
};

G_DEFINE_FINAL_TYPE (BsWindow, bs_window, GTK_TYPE_APPLICATION_WINDOW)

static void
bs_window_class_init (BsWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/brainseg/Brainseg/ui/bs-window.ui");
}

static void
bs_window_init (BsWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

BsWindow *
bs_window_new (BsApplication *app)
{
  return g_object_new (BS_TYPE_WINDOW, "application", app, NULL);
}
