/* What the BsSession tests (test-session, test-session-states) share: a
 * main loop spun until a condition holds, the usual conditions, and a
 * recorder of "failed" signals. */
#pragma once

#include "bs-session.h"

G_BEGIN_DECLS

/* Iterates the default main context until cond (s) or timeout_s; cond's last value. */
gboolean bs_test_session_spin_until (BsSession *s, gboolean (*cond) (BsSession *), double timeout_s);
/* A case is open and nothing loads. */
gboolean bs_test_session_loaded (BsSession *s);
/* The whole volume is predicted and no work runs. */
gboolean bs_test_session_settled (BsSession *s);
/* Settled, and int8 took the ranges of the open case (the plan line says so). */
gboolean bs_test_session_settled_on_case_ranges (BsSession *s);

/* "failed" signals seen: how many, and the last one's kind and title. */
typedef struct {
  int n;
  guint what;
  char *title;
} BsTestFailures;

/* A "failed" handler recording into f (user data). */
void bs_test_session_on_failed (BsSession *s, guint what, const char *title, const GError *error, BsTestFailures *f);

G_END_DECLS
