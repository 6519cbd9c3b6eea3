/* The resumable training state: a normal Keras-layout weights file (the last
 * epoch's weights, which any loader reads) with one extra group,
 * /training_state, that model loaders never look at:
 *
 *   attributes   format, epoch, steps, best_epoch, bad_epochs, best and
 *                first/last losses, the generators' states, the sampler's
 *                positions, the run's options, the case ids of each split
 *   adam_m       Adam's first moments, every layer's weights (OIHW) then bias,
 *   adam_v       second moments, same order (float32, flat)
 *   best_weights the best-validation weights, same order
 *   mean_weights the running mean of the end-of-epoch weights, same order
 *                (only while averaging, attribute mean_count > 0)
 *   sampler_tumour, sampler_other
 *                the sampler's current permutations, rows of (case, slice)
 *                (int32, n x 2), cases numbered in the order they were added */
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <hdf5.h>
#include <math.h>
#include <string.h>

#include "bs-error.h"
#include "bs-h5.h"
#include "bs-train-private.h"

/* The whole file as read, so that a run reads it once: the CLI needs the
 * options before it splits the cases, the run everything else. */
struct _BsTrainCheckpoint {
  char *path;
  BsUnet *net;            /* the file's weights (the last epoch's) */
  gboolean has_state;
  BsTrainState st;
  float *adam_m, *adam_v; /* flat, in the order of flatten (); n_params (net) values */
  float *best;
  float *mean;            /* only when st.mean_count > 0 */
  gint32 *rows[2];        /* the sampler's tumour and other permutations, (case, slice) rows */
  guint n_rows[2];
};

#define STATE_GROUP "training_state"
#define STATE_FORMAT 1

static const char *const split_attr[3] = { "training_cases", "validation_cases", "test_cases" };
static const char *const sampler_lists[2] = { "sampler_tumour", "sampler_other" };

void
bs_train_state_clear (BsTrainState *st)
{
  for (int k = 0; k < 3; k++)
    g_strfreev (st->case_ids[k]);
  g_free (st->best_description);
  memset (st, 0, sizeof *st);
}

char *
bs_train_state_path_for (const char *out)
{
  if (g_str_has_suffix (out, ".h5"))
    return g_strdup_printf ("%.*s.last.h5", (int) (strlen (out) - 3), out);
  return g_strdup_printf ("%s.last.h5", out);
}

static gsize
n_params (const BsUnet *net)
{
  gsize n = 0;

  for (int i = 0; i < net->n_layers; i++)
    {
      const BsUnetLayer *L = &net->layers[i];
      n += (gsize) L->out_ch * L->in_ch * L->kh * L->kw + L->out_ch;
    }
  return n;
}

/* Every layer's weights (OIHW) then bias, one after another: the order of
 * the flat datasets. */
static void
flatten (const BsUnet *net, float *flat)
{
  for (int i = 0; i < net->n_layers; i++)
    {
      const BsUnetLayer *L = &net->layers[i];
      gsize wn = (gsize) L->out_ch * L->in_ch * L->kh * L->kw;
      memcpy (flat, L->weights, wn * sizeof (float));
      memcpy (flat + wn, L->bias, (gsize) L->out_ch * sizeof (float));
      flat += wn + L->out_ch;
    }
}

static void
unflatten (BsUnet *net, const float *flat)
{
  for (int i = 0; i < net->n_layers; i++)
    {
      BsUnetLayer *L = &net->layers[i];
      gsize wn = (gsize) L->out_ch * L->in_ch * L->kh * L->kw;
      memcpy (L->weights, flat, wn * sizeof (float));
      memcpy (L->bias, flat + wn, (gsize) L->out_ch * sizeof (float));
      flat += wn + L->out_ch;
    }
}

/* ---- HDF5 helpers ---- */

static gboolean
attr_write (hid_t loc, const char *name, hid_t file_type, hid_t mem_type, const void *value)
{
  hid_t space = H5Screate (H5S_SCALAR), attr;
  herr_t st = -1;

  attr = H5Acreate2 (loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr >= 0)
    {
      st = H5Awrite (attr, mem_type, value);
      H5Aclose (attr);
    }
  H5Sclose (space);
  return st >= 0;
}

static gboolean
attr_write_int (hid_t loc, const char *name, gint64 v)
{
  return attr_write (loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

static gboolean
attr_write_u64 (hid_t loc, const char *name, guint64 v)
{
  return attr_write (loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
}

static gboolean
attr_write_double (hid_t loc, const char *name, double v)
{
  return attr_write (loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

static gboolean
attr_write_string (hid_t loc, const char *name, const char *value)
{
  hid_t type = H5Tcopy (H5T_C_S1);
  gboolean ok;

  H5Tset_size (type, strlen (value) + 1);
  H5Tset_strpad (type, H5T_STR_NULLTERM);
  ok = attr_write (loc, name, type, type, value);
  H5Tclose (type);
  return ok;
}

static gboolean
attr_read (hid_t loc, const char *name, hid_t mem_type, void *value)
{
  hid_t attr, space;
  gboolean ok = FALSE;

  if (H5Aexists (loc, name) <= 0 || (attr = H5Aopen (loc, name, H5P_DEFAULT)) < 0)
    return FALSE;
  space = H5Aget_space (attr);
  if (space >= 0 && H5Sget_simple_extent_npoints (space) == 1)
    ok = H5Aread (attr, mem_type, value) >= 0;
  if (space >= 0)
    H5Sclose (space);
  H5Aclose (attr);
  return ok;
}

static char *
attr_read_string (hid_t loc, const char *name)
{
  hid_t attr, type, mem;
  char *buf = NULL;
  size_t size;

  if (H5Aexists (loc, name) <= 0 || (attr = H5Aopen (loc, name, H5P_DEFAULT)) < 0)
    return NULL;
  type = H5Aget_type (attr);
  if (type >= 0 && H5Tget_class (type) == H5T_STRING && H5Tis_variable_str (type) <= 0
      && (size = H5Tget_size (type)) > 0 && size < (1u << 24))
    {
      mem = H5Tcopy (H5T_C_S1);
      H5Tset_size (mem, size);
      buf = g_malloc0 (size + 1);
      if (H5Aread (attr, mem, buf) < 0)
        g_clear_pointer (&buf, g_free);
      H5Tclose (mem);
    }
  if (type >= 0)
    H5Tclose (type);
  H5Aclose (attr);
  return buf;
}

/* Reads a dataset that must hold exactly rank x dims values. */
static gboolean
read_dataset (hid_t loc, const char *name, hid_t mem_type, int rank, const hsize_t *dims, void *data)
{
  hid_t ds, space;
  hsize_t have[H5S_MAX_RANK];
  gboolean ok = FALSE;

  if (H5Lexists (loc, name, H5P_DEFAULT) <= 0 || (ds = H5Dopen2 (loc, name, H5P_DEFAULT)) < 0)
    return FALSE;
  space = H5Dget_space (ds);
  if (space >= 0 && H5Sget_simple_extent_ndims (space) == rank)
    {
      H5Sget_simple_extent_dims (space, have, NULL);
      ok = TRUE;
      for (int i = 0; i < rank; i++)
        ok = ok && have[i] == dims[i];
      ok = ok && H5Dread (ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    }
  if (space >= 0)
    H5Sclose (space);
  H5Dclose (ds);
  return ok;
}

/* ---- saving ---- */

typedef struct {
  const char *path;
  const BsUnet *net, *best, *mean;
  BsAdam *adam;
  const BsTrainSampler *sampler;
  BsTrainSet *set;
  const BsTrainState *st;
} SaveJob;

/* A slice and its plane in one number: axial slices are their index, as
 * states written before training on every plane have them. */
#define PLANE_STRIDE 4096

static gint32
slice_code (const BsTrainSliceRef *ref)
{
  return ref->slice + PLANE_STRIDE * (gint32) ref->plane;
}

static gint32 *
slice_rows (BsTrainSet *set, GArray *list)
{
  gint32 *rows = g_new (gint32, MAX (list->len, 1) * 2);

  for (guint i = 0; i < list->len; i++)
    {
      const BsTrainSliceRef *ref = &g_array_index (list, BsTrainSliceRef, i);
      guint idx = 0;
      g_ptr_array_find (set->cases, ref->c, &idx);
      rows[2 * i] = (gint32) idx;
      rows[2 * i + 1] = slice_code (ref);
    }
  return rows;
}

static gboolean
write_state (gint64 file, gpointer data, GError **error)
{
  SaveJob *job = data;
  const BsTrainState *st = job->st;
  const BsTrainOptions *o = &st->opts;
  const BsUnet *net = job->net;
  gsize n = n_params (net), at = 0;
  g_autofree float *m = g_new (float, n);
  g_autofree float *v = g_new (float, n);
  g_autofree float *best = g_new (float, n);
  g_autofree float *mean = st->mean_count > 0 ? g_new (float, n) : NULL;
  g_autofree gint32 *tumour = slice_rows (job->set, job->sampler->tumour);
  g_autofree gint32 *other = slice_rows (job->set, job->sampler->other);
  hsize_t flat = n, tdims[2] = { job->sampler->tumour->len, 2 }, odims[2] = { job->sampler->other->len, 2 };
  hid_t grp;
  gboolean ok;

  for (int i = 0; i < net->n_layers; i++)
    {
      const BsUnetLayer *L = &net->layers[i];
      gsize wn = (gsize) L->out_ch * L->in_ch * L->kh * L->kw;
      for (int bias = 0; bias < 2; bias++)
        {
          float *lm, *lv;
          gsize len = bias ? (gsize) L->out_ch : wn;
          bs_adam_get_moments (job->adam, i, bias, &lm, &lv);
          memcpy (m + at, lm, len * sizeof (float));
          memcpy (v + at, lv, len * sizeof (float));
          at += len;
        }
    }
  flatten (job->best, best);
  if (mean)
    flatten (job->mean, mean);

  grp = H5Gcreate2 ((hid_t) file, STATE_GROUP, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  ok = grp >= 0;
  if (ok)
    {
      ok = attr_write_int (grp, "format", STATE_FORMAT) && attr_write_int (grp, "epoch", st->epoch)
           && attr_write_int (grp, "steps", st->steps) && attr_write_int (grp, "best_epoch", st->best_epoch)
           && attr_write_int (grp, "bad_epochs", st->bad_epochs)
           && attr_write_double (grp, "best_val_loss", st->best_val_loss)
           && attr_write_double (grp, "best_val_dice", st->best_val_dice)
           && attr_write_double (grp, "first_train_loss", st->first_train_loss)
           && attr_write_double (grp, "last_train_loss", st->last_train_loss)
           && attr_write_u64 (grp, "sampler_rng", st->sampler_rng)
           && attr_write_u64 (grp, "dropout_rng", st->dropout_rng)
           && attr_write_int (grp, "sampler_pos_tumour", st->pos_tumour)
           && attr_write_int (grp, "sampler_pos_other", st->pos_other)
           && attr_write_int (grp, "n_params", (gint64) n)
           && attr_write_int (grp, "fms", net->config.fms)
           && attr_write_int (grp, "in_channels", net->config.in_channels)
           && attr_write_int (grp, "crop", o->crop) && attr_write_int (grp, "batch", o->batch)
           && attr_write_int (grp, "epochs", o->epochs) && attr_write_double (grp, "lr", o->lr)
           && attr_write_string (grp, "loss", bs_train_loss_name (o->loss))
           && attr_write_double (grp, "weight_dice", o->weight_dice) && attr_write_u64 (grp, "seed", o->seed)
           && attr_write_int (grp, "steps_per_epoch", o->steps_per_epoch)
           && attr_write_int (grp, "patience", o->patience) && attr_write_double (grp, "dropout", o->dropout)
           && attr_write_int (grp, "val_slices", o->val_slices) && attr_write_int (grp, "augment", o->augment)
           && attr_write_double (grp, "split", o->split)
           && attr_write_double (grp, "core_flair_aug", o->core_flair_aug)
           && attr_write_double (grp, "intensity_jitter", o->intensity_jitter)
           && attr_write_int (grp, "average_from", o->average_from)
           && attr_write_double (grp, "modality_dropout", o->modality_dropout)
           && attr_write_double (grp, "bias_field", o->bias_field)
           && attr_write_int (grp, "folds", o->folds) && attr_write_int (grp, "fold", o->fold)
           && attr_write_double (grp, "weight_wt", o->weight_wt)
           && attr_write_int (grp, "train_planes", o->train_planes)
           && attr_write_int (grp, "mean_count", st->mean_count)
           && attr_write_string (grp, "best_description", st->best_description ? st->best_description : "");
      for (int k = 0; ok && k < 3; k++)
        {
          g_autofree char *ids = g_strjoinv ("\n", st->case_ids[k] ? st->case_ids[k] : (char *[]){ NULL });
          ok = attr_write_string (grp, split_attr[k], ids);
        }
      ok = ok && bs_h5_write_dataset (grp, "adam_m", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &flat, m)
           && bs_h5_write_dataset (grp, "adam_v", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &flat, v)
           && bs_h5_write_dataset (grp, "best_weights", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &flat, best)
           && (!mean || bs_h5_write_dataset (grp, "mean_weights", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, &flat, mean))
           && bs_h5_write_dataset (grp, "sampler_tumour", H5T_STD_I32LE, H5T_NATIVE_INT32, 2, tdims, tumour)
           && bs_h5_write_dataset (grp, "sampler_other", H5T_STD_I32LE, H5T_NATIVE_INT32, 2, odims, other);
      H5Gclose (grp);
    }
  if (!ok)
    g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("%s: writing the training state failed"), job->path);
  return ok;
}

gboolean
bs_train_state_save (const char *path, const BsUnet *net, const BsUnet *best, const BsUnet *mean, BsAdam *adam,
                     const BsTrainSampler *sampler, BsTrainSet *set, const BsTrainState *st, GError **error)
{
  SaveJob job = { path, net, best, mean, adam, sampler, set, st };
  BsH5Quiet quiet;
  gboolean ok;

  g_return_val_if_fail (st->mean_count == 0 || mean != NULL, FALSE);

  bs_h5_quiet_begin (&quiet);
  ok = bs_unet_save_h5_with (net, path, write_state, &job, error);
  bs_h5_quiet_end (&quiet);
  return ok;
}

/* ---- loading ---- */

static gboolean
damaged (const char *path, const char *what, GError **error)
{
  g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
               _("%s: the training state is damaged (%s); resume from an intact checkpoint or train afresh"),
               path, what);
  return FALSE;
}

/* An integer attribute that is there and readable but outside what a run
 * can have written (bs-train.h's limits): a damaged or hand-edited file,
 * refused before the value sizes an allocation or a loop. */
static gboolean
out_of_range (const char *path, const char *what, gint64 value, gint64 min, gint64 max, GError **error)
{
  g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
               /* TRANSLATORS: the file; a training state attribute (batch), its value, the least and most allowed */
               _("%s: the training state is damaged (%s is %lld, not between %lld and %lld); resume from an intact "
                 "checkpoint or train afresh"),
               path, what, (long long) value, (long long) min, (long long) max);
  return FALSE;
}

/* An optional integer attribute (written since its option came in; 0 when
 * absent) in [min, max]. */
static gboolean
read_optional_int (const char *path, hid_t grp, const char *name, gint64 min, gint64 max, int *value,
                   GError **error)
{
  gint64 v = 0;

  if (H5Aexists (grp, name) > 0)
    {
      if (!attr_read (grp, name, H5T_NATIVE_INT64, &v))
        return damaged (path, name, error);
      if (v < min || v > max)
        return out_of_range (path, name, v, min, max, error);
    }
  *value = (int) v;
  return TRUE;
}

static gboolean
read_scalars (const char *path, hid_t grp, BsTrainState *st, gint64 *fms, gint64 *in_ch, gint64 *np,
              GError **error)
{
  /* Steps are counted over the whole run, one pass over the slices an epoch
   * when steps_per_epoch is 0, so only the int bounds them. */
  static const struct {
    const char *name;
    gsize offset;
    gint64 min, max;
  } ints[] = {
    { "epoch", G_STRUCT_OFFSET (BsTrainState, epoch), 0, BS_TRAIN_MAX_EPOCHS },
    { "steps", G_STRUCT_OFFSET (BsTrainState, steps), 0, G_MAXINT },
    { "best_epoch", G_STRUCT_OFFSET (BsTrainState, best_epoch), 0, BS_TRAIN_MAX_EPOCHS },
    { "bad_epochs", G_STRUCT_OFFSET (BsTrainState, bad_epochs), 0, BS_TRAIN_MAX_EPOCHS },
    { "crop", G_STRUCT_OFFSET (BsTrainState, opts.crop), 16, BS_TRAIN_MAX_CROP },
    { "batch", G_STRUCT_OFFSET (BsTrainState, opts.batch), 1, BS_TRAIN_MAX_BATCH },
    { "epochs", G_STRUCT_OFFSET (BsTrainState, opts.epochs), 0, BS_TRAIN_MAX_EPOCHS },
    { "steps_per_epoch", G_STRUCT_OFFSET (BsTrainState, opts.steps_per_epoch), 0, BS_TRAIN_MAX_STEPS_PER_EPOCH },
    { "patience", G_STRUCT_OFFSET (BsTrainState, opts.patience), 0, BS_TRAIN_MAX_EPOCHS },
    { "val_slices", G_STRUCT_OFFSET (BsTrainState, opts.val_slices), 0, BS_TRAIN_MAX_VAL_SLICES },
    { "augment", G_STRUCT_OFFSET (BsTrainState, opts.augment), 0, 1 },
  };
  /* The options in the ranges brainseg-cli train accepts (bs_train_options_check
   * and its own checks); the losses and Dice are only reported, whatever a
   * diverging run gave (ranged FALSE). */
  static const struct {
    const char *name;
    gsize offset;
    gboolean ranged;
    double min, max;
    gboolean open_min, open_max;
  } doubles[] = {
    { "best_val_loss", G_STRUCT_OFFSET (BsTrainState, best_val_loss), FALSE, 0.0, 0.0, FALSE, FALSE },
    { "best_val_dice", G_STRUCT_OFFSET (BsTrainState, best_val_dice), FALSE, 0.0, 0.0, FALSE, FALSE },
    { "first_train_loss", G_STRUCT_OFFSET (BsTrainState, first_train_loss), FALSE, 0.0, 0.0, FALSE, FALSE },
    { "last_train_loss", G_STRUCT_OFFSET (BsTrainState, last_train_loss), FALSE, 0.0, 0.0, FALSE, FALSE },
    { "lr", G_STRUCT_OFFSET (BsTrainState, opts.lr), TRUE, 0.0, 1.0, TRUE, FALSE },
    { "weight_dice", G_STRUCT_OFFSET (BsTrainState, opts.weight_dice), TRUE, 0.0, 1.0, FALSE, FALSE },
    { "dropout", G_STRUCT_OFFSET (BsTrainState, opts.dropout), TRUE, 0.0, 1.0, FALSE, TRUE },
    { "split", G_STRUCT_OFFSET (BsTrainState, opts.split), TRUE, 0.0, 1.0, TRUE, FALSE },
    { "core_flair_aug", G_STRUCT_OFFSET (BsTrainState, opts.core_flair_aug), TRUE, 0.0, 1.0, FALSE, FALSE },
  };
  gint64 format = 0, pt = -1, po = -1;
  g_autofree char *loss = NULL;

  if (!attr_read (grp, "format", H5T_NATIVE_INT64, &format))
    return damaged (path, "format", error);
  if (format != STATE_FORMAT)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("%s: training state format %lld is not one this Brainseg reads (%d)"), path,
                   (long long) format, STATE_FORMAT);
      return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (ints); i++)
    {
      gint64 value;
      if (!attr_read (grp, ints[i].name, H5T_NATIVE_INT64, &value))
        return damaged (path, ints[i].name, error);
      if (value < ints[i].min || value > ints[i].max)
        return out_of_range (path, ints[i].name, value, ints[i].min, ints[i].max, error);
      G_STRUCT_MEMBER (int, st, ints[i].offset) = (int) value;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (doubles); i++)
    {
      double *value = &G_STRUCT_MEMBER (double, st, doubles[i].offset);
      if (!attr_read (grp, doubles[i].name, H5T_NATIVE_DOUBLE, value))
        return damaged (path, doubles[i].name, error);
      if (doubles[i].ranged
          && (isnan (*value) || *value < doubles[i].min || *value > doubles[i].max
              || (doubles[i].open_min && *value == doubles[i].min)
              || (doubles[i].open_max && *value == doubles[i].max)))
        return damaged (path, doubles[i].name, error);
    }
  /* Written since the option came in; earlier runs used the then fixed 0.1. */
  if (H5Aexists (grp, "intensity_jitter") <= 0)
    st->opts.intensity_jitter = 0.1;
  else if (!attr_read (grp, "intensity_jitter", H5T_NATIVE_DOUBLE, &st->opts.intensity_jitter)
           || !(st->opts.intensity_jitter >= 0.0 && st->opts.intensity_jitter < 1.0))
    return damaged (path, "intensity_jitter", error);
  /* Both came with weight averaging; earlier states did not average.  The
   * running mean counts epochs done, at most the state's epoch. */
  if (!read_optional_int (path, grp, "average_from", 0, BS_TRAIN_MAX_EPOCHS, &st->opts.average_from, error)
      || !read_optional_int (path, grp, "mean_count", 0, st->epoch, &st->mean_count, error))
    return FALSE;
  /* These came with cross-validation; earlier runs had neither.  Whether
   * the cases allow that many folds, bs_train_set_split_folds says. */
  if (!read_optional_int (path, grp, "folds", 0, G_MAXINT, &st->opts.folds, error)
      || !read_optional_int (path, grp, "fold", 0, st->opts.folds, &st->opts.fold, error))
    return FALSE;
  st->opts.modality_dropout = 0.0;
  if (H5Aexists (grp, "modality_dropout") > 0
      && (!attr_read (grp, "modality_dropout", H5T_NATIVE_DOUBLE, &st->opts.modality_dropout)
          || !(st->opts.modality_dropout >= 0.0 && st->opts.modality_dropout <= 1.0)))
    return damaged (path, "modality_dropout", error);
  /* Written since the option came in; earlier runs had no bias-field augmentation. */
  st->opts.bias_field = 0.0;
  if (H5Aexists (grp, "bias_field") > 0
      && (!attr_read (grp, "bias_field", H5T_NATIVE_DOUBLE, &st->opts.bias_field)
          || !(st->opts.bias_field >= 0.0 && st->opts.bias_field < 1.0)))
    return damaged (path, "bias_field", error);
  /* Written since the option came in; earlier region runs weighed every output alike. */
  st->opts.weight_wt = 0.0;
  if (H5Aexists (grp, "weight_wt") > 0
      && (!attr_read (grp, "weight_wt", H5T_NATIVE_DOUBLE, &st->opts.weight_wt)
          || !(st->opts.weight_wt >= 0.0 && st->opts.weight_wt < 1.0)))
    return damaged (path, "weight_wt", error);
  /* Written since the option came in; earlier runs trained on axial slices only. */
  {
    int value = 0;

    if (!read_optional_int (path, grp, "train_planes", 0, 1, &value, error))
      return FALSE;
    st->opts.train_planes = value != 0;
  }
  if (!attr_read (grp, "seed", H5T_NATIVE_UINT64, &st->opts.seed))
    return damaged (path, "seed", error);
  if (!attr_read (grp, "sampler_rng", H5T_NATIVE_UINT64, &st->sampler_rng))
    return damaged (path, "sampler_rng", error);
  if (!attr_read (grp, "dropout_rng", H5T_NATIVE_UINT64, &st->dropout_rng))
    return damaged (path, "dropout_rng", error);
  /* Positions in the sampler's lists, which hold at most G_MAXINT32 rows
   * (read_rows); bs_train_checkpoint_restore_sampler checks them against the
   * lists' lengths. */
  if (!attr_read (grp, "sampler_pos_tumour", H5T_NATIVE_INT64, &pt))
    return damaged (path, "sampler_pos_tumour", error);
  if (pt < 0 || pt > G_MAXINT32)
    return out_of_range (path, "sampler_pos_tumour", pt, 0, G_MAXINT32, error);
  if (!attr_read (grp, "sampler_pos_other", H5T_NATIVE_INT64, &po))
    return damaged (path, "sampler_pos_other", error);
  if (po < 0 || po > G_MAXINT32)
    return out_of_range (path, "sampler_pos_other", po, 0, G_MAXINT32, error);
  st->pos_tumour = (guint) pt;
  st->pos_other = (guint) po;
  /* fms, in_channels and n_params must match the file's weights, which the
   * model loader bounded (read_state compares them). */
  if (!attr_read (grp, "fms", H5T_NATIVE_INT64, fms) || !attr_read (grp, "in_channels", H5T_NATIVE_INT64, in_ch)
      || !attr_read (grp, "n_params", H5T_NATIVE_INT64, np))
    return damaged (path, "fms, in_channels, n_params", error);
  loss = attr_read_string (grp, "loss");
  if (!loss || !bs_train_loss_from_string (loss, &st->opts.loss))
    return damaged (path, "loss", error);
  if (st->opts.crop % 16 != 0 || st->steps < st->epoch || st->best_epoch > st->epoch
      || st->bad_epochs > st->epoch)
    return damaged (path, _("inconsistent options"), error);
  for (int k = 0; k < 3; k++)
    {
      g_autofree char *ids = attr_read_string (grp, split_attr[k]);
      if (!ids)
        return damaged (path, split_attr[k], error);
      st->case_ids[k] = *ids ? g_strsplit (ids, "\n", -1) : g_new0 (char *, 1);
    }
  st->best_description = attr_read_string (grp, "best_description");
  if (st->best_description && !*st->best_description)
    g_clear_pointer (&st->best_description, g_free);
  return TRUE;
}

/* Adam's moments, the best weights and (while averaging) their running mean,
 * each n_params (net) long. */
static gboolean
read_arrays (BsTrainCheckpoint *cp, const BsUnet *net, hid_t grp, GError **error)
{
  gsize n = n_params (net);
  hsize_t flat = n;
  struct {
    const char *name;
    float **to;
  } arrays[] = {
    { "adam_m", &cp->adam_m }, { "adam_v", &cp->adam_v }, { "best_weights", &cp->best },
    { "mean_weights", &cp->mean },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (arrays); i++)
    {
      if (arrays[i].to == &cp->mean && cp->st.mean_count == 0)
        continue;
      *arrays[i].to = g_new (float, n);
      if (!read_dataset (grp, arrays[i].name, H5T_NATIVE_FLOAT, 1, &flat, *arrays[i].to))
        return damaged (cp->path, arrays[i].name, error);
      /* Checked like the weights (bs_unet_load_h5): one NaN in the moments
       * turns every weight it touches NaN at the first step. */
      for (gsize k = 0; k < n; k++)
        if (!isfinite ((*arrays[i].to)[k]))
          {
            g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                         /* TRANSLATORS: the file; a dataset of its training state (adam_m, best_weights) */
                         _("%s: the training state's %s has non-finite values; resume from an intact checkpoint or "
                           "train afresh"),
                         cp->path, arrays[i].name);
            return FALSE;
          }
      /* Second moments are running means of squares; a negative one is a NaN step. */
      if (arrays[i].to == &cp->adam_v)
        for (gsize k = 0; k < n; k++)
          if (cp->adam_v[k] < 0.0f)
            {
              g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                           /* TRANSLATORS: the file; a dataset of its training state (adam_v) */
                           _("%s: the training state's %s has negative values; resume from an intact checkpoint or "
                             "train afresh"),
                           cp->path, arrays[i].name);
              return FALSE;
            }
    }
  return TRUE;
}

/* A sampler permutation as stored: rows of (case, slice).  Whether it fits
 * the training cases is for bs_train_checkpoint_restore_sampler to say. */
static gboolean
read_rows (BsTrainCheckpoint *cp, hid_t grp, int k, GError **error)
{
  const char *name = sampler_lists[k];
  hid_t ds, space;
  hsize_t dims[2] = { 0, 0 };
  gboolean shaped;

  if (H5Lexists (grp, name, H5P_DEFAULT) <= 0 || (ds = H5Dopen2 (grp, name, H5P_DEFAULT)) < 0)
    return damaged (cp->path, name, error);
  space = H5Dget_space (ds);
  shaped = space >= 0 && H5Sget_simple_extent_ndims (space) == 2 && H5Sget_simple_extent_dims (space, dims, NULL) == 2
           && dims[1] == 2 && dims[0] <= G_MAXINT32;
  if (space >= 0)
    H5Sclose (space);
  H5Dclose (ds);
  if (!shaped)
    return damaged (cp->path, name, error);
  cp->n_rows[k] = (guint) dims[0];
  cp->rows[k] = g_new (gint32, MAX (dims[0], 1) * 2);
  if (!read_dataset (grp, name, H5T_NATIVE_INT32, 2, dims, cp->rows[k]))
    return damaged (cp->path, name, error);
  /* A case index is never negative and a slice code is a slice (below
   * PLANE_STRIDE) of one of three planes; which cases and slices exist,
   * restore_list checks against the training cases. */
  for (guint i = 0; i < cp->n_rows[k]; i++)
    {
      gint32 c = cp->rows[k][2 * i], code = cp->rows[k][2 * i + 1];
      if (c < 0 || code < 0 || code >= 3 * PLANE_STRIDE)
        {
          g_autofree char *what = g_strdup_printf ("%s row %u", name, i);
          return out_of_range (cp->path, what, c < 0 ? c : code, 0, c < 0 ? G_MAXINT32 : 3 * PLANE_STRIDE - 1,
                               error);
        }
    }
  return TRUE;
}

/* BsUnetLoadExtra: the training state, if the file has one, while the
 * weights loader has the file open. */
static gboolean
read_state (gint64 file, const BsUnet *net, gpointer data, GError **error)
{
  BsTrainCheckpoint *cp = data;
  gint64 fms = 0, in_ch = 0, np = 0;
  hid_t grp;
  gboolean ok;

  if (H5Lexists ((hid_t) file, STATE_GROUP, H5P_DEFAULT) <= 0)
    return TRUE;
  cp->has_state = TRUE;
  grp = H5Gopen2 ((hid_t) file, STATE_GROUP, H5P_DEFAULT);
  if (grp < 0)
    return damaged (cp->path, STATE_GROUP, error);
  ok = read_scalars (cp->path, grp, &cp->st, &fms, &in_ch, &np, error);
  if (ok && (fms != net->config.fms || in_ch != net->config.in_channels || np != (gint64) n_params (net)))
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("%s: the training state belongs to another network (fms %lld, %lld input channels, %lld "
                     "parameters) than the file's weights (fms %d, %d input channels, %lld parameters)"),
                   cp->path, (long long) fms, (long long) in_ch, (long long) np, net->config.fms,
                   net->config.in_channels, (long long) n_params (net));
      ok = FALSE;
    }
  ok = ok && read_arrays (cp, net, grp, error) && read_rows (cp, grp, 0, error) && read_rows (cp, grp, 1, error);
  H5Gclose (grp);
  return ok;
}

BsTrainCheckpoint *
bs_train_checkpoint_load (const char *path, GError **error)
{
  g_autoptr(BsTrainCheckpoint) cp = g_new0 (BsTrainCheckpoint, 1);

  cp->path = g_strdup (path);
  cp->net = bs_unet_load_h5_with (path, read_state, cp, error);
  if (!cp->net)
    return NULL;
  return g_steal_pointer (&cp);
}

void
bs_train_checkpoint_free (BsTrainCheckpoint *cp)
{
  if (!cp)
    return;
  g_free (cp->path);
  g_clear_pointer (&cp->net, bs_unet_free);
  bs_train_state_clear (&cp->st);
  g_free (cp->adam_m);
  g_free (cp->adam_v);
  g_free (cp->best);
  g_free (cp->mean);
  for (int k = 0; k < 2; k++)
    g_free (cp->rows[k]);
  g_free (cp);
}

const char *
bs_train_checkpoint_get_path (const BsTrainCheckpoint *cp)
{
  return cp->path;
}

gboolean
bs_train_checkpoint_has_state (const BsTrainCheckpoint *cp)
{
  return cp->has_state;
}

void
bs_train_checkpoint_apply_options (const BsTrainCheckpoint *cp, BsTrainOptions *opts)
{
  if (cp->has_state)
    bs_train_options_apply_state (opts, &cp->st.opts);
}

const BsUnet *
bs_train_checkpoint_get_net (const BsTrainCheckpoint *cp)
{
  return cp->net;
}

const BsTrainState *
bs_train_checkpoint_get_state (const BsTrainCheckpoint *cp)
{
  return cp->has_state ? &cp->st : NULL;
}

void
bs_train_checkpoint_restore_arrays (const BsTrainCheckpoint *cp, BsAdam *adam, BsUnet *best, BsUnet *mean)
{
  const BsUnet *net = cp->net;
  gsize at = 0;

  g_return_if_fail (cp->has_state);
  for (int i = 0; i < net->n_layers; i++)
    {
      const BsUnetLayer *L = &net->layers[i];
      gsize wn = (gsize) L->out_ch * L->in_ch * L->kh * L->kw;
      for (int bias = 0; bias < 2; bias++)
        {
          float *lm, *lv;
          gsize len = bias ? (gsize) L->out_ch : wn;
          bs_adam_get_moments (adam, i, bias, &lm, &lv);
          memcpy (lm, cp->adam_m + at, len * sizeof (float));
          memcpy (lv, cp->adam_v + at, len * sizeof (float));
          at += len;
        }
    }
  unflatten (best, cp->best);
  if (cp->mean && mean)
    unflatten (mean, cp->mean);
}

/* The stored permutation back into a sampler list, checking that it is a
 * permutation of the slices the current training cases give. */
static gboolean
restore_list (const BsTrainCheckpoint *cp, int k, BsTrainSet *set, GArray *list, GError **error)
{
  const gint32 *rows = cp->rows[k];
  g_autoptr(GHashTable) have = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GArray) out = g_array_sized_new (FALSE, FALSE, sizeof (BsTrainSliceRef), list->len);

  if (cp->n_rows[k] != list->len)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("%s: the training state samples other slices than the training cases given now have; "
                     "give the same datasets and options as the interrupted run"), cp->path);
      return FALSE;
    }
  for (guint i = 0; i < list->len; i++)
    {
      const BsTrainSliceRef *ref = &g_array_index (list, BsTrainSliceRef, i);
      guint idx = 0;
      gint64 *key = g_new (gint64, 1);
      g_ptr_array_find (set->cases, ref->c, &idx);
      *key = ((gint64) idx << 32) | (guint32) slice_code (ref);
      g_hash_table_add (have, key);
    }
  for (guint i = 0; i < list->len; i++)
    {
      gint64 key;
      BsTrainSliceRef ref;
      /* read_rows refused negative indices; shifting one would be undefined. */
      if (rows[2 * i] < 0)
        return damaged (cp->path, sampler_lists[k], error);
      key = ((gint64) rows[2 * i] << 32) | (guint32) rows[2 * i + 1];
      if (!g_hash_table_remove (have, &key))
        return damaged (cp->path, sampler_lists[k], error);
      ref.c = g_ptr_array_index (set->cases, rows[2 * i]);
      ref.slice = rows[2 * i + 1] % PLANE_STRIDE;
      ref.plane = (BsPlane) (rows[2 * i + 1] / PLANE_STRIDE);
      g_array_append_val (out, ref);
    }
  g_array_set_size (list, 0);
  g_array_append_vals (list, out->data, out->len);
  return TRUE;
}

gboolean
bs_train_checkpoint_restore_sampler (const BsTrainCheckpoint *cp, BsTrainSampler *sampler, BsTrainSet *set,
                                     GError **error)
{
  g_return_val_if_fail (cp->has_state, FALSE);
  if (!restore_list (cp, 0, set, sampler->tumour, error) || !restore_list (cp, 1, set, sampler->other, error))
    return FALSE;
  if (cp->st.pos_tumour > sampler->tumour->len || cp->st.pos_other > sampler->other->len)
    return damaged (cp->path, "sampler positions", error);
  sampler->rand.state = cp->st.sampler_rng;
  sampler->pos_tumour = cp->st.pos_tumour;
  sampler->pos_other = cp->st.pos_other;
  return TRUE;
}
