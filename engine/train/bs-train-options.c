/* The trainer's options and what a run reports. */
#include <glib/gi18n.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "bs-error.h"
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
