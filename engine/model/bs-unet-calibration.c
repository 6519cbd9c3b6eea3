/* The int8 calibration stored with a model's weights, as the text of the
 * file's brainseg_calibration attribute (bs-unet-h5.c reads and writes the
 * attribute; BsUnet.calibration says what the values are). */
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>

#include "bs-error.h"
#include "bs-file.h"
#include "bs-unet-private.h"

char *
bs_unet_calibration_to_json (const BsUnet *net)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "statistic");
  json_builder_add_string_value (b, "median of the cases' maxima");
  json_builder_set_member_name (b, "cases");
  json_builder_add_int_value (b, net->calibration_cases);
  json_builder_set_member_name (b, "input_max");
  json_builder_add_double_value (b, net->calibration[0]);
  json_builder_set_member_name (b, "layer_max");
  json_builder_begin_array (b);
  for (int i = 0; i < net->n_layers; i++)
    json_builder_add_double_value (b, net->calibration[1 + i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  return bs_unet_json_text (b);
}

static gboolean
calibration_value (JsonNode *node, float *out)
{
  double v;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || (json_node_get_value_type (node) != G_TYPE_DOUBLE && json_node_get_value_type (node) != G_TYPE_INT64))
    return FALSE;
  v = json_node_get_value_type (node) == G_TYPE_DOUBLE ? json_node_get_double (node)
                                                       : (double) json_node_get_int (node);
  if (!isfinite (v) || v <= 0.0 || v > 1e30)
    return FALSE;
  *out = (float) v;
  return TRUE;
}

/* The stored int8 calibration into net; a damaged one fails naming the file
 * (a wrong range would quantise every layer wrongly, silently). */
gboolean
bs_unet_calibration_from_json (const char *path, const char *json, BsUnet *net, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree float *values = NULL;
  JsonObject *o;
  JsonArray *layers;
  JsonNode *cases;

  /* (nesting checked first, as for brainseg_config: json-glib recurses once per level) */
  if (bs_json_depth (json, -1) > BS_JSON_MAX_DEPTH)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE,
                   _("%s: malformed JSON: nested deeper than %d levels"), path, BS_JSON_MAX_DEPTH);
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, json, -1, NULL) || json_parser_get_root (parser) == NULL
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      /* TRANSLATORS: the file; brainseg_calibration is the name of an HDF5 attribute, not translated */
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE, _("%s: brainseg_calibration is not a JSON object"),
                   path);
      return FALSE;
    }
  o = json_node_get_object (json_parser_get_root (parser));
  layers = json_object_has_member (o, "layer_max") && JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "layer_max"))
             ? json_object_get_array_member (o, "layer_max") : NULL;
  if (layers == NULL || (int) json_array_get_length (layers) != net->n_layers)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_TOPOLOGY,
                   /* TRANSLATORS: the file; a count of ranges; the network's count of layers */
                   _("%s: brainseg_calibration holds %d layer ranges, but the network has %d layers; it was made for another network"),
                   path, layers ? (int) json_array_get_length (layers) : 0, net->n_layers);
      return FALSE;
    }
  values = g_new (float, 1 + net->n_layers);
  cases = json_object_get_member (o, "cases");
  if (!calibration_value (json_object_get_member (o, "input_max"), &values[0]) || cases == NULL
      || !JSON_NODE_HOLDS_VALUE (cases) || json_node_get_value_type (cases) != G_TYPE_INT64
      || json_node_get_int (cases) < 1 || json_node_get_int (cases) > G_MAXINT)
    {
      g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE,
                   _("%s: brainseg_calibration needs a positive input_max and a count of cases"), path);
      return FALSE;
    }
  for (int i = 0; i < net->n_layers; i++)
    if (!calibration_value (json_array_get_element (layers, i), &values[1 + i]))
      {
        g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE,
                     /* TRANSLATORS: the file; a layer's name */
                     _("%s: brainseg_calibration's range of layer %s is not a positive number"), path,
                     net->layers[i].name);
        return FALSE;
      }
  bs_unet_set_calibration (net, values, (int) json_node_get_int (cases));
  return TRUE;
}
