/* brainseg and brainseg-cli as the user starts them: set the environment the
 * programs run best with (bs-runtime-env.h: libgomp's spin count, malloc on
 * huge pages), which libgomp and glibc read only as a program loads, then run
 * the program itself (BS_LAUNCH_PROGRAM: beside this launcher in a build
 * tree, in BS_LAUNCH_LIBEXECDIR once installed).
 *
 * Before the launcher, each program re-executed itself to the same end, and
 * so loaded its 70 and more libraries twice: 30-60 ms of every start on the
 * 2-core machine measured (README, "On a busy machine").  This launcher links
 * nothing but the C library.  Run without it, the program still re-executes
 * itself (bs_runtime_prepare).
 *
 * Started by mpirun (or another MPI launcher: its environment says how many
 * processes it started), brainseg-cli runs brainseg-cli-mpi.bin instead,
 * where the build has it: the same commands with MPI linked in, which every
 * other start would pay for (engine/dist/meson.build). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bs-runtime-env.h"

#ifndef BS_LAUNCH_PROGRAM
#error "BS_LAUNCH_PROGRAM must name the program to run"
#endif
#ifndef BS_LAUNCH_LIBEXECDIR
#error "BS_LAUNCH_LIBEXECDIR must name the folder it is installed in"
#endif

/* dir/name into buf; 0 when it fits. */
static int
join (char *buf, size_t size, const char *dir, size_t dir_len, const char *name)
{
  int n = snprintf (buf, size, "%.*s/%s", (int) dir_len, dir, name);

  return n < 0 || (size_t) n >= size ? -1 : 0;
}

#ifdef BS_LAUNCH_PROGRAM_MPI
/* Processes a launcher's environment says it started (0: none). */
static int
launched_processes (void)
{
  const char *names[] = { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE" };
  int most = 0;

  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    {
      const char *v = getenv (names[i]);

      if (v != NULL && atoi (v) > most)
        most = atoi (v);
    }
  return most;
}
#endif

int
main (int argc, char **argv)
{
  char self[PATH_MAX], beside[PATH_MAX + 64], installed[PATH_MAX + 64];
  const char *program = NULL, *name = BS_LAUNCH_PROGRAM;
  ssize_t n = readlink ("/proc/self/exe", self, sizeof self - 1);
  int omp = bs_runtime_env_wants_omp (), heap = bs_runtime_env_wants_malloc ();

  (void) argc;
#ifdef BS_LAUNCH_PROGRAM_MPI
  if (launched_processes () > 1)
    name = BS_LAUNCH_PROGRAM_MPI;
#endif
  if (n > 0)
    {
      const char *slash;

      self[n] = '\0';
      slash = strrchr (self, '/');
      if (slash != NULL && join (beside, sizeof beside, self, (size_t) (slash - self), name) == 0
          && access (beside, X_OK) == 0)
        program = beside;
    }
  if (program == NULL && join (installed, sizeof installed, BS_LAUNCH_LIBEXECDIR, strlen (BS_LAUNCH_LIBEXECDIR),
                               name) == 0)
    program = installed;
  /* (when the environment cannot take them, the program decides again) */
  if ((omp || heap) && getenv (BS_RUNTIME_MARK) == NULL)
    (void) bs_runtime_env_set (omp, heap);
  execv (program, argv);
  fprintf (stderr, "%s: cannot run %s: %s\n", argv[0] ? argv[0] : "brainseg", program, strerror (errno));
  return 127;
}
