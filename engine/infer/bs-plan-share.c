/* Activations that share memory: a plan allocates every activation tensor
 * while it is built; once every operation is known, the tensors whose lives
 * do not overlap are moved into one arena.  A 128x128 fp32 chunk of 16
 * slices held some 275 MB of activations, most of them dead long before the
 * plan ends; every page of them was also faulted in on its first use. */
#include <glib/gi18n.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bs-plan-build.h"

#define SHARE_ALIGN 4096
#define ARENA_ALIGN (2u << 20)

typedef struct {
  char *base;
  gsize size, off;
  int first, last;  /* operations that touch it (first > last: none) */
  gboolean shared;
} Buf;

static int
find_buf (const Buf *bufs, int n, const void *ptr)
{
  const char *c = ptr;

  for (int i = 0; i < n; i++)
    if (c >= bufs[i].base && c < bufs[i].base + bufs[i].size)
      return i;
  return -1;
}

static void
touch (Buf *bufs, int n, const void *ptr, int op)
{
  int i = ptr ? find_buf (bufs, n, ptr) : -1;

  if (i >= 0)
    {
      bufs[i].first = MIN (bufs[i].first, op);
      bufs[i].last = MAX (bufs[i].last, op);
    }
}

static gboolean
padded (dnnl_memory_t mem)
{
  const dnnl_memory_desc_t *md = NULL;

  if (dnnl_memory_get_memory_desc (mem, &md) != dnnl_success || md == NULL)
    return TRUE;
  for (int d = 0; d < md->ndims; d++)
    if (md->padded_dims[d] != md->dims[d])
      return TRUE;
  return FALSE;
}

static int
by_size_desc (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Buf *bufs = user_data;
  gsize sa = bufs[*(const int *) a].size, sb = bufs[*(const int *) b].size;

  return sa < sb ? 1 : sa > sb ? -1 : *(const int *) a - *(const int *) b;
}

/* The lowest offset where buffer i fits beside the placed buffers that live
 * at the same time. */
static gsize
place (const Buf *bufs, const int *placed, int n_placed, int i)
{
  gsize off = 0;
  gboolean moved = TRUE;

  while (moved)
    {
      moved = FALSE;
      for (int k = 0; k < n_placed; k++)
        {
          const Buf *o = &bufs[placed[k]];

          if (o->last < bufs[i].first || bufs[i].last < o->first)
            continue;   /* never alive together */
          if (off < o->off + o->size && o->off < off + bufs[i].size)
            {
              off = (o->off + o->size + SHARE_ALIGN - 1) / SHARE_ALIGN * SHARE_ALIGN;
              moved = TRUE;
            }
        }
    }
  return off;
}

static void *
moved (const Buf *bufs, int n, char *arena, void *ptr)
{
  int i = ptr ? find_buf (bufs, n, ptr) : -1;

  if (i < 0 || !bufs[i].shared)
    return ptr;
  return arena + bufs[i].off + ((char *) ptr - bufs[i].base);
}

gboolean
pb_share_acts (Builder *b)
{
  BsPlan *p = b->p;
  int n = (int) b->acts->len, n_ops = (int) p->ops->len, n_placed = 0;
  g_autofree Buf *bufs = g_new0 (Buf, MAX (n, 1));
  g_autofree int *order = g_new (int, MAX (n, 1));
  gsize separate = 0, arena_size = 0;
  void *arena = NULL;

  for (int i = 0; i < n; i++)
    {
      dnnl_memory_t mem = g_ptr_array_index (b->acts, i);
      const dnnl_memory_desc_t *md = NULL;

      dnnl_memory_get_memory_desc (mem, &md);
      bufs[i] = (Buf) { pb_mem_ptr (mem), md ? dnnl_memory_desc_get_size (md) : 0, 0, G_MAXINT, -1, TRUE };
      /* Read or written outside the operations (the input, the output, the
       * head), or padded channels whose zeros a tenant before would spoil. */
      if (mem == p->in_net || mem == p->in_user || mem == p->out_net || mem == p->out_user || padded (mem))
        bufs[i].shared = FALSE;
    }
  if (p->head && find_buf (bufs, n, p->head->src) >= 0)
    bufs[find_buf (bufs, n, p->head->src)].shared = FALSE;
  for (int o = 0; o < n_ops; o++)
    {
      const PlanOp *op = &g_array_index (p->ops, PlanOp, o);

      if (op->prim)
        for (int k = 0; k < op->n_sets * op->n_args; k++)
          {
            if (op->args[k].arg != DNNL_ARG_SCRATCHPAD && op->args[k].memory != NULL)
              touch (bufs, n, pb_mem_ptr (op->args[k].memory), o);
          }
      else
        for (int k = 0; k < 3 && op->c_ptrs[k]; k++)
          touch (bufs, n, *op->c_ptrs[k], o);
    }
  for (int i = 0; i < n; i++)
    {
      if (bufs[i].first > bufs[i].last)
        bufs[i].shared = FALSE;
      if (bufs[i].shared)
        {
          order[n_placed++] = i;
          separate += bufs[i].size;
        }
    }
  if (n_placed < 2)
    return TRUE;
  g_qsort_with_data (order, n_placed, sizeof (int), by_size_desc, bufs);
  for (int k = 0; k < n_placed; k++)
    {
      Buf *f = &bufs[order[k]];

      f->off = place (bufs, order, k, order[k]);
      arena_size = MAX (arena_size, f->off + f->size);
    }
  if (arena_size >= separate)
    return TRUE;
  /* Huge pages for a large arena, as for volumes (bs-volume.c). */
  if (posix_memalign (&arena, arena_size >= 2 * ARENA_ALIGN ? ARENA_ALIGN : SHARE_ALIGN, arena_size) != 0)
    return TRUE;   /* the separate buffers stay */
#ifdef MADV_HUGEPAGE
  if (arena_size >= 2 * ARENA_ALIGN)
    madvise (arena, arena_size / ARENA_ALIGN * ARENA_ALIGN, MADV_HUGEPAGE);
#endif
  /* Every memory into the arena (a tensor's own memory gives up its buffer),
   * then the plain-C steps' pointers. */
  for (guint m = 0; m < p->mems->len; m++)
    {
      dnnl_memory_t mem = g_ptr_array_index (p->mems, m);
      void *ptr = pb_mem_ptr (mem), *to = moved (bufs, n, arena, ptr);

      if (to != ptr && !pb_dnnl_ok (b, dnnl_memory_set_data_handle (mem, to), "move an activation", PB_WHERE))
        {
          /* Memories moved before this one point into the arena: it stays. */
          p->arena = arena;
          return FALSE;
        }
    }
  for (int o = 0; o < n_ops; o++)
    {
      PlanOp *op = &g_array_index (p->ops, PlanOp, o);

      for (int k = 0; k < 3 && op->c_ptrs[k]; k++)
        *op->c_ptrs[k] = moved (bufs, n, arena, *op->c_ptrs[k]);
    }
  p->arena = arena;
  p->arena_size = arena_size;
  p->arena_apart = separate;
  g_string_append_printf (p->description, _("  activations: %.1f MB shared by %d tensors that are not alive "
                                            "together (%.1f MB apart)\n"),
                          arena_size / 1048576.0, n_placed, separate / 1048576.0);
  return TRUE;
}
