#include "bs-dataset.h"
#include "bs-h5.h"

#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "bs-error.h"
#include "bs-file.h"
#include "bs-nifti.h"

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

typedef struct {
  char *id;
  char **images;        /* one 4D file, or one file per channel */
  char **channel_names; /* names of the channels of the loaded image, or NULL: from the file */
  char *label;          /* or NULL */
  BsLabelConvention convention;
  gboolean guess_convention; /* decide from the label values when loaded */
  char *h5_images;      /* HDF5 dataset names (kind HDF5) */
  char *h5_masks;
} CaseEntry;

struct _BsDataset {
  BsDatasetKind kind;
  char *path;
  char *name;
  GPtrArray *cases; /* CaseEntry */
};

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

static BsDataset *
dataset_new (BsDatasetKind kind, const char *path)
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

static char *
case_id_from_file (const char *path)
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

/* A BraTS case folder: at least one modality file by name.  Returns NULL
 * (without error) when the folder is not one. */
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
      id = case_id_from_file (by_modality[m]);
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

static CaseEntry *
scan_brats_case (const char *folder)
{
  g_autoptr(GPtrArray) files = list_folder (folder, FALSE, NULL);
  const char *by_modality[N_MODALITIES] = { NULL };
  const char *label = NULL;
  Release release = RELEASE_NONE;
  int n_found = 0;

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

/* ---- Decathlon ---- */

static const char *
member_string (JsonObject *obj, const char *member)
{
  JsonNode *n = json_object_get_member (obj, member);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

/* Resolves a dataset.json path ("./imagesTr/BRATS_001.nii.gz") inside the
 * task folder; paths leaving the folder are refused. */
static char *
resolve_in_folder (const char *folder, const char *rel)
{
  while (g_str_has_prefix (rel, "./"))
    rel += 2;
  if (rel[0] == '\0' || g_path_is_absolute (rel) || strstr (rel, "..") != NULL)
    return NULL;
  return g_build_filename (folder, rel, NULL);
}

BsDataset *
bs_dataset_open_decathlon_json (const char *folder, const char *json, gssize length, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local = NULL;
  g_autofree char *json_path = g_build_filename (folder, "dataset.json", NULL);
  g_autoptr(BsDataset) ds = NULL;
  g_auto(GStrv) channels = NULL;
  BsLabelConvention convention = BS_LABELS_UNKNOWN;
  guint n_missing = 0;
  g_autofree char *first_missing = NULL;

  if (bs_json_depth (json, length) > BS_JSON_MAX_DEPTH)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: malformed JSON: nested deeper than %d levels"),
                   json_path, BS_JSON_MAX_DEPTH);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, json, length, &local))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: malformed JSON: %s"), json_path,
                   local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: expected a JSON object at the top"),
                   json_path);
      return NULL;
    }
  JsonObject *obj = json_node_get_object (root);
  ds = dataset_new (BS_DATASET_DECATHLON, folder);
  const char *name = member_string (obj, "name");
  if (name && *name)
    {
      g_free (ds->name);
      ds->name = g_strdup (name);
    }

  /* "modality": { "0": "FLAIR", "1": "T1w", ... } in channel order. */
  JsonNode *mod = json_object_get_member (obj, "modality");
  if (mod == NULL || !JSON_NODE_HOLDS_OBJECT (mod))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                   _("%s: \"modality\" is missing or not an object of channel names"), json_path);
      return NULL;
    }
  JsonObject *mobj = json_node_get_object (mod);
  guint n_mod = json_object_get_size (mobj);
  if (n_mod == 0 || n_mod > 64)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: \"modality\" lists %u channels"), json_path,
                   n_mod);
      return NULL;
    }
  channels = g_new0 (char *, n_mod + 1);
  for (guint c = 0; c < n_mod; c++)
    {
      g_autofree char *key = g_strdup_printf ("%u", c);
      const char *m = member_string (mobj, key);
      if (m == NULL)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s: \"modality\" has no name for channel \"%s\""), json_path, key);
          return NULL;
        }
      channels[c] = g_strdup (bs_modality_canonical (m));
      /* Two channels of one name: the model would take the first for both
       * (fuzz finding: four channels named FLAIR gave FLAIR alone). */
      for (guint d = 0; d < c; d++)
        if (g_ascii_strcasecmp (channels[d], channels[c]) == 0)
          {
            g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                         _("%s: \"modality\" names channels %u and %u both %s"), json_path, d, c, channels[c]);
            return NULL;
          }
    }

  /* "labels": { "0": "background", "1": "edema", ... } */
  JsonNode *labels = json_object_get_member (obj, "labels");
  if (labels && JSON_NODE_HOLDS_OBJECT (labels))
    {
      JsonObject *lobj = json_node_get_object (labels);
      const char *one = member_string (lobj, "1");
      guint n_labels = json_object_get_size (lobj);
      if (one && strstr (one, "edema") != NULL)
        convention = BS_LABELS_DECATHLON;
      else if (n_labels == 2 && one != NULL)
        convention = BS_LABELS_BINARY;
    }
  else if (labels != NULL)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: \"labels\" is not an object"), json_path);
      return NULL;
    }

  static const char *const lists[] = { "training", "test" };
  for (gsize l = 0; l < G_N_ELEMENTS (lists); l++)
    {
      JsonNode *node = json_object_get_member (obj, lists[l]);
      if (node == NULL)
        continue;
      if (!JSON_NODE_HOLDS_ARRAY (node))
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: \"%s\" is not an array"), json_path,
                       lists[l]);
          return NULL;
        }
      JsonArray *arr = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (arr); i++)
        {
          JsonNode *item = json_array_get_element (arr, i);
          const char *image = NULL, *label = NULL;
          if (JSON_NODE_HOLDS_OBJECT (item))
            {
              image = member_string (json_node_get_object (item), "image");
              label = member_string (json_node_get_object (item), "label");
            }
          else if (JSON_NODE_HOLDS_VALUE (item) && json_node_get_value_type (item) == G_TYPE_STRING)
            image = json_node_get_string (item);
          if (image == NULL)
            {
              g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                           _("%s: entry %u of \"%s\" has no \"image\" path"), json_path, i, lists[l]);
              return NULL;
            }
          g_autofree char *image_path = resolve_in_folder (folder, image);
          g_autofree char *label_path = label ? resolve_in_folder (folder, label) : NULL;
          if (image_path == NULL || (label && label_path == NULL))
            {
              g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                           _("%s: entry %u of \"%s\" has a path outside the task folder"), json_path, i,
                           lists[l]);
              return NULL;
            }
          const char *check[2] = { image_path, label_path };
          for (int f = 0; f < 2; f++)
            if (check[f] && !g_file_test (check[f], G_FILE_TEST_IS_REGULAR))
              {
                if (n_missing++ == 0)
                  first_missing = g_strdup (check[f]);
              }
          CaseEntry *e = g_new0 (CaseEntry, 1);
          e->id = case_id_from_file (image_path);
          e->images = g_new0 (char *, 2);
          e->images[0] = g_steal_pointer (&image_path);
          e->channel_names = g_strdupv (channels);
          e->label = g_steal_pointer (&label_path);
          e->convention = convention;
          e->guess_convention = convention == BS_LABELS_UNKNOWN;
          g_ptr_array_add (ds->cases, e);
        }
    }
  /* One image listed twice would be two cases with one id (fuzz finding:
   * the same case in training, validation and test). */
  {
    g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

    for (guint i = 0; i < ds->cases->len; i++)
      {
        const CaseEntry *e = g_ptr_array_index (ds->cases, i);

        if (!g_hash_table_add (seen, e->id))
          {
            g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: case %s is listed more than once"),
                         json_path, e->id);
            return NULL;
          }
      }
  }
  if (n_missing > 0)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_NOT_FOUND,
                   ngettext ("%s names %u file that does not exist: %s",
                             "%s names %u files that do not exist, the first: %s", n_missing),
                   json_path, n_missing, first_missing);
      return NULL;
    }
  if (ds->cases->len == 0)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: lists no \"training\" or \"test\" cases"),
                   json_path);
      return NULL;
    }
  return g_steal_pointer (&ds);
}

static BsDataset *
open_decathlon (const char *folder, GError **error)
{
  g_autofree char *json_path = g_build_filename (folder, "dataset.json", NULL);
  g_autofree char *json = NULL;
  gsize len = 0;
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (json_path, &json, &len, &local))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_NOT_FOUND, "%s", local->message);
      return NULL;
    }
  return bs_dataset_open_decathlon_json (folder, json, (gssize) len, error);
}

/* ---- HDF5 (Intel tutorial) ---- */

static const char *const h5_splits[] = { "imgs_train", "imgs_validation", "imgs_testing" };

static gboolean
h5_dataset_shape (hid_t file, const char *name, int *rank, hsize_t dims[4])
{
  if (H5Lexists (file, name, H5P_DEFAULT) <= 0)
    return FALSE;
  hid_t ds = H5Dopen2 (file, name, H5P_DEFAULT);
  if (ds < 0)
    return FALSE;
  hid_t space = H5Dget_space (ds);
  int r = space >= 0 ? H5Sget_simple_extent_ndims (space) : -1;
  if (r >= 0 && r <= 4)
    H5Sget_simple_extent_dims (space, dims, NULL);
  *rank = r;
  if (space >= 0)
    H5Sclose (space);
  H5Dclose (ds);
  return r >= 0;
}

static gboolean
is_hdf5_file (const char *path)
{
  static const guint8 sig[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };
  guint8 head[8] = { 0 };
  FILE *f = g_fopen (path, "rb");
  gboolean ok = FALSE;
  if (f)
    {
      ok = fread (head, 1, 8, f) == 8 && memcmp (head, sig, 8) == 0;
      fclose (f);
    }
  return ok;
}

static BsDataset *
open_hdf5_quietly (const char *path, GError **error)
{
  g_autoptr(BsDataset) ds = dataset_new (BS_DATASET_HDF5, path);
  hid_t file;

  file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT, _("%s: not a readable HDF5 file"), path);
      return NULL;
    }
  for (gsize s = 0; s < G_N_ELEMENTS (h5_splits); s++)
    {
      hsize_t dims[4] = { 0 }, mdims[4] = { 0 };
      int rank = 0, mrank = 0;
      if (!h5_dataset_shape (file, h5_splits[s], &rank, dims))
        continue;
      if (rank != 4)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s: dataset %s has rank %d; expected 4 (slices x height x width x channels)"), path,
                       h5_splits[s], rank);
          H5Fclose (file);
          return NULL;
        }
      for (int d = 0; d < 4; d++)
        if (dims[d] == 0 || dims[d] > G_MAXINT)
          {
            g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: dataset %s has an empty or absurd shape"),
                         path, h5_splits[s]);
            H5Fclose (file);
            return NULL;
          }
      g_autofree char *mask = g_strdup_printf ("msks_%s", h5_splits[s] + 5);
      gboolean has_mask = h5_dataset_shape (file, mask, &mrank, mdims);
      if (has_mask && (mrank != 4 || mdims[0] != dims[0] || mdims[1] != dims[1] || mdims[2] != dims[2]))
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s: %s does not match %s (expected %llu x %llu x %llu x 1)"), path, mask,
                       h5_splits[s], (unsigned long long) dims[0], (unsigned long long) dims[1],
                       (unsigned long long) dims[2]);
          H5Fclose (file);
          return NULL;
        }
      CaseEntry *e = g_new0 (CaseEntry, 1);
      e->id = g_strdup (h5_splits[s]);
      e->h5_images = g_strdup (h5_splits[s]);
      e->h5_masks = has_mask ? g_steal_pointer (&mask) : NULL;
      e->convention = BS_LABELS_BINARY;
      g_ptr_array_add (ds->cases, e);
    }
  H5Fclose (file);
  if (ds->cases->len == 0)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                   _("%s: HDF5 file without imgs_train, imgs_validation or imgs_testing datasets"), path);
      return NULL;
    }
  return g_steal_pointer (&ds);
}

static BsDataset *
open_hdf5 (const char *path, GError **error)
{
  BsH5Quiet quiet;
  BsDataset *ds;

  bs_h5_quiet_begin (&quiet);
  ds = open_hdf5_quietly (path, error);
  bs_h5_quiet_end (&quiet);
  return ds;
}

static BsVolume *
h5_read_stack_quietly (const char *path, const char *name, gboolean as_label, GError **error)
{
  hid_t file, ds = -1, space = -1;
  hsize_t dims[4] = { 0 };
  BsVolume *vol = NULL;
  float *raw = NULL;

  file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0 || (ds = H5Dopen2 (file, name, H5P_DEFAULT)) < 0 || (space = H5Dget_space (ds)) < 0 ||
      H5Sget_simple_extent_ndims (space) != 4)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: cannot read dataset %s as a 4D array"), path,
                   name);
      goto out;
    }
  H5Sget_simple_extent_dims (space, dims, NULL);
  guint64 total = (guint64) dims[0] * dims[1] * dims[2] * dims[3];
  if (total == 0 || total > ((guint64) 1 << 31) || dims[3] > 64)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE, _("%s: dataset %s is too large (%llu values)"), path,
                   name, (unsigned long long) total);
      goto out;
    }
  vol = bs_volume_new_uninitialized ((int) dims[2], (int) dims[1], (int) dims[0], (int) dims[3]);
  if (vol == NULL)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE, _("%s: not enough memory for dataset %s"), path,
                   name);
      goto out;
    }
  /* Slices are read a block at a time into a small buffer and scattered to
   * the channel-major layout, so a multi-gigabyte split is never held twice. */
  gsize plane = (gsize) dims[1] * dims[2];
  int nc = (int) dims[3];
  hsize_t block = MAX ((hsize_t) 1, MIN (dims[0], (hsize_t) ((16u << 20) / (plane * nc * sizeof (float)))));
  raw = g_try_new (float, block * plane * nc);
  if (raw == NULL)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_TOO_LARGE, _("%s: not enough memory for dataset %s"), path,
                   name);
      g_clear_pointer (&vol, bs_volume_free);
      goto out;
    }
  gsize nvox = bs_volume_n_voxels (vol);
  for (hsize_t first = 0; first < dims[0]; first += block)
    {
      hsize_t count[4] = { MIN (block, dims[0] - first), dims[1], dims[2], dims[3] };
      hsize_t start[4] = { first, 0, 0, 0 };
      hid_t mem = H5Screate_simple (4, count, NULL);
      herr_t st = H5Sselect_hyperslab (space, H5S_SELECT_SET, start, NULL, count, NULL);
      if (st >= 0)
        st = H5Dread (ds, H5T_NATIVE_FLOAT, mem, space, H5P_DEFAULT, raw);
      H5Sclose (mem);
      if (st < 0)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT, _("%s: reading dataset %s failed"), path, name);
          g_clear_pointer (&vol, bs_volume_free);
          goto out;
        }
      gsize base = (gsize) first * plane, n = (gsize) count[0] * plane;
      for (gsize v = 0; v < n; v++)
        for (int c = 0; c < nc; c++)
          {
            float f = raw[v * nc + c];
            if (!isfinite (f))
              {
                f = 0.0f;
                vol->n_nonfinite++;
              }
            vol->data[(gsize) c * nvox + base + v] = f;
          }
    }
  /* The stored slices are 2D images already (row 0 first); an LPS affine
   * makes the axial view show each one exactly as stored. */
  vol->affine[0][0] = -1.0;
  vol->affine[1][1] = -1.0;
  vol->is_label = as_label;
  vol->path = g_strdup (path);
out:
  g_free (raw);
  if (space >= 0)
    H5Sclose (space);
  if (ds >= 0)
    H5Dclose (ds);
  if (file >= 0)
    H5Fclose (file);
  return vol;
}

/* Reads an N x H x W x C float32 dataset into a volume (x = W, y = H, z = N). */
static BsVolume *
h5_read_stack (const char *path, const char *name, gboolean as_label, GError **error)
{
  BsH5Quiet quiet;
  BsVolume *vol;

  bs_h5_quiet_begin (&quiet);
  vol = h5_read_stack_quietly (path, name, as_label, error);
  bs_h5_quiet_end (&quiet);
  return vol;
}

/* ---- opening ---- */

static BsDataset *
open_nifti_file (const char *path, const char *label_path)
{
  BsDataset *ds = dataset_new (BS_DATASET_NIFTI_FILE, path);
  CaseEntry *e = g_new0 (CaseEntry, 1);
  const NamePattern *p = match_name (path);
  const NamePattern *lp = label_path ? match_name (label_path) : NULL;

  e->id = case_id_from_file (path);
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
    return open_decathlon (path, error);

  CaseEntry *single = scan_brats_case (path);
  if (single)
    {
      BsDataset *ds = dataset_new (BS_DATASET_BRATS_CASE, path);
      g_ptr_array_add (ds->cases, single);
      return ds;
    }

  g_autoptr(GPtrArray) dirs = list_folder (path, TRUE, &local);
  if (dirs == NULL)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_NOT_FOUND, "%s", local->message);
      return NULL;
    }
  g_autoptr(BsDataset) ds = dataset_new (BS_DATASET_BRATS_COLLECTION, path);
  /* Two levels: a release folder may group its cases by grade (HGG/LGG). */
  for (guint i = 0; i < dirs->len; i++)
    {
      const char *sub = g_ptr_array_index (dirs, i);
      CaseEntry *e = scan_brats_case (sub);
      if (e)
        {
          g_ptr_array_add (ds->cases, e);
          continue;
        }
      g_autoptr(GPtrArray) subdirs = list_folder (sub, TRUE, NULL);
      for (guint j = 0; subdirs && j < subdirs->len; j++)
        if ((e = scan_brats_case (g_ptr_array_index (subdirs, j))) != NULL)
          g_ptr_array_add (ds->cases, e);
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
          ds = open_decathlon (folder, error);
        }
      else if (is_hdf5_file (path))
        ds = open_hdf5 (path, error);
      else
        {
          /* One file of a one-file-per-modality case (the FLAIR, the
           * segmentation...): the user means the case, with every modality. */
          if (label_path == NULL && match_name (path) != NULL)
            {
              g_autofree char *folder = g_path_get_dirname (path);
              CaseEntry *single = scan_brats_case (folder);

              if (single)
                {
                  ds = dataset_new (BS_DATASET_BRATS_CASE, folder);
                  g_ptr_array_add (ds->cases, single);
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

/* Loads every file of a case (in parallel: gunzip dominates) as the
 * channels of one volume. */
static BsVolume *
load_images (const CaseEntry *e, GError **error)
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

BsCase *
bs_dataset_load_case (BsDataset *ds, guint i, GError **error)
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
      c->image = h5_read_stack (ds->path, e->h5_images, FALSE, error);
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
          c->label = h5_read_stack (ds->path, e->h5_masks, TRUE, error);
          if (c->label == NULL)
            return NULL;
          if (c->label->n_channels != 1)
            {
              g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: %s has %d channels, expected 1"),
                           ds->path, e->h5_masks, c->label->n_channels);
              return NULL;
            }
        }
      return g_steal_pointer (&c);
    }

  c->image = load_images (e, error);
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
      c->label = bs_volume_load_nifti (e->label, TRUE, error);
      if (c->label == NULL)
        return NULL;
      /* A label voxel that is not a number, or below 0, is no class of any
       * convention: read as background it scored a Dice of 0 (fuzz finding). */
      if (c->label->n_nonfinite > 0)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       g_dngettext (GETTEXT_PACKAGE, "%s: %lu label voxel is NaN or infinite",
                                    "%s: %lu label voxels are NaN or infinite", c->label->n_nonfinite),
                       e->label, (unsigned long) c->label->n_nonfinite);
          return NULL;
        }
      for (gsize v = 0; v < bs_volume_n_voxels (c->label) * c->label->n_channels; v++)
        if (c->label->data[v] < 0.0f)
          {
            g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                         _("%s: label value %g is negative (labels are 0 for background and positive classes)"),
                         e->label, c->label->data[v]);
            return NULL;
          }
      if (c->label->n_channels != 1)
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: a label map must be 3D, this one has %d volumes"),
                       e->label, c->label->n_channels);
          return NULL;
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
              return NULL;
            }
          bs_volume_free (c->label);
          c->label = moved;
        }
      if (!check_same_dims (c->image, e->images[0], c->label, e->label, error))
        return NULL;
      g_free (c->label->channel_names[0]);
      c->label->channel_names[0] = g_strdup ("label");
      if (e->guess_convention)
        c->convention = bs_labels_guess (c->label);
    }
  return g_steal_pointer (&c);
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
