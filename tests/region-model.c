#include "region-model.h"

#include <string.h>

#include "bs-unet.h"

char *
bs_test_region_model (const char *dir, GError **error)
{
  g_autofree char *shipped = bs_unet_shipped_model_path (BS_UNET_WT_MODEL);
  g_autofree char *path = g_build_filename (dir, "regions.h5", NULL);
  g_autoptr(BsUnet) one = NULL, three = NULL;
  BsUnetConfig c;
  BsUnetLayer *h1, *h3;

  if (shipped == NULL)
    return NULL;
  one = bs_unet_load_h5 (shipped, error);
  if (one == NULL)
    return NULL;
  bs_unet_config_copy (&c, &one->config);
  c.out_channels = 3;
  g_clear_pointer (&c.outputs, g_strfreev);
  three = bs_unet_new_random (&c, 1);
  bs_unet_config_clear (&c);
  for (int i = 0; i < one->n_layers - 1; i++)
    {
      const BsUnetLayer *l = &one->layers[i];

      memcpy (three->layers[i].weights, l->weights, sizeof (float) * l->out_ch * l->in_ch * l->kh * l->kw);
      memcpy (three->layers[i].bias, l->bias, sizeof (float) * l->out_ch);
    }
  h1 = bs_unet_find_layer (one, "PredictionMask");
  h3 = bs_unet_find_layer (three, "PredictionMask");
  for (int o = 0; o < 3; o++)
    {
      memcpy (h3->weights + o * h1->in_ch, h1->weights, sizeof (float) * h1->in_ch);
      h3->bias[o] = h1->bias[0] - 1.5f * o;
    }
  if (!bs_unet_save_h5 (three, path, error))
    return NULL;
  return g_steal_pointer (&path);
}

char *
bs_test_context_model (const char *dir, GError **error)
{
  g_autofree char *shipped = bs_unet_shipped_model_path (BS_UNET_DEFAULT_MODEL);
  g_autofree char *path = g_build_filename (dir, "context.h5", NULL);
  g_autoptr(BsUnet) flat = NULL, wide = NULL;
  BsUnetLayer *first;
  int nmod;

  if (shipped == NULL)
    return NULL;
  flat = bs_unet_load_h5 (shipped, error);
  if (flat == NULL)
    return NULL;
  wide = bs_unet_with_context (flat, 1);
  first = bs_unet_find_layer (wide, "encodeAa");
  nmod = wide->config.in_channels;
  for (int o = 0; o < first->out_ch; o++)
    for (int k = 0; k < nmod * 9; k++)
      {
        float *w = first->weights + (gsize) o * first->in_ch * 9;
        w[nmod * 9 + k] = 0.3f * w[k];
        w[2 * nmod * 9 + k] = -0.2f * w[k];
      }
  if (!bs_unet_save_h5 (wide, path, error))
    return NULL;
  return g_steal_pointer (&path);
}
