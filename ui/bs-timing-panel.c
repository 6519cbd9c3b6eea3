#include <glib/gi18n.h>
#include <string.h>

#include "bs-panel-private.h"
#include "bs-timing-panel.h"

#define SLOWEST_LAYERS 5
/* Every stage a run can have: preprocess, reorder, network, test-time flips,
 * output, render. */
#define BASE_TIMING_LINES 6
/* Runs in the speed line's median before it stops saying "settling". */
#define SETTLE_RUNS 5

struct _BsTimingPanel
{
  GtkBox parent_instance;

  BsSession *session;
  GSignalGroup *signals;
  double render_ms;
  /* The most lines the plan label and the timing rows have shown: shorter
   * texts are padded to them, so the controls below never move. */
  int plan_lines, timing_lines;
  gboolean plan_reserved;
  gboolean layers_shown;  /* per-layer profiling on when the rows were last sized */

  GtkLabel *speed_label;
  GtkGrid *timing_grid;
  GtkLabel *plan_label;
  GtkLabel *cpu_label;
  GtkLabel *names_label;
  GtkLabel *values_label;
};

G_DEFINE_FINAL_TYPE (BsTimingPanel, bs_timing_panel, GTK_TYPE_BOX)

enum { PROP_0, PROP_SESSION, N_PROPS };
static GParamSpec *properties[N_PROPS];

static int
compare_entries_desc (gconstpointer a, gconstpointer b)
{
  const BsTimingEntry *ea = a, *eb = b;

  return (ea->ms < eb->ms) - (ea->ms > eb->ms);
}

static void
timing_line (GString *names, GString *values, const char *name, const char *value, gboolean dim)
{
  g_autofree char *n = g_markup_escape_text (name, -1);
  g_autofree char *v = g_markup_escape_text (value, -1);
  const char *sep = names->len > 0 ? "\n" : "";

  if (dim)
    {
      g_string_append_printf (names, "%s<span alpha=\"60%%\">%s</span>", sep, n);
      g_string_append_printf (values, "%s<span alpha=\"60%%\">%s</span>", sep, v);
    }
  else
    {
      g_string_append_printf (names, "%s%s", sep, n);
      g_string_append_printf (values, "%s%s", sep, v);
    }
}

/* Keeps w at least as tall as the tallest it has been at its width. */
static void
hold_height (GtkWidget *w)
{
  int width = gtk_widget_get_width (w), min = 0, nat = 0, held = 0;

  if (width <= 0)
    return;
  gtk_widget_measure (w, GTK_ORIENTATION_VERTICAL, width, &min, &nat, NULL, NULL);
  gtk_widget_get_size_request (w, NULL, &held);
  if (nat > held)
    gtk_widget_set_size_request (w, -1, nat);
}

static int
count_lines (const char *s)
{
  int n = *s ? 1 : 0;

  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static void
pad_lines (GString *s, int lines)
{
  for (int n = count_lines (s->str); n < lines; n++)
    g_string_append (s, n == 0 && s->len == 0 ? " " : "\n ");
}

static void
set_timing_text (BsTimingPanel *self, GString *names, GString *values)
{
  self->timing_lines = MAX (self->timing_lines, count_lines (names->str));
  pad_lines (names, self->timing_lines);
  pad_lines (values, self->timing_lines);
  gtk_label_set_markup (self->names_label, names->str);
  gtk_label_set_markup (self->values_label, values->str);
  hold_height (GTK_WIDGET (self->timing_grid));
}

static const char *
stage_label (const char *id)
{
  if (g_str_equal (id, "preprocess"))
    return _("Preprocess");
  if (g_str_equal (id, "reorder"))
    return _("Reorder");
  if (g_str_equal (id, "network"))
    return _("Network");
  if (g_str_equal (id, "output"))
    return _("Output");
  if (g_str_equal (id, "flips"))
    /* TRANSLATORS: timing stage: mirroring slices and averaging the two passes */
    return _("Test-time flips");
  if (g_str_equal (id, "threshold"))
    return _("Threshold");
  if (g_str_equal (id, "render"))
    return _("Render");
  return id;
}

static void
update (BsTimingPanel *self)
{
  BsSession *s = self->session;
  g_autoptr(GString) names = g_string_new (NULL);
  g_autoptr(GString) values = g_string_new (NULL);
  g_autoptr(GString) plan = g_string_new (NULL);
  BsTimingEntry layers[BS_TIMING_MAX_LAYERS];
  BsTiming t;
  const char *plan_text = s != NULL ? bs_session_get_plan_text (s) : NULL;
  const char *inputs_text = s != NULL ? bs_session_get_inputs_text (s) : NULL;
  int n_layers, n_runs = 0;

  g_string_printf (plan, "%s%s%s", plan_text != NULL ? plan_text : "",
                   plan_text != NULL && inputs_text != NULL ? "\n" : "", inputs_text != NULL ? inputs_text : "");
  if (s != NULL && plan_text != NULL && bs_session_get_planes_ms (s) > 0)
    {
      g_string_append_c (plan, '\n');
      /* TRANSLATORS: timing panel, after the plan: how long the coronal and sagittal passes of the three-plane mean took */
      g_string_append_printf (plan, _("Three planes: coronal and sagittal passes %.1f s"),
                              bs_session_get_planes_ms (s) / 1000.0);
    }
  self->plan_lines = MAX (self->plan_lines, count_lines (plan->str));
  pad_lines (plan, self->plan_lines);
  gtk_label_set_text (self->plan_label, plan->str);
  /* One line of room from the first plan on: turning test-time flips on
   * lengthens the plan line, which then wraps into it instead of pushing the
   * switches below. */
  if (plan_text != NULL && !self->plan_reserved && gtk_widget_get_width (GTK_WIDGET (self->plan_label)) > 0)
    {
      g_autoptr(PangoLayout) one = gtk_widget_create_pango_layout (GTK_WIDGET (self->plan_label), "X");
      int min = 0, nat = 0, line = 0;

      pango_layout_get_pixel_size (one, NULL, &line);
      gtk_widget_measure (GTK_WIDGET (self->plan_label), GTK_ORIENTATION_VERTICAL,
                          gtk_widget_get_width (GTK_WIDGET (self->plan_label)), &min, &nat, NULL, NULL);
      gtk_widget_set_size_request (GTK_WIDGET (self->plan_label), -1, nat + line);
      self->plan_reserved = TRUE;
    }
  hold_height (GTK_WIDGET (self->plan_label));

  /* Per-layer profiling adds its rows at once when it is switched on and
   * takes them away when it is switched off (walk finding: the rows came
   * one result later and left a gap behind). */
  if (s != NULL)
    {
      BsPlanOptions o;

      bs_session_get_plan_options (s, &o);
      if (o.profile_layers != self->layers_shown)
        {
          self->layers_shown = o.profile_layers;
          self->timing_lines = BASE_TIMING_LINES + (o.profile_layers ? 1 + SLOWEST_LAYERS : 0);
          gtk_widget_set_size_request (GTK_WIDGET (self->timing_grid), -1, -1);
        }
    }

  if (s == NULL || !bs_session_get_steady_timing (s, &t))
    {
      gtk_label_set_text (self->speed_label, s != NULL && bs_session_is_ready (s) ? _("Waiting for the first slice…") : "");
      set_timing_text (self, names, values);
      return;
    }
  {
    double ms_per_slice = bs_session_get_steady_ms_per_slice (s, &n_runs);
    g_autofree char *speed = g_strdup_printf (_("%.1f ms/slice · %.1f slices/s"), ms_per_slice,
                                              ms_per_slice > 0 ? 1000.0 / ms_per_slice : 0.0);
    g_autofree char *tip = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                         "Median over the last %d run of the network (preprocessing to output, without drawing), as are the stages below",
                                                         "Median over the last %d runs of the network (preprocessing to output, without drawing), as are the stages below",
                                                         n_runs), n_runs);

    /* The first runs of a new plan are slower (first touches, warm caches):
     * until a few have run the figure is dimmed and says it is settling
     * (walk finding: it halved between the first slices and the end). */
    if (n_runs < SETTLE_RUNS)
      {
        /* TRANSLATORS: after the speed line, while only the first few runs of a new plan are in its median */
        g_autofree char *settling = g_strdup_printf ("%s · %s", speed, _("settling"));

        gtk_label_set_text (self->speed_label, settling);
        gtk_widget_add_css_class (GTK_WIDGET (self->speed_label), "dim-label");
      }
    else
      {
        gtk_label_set_text (self->speed_label, speed);
        gtk_widget_remove_css_class (GTK_WIDGET (self->speed_label), "dim-label");
      }
    bs_widget_set_tooltip (GTK_WIDGET (self->speed_label), tip);
    /* The line wraps where the side panel is narrower than it ("settling"
     * onto a second line): it keeps that height, so the rows below do not
     * move up when settling ends. */
    hold_height (GTK_WIDGET (self->speed_label));
  }
  for (int i = 0; i < t.n_stages; i++)
    {
      g_autofree char *v = g_strdup_printf (_("%.2f ms"), t.stages[i].ms / t.n_slices);

      timing_line (names, values, stage_label (t.stages[i].name), v, FALSE);
    }
  {
    g_autofree char *v = g_strdup_printf (_("%.2f ms"), self->render_ms);

    timing_line (names, values, stage_label ("render"), v, FALSE);
  }
  n_layers = t.n_layers;
  if (n_layers > 0)
    {
      /* TRANSLATORS: heading of the per-layer rows: each layer's time per slice in the last run */
      timing_line (names, values, _("Slowest layers (last run)"), " ", FALSE);
      memcpy (layers, t.layers, sizeof layers[0] * n_layers);
      qsort (layers, n_layers, sizeof layers[0], compare_entries_desc);
      for (int i = 0; i < MIN (n_layers, SLOWEST_LAYERS); i++)
        {
          g_autofree char *v = g_strdup_printf (_("%.2f ms"), layers[i].ms / t.n_slices);

          timing_line (names, values, layers[i].name, v, TRUE);
        }
    }
  set_timing_text (self, names, values);
}

static void
on_changed (BsTimingPanel *self)
{
  update (self);
}

void
bs_timing_panel_set_session (BsTimingPanel *self, BsSession *session)
{
  g_return_if_fail (BS_IS_TIMING_PANEL (self));
  if (!g_set_object (&self->session, session))
    return;
  g_signal_group_set_target (self->signals, session);
  update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

void
bs_timing_panel_set_render_ms (BsTimingPanel *self, double ms)
{
  self->render_ms = ms;
}

const char *
bs_timing_panel_get_speed_text (BsTimingPanel *self)
{
  return gtk_label_get_text (self->speed_label);
}

static void
bs_timing_panel_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    g_value_set_object (value, BS_TIMING_PANEL (object)->session);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_timing_panel_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    bs_timing_panel_set_session (BS_TIMING_PANEL (object), g_value_get_object (value));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_timing_panel_dispose (GObject *object)
{
  BsTimingPanel *self = BS_TIMING_PANEL (object);

  g_signal_group_set_target (self->signals, NULL);
  g_clear_object (&self->signals);
  g_clear_object (&self->session);
  gtk_widget_dispose_template (GTK_WIDGET (self), BS_TYPE_TIMING_PANEL);
  G_OBJECT_CLASS (bs_timing_panel_parent_class)->dispose (object);
}

static void
bs_timing_panel_class_init (BsTimingPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = bs_timing_panel_get_property;
  object_class->set_property = bs_timing_panel_set_property;
  object_class->dispose = bs_timing_panel_dispose;
  properties[PROP_SESSION] = BS_PANEL_SESSION_PSPEC ();
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/brainseg/Brainseg/ui/bs-timing-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, BsTimingPanel, speed_label);
  gtk_widget_class_bind_template_child (widget_class, BsTimingPanel, timing_grid);
  gtk_widget_class_bind_template_child (widget_class, BsTimingPanel, plan_label);
  gtk_widget_class_bind_template_child (widget_class, BsTimingPanel, cpu_label);
}

static void
bs_timing_panel_init (BsTimingPanel *self)
{
  g_autofree char *cpu = bs_cpu_description ();

  gtk_widget_init_template (GTK_WIDGET (self));
  /* Room from the start for every stage a run can have (preprocess, reorder,
   * network, test-time flips, output, render), so that switching flips on
   * adds no row under the pointer. */
  self->timing_lines = BASE_TIMING_LINES;
  /* Two multi-line labels (names, values): their text changes at inference
   * rate, so no widgets are made or hidden per result. */
  self->names_label = GTK_LABEL (gtk_label_new (NULL));
  self->values_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->names_label, 0);
  gtk_label_set_xalign (self->values_label, 1);
  gtk_label_set_justify (self->values_label, GTK_JUSTIFY_RIGHT);
  gtk_widget_set_hexpand (GTK_WIDGET (self->names_label), TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->values_label), "numeric");
  gtk_grid_attach (self->timing_grid, GTK_WIDGET (self->names_label), 0, 0, 1, 1);
  gtk_grid_attach (self->timing_grid, GTK_WIDGET (self->values_label), 1, 0, 1, 1);
  bs_widget_set_tooltip (GTK_WIDGET (self->timing_grid),
                               _("Time per slice by stage, each the median over the same runs as the line above; "
                                 "the slowest layers are the last run's"));
  /* The description already names the cores and oneDNN's ISA; the threads in
   * use are the plan's (above it): "All" adapts to the cores other programs leave free. */
  gtk_label_set_text (self->cpu_label, cpu != NULL ? cpu : _("Unknown CPU"));

  self->signals = g_signal_group_new (BS_TYPE_SESSION);
  g_signal_group_connect_swapped (self->signals, "timing-changed", G_CALLBACK (on_changed), self);
  g_signal_group_connect_swapped (self->signals, "notify::plan-text", G_CALLBACK (on_changed), self);
  g_signal_group_connect_swapped (self->signals, "notify::inputs-text", G_CALLBACK (on_changed), self);
  g_signal_group_connect_swapped (self->signals, "notify::ready", G_CALLBACK (on_changed), self);
  g_signal_group_connect_swapped (self->signals, "notify::generation", G_CALLBACK (on_changed), self);
  update (self);
}
