/* JSON output shared by the brainseg-cli subcommands that take --json. */
#pragma once

#include <json-glib/json-glib.h>
#include <stdio.h>

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
  printf ("%s\n", text);
}
