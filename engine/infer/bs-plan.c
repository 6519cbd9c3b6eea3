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
#include "bs-plan-weights.h"
#include "bs-preprocess.h"
#include "bs-reference.h"
#include "bs-runtime.h"

/* ---- building ---- */

/* An activation tensor of the whole batch. */
typedef struct {
  dnnl_memory_desc_t md;
  dnnl_memory_t mem;
  dnnl_format_tag_t tag;  /* known plain/blocked tag, or dnnl_format_tag_undef */
  dnnl_data_type_t dt;
  float scale;            /* int8: q = x * scale */
  int c, h, w;
} Act;

typedef struct {
  BsPlan *p;
  const BsUnet *net;
  const BsCalibration *cal;
  GError **error;
  dnnl_format_tag_t tag;  /* activation layout, or dnnl_format_tag_any */
  dnnl_data_type_t fdt;   /* f32 or bf16 */
  gboolean int8;
  gboolean fusion;
  gboolean inplace_concat;
  gboolean winograd;
  gboolean int8_first;    /* int8: encodeAa too, on an s8 input */
  int batch;
  dnnl_primitive_attr_t attr;  /* user scratchpad, nothing else */
  gboolean uncached;           /* the next add_op's pd came from an iterator (see conv_pd_create) */
} Builder;

static gboolean
dnnl_ok (Builder *b, dnnl_status_t st, const char *what, int line)
{
  if (st == dnnl_success)
    return TRUE;
  if (b->error && !*b->error)
    g_set_error (b->error, BS_PLAN_ERROR, BS_PLAN_ERROR_DNNL,
                 _("oneDNN refused to %s: %s (bs-plan.c:%d)"), what, dnnl_status2str (st), line);
  return FALSE;
}

#define TRY(call, what) \
  G_STMT_START { if (!dnnl_ok (b, (call), (what), __LINE__)) return FALSE; } G_STMT_END

static gboolean
new_mem (Builder *b, const dnnl_memory_desc_t *md, void *handle, dnnl_memory_t *out)
{
  TRY (dnnl_memory_create (out, md, b->p->engine, handle ? handle : DNNL_MEMORY_ALLOCATE), "allocate memory");
  g_ptr_array_add (b->p->mems, *out);
  return TRUE;
}

static void *
mem_ptr (dnnl_memory_t m)
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
add_c_op (Builder *b, const char *label, const char *impl, void (*run) (gconstpointer, int), gpointer data)
{
  PlanOp op = { 0 };

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

static int
tag_block (dnnl_format_tag_t tag)
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

static void
md_4d (dnnl_memory_desc_t *md, int n, int c, int h, int w, dnnl_data_type_t dt, dnnl_format_tag_t tag)
{
  dnnl_dims_t dims = { n, c, h, w };
  dnnl_memory_desc_init_by_tag (md, 4, dims, dt, tag);
}

/* Declares an activation; its md is final once allocated (after its producer
 * chose a format when the layout is "any"). */
static void
act_declare (Builder *b, Act *a, int c, int h, int w, dnnl_data_type_t dt, float scale)
{
  memset (a, 0, sizeof *a);
  a->c = c;
  a->h = h;
  a->w = w;
  a->dt = dt;
  a->scale = scale;
  a->tag = b->tag == dnnl_format_tag_any ? dnnl_format_tag_undef : b->tag;
  md_4d (&a->md, b->batch, c, h, w, dt, b->tag);
}

static gboolean
act_allocate (Builder *b, Act *a, const dnnl_memory_desc_t *chosen)
{
  if (chosen)
    a->md = *chosen;
  a->tag = match_tag (&a->md);
  return new_mem (b, &a->md, NULL, &a->mem);
}

/* A single-sample view of sample i of a (a known, N-outermost tag), or of
 * one half of it when a is a concat buffer (offset_c channels in, c channels). */
static gboolean
act_view (Builder *b, const Act *a, int i, int offset_c, int c, dnnl_memory_t *out, dnnl_memory_desc_t *md1)
{
  gsize esize = dnnl_data_type_size (a->dt);
  gsize sample = dnnl_memory_desc_get_size (&a->md) / b->batch;
  char *base = mem_ptr (a->mem);

  md_4d (md1, 1, c, a->h, a->w, a->dt, a->tag);
  return new_mem (b, md1, base + i * sample + (gsize) offset_c * a->h * a->w * esize, out);
}

/* One execution per sample of a single-sample primitive: src sample i -> dst
 * sample i (dst possibly one half of a concat buffer). */
typedef struct {
  const Act *act;
  int offset_c, c;
} Slot;

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

  if (!per_sample && !dst->mem && !act_allocate (b, dst, dnnl_primitive_desc_query_md (pd, dnnl_query_dst_md, 0)))
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
      return new_mem (b, want, (void *) g_bytes_get_data (blob, NULL), out);
    }
  size = MAX (dnnl_memory_desc_get_size (want), 64);
  buf = g_aligned_alloc0 (size, 1, 64);
  blob = g_bytes_new_with_free_func (buf, size, g_aligned_free, buf);
  g_ptr_array_add (b->p->held, blob);
  md_4d (&user_md, l->out_ch, l->in_ch, l->kh, l->kw, dnnl_f32, dnnl_oihw);
  if (!new_mem (b, &user_md, l->weights, &user) || !new_mem (b, want, buf, out))
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

typedef enum { POST_NONE, POST_RELU, POST_SIGMOID } PostOp;

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
static gboolean
build_conv (Builder *b, const BsUnetLayer *l, const Act *src, Act *dst, const Slot *half, PostOp post)
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
  if (!dnnl_ok (b, st, transposed ? "build a transposed convolution" : "build a convolution", __LINE__))
    return FALSE;

  if (!per_sample && !dst->mem
      && !act_allocate (b, dst, dnnl_primitive_desc_query_md (pd, dnnl_query_dst_md, 0)))
    goto fail;
  if (!prepare_weights (b, l, dnnl_primitive_desc_query_md (pd, dnnl_query_weights_md, 0), wscale, &wmem))
    goto fail;
  if (!new_mem (b, &b_md, NULL, &bmem))
    goto fail;
  bias = mem_ptr (bmem);
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
static gboolean
build_quantize (Builder *b, const Act *src, Act *dst)
{
  dnnl_primitive_attr_t attr;
  dnnl_primitive_desc_t pd;
  dnnl_status_t st;
  dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, src->mem }, { DNNL_ARG_TO, NULL } };

  if (!act_allocate (b, dst, NULL))
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

static gboolean
build_eltwise (Builder *b, Act *a, PostOp post, const char *label)
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

static gboolean
build_pool (Builder *b, const Slot *src, Act *dst, const char *label)
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
      if (!dst->mem && !act_allocate (b, dst, NULL))
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
  const gint8 *src;
  gint8 *pooled, *cat;
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
      const gint8 *row0 = pc->src + y0 * in_row;
      gint8 *cat0 = pc->cat + y0 * cat_row;

      bs_plan_pool_copy_row (row0, row0 + in_row, pc->w, pc->c, pc->pooled + (gsize) r * out_row, cat0,
                             cat0 + cat_row, pc->c_cat, pc->offset_c);
    }
}

static gboolean
build_pool_copy (Builder *b, const Act *skip, Act *cat, int offset_c, Act *pooled, const char *label)
{
  PoolCopy *pc;

  md_4d (&cat->md, b->batch, cat->c, cat->h, cat->w, cat->dt, dnnl_nhwc);
  md_4d (&pooled->md, b->batch, pooled->c, pooled->h, pooled->w, pooled->dt, dnnl_nhwc);
  if (!act_allocate (b, cat, NULL) || !act_allocate (b, pooled, NULL))
    return FALSE;
  pc = g_new0 (PoolCopy, 1);
  pc->src = mem_ptr (skip->mem);
  pc->pooled = mem_ptr (pooled->mem);
  pc->cat = mem_ptr (cat->mem);
  pc->h = skip->h;
  pc->w = skip->w;
  pc->c = skip->c;
  pc->c_cat = cat->c;
  pc->offset_c = offset_c;
  add_c_op (b, label, "c:s8_pool_copy", run_pool_copy, pc);
  return TRUE;
}

static gboolean
build_upsample (Builder *b, const Act *src, Act *dst, const Slot *half, const char *label)
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
static gboolean
build_copy_into (Builder *b, const Act *src, const Act *dst, int offset_c, const char *label)
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
static gboolean
build_concat_by_reorders (Builder *b, const Act *up, const Act *skip, Act *cat, const char *label)
{
  md_4d (&cat->md, b->batch, cat->c, cat->h, cat->w, cat->dt, dnnl_nhwc);
  return act_allocate (b, cat, NULL) && build_copy_into (b, up, cat, 0, label)
         && build_copy_into (b, skip, cat, up->c, label);
}

static gboolean
build_concat (Builder *b, const Act *up, const Act *skip, Act *cat, const char *label)
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
  if (!act_allocate (b, cat, dnnl_primitive_desc_query_md (pd, dnnl_query_dst_md, 0)))
    {
      dnnl_primitive_desc_destroy (pd);
      return FALSE;
    }
  args[2].memory = cat->mem;
  return add_op (b, pd, label, 1, 3, args);
}

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

  md_4d (&user_md, b->batch, p->in_ch, p->h, p->w, dnnl_f32, dnnl_nchw);
  p->in_net = first->mem;
  if (dnnl_memory_desc_equal (&user_md, &first->md) && first->scale == 1.0f)
    p->in_user = first->mem;
  else if (!new_mem (b, &user_md, NULL, &p->in_user))
    return FALSE;
  p->in_ptr = mem_ptr (p->in_user);
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

  md_4d (&user_md, b->batch, p->n_out, p->h, p->w, dnnl_f32, dnnl_nchw);
  p->out_net = last->mem;
  if (dnnl_memory_desc_equal (&user_md, &last->md))
    {
      p->out_user = last->mem;
      p->out_ptr = mem_ptr (last->mem);
      return TRUE;
    }
  if (!new_mem (b, &user_md, NULL, &p->out_user))
    return FALSE;
  p->out_ptr = mem_ptr (p->out_user);
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

  hd->src = mem_ptr (src->mem);
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
  act_declare (b, &input, bs_unet_input_channels (&net->config), h, w, qin.dt, qin.scale);
  if (b->tag != dnnl_format_tag_any && b->tag != dnnl_nchw && b->tag != dnnl_nhwc)
    md_4d (&input.md, b->batch, input.c, h, w, qin.dt, dnnl_format_tag_any);

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
          act_declare (b, &a, la->out_ch, h, w, dnnl_f32, 1.0f);
          if (!build_conv (b, la, &x, &a, NULL, conv_post))
            return FALSE;
          b->int8 = TRUE;
        }
      else
        {
          act_declare (b, &a, la->out_ch, h, w, q[li].dt, q[li].scale);
          if (!build_conv (b, la, &x, &a, NULL, conv_post))
            return FALSE;
        }
      if (level == 0 && !input.mem)
        {
          /* Now that encodeAa has chosen its source format, allocate the input. */
          const PlanOp *op = &g_array_index (p->ops, PlanOp, p->ops->len - 1);
          const_dnnl_primitive_desc_t pd;
          dnnl_primitive_get_primitive_desc (op->prim, &pd);
          if (!act_allocate (b, &input, dnnl_primitive_desc_query_md (pd, dnnl_query_src_md, 0)))
            return FALSE;
          op->args[0].memory = input.mem;
        }
      if (!b->fusion && !build_eltwise (b, &a, POST_RELU, "relu"))
        return FALSE;
      if (level == 0 && b->int8 && !b->int8_first)
        {
          Act a8;
          act_declare (b, &a8, la->out_ch, h, w, q[li].dt, q[li].scale);
          if (b->tag == dnnl_format_tag_any)
            md_4d (&a8.md, b->batch, a8.c, h, w, a8.dt, dnnl_nhwc);
          if (!build_quantize (b, &a, &a8))
            return FALSE;
          a = a8;
        }
      li++;

      if (level == 4)
        {
          act_declare (b, &x, lb->out_ch, h, w, q[li].dt, q[li].scale);
          if (!build_conv (b, lb, &a, &x, NULL, conv_post) || (!b->fusion && !build_eltwise (b, &x, POST_RELU, "relu")))
            return FALSE;
          li++;
          break;
        }

      /* The skip tensor, then pooling. */
      {
        int c_up = net->config.upsample == BS_UPSAMPLE_TRANSPOSED ? lb->out_ch : 2 * lb->out_ch;
        int blk;
        Act pooled;

        act_declare (b, &skips[level], lb->out_ch, h, w, q[li].dt, q[li].scale);
        act_declare (b, &cats[level], c_up + lb->out_ch, h, w, q[li].dt, q[li].scale);
        blk = tag_block (b->tag);
        inplace[level] = b->fusion && b->inplace_concat && blk > 0 && a.tag == b->tag && c_up % blk == 0
                         && lb->out_ch % blk == 0;
        act_declare (b, &pooled, lb->out_ch, h / 2, w / 2, q[li].dt, q[li].scale);
        if (inplace[level])
          {
            Slot half = { &cats[level], c_up, lb->out_ch };
            if (!act_allocate (b, &cats[level], NULL) || !build_conv (b, lb, &a, NULL, &half, conv_post)
                || !build_pool (b, &half, &pooled, pool_names[level]))
              return FALSE;
          }
        else
          {
            Slot whole = { &skips[level], 0, lb->out_ch };
            if (!build_conv (b, lb, &a, &skips[level], NULL, conv_post)
                || (!b->fusion && !build_eltwise (b, &skips[level], POST_RELU, "relu")))
              return FALSE;
            skip_in_cat[level] = b->int8 && b->fusion && skips[level].tag == dnnl_nhwc
                                 && skips[level].dt == dnnl_s8 && cats[level].dt == dnnl_s8;
            if (!(skip_in_cat[level] ? build_pool_copy (b, &skips[level], &cats[level], c_up, &pooled, pool_names[level])
                                     : build_pool (b, &whole, &pooled, pool_names[level])))
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
            act_declare (b, &up, lt->out_ch, h, w, q[li].dt, q[li].scale);
            if (!build_conv (b, lt, &x, inplace[level] ? NULL : &up, inplace[level] ? &half : NULL, POST_NONE))
              return FALSE;
            li++;
          }
        else
          {
            act_declare (b, &up, x.c, h, w, x.dt, x.scale);
            if (!build_upsample (b, &x, inplace[level] ? NULL : &up, inplace[level] ? &half : NULL,
                                 up_names[level]))
              return FALSE;
          }
        if (skip_in_cat[level])
          {
            if (!build_copy_into (b, &up, &cats[level], 0, cat_names[level]))
              return FALSE;
          }
        else if (!inplace[level])
          {
            Act *u = &up;
            gboolean by_reorders = b->fusion && u->tag == dnnl_nhwc && skips[level].tag == dnnl_nhwc
                                   && u->dt == skips[level].dt;
            if (by_reorders)
              concat_reorders[level] = TRUE;
            if (!(by_reorders ? build_concat_by_reorders (b, u, &skips[level], &cats[level], cat_names[level])
                              : build_concat (b, u, &skips[level], &cats[level], cat_names[level])))
              return FALSE;
          }
      }
      for (int k = 0; k < 2; k++)
        {
          const BsUnetLayer *l = &net->layers[li];
          Act *src = k == 0 ? &cats[level] : &a;
          Act out;

          act_declare (b, &out, l->out_ch, h, w, q[li].dt, q[li].scale);
          if (!build_conv (b, l, src, &out, NULL, conv_post)
              || (!b->fusion && !build_eltwise (b, &out, POST_RELU, "relu")))
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
    act_declare (b, &out, l->out_ch, h, w, dnnl_f32, 1.0f);
    if (b->tag != dnnl_nchw && b->tag != dnnl_nhwc)
      md_4d (&out.md, b->batch, l->out_ch, h, w, dnnl_f32, dnnl_format_tag_any);
    if (!build_conv (b, l, &x, &out, NULL, b->fusion ? POST_SIGMOID : POST_NONE)
        || (!b->fusion && !build_eltwise (b, &out, POST_SIGMOID, "sigmoid")))
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
  if (!new_mem (b, &md, NULL, &p->scratch))
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
       * fast kernels for channels-last, so there format any lets them pick. */
      b.tag = !b.int8 && net->config.fms % 16 == 0 ? dnnl_nChw16c : dnnl_format_tag_any;
      break;
    }

  if (!dnnl_ok (&b, dnnl_engine_create (&p->engine, dnnl_cpu, 0), "create a CPU engine", __LINE__)
      || !dnnl_ok (&b, dnnl_stream_create (&p->stream, p->engine, dnnl_stream_default_flags), "create a stream",
                   __LINE__))
    return NULL;
  g_string_printf (p->description, "%s %s fusion %s, batch %d, %dx%d, %d threads, %s\n",
                   bs_precision_name (opts->precision), bs_memlayout_name (opts->layout),
                   opts->fusion ? "on" : "off", p->batch, w, h, threads, bs_dnnl_isa_name ());
  if (p->n_lanes > 1)
    g_string_append_printf (p->description, "  %d lanes of 1 thread, this is lane 0\n", p->n_lanes);
  if (p->chunk < p->batch)
    g_string_append_printf (p->description, _("  runs the batch %d slices at a time\n"), p->chunk);
  if (!dnnl_ok (&b, dnnl_primitive_attr_create (&b.attr), "create attributes", __LINE__))
    return NULL;
  dnnl_primitive_attr_set_scratchpad_mode (b.attr, dnnl_scratchpad_mode_user);
  ok = build_network (&b) && build_scratchpad (&b);
  dnnl_primitive_attr_destroy (b.attr);
  if (!ok || !build_lanes (p, net, cal, error))
    return NULL;
  return g_steal_pointer (&p);
}
