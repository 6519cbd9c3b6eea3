/* Reordered weights shared between plans (see bs-plan-weights.h). */
#include <string.h>

#include "bs-plan-weights.h"

typedef struct {
  guint64 key;
  dnnl_memory_desc_t md;
  GBytes *data;
} Entry;

static GMutex lock;
static GQueue entries = G_QUEUE_INIT;   /* Entry *, most recently used first */
static gsize held;
static guint64 hits;

/* Four independent multiply-xor streams over the 32-bit words, so that a
 * whole network's weights (about 2 M floats) hash in a millisecond. */
static void
mix_words (guint64 h[4], const float *x, gsize n)
{
  const guint64 prime = G_GUINT64_CONSTANT (0x100000001b3);
  gsize i = 0;

  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; k++)
      {
        guint32 bits;

        memcpy (&bits, x + i + k, sizeof bits);
        h[k] = (h[k] ^ bits) * prime;
      }
  for (; i < n; i++)
    {
      guint32 bits;

      memcpy (&bits, x + i, sizeof bits);
      h[0] = (h[0] ^ bits) * prime;
    }
}

guint64
bs_plan_weights_key (const BsUnetLayer *l, const float *wscale)
{
  guint64 h[4] = { G_GUINT64_CONSTANT (0xcbf29ce484222325), 0x9e3779b97f4a7c15u, 0x2545f4914f6cdd1du,
                   0x94d049bb133111ebu };
  float shape[6] = { (float) l->out_ch, (float) l->in_ch, (float) l->kh, (float) l->kw, (float) l->kind,
                     wscale != NULL };
  guint64 key;

  mix_words (h, shape, G_N_ELEMENTS (shape));
  mix_words (h, l->weights, (gsize) l->out_ch * l->in_ch * l->kh * l->kw);
  if (wscale != NULL)
    mix_words (h, wscale, l->out_ch);
  key = h[0];
  for (int k = 1; k < 4; k++)
    key = (key ^ (h[k] >> 29) ^ h[k]) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  return key;
}

GBytes *
bs_plan_weights_lookup (guint64 key, const dnnl_memory_desc_t *md)
{
  GBytes *found = NULL;

  g_mutex_lock (&lock);
  for (GList *it = entries.head; it != NULL; it = it->next)
    {
      Entry *e = it->data;

      if (e->key != key || !dnnl_memory_desc_equal (&e->md, md))
        continue;
      g_queue_unlink (&entries, it);
      g_queue_push_head_link (&entries, it);
      found = g_bytes_ref (e->data);
      hits++;
      break;
    }
  g_mutex_unlock (&lock);
  return found;
}

void
bs_plan_weights_insert (guint64 key, const dnnl_memory_desc_t *md, GBytes *data)
{
  const gsize cap = (gsize) BS_PLAN_WEIGHTS_CACHE_MB << 20;
  Entry *e = g_new (Entry, 1);

  e->key = key;
  e->md = *md;
  e->data = g_bytes_ref (data);
  g_mutex_lock (&lock);
  g_queue_push_head (&entries, e);
  held += g_bytes_get_size (data);
  while (held > cap && entries.length > 1)
    {
      Entry *old = g_queue_pop_tail (&entries);

      held -= g_bytes_get_size (old->data);
      g_bytes_unref (old->data);
      g_free (old);
    }
  g_mutex_unlock (&lock);
}

void
bs_plan_weights_stats (guint64 *n_hits, gsize *bytes)
{
  g_mutex_lock (&lock);
  if (n_hits)
    *n_hits = hits;
  if (bytes)
    *bytes = held;
  g_mutex_unlock (&lock);
}
