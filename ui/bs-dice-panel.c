#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "bs-dice-chart.h"
#include "bs-dice-panel.h"
#include "bs-panel-private.h"

struct _BsDicePanel
{
  GtkBox parent_instance;

  BsSession *session;
  GSignalGroup *signals;

  GtkLabel *title_label;
  GtkLabel *slice_dice_label;
  GtkLabel *volume_dice_label;
  GtkLabel *volume_count_label;
  GtkLabel *missing_label;
  BsDiceChart *dice_chart;
  GtkWidget *regions_grid, *region_box;
  GtkLabel *wt_slice_label, *wt_volume_label, *wt_hd95_label;
  GtkLabel *tc_slice_label, *tc_volume_label, *tc_hd95_label;
  GtkLabel *et_slice_label, *et_volume_label, *et_hd95_label;
  GtkWidget *wt_button, *tc_button, *et_button;
  GtkLabel *region_labels[BS_N_REGIONS][4];  /* the labels above: slice, volume, HD95; then ml */
  GtkWidget *region_buttons[BS_N_REGIONS];
};

static void update_regions (BsDicePanel *self);

/* A case without some of the model's sequences: said where the Dice is read. */
static void
update_missing (BsDicePanel *self)
{
  const char *warning = self->session != NULL && bs_session_get_case (self->session) != NULL
                          ? bs_session_get_missing_inputs_warning (self->session) : NULL;

  gtk_label_set_text (self->missing_label, warning != NULL ? warning : "");
  gtk_widget_set_visible (GTK_WIDGET (self->missing_label), warning != NULL);
}

G_DEFINE_FINAL_TYPE (BsDicePanel, bs_dice_panel, GTK_TYPE_BOX)

enum { PROP_0, PROP_SESSION, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
update_labels (BsDicePanel *self)
{
  BsSession *s = self->session;
  int slice, nn, computed;
  BsConfusion c, raw;
  BsCleanupStats cleanup;
  gboolean empty;
  g_autofree char *slice_text = NULL, *vol_text = NULL, *vol_tip = NULL, *count = NULL;

  if (s == NULL || bs_session_get_case (s) == NULL)
    {
      gtk_label_set_text (self->slice_dice_label, "–");
      gtk_label_set_text (self->volume_dice_label, "–");
      gtk_label_set_text (self->volume_count_label, "");
      update_regions (self);
      return;
    }
  slice = bs_session_get_slice_index (s);
  nn = bs_session_get_n_net_slices (s);
  computed = bs_session_get_n_computed_slices (s);
  if (bs_session_get_truth (s) == NULL)
    {
      gtk_label_set_text (self->slice_dice_label, _("No ground truth"));
      gtk_label_set_text (self->volume_dice_label, _("No ground truth"));
    }
  else
    {
      if (bs_session_get_slice_confusion (s, slice, &c, &empty) && c.tp + c.fp + c.fn == 0)
        /* Dice is 0/0 here, not 1: say what the slice holds (the tooltip says why) */
        slice_text = g_strdup (_("no tumour"));
      else if (bs_session_get_slice_confusion (s, slice, &c, &empty))
        slice_text = g_strdup_printf ("%.4f", bs_confusion_dice (&c));
      else if (bs_session_inference_failed (s))
        slice_text = g_strdup (_("no prediction (inference stopped)"));
      else
        slice_text = g_strdup (_("computing…"));
      bs_session_get_volume_confusion (s, &c, &raw);
      if (computed >= nn && bs_session_planes_pending (s, NULL, NULL)
          && (bs_session_get_cleanup (s, NULL) || !bs_session_get_cleanup_enabled (s)))
        /* TRANSLATORS: the volume Dice of the axial slices alone, while the coronal and sagittal passes of
         * "three planes" still run (or were stopped), after the island clean-up; the final value replaces it */
        vol_text = g_strdup_printf (_("%.4f (axial only)"), bs_confusion_dice (&c));
      else if (computed >= nn && bs_session_planes_pending (s, NULL, NULL))
        /* TRANSLATORS: the same before the island clean-up ("raw"), which waits for the three-plane mean
         * (walk finding: compared with the final cleaned value it overstated what three planes buy) */
        vol_text = g_strdup_printf (_("%.4f (axial only, raw)"), bs_confusion_dice (&c));
      else if (computed >= nn && bs_session_get_n_edits (s, NULL) > 0)
        {
          /* The network's "raw" figure says nothing of the strokes (walk
           * finding: beside a corrected Dice it read as the clean-up's loss). */
          /* TRANSLATORS: the volume Dice of a mask the user corrected with the brush */
          vol_text = g_strdup_printf (_("%.4f (corrected)"), bs_confusion_dice (&c));
          vol_tip = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                  "With your %d correction; Ctrl+Z undoes it",
                                                  "With your %d corrections; Ctrl+Z undoes the last",
                                                  bs_session_get_n_edits (s, NULL)),
                                     bs_session_get_n_edits (s, NULL));
        }
      else if (computed > 0 && bs_session_get_cleanup (s, &cleanup)
               && round (bs_confusion_dice (&c) * 1e4) == round (bs_confusion_dice (&raw) * 1e4))
        {
          /* The value before the clean-up is the same to the four decimals
           * shown: it is not repeated (walk finding: "0.9648 (raw 0.9648)"
           * read as a difference, or as nothing removed); the tooltip says
           * what the clean-up did. */
          vol_text = g_strdup_printf ("%.4f", bs_confusion_dice (&c));
          vol_tip = cleanup.removed == 0
                      ? g_strdup (_("The island clean-up found nothing to remove"))
                      : g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                      "The island clean-up removed %lu voxel; the Dice before it "
                                                      "was the same to four decimals",
                                                      "The island clean-up removed %lu voxels; the Dice before it "
                                                      "was the same to four decimals",
                                                      (gulong) MIN (cleanup.removed, G_MAXULONG)),
                                         (gulong) MIN (cleanup.removed, G_MAXULONG));
        }
      else if (computed > 0 && bs_session_get_cleanup (s, NULL))
        /* TRANSLATORS: volume Dice after the island clean-up, then before it */
        vol_text = g_strdup_printf (_("%.4f (raw %.4f)"), bs_confusion_dice (&c), bs_confusion_dice (&raw));
      else if (computed >= nn)
        vol_text = g_strdup_printf ("%.4f", bs_confusion_dice (&c));
      else if (computed > 0 && c.tp + c.fp + c.fn == 0)
        /* TRANSLATORS: no tumour in the slices computed so far, in truth or prediction: nothing to score yet */
        vol_text = g_strdup (_("– (partial)"));
      else if (computed > 0)
        /* TRANSLATORS: the volume Dice so far, over the slices computed (the line below counts them) */
        vol_text = g_strdup_printf (_("%.4f (partial)"), bs_confusion_dice (&c));
      else
        vol_text = g_strdup ("–");
      gtk_label_set_text (self->slice_dice_label, slice_text);
      gtk_label_set_text (self->volume_dice_label, vol_text);
      bs_widget_set_tooltip (GTK_WIDGET (self->volume_dice_label), vol_tip);
      /* A partial volume Dice is dimmed until every slice ran. */
      if (computed > 0 && (computed < nn || bs_session_planes_pending (s, NULL, NULL)))
        gtk_widget_add_css_class (GTK_WIDGET (self->volume_dice_label), "dim-label");
      else
        gtk_widget_remove_css_class (GTK_WIDGET (self->volume_dice_label), "dim-label");
    }
  if (bs_session_get_plane (s) == bs_session_get_net_plane (s))
    count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d of %d slice computed", "%d of %d slices computed", nn),
                             computed, nn);
  else
    /* TRANSLATORS: the network runs on axial slices; coronal and sagittal views are cut from them */
    count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d of %d axial slice computed",
                                          "%d of %d axial slices computed", nn), computed, nn);
  gtk_label_set_text (self->volume_count_label, count);
  update_regions (self);
}

/* The region's volume Dice and, where the clean-up changed it in the four
 * decimals shown, the Dice before it (raw); FALSE when the raw one is not
 * known or not different. */
static gboolean
region_raw_differs (BsSession *s, BsRegion r, double *dice, double *raw)
{
  BsRegionMetrics m;

  /* with corrections the network's figure is not "before the clean-up" of what is shown */
  if (!bs_session_get_region_metrics (s, r, &m) || !bs_session_get_region_raw_dice (s, r, raw)
      || bs_session_get_n_edits (s, NULL) > 0)
    return FALSE;
  *dice = m.dice;
  return round (*raw * 1e4) != round (m.dice * 1e4);
}

/* One row of the regions table: this slice's Dice, the volume's, its HD95. */
static void
update_region_row (BsDicePanel *self, BsRegion r, gboolean complete)
{
  BsSession *s = self->session;
  GtkLabel **l = self->region_labels[r];
  BsConfusion c;
  BsRegionMetrics m;
  gboolean empty;
  g_autofree char *slice_text = NULL, *vol_text = NULL, *hd_text = NULL, *ml_text = NULL;
  const char *why = NULL;

  if (bs_session_get_truth (s) == NULL && bs_session_model_has_region (s, r))
    {
      /* No ground truth: nothing to score, but the predicted volume is still news. */
      bs_widget_set_tooltip (GTK_WIDGET (l[3]), _("Predicted volume in ml (no ground truth to compare)"));
      for (int k = 0; k < 3; k++)
        {
          gtk_label_set_text (l[k], "–");
          bs_widget_set_tooltip (GTK_WIDGET (l[k]), _("No ground truth for this case"));
        }
      if (bs_session_get_region_metrics (s, r, &m))
        ml_text = g_strdup_printf ("%.1f", m.volume_ml);
      else
        ml_text = g_strdup (complete || bs_session_get_n_computed_slices (s) > 0 ? "…" : "–");
      gtk_label_set_text (l[3], ml_text);
      return;
    }
  /* The model first: on a case without labels, the labels are not why
   * (review finding).  Before a prediction exists, nothing is known of it. */
  if (r != BS_REGION_WT && bs_session_get_probability_volume (s) != NULL && !bs_session_model_has_region (s, r))
    why = _("The model loaded predicts the whole tumour only; the shipped default model (brainseg-default.h5, "
            "through the Model button) predicts this region too");
  else if (bs_session_get_truth (s) == NULL)
    why = _("No ground truth for this case");
  else if (bs_session_get_truth_region (s, r) == NULL)
    why = _("The case's labels do not tell this region apart");
  for (int k = 0; k < 4; k++)
    bs_widget_set_tooltip (GTK_WIDGET (l[k]), why);
  if (why != NULL)
    {
      for (int k = 0; k < 4; k++)
        gtk_label_set_text (l[k], "–");
      /* labels without this region: the model's volume is still news */
      if (bs_session_get_truth (s) != NULL && bs_session_model_has_region (s, r))
        {
          if (bs_session_get_region_metrics (s, r, &m))
            ml_text = g_strdup_printf ("%.1f", m.volume_ml);
          else
            ml_text = g_strdup (complete || bs_session_get_n_computed_slices (s) > 0 ? "…" : "–");
          gtk_label_set_text (l[3], ml_text);
          bs_widget_set_tooltip (GTK_WIDGET (l[3]),
                                       _("Predicted volume in ml (the case's labels do not tell this region apart)"));
        }
      return;
    }
  /* While the volume is recounted (after the clean-up or the three planes)
   * the whole tumour's slice figure waits: the regions' wait with it, rather
   * than show figures of the volume before (walk finding). */
  if ((r == BS_REGION_WT || bs_session_get_slice_confusion (s, bs_session_get_slice_index (s), NULL, NULL))
      && bs_session_get_region_slice_confusion (s, r, bs_session_get_slice_index (s), &c, &empty))
    /* TRANSLATORS: neither truth nor prediction has this region in the slice (Dice undefined) */
    slice_text = c.tp + c.fp + c.fn == 0 ? g_strdup (_("none")) : g_strdup_printf ("%.4f", bs_confusion_dice (&c));
  else
    slice_text = g_strdup ("…");
  if (bs_session_get_region_metrics (s, r, &m))
    {
      double dice, raw;

      vol_text = g_strdup_printf ("%.4f", m.dice);
      /* what the clean-up (the core's filling and trimming) did to the
       * region, as the whole tumour's "raw" says it (walk finding) */
      if (region_raw_differs (s, r, &dice, &raw))
        {
          /* TRANSLATORS: tooltip of a region's volume Dice: the same before the clean-up */
          g_autofree char *tip = g_strdup_printf (_("Before the clean-up (raw): %.4f"), raw);

          bs_widget_set_tooltip (GTK_WIDGET (l[1]), tip);
        }
      /* TRANSLATORS: a distance in millimetres */
      hd_text = g_strdup_printf (_("%.1f mm"), m.hd95_mm);
      /* TRANSLATORS: predicted volume in ml, the ground truth's in brackets */
      ml_text = g_strdup_printf (_("%.1f (%.1f)"), m.volume_ml, m.true_volume_ml);
    }
  else
    {
      vol_text = g_strdup (complete || bs_session_get_n_computed_slices (s) > 0 ? "…" : "–");
      hd_text = g_strdup (vol_text);
      ml_text = g_strdup (vol_text);
    }
  gtk_label_set_text (l[0], slice_text);
  gtk_label_set_text (l[1], vol_text);
  gtk_label_set_text (l[2], hd_text);
  gtk_label_set_text (l[3], ml_text);
}

/* The big figures follow the region chosen for the chart and the overlay
 * when the labels score it (walk finding: with the tumour core chosen they
 * still showed the whole tumour); they keep the whole tumour's otherwise. */
static void
update_headline (BsDicePanel *self)
{
  BsSession *s = self->session;
  BsRegion r = s != NULL ? bs_session_get_region (s) : BS_REGION_WT;
  g_autofree char *title = NULL;

  if (r != BS_REGION_WT && (bs_session_get_case (s) == NULL || bs_session_get_truth (s) == NULL
                            || bs_session_get_truth_region (s, r) == NULL || !bs_session_model_has_region (s, r)))
    r = BS_REGION_WT;
  /* TRANSLATORS: the panel's heading; %s is "whole tumour", "tumour core" or "enhancing tumour" */
  title = g_strdup_printf (_("Dice (%s)"), bs_region_label (r));
  gtk_label_set_text (self->title_label, title);
  if (r == BS_REGION_WT)
    return;
  /* the region's row: "none" (nothing of it in truth or prediction) reads as the whole tumour's "no tumour" */
  if (g_strcmp0 (gtk_label_get_text (self->region_labels[r][0]), _("none")) == 0)
    gtk_label_set_text (self->slice_dice_label, _("no tumour"));
  else
    gtk_label_set_text (self->slice_dice_label, gtk_label_get_text (self->region_labels[r][0]));
  {
    double dice, raw;

    if (region_raw_differs (s, r, &dice, &raw))
      {
        g_autofree char *text = g_strdup_printf (_("%.4f (raw %.4f)"), dice, raw);

        gtk_label_set_text (self->volume_dice_label, text);
      }
    else
      gtk_label_set_text (self->volume_dice_label, gtk_label_get_text (self->region_labels[r][1]));
    /* the region's tooltip, not the whole tumour's clean-up note */
    bs_widget_set_tooltip (GTK_WIDGET (self->volume_dice_label),
                           gtk_widget_get_tooltip_text (GTK_WIDGET (self->region_labels[r][1])));
  }
  if (!bs_session_volume_complete (s) || bs_session_planes_pending (s, NULL, NULL))
    gtk_widget_add_css_class (GTK_WIDGET (self->volume_dice_label), "dim-label");
}

/* The regions table wherever there is a ground truth or a region model (a
 * binary label still gives the whole tumour's HD95 and volumes); the region
 * switch where the labels or the model know the regions. */
static void
update_regions (BsDicePanel *self)
{
  BsSession *s = self->session;
  gboolean truth, regions, model, shown;

  truth = s != NULL && bs_session_get_case (s) != NULL && bs_session_get_truth (s) != NULL;
  regions = truth && bs_session_get_truth_region (s, BS_REGION_TC) != NULL;
  model = s != NULL && bs_session_model_has_region (s, BS_REGION_TC);
  /* With a case open the table is there, even for a whole-tumour model on
   * a case without labels: its row gives the predicted volume (review finding). */
  shown = truth || model || (s != NULL && bs_session_get_case (s) != NULL);
  /* No case yet: the table and the selector stand empty, so that the panel
   * keeps its width when the first case opens (walk finding: it widened by
   * 78 px and every option under the views moved left under the pointer). */
  if (!shown)
    {
      gtk_widget_set_visible (self->regions_grid, TRUE);
      gtk_widget_set_visible (self->region_box, TRUE);
      for (int r = 0; r < BS_N_REGIONS; r++)
        {
          for (int k = 0; k < 4; k++)
            {
              gtk_label_set_text (self->region_labels[r][k], "–");
              bs_widget_set_tooltip (GTK_WIDGET (self->region_labels[r][k]), NULL);
            }
          gtk_widget_set_sensitive (self->region_buttons[r], r == BS_REGION_WT);
        }
      update_headline (self);
      return;
    }
  gtk_widget_set_visible (self->regions_grid, shown);
  gtk_widget_set_visible (self->region_box, regions || model);
  for (int r = 0; r < BS_N_REGIONS; r++)
    {
      update_region_row (self, r, bs_session_volume_complete (s));
      /* without a truth of the region (no labels, or labels without it) the
       * overlay still shows the chosen predicted region alone (walk finding:
       * TC and ET were greyed out on TCGA-DU-7294, with no reason given) */
      gtk_widget_set_sensitive (self->region_buttons[r], r == BS_REGION_WT || bs_session_model_has_region (s, r));
    }
  update_headline (self);
}

static void
update_chart (BsDicePanel *self, int first, int n)
{
  BsSession *s = self->session;
  int total = s != NULL ? bs_session_get_n_slices (s) : 0;

  /* walk finding: empty axes said nothing on a case without labels */
  if (s != NULL && bs_session_get_case (s) != NULL && bs_session_get_truth (s) == NULL)
    bs_dice_chart_set_message (self->dice_chart, _("No ground truth: nothing to score per slice"));
  else if (s != NULL && bs_session_get_case (s) != NULL
           && bs_session_get_truth_region (s, bs_session_get_region (s)) == NULL)
    bs_dice_chart_set_message (self->dice_chart,
                               _("The case's labels do not tell this region apart: nothing to score per slice"));
  else
    bs_dice_chart_set_message (self->dice_chart, NULL);
  if (s == NULL || bs_session_get_case (s) == NULL)
    bs_dice_chart_set_axis_title (self->dice_chart, NULL);
  else if (bs_session_get_plane (s) == BS_PLANE_CORONAL)
    /* TRANSLATORS: under the per-slice Dice chart: its bars are coronal slices */
    bs_dice_chart_set_axis_title (self->dice_chart, _("Coronal slice"));
  else if (bs_session_get_plane (s) == BS_PLANE_SAGITTAL)
    /* TRANSLATORS: under the per-slice Dice chart: its bars are sagittal slices */
    bs_dice_chart_set_axis_title (self->dice_chart, _("Sagittal slice"));
  else
    /* TRANSLATORS: under the per-slice Dice chart: its bars are axial slices */
    bs_dice_chart_set_axis_title (self->dice_chart, _("Axial slice"));
  if (n < 0)
    {
      bs_dice_chart_reset (self->dice_chart, total);
      first = 0;
      n = total;
    }
  for (int k = first; k < first + n && k < total; k++)
    {
      BsConfusion c;
      gboolean empty;

      if (bs_session_get_region_slice_confusion (s, bs_session_get_region (s), k, &c, &empty))
        bs_dice_chart_set_value (self->dice_chart, k, bs_confusion_dice (&c), empty);
    }
  if (s != NULL)
    bs_dice_chart_set_current (self->dice_chart, bs_session_get_slice_index (s));
}

static void
on_results_changed (BsSession *session, int first, int n, BsDicePanel *self)
{
  /* A result in another plane than the one shown changes every slice of it
   * (the session says (0, -1)); a range of the network's slices there is a
   * correction's, painted on the slice shown: that one bar is counted again,
   * not the whole chart at every movement of the brush (review finding). */
  if (bs_session_get_plane (session) != bs_session_get_net_plane (session))
    {
      if (n >= 0)
        {
          first = bs_session_get_slice_index (session);
          n = 1;
        }
    }
  update_chart (self, first, n);
  update_labels (self);
}

static void
on_slice (BsSession *session, GParamSpec *pspec, BsDicePanel *self)
{
  bs_dice_chart_set_current (self->dice_chart, bs_session_get_slice_index (session));
  update_labels (self);
}

static void
on_reset (BsSession *session, GParamSpec *pspec, BsDicePanel *self)
{
  update_chart (self, 0, -1);
  update_labels (self);
}

static void
on_slice_activated (BsDiceChart *chart, int slice, BsDicePanel *self)
{
  if (self->session != NULL)
    bs_session_set_slice_index (self->session, slice);
}

void
bs_dice_panel_set_session (BsDicePanel *self, BsSession *session)
{
  g_return_if_fail (BS_IS_DICE_PANEL (self));
  if (!g_set_object (&self->session, session))
    return;
  g_signal_group_set_target (self->signals, session);
  on_reset (session, NULL, self);
  update_missing (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

/* The missing-sequences warning as shown, or NULL when hidden. */
const char *
bs_dice_panel_get_missing_text (BsDicePanel *self)
{
  return gtk_widget_get_visible (GTK_WIDGET (self->missing_label)) ? gtk_label_get_text (self->missing_label) : NULL;
}

const char *
bs_dice_panel_get_title_text (BsDicePanel *self)
{
  return gtk_label_get_text (self->title_label);
}

const char *
bs_dice_panel_get_slice_text (BsDicePanel *self)
{
  return gtk_label_get_text (self->slice_dice_label);
}

const char *
bs_dice_panel_get_volume_text (BsDicePanel *self)
{
  return gtk_label_get_text (self->volume_dice_label);
}

const char *
bs_dice_panel_get_region_text (BsDicePanel *self, BsRegion region, int column)
{
  g_return_val_if_fail (region >= 0 && region < BS_N_REGIONS && column >= 0 && column < 4, NULL);
  return gtk_widget_get_visible (self->regions_grid) ? gtk_label_get_text (self->region_labels[region][column]) : NULL;
}

gboolean
bs_dice_panel_region_selectable (BsDicePanel *self, BsRegion region)
{
  g_return_val_if_fail (region >= 0 && region < BS_N_REGIONS, FALSE);
  return gtk_widget_get_visible (self->region_box) && gtk_widget_get_sensitive (self->region_buttons[region]);
}

static void
bs_dice_panel_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  BsDicePanel *self = BS_DICE_PANEL (object);

  if (prop_id == PROP_SESSION)
    g_value_set_object (value, self->session);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_dice_panel_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  BsDicePanel *self = BS_DICE_PANEL (object);

  if (prop_id == PROP_SESSION)
    bs_dice_panel_set_session (self, g_value_get_object (value));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_dice_panel_dispose (GObject *object)
{
  BsDicePanel *self = BS_DICE_PANEL (object);

  g_signal_group_set_target (self->signals, NULL);
  g_clear_object (&self->signals);
  g_clear_object (&self->session);
  gtk_widget_dispose_template (GTK_WIDGET (self), BS_TYPE_DICE_PANEL);
  G_OBJECT_CLASS (bs_dice_panel_parent_class)->dispose (object);
}

static void
bs_dice_panel_class_init (BsDicePanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = bs_dice_panel_get_property;
  object_class->set_property = bs_dice_panel_set_property;
  object_class->dispose = bs_dice_panel_dispose;
  properties[PROP_SESSION] = BS_PANEL_SESSION_PSPEC ();
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (BS_TYPE_DICE_CHART);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/brainseg/Brainseg/ui/bs-dice-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, slice_dice_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, volume_dice_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, volume_count_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, missing_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, dice_chart);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, title_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, regions_grid);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, region_box);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, wt_slice_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, wt_volume_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, wt_hd95_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, wt_button);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, tc_slice_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, tc_volume_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, tc_hd95_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, tc_button);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, et_slice_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, et_volume_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, et_hd95_label);
  gtk_widget_class_bind_template_child (widget_class, BsDicePanel, et_button);
}

static void
bs_dice_panel_init (BsDicePanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  {
    GtkLabel *labels[BS_N_REGIONS][3] = {
      { self->wt_slice_label, self->wt_volume_label, self->wt_hd95_label },
      { self->tc_slice_label, self->tc_volume_label, self->tc_hd95_label },
      { self->et_slice_label, self->et_volume_label, self->et_hd95_label },
    };
    for (int r = 0; r < BS_N_REGIONS; r++)
      {
        GtkWidget *ml = gtk_label_new ("–");

        memcpy (self->region_labels[r], labels[r], sizeof labels[r]);
        /* predicted volume, the truth's in brackets, "58.7 (80.7)": room for
         * "158.7 (180.7)" from the start, so a large tumour does not widen the
         * side panel */
        gtk_label_set_xalign (GTK_LABEL (ml), 0.0f);
        gtk_label_set_width_chars (GTK_LABEL (ml), 13);
        gtk_widget_add_css_class (ml, "numeric");
        gtk_grid_attach (GTK_GRID (self->regions_grid), ml, 4, r + 1, 1, 1);
        self->region_labels[r][3] = GTK_LABEL (ml);
      }
    self->region_buttons[BS_REGION_WT] = self->wt_button;
    self->region_buttons[BS_REGION_TC] = self->tc_button;
    self->region_buttons[BS_REGION_ET] = self->et_button;
  }
  g_signal_connect (self->dice_chart, "slice-activated", G_CALLBACK (on_slice_activated), self);
  self->signals = g_signal_group_new (BS_TYPE_SESSION);
  g_signal_group_connect (self->signals, "results-changed", G_CALLBACK (on_results_changed), self);
  g_signal_group_connect (self->signals, "notify::slice", G_CALLBACK (on_slice), self);
  g_signal_group_connect (self->signals, "notify::plane", G_CALLBACK (on_reset), self);
  g_signal_group_connect (self->signals, "notify::case", G_CALLBACK (on_reset), self);
  g_signal_group_connect (self->signals, "notify::generation", G_CALLBACK (on_reset), self);
  g_signal_group_connect (self->signals, "notify::region", G_CALLBACK (on_reset), self);
  g_signal_group_connect_swapped (self->signals, "notify::inputs-text", G_CALLBACK (update_missing), self);
  g_signal_group_connect_swapped (self->signals, "notify::case", G_CALLBACK (update_missing), self);
  g_signal_group_connect (self->signals, "notify::n-computed", G_CALLBACK (on_slice), self);
  g_signal_group_connect (self->signals, "notify::busy", G_CALLBACK (on_slice), self);
  g_signal_group_connect (self->signals, "notify::edits", G_CALLBACK (on_slice), self);
  update_labels (self);
}
