/* The first and last non-zero byte of a row of flags, eight bytes at a time.
 *
 * The per-pixel passes that find a slice's brain box (the foreground mask,
 * the head's extent) first write one flag byte per pixel in a loop the
 * compiler vectorises, and then ask this for the row's span, instead of
 * tracking first and last inside the per-pixel loop. */
#pragma once

#include <glib.h>
#include <string.h>

G_BEGIN_DECLS

/* FALSE when the n bytes at row are all 0; else *first and *last index the
 * first and the last byte that is not. */
static inline gboolean
bs_span_nonzero (const guint8 *row, int n, int *first, int *last)
{
  int a = 0, b = n - 1;
  guint64 word;

  while (a + 8 <= n)
    {
      memcpy (&word, row + a, 8);
      if (word != 0)
        break;
      a += 8;
    }
  while (a < n && row[a] == 0)
    a++;
  if (a == n)
    return FALSE;
  while (b - 7 > a)
    {
      memcpy (&word, row + b - 7, 8);
      if (word != 0)
        break;
      b -= 8;
    }
  while (row[b] == 0)
    b--;
  *first = a;
  *last = b;
  return TRUE;
}

G_END_DECLS
