#include "bs-dataset.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "bs-error.h"
#include "bs-file.h"
#include "bs-nifti.h"
#include "bs-dataset-private.h"

/* Canonical channel order of every multi-modal layout (Decathlon's). */
static const char *const modality_order[] = { "FLAIR", "T1w", "T1gd", "T2w" };
#define N_MODALITIES 4

typedef enum {
  RELEASE_NONE,
  RELEASE_BRATS2015,
  RELEASE_BRATS2017,
  RELEASE_BRATS2023,
  RELEASE_TCGA,
} Release;

static void
case_entry_free (gpointer p)
{
  CaseEntry *e = p;
  g_free (e->id);
  g_strfreev (e->images);
  g_strfreev (e->channel_names);
  g_free (e->label);
  g_free (e->h5_images);
  g_free (e->h5_masks);
  g_free (e);
}

BsDataset *
bs_dataset_new_empty (BsDatasetKind kind, const char *path)
{
  BsDataset *ds = g_new0 (BsDataset, 1);
  ds->kind = kind;
  ds->path = g_strdup (path);
  ds->name = g_path_get_basename (path);
  ds->cases = g_ptr_array_new_with_free_func (case_entry_free);
  return ds;
}

void
bs_dataset_free (BsDataset *ds)
{
  if (ds == NULL)
    return;
  g_free (ds->path);
  g_free (ds->name);
  g_ptr_array_unref (ds->cases);
  g_free (ds);
}

BsDatasetKind
bs_dataset_get_kind (const BsDataset *ds)
{
  return ds->kind;
}

const char *
bs_dataset_kind_name (BsDatasetKind kind)
{
  switch (kind)
    {
    case BS_DATASET_DECATHLON:
      return "decathlon";
    case BS_DATASET_BRATS_CASE:
      return "brats-case";
    case BS_DATASET_BRATS_COLLECTION:
      return "brats-collection";
    case BS_DATASET_NIFTI_FILE:
      return "nifti-file";
    case BS_DATASET_HDF5:
    default:
      return "hdf5";
    }
}

const char *
bs_dataset_get_path (const BsDataset *ds)
{
  return ds->path;
}

const char *
bs_dataset_get_name (const BsDataset *ds)
{
  return ds->name;
}

guint
bs_dataset_get_n_cases (const BsDataset *ds)
{
  return ds->cases->len;
}

static const CaseEntry *
entry (const BsDataset *ds, guint i)
{
  g_return_val_if_fail (i < ds->cases->len, NULL);
  return g_ptr_array_index (ds->cases, i);
}

const char *
bs_dataset_get_case_id (const BsDataset *ds, guint i)
{
  const CaseEntry *e = entry (ds, i);
  return e ? e->id : NULL;
}

gboolean
bs_dataset_case_has_label (const BsDataset *ds, guint i)
{
  const CaseEntry *e = entry (ds, i);
  return e && (e->label != NULL || e->h5_masks != NULL);
}

char **
bs_dataset_get_case_files (const BsDataset *ds, guint i)
{
  const CaseEntry *e = entry (ds, i);
  GPtrArray *files = g_ptr_array_new ();

  if (e != NULL)
    {
      for (int k = 0; e->images && e->images[k]; k++)
        g_ptr_array_add (files, g_strdup (e->images[k]));
      if (e->label)
        g_ptr_array_add (files, g_strdup (e->label));
      if (e->h5_images)
        g_ptr_array_add (files, g_strdup (ds->path));
    }
  if (ds->kind == BS_DATASET_DECATHLON && g_file_test (ds->path, G_FILE_TEST_IS_DIR))
    g_ptr_array_add (files, g_build_filename (ds->path, "dataset.json", NULL));
  g_ptr_array_add (files, NULL);
  return (char **) g_ptr_array_free (files, FALSE);
}

int
bs_dataset_find_case (const BsDataset *ds, const char *id)
{
  for (guint i = 0; i < ds->cases->len; i++)
    if (g_strcmp0 (entry (ds, i)->id, id) == 0)
      return (int) i;
  return -1;
}

/* ---- file names ---- */

static gboolean
is_nifti_name (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);
  return name[0] != '.' && (g_str_has_suffix (lower, ".nii") || g_str_has_suffix (lower, ".nii.gz"));
}

/* File name without folder and .nii/.nii.gz, lower case. */
static char *
nifti_stem (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  char *lower = g_ascii_strdown (base, -1);
  if (g_str_has_suffix (lower, ".gz"))
    lower[strlen (lower) - 3] = '\0';
  if (g_str_has_suffix (lower, ".nii"))
    lower[strlen (lower) - 4] = '\0';
  return lower;
}

char *
bs_dataset_case_id_from_file (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  gsize n = strlen (base);
  if (n > 7 && g_ascii_strcasecmp (base + n - 7, ".nii.gz") == 0)
    base[n - 7] = '\0';
  else if (n > 4 && g_ascii_strcasecmp (base + n - 4, ".nii") == 0)
    base[n - 4] = '\0';
  return g_strdup (base);
}

typedef struct {
  const char *pattern;
  gboolean prefix; /* else suffix */
  int modality;    /* index into modality_order, or -1: label */
  Release release;
} NamePattern;

/* Longer suffixes first so that "_t1ce" is not taken for "_t1". */
static const NamePattern name_patterns[] = {
  { "_flair", FALSE, 0, RELEASE_BRATS2017 },
  { "_t1ce", FALSE, 2, RELEASE_BRATS2017 },
  { "_t1", FALSE, 1, RELEASE_BRATS2017 },
  { "_t2", FALSE, 3, RELEASE_BRATS2017 },
  { "-t2f", FALSE, 0, RELEASE_BRATS2023 },
  { "-t1n", FALSE, 1, RELEASE_BRATS2023 },
  { "-t1c", FALSE, 2, RELEASE_BRATS2023 },
  { "-t2w", FALSE, 3, RELEASE_BRATS2023 },
  { "-seg", FALSE, -1, RELEASE_BRATS2023 },
  { "_fla_bet", FALSE, 0, RELEASE_TCGA },
  { "_t1c_bet", FALSE, 2, RELEASE_TCGA },
  { "_t1_bet", FALSE, 1, RELEASE_TCGA },
  { "_t2_bet", FALSE, 3, RELEASE_TCGA },
  { "flair_", TRUE, 0, RELEASE_BRATS2015 },
  { "t1c_", TRUE, 2, RELEASE_BRATS2015 },
  { "t1_", TRUE, 1, RELEASE_BRATS2015 },
  { "t2_", TRUE, 3, RELEASE_BRATS2015 },
  { "otmulticlass", TRUE, -1, RELEASE_BRATS2015 },
  { "_seg", FALSE, -1, RELEASE_BRATS2017 },
};

static const NamePattern *
match_name (const char *path)
{
  g_autofree char *stem = nifti_stem (path);

  for (gsize i = 0; i < G_N_ELEMENTS (name_patterns); i++)
    {
      const NamePattern *p = &name_patterns[i];
      if (p->prefix ? g_str_has_prefix (stem, p->pattern) : g_str_has_suffix (stem, p->pattern))
        return p;
    }
  return NULL;
}

static gboolean
looks_like_label_name (const char *path)
{
  g_autofree char *stem = nifti_stem (path);
  const NamePattern *p = match_name (path);
  return (p && p->modality < 0) || strstr (stem, "seg") != NULL || strstr (stem, "label") != NULL ||
         strstr (stem, "mask") != NULL;
}

static BsLabelConvention
release_convention (Release r)
{
  switch (r)
    {
    case RELEASE_BRATS2015:
      return BS_LABELS_BRATS2015;
    case RELEASE_BRATS2017:
      return BS_LABELS_BRATS2017;
    case RELEASE_BRATS2023:
      return BS_LABELS_BRATS2023;
    case RELEASE_TCGA:
    case RELEASE_NONE:
    default:
      return BS_LABELS_UNKNOWN;
    }
}

static int
compare_paths (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

/* Sorted NIfTI file names of a folder (no hidden files). */
static GPtrArray *
list_folder (const char *folder, gboolean want_dirs, GError **error)
{
  g_autoptr(GDir) dir = g_dir_open (folder, 0, error);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    {
      g_ptr_array_unref (names);
      return NULL;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      if (name[0] == '.')
        continue;
      g_autofree char *full = g_build_filename (folder, name, NULL);
      gboolean is_dir = g_file_test (full, G_FILE_TEST_IS_DIR);
      if (want_dirs ? is_dir : (!is_dir && is_nifti_name (name)))
        g_ptr_array_add (names, g_steal_pointer (&full));
    }
  g_ptr_array_sort (names, compare_paths);
  return names;
}

/* A case's id: the name its modality files share before their suffix
 * ("BraTS2021_00006" from BraTS2021_00006_flair.nii.gz ...), as the release
 * names it, whatever the folder is called; else the folder's name. */
static char *
case_id_from_names (const char *folder, const char *const *by_modality)
{
  g_autofree char *common = NULL;

  for (int m = 0; m < N_MODALITIES; m++)
    {
      const NamePattern *p;
      g_autofree char *id = NULL;

      if (by_modality[m] == NULL)
        continue;
      p = match_name (by_modality[m]);
      id = bs_dataset_case_id_from_file (by_modality[m]);
      if (p == NULL || p->prefix || strlen (id) <= strlen (p->pattern))
        return g_path_get_basename (folder);
      id[strlen (id) - strlen (p->pattern)] = '\0';
      if (common != NULL && g_strcmp0 (common, id) != 0)
        return g_path_get_basename (folder);
      if (common == NULL)
        common = g_steal_pointer (&id);
    }
  return common != NULL ? g_steal_pointer (&common) : g_path_get_basename (folder);
}

/* The modality a folder's name gives it, as a file's would ("X_flair.nii.gz",
 * "X-t2f.nii") or on its own ("flair", "T1ce"): 0..3, -1 for a label's name,
 * or -2 for none.  Only the short names the releases put in file names count
 * on their own: a folder called "native" may well group whole cases. */
static int
folder_modality (const char *path)
{
  static const char *const bare[] = { "flair", "t2f", "t1", "t1w", "t1n", "t1ce", "t1c", "t1gd", "t2", "t2w" };
  g_autofree char *base = g_path_get_basename (path);
  const NamePattern *p = is_nifti_name (base) ? match_name (base) : NULL;

  if (p != NULL)
    return p->modality;
  for (gsize i = 0; i < G_N_ELEMENTS (bare); i++)
    if (g_ascii_strcasecmp (base, bare[i]) == 0)
      for (int m = 0; m < N_MODALITIES; m++)
        if (g_strcmp0 (bs_modality_canonical (bare[i]), modality_order[m]) == 0)
          return m;
  return -2;
}

/* A sub-folder named like one of a case's files was passed over without a
 * word (hostile-input finding): the case then opened without that modality,
 * or failed later with a message about something else. */
static gboolean
check_no_modality_folders (const char *folder, GError **error)
{
  g_autoptr(GPtrArray) dirs = list_folder (folder, TRUE, NULL);

  for (guint i = 0; dirs && i < dirs->len; i++)
    {
      const char *d = g_ptr_array_index (dirs, i);
      int m = folder_modality (d);

      if (m >= 0)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       /* TRANSLATORS: the second %s is a modality: FLAIR, T1w, T1gd or T2w */
                       _("%s: named like the case's %s file, but it is a folder, not a file"), d,
                       modality_order[m]);
          return FALSE;
        }
      if (m == -1)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s: named like the case's label file, but it is a folder, not a file"), d);
          return FALSE;
        }
    }
  return TRUE;
}

/* A BraTS case folder: at least one modality file by name.  Returns NULL
 * without error when the folder is not one, and with one when a sub-folder
 * is named like a modality or label file. */
static CaseEntry *
scan_brats_case (const char *folder, GError **error)
{
  g_autoptr(GPtrArray) files = NULL;
  const char *by_modality[N_MODALITIES] = { NULL };
  const char *label = NULL;
  Release release = RELEASE_NONE;
  int n_found = 0;

  if (!check_no_modality_folders (folder, error))
    return NULL;
  files = list_folder (folder, FALSE, NULL);
  if (files == NULL)
    return NULL;
  for (guint i = 0; i < files->len; i++)
    {
      const char *f = g_ptr_array_index (files, i);
      const NamePattern *p = match_name (f);
      if (p && p->modality >= 0)
        {
          if (by_modality[p->modality] == NULL)
            {
              by_modality[p->modality] = f;
              n_found++;
            }
          if (release == RELEASE_NONE || p->release != RELEASE_BRATS2017)
            release = p->release;
        }
    }
  if (n_found == 0)
    return NULL;
  for (guint i = 0; i < files->len && label == NULL; i++)
    {
      const char *f = g_ptr_array_index (files, i);
      const NamePattern *p = match_name (f);
      if ((p && p->modality < 0) || (p == NULL && looks_like_label_name (f) && strstr (f, "brainmask") == NULL))
        label = f;
    }

  CaseEntry *e = g_new0 (CaseEntry, 1);
  GPtrArray *images = g_ptr_array_new ();
  GPtrArray *names = g_ptr_array_new ();
  e->id = case_id_from_names (folder, by_modality);
  for (int m = 0; m < N_MODALITIES; m++)
    if (by_modality[m])
      {
        g_ptr_array_add (images, g_strdup (by_modality[m]));
        g_ptr_array_add (names, g_strdup (modality_order[m]));
      }
  g_ptr_array_add (images, NULL);
  g_ptr_array_add (names, NULL);
  e->images = (char **) g_ptr_array_free (images, FALSE);
  e->channel_names = (char **) g_ptr_array_free (names, FALSE);
  e->label = g_strdup (label);
  e->convention = release_convention (release);
  e->guess_convention = e->convention == BS_LABELS_UNKNOWN;
  return e;
}

/* ---- opening ---- */

static BsDataset *
open_nifti_file (const char *path, const char *label_path)
{
  BsDataset *ds = bs_dataset_new_empty (BS_DATASET_NIFTI_FILE, path);
  CaseEntry *e = g_new0 (CaseEntry, 1);
  const NamePattern *p = match_name (path);
  const NamePattern *lp = label_path ? match_name (label_path) : NULL;

  e->id = bs_dataset_case_id_from_file (path);
  e->images = g_new0 (char *, 2);
  e->images[0] = g_strdup (path);
  if (p && p->modality >= 0)
    {
      e->channel_names = g_new0 (char *, 2);
      e->channel_names[0] = g_strdup (modality_order[p->modality]);
    }
  e->label = g_strdup (label_path);
  e->convention = lp ? release_convention (lp->release) : BS_LABELS_UNKNOWN;
  e->guess_convention = e->convention == BS_LABELS_UNKNOWN;
  g_ptr_array_add (ds->cases, e);
  g_free (ds->name);
  ds->name = g_strdup (e->id);
  return ds;
}

static BsDataset *
open_folder (const char *path, GError **error)
{
  g_autofree char *json = g_build_filename (path, "dataset.json", NULL);
  g_autoptr(GError) local = NULL;

  if (g_file_test (json, G_FILE_TEST_EXISTS))
    return bs_dataset_open_decathlon (path, error);

  CaseEntry *single = scan_brats_case (path, &local);
  if (single)
    {
      BsDataset *ds = bs_dataset_new_empty (BS_DATASET_BRATS_CASE, path);
      g_ptr_array_add (ds->cases, single);
      return ds;
    }
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }

  g_autoptr(GPtrArray) dirs = list_folder (path, TRUE, &local);
  if (dirs == NULL)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_NOT_FOUND, "%s", local->message);
      return NULL;
    }
  g_autoptr(BsDataset) ds = bs_dataset_new_empty (BS_DATASET_BRATS_COLLECTION, path);
  /* Two levels: a release folder may group its cases by grade (HGG/LGG). */
  for (guint i = 0; i < dirs->len; i++)
    {
      const char *sub = g_ptr_array_index (dirs, i);
      CaseEntry *e = scan_brats_case (sub, &local);
      if (e)
        {
          g_ptr_array_add (ds->cases, e);
          continue;
        }
      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      g_autoptr(GPtrArray) subdirs = list_folder (sub, TRUE, NULL);
      for (guint j = 0; subdirs && j < subdirs->len; j++)
        {
          if ((e = scan_brats_case (g_ptr_array_index (subdirs, j), &local)) != NULL)
            g_ptr_array_add (ds->cases, e);
          else if (local != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return NULL;
            }
        }
    }
  if (ds->cases->len > 0)
    return g_steal_pointer (&ds);

  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  gboolean empty = dir == NULL || g_dir_read_name (dir) == NULL;
  g_set_error (error, BS_IO_ERROR, empty ? BS_IO_ERROR_NOT_FOUND : BS_IO_ERROR_UNSUPPORTED,
               empty ? _("%s: the folder is empty")
                     : _("%s: no dataset.json, no BraTS modality files (*_flair, *-t2f, Flair_*, ...) and no "
                         "case folders found"),
               path);
  return NULL;
}

BsDataset *
bs_dataset_open (const char *path, const char *label_path, GError **error)
{
  BsDataset *ds = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_NOT_FOUND, _("%s: no such file or folder"), path);
      return NULL;
    }
  if (label_path && !g_file_test (label_path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_NOT_FOUND, _("%s: no such label file"), label_path);
      return NULL;
    }

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    ds = open_folder (path, error);
  else if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      /* a pipe or a device would block the first read for ever (fuzz finding) */
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_UNSUPPORTED, _("%s: not a regular file or folder"), path);
      return NULL;
    }
  else
    {
      g_autofree char *base = g_path_get_basename (path);
      if (g_strcmp0 (base, "dataset.json") == 0)
        {
          g_autofree char *folder = g_path_get_dirname (path);
          ds = bs_dataset_open_decathlon (folder, error);
        }
      else if (bs_dataset_is_hdf5_file (path))
        ds = bs_dataset_open_hdf5 (path, error);
      else
        {
          /* One file of a one-file-per-modality case (the FLAIR, the
           * segmentation...): the user means the case, with every modality. */
          if (label_path == NULL && match_name (path) != NULL)
            {
              g_autofree char *folder = g_path_get_dirname (path);
              g_autoptr(GError) local = NULL;
              CaseEntry *single = scan_brats_case (folder, &local);

              if (single)
                {
                  ds = bs_dataset_new_empty (BS_DATASET_BRATS_CASE, folder);
                  g_ptr_array_add (ds->cases, single);
                }
              else if (local != NULL)
                {
                  g_propagate_error (error, g_steal_pointer (&local));
                  return NULL;
                }
            }
          if (ds == NULL)
            ds = open_nifti_file (path, label_path);
        }
    }
  if (ds == NULL)
    return NULL;

  if (label_path && ds->kind != BS_DATASET_NIFTI_FILE)
    {
      if (ds->cases->len != 1 || ds->kind == BS_DATASET_HDF5)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s: a separate label file applies to a single NIfTI case, not to %s"), label_path, path);
          bs_dataset_free (ds);
          return NULL;
        }
      CaseEntry *e = g_ptr_array_index (ds->cases, 0);
      g_free (e->label);
      e->label = g_strdup (label_path);
    }
  return ds;
}

/* ---- loading ---- */

static gboolean
check_same_dims (const BsVolume *a, const char *a_path, const BsVolume *b, const char *b_path, GError **error)
{
  if (a->dims[0] == b->dims[0] && a->dims[1] == b->dims[1] && a->dims[2] == b->dims[2])
    return TRUE;
  g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s is %dx%dx%d but %s is %dx%dx%d"), b_path, b->dims[0],
               b->dims[1], b->dims[2], a_path, a->dims[0], a->dims[1], a->dims[2]);
  return FALSE;
}

/* (bs-dataset-private.h) */
BsVolume *
bs_dataset_read_images (const CaseEntry *e, GError **error)
{
  int n = (int) g_strv_length (e->images);
  BsVolume *out = bs_volume_load_nifti_channels ((const char *const *) e->images, n, error);

  if (out == NULL)
    return NULL;
  if (n > 1)
    {
      g_free (out->path);
      out->path = g_path_get_dirname (e->images[0]);
    }
  if (e->channel_names)
    {
      if ((int) g_strv_length (e->channel_names) != out->n_channels)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s has %d channels but the dataset names %u modalities"), e->images[0], out->n_channels,
                       g_strv_length (e->channel_names));
          bs_volume_free (out);
          return NULL;
        }
      g_strfreev (out->channel_names);
      out->channel_names = g_strdupv (e->channel_names);
    }
  else if (out->n_channels == N_MODALITIES)
    {
      /* A lone 4-channel file is taken to be in Decathlon order. */
      g_strfreev (out->channel_names);
      out->channel_names = g_strdupv ((char **) modality_order);
    }
  return out;
}

/* The HDF5 dataset's mask of case e into c->label. */
static gboolean
load_h5_label (BsDataset *ds, const CaseEntry *e, BsCase *c, GError **error)
{
  c->label = bs_dataset_h5_read_stack (ds->path, e->h5_masks, TRUE, error);
  if (c->label == NULL)
    return FALSE;
  if (c->label->n_channels != 1)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: %s has %d channels, expected 1"),
                   ds->path, e->h5_masks, c->label->n_channels);
      return FALSE;
    }
  if (c->label->n_nonfinite > 0)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                   g_dngettext (GETTEXT_PACKAGE, "%s: %lu mask value in %s is NaN or infinite",
                                "%s: %lu mask values in %s are NaN or infinite", c->label->n_nonfinite),
                   ds->path, (unsigned long) c->label->n_nonfinite, e->h5_masks);
      return FALSE;
    }
  {
    /* whole numbers; other classes than 0/1: whole tumour only */
    g_autofree char *where = g_strdup_printf ("%s (%s)", ds->path, e->h5_masks);
    gboolean fits;

    if (!bs_labels_check_values (c->label, c->convention, where, &fits, error))
      return FALSE;
    if (!fits)
      c->convention = BS_LABELS_UNKNOWN;
  }
  return TRUE;
}

gboolean
bs_dataset_read_nifti_label (const CaseEntry *e, gboolean strict, BsCase *c, GError **error)
{
  c->label = bs_volume_load_nifti (e->label, TRUE, error);
  if (c->label == NULL)
    return FALSE;
  /* A label voxel that is not a number, or below 0, is no class of any
   * convention: read as background it scored a Dice of 0 (fuzz finding). */
  if (c->label->n_nonfinite > 0)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                   g_dngettext (GETTEXT_PACKAGE, "%s: %lu label voxel is NaN or infinite",
                                "%s: %lu label voxels are NaN or infinite", c->label->n_nonfinite),
                   e->label, (unsigned long) c->label->n_nonfinite);
      return FALSE;
    }
  for (gsize v = 0; v < bs_volume_n_voxels (c->label) * c->label->n_channels; v++)
    if (c->label->data[v] < 0.0f)
      {
        g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                     _("%s: label value %g is negative (labels are 0 for background and positive classes)"),
                     e->label, c->label->data[v]);
        return FALSE;
      }
  if (c->label->n_channels != 1)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: a label map must be 3D, this one has %d volumes"),
                   e->label, c->label->n_channels);
      return FALSE;
    }
  char code_img[4], code_lab[4];
  bs_volume_orientation_code (c->image, code_img);
  bs_volume_orientation_code (c->label, code_lab);
  if (strcmp (code_img, code_lab) != 0)
    {
      /* A label stored in another voxel order (Decathlon RAS labels for
       * BraTS LPS images) is brought onto the image grid so that
       * voxel-wise comparisons line up. */
      BsVolume *moved = bs_volume_reorient_like (c->label, c->image);
      if (moved == NULL)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s (%dx%dx%d, %s) does not cover the grid of %s (%dx%dx%d, %s)"), e->label,
                       c->label->dims[0], c->label->dims[1], c->label->dims[2], code_lab, e->images[0],
                       c->image->dims[0], c->image->dims[1], c->image->dims[2], code_img);
          return FALSE;
        }
      bs_volume_free (c->label);
      c->label = moved;
    }
  else
    {
      /* In the same voxel order, the label must lie where the image does
       * (a label moved or resampled elsewhere scored as if it fitted). */
      g_autofree char *why = NULL;

      if (c->image->dims[0] == c->label->dims[0] && c->image->dims[1] == c->label->dims[1]
          && c->image->dims[2] == c->label->dims[2]
          && !bs_affine_same_grid (c->label->affine, c->image->affine, &why))
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s does not lie on the grid of %s: %s"), e->label,
                       e->images[0], why);
          return FALSE;
        }
    }
  if (!check_same_dims (c->image, e->images[0], c->label, e->label, error))
    return FALSE;
  g_free (c->label->channel_names[0]);
  c->label->channel_names[0] = g_strdup ("label");
  if (e->guess_convention)
    c->convention = bs_labels_guess (c->label);
  /* A value that is no class at all (0.5, 1e30) is refused.  One that is
   * no class of the convention (a 7 among BraTS labels) gave empty regions
   * and Dice 0 with no word of why (helper finding): where dataset.json
   * names the classes it is refused too; where only the files' names
   * suggest a release (BraTS 2024 keeps 2023's names and adds a label 4)
   * the labels count as of an unknown convention: whole tumour only. */
  {
    gboolean fits;

    if (!bs_labels_check_values (c->label, c->convention, e->label,
                                 strict ? NULL : &fits, error))
      return FALSE;
    if (!strict && !fits)
      c->convention = BS_LABELS_UNKNOWN;
  }
  return TRUE;
}

/* A label that loaded wrong: with label_error the case goes on without it
 * (its error there), else the case fails with it. */
static gboolean
label_failed (const CaseEntry *e, BsCase *c, GError *local, GError **label_error, GError **error)
{
  g_clear_pointer (&c->label, bs_volume_free);
  c->convention = e->convention;
  if (label_error == NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  g_propagate_error (label_error, local);
  return TRUE;
}

BsCase *
bs_dataset_load_case_full (BsDataset *ds, guint i, GError **label_error, GError **error)
{
  const CaseEntry *e = entry (ds, i);
  g_autoptr(BsCase) c = NULL;

  if (e == NULL)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_NOT_FOUND, _("%s: no case %u"), ds->path, i);
      return NULL;
    }
  c = g_new0 (BsCase, 1);
  c->id = g_strdup (e->id);
  c->convention = e->convention;

  if (ds->kind == BS_DATASET_HDF5)
    {
      c->image = bs_dataset_h5_read_stack (ds->path, e->h5_images, FALSE, error);
      if (c->image == NULL)
        return NULL;
      if (c->image->n_channels == 1)
        {
          /* The tutorial's default preprocessing keeps FLAIR only. */
          g_free (c->image->channel_names[0]);
          c->image->channel_names[0] = g_strdup ("FLAIR");
        }
      else if (c->image->n_channels == N_MODALITIES)
        {
          g_strfreev (c->image->channel_names);
          c->image->channel_names = g_strdupv ((char **) modality_order);
        }
      if (e->h5_masks)
        {
          GError *local = NULL;

          if (!load_h5_label (ds, e, c, &local) && !label_failed (e, c, local, label_error, error))
            return NULL;
        }
      return g_steal_pointer (&c);
    }

  c->image = bs_dataset_read_images (e, error);
  if (c->image == NULL)
    return NULL;
  /* Nothing but NaN or infinity: not a scan to segment (fuzz finding: an
   * empty mask came back, with no word of why). */
  if (c->image->n_nonfinite > 0 && c->image->n_nonfinite >= bs_volume_n_voxels (c->image) * c->image->n_channels)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: every voxel is NaN or infinite"), e->images[0]);
      return NULL;
    }
  if (e->label)
    {
      GError *local = NULL;

      if (!bs_dataset_read_nifti_label (e, ds->kind == BS_DATASET_DECATHLON, c, &local)
          && !label_failed (e, c, local, label_error, error))
        return NULL;
    }
  if (!ds->keep_grid && !bs_dataset_resample_fine (c, e->images[0], error))
    return NULL;
  return g_steal_pointer (&c);
}

BsCase *
bs_dataset_load_case (BsDataset *ds, guint i, GError **error)
{
  return bs_dataset_load_case_full (ds, i, NULL, error);
}

void
bs_case_free (BsCase *c)
{
  if (c == NULL)
    return;
  g_free (c->id);
  bs_volume_free (c->image);
  bs_volume_free (c->label);
  g_free (c);
}
