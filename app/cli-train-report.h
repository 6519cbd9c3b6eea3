/* brainseg-cli train --report FILE (one run's held-out cases, JSON or CSV) and
 * brainseg-cli train --cv-summary REPORT.json... (every fold in one table). */
#pragma once

#include <stdio.h>

#include "bs-train.h"

G_BEGIN_DECLS

/* The regions a model outputs, whole tumour first. */
typedef struct {
  int n;
  BsRegion r[BS_N_REGIONS];
} BsCliRegions;

/* net's regions (WT alone when its outputs are not regions). */
void bs_cli_train_outputs_of (const BsUnet *net, BsCliRegions *regions);
/* A column per region besides the whole tumour ("TC", "ET"): the header,
 * a case's Dice ("-" where its labels cannot tell the region), the mean
 * over the cases that can. */
void bs_cli_train_print_region_header (const BsCliRegions *regions, FILE *out);
void bs_cli_train_print_region_row (const BsCliRegions *regions, const BsTrainCaseResult *r, FILE *out);
void bs_cli_train_print_region_means (const BsCliRegions *regions, const GArray *results, FILE *out);

/* What a report says about the run besides its cases. */
typedef struct {
  const char *model;          /* the weights evaluated */
  const char *const *modalities;
  guint64 seed;
  int folds, fold;            /* 0, 0 outside cross-validation */
  char **case_ids[3];         /* training, validation, test ids (NULL-terminated; may be NULL) */
  BsCliRegions regions;       /* the model's outputs: a Dice per case and a mean for each */
} BsCliReportInfo;

/* results: BsTrainCaseResult.  Written to a temporary name and renamed; CSV
 * when path ends in .csv, else JSON. */
gboolean bs_cli_train_write_report (const char *path, const BsCliReportInfo *info, const GArray *results,
                                    GError **error);

/* Reads the JSON reports of the folds of one cross-validation, prints every
 * case with its fold and the mean, median and worst Dice (after clean-up and
 * raw; and a column per further region the reports have, its mean over the
 * cases whose labels tell it), and with out writes that table (CSV or JSON).
 * Returns the exit status. */
int bs_cli_train_cv_summary (char **reports, const char *out);

G_END_DECLS
