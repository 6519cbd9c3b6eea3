/* Error domains of libbrainseg. Every message names the file (when there is one)
 * and says what is wrong in words a user can act on. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define BS_IO_ERROR (bs_io_error_quark ())
#define BS_MODEL_ERROR (bs_model_error_quark ())
#define BS_PLAN_ERROR (bs_plan_error_quark ())
#define BS_TRAIN_ERROR (bs_train_error_quark ())
#define BS_EXPORT_ERROR (bs_export_error_quark ())

typedef enum {
  BS_IO_ERROR_NOT_FOUND,    /* file or folder missing */
  BS_IO_ERROR_CORRUPT,      /* truncated, bad gzip, bad header */
  BS_IO_ERROR_UNSUPPORTED,  /* valid but not something Brainseg reads */
  BS_IO_ERROR_INVALID,      /* inconsistent: dims mismatch, NaN, bad JSON */
  BS_IO_ERROR_TOO_LARGE,    /* header claims absurd sizes */
  BS_IO_ERROR_WRITE,        /* could not write */
  BS_IO_ERROR_CANCELLED,
} BsIoError;

typedef enum {
  BS_MODEL_ERROR_TOPOLOGY,  /* weights for another network */
  BS_MODEL_ERROR_MISSING,   /* a layer or dataset is missing */
  BS_MODEL_ERROR_SHAPE,     /* a tensor has the wrong shape */
  BS_MODEL_ERROR_FILE,      /* not an HDF5 file, unreadable */
} BsModelError;

typedef enum {
  BS_PLAN_ERROR_UNAVAILABLE, /* e.g. bf16 on a CPU without native bf16 */
  BS_PLAN_ERROR_SIZE,        /* height/width not divisible by 16 */
  BS_PLAN_ERROR_DNNL,        /* oneDNN refused */
  BS_PLAN_ERROR_CANCELLED,
} BsPlanError;

typedef enum {
  BS_TRAIN_ERROR_DATA,
  BS_TRAIN_ERROR_DNNL,
  BS_TRAIN_ERROR_CANCELLED,
} BsTrainError;

typedef enum {
  BS_EXPORT_ERROR_WRITE,
  BS_EXPORT_ERROR_INVALID,
} BsExportError;

GQuark bs_io_error_quark (void);
GQuark bs_model_error_quark (void);
GQuark bs_plan_error_quark (void);
GQuark bs_train_error_quark (void);
GQuark bs_export_error_quark (void);

G_END_DECLS
