/*
 * libcloudnotify driven by a GLib main loop (libcloudnotify-glib): a
 * session with push hibernates, five messages arrive within a second, and
 * the coalescing timer, run by the loop in real time, sends one push.
 *
 *   cc glib-loop.c $(pkg-config --cflags --libs libcloudnotify-glib)
 *   ./a.out [DATABASE]
 *
 * With DATABASE the registration is kept in that SQLite file (the
 * push_store option), as a server would keep it across restarts.
 */
#include <cloudnotify/cloudnotify-glib.h>

#include <stdio.h>
#include <string.h>

struct server {
  cloudnotify_ctx *ctx;
  cloudnotify_glib_driver *driver;
  GMainLoop *loop;
  unsigned publishes;
};

static int on_send(void *ud, cloudnotify_route route, cloudnotify_session *s, const char *account,
                   const char *to, const char *xml, size_t len) {
  struct server *srv = ud;
  if (route == CLOUDNOTIFY_ROUTE_APP_SERVER) {
    srv->publishes++;
    printf("%.3f s  publish #%u to %s\n", g_get_monotonic_time() / 1e6, srv->publishes, to);
  }
  return 0;
}

static void on_timer(void *ud, int64_t timeout_ms) {
  struct server *srv = ud;
  cloudnotify_glib_driver_timer_changed(srv->driver, timeout_ms);
}

static void on_hibernation(void *ud, cloudnotify_session *s, int64_t seconds) {
  printf("host: keep %s hibernated up to %lld s\n", cloudnotify_session_resource(s),
         (long long)seconds);
}

static gboolean quit(gpointer data) {
  g_main_loop_quit(data);
  return G_SOURCE_REMOVE;
}

int main(int argc, char **argv) {
  struct server srv = { 0 };
  cloudnotify_callbacks cb = { .size = sizeof cb,
                               .send = on_send,
                               .timer_changed = on_timer,
                               .hibernation_timeout = on_hibernation };
  if (cloudnotify_ctx_new(&srv.ctx, &cb, &srv) ||
      cloudnotify_glib_driver_new(srv.ctx, NULL, &srv.driver))
    return 1;
  cloudnotify_ctx_set_option(srv.ctx, "push_coalesce_ms", "300");
  if (argc > 1) {
    char *store = g_strconcat("sqlite:", argv[1], NULL);
    int rc = cloudnotify_ctx_set_option(srv.ctx, "push_store", store);
    g_free(store);
    if (rc < 0) {
      fprintf(stderr, "%s: %s\n", argv[1], cloudnotify_strerror(rc));
      cloudnotify_glib_driver_free(srv.driver);
      cloudnotify_ctx_free(srv.ctx);
      return 1;
    }
  }
  srv.loop = g_main_loop_new(NULL, FALSE);

  cloudnotify_session *phone;
  cloudnotify_session_new(srv.ctx, "juliet@capulet.example", "phone", &phone);
  const char *enable = "<iq type='set' id='e'><enable xmlns='urn:xmpp:push:0' "
                       "jid='push.example' node='n'/></iq>";
  cloudnotify_handle_client_iq(phone, enable, strlen(enable));
  cloudnotify_session_sm_enabled(phone);
  cloudnotify_session_hibernated(phone, NULL, 0);
  for (int i = 0; i < 5; i++) {
    char msg[128];
    snprintf(msg, sizeof msg, "<message type='chat' id='m%d'><body>hi %d</body></message>", i, i);
    cloudnotify_session_queued(phone, msg, strlen(msg));
  }
  printf("%.3f s  five messages queued while hibernated\n", g_get_monotonic_time() / 1e6);
  g_timeout_add(800, quit, srv.loop);
  g_main_loop_run(srv.loop);
  printf("%u publish(es) for five messages\n", srv.publishes);

  cloudnotify_session_free(phone);
  cloudnotify_glib_driver_free(srv.driver);
  srv.driver = NULL;
  cloudnotify_ctx_free(srv.ctx);
  g_main_loop_unref(srv.loop);
  return srv.publishes == 1 ? 0 : 1;
}
