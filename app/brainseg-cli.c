/* brainseg-cli: everything the window does, headless. Thin: parse, call, print. */
#include <glib/gi18n.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include "bs-dist.h"
#include "bs-error.h"
#include "bs-export.h"
#include "bs-runtime.h"
#include "cli.h"
#include "bs-file.h"

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} BsCommand;

static const BsCommand commands[] = {
  { "info", bs_cli_info, N_("Describe a volume, case folder, Decathlon task, HDF5 file or model") },
  { "phantom", bs_cli_phantom, N_("Write a synthetic Decathlon-format task folder") },
  { "infer", bs_cli_infer, N_("Segment a case and report Dice and stage times") },
  { "bench", bs_cli_bench, N_("Benchmark inference configurations") },
  { "train", bs_cli_train, N_("Train the U-Net") },
  { "export", bs_cli_export, N_("Export overlays, figures, masks and per-slice Dice") },
  { "score", bs_cli_score, N_("Measure a segmentation file against the case's ground truth") },
  { "calibrate", bs_cli_calibrate, N_("Store int8's activation ranges, measured on many cases, with a model") },
};

int
bs_cli_fail (const GError *error)
{
  fprintf (stderr, "brainseg-cli: %s\n", error ? error->message : _("unknown error"));
  return 1;
}

void
bs_cli_warn_nonfinite (const char *command, const BsCase *c)
{
  if (c->image == NULL || c->image->n_nonfinite == 0)
    return;
  /* TRANSLATORS: the command (infer, export), the count, the case */
  fprintf (stderr, g_dngettext (GETTEXT_PACKAGE,
                                "brainseg-cli %s: warning: %lu voxel of %s is NaN or infinite in its file and is read as 0\n",
                                "brainseg-cli %s: warning: %lu voxels of %s are NaN or infinite in their files and are read as 0\n",
                                c->image->n_nonfinite),
           command, (unsigned long) c->image->n_nonfinite, c->id);
}

gboolean
bs_cli_check_outputs (const char *const *outputs, int n_out, const char *const *inputs, int n_in, GError **error)
{
  for (int i = 0; i < n_out; i++)
    {
      if (outputs[i] == NULL)
        continue;
      if (!bs_export_check_destination (outputs[i], FALSE, error))
        return FALSE;
      for (int j = 0; j < n_in; j++)
        if (inputs[j] != NULL && bs_file_same (outputs[i], inputs[j]))
          {
            g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE,
                         _("Cannot write “%s”: it is one of this command's inputs"), outputs[i]);
            return FALSE;
          }
      for (int j = 0; j < i; j++)
        if (outputs[j] != NULL && bs_file_same (outputs[i], outputs[j]))
          {
            g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE,
                         _("Cannot write “%s” twice: give each output its own name"), outputs[i]);
            return FALSE;
          }
    }
  return TRUE;
}

gboolean
bs_cli_check_nifti_name (const char *path, GError **error)
{
  if (path == NULL || bs_file_name_ends (path, ".nii") || bs_file_name_ends (path, ".nii.gz"))
    return TRUE;
  g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
               _("%s: the file would be NIfTI, so its name must end in .nii or .nii.gz"), path);
  return FALSE;
}

gboolean
bs_cli_check_model_name (const char *path, GError **error)
{
  if (path == NULL || bs_file_name_ends (path, ".h5") || bs_file_name_ends (path, ".hdf5"))
    return TRUE;
  g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
               _("%s: the file would be a model (HDF5), so its name must end in .h5 or .hdf5"), path);
  return FALSE;
}

/* A table (CSV or JSON) may have any name but an image's, a volume's or a
 * model's: "--report fold1.h5" is a slip that would otherwise leave a
 * table where a model was expected. */
gboolean
bs_cli_check_table_name (const char *path, GError **error)
{
  static const char *const others[] = { ".png", ".nii", ".nii.gz", ".h5", ".hdf5" };

  for (gsize i = 0; path != NULL && i < G_N_ELEMENTS (others); i++)
    if (bs_file_name_ends (path, others[i]))
      {
        g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID,
                     _("%s: the file would be a table, but its name ends in %s, another format's ending"), path,
                     others[i]);
        return FALSE;
      }
  return TRUE;
}

gboolean
bs_cli_check_case_outputs (const char *const *outputs, int n_out, const BsDataset *ds, guint i, GError **error)
{
  g_auto(GStrv) files = bs_dataset_get_case_files (ds, i);

  return bs_cli_check_outputs (outputs, n_out, (const char *const *) files, (int) g_strv_length (files), error);
}

gboolean
bs_cli_check_dataset_outputs (const char *const *outputs, int n_out, const char *const *datasets, int n_datasets,
                              GError **error)
{
  for (int d = 0; d < n_datasets; d++)
    {
      g_autoptr(BsDataset) ds = bs_dataset_open (datasets[d], NULL, error);

      if (ds == NULL)
        return FALSE;
      for (guint i = 0; i < bs_dataset_get_n_cases (ds); i++)
        if (!bs_cli_check_case_outputs (outputs, n_out, ds, i, error))
          return FALSE;
    }
  return TRUE;
}

void
bs_cli_after_network (gpointer data)
{
  BsCliAfterNetwork *a = data;

  if (a->prepared)
    g_clear_pointer (a->prepared, bs_volume_free);
  if (a->c->label == NULL)
    return;
  for (int r = 0; r < BS_N_REGIONS; r++)
    if (a->keep[r])
      {
        *a->keep[r] = r == BS_REGION_WT ? bs_labels_whole_tumour (a->c->label)
                                        : bs_labels_region (a->c->label, a->c->convention, (BsRegion) r);
        a->truths[r] = *a->keep[r];
      }
  g_clear_pointer (&a->c->label, bs_volume_free);
}

gboolean
bs_cli_parse (const char *command, const char *params, const char *summary,
              const GOptionEntry *entries, int *argc, char ***argv)
{
  g_autoptr(GOptionContext) ctx = NULL;
  g_autoptr(GError) error = NULL;
  ctx = g_option_context_new (params);
  g_option_context_set_translation_domain (ctx, GETTEXT_PACKAGE);
  if (summary)
    g_option_context_set_summary (ctx, summary);
  g_option_context_add_main_entries (ctx, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      fprintf (stderr, "brainseg-cli %s: %s\n", command, error->message);
      return FALSE;
    }
  return TRUE;
}

static void
usage (FILE *out)
{
  fprintf (out, "%s\n\n", _("Usage: brainseg-cli COMMAND [OPTIONS...]"));
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, "\n%s\n", _("Run 'brainseg-cli COMMAND --help' for the options of a command."));
}

int
main (int argc, char **argv)
{
  int status;

  bs_runtime_prepare (argv);
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, bs_runtime_locale_dir (LOCALEDIR));
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      {
        g_autofree char *prgname = g_strdup_printf ("brainseg-cli %s", commands[i].name);

        /* Usage lines then read "brainseg-cli infer [OPTION…] PATH". */
        g_set_prgname (prgname);
        /* A process of several that mpirun started: infer --all-cases shares
         * the cases out; anything else would be the same work N times, into
         * the same files. */
        if (bs_dist_launched_size () > 1 && (strcmp (argv[1], "infer") != 0 || !bs_dist_available ()))
          {
            if (!bs_dist_available ())
              fprintf (stderr, "%s\n", _("brainseg-cli: started as several processes (mpirun), but without MPI: run the brainseg-cli launcher, which starts brainseg-cli-mpi.bin where the build found Open MPI (libopenmpi-dev; meson -Dmpi=enabled)"));
            else
              fprintf (stderr, _("brainseg-cli %s: runs as one process; under mpirun, only infer --all-cases shares its work out\n"),
                       argv[1]);
            return 2;
          }
        bs_dist_init ();
        status = commands[i].run (argc - 1, argv + 1);
        bs_dist_finish ();
        return status;
      }

  fprintf (stderr, _("brainseg-cli: unknown command '%s'\n"), argv[1]);
  usage (stderr);
  return 2;
}
