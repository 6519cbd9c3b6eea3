/* Segmentation metrics. */
#pragma once

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

/* Counts of a binary prediction against a binary truth (value > 0.5 is "on"). */
typedef struct {
  guint64 tp, fp, fn, tn;
} BsConfusion;

void bs_confusion_add (BsConfusion *c, const float *pred, const float *truth, size_t n);
/* into += c (a volume's counts from its slices'). */
void bs_confusion_merge (BsConfusion *into, const BsConfusion *c);
/* Dice = 2TP / (2TP + FP + FN); 1.0 when both are empty (nothing to find, nothing found). */
double bs_confusion_dice (const BsConfusion *c);
double bs_dice (const float *pred, const float *truth, size_t n);

G_END_DECLS
