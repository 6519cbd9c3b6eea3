/* The layers of a plan: memory and operations, weights, convolutions,
 * pooling, upsampling, concatenations and quantisation (bs-plan.c builds the
 * network from them; bs-plan-build.h). */
#include <glib/gi18n.h>
#include <math.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <string.h>

#include "bs-error.h"
#include "bs-plan.h"
#include "bs-plan-build.h"
#include "bs-plan-kernels.h"
#include "bs-plan-weights.h"
#include "bs-runtime.h"

/* ---- building ---- */

gboolean
pb_dnnl_ok (Builder *b, dnnl_status_t st, const char *what, const char *where)
{
  if (st == dnnl_success)
    return TRUE;
  if (b->error && !*b->error)
    g_set_error (b->error, BS_PLAN_ERROR, BS_PLAN_ERROR_DNNL,
                 /* TRANSLATORS: the last %s is the source file and line, e.g. bs-plan.c:412 */
                 _("oneDNN refused to %s: %s (%s)"), what, dnnl_status2str (st), where);
  return FALSE;
}

gboolean
pb_new_mem (Builder *b, const dnnl_memory_desc_t *md, void *handle, dnnl_memory_t *out)
{
  TRY (dnnl_memory_create (out, md, b->p->engine, handle ? handle : DNNL_MEMORY_ALLOCATE), "allocate memory");
  g_ptr_array_add (b->p->mems, *out);
  return TRUE;
}

void *
pb_mem_ptr (dnnl_memory_t m)
{
  void *ptr = NULL;
  dnnl_memory_get_data_handle (m, &ptr);
  return ptr;
}

static gboolean
add_op (Builder *b, dnnl_primitive_desc_t pd, const char *label, int n_sets, int n_args,
        const dnnl_exec_arg_t *args)
{
  PlanOp op = { 0 };
  const char *impl = NULL;
  dnnl_status_t st;

  dnnl_primitive_desc_query (pd, dnnl_query_impl_info_str, 0, &impl);
  b->p->scratch_size = MAX (b->p->scratch_size,
                            dnnl_memory_desc_get_size (dnnl_primitive_desc_query_md (pd, dnnl_query_scratchpad_md, 0)));
  g_string_append_printf (b->p->description, "  %-16s %s%s\n", label, impl ? impl : "?",
                          n_sets > 1 ? " (per sample)" : "");
  if (b->uncached)
    {
      /* Kept out of oneDNN's primitive cache, see conv_pd_create. */
      int capacity = 0;
      dnnl_get_primitive_cache_capacity (&capacity);
      dnnl_set_primitive_cache_capacity (0);
      st = dnnl_primitive_create (&op.prim, pd);
      dnnl_set_primitive_cache_capacity (capacity);
      b->uncached = FALSE;
    }
  else
    st = dnnl_primitive_create (&op.prim, pd);
  dnnl_primitive_desc_destroy (pd);
  TRY (st, "create a primitive");
  g_strlcpy (op.label, label, sizeof op.label);
  op.n_sets = n_sets;
  op.n_args = n_args + 1;
  op.args = g_new (dnnl_exec_arg_t, n_sets * op.n_args);
  for (int i = 0; i < n_sets; i++)
    {
      memcpy (op.args + i * op.n_args, args + i * n_args, sizeof (dnnl_exec_arg_t) * n_args);
      /* The plan's scratchpad, once its size is known. */
      op.args[i * op.n_args + n_args] = (dnnl_exec_arg_t) { DNNL_ARG_SCRATCHPAD, NULL };
    }
  g_array_append_val (b->p->ops, op);
  return TRUE;
}

static void
add_c_op (Builder *b, const char *label, const char *impl, void (*run) (gconstpointer, int), gpointer data,
          gpointer *p0, gpointer *p1, gpointer *p2)
{
  PlanOp op = { 0 };

  op.c_ptrs[0] = p0;
  op.c_ptrs[1] = p1;
  op.c_ptrs[2] = p2;

  g_string_append_printf (b->p->description, "  %-16s %s\n", label, impl);
  g_strlcpy (op.label, label, sizeof op.label);
  op.run = run;
  op.data = data;
  g_array_append_val (b->p->ops, op);
}

static dnnl_format_tag_t
match_tag (const dnnl_memory_desc_t *md)
{
  static const dnnl_format_tag_t candidates[] = { dnnl_nchw, dnnl_nhwc, dnnl_nChw16c, dnnl_nChw8c, dnnl_nChw4c };

  if (md->ndims != 4)
    return dnnl_format_tag_undef;
  for (gsize i = 0; i < G_N_ELEMENTS (candidates); i++)
    {
      dnnl_memory_desc_t t;
      if (dnnl_memory_desc_init_by_tag (&t, 4, md->dims, md->data_type, candidates[i]) == dnnl_success
          && dnnl_memory_desc_equal (&t, md))
        return candidates[i];
    }
  return dnnl_format_tag_undef;
}

int
pb_tag_block (dnnl_format_tag_t tag)
{
  switch (tag)
    {
    case dnnl_nchw: return 1;
    case dnnl_nChw16c: return 16;
    case dnnl_nChw8c: return 8;
    case dnnl_nChw4c: return 4;
    default: return 0;  /* halves not dense */
    }
}

void
pb_md_4d (dnnl_memory_desc_t *md, int n, int c, int h, int w, dnnl_data_type_t dt, dnnl_format_tag_t tag)
{
  dnnl_dims_t dims = { n, c, h, w };
  dnnl_memory_desc_init_by_tag (md, 4, dims, dt, tag);
}

/* Declares an activation; its md is final once allocated (after its producer
 * chose a format when the layout is "any"). */
void
pb_act_declare (Builder *b, Act *a, int c, int h, int w, dnnl_data_type_t dt, float scale)
{
  memset (a, 0, sizeof *a);
  a->c = c;
  a->h = h;
  a->w = w;
  a->dt = dt;
  a->scale = scale;
  a->tag = b->tag == dnnl_format_tag_any ? dnnl_format_tag_undef : b->tag;
  pb_md_4d (&a->md, b->batch, c, h, w, dt, b->tag);
}

gboolean
pb_act_allocate (Builder *b, Act *a, const dnnl_memory_desc_t *chosen)
{
  if (chosen)
    a->md = *chosen;
  a->tag = match_tag (&a->md);
  if (!pb_new_mem (b, &a->md, NULL, &a->mem))
    return FALSE;
  if (b->acts)
    g_ptr_array_add (b->acts, a->mem);
  return TRUE;
}

/* A single-sample view of sample i of a (a known, N-outermost tag), or of
 * one half of it when a is a concat buffer (offset_c channels in, c channels). */
static gboolean
act_view (Builder *b, const Act *a, int i, int offset_c, int c, dnnl_memory_t *out, dnnl_memory_desc_t *md1)
{
  gsize esize = dnnl_data_type_size (a->dt);
  gsize sample = dnnl_memory_desc_get_size (&a->md) / b->batch;
  char *base = pb_mem_ptr (a->mem);

  pb_md_4d (md1, 1, c, a->h, a->w, a->dt, a->tag);
  return pb_new_mem (b, md1, base + i * sample + (gsize) offset_c * a->h * a->w * esize, out);
}

static gboolean
views_for (Builder *b, const Slot *s, dnnl_memory_t *mems, dnnl_memory_desc_t *md1)
{
  for (int i = 0; i < b->batch; i++)
    if (!act_view (b, s->act, i, s->offset_c, s->c, &mems[i], md1))
      return FALSE;
  return TRUE;
}

/* Source and destination of a primitive that reads all of src and writes
 * dst, or, when half != NULL, one half of a concat buffer: then per-sample
 * views (the caller owns the view arrays), else the whole tensors. */
static gboolean
src_dst_views (Builder *b, const Act *src, const Act *dst, const Slot *half, dnnl_memory_t **src_views,
               dnnl_memory_t **dst_views, dnnl_memory_desc_t *src_md, dnnl_memory_desc_t *dst_md)
{
  Slot whole = { src, 0, src->c };

  if (half == NULL)
    {
      *src_md = src->md;
      *dst_md = dst->md;
      return TRUE;
    }
  *src_views = g_new (dnnl_memory_t, b->batch);
  *dst_views = g_new (dnnl_memory_t, b->batch);
  return views_for (b, &whole, *src_views, src_md) && views_for (b, half, *dst_views, dst_md);
}

/* Adds a one-source, one-destination primitive, run on the whole tensors or,
 * per_sample, once a sample on the views; a whole dst not yet allocated
 * gets the layout pd chose. */
static gboolean
add_src_dst_op (Builder *b, dnnl_primitive_desc_t pd, const char *label, gboolean per_sample, dnnl_memory_t src_mem,
                const dnnl_memory_t *src_views, Act *dst, const dnnl_memory_t *dst_views)
{
  g_autofree dnnl_exec_arg_t *args = NULL;

  if (!per_sample && !dst->mem && !pb_act_allocate (b, dst, dnnl_primitive_desc_query_md (pd, dnnl_query_dst_md, 0)))
    {
      dnnl_primitive_desc_destroy (pd);
      return FALSE;
    }
  args = g_new (dnnl_exec_arg_t, b->batch * 2);
  for (int i = 0; i < (per_sample ? b->batch : 1); i++)
    {
      args[i * 2 + 0] = (dnnl_exec_arg_t) { DNNL_ARG_SRC, per_sample ? src_views[i] : src_mem };
      args[i * 2 + 1] = (dnnl_exec_arg_t) { DNNL_ARG_DST, per_sample ? dst_views[i] : dst->mem };
    }
  return add_op (b, pd, label, per_sample ? b->batch : 1, 2, args);
}

/* int8 weight scales per output channel: q = w * scale. */
static float *
weight_scales (const BsUnetLayer *l)
{
  float *s = g_new (float, l->out_ch);
  gsize per = (gsize) l->in_ch * l->kh * l->kw;

  for (int o = 0; o < l->out_ch; o++)
    {
      float m = 0.0f;
      for (gsize k = 0; k < per; k++)
        m = MAX (m, fabsf (l->weights[o * per + k]));
      s[o] = m > 0.0f ? 127.0f / m : 1.0f;
    }
  return s;
}

/* Reorders the OIHW float weights into what the primitive wants, once. */
static gboolean
prepare_weights (Builder *b, const BsUnetLayer *l, const dnnl_memory_desc_t *want, const float *wscale,
                 dnnl_memory_t *out)
{
  dnnl_memory_desc_t user_md;
  dnnl_memory_t user;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_primitive_desc_t pd;
  dnnl_primitive_t reorder;
  dnnl_exec_arg_t args[2];
  dnnl_status_t st;
  guint64 key = bs_plan_weights_key (l, wscale);
  GBytes *blob = bs_plan_weights_lookup (key, want);
  gsize size;
  void *buf;

  /* Another plan (a lane, a plane, an earlier run) reordered them already. */
  if (blob != NULL)
    {
      g_ptr_array_add (b->p->held, blob);
      return pb_new_mem (b, want, (void *) g_bytes_get_data (blob, NULL), out);
    }
  size = MAX (dnnl_memory_desc_get_size (want), 64);
  buf = g_aligned_alloc0 (size, 1, 64);
  blob = g_bytes_new_with_free_func (buf, size, g_aligned_free, buf);
  g_ptr_array_add (b->p->held, blob);
  pb_md_4d (&user_md, l->out_ch, l->in_ch, l->kh, l->kw, dnnl_f32, dnnl_oihw);
  if (!pb_new_mem (b, &user_md, l->weights, &user) || !pb_new_mem (b, want, buf, out))
    return FALSE;
  TRY (dnnl_primitive_attr_create (&attr), "create attributes");
  if (wscale)
    dnnl_primitive_attr_set_output_scales (attr, l->out_ch, 1 << 0, wscale);
  /* On every lane's thread, not lane 0's alone: the Winograd transform of
   * the deepest layers took 15-53 ms each on one thread. */
  omp_set_num_threads (MAX (b->p->threads, b->p->n_lanes));
  st = dnnl_reorder_primitive_desc_create (&pd, &user_md, b->p->engine, want, b->p->engine, attr);
  dnnl_primitive_attr_destroy (attr);
  if (st == dnnl_success)
    {
      st = dnnl_primitive_create (&reorder, pd);
      dnnl_primitive_desc_destroy (pd);
      if (st == dnnl_success)
        {
          args[0] = (dnnl_exec_arg_t) { DNNL_ARG_FROM, user };
          args[1] = (dnnl_exec_arg_t) { DNNL_ARG_TO, *out };
          st = dnnl_primitive_execute (reorder, b->p->stream, 2, args);
          if (st == dnnl_success)
            st = dnnl_stream_wait (b->p->stream);
          dnnl_primitive_destroy (reorder);
        }
    }
  omp_set_num_threads (b->p->threads);
  TRY (st, "reorder weights");
  /* The user weights belong to the net, which may go away after the plan is built. */
  g_ptr_array_remove_fast (b->p->mems, user);
  dnnl_memory_destroy (user);
  bs_plan_weights_insert (key, want, blob);
  return TRUE;
}

static gboolean
same_io (const_dnnl_primitive_desc_t a, const_dnnl_primitive_desc_t b)
{
  return dnnl_memory_desc_equal (dnnl_primitive_desc_query_md (a, dnnl_query_src_md, 0),
                                 dnnl_primitive_desc_query_md (b, dnnl_query_src_md, 0))
         && dnnl_memory_desc_equal (dnnl_primitive_desc_query_md (a, dnnl_query_dst_md, 0),
                                    dnnl_primitive_desc_query_md (b, dnnl_query_dst_md, 0));
}

/* oneDNN's first choice, or the implementation named prefer when oneDNN
 * offers it among its next few and it reads and writes the same formats.
 * Measured on AMX machines, where oneDNN 2.6's ranking is not the fastest
 * for the U-Net's narrow int8 layers:
 *  - 3x3 convolutions with 16-32 channels (64x64 and 128x128): the older
 *    AMX kernel "jit:avx512_core_amx_int8" was 10-25 % faster than the
 *    brgemm one ranked first (and slower on the deeper, wider layers).
 *    Measured only for 16-32 channels, so only taken there.
 *  - transconvA (32 -> 16 channels, 128x128): the AVX-512 VNNI kernel took
 *    0.17-0.19 ms per 4 slices against 0.25-0.35 for the AMX one. */
static dnnl_status_t
conv_pd_create (Builder *b, dnnl_primitive_desc_t *pd, const void *desc, const_dnnl_primitive_attr_t attr,
                const char *prefer)
{
  dnnl_primitive_desc_iterator_t it;
  dnnl_primitive_desc_t first = NULL;
  dnnl_status_t st;

  if (!prefer)
    return dnnl_primitive_desc_create (pd, desc, attr, b->p->engine, NULL);
  st = dnnl_primitive_desc_iterator_create (&it, desc, attr, b->p->engine, NULL);
  if (st != dnnl_success)
    return st;
  first = dnnl_primitive_desc_iterator_fetch (it);
  for (int k = 0; first && k < 4 && dnnl_primitive_desc_iterator_next (it) == dnnl_success; k++)
    {
      dnnl_primitive_desc_t cand = dnnl_primitive_desc_iterator_fetch (it);
      const char *impl = NULL;

      if (!cand)
        break;
      dnnl_primitive_desc_query (cand, dnnl_query_impl_info_str, 0, &impl);
      if (impl && strcmp (impl, prefer) == 0 && same_io (cand, first))
        {
          dnnl_primitive_desc_destroy (first);
          first = cand;
          break;
        }
      dnnl_primitive_desc_destroy (cand);
    }
  dnnl_primitive_desc_iterator_destroy (it);
  if (!first)
    return dnnl_unimplemented;
  /* A primitive created from a descriptor an iterator fetched must stay out
   * of oneDNN 2.6's primitive cache: with it cached, a later plan's creation
   * read out of bounds in the cache (SEGV under ASan in test-plan; none with
   * ONEDNN_PRIMITIVE_CACHE_CAPACITY=0 or without the iterator). */
  b->uncached = TRUE;
  *pd = first;
  return dnnl_success;
}


/* A convolution (3x3 same, 1x1) or a 2x2 stride-2 transposed convolution.
 * dst is a whole-batch activation (allocated here if not yet), or with
 * half != NULL one half of a concat buffer, written per sample. */
gboolean
pb_build_conv (Builder *b, const BsUnetLayer *l, const Act *src, Act *dst, const Slot *half, PostOp post)
{
  gboolean transposed = l->kind == BS_LAYER_TRANSCONV2X2;
  gboolean per_sample = half != NULL;
  int pad = l->kh / 2;
  dnnl_dims_t strides = { transposed ? 2 : 1, transposed ? 2 : 1 };
  dnnl_dims_t padding = { pad, pad };
  dnnl_memory_desc_t src_md, dst_md, w_md, b_md;
  dnnl_dims_t bdims = { l->out_ch };
  dnnl_data_type_t wdt = b->int8 ? dnnl_s8 : b->fdt;
  float dst_scale = half ? half->act->scale : dst->scale;
  g_autofree float *wscale = NULL;
  g_autofree float *oscale = NULL;
  dnnl_primitive_attr_t attr;
  dnnl_post_ops_t ops = NULL;
  dnnl_primitive_desc_t pd;
  dnnl_memory_t wmem, bmem;
  float *bias;
  dnnl_status_t st;
  g_autofree dnnl_memory_t *src_views = NULL;
  g_autofree dnnl_memory_t *dst_views = NULL;
  g_autofree dnnl_exec_arg_t *args = NULL;

  if (!src_dst_views (b, src, dst, half, &src_views, &dst_views, &src_md, &dst_md))
    return FALSE;
  {
    dnnl_dims_t wdims = { l->out_ch, l->in_ch, l->kh, l->kw };
    TRY (dnnl_memory_desc_init_by_tag (&w_md, 4, wdims, wdt, dnnl_format_tag_any), "describe weights");
  }
  dnnl_memory_desc_init_by_tag (&b_md, 1, bdims, dnnl_f32, dnnl_a);

  TRY (dnnl_primitive_attr_create (&attr), "create attributes");
  dnnl_primitive_attr_set_scratchpad_mode (attr, dnnl_scratchpad_mode_user);
  if (b->int8)
    {
      wscale = weight_scales (l);
      oscale = g_new (float, l->out_ch);
      for (int o = 0; o < l->out_ch; o++)
        oscale[o] = dst_scale / (src->scale * wscale[o]);
      dnnl_primitive_attr_set_output_scales (attr, l->out_ch, 1 << 1, oscale);
    }
  if (post != POST_NONE)
    {
      dnnl_post_ops_create (&ops);
      dnnl_post_ops_append_eltwise (ops, 1.0f, post == POST_RELU ? dnnl_eltwise_relu : dnnl_eltwise_logistic,
                                    0.0f, 0.0f);
      dnnl_primitive_attr_set_post_ops (attr, ops);
      dnnl_post_ops_destroy (ops);
    }
  if (transposed)
    {
      dnnl_deconvolution_desc_t d;
      dnnl_dims_t zero = { 0, 0 };
      st = dnnl_deconvolution_forward_desc_init (&d, dnnl_forward_inference, dnnl_deconvolution_direct, &src_md,
                                                 &w_md, &b_md, &dst_md, strides, zero, zero);
      if (st == dnnl_success)
        st = conv_pd_create (b, &pd, &d, attr,
                             b->int8 && l->out_ch == 16 && l->in_ch <= 32 ? "jit_deconvolution:avx512_core_vnni" : NULL);
    }
  else
    {
      dnnl_convolution_desc_t d;
      /* fp32 3x3 in blocked formats: Winograd F(4x4,3x3) / F(2x2,3x3) does
       * about half the multiplications; oneDNN has it only for blocked
       * layouts, so elsewhere this falls back to direct convolution. */
      st = dnnl_unimplemented;
      if (b->winograd && l->kh == 3)
        {
          st = dnnl_convolution_forward_desc_init (&d, dnnl_forward_inference, dnnl_convolution_winograd, &src_md,
                                                   &w_md, &b_md, &dst_md, strides, padding, padding);
          if (st == dnnl_success)
            st = dnnl_primitive_desc_create (&pd, &d, attr, b->p->engine, NULL);
        }
      if (st != dnnl_success)
        {
          st = dnnl_convolution_forward_desc_init (&d, dnnl_forward_inference, dnnl_convolution_direct, &src_md,
                                                   &w_md, &b_md, &dst_md, strides, padding, padding);
          if (st == dnnl_success)
            st = conv_pd_create (b, &pd, &d, attr,
                                 b->int8 && l->in_ch >= 16 && l->in_ch <= 32 && l->out_ch >= 16 && l->out_ch <= 32
                                 ? "jit:avx512_core_amx_int8" : NULL);
        }
    }
  dnnl_primitive_attr_destroy (attr);
  if (!pb_dnnl_ok (b, st, transposed ? "build a transposed convolution" : "build a convolution", PB_WHERE))
    return FALSE;

  if (!per_sample && !dst->mem
      && !pb_act_allocate (b, dst, dnnl_primitive_desc_query_md (pd, dnnl_query_dst_md, 0)))
    goto fail;
  if (!prepare_weights (b, l, dnnl_primitive_desc_query_md (pd, dnnl_query_weights_md, 0), wscale, &wmem))
    goto fail;
  if (!pb_new_mem (b, &b_md, NULL, &bmem))
    goto fail;
  bias = pb_mem_ptr (bmem);
  for (int o = 0; o < l->out_ch; o++)
    /* int8: oneDNN adds the bias to the int32 accumulator before the output scale. */
    bias[o] = b->int8 ? l->bias[o] * src->scale * wscale[o] : l->bias[o];

  args = g_new (dnnl_exec_arg_t, b->batch * 4);
  for (int i = 0; i < (per_sample ? b->batch : 1); i++)
    {
      args[i * 4 + 0] = (dnnl_exec_arg_t) { DNNL_ARG_SRC, per_sample ? src_views[i] : src->mem };
      args[i * 4 + 1] = (dnnl_exec_arg_t) { DNNL_ARG_WEIGHTS, wmem };
      args[i * 4 + 2] = (dnnl_exec_arg_t) { DNNL_ARG_BIAS, bmem };
      args[i * 4 + 3] = (dnnl_exec_arg_t) { DNNL_ARG_DST, per_sample ? dst_views[i] : dst->mem };
    }
  return add_op (b, pd, l->name, per_sample ? b->batch : 1, 4, args);

fail:
  dnnl_primitive_desc_destroy (pd);
  return FALSE;
}

/* fp32 -> int8 with the destination's scale. */
gboolean
pb_build_quantize (Builder *b, const Act *src, Act *dst)
{
  dnnl_primitive_attr_t attr;
  dnnl_primitive_desc_t pd;
  dnnl_status_t st;
  dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, src->mem }, { DNNL_ARG_TO, NULL } };

  if (!pb_act_allocate (b, dst, NULL))
    return FALSE;
  args[1].memory = dst->mem;
  TRY (dnnl_primitive_attr_create (&attr), "create attributes");
  dnnl_primitive_attr_set_scratchpad_mode (attr, dnnl_scratchpad_mode_user);
  dnnl_primitive_attr_set_output_scales (attr, 1, 0, &dst->scale);
  st = dnnl_reorder_primitive_desc_create (&pd, &src->md, b->p->engine, &dst->md, b->p->engine, attr);
  dnnl_primitive_attr_destroy (attr);
  TRY (st, "quantise activations");
  return add_op (b, pd, "quantize", 1, 2, args);
}

gboolean
pb_build_eltwise (Builder *b, Act *a, PostOp post, const char *label)
{
  dnnl_eltwise_desc_t d;
  dnnl_primitive_desc_t pd;
  dnnl_exec_arg_t args[2] = { { DNNL_ARG_SRC, a->mem }, { DNNL_ARG_DST, a->mem } };

  TRY (dnnl_eltwise_forward_desc_init (&d, dnnl_forward_inference,
                                       post == POST_RELU ? dnnl_eltwise_relu : dnnl_eltwise_logistic,
                                       &a->md, 0.0f, 0.0f), "describe an eltwise");
  TRY (dnnl_primitive_desc_create (&pd, &d, b->attr, b->p->engine, NULL), "build an eltwise");
  return add_op (b, pd, label, 1, 2, args);
}

gboolean
pb_build_pool (Builder *b, const Slot *src, Act *dst, const char *label)
{
  dnnl_pooling_desc_t d;
  dnnl_primitive_desc_t pd;
  dnnl_dims_t two = { 2, 2 }, zero = { 0, 0 };
  gboolean per_sample = src->offset_c != 0 || src->c != src->act->c;
  dnnl_memory_desc_t src_md, dst_md;
  g_autofree dnnl_memory_t *src_views = NULL;
  g_autofree dnnl_memory_t *dst_views = NULL;

  if (per_sample)
    {
      src_views = g_new (dnnl_memory_t, b->batch);
      dst_views = g_new (dnnl_memory_t, b->batch);
      if (!dst->mem && !pb_act_allocate (b, dst, NULL))
        return FALSE;
      {
        Slot whole = { dst, 0, dst->c };
        if (!views_for (b, src, src_views, &src_md) || !views_for (b, &whole, dst_views, &dst_md))
          return FALSE;
      }
    }
  else
    {
      src_md = src->act->md;
      dst_md = dst->md;
    }
  TRY (dnnl_pooling_forward_desc_init (&d, dnnl_forward_inference, dnnl_pooling_max, &src_md, &dst_md, two, two,
                                       zero, zero), "describe max pooling");
  TRY (dnnl_primitive_desc_create (&pd, &d, b->attr, b->p->engine, NULL), "build max pooling");
  return add_src_dst_op (b, pd, label, per_sample, src->act->mem, src_views, dst, dst_views);
}

/* Fused int8, channels last: 2x2 max pooling of the s8 skip tensor that
 * also copies it into its half of the concat buffer (the decoder then copies
 * only the upsampled half).  oneDNN 2.6 has only reference kernels for a
 * convolution writing a strided half, its int8 pooling on 16-32 channels
 * took longer than the convolution before it, and this reads the skip
 * tensor once for both. */
typedef struct {
  gpointer src, pooled, cat;  /* s8; gpointer for bs-plan-share.c */
  int h, w, c, c_cat, offset_c;
} PoolCopy;

static void
run_pool_copy (gconstpointer data, int n)
{
  const PoolCopy *pc = data;
  int out_h = pc->h / 2, rows = n * out_h;
  gsize in_row = (gsize) pc->w * pc->c, cat_row = (gsize) pc->w * pc->c_cat, out_row = (gsize) (pc->w / 2) * pc->c;

#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; r++)
    {
      gsize y0 = (gsize) (r / out_h) * pc->h + 2 * (r % out_h);  /* first input row, counted over the batch */
      const gint8 *row0 = (const gint8 *) pc->src + y0 * in_row;
      gint8 *cat0 = (gint8 *) pc->cat + y0 * cat_row;

      bs_plan_pool_copy_row (row0, row0 + in_row, pc->w, pc->c, (gint8 *) pc->pooled + (gsize) r * out_row, cat0,
                             cat0 + cat_row, pc->c_cat, pc->offset_c);
    }
}

gboolean
pb_build_pool_copy (Builder *b, const Act *skip, Act *cat, int offset_c, Act *pooled, const char *label)
{
  PoolCopy *pc;

  pb_md_4d (&cat->md, b->batch, cat->c, cat->h, cat->w, cat->dt, dnnl_nhwc);
  pb_md_4d (&pooled->md, b->batch, pooled->c, pooled->h, pooled->w, pooled->dt, dnnl_nhwc);
  if (!pb_act_allocate (b, cat, NULL) || !pb_act_allocate (b, pooled, NULL))
    return FALSE;
  pc = g_new0 (PoolCopy, 1);
  pc->src = pb_mem_ptr (skip->mem);
  pc->pooled = pb_mem_ptr (pooled->mem);
  pc->cat = pb_mem_ptr (cat->mem);
  pc->h = skip->h;
  pc->w = skip->w;
  pc->c = skip->c;
  pc->c_cat = cat->c;
  pc->offset_c = offset_c;
  add_c_op (b, label, "c:s8_pool_copy", run_pool_copy, pc, &pc->src, &pc->pooled, &pc->cat);
  return TRUE;
}

gboolean
pb_build_upsample (Builder *b, const Act *src, Act *dst, const Slot *half, const char *label)
{
  dnnl_resampling_desc_t d;
  dnnl_primitive_desc_t pd;
  gboolean per_sample = half != NULL;
  dnnl_memory_desc_t src_md, dst_md;
  g_autofree dnnl_memory_t *src_views = NULL;
  g_autofree dnnl_memory_t *dst_views = NULL;

  if (!src_dst_views (b, src, dst, half, &src_views, &dst_views, &src_md, &dst_md))
    return FALSE;
  TRY (dnnl_resampling_forward_desc_init (&d, dnnl_forward_inference, dnnl_resampling_nearest, NULL, &src_md,
                                          &dst_md), "describe nearest upsampling");
  TRY (dnnl_primitive_desc_create (&pd, &d, b->attr, b->p->engine, NULL), "build nearest upsampling");
  return add_src_dst_op (b, pd, label, per_sample, src->mem, src_views, dst, dst_views);
}

/* Copies src into channels offset_c.. of dst with a reorder. */
gboolean
pb_build_copy_into (Builder *b, const Act *src, const Act *dst, int offset_c, const char *label)
{
  dnnl_memory_desc_t sub;
  dnnl_dims_t dims = { b->batch, src->c, src->h, src->w };
  dnnl_dims_t offsets = { 0, offset_c, 0, 0 };
  dnnl_primitive_desc_t pd;
  dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, src->mem }, { DNNL_ARG_TO, dst->mem } };

  TRY (dnnl_memory_desc_init_submemory (&sub, &dst->md, dims, offsets), "describe half of a concat buffer");
  TRY (dnnl_reorder_primitive_desc_create (&pd, &src->md, b->p->engine, &sub, b->p->engine, b->attr),
       "copy into half of a concat buffer");
  return add_op (b, pd, label, 1, 2, args);
}

/* With channels-last halves, oneDNN 2.6's concat primitive ("simple") copies
 * a few bytes per pixel per call; two jit reorders into the strided halves
 * of the same buffer do the same copy about four times faster (measured for
 * u8 128x128x(16+16): 4.2 ms vs 0.9 ms per 16 slices on one core). */
gboolean
pb_build_concat_by_reorders (Builder *b, const Act *up, const Act *skip, Act *cat, const char *label)
{
  pb_md_4d (&cat->md, b->batch, cat->c, cat->h, cat->w, cat->dt, dnnl_nhwc);
  return pb_act_allocate (b, cat, NULL) && pb_build_copy_into (b, up, cat, 0, label)
         && pb_build_copy_into (b, skip, cat, up->c, label);
}

gboolean
pb_build_concat (Builder *b, const Act *up, const Act *skip, Act *cat, const char *label)
{
  dnnl_memory_desc_t srcs[2] = { up->md, skip->md };
  dnnl_primitive_desc_t pd;
  dnnl_exec_arg_t args[3] = {
    { DNNL_ARG_MULTIPLE_SRC + 0, up->mem },
    { DNNL_ARG_MULTIPLE_SRC + 1, skip->mem },
    { DNNL_ARG_DST, NULL },
  };

  TRY (dnnl_concat_primitive_desc_create (&pd, b->tag == dnnl_format_tag_any ? NULL : &cat->md, 2, 1, srcs, b->attr,
                                          b->p->engine), "build a concat");
  if (!pb_act_allocate (b, cat, dnnl_primitive_desc_query_md (pd, dnnl_query_dst_md, 0)))
    {
      dnnl_primitive_desc_destroy (pd);
      return FALSE;
    }
  args[2].memory = cat->mem;
  return add_op (b, pd, label, 1, 3, args);
}
