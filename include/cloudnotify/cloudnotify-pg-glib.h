/**
 * @file
 * libcloudnotify-pg for GLib hosts: a GSource that drives a PostgreSQL
 * store handle (cloudnotify-pg.h) from a GMainContext.  Part of
 * libcloudnotify-pg; this header is the only one of it that includes
 * glib.h.
 *
 *   cloudnotify_pg_new(&srv->pg, conninfo, &opts);   // no socket_changed needed
 *   GSource *src = cloudnotify_pg_glib_source_new(srv->pg);
 *   g_source_attach(src, main_context);
 *   ...
 *   g_source_destroy(src); g_source_unref(src);      // before cloudnotify_pg_free
 *
 * The source asks the handle for its descriptor, events and deadline at
 * every main-loop iteration (so the store's socket_changed and
 * timer_changed callbacks may stay NULL) and calls cloudnotify_pg_process
 * when either is due.  The context's own timers are still driven as
 * before (cloudnotify-glib.h).
 */
#ifndef CLOUDNOTIFY_PG_GLIB_H
#define CLOUDNOTIFY_PG_GLIB_H

#include <glib.h>

#include <cloudnotify/cloudnotify-pg.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A new GSource driving pg (borrowed: destroy the source before freeing
 *  pg).  The caller owns the returned reference: attach it with
 *  g_source_attach, then g_source_destroy and g_source_unref it.  Its
 *  callback, if the host sets one with g_source_set_callback (a
 *  GSourceFunc), is called after each cloudnotify_pg_process; its return
 *  value is ignored.  NULL when pg is NULL. */
CLOUDNOTIFY_EXPORT GSource *cloudnotify_pg_glib_source_new(cloudnotify_pg *pg);

#ifdef __cplusplus
}
#endif

#endif /* CLOUDNOTIFY_PG_GLIB_H */
