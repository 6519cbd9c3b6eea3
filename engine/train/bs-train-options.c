/* The trainer's options and what a run reports. */
#include <glib/gi18n.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "bs-error.h"
#include "bs-plan.h"
#include "bs-train-private.h"

void
bs_train_options_init (BsTrainOptions *o)
{
  memset (o, 0, sizeof *o);
  o->fms = 16;
  o->crop = 128;
  o->epochs = 30;
  o->batch = 128;
  o->lr = 1e-4;
  o->loss = BS_TRAIN_LOSS_DICE;
  o->weight_dice = 0.85;
  o->seed = 816;
  o->patience = 5;
  o->dropout = 0.2;
  o->val_slices = 96;
  o->augment = TRUE;
  o->intensity_jitter = 0.1;
  o->split = 0.8;
  o->context = -1;
  o->eval_three_planes = TRUE;
  o->lanes = TRUE;
}

int
bs_train_options_lanes (const BsTrainOptions *o)
{
  if (!o->lanes)
    return 1;
  return MIN (o->threads > 0 ? o->threads : bs_cpu_cores (), BS_TRAIN_MAX_LANES);
}

gboolean
bs_train_options_check (const BsTrainOptions *o, GError **error)
{
  static const struct {
    const char *option;
    gsize offset;
    int min, max;
  } ints[] = {
    { "--fms", G_STRUCT_OFFSET (BsTrainOptions, fms), 1, BS_UNET_MAX_FMS },
    { "--crop", G_STRUCT_OFFSET (BsTrainOptions, crop), 16, BS_TRAIN_MAX_CROP },
    { "--epochs", G_STRUCT_OFFSET (BsTrainOptions, epochs), 0, BS_TRAIN_MAX_EPOCHS },
    { "--batch", G_STRUCT_OFFSET (BsTrainOptions, batch), 1, BS_TRAIN_MAX_BATCH },
    { "--threads", G_STRUCT_OFFSET (BsTrainOptions, threads), 0, BS_TRAIN_MAX_THREADS },
    { "--steps-per-epoch", G_STRUCT_OFFSET (BsTrainOptions, steps_per_epoch), 0, BS_TRAIN_MAX_STEPS_PER_EPOCH },
    { "--patience", G_STRUCT_OFFSET (BsTrainOptions, patience), 0, BS_TRAIN_MAX_EPOCHS },
    { "--val-slices", G_STRUCT_OFFSET (BsTrainOptions, val_slices), 0, BS_TRAIN_MAX_VAL_SLICES },
    { "--average-from", G_STRUCT_OFFSET (BsTrainOptions, average_from), 0, BS_TRAIN_MAX_EPOCHS },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (ints); i++)
    {
      int v = G_STRUCT_MEMBER (int, o, ints[i].offset);

      if (v >= ints[i].min && v <= ints[i].max)
        continue;
      if (ints[i].offset == G_STRUCT_OFFSET (BsTrainOptions, fms) && v > ints[i].max)
        g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("--fms %d is too large (at most %d)"), v,
                     ints[i].max);
      else
        g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                     /* TRANSLATORS: an option (--batch), the value given, the smallest and largest allowed */
                     _("%s %d is out of range; it must be between %d and %d"), ints[i].option, v, ints[i].min,
                     ints[i].max);
      return FALSE;
    }
  if (o->crop % 16 != 0)
    {
      /* The U-Net pools four times. */
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("--crop %d is not a multiple of 16"), o->crop);
      return FALSE;
    }
  if (!(o->lr > 0.0 && o->lr <= 1.0) || !(o->dropout >= 0.0 && o->dropout < 1.0))
    {
      gboolean lr = !(o->lr > 0.0 && o->lr <= 1.0);
      char num[G_ASCII_DTOSTR_BUF_SIZE];

      /* TRANSLATORS: an option (--lr), the value given, the interval allowed, e.g. (0, 1] */
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("%s %s is out of range; it must be in %s"),
                   lr ? "--lr" : "--dropout", g_ascii_formatd (num, sizeof num, "%g", lr ? o->lr : o->dropout),
                   lr ? "(0, 1]" : "[0, 1)");
      return FALSE;
    }
  return TRUE;
}

gboolean
bs_train_options_set_regions (BsTrainOptions *o, const char *list, GError **error)
{
  g_auto(GStrv) names = NULL;

  if (!bs_unet_parse_outputs (list, &names, error))
    return FALSE;
  o->n_outputs = 0;
  for (char **n = names; *n && o->n_outputs < BS_N_REGIONS; n++)
    for (int r = 0; r < BS_N_REGIONS; r++)
      if (g_strcmp0 (*n, bs_region_name (r)) == 0)
        o->outputs[o->n_outputs++] = r;
  return TRUE;
}

char *
bs_train_regions_to_string (const BsRegion *regions, int n)
{
  g_autoptr(GString) s = g_string_new (NULL);

  for (int k = 0; k < n; k++)
    g_string_append_printf (s, "%s%s", k ? "," : "", bs_region_name (regions[k]));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

gboolean
bs_train_outputs_from_net (const BsUnet *net, BsTrainOutputs *outputs)
{
  outputs->n = 0;
  for (int k = 0; k < net->config.out_channels; k++)
    {
      int found = -1;
      for (int r = 0; r < BS_N_REGIONS; r++)
        if (net->config.outputs && g_strcmp0 (net->config.outputs[k], bs_region_name (r)) == 0)
          found = r;
      if (found < 0 || outputs->n >= BS_N_REGIONS)
        return FALSE;
      outputs->r[outputs->n++] = found;
    }
  return outputs->n > 0 && outputs->r[0] == BS_REGION_WT;
}

void
bs_train_case_result_clear (BsTrainCaseResult *r)
{
  g_clear_pointer (&r->id, g_free);
  g_clear_pointer (&r->channels, g_free);
}

void
bs_train_report_clear (BsTrainReport *report)
{
  if (report->test)
    {
      for (guint i = 0; i < report->test->len; i++)
        bs_train_case_result_clear (&g_array_index (report->test, BsTrainCaseResult, i));
      g_array_unref (report->test);
    }
  memset (report, 0, sizeof *report);
}

void
bs_train_options_apply_state (BsTrainOptions *o, const BsTrainOptions *from)
{
  o->crop = from->crop;
  o->batch = from->batch;
  o->lr = from->lr;
  o->loss = from->loss;
  o->weight_dice = from->weight_dice;
  o->seed = from->seed;
  o->split = from->split;
  o->steps_per_epoch = from->steps_per_epoch;
  o->dropout = from->dropout;
  o->val_slices = from->val_slices;
  o->augment = from->augment;
  o->core_flair_aug = from->core_flair_aug;
  o->intensity_jitter = from->intensity_jitter;
  o->average_from = from->average_from;
  o->modality_dropout = from->modality_dropout;
  o->bias_field = from->bias_field;
  o->folds = from->folds;
  o->fold = from->fold;
  o->weight_wt = from->weight_wt;
  o->train_planes = from->train_planes;
}

/* ---- figures folder ---- */

gboolean
bs_train_check_figures_dir (const char *dir, GError **error)
{
  g_autofree char *probe = g_build_filename (dir, ".brainseg-probe-XXXXXX", NULL);
  int fd;

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   g_file_test (dir, G_FILE_TEST_EXISTS) ? _("%s: not a folder; --figures needs an existing folder")
                                                         : _("%s: no such folder; create it first for --figures"),
                   dir);
      return FALSE;
    }
  fd = g_mkstemp (probe);
  if (fd < 0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("%s: cannot write figures here (%s)"), dir,
                   g_strerror (errno));
      return FALSE;
    }
  close (fd);
  g_unlink (probe);
  return TRUE;
}
