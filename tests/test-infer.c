/* Volume inference plumbing: modality selection, padding to multiples of 16,
 * slices out and back in display orientation, batches, progress, cancel. */
#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "bs-error.h"
#include "bs-infer.h"
#include "bs-plan.h"
#include "bs-preprocess.h"
#include "bs-random.h"
#include "bs-reference.h"
#include "bs-segment.h"
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

      g_autoptr(BsInferGeometry) geom = bs_infer_geometry_new (img, plane, FALSE);

      h = geom->ph;
      w = geom->pw;
      bs_volume_slice_size (img, plane, &sw, &sh);
      g_assert_cmpint (geom->n_brain, ==, n);
      g_assert_cmpint (h % 16, ==, 0);
      g_assert_cmpint (w % 16, ==, 0);
      g_assert_cmpint (h, >=, sh);
      g_assert_cmpint (w, >=, sw);
      g_assert_cmpint (h, <, sh + 16);
      buf = g_new (float, (gsize) n * h * w);
      bs_infer_fill_input (img, geom, 0, n, buf);
      memset (back->data, 0, bs_volume_n_voxels (back) * sizeof (float));
      bs_infer_store_output (back, geom, buf, 1, 0, n, buf);
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
  g_autoptr(BsVolume) img = make_image (40, 36, 20, names);
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
  g_autoptr(BsInferGeometry) geom = NULL;
  g_autoptr(BsInferGeometry) coronal = NULL;

  prep = bs_infer_prepare (net, img, &error);
  g_assert_no_error (error);
  geom = bs_infer_geometry_new (prep, BS_PLANE_AXIAL, FALSE);
  coronal = bs_infer_geometry_new (prep, BS_PLANE_CORONAL, FALSE);
  h = geom->ph;
  w = geom->pw;
  bs_plan_options_init (&o);
  o.batch = 3;
  o.threads = 1;
  plan = bs_plan_new (net, h, w, &o, NULL, &error);
  g_assert_no_error (error);
  prob = bs_volume_new_like (prep, 1);
  bs_timing_reset (&t);
  g_assert_true (bs_infer_volume (plan, prep, geom, prob, &t, on_progress, &p, NULL, &error));
  g_assert_no_error (error);
  /* 20 slices in batches of 3, gathered in chunks of whole batches of at
   * least 8 slices (9, 9, 2): a progress call after each chunk. */
  g_assert_cmpint (p.calls, ==, 3);
  g_assert_cmpint (p.last_done, ==, 20);
  g_assert_cmpint (p.total, ==, 20);
  g_assert_cmpint (t.n_slices, ==, 20);
  g_assert_cmpfloat (bs_timing_stage_ms (&t, "network"), >, 0.0);
  /* A probability in the head; 0 where every input channel is 0 (outside it). */
  {
    gsize outside = 0;

    for (gsize i = 0; i < bs_volume_n_voxels (prob); i++)
      {
        gboolean empty = TRUE;

        for (int k = 0; k < prep->n_channels && empty; k++)
          empty = bs_volume_channel (prep, k)[i] == 0.0f;
        if (empty)
          g_assert_cmpfloat (prob->data[i], ==, 0.0f);
        else
          g_assert_true (prob->data[i] > 0.0f && prob->data[i] < 1.0f);
        outside += empty;
      }
    g_assert_cmpuint (outside, >, 0);
  }

  /* Each slice equals the reference on that slice alone. */
  {
    int k = 5;
    g_autofree float *in = g_new (float, (gsize) h * w);
    g_autofree float *ref = g_new (float, (gsize) h * w);
    g_autofree float *mine = g_new (float, (gsize) h * w);
    g_autoptr(BsVolume) one = bs_volume_new_like (prep, 1);
    double max_err = 0.0;

    bs_infer_fill_slice (prep, geom, k, in);
    bs_reference_forward (net, in, 1, h, w, ref);
    bs_infer_store_output (one, geom, in, prep->n_channels, k, 1, ref);
    bs_infer_fill_slice (one, geom, k, ref);
    bs_infer_fill_slice (prob, geom, k, mine);
    for (int i = 0; i < h * w; i++)
      max_err = MAX (max_err, fabs (ref[i] - mine[i]));
    g_assert_cmpfloat (max_err, <, 1e-4);
  }

  /* Cancelled after the first chunk: an error, and no further chunks. */
  p = (Progress) { 0 };
  p.cancel_after_first = cancel;
  g_assert_false (bs_infer_volume (plan, prep, geom, prob, NULL, on_progress, &p, cancel, &error));
  g_assert_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_CANCELLED);
  g_assert_cmpint (p.calls, ==, 1);
  g_clear_error (&error);

  /* A plan for another size is refused. */
  g_assert_false (bs_infer_volume (plan, prep, coronal, prob, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_SIZE);
}

/* Lanes (slice_parallel): the same probabilities as one thread, bit for
 * bit, whole slices stored and slices added into a box; progress ends on the
 * total; a cancellation stops every lane. */
static void
test_lanes (void)
{
  static const char *const names[] = { "FLAIR", NULL };
  g_autoptr(BsVolume) img = make_image (40, 36, 23, names);
  BsUnetConfig c = { .fms = 4, .in_channels = 1 };
  g_autoptr(BsUnet) net = bs_unet_new_random (&c, 5);
  g_autoptr(BsVolume) prep = NULL;
  g_autoptr(BsInferGeometry) geom = NULL;
  g_autoptr(BsPlan) one = NULL;
  g_autoptr(BsPlan) lanes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_autoptr(BsVolume) a = NULL;
  g_autoptr(BsVolume) b = NULL;
  g_autofree guint8 *selected = NULL;
  BsPlanOptions o;
  BsTiming t;
  Progress p = { 0 };
  int lo[3] = { 5, 4, 3 }, hi[3] = { 30, 27, 17 };

  prep = bs_infer_prepare (net, img, &error);
  g_assert_no_error (error);
  geom = bs_infer_geometry_new (prep, BS_PLANE_AXIAL, FALSE);
  bs_plan_options_init (&o);
  g_assert_true (o.slice_parallel);
  o.batch = 2;
  o.threads = 1;
  one = bs_plan_new (net, geom->ph, geom->pw, &o, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bs_plan_get_lanes (one), ==, 1);
  o.threads = 3;   /* more lanes than this machine may have cores: still right */
  lanes = bs_plan_new (net, geom->ph, geom->pw, &o, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bs_plan_get_lanes (lanes), ==, 3);
  g_assert_cmpint (bs_plan_get_threads (lanes), ==, 3);

  a = bs_volume_new_like (prep, 1);
  b = bs_volume_new_like (prep, 1);
  for (gsize i = 0; i < bs_volume_n_voxels (b); i++)   /* every voxel written, none left over */
    b->data[i] = 0.5f;
  g_assert_true (bs_infer_volume (one, prep, geom, a, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  bs_timing_reset (&t);
  g_assert_true (bs_infer_volume (lanes, prep, geom, b, &t, on_progress, &p, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (a->data, bs_volume_n_voxels (a) * sizeof (float), b->data, bs_volume_n_voxels (b) * sizeof (float));
  g_assert_cmpint (p.last_done, ==, 23);
  g_assert_cmpint (p.total, ==, 23);
  g_assert_cmpint (t.n_slices, ==, 23);
  g_assert_cmpfloat (bs_timing_stage_ms (&t, "network"), >, 0.0);

  /* Selected slices added into a box, as the other planes' passes do. */
  selected = g_new0 (guint8, geom->n_slices);
  for (int k = 2; k < geom->n_slices; k += 3)
    selected[k] = 1;
  g_assert_true (bs_infer_slices_add (one, prep, geom, selected, a, lo, hi, NULL, NULL, NULL, NULL, &error));
  g_assert_true (bs_infer_slices_add (lanes, prep, geom, selected, b, lo, hi, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (a->data, bs_volume_n_voxels (a) * sizeof (float), b->data, bs_volume_n_voxels (b) * sizeof (float));

  /* bs_plan_run hands a batch, or up to batch x lanes slices, to the lanes. */
  for (int n = 1; n <= 6; n++)
    {
      gsize per_in = bs_infer_slice_floats (prep, geom), per_out = (gsize) geom->ph * geom->pw;
      g_autofree float *in = g_new (float, n * per_in);
      g_autofree float *out_one = g_new (float, n * per_out);
      g_autofree float *out_lanes = g_new (float, n * per_out);
      BsTiming tl;

      bs_infer_fill_input (prep, geom, 10, n, in);
      for (int s = 0; s < n; s += 2)
        g_assert_true (bs_plan_run (one, in + s * per_in, MIN (2, n - s), out_one + s * per_out, NULL, &error));
      bs_timing_reset (&tl);
      g_assert_true (bs_plan_run (lanes, in, n, out_lanes, &tl, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (out_one, n * per_out * sizeof (float), out_lanes, n * per_out * sizeof (float));
      g_assert_cmpint (tl.n_slices, ==, n);
    }

  /* Cancelled at lane 0's first report: an error, and no more reports.
   * (Three lanes on fewer cores: while lane 0 waits for a core the others
   * may take every remaining batch before it reports, and a run whose
   * every batch was taken finishes; then it must have finished whole.) */
  p = (Progress) { 0 };
  p.cancel_after_first = cancel;
  if (bs_infer_volume (lanes, prep, geom, b, NULL, on_progress, &p, cancel, &error))
    {
      g_autoptr(BsVolume) c = bs_volume_new_like (prep, 1);

      g_test_message ("every batch was taken before the cancel came: the run finished");
      g_assert_no_error (error);
      g_assert_cmpint (p.last_done, ==, p.total);
      g_assert_true (bs_infer_volume (one, prep, geom, c, NULL, NULL, NULL, NULL, &error));
      g_assert_cmpmem (c->data, bs_volume_n_voxels (c) * sizeof (float), b->data,
                       bs_volume_n_voxels (b) * sizeof (float));
    }
  else
    {
      g_assert_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_CANCELLED);
      g_assert_cmpint (p.calls, ==, 1);
    }
}

/* A head in a box of air: brain at x 70..129, y 40..169 of a 240x200 slice,
 * on slices 3..8 of 12.  Intensities vary so that the network has edges to see. */
static BsVolume *
make_head (void)
{
  BsVolume *v = bs_volume_new (240, 200, 12, 1);

  g_free (v->channel_names[0]);
  v->channel_names[0] = g_strdup ("FLAIR");
  for (int z = 3; z <= 8; z++)
    for (int y = 40; y <= 169; y++)
      for (int x = 70; x <= 129; x++)
        v->data[((gsize) z * 200 + y) * 240 + x] = 50.0f + (float) ((x * 7 + y * 3 + z) % 23);
  return v;
}

static void
test_geometry_crop (void)
{
  g_autoptr(BsVolume) img = make_head ();
  g_autoptr(BsInferGeometry) g = bs_infer_geometry_new (img, BS_PLANE_AXIAL, TRUE);
  g_autoptr(BsInferGeometry) whole = bs_infer_geometry_new (img, BS_PLANE_AXIAL, FALSE);
  g_autofree float *slice = g_new (float, 240 * 200);
  int bx0 = 240, by0 = 200, bx1 = -1, by1 = -1;

  g_assert_true (g->cropped);
  g_assert_cmpint (g->n_brain, ==, 6);
  for (int k = 0; k < 12; k++)
    g_assert_cmpint (g->brain[k], ==, k >= 3 && k <= 8);
  g_assert_cmpint (whole->n_brain, ==, 12);
  g_assert_cmpint (whole->pw, ==, 240);
  g_assert_cmpint (whole->ph, ==, 208);
  g_assert_cmpint (whole->y0, ==, -4);

  /* The brain's box in display coordinates (the affine may flip it). */
  for (int k = 3; k <= 8; k++)
    {
      bs_volume_get_slice (img, 0, BS_PLANE_AXIAL, k, slice);
      for (int y = 0; y < 200; y++)
        for (int x = 0; x < 240; x++)
          if (slice[y * 240 + x] != 0.0f)
            {
              bx0 = MIN (bx0, x);
              bx1 = MAX (bx1, x);
              by0 = MIN (by0, y);
              by1 = MAX (by1, y);
            }
    }
  /* Multiples of 16, on the whole frame's 16-pixel grid, inside the frame,
   * holding the box and the margin, and smaller than the whole slice. */
  g_assert_cmpint (g->pw % 16, ==, 0);
  g_assert_cmpint (g->ph % 16, ==, 0);
  g_assert_cmpint ((g->x0 - whole->x0) % 16, ==, 0);
  g_assert_cmpint ((g->y0 - whole->y0) % 16, ==, 0);
  g_assert_cmpint (g->x0, >=, whole->x0);
  g_assert_cmpint (g->y0, >=, whole->y0);
  g_assert_cmpint (g->x0 + g->pw, <=, whole->x0 + whole->pw);
  g_assert_cmpint (g->y0 + g->ph, <=, whole->y0 + whole->ph);
  g_assert_cmpint (g->x0, <=, bx0 - BS_INFER_CROP_MARGIN);
  g_assert_cmpint (g->y0, <=, by0 - BS_INFER_CROP_MARGIN);
  g_assert_cmpint (g->x0 + g->pw, >, bx1 + BS_INFER_CROP_MARGIN);
  g_assert_cmpint (g->y0 + g->ph, >, by1 + BS_INFER_CROP_MARGIN);
  g_assert_cmpint (g->pw, <=, bs_preprocess_round16 (bx1 - bx0 + 1 + 2 * BS_INFER_CROP_MARGIN) + 16);
  g_assert_cmpint (g->pw * g->ph, <, whole->pw * whole->ph / 2);

  /* An empty volume runs nothing but keeps a buildable size. */
  {
    g_autoptr(BsVolume) air = bs_volume_new (40, 36, 3, 1);
    g_autoptr(BsInferGeometry) none = bs_infer_geometry_new (air, BS_PLANE_AXIAL, TRUE);

    g_assert_cmpint (none->n_brain, ==, 0);
    g_assert_cmpint (none->pw, ==, 48);
    g_assert_cmpint (none->ph, ==, 48);
  }
}

/* The window rule as the header states it, for the check below: the box
 * grown by the margin, inside the whole frame, start on its 16-pixel grid,
 * size rounded up to 16. */
static void
expected_axis (int lo, int hi, int f0, int full, int *start, int *size)
{
  int a = MAX (lo - BS_INFER_CROP_MARGIN, f0), b = MIN (hi + BS_INFER_CROP_MARGIN, f0 + full);

  a = f0 + (a - f0) / 16 * 16;
  *size = MIN (bs_preprocess_round16 (b - a), full);
  *start = MIN (a, f0 + full - *size);
}

/* The brain flags and window of every plane, for volumes whose voxel axes
 * lie along any world axis in either direction, against a box found slice by
 * slice from every channel's displayed pixels. */
static void
test_geometry_every_orientation (void)
{
  guint64 seed = 20261205;

  for (int trial = 0; trial < 12; trial++)
    {
      int dims[3] = { 96 + trial % 5 * 9, 80 + trial % 3 * 7, 72 + trial % 4 * 5 }, perm[3] = { 0, 1, 2 };
      g_autoptr(BsVolume) v = bs_volume_new (dims[0], dims[1], dims[2], 2);
      gsize n = bs_volume_n_voxels (v);

      /* a random permutation and signs for the affine */
      for (int a = 2; a > 0; a--)
        {
          int b = (int) (bs_splitmix64 (&seed) % (guint64) (a + 1)), t = perm[a];

          perm[a] = perm[b];
          perm[b] = t;
        }
      memset (v->affine, 0, sizeof v->affine);
      for (int a = 0; a < 3; a++)
        v->affine[perm[a]][a] = (bs_splitmix64 (&seed) & 1) ? 1.0 : -1.0;
      v->affine[3][3] = 1.0;
      /* scattered voxels on either channel in a box off the centre (so that
       * a window mirrored along any axis would differ), none on some slabs */
      for (int s = 0; s < 40 + trial * 10; s++)
        {
          int ijk[3], c = (int) (bs_splitmix64 (&seed) & 1);

          for (int a = 0; a < 3; a++)
            ijk[a] = (int) (bs_splitmix64 (&seed) % (guint64) (dims[a] / 3));
          if (ijk[2] % 4 != 1)
            v->data[(gsize) c * n + ((gsize) ijk[2] * dims[1] + ijk[1]) * dims[0] + ijk[0]] = (float) (1 + s % 3);
        }
      for (int p = 0; p < 3; p++)
        {
          g_autoptr(BsInferGeometry) g = bs_infer_geometry_new (v, (BsPlane) p, TRUE);
          int w, h, ns = bs_volume_n_slices (v, (BsPlane) p), n_brain = 0;
          int bx0, by0, bx1 = -1, by1 = -1, x0, pw, y0, ph;

          bs_volume_slice_size (v, (BsPlane) p, &w, &h);
          bx0 = w;
          by0 = h;
          g_autofree float *buf = g_new (float, (gsize) w * h);
          for (int s = 0; s < ns; s++)
            {
              gboolean any = FALSE;

              for (int c = 0; c < 2; c++)
                {
                  bs_volume_get_slice (v, c, (BsPlane) p, s, buf);
                  for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                      if (buf[y * w + x] != 0.0f)
                        {
                          any = TRUE;
                          bx0 = MIN (bx0, x);
                          bx1 = MAX (bx1, x);
                          by0 = MIN (by0, y);
                          by1 = MAX (by1, y);
                        }
                }
              g_assert_cmpint (g->brain[s], ==, any);
              n_brain += any;
            }
          g_assert_cmpint (g->n_brain, ==, n_brain);
          g_assert_cmpint (n_brain, >, 0);
          expected_axis (bx0, bx1 + 1, -((bs_preprocess_round16 (w) - w) / 2), bs_preprocess_round16 (w), &x0, &pw);
          expected_axis (by0, by1 + 1, -((bs_preprocess_round16 (h) - h) / 2), bs_preprocess_round16 (h), &y0, &ph);
          g_assert_cmpint (g->x0, ==, x0);
          g_assert_cmpint (g->pw, ==, pw);
          g_assert_cmpint (g->y0, ==, y0);
          g_assert_cmpint (g->ph, ==, ph);
        }
    }
}

/* Cropped inference agrees with whole-slice inference: same mask on >= 99.9 %
 * of the voxels either run is sure of, 0 on slices without brain, progress
 * over every slice.  (tests/test-crosscheck.py measures it on real cases.) */
static void
test_volume_crop (void)
{
  g_autoptr(BsVolume) img = make_head ();
  BsUnetConfig c = { .fms = 4, .in_channels = 1 };
  g_autoptr(BsUnet) net = bs_unet_new_random (&c, 11);
  g_autoptr(BsVolume) prep = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BsInferGeometry) gc = NULL, gw = NULL;
  g_autoptr(BsPlan) pc = NULL, pw = NULL;
  g_autoptr(BsVolume) prob_c = NULL, prob_w = NULL;
  BsPlanOptions o;
  BsTiming t;
  Progress p = { 0 };
  gsize n, agree = 0, brain = 0;
  double max_diff = 0.0;

  prep = bs_infer_prepare (net, img, &error);
  g_assert_no_error (error);
  gc = bs_infer_geometry_new (prep, BS_PLANE_AXIAL, TRUE);
  gw = bs_infer_geometry_new (prep, BS_PLANE_AXIAL, FALSE);
  bs_plan_options_init (&o);
  o.threads = 1;
  o.batch = 4;
  pc = bs_plan_new (net, gc->ph, gc->pw, &o, NULL, &error);
  g_assert_no_error (error);
  pw = bs_plan_new (net, gw->ph, gw->pw, &o, NULL, &error);
  g_assert_no_error (error);
  prob_c = bs_volume_new_like (prep, 1);
  prob_w = bs_volume_new_like (prep, 1);
  for (gsize i = 0; i < bs_volume_n_voxels (prob_c); i++)
    prob_c->data[i] = 0.75f;   /* skipped slices must be overwritten with 0 */
  bs_timing_reset (&t);
  g_assert_true (bs_infer_volume (pc, prep, gc, prob_c, &t, on_progress, &p, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (p.last_done, ==, 12);
  g_assert_cmpint (t.n_slices, ==, 6);   /* only the brain slices ran */
  g_assert_true (bs_infer_volume (pw, prep, gw, prob_w, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  n = bs_volume_n_voxels (prob_c);
  for (gsize i = 0; i < n; i++)
    {
      gsize z = i / (240 * 200);
      gboolean in_brain = z >= 3 && z <= 8;

      if (!in_brain)
        g_assert_cmpfloat (prob_c->data[i], ==, 0.0f);
      else
        {
          /* A random network leaves many voxels near 0.5, where the
           * cropped frame's different border may tip them: judge the rest. */
          if (fabs (prob_w->data[i] - 0.5f) < 0.05f)
            continue;
          brain++;
          agree += (prob_c->data[i] > 0.5f) == (prob_w->data[i] > 0.5f);
        }
    }
  /* Inside the brain's box the two runs see the same pixels. */
  for (int z = 3; z <= 8; z++)
    for (int y = 40; y <= 169; y++)
      for (int x = 70; x <= 129; x++)
        {
          gsize i = ((gsize) z * 200 + y) * 240 + x;
          max_diff = MAX (max_diff, fabs (prob_c->data[i] - prob_w->data[i]));
        }
  g_test_message ("agreement %.6f, largest difference inside the box %.6f", (double) agree / (double) brain, max_diff);
  g_assert_cmpfloat ((double) agree / (double) brain, >=, 0.999);
  g_assert_cmpfloat (max_diff, <, 0.05);
}

/* A region model (WT, TC, ET) on a cropped case: a three-channel prob volume
 * whose channel c on every brain slice is the reference's output c on that
 * slice's window, put back where the window sits, and 0 outside the head and
 * on slices without brain in every channel.  A one-channel volume takes the
 * whole tumour (output 0) alone; a volume with more channels than the model
 * has outputs is refused. */
static void
test_volume_regions (void)
{
  g_autoptr(BsVolume) img = make_head ();
  BsUnetConfig c = { .fms = 4, .in_channels = 1, .out_channels = 3 };
  g_autoptr(BsUnet) net = bs_unet_new_random (&c, 23);
  g_autoptr(BsVolume) prep = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BsInferGeometry) geom = NULL;
  g_autoptr(BsPlan) plan = NULL;
  g_autoptr(BsVolume) prob = NULL, wt = NULL, too_many = NULL;
  BsPlanOptions o;
  gsize nvox;
  int h, w;
  double max_err = 0.0, max_wt = 0.0, channel_gap = 0.0;

  /* Biases that set the outputs apart (WT mostly on, ET mostly off). */
  {
    BsUnetLayer *pm = bs_unet_find_layer (net, "PredictionMask");
    pm->bias[0] = 1.0f;
    pm->bias[1] = 0.0f;
    pm->bias[2] = -1.0f;
  }
  prep = bs_infer_prepare (net, img, &error);
  g_assert_no_error (error);
  geom = bs_infer_geometry_new (prep, BS_PLANE_AXIAL, TRUE);
  h = geom->ph;
  w = geom->pw;
  bs_plan_options_init (&o);
  o.threads = 1;
  o.batch = 4;  /* 6 brain slices: a full batch and a short one */
  plan = bs_plan_new (net, h, w, &o, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bs_plan_get_outputs (plan), ==, 3);
  prob = bs_volume_new_like (prep, 3);
  for (gsize i = 0; i < 3 * bs_volume_n_voxels (prob); i++)
    prob->data[i] = 0.75f;  /* skipped slices must be overwritten with 0 in every channel */
  g_assert_true (bs_infer_volume (plan, prep, geom, prob, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  wt = bs_volume_new_like (prep, 1);
  g_assert_true (bs_infer_volume (plan, prep, geom, wt, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  nvox = bs_volume_n_voxels (prob);
  for (gsize i = 0; i < nvox; i++)
    {
      gboolean empty = prep->data[i] == 0.0f;

      for (int ch = 0; ch < 3; ch++)
        {
          float v = bs_volume_channel (prob, ch)[i];
          if (empty)
            g_assert_cmpfloat (v, ==, 0.0f);
          else
            g_assert_true (v > 0.0f && v < 1.0f);
        }
      max_wt = MAX (max_wt, fabsf (wt->data[i] - prob->data[i]));
      if (!empty)
        channel_gap = MAX (channel_gap, fabsf (bs_volume_channel (prob, 0)[i] - bs_volume_channel (prob, 2)[i]));
    }
  g_assert_cmpfloat (max_wt, ==, 0.0);
  g_assert_cmpfloat (channel_gap, >, 0.1);

  /* Every brain slice, every channel, against the reference on its window. */
  {
    gsize plane = (gsize) h * w, px = (gsize) geom->width * geom->height;
    g_autofree float *in = g_new (float, plane);
    g_autofree float *ref = g_new (float, 3 * plane);
    g_autofree float *expect = g_new (float, px);
    g_autofree float *mine = g_new (float, px);

    for (int k = 0; k < geom->n_slices; k++)
      {
        if (!geom->brain[k])
          continue;
        bs_infer_fill_slice (prep, geom, k, in);
        bs_reference_forward (net, in, 1, h, w, ref);
        for (int ch = 0; ch < 3; ch++)
          {
            bs_infer_window_to_slice (geom, in, 1, ref + ch * plane, expect);
            bs_volume_get_slice (prob, ch, BS_PLANE_AXIAL, k, mine);
            for (gsize i = 0; i < px; i++)
              max_err = MAX (max_err, fabsf (expect[i] - mine[i]));
          }
      }
    g_assert_cmpfloat (max_err, <, 1e-4);
  }

  /* bs_infer_store_output of a batch: n x C maps into the C channels. */
  {
    gsize plane = (gsize) h * w;
    int k0 = 4;
    g_autofree float *in = g_new (float, 2 * plane);
    g_autofree float *ref = g_new (float, 2 * 3 * plane);
    g_autoptr(BsVolume) back = bs_volume_new_like (prep, 3);

    bs_infer_fill_input (prep, geom, k0, 2, in);
    bs_reference_forward (net, in, 2, h, w, ref);
    bs_infer_store_output (back, geom, in, 1, k0, 2, ref);
    for (int ch = 0; ch < 3; ch++)
      for (int z = k0; z < k0 + 2; z++)
        for (gsize i = 0; i < (gsize) 240 * 200; i++)
          {
            gsize v = (gsize) z * 240 * 200 + i;
            g_assert_cmpfloat (fabsf (bs_volume_channel (back, ch)[v] - bs_volume_channel (prob, ch)[v]), <, 1e-4);
          }
  }

  too_many = bs_volume_new_like (prep, 4);
  g_assert_false (bs_infer_volume (plan, prep, geom, too_many, NULL, NULL, NULL, NULL, &error));
  g_assert_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_SIZE);
}

/* Zero outside the head, per output plane. */
static void
test_zero_outside_head_outputs (void)
{
  const float input[2 * 4] = { 0, 1, 0, 0,   /* channel 0 */
                               0, 0, 2, 0 }; /* channel 1 */
  float probs[3 * 4];

  for (int i = 0; i < 12; i++)
    probs[i] = 0.5f + i * 0.01f;
  bs_infer_zero_outside_head_outputs (input, 2, 4, 3, probs);
  for (int o = 0; o < 3; o++)
    for (int p = 0; p < 4; p++)
      {
        gboolean head = p == 1 || p == 2;
        g_assert_cmpfloat (probs[o * 4 + p], ==, head ? 0.5f + (o * 4 + p) * 0.01f : 0.0f);
      }
}

/* 2.5D: slot s of a slice's input is bs_infer_context_slice's neighbour,
 * clamped at the ends; the volume runs every slice with its neighbours, and
 * bs_segment (the CLI's and export's path) gives the same volume. */
static void
test_context (void)
{
  static const char *const names[] = { "FLAIR", "T1gd", NULL };
  g_autoptr(BsVolume) img = make_image (40, 36, 7, names);
  BsUnetConfig c = { .fms = 4, .in_channels = 2, .context = 1 };
  g_autoptr(BsUnet) net = bs_unet_new_random (&c, 5);
  g_autoptr(BsVolume) prep = NULL;
  g_autoptr(BsVolume) prob = NULL;
  g_autoptr(BsPlan) plan = NULL;
  g_autoptr(BsInferGeometry) geom = NULL;
  g_autoptr(BsInferGeometry) flat = NULL;
  g_autoptr(BsSegmentResult) seg = NULL;
  g_autoptr(GError) error = NULL;
  BsPlanOptions o;
  BsSegmentOptions so;
  gsize plane;
  int n;

  g_assert_cmpint (bs_infer_context_slice (3, 0, 7), ==, 3);
  g_assert_cmpint (bs_infer_context_slice (3, 1, 7), ==, 2);
  g_assert_cmpint (bs_infer_context_slice (3, 2, 7), ==, 4);
  g_assert_cmpint (bs_infer_context_slice (3, 4, 7), ==, 5);
  g_assert_cmpint (bs_infer_context_slice (0, 1, 7), ==, 0);
  g_assert_cmpint (bs_infer_context_slice (6, 2, 7), ==, 6);
  g_assert_cmpint (bs_infer_context_slice (6, 3, 7), ==, 4);
  g_assert_cmpint (bs_infer_context_slice (6, 4, 7), ==, 6);

  prep = bs_infer_prepare (net, img, &error);
  g_assert_no_error (error);
  /* Slices that differ from their neighbours. */
  for (int k = 0; k < prep->n_channels; k++)
    for (gsize i = 0; i < bs_volume_n_voxels (prep); i++)
      if (bs_volume_channel (prep, k)[i] != 0.0f)
        bs_volume_channel (prep, k)[i] += 0.3f * (float) ((i * 7 + k) % 11) - 1.5f;
  geom = bs_infer_geometry_new_for_net (net, prep, BS_PLANE_AXIAL, FALSE);
  flat = bs_infer_geometry_new (prep, BS_PLANE_AXIAL, FALSE);
  /* The network's geometry takes its neighbours; a bare one none. */
  g_assert_cmpint (geom->context, ==, 1);
  g_assert_cmpint (flat->context, ==, 0);
  g_assert_cmpuint (bs_infer_slice_floats (prep, geom), ==, 3 * bs_infer_slice_floats (prep, flat));
  plane = (gsize) geom->ph * geom->pw;
  n = geom->n_slices;
  {
    g_autofree float *in = g_new (float, 6 * plane);
    g_autofree float *one = g_new (float, 2 * plane);
    const int expect[][3] = { { 0, 0, 1 }, { 3, 2, 4 }, { 6, 5, 6 } };

    for (gsize t = 0; t < G_N_ELEMENTS (expect); t++)
      {
        bs_infer_fill_slice (prep, geom, expect[t][0], in);
        for (int s = 0; s < 3; s++)
          {
            bs_infer_fill_slice (prep, flat, expect[t][s], one);
            g_assert_cmpmem (in + s * 2 * plane, 2 * plane * sizeof (float), one, 2 * plane * sizeof (float));
          }
      }
  }
  bs_plan_options_init (&o);
  o.batch = 3;
  o.threads = 1;
  plan = bs_plan_new (net, geom->ph, geom->pw, &o, NULL, &error);
  g_assert_no_error (error);
  prob = bs_volume_new_like (prep, 1);
  g_assert_true (bs_infer_volume (plan, prep, geom, prob, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  for (int k = 0; k < n; k += 3)
    {
      g_autofree float *in = g_new (float, 6 * plane);
      g_autofree float *ref = g_new (float, plane);
      g_autofree float *mine = g_new (float, plane);
      g_autofree float *centre = g_new (float, 6 * plane);
      g_autofree float *plain = g_new (float, plane);
      g_autoptr(BsVolume) back = bs_volume_new_like (prep, 1);
      double max_err = 0.0, moved = 0.0;

      bs_infer_fill_slice (prep, geom, k, in);
      bs_reference_forward (net, in, 1, geom->ph, geom->pw, ref);
      bs_infer_store_output (back, geom, in, prep->n_channels, k, 1, ref);
      bs_infer_fill_slice (back, flat, k, ref);
      bs_infer_fill_slice (prob, flat, k, mine);
      for (gsize i = 0; i < plane; i++)
        max_err = MAX (max_err, fabs (ref[i] - mine[i]));
      g_assert_cmpfloat (max_err, <, 1e-4);
      /* The neighbours matter: the slice repeated in every slot gives another map. */
      for (int s = 0; s < 3; s++)
        memcpy (centre + s * 2 * plane, in, 2 * plane * sizeof (float));
      bs_reference_forward (net, centre, 1, geom->ph, geom->pw, plain);
      for (gsize i = 0; i < plane; i++)
        moved = MAX (moved, fabs (plain[i] - ref[i]));
      g_assert_cmpfloat (moved, >, 1e-3);
    }
  bs_segment_options_init (&so);
  so.plan.threads = 1;
  so.plan.crop_to_brain = FALSE;
  so.plan.three_planes = FALSE;  /* bs_infer_volume's one plane */
  so.cleanup = FALSE;
  seg = bs_segment (net, prep, NULL, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (seg->geom->context, ==, 1);
  for (gsize i = 0; i < bs_volume_n_voxels (prob); i++)
    g_assert_cmpfloat (fabs (seg->prob->data[i] - prob->data[i]), <, 1e-5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/infer/prepare", test_prepare);
  g_test_add_func ("/infer/fill-store-roundtrip", test_fill_store_roundtrip);
  g_test_add_func ("/infer/volume", test_volume);
  g_test_add_func ("/infer/lanes", test_lanes);
  g_test_add_func ("/infer/geometry-crop", test_geometry_crop);
  g_test_add_func ("/infer/geometry-every-orientation", test_geometry_every_orientation);
  g_test_add_func ("/infer/volume-crop", test_volume_crop);
  g_test_add_func ("/infer/volume-regions", test_volume_regions);
  g_test_add_func ("/infer/zero-outside-head-outputs", test_zero_outside_head_outputs);
  g_test_add_func ("/infer/context", test_context);
  return g_test_run ();
}
