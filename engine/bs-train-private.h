/* Internals shared by the trainer's source files. */
#pragma once

#include "bs-train.h"

G_BEGIN_DECLS

typedef struct {
  char *id;
  BsVolume *image;     /* the picked modalities, normalised */
  BsVolume *truth;     /* whole tumour, 0/1 */
  BsVolume *core;      /* necrotic / non-enhancing core, 0/1, or NULL (unknown convention, none present) */
  int sw, sh;          /* axial slice size as displayed */
  int n_slices;        /* slices with brain or tumour */
  int *slices;         /* their axial indices */
  guint8 *has_tumour;
  BsTrainSplit split;
} BsTrainCase;

struct _BsTrainSet {
  char **modalities;
  GPtrArray *cases;    /* BsTrainCase* */
};

typedef struct {
  const BsTrainCase *c;
  int slice;
} BsTrainSliceRef;

typedef struct {
  GArray *tumour, *other;  /* BsTrainSliceRef of the training cases */
  guint pos_tumour, pos_other;
  guint n_total;
  double tumour_share;
  GRand *rand;
} BsTrainSampler;

/* Share of training slices whose necrotic core gets a darker FLAIR (augmentation). */
#define BS_TRAIN_CORE_FLAIR_P 0.5

BsTrainCase *bs_train_set_find_case (BsTrainSet *set, const char *id);
void bs_train_slice_list_build (BsTrainSet *set, BsTrainSplit split, GArray *tumour, GArray *other);
/* One crop x crop training example (nch planes + target); r NULL = centre, no augmentation. */
void bs_train_fill_slice (const BsTrainSliceRef *ref, int crop, GRand *r, gboolean augment,
                          double offset_ratio, float *input, float *target);

void bs_train_sampler_init (BsTrainSampler *s, BsTrainSet *set, guint64 seed);
void bs_train_sampler_clear (BsTrainSampler *s);
void bs_train_sampler_next (BsTrainSampler *s, int batch, int crop, gboolean augment, double offset_ratio,
                            float *input, float *target, int nch);

G_END_DECLS
