#include <glib/gi18n.h>

#include "bs-case-row.h"
#include "bs-case-sidebar.h"
#include "bs-panel-private.h"

struct _BsCaseSidebar
{
  GtkBox parent_instance;

  BsSession *session;
  GSignalGroup *signals;
  GtkStringList *cases;          /* case ids, in dataset order */
  GtkFilterListModel *filtered;  /* what the filter lets through */
  GtkStringFilter *filter;

  GtkLabel *dataset_label;
  GtkSearchEntry *case_filter;
  GtkListBox *case_list;
  GtkLabel *placeholder;         /* shown when the list is empty */
};

/* An empty list: nothing is open, or the filter hides every case. */
static void
update_placeholder (BsCaseSidebar *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->case_filter));

  gtk_label_set_text (self->placeholder, text != NULL && text[0] != '\0'
                                           ? _("No case matches the filter")
                                           : _("No case open: open a case folder, a Decathlon task or a NIfTI file, or drop one on the window"));
}

G_DEFINE_FINAL_TYPE (BsCaseSidebar, bs_case_sidebar, GTK_TYPE_BOX)

enum { PROP_0, PROP_SESSION, N_PROPS };
static GParamSpec *properties[N_PROPS];

/* A case's index in the dataset, kept on its list item. */
static int
item_case_index (gpointer item)
{
  return GPOINTER_TO_INT (g_object_get_data (G_OBJECT (item), "case-index")) - 1;
}

static GtkWidget *
create_row (gpointer item, gpointer user_data)
{
  BsCaseSidebar *self = user_data;
  int index = item_case_index (item);
  BsDataset *ds = bs_session_get_dataset (self->session);
  GtkWidget *row = bs_case_row_new (gtk_string_object_get_string (item), index,
                                    ds == NULL || bs_dataset_case_has_label (ds, index));

  bs_case_row_set_dice (BS_CASE_ROW (row), bs_session_get_case_dice (self->session, index));
  return row;
}

static GtkListBoxRow *
row_of_case (BsCaseSidebar *self, int index)
{
  for (GtkWidget *c = gtk_widget_get_first_child (GTK_WIDGET (self->case_list)); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    if (BS_IS_CASE_ROW (c) && bs_case_row_get_index (BS_CASE_ROW (c)) == index)
      return GTK_LIST_BOX_ROW (c);
  return NULL;
}

static void
select_current (BsCaseSidebar *self)
{
  GtkListBoxRow *row = row_of_case (self, bs_session_get_case_index (self->session));

  if (row != NULL && gtk_list_box_get_selected_row (self->case_list) != row)
    {
      g_signal_handlers_block_matched (self->case_list, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
      gtk_list_box_select_row (self->case_list, row);
      g_signal_handlers_unblock_matched (self->case_list, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
    }
}

static void
on_dataset (BsSession *session, GParamSpec *pspec, BsCaseSidebar *self)
{
  BsDataset *ds = bs_session_get_dataset (session);
  guint n = ds != NULL ? bs_dataset_get_n_cases (ds) : 0;
  g_autoptr(GtkStringList) ids = gtk_string_list_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      gtk_string_list_append (ids, bs_dataset_get_case_id (ds, i));
      g_object_set_data (g_list_model_get_item (G_LIST_MODEL (ids), i), "case-index", GINT_TO_POINTER (i + 1));
      g_object_unref (g_list_model_get_item (G_LIST_MODEL (ids), i));  /* the get above took a reference */
    }
  g_set_object (&self->cases, ids);
  gtk_filter_list_model_set_model (self->filtered, G_LIST_MODEL (self->cases));
  /* Another folder starts unfiltered (walk finding: a filter typed for the
   * folder before hid the case just opened, "No case matches the filter"). */
  gtk_editable_set_text (GTK_EDITABLE (self->case_filter), "");
  gtk_string_filter_set_search (self->filter, NULL);
  gtk_label_set_text (self->dataset_label, ds != NULL ? bs_dataset_get_name (ds) : "");
  bs_widget_set_tooltip (GTK_WIDGET (self->dataset_label), ds != NULL ? bs_dataset_get_path (ds) : NULL);
}

static void
on_case (BsSession *session, GParamSpec *pspec, BsCaseSidebar *self)
{
  select_current (self);
}

static void
on_case_dice (BsSession *session, int index, BsCaseSidebar *self)
{
  GtkListBoxRow *row = row_of_case (self, index);

  if (row != NULL)
    bs_case_row_set_dice (BS_CASE_ROW (row), bs_session_get_case_dice (session, index));
}

static void
on_row_selected (GtkListBox *box, GtkListBoxRow *row, BsCaseSidebar *self)
{
  int index;

  if (row == NULL || self->session == NULL)
    return;
  index = bs_case_row_get_index (BS_CASE_ROW (row));
  if (index != bs_session_get_case_index (self->session) || bs_session_get_case (self->session) == NULL)
    bs_session_load_case (self->session, index);
}

static void
on_filter_changed (GtkSearchEntry *entry, BsCaseSidebar *self)
{
  gtk_string_filter_set_search (self->filter, gtk_editable_get_text (GTK_EDITABLE (entry)));
  update_placeholder (self);
  select_current (self);
}

/* Enter in the filter opens the first case it lets through (walk finding:
 * with one match left, Enter did nothing).  The text typed counts, not the
 * filter the entry applies a moment later (walk finding: Enter typed
 * quickly after "tcia02" went by the text before it). */
static void
on_filter_activate (GtkSearchEntry *entry, BsCaseSidebar *self)
{
  GtkListBoxRow *row;

  if (g_strcmp0 (gtk_string_filter_get_search (self->filter), gtk_editable_get_text (GTK_EDITABLE (entry))) != 0)
    on_filter_changed (entry, self);
  row = gtk_list_box_get_row_at_index (self->case_list, 0);

  if (row != NULL)
    gtk_list_box_select_row (self->case_list, row);
}

void
bs_case_sidebar_set_session (BsCaseSidebar *self, BsSession *session)
{
  g_return_if_fail (BS_IS_CASE_SIDEBAR (self));
  if (!g_set_object (&self->session, session))
    return;
  g_signal_group_set_target (self->signals, session);
  if (session != NULL)
    on_dataset (session, NULL, self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

static void
bs_case_sidebar_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    g_value_set_object (value, BS_CASE_SIDEBAR (object)->session);
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_case_sidebar_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  if (prop_id == PROP_SESSION)
    bs_case_sidebar_set_session (BS_CASE_SIDEBAR (object), g_value_get_object (value));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
bs_case_sidebar_dispose (GObject *object)
{
  BsCaseSidebar *self = BS_CASE_SIDEBAR (object);

  g_signal_group_set_target (self->signals, NULL);
  g_clear_object (&self->signals);
  g_clear_object (&self->session);
  gtk_widget_dispose_template (GTK_WIDGET (self), BS_TYPE_CASE_SIDEBAR);
  g_clear_object (&self->filtered);
  g_clear_object (&self->cases);
  G_OBJECT_CLASS (bs_case_sidebar_parent_class)->dispose (object);
}

static void
bs_case_sidebar_class_init (BsCaseSidebarClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = bs_case_sidebar_get_property;
  object_class->set_property = bs_case_sidebar_set_property;
  object_class->dispose = bs_case_sidebar_dispose;
  properties[PROP_SESSION] = BS_PANEL_SESSION_PSPEC ();
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/brainseg/Brainseg/ui/bs-case-sidebar.ui");
  gtk_widget_class_bind_template_child (widget_class, BsCaseSidebar, dataset_label);
  gtk_widget_class_bind_template_child (widget_class, BsCaseSidebar, case_filter);
  gtk_widget_class_bind_template_child (widget_class, BsCaseSidebar, case_list);
}

static void
bs_case_sidebar_init (BsCaseSidebar *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* Case ids match the filter case-insensitively, anywhere in the id. */
  self->filter = gtk_string_filter_new (gtk_property_expression_new (GTK_TYPE_STRING_OBJECT, NULL, "string"));
  gtk_string_filter_set_match_mode (self->filter, GTK_STRING_FILTER_MATCH_MODE_SUBSTRING);
  gtk_string_filter_set_ignore_case (self->filter, TRUE);
  self->filtered = gtk_filter_list_model_new (NULL, GTK_FILTER (self->filter));
  gtk_list_box_bind_model (self->case_list, G_LIST_MODEL (self->filtered), create_row, self, NULL);
  {
    GtkWidget *none = gtk_label_new (NULL);

    self->placeholder = GTK_LABEL (none);
    update_placeholder (self);
    gtk_widget_add_css_class (none, "dim-label");
    gtk_widget_set_margin_top (none, 12);
    gtk_label_set_wrap (GTK_LABEL (none), TRUE);
    gtk_list_box_set_placeholder (self->case_list, none);
  }
  g_signal_connect (self->case_list, "row-selected", G_CALLBACK (on_row_selected), self);
  g_signal_connect (self->case_filter, "search-changed", G_CALLBACK (on_filter_changed), self);
  g_signal_connect (self->case_filter, "activate", G_CALLBACK (on_filter_activate), self);
  self->signals = g_signal_group_new (BS_TYPE_SESSION);
  g_signal_group_connect (self->signals, "notify::dataset", G_CALLBACK (on_dataset), self);
  g_signal_group_connect (self->signals, "notify::case", G_CALLBACK (on_case), self);
  g_signal_group_connect (self->signals, "case-dice-changed", G_CALLBACK (on_case_dice), self);
}
