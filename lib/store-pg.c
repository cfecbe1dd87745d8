/* The PostgreSQL store (libcloudnotify-pg): one non-blocking libpq
 * connection per handle, a FIFO of statements sent one at a time, and the
 * context's operations answered from cloudnotify_pg_process once their
 * results are in.  The cluster rules (device limit, invalidation, shared
 * error counts) live in SQL functions created with the schema; see
 * docs/storage-postgresql.md. */
#include <errno.h>
#include <glib.h>
#include <libpq-fe.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloudnotify/cloudnotify-pg.h"

/* First half of every advisory lock key the store takes ("CNOT"): the
 * second half is the account's hash (per-account writes) or 0 (setup). */
#define LOCK_CLASS     "1129207636"
#define SCHEMA_VERSION 1
/* A pending forget is retried this often while its account is busy. */
#define FORGET_RETRY_MS 20
/* The server cancels a statement after query_timeout_ms
 * (statement_timeout); no answer this much later means the server or
 * the network is gone. */
#define ANSWER_GRACE_MS 2000
/* NOTIFY payloads are at most 8000 bytes; an account is far shorter, and
 * anything longer cannot be one. */
#define MAX_ACCOUNT 3071

enum cmd_kind { CMD_SETUP, CMD_LOAD, CMD_SAVE, CMD_REMOVE, CMD_ERRORS };

typedef struct cmd {
  enum cmd_kind kind;
  char *account;
  char *params[8];
  int nparams;
  cloudnotify_op *op;         /* owned reference; NULL for set_errors */
  cloudnotify_loader *loader; /* CMD_LOAD, valid while op is held */
  unsigned errors;            /* CMD_ERRORS: the count the context holds */
  int failed;                 /* 0 or the error that answers op */
  PGresult *rows;             /* CMD_LOAD: the rows */
  GPtrArray *evicted;         /* CMD_SAVE: keys the database deleted */
  int count_now;              /* CMD_ERRORS: the count in the database */
} cmd;

struct cloudnotify_pg {
  cloudnotify_pg_options opt;
  char *conninfo;
  char *schema;
  char *channel;
  char *sql_setup, *sql_load, *sql_save, *sql_remove, *sql_errors;
  char *sql_list_all, *sql_list_one; /* cloudnotify_pg_foreach */

  cloudnotify_ctx *ctx; /* the context served, NULL when detached */
  gboolean freed;       /* the host let go; memory stays for ctx's vtable */
  int in_callback;      /* inside socket_changed / timer_changed / log */

  PGconn *conn;
  cloudnotify_pg_state state;
  gboolean polling_connect; /* PQconnectPoll phase (before the setup) */
  unsigned connect_events;  /* what PQconnectPoll asked for */
  gboolean want_write;      /* PQflush left data to send */
  int backend_pid;
  int64_t deadline; /* DOWN: next attempt; else connect or statement */
  int64_t backoff;
  unsigned failed_attempts;

  GQueue queue; /* cmd*: waiting to be sent */
  cmd *cur;     /* sent, result not complete */
  GQueue done;  /* cmd*: results in, op to be answered */

  /* Accounts this store loaded on the current connection: forgotten
   * when a new connection is established, since notifications sent
   * while the old one was down are lost. */
  GHashTable *served;
  GHashTable *to_forget;

  /* While a save is answered: the removes the context makes before its
   * enable is counted are its device-limit evictions (see st_remove). */
  cmd *completing;
  uint64_t enables_before;
  GPtrArray *ctx_evicted;

  int last_error;
  char *last_message;

  gboolean reported;
  int reported_fd;
  unsigned reported_events;
  int64_t reported_deadline;
};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pg_log(cloudnotify_pg *pg, cloudnotify_log_level level, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
static void pg_log(cloudnotify_pg *pg, cloudnotify_log_level level, const char *fmt, ...) {
  if (!pg->opt.log)
    return;
  va_list ap;
  va_start(ap, fmt);
  char *m = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_strchomp(m);
  pg->in_callback++;
  pg->opt.log(pg->opt.user_data, level, m);
  pg->in_callback--;
  g_free(m);
}

static void set_error(cloudnotify_pg *pg, int code, const char *message) {
  /* message may be the current one. */
  char *m = g_strchomp(g_strdup(message ? message : ""));
  pg->last_error = code;
  g_free(pg->last_message);
  pg->last_message = m;
}

/* ---- commands ---------------------------------------------------------- */

static cmd *cmd_new(enum cmd_kind kind, const char *account) {
  cmd *c = g_new0(cmd, 1);
  c->kind = kind;
  c->account = g_strdup(account);
  return c;
}

static void cmd_param(cmd *c, const char *v) {
  g_assert(c->nparams < (int)G_N_ELEMENTS(c->params));
  c->params[c->nparams++] = g_strdup(v);
}

static void cmd_free(cmd *c) {
  if (!c)
    return;
  for (int i = 0; i < c->nparams; i++)
    g_free(c->params[i]);
  cloudnotify_op_free(c->op);
  if (c->rows)
    PQclear(c->rows);
  if (c->evicted)
    g_ptr_array_free(c->evicted, TRUE);
  g_free(c->account);
  g_free(c);
}

static const char *cmd_sql(const cloudnotify_pg *pg, const cmd *c) {
  switch (c->kind) {
  case CMD_SETUP: return pg->sql_setup;
  case CMD_LOAD: return pg->sql_load;
  case CMD_SAVE: return pg->sql_save;
  case CMD_REMOVE: return pg->sql_remove;
  case CMD_ERRORS: return pg->sql_errors;
  }
  return NULL;
}

/* (jid, node) as one string, node "" standing for none as in the table. */
static char *key_of(const char *jid, const char *node) {
  return g_strconcat(jid, "\n", node ? node : "", NULL);
}

/* ---- reporting the socket and the deadline ------------------------------ */

static gboolean connected(const cloudnotify_pg *pg) {
  return pg->conn && !pg->polling_connect;
}

static void socket_of(const cloudnotify_pg *pg, int *fd, unsigned *events) {
  *fd = -1;
  *events = 0;
  if (!pg->conn || PQsocket(pg->conn) < 0)
    return;
  *fd = PQsocket(pg->conn);
  if (pg->polling_connect)
    *events = pg->connect_events;
  else
    *events = CLOUDNOTIFY_PG_READ | (pg->want_write ? CLOUDNOTIFY_PG_WRITE : 0);
}

/* Absolute time process is due, or -1. */
static int64_t due_at(const cloudnotify_pg *pg) {
  if (pg->done.length)
    return 0;
  int64_t t = -1;
  if (pg->state == CLOUDNOTIFY_PG_DOWN && !pg->freed)
    t = pg->deadline;
  else if (pg->polling_connect || pg->cur)
    t = pg->deadline;
  if (pg->ctx && g_hash_table_size(pg->to_forget)) {
    int64_t f = now_ms() + FORGET_RETRY_MS;
    if (t < 0 || f < t)
      t = f;
  }
  return t;
}

static void report(cloudnotify_pg *pg) {
  int fd;
  unsigned ev;
  socket_of(pg, &fd, &ev);
  int64_t due = due_at(pg);
  gboolean first = !pg->reported;
  pg->reported = TRUE;
  if (first || fd != pg->reported_fd || ev != pg->reported_events) {
    /* A new connection may get the number of the one just closed: say
     * that the old one is gone so that epoll users register again. */
    if (!first && pg->reported_fd >= 0 && fd >= 0 && fd != pg->reported_fd &&
        pg->opt.socket_changed) {
      pg->in_callback++;
      pg->opt.socket_changed(pg->opt.user_data, -1, 0);
      pg->in_callback--;
    }
    pg->reported_fd = fd;
    pg->reported_events = ev;
    if (pg->opt.socket_changed) {
      pg->in_callback++;
      pg->opt.socket_changed(pg->opt.user_data, fd, ev);
      pg->in_callback--;
    }
  }
  if (first || due != pg->reported_deadline) {
    pg->reported_deadline = due;
    if (pg->opt.timer_changed) {
      int64_t ms = due < 0 ? -1 : MAX(0, due - now_ms());
      pg->in_callback++;
      pg->opt.timer_changed(pg->opt.user_data, ms);
      pg->in_callback--;
    }
  }
}

/* ---- connection ----------------------------------------------------------- */

static void close_conn(cloudnotify_pg *pg) {
  if (!pg->conn)
    return;
  /* Reported before the descriptor is closed, so that a host never
   * watches a number that may already belong to something else. */
  if (pg->reported_fd >= 0 && pg->opt.socket_changed) {
    pg->in_callback++;
    pg->opt.socket_changed(pg->opt.user_data, -1, 0);
    pg->in_callback--;
  }
  pg->reported_fd = -1;
  pg->reported_events = 0;
  PQfinish(pg->conn);
  pg->conn = NULL;
  pg->polling_connect = FALSE;
  pg->want_write = FALSE;
}

/* Every statement waiting or running fails with code. */
static void fail_all(cloudnotify_pg *pg, int code) {
  if (pg->cur) {
    g_queue_push_head(&pg->queue, pg->cur);
    pg->cur = NULL;
  }
  cmd *c;
  while ((c = g_queue_pop_head(&pg->queue))) {
    if (c->kind == CMD_SETUP) {
      cmd_free(c);
      continue;
    }
    if (c->kind == CMD_ERRORS)
      pg_log(pg, CLOUDNOTIFY_LOG_WARN,
             "postgresql: error count of %s not stored (the next change stores it)", c->account);
    c->failed = code;
    g_queue_push_tail(&pg->done, c);
  }
}

static void schedule_retry(cloudnotify_pg *pg) {
  int64_t wait = pg->backoff;
  wait += g_random_int_range(0, (gint32)MIN(wait / 4 + 1, G_MAXINT32));
  pg->deadline = now_ms() + wait;
  pg->backoff = MIN(pg->backoff * 2, pg->opt.reconnect_max_ms);
}

static void connection_failed(cloudnotify_pg *pg, int code, const char *why) {
  set_error(pg, code, why);
  gboolean was_ready = pg->state == CLOUDNOTIFY_PG_READY;
  pg_log(pg, was_ready ? CLOUDNOTIFY_LOG_ERROR : CLOUDNOTIFY_LOG_WARN, "postgresql: %s: %s",
         was_ready ? "connection lost" : "connection failed", pg->last_message);
  close_conn(pg);
  fail_all(pg, code);
  pg->state = CLOUDNOTIFY_PG_DOWN;
  pg->failed_attempts++;
  schedule_retry(pg);
}

static void send_next(cloudnotify_pg *pg);

/* The server's notices (NOTICE on CREATE ... IF NOT EXISTS, the FATAL
 * of a shutdown) go to the host's log, never to stderr. */
static void on_notice(void *data, const char *message) {
  cloudnotify_pg *pg = data;
  pg_log(pg, CLOUDNOTIFY_LOG_DEBUG, "postgresql: server says: %s", message);
}

static void start_connect(cloudnotify_pg *pg) {
  pg->conn = PQconnectStart(pg->conninfo);
  if (!pg->conn)
    g_error("libpq could not allocate a connection");
  PQsetNoticeProcessor(pg->conn, on_notice, pg);
  pg->state = CLOUDNOTIFY_PG_CONNECTING;
  pg->polling_connect = TRUE;
  pg->connect_events = CLOUDNOTIFY_PG_WRITE;
  pg->deadline = now_ms() + pg->opt.connect_timeout_ms;
  if (PQstatus(pg->conn) == CONNECTION_BAD)
    connection_failed(pg, CLOUDNOTIFY_ERR_PG_UNAVAILABLE, PQerrorMessage(pg->conn));
}

static void connect_poll(cloudnotify_pg *pg) {
  switch (PQconnectPoll(pg->conn)) {
  case PGRES_POLLING_READING: pg->connect_events = CLOUDNOTIFY_PG_READ; return;
  case PGRES_POLLING_WRITING: pg->connect_events = CLOUDNOTIFY_PG_WRITE; return;
  case PGRES_POLLING_OK: break;
  default: connection_failed(pg, CLOUDNOTIFY_ERR_PG_UNAVAILABLE, PQerrorMessage(pg->conn)); return;
  }
  if (PQsetnonblocking(pg->conn, 1)) {
    connection_failed(pg, CLOUDNOTIFY_ERR_PG_UNAVAILABLE, PQerrorMessage(pg->conn));
    return;
  }
  pg->polling_connect = FALSE;
  pg->backend_pid = PQbackendPID(pg->conn);
  /* The schema and the subscription come before anything queued. */
  g_queue_push_head(&pg->queue, cmd_new(CMD_SETUP, ""));
  send_next(pg);
}

static void became_ready(cloudnotify_pg *pg) {
  pg->state = CLOUDNOTIFY_PG_READY;
  pg->backoff = pg->opt.reconnect_min_ms;
  pg_log(pg, CLOUDNOTIFY_LOG_INFO, "postgresql: connected (schema %s, backend %d)", pg->schema,
         pg->backend_pid);
  /* What other nodes changed while this connection was not listening was
   * never announced to it: every account it served is read again. */
  GHashTableIter it;
  gpointer k;
  g_hash_table_iter_init(&it, pg->served);
  while (g_hash_table_iter_next(&it, &k, NULL))
    g_hash_table_add(pg->to_forget, g_strdup(k));
  g_hash_table_remove_all(pg->served);
}

static void send_next(cloudnotify_pg *pg) {
  if (!connected(pg) || pg->cur || !pg->queue.length)
    return;
  /* Nothing but the setup runs before the setup succeeded. */
  cmd *c = g_queue_peek_head(&pg->queue);
  if (pg->state != CLOUDNOTIFY_PG_READY && c->kind != CMD_SETUP)
    return;
  g_queue_pop_head(&pg->queue);
  pg->cur = c;
  pg->deadline = now_ms() + (c->kind == CMD_SETUP ? pg->opt.connect_timeout_ms
                                                  : pg->opt.query_timeout_ms + ANSWER_GRACE_MS);
  int ok = c->kind == CMD_SETUP ? PQsendQuery(pg->conn, pg->sql_setup)
                                : PQsendQueryParams(pg->conn, cmd_sql(pg, c), c->nparams, NULL,
                                                    (const char *const *)c->params, NULL, NULL, 0);
  if (!ok) {
    connection_failed(pg, CLOUDNOTIFY_ERR_PG_UNAVAILABLE, PQerrorMessage(pg->conn));
    return;
  }
  int f = PQflush(pg->conn);
  if (f < 0) {
    connection_failed(pg, CLOUDNOTIFY_ERR_PG_UNAVAILABLE, PQerrorMessage(pg->conn));
    return;
  }
  pg->want_write = f == 1;
}

/* ---- results ---------------------------------------------------------------- */

static void take_result(cloudnotify_pg *pg, cmd *c, PGresult *res) {
  ExecStatusType st = PQresultStatus(res);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    if (!c->failed) {
      const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      int code = c->kind == CMD_SETUP ? CLOUDNOTIFY_ERR_PG_SCHEMA : CLOUDNOTIFY_ERR_PG_QUERY;
      if (PQstatus(pg->conn) == CONNECTION_BAD || (state && g_str_has_prefix(state, "57P")) ||
          (state && g_str_has_prefix(state, "08")))
        /* The server going away is not the statement's fault. */
        code = CLOUDNOTIFY_ERR_PG_UNAVAILABLE;
      c->failed = code;
      set_error(pg, code, PQresultErrorMessage(res));
      pg_log(pg, CLOUDNOTIFY_LOG_ERROR, "postgresql: %s%s",
             state && g_str_has_prefix(state, "CN00") ? "schema: " : "statement failed: ",
             pg->last_message);
    }
    PQclear(res);
    return;
  }
  switch (c->kind) {
  case CMD_LOAD:
    if (c->rows)
      PQclear(c->rows);
    c->rows = res;
    return;
  case CMD_SAVE:
    c->evicted = g_ptr_array_new_with_free_func(g_free);
    for (int i = 0; i < PQntuples(res); i++)
      g_ptr_array_add(c->evicted, key_of(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)));
    break;
  case CMD_ERRORS: c->count_now = PQntuples(res) == 1 ? atoi(PQgetvalue(res, 0, 0)) : -1; break;
  case CMD_SETUP:
  case CMD_REMOVE: break;
  }
  PQclear(res);
}

static void finish_cur(cloudnotify_pg *pg) {
  cmd *c = g_steal_pointer(&pg->cur);
  if (c->kind == CMD_SETUP) {
    int failed = c->failed;
    cmd_free(c);
    if (failed) {
      /* A schema that cannot be set up will not be fixed by retrying at
       * once; the backoff still retries, for an operator who fixes it. */
      char *why = g_strdup(pg->last_message);
      connection_failed(pg, failed, why);
      g_free(why);
      return;
    }
    became_ready(pg);
    return;
  }
  if (c->failed == CLOUDNOTIFY_ERR_PG_UNAVAILABLE) {
    g_queue_push_head(&pg->queue, c);
    connection_failed(pg, CLOUDNOTIFY_ERR_PG_UNAVAILABLE, pg->last_message);
    return;
  }
  g_queue_push_tail(&pg->done, c);
}

static void read_notifications(cloudnotify_pg *pg) {
  PGnotify *n;
  while ((n = PQnotifies(pg->conn))) {
    /* This node's own changes are already in its memory. */
    if (n->be_pid != pg->backend_pid && !strcmp(n->relname, pg->channel) && n->extra && *n->extra &&
        strlen(n->extra) <= MAX_ACCOUNT)
      g_hash_table_add(pg->to_forget, g_strdup(n->extra));
    PQfreemem(n);
  }
}

static void io(cloudnotify_pg *pg, unsigned revents) {
  if (pg->want_write || (revents & CLOUDNOTIFY_PG_WRITE)) {
    int f = PQflush(pg->conn);
    if (f < 0) {
      connection_failed(pg, CLOUDNOTIFY_ERR_PG_UNAVAILABLE, PQerrorMessage(pg->conn));
      return;
    }
    pg->want_write = f == 1;
  }
  if ((revents & CLOUDNOTIFY_PG_READ) && !PQconsumeInput(pg->conn)) {
    connection_failed(pg, CLOUDNOTIFY_ERR_PG_UNAVAILABLE, PQerrorMessage(pg->conn));
    return;
  }
  while (pg->conn && pg->cur && !PQisBusy(pg->conn)) {
    PGresult *res = PQgetResult(pg->conn);
    if (!res) {
      finish_cur(pg);
      send_next(pg);
      continue;
    }
    take_result(pg, pg->cur, res);
  }
  if (!pg->conn)
    return;
  read_notifications(pg);
  if (PQstatus(pg->conn) == CONNECTION_BAD)
    connection_failed(pg, CLOUDNOTIFY_ERR_PG_UNAVAILABLE, PQerrorMessage(pg->conn));
}

/* ---- answering the context --------------------------------------------------- */

static void load_rows(cmd *c) {
  if (!c->rows)
    return;
  for (int i = 0; i < PQntuples(c->rows); i++) {
    PGresult *r = c->rows;
    const char *node = PQgetvalue(r, i, 1);
    char *end = NULL;
    errno = 0;
    long long at = strtoll(PQgetvalue(r, i, 3), &end, 10);
    unsigned long errors = strtoul(PQgetvalue(r, i, 4), NULL, 10);
    cloudnotify_record rec = {
      .jid = PQgetvalue(r, i, 0),
      .node = *node ? node : NULL,
      .publish_options = PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2),
      .publish_options_len = PQgetisnull(r, i, 2) ? 0 : (size_t)PQgetlength(r, i, 2),
      .enabled_at_ms = errno ? 0 : at,
      .errors = errors > G_MAXUINT ? G_MAXUINT : (unsigned)errors,
      .client_id = PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5),
    };
    /* An invalid row is skipped and logged by the loader. */
    (void)cloudnotify_loader_add(c->loader, &rec);
  }
}

static gboolean same_keys(GPtrArray *a, GPtrArray *b) {
  guint na = a ? a->len : 0, nb = b ? b->len : 0;
  if (na != nb)
    return FALSE;
  for (guint i = 0; i < na; i++) {
    gboolean found = FALSE;
    for (guint k = 0; k < nb && !found; k++)
      found = !strcmp(a->pdata[i], b->pdata[k]);
    if (!found)
      return FALSE;
  }
  return TRUE;
}

/* Answer one op; FALSE when the context cannot take it now. */
static gboolean answer(cloudnotify_pg *pg, cmd *c) {
  if (c->kind == CMD_ERRORS) {
    /* The count the context holds is behind the database's (another
     * node counted too) or the row went: read the account again. */
    if (!c->failed && pg->ctx && (c->count_now < 0 || (unsigned)c->count_now != c->errors))
      g_hash_table_add(pg->to_forget, g_strdup(c->account));
    return TRUE;
  }
  if (!c->op)
    return TRUE;
  int rc = c->failed;
  /* Without a context the op only answers GONE: no rows to hand over. */
  if (c->kind == CMD_LOAD && !rc && pg->ctx)
    load_rows(c);
  if (c->kind == CMD_SAVE && !rc && pg->ctx) {
    pg->completing = c;
    pg->ctx_evicted = g_ptr_array_new_with_free_func(g_free);
    pg->enables_before = 0;
    cloudnotify_ctx_get_counter(pg->ctx, CLOUDNOTIFY_COUNTER_ENABLES, &pg->enables_before);
  }
  int r = cloudnotify_op_complete(c->op, rc);
  if (pg->completing == c) {
    pg->completing = NULL;
    GPtrArray *mine = g_steal_pointer(&pg->ctx_evicted);
    /* The database applied the device limit in the save's transaction;
     * when the context evicted others (its copy was behind), it reads
     * the account again. */
    if (r != CLOUDNOTIFY_ERR_REENTRANT && !same_keys(mine, c->evicted))
      g_hash_table_add(pg->to_forget, g_strdup(c->account));
    g_ptr_array_free(mine, TRUE);
  }
  if (r == CLOUDNOTIFY_ERR_REENTRANT)
    return FALSE;
  if (c->kind == CMD_LOAD && !rc && r == 0)
    g_hash_table_add(pg->served, g_strdup(c->account));
  return TRUE;
}

static void answer_done(cloudnotify_pg *pg) {
  cmd *c;
  while ((c = g_queue_pop_head(&pg->done))) {
    if (!answer(pg, c)) {
      g_queue_push_head(&pg->done, c);
      return;
    }
    cmd_free(c);
  }
}

static void forget_changed(cloudnotify_pg *pg) {
  if (!pg->ctx) {
    g_hash_table_remove_all(pg->to_forget);
    return;
  }
  guint n;
  gpointer *accounts = g_hash_table_get_keys_as_array(pg->to_forget, &n);
  for (guint i = 0; i < n; i++) {
    char *a = g_strdup(accounts[i]);
    int rc = cloudnotify_account_forget(pg->ctx, a);
    /* A busy account is tried again: its parked work relies on the
     * cached copy, and the reload must come after it. */
    if (rc != CLOUDNOTIFY_ERR_BUSY && rc != CLOUDNOTIFY_ERR_REENTRANT)
      g_hash_table_remove(pg->to_forget, a);
    g_free(a);
  }
  g_free(accounts);
}

/* ---- the store vtable ------------------------------------------------------------ */

static int enqueue(cloudnotify_pg *pg, cmd *c, gboolean with_op) {
  if (with_op) {
    c->op = cloudnotify_ctx_current_op(pg->ctx);
    if (!c->op) {
      cmd_free(c);
      return CLOUDNOTIFY_ERR_STORE;
    }
  }
  g_queue_push_tail(&pg->queue, c);
  send_next(pg);
  report(pg);
  return with_op ? CLOUDNOTIFY_PENDING : 0;
}

/* Calls made while there is no connection fail at once: the client is
 * answered wait/internal-server-error without waiting for a reconnect. */
static gboolean unusable(cloudnotify_pg *pg) {
  return pg->freed || pg->state == CLOUDNOTIFY_PG_DOWN;
}

static int st_load(void *data, const char *account, cloudnotify_loader *loader) {
  cloudnotify_pg *pg = data;
  if (unusable(pg))
    return CLOUDNOTIFY_ERR_PG_UNAVAILABLE;
  cmd *c = cmd_new(CMD_LOAD, account);
  c->loader = loader;
  cmd_param(c, account);
  return enqueue(pg, c, TRUE);
}

static int st_save(void *data, const char *account, const cloudnotify_record *r) {
  cloudnotify_pg *pg = data;
  if (unusable(pg))
    return CLOUDNOTIFY_ERR_PG_UNAVAILABLE;
  cmd *c = cmd_new(CMD_SAVE, account);
  cmd_param(c, account);
  cmd_param(c, r->jid);
  cmd_param(c, r->node ? r->node : "");
  c->params[c->nparams++] =
      r->publish_options ? g_strndup(r->publish_options, r->publish_options_len) : NULL;
  c->params[c->nparams++] = g_strdup_printf("%" G_GINT64_FORMAT, r->enabled_at_ms);
  c->params[c->nparams++] = g_strdup_printf("%u", MIN(r->errors, (unsigned)G_MAXINT32));
  c->params[c->nparams++] = r->client_id && *r->client_id ? g_strdup(r->client_id) : NULL;
  c->params[c->nparams++] = g_strdup_printf("%d", pg->opt.max_devices);
  return enqueue(pg, c, TRUE);
}

static int st_remove(void *data, const char *account, const char *jid, const char *node) {
  cloudnotify_pg *pg = data;
  /* The context evicts the least recently enabled of its copy once a
   * save at the limit is stored: the save's transaction already did that
   * in the database, where the copy cannot be stale, so the removes the
   * context makes before it counts the enable are not sent.  Removes of
   * work that runs after it (a parked disable) come once ENABLES moved. */
  if (pg->completing && pg->ctx && !strcmp(pg->completing->account, account)) {
    uint64_t enables = 0;
    cloudnotify_ctx_get_counter(pg->ctx, CLOUDNOTIFY_COUNTER_ENABLES, &enables);
    if (enables == pg->enables_before) {
      g_ptr_array_add(pg->ctx_evicted, key_of(jid, node));
      return 0;
    }
  }
  if (unusable(pg))
    return CLOUDNOTIFY_ERR_PG_UNAVAILABLE;
  cmd *c = cmd_new(CMD_REMOVE, account);
  cmd_param(c, account);
  cmd_param(c, jid);
  cmd_param(c, node ? node : "");
  return enqueue(pg, c, TRUE);
}

static int st_set_errors(void *data, const char *account, const char *jid, const char *node,
                         unsigned errors) {
  cloudnotify_pg *pg = data;
  if (unusable(pg))
    return CLOUDNOTIFY_ERR_PG_UNAVAILABLE;
  cmd *c = cmd_new(CMD_ERRORS, account);
  c->errors = errors;
  cmd_param(c, account);
  cmd_param(c, jid);
  cmd_param(c, node ? node : "");
  /* Each change is one error more or a reset: counted in the database so
   * that errors seen by several nodes add up. */
  cmd_param(c, errors ? "false" : "true");
  return enqueue(pg, c, FALSE);
}

static void pg_destroy_memory(cloudnotify_pg *pg);

static void st_destroy(void *data) {
  cloudnotify_pg *pg = data;
  pg->ctx = NULL;
  if (pg->freed)
    pg_destroy_memory(pg);
}

static const cloudnotify_store pg_store = {
  .size = sizeof(cloudnotify_store),
  .load = st_load,
  .save = st_save,
  .remove = st_remove,
  .destroy = st_destroy,
  .set_errors = st_set_errors,
};

/* ---- SQL ------------------------------------------------------------------------------ */

static void build_sql(cloudnotify_pg *pg) {
  const char *s = pg->schema;
  const char *ch = pg->channel;
  pg->sql_load = g_strdup_printf(
      "SELECT jid, node, publish_options, enabled_at_ms, errors, client_id "
      "FROM \"%s\".cloudnotify_registrations WHERE account = $1 ORDER BY enable_seq",
      s);
  pg->sql_save = g_strdup_printf("SELECT ev_jid, ev_node FROM \"%s\".cloudnotify_save("
                                 "$1, $2, $3, $4, $5::bigint, $6::integer, $7, $8::integer)",
                                 s);
  pg->sql_remove = g_strdup_printf("SELECT \"%s\".cloudnotify_remove($1, $2, $3)", s);
  pg->sql_errors =
      g_strdup_printf("SELECT \"%s\".cloudnotify_count_error($1, $2, $3, $4::boolean)", s);
  /* COLLATE "C": byte order, the order SQLite's foreach gives, so that
   * exports of both stores compare equal. */
  pg->sql_list_all = g_strdup_printf(
      "SELECT account, jid, node, publish_options, enabled_at_ms, errors, client_id "
      "FROM \"%s\".cloudnotify_registrations ORDER BY account COLLATE \"C\", enabled_at_ms, "
      "enable_seq",
      s);
  pg->sql_list_one = g_strdup_printf(
      "SELECT account, jid, node, publish_options, enabled_at_ms, errors, client_id "
      "FROM \"%s\".cloudnotify_registrations WHERE account = $1 ORDER BY enabled_at_ms, "
      "enable_seq",
      s);
  /* One simple-protocol message: one implicit transaction, serialised
   * between nodes by the setup lock, so that two nodes starting at once
   * do not race on CREATE ... IF NOT EXISTS. */
  GString *q = g_string_new(NULL);
  g_string_append_printf(q, "SELECT pg_advisory_xact_lock(" LOCK_CLASS ", 0);\n");
  /* A tool that only reads or removes must not leave an empty schema
   * behind a mistyped name. */
  if (pg->opt.flags & CLOUDNOTIFY_PG_NO_CREATE)
    g_string_append_printf(
        q,
        "DO $cn$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = "
        "'%s' AND tablename = 'cloudnotify_registrations') THEN RAISE EXCEPTION "
        "'schema \"%s\" does not exist or holds no libcloudnotify-pg registrations' USING "
        "ERRCODE = 'CN002'; END IF; END $cn$;\n",
        s, s);
  g_string_append_printf(q, "CREATE SCHEMA IF NOT EXISTS \"%s\";\n", s);
  g_string_append_printf(q,
                         "CREATE TABLE IF NOT EXISTS \"%s\".cloudnotify_meta "
                         "(key text PRIMARY KEY, value text NOT NULL);\n",
                         s);
  g_string_append_printf(q,
                         "INSERT INTO \"%s\".cloudnotify_meta VALUES ('schema_version', '%d') "
                         "ON CONFLICT (key) DO NOTHING;\n",
                         s, SCHEMA_VERSION);
  g_string_append_printf(
      q,
      "DO $cn$ BEGIN IF (SELECT value::integer FROM \"%s\".cloudnotify_meta "
      "WHERE key = 'schema_version') > %d THEN RAISE EXCEPTION "
      "'schema \"%s\" was made by a newer libcloudnotify-pg (version %%, this one knows %d)', "
      "(SELECT value FROM \"%s\".cloudnotify_meta WHERE key = 'schema_version') "
      "USING ERRCODE = 'CN001'; END IF; END $cn$;\n",
      s, SCHEMA_VERSION, s, SCHEMA_VERSION, s);
  g_string_append_printf(q, "CREATE SEQUENCE IF NOT EXISTS \"%s\".cloudnotify_enable_seq;\n", s);
  g_string_append_printf(q,
                         "CREATE TABLE IF NOT EXISTS \"%s\".cloudnotify_registrations (\n"
                         "  account text NOT NULL,\n"
                         "  jid text NOT NULL,\n"
                         "  node text NOT NULL,\n"
                         "  publish_options text,\n"
                         "  enabled_at_ms bigint NOT NULL,\n"
                         "  errors integer NOT NULL DEFAULT 0 CHECK (errors >= 0),\n"
                         "  client_id text,\n"
                         "  enable_seq bigint NOT NULL,\n"
                         "  PRIMARY KEY (account, jid, node));\n",
                         s);
  /* The device limit, in the enable's own transaction, under the
   * account's lock: the rows kept are the max_devices most recently
   * enabled in the order the database saw the enables. */
  g_string_append_printf(
      q,
      "CREATE OR REPLACE FUNCTION \"%1$s\".cloudnotify_save(p_account text, p_jid text, "
      "p_node text, p_form text, p_at bigint, p_errors integer, p_client text, p_limit integer) "
      "RETURNS TABLE (ev_jid text, ev_node text) LANGUAGE plpgsql AS $cn$\n"
      "BEGIN\n"
      "  PERFORM pg_advisory_xact_lock(" LOCK_CLASS ", hashtext(p_account));\n"
      "  INSERT INTO \"%1$s\".cloudnotify_registrations AS r VALUES (p_account, p_jid, p_node, "
      "p_form, p_at, p_errors, p_client, nextval('\"%1$s\".cloudnotify_enable_seq'))\n"
      "    ON CONFLICT (account, jid, node) DO UPDATE SET publish_options = "
      "EXCLUDED.publish_options, enabled_at_ms = EXCLUDED.enabled_at_ms, errors = "
      "EXCLUDED.errors, client_id = EXCLUDED.client_id, enable_seq = EXCLUDED.enable_seq;\n"
      "  RETURN QUERY WITH gone AS (DELETE FROM \"%1$s\".cloudnotify_registrations AS d "
      "WHERE d.account = p_account AND d.enable_seq NOT IN (SELECT k.enable_seq FROM "
      "\"%1$s\".cloudnotify_registrations AS k WHERE k.account = p_account ORDER BY "
      "k.enable_seq DESC LIMIT p_limit) RETURNING d.jid, d.node) SELECT gone.jid, gone.node "
      "FROM gone;\n"
      "  PERFORM pg_notify('%2$s', p_account);\n"
      "END $cn$;\n",
      s, ch);
  g_string_append_printf(
      q,
      "CREATE OR REPLACE FUNCTION \"%1$s\".cloudnotify_remove(p_account text, p_jid text, "
      "p_node text) RETURNS integer LANGUAGE plpgsql AS $cn$\n"
      "DECLARE n integer;\n"
      "BEGIN\n"
      "  PERFORM pg_advisory_xact_lock(" LOCK_CLASS ", hashtext(p_account));\n"
      "  DELETE FROM \"%1$s\".cloudnotify_registrations WHERE account = p_account AND "
      "jid = p_jid AND node = p_node;\n"
      "  GET DIAGNOSTICS n = ROW_COUNT;\n"
      "  IF n > 0 THEN PERFORM pg_notify('%2$s', p_account); END IF;\n"
      "  RETURN n;\n"
      "END $cn$;\n",
      s, ch);
  /* Counted where every node sees it: one more, or back to 0. */
  g_string_append_printf(
      q,
      "CREATE OR REPLACE FUNCTION \"%1$s\".cloudnotify_count_error(p_account text, p_jid text, "
      "p_node text, p_reset boolean) RETURNS integer LANGUAGE plpgsql AS $cn$\n"
      "DECLARE c integer;\n"
      "BEGIN\n"
      "  SELECT errors INTO c FROM \"%1$s\".cloudnotify_registrations WHERE account = "
      "p_account AND jid = p_jid AND node = p_node FOR UPDATE;\n"
      "  IF NOT FOUND THEN RETURN -1; END IF;\n"
      "  IF p_reset THEN\n"
      "    IF c = 0 THEN RETURN 0; END IF;\n"
      "    c := 0;\n"
      "  ELSIF c < 2147483647 THEN\n"
      "    c := c + 1;\n"
      "  END IF;\n"
      "  UPDATE \"%1$s\".cloudnotify_registrations SET errors = c WHERE account = p_account "
      "AND jid = p_jid AND node = p_node;\n"
      "  PERFORM pg_notify('%2$s', p_account);\n"
      "  RETURN c;\n"
      "END $cn$;\n",
      s, ch);
  /* Cancelled by the server, a statement stuck behind a lock cannot
   * commit after its operation was answered as failed; a client-side
   * timeout alone would leave it running. */
  g_string_append_printf(q, "SET statement_timeout = %" G_GINT64_FORMAT ";\n",
                         pg->opt.query_timeout_ms);
  g_string_append_printf(q, "LISTEN \"%s\";\n", ch);
  pg->sql_setup = g_string_free(q, FALSE);
}

/* ---- public API ------------------------------------------------------------------------ */

static gboolean schema_ok(const char *s) {
  size_t n = strlen(s);
  if (!n || n > CLOUDNOTIFY_PG_SCHEMA_MAX || !(g_ascii_islower(s[0]) || s[0] == '_'))
    return FALSE;
  for (size_t i = 0; i < n; i++)
    if (!(g_ascii_islower(s[i]) || g_ascii_isdigit(s[i]) || s[i] == '_'))
      return FALSE;
  return TRUE;
}

static int take_options(cloudnotify_pg_options *o, const cloudnotify_pg_options *in) {
  memset(o, 0, sizeof *o);
  if (in) {
    /* One layout was ever released: this one (the vtable rule). */
    if (in->size < sizeof *o || in->size % sizeof(void *))
      return CLOUDNOTIFY_ERR_VTABLE_SIZE;
    if (in->size > sizeof *o)
      for (size_t i = sizeof *o; i < in->size; i++)
        if (((const unsigned char *)in)[i])
          return CLOUDNOTIFY_ERR_VTABLE_SIZE;
    memcpy(o, in, MIN(in->size, sizeof *o));
  }
  o->size = sizeof *o;
  if (!o->max_devices)
    o->max_devices = 5;
  if (!o->reconnect_min_ms)
    o->reconnect_min_ms = 100;
  if (!o->reconnect_max_ms)
    o->reconnect_max_ms = 30000;
  if (!o->connect_timeout_ms)
    o->connect_timeout_ms = 10000;
  if (!o->query_timeout_ms)
    o->query_timeout_ms = 30000;
  const int64_t hour = 3600000;
  if (o->max_devices < 1 || o->max_devices > 1000 || o->reconnect_min_ms < 1 ||
      o->reconnect_min_ms > hour || o->reconnect_max_ms < o->reconnect_min_ms ||
      o->reconnect_max_ms > hour || o->connect_timeout_ms < 1 || o->connect_timeout_ms > hour ||
      o->query_timeout_ms < 1 || o->query_timeout_ms > hour)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (o->schema && !schema_ok(o->schema))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (o->flags & ~CLOUDNOTIFY_PG_NO_CREATE)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  return 0;
}

int cloudnotify_pg_new(cloudnotify_pg **out, const char *conninfo,
                       const cloudnotify_pg_options *options) {
  if (out)
    *out = NULL;
  if (!out || !conninfo)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  cloudnotify_pg_options o;
  int rc = take_options(&o, options);
  if (rc)
    return rc;
  char *err = NULL;
  PQconninfoOption *parsed = PQconninfoParse(conninfo, &err);
  if (!parsed) {
    if (o.log) {
      char *m = g_strdup_printf("postgresql: bad connection string: %s", err ? err : "");
      o.log(o.user_data, CLOUDNOTIFY_LOG_ERROR, g_strchomp(m));
      g_free(m);
    }
    if (err)
      PQfreemem(err);
    return CLOUDNOTIFY_ERR_PG_CONNINFO;
  }
  PQconninfoFree(parsed);
  cloudnotify_pg *pg = g_new0(cloudnotify_pg, 1);
  pg->opt = o;
  pg->schema = g_strdup(o.schema ? o.schema : "public");
  pg->opt.schema = pg->schema;
  pg->conninfo = g_strdup(conninfo);
  pg->channel = g_strconcat("cloudnotify:", pg->schema, NULL);
  build_sql(pg);
  g_queue_init(&pg->queue);
  g_queue_init(&pg->done);
  pg->served = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  pg->to_forget = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  pg->backoff = pg->opt.reconnect_min_ms;
  pg->reported_fd = -1;
  pg->last_message = g_strdup("");
  start_connect(pg);
  report(pg);
  *out = pg;
  return 0;
}

static void pg_destroy_memory(cloudnotify_pg *pg) {
  cmd *c;
  while ((c = g_queue_pop_head(&pg->queue)))
    cmd_free(c);
  while ((c = g_queue_pop_head(&pg->done)))
    cmd_free(c);
  cmd_free(pg->cur);
  g_hash_table_unref(pg->served);
  g_hash_table_unref(pg->to_forget);
  g_free(pg->sql_setup);
  g_free(pg->sql_load);
  g_free(pg->sql_save);
  g_free(pg->sql_remove);
  g_free(pg->sql_errors);
  g_free(pg->sql_list_all);
  g_free(pg->sql_list_one);
  g_free(pg->conninfo);
  g_free(pg->schema);
  g_free(pg->channel);
  g_free(pg->last_message);
  g_free(pg);
}

void cloudnotify_pg_free(cloudnotify_pg *pg) {
  if (!pg)
    return;
  /* Nobody is left to be told about the descriptor. */
  pg->opt.socket_changed = NULL;
  pg->opt.timer_changed = NULL;
  pg->opt.log = NULL;
  close_conn(pg);
  pg->state = CLOUDNOTIFY_PG_DOWN;
  pg->freed = TRUE;
  fail_all(pg, CLOUDNOTIFY_ERR_PG_UNAVAILABLE);
  /* Answered as failures now, or released (cloudnotify_op_free answers
   * a last reference as a failure itself when it can). */
  answer_done(pg);
  cmd *c;
  while ((c = g_queue_pop_head(&pg->done)))
    cmd_free(c);
  g_hash_table_remove_all(pg->to_forget);
  if (!pg->ctx)
    pg_destroy_memory(pg);
}

int cloudnotify_ctx_set_pg_store(cloudnotify_ctx *ctx, cloudnotify_pg *pg) {
  if (!ctx || !pg || pg->freed)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (pg->ctx)
    return CLOUDNOTIFY_ERR_STATE;
  int rc = cloudnotify_ctx_set_store(ctx, &pg_store, pg);
  if (rc)
    return rc;
  pg->ctx = ctx;
  return 0;
}

int cloudnotify_pg_socket(const cloudnotify_pg *pg, int *fd, unsigned *events) {
  int f = -1;
  unsigned e = 0;
  if (pg)
    socket_of(pg, &f, &e);
  if (fd)
    *fd = f;
  if (events)
    *events = e;
  return pg ? 0 : CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
}

int64_t cloudnotify_pg_next_timeout(const cloudnotify_pg *pg) {
  if (!pg)
    return -1;
  int64_t due = due_at(pg);
  return due < 0 ? -1 : MAX(0, due - now_ms());
}

int cloudnotify_pg_process(cloudnotify_pg *pg, unsigned revents) {
  if (!pg)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (pg->in_callback)
    return CLOUDNOTIFY_ERR_REENTRANT;
  if (pg->freed)
    return 0;
  int64_t now = now_ms();
  if (pg->state == CLOUDNOTIFY_PG_DOWN) {
    if (now >= pg->deadline)
      start_connect(pg);
  } else if (pg->polling_connect) {
    if (now >= pg->deadline)
      connection_failed(pg, CLOUDNOTIFY_ERR_PG_UNAVAILABLE, "connection attempt timed out");
    else if (revents & pg->connect_events)
      connect_poll(pg);
  } else {
    io(pg, revents);
    if (pg->conn && pg->cur && now_ms() >= pg->deadline)
      connection_failed(pg, CLOUDNOTIFY_ERR_PG_UNAVAILABLE,
                        pg->state == CLOUDNOTIFY_PG_READY ? "statement timed out"
                                                          : "schema setup timed out");
  }
  send_next(pg);
  answer_done(pg);
  forget_changed(pg);
  report(pg);
  return 0;
}

cloudnotify_pg_state cloudnotify_pg_get_state(const cloudnotify_pg *pg) {
  return pg ? pg->state : CLOUDNOTIFY_PG_DOWN;
}

int cloudnotify_pg_last_error(const cloudnotify_pg *pg, const char **message) {
  if (message)
    *message = pg ? pg->last_message : "";
  return pg ? pg->last_error : CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
}

static gboolean idle(const cloudnotify_pg *pg) {
  return pg->state == CLOUDNOTIFY_PG_READY && !pg->cur && !pg->queue.length && !pg->done.length &&
         !(pg->ctx && g_hash_table_size(pg->to_forget));
}

int cloudnotify_pg_wait_idle(cloudnotify_pg *pg, int timeout_ms) {
  if (!pg)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (pg->in_callback)
    return CLOUDNOTIFY_ERR_REENTRANT;
  if (pg->freed)
    return CLOUDNOTIFY_ERR_PG_UNAVAILABLE;
  int64_t end = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
  unsigned failures = pg->failed_attempts;
  for (;;) {
    if (idle(pg))
      return 0;
    if (pg->failed_attempts != failures && pg->state == CLOUDNOTIFY_PG_DOWN)
      return pg->last_error == CLOUDNOTIFY_ERR_PG_SCHEMA ? CLOUDNOTIFY_ERR_PG_SCHEMA
                                                         : CLOUDNOTIFY_ERR_PG_UNAVAILABLE;
    int64_t now = now_ms();
    if (end >= 0 && now >= end)
      return CLOUDNOTIFY_ERR_BUSY;
    int64_t wait = cloudnotify_pg_next_timeout(pg);
    if (end >= 0 && (wait < 0 || wait > end - now))
      wait = end - now;
    int fd;
    unsigned ev;
    socket_of(pg, &fd, &ev);
    struct pollfd p = { .fd = fd,
                        .events = (short)((ev & CLOUDNOTIFY_PG_READ ? POLLIN : 0) |
                                          (ev & CLOUDNOTIFY_PG_WRITE ? POLLOUT : 0)) };
    int n = poll(&p, fd >= 0 ? 1 : 0, wait > INT32_MAX ? INT32_MAX : (int)wait);
    unsigned revents = 0;
    if (n > 0) {
      if (p.revents & (POLLIN | POLLHUP | POLLERR))
        revents |= CLOUDNOTIFY_PG_READ;
      if (p.revents & (POLLOUT | POLLHUP | POLLERR))
        revents |= CLOUDNOTIFY_PG_WRITE;
    }
    cloudnotify_pg_process(pg, revents);
  }
}

/* ---- administration: blocking calls for tools ------------------------------------ */

/* Connected, set up and with nothing in flight: the connection is then
 * the caller's for one statement. */
static int blocking_ready(cloudnotify_pg *pg) {
  if (pg->in_callback)
    return CLOUDNOTIFY_ERR_REENTRANT;
  if (pg->ctx)
    return CLOUDNOTIFY_ERR_STATE;
  return cloudnotify_pg_wait_idle(pg, -1);
}

/* One statement, waited for.  libpq's blocking call on the connection
 * otherwise used without blocking: nothing else is queued (the handle
 * serves no context and was idle). */
static int exec_blocking(cloudnotify_pg *pg, const char *sql, int n, const char *const *params,
                         PGresult **out) {
  *out = NULL;
  PQsetnonblocking(pg->conn, 0);
  PGresult *res = PQexecParams(pg->conn, sql, n, NULL, params, NULL, NULL, 0);
  PQsetnonblocking(pg->conn, 1);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  /* Nobody to tell about changes: the handle serves no context. */
  read_notifications(pg);
  g_hash_table_remove_all(pg->to_forget);
  if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
    *out = res;
    return 0;
  }
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  char *why = g_strdup(res ? PQresultErrorMessage(res) : PQerrorMessage(pg->conn));
  int code = CLOUDNOTIFY_ERR_PG_QUERY;
  if (PQstatus(pg->conn) == CONNECTION_BAD || (state && g_str_has_prefix(state, "57P")) ||
      (state && g_str_has_prefix(state, "08"))) {
    code = CLOUDNOTIFY_ERR_PG_UNAVAILABLE;
    connection_failed(pg, code, why);
  } else {
    set_error(pg, code, why);
    pg_log(pg, CLOUDNOTIFY_LOG_ERROR, "postgresql: statement failed: %s", pg->last_message);
  }
  g_free(why);
  if (res)
    PQclear(res);
  report(pg);
  return code;
}

int cloudnotify_pg_foreach(cloudnotify_pg *pg, const char *account, cloudnotify_record_cb cb,
                           void *data) {
  if (!pg || !cb)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  int rc = blocking_ready(pg);
  if (rc)
    return rc;
  PGresult *r;
  const char *params[] = { account };
  rc =
      exec_blocking(pg, account ? pg->sql_list_one : pg->sql_list_all, account ? 1 : 0, params, &r);
  if (rc)
    return rc;
  for (int i = 0; i < PQntuples(r) && !rc; i++) {
    const char *node = PQgetvalue(r, i, 2);
    char *end = NULL;
    errno = 0;
    long long at = strtoll(PQgetvalue(r, i, 4), &end, 10);
    unsigned long errors = strtoul(PQgetvalue(r, i, 5), NULL, 10);
    cloudnotify_record rec = {
      .jid = PQgetvalue(r, i, 1),
      .node = *node ? node : NULL,
      .publish_options = PQgetisnull(r, i, 3) ? NULL : PQgetvalue(r, i, 3),
      .publish_options_len = PQgetisnull(r, i, 3) ? 0 : (size_t)PQgetlength(r, i, 3),
      .enabled_at_ms = errno ? 0 : at,
      .errors = errors > G_MAXUINT ? G_MAXUINT : (unsigned)errors,
      .client_id = PQgetisnull(r, i, 6) ? NULL : PQgetvalue(r, i, 6),
    };
    pg->in_callback++;
    rc = cb(data, PQgetvalue(r, i, 0), &rec);
    pg->in_callback--;
  }
  PQclear(r);
  return rc;
}

int cloudnotify_pg_save_record(cloudnotify_pg *pg, const char *account,
                               const cloudnotify_record *record) {
  if (!pg || !account || !record || !record->jid)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  int rc = blocking_ready(pg);
  if (rc)
    return rc;
  /* NULL/0 is no form (cloudnotify_record): a form of length 0 is none,
   * as the SQLite store keeps it. */
  char *form = record->publish_options && record->publish_options_len
                   ? g_strndup(record->publish_options, record->publish_options_len)
                   : NULL;
  char *at = g_strdup_printf("%" G_GINT64_FORMAT, record->enabled_at_ms);
  char *errors = g_strdup_printf("%u", MIN(record->errors, (unsigned)G_MAXINT32));
  char *limit = g_strdup_printf("%d", pg->opt.max_devices);
  const char *params[] = {
    account,
    record->jid,
    record->node ? record->node : "",
    form,
    at,
    errors,
    record->client_id && *record->client_id ? record->client_id : NULL,
    limit,
  };
  PGresult *r;
  rc = exec_blocking(pg, pg->sql_save, 8, params, &r);
  if (!rc)
    PQclear(r);
  g_free(form);
  g_free(at);
  g_free(errors);
  g_free(limit);
  return rc;
}

int cloudnotify_pg_remove_record(cloudnotify_pg *pg, const char *account, const char *jid,
                                 const char *node) {
  if (!pg || !account || !jid)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  int rc = blocking_ready(pg);
  if (rc)
    return rc;
  const char *params[] = { account, jid, node ? node : "" };
  PGresult *r;
  rc = exec_blocking(pg, pg->sql_remove, 3, params, &r);
  if (rc)
    return rc;
  int n = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : 0;
  PQclear(r);
  return n > 0 ? 1 : 0;
}
