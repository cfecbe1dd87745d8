/* A GSource driving a PostgreSQL store handle: the descriptor, events
 * and deadline are read again at every iteration, so that reconnects
 * (a new descriptor) need no callback. */
#include "cloudnotify/cloudnotify-pg-glib.h"

typedef struct pg_source {
  GSource base;
  cloudnotify_pg *pg;
  gpointer tag;
  int fd;
  unsigned events;
} pg_source;

static GIOCondition condition_of(unsigned events) {
  return (events & CLOUDNOTIFY_PG_READ ? G_IO_IN : 0) |
         (events & CLOUDNOTIFY_PG_WRITE ? G_IO_OUT : 0) | G_IO_HUP | G_IO_ERR;
}

static gboolean prepare(GSource *base, gint *timeout) {
  pg_source *s = (pg_source *)base;
  int fd;
  unsigned events;
  cloudnotify_pg_socket(s->pg, &fd, &events);
  if (fd != s->fd) {
    if (s->tag)
      g_source_remove_unix_fd(base, s->tag);
    s->tag = fd >= 0 ? g_source_add_unix_fd(base, fd, condition_of(events)) : NULL;
  } else if (s->tag && events != s->events) {
    g_source_modify_unix_fd(base, s->tag, condition_of(events));
  }
  s->fd = fd;
  s->events = events;
  int64_t t = cloudnotify_pg_next_timeout(s->pg);
  *timeout = t < 0 ? -1 : (gint)MIN(t, G_MAXINT);
  return t == 0;
}

static unsigned revents_of(pg_source *s) {
  if (!s->tag)
    return 0;
  GIOCondition c = g_source_query_unix_fd(&s->base, s->tag);
  unsigned r = 0;
  if (c & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    r |= CLOUDNOTIFY_PG_READ;
  if (c & (G_IO_OUT | G_IO_HUP | G_IO_ERR))
    r |= CLOUDNOTIFY_PG_WRITE;
  return r;
}

static gboolean check(GSource *base) {
  pg_source *s = (pg_source *)base;
  return revents_of(s) != 0 || cloudnotify_pg_next_timeout(s->pg) == 0;
}

static gboolean dispatch(GSource *base, GSourceFunc callback, gpointer user_data) {
  pg_source *s = (pg_source *)base;
  cloudnotify_pg_process(s->pg, revents_of(s));
  if (callback)
    callback(user_data);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs funcs = {
  .prepare = prepare,
  .check = check,
  .dispatch = dispatch,
};

GSource *cloudnotify_pg_glib_source_new(cloudnotify_pg *pg) {
  if (!pg)
    return NULL;
  GSource *base = g_source_new(&funcs, sizeof(pg_source));
  pg_source *s = (pg_source *)base;
  s->pg = pg;
  s->fd = -1;
  g_source_set_name(base, "libcloudnotify-pg");
  return base;
}
