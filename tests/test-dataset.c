/* Every dataset layout, built in a temporary folder, and the errors for
 * broken ones. */
#include <glib.h>
#include <stdarg.h>
#include <glib/gstdio.h>
#include <hdf5.h>
#include <nifti2_io.h>
#include <string.h>

#include "bs-dataset.h"
#include "bs-error.h"
#include "bs-file.h"
#include "bs-nifti.h"
#include "test-util.h"

static char *tmpdir;

static char *
make_dir (const char *rel)
{
  char *p = g_build_filename (tmpdir, rel, NULL);
  g_assert_cmpint (g_mkdir_with_parents (p, 0755), ==, 0);
  return p;
}

/* A volume whose voxel i of channel c holds value (c + 1) * 1000 + tag + i % 7. */
static void
write_volume (const char *path, int nz, int channels, float tag, gboolean label)
{
  g_autoptr(BsVolume) vol = bs_volume_new (6, 5, nz, channels);
  g_autoptr(GError) error = NULL;
  gsize n = bs_volume_n_voxels (vol);

  for (int c = 0; c < channels; c++)
    for (gsize i = 0; i < n; i++)
      bs_volume_channel (vol, c)[i] = label ? (float) (i % 3 == 0 ? tag : 0) : (c + 1) * 1000 + tag + i % 7;
  g_assert_true (bs_volume_save_nifti (vol, path, label ? DT_UINT8 : DT_INT16, &error));
  g_assert_no_error (error);
}

static void
write_file (const char *folder, const char *name, const char *text)
{
  g_autofree char *p = g_build_filename (folder, name, NULL);
  g_assert_true (g_file_set_contents (p, text, -1, NULL));
}

static const char *decathlon_json =
  "{ \"name\": \"BRATS\", \"modality\": { \"0\": \"FLAIR\", \"1\": \"T1w\", \"2\": \"t1gd\", \"3\": \"T2w\" },"
  "  \"labels\": { \"0\": \"background\", \"1\": \"edema\", \"2\": \"non-enhancing tumor\", \"3\": \"enhancing tumour\" },"
  "  \"numTraining\": 2, \"numTest\": 1,"
  "  \"training\": [ { \"image\": \"./imagesTr/BRATS_001.nii.gz\", \"label\": \"./labelsTr/BRATS_001.nii.gz\" },"
  "                { \"image\": \"./imagesTr/BRATS_002.nii.gz\", \"label\": \"./labelsTr/BRATS_002.nii.gz\" } ],"
  "  \"test\": [ \"./imagesTs/BRATS_485.nii.gz\" ] }";

static char *
build_decathlon (const char *name, const char *json)
{
  char *root = make_dir (name);
  g_autofree char *tr_rel = g_build_filename (name, "imagesTr", NULL);
  g_autofree char *lb_rel = g_build_filename (name, "labelsTr", NULL);
  g_autofree char *ts_rel = g_build_filename (name, "imagesTs", NULL);
  g_autofree char *tr = make_dir (tr_rel);
  g_autofree char *lb = make_dir (lb_rel);
  g_autofree char *ts = make_dir (ts_rel);
  const char *ids[2] = { "BRATS_001", "BRATS_002" };

  for (int i = 0; i < 2; i++)
    {
      g_autofree char *f = g_strdup_printf ("%s/%s.nii.gz", tr, ids[i]);
      g_autofree char *l = g_strdup_printf ("%s/%s.nii.gz", lb, ids[i]);
      write_volume (f, 4, 4, (float) i, FALSE);
      write_volume (l, 4, 1, 3.0f, TRUE);
    }
  g_autofree char *t = g_strdup_printf ("%s/BRATS_485.nii.gz", ts);
  write_volume (t, 4, 4, 9.0f, FALSE);
  /* macOS resource forks ship in the real Task01 download. */
  write_file (tr, "._BRATS_001.nii.gz", "junk");
  write_file (root, "dataset.json", json);
  return root;
}

static void
test_decathlon (void)
{
  g_autofree char *root = build_decathlon ("Task01_BrainTumour", decathlon_json);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsDataset) ds = bs_dataset_open (root, NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpint (bs_dataset_get_kind (ds), ==, BS_DATASET_DECATHLON);
  g_assert_cmpstr (bs_dataset_get_name (ds), ==, "BRATS");
  g_assert_cmpuint (bs_dataset_get_n_cases (ds), ==, 3);
  g_assert_cmpstr (bs_dataset_get_case_id (ds, 1), ==, "BRATS_002");
  g_assert_cmpint (bs_dataset_find_case (ds, "BRATS_485"), ==, 2);
  g_assert_true (bs_dataset_case_has_label (ds, 0));
  g_assert_false (bs_dataset_case_has_label (ds, 2));

  g_autoptr(BsCase) c = bs_dataset_load_case (ds, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->image->n_channels, ==, 4);
  const char *want[] = { "FLAIR", "T1w", "T1gd", "T2w", NULL };
  g_assert_cmpstrv (c->image->channel_names, want);
  g_assert_cmpint (c->convention, ==, BS_LABELS_DECATHLON);
  g_assert_cmpfloat (bs_volume_channel (c->image, 2)[8], ==, 3000 + 1 + 8 % 7);
  g_assert_nonnull (c->label);
  g_assert_cmpfloat (c->label->data[3], ==, 3.0f);

  g_autoptr(BsCase) t = bs_dataset_load_case (ds, 2, &error);
  g_assert_no_error (error);
  g_assert_null (t->label);

  /* dataset.json itself opens the task too */
  g_autofree char *json = g_build_filename (root, "dataset.json", NULL);
  g_autoptr(BsDataset) ds2 = bs_dataset_open (json, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bs_dataset_get_n_cases (ds2), ==, 3);
}

typedef struct {
  const char *folder;
  const char *files[6]; /* 4 modalities in FLAIR, T1w, T1gd, T2w order, label, extra */
  BsLabelConvention convention;
} BratsLayout;

static const BratsLayout layouts[] = {
  { "BraTS2021_00000", { "BraTS2021_00000_flair.nii.gz", "BraTS2021_00000_t1.nii.gz", "BraTS2021_00000_t1ce.nii.gz",
                         "BraTS2021_00000_t2.nii.gz", "BraTS2021_00000_seg.nii.gz", NULL },
    BS_LABELS_BRATS2017 },
  { "BraTS-GLI-00002-000", { "BraTS-GLI-00002-000-t2f.nii.gz", "BraTS-GLI-00002-000-t1n.nii.gz",
                             "BraTS-GLI-00002-000-t1c.nii.gz", "BraTS-GLI-00002-000-t2w.nii.gz",
                             "BraTS-GLI-00002-000-seg.nii.gz", NULL },
    BS_LABELS_BRATS2023 },
  { "TCGA-XX-0001", { "TCGA-XX-0001_fla_bet.nii", "TCGA-XX-0001_t1_bet.nii.gz", "TCGA-XX-0001_t1c_bet.nii.gz",
                      "TCGA-XX-0001_t2_bet.nii.gz", "fusion_simple_seg.nii.gz", NULL },
    BS_LABELS_BRATS2017 /* no release convention: guessed from the values 0 and 4 */ },
  { "brats_2013_pat0009_1", { "Flair_subtrMeanDivStd.nii.gz", "T1_x.nii.gz", "T1c_subtrMeanDivStd.nii.gz",
                              "T2_x.nii.gz", "OTMultiClass.nii.gz", "brainmask.nii.gz" },
    BS_LABELS_BRATS2015 },
};

static char *
build_brats (const char *parent, const BratsLayout *l)
{
  g_autofree char *rel = parent ? g_build_filename (parent, l->folder, NULL) : g_strdup (l->folder);
  char *dir = make_dir (rel);
  for (int m = 0; m < 6; m++)
    if (l->files[m])
      {
        g_autofree char *f = g_build_filename (dir, l->files[m], NULL);
        /* the label's tag: a class of its release's convention */
        write_volume (f, 4, 1, m == 4 && l->convention == BS_LABELS_BRATS2023 ? 3.0f : (float) m, m >= 4);
      }
  return dir;
}

static void
test_brats_cases (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (layouts); i++)
    {
      g_autofree char *dir = build_brats ("single", &layouts[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(BsDataset) ds = bs_dataset_open (dir, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (bs_dataset_get_kind (ds), ==, BS_DATASET_BRATS_CASE);
      g_assert_cmpstr (bs_dataset_get_case_id (ds, 0), ==, layouts[i].folder);
      g_autoptr(BsCase) c = bs_dataset_load_case (ds, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpint (c->image->n_channels, ==, 4);
      const char *want[] = { "FLAIR", "T1w", "T1gd", "T2w", NULL };
      g_assert_cmpstrv (c->image->channel_names, want);
      /* channel c came from file c: its tag is c */
      for (int ch = 0; ch < 4; ch++)
        g_assert_cmpfloat (bs_volume_channel (c->image, ch)[0], ==, 1000 + ch);
      g_assert_nonnull (c->label);
      /* the label file, not brainmask (tag 5) */
      g_assert_cmpfloat (c->label->data[0], ==, layouts[i].convention == BS_LABELS_BRATS2023 ? 3.0f : 4.0f);
      g_assert_cmpint (c->convention, ==, layouts[i].convention);

      /* Issue 14, finding 8: opening any one file of the case (a modality or
       * the segmentation) opens the whole case, with every modality. */
      for (int m = 0; m < 5; m++)
        {
          g_autofree char *file = g_build_filename (dir, layouts[i].files[m], NULL);
          g_autoptr(BsDataset) one = bs_dataset_open (file, NULL, &error);
          g_autoptr(BsCase) oc = NULL;

          g_assert_no_error (error);
          g_assert_cmpint (bs_dataset_get_kind (one), ==, BS_DATASET_BRATS_CASE);
          oc = bs_dataset_load_case (one, 0, &error);
          g_assert_no_error (error);
          g_assert_cmpint (oc->image->n_channels, ==, 4);
          g_assert_nonnull (oc->label);
        }
    }
}

/* Loading case i of ds fails as invalid input, the message holding each of
 * the needles given (NULL-terminated). */
static void
expect_load_error (BsDataset *ds, guint i, ...)
{
  g_autoptr(GError) e = NULL;
  g_autoptr(BsCase) c = bs_dataset_load_case (ds, i, &e);
  va_list ap;

  g_assert_null (c);
  g_assert_error (e, BS_IO_ERROR, BS_IO_ERROR_INVALID);
  va_start (ap, i);
  for (const char *needle = va_arg (ap, const char *); needle != NULL; needle = va_arg (ap, const char *))
    g_assert_nonnull (strstr (e->message, needle));
  va_end (ap);
}

/* Labels whose values the release the file names suggest does not have (a
 * 7 in a BraTS 2017-named seg, or BraTS 2024's label 4 under 2023's names)
 * open with an unknown convention, whole tumour only; a value that is no
 * whole number is refused by name. */
static void
test_brats_other_labels (void)
{
  g_autofree char *dir = build_brats ("other-labels", &layouts[0]);
  g_autofree char *seg = g_build_filename (dir, layouts[0].files[4], NULL);
  g_autoptr(GError) error = NULL;

  for (int bad = 0; bad < 2; bad++)
    {
      g_autoptr(BsVolume) lab = bs_volume_load_nifti (seg, TRUE, &error);
      g_autoptr(BsDataset) ds = NULL;
      g_autoptr(BsCase) c = NULL;

      g_assert_no_error (error);
      lab->data[1] = bad ? 0.5f : 7.0f;
      g_assert_true (bs_volume_save_nifti (lab, seg, DT_FLOAT32, &error));
      ds = bs_dataset_open (dir, NULL, &error);
      g_assert_no_error (error);
      if (bad)
        {
          expect_load_error (ds, 0, seg, "0.5", NULL);
          continue;
        }
      c = bs_dataset_load_case (ds, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpint (c->convention, ==, BS_LABELS_UNKNOWN);
    }
}

/* Issue 14, finding 17: a case folder renamed by the user ("holdout") is
 * still listed by the id its files carry; BraTS 2015's prefix-named files
 * carry none, so that case keeps its folder's name. */
static void
test_case_id_from_files (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (layouts); i++)
    {
      BratsLayout renamed = layouts[i];
      g_autofree char *parent = g_strdup_printf ("renamed-%zu", i);
      g_autofree char *dir = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(BsDataset) ds = NULL;

      renamed.folder = "holdout";
      dir = build_brats (parent, &renamed);
      ds = bs_dataset_open (dir, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (bs_dataset_get_case_id (ds, 0), ==, i == 3 ? "holdout" : layouts[i].folder);
    }
}

static void
test_collection (void)
{
  g_autofree char *root = make_dir ("collection");
  for (gsize i = 0; i < G_N_ELEMENTS (layouts); i++)
    g_free (build_brats (i < 2 ? "collection" : "collection/LGG", &layouts[i]));
  g_autoptr(GError) error = NULL;
  g_autoptr(BsDataset) ds = bs_dataset_open (root, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bs_dataset_get_kind (ds), ==, BS_DATASET_BRATS_COLLECTION);
  g_assert_cmpuint (bs_dataset_get_n_cases (ds), ==, G_N_ELEMENTS (layouts));
  g_assert_cmpint (bs_dataset_find_case (ds, "TCGA-XX-0001"), >=, 0);

  /* a separate label file makes no sense for several cases */
  g_autofree char *lab = g_build_filename (tmpdir, "single", layouts[0].folder, layouts[0].files[4], NULL);
  g_autoptr(BsDataset) bad = bs_dataset_open (root, lab, &error);
  g_assert_null (bad);
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
}

static void
test_nifti_file (void)
{
  g_autofree char *dir = make_dir ("file");
  g_autofree char *img = g_build_filename (dir, "scan.nii.gz", NULL);
  g_autofree char *lab = g_build_filename (dir, "scan-label.nii.gz", NULL);
  g_autofree char *short_lab = g_build_filename (dir, "short-label.nii.gz", NULL);
  g_autoptr(GError) error = NULL;

  write_volume (img, 4, 4, 0, FALSE);
  write_volume (lab, 4, 1, 1, TRUE);
  write_volume (short_lab, 3, 1, 1, TRUE);

  g_autoptr(BsDataset) ds = bs_dataset_open (img, lab, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bs_dataset_get_kind (ds), ==, BS_DATASET_NIFTI_FILE);
  g_assert_cmpstr (bs_dataset_get_case_id (ds, 0), ==, "scan");
  g_autoptr(BsCase) c = bs_dataset_load_case (ds, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->convention, ==, BS_LABELS_BINARY);
  g_assert_cmpstr (c->image->channel_names[3], ==, "T2w");

  /* label dims != image dims: an error naming both files */
  g_autoptr(BsDataset) ds2 = bs_dataset_open (img, short_lab, &error);
  g_assert_no_error (error);
  g_autoptr(BsCase) c2 = bs_dataset_load_case (ds2, 0, &error);
  g_assert_null (c2);
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, img));
  g_assert_nonnull (strstr (error->message, short_lab));
  g_clear_error (&error);

  /* The same size and voxel order, but elsewhere (moved 50 mm) or on 2 mm
   * voxels: scored as if it fitted before (helper finding); now an error
   * naming both files. */
  for (int kind = 0; kind < 2; kind++)
    {
      g_autofree char *moved = g_build_filename (dir, kind == 0 ? "moved-label.nii.gz" : "coarse-label.nii.gz", NULL);
      g_autoptr(BsVolume) v = bs_volume_load_nifti (lab, TRUE, &error);
      g_autoptr(BsDataset) ds3 = NULL;

      g_assert_no_error (error);
      if (kind == 0)
        v->affine[0][3] += 50.0;
      else
        for (int a = 0; a < 3; a++)
          {
            v->affine[a][a] *= 2.0;
            v->spacing[a] *= 2.0;
          }
      g_assert_true (bs_volume_save_nifti (v, moved, DT_UINT8, &error));
      ds3 = bs_dataset_open (img, moved, &error);
      g_assert_no_error (error);
      expect_load_error (ds3, 0, img, moved, "does not lie on the grid", NULL);
    }
}

static void
write_h5 (const char *path, const char *name, int rank, const hsize_t *dims, float base)
{
  hid_t f = g_file_test (path, G_FILE_TEST_EXISTS) ? H5Fopen (path, H5F_ACC_RDWR, H5P_DEFAULT)
                                                    : H5Fcreate (path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t space = H5Screate_simple (rank, dims, NULL);
  hid_t ds = H5Dcreate2 (f, name, H5T_NATIVE_FLOAT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hsize_t n = 1;
  for (int r = 0; r < rank; r++)
    n *= dims[r];
  g_autofree float *v = g_new (float, n);
  for (hsize_t i = 0; i < n; i++)
    v[i] = base + (float) i;
  g_assert_cmpint (H5Dwrite (ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v), >=, 0);
  H5Dclose (ds);
  H5Sclose (space);
  H5Fclose (f);
}

static void
test_hdf5 (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "tutorial.h5", NULL);
  const hsize_t img[4] = { 3, 4, 5, 2 }, msk[4] = { 3, 4, 5, 1 };
  g_autoptr(GError) error = NULL;

  write_h5 (path, "imgs_train", 4, img, 0);
  write_h5 (path, "msks_train", 4, msk, 0);
  write_h5 (path, "imgs_testing", 4, img, 0.5f);
  g_autoptr(BsDataset) ds = bs_dataset_open (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (bs_dataset_get_kind (ds), ==, BS_DATASET_HDF5);
  g_assert_cmpuint (bs_dataset_get_n_cases (ds), ==, 2);
  g_assert_true (bs_dataset_case_has_label (ds, 0));
  g_assert_false (bs_dataset_case_has_label (ds, 1));
  g_autoptr(BsCase) c = bs_dataset_load_case (ds, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->image->dims[0], ==, 5); /* W */
  g_assert_cmpint (c->image->dims[1], ==, 4); /* H */
  g_assert_cmpint (c->image->dims[2], ==, 3); /* N */
  g_assert_cmpint (c->image->n_channels, ==, 2);
  /* [n][h][w][c] = ((n*4 + h)*5 + w)*2 + c */
  for (int n = 0; n < 3; n++)
    for (int h = 0; h < 4; h++)
      for (int w = 0; w < 5; w++)
        for (int ch = 0; ch < 2; ch++)
          g_assert_cmpfloat (bs_volume_channel (c->image, ch)[(n * 4 + h) * 5 + w], ==,
                             (float) (((n * 4 + h) * 5 + w) * 2 + ch));
  /* the axial view shows each stored slice as stored */
  float slice[20];
  bs_volume_get_slice (c->image, 1, BS_PLANE_AXIAL, 2, slice);
  for (int h = 0; h < 4; h++)
    for (int w = 0; w < 5; w++)
      g_assert_cmpfloat (slice[h * 5 + w], ==, (float) (((2 * 4 + h) * 5 + w) * 2 + 1));
  g_assert_cmpfloat (c->label->data[7], ==, 7.0f);

  /* wrong rank */
  g_autofree char *bad = g_build_filename (tmpdir, "rank.h5", NULL);
  const hsize_t flat[2] = { 3, 4 };
  write_h5 (bad, "imgs_validation", 2, flat, 0);
  g_autoptr(BsDataset) ds2 = bs_dataset_open (bad, NULL, &error);
  g_assert_null (ds2);
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, bad));
  g_assert_nonnull (strstr (error->message, "rank"));
  g_clear_error (&error);

  /* no expected datasets */
  g_autofree char *other = g_build_filename (tmpdir, "other.h5", NULL);
  write_h5 (other, "weights", 2, flat, 0);
  g_autoptr(BsDataset) ds3 = bs_dataset_open (other, NULL, &error);
  g_assert_null (ds3);
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "imgs_train"));
  g_clear_error (&error);

  /* cut short: said to be truncated or damaged (it was "not a readable HDF5 file") */
  {
    g_autofree char *cut = g_build_filename (tmpdir, "cut.h5", NULL);
    g_autofree char *bytes = NULL;
    gsize len = 0;
    g_autoptr(BsDataset) ds4 = NULL;

    g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
    g_assert_true (g_file_set_contents (cut, bytes, (gssize) (len / 2), NULL));
    ds4 = bs_dataset_open (cut, NULL, &error);
    g_assert_null (ds4);
    g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_CORRUPT);
    g_assert_nonnull (strstr (error->message, cut));
    g_assert_nonnull (strstr (error->message, "truncated or damaged"));
    g_clear_error (&error);
  }
}

static herr_t
count_h5_errors (hid_t stack, void *data)
{
  (*(int *) data)++;
  return 0;
}

/* Reading a bad HDF5 file silences HDF5's error printing only while it reads:
 * the handler installed before (here a counter) is back afterwards. */
static void
test_hdf5_quiet_scoped (void)
{
  g_autofree char *bad = g_build_filename (tmpdir, "rank-quiet.h5", NULL);
  const hsize_t flat[2] = { 3, 4 };
  g_autoptr(GError) error = NULL;
  H5E_auto2_t saved_func, func;
  void *saved_data, *data;
  int errors = 0;

  write_h5 (bad, "imgs_validation", 2, flat, 0);
  H5Eget_auto2 (H5E_DEFAULT, &saved_func, &saved_data);
  H5Eset_auto2 (H5E_DEFAULT, count_h5_errors, &errors);

  g_autoptr(BsDataset) ds = bs_dataset_open (bad, NULL, &error);
  g_assert_null (ds);
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
  g_clear_error (&error);
  g_autofree char *missing = g_build_filename (tmpdir, "no-such.h5", NULL);
  g_assert_null (bs_dataset_open (missing, NULL, &error));
  g_assert_nonnull (error);

  H5Eget_auto2 (H5E_DEFAULT, &func, &data);
  g_assert_true (func == count_h5_errors);
  g_assert_true (data == &errors);
  g_assert_cmpint (errors, ==, 0);  /* nothing reached the handler while Brainseg read */
  /* and the restored handler still sees errors outside Brainseg's reads */
  H5Fopen (missing, H5F_ACC_RDONLY, H5P_DEFAULT);
  g_assert_cmpint (errors, >, 0);
  H5Eset_auto2 (H5E_DEFAULT, saved_func, saved_data);
}

static void
expect_open_error (const char *path, int code, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BsDataset) ds = bs_dataset_open (path, NULL, &error);
  g_assert_null (ds);
  g_assert_nonnull (error);
  if (g_test_verbose ())
    g_printerr ("%s\n", error->message);
  g_assert_true (error->domain == BS_IO_ERROR);
  g_assert_cmpint (error->code, ==, code);
  if (needle)
    g_assert_nonnull (strstr (error->message, needle));
}

static void
test_bad_datasets (void)
{
  g_autofree char *empty = make_dir ("empty");
  expect_open_error (empty, BS_IO_ERROR_NOT_FOUND, empty);

  g_autofree char *unrelated = make_dir ("unrelated");
  write_file (unrelated, "notes.txt", "hello");
  expect_open_error (unrelated, BS_IO_ERROR_UNSUPPORTED, unrelated);

  g_autofree char *missing = g_build_filename (tmpdir, "nothing-here", NULL);
  expect_open_error (missing, BS_IO_ERROR_NOT_FOUND, missing);

  /* malformed dataset.json */
  g_autofree char *malformed = build_decathlon ("malformed", "{ \"modality\": { \"0\": \"FLAIR\" , ");
  expect_open_error (malformed, BS_IO_ERROR_INVALID, "dataset.json");

  /* wrong types */
  g_autofree char *types = build_decathlon ("types", "{ \"modality\": [\"FLAIR\"], \"training\": [] }");
  expect_open_error (types, BS_IO_ERROR_INVALID, "modality");
  g_autofree char *entries = build_decathlon (
    "entries", "{ \"modality\": { \"0\": \"FLAIR\" }, \"training\": [ { \"label\": \"./labelsTr/x.nii.gz\" } ] }");
  expect_open_error (entries, BS_IO_ERROR_INVALID, "image");
  g_autofree char *escape = build_decathlon (
    "escape", "{ \"modality\": { \"0\": \"FLAIR\" }, \"training\": [ { \"image\": \"../../etc/passwd\" } ] }");
  expect_open_error (escape, BS_IO_ERROR_INVALID, "outside");

  /* fuzz findings: nesting deep enough to overflow json-glib's stack, and
   * one case listed twice */
  {
    GString *deep = g_string_new ("{ \"a\": ");
    g_autofree char *nested = NULL;

    for (int i = 0; i < 100000; i++)
      g_string_append_c (deep, '[');
    for (int i = 0; i < 100000; i++)
      g_string_append_c (deep, ']');
    g_string_append (deep, " }");
    nested = build_decathlon ("nested", deep->str);
    g_string_free (deep, TRUE);
    expect_open_error (nested, BS_IO_ERROR_INVALID, "nested deeper");
    /* brackets inside strings do not count */
    g_assert_cmpint (bs_json_depth ("{ \"a\": \"[[[[\\\"[[\", \"b\": [ { } ] }", -1), ==, 3);
  }
  g_autofree char *same_names = build_decathlon (
    "same-names", "{ \"modality\": { \"0\": \"FLAIR\", \"1\": \"flair\" }, \"training\": [ { \"image\": "
                  "\"./imagesTr/BRATS_001.nii.gz\" } ] }");
  expect_open_error (same_names, BS_IO_ERROR_INVALID, "both");
  g_autofree char *twice = build_decathlon (
    "twice", "{ \"modality\": { \"0\": \"FLAIR\" }, \"training\": [ { \"image\": \"./imagesTr/BRATS_001.nii.gz\" },"
             " { \"image\": \"./imagesTr/BRATS_001.nii.gz\" } ] }");
  expect_open_error (twice, BS_IO_ERROR_INVALID, "more than once");
  /* an entry naming a folder is said to be one, not a missing file */
  g_autofree char *folder_entry = build_decathlon (
    "folder-entry", "{ \"modality\": { \"0\": \"FLAIR\" }, \"training\": [ { \"image\": \"./imagesTr\" } ] }");
  expect_open_error (folder_entry, BS_IO_ERROR_INVALID, "not a regular file");
  /* hostile-input findings: an empty dataset.json is said to be empty, and a
   * modality Brainseg does not know is one of dataset.json, by name */
  g_autofree char *empty_json = build_decathlon ("empty-json", " \n\t ");
  expect_open_error (empty_json, BS_IO_ERROR_INVALID, "dataset.json: the file is empty");
  g_autofree char *zero_json = build_decathlon ("zero-json", "");
  expect_open_error (zero_json, BS_IO_ERROR_INVALID, "dataset.json: the file is empty");
  g_autofree char *unknown_mod = build_decathlon (
    "unknown-modality", "{ \"modality\": { \"0\": \"FLAIR\", \"1\": \"PD\" }, \"training\": [ { \"image\": "
                        "\"./imagesTr/BRATS_001.nii.gz\" } ] }");
  expect_open_error (unknown_mod, BS_IO_ERROR_INVALID, "dataset.json: \"modality\" names “PD” (channel 1)");
  /* aliases are no unknown modalities */
  {
    g_autofree char *aliases = build_decathlon (
      "alias-modalities", "{ \"modality\": { \"0\": \"t2f\", \"1\": \"T1\", \"2\": \"t1ce\", \"3\": \"T2\" },"
                          " \"training\": [ { \"image\": \"./imagesTr/BRATS_001.nii.gz\" } ] }");
    g_autoptr(GError) e = NULL;
    g_autoptr(BsDataset) d = bs_dataset_open (aliases, NULL, &e);

    g_assert_no_error (e);
    g_assert_cmpuint (bs_dataset_get_n_cases (d), ==, 1);
  }

  /* hostile-input finding: a sub-folder of a BraTS case named like one of
   * its files was passed over; it is reported, by path, as a folder, whether
   * the case, one of its files or a collection of cases is opened */
  {
    g_autofree char *dir = build_brats ("modality-folder", &layouts[0]);
    g_autofree char *flair = g_build_filename (dir, layouts[0].files[0], NULL);
    g_autofree char *t1 = g_build_filename (dir, layouts[0].files[1], NULL);
    g_autofree char *parent = g_build_filename (tmpdir, "modality-folder", NULL);
    g_autofree char *bare_dir = build_brats ("bare-folder", &layouts[1]);
    g_autofree char *bare_flair = g_build_filename (bare_dir, layouts[1].files[0], NULL);
    g_autofree char *bare = g_build_filename (bare_dir, "flair", NULL);
    g_autofree char *seg_dir = build_brats ("seg-folder", &layouts[0]);
    g_autofree char *seg = g_build_filename (seg_dir, layouts[0].files[4], NULL);
    g_autoptr(GError) e = NULL;
    g_autoptr(BsDataset) d = NULL;

    g_assert_cmpint (g_remove (flair), ==, 0);
    g_assert_cmpint (g_mkdir (flair, 0755), ==, 0);
    expect_open_error (dir, BS_IO_ERROR_INVALID, flair);
    expect_open_error (dir, BS_IO_ERROR_INVALID, "FLAIR file, but it is a folder, not a file");
    expect_open_error (t1, BS_IO_ERROR_INVALID, flair);
    expect_open_error (parent, BS_IO_ERROR_INVALID, flair);

    g_assert_cmpint (g_remove (bare_flair), ==, 0);
    g_assert_cmpint (g_mkdir (bare, 0755), ==, 0);
    expect_open_error (bare_dir, BS_IO_ERROR_INVALID, bare);

    g_assert_cmpint (g_remove (seg), ==, 0);
    g_assert_cmpint (g_mkdir (seg, 0755), ==, 0);
    expect_open_error (seg_dir, BS_IO_ERROR_INVALID, "label file, but it is a folder");

    /* a folder that only happens to carry a modality's word still opens */
    g_assert_cmpint (g_rmdir (bare), ==, 0);
    g_autofree char *other = g_build_filename (bare_dir, "native", NULL);
    g_assert_cmpint (g_mkdir (other, 0755), ==, 0);
    d = bs_dataset_open (bare_dir, NULL, &e);
    g_assert_no_error (e);
    g_assert_cmpint (bs_dataset_get_kind (d), ==, BS_DATASET_BRATS_CASE);
  }

  /* fuzz findings: NaN and negative label voxels, and an image of nothing
   * but NaN, are refused when the case loads, naming the file */
  {
    g_autofree char *odd = build_decathlon ("odd-values", decathlon_json);
    g_autofree char *lab1 = g_build_filename (odd, "labelsTr", "BRATS_001.nii.gz", NULL);
    g_autofree char *lab2 = g_build_filename (odd, "labelsTr", "BRATS_002.nii.gz", NULL);
    g_autofree char *img2 = g_build_filename (odd, "imagesTr", "BRATS_002.nii.gz", NULL);
    g_autoptr(BsVolume) lab = bs_volume_new (6, 5, 4, 1);
    g_autoptr(BsVolume) img = bs_volume_new (6, 5, 4, 4);
    g_autoptr(BsDataset) d = NULL;
    g_autoptr(GError) e = NULL;
    BsCase *bad;

    lab->data[7] = NAN;
    lab->data[8] = 1.0f;
    g_assert_true (bs_volume_save_nifti (lab, lab1, DT_FLOAT32, NULL));
    lab->data[7] = -2.0f;
    g_assert_true (bs_volume_save_nifti (lab, lab2, DT_FLOAT32, NULL));
    d = bs_dataset_open (odd, NULL, &e);
    g_assert_no_error (e);
    bad = bs_dataset_load_case (d, 0, &e);
    g_assert_null (bad);
    g_assert_error (e, BS_IO_ERROR, BS_IO_ERROR_INVALID);
    g_assert_nonnull (strstr (e->message, lab1));
    g_assert_nonnull (strstr (e->message, "NaN"));
    g_clear_error (&e);
    bad = bs_dataset_load_case (d, 1, &e);
    g_assert_null (bad);
    g_assert_nonnull (strstr (e->message, lab2));
    g_assert_nonnull (strstr (e->message, "negative"));
    g_clear_error (&e);
    for (gsize i = 0; i < bs_volume_n_voxels (img) * 4; i++)
      img->data[i] = NAN;
    g_assert_true (bs_volume_save_nifti (img, img2, DT_FLOAT32, NULL));
    bad = bs_dataset_load_case (d, 1, &e);
    g_assert_null (bad);
    g_assert_nonnull (strstr (e->message, img2));
    g_assert_nonnull (strstr (e->message, "NaN"));
  }

  /* dataset.json naming missing files */
  g_autofree char *gone = build_decathlon (
    "gone", "{ \"modality\": { \"0\": \"FLAIR\" }, \"training\": [ { \"image\": \"./imagesTr/BRATS_001.nii.gz\","
            " \"label\": \"./labelsTr/BRATS_404.nii.gz\" } ], \"test\": [ \"./imagesTs/BRATS_999.nii.gz\" ] }");
  expect_open_error (gone, BS_IO_ERROR_NOT_FOUND, "BRATS_404");

  /* channel count differs from "modality" */
  g_autofree char *chans = build_decathlon (
    "chans", "{ \"modality\": { \"0\": \"FLAIR\", \"1\": \"T1w\" }, \"training\": [ { \"image\": "
             "\"./imagesTr/BRATS_001.nii.gz\" } ] }");
  g_autoptr(GError) error = NULL;
  g_autoptr(BsDataset) ds = bs_dataset_open (chans, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(BsCase) c = bs_dataset_load_case (ds, 0, &error);
  g_assert_null (c);
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "BRATS_001"));
}


/* A label that cannot be used: bs_dataset_load_case refuses the case naming
 * the label file; bs_dataset_load_case_full gives the case without a label
 * and the label's error apart (the window opens the scan). */
static void
test_damaged_label_apart (void)
{
  g_autofree char *dir = build_brats ("damaged", &layouts[0]);
  g_autofree char *seg = g_build_filename (dir, layouts[0].files[4], NULL);
  g_autofree gchar *bytes = NULL;
  g_autoptr(GError) error = NULL, label_error = NULL;
  g_autoptr(BsDataset) ds = NULL;
  g_autoptr(BsCase) strict = NULL, lenient = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (seg, &bytes, &len, &error));
  g_assert_true (g_file_set_contents (seg, bytes, (gssize) (len - 20), &error));
  ds = bs_dataset_open (dir, NULL, &error);
  g_assert_no_error (error);
  strict = bs_dataset_load_case (ds, 0, &error);
  g_assert_null (strict);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, layouts[0].files[4]));
  lenient = bs_dataset_load_case_full (ds, 0, &label_error, NULL);
  g_assert_nonnull (lenient);
  g_assert_nonnull (lenient->image);
  g_assert_null (lenient->label);
  g_assert_nonnull (label_error);
  g_assert_cmpstr (label_error->message, ==, error->message);
}

/* A clinical scan's fine pixels (0.5 x 0.5 x 4 mm): the case loads resampled
 * to 1 mm pixels, image and label alike, as the model learned; a mask made
 * like it is saved back on the file's grid (same size, same affine, the
 * label's own blocks); with resampling off the case is the file's. */
static void
test_fine_voxels_resampled (void)
{
  g_autofree char *dir = make_dir ("fine");
  g_autofree char *img = g_build_filename (dir, "fine.nii.gz", NULL);
  g_autofree char *lab = g_build_filename (dir, "fine-label.nii.gz", NULL);
  g_autofree char *out = g_build_filename (dir, "mask.nii.gz", NULL);
  g_autoptr(BsVolume) image = bs_volume_new (64, 48, 5, 1);
  g_autoptr(BsVolume) label = NULL, written = NULL, mask = NULL;
  g_autoptr(BsDataset) ds = NULL, kept = NULL;
  g_autoptr(BsCase) c = NULL, same = NULL;
  g_autoptr(GError) error = NULL;

  image->spacing[0] = image->spacing[1] = 0.5;
  image->spacing[2] = 4.0;
  image->affine[0][0] = image->affine[1][1] = 0.5;
  image->affine[2][2] = 4.0;
  for (gsize v = 0; v < bs_volume_n_voxels (image); v++)
    image->data[v] = (float) (v % 64);
  label = bs_volume_new_like (image, 1);
  label->is_label = TRUE;
  /* a tumour of 2 x 2 pixel blocks, as a 1 mm label drawn on 0.5 mm pixels */
  for (int k = 1; k < 4; k++)
    for (int j = 10; j < 30; j++)
      for (int i = 20; i < 44; i++)
        label->data[((gsize) k * 48 + j) * 64 + i] = (float) (1 + ((i / 2 + j / 2) % 2));
  g_assert_true (bs_volume_save_nifti (image, img, DT_INT16, &error));
  g_assert_true (bs_volume_save_nifti (label, lab, DT_UINT8, &error));
  g_assert_no_error (error);

  ds = bs_dataset_open (img, lab, &error);
  g_assert_no_error (error);
  c = bs_dataset_load_case (ds, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->image->dims[0], ==, 32);
  g_assert_cmpint (c->image->dims[1], ==, 24);
  g_assert_cmpint (c->image->dims[2], ==, 5);
  g_assert_cmpfloat_with_epsilon (c->image->spacing[0], 1.0, 1e-6);
  g_assert_true (bs_volume_same_geometry (c->label, c->image));
  g_assert_true (bs_volume_has_source (c->image));
  g_assert_true (bs_volume_has_source (c->label));

  /* the label, saved from the resampled case, is the file's label */
  mask = bs_volume_new_like (c->image, 1);
  mask->is_label = TRUE;
  memcpy (mask->data, c->label->data, bs_volume_n_voxels (mask) * sizeof (float));
  g_assert_true (bs_volume_save_nifti (mask, out, DT_UINT8, &error));
  g_assert_no_error (error);
  written = bs_volume_load_nifti (out, TRUE, &error);
  g_assert_no_error (error);
  g_assert_true (bs_volume_same_geometry (written, label));
  g_assert_cmpmem (written->data, bs_volume_n_voxels (label) * sizeof (float), label->data,
                   bs_volume_n_voxels (label) * sizeof (float));

  /* that mask opened back onto the case (the window's "Open Mask", score):
   * on the resampled grid, the case's label voxel for voxel, the convention
   * the case's when its values fit (here 1 and 2 only: 0/1 they are not) */
  {
    BsLabelConvention conv = BS_LABELS_UNKNOWN;
    g_autoptr(BsVolume) back = bs_dataset_load_case_mask (ds, 0, out, BS_LABELS_BRATS2017, BS_LABELS_UNKNOWN, &conv, &error);

    g_assert_no_error (error);
    g_assert_true (bs_volume_same_geometry (back, c->image));
    g_assert_cmpmem (back->data, bs_volume_n_voxels (back) * sizeof (float), c->label->data,
                     bs_volume_n_voxels (back) * sizeof (float));
    g_assert_cmpint (conv, ==, BS_LABELS_BRATS2017);
    /* the same size moved 10 mm: another grid, an error naming the file */
    {
      g_autofree char *moved = g_build_filename (dir, "moved.nii.gz", NULL);

      label->affine[0][3] += 10.0;
      g_assert_true (bs_volume_save_nifti (label, moved, DT_UINT8, &error));
      label->affine[0][3] -= 10.0;
      g_assert_null (bs_dataset_load_case_mask (ds, 0, moved, BS_LABELS_BRATS2017, BS_LABELS_UNKNOWN, &conv, &error));
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, "moved.nii.gz"));
      g_clear_error (&error);
    }
  }

  kept = bs_dataset_open (img, lab, &error);
  bs_dataset_set_resample (kept, FALSE);
  same = bs_dataset_load_case (kept, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (same->image->dims[0], ==, 64);
  g_assert_false (bs_volume_has_source (same->image));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp ("bs-test-dataset-XXXXXX", NULL);
  g_test_add_func ("/dataset/decathlon", test_decathlon);
  g_test_add_func ("/dataset/brats-cases", test_brats_cases);
  g_test_add_func ("/dataset/brats-other-labels", test_brats_other_labels);
  g_test_add_func ("/dataset/case-id-from-files", test_case_id_from_files);
  g_test_add_func ("/dataset/collection", test_collection);
  g_test_add_func ("/dataset/nifti-file", test_nifti_file);
  g_test_add_func ("/dataset/hdf5", test_hdf5);
  g_test_add_func ("/dataset/hdf5-quiet-scoped", test_hdf5_quiet_scoped);
  g_test_add_func ("/dataset/bad", test_bad_datasets);
  g_test_add_func ("/dataset/damaged-label-apart", test_damaged_label_apart);
  g_test_add_func ("/dataset/fine-voxels-resampled", test_fine_voxels_resampled);
  int rc = g_test_run ();
  bs_test_remove_tree (tmpdir);
  g_free (tmpdir);
  return rc;
}
