/* What bs-window.c and bs-window-actions.c share. */
#pragma once

#include <gtk/gtk.h>

#include "bs-case-sidebar.h"
#include "bs-dice-panel.h"
#include "bs-options-panel.h"
#include "bs-progress-row.h"
#include "bs-slice-bar.h"
#include "bs-slice-views.h"
#include "bs-timing-panel.h"
#include "bs-view-toolbar.h"
#include "bs-window.h"

G_BEGIN_DECLS

struct _BsWindow
{
  GtkApplicationWindow parent_instance;

  BsSession *session;
  GSettings *settings;     /* NULL without a schema: defaults, nothing remembered */
  GMenu *recent_menu;

  /* Template children */
  GtkMenuButton *recent_button;
  GtkButton *model_button;
  GtkRevealer *note_revealer;
  GtkLabel *note_label;
  BsCaseSidebar *case_sidebar;
  BsViewToolbar *view_toolbar;
  BsSliceViews *slice_views;
  BsSliceBar *slice_bar;
  BsProgressRow *progress_row;
  BsDicePanel *dice_panel;
  BsTimingPanel *timing_panel;
  BsOptionsPanel *options_panel;

  double brush_radius;     /* the correction brush's radius in image pixels */
  GCancellable *mask_cancellable;  /* a mask file being read (win.open-mask), else NULL */
};

/* bs-window-actions.c: installs the win.* actions (some bound to the
 * session's properties) and the keys that act wherever the focus is. */
void bs_window_install_actions (BsWindow *self);
/* Drops the actions bound to the session's properties, so that a session
 * that outlives the window (an open still finishing) never changes the
 * state of an action of a window that is gone. */
void bs_window_uninstall_session_actions (BsWindow *self);
/* Updates the state of win.view-mode and win.plane from the session. */
void bs_window_sync_view_actions (BsWindow *self);
/* bs-window-edit.c: the correction brush (win.brush: 'off', 'paint',
 * 'erase'; win.brush-smaller, win.brush-larger), win.undo-edit,
 * win.redo-edit and win.open-mask (a segmentation file as one correction;
 * win.open-mask-file takes its path), enabled as the session allows. */
void bs_window_install_edit_actions (BsWindow *self);
void bs_window_show_chooser (BsWindow *self, const char *title, GtkFileChooserAction mode, gboolean model);

G_END_DECLS
