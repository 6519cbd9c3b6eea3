/* The shipped models (resources/models/brainseg-default.h5, whole tumour, core
 * and enhancing tumour, and brainseg-wt.h5, the whole-tumour model it was
 * fine-tuned from): each loads, the
 * oneDNN training graph and the plain-C reference agree on it, it keeps its
 * model card's figures on real cases (minus 0.02), with all four modalities,
 * with FLAIR + T1gd only and with FLAIR alone, and it segments the bundled
 * phantom sample. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "bs-dataset.h"
#include "bs-infer.h"
#include "bs-labels.h"
#include "bs-phantom.h"
#include "bs-plan.h"
#include "bs-segment.h"
#include "bs-train.h"
#include "bs-unet.h"

/* Real cases with the floor each must keep: the model card's whole-volume
 * Dice of the shipped model minus 0.02 (a regression floor; the model
 * trained on the BraTS cases, see the card for cross-validated figures).
 * keep: the modalities given to the model (NULL: all the case has), so that a
 * case with only FLAIR + T1gd, or FLAIR alone, is checked to segment with the
 * channel list stated. */
typedef struct {
  const char *file;      /* the shipped model: brainseg-default.h5 or brainseg-wt.h5 */
  const char *dir;       /* under BS_SAMPLES_DIR */
  const char *keep;      /* comma-separated modalities, or NULL */
  const char *channels;  /* the channel list the evaluation must state */
  double floor;
  double tc_floor, et_floor; /* tumour core and enhancing tumour, the same way (0: not checked) */
} RealCase;

#define DEFAULT BS_UNET_DEFAULT_MODEL
#define WT BS_UNET_WT_MODEL

static const RealCase real_cases[] = {
  /* The default: whole tumour, tumour core and enhancing tumour. */
  { DEFAULT, "decathlon-brats-001-006/brats_2013_pat0006_1", NULL, "FLAIR,T1gd", 0.88, 0.74, 0.82 },
  { DEFAULT, "brats2017-2018/Brats18_TCIA01_201_1", NULL, "FLAIR,T1w,T1gd,T2w", 0.93, 0.86, 0.81 },
  { DEFAULT, "brats2017-2018/Brats18_TCIA01_201_1", "FLAIR,T1gd", "FLAIR,T1gd", 0.93, 0.80, 0.77 },
  /* Without T1gd nothing shows enhancement: the enhancing tumour is not held to a floor. */
  { DEFAULT, "brats2017-2018/Brats18_TCIA01_201_1", "FLAIR", "FLAIR", 0.94, 0.76 },
  /* never trained on: another release, raw int16, labels fused from 5 algorithms */
  { DEFAULT, "tcga-du-7294", NULL, NULL, 0.88 },
  /* The whole-tumour model. */
  { WT, "decathlon-brats-001-006/brats_2013_pat0006_1", NULL, "FLAIR,T1gd", 0.88 },
  { WT, "brats2017-2018/Brats18_TCIA01_201_1", NULL, "FLAIR,T1w,T1gd,T2w", 0.95 },
  { WT, "brats2017-2018/Brats18_TCIA01_201_1", "FLAIR,T1gd", "FLAIR,T1gd", 0.95 },
  { WT, "brats2017-2018/Brats18_TCIA01_201_1", "FLAIR", "FLAIR", 0.95 },
  { WT, "tcga-du-7294", NULL, NULL, 0.90 },
};

/* The shipped model called file, beside the default one. */
static BsUnet *
shipped_model (const char *file)
{
  g_autofree char *path = bs_unet_shipped_model_path (file);
  g_autoptr(GError) error = NULL;
  BsUnet *net;

  g_assert_nonnull (path);
  net = bs_unet_load_h5 (path, &error);
  g_assert_no_error (error);
  return net;
}

static void
test_loads (gconstpointer data)
{
  const char *file = data;
  g_autoptr(BsUnet) net = shipped_model (file);
  const char *four[] = { "FLAIR", "T1w", "T1gd", "T2w", NULL };
  const char *wt[] = { "wt", NULL }, *regions[] = { "wt", "tc", "et", NULL };

  g_assert_cmpint (net->config.fms, ==, 16);
  g_assert_cmpint (net->config.upsample, ==, BS_UPSAMPLE_TRANSPOSED);
  /* The four modalities of every BraTS release and Decathlon Task01, in their order. */
  g_assert_cmpint (net->config.in_channels, ==, 4);
  g_assert_cmpstrv ((const char *const *) net->config.modalities, four);
  g_assert_nonnull (net->description);
  /* The default predicts the three BraTS regions; the whole-tumour model one output. */
  if (g_str_equal (file, DEFAULT))
    {
      g_assert_cmpint (net->config.out_channels, ==, 3);
      g_assert_cmpstrv ((const char *const *) net->config.outputs, regions);
    }
  else
    {
      g_assert_cmpint (net->config.out_channels, ==, 1);
      if (net->config.outputs)
        g_assert_cmpstrv ((const char *const *) net->config.outputs, wt);
    }
}

/* A trained model, not only random ones, must come out the same both ways. */
static void
test_graph_matches_reference (gconstpointer data)
{
  g_autoptr(BsUnet) net = shipped_model (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsTrainGraph) g = bs_train_graph_new (net, 2, 64, 48, &error);
  g_autoptr(GRand) r = g_rand_new_with_seed (4);
  int nch = net->config.in_channels;
  int out = net->config.out_channels;
  enum { N = 2 * 64 * 48 };
  g_autofree float *input = g_new (float, N * nch);
  g_autofree float *a = g_new (float, N * out);
  g_autofree float *b = g_new (float, N * out);

  g_assert_no_error (error);
  for (int i = 0; i < N * nch; i++)
    input[i] = (float) g_rand_double_range (r, -1.0, 3.0);
  g_assert_true (bs_train_graph_forward (g, input, 2, FALSE, a, &error));
  bs_reference_forward (net, input, 2, 64, 48, b);
  for (int i = 0; i < N * out; i++)
    g_assert_cmpfloat (fabs (a[i] - b[i]), <, 1e-4);
}

static double
dice_of (BsUnet *net, const char *id, const BsVolume *image, const BsVolume *label, const char *channels,
         double *tc, double *et)
{
  g_autoptr(BsTrainSet) set = bs_train_set_new ((const char *const *) net->config.modalities);
  g_autoptr(GError) error = NULL;
  BsTrainCaseResult r = { 0 };
  double dice;

  g_assert_true (bs_train_set_add_case (set, id, image, label, &error));
  g_assert_no_error (error);
  g_assert_true (bs_train_evaluate_case (net, set, 0, 0, 1, FALSE, FALSE, &r, &error));
  g_assert_no_error (error);
  dice = r.dice;
  g_test_message ("%s: whole-volume whole-tumour Dice %.4f (%zu truth, %zu predicted voxels; channels %s)", id,
                  dice, r.truth_voxels, r.predicted_voxels, r.channels);
  if (channels)
    g_assert_cmpstr (r.channels, ==, channels);
  if (tc)
    *tc = r.region_dice[BS_REGION_TC];
  if (et)
    *et = r.region_dice[BS_REGION_ET];
  if (!isnan (r.region_dice[BS_REGION_TC]))
    g_test_message ("  tumour core Dice %.4f, enhancing tumour Dice %.4f", r.region_dice[BS_REGION_TC],
                    r.region_dice[BS_REGION_ET]);
  bs_train_case_result_clear (&r);
  return dice;
}

/* The case's image with only the modalities named in keep (all when NULL). */
static BsVolume *
keep_modalities (const BsVolume *image, const char *keep)
{
  g_auto(GStrv) names = keep ? g_strsplit (keep, ",", -1) : NULL;
  BsVolume *out;
  int n;

  if (!names)
    return bs_volume_copy (image);
  n = g_strv_length (names);
  out = bs_volume_new_like (image, n);
  for (int k = 0; k < n; k++)
    {
      int c = bs_volume_find_channel (image, names[k]);
      g_assert_cmpint (c, >=, 0);
      memcpy (bs_volume_channel (out, k), bs_volume_channel (image, c),
              bs_volume_n_voxels (image) * sizeof (float));
      g_free (out->channel_names[k]);
      out->channel_names[k] = g_strdup (names[k]);
    }
  return out;
}

static void
test_real_case (gconstpointer data)
{
  const RealCase *h = data;
  const char *samples = g_getenv ("BS_SAMPLES_DIR");
  g_autofree char *dir = NULL;
  g_autofree char *id = NULL;
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(BsDataset) ds = NULL;
  g_autoptr(BsCase) c = NULL;
  g_autoptr(BsVolume) image = NULL;
  g_autoptr(GError) error = NULL;
  double tc = NAN, et = NAN;

  if (!samples || !g_file_test ((dir = g_build_filename (samples, h->dir, NULL)), G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("real samples absent (BS_SAMPLES_DIR)");
      return;
    }
  net = shipped_model (h->file);
  ds = bs_dataset_open (dir, NULL, &error);
  g_assert_no_error (error);
  c = bs_dataset_load_case (ds, 0, &error);
  g_assert_no_error (error);
  image = keep_modalities (c->image, h->keep);
  id = g_strdup_printf ("%s: %s%s%s", h->file, h->dir, h->keep ? " with " : "", h->keep ? h->keep : "");
  /* The model card reports the measured value; this is the floor it must keep. */
  g_assert_cmpfloat (dice_of (net, id, image, c->label, h->channels, &tc, &et), >=, h->floor);
  if (h->tc_floor > 0.0)
    g_assert_cmpfloat (tc, >=, h->tc_floor);
  if (h->et_floor > 0.0)
    g_assert_cmpfloat (et, >=, h->et_floor);
}

/* int8 with the ranges stored in the file against fp32, through the shipped
 * pipeline (three planes, crop to the brain, clean-up): the whole tumour
 * within 0.01 (issue 12).  Brats18_TCIA01_378_1 is the case where int8 with
 * the ranges measured on the case itself missed by 0.018; TCGA-DU-7294 chose
 * neither the ranges nor the weights. */
static const char *const int8_cases[] = {
  "brats2017-2018/Brats18_TCIA01_378_1",
  "brats2017-2018/Brats18_TCIA01_201_1",
  "tcga-du-7294",
};

static void
test_int8_agrees (gconstpointer data)
{
  const char *samples = g_getenv ("BS_SAMPLES_DIR");
  g_autofree char *dir = NULL;
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(BsDataset) ds = NULL;
  g_autoptr(BsCase) c = NULL;
  g_autoptr(BsVolume) prepared = NULL, truth = NULL;
  g_autoptr(BsSegmentResult) fp32 = NULL, int8 = NULL;
  g_autoptr(GError) error = NULL;
  BsSegmentOptions so;

  if (!samples || !g_file_test ((dir = g_build_filename (samples, (const char *) data, NULL)), G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("real samples absent (BS_SAMPLES_DIR)");
      return;
    }
  if (!bs_precision_available (BS_PRECISION_INT8, NULL))
    {
      g_test_skip ("int8 is not available on this CPU");
      return;
    }
  net = shipped_model (DEFAULT);
  g_assert_nonnull (net->calibration);
  g_assert_cmpint (net->calibration_cases, ==, 21);
  ds = bs_dataset_open (dir, NULL, &error);
  g_assert_no_error (error);
  c = bs_dataset_load_case (ds, 0, &error);
  g_assert_no_error (error);
  prepared = bs_infer_prepare (net, c->image, &error);
  g_assert_no_error (error);
  truth = bs_labels_region (c->label, c->convention, BS_REGION_WT);
  bs_segment_options_init (&so);
  fp32 = bs_segment (net, prepared, truth, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  so.plan.precision = BS_PRECISION_INT8;
  so.plan.layout = BS_MEMLAYOUT_NHWC;
  int8 = bs_segment (net, prepared, truth, &so, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (int8->calibration_cases, ==, 21);
  g_test_message ("%s: whole-tumour Dice fp32 %.4f, int8 %.4f", (const char *) data, fp32->dice, int8->dice);
  g_assert_cmpfloat (fp32->dice, >, 0.7);
  g_assert_cmpfloat (fabs (int8->dice - fp32->dice), <=, 0.01);
}

/* The sample the app opens when started without a file. */
static void
test_bundled_sample (gconstpointer data)
{
  g_autoptr(BsUnet) net = shipped_model (data);
  g_autoptr(BsVolume) image = NULL;
  g_autoptr(BsVolume) label = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (bs_phantom_generate (2026, 0, 160, 160, 96, &image, &label, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (dice_of (net, "sample (phantom seed 2026, case 0 = build/app/sample)", image, label, NULL, NULL, NULL), >=, 0.80);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  static const char *const files[] = { DEFAULT, WT };

  for (guint m = 0; m < G_N_ELEMENTS (files); m++)
    {
      const char *what = m ? "wt-model" : "default-model";
      g_autofree char *loads = g_strdup_printf ("/train/%s/loads", what);
      g_autofree char *graph = g_strdup_printf ("/train/%s/graph-matches-reference", what);
      g_autofree char *sample = g_strdup_printf ("/train/%s/bundled-sample", what);
      guint k = 0;

      g_test_add_data_func (loads, files[m], test_loads);
      g_test_add_data_func (graph, files[m], test_graph_matches_reference);
      for (guint i = 0; i < G_N_ELEMENTS (real_cases); i++)
        if (g_str_equal (real_cases[i].file, files[m]))
          {
            g_autofree char *name = g_strdup_printf ("/train/%s/real-case/%u", what, k++);
            g_test_add_data_func (name, &real_cases[i], test_real_case);
          }
      g_test_add_data_func (sample, files[m], test_bundled_sample);
    }
  for (guint i = 0; i < G_N_ELEMENTS (int8_cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("/train/default-model/int8-agrees/%u", i);

      g_test_add_data_func (name, int8_cases[i], test_int8_agrees);
    }
  return g_test_run ();
}
