/* BsDiceChart: Dice of every slice along the volume as bars, slices not yet
 * computed left empty, the current slice marked. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define BS_TYPE_DICE_CHART (bs_dice_chart_get_type ())
G_DECLARE_FINAL_TYPE (BsDiceChart, bs_dice_chart, BS, DICE_CHART, GtkWidget)

GtkWidget *bs_dice_chart_new (void);
/* n slices; every value NaN (not computed). */
void bs_dice_chart_reset (BsDiceChart *self, int n);
/* Dice of one slice; truth_empty marks slices with nothing to find. */
void bs_dice_chart_set_value (BsDiceChart *self, int slice, double dice, gboolean truth_empty);
void bs_dice_chart_set_current (BsDiceChart *self, int slice);
/* The slice under x (widget coordinates), or -1 without slices.  A click or a
 * drag emits "slice-activated" (int slice) with it. */
int bs_dice_chart_slice_at (BsDiceChart *self, double x);

/* A line shown over the plot (e.g. why it is empty), or NULL for none. */
void bs_dice_chart_set_message (BsDiceChart *self, const char *message);
const char *bs_dice_chart_get_message (BsDiceChart *self);
/* What the slice numbers count ("Coronal slice"), drawn under the plot where
 * it fits between the numbers; NULL for none. */
void bs_dice_chart_set_axis_title (BsDiceChart *self, const char *title);
const char *bs_dice_chart_get_axis_title (BsDiceChart *self);
/* Whether the title fitted the last time the chart was drawn. */
gboolean bs_dice_chart_axis_title_drawn (BsDiceChart *self);
/* The tooltip over a slice's bar: the slice, its Dice (or why there is
 * none), then what the chart shows; slice -1: that alone. */
char *bs_dice_chart_tooltip_text (BsDiceChart *self, int slice);

G_END_DECLS
