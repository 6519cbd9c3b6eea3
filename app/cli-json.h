/* JSON output shared by the brainseg-cli subcommands that take --json. */
#pragma once

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>

#include "bs-metrics.h"
#include "bs-preprocess.h"
#include "bs-unet.h"

/* Prints what b built, indented, and a newline on stdout. */
static inline void
bs_cli_print_json (JsonBuilder *b)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = NULL;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  /* A file or folder name need not be UTF-8; JSON must be (fuzz finding: a
   * raw 0xff byte came out).  Such bytes read as U+FFFD. */
  if (!g_utf8_validate (text, -1, NULL))
    {
      char *valid = g_utf8_make_valid (text, -1);

      g_free (text);
      text = valid;
    }
  printf ("%s\n", text);
}

/* name: v, or null where v is NaN (a metric that is undefined or unknown). */
static inline void
bs_cli_json_add_double_or_null (JsonBuilder *b, const char *name, double v)
{
  json_builder_set_member_name (b, name);
  if (isnan (v))
    json_builder_add_null_value (b);
  else
    json_builder_add_double_value (b, v);
}

/* A region's metrics, the members of infer's and score's "regions": "dice",
 * "hd95", "sensitivity", "specificity", "volume_ml", "true_volume_ml" (null
 * where NaN). */
static inline void
bs_cli_json_add_region_metrics (JsonBuilder *b, const BsRegionMetrics *m)
{
  bs_cli_json_add_double_or_null (b, "dice", m->dice);
  bs_cli_json_add_double_or_null (b, "hd95", m->hd95_mm);
  bs_cli_json_add_double_or_null (b, "sensitivity", m->sensitivity);
  bs_cli_json_add_double_or_null (b, "specificity", m->specificity);
  bs_cli_json_add_double_or_null (b, "volume_ml", m->volume_ml);
  bs_cli_json_add_double_or_null (b, "true_volume_ml", m->true_volume_ml);
}

/* The "model" (path, or null for random weights) and "random_weights" members
 * that infer and bench both report, so scripts read them the same way. */
static inline void
bs_cli_json_add_model (JsonBuilder *b, const BsUnet *net, gboolean is_random)
{
  json_builder_set_member_name (b, "model");
  if (net->path)
    json_builder_add_string_value (b, net->path);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "random_weights");
  json_builder_add_boolean_value (b, is_random);
  /* neighbouring slices on each side the model reads (2.5D), 0 for one slice */
  json_builder_set_member_name (b, "context");
  json_builder_add_int_value (b, net->config.context);
}

/* The model's input modalities the image has, in the model's order (the
 * others went in as zeros, see bs_preprocess_prepare). */
static inline char **
bs_cli_channels_present (const BsUnet *net, const BsVolume *image)
{
  GPtrArray *names = g_ptr_array_new ();

  for (int i = 0; i < net->config.in_channels; i++)
    {
      const char *m = net->config.modalities && net->config.modalities[i] ? net->config.modalities[i] : "FLAIR";
      if (bs_preprocess_find_modality (image, m, net->config.in_channels) >= 0)
        g_ptr_array_add (names, g_strdup (m));
    }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

/* "channels_present": bs_cli_channels_present's list. */
static inline void
bs_cli_json_add_channels_present (JsonBuilder *b, char **present)
{
  json_builder_set_member_name (b, "channels_present");
  json_builder_begin_array (b);
  for (char **m = present; *m; m++)
    json_builder_add_string_value (b, *m);
  json_builder_end_array (b);
}
