/* Whole-volume inference: displayed slices in, probability maps back out. */
#include <glib/gi18n.h>
#include <string.h>

#include "bs-error.h"
#include "bs-infer.h"
#include "bs-parallel.h"
#include "bs-preprocess.h"
#include "bs-span.h"

BsVolume *
bs_infer_prepare (const BsUnet *net, const BsVolume *image, GError **error)
{
  /* A modality the case lacks is zeros, as the model saw in training (modality dropout). */
  return bs_preprocess_prepare (image, (const char *const *) net->config.modalities, net->config.in_channels,
                                NULL, error);
}

BsVolume *
bs_infer_prepare_take (const BsUnet *net, BsVolume *image, GError **error)
{
  return bs_preprocess_prepare_take (image, (const char *const *) net->config.modalities, net->config.in_channels,
                                     NULL, error);
}

/* Where the head is, from one pass over the prepared case: for every slab k
 * (voxel axis 2) the first and last i of each row j, and the first and last j
 * of each column i, among the voxels with any channel not 0.  The box of a
 * slice of any plane follows from these, with no head volume to allocate. */
typedef struct {
  const BsVolume *prepared;
  int *row;   /* nz * ny pairs: i0, i1 of row (j, k), i0 > i1 when empty */
  int *col;   /* nz * nx pairs: j0, j1 of column (i, k) */
} ExtentJob;

static void
extent_slab (int k, gpointer user_data)
{
  ExtentJob *job = user_data;
  const BsVolume *v = job->prepared;
  int nx = v->dims[0], ny = v->dims[1], nc = v->n_channels;
  gsize n = bs_volume_n_voxels (v);
  int *row = job->row + (gsize) k * ny * 2, *col = job->col + (gsize) k * nx * 2;
  /* zeros: a volume without channels has no head */
  g_autofree guint8 *on = g_new0 (guint8, MAX (nx, 1));

  for (int i = 0; i < nx; i++)
    {
      col[2 * i] = ny;
      col[2 * i + 1] = -1;
    }
  for (int j = 0; j < ny; j++)
    {
      gsize base = ((gsize) k * ny + j) * nx;
      int first = nx, last = -1;

      /* The row's flags channel by channel, in loops the compiler
       * vectorises, then its span. */
      if (nc > 0)
        {
          const float *restrict p = v->data + base;
          guint8 *restrict o = on;

          for (int i = 0; i < nx; i++)
            o[i] = p[i] != 0.0f;
          for (int c = 1; c < nc; c++)
            {
              p = v->data + (gsize) c * n + base;
              for (int i = 0; i < nx; i++)
                o[i] |= p[i] != 0.0f;
            }
        }
      if (bs_span_nonzero (on, nx, &first, &last))
        for (int i = first; i <= last; i++)
          if (on[i])
            {
              col[2 * i] = MIN (col[2 * i], j);
              col[2 * i + 1] = j;
            }
      row[2 * j] = first;
      row[2 * j + 1] = last;
    }
}

static void
grow (int *b, int axis, int lo, int hi)
{
  b[axis] = MIN (b[axis], lo);
  b[3 + axis] = MAX (b[3 + axis], hi);
}

/* box: per slice of plane, x0, y0, x1, y1 of its head voxels (inclusive
 * display pixels), x0 > x1 when it has none. */
static void
head_boxes (const BsVolume *prepared, BsPlane plane, int *box)
{
  const int *d = prepared->dims;
  int nx = d[0], ny = d[1], nz = d[2];
  g_autofree int *row = g_new (int, (gsize) nz * ny * 2);
  g_autofree int *col = g_new (int, (gsize) nz * nx * 2);
  ExtentJob job = { prepared, row, col };
  int sa = bs_volume_slice_axis (prepared, plane, 2), xa = bs_volume_slice_axis (prepared, plane, 0),
      ya = bs_volume_slice_axis (prepared, plane, 1);
  int n_slices = d[sa], w = d[xa], h = d[ya], ijk[3];
  /* per index t of the slice axis: lo[3], hi[3] of the voxels with ijk[sa] == t */
  g_autofree int *ext = g_new (int, (gsize) n_slices * 6);
  gboolean flip_x, flip_y;

  bs_parallel_for (nz, extent_slab, &job);
  for (int t = 0; t < n_slices; t++)
    for (int a = 0; a < 3; a++)
      {
        ext[6 * t + a] = d[a];
        ext[6 * t + 3 + a] = -1;
      }
  for (int k = 0; k < nz; k++)
    {
      for (int j = 0; j < ny; j++)
        {
          const int *r = row + ((gsize) k * ny + j) * 2;

          if (r[0] > r[1])
            continue;
          if (sa == 2)
            {
              grow (ext + 6 * k, 0, r[0], r[1]);
              grow (ext + 6 * k, 1, j, j);
            }
          else if (sa == 1)
            {
              grow (ext + 6 * j, 0, r[0], r[1]);
              grow (ext + 6 * j, 2, k, k);
            }
        }
      if (sa == 0)
        for (int i = 0; i < nx; i++)
          {
            const int *c = col + ((gsize) k * nx + i) * 2;

            if (c[0] > c[1])
              continue;
            grow (ext + 6 * i, 1, c[0], c[1]);
            grow (ext + 6 * i, 2, k, k);
          }
    }
  /* Display pixel 0 of each axis is voxel 0 or the last one of it. */
  bs_volume_slice_to_voxel (prepared, plane, 0, 0, 0, ijk);
  flip_x = w > 1 && ijk[xa] != 0;
  flip_y = h > 1 && ijk[ya] != 0;
  for (int s = 0; s < n_slices; s++)
    {
      int *b = box + 4 * s;
      const int *e;

      bs_volume_slice_to_voxel (prepared, plane, s, 0, 0, ijk);
      e = ext + 6 * ijk[sa];
      b[0] = flip_x ? w - 1 - e[3 + xa] : e[xa];
      b[2] = flip_x ? w - 1 - e[xa] : e[3 + xa];
      b[1] = flip_y ? h - 1 - e[3 + ya] : e[ya];
      b[3] = flip_y ? h - 1 - e[ya] : e[3 + ya];
      if (e[3 + xa] < 0)
        {
          b[0] = w;
          b[1] = h;
          b[2] = b[3] = -1;
        }
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

  int *box = g->box = g_new (int, 4 * (gsize) MAX (g->n_slices, 1));

  head_boxes (prepared, plane, box);
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
  g_free (geom->box);
  g_free (geom);
}

/* The union of the boxes of brain slices order[a..b) into u (x0, y0, x1, y1). */
static void
union_add (int *u, const int *b)
{
  u[0] = MIN (u[0], b[0]);
  u[1] = MIN (u[1], b[1]);
  u[2] = MAX (u[2], b[2]);
  u[3] = MAX (u[3], b[3]);
}

/* Pixels the network runs on for n slices on the window of box u. */
static gint64
slab_cost (const BsInferGeometry *g, const int *u, int n)
{
  int fx = -((bs_preprocess_round16 (g->width) - g->width) / 2);
  int fy = -((bs_preprocess_round16 (g->height) - g->height) / 2);
  int x0, y0, pw, ph;

  window_axis (u[0], u[2] + 1, fx, bs_preprocess_round16 (g->width), &x0, &pw);
  window_axis (u[1], u[3] + 1, fy, bs_preprocess_round16 (g->height), &y0, &ph);
  return (gint64) n * pw * ph;
}

/* Slices order[a..b) on the window of their box, or on g's (own_window
 * FALSE); of them, those selected (all when selected is NULL) run. */
static BsInferGeometry *
slab_new (const BsInferGeometry *g, const int *order, int a, int b, gboolean own_window, const guint8 *selected)
{
  BsInferGeometry *s = g_new0 (BsInferGeometry, 1);
  int u[4] = { g->width, g->height, -1, -1 };

  *s = *g;
  s->box = NULL;
  s->brain = g_new0 (guint8, MAX (g->n_slices, 1));
  s->n_brain = 0;
  for (int i = a; i < b; i++)
    {
      gboolean run = selected == NULL || selected[order[i]];

      s->brain[order[i]] = run;
      s->n_brain += run;
      if (own_window)
        union_add (u, g->box + 4 * order[i]);
    }
  if (!own_window)
    return s;
  s->x0 = -((bs_preprocess_round16 (g->width) - g->width) / 2);
  s->y0 = -((bs_preprocess_round16 (g->height) - g->height) / 2);
  window_axis (u[0], u[2] + 1, s->x0, bs_preprocess_round16 (g->width), &s->x0, &s->pw);
  window_axis (u[1], u[3] + 1, s->y0, bs_preprocess_round16 (g->height), &s->y0, &s->ph);
  return s;
}

BsInferGeometry **
bs_infer_geometry_slabs (const BsInferGeometry *g, const guint8 *selected, int max_slabs, double min_saving,
                         int *n_slabs)
{
  g_autofree int *order = g_new (int, MAX (g->n_slices, 1));
  g_autofree int *prefix = NULL, *suffix = NULL;
  int n = 0, best_i = 0, best_j = 0;
  gint64 whole, best;
  GPtrArray *out = g_ptr_array_new ();

  /* The cut is the whole volume's, whatever the selection: a slice runs on
   * the same window alone as in the whole volume. */
  for (int k = 0; k < g->n_slices; k++)
    if (g->brain[k])
      order[n++] = k;
  if (g->box != NULL && n >= 3 && max_slabs >= 2)
    {
      /* prefix[i]: the union of slices 0..i-1, suffix[i]: of slices i..n-1 */
      prefix = g_new (int, 4 * (gsize) (n + 1));
      suffix = g_new (int, 4 * (gsize) (n + 1));
      prefix[0] = suffix[4 * n] = g->width;
      prefix[1] = suffix[4 * n + 1] = g->height;
      prefix[2] = prefix[3] = suffix[4 * n + 2] = suffix[4 * n + 3] = -1;
      for (int i = 0; i < n; i++)
        {
          memcpy (prefix + 4 * (i + 1), prefix + 4 * i, 4 * sizeof (int));
          union_add (prefix + 4 * (i + 1), g->box + 4 * order[i]);
        }
      for (int i = n - 1; i >= 0; i--)
        {
          memcpy (suffix + 4 * i, suffix + 4 * (i + 1), 4 * sizeof (int));
          union_add (suffix + 4 * i, g->box + 4 * order[i]);
        }
      whole = best = slab_cost (g, prefix + 4 * n, n);
      /* Two slabs [0, i) [i, n), or three [0, i) [i, j) [j, n). */
      for (int i = 1; i < n; i++)
        {
          gint64 left = slab_cost (g, prefix + 4 * i, i);
          int mid[4] = { g->width, g->height, -1, -1 };

          if (left + slab_cost (g, suffix + 4 * i, n - i) < best)
            {
              best = left + slab_cost (g, suffix + 4 * i, n - i);
              best_i = i;
              best_j = 0;
            }
          for (int j = i + 1; max_slabs >= 3 && j < n; j++)
            {
              gint64 c;

              union_add (mid, g->box + 4 * order[j - 1]);
              c = left + slab_cost (g, mid, j - i) + slab_cost (g, suffix + 4 * j, n - j);
              if (c < best)
                {
                  best = c;
                  best_i = i;
                  best_j = j;
                }
            }
        }
      if (best > (1.0 - min_saving) * whole)
        best_i = best_j = 0;
    }
  if (best_i == 0)
    g_ptr_array_add (out, slab_new (g, order, 0, n, FALSE, selected));
  else
    {
      g_ptr_array_add (out, slab_new (g, order, 0, best_i, TRUE, selected));
      g_ptr_array_add (out, slab_new (g, order, best_i, best_j ? best_j : n, TRUE, selected));
      if (best_j)
        g_ptr_array_add (out, slab_new (g, order, best_j, n, TRUE, selected));
    }
  *n_slabs = (int) out->len;
  return (BsInferGeometry **) g_ptr_array_free (out, FALSE);
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
  int nch = prepared->n_channels;

  /* Only the window's voxels are read: a coronal or sagittal slice is a
   * strided gather, and the window is often half of it. */
  for (int slot = 0; slot < 1 + 2 * geom->context; slot++)
    for (int k = 0; k < nch; k++)
      bs_volume_get_window (prepared, k, geom->plane, bs_infer_context_slice (slice, slot, geom->n_slices), geom->x0,
                            geom->y0, geom->pw, geom->ph,
                            input + ((gsize) slot * nch + k) * geom->ph * geom->pw);
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
  /* In runs of pixels: a flag per pixel, channel by channel, then the
   * outputs gated by it, each a loop the compiler vectorises. */
  enum { RUN = 2048 };
  guint8 on[RUN];

  for (gsize p0 = 0; p0 < n; p0 += RUN)
    {
      gsize m = MIN ((gsize) RUN, n - p0);

      memset (on, 0, m);
      for (int k = 0; k < channels; k++)
        {
          const float *restrict in = input + (gsize) k * n + p0;

          for (gsize p = 0; p < m; p++)
            on[p] |= in[p] != 0.0f;
        }
      for (int o = 0; o < n_outputs; o++)
        {
          float *restrict out = probs + (gsize) o * n + p0;

          for (gsize p = 0; p < m; p++)
            out[p] = on[p] ? out[p] : 0.0f;
        }
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

/* As bs_infer_store_output, or with lo non-NULL adding the slices to prob
 * within the voxel box [lo, hi] instead of writing them whole. */
static void
store_or_add (BsVolume *prob, const BsInferGeometry *geom, const float *input, int channels, int first, int n,
              const float *probs, const int *lo, const int *hi)
{
  /* a whole slice, only where whole slices are written */
  g_autofree float *slice = lo == NULL ? g_new (float, (gsize) geom->width * geom->height) : NULL;
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
          if (lo != NULL)
            {
              /* Added straight from the window: outside it the slice is 0. */
              bs_volume_add_window_box (prob, o, geom->plane, first + i, gated + (gsize) o * plane, geom->x0,
                                        geom->y0, geom->pw, geom->ph, lo, hi);
              continue;
            }
          bs_preprocess_copy_window (gated + (gsize) o * plane, geom->pw, geom->ph, -geom->x0, -geom->y0, slice,
                                     geom->width, geom->height);
          bs_volume_set_slice (prob, o, geom->plane, first + i, slice);
        }
    }
}

void
bs_infer_store_output (BsVolume *prob, const BsInferGeometry *geom, const float *input, int channels, int first,
                       int n, const float *probs)
{
  store_or_add (prob, geom, input, channels, first, n, probs, NULL, NULL);
}

/* Slices gathered and stored together: filling a slice's input (a strided
 * read in the coronal and sagittal planes) and storing its output are serial
 * per slice but independent between slices, so a chunk of them runs on every
 * core between the network's batches. */
#define RUN_CHUNK 8

typedef struct {
  const BsVolume *prepared;
  const BsInferGeometry *geom;
  BsVolume *prob;
  const int *run;           /* the chunk's slices */
  float *input;             /* per_in floats a slice */
  const float *probs;       /* per_out floats a slice */
  gsize per_in, per_out;
  const int *lo, *hi;       /* the box to add into, or NULL to store */
} ChunkJob;

static void
fill_one (int i, gpointer user_data)
{
  ChunkJob *job = user_data;

  bs_infer_fill_slice (job->prepared, job->geom, job->run[i], job->input + job->per_in * i);
}

static void
store_one (int i, gpointer user_data)
{
  ChunkJob *job = user_data;

  /* One slice at a time: a prob with fewer channels than the plan's outputs
   * takes the first ones of each slice. */
  store_or_add (job->prob, job->geom, job->input + job->per_in * i, job->prepared->n_channels, job->run[i], 1,
                job->probs + job->per_out * i, job->lo, job->hi);
}

/* run_slices on a plan with lanes: every lane gathers, runs and stores whole
 * batches of the brain slices, taking the next one when it has finished its
 * last, on a thread of its own (lane 0 on the caller's, which also reports
 * progress).  A lane whose core another program holds takes fewer batches
 * instead of holding the others up at every primitive's barrier. */
typedef struct {
  BsPlan *plan;
  const BsVolume *prepared;
  const BsInferGeometry *geom;
  BsVolume *prob;
  const int *run;           /* the brain slices to run, in order */
  int n_run, batch;
  gsize per_in, per_out;
  const int *lo, *hi;
  int finished;             /* slices run (atomic) */
  GCancellable *cancellable;
  BsInferProgress progress;
  gpointer user_data;
  int done_before, total;   /* progress: selected slices done before the lanes, of total */
  int reported;             /* the last done lane 0 reported */
  float *input[BS_PLAN_MAX_LANES], *probs[BS_PLAN_MAX_LANES];  /* each lane's, made on its first batch */
  BsTiming timing[BS_PLAN_MAX_LANES];
} LaneRun;

/* Batch b of the slices to run, on a lane: gathered, run, stored. */
static gboolean
lane_batch (int lane, int b, gpointer user_data, GError **error)
{
  LaneRun *r = user_data;
  BsTiming *timing = &r->timing[lane];
  const int *run = r->run + (gsize) b * r->batch;
  int n = MIN (r->batch, r->n_run - b * r->batch);
  float *input, *probs;
  double t0;

  if (g_cancellable_set_error_if_cancelled (r->cancellable, error))
    return FALSE;
  if (r->input[lane] == NULL)
    {
      r->input[lane] = g_new (float, (gsize) r->batch * r->per_in);
      r->probs[lane] = g_new (float, (gsize) r->batch * r->per_out);
    }
  input = r->input[lane];
  probs = r->probs[lane];
  t0 = bs_now_ms ();
  for (int i = 0; i < n; i++)
    bs_infer_fill_slice (r->prepared, r->geom, run[i], input + r->per_in * i);
  bs_timing_add_stage (timing, "preprocess", bs_now_ms () - t0);
  if (!bs_plan_run_lane (r->plan, lane, input, n, probs, timing, error))
    return FALSE;
  t0 = bs_now_ms ();
  for (int i = 0; i < n; i++)
    store_or_add (r->prob, r->geom, input + r->per_in * i, r->prepared->n_channels, run[i], 1,
                  probs + r->per_out * i, r->lo, r->hi);
  bs_timing_add_stage (timing, "output", bs_now_ms () - t0);
  g_atomic_int_add (&r->finished, n);
  if (lane == 0 && r->progress)
    {
      r->reported = MIN (r->done_before + g_atomic_int_get (&r->finished), r->total);
      r->progress (r->reported, r->total, r->user_data);
    }
  return TRUE;
}

static gboolean
run_lanes (BsPlan *plan, const BsVolume *prepared, const BsInferGeometry *geom, const guint8 *selected,
           BsVolume *prob, const int *lo, const int *hi, BsTiming *timing, BsInferProgress progress,
           gpointer user_data, GCancellable *cancellable, gboolean *cancelled, GError **error)
{
  g_autofree LaneRun *r = g_new0 (LaneRun, 1);
  g_autofree int *run = g_new (int, MAX (geom->n_slices, 1));
  g_autofree float *zero = g_new0 (float, (gsize) geom->width * geom->height);
  g_autoptr(GError) lane_error = NULL;
  int lanes = bs_plan_get_lanes (plan), n_out = bs_plan_get_outputs (plan), n_batches;
  double t0 = bs_now_ms ();
  gboolean ok;

  r->plan = plan;
  r->prepared = prepared;
  r->geom = geom;
  r->prob = prob;
  r->run = run;
  r->per_in = bs_infer_slice_floats (prepared, geom);
  r->per_out = (gsize) n_out * geom->ph * geom->pw;
  r->lo = lo;
  r->hi = hi;
  r->cancellable = cancellable;
  r->progress = progress;
  r->user_data = user_data;
  bs_plan_get_size (plan, NULL, NULL, &r->batch);
  /* Slices without brain are zeros (adding would add zeros); the rest run. */
  for (int k = 0; k < geom->n_slices; k++)
    {
      if (selected != NULL && !selected[k])
        continue;
      r->total++;
      if (geom->brain[k])
        run[r->n_run++] = k;
      else
        {
          r->done_before++;
          if (lo == NULL)
            for (int o = 0; o < prob->n_channels; o++)
              bs_volume_set_slice (prob, o, geom->plane, k, zero);
        }
    }
  n_batches = (r->n_run + r->batch - 1) / r->batch;
  lanes = MIN (lanes, n_batches);
  if (timing)
    bs_timing_add_stage (timing, "preprocess", bs_now_ms () - t0);
  t0 = bs_now_ms ();
  ok = bs_parallel_pieces (lanes, n_batches, lane_batch, r, &lane_error);
  for (int i = 0; i < lanes; i++)
    {
      g_free (r->input[i]);
      g_free (r->probs[i]);
    }
  if (timing)
    bs_timing_add_concurrent (timing, r->timing, lanes, bs_now_ms () - t0);
  /* A cancellation is no error; an error that stopped the lanes first is. */
  *cancelled = !ok && g_error_matches (lane_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  if (!ok)
    {
      if (!*cancelled)
        g_propagate_error (error, g_steal_pointer (&lane_error));
      return FALSE;
    }
  if (progress && r->reported < r->total)
    progress (r->total, r->total, user_data);
  return TRUE;
}

/* The batch loop of bs_infer_volume and bs_infer_slices; *cancelled tells a
 * cancellation (error left unset) from a failure. */
static gboolean
run_slices (BsPlan *plan, const BsVolume *prepared, const BsInferGeometry *geom, const guint8 *selected,
            BsVolume *prob, const int *lo, const int *hi, BsTiming *timing, BsInferProgress progress,
            gpointer user_data, GCancellable *cancellable, gboolean *cancelled, GError **error)
{
  int ph, pw, batch, chunk, n_slices = geom->n_slices, total = 0, done = 0, n_out = bs_plan_get_outputs (plan);
  gsize per_in = bs_infer_slice_floats (prepared, geom), per_out = (gsize) n_out * geom->ph * geom->pw;
  g_autofree float *input = NULL;
  g_autofree float *probs = NULL;
  g_autofree float *zero = NULL;
  g_autofree int *run = NULL;
  ChunkJob job = { prepared, geom, prob, NULL, NULL, NULL, per_in, per_out, lo, hi };

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
  if (bs_plan_get_lanes (plan) > 1)
    return run_lanes (plan, prepared, geom, selected, prob, lo, hi, timing, progress, user_data, cancellable,
                      cancelled, error);
  for (int k = 0; k < n_slices; k++)
    total += selected == NULL || selected[k];
  /* whole batches to a chunk, at least RUN_CHUNK slices */
  chunk = MAX (batch, (RUN_CHUNK + batch - 1) / batch * batch);
  input = g_new (float, (gsize) chunk * per_in);
  probs = g_new (float, (gsize) chunk * per_out);
  zero = g_new0 (float, (gsize) geom->width * geom->height);
  run = g_new (int, chunk);
  job.run = run;
  job.input = input;
  job.probs = probs;
  for (int first = 0; first < n_slices;)
    {
      int n = 0, end = first;
      double t0;

      if (g_cancellable_is_cancelled (cancellable))
        {
          *cancelled = TRUE;
          return FALSE;
        }
      /* The next chunk of brain slices; slices without brain in between are zeros. */
      t0 = bs_now_ms ();
      for (; end < n_slices && n < chunk; end++)
        {
          if (selected != NULL && !selected[end])
            continue;
          if (geom->brain[end])
            run[n++] = end;
          else if (lo == NULL)   /* (adding would add zeros) */
            for (int o = 0; o < prob->n_channels; o++)
              bs_volume_set_slice (prob, o, geom->plane, end, zero);
        }
      bs_parallel_for (n, fill_one, &job);
      if (timing)
        bs_timing_add_stage (timing, "preprocess", bs_now_ms () - t0);
      for (int b = 0; b < n; b += batch)
        {
          if (b > 0 && g_cancellable_is_cancelled (cancellable))
            {
              *cancelled = TRUE;
              return FALSE;
            }
          if (!bs_plan_run (plan, input + per_in * b, MIN (batch, n - b), probs + per_out * b, timing, error))
            return FALSE;
        }
      t0 = bs_now_ms ();
      bs_parallel_for (n, store_one, &job);
      if (timing)
        bs_timing_add_stage (timing, "output", bs_now_ms () - t0);
      for (int k = first; k < end; k++)
        done += selected == NULL || selected[k];
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

  if (run_slices (plan, prepared, geom, NULL, prob, NULL, NULL, timing, progress, user_data, cancellable, &cancelled,
                  error))
    return TRUE;
  if (cancelled)
    g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_CANCELLED, _("Inference was cancelled"));
  return FALSE;
}

/* bs_infer_slices and bs_infer_slices_add: a cancellation reported as
 * G_IO_ERROR_CANCELLED. */
static gboolean
run_selected (BsPlan *plan, const BsVolume *prepared, const BsInferGeometry *geom, const guint8 *selected,
              BsVolume *prob, const int *lo, const int *hi, BsTiming *timing, BsInferProgress progress,
              gpointer user_data, GCancellable *cancellable, GError **error)
{
  gboolean cancelled;

  if (run_slices (plan, prepared, geom, selected, prob, lo, hi, timing, progress, user_data, cancellable,
                  &cancelled, error))
    return TRUE;
  if (cancelled)
    g_cancellable_set_error_if_cancelled (cancellable, error);
  return FALSE;
}

gboolean
bs_infer_slices (BsPlan *plan, const BsVolume *prepared, const BsInferGeometry *geom, const guint8 *selected,
                 BsVolume *prob, BsTiming *timing, BsInferProgress progress, gpointer user_data,
                 GCancellable *cancellable, GError **error)
{
  return run_selected (plan, prepared, geom, selected, prob, NULL, NULL, timing, progress, user_data, cancellable,
                       error);
}

gboolean
bs_infer_slices_add (BsPlan *plan, const BsVolume *prepared, const BsInferGeometry *geom, const guint8 *selected,
                     BsVolume *prob, const int lo[3], const int hi[3], BsTiming *timing, BsInferProgress progress,
                     gpointer user_data, GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (lo != NULL && hi != NULL, FALSE);
  return run_selected (plan, prepared, geom, selected, prob, lo, hi, timing, progress, user_data, cancellable,
                       error);
}
