/* A row of the case list (resources/ui/bs-case-row.ui). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define BS_TYPE_CASE_ROW (bs_case_row_get_type ())
G_DECLARE_FINAL_TYPE (BsCaseRow, bs_case_row, BS, CASE_ROW, GtkListBoxRow)

/* The row of dataset case index, shown as id; has_truth FALSE says so in the tooltip. */
GtkWidget *bs_case_row_new (const char *id, int index, gboolean has_truth);
int bs_case_row_get_index (BsCaseRow *self);
/* The case's whole-volume Dice under its id; NaN hides it. */
void bs_case_row_set_dice (BsCaseRow *self, double dice);

G_END_DECLS
