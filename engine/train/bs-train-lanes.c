/* BsTrainGraph: the training graph as the trainer sees it.  One piece
 * (bs-train-graph.c) at the whole batch on the caller's OpenMP threads, or,
 * on lanes, the batch cut into pieces of a few slices, each piece its own
 * single-thread graph, and one thread a lane (bs_parallel_lanes) taking the
 * next piece when it has finished its last (one piece a lane by default:
 * piece_size).
 *
 * Why lanes: with every layer split between the threads, the threads meet
 * after each layer, so a core that another program holds slows every layer.
 * Lanes meet only twice a step, and the kernel is free to move a lane onto
 * the core that is free.  (Measured here, 2-core AMD EPYC, batch 16 at
 * 128x128, one core held by a busy loop: 366-422 ms a step on two lanes
 * against 584 ms on two threads and 487 ms on one; quiet, all about 250 ms.)
 *
 * A step on lanes is the same step: the forward pieces write their
 * probabilities into one batch, the loss is the whole batch's (its soft Dice
 * is over the batch), each piece's backward takes its share of the loss's
 * gradient, and the layers' gradients are the pieces' sums.  Only the order
 * of the sums differs.  Dropout draws one seed a slice from the graph's one
 * generator, and each slice's masks come from its seed, so the masks do not
 * depend on the lanes, the pieces or which lane ran which piece, and a
 * checkpoint's generator state resumes a run on any number of lanes. */
#include <omp.h>
#include <string.h>

#include "bs-parallel.h"
#include "bs-train-private.h"

struct _BsTrainGraph {
  BsUnet *net;
  int batch, h, w;
  int n_lanes;            /* 1: one piece on the caller's threads */
  int per;                /* slices a piece */
  int n_pieces;
  BsTrainPiece **piece;
  int n_run;              /* pieces the last forward ran */
  int n_out;
  gsize in_per, out_per;  /* floats a slice in and out */
  float *probs, *dprobs;  /* batch x out_per: the pieces' outputs, the loss's gradient */
  guint64 *seeds;         /* batch: each slice's dropout seed in a training forward */
  float **dw, **db;       /* per layer, the pieces' gradients summed (lanes only) */
  double weight_wt;
  double dropout_rate;
  BsTrainRng rand;
};

/* Slices a piece on lanes: one piece a lane.  Measured here (2-core AMD
 * EPYC, batch 16 at 128x128, medians of 8 steps): one piece a lane 240 ms
 * quiet and 366-373 ms with one core held; two pieces a lane (of 4 slices)
 * 249 and 410-443 ms; four 268 and 404-496 ms.  The kernel moves a lane off
 * the held core better than smaller pieces share the work out, and a piece
 * of 8 slices runs its layers faster than one of 4. */
static int
piece_size (int batch, int lanes)
{
  return MAX (1, (batch + lanes - 1) / lanes);
}

static BsTrainGraph *
graph_new (BsUnet *net, int batch, int h, int w, int max_group, int lanes, GError **error)
{
  g_autoptr(BsTrainGraph) g = NULL;

  g_return_val_if_fail (net != NULL && batch > 0, NULL);
  g = g_new0 (BsTrainGraph, 1);
  g->net = net;
  g->batch = batch;
  g->h = h;
  g->w = w;
  g->n_lanes = CLAMP (lanes, 1, MIN (batch, BS_TRAIN_MAX_LANES));
  g->per = g->n_lanes > 1 ? piece_size (batch, g->n_lanes) : batch;
  g->n_pieces = (batch + g->per - 1) / g->per;
  g->n_lanes = MIN (g->n_lanes, g->n_pieces);
  g->n_out = net->config.out_channels;
  g->in_per = (gsize) bs_unet_input_channels (&net->config) * h * w;
  g->out_per = (gsize) g->n_out * h * w;
  g->piece = g_new0 (BsTrainPiece *, g->n_pieces);
  for (int k = 0; k < g->n_pieces; k++)
    if ((g->piece[k] = bs_train_piece_new (net, MIN (g->per, batch - k * g->per), h, w, max_group,
                                           g->n_lanes > 1 ? 1 : 0, error)) == NULL)
      return NULL;
  g->probs = g_new0 (float, g->out_per * batch);
  g->dprobs = g_new0 (float, g->out_per * batch);
  g->seeds = g_new0 (guint64, batch);
  if (g->n_lanes > 1)
    {
      g->dw = g_new0 (float *, net->n_layers);
      g->db = g_new0 (float *, net->n_layers);
      for (int i = 0; i < net->n_layers; i++)
        {
          const BsUnetLayer *L = &net->layers[i];
          g->dw[i] = g_new0 (float, (gsize) L->out_ch * L->in_ch * L->kh * L->kw);
          g->db[i] = g_new0 (float, L->out_ch);
        }
    }
  bs_train_rng_seed (&g->rand, 816);
  return g_steal_pointer (&g);
}

BsTrainGraph *
bs_train_graph_new (BsUnet *net, int batch, int h, int w, GError **error)
{
  return graph_new (net, batch, h, w, 0, 1, error);
}

BsTrainGraph *
bs_train_graph_new_lanes (BsUnet *net, int batch, int h, int w, int lanes, GError **error)
{
  return graph_new (net, batch, h, w, 0, lanes, error);
}

BsTrainGraph *
bs_train_graph_new_grouped (BsUnet *net, int batch, int h, int w, int max_group, GError **error)
{
  return graph_new (net, batch, h, w, max_group, 1, error);
}

void
bs_train_graph_free (BsTrainGraph *g)
{
  if (!g)
    return;
  for (int k = 0; g->piece && k < g->n_pieces; k++)
    bs_train_piece_free (g->piece[k]);
  g_free (g->piece);
  for (int i = 0; g->dw && i < g->net->n_layers; i++)
    {
      g_free (g->dw[i]);
      g_free (g->db[i]);
    }
  g_free (g->dw);
  g_free (g->db);
  g_free (g->probs);
  g_free (g->dprobs);
  g_free (g->seeds);
  g_free (g);
}

int
bs_train_graph_get_lanes (const BsTrainGraph *g)
{
  return g->n_lanes;
}

void
bs_train_graph_set_dropout (BsTrainGraph *g, double rate, guint64 seed)
{
  g->dropout_rate = CLAMP (rate, 0.0, 0.95);
  for (int k = 0; k < g->n_pieces; k++)
    bs_train_piece_set_dropout (g->piece[k], rate);
  bs_train_rng_seed (&g->rand, seed ^ 0x64726f706f7574ULL);
}

void
bs_train_graph_get_size (const BsTrainGraph *g, int *batch, int *h, int *w)
{
  if (batch)
    *batch = g->batch;
  if (h)
    *h = g->h;
  if (w)
    *w = g->w;
}

char *
bs_train_graph_describe (const BsTrainGraph *g)
{
  g_autofree char *first = bs_train_piece_describe (g->piece[0]);

  if (g->n_lanes <= 1)
    return g_steal_pointer (&first);
  return g_strdup_printf ("%d lanes of 1 thread, %d pieces of up to %d slices; piece 1:\n%s", g->n_lanes,
                          g->n_pieces, g->per, first);
}

void
bs_train_graph_set_weight_wt (BsTrainGraph *g, double weight_wt)
{
  g->weight_wt = weight_wt;
}

double
bs_train_graph_get_weight_wt (const BsTrainGraph *g)
{
  return g->weight_wt;
}

guint64
bs_train_graph_get_rng_state (const BsTrainGraph *g)
{
  return g->rand.state;
}

void
bs_train_graph_set_rng_state (BsTrainGraph *g, guint64 state)
{
  g->rand.state = state;
}

/* ---- lanes ---- */

typedef enum { PASS_FORWARD, PASS_BACKWARD } Pass;

typedef struct {
  BsTrainGraph *g;
  Pass pass;
  const float *input;
  int n;
  gboolean training;
  const guint64 *seeds;
} LaneRun;

/* Piece k of a pass, on a lane (a piece sets its one thread itself). */
static gboolean
run_piece (int lane, int k, gpointer user_data, GError **error)
{
  LaneRun *r = user_data;
  BsTrainGraph *g = r->g;
  int first = k * g->per, m = MIN (g->per, r->n - first);

  if (r->pass == PASS_FORWARD)
    return bs_train_piece_forward (g->piece[k], r->input + first * g->in_per, m, r->training,
                                   r->seeds ? r->seeds + first : NULL, g->probs + first * g->out_per, error);
  return bs_train_piece_backward (g->piece[k], g->dprobs + first * g->out_per, m, error);
}

/* The pieces' gradients summed: lane i sums its share of every layer. */
static void
sum_share (int lane, gpointer user_data)
{
  BsTrainGraph *g = user_data;

  for (int i = 0; i < g->net->n_layers; i++)
    {
      const BsUnetLayer *L = &g->net->layers[i];
      gsize nw = (gsize) L->out_ch * L->in_ch * L->kh * L->kw, nb = (gsize) L->out_ch;
      gsize w0 = nw * lane / g->n_lanes, w1 = nw * (lane + 1) / g->n_lanes;
      gsize b0 = nb * lane / g->n_lanes, b1 = nb * (lane + 1) / g->n_lanes;

      for (int k = 0; k < g->n_run; k++)
        {
          const float *dw, *db;

          bs_train_piece_get_grads (g->piece[k], i, &dw, &db);
          if (k == 0)
            {
              memcpy (g->dw[i] + w0, dw + w0, (w1 - w0) * sizeof (float));
              memcpy (g->db[i] + b0, db + b0, (b1 - b0) * sizeof (float));
              continue;
            }
          for (gsize j = w0; j < w1; j++)
            g->dw[i][j] += dw[j];
          for (gsize j = b0; j < b1; j++)
            g->db[i][j] += db[j];
        }
    }
}

static gboolean
run_lanes (BsTrainGraph *g, Pass pass, const float *input, int n, gboolean training, const guint64 *seeds,
           GError **error)
{
  LaneRun r = { .g = g, .pass = pass, .input = input, .n = n, .training = training, .seeds = seeds };
  int caller_threads = omp_get_max_threads ();
  gboolean ok;

  ok = bs_parallel_pieces (g->n_lanes, g->n_run, run_piece, &r, error);
  /* Lane 0 ran on the caller's thread: its thread count is given back. */
  omp_set_num_threads (caller_threads);
  return ok;
}

/* ---- passes ---- */

gboolean
bs_train_graph_forward (BsTrainGraph *g, const float *input, int n, gboolean training, float *probs,
                        GError **error)
{
  const guint64 *seeds = NULL;

  g_return_val_if_fail (n > 0 && n <= g->batch, FALSE);
  g->n_run = (n + g->per - 1) / g->per;
  if (training && g->dropout_rate > 0.0)
    {
      for (int i = 0; i < n; i++)
        g->seeds[i] = bs_train_rng_next (&g->rand);
      seeds = g->seeds;
    }
  if (g->n_lanes <= 1)
    {
      if (!bs_train_piece_forward (g->piece[0], input, n, training, seeds, g->probs, error))
        return FALSE;
    }
  else if (!run_lanes (g, PASS_FORWARD, input, n, training, seeds, error))
    return FALSE;
  if (probs)
    memcpy (probs, g->probs, g->out_per * n * sizeof (float));
  return TRUE;
}

gboolean
bs_train_graph_backward (BsTrainGraph *g, const float *target, int n, BsTrainLoss loss, double weight_dice,
                         double *loss_value, GError **error)
{
  return bs_train_graph_backward_masked (g, target, NULL, n, loss, weight_dice, loss_value, error);
}

gboolean
bs_train_graph_backward_masked (BsTrainGraph *g, const float *target, const float *valid, int n, BsTrainLoss loss,
                                double weight_dice, double *loss_value, GError **error)
{
  double value;

  g_return_val_if_fail (n > 0 && n <= g->batch, FALSE);
  g_return_val_if_fail ((n + g->per - 1) / g->per == g->n_run, FALSE);
  value = bs_train_loss_outputs (loss, weight_dice, g->weight_wt, g->probs, target, valid, n, g->n_out,
                                 (gsize) g->h * g->w, g->dprobs);
  if (loss_value)
    *loss_value = value;
  if (g->n_lanes <= 1)
    return bs_train_piece_backward (g->piece[0], g->dprobs, n, error);
  if (!run_lanes (g, PASS_BACKWARD, NULL, n, TRUE, NULL, error))
    return FALSE;
  bs_parallel_lanes (g->n_lanes, sum_share, g);
  return TRUE;
}

void
bs_train_graph_get_grads (BsTrainGraph *g, int layer, const float **dweights, const float **dbias)
{
  g_return_if_fail (layer >= 0 && layer < g->net->n_layers);
  if (g->n_lanes <= 1)
    {
      bs_train_piece_get_grads (g->piece[0], layer, dweights, dbias);
      return;
    }
  if (dweights)
    *dweights = g->dw[layer];
  if (dbias)
    *dbias = g->db[layer];
}
