/* The real samples in $BS_SAMPLES_DIR: every file and every case folder
 * opens, and the Decathlon labels match the BraTS 2015 labels of the same
 * patients once both are shown in display orientation. */
#include <glib.h>
#include <string.h>

#include "bs-dataset.h"
#include "bs-labels.h"
#include "bs-nifti.h"

static const char *samples;

static gboolean
have_samples (void)
{
  if (samples && g_file_test (samples, G_FILE_TEST_IS_DIR))
    return TRUE;
  g_test_skip ("real samples absent: set BS_SAMPLES_DIR to shared/data/brats-samples");
  return FALSE;
}

static void
collect_nifti (const char *dir, GPtrArray *out)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        collect_nifti (p, out);
      else if (g_str_has_suffix (name, ".nii.gz") || g_str_has_suffix (name, ".nii"))
        g_ptr_array_add (out, g_steal_pointer (&p));
    }
}

static void
test_all_files_open (void)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

  if (!have_samples ())
    return;
  collect_nifti (samples, files);
  g_assert_cmpuint (files->len, >=, 30);
  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(BsVolume) vol = bs_volume_load_nifti (g_ptr_array_index (files, i), FALSE, &error);
      g_assert_no_error (error);
      /* All samples are 240x240x155 at 1 mm (README). */
      g_assert_cmpint (vol->dims[0], ==, 240);
      g_assert_cmpint (vol->dims[1], ==, 240);
      g_assert_cmpint (vol->dims[2], ==, 155);
      for (int a = 0; a < 3; a++)
        g_assert_cmpfloat_with_epsilon (vol->spacing[a], 1.0, 1e-3);
      g_assert_cmpuint (vol->n_nonfinite, ==, 0);
    }
}

typedef struct {
  const char *folder;
  int n_channels;
  gboolean has_label;
  BsLabelConvention convention;
} CaseExpect;

static void
test_case_folders (void)
{
  const CaseExpect cases[] = {
    { "tcga-du-7294", 4, TRUE, BS_LABELS_UNKNOWN },
    { "brats2023-gli-00001", 4, FALSE, BS_LABELS_BRATS2023 },
    { "decathlon-brats-001-006/brats_2013_pat0004_1", 2, TRUE, BS_LABELS_BRATS2015 },
  };

  if (!have_samples ())
    return;
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_build_filename (samples, cases[i].folder, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(BsDataset) ds = bs_dataset_open (path, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (bs_dataset_get_kind (ds), ==, BS_DATASET_BRATS_CASE);
      g_assert_cmpuint (bs_dataset_get_n_cases (ds), ==, 1);
      g_autoptr(BsCase) c = bs_dataset_load_case (ds, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpint (c->image->n_channels, ==, cases[i].n_channels);
      g_assert_cmpint (bs_volume_find_channel (c->image, "FLAIR"), ==, 0);
      g_assert_cmpint (bs_volume_find_channel (c->image, "T1gd"), >=, 1);
      g_assert_true ((c->label != NULL) == cases[i].has_label);
      g_assert_cmpint (c->convention, ==, cases[i].convention);
      /* Channels are distinct images, not one file read four times. */
      g_assert_true (memcmp (bs_volume_channel (c->image, 0), bs_volume_channel (c->image, 1),
                             bs_volume_n_voxels (c->image) * sizeof (float)) != 0);
    }
}

static void
test_collection (void)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  if (!have_samples ())
    return;
  path = g_build_filename (samples, "decathlon-brats-001-006", NULL);
  g_autoptr(BsDataset) ds = bs_dataset_open (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bs_dataset_get_kind (ds), ==, BS_DATASET_BRATS_COLLECTION);
  g_assert_cmpuint (bs_dataset_get_n_cases (ds), ==, 6);
  g_assert_cmpint (bs_dataset_find_case (ds, "brats_2013_pat0003_1"), ==, 2);
  for (guint i = 0; i < 6; i++)
    g_assert_true (bs_dataset_case_has_label (ds, i));
}

/* Decathlon remaps BraTS 2015 labels: 2 -> 1, 1 and 3 -> 2, 4 -> 3. */
static int
remap_2015 (int v)
{
  static const int map[5] = { 0, 2, 1, 2, 3 };
  return v >= 0 && v <= 4 ? map[v] : -1;
}

static void
compare_patient (int n, guint max_diff)
{
  g_autofree char *dec_path = g_strdup_printf ("%s/decathlon-labels-001-003/BRATS_%03d_label.nii.gz", samples, n);
  g_autofree char *ot_path =
    g_strdup_printf ("%s/decathlon-brats-001-006/brats_2013_pat%04d_1/OTMultiClass.nii.gz", samples, n);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsVolume) dec = bs_volume_load_nifti (dec_path, TRUE, &error);
  g_assert_no_error (error);
  g_autoptr(BsVolume) ot = bs_volume_load_nifti (ot_path, TRUE, &error);
  g_assert_no_error (error);
  g_autoptr(BsVolume) dec_wt = bs_labels_whole_tumour (dec);
  g_autoptr(BsVolume) ot_wt = bs_labels_whole_tumour (ot);

  /* Stored in opposite voxel orders (RAS vs LPS): only the display may agree. */
  char c1[4], c2[4];
  bs_volume_orientation_code (dec, c1);
  bs_volume_orientation_code (ot, c2);
  g_assert_cmpstr (c1, ==, "RAS");
  g_assert_cmpstr (c2, ==, "LPS");

  const BsPlane planes[3] = { BS_PLANE_AXIAL, BS_PLANE_CORONAL, BS_PLANE_SAGITTAL };
  for (int p = 0; p < 3; p++)
    {
      int w, h;
      guint diff = 0, sub_diff = 0;
      guint64 tumour = 0;
      bs_volume_slice_size (dec, planes[p], &w, &h);
      g_autofree float *a = g_new (float, w * h);
      g_autofree float *b = g_new (float, w * h);
      g_autofree float *ra = g_new (float, w * h);
      g_autofree float *rb = g_new (float, w * h);
      g_assert_cmpint (bs_volume_n_slices (dec, planes[p]), ==, bs_volume_n_slices (ot, planes[p]));
      for (int s = 0; s < bs_volume_n_slices (dec, planes[p]); s++)
        {
          bs_volume_get_slice (dec_wt, 0, planes[p], s, a);
          bs_volume_get_slice (ot_wt, 0, planes[p], s, b);
          bs_volume_get_slice (dec, 0, planes[p], s, ra);
          bs_volume_get_slice (ot, 0, planes[p], s, rb);
          for (int i = 0; i < w * h; i++)
            {
              diff += a[i] != b[i];
              tumour += a[i] > 0;
              sub_diff += (int) ra[i] != remap_2015 ((int) rb[i]);
            }
        }
      g_assert_cmpuint (tumour, >, 10000);
      g_assert_cmpuint (diff, <=, max_diff);
      g_assert_cmpuint (sub_diff, <=, max_diff);
    }
}

static void
test_decathlon_matches_brats2015 (void)
{
  if (!have_samples ())
    return;
  compare_patient (1, 0);
  compare_patient (2, 0);
  /* README: BRATS_003 agrees to within one voxel. */
  compare_patient (3, 1);
}

/* A Decathlon (RAS) label given for a BraTS 2015 (LPS) image lands on the
 * image's voxel grid. */
static void
test_label_reoriented_onto_image (void)
{
  if (!have_samples ())
    return;
  g_autofree char *flair =
    g_build_filename (samples, "decathlon-brats-001-006/brats_2013_pat0002_1/Flair_subtrMeanDivStd.nii.gz", NULL);
  g_autofree char *label = g_build_filename (samples, "decathlon-labels-001-003/BRATS_002_label.nii.gz", NULL);
  g_autofree char *ot = g_build_filename (samples, "decathlon-brats-001-006/brats_2013_pat0002_1/OTMultiClass.nii.gz", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsDataset) ds = bs_dataset_open (flair, label, &error);
  g_assert_no_error (error);
  g_autoptr(BsCase) c = bs_dataset_load_case (ds, 0, &error);
  g_assert_no_error (error);
  g_autoptr(BsVolume) ref = bs_volume_load_nifti (ot, TRUE, &error);
  g_assert_no_error (error);
  char code[4];
  bs_volume_orientation_code (c->label, code);
  g_assert_cmpstr (code, ==, "LPS");
  gsize n = bs_volume_n_voxels (ref), diff = 0;
  for (gsize i = 0; i < n; i++)
    diff += (c->label->data[i] > 0) != (ref->data[i] > 0);
  g_assert_cmpuint (diff, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  samples = g_getenv ("BS_SAMPLES_DIR");
  g_test_add_func ("/samples/all-files-open", test_all_files_open);
  g_test_add_func ("/samples/case-folders", test_case_folders);
  g_test_add_func ("/samples/collection", test_collection);
  g_test_add_func ("/samples/decathlon-matches-brats2015", test_decathlon_matches_brats2015);
  g_test_add_func ("/samples/label-reoriented-onto-image", test_label_reoriented_onto_image);
  return g_test_run ();
}
