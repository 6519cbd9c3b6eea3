#include "bs-preprocess.h"

#include <math.h>
#include <string.h>

#include "bs-parallel.h"

/* Skull-stripped data has a constant background: 0 in raw BraTS files, a
 * negative constant in the pre-normalised samples.  That constant is the most
 * common value on the faces of the volume, where no brain reaches. */
#define BS_BORDER_MAX_DISTINCT 64

typedef struct {
  float value[BS_BORDER_MAX_DISTINCT];
  gsize count[BS_BORDER_MAX_DISTINCT];
  int n_distinct;
  gsize n;
} BorderTally;

static void
tally_add (BorderTally *t, float v)
{
  int i;

  t->n++;
  for (i = 0; i < t->n_distinct; i++)
    if (t->value[i] == v)
      {
        t->count[i]++;
        return;
      }
  /* A noisy border has many values; it has no constant background anyway. */
  if (i < BS_BORDER_MAX_DISTINCT)
    {
      t->value[i] = v;
      t->count[i] = 1;
      t->n_distinct++;
    }
}

static gboolean
border_background (const float *p, const int *dims, float *bg)
{
  int nx = dims[0], ny = dims[1], nz = dims[2];
  BorderTally t = { { 0 }, { 0 }, 0, 0 };
  gsize best_count = 0;

  for (int k = 0; k < nz; k++)
    for (int j = 0; j < ny; j++)
      {
        const float *row = p + ((gsize) k * ny + j) * nx;
        if (k == 0 || k == nz - 1 || j == 0 || j == ny - 1)
          for (int i = 0; i < nx; i++)
            tally_add (&t, row[i]);
        else
          {
            tally_add (&t, row[0]);
            if (nx > 1)
              tally_add (&t, row[nx - 1]);
          }
      }
  *bg = 0.0f;
  for (int i = 0; i < t.n_distinct; i++)
    if (t.count[i] > best_count)
      {
        best_count = t.count[i];
        *bg = t.value[i];
      }
  return t.n > 0 && best_count * 2 > t.n;
}

typedef struct {
  const float *src;
  float *dst;
  const BsVolume *vol;
  gboolean constant_bg;
  float bg;
  float threshold;
} MaskJob;

/* Background-valued voxels enclosed by brain in their slice are brain that
 * happens to have the background's value (raw data has zeros inside the
 * brain too): keep only the background reachable from the slice border. */
static void
fill_holes (float *m, int w, int h)
{
  g_autofree int *stack = g_new (int, (gsize) w * h);
  gsize top = 0;

  /* 0: background candidate, 1: brain, 2: background reached from the border */
  for (int x = 0; x < w; x++)
    for (int e = 0; e < 2; e++)
      {
        int i = (e ? h - 1 : 0) * w + x;
        if (m[i] == 0.0f)
          m[i] = 2.0f, stack[top++] = i;
      }
  for (int y = 0; y < h; y++)
    for (int e = 0; e < 2; e++)
      {
        int i = y * w + (e ? w - 1 : 0);
        if (m[i] == 0.0f)
          m[i] = 2.0f, stack[top++] = i;
      }
  while (top > 0)
    {
      int i = stack[--top], x = i % w, y = i / w;
      int nb[4] = { x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1 };
      for (int k = 0; k < 4; k++)
        if (nb[k] >= 0 && m[nb[k]] == 0.0f)
          m[nb[k]] = 2.0f, stack[top++] = nb[k];
    }
  for (gsize i = 0; i < (gsize) w * h; i++)
    m[i] = m[i] == 2.0f ? 0.0f : 1.0f;
}

static void
mask_slice (int k, gpointer user_data)
{
  MaskJob *job = user_data;
  gsize plane = (gsize) job->vol->dims[0] * job->vol->dims[1];
  const float *s = job->src + k * plane;
  float *d = job->dst + k * plane;

  for (gsize i = 0; i < plane; i++)
    d[i] = job->constant_bg ? (s[i] != job->bg ? 1.0f : 0.0f) : (s[i] > job->threshold ? 1.0f : 0.0f);
  if (job->constant_bg)
    fill_holes (d, job->vol->dims[0], job->vol->dims[1]);
}

BsVolume *
bs_preprocess_foreground (const BsVolume *image, int c)
{
  g_return_val_if_fail (c >= 0 && c < image->n_channels, NULL);

  BsVolume *mask = bs_volume_new_like (image, 1);
  if (mask == NULL)
    return NULL;
  MaskJob job = { bs_volume_channel (image, c), mask->data, image, FALSE, 0.0f, 0.0f };
  job.constant_bg = border_background (job.src, image->dims, &job.bg);
  if (!job.constant_bg)
    {
      /* Not skull-stripped: the head is brighter than the air around it, and
       * the mean sits between the two. */
      double sum = 0.0;
      gsize n = bs_volume_n_voxels (image);
      for (gsize i = 0; i < n; i++)
        sum += job.src[i];
      job.threshold = (float) (sum / (double) n);
    }
  bs_parallel_for (image->dims[2], mask_slice, &job);
  g_free (mask->channel_names[0]);
  mask->channel_names[0] = g_strdup ("foreground");
  mask->is_label = TRUE;
  return mask;
}

typedef struct {
  float *data;
  const float *mask;
  gsize plane;
  double *sum, *sum2;
  gsize *count;
  double mean, inv_std;
} NormJob;

static void
norm_stats (int k, gpointer user_data)
{
  NormJob *job = user_data;
  const float *p = job->data + k * job->plane;
  const float *m = job->mask + k * job->plane;
  double s = 0.0, s2 = 0.0;
  gsize n = 0;

  for (gsize i = 0; i < job->plane; i++)
    if (m[i] > 0.0f)
      {
        s += p[i];
        s2 += (double) p[i] * p[i];
        n++;
      }
  job->sum[k] = s;
  job->sum2[k] = s2;
  job->count[k] = n;
}

static void
norm_apply (int k, gpointer user_data)
{
  NormJob *job = user_data;
  float *p = job->data + k * job->plane;
  const float *m = job->mask + k * job->plane;

  for (gsize i = 0; i < job->plane; i++)
    p[i] = m[i] > 0.0f ? (float) ((p[i] - job->mean) * job->inv_std) : 0.0f;
}

void
bs_preprocess_normalize (BsVolume *image)
{
  int nz = image->dims[2];

  for (int c = 0; c < image->n_channels; c++)
    {
      g_autoptr(BsVolume) mask = bs_preprocess_foreground (image, c);
      if (mask == NULL)
        return;
      NormJob job = { bs_volume_channel (image, c), mask->data, (gsize) image->dims[0] * image->dims[1] };
      job.sum = g_new0 (double, nz);
      job.sum2 = g_new0 (double, nz);
      job.count = g_new0 (gsize, nz);
      bs_parallel_for (nz, norm_stats, &job);
      double s = 0.0, s2 = 0.0;
      gsize n = 0;
      for (int k = 0; k < nz; k++)
        {
          s += job.sum[k];
          s2 += job.sum2[k];
          n += job.count[k];
        }
      job.mean = n ? s / (double) n : 0.0;
      double var = n ? s2 / (double) n - job.mean * job.mean : 0.0;
      /* A flat foreground has nothing to scale: centre it only. */
      job.inv_std = var > 1e-12 ? 1.0 / sqrt (var) : 1.0;
      bs_parallel_for (nz, norm_apply, &job);
      g_free (job.sum);
      g_free (job.sum2);
      g_free (job.count);
    }
}

int
bs_preprocess_round16 (int n)
{
  return n <= 0 ? 16 : (n + 15) / 16 * 16;
}

void
bs_preprocess_crop_or_pad (const float *in, int w, int h, float *out, int out_w, int out_h)
{
  /* The same truncating offset in both directions makes pad-then-crop the
   * identity, which keeps predicted masks aligned with their slices. */
  int ox = (out_w - w) / 2;
  int oy = (out_h - h) / 2;

  for (int y = 0; y < out_h; y++)
    {
      int sy = y - oy;
      float *o = out + (gsize) y * out_w;
      if (sy < 0 || sy >= h)
        {
          memset (o, 0, (gsize) out_w * sizeof (float));
          continue;
        }
      for (int x = 0; x < out_w; x++)
        {
          int sx = x - ox;
          o[x] = sx >= 0 && sx < w ? in[(gsize) sy * w + sx] : 0.0f;
        }
    }
}
