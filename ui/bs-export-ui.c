#include "bs-export-ui.h"

#include "bs-compare-dialog.h"
#include "bs-export-dialog.h"

static void
run_export (BsWindow *win, gpointer user_data)
{
  bs_export_dialog_run (win, (BsExportKind) GPOINTER_TO_INT (user_data));
}

static void
run_compare (BsWindow *win, gpointer user_data)
{
  gtk_window_present (GTK_WINDOW (bs_compare_dialog_new (win)));
}

void
bs_export_ui_register (void)
{
  bs_window_register_action_hook ("export-overlay", run_export, GINT_TO_POINTER (BS_EXPORT_KIND_OVERLAY));
  bs_window_register_action_hook ("export-figure", run_export, GINT_TO_POINTER (BS_EXPORT_KIND_FIGURE));
  bs_window_register_action_hook ("export-mask", run_export, GINT_TO_POINTER (BS_EXPORT_KIND_MASK));
  bs_window_register_action_hook ("export-dice-csv", run_export, GINT_TO_POINTER (BS_EXPORT_KIND_DICE_CSV));
  bs_window_register_action_hook ("export-series", run_export, GINT_TO_POINTER (BS_EXPORT_KIND_SERIES));
  bs_window_register_action_hook ("compare-all", run_compare, NULL);
}
