/* The environment Brainseg's programs run with, decided from the user's own
 * (see bs-runtime.h): plain C and libc only, so that the programs' launcher
 * (app/launch.c), which links nothing else, and bs_runtime_prepare decide
 * alike. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* See bs-runtime.h for why these values. */
#define BS_RUNTIME_SPINCOUNT "10000"
#define BS_RUNTIME_MALLOC_TUNABLE "glibc.malloc.hugetlb=1"
/* Set in the environment of a process whose runtime settings Brainseg chose:
 * "omp", "malloc" or "omp,malloc", what it set. */
#define BS_RUNTIME_MARK "BRAINSEG_OMP_DEFAULTS"

/* GOMP_SPINCOUNT is Brainseg's to set: the user set no OpenMP wait policy
 * and did not ask for libgomp's defaults. */
static inline int
bs_runtime_env_wants_omp (void)
{
  return getenv ("OMP_WAIT_POLICY") == NULL && getenv ("GOMP_SPINCOUNT") == NULL
         && getenv ("BRAINSEG_KEEP_OMP_DEFAULTS") == NULL;
}

/* The malloc tunable is Brainseg's to add: GLIBC_TUNABLES does not name it
 * and glibc's defaults were not asked for. */
static inline int
bs_runtime_env_wants_malloc (void)
{
  const char *t = getenv ("GLIBC_TUNABLES");

  return !(t != NULL && strstr (t, "glibc.malloc.hugetlb") != NULL)
         && getenv ("BRAINSEG_KEEP_MALLOC_DEFAULTS") == NULL;
}

/* Sets the mark, GOMP_SPINCOUNT (omp) and BS_RUNTIME_MALLOC_TUNABLE appended
 * to GLIBC_TUNABLES (heap).  Returns 0, or -1 when the environment could not
 * take them. */
static inline int
bs_runtime_env_set (int omp, int heap)
{
  const char *old = getenv ("GLIBC_TUNABLES");
  char tunables[4096];

  if (heap)
    {
      int n = old != NULL && *old ? snprintf (tunables, sizeof tunables, "%s:%s", old, BS_RUNTIME_MALLOC_TUNABLE)
                                  : snprintf (tunables, sizeof tunables, "%s", BS_RUNTIME_MALLOC_TUNABLE);

      if (n < 0 || (size_t) n >= sizeof tunables)
        return -1;
    }
  /* The mark also stops a loop should the new image not see the variables. */
  if (setenv (BS_RUNTIME_MARK, omp && heap ? "omp,malloc" : omp ? "omp" : heap ? "malloc" : "", 1) != 0
      || (omp && setenv ("GOMP_SPINCOUNT", BS_RUNTIME_SPINCOUNT, 1) != 0)
      || (heap && setenv ("GLIBC_TUNABLES", tunables, 1) != 0))
    return -1;
  return 0;
}
