#include "bs-metrics.h"

#include "bs-parallel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void
bs_confusion_add (BsConfusion *c, const float *pred, const float *truth, size_t n)
{
  guint64 both = 0, np = 0, nt = 0;

  /* Three sums in one loop the compiler vectorises; the four cells follow. */
  for (size_t i = 0; i < n; i++)
    {
      guint32 p = pred[i] > 0.5f, t = truth[i] > 0.5f;
      both += p & t;
      np += p;
      nt += t;
    }
  c->tp += both;
  c->fp += np - both;
  c->fn += nt - both;
  c->tn += n - np - nt + both;
}

double
bs_confusion_dice (const BsConfusion *c)
{
  guint64 denom = 2 * c->tp + c->fp + c->fn;

  if (denom == 0)
    return 1.0;
  return 2.0 * c->tp / (double) denom;
}

double
bs_dice (const float *pred, const float *truth, size_t n)
{
  BsConfusion c = { 0 };

  bs_confusion_add (&c, pred, truth, n);
  return bs_confusion_dice (&c);
}

void
bs_confusion_merge (BsConfusion *into, const BsConfusion *c)
{
  into->tp += c->tp;
  into->fp += c->fp;
  into->fn += c->fn;
  into->tn += c->tn;
}

/* ---- Distances and the BraTS region metrics ---- */

#define FAR 1e20

/* Squared distance along one line to the nearest site (f = 0 at sites, FAR
 * elsewhere, or the squared distance already found along the other axes):
 * the lower envelope of the parabolas w (p - q)^2 + f(q) (Felzenszwalb and
 * Huttenlocher).  v, z: scratch of n and n + 1. */
static void
edt_line (const double *f, int n, double w, double *d, int *v, double *z)
{
  int k = 0;

  /* f is finite (FAR where there is no site), so every s is finite and the
   * infinite bounds are never crossed. */
  v[0] = 0;
  z[0] = -INFINITY;
  z[1] = INFINITY;
  for (int q = 1; q < n; q++)
    {
      double s = ((f[q] + w * (double) q * q) - (f[v[k]] + w * (double) v[k] * v[k])) / (2.0 * w * (q - v[k]));

      while (s <= z[k])
        {
          k--;
          s = ((f[q] + w * (double) q * q) - (f[v[k]] + w * (double) v[k] * v[k])) / (2.0 * w * (q - v[k]));
        }
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = INFINITY;
    }
  k = 0;
  for (int q = 0; q < n; q++)
    {
      while (z[k + 1] < q)
        k++;
      d[q] = w * (double) (q - v[k]) * (q - v[k]) + f[v[k]];
    }
}

/* One axis of the transform: every line along it, the lines of one value of
 * the slowest other coordinate per task. */
typedef struct {
  double *g;
  int len, n_a;
  gsize stride, stride_a, stride_b;
  double w;
} EdtAxis;

static void
edt_lines (int b, gpointer user_data)
{
  const EdtAxis *ax = user_data;
  g_autofree double *f = g_new (double, ax->len);
  g_autofree double *d = g_new (double, ax->len);
  g_autofree int *v = g_new (int, ax->len);
  g_autofree double *z = g_new (double, ax->len + 1);

  for (int a = 0; a < ax->n_a; a++)
    {
      double *line = ax->g + (gsize) b * ax->stride_b + (gsize) a * ax->stride_a;

      for (int q = 0; q < ax->len; q++)
        f[q] = line[q * ax->stride];
      edt_line (f, ax->len, ax->w, d, v, z);
      for (int q = 0; q < ax->len; q++)
        line[q * ax->stride] = d[q];
    }
}

/* Each axis's lines are independent: they run in parallel. */
double *
bs_metrics_distance_squared (const guint8 *site, const int dims[3], const double spacing[3])
{
  gsize n = (gsize) dims[0] * dims[1] * dims[2];
  const gsize sx = 1, sy = (gsize) dims[0], sz = (gsize) dims[0] * dims[1];
  double *g = g_try_new (double, n);

  if (g == NULL)
    return NULL;
  for (gsize i = 0; i < n; i++)
    g[i] = site[i] ? 0.0 : FAR;
  for (int axis = 0; axis < 3; axis++)
    {
      /* the two other axes: a (inner loop) and b (one task each) */
      static const int other_a[3] = { 1, 0, 0 }, other_b[3] = { 2, 2, 1 };
      const gsize strides[3] = { sx, sy, sz };
      EdtAxis ax = { g, dims[axis], dims[other_a[axis]], strides[axis], strides[other_a[axis]],
                     strides[other_b[axis]], spacing[axis] * spacing[axis] };

      bs_parallel_for (dims[other_b[axis]], edt_lines, &ax);
    }
  return g;
}

/* Voxels of the mask with a 6-neighbour outside it (or on the image's edge). */
static guint8 *
surface (const guint8 *m, const int dims[3], gsize *count)
{
  gsize n = (gsize) dims[0] * dims[1] * dims[2], sx = 1, sy = dims[0], sz = (gsize) dims[0] * dims[1];
  guint8 *s = g_new0 (guint8, n);

  *count = 0;
  for (int zz = 0; zz < dims[2]; zz++)
    for (int y = 0; y < dims[1]; y++)
      for (int x = 0; x < dims[0]; x++)
        {
          gsize i = zz * sz + y * sy + x * sx;

          if (!m[i])
            continue;
          if (x == 0 || y == 0 || zz == 0 || x == dims[0] - 1 || y == dims[1] - 1 || zz == dims[2] - 1
              || !m[i - sx] || !m[i + sx] || !m[i - sy] || !m[i + sy] || !m[i - sz] || !m[i + sz])
            {
              s[i] = 1;
              (*count)++;
            }
        }
  return s;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

double
bs_metrics_hd95 (const guint8 *a, const guint8 *b, const int dims[3], const double spacing[3])
{
  gsize na = 0, nb = 0, k = 0;
  g_autofree guint8 *sa = surface (a, dims, &na);
  g_autofree guint8 *sb = surface (b, dims, &nb);
  g_autofree double *da = NULL, *db = NULL, *all = NULL;
  double idx, lo;

  if (na == 0 && nb == 0)
    return 0.0;
  if (na == 0 || nb == 0)
    return bs_metrics_diagonal_mm (dims, spacing);
  /* Every site and every query point is a surface voxel, so the distance
   * transforms only need the box that holds both surfaces: the same
   * distances, on a tumour's box instead of the whole head. */
  {
    int lo3[3] = { dims[0], dims[1], dims[2] }, hi3[3] = { -1, -1, -1 }, bd[3];
    gsize bn, j = 0;
    g_autofree guint8 *ba = NULL, *bb = NULL;

    for (int zz = 0; zz < dims[2]; zz++)
      for (int y = 0; y < dims[1]; y++)
        {
          gsize row = ((gsize) zz * dims[1] + y) * dims[0];

          for (int x = 0; x < dims[0]; x++)
            if (sa[row + x] || sb[row + x])
              bs_box_include (lo3, hi3, x, y, zz);
        }
    for (int ax = 0; ax < 3; ax++)
      bd[ax] = hi3[ax] - lo3[ax] + 1;
    bn = (gsize) bd[0] * bd[1] * bd[2];
    ba = g_new (guint8, bn);
    bb = g_new (guint8, bn);
    for (int zz = 0; zz < bd[2]; zz++)
      for (int y = 0; y < bd[1]; y++)
        {
          gsize row = ((gsize) (zz + lo3[2]) * dims[1] + (y + lo3[1])) * dims[0] + lo3[0];

          memcpy (ba + j, sa + row, bd[0]);
          memcpy (bb + j, sb + row, bd[0]);
          j += bd[0];
        }
    da = bs_metrics_distance_squared (ba, bd, spacing);
    db = bs_metrics_distance_squared (bb, bd, spacing);
    if (da == NULL || db == NULL)
      return NAN;   /* out of memory for the distances: no figure rather than a wrong one */
    all = g_new (double, na + nb);
    for (gsize i = 0; i < bn; i++)
      {
        if (ba[i])
          all[k++] = sqrt (db[i]);
        if (bb[i])
          all[k++] = sqrt (da[i]);
      }
  }
  qsort (all, k, sizeof all[0], compare_double);
  /* The 95th percentile with linear interpolation between order statistics. */
  idx = 0.95 * (double) (k - 1);
  lo = floor (idx);
  if ((gsize) lo + 1 >= k)
    return all[k - 1];
  return all[(gsize) lo] + (all[(gsize) lo + 1] - all[(gsize) lo]) * (idx - lo);
}

double
bs_metrics_diagonal_mm (const int dims[3], const double spacing[3])
{
  double s = 0;

  for (int i = 0; i < 3; i++)
    s += (dims[i] * spacing[i]) * (dims[i] * spacing[i]);
  return sqrt (s);
}

void
bs_metrics_region (const float *pred, const float *truth, const int dims[3], const double spacing[3],
                   BsRegionMetrics *m)
{
  bs_metrics_region_in (pred, truth, dims, spacing, 0, dims[2], m);
}

void
bs_metrics_region_in (const float *pred, const float *truth, const int dims[3], const double spacing[3], int z0,
                      int z1, BsRegionMetrics *m)
{
  const gsize nx = dims[0], ny = dims[1], nz = dims[2];
  double voxel_ml = spacing[0] * spacing[1] * spacing[2] / 1000.0;
  int lo[3] = { dims[0], dims[1], dims[2] }, hi[3] = { -1, -1, -1 }, bd[3];
  g_autofree guint8 *a = NULL, *b = NULL;
  BsConfusion c = { 0 };
  gsize j = 0, first, n_in;

  memset (m, 0, sizeof *m);
  z0 = CLAMP (z0, 0, dims[2]);
  z1 = CLAMP (z1, z0, dims[2]);
  first = (gsize) z0 * nx * ny;
  n_in = (gsize) (z1 - z0) * nx * ny;
  if (truth == NULL)
    {
      guint64 on = 0;

      for (gsize v = first; v < first + n_in; v++)
        on += pred[v] > 0.5f;
      m->dice = m->hd95_mm = m->sensitivity = m->specificity = m->true_volume_ml = NAN;
      m->volume_ml = (double) on * voxel_ml;
      return;
    }
  bs_confusion_add (&c, pred + first, truth + first, n_in);
  c.tn += nx * ny * nz - n_in;   /* both 0 outside the slices */
  /* The box that holds both masks, grown by one voxel where the image
   * allows: its faces are then either the image's or empty, so the
   * surfaces found inside it are the volume's. */
  for (gsize z = z0; z < (gsize) z1; z++)
    for (gsize y = 0; y < ny; y++)
      {
        gsize row = (z * ny + y) * nx;

        for (gsize x = 0; x < nx; x++)
          if (pred[row + x] > 0.5f || truth[row + x] > 0.5f)
            bs_box_include (lo, hi, (int) x, (int) y, (int) z);
      }
  m->confusion = c;
  m->dice = bs_confusion_dice (&c);
  if (hi[0] < 0)
    m->hd95_mm = 0.0; /* both empty */
  else
    {
      for (int ax = 0; ax < 3; ax++)
        {
          lo[ax] = MAX (lo[ax] - 1, 0);
          hi[ax] = MIN (hi[ax] + 1, dims[ax] - 1);
          bd[ax] = hi[ax] - lo[ax] + 1;
        }
      a = g_new (guint8, (gsize) bd[0] * bd[1] * bd[2]);
      b = g_new (guint8, (gsize) bd[0] * bd[1] * bd[2]);
      for (int z = 0; z < bd[2]; z++)
        for (int y = 0; y < bd[1]; y++)
          {
            gsize row = ((gsize) (z + lo[2]) * ny + (gsize) (y + lo[1])) * nx + lo[0];

            for (int x = 0; x < bd[0]; x++, j++)
              {
                a[j] = pred[row + x] > 0.5f;
                b[j] = truth[row + x] > 0.5f;
              }
          }
      /* one mask empty: the diagonal of the whole image, as BraTS does */
      if (c.tp + c.fp == 0 || c.tp + c.fn == 0)
        m->hd95_mm = bs_metrics_diagonal_mm (dims, spacing);
      else
        m->hd95_mm = bs_metrics_hd95 (a, b, bd, spacing);
    }
  m->sensitivity = c.tp + c.fn > 0 ? (double) c.tp / (double) (c.tp + c.fn) : NAN;
  m->specificity = c.tn + c.fp > 0 ? (double) c.tn / (double) (c.tn + c.fp) : NAN;
  m->volume_ml = (double) (c.tp + c.fp) * voxel_ml;
  m->true_volume_ml = (double) (c.tp + c.fn) * voxel_ml;
}
