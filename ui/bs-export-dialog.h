/* The window's exports: a file chooser (with a resolution choice for the
 * overlay and the figure), the export in a worker thread, a progress window
 * for the long ones, and errors as dialogs that name the file. */
#pragma once

#include <gtk/gtk.h>

#include "bs-export-names.h"
#include "bs-session.h"

G_BEGIN_DECLS

typedef enum {
  BS_EXPORT_KIND_OVERLAY,    /* overlay PNG of the visible slice */
  BS_EXPORT_KIND_FIGURE,     /* MRI input | Ground truth | Prediction PNG */
  BS_EXPORT_KIND_MASK,       /* predicted mask, NIfTI */
  BS_EXPORT_KIND_DICE_CSV,   /* per-slice Dice, CSV */
  BS_EXPORT_KIND_SERIES,     /* every slice as PNG, into a folder */
} BsExportKind;

/* The name a user typed with the file type's extension when it has none
 * (and ".nii.gz" for a mask typed "mask.gz"); a series keeps its name
 * (bs-export-names.c). */
char *bs_export_name_for_kind (BsExportKind kind, const char *path);

/* Asks where to write (a dialog over parent), then exports what the session
 * holds and the window shows. */
void bs_export_dialog_run (GtkWindow *parent, BsSession *session, BsExportKind kind);

/* The suggested file (or, for a series, folder) name for the case shown. */
char *bs_export_suggested_name (BsSession *session, BsExportKind kind);

/* Progress of the long exports, called on the main thread. */
typedef void (*BsExportUiProgress) (const char *stage, int done, int total, gpointer user_data);

/* The export itself, without dialogs: takes a snapshot of the session's case,
 * prediction and view options, segments slices the session has not computed
 * yet (mask, Dice CSV and series cover the whole volume) and writes path in a
 * worker thread.  width/height <= 0 is the default size.  annotate: overlays
 * and series get a caption, orientation letters and a legend around the
 * slice (BsOverlayOptions.annotate).  mask_labels: the mask as 0/1 whole
 * tumour (BS_LABELS_BINARY) or, for a region model, a label map in that
 * convention (bs_export_label_map_nifti). */
void bs_export_to_path_async (BsSession *session, BsExportKind kind, const char *path, int width, int height,
                              gboolean annotate, BsLabelConvention mask_labels,
                              BsExportUiProgress progress, gpointer progress_data,
                              GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
gboolean bs_export_to_path_finish (BsSession *session, GAsyncResult *result, GError **error);

G_END_DECLS
