/* Volume inference plumbing: modality selection, padding to multiples of 16,
 * slices out and back in display orientation, batches, progress, cancel. */
#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "bs-error.h"
#include "bs-infer.h"
#include "bs-plan.h"
#include "bs-unet.h"

static BsVolume *
make_image (int nx, int ny, int nz, const char *const *names)
{
  int nc = g_strv_length ((char **) names);
  BsVolume *v = bs_volume_new (nx, ny, nz, nc);

  for (int c = 0; c < nc; c++)
    {
      g_free (v->channel_names[c]);
      v->channel_names[c] = g_strdup (names[c]);
      for (gsize i = 0; i < bs_volume_n_voxels (v); i++)
        bs_volume_channel (v, c)[i] = 100.0f * (c + 1) + (float) (i % 97);
    }
  /* LPS, as the BraTS 2015 files: display must flip both in-plane axes. */
  v->affine[0][0] = -1.0;
  v->affine[1][1] = -1.0;
  return v;
}

static void
test_prepare (void)
{
  static const char *const names[] = { "T1w", "t2f", NULL };
  g_autoptr(BsVolume) img = make_image (20, 18, 4, names);
  BsUnetConfig c = { .fms = 2, .in_channels = 1 };
  g_autoptr(BsUnet) net = bs_unet_new_random (&c, 1);
  g_autoptr(BsVolume) prep = NULL;
  g_autoptr(GError) error = NULL;
  double mean = 0.0;

  /* The model wants FLAIR; the image calls it t2f and keeps it second. */
  prep = bs_infer_prepare (net, img, &error);
  g_assert_no_error (error);
  g_assert_cmpint (prep->n_channels, ==, 1);
  g_assert_cmpstr (prep->channel_names[0], ==, "FLAIR");
  for (gsize i = 0; i < bs_volume_n_voxels (prep); i++)
    mean += prep->data[i];
  mean /= bs_volume_n_voxels (prep);
  /* Normalised: no longer the raw 200+ values of channel 1. */
  g_assert_cmpfloat (fabs (mean), <, 1.0);
  g_clear_pointer (&prep, bs_volume_free);

  g_strfreev (net->config.modalities);
  net->config.modalities = g_strsplit ("T1gd", ",", -1);
  prep = bs_infer_prepare (net, img, &error);
  g_assert_null (prep);
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "T1gd"));
}

static void
test_fill_store_roundtrip (void)
{
  static const char *const names[] = { "FLAIR", NULL };
  g_autoptr(BsVolume) img = make_image (37, 21, 5, names);
  g_autoptr(BsVolume) back = bs_volume_new_like (img, 1);

  for (int plane = 0; plane < 3; plane++)
    {
      int h, w, sw, sh, n = bs_volume_n_slices (img, plane);
      g_autofree float *buf = NULL;

      bs_infer_padded_size (img, plane, &h, &w);
      bs_volume_slice_size (img, plane, &sw, &sh);
      g_assert_cmpint (h % 16, ==, 0);
      g_assert_cmpint (w % 16, ==, 0);
      g_assert_cmpint (h, >=, sh);
      g_assert_cmpint (w, >=, sw);
      g_assert_cmpint (h, <, sh + 16);
      buf = g_new (float, (gsize) n * h * w);
      bs_infer_fill_input (img, plane, 0, n, h, w, buf);
      memset (back->data, 0, bs_volume_n_voxels (back) * sizeof (float));
      bs_infer_store_output (back, plane, 0, n, h, w, buf);
      g_assert_cmpint (memcmp (back->data, img->data, bs_volume_n_voxels (img) * sizeof (float)), ==, 0);
    }
}

typedef struct {
  int calls, last_done, total;
  GCancellable *cancel_after_first;
} Progress;

static void
on_progress (int done, int total, gpointer user_data)
{
  Progress *p = user_data;
  g_assert_cmpint (done, >, p->last_done);
  p->calls++;
  p->last_done = done;
  p->total = total;
  if (p->cancel_after_first)
    g_cancellable_cancel (p->cancel_after_first);
}

static void
test_volume (void)
{
  static const char *const names[] = { "FLAIR", NULL };
  g_autoptr(BsVolume) img = make_image (40, 36, 7, names);
  BsUnetConfig c = { .fms = 4, .in_channels = 1 };
  g_autoptr(BsUnet) net = bs_unet_new_random (&c, 3);
  g_autoptr(BsVolume) prep = NULL;
  g_autoptr(BsVolume) prob = NULL;
  g_autoptr(BsPlan) plan = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  BsPlanOptions o;
  BsTiming t;
  Progress p = { 0 };
  int h, w;

  prep = bs_infer_prepare (net, img, &error);
  g_assert_no_error (error);
  bs_infer_padded_size (prep, BS_PLANE_AXIAL, &h, &w);
  bs_plan_options_init (&o);
  o.batch = 3;
  o.threads = 1;
  plan = bs_plan_new (net, h, w, &o, NULL, &error);
  g_assert_no_error (error);
  prob = bs_volume_new_like (prep, 1);
  bs_timing_reset (&t);
  g_assert_true (bs_infer_volume (plan, prep, BS_PLANE_AXIAL, prob, &t, on_progress, &p, NULL, &error));
  g_assert_no_error (error);
  /* 7 slices in batches of 3: three runs. */
  g_assert_cmpint (p.calls, ==, 3);
  g_assert_cmpint (p.last_done, ==, 7);
  g_assert_cmpint (p.total, ==, 7);
  g_assert_cmpint (t.n_slices, ==, 7);
  g_assert_cmpfloat (bs_timing_stage_ms (&t, "network"), >, 0.0);
  for (gsize i = 0; i < bs_volume_n_voxels (prob); i++)
    g_assert_true (prob->data[i] > 0.0f && prob->data[i] < 1.0f);

  /* Each slice equals the reference on that slice alone. */
  {
    int k = 5;
    g_autofree float *in = g_new (float, (gsize) h * w);
    g_autofree float *ref = g_new (float, (gsize) h * w);
    g_autofree float *mine = g_new (float, (gsize) h * w);
    g_autoptr(BsVolume) one = bs_volume_new_like (prep, 1);
    double max_err = 0.0;

    bs_infer_fill_input (prep, BS_PLANE_AXIAL, k, 1, h, w, in);
    bs_reference_forward (net, in, 1, h, w, ref);
    bs_infer_store_output (one, BS_PLANE_AXIAL, k, 1, h, w, ref);
    bs_infer_fill_input (one, BS_PLANE_AXIAL, k, 1, h, w, ref);
    bs_infer_fill_input (prob, BS_PLANE_AXIAL, k, 1, h, w, mine);
    for (int i = 0; i < h * w; i++)
      max_err = MAX (max_err, fabs (ref[i] - mine[i]));
    g_assert_cmpfloat (max_err, <, 1e-4);
  }

  /* Cancelled after the first batch: an error, and no further batches. */
  p = (Progress) { 0 };
  p.cancel_after_first = cancel;
  g_assert_false (bs_infer_volume (plan, prep, BS_PLANE_AXIAL, prob, NULL, on_progress, &p, cancel, &error));
  g_assert_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_CANCELLED);
  g_assert_cmpint (p.calls, ==, 1);
  g_clear_error (&error);

  /* A plan for another size is refused. */
  g_assert_false (bs_infer_volume (plan, prep, BS_PLANE_CORONAL, prob, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_SIZE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/infer/prepare", test_prepare);
  g_test_add_func ("/infer/fill-store-roundtrip", test_fill_store_roundtrip);
  g_test_add_func ("/infer/volume", test_volume);
  return g_test_run ();
}
