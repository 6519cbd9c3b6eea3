/* Training data: cases (picked modalities, normalised, whole-tumour target),
 * the seeded case split, stratified slice sampling and augmentation. */
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "bs-dataset.h"
#include "bs-error.h"
#include "bs-infer.h"
#include "bs-preprocess.h"
#include "bs-train-private.h"

static void
train_case_free (gpointer p)
{
  BsTrainCase *c = p;

  g_free (c->id);
  g_clear_pointer (&c->image, bs_volume_free);
  g_clear_pointer (&c->truth, bs_volume_free);
  g_clear_pointer (&c->core, bs_volume_free);
  g_free (c->regions);
  g_free (c->slices);
  g_free (c->has_tumour);
  for (int p = 0; p < 3; p++)
    {
      g_free (c->pslices[p]);
      g_free (c->phas_tumour[p]);
    }
  g_free (c);
}

/* The name a model file records, whatever alias the user typed, so that the
 * weights say "FLAIR" and "T1gd" like the Decathlon dataset.json does. */
static char *
canonical_modality (const char *name)
{
  static const struct {
    const char *alias, *name;
  } table[] = {
    { "flair", "FLAIR" }, { "t2f", "FLAIR" }, { "fla", "FLAIR" },
    { "t1gd", "T1gd" }, { "t1c", "T1gd" }, { "t1ce", "T1gd" },
    { "t1", "T1w" }, { "t1w", "T1w" }, { "t1n", "T1w" },
    { "t2", "T2w" }, { "t2w", "T2w" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    if (g_ascii_strcasecmp (name, table[i].alias) == 0)
      return g_strdup (table[i].name);
  return g_strdup (name);
}

BsTrainSet *
bs_train_set_new (const char *const *modalities)
{
  BsTrainSet *set = g_new0 (BsTrainSet, 1);
  guint n = g_strv_length ((char **) modalities);

  set->modalities = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    set->modalities[i] = canonical_modality (modalities[i]);
  set->cases = g_ptr_array_new_with_free_func (train_case_free);
  return set;
}

void
bs_train_set_free (BsTrainSet *set)
{
  if (!set)
    return;
  g_strfreev (set->modalities);
  g_ptr_array_unref (set->cases);
  g_free (set);
}

guint
bs_train_set_get_n_cases (const BsTrainSet *set)
{
  return set->cases->len;
}

const char *
bs_train_set_get_case_id (const BsTrainSet *set, guint i)
{
  return ((BsTrainCase *) g_ptr_array_index (set->cases, i))->id;
}

BsTrainSplit
bs_train_set_get_case_split (const BsTrainSet *set, guint i)
{
  return ((BsTrainCase *) g_ptr_array_index (set->cases, i))->split;
}

/* Label value of the necrotic (or necrotic / non-enhancing) core, 0 if the
 * convention has none or is unknown. */
static int
core_label (BsLabelConvention conv)
{
  switch (conv)
    {
    case BS_LABELS_BRATS2015:
    case BS_LABELS_BRATS2017:
    case BS_LABELS_BRATS2023:
      return 1;
    case BS_LABELS_DECATHLON:
      return 2;
    case BS_LABELS_UNKNOWN:
    case BS_LABELS_BINARY:
    default:
      return 0;
    }
}

static gboolean add_case (BsTrainSet *set, const char *id, const BsVolume *image, const BsVolume *label,
                          BsLabelConvention conv, int group, GError **error);

gboolean
bs_train_set_add_case (BsTrainSet *set, const char *id, const BsVolume *image, const BsVolume *label,
                       GError **error)
{
  return add_case (set, id, image, label, label ? bs_labels_guess (label) : BS_LABELS_UNKNOWN, 0, error);
}

gboolean
bs_train_set_add_case_labelled (BsTrainSet *set, const char *id, const BsVolume *image, const BsVolume *label,
                                BsLabelConvention convention, GError **error)
{
  return add_case (set, id, image, label, convention, 0, error);
}

gboolean
bs_train_set_case_has_subregions (const BsTrainSet *set, guint i)
{
  return ((BsTrainCase *) g_ptr_array_index (set->cases, i))->regions != NULL;
}

/* Bit r of every voxel: inside region r under conv; NULL when conv has no
 * sub-regions, so that such a case never teaches the core or the enhancing
 * tumour as absent. */
static guint8 *
region_bits (const BsVolume *label, BsLabelConvention conv)
{
  gsize nvox = bs_volume_n_voxels (label);
  guint8 lut[256] = { 0 };
  guint8 *bits;

  if (!bs_labels_has_region (conv, BS_REGION_TC) || !bs_labels_has_region (conv, BS_REGION_ET))
    return NULL;
  for (int v = 0; v < 256; v++)
    for (int r = 0; r < BS_N_REGIONS; r++)
      if (bs_labels_in_region (conv, r, v))
        lut[v] |= 1u << r;
  bits = g_new (guint8, nvox);
  for (gsize v = 0; v < nvox; v++)
    {
      long value = lrintf (label->data[v]);
      bits[v] = value > 0 && value < 256 ? lut[value] : 0;
    }
  return bits;
}

static gboolean
add_case (BsTrainSet *set, const char *id, const BsVolume *image, const BsVolume *label, BsLabelConvention conv,
          int group, GError **error)
{
  int nch = (int) g_strv_length (set->modalities);
  g_autoptr(BsVolume) prepared = NULL;
  g_autoptr(BsVolume) truth = NULL;
  g_autoptr(BsVolume) core = NULL;
  BsTrainCase *c;
  gsize nvox = bs_volume_n_voxels (image);
  int n_slices, sw, sh;
  guint32 present = 0;
  g_autoptr(GError) local = NULL;
  g_autofree float *buf = NULL;
  g_autofree float *lab = NULL;

  if (!label)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("Case %s has no label volume to train on"), id);
      return FALSE;
    }
  if (label->dims[0] != image->dims[0] || label->dims[1] != image->dims[1] || label->dims[2] != image->dims[2])
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("Case %s: label is %dx%dx%d but the image is %dx%dx%d"), id, label->dims[0],
                   label->dims[1], label->dims[2], image->dims[0], image->dims[1], image->dims[2]);
      return FALSE;
    }

  prepared = bs_preprocess_prepare (image, (const char *const *) set->modalities, nch, &present, &local);
  if (!prepared)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("Case %s: %s"), id, local->message);
      return FALSE;
    }

  truth = bs_volume_new_like (image, 1);
  truth->is_label = TRUE;
  for (gsize v = 0; v < nvox; v++)
    truth->data[v] = label->data[v] > 0.5f ? 1.0f : 0.0f;
  if (core_label (conv) > 0)
    {
      float want = (float) core_label (conv);
      gsize n_core = 0;
      core = bs_volume_new_like (image, 1);
      for (gsize v = 0; v < nvox; v++)
        if (fabsf (label->data[v] - want) < 0.5f)
          {
            core->data[v] = 1.0f;
            n_core++;
          }
      if (n_core == 0)
        g_clear_pointer (&core, bs_volume_free);
    }

  c = g_new0 (BsTrainCase, 1);
  c->id = g_strdup (id);
  c->split = BS_TRAIN_SPLIT_TRAIN;
  c->present = present;
  c->group = group;
  n_slices = bs_volume_n_slices (prepared, BS_PLANE_AXIAL);
  bs_volume_slice_size (prepared, BS_PLANE_AXIAL, &sw, &sh);
  c->sw = sw;
  c->sh = sh;
  c->slices = g_new (int, n_slices);
  c->has_tumour = g_new (guint8, n_slices);
  buf = g_new (float, (gsize) sw * sh);
  lab = g_new (float, (gsize) sw * sh);
  /* Only slices that show brain are worth a training step. */
  for (int s = 0; s < n_slices; s++)
    {
      gboolean brain = FALSE, tumour = FALSE;

      bs_volume_get_slice (prepared, g_bit_nth_lsf (present, -1), BS_PLANE_AXIAL, s, buf);
      bs_volume_get_slice (truth, 0, BS_PLANE_AXIAL, s, lab);
      for (gsize p = 0; p < (gsize) sw * sh; p++)
        {
          brain |= buf[p] != 0.0f;
          tumour |= lab[p] > 0.5f;
        }
      if (brain || tumour)
        {
          c->slices[c->n_slices] = s;
          c->has_tumour[c->n_slices] = tumour;
          c->n_slices++;
        }
    }
  c->image = g_steal_pointer (&prepared);
  c->truth = g_steal_pointer (&truth);
  c->core = g_steal_pointer (&core);
  c->regions = region_bits (label, conv);
  g_ptr_array_add (set->cases, c);
  return TRUE;
}

gboolean
bs_train_set_add_dataset (BsTrainSet *set, const char *path, BsTiming *timing, GError **error)
{
  g_autoptr(BsDataset) ds = NULL;
  double t0 = bs_now_ms ();
  guint n_added = 0;

  ds = bs_dataset_open (path, NULL, error);
  if (!ds)
    return FALSE;
  set->n_groups++;
  for (guint i = 0; i < bs_dataset_get_n_cases (ds); i++)
    {
      g_autoptr(BsCase) cs = NULL;
      double t1;

      if (!bs_dataset_case_has_label (ds, i))
        continue;
      /* The same case twice (a dataset given twice, or two copies of one
       * case) could sit in a fold's training and its held-out cases at once
       * (fuzz finding): refused by its id. */
      if (bs_train_set_find_case (set, bs_dataset_get_case_id (ds, i)) != NULL)
        {
          g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                       _("%s: case %s is already in the training data (a dataset given twice, or two copies of "
                         "one case?)"), path, bs_dataset_get_case_id (ds, i));
          return FALSE;
        }
      t0 = bs_now_ms ();
      cs = bs_dataset_load_case (ds, i, error);
      if (!cs)
        return FALSE;
      t1 = bs_now_ms ();
      if (timing)
        bs_timing_add_stage (timing, "data loading", t1 - t0);
      if (!add_case (set, cs->id, cs->image, cs->label, cs->convention, set->n_groups, error))
        {
          g_prefix_error (error, "%s: ", path);
          return FALSE;
        }
      if (timing)
        bs_timing_add_stage (timing, "preprocessing", bs_now_ms () - t1);
      n_added++;
    }
  if (n_added == 0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("%s has no case with a label to train on"), path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
id_listed (const char *const *ids, const char *id)
{
  for (; ids && *ids; ids++)
    if (g_ascii_strcasecmp (*ids, id) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
ids_known (BsTrainSet *set, const char *const *ids, GError **error)
{
  for (; ids && *ids; ids++)
    if (!bs_train_set_find_case (set, *ids))
      {
        g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("No case is called %s"), *ids);
        return FALSE;
      }
  return TRUE;
}

static void
shuffle_ints (GRand *r, int *v, int n)
{
  for (int i = n - 1; i > 0; i--)
    {
      int j = g_rand_int_range (r, 0, i + 1), t = v[i];
      v[i] = v[j];
      v[j] = t;
    }
}

gboolean
bs_train_set_split (BsTrainSet *set, double train_fraction, guint64 seed, const char *const *val_ids,
                    const char *const *test_ids, GError **error)
{
  int n = (int) set->cases->len, n_free = 0, n_train, n_val, n_test, n_fixed_val = 0, n_fixed_test = 0;
  g_autofree int *order = g_new (int, MAX (n, 1));
  g_autoptr(GRand) r = g_rand_new_with_seed ((guint32) (seed ^ (seed >> 32)));

  if (train_fraction <= 0.0 || train_fraction > 1.0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("The training fraction must be in (0, 1], not %g"), train_fraction);
      return FALSE;
    }
  if (!ids_known (set, val_ids, error) || !ids_known (set, test_ids, error))
    return FALSE;

  for (int i = 0; i < n; i++)
    {
      BsTrainCase *c = g_ptr_array_index (set->cases, i);
      if (id_listed (test_ids, c->id))
        {
          c->split = BS_TRAIN_SPLIT_TEST;
          n_fixed_test++;
        }
      else if (id_listed (val_ids, c->id))
        {
          c->split = BS_TRAIN_SPLIT_VALIDATION;
          n_fixed_val++;
        }
      else
        order[n_free++] = i;
    }
  shuffle_ints (r, order, n_free);

  /* Named cases fill their split; the shuffle fills only splits nobody named. */
  n_train = (int) floor (n * train_fraction + 0.5);
  n_val = (n - n_train) / 2 + (n - n_train) % 2;
  n_test = n - n_train - n_val;
  if (n >= 3 && train_fraction < 1.0)
    {
      n_val = MAX (n_val, 1);
      n_test = MAX (n_test, 1);
    }
  n_val = (val_ids && *val_ids) ? 0 : n_val;
  n_test = (test_ids && *test_ids) ? 0 : n_test;
  if (n_free - n_val - n_test < 1)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("%d cases are too few to leave any for training after validation and test"), n);
      return FALSE;
    }
  for (int k = 0; k < n_free; k++)
    {
      BsTrainCase *c = g_ptr_array_index (set->cases, order[k]);
      c->split = k < n_test ? BS_TRAIN_SPLIT_TEST
               : k < n_test + n_val ? BS_TRAIN_SPLIT_VALIDATION
               : BS_TRAIN_SPLIT_TRAIN;
    }
  return TRUE;
}

gboolean
bs_train_set_split_folds (BsTrainSet *set, int folds, int fold, guint64 seed, double train_fraction,
                          const char *const *val_ids, GError **error)
{
  int n = (int) set->cases->len, n_cv = 0, next = 0, n_rest = 0, n_val, n_train = 0;
  g_autofree int *order = g_new (int, MAX (n, 1));
  g_autofree int *rest = g_new (int, MAX (n, 1));
  /* Not the plain split's stream: a fold split and a plain split with the
   * same seed are unrelated. */
  g_autoptr(GRand) r = g_rand_new_with_seed ((guint32) (seed ^ (seed >> 32) ^ 0x666f6c64u));

  if (train_fraction <= 0.0 || train_fraction > 1.0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("The training fraction must be in (0, 1], not %g"), train_fraction);
      return FALSE;
    }
  if (!ids_known (set, val_ids, error))
    return FALSE;
  for (int i = 0; i < n; i++)
    {
      BsTrainCase *c = g_ptr_array_index (set->cases, i);
      c->fold = 0;
      c->split = BS_TRAIN_SPLIT_TRAIN;
      n_cv += c->group > 0;
    }
  if (folds < 2 || fold < 1 || fold > folds || folds > n_cv)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("Cross-validation needs 2 <= folds <= the %d cases of the datasets and 1 <= fold <= folds "
                     "(asked for fold %d of %d)"),
                   n_cv, fold, folds);
      return FALSE;
    }
  /* Each dataset shuffled on its own and dealt round the folds in turn, so
   * that every fold holds a share of every dataset (scanner, release). */
  for (int group = 1; group <= set->n_groups; group++)
    {
      int m = 0;
      for (int i = 0; i < n; i++)
        if (((BsTrainCase *) g_ptr_array_index (set->cases, i))->group == group)
          order[m++] = i;
      shuffle_ints (r, order, m);
      for (int k = 0; k < m; k++)
        ((BsTrainCase *) g_ptr_array_index (set->cases, order[k]))->fold = 1 + next++ % folds;
    }
  for (int i = 0; i < n; i++)
    {
      BsTrainCase *c = g_ptr_array_index (set->cases, i);
      if (c->fold == fold)
        c->split = BS_TRAIN_SPLIT_TEST;
      else if (c->fold > 0 && id_listed (val_ids, c->id))
        c->split = BS_TRAIN_SPLIT_VALIDATION;
      else if (c->fold > 0)
        rest[n_rest++] = i;
    }
  /* Validation cases come from the training folds; named ones replace the draw. */
  shuffle_ints (r, rest, n_rest);
  n_val = (val_ids && *val_ids) ? 0 : (int) floor (n_rest * (1.0 - train_fraction) + 0.5);
  for (int k = 0; k < n_rest; k++)
    if (k < n_val)
      ((BsTrainCase *) g_ptr_array_index (set->cases, rest[k]))->split = BS_TRAIN_SPLIT_VALIDATION;
  for (int i = 0; i < n; i++)
    n_train += ((BsTrainCase *) g_ptr_array_index (set->cases, i))->split == BS_TRAIN_SPLIT_TRAIN;
  if (n_train == 0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("Fold %d of %d leaves no case for training after validation"), fold, folds);
      return FALSE;
    }
  return TRUE;
}

const char *const *
bs_train_set_get_modalities (const BsTrainSet *set)
{
  return (const char *const *) set->modalities;
}

int
bs_train_set_get_case_fold (const BsTrainSet *set, guint i)
{
  return ((BsTrainCase *) g_ptr_array_index (set->cases, i))->fold;
}

char *
bs_train_set_get_case_channels (const BsTrainSet *set, guint i)
{
  const BsTrainCase *c = g_ptr_array_index (set->cases, i);
  g_autoptr(GString) s = g_string_new (NULL);

  for (int k = 0; set->modalities[k]; k++)
    if (c->present & (1u << k))
      g_string_append_printf (s, "%s%s", s->len ? "," : "", set->modalities[k]);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

gboolean
bs_train_set_check_modalities (const BsTrainSet *set, GError **error)
{
  for (int k = 0; set->modalities[k]; k++)
    {
      gboolean any = FALSE;
      for (guint i = 0; i < set->cases->len && !any; i++)
        any = (((BsTrainCase *) g_ptr_array_index (set->cases, i))->present >> k) & 1;
      if (!any && set->cases->len > 0)
        {
          g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                       _("No case has the %s modality: nothing would ever feed that input"), set->modalities[k]);
          return FALSE;
        }
    }
  return TRUE;
}

BsTrainCase *
bs_train_set_find_case (BsTrainSet *set, const char *id)
{
  for (guint i = 0; i < set->cases->len; i++)
    {
      BsTrainCase *c = g_ptr_array_index (set->cases, i);
      if (g_ascii_strcasecmp (c->id, id) == 0)
        return c;
    }
  return NULL;
}

/* ---- slices ---- */

void
bs_train_slice_list_build (BsTrainSet *set, BsTrainSplit split, GArray *tumour, GArray *other)
{
  for (guint i = 0; i < set->cases->len; i++)
    {
      BsTrainCase *c = g_ptr_array_index (set->cases, i);
      if (c->split != split)
        continue;
      for (int k = 0; k < c->n_slices; k++)
        {
          BsTrainSliceRef ref = { c, c->slices[k] };
          g_array_append_val (c->has_tumour[k] ? tumour : other, ref);
        }
    }
}

/* Copies a size x size window at (x0, y0) of a w x h slice (zeros outside). */
static void
window (const float *src, int w, int h, int x0, int y0, int size, float *dst)
{
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      {
        int sx = x0 + x, sy = y0 + y;
        dst[y * size + x] = (sx >= 0 && sx < w && sy >= 0 && sy < h) ? src[sy * w + sx] : 0.0f;
      }
}

/* Flips and quarter turns of a square plane, the same for image and mask. */
static void
orient (float *plane, float *tmp, int size, gboolean flip_x, gboolean flip_y, int turns)
{
  memcpy (tmp, plane, sizeof (float) * size * size);
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      {
        int sx = flip_x ? size - 1 - x : x, sy = flip_y ? size - 1 - y : y, rx, ry;
        switch (turns & 3)
          {
          case 1: rx = sy; ry = size - 1 - sx; break;
          case 2: rx = size - 1 - sx; ry = size - 1 - sy; break;
          case 3: rx = size - 1 - sy; ry = sx; break;
          default: rx = sx; ry = sy; break;
          }
        plane[y * size + x] = tmp[ry * size + rx];
      }
}

/* Channels to zero in one example: each with probability p, but never every
 * channel the case has, so that the network always sees something. */
static guint32
modality_dropout_mask (BsTrainRng *r, guint32 present, int nch, double p)
{
  guint32 drop = 0, left;
  int n_present = 0, pick;

  for (int k = 0; k < nch; k++)
    if (bs_train_rng_double (r) < p)
      drop |= 1u << k;
  left = present & ~drop;
  if (left != 0 || present == 0)
    return drop;
  for (int k = 0; k < nch; k++)
    n_present += (present >> k) & 1;
  pick = bs_train_rng_int_range (r, 0, n_present);
  for (int k = 0; k < nch; k++)
    if (((present >> k) & 1) && pick-- == 0)
      drop &= ~(1u << k);
  return drop;
}

static gssize
voxel_offset (const BsVolume *vol, BsPlane plane, int slice, int x, int y)
{
  int ijk[3];

  bs_volume_slice_to_voxel (vol, plane, slice, x, y, ijk);
  return ijk[0] + (gssize) vol->dims[0] * (ijk[1] + (gssize) vol->dims[1] * ijk[2]);
}

/* The slice of region r in plane as a 0/1 plane, as displayed (the truth's
 * slice for WT; zeros when the case cannot tell r). */
static void
region_slice (const BsTrainCase *c, BsRegion r, BsPlane plane, int slice, float *out)
{
  gssize start, sx, sy;
  int w, h;

  if (r == BS_REGION_WT)
    {
      bs_volume_get_slice (c->truth, 0, plane, slice, out);
      return;
    }
  bs_volume_slice_size (c->truth, plane, &w, &h);
  if (!c->regions)
    {
      memset (out, 0, (gsize) w * h * sizeof (float));
      return;
    }
  /* The slice's walk through the voxels, from three of its pixels. */
  start = voxel_offset (c->truth, plane, slice, 0, 0);
  sx = w > 1 ? voxel_offset (c->truth, plane, slice, 1, 0) - start : 0;
  sy = h > 1 ? voxel_offset (c->truth, plane, slice, 0, 1) - start : 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      out[(gsize) y * w + x] = (c->regions[start + y * sy + x * sx] >> r) & 1 ? 1.0f : 0.0f;
}

void
bs_train_fill_slice (const BsTrainSliceRef *ref, int crop, int context, BsTrainRng *r, const BsTrainAug *aug,
                     const BsTrainOutputs *outputs, float *input, float *target, float *valid)
{
  const BsTrainCase *c = ref->c;
  BsPlane splane = ref->plane;
  int nch = c->image->n_channels, w = c->sw, h = c->sh, slots = 1 + 2 * context;
  int n_slices = bs_volume_n_slices (c->image, splane);
  int x0, y0;
  g_autofree float *full = NULL;
  g_autofree float *tmp = g_new (float, (gsize) crop * crop);
  gboolean fx = FALSE, fy = FALSE;
  int turns = 0;
  gboolean augment = r && aug;
  gsize pix = (gsize) crop * crop;

  bs_volume_slice_size (c->image, splane, &w, &h);
  full = g_new (float, (gsize) w * h);
  x0 = (w - crop) / 2;
  y0 = (h - crop) / 2;
  if (augment)
    {
      int jx = (int) (abs (x0) * aug->offset_ratio), jy = (int) (abs (y0) * aug->offset_ratio);
      if (jx > 0)
        x0 += bs_train_rng_int_range (r, -jx, jx + 1);
      if (jy > 0)
        y0 += bs_train_rng_int_range (r, -jy, jy + 1);
      fx = bs_train_rng_boolean (r);
      fy = bs_train_rng_boolean (r);
      turns = bs_train_rng_int_range (r, 0, 4);
    }
  /* Input slot s (the slice, then its neighbours) of modality k is plane
   * s * nch + k; every augmentation of a modality treats its slots alike, as
   * one scan. */
  for (int k = 0; k < nch; k++)
    {
      for (int s = 0; s < slots; s++)
        {
          bs_volume_get_slice (c->image, k, splane, bs_infer_context_slice (ref->slice, s, n_slices), full);
          window (full, w, h, x0, y0, crop, input + ((gsize) s * nch + k) * pix);
        }
      if (augment && c->core && g_strcmp0 (c->image->channel_names[k], "FLAIR") == 0 && aug->core_flair_p > 0.0
          && bs_train_rng_double (r) < aug->core_flair_p)
        {
          /* Necrotic cores range from FLAIR-bright to fluid-dark (not fully
           * suppressed fluid): pull this one towards a darker level so that
           * the network does not learn "tumour = bright on FLAIR" alone. */
          float level = (float) bs_train_rng_double_range (r, -1.8, 0.0);
          float t = (float) bs_train_rng_double_range (r, 0.4, 1.0);
          g_autofree float *core = g_new (float, pix);
          for (int s = 0; s < slots; s++)
            {
              float *plane = input + ((gsize) s * nch + k) * pix;
              bs_volume_get_slice (c->core, 0, splane, bs_infer_context_slice (ref->slice, s, n_slices), full);
              window (full, w, h, x0, y0, crop, core);
              for (gsize p = 0; p < pix; p++)
                if (core[p] > 0.5f && plane[p] != 0.0f)
                  plane[p] += t * (level - plane[p]);
            }
        }
      if (augment && aug->bias_field > 0.0)
        {
          /* A receive coil's smooth shading (the bias field) multiplies the raw
           * image by 1 + f(x, y); on a z-scored image, whose brain mean is about
           * three standard deviations above zero, that is a gain 1 + f and an
           * offset 3 f.  Linear and bilinear terms, |f| <= B at the corners. */
          double a = bs_train_rng_double_range (r, -1.0, 1.0), b = bs_train_rng_double_range (r, -1.0, 1.0);
          double cc = bs_train_rng_double_range (r, -1.0, 1.0);
          double scale = aug->bias_field * bs_train_rng_double (r) / MAX (fabs (a) + fabs (b) + fabs (cc), 1e-6);
          for (int s = 0; s < slots; s++)
            {
              float *plane = input + ((gsize) s * nch + k) * pix;
              for (int y = 0; y < crop; y++)
                {
                  double v = 2.0 * y / MAX (crop - 1, 1) - 1.0;
                  for (int x = 0; x < crop; x++)
                    {
                      double u = 2.0 * x / MAX (crop - 1, 1) - 1.0;
                      float f = (float) (scale * (a * u + b * v + cc * u * v));
                      float *px = plane + (gsize) y * crop + x;
                      if (*px != 0.0f)
                        *px = *px * (1.0f + f) + 3.0f * f;
                    }
                }
            }
        }
      if (augment)
        {
          /* Scanner and protocol differences survive z-scoring as gain and
           * offset changes inside the brain, each channel its own. */
          float gain = (float) bs_train_rng_double_range (r, 1.0 - aug->jitter, 1.0 + aug->jitter);
          float shift = (float) bs_train_rng_double_range (r, -aug->jitter, aug->jitter);
          for (int s = 0; s < slots; s++)
            {
              float *plane = input + ((gsize) s * nch + k) * pix;
              for (gsize p = 0; p < pix; p++)
                if (plane[p] != 0.0f)
                  plane[p] = plane[p] * gain + shift;
              orient (plane, tmp, crop, fx, fy, turns);
            }
        }
    }
  for (int k = 0; k < (outputs ? outputs->n : 1); k++)
    {
      BsRegion region = outputs ? outputs->r[k] : BS_REGION_WT;
      float *plane = target + (gsize) k * crop * crop;
      region_slice (c, region, splane, ref->slice, full);
      window (full, w, h, x0, y0, crop, plane);
      if (augment)
        orient (plane, tmp, crop, fx, fy, turns);
      if (valid)
        valid[k] = region == BS_REGION_WT || c->regions ? 1.0f : 0.0f;
    }
  if (augment && aug->modality_dropout > 0.0 && nch > 1)
    {
      guint32 drop = modality_dropout_mask (r, c->present, nch, aug->modality_dropout);
      for (int k = 0; k < nch; k++)
        if (drop & (1u << k))
          for (int s = 0; s < slots; s++)
            memset (input + ((gsize) s * nch + k) * pix, 0, sizeof (float) * pix);
    }
}

/* The coronal and sagittal slices of c with brain or tumour, once. */
static void
find_planes (BsTrainCase *c)
{
  if (c->planes_found)
    return;
  for (int p = BS_PLANE_CORONAL; p <= BS_PLANE_SAGITTAL; p++)
    {
      int n = bs_volume_n_slices (c->image, (BsPlane) p), w, h;
      g_autofree float *buf = NULL, *lab = NULL;

      bs_volume_slice_size (c->image, (BsPlane) p, &w, &h);
      buf = g_new (float, (gsize) w * h);
      lab = g_new (float, (gsize) w * h);
      c->pslices[p] = g_new (int, MAX (n, 1));
      c->phas_tumour[p] = g_new (guint8, MAX (n, 1));
      for (int k = 0; k < n; k++)
        {
          gboolean brain = FALSE, tumour = FALSE;

          bs_volume_get_slice (c->truth, 0, (BsPlane) p, k, lab);
          for (int ch = 0; ch < c->image->n_channels && !brain; ch++)
            {
              if (!(c->present & (1u << ch)))
                continue;
              bs_volume_get_slice (c->image, ch, (BsPlane) p, k, buf);
              for (gsize q = 0; q < (gsize) w * h && !brain; q++)
                brain = buf[q] != 0.0f;
            }
          for (gsize q = 0; q < (gsize) w * h && !tumour; q++)
            tumour = lab[q] > 0.5f;
          if (brain || tumour)
            {
              c->pslices[p][c->n_pslices[p]] = k;
              c->phas_tumour[p][c->n_pslices[p]] = tumour;
              c->n_pslices[p]++;
            }
        }
    }
  c->planes_found = TRUE;
}

void
bs_train_sampler_add_planes (BsTrainSampler *s, BsTrainSet *set)
{
  for (guint i = 0; i < set->cases->len; i++)
    {
      BsTrainCase *c = g_ptr_array_index (set->cases, i);

      if (c->split != BS_TRAIN_SPLIT_TRAIN)
        continue;
      find_planes (c);
      for (int p = BS_PLANE_CORONAL; p <= BS_PLANE_SAGITTAL; p++)
        for (int k = 0; k < c->n_pslices[p]; k++)
          {
            BsTrainSliceRef ref = { c, c->pslices[p][k], (BsPlane) p };
            g_array_append_val (c->phas_tumour[p][k] ? s->tumour : s->other, ref);
          }
    }
  s->n_total = s->tumour->len + s->other->len;
  s->tumour_share = s->n_total ? MAX (0.5, (double) s->tumour->len / s->n_total) : 0.0;
}

void
bs_train_sampler_init (BsTrainSampler *s, BsTrainSet *set, guint64 seed)
{
  memset (s, 0, sizeof *s);
  s->tumour = g_array_new (FALSE, FALSE, sizeof (BsTrainSliceRef));
  s->other = g_array_new (FALSE, FALSE, sizeof (BsTrainSliceRef));
  bs_train_slice_list_build (set, BS_TRAIN_SPLIT_TRAIN, s->tumour, s->other);
  bs_train_rng_seed (&s->rand, seed * 2654435761u + 17);
  s->n_total = s->tumour->len + s->other->len;
  s->tumour_share = s->n_total ? MAX (0.5, (double) s->tumour->len / s->n_total) : 0.0;
  s->outputs = (BsTrainOutputs) { 1, { BS_REGION_WT } };
}

void
bs_train_sampler_clear (BsTrainSampler *s)
{
  g_clear_pointer (&s->tumour, g_array_unref);
  g_clear_pointer (&s->other, g_array_unref);
}

static BsTrainSliceRef *
draw (BsTrainSampler *s, GArray *list, guint *pos)
{
  if (*pos == 0 || *pos >= list->len)
    {
      /* A fresh permutation each pass: every slice once before any twice. */
      for (guint i = list->len - 1; i > 0; i--)
        {
          guint j = (guint) bs_train_rng_int_range (&s->rand, 0, (int) i + 1);
          BsTrainSliceRef t = g_array_index (list, BsTrainSliceRef, i);
          g_array_index (list, BsTrainSliceRef, i) = g_array_index (list, BsTrainSliceRef, j);
          g_array_index (list, BsTrainSliceRef, j) = t;
        }
      *pos = 0;
    }
  return &g_array_index (list, BsTrainSliceRef, (*pos)++);
}

/* Stratified: at least half the batch (or the natural share, if higher) are
 * tumour slices, so no step sees only healthy tissue. */
void
bs_train_sampler_next (BsTrainSampler *s, int batch, int crop, gboolean augment, float *input, float *target,
                       float *valid, int nch)
{
  int n_tumour = s->other->len == 0 ? batch : CLAMP ((int) floor (batch * s->tumour_share + 0.5), 1, batch);

  if (s->tumour->len == 0)
    n_tumour = 0;
  for (int b = 0; b < batch; b++)
    {
      BsTrainSliceRef *ref = b < n_tumour ? draw (s, s->tumour, &s->pos_tumour) : draw (s, s->other, &s->pos_other);
      bs_train_fill_slice (ref, crop, s->context, &s->rand, augment ? &s->aug : NULL, &s->outputs,
                           input + (gsize) b * nch * (1 + 2 * s->context) * crop * crop, target + (gsize) b * s->outputs.n * crop * crop,
                           valid ? valid + (gsize) b * s->outputs.n : NULL);
    }
}
