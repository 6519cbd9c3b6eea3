/* The phantom's anatomy: smooth noise and the tissue map of a head
 * (cerebrum, cerebellum, brainstem, ventricles, deep grey nuclei, CSF)
 * around a tumour's mass effect; bs-phantom.c places the tumour and paints
 * the modalities. */
#include <math.h>

#include "bs-phantom-private.h"

void
bs_ph_noise_clear (Noise *noise)
{
  g_clear_pointer (&noise->grad, g_free);
}

static inline double
fade (double t)
{
  return t * t * t * (t * (t * 6.0 - 15.0) + 10.0);
}

double
bs_ph_noise_eval (const Noise *noise, double x, double y, double z)
{
  double f[3] = { x * noise->inv_cell + 1.5, y * noise->inv_cell + 1.5, z * noise->inv_cell + 1.5 };
  int i0[3];
  double t[3], w[3], acc = 0.0;

  for (int a = 0; a < 3; a++)
    {
      f[a] = CLAMP (f[a], 0.0, noise->n[a] - 1.001);
      i0[a] = (int) f[a];
      t[a] = f[a] - i0[a];
      w[a] = fade (t[a]);
    }
  for (int corner = 0; corner < 8; corner++)
    {
      int dx = corner & 1, dy = (corner >> 1) & 1, dz = corner >> 2;
      gsize idx = ((gsize) (i0[2] + dz) * noise->n[1] + (i0[1] + dy)) * noise->n[0] + (i0[0] + dx);
      const float *g = noise->grad + 3 * idx;
      double dot = g[0] * (t[0] - dx) + g[1] * (t[1] - dy) + g[2] * (t[2] - dz);
      double weight = (dx ? w[0] : 1.0 - w[0]) * (dy ? w[1] : 1.0 - w[1]) * (dz ? w[2] : 1.0 - w[2]);
      acc += weight * dot;
    }
  return acc * 1.6;
}


void
bs_ph_phantom_clear (Phantom *ph)
{
  Noise *all[] = { &ph->surf, &ph->sulc, &ph->sulc2, &ph->sulc_depth, &ph->thick, &ph->folia,
                   &ph->tum_shape, &ph->tum_fine, &ph->tum_het, &ph->edema, &ph->texture,
                   &ph->bias, &ph->bias2 };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
    bs_ph_noise_clear (all[i]);
}


/* Normalised cerebrum coordinates: (u, v, w) in about [-1, 1], and rho, the
 * ellipsoidal radius (1 on the mean outer surface).  The frontal lobes are a
 * little narrower and the base flatter than an ellipsoid. */
double
bs_ph_cerebrum_rho (const Phantom *ph, double x, double y, double z, double *u, double *v, double *w)
{
  *v = (y - ph->c[1]) / ph->ax[1];
  *u = (x - ph->c[0] - ph->midline_tilt * (y - ph->c[1])) / (ph->ax[0] * (1.0 - 0.08 * *v));
  *w = (z - ph->c[2]) / ph->ax[2];
  if (*w < 0.0)
    {
      /* squarer below: the temporal lobes fill the lower corners */
      double h = *u * *u + *v * *v;
      *w /= 0.85;
      return pow (h * sqrt (h) + fabs (*w * *w * *w), 1.0 / 3.0);
    }
  return sqrt (*u * *u + *v * *v + *w * *w);
}

/* Tumour mass effect: tissue is pushed away from the tumour centre, so the
 * anatomy at p is looked up at a point nearer to the centre. */
static void
mass_warp (const Phantom *ph, double *x, double *y, double *z)
{
  double d[3] = { *x - ph->tc[0], *y - ph->tc[1], *z - ph->tc[2] };
  double r = sqrt (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  double shift;

  if (r < 1e-6 || r > 4.0 * ph->mass_len)
    return;
  shift = ph->mass_amp * exp (-sq (r / ph->mass_len));
  *x -= d[0] / r * shift;
  *y -= d[1] / r * shift;
  *z -= d[2] / r * shift;
}

/* The cerebellum sits below and behind the cerebrum, under the tentorium. */
double
bs_ph_cerebellum_rho (const Phantom *ph, double x, double y, double z, double *lx, double *ly, double *lz)
{
  double a = 0.62 * ph->ax[0], b = 0.34 * ph->ax[1], c = 0.36 * ph->ax[2];

  *lx = (x - ph->c[0]) / a;
  *ly = (y - (ph->c[1] - 0.56 * ph->ax[1])) / b;
  *lz = (z - (ph->c[2] - 0.84 * ph->ax[2])) / c;
  /* two hemispheres: narrower at the midline behind the vermis */
  return sqrt (*lx * *lx + *ly * *ly + *lz * *lz) + 0.12 * exp (-sq (*lx / 0.12)) * MAX (0.0, -*ly);
}

/* Brainstem: an elliptic column leaning back as it descends, with the pons
 * bulging forward. */
static double
brainstem_r (const Phantom *ph, double x, double y, double z)
{
  double w = (z - ph->c[2]) / ph->ax[2];
  double yc = ph->c[1] - 0.16 * ph->ax[1] + 0.14 * ph->ax[1] * (w + 0.3);
  double pons = 1.0 + 0.35 * exp (-sq ((w + 0.62) / 0.15));
  double rx = 0.15 * ph->ax[0] * (0.8 + 0.2 * pons), ry = 0.13 * ph->ax[1] * pons;

  if (w > -0.12)
    return 99.0;
  return sqrt (sq ((x - ph->c[0]) / rx) + sq ((y - yc) / ry));
}

static gboolean
in_ellipsoid (double x, double y, double z, double cx, double cy, double cz, double a, double b, double c)
{
  return sq ((x - cx) / a) + sq ((y - cy) / b) + sq ((z - cz) / c) < 1.0;
}

/* Lateral ventricles: two arched tubes diverging backwards, with frontal and
 * occipital horns; plus the third ventricle, a thin midline slit. */
static gboolean
in_ventricles (const Phantom *ph, double x, double y, double z, gboolean *atrium)
{
  const double *c = ph->c, *ax = ph->ax;
  double v = (y - c[1]) / ax[1], w = (z - c[2]) / ax[2];
  double vs = ph->vent_size;

  *atrium = FALSE;
  if (v > -0.58 && v < 0.42)
    {
      double back = MAX (0.0, -v - 0.1);
      double zc = c[2] + ax[2] * (0.13 - 0.55 * sq (v + 0.05) - 0.6 * back * back);
      double hw = ax[0] * vs * (0.055 + 0.05 * exp (-sq ((v + 0.33) / 0.12)) + 0.02 * MAX (0.0, v));
      double hh = ax[2] * vs * (0.055 + 0.07 * exp (-sq ((v + 0.33) / 0.14)));
      double taper = 1.0 - pow (fabs ((v + 0.08) / 0.50), 6.0);
      for (int side = -1; side <= 1; side += 2)
        {
          double xc = c[0] + side * (hw + 0.008 * ax[0] + ax[0] * (0.05 * sq (MIN (0.0, v + 0.1)) * 6.0));
          /* the floor slopes outwards: the butterfly of a coronal slice */
          double tilt = (z - zc) * 0.3 * side;
          double q = sq ((x - xc - tilt) / hw) + sq ((z - zc) / hh);
          if (q < taper)
            {
              *atrium = v < -0.2 && v > -0.45 && q < 0.35 * taper && z < zc;
              return TRUE;
            }
        }
    }
  if (v > -0.2 && v < 0.12 && w > -0.34 && w < -0.02 && fabs (x - c[0]) < 1.3 * ph->fine)
    return TRUE;
  return FALSE;
}

static gboolean
in_deep_grey (const Phantom *ph, double x, double y, double z)
{
  const double *c = ph->c, *ax = ph->ax;
  for (int side = -1; side <= 1; side += 2)
    {
      /* caudate head, thalamus, lentiform nucleus */
      if (in_ellipsoid (x, y, z, c[0] + side * 0.17 * ax[0], c[1] + 0.20 * ax[1], c[2] + 0.04 * ax[2],
                        0.085 * ax[0], 0.14 * ax[1], 0.13 * ax[2]) ||
          in_ellipsoid (x, y, z, c[0] + side * 0.115 * ax[0], c[1] - 0.10 * ax[1], c[2] - 0.10 * ax[2],
                        0.12 * ax[0], 0.15 * ax[1], 0.13 * ax[2]) ||
          in_ellipsoid (x, y, z, c[0] + side * 0.36 * ax[0], c[1] + 0.08 * ax[1], c[2] - 0.05 * ax[2],
                        0.07 * ax[0], 0.19 * ax[1], 0.14 * ax[2]))
        return TRUE;
    }
  return FALSE;
}

/* The anatomy (no tumour) at voxel (x, y, z). */
guint8
bs_ph_classify (const Phantom *ph, double x, double y, double z)
{
  double u, v, w, rho, surf, lx, ly, lz, cb, bs, depth, rim;
  double wx = x, wy = y, wz = z;
  gboolean atrium;
  double f = ph->fine;

  mass_warp (ph, &wx, &wy, &wz);

  /* cerebellum, with folia: thin parallel lamellae of CSF */
  cb = bs_ph_cerebellum_rho (ph, wx, wy, wz, &lx, &ly, &lz);
  cb += 0.03 * bs_ph_noise_eval (&ph->surf, wx, wy, wz);
  if (cb < 1.0)
    {
      double cdepth = (1.0 - cb) * 0.33 * ph->ax[2];
      double lam = sin (2.0 * G_PI * (wz / (3.4 * f) + 1.3 * bs_ph_noise_eval (&ph->folia, wx, wy, wz) +
                                      0.6 * ly));
      if (in_ellipsoid (wx, wy, wz, ph->c[0], ph->c[1] - 0.30 * ph->ax[1], ph->c[2] - 0.78 * ph->ax[2],
                        0.05 * ph->ax[0], 0.05 * ph->ax[1], 0.07 * ph->ax[2]))
        return T_VENT; /* fourth ventricle */
      if (cdepth < 1.2 * f)
        return T_CSF;
      if (cdepth < 9.0 * f && lam > 0.55 + 0.4 * cdepth / (9.0 * f))
        return T_CSF;
      if (fabs (lx) < 0.03 && ly < -0.55)
        return T_CSF;
      if (cb < 0.45 && fabs (lx) > 0.15)
        return T_WM; /* the deep white matter of the hemispheres */
      return T_CEREB;
    }

  bs = brainstem_r (ph, wx, wy, wz);
  if (bs < 1.0)
    return bs > 1.0 - 1.0 * f / (0.13 * ph->ax[1]) ? T_CSF : T_WM;

  /* cerebrum: the outer surface does not move with the tumour (the skull holds it) */
  rho = bs_ph_cerebrum_rho (ph, x, y, z, &u, &v, &w);
  surf = 1.0 + 0.035 * bs_ph_noise_eval (&ph->surf, x, y, z);
  if (rho >= surf)
    return (cb < 1.06 || bs < 1.3) && w < 0.0 ? T_CSF : T_OUT;

  /* the base of the brain: the temporal lobes hang down on either side of
   * the brainstem and cerebellum, the frontal base sits higher */
  /* The base: the frontal lobes end a little lower in front, the occipital
   * lobes behind come down onto the tentorium over the cerebellum, and in
   * between only the temporal lobes hang lower. */
  if (w < -0.28 - 0.12 * smoothstep ((v - 0.3) / 0.2) -
              0.65 * smoothstep ((-0.1 - v) / 0.3) * smoothstep ((1.0 - lx * lx - ly * ly) / 0.4) +
              0.06 * bs_ph_noise_eval (&ph->sulc_depth, x, y, 0.0) + 0.08 * sq (u))
    {
      double tu = (fabs (u) - 0.56) / 0.30, tv = (v - 0.04) / 0.40, tw = (w + 0.50) / 0.36;
      double tl = sqrt (tu * tu + tv * tv + tw * tw) + 0.05 * bs_ph_noise_eval (&ph->surf, y, z, x);
      if (tl > 1.0)
        return (cb < 1.06 || bs < 1.3 || tl < 1.06) ? T_CSF : T_OUT;
      if (tl > 1.0 - 1.3 * f / (0.30 * ph->ax[0]))
        return T_CSF;
    }
  if (cb < 1.08)
    return T_CSF; /* tentorium */

  depth = (surf - rho) * 0.9 * MIN (ph->ax[0], ph->ax[2]);
  rim = 1.3 * f;
  if (depth < rim)
    return T_CSF;

  /* anatomy that moves with the tumour */
  rho = bs_ph_cerebrum_rho (ph, wx, wy, wz, &u, &v, &w);

  if (in_ventricles (ph, wx, wy, wz, &atrium))
    return atrium ? T_CHOROID : T_VENT;

  /* interhemispheric fissure, stopping at the corpus callosum */
  {
    double mid = ph->c[0] + ph->midline_tilt * (wy - ph->c[1]) + 1.2 * f * bs_ph_noise_eval (&ph->sulc2, 0.0, wy, wz);
    double fw = 0.9 * f + 1.2 * f * CLAMP ((rho - 0.85) / 0.15, 0.0, 1.0);
    gboolean callosum = fabs (v + 0.03) < 0.45 && w < 0.27 - 0.5 * sq (v + 0.03) && w > -0.6;
    if (fabs (wx - mid) < fw && !callosum)
      return T_CSF;
  }

  /* Sylvian fissure: a deep lateral cleft above the temporal lobe */
  if (fabs (u) > 0.58 && v > -0.35 && v < 0.45)
    {
      double zc = -0.10 + 0.20 * v + 0.05 * bs_ph_noise_eval (&ph->sulc2, wx, wy, 0.0);
      double sw = 1.1 * f / ph->ax[2] * (0.6 + 0.8 * CLAMP ((fabs (u) - 0.58) / 0.3, 0.0, 1.0));
      if (fabs (w - zc) < sw)
        return T_CSF;
    }

  if (in_deep_grey (ph, wx, wy, wz))
    return T_DGM;

  /* Sulci: the zero set of a smooth noise on the brain surface, extruded
   * inwards (the noise is read near the point's radial projection onto the
   * surface), so they run from the surface into the depth as real sulci do;
   * cut to a depth that varies. */
  {
    double k = 0.75 * (1.0 / MAX (rho, 0.3) - 1.0);
    double qx = wx + k * (wx - ph->c[0]), qy = wy + k * (wy - ph->c[1]), qz = wz + k * (wz - ph->c[2]);
    double n = bs_ph_noise_eval (&ph->sulc, qx, qy, qz) + 0.3 * bs_ph_noise_eval (&ph->sulc2, wx, wy, wz);
    double dmax = f * (15.0 + 8.0 * bs_ph_noise_eval (&ph->sulc_depth, wx, wy, wz));
    if (depth < dmax)
      {
        double width = 0.045 * sqrt (1.0 - depth / dmax) + 0.02;
        if (fabs (n) < width)
          return T_CSF;
      }
  }
  return T_CORTEX;
}

