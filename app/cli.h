/* brainseg-cli subcommands.  Each takes the arguments after its name (argv[0]
 * is the subcommand name), prints results on stdout, and returns the exit
 * status.  Errors are one line on stderr naming the file and the problem. */
#pragma once

#include <glib.h>

#include "bs-dataset.h"
#include "bs-labels.h"

int bs_cli_info (int argc, char **argv);
int bs_cli_phantom (int argc, char **argv);
int bs_cli_infer (int argc, char **argv);
int bs_cli_bench (int argc, char **argv);
int bs_cli_train (int argc, char **argv);
int bs_cli_export (int argc, char **argv);
int bs_cli_calibrate (int argc, char **argv);
int bs_cli_score (int argc, char **argv);

/* Prints "brainseg-cli: <message>" on stderr and returns 1. */
int bs_cli_fail (const GError *error);
/* Before any work: every output (NULL entries skipped) can be written
 * (its folder exists and is writable, it is not a folder), no two are the
 * same file and none is one of the inputs (NULLs skipped); the error names
 * the file (fuzz findings: a failed --prob-out left the mask written, and
 * --out could overwrite the image it was segmenting). */
gboolean bs_cli_check_outputs (const char *const *outputs, int n_out, const char *const *inputs, int n_in,
                               GError **error);
/* A NIfTI output (NULL: none) is named .nii or .nii.gz (hostile-input
 * finding: export --what mask --out m.png wrote a NIfTI file named .png). */
gboolean bs_cli_check_nifti_name (const char *path, GError **error);
gboolean bs_cli_check_model_name (const char *path, GError **error);
gboolean bs_cli_check_table_name (const char *path, GError **error);
/* bs_cli_check_outputs with the files case i of ds is read from as the
 * inputs: no output may write over the case itself. */
gboolean bs_cli_check_case_outputs (const char *const *outputs, int n_out, const BsDataset *ds, guint i,
                                    GError **error);
/* bs_cli_check_case_outputs for every case of every dataset (opened, not
 * loaded): a model, report or calibration is never written over a case's
 * image or label (train --out onto a _seg.nii.gz replaced the ground truth).
 * A dataset that cannot be opened fails with its error. */
gboolean bs_cli_check_dataset_outputs (const char *const *outputs, int n_out, const char *const *datasets,
                                       int n_datasets, GError **error);
/* BsSegmentOptions.after_network of infer and export: the prepared image
 * goes (when prepared is not NULL), then the truth of every region with a
 * place in keep is made from c's labels into it and into truths, and the
 * labels go; so the truths, and the masks made next, take the memory the
 * image and the labels leave. */
typedef struct {
  BsCase *c;
  BsVolume **prepared;
  const BsVolume **truths;            /* the array bs_segment_regions was given */
  BsVolume **keep[BS_N_REGIONS];      /* NULL: that region's truth is not made */
} BsCliAfterNetwork;
void bs_cli_after_network (gpointer data);
/* On stderr: the case's image had NaN or infinite voxels, read as 0. */
void bs_cli_warn_nonfinite (const char *command, const BsCase *c);
/* Parses argv with entries; on failure prints the problem and returns FALSE. */
gboolean bs_cli_parse (const char *command, const char *params, const char *summary,
                       const GOptionEntry *entries, int *argc, char ***argv);
