/* The training loop: epochs of stratified, augmented batches, validation after
 * each epoch, the best-validation-loss checkpoint and the resumable state,
 * early stopping, then the test cases.  How it goes reaches the caller
 * through its progress callback: nothing here prints. */
#include <glib/gi18n.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "bs-error.h"
#include "bs-plan.h"
#include "bs-runtime.h"
#include "bs-train-private.h"

/* How far (as a share of the centring margin) a training crop may wander. */
#define BS_TRAIN_OFFSET_RATIO 0.75

/* One run, from the checked options to the saved best weights. */
typedef struct {
  BsTrainSet *set;
  BsTrainOptions o;              /* the caller's, with a resumed state's own options */
  const BsTrainState *resumed;   /* o.resume's training state, or NULL */
  BsTrainReport *report;
  BsTrainProgressFunc progress;
  gpointer progress_data;
  int nch;                       /* modalities */
  int nin;                       /* input planes a slice: nch x (1 + 2 o.context) */
  gsize pix;                     /* o.crop squared */
  BsUnet *net;                   /* the weights the optimiser moves */
  BsUnet *best;                  /* what opts->out gets, or NULL before the first validation */
  BsUnet *mean;                  /* running mean of the end-of-epoch weights, once averaging */
  BsUnet *current;               /* net's own weights while net holds the mean for validation */
  int mean_count;                /* end-of-epoch weights in mean (0: not averaging yet) */
  BsTrainGraph *g;
  BsAdam *adam;
  BsTrainSampler sampler;
  BsTrainValSet val;
  BsTrainState st;               /* what the state file gets after every epoch */
  char *state_path;
  BsTrainOutputs outputs;        /* the regions the network learns (o.outputs) */
  float *input, *target, *valid; /* one batch: inputs, a target plane and a valid flag per output */
  int steps_per_epoch;
  int start_epoch;               /* epochs done before this run */
  int wait;                      /* epochs since the best validation loss */
  gboolean saved_out;            /* opts->out holds this run's best */
  double t_train;                /* when the "training" stage began */
  double start_ms;               /* of the first step, for the ETA */
  int total_steps, done_steps;
  double last_val_dice;          /* NAN before the first validation */
} Run;

static void
run_clear (Run *r)
{
  g_clear_pointer (&r->g, bs_train_graph_free);
  g_clear_pointer (&r->adam, bs_adam_free);
  g_clear_pointer (&r->net, bs_unet_free);
  g_clear_pointer (&r->best, bs_unet_free);
  g_clear_pointer (&r->mean, bs_unet_free);
  g_clear_pointer (&r->current, bs_unet_free);
  bs_train_sampler_clear (&r->sampler);
  bs_train_val_clear (&r->val);
  bs_train_state_clear (&r->st);
  g_clear_pointer (&r->state_path, g_free);
  g_clear_pointer (&r->input, g_free);
  g_clear_pointer (&r->target, g_free);
  g_clear_pointer (&r->valid, g_free);
}

static void
emit (Run *r, BsTrainEvent event)
{
  if (r->progress)
    r->progress (&event, r->progress_data);
}

/* A copy of from with a head of the given regions: every other layer as it
 * is; each output row (weights and bias) from from's output of the same
 * region, or from its whole-tumour row (output 0), since the core and the
 * enhancing tumour lie inside the whole tumour. */
static BsUnet *
with_outputs (const BsUnet *from, const BsTrainOutputs *outputs)
{
  BsUnetConfig cfg = { 0 };
  BsUnet *net;
  const BsUnetLayer *src = NULL;
  BsUnetLayer *dst;

  bs_unet_config_copy (&cfg, &from->config);
  g_strfreev (cfg.outputs);
  cfg.outputs = g_new0 (char *, outputs->n + 1);
  for (int k = 0; k < outputs->n; k++)
    cfg.outputs[k] = g_strdup (bs_region_name (outputs->r[k]));
  cfg.out_channels = outputs->n;
  net = bs_unet_new_random (&cfg, 0);
  bs_unet_config_clear (&cfg);
  for (int i = 0; i < net->n_layers; i++)
    {
      BsUnetLayer *L = &net->layers[i];
      const BsUnetLayer *F = &from->layers[i];
      if (L->kind == BS_LAYER_CONV1X1_SIGMOID)
        {
          src = F;
          continue;
        }
      memcpy (L->weights, F->weights, (gsize) L->out_ch * L->in_ch * L->kh * L->kw * sizeof (float));
      memcpy (L->bias, F->bias, (gsize) L->out_ch * sizeof (float));
    }
  dst = bs_unet_find_layer (net, "PredictionMask");
  for (int k = 0; k < outputs->n && src; k++)
    {
      int row = MAX (bs_unet_output_index (from, bs_region_name (outputs->r[k])), 0);
      gsize rn = (gsize) dst->in_ch * dst->kh * dst->kw;
      memcpy (dst->weights + k * rn, src->weights + row * rn, rn * sizeof (float));
      dst->bias[k] = src->bias[row];
    }
  net->path = g_strdup (from->path);
  net->description = g_strdup (from->description);
  return net;
}

static gboolean
same_outputs (const BsTrainOutputs *a, const BsTrainOutputs *b)
{
  if (a->n != b->n)
    return FALSE;
  for (int k = 0; k < a->n; k++)
    if (a->r[k] != b->r[k])
      return FALSE;
  return TRUE;
}

/* continuing: opts->resume is a training state, whose run must keep its
 * modalities (and its regions, which run_setup checked). */
static BsUnet *
initial_net (BsTrainSet *set, const BsTrainOptions *opts, const BsTrainOutputs *outputs, gboolean continuing,
             GError **error)
{
  int nch = (int) g_strv_length (set->modalities);
  BsUnetConfig cfg = { 0 };
  BsUnet *net;

  if (opts->resume)
    {
      const char *path = bs_train_checkpoint_get_path (opts->resume);

      net = bs_unet_copy (bs_train_checkpoint_get_net (opts->resume));
      /* a stored int8 calibration is of these weights, which training changes */
      bs_unet_set_calibration (net, NULL, 0);
      if (net->config.in_channels != nch)
        {
          g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                       _("%s takes %d input channels but %d modalities were asked for"), path,
                       net->config.in_channels, nch);
          bs_unet_free (net);
          return NULL;
        }
      if (net->config.upsample != BS_UPSAMPLE_TRANSPOSED)
        {
          g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                       _("%s uses nearest upsampling, which the trainer cannot train"), path);
          bs_unet_free (net);
          return NULL;
        }
      if (continuing && net->config.modalities
          && !g_strv_equal ((const char *const *) net->config.modalities, (const char *const *) set->modalities))
        {
          g_autofree char *was = g_strjoinv (",", net->config.modalities);
          g_autofree char *now = g_strjoinv (",", set->modalities);
          g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                       _("%s continues a run on the modalities %s, not %s; give --modalities %s"), path,
                       was, now, was);
          bs_unet_free (net);
          return NULL;
        }
      {
        BsTrainOutputs had;
        if (!continuing && (!bs_train_outputs_from_net (net, &had) || !same_outputs (&had, outputs)))
          {
            BsUnet *adapted = with_outputs (net, outputs);
            bs_unet_free (net);
            net = adapted;
          }
      }
      if (!continuing && net->config.context != opts->context)
        {
          /* 2.5D from 2D weights: the new neighbour inputs start at zero. */
          BsUnet *wide = bs_unet_with_context (net, opts->context);
          bs_unet_free (net);
          net = wide;
        }
    }
  else
    {
      cfg.fms = opts->fms;
      cfg.in_channels = nch;
      cfg.context = opts->context;
      cfg.upsample = BS_UPSAMPLE_TRANSPOSED;
      cfg.out_channels = outputs->n;
      cfg.outputs = g_new0 (char *, outputs->n + 1);
      for (int k = 0; k < outputs->n; k++)
        cfg.outputs[k] = g_strdup (bs_region_name (outputs->r[k]));
      net = bs_unet_new_random (&cfg, opts->seed);
      g_strfreev (cfg.outputs);
    }
  g_strfreev (net->config.modalities);
  net->config.modalities = g_strdupv (set->modalities);
  g_free (net->config.normalisation);
  net->config.normalisation = g_strdup ("zscore-foreground");
  net->config.crop = opts->crop;
  return net;
}

/* The case ids of each split, as a checkpoint records them. */
static void
split_ids (BsTrainSet *set, char **ids[3])
{
  for (int k = 0; k < 3; k++)
    {
      g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
      for (guint i = 0; i < set->cases->len; i++)
        if ((int) bs_train_set_get_case_split (set, i) == k)
          g_strv_builder_add (b, bs_train_set_get_case_id (set, i));
      ids[k] = g_strv_builder_end (b);
    }
}

static gboolean
same_split (const char *path, const BsTrainState *was, char **now[3], GError **error)
{
  static const char *const names[] = { N_("training"), N_("validation"), N_("test") };

  for (int k = 0; k < 3; k++)
    if (!g_strv_equal ((const char *const *) was->case_ids[k], (const char *const *) now[k]))
      {
        g_autofree char *a = g_strjoinv (" ", was->case_ids[k]);
        g_autofree char *b = g_strjoinv (" ", now[k]);
        g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                     _("%s continues a run whose %s cases were [%s], not [%s]; give the same datasets and case "
                       "lists as that run"),
                     path, _(names[k]), a, b);
        return FALSE;
      }
  return TRUE;
}

/* The regions the run learns: those asked for, else those of the weights it
 * starts from, else WT.  A resumed run keeps its own. */
static gboolean
run_outputs (Run *r, GError **error)
{
  BsTrainOutputs had = { 1, { BS_REGION_WT } };
  const char *path = r->o.resume ? bs_train_checkpoint_get_path (r->o.resume) : NULL;

  if (r->o.resume && !bs_train_outputs_from_net (bs_train_checkpoint_get_net (r->o.resume), &had))
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("%s: its outputs are not regions the trainer knows (wt, tc, et, whole tumour first)"), path);
      return FALSE;
    }
  if (r->o.n_outputs <= 0)
    {
      r->o.n_outputs = had.n;
      memcpy (r->o.outputs, had.r, sizeof had.r);
    }
  r->outputs.n = r->o.n_outputs;
  memcpy (r->outputs.r, r->o.outputs, sizeof r->outputs.r);
  if (r->resumed && !same_outputs (&had, &r->outputs))
    {
      g_autofree char *was = bs_train_regions_to_string (had.r, had.n);
      g_autofree char *now = bs_train_regions_to_string (r->outputs.r, r->outputs.n);
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("%s continues a run on the regions %s, not %s; give --regions %s (or leave it out) to resume "
                     "it, or fine-tune its best weights instead"),
                   path, was, now, was);
      return FALSE;
    }
  return TRUE;
}

/* The options the run goes by (a resumed state's own), checked, and the
 * split it records, checked against a resumed run's. */
static gboolean
run_setup (Run *r, const BsTrainOptions *opts, GError **error)
{
  if (!opts->out)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("No output file for the trained weights"));
      return FALSE;
    }
  if (opts->figures && !bs_train_check_figures_dir (opts->figures, error))
    return FALSE;
  r->o = *opts;
  if (opts->resume)
    {
      r->resumed = bs_train_checkpoint_get_state (opts->resume);
      bs_train_checkpoint_apply_options (opts->resume, &r->o);
    }
  if (!run_outputs (r, error))
    return FALSE;
  r->st.opts = r->o;
  r->st.opts.resume = NULL;
  r->st.opts.out = r->st.opts.figures = NULL;
  r->nch = (int) g_strv_length (r->set->modalities);
  /* A resumed run keeps its network's slices; fine-tuning keeps those of the
   * weights unless --context says otherwise. */
  if (r->resumed || r->o.context < 0)
    r->o.context = r->o.resume ? bs_train_checkpoint_get_net (r->o.resume)->config.context : 0;
  if (r->o.context > BS_UNET_MAX_CONTEXT)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("At most %d neighbouring slices on each side can be given to the network, not %d"),
                   BS_UNET_MAX_CONTEXT, r->o.context);
      return FALSE;
    }
  r->nin = r->nch * (1 + 2 * r->o.context);
  r->pix = (gsize) r->o.crop * r->o.crop;
  if (r->o.crop <= 0 || r->o.crop % 16 != 0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("The crop must be a positive multiple of 16 (128 or 144), not %d"), r->o.crop);
      return FALSE;
    }
  if (r->o.batch < 1 || r->o.epochs < 0 || r->o.lr <= 0.0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("Batch, epochs and learning rate must be positive"));
      return FALSE;
    }
  split_ids (r->set, r->st.case_ids);
  return !r->resumed
         || same_split (bs_train_checkpoint_get_path (opts->resume), r->resumed, r->st.case_ids, error);
}

/* The sampler and the fixed validation slices (the "stratification" stage). */
static gboolean
run_prepare_data (Run *r, GError **error)
{
  double t0;

  if (!bs_train_set_check_modalities (r->set, error))
    return FALSE;
  /* 0: the cores other programs leave free, judged once at the start. */
  omp_set_num_threads (r->o.threads > 0 ? r->o.threads : bs_runtime_auto_threads (bs_cpu_cores ()));
  if (!r->report->test)
    r->report->test = g_array_new (FALSE, TRUE, sizeof (BsTrainCaseResult));
  r->state_path = bs_train_state_path_for (r->o.out);

  t0 = bs_now_ms ();
  bs_train_sampler_init (&r->sampler, r->set, r->o.seed);
  if (r->o.train_planes)
    bs_train_sampler_add_planes (&r->sampler, r->set);
  r->sampler.outputs = r->outputs;
  r->sampler.context = r->o.context;
  r->sampler.aug = (BsTrainAug) { .offset_ratio = BS_TRAIN_OFFSET_RATIO, .core_flair_p = r->o.core_flair_aug,
                                  .jitter = r->o.intensity_jitter, .modality_dropout = r->o.modality_dropout,
                                  .bias_field = r->o.bias_field };
  if (r->sampler.n_total == 0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("The training cases have no slices with brain"));
      return FALSE;
    }
  bs_train_val_build (r->set, BS_TRAIN_SPLIT_VALIDATION, r->o.val_slices, r->o.crop, r->nch, r->o.context, &r->outputs,
                      &r->val);
  if (r->val.n == 0)
    {
      /* Too few cases for a validation split: select on training slices. */
      bs_train_val_clear (&r->val);
      bs_train_val_build (r->set, BS_TRAIN_SPLIT_TRAIN, r->o.val_slices, r->o.crop, r->nch, r->o.context,
                          &r->outputs, &r->val);
      emit (r, (BsTrainEvent) { .kind = BS_TRAIN_EVENT_NO_VALIDATION });
    }
  bs_timing_add_stage (&r->report->stages, "stratification", bs_now_ms () - t0);
  return TRUE;
}

/* Where a resumed run stopped: optimiser, generators, sampler, best and
 * averaged weights, the report so far. */
static gboolean
run_restore (Run *r, GError **error)
{
  const BsTrainCheckpoint *cp = r->o.resume;
  const BsTrainState *st = r->resumed;
  BsTrainReport *report = r->report;

  r->best = bs_unet_copy (r->net);
  r->mean = bs_unet_copy (r->net);
  if (!bs_train_checkpoint_restore_sampler (cp, &r->sampler, r->set, error))
    return FALSE;
  bs_train_checkpoint_restore_arrays (cp, r->adam, r->best, r->mean);
  r->mean_count = st->mean_count;
  if (r->mean_count == 0)
    g_clear_pointer (&r->mean, bs_unet_free);
  bs_adam_set_step (r->adam, st->steps);
  bs_train_graph_set_rng_state (r->g, st->dropout_rng);
  r->start_epoch = st->epoch;
  r->wait = st->bad_epochs;
  report->resumed_epoch = st->epoch;
  report->epochs_run = st->epoch;
  report->steps = st->steps;
  report->best_epoch = st->best_epoch;
  report->best_val_loss = st->best_val_loss;
  report->best_val_dice = st->best_val_dice;
  report->best_val_region_dice[BS_REGION_WT] = st->best_val_dice;
  report->first_train_loss = st->first_train_loss;
  report->last_train_loss = st->last_train_loss;
  g_free (r->best->description);
  r->best->description = g_strdup (st->best_description);
  emit (r, (BsTrainEvent) { .kind = BS_TRAIN_EVENT_RESUMED,
                            .resumed = { bs_train_checkpoint_get_path (cp), st->epoch, st->steps, r->o.epochs } });
  return TRUE;
}

/* Weights, graph and optimiser: new, fine-tuned from weights, or resumed. */
static gboolean
run_build_model (Run *r, GError **error)
{
  r->t_train = bs_now_ms ();
  r->net = initial_net (r->set, &r->o, &r->outputs, r->resumed != NULL, error);
  if (!r->net)
    return FALSE;
  r->g = bs_train_graph_new_lanes (r->net, r->o.batch, r->o.crop, r->o.crop, bs_train_options_lanes (&r->o), error);
  if (!r->g)
    return FALSE;
  bs_train_graph_set_dropout (r->g, r->o.dropout, r->o.seed);
  bs_train_graph_set_weight_wt (r->g, r->o.weight_wt);
  r->adam = bs_adam_new (r->net, r->o.lr);
  r->report->best_val_loss = INFINITY;
  r->report->best_epoch = 0;
  for (int k = 0; k < BS_N_REGIONS; k++)
    r->report->best_val_region_dice[k] = NAN;
  if (r->resumed)
    return run_restore (r, error);
  if (r->o.resume)
    emit (r, (BsTrainEvent) { .kind = BS_TRAIN_EVENT_FINE_TUNING,
                              .fine_tuning.path = bs_train_checkpoint_get_path (r->o.resume) });
  return TRUE;
}

static gboolean
run_start (Run *r, GError **error)
{
  r->input = g_new (float, (gsize) r->o.batch * r->nin * r->pix);
  r->target = g_new (float, (gsize) r->o.batch * r->outputs.n * r->pix);
  r->valid = g_new (float, (gsize) r->o.batch * r->outputs.n);
  r->steps_per_epoch = r->o.steps_per_epoch > 0 ? r->o.steps_per_epoch
                                                 : (int) ((r->sampler.n_total + r->o.batch - 1) / r->o.batch);
  r->start_ms = bs_now_ms ();
  r->total_steps = r->steps_per_epoch * MAX (0, r->o.epochs - r->start_epoch);
  r->last_val_dice = NAN;
  emit (r, (BsTrainEvent) { .kind = BS_TRAIN_EVENT_START,
                            .start = { r->sampler.n_total, r->sampler.tumour->len, r->val.n, r->steps_per_epoch,
                                       r->o.batch } });

  /* No training: the starting weights are the best, with their validation loss. */
  if (r->o.epochs == 0 && !r->resumed)
    {
      if (!bs_train_val_run (r->g, &r->val, r->nin, r->o.loss, r->o.weight_dice, &r->report->best_val_loss,
                             &r->report->best_val_dice, r->report->best_val_region_dice, error))
        return FALSE;
      r->best = bs_unet_copy (r->net);
    }
  if (r->resumed && r->o.patience > 0 && r->wait >= r->o.patience)
    {
      emit (r, (BsTrainEvent) { .kind = BS_TRAIN_EVENT_EARLY_STOP, .early_stop.bad_epochs = r->wait });
      r->start_epoch = r->o.epochs;
    }
  return TRUE;
}

static void
emit_step (Run *r, int epoch, int step, double loss)
{
  double elapsed = (bs_now_ms () - r->start_ms) / 1000.0;
  double eta = r->done_steps > 0 ? elapsed / r->done_steps * (r->total_steps - r->done_steps) : 0.0;

  emit (r, (BsTrainEvent) { .kind = BS_TRAIN_EVENT_STEP,
                            .step = { epoch, r->o.epochs, step, r->steps_per_epoch, eta, loss, r->last_val_dice } });
}

/* The optimiser steps of one epoch; *train_loss their mean loss. */
static gboolean
train_epoch (Run *r, int epoch, double *train_loss, GCancellable *cancellable, GError **error)
{
  double sum = 0.0;

  for (int step = 1; step <= r->steps_per_epoch; step++)
    {
      double loss;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      bs_train_sampler_next (&r->sampler, r->o.batch, r->o.crop, r->o.augment, r->input, r->target, r->valid,
                             r->nch);
      if (!bs_train_graph_forward (r->g, r->input, r->o.batch, TRUE, NULL, error)
          || !bs_train_graph_backward_masked (r->g, r->target, r->valid, r->o.batch, r->o.loss, r->o.weight_dice,
                                              &loss, error))
        return FALSE;
      if (!isfinite (loss))
        {
          g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                       _("The loss diverged at epoch %d step %d; try a lower learning rate"), epoch, step);
          return FALSE;
        }
      bs_adam_step (r->adam, r->net, r->g);
      sum += loss;
      r->report->steps++;
      r->done_steps++;
      emit_step (r, epoch, step, sum / step);
    }
  *train_loss = sum / r->steps_per_epoch;
  return TRUE;
}

/* Validation of the weights this epoch offers: net's own, or from
 * average_from on the running mean of the end-of-epoch weights. */
static gboolean
validate_epoch (Run *r, int epoch, double *val_loss, double *val_dice, double *region_dice, GError **error)
{
  if (r->o.average_from > 0 && epoch >= r->o.average_from)
    {
      /* From here on the candidates for the best checkpoint are running
       * means of the weights, compared only with each other. */
      if (r->mean_count++ == 0)
        {
          r->mean = bs_unet_copy (r->net);
          emit (r, (BsTrainEvent) { .kind = BS_TRAIN_EVENT_AVERAGING, .averaging.epoch = epoch });
        }
      else
        bs_unet_mean_update (r->mean, r->net, r->mean_count);
      /* The graph reads net's arrays: validate the mean through them. */
      if (!r->current)
        r->current = bs_unet_copy (r->net);
      else
        bs_unet_copy_weights (r->current, r->net);
      bs_unet_copy_weights (r->net, r->mean);
    }
  if (!bs_train_val_run (r->g, &r->val, r->nin, r->o.loss, r->o.weight_dice, val_loss, val_dice, region_dice,
                         error))
    return FALSE;
  if (r->mean_count > 0)
    bs_unet_copy_weights (r->net, r->current);
  r->last_val_dice = *val_dice;
  return TRUE;
}

/* A better validation loss (or, while averaging, every epoch) makes the
 * validated weights the best and writes them to opts->out. */
static gboolean
keep_if_best (Run *r, int epoch, double val_loss, double val_dice, const double *region_dice, gboolean *improved,
              GError **error)
{
  BsTrainReport *report = r->report;
  const BsTrainOptions *o = &r->o;

  /* While averaging, every epoch's mean is saved: selecting among
   * nested means by a few validation slices would only pick noise. */
  *improved = r->mean_count > 0 || val_loss < report->best_val_loss;
  if (!*improved)
    {
      r->wait++;
      return TRUE;
    }
  report->best_val_loss = val_loss;
  report->best_val_dice = val_dice;
  memcpy (report->best_val_region_dice, region_dice, sizeof report->best_val_region_dice);
  report->best_epoch = epoch;
  g_clear_pointer (&r->best, bs_unet_free);
  r->best = bs_unet_copy (r->mean_count > 0 ? r->mean : r->net);
  g_free (r->best->description);
  if (r->mean_count > 0)
    r->best->description = g_strdup_printf (
      "Brainseg trainer: mean of the weights after epochs %d-%d of %d, batch %d, crop %d, lr %g, loss %s, "
      "validation loss %.4f, validation Dice %.3f", epoch - r->mean_count + 1, epoch, o->epochs, o->batch, o->crop,
      o->lr, bs_train_loss_name (o->loss), val_loss, val_dice);
  else
    r->best->description = g_strdup_printf (
      "Brainseg trainer: epoch %d of %d, batch %d, crop %d, lr %g, loss %s, validation loss %.4f, "
      "validation Dice %.3f", epoch, o->epochs, o->batch, o->crop, o->lr, bs_train_loss_name (o->loss),
      val_loss, val_dice);
  if (r->outputs.n > 1)
    {
      /* Which outputs the trainer taught, and how well each validated. */
      g_autofree char *regions = bs_train_regions_to_string (r->outputs.r, r->outputs.n);
      g_autoptr(GString) d = g_string_new (r->best->description);
      g_string_append_printf (d, "; regions %s, validation Dice", regions);
      for (int k = 0; k < r->outputs.n; k++)
        g_string_append_printf (d, " %s %.3f", bs_region_name (r->outputs.r[k]), region_dice[r->outputs.r[k]]);
      g_free (r->best->description);
      r->best->description = g_string_free (g_steal_pointer (&d), FALSE);
    }
  if (!bs_unet_save_h5 (r->best, o->out, error))
    return FALSE;
  r->saved_out = TRUE;
  r->wait = 0;
  return TRUE;
}

/* The resumable state of this epoch, beside the best weights. */
static gboolean
save_state (Run *r, int epoch, GError **error)
{
  BsTrainState *st = &r->st;
  const BsTrainReport *report = r->report;

  st->epoch = epoch;
  st->steps = report->steps;
  st->best_epoch = report->best_epoch;
  st->best_val_loss = report->best_val_loss;
  st->best_val_dice = report->best_val_dice;
  st->bad_epochs = r->wait;
  st->first_train_loss = report->first_train_loss;
  st->last_train_loss = report->last_train_loss;
  st->sampler_rng = r->sampler.rand.state;
  st->dropout_rng = bs_train_graph_get_rng_state (r->g);
  st->pos_tumour = r->sampler.pos_tumour;
  st->pos_other = r->sampler.pos_other;
  st->mean_count = r->mean_count;
  g_free (st->best_description);
  st->best_description = g_strdup (r->best ? r->best->description : NULL);
  return bs_train_state_save (r->state_path, r->net, r->best ? r->best : r->net, r->mean, r->adam, &r->sampler,
                              r->set, st, error);
}

static gboolean
run_epochs (Run *r, GCancellable *cancellable, GError **error)
{
  for (int epoch = r->start_epoch + 1; epoch <= r->o.epochs; epoch++)
    {
      double e0 = bs_now_ms (), train_loss, val_loss, val_dice, region_dice[BS_N_REGIONS];
      BsTrainEvent ev = { .kind = BS_TRAIN_EVENT_EPOCH };
      gboolean improved;

      if (!train_epoch (r, epoch, &train_loss, cancellable, error))
        return FALSE;
      if (epoch == 1)
        r->report->first_train_loss = train_loss;
      r->report->last_train_loss = train_loss;
      r->report->epochs_run = epoch;
      if (!validate_epoch (r, epoch, &val_loss, &val_dice, region_dice, error)
          || !keep_if_best (r, epoch, val_loss, val_dice, region_dice, &improved, error)
          || !save_state (r, epoch, error))
        return FALSE;
      ev.epoch.epoch = epoch;
      ev.epoch.epochs = r->o.epochs;
      ev.epoch.seconds = (bs_now_ms () - e0) / 1000.0;
      ev.epoch.train_loss = train_loss;
      ev.epoch.val_loss = val_loss;
      ev.epoch.val_dice = val_dice;
      ev.epoch.best = improved;
      ev.epoch.mean_count = r->mean_count;
      memcpy (ev.epoch.val_region_dice, region_dice, sizeof region_dice);
      emit (r, ev);
      if (r->o.patience > 0 && r->wait >= r->o.patience)
        {
          emit (r, (BsTrainEvent) { .kind = BS_TRAIN_EVENT_EARLY_STOP, .early_stop.bad_epochs = r->wait });
          break;
        }
    }
  return TRUE;
}

static gboolean
run_finish (Run *r, GError **error)
{
  if (!r->best)
    r->best = bs_unet_copy (r->net);
  /* A resumed run that found nothing better still leaves its best weights in --out. */
  if (!r->saved_out && !bs_unet_save_h5 (r->best, r->o.out, error))
    return FALSE;
  r->report->train_ms = bs_now_ms () - r->t_train;
  bs_timing_add_stage (&r->report->stages, "training", r->report->train_ms);
  return TRUE;
}

gboolean
bs_train_run (BsTrainSet *set, const BsTrainOptions *opts, BsTrainProgressFunc progress, gpointer progress_data,
              BsTrainReport *report, GCancellable *cancellable, GError **error)
{
  Run r = { .set = set, .report = report, .progress = progress, .progress_data = progress_data };
  gboolean ok;

  ok = run_setup (&r, opts, error) && run_prepare_data (&r, error) && run_build_model (&r, error)
       && run_start (&r, error) && run_epochs (&r, cancellable, error) && run_finish (&r, error);
  if (ok)
    {
      /* Test cases through the best weights, whole volumes, full slices. */
      g_clear_pointer (&r.g, bs_train_graph_free);
      ok = bs_train_evaluate_tests (set, r.best, r.o.threads, bs_train_options_lanes (&r.o), opts->eval_three_planes,
                                    opts->figures, report, progress, progress_data, error);
    }
  run_clear (&r);
  return ok;
}
