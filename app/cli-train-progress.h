/* brainseg-cli train's progress lines and final tables. */
#pragma once

#include <stdio.h>

#include "bs-train.h"

G_BEGIN_DECLS

typedef struct {
  FILE *out;
  gboolean tty;  /* redraw one progress line instead of printing lines */
} BsCliTrainProgress;

/* BsTrainProgressFunc; data is a BsCliTrainProgress. */
void bs_cli_train_progress (const BsTrainEvent *event, gpointer data);

/* The stage wall-time table, the best epoch and the per-case Dice. */
void bs_cli_train_print_report (const BsTrainReport *report, FILE *out);

G_END_DECLS
