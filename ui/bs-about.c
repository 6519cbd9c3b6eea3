#include "bs-about.h"

#include <glib/gi18n.h>

#include "bs-application.h"
#include "bs-version.h"

char *
bs_about_licence_text (void)
{
  GString *text = g_string_new (NULL);

  g_string_append_printf (text, "%s\n\n",
                          _("Brainseg is free software, licensed under the Apache License, Version 2.0 "
                            "(https://www.apache.org/licenses/LICENSE-2.0)."));
  g_string_append_printf (text, "%s\n\n",
                          _("Brainseg is a research and teaching tool. It is not a medical device and must "
                            "not be used for diagnosis or treatment."));
  g_string_append_printf (text, "%s\n\n",
                          _("The shipped model was trained on data with its own licences, which also apply "
                            "to the model's weights:"));
  g_string_append_printf (text, "• %s\n  %s\n\n",
                          _("BraTS 2015 training cases (BRATS 2013 HGG patients 1-6): Creative Commons "
                            "Attribution-NonCommercial-ShareAlike 3.0 (CC BY-NC-SA 3.0)."),
                          _("Menze et al., The Multimodal Brain Tumor Image Segmentation Benchmark (BRATS), "
                            "IEEE TMI 34(10), 2015."));
  g_string_append_printf (text, "• %s\n  %s\n\n",
                          _("Medical Segmentation Decathlon, Task01 BrainTumour: Creative Commons "
                            "Attribution-ShareAlike 4.0 (CC BY-SA 4.0)."),
                          _("Simpson et al., A large annotated medical image dataset for the development and "
                            "evaluation of segmentation algorithms, arXiv:1902.09063, 2019."));
  g_string_append (text, _("Because of the NonCommercial term of the BraTS 2015 data, the shipped model may "
                           "not be used commercially. Models you train yourself carry the licences of your "
                           "own training data."));
  return g_string_free (text, FALSE);
}

GtkWidget *
bs_about_dialog_new (GtkWindow *parent)
{
  const char *developers[] = { _("The Brainseg developers"), NULL };
  const char *topology[] = { _("IntelAI 2D U-Net for Medical Decathlon (topology)"), NULL };
  const char *libraries[] = { "GTK https://gtk.org", "oneDNN https://github.com/oneapi-src/oneDNN",
                              "niftilib https://nifti.nimh.nih.gov", "HDF5 https://www.hdfgroup.org", NULL };
  g_autofree char *licence = bs_about_licence_text ();
  GtkWidget *dialog = gtk_about_dialog_new ();
  GtkAboutDialog *about = GTK_ABOUT_DIALOG (dialog);

  gtk_window_set_transient_for (GTK_WINDOW (dialog), parent);
  gtk_window_set_modal (GTK_WINDOW (dialog), parent != NULL);
  gtk_about_dialog_set_program_name (about, "Brainseg");
  gtk_about_dialog_set_logo_icon_name (about, BS_APPLICATION_ID);
  gtk_about_dialog_set_version (about, BS_VERSION);
  gtk_about_dialog_set_comments (about, _("Brain tumour segmentation in MRI with a U-Net on oneDNN"));
  gtk_about_dialog_set_website (about, "https://github.com/brainseg/brainseg");
  gtk_about_dialog_set_authors (about, developers);
  /* Translators: put your name here, one per line, to be credited in About. */
  gtk_about_dialog_set_translator_credits (about, _("translator-credits"));
  gtk_about_dialog_set_license_type (about, GTK_LICENSE_CUSTOM);
  gtk_about_dialog_set_license (about, licence);
  gtk_about_dialog_set_wrap_license (about, TRUE);
  gtk_about_dialog_add_credit_section (about, _("Network"), topology);
  gtk_about_dialog_add_credit_section (about, _("Built with"), libraries);
  return dialog;
}

void
bs_about_show (GtkWindow *parent)
{
  gtk_window_present (GTK_WINDOW (bs_about_dialog_new (parent)));
}
