/* Internals shared by the trainer's source files. */
#pragma once

#include "bs-random.h"
#include "bs-train.h"

G_BEGIN_DECLS

/* The trainer's random numbers (sampling, augmentation, dropout): the engine's
 * one generator (bs-random.h), whose whole state is one integer, so that a
 * checkpoint can carry it and a resumed run draws exactly what the
 * uninterrupted run would have drawn. */
typedef struct {
  guint64 state;
} BsTrainRng;

static inline void
bs_train_rng_seed (BsTrainRng *r, guint64 seed)
{
  r->state = seed;
}

static inline guint64
bs_train_rng_next (BsTrainRng *r)
{
  return bs_splitmix64 (&r->state);
}

/* Uniform in [0, 1). */
static inline double
bs_train_rng_double (BsTrainRng *r)
{
  return bs_random_unit (bs_train_rng_next (r));
}

static inline double
bs_train_rng_double_range (BsTrainRng *r, double lo, double hi)
{
  return lo + bs_train_rng_double (r) * (hi - lo);
}

/* Uniform in [lo, hi), hi > lo. */
static inline int
bs_train_rng_int_range (BsTrainRng *r, int lo, int hi)
{
  return lo + (int) (bs_train_rng_double (r) * (double) (hi - lo));
}

static inline gboolean
bs_train_rng_boolean (BsTrainRng *r)
{
  return (bs_train_rng_next (r) >> 63) != 0;
}

typedef struct {
  char *id;
  BsVolume *image;     /* the picked modalities, normalised */
  BsVolume *truth;     /* whole tumour, 0/1 */
  BsVolume *core;      /* necrotic / non-enhancing core, 0/1, or NULL (unknown convention, none present) */
  guint8 *regions;     /* per voxel (the label's layout), bit r set inside region r (BsRegion), or NULL
                        * when the convention cannot tell the tumour core and enhancing tumour apart */
  int sw, sh;          /* axial slice size as displayed */
  int n_slices;        /* slices with brain or tumour */
  int *slices;         /* their axial indices */
  guint8 *has_tumour;
  /* The same for the coronal and sagittal planes ([BS_PLANE_AXIAL] unused),
   * found when a run trains on every plane (BsTrainOptions.train_planes). */
  gboolean planes_found;
  int n_pslices[3];
  int *pslices[3];
  guint8 *phas_tumour[3];
  BsTrainSplit split;
  guint32 present;     /* bit k: the image had modality k (else channel k is zeros) */
  int group;           /* 1 + index of the dataset it came from; 0: added on its own (always trains in folds) */
  int fold;            /* 1..K in a cross-validation split, else 0 */
} BsTrainCase;

struct _BsTrainSet {
  char **modalities;
  int n_groups;        /* datasets added */
  GPtrArray *cases;    /* BsTrainCase* */
};

typedef struct {
  const BsTrainCase *c;
  int slice;
  BsPlane plane;       /* BS_PLANE_AXIAL (0) unless the run trains on every plane */
} BsTrainSliceRef;

/* What augmentation does to a training example (see BsTrainOptions). */
typedef struct {
  double offset_ratio;     /* crop offset up to this share of the centring margin */
  double core_flair_p;     /* BsTrainOptions.core_flair_aug */
  double jitter;           /* BsTrainOptions.intensity_jitter */
  double modality_dropout; /* BsTrainOptions.modality_dropout */
  double bias_field;       /* BsTrainOptions.bias_field */
} BsTrainAug;

/* The regions the network outputs, in order: what a training example's
 * target planes are. */
typedef struct {
  int n;
  BsRegion r[BS_N_REGIONS];
} BsTrainOutputs;

typedef struct {
  GArray *tumour, *other;  /* BsTrainSliceRef of the training cases */
  guint pos_tumour, pos_other;
  guint n_total;
  double tumour_share;
  BsTrainRng rand;
  BsTrainAug aug;          /* from the options; all off after init */
  BsTrainOutputs outputs;  /* WT alone after init */
  int context;             /* neighbouring slices on each side in the input; 0 after init */
} BsTrainSampler;

/* ---- options (bs-train-options.c) ---- */

/* The regions of net's outputs; FALSE when one is not a region the trainer
 * knows or the first is not the whole tumour. */
gboolean bs_train_outputs_from_net (const BsUnet *net, BsTrainOutputs *outputs);

/* The options a training state fixes (crop, batch, lr, loss, seed, split,
 * steps, dropout, validation slices, augmentation) replace the caller's. */
void bs_train_options_apply_state (BsTrainOptions *o, const BsTrainOptions *from);

BsTrainCase *bs_train_set_find_case (BsTrainSet *set, const char *id);
void bs_train_slice_list_build (BsTrainSet *set, BsTrainSplit split, GArray *tumour, GArray *other);
/* Adds the coronal and sagittal slices (with brain or tumour) of the
 * training cases to the sampler's lists (BsTrainOptions.train_planes). */
void bs_train_sampler_add_planes (BsTrainSampler *s, BsTrainSet *set);
/* One crop x crop training example (nch x (1 + 2 context) planes: the
 * slice's modalities, then those of each neighbour in bs_infer_context_slice
 * order; and one target plane per output); r or aug NULL = centre, no
 * augmentation.  valid (may be NULL)
 * gets per output 1, or 0 when the case's labels cannot tell that region
 * (its target plane is then zeros). */
void bs_train_fill_slice (const BsTrainSliceRef *ref, int crop, int context, BsTrainRng *r, const BsTrainAug *aug,
                          const BsTrainOutputs *outputs, float *input, float *target, float *valid);

void bs_train_sampler_init (BsTrainSampler *s, BsTrainSet *set, guint64 seed);
void bs_train_sampler_clear (BsTrainSampler *s);
/* augment FALSE: centred crops as they are, whatever s->aug says.  nch:
 * the modalities (input is batch x nch x (1 + 2 s->context) planes).  target
 * is batch x s->outputs.n planes, valid batch x s->outputs.n flags. */
void bs_train_sampler_next (BsTrainSampler *s, int batch, int crop, gboolean augment, float *input, float *target,
                            float *valid, int nch);

/* ---- pieces of the training graph (bs-train-graph.c) ---- */

/* The U-Net at one batch size as oneDNN training primitives; a BsTrainGraph
 * runs one piece, or several on lanes (bs-train-lanes.c).  It reads net's
 * weights in place.  The input layer's weight gradient is computed in groups
 * of at most max_group input channels (0: where oneDNN would otherwise be
 * slow; in_channels or more: one convolution).  threads > 0: its primitives
 * are made for, and its passes run on, that many OpenMP threads (set in the
 * calling thread); 0: the caller's. */
typedef struct _BsTrainPiece BsTrainPiece;

BsTrainPiece *bs_train_piece_new (BsUnet *net, int batch, int h, int w, int max_group, int threads, GError **error);
void bs_train_piece_free (BsTrainPiece *g);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsTrainPiece, bs_train_piece_free)
void bs_train_piece_set_dropout (BsTrainPiece *g, double rate);
/* As bs_train_graph_forward, for n <= the piece's batch; a training forward
 * gives each slice's dropout seed (n of them, read during the call), else
 * NULL: no dropout. */
gboolean bs_train_piece_forward (BsTrainPiece *g, const float *input, int n, gboolean training,
                                 const guint64 *seeds, float *probs, GError **error);
/* After a forward of n slices: the gradients of every layer from the loss's
 * gradient with respect to the n slices' probabilities. */
gboolean bs_train_piece_backward (BsTrainPiece *g, const float *dprobs, int n, GError **error);
void bs_train_piece_get_grads (BsTrainPiece *g, int layer, const float **dweights, const float **dbias);
char *bs_train_piece_describe (const BsTrainPiece *g);

/* bs_train_graph_new with max_group (above), so that tests can compare the
 * input layer's weight gradient in groups and in one convolution. */
BsTrainGraph *bs_train_graph_new_grouped (BsUnet *net, int batch, int h, int w, int max_group, GError **error);

/* The dropout generator of a graph, saved with a checkpoint: a training
 * forward draws one seed a slice from it, whatever the lanes. */
guint64 bs_train_graph_get_rng_state (const BsTrainGraph *g);
void bs_train_graph_set_rng_state (BsTrainGraph *g, guint64 state);

/* Adam's state: the step count and the first and second moments of a
 * layer's weights (OIHW, like BsUnetLayer.weights) or bias. */
int bs_adam_get_step (const BsAdam *a);
void bs_adam_set_step (BsAdam *a, int t);
void bs_adam_get_moments (BsAdam *a, int layer, gboolean bias, float **m, float **v);

/* ---- training state (bs-train-state.c) ---- */

/* Everything a run needs to continue where it stopped, besides the weights. */
typedef struct {
  BsTrainOptions opts;    /* the options that shape the run (resume, out, figures NULL) */
  int epoch;              /* epochs completed */
  int steps;              /* optimiser steps taken */
  int best_epoch;
  double best_val_loss, best_val_dice;
  int bad_epochs;         /* epochs since the best, for early stopping */
  double first_train_loss, last_train_loss;
  guint64 sampler_rng, dropout_rng;
  guint pos_tumour, pos_other;
  char **case_ids[3];     /* training, validation, test case ids (NULL-terminated) */
  char *best_description;
  int mean_count;         /* end-of-epoch weights in the running mean (0: not averaging yet) */
} BsTrainState;

void bs_train_state_clear (BsTrainState *st);

/* Writes net (the current weights, Keras layout, loadable as any model) plus
 * /training_state (st, Adam's moments, the best weights, the running mean of
 * the weights when st->mean_count > 0, the sampler's permutations) to path,
 * atomically. */
gboolean bs_train_state_save (const char *path, const BsUnet *net, const BsUnet *best, const BsUnet *mean,
                              BsAdam *adam, const BsTrainSampler *sampler, BsTrainSet *set,
                              const BsTrainState *st, GError **error);
/* The weights of the file (the last epoch's). */
const BsUnet *bs_train_checkpoint_get_net (const BsTrainCheckpoint *cp);
/* Its training state, or NULL for a plain weights file. */
const BsTrainState *bs_train_checkpoint_get_state (const BsTrainCheckpoint *cp);
/* Adam's moments, the best weights and, when the state averages, the running
 * mean (into mean, when not NULL), into objects shaped like the checkpoint's
 * weights (which the load checked the state against). */
void bs_train_checkpoint_restore_arrays (const BsTrainCheckpoint *cp, BsAdam *adam, BsUnet *best, BsUnet *mean);
/* The sampler's permutations, positions and generator, failing (naming the
 * file) when the permutations are not of the slices set's training cases
 * give now. */
gboolean bs_train_checkpoint_restore_sampler (const BsTrainCheckpoint *cp, BsTrainSampler *sampler,
                                              BsTrainSet *set, GError **error);

/* ---- validation and test evaluation (bs-train-eval.c) ---- */

/* Fixed validation slices: centre crops, no augmentation. */
typedef struct {
  int n;
  BsTrainOutputs outputs;
  float *input, *target, *valid, *probs;  /* target and probs n x outputs.n planes, valid n x outputs.n */
} BsTrainValSet;

/* Tumour and healthy slices of the split evenly spaced through its cases,
 * half and half when capped at cap (0: all). */
void bs_train_val_build (BsTrainSet *set, BsTrainSplit split, int cap, int crop, int nch, int context,
                         const BsTrainOutputs *outputs, BsTrainValSet *v);
void bs_train_val_clear (BsTrainValSet *v);
/* val_loss: bs_train_loss_outputs; val_dice: whole tumour's; region_dice
 * (may be NULL): per region (index BsRegion) over its valid slices, NAN for a
 * region not output or with no valid slice. */
/* nin: input planes a slice (modalities x (1 + 2 context)). */
gboolean bs_train_val_run (BsTrainGraph *g, const BsTrainValSet *v, int nin, BsTrainLoss loss, double weight_dice,
                           double *val_loss, double *val_dice, double *region_dice, GError **error);

/* Every test case of set through net (whole volumes, full slices) into
 * report->test, with figures into figures_dir when not NULL; adds the stages
 * "prediction" and "visualisation" and tells progress each case and the
 * figures. */
gboolean bs_train_evaluate_tests (BsTrainSet *set, BsUnet *net, int threads, int lanes, gboolean three_planes,
                                  const char *figures_dir, BsTrainReport *report, BsTrainProgressFunc progress,
                                  gpointer progress_data, GError **error);

G_END_DECLS
