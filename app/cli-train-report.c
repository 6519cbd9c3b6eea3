/* Per-case reports of training runs, and the cross-validation table that
 * gathers every fold's report. */
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bs-error.h"
#include "bs-file.h"
#include "cli-json.h"
#include "cli-train-report.h"
#include "cli.h"

static const char *const split_members[3] = { "training_cases", "validation_cases", "test_cases" };
static const char *const dice_members[BS_N_REGIONS] = { "dice_wt", "dice_tc", "dice_et" };
static const char *const mean_members[BS_N_REGIONS] = { "mean_dice_wt", "mean_dice_tc", "mean_dice_et" };
/* Column headings: the BraTS abbreviations, the same in every language. */
static const char *const region_labels[BS_N_REGIONS] = { "WT", "TC", "ET" };

void
bs_cli_train_outputs_of (const BsUnet *net, BsCliRegions *regions)
{
  regions->n = 1;
  regions->r[0] = BS_REGION_WT;
  for (int k = 1; k < net->config.out_channels && net->config.outputs; k++)
    for (int r = 1; r < BS_N_REGIONS; r++)
      if (g_strcmp0 (net->config.outputs[k], bs_region_name (r)) == 0 && regions->n < BS_N_REGIONS)
        regions->r[regions->n++] = r;
}

void
bs_cli_train_print_region_header (const BsCliRegions *regions, FILE *out)
{
  for (int k = 1; k < regions->n; k++)
    fprintf (out, " %8s", region_labels[regions->r[k]]);
}

static void
print_dice (double d, FILE *out)
{
  if (isnan (d))
    fprintf (out, " %8s", "-");
  else
    fprintf (out, " %8.4f", d);
}

void
bs_cli_train_print_region_row (const BsCliRegions *regions, const BsTrainCaseResult *r, FILE *out)
{
  for (int k = 1; k < regions->n; k++)
    print_dice (r->region_dice[regions->r[k]], out);
}

/* Mean of region's Dice over the results that have one, NAN for none. */
static double
region_mean (const GArray *results, gsize stride, gsize offset, BsRegion region)
{
  double sum = 0.0;
  guint n = 0;

  for (guint i = 0; i < results->len; i++)
    {
      const BsTrainCaseResult *r = (const BsTrainCaseResult *) (results->data + i * stride + offset);
      if (!isnan (r->region_dice[region]))
        {
          sum += r->region_dice[region];
          n++;
        }
    }
  return n ? sum / n : NAN;
}

void
bs_cli_train_print_region_means (const BsCliRegions *regions, const GArray *results, FILE *out)
{
  for (int k = 1; k < regions->n; k++)
    print_dice (region_mean (results, sizeof (BsTrainCaseResult), 0, regions->r[k]), out);
}

static gboolean
is_csv (const char *path)
{
  return g_str_has_suffix (path, ".csv") || g_str_has_suffix (path, ".CSV");
}

static void
add_strv (JsonBuilder *b, const char *name, const char *const *v)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (; v && *v; v++)
    json_builder_add_string_value (b, *v);
  json_builder_end_array (b);
}

/* "a,b" -> ["a", "b"] */
static void
add_channels (JsonBuilder *b, const char *channels)
{
  g_auto(GStrv) v = g_strsplit (channels ? channels : "", ",", -1);
  g_autoptr(GStrvBuilder) keep = g_strv_builder_new ();
  g_auto(GStrv) kept = NULL;

  for (char **c = v; *c; c++)
    if (**c)
      g_strv_builder_add (keep, *c);
  kept = g_strv_builder_end (keep);
  add_strv (b, "channels_present", (const char *const *) kept);
}

static void
add_case (JsonBuilder *b, const BsTrainCaseResult *r, const BsCliRegions *regions)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "id");
  json_builder_add_string_value (b, r->id);
  json_builder_set_member_name (b, "fold");
  json_builder_add_int_value (b, r->fold);
  json_builder_set_member_name (b, "dice_wt");
  json_builder_add_double_value (b, r->dice);
  json_builder_set_member_name (b, "dice_wt_raw");
  json_builder_add_double_value (b, r->dice_raw);
  for (int k = 1; k < regions->n; k++)
    bs_cli_json_add_double_or_null (b, dice_members[regions->r[k]], r->region_dice[regions->r[k]]);
  json_builder_set_member_name (b, "truth_voxels");
  json_builder_add_int_value (b, (gint64) r->truth_voxels);
  json_builder_set_member_name (b, "predicted_voxels");
  json_builder_add_int_value (b, (gint64) r->predicted_voxels);
  add_channels (b, r->channels);
  json_builder_end_object (b);
}

static char *
csv_field (const char *s)
{
  g_autoptr(GString) q = g_string_new ("\"");

  for (; s && *s; s++)
    {
      if (*s == '"')
        g_string_append_c (q, '"');
      g_string_append_c (q, *s);
    }
  g_string_append_c (q, '"');
  return g_string_free (g_steal_pointer (&q), FALSE);
}

static void
csv_row (GString *s, const BsTrainCaseResult *r, const BsCliRegions *regions)
{
  g_autofree char *id = csv_field (r->id);
  g_autofree char *ch = csv_field (r->channels);

  g_string_append_printf (s, "%s,%d,%.6f,%.6f,", id, r->fold, r->dice, r->dice_raw);
  for (int k = 1; k < regions->n; k++)
    {
      double d = r->region_dice[regions->r[k]];
      if (!isnan (d))
        g_string_append_printf (s, "%.6f", d);
      g_string_append_c (s, ',');
    }
  g_string_append_printf (s, "%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT ",%s\n", r->truth_voxels, r->predicted_voxels,
                          ch);
}

/* A region a case's labels cannot tell is an empty field. */
static GString *
csv_header (const BsCliRegions *regions)
{
  GString *s = g_string_new ("case,fold,dice_wt,dice_wt_raw,");

  for (int k = 1; k < regions->n; k++)
    g_string_append_printf (s, "%s,", dice_members[regions->r[k]]);
  g_string_append (s, "truth_voxels,predicted_voxels,channels_present\n");
  return s;
}

static gboolean
write_text (const char *path, const char *text, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (!bs_file_check_replaceable (path, error))
    return FALSE;
  if (!g_file_set_contents (path, text, -1, &local))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_WRITE, _("%s: cannot write the report (%s)"), path,
                   local->message);
      return FALSE;
    }
  return TRUE;
}

static char *
json_text (JsonBuilder *b)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  char *text;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  /* case ids come from file names, which need not be UTF-8 (see bs_cli_print_json) */
  if (!g_utf8_validate (text, -1, NULL))
    {
      char *valid = g_utf8_make_valid (text, -1);

      g_free (text);
      text = valid;
    }
  return text;
}

gboolean
bs_cli_train_write_report (const char *path, const BsCliReportInfo *info, const GArray *results, GError **error)
{
  g_autoptr(GString) csv = NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autofree char *text = NULL;
  double sum = 0.0, sum_raw = 0.0;

  if (is_csv (path))
    {
      csv = csv_header (&info->regions);
      for (guint i = 0; i < results->len; i++)
        csv_row (csv, &g_array_index (results, BsTrainCaseResult, i), &info->regions);
      return write_text (path, csv->str, error);
    }
  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "model");
  json_builder_add_string_value (b, info->model);
  add_strv (b, "modalities", info->modalities);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) info->seed);
  json_builder_set_member_name (b, "folds");
  json_builder_add_int_value (b, info->folds);
  json_builder_set_member_name (b, "fold");
  json_builder_add_int_value (b, info->fold);
  for (int k = 0; k < 3; k++)
    add_strv (b, split_members[k], (const char *const *) info->case_ids[k]);
  if (info->regions.n > 1)
    {
      json_builder_set_member_name (b, "regions");
      json_builder_begin_array (b);
      for (int k = 0; k < info->regions.n; k++)
        json_builder_add_string_value (b, bs_region_name (info->regions.r[k]));
      json_builder_end_array (b);
    }
  json_builder_set_member_name (b, "cases");
  json_builder_begin_array (b);
  for (guint i = 0; i < results->len; i++)
    {
      const BsTrainCaseResult *r = &g_array_index (results, BsTrainCaseResult, i);
      add_case (b, r, &info->regions);
      sum += r->dice;
      sum_raw += r->dice_raw;
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "mean_dice_wt");
  if (results->len)
    json_builder_add_double_value (b, sum / results->len);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "mean_dice_wt_raw");
  if (results->len)
    json_builder_add_double_value (b, sum_raw / results->len);
  else
    json_builder_add_null_value (b);
  /* over the cases whose labels tell the region */
  for (int k = 1; k < info->regions.n; k++)
    bs_cli_json_add_double_or_null (b, mean_members[info->regions.r[k]],
                        region_mean (results, sizeof (BsTrainCaseResult), 0, info->regions.r[k]));
  json_builder_end_object (b);
  text = json_text (b);
  return write_text (path, text, error);
}

/* ---- --cv-summary ---- */

typedef struct {
  BsTrainCaseResult r;
  char *file;
} SummaryRow;

static void
summary_row_clear (gpointer p)
{
  SummaryRow *row = p;

  bs_train_case_result_clear (&row->r);
  g_free (row->file);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (GArray *rows, gboolean raw)
{
  guint n = rows->len;
  g_autofree double *v = g_new (double, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    {
      const SummaryRow *row = &g_array_index (rows, SummaryRow, i);
      v[i] = raw ? row->r.dice_raw : row->r.dice;
    }
  qsort (v, n, sizeof *v, cmp_double);
  return n == 0 ? NAN : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static const SummaryRow *
worst (GArray *rows, gboolean raw)
{
  const SummaryRow *w = NULL;

  for (guint i = 0; i < rows->len; i++)
    {
      const SummaryRow *row = &g_array_index (rows, SummaryRow, i);
      if (!w || (raw ? row->r.dice_raw < w->r.dice_raw : row->r.dice < w->r.dice))
        w = row;
    }
  return w;
}

static char *
channels_of (JsonObject *c)
{
  JsonArray *a = json_object_has_member (c, "channels_present") ? json_object_get_array_member (c, "channels_present")
                                                                  : NULL;
  g_autoptr(GString) s = g_string_new (NULL);

  for (guint i = 0; a && i < json_array_get_length (a); i++)
    g_string_append_printf (s, "%s%s", i ? "," : "", json_array_get_string_element (a, i));
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* A report's member of JSON type integer (json-glib keeps 1.5 a double and
 * "1" a string: neither is a fold or a count).  FALSE when missing. */
static gboolean
int_member (JsonObject *o, const char *name, gint64 *out)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_int (n);
  return TRUE;
}

/* A Dice in a report: a number from 0 to 1 (fuzz finding: "x" and null
 * counted as 0 and lowered the mean, 1e308 was taken as it was). */
static gboolean
dice_member (JsonObject *o, const char *name, double *out)
{
  JsonNode *n = json_object_get_member (o, name);
  GType t = n != NULL && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_value_type (n) : G_TYPE_INVALID;

  if (t != G_TYPE_DOUBLE && t != G_TYPE_INT64)
    return FALSE;
  *out = json_node_get_double (n);
  return isfinite (*out) && *out >= 0.0 && *out <= 1.0;
}

/* Appends the cases of one report; its folds and seed must match the first's. */
static gboolean
read_report (const char *path, GArray *rows, gint64 *folds, gint64 *seed, guint64 *fold_seen, BsCliRegions *regions,
             GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root;
  JsonArray *cases;
  gint64 f, fold, s;

  {
    g_autofree char *text = NULL;
    gsize len = 0;

    if (!g_file_get_contents (path, &text, &len, error))
      return FALSE;
    if (bs_json_depth (text, (gssize) len) > BS_JSON_MAX_DEPTH)
      {
        g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: malformed JSON: nested deeper than %d levels"),
                     path, BS_JSON_MAX_DEPTH);
        return FALSE;
      }
    if (!json_parser_load_from_data (parser, text, (gssize) len, error))
      {
        g_prefix_error (error, "%s: ", path);
        return FALSE;
      }
  }
  root = json_parser_get_root (parser) != NULL && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))
           ? json_node_get_object (json_parser_get_root (parser)) : NULL;
  if (!root || !json_object_has_member (root, "cases") || !json_object_has_member (root, "folds")
      || !JSON_NODE_HOLDS_ARRAY (json_object_get_member (root, "cases")))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                   _("%s: not a report of brainseg-cli train --report (no \"cases\" and \"folds\")"), path);
      return FALSE;
    }
  s = 0;
  if (!int_member (root, "folds", &f) || !int_member (root, "fold", &fold)
      || (json_object_has_member (root, "seed") && !int_member (root, "seed", &s)))
    f = fold = 0;
  if (f < 2 || f > 64 || fold < 1 || fold > f)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                   _("%s: not a cross-validation report (train with --folds K --fold I)"), path);
      return FALSE;
    }
  if (*folds == 0)
    {
      *folds = f;
      *seed = s;
    }
  else if (f != *folds || s != *seed)
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                   _("%s: a split of %d folds with seed %lld, but the first report's is %d folds with seed %lld; "
                     "the folds of one cross-validation share both"),
                   path, (int) f, (long long) s, (int) *folds, (long long) *seed);
      return FALSE;
    }
  if (*fold_seen & (G_GUINT64_CONSTANT (1) << (fold - 1)))
    {
      g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: fold %d is given twice"), path, (int) fold);
      return FALSE;
    }
  *fold_seen |= G_GUINT64_CONSTANT (1) << (fold - 1);
  cases = json_object_get_array_member (root, "cases");
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonNode *cn = json_array_get_element (cases, i);
      JsonObject *c = JSON_NODE_HOLDS_OBJECT (cn) ? json_node_get_object (cn) : NULL;
      JsonNode *idn = c != NULL ? json_object_get_member (c, "id") : NULL;
      SummaryRow row = { { 0 } };
      gint64 case_fold = fold, voxels;
      double dice;

      if (!c || !json_object_has_member (c, "id") || !json_object_has_member (c, "dice_wt"))
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: case %u has no id or dice_wt"), path, i + 1);
          return FALSE;
        }
      if (!JSON_NODE_HOLDS_VALUE (idn) || json_node_get_value_type (idn) != G_TYPE_STRING
          || !*json_node_get_string (idn))
        {
          g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID, _("%s: case %u: \"id\" is not a case name"), path,
                       i + 1);
          return FALSE;
        }
      {
        const char *bad = NULL;

        if (json_object_has_member (c, "fold") && (!int_member (c, "fold", &case_fold) || case_fold < 1 || case_fold > f))
          bad = "fold";
        for (int r = 0; r < BS_N_REGIONS && bad == NULL; r++)
          if (json_object_has_member (c, dice_members[r])
              && !(r > 0 && JSON_NODE_HOLDS_NULL (json_object_get_member (c, dice_members[r])))
              && !dice_member (c, dice_members[r], &dice))
            bad = dice_members[r];
        if (bad == NULL && json_object_has_member (c, "dice_wt_raw") && !dice_member (c, "dice_wt_raw", &dice))
          bad = "dice_wt_raw";
        if (bad == NULL && json_object_has_member (c, "truth_voxels") && (!int_member (c, "truth_voxels", &voxels) || voxels < 0))
          bad = "truth_voxels";
        if (bad == NULL && json_object_has_member (c, "predicted_voxels")
            && (!int_member (c, "predicted_voxels", &voxels) || voxels < 0))
          bad = "predicted_voxels";
        if (bad != NULL)
          {
            /* TRANSLATORS: %s the report, %s the case, %s the member (dice_wt, fold...) */
            g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                         _("%s: case %s: \"%s\" is not valid (a Dice is a number from 0 to 1, a fold or a count a "
                           "whole number)"), path, json_node_get_string (idn), bad);
            return FALSE;
          }
      }
      for (guint j = 0; j < rows->len; j++)
        {
          const SummaryRow *other = &g_array_index (rows, SummaryRow, j);
          if (g_strcmp0 (other->r.id, json_object_get_string_member (c, "id")) == 0)
            {
              g_set_error (error, BS_IO_ERROR, BS_IO_ERROR_INVALID,
                           _("%s: case %s was already held out in %s; the folds of one cross-validation never share "
                             "a case"),
                           path, other->r.id, other->file);
              return FALSE;
            }
        }
      row.r.id = g_strdup (json_object_get_string_member (c, "id"));
      row.r.fold = (int) case_fold;
      row.r.dice = json_object_get_double_member (c, "dice_wt");
      row.r.dice_raw = json_object_get_double_member_with_default (c, "dice_wt_raw", row.r.dice);
      row.r.truth_voxels = (gsize) json_object_get_int_member_with_default (c, "truth_voxels", 0);
      row.r.predicted_voxels = (gsize) json_object_get_int_member_with_default (c, "predicted_voxels", 0);
      row.r.channels = channels_of (c);
      for (int r = 0; r < BS_N_REGIONS; r++)
        row.r.region_dice[r] = NAN;
      row.r.region_dice[BS_REGION_WT] = row.r.dice;
      for (int r = 1; r < BS_N_REGIONS; r++)
        if (json_object_has_member (c, dice_members[r]))
          {
            JsonNode *v = json_object_get_member (c, dice_members[r]);
            gboolean known = FALSE;
            if (!JSON_NODE_HOLDS_NULL (v))
              row.r.region_dice[r] = json_node_get_double (v);
            for (int k = 0; k < regions->n; k++)
              known = known || regions->r[k] == (BsRegion) r;
            /* columns in region order, whichever report named them first */
            if (!known && regions->n < BS_N_REGIONS)
              {
                int at = regions->n++;
                while (at > 1 && regions->r[at - 1] > (BsRegion) r)
                  {
                    regions->r[at] = regions->r[at - 1];
                    at--;
                  }
                regions->r[at] = r;
              }
          }
      row.file = g_strdup (path);
      g_array_append_val (rows, row);
    }
  return TRUE;
}

static void
summary_json_stats (JsonBuilder *b, const char *name, GArray *rows, gboolean raw)
{
  const SummaryRow *w = worst (rows, raw);
  double sum = 0.0;

  for (guint i = 0; i < rows->len; i++)
    sum += raw ? g_array_index (rows, SummaryRow, i).r.dice_raw : g_array_index (rows, SummaryRow, i).r.dice;
  json_builder_set_member_name (b, name);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "mean");
  json_builder_add_double_value (b, sum / rows->len);
  json_builder_set_member_name (b, "median");
  json_builder_add_double_value (b, median (rows, raw));
  json_builder_set_member_name (b, "worst");
  json_builder_add_double_value (b, raw ? w->r.dice_raw : w->r.dice);
  json_builder_set_member_name (b, "worst_case");
  json_builder_add_string_value (b, w->r.id);
  json_builder_end_object (b);
}

static gboolean
write_summary (const char *out, GArray *rows, gint64 folds, gint64 seed, const BsCliRegions *regions, GError **error)
{
  g_autoptr(JsonBuilder) b = NULL;
  g_autofree char *text = NULL;

  if (is_csv (out))
    {
      g_autoptr(GString) csv = csv_header (regions);
      for (guint i = 0; i < rows->len; i++)
        csv_row (csv, &g_array_index (rows, SummaryRow, i).r, regions);
      return write_text (out, csv->str, error);
    }
  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "folds");
  json_builder_add_int_value (b, folds);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, seed);
  json_builder_set_member_name (b, "cases");
  json_builder_begin_array (b);
  for (guint i = 0; i < rows->len; i++)
    add_case (b, &g_array_index (rows, SummaryRow, i).r, regions);
  json_builder_end_array (b);
  summary_json_stats (b, "dice_wt", rows, FALSE);
  summary_json_stats (b, "dice_wt_raw", rows, TRUE);
  for (int k = 1; k < regions->n; k++)
    {
      /* over the cases whose labels tell the region */
      json_builder_set_member_name (b, dice_members[regions->r[k]]);
      json_builder_begin_object (b);
      bs_cli_json_add_double_or_null (b, "mean", region_mean (rows, sizeof (SummaryRow), G_STRUCT_OFFSET (SummaryRow, r),
                                                  regions->r[k]));
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  text = json_text (b);
  return write_text (out, text, error);
}

static int
cmp_row (gconstpointer a, gconstpointer b)
{
  const SummaryRow *x = a, *y = b;
  return x->r.fold != y->r.fold ? x->r.fold - y->r.fold : g_strcmp0 (x->r.id, y->r.id);
}

int
bs_cli_train_cv_summary (char **reports, const char *out)
{
  g_autoptr(GArray) rows = g_array_new (FALSE, TRUE, sizeof (SummaryRow));
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) missing = g_string_new (NULL);
  gint64 folds = 0, seed = 0;
  guint64 seen = 0;
  double sum = 0.0, sum_raw = 0.0;
  const SummaryRow *w, *w_raw;
  BsCliRegions regions = { 1, { BS_REGION_WT } };

  g_array_set_clear_func (rows, summary_row_clear);
  if (!reports || !reports[0])
    {
      fprintf (stderr, "%s\n", _("brainseg-cli train --cv-summary: give the REPORT.json of every fold"));
      return 2;
    }
  for (char **r = reports; *r; r++)
    if (!read_report (*r, rows, &folds, &seed, &seen, &regions, &error))
      return bs_cli_fail (error);
  if (rows->len == 0)
    {
      fprintf (stderr, "%s\n", _("brainseg-cli train --cv-summary: the reports hold no case"));
      return 1;
    }
  g_array_sort (rows, cmp_row);
  printf ("%-28s %5s %8s %8s", _("Case"), _("Fold"), _("Dice"), _("raw"));
  bs_cli_train_print_region_header (&regions, stdout);
  printf ("  %s\n", _("channels"));
  for (guint i = 0; i < rows->len; i++)
    {
      const SummaryRow *row = &g_array_index (rows, SummaryRow, i);
      printf ("%-28s %5d %8.4f %8.4f", row->r.id, row->r.fold, row->r.dice, row->r.dice_raw);
      bs_cli_train_print_region_row (&regions, &row->r, stdout);
      printf ("  %s\n", row->r.channels);
      sum += row->r.dice;
      sum_raw += row->r.dice_raw;
    }
  w = worst (rows, FALSE);
  w_raw = worst (rows, TRUE);
  printf ("\n%-28s %14.4f %8.4f", _("mean"), sum / rows->len, sum_raw / rows->len);
  for (int k = 1; k < regions.n; k++)
    print_dice (region_mean (rows, sizeof (SummaryRow), G_STRUCT_OFFSET (SummaryRow, r), regions.r[k]), stdout);
  printf ("\n");
  printf ("%-28s %14.4f %8.4f\n", _("median"), median (rows, FALSE), median (rows, TRUE));
  printf ("%-28s %14.4f %8.4f  (%s; raw: %s)\n", _("worst"), w->r.dice, w_raw->r.dice_raw, w->r.id, w_raw->r.id);
  for (int f = 1; f <= folds; f++)
    if (!(seen & (G_GUINT64_CONSTANT (1) << (f - 1))))
      g_string_append_printf (missing, " %d", f);
  printf (g_dngettext (GETTEXT_PACKAGE, "%u case from %d of %d folds (seed %lld)\n",
                       "%u cases from %d of %d folds (seed %lld)\n", rows->len),
          rows->len, (int) g_strv_length (reports), (int) folds, (long long) seed);
  if (missing->len)
    printf (_("Not yet reported, so not in the table: fold%s\n"), missing->str);
  if (out && !write_summary (out, rows, folds, seed, &regions, &error))
    return bs_cli_fail (error);
  if (out)
    printf (_("Wrote %s\n"), out);
  return 0;
}
