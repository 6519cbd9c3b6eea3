#include <glib.h>

#include <math.h>
#include <string.h>

#include "bs-labels.h"
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

/* Each release's labels map to the BraTS regions as its documentation says
 * (value: WT TC ET). */
static void
test_label_regions (void)
{
  static const struct {
    BsLabelConvention conv;
    int value;
    gboolean wt, tc, et;
  } table[] = {
    /* Decathlon Task01: 1 edema, 2 non-enhancing tumour, 3 enhancing tumour */
    { BS_LABELS_DECATHLON, 1, TRUE, FALSE, FALSE },
    { BS_LABELS_DECATHLON, 2, TRUE, TRUE, FALSE },
    { BS_LABELS_DECATHLON, 3, TRUE, TRUE, TRUE },
    /* BraTS 2013-2015: 1 necrosis, 2 edema, 3 non-enhancing, 4 enhancing */
    { BS_LABELS_BRATS2015, 1, TRUE, TRUE, FALSE },
    { BS_LABELS_BRATS2015, 2, TRUE, FALSE, FALSE },
    { BS_LABELS_BRATS2015, 3, TRUE, TRUE, FALSE },
    { BS_LABELS_BRATS2015, 4, TRUE, TRUE, TRUE },
    /* BraTS 2017-2021: 1 NCR/NET, 2 edema, 4 enhancing */
    { BS_LABELS_BRATS2017, 1, TRUE, TRUE, FALSE },
    { BS_LABELS_BRATS2017, 2, TRUE, FALSE, FALSE },
    { BS_LABELS_BRATS2017, 4, TRUE, TRUE, TRUE },
    /* BraTS 2023: 1 NCR, 2 edema, 3 enhancing */
    { BS_LABELS_BRATS2023, 1, TRUE, TRUE, FALSE },
    { BS_LABELS_BRATS2023, 2, TRUE, FALSE, FALSE },
    { BS_LABELS_BRATS2023, 3, TRUE, TRUE, TRUE },
    /* binary: whole tumour only */
    { BS_LABELS_BINARY, 1, TRUE, FALSE, FALSE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    {
      g_assert_cmpint (bs_labels_in_region (table[i].conv, BS_REGION_WT, table[i].value), ==, table[i].wt);
      g_assert_cmpint (bs_labels_in_region (table[i].conv, BS_REGION_TC, table[i].value), ==, table[i].tc);
      g_assert_cmpint (bs_labels_in_region (table[i].conv, BS_REGION_ET, table[i].value), ==, table[i].et);
      g_assert_false (bs_labels_in_region (table[i].conv, BS_REGION_WT, 0));
    }
  g_assert_false (bs_labels_has_region (BS_LABELS_BINARY, BS_REGION_TC));
  g_assert_false (bs_labels_has_region (BS_LABELS_UNKNOWN, BS_REGION_ET));
  g_assert_true (bs_labels_has_region (BS_LABELS_UNKNOWN, BS_REGION_WT));
  g_assert_cmpstr (bs_region_name (BS_REGION_ET), ==, "et");
}

/* HD95 on small masks whose answer is known by hand, and the empty cases. */
static void
test_hd95_known (void)
{
  const int dims[3] = { 9, 5, 5 };
  const double spacing[3] = { 1.0, 2.0, 3.0 };
  guint8 a[9 * 5 * 5] = { 0 }, b[9 * 5 * 5] = { 0 }, none[9 * 5 * 5] = { 0 };

  /* one voxel each, 4 voxels apart along x (1 mm each): every distance is 4 mm */
  a[(2 * 5 + 2) * 9 + 2] = 1;
  b[(2 * 5 + 2) * 9 + 6] = 1;
  g_assert_cmpfloat_with_epsilon (bs_metrics_hd95 (a, b, dims, spacing), 4.0, 1e-12);
  /* along z the spacing is 3 mm */
  memset (b, 0, sizeof b);
  b[(4 * 5 + 2) * 9 + 2] = 1;
  g_assert_cmpfloat_with_epsilon (bs_metrics_hd95 (a, b, dims, spacing), 6.0, 1e-12);
  g_assert_cmpfloat (bs_metrics_hd95 (a, a, dims, spacing), ==, 0.0);
  g_assert_cmpfloat (bs_metrics_hd95 (none, none, dims, spacing), ==, 0.0);
  g_assert_cmpfloat_with_epsilon (bs_metrics_hd95 (a, none, dims, spacing), sqrt (81.0 + 100.0 + 225.0), 1e-12);
  {
    const int brats[3] = { 240, 240, 155 };
    const double mm[3] = { 1, 1, 1 };
    g_assert_cmpfloat_with_epsilon (bs_metrics_diagonal_mm (brats, mm), 373.13, 0.01);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/dice", test_dice_values);
  g_test_add_func ("/metrics/timing", test_timing_accumulates);
  g_test_add_func ("/metrics/label-regions", test_label_regions);
  g_test_add_func ("/metrics/hd95-known", test_hd95_known);
  return g_test_run ();
}
