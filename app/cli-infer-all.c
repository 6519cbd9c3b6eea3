/* brainseg-cli infer --all-cases: a line per case, the summary of them all,
 * and the cases of processes of one run gathered into the first. */
#include <glib/gi18n.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bs-dist.h"
#include "bs-labels.h"
#include "cli-infer-all.h"
#include "cli-json.h"

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* A region's Dice in a case's JSON object, NaN where it has none. */
static double
case_dice (JsonObject *o, int r)
{
  JsonObject *regions = json_object_get_object_member (o, "regions");
  JsonObject *m = regions ? json_object_get_object_member (regions, bs_region_name (r)) : NULL;

  if (m == NULL || !json_object_has_member (m, "dice") || json_object_get_null_member (m, "dice"))
    return NAN;
  return json_object_get_double_member (m, "dice");
}

/* One line of a case of a dataset: its regions' Dice, the tumour's volume,
 * its seconds and where its mask went. */
void
bs_cli_print_case_line (JsonObject *o)
{
  static const char *const abbrev[BS_N_REGIONS] = { "WT", "TC", "ET" };
  JsonObject *wt = json_object_get_object_member (json_object_get_object_member (o, "regions"), "wt");
  gboolean any = FALSE;

  printf ("%s:", json_object_get_string_member (o, "case"));
  for (int r = 0; r < BS_N_REGIONS; r++)
    if (!isnan (case_dice (o, r)))
      {
        printf (" %s %.4f", abbrev[r], case_dice (o, r));
        any = TRUE;
      }
  if (!any)
    printf (" %s", _("no ground truth"));
  printf (_(" · %.1f ml · %.2f s"), json_object_get_double_member (wt, "volume_ml"),
          json_object_get_double_member (o, "load_seconds") + json_object_get_double_member (o, "total_seconds"));
  if (!json_object_get_null_member (o, "out"))
    printf (" → %s", json_object_get_string_member (o, "out"));
  printf ("\n");
}

/* The Dice of region r over the cases that have it: n, mean, median,
 * worst and its case (NULL when no case has it). */
static int
region_summary (JsonArray *cases, int r, double *mean, double *median, double *worst, const char **worst_case)
{
  guint len = json_array_get_length (cases);
  g_autofree double *v = g_new (double, MAX (len, 1));
  int n = 0;

  *mean = *median = *worst = NAN;
  *worst_case = NULL;
  for (guint i = 0; i < len; i++)
    {
      JsonObject *o = json_array_get_object_element (cases, i);
      double d = case_dice (o, r);

      if (isnan (d))
        continue;
      if (n == 0 || d < *worst)
        {
          *worst = d;
          *worst_case = json_object_get_string_member (o, "case");
        }
      v[n++] = d;
    }
  if (n == 0)
    return 0;
  *mean = 0;
  for (int i = 0; i < n; i++)
    *mean += v[i] / n;
  qsort (v, n, sizeof *v, compare_double);
  *median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return n;
}

/* After every case of a dataset: the JSON object of them all, or the
 * summary lines. */
void
bs_cli_print_cases_summary (gboolean json, JsonArray *cases, JsonArray *failed_cases, double seconds)
{
  static const char *const names[BS_N_REGIONS] = { N_("whole tumour"), N_("tumour core"), N_("enhancing tumour") };
  g_autofree char *who = bs_dist_describe ();
  guint n_cases = json_array_get_length (cases);
  int failed = (int) json_array_get_length (failed_cases);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "cases");
      json_builder_add_value (b, json_node_init_array (json_node_alloc (), cases));
      json_builder_set_member_name (b, "summary");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "cases");
      json_builder_add_int_value (b, n_cases);
      json_builder_set_member_name (b, "failed");
      json_builder_add_int_value (b, failed);
      /* which (their errors went to stderr) */
      json_builder_set_member_name (b, "failed_cases");
      json_builder_add_value (b, json_node_init_array (json_node_alloc (), failed_cases));
      json_builder_set_member_name (b, "seconds");
      json_builder_add_double_value (b, seconds);
      json_builder_set_member_name (b, "processes");
      json_builder_add_int_value (b, bs_dist_size ());
      for (int r = 0; r < BS_N_REGIONS; r++)
        {
          double mean, median, worst;
          const char *worst_case;
          int n = region_summary (cases, r, &mean, &median, &worst, &worst_case);

          json_builder_set_member_name (b, bs_region_name (r));
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "n");
          json_builder_add_int_value (b, n);
          bs_cli_json_add_double_or_null (b, "mean_dice", mean);
          bs_cli_json_add_double_or_null (b, "median_dice", median);
          bs_cli_json_add_double_or_null (b, "worst_dice", worst);
          json_builder_set_member_name (b, "worst_case");
          if (worst_case != NULL)
            json_builder_add_string_value (b, worst_case);
          else
            json_builder_add_null_value (b);
          json_builder_end_object (b);
        }
      json_builder_end_object (b);
      json_builder_end_object (b);
      bs_cli_print_json (b);
      return;
    }
  /* TRANSLATORS: "6 cases in 10.9 s (one process)", or "(2 processes (MPI, 2 on this machine))" */
  printf (g_dngettext (GETTEXT_PACKAGE, "%u case in %.1f s (%s)", "%u cases in %.1f s (%s)", n_cases), n_cases, seconds,
          who);
  if (failed > 0)
    printf (g_dngettext (GETTEXT_PACKAGE, ", %d failed (its error says why)", ", %d failed (their errors say why)", failed),
            failed);
  printf ("\n");
  for (int r = 0; r < BS_N_REGIONS; r++)
    {
      double mean, median, worst;
      const char *worst_case;
      int n = region_summary (cases, r, &mean, &median, &worst, &worst_case);

      if (n > 0)
        /* TRANSLATORS: a region's Dice over the cases with its ground truth: mean, median, the worst and its case */
        printf (g_dngettext (GETTEXT_PACKAGE, "%s Dice: mean %.4f, median %.4f, worst %.4f (%s), over %d case\n",
                             "%s Dice: mean %.4f, median %.4f, worst %.4f (%s), over %d cases\n", n),
                _(names[r]), mean, median, worst, worst_case, n);
    }
}

static int
compare_index (gconstpointer a, gconstpointer b)
{
  JsonObject *x = json_node_get_object (*(JsonNode *const *) a), *y = json_node_get_object (*(JsonNode *const *) b);
  gint64 i = json_object_get_int_member (x, "index"), j = json_object_get_int_member (y, "index");

  return (i > j) - (i < j);
}

/* Processes of one run: every one's cases (and failures) gathered into the
 * first, in the dataset's order; NULL in the others. */
JsonArray *
bs_cli_gather_cases (JsonArray *mine, JsonArray *failed_cases)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) all = NULL;
  g_autoptr(GPtrArray) nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  JsonArray *merged;

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "failed_cases");
  json_builder_add_value (b, json_node_init_array (json_node_alloc (), failed_cases));
  json_builder_set_member_name (b, "cases");
  json_builder_add_value (b, json_node_init_array (json_node_alloc (), mine));
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  text = json_generator_to_data (gen, NULL);
  /* JSON must be UTF-8 (a case id from a file name need not be) */
  if (!g_utf8_validate (text, -1, NULL))
    {
      char *valid = g_utf8_make_valid (text, -1);

      g_free (text);
      text = valid;
    }
  all = bs_dist_gather_to_first (text);
  if (all == NULL)
    return NULL;
  /* the first process's own failures are among what it gathered */
  while (json_array_get_length (failed_cases) > 0)
    json_array_remove_element (failed_cases, 0);
  for (char **t = all; *t; t++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *o;
      JsonArray *cases;

      if (!json_parser_load_from_data (parser, *t, -1, NULL))
        {
          /* its cases are lost: say so, and count them as failed */
          g_autofree char *what = g_strdup_printf (_("the results of process %d"), (int) (t - all));

          fprintf (stderr, _("brainseg-cli infer: %s could not be read\n"), what);
          json_array_add_string_element (failed_cases, what);
          continue;
        }
      o = json_node_get_object (json_parser_get_root (parser));
      {
        JsonArray *theirs = json_object_get_array_member (o, "failed_cases");

        for (guint i = 0; theirs != NULL && i < json_array_get_length (theirs); i++)
          json_array_add_string_element (failed_cases, json_array_get_string_element (theirs, i));
      }
      cases = json_object_get_array_member (o, "cases");
      for (guint i = 0; i < json_array_get_length (cases); i++)
        g_ptr_array_add (nodes, json_node_copy (json_array_get_element (cases, i)));
    }
  g_ptr_array_sort (nodes, compare_index);
  merged = json_array_new ();
  for (guint i = 0; i < nodes->len; i++)
    json_array_add_element (merged, json_node_copy (nodes->pdata[i]));
  return merged;
}

