/* Several processes of one run: `mpirun -n N brainseg-cli infer DATASET
 * --all-cases` shares the cases out between N processes, on one machine or
 * many.  Without MPI built in (meson -Dmpi=disabled), or started alone, this
 * is one process of one and every call below is trivial. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Once, at the start: joins the run mpirun (or another MPI launcher, seen
 * from its environment) started; alone, nothing.  TRUE when this process is
 * one of several. */
gboolean bs_dist_init (void);
/* How many processes a launcher (mpirun, srun) says it started, from its
 * environment: 0 when none did.  Whether MPI is built in. */
int bs_dist_launched_size (void);
gboolean bs_dist_available (void);
/* Once, at the end (after bs_dist_init). */
void bs_dist_finish (void);
/* This process's number (0 for the first) and how many there are: on every
 * machine, and on this one. */
int bs_dist_rank (void);
int bs_dist_size (void);
int bs_dist_local_size (void);
/* Every process's text, in process order, gathered into the first: there a
 * NULL-terminated array (g_strfreev), NULL in the others.  Every process must
 * call it.  Alone: { text }. */
char **bs_dist_gather_to_first (const char *text);
/* Whether ok is TRUE in every process (every process must call it). */
gboolean bs_dist_all_ok (gboolean ok);
/* "4 processes (MPI)", or "one process". */
char *bs_dist_describe (void);

G_END_DECLS
