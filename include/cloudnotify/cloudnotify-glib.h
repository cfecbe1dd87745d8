/**
 * @file
 * Optional helper: drive a libcloudnotify context's timers from a GLib
 * GMainContext.  Separate header and pkg-config name
 * (libcloudnotify-glib) so that hosts without GLib never see it.
 *
 * Usage: the host's timer_changed callback forwards to
 * cloudnotify_glib_driver_timer_changed; the driver then keeps one
 * GSource on the main context and calls cloudnotify_tick when it fires.
 *
 *   static void on_timer(void *ud, int64_t ms) {
 *     struct server *srv = ud;
 *     if (srv->driver) cloudnotify_glib_driver_timer_changed(srv->driver, ms);
 *   }
 *   ...
 *   cloudnotify_ctx_new(&srv->ctx, &cb, srv);
 *   cloudnotify_glib_driver_new(srv->ctx, NULL, &srv->driver);
 */
#ifndef CLOUDNOTIFY_GLIB_H
#define CLOUDNOTIFY_GLIB_H

#include <glib.h>

#include <cloudnotify/cloudnotify.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Drives one context's timers from a GMainContext (one GSource). */
typedef struct cloudnotify_glib_driver cloudnotify_glib_driver;

/** Create a driver for ctx (borrowed: free the driver before the
 *  context) on main_context (NULL: the global default; a reference is
 *  taken).  It arms itself at once from cloudnotify_next_timeout.  *out
 *  is owned by the caller, freed with cloudnotify_glib_driver_free.
 *  Errors: CLOUDNOTIFY_ERR_INVALID_ARGUMENT. */
CLOUDNOTIFY_EXPORT int cloudnotify_glib_driver_new(cloudnotify_ctx *ctx, GMainContext *main_context,
                                                   cloudnotify_glib_driver **out);

/** Forward the context's timer_changed callback here.  Safe to call from
 *  that callback (it calls nothing in the context).  NULL driver is a
 *  no-op. */
CLOUDNOTIFY_EXPORT void cloudnotify_glib_driver_timer_changed(cloudnotify_glib_driver *driver,
                                                              int64_t timeout_ms);

/** Remove the GSource and free the driver.  NULL is a no-op. */
CLOUDNOTIFY_EXPORT void cloudnotify_glib_driver_free(cloudnotify_glib_driver *driver);

#ifdef __cplusplus
}
#endif

#endif /* CLOUDNOTIFY_GLIB_H */
