#include "bs-error.h"

G_DEFINE_QUARK (bs-io-error-quark, bs_io_error)
G_DEFINE_QUARK (bs-model-error-quark, bs_model_error)
G_DEFINE_QUARK (bs-plan-error-quark, bs_plan_error)
G_DEFINE_QUARK (bs-train-error-quark, bs_train_error)
G_DEFINE_QUARK (bs-export-error-quark, bs_export_error)
