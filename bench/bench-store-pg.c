/*
 * PostgreSQL store throughput on one connection, printed as figures:
 *   - enables: one enable IQ for each of n accounts, all given at once
 *     (each is a load, then a save in its own transaction), answered as
 *     the results come back;
 *   - loads: the same n accounts read back by a second context with an
 *     empty cache (cloudnotify_account_has_push).
 * Usage: bench-store-pg CONNINFO [n]   (default 2000; a fresh schema is
 * created and dropped).  A private server: tests/scripts/pg-cluster.sh.
 */
#include <cloudnotify/cloudnotify-pg.h>

#include <libpq-fe.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static unsigned replies, results;
static uint64_t expected_loads;

static int on_send(void *ud, cloudnotify_route route, cloudnotify_session *s, const char *account,
                   const char *to, const char *xml, size_t len) {
  if (route == CLOUDNOTIFY_ROUTE_CLIENT) {
    replies++;
    results += strstr(xml, "type='result'") != NULL;
  }
  return 0;
}

static void quiet(void *arg, const char *message) {}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Drive pg until cond() or 120 s. */
static int drive(cloudnotify_pg *pg, int (*cond)(void *), void *arg) {
  double end = now_s() + 120;
  while (!cond(arg)) {
    if (now_s() > end)
      return -1;
    int fd;
    unsigned ev;
    cloudnotify_pg_socket(pg, &fd, &ev);
    struct pollfd p = { .fd = fd,
                        .events = (short)((ev & CLOUDNOTIFY_PG_READ ? POLLIN : 0) |
                                          (ev & CLOUDNOTIFY_PG_WRITE ? POLLOUT : 0)) };
    int64_t t = cloudnotify_pg_next_timeout(pg);
    int got = poll(&p, fd >= 0, t < 0 || t > 100 ? 100 : (int)t);
    unsigned r = 0;
    if (got > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
      r |= CLOUDNOTIFY_PG_READ;
    if (got > 0 && (p.revents & (POLLOUT | POLLHUP | POLLERR)))
      r |= CLOUDNOTIFY_PG_WRITE;
    cloudnotify_pg_process(pg, r);
  }
  return 0;
}

static int all_replied(void *arg) {
  return replies >= *(unsigned *)arg;
}

/* Every account is in the cache: its load was answered. */
static int all_loaded(void *arg) {
  cloudnotify_ctx *ctx = arg;
  uint64_t cached = 0;
  cloudnotify_ctx_get_counter(ctx, CLOUDNOTIFY_GAUGE_CACHED_ACCOUNTS, &cached);
  return cached >= expected_loads;
}

static cloudnotify_pg *open_store(const char *conninfo, const char *schema) {
  cloudnotify_pg_options o = { .size = sizeof o, .schema = schema };
  cloudnotify_pg *pg = NULL;
  if (cloudnotify_pg_new(&pg, conninfo, &o) || cloudnotify_pg_wait_idle(pg, 20000)) {
    const char *m = "";
    if (pg)
      cloudnotify_pg_last_error(pg, &m);
    fprintf(stderr, "cannot use the database: %s\n", m);
    exit(1);
  }
  return pg;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CONNINFO [n]\n", argv[0]);
    return 2;
  }
  unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 2000;
  char schema[32];
  snprintf(schema, sizeof schema, "bench_%d", (int)getpid());
  cloudnotify_callbacks cb = { .size = sizeof cb, .send = on_send };

  cloudnotify_ctx *ctx;
  cloudnotify_ctx_new(&ctx, &cb, NULL);
  cloudnotify_ctx_set_option(ctx, "push_max_cached_users", "10000000");
  cloudnotify_pg *pg = open_store(argv[1], schema);
  cloudnotify_ctx_set_pg_store(ctx, pg);
  cloudnotify_session **s = calloc(n, sizeof *s);
  for (unsigned i = 0; i < n; i++) {
    char account[64];
    snprintf(account, sizeof account, "user%u@bench.example", i);
    cloudnotify_session_new(ctx, account, "phone", &s[i]);
  }
  const char *iq = "<iq type='set' id='e'><enable xmlns='urn:xmpp:push:0' "
                   "jid='push.example' node='device'/></iq>";
  double t0 = now_s();
  for (unsigned i = 0; i < n; i++)
    cloudnotify_handle_client_iq(s[i], iq, strlen(iq));
  if (drive(pg, all_replied, &n) || results != n) {
    fprintf(stderr, "enables: %u replies, %u results of %u\n", replies, results, n);
    return 1;
  }
  double te = now_s() - t0;
  printf("enables: %u in %.3f s: %.0f/s (%.3f ms each; load + save, one connection)\n", n, te,
         n / te, te * 1000 / n);
  for (unsigned i = 0; i < n; i++)
    cloudnotify_session_free(s[i]);
  free(s);
  cloudnotify_ctx_free(ctx);
  cloudnotify_pg_free(pg);

  cloudnotify_ctx_new(&ctx, &cb, NULL);
  cloudnotify_ctx_set_option(ctx, "push_max_cached_users", "10000000");
  pg = open_store(argv[1], schema);
  cloudnotify_ctx_set_pg_store(ctx, pg);
  expected_loads = n;
  t0 = now_s();
  for (unsigned i = 0; i < n; i++) {
    char account[64];
    snprintf(account, sizeof account, "user%u@bench.example", i);
    cloudnotify_account_has_push(ctx, account);
  }
  if (drive(pg, all_loaded, ctx)) {
    fprintf(stderr, "loads: not all of %u answered\n", n);
    return 1;
  }
  double tl = now_s() - t0;
  printf("loads: %u in %.3f s: %.0f/s (%.3f ms each)\n", n, tl, n / tl, tl * 1000 / n);
  cloudnotify_ctx_free(ctx);
  cloudnotify_pg_free(pg);

  PGconn *c = PQconnectdb(argv[1]);
  char drop[64];
  snprintf(drop, sizeof drop, "DROP SCHEMA %s CASCADE", schema);
  PQsetNoticeProcessor(c, quiet, NULL);
  PQclear(PQexec(c, drop));
  PQfinish(c);
  return 0;
}
