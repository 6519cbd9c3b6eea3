/* The U-Net's layers and their weights, in memory and in Keras-layout HDF5. */
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
#include "bs-random.h"
#include "bs-unet.h"

#define BS_UNET_TOPOLOGY "unet2d-intelai"
#define BS_UNET_DEFAULT_NORMALISATION "zscore-foreground"

/* ---- topology ---- */

typedef struct {
  const char *name;
  BsLayerKind kind;
  int in_mul, out_mul;  /* channels as multiples of fms; in_mul 0 = network input */
} BsLayerSpec;

/* in_mul of the layer after a concat counts both halves. */
static const BsLayerSpec transposed_specs[] = {
  { "encodeAa", BS_LAYER_CONV3X3_RELU, 0, 1 },
  { "encodeAb", BS_LAYER_CONV3X3_RELU, 1, 1 },
  { "encodeBa", BS_LAYER_CONV3X3_RELU, 1, 2 },
  { "encodeBb", BS_LAYER_CONV3X3_RELU, 2, 2 },
  { "encodeCa", BS_LAYER_CONV3X3_RELU, 2, 4 },
  { "encodeCb", BS_LAYER_CONV3X3_RELU, 4, 4 },
  { "encodeDa", BS_LAYER_CONV3X3_RELU, 4, 8 },
  { "encodeDb", BS_LAYER_CONV3X3_RELU, 8, 8 },
  { "encodeEa", BS_LAYER_CONV3X3_RELU, 8, 16 },
  { "encodeEb", BS_LAYER_CONV3X3_RELU, 16, 16 },
  { "transconvE", BS_LAYER_TRANSCONV2X2, 16, 8 },
  { "decodeCa", BS_LAYER_CONV3X3_RELU, 16, 8 },
  { "decodeCb", BS_LAYER_CONV3X3_RELU, 8, 8 },
  { "transconvC", BS_LAYER_TRANSCONV2X2, 8, 4 },
  { "decodeBa", BS_LAYER_CONV3X3_RELU, 8, 4 },
  { "decodeBb", BS_LAYER_CONV3X3_RELU, 4, 4 },
  { "transconvB", BS_LAYER_TRANSCONV2X2, 4, 2 },
  { "decodeAa", BS_LAYER_CONV3X3_RELU, 4, 2 },
  { "decodeAb", BS_LAYER_CONV3X3_RELU, 2, 2 },
  { "transconvA", BS_LAYER_TRANSCONV2X2, 2, 1 },
  { "convOuta", BS_LAYER_CONV3X3_RELU, 2, 1 },
  { "convOutb", BS_LAYER_CONV3X3_RELU, 1, 1 },
  { "PredictionMask", BS_LAYER_CONV1X1_SIGMOID, 1, 0 },
};

/* Nearest upsampling keeps all channels of the coarser level, so the concat
 * after it is wider than with a transposed convolution. */
static const BsLayerSpec nearest_specs[] = {
  { "encodeAa", BS_LAYER_CONV3X3_RELU, 0, 1 },
  { "encodeAb", BS_LAYER_CONV3X3_RELU, 1, 1 },
  { "encodeBa", BS_LAYER_CONV3X3_RELU, 1, 2 },
  { "encodeBb", BS_LAYER_CONV3X3_RELU, 2, 2 },
  { "encodeCa", BS_LAYER_CONV3X3_RELU, 2, 4 },
  { "encodeCb", BS_LAYER_CONV3X3_RELU, 4, 4 },
  { "encodeDa", BS_LAYER_CONV3X3_RELU, 4, 8 },
  { "encodeDb", BS_LAYER_CONV3X3_RELU, 8, 8 },
  { "encodeEa", BS_LAYER_CONV3X3_RELU, 8, 16 },
  { "encodeEb", BS_LAYER_CONV3X3_RELU, 16, 16 },
  { "decodeCa", BS_LAYER_CONV3X3_RELU, 24, 8 },
  { "decodeCb", BS_LAYER_CONV3X3_RELU, 8, 8 },
  { "decodeBa", BS_LAYER_CONV3X3_RELU, 12, 4 },
  { "decodeBb", BS_LAYER_CONV3X3_RELU, 4, 4 },
  { "decodeAa", BS_LAYER_CONV3X3_RELU, 6, 2 },
  { "decodeAb", BS_LAYER_CONV3X3_RELU, 2, 2 },
  { "convOuta", BS_LAYER_CONV3X3_RELU, 3, 1 },
  { "convOutb", BS_LAYER_CONV3X3_RELU, 1, 1 },
  { "PredictionMask", BS_LAYER_CONV1X1_SIGMOID, 1, 0 },
};

static const BsLayerSpec *
layer_specs (BsUpsample up, int *n)
{
  if (up == BS_UPSAMPLE_NEAREST)
    {
      *n = G_N_ELEMENTS (nearest_specs);
      return nearest_specs;
    }
  *n = G_N_ELEMENTS (transposed_specs);
  return transposed_specs;
}

void
bs_unet_config_clear (BsUnetConfig *config)
{
  g_clear_pointer (&config->modalities, g_strfreev);
  g_clear_pointer (&config->normalisation, g_free);
  g_clear_pointer (&config->outputs, g_strfreev);
}

void
bs_unet_config_copy (BsUnetConfig *dst, const BsUnetConfig *src)
{
  *dst = *src;
  dst->modalities = g_strdupv (src->modalities);
  dst->normalisation = g_strdup (src->normalisation);
  dst->outputs = g_strdupv (src->outputs);
}

/* Fills in what a caller may leave out: one FLAIR channel, default normalisation. */
static void
config_complete (BsUnetConfig *c)
{
  if (c->fms < 1)
    c->fms = 16;
  if (c->in_channels < 1)
    c->in_channels = c->modalities ? (int) g_strv_length (c->modalities) : 1;
  if (!c->modalities || (int) g_strv_length (c->modalities) != c->in_channels)
    {
      static const char *const defaults[] = { "FLAIR", "T1w", "T1gd", "T2w" };
      g_strfreev (c->modalities);
      c->modalities = g_new0 (char *, c->in_channels + 1);
      for (int i = 0; i < c->in_channels; i++)
        c->modalities[i] = i < 4 ? g_strdup (defaults[i]) : g_strdup_printf ("channel%d", i);
    }
  if (!c->normalisation)
    c->normalisation = g_strdup (BS_UNET_DEFAULT_NORMALISATION);
  if (c->out_channels < 1)
    c->out_channels = c->outputs ? (int) g_strv_length (c->outputs) : 1;
  if (!c->outputs || (int) g_strv_length (c->outputs) != c->out_channels)
    {
      static const char *const regions[] = { "wt", "tc", "et" };
      g_strfreev (c->outputs);
      c->outputs = g_new0 (char *, c->out_channels + 1);
      for (int i = 0; i < c->out_channels; i++)
        c->outputs[i] = i < 3 ? g_strdup (regions[i]) : g_strdup_printf ("output%d", i);
    }
}

/* A network with the layers of config and zeroed weights. */
static BsUnet *
unet_alloc (const BsUnetConfig *config)
{
  BsUnet *net = g_new0 (BsUnet, 1);
  int n;
  const BsLayerSpec *specs;

  bs_unet_config_copy (&net->config, config);
  config_complete (&net->config);
  specs = layer_specs (net->config.upsample, &n);
  net->n_layers = n;
  net->layers = g_new0 (BsUnetLayer, n);
  for (int i = 0; i < n; i++)
    {
      BsUnetLayer *l = &net->layers[i];
      int fms = net->config.fms;

      g_strlcpy (l->name, specs[i].name, sizeof l->name);
      l->kind = specs[i].kind;
      l->in_ch = specs[i].in_mul ? specs[i].in_mul * fms : bs_unet_input_channels (&net->config);
      l->out_ch = specs[i].out_mul ? specs[i].out_mul * fms : net->config.out_channels;
      l->kh = l->kw = l->kind == BS_LAYER_CONV3X3_RELU ? 3 : l->kind == BS_LAYER_TRANSCONV2X2 ? 2 : 1;
      l->weights = g_new0 (float, (gsize) l->out_ch * l->in_ch * l->kh * l->kw);
      l->bias = g_new0 (float, l->out_ch);
    }
  return net;
}

void
bs_unet_free (BsUnet *net)
{
  if (!net)
    return;
  for (int i = 0; i < net->n_layers; i++)
    {
      g_free (net->layers[i].weights);
      g_free (net->layers[i].bias);
    }
  g_free (net->layers);
  bs_unet_config_clear (&net->config);
  g_free (net->path);
  g_free (net->description);
  g_free (net);
}

BsUnet *
bs_unet_new_random (const BsUnetConfig *config, guint64 seed)
{
  BsUnet *net = unet_alloc (config);
  guint64 state = seed;

  for (int i = 0; i < net->n_layers; i++)
    {
      BsUnetLayer *l = &net->layers[i];
      /* He-uniform (as the IntelAI model initialises): limit sqrt(6 / fan_in). */
      int fan_in = l->in_ch * l->kh * l->kw;
      double limit = sqrt (6.0 / fan_in);
      gsize n = (gsize) l->out_ch * l->in_ch * l->kh * l->kw;

      for (gsize k = 0; k < n; k++)
        {
          double u = bs_random_unit (bs_splitmix64 (&state));
          l->weights[k] = (float) ((2.0 * u - 1.0) * limit);
        }
    }
  return net;
}

void
bs_unet_copy_weights (BsUnet *dst, const BsUnet *src)
{
  g_return_if_fail (dst->n_layers == src->n_layers);
  for (int i = 0; i < src->n_layers; i++)
    {
      const BsUnetLayer *l = &src->layers[i];
      g_return_if_fail (dst->layers[i].out_ch == l->out_ch && dst->layers[i].in_ch == l->in_ch
                        && dst->layers[i].kh == l->kh && dst->layers[i].kw == l->kw);
      memcpy (dst->layers[i].weights, l->weights, sizeof (float) * l->out_ch * l->in_ch * l->kh * l->kw);
      memcpy (dst->layers[i].bias, l->bias, sizeof (float) * l->out_ch);
    }
}

void
bs_unet_mean_update (BsUnet *mean, const BsUnet *net, int count)
{
  float f = 1.0f / (float) count;

  g_return_if_fail (count >= 1 && mean->n_layers == net->n_layers);
  for (int i = 0; i < net->n_layers; i++)
    {
      const BsUnetLayer *l = &net->layers[i];
      BsUnetLayer *m = &mean->layers[i];
      gsize wn = (gsize) l->out_ch * l->in_ch * l->kh * l->kw;
      g_return_if_fail (m->out_ch == l->out_ch && m->in_ch == l->in_ch && m->kh == l->kh && m->kw == l->kw);
      for (gsize k = 0; k < wn; k++)
        m->weights[k] += (l->weights[k] - m->weights[k]) * f;
      for (int k = 0; k < l->out_ch; k++)
        m->bias[k] += (l->bias[k] - m->bias[k]) * f;
    }
}

BsUnet *
bs_unet_copy (const BsUnet *net)
{
  BsUnet *copy = unet_alloc (&net->config);

  bs_unet_copy_weights (copy, net);
  copy->path = g_strdup (net->path);
  copy->description = g_strdup (net->description);
  return copy;
}

BsUnet *
bs_unet_with_context (const BsUnet *net, int context)
{
  BsUnetConfig cfg;
  BsUnet *wide;
  int nmod = net->config.in_channels;
  int keep = nmod * (1 + 2 * MIN (context, net->config.context));

  bs_unet_config_copy (&cfg, &net->config);
  cfg.context = context;
  wide = unet_alloc (&cfg);
  bs_unet_config_clear (&cfg);
  for (int i = 0; i < net->n_layers; i++)
    {
      const BsUnetLayer *F = &net->layers[i];
      BsUnetLayer *L = &wide->layers[i];
      gsize k = (gsize) F->kh * F->kw;

      memcpy (L->bias, F->bias, (gsize) L->out_ch * sizeof (float));
      if (L->in_ch == F->in_ch)
        {
          memcpy (L->weights, F->weights, (gsize) L->out_ch * L->in_ch * k * sizeof (float));
          continue;
        }
      /* The first convolution: the slots (slice, slice - 1, slice + 1, ...)
       * both networks have keep their weights, the rest start at zero. */
      for (int o = 0; o < L->out_ch; o++)
        memcpy (L->weights + (gsize) o * L->in_ch * k, F->weights + (gsize) o * F->in_ch * k,
                (gsize) keep * k * sizeof (float));
    }
  wide->path = g_strdup (net->path);
  wide->description = g_strdup (net->description);
  return wide;
}

int
bs_unet_output_index (const BsUnet *net, const char *region)
{
  for (int i = 0; net->config.outputs && net->config.outputs[i]; i++)
    if (g_strcmp0 (net->config.outputs[i], region) == 0)
      return i;
  return -1;
}

gboolean
bs_unet_parse_outputs (const char *list, char ***outputs, GError **error)
{
  static const char *const known[] = { "wt", "tc", "et" };
  g_auto(GStrv) parts = g_strsplit (list ? list : "", ",", -1);
  int n = (int) g_strv_length (parts);

  if (n < 1 || n > 3)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                   _("\"%s\" should list one to three of the regions wt, tc, et"), list ? list : "");
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      gboolean ok = FALSE;
      g_strstrip (parts[i]);
      for (int k = 0; k < 3; k++)
        ok = ok || g_ascii_strcasecmp (parts[i], known[k]) == 0;
      if (!ok)
        {
          g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                       _("\"%s\" is not a region; the regions are wt (whole tumour), tc (tumour core) "
                         "and et (enhancing tumour)"), parts[i]);
          return FALSE;
        }
      for (char *c = parts[i]; *c; c++)
        *c = g_ascii_tolower (*c);
      for (int j = 0; j < i; j++)
        if (strcmp (parts[j], parts[i]) == 0)
          {
            g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                         _("the region %s is listed twice"), parts[i]);
            return FALSE;
          }
    }
  if (strcmp (parts[0], "wt") != 0)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                   _("the first output must be wt (whole tumour); got %s"), parts[0]);
      return FALSE;
    }
  *outputs = g_steal_pointer (&parts);
  return TRUE;
}

BsUnetLayer *
bs_unet_find_layer (BsUnet *net, const char *name)
{
  for (int i = 0; i < net->n_layers; i++)
    if (strcmp (net->layers[i].name, name) == 0)
      return &net->layers[i];
  return NULL;
}

double
bs_unet_flops (const BsUnet *net, int h, int w)
{
  /* Resolution halves after each encoder level ("b" layers of A..D) and
   * doubles at each upsampling; track it by layer name. */
  double flops = 0.0;
  int level = 0;

  for (int i = 0; i < net->n_layers; i++)
    {
      const BsUnetLayer *l = &net->layers[i];
      double hw;

      if (l->kind == BS_LAYER_TRANSCONV2X2)
        level--;
      else if (net->config.upsample == BS_UPSAMPLE_NEAREST && l->name[0] == 'd' && l->name[7] == 'a')
        level--;
      else if (net->config.upsample == BS_UPSAMPLE_NEAREST && strcmp (l->name, "convOuta") == 0)
        level--;
      hw = (double) (h >> level) * (w >> level);
      flops += 2.0 * hw * l->in_ch * l->out_ch * l->kh * l->kw / (l->kind == BS_LAYER_TRANSCONV2X2 ? 4 : 1);
      if (strncmp (l->name, "encode", 6) == 0 && l->name[7] == 'b' && l->name[6] != 'E')
        level++;
    }
  return flops;
}

/* ---- default model ---- */

char *
bs_unet_shipped_model_path (const char *file)
{
  g_autofree char *src = g_build_filename (BS_SOURCE_ROOT, "resources", "models", file, NULL);
  const char *const *dirs = g_get_system_data_dirs ();

  if (g_file_test (src, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&src);
  for (int i = 0; dirs[i]; i++)
    {
      g_autofree char *p = g_build_filename (dirs[i], "brainseg", "models", file, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&p);
    }
  return NULL;
}

char *
bs_unet_default_model_path (void)
{
  return bs_unet_shipped_model_path (BS_UNET_DEFAULT_MODEL);
}

BsUnet *
bs_unet_load_or_default (const char *path, gboolean *is_random, GError **error)
{
  g_autofree char *shipped = NULL;
  BsUnetConfig config = { .fms = 16, .in_channels = 1, .upsample = BS_UPSAMPLE_TRANSPOSED, .crop = 128 };

  if (is_random)
    *is_random = FALSE;
  if (path)
    return bs_unet_load_h5 (path, error);
  shipped = bs_unet_default_model_path ();
  if (shipped)
    return bs_unet_load_h5 (shipped, error);
  if (is_random)
    *is_random = TRUE;
  return bs_unet_new_random (&config, 2024);
}

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

/* ---- brainseg_config ---- */

static char *
config_to_json (const BsUnet *net)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

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
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
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
  if (H5Fis_hdf5 (path) <= 0)
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
  if (H5Fis_hdf5 (path) <= 0 || (file = H5Fopen (path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE, _("%s: not an HDF5 model file"), path);
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

  net = unet_alloc (&config);
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
      ok = h5_write_string_attr (file, "brainseg_config", json)
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
