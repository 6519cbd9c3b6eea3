/* brainseg-cli calibrate: an int8 calibration measured once on many cases,
 * stored with the model's weights, so that int8 runs a case without first
 * measuring that case's ranges. */
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

#include "bs-calibration.h"
#include "bs-dataset.h"
#include "bs-infer.h"
#include "bs-plan.h"
#include "bs-timing.h"
#include "bs-unet.h"
#include "cli.h"

/* The case's calibration as int8 would measure it on the case alone: its
 * prepared image, axial slices, the brain's window. */
static BsCalibration *
case_calibration (const BsUnet *net, BsDataset *ds, guint i, GError **error)
{
  g_autoptr(BsCase) c = NULL;
  g_autoptr(BsVolume) prepared = NULL;
  g_autoptr(BsInferGeometry) geom = NULL;

  c = bs_dataset_load_case (ds, i, error);
  if (c == NULL)
    return NULL;
  prepared = bs_infer_prepare_take (net, g_steal_pointer (&c->image), error);
  if (prepared == NULL)
    return NULL;
  geom = bs_infer_geometry_new_for_net (net, prepared, BS_PLANE_AXIAL, TRUE);
  return bs_calibration_new_for_case (net, prepared, geom, TRUE, error);
}

int
bs_cli_calibrate (int argc, char **argv)
{
  g_autofree char *model = NULL, *out = NULL, *cases_s = NULL;
  gboolean quiet = FALSE;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, N_("Weights to calibrate (default: the shipped model)"), "M.h5" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_("Write the weights with the calibration here (may be the model itself)"), "OUT.h5" },
    { "cases", 0, 0, G_OPTION_ARG_STRING, &cases_s, N_("Only these case ids, comma-separated (default: every case)"), "IDS" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, N_("Print nothing but errors"), NULL },
    { NULL },
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(GPtrArray) cals = g_ptr_array_new_with_free_func ((GDestroyNotify) bs_calibration_free);
  g_autoptr(GPtrArray) datasets = g_ptr_array_new_with_free_func ((GDestroyNotify) bs_dataset_free);
  g_auto(GStrv) wanted = NULL;
  g_autoptr(GHashTable) found = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree float *values = NULL;
  gboolean is_random = FALSE;
  double t0 = bs_now_ms ();

  if (!bs_cli_parse ("calibrate", "DATASET...",
                     _("Measure int8's activation ranges on every case of the datasets and store their median with the weights, so that int8 need not measure them on each case."),
                     entries, &argc, &argv))
    return 2;
  if (argc < 2 || out == NULL || *out == '\0')
    {
      fprintf (stderr, "%s\n", _("brainseg-cli calibrate: give at least one DATASET (a case folder, Decathlon task or HDF5 file) and --out OUT.h5"));
      return 2;
    }
  if (!bs_cli_check_model_name (out, &error))
    return bs_cli_fail (error);
  net = bs_unet_load_or_default (model, &is_random, &error);
  if (net == NULL)
    return bs_cli_fail (error);
  if (is_random)
    {
      fprintf (stderr, "%s\n", _("brainseg-cli calibrate: no model given and none ships; nothing to calibrate"));
      return 1;
    }
  {
    /* the datasets are read, the model is read and then written: --out may
     * be the model (it is replaced whole, atomically) but not a dataset */
    const char *outputs[] = { out };

    if (!bs_cli_check_outputs (outputs, 1, (const char *const *) argv + 1, argc - 1, &error))
      return bs_cli_fail (error);
  }
  if (cases_s)
    wanted = g_strsplit (cases_s, ",", -1);
  /* Every dataset opened and every case's files checked before anything is
   * measured: --out must not replace an image or a label (a model written
   * over a case's _seg.nii.gz took its ground truth). */
  for (int d = 1; d < argc; d++)
    {
      BsDataset *ds = bs_dataset_open (argv[d], NULL, &error);
      const char *outputs[] = { out };

      if (ds == NULL)
        return bs_cli_fail (error);
      g_ptr_array_add (datasets, ds);
      for (guint i = 0; i < bs_dataset_get_n_cases (ds); i++)
        {
          if (!bs_cli_check_case_outputs (outputs, 1, ds, i, &error))
            return bs_cli_fail (error);
          g_hash_table_add (found, (gpointer) g_intern_string (bs_dataset_get_case_id (ds, i)));
        }
    }
  /* A --cases id that no dataset has is named before any case is measured
   * (helper finding: after every case had been). */
  if (wanted)
    {
      g_autoptr(GString) missing = g_string_new (NULL);

      for (int k = 0; wanted[k]; k++)
        if (*wanted[k] && !g_hash_table_contains (found, g_intern_string (wanted[k])))
          g_string_append_printf (missing, "%s%s", missing->len ? ", " : "", wanted[k]);
      if (missing->len)
        {
          fprintf (stderr, _("brainseg-cli calibrate: --cases names cases that are not in the datasets: %s\n"),
                   missing->str);
          return 1;
        }
    }
  for (guint d = 0; d < datasets->len; d++)
    {
      BsDataset *ds = datasets->pdata[d];

      for (guint i = 0; i < bs_dataset_get_n_cases (ds); i++)
        {
          const char *id = bs_dataset_get_case_id (ds, i);
          BsCalibration *cal;

          if (wanted && !g_strv_contains ((const char *const *) wanted, id))
            continue;
          cal = case_calibration (net, ds, i, &error);
          if (cal == NULL)
            {
              g_prefix_error (&error, _("case %s: "), id);
              return bs_cli_fail (error);
            }
          g_ptr_array_add (cals, cal);
          if (!quiet)
            printf (g_dngettext (GETTEXT_PACKAGE, "%s: ranges measured on %d slice\n",
                                 "%s: ranges measured on %d slices\n", bs_calibration_get_slices (cal)),
                    id, bs_calibration_get_slices (cal));
        }
    }
  if (cals->len == 0)
    {
      fprintf (stderr, "%s\n", _("brainseg-cli calibrate: the datasets hold no case to calibrate on"));
      return 1;
    }
  values = g_new (float, 1 + net->n_layers);
  bs_calibration_median (net, (BsCalibration *const *) cals->pdata, cals->len, values);
  bs_unet_set_calibration (net, values, cals->len);
  if (!bs_unet_save_h5 (net, out, &error))
    return bs_cli_fail (error);
  if (!quiet)
    printf (g_dngettext (GETTEXT_PACKAGE, "%s: int8 calibration of %d case stored (%.1f s)\n",
                         "%s: int8 calibration of %d cases stored (%.1f s)\n", cals->len),
            out, cals->len, (bs_now_ms () - t0) / 1000.0);
  return 0;
}
