/* Running a built plan (bs-plan.c builds it): the input in, the list of
 * operations, the probabilities out; test-time flips; lanes. */
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
#include "bs-preprocess.h"

void
bs_plan_free (BsPlan *p)
{
  if (!p)
    return;
  for (int i = 0; p->lane && i < p->n_lanes - 1; i++)
    bs_plan_free (p->lane[i]);
  g_free (p->lane);
  for (guint i = 0; p->ops && i < p->ops->len; i++)
    {
      PlanOp *op = &g_array_index (p->ops, PlanOp, i);
      if (op->prim)
        dnnl_primitive_destroy (op->prim);
      g_free (op->args);
      g_free (op->data);
    }
  if (p->ops)
    g_array_free (p->ops, TRUE);
  if (p->in_reorder)
    dnnl_primitive_destroy (p->in_reorder);
  if (p->out_reorder)
    dnnl_primitive_destroy (p->out_reorder);
  for (guint i = 0; p->mems && i < p->mems->len; i++)
    dnnl_memory_destroy (g_ptr_array_index (p->mems, i));
  if (p->mems)
    g_ptr_array_free (p->mems, TRUE);
  free (p->arena);
  if (p->held)
    g_ptr_array_free (p->held, TRUE);
  if (p->stream)
    dnnl_stream_destroy (p->stream);
  if (p->engine)
    dnnl_engine_destroy (p->engine);
  g_free (p->flip_in);
  g_free (p->flip_out);
  if (p->description)
    g_string_free (p->description, TRUE);
  if (p->head)
    {
      g_free (p->head->w);
      g_free (p->head->bias);
    }
  g_free (p->head);
  g_free (p);
}

int
bs_plan_get_threads (const BsPlan *plan)
{
  return plan->n_lanes > 1 ? plan->n_lanes : plan->threads;
}

int
bs_plan_get_lanes (const BsPlan *plan)
{
  return plan->n_lanes;
}

void
bs_plan_get_shared_activations (const BsPlan *plan, gsize *arena, gsize *apart)
{
  *arena = plan->arena ? plan->arena_size : 0;
  *apart = plan->arena ? plan->arena_apart : 0;
}

const BsPlanOptions *
bs_plan_get_options (const BsPlan *plan)
{
  return &plan->opts;
}

int
bs_plan_get_outputs (const BsPlan *plan)
{
  return plan->n_out;
}

void
bs_plan_get_size (const BsPlan *plan, int *h, int *w, int *batch)
{
  if (h)
    *h = plan->h;
  if (w)
    *w = plan->w;
  if (batch)
    *batch = plan->batch;
}

const char *
bs_plan_describe (const BsPlan *plan)
{
  return plan->description->str;
}

static gboolean
run_ok (dnnl_status_t st, const char *what, GError **error)
{
  if (st == dnnl_success)
    return TRUE;
  g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_DNNL, _("oneDNN failed to %s: %s"), what, dnnl_status2str (st));
  return FALSE;
}

/* n slices of hw pixels: the channels-last source is pixel-major over the
 * whole batch, the probabilities are NCHW (slice, then output channel), so
 * each piece of work is one (slice, output, run of pixels). */
/* One of the plan's reorders (input or output), waited for. */
static gboolean
run_reorder (BsPlan *plan, dnnl_primitive_t reorder, dnnl_memory_t from, dnnl_memory_t to, const char *what,
             GError **error)
{
  dnnl_exec_arg_t args[3] = { { DNNL_ARG_FROM, from }, { DNNL_ARG_TO, to }, { DNNL_ARG_SCRATCHPAD, plan->scratch } };
  dnnl_status_t st = dnnl_primitive_execute (reorder, plan->stream, 3, args);

  if (st == dnnl_success)
    st = dnnl_stream_wait (plan->stream);
  return run_ok (st, what, error);
}

static void
run_head (const Head *hd, int n, gsize hw, float *probs)
{
  const gsize chunk = 4096;
  gsize per_plane = (hw + chunk - 1) / chunk;
  gsize n_work = (gsize) n * hd->n_out * per_plane;

#pragma omp parallel for schedule(static)
  for (gsize i = 0; i < n_work; i++)
    {
      gsize plane = i / per_plane, s = plane / hd->n_out, o = plane % hd->n_out;
      gsize p0 = (i % per_plane) * chunk;

      bs_plan_head_run (hd->src + s * hw * hd->c, hd->c, hd->w + o * hd->c, hd->bias[o], p0, MIN (hw, p0 + chunk),
                        probs + plane * hw);
    }
}

/* n <= plan->chunk slices through the network; count: add them to timing->n_slices. */
static gboolean
run_chunk (BsPlan *plan, const float *input, int n, float *probs, BsTiming *timing, gboolean count,
           GError **error)
{
  gsize slice_in = (gsize) plan->in_ch * plan->h * plan->w;
  gsize slice_out = (gsize) plan->n_out * plan->h * plan->w;
  double t0, t1;
  dnnl_status_t st = dnnl_success;

  t0 = bs_now_ms ();
  memcpy (plan->in_ptr, input, sizeof (float) * slice_in * n);
  if (plan->in_reorder
      && !run_reorder (plan, plan->in_reorder, plan->in_user, plan->in_net, "reorder the input", error))
    return FALSE;
  t1 = bs_now_ms ();
  if (timing)
    bs_timing_add_stage (timing, "reorder", t1 - t0);

  for (guint i = 0; i < plan->ops->len && st == dnnl_success; i++)
    {
      PlanOp *op = &g_array_index (plan->ops, PlanOp, i);
      double l0 = plan->opts.profile_layers ? bs_now_ms () : 0.0;

      /* Per-sample operations skip the unused slots of a short batch. */
      int sets = op->n_sets > 1 ? MIN (op->n_sets, n) : op->n_sets;

      if (!op->prim)
        {
          /* CPU streams execute in order and synchronously; the wait is cheap insurance. */
          st = dnnl_stream_wait (plan->stream);
          if (st == dnnl_success)
            op->run (op->data, n);
        }
      for (int s = 0; op->prim && s < sets && st == dnnl_success; s++)
        st = dnnl_primitive_execute (op->prim, plan->stream, op->n_args, op->args + s * op->n_args);
      if (plan->opts.profile_layers && st == dnnl_success)
        {
          st = dnnl_stream_wait (plan->stream);
          if (timing)
            bs_timing_add_layer (timing, op->label, bs_now_ms () - l0);
        }
    }
  if (st == dnnl_success)
    st = dnnl_stream_wait (plan->stream);
  if (!run_ok (st, "run the network", error))
    return FALSE;
  if (plan->head)
    {
      double l0 = bs_now_ms ();
      run_head (plan->head, n, (gsize) plan->h * plan->w, probs);
      if (plan->opts.profile_layers && timing)
        bs_timing_add_layer (timing, "PredictionMask", bs_now_ms () - l0);
    }
  t0 = bs_now_ms ();
  if (timing)
    bs_timing_add_stage (timing, "network", t0 - t1);

  if (plan->out_reorder
      && !run_reorder (plan, plan->out_reorder, plan->out_net, plan->out_user, "reorder the output", error))
    return FALSE;
  if (!plan->head)
    memcpy (probs, plan->out_ptr, sizeof (float) * slice_out * n);
  if (timing)
    {
      bs_timing_add_stage (timing, "output", bs_now_ms () - t0);
      if (count)
        timing->n_slices += n;
    }
  return TRUE;
}

/* The mirrored pass of one chunk, averaged into probs (which holds the plain pass). */
static gboolean
run_flipped (BsPlan *plan, const float *input, int n, float *probs, BsTiming *timing, GError **error)
{
  gsize plane = (gsize) plan->h * plan->w;
  double t0 = bs_now_ms ();

  if (!plan->flip_in)
    {
      plan->flip_in = g_new (float, (gsize) plan->chunk * plan->in_ch * plane);
      plan->flip_out = g_new (float, (gsize) plan->chunk * plan->n_out * plane);
    }
  bs_preprocess_flip_x (input, plan->flip_in, (gsize) n * plan->in_ch, plan->h, plan->w);
  if (timing)
    bs_timing_add_stage (timing, "flips", bs_now_ms () - t0);
  if (!run_chunk (plan, plan->flip_in, n, plan->flip_out, timing, FALSE, error))
    return FALSE;
  t0 = bs_now_ms ();
  /* Every row of every output channel, each mirrored back and averaged. */
  for (gsize row = 0; row < (gsize) n * plan->n_out * plan->h; row++)
    {
      const float *m = plan->flip_out + row * plan->w;
      float *p = probs + row * plan->w;

      for (int x = 0; x < plan->w; x++)
        p[x] = 0.5f * (p[x] + m[plan->w - 1 - x]);
    }
  if (timing)
    bs_timing_add_stage (timing, "flips", bs_now_ms () - t0);
  return TRUE;
}

/* One plan's own primitives, on the calling thread's OpenMP threads. */
static gboolean
run_own (BsPlan *plan, const float *input, int n, float *probs, BsTiming *timing, GError **error)
{
  gsize slice_in = (gsize) plan->in_ch * plan->h * plan->w;
  gsize slice_out = (gsize) plan->n_out * plan->h * plan->w;

  omp_set_num_threads (plan->threads);
  for (int s = 0; s < n; s += plan->chunk)
    {
      int m = MIN (plan->chunk, n - s);

      if (!run_chunk (plan, input + s * slice_in, m, probs + s * slice_out, timing, TRUE, error))
        return FALSE;
      if (plan->opts.test_time_flips
          && !run_flipped (plan, input + s * slice_in, m, probs + s * slice_out, timing, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
bs_plan_run_lane (BsPlan *plan, int lane, const float *input, int n, float *probs, BsTiming *timing,
                  GError **error)
{
  g_return_val_if_fail (n >= 1 && n <= plan->batch, FALSE);
  g_return_val_if_fail (lane >= 0 && lane < plan->n_lanes, FALSE);
  return run_own (lane == 0 ? plan : plan->lane[lane - 1], input, n, probs, timing, error);
}

/* bs_plan_run on lanes: pieces of at most per slices, each lane taking the
 * next piece when it has finished its last. */
typedef struct {
  BsPlan *plan;
  const float *input;
  float *probs;
  int n, per;
  BsTiming timing[BS_PLAN_MAX_LANES];
} SplitRun;

static gboolean
split_piece (int lane, int k, gpointer user_data, GError **error)
{
  SplitRun *r = user_data;
  gsize slice_in = (gsize) r->plan->in_ch * r->plan->h * r->plan->w;
  gsize slice_out = (gsize) r->plan->n_out * r->plan->h * r->plan->w;
  int first = k * r->per, m = MIN (r->per, r->n - first);

  return bs_plan_run_lane (r->plan, lane, r->input + first * slice_in, m, r->probs + first * slice_out,
                           &r->timing[lane], error);
}

gboolean
bs_plan_run (BsPlan *plan, const float *input, int n, float *probs, BsTiming *timing, GError **error)
{
  g_autofree SplitRun *r = NULL;
  int lanes, n_pieces;
  double t0;
  gboolean ok;

  g_return_val_if_fail (n >= 1 && n <= plan->batch * plan->n_lanes, FALSE);
  lanes = MIN (plan->n_lanes, n);
  if (lanes <= 1)
    return run_own (plan, input, n, probs, timing, error);
  r = g_new0 (SplitRun, 1);
  r->plan = plan;
  r->input = input;
  r->probs = probs;
  r->n = n;
  /* two pieces a lane where the slices allow, so that a lane slowed by a
   * busy core leaves the other piece to a free one */
  r->per = CLAMP ((n + 2 * lanes - 1) / (2 * lanes), 1, plan->batch);
  n_pieces = (n + r->per - 1) / r->per;
  lanes = MIN (lanes, n_pieces);
  t0 = bs_now_ms ();
  ok = bs_parallel_pieces (lanes, n_pieces, split_piece, r, error);
  if (timing)
    bs_timing_add_concurrent (timing, r->timing, lanes, bs_now_ms () - t0);
  return ok;
}
