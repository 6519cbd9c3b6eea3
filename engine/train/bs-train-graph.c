/* One piece of the training graph (BsTrainGraph, bs-train-lanes.c): the
 * U-Net at a fixed batch as a oneDNN training graph: forward-training primitives (conv with
 * fused ReLU, max pooling with workspace, transposed conv, sigmoid), backward
 * data and weights primitives, and a few plain-C steps (concat, split,
 * spatial dropout, gradient sums) in between.
 *
 * Activations use one fixed layout for the whole graph: nChw16c when every
 * channel count is a multiple of 16 (fms 16, 32), else nchw.  In both, each
 * image of a batch is one contiguous block with its channels in order, so a
 * channel concat is two memcpys per image and needs no oneDNN concat.
 * Weights stay in the model's OIHW arrays (Adam updates them there) and are
 * reordered into whatever layout each primitive chose, once per step.
 *
 * The input layer's weight gradient may be computed in groups of input
 * channels (input_groups_weights_grad): oneDNN 2.6 has a fast kernel for it
 * only up to 3 plain input channels. */
#include <glib/gi18n.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "bs-error.h"
#include "bs-train-private.h"

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

/* ---- small helpers ---- */

static void
tensor_free (gpointer p)
{
  Tensor *t = p;

  if (t->mem)
    dnnl_memory_destroy (t->mem);
  if (t->dmem)
    dnnl_memory_destroy (t->dmem);
  g_free (t);
}

static void
op_free (gpointer p)
{
  g_free (p);
}

static void
pd_free (gpointer p)
{
  dnnl_primitive_desc_destroy (p);
}

static void
prim_free (gpointer p)
{
  dnnl_primitive_destroy (p);
}

static void
mem_free (gpointer p)
{
  dnnl_memory_destroy (p);
}

static gboolean
tensor_new (BsTrainPiece *g, int c, int h, int w, dnnl_format_tag_t tag, gboolean with_diff,
            Tensor **out, GError **error)
{
  Tensor *t = g_new0 (Tensor, 1);
  dnnl_dims_t dims = { g->batch, c, h, w };
  void *handle = NULL;

  g_ptr_array_add (g->tensors, t);
  t->c = c;
  t->h = h;
  t->w = w;
  t->per_image = (gsize) c * h * w;
  DNNL_TRY (dnnl_memory_desc_init_by_tag (&t->md, 4, dims, dnnl_f32, tag));
  DNNL_TRY (dnnl_memory_create (&t->mem, &t->md, g->engine, DNNL_MEMORY_ALLOCATE));
  DNNL_TRY (dnnl_memory_get_data_handle (t->mem, &handle));
  t->data = handle;
  if (with_diff)
    {
      DNNL_TRY (dnnl_memory_create (&t->dmem, &t->md, g->engine, DNNL_MEMORY_ALLOCATE));
      DNNL_TRY (dnnl_memory_get_data_handle (t->dmem, &handle));
      t->diff = handle;
    }
  *out = t;
  return TRUE;
}

static gboolean
make_pd (BsTrainPiece *g, const_dnnl_op_desc_t desc, const_dnnl_primitive_attr_t attr,
         const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd, const char *what,
         GError **error)
{
  dnnl_status_t st = dnnl_primitive_desc_create (pd, desc, attr ? attr : g->attr, g->engine, hint);

  if (st != dnnl_success)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DNNL,
                   _("oneDNN has no implementation for %s (status %d)"), what, (int) st);
      return FALSE;
    }
  g_ptr_array_add (g->pds, *pd);
  return TRUE;
}

static gboolean
make_prim (BsTrainPiece *g, dnnl_primitive_desc_t pd, const char *what, dnnl_primitive_t *prim,
           GError **error)
{
  const char *impl = NULL;

  DNNL_TRY (dnnl_primitive_create (prim, pd));
  g_ptr_array_add (g->prims, *prim);
  if (dnnl_primitive_desc_query (pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success)
    g_string_append_printf (g->describe, "%-28s %s\n", what, impl);
  return TRUE;
}

static Op *
add_prim_op (GPtrArray *list, dnnl_primitive_t prim)
{
  Op *op = g_new0 (Op, 1);

  op->prim = prim;
  g_ptr_array_add (list, op);
  return op;
}

static void
op_arg (Op *op, int arg, dnnl_memory_t mem)
{
  g_assert (op->nargs < (int) G_N_ELEMENTS (op->args));
  op->args[op->nargs].arg = arg;
  op->args[op->nargs].memory = mem;
  op->nargs++;
}

static Op *
add_func_op (GPtrArray *list, OpFunc func, Tensor *a, Tensor *b, Tensor *c, int index)
{
  Op *op = g_new0 (Op, 1);

  op->func = func;
  op->a = a;
  op->b = b;
  op->c = c;
  op->index = index;
  g_ptr_array_add (list, op);
  return op;
}

static void
begin_group (BsTrainPiece *g)
{
  g->cur_group = g_ptr_array_new ();
  g_ptr_array_add (g->bwd_groups, g->cur_group);
}

static Op *
bwd_prim (BsTrainPiece *g, dnnl_primitive_t prim)
{
  Op *op = add_prim_op (g->bwd, prim);

  g_ptr_array_add (g->cur_group, op);
  return op;
}

static Op *
bwd_func (BsTrainPiece *g, OpFunc func, Tensor *a, Tensor *b, Tensor *c, int index)
{
  Op *op = add_func_op (g->bwd, func, a, b, c, index);

  g_ptr_array_add (g->cur_group, op);
  return op;
}

/* ---- plain-C steps ---- */

static void
func_concat (BsTrainPiece *g, Op *op)
{
  Tensor *up = op->a, *skip = op->b, *cat = op->c;

#pragma omp parallel for
  for (int n = 0; n < g->batch; n++)
    {
      memcpy (cat->data + n * cat->per_image, up->data + n * up->per_image, up->per_image * sizeof (float));
      memcpy (cat->data + n * cat->per_image + up->per_image, skip->data + n * skip->per_image,
              skip->per_image * sizeof (float));
    }
}

static void
func_split (BsTrainPiece *g, Op *op)
{
  Tensor *up = op->a, *skip = op->b, *cat = op->c;

#pragma omp parallel for
  for (int n = 0; n < g->batch; n++)
    {
      memcpy (up->diff + n * up->per_image, cat->diff + n * cat->per_image, up->per_image * sizeof (float));
      memcpy (skip->diff + n * skip->per_image, cat->diff + n * cat->per_image + up->per_image,
              skip->per_image * sizeof (float));
    }
}

/* a->diff += b->data (a skip connection's gradient: the concat part plus the
 * pooling part, which the pooling backward wrote into b). */
static void
func_add_diff (BsTrainPiece *g, Op *op)
{
  gsize total = (gsize) g->batch * op->a->per_image;
  float *dst = op->a->diff;
  const float *src = op->b->data;

#pragma omp parallel for
  for (gsize i = 0; i < total; i++)
    dst[i] += src[i];
}

/* Multiplies every (image, channel) plane of buf by mask[n * c + ch]. */
static void
scale_channels (BsTrainPiece *g, const Tensor *t, float *buf, const float *mask)
{
  int hw = t->h * t->w;

  if (g->blocked)
    {
      int cb = t->c / 16;
#pragma omp parallel for collapse(2)
      for (int n = 0; n < g->batch; n++)
        for (int b = 0; b < cb; b++)
          {
            float *blk = buf + ((gsize) n * cb + b) * hw * 16;
            const float *m = mask + (gsize) n * t->c + b * 16;
            for (int p = 0; p < hw; p++)
              for (int l = 0; l < 16; l++)
                blk[p * 16 + l] *= m[l];
          }
    }
  else
    {
#pragma omp parallel for collapse(2)
      for (int n = 0; n < g->batch; n++)
        for (int ch = 0; ch < t->c; ch++)
          {
            float *plane = buf + ((gsize) n * t->c + ch) * hw;
            float m = mask[(gsize) n * t->c + ch];
            for (int p = 0; p < hw; p++)
              plane[p] *= m;
          }
    }
}

static void
func_dropout_fwd (BsTrainPiece *g, Op *op)
{
  float *mask = g->drop_mask[op->index];
  int c = op->a->c;
  float keep = (float) (1.0 / (1.0 - g->dropout_rate));

  if (!g->last_forward_training || g->dropout_rate <= 0.0)
    return;
  /* Each slice's channels from its own seed, one stream a dropout layer, so
   * that a slice's mask does not depend on the piece it is in; the padding
   * past the slices given keeps everything (its input and gradient are 0). */
  for (int n = 0; n < g->batch; n++)
    {
      BsTrainRng r;

      bs_train_rng_seed (&r, n < g->last_n ? g->seeds[n] ^ (0x6c61796572ULL * (guint64) (op->index + 1)) : 0);
      for (int ch = 0; ch < c; ch++)
        mask[(gsize) n * c + ch] = n < g->last_n && bs_train_rng_double (&r) < g->dropout_rate ? 0.0f : keep;
    }
  scale_channels (g, op->a, op->a->data, mask);
}

static void
func_dropout_bwd (BsTrainPiece *g, Op *op)
{
  if (g->dropout_rate <= 0.0 || !g->last_forward_training)
    return;
  scale_channels (g, op->a, op->a->diff, g->drop_mask[op->index]);
}

/* The input's channel groups, each into its own dense tensor. */
static void
func_split_input (BsTrainPiece *g, Op *op)
{
  const Tensor *x = op->a;
  gsize hw = (gsize) x->h * x->w;

#pragma omp parallel for collapse(2)
  for (int n = 0; n < g->batch; n++)
    for (int k = 0; k < g->n_in_groups; k++)
      {
        const InputGroup *grp = &g->in_groups[k];
        memcpy (grp->x->data + n * grp->x->per_image, x->data + n * x->per_image + grp->c0 * hw,
                grp->x->per_image * sizeof (float));
      }
}

/* ---- layers ---- */

static gboolean
weights_memories (BsTrainPiece *g, int li, const dnnl_memory_desc_t *fwd_wmd,
                  const dnnl_memory_desc_t *bwd_wmd, const dnnl_memory_desc_t *dw_md,
                  GError **error)
{
  LayerState *s = &g->ls[li];
  BsUnetLayer *L = s->layer;
  dnnl_memory_desc_t user_md, bias_md;
  dnnl_dims_t wdims = { L->out_ch, L->in_ch, L->kh, L->kw };
  dnnl_dims_t bdims = { L->out_ch };
  dnnl_primitive_desc_t rpd;
  gsize wn = (gsize) L->out_ch * L->in_ch * L->kh * L->kw;

  DNNL_TRY (dnnl_memory_desc_init_by_tag (&user_md, 4, wdims, dnnl_f32, dnnl_oihw));
  DNNL_TRY (dnnl_memory_desc_init_by_tag (&bias_md, 1, bdims, dnnl_f32, dnnl_a));
  s->dw = g_new0 (float, wn);
  s->db = g_new0 (float, L->out_ch);
  DNNL_TRY (dnnl_memory_create (&s->w_user, &user_md, g->engine, L->weights));
  DNNL_TRY (dnnl_memory_create (&s->b_user, &bias_md, g->engine, L->bias));
  DNNL_TRY (dnnl_memory_create (&s->dw_user, &user_md, g->engine, s->dw));
  DNNL_TRY (dnnl_memory_create (&s->db_user, &bias_md, g->engine, s->db));
  g_ptr_array_add (g->memories, s->w_user);
  g_ptr_array_add (g->memories, s->b_user);
  g_ptr_array_add (g->memories, s->dw_user);
  g_ptr_array_add (g->memories, s->db_user);

  if (dnnl_memory_desc_equal (fwd_wmd, &user_md))
    s->w_fwd = s->w_user;
  else
    {
      DNNL_TRY (dnnl_memory_create (&s->w_fwd, fwd_wmd, g->engine, DNNL_MEMORY_ALLOCATE));
      g_ptr_array_add (g->memories, s->w_fwd);
      DNNL_TRY (dnnl_reorder_primitive_desc_create (&rpd, &user_md, g->engine, fwd_wmd, g->engine, g->attr));
      g_ptr_array_add (g->pds, rpd);
      DNNL_TRY (dnnl_primitive_create (&s->reorder_fwd, rpd));
      g_ptr_array_add (g->prims, s->reorder_fwd);
    }

  if (bwd_wmd == NULL)
    s->w_bwd = NULL;
  else if (dnnl_memory_desc_equal (bwd_wmd, &user_md))
    s->w_bwd = s->w_user;
  else if (dnnl_memory_desc_equal (bwd_wmd, fwd_wmd))
    s->w_bwd = s->w_fwd;
  else
    {
      DNNL_TRY (dnnl_memory_create (&s->w_bwd, bwd_wmd, g->engine, DNNL_MEMORY_ALLOCATE));
      g_ptr_array_add (g->memories, s->w_bwd);
      DNNL_TRY (dnnl_reorder_primitive_desc_create (&rpd, &user_md, g->engine, bwd_wmd, g->engine, g->attr));
      g_ptr_array_add (g->pds, rpd);
      DNNL_TRY (dnnl_primitive_create (&s->reorder_bwd, rpd));
      g_ptr_array_add (g->prims, s->reorder_bwd);
    }

  /* dw_md NULL: the weight gradient is written in slices (input_groups_weights_grad). */
  if (dw_md == NULL || dnnl_memory_desc_equal (dw_md, &user_md))
    s->dw_prim = s->dw_user;
  else
    {
      DNNL_TRY (dnnl_memory_create (&s->dw_prim, dw_md, g->engine, DNNL_MEMORY_ALLOCATE));
      g_ptr_array_add (g->memories, s->dw_prim);
      DNNL_TRY (dnnl_reorder_primitive_desc_create (&rpd, dw_md, g->engine, &user_md, g->engine, g->attr));
      g_ptr_array_add (g->pds, rpd);
      DNNL_TRY (dnnl_primitive_create (&s->reorder_dw, rpd));
      g_ptr_array_add (g->prims, s->reorder_dw);
    }
  return TRUE;
}

/* How many groups the input layer's weight gradient is computed in (1: one
 * convolution).  oneDNN 2.6 computes a weight gradient from a plain (nchw)
 * source and a blocked (nChw16c) output gradient with its jit kernel only
 * for 1 to 3 source channels (jit_avx512_common's first-convolution case);
 * with 4 it falls back to its reference convolution: 2.5 s of a 2.6 s step at
 * batch 16, 128x128 on 2 cores, where two groups of 2 channels take 1.5 ms
 * and the step 0.27 s, as with 2 channels.  A plain graph's layers all run
 * oneDNN's gemm convolution, which takes any channel count. */
static int
input_group_count (const BsTrainPiece *g, const Tensor *x)
{
  int max = g->max_group > 0 ? g->max_group : 3;

  if (!g->blocked || x != g->input)
    return 1;
  return (x->c + max - 1) / max;
}

/* The input layer's weight gradient as one convolution per group of input
 * channels, each writing its slice of the OIHW gradient: the gradient is a sum
 * over input channels of terms that involve only that channel, so the slices
 * are exactly the whole layer's.  The first group also writes the bias
 * gradient (the sum of y's gradient, the same for every group).  The groups
 * are as even as possible (4 channels: 2 + 2). */
static gboolean
input_groups_weights_grad (BsTrainPiece *g, int li, Tensor *x, Tensor *y, int n_groups, const dnnl_dims_t strides,
                           const dnnl_dims_t pad, GError **error)
{
  LayerState *s = &g->ls[li];
  BsUnetLayer *L = s->layer;
  dnnl_memory_desc_t user_md, bias_md;
  dnnl_dims_t full = { L->out_ch, L->in_ch, L->kh, L->kw };
  dnnl_dims_t bdims = { L->out_ch };
  int c0 = 0;

  DNNL_TRY (dnnl_memory_desc_init_by_tag (&user_md, 4, full, dnnl_f32, dnnl_oihw));
  DNNL_TRY (dnnl_memory_desc_init_by_tag (&bias_md, 1, bdims, dnnl_f32, dnnl_a));
  g->in_groups = g_new0 (InputGroup, n_groups);
  g->n_in_groups = n_groups;
  for (int k = 0; k < n_groups; k++)
    {
      InputGroup *grp = &g->in_groups[k];
      int c = x->c / n_groups + (k < x->c % n_groups ? 1 : 0);
      dnnl_dims_t wdims = { L->out_ch, c, L->kh, L->kw };
      dnnl_dims_t offsets = { 0, c0, 0, 0 };
      dnnl_memory_desc_t wmd_any, slice_md;
      const dnnl_memory_desc_t *dw_md;
      dnnl_convolution_desc_t d;
      dnnl_primitive_desc_t hint, wpd;
      dnnl_primitive_t wprim;
      dnnl_memory_t slice, dw_prim;
      char what[64];

      grp->c0 = c0;
      if (!tensor_new (g, c, x->h, x->w, dnnl_nchw, FALSE, &grp->x, error))
        return FALSE;
      DNNL_TRY (dnnl_memory_desc_init_by_tag (&wmd_any, 4, wdims, dnnl_f32, dnnl_format_tag_any));
      DNNL_TRY (dnnl_convolution_forward_desc_init (&d, dnnl_forward_training, dnnl_convolution_direct,
                                                    &grp->x->md, &wmd_any, &bias_md, &y->md, strides, pad, pad));
      g_snprintf (what, sizeof what, "%s fwd ch %d-%d (hint)", L->name, c0, c0 + c - 1);
      if (!make_pd (g, &d, NULL, NULL, &hint, what, error))
        return FALSE;
      DNNL_TRY (dnnl_convolution_backward_weights_desc_init (&d, dnnl_convolution_direct, &grp->x->md, &wmd_any,
                                                             k == 0 ? &bias_md : NULL, &y->md, strides, pad, pad));
      g_snprintf (what, sizeof what, "%s bwd weights ch %d-%d", L->name, c0, c0 + c - 1);
      if (!make_pd (g, &d, NULL, hint, &wpd, what, error) || !make_prim (g, wpd, what, &wprim, error))
        return FALSE;

      /* The slice of the layer's OIHW gradient array, which the handle points at. */
      DNNL_TRY (dnnl_memory_desc_init_submemory (&slice_md, &user_md, wdims, offsets));
      DNNL_TRY (dnnl_memory_create (&slice, &slice_md, g->engine, s->dw));
      g_ptr_array_add (g->memories, slice);
      dw_md = dnnl_primitive_desc_query_md (wpd, dnnl_query_diff_weights_md, 0);
      if (dnnl_memory_desc_equal (dw_md, &slice_md))
        dw_prim = slice;
      else
        DNNL_TRY (dnnl_memory_create (&dw_prim, dw_md, g->engine, DNNL_MEMORY_ALLOCATE));
      if (dw_prim != slice)
        g_ptr_array_add (g->memories, dw_prim);

      {
        Op *op = bwd_prim (g, wprim);
        op_arg (op, DNNL_ARG_SRC, grp->x->mem);
        op_arg (op, DNNL_ARG_DIFF_DST, y->dmem);
        op_arg (op, DNNL_ARG_DIFF_WEIGHTS, dw_prim);
        if (k == 0)
          op_arg (op, DNNL_ARG_DIFF_BIAS, s->db_user);
      }
      if (dw_prim != slice)
        {
          dnnl_primitive_desc_t rpd;
          dnnl_primitive_t rprim;
          Op *op;

          DNNL_TRY (dnnl_reorder_primitive_desc_create (&rpd, dw_md, g->engine, &slice_md, g->engine, g->attr));
          g_ptr_array_add (g->pds, rpd);
          g_snprintf (what, sizeof what, "%s dw ch %d-%d reorder", L->name, c0, c0 + c - 1);
          if (!make_prim (g, rpd, what, &rprim, error))
            return FALSE;
          op = bwd_prim (g, rprim);
          op_arg (op, DNNL_ARG_FROM, dw_prim);
          op_arg (op, DNNL_ARG_TO, slice);
        }
      c0 += c;
    }
  return TRUE;
}

/* A convolution (3x3 same + ReLU, 1x1, or 2x2 stride-2 transposed) from x to a
 * new tensor; its backward group computes the weight gradients and, when
 * need_dx, x's gradient. */
static gboolean
conv_layer (BsTrainPiece *g, int li, Tensor *x, dnnl_format_tag_t out_tag, gboolean need_dx,
            Tensor **out, GError **error)
{
  BsUnetLayer *L = g->ls[li].layer;
  gboolean deconv = L->kind == BS_LAYER_TRANSCONV2X2;
  gboolean relu = L->kind == BS_LAYER_CONV3X3_RELU;
  int oh = deconv ? x->h * 2 : x->h, ow = deconv ? x->w * 2 : x->w;
  Tensor *y;
  dnnl_memory_desc_t wmd_any, bias_md;
  dnnl_dims_t wdims = { L->out_ch, L->in_ch, L->kh, L->kw };
  dnnl_dims_t bdims = { L->out_ch };
  dnnl_dims_t strides = { deconv ? 2 : 1, deconv ? 2 : 1 };
  dnnl_dims_t pad = { deconv ? 0 : L->kh / 2, deconv ? 0 : L->kw / 2 };
  dnnl_primitive_desc_t fpd, dpd = NULL, wpd = NULL;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_t fprim, dprim = NULL, wprim = NULL;
  const dnnl_memory_desc_t *fwd_wmd, *bwd_wmd = NULL, *dw_md = NULL;
  int n_groups = deconv ? 1 : input_group_count (g, x);
  char what[64];
  Op *op;
  gboolean ok;

  if (L->in_ch != x->c)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DNNL,
                   _("Layer %s expects %d input channels but gets %d"), L->name, L->in_ch, x->c);
      return FALSE;
    }
  if (!tensor_new (g, L->out_ch, oh, ow, out_tag, TRUE, &y, error))
    return FALSE;
  DNNL_TRY (dnnl_memory_desc_init_by_tag (&wmd_any, 4, wdims, dnnl_f32, dnnl_format_tag_any));
  DNNL_TRY (dnnl_memory_desc_init_by_tag (&bias_md, 1, bdims, dnnl_f32, dnnl_a));

  /* forward */
  if (deconv)
    {
      dnnl_deconvolution_desc_t d;
      DNNL_TRY (dnnl_deconvolution_forward_desc_init (&d, dnnl_forward_training, dnnl_deconvolution_direct,
                                                      &x->md, &wmd_any, &bias_md, &y->md, strides, pad, pad));
      g_snprintf (what, sizeof what, "%s fwd", L->name);
      if (!make_pd (g, &d, NULL, NULL, &fpd, what, error))
        return FALSE;
    }
  else
    {
      dnnl_convolution_desc_t d;
      DNNL_TRY (dnnl_convolution_forward_desc_init (&d, dnnl_forward_training, dnnl_convolution_direct,
                                                    &x->md, &wmd_any, &bias_md, &y->md, strides, pad, pad));
      if (relu)
        {
          dnnl_post_ops_t po;
          DNNL_TRY (dnnl_post_ops_create (&po));
          dnnl_post_ops_append_eltwise (po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
          if (dnnl_primitive_attr_create (&attr) != dnnl_success
              || dnnl_primitive_attr_set_scratchpad_mode (attr, dnnl_scratchpad_mode_user) != dnnl_success
              || dnnl_primitive_attr_set_post_ops (attr, po) != dnnl_success)
            {
              dnnl_post_ops_destroy (po);
              if (attr)
                dnnl_primitive_attr_destroy (attr);
              g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DNNL,
                           _("oneDNN could not create a primitive attribute"));
              return FALSE;
            }
          dnnl_post_ops_destroy (po);
        }
      g_snprintf (what, sizeof what, "%s fwd", L->name);
      ok = make_pd (g, &d, attr, NULL, &fpd, what, error);
      if (attr)
        dnnl_primitive_attr_destroy (attr);
      if (!ok)
        return FALSE;
    }
  if (!make_prim (g, fpd, what, &fprim, error))
    return FALSE;
  fwd_wmd = dnnl_primitive_desc_query_md (fpd, dnnl_query_weights_md, 0);

  /* backward data and weights */
  if (deconv)
    {
      dnnl_deconvolution_desc_t d;
      if (need_dx)
        {
          DNNL_TRY (dnnl_deconvolution_backward_data_desc_init (&d, dnnl_deconvolution_direct, &x->md, &wmd_any,
                                                                &y->md, strides, pad, pad));
          g_snprintf (what, sizeof what, "%s bwd data", L->name);
          if (!make_pd (g, &d, NULL, fpd, &dpd, what, error))
            return FALSE;
        }
      DNNL_TRY (dnnl_deconvolution_backward_weights_desc_init (&d, dnnl_deconvolution_direct, &x->md, &wmd_any,
                                                               &bias_md, &y->md, strides, pad, pad));
      g_snprintf (what, sizeof what, "%s bwd weights", L->name);
      if (!make_pd (g, &d, NULL, fpd, &wpd, what, error))
        return FALSE;
    }
  else
    {
      dnnl_convolution_desc_t d;
      if (need_dx)
        {
          DNNL_TRY (dnnl_convolution_backward_data_desc_init (&d, dnnl_convolution_direct, &x->md, &wmd_any,
                                                              &y->md, strides, pad, pad));
          g_snprintf (what, sizeof what, "%s bwd data", L->name);
          if (!make_pd (g, &d, NULL, fpd, &dpd, what, error))
            return FALSE;
        }
      if (n_groups == 1)
        {
          DNNL_TRY (dnnl_convolution_backward_weights_desc_init (&d, dnnl_convolution_direct, &x->md, &wmd_any,
                                                                 &bias_md, &y->md, strides, pad, pad));
          g_snprintf (what, sizeof what, "%s bwd weights", L->name);
          if (!make_pd (g, &d, NULL, fpd, &wpd, what, error))
            return FALSE;
        }
    }
  if (dpd)
    {
      g_snprintf (what, sizeof what, "%s bwd data", L->name);
      if (!make_prim (g, dpd, what, &dprim, error))
        return FALSE;
      bwd_wmd = dnnl_primitive_desc_query_md (dpd, dnnl_query_weights_md, 0);
    }
  if (wpd)
    {
      g_snprintf (what, sizeof what, "%s bwd weights", L->name);
      if (!make_prim (g, wpd, what, &wprim, error))
        return FALSE;
      dw_md = dnnl_primitive_desc_query_md (wpd, dnnl_query_diff_weights_md, 0);
    }

  if (!weights_memories (g, li, fwd_wmd, bwd_wmd, dw_md, error))
    return FALSE;

  op = add_prim_op (g->fwd, fprim);
  op_arg (op, DNNL_ARG_SRC, x->mem);
  op_arg (op, DNNL_ARG_WEIGHTS, g->ls[li].w_fwd);
  op_arg (op, DNNL_ARG_BIAS, g->ls[li].b_user);
  op_arg (op, DNNL_ARG_DST, y->mem);

  begin_group (g);
  if (relu)
    {
      dnnl_eltwise_desc_t ed;
      dnnl_primitive_desc_t hint, epd;
      dnnl_primitive_t eprim;

      DNNL_TRY (dnnl_eltwise_forward_desc_init (&ed, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd,
                                                &y->md, 0.0f, 0.0f));
      g_snprintf (what, sizeof what, "%s relu fwd", L->name);
      if (!make_pd (g, &ed, NULL, NULL, &hint, what, error))
        return FALSE;
      DNNL_TRY (dnnl_eltwise_backward_desc_init (&ed, dnnl_eltwise_relu_use_dst_for_bwd, &y->md, &y->md,
                                                 0.0f, 0.0f));
      g_snprintf (what, sizeof what, "%s relu bwd", L->name);
      if (!make_pd (g, &ed, NULL, hint, &epd, what, error) || !make_prim (g, epd, what, &eprim, error))
        return FALSE;
      op = bwd_prim (g, eprim);
      op_arg (op, DNNL_ARG_DST, y->mem);
      op_arg (op, DNNL_ARG_DIFF_DST, y->dmem);
      op_arg (op, DNNL_ARG_DIFF_SRC, y->dmem);
    }
  if (wprim)
    {
      op = bwd_prim (g, wprim);
      op_arg (op, DNNL_ARG_SRC, x->mem);
      op_arg (op, DNNL_ARG_DIFF_DST, y->dmem);
      op_arg (op, DNNL_ARG_DIFF_WEIGHTS, g->ls[li].dw_prim);
      op_arg (op, DNNL_ARG_DIFF_BIAS, g->ls[li].db_user);
    }
  else
    {
      bwd_func (g, func_split_input, x, NULL, NULL, 0);
      if (!input_groups_weights_grad (g, li, x, y, n_groups, strides, pad, error))
        return FALSE;
    }
  if (dprim)
    {
      op = bwd_prim (g, dprim);
      op_arg (op, DNNL_ARG_DIFF_DST, y->dmem);
      op_arg (op, DNNL_ARG_WEIGHTS, g->ls[li].w_bwd);
      op_arg (op, DNNL_ARG_DIFF_SRC, x->dmem);
    }
  *out = y;
  return TRUE;
}

/* 2x2 max pooling; the backward group adds x's pooling gradient to what the
 * skip connection's split already wrote into x's gradient. */
static gboolean
pool_layer (BsTrainPiece *g, Tensor *x, Tensor **out, GError **error)
{
  Tensor *y, *tmp;
  dnnl_pooling_desc_t pdsc;
  dnnl_primitive_desc_t fpd, bpd;
  dnnl_primitive_t fprim, bprim;
  dnnl_memory_t ws;
  const dnnl_memory_desc_t *ws_md;
  dnnl_dims_t strides = { 2, 2 }, kernel = { 2, 2 }, pad = { 0, 0 };
  Op *op;

  if (!tensor_new (g, x->c, x->h / 2, x->w / 2, g->act_tag, TRUE, &y, error))
    return FALSE;
  if (!tensor_new (g, x->c, x->h, x->w, g->act_tag, FALSE, &tmp, error))
    return FALSE;
  DNNL_TRY (dnnl_pooling_forward_desc_init (&pdsc, dnnl_forward_training, dnnl_pooling_max, &x->md, &y->md,
                                            strides, kernel, pad, pad));
  if (!make_pd (g, &pdsc, NULL, NULL, &fpd, "maxpool fwd", error)
      || !make_prim (g, fpd, "maxpool fwd", &fprim, error))
    return FALSE;
  ws_md = dnnl_primitive_desc_query_md (fpd, dnnl_query_workspace_md, 0);
  DNNL_TRY (dnnl_memory_create (&ws, ws_md, g->engine, DNNL_MEMORY_ALLOCATE));
  g_ptr_array_add (g->memories, ws);
  DNNL_TRY (dnnl_pooling_backward_desc_init (&pdsc, dnnl_pooling_max, &x->md, &y->md, strides, kernel, pad, pad));
  if (!make_pd (g, &pdsc, NULL, fpd, &bpd, "maxpool bwd", error)
      || !make_prim (g, bpd, "maxpool bwd", &bprim, error))
    return FALSE;

  op = add_prim_op (g->fwd, fprim);
  op_arg (op, DNNL_ARG_SRC, x->mem);
  op_arg (op, DNNL_ARG_DST, y->mem);
  op_arg (op, DNNL_ARG_WORKSPACE, ws);

  begin_group (g);
  op = bwd_prim (g, bprim);
  op_arg (op, DNNL_ARG_DIFF_DST, y->dmem);
  op_arg (op, DNNL_ARG_DIFF_SRC, tmp->mem);
  op_arg (op, DNNL_ARG_WORKSPACE, ws);
  bwd_func (g, func_add_diff, x, tmp, NULL, 0);
  *out = y;
  return TRUE;
}

static gboolean
concat_layer (BsTrainPiece *g, Tensor *up, Tensor *skip, Tensor **out, GError **error)
{
  Tensor *cat;

  if (!tensor_new (g, up->c + skip->c, up->h, up->w, g->act_tag, TRUE, &cat, error))
    return FALSE;
  add_func_op (g->fwd, func_concat, up, skip, cat, 0);
  begin_group (g);
  bwd_func (g, func_split, up, skip, cat, 0);
  *out = cat;
  return TRUE;
}

static void
dropout_layer (BsTrainPiece *g, Tensor *x, int index)
{
  g->drop_channels[index] = x->c;
  g->drop_mask[index] = g_new (float, (gsize) g->batch * x->c);
  for (gsize i = 0; i < (gsize) g->batch * x->c; i++)
    g->drop_mask[index][i] = 1.0f;
  add_func_op (g->fwd, func_dropout_fwd, x, NULL, NULL, index);
  begin_group (g);
  bwd_func (g, func_dropout_bwd, x, NULL, NULL, index);
}

static gboolean
sigmoid_layer (BsTrainPiece *g, Tensor *z, Tensor **out, GError **error)
{
  Tensor *p;
  dnnl_eltwise_desc_t ed;
  dnnl_primitive_desc_t fpd, bpd;
  dnnl_primitive_t fprim, bprim;
  Op *op;

  if (!tensor_new (g, z->c, z->h, z->w, dnnl_nchw, TRUE, &p, error))
    return FALSE;
  DNNL_TRY (dnnl_eltwise_forward_desc_init (&ed, dnnl_forward_training, dnnl_eltwise_logistic_use_dst_for_bwd,
                                            &z->md, 0.0f, 0.0f));
  if (!make_pd (g, &ed, NULL, NULL, &fpd, "sigmoid fwd", error) || !make_prim (g, fpd, "sigmoid fwd", &fprim, error))
    return FALSE;
  DNNL_TRY (dnnl_eltwise_backward_desc_init (&ed, dnnl_eltwise_logistic_use_dst_for_bwd, &z->md, &z->md, 0.0f, 0.0f));
  if (!make_pd (g, &ed, NULL, fpd, &bpd, "sigmoid bwd", error) || !make_prim (g, bpd, "sigmoid bwd", &bprim, error))
    return FALSE;
  op = add_prim_op (g->fwd, fprim);
  op_arg (op, DNNL_ARG_SRC, z->mem);
  op_arg (op, DNNL_ARG_DST, p->mem);
  begin_group (g);
  op = bwd_prim (g, bprim);
  op_arg (op, DNNL_ARG_DST, p->mem);
  op_arg (op, DNNL_ARG_DIFF_DST, p->dmem);
  op_arg (op, DNNL_ARG_DIFF_SRC, z->dmem);
  *out = p;
  return TRUE;
}

static int
layer_index (BsTrainPiece *g, const char *name, GError **error)
{
  for (int i = 0; i < g->n_layers; i++)
    if (strcmp (g->net->layers[i].name, name) == 0)
      return i;
  g_set_error (error, BS_MODEL_ERROR, BS_MODEL_ERROR_MISSING, _("The model has no layer %s"), name);
  return -1;
}

static gboolean
conv_named (BsTrainPiece *g, const char *name, Tensor *x, gboolean need_dx, Tensor **out, GError **error)
{
  int li = layer_index (g, name, error);

  if (li < 0)
    return FALSE;
  return conv_layer (g, li, x, g->act_tag, need_dx, out, error);
}

/* The same tensor in another layout: oneDNN's 1x1 convolution to one channel
 * (or the three of a region model) only has a reference implementation for a
 * plain destination, so the output layer stays blocked (padded to 16
 * channels) and the sigmoid runs on plain. */
static gboolean
relayout_layer (BsTrainPiece *g, Tensor *x, dnnl_format_tag_t tag, Tensor **out, GError **error)
{
  Tensor *y;
  dnnl_primitive_desc_t fpd, bpd;
  dnnl_primitive_t fprim, bprim;
  Op *op;

  if (!tensor_new (g, x->c, x->h, x->w, tag, TRUE, &y, error))
    return FALSE;
  DNNL_TRY (dnnl_reorder_primitive_desc_create (&fpd, &x->md, g->engine, &y->md, g->engine, g->attr));
  g_ptr_array_add (g->pds, fpd);
  DNNL_TRY (dnnl_reorder_primitive_desc_create (&bpd, &y->md, g->engine, &x->md, g->engine, g->attr));
  g_ptr_array_add (g->pds, bpd);
  if (!make_prim (g, fpd, "relayout fwd", &fprim, error) || !make_prim (g, bpd, "relayout bwd", &bprim, error))
    return FALSE;
  op = add_prim_op (g->fwd, fprim);
  op_arg (op, DNNL_ARG_FROM, x->mem);
  op_arg (op, DNNL_ARG_TO, y->mem);
  begin_group (g);
  op = bwd_prim (g, bprim);
  op_arg (op, DNNL_ARG_FROM, y->dmem);
  op_arg (op, DNNL_ARG_TO, x->dmem);
  *out = y;
  return TRUE;
}

static gboolean
build (BsTrainPiece *g, GError **error)
{
  static const char *const enc[5][2] = {
    { "encodeAa", "encodeAb" }, { "encodeBa", "encodeBb" }, { "encodeCa", "encodeCb" },
    { "encodeDa", "encodeDb" }, { "encodeEa", "encodeEb" },
  };
  static const char *const dec[4][3] = {
    { "transconvE", "decodeCa", "decodeCb" }, { "transconvC", "decodeBa", "decodeBb" },
    { "transconvB", "decodeAa", "decodeAb" }, { "transconvA", "convOuta", "convOutb" },
  };
  Tensor *skip[4], *x, *t;

  if (!tensor_new (g, bs_unet_input_channels (&g->net->config), g->h, g->w, dnnl_nchw, FALSE, &g->input, error))
    return FALSE;
  x = g->input;
  for (int level = 0; level < 5; level++)
    {
      if (!conv_named (g, enc[level][0], x, level > 0, &t, error))
        return FALSE;
      if (level == 2 || level == 3)
        dropout_layer (g, t, level - 2);
      if (!conv_named (g, enc[level][1], t, TRUE, &x, error))
        return FALSE;
      if (level < 4)
        {
          skip[level] = x;
          if (!pool_layer (g, skip[level], &x, error))
            return FALSE;
        }
    }
  for (int level = 0; level < 4; level++)
    {
      Tensor *up, *cat;
      if (!conv_named (g, dec[level][0], x, TRUE, &up, error)
          || !concat_layer (g, up, skip[3 - level], &cat, error)
          || !conv_named (g, dec[level][1], cat, TRUE, &t, error)
          || !conv_named (g, dec[level][2], t, TRUE, &x, error))
        return FALSE;
    }
  if (!conv_named (g, "PredictionMask", x, TRUE, &g->logits, error))
    return FALSE;
  if (g->blocked && !relayout_layer (g, g->logits, dnnl_nchw, &g->logits, error))
    return FALSE;
  return sigmoid_layer (g, g->logits, &g->probs, error);
}

/* The scratchpad every primitive asked for, given to every op. */
static gboolean
build_scratchpad (BsTrainPiece *g, GError **error)
{
  dnnl_memory_desc_t md;
  dnnl_dims_t dims;
  size_t size = 64;

  for (guint i = 0; i < g->pds->len; i++)
    size = MAX (size, dnnl_memory_desc_get_size (
                        dnnl_primitive_desc_query_md (g_ptr_array_index (g->pds, i), dnnl_query_scratchpad_md, 0)));
  dims[0] = (dnnl_dim_t) size;
  DNNL_TRY (dnnl_memory_desc_init_by_tag (&md, 1, dims, dnnl_u8, dnnl_a));
  DNNL_TRY (dnnl_memory_create (&g->scratch, &md, g->engine, DNNL_MEMORY_ALLOCATE));
  g_ptr_array_add (g->memories, g->scratch);
  for (int pass = 0; pass < 2; pass++)
    {
      GPtrArray *ops = pass == 0 ? g->fwd : g->bwd;
      for (guint i = 0; i < ops->len; i++)
        {
          Op *op = g_ptr_array_index (ops, i);
          if (op->prim)
            op_arg (op, DNNL_ARG_SCRATCHPAD, g->scratch);
        }
    }
  return TRUE;
}

BsTrainPiece *
bs_train_piece_new (BsUnet *net, int batch, int h, int w, int max_group, int threads, GError **error)
{
  g_autoptr(BsTrainPiece) g = NULL;
  int fms = net->config.fms, caller_threads = omp_get_max_threads ();
  gboolean ok;

  g_return_val_if_fail (net != NULL && batch > 0, NULL);
  if (h <= 0 || w <= 0 || h % 16 != 0 || w % 16 != 0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("Training slices must be a multiple of 16 pixels high and wide, not %dx%d"), w, h);
      return NULL;
    }
  if (net->config.upsample != BS_UPSAMPLE_TRANSPOSED)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("Only U-Nets with transposed-convolution upsampling can be trained"));
      return NULL;
    }
  g = g_new0 (BsTrainPiece, 1);
  g->net = net;
  g->batch = batch;
  g->h = h;
  g->w = w;
  g->max_group = max_group;
  g->threads = MAX (threads, 0);
  g->blocked = fms % 16 == 0;
  g->act_tag = g->blocked ? dnnl_nChw16c : dnnl_nchw;
  g->tensors = g_ptr_array_new_with_free_func (tensor_free);
  g->pds = g_ptr_array_new_with_free_func (pd_free);
  g->prims = g_ptr_array_new_with_free_func (prim_free);
  g->memories = g_ptr_array_new_with_free_func (mem_free);
  g->fwd = g_ptr_array_new_with_free_func (op_free);
  g->bwd = g_ptr_array_new_with_free_func (op_free);
  g->bwd_groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  g->describe = g_string_new (NULL);
  g->n_layers = net->n_layers;
  g->ls = g_new0 (LayerState, net->n_layers);
  for (int i = 0; i < net->n_layers; i++)
    g->ls[i].layer = &net->layers[i];

  if (dnnl_engine_create (&g->engine, dnnl_cpu, 0) != dnnl_success
      || dnnl_stream_create (&g->stream, g->engine, dnnl_stream_default_flags) != dnnl_success)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DNNL, _("oneDNN could not create a CPU engine"));
      return NULL;
    }
  if (dnnl_primitive_attr_create (&g->attr) != dnnl_success
      || dnnl_primitive_attr_set_scratchpad_mode (g->attr, dnnl_scratchpad_mode_user) != dnnl_success)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DNNL, _("oneDNN could not create a primitive attribute"));
      return NULL;
    }
  /* oneDNN fixes a primitive's thread count when it is created. */
  if (g->threads > 0)
    omp_set_num_threads (g->threads);
  ok = build (g, error) && build_scratchpad (g, error);
  omp_set_num_threads (caller_threads);
  if (!ok)
    return NULL;

  /* The backward pass runs the groups in reverse, each group in order. */
  g_ptr_array_set_free_func (g->bwd, NULL);
  g_ptr_array_set_size (g->bwd, 0);
  g_ptr_array_set_free_func (g->bwd, op_free);
  for (int i = (int) g->bwd_groups->len - 1; i >= 0; i--)
    {
      GPtrArray *grp = g_ptr_array_index (g->bwd_groups, i);
      for (guint j = 0; j < grp->len; j++)
        g_ptr_array_add (g->bwd, g_ptr_array_index (grp, j));
    }
  return g_steal_pointer (&g);
}

void
bs_train_piece_free (BsTrainPiece *g)
{
  if (!g)
    return;
  /* Ops and primitives reference memories: drop them first. */
  g_clear_pointer (&g->fwd, g_ptr_array_unref);
  g_clear_pointer (&g->bwd, g_ptr_array_unref);
  g_clear_pointer (&g->bwd_groups, g_ptr_array_unref);
  g_clear_pointer (&g->prims, g_ptr_array_unref);
  g_clear_pointer (&g->pds, g_ptr_array_unref);
  g_clear_pointer (&g->memories, g_ptr_array_unref);
  g_clear_pointer (&g->tensors, g_ptr_array_unref);
  if (g->ls)
    for (int i = 0; i < g->n_layers; i++)
      {
        g_free (g->ls[i].dw);
        g_free (g->ls[i].db);
      }
  g_free (g->ls);
  g_free (g->in_groups);
  g_free (g->drop_mask[0]);
  g_free (g->drop_mask[1]);
  if (g->attr)
    dnnl_primitive_attr_destroy (g->attr);
  if (g->stream)
    dnnl_stream_destroy (g->stream);
  if (g->engine)
    dnnl_engine_destroy (g->engine);
  if (g->describe)
    g_string_free (g->describe, TRUE);
  g_free (g);
}

void
bs_train_piece_set_dropout (BsTrainPiece *g, double rate)
{
  g->dropout_rate = CLAMP (rate, 0.0, 0.95);
}

char *
bs_train_piece_describe (const BsTrainPiece *g)
{
  return g_strdup (g->describe->str);
}

static gboolean
run_ops (BsTrainPiece *g, GPtrArray *ops, GError **error)
{
  for (guint i = 0; i < ops->len; i++)
    {
      Op *op = g_ptr_array_index (ops, i);
      if (op->prim)
        DNNL_TRY (dnnl_primitive_execute (op->prim, g->stream, op->nargs, op->args));
      else
        {
          DNNL_TRY (dnnl_stream_wait (g->stream));
          op->func (g, op);
        }
    }
  DNNL_TRY (dnnl_stream_wait (g->stream));
  return TRUE;
}

static gboolean
reorder (BsTrainPiece *g, dnnl_primitive_t prim, dnnl_memory_t src, dnnl_memory_t dst, GError **error)
{
  dnnl_exec_arg_t args[3] = { { DNNL_ARG_FROM, src }, { DNNL_ARG_TO, dst }, { DNNL_ARG_SCRATCHPAD, g->scratch } };

  if (prim)
    DNNL_TRY (dnnl_primitive_execute (prim, g->stream, 3, args));
  return TRUE;
}

gboolean
bs_train_piece_forward (BsTrainPiece *g, const float *input, int n, gboolean training, const guint64 *seeds,
                        float *probs, GError **error)
{
  gsize per = g->input->per_image;
  gsize out = g->probs->per_image;

  g_return_val_if_fail (n > 0 && n <= g->batch, FALSE);
  if (g->threads > 0)
    omp_set_num_threads (g->threads);
  memcpy (g->input->data, input, per * n * sizeof (float));
  if (n < g->batch)
    memset (g->input->data + per * n, 0, per * (g->batch - n) * sizeof (float));
  for (int i = 0; i < g->n_layers; i++)
    if (!reorder (g, g->ls[i].reorder_fwd, g->ls[i].w_user, g->ls[i].w_fwd, error))
      return FALSE;
  g->last_forward_training = training && seeds != NULL;
  g->last_n = n;
  g->seeds = seeds;
  if (!run_ops (g, g->fwd, error))
    return FALSE;
  if (probs)
    memcpy (probs, g->probs->data, out * n * sizeof (float));
  return TRUE;
}

gboolean
bs_train_piece_backward (BsTrainPiece *g, const float *dprobs, int n, GError **error)
{
  gsize out = g->probs->per_image;

  g_return_val_if_fail (n > 0 && n <= g->batch, FALSE);
  if (g->threads > 0)
    omp_set_num_threads (g->threads);
  memcpy (g->probs->diff, dprobs, out * n * sizeof (float));
  if (n < g->batch)
    memset (g->probs->diff + out * n, 0, out * (g->batch - n) * sizeof (float));
  for (int i = 0; i < g->n_layers; i++)
    if (g->ls[i].w_bwd && !reorder (g, g->ls[i].reorder_bwd, g->ls[i].w_user, g->ls[i].w_bwd, error))
      return FALSE;
  if (!run_ops (g, g->bwd, error))
    return FALSE;
  for (int i = 0; i < g->n_layers; i++)
    if (!reorder (g, g->ls[i].reorder_dw, g->ls[i].dw_prim, g->ls[i].dw_user, error))
      return FALSE;
  DNNL_TRY (dnnl_stream_wait (g->stream));
  return TRUE;
}

void
bs_train_piece_get_grads (BsTrainPiece *g, int layer, const float **dweights, const float **dbias)
{
  g_return_if_fail (layer >= 0 && layer < g->n_layers);
  if (dweights)
    *dweights = g->ls[layer].dw;
  if (dbias)
    *dbias = g->ls[layer].db;
}
