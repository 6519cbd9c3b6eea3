/* brainseg: the GTK 4 workstation. */
#include <glib/gi18n.h>
#include <locale.h>

#include "bs-application.h"
#include "bs-runtime.h"

int
main (int argc, char **argv)
{
  g_autoptr(BsApplication) app = NULL;

  bs_runtime_prepare (argv);
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, bs_runtime_locale_dir (LOCALEDIR));
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = bs_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
