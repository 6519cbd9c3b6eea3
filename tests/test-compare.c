#include <glib.h>
#include <math.h>
#include <string.h>

#include "bs-compare.h"
#include "bs-infer.h"

/* A small prepared case (one normalised FLAIR channel) with a tumour blob in
 * a few slices, and a small random U-Net. */
typedef struct {
  BsUnet *net;
  BsVolume *prepared, *truth;
  BsInferGeometry *geom;
} Fixture;

#define NX 32
#define NY 32
#define NZ 10

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  BsUnetConfig config = { 0 };
  char *modalities[] = { "FLAIR", NULL };
  GRand *rand = g_rand_new_with_seed (11);

  config.fms = 2;
  config.in_channels = 1;
  config.upsample = BS_UPSAMPLE_TRANSPOSED;
  config.modalities = modalities;
  /* data: the number of outputs (NULL: one, IntelAI's whole tumour) */
  config.out_channels = data ? GPOINTER_TO_INT (data) : 1;
  f->net = bs_unet_new_random (&config, 3);
  f->prepared = bs_volume_new (NX, NY, NZ, 1);
  f->truth = bs_volume_new (NX, NY, NZ, 1);
  g_free (f->prepared->channel_names[0]);
  f->prepared->channel_names[0] = g_strdup ("FLAIR");
  for (int k = 0; k < NZ; k++)
    for (int j = 0; j < NY; j++)
      for (int i = 0; i < NX; i++)
        {
          gsize v = ((gsize) k * NY + j) * NX + i;
          gboolean blob = k >= 4 && k <= 6 && hypot (i - 16.0, j - 16.0) < 6.0 - fabs (k - 5.0);
          f->prepared->data[v] = (float) g_rand_double_range (rand, -1, 1) + (blob ? 2.0f : 0.0f);
          f->truth->data[v] = blob ? 1.0f : 0.0f;
        }
  g_rand_free (rand);
  f->geom = bs_infer_geometry_new (f->prepared, BS_PLANE_AXIAL, TRUE);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  bs_unet_free (f->net);
  bs_volume_free (f->prepared);
  bs_volume_free (f->truth);
  bs_infer_geometry_free (f->geom);
}

static void
test_pick_slices (Fixture *f, gconstpointer data)
{
  int slices[8], n;

  /* With truth: the tumour slices, most tumour first picked, returned in order. */
  n = bs_compare_pick_slices (f->prepared, f->truth, BS_PLANE_AXIAL, 2, slices);
  g_assert_cmpint (n, ==, 2);
  g_assert_cmpint (slices[0], <, slices[1]);
  for (int i = 0; i < n; i++)
    g_assert_true (slices[i] >= 4 && slices[i] <= 6);
  g_assert_true (slices[0] == 5 || slices[1] == 5);  /* the largest cross-section */

  /* Without truth: evenly spaced, inside the volume, distinct. */
  n = bs_compare_pick_slices (f->prepared, NULL, BS_PLANE_AXIAL, 4, slices);
  g_assert_cmpint (n, ==, 4);
  for (int i = 0; i < n; i++)
    {
      g_assert_cmpint (slices[i], >=, 0);
      g_assert_cmpint (slices[i], <, NZ);
      if (i > 0)
        g_assert_cmpint (slices[i], >, slices[i - 1]);
    }
}

static void
count_progress (int done, int total, int index, const BsCompareRow *row, gpointer user_data)
{
  int *calls = user_data;

  g_assert_cmpint (done, ==, *calls + 1);
  g_assert_cmpint (total, ==, 18);
  g_assert_cmpint (index, >=, 0);
  (*calls)++;
}

static void
test_run (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BsCompareResult) r = NULL;
  g_autofree char *csv = NULL;
  g_auto(GStrv) lines = NULL;
  int slices[3] = { 4, 5, 6 }, calls = 0, n_available = 0;

  r = bs_compare_run (f->net, f->prepared, f->truth, f->geom, slices, 3, 1, NULL,
                      count_progress, &calls, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (r);
  g_assert_cmpint (calls, ==, 18);
  g_assert_cmpint (r->n_rows, ==, 18);
  g_assert_cmpint (r->n_slices, ==, 3);
  g_assert_cmpint (r->height, ==, 32);
  g_assert_cmpint (r->width, ==, 32);

  const BsCompareRow *ref = &r->rows[r->reference];
  g_assert_cmpint (ref->precision, ==, BS_PRECISION_FP32);
  g_assert_cmpint (ref->layout, ==, BS_MEMLAYOUT_BLOCKED);
  g_assert_true (ref->fusion);
  g_assert_true (ref->available);
  g_assert_cmpfloat (ref->dice_delta, ==, 0.0);
  g_assert_cmpfloat (ref->agreement, ==, 1.0);

  for (int i = 0; i < r->n_rows; i++)
    {
      const BsCompareRow *row = &r->rows[i];

      /* Every configuration appears exactly once. */
      for (int j = 0; j < i; j++)
        g_assert_false (r->rows[j].precision == row->precision && r->rows[j].layout == row->layout &&
                        r->rows[j].fusion == row->fusion);
      if (!row->available)
        {
          g_assert_nonnull (row->reason);
          g_assert_cmpstr (row->reason, !=, "");
          g_assert_true (isnan (row->ms_per_slice));
          continue;
        }
      n_available++;
      g_assert_null (row->reason);
      g_assert_cmpfloat (row->ms_per_slice, >, 0.0);
      g_assert_cmpfloat (row->dice, >=, 0.0);
      g_assert_cmpfloat (row->dice, <=, 1.0);
      g_assert_cmpfloat_with_epsilon (row->dice_delta, row->dice - ref->dice, 1e-12);
      /* fp32 in any layout, fused or not, computes the same network. */
      if (row->precision == BS_PRECISION_FP32)
        g_assert_cmpfloat (row->agreement, >=, 0.99);
    }
  /* fp32 runs in all six layouts x fusion combinations everywhere. */
  g_assert_cmpint (n_available, >=, 6);

  csv = bs_compare_csv_text (r);
  lines = g_strsplit (csv, "\n", -1);
  g_assert_cmpint (g_strv_length (lines), ==, 18 + 2);
  g_assert_true (g_str_has_prefix (lines[0], "precision,layout,fusion,available,ms_per_slice,"));
  g_assert_true (g_str_has_prefix (lines[r->reference + 1], "fp32,blocked,on,yes,"));
}

static void
test_without_truth_and_cancel (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  BsCompareResult *r;
  int slices[1] = { 5 };

  g_cancellable_cancel (cancellable);
  r = bs_compare_run (f->net, f->prepared, NULL, f->geom, slices, 1, 1, NULL, NULL, NULL,
                      cancellable, &error);
  g_assert_null (r);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);

  r = bs_compare_run (f->net, f->prepared, NULL, f->geom, slices, 0, 1, NULL, NULL, NULL, NULL, &error);
  g_assert_null (r);
  g_assert_nonnull (error);
}

/* "All cores" is judged once per run: every configuration runs on the
 * same threads, which the result reports (each plan used to judge the free
 * cores anew, so one row could run on 2 threads and the next on 1). */
static void
test_compare_threads (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  int slices[1] = { 5 };

  for (int asked = 0; asked <= 1; asked++)
    {
      g_autoptr(BsCompareResult) r = bs_compare_run (f->net, f->prepared, NULL, f->geom, slices, 1, asked, NULL,
                                                     NULL, NULL, NULL, &error);
      int ran = 0;

      g_assert_no_error (error);
      g_assert_cmpint (r->threads, ==, asked);
      g_assert_cmpint (r->threads_used, >=, 1);
      g_assert_cmpint (r->threads_used, <=, MAX (asked, bs_cpu_cores ()));
      if (asked > 0)
        g_assert_cmpint (r->threads_used, ==, asked);
      for (int i = 0; i < r->n_rows; i++)
        if (r->rows[i].available)
          {
            g_assert_cmpint (r->rows[i].threads, ==, r->threads_used);
            ran++;
          }
        else
          g_assert_cmpint (r->rows[i].threads, ==, 0);
      g_test_message ("asked %d: %d rows on %d threads", asked, ran, r->threads_used);
      g_assert_cmpint (ran, >=, 6);
    }
}

/* A difference that rounds to zero shows no sign of a loss or a gain; the
 * others keep theirs (walk finding: "-0.0000" beside "+0.0000"). */
static void
test_format_delta (void)
{
  static const struct { double d; const char *shown; } cases[] = {
    { 0.0, "±0.0000" }, { -0.0, "±0.0000" }, { -0.00004, "±0.0000" }, { 0.00004, "±0.0000" },
    { -0.0002, "-0.0002" }, { 0.0012, "+0.0012" }, { -0.0123, "-0.0123" }, { 1.0, "+1.0000" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *shown = bs_compare_format_delta (cases[i].d);

      g_assert_cmpstr (shown, ==, cases[i].shown);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/compare/format-delta", test_format_delta);
  g_test_add ("/compare/pick-slices", Fixture, NULL, fixture_set_up, test_pick_slices, fixture_tear_down);
  g_test_add ("/compare/run", Fixture, NULL, fixture_set_up, test_run, fixture_tear_down);
  /* A region model (WT, TC, ET): the rows judge its whole-tumour output. */
  g_test_add ("/compare/run-regions", Fixture, GINT_TO_POINTER (3), fixture_set_up, test_run, fixture_tear_down);
  g_test_add ("/compare/cancel", Fixture, NULL, fixture_set_up, test_without_truth_and_cancel, fixture_tear_down);
  g_test_add ("/compare/threads", Fixture, NULL, fixture_set_up, test_compare_threads, fixture_tear_down);
  return g_test_run ();
}
