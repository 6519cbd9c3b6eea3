#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bs-error.h"
#include "bs-export.h"
#include "bs-metrics.h"
#include "bs-nifti.h"
#include "test-util.h"

/* A small case: a grey ramp image, a spherical truth and a prediction sphere
 * shifted by two voxels, with a non-trivial affine. */
typedef struct {
  BsVolume *image, *pred, *truth;
  BsExportSource src;
  char *dir;
} Fixture;

#define NX 40
#define NY 32
#define NZ 12

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->image = bs_volume_new (NX, NY, NZ, 1);
  f->pred = bs_volume_new (NX, NY, NZ, 1);
  f->truth = bs_volume_new (NX, NY, NZ, 1);
  for (int k = 0; k < NZ; k++)
    for (int j = 0; j < NY; j++)
      for (int i = 0; i < NX; i++)
        {
          gsize v = ((gsize) k * NY + j) * NX + i;
          double dt = hypot (hypot (i - 20.0, j - 16.0), (k - 6.0) * 2.0);
          double dp = hypot (hypot (i - 22.0, j - 16.0), (k - 6.0) * 2.0);
          f->image->data[v] = (float) (i + j + k) * 0.1f;
          f->truth->data[v] = dt < 8.0 ? 1.0f : 0.0f;
          f->pred->data[v] = dp < 8.0 ? 0.9f : 0.1f;  /* probabilities */
        }
  f->image->affine[0][0] = -1.0;
  f->image->affine[0][3] = 90.0;
  f->image->affine[1][1] = -1.5;
  f->image->affine[1][3] = 120.0;
  f->image->affine[2][2] = 2.0;
  f->image->affine[2][3] = -70.0;
  f->src = (BsExportSource) { f->image, 0, f->pred, f->truth, BS_PLANE_AXIAL, "test-case" };
  f->dir = g_dir_make_tmp ("bs-export-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
}


static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_chmod (f->dir, 0755);
  bs_test_remove_tree (f->dir);
  g_free (f->dir);
  bs_volume_free (f->image);
  bs_volume_free (f->pred);
  bs_volume_free (f->truth);
}

static int
count_files (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  int n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d))
    n++;
  g_dir_close (d);
  return n;
}

static uint32_t
pixel (cairo_surface_t *s, int x, int y)
{
  return ((uint32_t *) (cairo_image_surface_get_data (s) + y * cairo_image_surface_get_stride (s)))[x];
}

static uint32_t
colour (const double c[3])
{
  return 0xff000000u | ((uint32_t) lrint (c[0] * 255) << 16) | ((uint32_t) lrint (c[1] * 255) << 8) |
         (uint32_t) lrint (c[2] * 255);
}

static void
test_overlay_png (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "overlay.png", NULL);
  g_autoptr(GError) error = NULL;
  BsOverlayOptions opts;
  float pred[NX * NY];
  int w, h, on = 0;

  bs_overlay_options_init (&opts);
  opts.opacity = 1.0f;
  bs_auto_window_volume (f->image, 0, &opts.lo, &opts.hi);
  g_assert_true (bs_export_overlay_png (&f->src, 6, &opts, 0, 0, path, &error));
  g_assert_no_error (error);

  cairo_surface_t *s = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
  bs_volume_slice_size (f->image, BS_PLANE_AXIAL, &w, &h);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, w);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, h);
  bs_volume_get_slice (f->pred, 0, BS_PLANE_AXIAL, 6, pred);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        uint32_t p = pixel (s, x, y);
        gboolean grey = ((p >> 16) & 0xff) == ((p >> 8) & 0xff) && ((p >> 8) & 0xff) == (p & 0xff);
        if (pred[y * w + x] > 0.5f)
          {
            g_assert_cmphex (p, ==, colour (BS_COLOR_PREDICTION));
            on++;
          }
        else
          g_assert_true (grey);
      }
  g_assert_cmpint (on, >, 100);
  cairo_surface_destroy (s);

  /* Scaled export keeps the aspect ratio inside the requested size. */
  g_assert_true (bs_export_overlay_png (&f->src, 6, &opts, 400, 200, path, &error));
  s = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, 400);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, 200);
  /* The slice centre (inside the prediction) lands at the surface centre. */
  g_assert_cmphex (pixel (s, 200, 100), ==, colour (BS_COLOR_PREDICTION));
  cairo_surface_destroy (s);
}

/* Annotations go around the slice, never over it: the slice's pixels are
 * the bare overlay's, the caption band has text, the letters' margins are
 * set, and the legend shows the confusion colours it used. */
static void
test_overlay_annotated (Fixture *f, gconstpointer data)
{
  BsOverlayOptions opts;
  BsExportOverlayLayout lay;
  int w, h, text = 0, legend[3] = { 0 };
  const double *colours[3] = { BS_COLOR_TP, BS_COLOR_FP, BS_COLOR_FN };

  bs_overlay_options_init (&opts);
  opts.opacity = 1.0f;
  opts.confusion = TRUE;
  bs_auto_window_volume (f->image, 0, &opts.lo, &opts.hi);
  cairo_surface_t *plain = bs_export_render_overlay (&f->src, 6, &opts, 0, 0);
  opts.annotate = TRUE;
  cairo_surface_t *s = bs_export_render_overlay (&f->src, 6, &opts, 0, 0);
  bs_volume_slice_size (f->image, BS_PLANE_AXIAL, &w, &h);
  bs_export_overlay_layout (w, h, &opts, 0, 0, &lay);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, lay.width);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, lay.height);
  g_assert_cmpint (lay.width, >, w);
  g_assert_cmpint (lay.height, >, h);
  g_assert_cmpfloat (lay.x, >=, lay.font);
  g_assert_cmpfloat (lay.y, >=, 2 * lay.font);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      g_assert_cmphex (pixel (s, x + (int) lay.x, y + (int) lay.y), ==, pixel (plain, x, y));
  /* At a requested size the image is exactly that size, the slice fitted
   * between the bands. */
  cairo_surface_destroy (s);
  s = bs_export_render_overlay (&f->src, 6, &opts, 600, 400);
  bs_export_overlay_layout (w, h, &opts, 600, 400, &lay);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, 600);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, 400);
  g_assert_cmpfloat (lay.y + h * lay.scale, <=, 400 - 2 * lay.font);
  for (int y = 0; y < lay.height; y++)
    for (int x = 0; x < lay.width; x++)
      {
        uint32_t p = pixel (s, x, y);
        if (y < (int) lay.y)
          text += (p & 0xff) > 128;
        if (y >= (int) (lay.y + h * lay.scale))
          for (int c = 0; c < 3; c++)
            legend[c] += p == colour (colours[c]);
      }
  g_test_message ("%d caption pixels; legend squares %d %d %d pixels", text, legend[0], legend[1], legend[2]);
  g_assert_cmpint (text, >, 50);
  for (int c = 0; c < 3; c++)
    g_assert_cmpint (legend[c], >=, 16);
  cairo_surface_destroy (s);
  cairo_surface_destroy (plain);
}

static void
test_figure_png (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "figure.png", NULL);
  g_autoptr(GError) error = NULL;
  BsOverlayOptions opts;
  int counts[3] = { 0 };  /* prediction-coloured pixels per third */
  int truth_counts[3] = { 0 };

  bs_overlay_options_init (&opts);
  opts.opacity = 1.0f;
  bs_auto_window_volume (f->image, 0, &opts.lo, &opts.hi);
  g_assert_true (bs_export_figure_png (&f->src, 6, &opts, 900, 400, path, &error));
  g_assert_no_error (error);
  cairo_surface_t *s = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, 900);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, 400);
  g_assert_cmphex (pixel (s, 0, 0), ==, 0xffffffff);
  for (int y = 0; y < 400; y++)
    for (int x = 0; x < 900; x++)
      {
        counts[x / 300] += pixel (s, x, y) == colour (BS_COLOR_PREDICTION);
        truth_counts[x / 300] += pixel (s, x, y) == colour (BS_COLOR_TRUTH);
      }
  /* MRI input | Ground truth | Prediction: each mask only in its own panel. */
  g_assert_cmpint (counts[0], ==, 0);
  g_assert_cmpint (counts[1], ==, 0);
  g_assert_cmpint (counts[2], >, 500);
  g_assert_cmpint (truth_counts[0], ==, 0);
  g_assert_cmpint (truth_counts[1], >, 500);
  g_assert_cmpint (truth_counts[2], ==, 0);
  cairo_surface_destroy (s);

  /* Without truth the figure still renders. */
  f->src.truth = NULL;
  g_assert_true (bs_export_figure_png (&f->src, 6, &opts, 0, 0, path, &error));
  g_assert_no_error (error);
  g_assert_true (isnan (bs_export_slice_dice (&f->src, 6)));
}

static void
test_mask_nifti_round_trip (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "mask.nii.gz", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsVolume) back = NULL;

  g_assert_true (bs_export_mask_nifti (&f->src, path, &error));
  g_assert_no_error (error);
  back = bs_volume_load_nifti (path, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (back->dims[0], ==, NX);
  g_assert_cmpint (back->dims[1], ==, NY);
  g_assert_cmpint (back->dims[2], ==, NZ);
  for (gsize v = 0; v < (gsize) NX * NY * NZ; v++)
    g_assert_cmpfloat (back->data[v], ==, f->pred->data[v] > 0.5f ? 1.0f : 0.0f);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      g_assert_cmpfloat_with_epsilon (back->affine[r][c], f->image->affine[r][c], 1e-4);
}

/* A region model: pred's channels are WT, TC (a smaller sphere) and ET (a
 * smaller one still, partly outside TC so that the nesting shows).  The CSV
 * gains dice_tc and dice_et, each the Dice of the nested predicted region
 * against the truth's region; the figure shows enhancing tumour in its
 * colour in the prediction panel. */
static void
test_regions (Fixture *f, gconstpointer data)
{
  static const char *const outputs[] = { "wt", "tc", "et", NULL };
  g_autoptr(BsVolume) pred = bs_volume_new (NX, NY, NZ, 3);
  g_autoptr(BsVolume) ttc = bs_volume_new (NX, NY, NZ, 1);
  g_autoptr(BsVolume) tet = bs_volume_new (NX, NY, NZ, 1);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  BsExportSource src = f->src;
  BsOverlayOptions opts;
  gsize nv = bs_volume_n_voxels (pred);
  int checked = 0;

  for (gsize v = 0; v < nv; v++)
    {
      int i = v % NX, j = (v / NX) % NY, k = v / (NX * NY);
      double dp = hypot (hypot (i - 22.0, j - 16.0), (k - 6.0) * 2.0);
      double dt = hypot (hypot (i - 20.0, j - 16.0), (k - 6.0) * 2.0);
      double de = hypot (hypot (i - 26.0, j - 16.0), (k - 6.0) * 2.0);

      bs_volume_channel (pred, 0)[v] = f->pred->data[v];
      bs_volume_channel (pred, 1)[v] = dp < 5.0 ? 0.8f : 0.2f;
      bs_volume_channel (pred, 2)[v] = de < 4.0 ? 0.8f : 0.2f;
      ttc->data[v] = dt < 5.0;
      tet->data[v] = dt < 3.0;
    }
  src.pred = pred;
  src.pred_outputs = outputs;
  src.truth_tc = ttc;
  src.truth_et = tet;
  text = bs_export_dice_csv_text (&src);
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "slice,dice,truth_pixels,pred_pixels,tp,fp,fn,dice_tc,dice_et");
  for (int k = 0; k < NZ; k++)
    {
      g_auto(GStrv) cols = g_strsplit (lines[k + 1], ",", -1);
      float w[NX * NY], pt[NX * NY], pe[NX * NY], t[NX * NY], e[NX * NY], tc[NX * NY], et[NX * NY];

      g_assert_cmpint (g_strv_length (cols), ==, 9);
      bs_volume_get_slice (pred, 0, BS_PLANE_AXIAL, k, w);
      bs_volume_get_slice (pred, 1, BS_PLANE_AXIAL, k, pt);
      bs_volume_get_slice (pred, 2, BS_PLANE_AXIAL, k, pe);
      bs_volume_get_slice (ttc, 0, BS_PLANE_AXIAL, k, t);
      bs_volume_get_slice (tet, 0, BS_PLANE_AXIAL, k, e);
      for (int p = 0; p < NX * NY; p++)
        {
          tc[p] = w[p] > 0.5f && pt[p] > 0.5f;
          et[p] = tc[p] > 0.5f && pe[p] > 0.5f;
        }
      if (*cols[7] != '\0')
        {
          g_assert_cmpfloat_with_epsilon (g_ascii_strtod (cols[7], NULL), bs_dice (tc, t, NX * NY), 1e-6);
          checked++;
        }
      if (*cols[8] != '\0')
        {
          g_assert_cmpfloat_with_epsilon (g_ascii_strtod (cols[8], NULL), bs_dice (et, e, NX * NY), 1e-6);
          checked++;
        }
    }
  g_assert_cmpint (checked, >, 4);

  /* The BraTS label map: 4 exactly on the nested ET, 1 on the rest of TC, 2 on
   * the rest of WT; a whole-tumour-only source cannot give one. */
  {
    g_autofree char *path = g_build_filename (f->dir, "labels.nii.gz", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(BsVolume) map = NULL;
    gsize count[5] = { 0 }, et = 0, tc_rest = 0;

    g_assert_true (bs_export_label_map_nifti (&src, BS_LABELS_BRATS2017, path, &error));
    g_assert_no_error (error);
    map = bs_volume_load_nifti (path, TRUE, &error);
    g_assert_no_error (error);
    for (gsize v = 0; v < nv; v++)
      {
        int l = (int) map->data[v];
        gboolean w = bs_volume_channel (pred, 0)[v] > 0.5f, t = w && bs_volume_channel (pred, 1)[v] > 0.5f;
        gboolean e = t && bs_volume_channel (pred, 2)[v] > 0.5f;

        g_assert_true (l == 0 || l == 1 || l == 2 || l == 4);
        count[l]++;
        g_assert_cmpint (l, ==, e ? 4 : t ? 1 : w ? 2 : 0);
        et += e;
        tc_rest += t && !e;
      }
    g_assert_cmpuint (count[4], ==, et);
    g_assert_cmpuint (et, >, 0);
    g_assert_cmpuint (tc_rest, >, 0);
    g_assert_false (bs_export_label_map_nifti (&f->src, BS_LABELS_BRATS2017, path, &error));
    g_assert_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "labels.nii.gz"));
  }

  bs_overlay_options_init (&opts);
  opts.opacity = 1.0f;
  bs_auto_window_volume (f->image, 0, &opts.lo, &opts.hi);
  {
    cairo_surface_t *fig = bs_export_render_figure (&src, 6, &opts, 900, 360);
    int enhancing[3] = { 0 };

    for (int y = 0; y < 360; y++)
      for (int x = 0; x < 900; x++)
        enhancing[x * 3 / 900] += pixel (fig, x, y) == colour (BS_COLOR_ENHANCING);
    g_test_message ("enhancing-coloured pixels per panel: %d %d %d", enhancing[0], enhancing[1], enhancing[2]);
    g_assert_cmpint (enhancing[0], ==, 0);
    g_assert_cmpint (enhancing[1], >, 50);
    g_assert_cmpint (enhancing[2], >, 50);
    cairo_surface_destroy (fig);
  }
  /* A whole-tumour-only model against the same truth: the truth panel still
   * shows its regions, as the window does; the prediction is one colour and
   * the CSV has no region columns. */
  {
    BsExportSource wt_only = f->src;
    cairo_surface_t *fig;
    int enhancing[3] = { 0 };
    g_autofree char *csv = NULL;

    wt_only.truth_tc = ttc;
    wt_only.truth_et = tet;
    fig = bs_export_render_figure (&wt_only, 6, &opts, 900, 360);
    for (int y = 0; y < 360; y++)
      for (int x = 0; x < 900; x++)
        enhancing[x * 3 / 900] += pixel (fig, x, y) == colour (BS_COLOR_ENHANCING);
    g_test_message ("whole-tumour-only model, enhancing-coloured pixels per panel: %d %d %d", enhancing[0],
                    enhancing[1], enhancing[2]);
    g_assert_cmpint (enhancing[0], ==, 0);
    g_assert_cmpint (enhancing[1], >, 50);
    g_assert_cmpint (enhancing[2], ==, 0);
    cairo_surface_destroy (fig);
    csv = bs_export_dice_csv_text (&wt_only);
    g_assert_true (g_str_has_prefix (csv, "slice,dice,truth_pixels,pred_pixels,tp,fp,fn\n"));
  }
}

static void
test_dice_csv (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "dice.csv", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  float pred[NX * NY], truth[NX * NY];
  int n = bs_volume_n_slices (f->image, BS_PLANE_AXIAL), n_empty = 0;

  g_assert_true (bs_export_dice_csv (&f->src, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "slice,dice,truth_pixels,pred_pixels,tp,fp,fn");
  g_assert_cmpint (g_strv_length (lines), ==, n + 2);  /* header, n rows, "" after the last newline */
  g_assert_cmpstr (lines[n + 1], ==, "");
  for (int k = 0; k < n; k++)
    {
      g_auto(GStrv) cols = g_strsplit (lines[k + 1], ",", -1);
      g_assert_cmpint (g_strv_length (cols), ==, 7);
      g_assert_cmpint (atoi (cols[0]), ==, k);
      bs_volume_get_slice (f->pred, 0, BS_PLANE_AXIAL, k, pred);
      bs_volume_get_slice (f->truth, 0, BS_PLANE_AXIAL, k, truth);
      if (atoi (cols[2]) == 0 && atoi (cols[3]) == 0)
        {
          /* no tumour in truth or prediction: Dice is undefined, the cell empty */
          g_assert_cmpstr (cols[1], ==, "");
          n_empty++;
        }
      else
        g_assert_cmpfloat_with_epsilon (g_ascii_strtod (cols[1], NULL), bs_dice (pred, truth, NX * NY), 1e-6);
    }
  g_assert_cmpint (n_empty, ==, 5);  /* slices 0-2 and 10-11: both spheres end 8 voxels (4 slices) from slice 6 */

  /* A source that says whether its prediction was cleaned up: a last column
   * "cleanup" on every row, the other columns as they were (walk finding:
   * a CSV did not say which Dice it held); without truth too. */
  for (int on = 0; on < 2; on++)
    for (int with_truth = 0; with_truth < 2; with_truth++)
      {
        BsExportSource src = f->src;
        g_autofree char *said = NULL;
        g_auto(GStrv) said_lines = NULL;

        src.cleanup = on ? BS_EXPORT_CLEANUP_ON : BS_EXPORT_CLEANUP_OFF;
        if (!with_truth)
          src.truth = NULL;
        said = bs_export_dice_csv_text (&src);
        said_lines = g_strsplit (said, "\n", -1);
        g_assert_cmpint (g_strv_length (said_lines), ==, n + 2);
        g_assert_cmpstr (said_lines[0], ==, "slice,dice,truth_pixels,pred_pixels,tp,fp,fn,cleanup");
        for (int k = 0; k < n; k++)
          {
            g_autofree char *row = g_strdup (said_lines[k + 1]);
            char *last = strrchr (row, ',');

            g_assert_nonnull (last);
            g_assert_cmpstr (last + 1, ==, on ? "on" : "off");
            *last = '\0';
            if (with_truth)
              g_assert_cmpstr (row, ==, lines[k + 1]);
            else
              {
                g_auto(GStrv) cols = g_strsplit (row, ",", -1);

                g_assert_cmpint (g_strv_length (cols), ==, 7);
                g_assert_cmpint (atoi (cols[0]), ==, k);
              }
          }
      }
}

static void
count_progress (int done, int total, gpointer user_data)
{
  int *calls = user_data;

  g_assert_cmpint (done, ==, *calls + 1);
  g_assert_cmpint (total, ==, NZ);
  (*calls)++;
}

static void
cancel_after_three (int done, int total, gpointer user_data)
{
  if (done == 3)
    g_cancellable_cancel (user_data);
}

static void
assert_names (const GError *error, const char *path)
{
  g_assert_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_WRITE);
  g_assert_nonnull (strstr (error->message, path));
}

static void
test_series (Fixture *f, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (f->dir, "series", "nested", NULL);
  g_autofree char *dir2 = g_build_filename (f->dir, "series2", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  BsOverlayOptions opts;
  int calls = 0;

  bs_overlay_options_init (&opts);
  g_assert_true (bs_export_series (&f->src, &opts, 0, 0, dir, count_progress, &calls, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (calls, ==, NZ);
  g_assert_cmpint (count_files (dir), ==, NZ);
  for (int k = 0; k < NZ; k++)
    {
      g_autofree char *name = g_strdup_printf ("axial-%03d.png", k);
      g_autofree char *p = g_build_filename (dir, name, NULL);
      cairo_surface_t *s = cairo_image_surface_create_from_png (p);
      g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
      cairo_surface_destroy (s);
    }

  g_assert_false (bs_export_series (&f->src, &opts, 0, 0, dir2, cancel_after_three, cancellable,
                                    cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (count_files (dir2), ==, 3);

  /* A folder where an image of the series goes: refused before any image
   * is written (fuzz finding: the first five were left behind). */
  {
    g_autofree char *dir3 = g_build_filename (f->dir, "series3", NULL);
    g_autofree char *blocker = g_build_filename (dir3, "axial-005.png", NULL);

    g_clear_error (&error);
    g_assert_cmpint (g_mkdir_with_parents (blocker, 0755), ==, 0);
    g_assert_false (bs_export_series (&f->src, &opts, 0, 0, dir3, NULL, NULL, NULL, &error));
    assert_names (error, blocker);
    g_assert_cmpint (count_files (dir3), ==, 1);   /* the folder alone */
  }
}

static void
test_unwritable_dir (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "out.png", NULL);
  g_autofree char *missing = g_build_filename (f->dir, "no-such-folder", "out.csv", NULL);
  g_autoptr(GError) error = NULL;
  BsOverlayOptions opts;

  bs_overlay_options_init (&opts);
  g_assert_false (bs_export_dice_csv (&f->src, missing, &error));
  assert_names (error, missing);
  g_clear_error (&error);

  g_assert_cmpint (g_chmod (f->dir, 0555), ==, 0);
  if (geteuid () == 0)
    {
      /* root writes anyway; the size-limit test covers the failure path. */
      g_test_message ("running as root: directory permissions are not enforced");
      return;
    }
  g_assert_false (bs_export_overlay_png (&f->src, 6, &opts, 0, 0, path, &error));
  assert_names (error, path);
  g_clear_error (&error);
  g_assert_false (bs_export_dice_csv (&f->src, path, &error));
  assert_names (error, path);
  g_assert_cmpint (count_files (f->dir), ==, 0);
}

/* A write that fails part-way (the file size limit stops it after 200
 * bytes) must leave neither the target nor a temporary file behind. */
static void
test_failed_write_leaves_nothing (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "figure.png", NULL);
  g_autoptr(GError) error = NULL;
  BsOverlayOptions opts;
  struct rlimit saved, small;

  bs_overlay_options_init (&opts);
  signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  small = saved;
  small.rlim_cur = 200;
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small), ==, 0);
  gboolean ok = bs_export_figure_png (&f->src, 6, &opts, 600, 300, path, &error);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);

  g_assert_false (ok);
  assert_names (error, path);
  g_assert_cmpint (count_files (f->dir), ==, 0);
}

static void
test_invalid_source (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "x.png", NULL);
  g_autoptr(GError) error = NULL;
  BsOverlayOptions opts;

  bs_overlay_options_init (&opts);
  g_assert_false (bs_export_overlay_png (&f->src, NZ, &opts, 0, 0, path, &error));
  g_assert_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID);
  g_assert_cmpint (count_files (f->dir), ==, 0);
}

/* Walk finding: the coronal and sagittal exports of a case of thick slices
 * drew one pixel row per slice, squashed where the window shows the slice in
 * proportion.  With voxels of 1 x 1.5 x 2 mm (the fixture's affine) the
 * coronal overlay is twice as tall as it has slices (2 mm rows under 1 mm
 * columns), each slice a band of two rows of its own pixels; the sagittal one
 * 4/3 as tall; the figure's panels follow. */
static void
test_square_pixels (Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename (f->dir, "coronal.png", NULL);
  g_autofree char *fig = g_build_filename (f->dir, "figure.png", NULL);
  g_autoptr(GError) error = NULL;
  BsExportSource src = f->src;
  BsOverlayOptions opts;
  cairo_surface_t *s, *plain;
  int w, h;

  f->image->spacing[0] = 1.0;
  f->image->spacing[1] = 1.5;
  f->image->spacing[2] = 2.0;
  bs_overlay_options_init (&opts);
  opts.opacity = 1.0f;
  bs_auto_window_volume (f->image, 0, &opts.lo, &opts.hi);
  src.plane = BS_PLANE_CORONAL;
  bs_volume_slice_size (f->image, BS_PLANE_CORONAL, &w, &h);
  g_assert_cmpint (h, ==, NZ);
  g_assert_true (bs_export_overlay_png (&src, 16, &opts, 0, 0, path, &error));
  g_assert_no_error (error);
  s = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, w);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, 2 * h);
  /* the same pixels as on 1 mm voxels, each row twice */
  f->image->spacing[2] = 1.0;
  f->image->spacing[1] = 1.0;
  plain = bs_export_render_overlay (&src, 16, &opts, 0, 0);
  g_assert_cmpint (cairo_image_surface_get_height (plain), ==, h);
  cairo_surface_flush (plain);
  for (int y = 0; y < 2 * h; y++)
    for (int x = 0; x < w; x++)
      g_assert_cmphex (pixel (s, x, y) & 0xffffff, ==, pixel (plain, x, y / 2) & 0xffffff);
  cairo_surface_destroy (plain);
  cairo_surface_destroy (s);
  f->image->spacing[1] = 1.5;
  f->image->spacing[2] = 2.0;
  src.plane = BS_PLANE_SAGITTAL;
  s = bs_export_render_overlay (&src, 20, &opts, 0, 0);
  bs_volume_slice_size (f->image, BS_PLANE_SAGITTAL, &w, &h);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, w);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, (int) lround (h * 2.0 / 1.5));
  cairo_surface_destroy (s);
  src.plane = BS_PLANE_CORONAL;
  g_assert_true (bs_export_figure_png (&src, 16, &opts, 900, 400, fig, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(name, fn) g_test_add (name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("/export/overlay-png", test_overlay_png);
  ADD ("/export/overlay-annotated", test_overlay_annotated);
  ADD ("/export/figure-png", test_figure_png);
  ADD ("/export/mask-nifti", test_mask_nifti_round_trip);
  ADD ("/export/dice-csv", test_dice_csv);
  ADD ("/export/regions", test_regions);
  ADD ("/export/series", test_series);
  ADD ("/export/unwritable-dir", test_unwritable_dir);
  ADD ("/export/failed-write", test_failed_write_leaves_nothing);
  ADD ("/export/invalid-source", test_invalid_source);
  ADD ("/export/square-pixels", test_square_pixels);
  return g_test_run ();
}
