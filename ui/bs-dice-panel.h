/* The Dice section: this slice, the whole volume (after the clean-up, with
 * the raw value beside it), how many slices are computed, and the per-slice
 * chart. */
#pragma once

#include <gtk/gtk.h>

#include "bs-session.h"

G_BEGIN_DECLS

#define BS_TYPE_DICE_PANEL (bs_dice_panel_get_type ())
G_DECLARE_FINAL_TYPE (BsDicePanel, bs_dice_panel, BS, DICE_PANEL, GtkBox)

void bs_dice_panel_set_session (BsDicePanel *self, BsSession *session);
/* What the labels show (tests, the window's panel-text getter). */
const char *bs_dice_panel_get_missing_text (BsDicePanel *self);
const char *bs_dice_panel_get_title_text (BsDicePanel *self);
const char *bs_dice_panel_get_slice_text (BsDicePanel *self);
const char *bs_dice_panel_get_volume_text (BsDicePanel *self);
/* The regions table: column 0 this slice, 1 the volume, 2 HD95, 3 the
 * predicted volume in ml with the truth's in brackets; and
 * whether the region can be chosen for the chart and overlay. */
const char *bs_dice_panel_get_region_text (BsDicePanel *self, BsRegion region, int column);
gboolean bs_dice_panel_region_selectable (BsDicePanel *self, BsRegion region);

G_END_DECLS
