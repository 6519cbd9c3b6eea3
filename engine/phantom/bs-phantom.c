/* Synthetic brain tumour MRI (see bs-phantom.h).
 *
 * The head is built as a tissue map first (outside, CSF, ventricles, grey and
 * white matter, deep grey nuclei), then a tumour is placed and labelled, and
 * only then are the four modalities painted from per-tissue intensities,
 * blurred a little for partial volume, multiplied by a bias field and given
 * Rician noise.  Cortical grey matter is not drawn explicitly: it is whatever
 * tissue lies within a few millimetres of cortical CSF (the outer surface,
 * sulci and fissures), found with a chamfer distance transform, so the ribbon
 * follows every fold the sulci make.
 *
 * All randomness comes from one xoshiro256** stream per case (and one per
 * slice for the noise), seeded with splitmix64, so a case depends only on
 * (seed, case index, dims). */
#include "bs-phantom.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <nifti1.h>

#include "bs-error.h"
#include "bs-nifti.h"
#include "bs-parallel.h"
#include "bs-phantom-config.h"
#include "bs-phantom-private.h"
#include "bs-random.h"

/* ---- random numbers ---- */

typedef struct {
  guint64 s[4];
} Rng;

static void
rng_seed (Rng *rng, guint64 seed)
{
  for (int i = 0; i < 4; i++)
    rng->s[i] = bs_splitmix64 (&seed);
}

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static guint64
rng_next (Rng *rng)
{
  guint64 *s = rng->s;
  guint64 result = rotl (s[1] * 5, 7) * 9;
  guint64 t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

/* Uniform in [0, 1). */
static double
rng_uniform (Rng *rng)
{
  return bs_random_unit (rng_next (rng));
}

static double
rng_range (Rng *rng, double lo, double hi)
{
  return lo + (hi - lo) * rng_uniform (rng);
}

/* Two independent standard normals (Box-Muller). */
static void
rng_normal2 (Rng *rng, double *a, double *b)
{
  double u = 1.0 - rng_uniform (rng); /* (0, 1] so the log is finite */
  double v = rng_uniform (rng);
  double r = sqrt (-2.0 * log (u));

  *a = r * cos (2.0 * G_PI * v);
  *b = r * sin (2.0 * G_PI * v);
}

/* ---- smooth noise (the rest is in bs-phantom-anatomy.c) ---- */

static void
noise_init (Noise *noise, Rng *rng, double cell_mm, const int dims[3])
{
  gsize count;

  noise->inv_cell = 1.0 / cell_mm;
  /* One cell of margin on each side, since warped coordinates can step a
   * little outside the volume. */
  for (int a = 0; a < 3; a++)
    noise->n[a] = (int) ceil (dims[a] * noise->inv_cell) + 4;
  count = (gsize) noise->n[0] * noise->n[1] * noise->n[2];
  noise->grad = g_new (float, 3 * count);
  for (gsize i = 0; i < count; i++)
    {
      double g[3], len;
      do
        {
          rng_normal2 (rng, &g[0], &g[1]);
          rng_normal2 (rng, &g[2], &len);
          len = sqrt (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
        }
      while (len < 1e-6);
      for (int a = 0; a < 3; a++)
        noise->grad[3 * i + a] = (float) (g[a] / len);
    }
}

/* ---- the case description ---- */


const char *const bs_ph_channel_names[N_CHANNELS] = { "FLAIR", "T1w", "T1gd", "T2w" };

/* Raw intensities (before bias and noise) of a typical 3T protocol, in the
 * ranges real BraTS files have.  Order: FLAIR, T1w, T1gd, T2w. */
static const float tissue_intensity[N_TISSUES][N_CHANNELS] = {
  [T_OUT] = { 0, 0, 0, 0 },
  [T_CSF] = { 130, 330, 950, 2300 },
  [T_VENT] = { 110, 310, 900, 2350 },
  [T_CORTEX] = { 1150, 800, 2450, 700 },
  [T_CEREB] = { 1150, 800, 2450, 700 },
  [T_WM] = { 850, 1100, 3000, 480 },
  [T_DGM] = { 1020, 930, 2650, 610 },
  [T_GM] = { 1150, 800, 2450, 700 },
  [T_CHOROID] = { 700, 700, 4200, 1500 },
};
static const float vein_intensity[N_CHANNELS] = { 300, 500, 4200, 350 };
static const float necrosis_intensity[N_CHANNELS] = { 1000, 420, 1150, 1950 };
static const float enhancing_intensity[N_CHANNELS] = { 1300, 830, 6000, 1150 };
static const float edema_intensity[N_CHANNELS] = { 2000, 700, 2150, 1450 };
/* Noise standard deviation per channel, relative to the white matter level. */
static const float noise_level[N_CHANNELS] = { 0.045f, 0.04f, 0.04f, 0.05f };

/* ---- tumour ---- */

/* Normalised tumour radius at p: < core < 1 tumour, 1 .. edema extent edema.
 * The boundary is lobulated (a few random bulges) and rough. */
static double
tumour_radius (const Phantom *ph, const double dir[3])
{
  double lobes = -0.08;

  for (int m = 0; m < N_LOBES; m++)
    {
      double dot = dir[0] * ph->lobe_dir[m][0] + dir[1] * ph->lobe_dir[m][1] + dir[2] * ph->lobe_dir[m][2];
      if (dot > 0.0)
        lobes += ph->lobe_amp[m] * dot * dot * dot;
    }
  lobes += 0.3 * bs_ph_noise_eval (&ph->tum_shape, ph->tc[0] + dir[0] * ph->tr, ph->tc[1] + dir[1] * ph->tr,
                              ph->tc[2] + dir[2] * ph->tr);
  return ph->tr * (1.0 + lobes);
}

static double
tumour_t (const Phantom *ph, double x, double y, double z)
{
  double d[3] = { x - ph->tc[0], y - ph->tc[1], z - ph->tc[2] };
  double r = sqrt (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  double dir[3];

  if (r < 1e-6)
    return 0.0;
  for (int a = 0; a < 3; a++)
    dir[a] = d[a] / r;
  return r / tumour_radius (ph, dir) * (1.0 - 0.08 * bs_ph_noise_eval (&ph->tum_fine, x, y, z));
}

static void
sphere_point (int i, int n, double dir[3])
{
  double z = 1.0 - (2.0 * i + 1.0) / n;
  double phi = i * 2.399963229728653; /* golden angle spiral */
  double r = sqrt (1.0 - z * z);

  dir[0] = r * cos (phi);
  dir[1] = r * sin (phi);
  dir[2] = z;
}

/* Largest distance from the centre at which tumour_t reaches 1, for placement. */
static double
tumour_max_extent (const Phantom *ph)
{
  double best = 0.0;
  for (int i = 0; i < 400; i++)
    {
      double dir[3];
      sphere_point (i, 400, dir);
      best = MAX (best, tumour_radius (ph, dir));
    }
  return best * 1.08;
}

static gboolean
tumour_fits (const Phantom *ph, double reach)
{
  /* every point of a sphere around the centre must be cerebral tissue */
  for (int i = 0; i < 200; i++)
    {
      double dir[3], u, v, w, lx, ly, lz;
      sphere_point (i, 200, dir);
      double p[3] = { ph->tc[0] + reach * dir[0], ph->tc[1] + reach * dir[1], ph->tc[2] + reach * dir[2] };
      double rho = bs_ph_cerebrum_rho (ph, p[0], p[1], p[2], &u, &v, &w);
      if (rho > 0.92 || (w < -0.25 && v < 0.42))
        return FALSE;
      if (bs_ph_cerebellum_rho (ph, p[0], p[1], p[2], &lx, &ly, &lz) < 1.2)
        return FALSE;
    }
  return TRUE;
}

static void
phantom_setup (Phantom *ph, Rng *rng, int nx, int ny, int nz)
{
  double s;

  memset (ph, 0, sizeof *ph);
  ph->dims[0] = nx;
  ph->dims[1] = ny;
  ph->dims[2] = nz;
  s = MIN (MIN (nx / 240.0, ny / 240.0), nz / 155.0);
  ph->scale = s;
  ph->fine = MAX (s, 0.55);
  ph->ax[0] = s * rng_range (rng, 66.0, 73.0);
  ph->ax[1] = s * rng_range (rng, 82.0, 88.0);
  ph->ax[2] = s * rng_range (rng, 60.0, 64.0);
  ph->c[0] = 0.5 * (nx - 1) + s * rng_range (rng, -2.0, 2.0);
  ph->c[1] = 0.5 * (ny - 1) + s * rng_range (rng, -3.0, 3.0);
  ph->c[2] = 0.535 * (nz - 1);
  ph->midline_tilt = rng_range (rng, -0.04, 0.04);
  ph->vent_size = rng_range (rng, 0.85, 1.35);

  noise_init (&ph->surf, rng, 22.0 * ph->fine, ph->dims);
  noise_init (&ph->sulc, rng, 13.0 * ph->fine, ph->dims);
  noise_init (&ph->sulc2, rng, 9.0 * ph->fine, ph->dims);
  noise_init (&ph->sulc_depth, rng, 25.0 * ph->fine, ph->dims);
  noise_init (&ph->thick, rng, 12.0 * ph->fine, ph->dims);
  noise_init (&ph->folia, rng, 14.0 * ph->fine, ph->dims);
  noise_init (&ph->tum_shape, rng, 9.0 * ph->fine, ph->dims);
  noise_init (&ph->tum_fine, rng, 3.5 * ph->fine, ph->dims);
  noise_init (&ph->tum_het, rng, 4.0 * ph->fine, ph->dims);
  noise_init (&ph->edema, rng, 10.0 * ph->fine, ph->dims);
  noise_init (&ph->texture, rng, 3.0 * ph->fine, ph->dims);
  noise_init (&ph->bias, rng, 110.0 * s + 20.0, ph->dims);
  noise_init (&ph->bias2, rng, 70.0 * s + 15.0, ph->dims);

  for (int ch = 0; ch < N_CHANNELS; ch++)
    {
      ph->gain[ch] = rng_range (rng, 0.75, 1.25);
      ph->bias_amp[ch] = rng_range (rng, 0.12, 0.22);
    }

  /* the tumour: shape first, then a place where it fits */
  ph->tr = s * rng_range (rng, 15.0, 26.0);
  ph->core_frac = rng_range (rng, 0.58, 0.76);
  ph->edema_frac = rng_range (rng, 1.6, 2.3);
  for (int m = 0; m < N_LOBES; m++)
    {
      double g[3], len;
      do
        {
          rng_normal2 (rng, &g[0], &g[1]);
          rng_normal2 (rng, &g[2], &len);
          len = sqrt (g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
        }
      while (len < 1e-6);
      for (int a = 0; a < 3; a++)
        ph->lobe_dir[m][a] = g[a] / len;
      ph->lobe_amp[m] = rng_range (rng, 0.08, 0.38);
    }
  for (int attempt = 0; attempt < 1000; attempt++)
    {
      double side = rng_uniform (rng) < 0.5 ? -1.0 : 1.0;
      double u = side * rng_range (rng, 0.12, 0.65);
      double v = rng_range (rng, -0.6, 0.65);
      double w = rng_range (rng, -0.15, 0.45);
      ph->tc[0] = ph->c[0] + u * ph->ax[0];
      ph->tc[1] = ph->c[1] + v * ph->ax[1];
      ph->tc[2] = ph->c[2] + w * ph->ax[2];
      if (tumour_fits (ph, tumour_max_extent (ph) + 3.0 * ph->fine))
        break;
      if (attempt % 8 == 7)
        {
          /* too big to fit anywhere tried: shrink it */
          ph->tr *= 0.9;
          ph->edema_frac = MAX (1.3, ph->edema_frac * 0.95);
        }
      /* (a tumour that has shrunk to nothing fits anywhere, so this ends) */
    }
  ph->mass_amp = 0.45 * ph->tr;
  ph->mass_len = 1.7 * ph->tr;
  /* drawn last so that every earlier draw stays as it was */
  ph->necrosis_flair = rng_range (rng, 0.25, 1.15);
}

/* ---- building the maps ---- */

typedef struct {
  int lo[3], hi[3]; /* inclusive */
} Box;

/* Chamfer (3-4-5) distance, in thirds of a millimetre, from every voxel to
 * the nearest source voxel (d == 0), within box, whose faces are sources. */
static void
chamfer_distance (guint16 *d, const int dims[3], const Box *box)
{
  gsize sx = 1, sy = (gsize) dims[0], sz = (gsize) dims[0] * dims[1];

  for (int pass = 0; pass < 2; pass++)
    {
      int step = pass == 0 ? 1 : -1;
      int k0 = pass == 0 ? box->lo[2] + 1 : box->hi[2] - 1, k1 = pass == 0 ? box->hi[2] : box->lo[2];
      int j0 = pass == 0 ? box->lo[1] + 1 : box->hi[1] - 1, j1 = pass == 0 ? box->hi[1] : box->lo[1];
      int i0 = pass == 0 ? box->lo[0] + 1 : box->hi[0] - 1, i1 = pass == 0 ? box->hi[0] : box->lo[0];
      /* the 13 neighbours already visited in this scan direction */
      gssize off[13];
      guint16 wt[13];
      int n = 0;
      for (int dk = -1; dk <= 0; dk++)
        for (int dj = -1; dj <= 1; dj++)
          for (int di = -1; di <= 1; di++)
            {
              if (dk == 0 && (dj > 0 || (dj == 0 && di >= 0)))
                continue;
              off[n] = step * ((gssize) dk * (gssize) sz + (gssize) dj * (gssize) sy + (gssize) di * (gssize) sx);
              wt[n] = (guint16) ((abs (di) + abs (dj) + abs (dk)) + 2);
              n++;
            }
      for (int k = k0; k != k1; k += step)
        for (int j = j0; j != j1; j += step)
          {
            guint16 *row = d + (gsize) k * sz + (gsize) j * sy;
            for (int i = i0; i != i1; i += step)
              {
                guint16 *p = row + i;
                guint best = *p;
                if (best == 0)
                  continue;
                for (int m = 0; m < 13; m++)
                  {
                    guint cand = (guint) p[off[m]] + wt[m];
                    if (cand < best)
                      best = cand;
                  }
                *p = (guint16) best;
              }
          }
    }
}

static inline gsize
vidx (const int dims[3], int i, int j, int k)
{
  return ((gsize) k * dims[1] + j) * dims[0] + i;
}

typedef struct {
  const Phantom *ph;
  guint8 *tissue;
  guint16 *dist;
  const guint8 *label;
  const float *tval;
  const Box *box;
  BsVolume *image;
  guint64 stream;
} Job;

static void
classify_slices (int k0, int k1, gpointer data)
{
  Job *job = data;
  const int *dims = job->ph->dims;

  for (int k = k0; k < k1; k++)
    for (int j = 0; j < dims[1]; j++)
      for (int i = 0; i < dims[0]; i++)
        {
          gsize idx = vidx (dims, i, j, k);
          guint8 t = bs_ph_classify (job->ph, i, j, k);
          job->tissue[idx] = t;
          job->dist[idx] = (t == T_OUT || t == T_CSF) ? 0 : G_MAXUINT16 / 2;
        }
}

/* Tissue classes: anatomy, then grey/white from the depth below cortical CSF. */
static void
build_tissue (const Phantom *ph, guint8 *tissue, guint16 *dist, Box *brain_box)
{
  const int *dims = ph->dims;
  Box box = { { dims[0], dims[1], dims[2] }, { -1, -1, -1 } };
  Job job = { .ph = ph, .tissue = tissue, .dist = dist };

  bs_parallel_for_range (dims[2], 2, classify_slices, &job);
  for (int k = 0; k < dims[2]; k++)
    for (int j = 0; j < dims[1]; j++)
      for (int i = 0; i < dims[0]; i++)
        if (tissue[vidx (dims, i, j, k)] != T_OUT)
          {
            int p[3] = { i, j, k };
            for (int a = 0; a < 3; a++)
              {
                box.lo[a] = MIN (box.lo[a], p[a]);
                box.hi[a] = MAX (box.hi[a], p[a]);
              }
          }
  if (box.hi[0] < 0)
    {
      memset (brain_box, 0, sizeof *brain_box);
      return;
    }

  /* Voxels on the volume's faces count as sources so the scan never steps out. */
  {
    Box scan;
    for (int a = 0; a < 3; a++)
      {
        scan.lo[a] = MAX (0, box.lo[a] - 1);
        scan.hi[a] = MIN (dims[a] - 1, box.hi[a] + 1);
      }
    for (int k = scan.lo[2]; k <= scan.hi[2]; k++)
      for (int j = scan.lo[1]; j <= scan.hi[1]; j++)
        for (int i = scan.lo[0]; i <= scan.hi[0]; i++)
          if (i == scan.lo[0] || i == scan.hi[0] || j == scan.lo[1] || j == scan.hi[1] ||
              k == scan.lo[2] || k == scan.hi[2])
            dist[vidx (dims, i, j, k)] = 0;
    chamfer_distance (dist, dims, &scan);
  }

  for (int k = box.lo[2]; k <= box.hi[2]; k++)
    for (int j = box.lo[1]; j <= box.hi[1]; j++)
      for (int i = box.lo[0]; i <= box.hi[0]; i++)
        {
          gsize idx = vidx (dims, i, j, k);
          guint8 t = tissue[idx];
          if (t == T_CORTEX || t == T_CEREB)
            {
              double thick = ph->fine * (2.7 + 0.8 * bs_ph_noise_eval (&ph->thick, i, j, k));
              if (t == T_CEREB)
                thick *= 1.7;
              tissue[idx] = dist[idx] < 3.0 * thick ? T_GM : T_WM;
            }
        }
  *brain_box = box;
}

static gboolean
is_tumour (guint8 l)
{
  return l == BS_PHANTOM_CORE || l == BS_PHANTOM_ENHANCING;
}

/* Labels and the normalised tumour radius (for grading the edema). */
static void
build_labels (const Phantom *ph, guint8 *tissue, guint8 *label, float *tval)
{
  const int *dims = ph->dims;
  double reach = tumour_max_extent (ph) * ph->edema_frac * 1.3 + 2.0;  /* edema noise included */
  int lo[3], hi[3];
  const int nb[6][3] = { { 1, 0, 0 }, { -1, 0, 0 }, { 0, 1, 0 }, { 0, -1, 0 }, { 0, 0, 1 }, { 0, 0, -1 } };

  for (int a = 0; a < 3; a++)
    {
      lo[a] = MAX (1, (int) floor (ph->tc[a] - reach));
      hi[a] = MIN (dims[a] - 2, (int) ceil (ph->tc[a] + reach));
    }
  for (int k = lo[2]; k <= hi[2]; k++)
    for (int j = lo[1]; j <= hi[1]; j++)
      for (int i = lo[0]; i <= hi[0]; i++)
        {
          gsize idx = vidx (dims, i, j, k);
          double t = tumour_t (ph, i, j, k);
          guint8 tt = tissue[idx];
          tval[idx] = (float) t;
          if (t < 1.0)
            {
              /* a rim of uneven thickness around an irregular necrosis */
              double core = MIN (0.82, ph->core_frac * (1.0 + 0.35 * bs_ph_noise_eval (&ph->tum_shape, i * 0.8, j * 0.8, k * 0.8) +
                                                        0.12 * bs_ph_noise_eval (&ph->tum_het, i, j, k)));
              label[idx] = t < core ? BS_PHANTOM_CORE : BS_PHANTOM_ENHANCING;
            }
          else if (tt != T_OUT)
            {
              double ext = ph->edema_frac * (1.0 + 0.22 * bs_ph_noise_eval (&ph->edema, i, j, k));
              /* edema spreads along white matter and mostly spares the cortex */
              if ((tt == T_WM && t < ext) || ((tt == T_GM || tt == T_DGM) && t < 1.0 + 0.3 * (ext - 1.0)))
                label[idx] = BS_PHANTOM_EDEMA;
            }
        }

  /* The rim closes around the core and edema around the tumour, as in real
   * glioblastoma; noise can leave gaps of a voxel, filled here. */
  for (int pass = 0; pass < 2; pass++)
    for (int k = lo[2]; k <= hi[2]; k++)
      for (int j = lo[1]; j <= hi[1]; j++)
        for (int i = lo[0]; i <= hi[0]; i++)
          {
            guint8 l = label[vidx (dims, i, j, k)];
            if (pass == 0 ? l != BS_PHANTOM_CORE : !is_tumour (l))
              continue;
            for (int n = 0; n < 6; n++)
              {
                gsize q = vidx (dims, i + nb[n][0], j + nb[n][1], k + nb[n][2]);
                if (pass == 0 && !is_tumour (label[q]))
                  label[q] = BS_PHANTOM_ENHANCING;
                else if (pass == 1 && label[q] == BS_PHANTOM_BACKGROUND)
                  label[q] = BS_PHANTOM_EDEMA;
              }
          }
  /* what the tumour took over is tissue now, whatever was there before */
  for (int k = lo[2] - 1; k <= hi[2] + 1; k++)
    for (int j = lo[1] - 1; j <= hi[1] + 1; j++)
      for (int i = lo[0] - 1; i <= hi[0] + 1; i++)
        {
          gsize idx = vidx (dims, i, j, k);
          if (label[idx] != BS_PHANTOM_BACKGROUND && (tissue[idx] == T_OUT || tissue[idx] == T_CSF ||
                                                      tissue[idx] == T_VENT || tissue[idx] == T_CHOROID))
            tissue[idx] = T_WM;
        }
}

/* Separable Gaussian blur of one channel inside box (partial volume). */
static void
blur_channel (float *data, const int dims[3], const Box *box, double sigma)
{
  float kernel[5];
  double sum = 0.0;
  int len[3];
  gsize stride[3] = { 1, (gsize) dims[0], (gsize) dims[0] * dims[1] };
  g_autofree float *line = NULL;

  for (int r = -2; r <= 2; r++)
    sum += kernel[r + 2] = (float) exp (-0.5 * r * r / (sigma * sigma));
  for (int r = 0; r < 5; r++)
    kernel[r] /= (float) sum;
  for (int a = 0; a < 3; a++)
    len[a] = box->hi[a] - box->lo[a] + 1;
  line = g_new (float, MAX (MAX (len[0], len[1]), len[2]) + 4);

  for (int axis = 0; axis < 3; axis++)
    {
      int a1 = (axis + 1) % 3, a2 = (axis + 2) % 3;
      for (int p2 = box->lo[a2]; p2 <= box->hi[a2]; p2++)
        for (int p1 = box->lo[a1]; p1 <= box->hi[a1]; p1++)
          {
            int pos[3];
            float *base;
            pos[axis] = box->lo[axis];
            pos[a1] = p1;
            pos[a2] = p2;
            base = data + vidx (dims, pos[0], pos[1], pos[2]);
            /* zero padding: the box already has a margin of background */
            line[0] = line[1] = line[len[axis] + 2] = line[len[axis] + 3] = 0.0f;
            for (int n = 0; n < len[axis]; n++)
              line[n + 2] = base[(gsize) n * stride[axis]];
            for (int n = 0; n < len[axis]; n++)
              base[(gsize) n * stride[axis]] = kernel[0] * line[n] + kernel[1] * line[n + 1] +
                                               kernel[2] * line[n + 2] + kernel[3] * line[n + 3] +
                                               kernel[4] * line[n + 4];
          }
    }
}

static void
paint_slices (int k0, int k1, gpointer data)
{
  Job *job = data;
  const Phantom *ph = job->ph;
  const int *dims = ph->dims;
  const guint8 *tissue = job->tissue, *label = job->label;
  const float *tval = job->tval;
  const Box *box = job->box;
  BsVolume *image = job->image;

  for (int k = box->lo[2] + k0; k < box->lo[2] + k1; k++)
    for (int j = box->lo[1]; j <= box->hi[1]; j++)
      for (int i = box->lo[0]; i <= box->hi[0]; i++)
        {
          gsize idx = vidx (dims, i, j, k);
          guint8 t = tissue[idx], l = label[idx];
          float val[N_CHANNELS];
          double tex;

          if (t == T_OUT)
            continue;
          tex = 1.0 + 0.035 * bs_ph_noise_eval (&ph->texture, i, j, k);
          for (int ch = 0; ch < N_CHANNELS; ch++)
            val[ch] = tissue_intensity[t][ch];
          /* small veins in the sulci: bright with contrast, flow voids on T2 */
          if (t == T_CSF && bs_ph_noise_eval (&ph->tum_fine, i * 0.8 + 31.0, j * 0.8, k * 0.8) > 0.62)
            for (int ch = 0; ch < N_CHANNELS; ch++)
              val[ch] = vein_intensity[ch];
          if (l == BS_PHANTOM_CORE || l == BS_PHANTOM_ENHANCING)
            {
              double het = bs_ph_noise_eval (&ph->tum_het, i * 1.7, j * 1.7, k * 1.7);
              for (int ch = 0; ch < N_CHANNELS; ch++)
                val[ch] = (float) ((l == BS_PHANTOM_CORE ? necrosis_intensity[ch] * (1.0 + 0.2 * het) *
                                                             (ch == CH_FLAIR ? ph->necrosis_flair : 1.0)
                                                         : enhancing_intensity[ch] * (1.0 + 0.25 * het)));
            }
          else if (l == BS_PHANTOM_EDEMA)
            {
              /* strongest next to the tumour, fading towards its edge */
              double e = CLAMP (1.1 - 0.55 * (tval[idx] - 1.0) / (ph->edema_frac - 1.0), 0.45, 1.0);
              for (int ch = 0; ch < N_CHANNELS; ch++)
                val[ch] = (float) (val[ch] + e * (edema_intensity[ch] - val[ch]));
            }
          for (int ch = 0; ch < N_CHANNELS; ch++)
            bs_volume_channel (image, ch)[idx] = (float) (val[ch] * tex);
        }
}

static void
blur_one_channel (int ch, gpointer data)
{
  Job *job = data;
  blur_channel (bs_volume_channel (job->image, ch), job->ph->dims, job->box, 0.75);
}

/* Bias field, Rician noise, background exactly 0, integer values. */
static void
acquire_slices (int k0, int k1, gpointer data)
{
  Job *job = data;
  const Phantom *ph = job->ph;
  const int *dims = ph->dims;
  const guint8 *tissue = job->tissue;
  const Box *box = job->box;
  BsVolume *image = job->image;

  for (int k = box->lo[2] + k0; k < box->lo[2] + k1; k++)
    {
      Rng rng;
      /* one stream per slice keeps the noise independent of the threads */
      rng_seed (&rng, job->stream ^ (0x51ed270b27a3f1c5ULL * (guint64) (k + 1)));
      for (int j = box->lo[1]; j <= box->hi[1]; j++)
        for (int i = box->lo[0]; i <= box->hi[0]; i++)
          {
            gsize idx = vidx (dims, i, j, k);
            double b1, b2;
            if (tissue[idx] == T_OUT)
              {
                for (int ch = 0; ch < N_CHANNELS; ch++)
                  bs_volume_channel (image, ch)[idx] = 0.0f;
                continue;
              }
            b1 = bs_ph_noise_eval (&ph->bias, i, j, k);
            b2 = bs_ph_noise_eval (&ph->bias2, i, j, k);
            for (int ch = 0; ch < N_CHANNELS; ch++)
              {
                float *p = bs_volume_channel (image, ch) + idx;
                double bias = exp (ph->bias_amp[ch] * (ch % 2 ? b1 + 0.4 * b2 : b1 - 0.4 * b2));
                double sigma = noise_level[ch] * tissue_intensity[T_WM][ch];
                double n1, n2, s, m;
                rng_normal2 (&rng, &n1, &n2);
                s = *p * bias;
                m = sqrt (sq (s + sigma * n1) + sq (sigma * n2)) * ph->gain[ch];
                /* inside the brain never 0, so foreground == nonzero */
                *p = (float) CLAMP (round (m), 1.0, 32767.0);
              }
          }
    }
}

gboolean
bs_ph_check_size (int nx, int ny, int nz, GError **error)
{
  const int dims[3] = { nx, ny, nz };

  for (int a = 0; a < 3; a++)
    if (dims[a] < BS_PHANTOM_MIN_DIM || dims[a] > BS_PHANTOM_MAX_DIM)
      {
        g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                     _("Phantom size %dx%dx%d: each dimension must be between %d and %d voxels"),
                     nx, ny, nz, BS_PHANTOM_MIN_DIM, BS_PHANTOM_MAX_DIM);
        return FALSE;
      }
  return TRUE;
}

gboolean
bs_phantom_generate (guint64 seed, guint case_index, int nx, int ny, int nz,
                     BsVolume **image, BsVolume **label, GError **error)
{
  return bs_phantom_generate_with_tissue (seed, case_index, nx, ny, nz, image, label, NULL, error);
}

gboolean
bs_phantom_generate_with_tissue (guint64 seed, guint case_index, int nx, int ny, int nz,
                                 BsVolume **image_out, BsVolume **label_out, BsVolume **tissue_out,
                                 GError **error)
{
  Phantom ph;
  Rng rng;
  guint64 case_seed;
  g_autofree guint8 *tissue = NULL;
  g_autofree guint8 *label = NULL;
  g_autofree float *tval = NULL;
  g_autofree guint16 *dist = NULL;
  g_autoptr(BsVolume) image = NULL;
  g_autoptr(BsVolume) lab = NULL;
  Box box, paint_box;
  gsize nvox;
  int dims[3] = { nx, ny, nz };

  g_return_val_if_fail (image_out != NULL && label_out != NULL, FALSE);

  if (!bs_ph_check_size (nx, ny, nz, error))
    return FALSE;

  case_seed = seed;
  case_seed = bs_splitmix64 (&case_seed) ^ (0xd1b54a32d192ed03ULL * ((guint64) case_index + 1));
  rng_seed (&rng, case_seed);
  phantom_setup (&ph, &rng, nx, ny, nz);

  nvox = (gsize) nx * ny * nz;
  image = bs_volume_new (nx, ny, nz, N_CHANNELS);
  lab = bs_volume_new (nx, ny, nz, 1);
  tissue = g_try_malloc0_n (nvox, sizeof (guint8));
  label = g_try_malloc0_n (nvox, sizeof (guint8));
  dist = g_try_malloc_n (nvox, sizeof (guint16));
  tval = g_try_malloc0_n (nvox, sizeof (float));
  if (image == NULL || lab == NULL || tissue == NULL || label == NULL || dist == NULL || tval == NULL)
    {
      bs_ph_phantom_clear (&ph);
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE,
                   _("Not enough memory for a %dx%dx%d phantom"), nx, ny, nz);
      return FALSE;
    }
  build_tissue (&ph, tissue, dist, &box);
  g_clear_pointer (&dist, g_free);
  build_labels (&ph, tissue, label, tval);

  g_strfreev (image->channel_names);
  image->channel_names = g_new0 (char *, N_CHANNELS + 1);
  for (int ch = 0; ch < N_CHANNELS; ch++)
    image->channel_names[ch] = g_strdup (bs_ph_channel_names[ch]);

  /* the blur needs two voxels of background around the brain */
  for (int a = 0; a < 3; a++)
    {
      paint_box.lo[a] = MAX (0, box.lo[a] - 2);
      paint_box.hi[a] = MIN (dims[a] - 1, box.hi[a] + 2);
    }
  {
    Job job = { .ph = &ph, .tissue = tissue, .label = label, .tval = tval, .box = &paint_box,
                .image = image, .stream = rng_next (&rng) };
    int n = paint_box.hi[2] - paint_box.lo[2] + 1;
    bs_parallel_for_range (n, 2, paint_slices, &job);
    bs_parallel_for (N_CHANNELS, blur_one_channel, &job);
    bs_parallel_for_range (n, 2, acquire_slices, &job);
  }
  lab->is_label = TRUE;
  for (gsize i = 0; i < nvox; i++)
    lab->data[i] = label[i];
  if (tissue_out != NULL)
    {
      static const guint8 public_class[N_TISSUES] = {
        [T_OUT] = BS_PHANTOM_TISSUE_OUTSIDE, [T_CSF] = BS_PHANTOM_TISSUE_CSF, [T_VENT] = BS_PHANTOM_TISSUE_CSF,
        [T_CORTEX] = BS_PHANTOM_TISSUE_GREY, [T_CEREB] = BS_PHANTOM_TISSUE_GREY, [T_GM] = BS_PHANTOM_TISSUE_GREY,
        [T_WM] = BS_PHANTOM_TISSUE_WHITE, [T_DGM] = BS_PHANTOM_TISSUE_DEEP_GREY,
        [T_CHOROID] = BS_PHANTOM_TISSUE_CHOROID,
      };
      *tissue_out = bs_volume_new (nx, ny, nz, 1);
      if (*tissue_out == NULL)
        {
          bs_ph_phantom_clear (&ph);
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE,
                       _("Not enough memory for a %dx%dx%d phantom"), nx, ny, nz);
          return FALSE;
        }
      (*tissue_out)->is_label = TRUE;
      for (gsize i = 0; i < nvox; i++)
        (*tissue_out)->data[i] = public_class[tissue[i]];
    }

  bs_ph_phantom_clear (&ph);
  *image_out = g_steal_pointer (&image);
  *label_out = g_steal_pointer (&lab);
  return TRUE;
}

