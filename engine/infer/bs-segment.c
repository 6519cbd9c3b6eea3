/* The segmentation pipeline: prepared case -> probabilities -> mask -> clean-up -> metrics. */
#include "bs-segment.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "bs-calibration.h"
#include "bs-error.h"
#include "bs-parallel.h"

void
bs_segment_options_init (BsSegmentOptions *opts)
{
  bs_plan_options_init (&opts->plan);
  opts->plane = BS_INFER_NET_PLANE;
  opts->cleanup = TRUE;
  opts->slices = NULL;
  opts->after_network = NULL;
  opts->after_network_data = NULL;
}

void
bs_segment_result_free (BsSegmentResult *result)
{
  if (result == NULL)
    return;
  bs_infer_geometry_free (result->geom);
  g_free (result->planes_note);
  g_free (result->pixel_note);
  g_free (result->resample_note);
  bs_volume_free (result->prob);
  /* region_mask[BS_REGION_WT] is mask */
  for (int k = 0; k < BS_N_REGIONS; k++)
    if (result->region_mask[k] != result->mask)
      bs_volume_free (result->region_mask[k]);
  bs_volume_free (result->mask);
  g_free (result);
}

/* Whole-volume passes in chunks of axial slices on every core
 * (bs_parallel_for): the threshold, the nested region masks and the counts
 * against the truth each read and write some 36 MB a BraTS volume, and the
 * first writes into a new mask fault its pages in.  Reads do too on a
 * kernel without a shared zero page (this project's test VMs), so the
 * region passes read only the slices that can hold a voxel of the regions
 * (BsSegmentResult's region_slices). */
#define VOXEL_CHUNKS 32

typedef struct {
  const float *p, *inside, *truth;
  float *out;
  gsize plane;   /* voxels per axial slice */
  int z0, z1;    /* the slices the pass covers */
  guint64 on[VOXEL_CHUNKS];
  int first[VOXEL_CHUNKS], last[VOXEL_CHUNKS];   /* slices with a voxel on (first > last: none) */
  BsConfusion c[VOXEL_CHUNKS];
} VoxelJob;

static void
job_init (VoxelJob *j, const BsVolume *v, int z0, int z1)
{
  memset (j, 0, sizeof *j);
  j->plane = (gsize) v->dims[0] * v->dims[1];
  j->z0 = z0;
  j->z1 = z1;
}

/* Chunk k's slices [*s0, *s1), none of them seen on yet. */
static void
chunk_begin (VoxelJob *j, int k, int *s0, int *s1)
{
  int n = j->z1 - j->z0;

  *s0 = j->z0 + n * k / VOXEL_CHUNKS;
  *s1 = j->z0 + n * (k + 1) / VOXEL_CHUNKS;
  j->first[k] = *s1;
  j->last[k] = *s0 - 1;
}

/* Chunk k saw a voxel on in slice z (slices come in order). */
static void
chunk_saw (VoxelJob *j, int k, int z)
{
  j->first[k] = MIN (j->first[k], z);
  j->last[k] = z;
}

/* The slices [ext[0], ext[1]) holding every voxel the chunks saw on
 * (ext[0] == ext[1]: none). */
static void
job_extent (const VoxelJob *j, int ext[2])
{
  ext[0] = G_MAXINT;
  ext[1] = G_MININT;
  for (int k = 0; k < VOXEL_CHUNKS; k++)
    if (j->first[k] <= j->last[k])
      {
        ext[0] = MIN (ext[0], j->first[k]);
        ext[1] = MAX (ext[1], j->last[k] + 1);
      }
  if (ext[0] > ext[1])
    ext[0] = ext[1] = 0;
}

static void
threshold_chunk (int k, gpointer user_data)
{
  VoxelJob *j = user_data;
  guint64 on = 0;
  int s0, s1;

  chunk_begin (j, k, &s0, &s1);
  for (int z = s0; z < s1; z++)
    {
      guint64 before = on;

      for (gsize i = z * j->plane; i < (z + 1) * j->plane; i++)
        if (j->p[i] > 0.5f && (j->inside == NULL || j->inside[i] > 0.5f))
          {
            j->out[i] = 1.0f;
            on++;
          }
      if (on > before)
        chunk_saw (j, k, z);
    }
  j->on[k] = on;
}

/* out (zeros, as bs_volume_new makes it) = 1 where p > 0.5 (and inside >
 * 0.5 where inside is given), in axial slices [z0, z1) of vol's geometry;
 * the voxels set, and in ext the slices that hold them.  Zeros are left
 * alone: the pages of a new volume that no voxel is set in are never
 * touched. */
static guint64
threshold_into (const BsVolume *geometry, const float *p, const float *inside, float *out, int z0, int z1,
                int ext[2])
{
  VoxelJob j;
  guint64 on = 0;

  job_init (&j, geometry, z0, z1);
  j.p = p;
  j.inside = inside;
  j.out = out;
  bs_parallel_for (VOXEL_CHUNKS, threshold_chunk, &j);
  for (int k = 0; k < VOXEL_CHUNKS; k++)
    on += j.on[k];
  job_extent (&j, ext);
  return on;
}

static void
confusion_chunk (int k, gpointer user_data)
{
  VoxelJob *j = user_data;
  int s0, s1;

  chunk_begin (j, k, &s0, &s1);
  for (int z = s0; z < s1; z++)
    {
      const float *t = j->truth + z * j->plane;
      guint64 fn_tp = j->c[k].tp + j->c[k].fn;

      bs_confusion_add (&j->c[k], j->p + z * j->plane, t, j->plane);
      if (j->c[k].tp + j->c[k].fn > fn_tp)
        chunk_saw (j, k, z);
    }
}

/* Counts of mask against truth over the selected slices of the plane (all
 * of them when selected is NULL).  With selected NULL, only axial slices
 * [z0, z1) are read, the others known to be 0 in both (true negatives), and
 * truth_ext (may be NULL) gets the slices holding the truth's voxels. */
static void
confusion_over (const BsVolume *mask, const BsVolume *truth, BsPlane plane, const guint8 *selected, int z0, int z1,
                BsConfusion *c, int *truth_ext)
{
  int w, h, n = bs_volume_n_slices (mask, plane);

  *c = (BsConfusion) { 0 };
  if (selected == NULL)
    {
      VoxelJob j;

      job_init (&j, mask, z0, z1);
      j.p = mask->data;
      j.truth = truth->data;
      bs_parallel_for (VOXEL_CHUNKS, confusion_chunk, &j);
      for (int k = 0; k < VOXEL_CHUNKS; k++)
        bs_confusion_merge (c, &j.c[k]);
      c->tn += bs_volume_n_voxels (mask) - (gsize) (z1 - z0) * j.plane;
      if (truth_ext)
        job_extent (&j, truth_ext);
      return;
    }
  bs_volume_slice_size (mask, plane, &w, &h);
  g_autofree float *a = g_new (float, (gsize) w * h);
  g_autofree float *t = g_new (float, (gsize) w * h);
  for (int k = 0; k < n; k++)
    if (selected[k])
      {
        bs_volume_get_slice (mask, 0, plane, k, a);
        bs_volume_get_slice (truth, 0, plane, k, t);
        bs_confusion_add (c, a, t, (gsize) w * h);
      }
}

/* Which channel of prob holds which region: channel 0 is the whole tumour;
 * the others by name ("tc", "et"), else by index. */
static void
find_region_channels (const BsVolume *prob, int *channel)
{
  for (int k = 0; k < BS_N_REGIONS; k++)
    channel[k] = -1;
  channel[BS_REGION_WT] = 0;
  for (int c = 1; c < prob->n_channels; c++)
    {
      const char *name = prob->channel_names ? prob->channel_names[c] : NULL;
      int region = -1;

      for (int k = BS_REGION_TC; k < BS_N_REGIONS && name; k++)
        if (g_ascii_strcasecmp (name, bs_region_name (k)) == 0)
          region = k;
      if (region < 0 && c < BS_N_REGIONS)
        region = c;
      if (region > 0 && channel[region] < 0)
        channel[region] = c;
    }
}

static void
clear_regions (BsSegmentResult *r)
{
  for (int k = 0; k < BS_N_REGIONS; k++)
    {
      if (r->region_mask[k] != r->mask)
        bs_volume_free (r->region_mask[k]);
      r->region_mask[k] = NULL;
      r->region_voxels[k] = 0;
      r->region_has_truth[k] = FALSE;
      r->region_confusion[k] = (BsConfusion) { 0 };
      r->region_dice[k] = NAN;
    }
}

/* P(region) > 0.5 inside the enclosing region's mask, whose voxels all lie
 * in axial slices [z0, z1). */
static BsVolume *
nested_mask (const BsVolume *prob, int channel, const BsVolume *inside, int z0, int z1, guint64 *on)
{
  const float *p = bs_volume_channel (prob, channel);
  BsVolume *m = bs_volume_new_like (prob, 1);
  int ext[2];

  if (m == NULL)
    return NULL;
  m->is_label = TRUE;
  *on = threshold_into (prob, p, inside->data, m->data, z0, z1, ext);
  return m;
}

/* The tumour core and enhancing tumour masks, nested in the cleaned whole
 * tumour (with the clean-up, the core's holes filled: bs_volume_fill_plane_holes;
 * then the core kept near the enhancing tumour: bs_volume_trim_core), and
 * their metrics against the truths given. */
static gboolean
finish_regions (BsSegmentResult *r, const BsVolume *const *truth, BsPlane plane, const guint8 *slices,
                gboolean cleanup, GError **error)
{
  double t1 = bs_now_ms ();

  int z0 = r->region_slices[0], z1 = r->region_slices[1];

  r->n_outputs = r->prob->n_channels;
  r->cleanup.core_filled = 0;
  r->cleanup.core_trimmed = 0;
  find_region_channels (r->prob, r->region_channel);
  r->region_mask[BS_REGION_WT] = r->mask;
  r->region_voxels[BS_REGION_WT] = r->tumour_voxels;
  for (int k = BS_REGION_TC; k < BS_N_REGIONS; k++)
    {
      const BsVolume *inside;

      if (r->region_channel[k] < 0)
        continue;
      /* ET sits in TC; without a TC output, in WT. */
      inside = k == BS_REGION_ET && r->region_mask[BS_REGION_TC] ? r->region_mask[BS_REGION_TC] : r->mask;
      r->region_mask[k] = nested_mask (r->prob, r->region_channel[k], inside, z0, z1, &r->region_voxels[k]);
      /* The core encloses its necrosis: a cavity the network left out, in
       * the whole tumour, is core too (cross-validated: resources/models/README.md,
       * "Filling the core's holes"). */
      if (r->region_mask[k] != NULL && k == BS_REGION_TC && cleanup
          && !bs_volume_fill_plane_holes_slices (r->region_mask[k], inside, z0, z1, &r->cleanup.core_filled))
        g_clear_pointer (&r->region_mask[k], bs_volume_free);
      if (r->region_mask[k] == NULL)
        {
          g_set_error_literal (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                               _("Out of memory for the tumour region masks"));
          return FALSE;
        }
      if (k == BS_REGION_TC)
        r->region_voxels[k] += r->cleanup.core_filled;
    }
  /* The core lies at its enhancing rim: far from it (with enhancement to
   * measure from) is edema the network took for core (cross-validated:
   * resources/models/README.md, "The core near its enhancing rim").  The
   * enhancing tumour, in the core, stays whole. */
  if (cleanup && r->region_mask[BS_REGION_TC] != NULL && r->region_mask[BS_REGION_ET] != NULL)
    {
      if (!bs_volume_trim_core_slices (r->region_mask[BS_REGION_TC], r->region_mask[BS_REGION_ET], z0, z1,
                                       BS_CORE_TRIM_RADIUS_MM, BS_CORE_TRIM_MIN_SHARE, &r->cleanup.core_trimmed))
        {
          g_set_error_literal (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                               _("Out of memory for the tumour region masks"));
          return FALSE;
        }
      r->region_voxels[BS_REGION_TC] -= r->cleanup.core_trimmed;
    }
  for (int k = 0; k < BS_N_REGIONS; k++)
    {
      if (r->region_mask[k] == NULL || truth == NULL || truth[k] == NULL)
        continue;
      r->region_has_truth[k] = TRUE;
      if (k == BS_REGION_WT)
        r->region_confusion[k] = r->confusion;
      else
        confusion_over (r->region_mask[k], truth[k], plane, slices, z0, z1, &r->region_confusion[k], NULL);
      r->region_dice[k] = bs_confusion_dice (&r->region_confusion[k]);
    }
  if (r->n_outputs > 1)
    bs_timing_add_stage (&r->timing, "regions", bs_now_ms () - t1);
  return TRUE;
}

gboolean
bs_segment_finish (BsSegmentResult *r, const BsVolume *truth, BsPlane plane, const guint8 *slices, gboolean cleanup,
                   GError **error)
{
  const BsVolume *truths[BS_N_REGIONS] = { truth, NULL, NULL };

  return bs_segment_finish_regions (r, truths, plane, slices, cleanup, error);
}

gboolean
bs_segment_finish_regions (BsSegmentResult *r, const BsVolume *const *truths, BsPlane plane, const guint8 *slices,
                           gboolean cleanup, GError **error)
{
  const BsVolume *truth = truths ? truths[BS_REGION_WT] : NULL;
  int nz = r->prob->dims[2], mask_ext[2], truth_ext[2] = { 0, 0 };
  double t1;

  r->dice = r->dice_raw = NAN;
  r->tumour_voxels = 0;
  r->has_truth = FALSE;
  clear_regions (r);
  g_clear_pointer (&r->mask, bs_volume_free);
  t1 = bs_now_ms ();
  r->mask = bs_volume_new_like (r->prob, 1);
  if (r->mask == NULL)
    {
      g_set_error_literal (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE, _("Out of memory for the mask"));
      return FALSE;
    }
  r->mask->is_label = TRUE;
  r->tumour_voxels = threshold_into (r->prob, r->prob->data, NULL, r->mask->data, 0, nz, mask_ext);
  bs_timing_add_stage (&r->timing, "threshold", bs_now_ms () - t1);
  if (truth)
    {
      r->has_truth = TRUE;
      confusion_over (r->mask, truth, plane, slices, 0, nz, &r->confusion_raw, truth_ext);
      r->confusion = r->confusion_raw;
    }
  /* Every region's mask lies in the whole tumour's (the clean-up takes its
   * voxels away, and fills the core only inside it), and every region's
   * truth in the whole tumour's truth. */
  r->region_slices[0] = 0;
  r->region_slices[1] = nz;
  if (slices == NULL && (truth != NULL || truths == NULL || (truths[BS_REGION_TC] == NULL
                                                             && truths[BS_REGION_ET] == NULL)))
    {
      gboolean has_m = mask_ext[0] < mask_ext[1], has_t = truth_ext[0] < truth_ext[1];

      r->region_slices[0] = has_m && has_t ? MIN (mask_ext[0], truth_ext[0]) : has_m ? mask_ext[0] : truth_ext[0];
      r->region_slices[1] = has_m && has_t ? MAX (mask_ext[1], truth_ext[1]) : has_m ? mask_ext[1] : truth_ext[1];
    }
  if (cleanup)
    {
      t1 = bs_now_ms ();
      /* Only the slices that hold the mask: the rest is zeros never touched. */
      if (!bs_volume_remove_islands_slices (r->mask, mask_ext[0], mask_ext[1], BS_CLEANUP_MIN_FRACTION,
                                            &r->cleanup))
        {
          g_set_error_literal (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                               _("Out of memory for the island clean-up"));
          return FALSE;
        }
      r->cleaned = TRUE;
      r->tumour_voxels -= r->cleanup.removed;
      bs_timing_add_stage (&r->timing, "cleanup", bs_now_ms () - t1);
      if (truth)
        confusion_over (r->mask, truth, plane, slices, r->region_slices[0], r->region_slices[1], &r->confusion,
                        NULL);
    }
  if (truth)
    {
      r->dice_raw = bs_confusion_dice (&r->confusion_raw);
      r->dice = bs_confusion_dice (&r->confusion);
    }
  return finish_regions (r, truths, plane, slices, cleanup, error);
}

/* Where mask is on (on TRUE) or off (FALSE), within is on (NULL: all) and
 * prob's n values at offset are not: prob becomes on's value (1 or 0), each
 * change appended. */
static void
write_where (float *prob, gsize offset, const float *mask, const float *within, gsize n, gboolean on,
             GArray *changes)
{
  for (gsize v = 0; v < n; v++)
    if ((mask[v] > 0.5f) == on && (within == NULL || within[v] > 0.5f) && (prob[offset + v] > 0.5f) != on)
      {
        BsCleanupChange c = { offset + v, prob[offset + v], on ? 1.0f : 0.0f };

        if (changes)
          g_array_append_val (changes, c);
        prob[offset + v] = c.set;
      }
}

gboolean
bs_segment_write_cleanup (const BsSegmentResult *r, BsVolume *prob, int core_channel, GArray *changes)
{
  gsize nvox = bs_volume_n_voxels (prob);

  g_return_val_if_fail (r->mask != NULL && bs_volume_n_voxels (r->mask) == nvox, FALSE);
  write_where (prob->data, 0, r->mask->data, NULL, nvox, FALSE, changes);
  if (r->region_mask[BS_REGION_TC] == NULL)
    return TRUE;
  if (r->region_channel[BS_REGION_TC] != core_channel || core_channel < 0 || core_channel >= prob->n_channels)
    return FALSE;
  write_where (prob->data, nvox * (gsize) core_channel, r->region_mask[BS_REGION_TC]->data, NULL, nvox, TRUE,
               changes);
  /* The core trimmed away from its enhancing rim, in the whole tumour. */
  if (r->cleanup.core_trimmed > 0)
    write_where (prob->data, nvox * (gsize) core_channel, r->region_mask[BS_REGION_TC]->data, r->mask->data, nvox,
                 FALSE, changes);
  return TRUE;
}

typedef struct {
  BsInferProgress fn;
  gpointer data;
  int offset, total;
} PlanesProgress;

static void
planes_progress (int done, int total, gpointer user_data)
{
  PlanesProgress *pp = user_data;

  (void) total;
  pp->fn (pp->offset + done, pp->total, pp->data);
}

typedef struct {
  const BsVolume *prob;
  int *rows;   /* per k: x0, x1, y0, y1 (x0 > x1: nothing) */
} BoxJob;

static void
box_slice (int k, gpointer user_data)
{
  BoxJob *job = user_data;
  const BsVolume *v = job->prob;
  int nx = v->dims[0], ny = v->dims[1], *r = job->rows + 4 * k;
  const float *d = v->data + (gsize) k * nx * ny;

  r[0] = nx;
  r[1] = -1;
  r[2] = ny;
  r[3] = -1;
  for (int j = 0; j < ny; j++)
    for (int i = 0; i < nx; i++)
      if (d[(gsize) j * nx + i] >= BS_SEGMENT_PLANES_MIN_PROB)
        {
          r[0] = MIN (r[0], i);
          r[1] = MAX (r[1], i);
          r[2] = MIN (r[2], j);
          r[3] = MAX (r[3], j);
        }
}

gboolean
bs_segment_planes_box (const BsVolume *prob, int lo[3], int hi[3])
{
  int nz = prob->dims[2];
  g_autofree int *rows = g_new (int, 4 * (gsize) MAX (nz, 1));
  BoxJob job = { prob, rows };

  bs_parallel_for (nz, box_slice, &job);
  lo[0] = lo[1] = lo[2] = G_MAXINT;
  hi[0] = hi[1] = hi[2] = -1;
  for (int k = 0; k < nz; k++)
    {
      const int *r = rows + 4 * k;

      if (r[0] > r[1])
        continue;
      lo[0] = MIN (lo[0], r[0]);
      hi[0] = MAX (hi[0], r[1]);
      lo[1] = MIN (lo[1], r[2]);
      hi[1] = MAX (hi[1], r[3]);
      lo[2] = MIN (lo[2], k);
      hi[2] = MAX (hi[2], k);
    }
  if (hi[2] < 0)
    return FALSE;
  for (int a = 0; a < 3; a++)
    {
      lo[a] = MAX (lo[a] - BS_SEGMENT_PLANES_MARGIN, 0);
      hi[a] = MIN (hi[a] + BS_SEGMENT_PLANES_MARGIN, prob->dims[a] - 1);
    }
  return TRUE;
}

int
bs_segment_planes_slices (const BsVolume *vol, BsPlane p, const int lo[3], const int hi[3], guint8 *selected)
{
  int n = bs_volume_n_slices (vol, p), count = 0, axis = bs_volume_slice_axis (vol, p, 2);

  for (int k = 0; k < n; k++)
    {
      int ijk[3];
      gboolean in;

      bs_volume_slice_to_voxel (vol, p, k, 0, 0, ijk);
      in = ijk[axis] >= lo[axis] && ijk[axis] <= hi[axis];
      if (selected != NULL)
        selected[k] = in;
      count += in;
    }
  return count;
}

gboolean
bs_segment_planes_suit (const BsVolume *vol, BsPlane plane, char **why)
{
  double thick, wide;

  g_return_val_if_fail (vol != NULL, FALSE);
  thick = vol->spacing[bs_volume_slice_axis (vol, plane, 2)];
  wide = MAX (vol->spacing[bs_volume_slice_axis (vol, plane, 0)], vol->spacing[bs_volume_slice_axis (vol, plane, 1)]);
  /* a hundredth of slack for spacings stored as 2.0000001 */
  if (!(thick > BS_SEGMENT_PLANES_MAX_THICKNESS * 1.01 * wide))
    return TRUE;
  if (why != NULL)
    /* TRANSLATORS: why the three-plane passes did not run on a case; %.2g are millimetres */
    *why = g_strdup_printf (_("Voxels of %.2g x %.2g x %.2g mm: the slices are %.1f times thicker than their pixels, "
                              "so the network ran on these slices only (the other planes' slices would be stretched)"),
                            vol->spacing[0], vol->spacing[1], vol->spacing[2], thick / wide);
  return FALSE;
}

char *
bs_segment_pixel_note (const BsVolume *vol, BsPlane plane)
{
  double w, h;

  g_return_val_if_fail (vol != NULL, NULL);
  w = vol->spacing[bs_volume_slice_axis (vol, plane, 0)];
  h = vol->spacing[bs_volume_slice_axis (vol, plane, 1)];
  if (!(MIN (w, h) < BS_SEGMENT_FINE_PIXEL_MM))
    return NULL;
  /* TRANSLATORS: a warning on a case whose pixels are finer than the model's training data; %.2g are millimetres */
  return g_strdup_printf (_("Pixels of %.2g x %.2g mm, finer than the 1 mm the model learned from: a tumour looks "
                            "larger to it than in training; expect a less accurate mask."),
                          w, h);
}

char *
bs_segment_resample_note (const BsVolume *vol)
{
  g_return_val_if_fail (vol != NULL, NULL);
  if (!bs_volume_has_source (vol))
    return NULL;
  /* TRANSLATORS: a case resampled for the network; %.2g are millimetres, the file's voxel then the one used */
  return g_strdup_printf (_("Resampled from the file's voxels of %.2g x %.2g x %.2g mm to %.2g x %.2g x %.2g mm, as "
                            "the model learned from 1 mm voxels; masks are saved on the file's grid."),
                          vol->source_spacing[0], vol->source_spacing[1], vol->source_spacing[2], vol->spacing[0],
                          vol->spacing[1], vol->spacing[2]);
}

int
bs_segment_other_planes_slices (const BsVolume *prepared, BsPlane plane, const BsVolume *prob)
{
  int n = 0, lo[3], hi[3];
  gboolean box = prob != NULL && bs_segment_planes_box (prob, lo, hi);

  if (prob != NULL && !box)
    return 0;
  for (int p = 0; p < 3; p++)
    if ((BsPlane) p != plane)
      n += box ? bs_segment_planes_slices (prepared, (BsPlane) p, lo, hi, NULL) : bs_volume_n_slices (prepared, (BsPlane) p);
  return n;
}

/* Over the box, in place in prob: prob += add, or with add NULL prob /= 3;
 * each job item is one row (j, k) of every channel. */
typedef struct {
  float *dst;
  const float *add;
  int nx, ny, n_channels;
  gsize n;
  int lo[3], hi[3];
} AddJob;

static void
add_rows (int begin, int end, gpointer user_data)
{
  AddJob *job = user_data;
  int rows_per_k = job->hi[1] - job->lo[1] + 1;

  for (int r = begin; r < end; r++)
    {
      int k = job->lo[2] + r / rows_per_k, j = job->lo[1] + r % rows_per_k;

      for (int c = 0; c < job->n_channels; c++)
        {
          gsize off = (gsize) c * job->n + ((gsize) k * job->ny + j) * job->nx;
          float *d = job->dst + off;

          if (job->add != NULL)
            {
              const float *a = job->add + off;

              for (int i = job->lo[0]; i <= job->hi[0]; i++)
                d[i] += a[i];
            }
          else
            for (int i = job->lo[0]; i <= job->hi[0]; i++)
              d[i] = d[i] / 3.0f;
        }
    }
}

void
bs_segment_planes_add (BsVolume *dst, const BsVolume *add, const int lo[3], const int hi[3])
{
  AddJob job = { dst->data, add != NULL ? add->data : NULL, dst->dims[0], dst->dims[1], dst->n_channels,
                 bs_volume_n_voxels (dst), { lo[0], lo[1], lo[2] }, { hi[0], hi[1], hi[2] } };

  bs_parallel_for_range ((hi[1] - lo[1] + 1) * (hi[2] - lo[2] + 1), 16, add_rows, &job);
}

gboolean
bs_segment_average_planes (const BsUnet *net, const BsVolume *prepared, BsPlane plane, const BsPlanOptions *opts,
                           const BsCalibration *cal, BsVolume *prob, BsTiming *timing, BsInferProgress progress,
                           gpointer user_data, int done_before, int total, GCancellable *cancellable, GError **error)
{
  PlanesProgress pp = { progress, user_data, done_before, total };
  BsTiming own;
  int lo[3], hi[3];
  double t0;

  if (timing == NULL)
    {
      bs_timing_reset (&own);
      timing = &own;
    }
  /* No voxel anywhere near tumour in the first plane: the other two could
   * only outvote it where both are sure, which is not worth two passes. */
  t0 = bs_now_ms ();
  if (!bs_segment_planes_box (prob, lo, hi))
    {
      bs_timing_add_stage (timing, "planes", bs_now_ms () - t0);
      return TRUE;
    }
  bs_timing_add_stage (timing, "planes", bs_now_ms () - t0);
  /* Each pass adds its slices into prob within the box, so the sum is
   * (plane + first other) + second other, in this order everywhere (the
   * trainer's evaluation adds whole volumes in the same order), with no
   * volume of its own: every voxel of the box lies on one slice each pass runs. */
  for (int p = 0; p < 3; p++)
    {
      g_autoptr(BsInferGeometry) geom = NULL;
      g_autoptr(BsPlan) plan = NULL;
      g_autofree guint8 *selected = NULL;

      if ((BsPlane) p == plane)
        continue;
      t0 = bs_now_ms ();
      geom = bs_infer_geometry_new_for_net (net, prepared, (BsPlane) p, opts->crop_to_brain);
      /* and within them, the box with some tissue around it for context */
      if (opts->crop_to_brain)
        bs_infer_geometry_restrict (geom, prepared, lo, hi, BS_SEGMENT_PLANES_CONTEXT);
      selected = g_new (guint8, MAX (geom->n_slices, 1));
      bs_segment_planes_slices (prepared, (BsPlane) p, lo, hi, selected);
      bs_timing_add_stage (timing, "preprocess", bs_now_ms () - t0);
      plan = bs_plan_new (net, geom->ph, geom->pw, opts, cal, error);
      if (plan == NULL)
        return FALSE;
      if (!bs_infer_slices_add (plan, prepared, geom, selected, prob, lo, hi, timing,
                                progress ? planes_progress : NULL, &pp, cancellable, error))
        return FALSE;
      for (int k = 0; k < geom->n_slices; k++)
        pp.offset += selected[k];
    }
  t0 = bs_now_ms ();
  bs_segment_planes_add (prob, NULL, lo, hi);
  bs_timing_add_stage (timing, "planes", bs_now_ms () - t0);
  return TRUE;
}

BsInferGeometry **
bs_segment_slabs (const BsInferGeometry *geom, const guint8 *selected, BsPrecision precision, int *n_slabs)
{
  return bs_infer_geometry_slabs (geom, selected, BS_SEGMENT_MAX_SLABS,
                                  precision == BS_PRECISION_INT8 ? BS_SEGMENT_SLAB_SAVING_INT8 : BS_SEGMENT_SLAB_SAVING,
                                  n_slabs);
}

/* The pass in the case's own plane: its brain slices (those selected) in
 * slabs, each on its own window and plan (bs_infer_geometry_slabs); every
 * plan's buffers go back before the next is built and before the masks are
 * made, which then reuse that memory instead of fresh pages (bs-runtime.h). */
static gboolean
run_slabs (const BsUnet *net, const BsVolume *prepared, BsSegmentResult *r, const BsPlanOptions *opts,
           const guint8 *selected, const BsCalibration *cal, PlanesProgress *pp, GCancellable *cancellable,
           GError **error)
{
  int n_slabs = 0;
  BsInferGeometry **slabs = bs_segment_slabs (r->geom, selected, opts->precision, &n_slabs);
  gboolean ok = TRUE;

  r->n_slabs = n_slabs;
  for (int i = 0; i < n_slabs && ok; i++)
    {
      g_autoptr(BsPlan) plan = NULL;
      double t0 = bs_now_ms ();

      if (slabs[i]->n_brain == 0)
        continue;
      plan = bs_plan_new (net, slabs[i]->ph, slabs[i]->pw, opts, cal, error);
      r->plan_ms += bs_now_ms () - t0;
      if (plan == NULL)
        {
          ok = FALSE;
          break;
        }
      if (r->threads == 0)
        {
          r->threads = bs_plan_get_threads (plan);
          r->lanes = bs_plan_get_lanes (plan);
        }
      ok = bs_infer_slices (plan, prepared, slabs[i], slabs[i]->brain, r->prob, &r->timing,
                            pp->fn ? planes_progress : NULL, pp, cancellable, error);
      pp->offset += slabs[i]->n_brain;
    }
  for (int i = 0; i < n_slabs; i++)
    bs_infer_geometry_free (slabs[i]);
  g_free (slabs);
  return ok;
}

BsSegmentResult *
bs_segment (const BsUnet *net, const BsVolume *prepared, const BsVolume *truth, const BsSegmentOptions *opts,
            BsInferProgress progress, gpointer user_data, GCancellable *cancellable, GError **error)
{
  const BsVolume *truths[BS_N_REGIONS] = { truth, NULL, NULL };

  return bs_segment_regions (net, prepared, truths, opts, progress, user_data, cancellable, error);
}

BsSegmentResult *
bs_segment_regions (const BsUnet *net, const BsVolume *prepared, const BsVolume *const *truth,
                    const BsSegmentOptions *opts, BsInferProgress progress, gpointer user_data,
                    GCancellable *cancellable, GError **error)
{
  g_autoptr(BsSegmentResult) r = g_new0 (BsSegmentResult, 1);
  g_autoptr(BsCalibration) cal = NULL;
  double t0, plan_before = 0.0;

  bs_timing_reset (&r->timing);
  r->dice = r->dice_raw = NAN;
  t0 = bs_now_ms ();
  r->geom = bs_infer_geometry_new_for_net (net, prepared, opts->plane, opts->plan.crop_to_brain);
  bs_timing_add_stage (&r->timing, "preprocess", bs_now_ms () - t0);
  for (int k = 0; k < r->geom->n_slices; k++)
    if (opts->slices == NULL || opts->slices[k])
      {
        r->n_selected++;
        r->n_run += r->geom->brain[k];
      }

  t0 = bs_now_ms ();
  if (opts->plan.precision == BS_PRECISION_INT8)
    {
      cal = bs_calibration_new_for_case (net, prepared, r->geom, opts->plan.calibrate_case, error);
      if (cal == NULL)
        return NULL;
      r->calibration_cases = bs_calibration_get_cases (cal);
      r->calibration_slices = bs_calibration_get_slices (cal);
    }
  r->plan_ms = bs_now_ms () - t0;

  t0 = bs_now_ms ();
  r->prob = bs_volume_new_like (prepared, net->config.out_channels);
  if (r->prob == NULL)
    {
      g_set_error_literal (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                           _("Out of memory for the probability volume"));
      return NULL;
    }
  /* Region names tell bs_segment_finish which channel is which. */
  for (int c = 0; c < net->config.out_channels; c++)
    {
      g_free (r->prob->channel_names[c]);
      r->prob->channel_names[c] = g_strdup (net->config.outputs && net->config.outputs[c] ? net->config.outputs[c]
                                                                                          : bs_region_name (c));
    }
  r->pixel_note = bs_segment_pixel_note (prepared, opts->plane);
  r->resample_note = bs_segment_resample_note (prepared);
  r->three_planes = opts->plan.three_planes && opts->slices == NULL
                    && bs_segment_planes_suit (prepared, opts->plane, &r->planes_note);
  {
    /* the most the passes can run; the box, known after the first pass, says how many will */
    PlanesProgress pp = { progress, user_data, r->n_selected - r->n_run,
                          r->n_selected + (r->three_planes ? bs_segment_other_planes_slices (prepared, opts->plane,
                                                                                               NULL) : 0) };

    plan_before = r->plan_ms;
    if (!run_slabs (net, prepared, r, &opts->plan, opts->slices, cal, &pp, cancellable, error))
      return NULL;
    if (r->three_planes)
      {
        pp.total = r->n_selected + bs_segment_other_planes_slices (prepared, opts->plane, r->prob);
        /* Nothing in the first pass to look at again: the other planes do
         * not run, and the result says so (it said they had). */
        if (pp.total == r->n_selected)
          {
            r->three_planes = FALSE;
            if (progress)
              progress (r->n_selected, r->n_selected, user_data);
          }
        else if (!bs_segment_average_planes (net, prepared, opts->plane, &opts->plan, cal, r->prob, &r->timing,
                                             progress, user_data, r->n_selected, pp.total, cancellable, error))
          return NULL;
      }
    else if (progress)
      progress (r->n_selected, r->n_selected, user_data);
  }

  /* prepared may be gone after this; the truths are read only after it */
  if (opts->after_network)
    opts->after_network (opts->after_network_data);
  if (!bs_segment_finish_regions (r, truth, opts->plane, opts->slices, opts->cleanup, error))
    return NULL;
  /* the slabs' plans count as planning, as the one plan did */
  r->run_ms = bs_now_ms () - t0 - (r->plan_ms - plan_before);
  return g_steal_pointer (&r);
}

BsVolume *
bs_segment_label_map (const BsSegmentResult *r, BsLabelConvention conv, GError **error)
{
  const BsVolume *tc = r->region_mask[BS_REGION_TC], *et = r->region_mask[BS_REGION_ET];
  BsVolume *map;

  g_return_val_if_fail (r->mask != NULL, NULL);
  if (conv == BS_LABELS_UNKNOWN)
    {
      g_set_error_literal (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                           _("A label map needs a known label convention"));
      return NULL;
    }
  if (conv != BS_LABELS_BINARY && (tc == NULL || et == NULL))
    {
      if (r->n_outputs <= 1)
        g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                     _("The model predicts the whole tumour only: labels in the %s convention need tumour core "
                       "and enhancing tumour outputs"), bs_labels_convention_name (conv));
      else
        g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                     _("The model does not predict both tumour core and enhancing tumour: labels in the %s "
                       "convention need both"), bs_labels_convention_name (conv));
      return NULL;
    }
  map = bs_labels_from_regions (r->mask, tc, et, conv);
  if (map == NULL)
    g_set_error_literal (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE, _("Out of memory for the label map"));
  return map;
}
