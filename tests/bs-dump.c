/* Test helper: opens PATH as a dataset and writes each case's voxels as raw
 * float32 (the BsVolume layout) for the python cross-checks, plus one JSON
 * line per case on stdout.  Usage: bs-dump PATH OUTDIR [LABEL] */
#include <json-glib/json-glib.h>
#include <stdio.h>

#include "bs-dataset.h"

static gboolean
dump (const BsVolume *vol, const char *dir, guint i, const char *what)
{
  g_autofree char *name = g_strdup_printf ("case%u.%s.f32", i, what);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  gsize bytes = (gsize) vol->n_channels * bs_volume_n_voxels (vol) * sizeof (float);
  return g_file_set_contents (path, (const char *) vol->data, (gssize) bytes, NULL);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;

  if (argc < 3)
    {
      fprintf (stderr, "usage: bs-dump PATH OUTDIR [LABEL]\n");
      return 2;
    }
  g_autoptr(BsDataset) ds = bs_dataset_open (argv[1], argc > 3 ? argv[3] : NULL, &error);
  if (ds == NULL)
    {
      fprintf (stderr, "bs-dump: %s\n", error->message);
      return 1;
    }
  for (guint i = 0; i < bs_dataset_get_n_cases (ds); i++)
    {
      g_autoptr(BsCase) c = bs_dataset_load_case (ds, i, &error);
      if (c == NULL)
        {
          fprintf (stderr, "bs-dump: %s\n", error->message);
          return 1;
        }
      if (!dump (c->image, argv[2], i, "image") || (c->label && !dump (c->label, argv[2], i, "label")))
        return 1;
      g_autoptr(JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, c->id);
      json_builder_set_member_name (b, "dims");
      json_builder_begin_array (b);
      for (int a = 0; a < 3; a++)
        json_builder_add_int_value (b, c->image->dims[a]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "n_channels");
      json_builder_add_int_value (b, c->image->n_channels);
      json_builder_set_member_name (b, "nonfinite");
      json_builder_add_int_value (b, (gint64) c->image->n_nonfinite);
      json_builder_set_member_name (b, "has_label");
      json_builder_add_boolean_value (b, c->label != NULL);
      json_builder_set_member_name (b, "affine");
      json_builder_begin_array (b);
      for (int r = 0; r < 4; r++)
        for (int col = 0; col < 4; col++)
          json_builder_add_double_value (b, c->image->affine[r][col]);
      json_builder_end_array (b);
      json_builder_end_object (b);
      g_autoptr(JsonGenerator) gen = json_generator_new ();
      g_autoptr(JsonNode) root = json_builder_get_root (b);
      json_generator_set_root (gen, root);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  return 0;
}
