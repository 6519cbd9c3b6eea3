#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs func (data) from context's loop (NULL: the default context), always as
 * a source dispatched there, never in the calling thread. Worker threads use
 * it for everything that touches the session or widgets:
 * g_main_context_invoke would run the callback right in the worker whenever
 * no thread owned the context at that moment. */
void bs_main_post (GMainContext *context, const char *name, GSourceFunc func, gpointer data,
                   GDestroyNotify destroy);

G_END_DECLS
