/* Drives a context's timers from a GMainContext: one GSource at a time,
 * replaced whenever the library reports a new deadline. */
#include <limits.h>

#include "cloudnotify/cloudnotify-glib.h"

struct cloudnotify_glib_driver {
  cloudnotify_ctx *ctx;
  GMainContext *main_context;
  GSource *source;
};

static void disarm(cloudnotify_glib_driver *d) {
  if (!d->source)
    return;
  g_source_destroy(d->source);
  g_source_unref(d->source);
  d->source = NULL;
}

static gboolean fire(gpointer data) {
  cloudnotify_glib_driver *d = data;
  /* Forget this source first: tick reports the next deadline through
   * timer_changed, which arms a new one. */
  GSource *self = d->source;
  d->source = NULL;
  cloudnotify_tick(d->ctx);
  g_source_unref(self);
  return G_SOURCE_REMOVE;
}

void cloudnotify_glib_driver_timer_changed(cloudnotify_glib_driver *d, int64_t timeout_ms) {
  if (!d)
    return;
  disarm(d);
  if (timeout_ms < 0)
    return;
  guint ms = timeout_ms > (int64_t)G_MAXUINT ? G_MAXUINT : (guint)timeout_ms;
  d->source = g_timeout_source_new(ms);
  g_source_set_callback(d->source, fire, d, NULL);
  g_source_set_name(d->source, "libcloudnotify timer");
  g_source_attach(d->source, d->main_context);
}

int cloudnotify_glib_driver_new(cloudnotify_ctx *ctx, GMainContext *main_context,
                                cloudnotify_glib_driver **out) {
  if (out)
    *out = NULL;
  if (!ctx || !out)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  cloudnotify_glib_driver *d = g_new0(cloudnotify_glib_driver, 1);
  d->ctx = ctx;
  d->main_context = main_context ? g_main_context_ref(main_context)
                                 : g_main_context_ref(g_main_context_default());
  cloudnotify_glib_driver_timer_changed(d, cloudnotify_next_timeout(ctx));
  *out = d;
  return 0;
}

void cloudnotify_glib_driver_free(cloudnotify_glib_driver *d) {
  if (!d)
    return;
  disarm(d);
  g_main_context_unref(d->main_context);
  g_free(d);
}
