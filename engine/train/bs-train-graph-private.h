/* Inside a piece of the training graph: its tensors, ops and layer state,
 * shared by bs-train-graph.c (the piece, its plain layers and passes) and
 * bs-train-conv.c (its convolution layers). */
#pragma once

#include <glib/gi18n.h>
#include <oneapi/dnnl/dnnl.h>

#include "bs-train-private.h"

G_BEGIN_DECLS

typedef struct {
  dnnl_memory_desc_t md;
  dnnl_memory_t mem, dmem;
  float *data, *diff;
  int c, h, w;
  gsize per_image;  /* floats per image (c * h * w) */
} Tensor;

typedef struct _Op Op;
typedef void (*OpFunc) (BsTrainPiece *g, Op *op);

struct _Op {
  dnnl_primitive_t prim;  /* or func */
  int nargs;
  dnnl_exec_arg_t args[8];
  OpFunc func;
  Tensor *a, *b, *c;
  int index;
};

typedef struct {
  BsUnetLayer *layer;
  dnnl_memory_t w_user, b_user, w_fwd, w_bwd, dw_prim, dw_user, db_user;
  dnnl_primitive_t reorder_fwd, reorder_bwd, reorder_dw;
  float *dw, *db;
} LayerState;

/* Some input channels of the input layer, for its weight gradient. */
typedef struct {
  Tensor *x;  /* channels c0 .. c0 + x->c - 1 of the input, dense NCHW */
  int c0;
} InputGroup;

struct _BsTrainPiece {
  BsUnet *net;
  int batch, h, w;
  int threads;            /* > 0: OpenMP threads its passes run on (a lane's piece: 1); 0: the caller's */
  dnnl_format_tag_t act_tag;
  gboolean blocked;
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  /* Every primitive takes its scratchpad from the piece: oneDNN's own (with
   * DNNL_ENABLE_CONCURRENT_EXEC off, as Debian builds it) may only be used
   * on the thread that made the primitive, and a piece is made on the
   * caller's thread and run on lanes.  attr sets that mode, scratch is as
   * large as the largest asks. */
  dnnl_primitive_attr_t attr;
  dnnl_memory_t scratch;

  GPtrArray *tensors;     /* Tensor*, owned */
  GPtrArray *pds;         /* dnnl_primitive_desc_t, owned */
  GPtrArray *prims;       /* dnnl_primitive_t, owned */
  GPtrArray *memories;    /* extra dnnl_memory_t, owned */
  GPtrArray *fwd;         /* Op*, owned */
  GPtrArray *bwd;         /* Op*, owned, execution order */
  GPtrArray *bwd_groups;  /* GPtrArray of Op* (not owning), forward order */
  GPtrArray *cur_group;
  LayerState *ls;
  int n_layers;

  Tensor *input, *probs, *logits;
  int max_group;          /* input channels per group of the input layer's weight gradient */
  InputGroup *in_groups;
  int n_in_groups;
  double dropout_rate;
  const guint64 *seeds;   /* the training forward's dropout seed of each slice (bs_train_piece_forward) */
  float *drop_mask[2];    /* batch x channels of encodeCa and encodeDa */
  int drop_channels[2];
  gboolean last_forward_training;
  int last_n;
  char *impl_info;
  GString *describe;
};

#define DNNL_TRY(call)                                                              \
  G_STMT_START {                                                                    \
    dnnl_status_t st_ = (call);                                                     \
    if (st_ != dnnl_success)                                                        \
      {                                                                             \
        g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DNNL,                    \
                     _("oneDNN refused %s (status %d, %s:%d)"), #call, (int) st_,   \
                     __FILE__, __LINE__);                                           \
        return FALSE;                                                               \
      }                                                                             \
  } G_STMT_END

/* ---- building a piece (bs-train-graph.c) ---- */

gboolean bs_train_piece_tensor_new (BsTrainPiece *g, int c, int h, int w, dnnl_format_tag_t tag, gboolean with_diff,
                                    Tensor **out, GError **error);
gboolean bs_train_piece_make_pd (BsTrainPiece *g, const_dnnl_op_desc_t desc, const_dnnl_primitive_attr_t attr,
                                 const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd, const char *what,
                                 GError **error);
gboolean bs_train_piece_make_prim (BsTrainPiece *g, dnnl_primitive_desc_t pd, const char *what,
                                   dnnl_primitive_t *prim, GError **error);
Op *bs_train_piece_add_prim_op (GPtrArray *list, dnnl_primitive_t prim);
void bs_train_piece_op_arg (Op *op, int arg, dnnl_memory_t mem);
Op *bs_train_piece_add_func_op (GPtrArray *list, OpFunc func, Tensor *a, Tensor *b, Tensor *c, int index);
/* A new group of backward ops: the backward pass runs the groups in reverse,
 * each in order. */
void bs_train_piece_begin_group (BsTrainPiece *g);
Op *bs_train_piece_bwd_prim (BsTrainPiece *g, dnnl_primitive_t prim);
Op *bs_train_piece_bwd_func (BsTrainPiece *g, OpFunc func, Tensor *a, Tensor *b, Tensor *c, int index);

/* ---- convolution layers (bs-train-conv.c) ---- */

/* Layer li (a convolution or transposed convolution, with the fused ReLU its
 * kind takes) on x, forward and backward ops; the output in out_tag. */
gboolean bs_train_piece_conv_layer (BsTrainPiece *g, int li, Tensor *x, dnnl_format_tag_t out_tag, gboolean need_dx,
                                    Tensor **out, GError **error);

G_END_DECLS
