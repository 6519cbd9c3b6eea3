/* What brainseg-cli train says while and after it trains: the engine's
 * progress events as the lines the CLI has always printed (tests and the
 * README read them), and the stage and test-case tables of the report. */
#include <glib/gi18n.h>
#include <math.h>

#include "cli-train-progress.h"

static void
format_duration (double s, char *buf, gsize len)
{
  int t = (int) (s + 0.5);

  if (t >= 3600)
    g_snprintf (buf, len, "%d:%02d:%02d", t / 3600, (t / 60) % 60, t % 60);
  else
    g_snprintf (buf, len, "%02d:%02d", t / 60, t % 60);
}

static void
show_step (BsCliTrainProgress *p, const BsTrainEvent *e)
{
  char eta_s[32], val_s[32];
  int step = e->step.step, steps = e->step.steps;

  format_duration (e->step.eta_s, eta_s, sizeof eta_s);
  if (isnan (e->step.val_dice))
    g_strlcpy (val_s, "  -  ", sizeof val_s);
  else
    g_snprintf (val_s, sizeof val_s, "%.3f", e->step.val_dice);
  if (p->tty)
    {
      char bar[21];
      int fill = steps > 0 ? step * 20 / steps : 20;
      for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
      bar[20] = 0;
      fprintf (p->out, _("\rEpoch %d/%d [%s] step %d/%d  ETA %s  loss %.4f  val Dice %s "), e->step.epoch,
               e->step.epochs, bar, step, steps, eta_s, e->step.loss, val_s);
      fflush (p->out);
    }
  else if (step == steps || step % MAX (1, steps / 4) == 0)
    {
      fprintf (p->out, _("epoch %d/%d step %d/%d  ETA %s  loss %.4f  val Dice %s\n"), e->step.epoch, e->step.epochs,
               step, steps, eta_s, e->step.loss, val_s);
      fflush (p->out);
    }
}

/* " (WT 0.812 TC 0.640 ET 0.551)" for the regions besides the whole tumour
 * that validated, "" for a whole-tumour model.  Static buffer. */
static const char *
region_dice_text (const double dice[BS_N_REGIONS])
{
  static char buf[96];
  static const char *const labels[BS_N_REGIONS] = { "WT", "TC", "ET" };
  gboolean any = FALSE;
  gsize at;

  for (int r = 1; r < BS_N_REGIONS; r++)
    any = any || !isnan (dice[r]);
  if (!any)
    return "";
  at = g_snprintf (buf, sizeof buf, " (");
  for (int r = 0; r < BS_N_REGIONS && at < sizeof buf; r++)
    if (!isnan (dice[r]))
      at += g_snprintf (buf + at, sizeof buf - at, "%s%s %.3f", r ? " " : "", labels[r], dice[r]);
  if (at < sizeof buf)
    g_snprintf (buf + at, sizeof buf - at, ")");
  return buf;
}

static void
show_epoch (BsCliTrainProgress *p, const BsTrainEvent *e)
{
  g_autofree char *mark = NULL;
  int epoch = e->epoch.epoch;

  if (p->tty)
    fputc ('\n', p->out);
  if (e->epoch.mean_count > 0)
    mark = g_strdup_printf (_("  (mean of epochs %d-%d, saved)"), epoch - e->epoch.mean_count + 1, epoch);
  fprintf (p->out, _("epoch %d/%d done in %.0f s: train loss %.4f  val loss %.4f  val Dice %.3f%s%s\n"), epoch,
           e->epoch.epochs, e->epoch.seconds, e->epoch.train_loss, e->epoch.val_loss, e->epoch.val_dice,
           region_dice_text (e->epoch.val_region_dice),
           mark ? mark : e->epoch.best ? _("  (best, saved)") : "");
  fflush (p->out);
}

void
bs_cli_train_progress (const BsTrainEvent *e, gpointer data)
{
  BsCliTrainProgress *p = data;
  FILE *out = p->out;

  switch (e->kind)
    {
    case BS_TRAIN_EVENT_NO_VALIDATION:
      fprintf (out, "%s\n", _("No validation cases: the checkpoint is chosen on training slices."));
      break;
    case BS_TRAIN_EVENT_RESUMED:
      if (e->resumed.epochs > e->resumed.epochs_done)
        fprintf (out, _("Resuming %s after epoch %d (step %d) with the options it was started with; "
                        "training up to epoch %d.\n"),
                 e->resumed.path, e->resumed.epochs_done, e->resumed.steps_done, e->resumed.epochs);
      else
        fprintf (out, _("%s already did %d epochs; nothing to train (give a larger --epochs to continue).\n"),
                 e->resumed.path, e->resumed.epochs_done);
      break;
    case BS_TRAIN_EVENT_FINE_TUNING:
      fprintf (out, _("%s holds weights but no training state: fine-tuning from them, starting at epoch 1 with a "
                      "fresh optimiser.\n"),
               e->fine_tuning.path);
      break;
    case BS_TRAIN_EVENT_START:
      fprintf (out, _("Training on %u slices (%u with tumour), validating on %d; %d steps of %d per epoch\n"),
               e->start.n_slices, e->start.n_tumour_slices, e->start.n_val_slices, e->start.steps_per_epoch,
               e->start.batch);
      break;
    case BS_TRAIN_EVENT_STEP:
      show_step (p, e);
      break;
    case BS_TRAIN_EVENT_AVERAGING:
      fprintf (out, _("From epoch %d on, the weights validated and saved are the mean of those at the end "
                      "of every epoch since.\n"), e->averaging.epoch);
      break;
    case BS_TRAIN_EVENT_EPOCH:
      show_epoch (p, e);
      break;
    case BS_TRAIN_EVENT_EARLY_STOP:
      fprintf (out, _("No better validation loss for %d epochs: stopping early.\n"), e->early_stop.bad_epochs);
      break;
    case BS_TRAIN_EVENT_TEST_CASE:
      /* The table after the run lists them. */
      break;
    case BS_TRAIN_EVENT_FIGURES:
      fprintf (out, g_dngettext (GETTEXT_PACKAGE, "Wrote %d figure to %s\n", "Wrote %d figures to %s\n",
                                 e->figures.n),
               e->figures.n, e->figures.dir);
      break;
    }
}

void
bs_cli_train_print_report (const BsTrainReport *report, const BsCliRegions *regions, FILE *out)
{
  static const char *const order[] = {
    "data loading", "preprocessing", "stratification", "training", "prediction", "visualisation",
  };
  static const char *const labels[] = {
    N_("data loading"), N_("preprocessing"), N_("stratification"), N_("training"), N_("prediction"),
    N_("visualisation"),
  };
  double total = 0.0;

  fprintf (out, "\n%-18s %12s\n", _("Stage"), _("Wall time (s)"));
  for (gsize i = 0; i < G_N_ELEMENTS (order); i++)
    {
      double ms = bs_timing_stage_ms (&report->stages, order[i]);
      total += ms;
      fprintf (out, "%-18s %12.1f\n", _(labels[i]), ms / 1000.0);
    }
  fprintf (out, "%-18s %12.1f\n", _("total"), total / 1000.0);
  if (report->epochs_run > 0)
    fprintf (out, _("\n%d epochs, %d steps; best epoch %d: validation loss %.4f, validation Dice %.3f%s\n"),
             report->epochs_run, report->steps, report->best_epoch, report->best_val_loss, report->best_val_dice,
             region_dice_text (report->best_val_region_dice));
  if (report->test && report->test->len > 0)
    {
      fprintf (out, "\n%-28s %8s %8s", _("Test case"), _("Dice"), _("raw"));
      bs_cli_train_print_region_header (regions, out);
      fprintf (out, " %14s %14s\n", _("truth voxels"), _("predicted"));
      for (guint i = 0; i < report->test->len; i++)
        {
          const BsTrainCaseResult *r = &g_array_index (report->test, BsTrainCaseResult, i);
          fprintf (out, "%-28s %8.4f %8.4f", r->id, r->dice, r->dice_raw);
          bs_cli_train_print_region_row (regions, r, out);
          fprintf (out, " %14" G_GSIZE_FORMAT " %14" G_GSIZE_FORMAT "\n", r->truth_voxels, r->predicted_voxels);
        }
      if (regions->n > 1 && report->test->len > 1)
        {
          double sum = 0.0, sum_raw = 0.0;
          for (guint i = 0; i < report->test->len; i++)
            {
              sum += g_array_index (report->test, BsTrainCaseResult, i).dice;
              sum_raw += g_array_index (report->test, BsTrainCaseResult, i).dice_raw;
            }
          fprintf (out, "%-28s %8.4f %8.4f", _("mean"), sum / report->test->len, sum_raw / report->test->len);
          bs_cli_train_print_region_means (regions, report->test, out);
          fprintf (out, "\n");
        }
    }
}
