#include "bs-parallel.h"

#include <gio/gio.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

static std::mutex limit_lock;
static std::unique_ptr<tbb::global_control> limit;

void
bs_parallel_set_max_threads (int n)
{
  std::lock_guard<std::mutex> guard (limit_lock);
  limit.reset ();
  if (n > 0)
    limit = std::make_unique<tbb::global_control> (tbb::global_control::max_allowed_parallelism, (size_t) n);
}

int
bs_parallel_get_max_threads (void)
{
  return (int) tbb::global_control::active_value (tbb::global_control::max_allowed_parallelism);
}

void
bs_parallel_for (int n, void (*fn) (int i, gpointer user_data), gpointer user_data)
{
  if (n <= 0)
    return;
  if (n == 1)
    {
      fn (0, user_data);
      return;
    }
  tbb::parallel_for (0, n, [fn, user_data] (int i) { fn (i, user_data); });
}

void
bs_parallel_for_range (int n, int grain, void (*fn) (int begin, int end, gpointer user_data),
                       gpointer user_data)
{
  if (n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  if (n <= grain)
    {
      fn (0, n, user_data);
      return;
    }
  tbb::parallel_for (tbb::blocked_range<int> (0, n, (size_t) grain),
                     [fn, user_data] (const tbb::blocked_range<int> &r) {
                       fn (r.begin (), r.end (), user_data);
                     });
}

gboolean
bs_parallel_pin_lanes_enabled (void)
{
  const char *pin = g_getenv ("BRAINSEG_PIN_LANES"), *bind = g_getenv ("OMP_PROC_BIND");

  if (pin != NULL)
    return g_strcmp0 (pin, "0") != 0;
  return bind == NULL || g_ascii_strcasecmp (bind, "false") != 0;
}

/* The CPUs lanes are pinned to, one each, when there are as many lanes as
 * CPUs the calling thread may run on (else none: with fewer lanes than CPUs
 * which ones to take is not ours to guess, and two processes would crowd
 * the same ones); *allowed is the caller's mask, to put back. */
static std::vector<int>
lane_cpus (int n, cpu_set_t *allowed)
{
  std::vector<int> cpus;

  if (n < 2 || !bs_parallel_pin_lanes_enabled ())
    return cpus;
  CPU_ZERO (allowed);
  if (pthread_getaffinity_np (pthread_self (), sizeof *allowed, allowed) != 0)
    return cpus;
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET (c, allowed))
      cpus.push_back (c);
  if ((int) cpus.size () != n)
    cpus.clear ();
  return cpus;
}

static void
pin_to (int cpu)
{
  cpu_set_t one;

  CPU_ZERO (&one);
  CPU_SET (cpu, &one);
  /* best effort: a lane that stays unpinned still runs */
  (void) pthread_setaffinity_np (pthread_self (), sizeof one, &one);
}

void
bs_parallel_lanes (int n, void (*fn) (int i, gpointer user_data), gpointer user_data)
{
  std::vector<std::thread> threads;
  std::vector<int> unstarted;
  cpu_set_t allowed;
  std::vector<int> cpus = lane_cpus (n, &allowed);

  for (int i = 1; i < n; i++)
    {
      try
        {
          if (cpus.empty ())
            threads.emplace_back (fn, i, user_data);
          else
            threads.emplace_back ([fn, i, user_data, cpu = cpus[i]] () {
              pin_to (cpu);
              fn (i, user_data);
            });
        }
      catch (const std::system_error &)
        {
          unstarted.push_back (i);
        }
    }
  if (n > 0)
    {
      if (!cpus.empty ())
        pin_to (cpus[0]);
      fn (0, user_data);
      if (!cpus.empty ())
        (void) pthread_setaffinity_np (pthread_self (), sizeof allowed, &allowed);
    }
  for (std::thread &t : threads)
    t.join ();
  for (int i : unstarted)
    fn (i, user_data);
}

namespace {
struct PieceRun {
  BsPieceFunc fn;
  gpointer user_data;
  int n_pieces;
  std::atomic<int> next{ 0 };
  std::atomic<bool> failed{ false };
  std::mutex lock;
  GError *error = nullptr;
};
}

static void
piece_lane (int lane, gpointer data)
{
  PieceRun *r = static_cast<PieceRun *> (data);

  while (!r->failed.load ())
    {
      int k = r->next.fetch_add (1);
      GError *error = nullptr;

      if (k >= r->n_pieces)
        break;
      if (r->fn (lane, k, r->user_data, &error))
        continue;
      if (error == nullptr)
        error = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "piece %d of %d failed", k + 1, r->n_pieces);
      {
        std::lock_guard<std::mutex> guard (r->lock);
        if (r->error == nullptr)
          r->error = error;
        else
          g_clear_error (&error);
      }
      r->failed.store (true);
    }
}

gboolean
bs_parallel_pieces (int lanes, int n_pieces, BsPieceFunc fn, gpointer user_data, GError **error)
{
  PieceRun r;

  r.fn = fn;
  r.user_data = user_data;
  r.n_pieces = n_pieces;
  bs_parallel_lanes (CLAMP (lanes, 1, MAX (n_pieces, 1)), piece_lane, &r);
  if (r.error != nullptr)
    g_propagate_error (error, r.error);
  return !r.failed.load ();
}
