/* brainseg-cli bench: the configuration matrix of the Intel tutorial (batch
 * 1 and large batches, default vs optimised, instances splitting the cores)
 * plus the plain-C reference row.  Warm-up, then median and spread. */
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bs-calibration.h"
#include "bs-plan.h"
#include "bs-runtime.h"
#include "bs-unet.h"
#include "cli.h"
#include "cli-json.h"

typedef struct {
  BsPrecision precision;
  BsMemLayout layout;
  gboolean fusion;
  int threads, batch, instances, size;
  gboolean reference;
  /* results */
  double ms_per_slice, ms_min, ms_max, slices_per_s, gflops, peak_percent;
  char *error;
} BenchRow;

typedef struct {
  BsPlan *plan;
  const float *input;
  int repeat, warmup;
  double *run_ms;  /* repeat entries */
  GError *error;
} Instance;

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof (double), cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static gpointer
instance_main (gpointer data)
{
  Instance *in = data;
  int batch;
  int h, w;
  g_autofree float *probs = NULL;

  bs_plan_get_size (in->plan, &h, &w, &batch);
  probs = g_new (float, (gsize) batch * bs_plan_get_outputs (in->plan) * h * w);
  for (int i = 0; i < in->warmup && !in->error; i++)
    bs_plan_run (in->plan, in->input, batch, probs, NULL, &in->error);
  for (int i = 0; i < in->repeat && !in->error; i++)
    {
      double t0 = bs_now_ms ();
      bs_plan_run (in->plan, in->input, batch, probs, NULL, &in->error);
      in->run_ms[i] = bs_now_ms () - t0;
    }
  return NULL;
}

/* A synthetic normalised slice: bright blobs on a brain-like disc. */
static void
synthetic_slices (float *x, int n, int c, int size)
{
  for (int s = 0; s < n; s++)
    for (int k = 0; k < c; k++)
      for (int y = 0; y < size; y++)
        for (int i = 0; i < size; i++)
          {
            double dx = (i - size * 0.5) / (size * 0.4), dy = (y - size * 0.5) / (size * 0.45);
            double r2 = dx * dx + dy * dy;
            double bx = (i - size * (0.35 + 0.05 * s)) / (size * 0.1), by = (y - size * 0.4) / (size * 0.12);
            float v = r2 < 1.0 ? (float) (0.3 * sin (i * 0.3 + k) * cos (y * 0.2) + 2.5 * exp (-(bx * bx + by * by)))
                               : 0.0f;
            x[(((gsize) s * c + k) * size + y) * size + i] = v;
          }
}

static void
run_reference (const BsUnet *net, BenchRow *row, int repeat)
{
  int size = row->size, c = bs_unet_input_channels (&net->config);
  g_autofree float *in = g_new (float, (gsize) c * size * size);
  g_autofree float *out = g_new (float, (gsize) net->config.out_channels * size * size);
  g_autofree double *t = g_new (double, repeat);

  synthetic_slices (in, 1, c, size);
  for (int i = 0; i < repeat; i++)
    {
      double t0 = bs_now_ms ();
      bs_reference_forward (net, in, 1, size, size, out);
      t[i] = bs_now_ms () - t0;
    }
  row->ms_per_slice = median (t, repeat);
  row->ms_min = t[0];
  row->ms_max = t[repeat - 1];
  row->slices_per_s = 1000.0 / row->ms_per_slice;
}

static gboolean describe, profile;

/* Per-layer times of one run (waits after every primitive) and what oneDNN picked. */
static void
print_details (BsPlan *plan, const float *input)
{
  int h, w, batch;
  g_autofree float *probs = NULL;
  BsTiming t;

  if (describe)
    fprintf (stderr, "%s", bs_plan_describe (plan));
  if (!profile)
    return;
  bs_plan_get_size (plan, &h, &w, &batch);
  probs = g_new (float, (gsize) batch * bs_plan_get_outputs (plan) * h * w);
  ((BsPlanOptions *) bs_plan_get_options (plan))->profile_layers = TRUE;
  for (int k = 0; k < 3; k++)
    {
      bs_timing_reset (&t);
      bs_plan_run (plan, input, batch, probs, &t, NULL);
    }
  ((BsPlanOptions *) bs_plan_get_options (plan))->profile_layers = FALSE;
  for (int i = 0; i < t.n_layers; i++)
    fprintf (stderr, "  %-16s %8.3f ms\n", t.layers[i].name, t.layers[i].ms);
}

static void
run_row (const BsUnet *net, BenchRow *row, int repeat, int warmup)
{
  int size = row->size, c = bs_unet_input_channels (&net->config);
  g_autofree float *input = g_new (float, (gsize) row->batch * c * size * size);
  g_autoptr(BsCalibration) cal = NULL;
  Instance *inst = g_new0 (Instance, row->instances);
  GThread **threads = g_new0 (GThread *, row->instances);
  g_autofree double *all = g_new (double, (gsize) repeat * row->instances);
  GError *error = NULL;
  int n_all = 0;

  synthetic_slices (input, row->batch, c, size);
  if (row->precision == BS_PRECISION_INT8)
    cal = bs_calibration_compute (net, input, MIN (row->batch, BS_CALIBRATION_SLICES), size, size, &error);
  for (int i = 0; i < row->instances && !error; i++)
    {
      BsPlanOptions o;
      bs_plan_options_init (&o);
      o.precision = row->precision;
      o.layout = row->layout;
      o.fusion = row->fusion;
      o.batch = row->batch;
      o.threads = row->threads;
      o.slice_parallel = FALSE;   /* a plan's own threads; --instances runs copies side by side */
      inst[i].plan = bs_plan_new (net, size, size, &o, cal, &error);
      /* "all cores" (0) reports the threads the plan chose (bs-runtime.h). */
      if (inst[i].plan != NULL && i == 0 && row->threads == 0)
        row->threads = bs_plan_get_threads (inst[i].plan);
      inst[i].input = input;
      inst[i].repeat = repeat;
      inst[i].warmup = warmup;
      inst[i].run_ms = g_new0 (double, repeat);
    }
  if (!error && (describe || profile))
    print_details (inst[0].plan, input);
  if (!error)
    {
      for (int i = 0; i < row->instances; i++)
        threads[i] = g_thread_new ("bench", instance_main, &inst[i]);
      for (int i = 0; i < row->instances; i++)
        {
          g_thread_join (threads[i]);
          if (inst[i].error && !error)
            error = g_error_copy (inst[i].error);
          for (int r = 0; r < repeat; r++)
            all[n_all++] = inst[i].run_ms[r] / row->batch;
        }
    }
  if (error)
    row->error = g_strdup (error->message);
  else
    {
      row->ms_per_slice = median (all, n_all);
      row->ms_min = all[0];
      row->ms_max = all[n_all - 1];
      /* Instances run at the same time: throughput counts them all. */
      row->slices_per_s = row->instances * 1000.0 / row->ms_per_slice;
    }
  for (int i = 0; i < row->instances; i++)
    {
      bs_plan_free (inst[i].plan);
      g_free (inst[i].run_ms);
      g_clear_error (&inst[i].error);
    }
  g_clear_error (&error);
  g_free (inst);
  g_free (threads);
}

static gboolean
parse_int_list (const char *s, const char *what, GArray *out)
{
  g_auto(GStrv) parts = g_strsplit (s, ",", -1);

  for (int i = 0; parts[i]; i++)
    {
      gint64 v;
      if (!g_ascii_string_to_signed (g_strstrip (parts[i]), 10, 1, 100000, &v, NULL))
        {
          fprintf (stderr, _("brainseg-cli bench: --%s: '%s' is not a positive number\n"), what, parts[i]);
          return FALSE;
        }
      g_array_append_val (out, v);
    }
  return out->len > 0;
}

static void
add_row_json (JsonBuilder *b, const BenchRow *r, double flops)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "precision");
  json_builder_add_string_value (b, bs_precision_name (r->precision));
  json_builder_set_member_name (b, "layout");
  json_builder_add_string_value (b, r->reference ? "reference" : bs_memlayout_name (r->layout));
  json_builder_set_member_name (b, "fusion");
  json_builder_add_string_value (b, r->fusion ? "on" : "off");
  json_builder_set_member_name (b, "threads");
  json_builder_add_int_value (b, r->threads);
  json_builder_set_member_name (b, "batch");
  json_builder_add_int_value (b, r->batch);
  json_builder_set_member_name (b, "instances");
  json_builder_add_int_value (b, r->instances);
  json_builder_set_member_name (b, "size");
  json_builder_add_int_value (b, r->size);
  json_builder_set_member_name (b, "reference");
  json_builder_add_boolean_value (b, r->reference);
  if (r->error)
    {
      json_builder_set_member_name (b, "error");
      json_builder_add_string_value (b, r->error);
      json_builder_set_member_name (b, "ms_per_slice");
      json_builder_add_null_value (b);
      json_builder_set_member_name (b, "slices_per_s");
      json_builder_add_null_value (b);
    }
  else
    {
      json_builder_set_member_name (b, "ms_per_slice");
      json_builder_add_double_value (b, r->ms_per_slice);
      json_builder_set_member_name (b, "ms_min");
      json_builder_add_double_value (b, r->ms_min);
      json_builder_set_member_name (b, "ms_max");
      json_builder_add_double_value (b, r->ms_max);
      json_builder_set_member_name (b, "slices_per_s");
      json_builder_add_double_value (b, r->slices_per_s);
      json_builder_set_member_name (b, "gflops");
      json_builder_add_double_value (b, r->gflops);
      json_builder_set_member_name (b, "peak_percent");
      json_builder_add_double_value (b, r->peak_percent);
    }
  json_builder_set_member_name (b, "gflop_per_slice");
  json_builder_add_double_value (b, flops / 1e9);
  json_builder_end_object (b);
}

/* The peak "% of peak" divides by: measured where a loop of the instructions
 * oneDNN uses can be run (FMA, VNNI, bf16 dot products), the clock-and-ISA
 * formula where it cannot (AMX tiles, a CPU without them). */
typedef struct {
  double gflops[3];
  gboolean measured[3];
} BenchPeak;

/* Measured before the rows and again after them, the higher kept: on a
 * shared host a few milliseconds of loop can all fall in a slow moment
 * (seen 2026-12-07: 137-153 GFLOP/s fp32 in some runs, 415-448 in others,
 * with a row at 108 % of the low figure), and nothing makes the loop faster
 * than the CPU can go. */
static void
bench_peak_measure (BenchPeak *peak, gboolean again)
{
  for (int p = BS_PRECISION_FP32; p <= BS_PRECISION_BF16; p++)
    {
      gboolean amx = p != BS_PRECISION_FP32 && strstr (bs_dnnl_isa_name (), "amx") != NULL;
      double m = amx ? 0.0 : bs_cpu_measure_peak_gflops ((BsPrecision) p, 0);

      if (again && !peak->measured[p])
        continue;
      if (again)
        peak->gflops[p] = MAX (peak->gflops[p], m);
      else
        {
          peak->measured[p] = m > 0.0;
          peak->gflops[p] = m > 0.0 ? m : bs_cpu_peak_gflops ((BsPrecision) p);
        }
    }
}

int
bs_cli_bench (int argc, char **argv)
{
  g_autofree char *model = NULL;
  g_autofree char *sizes_s = NULL, *batches_s = NULL, *prec_s = NULL, *layout_s = NULL, *fusion_s = NULL;
  g_autofree char *threads_s = NULL, *instances_s = NULL;
  int repeat = 10, warmup = 2, ref_repeat = 3;
  gboolean json = FALSE, no_reference = FALSE;
  const GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &model, N_("Weights (Keras-layout HDF5); default: the shipped model"), "M.h5" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &sizes_s, N_("Slice sizes (square), e.g. 128,144,240"), "LIST" },
    { "batch", 0, 0, G_OPTION_ARG_STRING, &batches_s, N_("Batch sizes, e.g. 1,16,128"), "LIST" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &prec_s, N_("fp32, int8, bf16 (comma-separated)"), "LIST" },
    { "layout", 0, 0, G_OPTION_ARG_STRING, &layout_s, N_("nchw, nhwc, blocked (comma-separated)"), "LIST" },
    { "fusion", 0, 0, G_OPTION_ARG_STRING, &fusion_s, N_("on, off (comma-separated)"), "LIST" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads_s, N_("Threads per instance; default: the cores other programs leave free (one instance), cores / instances"), "LIST" },
    { "instances", 0, 0, G_OPTION_ARG_STRING, &instances_s, N_("Concurrent instances splitting the cores, e.g. 1,2"), "LIST" },
    { "repeat", 0, 0, G_OPTION_ARG_INT, &repeat, N_("Timed runs per row (default 10)"), "N" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup, N_("Untimed runs first (default 2)"), "N" },
    { "reference-repeat", 0, 0, G_OPTION_ARG_INT, &ref_repeat, N_("Runs of the plain-C reference (default 3)"), "N" },
    { "no-reference", 0, 0, G_OPTION_ARG_NONE, &no_reference, N_("Skip the plain-C reference row"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    { "describe", 0, 0, G_OPTION_ARG_NONE, &describe, N_("Print the primitives oneDNN chose (stderr)"), NULL },
    { "profile", 0, 0, G_OPTION_ARG_NONE, &profile, N_("Print per-layer times (stderr)"), NULL },
    { NULL },
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(BsUnet) net = NULL;
  g_autoptr(GArray) sizes = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) batches = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) threads = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) instances = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) rows = g_array_new (FALSE, TRUE, sizeof (BenchRow));
  g_autoptr(GArray) configs = g_array_new (FALSE, TRUE, sizeof (BenchRow));
  gboolean is_random = FALSE;
  gboolean explicit_matrix;
  int cores = bs_cpu_cores ();
  BenchPeak peak;

  if (!bs_cli_parse ("bench", "", _("Benchmark inference configurations."), entries, &argc, &argv))
    return 2;
  if (argc > 1)
    {
      fprintf (stderr, _("brainseg-cli bench: unexpected argument '%s'\n"), argv[1]);
      return 2;
    }
  repeat = MAX (repeat, 1);
  warmup = MAX (warmup, 0);
  ref_repeat = MAX (ref_repeat, 1);
  if (!parse_int_list (sizes_s ? sizes_s : "128", "size", sizes)
      || !parse_int_list (batches_s ? batches_s : "1,16", "batch", batches)
      || !parse_int_list (instances_s ? instances_s : "1", "instances", instances)
      || (threads_s && !parse_int_list (threads_s, "threads", threads)))
    return 2;
  for (guint i = 0; i < sizes->len; i++)
    if (g_array_index (sizes, gint64, i) % 16 != 0)
      {
        fprintf (stderr, _("brainseg-cli bench: --size %d is not divisible by 16\n"),
                 (int) g_array_index (sizes, gint64, i));
        return 2;
      }

  net = bs_unet_load_or_default (model, &is_random, &error);
  if (!net)
    return bs_cli_fail (error);
  if (is_random && !json)
    fprintf (stderr, "%s\n", _("brainseg-cli bench: no model given and none ships yet; random weights of the default topology"));

  /* Precision x layout x fusion: the flags' cross product, or by default the
   * framework-like default against the optimised configurations. */
  explicit_matrix = prec_s || layout_s || fusion_s;
  if (explicit_matrix)
    {
      g_auto(GStrv) ps = g_strsplit (prec_s ? prec_s : "fp32", ",", -1);
      g_auto(GStrv) ls = g_strsplit (layout_s ? layout_s : "blocked", ",", -1);
      g_auto(GStrv) fs = g_strsplit (fusion_s ? fusion_s : "on", ",", -1);
      for (int a = 0; ps[a]; a++)
        for (int l = 0; ls[l]; l++)
          for (int f = 0; fs[f]; f++)
            {
              BenchRow r = { 0 };
              if (!bs_precision_from_string (ps[a], &r.precision)
                  || !bs_memlayout_from_string (ls[l], &r.layout)
                  || !(g_str_equal (fs[f], "on") || g_str_equal (fs[f], "off")))
                {
                  fprintf (stderr, _("brainseg-cli bench: unknown precision, layout or fusion in '%s %s %s'\n"),
                           ps[a], ls[l], fs[f]);
                  return 2;
                }
              r.fusion = g_str_equal (fs[f], "on");
              g_array_append_val (configs, r);
            }
    }
  else
    {
      BenchRow d[] = {
        { .precision = BS_PRECISION_FP32, .layout = BS_MEMLAYOUT_NCHW, .fusion = FALSE },
        { .precision = BS_PRECISION_FP32, .layout = BS_MEMLAYOUT_BLOCKED, .fusion = TRUE },
        { .precision = BS_PRECISION_FP32, .layout = BS_MEMLAYOUT_NHWC, .fusion = TRUE },
        { .precision = BS_PRECISION_INT8, .layout = BS_MEMLAYOUT_BLOCKED, .fusion = TRUE },
        { .precision = BS_PRECISION_BF16, .layout = BS_MEMLAYOUT_BLOCKED, .fusion = TRUE },
      };
      for (gsize i = 0; i < G_N_ELEMENTS (d); i++)
        if (bs_precision_available (d[i].precision, NULL))
          g_array_append_val (configs, d[i]);
    }

  bench_peak_measure (&peak, FALSE);
  for (guint s = 0; s < sizes->len; s++)
    {
      int size = (int) g_array_index (sizes, gint64, s);
      double flops = bs_unet_flops (net, size, size);

      if (!no_reference)
        {
          BenchRow r = { .precision = BS_PRECISION_FP32, .reference = TRUE, .threads = 1, .batch = 1,
                         .instances = 1, .size = size };
          run_reference (net, &r, ref_repeat);
          r.gflops = flops * r.slices_per_s / 1e9;
          g_array_append_val (rows, r);
          if (!json)
            fprintf (stderr, "reference %dx%d: %.1f ms/slice\n", size, size, r.ms_per_slice);
        }
      for (guint c = 0; c < configs->len; c++)
        for (guint bi = 0; bi < batches->len; bi++)
          for (guint ii = 0; ii < instances->len; ii++)
            for (guint ti = 0; ti < MAX (threads->len, 1); ti++)
              {
                BenchRow r = g_array_index (configs, BenchRow, c);
                r.size = size;
                r.batch = (int) g_array_index (batches, gint64, bi);
                r.instances = (int) g_array_index (instances, gint64, ii);
                /* One instance on "all cores" adapts to what other programs leave free, as the window does. */
                r.threads = threads->len ? (int) g_array_index (threads, gint64, ti)
                          : r.instances == 1 ? 0 : MAX (1, cores / r.instances);
                run_row (net, &r, repeat, warmup);
                r.gflops = flops * r.slices_per_s / 1e9;
                g_array_append_val (rows, r);
                if (!json)
                  fprintf (stderr, "%s %s fusion %s batch %d x%d: %.2f ms/slice\n", bs_precision_name (r.precision),
                           bs_memlayout_name (r.layout), r.fusion ? "on" : "off", r.batch, r.instances,
                           r.ms_per_slice);
              }
    }
  bench_peak_measure (&peak, TRUE);
  for (guint i = 0; i < rows->len; i++)
    {
      BenchRow *r = &g_array_index (rows, BenchRow, i);

      r->peak_percent = 100.0 * r->gflops / peak.gflops[r->reference ? BS_PRECISION_FP32 : r->precision];
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autofree char *cpu = bs_cpu_description ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "cpu");
      json_builder_add_string_value (b, cpu);
      json_builder_set_member_name (b, "isa");
      json_builder_add_string_value (b, bs_dnnl_isa_name ());
      json_builder_set_member_name (b, "cores");
      json_builder_add_int_value (b, cores);
      json_builder_set_member_name (b, "peak_gflops_fp32");
      json_builder_add_double_value (b, peak.gflops[BS_PRECISION_FP32]);
      json_builder_set_member_name (b, "peak_gops_int8");
      json_builder_add_double_value (b, peak.gflops[BS_PRECISION_INT8]);
      json_builder_set_member_name (b, "peak_gflops_bf16");
      json_builder_add_double_value (b, peak.gflops[BS_PRECISION_BF16]);
      json_builder_set_member_name (b, "peak_source");
      json_builder_begin_object (b);
      for (int p = BS_PRECISION_FP32; p <= BS_PRECISION_BF16; p++)
        {
          json_builder_set_member_name (b, bs_precision_name ((BsPrecision) p));
          json_builder_add_string_value (b, peak.measured[p] ? "measured" : "formula");
        }
      json_builder_end_object (b);
      json_builder_set_member_name (b, "omp_wait_policy");
      json_builder_add_string_value (b, bs_runtime_wait_policy ());
      json_builder_set_member_name (b, "malloc_policy");
      json_builder_add_string_value (b, bs_runtime_malloc_policy ());
      bs_cli_json_add_model (b, net, is_random);
      json_builder_set_member_name (b, "fms");
      json_builder_add_int_value (b, net->config.fms);
      json_builder_set_member_name (b, "repeat");
      json_builder_add_int_value (b, repeat);
      json_builder_set_member_name (b, "rows");
      json_builder_begin_array (b);
      for (guint i = 0; i < rows->len; i++)
        {
          BenchRow *r = &g_array_index (rows, BenchRow, i);
          add_row_json (b, r, bs_unet_flops (net, r->size, r->size));
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      bs_cli_print_json (b);
    }
  else
    {
      g_autofree char *cpu = bs_cpu_description ();
      printf (_("%s; peak %.0f GFLOP/s fp32 (%s), %.0f GOP/s int8 (%s), %.0f GFLOP/s bf16 (%s); OpenMP wait: %s\n"), cpu,
              peak.gflops[BS_PRECISION_FP32], peak.measured[BS_PRECISION_FP32] ? _("measured") : _("formula"),
              peak.gflops[BS_PRECISION_INT8], peak.measured[BS_PRECISION_INT8] ? _("measured") : _("formula"),
              peak.gflops[BS_PRECISION_BF16], peak.measured[BS_PRECISION_BF16] ? _("measured") : _("formula"),
              bs_runtime_wait_policy ());
      printf ("model: %s (fms %d)\n", net->path ? net->path : _("random weights"), net->config.fms);
      printf ("%-9s %-9s %-6s %7s %5s %9s %5s %10s %17s %10s %8s %7s\n", "precision", "layout", "fusion", "threads",
              "batch", "instances", "size", "ms/slice", "spread (min-max)", "slices/s", "GFLOP/s", "% peak");
      for (guint i = 0; i < rows->len; i++)
        {
          BenchRow *r = &g_array_index (rows, BenchRow, i);
          if (r->error)
            printf ("%-9s %-9s %-6s %7d %5d %9d %5d  %s\n", bs_precision_name (r->precision),
                    r->reference ? "reference" : bs_memlayout_name (r->layout), r->fusion ? "on" : "off",
                    r->threads, r->batch, r->instances, r->size, r->error);
          else
            printf ("%-9s %-9s %-6s %7d %5d %9d %5d %10.2f %8.2f-%-8.2f %10.1f %8.1f %6.1f%%\n",
                    bs_precision_name (r->precision), r->reference ? "reference" : bs_memlayout_name (r->layout),
                    r->fusion ? "on" : "off", r->threads, r->batch, r->instances, r->size, r->ms_per_slice,
                    r->ms_min, r->ms_max, r->slices_per_s, r->gflops, r->peak_percent);
        }
    }
  for (guint i = 0; i < rows->len; i++)
    g_free (g_array_index (rows, BenchRow, i).error);
  return 0;
}
