/* The OpenMP runtime's behaviour on a busy machine, fixed before it starts.
 *
 * Debian's oneDNN runs on libgomp, whose threads spin for about 300,000
 * iterations at every barrier before they sleep.  When another process holds
 * a core, the spinning thread keeps it from the thread it waits for, and a
 * volume that takes 1.2 s on a quiet machine takes 8 s (one process) or 24 s
 * (two Brainseg processes at once).  libgomp reads its settings once, in a
 * constructor that runs before main(), so setting them in main() is too late:
 * the programs' launcher (app/launch.c) sets them before it runs the
 * program, and bs_runtime_prepare() sets them and re-executes the program
 * once when it was started without the launcher. */
#pragma once

#include <glib.h>

#include "bs-runtime-env.h"

G_BEGIN_DECLS

/* BS_RUNTIME_SPINCOUNT (bs-runtime-env.h), the spin iterations before a
 * waiting OpenMP thread sleeps: long enough that a quiet machine keeps
 * oneDNN's back-to-back primitives on spinning threads, short enough (tens of
 * microseconds) that a thread whose partner lost its core yields it.  Chosen
 * with tests/bench/contention.py. */

/* BS_RUNTIME_MALLOC_TUNABLE (bs-runtime-env.h): large blocks from malloc on
 * transparent huge pages (glibc 2.35 and later;
 * older ones ignore it).  A whole BraTS case touches about 800 MB of fresh
 * memory (the NIfTI files' raw data, the image, the prepared input, the
 * probabilities, masks, oneDNN's buffers); on the virtual machines measured,
 * a first touch cost several milliseconds per MB on 4 KB pages and a tenth of
 * that on 2 MB ones (README, "On a busy machine").  Volumes already ask for
 * huge pages themselves (bs-volume.c); this covers every other allocation. */

/* Freed memory stays with the process for the next allocation instead of
 * going back to the kernel: every malloc comes from the heap (M_MMAP_MAX 0;
 * glibc otherwise maps each block over 32 MB, every volume, anew and unmaps
 * it on free), and up to this many free megabytes at the heap's top are kept
 * (M_TRIM_THRESHOLD).  On the virtual machines measured, a first touch of a
 * page costs far more than reusing one: an int8 whole volume spent 0.4-1.1 s
 * of system time clearing fresh pages, 0.15-0.37 s with the heap kept
 * (README, "On a busy machine").  Set with mallopt() at start, so no
 * re-execution is needed; a GLIBC_TUNABLES that names glibc.malloc.mmap_*,
 * trim_threshold or top_pad, or BRAINSEG_KEEP_MALLOC_DEFAULTS, leaves
 * glibc's defaults. */
#define BS_RUNTIME_HEAP_KEEP_MB 512

/* Call first thing in main().  When the user set none of OMP_WAIT_POLICY,
 * GOMP_SPINCOUNT (their settings always win) and BRAINSEG_KEEP_OMP_DEFAULTS
 * (benchmarks compare against libgomp's own defaults with it), sets
 * GOMP_SPINCOUNT; unless GLIBC_TUNABLES already names glibc.malloc.hugetlb or
 * BRAINSEG_KEEP_MALLOC_DEFAULTS is set, appends BS_RUNTIME_MALLOC_TUNABLE to
 * GLIBC_TUNABLES (glibc reads it when the program loads, too); then
 * re-executes argv through /proc/self/exe, once.  It returns only when
 * nothing had to change (the launcher has set the mark) or the re-execution
 * failed (then the program runs on the defaults, as it did before). */
void bs_runtime_prepare (char **argv);

/* How malloc's huge pages and heap were chosen, for reports: "brainseg
 * (GLIBC_TUNABLES=glibc.malloc.hugetlb=1; heap kept: ...)", "user
 * (GLIBC_TUNABLES=...)" or "glibc default".  Static string. */
const char *bs_runtime_malloc_policy (void);

/* How the OpenMP wait policy was chosen, for reports: "brainseg (GOMP_SPINCOUNT=10000)",
 * "user (OMP_WAIT_POLICY=passive)" or "libgomp default".  Static string. */
const char *bs_runtime_wait_policy (void);

/* Threads for "all cores" (a thread count of 0) on a machine that others
 * share: the cores minus what other processes used (/proc/stat less this
 * process's own CPU time, and less the time of niced processes unless this
 * one is niced too) since the previous reading when that is under
 * BS_RUNTIME_REUSE_MS old (the first is taken by bs_runtime_prepare, so a
 * command judges the machine over its own loading), else over a fresh
 * BS_RUNTIME_SAMPLE_MS sample; at least 1.  oneDNN splits
 * each primitive evenly between its threads, so a thread that shares its
 * core with another program holds every barrier up: on 2 cores with one held
 * by a busy loop, fp32 inference took 2.6x its quiet time on 2 threads and
 * about 1.5x on 1.  BRAINSEG_THREADS_ALL=1 turns the adaptation off. */
/* /proc/stat's "cpu" line: busy and total jiffies (total without guest
 * time, busy without idle and iowait, and without nice time unless
 * count_nice).  FALSE when the line is not one. */
gboolean bs_runtime_parse_cpu_line (const char *line, gboolean count_nice, double *busy, double *total);

#define BS_RUNTIME_SAMPLE_MS 40
#define BS_RUNTIME_REUSE_MS 2000
int bs_runtime_auto_threads (int cores);

/* Takes the first reading (bs_runtime_prepare does). */
void bs_runtime_mark_start (void);

/* Where the message catalogues are: the build tree's po/ when the program
 * runs from a build tree (build/app/brainseg beside build/po), so that the
 * translations work before `meson install`; else installed (the argument). */
const char *bs_runtime_locale_dir (const char *installed);

/* Cores other processes used in the last sample (for reports), or -1 if never sampled. */
double bs_runtime_last_busy_cores (void);

G_END_DECLS
