/* Whole-volume inference: displayed slices in, probability maps back out. */
#include <glib/gi18n.h>
#include <string.h>

#include "bs-error.h"
#include "bs-infer.h"
#include "bs-parallel.h"
#include "bs-preprocess.h"

BsVolume *
bs_infer_prepare (const BsUnet *net, const BsVolume *image, GError **error)
{
  /* A modality the case lacks is zeros, as the model saw in training (modality dropout). */
  return bs_preprocess_prepare (image, (const char *const *) net->config.modalities, net->config.in_channels,
                                NULL, error);
}

typedef struct {
  const BsVolume *head;  /* one channel: 1 where any channel of the prepared case is not 0 */
  BsPlane plane;
  int width, height;
  int *box;       /* per slice: x0, y0, x1, y1 (inclusive), x0 > x1 when empty */
} BoxJob;

typedef struct {
  const BsVolume *prepared;
  BsVolume *head;
  gsize n;
} HeadJob;

static void
head_range (int begin, int end, gpointer user_data)
{
  HeadJob *job = user_data;

  for (gsize v = (gsize) begin; v < (gsize) end; v++)
    {
      gboolean on = FALSE;

      for (int c = 0; c < job->prepared->n_channels && !on; c++)
        on = job->prepared->data[(gsize) c * job->n + v] != 0.0f;
      job->head->data[v] = on ? 1.0f : 0.0f;
    }
}

static void
slice_box (int k, gpointer user_data)
{
  BoxJob *job = user_data;
  int w = job->width, h = job->height;
  int *b = job->box + 4 * k;
  g_autofree float *buf = g_new (float, (gsize) w * h);

  b[0] = w;
  b[1] = h;
  b[2] = -1;
  b[3] = -1;
  /* one slice of the head mask instead of one per channel: the coronal and
   * sagittal slices are strided reads */
  bs_volume_get_slice (job->head, 0, job->plane, k, buf);
  for (int y = 0; y < h; y++)
    {
      const float *row = buf + (gsize) y * w;
      int first = -1, last = -1;

      for (int x = 0; x < w; x++)
        if (row[x] != 0.0f)
          {
            if (first < 0)
              first = x;
            last = x;
          }
      if (first < 0)
        continue;
      b[0] = MIN (b[0], first);
      b[2] = MAX (b[2], last);
      b[1] = MIN (b[1], y);
      b[3] = MAX (b[3], y);
    }
}

/* One axis of the window: [lo, hi) grown by the margin, clamped to the whole
 * padded frame [f0, f0 + full), start aligned to the frame's 16-pixel grid. */
static void
window_axis (int lo, int hi, int f0, int full, int *start, int *size)
{
  int a = MAX (lo - BS_INFER_CROP_MARGIN, f0);
  int b = MIN (hi + BS_INFER_CROP_MARGIN, f0 + full);

  a = f0 + (a - f0) / 16 * 16;
  *size = MIN (bs_preprocess_round16 (b - a), full);
  *start = MIN (a, f0 + full - *size);
}

BsInferGeometry *
bs_infer_geometry_new (const BsVolume *prepared, BsPlane plane, gboolean crop)
{
  BsInferGeometry *g = g_new0 (BsInferGeometry, 1);
  int bx0, by0, bx1, by1;

  g->plane = plane;
  g->n_slices = bs_volume_n_slices (prepared, plane);
  bs_volume_slice_size (prepared, plane, &g->width, &g->height);
  g->ph = bs_preprocess_round16 (g->height);
  g->pw = bs_preprocess_round16 (g->width);
  /* The same truncating offset as bs_preprocess_crop_or_pad. */
  g->x0 = -((g->pw - g->width) / 2);
  g->y0 = -((g->ph - g->height) / 2);
  g->brain = g_new (guint8, MAX (g->n_slices, 1));
  g->cropped = crop;
  if (!crop)
    {
      memset (g->brain, 1, g->n_slices);
      g->n_brain = g->n_slices;
      return g;
    }

  g_autofree int *box = g_new (int, 4 * (gsize) MAX (g->n_slices, 1));
  g_autoptr(BsVolume) head = bs_volume_new_like (prepared, 1);
  HeadJob hj = { prepared, head, bs_volume_n_voxels (prepared) };
  BoxJob job = { head, plane, g->width, g->height, box };

  bs_parallel_for_range ((int) hj.n, 1 << 16, head_range, &hj);
  bs_parallel_for (g->n_slices, slice_box, &job);
  bx0 = g->width;
  by0 = g->height;
  bx1 = by1 = -1;
  for (int k = 0; k < g->n_slices; k++)
    {
      const int *b = box + 4 * k;

      g->brain[k] = b[0] <= b[2];
      if (!g->brain[k])
        continue;
      g->n_brain++;
      bx0 = MIN (bx0, b[0]);
      by0 = MIN (by0, b[1]);
      bx1 = MAX (bx1, b[2]);
      by1 = MAX (by1, b[3]);
    }
  if (g->n_brain == 0)
    return g;   /* nothing runs; the whole frame keeps a plan buildable */
  window_axis (bx0, bx1 + 1, g->x0, g->pw, &g->x0, &g->pw);
  window_axis (by0, by1 + 1, g->y0, g->ph, &g->y0, &g->ph);
  return g;
}

static void
restrict_axis (int lo, int hi, int margin, int f0, int *start, int *size)
{
  int end = *start + *size;
  int a = MAX (lo - margin, *start), b = MIN (hi + margin, end);

  if (a >= b)
    return;   /* nothing of the range in the window: keep it */
  a = f0 + (a - f0) / 16 * 16;
  *size = MIN (bs_preprocess_round16 (b - a), end - a);
  *start = a;
}

/* The range [*p_lo, *p_hi] of displayed pixels (0..n-1 along x when dx, else
 * y) whose voxels lie within [lo, hi] of their axis. */
static void
pixel_range (const BsVolume *vol, BsPlane plane, int n, gboolean dx, const int lo[3], const int hi[3], int *p_lo,
             int *p_hi)
{
  int axis = bs_volume_slice_axis (vol, plane, dx ? 0 : 1);

  *p_lo = n;
  *p_hi = -1;
  for (int i = 0; i < n; i++)
    {
      int ijk[3];

      bs_volume_slice_to_voxel (vol, plane, 0, dx ? i : 0, dx ? 0 : i, ijk);
      if (ijk[axis] >= lo[axis] && ijk[axis] <= hi[axis])
        {
          *p_lo = MIN (*p_lo, i);
          *p_hi = MAX (*p_hi, i);
        }
    }
}

void
bs_infer_geometry_restrict (BsInferGeometry *g, const BsVolume *vol, const int lo[3], const int hi[3], int margin)
{
  int x_lo, x_hi, y_lo, y_hi;
  int f0x = -((bs_preprocess_round16 (g->width) - g->width) / 2);
  int f0y = -((bs_preprocess_round16 (g->height) - g->height) / 2);

  pixel_range (vol, g->plane, g->width, TRUE, lo, hi, &x_lo, &x_hi);
  pixel_range (vol, g->plane, g->height, FALSE, lo, hi, &y_lo, &y_hi);
  if (x_hi < 0 || y_hi < 0)
    return;
  restrict_axis (x_lo, x_hi + 1, margin, f0x, &g->x0, &g->pw);
  restrict_axis (y_lo, y_hi + 1, margin, f0y, &g->y0, &g->ph);
}

BsInferGeometry *
bs_infer_geometry_new_for_net (const BsUnet *net, const BsVolume *prepared, BsPlane plane, gboolean crop)
{
  BsInferGeometry *g = bs_infer_geometry_new (prepared, plane, crop);

  g->context = net->config.context;
  return g;
}

void
bs_infer_geometry_free (BsInferGeometry *geom)
{
  if (geom == NULL)
    return;
  g_free (geom->brain);
  g_free (geom);
}

int
bs_infer_context_slice (int slice, int slot, int n_slices)
{
  /* slot 0 is the slice, then slice - 1, slice + 1, slice - 2, ... */
  int d = (slot + 1) / 2, s = slot % 2 ? slice - d : slice + d;

  return CLAMP (s, 0, MAX (n_slices - 1, 0));
}

gsize
bs_infer_slice_floats (const BsVolume *prepared, const BsInferGeometry *geom)
{
  return (gsize) prepared->n_channels * (1 + 2 * geom->context) * geom->ph * geom->pw;
}

void
bs_infer_fill_slice (const BsVolume *prepared, const BsInferGeometry *geom, int slice, float *input)
{
  g_autofree float *buf = g_new (float, (gsize) geom->width * geom->height);
  int nch = prepared->n_channels;

  for (int slot = 0; slot < 1 + 2 * geom->context; slot++)
    for (int k = 0; k < nch; k++)
      {
        bs_volume_get_slice (prepared, k, geom->plane, bs_infer_context_slice (slice, slot, geom->n_slices), buf);
        bs_preprocess_copy_window (buf, geom->width, geom->height, geom->x0, geom->y0,
                                   input + ((gsize) slot * nch + k) * geom->ph * geom->pw, geom->pw, geom->ph);
      }
}

void
bs_infer_fill_input (const BsVolume *prepared, const BsInferGeometry *geom, int first, int n, float *input)
{
  gsize per = bs_infer_slice_floats (prepared, geom);

  for (int i = 0; i < n; i++)
    bs_infer_fill_slice (prepared, geom, first + i, input + per * i);
}

void
bs_infer_zero_outside_head_outputs (const float *input, int channels, gsize n, int n_outputs, float *probs)
{
  for (gsize p = 0; p < n; p++)
    {
      gboolean empty = TRUE;

      for (int k = 0; k < channels && empty; k++)
        empty = input[(gsize) k * n + p] == 0.0f;
      if (empty)
        for (int o = 0; o < n_outputs; o++)
          probs[(gsize) o * n + p] = 0.0f;
    }
}

void
bs_infer_zero_outside_head (const float *input, int channels, gsize n, float *probs)
{
  bs_infer_zero_outside_head_outputs (input, channels, n, 1, probs);
}

void
bs_infer_window_to_slice (const BsInferGeometry *geom, const float *input, int channels, const float *probs,
                          float *slice)
{
  gsize plane = (gsize) geom->ph * geom->pw;
  g_autofree float *gated = g_memdup2 (probs, plane * sizeof (float));

  bs_infer_zero_outside_head (input, channels, plane, gated);
  /* The window seen from the slice is the slice seen from the window, shifted back. */
  bs_preprocess_copy_window (gated, geom->pw, geom->ph, -geom->x0, -geom->y0, slice, geom->width, geom->height);
}

void
bs_infer_store_output (BsVolume *prob, const BsInferGeometry *geom, const float *input, int channels, int first,
                       int n, const float *probs)
{
  g_autofree float *slice = g_new (float, (gsize) geom->width * geom->height);
  gsize plane = (gsize) geom->ph * geom->pw;
  g_autofree float *gated = g_new (float, (gsize) prob->n_channels * plane);
  int n_out = prob->n_channels;

  /* As bs_infer_window_to_slice for each output, with the head found once
   * per slice for all the outputs. */
  for (int i = 0; i < n; i++)
    {
      memcpy (gated, probs + (gsize) i * n_out * plane, sizeof (float) * n_out * plane);
      bs_infer_zero_outside_head_outputs (input + (gsize) i * channels * (1 + 2 * geom->context) * plane, channels,
                                          plane, n_out, gated);
      for (int o = 0; o < n_out; o++)
        {
          bs_preprocess_copy_window (gated + (gsize) o * plane, geom->pw, geom->ph, -geom->x0, -geom->y0, slice,
                                     geom->width, geom->height);
          bs_volume_set_slice (prob, o, geom->plane, first + i, slice);
        }
    }
}

/* The batch loop of bs_infer_volume and bs_infer_slices; *cancelled tells a
 * cancellation (error left unset) from a failure. */
static gboolean
run_slices (BsPlan *plan, const BsVolume *prepared, const BsInferGeometry *geom, const guint8 *selected,
            BsVolume *prob, BsTiming *timing, BsInferProgress progress, gpointer user_data,
            GCancellable *cancellable, gboolean *cancelled, GError **error)
{
  int ph, pw, batch, n_slices = geom->n_slices, total = 0, done = 0, n_out = bs_plan_get_outputs (plan);
  gsize per_in = bs_infer_slice_floats (prepared, geom), per_out = (gsize) n_out * geom->ph * geom->pw;
  g_autofree float *input = NULL;
  g_autofree float *probs = NULL;
  g_autofree float *zero = NULL;
  g_autofree int *run = NULL;

  *cancelled = FALSE;
  bs_plan_get_size (plan, &ph, &pw, &batch);
  if (ph != geom->ph || pw != geom->pw)
    {
      g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_SIZE,
                   _("The inference plan is for %dx%d slices, but %s slices need %dx%d"), pw, ph,
                   bs_plane_name (geom->plane), geom->pw, geom->ph);
      return FALSE;
    }
  if (prob->n_channels > n_out)
    {
      g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_SIZE,
                   _("The model has %d outputs, but the probability volume has %d channels"), n_out,
                   prob->n_channels);
      return FALSE;
    }
  for (int k = 0; k < n_slices; k++)
    total += selected == NULL || selected[k];
  input = g_new (float, (gsize) batch * per_in);
  probs = g_new (float, (gsize) batch * per_out);
  zero = g_new0 (float, (gsize) geom->width * geom->height);
  run = g_new (int, batch);
  for (int first = 0; first < n_slices;)
    {
      int n = 0, end = first;
      double t0;

      if (g_cancellable_is_cancelled (cancellable))
        {
          *cancelled = TRUE;
          return FALSE;
        }
      /* The next batch of brain slices; slices without brain in between are zeros. */
      t0 = bs_now_ms ();
      for (; end < n_slices && n < batch; end++)
        {
          if (selected != NULL && !selected[end])
            continue;
          if (geom->brain[end])
            {
              bs_infer_fill_slice (prepared, geom, end, input + per_in * n);
              run[n++] = end;
            }
          else
            for (int o = 0; o < prob->n_channels; o++)
              bs_volume_set_slice (prob, o, geom->plane, end, zero);
          done++;
        }
      if (timing)
        bs_timing_add_stage (timing, "preprocess", bs_now_ms () - t0);
      if (n > 0)
        {
          if (!bs_plan_run (plan, input, n, probs, timing, error))
            return FALSE;
          t0 = bs_now_ms ();
          /* One slice at a time: a prob with fewer channels than the
           * plan's outputs takes the first ones of each slice. */
          for (int i = 0; i < n; i++)
            bs_infer_store_output (prob, geom, input + per_in * i, prepared->n_channels, run[i], 1,
                                   probs + per_out * i);
          if (timing)
            bs_timing_add_stage (timing, "output", bs_now_ms () - t0);
        }
      first = end;
      if (progress)
        progress (done, total, user_data);
    }
  return TRUE;
}

gboolean
bs_infer_volume (BsPlan *plan, const BsVolume *prepared, const BsInferGeometry *geom, BsVolume *prob,
                 BsTiming *timing, BsInferProgress progress, gpointer user_data, GCancellable *cancellable,
                 GError **error)
{
  gboolean cancelled;

  if (run_slices (plan, prepared, geom, NULL, prob, timing, progress, user_data, cancellable, &cancelled, error))
    return TRUE;
  if (cancelled)
    g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_CANCELLED, _("Inference was cancelled"));
  return FALSE;
}

gboolean
bs_infer_slices (BsPlan *plan, const BsVolume *prepared, const BsInferGeometry *geom, const guint8 *selected,
                 BsVolume *prob, BsTiming *timing, BsInferProgress progress, gpointer user_data,
                 GCancellable *cancellable, GError **error)
{
  gboolean cancelled;

  if (run_slices (plan, prepared, geom, selected, prob, timing, progress, user_data, cancellable, &cancelled,
                  error))
    return TRUE;
  if (cancelled)
    g_cancellable_set_error_if_cancelled (cancellable, error);
  return FALSE;
}
