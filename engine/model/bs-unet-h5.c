/* The U-Net's weights as Keras-layout HDF5: the brainseg_config attribute,
 * loading (with the IntelAI files' layouts) and saving (bs-unet.c has the
 * network in memory). */
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <hdf5.h>
#include <json-glib/json-glib.h>
#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "bs-error.h"
#include "bs-file.h"
#include "bs-h5.h"
#include "bs-unet.h"
#include "bs-unet-private.h"

/* ---- HDF5 ---- */

static char *
h5_read_string_attr (hid_t obj, const char *name)
{
  hid_t attr, type, space, mem;
  char *result = NULL;

  if (H5Aexists (obj, name) <= 0)
    return NULL;
  attr = H5Aopen (obj, name, H5P_DEFAULT);
  if (attr < 0)
    return NULL;
  type = H5Aget_type (attr);
  space = H5Aget_space (attr);
  if (H5Tget_class (type) == H5T_STRING && H5Sget_simple_extent_npoints (space) == 1)
    {
      if (H5Tis_variable_str (type) > 0)
        {
          char *s = NULL;
          mem = H5Tcopy (H5T_C_S1);
          H5Tset_size (mem, H5T_VARIABLE);
          /* h5py writes UTF-8; HDF5 will not convert between character sets. */
          H5Tset_cset (mem, H5Tget_cset (type));
          if (H5Aread (attr, mem, &s) >= 0 && s)
            {
              result = g_strdup (s);
              H5free_memory (s);
            }
          H5Tclose (mem);
        }
      else
        {
          size_t size = H5Tget_size (type);
          char *buf = g_malloc0 (size + 1);
          mem = H5Tcopy (H5T_C_S1);
          H5Tset_size (mem, size + 1);
          H5Tset_strpad (mem, H5T_STR_NULLTERM);
          H5Tset_cset (mem, H5Tget_cset (type));
          if (H5Aread (attr, mem, buf) >= 0)
            result = g_steal_pointer (&buf);
          g_free (buf);
          H5Tclose (mem);
        }
    }
  H5Sclose (space);
  H5Tclose (type);
  H5Aclose (attr);
  return result;
}

static gboolean
h5_write_string_attr (hid_t obj, const char *name, const char *value)
{
  hid_t type = H5Tcopy (H5T_C_S1);
  hid_t space = H5Screate (H5S_SCALAR);
  hid_t attr;
  herr_t st = -1;

  H5Tset_size (type, strlen (value) + 1);
  H5Tset_strpad (type, H5T_STR_NULLTERM);
  attr = H5Acreate2 (obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr >= 0)
    {
      st = H5Awrite (attr, type, value);
      H5Aclose (attr);
    }
  H5Sclose (space);
  H5Tclose (type);
  return st >= 0;
}

/* Keras lists layer and weight names as fixed-length string arrays. */
static gboolean
h5_write_string_array_attr (hid_t obj, const char *name, const char *const *values, int n)
{
  size_t len = 1;
  hid_t type, space, attr;
  hsize_t dim = n;
  herr_t st = -1;
  char *buf;

  for (int i = 0; i < n; i++)
    len = MAX (len, strlen (values[i]));
  buf = g_malloc0 (len * MAX (n, 1));
  for (int i = 0; i < n; i++)
    memcpy (buf + i * len, values[i], strlen (values[i]));
  type = H5Tcopy (H5T_C_S1);
  H5Tset_size (type, len);
  H5Tset_strpad (type, H5T_STR_NULLPAD);
  space = H5Screate_simple (1, &dim, NULL);
  attr = H5Acreate2 (obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr >= 0)
    {
      st = H5Awrite (attr, type, buf);
      H5Aclose (attr);
    }
  H5Sclose (space);
  H5Tclose (type);
  g_free (buf);
  return st >= 0;
}

char *
bs_unet_json_text (JsonBuilder *b)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (b);

  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

/* ---- brainseg_config ---- */

static char *
config_to_json (const BsUnet *net)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "topology");
  json_builder_add_string_value (b, BS_UNET_TOPOLOGY);
  json_builder_set_member_name (b, "fms");
  json_builder_add_int_value (b, net->config.fms);
  json_builder_set_member_name (b, "in_channels");
  json_builder_add_int_value (b, net->config.in_channels);
  if (net->config.context > 0)
    {
      json_builder_set_member_name (b, "context");
      json_builder_add_int_value (b, net->config.context);
    }
  json_builder_set_member_name (b, "upsample");
  json_builder_add_string_value (b, net->config.upsample == BS_UPSAMPLE_NEAREST ? "nearest" : "transposed");
  json_builder_set_member_name (b, "modalities");
  json_builder_begin_array (b);
  for (int i = 0; net->config.modalities && net->config.modalities[i]; i++)
    json_builder_add_string_value (b, net->config.modalities[i]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "normalisation");
  json_builder_add_string_value (b, net->config.normalisation ? net->config.normalisation
                                                              : BS_UNET_DEFAULT_NORMALISATION);
  json_builder_set_member_name (b, "crop");
  json_builder_add_int_value (b, net->config.crop);
  json_builder_set_member_name (b, "outputs");
  json_builder_begin_array (b);
  for (int i = 0; net->config.outputs && net->config.outputs[i]; i++)
    json_builder_add_string_value (b, net->config.outputs[i]);
  json_builder_end_array (b);
  if (net->description)
    {
      json_builder_set_member_name (b, "description");
      json_builder_add_string_value (b, net->description);
    }
  json_builder_end_object (b);
  return bs_unet_json_text (b);
}

/* Every brainseg_config key is read through these, so that a value of the
 * wrong type (a damaged or hand-edited file) fails naming the key instead of
 * reaching json-glib's accessors, which warn and return NULL or 0. */

static gboolean
config_type_error (const char *path, const char *key, const char *message, GError **error)
{
  g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY, message, path, key);
  return FALSE;
}

/* key's string, or fallback when the key is absent. */
static gboolean
config_string (const char *path, JsonObject *o, const char *key, const char *fallback, const char **value,
               GError **error)
{
  JsonNode *node = json_object_get_member (o, key);

  if (!node)
    {
      *value = fallback;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    /* TRANSLATORS: the file; a key of its brainseg_config attribute (JSON), not translated */
    return config_type_error (path, key, _("%s: brainseg_config \"%s\" is not a string"), error);
  *value = json_node_get_string (node);
  return TRUE;
}

/* key's integer, or fallback when the key is absent. */
static gboolean
config_int (const char *path, JsonObject *o, const char *key, gint64 fallback, gint64 *value, GError **error)
{
  JsonNode *node = json_object_get_member (o, key);

  if (!node)
    {
      *value = fallback;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return config_type_error (path, key, _("%s: brainseg_config \"%s\" is not an integer"), error);
  *value = json_node_get_int (node);
  return TRUE;
}

/* v, read for key, in [lo, hi] (checked on the 64-bit value, before it
 * narrows to an int). */
static gboolean
config_in_range (const char *path, const char *key, gint64 v, int lo, int hi, int *value, GError **error)
{
  if (v < lo || v > hi)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                   /* TRANSLATORS: the file; a key of its brainseg_config attribute, its value, the range allowed */
                   _("%s: brainseg_config \"%s\" is %lld; it must be between %d and %d"), path, key, (long long) v,
                   lo, hi);
      return FALSE;
    }
  *value = (int) v;
  return TRUE;
}

/* The sizes that decide how much memory the network takes, wherever they
 * come from (brainseg_config or the kernel shapes). */
static gboolean
check_sizes (const char *path, gint64 fms, gint64 in_channels, GError **error)
{
  if (fms > BS_UNET_MAX_FMS)
    {
      /* TRANSLATORS: fms: the U-Net's base feature maps */
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY, _("%s: fms %lld is too large (at most %d)"), path,
                   (long long) fms, BS_UNET_MAX_FMS);
      return FALSE;
    }
  if (in_channels > BS_UNET_MAX_IN_CHANNELS)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                   _("%s: %lld input channels are too many (at most %d)"), path, (long long) in_channels,
                   BS_UNET_MAX_IN_CHANNELS);
      return FALSE;
    }
  return TRUE;
}

/* key's array of strings (NULL-terminated, *value NULL when the key is absent). */
static gboolean
config_strings (const char *path, JsonObject *o, const char *key, char ***value, GError **error)
{
  JsonNode *node = json_object_get_member (o, key);
  JsonArray *a;
  guint n;

  *value = NULL;
  if (!node)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return config_type_error (path, key, _("%s: brainseg_config \"%s\" is not an array of strings"), error);
  a = json_node_get_array (node);
  n = json_array_get_length (a);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        return config_type_error (path, key, _("%s: brainseg_config \"%s\" is not an array of strings"), error);
    }
  *value = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    (*value)[i] = g_strdup (json_array_get_string_element (a, i));
  return TRUE;
}

/* The largest training crop a file may name.  It is informational (what the
 * weights were trained on), so the bound is only there to keep it an int. */
#define CONFIG_MAX_CROP 65536

static gboolean
config_from_json (const char *path, const char *json, BsUnetConfig *config, char **description,
                  GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  g_auto(GStrv) outputs = NULL;
  JsonObject *o;
  const char *topology, *up, *normalisation, *desc;
  gint64 fms, in_channels, context, crop;

  /* (nesting checked first: json-glib recurses once per level) */
  if (bs_json_depth (json, -1) > BS_JSON_MAX_DEPTH)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE,
                   _("%s: malformed JSON: nested deeper than %d levels"), path, BS_JSON_MAX_DEPTH);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, json, -1, &local)
      || json_parser_get_root (parser) == NULL
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE,
                   _("%s: the brainseg_config attribute is not a JSON object (%s)"), path,
                   local ? local->message : _("wrong type"));
      return FALSE;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  if (!config_string (path, o, "topology", BS_UNET_TOPOLOGY, &topology, error))
    return FALSE;
  if (strcmp (topology, BS_UNET_TOPOLOGY) != 0)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                   _("%s: the weights are for a \"%s\" network, not the 2D U-Net (%s)"), path, topology,
                   BS_UNET_TOPOLOGY);
      return FALSE;
    }
  memset (config, 0, sizeof *config);
  if (!config_int (path, o, "fms", 16, &fms, error) || !config_int (path, o, "in_channels", 1, &in_channels, error)
      || !config_int (path, o, "context", 0, &context, error) || !config_int (path, o, "crop", 0, &crop, error)
      || !check_sizes (path, fms, in_channels, error)
      || !config_in_range (path, "fms", fms, 1, BS_UNET_MAX_FMS, &config->fms, error)
      || !config_in_range (path, "in_channels", in_channels, 1, BS_UNET_MAX_IN_CHANNELS, &config->in_channels, error)
      || !config_in_range (path, "context", context, 0, BS_UNET_MAX_CONTEXT, &config->context, error)
      || !config_in_range (path, "crop", crop, 0, CONFIG_MAX_CROP, &config->crop, error)
      || !config_string (path, o, "upsample", "transposed", &up, error)
      || !config_string (path, o, "normalisation", BS_UNET_DEFAULT_NORMALISATION, &normalisation, error)
      || !config_string (path, o, "description", NULL, &desc, error)
      || !config_strings (path, o, "modalities", &config->modalities, error)
      || !config_strings (path, o, "outputs", &outputs, error))
    {
      bs_unet_config_clear (config);
      return FALSE;
    }
  if (!g_str_equal (up, "transposed") && !g_str_equal (up, "nearest"))
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                   _("%s: brainseg_config \"upsample\" is \"%s\"; it must be \"transposed\" or \"nearest\""), path,
                   up);
      bs_unet_config_clear (config);
      return FALSE;
    }
  config->upsample = g_str_equal (up, "nearest") ? BS_UPSAMPLE_NEAREST : BS_UPSAMPLE_TRANSPOSED;
  config->normalisation = g_strdup (normalisation);
  if (outputs)
    {
      g_autofree char *list = g_strjoinv (",", outputs);
      g_autoptr(GError) bad = NULL;

      if (!outputs[0] || !bs_unet_parse_outputs (list, &config->outputs, &bad))
        {
          g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                       _("%s: brainseg_config lists the outputs \"%s\": %s"), path, list,
                       bad ? bad->message : _("none"));
          bs_unet_config_clear (config);
          return FALSE;
        }
      config->out_channels = (int) g_strv_length (outputs);
    }
  *description = g_strdup (desc);
  return TRUE;
}

/* ---- loading ---- */

/* Shape of a kernel dataset, or rank -1 when absent. */
static int
h5_dataset_shape (hid_t base, const char *path, hsize_t dims[H5S_MAX_RANK])
{
  hid_t ds, space;
  int rank;

  if (!bs_h5_link_exists (base, path))
    return -1;
  ds = H5Dopen2 (base, path, H5P_DEFAULT);
  if (ds < 0)
    return -1;
  space = H5Dget_space (ds);
  rank = H5Sget_simple_extent_ndims (space);
  if (rank >= 0)
    H5Sget_simple_extent_dims (space, dims, NULL);
  H5Sclose (space);
  H5Dclose (ds);
  return rank;
}

static gboolean
h5_read_floats (hid_t base, const char *path, float *out)
{
  hid_t ds = H5Dopen2 (base, path, H5P_DEFAULT);
  herr_t st;

  if (ds < 0)
    return FALSE;
  st = H5Dread (ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
  H5Dclose (ds);
  return st >= 0;
}

/* Where the layer groups live: model.save() puts them under model_weights,
 * model.save_weights() at the root. */
static hid_t
open_weights_group (hid_t file)
{
  if (H5Lexists (file, "model_weights", H5P_DEFAULT) > 0)
    return H5Gopen2 (file, "model_weights", H5P_DEFAULT);
  return H5Gopen2 (file, "/", H5P_DEFAULT);
}

static char *
kernel_path (const char *layer, const char *what)
{
  return g_strdup_printf ("%s/%s/%s:0", layer, layer, what);
}

/* Topology from the kernel shapes, for files Keras wrote without our attribute. */
static gboolean
infer_config (const char *path, hid_t base, BsUnetConfig *config, GError **error)
{
  g_autofree char *k = kernel_path ("encodeAa", "kernel");
  hsize_t dims[H5S_MAX_RANK];
  int rank = h5_dataset_shape (base, k, dims);

  if (rank < 0)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                   _("%s: no layer encodeAa with a kernel; this is not a 2D U-Net weights file"), path);
      return FALSE;
    }
  if (rank != 4 || dims[0] != 3 || dims[1] != 3)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                   _("%s: layer encodeAa has a %d-dimensional kernel; the 2D U-Net needs 3x3 2D convolutions"),
                   path, rank);
      return FALSE;
    }
  /* Checked before they narrow to int: a shape of 2^31 + 16 must not pass as 16. */
  if (!check_sizes (path, (gint64) MIN (dims[3], (hsize_t) G_MAXINT64), (gint64) MIN (dims[2], (hsize_t) G_MAXINT64),
                    error))
    return FALSE;
  memset (config, 0, sizeof *config);
  config->in_channels = (int) dims[2];
  config->fms = (int) dims[3];
  {
    g_autofree char *t = kernel_path ("transconvE", "kernel");
    config->upsample = bs_h5_link_exists (base, t) ? BS_UPSAMPLE_TRANSPOSED : BS_UPSAMPLE_NEAREST;
  }
  {
    /* A Keras file without brainseg_config: as many outputs as the head has
     * (WT, TC, ET in that order), one for IntelAI's files. */
    g_autofree char *p = kernel_path ("PredictionMask", "kernel");
    int prank = h5_dataset_shape (base, p, dims);
    config->out_channels = prank == 4 && dims[3] >= 1 && dims[3] <= 3 ? (int) dims[3] : 1;
  }
  return TRUE;
}

/* Keras kernel shape of a layer: HWIO for Conv2D, HWOI for Conv2DTranspose. */
static void
keras_kernel_shape (const BsUnetLayer *l, hsize_t dims[4])
{
  dims[0] = l->kh;
  dims[1] = l->kw;
  dims[2] = l->kind == BS_LAYER_TRANSCONV2X2 ? l->out_ch : l->in_ch;
  dims[3] = l->kind == BS_LAYER_TRANSCONV2X2 ? l->in_ch : l->out_ch;
}

static void
keras_to_oihw (const BsUnetLayer *l, const float *k, float *w)
{
  for (int y = 0; y < l->kh; y++)
    for (int x = 0; x < l->kw; x++)
      for (int i = 0; i < l->in_ch; i++)
        for (int o = 0; o < l->out_ch; o++)
          {
            gsize src = l->kind == BS_LAYER_TRANSCONV2X2
                          ? (((gsize) y * l->kw + x) * l->out_ch + o) * l->in_ch + i
                          : (((gsize) y * l->kw + x) * l->in_ch + i) * l->out_ch + o;
            w[(((gsize) o * l->in_ch + i) * l->kh + y) * l->kw + x] = k[src];
          }
}

static void
oihw_to_keras (const BsUnetLayer *l, const float *w, float *k)
{
  for (int y = 0; y < l->kh; y++)
    for (int x = 0; x < l->kw; x++)
      for (int i = 0; i < l->in_ch; i++)
        for (int o = 0; o < l->out_ch; o++)
          {
            gsize dst = l->kind == BS_LAYER_TRANSCONV2X2
                          ? (((gsize) y * l->kw + x) * l->out_ch + o) * l->in_ch + i
                          : (((gsize) y * l->kw + x) * l->in_ch + i) * l->out_ch + o;
            k[dst] = w[(((gsize) o * l->in_ch + i) * l->kh + y) * l->kw + x];
          }
}

static char *
shape_string (const hsize_t *dims, int rank)
{
  GString *s = g_string_new ("(");
  for (int i = 0; i < rank; i++)
    g_string_append_printf (s, i ? ", %llu" : "%llu", (unsigned long long) dims[i]);
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

static gboolean
load_layer (const char *path, hid_t base, BsUnetLayer *l, GError **error)
{
  g_autofree char *kp = kernel_path (l->name, "kernel");
  g_autofree char *bp = kernel_path (l->name, "bias");
  hsize_t want[4], dims[H5S_MAX_RANK], bdims[H5S_MAX_RANK];
  int rank, brank;
  g_autofree float *k = NULL;

  if (!bs_h5_link_exists (base, l->name))
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_MISSING,
                   _("%s: layer %s is missing"), path, l->name);
      return FALSE;
    }
  rank = h5_dataset_shape (base, kp, dims);
  brank = h5_dataset_shape (base, bp, bdims);
  if (rank < 0 || brank < 0)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_MISSING,
                   _("%s: layer %s has no %s"), path, l->name, rank < 0 ? "kernel:0" : "bias:0");
      return FALSE;
    }
  keras_kernel_shape (l, want);
  if (rank != 4 || memcmp (dims, want, sizeof want) != 0)
    {
      g_autofree char *got = shape_string (dims, rank);
      g_autofree char *exp = shape_string (want, 4);
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_SHAPE,
                   _("%s: layer %s has a kernel of shape %s, expected %s"), path, l->name, got, exp);
      return FALSE;
    }
  if (brank != 1 || bdims[0] != (hsize_t) l->out_ch)
    {
      g_autofree char *got = shape_string (bdims, brank);
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_SHAPE,
                   _("%s: layer %s has a bias of shape %s, expected (%d)"), path, l->name, got, l->out_ch);
      return FALSE;
    }
  k = g_new (float, (gsize) l->out_ch * l->in_ch * l->kh * l->kw);
  if (!h5_read_floats (base, kp, k) || !h5_read_floats (base, bp, l->bias))
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE,
                   _("%s: the weights of layer %s cannot be read"), path, l->name);
      return FALSE;
    }
  keras_to_oihw (l, k, l->weights);
  for (gsize i = 0; i < (gsize) l->out_ch * l->in_ch * l->kh * l->kw; i++)
    if (!isfinite (l->weights[i]))
      {
        g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_SHAPE,
                     _("%s: layer %s has non-finite weights"), path, l->name);
        return FALSE;
      }
  /* A NaN bias poisons every output of the layer just as a NaN kernel does. */
  for (int i = 0; i < l->out_ch; i++)
    if (!isfinite (l->bias[i]))
      {
        g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_SHAPE,
                     _("%s: layer %s has non-finite biases"), path, l->name);
        return FALSE;
      }
  return TRUE;
}

typedef struct {
  const BsUnet *net;
  char *unknown;
} UnknownLayerScan;

static herr_t
scan_layer (hid_t group, const char *name, const H5L_info_t *info, void *data)
{
  UnknownLayerScan *scan = data;
  g_autofree char *k = kernel_path (name, "kernel");

  if (scan->unknown || bs_unet_find_layer ((BsUnet *) scan->net, name))
    return 0;
  /* Weightless layers (pooling, concat, dropout, input) have empty groups. */
  if (bs_h5_link_exists (group, k))
    scan->unknown = g_strdup (name);
  return 0;
}

BsUnetH5Kind
bs_unet_h5_probe (const char *path)
{
  /* The stacks of the Intel tutorials' preprocessed HDF5 (bs-dataset.h). */
  static const char *const stacks[] = { "imgs_train", "imgs_validation", "imgs_testing" };
  BsUnetH5Kind kind = BS_UNET_H5_DAMAGED;
  BsH5Quiet quiet;
  hid_t file;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return BS_UNET_H5_NOT_HDF5;
  bs_h5_quiet_begin (&quiet);
  if (H5Fis_hdf5 (path) <= 0 && !bs_h5_file_has_signature (path))
    kind = BS_UNET_H5_NOT_HDF5;
  else if ((file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT)) >= 0)
    {
      kind = BS_UNET_H5_MODEL;
      for (gsize i = 0; i < G_N_ELEMENTS (stacks); i++)
        if (H5Lexists (file, stacks[i], H5P_DEFAULT) > 0)
          kind = BS_UNET_H5_DATASET;
      H5Fclose (file);
    }
  bs_h5_quiet_end (&quiet);
  return kind;
}

BsUnet *
bs_unet_load_h5 (const char *path, GError **error)
{
  return bs_unet_load_h5_with (path, NULL, NULL, error);
}

BsUnet *
bs_unet_load_h5_with (const char *path, BsUnetLoadExtra extra, gpointer user_data, GError **error)
{
  BsH5Quiet quiet;
  hid_t file = -1, base = -1;
  g_autoptr(BsUnet) net = NULL;
  g_autofree char *json = NULL;
  g_autofree char *description = NULL;
  BsUnetConfig config = { 0 };
  gboolean ok = FALSE;

  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE, _("%s: no such model file"), path);
      return NULL;
    }
  bs_h5_quiet_begin (&quiet);
  if (H5Fis_hdf5 (path) <= 0 && !bs_h5_file_has_signature (path))
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE, _("%s: not an HDF5 model file"), path);
      goto out;
    }
  /* A copy cut short was called no HDF5 file at all (hostile-input finding). */
  if ((file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE,
                   _("%s: an HDF5 file that is truncated or damaged (HDF5 cannot open it)"), path);
      goto out;
    }
  base = open_weights_group (file);
  if (base < 0)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE, _("%s: the weights group cannot be opened"), path);
      goto out;
    }
  json = h5_read_string_attr (file, "brainseg_config");
  if (json)
    {
      if (!config_from_json (path, json, &config, &description, error))
        goto out;
    }
  else if (!infer_config (path, base, &config, error))
    goto out;

  net = bs_unet_alloc_zeroed (&config);
  {
    UnknownLayerScan scan = { net, NULL };
    H5Literate (base, H5_INDEX_NAME, H5_ITER_INC, NULL, scan_layer, &scan);
    if (scan.unknown)
      {
        g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                     _("%s: layer %s is not part of the 2D U-Net (%s upsampling); the file is for another network"),
                     path, scan.unknown,
                     config.upsample == BS_UPSAMPLE_NEAREST ? "nearest" : "transposed-convolution");
        g_free (scan.unknown);
        goto out;
      }
  }
  for (int i = 0; i < net->n_layers; i++)
    if (!load_layer (path, base, &net->layers[i], error))
      goto out;
  net->path = g_strdup (path);
  if (!description)
    description = h5_read_string_attr (file, "brainseg_description");
  net->description = g_steal_pointer (&description);
  {
    g_autofree char *cal = h5_read_string_attr (file, "brainseg_calibration");

    if (cal && !bs_unet_calibration_from_json (path, cal, net, error))
      goto out;
  }
  ok = !extra || extra ((gint64) file, net, user_data, error);

out:
  bs_unet_config_clear (&config);
  if (base >= 0)
    H5Gclose (base);
  if (file >= 0)
    H5Fclose (file);
  bs_h5_quiet_end (&quiet);
  return ok ? g_steal_pointer (&net) : NULL;
}

/* ---- saving ---- */

static gboolean
h5_write_floats (hid_t loc, const char *name, int rank, const hsize_t *dims, const float *data)
{
  return bs_h5_write_dataset (loc, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, rank, dims, data);
}

static gboolean
save_layer (hid_t weights, const BsUnetLayer *l)
{
  hid_t outer, inner;
  hsize_t kdims[4], bdim = l->out_ch;
  g_autofree float *k = g_new (float, (gsize) l->out_ch * l->in_ch * l->kh * l->kw);
  g_autofree char *kn = g_strdup_printf ("%s/kernel:0", l->name);
  g_autofree char *bn = g_strdup_printf ("%s/bias:0", l->name);
  const char *names[2] = { kn, bn };
  gboolean ok;

  outer = H5Gcreate2 (weights, l->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (outer < 0)
    return FALSE;
  ok = h5_write_string_array_attr (outer, "weight_names", names, 2);
  inner = H5Gcreate2 (outer, l->name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (inner < 0)
    ok = FALSE;
  else
    {
      keras_kernel_shape (l, kdims);
      oihw_to_keras (l, l->weights, k);
      ok = ok && h5_write_floats (inner, "kernel:0", 4, kdims, k);
      ok = ok && h5_write_floats (inner, "bias:0", 1, &bdim, l->bias);
      H5Gclose (inner);
    }
  H5Gclose (outer);
  return ok;
}

gboolean
bs_unet_save_h5 (const BsUnet *net, const char *path, GError **error)
{
  return bs_unet_save_h5_with (net, path, NULL, NULL, error);
}

G_STATIC_ASSERT (sizeof (hid_t) == sizeof (gint64));

gboolean
bs_unet_save_h5_with (const BsUnet *net, const char *path, BsUnetSaveExtra extra, gpointer user_data,
                      GError **error)
{
  g_autoptr(GError) extra_error = NULL;
  BsH5Quiet quiet;
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmpl = g_strdup_printf (".%s.XXXXXX", base);
  g_autofree char *tmp = g_build_filename (dir, tmpl, NULL);
  g_autofree char *json = NULL;
  const char **names = NULL;
  hid_t file, weights;
  gboolean ok;
  int fd;

  if (!bs_file_check_replaceable (path, error))
    return FALSE;
  json = config_to_json (net);
  names = g_new0 (const char *, net->n_layers + 1);
  fd = g_mkstemp (tmp);
  if (fd < 0)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE, _("%s: cannot write here (%s)"), path,
                   g_strerror (errno));
      g_free (names);
      return FALSE;
    }
  close (fd);
  /* mkstemp creates 0600; a model file is meant to be shared. */
  g_chmod (tmp, 0644);

  bs_h5_quiet_begin (&quiet);
  file = H5Fcreate (tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ok = file >= 0;
  if (ok)
    {
      g_autofree char *cal = net->calibration ? bs_unet_calibration_to_json (net) : NULL;

      ok = h5_write_string_attr (file, "brainseg_config", json)
           && (cal == NULL || h5_write_string_attr (file, "brainseg_calibration", cal))
           && h5_write_string_attr (file, "backend", "tensorflow")
           && h5_write_string_attr (file, "keras_version", "2.9.0");
      weights = H5Gcreate2 (file, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      if (weights < 0)
        ok = FALSE;
      else
        {
          for (int i = 0; i < net->n_layers; i++)
            names[i] = net->layers[i].name;
          ok = ok && h5_write_string_array_attr (weights, "layer_names", names, net->n_layers);
          for (int i = 0; ok && i < net->n_layers; i++)
            ok = save_layer (weights, &net->layers[i]);
          H5Gclose (weights);
        }
      if (ok && extra && !extra ((gint64) file, user_data, &extra_error))
        ok = FALSE;
      if (H5Fclose (file) < 0)
        ok = FALSE;
    }
  bs_h5_quiet_end (&quiet);
  g_free (names);

  if (!ok)
    {
      g_unlink (tmp);
      if (extra_error)
        g_propagate_error (error, g_steal_pointer (&extra_error));
      else
        g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE, _("%s: writing the HDF5 weights failed"), path);
      return FALSE;
    }
  if (g_rename (tmp, path) != 0)
    {
      int err = errno;
      g_unlink (tmp);
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE, _("%s: cannot replace the file (%s)"), path,
                   g_strerror (err));
      return FALSE;
    }
  return TRUE;
}
