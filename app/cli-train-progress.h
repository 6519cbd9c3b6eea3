/* brainseg-cli train's progress lines and final tables. */
#pragma once

#include <stdio.h>

#include "bs-train.h"
#include "cli-train-report.h"

G_BEGIN_DECLS

typedef struct {
  FILE *out;
  gboolean tty;  /* redraw one progress line instead of printing lines */
  BsCliRegions regions; /* for the final table: the model's outputs */
} BsCliTrainProgress;

/* BsTrainProgressFunc; data is a BsCliTrainProgress. */
void bs_cli_train_progress (const BsTrainEvent *event, gpointer data);

/* The stage wall-time table, the best epoch and the per-case Dice (a column
 * per region of regions besides the whole tumour). */
void bs_cli_train_print_report (const BsTrainReport *report, const BsCliRegions *regions, FILE *out);

G_END_DECLS
