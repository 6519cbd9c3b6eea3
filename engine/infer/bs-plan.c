/* oneDNN inference plans for the U-Net.
 *
 * A plan is a list of operations (a primitive and the argument sets it runs
 * with) built once; running it copies the input in, executes the list and
 * copies the probabilities out.  Everything is allocated while building.
 *
 * Concatenations with fusion on: when the activation layout keeps each
 * half of a concat buffer dense within a sample (nchw, nChw16c), the skip
 * convolution and the upsampling write straight into their halves.  oneDNN
 * 2.6 sends a convolution whose destination is a sub-memory descriptor to its
 * slow reference kernel, so the halves are addressed as ordinary dense
 * single-sample tensors whose data handles point into the buffer; with a
 * batch those producers run once per sample.  With nhwc halves are strided
 * (oneDNN 2.6 has only reference convolutions for strided tensors), so the
 * halves are copied in: fused int8 writes the skip half while pooling (a
 * plain-C step, engine/bs-plan-kernels.c) and the upsampled half with a jit
 * reorder, other precisions copy both halves with reorders.  The plan
 * description says which. */
#include <glib/gi18n.h>
#include <math.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <string.h>

#include "bs-error.h"
#include "bs-parallel.h"
#include "bs-plan.h"
#include "bs-plan-kernels.h"
#include "bs-plan-private.h"
#include "bs-plan-build.h"
#include "bs-plan-weights.h"
#include "bs-preprocess.h"
#include "bs-reference.h"
#include "bs-runtime.h"

/* int8: activation types and scales, decided before any primitive exists
 * because a concat buffer's halves must share one. */
typedef struct {
  dnnl_data_type_t dt;
  float scale;
} Quant;

static float
cal_max (const Builder *b, int layer)
{
  float m = layer < 0 ? b->cal->input_max : b->cal->layer_max[layer];
  return m > 0.0f ? m : 1.0f;
}

static int
layer_index (const BsUnet *net, const char *name)
{
  for (int i = 0; i < net->n_layers; i++)
    if (strcmp (net->layers[i].name, name) == 0)
      return i;
  return -1;
}

static void
plan_quant (Builder *b, Quant *q, Quant *input)
{
  const BsUnet *net = b->net;
  static const char *const skips[4] = { "encodeAb", "encodeBb", "encodeCb", "encodeDb" };
  static const char *const transconvs[4] = { "transconvA", "transconvB", "transconvC", "transconvE" };
  /* With nearest upsampling, what goes up into level A..D is the output of the level below. */
  static const char *const below[4] = { "decodeAb", "decodeBb", "decodeCb", "encodeEb" };

  for (int i = 0; i < net->n_layers; i++)
    {
      if (!b->int8)
        q[i] = (Quant) { b->fdt, 1.0f };
      else if (b->fusion)
        q[i] = (Quant) { dnnl_u8, 255.0f / cal_max (b, i) };
      else
        q[i] = (Quant) { dnnl_s8, 127.0f / cal_max (b, i) };
    }
  q[net->n_layers - 1] = (Quant) { dnnl_f32, 1.0f };
  *input = (Quant) { b->fdt, 1.0f };
  if (!b->int8)
    return;
  /* Fused int8 quantises the input in the input reorder (s8, signed
   * z-scores) and runs encodeAa in int8 too: that saves a separate f32 -> u8
   * reorder of 16 full-size channels, and on the shipped model the masks
   * agree with fp32 as well as with an fp32 encodeAa (99.94 % on real slices). */
  if (b->int8_first)
    *input = (Quant) { dnnl_s8, 127.0f / cal_max (b, -1) };
  for (int level = 0; level < 4; level++)
    {
      int s = layer_index (net, skips[level]);
      int u = layer_index (net, net->config.upsample == BS_UPSAMPLE_TRANSPOSED ? transconvs[level] : below[level]);
      float m;

      m = MAX (cal_max (b, s), cal_max (b, u));
      q[s] = (Quant) { dnnl_s8, 127.0f / m };
      q[u] = (Quant) { dnnl_s8, 127.0f / m };
    }
}

static gboolean
build_input (Builder *b, const Act *first)
{
  BsPlan *p = b->p;
  dnnl_memory_desc_t user_md;

  pb_md_4d (&user_md, b->batch, p->in_ch, p->h, p->w, dnnl_f32, dnnl_nchw);
  p->in_net = first->mem;
  if (dnnl_memory_desc_equal (&user_md, &first->md) && first->scale == 1.0f)
    p->in_user = first->mem;
  else if (!pb_new_mem (b, &user_md, NULL, &p->in_user))
    return FALSE;
  p->in_ptr = pb_mem_ptr (p->in_user);
  /* Slots beyond n in a short batch are computed too; keep them finite. */
  memset (p->in_ptr, 0, dnnl_memory_desc_get_size (&user_md));
  if (p->in_user == p->in_net)
    return TRUE;
  {
    dnnl_primitive_attr_t attr;
    dnnl_primitive_desc_t pd;
    dnnl_status_t st;

    TRY (dnnl_primitive_attr_create (&attr), "create attributes");
    dnnl_primitive_attr_set_scratchpad_mode (attr, dnnl_scratchpad_mode_user);
    if (first->scale != 1.0f)
      dnnl_primitive_attr_set_output_scales (attr, 1, 0, &first->scale);
    st = dnnl_reorder_primitive_desc_create (&pd, &user_md, p->engine, &first->md, p->engine, attr);
    dnnl_primitive_attr_destroy (attr);
    TRY (st, "reorder the input");
    p->scratch_size = MAX (p->scratch_size,
                           dnnl_memory_desc_get_size (dnnl_primitive_desc_query_md (pd, dnnl_query_scratchpad_md, 0)));
    st = dnnl_primitive_create (&p->in_reorder, pd);
    dnnl_primitive_desc_destroy (pd);
    TRY (st, "create the input reorder");
  }
  return TRUE;
}

static gboolean
build_output (Builder *b, const Act *last)
{
  BsPlan *p = b->p;
  dnnl_memory_desc_t user_md;
  dnnl_primitive_desc_t pd;
  dnnl_status_t st;

  pb_md_4d (&user_md, b->batch, p->n_out, p->h, p->w, dnnl_f32, dnnl_nchw);
  p->out_net = last->mem;
  if (dnnl_memory_desc_equal (&user_md, &last->md))
    {
      p->out_user = last->mem;
      p->out_ptr = pb_mem_ptr (last->mem);
      return TRUE;
    }
  if (!pb_new_mem (b, &user_md, NULL, &p->out_user))
    return FALSE;
  p->out_ptr = pb_mem_ptr (p->out_user);
  TRY (dnnl_reorder_primitive_desc_create (&pd, &last->md, p->engine, &user_md, p->engine, b->attr),
       "reorder the output");
  p->scratch_size = MAX (p->scratch_size,
                         dnnl_memory_desc_get_size (dnnl_primitive_desc_query_md (pd, dnnl_query_scratchpad_md, 0)));
  st = dnnl_primitive_create (&p->out_reorder, pd);
  dnnl_primitive_desc_destroy (pd);
  TRY (st, "create the output reorder");
  return TRUE;
}

static gboolean
describe_concats (Builder *b, const gboolean *inplace, const gboolean *by_reorders, const gboolean *skip_in_cat,
                  const char *const *names)
{
  for (int level = 0; level < 4; level++)
    if (skip_in_cat[level])
      g_string_append_printf (b->p->description,
                              _("  %s: the skip half is written while pooling, the other half by a reorder\n"),
                              names[level]);
    else if (by_reorders[level])
      g_string_append_printf (b->p->description,
                              _("  %s copied by two reorders: its halves are not dense in this layout\n"),
                              names[level]);
    else if (!inplace[level] && b->fusion)
      g_string_append_printf (b->p->description, _("  %s kept: its halves are not dense in this layout\n"),
                              names[level]);
  return TRUE;
}

static void
build_head (Builder *b, const BsUnetLayer *l, const Act *src)
{
  Head *hd = g_new0 (Head, 1);

  hd->src = pb_mem_ptr (src->mem);
  hd->c = src->c;
  hd->n_out = l->out_ch;
  hd->w = g_new (float, (gsize) l->out_ch * src->c);
  hd->bias = g_new (float, l->out_ch);
  /* The weights are OIHW with a 1x1 kernel: output o's row is o * in_ch. */
  for (int o = 0; o < l->out_ch; o++)
    {
      for (int k = 0; k < src->c; k++)
        hd->w[o * src->c + k] = l->weights[o * src->c + k] / src->scale;
      hd->bias[o] = l->bias[o];
    }
  b->p->head = hd;
  g_string_append_printf (b->p->description, "  %-16s %s\n", l->name, "c:u8_dot_sigmoid");
}

static gboolean
build_network (Builder *b)
{
  const BsUnet *net = b->net;
  BsPlan *p = b->p;
  int h = p->h, w = p->w;
  g_autofree Quant *q = g_new (Quant, net->n_layers);
  Quant qin;
  Act input, x, a;
  Act cats[4], skips[4];
  gboolean inplace[4] = { FALSE };
  gboolean concat_reorders[4] = { FALSE };
  gboolean skip_in_cat[4] = { FALSE };
  int li = 0;
  static const char *const pool_names[4] = { "poolA", "poolB", "poolC", "poolD" };
  static const char *const up_names[4] = { "upA", "upB", "upC", "upE" };
  static const char *const cat_names[4] = { "concatA", "concatB", "concatC", "concatD" };
  PostOp conv_post = b->fusion ? POST_RELU : POST_NONE;

  plan_quant (b, q, &qin);

  /* The first convolution chooses its input format unless the layout is fixed. */
  pb_act_declare (b, &input, bs_unet_input_channels (&net->config), h, w, qin.dt, qin.scale);
  if (b->tag != dnnl_format_tag_any && b->tag != dnnl_nchw && b->tag != dnnl_nhwc)
    pb_md_4d (&input.md, b->batch, input.c, h, w, qin.dt, dnnl_format_tag_any);

  x = input;
  for (int level = 0; level < 5; level++, h /= 2, w /= 2)
    {
      const BsUnetLayer *la = &net->layers[li], *lb = &net->layers[li + 1];

      if (level == 0 && b->int8 && !b->int8_first)
        {
          /* Unfused int8 keeps encodeAa in fp32: few input channels make it
           * cheap, and quantising the raw image costs accuracy.  Its ReLU
           * output is quantised by a reorder. */
          b->int8 = FALSE;
          pb_act_declare (b, &a, la->out_ch, h, w, dnnl_f32, 1.0f);
          if (!pb_build_conv (b, la, &x, &a, NULL, conv_post))
            return FALSE;
          b->int8 = TRUE;
        }
      else
        {
          pb_act_declare (b, &a, la->out_ch, h, w, q[li].dt, q[li].scale);
          if (!pb_build_conv (b, la, &x, &a, NULL, conv_post))
            return FALSE;
        }
      if (level == 0 && !input.mem)
        {
          /* Now that encodeAa has chosen its source format, allocate the input. */
          const PlanOp *op = &g_array_index (p->ops, PlanOp, p->ops->len - 1);
          const_dnnl_primitive_desc_t pd;
          dnnl_primitive_get_primitive_desc (op->prim, &pd);
          if (!pb_act_allocate (b, &input, dnnl_primitive_desc_query_md (pd, dnnl_query_src_md, 0)))
            return FALSE;
          op->args[0].memory = input.mem;
        }
      if (!b->fusion && !pb_build_eltwise (b, &a, POST_RELU, "relu"))
        return FALSE;
      if (level == 0 && b->int8 && !b->int8_first)
        {
          Act a8;
          pb_act_declare (b, &a8, la->out_ch, h, w, q[li].dt, q[li].scale);
          if (b->tag == dnnl_format_tag_any)
            pb_md_4d (&a8.md, b->batch, a8.c, h, w, a8.dt, dnnl_nhwc);
          if (!pb_build_quantize (b, &a, &a8))
            return FALSE;
          a = a8;
        }
      li++;

      if (level == 4)
        {
          pb_act_declare (b, &x, lb->out_ch, h, w, q[li].dt, q[li].scale);
          if (!pb_build_conv (b, lb, &a, &x, NULL, conv_post) || (!b->fusion && !pb_build_eltwise (b, &x, POST_RELU, "relu")))
            return FALSE;
          li++;
          break;
        }

      /* The skip tensor, then pooling. */
      {
        int c_up = net->config.upsample == BS_UPSAMPLE_TRANSPOSED ? lb->out_ch : 2 * lb->out_ch;
        int blk;
        Act pooled;

        pb_act_declare (b, &skips[level], lb->out_ch, h, w, q[li].dt, q[li].scale);
        pb_act_declare (b, &cats[level], c_up + lb->out_ch, h, w, q[li].dt, q[li].scale);
        blk = pb_tag_block (b->tag);
        inplace[level] = b->fusion && b->inplace_concat && blk > 0 && a.tag == b->tag && c_up % blk == 0
                         && lb->out_ch % blk == 0;
        pb_act_declare (b, &pooled, lb->out_ch, h / 2, w / 2, q[li].dt, q[li].scale);
        if (inplace[level])
          {
            Slot half = { &cats[level], c_up, lb->out_ch };
            if (!pb_act_allocate (b, &cats[level], NULL) || !pb_build_conv (b, lb, &a, NULL, &half, conv_post)
                || !pb_build_pool (b, &half, &pooled, pool_names[level]))
              return FALSE;
          }
        else
          {
            Slot whole = { &skips[level], 0, lb->out_ch };
            if (!pb_build_conv (b, lb, &a, &skips[level], NULL, conv_post)
                || (!b->fusion && !pb_build_eltwise (b, &skips[level], POST_RELU, "relu")))
              return FALSE;
            skip_in_cat[level] = b->int8 && b->fusion && skips[level].tag == dnnl_nhwc
                                 && skips[level].dt == dnnl_s8 && cats[level].dt == dnnl_s8;
            if (!(skip_in_cat[level] ? pb_build_pool_copy (b, &skips[level], &cats[level], c_up, &pooled, pool_names[level])
                                     : pb_build_pool (b, &whole, &pooled, pool_names[level])))
              return FALSE;
          }
        x = pooled;
        li++;
      }
    }

  for (int level = 3; level >= 0; level--)
    {
      h *= 2;
      w *= 2;
      /* Upsampling into the first half of the concat buffer (or its own tensor). */
      {
        int c_up = cats[level].c - skips[level].c;
        Slot half = { &cats[level], 0, c_up };
        Act up;

        if (net->config.upsample == BS_UPSAMPLE_TRANSPOSED)
          {
            const BsUnetLayer *lt = &net->layers[li];
            pb_act_declare (b, &up, lt->out_ch, h, w, q[li].dt, q[li].scale);
            if (!pb_build_conv (b, lt, &x, inplace[level] ? NULL : &up, inplace[level] ? &half : NULL, POST_NONE))
              return FALSE;
            li++;
          }
        else
          {
            pb_act_declare (b, &up, x.c, h, w, x.dt, x.scale);
            if (!pb_build_upsample (b, &x, inplace[level] ? NULL : &up, inplace[level] ? &half : NULL,
                                 up_names[level]))
              return FALSE;
          }
        if (skip_in_cat[level])
          {
            if (!pb_build_copy_into (b, &up, &cats[level], 0, cat_names[level]))
              return FALSE;
          }
        else if (!inplace[level])
          {
            Act *u = &up;
            gboolean by_reorders = b->fusion && u->tag == dnnl_nhwc && skips[level].tag == dnnl_nhwc
                                   && u->dt == skips[level].dt;
            if (by_reorders)
              concat_reorders[level] = TRUE;
            if (!(by_reorders ? pb_build_concat_by_reorders (b, u, &skips[level], &cats[level], cat_names[level])
                              : pb_build_concat (b, u, &skips[level], &cats[level], cat_names[level])))
              return FALSE;
          }
      }
      for (int k = 0; k < 2; k++)
        {
          const BsUnetLayer *l = &net->layers[li];
          Act *src = k == 0 ? &cats[level] : &a;
          Act out;

          pb_act_declare (b, &out, l->out_ch, h, w, q[li].dt, q[li].scale);
          if (!pb_build_conv (b, l, src, &out, NULL, conv_post)
              || (!b->fusion && !pb_build_eltwise (b, &out, POST_RELU, "relu")))
            return FALSE;
          if (k == 0)
            a = out;
          else
            x = out;
          li++;
        }
    }

  /* PredictionMask: logits in f32, sigmoid fused or separate. */
  {
    const BsUnetLayer *l = &net->layers[li];
    Act out;

    if (b->int8 && b->fusion && x.tag == dnnl_nhwc && x.dt == dnnl_u8)
      {
        build_head (b, l, &x);
        li++;
        g_assert (li == net->n_layers);
        return build_input (b, &input) && describe_concats (b, inplace, concat_reorders, skip_in_cat, cat_names);
      }
    pb_act_declare (b, &out, l->out_ch, h, w, dnnl_f32, 1.0f);
    if (b->tag != dnnl_nchw && b->tag != dnnl_nhwc)
      pb_md_4d (&out.md, b->batch, l->out_ch, h, w, dnnl_f32, dnnl_format_tag_any);
    if (!pb_build_conv (b, l, &x, &out, NULL, b->fusion ? POST_SIGMOID : POST_NONE)
        || (!b->fusion && !pb_build_eltwise (b, &out, POST_SIGMOID, "sigmoid")))
      return FALSE;
    li++;
    g_assert (li == net->n_layers);
    if (!build_input (b, &input) || !build_output (b, &out))
      return FALSE;
  }
  return describe_concats (b, inplace, concat_reorders, skip_in_cat, cat_names);
}

static gboolean
build_scratchpad (Builder *b)
{
  BsPlan *p = b->p;
  dnnl_memory_desc_t md;
  dnnl_dims_t dims = { (dnnl_dim_t) MAX (p->scratch_size, 64) };

  dnnl_memory_desc_init_by_tag (&md, 1, dims, dnnl_u8, dnnl_a);
  if (!pb_new_mem (b, &md, NULL, &p->scratch))
    return FALSE;
  for (guint i = 0; i < p->ops->len; i++)
    {
      PlanOp *op = &g_array_index (p->ops, PlanOp, i);
      for (int k = 0; k < op->n_sets * op->n_args; k++)
        if (op->args[k].arg == DNNL_ARG_SCRATCHPAD)
          op->args[k].memory = p->scratch;
    }
  return TRUE;
}

/* int8 batches run a few slices at a time through primitives built for
 * that chunk: beyond about 4 slices of 128x128 (64 Ki pixels) a level's u8
 * activations outgrow the 2 MB L2, and memory grows with the batch for
 * nothing.  Measured on one core: 128x128 batch 128 1.30 instead of 2.00 ms
 * per slice with 86 MB instead of 541 MB resident; 240x240 batch 16 in
 * chunks of 4 took 10.5 ms per slice against 4.6 at batch 1. */
#define INT8_CHUNK_PIXELS (4 * 128 * 128)

/* fp32 and bf16 the same way, for memory: every slice of a batch held about
 * 18 MB of activations (2.3 GB resident at 128x128 batch 128), while beyond
 * 16 slices of 128x128 a larger batch buys no throughput.  Chunks of 256 Ki
 * pixels keep a plan's buffers near 300 MB at any batch. */
#define FLOAT_CHUNK_PIXELS (16 * 128 * 128)

static int
plan_chunk (const BsPlanOptions *opts, int h, int w)
{
  if (opts->precision == BS_PRECISION_INT8)
    return CLAMP (INT8_CHUNK_PIXELS / (h * w), 1, opts->batch);
  return CLAMP (FLOAT_CHUNK_PIXELS / (h * w), 1, opts->batch);
}

/* Lanes 1, 2, ...: copies of p on one thread each. */
static gboolean
build_lanes (BsPlan *p, const BsUnet *net, const BsCalibration *cal, GError **error)
{
  BsPlanOptions o = p->opts;

  if (p->n_lanes <= 1)
    return TRUE;
  o.slice_parallel = FALSE;
  o.threads = 1;
  p->lane = g_new0 (BsPlan *, p->n_lanes - 1);
  for (int i = 0; i < p->n_lanes - 1; i++)
    if ((p->lane[i] = bs_plan_new (net, p->h, p->w, &o, cal, error)) == NULL)
      return FALSE;
  return TRUE;
}

BsPlan *
bs_plan_new (const BsUnet *net, int h, int w, const BsPlanOptions *opts, const BsCalibration *cal,
             GError **error)
{
  g_autoptr(BsPlan) p = NULL;
  Builder b = { 0 };
  g_autofree char *reason = NULL;
  int threads;
  gboolean ok;

  if (h <= 0 || w <= 0 || h % 16 != 0 || w % 16 != 0)
    {
      g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_SIZE,
                   _("The U-Net needs a height and width divisible by 16; %dx%d is not"), w, h);
      return NULL;
    }
  if (opts->batch < 1)
    {
      g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_SIZE, _("The batch size must be at least 1"));
      return NULL;
    }
  if (!bs_precision_available (opts->precision, &reason))
    {
      g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE, "%s", reason);
      return NULL;
    }
  if (opts->precision == BS_PRECISION_INT8 && opts->layout == BS_MEMLAYOUT_NCHW)
    {
      /* Measured here: 40 s for one 128x128 slice instead of milliseconds. */
      g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                   _("int8 needs the nhwc or blocked layout: oneDNN has only its slow reference int8 kernels for plain nchw"));
      return NULL;
    }
  if (opts->precision == BS_PRECISION_INT8 && (!cal || cal->n_layers != net->n_layers))
    {
      g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_UNAVAILABLE,
                   _("int8 needs a calibration of this model on representative slices"));
      return NULL;
    }

  p = g_new0 (BsPlan, 1);
  p->opts = *opts;
  p->h = h;
  p->w = w;
  p->batch = opts->batch;
  p->chunk = plan_chunk (opts, h, w);
  p->in_ch = bs_unet_input_channels (&net->config);
  p->n_out = net->config.out_channels;
  p->ops = g_array_new (FALSE, TRUE, sizeof (PlanOp));
  p->mems = g_ptr_array_new ();
  p->held = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  p->description = g_string_new (NULL);
  /* Lanes: every core, as work is handed out as the lanes go (a busy core's
   * lane takes fewer batches); else "all cores" means the cores other
   * programs leave free (bs-runtime.h). */
  p->n_lanes = 1;
  if (opts->slice_parallel && !opts->profile_layers)
    p->n_lanes = MIN (opts->threads > 0 ? opts->threads : bs_cpu_cores (), BS_PLAN_MAX_LANES);
  if (p->n_lanes > 1)
    threads = 1;
  else
    threads = opts->threads > 0 ? opts->threads : bs_runtime_auto_threads (bs_cpu_cores ());
  p->threads = threads;
  omp_set_num_threads (threads);

  b.p = p;
  b.net = net;
  b.cal = cal;
  b.error = error;
  b.int8 = opts->precision == BS_PRECISION_INT8;
  b.fdt = opts->precision == BS_PRECISION_BF16 ? dnnl_bf16 : dnnl_f32;
  b.fusion = opts->fusion;
  b.int8_first = b.int8 && opts->fusion;
  b.inplace_concat = TRUE;
  b.winograd = opts->precision == BS_PRECISION_FP32 && opts->layout == BS_MEMLAYOUT_BLOCKED;
  b.batch = p->chunk;
  switch (opts->layout)
    {
    case BS_MEMLAYOUT_NCHW: b.tag = dnnl_nchw; break;
    case BS_MEMLAYOUT_NHWC: b.tag = dnnl_nhwc; break;
    case BS_MEMLAYOUT_BLOCKED:
    default:
      /* oneDNN's own blocked format for this precision: nChw16c for fp32 and
       * bf16 (its jit kernels' native layout); int8 convolutions only have
       * fast kernels for channels-last, so there format any lets them pick.
       * fp32 and bf16 networks whose channels do not come in 16s run
       * channels-last: left to pick, oneDNN took reference kernels for their
       * transposed convolutions and concats (fms 4: 210 ms a 128x128 slice
       * against 2.8 ms channels-last). */
      if (b.int8)
        b.tag = dnnl_format_tag_any;
      else if (net->config.fms % 16 == 0)
        b.tag = dnnl_nChw16c;
      else
        {
          b.tag = dnnl_nhwc;
          b.winograd = FALSE;
        }
      break;
    }

  if (!pb_dnnl_ok (&b, dnnl_engine_create (&p->engine, dnnl_cpu, 0), "create a CPU engine", PB_WHERE)
      || !pb_dnnl_ok (&b, dnnl_stream_create (&p->stream, p->engine, dnnl_stream_default_flags), "create a stream",
                   PB_WHERE))
    return NULL;
  g_string_printf (p->description, "%s %s fusion %s, batch %d, %dx%d, %d threads, %s\n",
                   bs_precision_name (opts->precision), bs_memlayout_name (opts->layout),
                   opts->fusion ? "on" : "off", p->batch, w, h, threads, bs_dnnl_isa_name ());
  if (opts->layout == BS_MEMLAYOUT_BLOCKED && b.tag == dnnl_nhwc)
    g_string_append_printf (p->description, "  channels-last: %d feature maps do not fill blocks of 16\n",
                            net->config.fms);
  if (p->n_lanes > 1)
    g_string_append_printf (p->description, "  %d lanes of 1 thread, this is lane 0\n", p->n_lanes);
  if (p->chunk < p->batch)
    g_string_append_printf (p->description, _("  runs the batch %d slices at a time\n"), p->chunk);
  if (!pb_dnnl_ok (&b, dnnl_primitive_attr_create (&b.attr), "create attributes", PB_WHERE))
    return NULL;
  dnnl_primitive_attr_set_scratchpad_mode (b.attr, dnnl_scratchpad_mode_user);
  b.acts = g_ptr_array_new ();
  ok = build_network (&b) && pb_share_acts (&b) && build_scratchpad (&b);
  g_ptr_array_free (b.acts, TRUE);
  dnnl_primitive_attr_destroy (b.attr);
  if (!ok || !build_lanes (p, net, cal, error))
    return NULL;
  return g_steal_pointer (&p);
}
