/* bs_parallel_for visits every index exactly once, nested or not, and the
 * thread cap takes effect. */
#include <glib.h>

#include "bs-parallel.h"

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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/parallel/for", test_for);
  g_test_add_func ("/parallel/lanes", test_lanes);
  g_test_add_func ("/parallel/range", test_range);
  g_test_add_func ("/parallel/nested-and-capped", test_nested_and_capped);
  return g_test_run ();
}
