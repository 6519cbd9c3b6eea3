/* brainseg-cli infer --all-cases: the line of each case, the summary of
 * them all, and the cases of several processes (mpirun) gathered into the
 * first.  Each case is the JSON object infer prints for one case, with its
 * "index" in the dataset. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* "CASE: WT 0.9605 TC 0.8802 ET 0.8377 · 149.7 ml · 0.69 s → mask.nii.gz" */
void bs_cli_print_case_line (JsonObject *o);
/* Every case's object, the ids of those that failed, and each region's
 * mean, median and worst Dice, as one JSON object, or the summary lines. */
void bs_cli_print_cases_summary (gboolean json, JsonArray *cases, JsonArray *failed_cases, double seconds);
/* Processes of one run: every one's cases gathered into the first, in the
 * dataset's order (a new array), and failed_cases (the ids of this process's
 * failures) becomes every process's there; NULL in the others. */
JsonArray *bs_cli_gather_cases (JsonArray *mine, JsonArray *failed_cases);

G_END_DECLS
