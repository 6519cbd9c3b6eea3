/* Inference plan options and names, and what this CPU offers oneDNN: its ISA,
 * cores, description and theoretical peak (bs-plan.h).  The measured peak is
 * in bs-peak.c, the plans themselves in bs-plan.c. */
#include <glib/gi18n.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <string.h>

#include "bs-plan.h"

/* ---- names and options ---- */

void
bs_plan_options_init (BsPlanOptions *opts)
{
  memset (opts, 0, sizeof *opts);
  opts->precision = BS_PRECISION_FP32;
  opts->layout = BS_MEMLAYOUT_BLOCKED;
  opts->fusion = TRUE;
  opts->threads = 0;
  opts->batch = 1;
  opts->crop_to_brain = TRUE;
  opts->three_planes = TRUE;
  opts->slice_parallel = TRUE;
}

const char *
bs_precision_name (BsPrecision p)
{
  switch (p)
    {
    case BS_PRECISION_INT8: return "int8";
    case BS_PRECISION_BF16: return "bf16";
    case BS_PRECISION_FP32:
    default: return "fp32";
    }
}

gboolean
bs_precision_from_string (const char *s, BsPrecision *p)
{
  if (!s)
    return FALSE;
  if (g_ascii_strcasecmp (s, "fp32") == 0 || g_ascii_strcasecmp (s, "f32") == 0)
    *p = BS_PRECISION_FP32;
  else if (g_ascii_strcasecmp (s, "int8") == 0 || g_ascii_strcasecmp (s, "i8") == 0)
    *p = BS_PRECISION_INT8;
  else if (g_ascii_strcasecmp (s, "bf16") == 0)
    *p = BS_PRECISION_BF16;
  else
    return FALSE;
  return TRUE;
}

const char *
bs_memlayout_name (BsMemLayout l)
{
  switch (l)
    {
    case BS_MEMLAYOUT_NCHW: return "nchw";
    case BS_MEMLAYOUT_NHWC: return "nhwc";
    case BS_MEMLAYOUT_BLOCKED:
    default: return "blocked";
    }
}

gboolean
bs_memlayout_from_string (const char *s, BsMemLayout *l)
{
  if (!s)
    return FALSE;
  if (g_ascii_strcasecmp (s, "nchw") == 0 || g_ascii_strcasecmp (s, "plain") == 0)
    *l = BS_MEMLAYOUT_NCHW;
  else if (g_ascii_strcasecmp (s, "nhwc") == 0 || g_ascii_strcasecmp (s, "channels-last") == 0)
    *l = BS_MEMLAYOUT_NHWC;
  else if (g_ascii_strcasecmp (s, "blocked") == 0 || g_ascii_strcasecmp (s, "any") == 0)
    *l = BS_MEMLAYOUT_BLOCKED;
  else
    return FALSE;
  return TRUE;
}

/* ---- CPU ---- */

const char *
bs_dnnl_isa_name (void)
{
  switch (dnnl_get_effective_cpu_isa ())
    {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
    }
}

static gboolean
isa_has (dnnl_cpu_isa_t want)
{
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa ();
  return ((unsigned) isa & (unsigned) want) == (unsigned) want;
}

gboolean
bs_precision_available (BsPrecision p, char **reason)
{
  if (reason)
    *reason = NULL;
  if (p != BS_PRECISION_BF16)
    return TRUE;
  if (isa_has (dnnl_cpu_isa_avx512_core_bf16))
    return TRUE;
  if (reason)
    *reason = g_strdup_printf (_("bf16 needs AVX512-BF16 or AMX; this CPU runs oneDNN at %s"),
                               bs_dnnl_isa_name ());
  return FALSE;
}

int
bs_cpu_cores (void)
{
  return MAX (1, omp_get_num_procs ());
}

char *
bs_cpu_description (void)
{
  g_autofree char *info = NULL;
  g_autofree char *model = NULL;

  if (g_file_get_contents ("/proc/cpuinfo", &info, NULL, NULL))
    {
      g_auto(GStrv) lines = g_strsplit (info, "\n", -1);
      for (int i = 0; lines[i] && !model; i++)
        if (g_str_has_prefix (lines[i], "model name"))
          {
            const char *colon = strchr (lines[i], ':');
            if (colon)
              model = g_strstrip (g_strdup (colon + 1));
          }
    }
  /* TRANSLATORS: CPU model, number of cores, oneDNN's instruction set (e.g. avx512_core_bf16) */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s, %d core, oneDNN %s", "%s, %d cores, oneDNN %s",
                                       bs_cpu_cores ()),
                          model ? model : _("unknown CPU"), bs_cpu_cores (), bs_dnnl_isa_name ());
}

double
bs_cpu_peak_gflops (BsPrecision p)
{
  g_autofree char *info = NULL;
  double mhz = 0.0, per_cycle;

  if (g_file_get_contents ("/proc/cpuinfo", &info, NULL, NULL))
    {
      const char *m = strstr (info, "cpu MHz");
      if (m && (m = strchr (m, ':')))
        mhz = g_ascii_strtod (m + 1, NULL);
    }
  if (mhz <= 0.0)
    mhz = 2000.0;
  /* Two FMA pipes: 16 fp32 lanes x 2 ops x 2 per cycle with AVX-512, half with AVX2;
   * VNNI does 4 int8 multiply-adds per fp32 lane, bf16 dot products 2. */
  per_cycle = isa_has (dnnl_cpu_isa_avx512_core) ? 64.0 : 32.0;
  /* AMX tiles: 1024 int8 or 512 bf16 multiply-adds per cycle and core. */
  if (p == BS_PRECISION_INT8 && isa_has (dnnl_cpu_isa_avx512_core_amx))
    per_cycle = 2048.0;
  else if (p == BS_PRECISION_BF16 && isa_has (dnnl_cpu_isa_avx512_core_amx))
    per_cycle = 1024.0;
  else if (p == BS_PRECISION_INT8)
    per_cycle *= isa_has (dnnl_cpu_isa_avx512_core_vnni) ? 4.0 : 2.0;
  else if (p == BS_PRECISION_BF16)
    per_cycle *= isa_has (dnnl_cpu_isa_avx512_core_bf16) ? 2.0 : 1.0;
  return bs_cpu_cores () * mhz * 1e-3 * per_cycle;
}

