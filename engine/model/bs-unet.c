/* The U-Net's layers and their weights in memory (bs-unet-h5.c reads and writes
 * them as Keras-layout HDF5). */
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "bs-error.h"
#include "bs-random.h"
#include "bs-unet.h"
#include "bs-unet-private.h"


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

BsUnet *
bs_unet_alloc_zeroed (const BsUnetConfig *config)
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
  g_free (net->calibration);
  g_free (net);
}

void
bs_unet_set_calibration (BsUnet *net, const float *values, int n_cases)
{
  g_clear_pointer (&net->calibration, g_free);
  net->calibration_cases = 0;
  if (values == NULL)
    return;
  net->calibration = g_memdup2 (values, (gsize) (1 + net->n_layers) * sizeof (float));
  net->calibration_cases = n_cases;
}

BsUnet *
bs_unet_new_random (const BsUnetConfig *config, guint64 seed)
{
  BsUnet *net = bs_unet_alloc_zeroed (config);
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
  BsUnet *copy = bs_unet_alloc_zeroed (&net->config);

  bs_unet_copy_weights (copy, net);
  copy->path = g_strdup (net->path);
  copy->description = g_strdup (net->description);
  bs_unet_set_calibration (copy, net->calibration, net->calibration_cases);
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
  wide = bs_unet_alloc_zeroed (&cfg);
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

