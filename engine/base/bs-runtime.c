/* OpenMP settings fixed before libgomp reads them (see bs-runtime.h). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bs-runtime.h"

/* The user's own heap settings (GLIBC_TUNABLES naming a glibc.malloc
 * tunable other than the one Brainseg adds) or BRAINSEG_KEEP_MALLOC_DEFAULTS. */
static gboolean
user_chose_heap (void)
{
  const char *t = g_getenv ("GLIBC_TUNABLES");

  if (g_getenv ("BRAINSEG_KEEP_MALLOC_DEFAULTS") != NULL)
    return TRUE;
  if (t == NULL)
    return FALSE;
  return strstr (t, "glibc.malloc.mmap") != NULL || strstr (t, "glibc.malloc.trim") != NULL
         || strstr (t, "glibc.malloc.top_pad") != NULL;
}

static gboolean heap_reused;

/* See BS_RUNTIME_HEAP_KEEP_MB in bs-runtime.h. */
static void
tune_heap (void)
{
  if (user_chose_heap ())
    return;
  heap_reused = mallopt (M_MMAP_MAX, 0) == 1
                && mallopt (M_TRIM_THRESHOLD, BS_RUNTIME_HEAP_KEEP_MB * 1024 * 1024) == 1;
}

/* What the re-execution set, from the mark's value ("omp", "malloc" or both). */
static gboolean
marked (const char *what)
{
  const char *mark = g_getenv (BS_RUNTIME_MARK);

  return mark != NULL && strstr (mark, what) != NULL;
}

void
bs_runtime_prepare (char **argv)
{
  g_autofree char *old_tunables = NULL;
  gboolean omp, heap;

  if (argv == NULL || argv[0] == NULL)
    return;
  omp = bs_runtime_env_wants_omp ();
  heap = bs_runtime_env_wants_malloc ();
  /* The mark: the launcher (or a first execution) has decided already. */
  if (g_getenv (BS_RUNTIME_MARK) != NULL || (!omp && !heap))
    {
      tune_heap ();
      bs_runtime_mark_start ();
      return;
    }
  old_tunables = g_strdup (g_getenv ("GLIBC_TUNABLES"));
  if (bs_runtime_env_set (omp, heap) != 0)
    return;
  execv ("/proc/self/exe", argv);
  /* No /proc (a chroot, a sandbox): run on as before rather than fail. */
  if (omp)
    unsetenv ("GOMP_SPINCOUNT");
  if (heap && old_tunables != NULL)
    setenv ("GLIBC_TUNABLES", old_tunables, 1);
  else if (heap)
    unsetenv ("GLIBC_TUNABLES");
  unsetenv (BS_RUNTIME_MARK);
  tune_heap ();
  bs_runtime_mark_start ();
}

const char *
bs_runtime_wait_policy (void)
{
  static char buf[96];
  const char *policy = g_getenv ("OMP_WAIT_POLICY");
  const char *spin = g_getenv ("GOMP_SPINCOUNT");

  if (marked ("omp") && spin != NULL && g_str_equal (spin, BS_RUNTIME_SPINCOUNT) && policy == NULL)
    {
      g_snprintf (buf, sizeof buf, "brainseg (GOMP_SPINCOUNT=%s)", spin);
      return buf;
    }
  if (policy != NULL || spin != NULL)
    {
      g_snprintf (buf, sizeof buf, "user (%s%s%s%s%s)", policy ? "OMP_WAIT_POLICY=" : "", policy ? policy : "",
                  policy && spin ? " " : "", spin ? "GOMP_SPINCOUNT=" : "", spin ? spin : "");
      return buf;
    }
  return "libgomp default";
}

const char *
bs_runtime_malloc_policy (void)
{
  static char buf[256];
  const char *t = g_getenv ("GLIBC_TUNABLES");
  g_autofree char *reuse = heap_reused ? g_strdup_printf ("; heap kept: M_MMAP_MAX=0 M_TRIM_THRESHOLD=%d MB",
                                                          BS_RUNTIME_HEAP_KEEP_MB)
                                       : g_strdup ("");

  if (marked ("malloc") && t != NULL && strstr (t, BS_RUNTIME_MALLOC_TUNABLE) != NULL)
    g_snprintf (buf, sizeof buf, "brainseg (GLIBC_TUNABLES=%s%s)", BS_RUNTIME_MALLOC_TUNABLE, reuse);
  else if (t != NULL && *t)
    g_snprintf (buf, sizeof buf, "user (GLIBC_TUNABLES=%s%s)", t, reuse);
  else if (heap_reused)
    g_snprintf (buf, sizeof buf, "brainseg (%s)", reuse + 2);
  else
    return "glibc default";
  return buf;
}

gboolean
bs_runtime_parse_cpu_line (const char *line, gboolean count_nice, double *busy, double *total)
{
  unsigned long long v[10] = { 0 };
  int n = line ? sscanf (line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                         &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) : 0;

  if (n < 5)
    return FALSE;
  /* user nice system idle iowait irq softirq steal (guest time is inside user) */
  *total = 0.0;
  for (int i = 0; i < MIN (n, 8); i++)
    *total += (double) v[i];
  *busy = *total - (double) v[3] - (double) v[4] - (count_nice ? 0.0 : (double) v[1]);
  return TRUE;
}

/* Busy and total jiffies of all CPUs together, from /proc/stat's first line.
 * The time of processes with a positive nice value counts as free while this
 * process is not niced itself: they give way to it (walk finding: three
 * trainings at nice 19 made the window plan for one thread of two, and its
 * visible slice took about 1.7x as long as on both). */
static gboolean
read_cpu_jiffies (double *busy, double *total)
{
  char line[512];
  FILE *f = fopen ("/proc/stat", "r");
  gboolean ok;

  if (f == NULL)
    return FALSE;
  ok = fgets (line, sizeof line, f) != NULL
       && bs_runtime_parse_cpu_line (line, getpriority (PRIO_PROCESS, 0) > 0, busy, total);
  fclose (f);
  return ok;
}

static double
self_cpu_seconds (void)
{
  struct rusage ru;

  if (getrusage (RUSAGE_SELF, &ru) != 0)
    return 0.0;
  return (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + (double) ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec * 1e-6;
}

/* One reading of the machine: all CPUs' busy and total jiffies, this process's CPU seconds, the clock. */
typedef struct {
  double busy, total, self_s;
  gint64 wall_us;
  gboolean valid;
} Reading;

static GMutex sample_lock;
static Reading last_reading;
static double last_busy_cores = -1.0;
static gint64 last_busy_us;

static Reading
take_reading (void)
{
  Reading r = { 0 };

  r.valid = read_cpu_jiffies (&r.busy, &r.total);
  r.self_s = self_cpu_seconds ();
  r.wall_us = g_get_monotonic_time ();
  return r;
}

/* Cores other processes used between two readings. */
static double
busy_between (const Reading *a, const Reading *b, int cores)
{
  double others;

  if (!a->valid || !b->valid || b->total <= a->total || b->wall_us <= a->wall_us)
    return 0.0;
  others = (b->busy - a->busy) / (b->total - a->total) * cores -
           (b->self_s - a->self_s) / ((double) (b->wall_us - a->wall_us) * 1e-6);
  return CLAMP (others, 0.0, (double) cores);
}

void
bs_runtime_mark_start (void)
{
  g_mutex_lock (&sample_lock);
  last_reading = take_reading ();
  g_mutex_unlock (&sample_lock);
}

static void
sleep_us (gint64 us)
{
  struct timespec pause = { (time_t) (us / 1000000), (long) (us % 1000000) * 1000L };

  nanosleep (&pause, NULL);
}

int
bs_runtime_auto_threads (int cores)
{
  gint64 now = g_get_monotonic_time ();
  const gint64 sample_us = BS_RUNTIME_SAMPLE_MS * 1000;
  double busy;

  if (cores <= 1 || g_getenv ("BRAINSEG_THREADS_ALL") != NULL)
    return MAX (cores, 1);
  g_mutex_lock (&sample_lock);
  if (last_busy_cores >= 0.0 && now - last_busy_us < sample_us)
    busy = last_busy_cores;   /* plans built back to back share one judgement */
  else
    {
      Reading r;

      /* Since the last reading when it is recent (a command line judges the
       * machine over its own loading, which also sees another Brainseg
       * started at the same moment); else over a fresh short sample. */
      if (!last_reading.valid || now - last_reading.wall_us > (gint64) BS_RUNTIME_REUSE_MS * 1000)
        {
          last_reading = take_reading ();
          sleep_us (sample_us);
        }
      else if (now - last_reading.wall_us < sample_us)
        sleep_us (sample_us - (now - last_reading.wall_us));
      r = take_reading ();
      busy = busy_between (&last_reading, &r, cores);
      g_debug ("auto threads: other processes used %.2f of %d cores over %.0f ms (this process %.2f s of CPU)",
               busy, cores, (r.wall_us - last_reading.wall_us) / 1000.0, r.self_s - last_reading.self_s);
      last_reading = r;
      last_busy_cores = busy;
      last_busy_us = r.wall_us;
    }
  g_mutex_unlock (&sample_lock);
  /* A core counts as taken once another process uses most of it. */
  return CLAMP ((int) (cores - busy + 0.4), 1, cores);
}

double
bs_runtime_last_busy_cores (void)
{
  double v;

  g_mutex_lock (&sample_lock);
  v = last_busy_cores;
  g_mutex_unlock (&sample_lock);
  return v;
}

const char *
bs_runtime_locale_dir (const char *installed)
{
  static char *dir;

  if (dir == NULL)
    {
      g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
      g_autofree char *exe_dir = exe ? g_path_get_dirname (exe) : NULL;
      g_autofree char *po = exe_dir ? g_build_filename (exe_dir, "..", "po", NULL) : NULL;
      g_autofree char *probe = po ? g_build_filename (po, "de", "LC_MESSAGES", GETTEXT_PACKAGE ".mo", NULL) : NULL;
      g_autofree char *meson = exe_dir ? g_build_filename (exe_dir, "..", "build.ninja", NULL) : NULL;

      /* Only a build tree has build.ninja beside po/: an installed prefix never does. */
      if (probe && g_file_test (probe, G_FILE_TEST_IS_REGULAR) && g_file_test (meson, G_FILE_TEST_IS_REGULAR))
        dir = g_canonicalize_filename (po, NULL);
      else
        dir = g_strdup (installed);
    }
  return dir;
}
