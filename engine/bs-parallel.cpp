#include "bs-parallel.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

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
