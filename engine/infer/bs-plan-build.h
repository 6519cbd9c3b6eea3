/* Building a plan: what bs-plan.c (the network) and bs-plan-layers.c (its
 * layers: convolutions, pooling, upsampling, concatenations, quantisation)
 * share; private to engine/infer. */
#pragma once

#include <glib.h>
#include <oneapi/dnnl/dnnl.h>
#include <string.h>

#include "bs-plan-private.h"
#include "bs-unet.h"

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
  GPtrArray *acts;        /* the dnnl_memory_t of every pb_act_allocate (bs-plan-share.c) */
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

/* One execution per sample of a single-sample primitive: src sample i -> dst
 * sample i (dst possibly one half of a concat buffer). */
typedef struct {
  const Act *act;
  int offset_c, c;
} Slot;

typedef enum { POST_NONE, POST_RELU, POST_SIGMOID } PostOp;

/* The file and line of the call, for the error message. */
#define PB_WHERE (strrchr (G_STRLOC, '/') ? strrchr (G_STRLOC, '/') + 1 : G_STRLOC)
#define TRY(call, what) \
  G_STMT_START { if (!pb_dnnl_ok (b, (call), (what), PB_WHERE)) return FALSE; } G_STMT_END

gboolean pb_dnnl_ok (Builder *b, dnnl_status_t st, const char *what, const char *where);
gboolean pb_new_mem (Builder *b, const dnnl_memory_desc_t *md, void *handle, dnnl_memory_t *out);
void *pb_mem_ptr (dnnl_memory_t m);
int pb_tag_block (dnnl_format_tag_t tag);
void pb_md_4d (dnnl_memory_desc_t *md, int n, int c, int h, int w, dnnl_data_type_t dt, dnnl_format_tag_t tag);
void pb_act_declare (Builder *b, Act *a, int c, int h, int w, dnnl_data_type_t dt, float scale);
gboolean pb_act_allocate (Builder *b, Act *a, const dnnl_memory_desc_t *chosen);
gboolean pb_build_conv (Builder *b, const BsUnetLayer *l, const Act *src, Act *dst, const Slot *half, PostOp post);
gboolean pb_build_quantize (Builder *b, const Act *src, Act *dst);
gboolean pb_build_eltwise (Builder *b, Act *a, PostOp post, const char *label);
gboolean pb_build_pool (Builder *b, const Slot *src, Act *dst, const char *label);
gboolean pb_build_pool_copy (Builder *b, const Act *skip, Act *cat, int offset_c, Act *pooled, const char *label);
gboolean pb_build_upsample (Builder *b, const Act *src, Act *dst, const Slot *half, const char *label);
gboolean pb_build_copy_into (Builder *b, const Act *src, const Act *dst, int offset_c, const char *label);
gboolean pb_build_concat_by_reorders (Builder *b, const Act *up, const Act *skip, Act *cat, const char *label);
gboolean pb_build_concat (Builder *b, const Act *up, const Act *skip, Act *cat, const char *label);
/* After the network is built: activations whose lives (from the first to
 * the last operation that touches them) do not overlap share memory, and
 * every memory, view and plain-C step is pointed into that arena
 * (bs-plan-share.c).  The input, the output, the head's source and tensors
 * with padded channels keep their own buffers. */
gboolean pb_share_acts (Builder *b);
