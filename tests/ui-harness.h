/* Shared helpers of the UI tests: a real BsWindow in a real main loop. */
#pragma once

#include <gtk/gtk.h>

#include "bs-window.h"

/* g_test_init + gtk_init; criticals stay fatal, warnings from the desktop
 * environment (no session bus under Xvfb) do not. */
void bs_test_init (int *argc, char ***argv);
/* Spins the main loop until cond(win) holds or timeout_s passes; returns cond's last value. */
gboolean bs_test_wait (BsWindow *win, gboolean (*cond) (BsWindow *), double timeout_s);
/* Spins the main loop for ms milliseconds. */
void bs_test_spin (int ms);
/* Renders the window as it is on screen to a PNG. */
gboolean bs_test_save_png (GtkWidget *widget, const char *path, GError **error);
/* The path the UI tests open: $BRAINSEG_SAMPLE, else the bundled sample, else NULL (skip). */
char *bs_test_sample_path (void);
/* The slice of the current plane with the most ground-truth tumour, or -1. */
int bs_test_tumour_slice (BsWindow *win);

/* The first button under root whose label is label (mnemonic "_" included), or NULL. */
GtkWidget *bs_test_find_button (GtkWidget *root, const char *label);
/* A new window of app that starts from the schema's defaults: the window
 * remembers the options a user sets (GSettings, in memory under the tests),
 * so a window made after a test that switched to int8 would start in int8. */
BsWindow *bs_test_new_window (GtkApplication *app);
/* Every remembered option back to the schema's default (not the recent list). */
void bs_test_reset_settings (void);
/* A window on the sample, waiting for the first prediction of the visible slice. */
BsWindow *bs_test_open_window (GtkApplication **app_out);
/* A test program's one window: opened on the first call (its background fill
 * stopped: it would only slow the checks down on a shared CPU), kept after;
 * FALSE, the test skipped, without a sample. */
gboolean bs_test_window_once (BsWindow **win, GtkApplication **app);
/* Asks for a w x h window and gives it up to 10 s to take that size (a
 * window that cannot fit stays larger: the caller's assertions see it);
 * then lets the layout settle.  A fixed 500 ms was too short under
 * AddressSanitizer beside other work (the window still measured 1550x990). */
void bs_test_resize (BsWindow *win, int w, int h);
/* Closes that window, if it was opened, and lets the application go. */
void bs_test_window_close (BsWindow *win, GtkApplication *app);
/* The first widget under root (root included) of type, or NULL. */
GtkWidget *bs_test_find_widget (GtkWidget *root, GType type);
/* The first label under root whose text is text, or contains it with
 * substring; NULL when there is none. */
GtkWidget *bs_test_find_label (GtkWidget *root, const char *text, gboolean substring);
