/* brainseg-cli train --report FILE (one run's held-out cases, JSON or CSV) and
 * brainseg-cli train --cv-summary REPORT.json... (every fold in one table). */
#pragma once

#include "bs-train.h"

G_BEGIN_DECLS

/* What a report says about the run besides its cases. */
typedef struct {
  const char *model;          /* the weights evaluated */
  const char *const *modalities;
  guint64 seed;
  int folds, fold;            /* 0, 0 outside cross-validation */
  char **case_ids[3];         /* training, validation, test ids (NULL-terminated; may be NULL) */
} BsCliReportInfo;

/* results: BsTrainCaseResult.  Written to a temporary name and renamed; CSV
 * when path ends in .csv, else JSON. */
gboolean bs_cli_train_write_report (const char *path, const BsCliReportInfo *info, const GArray *results,
                                    GError **error);

/* Reads the JSON reports of the folds of one cross-validation, prints every
 * case with its fold and the mean, median and worst Dice (after clean-up and
 * raw), and with out writes that table (CSV or JSON).  Returns the exit status. */
int bs_cli_train_cv_summary (char **reports, const char *out);

G_END_DECLS
