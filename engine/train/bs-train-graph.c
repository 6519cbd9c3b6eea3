/* One piece of the training graph (BsTrainGraph, bs-train-lanes.c): the
 * U-Net at a fixed batch as a oneDNN training graph: forward-training
 * primitives (conv with fused ReLU, in bs-train-conv.c; max pooling with
 * workspace, transposed conv, sigmoid), backward
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
 * channels (bs-train-conv.c): oneDNN 2.6 has a fast kernel for it only up
 * to 3 plain input channels. */
#include <glib/gi18n.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "bs-error.h"
#include "bs-train-graph-private.h"

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

gboolean
bs_train_piece_tensor_new (BsTrainPiece *g, int c, int h, int w, dnnl_format_tag_t tag, gboolean with_diff,
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

gboolean
bs_train_piece_make_pd (BsTrainPiece *g, const_dnnl_op_desc_t desc, const_dnnl_primitive_attr_t attr,
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

gboolean
bs_train_piece_make_prim (BsTrainPiece *g, dnnl_primitive_desc_t pd, const char *what, dnnl_primitive_t *prim,
           GError **error)
{
  const char *impl = NULL;

  DNNL_TRY (dnnl_primitive_create (prim, pd));
  g_ptr_array_add (g->prims, *prim);
  if (dnnl_primitive_desc_query (pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success)
    g_string_append_printf (g->describe, "%-28s %s\n", what, impl);
  return TRUE;
}

Op *
bs_train_piece_add_prim_op (GPtrArray *list, dnnl_primitive_t prim)
{
  Op *op = g_new0 (Op, 1);

  op->prim = prim;
  g_ptr_array_add (list, op);
  return op;
}

void
bs_train_piece_op_arg (Op *op, int arg, dnnl_memory_t mem)
{
  g_assert (op->nargs < (int) G_N_ELEMENTS (op->args));
  op->args[op->nargs].arg = arg;
  op->args[op->nargs].memory = mem;
  op->nargs++;
}

Op *
bs_train_piece_add_func_op (GPtrArray *list, OpFunc func, Tensor *a, Tensor *b, Tensor *c, int index)
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

void
bs_train_piece_begin_group (BsTrainPiece *g)
{
  g->cur_group = g_ptr_array_new ();
  g_ptr_array_add (g->bwd_groups, g->cur_group);
}

Op *
bs_train_piece_bwd_prim (BsTrainPiece *g, dnnl_primitive_t prim)
{
  Op *op = bs_train_piece_add_prim_op (g->bwd, prim);

  g_ptr_array_add (g->cur_group, op);
  return op;
}

Op *
bs_train_piece_bwd_func (BsTrainPiece *g, OpFunc func, Tensor *a, Tensor *b, Tensor *c, int index)
{
  Op *op = bs_train_piece_add_func_op (g->bwd, func, a, b, c, index);

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

  if (!bs_train_piece_tensor_new (g, x->c, x->h / 2, x->w / 2, g->act_tag, TRUE, &y, error))
    return FALSE;
  if (!bs_train_piece_tensor_new (g, x->c, x->h, x->w, g->act_tag, FALSE, &tmp, error))
    return FALSE;
  DNNL_TRY (dnnl_pooling_forward_desc_init (&pdsc, dnnl_forward_training, dnnl_pooling_max, &x->md, &y->md,
                                            strides, kernel, pad, pad));
  if (!bs_train_piece_make_pd (g, &pdsc, NULL, NULL, &fpd, "maxpool fwd", error)
      || !bs_train_piece_make_prim (g, fpd, "maxpool fwd", &fprim, error))
    return FALSE;
  ws_md = dnnl_primitive_desc_query_md (fpd, dnnl_query_workspace_md, 0);
  DNNL_TRY (dnnl_memory_create (&ws, ws_md, g->engine, DNNL_MEMORY_ALLOCATE));
  g_ptr_array_add (g->memories, ws);
  DNNL_TRY (dnnl_pooling_backward_desc_init (&pdsc, dnnl_pooling_max, &x->md, &y->md, strides, kernel, pad, pad));
  if (!bs_train_piece_make_pd (g, &pdsc, NULL, fpd, &bpd, "maxpool bwd", error)
      || !bs_train_piece_make_prim (g, bpd, "maxpool bwd", &bprim, error))
    return FALSE;

  op = bs_train_piece_add_prim_op (g->fwd, fprim);
  bs_train_piece_op_arg (op, DNNL_ARG_SRC, x->mem);
  bs_train_piece_op_arg (op, DNNL_ARG_DST, y->mem);
  bs_train_piece_op_arg (op, DNNL_ARG_WORKSPACE, ws);

  bs_train_piece_begin_group (g);
  op = bs_train_piece_bwd_prim (g, bprim);
  bs_train_piece_op_arg (op, DNNL_ARG_DIFF_DST, y->dmem);
  bs_train_piece_op_arg (op, DNNL_ARG_DIFF_SRC, tmp->mem);
  bs_train_piece_op_arg (op, DNNL_ARG_WORKSPACE, ws);
  bs_train_piece_bwd_func (g, func_add_diff, x, tmp, NULL, 0);
  *out = y;
  return TRUE;
}

static gboolean
concat_layer (BsTrainPiece *g, Tensor *up, Tensor *skip, Tensor **out, GError **error)
{
  Tensor *cat;

  if (!bs_train_piece_tensor_new (g, up->c + skip->c, up->h, up->w, g->act_tag, TRUE, &cat, error))
    return FALSE;
  bs_train_piece_add_func_op (g->fwd, func_concat, up, skip, cat, 0);
  bs_train_piece_begin_group (g);
  bs_train_piece_bwd_func (g, func_split, up, skip, cat, 0);
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
  bs_train_piece_add_func_op (g->fwd, func_dropout_fwd, x, NULL, NULL, index);
  bs_train_piece_begin_group (g);
  bs_train_piece_bwd_func (g, func_dropout_bwd, x, NULL, NULL, index);
}

static gboolean
sigmoid_layer (BsTrainPiece *g, Tensor *z, Tensor **out, GError **error)
{
  Tensor *p;
  dnnl_eltwise_desc_t ed;
  dnnl_primitive_desc_t fpd, bpd;
  dnnl_primitive_t fprim, bprim;
  Op *op;

  if (!bs_train_piece_tensor_new (g, z->c, z->h, z->w, dnnl_nchw, TRUE, &p, error))
    return FALSE;
  DNNL_TRY (dnnl_eltwise_forward_desc_init (&ed, dnnl_forward_training, dnnl_eltwise_logistic_use_dst_for_bwd,
                                            &z->md, 0.0f, 0.0f));
  if (!bs_train_piece_make_pd (g, &ed, NULL, NULL, &fpd, "sigmoid fwd", error)
      || !bs_train_piece_make_prim (g, fpd, "sigmoid fwd", &fprim, error))
    return FALSE;
  DNNL_TRY (dnnl_eltwise_backward_desc_init (&ed, dnnl_eltwise_logistic_use_dst_for_bwd, &z->md, &z->md, 0.0f, 0.0f));
  if (!bs_train_piece_make_pd (g, &ed, NULL, fpd, &bpd, "sigmoid bwd", error)
      || !bs_train_piece_make_prim (g, bpd, "sigmoid bwd", &bprim, error))
    return FALSE;
  op = bs_train_piece_add_prim_op (g->fwd, fprim);
  bs_train_piece_op_arg (op, DNNL_ARG_SRC, z->mem);
  bs_train_piece_op_arg (op, DNNL_ARG_DST, p->mem);
  bs_train_piece_begin_group (g);
  op = bs_train_piece_bwd_prim (g, bprim);
  bs_train_piece_op_arg (op, DNNL_ARG_DST, p->mem);
  bs_train_piece_op_arg (op, DNNL_ARG_DIFF_DST, p->dmem);
  bs_train_piece_op_arg (op, DNNL_ARG_DIFF_SRC, z->dmem);
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
  return bs_train_piece_conv_layer (g, li, x, g->act_tag, need_dx, out, error);
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

  if (!bs_train_piece_tensor_new (g, x->c, x->h, x->w, tag, TRUE, &y, error))
    return FALSE;
  DNNL_TRY (dnnl_reorder_primitive_desc_create (&fpd, &x->md, g->engine, &y->md, g->engine, g->attr));
  g_ptr_array_add (g->pds, fpd);
  DNNL_TRY (dnnl_reorder_primitive_desc_create (&bpd, &y->md, g->engine, &x->md, g->engine, g->attr));
  g_ptr_array_add (g->pds, bpd);
  if (!bs_train_piece_make_prim (g, fpd, "relayout fwd", &fprim, error)
      || !bs_train_piece_make_prim (g, bpd, "relayout bwd", &bprim, error))
    return FALSE;
  op = bs_train_piece_add_prim_op (g->fwd, fprim);
  bs_train_piece_op_arg (op, DNNL_ARG_FROM, x->mem);
  bs_train_piece_op_arg (op, DNNL_ARG_TO, y->mem);
  bs_train_piece_begin_group (g);
  op = bs_train_piece_bwd_prim (g, bprim);
  bs_train_piece_op_arg (op, DNNL_ARG_FROM, y->dmem);
  bs_train_piece_op_arg (op, DNNL_ARG_TO, x->dmem);
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

  if (!bs_train_piece_tensor_new (g, bs_unet_input_channels (&g->net->config), g->h, g->w, dnnl_nchw, FALSE,
                                  &g->input, error))
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
            bs_train_piece_op_arg (op, DNNL_ARG_SCRATCHPAD, g->scratch);
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
