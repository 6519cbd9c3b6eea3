/* Training the U-Net with oneDNN (forward-training and backward primitives),
 * Adam, soft-Dice (+ BCE) loss, the IntelAI 2D recipe.
 *
 * Three layers, each usable on its own:
 *  - BsTrainGraph: one network at a fixed batch x height x width, forward
 *    (training or inference) and backward, gradients in the model's OIHW
 *    layout.  Built once, run many times.
 *  - BsTrainSet: whole-tumour slices of many cases, split into train /
 *    validation / test by case, sampled into stratified, augmented batches.
 *  - bs_train_run: the loop (epochs, validation, best checkpoint, early
 *    stopping) and the final test evaluation, telling the caller how it goes
 *    through a progress callback (the engine prints nothing).
 *
 * Files, each using only those before it: bs-train-options.c (options,
 * reports), bs-train-data.c (cases, splits, sampling), bs-train-loss.c,
 * bs-train-graph.c, bs-train-adam.c, bs-train-state.c (checkpoint I/O),
 * bs-train-eval.c (validation, test cases, figures), bs-train-loop.c
 * (bs_train_run). */
#pragma once

#include <gio/gio.h>

#include "bs-labels.h"
#include "bs-unet.h"
#include "bs-volume.h"
#include "bs-timing.h"

G_BEGIN_DECLS

typedef enum {
  BS_TRAIN_LOSS_DICE,      /* -log(soft Dice) */
  BS_TRAIN_LOSS_DICE_BCE,  /* w * -log(soft Dice) + (1 - w) * binary cross-entropy */
} BsTrainLoss;

const char *bs_train_loss_name (BsTrainLoss loss);  /* "dice", "dice+bce" */
gboolean bs_train_loss_from_string (const char *s, BsTrainLoss *loss);

/* ---- Loss ---- */

/* Soft-Dice smoothing term (added to numerator and denominator). */
#define BS_TRAIN_DICE_SMOOTH 1.0

/* Loss of n probability maps (n x hw) against binary targets, and when dprobs
 * is not NULL its gradient with respect to the probabilities. */
double bs_train_loss (BsTrainLoss loss, double weight_dice, const float *probs,
                      const float *target, gsize n, float *dprobs);

/* The loss of a head with n_out sigmoid outputs: per output channel the loss
 * above over the slices whose valid flag is set, averaged over the channels
 * that have any such slice.  probs, target and dprobs are n x n_out x hw
 * (NCHW); valid is n x n_out (0 or 1), NULL for all valid.  Invalid planes get
 * a zero gradient.  With one output and every slice valid this is exactly
 * bs_train_loss over n x hw.  weight_wt in (0, 1): output 0 (the whole
 * tumour) weighs weight_wt and the other counted outputs share the rest
 * equally (when output 0 or no other output is counted, the plain mean);
 * 0: the plain mean. */
double bs_train_loss_outputs (BsTrainLoss loss, double weight_dice, double weight_wt, const float *probs,
                              const float *target, const float *valid, int n, int n_out, gsize hw, float *dprobs);

/* ---- The graph ---- */

typedef struct _BsTrainGraph BsTrainGraph;

/* The graph reads net's weights (not copied: the optimiser updates them in
 * place) and must not outlive it.  Only transposed-convolution upsampling is
 * trainable.  h and w must be multiples of 16. */
BsTrainGraph *bs_train_graph_new (BsUnet *net, int batch, int h, int w, GError **error);
/* The same on lanes (bs-train-lanes.c): the batch in pieces of a few slices,
 * each its own single-thread graph, on one thread a lane taking the next
 * piece as it goes, so that a core another program holds slows one lane
 * instead of every layer.  lanes 1: bs_train_graph_new. */
#define BS_TRAIN_MAX_LANES 64
BsTrainGraph *bs_train_graph_new_lanes (BsUnet *net, int batch, int h, int w, int lanes, GError **error);
/* Lanes the graph runs on (1: none). */
int bs_train_graph_get_lanes (const BsTrainGraph *g);
void bs_train_graph_free (BsTrainGraph *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsTrainGraph, bs_train_graph_free)

/* Spatial dropout (whole channels) after encodeCa and encodeDa in training
 * forward passes; rate 0 disables it. */
void bs_train_graph_set_dropout (BsTrainGraph *g, double rate, guint64 seed);
void bs_train_graph_get_size (const BsTrainGraph *g, int *batch, int *h, int *w);

/* input: n x in_channels x h x w (NCHW), n <= batch (the rest is treated as
 * zeros).  probs (n x out_channels x h x w) may be NULL.  training selects
 * dropout. */
gboolean bs_train_graph_forward (BsTrainGraph *g, const float *input, int n,
                                 gboolean training, float *probs, GError **error);
/* After a training forward of n slices: loss against target (n x
 * out_channels x h x w) and the gradients of every layer (see
 * bs_train_graph_get_grads). */
gboolean bs_train_graph_backward (BsTrainGraph *g, const float *target, int n,
                                  BsTrainLoss loss, double weight_dice,
                                  double *loss_value, GError **error);
/* The same with the loss of output k of slice i counted only where
 * valid[i * out_channels + k] is 1 (bs_train_loss_outputs); valid NULL: all. */
gboolean bs_train_graph_backward_masked (BsTrainGraph *g, const float *target, const float *valid, int n,
                                         BsTrainLoss loss, double weight_dice, double *loss_value,
                                         GError **error);
/* The whole tumour's share of a region head's loss in backward and in
 * bs_train_val_run (bs_train_loss_outputs' weight_wt; 0, the default: the
 * plain mean over the outputs). */
void bs_train_graph_set_weight_wt (BsTrainGraph *g, double weight_wt);
double bs_train_graph_get_weight_wt (const BsTrainGraph *g);
/* Gradients of layer i (OIHW like BsUnetLayer.weights, and bias), valid until
 * the next backward. */
void bs_train_graph_get_grads (BsTrainGraph *g, int layer, const float **dweights, const float **dbias);
/* oneDNN's implementation names of the primitives, one per line (for bench). */
char *bs_train_graph_describe (const BsTrainGraph *g);

/* ---- Adam ---- */

typedef struct _BsAdam BsAdam;

BsAdam *bs_adam_new (const BsUnet *net, double lr);
void bs_adam_free (BsAdam *adam);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsAdam, bs_adam_free)
/* One update of net's weights with the gradients of g's last backward. */
void bs_adam_step (BsAdam *adam, BsUnet *net, BsTrainGraph *g);

/* ---- Data ---- */

typedef enum {
  BS_TRAIN_SPLIT_TRAIN,
  BS_TRAIN_SPLIT_VALIDATION,
  BS_TRAIN_SPLIT_TEST,
} BsTrainSplit;

typedef struct _BsTrainSet BsTrainSet;

/* modalities: names picked from every case (bs_preprocess_prepare); a case
 * that lacks some trains with zeros there. */
BsTrainSet *bs_train_set_new (const char *const *modalities);
void bs_train_set_free (BsTrainSet *set);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsTrainSet, bs_train_set_free)

/* Takes an image (any channels, raw or normalised intensities) and its label
 * (raw values; whole tumour is > 0).  Picks the modalities and normalises
 * them (bs_preprocess_prepare: a missing one is zeros, all missing is an
 * error) and keeps the axial slices that contain brain.  Cases added here
 * (not from a dataset) always train in a cross-validation split.
 * Load and preprocessing times go into timing (stages "data loading",
 * "preprocessing") when not NULL. */
gboolean bs_train_set_add_case (BsTrainSet *set, const char *id, const BsVolume *image,
                                const BsVolume *label, GError **error);
/* The same with the label convention known (bs_train_set_add_case guesses
 * it from the values, and cannot tell Decathlon from BraTS 2023 labels). */
gboolean bs_train_set_add_case_labelled (BsTrainSet *set, const char *id, const BsVolume *image,
                                         const BsVolume *label, BsLabelConvention convention, GError **error);
/* Whether case i's labels tell the tumour core and the enhancing tumour apart
 * (its convention has sub-regions); otherwise only its whole tumour trains. */
gboolean bs_train_set_case_has_subregions (const BsTrainSet *set, guint i);
/* Every labelled case of the dataset at path (bs_dataset_open). */
gboolean bs_train_set_add_dataset (BsTrainSet *set, const char *path, BsTiming *timing,
                                   GError **error);

guint bs_train_set_get_n_cases (const BsTrainSet *set);
const char *bs_train_set_get_case_id (const BsTrainSet *set, guint i);
BsTrainSplit bs_train_set_get_case_split (const BsTrainSet *set, guint i);

/* Seeded shuffle of the cases: train_fraction to training, the rest halved
 * into validation and test (each at least one case when there are three or
 * more).  Cases named in val_ids / test_ids (NULL-terminated, may be NULL)
 * go there first, whatever the shuffle says. */
gboolean bs_train_set_split (BsTrainSet *set, double train_fraction, guint64 seed,
                             const char *const *val_ids, const char *const *test_ids,
                             GError **error);

/* k-fold cross-validation over cases (never slices): the cases of each
 * dataset are shuffled (seeded) and dealt round folds 1..folds in turn, the
 * next dataset continuing where the last one stopped; fold `fold` is the
 * test split.  Of the other cases, a seeded share 1 - train_fraction (none
 * at 1) validates, or the cases named in val_ids.  Cases added with
 * bs_train_set_add_case belong to no fold and always train.  The same seed
 * and folds give the same partition for every fold. */
gboolean bs_train_set_split_folds (BsTrainSet *set, int folds, int fold, guint64 seed,
                                   double train_fraction, const char *const *val_ids,
                                   GError **error);
/* The modalities every case is given, canonical names (NULL-terminated). */
const char *const *bs_train_set_get_modalities (const BsTrainSet *set);
/* 1..K after bs_train_set_split_folds, else 0. */
int bs_train_set_get_case_fold (const BsTrainSet *set, guint i);
/* The modalities case i has, comma-separated ("FLAIR,T1gd"; free with g_free). */
char *bs_train_set_get_case_channels (const BsTrainSet *set, guint i);
/* Fails naming a modality that no case has (a typo would train on zeros). */
gboolean bs_train_set_check_modalities (const BsTrainSet *set, GError **error);

/* ---- The loop ---- */

/* A checkpoint to resume from: a weights file, read whole (weights and, when
 * it has one, the training state) by one bs_train_checkpoint_load. */
typedef struct _BsTrainCheckpoint BsTrainCheckpoint;

typedef struct {
  int fms;
  int crop;            /* 128 or 144 (any multiple of 16) */
  int epochs;
  int batch;
  double lr;
  BsTrainLoss loss;
  double weight_dice;
  guint64 seed;
  int threads;         /* 0 = all cores */
  int steps_per_epoch; /* 0 = one pass over the training slices */
  int patience;        /* early stopping, epochs without a better validation loss */
  double dropout;
  int val_slices;      /* validation slices evaluated per epoch (0 = all) */
  gboolean augment;
  double core_flair_aug; /* share of samples whose necrotic core gets a darker FLAIR (0 = never; needs labels
                          * whose convention names the core, and augment) */
  double intensity_jitter; /* augmentation's per-channel gain 1 +- J and offset +- J inside the brain (0.1) */
  int average_from;    /* from this epoch on, OUT is the running mean of the end-of-epoch weights (stochastic
                        * weight averaging), validated and saved every epoch; no early stopping or best-loss
                        * selection from then on; 0 = off */
  double split;        /* training share of the cases (the caller splits; kept in checkpoints) */
  double modality_dropout; /* augmentation: each input channel zeroed with this probability, never all (0 = off) */
  double bias_field;   /* augmentation: a smooth field across the slice (linear and bilinear terms, up to B at the
                        * crop's corners) changes each channel's gain by 1 + f and its offset by 3 f, as an MRI
                        * bias field of relative size B does to a z-scored image (0 = off) */
  int folds, fold;     /* cross-validation split the caller made (kept in checkpoints), 0 = none */
  int n_outputs;       /* regions the network outputs, in order (WT first); 0: those of opts->resume's
                        * weights, else WT alone */
  BsRegion outputs[BS_N_REGIONS];
  double weight_wt;    /* region head: the whole tumour's share of the loss, the other regions share the rest
                        * (bs_train_loss_outputs); 0 = every output alike */
  gboolean train_planes; /* training examples are slices of all three planes (axial, coronal, sagittal), not
                          * axial ones only: what a network that runs in three planes sees (kept in checkpoints) */
  int context;         /* neighbouring slices on each side as extra input channels (2.5D); -1: those of the
                        * weights fine-tuned (0 from random weights); a resumed run keeps its own */
  const BsTrainCheckpoint *resume; /* checkpoint or weights to start from, or NULL (see bs_train_run) */
  const char *out;     /* best checkpoint goes here; the resumable state to OUT.last.h5 */
  const char *figures; /* folder for the test cases' PNG figures, or NULL */
  gboolean lanes;      /* steps run on lanes, one a thread (bs_train_graph_new_lanes; TRUE by default); not kept in
                        * checkpoints */
  gboolean eval_three_planes; /* test cases run on axial, coronal and sagittal slices, the three averaged, as
                               * the shipped pipeline does (BsPlanOptions.three_planes); not kept in checkpoints */
} BsTrainOptions;

/* Limits of the integer options, checked on the command line
 * (bs_train_options_check) and when a training state is read.  They are
 * generous for real use (the IntelAI recipe trains fms 16 or 32, batch 128,
 * crop 128 or 144, some 40 epochs of one pass over the slices) and refuse
 * what only a typo or a damaged file gives, before it turns into an
 * allocation of hundreds of gigabytes, an int overflow or a run that never
 * ends.  fms is capped at BS_UNET_MAX_FMS. */
#define BS_TRAIN_MAX_BATCH 1024             /* 8 x the recipe's 128 slices per step */
#define BS_TRAIN_MAX_CROP 512               /* the 240 x 240 BraTS and Decathlon slices twice over (a crop
                                             * larger than the slice pads it) */
#define BS_TRAIN_MAX_EPOCHS 10000
#define BS_TRAIN_MAX_STEPS_PER_EPOCH 100000 /* x BS_TRAIN_MAX_EPOCHS = 1e9 steps in all, still an int */
#define BS_TRAIN_MAX_VAL_SLICES 100000      /* more than the axial slices of all of BraTS' training cases */
#define BS_TRAIN_MAX_THREADS 1024

void bs_train_options_init (BsTrainOptions *opts);
/* The lanes a run's steps take: 1 without lanes, else --threads, or one a
 * core. */
int bs_train_options_lanes (const BsTrainOptions *opts);
/* Checks the options a caller set against the limits above (and crop a
 * multiple of 16, lr in (0, 1], dropout in [0, 1)); the error names the first
 * one out of range as its brainseg-cli train option (--batch) and says the
 * range allowed. */
gboolean bs_train_options_check (const BsTrainOptions *opts, GError **error);
/* opts->outputs from a comma-separated list of region names ("wt,tc,et";
 * bs_unet_parse_outputs says which lists are allowed). */
gboolean bs_train_options_set_regions (BsTrainOptions *opts, const char *list, GError **error);
/* "wt,tc,et" for n regions (free with g_free). */
char *bs_train_regions_to_string (const BsRegion *regions, int n);

/* Where bs_train_run keeps the resumable state of a run writing to out:
 * OUT.last.h5 for OUT.h5 (free with g_free). */
char *bs_train_state_path_for (const char *out);

/* Reads path once: its weights and, when it has one (an OUT.last.h5), the
 * whole training state, checked against those weights.  Every failure names
 * path. */
BsTrainCheckpoint *bs_train_checkpoint_load (const char *path, GError **error);
void bs_train_checkpoint_free (BsTrainCheckpoint *cp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsTrainCheckpoint, bs_train_checkpoint_free)
const char *bs_train_checkpoint_get_path (const BsTrainCheckpoint *cp);
gboolean bs_train_checkpoint_has_state (const BsTrainCheckpoint *cp);
/* When cp has a training state, copies the options that run was started
 * with (crop, batch, lr, loss, weight_dice, seed, split, steps_per_epoch,
 * dropout, val_slices, augmentation, averaging, folds) into opts; a plain
 * weights file leaves opts alone.  The caller needs the seed and split
 * before it splits the cases. */
void bs_train_checkpoint_apply_options (const BsTrainCheckpoint *cp, BsTrainOptions *opts);

/* A folder figures can be written into: it exists, is a folder, and a file
 * can be created in it.  The error names the folder. */
gboolean bs_train_check_figures_dir (const char *dir, GError **error);

typedef struct {
  char *id;
  double dice;         /* whole volume, whole tumour, after the island clean-up (bs-postprocess.h) */
  double dice_raw;     /* the same before the clean-up */
  gsize truth_voxels;
  gsize predicted_voxels;
  char *channels;      /* modalities the case has, comma-separated */
  int fold;            /* its cross-validation fold, or 0 */
  double region_dice[BS_N_REGIONS]; /* whole-volume Dice per region (index BsRegion) after the clean-up;
                                     * NAN for a region the model does not output or the case's labels
                                     * cannot tell.  [BS_REGION_WT] is dice. */
} BsTrainCaseResult;

void bs_train_case_result_clear (BsTrainCaseResult *r);

typedef struct {
  int epochs_run;
  int best_epoch;
  double best_val_loss;
  double best_val_dice;
  double best_val_region_dice[BS_N_REGIONS]; /* of the best epoch, NAN for a region not trained */
  double first_train_loss;  /* mean of the first epoch */
  double last_train_loss;   /* mean of the last epoch */
  double train_ms;
  int steps;
  BsTiming stages;     /* data loading, preprocessing, stratification, training, prediction, visualisation */
  GArray *test;        /* BsTrainCaseResult of every test case */
  int resumed_epoch;   /* epochs done before this run (resumed from a training state), else 0 */
  int n_figures;       /* PNG figures written to opts->figures */
} BsTrainReport;

void bs_train_report_clear (BsTrainReport *report);

/* What bs_train_run tells its caller, in this order: at most one of
 * NO_VALIDATION, then one of RESUMED or FINE_TUNING (with opts->resume), START,
 * then per epoch STEPs, AVERAGING once (the first averaged epoch), EPOCH;
 * EARLY_STOP when it stops early; at the end a TEST_CASE per test case and
 * FIGURES (with opts->figures). */
typedef enum {
  BS_TRAIN_EVENT_NO_VALIDATION, /* no validation cases: the checkpoint is chosen on training slices */
  BS_TRAIN_EVENT_RESUMED,       /* continuing a training state */
  BS_TRAIN_EVENT_FINE_TUNING,   /* opts->resume holds weights but no state: epoch 1, fresh optimiser */
  BS_TRAIN_EVENT_START,
  BS_TRAIN_EVENT_STEP,          /* after every optimiser step */
  BS_TRAIN_EVENT_AVERAGING,     /* weights averaged from this epoch on */
  BS_TRAIN_EVENT_EPOCH,         /* an epoch validated and its state saved */
  BS_TRAIN_EVENT_EARLY_STOP,
  BS_TRAIN_EVENT_TEST_CASE,     /* one test case evaluated */
  BS_TRAIN_EVENT_FIGURES,       /* all test figures written */
} BsTrainEventKind;

typedef struct {
  BsTrainEventKind kind;
  union {
    struct {
      const char *path;
      int epochs_done, steps_done;
      int epochs;               /* the total asked for; nothing to train when <= epochs_done */
    } resumed;
    struct {
      const char *path;
    } fine_tuning;
    struct {
      guint n_slices, n_tumour_slices; /* training slices */
      int n_val_slices, steps_per_epoch, batch;
    } start;
    struct {
      int epoch, epochs, step, steps;
      double eta_s;             /* of the whole run, from the steps so far */
      double loss;              /* mean training loss of this epoch so far */
      double val_dice;          /* of the last validation, NAN before the first */
    } step;
    struct {
      int epoch;
    } averaging;
    struct {
      int epoch, epochs;
      double seconds, train_loss, val_loss, val_dice;
      gboolean best;            /* saved to opts->out as the best so far */
      int mean_count;           /* > 0: the validated and saved weights are the mean of this many epochs */
      double val_region_dice[BS_N_REGIONS]; /* per region trained (NAN otherwise); val_dice is WT's */
    } epoch;
    struct {
      int bad_epochs;
    } early_stop;
    struct {
      const BsTrainCaseResult *result;
    } test_case;
    struct {
      int n;
      const char *dir;
    } figures;
  };
} BsTrainEvent;

/* Called on the thread that runs bs_train_run; event is valid only during the call. */
typedef void (*BsTrainProgressFunc) (const BsTrainEvent *event, gpointer user_data);

/* Trains on set (already split) and writes the best checkpoint to opts->out;
 * then evaluates the test cases with it.  progress (may be NULL) hears how it
 * goes.
 *
 * After every epoch the last weights and the whole training state (Adam's
 * moments and step, epoch, best validation loss and weights, early-stopping
 * count, the sampler's and dropout's generator states, the options) go to
 * bs_train_state_path_for (opts->out), atomically.  With opts->resume read
 * from such a file, the run continues after its last epoch up to
 * opts->epochs (the total, counted from the run's first epoch) with the
 * options it was started with, and ends with the weights an uninterrupted run
 * would have; opts->resume a plain weights file starts afresh (epoch 1, new
 * optimiser) from its weights.
 *
 * Regions (opts->outputs): one sigmoid output per region, each trained with
 * the loss against that region's labels (bs_labels_in_region), the losses
 * averaged; a case whose convention cannot tell the tumour core and the
 * enhancing tumour apart trains only its whole-tumour output.  The best
 * epoch and early stopping go by that mean validation loss.  Fine-tuning
 * weights with other outputs copies every layer and gives each new output
 * the head row of the same region, or else the whole tumour's.  A resumed
 * state keeps its regions (asking for others is an error).
 *
 * With opts->figures, writes DIR/<case>-axial-NNN.png for every test case:
 * MRI | ground truth | prediction at the slice with the most tumour and the
 * slices 10 before and after it (timed as the "visualisation" stage). */
gboolean bs_train_run (BsTrainSet *set, const BsTrainOptions *opts, BsTrainProgressFunc progress,
                       gpointer progress_data, BsTrainReport *report, GCancellable *cancellable,
                       GError **error);

/* Whole-volume whole-tumour Dice of net on case i of set (its normalised
 * image), and of a region model's further outputs where the case's labels
 * tell them (result->region_dice; a region's voxels count only inside the
 * cleaned whole tumour), axial slices at full size through the training
 * graph's oneDNN forward pass; with
 * flips every slice also runs mirrored left-right and the two are averaged
 * (as BsPlanOptions.test_time_flips); with three_planes the network also
 * runs on every coronal and sagittal slice and the three probability
 * volumes are averaged (as BsPlanOptions.three_planes).  lanes > 1: the
 * slices run on that many lanes (bs_train_graph_new_lanes), else on threads
 * (0: the cores other programs leave free). */
gboolean bs_train_evaluate_case (BsUnet *net, BsTrainSet *set, guint i, int threads, int lanes, gboolean flips,
                                 gboolean three_planes, BsTrainCaseResult *result, GError **error);

G_END_DECLS
