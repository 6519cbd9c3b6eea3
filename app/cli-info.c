/* brainseg-cli info PATH [--label FILE] [--json] */
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "bs-dataset.h"
#include "bs-error.h"
#include "bs-labels.h"
#include "bs-unet.h"
#include "cli.h"
#include "cli-json.h"

static void
add_case_json (JsonBuilder *b, const BsCase *c)
{
  const BsVolume *img = c->image;
  char code[4];

  bs_volume_orientation_code (img, code);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, c->id);
  json_builder_set_member_name (b, "dims");
  json_builder_begin_array (b);
  for (int a = 0; a < 3; a++)
    json_builder_add_int_value (b, img->dims[a]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "spacing");
  json_builder_begin_array (b);
  for (int a = 0; a < 3; a++)
    json_builder_add_double_value (b, img->spacing[a]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "affine");
  json_builder_begin_array (b);
  for (int r = 0; r < 4; r++)
    {
      json_builder_begin_array (b);
      for (int col = 0; col < 4; col++)
        json_builder_add_double_value (b, img->affine[r][col]);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "orientation");
  json_builder_add_string_value (b, code);
  json_builder_set_member_name (b, "channels");
  json_builder_begin_array (b);
  for (int ch = 0; ch < img->n_channels; ch++)
    json_builder_add_string_value (b, img->channel_names[ch]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "ranges");
  json_builder_begin_array (b);
  for (int ch = 0; ch < img->n_channels; ch++)
    {
      float lo, hi;
      bs_volume_value_range (img, ch, &lo, &hi);
      json_builder_begin_array (b);
      json_builder_add_double_value (b, lo);
      json_builder_add_double_value (b, hi);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "nonfinite");
  json_builder_add_int_value (b, (gint64) img->n_nonfinite);
  json_builder_set_member_name (b, "has_label");
  json_builder_add_boolean_value (b, c->label != NULL);
  json_builder_set_member_name (b, "label_convention");
  json_builder_add_string_value (b, bs_labels_convention_name (c->convention));
  json_builder_set_member_name (b, "labels");
  json_builder_begin_object (b);
  if (c->label)
    {
      g_autofree int *values = NULL;
      g_autofree guint64 *counts = NULL;
      int n = bs_labels_count (c->label, &values, &counts);
      for (int i = 0; i < n; i++)
        {
          g_autofree char *key = values[i] >= 0 ? g_strdup_printf ("%d", values[i]) : g_strdup ("other");
          json_builder_set_member_name (b, key);
          json_builder_add_int_value (b, (gint64) counts[i]);
        }
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
}

static void
print_case_text (const BsCase *c)
{
  const BsVolume *img = c->image;
  char code[4];

  bs_volume_orientation_code (img, code);
  printf ("%s\n", c->id);
  printf ("  %s %d x %d x %d\n", _("dimensions:"), img->dims[0], img->dims[1], img->dims[2]);
  printf ("  %s %g x %g x %g mm\n", _("spacing:"), img->spacing[0], img->spacing[1], img->spacing[2]);
  printf ("  %s %s\n", _("orientation:"), code);
  printf ("  %s\n", _("channels:"));
  for (int ch = 0; ch < img->n_channels; ch++)
    {
      float lo, hi;
      bs_volume_value_range (img, ch, &lo, &hi);
      printf ("    %-6s %s %g .. %g\n", img->channel_names[ch], _("range"), lo, hi);
    }
  if (img->n_nonfinite)
    printf ("  %s %" G_GSIZE_FORMAT "\n", _("non-finite voxels (shown as 0):"), img->n_nonfinite);
  if (c->label == NULL)
    {
      printf ("  %s %s\n", _("labels:"), _("none"));
      return;
    }
  g_autofree int *values = NULL;
  g_autofree guint64 *counts = NULL;
  int n = bs_labels_count (c->label, &values, &counts);
  printf ("  %s (%s)\n", _("labels:"), bs_labels_convention_name (c->convention));
  for (int i = 0; i < n; i++)
    {
      const char *name = values[i] >= 0 ? bs_labels_value_name (c->convention, values[i]) : NULL;
      if (values[i] >= 0)
        printf ("    %3d %-32s %" G_GUINT64_FORMAT "\n", values[i], name ? name : "", counts[i]);
      else
        printf ("    %3s %-32s %" G_GUINT64_FORMAT "\n", "?", _("non-integer values"), counts[i]);
    }
}

static gint64
count_parameters (const BsUnet *net)
{
  gint64 n = 0;

  for (int i = 0; i < net->n_layers; i++)
    {
      const BsUnetLayer *l = &net->layers[i];
      n += (gint64) l->out_ch * l->in_ch * l->kh * l->kw + l->out_ch;
    }
  return n;
}

static const char *
output_label (const char *name)
{
  for (int r = 0; r < BS_N_REGIONS; r++)
    if (g_str_equal (name, bs_region_name (r)))
      return bs_region_label (r);
  return name;
}

/* A weights file: what it takes, what it gives, how big it is. */
static int
describe_model (const BsUnet *net, gboolean json)
{
  const BsUnetConfig *cfg = &net->config;
  const char *up = cfg->upsample == BS_UPSAMPLE_TRANSPOSED ? "transposed" : "nearest";
  double gflop = bs_unet_flops (net, 240, 240) * 1e-9;

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, net->path);
      json_builder_set_member_name (b, "layout");
      json_builder_add_string_value (b, "model");
      json_builder_set_member_name (b, "fms");
      json_builder_add_int_value (b, cfg->fms);
      json_builder_set_member_name (b, "upsample");
      json_builder_add_string_value (b, up);
      json_builder_set_member_name (b, "inputs");
      json_builder_begin_array (b);
      for (int i = 0; i < cfg->in_channels; i++)
        json_builder_add_string_value (b, cfg->modalities && cfg->modalities[i] ? cfg->modalities[i] : "FLAIR");
      json_builder_end_array (b);
      json_builder_set_member_name (b, "context");
      json_builder_add_int_value (b, cfg->context);
      json_builder_set_member_name (b, "outputs");
      json_builder_begin_array (b);
      for (int k = 0; k < cfg->out_channels; k++)
        json_builder_add_string_value (b, cfg->outputs && cfg->outputs[k] ? cfg->outputs[k] : "wt");
      json_builder_end_array (b);
      json_builder_set_member_name (b, "normalisation");
      if (cfg->normalisation)
        json_builder_add_string_value (b, cfg->normalisation);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "crop");
      json_builder_add_int_value (b, cfg->crop);
      json_builder_set_member_name (b, "layers");
      json_builder_add_int_value (b, net->n_layers);
      json_builder_set_member_name (b, "parameters");
      json_builder_add_int_value (b, count_parameters (net));
      json_builder_set_member_name (b, "gflop_per_240_slice");
      json_builder_add_double_value (b, gflop);
      json_builder_set_member_name (b, "description");
      if (net->description)
        json_builder_add_string_value (b, net->description);
      else
        json_builder_add_null_value (b);
      /* cases the stored int8 calibration was measured on; null: int8 measures each case's */
      json_builder_set_member_name (b, "calibration_cases");
      if (net->calibration)
        json_builder_add_int_value (b, net->calibration_cases);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      bs_cli_print_json (b);
      return 0;
    }
  printf ("%s %s\n", _("model:"), net->path);
  printf ("  %s ", _("inputs:"));
  for (int i = 0; i < cfg->in_channels; i++)
    printf ("%s%s", i ? ", " : "", cfg->modalities && cfg->modalities[i] ? cfg->modalities[i] : "FLAIR");
  if (cfg->context > 0)
    /* TRANSLATORS: 2.5D input: the slice and %d neighbours on each side */
    printf (g_dngettext (GETTEXT_PACKAGE, ", of the slice and %d neighbour on each side",
                         ", of the slice and %d neighbours on each side", cfg->context),
            cfg->context);
  printf ("\n  %s ", _("outputs:"));
  for (int k = 0; k < cfg->out_channels; k++)
    printf ("%s%s", k ? ", " : "", output_label (cfg->outputs && cfg->outputs[k] ? cfg->outputs[k] : "wt"));
  printf ("\n");
  printf ("  %s ", _("topology:"));
  /* TRANSLATORS: the base feature maps; the upsampling (transposed-convolution or nearest-neighbour); the layers */
  printf (_("2D U-Net, %d base feature maps, %s upsampling, %d layers\n"), cfg->fms,
          cfg->upsample == BS_UPSAMPLE_TRANSPOSED ? _("transposed-convolution") : _("nearest-neighbour"),
          net->n_layers);
  printf ("  %s %" G_GINT64_FORMAT "\n", _("parameters:"), count_parameters (net));
  printf ("  %s %.2f GFLOP\n", _("work per 240x240 slice:"), gflop);
  if (cfg->crop > 0)
    printf ("  %s %d x %d\n", _("training crop:"), cfg->crop, cfg->crop);
  if (cfg->normalisation)
    printf ("  %s %s\n", _("normalisation:"), cfg->normalisation);
  printf ("  %s ", _("int8 calibration:"));
  if (net->calibration)
    printf (g_dngettext (GETTEXT_PACKAGE, "stored, the median of %d case\n", "stored, the median of %d cases\n",
                         net->calibration_cases),
            net->calibration_cases);
  else
    printf ("%s\n", _("none stored; int8 measures each case's ranges"));
  if (net->description)
    printf ("  %s %s\n", _("description:"), net->description);
  return 0;
}

int
bs_cli_info (int argc, char **argv)
{
  g_autofree char *label = NULL;
  gboolean json = FALSE;
  g_autoptr(GError) error = NULL;
  const GOptionEntry entries[] = {
    { "label", 'l', 0, G_OPTION_ARG_FILENAME, &label, N_("Label file for a single NIfTI image"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    { NULL },
  };

  if (!bs_cli_parse ("info", "PATH", _("Describe a volume, case folder, Decathlon task, HDF5 file or model weights file."), entries,
                     &argc, &argv))
    return 2;
  if (argc != 2)
    {
      fprintf (stderr, "brainseg-cli info: %s\n", _("expected exactly one PATH"));
      return 2;
    }

  /* A .h5 file holds a dataset (imgs_* stacks) or model weights.  Decide
   * which before loading, so that a broken model reports what is wrong with
   * it rather than that it holds no images, and a file that is not HDF5 at
   * all is not taken for a NIfTI image. */
  if (label == NULL && g_file_test (argv[1], G_FILE_TEST_IS_REGULAR)
      && (g_str_has_suffix (argv[1], ".h5") || g_str_has_suffix (argv[1], ".hdf5")))
    {
      BsUnetH5Kind kind = bs_unet_h5_probe (argv[1]);

      if (kind == BS_UNET_H5_NOT_HDF5)
        {
          g_set_error (&error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE, _("%s: not an HDF5 file"), argv[1]);
          return bs_cli_fail (error);
        }
      /* model or dataset, no one can tell: what is wrong is the file */
      if (kind == BS_UNET_H5_DAMAGED)
        {
          g_set_error (&error, BS_MODEL_ERROR, BS_MODEL_ERROR_FILE,
                       _("%s: an HDF5 file that is truncated or damaged (HDF5 cannot open it)"), argv[1]);
          return bs_cli_fail (error);
        }
      if (kind == BS_UNET_H5_MODEL)
        {
          g_autoptr(BsUnet) net = bs_unet_load_h5 (argv[1], &error);

          return net ? describe_model (net, json) : bs_cli_fail (error);
        }
    }

  g_autoptr(BsDataset) ds = bs_dataset_open (argv[1], label, &error);
  if (ds == NULL)
    return bs_cli_fail (error);
  /* info describes the files as they are */
  bs_dataset_set_resample (ds, FALSE);

  guint n = bs_dataset_get_n_cases (ds);
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, bs_dataset_get_path (ds));
  json_builder_set_member_name (b, "layout");
  json_builder_add_string_value (b, bs_dataset_kind_name (bs_dataset_get_kind (ds)));
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, bs_dataset_get_name (ds));
  json_builder_set_member_name (b, "cases");
  json_builder_begin_array (b);

  if (!json)
    {
      printf ("%s %s (%s)\n", _("layout:"), bs_dataset_kind_name (bs_dataset_get_kind (ds)), bs_dataset_get_name (ds));
      printf ("%s %u\n", _("cases:"), n);
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(BsCase) c = bs_dataset_load_case (ds, i, &error);
      if (c == NULL)
        return bs_cli_fail (error);
      if (json)
        add_case_json (b, c);
      else
        print_case_text (c);
      fflush (stdout);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);

  if (json)
    bs_cli_print_json (b);
  return 0;
}
