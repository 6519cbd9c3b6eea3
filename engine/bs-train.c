/* The training loop: epochs of stratified, augmented batches, validation after
 * each epoch, the best-validation-loss checkpoint, early stopping, progress,
 * and whole-volume Dice of the test cases at the end. */
#include <glib/gi18n.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "bs-error.h"
#include "bs-metrics.h"
#include "bs-postprocess.h"
#include "bs-preprocess.h"
#include "bs-train-private.h"

/* How far (as a share of the centring margin) a training crop may wander. */
#define BS_TRAIN_OFFSET_RATIO 0.75
#define BS_TRAIN_EVAL_BATCH 4

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
}

void
bs_train_report_clear (BsTrainReport *report)
{
  if (report->test)
    {
      for (guint i = 0; i < report->test->len; i++)
        g_free (g_array_index (report->test, BsTrainCaseResult, i).id);
      g_array_unref (report->test);
    }
  memset (report, 0, sizeof *report);
}

/* Centre crop or zero-pad of a w x h plane to ow x oh (the inverse of itself). */
static void
centre (const float *src, int w, int h, float *dst, int ow, int oh)
{
  int x0 = (w - ow) / 2, y0 = (h - oh) / 2;

  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++)
      {
        int sx = x0 + x, sy = y0 + y;
        dst[y * ow + x] = (sx >= 0 && sx < w && sy >= 0 && sy < h) ? src[sy * w + sx] : 0.0f;
      }
}

static gboolean
evaluate_case (BsTrainGraph *g, const BsTrainCase *c, BsTrainCaseResult *result, GError **error)
{
  int batch, ph, pw, nch = c->image->n_channels;
  int n_slices = bs_volume_n_slices (c->image, BS_PLANE_AXIAL);
  gsize pix;
  g_autofree float *input = NULL;
  g_autofree float *probs = NULL;
  g_autofree float *plane = g_new (float, (gsize) c->sw * c->sh);
  g_autofree float *pred = g_new (float, (gsize) c->sw * c->sh);
  g_autoptr(BsVolume) prob = bs_volume_new_like (c->truth, 1);
  BsConfusion conf = { 0 };

  bs_train_graph_get_size (g, &batch, &ph, &pw);
  pix = (gsize) ph * pw;
  input = g_new (float, batch * nch * pix);
  probs = g_new (float, batch * pix);
  for (int first = 0; first < n_slices; first += batch)
    {
      int n = MIN (batch, n_slices - first);

      for (int b = 0; b < n; b++)
        for (int k = 0; k < nch; k++)
          {
            bs_volume_get_slice (c->image, k, BS_PLANE_AXIAL, first + b, plane);
            centre (plane, c->sw, c->sh, input + ((gsize) b * nch + k) * pix, pw, ph);
          }
      if (!bs_train_graph_forward (g, input, n, FALSE, probs, error))
        return FALSE;
      for (int b = 0; b < n; b++)
        {
          centre (probs + b * pix, pw, ph, pred, c->sw, c->sh);
          bs_volume_set_slice (prob, 0, BS_PLANE_AXIAL, first + b, pred);
        }
    }
  bs_confusion_add (&conf, prob->data, c->truth->data, bs_volume_n_voxels (prob));
  result->dice_raw = bs_confusion_dice (&conf);
  /* the same island clean-up as brainseg-cli infer and the window */
  if (!bs_volume_remove_islands (prob, BS_CLEANUP_MIN_FRACTION, NULL))
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("%s: out of memory for the island clean-up"), c->id);
      return FALSE;
    }
  memset (&conf, 0, sizeof conf);
  bs_confusion_add (&conf, prob->data, c->truth->data, bs_volume_n_voxels (prob));
  result->id = g_strdup (c->id);
  result->dice = bs_confusion_dice (&conf);
  result->truth_voxels = conf.tp + conf.fn;
  result->predicted_voxels = conf.tp + conf.fp;
  return TRUE;
}

gboolean
bs_train_evaluate_case (BsUnet *net, BsTrainSet *set, guint i, int threads, BsTrainCaseResult *result,
                        GError **error)
{
  const BsTrainCase *c = g_ptr_array_index (set->cases, i);
  g_autoptr(BsTrainGraph) g = NULL;

  if (threads > 0)
    omp_set_num_threads (threads);
  g = bs_train_graph_new (net, BS_TRAIN_EVAL_BATCH, (c->sh + 15) / 16 * 16, (c->sw + 15) / 16 * 16,
                          error);
  return g && evaluate_case (g, c, result, error);
}

/* ---- validation ---- */

typedef struct {
  int n;
  float *input, *target, *probs;
} ValSet;

static void
val_pick (GArray *from, int want, GArray *to)
{
  if (want >= (int) from->len)
    {
      g_array_append_vals (to, from->data, from->len);
      return;
    }
  for (int k = 0; k < want; k++)
    {
      guint idx = (guint) (((gsize) k * from->len) / want);
      g_array_append_val (to, g_array_index (from, BsTrainSliceRef, idx));
    }
}

/* Fixed validation slices (centre crops, no augmentation): tumour and healthy
 * slices evenly spaced through the cases, half and half when capped. */
static void
val_build (BsTrainSet *set, BsTrainSplit split, int cap, int crop, int nch, ValSet *v)
{
  g_autoptr(GArray) tumour = g_array_new (FALSE, FALSE, sizeof (BsTrainSliceRef));
  g_autoptr(GArray) other = g_array_new (FALSE, FALSE, sizeof (BsTrainSliceRef));
  g_autoptr(GArray) pick = g_array_new (FALSE, FALSE, sizeof (BsTrainSliceRef));
  gsize pix = (gsize) crop * crop;

  bs_train_slice_list_build (set, split, tumour, other);
  if (cap <= 0 || (int) (tumour->len + other->len) <= cap)
    {
      val_pick (tumour, tumour->len, pick);
      val_pick (other, other->len, pick);
    }
  else
    {
      int nt = MIN ((int) tumour->len, cap / 2 + cap % 2);
      val_pick (tumour, nt, pick);
      val_pick (other, cap - nt, pick);
    }
  v->n = pick->len;
  v->input = g_new (float, MAX (v->n, 1) * nch * pix);
  v->target = g_new (float, MAX (v->n, 1) * pix);
  v->probs = g_new (float, MAX (v->n, 1) * pix);
  for (int i = 0; i < v->n; i++)
    bs_train_fill_slice (&g_array_index (pick, BsTrainSliceRef, i), crop, NULL, FALSE, 0.0,
                         v->input + (gsize) i * nch * pix, v->target + (gsize) i * pix);
}

static void
val_clear (ValSet *v)
{
  g_free (v->input);
  g_free (v->target);
  g_free (v->probs);
  memset (v, 0, sizeof *v);
}

static gboolean
val_run (BsTrainGraph *g, const ValSet *v, int nch, BsTrainLoss loss, double weight_dice, double *val_loss,
         double *val_dice, GError **error)
{
  int batch, h, w;
  gsize pix;

  bs_train_graph_get_size (g, &batch, &h, &w);
  pix = (gsize) h * w;
  for (int first = 0; first < v->n; first += batch)
    {
      int n = MIN (batch, v->n - first);
      if (!bs_train_graph_forward (g, v->input + (gsize) first * nch * pix, n, FALSE, v->probs + first * pix, error))
        return FALSE;
    }
  *val_loss = bs_train_loss (loss, weight_dice, v->probs, v->target, v->n * pix, NULL);
  *val_dice = bs_dice (v->probs, v->target, v->n * pix);
  return TRUE;
}

/* ---- progress ---- */

typedef struct {
  FILE *out;
  gboolean tty;
  double start_ms;
  double spent_ms;      /* drawing time: the "visualisation" stage */
  int total_steps;
  int done_steps;
  double last_val_dice;
} Progress;

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
progress_step (Progress *p, int epoch, int epochs, int step, int steps, double loss)
{
  double t0 = bs_now_ms (), elapsed = (t0 - p->start_ms) / 1000.0;
  double eta = p->done_steps > 0 ? elapsed / p->done_steps * (p->total_steps - p->done_steps) : 0.0;
  char eta_s[32], val_s[32];

  if (!p->out)
    return;
  format_duration (eta, eta_s, sizeof eta_s);
  if (isnan (p->last_val_dice))
    g_strlcpy (val_s, "  -  ", sizeof val_s);
  else
    g_snprintf (val_s, sizeof val_s, "%.3f", p->last_val_dice);
  if (p->tty)
    {
      char bar[21];
      int fill = steps > 0 ? step * 20 / steps : 20;
      for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
      bar[20] = 0;
      fprintf (p->out, _("\rEpoch %d/%d [%s] step %d/%d  ETA %s  loss %.4f  val Dice %s "), epoch, epochs, bar,
               step, steps, eta_s, loss, val_s);
      fflush (p->out);
    }
  else if (step == steps || step % MAX (1, steps / 4) == 0)
    {
      fprintf (p->out, _("epoch %d/%d step %d/%d  ETA %s  loss %.4f  val Dice %s\n"), epoch, epochs, step, steps,
               eta_s, loss, val_s);
      fflush (p->out);
    }
  p->spent_ms += bs_now_ms () - t0;
}

static void
progress_epoch (Progress *p, int epoch, int epochs, double train_loss, double val_loss, double val_dice,
                double epoch_s, gboolean best)
{
  double t0 = bs_now_ms ();

  if (!p->out)
    return;
  if (p->tty)
    fputc ('\n', p->out);
  fprintf (p->out, _("epoch %d/%d done in %.0f s: train loss %.4f  val loss %.4f  val Dice %.3f%s\n"), epoch, epochs,
           epoch_s, train_loss, val_loss, val_dice, best ? _("  (best, saved)") : "");
  fflush (p->out);
  p->spent_ms += bs_now_ms () - t0;
}

/* ---- the loop ---- */

static BsUnet *
initial_net (BsTrainSet *set, const BsTrainOptions *opts, GError **error)
{
  int nch = (int) g_strv_length (set->modalities);
  BsUnetConfig cfg = { 0 };
  BsUnet *net;

  if (opts->resume)
    {
      net = bs_unet_load_h5 (opts->resume, error);
      if (!net)
        return NULL;
      if (net->config.in_channels != nch)
        {
          g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                       _("%s takes %d input channels but %d modalities were asked for"), opts->resume,
                       net->config.in_channels, nch);
          bs_unet_free (net);
          return NULL;
        }
      if (net->config.upsample != BS_UPSAMPLE_TRANSPOSED)
        {
          g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                       _("%s uses nearest upsampling, which the trainer cannot train"), opts->resume);
          bs_unet_free (net);
          return NULL;
        }
    }
  else
    {
      cfg.fms = opts->fms;
      cfg.in_channels = nch;
      cfg.upsample = BS_UPSAMPLE_TRANSPOSED;
      net = bs_unet_new_random (&cfg, opts->seed);
    }
  g_strfreev (net->config.modalities);
  net->config.modalities = g_strdupv (set->modalities);
  g_free (net->config.normalisation);
  net->config.normalisation = g_strdup ("zscore-foreground");
  net->config.crop = opts->crop;
  return net;
}

gboolean
bs_train_run (BsTrainSet *set, const BsTrainOptions *opts, FILE *out, BsTrainReport *report,
              GCancellable *cancellable, GError **error)
{
  int nch = (int) g_strv_length (set->modalities), crop = opts->crop, batch = opts->batch;
  gsize pix = (gsize) crop * crop;
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(BsUnet) best = NULL;
  g_autoptr(BsTrainGraph) g = NULL;
  g_autoptr(BsAdam) adam = NULL;
  g_autofree float *input = NULL;
  g_autofree float *target = NULL;
  BsTrainSampler sampler;
  ValSet val = { 0 };
  Progress prog = { 0 };
  int steps_per_epoch, wait = 0;
  double t0, t_train;
  gboolean ok = FALSE;

  if (crop <= 0 || crop % 16 != 0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("The crop must be a positive multiple of 16 (128 or 144), not %d"), crop);
      return FALSE;
    }
  if (batch < 1 || opts->epochs < 0 || opts->lr <= 0.0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("Batch, epochs and learning rate must be positive"));
      return FALSE;
    }
  if (!opts->out)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("No output file for the trained weights"));
      return FALSE;
    }
  if (opts->threads > 0)
    omp_set_num_threads (opts->threads);
  if (!report->test)
    report->test = g_array_new (FALSE, TRUE, sizeof (BsTrainCaseResult));

  t0 = bs_now_ms ();
  bs_train_sampler_init (&sampler, set, opts->seed);
  if (sampler.n_total == 0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("The training cases have no slices with brain"));
      bs_train_sampler_clear (&sampler);
      return FALSE;
    }
  val_build (set, BS_TRAIN_SPLIT_VALIDATION, opts->val_slices, crop, nch, &val);
  if (val.n == 0)
    {
      /* Too few cases for a validation split: select on training slices. */
      val_clear (&val);
      val_build (set, BS_TRAIN_SPLIT_TRAIN, opts->val_slices, crop, nch, &val);
      if (out)
        fprintf (out, "%s\n", _("No validation cases: the checkpoint is chosen on training slices."));
    }
  bs_timing_add_stage (&report->stages, "stratification", bs_now_ms () - t0);

  t_train = bs_now_ms ();
  net = initial_net (set, opts, error);
  if (!net)
    goto out;
  g = bs_train_graph_new (net, batch, crop, crop, error);
  if (!g)
    goto out;
  bs_train_graph_set_dropout (g, opts->dropout, opts->seed);
  adam = bs_adam_new (net, opts->lr);
  input = g_new (float, (gsize) batch * nch * pix);
  target = g_new (float, (gsize) batch * pix);
  steps_per_epoch = opts->steps_per_epoch > 0 ? opts->steps_per_epoch : (int) ((sampler.n_total + batch - 1) / batch);
  report->best_val_loss = INFINITY;
  report->best_epoch = 0;

  prog.out = out;
  prog.tty = opts->progress_tty;
  prog.start_ms = bs_now_ms ();
  prog.total_steps = steps_per_epoch * opts->epochs;
  prog.last_val_dice = NAN;
  if (out)
    fprintf (out, _("Training on %u slices (%u with tumour), validating on %d; %d steps of %d per epoch\n"),
             sampler.n_total, sampler.tumour->len, val.n, steps_per_epoch, batch);

  if (opts->epochs == 0)
    {
      double vl, vd;
      if (!val_run (g, &val, nch, opts->loss, opts->weight_dice, &vl, &vd, error))
        goto out;
      report->best_val_loss = vl;
      report->best_val_dice = vd;
      best = bs_unet_copy (net);
    }

  for (int epoch = 1; epoch <= opts->epochs; epoch++)
    {
      double sum = 0.0, e0 = bs_now_ms (), val_loss, val_dice;
      gboolean improved;

      for (int step = 1; step <= steps_per_epoch; step++)
        {
          double loss;

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            goto out;
          bs_train_sampler_next (&sampler, batch, crop, opts->augment, BS_TRAIN_OFFSET_RATIO, input, target, nch);
          if (!bs_train_graph_forward (g, input, batch, TRUE, NULL, error)
              || !bs_train_graph_backward (g, target, batch, opts->loss, opts->weight_dice, &loss, error))
            goto out;
          if (!isfinite (loss))
            {
              g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                           _("The loss diverged at epoch %d step %d; try a lower learning rate"), epoch, step);
              goto out;
            }
          bs_adam_step (adam, net, g);
          sum += loss;
          report->steps++;
          prog.done_steps++;
          progress_step (&prog, epoch, opts->epochs, step, steps_per_epoch, sum / step);
        }
      sum /= steps_per_epoch;
      if (epoch == 1)
        report->first_train_loss = sum;
      report->last_train_loss = sum;
      report->epochs_run = epoch;

      if (!val_run (g, &val, nch, opts->loss, opts->weight_dice, &val_loss, &val_dice, error))
        goto out;
      prog.last_val_dice = val_dice;
      improved = val_loss < report->best_val_loss;
      if (improved)
        {
          report->best_val_loss = val_loss;
          report->best_val_dice = val_dice;
          report->best_epoch = epoch;
          g_clear_pointer (&best, bs_unet_free);
          best = bs_unet_copy (net);
          g_free (best->description);
          best->description = g_strdup_printf (
            "Brainseg trainer: epoch %d of %d, batch %d, crop %d, lr %g, loss %s, validation loss %.4f, "
            "validation Dice %.3f", epoch, opts->epochs, batch, crop, opts->lr, bs_train_loss_name (opts->loss),
            val_loss, val_dice);
          if (!bs_unet_save_h5 (best, opts->out, error))
            goto out;
          wait = 0;
        }
      else
        wait++;
      progress_epoch (&prog, epoch, opts->epochs, sum, val_loss, val_dice, (bs_now_ms () - e0) / 1000.0, improved);
      if (opts->patience > 0 && wait >= opts->patience)
        {
          if (out)
            fprintf (out, _("No better validation loss for %d epochs: stopping early.\n"), wait);
          break;
        }
    }
  if (opts->epochs == 0 && !bs_unet_save_h5 (best, opts->out, error))
    goto out;
  report->train_ms = bs_now_ms () - t_train - prog.spent_ms;
  bs_timing_add_stage (&report->stages, "training", report->train_ms);

  /* Test cases through the best weights, whole volumes, full slices. */
  t0 = bs_now_ms ();
  g_clear_pointer (&g, bs_train_graph_free);
  for (guint i = 0; i < set->cases->len; i++)
    {
      BsTrainCaseResult r = { 0 };
      if (bs_train_set_get_case_split (set, i) != BS_TRAIN_SPLIT_TEST)
        continue;
      if (!bs_train_evaluate_case (best, set, i, opts->threads, &r, error))
        goto out;
      g_array_append_val (report->test, r);
    }
  bs_timing_add_stage (&report->stages, "prediction", bs_now_ms () - t0);
  bs_timing_add_stage (&report->stages, "visualisation", prog.spent_ms);
  ok = TRUE;

out:
  bs_train_sampler_clear (&sampler);
  val_clear (&val);
  return ok;
}

void
bs_train_report_print (const BsTrainReport *report, FILE *out)
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
    fprintf (out, _("\n%d epochs, %d steps; best epoch %d: validation loss %.4f, validation Dice %.3f\n"),
             report->epochs_run, report->steps, report->best_epoch, report->best_val_loss, report->best_val_dice);
  if (report->test && report->test->len > 0)
    {
      fprintf (out, "\n%-28s %8s %8s %14s %14s\n", _("Test case"), _("Dice"), _("raw"), _("truth voxels"),
               _("predicted"));
      for (guint i = 0; i < report->test->len; i++)
        {
          const BsTrainCaseResult *r = &g_array_index (report->test, BsTrainCaseResult, i);
          fprintf (out, "%-28s %8.4f %8.4f %14" G_GSIZE_FORMAT " %14" G_GSIZE_FORMAT "\n", r->id, r->dice, r->dice_raw,
                   r->truth_voxels, r->predicted_voxels);
        }
    }
}
