/* The shipped model (resources/models/brainseg-default.h5): it loads, the
 * oneDNN training graph and the plain-C reference agree on it, and it
 * segments a real case it never trained on and the bundled phantom sample. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "bs-dataset.h"
#include "bs-phantom.h"
#include "bs-plan.h"
#include "bs-train.h"

/* Real cases the model never trained on (model card), with the floor each
 * must keep: the goal of 0.85 whole-volume whole-tumour Dice. */
typedef struct {
  const char *dir;    /* under BS_SAMPLES_DIR */
  double floor;
} HeldOut;

static const HeldOut held_out_test = { "decathlon-brats-001-006/brats_2013_pat0006_1", 0.85 };
/* another release, raw int16 intensities, labels fused from 5 algorithms */
static const HeldOut held_out_tcga = { "tcga-du-7294", 0.85 };

static BsUnet *
default_model (void)
{
  g_autofree char *path = bs_unet_default_model_path ();
  g_autoptr(GError) error = NULL;
  BsUnet *net;

  g_assert_nonnull (path);
  net = bs_unet_load_h5 (path, &error);
  g_assert_no_error (error);
  return net;
}

static void
test_loads (void)
{
  g_autoptr(BsUnet) net = default_model ();

  g_assert_cmpint (net->config.fms, ==, 16);
  g_assert_cmpint (net->config.upsample, ==, BS_UPSAMPLE_TRANSPOSED);
  /* FLAIR first, and only modalities every supported release has. */
  g_assert_cmpint (net->config.in_channels, ==, (int) g_strv_length (net->config.modalities));
  g_assert_cmpint (net->config.in_channels, <=, 2);
  g_assert_cmpstr (net->config.modalities[0], ==, "FLAIR");
  if (net->config.in_channels == 2)
    g_assert_cmpstr (net->config.modalities[1], ==, "T1gd");
  g_assert_nonnull (net->description);
}

/* A trained model, not only random ones, must come out the same both ways. */
static void
test_graph_matches_reference (void)
{
  g_autoptr(BsUnet) net = default_model ();
  g_autoptr(GError) error = NULL;
  g_autoptr(BsTrainGraph) g = bs_train_graph_new (net, 2, 64, 48, &error);
  g_autoptr(GRand) r = g_rand_new_with_seed (4);
  int nch = net->config.in_channels;
  enum { N = 2 * 64 * 48 };
  g_autofree float *input = g_new (float, N * nch);
  g_autofree float *a = g_new (float, N);
  g_autofree float *b = g_new (float, N);

  g_assert_no_error (error);
  for (int i = 0; i < N * nch; i++)
    input[i] = (float) g_rand_double_range (r, -1.0, 3.0);
  g_assert_true (bs_train_graph_forward (g, input, 2, FALSE, a, &error));
  bs_reference_forward (net, input, 2, 64, 48, b);
  for (int i = 0; i < N; i++)
    g_assert_cmpfloat (fabs (a[i] - b[i]), <, 1e-4);
}

static double
dice_of (BsUnet *net, const char *id, const BsVolume *image, const BsVolume *label)
{
  g_autoptr(BsTrainSet) set = bs_train_set_new ((const char *const *) net->config.modalities);
  g_autoptr(GError) error = NULL;
  BsTrainCaseResult r = { 0 };
  double dice;

  g_assert_true (bs_train_set_add_case (set, id, image, label, &error));
  g_assert_no_error (error);
  g_assert_true (bs_train_evaluate_case (net, set, 0, 0, FALSE, &r, &error));
  g_assert_no_error (error);
  dice = r.dice;
  g_test_message ("%s: whole-volume whole-tumour Dice %.4f (%zu truth, %zu predicted voxels)", id, dice,
                  r.truth_voxels, r.predicted_voxels);
  bs_train_case_result_clear (&r);
  return dice;
}

static void
test_held_out_real_case (gconstpointer data)
{
  const HeldOut *h = data;
  const char *samples = g_getenv ("BS_SAMPLES_DIR");
  g_autofree char *dir = NULL;
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(BsDataset) ds = NULL;
  g_autoptr(BsCase) c = NULL;
  g_autoptr(GError) error = NULL;

  if (!samples || !g_file_test ((dir = g_build_filename (samples, h->dir, NULL)), G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("real samples absent (BS_SAMPLES_DIR)");
      return;
    }
  net = default_model ();
  ds = bs_dataset_open (dir, NULL, &error);
  g_assert_no_error (error);
  c = bs_dataset_load_case (ds, 0, &error);
  g_assert_no_error (error);
  /* The model card reports the measured value; this is the floor it must keep. */
  g_assert_cmpfloat (dice_of (net, h->dir, c->image, c->label), >=, h->floor);
}

/* The sample the app opens when started without a file. */
static void
test_bundled_sample (void)
{
  g_autoptr(BsUnet) net = default_model ();
  g_autoptr(BsVolume) image = NULL;
  g_autoptr(BsVolume) label = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (bs_phantom_generate (2026, 1, 160, 160, 96, &image, &label, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (dice_of (net, "sample (phantom seed 2026)", image, label), >=, 0.80);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train/default-model/loads", test_loads);
  g_test_add_func ("/train/default-model/graph-matches-reference", test_graph_matches_reference);
  g_test_add_data_func ("/train/default-model/held-out/test-case", &held_out_test, test_held_out_real_case);
  g_test_add_data_func ("/train/default-model/held-out/tcga", &held_out_tcga, test_held_out_real_case);
  g_test_add_func ("/train/default-model/bundled-sample", test_bundled_sample);
  return g_test_run ();
}
