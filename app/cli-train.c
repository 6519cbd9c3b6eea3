/* brainseg-cli train DATASET... --out model.h5 [options]
 * brainseg-cli train DATASET... --out model.h5 --folds K --fold I [--report R.json]   one cross-validation fold
 * brainseg-cli train --cv-summary R1.json R2.json...                                every fold in one table
 * brainseg-cli train --bench-step [--fms --batch --crop --threads]   one training step, timed
 * brainseg-cli train DATASET... --evaluate --resume model.h5          whole-volume Dice per case */
#include <glib/gi18n.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bs-error.h"
#include "bs-plan.h"
#include "bs-runtime.h"
#include "bs-phantom.h"
#include "bs-train.h"
#include "cli-train-progress.h"
#include "cli-train-report.h"
#include "cli.h"

static int
bench_step (const BsTrainOptions *opts, int n_mod, int repeats)
{
  BsUnetConfig cfg = { 0 };
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(BsTrainGraph) g = NULL;
  g_autoptr(BsAdam) adam = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GRand) r = g_rand_new_with_seed ((guint32) opts->seed);
  gsize pix = (gsize) opts->crop * opts->crop;
  g_autofree float *input = g_new (float, opts->batch * n_mod * pix);
  g_autofree float *target = g_new (float, opts->batch * pix);
  g_autofree double *times = g_new (double, repeats);
  double fwd_ms = 0, bwd_ms = 0, upd_ms = 0;

  omp_set_num_threads (opts->threads > 0 ? opts->threads : bs_runtime_auto_threads (bs_cpu_cores ()));
  cfg.fms = opts->fms;
  cfg.in_channels = n_mod;
  cfg.upsample = BS_UPSAMPLE_TRANSPOSED;
  net = bs_unet_new_random (&cfg, opts->seed);
  g = bs_train_graph_new_lanes (net, opts->batch, opts->crop, opts->crop, bs_train_options_lanes (opts), &error);
  if (!g)
    return bs_cli_fail (error);
  bs_train_graph_set_dropout (g, opts->dropout, opts->seed);
  adam = bs_adam_new (net, opts->lr);
  for (gsize i = 0; i < opts->batch * n_mod * pix; i++)
    input[i] = (float) g_rand_double_range (r, -2.0, 2.0);
  for (int b = 0; b < opts->batch; b++)
    for (int y = 0; y < opts->crop; y++)
      for (int x = 0; x < opts->crop; x++)
        {
          double dx = x - opts->crop / 2.0, dy = y - opts->crop / 2.0;
          target[(gsize) b * pix + y * opts->crop + x] = dx * dx + dy * dy < opts->crop * opts->crop / 16.0;
        }
  /* One untimed step: first-touch page faults and JIT code generation. */
  for (int it = -1; it < repeats; it++)
    {
      double t0 = bs_now_ms (), t1, t2, t3, loss;
      if (!bs_train_graph_forward (g, input, opts->batch, TRUE, NULL, &error))
        return bs_cli_fail (error);
      t1 = bs_now_ms ();
      if (!bs_train_graph_backward (g, target, opts->batch, opts->loss, opts->weight_dice, &loss, &error))
        return bs_cli_fail (error);
      t2 = bs_now_ms ();
      bs_adam_step (adam, net, g);
      t3 = bs_now_ms ();
      if (it >= 0)
        {
          times[it] = t3 - t0;
          fwd_ms += t1 - t0;
          bwd_ms += t2 - t1;
          upd_ms += t3 - t2;
        }
    }
  {
    double best = times[0], mean = 0;
    for (int i = 0; i < repeats; i++)
      {
        best = MIN (best, times[i]);
        mean += times[i] / repeats;
      }
    printf ("{\"impl\": \"brainseg-onednn\", \"fms\": %d, \"batch\": %d, \"crop\": %d, \"channels\": %d, "
            "\"threads\": %d, \"lanes\": %d, \"repeats\": %d, \"step_ms_min\": %.2f, \"step_ms_mean\": %.2f, "
            "\"forward_ms\": %.2f, \"backward_ms\": %.2f, \"update_ms\": %.2f}\n",
            opts->fms, opts->batch, opts->crop, n_mod, omp_get_max_threads (), bs_train_graph_get_lanes (g), repeats,
            best, mean, fwd_ms / repeats, bwd_ms / repeats, upd_ms / repeats);
  }
  return 0;
}

static gboolean
add_phantoms (BsTrainSet *set, int n, const char *size, guint64 seed, BsTiming *timing, GError **error)
{
  int dims[3];

  if (!bs_phantom_parse_size (size, dims, error))
    return FALSE;
  for (int i = 0; i < n; i++)
    {
      g_autoptr(BsVolume) image = NULL;
      g_autoptr(BsVolume) label = NULL;
      g_autofree char *id = g_strdup_printf ("phantom-%03d", i + 1);
      double t0 = bs_now_ms (), t1;

      /* A seed of its own, so the phantoms differ from the bundled sample. */
      if (!bs_phantom_generate (seed ^ 0x7261696eull, (guint) i + 1, dims[0], dims[1], dims[2], &image, &label,
                                error))
        return FALSE;
      t1 = bs_now_ms ();
      bs_timing_add_stage (timing, "data loading", t1 - t0);
      /* Decathlon label values (bs-phantom.h): every region is there to learn. */
      if (!bs_train_set_add_case_labelled (set, id, image, label, BS_LABELS_DECATHLON, error))
        return FALSE;
      bs_timing_add_stage (timing, "preprocessing", bs_now_ms () - t1);
    }
  return TRUE;
}

/* Every labelled case of the datasets through the model, with the model's own modalities. */
static int
evaluate_all (char **datasets, const char *model_path, int threads, int lanes, gboolean flips, gboolean three_planes,
              char **only, const char *report_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BsUnet) net = bs_unet_load_h5 (model_path, &error);
  g_autoptr(BsTrainSet) set = NULL;
  g_autoptr(GArray) results = g_array_new (FALSE, TRUE, sizeof (BsTrainCaseResult));
  BsCliRegions regions;
  double sum = 0;
  guint n_done = 0;

  if (!net)
    return bs_cli_fail (error);
  bs_cli_train_outputs_of (net, &regions);
  set = bs_train_set_new ((const char *const *) net->config.modalities);
  for (char **d = datasets; d && *d; d++)
    if (!bs_train_set_add_dataset (set, *d, NULL, &error))
      return bs_cli_fail (error);
  g_array_set_clear_func (results, (GDestroyNotify) bs_train_case_result_clear);
  /* A --test-cases id that no dataset has is named before any case is
   * scored (helper finding: after the whole evaluation, with no report). */
  if (only)
    {
      g_autoptr(GString) missing = g_string_new (NULL);

      for (int k = 0; only[k]; k++)
        {
          gboolean found = *only[k] == '\0';   /* "a,b," names no third case */

          for (guint i = 0; i < bs_train_set_get_n_cases (set) && !found; i++)
            found = g_strcmp0 (bs_train_set_get_case_id (set, i), only[k]) == 0;
          if (!found)
            g_string_append_printf (missing, "%s%s", missing->len ? ", " : "", only[k]);
        }
      if (missing->len)
        {
          fprintf (stderr, _("brainseg-cli train: --test-cases names cases that are not in the datasets: %s\n"),
                   missing->str);
          return 1;
        }
    }
  printf ("%-28s %8s %8s", _("Case"), _("Dice"), _("raw"));
  bs_cli_train_print_region_header (&regions, stdout);
  printf (" %14s %14s  %s\n", _("truth voxels"), _("predicted"), _("channels"));
  for (guint i = 0; i < bs_train_set_get_n_cases (set); i++)
    {
      BsTrainCaseResult r = { 0 };
      if (only && !g_strv_contains ((const char *const *) only, bs_train_set_get_case_id (set, i)))
        continue;
      if (!bs_train_evaluate_case (net, set, i, threads, lanes, flips, three_planes, &r, &error))
        return bs_cli_fail (error);
      printf ("%-28s %8.4f %8.4f", r.id, r.dice, r.dice_raw);
      bs_cli_train_print_region_row (&regions, &r, stdout);
      printf (" %14" G_GSIZE_FORMAT " %14" G_GSIZE_FORMAT "  %s\n", r.truth_voxels, r.predicted_voxels, r.channels);
      sum += r.dice;
      n_done++;
      g_array_append_val (results, r);
    }
  if (n_done > 1)
    {
      printf ("%-28s %8.4f %8s", _("mean"), sum / n_done, "");
      bs_cli_train_print_region_means (&regions, results, stdout);
      printf ("\n");
    }
  if (report_path)
    {
      BsCliReportInfo info = { model_path, (const char *const *) net->config.modalities, 0, 0, 0, { NULL },
                               regions };
      if (!bs_cli_train_write_report (report_path, &info, results, &error))
        return bs_cli_fail (error);
    }
  return 0;
}

/* The options a training state fixes, as bits of given_options. */
enum {
  GIVEN_CROP = 1 << 0,
  GIVEN_BATCH = 1 << 1,
  GIVEN_LR = 1 << 2,
  GIVEN_LOSS = 1 << 3,
  GIVEN_WEIGHT_DICE = 1 << 4,
  GIVEN_SEED = 1 << 5,
  GIVEN_SPLIT = 1 << 6,
  GIVEN_STEPS = 1 << 7,
  GIVEN_DROPOUT = 1 << 8,
  GIVEN_VAL_SLICES = 1 << 9,
  GIVEN_NO_AUGMENT = 1 << 10,
  GIVEN_CORE_FLAIR = 1 << 11,
  GIVEN_JITTER = 1 << 12,
  GIVEN_AVERAGE = 1 << 13,
  GIVEN_MODALITY_DROPOUT = 1 << 14,
  GIVEN_FOLDS = 1 << 15,
  GIVEN_BIAS_FIELD = 1 << 16,
  GIVEN_WEIGHT_WT = 1 << 17,
};

static guint
given_options (const BsTrainOptions *o, gint64 seed, const char *loss, gboolean no_augment)
{
  return (o->crop != G_MININT ? GIVEN_CROP : 0) | (o->batch != G_MININT ? GIVEN_BATCH : 0)
         | (!isnan (o->lr) ? GIVEN_LR : 0) | (loss ? GIVEN_LOSS : 0)
         | (!isnan (o->weight_dice) ? GIVEN_WEIGHT_DICE : 0) | (seed != G_MININT64 ? GIVEN_SEED : 0)
         | (!isnan (o->split) ? GIVEN_SPLIT : 0) | (o->steps_per_epoch != G_MININT ? GIVEN_STEPS : 0)
         | (!isnan (o->dropout) ? GIVEN_DROPOUT : 0) | (o->val_slices != G_MININT ? GIVEN_VAL_SLICES : 0)
         | (no_augment ? GIVEN_NO_AUGMENT : 0) | (!isnan (o->core_flair_aug) ? GIVEN_CORE_FLAIR : 0)
         | (!isnan (o->intensity_jitter) ? GIVEN_JITTER : 0) | (o->average_from != G_MININT ? GIVEN_AVERAGE : 0)
         | (!isnan (o->modality_dropout) ? GIVEN_MODALITY_DROPOUT : 0)
         | (!isnan (o->bias_field) ? GIVEN_BIAS_FIELD : 0) | (!isnan (o->weight_wt) ? GIVEN_WEIGHT_WT : 0)
         | (o->folds != G_MININT || o->fold != G_MININT ? GIVEN_FOLDS : 0);
}

static void
restore_defaults (BsTrainOptions *o, const BsTrainOptions *d)
{
  if (o->crop == G_MININT)
    o->crop = d->crop;
  if (o->batch == G_MININT)
    o->batch = d->batch;
  if (o->steps_per_epoch == G_MININT)
    o->steps_per_epoch = d->steps_per_epoch;
  if (o->val_slices == G_MININT)
    o->val_slices = d->val_slices;
  if (isnan (o->lr))
    o->lr = d->lr;
  if (isnan (o->weight_dice))
    o->weight_dice = d->weight_dice;
  if (isnan (o->split))
    o->split = d->split;
  if (isnan (o->dropout))
    o->dropout = d->dropout;
  if (isnan (o->core_flair_aug))
    o->core_flair_aug = d->core_flair_aug;
  if (isnan (o->intensity_jitter))
    o->intensity_jitter = d->intensity_jitter;
  if (o->average_from == G_MININT)
    o->average_from = d->average_from;
  if (isnan (o->modality_dropout))
    o->modality_dropout = d->modality_dropout;
  if (isnan (o->bias_field))
    o->bias_field = d->bias_field;
  if (isnan (o->weight_wt))
    o->weight_wt = d->weight_wt;
  if (o->folds == G_MININT)
    o->folds = d->folds;
  if (o->fold == G_MININT)
    o->fold = d->fold;
}

/* One line naming the given options that the resumed run replaces with its own. */
static void
report_overridden (const char *path, guint given, const BsTrainOptions *asked, const BsTrainOptions *run)
{
  g_autoptr(GString) s = g_string_new (NULL);
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  if ((given & GIVEN_CROP) && asked->crop != run->crop)
    g_string_append_printf (s, " --crop %d", run->crop);
  if ((given & GIVEN_BATCH) && asked->batch != run->batch)
    g_string_append_printf (s, " --batch %d", run->batch);
  if ((given & GIVEN_LR) && asked->lr != run->lr)
    g_string_append_printf (s, " --lr %s", g_ascii_formatd (num, sizeof num, "%g", run->lr));
  if ((given & GIVEN_LOSS) && asked->loss != run->loss)
    g_string_append_printf (s, " --loss %s", bs_train_loss_name (run->loss));
  if ((given & GIVEN_WEIGHT_DICE) && asked->weight_dice != run->weight_dice)
    g_string_append_printf (s, " --weight-dice %s", g_ascii_formatd (num, sizeof num, "%g", run->weight_dice));
  if ((given & GIVEN_SEED) && asked->seed != run->seed)
    g_string_append_printf (s, " --seed %" G_GUINT64_FORMAT, run->seed);
  if ((given & GIVEN_SPLIT) && asked->split != run->split)
    g_string_append_printf (s, " --split %s", g_ascii_formatd (num, sizeof num, "%g", run->split));
  if ((given & GIVEN_STEPS) && asked->steps_per_epoch != run->steps_per_epoch)
    g_string_append_printf (s, " --steps-per-epoch %d", run->steps_per_epoch);
  if ((given & GIVEN_DROPOUT) && asked->dropout != run->dropout)
    g_string_append_printf (s, " --dropout %s", g_ascii_formatd (num, sizeof num, "%g", run->dropout));
  if ((given & GIVEN_VAL_SLICES) && asked->val_slices != run->val_slices)
    g_string_append_printf (s, " --val-slices %d", run->val_slices);
  if ((given & GIVEN_NO_AUGMENT) && asked->augment != run->augment)
    g_string_append_printf (s, " %s", _("with augmentation"));
  if ((given & GIVEN_CORE_FLAIR) && asked->core_flair_aug != run->core_flair_aug)
    g_string_append_printf (s, " --core-flair-aug %s", g_ascii_formatd (num, sizeof num, "%g", run->core_flair_aug));
  if ((given & GIVEN_JITTER) && asked->intensity_jitter != run->intensity_jitter)
    g_string_append_printf (s, " --intensity-jitter %s",
                            g_ascii_formatd (num, sizeof num, "%g", run->intensity_jitter));
  if ((given & GIVEN_AVERAGE) && asked->average_from != run->average_from)
    g_string_append_printf (s, " --average-from %d", run->average_from);
  if ((given & GIVEN_MODALITY_DROPOUT) && asked->modality_dropout != run->modality_dropout)
    g_string_append_printf (s, " --modality-dropout %s",
                            g_ascii_formatd (num, sizeof num, "%g", run->modality_dropout));
  if ((given & GIVEN_BIAS_FIELD) && asked->bias_field != run->bias_field)
    g_string_append_printf (s, " --bias-field %s", g_ascii_formatd (num, sizeof num, "%g", run->bias_field));
  if ((given & GIVEN_WEIGHT_WT) && asked->weight_wt != run->weight_wt)
    g_string_append_printf (s, " --weight-wt %s", g_ascii_formatd (num, sizeof num, "%g", run->weight_wt));
  if ((given & GIVEN_FOLDS) && (asked->folds != run->folds || asked->fold != run->fold))
    g_string_append_printf (s, " --folds %d --fold %d", run->folds, run->fold);
  if (s->len)
    printf (_("%s continues its run with its own options (%s); the different values given here are ignored.\n"),
            path, s->str + 1);
}

static char **
split_case_ids (BsTrainSet *set, int kind)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

  for (guint i = 0; i < bs_train_set_get_n_cases (set); i++)
    if ((int) bs_train_set_get_case_split (set, i) == kind)
      g_strv_builder_add (b, bs_train_set_get_case_id (set, i));
  return g_strv_builder_end (b);
}

/* The whole partition, so that every fold's run shows the same one. */
static void
print_folds (BsTrainSet *set, const BsTrainOptions *o)
{
  g_autoptr(GString) always = g_string_new (NULL);

  printf (_("Cross-validation: %d folds over cases (seed %llu); fold %d is held out\n"), o->folds,
          (unsigned long long) o->seed, o->fold);
  for (int f = 1; f <= o->folds; f++)
    {
      g_autoptr(GString) ids = g_string_new (NULL);
      for (guint i = 0; i < bs_train_set_get_n_cases (set); i++)
        if (bs_train_set_get_case_fold (set, i) == f)
          g_string_append_printf (ids, " %s", bs_train_set_get_case_id (set, i));
      printf ("  %s %d%s:%s\n", _("fold"), f, f == o->fold ? _(" (held out)") : "", ids->str);
    }
  for (guint i = 0; i < bs_train_set_get_n_cases (set); i++)
    if (bs_train_set_get_case_fold (set, i) == 0)
      g_string_append_printf (always, " %s", bs_train_set_get_case_id (set, i));
  if (always->len)
    printf (_("  in no fold, always training:%s\n"), always->str);
}

/* One line per case that lacks some of the modalities asked for. */
static void
print_missing_channels (BsTrainSet *set)
{
  guint n_mods = g_strv_length ((char **) bs_train_set_get_modalities (set));

  for (guint i = 0; i < bs_train_set_get_n_cases (set); i++)
    {
      g_autofree char *have = bs_train_set_get_case_channels (set, i);
      g_auto(GStrv) v = g_strsplit (have, ",", -1);
      if (g_strv_length (v) < n_mods)
        printf (_("%s has only %s; its other inputs are zeros\n"), bs_train_set_get_case_id (set, i), have);
    }
}

int
bs_cli_train (int argc, char **argv)
{
  BsTrainOptions opts;
  g_autofree char *out = NULL;
  g_autofree char *modalities = NULL;
  g_autofree char *loss = NULL;
  g_autofree char *resume = NULL;
  g_autofree char *val_cases = NULL;
  g_autofree char *test_cases = NULL;
  g_autofree char *phantom_size = NULL;
  g_autofree char *figures = NULL;
  g_autofree char *report_path = NULL;
  g_autofree char *regions = NULL;
  g_auto(GStrv) datasets = NULL;
  g_auto(GStrv) mods = NULL;
  g_auto(GStrv) val_ids = NULL;
  g_auto(GStrv) test_ids = NULL;
  g_autoptr(BsTrainSet) set = NULL;
  g_autoptr(BsTrainCheckpoint) checkpoint = NULL;
  g_autoptr(GError) error = NULL;
  BsTrainReport report = { 0 };
  BsCliTrainProgress progress = { 0 };
  BsTrainOptions defaults;
  guint given;
  gint64 seed;
  int phantoms = 0, repeats = 3;
  gboolean flips = FALSE;
  g_autofree char *planes_s = NULL;
  g_autofree char *lanes_s = NULL;
  gboolean train_planes = FALSE;
  gboolean bench = FALSE, evaluate = FALSE, no_augment = FALSE, plain = FALSE, cv_summary = FALSE;
  double t_start = bs_now_ms ();

  bs_train_options_init (&opts);
  defaults = opts;
  /* Out-of-range values mark the options nobody gave, so that a resumed run
   * can say which of the given ones its own options override. */
  opts.crop = opts.batch = opts.steps_per_epoch = opts.val_slices = G_MININT;
  opts.lr = opts.weight_dice = opts.split = opts.dropout = opts.core_flair_aug = opts.intensity_jitter = NAN;
  opts.average_from = opts.folds = opts.fold = G_MININT;
  opts.modality_dropout = NAN;
  opts.bias_field = NAN;
  opts.weight_wt = NAN;
  seed = G_MININT64;
  {
    GOptionEntry entries[] = {
      { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, N_("Where the best weights go (HDF5)"), N_("FILE") },
      { "fms", 0, 0, G_OPTION_ARG_INT, &opts.fms, N_("Base feature maps (16)"), "N" },
      { "modalities", 'm', 0, G_OPTION_ARG_STRING, &modalities,
        N_("Input modalities, e.g. flair, flair,t1gd or flair,t1,t1gd,t2 (a case without one trains with zeros there)"),
        N_("LIST") },
      { "bias-field", 0, 0, G_OPTION_ARG_DOUBLE, &opts.bias_field,
        N_("Augmentation: a smooth shading across the slice of relative size up to B, each channel its own (0 = off)"),
        "B" },
      { "modality-dropout", 0, 0, G_OPTION_ARG_DOUBLE, &opts.modality_dropout,
        N_("Augmentation: zero each input channel with probability P, never all of them (0 = off)"), "P" },
      { "context", 0, 0, G_OPTION_ARG_INT, &opts.context,
        N_("2.5D: give the network N neighbouring slices on each side as extra input channels (0 = one slice; "
           "default: as the weights fine-tuned, 0 for new ones; 2D weights widened this way start with zero "
           "weights on the neighbours)"),
        "N" },
      { "folds", 0, 0, G_OPTION_ARG_INT, &opts.folds,
        N_("Cross-validation over cases: K folds (seeded by --seed); needs --fold"), "K" },
      { "fold", 0, 0, G_OPTION_ARG_INT, &opts.fold,
        N_("The fold (1..K) held out for testing; --split is the training share of the rest (1 = no validation)"),
        "I" },
      { "regions", 0, 0, G_OPTION_ARG_STRING, &regions,
        N_("Outputs to learn, whole tumour first: wt (default), or wt,tc,et for tumour core and enhancing tumour "
           "too (a case whose labels cannot tell them apart trains its whole tumour only)"),
        N_("LIST") },
      { "weight-wt", 0, 0, G_OPTION_ARG_DOUBLE, &opts.weight_wt,
        N_("With --regions: the whole tumour's share of the loss, the other regions share the rest (0 = all alike)"),
        "W" },
      { "report", 0, 0, G_OPTION_ARG_FILENAME, &report_path,
        N_("Write the test cases' Dice (whole tumour, and each region trained) to FILE (JSON, or CSV for *.csv)"),
        N_("FILE") },
      { "cv-summary", 0, 0, G_OPTION_ARG_NONE, &cv_summary,
        N_("Gather the --report JSON files given as arguments (one per fold) into one table"), NULL },
      { "crop", 0, 0, G_OPTION_ARG_INT, &opts.crop, N_("Training crop: a multiple of 16 (128)"), "N" },
      { "epochs", 'e', 0, G_OPTION_ARG_INT, &opts.epochs,
        N_("Epochs (30; with --resume of a run, the total from its first epoch)"), "N" },
      { "batch", 'b', 0, G_OPTION_ARG_INT, &opts.batch, N_("Slices per step (128)"), "N" },
      { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &opts.lr, N_("Adam learning rate (1e-4)"), "LR" },
      { "loss", 0, 0, G_OPTION_ARG_STRING, &loss, N_("dice or dice+bce"), N_("LOSS") },
      { "weight-dice", 0, 0, G_OPTION_ARG_DOUBLE, &opts.weight_dice, N_("Dice share of dice+bce (0.85)"), "W" },
      { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Seed of split, sampling, weights (816)"), "N" },
      { "split", 0, 0, G_OPTION_ARG_DOUBLE, &opts.split, N_("Training share of the cases (0.8)"), "F" },
      { "threads", 't', 0, G_OPTION_ARG_INT, &opts.threads, N_("Threads (0 = all cores)"), "N" },
      { "resume", 'r', 0, G_OPTION_ARG_FILENAME, &resume,
        N_("Continue the run saved in FILE (an OUT.last.h5), or fine-tune plain weights"), N_("FILE") },
      { "figures", 0, 0, G_OPTION_ARG_FILENAME, &figures,
        N_("Write MRI | ground truth | prediction PNGs of every test case into this existing folder"), N_("DIR") },
      { "steps-per-epoch", 0, 0, G_OPTION_ARG_INT, &opts.steps_per_epoch,
        N_("Steps per epoch (default: one pass over the training slices)"), "N" },
      { "patience", 0, 0, G_OPTION_ARG_INT, &opts.patience, N_("Early stopping patience in epochs (5, 0 = off)"),
        "N" },
      { "dropout", 0, 0, G_OPTION_ARG_DOUBLE, &opts.dropout, N_("Spatial dropout at levels C and D (0.2)"), "P" },
      { "val-slices", 0, 0, G_OPTION_ARG_INT, &opts.val_slices, N_("Validation slices per epoch (96, 0 = all)"),
        "N" },
      { "val-cases", 0, 0, G_OPTION_ARG_STRING, &val_cases, N_("Case ids for validation (comma-separated)"),
        N_("IDS") },
      { "test-cases", 0, 0, G_OPTION_ARG_STRING, &test_cases, N_("Case ids held out for testing"), N_("IDS") },
      { "phantoms", 0, 0, G_OPTION_ARG_INT, &phantoms, N_("Add N synthetic phantom cases"), "N" },
      { "phantom-size", 0, 0, G_OPTION_ARG_STRING, &phantom_size, N_("Phantom size (240x240x155)"), N_("XxYxZ") },
      { "no-augment", 0, 0, G_OPTION_ARG_NONE, &no_augment, N_("No flips, rotations, offsets, intensity jitter"),
        NULL },
      { "core-flair-aug", 0, 0, G_OPTION_ARG_DOUBLE, &opts.core_flair_aug,
        N_("Share of samples whose necrotic core (BraTS/Decathlon labels) gets a darker FLAIR (0 = off, default)"),
        "P" },
      { "intensity-jitter", 0, 0, G_OPTION_ARG_DOUBLE, &opts.intensity_jitter,
        N_("Augmentation: per-channel gain 1 +- J and offset +- J inside the brain (0.1)"), "J" },
      { "average-from", 0, 0, G_OPTION_ARG_INT, &opts.average_from,
        N_("From epoch E on, save the mean of the weights at the end of every epoch instead of the best (0 = off)"),
        "E" },
      { "plain", 0, 0, G_OPTION_ARG_NONE, &plain, N_("Plain progress lines even on a terminal"), NULL },
      { "test-time-flips", 0, 0, G_OPTION_ARG_NONE, &flips,
        N_("With --evaluate: every slice also runs mirrored left-right, the two are averaged"), NULL },
      { "train-planes", 0, 0, G_OPTION_ARG_NONE, &train_planes,
        N_("Train on slices of all three planes (axial, coronal, sagittal), not axial ones only"), NULL },
      { "three-planes", 0, 0, G_OPTION_ARG_STRING, &planes_s,
        N_("Test cases and --evaluate: on (default): the network also runs on coronal and sagittal slices and the three probabilities are averaged, as infer does; off: axial slices only"),
        "on|off" },
      { "lanes", 0, 0, G_OPTION_ARG_STRING, &lanes_s,
        N_("on (default): the batch runs in pieces, each thread taking the next piece when it has finished its last, so a core that another program holds slows one thread instead of every layer; off: every layer split between the threads"),
        "on|off" },
      { "evaluate", 0, 0, G_OPTION_ARG_NONE, &evaluate,
        N_("Only evaluate the --resume weights on every case with its own modalities (whole-volume Dice)"), NULL },
      { "bench-step", 0, 0, G_OPTION_ARG_NONE, &bench, N_("Time training steps on random data, print JSON"), NULL },
      { "repeats", 0, 0, G_OPTION_ARG_INT, &repeats, N_("Timed steps for --bench-step (3)"), "N" },
      { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &datasets, NULL, NULL },
      { NULL },
    };
    if (!bs_cli_parse ("train", "DATASET...",
                       _("Train the 2D U-Net (IntelAI recipe) with oneDNN.\n\n"
                         "The best weights (lowest validation loss) go to --out OUT.h5. After every epoch\n"
                         "the last weights and the whole training state (optimiser, epoch, best loss,\n"
                         "early stopping, random generators, options) go to OUT.last.h5, written to a\n"
                         "temporary name and renamed. --resume OUT.last.h5 continues that run after its\n"
                         "last epoch with the options it was started with (--epochs is the total);\n"
                         "--resume of a plain weights file fine-tunes them from epoch 1.\n\n"
                         "--regions wt,tc,et gives the network one sigmoid output per region (whole\n"
                         "tumour, tumour core, enhancing tumour), each with its own loss, averaged; the\n"
                         "best epoch and early stopping go by that mean validation loss. Cases whose\n"
                         "labels cannot tell core from enhancing tumour (binary or unknown labels)\n"
                         "train their whole-tumour output only. Fine-tuning a whole-tumour model with\n"
                         "--regions wt,tc,et copies every layer; the core and enhancing outputs start\n"
                         "as copies of its whole-tumour output. A resumed run keeps its regions.\n\n"
                         "--figures DIR writes, for every test case, MRI | ground truth | prediction at\n"
                         "the slice with the most tumour and 10 slices before and after it\n"
                         "(DIR/CASE-axial-NNN.png)."),
                       entries, &argc, &argv))
      return 2;
  }
  /* A name for another format is a slip best caught before any work. */
  if (!bs_cli_check_table_name (report_path, &error) || !bs_cli_check_model_name (out, &error))
    return bs_cli_fail (error);
  if (cv_summary)
    return bs_cli_train_cv_summary (datasets, report_path);
  given = given_options (&opts, seed, loss, no_augment);
  restore_defaults (&opts, &defaults);
  opts.seed = seed == G_MININT64 ? defaults.seed : (guint64) seed;
  opts.augment = !no_augment;
  opts.out = out;
  opts.figures = figures;
  if (planes_s && !g_str_equal (planes_s, "on") && !g_str_equal (planes_s, "off"))
    {
      fprintf (stderr, "%s\n", _("brainseg-cli train: --three-planes is on or off"));
      return 2;
    }
  opts.eval_three_planes = !planes_s || g_str_equal (planes_s, "on");
  if (lanes_s && !g_str_equal (lanes_s, "on") && !g_str_equal (lanes_s, "off"))
    {
      fprintf (stderr, "%s\n", _("brainseg-cli train: --lanes is on or off"));
      return 2;
    }
  opts.lanes = !lanes_s || g_str_equal (lanes_s, "on");
  opts.train_planes = train_planes;
  if (regions && !bs_train_options_set_regions (&opts, regions, &error))
    {
      fprintf (stderr, _("brainseg-cli train: --regions %s: %s\n"), regions, error->message);
      return 2;
    }
  if (loss && !bs_train_loss_from_string (loss, &opts.loss))
    {
      fprintf (stderr, _("brainseg-cli train: unknown loss '%s' (dice or dice+bce)\n"), loss);
      return 2;
    }
  if (!bs_train_options_check (&opts, &error))
    {
      fprintf (stderr, "brainseg-cli train: %s\n", error->message);
      return 2;
    }
  if (opts.fms < 1 || opts.batch < 1 || opts.crop < 16 || opts.crop % 16 != 0 || opts.epochs < 0
      || opts.weight_dice < 0.0 || opts.weight_dice > 1.0 || repeats < 1 || opts.core_flair_aug < 0.0
      || opts.core_flair_aug > 1.0 || !(opts.intensity_jitter >= 0.0 && opts.intensity_jitter < 1.0)
      || opts.average_from < 0 || !(opts.modality_dropout >= 0.0 && opts.modality_dropout < 1.0)
      || !(opts.bias_field >= 0.0 && opts.bias_field < 1.0) || !(opts.weight_wt >= 0.0 && opts.weight_wt < 1.0))
    {
      fprintf (stderr, "%s\n", _("brainseg-cli train: --fms, --batch, --repeats must be positive, --crop a multiple "
                                 "of 16, --weight-dice and --core-flair-aug in [0, 1], --intensity-jitter, "
                                 "--modality-dropout, --bias-field and --weight-wt in [0, 1), --average-from not "
                                 "negative"));
      return 2;
    }
  if (opts.context < -1 || opts.context > BS_UNET_MAX_CONTEXT)
    {
      fprintf (stderr, _("brainseg-cli train: --context must be between 0 and %d\n"), BS_UNET_MAX_CONTEXT);
      return 2;
    }
  if ((opts.folds != 0 || opts.fold != 0) && (opts.folds < 2 || opts.fold < 1 || opts.fold > opts.folds))
    {
      fprintf (stderr, "%s\n", _("brainseg-cli train: cross-validation needs --folds K (2 or more) and --fold I "
                                 "(1..K) together"));
      return 2;
    }
  if (opts.folds > 0 && test_cases)
    {
      fprintf (stderr, "%s\n", _("brainseg-cli train: --test-cases and --folds both choose the test cases; "
                                 "give one of them"));
      return 2;
    }
  mods = g_strsplit (modalities ? modalities : "FLAIR", ",", -1);
  for (char **m = mods; *m; m++)
    g_strstrip (*m);
  /* Each modality is an input channel of the network, and preprocessing
   * picks at most that many. */
  if (g_strv_length (mods) > BS_UNET_MAX_IN_CHANNELS)
    {
      fprintf (stderr, _("brainseg-cli train: --modalities lists %u modalities; at most %d are supported\n"),
               g_strv_length (mods), BS_UNET_MAX_IN_CHANNELS);
      return 2;
    }

  if (bench)
    return bench_step (&opts, (int) g_strv_length (mods), repeats);

  if ((!datasets || !datasets[0]) && (phantoms <= 0 || evaluate))
    {
      fprintf (stderr, "%s\n", _("brainseg-cli train: give at least one DATASET (or --phantoms N)"));
      return 2;
    }
  if (!evaluate && !out)
    {
      fprintf (stderr, "%s\n", _("brainseg-cli train: --out FILE is required"));
      return 2;
    }
  if (evaluate && !resume)
    {
      fprintf (stderr, "%s\n", _("brainseg-cli train: --evaluate needs the weights in --resume FILE"));
      return 2;
    }

  if (evaluate)
    {
      /* The report's folder before a whole evaluation, not after it. */
      const char *outputs[] = { report_path };

      if (!bs_cli_check_outputs (outputs, 1, (const char *const *) &resume, 1, &error)
          || !bs_cli_check_dataset_outputs (outputs, 1, (const char *const *) datasets,
                                            datasets ? (int) g_strv_length (datasets) : 0, &error))
        return bs_cli_fail (error);
      g_auto(GStrv) only = test_cases ? g_strsplit (test_cases, ",", -1) : NULL;
      return evaluate_all (datasets, resume, opts.threads, bs_train_options_lanes (&opts), flips,
                           opts.eval_three_planes, only, report_path);
    }

  /* Before the data loads: a figures folder that cannot take the figures,
   * or a report or model that cannot be written, should not cost a whole
   * training run (fuzz finding: --report into a missing folder failed after
   * training, with the model written). */
  if (figures && !bs_train_check_figures_dir (figures, &error))
    return bs_cli_fail (error);
  {
    const char *outputs[] = { out, report_path };

    if (!bs_cli_check_outputs (outputs, G_N_ELEMENTS (outputs), NULL, 0, &error)
        || !bs_cli_check_dataset_outputs (outputs, G_N_ELEMENTS (outputs), (const char *const *) datasets,
                                          datasets ? (int) g_strv_length (datasets) : 0, &error))
      return bs_cli_fail (error);
  }
  /* Read once, here: a resumed run splits and samples as it did when it
   * started, so its options are needed before the cases load. */
  if (resume)
    {
      BsTrainOptions asked = opts;
      checkpoint = bs_train_checkpoint_load (resume, &error);
      if (!checkpoint)
        return bs_cli_fail (error);
      bs_train_checkpoint_apply_options (checkpoint, &opts);
      opts.resume = checkpoint;
      if (bs_train_checkpoint_has_state (checkpoint))
        report_overridden (resume, given, &asked, &opts);
    }

  set = bs_train_set_new ((const char *const *) mods);
  for (char **d = datasets; d && *d; d++)
    if (!bs_train_set_add_dataset (set, *d, &report.stages, &error))
      return bs_cli_fail (error);
  if (phantoms > 0 && !add_phantoms (set, phantoms, phantom_size ? phantom_size : "240x240x155", opts.seed,
                                     &report.stages, &error))
    return bs_cli_fail (error);
  if (!bs_train_set_check_modalities (set, &error))
    return bs_cli_fail (error);
  val_ids = val_cases ? g_strsplit (val_cases, ",", -1) : NULL;
  test_ids = test_cases ? g_strsplit (test_cases, ",", -1) : NULL;
  if (opts.folds > 0)
    {
      if (!bs_train_set_split_folds (set, opts.folds, opts.fold, opts.seed, opts.split, (const char *const *) val_ids,
                                     &error))
        return bs_cli_fail (error);
      print_folds (set, &opts);
    }
  else if (!bs_train_set_split (set, opts.split, opts.seed, (const char *const *) val_ids,
                                (const char *const *) test_ids, &error))
    return bs_cli_fail (error);
  print_missing_channels (set);
  for (int kind = 0; kind < 3; kind++)
    {
      static const char *const names[] = { N_("training"), N_("validation"), N_("test") };
      g_autoptr(GString) ids = g_string_new (NULL);
      for (guint i = 0; i < bs_train_set_get_n_cases (set); i++)
        if ((int) bs_train_set_get_case_split (set, i) == kind)
          g_string_append_printf (ids, " %s", bs_train_set_get_case_id (set, i));
      printf ("%-11s%s\n", _(names[kind]), ids->len ? ids->str : _(" (none)"));
    }
  fflush (stdout);

  progress.out = stdout;
  progress.tty = !plain && isatty (fileno (stdout));
  if (!bs_train_run (set, &opts, bs_cli_train_progress, &progress, &report, NULL, &error))
    {
      bs_train_report_clear (&report);
      return bs_cli_fail (error);
    }
  {
    /* The regions the run learnt: those asked for, or the --resume weights' own. */
    g_autoptr(BsUnet) saved = bs_unet_load_h5 (out, NULL);
    if (saved)
      bs_cli_train_outputs_of (saved, &progress.regions);
  }
  bs_cli_train_print_report (&report, &progress.regions, stdout);
  if (opts.folds > 0 && report.test->len > 0)
    {
      double sum = 0.0, sum_raw = 0.0;
      for (guint i = 0; i < report.test->len; i++)
        {
          sum += g_array_index (report.test, BsTrainCaseResult, i).dice;
          sum_raw += g_array_index (report.test, BsTrainCaseResult, i).dice_raw;
        }
      printf (_("\nFold %d of %d (seed %llu): mean whole-tumour Dice of the %u held-out cases %.4f (raw %.4f)\n"),
              opts.fold, opts.folds, (unsigned long long) opts.seed, report.test->len, sum / report.test->len, sum_raw / report.test->len);
    }
  if (report_path)
    {
      BsCliReportInfo info = { out, bs_train_set_get_modalities (set), opts.seed, opts.folds, opts.fold,
                               { NULL }, progress.regions };
      gboolean ok;
      for (int k = 0; k < 3; k++)
        info.case_ids[k] = split_case_ids (set, k);
      ok = bs_cli_train_write_report (report_path, &info, report.test, &error);
      for (int k = 0; k < 3; k++)
        g_strfreev (info.case_ids[k]);
      if (!ok)
        {
          bs_train_report_clear (&report);
          return bs_cli_fail (error);
        }
      printf (_("Wrote the per-case report %s\n"), report_path);
    }
  {
    g_autofree char *last = bs_train_state_path_for (out);
    printf (_("\nWrote %s (whole run %.1f s)\n"), out, (bs_now_ms () - t_start) / 1000.0);
    if (report.epochs_run > report.resumed_epoch)
      printf (_("Resumable state of the last epoch: %s\n"), last);
  }
  bs_train_report_clear (&report);
  return 0;
}
