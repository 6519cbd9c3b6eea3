/* The synthetic phantom: determinism, label structure, modality contrasts,
 * the task folder it writes, and brainseg-cli phantom's argument checks. */
#include <glib.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bs-dataset.h"
#include "bs-error.h"
#include "bs-parallel.h"
#include "bs-phantom.h"
#include "bs-preprocess.h"

typedef struct {
  BsVolume *image, *label, *tissue;
} Case;

static void
case_generate (Case *c, guint64 seed, guint index, int nx, int ny, int nz)
{
  g_autoptr(GError) error = NULL;

  memset (c, 0, sizeof *c);
  g_assert_true (bs_phantom_generate_with_tissue (seed, index, nx, ny, nz, &c->image, &c->label, &c->tissue, &error));
  g_assert_no_error (error);
}

static void
case_clear (Case *c)
{
  g_clear_pointer (&c->image, bs_volume_free);
  g_clear_pointer (&c->label, bs_volume_free);
  g_clear_pointer (&c->tissue, bs_volume_free);
}

static gboolean
volumes_equal (const BsVolume *a, const BsVolume *b)
{
  gsize n = bs_volume_n_voxels (a) * a->n_channels;
  return a->n_channels == b->n_channels && memcmp (a->dims, b->dims, sizeof a->dims) == 0 &&
         memcmp (a->data, b->data, n * sizeof (float)) == 0;
}

static double
fraction_differing (const BsVolume *a, const BsVolume *b)
{
  gsize n = bs_volume_n_voxels (a) * a->n_channels, diff = 0;
  for (gsize i = 0; i < n; i++)
    diff += a->data[i] != b->data[i];
  return (double) diff / n;
}

static void
test_deterministic (void)
{
  Case a, b, c, d;

  case_generate (&a, 42, 0, 64, 72, 48);
  case_generate (&b, 42, 0, 64, 72, 48);
  case_generate (&c, 43, 0, 64, 72, 48);
  case_generate (&d, 42, 1, 64, 72, 48);

  g_assert_true (volumes_equal (a.image, b.image));
  g_assert_true (volumes_equal (a.label, b.label));
  g_assert_true (volumes_equal (a.tissue, b.tissue));

  /* the voxels do not depend on how many threads made them */
  {
    Case one;
    int saved = bs_parallel_get_max_threads ();
    bs_parallel_set_max_threads (1);
    case_generate (&one, 42, 0, 64, 72, 48);
    bs_parallel_set_max_threads (saved);
    g_assert_true (volumes_equal (a.image, one.image));
    g_assert_true (volumes_equal (a.label, one.label));
    case_clear (&one);
  }
  /* another seed or another case is another head and tumour, not a copy */
  g_assert_cmpfloat (fraction_differing (a.image, c.image), >, 0.05);
  g_assert_cmpfloat (fraction_differing (a.label, c.label), >, 0.0005);
  g_assert_cmpfloat (fraction_differing (a.image, d.image), >, 0.05);
  g_assert_cmpfloat (fraction_differing (a.label, d.label), >, 0.0005);

  case_clear (&a);
  case_clear (&b);
  case_clear (&c);
  case_clear (&d);
}

static void
test_geometry (void)
{
  Case c;
  const char *names[] = { "FLAIR", "T1w", "T1gd", "T2w" };
  char code[4];

  case_generate (&c, 7, 0, 70, 66, 50);
  g_assert_cmpint (c.image->dims[0], ==, 70);
  g_assert_cmpint (c.image->dims[1], ==, 66);
  g_assert_cmpint (c.image->dims[2], ==, 50);
  g_assert_cmpint (c.image->n_channels, ==, 4);
  for (int ch = 0; ch < 4; ch++)
    g_assert_cmpstr (c.image->channel_names[ch], ==, names[ch]);
  g_assert_null (c.image->channel_names[4]);
  g_assert_true (c.label->is_label);
  g_assert_cmpint (c.label->n_channels, ==, 1);
  g_assert_true (bs_volume_same_geometry (c.image, c.label));
  bs_volume_orientation_code (c.image, code);
  g_assert_cmpstr (code, ==, "RAS");
  for (int a = 0; a < 3; a++)
    g_assert_cmpfloat (c.image->spacing[a], ==, 1.0);
  case_clear (&c);
}

static const int nb6[6][3] = { { 1, 0, 0 }, { -1, 0, 0 }, { 0, 1, 0 }, { 0, -1, 0 }, { 0, 0, 1 }, { 0, 0, -1 } };

static float
at (const BsVolume *v, int i, int j, int k)
{
  return v->data[((gsize) k * v->dims[1] + j) * v->dims[0] + i];
}

/* Raw-scanner-like values: integers, 0 outside the brain, positive inside,
 * and the tumour inside the brain. */
static void
check_intensities (const Case *c)
{
  gsize nvox = bs_volume_n_voxels (c->image), inside = 0;

  for (gsize i = 0; i < nvox; i++)
    {
      gboolean in_brain = c->tissue->data[i] != BS_PHANTOM_TISSUE_OUTSIDE;
      inside += in_brain;
      if (c->label->data[i] > 0)
        g_assert_true (in_brain);
      for (int ch = 0; ch < 4; ch++)
        {
          float v = bs_volume_channel (c->image, ch)[i];
          g_assert_cmpfloat (v, ==, roundf (v));
          g_assert_cmpfloat (v, <=, 32767.0f);
          if (in_brain)
            g_assert_cmpfloat (v, >=, 1.0f);
          else
            g_assert_cmpfloat (v, ==, 0.0f);
        }
    }
  /* a head fills a fair part of the box, but not all of it */
  g_assert_cmpfloat ((double) inside / nvox, >, 0.08);
  g_assert_cmpfloat ((double) inside / nvox, <, 0.5);
}

static void
check_label_structure (const Case *c)
{
  const BsVolume *l = c->label;
  const int *d = l->dims;
  gsize count[4] = { 0 };

  for (int k = 0; k < d[2]; k++)
    for (int j = 0; j < d[1]; j++)
      for (int i = 0; i < d[0]; i++)
        {
          int v = (int) at (l, i, j, k);
          g_assert_cmpint (v, >=, 0);
          g_assert_cmpint (v, <=, 3);
          count[CLAMP (v, 0, 3)]++;
          if (v < 2)
            continue;
          g_assert_true (i > 0 && j > 0 && k > 0 && i < d[0] - 1 && j < d[1] - 1 && k < d[2] - 1);
          for (int n = 0; n < 6; n++)
            {
              int w = (int) at (l, i + nb6[n][0], j + nb6[n][1], k + nb6[n][2]);
              /* the enhancing rim closes around the necrotic core ... */
              if (v == 2)
                g_assert_true (w == 2 || w == 3);
              /* ... and edema surrounds the whole tumour */
              g_assert_cmpint (w, !=, 0);
            }
        }
  for (int v = 0; v < 4; v++)
    g_assert_cmpuint (count[v], >, 0);
  /* edema is the largest sub-region, as in glioblastoma */
  g_assert_cmpuint (count[1], >, count[3] / 2);
}

typedef struct {
  double sum[4];
  gsize n;
} Stat;

static double
mean (const Stat *s, int ch)
{
  g_assert_cmpuint (s->n, >, 20);
  return s->sum[ch] / s->n;
}

enum { FLAIR, T1, T1GD, T2 };

static void
check_contrasts (const Case *c)
{
  /* regions: tissues outside the tumour, then labels 1..3 */
  Stat csf = { 0 }, gm = { 0 }, wm = { 0 }, edema = { 0 }, core = { 0 }, enh = { 0 };
  const int *d = c->image->dims;

  /* Only voxels whose six neighbours share their label and, for CSF, their
   * tissue, and no other voxel next to CSF: partial volume with CSF would
   * otherwise blur the comparisons at the thin grey ribbon. */
  for (int k = 1; k < d[2] - 1; k++)
    for (int j = 1; j < d[1] - 1; j++)
      for (int ii = 1; ii < d[0] - 1; ii++)
    {
      gsize i = ((gsize) k * d[1] + j) * d[0] + ii;
      int lab = (int) c->label->data[i], t = (int) c->tissue->data[i];
      gboolean interior = TRUE;
      Stat *s = NULL;
      for (int n = 0; n < 6 && interior; n++)
        {
          int nt = (int) at (c->tissue, ii + nb6[n][0], j + nb6[n][1], k + nb6[n][2]);
          interior = at (c->label, ii + nb6[n][0], j + nb6[n][1], k + nb6[n][2]) == lab &&
                     (t == BS_PHANTOM_TISSUE_CSF ? nt == t
                                                 : nt != BS_PHANTOM_TISSUE_CSF && nt != BS_PHANTOM_TISSUE_OUTSIDE);
        }
      if (!interior)
        continue;
      if (lab == 1)
        s = &edema;
      else if (lab == 2)
        s = &core;
      else if (lab == 3)
        s = &enh;
      else if (t == BS_PHANTOM_TISSUE_CSF)
        s = &csf;
      else if (t == BS_PHANTOM_TISSUE_GREY)
        s = &gm;
      else if (t == BS_PHANTOM_TISSUE_WHITE)
        s = &wm;
      if (s == NULL)
        continue;
      for (int ch = 0; ch < 4; ch++)
        s->sum[ch] += bs_volume_channel (c->image, ch)[i];
      s->n++;
    }

  g_test_message ("n: csf %zu gm %zu wm %zu edema %zu core %zu enh %zu", csf.n, gm.n, wm.n, edema.n, core.n, enh.n);
  /* T1w: WM > GM > CSF */
  g_assert_cmpfloat (mean (&wm, T1), >, 1.1 * mean (&gm, T1));
  g_assert_cmpfloat (mean (&gm, T1), >, 1.3 * mean (&csf, T1));
  /* T2w: CSF > GM > WM */
  g_assert_cmpfloat (mean (&csf, T2), >, 1.5 * mean (&gm, T2));
  g_assert_cmpfloat (mean (&gm, T2), >, 1.1 * mean (&wm, T2));
  /* FLAIR: CSF dark, GM > WM, edema bright */
  g_assert_cmpfloat (mean (&csf, FLAIR), <, 0.5 * mean (&wm, FLAIR));
  g_assert_cmpfloat (mean (&gm, FLAIR), >, 1.1 * mean (&wm, FLAIR));
  g_assert_cmpfloat (mean (&edema, FLAIR), >, 1.3 * mean (&wm, FLAIR));
  g_assert_cmpfloat (mean (&edema, FLAIR), >, mean (&gm, FLAIR));
  /* T1gd like T1w, plus a bright enhancing rim.  Channels have their own
   * scanner gain, so compare each against its own white matter. */
  g_assert_cmpfloat (mean (&wm, T1GD), >, mean (&gm, T1GD));
  g_assert_cmpfloat (mean (&enh, T1GD) / mean (&wm, T1GD), >, 1.5);
  g_assert_cmpfloat (mean (&enh, T1GD) / mean (&wm, T1GD), >, 1.5 * mean (&enh, T1) / mean (&wm, T1));
  g_assert_cmpfloat (mean (&enh, T1GD), >, 2.0 * mean (&core, T1GD));
  /* edema bright on T2, necrosis brighter still */
  g_assert_cmpfloat (mean (&edema, T2), >, 1.5 * mean (&wm, T2));
  g_assert_cmpfloat (mean (&core, T2), >, mean (&enh, T2));
  /* edema dark on T1w */
  g_assert_cmpfloat (mean (&edema, T1), <, mean (&wm, T1));
}

/* Noise is there: neighbouring white matter voxels differ. */
static void
check_noise (const Case *c)
{
  const int *d = c->image->dims;
  double sum = 0.0, sum2 = 0.0;
  gsize n = 0;

  for (int k = 1; k < d[2]; k++)
    for (int j = 0; j < d[1]; j++)
      for (int i = 1; i < d[0]; i++)
        if (at (c->tissue, i, j, k) == BS_PHANTOM_TISSUE_WHITE && at (c->tissue, i - 1, j, k) == BS_PHANTOM_TISSUE_WHITE &&
            at (c->label, i, j, k) == 0 && at (c->label, i - 1, j, k) == 0)
          {
            double diff = at (c->image, i, j, k) - at (c->image, i - 1, j, k);
            sum += at (c->image, i, j, k);
            sum2 += diff * diff;
            n++;
          }
  g_assert_cmpuint (n, >, 1000);
  g_assert_cmpfloat (sqrt (sum2 / n) / (sum / n), >, 0.01);
  g_assert_cmpfloat (sqrt (sum2 / n) / (sum / n), <, 0.2);
}

static void
test_structure_and_contrast (void)
{
  /* several seeds and sizes: the tumour lands in different places */
  const struct { guint64 seed; guint index; int dims[3]; } cases[] = {
    { 1, 0, { 128, 128, 84 } },
    { 2, 3, { 112, 136, 90 } },
    { 99, 1, { 104, 100, 72 } },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Case c;
      case_generate (&c, cases[i].seed, cases[i].index, cases[i].dims[0], cases[i].dims[1], cases[i].dims[2]);
      check_intensities (&c);
      check_label_structure (&c);
      check_contrasts (&c);
      check_noise (&c);
      case_clear (&c);
    }
}

static void
test_bad_size (void)
{
  g_autoptr(GError) error = NULL;
  BsVolume *image = NULL, *label = NULL;
  int dims[3];

  g_assert_false (bs_phantom_generate (1, 0, 16, 240, 155, &image, &label, &error));
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
  g_assert_null (image);
  g_assert_null (label);
  g_clear_error (&error);

  g_assert_true (bs_phantom_parse_size ("240x240x155", dims, &error));
  g_assert_no_error (error);
  g_assert_cmpint (dims[0], ==, 240);
  g_assert_cmpint (dims[2], ==, 155);
  const char *bad[] = { "", "240x240", "240x240x155x4", "240xx155", "ax240x155", "240x240x-5", "240x240x8",
                        "240x240x99999", "240 x240x155" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (bs_phantom_parse_size (bad[i], dims, &error));
      g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
      if (*bad[i])
        g_assert_nonnull (strstr (error->message, bad[i]));
      g_clear_error (&error);
    }
}

static void
test_write_task (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("bs-phantom-XXXXXX", &error);
  g_autofree char *json_path = NULL;
  g_autoptr(BsDataset) ds = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root, *modality;
  Case ref;

  g_assert_no_error (error);
  g_assert_true (bs_phantom_write_task (dir, 2, 11, 64, 60, 44, &error));
  g_assert_no_error (error);

  json_path = g_build_filename (dir, "dataset.json", NULL);
  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (root, "numTraining"), ==, 2);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "training")), ==, 2);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (root, "test")), ==, 0);
  modality = json_object_get_object_member (root, "modality");
  g_assert_cmpstr (json_object_get_string_member (modality, "0"), ==, "FLAIR");
  g_assert_cmpstr (json_object_get_string_member (modality, "3"), ==, "T2w");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (root, "labels"), "3"), ==,
                   "enhancing tumour");

  ds = bs_dataset_open (dir, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ds);
  g_assert_cmpint (bs_dataset_get_kind (ds), ==, BS_DATASET_DECATHLON);
  g_assert_cmpuint (bs_dataset_get_n_cases (ds), ==, 2);
  g_assert_cmpstr (bs_dataset_get_case_id (ds, 1), ==, "phantom_002");
  g_assert_true (bs_dataset_case_has_label (ds, 1));

  /* what the dataset API reads back is exactly what the generator made */
  case_generate (&ref, 11, 1, 64, 60, 44);
  {
    g_autoptr(BsCase) c = bs_dataset_load_case (ds, 1, &error);
    g_assert_no_error (error);
    g_assert_nonnull (c);
    g_assert_cmpint (c->image->n_channels, ==, 4);
    g_assert_cmpint (c->image->dims[0], ==, 64);
    g_assert_cmpint (c->image->dims[1], ==, 60);
    g_assert_cmpint (c->image->dims[2], ==, 44);
    for (int ch = 0; ch < 4; ch++)
      g_assert_cmpstr (c->image->channel_names[ch], ==, ref.image->channel_names[ch]);
    g_assert_nonnull (c->label);
    g_assert_cmpint (c->convention, ==, BS_LABELS_DECATHLON);
    g_assert_true (volumes_equal (c->image, ref.image));
    g_assert_true (volumes_equal (c->label, ref.label));
  }
  case_clear (&ref);

  /* tidy up: two cases, two folders, one json */
  for (guint i = 1; i <= 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("phantom_%03u.nii.gz", i);
      g_autofree char *img = g_build_filename (dir, "imagesTr", name, NULL);
      g_autofree char *lab = g_build_filename (dir, "labelsTr", name, NULL);
      g_assert_cmpint (g_remove (img), ==, 0);
      g_assert_cmpint (g_remove (lab), ==, 0);
    }
  {
    g_autofree char *img_dir = g_build_filename (dir, "imagesTr", NULL);
    g_autofree char *lab_dir = g_build_filename (dir, "labelsTr", NULL);
    g_assert_cmpint (g_rmdir (img_dir), ==, 0);
    g_assert_cmpint (g_rmdir (lab_dir), ==, 0);
  }
  g_assert_cmpint (g_remove (json_path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
test_write_task_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *file = NULL;
  g_autofree char *below = NULL;
  int fd = g_file_open_tmp ("bs-phantom-XXXXXX", &file, &error);

  g_assert_no_error (error);
  close (fd);
  /* a folder cannot be made below a regular file */
  below = g_build_filename (file, "task", NULL);
  g_assert_false (bs_phantom_write_task (below, 1, 1, 48, 48, 40, &error));
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_WRITE);
  g_assert_nonnull (strstr (error->message, below));
  g_clear_error (&error);

  g_assert_false (bs_phantom_write_task (below, 0, 1, 48, 48, 40, &error));
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (bs_phantom_write_task (below, 1, 1, 48, 600, 40, &error));
  g_assert_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID);
  g_assert_false (g_file_test (below, G_FILE_TEST_EXISTS));
  g_remove (file);
}

static int
run_cli (const char *const *args, char **err_out)
{
  const char *cli = g_getenv ("BS_CLI");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_ptr_array_add (argv, (char *) cli);
  g_ptr_array_add (argv, (char *) "phantom");
  for (; *args; args++)
    g_ptr_array_add (argv, (char *) *args);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                               err_out, &status, &error));
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  return WEXITSTATUS (status);
}

static void
test_cli (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *out = NULL;
  g_autofree char *json = NULL;
  const struct { const char *args[6]; const char *says; } bad[] = {
    { { NULL }, "OUTDIR" },
    { { "/tmp/unused", "--size", "12x3", NULL }, "12x3" },
    { { "/tmp/unused", "--size", "240x240x7", NULL }, "240x240x7" },
    { { "/tmp/unused", "--size", "big", NULL }, "WIDTHxHEIGHTxDEPTH" },
    { { "/tmp/unused", "--cases", "0", NULL }, "--cases" },
    { { "/tmp/unused", "--cases", "many", NULL }, "many" },
    { { "/tmp/unused", "--seed", "-3", NULL }, "--seed" },
    { { "/tmp/a", "/tmp/b", NULL }, "OUTDIR" },
  };

  if (g_getenv ("BS_CLI") == NULL)
    {
      g_test_skip ("BS_CLI is not set (run through meson test)");
      return;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *err = NULL;
      int rc = run_cli (bad[i].args, &err);
      g_assert_cmpint (rc, !=, 0);
      g_assert_nonnull (strstr (err, bad[i].says));
      g_assert_false (g_file_test ("/tmp/unused", G_FILE_TEST_EXISTS));
    }

  dir = g_dir_make_tmp ("bs-phantom-cli-XXXXXX", &error);
  g_assert_no_error (error);
  out = g_build_filename (dir, "task", NULL);
  {
    const char *args[] = { out, "--size", "48x52x40", "--seed", "5", NULL };
    g_autofree char *err = NULL;
    g_assert_cmpint (run_cli (args, &err), ==, 0);
  }
  {
    g_autoptr(BsDataset) ds = bs_dataset_open (out, NULL, &error);
    g_autoptr(BsCase) c = NULL;
    g_assert_no_error (error);
    g_assert_cmpuint (bs_dataset_get_n_cases (ds), ==, 1);
    c = bs_dataset_load_case (ds, 0, &error);
    g_assert_no_error (error);
    g_assert_cmpint (c->image->dims[1], ==, 52);
  }
  {
    g_autofree char *img = g_build_filename (out, "imagesTr", "phantom_001.nii.gz", NULL);
    g_autofree char *lab = g_build_filename (out, "labelsTr", "phantom_001.nii.gz", NULL);
    g_autofree char *img_dir = g_build_filename (out, "imagesTr", NULL);
    g_autofree char *lab_dir = g_build_filename (out, "labelsTr", NULL);
    json = g_build_filename (out, "dataset.json", NULL);
    g_remove (img);
    g_remove (lab);
    g_remove (json);
    g_rmdir (img_dir);
    g_rmdir (lab_dir);
    g_rmdir (out);
    g_rmdir (dir);
  }
}

static void
test_sample_path (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(BsDataset) ds = NULL;
  g_autoptr(BsCase) c = NULL;

  g_setenv ("BRAINSEG_SAMPLE", "/some/where", TRUE);
  path = bs_sample_default_path ();
  g_assert_cmpstr (path, ==, "/some/where");
  g_clear_pointer (&path, g_free);
  g_unsetenv ("BRAINSEG_SAMPLE");

  /* meson builds the sample with everything else before it runs the tests */
  path = bs_sample_default_path ();
  g_assert_nonnull (path);
  ds = bs_dataset_open (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bs_dataset_get_n_cases (ds), ==, 1);
  c = bs_dataset_load_case (ds, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->image->n_channels, ==, 4);
  g_assert_nonnull (c->label);
  /* small enough to open at once, big enough to look like a head */
  g_assert_cmpuint (bs_volume_n_voxels (c->image), <, 4000000);
  g_assert_cmpint (c->image->dims[0], >=, 128);
}

/* Preprocessing treats the phantom like raw BraTS data: the foreground it
 * finds is the brain, and each channel comes out z-scored inside it. */
static void
test_preprocess (void)
{
  Case c;
  gsize nvox, agree = 0;
  g_autoptr(BsVolume) fg = NULL;

  case_generate (&c, 3, 2, 96, 100, 70);
  nvox = bs_volume_n_voxels (c.image);
  fg = bs_preprocess_foreground (c.image, 0);
  for (gsize i = 0; i < nvox; i++)
    {
      gboolean in_brain = c.tissue->data[i] != BS_PHANTOM_TISSUE_OUTSIDE;
      agree += (fg->data[i] > 0.5f) == in_brain;
    }
  g_assert_cmpfloat ((double) agree / nvox, >, 0.995);

  bs_preprocess_normalize (c.image);
  for (int ch = 0; ch < 4; ch++)
    {
      const float *d = bs_volume_channel (c.image, ch);
      double sum = 0.0, sum2 = 0.0;
      gsize n = 0;
      /* every channel has the same foreground as FLAIR */
      for (gsize i = 0; i < nvox; i++)
        if (fg->data[i] > 0.5f)
          {
            sum += d[i];
            sum2 += d[i] * d[i];
            n++;
          }
        else
          g_assert_cmpfloat (d[i], ==, 0.0f);
      /* The mean and spread come from the 0.5-99.5 percentile range of the
       * brain (robust to saturated scanners), so the whole brain's are close
       * to 0 and 1, not exact. */
      g_assert_cmpfloat (fabs (sum / n), <, 0.03);
      g_assert_cmpfloat (fabs (sqrt (sum2 / n) - 1.0), <, 0.05);
    }
  case_clear (&c);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/phantom/deterministic", test_deterministic);
  g_test_add_func ("/phantom/geometry", test_geometry);
  g_test_add_func ("/phantom/structure-and-contrast", test_structure_and_contrast);
  g_test_add_func ("/phantom/bad-size", test_bad_size);
  g_test_add_func ("/phantom/write-task", test_write_task);
  g_test_add_func ("/phantom/write-task-errors", test_write_task_errors);
  g_test_add_func ("/phantom/preprocess", test_preprocess);
  g_test_add_func ("/phantom/cli", test_cli);
  g_test_add_func ("/phantom/sample-path", test_sample_path);
  return g_test_run ();
}
