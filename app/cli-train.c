#include <glib/gi18n.h>
#include <stdio.h>

#include "cli.h"

int
bs_cli_train (int argc, char **argv)
{
  fprintf (stderr, _("brainseg-cli: '%s' is not available in this build yet\n"), "train");
  return 2;
}
