/* The application finds its settings schema without GSETTINGS_SCHEMA_DIR, as
 * when build/app/brainseg is started straight from the build tree. */
#include <gio/gio.h>

#include "bs-settings.h"

static void
test_schema_from_build_tree (void)
{
  g_autoptr(GSettings) settings = bs_settings_new ();
  g_autoptr(GSettingsSchema) schema = NULL;

  g_assert_nonnull (settings);
  g_object_get (settings, "settings-schema", &schema, NULL);
  g_assert_true (g_settings_schema_has_key (schema, "batch"));
  g_assert_cmpint (g_settings_get_int (settings, "batch"), ==, 1);
  g_settings_set_int (settings, "batch", 7);
  g_assert_cmpint (g_settings_get_int (settings, "batch"), ==, 7);
}

int
main (int argc, char **argv)
{
  /* Before anything reads GSettings' default source. */
  g_unsetenv ("GSETTINGS_SCHEMA_DIR");
  g_unsetenv ("XDG_DATA_DIRS");
  g_setenv ("XDG_DATA_HOME", "/nonexistent", TRUE);
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/settings/schema-from-build-tree", test_schema_from_build_tree);
  return g_test_run ();
}
