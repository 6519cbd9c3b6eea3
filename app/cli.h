/* brainseg-cli subcommands.  Each takes the arguments after its name (argv[0]
 * is the subcommand name), prints results on stdout, and returns the exit
 * status.  Errors are one line on stderr naming the file and the problem. */
#pragma once

#include <glib.h>

#include "bs-dataset.h"

int bs_cli_info (int argc, char **argv);
int bs_cli_phantom (int argc, char **argv);
int bs_cli_infer (int argc, char **argv);
int bs_cli_bench (int argc, char **argv);
int bs_cli_train (int argc, char **argv);
int bs_cli_export (int argc, char **argv);

/* Prints "brainseg-cli: <message>" on stderr and returns 1. */
int bs_cli_fail (const GError *error);
/* Before any work: every output (NULL entries skipped) can be written
 * (its folder exists and is writable, it is not a folder), no two are the
 * same file and none is one of the inputs (NULLs skipped); the error names
 * the file (fuzz findings: a failed --prob-out left the mask written, and
 * --out could overwrite the image it was segmenting). */
gboolean bs_cli_check_outputs (const char *const *outputs, int n_out, const char *const *inputs, int n_in,
                               GError **error);
/* On stderr: the case's image had NaN or infinite voxels, read as 0. */
void bs_cli_warn_nonfinite (const char *command, const BsCase *c);
/* Parses argv with entries; on failure prints the problem and returns FALSE. */
gboolean bs_cli_parse (const char *command, const char *params, const char *summary,
                       const GOptionEntry *entries, int *argc, char ***argv);
