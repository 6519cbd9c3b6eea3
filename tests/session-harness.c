#include "session-harness.h"

#include <string.h>

gboolean
bs_test_session_spin_until (BsSession *s, gboolean (*cond) (BsSession *), double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);

  while (!cond (s) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE), g_usleep (1000);
  return cond (s);
}

gboolean
bs_test_session_loaded (BsSession *s)
{
  return bs_session_get_case (s) != NULL && !bs_session_is_loading (s);
}

gboolean
bs_test_session_settled (BsSession *s)
{
  return bs_session_volume_complete (s) && !bs_session_is_busy (s);
}

gboolean
bs_test_session_settled_on_case_ranges (BsSession *s)
{
  return bs_test_session_settled (s) && strstr (bs_session_get_plan_text (s), "of this case") != NULL;
}

void
bs_test_session_on_failed (BsSession *s, guint what, const char *title, const GError *error, BsTestFailures *f)
{
  f->n++;
  f->what = what;
  g_free (f->title);
  f->title = g_strdup (title);
}
