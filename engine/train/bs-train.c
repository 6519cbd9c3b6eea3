/* The training loop: epochs of stratified, augmented batches, validation after
 * each epoch, the best-validation-loss checkpoint, early stopping, progress,
 * and whole-volume Dice of the test cases at the end. */
#include <glib/gi18n.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include <errno.h>
#include <glib/gstdio.h>
#include <unistd.h>

#include "bs-error.h"
#include "bs-export.h"
#include "bs-metrics.h"
#include "bs-postprocess.h"
#include "bs-preprocess.h"
#include "bs-plan.h"
#include "bs-runtime.h"
#include "bs-train-private.h"

/* How far (as a share of the centring margin) a training crop may wander. */
#define BS_TRAIN_OFFSET_RATIO 0.75
#define BS_TRAIN_EVAL_BATCH 4

void
bs_train_options_init (BsTrainOptions *o)
{
  memset (o, 0, sizeof *o);
  o->fms = 16;
  o->crop = 128;
  o->epochs = 30;
  o->batch = 128;
  o->lr = 1e-4;
  o->loss = BS_TRAIN_LOSS_DICE;
  o->weight_dice = 0.85;
  o->seed = 816;
  o->patience = 5;
  o->dropout = 0.2;
  o->val_slices = 96;
  o->augment = TRUE;
  o->intensity_jitter = 0.1;
  o->split = 0.8;
}

void
bs_train_case_result_clear (BsTrainCaseResult *r)
{
  g_clear_pointer (&r->id, g_free);
  g_clear_pointer (&r->channels, g_free);
}

void
bs_train_report_clear (BsTrainReport *report)
{
  if (report->test)
    {
      for (guint i = 0; i < report->test->len; i++)
        bs_train_case_result_clear (&g_array_index (report->test, BsTrainCaseResult, i));
      g_array_unref (report->test);
    }
  memset (report, 0, sizeof *report);
}

/* Centre crop or zero-pad of a w x h plane to ow x oh (the inverse of itself). */
static void
centre (const float *src, int w, int h, float *dst, int ow, int oh)
{
  int x0 = (w - ow) / 2, y0 = (h - oh) / 2;

  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++)
      {
        int sx = x0 + x, sy = y0 + y;
        dst[y * ow + x] = (sx >= 0 && sx < w && sy >= 0 && sy < h) ? src[sy * w + sx] : 0.0f;
      }
}

/* pred (one channel, the case's geometry) receives the probabilities when not NULL. */
static gboolean
evaluate_case (BsTrainGraph *g, const BsTrainCase *c, gboolean flips, BsVolume *pred_vol,
               BsTrainCaseResult *result, GError **error)
{
  int batch, ph, pw, nch = c->image->n_channels;
  int n_slices = bs_volume_n_slices (c->image, BS_PLANE_AXIAL);
  gsize pix;
  g_autofree float *input = NULL;
  g_autofree float *probs = NULL;
  g_autofree float *plane = g_new (float, (gsize) c->sw * c->sh);
  g_autofree float *pred = g_new (float, (gsize) c->sw * c->sh);
  g_autoptr(BsVolume) prob = bs_volume_new_like (c->truth, 1);
  BsConfusion conf = { 0 };

  bs_train_graph_get_size (g, &batch, &ph, &pw);
  pix = (gsize) ph * pw;
  input = g_new (float, batch * nch * pix);
  probs = g_new (float, batch * pix);
  for (int first = 0; first < n_slices; first += batch)
    {
      int n = MIN (batch, n_slices - first);

      for (int b = 0; b < n; b++)
        for (int k = 0; k < nch; k++)
          {
            bs_volume_get_slice (c->image, k, BS_PLANE_AXIAL, first + b, plane);
            centre (plane, c->sw, c->sh, input + ((gsize) b * nch + k) * pix, pw, ph);
          }
      if (!bs_train_graph_forward (g, input, n, FALSE, probs, error))
        return FALSE;
      if (flips)
        {
          g_autofree float *mirrored = g_new (float, (gsize) n * nch * pix);
          g_autofree float *mprobs = g_new (float, (gsize) n * pix);

          bs_preprocess_flip_x (input, mirrored, (gsize) n * nch, ph, pw);
          if (!bs_train_graph_forward (g, mirrored, n, FALSE, mprobs, error))
            return FALSE;
          bs_preprocess_flip_x (mprobs, mirrored, n, ph, pw);
          for (gsize p = 0; p < (gsize) n * pix; p++)
            probs[p] = 0.5f * (probs[p] + mirrored[p]);
        }
      for (int b = 0; b < n; b++)
        {
          centre (probs + b * pix, pw, ph, pred, c->sw, c->sh);
          bs_volume_set_slice (prob, 0, BS_PLANE_AXIAL, first + b, pred);
        }
    }
  bs_confusion_add (&conf, prob->data, c->truth->data, bs_volume_n_voxels (prob));
  result->dice_raw = bs_confusion_dice (&conf);
  /* the same island clean-up as brainseg-cli infer and the window */
  if (!bs_volume_remove_islands (prob, BS_CLEANUP_MIN_FRACTION, NULL))
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("%s: out of memory for the island clean-up"), c->id);
      return FALSE;
    }
  memset (&conf, 0, sizeof conf);
  bs_confusion_add (&conf, prob->data, c->truth->data, bs_volume_n_voxels (prob));
  if (pred_vol)
    memcpy (pred_vol->data, prob->data, bs_volume_n_voxels (prob) * sizeof (float));
  result->id = g_strdup (c->id);
  result->fold = c->fold;
  {
    g_autoptr(GString) ch = g_string_new (NULL);
    for (int k = 0; k < nch; k++)
      if (c->present & (1u << k))
        g_string_append_printf (ch, "%s%s", ch->len ? "," : "", c->image->channel_names[k]);
    result->channels = g_string_free (g_steal_pointer (&ch), FALSE);
  }
  result->dice = bs_confusion_dice (&conf);
  result->truth_voxels = conf.tp + conf.fn;
  result->predicted_voxels = conf.tp + conf.fp;
  return TRUE;
}

static gboolean
evaluate_case_net (BsUnet *net, const BsTrainCase *c, int threads, gboolean flips, BsVolume *pred,
                   BsTrainCaseResult *result, GError **error)
{
  g_autoptr(BsTrainGraph) g = NULL;

  omp_set_num_threads (threads > 0 ? threads : bs_runtime_auto_threads (bs_cpu_cores ()));
  g = bs_train_graph_new (net, BS_TRAIN_EVAL_BATCH, (c->sh + 15) / 16 * 16, (c->sw + 15) / 16 * 16,
                          error);
  return g && evaluate_case (g, c, flips, pred, result, error);
}

gboolean
bs_train_evaluate_case (BsUnet *net, BsTrainSet *set, guint i, int threads, gboolean flips,
                        BsTrainCaseResult *result, GError **error)
{
  return evaluate_case_net (net, g_ptr_array_index (set->cases, i), threads, flips, NULL, result, error);
}

/* ---- figures ---- */

gboolean
bs_train_check_figures_dir (const char *dir, GError **error)
{
  g_autofree char *probe = g_build_filename (dir, ".brainseg-probe-XXXXXX", NULL);
  int fd;

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   g_file_test (dir, G_FILE_TEST_EXISTS) ? _("%s: not a folder; --figures needs an existing folder")
                                                         : _("%s: no such folder; create it first for --figures"),
                   dir);
      return FALSE;
    }
  fd = g_mkstemp (probe);
  if (fd < 0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("%s: cannot write figures here (%s)"), dir,
                   g_strerror (errno));
      return FALSE;
    }
  close (fd);
  g_unlink (probe);
  return TRUE;
}

/* The axial slice with the most tumour in the truth (or, with no tumour, in
 * the prediction; else the middle one) and the slices `step` before and
 * after it, in order, without repeats. */
static int
figure_slices (const BsTrainCase *c, const BsVolume *pred, int step, int out[3])
{
  int n = bs_volume_n_slices (c->truth, BS_PLANE_AXIAL), best = n / 2, n_out = 0;
  gsize pix = (gsize) c->sw * c->sh;
  g_autofree float *plane = g_new (float, pix);

  for (int pass = 0; pass < 2; pass++)
    {
      gsize most = 0;
      for (int z = 0; z < n; z++)
        {
          gsize count = 0;
          bs_volume_get_slice (pass == 0 ? c->truth : pred, 0, BS_PLANE_AXIAL, z, plane);
          for (gsize p = 0; p < pix; p++)
            count += plane[p] > 0.5f;
          if (count > most)
            {
              most = count;
              best = z;
            }
        }
      if (most > 0)
        break;
    }
  for (int k = -1; k <= 1; k++)
    {
      int z = CLAMP (best + k * step, 0, n - 1);
      if (n_out == 0 || out[n_out - 1] != z)
        out[n_out++] = z;
    }
  return n_out;
}

static gboolean
write_figures (const BsTrainCase *c, const BsVolume *pred, const char *dir, int *n_written, GError **error)
{
  BsExportSource src = { 0 };
  BsOverlayOptions ov;
  g_autoptr(BsVolume) shown = bs_volume_new_like (c->image, 1);
  const float *in = bs_volume_channel (c->image, 0);
  gsize nvox = bs_volume_n_voxels (c->image);
  int slices[3], n;

  /* The network input is z-scored with the background at exactly 0. The
   * window already leaves 0 out, but 0 lies inside it and would show as
   * mid-grey: draw the background at the window's bottom (black), as the
   * window shows raw images. */
  bs_overlay_options_init (&ov);
  bs_auto_window_volume (c->image, 0, &ov.lo, &ov.hi);
  for (gsize v = 0; v < nvox; v++)
    shown->data[v] = in[v] != 0.0f ? in[v] : ov.lo;
  src.image = shown;
  src.channel = 0;
  src.pred = pred;
  src.truth = c->truth;
  src.plane = BS_PLANE_AXIAL;
  src.case_id = c->id;
  n = figure_slices (c, pred, 10, slices);
  for (int i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s-axial-%03d.png", c->id, slices[i]);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (!bs_export_figure_png (&src, slices[i], &ov, 0, 0, path, error))
        return FALSE;
      (*n_written)++;
    }
  return TRUE;
}

/* ---- validation ---- */

typedef struct {
  int n;
  float *input, *target, *probs;
} ValSet;

static void
val_pick (GArray *from, int want, GArray *to)
{
  if (want >= (int) from->len)
    {
      g_array_append_vals (to, from->data, from->len);
      return;
    }
  for (int k = 0; k < want; k++)
    {
      guint idx = (guint) (((gsize) k * from->len) / want);
      g_array_append_val (to, g_array_index (from, BsTrainSliceRef, idx));
    }
}

/* Fixed validation slices (centre crops, no augmentation): tumour and healthy
 * slices evenly spaced through the cases, half and half when capped. */
static void
val_build (BsTrainSet *set, BsTrainSplit split, int cap, int crop, int nch, ValSet *v)
{
  g_autoptr(GArray) tumour = g_array_new (FALSE, FALSE, sizeof (BsTrainSliceRef));
  g_autoptr(GArray) other = g_array_new (FALSE, FALSE, sizeof (BsTrainSliceRef));
  g_autoptr(GArray) pick = g_array_new (FALSE, FALSE, sizeof (BsTrainSliceRef));
  gsize pix = (gsize) crop * crop;

  bs_train_slice_list_build (set, split, tumour, other);
  if (cap <= 0 || (int) (tumour->len + other->len) <= cap)
    {
      val_pick (tumour, tumour->len, pick);
      val_pick (other, other->len, pick);
    }
  else
    {
      int nt = MIN ((int) tumour->len, cap / 2 + cap % 2);
      val_pick (tumour, nt, pick);
      val_pick (other, cap - nt, pick);
    }
  v->n = pick->len;
  v->input = g_new (float, MAX (v->n, 1) * nch * pix);
  v->target = g_new (float, MAX (v->n, 1) * pix);
  v->probs = g_new (float, MAX (v->n, 1) * pix);
  for (int i = 0; i < v->n; i++)
    bs_train_fill_slice (&g_array_index (pick, BsTrainSliceRef, i), crop, NULL, NULL,
                         v->input + (gsize) i * nch * pix, v->target + (gsize) i * pix);
}

static void
val_clear (ValSet *v)
{
  g_free (v->input);
  g_free (v->target);
  g_free (v->probs);
  memset (v, 0, sizeof *v);
}

static gboolean
val_run (BsTrainGraph *g, const ValSet *v, int nch, BsTrainLoss loss, double weight_dice, double *val_loss,
         double *val_dice, GError **error)
{
  int batch, h, w;
  gsize pix;

  bs_train_graph_get_size (g, &batch, &h, &w);
  pix = (gsize) h * w;
  for (int first = 0; first < v->n; first += batch)
    {
      int n = MIN (batch, v->n - first);
      if (!bs_train_graph_forward (g, v->input + (gsize) first * nch * pix, n, FALSE, v->probs + first * pix, error))
        return FALSE;
    }
  *val_loss = bs_train_loss (loss, weight_dice, v->probs, v->target, v->n * pix, NULL);
  *val_dice = bs_dice (v->probs, v->target, v->n * pix);
  return TRUE;
}

/* ---- progress ---- */

typedef struct {
  FILE *out;
  gboolean tty;
  double start_ms;
  int total_steps;
  int done_steps;
  double last_val_dice;
} Progress;

static void
format_duration (double s, char *buf, gsize len)
{
  int t = (int) (s + 0.5);

  if (t >= 3600)
    g_snprintf (buf, len, "%d:%02d:%02d", t / 3600, (t / 60) % 60, t % 60);
  else
    g_snprintf (buf, len, "%02d:%02d", t / 60, t % 60);
}

static void
progress_step (Progress *p, int epoch, int epochs, int step, int steps, double loss)
{
  double t0 = bs_now_ms (), elapsed = (t0 - p->start_ms) / 1000.0;
  double eta = p->done_steps > 0 ? elapsed / p->done_steps * (p->total_steps - p->done_steps) : 0.0;
  char eta_s[32], val_s[32];

  if (!p->out)
    return;
  format_duration (eta, eta_s, sizeof eta_s);
  if (isnan (p->last_val_dice))
    g_strlcpy (val_s, "  -  ", sizeof val_s);
  else
    g_snprintf (val_s, sizeof val_s, "%.3f", p->last_val_dice);
  if (p->tty)
    {
      char bar[21];
      int fill = steps > 0 ? step * 20 / steps : 20;
      for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
      bar[20] = 0;
      fprintf (p->out, _("\rEpoch %d/%d [%s] step %d/%d  ETA %s  loss %.4f  val Dice %s "), epoch, epochs, bar,
               step, steps, eta_s, loss, val_s);
      fflush (p->out);
    }
  else if (step == steps || step % MAX (1, steps / 4) == 0)
    {
      fprintf (p->out, _("epoch %d/%d step %d/%d  ETA %s  loss %.4f  val Dice %s\n"), epoch, epochs, step, steps,
               eta_s, loss, val_s);
      fflush (p->out);
    }
}

static void
progress_epoch (Progress *p, int epoch, int epochs, double train_loss, double val_loss, double val_dice,
                double epoch_s, gboolean best, int mean_count)
{
  g_autofree char *mark = NULL;

  if (!p->out)
    return;
  if (p->tty)
    fputc ('\n', p->out);
  if (mean_count > 0)
    mark = g_strdup_printf (_("  (mean of epochs %d-%d, saved)"), epoch - mean_count + 1, epoch);
  fprintf (p->out, _("epoch %d/%d done in %.0f s: train loss %.4f  val loss %.4f  val Dice %.3f%s\n"), epoch, epochs,
           epoch_s, train_loss, val_loss, val_dice, mark ? mark : best ? _("  (best, saved)") : "");
  fflush (p->out);
}

/* ---- the loop ---- */

/* continuing: opts->resume is a training state, whose run must keep its modalities. */
static BsUnet *
initial_net (BsTrainSet *set, const BsTrainOptions *opts, gboolean continuing, GError **error)
{
  int nch = (int) g_strv_length (set->modalities);
  BsUnetConfig cfg = { 0 };
  BsUnet *net;

  if (opts->resume)
    {
      net = bs_unet_load_h5 (opts->resume, error);
      if (!net)
        return NULL;
      if (net->config.in_channels != nch)
        {
          g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                       _("%s takes %d input channels but %d modalities were asked for"), opts->resume,
                       net->config.in_channels, nch);
          bs_unet_free (net);
          return NULL;
        }
      if (net->config.upsample != BS_UPSAMPLE_TRANSPOSED)
        {
          g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                       _("%s uses nearest upsampling, which the trainer cannot train"), opts->resume);
          bs_unet_free (net);
          return NULL;
        }
      if (continuing && net->config.modalities
          && !g_strv_equal ((const char *const *) net->config.modalities, (const char *const *) set->modalities))
        {
          g_autofree char *was = g_strjoinv (",", net->config.modalities);
          g_autofree char *now = g_strjoinv (",", set->modalities);
          g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                       _("%s continues a run on the modalities %s, not %s; give --modalities %s"), opts->resume,
                       was, now, was);
          bs_unet_free (net);
          return NULL;
        }
    }
  else
    {
      cfg.fms = opts->fms;
      cfg.in_channels = nch;
      cfg.upsample = BS_UPSAMPLE_TRANSPOSED;
      net = bs_unet_new_random (&cfg, opts->seed);
    }
  g_strfreev (net->config.modalities);
  net->config.modalities = g_strdupv (set->modalities);
  g_free (net->config.normalisation);
  net->config.normalisation = g_strdup ("zscore-foreground");
  net->config.crop = opts->crop;
  return net;
}

/* The case ids of each split, as a checkpoint records them. */
static void
split_ids (BsTrainSet *set, char **ids[3])
{
  for (int k = 0; k < 3; k++)
    {
      g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
      for (guint i = 0; i < set->cases->len; i++)
        if ((int) bs_train_set_get_case_split (set, i) == k)
          g_strv_builder_add (b, bs_train_set_get_case_id (set, i));
      ids[k] = g_strv_builder_end (b);
    }
}

static gboolean
same_split (const char *path, char **was[3], char **now[3], GError **error)
{
  static const char *const names[] = { N_("training"), N_("validation"), N_("test") };

  for (int k = 0; k < 3; k++)
    if (!g_strv_equal ((const char *const *) was[k], (const char *const *) now[k]))
      {
        g_autofree char *a = g_strjoinv (" ", was[k]);
        g_autofree char *b = g_strjoinv (" ", now[k]);
        g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                     _("%s continues a run whose %s cases were [%s], not [%s]; give the same datasets and case "
                       "lists as that run"),
                     path, _(names[k]), a, b);
        return FALSE;
      }
  return TRUE;
}

void
bs_train_options_apply_state (BsTrainOptions *o, const BsTrainOptions *from)
{
  o->crop = from->crop;
  o->batch = from->batch;
  o->lr = from->lr;
  o->loss = from->loss;
  o->weight_dice = from->weight_dice;
  o->seed = from->seed;
  o->split = from->split;
  o->steps_per_epoch = from->steps_per_epoch;
  o->dropout = from->dropout;
  o->val_slices = from->val_slices;
  o->augment = from->augment;
  o->core_flair_aug = from->core_flair_aug;
  o->intensity_jitter = from->intensity_jitter;
  o->average_from = from->average_from;
  o->modality_dropout = from->modality_dropout;
  o->bias_field = from->bias_field;
  o->folds = from->folds;
  o->fold = from->fold;
}

gboolean
bs_train_run (BsTrainSet *set, const BsTrainOptions *opts, FILE *out, BsTrainReport *report,
              GCancellable *cancellable, GError **error)
{
  BsTrainOptions o = *opts;
  int nch = (int) g_strv_length (set->modalities), crop, batch;
  gsize pix;
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(BsUnet) best = NULL;
  g_autoptr(BsUnet) mean = NULL;     /* running mean of the end-of-epoch weights, once averaging */
  g_autoptr(BsUnet) current = NULL;  /* net's own weights while net holds the mean for validation */
  g_autoptr(BsTrainGraph) g = NULL;
  g_autoptr(BsAdam) adam = NULL;
  g_autofree float *input = NULL;
  g_autofree float *target = NULL;
  g_autofree char *state_path = NULL;
  BsTrainSampler sampler = { 0 };
  BsTrainState st = { 0 };
  ValSet val = { 0 };
  Progress prog = { 0 };
  int steps_per_epoch, wait = 0, start_epoch = 0, mean_count = 0;
  double t0, t_train, t_vis = 0.0;
  gboolean ok = FALSE, resuming = FALSE, saved_out = FALSE;

  if (!opts->out)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("No output file for the trained weights"));
      return FALSE;
    }
  if (opts->figures && !bs_train_check_figures_dir (opts->figures, error))
    return FALSE;
  if (opts->resume)
    {
      if (!bs_train_state_load (opts->resume, &resuming, &st, NULL, NULL, NULL, NULL, NULL, NULL, error))
        return FALSE;
      if (resuming)
        bs_train_options_apply_state (&o, &st.opts);
    }
  st.opts = o;
  st.opts.resume = st.opts.out = st.opts.figures = NULL;
  crop = o.crop;
  batch = o.batch;
  pix = (gsize) crop * crop;
  if (crop <= 0 || crop % 16 != 0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("The crop must be a positive multiple of 16 (128 or 144), not %d"), crop);
      goto out;
    }
  if (batch < 1 || o.epochs < 0 || o.lr <= 0.0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                   _("Batch, epochs and learning rate must be positive"));
      goto out;
    }
  {
    char **now[3];
    gboolean same = TRUE;
    split_ids (set, now);
    if (resuming)
      same = same_split (opts->resume, st.case_ids, now, error);
    for (int k = 0; k < 3; k++)
      {
        g_strfreev (st.case_ids[k]);
        st.case_ids[k] = now[k];
      }
    if (!same)
      goto out;
  }
  if (!bs_train_set_check_modalities (set, error))
    goto out;
  /* 0: the cores other programs leave free, judged once at the start. */
  omp_set_num_threads (o.threads > 0 ? o.threads : bs_runtime_auto_threads (bs_cpu_cores ()));
  if (!report->test)
    report->test = g_array_new (FALSE, TRUE, sizeof (BsTrainCaseResult));
  state_path = bs_train_state_path_for (opts->out);

  t0 = bs_now_ms ();
  bs_train_sampler_init (&sampler, set, o.seed);
  sampler.aug = (BsTrainAug) { .offset_ratio = BS_TRAIN_OFFSET_RATIO, .core_flair_p = o.core_flair_aug,
                               .jitter = o.intensity_jitter, .modality_dropout = o.modality_dropout,
                               .bias_field = o.bias_field };
  if (sampler.n_total == 0)
    {
      g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("The training cases have no slices with brain"));
      goto out;
    }
  val_build (set, BS_TRAIN_SPLIT_VALIDATION, o.val_slices, crop, nch, &val);
  if (val.n == 0)
    {
      /* Too few cases for a validation split: select on training slices. */
      val_clear (&val);
      val_build (set, BS_TRAIN_SPLIT_TRAIN, o.val_slices, crop, nch, &val);
      if (out)
        fprintf (out, "%s\n", _("No validation cases: the checkpoint is chosen on training slices."));
    }
  bs_timing_add_stage (&report->stages, "stratification", bs_now_ms () - t0);

  t_train = bs_now_ms ();
  net = initial_net (set, &o, resuming, error);
  if (!net)
    goto out;
  g = bs_train_graph_new (net, batch, crop, crop, error);
  if (!g)
    goto out;
  bs_train_graph_set_dropout (g, o.dropout, o.seed);
  adam = bs_adam_new (net, o.lr);
  report->best_val_loss = INFINITY;
  report->best_epoch = 0;
  if (resuming)
    {
      BsTrainState full;
      gboolean found;

      best = bs_unet_copy (net);
      mean = bs_unet_copy (net);
      if (!bs_train_state_load (opts->resume, &found, &full, net, adam, best, mean, &sampler, set, error))
        goto out;
      mean_count = full.mean_count;
      if (mean_count == 0)
        g_clear_pointer (&mean, bs_unet_free);
      bs_adam_set_step (adam, full.steps);
      bs_train_graph_set_rng_state (g, full.dropout_rng);
      sampler.rand.state = full.sampler_rng;
      sampler.pos_tumour = full.pos_tumour;
      sampler.pos_other = full.pos_other;
      start_epoch = full.epoch;
      wait = full.bad_epochs;
      report->resumed_epoch = full.epoch;
      report->epochs_run = full.epoch;
      report->steps = full.steps;
      report->best_epoch = full.best_epoch;
      report->best_val_loss = full.best_val_loss;
      report->best_val_dice = full.best_val_dice;
      report->first_train_loss = full.first_train_loss;
      report->last_train_loss = full.last_train_loss;
      g_free (best->description);
      best->description = g_steal_pointer (&full.best_description);
      bs_train_state_clear (&full);
      if (out && o.epochs > start_epoch)
        fprintf (out, _("Resuming %s after epoch %d (step %d) with the options it was started with; "
                        "training up to epoch %d.\n"),
                 opts->resume, start_epoch, report->steps, o.epochs);
      else if (out)
        fprintf (out, _("%s already did %d epochs; nothing to train (give a larger --epochs to continue).\n"),
                 opts->resume, start_epoch);
    }
  else if (opts->resume && out)
    fprintf (out, _("%s holds weights but no training state: fine-tuning from them, starting at epoch 1 with a "
                    "fresh optimiser.\n"),
             opts->resume);
  input = g_new (float, (gsize) batch * nch * pix);
  target = g_new (float, (gsize) batch * pix);
  steps_per_epoch = o.steps_per_epoch > 0 ? o.steps_per_epoch : (int) ((sampler.n_total + batch - 1) / batch);

  prog.out = out;
  prog.tty = o.progress_tty;
  prog.start_ms = bs_now_ms ();
  prog.total_steps = steps_per_epoch * MAX (0, o.epochs - start_epoch);
  prog.last_val_dice = NAN;
  if (out)
    fprintf (out, _("Training on %u slices (%u with tumour), validating on %d; %d steps of %d per epoch\n"),
             sampler.n_total, sampler.tumour->len, val.n, steps_per_epoch, batch);

  if (o.epochs == 0 && !resuming)
    {
      double vl, vd;
      if (!val_run (g, &val, nch, o.loss, o.weight_dice, &vl, &vd, error))
        goto out;
      report->best_val_loss = vl;
      report->best_val_dice = vd;
      best = bs_unet_copy (net);
    }
  if (resuming && o.patience > 0 && wait >= o.patience)
    {
      if (out)
        fprintf (out, _("No better validation loss for %d epochs: stopping early.\n"), wait);
      start_epoch = o.epochs;
    }

  for (int epoch = start_epoch + 1; epoch <= o.epochs; epoch++)
    {
      double sum = 0.0, e0 = bs_now_ms (), val_loss, val_dice;
      gboolean improved;

      for (int step = 1; step <= steps_per_epoch; step++)
        {
          double loss;

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            goto out;
          bs_train_sampler_next (&sampler, batch, crop, o.augment, input, target, nch);
          if (!bs_train_graph_forward (g, input, batch, TRUE, NULL, error)
              || !bs_train_graph_backward (g, target, batch, o.loss, o.weight_dice, &loss, error))
            goto out;
          if (!isfinite (loss))
            {
              g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA,
                           _("The loss diverged at epoch %d step %d; try a lower learning rate"), epoch, step);
              goto out;
            }
          bs_adam_step (adam, net, g);
          sum += loss;
          report->steps++;
          prog.done_steps++;
          progress_step (&prog, epoch, o.epochs, step, steps_per_epoch, sum / step);
        }
      sum /= steps_per_epoch;
      if (epoch == 1)
        report->first_train_loss = sum;
      report->last_train_loss = sum;
      report->epochs_run = epoch;

      if (o.average_from > 0 && epoch >= o.average_from)
        {
          /* From here on the candidates for the best checkpoint are running
           * means of the weights, compared only with each other. */
          if (mean_count++ == 0)
            {
              mean = bs_unet_copy (net);
              if (out)
                fprintf (out, _("From epoch %d on, the weights validated and saved are the mean of those at the end "
                                "of every epoch since.\n"), epoch);
            }
          else
            bs_unet_mean_update (mean, net, mean_count);
          /* The graph reads net's arrays: validate the mean through them. */
          if (!current)
            current = bs_unet_copy (net);
          else
            bs_unet_copy_weights (current, net);
          bs_unet_copy_weights (net, mean);
        }
      if (!val_run (g, &val, nch, o.loss, o.weight_dice, &val_loss, &val_dice, error))
        goto out;
      if (mean_count > 0)
        bs_unet_copy_weights (net, current);
      prog.last_val_dice = val_dice;
      /* While averaging, every epoch's mean is saved: selecting among
       * nested means by a few validation slices would only pick noise. */
      improved = mean_count > 0 || val_loss < report->best_val_loss;
      if (improved)
        {
          report->best_val_loss = val_loss;
          report->best_val_dice = val_dice;
          report->best_epoch = epoch;
          g_clear_pointer (&best, bs_unet_free);
          best = bs_unet_copy (mean_count > 0 ? mean : net);
          g_free (best->description);
          if (mean_count > 0)
            best->description = g_strdup_printf (
              "Brainseg trainer: mean of the weights after epochs %d-%d of %d, batch %d, crop %d, lr %g, loss %s, "
              "validation loss %.4f, validation Dice %.3f", epoch - mean_count + 1, epoch, o.epochs, batch, crop,
              o.lr, bs_train_loss_name (o.loss), val_loss, val_dice);
          else
            best->description = g_strdup_printf (
              "Brainseg trainer: epoch %d of %d, batch %d, crop %d, lr %g, loss %s, validation loss %.4f, "
              "validation Dice %.3f", epoch, o.epochs, batch, crop, o.lr, bs_train_loss_name (o.loss),
              val_loss, val_dice);
          if (!bs_unet_save_h5 (best, opts->out, error))
            goto out;
          saved_out = TRUE;
          wait = 0;
        }
      else
        wait++;

      /* The resumable state of this epoch, beside the best weights. */
      st.epoch = epoch;
      st.steps = report->steps;
      st.best_epoch = report->best_epoch;
      st.best_val_loss = report->best_val_loss;
      st.best_val_dice = report->best_val_dice;
      st.bad_epochs = wait;
      st.first_train_loss = report->first_train_loss;
      st.last_train_loss = report->last_train_loss;
      st.sampler_rng = sampler.rand.state;
      st.dropout_rng = bs_train_graph_get_rng_state (g);
      st.pos_tumour = sampler.pos_tumour;
      st.pos_other = sampler.pos_other;
      st.mean_count = mean_count;
      g_free (st.best_description);
      st.best_description = g_strdup (best ? best->description : NULL);
      if (!bs_train_state_save (state_path, net, best ? best : net, mean, adam, &sampler, set, &st, error))
        goto out;

      progress_epoch (&prog, epoch, o.epochs, sum, val_loss, val_dice, (bs_now_ms () - e0) / 1000.0, improved,
                      mean_count);
      if (o.patience > 0 && wait >= o.patience)
        {
          if (out)
            fprintf (out, _("No better validation loss for %d epochs: stopping early.\n"), wait);
          break;
        }
    }
  if (!best)
    best = bs_unet_copy (net);
  /* A resumed run that found nothing better still leaves its best weights in --out. */
  if (!saved_out && !bs_unet_save_h5 (best, opts->out, error))
    goto out;
  report->train_ms = bs_now_ms () - t_train;
  bs_timing_add_stage (&report->stages, "training", report->train_ms);

  /* Test cases through the best weights, whole volumes, full slices. */
  t0 = bs_now_ms ();
  g_clear_pointer (&g, bs_train_graph_free);
  for (guint i = 0; i < set->cases->len; i++)
    {
      const BsTrainCase *c = g_ptr_array_index (set->cases, i);
      BsTrainCaseResult r = { 0 };
      g_autoptr(BsVolume) pred = NULL;
      double v0;

      if (c->split != BS_TRAIN_SPLIT_TEST)
        continue;
      if (opts->figures)
        pred = bs_volume_new_like (c->truth, 1);
      if (!evaluate_case_net (best, c, o.threads, FALSE, pred, &r, error))
        goto out;
      g_array_append_val (report->test, r);
      if (!pred)
        continue;
      v0 = bs_now_ms ();
      if (!write_figures (c, pred, opts->figures, &report->n_figures, error))
        goto out;
      t_vis += bs_now_ms () - v0;
    }
  bs_timing_add_stage (&report->stages, "prediction", bs_now_ms () - t0 - t_vis);
  bs_timing_add_stage (&report->stages, "visualisation", t_vis);
  if (opts->figures && out)
    fprintf (out, g_dngettext (GETTEXT_PACKAGE, "Wrote %d figure to %s\n", "Wrote %d figures to %s\n",
                               report->n_figures),
             report->n_figures, opts->figures);
  ok = TRUE;

out:
  bs_train_sampler_clear (&sampler);
  bs_train_state_clear (&st);
  val_clear (&val);
  return ok;
}

void
bs_train_report_print (const BsTrainReport *report, FILE *out)
{
  static const char *const order[] = {
    "data loading", "preprocessing", "stratification", "training", "prediction", "visualisation",
  };
  static const char *const labels[] = {
    N_("data loading"), N_("preprocessing"), N_("stratification"), N_("training"), N_("prediction"),
    N_("visualisation"),
  };
  double total = 0.0;

  fprintf (out, "\n%-18s %12s\n", _("Stage"), _("Wall time (s)"));
  for (gsize i = 0; i < G_N_ELEMENTS (order); i++)
    {
      double ms = bs_timing_stage_ms (&report->stages, order[i]);
      total += ms;
      fprintf (out, "%-18s %12.1f\n", _(labels[i]), ms / 1000.0);
    }
  fprintf (out, "%-18s %12.1f\n", _("total"), total / 1000.0);
  if (report->epochs_run > 0)
    fprintf (out, _("\n%d epochs, %d steps; best epoch %d: validation loss %.4f, validation Dice %.3f\n"),
             report->epochs_run, report->steps, report->best_epoch, report->best_val_loss, report->best_val_dice);
  if (report->test && report->test->len > 0)
    {
      fprintf (out, "\n%-28s %8s %8s %14s %14s\n", _("Test case"), _("Dice"), _("raw"), _("truth voxels"),
               _("predicted"));
      for (guint i = 0; i < report->test->len; i++)
        {
          const BsTrainCaseResult *r = &g_array_index (report->test, BsTrainCaseResult, i);
          fprintf (out, "%-28s %8.4f %8.4f %14" G_GSIZE_FORMAT " %14" G_GSIZE_FORMAT "\n", r->id, r->dice, r->dice_raw,
                   r->truth_voxels, r->predicted_voxels);
        }
    }
}
