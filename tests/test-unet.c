/* U-Net weights: random construction, HDF5 round trip, Keras files written by
 * h5py loading and agreeing with a numpy forward pass, broken files refused. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "bs-error.h"
#include "bs-plan.h"
#include "bs-unet.h"

static BsUnet *
small_net (int fms, int in_ch, BsUpsample up, guint64 seed)
{
  BsUnetConfig c = { .fms = fms, .in_channels = in_ch, .upsample = up };
  return bs_unet_new_random (&c, seed);
}

static void
test_layers (void)
{
  g_autoptr(BsUnet) t = small_net (16, 1, BS_UPSAMPLE_TRANSPOSED, 1);
  g_autoptr(BsUnet) n = small_net (8, 4, BS_UPSAMPLE_NEAREST, 1);
  double gflop;

  g_assert_cmpint (t->n_layers, ==, 23);
  g_assert_cmpstr (t->layers[0].name, ==, "encodeAa");
  g_assert_cmpstr (t->layers[22].name, ==, "PredictionMask");
  g_assert_cmpint (bs_unet_find_layer (t, "decodeCa")->in_ch, ==, 256);
  g_assert_cmpint (bs_unet_find_layer (t, "transconvA")->out_ch, ==, 16);
  g_assert_cmpstr (t->config.modalities[0], ==, "FLAIR");
  g_assert_cmpint (n->n_layers, ==, 19);
  g_assert_null (bs_unet_find_layer (n, "transconvE"));
  g_assert_cmpint (bs_unet_find_layer (n, "decodeCa")->in_ch, ==, 24 * 8);
  g_assert_cmpint (bs_unet_find_layer (n, "encodeAa")->in_ch, ==, 4);
  /* The issue quotes 1.52 GFLOP per 128x128 slice for fms 16. */
  gflop = bs_unet_flops (t, 128, 128) / 1e9;
  g_assert_cmpfloat (fabs (gflop - 1.52), <, 0.05);
}

static void
assert_same_net (const BsUnet *a, const BsUnet *b)
{
  g_assert_cmpint (a->n_layers, ==, b->n_layers);
  g_assert_cmpint (a->config.fms, ==, b->config.fms);
  g_assert_cmpint (a->config.in_channels, ==, b->config.in_channels);
  g_assert_cmpint (a->config.upsample, ==, b->config.upsample);
  for (int i = 0; i < a->n_layers; i++)
    {
      const BsUnetLayer *la = &a->layers[i], *lb = &b->layers[i];
      gsize n = (gsize) la->out_ch * la->in_ch * la->kh * la->kw;
      g_assert_cmpstr (la->name, ==, lb->name);
      g_assert_cmpint (memcmp (la->weights, lb->weights, n * sizeof (float)), ==, 0);
      g_assert_cmpint (memcmp (la->bias, lb->bias, la->out_ch * sizeof (float)), ==, 0);
    }
}

static void
test_roundtrip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("bs-unet-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "m.h5", NULL);

  for (int up = 0; up < 2; up++)
    {
      g_autoptr(BsUnet) net = small_net (4, 2, up, 7);
      g_autoptr(BsUnet) back = NULL;
      g_autoptr(BsUnet) copy = NULL;
      g_autoptr(GError) error = NULL;

      g_strfreev (net->config.modalities);
      net->config.modalities = g_strsplit ("T1gd,FLAIR", ",", -1);
      for (int i = 0; i < net->n_layers; i++)
        for (int o = 0; o < net->layers[i].out_ch; o++)
          net->layers[i].bias[o] = 0.01f * o - 0.02f * i;
      net->description = g_strdup ("test model");
      g_assert_true (bs_unet_save_h5 (net, path, &error));
      g_assert_no_error (error);
      back = bs_unet_load_h5 (path, &error);
      g_assert_no_error (error);
      assert_same_net (net, back);
      g_assert_cmpstr (back->config.modalities[0], ==, "T1gd");
      g_assert_cmpstr (back->config.modalities[1], ==, "FLAIR");
      g_assert_cmpstr (back->config.normalisation, ==, "zscore-foreground");
      g_assert_cmpstr (back->description, ==, "test model");
      copy = bs_unet_copy (back);
      assert_same_net (back, copy);
    }
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_reference_basic (void)
{
  g_autoptr(BsUnet) net = small_net (2, 1, BS_UPSAMPLE_TRANSPOSED, 3);
  float in[32 * 16], out[32 * 16], out2[2 * 32 * 16], in2[2 * 32 * 16];

  for (int i = 0; i < 32 * 16; i++)
    in[i] = sinf (i * 0.1f);
  bs_reference_forward (net, in, 1, 32, 16, out);
  for (int i = 0; i < 32 * 16; i++)
    g_assert_true (out[i] > 0.0f && out[i] < 1.0f);
  /* Batches are independent slices. */
  memcpy (in2, in, sizeof in);
  memcpy (in2 + 32 * 16, in, sizeof in);
  bs_reference_forward (net, in2, 2, 32, 16, out2);
  g_assert_cmpint (memcmp (out2, out, sizeof out), ==, 0);
  g_assert_cmpint (memcmp (out2 + 32 * 16, out, sizeof out), ==, 0);
}

/* Writes the Keras-layout files with h5py; returns the folder, or NULL to skip. */
static char *
keras_files (void)
{
  const char *py = g_getenv ("BS_PYTHON");
  const char *src = g_getenv ("BS_SOURCE_ROOT");
  g_autofree char *script = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  if (!py || !src)
    return NULL;
  script = g_build_filename (src, "tests", "keras-weights.py", NULL);
  dir = g_dir_make_tmp ("bs-keras-XXXXXX", NULL);
  {
    char *argv[] = { (char *) py, script, dir, NULL };
    g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, &err, &status, &error));
  }
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("keras-weights.py failed: %s", err);
  return g_steal_pointer (&dir);
}

static float *
read_floats (const char *dir, const char *name, gsize *n)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  char *data = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (p, &data, &len, NULL));
  *n = len / sizeof (float);
  return (float *) data;
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)))
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
}

/* A region model (WT, TC, ET): three sigmoid outputs survive the file, and
 * a file without brainseg_config takes its output count from the head. */
static void
test_regions (void)
{
  g_autofree char *dir = g_dir_make_tmp ("bs-unet-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "r.h5", NULL);
  BsUnetConfig c = { .fms = 2, .in_channels = 4 };
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(BsUnet) back = NULL;
  g_autoptr(GError) error = NULL;
  char **outputs = NULL;

  g_assert_true (bs_unet_parse_outputs ("wt, TC,et", &c.outputs, &error));
  g_assert_no_error (error);
  net = bs_unet_new_random (&c, 3);
  bs_unet_config_clear (&c);
  g_assert_cmpint (net->config.out_channels, ==, 3);
  g_assert_cmpint (bs_unet_find_layer (net, "PredictionMask")->out_ch, ==, 3);
  g_assert_cmpint (bs_unet_output_index (net, "et"), ==, 2);
  g_assert_true (bs_unet_save_h5 (net, path, &error));
  back = bs_unet_load_h5 (path, &error);
  g_assert_no_error (error);
  assert_same_net (net, back);
  g_assert_cmpint (back->config.out_channels, ==, 3);
  g_assert_cmpstr (back->config.outputs[1], ==, "tc");

  /* The default is IntelAI's single whole-tumour output. */
  {
    g_autoptr(BsUnet) one = small_net (2, 1, BS_UPSAMPLE_TRANSPOSED, 1);
    g_assert_cmpint (one->config.out_channels, ==, 1);
    g_assert_cmpstr (one->config.outputs[0], ==, "wt");
    g_assert_cmpint (bs_unet_output_index (one, "tc"), ==, -1);
  }

  static const char *const bad[] = { "wt,xx", "tc,wt", "wt,wt", "", "wt,tc,et,wt" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) e = NULL;
      g_assert_false (bs_unet_parse_outputs (bad[i], &outputs, &e));
      g_assert_nonnull (e);
      g_test_message ("%s", e->message);
    }
  g_assert_null (outputs);
  g_unlink (path);
  g_rmdir (dir);
}

/* 2.5D: a network widened from 2D computes what the 2D one did whatever its
 * neighbour inputs hold, until training moves their weights; the context
 * survives the file. */
static void
test_context (void)
{
  g_autofree char *dir = g_dir_make_tmp ("bs-unet-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "c.h5", NULL);
  BsUnetConfig c = { .fms = 2, .in_channels = 2 };
  g_autoptr(BsUnet) flat = bs_unet_new_random (&c, 7);
  g_autoptr(BsUnet) wide = bs_unet_with_context (flat, 1);
  g_autoptr(BsUnet) back = NULL;
  g_autoptr(BsUnet) narrow = NULL;
  g_autoptr(GError) error = NULL;
  const int h = 16, w = 16;
  gsize plane = (gsize) h * w;
  g_autofree float *in = g_new (float, 6 * plane);
  g_autofree float *a = g_new (float, plane), *b = g_new (float, plane);
  double diff = 0.0;

  g_assert_nonnull (dir);
  g_assert_cmpint (wide->config.context, ==, 1);
  g_assert_cmpint (bs_unet_input_channels (&wide->config), ==, 6);
  g_assert_cmpint (bs_unet_find_layer (wide, "encodeAa")->in_ch, ==, 6);
  for (gsize i = 0; i < 6 * plane; i++)
    in[i] = sinf ((float) i * 0.37f);
  bs_reference_forward (flat, in, 1, h, w, a);
  bs_reference_forward (wide, in, 1, h, w, b);
  for (gsize i = 0; i < plane; i++)
    diff = MAX (diff, fabs (a[i] - b[i]));
  g_assert_cmpfloat (diff, <, 1e-6);
  /* Once a neighbour weight moves, the neighbours count. */
  bs_unet_find_layer (wide, "encodeAa")->weights[2 * 9] = 0.5f;
  bs_reference_forward (wide, in, 1, h, w, b);
  diff = 0.0;
  for (gsize i = 0; i < plane; i++)
    diff = MAX (diff, fabs (a[i] - b[i]));
  g_assert_cmpfloat (diff, >, 1e-4);

  g_assert_true (bs_unet_save_h5 (wide, path, &error));
  back = bs_unet_load_h5 (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->config.context, ==, 1);
  g_assert_cmpint (back->config.in_channels, ==, 2);
  assert_same_net (wide, back);
  /* Back to one slice: the slice's own weights, as they were. */
  narrow = bs_unet_with_context (back, 0);
  g_assert_cmpint (bs_unet_find_layer (narrow, "encodeAa")->in_ch, ==, 2);
  bs_reference_forward (narrow, in, 1, h, w, b);
  diff = 0.0;
  for (gsize i = 0; i < plane; i++)
    diff = MAX (diff, fabs (a[i] - b[i]));
  g_assert_cmpfloat (diff, <, 1e-6);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_keras (void)
{
  g_autofree char *dir = keras_files ();
  g_autofree char *good = NULL;
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *input = NULL, *expected = NULL, *probs = NULL;
  gsize n_in, n_out;
  double max_err = 0.0;

  if (!dir)
    {
      g_test_skip ("BS_PYTHON/BS_SOURCE_ROOT not set: no h5py to write a Keras file");
      return;
    }
  good = g_build_filename (dir, "good.h5", NULL);
  net = bs_unet_load_h5 (good, &error);
  g_assert_no_error (error);
  /* No brainseg_config: the topology comes from the kernel shapes. */
  g_assert_cmpint (net->config.fms, ==, 4);
  g_assert_cmpint (net->config.in_channels, ==, 2);
  g_assert_cmpint (net->config.upsample, ==, BS_UPSAMPLE_TRANSPOSED);

  input = read_floats (dir, "input.f32", &n_in);
  expected = read_floats (dir, "expected.f32", &n_out);
  g_assert_cmpuint (n_in, ==, 2 * 32 * 48);
  g_assert_cmpuint (n_out, ==, 32 * 48);
  probs = g_new (float, n_out);
  bs_reference_forward (net, input, 1, 32, 48, probs);
  for (gsize i = 0; i < n_out; i++)
    max_err = MAX (max_err, fabs (probs[i] - expected[i]));
  g_test_message ("max |C - numpy| = %g", max_err);
  g_assert_cmpfloat (max_err, <, 1e-5);

  /* And the oneDNN plan on the same file. */
  {
    BsPlanOptions o;
    g_autoptr(BsPlan) plan = NULL;

    bs_plan_options_init (&o);
    o.threads = 1;
    plan = bs_plan_new (net, 32, 48, &o, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (bs_plan_run (plan, input, 1, probs, NULL, &error));
    max_err = 0.0;
    for (gsize i = 0; i < n_out; i++)
      max_err = MAX (max_err, fabs (probs[i] - expected[i]));
    g_test_message ("max |oneDNN - numpy| = %g", max_err);
    g_assert_cmpfloat (max_err, <, 1e-4);
  }

  {
    static const struct { const char *file; int code; const char *layer; } bad[] = {
      { "missing.h5", BS_MODEL_ERROR_MISSING, "decodeBb" },
      { "shape.h5", BS_MODEL_ERROR_SHAPE, "decodeCa" },
      { "other.h5", BS_MODEL_ERROR_TOPOLOGY, "dense_1" },
      { "unet3d.h5", BS_MODEL_ERROR_TOPOLOGY, "encodeAa" },
      { "topology.h5", BS_MODEL_ERROR_TOPOLOGY, "unet3d-decathlon" },
    };
    for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autofree char *p = g_build_filename (dir, bad[i].file, NULL);
        g_autoptr(GError) e = NULL;
        g_autoptr(BsUnet) b = bs_unet_load_h5 (p, &e);

        g_assert_null (b);
        g_assert_error (e, BS_MODEL_ERROR, bad[i].code);
        g_test_message ("%s", e->message);
        g_assert_nonnull (strstr (e->message, bad[i].layer));
        g_assert_nonnull (strstr (e->message, bad[i].file));
      }
  }
  remove_dir (dir);
}

static void
test_not_hdf5 (void)
{
  g_autofree char *dir = g_dir_make_tmp ("bs-unet-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "junk.h5", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsUnet) net = NULL;

  g_assert_true (g_file_set_contents (path, "not an hdf5 file at all", -1, NULL));
  net = bs_unet_load_h5 (path, &error);
  g_assert_null (net);
  g_assert_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE);
  g_assert_nonnull (strstr (error->message, "junk.h5"));
  g_clear_error (&error);
  g_unlink (path);
  net = bs_unet_load_h5 (path, &error);
  g_assert_null (net);
  g_assert_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE);
  g_rmdir (dir);
}

/* The running mean of three weight sets is their arithmetic mean; a copy of
 * weights makes the destination equal the source. */
static void
test_mean (void)
{
  BsUnetConfig c = { .fms = 2, .in_channels = 2 };
  g_autoptr(BsUnet) a = bs_unet_new_random (&c, 1);
  g_autoptr(BsUnet) b = bs_unet_new_random (&c, 2);
  g_autoptr(BsUnet) d = bs_unet_new_random (&c, 3);
  g_autoptr(BsUnet) mean = bs_unet_copy (a);
  g_autoptr(BsUnet) copy = bs_unet_new_random (&c, 4);

  for (int i = 0; i < a->n_layers; i++)
    for (int k = 0; k < a->layers[i].out_ch; k++)
      {
        a->layers[i].bias[k] = (float) k;
        b->layers[i].bias[k] = 1.0f;
        d->layers[i].bias[k] = -2.0f * k;
      }
  bs_unet_copy_weights (mean, a);
  bs_unet_mean_update (mean, b, 2);
  bs_unet_mean_update (mean, d, 3);
  for (int i = 0; i < a->n_layers; i++)
    {
      const BsUnetLayer *la = &a->layers[i], *lb = &b->layers[i], *ld = &d->layers[i], *lm = &mean->layers[i];
      gsize n = (gsize) la->out_ch * la->in_ch * la->kh * la->kw;
      for (gsize k = 0; k < n; k++)
        g_assert_cmpfloat_with_epsilon (lm->weights[k], (la->weights[k] + lb->weights[k] + ld->weights[k]) / 3.0f,
                                        1e-6);
      for (int k = 0; k < la->out_ch; k++)
        g_assert_cmpfloat_with_epsilon (lm->bias[k], (1.0f - k) / 3.0f, 1e-5);
    }
  bs_unet_copy_weights (copy, d);
  for (int i = 0; i < d->n_layers; i++)
    {
      gsize n = (gsize) d->layers[i].out_ch * d->layers[i].in_ch * d->layers[i].kh * d->layers[i].kw;
      g_assert_cmpmem (copy->layers[i].weights, n * sizeof (float), d->layers[i].weights, n * sizeof (float));
      g_assert_cmpmem (copy->layers[i].bias, d->layers[i].out_ch * sizeof (float), d->layers[i].bias,
                       d->layers[i].out_ch * sizeof (float));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/unet/layers", test_layers);
  g_test_add_func ("/unet/mean", test_mean);
  g_test_add_func ("/unet/roundtrip", test_roundtrip);
  g_test_add_func ("/unet/reference", test_reference_basic);
  g_test_add_func ("/unet/keras", test_keras);
  g_test_add_func ("/unet/regions", test_regions);
  g_test_add_func ("/unet/context", test_context);
  g_test_add_func ("/unet/not-hdf5", test_not_hdf5);
  return g_test_run ();
}
