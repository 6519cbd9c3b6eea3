/* What the NIfTI reader (bs-nifti.c), writer (bs-nifti-write.c) and the
 * gunzip they read with (bs-gunzip.c) share, and nothing else needs. */
#pragma once

#include <glib.h>

typedef enum {
  GUNZIP_OK,        /* output full, or the stream ended cleanly */
  GUNZIP_TRUNCATED, /* input ended inside a compressed stream */
  GUNZIP_CORRUPT,
} GunzipStatus;

/* Streams with zlib into out until it is full or the input is exhausted,
 * following concatenated gzip members; with verify, a member out cannot
 * hold whole is still inflated to its end so that its CRC and length are
 * checked.  *produced: the bytes written to out. */
GunzipStatus bs_gunzip_zlib (const guint8 *in, gsize in_len, guint8 *out, gsize out_len, gsize *produced,
                             gboolean verify);
/* The whole of in into out: libdeflate member by member, zlib (verifying)
 * where libdeflate cannot. */
GunzipStatus bs_gunzip_all (const guint8 *in, gsize in_len, guint8 *out, gsize out_len, gsize *produced);

/* niftilib's own messages off, once. */
void bs_nifti_quiet (void);
/* path ends in .gz (any case). */
gboolean bs_nifti_path_ends_gz (const char *path);
/* A NIfTI datatype Brainseg reads and writes. */
gboolean bs_nifti_datatype_supported (int datatype);
