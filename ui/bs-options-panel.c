#include <glib/gi18n.h>

#include "bs-options-panel.h"
#include "bs-panel-private.h"

struct _BsOptionsPanel
{
  GtkBox parent_instance;

  BsSession *session;
  GSignalGroup *signals;
  GBinding *threads_binding, *batch_binding;

  GtkToggleButton *fp32_toggle;
  GtkToggleButton *int8_toggle;
  GtkToggleButton *nchw_toggle;
  GtkToggleButton *bf16_toggle;
  GtkLabel *precision_note_label;
  GtkAdjustment *threads_adjustment;  /* 1..cores, and cores + 1 for "All" (threads 0) */
  GtkAdjustment *batch_adjustment;
  GtkSpinButton *threads_spin;
  GtkSpinButton *batch_spin;
  GtkScrolledWindow *strip;
  GtkWidget *flow;
  guint fit_tick;
};

G_DEFINE_FINAL_TYPE (BsOptionsPanel, bs_options_panel, GTK_TYPE_BOX)

enum { PROP_0, PROP_SESSION, N_PROPS };
static GParamSpec *properties[N_PROPS];

/* "All" sits above the highest core count, so + never leaves it for 1 and
 * − steps down from it to the cores. */
static int
threads_all_value (void)
{
  return MAX (bs_cpu_cores (), 1) + 1;
}

static gboolean
threads_to_spin (GBinding *binding, const GValue *from, GValue *to, gpointer data)
{
  int threads = g_value_get_int (from);

  g_value_set_double (to, threads <= 0 || threads >= threads_all_value () ? threads_all_value () : threads);
  return TRUE;
}

static gboolean
threads_from_spin (GBinding *binding, const GValue *from, GValue *to, gpointer data)
{
  int v = (int) g_value_get_double (from);

  g_value_set_int (to, v >= threads_all_value () ? 0 : MAX (v, 1));
  return TRUE;
}

static gboolean
on_threads_output (GtkSpinButton *spin)
{
  if ((int) gtk_adjustment_get_value (gtk_spin_button_get_adjustment (spin)) < threads_all_value ())
    return FALSE;
  gtk_editable_set_text (GTK_EDITABLE (spin), _("All"));
  return TRUE;
}

static int
on_threads_input (GtkSpinButton *spin, double *new_value)
{
  if (g_strcmp0 (gtk_editable_get_text (GTK_EDITABLE (spin)), _("All")) != 0)
    return FALSE;
  *new_value = threads_all_value ();
  return TRUE;
}

/* The wheel over the strip scrolls the first scrolled window around it that
 * has somewhere to go: the strip itself is as high as its options (fit_strip),
 * the window's scrolled window around the panel scrolls on a short screen
 * (walk finding: at 1024x700 the wheel moved nothing). */
static gboolean
scroll_outward (GtkWidget *from, double dy)
{
  for (GtkWidget *sw = gtk_widget_get_ancestor (from, GTK_TYPE_SCROLLED_WINDOW); sw != NULL;
       sw = gtk_widget_get_parent (sw) != NULL ? gtk_widget_get_ancestor (gtk_widget_get_parent (sw),
                                                                          GTK_TYPE_SCROLLED_WINDOW) : NULL)
    {
      GtkAdjustment *v = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (sw));
      double step = MAX (gtk_adjustment_get_step_increment (v), 40.0);

      if (gtk_adjustment_get_upper (v) - gtk_adjustment_get_page_size (v) > 0.5)
        {
          gtk_adjustment_set_value (v, gtk_adjustment_get_value (v) + dy * step);
          return TRUE;
        }
    }
  return FALSE;
}

/* Scrolling over a spin button scrolls what it sits in (if that scrolls); it never edits
 * the value (that takes a click on − or +, or typing). */
static gboolean
on_spin_scroll (GtkEventControllerScroll *controller, double dx, double dy, gpointer user_data)
{
  scroll_outward (gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller)), dy);
  return TRUE;
}

/* Over the rest of the strip, the same before the strip's own scrolled
 * window takes the wheel and goes nowhere. */
static gboolean
on_strip_scroll (GtkEventControllerScroll *controller, double dx, double dy, gpointer user_data)
{
  return scroll_outward (gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller)), dy);
}

/* A click on − or + leaves the keyboard focus where it was, so that Up and
 * Down go on stepping slices instead of editing the value (walk finding:
 * GTK moves the focus into the spin button's text on any click in it). */
typedef struct {
  GtkWidget *spin;
  GtkWidget *before;  /* weak: the focus before the click, or NULL */
} FocusBack;

static void
focus_back_free (FocusBack *f)
{
  g_clear_weak_pointer (&f->spin);
  g_clear_weak_pointer (&f->before);
  g_free (f);
}

static gboolean
restore_focus (gpointer data)
{
  FocusBack *f = data;
  GtkRoot *root = f->spin != NULL ? gtk_widget_get_root (f->spin) : NULL;

  if (root != NULL && gtk_widget_is_ancestor (gtk_root_get_focus (root), f->spin))
    {
      if (f->before != NULL && gtk_widget_get_mapped (f->before))
        gtk_widget_grab_focus (f->before);
      else
        gtk_root_set_focus (root, NULL);
    }
  return G_SOURCE_REMOVE;
}

static void
on_spin_pressed (GtkGestureClick *gesture, int n_press, double x, double y, gpointer user_data)
{
  GtkWidget *spin = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (gesture));
  GtkWidget *picked = gtk_widget_pick (spin, x, y, GTK_PICK_DEFAULT);
  GtkRoot *root = gtk_widget_get_root (spin);
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;
  GtkWidget *button = picked != NULL ? gtk_widget_get_ancestor (picked, GTK_TYPE_BUTTON) : NULL;
  FocusBack *f;

  if (button == NULL || !gtk_widget_is_ancestor (button, spin)
      || (focus != NULL && (focus == spin || gtk_widget_is_ancestor (focus, spin))))
    return;  /* typing into the field, or already in it: GTK's own behaviour */
  f = g_new0 (FocusBack, 1);
  g_set_weak_pointer (&f->spin, spin);
  g_set_weak_pointer (&f->before, focus);
  g_idle_add_full (G_PRIORITY_DEFAULT, restore_focus, f, (GDestroyNotify) focus_back_free);
}

static void
spin_scrolls_panel (GtkSpinButton *spin)
{
  GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  GtkGesture *click = gtk_gesture_click_new ();

  gtk_event_controller_set_propagation_phase (scroll, GTK_PHASE_CAPTURE);
  g_signal_connect (scroll, "scroll", G_CALLBACK (on_spin_scroll), NULL);
  gtk_widget_add_controller (GTK_WIDGET (spin), scroll);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (click), GTK_PHASE_CAPTURE);
  g_signal_connect (click, "pressed", G_CALLBACK (on_spin_pressed), NULL);
  gtk_widget_add_controller (GTK_WIDGET (spin), GTK_EVENT_CONTROLLER (click));
}

/* The strip is as high as its flow box needs at the width it was given:
 * checked when the panel is mapped and whenever the strip's allocation
 * changes, applied at the start of the next frame (never a resize from
 * inside an allocation). A frame callback, not an idle: while a case loads
 * the main loop always had work above idle priority, and the strip stood one
 * row high until the case was open, then jumped to three (walk finding). */
static gboolean
fit_strip (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  BsOptionsPanel *self = BS_OPTIONS_PANEL (widget);
  int width, need = 0;

  width = self->flow != NULL ? gtk_widget_get_width (self->flow) : 0;
  if (width <= 0)
    return G_SOURCE_CONTINUE;   /* not laid out yet: the next frame */
  self->fit_tick = 0;
  gtk_widget_measure (self->flow, GTK_ORIENTATION_VERTICAL, width, &need, NULL, NULL, NULL);
  if (need > 0 && need != gtk_scrolled_window_get_min_content_height (self->strip))
    gtk_scrolled_window_set_min_content_height (self->strip, need);
  return G_SOURCE_REMOVE;
}

static void
on_strip_changed (BsOptionsPanel *self)
{
  if (self->fit_tick == 0 && gtk_widget_get_mapped (GTK_WIDGET (self)))
    self->fit_tick = gtk_widget_add_tick_callback (GTK_WIDGET (self), fit_strip, NULL, NULL);
}

/* int8 has only reference kernels for plain NCHW: that pair is greyed, with
 * the reason, before anyone clicks. */
static void
update_sensitivity (BsOptionsPanel *self)
{
  BsPlanOptions opts;
  const BsUnet *model;
  gboolean stored;

  if (self->session == NULL)
    return;
  bs_session_get_plan_options (self->session, &opts);
  model = bs_session_get_model (self->session);
  stored = model != NULL && model->calibration != NULL;
  gtk_widget_set_sensitive (GTK_WIDGET (self->nchw_toggle), opts.precision != BS_PRECISION_INT8);
  bs_widget_set_tooltip (GTK_WIDGET (self->nchw_toggle),
                               opts.precision == BS_PRECISION_INT8
                                 ? _("Not with int8: oneDNN has only reference int8 kernels for plain NCHW "
                                     "(seconds per slice); int8 runs in NHWC or blocked")
                                 : _("Plain channels-first layout: every primitive reads and writes NCHW"));
  if (bs_precision_available (BS_PRECISION_INT8, NULL))
    {
      gtk_widget_set_sensitive (GTK_WIDGET (self->int8_toggle), opts.layout != BS_MEMLAYOUT_NCHW);
      bs_widget_set_tooltip (GTK_WIDGET (self->int8_toggle),
                                   opts.layout == BS_MEMLAYOUT_NCHW
                                     ? _("Not with NCHW: oneDNN has only reference int8 kernels for plain NCHW "
                                         "(seconds per slice); choose NHWC or Blocked first")
                                     : stored
                                       ? _("8-bit integer weights and activations, with the activation ranges "
                                           "stored with the model (measured once on many cases; the main menu's "
                                           "“Measure int8 Ranges on the Open Case” measures this case's "
                                           "instead)")
                                       : _("8-bit integer weights and activations, calibrated on slices of the "
                                           "open case"));
    }
}

/* A precision this CPU cannot run stays greyed, its reason spelt out. */
static void
setup_precision_toggles (BsOptionsPanel *self)
{
  GtkToggleButton *toggles[] = { self->fp32_toggle, self->int8_toggle, self->bf16_toggle };
  BsPrecision precisions[] = { BS_PRECISION_FP32, BS_PRECISION_INT8, BS_PRECISION_BF16 };
  g_autoptr(GString) notes = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (toggles); i++)
    {
      g_autofree char *reason = NULL;

      if (bs_precision_available (precisions[i], &reason))
        continue;
      gtk_widget_set_sensitive (GTK_WIDGET (toggles[i]), FALSE);
      bs_widget_set_tooltip (GTK_WIDGET (toggles[i]), reason);
      if (reason != NULL)
        g_string_append_printf (notes, "%s%s", notes->len ? "\n" : "", reason);
    }
  gtk_label_set_text (self->precision_note_label, notes->str);
  gtk_widget_set_visible (GTK_WIDGET (self->precision_note_label), notes->len > 0);
}

void
bs_options_panel_set_session (BsOptionsPanel *self, BsSession *session)
{
  g_return_if_fail (BS_IS_OPTIONS_PANEL (self));
  if (!g_set_object (&self->session, session))
    return;
  g_clear_pointer (&self->threads_binding, g_binding_unbind);
  g_clear_pointer (&self->batch_binding, g_binding_unbind);
  g_signal_group_set_target (self->signals, session);
  if (session != NULL)
    {
      self->threads_binding = g_object_bind_property_full (session, "threads", self->threads_adjustment, "value",
                                                           G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE,
                                                           threads_to_spin, threads_from_spin, NULL, NULL);
      self->batch_binding = g_object_bind_property (session, "batch", self->batch_adjustment, "value",
                                                    G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
    }
  update_sensitivity (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

static void
bs_options_panel_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    g_value_set_object (value, BS_OPTIONS_PANEL (object)->session);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_options_panel_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    bs_options_panel_set_session (BS_OPTIONS_PANEL (object), g_value_get_object (value));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_options_panel_dispose (GObject *object)
{
  BsOptionsPanel *self = BS_OPTIONS_PANEL (object);

  g_clear_pointer (&self->threads_binding, g_binding_unbind);
  g_clear_pointer (&self->batch_binding, g_binding_unbind);
  g_signal_group_set_target (self->signals, NULL);
  g_clear_object (&self->signals);
  g_clear_object (&self->session);
  if (self->strip != NULL)
    {
      g_signal_handlers_disconnect_by_data (gtk_scrolled_window_get_hadjustment (self->strip), self);
      g_signal_handlers_disconnect_by_data (gtk_scrolled_window_get_vadjustment (self->strip), self);
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), BS_TYPE_OPTIONS_PANEL);
  G_OBJECT_CLASS (bs_options_panel_parent_class)->dispose (object);
}

static void
bs_options_panel_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (bs_options_panel_parent_class)->map (widget);
  on_strip_changed (BS_OPTIONS_PANEL (widget));
}

static void
bs_options_panel_unmap (GtkWidget *widget)
{
  BsOptionsPanel *self = BS_OPTIONS_PANEL (widget);

  if (self->fit_tick != 0)
    gtk_widget_remove_tick_callback (widget, self->fit_tick);
  self->fit_tick = 0;
  GTK_WIDGET_CLASS (bs_options_panel_parent_class)->unmap (widget);
}

static void
bs_options_panel_class_init (BsOptionsPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = bs_options_panel_get_property;
  object_class->set_property = bs_options_panel_set_property;
  object_class->dispose = bs_options_panel_dispose;
  widget_class->map = bs_options_panel_map;
  widget_class->unmap = bs_options_panel_unmap;
  properties[PROP_SESSION] = BS_PANEL_SESSION_PSPEC ();
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/brainseg/Brainseg/ui/bs-options-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, BsOptionsPanel, fp32_toggle);
  gtk_widget_class_bind_template_child (widget_class, BsOptionsPanel, int8_toggle);
  gtk_widget_class_bind_template_child (widget_class, BsOptionsPanel, nchw_toggle);
  gtk_widget_class_bind_template_child (widget_class, BsOptionsPanel, bf16_toggle);
  gtk_widget_class_bind_template_child (widget_class, BsOptionsPanel, precision_note_label);
  gtk_widget_class_bind_template_child (widget_class, BsOptionsPanel, threads_adjustment);
  gtk_widget_class_bind_template_child (widget_class, BsOptionsPanel, batch_adjustment);
  gtk_widget_class_bind_template_child (widget_class, BsOptionsPanel, threads_spin);
  gtk_widget_class_bind_template_child (widget_class, BsOptionsPanel, batch_spin);
  gtk_widget_class_bind_template_child (widget_class, BsOptionsPanel, strip);
  gtk_widget_class_bind_template_child (widget_class, BsOptionsPanel, flow);
  gtk_widget_class_bind_template_callback (widget_class, on_threads_output);
  gtk_widget_class_bind_template_callback (widget_class, on_threads_input);
}

static void
bs_options_panel_init (BsOptionsPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* 1..cores, then "All" */
  gtk_adjustment_configure (self->threads_adjustment, threads_all_value (), 1, threads_all_value (), 1, 1, 0);
  spin_scrolls_panel (self->threads_spin);
  spin_scrolls_panel (self->batch_spin);
  {
    GtkEventController *scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);

    gtk_event_controller_set_propagation_phase (scroll, GTK_PHASE_CAPTURE);
    g_signal_connect (scroll, "scroll", G_CALLBACK (on_strip_scroll), NULL);
    gtk_widget_add_controller (GTK_WIDGET (self->strip), scroll);
  }
  setup_precision_toggles (self);
  /* the horizontal one changes with the width, the vertical one with the height */
  g_signal_connect_object (gtk_scrolled_window_get_hadjustment (self->strip), "changed", G_CALLBACK (on_strip_changed),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (gtk_scrolled_window_get_vadjustment (self->strip), "changed", G_CALLBACK (on_strip_changed),
                           self, G_CONNECT_SWAPPED);
  self->signals = g_signal_group_new (BS_TYPE_SESSION);
  g_signal_group_connect_swapped (self->signals, "notify::plan-options", G_CALLBACK (update_sensitivity), self);
  g_signal_group_connect_swapped (self->signals, "notify::model", G_CALLBACK (update_sensitivity), self);
}
