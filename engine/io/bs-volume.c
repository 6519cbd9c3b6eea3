#include "bs-volume.h"
#include "bs-parallel.h"

#include <glib/gi18n.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Volumes are tens to hundreds of megabytes that are written once right
 * after allocation; with 4 KiB pages the page faults cost more than decoding
 * the file.  Transparent huge pages (where the kernel offers them on request)
 * cut the faults 512-fold. */
#define BS_HUGE_PAGE ((gsize) 2 << 20)

static float *
alloc_voxels (gsize n, gboolean zero)
{
  gsize bytes;
  void *p = NULL;

  if (n == 0 || n > G_MAXSIZE / sizeof (float))
    return NULL;
  bytes = n * sizeof (float);
  if (bytes < 4 * BS_HUGE_PAGE)
    return zero ? g_try_malloc0 (bytes) : g_try_malloc (bytes);
  if (zero)
    {
      /* calloc leaves memory fresh from the kernel untouched (it is zero
       * already): a page no voxel is ever written to is never faulted in.
       * Probabilities outside the brain's window and masks outside the
       * tumour stay that way; a memset here made the kernel clear every
       * page of them first (measured: a third of an int8 volume's time). */
      uintptr_t a, b;

      p = calloc (n, sizeof (float));
      if (p == NULL)
        return NULL;
      a = ((uintptr_t) p + BS_HUGE_PAGE - 1) & ~(uintptr_t) (BS_HUGE_PAGE - 1);
      b = ((uintptr_t) p + bytes) & ~(uintptr_t) (BS_HUGE_PAGE - 1);
#ifdef MADV_HUGEPAGE
      if (b > a)
        madvise ((void *) a, b - a, MADV_HUGEPAGE);
#endif
      return p;
    }
  if (posix_memalign (&p, BS_HUGE_PAGE, bytes) != 0)
    return NULL;
#ifdef MADV_HUGEPAGE
  madvise (p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

static BsVolume *
volume_new (int nx, int ny, int nz, int n_channels, gboolean zero)
{
  g_return_val_if_fail (nx > 0 && ny > 0 && nz > 0 && n_channels > 0, NULL);

  BsVolume *vol = g_new0 (BsVolume, 1);
  vol->dims[0] = nx;
  vol->dims[1] = ny;
  vol->dims[2] = nz;
  vol->n_channels = n_channels;
  for (int a = 0; a < 3; a++)
    vol->spacing[a] = 1.0;
  for (int r = 0; r < 4; r++)
    vol->affine[r][r] = 1.0;
  /* A size derived from a file header must fail softly rather than abort
   * the whole application. */
  vol->data = alloc_voxels ((gsize) n_channels * bs_volume_n_voxels (vol), zero);
  if (vol->data == NULL)
    {
      g_free (vol);
      return NULL;
    }
  vol->channel_names = g_new0 (char *, n_channels + 1);
  for (int c = 0; c < n_channels; c++)
    vol->channel_names[c] = g_strdup_printf ("channel%d", c);
  return vol;
}

BsVolume *
bs_volume_new (int nx, int ny, int nz, int n_channels)
{
  return volume_new (nx, ny, nz, n_channels, TRUE);
}

BsVolume *
bs_volume_new_uninitialized (int nx, int ny, int nz, int n_channels)
{
  return volume_new (nx, ny, nz, n_channels, FALSE);
}

BsVolume *
bs_volume_copy (const BsVolume *vol)
{
  BsVolume *copy = g_new0 (BsVolume, 1);
  *copy = *vol;
  copy->channel_names = g_strdupv (vol->channel_names);
  copy->path = g_strdup (vol->path);
  gsize n = (gsize) vol->n_channels * bs_volume_n_voxels (vol);
  copy->data = alloc_voxels (n, FALSE);
  if (copy->data == NULL)
    {
      g_strfreev (copy->channel_names);
      g_free (copy->path);
      g_free (copy);
      return NULL;
    }
  memcpy (copy->data, vol->data, n * sizeof (float));
  return copy;
}

void
bs_volume_free (BsVolume *vol)
{
  if (vol == NULL)
    return;
  g_strfreev (vol->channel_names);
  g_free (vol->data);
  g_free (vol->path);
  g_free (vol);
}

static BsVolume *
new_like (const BsVolume *vol, int n_channels, gboolean zero)
{
  BsVolume *out = volume_new (vol->dims[0], vol->dims[1], vol->dims[2], n_channels, zero);
  if (out == NULL)
    return NULL;
  memcpy (out->spacing, vol->spacing, sizeof out->spacing);
  memcpy (out->affine, vol->affine, sizeof out->affine);
  memcpy (out->source_dims, vol->source_dims, sizeof out->source_dims);
  memcpy (out->source_spacing, vol->source_spacing, sizeof out->source_spacing);
  memcpy (out->source_affine, vol->source_affine, sizeof out->source_affine);
  return out;
}

BsVolume *
bs_volume_new_like (const BsVolume *vol, int n_channels)
{
  return new_like (vol, n_channels, TRUE);
}

BsVolume *
bs_volume_new_uninitialized_like (const BsVolume *vol, int n_channels)
{
  return new_like (vol, n_channels, FALSE);
}

BsVolume *
bs_volume_extract_channel (const BsVolume *vol, int c)
{
  g_return_val_if_fail (c >= 0 && c < vol->n_channels, NULL);

  BsVolume *out = bs_volume_new_like (vol, 1);
  if (out == NULL)
    return NULL;
  memcpy (out->data, bs_volume_channel (vol, c), bs_volume_n_voxels (vol) * sizeof (float));
  g_free (out->channel_names[0]);
  out->channel_names[0] = g_strdup (vol->channel_names[c]);
  out->is_label = vol->is_label;
  out->path = g_strdup (vol->path);
  return out;
}

gboolean
bs_volume_same_geometry (const BsVolume *a, const BsVolume *b)
{
  for (int d = 0; d < 3; d++)
    if (a->dims[d] != b->dims[d])
      return FALSE;
  /* Headers written by different tools round the affine differently (float vs
   * double quaternions); a hundredth of a millimetre is far below a voxel. */
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++)
      if (fabs (a->affine[r][c] - b->affine[r][c]) > 1e-2)
        return FALSE;
  return TRUE;
}

gboolean
bs_affine_same_grid (const double a[4][4], const double b[4][4], char **why)
{
  double size_a[3], size_b[3], smallest = G_MAXDOUBLE;
  gboolean same = TRUE;

  for (int c = 0; c < 3; c++)
    {
      size_a[c] = sqrt (a[0][c] * a[0][c] + a[1][c] * a[1][c] + a[2][c] * a[2][c]);
      size_b[c] = sqrt (b[0][c] * b[0][c] + b[1][c] * b[1][c] + b[2][c] * b[2][c]);
      smallest = MIN (smallest, MIN (size_a[c], size_b[c]));
      for (int r = 0; r < 3; r++)
        same = same && fabs (a[r][c] - b[r][c]) <= 0.01 * MAX (size_a[c], size_b[c]);
    }
  for (int r = 0; r < 3; r++)
    same = same && fabs (a[r][3] - b[r][3]) <= 0.5 * smallest;
  if (!same && why != NULL)
    /* TRANSLATORS: two voxel grids side by side, e.g. "voxels of 1 x 1 x 1 mm
     * with the first at (0.0, -239.0, 0.0) mm against voxels of 2 x 2 x 2 mm
     * with the first at (0.0, -239.0, 0.0) mm" */
    *why = g_strdup_printf (_("voxels of %g x %g x %g mm with the first at (%.1f, %.1f, %.1f) mm against voxels of "
                              "%g x %g x %g mm with the first at (%.1f, %.1f, %.1f) mm"),
                            size_a[0], size_a[1], size_a[2], a[0][3], a[1][3], a[2][3], size_b[0], size_b[1],
                            size_b[2], b[0][3], b[1][3], b[2][3]);
  return same;
}

/* Canonical modality of a name as found in files and dataset.json. */
const char *
bs_modality_canonical (const char *name)
{
  static const struct {
    const char *alias;
    const char *canonical;
  } aliases[] = {
    { "flair", "FLAIR" }, { "t2f", "FLAIR" }, { "fla", "FLAIR" }, { "t2-flair", "FLAIR" },
    { "t1w", "T1w" }, { "t1", "T1w" }, { "t1n", "T1w" }, { "native", "T1w" },
    { "t1gd", "T1gd" }, { "t1c", "T1gd" }, { "t1ce", "T1gd" }, { "t1-gd", "T1gd" }, { "t1gad", "T1gd" },
    { "t1-ce", "T1gd" },
    { "t2w", "T2w" }, { "t2", "T2w" }, { "t2-weighted", "T2w" }, { "t1-weighted", "T1w" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (aliases); i++)
    if (g_ascii_strcasecmp (name, aliases[i].alias) == 0)
      return aliases[i].canonical;
  return name;
}

gboolean
bs_modality_is_known (const char *name)
{
  /* every canonical name is an alias of itself in bs_modality_canonical's table */
  return bs_modality_canonical (name) != name;
}

int
bs_volume_find_channel (const BsVolume *vol, const char *modality)
{
  const char *want = bs_modality_canonical (modality);

  for (int c = 0; c < vol->n_channels; c++)
    if (vol->channel_names && vol->channel_names[c] &&
        g_ascii_strcasecmp (bs_modality_canonical (vol->channel_names[c]), want) == 0)
      return c;
  return -1;
}

void
bs_volume_value_range (const BsVolume *vol, int channel, float *min, float *max)
{
  const float *p = bs_volume_channel (vol, channel);
  gsize n = bs_volume_n_voxels (vol);
  float lo = INFINITY, hi = -INFINITY;

  for (gsize i = 0; i < n; i++)
    {
      float v = p[i];
      if (v < lo)
        lo = v;
      if (v > hi)
        hi = v;
    }
  if (lo > hi)
    lo = hi = 0.0f;
  if (min)
    *min = lo;
  if (max)
    *max = hi;
}

/* ---- Orientation ---- */

/* For each voxel axis a: the world axis (0 = x/R, 1 = y/A, 2 = z/S) it follows
 * most closely and whether the voxel index increases towards +R/+A/+S. */
typedef struct {
  int world[3];
  int positive[3];
  int voxel_of_world[3];
} BsAxes;

static void
volume_axes (const BsVolume *vol, BsAxes *ax)
{
  double w[3][3]; /* w[a][r]: |direction of voxel axis a| along world axis r, normalised */
  gboolean used_voxel[3] = { FALSE }, used_world[3] = { FALSE };

  for (int a = 0; a < 3; a++)
    {
      double norm = 0.0;
      for (int r = 0; r < 3; r++)
        norm += vol->affine[r][a] * vol->affine[r][a];
      norm = sqrt (norm);
      for (int r = 0; r < 3; r++)
        w[a][r] = norm > 0.0 ? fabs (vol->affine[r][a]) / norm : (a == r ? 1.0 : 0.0);
    }
  /* Greedy, strongest pairing first (as nibabel's io_orientation does), so
   * that oblique affines get the codes other tools print and no two voxel
   * axes share a world axis. */
  for (int step = 0; step < 3; step++)
    {
      int best_a = -1, best_r = -1;
      double best = -1.0;
      for (int a = 0; a < 3; a++)
        for (int r = 0; r < 3; r++)
          if (!used_voxel[a] && !used_world[r] && w[a][r] > best)
            {
              best = w[a][r];
              best_a = a;
              best_r = r;
            }
      used_voxel[best_a] = used_world[best_r] = TRUE;
      ax->world[best_a] = best_r;
      ax->positive[best_a] = vol->affine[best_r][best_a] >= 0.0;
      ax->voxel_of_world[best_r] = best_a;
    }
}

void
bs_volume_orientation_code (const BsVolume *vol, char code[4])
{
  static const char pos[3] = { 'R', 'A', 'S' };
  static const char neg[3] = { 'L', 'P', 'I' };
  BsAxes ax;

  volume_axes (vol, &ax);
  for (int a = 0; a < 3; a++)
    code[a] = ax.positive[a] ? pos[ax.world[a]] : neg[ax.world[a]];
  code[3] = '\0';
}

/* How a displayed slice walks through the voxels: which voxel axis runs along
 * the columns, the rows and the slices, and in which direction. */
typedef struct {
  int axis[3];      /* x (columns), y (rows), slice */
  gboolean flip[3]; /* TRUE: display index 0 is the voxel index n - 1 */
} BsSliceMap;

static void
slice_map (const BsVolume *vol, BsPlane plane, BsSliceMap *m)
{
  BsAxes ax;
  /* World axes (0 = R, 1 = A, 2 = S) along columns, rows and slices.  Column 0
   * is the patient's right (axial, coronal) or anterior (sagittal); row 0 is
   * anterior (axial) or superior: always the positive end of its world axis. */
  static const int world[3][3] = {
    { 0, 1, 2 }, /* axial */
    { 0, 2, 1 }, /* coronal */
    { 1, 2, 0 }, /* sagittal */
  };
  int p = plane <= BS_PLANE_SAGITTAL ? (int) plane : 0;

  volume_axes (vol, &ax);
  for (int d = 0; d < 3; d++)
    m->axis[d] = ax.voxel_of_world[world[p][d]];
  m->flip[0] = ax.positive[m->axis[0]];
  m->flip[1] = ax.positive[m->axis[1]];
  /* Slice 0 is inferior (axial) or posterior (coronal): the negative end; for
   * sagittal it is the patient's right, the positive end of R. */
  m->flip[2] = plane == BS_PLANE_SAGITTAL ? ax.positive[m->axis[2]] : !ax.positive[m->axis[2]];
}

int
bs_volume_slice_axis (const BsVolume *vol, BsPlane plane, int d)
{
  BsSliceMap m;

  g_return_val_if_fail (d >= 0 && d < 3, 0);
  slice_map (vol, plane, &m);
  return m.axis[d];
}

int
bs_volume_n_slices (const BsVolume *vol, BsPlane plane)
{
  BsSliceMap m;
  slice_map (vol, plane, &m);
  return vol->dims[m.axis[2]];
}

void
bs_volume_slice_size (const BsVolume *vol, BsPlane plane, int *width, int *height)
{
  BsSliceMap m;
  slice_map (vol, plane, &m);
  if (width)
    *width = vol->dims[m.axis[0]];
  if (height)
    *height = vol->dims[m.axis[1]];
}

/* Start offset and strides (in floats) of a displayed slice within a channel. */
static void
slice_walk (const BsVolume *vol, BsPlane plane, int index, gssize *start, gssize *sx, gssize *sy,
            int *w, int *h)
{
  BsSliceMap m;
  gssize stride[3] = { 1, vol->dims[0], (gssize) vol->dims[0] * vol->dims[1] };
  gssize off = 0;

  slice_map (vol, plane, &m);
  *w = vol->dims[m.axis[0]];
  *h = vol->dims[m.axis[1]];
  int ns = vol->dims[m.axis[2]];
  int k = m.flip[2] ? ns - 1 - index : index;
  off += (gssize) k * stride[m.axis[2]];
  if (m.flip[0])
    {
      off += (gssize) (*w - 1) * stride[m.axis[0]];
      *sx = -stride[m.axis[0]];
    }
  else
    *sx = stride[m.axis[0]];
  if (m.flip[1])
    {
      off += (gssize) (*h - 1) * stride[m.axis[1]];
      *sy = -stride[m.axis[1]];
    }
  else
    *sy = stride[m.axis[1]];
  *start = off;
}

void
bs_volume_get_slice (const BsVolume *vol, int c, BsPlane plane, int index, float *out)
{
  gssize start, sx, sy;
  int w, h;

  g_return_if_fail (c >= 0 && c < vol->n_channels);
  g_return_if_fail (index >= 0 && index < bs_volume_n_slices (vol, plane));
  slice_walk (vol, plane, index, &start, &sx, &sy, &w, &h);
  const float *base = bs_volume_channel (vol, c) + start;
  for (int y = 0; y < h; y++)
    {
      const float *row = base + y * sy;
      float *o = out + (gsize) y * w;
      if (sx == 1)
        memcpy (o, row, (gsize) w * sizeof (float));
      else
        for (int x = 0; x < w; x++)
          o[x] = row[x * sx];
    }
}

void
bs_volume_get_window (const BsVolume *vol, int c, BsPlane plane, int index, int x0, int y0, int out_w, int out_h,
                      float *out)
{
  gssize start, sx, sy;
  int w, h, xa, xb;

  g_return_if_fail (c >= 0 && c < vol->n_channels);
  g_return_if_fail (index >= 0 && index < bs_volume_n_slices (vol, plane));
  slice_walk (vol, plane, index, &start, &sx, &sy, &w, &h);
  const float *base = bs_volume_channel (vol, c) + start;
  /* the window's columns that lie on the slice: [xa, xb) */
  xa = CLAMP (-x0, 0, out_w);
  xb = CLAMP (w - x0, xa, out_w);
  for (int y = 0; y < out_h; y++)
    {
      int t = y + y0;
      float *o = out + (gsize) y * out_w;

      if (t < 0 || t >= h)
        {
          memset (o, 0, (gsize) out_w * sizeof (float));
          continue;
        }
      const float *row = base + (gssize) t * sy;
      memset (o, 0, (gsize) xa * sizeof (float));
      if (sx == 1)
        memcpy (o + xa, row + xa + x0, (gsize) (xb - xa) * sizeof (float));
      else
        for (int x = xa; x < xb; x++)
          o[x] = row[(gssize) (x + x0) * sx];
      memset (o + xb, 0, (gsize) (out_w - xb) * sizeof (float));
    }
}

void
bs_volume_set_slice (BsVolume *vol, int c, BsPlane plane, int index, const float *in)
{
  gssize start, sx, sy;
  int w, h;

  g_return_if_fail (c >= 0 && c < vol->n_channels);
  g_return_if_fail (index >= 0 && index < bs_volume_n_slices (vol, plane));
  slice_walk (vol, plane, index, &start, &sx, &sy, &w, &h);
  float *base = bs_volume_channel (vol, c) + start;
  for (int y = 0; y < h; y++)
    {
      float *row = base + y * sy;
      const float *src = in + (gsize) y * w;
      for (int x = 0; x < w; x++)
        row[x * sx] = src[x];
    }
}

/* The pixels [x0, x1] x [y0, y1] of a displayed slice that lie in the
 * inclusive voxel box [lo, hi] (empty: x0 > x1 or y0 > y1), and the slice's
 * walk; FALSE when the slice misses the box. */
static gboolean
slice_box (const BsVolume *vol, BsPlane plane, int index, const int lo[3], const int hi[3], gssize *start,
           gssize *sx, gssize *sy, int *w, int *x0, int *x1, int *y0, int *y1)
{
  BsSliceMap m;
  int h, t;

  slice_map (vol, plane, &m);
  t = m.flip[2] ? vol->dims[m.axis[2]] - 1 - index : index;
  if (t < lo[m.axis[2]] || t > hi[m.axis[2]])
    return FALSE;
  slice_walk (vol, plane, index, start, sx, sy, w, &h);
  /* the box's pixels along each displayed axis */
  *x0 = MAX (lo[m.axis[0]], 0);
  *x1 = MIN (hi[m.axis[0]], *w - 1);
  *y0 = MAX (lo[m.axis[1]], 0);
  *y1 = MIN (hi[m.axis[1]], h - 1);
  if (m.flip[0])
    {
      int a = *w - 1 - *x1;
      *x1 = *w - 1 - *x0;
      *x0 = a;
    }
  if (m.flip[1])
    {
      int a = h - 1 - *y1;
      *y1 = h - 1 - *y0;
      *y0 = a;
    }
  return TRUE;
}

void
bs_volume_add_slice_box (BsVolume *vol, int c, BsPlane plane, int index, const float *in, const int lo[3],
                         const int hi[3])
{
  int w, h;

  /* the whole slice is a window of it */
  bs_volume_slice_size (vol, plane, &w, &h);
  bs_volume_add_window_box (vol, c, plane, index, in, 0, 0, w, h, lo, hi);
}

void
bs_volume_add_window_box (BsVolume *vol, int c, BsPlane plane, int index, const float *win, int wx0, int wy0,
                          int ww, int wh, const int lo[3], const int hi[3])
{
  gssize start, sx, sy;
  int w, x0, x1, y0, y1;

  g_return_if_fail (c >= 0 && c < vol->n_channels);
  g_return_if_fail (index >= 0 && index < bs_volume_n_slices (vol, plane));
  if (!slice_box (vol, plane, index, lo, hi, &start, &sx, &sy, &w, &x0, &x1, &y0, &y1))
    return;
  /* Pixels of the box outside the window would add 0: they are skipped. */
  x0 = MAX (x0, wx0);
  x1 = MIN (x1, wx0 + ww - 1);
  y0 = MAX (y0, wy0);
  y1 = MIN (y1, wy0 + wh - 1);
  float *base = bs_volume_channel (vol, c) + start;
  for (int y = y0; y <= y1; y++)
    {
      float *row = base + y * sy;
      const float *src = win + (gsize) (y - wy0) * ww - wx0;

      for (int x = x0; x <= x1; x++)
        row[x * sx] += src[x];
    }
}

void
bs_volume_slice_to_voxel (const BsVolume *vol, BsPlane plane, int index, int x, int y, int ijk[3])
{
  BsSliceMap m;
  int pos[3] = { x, y, index };

  slice_map (vol, plane, &m);
  for (int d = 0; d < 3; d++)
    {
      int n = vol->dims[m.axis[d]];
      ijk[m.axis[d]] = m.flip[d] ? n - 1 - pos[d] : pos[d];
    }
}

BsVolume *
bs_volume_reorient_like (const BsVolume *vol, const BsVolume *like)
{
  int w1, h1, w2, h2;

  bs_volume_slice_size (vol, BS_PLANE_AXIAL, &w1, &h1);
  bs_volume_slice_size (like, BS_PLANE_AXIAL, &w2, &h2);
  if (w1 != w2 || h1 != h2 || bs_volume_n_slices (vol, BS_PLANE_AXIAL) != bs_volume_n_slices (like, BS_PLANE_AXIAL))
    return NULL;

  BsVolume *out = bs_volume_new_like (like, vol->n_channels);
  if (out == NULL)
    return NULL;
  g_autofree float *buf = g_new (float, (gsize) w1 * h1);
  /* Displayed slices are in world order whatever the voxel order, so
   * copying them slice by slice carries every voxel to its place. */
  for (int c = 0; c < vol->n_channels; c++)
    for (int s = 0; s < bs_volume_n_slices (vol, BS_PLANE_AXIAL); s++)
      {
        bs_volume_get_slice (vol, c, BS_PLANE_AXIAL, s, buf);
        bs_volume_set_slice (out, c, BS_PLANE_AXIAL, s, buf);
      }
  g_strfreev (out->channel_names);
  out->channel_names = g_strdupv (vol->channel_names);
  out->is_label = vol->is_label;
  out->path = g_strdup (vol->path);
  out->n_nonfinite = vol->n_nonfinite;
  return out;
}

void
bs_volume_plane_letters (const BsVolume *vol, BsPlane plane, char letters[4])
{
  /* Slices are always resampled into the radiological convention, so the
   * edges are fixed per plane whatever the file's voxel order. */
  static const char edges[3][4] = {
    { 'R', 'L', 'A', 'P' },
    { 'R', 'L', 'S', 'I' },
    { 'A', 'P', 'S', 'I' },
  };
  memcpy (letters, edges[plane <= BS_PLANE_SAGITTAL ? plane : 0], 4);
}

const char *
bs_plane_name (BsPlane plane)
{
  switch (plane)
    {
    case BS_PLANE_CORONAL:
      return "coronal";
    case BS_PLANE_SAGITTAL:
      return "sagittal";
    case BS_PLANE_AXIAL:
    default:
      return "axial";
    }
}

gboolean
bs_plane_from_string (const char *s, BsPlane *plane)
{
  static const BsPlane planes[] = { BS_PLANE_AXIAL, BS_PLANE_CORONAL, BS_PLANE_SAGITTAL };

  if (s == NULL)
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (planes); i++)
    if (g_ascii_strcasecmp (s, bs_plane_name (planes[i])) == 0)
      {
        if (plane)
          *plane = planes[i];
        return TRUE;
      }
  return FALSE;
}

/* One axis of a rescale: output voxel i reads input voxels lo[i] and hi[i]
 * with weights 1 - w[i] and w[i] (nearest: lo[i] alone). */
typedef struct {
  int *lo, *hi;
  float *w;
} RescaleAxis;

typedef struct {
  const BsVolume *in;
  BsVolume *out;
  RescaleAxis ax[3];
} RescaleJob;

static void
rescale_axis_init (RescaleAxis *a, int n_in, int n_out, gboolean nearest)
{
  double r = (double) n_in / n_out;

  a->lo = g_new (int, n_out);
  a->hi = g_new (int, n_out);
  a->w = g_new (float, n_out);
  for (int i = 0; i < n_out; i++)
    {
      /* the output voxel's centre in input voxels */
      double x = CLAMP ((i + 0.5) * r - 0.5, 0.0, (double) (n_in - 1));
      int f = (int) floor (x);

      if (nearest)
        {
          a->lo[i] = a->hi[i] = MIN ((int) floor (x + 0.5), n_in - 1);
          a->w[i] = 0.0f;
        }
      else
        {
          a->lo[i] = f;
          a->hi[i] = MIN (f + 1, n_in - 1);
          a->w[i] = (float) (x - f);
        }
    }
}

static void
rescale_axis_clear (RescaleAxis *a)
{
  g_free (a->lo);
  g_free (a->hi);
  g_free (a->w);
}

/* Output rows (channel, k, j) begin..end. */
static void
rescale_rows (int begin, int end, gpointer user_data)
{
  RescaleJob *job = user_data;
  const BsVolume *in = job->in;
  BsVolume *out = job->out;
  int nx = out->dims[0], ny = out->dims[1], nz = out->dims[2];
  gsize in_n = bs_volume_n_voxels (in), in_row = (gsize) in->dims[0], in_slice = in_row * in->dims[1];

  for (int r = begin; r < end; r++)
    {
      int c = r / (ny * nz), k = r / ny % nz, j = r % ny;
      const float *src = in->data + (gsize) c * in_n;
      float *dst = out->data + ((gsize) c * nz * ny + (gsize) k * ny + j) * nx;
      float wk = job->ax[2].w[k], wj = job->ax[1].w[j];
      const float *s00 = src + job->ax[2].lo[k] * in_slice + job->ax[1].lo[j] * in_row;
      const float *s01 = src + job->ax[2].lo[k] * in_slice + job->ax[1].hi[j] * in_row;
      const float *s10 = src + job->ax[2].hi[k] * in_slice + job->ax[1].lo[j] * in_row;
      const float *s11 = src + job->ax[2].hi[k] * in_slice + job->ax[1].hi[j] * in_row;

      for (int i = 0; i < nx; i++)
        {
          int lo = job->ax[0].lo[i], hi = job->ax[0].hi[i];
          float wi = job->ax[0].w[i];
          float a = s00[lo] + wi * (s00[hi] - s00[lo]), b = s01[lo] + wi * (s01[hi] - s01[lo]);
          float cc = s10[lo] + wi * (s10[hi] - s10[lo]), d = s11[lo] + wi * (s11[hi] - s11[lo]);
          float e = a + wj * (b - a), f = cc + wj * (d - cc);

          dst[i] = e + wk * (f - e);
        }
    }
}

static BsVolume *
rescale_into (const BsVolume *vol, const int new_dims[3], gboolean nearest)
{
  BsVolume *out = bs_volume_new_uninitialized (new_dims[0], new_dims[1], new_dims[2], vol->n_channels);
  RescaleJob job = { vol, out, { { 0 } } };

  if (out == NULL)
    return NULL;
  for (int a = 0; a < 3; a++)
    rescale_axis_init (&job.ax[a], vol->dims[a], new_dims[a], nearest);
  bs_parallel_for_range (vol->n_channels * new_dims[1] * new_dims[2], 16, rescale_rows, &job);
  for (int a = 0; a < 3; a++)
    rescale_axis_clear (&job.ax[a]);
  g_strfreev (out->channel_names);
  out->channel_names = g_strdupv (vol->channel_names);
  out->is_label = vol->is_label;
  out->path = g_strdup (vol->path);
  return out;
}

BsVolume *
bs_volume_rescale (const BsVolume *vol, const int new_dims[3], gboolean nearest)
{
  BsVolume *out;

  g_return_val_if_fail (vol != NULL && new_dims[0] > 0 && new_dims[1] > 0 && new_dims[2] > 0, NULL);
  out = rescale_into (vol, new_dims, nearest);
  if (out == NULL)
    return NULL;
  for (int k = 0; k < 3; k++)
    {
      double r = (double) vol->dims[k] / new_dims[k];

      out->spacing[k] = vol->spacing[k] * r;
      for (int row = 0; row < 3; row++)
        {
          out->affine[row][k] = vol->affine[row][k] * r;
          out->affine[row][3] += vol->affine[row][k] * 0.5 * (r - 1.0);
        }
    }
  for (int row = 0; row < 3; row++)
    out->affine[row][3] += vol->affine[row][3];
  out->affine[3][3] = 1.0;
  if (bs_volume_has_source (vol))
    {
      memcpy (out->source_dims, vol->source_dims, sizeof out->source_dims);
      memcpy (out->source_spacing, vol->source_spacing, sizeof out->source_spacing);
      memcpy (out->source_affine, vol->source_affine, sizeof out->source_affine);
    }
  else
    {
      memcpy (out->source_dims, vol->dims, sizeof out->source_dims);
      memcpy (out->source_spacing, vol->spacing, sizeof out->source_spacing);
      memcpy (out->source_affine, vol->affine, sizeof out->source_affine);
    }
  return out;
}

gboolean
bs_volume_has_source (const BsVolume *vol)
{
  return vol->source_dims[0] > 0;
}

void
bs_volume_voxel_in_source (const BsVolume *vol, const int ijk[3], int out[3])
{
  for (int a = 0; a < 3; a++)
    {
      double x;

      if (!bs_volume_has_source (vol))
        {
          out[a] = ijk[a];
          continue;
        }
      x = (ijk[a] + 0.5) * vol->source_dims[a] / vol->dims[a] - 0.5;
      out[a] = CLAMP ((int) floor (x + 0.5), 0, vol->source_dims[a] - 1);
    }
}

BsVolume *
bs_volume_to_source (const BsVolume *vol, gboolean nearest)
{
  BsVolume *out;

  if (!bs_volume_has_source (vol))
    return bs_volume_copy (vol);
  out = rescale_into (vol, vol->source_dims, nearest);
  if (out == NULL)
    return NULL;
  memcpy (out->spacing, vol->source_spacing, sizeof out->spacing);
  memcpy (out->affine, vol->source_affine, sizeof out->affine);
  return out;
}

double
bs_volume_pixel_aspect (const BsVolume *vol, BsPlane plane)
{
  double w = vol->spacing[bs_volume_slice_axis (vol, plane, 0)], h = vol->spacing[bs_volume_slice_axis (vol, plane, 1)];

  return w > 0 && h > 0 && isfinite (h / w) ? h / w : 1.0;
}
