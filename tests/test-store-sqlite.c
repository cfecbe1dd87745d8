/* The built-in SQLite store (issue 9): schema creation and migration,
 * refusals (newer schema, another application's file, unwritable place,
 * lock held by another connection, garbage), every field kept exactly,
 * hand-edited rows, registrations surviving a restart, the push_store
 * option and the ownership rules of cloudnotify_ctx_set_sqlite_store.
 * Every database lives in a fresh temporary directory. */
#include "api-util.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir;

/* Every sync SQLite asks of the kernel, counted: libsqlite3 resolves
 * fsync and fdatasync to these, which then call the C library's. */
static unsigned syncs;

int fsync(int fd) {
  static int (*real)(int);
  if (!real)
    real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  syncs++;
  return real(fd);
}

int fdatasync(int fd) {
  static int (*real)(int);
  if (!real)
    real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  syncs++;
  return real(fd);
}

static int setup(void **state) {
  (void)state;
  tmpdir = g_dir_make_tmp("cn-sqlite-XXXXXX", NULL);
  assert_non_null(tmpdir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
  assert_int_equal(system(cmd), 0);
  g_free(cmd);
  g_free(tmpdir);
  tmpdir = NULL;
  return 0;
}

static char *db_path(const char *name) {
  return g_build_filename(tmpdir, name, NULL);
}

/* A plain connection of the test's own, as another process would have. */
static sqlite3 *raw_open(const char *path) {
  sqlite3 *db = NULL;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  return db;
}

static void raw_exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
    print_error("%s: %s\n", sql, err);
  assert_null(err);
}

static int64_t raw_int(sqlite3 *db, const char *sql) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static void write_file(const char *path, const void *data, size_t len) {
  assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
}

/* ---- records seen through foreach ------------------------------------ */

typedef struct seen {
  char *account, *jid, *node, *client_id;
  GBytes *form; /* NULL: none */
  int64_t enabled_at;
  unsigned errors;
} seen;

static void seen_free(gpointer p) {
  seen *r = p;
  g_free(r->account);
  g_free(r->jid);
  g_free(r->node);
  g_free(r->client_id);
  if (r->form)
    g_bytes_unref(r->form);
  g_free(r);
}

static int collect(void *data, const char *account, const cloudnotify_record *rec) {
  seen *r = g_new0(seen, 1);
  r->account = g_strdup(account);
  r->jid = g_strdup(rec->jid);
  r->node = g_strdup(rec->node);
  r->client_id = g_strdup(rec->client_id);
  if (rec->publish_options)
    r->form = g_bytes_new(rec->publish_options, rec->publish_options_len);
  r->enabled_at = rec->enabled_at_ms;
  r->errors = rec->errors;
  g_ptr_array_add(data, r);
  return 0;
}

static GPtrArray *all_rows(cloudnotify_sqlite *db, const char *account) {
  GPtrArray *a = g_ptr_array_new_with_free_func(seen_free);
  assert_int_equal(cloudnotify_sqlite_foreach(db, account, collect, a), 0);
  return a;
}

static GPtrArray *rows_of_file(const char *path) {
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(path, CLOUDNOTIFY_SQLITE_NO_CREATE, &db), 0);
  GPtrArray *a = all_rows(db, NULL);
  cloudnotify_sqlite_close(db);
  return a;
}

/* ---- open, schema ----------------------------------------------------- */

static void create_and_reopen(void **state) {
  (void)state;
  char *p = db_path("r.db");
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  assert_int_equal(cloudnotify_sqlite_schema_version(db), CLOUDNOTIFY_SQLITE_SCHEMA_VERSION);
  assert_string_equal(cloudnotify_sqlite_errmsg(db), "");
  cloudnotify_sqlite_close(db);
  assert_true(g_file_test(p, G_FILE_TEST_IS_REGULAR));

  /* What another program sees: WAL mode, our version and application id. */
  sqlite3 *raw = raw_open(p);
  assert_int_equal(raw_int(raw, "PRAGMA user_version"), CLOUDNOTIFY_SQLITE_SCHEMA_VERSION);
  assert_int_equal(raw_int(raw, "PRAGMA application_id"), 0x636e6f74);
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
  sqlite3_finalize(st);
  sqlite3_close(raw);

  for (unsigned flags = 0; flags < 4; flags++) {
    assert_int_equal(cloudnotify_sqlite_open(p, flags, &db), 0);
    assert_int_equal(cloudnotify_sqlite_schema_version(db), CLOUDNOTIFY_SQLITE_SCHEMA_VERSION);
    cloudnotify_sqlite_close(db);
  }
  g_free(p);
}

static void open_arguments(void **state) {
  (void)state;
  cloudnotify_sqlite *db = (cloudnotify_sqlite *)&db;
  char *p = db_path("a.db");
  assert_int_equal(cloudnotify_sqlite_open(NULL, 0, &db), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_null(db);
  assert_int_equal(cloudnotify_sqlite_open("", 0, &db), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_sqlite_open(p, 0, NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_sqlite_open(p, 1u << 7, &db), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_false(g_file_test(p, G_FILE_TEST_EXISTS));
  cloudnotify_sqlite_close(NULL);
  assert_string_equal(cloudnotify_sqlite_errmsg(NULL), "");
  assert_int_equal(cloudnotify_sqlite_schema_version(NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_sqlite_set_busy_timeout(NULL, 1), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  assert_int_equal(cloudnotify_sqlite_set_busy_timeout(db, -1), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_sqlite_foreach(db, NULL, NULL, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_sqlite_foreach(NULL, NULL, collect, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  cloudnotify_sqlite_close(db);
  for (int e = CLOUDNOTIFY_ERR_STORE_IO; e <= CLOUDNOTIFY_ERR_STORE_LOCKED; e++)
    assert_false(cloudnotify_is_usage_error(e));
  g_free(p);
}

static void migrate_from_v0(void **state) {
  (void)state;
  /* A zero-length file is an empty database at version 0. */
  char *p = db_path("empty.db");
  write_file(p, "", 0);
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, CLOUDNOTIFY_SQLITE_NO_CREATE, &db), 0);
  assert_int_equal(cloudnotify_sqlite_schema_version(db), 1);
  cloudnotify_sqlite_close(db);

  /* An SQLite file with a header but no table: version 0 too. */
  char *q = db_path("v0.db");
  sqlite3 *raw = raw_open(q);
  raw_exec(raw, "PRAGMA user_version = 0; VACUUM");
  sqlite3_close(raw);
  /* Read-only cannot migrate, so it refuses what it would have to. */
  assert_int_equal(cloudnotify_sqlite_open(q, CLOUDNOTIFY_SQLITE_READONLY, &db),
                   CLOUDNOTIFY_ERR_STORE_VERSION);
  assert_null(db);
  assert_int_equal(cloudnotify_sqlite_open(q, 0, &db), 0);
  assert_int_equal(cloudnotify_sqlite_schema_version(db), 1);
  GPtrArray *rows = all_rows(db, NULL);
  assert_int_equal(rows->len, 0);
  g_ptr_array_free(rows, TRUE);
  cloudnotify_sqlite_close(db);
  raw = raw_open(q);
  assert_int_equal(raw_int(raw, "PRAGMA user_version"), 1);
  assert_int_equal(raw_int(raw, "SELECT count(*) FROM registrations"), 0);
  sqlite3_close(raw);
  g_free(p);
  g_free(q);
}

static void refuse_newer_and_foreign(void **state) {
  (void)state;
  char *p = db_path("new.db");
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  cloudnotify_sqlite_close(db);
  sqlite3 *raw = raw_open(p);
  raw_exec(raw, "PRAGMA user_version = 2");
  sqlite3_close(raw);
  for (unsigned flags = 0; flags < 4; flags++) {
    db = (cloudnotify_sqlite *)&db;
    assert_int_equal(cloudnotify_sqlite_open(p, flags, &db), CLOUDNOTIFY_ERR_STORE_VERSION);
    assert_null(db);
  }
  /* Untouched: a newer library still finds its version. */
  raw = raw_open(p);
  assert_int_equal(raw_int(raw, "PRAGMA user_version"), 2);
  sqlite3_close(raw);

  /* Another application's database, with or without its own id. */
  char *q = db_path("other.db");
  raw = raw_open(q);
  raw_exec(raw, "CREATE TABLE prosody (host, user, store, key, type, value)");
  sqlite3_close(raw);
  assert_int_equal(cloudnotify_sqlite_open(q, 0, &db), CLOUDNOTIFY_ERR_STORE_VERSION);
  raw = raw_open(q);
  assert_int_equal(raw_int(raw, "SELECT count(*) FROM sqlite_master WHERE name = 'registrations'"),
                   0);
  raw_exec(raw, "DROP TABLE prosody; PRAGMA application_id = 1234");
  sqlite3_close(raw);
  assert_int_equal(cloudnotify_sqlite_open(q, 0, &db), CLOUDNOTIFY_ERR_STORE_VERSION);
  g_free(p);
  g_free(q);
}

static void unwritable_places(void **state) {
  (void)state;
  cloudnotify_sqlite *db = NULL;
  char *missing_dir = db_path("no/such/dir/x.db");
  assert_int_equal(cloudnotify_sqlite_open(missing_dir, 0, &db), CLOUDNOTIFY_ERR_STORE_IO);
  assert_null(db);
  /* A regular file where a directory should be: refused even for root. */
  char *file = db_path("plain");
  write_file(file, "x", 1);
  char *under_file = db_path("plain/x.db");
  assert_int_equal(cloudnotify_sqlite_open(under_file, 0, &db), CLOUDNOTIFY_ERR_STORE_IO);
  /* A directory is no database file. */
  assert_int_equal(cloudnotify_sqlite_open(tmpdir, 0, &db), CLOUDNOTIFY_ERR_STORE_IO);
  /* Flags that forbid creating it. */
  char *absent = db_path("absent.db");
  assert_int_equal(cloudnotify_sqlite_open(absent, CLOUDNOTIFY_SQLITE_NO_CREATE, &db),
                   CLOUDNOTIFY_ERR_STORE_IO);
  assert_int_equal(cloudnotify_sqlite_open(absent, CLOUDNOTIFY_SQLITE_READONLY, &db),
                   CLOUDNOTIFY_ERR_STORE_IO);
  assert_false(g_file_test(absent, G_FILE_TEST_EXISTS));
  /* Permissions only bind a process that is not root. */
  if (geteuid() != 0) {
    char *ro = db_path("ro");
    assert_int_equal(g_mkdir(ro, 0555), 0);
    char *in_ro = db_path("ro/x.db");
    assert_int_equal(cloudnotify_sqlite_open(in_ro, 0, &db), CLOUDNOTIFY_ERR_STORE_IO);
    assert_int_equal(chmod(ro, 0755), 0);
    g_free(ro);
    g_free(in_ro);
  }
  g_free(missing_dir);
  g_free(file);
  g_free(under_file);
  g_free(absent);
}

static void garbage_is_corrupt(void **state) {
  (void)state;
  char *p = db_path("garbage.db");
  char junk[8192];
  for (size_t i = 0; i < sizeof junk; i++)
    junk[i] = (char)(i * 7 + 13);
  write_file(p, junk, sizeof junk);
  for (unsigned flags = 0; flags < 4; flags++) {
    cloudnotify_sqlite *db = (cloudnotify_sqlite *)&flags;
    assert_int_equal(cloudnotify_sqlite_open(p, flags, &db), CLOUDNOTIFY_ERR_STORE_CORRUPT);
    assert_null(db);
  }
  /* Left as it was: refusing is not repairing. */
  gchar *after = NULL;
  gsize len = 0;
  assert_true(g_file_get_contents(p, &after, &len, NULL));
  assert_int_equal(len, sizeof junk);
  assert_memory_equal(after, junk, sizeof junk);
  g_free(after);
  g_free(p);
}

/* The header and schema are fine but the table's pages are not: opening
 * works, the load fails, and the client is told to wait. */
static void damaged_pages(void **state) {
  (void)state;
  char *p = db_path("damaged.db");
  sqlite3 *raw = raw_open(p);
  raw_exec(raw, "PRAGMA page_size = 4096");
  sqlite3_close(raw);
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  cloudnotify_sqlite_close(db);
  raw = raw_open(p);
  raw_exec(raw, "PRAGMA journal_mode = DELETE");
  raw_exec(raw, "INSERT INTO registrations VALUES ('" ALICE "', 'push.example', NULL, NULL, 1, 0, "
                "NULL)");
  int64_t root = raw_int(raw, "SELECT rootpage FROM sqlite_master WHERE name = 'registrations'");
  sqlite3_close(raw);
  assert_true(root > 1);
  int fd = open(p, O_WRONLY);
  assert_true(fd >= 0);
  char junk[4096];
  memset(junk, 0x5a, sizeof junk);
  assert_int_equal(pwrite(fd, junk, sizeof junk, (off_t)(root - 1) * 4096), (ssize_t)sizeof junk);
  close(fd);

  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  GPtrArray *a = g_ptr_array_new_with_free_func(seen_free);
  assert_int_equal(cloudnotify_sqlite_foreach(db, NULL, collect, a), CLOUDNOTIFY_ERR_STORE_CORRUPT);
  assert_true(strlen(cloudnotify_sqlite_errmsg(db)) > 0);
  g_ptr_array_free(a, TRUE);

  fake_host h;
  fh_init(&h);
  assert_int_equal(cloudnotify_ctx_set_sqlite_store(h.ctx, db), 0);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(fh_enable(s, PUSH_JID, "n", NULL), 0);
  au_assert_last_reply(&h, "wait/internal-server-error");
  assert_int_equal(cloudnotify_session_has_push(s), 0);
  fh_fini(&h);
  g_free(p);
}

/* "Durable when the call returns": every change is synced to disk before
 * the store call returns (synchronous=FULL in WAL mode; NORMAL would sync
 * only at checkpoints, which the second half shows). */
static void every_change_synced(void **state) {
  (void)state;
  char *p = db_path("sync.db");
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  const cloudnotify_store *st = cloudnotify_sqlite_store();
  cloudnotify_record r = { .jid = "push.example", .enabled_at_ms = 1 };
  unsigned before = syncs;
  assert_int_equal(st->save(db, ALICE, &r), 0);
  assert_true(syncs > before);
  before = syncs;
  assert_int_equal(st->set_errors(db, ALICE, "push.example", NULL, 2), 0);
  assert_true(syncs > before);
  before = syncs;
  assert_int_equal(st->remove(db, ALICE, "push.example", NULL), 0);
  assert_true(syncs > before);
  cloudnotify_sqlite_close(db);

  /* The counter tells the two apart: NORMAL commits without a sync. */
  sqlite3 *raw = raw_open(p);
  raw_exec(raw, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                "INSERT INTO registrations VALUES ('a@b.example', 'x.example', NULL, NULL, 1, 0,"
                " NULL)");
  before = syncs;
  raw_exec(raw, "INSERT INTO registrations VALUES ('a@b.example', 'y.example', NULL, NULL, 1, 0,"
                " NULL)");
  assert_int_equal(syncs, before);
  sqlite3_close(raw);
  g_free(p);
}

/* A save whose INSERT fails after its DELETE ran: the transaction is
 * rolled back whole, the old registration stays, and the handle goes on
 * working (no transaction left open). */
static void failed_save_rolls_back(void **state) {
  (void)state;
  char *p = db_path("rollback.db");
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  const cloudnotify_store *st = cloudnotify_sqlite_store();
  cloudnotify_record old = { .jid = "push.example", .node = "n", .enabled_at_ms = 1 };
  assert_int_equal(st->save(db, ALICE, &old), 0);
  sqlite3 *raw = raw_open(p);
  raw_exec(raw, "CREATE TRIGGER refuse BEFORE INSERT ON registrations WHEN NEW.enabled_at = 666"
                " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
  sqlite3_close(raw);
  cloudnotify_record repl = { .jid = "push.example", .node = "n", .enabled_at_ms = 666 };
  assert_int_equal(st->save(db, ALICE, &repl), CLOUDNOTIFY_ERR_STORE_IO);
  assert_true(g_strstr_len(cloudnotify_sqlite_errmsg(db), -1, "refused by the test") != NULL);
  GPtrArray *rows = all_rows(db, ALICE);
  assert_int_equal(rows->len, 1);
  assert_int_equal(((seen *)rows->pdata[0])->enabled_at, 1);
  g_ptr_array_free(rows, TRUE);
  repl.enabled_at_ms = 2;
  assert_int_equal(st->save(db, ALICE, &repl), 0);
  cloudnotify_sqlite_close(db);
  rows = rows_of_file(p);
  assert_int_equal(rows->len, 1);
  assert_int_equal(((seen *)rows->pdata[0])->enabled_at, 2);
  g_ptr_array_free(rows, TRUE);
  g_free(p);
}

/* ---- every field ------------------------------------------------------- */

static void every_field_round_trips(void **state) {
  (void)state;
  char *p = db_path("fields.db");
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  const cloudnotify_store *st = cloudnotify_sqlite_store();
  assert_non_null(st);
  assert_int_equal(st->size, sizeof(cloudnotify_store));
  assert_null(st->destroy);

  /* Bytes of the form kept exactly, a NUL and bytes above 0x7f included:
   * the store holds what it is given, judging it is the loader's job. */
  static const char form[] = "<x>\0\xff\xfe\x01 y</x>";
  cloudnotify_record a = { .jid = "push.example",
                           .node = NULL,
                           .publish_options = form,
                           .publish_options_len = sizeof form - 1,
                           .enabled_at_ms = INT64_MAX - 5,
                           .errors = 7,
                           .client_id = "urn:uuid:c-1" };
  cloudnotify_record b = { .jid = "push.example", .node = "", .enabled_at_ms = INT64_MIN + 3 };
  cloudnotify_record c = {
    .jid = "push.example", .node = "n\xc3\xa9", .enabled_at_ms = 0, .errors = UINT32_MAX
  };
  cloudnotify_record d = { .jid = "other.example", .node = "x", .enabled_at_ms = 5 };
  assert_int_equal(st->save(db, ALICE, &a), 0);
  assert_int_equal(st->save(db, ALICE, &b), 0);
  assert_int_equal(st->save(db, ALICE, &c), 0);
  assert_int_equal(st->save(db, "bob@example.org", &d), 0);
  /* Saving the same key again replaces: still one row. */
  assert_int_equal(st->save(db, ALICE, &a), 0);

  GPtrArray *rows = all_rows(db, NULL);
  assert_int_equal(rows->len, 4);
  /* By account, then enable time. */
  seen *r0 = rows->pdata[0], *r1 = rows->pdata[1], *r2 = rows->pdata[2], *r3 = rows->pdata[3];
  assert_string_equal(r0->account, "bob@example.org");
  assert_string_equal(r1->account, ALICE);
  assert_int_equal(r1->enabled_at, INT64_MIN + 3);
  assert_non_null(r1->node);
  assert_string_equal(r1->node, "");
  assert_null(r1->form);
  assert_null(r1->client_id);
  assert_int_equal(r2->enabled_at, 0);
  assert_string_equal(r2->node, "n\xc3\xa9");
  assert_int_equal(r2->errors, UINT32_MAX);
  assert_int_equal(r3->enabled_at, INT64_MAX - 5);
  assert_null(r3->node);
  assert_non_null(r3->form);
  gsize n = 0;
  const char *bytes = g_bytes_get_data(r3->form, &n);
  assert_int_equal(n, sizeof form - 1);
  assert_memory_equal(bytes, form, n);
  assert_int_equal(r3->errors, 7);
  assert_string_equal(r3->client_id, "urn:uuid:c-1");
  g_ptr_array_free(rows, TRUE);

  /* set_errors changes the count and nothing else, of that key only. */
  assert_int_equal(st->set_errors(db, ALICE, "push.example", NULL, 3), 0);
  assert_int_equal(st->set_errors(db, ALICE, "missing.example", NULL, 3), 0);
  rows = all_rows(db, ALICE);
  assert_int_equal(rows->len, 3);
  r1 = rows->pdata[0];
  r3 = rows->pdata[2];
  assert_int_equal(r1->errors, 0);
  assert_int_equal(r3->errors, 3);
  assert_int_equal(r3->enabled_at, INT64_MAX - 5);
  assert_string_equal(r3->client_id, "urn:uuid:c-1");
  bytes = g_bytes_get_data(r3->form, &n);
  assert_int_equal(n, sizeof form - 1);
  assert_memory_equal(bytes, form, n);
  g_ptr_array_free(rows, TRUE);

  /* NULL and "" are different keys for remove too. */
  assert_int_equal(st->remove(db, ALICE, "push.example", ""), 0);
  assert_int_equal(st->remove(db, ALICE, "push.example", "absent"), 0);
  rows = all_rows(db, ALICE);
  assert_int_equal(rows->len, 2);
  assert_string_equal(((seen *)rows->pdata[0])->node, "n\xc3\xa9");
  assert_null(((seen *)rows->pdata[1])->node);
  g_ptr_array_free(rows, TRUE);
  assert_int_equal(st->remove(db, ALICE, "push.example", NULL), 0);
  rows = all_rows(db, ALICE);
  assert_int_equal(rows->len, 1);
  g_ptr_array_free(rows, TRUE);
  cloudnotify_sqlite_close(db);

  /* And all of it is in the file. */
  rows = rows_of_file(p);
  assert_int_equal(rows->len, 2);
  g_ptr_array_free(rows, TRUE);
  g_free(p);
}

static int stop_at_second(void *data, const char *account, const cloudnotify_record *rec) {
  (void)account;
  (void)rec;
  return ++*(int *)data == 2 ? 42 : 0;
}

static int nested(void *data, const char *account, const cloudnotify_record *rec) {
  (void)account;
  cloudnotify_sqlite *db = data;
  /* Reading or writing the same database from here would disturb the
   * listing in progress. */
  assert_int_equal(cloudnotify_sqlite_foreach(db, NULL, collect, NULL), CLOUDNOTIFY_ERR_REENTRANT);
  assert_int_equal(cloudnotify_sqlite_store()->save(db, ALICE, rec), CLOUDNOTIFY_ERR_REENTRANT);
  return 0;
}

static void foreach_stops_and_nests(void **state) {
  (void)state;
  char *p = db_path("each.db");
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  const cloudnotify_store *st = cloudnotify_sqlite_store();
  for (int i = 0; i < 3; i++) {
    char jid[32];
    g_snprintf(jid, sizeof jid, "p%d.example", i);
    cloudnotify_record r = { .jid = jid, .enabled_at_ms = 10 - i };
    assert_int_equal(st->save(db, ALICE, &r), 0);
  }
  int calls = 0;
  assert_int_equal(cloudnotify_sqlite_foreach(db, NULL, stop_at_second, &calls), 42);
  assert_int_equal(calls, 2);
  GPtrArray *rows = all_rows(db, "nobody@example.org");
  assert_int_equal(rows->len, 0);
  g_ptr_array_free(rows, TRUE);
  rows = all_rows(db, ALICE);
  assert_int_equal(rows->len, 3);
  assert_string_equal(((seen *)rows->pdata[0])->jid, "p2.example");
  g_ptr_array_free(rows, TRUE);
  assert_int_equal(cloudnotify_sqlite_foreach(db, NULL, nested, db), 0);
  cloudnotify_sqlite_close(db);
  g_free(p);
}

/* ---- through the library ---------------------------------------------- */

typedef struct listing {
  GPtrArray *rows;
} listing;

static int list_cb(void *data, const char *account, const cloudnotify_record *rec) {
  return collect(data, account, rec);
}

static GPtrArray *listed(fake_host *h, const char *account, int want) {
  GPtrArray *a = g_ptr_array_new_with_free_func(seen_free);
  assert_int_equal(cloudnotify_account_registrations(h->ctx, account, list_cb, a), want);
  return a;
}

static void use_file(fake_host *h, const char *path) {
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(path, 0, &db), 0);
  assert_int_equal(cloudnotify_ctx_set_sqlite_store(h->ctx, db), 0);
}

static void survives_restart(void **state) {
  (void)state;
  char *p = db_path("restart.db");
  fake_host h;
  fh_init(&h);
  use_file(&h, p);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(cloudnotify_session_set_client_id(s, "urn:uuid:phone"), 0);
  au_enable_ok(&h, s, PUSH_JID, "n1", FORM_WITH_SECRET("s3cret"));
  h.now += 10;
  au_enable_device(&h, s, OTHER_PUSH_JID, NULL, NULL);
  /* One counted error, which set_errors writes. */
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 2);
  for (unsigned i = 0; fh_publish(&h, i); i++)
    if (!strcmp(fh_publish(&h, i)->to, PUSH_JID))
      assert_int_equal(fh_reply(&h, i, "cancel", NULL), 0);
  GPtrArray *before = listed(&h, ALICE, 2);
  fh_fini(&h);

  /* A new process, as far as the library can tell. */
  fh_init(&h);
  use_file(&h, p);
  GPtrArray *after = listed(&h, ALICE, 2);
  for (guint i = 0; i < 2; i++) {
    seen *x = before->pdata[i], *y = after->pdata[i];
    assert_string_equal(x->jid, y->jid);
    assert_string_equal(x->node ? x->node : "-", y->node ? y->node : "-");
    assert_int_equal(x->enabled_at, y->enabled_at);
    assert_int_equal(x->errors, y->errors);
    assert_string_equal(x->client_id, y->client_id);
    assert_true(x->form ? y->form && g_bytes_equal(x->form, y->form) : !y->form);
  }
  seen *with_node = ((seen *)after->pdata[0])->node ? after->pdata[0] : after->pdata[1];
  assert_string_equal(with_node->node, "n1");
  assert_int_equal(with_node->errors, 1);
  assert_string_equal(with_node->client_id, "urn:uuid:phone");
  assert_non_null(with_node->form);
  g_ptr_array_free(before, TRUE);
  g_ptr_array_free(after, TRUE);

  /* The restored registration pushes, and a disable is kept too. */
  s = au_session(&h, ALICE, ALICE_RES);
  fh_clear(&h);
  unsigned pushes = 0;
  char *msg = fh_message(ALICE, "m1", "hi");
  assert_int_equal(cloudnotify_message_offline(h.ctx, ALICE, msg, strlen(msg), &pushes), 0);
  g_free(msg);
  assert_int_equal(pushes, 2);
  assert_int_equal(fh_disable(s, PUSH_JID, "n1"), 0);
  au_assert_last_reply(&h, "result");
  fh_fini(&h);
  GPtrArray *rows = rows_of_file(p);
  assert_int_equal(rows->len, 1);
  assert_string_equal(((seen *)rows->pdata[0])->jid, OTHER_PUSH_JID);
  g_ptr_array_free(rows, TRUE);
  g_free(p);
}

/* Another connection holds the write lock: the enable is answered
 * wait/internal-server-error, nothing changes in memory, and once the
 * lock is gone the same enable works. */
static void locked_by_another_connection(void **state) {
  (void)state;
  char *p = db_path("locked.db");
  fake_host h;
  fh_init_ex(&h, FH_LOG2);
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  assert_int_equal(cloudnotify_sqlite_set_busy_timeout(db, 50), 0);
  assert_int_equal(cloudnotify_ctx_set_sqlite_store(h.ctx, db), 0);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, "old", NULL);

  sqlite3 *other = raw_open(p);
  raw_exec(other, "BEGIN EXCLUSIVE");
  assert_int_equal(fh_enable(s, PUSH_JID, "new", NULL), 0);
  au_assert_last_reply(&h, "wait/internal-server-error");
  assert_true(g_strstr_len(cloudnotify_sqlite_errmsg(db), -1, "lock") != NULL);
  uint64_t failures = 0;
  assert_int_equal(
      cloudnotify_ctx_get_counter(h.ctx, CLOUDNOTIFY_COUNTER_STORE_FAILURES, &failures), 0);
  assert_int_equal(failures, 1);
  /* Reading is not blocked in WAL mode: the listing is memory's. */
  GPtrArray *l = listed(&h, ALICE, 1);
  assert_string_equal(((seen *)l->pdata[0])->node, "old");
  g_ptr_array_free(l, TRUE);
  /* A disable is refused the same way and keeps the registration. */
  assert_int_equal(fh_disable(s, PUSH_JID, "old"), 0);
  au_assert_last_reply(&h, "wait/internal-server-error");
  assert_int_equal(cloudnotify_session_has_push(s), 1);

  raw_exec(other, "COMMIT");
  sqlite3_close(other);
  au_enable_device(&h, s, PUSH_JID, "new", NULL);
  l = listed(&h, ALICE, 2);
  g_ptr_array_free(l, TRUE);
  fh_fini(&h);
  g_free(p);
}

/* The vtable's own answers while another connection holds the write
 * lock (reading goes on in WAL mode), and an open while a connection in
 * exclusive locking mode keeps even readers out. */
static void locked_answers(void **state) {
  (void)state;
  char *p = db_path("excl.db");
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  assert_int_equal(cloudnotify_sqlite_set_busy_timeout(db, 0), 0);
  const cloudnotify_store *st = cloudnotify_sqlite_store();
  cloudnotify_record r = { .jid = "push.example" };
  assert_int_equal(st->save(db, ALICE, &r), 0);
  sqlite3 *other = raw_open(p);
  raw_exec(other, "BEGIN EXCLUSIVE");
  assert_int_equal(st->save(db, ALICE, &r), CLOUDNOTIFY_ERR_STORE_LOCKED);
  assert_int_equal(st->remove(db, ALICE, "push.example", NULL), CLOUDNOTIFY_ERR_STORE_LOCKED);
  assert_int_equal(st->set_errors(db, ALICE, "push.example", NULL, 1),
                   CLOUDNOTIFY_ERR_STORE_LOCKED);
  GPtrArray *rows = all_rows(db, NULL);
  assert_int_equal(rows->len, 1);
  g_ptr_array_free(rows, TRUE);
  raw_exec(other, "COMMIT");
  cloudnotify_sqlite_close(db);

  raw_exec(other, "PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE");
  cloudnotify_sqlite *db2 = (cloudnotify_sqlite *)&db2;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db2), CLOUDNOTIFY_ERR_STORE_LOCKED);
  assert_null(db2);
  raw_exec(other, "COMMIT");
  sqlite3_close(other);
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db2), 0);
  cloudnotify_sqlite_close(db2);
  g_free(p);
}

/* A read-only handle as the store: every write is refused with STORE_IO
 * and the client waits; nothing is cached. */
static void readonly_store(void **state) {
  (void)state;
  char *p = db_path("ro.db");
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  cloudnotify_record r = { .jid = "push.example", .node = "keep", .enabled_at_ms = 1 };
  assert_int_equal(cloudnotify_sqlite_store()->save(db, ALICE, &r), 0);
  cloudnotify_sqlite_close(db);
  assert_int_equal(cloudnotify_sqlite_open(p, CLOUDNOTIFY_SQLITE_READONLY, &db), 0);
  assert_int_equal(cloudnotify_sqlite_store()->save(db, ALICE, &r), CLOUDNOTIFY_ERR_STORE_IO);

  fake_host h;
  fh_init(&h);
  assert_int_equal(cloudnotify_ctx_set_sqlite_store(h.ctx, db), 0);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(fh_enable(s, PUSH_JID, "new", NULL), 0);
  au_assert_last_reply(&h, "wait/internal-server-error");
  assert_int_equal(cloudnotify_session_has_push(s), 0);
  GPtrArray *l = listed(&h, ALICE, 1);
  assert_string_equal(((seen *)l->pdata[0])->node, "keep");
  g_ptr_array_free(l, TRUE);
  assert_int_equal(fh_disable(s, PUSH_JID, "keep"), 0);
  au_assert_last_reply(&h, "wait/internal-server-error");
  fh_fini(&h);
  GPtrArray *rows = rows_of_file(p);
  assert_int_equal(rows->len, 1);
  g_ptr_array_free(rows, TRUE);
  g_free(p);
}

/* The operator's tool while the server runs: a second handle, read-only,
 * lists what the server's handle commits, each listing consistent. */
static void reader_beside_writer(void **state) {
  (void)state;
  char *p = db_path("shared.db");
  cloudnotify_sqlite *server = NULL, *tool = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &server), 0);
  const cloudnotify_store *st = cloudnotify_sqlite_store();
  cloudnotify_record r = { .jid = "a.example", .enabled_at_ms = 1 };
  assert_int_equal(st->save(server, ALICE, &r), 0);
  assert_int_equal(cloudnotify_sqlite_open(p, CLOUDNOTIFY_SQLITE_READONLY, &tool), 0);
  GPtrArray *rows = all_rows(tool, NULL);
  assert_int_equal(rows->len, 1);
  g_ptr_array_free(rows, TRUE);
  r.jid = "b.example";
  assert_int_equal(st->save(server, ALICE, &r), 0);
  rows = all_rows(tool, ALICE);
  assert_int_equal(rows->len, 2);
  g_ptr_array_free(rows, TRUE);
  assert_int_equal(st->save(tool, ALICE, &r), CLOUDNOTIFY_ERR_STORE_IO);
  /* A read-write second handle (the tool removing a registration). */
  cloudnotify_sqlite *tool_rw = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, CLOUDNOTIFY_SQLITE_NO_CREATE, &tool_rw), 0);
  assert_int_equal(st->remove(tool_rw, ALICE, "a.example", NULL), 0);
  cloudnotify_sqlite_close(tool_rw);
  rows = all_rows(server, ALICE);
  assert_int_equal(rows->len, 1);
  g_ptr_array_free(rows, TRUE);
  cloudnotify_sqlite_close(tool);
  cloudnotify_sqlite_close(server);
  g_free(p);
}

/* Rows a hand edit broke: each is skipped, counted and logged by the
 * loader; the good one is used; foreach skips them; nothing crashes. */
static void hand_edited_rows(void **state) {
  (void)state;
  char *p = db_path("edited.db");
  sqlite3 *raw = raw_open(p);
  /* The v1 table without its constraints, as an editor could leave it. */
  raw_exec(raw, "CREATE TABLE registrations (account, jid, node, publish_options, enabled_at,"
                " errors, client_id);"
                "PRAGMA user_version = 1; PRAGMA application_id = 1668181876");
  raw_exec(raw, "INSERT INTO registrations VALUES"
                " ('" ALICE "', 'good.example', NULL, NULL, 100, 0, NULL),"
                " ('" ALICE "', NULL, NULL, NULL, 1, 0, NULL),"
                " ('" ALICE "', 42, NULL, NULL, 2, 0, NULL),"
                " ('" ALICE "', 'a.example', x'6e', NULL, 3, 0, NULL),"
                " ('" ALICE "', 'b.example', NULL, 3.5, 4, 0, NULL),"
                " ('" ALICE "', 'c.example', NULL, NULL, 'yesterday', 0, NULL),"
                " ('" ALICE "', 'd.example', NULL, NULL, NULL, 0, NULL),"
                " ('" ALICE "', 'e.example', NULL, NULL, 6, -1, NULL),"
                " ('" ALICE "', 'f.example', NULL, NULL, 7, 4294967296, NULL),"
                " ('" ALICE "', 'g.example', NULL, NULL, 8, '3', NULL),"
                " ('" ALICE "', 'h.example', NULL, NULL, 9, 0, 'a' || char(0) || 'b'),"
                " ('" ALICE "', 'i.example', NULL, zeroblob(2000000), 10, 0, NULL),"
                " ('" ALICE "', 'j.example', NULL, NULL, 11, 0, 7),"
                " ('" ALICE "', 'k.example', NULL, '<not a form', 12, 0, NULL),"
                " ('" ALICE "', 'bad jid@@', NULL, NULL, 13, 0, NULL),"
                " (NULL, 'l.example', NULL, NULL, 14, 0, NULL)");
  sqlite3_close(raw);

  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  /* foreach hands on what forms a record: the good row, the one whose
   * form is not XML and the one with a bad JID (judging those is the
   * loader's work). */
  GPtrArray *rows = all_rows(db, NULL);
  assert_int_equal(rows->len, 3);
  g_ptr_array_free(rows, TRUE);

  fake_host h;
  fh_init(&h);
  assert_int_equal(cloudnotify_ctx_set_sqlite_store(h.ctx, db), 0);
  GPtrArray *l = listed(&h, ALICE, 1);
  assert_string_equal(((seen *)l->pdata[0])->jid, "good.example");
  g_ptr_array_free(l, TRUE);
  uint64_t rejected = 0;
  assert_int_equal(
      cloudnotify_ctx_get_counter(h.ctx, CLOUDNOTIFY_COUNTER_STORE_RECORDS_REJECTED, &rejected), 0);
  assert_int_equal(rejected, 14);
  /* The account still works: a new enable is stored next to them. */
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, NULL, NULL);
  fh_fini(&h);
  g_free(p);
}

static int count_rows(void *data, const char *account, const cloudnotify_record *rec) {
  (void)account;
  (void)rec;
  ++*(unsigned *)data;
  return 0;
}

/* Bytes damaged anywhere in a database with registrations: whatever
 * opening, listing and loading answer, they answer with this library's
 * codes and never crash (run under the sanitizers and valgrind). */
static void random_damage_never_crashes(void **state) {
  (void)state;
  char *good = db_path("good.db");
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(good, 0, &db), 0);
  for (int i = 0; i < 40; i++) {
    char jid[32], form[64];
    g_snprintf(jid, sizeof jid, "p%d.example", i);
    g_snprintf(form, sizeof form, "<x xmlns='jabber:x:data' type='submit'/>");
    cloudnotify_record r = { .jid = jid,
                             .node = i % 2 ? "n" : NULL,
                             .publish_options = form,
                             .publish_options_len = strlen(form),
                             .enabled_at_ms = i,
                             .client_id = "c" };
    assert_int_equal(cloudnotify_sqlite_store()->save(db, i % 3 ? ALICE : "bob@example.org", &r),
                     0);
  }
  cloudnotify_sqlite_close(db);
  gchar *bytes = NULL;
  gsize len = 0;
  assert_true(g_file_get_contents(good, &bytes, &len, NULL));
  assert_true(len >= 4096);

  char *bad = db_path("bad.db");
  GRand *r = g_rand_new_with_seed(9);
  unsigned opened = 0;
  for (int round = 0; round < 100; round++) {
    gchar *copy = g_memdup2(bytes, len);
    int flips = g_rand_int_range(r, 1, 16);
    for (int f = 0; f < flips; f++)
      copy[g_rand_int_range(r, 0, (gint32)len)] = (char)g_rand_int_range(r, 0, 256);
    write_file(bad, copy, len);
    g_free(copy);
    char *wal = g_strconcat(bad, "-wal", NULL), *shm = g_strconcat(bad, "-shm", NULL);
    g_unlink(wal);
    g_unlink(shm);
    g_free(wal);
    g_free(shm);
    db = NULL;
    int rc = cloudnotify_sqlite_open(bad, 0, &db);
    assert_true(rc == 0 || rc == CLOUDNOTIFY_ERR_STORE_CORRUPT ||
                rc == CLOUDNOTIFY_ERR_STORE_VERSION || rc == CLOUDNOTIFY_ERR_STORE_IO);
    if (rc)
      continue;
    opened++;
    unsigned n = 0;
    rc = cloudnotify_sqlite_foreach(db, NULL, count_rows, &n);
    assert_true(rc == 0 || rc == CLOUDNOTIFY_ERR_STORE_CORRUPT || rc == CLOUDNOTIFY_ERR_STORE_IO);
    fake_host h;
    fh_init(&h);
    assert_int_equal(cloudnotify_ctx_set_sqlite_store(h.ctx, db), 0);
    GPtrArray *a = g_ptr_array_new_with_free_func(seen_free);
    rc = cloudnotify_account_registrations(h.ctx, ALICE, list_cb, a);
    assert_true(rc >= 0 || rc == CLOUDNOTIFY_ERR_STORE);
    g_ptr_array_free(a, TRUE);
    cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
    assert_int_equal(fh_enable(s, PUSH_JID, "new", NULL), 0);
    fh_fini(&h);
  }
  /* Most damage lands in pages that opening never reads. */
  assert_true(opened > 0);
  g_rand_free(r);
  g_free(bytes);
  g_free(good);
  g_free(bad);
}

/* ---- ownership and the option ----------------------------------------- */

static void ownership(void **state) {
  (void)state;
  char *p = db_path("own.db");
  fake_host h;
  fh_init(&h);
  cloudnotify_sqlite *db = NULL;
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  assert_int_equal(cloudnotify_ctx_set_sqlite_store(NULL, db), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_ctx_set_sqlite_store(h.ctx, NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  /* Refused with a session alive: the caller still owns db and closes
   * it (the sanitizers and valgrind see a double close or a leak). */
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(cloudnotify_ctx_set_sqlite_store(h.ctx, db), CLOUDNOTIFY_ERR_STATE);
  cloudnotify_session_free(s);
  assert_int_equal(cloudnotify_ctx_set_sqlite_store(h.ctx, db), 0);
  /* Replacing the store closes the owned one. */
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, NULL, NULL), 0);
  /* The borrowed form: the context never closes it. */
  assert_int_equal(cloudnotify_sqlite_open(p, 0, &db), 0);
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, cloudnotify_sqlite_store(), db), 0);
  s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, NULL, NULL);
  fh_fini(&h);
  GPtrArray *rows = all_rows(db, ALICE);
  assert_int_equal(rows->len, 1);
  g_ptr_array_free(rows, TRUE);
  cloudnotify_sqlite_close(db);
  g_free(p);
}

static void push_store_option(void **state) {
  (void)state;
  char *p = db_path("opt.db");
  char *value = g_strconcat("sqlite:", p, NULL);
  fake_host h;
  fh_init(&h);
  assert_int_equal(cloudnotify_ctx_set_option(h.ctx, "push_store", value), 0);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, NULL, NULL);
  /* Not while sessions exist, and then no file is even created. */
  char *q = db_path("never.db");
  char *qvalue = g_strconcat("sqlite:", q, NULL);
  assert_int_equal(cloudnotify_ctx_set_option(h.ctx, "push_store", qvalue), CLOUDNOTIFY_ERR_STATE);
  assert_int_equal(cloudnotify_ctx_set_option(h.ctx, "push_store", "memory"),
                   CLOUDNOTIFY_ERR_STATE);
  assert_false(g_file_test(q, G_FILE_TEST_EXISTS));
  fh_fini(&h);

  fh_init(&h);
  assert_int_equal(cloudnotify_ctx_set_option_string(h.ctx, CLOUDNOTIFY_OPT_STORE, value), 0);
  GPtrArray *l = listed(&h, ALICE, 1);
  g_ptr_array_free(l, TRUE);
  /* Values that name no store, and stores that cannot be opened; the
   * store in use stays. */
  static const char *const bad[] = { "",           "sqlite:", "sqlite", "SQLITE:/x",
                                     "postgres:x", "memory ", "file:/x" };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    assert_int_equal(cloudnotify_ctx_set_option(h.ctx, "push_store", bad[i]),
                     CLOUDNOTIFY_ERR_OPTION_VALUE);
  assert_int_equal(cloudnotify_ctx_set_option_int(h.ctx, CLOUDNOTIFY_OPT_STORE, 0),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  char *nodir = g_strconcat("sqlite:", tmpdir, "/no/such/x.db", NULL);
  assert_int_equal(cloudnotify_ctx_set_option(h.ctx, "push_store", nodir),
                   CLOUDNOTIFY_ERR_STORE_IO);
  char *g = db_path("garbage.db");
  write_file(g, "this is not a database, not at all, not even close.........", 60);
  char *gvalue = g_strconcat("sqlite:", g, NULL);
  assert_int_equal(cloudnotify_ctx_set_option(h.ctx, "push_store", gvalue),
                   CLOUDNOTIFY_ERR_STORE_CORRUPT);
  l = listed(&h, ALICE, 1);
  g_ptr_array_free(l, TRUE);
  /* Back to memory: the registration is not there. */
  assert_int_equal(cloudnotify_ctx_set_option(h.ctx, "push_store", "memory"), 0);
  l = listed(&h, ALICE, 0);
  g_ptr_array_free(l, TRUE);
  fh_fini(&h);
  g_free(p);
  g_free(q);
  g_free(value);
  g_free(qvalue);
  g_free(nodir);
  g_free(g);
  g_free(gvalue);
}

static void strerror_texts(void **state) {
  (void)state;
  assert_string_equal(cloudnotify_strerror(CLOUDNOTIFY_ERR_STORE_LOCKED),
                      "database locked by another connection");
  assert_string_equal(cloudnotify_strerror(CLOUDNOTIFY_ERR_STORE_CORRUPT),
                      "database file is corrupt or not a database");
  assert_string_equal(cloudnotify_strerror(CLOUDNOTIFY_ERR_STORE_VERSION),
                      "database schema unknown to this library version");
  assert_string_equal(cloudnotify_strerror(CLOUDNOTIFY_ERR_STORE_IO),
                      "database cannot be opened or written");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(create_and_reopen, setup, teardown),
    cmocka_unit_test_setup_teardown(open_arguments, setup, teardown),
    cmocka_unit_test_setup_teardown(migrate_from_v0, setup, teardown),
    cmocka_unit_test_setup_teardown(refuse_newer_and_foreign, setup, teardown),
    cmocka_unit_test_setup_teardown(unwritable_places, setup, teardown),
    cmocka_unit_test_setup_teardown(garbage_is_corrupt, setup, teardown),
    cmocka_unit_test_setup_teardown(damaged_pages, setup, teardown),
    cmocka_unit_test_setup_teardown(random_damage_never_crashes, setup, teardown),
    cmocka_unit_test_setup_teardown(every_change_synced, setup, teardown),
    cmocka_unit_test_setup_teardown(failed_save_rolls_back, setup, teardown),
    cmocka_unit_test_setup_teardown(every_field_round_trips, setup, teardown),
    cmocka_unit_test_setup_teardown(foreach_stops_and_nests, setup, teardown),
    cmocka_unit_test_setup_teardown(survives_restart, setup, teardown),
    cmocka_unit_test_setup_teardown(locked_by_another_connection, setup, teardown),
    cmocka_unit_test_setup_teardown(locked_answers, setup, teardown),
    cmocka_unit_test_setup_teardown(readonly_store, setup, teardown),
    cmocka_unit_test_setup_teardown(reader_beside_writer, setup, teardown),
    cmocka_unit_test_setup_teardown(hand_edited_rows, setup, teardown),
    cmocka_unit_test_setup_teardown(ownership, setup, teardown),
    cmocka_unit_test_setup_teardown(push_store_option, setup, teardown),
    cmocka_unit_test(strerror_texts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
