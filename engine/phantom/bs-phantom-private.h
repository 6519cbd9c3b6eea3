/* What the phantom's generator (bs-phantom.c) and its anatomy
 * (bs-phantom-anatomy.c: smooth noise, the head's tissue map) share. */
#pragma once

#include <glib.h>

/* Smooth noise: gradient noise on a lattice, values roughly in [-1, 1]. */
typedef struct {
  int n[3];
  double inv_cell;
  float *grad; /* 3 components per lattice point, x fastest */
} Noise;

/* Tissue classes of the anatomy map. */
enum {
  T_OUT,       /* outside the brain: 0 in every modality */
  T_CSF,       /* cortical CSF: outer rim, sulci, fissures, cisterns */
  T_VENT,      /* ventricles (not a source of cortex) */
  T_CORTEX,    /* cerebral tissue: grey or white depending on the depth */
  T_CEREB,     /* cerebellar tissue: thicker cortex */
  T_WM,
  T_DGM,       /* deep grey nuclei */
  T_GM,
  T_CHOROID,   /* choroid plexus in the atria: enhances */
  N_TISSUES
};

enum { CH_FLAIR, CH_T1, CH_T1GD, CH_T2, N_CHANNELS };

/* The channels' names, in that order (bs-phantom.c). */
extern const char *const bs_ph_channel_names[N_CHANNELS];

#define N_LOBES 5

/* One case: its head, its tumour and its scanner. */
typedef struct {
  int dims[3];
  double scale;      /* head size relative to a 240x240x155 volume */
  double fine;       /* scale of small features, kept above a voxel or so */
  double c[3];       /* brain centre, voxel mm */
  double ax[3];      /* cerebrum semi-axes */
  double midline_tilt;
  double vent_size;

  /* tumour */
  double tc[3];
  double tr;         /* outer radius of the enhancing rim before lobulation */
  double core_frac;
  double edema_frac;
  double lobe_dir[N_LOBES][3];
  double lobe_amp[N_LOBES];
  double mass_amp, mass_len;
  /* FLAIR signal of the necrosis relative to necrosis_intensity: fluid-filled
   * cores are dark on FLAIR (as dark as CSF at the low end), others iso. */
  double necrosis_flair;

  double gain[N_CHANNELS]; /* scanner scaling of each sequence */
  double bias_amp[N_CHANNELS];

  Noise surf, sulc, sulc2, sulc_depth, thick, folia, tum_shape, tum_fine, tum_het, edema, texture,
        bias, bias2;
} Phantom;

static inline double
sq (double x)
{
  return x * x;
}

static inline double
smoothstep (double t)
{
  t = CLAMP (t, 0.0, 1.0);
  return t * t * (3.0 - 2.0 * t);
}

/* Each of the sizes within BS_PHANTOM_MIN_DIM..BS_PHANTOM_MAX_DIM, else an
 * error that names them. */
gboolean bs_ph_check_size (int nx, int ny, int nz, GError **error);
/* Frees the case's noise lattices. */
void bs_ph_phantom_clear (Phantom *ph);
/* Normalised cerebrum coordinates (u, v, w) and the ellipsoidal radius rho
 * (1 on the mean outer surface). */
double bs_ph_cerebrum_rho (const Phantom *ph, double x, double y, double z, double *u, double *v, double *w);
/* The same for the cerebellum, under the tentorium. */
double bs_ph_cerebellum_rho (const Phantom *ph, double x, double y, double z, double *lx, double *ly, double *lz);
/* The anatomy (no tumour) at voxel (x, y, z): a tissue class T_*. */
guint8 bs_ph_classify (const Phantom *ph, double x, double y, double z);
void bs_ph_noise_clear (Noise *noise);
/* The noise at a point in mm. */
double bs_ph_noise_eval (const Noise *noise, double x, double y, double z);
