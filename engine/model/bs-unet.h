/* The IntelAI "2D U-Net for Medical Decathlon" topology and its weights.
 *
 * Layers (Keras names), fms = base feature maps (16 default, 32):
 *   encodeAa encodeAb (fms)  poolA   encodeBa encodeBb (2fms)  poolB
 *   encodeCa encodeCb (4fms) poolC   encodeDa encodeDb (8fms)  poolD
 *   encodeEa encodeEb (16fms)
 *   transconvE (8fms, 2x2 s2) concatD=[up, encodeD]  decodeCa decodeCb (8fms)
 *   transconvC (4fms)         concatC=[up, encodeC]  decodeBa decodeBb (4fms)
 *   transconvB (2fms)         concatB=[up, encodeB]  decodeAa decodeAb (2fms)
 *   transconvA (fms)          concatA=[up, encodeA]  convOuta convOutb (fms)
 *   PredictionMask (1x1, one sigmoid output per region: 1 for IntelAI's
 *                   whole tumour, 3 for Brainseg's region models WT, TC, ET)
 * 3x3 convolutions are "same"-padded with ReLU.  With nearest upsampling the
 * transconv layers are replaced by weightless UpSampling2D (upE, upC, upB, upA).
 *
 * In memory every layer's weights are weights[out][in][kh][kw] (OIHW), also
 * for transposed convolutions, so that the reference, the plans and the
 * trainer share one layout; the HDF5 reader and writer convert from and to
 * Keras HWIO (Conv2D) and HWOI (Conv2DTranspose). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  BS_UPSAMPLE_TRANSPOSED,
  BS_UPSAMPLE_NEAREST,
} BsUpsample;

typedef enum {
  BS_LAYER_CONV3X3_RELU,
  BS_LAYER_TRANSCONV2X2,
  BS_LAYER_CONV1X1_SIGMOID,
} BsLayerKind;

typedef struct {
  char name[32];     /* Keras layer name */
  BsLayerKind kind;
  int in_ch, out_ch, kh, kw;
  float *weights;    /* out_ch * in_ch * kh * kw, OIHW */
  float *bias;       /* out_ch */
} BsUnetLayer;

typedef struct {
  int fms;              /* 16 or 32 (any >= 1 for tests) */
  int in_channels;      /* = number of modalities */
  BsUpsample upsample;
  char **modalities;    /* in_channels names + NULL, e.g. {"FLAIR", NULL} */
  char *normalisation;  /* "zscore-foreground" */
  int crop;             /* training crop (128/144), informational */
  int out_channels;     /* sigmoid outputs of PredictionMask (1 = IntelAI whole tumour) */
  char **outputs;       /* out_channels region names + NULL ("wt", "tc", "et"); output k is
                         * the probability of region outputs[k] */
  int context;          /* neighbouring slices on each side given as extra input channels (2.5D);
                         * 0 = one slice.  The input is the slice's in_channels modalities, then
                         * those of slice - 1, slice + 1, slice - 2, slice + 2, ... (clamped to the
                         * volume) */
} BsUnetConfig;

#define BS_UNET_MAX_CONTEXT 3

/* The largest base feature maps a file or the trainer may ask for.  The
 * shipped models use 16 and the IntelAI recipe 16 or 32; parameters grow
 * with fms squared, so fms 256 is already about 500 million parameters (2 GB
 * of float32 weights, 600 MB for encodeEb alone).  Anything larger is a
 * typo or a damaged file, and would only fail later allocating tens of
 * gigabytes. */
#define BS_UNET_MAX_FMS 256
/* The most modalities a network may take: bs_preprocess_prepare picks at
 * most 32 (a bit each in its guint32 mask of those present). */
#define BS_UNET_MAX_IN_CHANNELS 32

/* The first convolution's input channels: in_channels x (1 + 2 context). */
static inline int
bs_unet_input_channels (const BsUnetConfig *c)
{
  return c->in_channels * (1 + 2 * c->context);
}

typedef struct {
  BsUnetConfig config;
  int n_layers;
  BsUnetLayer *layers;  /* in forward order: encodeAa ... PredictionMask */
  char *path;           /* weights file, or NULL */
  char *description;    /* model card line from the file, or NULL */
  /* int8 calibration stored with the weights (the file's brainseg_calibration
   * attribute; brainseg-cli calibrate), or NULL: the largest |value| of the
   * network input, then of each layer's output, 1 + n_layers floats, each the
   * median over calibration_cases cases of that case's maximum.  Valid only
   * for these weights: whatever changes them (the trainer) drops it. */
  float *calibration;
  int calibration_cases;
} BsUnet;

/* A network with He-uniform random weights and zero biases (deterministic for seed). */
BsUnet *bs_unet_new_random (const BsUnetConfig *config, guint64 seed);
BsUnet *bs_unet_copy (const BsUnet *net);
/* A copy of net taking context neighbouring slices on each side: the input
 * slots both have keep their weights, new ones start at zero (so a 2D
 * network widened this way computes what it did). */
BsUnet *bs_unet_with_context (const BsUnet *net, int context);
/* Stores (a copy of) the calibration values (1 + n_layers floats, input
 * first) measured over n_cases cases, or drops it when values is NULL. */
void bs_unet_set_calibration (BsUnet *net, const float *values, int n_cases);
/* dst's weights and biases become src's (same topology). */
void bs_unet_copy_weights (BsUnet *dst, const BsUnet *src);
/* The running mean of count weight sets, the last being net's:
 * mean += (net - mean) / count. */
void bs_unet_mean_update (BsUnet *mean, const BsUnet *net, int count);
void bs_unet_free (BsUnet *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BsUnet, bs_unet_free)

/* Keras-layout HDF5 (model_weights/<layer>/<layer>/kernel:0, bias:0).  The
 * topology is read from the root "brainseg_config" attribute (JSON) when
 * present, otherwise inferred from the kernel shapes.  Missing layers, wrong
 * shapes and non-finite kernels or biases fail with BS_MODEL_ERROR naming the
 * file and the layer; a brainseg_config key of the wrong type or out of range
 * (fms above BS_UNET_MAX_FMS, in_channels above BS_UNET_MAX_IN_CHANNELS)
 * fails naming the file and the key. */
BsUnet *bs_unet_load_h5 (const char *path, GError **error);
/* The same, with extra called on the still open file (an HDF5 hid_t) once the
 * weights are in net, so that a file with groups of its own (the trainer's
 * state) is opened and read once.  When extra fails, so does the load. */
typedef gboolean (*BsUnetLoadExtra) (gint64 h5_file, const BsUnet *net, gpointer user_data, GError **error);
BsUnet *bs_unet_load_h5_with (const char *path, BsUnetLoadExtra extra, gpointer user_data, GError **error);
/* Writes the Keras layout plus the brainseg_config attribute (and
 * brainseg_calibration when net has a calibration); atomic. */
gboolean bs_unet_save_h5 (const BsUnet *net, const char *path, GError **error);
/* The same, with extra called on the open file (an HDF5 hid_t) after the
 * weights, to add groups of its own that loaders ignore (the trainer's state).
 * When it fails, its error is returned and no file is written. */
typedef gboolean (*BsUnetSaveExtra) (gint64 h5_file, gpointer user_data, GError **error);
gboolean bs_unet_save_h5_with (const BsUnet *net, const char *path, BsUnetSaveExtra extra,
                               gpointer user_data, GError **error);

/* What a file looks like at a glance, for a caller that takes both the
 * HDF5 datasets of the Intel tutorials and weights files (brainseg-cli info)
 * and must report the right loader's error. */
typedef enum {
  BS_UNET_H5_NOT_HDF5,  /* missing, empty, text: no HDF5 signature */
  BS_UNET_H5_DAMAGED,   /* an HDF5 signature, but HDF5 cannot open it */
  BS_UNET_H5_DATASET,   /* imgs_train, imgs_validation or imgs_testing at the root */
  BS_UNET_H5_MODEL,     /* any other HDF5: weights, intact or not, or something the model loader will name */
} BsUnetH5Kind;

BsUnetH5Kind bs_unet_h5_probe (const char *path);

/* Index of region name ("wt", "tc", "et") among net's outputs, or -1. */
int bs_unet_output_index (const BsUnet *net, const char *region);
/* Fills outputs from a comma-separated list of region names ("wt,tc,et"):
 * known names only, each once, WT first (region outputs nest inside it).
 * Returns FALSE with a message naming the bad entry otherwise. */
gboolean bs_unet_parse_outputs (const char *list, char ***outputs, GError **error);

BsUnetLayer *bs_unet_find_layer (BsUnet *net, const char *name);
/* Floating point operations of one forward pass on one h x w slice. */
double bs_unet_flops (const BsUnet *net, int h, int w);
void bs_unet_config_clear (BsUnetConfig *config);
void bs_unet_config_copy (BsUnetConfig *dst, const BsUnetConfig *src);

/* The models Brainseg ships (resources/models): the default predicts the
 * whole tumour, the tumour core and the enhancing tumour; the whole-tumour
 * model is the one-output model it was fine-tuned from. */
#define BS_UNET_DEFAULT_MODEL "brainseg-default.h5"
#define BS_UNET_WT_MODEL "brainseg-wt.h5"

/* The shipped model called file: the path from the build tree or install, or
 * NULL when none is there. */
char *bs_unet_shipped_model_path (const char *file);
/* The shipped default model (BS_UNET_DEFAULT_MODEL), or NULL. */
char *bs_unet_default_model_path (void);

/* path when given; else the shipped model; else (no model ships yet)
 * deterministic random weights of the default topology (fms 16, FLAIR),
 * with *is_random set so that callers can say so. */
BsUnet *bs_unet_load_or_default (const char *path, gboolean *is_random, GError **error);

G_END_DECLS
