/* Small helpers shared by the tests. */
#pragma once

#include <glib.h>

/* Deletes path: a file, or a folder with everything in it. */
void bs_test_remove_tree (const char *path);
