/* bs_parallel_for visits every index exactly once, nested or not, and the
 * thread cap takes effect; lanes run at once, pinned one to a CPU when there
 * are as many as CPUs; pieces on lanes run once each. */
#define _GNU_SOURCE
#include <gio/gio.h>
#include <pthread.h>
#include <sched.h>

#include "bs-parallel.h"
#include "bs-runtime.h"

typedef struct {
  int *hits;
  int n_inner;
} Job;

static void
visit (int i, gpointer user_data)
{
  Job *job = user_data;
  g_atomic_int_inc (&job->hits[i]);
}

static void
visit_range (int begin, int end, gpointer user_data)
{
  for (int i = begin; i < end; i++)
    visit (i, user_data);
}

static void
visit_nested (int i, gpointer user_data)
{
  Job *job = user_data;
  Job inner = { job->hits + i * job->n_inner, 0 };
  bs_parallel_for (job->n_inner, visit, &inner);
}

static void
check_all_once (const int *hits, int n)
{
  for (int i = 0; i < n; i++)
    g_assert_cmpint (hits[i], ==, 1);
}

static void
test_for (void)
{
  for (int n = 0; n <= 1000; n = n * 3 + 1)
    {
      g_autofree int *hits = g_new0 (int, n + 1);
      Job job = { hits, 0 };
      bs_parallel_for (n, visit, &job);
      check_all_once (hits, n);
      g_assert_cmpint (hits[n], ==, 0);
    }
}

static void
test_range (void)
{
  g_autofree int *hits = g_new0 (int, 777);
  Job job = { hits, 0 };
  bs_parallel_for_range (777, 10, visit_range, &job);
  check_all_once (hits, 777);
}

static void
test_nested_and_capped (void)
{
  g_autofree int *hits = g_new0 (int, 40 * 25);
  Job job = { hits, 25 };

  bs_parallel_set_max_threads (1);
  g_assert_cmpint (bs_parallel_get_max_threads (), ==, 1);
  bs_parallel_for (40, visit_nested, &job);
  check_all_once (hits, 40 * 25);
  bs_parallel_set_max_threads (0);
  g_assert_cmpint (bs_parallel_get_max_threads (), >=, 1);
}

/* Lanes run at the same time: each waits until every lane has started (a
 * run one after another would wait in vain, up to the deadline), and each
 * index runs once, index 0 on the caller's thread. */
typedef struct {
  int n, started, seen_all, on_caller, caller_index;
  int hits[6];
  GThread *caller;
} Lanes;

static void
lane (int i, gpointer user_data)
{
  Lanes *l = user_data;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_atomic_int_inc (&l->hits[i]);
  if (g_thread_self () == l->caller)
    {
      g_atomic_int_inc (&l->on_caller);
      l->caller_index = i;
    }
  g_atomic_int_inc (&l->started);
  while (g_atomic_int_get (&l->started) < l->n && g_get_monotonic_time () < deadline)
    g_usleep (100);
  if (g_atomic_int_get (&l->started) == l->n)
    g_atomic_int_inc (&l->seen_all);
}

static void
test_lanes (void)
{
  for (int n = 0; n <= 6; n++)
    {
      Lanes l = { .n = n, .caller = g_thread_self (), .caller_index = -1 };

      bs_parallel_lanes (n, lane, &l);
      check_all_once (l.hits, n);
      g_assert_cmpint (l.seen_all, ==, n);
      g_assert_cmpint (l.on_caller, ==, n > 0);
      g_assert_cmpint (l.caller_index, ==, n > 0 ? 0 : -1);
    }
}

typedef struct {
  cpu_set_t mask[8];
} LaneMasks;

static void
record_mask (int i, gpointer user_data)
{
  LaneMasks *m = user_data;

  g_assert_cmpint (i, <, 8);
  g_assert_cmpint (pthread_getaffinity_np (pthread_self (), sizeof m->mask[i], &m->mask[i]), ==, 0);
}

/* As many lanes as CPUs the caller may use (two, on any machine with two or
 * more: the test narrows its own mask first): each lane on one CPU of its
 * own, all of them covered, the caller's mask back afterwards; more lanes
 * than CPUs, or BRAINSEG_PIN_LANES=0, leave every lane the caller's mask. */
static void
test_lanes_pinned (void)
{
  cpu_set_t original, two, after;
  LaneMasks m;
  int cpus[2], n = 0;

  g_assert_cmpint (pthread_getaffinity_np (pthread_self (), sizeof original, &original), ==, 0);
  for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
    if (CPU_ISSET (c, &original))
      cpus[n++] = c;
  if (n < 2)
    {
      g_test_skip ("one CPU: nothing to pin lanes to");
      return;
    }
  CPU_ZERO (&two);
  CPU_SET (cpus[0], &two);
  CPU_SET (cpus[1], &two);
  g_assert_cmpint (pthread_setaffinity_np (pthread_self (), sizeof two, &two), ==, 0);
  g_unsetenv ("BRAINSEG_PIN_LANES");
  g_unsetenv ("OMP_PROC_BIND");

  bs_parallel_lanes (2, record_mask, &m);
  for (int i = 0; i < 2; i++)
    {
      g_assert_cmpint (CPU_COUNT (&m.mask[i]), ==, 1);
      g_assert_true (CPU_ISSET (cpus[i], &m.mask[i]));
    }
  g_assert_cmpint (pthread_getaffinity_np (pthread_self (), sizeof after, &after), ==, 0);
  g_assert_true (CPU_EQUAL (&after, &two));

  bs_parallel_lanes (3, record_mask, &m);
  for (int i = 0; i < 3; i++)
    g_assert_true (CPU_EQUAL (&m.mask[i], &two));

  g_setenv ("BRAINSEG_PIN_LANES", "0", TRUE);
  bs_parallel_lanes (2, record_mask, &m);
  for (int i = 0; i < 2; i++)
    g_assert_true (CPU_EQUAL (&m.mask[i], &two));
  g_unsetenv ("BRAINSEG_PIN_LANES");

  g_assert_cmpint (pthread_setaffinity_np (pthread_self (), sizeof original, &original), ==, 0);
}

typedef struct {
  int hits[64];
  int lane_pieces[8];
  int fail_at;      /* this piece and the next fail, or -1 */
  int started;      /* pieces begun (atomic) */
  gboolean silent;  /* failing pieces set no error */
} Pieces;

static gboolean
piece (int lane, int k, gpointer user_data, GError **error)
{
  Pieces *p = user_data;

  g_assert_cmpint (lane, >=, 0);
  g_assert_cmpint (lane, <, 8);
  g_atomic_int_inc (&p->started);
  g_atomic_int_inc (&p->hits[k]);
  g_atomic_int_inc (&p->lane_pieces[lane]);
  if (p->fail_at >= 0 && (k == p->fail_at || k == p->fail_at + 1))
    {
      if (!p->silent)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "piece %d failed", k);
      return FALSE;
    }
  /* Lane 0 is slow: the others take its share. */
  if (lane == 0)
    g_usleep (20000);
  return TRUE;
}

/* Every piece once, over fewer lanes than pieces, a slow lane taking fewer;
 * a failing piece stops the lanes from starting more and its error is the
 * one returned. */
static void
test_pieces (void)
{
  for (int lanes = 1; lanes <= 4; lanes++)
    {
      Pieces p = { .fail_at = -1 };
      GError *error = NULL;

      g_assert_true (bs_parallel_pieces (lanes, 40, piece, &p, &error));
      g_assert_no_error (error);
      check_all_once (p.hits, 40);
      for (int i = lanes; i < 8; i++)
        g_assert_cmpint (p.lane_pieces[i], ==, 0);
      if (lanes > 1)
        g_assert_cmpint (p.lane_pieces[0], <, 40);
    }
  {
    Pieces p = { .fail_at = 3 };
    GError *error = NULL;

    g_assert_false (bs_parallel_pieces (2, 64, piece, &p, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
    /* Either failing piece's error, one of them (the other is freed). */
    g_assert_true (g_str_equal (error->message, "piece 3 failed") || g_str_equal (error->message, "piece 4 failed"));
    /* At most the pieces already begun when it failed, one a lane. */
    g_assert_cmpint (p.started, <, 64);
    g_clear_error (&error);
  }
  /* A piece that fails without saying why still fails, with an error. */
  {
    Pieces p = { .fail_at = 5, .silent = TRUE };
    GError *error = NULL;

    g_assert_false (bs_parallel_pieces (0, 8, piece, &p, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
    g_assert_cmpstr (error->message, ==, "piece 6 of 8 failed");
    g_assert_cmpint (p.lane_pieces[0], ==, 6);
    g_clear_error (&error);
  }
  /* No pieces: nothing runs, no error. */
  {
    Pieces p = { .fail_at = 0 };
    g_assert_true (bs_parallel_pieces (2, 0, piece, &p, NULL));
    g_assert_cmpint (p.started, ==, 0);
  }
}

/* /proc/stat's cpu line as the busy-core judgement reads it: idle and
 * iowait are free; niced processes' time is busy only for a niced reader
 * (they give way to a process at nice 0: three trainings at nice 19 made
 * the window plan one thread of two). */
static void
test_cpu_line (void)
{
  /*                   user nice system idle iowait irq softirq steal guest guest_nice */
  const char *line = "cpu  100 700 50 1000 30 5 5 10 40 0\n";
  double busy = 0, total = 0;

  g_assert_true (bs_runtime_parse_cpu_line (line, TRUE, &busy, &total));
  g_assert_cmpfloat (total, ==, 100 + 700 + 50 + 1000 + 30 + 5 + 5 + 10);
  g_assert_cmpfloat (busy, ==, 100 + 700 + 50 + 5 + 5 + 10);
  g_assert_true (bs_runtime_parse_cpu_line (line, FALSE, &busy, &total));
  g_assert_cmpfloat (total, ==, 1900);
  g_assert_cmpfloat (busy, ==, 100 + 50 + 5 + 5 + 10);
  /* an old kernel's four fields are too few; not a cpu line at all */
  g_assert_false (bs_runtime_parse_cpu_line ("cpu  1 2 3 4\n", FALSE, &busy, &total));
  g_assert_false (bs_runtime_parse_cpu_line ("intr 12 3 4 5 6 7\n", FALSE, &busy, &total));
  g_assert_false (bs_runtime_parse_cpu_line (NULL, FALSE, &busy, &total));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/parallel/cpu-line", test_cpu_line);
  g_test_add_func ("/parallel/for", test_for);
  g_test_add_func ("/parallel/lanes", test_lanes);
  g_test_add_func ("/parallel/lanes-pinned", test_lanes_pinned);
  g_test_add_func ("/parallel/pieces", test_pieces);
  g_test_add_func ("/parallel/range", test_range);
  g_test_add_func ("/parallel/nested-and-capped", test_nested_and_capped);
  return g_test_run ();
}
