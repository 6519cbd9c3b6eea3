#include "bs-labels.h"
#include "bs-error.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "bs-parallel.h"

const char *
bs_labels_convention_name (BsLabelConvention conv)
{
  switch (conv)
    {
    case BS_LABELS_BINARY:
      return "binary";
    case BS_LABELS_DECATHLON:
      return "decathlon";
    case BS_LABELS_BRATS2015:
      return "brats2015";
    case BS_LABELS_BRATS2017:
      return "brats2017";
    case BS_LABELS_BRATS2023:
      return "brats2023";
    case BS_LABELS_UNKNOWN:
    default:
      return "unknown";
    }
}

const char *
bs_labels_value_name (BsLabelConvention conv, int value)
{
  if (value == 0)
    return _("background");
  switch (conv)
    {
    case BS_LABELS_BINARY:
      return value == 1 ? _("tumour") : NULL;
    case BS_LABELS_DECATHLON:
      switch (value)
        {
        case 1: return _("edema");
        case 2: return _("non-enhancing tumour");
        case 3: return _("enhancing tumour");
        default: return NULL;
        }
    case BS_LABELS_BRATS2015:
      switch (value)
        {
        case 1: return _("necrosis");
        case 2: return _("edema");
        case 3: return _("non-enhancing tumour");
        case 4: return _("enhancing tumour");
        default: return NULL;
        }
    case BS_LABELS_BRATS2017:
      switch (value)
        {
        case 1: return _("necrotic / non-enhancing core");
        case 2: return _("edema");
        case 4: return _("enhancing tumour");
        default: return NULL;
        }
    case BS_LABELS_BRATS2023:
      switch (value)
        {
        case 1: return _("necrotic core");
        case 2: return _("edema");
        case 3: return _("enhancing tumour");
        default: return NULL;
        }
    case BS_LABELS_UNKNOWN:
    default:
      return NULL;
    }
}

/* Labels are small non-negative integers; anything else lands in one
 * overflow bucket so that a float image passed by mistake cannot blow up
 * the histogram. */
#define BS_LABELS_MAX_VALUE 255

int
bs_labels_count (const BsVolume *label, int **values, guint64 **counts)
{
  guint64 hist[BS_LABELS_MAX_VALUE + 2] = { 0 };
  gsize n = bs_volume_n_voxels (label);
  const float *p = label->data;
  int distinct = 0;

  for (gsize i = 0; i < n; i++)
    {
      float v = p[i];
      int b;

      /* Most of a label map is background: no floorf call for it. */
      if (v == 0.0f)
        {
          hist[0]++;
          continue;
        }
      b = v >= 0.0f && v <= BS_LABELS_MAX_VALUE && v == floorf (v) ? (int) v : BS_LABELS_MAX_VALUE + 1;
      hist[b]++;
    }
  for (int b = 0; b < BS_LABELS_MAX_VALUE + 2; b++)
    distinct += hist[b] != 0;
  *values = g_new (int, MAX (distinct, 1));
  *counts = g_new (guint64, MAX (distinct, 1));
  distinct = 0;
  for (int b = 0; b < BS_LABELS_MAX_VALUE + 2; b++)
    if (hist[b])
      {
        (*values)[distinct] = b <= BS_LABELS_MAX_VALUE ? b : -1;
        (*counts)[distinct] = hist[b];
        distinct++;
      }
  return distinct;
}

gboolean
bs_labels_check_values (const BsVolume *label, BsLabelConvention conv, const char *path, gboolean *fits,
                        GError **error)
{
  g_autofree int *values = NULL;
  g_autofree guint64 *counts = NULL;
  int n = bs_labels_count (label, &values, &counts), outside = -1;

  for (int i = 0; i < n; i++)
    {
      if (values[i] < 0)
        {
          /* the first voxel that is no class, for the message */
          float bad = 0.0f;

          for (gsize v = 0; v < bs_volume_n_voxels (label); v++)
            if (!(label->data[v] >= 0.0f && label->data[v] <= BS_LABELS_MAX_VALUE
                  && label->data[v] == floorf (label->data[v])))
              {
                bad = label->data[v];
                break;
              }
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                       _("%s: label value %g is no class (a label map holds whole numbers from 0 to %d)"), path,
                       bad, BS_LABELS_MAX_VALUE);
          return FALSE;
        }
      if (outside < 0 && conv != BS_LABELS_UNKNOWN && bs_labels_value_name (conv, values[i]) == NULL)
        outside = values[i];
    }
  if (fits)
    *fits = outside < 0;
  if (outside >= 0 && fits == NULL)
    {
      g_autoptr(GString) classes = g_string_new (NULL);

      for (int c = 0; c <= BS_LABELS_MAX_VALUE; c++)
        if (bs_labels_value_name (conv, c) != NULL)
          g_string_append_printf (classes, "%s%d", classes->len ? ", " : "", c);
      /* TRANSLATORS: e.g. "seg.nii.gz: label value 7 is not a class of the brats2017 labels (0, 1, 2, 4)" */
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: label value %d is not a class of the %s labels (%s)"),
                   path, outside, bs_labels_convention_name (conv), classes->str);
      return FALSE;
    }
  return TRUE;
}

BsLabelConvention
bs_labels_guess (const BsVolume *label)
{
  g_autofree int *values = NULL;
  g_autofree guint64 *counts = NULL;
  gboolean has[5] = { FALSE };
  gboolean other = FALSE;
  int n = bs_labels_count (label, &values, &counts);

  for (int i = 0; i < n; i++)
    {
      if (values[i] >= 0 && values[i] <= 4)
        has[values[i]] = TRUE;
      else
        other = TRUE;
    }
  if (other)
    return BS_LABELS_UNKNOWN;
  if (!has[2] && !has[3] && !has[4])
    return BS_LABELS_BINARY;
  if (has[4])
    return has[3] ? BS_LABELS_BRATS2015 : BS_LABELS_BRATS2017;
  return BS_LABELS_UNKNOWN;
}

/* A region of a label map written in chunks side by side: the voxels of
 * the region only (the rest is zero already, and its pages need never be
 * touched: bs_volume_new_like). */
#define REGION_CHUNKS 32

typedef struct {
  const float *label;
  float *out;
  gsize n;
  BsLabelConvention conv;
  BsRegion region;
  gboolean positive;   /* the whole tumour of bs_labels_whole_tumour: any value > 0 */
} RegionJob;

static void
region_chunk (int k, gpointer user_data)
{
  const RegionJob *job = user_data;
  gsize a = job->n * k / REGION_CHUNKS, b = job->n * (k + 1) / REGION_CHUNKS;

  for (gsize i = a; i < b; i++)
    if (job->label[i] != 0.0f
        && (job->positive ? job->label[i] > 0.0f
                          : bs_labels_in_region (job->conv, job->region, (int) lrintf (job->label[i]))))
      job->out[i] = 1.0f;
}

static void
write_region (const BsVolume *label, BsLabelConvention conv, BsRegion region, gboolean positive, BsVolume *out)
{
  RegionJob job = { label->data, out->data, bs_volume_n_voxels (label), conv, region, positive };

  bs_parallel_for (REGION_CHUNKS, region_chunk, &job);
}

BsVolume *
bs_labels_whole_tumour (const BsVolume *label)
{
  BsVolume *wt = bs_volume_new_like (label, 1);

  if (wt == NULL)
    return NULL;
  write_region (label, BS_LABELS_BINARY, BS_REGION_WT, TRUE, wt);
  g_free (wt->channel_names[0]);
  wt->channel_names[0] = g_strdup ("whole tumour");
  wt->is_label = TRUE;
  return wt;
}

/* The BraTS regions in each release's labels, from its documentation:
 *   Decathlon Task01 (dataset.json): 1 edema, 2 non-enhancing tumour, 3 enhancing tumour
 *     WT = 1, 2, 3; TC = 2, 3; ET = 3
 *   BraTS 2013-2015: 1 necrosis, 2 edema, 3 non-enhancing, 4 enhancing
 *     WT = 1-4; TC = 1, 3, 4; ET = 4
 *   BraTS 2017-2021: 1 necrotic and non-enhancing core, 2 edema, 4 enhancing
 *     WT = 1, 2, 4; TC = 1, 4; ET = 4
 *   BraTS 2023: 1 necrotic core, 2 edema, 3 enhancing
 *     WT = 1, 2, 3; TC = 1, 3; ET = 3
 * A binary or unknown label map has whole tumour (> 0) only. */
gboolean
bs_labels_in_region (BsLabelConvention conv, BsRegion region, int value)
{
  if (value <= 0)
    return FALSE;
  if (region == BS_REGION_WT)
    return TRUE;
  switch (conv)
    {
    case BS_LABELS_DECATHLON:
      return region == BS_REGION_TC ? (value == 2 || value == 3) : value == 3;
    case BS_LABELS_BRATS2015:
      return region == BS_REGION_TC ? (value == 1 || value == 3 || value == 4) : value == 4;
    case BS_LABELS_BRATS2017:
      return region == BS_REGION_TC ? (value == 1 || value == 4) : value == 4;
    case BS_LABELS_BRATS2023:
      return region == BS_REGION_TC ? (value == 1 || value == 3) : value == 3;
    case BS_LABELS_BINARY:
    case BS_LABELS_UNKNOWN:
    default:
      return FALSE;
    }
}

gboolean
bs_labels_has_region (BsLabelConvention conv, BsRegion region)
{
  return region == BS_REGION_WT || (conv != BS_LABELS_BINARY && conv != BS_LABELS_UNKNOWN);
}

const char *
bs_region_name (BsRegion region)
{
  static const char *const names[] = { "wt", "tc", "et" };

  return region >= 0 && region < BS_N_REGIONS ? names[region] : NULL;
}

const char *
bs_region_label (BsRegion region)
{
  switch (region)
    {
    case BS_REGION_WT: return _("whole tumour");
    case BS_REGION_TC: return _("tumour core");
    case BS_REGION_ET: return _("enhancing tumour");
    default: return NULL;
    }
}

BsVolume *
bs_labels_region (const BsVolume *label, BsLabelConvention conv, BsRegion region)
{
  static const char *const long_names[] = { "whole tumour", "tumour core", "enhancing tumour" };
  BsVolume *r;

  if (!bs_labels_has_region (conv, region))
    return NULL;
  r = bs_volume_new_like (label, 1);
  if (r == NULL)
    return NULL;
  write_region (label, conv, region, FALSE, r);
  g_free (r->channel_names[0]);
  r->channel_names[0] = g_strdup (long_names[region]);
  r->is_label = TRUE;
  return r;
}

gboolean
bs_labels_region_values (BsLabelConvention conv, int *ed, int *core, int *et)
{
  switch (conv)
    {
    case BS_LABELS_DECATHLON:
      *ed = 1;
      *core = 2;
      *et = 3;
      return TRUE;
    case BS_LABELS_BRATS2015:
      /* Necrosis (1) and non-enhancing tumour (3) are one region to the
       * network (TC minus ET): it goes to 3, the value the others share. */
      *ed = 2;
      *core = 3;
      *et = 4;
      return TRUE;
    case BS_LABELS_BRATS2017:
      *ed = 2;
      *core = 1;
      *et = 4;
      return TRUE;
    case BS_LABELS_BRATS2023:
      *ed = 2;
      *core = 1;
      *et = 3;
      return TRUE;
    case BS_LABELS_BINARY:
    case BS_LABELS_UNKNOWN:
    default:
      return FALSE;
    }
}

BsVolume *
bs_labels_from_regions (const BsVolume *wt, const BsVolume *tc, const BsVolume *et, BsLabelConvention conv)
{
  BsVolume *out;
  gsize n;
  int v_ed = 1, v_core = 1, v_et = 1;

  g_return_val_if_fail (wt != NULL, NULL);
  n = bs_volume_n_voxels (wt);
  if (conv == BS_LABELS_UNKNOWN)
    return NULL;
  if (conv != BS_LABELS_BINARY && (!bs_labels_region_values (conv, &v_ed, &v_core, &v_et) || !tc || !et))
    return NULL;
  out = bs_volume_new_like (wt, 1);
  if (out == NULL)
    return NULL;
  for (gsize i = 0; i < n; i++)
    {
      int v = 0;

      /* Nested: a voxel is ET only inside TC, TC only inside WT. */
      if (wt->data[i] > 0.5f)
        {
          if (conv == BS_LABELS_BINARY)
            v = 1;
          else if (tc->data[i] > 0.5f)
            v = et->data[i] > 0.5f ? v_et : v_core;
          else
            v = v_ed;
        }
      if (v != 0)
        out->data[i] = (float) v;
    }
  g_free (out->channel_names[0]);
  out->channel_names[0] = g_strdup (bs_labels_convention_name (conv));
  out->is_label = TRUE;
  return out;
}

void
bs_regions_from_probs (const float *const probs[BS_N_REGIONS], gsize n, float *wt, float *tc, float *et)
{
  const float *pw = probs[BS_REGION_WT], *pt = probs[BS_REGION_TC], *pe = probs[BS_REGION_ET];

  for (gsize v = 0; v < n; v++)
    {
      gboolean w = pw[v] > 0.5f, t = w && pt != NULL && pt[v] > 0.5f;
      gboolean e = (pt != NULL ? t : w) && pe != NULL && pe[v] > 0.5f;

      if (wt)
        wt[v] = w;
      if (tc && pt)
        tc[v] = t;
      if (et && pe)
        et[v] = e;
    }
}
