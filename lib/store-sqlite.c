/* The built-in SQLite store: registrations in one database file that
 * outlives the process (docs/storage.md).  Every write is one
 * transaction, committed with synchronous=FULL in WAL mode, so that a
 * store call that returned 0 survives a crash of the process and of the
 * machine.  What is read back is untrusted: rows are checked for types
 * and sizes here, and their contents by cloudnotify_loader_add. */
#include "private.h"

#include <limits.h>
#include <sqlite3.h>
#include <string.h>

#include "pending.h"
#include "store-sqlite.h"

/* "cnot": marks the file as ours, so that a path pointing at another
 * application's database is refused instead of getting our table added. */
#define CN_SQLITE_APPLICATION_ID 0x636e6f74

/* No valid field comes near it (the largest publish-options form the
 * options allow is 1 MiB); anything longer is a hand edit or damage and is
 * never read into memory. */
#define CN_SQLITE_MAX_VALUE 1048576

/* Step n brings the schema from version n to n + 1, in the same
 * transaction as the user_version that records it.  A later version
 * appends a step; released steps never change. */
static const char *const migrations[] = {
  /* 0 -> 1 */
  "CREATE TABLE registrations ("
  " account TEXT NOT NULL,"
  /* NULL: the client gave no node.  '' is a different key (one the
   * library rewrites on load), so it must stay distinct from NULL. */
  " jid TEXT NOT NULL,"
  " node TEXT,"
  " publish_options BLOB,"
  " enabled_at INTEGER NOT NULL,"
  " errors INTEGER NOT NULL DEFAULT 0,"
  " client_id TEXT);"
  /* A UNIQUE over node itself would let any number of NULL nodes in (NULLs
   * are distinct in SQL); a zero-length blob never equals any text. */
  "CREATE UNIQUE INDEX registrations_key ON registrations (account, jid, coalesce(node, x''));"
  "CREATE INDEX registrations_order ON registrations (account, enabled_at);",
};
G_STATIC_ASSERT(G_N_ELEMENTS(migrations) == CLOUDNOTIFY_SQLITE_SCHEMA_VERSION);

/* Every value column comes with a flag saying it is too long, and is then
 * not read at all. */
#define CAPPED(c)                                                                                  \
  "CASE WHEN length(" c ") > 1048576 THEN NULL ELSE " c " END, length(" c ") > 1048576"
#define RECORD_COLUMNS                                                                             \
  CAPPED("jid")                                                                                    \
  ", " CAPPED("node") ", " CAPPED("publish_options") ", enabled_at, errors, " CAPPED("client_id")
#define KEY "account = ?1 AND jid = ?2 AND node IS ?3"

enum {
  ST_LOAD,
  ST_ALL,
  ST_ACCOUNT,
  ST_BEGIN,
  ST_COMMIT,
  ST_ROLLBACK,
  ST_DELETE,
  ST_INSERT,
  ST_ERRORS,
  ST_COUNT
};

static const char *const statements[ST_COUNT] = {
  [ST_LOAD] = "SELECT " RECORD_COLUMNS " FROM registrations WHERE account = ?1"
              " ORDER BY enabled_at, rowid",
  [ST_ALL] = "SELECT account, " RECORD_COLUMNS " FROM registrations"
             " ORDER BY account, enabled_at, rowid",
  [ST_ACCOUNT] = "SELECT account, " RECORD_COLUMNS " FROM registrations WHERE account = ?1"
                 " ORDER BY enabled_at, rowid",
  /* IMMEDIATE takes the write lock first, so waiting for another writer
   * happens under the busy timeout and never half way through. */
  [ST_BEGIN] = "BEGIN IMMEDIATE",
  [ST_COMMIT] = "COMMIT",
  [ST_ROLLBACK] = "ROLLBACK",
  [ST_DELETE] = "DELETE FROM registrations WHERE " KEY,
  [ST_INSERT] = "INSERT INTO registrations"
                " (account, jid, node, publish_options, enabled_at, errors, client_id)"
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
  [ST_ERRORS] = "UPDATE registrations SET errors = ?4 WHERE " KEY,
};

struct cloudnotify_sqlite {
  sqlite3 *db;
  unsigned flags;
  int version;
  gboolean in_foreach;
  char *errmsg;
  sqlite3_stmt *st[ST_COUNT];
};

static int map_error(int rc) {
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED: return CLOUDNOTIFY_ERR_STORE_LOCKED;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB: return CLOUDNOTIFY_ERR_STORE_CORRUPT;
  default: return CLOUDNOTIFY_ERR_STORE_IO;
  }
}

static void set_msg(cloudnotify_sqlite *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void set_msg(cloudnotify_sqlite *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  g_free(s->errmsg);
  s->errmsg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
}

/* SQLite's message belongs to the connection and is overwritten by the
 * next call (a rollback), so it is copied at once. */
static int fail(cloudnotify_sqlite *s, const char *what, int rc) {
  set_msg(s, "%s: %s (%s)", what, sqlite3_errmsg(s->db), sqlite3_errstr(rc));
  return map_error(rc);
}

static int exec(cloudnotify_sqlite *s, const char *what, const char *sql) {
  int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : fail(s, what, rc);
}

/* One integer out of a query that returns one row (a pragma). */
static int query_int(cloudnotify_sqlite *s, const char *what, const char *sql, int64_t *out) {
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      *out = sqlite3_column_int64(st, 0);
      rc = SQLITE_OK;
    }
  }
  int err = rc == SQLITE_OK ? 0 : fail(s, what, rc);
  sqlite3_finalize(st);
  return err;
}

/* Ends a statement's use: a statement left stepping holds its read
 * transaction open, which blocks checkpoints and other writers' view. */
static int step_done(cloudnotify_sqlite *s, sqlite3_stmt *st, const char *what) {
  int rc = sqlite3_step(st);
  int err = rc == SQLITE_DONE ? 0 : fail(s, what, rc);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return err;
}

static void bind_key(sqlite3_stmt *st, const char *account, const char *jid, const char *node) {
  sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, jid, -1, SQLITE_STATIC);
  if (node)
    sqlite3_bind_text(st, 3, node, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, 3);
}

/* ---- schema ---------------------------------------------------------- */

static int schema_check(cloudnotify_sqlite *s, int64_t version, int64_t app_id) {
  if (app_id != 0 && app_id != CN_SQLITE_APPLICATION_ID) {
    set_msg(s, "not a libcloudnotify database (application_id %" G_GINT64_FORMAT ")", app_id);
    return CLOUDNOTIFY_ERR_STORE_VERSION;
  }
  if (version > CLOUDNOTIFY_SQLITE_SCHEMA_VERSION || version < 0) {
    set_msg(s,
            "database schema version %" G_GINT64_FORMAT
            " is newer than this library's (%d): upgrade libcloudnotify",
            version, CLOUDNOTIFY_SQLITE_SCHEMA_VERSION);
    return CLOUDNOTIFY_ERR_STORE_VERSION;
  }
  return 0;
}

static int migrate_locked(cloudnotify_sqlite *s) {
  int64_t version = 0, app_id = 0, tables = 0;
  int rc = query_int(s, "reading the schema version", "PRAGMA user_version", &version);
  if (!rc)
    rc = query_int(s, "reading the application id", "PRAGMA application_id", &app_id);
  if (!rc)
    rc = schema_check(s, version, app_id);
  if (!rc && version == 0)
    rc = query_int(
        s, "reading the schema",
        "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'", &tables);
  if (!rc && version == 0 && tables > 0) {
    set_msg(s, "not a libcloudnotify database (it has tables but no schema version)");
    rc = CLOUDNOTIFY_ERR_STORE_VERSION;
  }
  for (; !rc && version < CLOUDNOTIFY_SQLITE_SCHEMA_VERSION; version++) {
    rc = exec(s, "creating or migrating the schema", migrations[version]);
    if (!rc) {
      char *sql = g_strdup_printf("PRAGMA user_version = %d; PRAGMA application_id = %d",
                                  (int)version + 1, CN_SQLITE_APPLICATION_ID);
      rc = exec(s, "recording the schema version", sql);
      g_free(sql);
    }
  }
  s->version = (int)version;
  return rc;
}

static int migrate(cloudnotify_sqlite *s) {
  int rc = exec(s, "locking the database to check its schema", "BEGIN IMMEDIATE");
  if (rc)
    return rc;
  rc = migrate_locked(s);
  if (!rc)
    rc = exec(s, "committing the schema", "COMMIT");
  if (rc && !sqlite3_get_autocommit(s->db))
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static int check_readonly(cloudnotify_sqlite *s) {
  int64_t version = 0, app_id = 0;
  int rc = query_int(s, "reading the schema version", "PRAGMA user_version", &version);
  if (!rc)
    rc = query_int(s, "reading the application id", "PRAGMA application_id", &app_id);
  if (!rc)
    rc = schema_check(s, version, app_id);
  if (!rc && version != CLOUDNOTIFY_SQLITE_SCHEMA_VERSION) {
    set_msg(s,
            "database schema version %" G_GINT64_FORMAT
            " is older than this library's (%d): open it once read-write to migrate it",
            version, CLOUDNOTIFY_SQLITE_SCHEMA_VERSION);
    rc = CLOUDNOTIFY_ERR_STORE_VERSION;
  }
  s->version = (int)version;
  return rc;
}

static int setup(cloudnotify_sqlite *s, const char *path) {
  int oflags = SQLITE_OPEN_NOMUTEX;
  if (s->flags & CLOUDNOTIFY_SQLITE_READONLY)
    oflags |= SQLITE_OPEN_READONLY;
  else
    oflags |=
        SQLITE_OPEN_READWRITE | (s->flags & CLOUDNOTIFY_SQLITE_NO_CREATE ? 0 : SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
  if (rc != SQLITE_OK) {
    set_msg(s, "opening %s: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    return map_error(rc);
  }
  sqlite3_extended_result_codes(s->db, 1);
  sqlite3_busy_timeout(s->db, CLOUDNOTIFY_SQLITE_BUSY_TIMEOUT_MS);
  if (s->flags & CLOUDNOTIFY_SQLITE_READONLY) {
    rc = check_readonly(s);
  } else {
    /* WAL lets readers (the admin tool) work while the server writes, and
     * FULL syncs the log at every commit: see docs/storage.md for why
     * NORMAL would not make "returned 0" mean "on disk". */
    rc = exec(s, "switching to WAL mode", "PRAGMA journal_mode = WAL");
    if (!rc)
      rc = exec(s, "setting synchronous", "PRAGMA synchronous = FULL");
    if (!rc)
      rc = migrate(s);
  }
  for (int i = 0; !rc && i < ST_COUNT; i++) {
    int r =
        sqlite3_prepare_v3(s->db, statements[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
    if (r != SQLITE_OK)
      rc = fail(s, "preparing the statements", r);
  }
  return rc;
}

int cloudnotify_sqlite_open(const char *path, unsigned flags, cloudnotify_sqlite **out) {
  if (out)
    *out = NULL;
  if (!path || !*path || !out ||
      (flags & ~(unsigned)(CLOUDNOTIFY_SQLITE_READONLY | CLOUDNOTIFY_SQLITE_NO_CREATE)))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  cloudnotify_sqlite *s = g_new0(cloudnotify_sqlite, 1);
  s->flags = flags;
  int rc = setup(s, path);
  if (rc) {
    cloudnotify_sqlite_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

void cloudnotify_sqlite_close(cloudnotify_sqlite *s) {
  if (!s)
    return;
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(s->st[i]);
  /* The last connection to close checkpoints and removes the WAL. */
  sqlite3_close(s->db);
  g_free(s->errmsg);
  g_free(s);
}

const char *cloudnotify_sqlite_errmsg(const cloudnotify_sqlite *s) {
  return s && s->errmsg ? s->errmsg : "";
}

int cloudnotify_sqlite_set_busy_timeout(cloudnotify_sqlite *s, int ms) {
  if (!s || ms < 0)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  sqlite3_busy_timeout(s->db, ms);
  return 0;
}

int cloudnotify_sqlite_schema_version(const cloudnotify_sqlite *s) {
  return s ? s->version : CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
}

/* ---- rows ------------------------------------------------------------ */

/* A text column as a string, or FALSE when it is not one: another type,
 * too long, or holding a NUL byte (C would silently cut it there). */
static gboolean col_text(sqlite3_stmt *st, int col, gboolean nullable, const char **out) {
  *out = NULL;
  if (sqlite3_column_int(st, col + 1))
    return FALSE;
  int type = sqlite3_column_type(st, col);
  if (type == SQLITE_NULL)
    return nullable;
  if (type != SQLITE_TEXT)
    return FALSE;
  const char *t = (const char *)sqlite3_column_text(st, col);
  int n = sqlite3_column_bytes(st, col);
  if (!t || strlen(t) != (size_t)n)
    return FALSE;
  *out = t;
  return TRUE;
}

/* The record in the columns from col on (RECORD_COLUMNS), every pointer
 * borrowed from the statement until its next step.  FALSE when the row
 * cannot form one. */
static gboolean row_record(sqlite3_stmt *st, int col, cloudnotify_record *rec) {
  memset(rec, 0, sizeof *rec);
  if (!col_text(st, col, FALSE, &rec->jid) || !col_text(st, col + 2, TRUE, &rec->node) ||
      !col_text(st, col + 8, TRUE, &rec->client_id))
    return FALSE;
  int form = col + 4;
  if (sqlite3_column_int(st, form + 1))
    return FALSE;
  int type = sqlite3_column_type(st, form);
  if (type == SQLITE_BLOB || type == SQLITE_TEXT) {
    rec->publish_options = sqlite3_column_blob(st, form);
    rec->publish_options_len = (size_t)sqlite3_column_bytes(st, form);
  } else if (type != SQLITE_NULL) {
    return FALSE;
  }
  if (sqlite3_column_type(st, col + 6) != SQLITE_INTEGER ||
      sqlite3_column_type(st, col + 7) != SQLITE_INTEGER)
    return FALSE;
  rec->enabled_at_ms = sqlite3_column_int64(st, col + 6);
  int64_t errors = sqlite3_column_int64(st, col + 7);
  if (errors < 0 || errors > UINT_MAX)
    return FALSE;
  rec->errors = (unsigned)errors;
  return TRUE;
}

/* ---- the store vtable ------------------------------------------------ */

/* A store call from a foreach callback would reset the statement the
 * foreach is stepping. */
static int refuse_nested(cloudnotify_sqlite *s) {
  set_msg(s, "called from inside cloudnotify_sqlite_foreach");
  return CLOUDNOTIFY_ERR_REENTRANT;
}

static int sq_load(void *data, const char *account, cloudnotify_loader *loader) {
  cloudnotify_sqlite *s = data;
  if (s->in_foreach)
    return refuse_nested(s);
  sqlite3_stmt *st = s->st[ST_LOAD];
  sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    cloudnotify_record rec;
    if (!row_record(st, 0, &rec)) {
      /* Handed on as a record the loader refuses, so that the skip is
       * logged and counted (STORE_RECORDS_REJECTED) like any other
       * invalid record, rather than vanishing here. */
      memset(&rec, 0, sizeof rec);
      rec.jid = "";
    }
    cloudnotify_loader_add(loader, &rec);
  }
  int err = rc == SQLITE_DONE ? 0 : fail(s, "loading registrations", rc);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return err;
}

static int sq_save(void *data, const char *account, const cloudnotify_record *rec) {
  cloudnotify_sqlite *s = data;
  if (s->in_foreach)
    return refuse_nested(s);
  int rc = step_done(s, s->st[ST_BEGIN], "starting a transaction to save a registration");
  if (rc)
    return rc;
  sqlite3_stmt *del = s->st[ST_DELETE];
  bind_key(del, account, rec->jid, rec->node);
  rc = step_done(s, del, "replacing a registration");
  if (!rc) {
    sqlite3_stmt *ins = s->st[ST_INSERT];
    bind_key(ins, account, rec->jid, rec->node);
    if (rec->publish_options)
      sqlite3_bind_blob64(ins, 4, rec->publish_options, rec->publish_options_len, SQLITE_STATIC);
    else
      sqlite3_bind_null(ins, 4);
    sqlite3_bind_int64(ins, 5, rec->enabled_at_ms);
    sqlite3_bind_int64(ins, 6, rec->errors);
    if (rec->client_id)
      sqlite3_bind_text(ins, 7, rec->client_id, -1, SQLITE_STATIC);
    else
      sqlite3_bind_null(ins, 7);
    rc = step_done(s, ins, "saving a registration");
  }
  if (!rc)
    rc = step_done(s, s->st[ST_COMMIT], "committing a registration");
  /* A failed COMMIT may leave the transaction open (SQLITE_BUSY in
   * rollback-journal mode); nothing of it must survive the failure. */
  if (rc && !sqlite3_get_autocommit(s->db)) {
    sqlite3_step(s->st[ST_ROLLBACK]);
    sqlite3_reset(s->st[ST_ROLLBACK]);
  }
  return rc;
}

static int sq_remove(void *data, const char *account, const char *jid, const char *node) {
  cloudnotify_sqlite *s = data;
  if (s->in_foreach)
    return refuse_nested(s);
  /* One statement is one transaction of its own. */
  bind_key(s->st[ST_DELETE], account, jid, node);
  return step_done(s, s->st[ST_DELETE], "removing a registration");
}

static int sq_set_errors(void *data, const char *account, const char *jid, const char *node,
                         unsigned errors) {
  cloudnotify_sqlite *s = data;
  if (s->in_foreach)
    return refuse_nested(s);
  sqlite3_stmt *st = s->st[ST_ERRORS];
  bind_key(st, account, jid, node);
  sqlite3_bind_int64(st, 4, errors);
  return step_done(s, st, "updating an error count");
}

static void sq_close(void *data) {
  cloudnotify_sqlite_close(data);
}

static const cloudnotify_store sqlite_vtable = {
  .size = sizeof(cloudnotify_store),
  .load = sq_load,
  .save = sq_save,
  .remove = sq_remove,
  .set_errors = sq_set_errors,
};

/* The same store, owned by the context that closes it. */
static const cloudnotify_store sqlite_owned_vtable = {
  .size = sizeof(cloudnotify_store),
  .load = sq_load,
  .save = sq_save,
  .remove = sq_remove,
  .destroy = sq_close,
  .set_errors = sq_set_errors,
};

const cloudnotify_store *cloudnotify_sqlite_store(void) {
  return &sqlite_vtable;
}

int cloudnotify_ctx_set_sqlite_store(cloudnotify_ctx *ctx, cloudnotify_sqlite *db) {
  if (!ctx || !db)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  return cloudnotify_ctx_set_store(ctx, &sqlite_owned_vtable, db);
}

int cloudnotify_sqlite_foreach(cloudnotify_sqlite *s, const char *account, cloudnotify_record_cb cb,
                               void *data) {
  if (!s || !cb)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (s->in_foreach)
    return refuse_nested(s);
  sqlite3_stmt *st = s->st[account ? ST_ACCOUNT : ST_ALL];
  if (account)
    sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  s->in_foreach = TRUE;
  int rc, stop = 0;
  while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *acc;
    cloudnotify_record rec;
    if (sqlite3_column_type(st, 0) != SQLITE_TEXT ||
        !(acc = (const char *)sqlite3_column_text(st, 0)) || !row_record(st, 1, &rec))
      continue;
    stop = cb(data, acc, &rec);
  }
  s->in_foreach = FALSE;
  int err = stop || rc == SQLITE_DONE ? 0 : fail(s, "listing registrations", rc);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return stop ? stop : err;
}

/* ---- the push_store option ------------------------------------------- */

int cn_store_option(cloudnotify_ctx *ctx, const char *value) {
  static const char prefix[] = "sqlite:";
  if (!strcmp(value, "memory"))
    return cloudnotify_ctx_set_store(ctx, NULL, NULL);
  if (strncmp(value, prefix, sizeof prefix - 1) || !value[sizeof prefix - 1])
    return CLOUDNOTIFY_ERR_OPTION_VALUE;
  /* Checked before opening, so that a refused change creates no file. */
  if (ctx->sessions || cn_pending_any(ctx))
    return CLOUDNOTIFY_ERR_STATE;
  cloudnotify_sqlite *db = NULL;
  int rc = cloudnotify_sqlite_open(value + sizeof prefix - 1, 0, &db);
  if (rc)
    return rc;
  rc = cloudnotify_ctx_set_sqlite_store(ctx, db);
  if (rc)
    cloudnotify_sqlite_close(db);
  return rc;
}
