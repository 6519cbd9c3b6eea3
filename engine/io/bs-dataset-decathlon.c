/* A Medical Segmentation Decathlon task folder: dataset.json and the
 * imagesTr / labelsTr / imagesTs files it lists (bs-dataset.c opens the
 * other layouts). */
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "bs-dataset.h"
#include "bs-dataset-private.h"
#include "bs-error.h"
#include "bs-file.h"

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

  /* json-glib called nothing at all "not a JSON object" (hostile-input finding) */
  {
    gsize n = length < 0 ? strlen (json) : (gsize) length, k = 0;

    while (k < n && g_ascii_isspace (json[k]))
      k++;
    if (k == n)
      {
        g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: the file is empty"), json_path);
        return NULL;
      }
  }
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
  ds = bs_dataset_new_empty (BS_DATASET_DECATHLON, folder);
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
      /* An unknown name was reported later as the image's want of a FLAIR
       * channel (hostile-input finding): the mistake is in dataset.json. */
      if (!bs_modality_is_known (m))
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s: \"modality\" names “%s” (channel %s), a modality Brainseg does not know (it knows "
                         "FLAIR, T1w, T1gd and T2w, and aliases such as flair, t1ce and t2f)"),
                       json_path, m, key);
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
                /* a folder or a pipe there is no missing file (helper finding:
                 * "./imagesTr" was said not to exist) */
                if (g_file_test (check[f], G_FILE_TEST_EXISTS))
                  {
                    g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                                 _("%s: entry %u of \"%s\" names %s, which is not a regular file (a folder?)"),
                                 json_path, i, lists[l], check[f]);
                    return NULL;
                  }
                if (n_missing++ == 0)
                  first_missing = g_strdup (check[f]);
              }
          CaseEntry *e = g_new0 (CaseEntry, 1);
          e->id = bs_dataset_case_id_from_file (image_path);
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

BsDataset *
bs_dataset_open_decathlon (const char *folder, GError **error)
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

