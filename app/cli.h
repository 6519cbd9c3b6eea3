/* brainseg-cli subcommands.  Each takes the arguments after its name (argv[0]
 * is the subcommand name), prints results on stdout, and returns the exit
 * status.  Errors are one line on stderr naming the file and the problem. */
#pragma once

#include <glib.h>

int bs_cli_info (int argc, char **argv);
int bs_cli_phantom (int argc, char **argv);
int bs_cli_infer (int argc, char **argv);
int bs_cli_bench (int argc, char **argv);
int bs_cli_train (int argc, char **argv);
int bs_cli_export (int argc, char **argv);

/* Prints "brainseg-cli: <message>" on stderr and returns 1. */
int bs_cli_fail (const GError *error);
/* Parses argv with entries; on failure prints the problem and returns FALSE. */
gboolean bs_cli_parse (const char *command, const char *params, const char *summary,
                       const GOptionEntry *entries, int *argc, char ***argv);
