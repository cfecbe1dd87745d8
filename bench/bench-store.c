/*
 * Store throughput on this machine, one line per figure (with the machine
 * and the build type):
 *   - enables per second through a context (client IQ, store save), per store;
 *   - loads per second (an uncached account listed: store load, validation);
 *   - the time to load COUNT registrations spread over COUNT * 0.3 accounts
 *     from SQLite, every account once, through a context (a server starting
 *     cold and meeting each account), and the time of one full scan
 *     (cloudnotify_sqlite_foreach, what cloudnotify-admin export reads).
 * Stores: memory, SQLite (a file in --dir, default /tmp), and PostgreSQL
 * when libcloudnotify-pg is built and CN_BENCH_PG names a database (a
 * libpq conninfo; a schema of its own is created there and left).
 *
 * Usage: bench-store [--enables N] [--count N] [--dir DIR]
 *   --enables  registrations enabled and then loaded per store (default 2000)
 *   --count    registrations of the big SQLite load (default 100000; the
 *              issue's figure is --count 1000000)
 */
#include <cloudnotify/cloudnotify.h>
#ifdef CN_HAVE_PG
#include <cloudnotify/cloudnotify-pg.h>
#endif

#include <sqlite3.h>
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

static char machine[256];

static void describe_machine(void) {
  bench_machine(machine, sizeof machine);
}

static void figure(const char *store, const char *what, double value, const char *unit) {
  printf("bench-store %-8s %-34s %14.3f %-10s [%s; build %s; libcloudnotify %s]\n", store, what,
         value, unit, machine, CN_BUILD_TYPE, cloudnotify_version_string());
  fflush(stdout);
}

static int replies_ok, replies_bad;

static int on_send(void *ud, cloudnotify_route route, cloudnotify_session *s, const char *account,
                   const char *to, const char *xml, size_t len) {
  if (route == CLOUDNOTIFY_ROUTE_CLIENT) {
    if (strstr(xml, "type='result'"))
      replies_ok++;
    else
      replies_bad++;
  }
  return 0;
}

/* The PostgreSQL handle of the context being measured, driven after
 * every call (its answers come later). */
static void *bench_pg;
static const char *bench_pg_conninfo;
static char bench_pg_schema[40];

static void drive(void) {
#ifdef CN_HAVE_PG
  if (bench_pg && cloudnotify_pg_wait_idle(bench_pg, 30000)) {
    fprintf(stderr, "postgres: the store did not become idle\n");
    exit(1);
  }
#endif
}

static cloudnotify_ctx *new_ctx(cloudnotify_sqlite *db) {
  cloudnotify_callbacks cb = { .size = sizeof cb, .send = on_send };
  cloudnotify_ctx *ctx = NULL;
  if (cloudnotify_ctx_new(&ctx, &cb, NULL))
    exit(1);
  cloudnotify_ctx_set_option(ctx, "push_max_cached_users", "10000");
  if (db && cloudnotify_ctx_set_store(ctx, cloudnotify_sqlite_store(), db)) {
    fprintf(stderr, "set_store failed\n");
    exit(1);
  }
#ifdef CN_HAVE_PG
  if (bench_pg_conninfo) {
    cloudnotify_pg_options o = { .size = sizeof o, .schema = bench_pg_schema };
    cloudnotify_pg *pg = NULL;
    if (cloudnotify_pg_new(&pg, bench_pg_conninfo, &o) || cloudnotify_ctx_set_pg_store(ctx, pg) ||
        cloudnotify_pg_wait_idle(pg, 30000)) {
      fprintf(stderr, "postgres: cannot use %s\n", bench_pg_conninfo);
      exit(1);
    }
    bench_pg = pg;
  }
#endif
  return ctx;
}

#define FORM                                                                                       \
  "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"                          \
  "http://jabber.org/protocol/pubsub#publish-options</value></field><field var='secret'>"          \
  "<value>0123456789abcdef0123456789abcdef</value></field></x>"

static int count_listed(void *data, const char *account, const cloudnotify_record *r);

static void free_ctx(cloudnotify_ctx *ctx) {
  cloudnotify_ctx_free(ctx);
#ifdef CN_HAVE_PG
  cloudnotify_pg_free(bench_pg);
  bench_pg = NULL;
#endif
}

/* n enables, one per account, then the n accounts loaded by a new
 * context; the memory store is per context, so it is measured loading
 * in the context that enabled them, after forgetting them. */
static void enable_and_load(const char *store, cloudnotify_sqlite *db, int n) {
  cloudnotify_ctx *ctx = new_ctx(db);
  char account[64], iq[1024];
  replies_ok = replies_bad = 0;
  double t0 = bench_now_s();
  for (int i = 0; i < n; i++) {
    snprintf(account, sizeof account, "user%d@example.org", i);
    cloudnotify_session *s = NULL;
    cloudnotify_session_new(ctx, account, "phone", &s);
    int len = snprintf(iq, sizeof iq,
                       "<iq type='set' id='e%d'><enable xmlns='urn:xmpp:push:0' "
                       "jid='push.example.net' node='node-%d'>" FORM "</enable></iq>",
                       i, i);
    cloudnotify_handle_client_iq(s, iq, (size_t)len);
    drive();
    cloudnotify_session_free(s);
  }
  double t_enable = bench_now_s() - t0;
  if (replies_ok != n) {
    fprintf(stderr, "%s: %d of %d enables failed\n", store, n - replies_ok, n);
    exit(1);
  }
  figure(store, "enable (IQ + save)", n / t_enable, "enables/s");
  if (db || bench_pg) {
    free_ctx(ctx);
    ctx = new_ctx(db);
  } else {
    for (int i = 0; i < n; i++) {
      snprintf(account, sizeof account, "user%d@example.org", i);
      cloudnotify_account_forget(ctx, account);
    }
  }
  t0 = bench_now_s();
  unsigned got = 0;
  for (int i = 0; i < n; i++) {
    snprintf(account, sizeof account, "user%d@example.org", i);
    long one = 0;
    int rc = cloudnotify_account_registrations(ctx, account, count_listed, &one);
    if (rc == CLOUDNOTIFY_ERR_BUSY) { /* answered later: drive, then list */
      drive();
      rc = cloudnotify_account_registrations(ctx, account, count_listed, &one);
    }
    got += rc == 1;
  }
  double t_load = bench_now_s() - t0;
  if (got != (unsigned)n) {
    fprintf(stderr, "%s: %u of %d accounts loaded with a registration\n", store, got, n);
    exit(1);
  }
  figure(store, "load (uncached account, 1 reg)", n / t_load, "loads/s");
  free_ctx(ctx);
}

static void sql_ok(int rc, sqlite3 *db, const char *what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE) {
    fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
  }
}

/* count registrations over count * 3 / 10 accounts, written in one
 * transaction straight into the store's table (schema version 1,
 * lib/store-sqlite.c): saving them one by one through the store would
 * measure a million fsyncs, not the load. */
static void fill(const char *path, long count, long accounts) {
  cloudnotify_sqlite *cdb = NULL;
  if (cloudnotify_sqlite_open(path, 0, &cdb)) {
    fprintf(stderr, "cannot create %s\n", path);
    exit(1);
  }
  cloudnotify_sqlite_close(cdb);
  sqlite3 *db;
  sql_ok(sqlite3_open(path, &db), db, "open");
  sql_ok(sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN", NULL, NULL, NULL), db, "begin");
  sqlite3_stmt *ins;
  sql_ok(sqlite3_prepare_v2(db,
                            "INSERT INTO registrations (account, jid, node, publish_options, "
                            "enabled_at, errors, client_id) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
                            -1, &ins, NULL),
         db, "prepare");
  char account[64], node[32], client[32];
  for (long i = 0; i < count; i++) {
    long a = i % accounts;
    snprintf(account, sizeof account, "user%ld@example.org", a);
    snprintf(node, sizeof node, "node-%ld", i);
    snprintf(client, sizeof client, "client-%ld", i % 7);
    sqlite3_bind_text(ins, 1, account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, i % 3 ? "push.example.net" : "fcm.push.example.org", -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(ins, 3, node, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(ins, 4, FORM, (int)strlen(FORM), SQLITE_STATIC);
    sqlite3_bind_int64(ins, 5, 1700000000000 + i);
    sqlite3_bind_text(ins, 6, client, -1, SQLITE_TRANSIENT);
    sql_ok(sqlite3_step(ins), db, "insert");
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  sql_ok(sqlite3_exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL), db,
         "commit");
  sqlite3_close(db);
}

static int count_row(void *data, const char *account, const cloudnotify_record *r) {
  (*(long *)data)++;
  return 0;
}

static int count_listed(void *data, const char *account, const cloudnotify_record *r) {
  (*(long *)data)++;
  return 0;
}

static void big_load(const char *dir, long count) {
  long accounts = count * 3 / 10;
  if (accounts < 1)
    accounts = 1;
  char path[512];
  snprintf(path, sizeof path, "%s/bench-store-big-%ld.db", dir, (long)getpid());
  double t0 = bench_now_s();
  fill(path, count, accounts);
  fprintf(stderr, "(filled %ld registrations over %ld accounts in %.1f s)\n", count, accounts,
          bench_now_s() - t0);
  cloudnotify_sqlite *db = NULL;
  if (cloudnotify_sqlite_open(path, CLOUDNOTIFY_SQLITE_NO_CREATE, &db))
    exit(1);

  long scanned = 0;
  t0 = bench_now_s();
  double c0 = bench_cpu_s();
  cloudnotify_sqlite_foreach(db, NULL, count_row, &scanned);
  double t_scan = bench_now_s() - t0, c_scan = bench_cpu_s() - c0;
  if (scanned != count) {
    fprintf(stderr, "scan saw %ld of %ld\n", scanned, count);
    exit(1);
  }
  char what[80];
  snprintf(what, sizeof what, "full scan of %ld regs", count);
  figure("sqlite", what, t_scan, "s");
  figure("sqlite", "  the same, CPU time of the process", c_scan, "s");

  /* push_max_devices above the per-account count, so nothing is trimmed
   * (a trim would be a write). */
  cloudnotify_ctx *ctx = new_ctx(db);
  cloudnotify_ctx_set_option(ctx, "push_max_devices", "1000");
  char account[64];
  long listed = 0;
  t0 = bench_now_s();
  c0 = bench_cpu_s();
  for (long a = 0; a < accounts; a++) {
    snprintf(account, sizeof account, "user%ld@example.org", a);
    if (cloudnotify_account_registrations(ctx, account, count_listed, &listed) < 0) {
      fprintf(stderr, "load of %s failed\n", account);
      exit(1);
    }
  }
  double t_load = bench_now_s() - t0, c_load = bench_cpu_s() - c0;
  if (listed != count) {
    fprintf(stderr, "loaded %ld of %ld\n", listed, count);
    exit(1);
  }
  snprintf(what, sizeof what, "load %ld regs / %ld accounts", count, accounts);
  figure("sqlite", what, t_load, "s");
  figure("sqlite", "  the same, CPU time of the process", c_load, "s");
  figure("sqlite", "  the same, per registration", t_load / (double)count * 1e6, "us/reg");
  cloudnotify_ctx_free(ctx);
  cloudnotify_sqlite_close(db);
  const char *suffix[] = { "", "-wal", "-shm" };
  for (int i = 0; i < 3; i++) {
    char p[600];
    snprintf(p, sizeof p, "%s%s", path, suffix[i]);
    unlink(p);
  }
}

int main(int argc, char **argv) {
  int enables = 2000;
  long count = 100000;
  const char *dir = "/tmp";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--enables") && i + 1 < argc)
      enables = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--count") && i + 1 < argc)
      count = atol(argv[++i]);
    else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
      dir = argv[++i];
    else {
      fprintf(stderr, "usage: %s [--enables N] [--count N] [--dir DIR]\n", argv[0]);
      return 2;
    }
  }
  if (enables < 1 || count < 1) {
    fprintf(stderr, "--enables and --count take positive numbers\n");
    return 2;
  }
  describe_machine();

  enable_and_load("memory", NULL, enables);

  char path[512];
  snprintf(path, sizeof path, "%s/bench-store-%ld.db", dir, (long)getpid());
  cloudnotify_sqlite *db = NULL;
  if (cloudnotify_sqlite_open(path, 0, &db)) {
    fprintf(stderr, "cannot create %s\n", path);
    return 1;
  }
  enable_and_load("sqlite", db, enables);
  cloudnotify_sqlite_close(db);
  const char *suffix[] = { "", "-wal", "-shm" };
  for (int i = 0; i < 3; i++) {
    char p[600];
    snprintf(p, sizeof p, "%s%s", path, suffix[i]);
    unlink(p);
  }

#ifdef CN_HAVE_PG
  bench_pg_conninfo = getenv("CN_BENCH_PG");
  if (bench_pg_conninfo && *bench_pg_conninfo) {
    snprintf(bench_pg_schema, sizeof bench_pg_schema, "bench_store_%ld", (long)getpid());
    enable_and_load("postgres", NULL, enables);
    bench_pg_conninfo = NULL;
  } else {
    printf("bench-store %-8s skipped: set CN_BENCH_PG to a libpq conninfo\n", "postgres");
  }
#else
  printf("bench-store %-8s skipped: libcloudnotify-pg is not part of this build\n", "postgres");
#endif

  big_load(dir, count);
  return 0;
}
