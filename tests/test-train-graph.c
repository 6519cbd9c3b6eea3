/* The training graph against the plain-C reference (forward) and against
 * finite differences (backward: every layer type, and the loss). */
#include <glib.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "bs-error.h"
#include "bs-plan.h"
#include "bs-train.h"
#include "bs-train-private.h"

typedef struct {
  int fms, in_ch, batch, h, w;
  int out;  /* sigmoid outputs (0: 1, whole tumour) */
} GraphCase;

static int
n_out (const GraphCase *gc)
{
  return MAX (gc->out, 1);
}

static BsUnet *
tiny_net_outputs (int fms, int in_ch, int out, guint64 seed)
{
  BsUnetConfig cfg = { 0 };
  BsUnet *net;
  GRand *r = g_rand_new_with_seed ((guint32) seed);

  cfg.fms = fms;
  cfg.in_channels = in_ch;
  cfg.upsample = BS_UPSAMPLE_TRANSPOSED;
  if (out > 1)
    {
      static const char *const lists[] = { NULL, NULL, "wt,tc", "wt,tc,et" };
      g_assert_true (bs_unet_parse_outputs (lists[out], &cfg.outputs, NULL));
    }
  net = bs_unet_new_random (&cfg, seed);
  g_strfreev (cfg.outputs);
  /* Non-zero biases so that their gradients and the bias paths are exercised. */
  for (int i = 0; i < net->n_layers; i++)
    for (int o = 0; o < net->layers[i].out_ch; o++)
      net->layers[i].bias[o] = (float) g_rand_double_range (r, -0.1, 0.1);
  g_rand_free (r);
  return net;
}

static BsUnet *
tiny_net (int fms, int in_ch, guint64 seed)
{
  return tiny_net_outputs (fms, in_ch, 1, seed);
}

/* out target planes per slice (n x out x h x w). */
static void
fill_batch_outputs (GRand *r, int n, int c, int out, int h, int w, float *input, float *target)
{
  for (gsize i = 0; i < (gsize) n * c * h * w; i++)
    input[i] = (float) g_rand_double_range (r, -1.5, 1.5);
  /* A disc per slice as the target, off-centre so that the net must localise;
   * further outputs smaller discs inside it, as the regions nest. */
  for (int b = 0; b < n; b++)
    for (int k = 0; k < out; k++)
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          {
            double dy = y - h * 0.4, dx = x - w * 0.55;
            target[(((gsize) b * out + k) * h + y) * w + x] = dx * dx + dy * dy < h * w * 0.05 / (1 + k) ? 1.0f : 0.0f;
          }
}

static void
fill_batch (GRand *r, int n, int c, int h, int w, float *input, float *target)
{
  fill_batch_outputs (r, n, c, 1, h, w, input, target);
}

static void
test_forward_matches_reference (gconstpointer data)
{
  const GraphCase *gc = data;
  g_autoptr(BsUnet) net = tiny_net (gc->fms, gc->in_ch, 11);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsTrainGraph) g = bs_train_graph_new (net, gc->batch, gc->h, gc->w, &error);
  g_autoptr(GRand) r = g_rand_new_with_seed (5);
  gsize hw = (gsize) gc->h * gc->w;
  g_autofree float *input = g_new (float, gc->batch * gc->in_ch * hw);
  g_autofree float *target = g_new (float, gc->batch * hw);
  g_autofree float *ours = g_new (float, gc->batch * hw);
  g_autofree float *ref = g_new (float, gc->batch * hw);
  double max_diff = 0.0;

  g_assert_no_error (error);
  fill_batch (r, gc->batch, gc->in_ch, gc->h, gc->w, input, target);
  /* Dropout must not act outside training. */
  bs_train_graph_set_dropout (g, 0.5, 1);
  g_assert_true (bs_train_graph_forward (g, input, gc->batch, FALSE, ours, &error));
  g_assert_no_error (error);
  bs_reference_forward (net, input, gc->batch, gc->h, gc->w, ref);
  for (gsize i = 0; i < gc->batch * hw; i++)
    max_diff = MAX (max_diff, fabs (ours[i] - ref[i]));
  g_test_message ("fms %d: max |graph - reference| = %g", gc->fms, max_diff);
  g_assert_cmpfloat (max_diff, <, 1e-4);

  /* A partial batch gives the same first slice. */
  g_assert_true (bs_train_graph_forward (g, input, 1, FALSE, ours, &error));
  for (gsize i = 0; i < hw; i++)
    g_assert_cmpfloat (fabs (ours[i] - ref[i]), <, 1e-4);
}

static double
loss_at (BsTrainGraph *g, const float *input, const float *target, const float *valid, int n, int out,
         BsTrainLoss loss, gsize hw)
{
  g_autofree float *probs = g_new (float, n * out * hw);
  g_autoptr(GError) error = NULL;

  g_assert_true (bs_train_graph_forward (g, input, n, TRUE, probs, &error));
  return bs_train_loss_outputs (loss, 0.85, bs_train_graph_get_weight_wt (g), probs, target, valid, n, out, hw, NULL);
}

/* Central differences on the weights with the largest analytic gradients of
 * each layer (largest, so that float rounding of the loss stays small beside
 * them), the bias included. */
static void
check_layers (const GraphCase *gc, BsTrainLoss loss, const char *const *layers)
{
  int out = n_out (gc);
  g_autoptr(BsUnet) net = tiny_net_outputs (gc->fms, gc->in_ch, out, 3);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsTrainGraph) g = bs_train_graph_new (net, gc->batch, gc->h, gc->w, &error);
  g_autoptr(GRand) r = g_rand_new_with_seed (9);
  gsize hw = (gsize) gc->h * gc->w;
  g_autofree float *input = g_new (float, gc->batch * gc->in_ch * hw);
  g_autofree float *target = g_new (float, gc->batch * out * hw);
  g_autofree float *valid = g_new (float, gc->batch * out);
  double value;

  g_assert_no_error (error);
  fill_batch_outputs (r, gc->batch, gc->in_ch, out, gc->h, gc->w, input, target);
  /* With several outputs, the last slice's sub-regions are unknown (a case
   * with whole-tumour labels only): masked out of the loss and gradient. */
  for (int i = 0; i < gc->batch * out; i++)
    valid[i] = out > 1 && i / out == gc->batch - 1 && i % out > 0 ? 0.0f : 1.0f;
  g_assert_true (bs_train_graph_forward (g, input, gc->batch, TRUE, NULL, &error));
  g_assert_true (bs_train_graph_backward_masked (g, target, valid, gc->batch, loss, 0.85, &value, &error));
  g_assert_no_error (error);
  g_assert_true (isfinite (value));

  for (const char *const *name = layers; *name; name++)
    {
      int li = -1;
      BsUnetLayer *L;
      const float *dw, *db;
      gsize wn;
      g_autofree float *dw_copy = NULL;
      g_autofree float *db_copy = NULL;
      int checked = 0, good = 0;

      for (int i = 0; i < net->n_layers; i++)
        if (strcmp (net->layers[i].name, *name) == 0)
          li = i;
      g_assert_cmpint (li, >=, 0);
      L = &net->layers[li];
      wn = (gsize) L->out_ch * L->in_ch * L->kh * L->kw;
      bs_train_graph_get_grads (g, li, &dw, &db);
      dw_copy = g_memdup2 (dw, wn * sizeof (float));
      db_copy = g_memdup2 (db, L->out_ch * sizeof (float));

      for (int pick = 0; pick < 4; pick++)
        {
          /* pick 0..2: the largest weight gradients; pick 3: the largest bias gradient. */
          gboolean bias = pick == 3;
          float *param = bias ? L->bias : L->weights;
          float *grad = bias ? db_copy : dw_copy;
          gsize n = bias ? (gsize) L->out_ch : wn, best = 0;
          double analytic, numeric, h, saved, lp, lm, err;

          for (gsize k = 1; k < n; k++)
            if (fabs (grad[k]) > fabs (grad[best]))
              best = k;
          analytic = grad[best];
          grad[best] = 0.0f;  /* so the next pick takes the next largest */
          if (fabs (analytic) < 1e-6)
            continue;
          saved = param[best];
          h = 1e-3 * MAX (1.0, fabs (saved));
          param[best] = (float) (saved + h);
          lp = loss_at (g, input, target, valid, gc->batch, out, loss, hw);
          param[best] = (float) (saved - h);
          lm = loss_at (g, input, target, valid, gc->batch, out, loss, hw);
          param[best] = (float) saved;
          numeric = (lp - lm) / (2.0 * h);
          err = fabs (numeric - analytic) / MAX (fabs (analytic), 1e-3);
          g_test_message ("%s %s[%zu]: analytic %.6g numeric %.6g rel err %.3g", *name,
                          bias ? "bias" : "w", best, analytic, numeric, err);
          checked++;
          good += err < 0.05;
        }
      /* A ReLU kink or a pooling tie inside +-h can spoil one sample. */
      g_assert_cmpint (checked, >=, 3);
      g_assert_cmpint (good, >=, checked - 1);
    }
}

static const char *const all_kinds[] = {
  "PredictionMask",  /* 1x1 + sigmoid, straight from the loss */
  "convOutb",        /* 3x3 + ReLU */
  "transconvA",      /* transposed conv */
  "decodeCa",        /* 3x3 after a concat */
  "transconvE",
  "encodeEb",        /* below four poolings and both dropout levels */
  "encodeDa",
  "encodeAa",        /* everything: skip split + pooling gradient sums, first layer */
  NULL,
};

/* Gradients of every layer of a against b: within float rounding of b's. */
static void
assert_same_grads (BsUnet *net, BsTrainGraph *a, BsTrainGraph *b, double tol)
{
  for (int li = 0; li < net->n_layers; li++)
    {
      const BsUnetLayer *L = &net->layers[li];
      const float *dw_a, *db_a, *dw_b, *db_b;
      gsize wn = (gsize) L->out_ch * L->in_ch * L->kh * L->kw;
      double max_ref = 0.0, max_diff = 0.0;

      bs_train_graph_get_grads (a, li, &dw_a, &db_a);
      bs_train_graph_get_grads (b, li, &dw_b, &db_b);
      for (gsize i = 0; i < wn; i++)
        {
          max_ref = MAX (max_ref, fabs (dw_b[i]));
          max_diff = MAX (max_diff, fabs (dw_a[i] - dw_b[i]));
        }
      for (int o = 0; o < L->out_ch; o++)
        {
          max_ref = MAX (max_ref, fabs (db_b[o]));
          max_diff = MAX (max_diff, fabs (db_a[o] - db_b[o]));
        }
      g_assert_cmpfloat (max_ref, >, 0.0);
      if (max_diff > tol * max_ref)
        g_error ("layer %s: max |a - b| = %g of max |b| %g", L->name, max_diff, max_ref);
    }
}

/* The input layer's weight gradient computed in groups of input channels (as
 * bs_train_graph_new does where oneDNN has no fast kernel for all of them at
 * once) against one convolution over every channel: the same gradients in every
 * layer, the grouped layer's within float rounding of the sums. */
static void
test_grouped_input_gradient (gconstpointer data)
{
  const GraphCase *gc = data;
  g_autoptr(BsUnet) net = tiny_net (gc->fms, gc->in_ch, 21);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsTrainGraph) grouped = bs_train_graph_new (net, gc->batch, gc->h, gc->w, &error);
  g_autoptr(BsTrainGraph) whole = bs_train_graph_new_grouped (net, gc->batch, gc->h, gc->w, gc->in_ch, &error);
  g_autoptr(GRand) r = g_rand_new_with_seed (17);
  gsize hw = (gsize) gc->h * gc->w;
  g_autofree float *input = g_new (float, gc->batch * gc->in_ch * hw);
  g_autofree float *target = g_new (float, gc->batch * hw);
  g_autofree char *impl = NULL;
  double loss_grouped, loss_whole;

  g_assert_no_error (error);
  impl = bs_train_graph_describe (grouped);
  g_test_message ("%s", impl);
  /* This case must take the grouped path, else it tests nothing. */
  g_assert_nonnull (strstr (impl, "encodeAa bwd weights ch 0-"));
  fill_batch (r, gc->batch, gc->in_ch, gc->h, gc->w, input, target);
  /* A partial batch: the padding images must not add to the gradients. */
  for (int pass = 0; pass < 2; pass++)
    {
      int n = pass == 0 ? gc->batch : gc->batch - 1;

      g_assert_true (bs_train_graph_forward (grouped, input, n, TRUE, NULL, &error));
      g_assert_true (bs_train_graph_backward (grouped, target, n, BS_TRAIN_LOSS_DICE_BCE, 0.85, &loss_grouped,
                                              &error));
      g_assert_true (bs_train_graph_forward (whole, input, n, TRUE, NULL, &error));
      g_assert_true (bs_train_graph_backward (whole, target, n, BS_TRAIN_LOSS_DICE_BCE, 0.85, &loss_whole, &error));
      g_assert_no_error (error);
      g_assert_cmpfloat (loss_grouped, ==, loss_whole);
      assert_same_grads (net, grouped, whole, 1e-5);
    }
}

static void
test_gradients_dice (gconstpointer data)
{
  check_layers (data, BS_TRAIN_LOSS_DICE, all_kinds);
}

static void
test_gradients_dice_bce (gconstpointer data)
{
  check_layers (data, BS_TRAIN_LOSS_DICE_BCE, all_kinds);
}

/* The loss and its gradient with respect to the probabilities, in double. */
static void
test_loss_gradient (void)
{
  enum { N = 64 };
  float p[N], t[N], d[N];
  g_autoptr(GRand) r = g_rand_new_with_seed (2);

  for (int i = 0; i < N; i++)
    {
      p[i] = (float) g_rand_double_range (r, 0.02, 0.98);
      t[i] = g_rand_double (r) < 0.4 ? 1.0f : 0.0f;
    }
  for (int kind = 0; kind < 2; kind++)
    {
      BsTrainLoss loss = kind ? BS_TRAIN_LOSS_DICE_BCE : BS_TRAIN_LOSS_DICE;
      double base = bs_train_loss (loss, 0.85, p, t, N, d);

      g_assert_true (base > 0.0);
      for (int i = 0; i < N; i += 7)
        {
          float saved = p[i];
          double h = 1e-3, lp, lm, numeric;
          p[i] = saved + (float) h;
          lp = bs_train_loss (loss, 0.85, p, t, N, NULL);
          p[i] = saved - (float) h;
          lm = bs_train_loss (loss, 0.85, p, t, N, NULL);
          p[i] = saved;
          numeric = (lp - lm) / (2.0 * h);
          g_assert_cmpfloat (fabs (numeric - d[i]), <, 1e-3 * MAX (1.0, fabs (d[i])));
        }
    }
  /* A perfect prediction has a lower loss than its complement. */
  {
    float inv[N];
    for (int i = 0; i < N; i++)
      inv[i] = 1.0f - t[i];
    g_assert_cmpfloat (bs_train_loss (BS_TRAIN_LOSS_DICE, 0.85, t, t, N, NULL), <,
                       bs_train_loss (BS_TRAIN_LOSS_DICE, 0.85, inv, t, N, NULL));
  }
}

/* The loss of several outputs: each output's loss over its valid slices,
 * weighed by its share (the mean, or with weight_wt the whole tumour's
 * weight_wt and the rest split), a masked plane neither counting nor getting
 * a gradient; one output with every slice valid is bs_train_loss itself. */
static void
check_loss_outputs (double weight_wt, gboolean wt_masked)
{
  enum { N = 3, OUT = 3, HW = 20 };
  float p[N * OUT * HW], t[N * OUT * HW], d[N * OUT * HW], valid[N * OUT];
  float pk[N * HW], tk[N * HW], dk[N * HW];
  g_autoptr(GRand) r = g_rand_new_with_seed (4);
  double expect = 0.0, got, share[OUT];

  for (int i = 0; i < N * OUT * HW; i++)
    {
      p[i] = (float) g_rand_double_range (r, 0.02, 0.98);
      t[i] = g_rand_double (r) < 0.4 ? 1.0f : 0.0f;
    }
  for (int i = 0; i < N * OUT; i++)
    valid[i] = i == 1 * OUT + 2 || (wt_masked && i % OUT == 0) ? 0.0f : 1.0f;  /* slice 1 cannot tell output 2 */
  /* The shares worked out by hand: three outputs counted, or two when the
   * whole tumour is masked on every slice (then the plain mean). */
  for (int k = 0; k < OUT; k++)
    share[k] = wt_masked ? (k == 0 ? 0.0 : 0.5) : weight_wt > 0.0 ? (k == 0 ? weight_wt : (1.0 - weight_wt) / 2) : 1.0 / 3;
  got = bs_train_loss_outputs (BS_TRAIN_LOSS_DICE_BCE, 0.85, weight_wt, p, t, valid, N, OUT, HW, d);
  for (int k = 0; k < OUT; k++)
    {
      int m = 0;
      for (int i = 0; i < N; i++)
        if (valid[i * OUT + k] != 0.0f)
          {
            memcpy (pk + m * HW, p + (i * OUT + k) * HW, sizeof (float) * HW);
            memcpy (tk + m * HW, t + (i * OUT + k) * HW, sizeof (float) * HW);
            m++;
          }
      if (m == 0)
        {
          for (int q = 0; q < N * HW; q++)
            g_assert_cmpfloat (d[((q / HW) * OUT + k) * HW + q % HW], ==, 0.0f);
          continue;
        }
      expect += bs_train_loss (BS_TRAIN_LOSS_DICE_BCE, 0.85, pk, tk, (gsize) m * HW, dk) * share[k];
      for (int i = 0, j = 0; i < N; i++)
        for (int q = 0; q < HW; q++)
          {
            float dd = d[(i * OUT + k) * HW + q];
            if (valid[i * OUT + k] == 0.0f)
              g_assert_cmpfloat (dd, ==, 0.0f);
            else
              g_assert_cmpfloat (fabs (dd - dk[j * HW + q] * share[k]), <=, 1e-6 * MAX (1.0, fabs (dk[j * HW + q])));
            j += valid[i * OUT + k] != 0.0f && q == HW - 1;
          }
    }
  g_assert_cmpfloat (fabs (got - expect), <, 1e-9);
  /* One output, all valid: exactly the single-output loss, whatever weight_wt. */
  got = bs_train_loss_outputs (BS_TRAIN_LOSS_DICE, 0.85, weight_wt, p, t, NULL, N * OUT, 1, HW, d);
  g_assert_cmpfloat (got, ==, bs_train_loss (BS_TRAIN_LOSS_DICE, 0.85, p, t, N * OUT * HW, NULL));
}

static void
test_loss_outputs (void)
{
  check_loss_outputs (0.0, FALSE);
  check_loss_outputs (0.6, FALSE);  /* --weight-wt 0.6: WT 0.6, TC and ET 0.2 each */
  check_loss_outputs (0.6, TRUE);   /* no slice tells the whole tumour: the others alike */
}

/* Output k of a 3-output graph is the single-output reference forward of the
 * same network with head row k. */
static void
test_forward_outputs (gconstpointer data)
{
  const GraphCase *gc = data;
  int out = n_out (gc);
  g_autoptr(BsUnet) net = tiny_net_outputs (gc->fms, gc->in_ch, out, 11);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsTrainGraph) g = bs_train_graph_new (net, gc->batch, gc->h, gc->w, &error);
  g_autoptr(GRand) r = g_rand_new_with_seed (5);
  gsize hw = (gsize) gc->h * gc->w;
  g_autofree float *input = g_new (float, gc->batch * gc->in_ch * hw);
  g_autofree float *target = g_new (float, gc->batch * out * hw);
  g_autofree float *ours = g_new (float, gc->batch * out * hw);
  g_autofree float *ref = g_new (float, gc->batch * hw);
  const BsUnetLayer *head = bs_unet_find_layer (net, "PredictionMask");
  double max_diff = 0.0;

  g_assert_no_error (error);
  g_assert_cmpint (head->out_ch, ==, out);
  fill_batch_outputs (r, gc->batch, gc->in_ch, out, gc->h, gc->w, input, target);
  g_assert_true (bs_train_graph_forward (g, input, gc->batch, FALSE, ours, &error));
  for (int k = 0; k < out; k++)
    {
      g_autoptr(BsUnet) one = tiny_net (gc->fms, gc->in_ch, 11);
      BsUnetLayer *h1 = bs_unet_find_layer (one, "PredictionMask");

      for (int i = 0; i < net->n_layers; i++)
        if (&net->layers[i] != head)
          {
            const BsUnetLayer *L = &net->layers[i];
            memcpy (one->layers[i].weights, L->weights, sizeof (float) * L->out_ch * L->in_ch * L->kh * L->kw);
            memcpy (one->layers[i].bias, L->bias, sizeof (float) * L->out_ch);
          }
      memcpy (h1->weights, head->weights + (gsize) k * head->in_ch, sizeof (float) * head->in_ch);
      h1->bias[0] = head->bias[k];
      bs_reference_forward (one, input, gc->batch, gc->h, gc->w, ref);
      for (int b = 0; b < gc->batch; b++)
        for (gsize i = 0; i < hw; i++)
          max_diff = MAX (max_diff, fabs (ours[((gsize) b * out + k) * hw + i] - ref[(gsize) b * hw + i]));
    }
  g_test_message ("fms %d, %d outputs: max |graph - reference| = %g", gc->fms, out, max_diff);
  g_assert_cmpfloat (max_diff, <, 1e-4);
}

/* Spatial dropout zeroes whole channels in training and scales the rest. */
static void
test_dropout_changes_training_only (void)
{
  static const GraphCase gc = { 2, 1, 2, 32, 32 };
  g_autoptr(BsUnet) net = tiny_net (gc.fms, gc.in_ch, 4);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsTrainGraph) g = bs_train_graph_new (net, gc.batch, gc.h, gc.w, &error);
  g_autoptr(GRand) r = g_rand_new_with_seed (1);
  gsize hw = (gsize) gc.h * gc.w;
  g_autofree float *input = g_new (float, gc.batch * hw);
  g_autofree float *target = g_new (float, gc.batch * hw);
  g_autofree float *a = g_new (float, gc.batch * hw);
  g_autofree float *b = g_new (float, gc.batch * hw);
  double diff = 0.0;

  g_assert_no_error (error);
  fill_batch (r, gc.batch, gc.in_ch, gc.h, gc.w, input, target);
  bs_train_graph_set_dropout (g, 0.5, 7);
  g_assert_true (bs_train_graph_forward (g, input, gc.batch, FALSE, a, &error));
  g_assert_true (bs_train_graph_forward (g, input, gc.batch, TRUE, b, &error));
  for (gsize i = 0; i < gc.batch * hw; i++)
    diff = MAX (diff, fabs (a[i] - b[i]));
  g_assert_cmpfloat (diff, >, 1e-6);
  g_assert_true (bs_train_graph_forward (g, input, gc.batch, FALSE, b, &error));
  g_assert_cmpmem (a, gc.batch * hw * sizeof (float), b, gc.batch * hw * sizeof (float));
}

/* A graph on lanes (the batch in pieces, one single-thread graph a piece,
 * bs-train-lanes.c) against one graph of the whole batch: the same
 * probabilities, loss and gradients within float rounding, also for a part
 * of the batch that leaves a piece out, with a region head whose core and
 * enhancing outputs some slices cannot tell (the loss is over the whole
 * batch, not per piece); and with dropout, whose masks do not depend on the
 * pieces, and whose generator state a checkpoint keeps resumes it. */
static void
test_lanes (gconstpointer data)
{
  const GraphCase *gc = data;
  g_autoptr(BsUnet) net = tiny_net_outputs (gc->fms, gc->in_ch, gc->out, 23);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsTrainGraph) one = bs_train_graph_new (net, gc->batch, gc->h, gc->w, &error);
  g_autoptr(BsTrainGraph) lanes = bs_train_graph_new_lanes (net, gc->batch, gc->h, gc->w, 3, &error);
  g_autoptr(BsTrainGraph) no_dropout = bs_train_graph_new_lanes (net, gc->batch, gc->h, gc->w, 3, &error);
  g_autoptr(GRand) r = g_rand_new_with_seed (29);
  int nout = n_out (gc), threads = omp_get_max_threads ();
  gsize hw = (gsize) gc->h * gc->w;
  g_autofree float *input = g_new (float, gc->batch * gc->in_ch * hw);
  g_autofree float *target = g_new (float, gc->batch * nout * hw);
  g_autofree float *valid = g_new (float, gc->batch * nout);
  g_autofree float *p_one = g_new (float, gc->batch * nout * hw);
  g_autofree float *p_lanes = g_new (float, gc->batch * nout * hw);
  g_autofree char *describe = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (bs_train_graph_get_lanes (one), ==, 1);
  g_assert_cmpint (bs_train_graph_get_lanes (lanes), ==, 3);
  describe = bs_train_graph_describe (lanes);
  g_assert_nonnull (strstr (describe, "3 lanes of 1 thread, 3 pieces of up to 3 slices"));
  fill_batch_outputs (r, gc->batch, gc->in_ch, nout, gc->h, gc->w, input, target);
  for (int i = 0; i < gc->batch * nout; i++)
    valid[i] = i % nout == 0 || i / nout != 1;   /* slice 1 tells the whole tumour only */
  for (int pass = 0; pass < 2; pass++)
    {
      /* All 7 slices (pieces of 3, 3, 1), then 5 (the last piece idle). */
      int n = pass == 0 ? gc->batch : gc->batch - 2;
      double loss_one, loss_lanes, max_p = 0.0;

      g_assert_true (bs_train_graph_forward (one, input, n, TRUE, p_one, &error));
      g_assert_true (bs_train_graph_forward (lanes, input, n, TRUE, p_lanes, &error));
      g_assert_no_error (error);
      g_assert_cmpint (omp_get_max_threads (), ==, threads);
      for (gsize i = 0; i < (gsize) n * nout * hw; i++)
        max_p = MAX (max_p, fabs (p_one[i] - p_lanes[i]));
      g_assert_cmpfloat (max_p, <=, 1e-5);
      g_assert_true (bs_train_graph_backward_masked (one, target, valid, n, BS_TRAIN_LOSS_DICE_BCE, 0.85, &loss_one,
                                                     &error));
      g_assert_true (bs_train_graph_backward_masked (lanes, target, valid, n, BS_TRAIN_LOSS_DICE_BCE, 0.85,
                                                     &loss_lanes, &error));
      g_assert_no_error (error);
      g_assert_cmpint (omp_get_max_threads (), ==, threads);
      g_assert_cmpfloat (fabs (loss_one - loss_lanes), <=, 1e-5 * fabs (loss_one));
      assert_same_grads (net, lanes, one, 1e-4);
    }

  /* Dropout: one seed a slice from the graph's generator, so the same masks
   * on lanes as on one graph of the whole batch, also for a part of the
   * batch, and a generator state set as a resumed checkpoint sets it carries
   * on from there. */
  bs_train_graph_set_dropout (lanes, 0.5, 7);
  bs_train_graph_set_dropout (one, 0.5, 7);
  for (int step = 0; step < 4; step++)
    {
      int n = step == 1 ? gc->batch - 2 : gc->batch;
      guint64 state = bs_train_graph_get_rng_state (lanes);

      if (step == 3)
        {
          /* Move one's generator elsewhere, then back to where lanes' is. */
          g_assert_true (bs_train_graph_forward (one, input, gc->batch, TRUE, NULL, &error));
          g_assert_cmpuint (bs_train_graph_get_rng_state (one), !=, state);
          bs_train_graph_set_rng_state (one, state);
        }
      g_assert_cmpuint (bs_train_graph_get_rng_state (one), ==, state);
      g_assert_true (bs_train_graph_forward (lanes, input, n, TRUE, NULL, &error));
      g_assert_true (bs_train_graph_backward (lanes, target, n, BS_TRAIN_LOSS_DICE, 1.0, NULL, &error));
      g_assert_true (bs_train_graph_forward (one, input, n, TRUE, NULL, &error));
      g_assert_true (bs_train_graph_backward (one, target, n, BS_TRAIN_LOSS_DICE, 1.0, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (bs_train_graph_get_rng_state (lanes), !=, state);
      assert_same_grads (net, lanes, one, 1e-4);
    }
  /* ... and dropout did drop: the same lanes without it give other gradients. */
  g_assert_true (bs_train_graph_forward (no_dropout, input, gc->batch, TRUE, NULL, &error));
  g_assert_true (bs_train_graph_backward (no_dropout, target, gc->batch, BS_TRAIN_LOSS_DICE, 1.0, NULL, &error));
  g_assert_no_error (error);
  {
    const float *dw_a, *dw_b;
    const BsUnetLayer *L = &net->layers[0];
    double diff = 0.0, ref = 0.0;

    bs_train_graph_get_grads (no_dropout, 0, &dw_a, NULL);
    bs_train_graph_get_grads (lanes, 0, &dw_b, NULL);
    for (gsize i = 0; i < (gsize) L->out_ch * L->in_ch * L->kh * L->kw; i++)
      {
        diff = MAX (diff, fabs (dw_a[i] - dw_b[i]));
        ref = MAX (ref, fabs (dw_a[i]));
      }
    g_assert_cmpfloat (diff, >, 0.01 * ref);
  }
}

static void
test_bad_size (void)
{
  g_autoptr(BsUnet) net = tiny_net (2, 1, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsTrainGraph) g = bs_train_graph_new (net, 1, 24, 32, &error);

  g_assert_null (g);
  g_assert_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA);
}

int
main (int argc, char **argv)
{
  static const GraphCase plain = { 2, 2, 2, 16, 16 };
  static const GraphCase blocked = { 16, 1, 2, 16, 16 };
  static const GraphCase plain_rect = { 2, 1, 3, 32, 48 };
  static const GraphCase four = { 2, 4, 2, 16, 16 };        /* FLAIR, T1w, T1gd, T2w: a blocked input */
  static const GraphCase four_blocked = { 16, 4, 2, 16, 16 };
  static const GraphCase seven_blocked = { 16, 7, 3, 16, 16 };  /* uneven groups: 3 + 2 + 2 */
  static const GraphCase regions = { 2, 2, 2, 16, 16, 3 };      /* WT, TC, ET */
  static const GraphCase regions_blocked = { 16, 1, 2, 16, 16, 3 };
  static const GraphCase lanes_plain = { 2, 2, 7, 16, 16, 3 };
  static const GraphCase lanes_blocked = { 16, 4, 7, 16, 16, 3 };

  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/train/graph/forward-reference/fms2", &plain, test_forward_matches_reference);
  g_test_add_data_func ("/train/graph/forward-reference/fms2-rect", &plain_rect, test_forward_matches_reference);
  g_test_add_data_func ("/train/graph/forward-reference/fms16-blocked", &blocked, test_forward_matches_reference);
  g_test_add_func ("/train/loss/gradient", test_loss_gradient);
  g_test_add_data_func ("/train/graph/gradients/dice/fms2", &plain, test_gradients_dice);
  g_test_add_data_func ("/train/graph/gradients/dice-bce/fms2", &plain, test_gradients_dice_bce);
  g_test_add_data_func ("/train/graph/gradients/dice/fms16-blocked", &blocked, test_gradients_dice);
  g_test_add_data_func ("/train/graph/forward-reference/fms2-4ch", &four, test_forward_matches_reference);
  g_test_add_data_func ("/train/graph/forward-reference/fms16-4ch", &four_blocked, test_forward_matches_reference);
  g_test_add_data_func ("/train/graph/gradients/dice/fms2-4ch", &four, test_gradients_dice);
  g_test_add_data_func ("/train/graph/gradients/dice/fms16-4ch", &four_blocked, test_gradients_dice);
  g_test_add_data_func ("/train/graph/gradients/grouped-input/fms16-4ch", &four_blocked, test_grouped_input_gradient);
  g_test_add_data_func ("/train/graph/gradients/grouped-input/fms16-7ch", &seven_blocked,
                        test_grouped_input_gradient);
  g_test_add_func ("/train/loss/outputs", test_loss_outputs);
  g_test_add_data_func ("/train/graph/forward-reference/fms2-regions", &regions, test_forward_outputs);
  g_test_add_data_func ("/train/graph/forward-reference/fms16-regions", &regions_blocked, test_forward_outputs);
  g_test_add_data_func ("/train/graph/gradients/dice/fms2-regions", &regions, test_gradients_dice);
  g_test_add_data_func ("/train/graph/gradients/dice-bce/fms2-regions", &regions, test_gradients_dice_bce);
  g_test_add_data_func ("/train/graph/gradients/dice/fms16-regions", &regions_blocked, test_gradients_dice);
  g_test_add_func ("/train/graph/dropout", test_dropout_changes_training_only);
  g_test_add_func ("/train/graph/bad-size", test_bad_size);
  g_test_add_data_func ("/train/graph/lanes/fms2-regions", &lanes_plain, test_lanes);
  g_test_add_data_func ("/train/graph/lanes/fms16-4ch-regions", &lanes_blocked, test_lanes);
  return g_test_run ();
}
