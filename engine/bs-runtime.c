/* OpenMP settings fixed before libgomp reads them (see bs-runtime.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bs-runtime.h"

static gboolean
user_chose (void)
{
  return g_getenv ("OMP_WAIT_POLICY") != NULL || g_getenv ("GOMP_SPINCOUNT") != NULL;
}

void
bs_runtime_prepare (char **argv)
{
  if (argv == NULL || argv[0] == NULL)
    return;
  if (g_getenv (BS_RUNTIME_MARK) != NULL || user_chose () || g_getenv ("BRAINSEG_KEEP_OMP_DEFAULTS") != NULL)
    return;
  /* The mark also stops a loop should the new image not see the variable. */
  if (setenv (BS_RUNTIME_MARK, "1", 1) != 0 || setenv ("GOMP_SPINCOUNT", BS_RUNTIME_SPINCOUNT, 1) != 0)
    return;
  execv ("/proc/self/exe", argv);
  /* No /proc (a chroot, a sandbox): run on as before rather than fail. */
  unsetenv ("GOMP_SPINCOUNT");
}

const char *
bs_runtime_wait_policy (void)
{
  static char buf[96];
  const char *policy = g_getenv ("OMP_WAIT_POLICY");
  const char *spin = g_getenv ("GOMP_SPINCOUNT");

  if (g_getenv (BS_RUNTIME_MARK) != NULL && spin != NULL && g_str_equal (spin, BS_RUNTIME_SPINCOUNT) && policy == NULL)
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

/* Busy and total jiffies of all CPUs together, from /proc/stat's first line. */
static gboolean
read_cpu_jiffies (double *busy, double *total)
{
  char line[512];
  unsigned long long v[10] = { 0 };
  FILE *f = fopen ("/proc/stat", "r");
  int n;

  if (f == NULL)
    return FALSE;
  n = fgets (line, sizeof line, f) ? sscanf (line, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
                                             &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]) : 0;
  fclose (f);
  if (n < 5)
    return FALSE;
  /* user nice system idle iowait irq softirq steal (guest time is inside user) */
  *total = 0.0;
  for (int i = 0; i < MIN (n, 8); i++)
    *total += (double) v[i];
  *busy = *total - (double) v[3] - (double) v[4];
  return TRUE;
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

static GMutex sample_lock;
static double last_busy_cores = -1.0;
static gint64 last_sample_us;

static double
sample_busy_cores (int cores)
{
  double b0, t0, b1, t1, s0, s1, others;
  gint64 w0, w1;
  struct timespec pause = { 0, BS_RUNTIME_SAMPLE_MS * 1000000L };

  if (!read_cpu_jiffies (&b0, &t0))
    return 0.0;
  s0 = self_cpu_seconds ();
  w0 = g_get_monotonic_time ();
  nanosleep (&pause, NULL);
  if (!read_cpu_jiffies (&b1, &t1) || t1 <= t0)
    return 0.0;
  s1 = self_cpu_seconds ();
  w1 = g_get_monotonic_time ();
  /* Busy share of all CPUs, in cores, less what this process itself used. */
  others = (b1 - b0) / (t1 - t0) * cores - (s1 - s0) / ((double) (w1 - w0) * 1e-6);
  return CLAMP (others, 0.0, (double) cores);
}

int
bs_runtime_auto_threads (int cores)
{
  gint64 now = g_get_monotonic_time ();
  double busy;

  if (cores <= 1 || g_getenv ("BRAINSEG_THREADS_ALL") != NULL)
    return MAX (cores, 1);
  g_mutex_lock (&sample_lock);
  if (last_busy_cores < 0.0 || now - last_sample_us > BS_RUNTIME_REUSE_MS * 1000)
    {
      last_busy_cores = sample_busy_cores (cores);
      last_sample_us = g_get_monotonic_time ();
    }
  busy = last_busy_cores;
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
