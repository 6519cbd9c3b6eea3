/* The window's exports and Compare all, in a real window: each export format
 * written from what the window shows and checked, and a Compare-all run whose
 * chart is saved as PNG (BS_SCREENSHOT_DIR keeps it for looking at). */
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bs-compare-chart.h"
#include "bs-compare-dialog.h"
#include "bs-export.h"
#include "bs-dataset.h"
#include "bs-export-dialog.h"
#include "bs-export-names.h"
#include "bs-nifti.h"
#include "bs-overlay.h"
#include "bs-window.h"
#include "ui-harness.h"

static BsWindow *win;
static char *tmpdir;

static gboolean
wait_until (gboolean (*cond) (gpointer), gpointer data, double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);

  while (!cond (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return TRUE;
}

typedef struct {
  gboolean done, ok;
  GError *error;
  int progress_calls;
} Wait;

static void
on_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Wait *w = user_data;

  w->ok = bs_export_to_path_finish (BS_SESSION (source), result, &w->error);
  w->done = TRUE;
}

static void
on_progress (const char *stage, int done, int total, gpointer user_data)
{
  Wait *w = user_data;

  g_assert_nonnull (stage);
  g_assert_cmpint (done, <=, total);
  w->progress_calls++;
}

static gboolean
wait_done (gpointer data)
{
  return ((Wait *) data)->done;
}

static void
export_and_wait_full (BsExportKind kind, const char *path, int width, int height, gboolean annotate, Wait *w)
{
  bs_export_to_path_async (bs_window_get_session (win), kind, path, width, height, annotate, BS_LABELS_BINARY, on_progress, w, NULL, on_done, w);
  g_assert_true (wait_until (wait_done, w, 300));
  g_assert_no_error (w->error);
  g_assert_true (w->ok);
}

static void
export_and_wait (BsExportKind kind, const char *path, int width, int height, Wait *w)
{
  export_and_wait_full (kind, path, width, height, FALSE, w);
}

static uint32_t
pixel (cairo_surface_t *s, int x, int y)
{
  return ((uint32_t *) (cairo_image_surface_get_data (s) + y * cairo_image_surface_get_stride (s)))[x];
}

static int
blend (int under, double over, double alpha)
{
  return (int) lrint ((1 - alpha) * under + alpha * over * 255);
}

/* The exported overlay against colours computed here from the window's
 * options: grey from the window/level, the mask colour blended at the
 * chosen opacity: true positives, false positives and false negatives where
 * the case has a ground truth (the Overlay view's colours, whatever the view
 * mode), of the region the switch chose. */
static void
check_overlay (BsRegion region)
{
  BsSession *session = bs_window_get_session (win);
  g_autofree char *path = g_strdup_printf ("%s/overlay-%s.png", tmpdir, bs_region_name (region));
  const BsVolume *prob = bs_session_get_probability_volume (session);
  const BsVolume *truth = bs_session_get_truth_region (session, region);
  const BsVolume *image = bs_session_get_case (session)->image;
  BsPlane plane = bs_session_get_plane (session);
  int slice = bs_session_get_slice_index (session), w, h, coloured = 0, missed = 0;
  BsOverlayOptions opts;
  Wait wait = { 0 };

  bs_session_set_region (session, region);
  bs_session_get_overlay_options (session, &opts);
  export_and_wait (BS_EXPORT_KIND_OVERLAY, path, 0, 0, &wait);
  cairo_surface_t *s = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
  bs_volume_slice_size (prob, plane, &w, &h);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, w);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, h);

  g_autofree float *pred = g_new (float, (gsize) w * h);
  g_autofree float *grey = g_new (float, (gsize) w * h);
  g_autofree float *tr = g_new0 (float, (gsize) w * h);
  g_assert_true (bs_session_get_region_slice (session, region, plane, slice, pred));
  bs_volume_get_slice (image, bs_session_get_display_channel (session), plane, slice, grey);
  if (truth)
    bs_volume_get_slice (truth, 0, plane, slice, tr);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        int i = y * w + x;
        uint32_t p = pixel (s, x, y);
        int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
        double t = opts.hi > opts.lo ? (grey[i] - opts.lo) / (opts.hi - opts.lo) : (grey[i] > opts.lo);
        int level = (int) lrint (CLAMP (t, 0.0, 1.0) * 255);
        gboolean pm = pred[i] > 0.5f, tm = tr[i] > 0.5f;
        const double *c = NULL;

        if (truth)
          c = pm && tm ? BS_COLOR_TP : pm ? BS_COLOR_FP : tm ? BS_COLOR_FN : NULL;
        else if (pm)
          c = BS_COLOR_PREDICTION;
        if (c == NULL || opts.style == BS_OVERLAY_OUTLINE)
          {
            /* Outline pixels depend on neighbours: only the pixels off every mask must be plain grey. */
            if (c == NULL)
              {
                g_assert_cmpint (abs (r - level), <=, 1);
                g_assert_cmpint (g, ==, r);
                g_assert_cmpint (b, ==, r);
              }
            continue;
          }
        g_assert_cmpint (abs (r - blend (level, c[0], opts.opacity)), <=, 1);
        g_assert_cmpint (abs (g - blend (level, c[1], opts.opacity)), <=, 1);
        g_assert_cmpint (abs (b - blend (level, c[2], opts.opacity)), <=, 1);
        coloured++;
        missed += c == BS_COLOR_FN || c == BS_COLOR_FP;
      }
  g_test_message ("overlay of %s: %d mask pixels checked against their colour, %d of them errors",
                  bs_region_name (region), coloured, missed);
  g_assert_cmpint (coloured, >, 0);

  /* A series shows the same: its image of this slice is this overlay, pixel
   * for pixel (review finding: the series ignored the region and the
   * confusion colours). */
  {
    g_autofree char *dir = g_strdup_printf ("%s/series-%s", tmpdir, bs_region_name (region));
    g_autofree char *name = g_strdup_printf ("%s-%03d.png", bs_plane_name (plane), slice);
    g_autofree char *one = g_build_filename (dir, name, NULL);
    Wait w2 = { 0 };
    cairo_surface_t *t;

    export_and_wait (BS_EXPORT_KIND_SERIES, dir, 0, 0, &w2);
    t = cairo_image_surface_create_from_png (one);
    g_assert_cmpint (cairo_surface_status (t), ==, CAIRO_STATUS_SUCCESS);
    g_assert_cmpint (cairo_image_surface_get_width (t), ==, w);
    g_assert_cmpint (cairo_image_surface_get_height (t), ==, h);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        g_assert_cmphex (pixel (t, x, y), ==, pixel (s, x, y));
    cairo_surface_destroy (t);
  }
  cairo_surface_destroy (s);
  bs_session_set_region (session, BS_REGION_WT);
}

/* Every save dialog (the exports, Compare all's chart and table) starts
 * where the last export went while that folder exists, else at home (walk
 * finding: Compare all's opened in the folder the program started in). */
static void
test_start_folder (void)
{
  g_autofree char *sub = g_build_filename (tmpdir, "start-here", NULL);
  g_autofree char *file = g_build_filename (sub, "chart.png", NULL);
  g_autofree char *gone = g_build_filename (tmpdir, "gone", "chart.png", NULL);
  g_autofree char *a = NULL, *b = NULL;

  g_assert_cmpint (g_mkdir_with_parents (sub, 0755), ==, 0);
  bs_export_remember_folder (file);
  a = bs_export_start_folder ();
  g_assert_cmpstr (a, ==, sub);
  bs_export_remember_folder (gone);
  b = bs_export_start_folder ();
  g_assert_cmpstr (b, ==, g_get_home_dir ());
  g_rmdir (sub);
}

static void
test_overlay (void)
{
  BsSession *session = bs_window_get_session (win);

  check_overlay (BS_REGION_WT);
  /* The enhancing tumour, where the labels and the model have it. */
  if (bs_session_get_truth_region (session, BS_REGION_ET) != NULL && bs_session_model_has_region (session, BS_REGION_ET))
    check_overlay (BS_REGION_ET);
  else
    g_test_message ("no enhancing tumour in the labels or the model: the region overlay is not checked");
}

/* With the window's default (the dialog's check box on), the overlay has its
 * caption, letters and legend around the slice, and the slice's pixels are
 * those of the bare export, none covered. */
static void
test_overlay_annotated (void)
{
  g_autofree char *plain_path = g_build_filename (tmpdir, "overlay-plain.png", NULL);
  g_autofree char *path = g_build_filename (tmpdir, "overlay-annotated.png", NULL);
  const BsVolume *prob = bs_session_get_probability_volume (bs_window_get_session (win));
  BsPlane plane = bs_session_get_plane (bs_window_get_session (win));
  BsOverlayOptions opts;
  BsExportOverlayLayout lay;
  Wait w1 = { 0 }, w2 = { 0 };
  int w, h, text = 0;

  export_and_wait (BS_EXPORT_KIND_OVERLAY, plain_path, 0, 0, &w1);
  export_and_wait_full (BS_EXPORT_KIND_OVERLAY, path, 0, 0, TRUE, &w2);
  bs_session_get_overlay_options (bs_window_get_session (win), &opts);
  opts.annotate = TRUE;
  bs_volume_slice_size (prob, plane, &w, &h);
  bs_export_overlay_layout (w, h, &opts, 0, 0, &lay);
  cairo_surface_t *plain = cairo_image_surface_create_from_png (plain_path);
  cairo_surface_t *s = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, lay.width);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, lay.height);
  g_assert_cmpint (lay.height, >, h);
  g_assert_cmpfloat (lay.scale, ==, 1.0);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      g_assert_cmphex (pixel (s, x + (int) lay.x, y + (int) lay.y) & 0xffffff, ==, pixel (plain, x, y) & 0xffffff);
  /* The caption band above the slice holds text. */
  for (int y = 0; y < (int) lay.y; y++)
    for (int x = 0; x < lay.width; x++)
      text += (pixel (s, x, y) & 0xff) > 128;
  g_test_message ("annotated overlay %dx%d, slice at (%g, %g), %d bright caption pixels", lay.width, lay.height,
                  lay.x, lay.y, text);
  g_assert_cmpint (text, >, 50);
  cairo_surface_destroy (s);
  cairo_surface_destroy (plain);
}

static void
test_figure (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "figure.png", NULL);
  Wait wait = { 0 };

  export_and_wait (BS_EXPORT_KIND_FIGURE, path, 1200, 480, &wait);
  cairo_surface_t *s = cairo_image_surface_create_from_png (path);
  g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, 1200);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, 480);
  cairo_surface_destroy (s);
  if (g_getenv ("BS_SCREENSHOT_DIR"))
    {
      g_autofree char *keep = g_build_filename (g_getenv ("BS_SCREENSHOT_DIR"), "export-figure.png", NULL);
      g_autofree char *contents = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
      g_assert_true (g_file_set_contents (keep, contents, len, NULL));
    }
}

static void
test_mask (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "mask.nii.gz", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsVolume) back = NULL;
  Wait wait = { 0 };

  export_and_wait (BS_EXPORT_KIND_MASK, path, 0, 0, &wait);
  back = bs_volume_load_nifti (path, TRUE, &error);
  g_assert_no_error (error);
  /* The window has filled the whole volume by now (we waited for idle), so
   * the file equals its probability volume thresholded. */
  const BsVolume *prob = bs_session_get_probability_volume (bs_window_get_session (win));
  g_assert_cmpint (back->dims[0], ==, prob->dims[0]);
  g_assert_cmpint (back->dims[2], ==, prob->dims[2]);
  for (gsize v = 0; v < bs_volume_n_voxels (prob); v++)
    g_assert_cmpfloat (back->data[v], ==, prob->data[v] > 0.5f ? 1.0f : 0.0f);
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 4; c++)
      g_assert_cmpfloat_with_epsilon (back->affine[r][c], bs_session_get_case (bs_window_get_session (win))->image->affine[r][c], 1e-4);
}

static void
test_csv_and_series (void)
{
  g_autofree char *csv = g_build_filename (tmpdir, "dice.csv", NULL);
  g_autofree char *dir = g_build_filename (tmpdir, "series", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  int n = bs_volume_n_slices (bs_session_get_probability_volume (bs_window_get_session (win)), bs_session_get_plane (bs_window_get_session (win)));
  Wait w1 = { 0 }, w2 = { 0 };
  GDir *d;
  int files = 0;

  export_and_wait (BS_EXPORT_KIND_DICE_CSV, csv, 0, 0, &w1);
  g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpint (g_strv_length (lines), ==, n + 2);
  /* the file says whether its Dice is after the window's clean-up */
  g_assert_true (g_str_has_suffix (lines[0], ",cleanup"));
  g_assert_true (g_str_has_suffix (lines[1], bs_session_get_cleanup_enabled (bs_window_get_session (win))
                                               ? ",on" : ",off"));

  export_and_wait (BS_EXPORT_KIND_SERIES, dir, 0, 0, &w2);
  g_assert_cmpint (w2.progress_calls, >=, 1);
  d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  while (g_dir_read_name (d))
    files++;
  g_dir_close (d);
  g_assert_cmpint (files, ==, n);
}

/* A name typed with another kind's extension gets this kind's in its place
 * (walk finding: a PNG named "x.nii.gz" was written as "x.nii.gz.png"). */
static void
test_extension_replaced (void)
{
  static const char *const cases[][3] = {
    { "/d/x", ".png", "/d/x.png" },
    { "/d/x.PNG", ".png", "/d/x.PNG" },
    { "/d/x.nii.gz", ".png", "/d/x.png" },
    { "/d/x.NII", ".png", "/d/x.png" },
    { "/d/x.csv", ".png", "/d/x.png" },
    { "/d/x.png", ".nii.gz", "/d/x.nii.gz" },
    { "/d/x.nii.gz", ".csv", "/d/x.csv" },
    { "/d/case.v2", ".csv", "/d/case.v2.csv" },
    { "/d/.png", ".csv", "/d/.png.csv" },        /* a hidden name, not an extension */
    { "/d.png/x", ".csv", "/d.png/x.csv" },      /* the folder's name is not the file's */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *named = bs_export_add_extension (cases[i][0], cases[i][1]);

      g_assert_cmpstr (named, ==, cases[i][2]);
    }
}

static void
test_failed_export (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "missing", "figure.png", NULL);
  Wait w = { 0 };

  bs_export_to_path_async (bs_window_get_session (win), BS_EXPORT_KIND_FIGURE, path, 0, 0, FALSE, BS_LABELS_BINARY, NULL, NULL, NULL, on_done, &w);
  g_assert_true (wait_until (wait_done, &w, 60));
  g_assert_false (w.ok);
  g_assert_nonnull (w.error);
  g_assert_nonnull (strstr (w.error->message, path));
  g_clear_error (&w.error);
}

/* Issue 14, finding 16: a mask (a whole volume to compute) into a folder that
 * does not exist fails at once, naming the folder, not a temporary file. */
static void
test_missing_folder (void)
{
  g_autofree char *dir = g_build_filename (tmpdir, "no-such-folder", NULL);
  g_autofree char *path = g_build_filename (dir, "mask.nii.gz", NULL);
  g_autofree char *series = g_build_filename (dir, "series", NULL);
  Wait w = { 0 }, w2 = { 0 };

  bs_export_to_path_async (bs_window_get_session (win), BS_EXPORT_KIND_MASK, path, 0, 0, FALSE, BS_LABELS_BINARY, on_progress, &w, NULL,
                           on_done, &w);
  g_assert_true (wait_until (wait_done, &w, 5));
  g_assert_false (w.ok);
  g_assert_cmpint (w.progress_calls, ==, 0);  /* nothing was computed for it */
  g_assert_nonnull (strstr (w.error->message, dir));
  g_assert_nonnull (strstr (w.error->message, "does not exist"));
  g_assert_null (strstr (w.error->message, "mask.nii.gz."));
  g_clear_error (&w.error);
  bs_export_to_path_async (bs_window_get_session (win), BS_EXPORT_KIND_SERIES, series, 0, 0, FALSE, BS_LABELS_BINARY, NULL, NULL, NULL,
                           on_done, &w2);
  g_assert_true (wait_until (wait_done, &w2, 5));
  g_assert_false (w2.ok);
  g_assert_nonnull (strstr (w2.error->message, dir));
  g_clear_error (&w2.error);
}

/* An export never writes over a file of the open case (helper finding: a
 * mask saved over the case's label replaced its ground truth): every one of
 * them is refused at once, by name, and left as it was. */
static void
test_not_over_case (void)
{
  BsSession *session = bs_window_get_session (win);
  g_auto(GStrv) files = bs_dataset_get_case_files (bs_session_get_dataset (session),
                                                   (guint) bs_session_get_case_index (session));

  g_assert_cmpuint (g_strv_length (files), >=, 2);
  for (int i = 0; files[i]; i++)
    {
      g_autofree char *before = NULL, *after = NULL;
      gsize n_before = 0, n_after = 0;
      Wait w = { 0 };

      if (!g_file_test (files[i], G_FILE_TEST_EXISTS))
        continue;
      g_assert_true (g_file_get_contents (files[i], &before, &n_before, NULL));
      bs_export_to_path_async (session, BS_EXPORT_KIND_MASK, files[i], 0, 0, FALSE, BS_LABELS_BINARY, on_progress, &w,
                               NULL, on_done, &w);
      g_assert_true (wait_until (wait_done, &w, 5));
      g_assert_false (w.ok);
      g_assert_cmpint (w.progress_calls, ==, 0);
      g_assert_nonnull (strstr (w.error->message, files[i]));
      g_assert_true (g_file_get_contents (files[i], &after, &n_after, NULL));
      g_assert_cmpmem (before, n_before, after, n_after);
      g_clear_error (&w.error);
    }
}

/* The shown toplevel window of type (a file chooser, an error dialog), or NULL. */
static GtkWidget *
find_shown (GType type)
{
  GListModel *tops = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (tops); i++)
    {
      g_autoptr(GObject) w = g_list_model_get_item (tops, i);
      if (G_TYPE_CHECK_INSTANCE_TYPE (w, type) && gtk_widget_get_visible (GTK_WIDGET (w)))
        return GTK_WIDGET (w);
    }
  return NULL;
}

static GtkWidget *
find_chooser (void)
{
  return find_shown (GTK_TYPE_FILE_CHOOSER_DIALOG);
}

static gboolean
chooser_shown (gpointer data)
{
  return find_chooser () != NULL;
}

/* The save dialog shown: the name typed into folder dir, accepted. */
static void
answer_chooser (GFile *dir, const char *name)
{
  GtkWidget *chooser;

  bs_test_spin (500);  /* the chooser loads its folder */
  chooser = find_chooser ();
  g_assert_nonnull (chooser);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), dir, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), name);
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_IS_REGULAR);
}

static gboolean
label_with_text (GtkWidget *root, const char *text)
{
  if (GTK_IS_LABEL (root) && gtk_widget_get_child_visible (root)
      && strstr (gtk_label_get_text (GTK_LABEL (root)), text) != NULL)
    return TRUE;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c; c = gtk_widget_get_next_sibling (c))
    if (label_with_text (c, text))
      return TRUE;
  return FALSE;
}

/* Issue 14, finding 16, through the dialog a user sees: the chooser starts in
 * the home folder (not wherever the program was started) with a file name
 * suggested, the window says where the export went, and the next export
 * starts in that folder. */
static void
test_dialog_flow (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "from-dialog.png", NULL);
  g_autofree char *suggested = bs_export_suggested_name (bs_window_get_session (win), BS_EXPORT_KIND_OVERLAY);
  g_autoptr(GFile) folder = NULL, dir = g_file_new_for_path (tmpdir);
  g_autofree char *folder_path = NULL, *name = NULL;
  GtkWidget *chooser;

  bs_export_dialog_run (GTK_WINDOW (win), bs_window_get_session (win), BS_EXPORT_KIND_OVERLAY);
  if (!wait_until (chooser_shown, NULL, 10))
    {
      g_test_skip ("the file chooser is not a GtkFileChooserDialog here (a portal?)");
      return;
    }
  bs_test_spin (500);  /* the chooser loads its folder */
  chooser = find_chooser ();
  folder = gtk_file_chooser_get_current_folder (GTK_FILE_CHOOSER (chooser));
  folder_path = folder ? g_file_get_path (folder) : NULL;
  g_assert_cmpstr (folder_path, ==, g_get_home_dir ());
  name = gtk_file_chooser_get_current_name (GTK_FILE_CHOOSER (chooser));
  g_assert_cmpstr (name, ==, suggested);
  /* The dialog the user sees starts on the size the code chose (GTK 4.8
   * showed the first option whatever gtk_file_chooser_set_choice said). */
  g_assert_cmpstr (gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (chooser), "size"), ==, "960x960");
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), dir, NULL);
  /* A name typed without its extension gets it. */
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), "from-dialog");
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
  g_assert_true (wait_until (file_exists, path, 60));
  {
    g_autoptr(GdkTexture) png = gdk_texture_new_from_filename (path, NULL);

    g_assert_nonnull (png);
    g_assert_cmpint (MAX (gdk_texture_get_width (png), gdk_texture_get_height (png)), ==, 960);
  }
  bs_test_spin (300);
  g_assert_true (label_with_text (GTK_WIDGET (win), "from-dialog.png"));

  /* the next export starts where this one went */
  bs_export_dialog_run (GTK_WINDOW (win), bs_window_get_session (win), BS_EXPORT_KIND_FIGURE);
  g_assert_true (wait_until (chooser_shown, NULL, 10));
  bs_test_spin (500);
  chooser = find_chooser ();
  g_clear_object (&folder);
  g_clear_pointer (&folder_path, g_free);
  folder = gtk_file_chooser_get_current_folder (GTK_FILE_CHOOSER (chooser));
  folder_path = folder ? g_file_get_path (folder) : NULL;
  g_assert_cmpstr (folder_path, ==, tmpdir);
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_CANCEL);
  bs_test_spin (200);
}

static gboolean
compare_finished (gpointer data)
{
  return !bs_compare_dialog_is_running (data) && bs_compare_dialog_get_result (data) != NULL;
}

static gboolean
saved_shown (gpointer text)
{
  return label_with_text (GTK_WIDGET (win), text);
}

static GtkWidget *
find_error_dialog (void)
{
  return find_shown (GTK_TYPE_MESSAGE_DIALOG);
}

static gboolean
error_shown (gpointer data)
{
  return find_error_dialog () != NULL;
}

/* A name typed without its extension whose extended name exists already:
 * the dialog asked about the name as typed, so the export is refused with an
 * error that names the file, and the file is left as it was. */
static void
test_dialog_refuses_unasked_replace (void)
{
  g_autofree char *path = g_build_filename (tmpdir, "kept.png", NULL);
  g_autoptr(GFile) dir = g_file_new_for_path (tmpdir);
  g_autofree char *after = NULL;
  GtkWidget *dialog;

  g_assert_true (g_file_set_contents (path, "not a png", -1, NULL));
  bs_export_dialog_run (GTK_WINDOW (win), bs_window_get_session (win), BS_EXPORT_KIND_OVERLAY);
  if (!wait_until (chooser_shown, NULL, 10))
    {
      g_test_skip ("the file chooser is not a GtkFileChooserDialog here (a portal?)");
      return;
    }
  answer_chooser (dir, "kept");
  g_assert_true (wait_until (error_shown, NULL, 10));
  dialog = find_error_dialog ();
  g_assert_true (label_with_text (dialog, "kept.png"));
  g_assert_true (label_with_text (dialog, "already exists"));
  gtk_window_destroy (GTK_WINDOW (dialog));
  bs_test_spin (500);
  g_assert_true (g_file_get_contents (path, &after, NULL, NULL));
  g_assert_cmpstr (after, ==, "not a png");
}

/* The mask through the dialog: a region model's starts as the label map of
 * the case's convention, and a name typed without an extension is written
 * as .nii.gz. */
static void
test_dialog_mask (void)
{
  BsSession *session = bs_window_get_session (win);
  g_autofree char *path = g_build_filename (tmpdir, "typed-mask.nii.gz", NULL);
  g_autoptr(GFile) dir = g_file_new_for_path (tmpdir);
  g_autoptr(BsVolume) back = NULL;
  g_autoptr(GError) error = NULL;
  BsCase *c = bs_session_get_case (session);
  const char *expect = c->convention == BS_LABELS_DECATHLON ? "decathlon" : "brats";
  GtkWidget *chooser;
  gboolean above_one = FALSE;

  if (!bs_session_model_has_region (session, BS_REGION_TC) || !bs_session_model_has_region (session, BS_REGION_ET))
    {
      g_test_skip ("the model predicts the whole tumour only: no label map to choose");
      return;
    }
  bs_export_dialog_run (GTK_WINDOW (win), session, BS_EXPORT_KIND_MASK);
  if (!wait_until (chooser_shown, NULL, 10))
    {
      g_test_skip ("the file chooser is not a GtkFileChooserDialog here (a portal?)");
      return;
    }
  bs_test_spin (500);
  chooser = find_chooser ();
  g_assert_cmpstr (gtk_file_chooser_get_choice (GTK_FILE_CHOOSER (chooser), "labels"), ==, expect);
  gtk_file_chooser_set_current_folder (GTK_FILE_CHOOSER (chooser), dir, NULL);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), "typed-mask");
  gtk_dialog_response (GTK_DIALOG (chooser), GTK_RESPONSE_ACCEPT);
  g_assert_true (wait_until (file_exists, path, 60));
  /* The export is finished once the window says where it went. */
  g_assert_true (wait_until (saved_shown, (gpointer) "typed-mask.nii.gz", 60));
  back = bs_volume_load_nifti (path, TRUE, &error);
  g_assert_no_error (error);
  for (gsize v = 0; v < bs_volume_n_voxels (back) && !above_one; v++)
    above_one = back->data[v] > 1.0f;
  /* The sample has a tumour core: a label map has labels over 1. */
  g_assert_true (above_one);
}

static void
test_compare_all (void)
{
  BsCompareDialog *dialog = bs_compare_dialog_new (GTK_WINDOW (win), bs_window_get_session (win));
  g_autofree char *png = g_build_filename (tmpdir, "compare.png", NULL);
  g_autoptr(GError) error = NULL;
  const BsCompareResult *r;
  int pending_w = -1, pending_h = -1;
  graphene_rect_t chart_running = { 0 }, chart_done = { 0 };

  /* One slice per configuration keeps the test short on a busy machine. */
  bs_compare_dialog_set_n_slices (dialog, 1);
  gtk_window_present (GTK_WINDOW (dialog));
  if (bs_compare_dialog_is_running (dialog))
    {
      const BsCompareResult *p = bs_compare_chart_get_result (BS_COMPARE_CHART (bs_compare_dialog_get_chart (dialog)));
      pending_w = p->width;
      pending_h = p->height;
    }
  /* laid out first (under ASan the first frames come late) */
  for (int k = 0; k < 200 && gtk_widget_get_height (bs_compare_dialog_get_chart (dialog)) <= 0; k++)
    bs_test_spin (50);
  bs_test_spin (200);
  g_assert_true (gtk_widget_compute_bounds (bs_compare_dialog_get_chart (dialog), GTK_WIDGET (dialog), &chart_running));
  g_assert_true (wait_until (compare_finished, dialog, 600));
  bs_test_spin (200);
  /* walk finding: the chart moved down as the status above it grew */
  g_assert_true (gtk_widget_compute_bounds (bs_compare_dialog_get_chart (dialog), GTK_WIDGET (dialog), &chart_done));
  g_test_message ("chart at y %.0f while running, %.0f when done", chart_running.origin.y, chart_done.origin.y);
  g_assert_cmpfloat (chart_done.origin.y, ==, chart_running.origin.y);
  g_assert_cmpfloat (chart_done.size.height, ==, chart_running.size.height);
  r = bs_compare_dialog_get_result (dialog);
  /* While running, the heading names no slice size, or the right one (not
   * the whole slice before the brain's window is known). */
  g_test_message ("size while running %dx%d, measured %dx%d", pending_w, pending_h, r->width, r->height);
  g_assert_true (pending_w <= 0 || (pending_w == r->width && pending_h == r->height));
  g_assert_cmpint (r->n_rows, ==, 18);
  g_assert_true (r->rows[r->reference].available);
  /* Issue 14, finding 16: the chart says what it measured. */
  g_assert_nonnull (r->caption);
  g_assert_nonnull (strstr (r->caption, bs_dataset_get_case_id (bs_session_get_dataset (bs_window_get_session (win)),
                                                                bs_session_get_case_index (bs_window_get_session (win)))));
  g_assert_nonnull (strstr (r->caption, "oneDNN"));
  /* walk finding: the threads every row ran on, named once ("batch 1" is the title's) */
  {
    g_autofree char *threads = g_strdup_printf (r->threads_used == 1 ? " %d thread " : " %d threads ", r->threads_used);

    g_assert_nonnull (strstr (r->caption, threads));
    g_assert_null (strstr (r->caption, "batch"));
  }
  /* walk finding: the chart cuts a long reason short, the status line gives it whole */
  for (int i = 0; i < r->n_rows; i++)
    if (!r->rows[i].available && r->rows[i].reason != NULL)
      g_assert_nonnull (strstr (bs_compare_dialog_get_status_text (dialog), r->rows[i].reason));
  g_assert_true (bs_compare_chart_save_png (r, 1600, 1000, png, &error));
  g_assert_no_error (error);

  /* Export Table… with a name typed bare: written as .csv (walk finding:
   * "compare" was written with no extension). */
  {
    g_autofree char *typed = g_build_filename (tmpdir, "typed-table", NULL);
    g_autofree char *csv = g_strconcat (typed, ".csv", NULL), *text = NULL;
    g_autoptr(GFile) dir = g_file_new_for_path (tmpdir);
    GtkWidget *button = bs_test_find_button (GTK_WIDGET (dialog), "Export _Table…");

    g_assert_nonnull (button);
    g_assert_true (gtk_widget_get_sensitive (button));
    g_signal_emit_by_name (button, "clicked");
    if (wait_until (chooser_shown, NULL, 10))
      {
        answer_chooser (dir, "typed-table");
        g_assert_true (wait_until (file_exists, csv, 30));
        g_assert_false (g_file_test (typed, G_FILE_TEST_EXISTS));
        g_assert_true (g_file_get_contents (csv, &text, NULL, NULL));
        g_assert_nonnull (strstr (text, "fp32"));
      }
  }

  if (g_getenv ("BS_SCREENSHOT_DIR"))
    {
      /* What the user sees: the dialog itself, as GTK renders it. */
      g_autofree char *keep = g_build_filename (g_getenv ("BS_SCREENSHOT_DIR"), "compare-all.png", NULL);
      g_autofree char *chart = g_build_filename (g_getenv ("BS_SCREENSHOT_DIR"), "compare-chart.png", NULL);

      g_assert_nonnull (bs_compare_dialog_get_chart (dialog));
      bs_test_spin (300);
      g_assert_true (bs_test_save_png (GTK_WIDGET (dialog), keep, &error));
      g_assert_no_error (error);
      g_assert_true (bs_compare_chart_save_png (r, 1600, 1000, chart, &error));
    }
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static gboolean
volume_done (BsWindow *w)
{
  return !bs_session_is_busy (bs_window_get_session (w));
}

static gboolean
some_slices (BsWindow *w)
{
  return bs_session_get_n_computed_slices (bs_window_get_session (w)) >= 20;
}

static gboolean
volume_cleaned (BsWindow *w)
{
  BsSession *s = bs_window_get_session (w);

  return bs_session_volume_complete (s) && bs_session_get_cleanup (s, NULL) && !bs_session_is_busy (s);
}

/* Review finding: a whole-volume export started with slices still missing
 * (a Stop) segmented them but left the clean-up out, where infer and the
 * window's own volume have it.  Now the file equals the window's mask once
 * the window has finished and cleaned up the same volume. */
static void
test_mask_cleaned_with_slices_missing (void)
{
  BsSession *s = bs_window_get_session (win);
  g_autofree char *path = g_build_filename (tmpdir, "mask-partial.nii.gz", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(BsVolume) back = NULL;
  const BsVolume *prob;
  BsPlanOptions opts;
  BsCleanupStats st;
  gsize differ = 0;
  Wait wait = { 0 };

  bs_session_set_cleanup (s, TRUE);
  bs_session_get_plan_options (s, &opts);
  opts.three_planes = FALSE;
  opts.batch = 2;
  bs_session_set_plan_options (s, &opts);
  opts.batch = 1;   /* the export fills the missing slices at batch 1: the window too */
  bs_session_set_plan_options (s, &opts);
  g_action_group_activate_action (G_ACTION_GROUP (win), "resume-fill", NULL);
  g_assert_true (bs_test_wait (win, some_slices, 300));
  g_action_group_activate_action (G_ACTION_GROUP (win), "cancel-fill", NULL);
  g_assert_true (bs_test_wait (win, volume_done, 60));
  g_test_message ("exporting with %d of %d slices computed", bs_session_get_n_computed_slices (s),
                  bs_session_get_n_net_slices (s));
  g_assert_false (bs_session_volume_complete (s));
  export_and_wait (BS_EXPORT_KIND_MASK, path, 0, 0, &wait);
  back = bs_volume_load_nifti (path, TRUE, &error);
  g_assert_no_error (error);

  g_action_group_activate_action (G_ACTION_GROUP (win), "resume-fill", NULL);
  g_assert_true (bs_test_wait (win, volume_cleaned, 600));
  g_assert_true (bs_session_get_cleanup (s, &st));
  /* the clean-up did change the mask here, so leaving it out would show */
  g_assert_cmpuint (st.removed, >, 0);
  prob = bs_session_get_probability_volume (s);
  for (gsize v = 0; v < bs_volume_n_voxels (prob); v++)
    differ += back->data[v] != (prob->data[v] > 0.5f ? 1.0f : 0.0f);
  g_test_message ("%" G_GUINT64_FORMAT " islands' voxels removed; %" G_GSIZE_FORMAT " voxels differ", st.removed,
                  differ);
  g_assert_cmpuint (differ, ==, 0);
}

static gboolean
prediction_shown (BsWindow *w)
{
  return bs_window_get_displayed_slice_index_of_prediction (w) == bs_session_get_slice_index (bs_window_get_session (w));
}

int
main (int argc, char **argv)
{
  GtkApplication *app = NULL;
  int status, slice;

  bs_test_init (&argc, &argv);
  win = bs_test_open_window (&app);
  if (win == NULL)
    {
      g_print ("1..0 # SKIP no sample: set BRAINSEG_SAMPLE or build the bundled sample\n");
      return 77;
    }
  tmpdir = g_dir_make_tmp ("bs-ui-export-XXXXXX", NULL);
  if (!bs_test_wait (win, volume_done, 600))
    g_error ("the window did not finish segmenting the sample within 10 minutes");
  slice = bs_test_tumour_slice (win);
  if (slice >= 0)
    bs_session_set_slice_index (bs_window_get_session (win), slice);
  if (!bs_test_wait (win, prediction_shown, 120))
    g_error ("no prediction for slice %d within 2 minutes", slice);

  g_test_add_func ("/ui-export/start-folder", test_start_folder);
  g_test_add_func ("/ui-export/overlay", test_overlay);
  g_test_add_func ("/ui-export/overlay-annotated", test_overlay_annotated);
  g_test_add_func ("/ui-export/figure", test_figure);
  g_test_add_func ("/ui-export/mask", test_mask);
  g_test_add_func ("/ui-export/mask-cleaned-with-slices-missing", test_mask_cleaned_with_slices_missing);
  g_test_add_func ("/ui-export/csv-series", test_csv_and_series);
  g_test_add_func ("/ui-export/extension-replaced", test_extension_replaced);
  g_test_add_func ("/ui-export/failed", test_failed_export);
  g_test_add_func ("/ui-export/missing-folder", test_missing_folder);
  g_test_add_func ("/ui-export/not-over-case", test_not_over_case);
  g_test_add_func ("/ui-export/dialog-flow", test_dialog_flow);
  g_test_add_func ("/ui-export/dialog-mask", test_dialog_mask);
  g_test_add_func ("/ui-export/dialog-refuses-unasked-replace", test_dialog_refuses_unasked_replace);
  g_test_add_func ("/ui-export/compare-all", test_compare_all);
  status = g_test_run ();

  gtk_window_destroy (GTK_WINDOW (win));
  g_object_unref (app);
  {
    g_autofree char *rm = g_strdup_printf ("rm -rf '%s'", tmpdir);
    g_spawn_command_line_sync (rm, NULL, NULL, NULL, NULL);
  }
  g_free (tmpdir);
  return status;
}
