/*
 * Figure 4 of issue 12, scale: registrations spread over 0.3 as many
 * accounts (3 or 4 each, the accounts' registrations next to each other),
 * grown in steps of 1 000, 10 000, 100 000 and 1 000 000 registrations,
 * through a context with the memory store and a context with the SQLite
 * store.  At each size it prints and plots:
 *   - memory store: the heap (malloc'd bytes, mallinfo2) and VmRSS the
 *     registrations cost, per registration: the memory store plus the
 *     context's cache at its default bound (push_max_cached_users 10 000),
 *     and with the cache holding every account;
 *   - per-operation cost over random accounts that have registrations:
 *     cloudnotify_account_has_push (the no-push decision a host asks for
 *     every event) and cloudnotify_account_registrations (the lookup of the
 *     registrations a push needs), with the cache at its default bound
 *     (misses load through the store) and, for the memory store, holding
 *     every account;
 *   - the cost of an enable (client IQ through a session, store save) at
 *     that size;
 *   - SQLite: a cold context meeting every account of the file once
 *     (load N regs / M accounts, as bench-store).
 * Registrations reach the memory store through enables (one session per
 * registration, each with its own client identity); the SQLite file is
 * written straight into the store's table (as bench-store does: a million
 * enables would time a million fsyncs) and reaches the context through
 * the store's load.
 *
 * Usage: bench-scale [--quick] [--max N] [--lookups N] [--dir DIR]
 *   --quick    sizes up to 100 000, fewer lookups
 *   --max      largest size (default 1 000 000)
 *   --lookups  random lookups timed per size and kind (default 200 000)
 *   --dir      where the SQLite file goes (default /tmp)
 *   --memory-only  skip the SQLite store (for callgrind runs)
 *   --cache    the cache bound of the "default cache" figures (default
 *              10000, the library's default; smaller sizes show misses
 *              at small N, e.g. under callgrind)
 * CN_PLOT_DIR: write fig4-cost.dat and fig4-memory.dat there.
 */
#include <cloudnotify/cloudnotify.h>

#include <malloc.h>
#include <sqlite3.h>
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

#define FORM                                                                                       \
  "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"                          \
  "http://jabber.org/protocol/pubsub#publish-options</value></field><field var='secret'>"          \
  "<value>0123456789abcdef0123456789abcdef</value></field></x>"

static void header(void) {
  char machine[256];
  printf("bench-scale: machine %s; build %s; libcloudnotify %s\n",
         bench_machine(machine, sizeof machine), CN_BUILD_TYPE, cloudnotify_version_string());
  fflush(stdout);
}

static int replies_ok, replies_bad;
static char cache_bound[32] = "10000"; /* push_max_cached_users of the default-cache figures */

static int on_send(void *ud, cloudnotify_route route, cloudnotify_session *s, const char *account,
                   const char *to, const char *xml, size_t len) {
  (void)ud, (void)s, (void)account, (void)to, (void)len;
  if (route == CLOUDNOTIFY_ROUTE_CLIENT) {
    if (strstr(xml, "type='result'"))
      replies_ok++;
    else
      replies_bad++;
  }
  return 0;
}

static cloudnotify_ctx *new_ctx(cloudnotify_sqlite *db) {
  cloudnotify_callbacks cb = { .size = sizeof cb, .send = on_send };
  cloudnotify_ctx *ctx = NULL;
  if (cloudnotify_ctx_new(&ctx, &cb, NULL))
    exit(1);
  cloudnotify_ctx_set_option(ctx, "push_max_cached_users", cache_bound);
  if (db && cloudnotify_ctx_set_store(ctx, cloudnotify_sqlite_store(), db)) {
    fprintf(stderr, "set_store failed\n");
    exit(1);
  }
  return ctx;
}

/* Registration i belongs to account i * 3 / 10: 10 registrations per 3
 * accounts, an account's registrations consecutive. */
static long account_of(long i) {
  return i * 3 / 10;
}

static long accounts_for(long n) {
  return account_of(n - 1) + 1;
}

static void account_name(char *buf, size_t size, long a) {
  snprintf(buf, size, "user%ld@example.org", a);
}

/* One enable of registration i (its own session and client identity). */
static void enable_one(cloudnotify_ctx *ctx, const char *account, long i) {
  char resource[32], iq[1024];
  snprintf(resource, sizeof resource, "r%ld", i);
  cloudnotify_session *s = NULL;
  if (cloudnotify_session_new(ctx, account, resource, &s)) {
    fprintf(stderr, "session_new failed\n");
    exit(1);
  }
  int len = snprintf(iq, sizeof iq,
                     "<iq type='set' id='e%ld'><enable xmlns='urn:xmpp:push:0' "
                     "jid='%s' node='node-%ld'>" FORM "</enable></iq>",
                     i, i % 3 ? "push.example.net" : "fcm.push.example.org", i);
  cloudnotify_handle_client_iq(s, iq, (size_t)len);
  cloudnotify_session_free(s);
}

static int count_listed(void *data, const char *account, const cloudnotify_record *r) {
  (void)account, (void)r;
  (*(long *)data)++;
  return 0;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* lookups random account names among the first accounts (each has
 * registrations), formatted before the clock starts. */
static char (*random_accounts(long accounts, long lookups))[32] {
  char(*names)[32] = malloc((size_t)lookups * 32);
  for (long k = 0; k < lookups; k++)
    account_name(names[k], 32, (long)(next_rand() % (uint64_t)accounts));
  return names;
}

/* ns per has_push and per registrations lookup over random accounts. */
static void time_lookups(cloudnotify_ctx *ctx, long accounts, long lookups, double *has_ns,
                         double *regs_ns) {
  char(*names)[32] = random_accounts(accounts, lookups);
  long yes = 0;
  double t0 = bench_now_s();
  for (long k = 0; k < lookups; k++)
    yes += cloudnotify_account_has_push(ctx, names[k]) == 1;
  *has_ns = (bench_now_s() - t0) / (double)lookups * 1e9;
  long listed = 0;
  t0 = bench_now_s();
  for (long k = 0; k < lookups; k++)
    cloudnotify_account_registrations(ctx, names[k], count_listed, &listed);
  *regs_ns = (bench_now_s() - t0) / (double)lookups * 1e9;
  free(names);
  if (yes != lookups || listed < 3 * lookups) {
    fprintf(stderr, "lookups: %ld of %ld had push, %ld listed\n", yes, lookups, listed);
    exit(1);
  }
}

typedef struct {
  long n;
  double enable_ns;
  double heap_per_reg, rss_per_reg, heap_all_cached_per_reg;
  double has_ns, regs_ns;         /* default cache */
  double has_all_ns, regs_all_ns; /* every account cached */
} mem_point;

typedef struct {
  long n;
  double enable_us;
  double has_ns, regs_ns; /* default cache */
  double load_s, load_cpu_s;
} sql_point;

#define SIZES 4
static const long sizes[SIZES] = { 1000, 10000, 100000, 1000000 };

static int run_memory(long max, long lookups, mem_point *pts) {
  malloc_trim(0);
  size_t heap0 = bench_heap_in_use();
  long rss0 = bench_vm_rss_kib();
  cloudnotify_ctx *ctx = new_ctx(NULL);
  long done = 0;
  int np = 0;
  char account[64];
  for (int k = 0; k < SIZES && sizes[k] <= max; k++) {
    long n = sizes[k];
    long timed = n - done < 5000 ? n - done : 5000;
    replies_ok = replies_bad = 0;
    double t0 = 0;
    for (long i = done; i < n; i++) {
      if (i == n - timed)
        t0 = bench_now_s();
      account_name(account, sizeof account, account_of(i));
      enable_one(ctx, account, i);
    }
    double t_enable = bench_now_s() - t0;
    if (replies_ok != n - done) {
      fprintf(stderr, "memory: %d of %ld enables failed\n", replies_bad, n - done);
      return -1;
    }
    done = n;
    mem_point *p = &pts[np++];
    p->n = n;
    p->enable_ns = t_enable / (double)timed * 1e9;
    long accounts = accounts_for(n);
    /* The memory figures first, with the cache at its default bound. */
    malloc_trim(0);
    p->heap_per_reg = (double)(bench_heap_in_use() - heap0) / (double)n;
    p->rss_per_reg = (double)(bench_vm_rss_kib() - rss0) * 1024.0 / (double)n;
    time_lookups(ctx, accounts, lookups, &p->has_ns, &p->regs_ns);
    /* Then with every account cached. */
    size_t before = bench_heap_in_use();
    cloudnotify_ctx_set_option(ctx, "push_max_cached_users", "10000000");
    for (long a = 0; a < accounts; a++) {
      account_name(account, sizeof account, a);
      cloudnotify_account_has_push(ctx, account);
    }
    p->heap_all_cached_per_reg =
        p->heap_per_reg + (double)(bench_heap_in_use() - before) / (double)n;
    time_lookups(ctx, accounts, lookups, &p->has_all_ns, &p->regs_all_ns);
    /* Back to the default bound: the next miss trims the cache. */
    cloudnotify_ctx_set_option(ctx, "push_max_cached_users", cache_bound);
    account_name(account, sizeof account, accounts + 1000000);
    cloudnotify_account_has_push(ctx, account);

    printf("figure 4 scale memory N=%ld: heap %.0f B/reg (store + cache of %s accounts), "
           "%.0f B/reg with every account cached, VmRSS growth %.0f B/reg; enable %.0f ns; "
           "has_push %.0f ns, registrations %.0f ns (cache %s of %ld accounts); "
           "has_push %.0f ns, registrations %.0f ns (all cached)\n",
           n, p->heap_per_reg, cache_bound, p->heap_all_cached_per_reg, p->rss_per_reg,
           p->enable_ns, p->has_ns, p->regs_ns, cache_bound, accounts, p->has_all_ns,
           p->regs_all_ns);
    fflush(stdout);
  }
  cloudnotify_ctx_free(ctx);
  return np;
}

static void sql_ok(int rc, sqlite3 *db, const char *what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE) {
    fprintf(stderr, "%s: %s\n", what, sqlite3_errmsg(db));
    exit(1);
  }
}

/* Registrations from..to-1 appended straight into the store's table
 * (schema version 1 of lib/store-sqlite.c), in one transaction. */
static void fill(const char *path, long from, long to) {
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
  for (long i = from; i < to; i++) {
    account_name(account, sizeof account, account_of(i));
    snprintf(node, sizeof node, "node-%ld", i);
    snprintf(client, sizeof client, "r%ld", i);
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

static int run_sqlite(const char *dir, long max, long lookups, sql_point *pts) {
  char path[512];
  snprintf(path, sizeof path, "%s/bench-scale-%ld.db", dir, (long)getpid());
  cloudnotify_sqlite *db = NULL;
  if (cloudnotify_sqlite_open(path, 0, &db)) {
    fprintf(stderr, "cannot create %s\n", path);
    return -1;
  }
  cloudnotify_sqlite_close(db);
  long done = 0, extra = 0;
  int np = 0;
  char account[64];
  for (int k = 0; k < SIZES && sizes[k] <= max; k++) {
    long n = sizes[k];
    fill(path, done, n);
    done = n;
    long accounts = accounts_for(n);
    sql_point *p = &pts[np++];
    p->n = n;
    if (cloudnotify_sqlite_open(path, CLOUDNOTIFY_SQLITE_NO_CREATE, &db))
      return -1;
    /* A cold context meeting every account once; push_max_devices above
     * the per-account count so that nothing is trimmed (a write). */
    cloudnotify_ctx *ctx = new_ctx(db);
    cloudnotify_ctx_set_option(ctx, "push_max_devices", "1000");
    long listed = 0;
    double t0 = bench_now_s(), c0 = bench_cpu_s();
    for (long a = 0; a < accounts; a++) {
      account_name(account, sizeof account, a);
      if (cloudnotify_account_registrations(ctx, account, count_listed, &listed) < 0) {
        fprintf(stderr, "load of %s failed\n", account);
        return -1;
      }
    }
    p->load_s = bench_now_s() - t0;
    p->load_cpu_s = bench_cpu_s() - c0;
    if (listed != n) {
      fprintf(stderr, "sqlite: loaded %ld of %ld\n", listed, n);
      return -1;
    }
    time_lookups(ctx, accounts, lookups, &p->has_ns, &p->regs_ns);
    /* Enables: one transaction with synchronous=FULL each, on accounts of
     * their own (kept in the file). */
    int enables = 200;
    replies_ok = replies_bad = 0;
    t0 = bench_now_s();
    for (int e = 0; e < enables; e++, extra++) {
      snprintf(account, sizeof account, "extra%ld@example.org", extra);
      enable_one(ctx, account, 10000000 + extra);
    }
    p->enable_us = (bench_now_s() - t0) / enables * 1e6;
    if (replies_ok != enables) {
      fprintf(stderr, "sqlite: %d of %d enables failed\n", replies_bad, enables);
      return -1;
    }
    cloudnotify_ctx_free(ctx);
    cloudnotify_sqlite_close(db);
    printf("figure 4 scale sqlite N=%ld: load %ld regs / %ld accounts %.2f s (CPU %.2f s, "
           "%.2f us/reg); has_push %.0f ns, registrations %.0f ns (cache %s of %ld accounts); "
           "enable %.0f us (fsync each)\n",
           n, n, accounts, p->load_s, p->load_cpu_s, p->load_s / (double)n * 1e6, p->has_ns,
           p->regs_ns, cache_bound, accounts, p->enable_us);
    fflush(stdout);
  }
  const char *suffix[] = { "", "-wal", "-shm" };
  for (int i = 0; i < 3; i++) {
    char p[600];
    snprintf(p, sizeof p, "%s%s", path, suffix[i]);
    unlink(p);
  }
  return np;
}

int main(int argc, char **argv) {
  long max = 1000000, lookups = 200000;
  int memory_only = 0;
  const char *dir = "/tmp";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) {
      max = 100000;
      lookups = 50000;
    } else if (!strcmp(argv[i], "--max") && i + 1 < argc)
      max = atol(argv[++i]);
    else if (!strcmp(argv[i], "--lookups") && i + 1 < argc)
      lookups = atol(argv[++i]);
    else if (!strcmp(argv[i], "--dir") && i + 1 < argc)
      dir = argv[++i];
    else if (!strcmp(argv[i], "--memory-only"))
      memory_only = 1;
    else if (!strcmp(argv[i], "--cache") && i + 1 < argc)
      snprintf(cache_bound, sizeof cache_bound, "%ld", atol(argv[++i]));
    else {
      fprintf(stderr, "usage: %s [--quick] [--max N] [--lookups N] [--dir DIR] [--cache N]\n",
              argv[0]);
      return 2;
    }
  }
  if (max < sizes[0] || lookups < 1) {
    fprintf(stderr, "--max takes at least %ld, --lookups a positive number\n", sizes[0]);
    return 2;
  }
  header();
  mem_point mp[SIZES];
  sql_point sp[SIZES];
  int nm = run_memory(max, lookups, mp);
  if (nm < 0)
    return 1;
  if (memory_only)
    return 0;
  int ns = run_sqlite(dir, max, lookups, sp);
  if (ns < 0)
    return 1;
  const mem_point *last = &mp[nm - 1];
  const sql_point *sl = &sp[ns - 1];
  printf("figure 4 scale: %ld registrations / %ld accounts: memory store %.0f B/reg heap, "
         "%.0f B/reg VmRSS (target <= 400), %.0f B/reg with every account cached; "
         "has_push %.0f..%.0f ns, registrations %.0f..%.0f ns from N=%ld to %ld (all cached); "
         "sqlite load %.2f s\n",
         last->n, accounts_for(last->n), last->heap_per_reg, last->rss_per_reg,
         last->heap_all_cached_per_reg, mp[0].has_all_ns, last->has_all_ns, mp[0].regs_all_ns,
         last->regs_all_ns, mp[0].n, last->n, sl->load_s);

  const char *plot = getenv("CN_PLOT_DIR");
  if (plot && *plot) {
    char path[1024];
    snprintf(path, sizeof path, "%s/fig4-cost.dat", plot);
    FILE *f = fopen(path, "w");
    if (!f) {
      perror(path);
      return 1;
    }
    fprintf(f, "# N mem_enable_ns mem_has_push_ns mem_registrations_ns mem_has_push_cached_ns "
               "mem_registrations_cached_ns sqlite_has_push_ns sqlite_registrations_ns "
               "sqlite_enable_ns sqlite_load_us_per_reg\n");
    for (int i = 0; i < nm && i < ns; i++)
      fprintf(f, "%ld %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.3f\n", mp[i].n, mp[i].enable_ns,
              mp[i].has_ns, mp[i].regs_ns, mp[i].has_all_ns, mp[i].regs_all_ns, sp[i].has_ns,
              sp[i].regs_ns, sp[i].enable_us * 1000, sp[i].load_s / (double)sp[i].n * 1e6);
    fclose(f);
    snprintf(path, sizeof path, "%s/fig4-memory.dat", plot);
    f = fopen(path, "w");
    if (!f) {
      perror(path);
      return 1;
    }
    fprintf(f, "# N heap_bytes_per_reg rss_bytes_per_reg heap_all_cached_bytes_per_reg\n");
    for (int i = 0; i < nm; i++)
      fprintf(f, "%ld %.1f %.1f %.1f\n", mp[i].n, mp[i].heap_per_reg, mp[i].rss_per_reg,
              mp[i].heap_all_cached_per_reg);
    fclose(f);
  }
  return 0;
}
