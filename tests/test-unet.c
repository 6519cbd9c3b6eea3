/* U-Net weights: random construction, HDF5 round trip, Keras files written by
 * h5py loading and agreeing with a numpy forward pass, broken files refused
 * (each with a message naming the file and what is wrong), and
 * brainseg-cli info telling a broken model what the model loader says. */
#include <glib.h>
#include <glib/gstdio.h>
#include <hdf5.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include "bs-error.h"
#include "bs-plan.h"
#include "bs-unet.h"
#include "test-util.h"

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
  g_autofree char *dir = bs_test_make_tmp_dir ("bs-unet-XXXXXX");
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
  dir = bs_test_make_tmp_dir ("bs-keras-XXXXXX");
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
  g_autofree char *dir = bs_test_make_tmp_dir ("bs-unet-XXXXXX");
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
  g_autofree char *dir = bs_test_make_tmp_dir ("bs-unet-XXXXXX");
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
  g_autofree char *dir = bs_test_make_tmp_dir ("bs-unet-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "junk.h5", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsUnet) net = NULL;

  g_assert_true (g_file_set_contents (path, "not an hdf5 file at all", -1, NULL));
  net = bs_unet_load_h5 (path, &error);
  g_assert_null (net);
  g_assert_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE);
  g_assert_nonnull (strstr (error->message, "junk.h5"));
  g_assert_nonnull (strstr (error->message, "not an HDF5 model file"));
  g_clear_error (&error);
  g_unlink (path);
  net = bs_unet_load_h5 (path, &error);
  g_assert_null (net);
  g_assert_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE);
  g_clear_error (&error);

  /* hostile-input finding: a model cut short starts as HDF5 does and was
   * called no HDF5 file; it is said to be truncated or damaged, at any length
   * from the bare signature to all but its last bytes */
  {
    BsUnetConfig c = { .fms = 2, .in_channels = 1 };
    g_autoptr(BsUnet) whole = bs_unet_new_random (&c, 3);
    g_autofree char *full = g_build_filename (dir, "whole.h5", NULL);
    g_autofree char *cut = g_build_filename (dir, "cut.h5", NULL);
    g_autofree char *bytes = NULL;
    gsize len = 0;

    g_assert_true (bs_unet_save_h5 (whole, full, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_get_contents (full, &bytes, &len, NULL));
    g_assert_cmpuint (len, >, 4096);
    {
      const gsize keep[] = { 8, 2048, len / 2, len - 100 };

      for (gsize k = 0; k < G_N_ELEMENTS (keep); k++)
        {
          g_autoptr(BsUnet) none = NULL;

          g_assert_true (g_file_set_contents (cut, bytes, (gssize) keep[k], NULL));
          none = bs_unet_load_h5 (cut, &error);
          g_assert_null (none);
          g_assert_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE);
          g_assert_nonnull (strstr (error->message, cut));
          g_assert_nonnull (strstr (error->message, "truncated or damaged"));
          g_assert_cmpint (bs_unet_h5_probe (cut), ==, BS_UNET_H5_DAMAGED);
          g_clear_error (&error);
        }
    }
    /* and the whole file still loads */
    {
      g_autoptr(BsUnet) again = bs_unet_load_h5 (full, &error);

      g_assert_no_error (error);
      g_assert_nonnull (again);
    }
    g_unlink (cut);
    g_unlink (full);
  }
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

/* ---- damaged files ---- */

/* A tiny model (fms 2, one FLAIR input) saved as dir/name; its path. */
static char *
save_small (const char *dir, const char *name, BsUnet *net)
{
  g_autoptr(BsUnet) own = NULL;
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  if (!net)
    net = own = small_net (2, 1, BS_UPSAMPLE_TRANSPOSED, 5);
  g_assert_true (bs_unet_save_h5 (net, path, &error));
  g_assert_no_error (error);
  return path;
}

/* Replaces the file's string attribute name with json (NULL: none), written
 * as the saver writes it. */
static void
set_attr (const char *path, const char *name, const char *json)
{
  hid_t f = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);

  g_assert_cmpint (f, >=, 0);
  if (H5Aexists (f, name) > 0)
    g_assert_cmpint (H5Adelete (f, name), >=, 0);
  if (json)
    {
      hid_t type = H5Tcopy (H5T_C_S1), space = H5Screate (H5S_SCALAR), attr;

      H5Tset_size (type, strlen (json) + 1);
      H5Tset_strpad (type, H5T_STR_NULLTERM);
      attr = H5Acreate2 (f, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
      g_assert_cmpint (attr, >=, 0);
      g_assert_cmpint (H5Awrite (attr, type, json), >=, 0);
      H5Aclose (attr);
      H5Sclose (space);
      H5Tclose (type);
    }
  g_assert_cmpint (H5Fclose (f), >=, 0);
}

/* The brainseg_config attribute (NULL: none, as a Keras file has). */
static void
set_config (const char *path, const char *json)
{
  set_attr (path, "brainseg_config", json);
}

/* A stored int8 calibration goes with the weights to the file and back, and
 * through copies; one that cannot be of this network, or is damaged, fails
 * naming the file (a wrong range would quantise every layer wrongly, silently). */
static void
test_calibration (void)
{
  g_autofree char *dir = bs_test_make_tmp_dir ("bs-unet-XXXXXX");
  g_autofree char *path = g_build_filename (dir, "m.h5", NULL);
  g_autoptr(BsUnet) net = small_net (2, 1, BS_UPSAMPLE_TRANSPOSED, 5);
  g_autoptr(BsUnet) back = NULL, copy = NULL, bare = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *values = g_new (float, 1 + net->n_layers);
  g_autofree char *ranges = NULL;
  struct { const char *json, *message; } bad[] = {
    { "not json", "brainseg_calibration is not a JSON object" },
    { "[1, 2]", "brainseg_calibration is not a JSON object" },
    { "", "brainseg_calibration is not a JSON object" },
    { NULL, "malformed JSON: nested deeper than" },
    { "{\"cases\": 3, \"input_max\": 2, \"layer_max\": [1, 2, 3, 4, 5]}",
      "brainseg_calibration holds 5 layer ranges, but the network has 23 layers" },
    { NULL, "range of layer encodeAb is not a positive number" },
    { NULL, "needs a positive input_max and a count of cases" },
  };

  g_assert_cmpint (net->n_layers, ==, 23);
  g_assert_null (net->calibration);
  for (int i = 0; i <= net->n_layers; i++)
    values[i] = 0.37f + 1.7f * i;
  bs_unet_set_calibration (net, values, 7);
  g_assert_true (bs_unet_save_h5 (net, path, &error));
  g_assert_no_error (error);
  back = bs_unet_load_h5 (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (back->calibration);
  g_assert_cmpint (back->calibration_cases, ==, 7);
  g_assert_cmpmem (back->calibration, (1 + net->n_layers) * sizeof (float), values,
                   (1 + net->n_layers) * sizeof (float));
  copy = bs_unet_copy (back);
  g_assert_cmpint (copy->calibration_cases, ==, 7);
  g_assert_cmpmem (copy->calibration, (1 + net->n_layers) * sizeof (float), values,
                   (1 + net->n_layers) * sizeof (float));
  /* dropped: saved without it */
  bs_unet_set_calibration (copy, NULL, 0);
  g_assert_null (copy->calibration);
  g_assert_true (bs_unet_save_h5 (copy, path, &error));
  bare = bs_unet_load_h5 (path, &error);
  g_assert_no_error (error);
  g_assert_null (bare->calibration);
  g_assert_cmpint (bare->calibration_cases, ==, 0);

  /* nested far deeper than any calibration: refused before json-glib recurses */
  bad[3].json = g_strnfill (30000, '[');
  /* 23 ranges with the second negative; then all positive, no cases */
  {
    g_autoptr(GString) g = g_string_new ("{\"cases\": 3, \"input_max\": 2, \"layer_max\": [");
    for (int i = 0; i < net->n_layers; i++)
      g_string_append_printf (g, "%s%d", i ? ", " : "", i == 1 ? -4 : i + 1);
    g_string_append (g, "]}");
    bad[5].json = g_strdup (g->str);
    ranges = g_strdup (g->str);
    g_strdelimit (ranges, "-", ' ');
    ranges[strlen ("{\"cases\": ") ] = '0';
    bad[6].json = ranges;
  }
  g_assert_true (bs_unet_save_h5 (net, path, &error));
  for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
    {
      g_autoptr(BsUnet) none = NULL;

      set_attr (path, "brainseg_calibration", bad[k].json);
      none = bs_unet_load_h5 (path, &error);
      g_assert_null (none);
      int code = strstr (bad[k].message, "layer ranges") ? BS_MODEL_ERROR_TOPOLOGY : BS_MODEL_ERROR_FILE;

      g_assert_error (error, BS_MODEL_ERROR, code);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, bad[k].message));
      g_clear_error (&error);
    }
  g_free ((char *) bad[5].json);
  g_free ((char *) bad[3].json);
  g_unlink (path);
  g_rmdir (dir);
}

/* A layer's kernel replaced by an empty one of another shape (never
 * written, so the file stays small however large the shape). */
static void
set_kernel_shape (const char *path, const char *layer, int rank, const hsize_t *dims)
{
  g_autofree char *k = g_strdup_printf ("model_weights/%s/%s/kernel:0", layer, layer);
  hid_t f = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT), space, ds;

  g_assert_cmpint (f, >=, 0);
  g_assert_cmpint (H5Ldelete (f, k, H5P_DEFAULT), >=, 0);
  space = H5Screate_simple (rank, dims, NULL);
  ds = H5Dcreate2 (f, k, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  g_assert_cmpint (ds, >=, 0);
  H5Dclose (ds);
  H5Sclose (space);
  g_assert_cmpint (H5Fclose (f), >=, 0);
}

/* Loading path fails with a message naming the file and saying says. */
static void
assert_load_fails (const char *path, const char *says)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BsUnet) net = bs_unet_load_h5 (path, &error);
  g_autofree char *base = g_path_get_basename (path);

  g_assert_null (net);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_true (error->domain == BS_MODEL_ERROR);
  g_assert_nonnull (strstr (error->message, base));
  g_assert_nonnull (strstr (error->message, says));
}

/* Every brainseg_config key is type-checked and range-checked: a value of
 * another type fails naming the file and the key (no json-glib warnings,
 * which g_test_init makes fatal, no NULL reaching strcmp), and sizes that
 * would allocate tens of gigabytes or exceed what preprocessing supports
 * fail before anything is allocated. */
static void
test_config_types (void)
{
  static const char *const base_json =
    "{\"topology\":\"unet2d-intelai\",\"fms\":2,\"in_channels\":1,\"upsample\":\"transposed\","
    "\"modalities\":[\"FLAIR\"],\"normalisation\":\"zscore-foreground\",\"crop\":128,\"outputs\":[\"wt\"],"
    "\"description\":\"tiny\"}";
  static const struct { const char *key, *value, *says; } bad[] = {
    { "topology", "5", "brainseg_config \"topology\" is not a string" },
    { "topology", "null", "brainseg_config \"topology\" is not a string" },
    { "upsample", "5", "brainseg_config \"upsample\" is not a string" },
    { "upsample", "null", "brainseg_config \"upsample\" is not a string" },
    { "upsample", "\"bilinear\"", "\"upsample\" is \"bilinear\"; it must be \"transposed\" or \"nearest\"" },
    { "normalisation", "7", "brainseg_config \"normalisation\" is not a string" },
    { "description", "12", "brainseg_config \"description\" is not a string" },
    { "modalities", "\"FLAIR\"", "brainseg_config \"modalities\" is not an array of strings" },
    { "modalities", "[1, 2]", "brainseg_config \"modalities\" is not an array of strings" },
    { "outputs", "\"wt\"", "brainseg_config \"outputs\" is not an array of strings" },
    { "outputs", "[1]", "brainseg_config \"outputs\" is not an array of strings" },
    { "fms", "\"16\"", "brainseg_config \"fms\" is not an integer" },
    { "fms", "1e300", "brainseg_config \"fms\" is not an integer" },
    { "fms", "0", "brainseg_config \"fms\" is 0; it must be between 1 and 256" },
    { "fms", "4096", "fms 4096 is too large (at most 256)" },
    { "fms", "4294967312", "fms 4294967312 is too large (at most 256)" },
    { "in_channels", "true", "brainseg_config \"in_channels\" is not an integer" },
    { "in_channels", "40", "40 input channels are too many (at most 32)" },
    { "context", "1099511627776", "brainseg_config \"context\" is 1099511627776; it must be between 0 and 3" },
    { "crop", "-5", "brainseg_config \"crop\" is -5" },
    { "crop", "2147483653", "brainseg_config \"crop\" is 2147483653" },
  };
  g_autofree char *dir = bs_test_make_tmp_dir ("bs-unet-XXXXXX");
  g_autofree char *path = save_small (dir, "M.h5", NULL);

  /* The base configuration itself loads. */
  set_config (path, base_json);
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(BsUnet) net = bs_unet_load_h5 (path, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (net->description, ==, "tiny");
    g_assert_cmpint (net->config.crop, ==, 128);
  }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonNode) root = json_from_string (base_json, NULL);
      g_autoptr(GError) error = NULL;
      g_autofree char *json = NULL;
      JsonNode *value = json_from_string (bad[i].value, &error);

      g_assert_no_error (error);
      json_object_set_member (json_node_get_object (root), bad[i].key, value);
      json = json_to_string (root, FALSE);
      set_config (path, json);
      assert_load_fails (path, bad[i].says);
    }
  remove_dir (dir);
}

/* A Keras file without brainseg_config takes fms and the input channels
 * from encodeAa's kernel shape: capped the same way, checked before the
 * value narrows to an int. */
static void
test_shape_limits (void)
{
  static const struct { hsize_t dims[4]; const char *says; } bad[] = {
    { { 3, 3, 1, 100000 }, "fms 100000 is too large (at most 256)" },
    { { 3, 3, 1, G_GUINT64_CONSTANT (2147483664) }, "fms 2147483664 is too large (at most 256)" },
    { { 3, 3, 2000, 2 }, "2000 input channels are too many (at most 32)" },
    { { 3, 3, 100000, 2 }, "100000 input channels are too many (at most 32)" },
  };
  g_autofree char *dir = bs_test_make_tmp_dir ("bs-unet-XXXXXX");
  g_autofree char *path = save_small (dir, "K.h5", NULL);

  set_config (path, NULL);
  {
    /* Untouched, it loads from the shapes alone. */
    g_autoptr(GError) error = NULL;
    g_autoptr(BsUnet) net = bs_unet_load_h5 (path, &error);
    g_assert_no_error (error);
    g_assert_cmpint (net->config.fms, ==, 2);
  }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      set_kernel_shape (path, "encodeAa", 4, bad[i].dims);
      assert_load_fails (path, bad[i].says);
    }
  remove_dir (dir);
}

/* A NaN or infinite bias is refused like a NaN kernel: it would turn the
 * layer's whole output (a PredictionMask bias: every probability) NaN. */
static void
test_nonfinite_bias (void)
{
  static const struct { const char *layer; float value; } bad[] = {
    { "PredictionMask", NAN },
    { "encodeAa", INFINITY },
    { "transconvA", -INFINITY },
  };
  g_autofree char *dir = bs_test_make_tmp_dir ("bs-unet-XXXXXX");

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(BsUnet) net = small_net (2, 1, BS_UPSAMPLE_TRANSPOSED, 5);
      g_autofree char *path = NULL;
      g_autofree char *says = g_strdup_printf ("layer %s has non-finite biases", bad[i].layer);

      bs_unet_find_layer (net, bad[i].layer)->bias[0] = bad[i].value;
      path = save_small (dir, "B.h5", net);
      assert_load_fails (path, says);
    }
  remove_dir (dir);
}

static int
run_info (const char *path, char **out, char **err)
{
  const char *argv[] = { g_getenv ("BS_CLI"), "info", path, NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

/* brainseg-cli info on a .h5 file that is a broken model says what the model
 * loader says (not that the file holds no imgs_* datasets); an empty or text
 * file named .h5 is not an HDF5 file (not a NIfTI image too short). */
static void
test_cli_info (void)
{
  g_autofree char *dir = NULL;
  g_autofree char *good = NULL;
  g_autoptr(BsUnet) nan_net = small_net (2, 1, BS_UPSAMPLE_TRANSPOSED, 5);
  struct { char *path; const char *says; } bad[8] = { { NULL } };
  int n = 0;

  if (!g_getenv ("BS_CLI"))
    {
      g_test_skip ("BS_CLI is not set (run through meson test)");
      return;
    }
  dir = bs_test_make_tmp_dir ("bs-unet-info-XXXXXX");
  good = save_small (dir, "good.h5", NULL);

  nan_net->layers[4].weights[0] = NAN;
  bad[n].path = save_small (dir, "nan.h5", nan_net);
  bad[n++].says = "layer encodeCa has non-finite weights";

  bad[n].path = save_small (dir, "topology.h5", NULL);
  set_config (bad[n].path, "{\"topology\":\"unet3d\",\"fms\":2}");
  bad[n++].says = "the weights are for a \"unet3d\" network";

  bad[n].path = save_small (dir, "missing.h5", NULL);
  {
    hid_t f = H5Fopen (bad[n].path, H5F_ACC_RDWR, H5P_DEFAULT);
    g_assert_cmpint (H5Ldelete (f, "model_weights/decodeBb", H5P_DEFAULT), >=, 0);
    H5Fclose (f);
  }
  bad[n++].says = "layer decodeBb is missing";

  bad[n].path = save_small (dir, "channels.h5", NULL);
  set_config (bad[n].path, "{\"fms\":2,\"in_channels\":100000}");
  bad[n++].says = "100000 input channels are too many (at most 32)";

  bad[n].path = save_small (dir, "topo-int.h5", NULL);
  set_config (bad[n].path, "{\"topology\":5}");
  bad[n++].says = "brainseg_config \"topology\" is not a string";

  bad[n].path = g_build_filename (dir, "text.h5", NULL);
  g_assert_true (g_file_set_contents (bad[n].path, "hello, not hdf5\n", -1, NULL));
  bad[n++].says = "not an HDF5 file";

  bad[n].path = g_build_filename (dir, "empty.h5", NULL);
  g_assert_true (g_file_set_contents (bad[n].path, "", 0, NULL));
  bad[n++].says = "not an HDF5 file";

  /* a model cut short (hostile-input finding: "not a readable HDF5 file") */
  bad[n].path = save_small (dir, "truncated.h5", NULL);
  {
    g_autofree char *bytes = NULL;
    gsize len = 0;

    g_assert_true (g_file_get_contents (bad[n].path, &bytes, &len, NULL));
    g_assert_true (g_file_set_contents (bad[n].path, bytes, (gssize) (len / 2), NULL));
  }
  bad[n++].says = "an HDF5 file that is truncated or damaged";

  {
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint (run_info (good, &out, &err), ==, 0);
    g_assert_nonnull (strstr (out, "model:"));
  }
  for (int i = 0; i < n; i++)
    {
      g_autofree char *out = NULL, *err = NULL;
      g_autofree char *base = g_path_get_basename (bad[i].path);

      g_assert_cmpint (run_info (bad[i].path, &out, &err), !=, 0);
      g_test_message ("%s: %s", base, err);
      g_assert_nonnull (strstr (err, base));
      g_assert_nonnull (strstr (err, bad[i].says));
      g_assert_null (strstr (err, "imgs_train"));
      g_assert_null (strstr (err, "NIfTI"));
      g_assert_null (strstr (err, "CRITICAL"));
      g_assert_cmpuint (strlen (out), ==, 0);
      g_free (bad[i].path);
    }
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/unet/layers", test_layers);
  g_test_add_func ("/unet/mean", test_mean);
  g_test_add_func ("/unet/roundtrip", test_roundtrip);
  g_test_add_func ("/unet/calibration", test_calibration);
  g_test_add_func ("/unet/reference", test_reference_basic);
  g_test_add_func ("/unet/keras", test_keras);
  g_test_add_func ("/unet/regions", test_regions);
  g_test_add_func ("/unet/context", test_context);
  g_test_add_func ("/unet/not-hdf5", test_not_hdf5);
  g_test_add_func ("/unet/config-types", test_config_types);
  g_test_add_func ("/unet/shape-limits", test_shape_limits);
  g_test_add_func ("/unet/nonfinite-bias", test_nonfinite_bias);
  g_test_add_func ("/unet/cli-info", test_cli_info);
  return g_test_run ();
}
