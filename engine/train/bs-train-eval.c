/* Evaluation: the fixed validation slices of every epoch, and whole-volume
 * Dice of the test cases (with their figures) at the end of a run. */
#include <glib/gi18n.h>
#include <math.h>
#include <omp.h>
#include <string.h>

#include "bs-error.h"
#include "bs-infer.h"
#include "bs-export.h"
#include "bs-metrics.h"
#include "bs-postprocess.h"
#include "bs-preprocess.h"
#include "bs-plan.h"
#include "bs-runtime.h"
#include "bs-segment.h"
#include "bs-train-private.h"

#define BS_TRAIN_EVAL_BATCH 4

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

/* Dice of region r's nested mask against the case's truth bits. */
static double
region_dice (const BsTrainCase *c, BsRegion r, const float *mask, gsize n)
{
  BsConfusion conf = { 0 };

  for (gsize v = 0; v < n; v++)
    {
      gboolean p = mask[v] > 0.5f, t = (c->regions[v] >> r) & 1;
      conf.tp += p && t;
      conf.fp += p && !t;
      conf.fn += !p && t;
      conf.tn += !p && !t;
    }
  return bs_confusion_dice (&conf);
}

/* The network's probabilities of slices [k_begin, k_end) of plane, written
 * into vols (one volume per output, the case's geometry). */
static gboolean
evaluate_plane (const BsUnet *net, const BsTrainCase *c, BsPlane plane, int lanes, gboolean flips, GPtrArray *vols,
                int k_begin, int k_end, GError **error)
{
  int batch, ph, pw, w, h, nch = c->image->n_channels, n_out = net->config.out_channels;
  int slots = 1 + 2 * net->config.context, nin = nch * slots;
  int n_slices = bs_volume_n_slices (c->image, plane);
  gsize pix;
  g_autoptr(BsTrainGraph) g = NULL;
  g_autofree float *input = NULL;
  g_autofree float *probs = NULL;
  g_autofree float *slice = NULL;
  g_autofree float *pred = NULL;

  bs_volume_slice_size (c->image, plane, &w, &h);
  g = bs_train_graph_new_lanes ((BsUnet *) net, BS_TRAIN_EVAL_BATCH, (h + 15) / 16 * 16, (w + 15) / 16 * 16, lanes,
                                error);
  if (g == NULL)
    return FALSE;
  slice = g_new (float, (gsize) w * h);
  pred = g_new (float, (gsize) w * h);
  bs_train_graph_get_size (g, &batch, &ph, &pw);
  pix = (gsize) ph * pw;
  input = g_new (float, batch * nin * pix);
  probs = g_new (float, batch * n_out * pix);
  for (int first = k_begin; first < k_end; first += batch)
    {
      int n = MIN (batch, k_end - first);

      for (int b = 0; b < n; b++)
        for (int s = 0; s < slots; s++)
          for (int k = 0; k < nch; k++)
            {
              bs_volume_get_slice (c->image, k, plane, bs_infer_context_slice (first + b, s, n_slices), slice);
              centre (slice, w, h, input + ((gsize) b * nin + s * nch + k) * pix, pw, ph);
            }
      if (!bs_train_graph_forward (g, input, n, FALSE, probs, error))
        return FALSE;
      if (flips)
        {
          g_autofree float *mirrored = g_new (float, (gsize) n * MAX (nin, n_out) * pix);
          g_autofree float *mprobs = g_new (float, (gsize) n * n_out * pix);

          bs_preprocess_flip_x (input, mirrored, (gsize) n * nin, ph, pw);
          if (!bs_train_graph_forward (g, mirrored, n, FALSE, mprobs, error))
            return FALSE;
          bs_preprocess_flip_x (mprobs, mirrored, (gsize) n * n_out, ph, pw);
          for (gsize p = 0; p < (gsize) n * n_out * pix; p++)
            probs[p] = 0.5f * (probs[p] + mirrored[p]);
        }
      for (int b = 0; b < n; b++)
        for (int k = 0; k < n_out; k++)
          {
            BsVolume *v = g_ptr_array_index (vols, k);

            centre (probs + ((gsize) b * n_out + k) * pix, pw, ph, pred, w, h);
            bs_volume_set_slice (v, 0, plane, first + b, pred);
          }
    }
  return TRUE;
}

/* As bs_segment_finish cleans the regions up: the core (core_mask, nested
 * in the cleaned whole tumour wt) gets its holes filled inside wt; the
 * enhancing tumour (into enh_mask, from et_prob; NULL without that output)
 * is nested in the filled core; the core is then kept near it.  FALSE when
 * memory runs out. */
static gboolean
clean_core (const BsVolume *wt, const float *et_prob, float *core_mask, float *enh_mask)
{
  gsize n = bs_volume_n_voxels (wt);
  g_autoptr(BsVolume) core = bs_volume_new_like (wt, 1);
  g_autoptr(BsVolume) enh = NULL;

  if (core == NULL)
    return FALSE;
  memcpy (core->data, core_mask, n * sizeof (float));
  if (!bs_volume_fill_plane_holes (core, wt, NULL))
    return FALSE;
  if (et_prob != NULL)
    {
      if (!(enh = bs_volume_new_like (wt, 1)))
        return FALSE;
      for (gsize v = 0; v < n; v++)
        enh_mask[v] = enh->data[v] = et_prob[v] > 0.5f && core->data[v] > 0.5f ? 1.0f : 0.0f;
      if (!bs_volume_trim_core (core, enh, BS_CORE_TRIM_RADIUS_MM, BS_CORE_TRIM_MIN_SHARE, NULL))
        return FALSE;
    }
  memcpy (core_mask, core->data, n * sizeof (float));
  return TRUE;
}

/* pred (one channel, the case's geometry) receives the whole-tumour
 * probabilities when not NULL.  With three_planes the network runs on the
 * axial, coronal and sagittal slices and the three are averaged, as
 * bs_segment_average_planes does (where the voxels suit it:
 * bs_segment_planes_suit). */
static gboolean
evaluate_case (const BsUnet *net, const BsTrainCase *c, int lanes, gboolean flips, gboolean three_planes,
               BsVolume *pred_vol,
               BsTrainCaseResult *result, GError **error)
{
  int nch = c->image->n_channels, n_out = net->config.out_channels;
  g_autoptr(GPtrArray) vols = g_ptr_array_new_with_free_func ((GDestroyNotify) bs_volume_free);
  BsVolume *prob;
  BsConfusion conf = { 0 };
  int lo[3], hi[3];

  for (int k = 0; k < n_out; k++)
    g_ptr_array_add (vols, bs_volume_new_like (c->truth, 1));
  if (!evaluate_plane (net, c, BS_PLANE_AXIAL, lanes, flips, vols, 0, bs_volume_n_slices (c->image, BS_PLANE_AXIAL),
                       error))
    return FALSE;
  /* the coronal and sagittal slices through the tumour's box, summed in the
   * same order as the pipeline's */
  if (three_planes && bs_segment_planes_suit (c->image, BS_PLANE_AXIAL, NULL)
      && bs_segment_planes_box (g_ptr_array_index (vols, 0), lo, hi))
    {
      g_autoptr(GPtrArray) other = g_ptr_array_new_with_free_func ((GDestroyNotify) bs_volume_free);

      for (int k = 0; k < n_out; k++)
        g_ptr_array_add (other, bs_volume_new_like (c->truth, 1));
      for (int p = BS_PLANE_CORONAL; p <= BS_PLANE_SAGITTAL; p++)
        {
          int n = bs_volume_n_slices (c->image, (BsPlane) p), k0 = n, k1 = 0;
          g_autofree guint8 *selected = g_new (guint8, MAX (n, 1));

          bs_segment_planes_slices (c->image, (BsPlane) p, lo, hi, selected);
          for (int k = 0; k < n; k++)
            if (selected[k])
              k0 = MIN (k0, k), k1 = k + 1;
          if (!evaluate_plane (net, c, (BsPlane) p, lanes, flips, other, k0, MAX (k0, k1), error))
            return FALSE;
          for (int k = 0; k < n_out; k++)
            bs_segment_planes_add (g_ptr_array_index (vols, k), g_ptr_array_index (other, k), lo, hi);
        }
      for (int k = 0; k < n_out; k++)
        bs_segment_planes_add (g_ptr_array_index (vols, k), NULL, lo, hi);
    }
  /* as every inference path does */
  for (int k = 0; k < n_out; k++)
    {
      BsVolume *v = g_ptr_array_index (vols, k);
      bs_infer_zero_outside_head (c->image->data, nch, bs_volume_n_voxels (v), v->data);
    }
  /* Output 0 is the whole tumour (bs_unet_parse_outputs puts it first). */
  prob = g_ptr_array_index (vols, 0);
  bs_confusion_add (&conf, prob->data, c->truth->data, bs_volume_n_voxels (prob));
  result->dice_raw = bs_confusion_dice (&conf);
  /* the same clean-up as brainseg-cli infer and the window (the core's holes and trimming below) */
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
  for (int r = 0; r < BS_N_REGIONS; r++)
    result->region_dice[r] = NAN;
  result->region_dice[BS_REGION_WT] = result->dice;
  if (n_out > 1 && c->regions)
    {
      /* The pipeline's nesting (bs_regions_from_probs) on the cleaned whole
       * tumour: the core inside it, enhancing tumour inside the core. */
      const float *probs[BS_N_REGIONS] = { prob->data, NULL, NULL };
      gsize n = bs_volume_n_voxels (prob);
      g_autofree float *masks = g_new (float, 2 * n);

      for (int k = 1; k < n_out; k++)
        for (int r = 1; r < BS_N_REGIONS; r++)
          if (g_strcmp0 (net->config.outputs[k], bs_region_name (r)) == 0)
            probs[r] = ((const BsVolume *) g_ptr_array_index (vols, k))->data;
      bs_regions_from_probs (probs, n, NULL, masks, masks + n);
      if (probs[BS_REGION_TC] != NULL && !clean_core (prob, probs[BS_REGION_ET], masks, masks + n))
        {
          g_set_error (error, BS_TRAIN_ERROR, BS_TRAIN_ERROR_DATA, _("%s: out of memory for the island clean-up"),
                       c->id);
          return FALSE;
        }
      for (int r = 1; r < BS_N_REGIONS; r++)
        if (probs[r] != NULL)
          result->region_dice[r] = region_dice (c, r, masks + (gsize) (r - 1) * n, n);
    }
  return TRUE;
}

static gboolean
evaluate_case_net (BsUnet *net, const BsTrainCase *c, int threads, int lanes, gboolean flips, gboolean three_planes,
                   BsVolume *pred, BsTrainCaseResult *result, GError **error)
{
  omp_set_num_threads (threads > 0 ? threads : bs_runtime_auto_threads (bs_cpu_cores ()));
  return evaluate_case (net, c, lanes, flips, three_planes, pred, result, error);
}

gboolean
bs_train_evaluate_case (BsUnet *net, BsTrainSet *set, guint i, int threads, int lanes, gboolean flips,
                        gboolean three_planes,
                        BsTrainCaseResult *result, GError **error)
{
  return evaluate_case_net (net, g_ptr_array_index (set->cases, i), threads, lanes, flips, three_planes, NULL, result,
                            error);
}

/* ---- figures ---- */

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

void
bs_train_val_build (BsTrainSet *set, BsTrainSplit split, int cap, int crop, int nch, int context,
                    const BsTrainOutputs *outputs, BsTrainValSet *v)
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
  v->outputs = *outputs;
  nch *= 1 + 2 * context;
  v->input = g_new (float, MAX (v->n, 1) * nch * pix);
  v->target = g_new (float, MAX (v->n, 1) * outputs->n * pix);
  v->valid = g_new (float, MAX (v->n, 1) * outputs->n);
  v->probs = g_new (float, MAX (v->n, 1) * outputs->n * pix);
  for (int i = 0; i < v->n; i++)
    bs_train_fill_slice (&g_array_index (pick, BsTrainSliceRef, i), crop, context, NULL, NULL, outputs,
                         v->input + (gsize) i * nch * pix, v->target + (gsize) i * outputs->n * pix,
                         v->valid + (gsize) i * outputs->n);
}

void
bs_train_val_clear (BsTrainValSet *v)
{
  g_free (v->input);
  g_free (v->target);
  g_free (v->valid);
  g_free (v->probs);
  memset (v, 0, sizeof *v);
}

/* Dice of output k over the slices where it is valid, as one volume. */
static double
val_output_dice (const BsTrainValSet *v, int k, gsize pix)
{
  BsConfusion conf = { 0 };
  int n_out = v->outputs.n, used = 0;

  for (int i = 0; i < v->n; i++)
    if (v->valid[(gsize) i * n_out + k] != 0.0f)
      {
        gsize at = ((gsize) i * n_out + k) * pix;
        bs_confusion_add (&conf, v->probs + at, v->target + at, pix);
        used++;
      }
  return used ? bs_confusion_dice (&conf) : NAN;
}

gboolean
bs_train_val_run (BsTrainGraph *g, const BsTrainValSet *v, int nch, BsTrainLoss loss, double weight_dice,
                  double *val_loss, double *val_dice, double *region_dice, GError **error)
{
  int batch, h, w, n_out = v->outputs.n;
  gsize pix;

  bs_train_graph_get_size (g, &batch, &h, &w);
  pix = (gsize) h * w;
  for (int first = 0; first < v->n; first += batch)
    {
      int n = MIN (batch, v->n - first);
      if (!bs_train_graph_forward (g, v->input + (gsize) first * nch * pix, n, FALSE,
                                   v->probs + (gsize) first * n_out * pix, error))
        return FALSE;
    }
  *val_loss = bs_train_loss_outputs (loss, weight_dice, bs_train_graph_get_weight_wt (g), v->probs, v->target,
                                     v->valid, v->n, n_out, pix, NULL);
  if (n_out == 1)
    *val_dice = bs_dice (v->probs, v->target, v->n * pix);
  else
    *val_dice = val_output_dice (v, 0, pix);
  if (region_dice)
    {
      for (int r = 0; r < BS_N_REGIONS; r++)
        region_dice[r] = NAN;
      region_dice[BS_REGION_WT] = *val_dice;
      for (int k = 1; k < n_out; k++)
        region_dice[v->outputs.r[k]] = val_output_dice (v, k, pix);
    }
  return TRUE;
}

/* ---- test cases ---- */

gboolean
bs_train_evaluate_tests (BsTrainSet *set, BsUnet *net, int threads, int lanes, gboolean three_planes,
                         const char *figures_dir,
                         BsTrainReport *report,
                         BsTrainProgressFunc progress, gpointer progress_data, GError **error)
{
  double t0 = bs_now_ms (), t_vis = 0.0;

  for (guint i = 0; i < set->cases->len; i++)
    {
      const BsTrainCase *c = g_ptr_array_index (set->cases, i);
      BsTrainCaseResult r = { 0 };
      g_autoptr(BsVolume) pred = NULL;
      double v0;

      if (c->split != BS_TRAIN_SPLIT_TEST)
        continue;
      if (figures_dir)
        pred = bs_volume_new_like (c->truth, 1);
      if (!evaluate_case_net (net, c, threads, lanes, FALSE, three_planes, pred, &r, error))
        return FALSE;
      g_array_append_val (report->test, r);
      if (progress)
        progress (&(BsTrainEvent) { .kind = BS_TRAIN_EVENT_TEST_CASE,
                                    .test_case.result = &g_array_index (report->test, BsTrainCaseResult,
                                                                        report->test->len - 1) },
                  progress_data);
      if (!pred)
        continue;
      v0 = bs_now_ms ();
      if (!write_figures (c, pred, figures_dir, &report->n_figures, error))
        return FALSE;
      t_vis += bs_now_ms () - v0;
    }
  bs_timing_add_stage (&report->stages, "prediction", bs_now_ms () - t0 - t_vis);
  bs_timing_add_stage (&report->stages, "visualisation", t_vis);
  if (figures_dir && progress)
    progress (&(BsTrainEvent) { .kind = BS_TRAIN_EVENT_FIGURES, .figures = { report->n_figures, figures_dir } },
              progress_data);
  return TRUE;
}
