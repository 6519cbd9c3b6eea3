/* Every oneDNN plan against the plain-C reference, in the manner of ggml's
 * test-backend-ops: each precision x layout x fusion (x batch) on the same
 * random network and input, with an error bound per precision. */
#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bs-dataset.h"
#include "bs-error.h"
#include "bs-infer.h"
#include "bs-labels.h"
#include "bs-plan.h"
#include "bs-plan-weights.h"
#include "bs-preprocess.h"
#include "bs-unet.h"

typedef struct {
  BsUnet *net;
  int h, w, n;
  int nout;      /* the net's output channels (1, or 3 for a region model) */
  float *input;  /* n slices */
  float *ref;    /* reference probabilities: n x nout x h x w */
  float *truth;  /* whole-tumour ground truth of the slices, or NULL */
  BsCalibration *cal;
  gboolean trained;  /* strict accuracy bounds instead of the random-weights ones */
} Fixture;

static float
frand (guint32 *s)
{
  *s = *s * 1664525u + 1013904223u;
  return (*s >> 8) * (1.0f / 16777216.0f);
}

/* Smooth blobs plus noise: something like a normalised slice, so that the
 * random network's output has structure rather than noise. */
static void
make_input (float *x, int c, int h, int w, guint32 seed)
{
  guint32 s = seed;
  for (int k = 0; k < c; k++)
    {
      float cx = frand (&s) * w, cy = frand (&s) * h, r = 4 + frand (&s) * h / 3;
      for (int y = 0; y < h; y++)
        for (int i = 0; i < w; i++)
          {
            float d = ((i - cx) * (i - cx) + (y - cy) * (y - cy)) / (r * r);
            x[(k * h + y) * w + i] = 2.0f * expf (-d) - 0.5f + 0.3f * (frand (&s) - 0.5f);
          }
    }
}

static int
cmp_float (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x > y) - (x < y);
}

/* Moves each output's bias so that about 30 % of its reference pixels are
 * on (25 % and 20 % for the second and third, like nested regions): a mask
 * comparison on an all-off or all-on output would prove nothing. */
static void
balance_output (Fixture *f)
{
  gsize slice = (gsize) f->h * f->w, npix = (gsize) f->n * slice;
  g_autofree float *logits = g_new (float, npix);
  BsUnetLayer *pm = bs_unet_find_layer (f->net, "PredictionMask");

  f->nout = f->net->config.out_channels;
  for (int k = 0; k < f->nout; k++)
    pm->bias[k] = 0.0f;
  bs_reference_forward (f->net, f->input, f->n, f->h, f->w, f->ref);
  for (int k = 0; k < f->nout; k++)
    {
      for (int s = 0; s < f->n; s++)
        for (gsize i = 0; i < slice; i++)
          {
            float p = f->ref[((gsize) s * f->nout + k) * slice + i];
            logits[s * slice + i] = logf (p / (1.0f - p));
          }
      qsort (logits, npix, sizeof (float), cmp_float);
      pm->bias[k] = -logits[(gsize) ((0.7 + 0.05 * k) * npix)];
    }
  bs_reference_forward (f->net, f->input, f->n, f->h, f->w, f->ref);
}

/* Neighbouring slices on each side of the next fixture's network (2.5D). */
static int fixture_context = 0;

static void
fixture_init_outputs (Fixture *f, int fms, int n_mod, BsUpsample up, int h, int w, int n, guint64 seed, int nout)
{
  BsUnetConfig c = { .fms = fms, .in_channels = n_mod, .upsample = up, .out_channels = nout,
                     .context = fixture_context };
  int in_ch = bs_unet_input_channels (&c);
  g_autoptr(GError) error = NULL;

  memset (f, 0, sizeof *f);
  f->net = bs_unet_new_random (&c, seed);
  for (int i = 0; i < f->net->n_layers; i++)
    for (int o = 0; o < f->net->layers[i].out_ch; o++)
      f->net->layers[i].bias[o] = 0.05f * sinf (o + i);
  f->h = h;
  f->w = w;
  f->n = n;
  f->nout = nout;
  g_assert_cmpint (f->net->config.out_channels, ==, nout);
  f->input = g_new (float, (gsize) n * in_ch * h * w);
  f->ref = g_new (float, (gsize) n * nout * h * w);
  for (int s = 0; s < n; s++)
    make_input (f->input + (gsize) s * in_ch * h * w, in_ch, h, w, 99 + s);
  balance_output (f);
  f->cal = bs_calibration_compute (f->net, f->input, n, h, w, &error);
  g_assert_no_error (error);
}

static void
fixture_init (Fixture *f, int fms, int in_ch, BsUpsample up, int h, int w, int n, guint64 seed)
{
  fixture_init_outputs (f, fms, in_ch, up, h, w, n, seed, 1);
}

static void
fixture_clear (Fixture *f)
{
  bs_unet_free (f->net);
  g_free (f->input);
  g_free (f->ref);
  g_free (f->truth);
  bs_calibration_free (f->cal);
}

typedef struct {
  double max_err, agree, dice_diff, confident_agree;
  double dice_truth;  /* Dice of this plan's mask against the ground truth, when there is one */
} Agreement;

static double
dice_of (const float *a, const float *b, gsize n)
{
  double tp = 0, fp = 0, fn = 0;
  for (gsize i = 0; i < n; i++)
    {
      gboolean pa = a[i] > 0.5f, pb = b[i] > 0.5f;
      tp += pa && pb;
      fp += pa && !pb;
      fn += !pa && pb;
    }
  return tp + fp + fn > 0 ? 2 * tp / (2 * tp + fp + fn) : 1.0;
}

static double
on_fraction (const float *a, gsize n)
{
  gsize on = 0;
  for (gsize i = 0; i < n; i++)
    on += a[i] > 0.5f;
  return (double) on / n;
}

/* The plan's activations share an arena (bs-plan-share.c), smaller than
 * the tensors apart, and the description says so.  The outputs of those
 * plans are checked against the reference by their callers. */
static void
assert_shared (const BsPlan *plan)
{
  gsize arena = 0, apart = 0;

  bs_plan_get_shared_activations (plan, &arena, &apart);
  g_assert_cmpuint (arena, >, 0);
  g_assert_cmpuint (arena, <, apart);
  g_assert_nonnull (strstr (bs_plan_describe (plan), "activations: "));
}

static Agreement
run_plan (Fixture *f, BsPrecision prec, BsMemLayout layout, gboolean fusion, int batch)
{
  BsPlanOptions o;
  g_autoptr(GError) error = NULL;
  g_autoptr(BsPlan) plan = NULL;
  gsize slice = (gsize) f->h * f->w, per = f->nout * slice;
  g_autofree float *probs = g_new (float, f->n * per);
  g_autofree float *mine = g_new (float, f->n * slice);
  g_autofree float *ref = g_new (float, f->n * slice);
  Agreement a = { .agree = 1.0, .confident_agree = 1.0 };
  double t0 = g_get_monotonic_time () / 1e6;

  bs_plan_options_init (&o);
  o.precision = prec;
  o.layout = layout;
  o.fusion = fusion;
  o.batch = batch;
  /* One thread: the suite runs tests side by side on two cores, and
   * OpenMP teams that outnumber the cores crawl. */
  o.threads = 1;
  plan = bs_plan_new (f->net, f->h, f->w, &o, f->cal, &error);
  g_assert_no_error (error);
  if (g_test_verbose ())
    g_test_message ("%s", bs_plan_describe (plan));
  assert_shared (plan);
  for (int s = 0; s < f->n; s += batch)
    {
      int k = MIN (batch, f->n - s);
      BsTiming t;
      bs_timing_reset (&t);
      g_assert_true (bs_plan_run (plan, f->input + (gsize) s * bs_unet_input_channels (&f->net->config) * slice, k,
                                  probs + s * per, &t, &error));
      g_assert_no_error (error);
      g_assert_cmpint (t.n_slices, ==, k);
      g_assert_cmpfloat (bs_timing_stage_ms (&t, "network"), >, 0.0);
    }
  /* Each output channel against the reference's; the worst channel counts. */
  for (int c = 0; c < f->nout; c++)
    {
      gsize agree = 0, confident = 0, confident_agree = 0;

      for (int s = 0; s < f->n; s++)
        {
          memcpy (mine + s * slice, probs + s * per + c * slice, slice * sizeof (float));
          memcpy (ref + s * slice, f->ref + s * per + c * slice, slice * sizeof (float));
        }
      for (gsize i = 0; i < f->n * slice; i++)
        {
          a.max_err = MAX (a.max_err, fabs (mine[i] - ref[i]));
          agree += (mine[i] > 0.5f) == (ref[i] > 0.5f);
          if (fabsf (ref[i] - 0.5f) > 0.1225f)
            {
              confident++;
              confident_agree += (mine[i] > 0.5f) == (ref[i] > 0.5f);
            }
        }
      a.confident_agree = MIN (a.confident_agree, confident ? (double) confident_agree / confident : 1.0);
      a.agree = MIN (a.agree, (double) agree / (f->n * slice));
      a.dice_diff = MAX (a.dice_diff, fabs (dice_of (mine, ref, f->n * slice) - 1.0));
      /* The truth is the whole tumour: channel 0's. */
      if (f->truth && c == 0)
        a.dice_truth = dice_of (mine, f->truth, f->n * slice);
    }
  g_test_message ("%-5s %-7s fusion %-3s batch %d, %d outputs: max |p - ref| %.2e, masks agree %.4f, Dice vs ref %.4f (%.1f s)",
                  bs_precision_name (prec), bs_memlayout_name (layout), fusion ? "on" : "off", batch, f->nout, a.max_err,
                  a.agree, 1.0 - a.dice_diff, g_get_monotonic_time () / 1e6 - t0);
  return a;
}

static int first_batch = 1;

/* oneDNN has only reference int8 kernels for plain nchw (seconds per slice):
 * the plan says so instead of appearing to hang. */
static void
check_refused_int8_nchw (Fixture *f)
{
  BsPlanOptions o;
  g_autoptr(GError) error = NULL;
  g_autoptr(BsPlan) plan = NULL;

  bs_plan_options_init (&o);
  o.precision = BS_PRECISION_INT8;
  o.layout = BS_MEMLAYOUT_NCHW;
  plan = bs_plan_new (f->net, f->h, f->w, &o, f->cal, &error);
  g_assert_null (plan);
  g_assert_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE);
  g_assert_nonnull (strstr (error->message, "nchw"));
}

static void
check_all (Fixture *f, gboolean with_int8)
{
  gsize slice = (gsize) f->h * f->w;
  g_autofree float *wt = g_new (float, f->n * slice);
  double ref_dice;

  for (int s = 0; s < f->n; s++)
    memcpy (wt + s * slice, f->ref + (gsize) s * f->nout * slice, slice * sizeof (float));
  ref_dice = f->truth ? dice_of (wt, f->truth, f->n * slice) : 0.0;
  for (int c = 0; c < f->nout; c++)
    {
      double on = 0;

      for (int s = 0; s < f->n; s++)
        on += on_fraction (f->ref + ((gsize) s * f->nout + c) * slice, slice) / f->n;
      g_test_message ("reference output %d: %.1f %% of pixels on%s", c, 100 * on,
                      f->trained ? " (trained model)" : "");
      if (!f->trained)
        {
          g_assert_cmpfloat (on, >, c == 0 ? 0.1 : 0.05);
          g_assert_cmpfloat (on, <, 0.9);
        }
    }
  if (f->truth)
    g_test_message ("reference Dice against the ground truth: %.4f", ref_dice);
  for (int prec = 0; prec < 3; prec++)
    {
      if (prec == BS_PRECISION_BF16 && !bs_precision_available (BS_PRECISION_BF16, NULL))
        continue;
      if (prec == BS_PRECISION_INT8 && !with_int8)
        continue;
      for (int layout = 0; layout < 3; layout++)
        for (int fusion = 0; fusion < 2; fusion++)
          for (int batch = first_batch; batch <= 2; batch++)
            {
              if (prec == BS_PRECISION_INT8 && layout == BS_MEMLAYOUT_NCHW)
                {
                  check_refused_int8_nchw (f);
                  continue;
                }
              Agreement a = run_plan (f, prec, layout, fusion, batch);
              if (prec == BS_PRECISION_FP32)
                g_assert_cmpfloat (a.max_err, <=, 1e-4);
              else if (f->trained)
                {
                  /* The bounds the issue sets for a trained model. */
                  g_assert_cmpfloat (a.agree, >=, 0.99);
                  if (f->truth)
                    g_assert_cmpfloat (fabs (a.dice_truth - ref_dice), <=, 0.01);
                }
              else
                {
                  /* Reduced precision on random weights: probabilities
                   * close, and every pixel the reference is sure about
                   * (|logit| > 0.5) on the same side. */
                  g_assert_cmpfloat (a.max_err, <=, prec == BS_PRECISION_BF16 ? 0.03 : 0.08);
                  g_assert_cmpfloat (a.confident_agree, ==, 1.0);
                  g_assert_cmpfloat (a.agree, >=, 0.95);
                }
            }
    }
}

/* Slices of a real case, centre-cropped to size, for net. */
static gboolean
real_slices (Fixture *f, const char *case_dir, int size, const int *indices, int n)
{
  const char *samples = g_getenv ("BS_SAMPLES_DIR");
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(BsDataset) ds = NULL;
  g_autoptr(BsCase) c = NULL;
  g_autoptr(BsVolume) prepared = NULL;
  g_autoptr(BsVolume) wt = NULL;
  g_autofree float *full = NULL;
  int ph, pw, sw, sh, ch = f->net->config.in_channels;

  if (!samples)
    return FALSE;
  path = g_build_filename (samples, case_dir, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    return FALSE;
  ds = bs_dataset_open (path, NULL, &error);
  g_assert_no_error (error);
  c = bs_dataset_load_case (ds, 0, &error);
  g_assert_no_error (error);
  prepared = bs_infer_prepare (f->net, c->image, &error);
  g_assert_no_error (error);
  {
    g_autoptr(BsInferGeometry) whole = bs_infer_geometry_new (prepared, BS_PLANE_AXIAL, FALSE);
    ph = whole->ph;
    pw = whole->pw;
  }
  bs_volume_slice_size (prepared, BS_PLANE_AXIAL, &sw, &sh);
  full = g_new (float, (gsize) MAX (ph * pw, sw * sh));
  f->h = f->w = size;
  f->n = n;
  f->input = g_new (float, (gsize) n * ch * size * size);
  f->nout = f->net->config.out_channels;
  f->ref = g_new (float, (gsize) n * f->nout * size * size);
  if (c->label)
    {
      wt = bs_labels_whole_tumour (c->label);
      f->truth = g_new (float, (gsize) n * size * size);
    }
  for (int i = 0; i < n; i++)
    {
      for (int k = 0; k < ch; k++)
        {
          bs_volume_get_slice (prepared, k, BS_PLANE_AXIAL, indices[i], full);
          bs_preprocess_crop_or_pad (full, sw, sh, f->input + ((gsize) i * ch + k) * size * size, size, size);
        }
      if (wt)
        {
          bs_volume_get_slice (wt, 0, BS_PLANE_AXIAL, indices[i], full);
          bs_preprocess_crop_or_pad (full, sw, sh, f->truth + (gsize) i * size * size, size, size);
        }
    }
  return TRUE;
}

/* The default topology with random weights on real slices: the arithmetic
 * of every plan on realistic value ranges. */
static void
test_real_random (void)
{
  static const int slices[] = { 70, 85 };
  BsUnetConfig c = { .fms = 16, .in_channels = 1 };
  Fixture f = { 0 };
  g_autoptr(GError) error = NULL;

  f.net = bs_unet_new_random (&c, 5);
  /* Batch 1 is covered by the synthetic cases; real slices are costlier. */
  first_batch = 2;
  if (!real_slices (&f, "decathlon-brats-001-006/brats_2013_pat0001_1", 128, slices, 2))
    {
      bs_unet_free (f.net);
      g_test_skip ("real samples absent (BS_SAMPLES_DIR/decathlon-brats-001-006)");
      return;
    }
  balance_output (&f);
  f.cal = bs_calibration_compute (f.net, f.input, f.n, f.h, f.w, &error);
  g_assert_no_error (error);
  check_all (&f, TRUE);
  fixture_clear (&f);
}

/* The shipped, trained model: int8 and bf16 masks within the bounds. */
static void
test_real_trained (void)
{
  static const int slices[] = { 60, 75, 90 };
  /* BS_TEST_MODEL checks another trained model the same way (e.g. a checkpoint). */
  g_autofree char *model = g_getenv ("BS_TEST_MODEL") ? g_strdup (g_getenv ("BS_TEST_MODEL"))
                                                      : bs_unet_default_model_path ();
  Fixture f = { 0 };
  g_autoptr(GError) error = NULL;

  if (!model)
    {
      g_test_skip ("no trained model yet (resources/models/brainseg-default.h5)");
      return;
    }
  f.net = bs_unet_load_h5 (model, &error);
  g_assert_no_error (error);
  f.trained = TRUE;
  first_batch = 2;
  if (!real_slices (&f, "decathlon-brats-001-006/brats_2013_pat0001_1", 144, slices, 3))
    {
      bs_unet_free (f.net);
      g_test_skip ("real samples absent (BS_SAMPLES_DIR/decathlon-brats-001-006)");
      return;
    }
  bs_reference_forward (f.net, f.input, f.n, f.h, f.w, f.ref);
  f.cal = bs_calibration_compute (f.net, f.input, f.n, f.h, f.w, &error);
  g_assert_no_error (error);
  check_all (&f, TRUE);
  fixture_clear (&f);
}

static void
test_transposed (void)
{
  Fixture f;
  fixture_init (&f, 16, 1, BS_UPSAMPLE_TRANSPOSED, 32, 48, 3, 11);
  check_all (&f, TRUE);
  fixture_clear (&f);
}

static void
test_nearest_multichannel (void)
{
  Fixture f;
  fixture_init (&f, 16, 4, BS_UPSAMPLE_NEAREST, 48, 32, 2, 12);
  check_all (&f, TRUE);
  fixture_clear (&f);
}

/* fms that is no multiple of the blocked formats' channel block. */
static void
test_small_fms (void)
{
  Fixture f;
  fixture_init (&f, 4, 2, BS_UPSAMPLE_TRANSPOSED, 32, 32, 2, 13);
  check_all (&f, TRUE);
  fixture_clear (&f);
}

static void
test_refusals (void)
{
  BsUnetConfig c = { .fms = 4, .in_channels = 1 };
  g_autoptr(BsUnet) net = bs_unet_new_random (&c, 1);
  BsPlanOptions o;
  g_autoptr(GError) error = NULL;
  BsPlan *plan;

  bs_plan_options_init (&o);
  plan = bs_plan_new (net, 120, 128, &o, NULL, &error);
  g_assert_null (plan);
  g_assert_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_SIZE);
  g_assert_nonnull (strstr (error->message, "16"));
  g_clear_error (&error);
  plan = bs_plan_new (net, 128, 200, &o, NULL, &error);
  g_assert_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_SIZE);
  g_clear_error (&error);
  o.precision = BS_PRECISION_INT8;
  plan = bs_plan_new (net, 32, 32, &o, NULL, &error);
  g_assert_null (plan);
  g_assert_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE);
  g_clear_error (&error);
  {
    g_autofree char *reason = NULL;
    gboolean bf16 = bs_precision_available (BS_PRECISION_BF16, &reason);
    g_test_message ("oneDNN ISA %s, bf16 %s %s", bs_dnnl_isa_name (), bf16 ? "available" : "unavailable",
                    reason ? reason : "");
    g_assert_true (bf16 == (reason == NULL));
    g_assert_true (bs_precision_available (BS_PRECISION_FP32, NULL));
  }
}

static float *
run_int8 (Fixture *f, BsMemLayout layout, int batch, int first_n, char **describe)
{
  BsPlanOptions o;
  g_autoptr(GError) error = NULL;
  g_autoptr(BsPlan) plan = NULL;
  gsize slice = (gsize) f->h * f->w, in_slice = slice * bs_unet_input_channels (&f->net->config);
  float *probs = g_new (float, f->n * slice);

  bs_plan_options_init (&o);
  o.precision = BS_PRECISION_INT8;
  o.layout = layout;
  o.batch = batch;
  o.threads = 1;
  plan = bs_plan_new (f->net, f->h, f->w, &o, f->cal, &error);
  g_assert_no_error (error);
  if (describe)
    *describe = g_strdup (bs_plan_describe (plan));
  assert_shared (plan);
  /* A first run of first_n slices, then the rest in full batches and a short one. */
  for (int s = 0; s < f->n;)
    {
      int k = MIN (s == 0 ? first_n : batch, f->n - s);
      g_assert_true (bs_plan_run (plan, f->input + s * in_slice, k, probs + s * slice, NULL, &error));
      g_assert_no_error (error);
      s += k;
    }
  return probs;
}

/* Fused int8 on channels-last: encodeAa in int8, skip tensors copied into
 * their concat buffers while pooling, the head in C, and batches run in
 * chunks.  Every batch size and every split of the slices into runs gives
 * the same probabilities as batch 1, and the plan uses no reference kernel,
 * no concat primitive and no separate quantisation.  (Agreement with the
 * reference is check_all's job; this needs no plain-C pass but the
 * calibration's, which keeps it affordable under ASan.) */
static void
test_int8_fused_path (void)
{
  BsUnetConfig c = { .fms = 16, .in_channels = 2, .upsample = BS_UPSAMPLE_TRANSPOSED };
  Fixture f = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree float *one = NULL;
  gsize slice;

  /* 128x128 runs in chunks of a few slices; batch 6 needs two. */
  f.net = bs_unet_new_random (&c, 21);
  f.h = f.w = 128;
  f.n = 6;
  slice = (gsize) f.h * f.w;
  f.input = g_new (float, f.n * 2 * slice);
  for (int s = 0; s < f.n; s++)
    make_input (f.input + s * 2 * slice, 2, f.h, f.w, 31 + s);
  f.cal = bs_calibration_compute (f.net, f.input, 1, f.h, f.w, &error);
  g_assert_no_error (error);
  one = run_int8 (&f, BS_MEMLAYOUT_NHWC, 1, 1, NULL);
  for (gsize i = 0; i < f.n * slice; i++)
    g_assert_true (one[i] >= 0.0f && one[i] <= 1.0f);  /* also false for NaN */
  for (int layout = BS_MEMLAYOUT_NHWC; layout <= BS_MEMLAYOUT_BLOCKED; layout++)
    {
      g_autofree char *describe = NULL;
      g_autofree float *probs = run_int8 (&f, layout, 6, 5, &describe);
      double max_diff = 0.0;

      for (gsize i = 0; i < f.n * slice; i++)
        max_diff = MAX (max_diff, fabsf (probs[i] - one[i]));
      g_test_message ("int8 %s batch 6: max |p - p(batch 1)| %.2e", bs_memlayout_name (layout), max_diff);
      g_assert_cmpfloat (max_diff, <=, 1e-5);
      g_assert_nonnull (strstr (describe, "slices at a time"));
      g_assert_nonnull (strstr (describe, "PredictionMask   c:u8_dot_sigmoid"));
      g_assert_nonnull (strstr (describe, "poolA            c:s8_pool_copy"));
      g_assert_null (strstr (describe, "quantize"));
      g_assert_null (strstr (describe, "simple:"));
      if (g_str_has_prefix (bs_dnnl_isa_name (), "avx512_core"))
        g_assert_null (strstr (describe, "ref"));
    }
  fixture_clear (&f);
}

static float *
run_fp32_blocked (const BsUnet *net, const float *input, int h, int w)
{
  BsPlanOptions o;
  g_autoptr(GError) error = NULL;
  g_autoptr(BsPlan) plan = NULL;
  float *probs = g_new (float, (gsize) net->config.out_channels * h * w);

  bs_plan_options_init (&o);
  o.layout = BS_MEMLAYOUT_BLOCKED;   /* Winograd weights: the costly reorder */
  o.threads = 1;
  plan = bs_plan_new (net, h, w, &o, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (bs_plan_run (plan, input, 1, probs, NULL, &error));
  g_assert_no_error (error);
  return probs;
}

/* Plans share reordered weights (bs-plan-weights.h): a second plan of the
 * same network finds every convolution's weights and gives the same output;
 * weights changed in place afterwards are never served from the cache, and
 * the plan of the changed network agrees with the reference of it. */
static void
test_weights_cache (void)
{
  Fixture f;
  gsize slice;
  guint64 hits0, hits1, hits2;
  gsize held = 0;
  g_autofree float *first = NULL, *second = NULL, *changed = NULL, *ref = NULL;
  double diff = 0.0, moved = 0.0;

  fixture_init (&f, 16, 2, BS_UPSAMPLE_TRANSPOSED, 64, 64, 1, 5);
  slice = (gsize) f.h * f.w;
  first = run_fp32_blocked (f.net, f.input, f.h, f.w);
  bs_plan_weights_stats (&hits0, &held);
  g_assert_cmpuint (held, >, 0);
  second = run_fp32_blocked (f.net, f.input, f.h, f.w);
  bs_plan_weights_stats (&hits1, NULL);
  /* every 3x3 and transposed convolution; the 1x1 head may run outside oneDNN */
  g_assert_cmpuint (hits1 - hits0, >=, (guint64) f.net->n_layers - 1);
  g_assert_cmpmem (first, slice * sizeof (float), second, slice * sizeof (float));

  /* encodeBa's weights scaled in place: the same address, new contents. */
  {
    BsUnetLayer *l = bs_unet_find_layer (f.net, "encodeBa");

    for (gsize k = 0; k < (gsize) l->out_ch * l->in_ch * l->kh * l->kw; k++)
      l->weights[k] *= -1.5f;
  }
  changed = run_fp32_blocked (f.net, f.input, f.h, f.w);
  bs_plan_weights_stats (&hits2, NULL);
  /* all but the changed layer found again */
  g_assert_cmpuint (hits2 - hits1, ==, hits1 - hits0 - 1);
  ref = g_new (float, slice);
  bs_reference_forward (f.net, f.input, 1, f.h, f.w, ref);
  for (gsize i = 0; i < slice; i++)
    {
      diff = MAX (diff, fabsf (changed[i] - ref[i]));
      moved = MAX (moved, fabsf (changed[i] - first[i]));
    }
  g_test_message ("changed weights: max |plan - reference| %.2e, moved %.3f from the first plan", diff, moved);
  g_assert_cmpfloat (diff, <=, 1e-3);
  g_assert_cmpfloat (moved, >, 0.01);
  fixture_clear (&f);
}

/* Test-time flips: the plan's output is the mean of the network on the slice
 * and, mirrored back, on the slice mirrored left-right; so a mirrored input
 * gives the mirrored output.  Every precision, in blocked and nhwc layouts. */
static void
check_flips (int fms, int nout)
{
  Fixture f;
  const BsPrecision precs[] = { BS_PRECISION_FP32, BS_PRECISION_INT8, BS_PRECISION_BF16 };

  fixture_init_outputs (&f, fms, 2, BS_UPSAMPLE_TRANSPOSED, 32, 48, 3, 21, nout);
  /* npix: every probability of every output channel, nin: the inputs */
  gsize slice = (gsize) f.h * f.w, npix = f.n * nout * slice, nin = f.n * 2 * slice;
  g_autofree float *mirror_in = g_new (float, nin);
  g_autofree float *mirror_ref = g_new (float, npix);
  g_autofree float *expect = g_new (float, npix);
  g_autofree float *probs = g_new (float, npix);
  g_autofree float *probs_m = g_new (float, npix);
  g_autofree float *back = g_new (float, npix);
  double plain_gap = 0;

  bs_preprocess_flip_x (f.input, mirror_in, (gsize) f.n * 2, f.h, f.w);
  bs_reference_forward (f.net, mirror_in, f.n, f.h, f.w, mirror_ref);
  bs_preprocess_flip_x (mirror_ref, expect, (gsize) f.n * nout, f.h, f.w);
  for (gsize i = 0; i < npix; i++)
    {
      plain_gap = MAX (plain_gap, fabs (expect[i] - f.ref[i]));
      expect[i] = 0.5f * (expect[i] + f.ref[i]);
    }
  /* A random network is not mirror-symmetric: the flipped pass changes the output. */
  g_assert_cmpfloat (plain_gap, >, 0.05);
  for (guint p = 0; p < G_N_ELEMENTS (precs); p++)
    for (int l = 0; l < 2; l++)
      {
        BsPlanOptions o;
        BsTiming t;
        g_autoptr(GError) error = NULL;
        g_autoptr(BsPlan) plan = NULL;
        double err = 0, sym = 0;

        if (!bs_precision_available (precs[p], NULL))
          continue;
        bs_plan_options_init (&o);
        o.precision = precs[p];
        o.layout = l ? BS_MEMLAYOUT_NHWC : BS_MEMLAYOUT_BLOCKED;
        o.batch = f.n;
        o.threads = 1;
        o.test_time_flips = TRUE;
        plan = bs_plan_new (f.net, f.h, f.w, &o, f.cal, &error);
        g_assert_no_error (error);
        bs_timing_reset (&t);
        g_assert_true (bs_plan_run (plan, f.input, f.n, probs, &t, &error));
        g_assert_no_error (error);
        g_assert_cmpint (t.n_slices, ==, f.n);
        g_assert_cmpfloat (bs_timing_stage_ms (&t, "flips"), >, 0.0);
        g_assert_true (bs_plan_run (plan, mirror_in, f.n, probs_m, NULL, &error));
        bs_preprocess_flip_x (probs_m, back, (gsize) f.n * nout, f.h, f.w);
        for (gsize i = 0; i < npix; i++)
          {
            err = MAX (err, fabs (probs[i] - expect[i]));
            sym = MAX (sym, fabs (probs[i] - back[i]));
          }
        g_test_message ("flips %s %s, %d outputs: max |p - ref| %.2e, mirror asymmetry %.2e", bs_precision_name (precs[p]),
                        bs_memlayout_name (o.layout), nout, err, sym);
        /* fp32 matches the reference closely; int8 and bf16 within their plans' usual error */
        g_assert_cmpfloat (err, <, precs[p] == BS_PRECISION_FP32 ? 1e-4 : 0.02);
        g_assert_cmpfloat (sym, <, precs[p] == BS_PRECISION_FP32 ? 1e-4 : 0.02);
      }
  fixture_clear (&f);
}

static void
test_flips (void)
{
  check_flips (16, 1);
}

/* A region model's three outputs (WT, TC, ET), each mirrored back and
 * averaged on its own. */
static void
test_regions_flips (void)
{
  check_flips (8, 3);
}

/* A region model (three sigmoid outputs): every precision x layout x fusion
 * x batch against the reference, output channel by output channel, with the
 * bounds of the one-output tests; fms 4 keeps it quick and is no multiple
 * of the blocked formats' channel block. */
static void
test_regions (void)
{
  Fixture f;
  BsPlanOptions o;
  g_autoptr(GError) error = NULL;
  g_autoptr(BsPlan) plan = NULL;

  fixture_init_outputs (&f, 4, 2, BS_UPSAMPLE_TRANSPOSED, 32, 32, 2, 17, 3);
  /* The channels differ: a plan that wrote one map three times would fail. */
  g_assert_cmpfloat (fabsf (f.ref[0] - f.ref[32 * 32]), >, 1e-6);
  first_batch = 1;
  check_all (&f, TRUE);
  /* Fused int8 in channels-last runs PredictionMask in the hand-written head. */
  bs_plan_options_init (&o);
  o.precision = BS_PRECISION_INT8;
  o.layout = BS_MEMLAYOUT_NHWC;
  o.threads = 1;
  plan = bs_plan_new (f.net, f.h, f.w, &o, f.cal, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bs_plan_get_outputs (plan), ==, 3);
  g_assert_nonnull (strstr (bs_plan_describe (plan), "PredictionMask   c:u8_dot_sigmoid"));
  fixture_clear (&f);
}

/* The same with nearest upsampling and four modalities. */
static void
test_regions_nearest (void)
{
  Fixture f;

  fixture_init_outputs (&f, 4, 4, BS_UPSAMPLE_NEAREST, 48, 32, 2, 19, 3);
  first_batch = 1;
  check_all (&f, TRUE);
  fixture_clear (&f);
}

/* 2.5D: four modalities of the slice and one neighbour on each side (12
 * input channels, the first convolution's channel blocking not a multiple of
 * 8 or 16), with the region head, through every plan. */
static void
test_context (void)
{
  Fixture f;

  fixture_context = 1;
  fixture_init_outputs (&f, 4, 4, BS_UPSAMPLE_TRANSPOSED, 32, 48, 2, 23, 3);
  fixture_context = 0;
  g_assert_cmpint (bs_unet_find_layer (f.net, "encodeAa")->in_ch, ==, 12);
  first_batch = 1;
  check_all (&f, TRUE);
  fixture_clear (&f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plan/refusals", test_refusals);
  g_test_add_func ("/plan/transposed", test_transposed);
  g_test_add_func ("/plan/nearest-multichannel", test_nearest_multichannel);
  g_test_add_func ("/plan/small-fms", test_small_fms);
  g_test_add_func ("/plan/real-random", test_real_random);
  g_test_add_func ("/plan/real-trained", test_real_trained);
  g_test_add_func ("/plan/int8-fused-path", test_int8_fused_path);
  g_test_add_func ("/plan/test-time-flips", test_flips);
  g_test_add_func ("/plan/regions", test_regions);
  g_test_add_func ("/plan/regions-nearest", test_regions_nearest);
  g_test_add_func ("/plan/regions-flips", test_regions_flips);
  g_test_add_func ("/plan/context", test_context);
  g_test_add_func ("/plan/weights-cache", test_weights_cache);
  return g_test_run ();
}
