#include "bs-compare.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bs-error.h"
#include "bs-file.h"
#include "bs-calibration.h"
#include "bs-infer.h"
#include "bs-metrics.h"
#include "bs-runtime.h"

void
bs_compare_result_free (BsCompareResult *result)
{
  if (result == NULL)
    return;
  for (int i = 0; i < result->n_rows; i++)
    g_free (result->rows[i].reason);
  g_free (result->rows);
  g_free (result->caption);
  g_free (result);
}

char *
bs_compare_format_delta (double delta)
{
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (num, sizeof num, "%.4f", fabs (delta));
  if (strcmp (num, "0.0000") == 0)
    return g_strdup ("±0.0000");
  return g_strconcat (delta < 0 ? "-" : "+", num, NULL);
}

char *
bs_compare_row_label (const BsCompareRow *row)
{
  return g_strdup_printf ("%s · %s · %s", bs_precision_name (row->precision),
                          bs_memlayout_name (row->layout), row->fusion ? "fused" : "unfused");
}

typedef struct {
  int index;
  double weight;
} SliceScore;

static int
compare_score_desc (const void *a, const void *b)
{
  const SliceScore *x = a, *y = b;

  if (x->weight != y->weight)
    return x->weight < y->weight ? 1 : -1;
  return x->index - y->index;
}

static int
compare_int (const void *a, const void *b)
{
  return *(const int *) a - *(const int *) b;
}

/* Evenly spaced slices through the middle 60 % of the volume, where the
 * brain is; the first and last slices are mostly air. */
static int
pick_middle (int n, int max, int *slices)
{
  int lo = n / 5, hi = n - 1 - n / 5, count = MIN (max, hi - lo + 1);

  for (int i = 0; i < count; i++)
    slices[i] = count == 1 ? (lo + hi) / 2 : lo + (int) ((gint64) i * (hi - lo) / (count - 1));
  return count;
}

int
bs_compare_pick_slices (const BsVolume *prepared, const BsVolume *truth, BsPlane plane,
                        int max, int *slices)
{
  int n = bs_volume_n_slices (prepared, plane), w, h, count = 0;

  if (max <= 0 || n <= 0)
    return 0;
  if (truth == NULL)
    return pick_middle (n, max, slices);

  bs_volume_slice_size (truth, plane, &w, &h);
  g_autofree float *buf = g_new (float, (gsize) w * h);
  g_autofree SliceScore *scores = g_new (SliceScore, n);
  for (int k = 0; k < n; k++)
    {
      guint64 on = 0;
      bs_volume_get_slice (truth, 0, plane, k, buf);
      for (gsize i = 0; i < (gsize) w * h; i++)
        on += buf[i] > 0.5f;
      scores[k] = (SliceScore) { k, (double) on };
    }
  qsort (scores, n, sizeof *scores, compare_score_desc);
  for (int k = 0; k < n && count < max && scores[k].weight > 0; k++)
    slices[count++] = scores[k].index;
  if (count == 0)
    return pick_middle (n, max, slices);
  qsort (slices, count, sizeof *slices, compare_int);
  return count;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

typedef struct {
  const BsUnet *net;
  const BsVolume *prepared;
  BsPlane plane;
  const BsInferGeometry *geom;
  const int *slices;
  int n, ph, pw, w, h, threads;
  const float *inputs;      /* n x C x ph x pw */
  const BsCalibration *cal;
  BsVolume *prob;           /* scratch: outputs go back into display slices through it */
} Job;

/* How many of the plan's layers run on oneDNN's reference ("ref") kernels,
 * from its description (one "  <layer> <implementation>" line per primitive). */
static int
count_reference_layers (const BsPlan *plan, int *n_layers)
{
  g_auto(GStrv) lines = g_strsplit (bs_plan_describe (plan), "\n", -1);
  int n_ref = 0;

  *n_layers = 0;
  for (int i = 1; lines[i]; i++)
    {
      g_auto(GStrv) words = g_strsplit_set (g_strstrip (lines[i]), " ", -1);
      int last = (int) g_strv_length (words) - 1;

      if (last < 1 || !(g_str_has_prefix (words[0], "encode") || g_str_has_prefix (words[0], "decode") ||
                        g_str_has_prefix (words[0], "transconv") || g_str_has_prefix (words[0], "convOut") ||
                        g_str_has_prefix (words[0], "PredictionMask")))
        continue;
      (*n_layers)++;
      n_ref += g_str_has_prefix (words[last], "ref");
    }
  return n_ref;
}

/* Runs one configuration; masks receives n x w x h display-slice masks of
 * the row->n_slices_run slices it ran (all of them with all_slices: the
 * reference, which every other row is compared with).  FALSE with error only for
 * cancellation; a configuration that cannot run becomes an unavailable row. */
static gboolean
run_config (const Job *job, BsCompareRow *row, gboolean all_slices, float *masks, GCancellable *cancellable,
            GError **error)
{
  BsPlanOptions opts;
  g_autoptr(BsPlan) plan = NULL;
  g_autoptr(GError) local = NULL;
  gsize per_in = bs_infer_slice_floats (job->prepared, job->geom);
  gsize per_px = (gsize) job->w * job->h;
  /* Every output of a region model; the comparison judges the first, the whole tumour. */
  g_autofree float *probs = g_new (float, (gsize) job->net->config.out_channels * job->ph * job->pw);
  g_autofree double *times = g_new (double, job->n);
  double spent = 0;
  int n_ref, n_layers, n = 0;

  if (!bs_precision_available (row->precision, &row->reason))
    return TRUE;
  if (row->precision == BS_PRECISION_INT8 && job->cal == NULL)
    {
      row->reason = g_strdup (_("int8 needs a calibration, and computing it failed"));
      return TRUE;
    }
  bs_plan_options_init (&opts);
  opts.precision = row->precision;
  opts.layout = row->layout;
  opts.fusion = row->fusion;
  opts.threads = job->threads;
  opts.batch = 1;
  opts.profile_layers = FALSE;
  opts.slice_parallel = FALSE;   /* one slice's latency, every thread on its primitives */
  plan = bs_plan_new (job->net, job->ph, job->pw, &opts, job->cal, &local);
  if (plan == NULL)
    {
      row->reason = g_strdup (local->message);
      return TRUE;
    }
  /* oneDNN's reference kernels take minutes per slice (int8 in plain NCHW on
   * this oneDNN): timing them would stall the whole comparison. */
  n_ref = count_reference_layers (plan, &n_layers);
  if (n_layers > 0 && 2 * n_ref > n_layers)
    {
      row->reason = g_strdup_printf (_("oneDNN has only slow reference kernels for %d of its %d layers here, so it was skipped"),
                                     n_ref, n_layers);
      return TRUE;
    }
  row->threads = bs_plan_get_threads (plan);
  /* The warm-up run pays for first-touch page faults and JIT, which would
   * otherwise land on the first timed slice. */
  if (!bs_plan_run (plan, job->inputs, 1, probs, NULL, &local))
    {
      row->reason = g_strdup (local->message);
      return TRUE;
    }
  for (int i = 0; i < job->n && (i == 0 || all_slices || spent < BS_COMPARE_BUDGET_MS); i++)
    {
      double t0;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      t0 = bs_now_ms ();
      if (!bs_plan_run (plan, job->inputs + i * per_in, 1, probs, NULL, &local))
        {
          row->reason = g_strdup (local->message);
          return TRUE;
        }
      times[i] = bs_now_ms () - t0;
      spent += times[i];
      n++;
      /* job->prob has one channel: of this one slice it takes output 0. */
      bs_infer_store_output (job->prob, job->geom, job->inputs + i * per_in, job->prepared->n_channels,
                             job->slices[i], 1, probs);
      bs_volume_get_slice (job->prob, 0, job->plane, job->slices[i], masks + i * per_px);
    }
  qsort (times, n, sizeof *times, compare_double);
  row->ms_per_slice = n % 2 ? times[n / 2] : 0.5 * (times[n / 2 - 1] + times[n / 2]);
  row->n_slices_run = n;
  row->available = TRUE;
  return TRUE;
}

BsCompareResult *
bs_compare_result_new_pending (void)
{
  static const BsPrecision precisions[] = { BS_PRECISION_FP32, BS_PRECISION_INT8, BS_PRECISION_BF16 };
  static const BsMemLayout layouts[] = { BS_MEMLAYOUT_NCHW, BS_MEMLAYOUT_NHWC, BS_MEMLAYOUT_BLOCKED };
  BsCompareResult *result = g_new0 (BsCompareResult, 1);

  result->n_rows = G_N_ELEMENTS (precisions) * G_N_ELEMENTS (layouts) * 2;
  result->rows = g_new0 (BsCompareRow, result->n_rows);
  result->reference = -1;
  for (gsize p = 0, r = 0; p < G_N_ELEMENTS (precisions); p++)
    for (gsize l = 0; l < G_N_ELEMENTS (layouts); l++)
      for (int f = 1; f >= 0; f--, r++)
        {
          BsCompareRow *row = &result->rows[r];
          row->precision = precisions[p];
          row->layout = layouts[l];
          row->fusion = f;
          row->ms_per_slice = row->dice = row->dice_delta = row->agreement = NAN;
          if (row->precision == BS_PRECISION_FP32 && row->layout == BS_MEMLAYOUT_BLOCKED && row->fusion)
            result->reference = (int) r;
        }
  return result;
}

BsCompareResult *
bs_compare_run (const BsUnet *net, const BsVolume *prepared, const BsVolume *truth,
                const BsInferGeometry *geom, const int *slices, int n_slices, int threads,
                const BsCalibration *cal,
                BsCompareProgress progress, gpointer user_data,
                GCancellable *cancellable, GError **error)
{
  g_autoptr(BsCompareResult) result = NULL;
  g_autoptr(BsCalibration) own_cal = NULL;
  g_autoptr(BsVolume) prob = NULL;
  Job job = { 0 };
  int ref = -1;
  BsPlane plane = geom->plane;

  g_return_val_if_fail (geom->context == net->config.context, NULL);
  if (n_slices <= 0)
    {
      g_set_error (error, BS_EXPORT_ERROR, BS_EXPORT_ERROR_INVALID, _("No slices to compare on"));
      return NULL;
    }
  job.net = net;
  job.prepared = prepared;
  job.plane = plane;
  job.slices = slices;
  job.n = n_slices;
  job.threads = threads > 0 ? threads : bs_runtime_auto_threads (bs_cpu_cores ());
  job.geom = geom;
  job.ph = geom->ph;
  job.pw = geom->pw;
  bs_volume_slice_size (prepared, plane, &job.w, &job.h);

  gsize per_in = bs_infer_slice_floats (prepared, geom);
  gsize per_px = (gsize) job.w * job.h;
  g_autofree float *inputs = g_new (float, per_in * n_slices);
  for (int i = 0; i < n_slices; i++)
    bs_infer_fill_slice (prepared, geom, slices[i], inputs + i * per_in);
  job.inputs = inputs;
  job.cal = cal;
  if (cal == NULL)
    {
      /* Without a calibration the int8 rows say so; the others still run. */
      own_cal = bs_calibration_new_for_case (net, prepared, geom, FALSE, NULL);
      job.cal = own_cal;
    }
  prob = bs_volume_new_like (prepared, 1);
  job.prob = prob;

  result = bs_compare_result_new_pending ();
  ref = result->reference;
  result->n_slices = n_slices;
  result->height = job.ph;
  result->width = job.pw;
  result->threads = threads;
  result->threads_used = job.threads;

  g_autofree float *ref_masks = g_new (float, per_px * n_slices);
  g_autofree float *masks = g_new (float, per_px * n_slices);
  g_autofree float *truth_px = truth ? g_new (float, per_px * n_slices) : NULL;
  for (int i = 0; truth && i < n_slices; i++)
    bs_volume_get_slice (truth, 0, plane, slices[i], truth_px + i * per_px);

  /* The reference runs first: every other row is measured against it. */
  for (int step = 0; step < result->n_rows; step++)
    {
      int r = step == 0 ? ref : step <= ref ? step - 1 : step;
      BsCompareRow *row = &result->rows[r];
      float *out = r == ref ? ref_masks : masks;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      if (!run_config (&job, row, r == ref, out, cancellable, error))
        return NULL;
      if (r == ref && !row->available)
        {
          g_set_error (error, BS_PLAN_ERROR, BS_PLAN_ERROR_DNNL,
                       _("The fp32 reference configuration failed: %s"), row->reason);
          return NULL;
        }
      if (row->available)
        {
          /* Over the slices this row ran; the reference ran them all. */
          gsize npx = per_px * row->n_slices_run;
          BsConfusion agree = { 0 };

          bs_confusion_add (&agree, out, ref_masks, npx);
          row->agreement = bs_confusion_dice (&agree);
          if (truth)
            {
              BsConfusion c = { 0 }, rc = { 0 };
              bs_confusion_add (&c, out, truth_px, npx);
              bs_confusion_add (&rc, ref_masks, truth_px, npx);
              row->dice = bs_confusion_dice (&c);
              row->dice_delta = row->dice - bs_confusion_dice (&rc);
            }
        }
      if (progress)
        progress (step + 1, result->n_rows, r, row, user_data);
    }
  return g_steal_pointer (&result);
}

static const char *
format_number (char *buf, gsize len, const char *fmt, double v)
{
  if (isnan (v))
    return "";
  return g_ascii_formatd (buf, (int) len, fmt, v);
}

char *
bs_compare_csv_text (const BsCompareResult *result)
{
  GString *csv = g_string_new ("precision,layout,fusion,available,ms_per_slice,slices,dice,dice_delta,agreement,"
                               "reason\n");

  for (int i = 0; i < result->n_rows; i++)
    {
      const BsCompareRow *row = &result->rows[i];
      char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE],
        d[G_ASCII_DTOSTR_BUF_SIZE];
      g_autofree char *reason = NULL;

      /* Quote the reason as RFC 4180 says: it is free text with commas. */
      if (row->reason)
        {
          g_auto(GStrv) parts = g_strsplit (row->reason, "\"", -1);
          g_autofree char *joined = g_strjoinv ("\"\"", parts);
          reason = g_strdup_printf ("\"%s\"", joined);
        }
      g_string_append_printf (csv, "%s,%s,%s,%s,%s,%d,%s,%s,%s,%s\n",
                              bs_precision_name (row->precision), bs_memlayout_name (row->layout),
                              row->fusion ? "on" : "off", row->available ? "yes" : "no",
                              row->available ? format_number (a, sizeof a, "%.3f", row->ms_per_slice) : "",
                              row->n_slices_run,
                              format_number (b, sizeof b, "%.6f", row->dice),
                              format_number (c, sizeof c, "%.6f", row->dice_delta),
                              format_number (d, sizeof d, "%.6f", row->agreement),
                              reason ? reason : "");
    }
  return g_string_free (csv, FALSE);
}

gboolean
bs_compare_write_csv (const BsCompareResult *result, const char *path, GError **error)
{
  g_autofree char *text = bs_compare_csv_text (result);

  return bs_file_write_atomic (path, text, strlen (text), error);
}
