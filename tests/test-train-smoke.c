/* The trainer end to end on a tiny synthetic set: the split, stratified and
 * augmented sampling, and a short run in which the loss must fall and the
 * test Dice must rise far above what the same untrained network scores. */
#include <glib.h>
#include <glib/gstdio.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "bs-error.h"
#include "bs-plan.h"
#include "bs-train-private.h"

#define NX 48
#define NY 48
#define NZ 12

/* A head-like ellipse with textured tissue and a brighter ball (the tumour)
 * whose centre and radius vary per case; raw scanner-like intensities. */
static void
synthetic_case (guint seed, BsVolume **image, BsVolume **label)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  BsVolume *img = bs_volume_new (NX, NY, NZ, 1);
  BsVolume *lab = bs_volume_new (NX, NY, NZ, 1);
  double cx = g_rand_double_range (r, 16, 32), cy = g_rand_double_range (r, 16, 32);
  double cz = g_rand_double_range (r, 4, 8), rad = g_rand_double_range (r, 4, 7);

  g_free (img->channel_names[0]);
  img->channel_names[0] = g_strdup ("FLAIR");
  lab->is_label = TRUE;
  for (int k = 0; k < NZ; k++)
    for (int j = 0; j < NY; j++)
      for (int i = 0; i < NX; i++)
        {
          gsize v = ((gsize) k * NY + j) * NX + i;
          double ex = (i - 24) / 21.0, ey = (j - 24) / 22.0;
          double dx = i - cx, dy = j - cy, dz = (k - cz) * 2.0;
          gboolean brain = ex * ex + ey * ey < 1.0;
          gboolean tumour = brain && dx * dx + dy * dy + dz * dz < rad * rad;

          if (!brain)
            continue;
          img->data[v] = (float) (400.0 + 60.0 * sin (i * 0.7) * cos (j * 0.5) + g_rand_double_range (r, -40, 40)
                                  + (tumour ? 380.0 : 0.0));
          lab->data[v] = tumour ? 2.0f : 0.0f;
        }
  *image = img;
  *label = lab;
}

static BsTrainSet *
synthetic_set (int n_cases)
{
  static const char *const mods[] = { "FLAIR", NULL };
  BsTrainSet *set = bs_train_set_new (mods);

  for (int c = 0; c < n_cases; c++)
    {
      g_autoptr(BsVolume) image = NULL;
      g_autoptr(BsVolume) label = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *id = g_strdup_printf ("synth-%02d", c);

      synthetic_case (100 + c, &image, &label);
      g_assert_true (bs_train_set_add_case (set, id, image, label, &error));
      g_assert_no_error (error);
    }
  return set;
}

static void
count_splits (BsTrainSet *set, int counts[3])
{
  counts[0] = counts[1] = counts[2] = 0;
  for (guint i = 0; i < bs_train_set_get_n_cases (set); i++)
    counts[bs_train_set_get_case_split (set, i)]++;
}

static void
test_split (void)
{
  g_autoptr(BsTrainSet) set = synthetic_set (10);
  g_autoptr(GError) error = NULL;
  static const char *const test_ids[] = { "synth-03", NULL };
  static const char *const bad_ids[] = { "nobody", NULL };
  int counts[3];
  BsTrainSplit first[10];

  g_assert_true (bs_train_set_split (set, 0.8, 816, NULL, NULL, &error));
  count_splits (set, counts);
  g_assert_cmpint (counts[BS_TRAIN_SPLIT_TRAIN], ==, 8);
  g_assert_cmpint (counts[BS_TRAIN_SPLIT_VALIDATION], ==, 1);
  g_assert_cmpint (counts[BS_TRAIN_SPLIT_TEST], ==, 1);
  for (int i = 0; i < 10; i++)
    first[i] = bs_train_set_get_case_split (set, i);

  /* The same seed gives the same split; another seed (almost surely) not. */
  g_assert_true (bs_train_set_split (set, 0.8, 816, NULL, NULL, &error));
  for (int i = 0; i < 10; i++)
    g_assert_cmpint (first[i], ==, bs_train_set_get_case_split (set, i));

  /* Named test cases win over the shuffle. */
  g_assert_true (bs_train_set_split (set, 0.8, 1, NULL, test_ids, &error));
  count_splits (set, counts);
  g_assert_cmpint (counts[BS_TRAIN_SPLIT_TEST], ==, 1);
  g_assert_cmpint (bs_train_set_get_case_split (set, 3), ==, BS_TRAIN_SPLIT_TEST);

  g_assert_false (bs_train_set_split (set, 0.8, 1, bad_ids, NULL, &error));
  g_assert_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA);
  g_assert_nonnull (strstr (error->message, "nobody"));
}

static void
test_add_case_errors (void)
{
  static const char *const mods[] = { "T1gd", NULL };
  g_autoptr(BsTrainSet) set = bs_train_set_new (mods);
  g_autoptr(BsVolume) image = NULL;
  g_autoptr(BsVolume) label = NULL;
  g_autoptr(BsVolume) small = bs_volume_new (8, 8, 8, 1);
  g_autoptr(GError) error = NULL;

  synthetic_case (1, &image, &label);
  /* Not one of the modalities asked for: nothing to train on. */
  g_assert_false (bs_train_set_add_case (set, "c1", image, label, &error));
  g_assert_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA);
  g_assert_nonnull (strstr (error->message, "T1gd"));
  g_assert_nonnull (strstr (error->message, "c1"));
  g_clear_error (&error);
  g_assert_false (bs_train_set_add_case (set, "c1", image, small, &error));
  g_assert_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA);
  g_clear_error (&error);
  g_assert_false (bs_train_set_add_case (set, "c1", image, NULL, &error));
  g_assert_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA);
}

/* k folds over cases: a fixed partition for every fold, dealt per dataset,
 * the held-out fold is the test split, validation only from the rest, and
 * cases added on their own (group 0) always train. */
static void
test_folds (void)
{
  g_autoptr(BsTrainSet) set = synthetic_set (12);
  g_autoptr(GError) error = NULL;
  static const char *const val_ids[] = { "synth-05", NULL };
  const int K = 3, n = 12;
  int fold_of[12], held_out[12] = { 0 };

  /* synth-00..06 from one dataset, 07..10 from another, 11 on its own. */
  for (int i = 0; i < n; i++)
    ((BsTrainCase *) g_ptr_array_index (set->cases, i))->group = i < 7 ? 1 : i < 11 ? 2 : 0;
  set->n_groups = 2;
  for (int fold = 1; fold <= K; fold++)
    {
      int per_group[3][4] = { { 0 } }, counts[3];

      g_assert_true (bs_train_set_split_folds (set, K, fold, 816, 0.8, NULL, &error));
      g_assert_no_error (error);
      count_splits (set, counts);
      for (int i = 0; i < n; i++)
        {
          int f = bs_train_set_get_case_fold (set, i);
          BsTrainSplit split = bs_train_set_get_case_split (set, i);
          const BsTrainCase *c = g_ptr_array_index (set->cases, i);

          if (fold == 1)
            fold_of[i] = f;
          g_assert_cmpint (f, ==, fold_of[i]);                 /* the same partition in every fold */
          if (c->group == 0)
            {
              g_assert_cmpint (f, ==, 0);
              g_assert_cmpint (split, ==, BS_TRAIN_SPLIT_TRAIN);
              continue;
            }
          g_assert_cmpint (f, >=, 1);
          g_assert_cmpint (f, <=, K);
          per_group[c->group][f]++;
          /* a case is tested exactly in its own fold, and never trains there */
          g_assert_cmpint (split == BS_TRAIN_SPLIT_TEST, ==, f == fold);
          if (split == BS_TRAIN_SPLIT_TEST)
            held_out[i]++;
        }
      /* 11 cases in 3 folds: 4, 4, 3; each dataset spread evenly (7 -> 3,2,2; 4 -> 2,1,1). */
      g_assert_cmpint (counts[BS_TRAIN_SPLIT_TEST], >=, 3);
      g_assert_cmpint (counts[BS_TRAIN_SPLIT_TEST], <=, 4);
      for (int g = 1; g <= 2; g++)
        for (int f = 1; f <= K; f++)
          {
            g_assert_cmpint (per_group[g][f], >=, g == 1 ? 2 : 1);
            g_assert_cmpint (per_group[g][f], <=, g == 1 ? 3 : 2);
          }
      /* a fifth of the 7 or 8 other cases validates (round), the rest and case 11 train */
      g_assert_cmpint (counts[BS_TRAIN_SPLIT_VALIDATION], ==, (int) floor ((11 - counts[BS_TRAIN_SPLIT_TEST]) * 0.2 + 0.5));
      g_assert_cmpint (counts[BS_TRAIN_SPLIT_TRAIN], ==, n - counts[BS_TRAIN_SPLIT_TEST] - counts[BS_TRAIN_SPLIT_VALIDATION]);

      /* split 1: no validation cases */
      g_assert_true (bs_train_set_split_folds (set, K, fold, 816, 1.0, NULL, &error));
      count_splits (set, counts);
      g_assert_cmpint (counts[BS_TRAIN_SPLIT_VALIDATION], ==, 0);
      /* named validation cases, unless held out */
      g_assert_true (bs_train_set_split_folds (set, K, fold, 816, 0.8, val_ids, &error));
      count_splits (set, counts);
      g_assert_cmpint (counts[BS_TRAIN_SPLIT_VALIDATION], ==, fold_of[5] == fold ? 0 : 1);
      g_assert_cmpint (bs_train_set_get_case_split (set, 5), ==,
                       fold_of[5] == fold ? BS_TRAIN_SPLIT_TEST : BS_TRAIN_SPLIT_VALIDATION);
    }
  /* every case of the datasets is held out exactly once over the folds */
  for (int i = 0; i < 11; i++)
    g_assert_cmpint (held_out[i], ==, 1);
  g_assert_cmpint (held_out[11], ==, 0);

  /* another seed, another partition (for these 11 cases, almost surely) */
  {
    gboolean same = TRUE;
    g_assert_true (bs_train_set_split_folds (set, K, 1, 17, 0.8, NULL, &error));
    for (int i = 0; i < 11; i++)
      same &= bs_train_set_get_case_fold (set, i) == fold_of[i];
    g_assert_false (same);
  }

  g_assert_false (bs_train_set_split_folds (set, 12, 1, 816, 0.8, NULL, &error));
  g_assert_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA);
  g_clear_error (&error);
  g_assert_false (bs_train_set_split_folds (set, 3, 4, 816, 0.8, NULL, &error));
  g_assert_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA);
}

/* A case without some modality trains with zeros there; modality dropout
 * zeroes channels but never every channel a case has. */
static void
test_missing_modality (void)
{
  static const char *const mods[] = { "FLAIR", "T1gd", "T2w", NULL };
  static const char *const flair[] = { "FLAIR", NULL };
  g_autoptr(BsTrainSet) set = bs_train_set_new (mods);
  g_autoptr(BsTrainSet) only_flair = bs_train_set_new (flair);
  g_autoptr(BsVolume) image = NULL;
  g_autoptr(BsVolume) label = NULL;
  g_autoptr(BsVolume) two = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *channels = NULL;
  g_autofree float *input = g_new (float, 3 * NX * NY);
  g_autofree float *target = g_new (float, NX * NY);
  const BsTrainAug aug = { .modality_dropout = 0.7 };
  BsTrainSliceRef ref;
  BsTrainRng r;
  int zeroed[3] = { 0 }, n_draws = 400;
  BsTrainCase *c;

  synthetic_case (3, &image, &label);
  /* FLAIR and T1gd (a copy), no T2w */
  two = bs_volume_new_like (image, 2);
  memcpy (bs_volume_channel (two, 0), image->data, bs_volume_n_voxels (image) * sizeof (float));
  memcpy (bs_volume_channel (two, 1), image->data, bs_volume_n_voxels (image) * sizeof (float));
  g_free (two->channel_names[0]);
  g_free (two->channel_names[1]);
  two->channel_names[0] = g_strdup ("flair");
  two->channel_names[1] = g_strdup ("t1ce");
  g_assert_true (bs_train_set_add_case (set, "two", two, label, &error));
  g_assert_no_error (error);
  channels = bs_train_set_get_case_channels (set, 0);
  g_assert_cmpstr (channels, ==, "FLAIR,T1gd");
  c = bs_train_set_find_case (set, "two");
  g_assert_cmpuint (c->present, ==, 3);
  /* no modality of the set is fed by no case... except T2w */
  g_assert_false (bs_train_set_check_modalities (set, &error));
  g_assert_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA);
  g_assert_nonnull (strstr (error->message, "T2w"));
  g_clear_error (&error);
  g_assert_true (bs_train_set_add_case (only_flair, "one", image, label, &error));
  g_assert_true (bs_train_set_check_modalities (only_flair, &error));

  ref.c = c;
  ref.slice = NZ / 2;
  bs_train_fill_slice (&ref, NX, 0, NULL, NULL, NULL, input, target, NULL);
  {
    double s0 = 0, s2 = 0;
    for (int p = 0; p < NX * NY; p++)
      {
        s0 += fabs (input[p]);
        s2 += fabs (input[2 * NX * NY + p]);
        g_assert_cmpfloat (input[p], ==, input[NX * NY + p]);   /* the same image, the same normalisation */
      }
    g_assert_cmpfloat (s0, >, 1.0);
    g_assert_cmpfloat (s2, ==, 0.0);                            /* the missing T2w is zeros */
  }
  bs_train_rng_seed (&r, 5);
  for (int it = 0; it < n_draws; it++)
    {
      gboolean any = FALSE;
      bs_train_fill_slice (&ref, NX, 0, &r, &aug, NULL, input, target, NULL);
      for (int k = 0; k < 2; k++)
        {
          gboolean zero = TRUE;
          for (int p = 0; p < NX * NY && zero; p++)
            zero = input[k * NX * NY + p] == 0.0f;
          zeroed[k] += zero;
          any |= !zero;
        }
      g_assert_true (any);   /* never every channel the case has */
    }
  g_test_message ("modality dropout 0.7: FLAIR zeroed %d, T1gd %d of %d", zeroed[0], zeroed[1], n_draws);
  /* each alone with 0.7 * 0.3, plus half of the 0.49 both-drawn cases */
  for (int k = 0; k < 2; k++)
    {
      g_assert_cmpint (zeroed[k], >, n_draws * 0.3);
      g_assert_cmpint (zeroed[k], <, n_draws * 0.6);
    }
}

/* Training on every plane (BsTrainOptions.train_planes): the sampler also
 * holds coronal and sagittal slices, and such an example (centred, no
 * augmentation) is that plane's slice of the image and of the truth, the
 * target where the image has its tumour. */
static void
test_sampling_planes (void)
{
  g_autoptr(BsTrainSet) set = synthetic_set (2);
  g_autoptr(GError) error = NULL;
  BsTrainSampler s;
  guint n_axial, per_plane[3] = { 0, 0, 0 };
  enum { CROP = 16 };
  float input[CROP * CROP], target[CROP * CROP];

  g_assert_true (bs_train_set_split (set, 1.0, 1, NULL, NULL, &error));
  bs_train_sampler_init (&s, set, 3);
  n_axial = s.n_total;
  bs_train_sampler_add_planes (&s, set);
  g_assert_cmpuint (s.n_total, ==, s.tumour->len + s.other->len);
  for (int l = 0; l < 2; l++)
    {
      GArray *list = l ? s.other : s.tumour;

      for (guint i = 0; i < list->len; i++)
        {
          const BsTrainSliceRef *ref = &g_array_index (list, BsTrainSliceRef, i);
          int n = bs_volume_n_slices (ref->c->image, ref->plane);

          g_assert_cmpint (ref->slice, >=, 0);
          g_assert_cmpint (ref->slice, <, n);
          per_plane[ref->plane]++;
        }
    }
  g_test_message ("slices: axial %u, coronal %u, sagittal %u", per_plane[0], per_plane[1], per_plane[2]);
  g_assert_cmpuint (per_plane[BS_PLANE_AXIAL], ==, n_axial);
  g_assert_cmpuint (per_plane[BS_PLANE_CORONAL], >, 0);
  g_assert_cmpuint (per_plane[BS_PLANE_SAGITTAL], >, 0);

  /* a coronal slice with tumour: its centre CROP x CROP, image and truth */
  for (guint i = 0; i < s.tumour->len; i++)
    {
      const BsTrainSliceRef *ref = &g_array_index (s.tumour, BsTrainSliceRef, i);
      int w, h, x0, y0;
      gsize on = 0;

      if (ref->plane != BS_PLANE_CORONAL)
        continue;
      bs_volume_slice_size (ref->c->image, BS_PLANE_CORONAL, &w, &h);
      {
        g_autofree float *img = g_new (float, (gsize) w * h);
        g_autofree float *tru = g_new (float, (gsize) w * h);

        bs_volume_get_slice (ref->c->image, 0, BS_PLANE_CORONAL, ref->slice, img);
        bs_volume_get_slice (ref->c->truth, 0, BS_PLANE_CORONAL, ref->slice, tru);
        bs_train_fill_slice (ref, CROP, 0, NULL, NULL, NULL, input, target, NULL);
        x0 = (w - CROP) / 2;
        y0 = (h - CROP) / 2;
        for (int y = 0; y < CROP; y++)
          for (int x = 0; x < CROP; x++)
            {
              int sx = x0 + x, sy = y0 + y;
              gboolean inside = sx >= 0 && sx < w && sy >= 0 && sy < h;

              g_assert_cmpfloat (input[y * CROP + x], ==, inside ? img[(gsize) sy * w + sx] : 0.0f);
              g_assert_cmpfloat (target[y * CROP + x], ==, inside ? tru[(gsize) sy * w + sx] : 0.0f);
              on += target[y * CROP + x] > 0.5f;
            }
      }
      if (on > 0)
        break;
    }
  bs_train_sampler_clear (&s);
}

/* Every batch holds tumour slices, and augmentation moves image and target
 * together. */
static void
test_sampling (void)
{
  g_autoptr(BsTrainSet) set = synthetic_set (4);
  g_autoptr(GError) error = NULL;
  BsTrainSampler s;
  enum { B = 6 };
  gsize pix = NX * NY;
  g_autofree float *input = g_new (float, B * pix);
  g_autofree float *target = g_new (float, B * pix);

  g_assert_true (bs_train_set_split (set, 1.0, 1, NULL, NULL, &error));
  bs_train_sampler_init (&s, set, 3);
  s.aug = (BsTrainAug) { .offset_ratio = 0.75, .jitter = 0.1 };
  g_assert_cmpuint (s.tumour->len, >, 0);
  g_assert_cmpuint (s.other->len, >, 0);
  for (int batch = 0; batch < 20; batch++)
    {
      int with_tumour = 0;

      bs_train_sampler_next (&s, B, NX, batch % 2 == 1, input, target, NULL, 1);
      for (int b = 0; b < B; b++)
        {
          gboolean any = FALSE;
          for (gsize p = 0; p < pix; p++)
            {
              float v = input[b * pix + p], t = target[b * pix + p];
              any |= t > 0.5f;
              /* Tumour is far brighter than tissue after normalisation, jitter or not. */
              if (t > 0.5f)
                g_assert_cmpfloat (v, >, 0.8f);
              g_assert_true (t == 0.0f || t == 1.0f);
            }
          with_tumour += any;
        }
      /* At full-size crops no tumour is cut away: at least half the batch. */
      g_assert_cmpint (with_tumour, >=, B / 2);
    }
  bs_train_sampler_clear (&s);
}

/* BraTS 2015 labels (1 necrosis inside 4 enhancing, some 3) name the core:
 * augmentation darkens its FLAIR in about half the samples, and only there. */
static void
test_core_flair_augmentation (void)
{
  static const char *const mods[] = { "FLAIR", NULL };
  g_autoptr(BsTrainSet) set = bs_train_set_new (mods);
  g_autoptr(BsVolume) image = NULL;
  g_autoptr(BsVolume) label = NULL;
  g_autoptr(GError) error = NULL;
  BsTrainRng r;
  g_autofree float *input = g_new (float, NX * NY);
  g_autofree float *target = g_new (float, NX * NY);
  BsTrainSliceRef ref;
  const BsTrainAug aug = { .core_flair_p = 0.5, .jitter = 0.1 };
  int darkened = 0, n = 200;

  bs_train_rng_seed (&r, 7);
  synthetic_case (5, &image, &label);
  for (gsize v = 0; v < bs_volume_n_voxels (label); v++)
    if (label->data[v] > 0.5f)
      {
        int i = (int) (v % NX), j = (int) ((v / NX) % NY);
        /* the tumour's first voxels in each row are the rim, the rest core */
        gboolean rim = label->data[v - 1] < 0.5f || label->data[v + 1] < 0.5f || label->data[v - NX] < 0.5f ||
                       label->data[v + NX] < 0.5f;
        label->data[v] = rim ? 4.0f : 1.0f;
        if (i == 0 && j == 0)
          label->data[v] = 3.0f;
      }
  label->data[0] = 3.0f;  /* BraTS 2015 has 3 and 4 */
  g_assert_true (bs_train_set_add_case (set, "brats2015-like", image, label, &error));
  g_assert_no_error (error);
  g_assert_true (bs_train_set_split (set, 1.0, 1, NULL, NULL, &error));
  ref.c = bs_train_set_find_case (set, "brats2015-like");
  g_assert_nonnull (ref.c->core);
  /* the slice through the middle of the ball */
  ref.slice = -1;
  for (int k = 0, best = 0; k < NZ; k++)
    {
      int cnt = 0;
      for (gsize p = 0; p < NX * NY; p++)
        cnt += ref.c->core->data[(gsize) k * NX * NY + p] > 0.5f;
      if (cnt > best)
        {
          best = cnt;
          ref.slice = k;
        }
    }
  g_assert_cmpint (ref.slice, >=, 0);
  for (int it = 0; it < n; it++)
    {
      gboolean dark = FALSE;
      bs_train_fill_slice (&ref, NX, 0, &r, &aug, NULL, input, target, NULL);
      for (gsize p = 0; p < NX * NY; p++)
        {
          /* outside the tumour nothing gets that dark in the brain */
          if (target[p] < 0.5f && input[p] != 0.0f)
            g_assert_cmpfloat (input[p], >, -2.5f);
          dark |= target[p] > 0.5f && input[p] < 0.5f;  /* never below 0.8 otherwise (test_sampling) */
        }
      darkened += dark;
    }
  g_test_message ("core darkened in %d of %d samples", darkened, n);
  g_assert_cmpint (darkened, >, n / 5);
  g_assert_cmpint (darkened, <, 3 * n / 4);
  /* without augmentation the core keeps its bright FLAIR */
  bs_train_fill_slice (&ref, NX, 0, &r, NULL, NULL, input, target, NULL);
  for (gsize p = 0; p < NX * NY; p++)
    if (target[p] > 0.5f)
      g_assert_cmpfloat (input[p], >, 0.5f);
}

static double
brain_mean (const float *plane, gsize n, double *sum_sq)
{
  double s = 0.0, q = 0.0;
  gsize k = 0;

  for (gsize p = 0; p < n; p++)
    if (plane[p] != 0.0f)
      {
        s += plane[p];
        q += (double) plane[p] * plane[p];
        k++;
      }
  *sum_sq = k ? q / k : 0.0;
  return k ? s / k : 0.0;
}

/* --intensity-jitter J: every sample's brain gets a gain in 1 +- J and an
 * offset in +- J, drawn anew each time; J = 0 leaves intensities alone. */
static void
test_intensity_jitter (void)
{
  g_autoptr(BsTrainSet) set = synthetic_set (1);
  g_autoptr(GError) error = NULL;
  g_autofree float *input = g_new (float, NX * NY);
  g_autofree float *target = g_new (float, NX * NY);
  BsTrainSliceRef ref;
  BsTrainRng r;
  double base_mean, base_sq;
  const double jitters[] = { 0.0, 0.1, 0.35 };
  double spread[G_N_ELEMENTS (jitters)];

  g_assert_true (bs_train_set_split (set, 1.0, 1, NULL, NULL, &error));
  ref.c = bs_train_set_find_case (set, "synth-00");
  g_assert_nonnull (ref.c);
  ref.slice = NZ / 2;
  bs_train_fill_slice (&ref, NX, 0, NULL, NULL, NULL, input, target, NULL);
  base_mean = brain_mean (input, NX * NY, &base_sq);
  g_assert_cmpfloat (base_sq, >, 0.1);
  for (gsize j = 0; j < G_N_ELEMENTS (jitters); j++)
    {
      const BsTrainAug aug = { .jitter = jitters[j] };
      double lo = G_MAXDOUBLE, hi = -G_MAXDOUBLE;

      bs_train_rng_seed (&r, 11);
      for (int it = 0; it < 300; it++)
        {
          double sq, mean;
          bs_train_fill_slice (&ref, NX, 0, &r, &aug, NULL, input, target, NULL);
          mean = brain_mean (input, NX * NY, &sq);
          /* mean' = g mean + o, so the brain's mean moves by at most J (|mean| + 1) */
          g_assert_cmpfloat (fabs (mean - base_mean), <=, jitters[j] * (fabs (base_mean) + 1.0) + 1e-5);
          lo = MIN (lo, mean);
          hi = MAX (hi, mean);
        }
      spread[j] = hi - lo;
      g_test_message ("jitter %.2f: brain mean %.4f .. %.4f (unaugmented %.4f)", jitters[j], lo, hi, base_mean);
    }
  g_assert_cmpfloat (spread[0], <, 1e-5);
  g_assert_cmpfloat (spread[1], >, 0.1);        /* offsets alone span most of +- 0.1 */
  g_assert_cmpfloat (spread[2], >, 2.5 * spread[1]);
}

static void
test_train_smoke (void)
{
  g_autoptr(BsTrainSet) set = synthetic_set (6);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("bs-train-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "tiny.h5", NULL);
  g_autoptr(BsUnet) untrained = NULL;
  g_autoptr(BsUnet) loaded = NULL;
  BsUnetConfig cfg = { 0 };
  BsTrainOptions opts;
  BsTrainReport report = { 0 };
  BsTrainCaseResult before = { 0 }, after = { 0 };
  int test_case = -1;

  g_assert_true (bs_train_set_split (set, 0.67, 816, NULL, NULL, &error));
  for (guint i = 0; i < bs_train_set_get_n_cases (set); i++)
    if (bs_train_set_get_case_split (set, i) == BS_TRAIN_SPLIT_TEST)
      test_case = (int) i;
  g_assert_cmpint (test_case, >=, 0);

  bs_train_options_init (&opts);
  opts.fms = 4;
  opts.crop = 32;
  opts.batch = 8;
  opts.epochs = 8;
  opts.steps_per_epoch = 10;
  opts.lr = 6e-3;
  opts.loss = BS_TRAIN_LOSS_DICE_BCE;
  opts.threads = 2;
  opts.patience = 0;
  opts.out = out;

  /* The same initial weights the run starts from (same seed). */
  cfg.fms = opts.fms;
  cfg.in_channels = 1;
  cfg.upsample = BS_UPSAMPLE_TRANSPOSED;
  untrained = bs_unet_new_random (&cfg, opts.seed);
  g_assert_true (bs_train_evaluate_case (untrained, set, test_case, 2, 2, FALSE, TRUE, &before, &error));
  g_assert_no_error (error);

  g_assert_true (bs_train_run (set, &opts, NULL, NULL, &report, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("loss %.4f -> %.4f; test Dice untrained %.3f, trained %.3f; best epoch %d",
                  report.first_train_loss, report.last_train_loss, before.dice,
                  g_array_index (report.test, BsTrainCaseResult, 0).dice, report.best_epoch);
  g_assert_cmpint (report.epochs_run, ==, 8);
  g_assert_cmpint (report.steps, ==, 80);
  g_assert_cmpfloat (report.last_train_loss, <, 0.7 * report.first_train_loss);
  g_assert_cmpuint (report.test->len, ==, 1);
  g_assert_cmpfloat (g_array_index (report.test, BsTrainCaseResult, 0).dice, >, 0.6);
  g_assert_cmpfloat (g_array_index (report.test, BsTrainCaseResult, 0).dice, >, before.dice + 0.3);
  g_assert_cmpfloat (report.best_val_dice, >, 0.5);

  /* The checkpoint is a model file the inference side loads, giving the same Dice. */
  loaded = bs_unet_load_h5 (out, &error);
  g_assert_no_error (error);
  g_assert_cmpint (loaded->config.fms, ==, 4);
  g_assert_cmpstr (loaded->config.modalities[0], ==, "FLAIR");
  /* the run's test cases ran in three planes (BsTrainOptions.eval_three_planes, on by default) */
  g_assert_true (opts.eval_three_planes);
  g_assert_true (bs_train_evaluate_case (loaded, set, test_case, 2, 2, FALSE, TRUE, &after, &error));
  g_assert_cmpfloat (fabs (after.dice - g_array_index (report.test, BsTrainCaseResult, 0).dice), <, 1e-9);
  /* ... and on one graph of both threads instead of the run's two lanes, the
   * same within the float rounding of other sums. */
  {
    BsTrainCaseResult one = { 0 };

    g_assert_true (bs_train_evaluate_case (loaded, set, test_case, 2, 1, FALSE, TRUE, &one, &error));
    g_assert_no_error (error);
    g_assert_cmpfloat (fabs (one.dice - after.dice), <, 1e-3);
    bs_train_case_result_clear (&one);
  }

  /* Resuming from the checkpoint with no epochs keeps its validation loss. */
  {
    BsTrainReport again = { 0 };
    g_autofree char *out2 = g_build_filename (dir, "again.h5", NULL);
    g_autoptr(BsTrainCheckpoint) cp = bs_train_checkpoint_load (out, &error);
    g_assert_no_error (error);
    g_assert_false (bs_train_checkpoint_has_state (cp));
    opts.resume = cp;
    opts.out = out2;
    opts.epochs = 0;
    g_assert_true (bs_train_run (set, &opts, NULL, NULL, &again, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpfloat (fabs (again.best_val_loss - report.best_val_loss), <, 1e-4);
    bs_train_report_clear (&again);
    opts.resume = NULL;
    g_unlink (out2);
  }

  bs_train_case_result_clear (&before);
  bs_train_case_result_clear (&after);
  bs_train_report_clear (&report);
  g_unlink (out);
  {
    g_autofree char *last = bs_train_state_path_for (out);
    g_assert_true (g_str_has_suffix (last, "tiny.last.h5"));
    g_unlink (last);
  }
  g_rmdir (dir);
}

static void
assert_same_weights (const char *a_path, const char *b_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BsUnet) a = bs_unet_load_h5 (a_path, &error);
  g_autoptr(BsUnet) b = NULL;

  g_assert_no_error (error);
  b = bs_unet_load_h5 (b_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->n_layers, ==, b->n_layers);
  for (int i = 0; i < a->n_layers; i++)
    {
      const BsUnetLayer *la = &a->layers[i], *lb = &b->layers[i];
      gsize n = (gsize) la->out_ch * la->in_ch * la->kh * la->kw;
      for (gsize k = 0; k < n; k++)
        g_assert_cmpfloat (fabs (la->weights[k] - lb->weights[k]), <=, 1e-6);
      for (int k = 0; k < la->out_ch; k++)
        g_assert_cmpfloat (fabs (la->bias[k] - lb->bias[k]), <=, 1e-6);
    }
}

/* A few steps of a tiny network, deterministic (one thread), no early stop. */
static void
tiny_run_options (BsTrainOptions *opts)
{
  bs_train_options_init (opts);
  opts->fms = 2;
  opts->crop = 32;
  opts->batch = 4;
  opts->steps_per_epoch = 3;
  opts->val_slices = 8;
  opts->threads = 1;
  opts->patience = 0;
}

/* Four epochs in one run, and two plus two resumed from the state file, end
 * with the same weights (dropout and augmentation on, so the generators must
 * resume too) and the same report; with weight averaging from epoch 2 the
 * running mean, begun before the break, must resume as well. */
static void
test_resume (gconstpointer data)
{
  const int average_from = GPOINTER_TO_INT (data);
  g_autoptr(BsTrainSet) set = synthetic_set (4);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("bs-resume-XXXXXX", NULL);
  g_autofree char *one = g_build_filename (dir, "one.h5", NULL);
  g_autofree char *two = g_build_filename (dir, "two.h5", NULL);
  g_autofree char *one_last = bs_train_state_path_for (one);
  g_autofree char *two_last = bs_train_state_path_for (two);
  BsTrainOptions opts;
  g_autoptr(BsTrainCheckpoint) cp = NULL;
  BsTrainReport a = { 0 }, b = { 0 }, c = { 0 };

  g_assert_true (bs_train_set_split (set, 0.5, 816, NULL, NULL, &error));
  tiny_run_options (&opts);
  opts.epochs = 4;
  opts.average_from = average_from;
  opts.out = one;
  g_assert_true (bs_train_run (set, &opts, NULL, NULL, &a, NULL, &error));
  g_assert_no_error (error);

  opts.out = two;
  opts.epochs = 2;
  g_assert_true (bs_train_run (set, &opts, NULL, NULL, &b, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (b.epochs_run, ==, 2);

  /* The run's own options win over the caller's: another batch and seed change nothing. */
  cp = bs_train_checkpoint_load (two_last, &error);
  g_assert_no_error (error);
  g_assert_true (bs_train_checkpoint_has_state (cp));
  opts.resume = cp;
  opts.epochs = 4;
  opts.batch = 8;
  opts.seed = 1;
  g_assert_true (bs_train_run (set, &opts, NULL, NULL, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.resumed_epoch, ==, 2);
  g_assert_cmpint (c.epochs_run, ==, 4);
  g_assert_cmpint (c.steps, ==, a.steps);
  g_assert_cmpint (c.best_epoch, ==, a.best_epoch);
  g_assert_cmpfloat (fabs (c.best_val_loss - a.best_val_loss), <=, 1e-6);
  g_assert_cmpfloat (fabs (c.first_train_loss - a.first_train_loss), <=, 1e-9);
  g_assert_cmpfloat (fabs (c.last_train_loss - a.last_train_loss), <=, 1e-5);
  assert_same_weights (one_last, two_last);
  assert_same_weights (one, two);

  bs_train_report_clear (&a);
  bs_train_report_clear (&b);
  bs_train_report_clear (&c);
  g_unlink (one);
  g_unlink (two);
  g_unlink (one_last);
  g_unlink (two_last);
  g_rmdir (dir);
}

static BsUnet *
load (const char *path)
{
  g_autoptr(GError) error = NULL;
  BsUnet *net = bs_unet_load_h5 (path, &error);

  g_assert_no_error (error);
  return net;
}

/* --average-from 2: the training itself is untouched (same last weights as
 * without), and the saved model is the mean of the end-of-epoch weights of
 * epochs 2-4, as its description says, computed here from separate runs that
 * stop after each of those epochs. */
static void
test_average (void)
{
  g_autoptr(BsTrainSet) set = synthetic_set (4);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("bs-average-XXXXXX", NULL);
  g_autofree char *avg = g_build_filename (dir, "avg.h5", NULL);
  g_autofree char *avg_last = bs_train_state_path_for (avg);
  g_autoptr(BsUnet) saved = NULL;
  g_autoptr(BsUnet) expect = NULL;
  char *paths[5] = { NULL };
  BsTrainOptions opts;
  BsTrainReport r = { 0 };
  const char *at;
  int first = 0, last = 0;

  g_assert_true (bs_train_set_split (set, 0.5, 816, NULL, NULL, &error));
  tiny_run_options (&opts);
  opts.lr = 1e-2;  /* weights that move a lot between epochs */
  for (int e = 2; e <= 4; e++)
    {
      BsTrainReport re = { 0 };
      g_autofree char *out = g_strdup_printf ("%s/e%d.h5", dir, e);
      paths[e] = bs_train_state_path_for (out);
      opts.epochs = e;
      opts.out = out;
      g_assert_true (bs_train_run (set, &opts, NULL, NULL, &re, NULL, &error));
      g_assert_no_error (error);
      bs_train_report_clear (&re);
      g_unlink (out);
    }
  opts.epochs = 4;
  opts.average_from = 2;
  opts.out = avg;
  g_assert_true (bs_train_run (set, &opts, NULL, NULL, &r, NULL, &error));
  g_assert_no_error (error);
  assert_same_weights (paths[4], avg_last);

  saved = load (avg);
  g_assert_nonnull (saved->description);
  at = strstr (saved->description, "mean of the weights after epochs ");
  g_assert_nonnull (at);
  g_assert_cmpint (sscanf (at, "mean of the weights after epochs %d-%d", &first, &last), ==, 2);
  g_test_message ("%s", saved->description);
  g_assert_cmpint (first, ==, 2);
  /* every epoch's mean is saved, so the file holds the last one */
  g_assert_cmpint (last, ==, 4);
  g_assert_cmpint (r.best_epoch, ==, 4);
  expect = load (paths[first]);
  for (int e = first + 1; e <= last; e++)
    {
      g_autoptr(BsUnet) next = load (paths[e]);
      bs_unet_mean_update (expect, next, e - first + 1);
    }
  for (int i = 0; i < saved->n_layers; i++)
    {
      const BsUnetLayer *ls = &saved->layers[i], *le = &expect->layers[i];
      gsize n = (gsize) ls->out_ch * ls->in_ch * ls->kh * ls->kw;
      for (gsize k = 0; k < n; k++)
        g_assert_cmpfloat (fabs (ls->weights[k] - le->weights[k]), <=, 1e-6);
    }
  /* and that mean is not simply one of the epochs' weights */
  if (last > first)
    {
      g_autoptr(BsUnet) final = load (paths[last]);
      double diff = 0.0;
      for (int i = 0; i < saved->n_layers; i++)
        for (gsize k = 0; k < (gsize) saved->layers[i].out_ch * saved->layers[i].in_ch * saved->layers[i].kh
                                   * saved->layers[i].kw; k++)
          diff = MAX (diff, fabs (saved->layers[i].weights[k] - final->layers[i].weights[k]));
      g_assert_cmpfloat (diff, >, 1e-4);
    }
  bs_train_report_clear (&r);
  for (int e = 2; e <= 4; e++)
    {
      g_unlink (paths[e]);
      g_free (paths[e]);
    }
  g_unlink (avg);
  g_unlink (avg_last);
  g_rmdir (dir);
}

/* ---- regions (--regions wt,tc,et) ---- */

/* Like synthetic_case, with a larger tumour in Decathlon labels: edema (1)
 * outside, an enhancing ring (3) and a necrotic / non-enhancing centre (2),
 * each with an intensity of its own, so that the tumour core (2, 3) and the
 * enhancing tumour (3) can be learnt from the image. */
static void
region_case (guint seed, BsVolume **image, BsVolume **label)
{
  g_autoptr(GRand) r = g_rand_new_with_seed (seed);
  BsVolume *img = bs_volume_new (NX, NY, NZ, 1);
  BsVolume *lab = bs_volume_new (NX, NY, NZ, 1);
  double cx = g_rand_double_range (r, 18, 30), cy = g_rand_double_range (r, 18, 30);
  double cz = g_rand_double_range (r, 5, 7), rad = g_rand_double_range (r, 7, 10);

  g_free (img->channel_names[0]);
  img->channel_names[0] = g_strdup ("FLAIR");
  lab->is_label = TRUE;
  for (int k = 0; k < NZ; k++)
    for (int j = 0; j < NY; j++)
      for (int i = 0; i < NX; i++)
        {
          gsize v = ((gsize) k * NY + j) * NX + i;
          double ex = (i - 24) / 21.0, ey = (j - 24) / 22.0;
          double dx = i - cx, dy = j - cy, dz = (k - cz) * 2.0, d = sqrt (dx * dx + dy * dy + dz * dz);
          static const double boost[4] = { 0.0, 380.0, 60.0, 800.0 };
          int value = 0;

          if (ex * ex + ey * ey >= 1.0)
            continue;
          if (d < 0.35 * rad)
            value = 2;
          else if (d < 0.7 * rad)
            value = 3;
          else if (d < rad)
            value = 1;
          img->data[v] = (float) (400.0 + 60.0 * sin (i * 0.7) * cos (j * 0.5) + g_rand_double_range (r, -40, 40)
                                  + boost[value]);
          lab->data[v] = (float) value;
        }
  *image = img;
  *label = lab;
}

/* n_region cases with Decathlon labels, then n_binary with whole-tumour (0/1)
 * labels only. */
static BsTrainSet *
region_set (int n_region, int n_binary)
{
  static const char *const mods[] = { "FLAIR", NULL };
  BsTrainSet *set = bs_train_set_new (mods);

  for (int c = 0; c < n_region + n_binary; c++)
    {
      g_autoptr(BsVolume) image = NULL;
      g_autoptr(BsVolume) label = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *id = g_strdup_printf ("%s-%02d", c < n_region ? "region" : "binary", c);

      region_case (300 + c, &image, &label);
      if (c < n_region)
        g_assert_true (bs_train_set_add_case_labelled (set, id, image, label, BS_LABELS_DECATHLON, &error));
      else
        {
          for (gsize v = 0; v < bs_volume_n_voxels (label); v++)
            label->data[v] = label->data[v] > 0.5f ? 1.0f : 0.0f;
          g_assert_true (bs_train_set_add_case (set, id, image, label, &error));
        }
      g_assert_no_error (error);
    }
  return set;
}

static void
set_regions (BsTrainOptions *opts, const char *list)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (bs_train_options_set_regions (opts, list, &error));
  g_assert_no_error (error);
}

/* A short region run: the saved model has the three outputs, and the test
 * case's Dice of every region rises well above the untrained network's. */
static void
test_regions_train (void)
{
  g_autoptr(BsTrainSet) set = region_set (6, 0);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("bs-regions-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "regions.h5", NULL);
  g_autofree char *last = bs_train_state_path_for (out);
  g_autoptr(BsUnet) untrained = NULL;
  g_autoptr(BsUnet) loaded = NULL;
  BsUnetConfig cfg = { 0 };
  BsTrainOptions opts;
  BsTrainReport report = { 0 };
  BsTrainCaseResult before = { 0 };
  const BsTrainCaseResult *after;
  int test_case = -1;

  g_assert_true (bs_train_set_split (set, 0.67, 816, NULL, NULL, &error));
  for (guint i = 0; i < bs_train_set_get_n_cases (set); i++)
    {
      g_assert_true (bs_train_set_case_has_subregions (set, i));
      if (bs_train_set_get_case_split (set, i) == BS_TRAIN_SPLIT_TEST)
        test_case = (int) i;
    }
  bs_train_options_init (&opts);
  opts.fms = 4;
  opts.crop = 32;
  opts.batch = 8;
  opts.epochs = 8;
  opts.steps_per_epoch = 10;
  opts.lr = 6e-3;
  opts.loss = BS_TRAIN_LOSS_DICE_BCE;
  opts.threads = 2;
  opts.patience = 0;
  /* what training learns, on the slices it learnt from (a model this small does not carry to the other planes) */
  opts.eval_three_planes = FALSE;
  opts.out = out;
  set_regions (&opts, "wt,tc,et");

  cfg.fms = opts.fms;
  cfg.in_channels = 1;
  cfg.upsample = BS_UPSAMPLE_TRANSPOSED;
  g_assert_true (bs_unet_parse_outputs ("wt,tc,et", &cfg.outputs, &error));
  untrained = bs_unet_new_random (&cfg, opts.seed);
  g_strfreev (cfg.outputs);
  g_assert_true (bs_train_evaluate_case (untrained, set, test_case, 2, 2, FALSE, FALSE, &before, &error));
  g_assert_no_error (error);

  g_assert_true (bs_train_run (set, &opts, NULL, NULL, &report, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (report.test->len, ==, 1);
  after = &g_array_index (report.test, BsTrainCaseResult, 0);
  g_test_message ("loss %.4f -> %.4f; test Dice WT %.3f -> %.3f, TC %.3f -> %.3f, ET %.3f -> %.3f; validation "
                  "WT %.3f TC %.3f ET %.3f", report.first_train_loss, report.last_train_loss,
                  before.region_dice[BS_REGION_WT], after->region_dice[BS_REGION_WT],
                  before.region_dice[BS_REGION_TC], after->region_dice[BS_REGION_TC],
                  before.region_dice[BS_REGION_ET], after->region_dice[BS_REGION_ET],
                  report.best_val_region_dice[0], report.best_val_region_dice[1], report.best_val_region_dice[2]);
  g_assert_cmpfloat (report.last_train_loss, <, 0.7 * report.first_train_loss);
  g_assert_cmpfloat (after->region_dice[BS_REGION_WT], ==, after->dice);
  for (int r = 0; r < BS_N_REGIONS; r++)
    {
      g_assert_true (isfinite (before.region_dice[r]));
      g_assert_cmpfloat (after->region_dice[r], >, 0.5);
      g_assert_cmpfloat (after->region_dice[r], >, before.region_dice[r] + 0.3);
      g_assert_true (isfinite (report.best_val_region_dice[r]));
    }

  loaded = bs_unet_load_h5 (out, &error);
  g_assert_no_error (error);
  g_assert_cmpint (loaded->config.out_channels, ==, 3);
  g_assert_cmpint (bs_unet_find_layer (loaded, "PredictionMask")->out_ch, ==, 3);
  g_assert_cmpint (bs_unet_output_index (loaded, "tc"), ==, 1);
  g_assert_cmpint (bs_unet_output_index (loaded, "et"), ==, 2);
  g_assert_nonnull (strstr (loaded->description, "regions wt,tc,et"));

  bs_train_case_result_clear (&before);
  bs_train_report_clear (&report);
  g_unlink (out);
  g_unlink (last);
  g_rmdir (dir);
}

/* Same seed, same region run, same weights; its state resumes with its own
 * regions (none asked for) and refuses others. */
static void
test_regions_resume (void)
{
  g_autoptr(BsTrainSet) set = region_set (4, 0);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("bs-regions-XXXXXX", NULL);
  g_autofree char *one = g_build_filename (dir, "one.h5", NULL);
  g_autofree char *two = g_build_filename (dir, "two.h5", NULL);
  g_autofree char *one_last = bs_train_state_path_for (one);
  g_autofree char *two_last = bs_train_state_path_for (two);
  g_autoptr(BsTrainCheckpoint) cp = NULL;
  g_autoptr(BsUnet) resumed = NULL;
  BsTrainOptions opts;
  BsTrainReport a = { 0 }, b = { 0 }, c = { 0 };

  g_assert_true (bs_train_set_split (set, 0.5, 816, NULL, NULL, &error));
  tiny_run_options (&opts);
  set_regions (&opts, "wt,tc,et");
  opts.epochs = 2;
  opts.out = one;
  g_assert_true (bs_train_run (set, &opts, NULL, NULL, &a, NULL, &error));
  g_assert_no_error (error);
  opts.out = two;
  g_assert_true (bs_train_run (set, &opts, NULL, NULL, &b, NULL, &error));
  g_assert_no_error (error);
  assert_same_weights (one_last, two_last);
  assert_same_weights (one, two);
  g_assert_cmpfloat (a.last_train_loss, ==, b.last_train_loss);

  /* --weight-wt: the same run with the whole tumour weighing 0.7 learns other
   * weights, and its state keeps the share for a resume. */
  {
    g_autofree char *w = g_build_filename (dir, "weighted.h5", NULL);
    g_autofree char *w_last = bs_train_state_path_for (w);
    g_autoptr(BsTrainCheckpoint) wcp = NULL;
    g_autoptr(BsUnet) plain = NULL, weighted = NULL;
    BsTrainOptions applied;
    BsTrainReport d = { 0 };
    gsize nw;

    opts.out = w;
    opts.weight_wt = 0.7;
    g_assert_true (bs_train_run (set, &opts, NULL, NULL, &d, NULL, &error));
    g_assert_no_error (error);
    plain = load (one);
    weighted = load (w);
    nw = (gsize) plain->layers[0].out_ch * plain->layers[0].in_ch * plain->layers[0].kh * plain->layers[0].kw;
    g_assert_true (memcmp (plain->layers[0].weights, weighted->layers[0].weights, nw * sizeof (float)) != 0);
    wcp = bs_train_checkpoint_load (w_last, &error);
    g_assert_no_error (error);
    bs_train_options_init (&applied);
    g_assert_cmpfloat (applied.weight_wt, ==, 0.0);
    bs_train_checkpoint_apply_options (wcp, &applied);
    g_assert_cmpfloat (applied.weight_wt, ==, 0.7);
    opts.weight_wt = 0.0;
    opts.out = two;
    bs_train_report_clear (&d);
    g_unlink (w);
    g_unlink (w_last);
  }

  cp = bs_train_checkpoint_load (two_last, &error);
  g_assert_no_error (error);
  opts.resume = cp;
  opts.epochs = 3;
  set_regions (&opts, "wt");
  g_assert_false (bs_train_run (set, &opts, NULL, NULL, &c, NULL, &error));
  g_assert_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "wt,tc,et"));
  g_assert_nonnull (strstr (error->message, two_last));
  g_clear_error (&error);
  bs_train_report_clear (&c);

  opts.n_outputs = 0;  /* none asked for: the run's own */
  g_assert_true (bs_train_run (set, &opts, NULL, NULL, &c, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (c.epochs_run, ==, 3);
  resumed = load (two);
  g_assert_cmpint (resumed->config.out_channels, ==, 3);

  bs_train_report_clear (&a);
  bs_train_report_clear (&b);
  bs_train_report_clear (&c);
  g_unlink (one);
  g_unlink (two);
  g_unlink (one_last);
  g_unlink (two_last);
  g_rmdir (dir);
}

/* Fine-tuning a whole-tumour model (plain weights) into a region model:
 * every layer copied, each output's head row (weights and bias) the WT row. */
static void
test_regions_fine_tune (void)
{
  g_autoptr(BsTrainSet) set = region_set (4, 0);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("bs-regions-XXXXXX", NULL);
  g_autofree char *wt = g_build_filename (dir, "wt.h5", NULL);
  g_autofree char *ft = g_build_filename (dir, "ft.h5", NULL);
  g_autoptr(BsTrainCheckpoint) cp = NULL;
  g_autoptr(BsUnet) from = NULL;
  g_autoptr(BsUnet) to = NULL;
  const BsUnetLayer *hf, *ht;
  BsTrainOptions opts;
  BsTrainReport a = { 0 }, b = { 0 };

  g_assert_true (bs_train_set_split (set, 0.5, 816, NULL, NULL, &error));
  tiny_run_options (&opts);
  opts.epochs = 1;
  opts.out = wt;
  g_assert_true (bs_train_run (set, &opts, NULL, NULL, &a, NULL, &error));
  g_assert_no_error (error);
  from = load (wt);
  g_assert_cmpint (from->config.out_channels, ==, 1);

  cp = bs_train_checkpoint_load (wt, &error);
  g_assert_no_error (error);
  g_assert_false (bs_train_checkpoint_has_state (cp));
  opts.resume = cp;
  opts.epochs = 0;  /* the starting weights are what is saved */
  opts.out = ft;
  set_regions (&opts, "wt,tc,et");
  g_assert_true (bs_train_run (set, &opts, NULL, NULL, &b, NULL, &error));
  g_assert_no_error (error);
  to = load (ft);
  g_assert_cmpint (to->config.out_channels, ==, 3);
  g_assert_cmpstr (to->config.outputs[2], ==, "et");
  g_assert_cmpint (to->n_layers, ==, from->n_layers);
  for (int i = 0; i < to->n_layers - 1; i++)
    {
      const BsUnetLayer *lf = &from->layers[i], *lt = &to->layers[i];
      g_assert_cmpint (lt->out_ch, ==, lf->out_ch);
      g_assert_cmpmem (lt->weights, sizeof (float) * lt->out_ch * lt->in_ch * lt->kh * lt->kw, lf->weights,
                       sizeof (float) * lf->out_ch * lf->in_ch * lf->kh * lf->kw);
      g_assert_cmpmem (lt->bias, sizeof (float) * lt->out_ch, lf->bias, sizeof (float) * lf->out_ch);
    }
  hf = bs_unet_find_layer (from, "PredictionMask");
  ht = bs_unet_find_layer (to, "PredictionMask");
  g_assert_cmpint (ht->out_ch, ==, 3);
  for (int k = 0; k < 3; k++)
    {
      g_assert_cmpmem (ht->weights + (gsize) k * ht->in_ch, sizeof (float) * ht->in_ch, hf->weights,
                       sizeof (float) * hf->in_ch);
      g_assert_cmpfloat (ht->bias[k], ==, hf->bias[0]);
    }

  bs_train_report_clear (&a);
  bs_train_report_clear (&b);
  g_unlink (wt);
  g_unlink (ft);
  {
    g_autofree char *l1 = bs_train_state_path_for (wt);
    g_autofree char *l2 = bs_train_state_path_for (ft);
    g_unlink (l1);
    g_unlink (l2);
  }
  g_rmdir (dir);
}

/* 2.5D: a training example's neighbour slots hold the neighbouring slices
 * (clamped at the ends), every augmentation treats a modality's slots alike,
 * and --context 1 from 2D weights starts from them, neighbours at zero. */
static void
test_context (void)
{
  static const char *const mods[] = { "FLAIR", NULL };
  g_autoptr(BsTrainSet) set = bs_train_set_new (mods);
  g_autoptr(BsTrainSet) flat_set = bs_train_set_new (mods);
  g_autoptr(BsVolume) image = NULL;
  g_autoptr(BsVolume) label = NULL;
  g_autoptr(BsVolume) flat = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *input = g_new (float, 3 * NX * NY);
  g_autofree float *one = g_new (float, NX * NY);
  g_autofree float *target = g_new (float, NX * NY);
  gsize pix = NX * NY, per = (gsize) NX * NY;
  const BsTrainAug aug = { .offset_ratio = 0.5, .jitter = 0.3, .bias_field = 0.2, .modality_dropout = 0.0 };
  BsTrainSliceRef ref;
  BsTrainRng r;

  synthetic_case (7, &image, &label);
  g_assert_true (bs_train_set_add_case (set, "c", image, label, &error));
  g_assert_no_error (error);
  ref.c = bs_train_set_find_case (set, "c");
  for (int slice = 0; slice < NZ; slice += NZ - 1)
    {
      const int expect[3] = { slice, MAX (slice - 1, 0), MIN (slice + 1, NZ - 1) };
      ref.slice = slice;
      bs_train_fill_slice (&ref, NX, 1, NULL, NULL, NULL, input, target, NULL);
      for (int s = 0; s < 3; s++)
        {
          BsTrainSliceRef nb = { ref.c, expect[s] };
          bs_train_fill_slice (&nb, NX, 0, NULL, NULL, NULL, one, target, NULL);
          g_assert_cmpmem (input + s * pix, pix * sizeof (float), one, pix * sizeof (float));
        }
    }

  /* Every slice the same: augmented, the three slots stay the same. */
  flat = bs_volume_new_like (image, 1);
  for (int z = 0; z < NZ; z++)
    memcpy (flat->data + (gsize) z * per, image->data + (gsize) (NZ / 2) * per, per * sizeof (float));
  g_assert_true (bs_train_set_add_case (flat_set, "flat", flat, label, &error));
  ref.c = bs_train_set_find_case (flat_set, "flat");
  ref.slice = 3;
  bs_train_rng_seed (&r, 11);
  for (int it = 0; it < 20; it++)
    {
      double moved = 0.0;
      bs_train_fill_slice (&ref, 32, 1, &r, &aug, NULL, input, target, NULL);
      g_assert_cmpmem (input, 32 * 32 * sizeof (float), input + 32 * 32, 32 * 32 * sizeof (float));
      g_assert_cmpmem (input, 32 * 32 * sizeof (float), input + 2 * 32 * 32, 32 * 32 * sizeof (float));
      /* and the augmentation did something */
      bs_train_fill_slice (&ref, 32, 0, NULL, NULL, NULL, one, target, NULL);
      for (int p = 0; p < 32 * 32; p++)
        moved += fabs (one[p] - input[p]);
      g_assert_cmpfloat (moved, >, 0.0);
    }

  /* Fine-tuning 2D weights with context 1. */
  {
    g_autoptr(BsTrainSet) tset = synthetic_set (4);
    g_autofree char *dir = g_dir_make_tmp ("bs-context-XXXXXX", NULL);
    g_autofree char *two = g_build_filename (dir, "2d.h5", NULL);
    g_autofree char *wide = g_build_filename (dir, "25d.h5", NULL);
    g_autoptr(BsTrainCheckpoint) cp = NULL;
    g_autoptr(BsTrainCheckpoint) cp2 = NULL;
    g_autoptr(BsUnet) from = NULL;
    g_autoptr(BsUnet) to = NULL;
    g_autoptr(BsUnet) trained = NULL;
    BsTrainOptions opts;
    BsTrainReport a = { 0 }, b = { 0 }, c = { 0 };
    const BsUnetLayer *lf, *lt;
    double neighbours = 0.0;

    g_assert_nonnull (dir);
    g_assert_true (bs_train_set_split (tset, 0.5, 816, NULL, NULL, &error));
    tiny_run_options (&opts);
    opts.epochs = 1;
    opts.out = two;
    g_assert_true (bs_train_run (tset, &opts, NULL, NULL, &a, NULL, &error));
    g_assert_no_error (error);
    from = load (two);
    g_assert_cmpint (from->config.context, ==, 0);
    cp = bs_train_checkpoint_load (two, &error);
    g_assert_no_error (error);
    opts.resume = cp;
    opts.epochs = 0;
    opts.out = wide;
    opts.context = 1;
    g_assert_true (bs_train_run (tset, &opts, NULL, NULL, &b, NULL, &error));
    g_assert_no_error (error);
    to = load (wide);
    g_assert_cmpint (to->config.context, ==, 1);
    lf = bs_unet_find_layer (from, "encodeAa");
    lt = bs_unet_find_layer (to, "encodeAa");
    g_assert_cmpint (lt->in_ch, ==, 3);
    for (int o = 0; o < lt->out_ch; o++)
      {
        g_assert_cmpmem (lt->weights + o * 3 * 9, 9 * sizeof (float), lf->weights + o * 9, 9 * sizeof (float));
        for (int i = 9; i < 27; i++)
          g_assert_cmpfloat (lt->weights[o * 27 + i], ==, 0.0f);
      }
    /* and trains (fine-tuned from the widened file, whose context it keeps):
     * the neighbours' weights move, the test cases are evaluated */
    cp2 = bs_train_checkpoint_load (wide, &error);
    g_assert_no_error (error);
    opts.resume = cp2;
    opts.epochs = 1;
    opts.context = -1;
    g_assert_true (bs_train_run (tset, &opts, NULL, NULL, &c, NULL, &error));
    g_assert_no_error (error);
    trained = load (wide);
    g_assert_cmpint (trained->config.context, ==, 1);
    lt = bs_unet_find_layer (trained, "encodeAa");
    for (int o = 0; o < lt->out_ch; o++)
      for (int i = 9; i < 27; i++)
        neighbours += fabs (lt->weights[o * 27 + i]);
    g_assert_cmpfloat (neighbours, >, 0.0);
    g_assert_cmpuint (c.test->len, >, 0);
    g_assert_cmpfloat (g_array_index (c.test, BsTrainCaseResult, 0).dice, >=, 0.0);
    bs_train_report_clear (&a);
    bs_train_report_clear (&b);
    bs_train_report_clear (&c);
    {
      g_autofree char *l1 = bs_train_state_path_for (two);
      g_autofree char *l2 = bs_train_state_path_for (wide);
      g_unlink (l1);
      g_unlink (l2);
    }
    g_unlink (two);
    g_unlink (wide);
    g_rmdir (dir);
  }
}

/* A case with whole-tumour labels only trains its WT output: its core and
 * enhancing targets are flagged invalid (and left zero), its evaluation has
 * no TC/ET Dice, and a run with it alongside region cases goes through. */
static void
test_regions_binary_case (void)
{
  g_autoptr(BsTrainSet) set = region_set (3, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("bs-regions-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "mixed.h5", NULL);
  g_autofree char *last = bs_train_state_path_for (out);
  BsTrainOutputs outputs = { 3, { BS_REGION_WT, BS_REGION_TC, BS_REGION_ET } };
  g_autofree float *input = g_new (float, NX * NX);
  g_autofree float *target = g_new (float, 3 * NX * NX);
  BsTrainCaseResult res = { 0 };
  BsTrainOptions opts;
  BsTrainReport report = { 0 };
  BsUnetConfig cfg = { 0 };
  g_autoptr(BsUnet) net = NULL;

  for (guint i = 0; i < 4; i++)
    {
      BsTrainCase *c = g_ptr_array_index (set->cases, i);
      BsTrainSliceRef ref = { c, c->slices[c->n_slices / 2] };
      float valid[3] = { -1, -1, -1 };
      double sum[3] = { 0 };

      g_assert_cmpint (bs_train_set_case_has_subregions (set, i), ==, i < 3);
      bs_train_fill_slice (&ref, NX, 0, NULL, NULL, &outputs, input, target, valid);
      for (int k = 0; k < 3; k++)
        for (int p = 0; p < NX * NX; p++)
          sum[k] += target[k * NX * NX + p];
      g_assert_cmpfloat (valid[0], ==, 1.0f);
      g_assert_cmpfloat (valid[1], ==, i < 3 ? 1.0f : 0.0f);
      g_assert_cmpfloat (valid[2], ==, i < 3 ? 1.0f : 0.0f);
      g_assert_cmpfloat (sum[0], >, 0.0);
      /* the regions nest: WT > TC > ET > 0 where they are known */
      if (i < 3)
        {
          g_assert_cmpfloat (sum[0], >, sum[1]);
          g_assert_cmpfloat (sum[1], >, sum[2]);
          g_assert_cmpfloat (sum[2], >, 0.0);
        }
      else
        g_assert_cmpfloat (sum[1] + sum[2], ==, 0.0);
    }

  cfg.fms = 2;
  cfg.in_channels = 1;
  cfg.upsample = BS_UPSAMPLE_TRANSPOSED;
  g_assert_true (bs_unet_parse_outputs ("wt,tc,et", &cfg.outputs, &error));
  net = bs_unet_new_random (&cfg, 5);
  g_strfreev (cfg.outputs);
  g_assert_true (bs_train_evaluate_case (net, set, 3, 1, 1, FALSE, FALSE, &res, &error));
  g_assert_no_error (error);
  g_assert_true (isfinite (res.region_dice[BS_REGION_WT]));
  g_assert_true (isnan (res.region_dice[BS_REGION_TC]));
  g_assert_true (isnan (res.region_dice[BS_REGION_ET]));
  bs_train_case_result_clear (&res);

  g_assert_true (bs_train_set_split (set, 1.0, 816, NULL, (const char *const[]) { "binary-03", NULL }, &error));
  tiny_run_options (&opts);
  set_regions (&opts, "wt,tc,et");
  opts.epochs = 1;
  opts.out = out;
  g_assert_true (bs_train_run (set, &opts, NULL, NULL, &report, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (isfinite (report.last_train_loss));
  g_assert_cmpuint (report.test->len, ==, 1);
  g_assert_true (isnan (g_array_index (report.test, BsTrainCaseResult, 0).region_dice[BS_REGION_TC]));
  bs_train_report_clear (&report);
  g_unlink (out);
  g_unlink (last);
  g_rmdir (dir);
}

/* What the engine tells its caller (it prints nothing itself): the events in
 * order, with the numbers the CLI shows. */
typedef struct {
  GString *kinds;   /* one letter per event */
  GArray *events;   /* BsTrainEvent, copied (pointers inside not kept) */
} Heard;

static void
hear (const BsTrainEvent *e, gpointer data)
{
  Heard *h = data;

  G_STATIC_ASSERT (BS_TRAIN_EVENT_FIGURES == 9);
  g_string_append_c (h->kinds, "NRFSsAEXTW"[e->kind]);
  g_array_append_val (h->events, *e);
}

static void
test_progress (void)
{
  g_autoptr(BsTrainSet) set = synthetic_set (4);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("bs-progress-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "p.h5", NULL);
  g_autofree char *last = bs_train_state_path_for (out);
  g_autoptr(BsTrainCheckpoint) cp = NULL;
  g_autoptr(GString) kinds = g_string_new (NULL);
  g_autoptr(GArray) events = g_array_new (FALSE, FALSE, sizeof (BsTrainEvent));
  Heard h = { kinds, events };
  BsTrainOptions opts;
  BsTrainReport a = { 0 }, b = { 0 };
  double epoch1_dice = NAN;

  g_assert_true (bs_train_set_split (set, 0.5, 816, NULL, NULL, &error));
  tiny_run_options (&opts);
  opts.epochs = 2;
  opts.average_from = 2;
  opts.out = out;
  g_assert_true (bs_train_run (set, &opts, hear, &h, &a, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (kinds->str, ==, "SsssEsssAET");
  for (guint i = 0; i < events->len; i++)
    {
      const BsTrainEvent *e = &g_array_index (events, BsTrainEvent, i);
      if (e->kind == BS_TRAIN_EVENT_START)
        {
          g_assert_cmpint (e->start.steps_per_epoch, ==, 3);
          g_assert_cmpint (e->start.batch, ==, 4);
          g_assert_cmpint (e->start.n_val_slices, ==, 8);
        }
      else if (e->kind == BS_TRAIN_EVENT_STEP)
        {
          g_assert_cmpint (e->step.epochs, ==, 2);
          g_assert_cmpint (e->step.steps, ==, 3);
          g_assert_cmpfloat (e->step.eta_s, >=, 0.0);
          g_assert_true (isfinite (e->step.loss));
          if (e->step.epoch == 1)
            g_assert_true (isnan (e->step.val_dice));
          else
            g_assert_cmpfloat (e->step.val_dice, ==, epoch1_dice);
        }
      else if (e->kind == BS_TRAIN_EVENT_EPOCH)
        {
          if (e->epoch.epoch == 1)
            epoch1_dice = e->epoch.val_dice;
          g_assert_cmpint (e->epoch.mean_count, ==, e->epoch.epoch == 2 ? 1 : 0);
          g_assert_true (e->epoch.best);
        }
      else if (e->kind == BS_TRAIN_EVENT_AVERAGING)
        g_assert_cmpint (e->averaging.epoch, ==, 2);
    }

  /* Resumed for one more epoch: said once, with where it stopped. */
  g_string_truncate (kinds, 0);
  g_array_set_size (events, 0);
  cp = bs_train_checkpoint_load (last, &error);
  g_assert_no_error (error);
  opts.resume = cp;
  opts.epochs = 3;
  g_assert_true (bs_train_run (set, &opts, hear, &h, &b, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (kinds->str, ==, "RSsssET");
  g_assert_cmpint (g_array_index (events, BsTrainEvent, 0).resumed.epochs_done, ==, 2);
  g_assert_cmpint (g_array_index (events, BsTrainEvent, 0).resumed.steps_done, ==, 6);
  g_assert_cmpint (g_array_index (events, BsTrainEvent, 0).resumed.epochs, ==, 3);

  bs_train_report_clear (&a);
  bs_train_report_clear (&b);
  g_unlink (out);
  g_unlink (last);
  g_rmdir (dir);
}

/* ---- damaged training states and out-of-range options ---- */

typedef enum {
  EDIT_INT,     /* an int64 attribute of /training_state */
  EDIT_DOUBLE,  /* a double attribute */
  EDIT_FLOAT,   /* element 0 of a float32 dataset */
  EDIT_ROWS,    /* every value of a sampler's (case, slice) rows */
} StateEdit;

static void
edit_state (const char *path, StateEdit kind, const char *name, double value)
{
  hid_t f = H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT);
  hid_t g = H5Gopen2 (f, "training_state", H5P_DEFAULT);

  g_assert_cmpint (g, >=, 0);
  if (kind == EDIT_INT || kind == EDIT_DOUBLE)
    {
      hid_t a = H5Aopen (g, name, H5P_DEFAULT);
      gint64 i = (gint64) value;

      g_assert_cmpint (a, >=, 0);
      g_assert_cmpint (H5Awrite (a, kind == EDIT_INT ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE,
                                 kind == EDIT_INT ? (void *) &i : (void *) &value),
                       >=, 0);
      H5Aclose (a);
    }
  else
    {
      hid_t ds = H5Dopen2 (g, name, H5P_DEFAULT), space = H5Dget_space (ds);
      gsize n = (gsize) H5Sget_simple_extent_npoints (space);

      g_assert_cmpuint (n, >, 0);
      if (kind == EDIT_FLOAT)
        {
          g_autofree float *v = g_new (float, n);
          g_assert_cmpint (H5Dread (ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), >=, 0);
          v[0] = (float) value;
          g_assert_cmpint (H5Dwrite (ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), >=, 0);
        }
      else
        {
          g_autofree gint32 *v = g_new (gint32, n);
          for (gsize k = 0; k < n; k++)
            v[k] = (gint32) value;
          g_assert_cmpint (H5Dwrite (ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), >=, 0);
        }
      H5Sclose (space);
      H5Dclose (ds);
    }
  H5Gclose (g);
  g_assert_cmpint (H5Fclose (f), >=, 0);
}

/* Every integer of a training state is range-checked on load (a batch of a
 * billion would allocate terabytes, 2^31 - 1 steps an epoch never ends, a
 * negative sampler row shifts a negative value), and Adam's moments and the
 * best weights are checked for non-finite values like the weights are; each
 * error names the file, the field and, for an integer, the range allowed. */
static void
test_damaged_state (void)
{
  static const struct { StateEdit kind; const char *name; double value; const char *says; } bad[] = {
    { EDIT_INT, "batch", 1e9, "batch is 1000000000, not between 1 and 1024" },
    { EDIT_INT, "steps_per_epoch", G_MAXINT, "steps_per_epoch is 2147483647, not between 0 and 100000" },
    { EDIT_INT, "epochs", G_MAXINT, "epochs is 2147483647, not between 0 and 10000" },
    { EDIT_INT, "crop", 100000, "crop is 100000, not between 16 and 512" },
    { EDIT_INT, "crop", 7, "crop is 7, not between 16 and 512" },
    { EDIT_INT, "val_slices", -100, "val_slices is -100, not between 0 and 100000" },
    { EDIT_INT, "patience", -1, "patience is -1, not between 0 and 10000" },
    { EDIT_INT, "epoch", -5, "epoch is -5, not between 0 and 10000" },
    { EDIT_INT, "average_from", -5, "average_from is -5, not between 0 and 10000" },
    { EDIT_INT, "mean_count", 5, "mean_count is 5, not between 0 and 1" },
    { EDIT_INT, "sampler_pos_other", -3, "sampler_pos_other is -3" },
    { EDIT_ROWS, "sampler_tumour", -7, "sampler_tumour row 0 is -7" },
    { EDIT_ROWS, "sampler_other", 1e9, "sampler_other row 0 is 1000000000, not between 0 and 12287" },
    { EDIT_FLOAT, "adam_m", NAN, "the training state's adam_m has non-finite values" },
    { EDIT_FLOAT, "adam_v", INFINITY, "the training state's adam_v has non-finite values" },
    { EDIT_FLOAT, "adam_v", -1.0, "the training state's adam_v has negative values" },
    { EDIT_FLOAT, "best_weights", NAN, "the training state's best_weights has non-finite values" },
    { EDIT_DOUBLE, "dropout", 5.0, "the training state is damaged (dropout)" },
    { EDIT_DOUBLE, "lr", 1e300, "the training state is damaged (lr)" },
  };
  g_autoptr(BsTrainSet) set = synthetic_set (4);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("bs-damaged-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (dir, "run.h5", NULL);
  g_autofree char *last = bs_train_state_path_for (out);
  g_autofree char *copy = g_build_filename (dir, "damaged.last.h5", NULL);
  g_autofree char *intact = NULL;
  gsize len = 0;
  BsTrainOptions opts;
  BsTrainReport report = { 0 };

  g_assert_true (bs_train_set_split (set, 0.5, 816, NULL, NULL, &error));
  tiny_run_options (&opts);
  opts.epochs = 1;
  opts.out = out;
  g_assert_true (bs_train_run (set, &opts, NULL, NULL, &report, NULL, &error));
  g_assert_no_error (error);
  bs_train_report_clear (&report);
  g_assert_true (g_file_get_contents (last, &intact, &len, NULL));
  {
    g_autoptr(BsTrainCheckpoint) cp = bs_train_checkpoint_load (last, &error);
    g_assert_no_error (error);
    g_assert_true (bs_train_checkpoint_has_state (cp));
  }

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) e = NULL;
      g_autoptr(BsTrainCheckpoint) cp = NULL;

      g_assert_true (g_file_set_contents (copy, intact, (gssize) len, NULL));
      edit_state (copy, bad[i].kind, bad[i].name, bad[i].value);
      cp = bs_train_checkpoint_load (copy, &e);
      g_assert_null (cp);
      g_assert_nonnull (e);
      g_test_message ("%s", e->message);
      g_assert_nonnull (strstr (e->message, "damaged.last.h5"));
      g_assert_nonnull (strstr (e->message, bad[i].says));
    }
  g_unlink (copy);
  g_unlink (out);
  g_unlink (last);
  g_rmdir (dir);
}

static int
run_train_cli (const char *dir, const char *option, const char *value, char **err)
{
  g_autofree char *out = g_build_filename (dir, "x.h5", NULL);
  const char *argv[] = { g_getenv ("BS_CLI"), "train", "--phantoms", "2", "--phantom-size", "32x32x16",
                         "--epochs", "1", "--out", out, option, value, NULL };
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, err, &status,
                               &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

/* The trainer's options are range-checked before anything is loaded or
 * allocated, each error naming the option and the range allowed:
 * brainseg-cli train --batch 100000000 and --fms 100000 used to abort
 * allocating hundreds of gigabytes, --steps-per-epoch 2147483647 never ended. */
static void
test_options_check (void)
{
  static const struct { const char *option; int value; const char *says; gboolean cli; } bad[] = {
    { "--batch", 100000000, "--batch 100000000 is out of range; it must be between 1 and 1024", TRUE },
    { "--batch", 0, "--batch 0 is out of range; it must be between 1 and 1024" },
    { "--fms", 100000, "--fms 100000 is too large (at most 256)", TRUE },
    { "--fms", 0, "--fms 0 is out of range; it must be between 1 and 256" },
    { "--steps-per-epoch", G_MAXINT, "--steps-per-epoch 2147483647 is out of range; it must be between 0 and 100000" },
    { "--crop", 100000, "--crop 100000 is out of range; it must be between 16 and 512" },
    { "--crop", 100, "--crop 100 is not a multiple of 16" },
    { "--epochs", -1, "--epochs -1 is out of range; it must be between 0 and 10000" },
    { "--patience", -1, "--patience -1 is out of range; it must be between 0 and 10000" },
    { "--val-slices", 1000000, "--val-slices 1000000 is out of range; it must be between 0 and 100000" },
    { "--threads", 100000, "--threads 100000 is out of range; it must be between 0 and 1024" },
    { "--average-from", -1, "--average-from -1 is out of range; it must be between 0 and 10000" },
  };
  BsTrainOptions opts;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;

  bs_train_options_init (&opts);
  g_assert_true (bs_train_options_check (&opts, &error));
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) e = NULL;
      BsTrainOptions o;
      int *field = g_str_equal (bad[i].option, "--batch")             ? &o.batch
                   : g_str_equal (bad[i].option, "--fms")             ? &o.fms
                   : g_str_equal (bad[i].option, "--steps-per-epoch") ? &o.steps_per_epoch
                   : g_str_equal (bad[i].option, "--crop")            ? &o.crop
                   : g_str_equal (bad[i].option, "--epochs")          ? &o.epochs
                   : g_str_equal (bad[i].option, "--patience")        ? &o.patience
                   : g_str_equal (bad[i].option, "--val-slices")      ? &o.val_slices
                   : g_str_equal (bad[i].option, "--threads")         ? &o.threads
                                                                      : &o.average_from;

      bs_train_options_init (&o);
      *field = bad[i].value;
      g_assert_false (bs_train_options_check (&o, &e));
      g_assert_nonnull (e);
      g_test_message ("%s", e->message);
      g_assert_cmpstr (e->message, ==, bad[i].says);
    }
  {
    g_autoptr(GError) e = NULL;
    opts.dropout = 2.0;
    g_assert_false (bs_train_options_check (&opts, &e));
    g_assert_cmpstr (e->message, ==, "--dropout 2 is out of range; it must be in [0, 1)");
  }

  if (!g_getenv ("BS_CLI"))
    {
      g_test_skip ("BS_CLI is not set (run through meson test)");
      return;
    }
  /* The command line refuses them before loading a case (the two marked cli
   * aborted allocating: --batch times the crop, and the weights of --fms). */
  dir = g_dir_make_tmp ("bs-train-cli-XXXXXX", NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *err = NULL;
      g_autofree char *value = NULL;

      if (!bad[i].cli)
        continue;
      value = g_strdup_printf ("%d", bad[i].value);
      g_assert_cmpint (run_train_cli (dir, bad[i].option, value, &err), ==, 2);
      g_test_message ("%s", err);
      g_assert_nonnull (strstr (err, bad[i].says));
    }
  {
    /* More modalities than preprocessing can pick is refused too (it failed
     * an assertion in bs_preprocess_prepare). */
    g_autoptr(GString) mods = g_string_new ("FLAIR");
    g_autofree char *err = NULL;
    for (int k = 0; k < 40; k++)
      g_string_append_printf (mods, ",m%d", k);
    g_assert_cmpint (run_train_cli (dir, "--modalities", mods->str, &err), ==, 2);
    g_test_message ("%s", err);
    g_assert_nonnull (strstr (err, "--modalities lists 41 modalities; at most 32 are supported"));
    g_assert_null (strstr (err, "CRITICAL"));
  }
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/train/data/split", test_split);
  g_test_add_func ("/train/data/add-case-errors", test_add_case_errors);
  g_test_add_func ("/train/data/folds", test_folds);
  g_test_add_func ("/train/data/missing-modality", test_missing_modality);
  g_test_add_func ("/train/data/sampling", test_sampling);
  g_test_add_func ("/train/data/sampling-planes", test_sampling_planes);
  g_test_add_func ("/train/data/core-flair", test_core_flair_augmentation);
  g_test_add_func ("/train/data/intensity-jitter", test_intensity_jitter);
  g_test_add_func ("/train/smoke", test_train_smoke);
  g_test_add_data_func ("/train/resume", GINT_TO_POINTER (0), test_resume);
  g_test_add_data_func ("/train/resume/averaging", GINT_TO_POINTER (2), test_resume);
  g_test_add_func ("/train/average", test_average);
  g_test_add_func ("/train/resume/damaged-state", test_damaged_state);
  g_test_add_func ("/train/options-check", test_options_check);
  g_test_add_func ("/train/progress", test_progress);
  g_test_add_func ("/train/regions", test_regions_train);
  g_test_add_func ("/train/regions/resume", test_regions_resume);
  g_test_add_func ("/train/regions/fine-tune", test_regions_fine_tune);
  g_test_add_func ("/train/regions/binary-case", test_regions_binary_case);
  g_test_add_func ("/train/context", test_context);
  return g_test_run ();
}
