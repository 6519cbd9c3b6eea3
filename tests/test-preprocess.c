/* Normalisation gives the same picture for raw and pre-normalised data;
 * crop/pad and label helpers. */
#include <glib.h>
#include <math.h>
#include <string.h>

#include "bs-error.h"
#include "bs-labels.h"
#include "bs-preprocess.h"
#include "bs-span.h"

#define NX 40
#define NY 36
#define NZ 20

static gboolean
inside_brain (int i, int j, int k)
{
  double x = (i - NX / 2.0) / 15.0, y = (j - NY / 2.0) / 13.0, z = (k - NZ / 2.0) / 8.0;
  return x * x + y * y + z * z < 1.0;
}

/* Raw scanner-like intensities: background exactly 0, brain values that are
 * sometimes negative, as in the TCGA sample. */
static BsVolume *
raw_volume (void)
{
  BsVolume *vol = bs_volume_new (NX, NY, NZ, 2);
  GRand *rand = g_rand_new_with_seed (7);

  for (int c = 0; c < 2; c++)
    for (int k = 0; k < NZ; k++)
      for (int j = 0; j < NY; j++)
        for (int i = 0; i < NX; i++)
          if (inside_brain (i, j, k))
            {
              float v = (float) round (g_rand_double_range (rand, -60, 900) * (c + 1));
              /* A zero on the brain's edge is indistinguishable from background;
               * zeros inside the brain (the centre of every slice) must stay brain. */
              gboolean centre = i == NX / 2 && j == NY / 2;
              bs_volume_channel (vol, c)[((gsize) k * NY + j) * NX + i] = centre ? 0.0f : v == 0.0f ? 1.0f : v;
            }
  g_rand_free (rand);
  return vol;
}

static void
test_same_picture (void)
{
  g_autoptr(BsVolume) raw = raw_volume ();
  g_autoptr(BsVolume) pre = bs_volume_copy (raw);
  gsize n = bs_volume_n_voxels (raw);

  /* The pre-normalised samples: z-scored inside the brain by someone else
   * (with slightly different statistics), background a negative constant. */
  for (int c = 0; c < 2; c++)
    {
      float *p = bs_volume_channel (pre, c);
      for (gsize i = 0; i < n; i++)
        {
          int x = (int) (i % NX), y = (int) (i / NX % NY), z = (int) (i / (NX * NY));
          p[i] = inside_brain (x, y, z) ? (p[i] - 400.0f) / 250.0f : -3.1f - (float) c;
        }
    }
  bs_preprocess_normalize (raw);
  bs_preprocess_normalize (pre);
  for (int c = 0; c < 2; c++)
    {
      const float *a = bs_volume_channel (raw, c), *b = bs_volume_channel (pre, c);
      double sum = 0, sum2 = 0;
      gsize fg = 0;
      for (gsize i = 0; i < n; i++)
        {
          int x = (int) (i % NX), y = (int) (i / NX % NY), z = (int) (i / (NX * NY));
          g_assert_cmpfloat_with_epsilon (a[i], b[i], 1e-4);
          if (!inside_brain (x, y, z))
            g_assert_cmpfloat (a[i], ==, 0.0f);
          else
            {
              sum += a[i];
              sum2 += (double) a[i] * a[i];
              fg++;
            }
        }
      g_assert_cmpfloat_with_epsilon (sum / fg, 0.0, 1e-4);
      g_assert_cmpfloat_with_epsilon (sqrt (sum2 / fg), 1.0, 1e-3);
    }
}

/* A few saturated voxels (32767, as one BraTS scanner writes into every
 * modality) leave every other voxel's normalised value where it was and do
 * not become extreme inputs themselves. */
static void
test_saturated_voxels (void)
{
  g_autoptr(BsVolume) clean = raw_volume ();
  g_autoptr(BsVolume) hot = bs_volume_copy (clean);
  gsize n = bs_volume_n_voxels (clean), n_hot = 0, n_brain = 0;
  g_autofree gboolean *is_hot = g_new0 (gboolean, n);
  float max_clean = -INFINITY;

  /* one brain voxel in 4000 (fewer than the 0.02 % clipped) of channel 0 */
  for (gsize i = 0; i < n; i++)
    if (clean->data[i] != 0.0f && ++n_brain % 4000 == 0)
      {
        hot->data[i] = 32767.0f;
        is_hot[i] = TRUE;
        n_hot++;
      }
  g_assert_cmpuint (n_hot, >=, 1);
  bs_preprocess_normalize (clean);
  bs_preprocess_normalize (hot);
  for (gsize i = 0; i < n; i++)
    max_clean = MAX (max_clean, clean->data[i]);
  for (gsize i = 0; i < n; i++)
    if (is_hot[i])
      g_assert_cmpfloat (hot->data[i], <=, max_clean + 0.05f);
    else
      g_assert_cmpfloat (fabsf (hot->data[i] - clean->data[i]), <, 0.05f);
}

/* One wild voxel (1e20, 3e38: a damaged file or header scale) is one voxel:
 * the other voxels' normalised values stay where they were, where the
 * histogram between the smallest and largest value once put the whole brain
 * in its first bin and every bound with it (the mask came back empty). */
static void
test_wild_voxel (void)
{
  const float wild[] = { 1e10f, 1e20f, 3e38f, -1e20f };

  for (guint w = 0; w < G_N_ELEMENTS (wild); w++)
    {
      g_autoptr(BsVolume) clean = raw_volume ();
      g_autoptr(BsVolume) hot = bs_volume_copy (clean);
      gsize n = bs_volume_n_voxels (clean), at = 0;
      double moved = 0.0;

      for (gsize i = 0; i < n && at == 0; i++)
        if (clean->data[i] != 0.0f && i > n / 2)
          at = i;
      hot->data[at] = wild[w];
      bs_preprocess_normalize (clean);
      bs_preprocess_normalize (hot);
      for (gsize i = 0; i < n; i++)
        if (i != at)
          moved = MAX (moved, fabsf (hot->data[i] - clean->data[i]));
      g_test_message ("one voxel at %g: the others moved by at most %.4f", wild[w], moved);
      g_assert_cmpfloat (moved, <, 0.05);
      g_assert_true (isfinite (hot->data[at]) && fabsf (hot->data[at]) < 10.0f);
    }
}

/* The network input: modalities in the order asked for, by any alias; a
 * missing one is zeros; none at all is an error naming the image. */
static void
test_prepare (void)
{
  g_autoptr(BsVolume) raw = raw_volume ();
  g_autoptr(BsVolume) prepared = NULL;
  g_autoptr(BsVolume) none = NULL;
  g_autoptr(GError) error = NULL;
  static const char *const want[] = { "FLAIR", "T1w", "T1gd", "T2w", NULL };
  static const char *const dwi[] = { "DWI", "ADC", NULL };
  gsize n = bs_volume_n_voxels (raw);
  guint32 present = 0;
  double energy[4] = { 0 };

  g_free (raw->channel_names[0]);
  g_free (raw->channel_names[1]);
  raw->channel_names[0] = g_strdup ("t1ce");
  raw->channel_names[1] = g_strdup ("flair");
  raw->path = g_strdup ("case.nii.gz");
  prepared = bs_preprocess_prepare (raw, want, 4, &present, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (present, ==, (1u << 0) | (1u << 2));
  g_assert_cmpint (prepared->n_channels, ==, 4);
  for (int c = 0; c < 4; c++)
    {
      g_assert_cmpstr (prepared->channel_names[c], ==, want[c]);
      for (gsize i = 0; i < n; i++)
        energy[c] += fabsf (bs_volume_channel (prepared, c)[i]);
    }
  g_assert_cmpfloat (energy[0], >, 100.0);
  g_assert_cmpfloat (energy[1], ==, 0.0);
  g_assert_cmpfloat (energy[2], >, 100.0);
  g_assert_cmpfloat (energy[3], ==, 0.0);
  /* FLAIR is the source's second channel, normalised like bs_preprocess_normalize does */
  bs_preprocess_normalize (raw);
  g_assert_cmpmem (bs_volume_channel (prepared, 0), n * sizeof (float), bs_volume_channel (raw, 1), n * sizeof (float));

  none = bs_preprocess_prepare (raw, dwi, 2, &present, &error);
  g_assert_null (none);
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "case.nii.gz"));
  g_assert_nonnull (strstr (error->message, "DWI"));
}

/* Walk finding: a FLAIR scan saved as patient7.nii.gz (a name that says no
 * sequence) was refused "(it has channel0)", a name the user never gave.
 * The message says what to do: name it as BraTS does. */
static void
test_prepare_unnamed_file (void)
{
  static const char *const four[] = { "FLAIR", "T1w", "T1gd", "T2w", NULL };
  g_autoptr(BsVolume) raw = raw_volume ();
  g_autoptr(BsVolume) one = bs_volume_extract_channel (raw, 0);
  g_autoptr(BsVolume) prepared = NULL;
  g_autoptr(GError) error = NULL;

  g_free (one->channel_names[0]);
  one->channel_names[0] = g_strdup ("channel0");
  one->path = g_strdup ("patient7.nii.gz");
  prepared = bs_preprocess_prepare (one, four, 4, NULL, &error);
  g_assert_null (prepared);
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "patient7.nii.gz"));
  g_assert_nonnull (strstr (error->message, "_flair"));
  g_assert_null (strstr (error->message, "channel0"));
  g_clear_error (&error);

  /* a label file opened alone: no advice to rename it as a sequence (walk
   * finding: BRATS_001_label.nii.gz was told to be named …_flair.nii.gz) */
  for (int k = 0; k < 3; k++)
    {
      static const char *const names[] = { "/d/BRATS_001_label.nii.gz", "/d/Brats18_X_1_seg.nii.gz", "/d/mask.nii" };

      g_free (one->path);
      one->path = g_strdup (names[k]);
      prepared = bs_preprocess_prepare (one, four, 4, NULL, &error);
      g_assert_null (prepared);
      g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
      g_assert_nonnull (strstr (error->message, names[k]));
      g_assert_nonnull (strstr (error->message, "labels"));
      g_assert_null (strstr (error->message, "_flair"));
      g_clear_error (&error);
    }
  /* a word that only holds one of those is not a label file's name: the
   * advice to name the sequence stays (review: "brain_masked" is an image) */
  for (int k = 0; k < 2; k++)
    {
      static const char *const names[] = { "/d/brain_masked.nii.gz", "/d/unlabelled_scan.nii.gz" };

      g_free (one->path);
      one->path = g_strdup (names[k]);
      prepared = bs_preprocess_prepare (one, four, 4, NULL, &error);
      g_assert_null (prepared);
      g_assert_nonnull (strstr (error->message, "_flair"));
      g_assert_null (strstr (error->message, "labels"));
      g_clear_error (&error);
    }

  /* a model with one input takes it as before */
  prepared = bs_preprocess_prepare (one, four, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (prepared);
}

/* prepare_take gives what prepare gives: in place (the very image back) when
 * the channels are the ones wanted in their order, a new volume otherwise; a
 * failure frees the image and names it. */
static void
test_prepare_take (void)
{
  static const char *const both[] = { "FLAIR", "T1gd", NULL };
  static const char *const swapped[] = { "T1gd", "FLAIR", NULL };
  static const char *const four[] = { "FLAIR", "T1w", "T1gd", "T2w", NULL };
  static const char *const dwi[] = { "DWI", NULL };
  const char *const *orders[] = { both, swapped, four };
  const int counts[] = { 2, 2, 4 };
  g_autoptr(GError) error = NULL;

  for (guint t = 0; t < G_N_ELEMENTS (orders); t++)
    {
      g_autoptr(BsVolume) raw = raw_volume ();
      g_autoptr(BsVolume) expect = NULL;
      BsVolume *image, *taken;
      guint32 p_expect = 0, p_taken = 0;

      g_free (raw->channel_names[0]);
      g_free (raw->channel_names[1]);
      raw->channel_names[0] = g_strdup ("flair");
      raw->channel_names[1] = g_strdup ("t1ce");
      expect = bs_preprocess_prepare (raw, orders[t], counts[t], &p_expect, &error);
      g_assert_no_error (error);
      image = bs_volume_copy (raw);
      taken = bs_preprocess_prepare_take (image, orders[t], counts[t], &p_taken, &error);
      g_assert_no_error (error);
      /* only the first order is the image's own */
      if (t == 0)
        g_assert_true (taken == image);
      else
        g_assert_true (taken != image);
      g_assert_cmpuint (p_taken, ==, p_expect);
      g_assert_cmpint (taken->n_channels, ==, expect->n_channels);
      for (int c = 0; c < counts[t]; c++)
        g_assert_cmpstr (taken->channel_names[c], ==, expect->channel_names[c]);
      g_assert_cmpmem (taken->data, bs_volume_n_voxels (raw) * counts[t] * sizeof (float), expect->data,
                       bs_volume_n_voxels (raw) * counts[t] * sizeof (float));
      bs_volume_free (taken);
    }
  {
    BsVolume *image = raw_volume ();

    image->path = g_strdup ("dwi-less.nii.gz");
    g_assert_null (bs_preprocess_prepare_take (image, dwi, 1, NULL, &error));
    g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "dwi-less.nii.gz"));
  }
}

static void
test_foreground_without_constant_background (void)
{
  /* Not skull-stripped: noisy dark air around a bright head. */
  g_autoptr(BsVolume) vol = bs_volume_new (NX, NY, NZ, 1);
  GRand *rand = g_rand_new_with_seed (3);
  for (int k = 0; k < NZ; k++)
    for (int j = 0; j < NY; j++)
      for (int i = 0; i < NX; i++)
        vol->data[((gsize) k * NY + j) * NX + i] =
          (float) (inside_brain (i, j, k) ? g_rand_double_range (rand, 500, 700) : g_rand_double_range (rand, 0, 30));
  g_rand_free (rand);
  g_autoptr(BsVolume) mask = bs_preprocess_foreground (vol, 0);
  for (int k = 0; k < NZ; k++)
    for (int j = 0; j < NY; j++)
      for (int i = 0; i < NX; i++)
        g_assert_cmpfloat (mask->data[((gsize) k * NY + j) * NX + i], ==, inside_brain (i, j, k) ? 1.0f : 0.0f);
}

/* The reference: background (0) voxels reached from the slice border
 * through 4-connected background, one pixel at a time (a queue). */
static void
reference_foreground (const float *v, int w, int h, float *out)
{
  g_autofree int *queue = g_new (int, (gsize) w * h);
  g_autofree guint8 *seen = g_new0 (guint8, (gsize) w * h);
  gsize head = 0, tail = 0;

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      if ((x == 0 || y == 0 || x == w - 1 || y == h - 1) && v[y * w + x] == 0.0f)
        seen[y * w + x] = 1, queue[tail++] = y * w + x;
  while (head < tail)
    {
      int i = queue[head++], x = i % w, y = i / w;
      const int dx[4] = { -1, 1, 0, 0 }, dy[4] = { 0, 0, -1, 1 };
      for (int d = 0; d < 4; d++)
        {
          int nx = x + dx[d], ny = y + dy[d];
          if (nx < 0 || ny < 0 || nx >= w || ny >= h || seen[ny * w + nx] || v[ny * w + nx] != 0.0f)
            continue;
          seen[ny * w + nx] = 1;
          queue[tail++] = ny * w + nx;
        }
    }
  for (gsize i = 0; i < (gsize) w * h; i++)
    out[i] = seen[i] ? 0.0f : 1.0f;
}

/* bs_preprocess_foreground of vol against the reference, slice by slice;
 * at least min_holes enclosed zeros filled, and open background left. */
static void
check_fill (const BsVolume *vol, gsize min_holes)
{
  int w = vol->dims[0], h = vol->dims[1], nz = vol->dims[2];
  g_autoptr(BsVolume) mask = bs_preprocess_foreground (vol, 0);
  g_autofree float *want = g_new (float, (gsize) w * h);
  gsize brain = 0, holes = 0;

  for (int k = 0; k < nz; k++)
    {
      const float *v = vol->data + (gsize) k * w * h;
      reference_foreground (v, w, h, want);
      for (int i = 0; i < w * h; i++)
        {
          g_assert_cmpfloat (mask->data[(gsize) k * w * h + i], ==, want[i]);
          brain += want[i] > 0.0f;
          holes += want[i] > 0.0f && v[i] == 0.0f;
        }
    }
  g_test_message ("%" G_GSIZE_FORMAT " brain voxels, %" G_GSIZE_FORMAT " of them filled holes", brain, holes);
  /* The speckle is varied enough to test something: filled holes and open background both. */
  g_assert_cmpuint (holes, >, min_holes);
  g_assert_cmpuint (brain, <, (gsize) w * h * nz - 1000);
}

static void
test_foreground_fill_random (void)
{
  /* Random speckle of brain values on a zero background with a zero border
   * (so that the border constant is the background): enclosed zeros of every
   * shape, spirals of runs included, must count as brain exactly where a
   * plain flood from the border does not reach them. */
  const int w = 61, h = 47, nz = 24;
  g_autoptr(BsVolume) vol = bs_volume_new (w, h, nz, 1);
  GRand *rand = g_rand_new_with_seed (11);

  for (int k = 0; k < nz; k++)
    {
      double density = 0.2 + 0.6 * k / (nz - 1);
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          {
            gboolean edge = x == 0 || y == 0 || x == w - 1 || y == h - 1;
            vol->data[((gsize) k * h + y) * w + x] = !edge && g_rand_double (rand) < density ? 5.0f : 0.0f;
          }
    }
  g_rand_free (rand);
  check_fill (vol, 1000);
}

/* The same with the speckle in a random box of each slice, touching the
 * slice's edge in some (the fill runs on the box grown by a pixel), and
 * slices with no brain at all. */
static void
test_foreground_fill_boxes (void)
{
  const int w = 64, h = 50, nz = 40;
  g_autoptr(BsVolume) vol = bs_volume_new (w, h, nz, 1);
  GRand *rand = g_rand_new_with_seed (12);

  for (int k = 0; k < nz; k++)
    {
      int x0 = g_rand_int_range (rand, 0, w / 2), y0 = g_rand_int_range (rand, 0, h / 2);
      int x1 = g_rand_int_range (rand, x0, w), y1 = g_rand_int_range (rand, y0, h);

      if (k % 5 == 4)
        continue;   /* no brain */
      if (k % 3 != 0)
        {
          /* off the slice's edge: the box starts past the border */
          x0 = MAX (x0, 1);
          y0 = MAX (y0, 1);
          x1 = MIN (x1, w - 2);
          y1 = MIN (y1, h - 2);
        }
      for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
          vol->data[((gsize) k * h + y) * w + x] = g_rand_double (rand) < 0.55 ? 3.0f : 0.0f;
    }
  g_rand_free (rand);
  check_fill (vol, 100);
}

static void
test_round16 (void)
{
  g_assert_cmpint (bs_preprocess_round16 (240), ==, 240);
  g_assert_cmpint (bs_preprocess_round16 (155), ==, 160);
  g_assert_cmpint (bs_preprocess_round16 (1), ==, 16);
  g_assert_cmpint (bs_preprocess_round16 (129), ==, 144);
}

static void
test_crop_or_pad (void)
{
  const float in[3 * 2] = { 1, 2, 3, 4, 5, 6 }; /* 3 wide, 2 high */
  float padded[6 * 4], back[3 * 2];
  const float want[6 * 4] = {
    0, 0, 0, 0, 0, 0,
    0, 1, 2, 3, 0, 0,
    0, 4, 5, 6, 0, 0,
    0, 0, 0, 0, 0, 0,
  };

  bs_preprocess_crop_or_pad (in, 3, 2, padded, 6, 4);
  g_assert_cmpmem (padded, sizeof padded, want, sizeof want);
  bs_preprocess_crop_or_pad (padded, 6, 4, back, 3, 2);
  g_assert_cmpmem (back, sizeof back, in, sizeof in);

  /* odd differences both ways, and a mixed crop in x / pad in y */
  for (int w = 5; w <= 9; w++)
    for (int h = 3; h <= 7; h++)
      {
        g_autofree float *src = g_new (float, 7 * 5);
        g_autofree float *mid = g_new (float, w * h);
        g_autofree float *out = g_new (float, 7 * 5);
        for (int i = 0; i < 35; i++)
          src[i] = (float) (i + 1);
        bs_preprocess_crop_or_pad (src, 7, 5, mid, w, h);
        bs_preprocess_crop_or_pad (mid, w, h, out, 7, 5);
        /* What survived the round trip is unchanged; what was cropped is 0. */
        int kept = 0;
        for (int i = 0; i < 35; i++)
          {
            g_assert_true (out[i] == src[i] || out[i] == 0.0f);
            kept += out[i] == src[i];
          }
        g_assert_cmpint (kept, ==, MIN (w, 7) * MIN (h, 5));
      }
}

static void
test_labels (void)
{
  g_autoptr(BsVolume) lab = bs_volume_new (4, 2, 1, 1);
  const float v2017[8] = { 0, 0, 1, 2, 4, 4, 0, 2 };
  g_autofree int *values = NULL;
  g_autofree guint64 *counts = NULL;

  memcpy (lab->data, v2017, sizeof v2017);
  g_assert_cmpint (bs_labels_guess (lab), ==, BS_LABELS_BRATS2017);
  int n = bs_labels_count (lab, &values, &counts);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpint (values[3], ==, 4);
  g_assert_cmpuint (counts[0], ==, 3);
  g_assert_cmpuint (counts[3], ==, 2);
  g_autoptr(BsVolume) wt = bs_labels_whole_tumour (lab);
  for (int i = 0; i < 8; i++)
    g_assert_cmpfloat (wt->data[i], ==, v2017[i] > 0 ? 1.0f : 0.0f);

  lab->data[0] = 3;
  g_assert_cmpint (bs_labels_guess (lab), ==, BS_LABELS_BRATS2015);
  for (int i = 0; i < 8; i++)
    lab->data[i] = (float) (i % 2);
  g_assert_cmpint (bs_labels_guess (lab), ==, BS_LABELS_BINARY);
  lab->data[1] = 3;
  g_assert_cmpint (bs_labels_guess (lab), ==, BS_LABELS_UNKNOWN);

  g_assert_cmpstr (bs_labels_value_name (BS_LABELS_DECATHLON, 1), ==, "edema");
  g_assert_cmpstr (bs_labels_value_name (BS_LABELS_BRATS2015, 1), ==, "necrosis");
  g_assert_cmpstr (bs_labels_value_name (BS_LABELS_BRATS2017, 4), ==, "enhancing tumour");
  g_assert_cmpstr (bs_labels_value_name (BS_LABELS_BRATS2023, 3), ==, "enhancing tumour");
  g_assert_null (bs_labels_value_name (BS_LABELS_BRATS2017, 3));
  g_assert_cmpstr (bs_labels_convention_name (BS_LABELS_BRATS2023), ==, "brats2023");

  /* Values that are no class of the convention are refused by name and
   * value (helper finding: a 7 among BraTS 2017 labels gave an empty ET). */
  {
    const struct {
      BsLabelConvention conv;
      float value;
      gboolean ok;
    } cases[] = {
      { BS_LABELS_BRATS2017, 4, TRUE }, { BS_LABELS_BRATS2017, 3, FALSE }, { BS_LABELS_BRATS2017, 7, FALSE },
      { BS_LABELS_BRATS2015, 3, TRUE }, { BS_LABELS_DECATHLON, 3, TRUE }, { BS_LABELS_DECATHLON, 4, FALSE },
      { BS_LABELS_BRATS2023, 3, TRUE }, { BS_LABELS_BINARY, 2, FALSE }, { BS_LABELS_UNKNOWN, 7, TRUE },
      { BS_LABELS_UNKNOWN, 0.5f, FALSE }, { BS_LABELS_BRATS2017, 1e30f, FALSE }, { BS_LABELS_UNKNOWN, 100000, FALSE },
    };

    /* classes of every convention but binary's (made 0/1 below) */
    const float base[8] = { 0, 0, 1, 2, 1, 1, 0, 2 };

    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr(GError) error = NULL;

        memcpy (lab->data, base, sizeof base);
        if (cases[i].conv == BS_LABELS_BINARY)
          for (int k = 0; k < 8; k++)
            lab->data[k] = lab->data[k] > 0;
        lab->data[5] = cases[i].value;
        g_assert_cmpint (bs_labels_check_values (lab, cases[i].conv, "seg.nii.gz", NULL, &error), ==, cases[i].ok);
        if (cases[i].ok)
          g_assert_no_error (error);
        else
          {
            g_autofree char *v = g_strdup_printf ("%g", cases[i].value);

            g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
            g_assert_nonnull (strstr (error->message, "seg.nii.gz"));
            g_assert_nonnull (strstr (error->message, v));
          }
      }
  }
}

/* bs_span_nonzero against a byte-by-byte search: rows of every length up
 * to 40 (across the eight-byte steps), empty, full and with random bytes
 * set, the flags 0/1 or any value. */
static void
test_span_random (void)
{
  GRand *rng = g_rand_new_with_seed (4711);
  guint8 row[40];

  for (int trial = 0; trial < 20000; trial++)
    {
      int n = g_rand_int_range (rng, 0, 41), set = g_rand_int_range (rng, 0, 4), first = -1, last = -1, f = -7, l = -7;
      gboolean any;

      memset (row, 0, sizeof row);
      if (set == 3)
        memset (row, 1, n);
      else
        for (int i = 0; i < set && n > 0; i++)
          row[g_rand_int_range (rng, 0, n)] = (guint8) g_rand_int_range (rng, 1, 256);
      /* bytes beyond n are never read as part of the row */
      memset (row + n, 9, sizeof row - n);
      for (int i = 0; i < n; i++)
        if (row[i])
          {
            first = first < 0 ? i : first;
            last = i;
          }
      any = bs_span_nonzero (row, n, &f, &l);
      g_assert_cmpint (any, ==, first >= 0);
      if (any)
        {
          g_assert_cmpint (f, ==, first);
          g_assert_cmpint (l, ==, last);
        }
      else
        g_assert_cmpint (f, ==, -7);   /* untouched */
    }
  g_rand_free (rng);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/preprocess/same-picture", test_same_picture);
  g_test_add_func ("/preprocess/saturated-voxels", test_saturated_voxels);
  g_test_add_func ("/preprocess/wild-voxel", test_wild_voxel);
  g_test_add_func ("/preprocess/prepare", test_prepare);
  g_test_add_func ("/preprocess/prepare-take", test_prepare_take);
  g_test_add_func ("/preprocess/prepare-unnamed-file", test_prepare_unnamed_file);
  g_test_add_func ("/preprocess/foreground-noisy-background", test_foreground_without_constant_background);
  g_test_add_func ("/preprocess/foreground-fill-random", test_foreground_fill_random);
  g_test_add_func ("/preprocess/foreground-fill-boxes", test_foreground_fill_boxes);
  g_test_add_func ("/preprocess/span-random", test_span_random);
  g_test_add_func ("/preprocess/round16", test_round16);
  g_test_add_func ("/preprocess/crop-or-pad", test_crop_or_pad);
  g_test_add_func ("/preprocess/labels", test_labels);
  return g_test_run ();
}
