#include <glib/gi18n.h>

#include "bs-panel-private.h"
#include "bs-progress-row.h"

struct _BsProgressRow
{
  GtkBox parent_instance;

  BsSession *session;
  GSignalGroup *signals;
  guint pulse_id;
  char *message;
  guint message_id;

  GtkLabel *progress_label;
  GtkProgressBar *progress_bar;
  GtkButton *cancel_button;
  GtkButton *resume_button;
};

G_DEFINE_FINAL_TYPE (BsProgressRow, bs_progress_row, GTK_TYPE_BOX)

enum { PROP_0, PROP_SESSION, N_PROPS };
static GParamSpec *properties[N_PROPS];

static void
set_progress (BsProgressRow *self, const char *text, double fraction)
{
  int edits = self->session != NULL && text != NULL && *text ? bs_session_get_n_edits (self->session, NULL) : 0;
  g_autofree char *with_edits = edits > 0
    /* TRANSLATORS: after the status line ("Volume done · …"): strokes of the correction brush */
    ? g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s · %d correction", "%s · %d corrections", edits), text, edits)
    : NULL;

  if (with_edits != NULL)
    text = with_edits;
  gtk_label_set_text (self->progress_label, text != NULL ? text : "");
  /* no tooltip while the line changes with every slice (each new one
   * re-queries the window's tooltips); a message, which stays, has its
   * whole text there when the line is too narrow for it */
  bs_widget_set_tooltip (GTK_WIDGET (self->progress_label), fraction < 0 ? text : NULL);
  if (fraction >= 0)
    gtk_progress_bar_set_fraction (self->progress_bar, fraction);
}

static gboolean
pulse_cb (gpointer data)
{
  BsProgressRow *self = data;

  gtk_progress_bar_pulse (self->progress_bar);
  return G_SOURCE_CONTINUE;
}

static void
update_buttons (BsProgressRow *self)
{
  BsSession *s = self->session;
  /* the axial fill, then the three-plane passes: Stop and Resume work on both */
  gboolean filling = s != NULL && bs_session_is_ready (s) && bs_session_get_probability_volume (s) != NULL
                     && (!bs_session_volume_complete (s) || bs_session_planes_pending (s, NULL, NULL))
                     && !bs_session_inference_failed (s);
  gboolean stopped = filling && bs_session_fill_cancelled (s);

  /* One of the two is always there, so the row never changes height under
   * the pointer: Stop (greyed when nothing is filling) or Resume. */
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_button), !stopped);
  gtk_widget_set_sensitive (GTK_WIDGET (self->cancel_button), filling && !stopped);
  gtk_widget_set_visible (GTK_WIDGET (self->resume_button), stopped);
}

/* An amount of the core as the status line gives it: millilitres, or
 * voxels under 0.05 ml. */
static char *
core_amount (const BsVolume *prob, guint64 voxels)
{
  double ml = (double) voxels * prob->spacing[0] * prob->spacing[1] * prob->spacing[2] / 1000.0;
  gulong n = (gulong) MIN (voxels, G_MAXULONG);

  if (ml >= 0.05)
    /* TRANSLATORS: a volume in millilitres */
    return g_strdup_printf (_("%.1f ml"), ml);
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%lu voxel", "%lu voxels", n), n);
}

/* "core: 0.2 ml filled, 3.1 ml trimmed": what the clean-up did to the
 * tumour core (either half alone when the other did nothing). */
static char *
core_change_text (const BsVolume *prob, guint64 filled, guint64 trimmed)
{
  g_autofree char *f = core_amount (prob, filled), *t = core_amount (prob, trimmed);

  if (filled > 0 && trimmed > 0)
    /* TRANSLATORS: after "Volume done · N islands removed": the clean-up filled the holes of the tumour core
     * (necrosis the network left out) and trimmed the core to 6 mm around the enhancing tumour; amounts in
     * ml or voxels */
    return g_strdup_printf (_("core: %s filled, %s trimmed"), f, t);
  if (filled > 0)
    /* TRANSLATORS: the same, only holes filled */
    return g_strdup_printf (_("core: %s filled"), f);
  /* TRANSLATORS: the same, only trimmed to the enhancing rim */
  return g_strdup_printf (_("core: %s trimmed"), t);
}

static void
update (BsProgressRow *self)
{
  BsSession *s = self->session;
  g_autofree char *activity = NULL;
  BsCleanupStats stats;
  int n, computed, pdone = 0, ptotal = 0;

  if (s == NULL)
    return;
  g_object_get (s, "activity", &activity, NULL);
  if (self->message != NULL && activity == NULL)
    {
      set_progress (self, self->message, -1);
      update_buttons (self);
      return;
    }
  if (activity != NULL)
    {
      set_progress (self, activity, -1);
      if (self->pulse_id == 0)
        self->pulse_id = g_timeout_add (120, pulse_cb, self);
      update_buttons (self);
      return;
    }
  g_clear_handle_id (&self->pulse_id, g_source_remove);
  n = bs_session_get_n_net_slices (s);
  computed = bs_session_get_n_computed_slices (s);
  if (bs_session_inference_failed (s))
    set_progress (self, _("Inference stopped"), 0);
  else if (!bs_session_is_ready (s) || n == 0)
    set_progress (self, "", 0);
  else if (computed >= n && bs_session_planes_pending (s, &pdone, &ptotal))
    {
      g_autofree char *text = g_strdup_printf (bs_session_fill_cancelled (s)
                                                 /* TRANSLATORS: three planes: the coronal and sagittal passes after the axial slices */
                                                 ? _("Stopped at %d / %d coronal and sagittal slices")
                                                 : _("Three planes: coronal and sagittal slices %d / %d"),
                                               pdone, ptotal);
      set_progress (self, text, ptotal > 0 ? (double) pdone / ptotal : 0.0);
    }
  else if (computed >= n && bs_session_get_cleanup (s, &stats)
           && (stats.removed > 0 || stats.core_filled > 0 || stats.core_trimmed > 0))
    {
      int removed = stats.n_components - stats.n_kept;
      const BsVolume *prob = bs_session_get_probability_volume (s);
      g_autofree char *text = stats.removed > 0
                                ? g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Volume done · %d island removed",
                                                                "Volume done · %d islands removed", removed), removed)
                                : g_strdup (_("Volume done"));

      if ((stats.core_filled > 0 || stats.core_trimmed > 0) && prob != NULL)
        {
          g_autofree char *core = core_change_text (prob, stats.core_filled, stats.core_trimmed);
          char *both = g_strdup_printf ("%s · %s", text, core);

          g_free (text);
          text = both;
        }
      set_progress (self, text, 1.0);
      /* the whole line (the row may be too narrow for it), and what it means
       * (walk finding: "trimmed" said nothing of what, or where it went) */
      {
        g_autofree char *tip
          = g_strdup_printf ("%s. %s", gtk_label_get_text (self->progress_label),  /* as shown: with the corrections */
                             /* TRANSLATORS: tooltip of the status line once the clean-up ran */
                             _("The clean-up (“Remove islands”): tumour components smaller than 20 per cent of the "
                               "largest are removed; with a region model the tumour core’s holes (necrosis the "
                               "network left out) are filled, and core farther than 6 mm from the enhancing "
                               "tumour, or cut off from it, becomes oedema again (only when the enhancing tumour "
                               "is at least a tenth of the core). A hole filled and then trimmed counts in both."));

        bs_widget_set_tooltip (GTK_WIDGET (self->progress_label), tip);
      }
    }
  else if (computed >= n)
    set_progress (self, _("Volume done"), 1.0);
  else
    {
      g_autofree char *text = g_strdup_printf (bs_session_fill_cancelled (s) ? _("Stopped at %d / %d")
                                                                             : _("Predicting %d / %d"), computed, n);

      set_progress (self, text, (double) computed / n);
    }
  update_buttons (self);
}

static gboolean
message_expired (gpointer data)
{
  BsProgressRow *self = data;

  self->message_id = 0;
  g_clear_pointer (&self->message, g_free);
  update (self);
  return G_SOURCE_REMOVE;
}

/* Anything new the session starts replaces the message. */
static void
on_new_work (BsProgressRow *self)
{
  g_clear_handle_id (&self->message_id, g_source_remove);
  g_clear_pointer (&self->message, g_free);
  update (self);
}

void
bs_progress_row_show_message (BsProgressRow *self, const char *text)
{
  g_return_if_fail (BS_IS_PROGRESS_ROW (self));
  g_free (self->message);
  self->message = g_strdup (text);
  g_clear_handle_id (&self->message_id, g_source_remove);
  self->message_id = g_timeout_add_seconds (10, message_expired, self);
  update (self);
}

void
bs_progress_row_set_session (BsProgressRow *self, BsSession *session)
{
  g_return_if_fail (BS_IS_PROGRESS_ROW (self));
  if (!g_set_object (&self->session, session))
    return;
  g_signal_group_set_target (self->signals, session);
  update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

static void
bs_progress_row_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    g_value_set_object (value, BS_PROGRESS_ROW (object)->session);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_progress_row_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    bs_progress_row_set_session (BS_PROGRESS_ROW (object), g_value_get_object (value));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_progress_row_dispose (GObject *object)
{
  BsProgressRow *self = BS_PROGRESS_ROW (object);

  g_clear_handle_id (&self->pulse_id, g_source_remove);
  g_clear_handle_id (&self->message_id, g_source_remove);
  g_clear_pointer (&self->message, g_free);
  g_signal_group_set_target (self->signals, NULL);
  g_clear_object (&self->signals);
  g_clear_object (&self->session);
  gtk_widget_dispose_template (GTK_WIDGET (self), BS_TYPE_PROGRESS_ROW);
  G_OBJECT_CLASS (bs_progress_row_parent_class)->dispose (object);
}

static void
bs_progress_row_class_init (BsProgressRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = bs_progress_row_get_property;
  object_class->set_property = bs_progress_row_set_property;
  object_class->dispose = bs_progress_row_dispose;
  properties[PROP_SESSION] = BS_PANEL_SESSION_PSPEC ();
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/brainseg/Brainseg/ui/bs-progress-row.ui");
  gtk_widget_class_bind_template_child (widget_class, BsProgressRow, progress_label);
  gtk_widget_class_bind_template_child (widget_class, BsProgressRow, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, BsProgressRow, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, BsProgressRow, resume_button);
}

static void
bs_progress_row_init (BsProgressRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->signals = g_signal_group_new (BS_TYPE_SESSION);
  g_signal_group_connect_swapped (self->signals, "notify::activity", G_CALLBACK (update), self);
  g_signal_group_connect_swapped (self->signals, "notify::generation", G_CALLBACK (on_new_work), self);
  g_signal_group_connect_swapped (self->signals, "notify::ready", G_CALLBACK (update), self);
  g_signal_group_connect_swapped (self->signals, "notify::busy", G_CALLBACK (update), self);
  g_signal_group_connect_swapped (self->signals, "notify::n-computed", G_CALLBACK (update), self);
  g_signal_group_connect_swapped (self->signals, "notify::cleanup", G_CALLBACK (update), self);
  g_signal_group_connect_swapped (self->signals, "notify::edits", G_CALLBACK (update), self);
  g_signal_group_connect_swapped (self->signals, "results-changed", G_CALLBACK (update), self);
  update_buttons (self);
}
