#include <glib.h>

#include "bs-metrics.h"
#include "bs-timing.h"

static void
test_dice_values (void)
{
  const float truth[8] = { 1, 1, 1, 1, 0, 0, 0, 0 };
  const float pred[8] = { 1, 1, 0, 0, 1, 0, 0, 0 };
  const float empty[8] = { 0 };
  BsConfusion c = { 0 };

  /* tp 2, fp 1, fn 2 -> 4 / 7 */
  g_assert_cmpfloat_with_epsilon (bs_dice (pred, truth, 8), 4.0 / 7.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (bs_dice (truth, truth, 8), 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (bs_dice (empty, truth, 8), 0.0, 1e-12);
  /* Nothing to find and nothing found counts as perfect agreement. */
  g_assert_cmpfloat_with_epsilon (bs_dice (empty, empty, 8), 1.0, 1e-12);

  /* Accumulating halves equals the whole. */
  bs_confusion_add (&c, pred, truth, 4);
  bs_confusion_add (&c, pred + 4, truth + 4, 4);
  g_assert_cmpuint (c.tp, ==, 2);
  g_assert_cmpuint (c.fp, ==, 1);
  g_assert_cmpuint (c.fn, ==, 2);
  g_assert_cmpuint (c.tn, ==, 3);
  g_assert_cmpfloat_with_epsilon (bs_confusion_dice (&c), 4.0 / 7.0, 1e-12);
}

static void
test_timing_accumulates (void)
{
  BsTiming t;

  bs_timing_reset (&t);
  bs_timing_add_stage (&t, "network", 2.0);
  bs_timing_add_stage (&t, "reorder", 0.5);
  bs_timing_add_stage (&t, "network", 3.0);
  g_assert_cmpint (t.n_stages, ==, 2);
  g_assert_cmpfloat_with_epsilon (bs_timing_stage_ms (&t, "network"), 5.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (bs_timing_stage_ms (&t, "missing"), 0.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (t.total_ms, 5.5, 1e-12);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/dice", test_dice_values);
  g_test_add_func ("/metrics/timing", test_timing_accumulates);
  return g_test_run ();
}
