#include <glib/gi18n.h>
#include <math.h>

#include "bs-case-row.h"

struct _BsCaseRow
{
  GtkListBoxRow parent_instance;

  int index;
  GtkLabel *name_label;
  GtkLabel *dice_label;
};

G_DEFINE_FINAL_TYPE (BsCaseRow, bs_case_row, GTK_TYPE_LIST_BOX_ROW)

static void
bs_case_row_dispose (GObject *object)
{
  gtk_widget_dispose_template (GTK_WIDGET (object), BS_TYPE_CASE_ROW);
  G_OBJECT_CLASS (bs_case_row_parent_class)->dispose (object);
}

static void
bs_case_row_class_init (BsCaseRowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = bs_case_row_dispose;
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/brainseg/Brainseg/ui/bs-case-row.ui");
  gtk_widget_class_bind_template_child (widget_class, BsCaseRow, name_label);
  gtk_widget_class_bind_template_child (widget_class, BsCaseRow, dice_label);
}

static void
bs_case_row_init (BsCaseRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
bs_case_row_new (const char *id, int index, gboolean has_truth)
{
  BsCaseRow *self = g_object_new (BS_TYPE_CASE_ROW, NULL);

  self->index = index;
  gtk_label_set_text (self->name_label, id);
  /* The tooltip has the whole id when even the row's width cuts it. */
  if (has_truth)
    gtk_widget_set_tooltip_text (GTK_WIDGET (self), id);
  else
    {
      g_autofree char *tip = g_strdup_printf (_("%s · no ground truth"), id);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self), tip);
    }
  return GTK_WIDGET (self);
}

int
bs_case_row_get_index (BsCaseRow *self)
{
  return self->index;
}

void
bs_case_row_set_dice (BsCaseRow *self, double dice)
{
  /* TRANSLATORS: a case's whole-volume Dice in the case list */
  g_autofree char *text = isnan (dice) ? g_strdup ("") : g_strdup_printf (_("Dice %.3f"), dice);

  gtk_label_set_text (self->dice_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->dice_label), !isnan (dice));
}
