/* Engine-side parallelism over independent items (slices, channels, cases),
 * through oneTBB so that it shares the machine with oneDNN's OpenMP threads
 * instead of starting a thread pool of its own per call. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Calls fn (i, user_data) for every i in [0, n), in parallel, and returns when
 * all calls have finished.  fn must not throw or longjmp; calls may run in any
 * order and on any thread, including the caller's.  Nested use is allowed. */
void bs_parallel_for (int n, void (*fn) (int i, gpointer user_data), gpointer user_data);

/* Like bs_parallel_for, but hands out contiguous ranges [begin, end) so that
 * cheap per-item work does not pay a task per item. */
void bs_parallel_for_range (int n, int grain,
                            void (*fn) (int begin, int end, gpointer user_data),
                            gpointer user_data);

/* Calls fn (i, user_data) for every i in [0, n) at the same time, each on a
 * thread of its own (i = 0 on the caller's), and returns when all have
 * returned.  For long-lived workers that share work among themselves
 * (inference lanes), where bs_parallel_for's pool may run items one after
 * another.  If a thread cannot be started, its call runs on the caller's
 * after the others. */
void bs_parallel_lanes (int n, void (*fn) (int i, gpointer user_data), gpointer user_data);

/* When there are as many lanes as CPUs the caller may run on, each lane is
 * pinned to a CPU of its own for the call (the caller's thread gets its own
 * affinity back at the end).  Unpinned, two lanes and another program's busy
 * thread on 2 cores were often scheduled with both lanes on one core, the
 * busy thread alone on the other: a fixed amount of work in pieces, handed
 * out as the lanes go, took 1.58x its quiet time beside a busy loop; pinned,
 * the busy thread shares one lane's core and the other lane takes more
 * pieces: 1.30x (README, "On a busy machine").  BRAINSEG_PIN_LANES=0, or
 * OMP_PROC_BIND=false, leaves the lanes unpinned.  So a lane's fn runs
 * on one CPU: it must not start thread pools (OpenMP teams of more than one
 * thread, oneTBB) or size thread counts from the CPUs it sees, as threads it
 * starts would inherit that one CPU (the lanes' plans and training graphs
 * run one thread each). */
gboolean bs_parallel_pin_lanes_enabled (void);

/* Pieces of work [0, n_pieces) on lanes (bs_parallel_lanes): each lane calls
 * fn (lane, piece, user_data, error) for the next piece not yet taken until
 * none is left, so that a lane slowed by a busy core takes fewer pieces.
 * Once an fn has returned FALSE (setting error), lanes start no more pieces
 * (one that had already taken its next piece still runs it); the first
 * error is returned, the others dropped.  lanes < 1 counts as 1. */
typedef gboolean (*BsPieceFunc) (int lane, int piece, gpointer user_data, GError **error);
gboolean bs_parallel_pieces (int lanes, int n_pieces, BsPieceFunc fn, gpointer user_data, GError **error);

/* Caps the threads bs_parallel_for may use (0: back to all cores), e.g. to
 * leave cores to oneDNN while inference runs.  Applies process-wide. */
void bs_parallel_set_max_threads (int n);
int bs_parallel_get_max_threads (void);

G_END_DECLS
