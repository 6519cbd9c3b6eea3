/* Small helpers shared by the tests. */
#pragma once

#include <glib.h>

#include "bs-volume.h"

/* Deletes path: a file, or a folder with everything in it. */
void bs_test_remove_tree (const char *path);
/* A fresh folder from g_dir_make_tmp (tmpl); the test fails, naming the
 * error, when none can be made.  Free with g_free. */
char *bs_test_make_tmp_dir (const char *tmpl);

/* How many voxels of channel c of vol's slice in that plane are above 0.5. */
int bs_test_slice_count (const BsVolume *vol, int c, BsPlane plane, int slice);

/* The slice of vol's plane with the most voxels above 0.5 in channel c, or
 * -1 when none has any; *count (may be NULL) receives how many. */
int bs_test_fullest_slice (const BsVolume *vol, int c, BsPlane plane, int *count);
