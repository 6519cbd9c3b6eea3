/* brainseg-cli phantom OUTDIR [--cases N] [--seed S] [--size WxHxD] */
#include <glib/gi18n.h>
#include <stdio.h>

#include "bs-phantom.h"
#include "cli.h"

#define MAX_CASES 10000

int
bs_cli_phantom (int argc, char **argv)
{
  int n_cases = 1;
  gint64 seed = 1;
  g_autofree char *size = NULL;
  int dims[3] = { 240, 240, 155 };
  g_autoptr(GError) error = NULL;
  const GOptionEntry entries[] = {
    { "cases", 'n', 0, G_OPTION_ARG_INT, &n_cases, N_("Number of cases (default 1)"), N_("N") },
    { "seed", 's', 0, G_OPTION_ARG_INT64, &seed, N_("Random seed; the same seed gives the same cases (default 1)"),
      N_("S") },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, N_("Volume size in 1 mm voxels (default 240x240x155)"),
      N_("WxHxD") },
    { NULL },
  };

  if (!bs_cli_parse ("phantom", "OUTDIR",
                     _("Write a Decathlon-format task folder of synthetic brain tumour cases "
                       "(FLAIR, T1w, T1gd, T2w and labels 0-3)."),
                     entries, &argc, &argv))
    return 2;
  if (argc != 2)
    {
      fprintf (stderr, "brainseg-cli phantom: %s\n", _("expected exactly one OUTDIR"));
      return 2;
    }
  if (n_cases < 1 || n_cases > MAX_CASES)
    {
      fprintf (stderr, "brainseg-cli phantom: ");
      fprintf (stderr, _("--cases %d: the number of cases must be between 1 and %d"), n_cases, MAX_CASES);
      fprintf (stderr, "\n");
      return 2;
    }
  if (seed < 0)
    {
      fprintf (stderr, "brainseg-cli phantom: ");
      fprintf (stderr, _("--seed %lld: the seed must not be negative"), (long long) seed);
      fprintf (stderr, "\n");
      return 2;
    }
  if (size != NULL && !bs_phantom_parse_size (size, dims, &error))
    {
      fprintf (stderr, "brainseg-cli phantom: --size: %s\n", error->message);
      return 2;
    }

  if (!bs_phantom_write_task (argv[1], (guint) n_cases, (guint64) seed, dims[0], dims[1], dims[2], &error))
    return bs_cli_fail (error);

  printf (g_dngettext (GETTEXT_PACKAGE, "Wrote %d synthetic case of %dx%dx%d voxels to %s\n",
                       "Wrote %d synthetic cases of %dx%dx%d voxels to %s\n", n_cases),
          n_cases, dims[0], dims[1], dims[2], argv[1]);
  return 0;
}
