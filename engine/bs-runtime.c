/* OpenMP settings fixed before libgomp reads them (see bs-runtime.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bs-runtime.h"

static gboolean
user_chose (void)
{
  return g_getenv ("OMP_WAIT_POLICY") != NULL || g_getenv ("GOMP_SPINCOUNT") != NULL;
}

void
bs_runtime_prepare (char **argv)
{
  if (argv == NULL || argv[0] == NULL)
    return;
  if (g_getenv (BS_RUNTIME_MARK) != NULL || user_chose () || g_getenv ("BRAINSEG_KEEP_OMP_DEFAULTS") != NULL)
    return;
  /* The mark also stops a loop should the new image not see the variable. */
  if (setenv (BS_RUNTIME_MARK, "1", 1) != 0 || setenv ("GOMP_SPINCOUNT", BS_RUNTIME_SPINCOUNT, 1) != 0)
    return;
  execv ("/proc/self/exe", argv);
  /* No /proc (a chroot, a sandbox): run on as before rather than fail. */
  unsetenv ("GOMP_SPINCOUNT");
}

const char *
bs_runtime_wait_policy (void)
{
  static char buf[96];
  const char *policy = g_getenv ("OMP_WAIT_POLICY");
  const char *spin = g_getenv ("GOMP_SPINCOUNT");

  if (g_getenv (BS_RUNTIME_MARK) != NULL && spin != NULL && g_str_equal (spin, BS_RUNTIME_SPINCOUNT) && policy == NULL)
    {
      g_snprintf (buf, sizeof buf, "brainseg (GOMP_SPINCOUNT=%s)", spin);
      return buf;
    }
  if (policy != NULL || spin != NULL)
    {
      g_snprintf (buf, sizeof buf, "user (%s%s%s%s%s)", policy ? "OMP_WAIT_POLICY=" : "", policy ? policy : "",
                  policy && spin ? " " : "", spin ? "GOMP_SPINCOUNT=" : "", spin ? spin : "");
      return buf;
    }
  return "libgomp default";
}
