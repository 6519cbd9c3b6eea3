#include "bs-dist.h"

#include <glib/gi18n.h>
#include <stdlib.h>
#include <string.h>

#ifdef BS_HAVE_MPI
#include <mpi.h>
#endif

static gboolean joined, initialised_here;
static int rank, size = 1, local_size = 1;

/* A launcher's variable, as a number (0 when unset or not one). */
static int
env_int (const char *name)
{
  const char *v = g_getenv (name);

  return v != NULL ? atoi (v) : 0;
}

int
bs_dist_launched_size (void)
{
  /* Open MPI's mpirun, or a PMI launcher (MPICH's hydra, Slurm's srun) */
  return MAX (env_int ("OMPI_COMM_WORLD_SIZE"), MAX (env_int ("PMI_SIZE"), env_int ("PMIX_SIZE")));
}

gboolean
bs_dist_available (void)
{
#ifdef BS_HAVE_MPI
  return TRUE;
#else
  return FALSE;
#endif
}

gboolean
bs_dist_init (void)
{
#ifdef BS_HAVE_MPI
  /* MPI_Init outside a launcher would start a run of one, slowly */
  int already = 0, provided = 0;

  if (joined || bs_dist_launched_size () < 2)
    return joined;
  MPI_Initialized (&already);
  /* the main thread alone calls MPI; oneDNN's and oneTBB's threads do not */
  if (!already && MPI_Init_thread (NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    return FALSE;
  initialised_here = !already;
  MPI_Comm_rank (MPI_COMM_WORLD, &rank);
  MPI_Comm_size (MPI_COMM_WORLD, &size);
  {
    MPI_Comm node;

    MPI_Comm_split_type (MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    MPI_Comm_size (node, &local_size);
    MPI_Comm_free (&node);
  }
  joined = TRUE;
  return size > 1;
#else
  return FALSE;
#endif
}

void
bs_dist_finish (void)
{
#ifdef BS_HAVE_MPI
  if (joined && initialised_here)
    MPI_Finalize ();
#endif
  joined = initialised_here = FALSE;
  rank = 0;
  size = local_size = 1;
}

int
bs_dist_rank (void)
{
  return rank;
}

int
bs_dist_size (void)
{
  return size;
}

int
bs_dist_local_size (void)
{
  return local_size;
}

char **
bs_dist_gather_to_first (const char *text)
{
  char **out;

  if (size <= 1)
    {
      out = g_new0 (char *, 2);
      out[0] = g_strdup (text);
      return out;
    }
#ifdef BS_HAVE_MPI
  {
    int len = (int) strlen (text) + 1;
    g_autofree int *lens = rank == 0 ? g_new (int, size) : NULL;
    g_autofree int *offsets = rank == 0 ? g_new (int, size) : NULL;
    g_autofree char *all = NULL;
    int total = 0;

    MPI_Gather (&len, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (rank == 0)
      for (int r = 0; r < size; r++)
        {
          offsets[r] = total;
          total += lens[r];
        }
    all = rank == 0 ? g_malloc (MAX (total, 1)) : NULL;
    MPI_Gatherv (text, len, MPI_CHAR, all, lens, offsets, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (rank != 0)
      return NULL;
    out = g_new0 (char *, size + 1);
    for (int r = 0; r < size; r++)
      out[r] = g_strdup (all + offsets[r]);
    return out;
  }
#else
  return NULL;
#endif
}

gboolean
bs_dist_all_ok (gboolean ok)
{
#ifdef BS_HAVE_MPI
  if (size > 1)
    {
      int mine = ok ? 1 : 0, all = 0;

      MPI_Allreduce (&mine, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
      return all != 0;
    }
#endif
  return ok;
}

char *
bs_dist_describe (void)
{
  if (size <= 1)
    return g_strdup (_("one process"));
  /* TRANSLATORS: processes of one run that mpirun started */
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%d process (MPI, %d on this machine)",
                                       "%d processes (MPI, %d on this machine)", size),
                          size, local_size);
}
