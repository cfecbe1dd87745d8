/* The PostgreSQL store with two nodes on one private cluster (started by
 * tests/scripts/pg-cluster.sh, stopped at the end): two library contexts,
 * each with its own store handle and connection, driven by one poll()
 * loop.  Every test uses a schema of its own, so that it starts from an
 * empty store. */
#include "api-util.h"

#include <libpq-fe.h>
#include <poll.h>
#include <stdlib.h>

#include "pg-cluster.h"

#include "cloudnotify/cloudnotify-pg-glib.h"
#include "cloudnotify/cloudnotify-pg.h"

static pgc_cluster pgc;
static const char *conninfo;

static int cluster(const char *cmd, char **out) {
  return pgc_run(&pgc, cmd, out);
}

static int free_port(void) {
  int p = pgc_free_port();
  assert_true(p > 0);
  return p;
}

/* ---- nodes --------------------------------------------------------------- */

#define LIMIT 3

typedef struct node {
  fake_host h;
  cloudnotify_pg *pg;
  GPtrArray *log;
  /* What socket_changed and timer_changed said last. */
  int fd;
  unsigned events;
  int64_t timeout;
  unsigned socket_calls;
} node;

static void on_socket(void *ud, int fd, unsigned events) {
  node *n = ud;
  /* A descriptor is always withdrawn before another one is given. */
  if (fd >= 0 && n->fd >= 0 && fd != n->fd)
    fail_msg("fd %d reported while %d was still watched", fd, n->fd);
  if (fd < 0)
    assert_int_equal(events, 0);
  n->fd = fd;
  n->events = events;
  n->socket_calls++;
}

static void on_timer(void *ud, int64_t ms) {
  ((node *)ud)->timeout = ms;
}

/* The callbacks told the host what the getters say. */
static void check_reported(const node *n) {
  int fd;
  unsigned ev;
  cloudnotify_pg_socket(n->pg, &fd, &ev);
  assert_int_equal(n->fd, fd);
  assert_int_equal(n->events, ev);
  if (cloudnotify_pg_next_timeout(n->pg) < 0)
    assert_int_equal(n->timeout, -1);
  else
    assert_true(n->timeout >= 0);
}

static void on_log(void *ud, cloudnotify_log_level level, const char *m) {
  node *n = ud;
  g_ptr_array_add(n->log, g_strdup(m));
  if (getenv("CN_PG_VERBOSE"))
    fprintf(stderr, "[pg %p] %s\n", (void *)n, m);
}

static cloudnotify_pg_options node_options(node *n, const char *schema) {
  cloudnotify_pg_options o = {
    .size = sizeof o,
    .max_devices = LIMIT,
    .reconnect_min_ms = 20,
    .reconnect_max_ms = 200,
    .connect_timeout_ms = 5000,
    .schema = schema,
    .log = on_log,
    .socket_changed = on_socket,
    .timer_changed = on_timer,
    .user_data = n,
  };
  n->fd = -1;
  n->timeout = -2;
  n->socket_calls = 0;
  return o;
}

static void node_start_on(node *n, const char *schema, const char *info) {
  fh_init(&n->h);
  n->log = g_ptr_array_new_with_free_func(g_free);
  cloudnotify_pg_options o = node_options(n, schema);
  assert_int_equal(cloudnotify_pg_new(&n->pg, info, &o), 0);
  assert_int_equal(cloudnotify_ctx_set_option_int(n->h.ctx, CLOUDNOTIFY_OPT_MAX_DEVICES, LIMIT), 0);
  assert_int_equal(cloudnotify_ctx_set_pg_store(n->h.ctx, n->pg), 0);
  /* One handle serves one context. */
  assert_int_equal(cloudnotify_ctx_set_pg_store(n->h.ctx, n->pg), CLOUDNOTIFY_ERR_STATE);
  assert_int_equal(cloudnotify_pg_wait_idle(n->pg, 20000), 0);
  assert_int_equal(cloudnotify_pg_get_state(n->pg), CLOUDNOTIFY_PG_READY);
}

static void node_start(node *n, const char *schema) {
  node_start_on(n, schema, conninfo);
}

static void node_stop(node *n) {
  fh_fini(&n->h); /* frees the context: the store detaches */
  cloudnotify_pg_free(n->pg);
  g_ptr_array_free(n->log, TRUE);
}

static gboolean node_idle(const node *n) {
  int fd;
  unsigned ev;
  cloudnotify_pg_socket(n->pg, &fd, &ev);
  int64_t t = cloudnotify_pg_next_timeout(n->pg);
  /* Down, with nothing left to answer: only the next attempt is due. */
  if (cloudnotify_pg_get_state(n->pg) == CLOUDNOTIFY_PG_DOWN)
    return t > 0;
  return cloudnotify_pg_get_state(n->pg) == CLOUDNOTIFY_PG_READY && t < 0 &&
         !(ev & CLOUDNOTIFY_PG_WRITE);
}

/* The host loop: poll both sockets, process what came and what is due,
 * until both nodes have had nothing to do for a while (notifications
 * from the other node arrive a little after its answer). */
static void drive_some(node **nodes, size_t count) {
  int64_t end = g_get_monotonic_time() / 1000 + 20000;
  int quiet = 0;
  while (quiet < 3) {
    assert_true(g_get_monotonic_time() / 1000 < end);
    struct pollfd p[4];
    int64_t wait = 30;
    for (size_t i = 0; i < count; i++) {
      int fd;
      unsigned ev;
      cloudnotify_pg_socket(nodes[i]->pg, &fd, &ev);
      p[i] = (struct pollfd){ .fd = fd,
                              .events = (short)((ev & CLOUDNOTIFY_PG_READ ? POLLIN : 0) |
                                                (ev & CLOUDNOTIFY_PG_WRITE ? POLLOUT : 0)) };
      int64_t t = cloudnotify_pg_next_timeout(nodes[i]->pg);
      if (t >= 0 && t < wait)
        wait = t;
    }
    int got = poll(p, count, (int)wait);
    for (size_t i = 0; i < count; i++) {
      unsigned r = 0;
      if (got > 0 && (p[i].revents & (POLLIN | POLLHUP | POLLERR)))
        r |= CLOUDNOTIFY_PG_READ;
      if (got > 0 && (p[i].revents & (POLLOUT | POLLHUP | POLLERR)))
        r |= CLOUDNOTIFY_PG_WRITE;
      assert_int_equal(cloudnotify_pg_process(nodes[i]->pg, r), 0);
      check_reported(nodes[i]);
      /* The library's own timers, as a host loop would run them. */
      if (cloudnotify_next_timeout(nodes[i]->h.ctx) == 0)
        cloudnotify_tick(nodes[i]->h.ctx);
    }
    gboolean all_idle = TRUE;
    for (size_t i = 0; i < count; i++)
      all_idle = all_idle && node_idle(nodes[i]);
    quiet = all_idle && got <= 0 ? quiet + 1 : 0;
  }
}

static void drive(node *a, node *b) {
  node *both[] = { a, b };
  drive_some(both, b ? 2 : 1);
}

/* Drive until cond holds for the node's state. */
static void drive_until_state(node *a, node *b, cloudnotify_pg_state want) {
  int64_t end = g_get_monotonic_time() / 1000 + 30000;
  while (cloudnotify_pg_get_state(a->pg) != want ||
         (b && cloudnotify_pg_get_state(b->pg) != want)) {
    assert_true(g_get_monotonic_time() / 1000 < end);
    node *both[] = { a, b };
    drive_some(both, b ? 2 : 1);
  }
}

/* ---- what the nodes and the database hold --------------------------------- */

static int collect(void *ud, const char *account, const cloudnotify_record *r) {
  g_ptr_array_add(ud, g_strdup_printf("%s/%s", r->jid, r->node ? r->node : ""));
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The node's view of account, sorted "jid/node" strings joined by ' '. */
static char *node_view(node *n, node *other, const char *account) {
  for (int tries = 0; tries < 50; tries++) {
    GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
    int rc = cloudnotify_account_registrations(n->h.ctx, account, collect, keys);
    if (rc == CLOUDNOTIFY_ERR_BUSY) {
      g_ptr_array_free(keys, TRUE);
      drive(n, other);
      continue;
    }
    assert_true(rc >= 0);
    g_ptr_array_sort(keys, cmp_str);
    g_ptr_array_add(keys, NULL);
    char *s = g_strjoinv(" ", (char **)keys->pdata);
    g_ptr_array_free(keys, TRUE);
    return s;
  }
  fail_msg("account %s stays busy", account);
  return NULL;
}

/* The database's rows for account, as node_view shows them. */
static char *db_view(const char *schema, const char *account) {
  PGconn *c = PQconnectdb(conninfo);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  char *q = g_strdup_printf("SELECT jid || '/' || node FROM \"%s\".cloudnotify_registrations "
                            "WHERE account = $1 ORDER BY 1",
                            schema);
  const char *params[] = { account };
  PGresult *r = PQexecParams(c, q, 1, NULL, params, NULL, NULL, 0);
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  GString *s = g_string_new(NULL);
  for (int i = 0; i < PQntuples(r); i++)
    g_string_append_printf(s, "%s%s", i ? " " : "", PQgetvalue(r, i, 0));
  PQclear(r);
  PQfinish(c);
  g_free(q);
  return g_string_free(s, FALSE);
}

static void db_exec(const char *sql) {
  PGconn *c = PQconnectdb(conninfo);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
    fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  PQclear(r);
  PQfinish(c);
}

static unsigned words(const char *s) {
  unsigned n = 0;
  for (const char *p = s; *p; p++)
    n += (p == s || p[-1] == ' ') && *p != ' ';
  return n;
}

/* Client replies recorded since index from, as "result" or "type/cond". */
static unsigned replies_with(const fake_host *h, unsigned from, const char *outcome) {
  unsigned n = 0;
  for (guint i = from; i < h->sent->len; i++) {
    const fh_sent *s = h->sent->pdata[i];
    if (s->route != CLOUDNOTIFY_ROUTE_CLIENT)
      continue;
    char *o = fh_outcome(s->xml);
    n += o && !strcmp(o, outcome);
    g_free(o);
  }
  return n;
}

static void enable(node *n, cloudnotify_session *s, const char *node_name) {
  assert_int_equal(fh_enable(s, PUSH_JID, node_name, NULL), 0);
}

/* ---- tests ------------------------------------------------------------------- */

/* Both nodes enable devices for one account at once, beyond the limit:
 * every enable is answered, the database never holds more than the
 * limit, and both nodes end up with the database's view. */
static void concurrent_enables_at_limit(void **state) {
  node a, b;
  node_start(&a, "cn_limit");
  node_start(&b, "cn_limit");
  cloudnotify_session *sa = au_session(&a.h, ALICE, "a");
  cloudnotify_session *sb = au_session(&b.h, ALICE, "b");
  for (int round = 0; round < 3; round++) {
    unsigned ra = a.h.sent->len, rb = b.h.sent->len;
    for (int i = 0; i < 4; i++) {
      char na[16], nb[16];
      g_snprintf(na, sizeof na, "a%d-%d", round, i);
      g_snprintf(nb, sizeof nb, "b%d-%d", round, i);
      enable(&a, sa, na);
      enable(&b, sb, nb);
    }
    drive(&a, &b);
    assert_int_equal(replies_with(&a.h, ra, "result"), 4);
    assert_int_equal(replies_with(&b.h, rb, "result"), 4);
    char *db = db_view("cn_limit", ALICE);
    assert_int_equal(words(db), LIMIT);
    char *va = node_view(&a, &b, ALICE), *vb = node_view(&b, &a, ALICE);
    assert_string_equal(va, db);
    assert_string_equal(vb, db);
    g_free(va);
    g_free(vb);
    g_free(db);
  }
  node_stop(&a);
  node_stop(&b);
}

/* A node whose copy is behind (it has not read the other node's
 * notification yet) evicts from its copy; the store leaves the device
 * limit to the database, so a registration the database keeps is not
 * removed, and the node reads the account again. */
static void stale_copy_evicts_nothing(void **state) {
  node a, b;
  node_start(&a, "cn_stale");
  node_start(&b, "cn_stale");
  cloudnotify_session *sa = au_session(&a.h, ALICE, "a");
  cloudnotify_session *sb = au_session(&b.h, ALICE, "b");
  enable(&b, sb, "v");
  drive(&a, &b);
  enable(&a, sa, "w");
  drive(&a, &b);
  enable(&b, sb, "x");
  drive(&a, &b);
  char *vb = node_view(&b, &a, ALICE);
  assert_string_equal(vb, PUSH_JID "/v " PUSH_JID "/w " PUSH_JID "/x");
  g_free(vb);
  /* A disables w; B does not hear of it before its own enable. */
  assert_int_equal(fh_disable(sa, PUSH_JID, "w"), 0);
  drive(&a, NULL);
  char *db = db_view("cn_stale", ALICE);
  assert_string_equal(db, PUSH_JID "/v " PUSH_JID "/x");
  g_free(db);
  unsigned rb = b.h.sent->len;
  enable(&b, sb, "n");
  drive(&a, &b);
  assert_int_equal(replies_with(&b.h, rb, "result"), 1);
  db = db_view("cn_stale", ALICE);
  /* B's copy was full, so it evicted v; the database was not full. */
  assert_string_equal(db, PUSH_JID "/n " PUSH_JID "/v " PUSH_JID "/x");
  vb = node_view(&b, &a, ALICE);
  assert_string_equal(vb, db);
  g_free(vb);
  g_free(db);
  node_stop(&a);
  node_stop(&b);
}

/* A disable on one node is seen by the other before its next push. */
static void disable_seen_by_other_node(void **state) {
  node a, b;
  node_start(&a, "cn_disable");
  node_start(&b, "cn_disable");
  cloudnotify_session *sa = au_session(&a.h, ALICE, "a");
  enable(&a, sa, "n1");
  drive(&a, &b);
  /* B loads the account and pushes to it. */
  au_ping(&b.h, ALICE);
  drive(&a, &b);
  assert_int_equal(au_publishes(&b.h), 1);
  au_ping(&b.h, ALICE);
  assert_int_equal(au_publishes(&b.h), 2); /* cached now: at once */
  assert_int_equal(fh_disable(sa, PUSH_JID, "n1"), 0);
  drive(&a, &b);
  au_assert_last_reply(&a.h, "result");
  au_ping(&b.h, ALICE);
  drive(&a, &b);
  assert_int_equal(au_publishes(&b.h), 2);
  /* An enable on A is seen by B too. */
  enable(&a, sa, "n2");
  drive(&a, &b);
  au_ping(&b.h, ALICE);
  drive(&a, &b);
  assert_int_equal(au_publishes(&b.h), 3);
  assert_int_equal(au_publishes_to(&b.h, PUSH_JID, "n2"), 1);
  node_stop(&a);
  node_stop(&b);
}

/* The error count of account's registration in the database, -1 when
 * there is none. */
static int db_errors(const char *schema, const char *account) {
  PGconn *c = PQconnectdb(conninfo);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  char *q = g_strdup_printf("SELECT errors FROM \"%s\".cloudnotify_registrations "
                            "WHERE account = $1",
                            schema);
  const char *params[] = { account };
  PGresult *r = PQexecParams(c, q, 1, NULL, params, NULL, NULL, 0);
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  int n = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : -1;
  PQclear(r);
  PQfinish(c);
  g_free(q);
  return n;
}

static unsigned last_report_errors(const node *n, cloudnotify_publish_outcome want) {
  assert_true(n->h.reports->len > 0);
  const fh_report *last = n->h.reports->pdata[n->h.reports->len - 1];
  assert_int_equal(last->outcome, want);
  return last->errors;
}

/* Errors seen by either node add up in the database: a dead endpoint
 * reaches push_max_errors however its publishes are spread, even when
 * both nodes count an error at the same moment. */
static void error_counts_shared(void **state) {
  node a, b;
  node_start(&a, "cn_errors");
  node_start(&b, "cn_errors");
  for (int i = 0; i < 2; i++) {
    node *n = i ? &b : &a;
    assert_int_equal(cloudnotify_ctx_set_option_int(n->h.ctx, CLOUDNOTIFY_OPT_MAX_ERRORS, 4), 0);
  }
  cloudnotify_session *sa = au_session(&a.h, ALICE, "a");
  enable(&a, sa, "dead");
  drive(&a, &b);
  /* Both push, both get an error before either store has answered. */
  au_ping(&a.h, ALICE);
  au_ping(&b.h, ALICE);
  drive(&a, &b);
  assert_int_equal(au_publishes(&a.h), 1);
  assert_int_equal(au_publishes(&b.h), 1);
  assert_int_equal(fh_reply(&a.h, 0, "cancel", NULL), 0);
  assert_int_equal(fh_reply(&b.h, 0, "cancel", NULL), 0);
  assert_int_equal(last_report_errors(&a, CLOUDNOTIFY_PUBLISH_ERROR), 1);
  assert_int_equal(last_report_errors(&b, CLOUDNOTIFY_PUBLISH_ERROR), 1);
  drive(&a, &b);
  assert_int_equal(db_errors("cn_errors", ALICE), 2);
  /* Then one at a time, each node starting from the shared count. */
  node *order[] = { &a, &b };
  for (int i = 0; i < 2; i++) {
    node *n = order[i];
    unsigned before = au_publishes(&n->h);
    au_ping(&n->h, ALICE);
    drive(&a, &b);
    assert_int_equal(au_publishes(&n->h), before + 1);
    assert_int_equal(fh_reply(&n->h, before, "cancel", NULL), 0);
    drive(&a, &b);
    assert_int_equal(last_report_errors(n, CLOUDNOTIFY_PUBLISH_ERROR), (unsigned)i + 3);
    assert_int_equal(db_errors("cn_errors", ALICE), i ? -1 : 3);
  }
  /* B counted the fourth error and removed the registration. */
  assert_int_equal(b.h.removed->len, 1);
  assert_int_equal(au_removed(&b.h, 0)->reason, CLOUDNOTIFY_REMOVED_ERRORS);
  assert_int_equal(a.h.removed->len, 0);
  assert_int_equal(cloudnotify_session_has_push(sa), 0);
  unsigned before = au_publishes(&a.h);
  au_ping(&a.h, ALICE);
  drive(&a, &b);
  assert_int_equal(au_publishes(&a.h), before);
  node_stop(&a);
  node_stop(&b);
}

/* A node that lost its connection heard nothing of what changed in the
 * meantime: once connected again it reads every account again. */
static void reconnect_forgets_everything(void **state) {
  node a, b;
  node_start(&a, "cn_reconnect");
  char *info = g_strdup_printf("%s application_name=cn_node_b", conninfo);
  node_start_on(&b, "cn_reconnect", info);
  g_free(info);
  cloudnotify_session *sa = au_session(&a.h, ALICE, "a");
  enable(&a, sa, "n1");
  drive(&a, &b);
  assert_int_equal(au_ping(&b.h, ALICE), 0); /* loads */
  drive(&a, &b);
  assert_int_equal(au_ping(&b.h, ALICE), 1); /* cached */
  /* B's connection goes; A disables before B notices. */
  db_exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
          "WHERE application_name = 'cn_node_b'");
  assert_int_equal(fh_disable(sa, PUSH_JID, "n1"), 0);
  drive(&a, NULL);
  au_assert_last_reply(&a.h, "result");
  /* B notices, and connects again after its (short) backoff. */
  int64_t end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  gboolean lost = FALSE;
  while (!lost || cloudnotify_pg_get_state(b.pg) != CLOUDNOTIFY_PG_READY) {
    assert_true(g_get_monotonic_time() < end);
    drive(&b, NULL);
    for (guint i = 0; i < b.log->len; i++)
      lost = lost || strstr(b.log->pdata[i], "connection lost");
  }
  drive(&a, &b);
  unsigned before = au_publishes(&b.h);
  au_ping(&b.h, ALICE);
  drive(&a, &b);
  assert_int_equal(au_publishes(&b.h), before);
  node_stop(&a);
  node_stop(&b);
}

/* A statement stuck behind a lock is cancelled by the server after
 * query_timeout_ms: the enable fails, nothing is stored later, the
 * connection stays, the next enable works. */
static void stuck_statement_cancelled(void **state) {
  node n;
  fh_init(&n.h);
  n.log = g_ptr_array_new_with_free_func(g_free);
  cloudnotify_pg_options o = node_options(&n, "cn_stuck");
  o.query_timeout_ms = 300;
  assert_int_equal(cloudnotify_pg_new(&n.pg, conninfo, &o), 0);
  assert_int_equal(cloudnotify_ctx_set_pg_store(n.h.ctx, n.pg), 0);
  assert_int_equal(cloudnotify_pg_wait_idle(n.pg, 20000), 0);
  cloudnotify_session *s = au_session(&n.h, ALICE, "a");
  assert_int_equal(cloudnotify_account_has_push(n.h.ctx, ALICE), 1); /* loading */
  drive(&n, NULL);
  /* Another session holds the account's lock. */
  PGconn *c = PQconnectdb(conninfo);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexec(c, "BEGIN; SELECT pg_advisory_xact_lock(1129207636, "
                          "hashtext('" ALICE "'))");
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  PQclear(r);
  unsigned before = n.h.sent->len;
  enable(&n, s, "stuck");
  drive(&n, NULL);
  assert_int_equal(replies_with(&n.h, before, "wait/internal-server-error"), 1);
  const char *msg = NULL;
  assert_int_equal(cloudnotify_pg_last_error(n.pg, &msg), CLOUDNOTIFY_ERR_PG_QUERY);
  assert_non_null(strstr(msg, "statement timeout"));
  assert_int_equal(cloudnotify_pg_get_state(n.pg), CLOUDNOTIFY_PG_READY);
  r = PQexec(c, "COMMIT");
  PQclear(r);
  PQfinish(c);
  before = n.h.sent->len;
  enable(&n, s, "free");
  drive(&n, NULL);
  assert_int_equal(replies_with(&n.h, before, "result"), 1);
  char *db = db_view("cn_stuck", ALICE);
  assert_string_equal(db, PUSH_JID "/free");
  g_free(db);
  node_stop(&n);
}

/* What the database hands back is untrusted: invalid rows are skipped
 * by the loader; a function replaced behind the store fails the
 * operation with the server's message (every statement names the
 * columns it reads, so no result of another shape is ever read). */
static void hostile_database(void **state) {
  node n;
  node_start(&n, "cn_hostile");
  db_exec("INSERT INTO cn_hostile.cloudnotify_registrations VALUES "
          "('" ALICE "', 'not a jid@@', '', NULL, 1, 0, NULL, 1), "
          "('" ALICE "', 'push.example', 'ok', '<x', 2, 0, NULL, 2), "
          "('" ALICE "', 'push.example', 'good', NULL, 3, 7, 'client', 3)");
  assert_int_equal(cloudnotify_account_has_push(n.h.ctx, ALICE), 1);
  drive(&n, NULL);
  char *v = node_view(&n, NULL, ALICE);
  assert_string_equal(v, PUSH_JID "/good");
  g_free(v);
  uint64_t rejected = 0;
  assert_int_equal(
      cloudnotify_ctx_get_counter(n.h.ctx, CLOUDNOTIFY_COUNTER_STORE_RECORDS_REJECTED, &rejected),
      0);
  assert_int_equal(rejected, 2);
  /* Someone replaced the store's function with one of another shape. */
  db_exec("DROP FUNCTION cn_hostile.cloudnotify_save(text, text, text, text, bigint, integer, "
          "text, integer); "
          "CREATE FUNCTION cn_hostile.cloudnotify_save(text, text, text, text, bigint, integer, "
          "text, integer) RETURNS TABLE (x text) LANGUAGE sql AS 'SELECT NULL::text WHERE false'");
  cloudnotify_session *s = au_session(&n.h, ALICE, "a");
  unsigned before = n.h.sent->len;
  enable(&n, s, "new");
  drive(&n, NULL);
  assert_int_equal(replies_with(&n.h, before, "wait/internal-server-error"), 1);
  const char *msg = NULL;
  assert_int_equal(cloudnotify_pg_last_error(n.pg, &msg), CLOUDNOTIFY_ERR_PG_QUERY);
  assert_non_null(strstr(msg, "ev_jid"));
  node_stop(&n);
}

/* The server restarts mid-run: the stores reconnect by themselves; while
 * it is down enables fail and pushes for cached accounts go on; nothing
 * acknowledged is lost. */
static void server_restart(void **state) {
  node a, b;
  node_start(&a, "cn_restart");
  node_start(&b, "cn_restart");
  cloudnotify_session *sa = au_session(&a.h, ALICE, "a");
  enable(&a, sa, "before");
  drive(&a, &b);
  au_assert_last_reply(&a.h, "result");
  au_ping(&b.h, ALICE);
  drive(&a, &b);
  assert_int_equal(au_publishes(&b.h), 1);

  assert_int_equal(cluster("stop", NULL), 0);
  drive_until_state(&a, &b, CLOUDNOTIFY_PG_DOWN);
  const char *msg = NULL;
  assert_int_equal(cloudnotify_pg_last_error(a.pg, &msg), CLOUDNOTIFY_ERR_PG_UNAVAILABLE);
  assert_true(*msg);
  /* Enables fail, whether the store is waiting or trying again. */
  unsigned ra = a.h.sent->len;
  enable(&a, sa, "during");
  drive(&a, &b);
  assert_int_equal(replies_with(&a.h, ra, "wait/internal-server-error"), 1);
  /* Cached accounts are still pushed, at once. */
  assert_int_equal(au_ping(&b.h, ALICE), 1);
  assert_int_equal(au_ping(&a.h, ALICE), 1);
  assert_int_equal(au_publishes(&b.h), 2);
  assert_int_equal(au_publishes(&a.h), 1);

  char *info = NULL;
  assert_int_equal(cluster("start", &info), 0);
  g_free(info);
  drive_until_state(&a, &b, CLOUDNOTIFY_PG_READY);
  drive(&a, &b);
  ra = a.h.sent->len;
  enable(&a, sa, "after");
  drive(&a, &b);
  assert_int_equal(replies_with(&a.h, ra, "result"), 1);
  char *db = db_view("cn_restart", ALICE);
  assert_string_equal(db, PUSH_JID "/after " PUSH_JID "/before");
  char *vb = node_view(&b, &a, ALICE);
  assert_string_equal(vb, db);
  g_free(vb);
  g_free(db);
  node_stop(&a);
  node_stop(&b);
}

/* Connection strings and options are checked; a server that refuses
 * connections gives failures, not hangs. */
static void bad_conninfo_and_refused(void **state) {
  cloudnotify_pg *pg = (cloudnotify_pg *)1;
  assert_int_equal(cloudnotify_pg_new(&pg, "this is not a conninfo", NULL),
                   CLOUDNOTIFY_ERR_PG_CONNINFO);
  assert_null(pg);
  assert_int_equal(cloudnotify_pg_new(&pg, "nosuchkey=1", NULL), CLOUDNOTIFY_ERR_PG_CONNINFO);
  assert_int_equal(cloudnotify_pg_new(NULL, conninfo, NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_pg_new(&pg, NULL, NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  cloudnotify_pg_options o = { .size = sizeof o, .schema = "Bad-Name" };
  assert_int_equal(cloudnotify_pg_new(&pg, conninfo, &o), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  o = (cloudnotify_pg_options){ .size = sizeof o, .max_devices = 1001 };
  assert_int_equal(cloudnotify_pg_new(&pg, conninfo, &o), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  o = (cloudnotify_pg_options){ .size = 3 };
  assert_int_equal(cloudnotify_pg_new(&pg, conninfo, &o), CLOUDNOTIFY_ERR_VTABLE_SIZE);
  o = (cloudnotify_pg_options){ .size = sizeof o - sizeof(void *) };
  assert_int_equal(cloudnotify_pg_new(&pg, conninfo, &o), CLOUDNOTIFY_ERR_VTABLE_SIZE);
  assert_null(pg);
  /* A newer header's layout is taken when what this library does not
   * know is zero. */
  struct {
    cloudnotify_pg_options o;
    void *newer;
  } big = { .o = { .size = sizeof big } };
  assert_int_equal(cloudnotify_pg_new(&pg, conninfo, &big.o), 0);
  cloudnotify_pg_free(pg);
  big.newer = &big;
  assert_int_equal(cloudnotify_pg_new(&pg, conninfo, &big.o), CLOUDNOTIFY_ERR_VTABLE_SIZE);
  assert_null(pg);
  for (int e = CLOUDNOTIFY_ERR_PG_SCHEMA; e <= CLOUDNOTIFY_ERR_PG_CONNINFO; e++)
    assert_string_not_equal(cloudnotify_strerror(e), "unknown error code");
  assert_int_equal(cloudnotify_pg_process(NULL, 0), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_pg_next_timeout(NULL), -1);
  cloudnotify_pg_free(NULL);

  /* Nothing listens on this port. */
  char *refused =
      g_strdup_printf("host=127.0.0.1 port=%d user=postgres dbname=postgres", free_port());
  node n;
  fh_init(&n.h);
  n.log = g_ptr_array_new_with_free_func(g_free);
  o = node_options(&n, "cn_refused");
  assert_int_equal(cloudnotify_pg_new(&n.pg, refused, &o), 0);
  assert_int_equal(cloudnotify_pg_wait_idle(n.pg, 10000), CLOUDNOTIFY_ERR_PG_UNAVAILABLE);
  assert_int_equal(cloudnotify_pg_get_state(n.pg), CLOUDNOTIFY_PG_DOWN);
  const char *msg = NULL;
  assert_int_equal(cloudnotify_pg_last_error(n.pg, &msg), CLOUDNOTIFY_ERR_PG_UNAVAILABLE);
  assert_non_null(strstr(msg, "refused"));
  assert_true(n.log->len > 0);
  assert_int_equal(cloudnotify_ctx_set_pg_store(n.h.ctx, n.pg), 0);
  cloudnotify_session *s = au_session(&n.h, ALICE, "a");
  for (int i = 0; i < 3; i++) {
    unsigned before = n.h.sent->len;
    enable(&n, s, "x");
    drive(&n, NULL);
    assert_int_equal(replies_with(&n.h, before, "wait/internal-server-error"), 1);
  }
  node_stop(&n);
  g_free(refused);
}

/* A schema made by a newer version is refused, not rewritten. */
static void newer_schema_refused(void **state) {
  node a;
  node_start(&a, "cn_newer");
  node_stop(&a);
  db_exec("UPDATE cn_newer.cloudnotify_meta SET value = '2' WHERE key = 'schema_version'");
  node n;
  fh_init(&n.h);
  n.log = g_ptr_array_new_with_free_func(g_free);
  cloudnotify_pg_options o = node_options(&n, "cn_newer");
  assert_int_equal(cloudnotify_pg_new(&n.pg, conninfo, &o), 0);
  assert_int_equal(cloudnotify_pg_wait_idle(n.pg, 10000), CLOUDNOTIFY_ERR_PG_SCHEMA);
  const char *msg;
  assert_int_equal(cloudnotify_pg_last_error(n.pg, &msg), CLOUDNOTIFY_ERR_PG_SCHEMA);
  assert_non_null(strstr(msg, "newer"));
  node_stop(&n);
}

/* A GLib host: the GSource drives the store; an enable is answered. */
static gboolean count_dispatch(gpointer ud) {
  (*(unsigned *)ud)++;
  return G_SOURCE_CONTINUE;
}

static void glib_source_drives(void **state) {
  node n;
  fh_init(&n.h);
  n.log = g_ptr_array_new_with_free_func(g_free);
  cloudnotify_pg_options o = node_options(&n, "cn_glib");
  assert_int_equal(cloudnotify_pg_new(&n.pg, conninfo, &o), 0);
  assert_int_equal(cloudnotify_ctx_set_pg_store(n.h.ctx, n.pg), 0);
  GMainContext *mc = g_main_context_new();
  GSource *src = cloudnotify_pg_glib_source_new(n.pg);
  unsigned dispatched = 0;
  g_source_set_callback(src, count_dispatch, &dispatched, NULL);
  g_source_attach(src, mc);
  cloudnotify_session *s = au_session(&n.h, ALICE, "a");
  unsigned before = n.h.sent->len;
  enable(&n, s, "g");
  int64_t end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
  while (n.h.sent->len == before && g_get_monotonic_time() < end)
    g_main_context_iteration(mc, TRUE);
  assert_int_equal(replies_with(&n.h, before, "result"), 1);
  assert_true(dispatched > 0);
  assert_null(cloudnotify_pg_glib_source_new(NULL));
  g_source_destroy(src);
  g_source_unref(src);
  g_main_context_unref(mc);
  node_stop(&n);
}

/* Freeing the handle before the context: waiting work fails, later
 * store calls fail, nothing leaks or dangles. */
static void handle_freed_first(void **state) {
  node n;
  node_start(&n, "cn_freed");
  cloudnotify_session *s = au_session(&n.h, ALICE, "a");
  unsigned before = n.h.sent->len;
  enable(&n, s, "x"); /* load in flight */
  cloudnotify_pg_free(n.pg);
  assert_int_equal(replies_with(&n.h, before, "wait/internal-server-error"), 1);
  before = n.h.sent->len;
  enable(&n, s, "y");
  assert_int_equal(replies_with(&n.h, before, "wait/internal-server-error"), 1);
  fh_fini(&n.h);
  g_ptr_array_free(n.log, TRUE);
}

static int group_setup(void **state) {
  int rc = pgc_start(&pgc);
  if (rc == 77) {
    fprintf(stderr, "no PostgreSQL server: skipped\n");
    exit(77);
  }
  conninfo = pgc.conninfo;
  return rc;
}

static int group_teardown(void **state) {
  pgc_destroy(&pgc);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(concurrent_enables_at_limit),
    cmocka_unit_test(stale_copy_evicts_nothing),
    cmocka_unit_test(disable_seen_by_other_node),
    cmocka_unit_test(error_counts_shared),
    cmocka_unit_test(reconnect_forgets_everything),
    cmocka_unit_test(bad_conninfo_and_refused),
    cmocka_unit_test(newer_schema_refused),
    cmocka_unit_test(glib_source_drives),
    cmocka_unit_test(handle_freed_first),
    cmocka_unit_test(stuck_statement_cancelled),
    cmocka_unit_test(hostile_database),
    /* Last: it stops and starts the server. */
    cmocka_unit_test(server_restart),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
