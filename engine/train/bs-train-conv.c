/* The convolution layers of a piece of the training graph: forward with
 * fused ReLU, backward data and weights, the weights' reorders from the
 * model's OIHW arrays, and the input layer's weight gradient in groups of
 * input channels (oneDNN 2.6 has a fast kernel for it only up to 3 plain
 * input channels). */
#include <math.h>
#include <omp.h>
#include <string.h>

#include "bs-error.h"
#include "bs-train-graph-private.h"

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
      if (!bs_train_piece_tensor_new (g, c, x->h, x->w, dnnl_nchw, FALSE, &grp->x, error))
        return FALSE;
      DNNL_TRY (dnnl_memory_desc_init_by_tag (&wmd_any, 4, wdims, dnnl_f32, dnnl_format_tag_any));
      DNNL_TRY (dnnl_convolution_forward_desc_init (&d, dnnl_forward_training, dnnl_convolution_direct,
                                                    &grp->x->md, &wmd_any, &bias_md, &y->md, strides, pad, pad));
      g_snprintf (what, sizeof what, "%s fwd ch %d-%d (hint)", L->name, c0, c0 + c - 1);
      if (!bs_train_piece_make_pd (g, &d, NULL, NULL, &hint, what, error))
        return FALSE;
      DNNL_TRY (dnnl_convolution_backward_weights_desc_init (&d, dnnl_convolution_direct, &grp->x->md, &wmd_any,
                                                             k == 0 ? &bias_md : NULL, &y->md, strides, pad, pad));
      g_snprintf (what, sizeof what, "%s bwd weights ch %d-%d", L->name, c0, c0 + c - 1);
      if (!bs_train_piece_make_pd (g, &d, NULL, hint, &wpd, what, error)
          || !bs_train_piece_make_prim (g, wpd, what, &wprim, error))
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
        Op *op = bs_train_piece_bwd_prim (g, wprim);
        bs_train_piece_op_arg (op, DNNL_ARG_SRC, grp->x->mem);
        bs_train_piece_op_arg (op, DNNL_ARG_DIFF_DST, y->dmem);
        bs_train_piece_op_arg (op, DNNL_ARG_DIFF_WEIGHTS, dw_prim);
        if (k == 0)
          bs_train_piece_op_arg (op, DNNL_ARG_DIFF_BIAS, s->db_user);
      }
      if (dw_prim != slice)
        {
          dnnl_primitive_desc_t rpd;
          dnnl_primitive_t rprim;
          Op *op;

          DNNL_TRY (dnnl_reorder_primitive_desc_create (&rpd, dw_md, g->engine, &slice_md, g->engine, g->attr));
          g_ptr_array_add (g->pds, rpd);
          g_snprintf (what, sizeof what, "%s dw ch %d-%d reorder", L->name, c0, c0 + c - 1);
          if (!bs_train_piece_make_prim (g, rpd, what, &rprim, error))
            return FALSE;
          op = bs_train_piece_bwd_prim (g, rprim);
          bs_train_piece_op_arg (op, DNNL_ARG_FROM, dw_prim);
          bs_train_piece_op_arg (op, DNNL_ARG_TO, slice);
        }
      c0 += c;
    }
  return TRUE;
}

/* A convolution (3x3 same + ReLU, 1x1, or 2x2 stride-2 transposed) from x to a
 * new tensor; its backward group computes the weight gradients and, when
 * need_dx, x's gradient. */
gboolean
bs_train_piece_conv_layer (BsTrainPiece *g, int li, Tensor *x, dnnl_format_tag_t out_tag, gboolean need_dx,
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
  if (!bs_train_piece_tensor_new (g, L->out_ch, oh, ow, out_tag, TRUE, &y, error))
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
      if (!bs_train_piece_make_pd (g, &d, NULL, NULL, &fpd, what, error))
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
      ok = bs_train_piece_make_pd (g, &d, attr, NULL, &fpd, what, error);
      if (attr)
        dnnl_primitive_attr_destroy (attr);
      if (!ok)
        return FALSE;
    }
  if (!bs_train_piece_make_prim (g, fpd, what, &fprim, error))
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
          if (!bs_train_piece_make_pd (g, &d, NULL, fpd, &dpd, what, error))
            return FALSE;
        }
      DNNL_TRY (dnnl_deconvolution_backward_weights_desc_init (&d, dnnl_deconvolution_direct, &x->md, &wmd_any,
                                                               &bias_md, &y->md, strides, pad, pad));
      g_snprintf (what, sizeof what, "%s bwd weights", L->name);
      if (!bs_train_piece_make_pd (g, &d, NULL, fpd, &wpd, what, error))
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
          if (!bs_train_piece_make_pd (g, &d, NULL, fpd, &dpd, what, error))
            return FALSE;
        }
      if (n_groups == 1)
        {
          DNNL_TRY (dnnl_convolution_backward_weights_desc_init (&d, dnnl_convolution_direct, &x->md, &wmd_any,
                                                                 &bias_md, &y->md, strides, pad, pad));
          g_snprintf (what, sizeof what, "%s bwd weights", L->name);
          if (!bs_train_piece_make_pd (g, &d, NULL, fpd, &wpd, what, error))
            return FALSE;
        }
    }
  if (dpd)
    {
      g_snprintf (what, sizeof what, "%s bwd data", L->name);
      if (!bs_train_piece_make_prim (g, dpd, what, &dprim, error))
        return FALSE;
      bwd_wmd = dnnl_primitive_desc_query_md (dpd, dnnl_query_weights_md, 0);
    }
  if (wpd)
    {
      g_snprintf (what, sizeof what, "%s bwd weights", L->name);
      if (!bs_train_piece_make_prim (g, wpd, what, &wprim, error))
        return FALSE;
      dw_md = dnnl_primitive_desc_query_md (wpd, dnnl_query_diff_weights_md, 0);
    }

  if (!weights_memories (g, li, fwd_wmd, bwd_wmd, dw_md, error))
    return FALSE;

  op = bs_train_piece_add_prim_op (g->fwd, fprim);
  bs_train_piece_op_arg (op, DNNL_ARG_SRC, x->mem);
  bs_train_piece_op_arg (op, DNNL_ARG_WEIGHTS, g->ls[li].w_fwd);
  bs_train_piece_op_arg (op, DNNL_ARG_BIAS, g->ls[li].b_user);
  bs_train_piece_op_arg (op, DNNL_ARG_DST, y->mem);

  bs_train_piece_begin_group (g);
  if (relu)
    {
      dnnl_eltwise_desc_t ed;
      dnnl_primitive_desc_t hint, epd;
      dnnl_primitive_t eprim;

      DNNL_TRY (dnnl_eltwise_forward_desc_init (&ed, dnnl_forward_training, dnnl_eltwise_relu_use_dst_for_bwd,
                                                &y->md, 0.0f, 0.0f));
      g_snprintf (what, sizeof what, "%s relu fwd", L->name);
      if (!bs_train_piece_make_pd (g, &ed, NULL, NULL, &hint, what, error))
        return FALSE;
      DNNL_TRY (dnnl_eltwise_backward_desc_init (&ed, dnnl_eltwise_relu_use_dst_for_bwd, &y->md, &y->md,
                                                 0.0f, 0.0f));
      g_snprintf (what, sizeof what, "%s relu bwd", L->name);
      if (!bs_train_piece_make_pd (g, &ed, NULL, hint, &epd, what, error)
          || !bs_train_piece_make_prim (g, epd, what, &eprim, error))
        return FALSE;
      op = bs_train_piece_bwd_prim (g, eprim);
      bs_train_piece_op_arg (op, DNNL_ARG_DST, y->mem);
      bs_train_piece_op_arg (op, DNNL_ARG_DIFF_DST, y->dmem);
      bs_train_piece_op_arg (op, DNNL_ARG_DIFF_SRC, y->dmem);
    }
  if (wprim)
    {
      op = bs_train_piece_bwd_prim (g, wprim);
      bs_train_piece_op_arg (op, DNNL_ARG_SRC, x->mem);
      bs_train_piece_op_arg (op, DNNL_ARG_DIFF_DST, y->dmem);
      bs_train_piece_op_arg (op, DNNL_ARG_DIFF_WEIGHTS, g->ls[li].dw_prim);
      bs_train_piece_op_arg (op, DNNL_ARG_DIFF_BIAS, g->ls[li].db_user);
    }
  else
    {
      bs_train_piece_bwd_func (g, func_split_input, x, NULL, NULL, 0);
      if (!input_groups_weights_grad (g, li, x, y, n_groups, strides, pad, error))
        return FALSE;
    }
  if (dprim)
    {
      op = bs_train_piece_bwd_prim (g, dprim);
      bs_train_piece_op_arg (op, DNNL_ARG_DIFF_DST, y->dmem);
      bs_train_piece_op_arg (op, DNNL_ARG_WEIGHTS, g->ls[li].w_bwd);
      bs_train_piece_op_arg (op, DNNL_ARG_DIFF_SRC, x->dmem);
    }
  *out = y;
  return TRUE;
}

