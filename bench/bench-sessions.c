/*
 * Figure 5 of issue 12, sessions: N client sessions of accounts with one
 * registration each (bound to the session: its client enabled push),
 * stream management enabled, half of them hibernated with a coalesced
 * push pending (a chat message queued while hibernated: its coalescing
 * timer runs) and half live with an unacknowledged message and an ack
 * request outstanding (their ack timer runs).  The clock is the bench's
 * own (monotonic_ms callback), so every deadline is known: the sessions
 * are set up 100 per millisecond, the coalescing window is 5 s and the
 * ack delay 30 s.  For N = 1 000 .. 100 000 it prints and plots:
 *   - the cost of cloudnotify_tick (the host's single timer entry point)
 *     when nothing is due;
 *   - the cost of a tick when a batch is due: the clock moves on by 1 ms
 *     per tick, so each tick fires the coalescing timers of the ~50
 *     hibernated sessions armed in one millisecond, i.e. ~50 publishes
 *     (per tick and per publish);
 *   - the heap (malloc'd bytes, mallinfo2) per session: the session with
 *     its pending stanza and timer, and the cached account with its
 *     registration it pins; the registrations alone (memory store) are
 *     measured before the sessions and printed apart.
 *
 * Usage: bench-sessions [--quick] [--max N]
 * CN_PLOT_DIR: write fig5-tick.dat and fig5-memory.dat there.
 */
#include <cloudnotify/cloudnotify.h>

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench-util.h"

#ifndef CN_BUILD_TYPE
#define CN_BUILD_TYPE "unknown"
#endif

#define PER_MS 100 /* sessions set up per millisecond of the bench's clock */

static void header(void) {
  char machine[256];
  printf("bench-sessions: machine %s; build %s; libcloudnotify %s\n",
         bench_machine(machine, sizeof machine), CN_BUILD_TYPE, cloudnotify_version_string());
  fflush(stdout);
}

static int64_t clock_ms;
static long publishes, replies_ok, replies_bad;

static int64_t mono(void *ud) {
  (void)ud;
  return clock_ms;
}

static int on_send(void *ud, cloudnotify_route route, cloudnotify_session *s, const char *account,
                   const char *to, const char *xml, size_t len) {
  (void)ud, (void)s, (void)account, (void)to, (void)len;
  if (route == CLOUDNOTIFY_ROUTE_APP_SERVER)
    publishes++;
  else if (strstr(xml, "type='result'"))
    replies_ok++;
  else
    replies_bad++;
  return 0;
}

#define FORM                                                                                       \
  "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"                          \
  "http://jabber.org/protocol/pubsub#publish-options</value></field><field var='secret'>"          \
  "<value>0123456789abcdef0123456789abcdef</value></field></x>"

#define MSG                                                                                        \
  "<message type='chat' from='romeo@montague.example/orchard' to='%s' id='m%ld'>"                  \
  "<body>Wherefore art thou, Romeo?</body></message>"

typedef struct {
  long n;
  double idle_ns, batch_us, per_push_us, push_per_tick;
  double session_bytes, reg_bytes;
} point;

static void fail(const char *what) {
  fprintf(stderr, "bench-sessions: %s\n", what);
  exit(1);
}

static point run(long n, long idle_ticks) {
  point p = { .n = n };
  publishes = replies_ok = replies_bad = 0;
  clock_ms = 1000000;
  malloc_trim(0);
  size_t heap0 = bench_heap_in_use();
  cloudnotify_callbacks cb = { .size = sizeof cb, .send = on_send, .monotonic_ms = mono };
  cloudnotify_ctx *ctx = NULL;
  if (cloudnotify_ctx_new(&ctx, &cb, NULL))
    fail("ctx_new");
  cloudnotify_ctx_set_option(ctx, "push_coalesce_ms", "5000");
  cloudnotify_ctx_set_option(ctx, "smacks_max_ack_delay", "30");
  /* Room for every publish of the run: none is forgotten early. */
  cloudnotify_ctx_set_option(ctx, "push_max_outstanding", "1000000");
  char account[64], iq[1024], msg[512];

  /* The registrations: one enable per account, by the session that will
   * come back (same resource, so it is bound to it again). */
  size_t h = bench_heap_in_use();
  for (long i = 0; i < n; i++) {
    snprintf(account, sizeof account, "user%ld@example.org", i);
    cloudnotify_session *s = NULL;
    if (cloudnotify_session_new(ctx, account, "phone", &s))
      fail("session_new");
    int len = snprintf(iq, sizeof iq,
                       "<iq type='set' id='e%ld'><enable xmlns='urn:xmpp:push:0' "
                       "jid='push.example.net' node='node-%ld'>" FORM "</enable></iq>",
                       i, i);
    cloudnotify_handle_client_iq(s, iq, (size_t)len);
    cloudnotify_session_free(s);
  }
  if (replies_ok != n)
    fail("an enable failed");
  p.reg_bytes = (double)(bench_heap_in_use() - h) / (double)n;

  h = bench_heap_in_use();
  cloudnotify_session **ss = calloc((size_t)n, sizeof *ss);
  long publishes_setup = publishes;
  for (long i = 0; i < n; i++) {
    clock_ms = 1000000 + i / PER_MS;
    snprintf(account, sizeof account, "user%ld@example.org", i);
    if (cloudnotify_session_new(ctx, account, "phone", &ss[i]) ||
        !cloudnotify_session_has_push(ss[i]) || cloudnotify_session_sm_enabled(ss[i]))
      fail("session not bound to its registration");
    int len = snprintf(msg, sizeof msg, MSG, account, i);
    if (i % 2 == 0) {
      if (cloudnotify_session_hibernated(ss[i], NULL, 0) ||
          cloudnotify_session_queued(ss[i], msg, (size_t)len))
        fail("hibernated / queued");
    } else if (cloudnotify_session_queued(ss[i], msg, (size_t)len) ||
               cloudnotify_session_ack_requested(ss[i])) {
      fail("queued / ack_requested");
    }
  }
  if (publishes != publishes_setup)
    fail("a push went out during the set-up");
  p.session_bytes = (double)(bench_heap_in_use() - h) / (double)n;

  /* Nothing due: the first coalescing deadline is 5 s after the first
   * session, the set-up took n / PER_MS ms of the clock. */
  clock_ms = 1000000 + 4999;
  if (cloudnotify_next_timeout(ctx) != 1)
    fail("unexpected first deadline");
  double t0 = bench_now_s();
  for (long k = 0; k < idle_ticks; k++)
    cloudnotify_tick(ctx);
  p.idle_ns = (bench_now_s() - t0) / (double)idle_ticks * 1e9;
  if (publishes != publishes_setup)
    fail("a push went out on an idle tick");

  /* Batches: 1 ms of the clock per tick. */
  long batches = n / PER_MS < 200 ? n / PER_MS : 200;
  long before = publishes;
  t0 = bench_now_s();
  for (long k = 0; k < batches; k++) {
    clock_ms++;
    cloudnotify_tick(ctx);
  }
  double t_batch = bench_now_s() - t0;
  long pushed = publishes - before;
  if (pushed != batches * PER_MS / 2)
    fail("a batch did not push every due session");
  p.batch_us = t_batch / (double)batches * 1e6;
  p.per_push_us = t_batch / (double)pushed * 1e6;
  p.push_per_tick = (double)pushed / (double)batches;

  for (long i = 0; i < n; i++)
    cloudnotify_session_free(ss[i]);
  free(ss);
  cloudnotify_ctx_free(ctx);
  printf("figure 5 sessions N=%ld (%ld hibernated with a coalesced push pending, %ld live "
         "with an ack timer): tick with nothing due %.0f ns; tick with a batch due %.1f us "
         "(%.0f publishes, %.2f us each); %.0f B/session (session, pending stanza, timer, "
         "pinned cached account), registrations %.0f B each\n",
         n, (n + 1) / 2, n / 2, p.idle_ns, p.batch_us, p.push_per_tick, p.per_push_us,
         p.session_bytes, p.reg_bytes);
  fflush(stdout);
  (void)heap0;
  return p;
}

int main(int argc, char **argv) {
  long max = 100000, idle_ticks = 1000000;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) {
      max = 10000;
      idle_ticks = 200000;
    } else if (!strcmp(argv[i], "--max") && i + 1 < argc)
      max = atol(argv[++i]);
    else {
      fprintf(stderr, "usage: %s [--quick] [--max N]\n", argv[0]);
      return 2;
    }
  }
  header();
  static const long sizes[] = { 1000, 3000, 10000, 30000, 100000 };
  point pts[5];
  int np = 0;
  for (int k = 0; k < 5 && sizes[k] <= max; k++)
    pts[np++] = run(sizes[k], idle_ticks);
  if (!np)
    fail("--max below the smallest size (1000)");
  const point *a = &pts[0], *b = &pts[np - 1];
  printf("figure 5 sessions: N=%ld..%ld: tick with nothing due %.0f..%.0f ns, with a batch "
         "due %.2f..%.2f us per publish; %.0f..%.0f B/session\n",
         a->n, b->n, a->idle_ns, b->idle_ns, a->per_push_us, b->per_push_us, a->session_bytes,
         b->session_bytes);
  const char *plot = getenv("CN_PLOT_DIR");
  if (plot && *plot) {
    char path[1024];
    snprintf(path, sizeof path, "%s/fig5-tick.dat", plot);
    FILE *f = fopen(path, "w");
    if (!f) {
      perror(path);
      return 1;
    }
    fprintf(f, "# sessions idle_tick_ns batch_tick_us per_publish_us publishes_per_tick\n");
    for (int i = 0; i < np; i++)
      fprintf(f, "%ld %.1f %.2f %.3f %.1f\n", pts[i].n, pts[i].idle_ns, pts[i].batch_us,
              pts[i].per_push_us, pts[i].push_per_tick);
    fclose(f);
    snprintf(path, sizeof path, "%s/fig5-memory.dat", plot);
    f = fopen(path, "w");
    if (!f) {
      perror(path);
      return 1;
    }
    fprintf(f, "# sessions bytes_per_session registration_bytes\n");
    for (int i = 0; i < np; i++)
      fprintf(f, "%ld %.1f %.1f\n", pts[i].n, pts[i].session_bytes, pts[i].reg_bytes);
    fclose(f);
  }
  return 0;
}
