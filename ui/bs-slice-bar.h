/* The slice slider under the views, with a tick where the ground truth has
 * tumour, and the slice label ("Axial 53 (0–95)": the file's voxel index, from
 * 0, as in the readout, the exported file names and the CSV). */
#pragma once

#include <gtk/gtk.h>

#include "bs-session.h"

G_BEGIN_DECLS

#define BS_TYPE_SLICE_BAR (bs_slice_bar_get_type ())
G_DECLARE_FINAL_TYPE (BsSliceBar, bs_slice_bar, BS, SLICE_BAR, GtkBox)

void bs_slice_bar_set_session (BsSliceBar *self, BsSession *session);
const char *bs_slice_bar_get_text (BsSliceBar *self);
/* How many slices the bar marks as holding the chosen region in the truth. */
int bs_slice_bar_get_n_marks (BsSliceBar *self);

G_END_DECLS
