#include <glib/gi18n.h>
#include <math.h>

#include "bs-application.h"
#include "bs-settings.h"

static GSettingsSchema *
lookup_in (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSettingsSchemaSource) source = NULL;
  g_autofree char *compiled = g_build_filename (dir, "gschemas.compiled", NULL);

  if (!g_file_test (compiled, G_FILE_TEST_IS_REGULAR))
    return NULL;
  source = g_settings_schema_source_new_from_directory (dir, NULL, FALSE, &error);
  if (source == NULL)
    return NULL;
  return g_settings_schema_source_lookup (source, BS_APPLICATION_ID, FALSE);
}

static GSettingsSchema *
find_schema (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  GSettingsSchema *schema = source ? g_settings_schema_source_lookup (source, BS_APPLICATION_ID, TRUE) : NULL;
  g_autofree char *exe = NULL;

  if (schema)
    return schema;
  if ((schema = lookup_in (BS_SCHEMA_BUILD_DIR)) || (schema = lookup_in (BS_SCHEMA_INSTALL_DIR)))
    return schema;
  /* A relocated install: the program in <prefix>/libexec/brainseg (or
   * <prefix>/bin, run without its launcher) beside <prefix>/share. */
  exe = g_file_read_link ("/proc/self/exe", NULL);
  if (exe)
    {
      g_autofree char *exedir = g_path_get_dirname (exe);
      g_autofree char *dir = g_build_filename (exedir, "..", "..", "share", "glib-2.0", "schemas", NULL);
      g_autofree char *dir_bin = g_build_filename (exedir, "..", "share", "glib-2.0", "schemas", NULL);

      if ((schema = lookup_in (dir)) == NULL)
        schema = lookup_in (dir_bin);
    }
  return schema;
}

GSettings *
bs_settings_new (void)
{
  static gsize once;
  static GSettingsSchema *schema;

  if (g_once_init_enter (&once))
    {
      schema = find_schema ();
      if (schema == NULL)
        g_printerr (_("Brainseg: settings schema %s not found; using default settings, nothing is remembered.\n"),
                    BS_APPLICATION_ID);
      g_once_init_leave (&once, 1);
    }
  return schema ? g_settings_new_full (schema, NULL, NULL) : NULL;
}

void
bs_settings_read_options (GSettings *settings, BsPlanOptions *opts, BsOverlayOptions *ov)
{
  g_autofree char *style = NULL, *precision = NULL, *layout = NULL, *calibration = NULL;
  BsPrecision p;
  BsMemLayout l;

  if (settings == NULL)
    return;
  ov->opacity = (float) g_settings_get_double (settings, "mask-opacity");
  style = g_settings_get_string (settings, "mask-style");
  ov->style = g_str_equal (style, "outline") ? BS_OVERLAY_OUTLINE : BS_OVERLAY_FILL;
  precision = g_settings_get_string (settings, "precision");
  if (bs_precision_from_string (precision, &p) && bs_precision_available (p, NULL))
    opts->precision = p;
  layout = g_settings_get_string (settings, "layout");
  if (bs_memlayout_from_string (layout, &l))
    opts->layout = l;
  opts->fusion = g_settings_get_boolean (settings, "fusion");
  opts->threads = g_settings_get_int (settings, "threads");
  opts->batch = MAX (1, g_settings_get_int (settings, "batch"));
  opts->slice_parallel = g_settings_get_boolean (settings, "lanes");
  opts->crop_to_brain = g_settings_get_boolean (settings, "crop-to-brain");
  opts->test_time_flips = g_settings_get_boolean (settings, "test-time-flips");
  opts->three_planes = g_settings_get_boolean (settings, "three-planes");
  calibration = g_settings_get_string (settings, "int8-calibration");
  opts->calibrate_case = g_str_equal (calibration, "case");
  opts->profile_layers = g_settings_get_boolean (settings, "profile-layers");
}

static void
write_string (GSettings *settings, const char *key, const char *value)
{
  g_autofree char *old = g_settings_get_string (settings, key);

  if (g_strcmp0 (old, value) != 0)
    g_settings_set_string (settings, key, value);
}

static void
write_boolean (GSettings *settings, const char *key, gboolean value)
{
  if (!g_settings_get_boolean (settings, key) != !value)
    g_settings_set_boolean (settings, key, value);
}

static void
write_int (GSettings *settings, const char *key, int value)
{
  if (g_settings_get_int (settings, key) != value)
    g_settings_set_int (settings, key, value);
}

void
bs_settings_write_plan_options (GSettings *settings, const BsPlanOptions *opts)
{
  if (settings == NULL)
    return;
  write_string (settings, "precision", bs_precision_name (opts->precision));
  write_string (settings, "layout", bs_memlayout_name (opts->layout));
  write_boolean (settings, "fusion", opts->fusion);
  write_int (settings, "threads", opts->threads);
  write_int (settings, "batch", opts->batch);
  write_boolean (settings, "lanes", opts->slice_parallel);
  write_boolean (settings, "crop-to-brain", opts->crop_to_brain);
  write_boolean (settings, "test-time-flips", opts->test_time_flips);
  write_boolean (settings, "three-planes", opts->three_planes);
  write_string (settings, "int8-calibration", opts->calibrate_case ? "case" : "model");
  write_boolean (settings, "profile-layers", opts->profile_layers);
}

void
bs_settings_write_overlay (GSettings *settings, const BsOverlayOptions *ov)
{
  if (settings == NULL)
    return;
  write_string (settings, "mask-style", ov->style == BS_OVERLAY_OUTLINE ? "outline" : "fill");
  if (fabs (g_settings_get_double (settings, "mask-opacity") - ov->opacity) > 1e-4)
    g_settings_set_double (settings, "mask-opacity", CLAMP (ov->opacity, 0.0, 1.0));
}
