#include "bs-preprocess.h"

#include <float.h>

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "bs-error.h"
#include "bs-parallel.h"
#include "bs-span.h"

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
  guint8 *dst;
  int w, h;
  gboolean constant_bg;
  float bg;
  float threshold;
  int *box;   /* per slice: x0, x1, y0, y1 of its foreground (x0 > x1: none) */
} MaskJob;

/* Background-valued voxels enclosed by brain in their slice are brain that
 * happens to have the background's value (raw data has zeros inside the
 * brain too): keep only the background reachable from the slice border
 * (4-connected).  A scanline fill: each seed is widened to its whole run of
 * background in the row, and the rows above and below seed one pixel per
 * run they touch, so most of a slice (air) costs one pass of writes. */
#define FILL_REACHED 2

static void
fill_seed (guint8 *m, int stride, int x, int y, int *stack, gsize *top)
{
  guint8 *row = m + (gsize) y * stride;

  if (row[x] != 0)
    return;
  row[x] = FILL_REACHED;
  stack[(*top)++] = y * stride + x;
}

/* The fill of the w x h rectangle of rows stride apart at m. */
static void
fill_holes (guint8 *m, int stride, int w, int h, int *stack)
{
  gsize top = 0;

  /* 0: background candidate, 1: brain, 2: background reached from the border */
  for (int x = 0; x < w; x++)
    {
      fill_seed (m, stride, x, 0, stack, &top);
      fill_seed (m, stride, x, h - 1, stack, &top);
    }
  for (int y = 0; y < h; y++)
    {
      fill_seed (m, stride, 0, y, stack, &top);
      fill_seed (m, stride, w - 1, y, stack, &top);
    }
  while (top > 0)
    {
      int i = stack[--top], x = i % stride, y = i / stride, a = x, b = x;
      guint8 *row = m + (gsize) y * stride;

      while (a > 0 && row[a - 1] == 0)
        row[--a] = FILL_REACHED;
      while (b < w - 1 && row[b + 1] == 0)
        row[++b] = FILL_REACHED;
      /* The run [a, b] is reached; seed each run it touches above and below once
       * (a pixel right of brain, or at a; one right of a reached pixel will be
       * reached when that pixel widens). */
      for (int dy = -1; dy <= 1; dy += 2)
        {
          int ny = y + dy;
          const guint8 *other;

          if (ny < 0 || ny >= h)
            continue;
          other = m + (gsize) ny * stride;
          for (int nx = a; nx <= b; nx++)
            if (other[nx] == 0 && (nx == a || other[nx - 1] == 1))
              fill_seed (m, stride, nx, ny, stack, &top);
        }
    }
  for (int y = 0; y < h; y++)
    {
      guint8 *row = m + (gsize) y * stride;

      for (int x = 0; x < w; x++)
        row[x] = row[x] != FILL_REACHED;
    }
}

static void
mask_slice (int k, gpointer user_data)
{
  MaskJob *job = user_data;
  int w = job->w, h = job->h, x0 = w, x1 = -1, y0 = h, y1 = -1;
  int *box = job->box + 4 * (gsize) k;
  gsize plane = (gsize) w * h;
  const float *s = job->src + k * plane;
  guint8 *d = job->dst + k * plane;
  const float bg = job->bg, threshold = job->threshold;
  const gboolean constant_bg = job->constant_bg;

  for (int y = 0; y < h; y++)
    {
      const float *restrict sr = s + (gsize) y * w;
      guint8 *restrict dr = d + (gsize) y * w;
      int first, last;

      /* Two loops the compiler vectorises (locals: the byte stores could
       * alias the job); the span is found after. */
      if (constant_bg)
        for (int x = 0; x < w; x++)
          dr[x] = sr[x] != bg;
      else
        for (int x = 0; x < w; x++)
          dr[x] = sr[x] > threshold;
      if (!bs_span_nonzero (dr, w, &first, &last))
        continue;
      x0 = MIN (x0, first);
      x1 = MAX (x1, last);
      y0 = MIN (y0, y);
      y1 = y;
    }
  /* The box of the foreground: holes filled below lie inside it, and the
   * normalisation reads only it. */
  box[0] = x0;
  box[1] = x1;
  box[2] = y0;
  box[3] = y1;
  if (x1 < 0 || !job->constant_bg)
    return;   /* all background, or no holes to fill */
  /* Outside the box of the brain everything is background with a straight
   * path to the border, and the box grown by a pixel has background (or the
   * border) all round: filling that rectangle alone gives the same mask. */
  x0 = MAX (x0 - 1, 0);
  y0 = MAX (y0 - 1, 0);
  x1 = MIN (x1 + 1, w - 1);
  y1 = MIN (y1 + 1, h - 1);
  {
    g_autofree int *stack = g_new (int, (gsize) w * h);

    fill_holes (d + (gsize) y0 * w + x0, w, x1 - x0 + 1, y1 - y0 + 1, stack);
  }
}

/* The foreground of one channel as bytes (1 brain, 0 background): a quarter
 * of a float mask's memory, which the normalisation reads four times. */
static guint8 *
foreground_bytes (const float *src, const int *dims, int *box)
{
  gsize n = (gsize) dims[0] * dims[1] * dims[2];
  guint8 *mask = g_try_malloc (MAX (n, 1));
  MaskJob job = { src, mask, dims[0], dims[1], FALSE, 0.0f, 0.0f, box };

  if (mask == NULL)
    return NULL;
  job.constant_bg = border_background (src, dims, &job.bg);
  if (!job.constant_bg)
    {
      /* Not skull-stripped: the head is brighter than the air around it, and
       * the mean sits between the two. */
      double sum = 0.0;
      for (gsize i = 0; i < n; i++)
        sum += src[i];
      job.threshold = (float) (sum / (double) n);
    }
  bs_parallel_for (dims[2], mask_slice, &job);
  return mask;
}

BsVolume *
bs_preprocess_foreground (const BsVolume *image, int c)
{
  g_return_val_if_fail (c >= 0 && c < image->n_channels, NULL);

  BsVolume *mask = bs_volume_new_like (image, 1);
  g_autofree guint8 *bytes = NULL;
  g_autofree int *box = g_new (int, 4 * (gsize) MAX (image->dims[2], 1));
  gsize n = bs_volume_n_voxels (image);

  if (mask == NULL)
    return NULL;
  bytes = foreground_bytes (bs_volume_channel (image, c), image->dims, box);
  if (bytes == NULL)
    {
      bs_volume_free (mask);
      return NULL;
    }
  for (gsize i = 0; i < n; i++)
    mask->data[i] = bytes[i];
  g_free (mask->channel_names[0]);
  mask->channel_names[0] = g_strdup ("foreground");
  mask->is_label = TRUE;
  return mask;
}

/* The mean and deviation come from the foreground clipped to its 0.5 and
 * 99.5 percentiles, so that a few saturated voxels (some scanners write
 * 32767 into every modality) cannot inflate the deviation and squash the
 * brain into a narrow band.  The values themselves are clipped only to the
 * 0.02 and 99.98 percentiles: an isolated saturated voxel does not become an
 * extreme input, while the bright tail of a tumour (often the top percent of
 * a FLAIR) keeps its contrast.  Data that is already z-scored hardly moves. */
#define BS_STATS_LOW 0.005
#define BS_CLIP_LOW 0.0002
#define BS_CLIP_BINS 65536

typedef struct {
  const float *src;          /* the channel's values */
  float *data;               /* where the normalised values go (may be src) */
  const guint8 *mask;
  const int *box;            /* per slice: x0, x1, y0, y1 of the mask (x0 > x1: empty) */
  int w;
  gsize plane;
  double *sum, *sum2;
  gsize *count;
  float *min, *max;
  float lo, hi;              /* values are clipped to these */
  float stat_lo, stat_hi;    /* the mean and deviation come from values clipped to these */
  double mean, inv_std;
} NormJob;

static void
norm_range (int k, gpointer user_data)
{
  NormJob *job = user_data;
  const int *b = job->box + 4 * (gsize) k;
  float lo = INFINITY, hi = -INFINITY;
  gsize n = 0;

  for (int y = b[2]; y <= b[3]; y++)
    {
      const float *p = job->src + k * job->plane + (gsize) y * job->w;
      const guint8 *m = job->mask + k * job->plane + (gsize) y * job->w;

      for (int x = b[0]; x <= b[1]; x++)
        if (m[x])
          {
            lo = MIN (lo, p[x]);
            hi = MAX (hi, p[x]);
            n++;
          }
    }
  job->count[k] = n;
  job->min[k] = lo;
  job->max[k] = hi;
}

/* The value below which a share q of the n counted voxels lies, from a
 * histogram of BS_CLIP_BINS bins from lo up to top, below of the voxels
 * lying under lo.  The top edge is top itself: lo + BS_CLIP_BINS * width is
 * top only while lo is not far larger (-1e20 + 1e20 + 900 is 0). */
static float
hist_quantile (const guint32 *hist, gsize n, gsize below, double q, float lo, float top, double width,
               gboolean upper)
{
  gsize want = upper ? (gsize) ceil (q * n) : (gsize) (q * n), cum = below;

  if (upper ? cum >= want : cum > want)
    return lo;
  for (int b = 0; b < BS_CLIP_BINS; b++)
    {
      cum += hist[b];
      if (upper ? cum >= want : cum > want)
        return upper && b == BS_CLIP_BINS - 1 ? top : (float) (lo + (b + (upper ? 1 : 0)) * width);
    }
  return top;
}

#define HIST_PARTS 8

typedef struct {
  const NormJob *job;
  float lo;
  double width;
  int nz;
  int n_parts;
  guint32 *hist;   /* n_parts histograms */
  gsize *below;    /* per part: voxels under lo */
} HistJob;

static void
hist_part (int q, gpointer user_data)
{
  HistJob *hj = user_data;
  const NormJob *job = hj->job;
  guint32 *hist = hj->hist + (gsize) q * BS_CLIP_BINS;
  gsize below = 0;

  for (int k = hj->nz * q / hj->n_parts; k < hj->nz * (q + 1) / hj->n_parts; k++)
    {
      const int *b = job->box + 4 * (gsize) k;

      for (int y = b[2]; y <= b[3]; y++)
        {
          const float *p = job->src + k * job->plane + (gsize) y * job->w;
          const guint8 *m = job->mask + k * job->plane + (gsize) y * job->w;

          for (int x = b[0]; x <= b[1]; x++)
            if (m[x])
              {
                if (p[x] < hj->lo)
                  below++;
                else
                  hist[MIN ((gsize) ((p[x] - hj->lo) / hj->width), (gsize) BS_CLIP_BINS - 1)]++;
              }
        }
    }
  hj->below[q] = below;
}

/* The foreground's histogram from lo in bins of width (the last bin takes
 * everything above), in parts side by side, summed: the same counts. */
static guint32 *
norm_histogram (const NormJob *job, int nz, float lo, double width, gsize *below)
{
  HistJob hj = { job, lo, width, nz, CLAMP ((int) ((gsize) nz * job->plane / (1 << 20)), 1, MIN (HIST_PARTS, nz)),
                 NULL, NULL };
  gsize parts_below[HIST_PARTS] = { 0 };

  hj.hist = g_new0 (guint32, (gsize) hj.n_parts * BS_CLIP_BINS);
  hj.below = parts_below;
  bs_parallel_for (hj.n_parts, hist_part, &hj);
  *below = 0;
  for (int q = 0; q < hj.n_parts; q++)
    *below += parts_below[q];
  for (int q = 1; q < hj.n_parts; q++)
    for (int b = 0; b < BS_CLIP_BINS; b++)
      hj.hist[b] += hj.hist[(gsize) q * BS_CLIP_BINS + b];
  return hj.hist;
}

/* The bounds from a histogram of the foreground: exact to a 65536th of the
 * range between the smallest and the largest value.  One wild voxel (1e20 in
 * a FLAIR, or a header scale that makes one) would put the whole brain in the
 * first bin of that range, and every bound with it (helper finding: an empty
 * mask, no warning): while the 0.5 to 99.5 percentile span covers fewer than
 * BS_CLIP_REFINE_BINS bins, the histogram is made again over the bins that
 * hold the bounds.  Ordinary cases never refine and get the same bounds. */
#define BS_CLIP_REFINE_BINS 64
#define BS_CLIP_REFINE_ROUNDS 8

static void
norm_percentiles (NormJob *job, int nz, gsize n)
{
  float lo = INFINITY, hi = -INFINITY;
  double width;

  for (int k = 0; k < nz; k++)
    {
      lo = MIN (lo, job->min[k]);
      hi = MAX (hi, job->max[k]);
    }
  job->lo = job->stat_lo = lo;
  job->hi = job->stat_hi = hi;
  if (n == 0 || !(hi > lo))
    return;
  width = ((double) hi - lo) / BS_CLIP_BINS;
  for (int round = 0; round <= BS_CLIP_REFINE_ROUNDS; round++)
    {
      gsize below = 0;
      g_autofree guint32 *hist = norm_histogram (job, nz, lo, width, &below);

      job->stat_lo = hist_quantile (hist, n, below, BS_STATS_LOW, lo, hi, width, FALSE);
      job->stat_hi = hist_quantile (hist, n, below, 1.0 - BS_STATS_LOW, lo, hi, width, TRUE);
      job->lo = hist_quantile (hist, n, below, BS_CLIP_LOW, lo, hi, width, FALSE);
      job->hi = hist_quantile (hist, n, below, 1.0 - BS_CLIP_LOW, lo, hi, width, TRUE);
      if ((double) job->stat_hi - job->stat_lo >= BS_CLIP_REFINE_BINS * width)
        break;
      /* the bins from the lowest bound's to the highest's, in finer bins */
      lo = job->lo;
      hi = job->hi;
      width = MAX ((double) hi - lo, width / BS_CLIP_BINS) / BS_CLIP_BINS;
      if (!(width > 0.0) || (float) (lo + width) == lo)
        break;   /* as fine as floats go */
    }
}

static void
norm_stats (int k, gpointer user_data)
{
  NormJob *job = user_data;
  const int *b = job->box + 4 * (gsize) k;
  double s = 0.0, s2 = 0.0;
  gsize n = 0;

  for (int y = b[2]; y <= b[3]; y++)
    {
      const float *p = job->src + k * job->plane + (gsize) y * job->w;
      const guint8 *m = job->mask + k * job->plane + (gsize) y * job->w;

      for (int x = b[0]; x <= b[1]; x++)
        if (m[x])
          {
            double v = CLAMP (p[x], job->stat_lo, job->stat_hi);
            s += v;
            s2 += v * v;
            n++;
          }
    }
  job->sum[k] = s;
  job->sum2[k] = s2;
  job->count[k] = n;
}

static void
norm_apply (int k, gpointer user_data)
{
  NormJob *job = user_data;
  const int *b = job->box + 4 * (gsize) k;
  float *out = job->data + k * job->plane;
  int w = job->w, h = (int) (job->plane / (gsize) job->w);

  /* Background is exactly 0 and the foreground never is (a voxel right at the
   * mean gets the smallest normal float instead): inference reads "every
   * channel 0" as outside the head (bs_infer_window_to_slice).  Outside the
   * mask's box all is background. */
  if (b[0] > b[1])
    {
      memset (out, 0, job->plane * sizeof (float));
      return;
    }
  memset (out, 0, (gsize) b[2] * w * sizeof (float));
  memset (out + (gsize) (b[3] + 1) * w, 0, (gsize) (h - b[3] - 1) * w * sizeof (float));
  for (int y = b[2]; y <= b[3]; y++)
    {
      const float *p = job->src + k * job->plane + (gsize) y * w;
      const guint8 *m = job->mask + k * job->plane + (gsize) y * w;
      float *o = out + (gsize) y * w;

      for (int x = b[0]; x <= b[1]; x++)
        {
          float z = m[x] ? (float) ((CLAMP (p[x], job->lo, job->hi) - job->mean) * job->inv_std) : 0.0f;
          o[x] = m[x] && z == 0.0f ? FLT_MIN : z;
        }
      memset (o, 0, (gsize) b[0] * sizeof (float));
      memset (o + b[1] + 1, 0, (gsize) (w - b[1] - 1) * sizeof (float));
    }
}

/* Channel c of image, normalised into dst (which may be the channel itself). */
static void
normalize_channel_into (const BsVolume *image, int c, float *dst)
{
  int nz = image->dims[2];
  g_autofree int *box = g_new (int, 4 * (gsize) MAX (nz, 1));
  g_autofree guint8 *mask = foreground_bytes (bs_volume_channel (image, c), image->dims, box);
  double s = 0.0, s2 = 0.0, var;
  gsize n = 0;

  if (mask == NULL)
    {
      if (dst != bs_volume_channel (image, c))
        memcpy (dst, bs_volume_channel (image, c), bs_volume_n_voxels (image) * sizeof (float));
      return;
    }
  NormJob job = { bs_volume_channel (image, c), dst, mask, box, image->dims[0], (gsize) image->dims[0] * image->dims[1] };
  job.sum = g_new0 (double, nz);
  job.sum2 = g_new0 (double, nz);
  job.count = g_new0 (gsize, nz);
  job.min = g_new (float, nz);
  job.max = g_new (float, nz);
  bs_parallel_for (nz, norm_range, &job);
  for (int k = 0; k < nz; k++)
    n += job.count[k];
  norm_percentiles (&job, nz, n);
  bs_parallel_for (nz, norm_stats, &job);
  for (int k = 0; k < nz; k++)
    {
      s += job.sum[k];
      s2 += job.sum2[k];
    }
  job.mean = n ? s / (double) n : 0.0;
  var = n ? s2 / (double) n - job.mean * job.mean : 0.0;
  /* A flat foreground has nothing to scale: centre it only. */
  job.inv_std = var > 1e-12 ? 1.0 / sqrt (var) : 1.0;
  bs_parallel_for (nz, norm_apply, &job);
  g_free (job.sum);
  g_free (job.sum2);
  g_free (job.count);
  g_free (job.min);
  g_free (job.max);
}

void
bs_preprocess_normalize (BsVolume *image)
{
  for (int c = 0; c < image->n_channels; c++)
    normalize_channel_into (image, c, bs_volume_channel (image, c));
}

int
bs_preprocess_find_modality (const BsVolume *image, const char *modality, int n_wanted)
{
  int c = bs_volume_find_channel (image, modality);

  /* A lone unnamed channel is what a single-modality file gives. */
  if (c < 0 && n_wanted == 1 && image->n_channels == 1
      && (!image->channel_names || !image->channel_names[0] || !image->channel_names[0][0]
          || g_str_has_prefix (image->channel_names[0], "channel")))
    c = 0;
  return c;
}

/* The modality asked for as input i (FLAIR when none is named). */
static const char *
wanted_modality (const char *const *modalities, int i)
{
  return modalities && modalities[i] ? modalities[i] : "FLAIR";
}

typedef struct {
  const BsVolume *image;
  BsVolume *out;
  int source[32];  /* the image's channel of each output channel, or -1 */
} PrepareJob;

static void
prepare_channel (int i, gpointer user_data)
{
  PrepareJob *job = user_data;

  if (job->source[i] < 0)
    return;
  normalize_channel_into (job->image, job->source[i], bs_volume_channel (job->out, i));
}

/* Whether a file's name says it is a label map: one of the parts of its
 * name (split at "_", "-", "." and spaces) is "seg", "label", "labels" or
 * "mask" ("BRATS_001_label.nii.gz", "Brats18_X_1_seg.nii.gz", "mask.nii"),
 * not a word that only holds one ("brain_masked", "unlabelled").  Opened
 * alone such a file has no sequence to find, and renaming it as one would be
 * the wrong advice (walk finding). */
static gboolean
name_says_labels (const char *path)
{
  static const char *const words[] = { "seg", "label", "labels", "mask", "labelmap", "segmentation" };
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *lower = g_ascii_strdown (base, -1);
  g_auto(GStrv) parts = g_regex_split_simple ("[-_. ]+", lower, 0, 0);

  for (int i = 0; parts != NULL && parts[i] != NULL; i++)
    for (guint w = 0; w < G_N_ELEMENTS (words); w++)
      if (strcmp (parts[i], words[w]) == 0)
        return TRUE;
  return FALSE;
}

BsVolume *
bs_preprocess_prepare (const BsVolume *image, const char *const *modalities, int n, guint32 *present,
                       GError **error)
{
  g_autoptr(BsVolume) out = NULL;
  guint32 found = 0;
  PrepareJob job;

  g_return_val_if_fail (n > 0 && n <= 32, NULL);
  /* every voxel is written below: a missing channel's zeros, the others' values */
  out = bs_volume_new_uninitialized_like (image, n);
  if (!out)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE, _("%s: the volume is too large to prepare"),
                   image->path ? image->path : _("image"));
      return NULL;
    }
  job = (PrepareJob) { image, out, { 0 } };
  for (int i = 0; i < n; i++)
    {
      const char *want = wanted_modality (modalities, i);

      job.source[i] = bs_preprocess_find_modality (image, want, n);
      g_free (out->channel_names[i]);
      out->channel_names[i] = g_strdup (want);
      /* A missing modality stays a channel of zeros: the value every brain
       * voxel of a present one has on average after normalisation. */
      if (job.source[i] >= 0)
        found |= 1u << i;
      else
        memset (bs_volume_channel (out, i), 0, bs_volume_n_voxels (out) * sizeof (float));
    }
  /* The channels are independent: they are normalised side by side (each
   * one's slices in parallel too). */
  bs_parallel_for (n, prepare_channel, &job);
  if (found == 0)
    {
      g_autoptr(GString) want = g_string_new (NULL);
      g_autofree char *have = image->channel_names ? g_strjoinv (", ", image->channel_names) : g_strdup ("-");
      for (int i = 0; i < n; i++)
        g_string_append_printf (want, "%s%s", i ? ", " : "", out->channel_names[i]);
      /* One file whose name says no sequence (walk finding: a FLAIR scan
       * saved as patient7.nii.gz was refused "(it has channel0)"). */
      if (image->n_channels == 1 && image->path != NULL && name_says_labels (image->path))
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s: its name says it holds labels (a segmentation), not an MRI sequence, and the model "
                         "takes %s. Open the case's folder, which holds the images and this label file"),
                       image->path, want->str);
          return NULL;
        }
      if (image->n_channels == 1 && bs_preprocess_find_modality (image, "FLAIR", 1) == 0)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       /* TRANSLATORS: the file, then the sequences the model takes; the name endings are literal */
                       _("%s: its name does not say which MRI sequence it holds, and the model takes %s. Name it "
                         "as BraTS does (…_flair.nii.gz, _t1, _t1ce or _t2) or open its case folder"),
                       image->path ? image->path : _("image"), want->str);
          return NULL;
        }
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                   n == 1 ? _("%s: the image has no %s channel (it has %s)")
                          : _("%s: the image has none of the modalities %s (it has %s)"),
                   image->path ? image->path : _("image"), want->str, have);
      return NULL;
    }
  g_free (out->path);
  out->path = g_strdup (image->path);
  if (present)
    *present = found;
  return g_steal_pointer (&out);
}

BsVolume *
bs_preprocess_prepare_take (BsVolume *image, const char *const *modalities, int n, guint32 *present,
                            GError **error)
{
  PrepareJob job;
  BsVolume *out;

  g_return_val_if_fail (image != NULL && n > 0 && n <= 32, NULL);
  job = (PrepareJob) { image, image, { 0 } };
  for (int i = 0; i < n && image->n_channels == n; i++)
    job.source[i] = bs_preprocess_find_modality (image, wanted_modality (modalities, i), n);
  for (int i = 0; i < n; i++)
    if (image->n_channels != n || job.source[i] != i)
      {
        out = bs_preprocess_prepare (image, modalities, n, present, error);
        bs_volume_free (image);
        return out;
      }
  /* Every channel is where the network wants it: each is normalised in
   * place (normalize_channel_into reads all of a channel it needs before it
   * writes), and the image's memory, already paged in, becomes the input. */
  bs_parallel_for (n, prepare_channel, &job);
  for (int i = 0; i < n; i++)
    {
      g_free (image->channel_names[i]);
      image->channel_names[i] = g_strdup (wanted_modality (modalities, i));
    }
  if (present)
    *present = n == 32 ? G_MAXUINT32 : (1u << n) - 1;
  return image;
}

int
bs_preprocess_round16 (int n)
{
  return n <= 0 ? 16 : (n + 15) / 16 * 16;
}

void
bs_preprocess_copy_window (const float *in, int w, int h, int x0, int y0, float *out, int out_w, int out_h)
{
  for (int y = 0; y < out_h; y++)
    {
      int sy = y + y0;
      float *o = out + (gsize) y * out_w;

      if (sy < 0 || sy >= h)
        {
          memset (o, 0, (gsize) out_w * sizeof (float));
          continue;
        }
      for (int x = 0; x < out_w; x++)
        {
          int sx = x + x0;
          o[x] = sx >= 0 && sx < w ? in[(gsize) sy * w + sx] : 0.0f;
        }
    }
}

void
bs_preprocess_crop_or_pad (const float *in, int w, int h, float *out, int out_w, int out_h)
{
  /* The same truncating offset in both directions makes pad-then-crop the
   * identity, which keeps predicted masks aligned with their slices. */
  bs_preprocess_copy_window (in, w, h, -((out_w - w) / 2), -((out_h - h) / 2), out, out_w, out_h);
}

void
bs_preprocess_flip_x (const float *src, float *dst, gsize n_maps, int h, int w)
{
  for (gsize row = 0; row < n_maps * (gsize) h; row++)
    {
      const float *in = src + row * w;
      float *out = dst + row * w;

      for (int x = 0; x < w; x++)
        out[x] = in[w - 1 - x];
    }
}
