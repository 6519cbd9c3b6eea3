#include <glib/gi18n.h>

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
