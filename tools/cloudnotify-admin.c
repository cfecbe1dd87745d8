/* cloudnotify-admin: the operators' tool over a libcloudnotify SQLite
 * database or a libcloudnotify-pg PostgreSQL schema
 * (docs/cloudnotify-admin.md).  It uses only the libraries' public API:
 * on SQLite the store vtable for writes and cloudnotify_sqlite_foreach
 * for reads, on PostgreSQL the store's blocking calls for tools, so it
 * sees and changes exactly what a server would. */
#include <errno.h>
#include <glib.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "admin-json.h"
#include "admin-prosody.h"
#include "cloudnotify/cloudnotify.h"
#ifdef CN_ADMIN_PG
#include "cloudnotify/cloudnotify-pg.h"
#endif

/* Exit codes (documented in --help, the man page and
 * docs/cloudnotify-admin.md). */
enum {
  EX_DONE = 0,
  EX_NOT_FOUND = 1,
  EX_USAGE = 2,
  EX_DB_MISSING = 3,
  EX_DB_LOCKED = 4,
  EX_DB_UNUSABLE = 5,
  EX_IO = 6,
  EX_INPUT = 7,
  EX_APP_ERROR = 8,
  EX_NO_ANSWER = 9,
};

/* Most input errors listed before giving up on a file. */
#define MAX_REPORTED 20

static const char usage_text[] =
    "Usage: cloudnotify-admin --db PATH [--busy-timeout MS] COMMAND [ARGUMENTS]\n"
    "       cloudnotify-admin --pg CONNINFO [--pg-schema NAME] COMMAND [ARGUMENTS]\n"
    "\n"
    "Administer the push registrations (XEP-0357) that libcloudnotify keeps in a\n"
    "SQLite database, or libcloudnotify-pg in PostgreSQL.  Safe while servers use\n"
    "the same database.\n"
    "\n"
    "Commands:\n"
    "  list ACCOUNT             the account's registrations: push service, node,\n"
    "                           enable time (UTC), client, consecutive errors\n"
    "  remove ACCOUNT JID [NODE]\n"
    "                           remove one registration (without NODE: the one\n"
    "                           registered without a node)\n"
    "  remove-account ACCOUNT   remove every registration of the account\n"
    "  export [FILE]            every registration as JSON lines (FILE or stdout)\n"
    "  import [FILE]            registrations from JSON lines (FILE or stdin); the\n"
    "                           whole input is checked before anything is written\n"
    "  import-prosody DATA_DIR [HOST]\n"
    "                           what Prosody's mod_cloud_notify stored in its data\n"
    "                           directory (DATA_DIR/HOST/cloud_notify/USER.dat)\n"
    "  stats                    accounts, registrations, registrations per service\n"
    "  explain ACCOUNT [--component HOST:PORT --component-jid JID --secret S\n"
    "          [--service JID [--node NODE]] [--timeout SECONDS]]\n"
    "                           the account's registrations with their error\n"
    "                           count, enable time, client and Tigase extensions;\n"
    "                           with --component, sends a test push through the\n"
    "                           server as an XEP-0114 component and prints what\n"
    "                           the app server answered (exit 8 when it answered\n"
    "                           an error, 9 when no answer came in time)\n"
    "\n"
    "Options:\n"
    "  --db PATH                the SQLite database (import and import-prosody\n"
    "                           create it)\n"
    "  --pg CONNINFO            the PostgreSQL database instead, as a libpq\n"
    "                           connection string or URI (import and\n"
    "                           import-prosody create the schema's tables)\n"
    "  --pg-schema NAME         the schema the servers use (default public)\n"
    "  --busy-timeout MS        SQLite: wait this long for a server's write lock\n"
    "                           (default 5000)\n"
    "  --help                   this text\n"
    "  --version                the tool's and the library's version\n"
    "\n"
    "A running server keeps the registrations of accounts it has in memory: after\n"
    "remove or import on SQLite, restart it or have it forget the account\n"
    "(cloudnotify_account_forget) for the change to take effect there.  On\n"
    "PostgreSQL the servers are told, and read the account again.\n"
    "\n"
    "Exit status:\n"
    "  0  done\n"
    "  1  nothing to remove: no such registration or account\n"
    "  2  usage error\n"
    "  3  the database (PostgreSQL: the schema's tables) does not exist\n"
    "  4  the database stayed locked by another process beyond the busy timeout\n"
    "  5  the database is damaged, of a newer version, or not a libcloudnotify one\n"
    "  6  input/output error (database or file unreadable or unwritable; the\n"
    "     PostgreSQL server cannot be reached or refused a statement)\n"
    "  7  invalid input (JSON lines or Prosody files); nothing was imported\n"
    "  8  explain: the app server answered the test push with an error\n"
    "  9  explain: no answer to the test push in time, or the component\n"
    "     connection failed\n";

static const char *prog = "cloudnotify-admin";
static const char *db_path;
static const char *pg_conninfo, *pg_schema;

/* The store the commands work on: one of the two. */
typedef struct adm_db {
  cloudnotify_sqlite *sqlite;
#ifdef CN_ADMIN_PG
  cloudnotify_pg *pg;
#endif
} adm_db;

static int usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry '%s --help'.\n", prog);
  return EX_USAGE;
}

/* A library error on the database as a message and an exit code. */
static int sqlite_error(cloudnotify_sqlite *db, int rc, const char *doing) {
  const char *detail = db ? cloudnotify_sqlite_errmsg(db) : "";
  int ex = EX_IO;
  const char *what;
  switch (rc) {
  case CLOUDNOTIFY_ERR_STORE_LOCKED:
    what = "is locked by another process (a server writing?) beyond the busy timeout; retry, or "
           "raise --busy-timeout";
    ex = EX_DB_LOCKED;
    break;
  case CLOUDNOTIFY_ERR_STORE_CORRUPT:
    what = "is damaged or not an SQLite database";
    ex = EX_DB_UNUSABLE;
    break;
  case CLOUDNOTIFY_ERR_STORE_VERSION:
    what = "has a schema this version cannot use (newer, or not a libcloudnotify database)";
    ex = EX_DB_UNUSABLE;
    break;
  case CLOUDNOTIFY_ERR_STORE_IO: what = "cannot be read or written"; break;
  default: what = cloudnotify_strerror(rc);
  }
  fprintf(stderr, "%s: %s: database %s %s%s%s\n", prog, doing, db_path, what, *detail ? ": " : "",
          detail);
  return ex;
}

/* Open the database: created only by the importers; read only for the
 * commands that only read, so that they need no write lock (a server may
 * hold it) unless the schema is older and must be migrated first. */
static int open_db(gboolean create, gboolean read_only, int busy_ms, cloudnotify_sqlite **db) {
  struct stat st;
  if (!create && g_stat(db_path, &st) != 0 && errno == ENOENT) {
    fprintf(stderr, "%s: database %s does not exist\n", prog, db_path);
    return EX_DB_MISSING;
  }
  int rc = CLOUDNOTIFY_ERR_STORE_VERSION;
  if (read_only)
    rc = cloudnotify_sqlite_open(db_path, CLOUDNOTIFY_SQLITE_READONLY, db);
  if (rc == CLOUDNOTIFY_ERR_STORE_VERSION)
    rc = cloudnotify_sqlite_open(db_path, create ? 0 : CLOUDNOTIFY_SQLITE_NO_CREATE, db);
  if (rc)
    return sqlite_error(NULL, rc, "opening");
  if (busy_ms >= 0)
    cloudnotify_sqlite_set_busy_timeout(*db, busy_ms);
  return EX_DONE;
}

#ifdef CN_ADMIN_PG
/* libpq's reason for a connection string it cannot parse comes only
 * through the log. */
static char *pg_log_error;

static void pg_log(void *data, cloudnotify_log_level level, const char *message) {
  if (level != CLOUDNOTIFY_LOG_ERROR)
    return;
  g_free(pg_log_error);
  pg_log_error = g_strdup(message);
}

static int pg_error(cloudnotify_pg *pg, int rc, const char *doing) {
  const char *detail = "";
  if (pg)
    cloudnotify_pg_last_error(pg, &detail);
  int ex = EX_IO;
  const char *what;
  switch (rc) {
  case CLOUDNOTIFY_ERR_PG_UNAVAILABLE:
    what = "cannot be reached (server down, or a wrong --pg)";
    break;
  case CLOUDNOTIFY_ERR_PG_SCHEMA:
    /* The library's documented wording for a missing schema under
     * CLOUDNOTIFY_PG_NO_CREATE. */
    if (strstr(detail, "does not exist")) {
      what = "does not exist (no libcloudnotify-pg tables there; import creates them)";
      ex = EX_DB_MISSING;
    } else {
      what = "cannot be used (made by a newer version, or it could not be set up)";
      ex = EX_DB_UNUSABLE;
    }
    break;
  case CLOUDNOTIFY_ERR_PG_QUERY: what = "refused a statement"; break;
  default: what = cloudnotify_strerror(rc);
  }
  /* libpq's messages run over several lines: one line per failure. */
  char *flat = g_strdup(detail);
  for (char *p = flat; *p; p++)
    if (*p == '\n' || *p == '\t')
      *p = ' ';
  fprintf(stderr, "%s: %s: PostgreSQL schema %s %s%s%s\n", prog, doing,
          pg_schema ? pg_schema : "public", what, *flat ? ": " : "", g_strstrip(flat));
  g_free(flat);
  return ex;
}

/* Connect and check (or, for the importers, create) the schema. */
static int open_pg(gboolean create, cloudnotify_pg **pg) {
  cloudnotify_pg_options o = {
    .size = sizeof o,
    /* Imports keep every registration, as on SQLite: the servers trim
     * an account to their limit when they load it. */
    .max_devices = 1000,
    .schema = pg_schema,
    .flags = create ? 0 : CLOUDNOTIFY_PG_NO_CREATE,
    .log = pg_log,
  };
  int rc = cloudnotify_pg_new(pg, pg_conninfo, &o);
  if (rc == CLOUDNOTIFY_ERR_PG_CONNINFO) {
    fprintf(stderr, "%s: --pg: not a libpq connection string: %s\n", prog,
            pg_log_error ? pg_log_error : "");
    return EX_USAGE;
  }
  if (rc == CLOUDNOTIFY_ERR_INVALID_ARGUMENT) {
    fprintf(stderr, "%s: --pg-schema: a schema name is [a-z_][a-z0-9_]*, at most %d bytes\n", prog,
            CLOUDNOTIFY_PG_SCHEMA_MAX);
    return EX_USAGE;
  }
  if (!rc)
    rc = cloudnotify_pg_wait_idle(*pg, -1);
  return rc ? pg_error(*pg, rc, "opening") : EX_DONE;
}
#endif

static int db_error(adm_db *db, int rc, const char *doing) {
#ifdef CN_ADMIN_PG
  if (db->pg)
    return pg_error(db->pg, rc, doing);
#endif
  return sqlite_error(db->sqlite, rc, doing);
}

static int db_open(gboolean create, gboolean read_only, int busy_ms, adm_db *db) {
#ifdef CN_ADMIN_PG
  if (pg_conninfo)
    return open_pg(create, &db->pg);
#endif
  return open_db(create, read_only, busy_ms, &db->sqlite);
}

static void db_close(adm_db *db) {
#ifdef CN_ADMIN_PG
  cloudnotify_pg_free(db->pg);
  g_free(g_steal_pointer(&pg_log_error));
#endif
  cloudnotify_sqlite_close(db->sqlite);
}

static int db_foreach(adm_db *db, const char *account, cloudnotify_record_cb cb, void *data) {
#ifdef CN_ADMIN_PG
  if (db->pg)
    return cloudnotify_pg_foreach(db->pg, account, cb, data);
#endif
  return cloudnotify_sqlite_foreach(db->sqlite, account, cb, data);
}

static int db_remove(adm_db *db, const char *account, const char *jid, const char *node) {
#ifdef CN_ADMIN_PG
  if (db->pg) {
    int rc = cloudnotify_pg_remove_record(db->pg, account, jid, node);
    return rc < 0 ? rc : 0;
  }
#endif
  return cloudnotify_sqlite_store()->remove(db->sqlite, account, jid, node);
}

static int db_save(adm_db *db, const char *account, const cloudnotify_record *r) {
#ifdef CN_ADMIN_PG
  if (db->pg)
    return cloudnotify_pg_save_record(db->pg, account, r);
#endif
  return cloudnotify_sqlite_store()->save(db->sqlite, account, r);
}

/* ---- list ------------------------------------------------------------------ */

static int list_row(void *data, const char *account, const cloudnotify_record *r) {
  unsigned *n = data;
  char when[32] = "-";
  time_t secs = (time_t)(r->enabled_at_ms / 1000);
  struct tm tm;
  if (r->enabled_at_ms >= 0 && gmtime_r(&secs, &tm))
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!*n)
    printf("%-30s %-24s %-20s %-24s %s\n", "SERVICE", "NODE", "ENABLED", "CLIENT", "ERRORS");
  printf("%-30s %-24s %-20s %-24s %u\n", r->jid, r->node ? r->node : "-", when,
         r->client_id && *r->client_id ? r->client_id : "-", r->errors);
  (*n)++;
  return 0;
}

static int cmd_list(adm_db *db, const char *account) {
  unsigned n = 0;
  int rc = db_foreach(db, account, list_row, &n);
  if (rc)
    return db_error(db, rc, "listing");
  if (!n)
    printf("%s has no registration\n", account);
  return EX_DONE;
}

/* ---- remove ---------------------------------------------------------------- */

typedef struct key_list {
  GPtrArray *jids, *nodes; /* node NULL kept as NULL */
  const char *jid, *node;  /* a filter, for remove */
  gboolean any_node;
} key_list;

static int collect_key(void *data, const char *account, const cloudnotify_record *r) {
  key_list *k = data;
  if (k->jid && (strcmp(r->jid, k->jid) || g_strcmp0(r->node, k->node)))
    return 0;
  g_ptr_array_add(k->jids, g_strdup(r->jid));
  g_ptr_array_add(k->nodes, g_strdup(r->node));
  return 0;
}

static int remove_keys(adm_db *db, const char *account, const char *jid, const char *node,
                       unsigned *removed) {
  key_list k = { g_ptr_array_new_with_free_func(g_free), g_ptr_array_new_with_free_func(g_free),
                 jid, node, FALSE };
  int ex = EX_DONE;
  int rc = db_foreach(db, account, collect_key, &k);
  if (rc)
    ex = db_error(db, rc, "reading");
  for (guint i = 0; !ex && i < k.jids->len; i++) {
    rc = db_remove(db, account, k.jids->pdata[i], k.nodes->pdata[i]);
    if (rc)
      ex = db_error(db, rc, "removing");
    else
      (*removed)++;
  }
  g_ptr_array_free(k.jids, TRUE);
  g_ptr_array_free(k.nodes, TRUE);
  return ex;
}

static int cmd_remove(adm_db *db, const char *account, const char *jid, const char *node) {
  unsigned removed = 0;
  int ex = remove_keys(db, account, jid, node, &removed);
  if (ex)
    return ex;
  if (!removed) {
    fprintf(stderr, "%s: %s has no registration with %s%s%s\n", prog, account, jid,
            node ? " node " : " without node", node ? node : "");
    return EX_NOT_FOUND;
  }
  printf("removed %s%s%s of %s\n", jid, node ? " node " : "", node ? node : "", account);
  return EX_DONE;
}

static int cmd_remove_account(adm_db *db, const char *account) {
  unsigned removed = 0;
  int ex = remove_keys(db, account, NULL, NULL, &removed);
  if (!ex && !removed) {
    fprintf(stderr, "%s: %s has no registration\n", prog, account);
    return EX_NOT_FOUND;
  }
  if (removed)
    printf("removed %u registration%s of %s\n", removed, removed == 1 ? "" : "s", account);
  return ex;
}

/* ---- export ---------------------------------------------------------------- */

typedef struct exporter {
  FILE *out;
  GString *line;
  unsigned written, skipped;
  gboolean write_failed;
} exporter;

static int export_row(void *data, const char *account, const cloudnotify_record *r) {
  exporter *e = data;
  const char *bad = NULL;
  g_string_truncate(e->line, 0);
  if (adm_json_write(e->line, account, r, &bad)) {
    fprintf(stderr, "%s: skipping a registration of %s: its %s is not UTF-8 (edited by hand?)\n",
            prog, account, bad);
    e->skipped++;
    return 0;
  }
  if (fwrite(e->line->str, 1, e->line->len, e->out) != e->line->len) {
    e->write_failed = TRUE;
    return 1;
  }
  e->written++;
  return 0;
}

static int cmd_export(adm_db *db, const char *file) {
  exporter e = { stdout, g_string_new(NULL), 0, 0, FALSE };
  if (file && strcmp(file, "-")) {
    e.out = fopen(file, "w");
    if (!e.out) {
      fprintf(stderr, "%s: cannot write %s: %s\n", prog, file, g_strerror(errno));
      g_string_free(e.line, TRUE);
      return EX_IO;
    }
  }
  int rc = db_foreach(db, NULL, export_row, &e);
  int ex = EX_DONE;
  if (rc < 0)
    ex = db_error(db, rc, "exporting");
  if (fflush(e.out) || e.write_failed || (e.out != stdout && fclose(e.out))) {
    fprintf(stderr, "%s: writing %s failed: %s\n", prog, file ? file : "standard output",
            g_strerror(errno));
    ex = ex ? ex : EX_IO;
  }
  g_string_free(e.line, TRUE);
  fprintf(stderr, "exported %u registration%s\n", e.written, e.written == 1 ? "" : "s");
  if (!ex && e.skipped) {
    fprintf(stderr, "%s: %u registration%s not exported\n", prog, e.skipped,
            e.skipped == 1 ? "" : "s");
    ex = EX_INPUT;
  }
  return ex;
}

/* ---- import ---------------------------------------------------------------- */

/* Write regs (all checked already). */
static int save_all(adm_db *db, GPtrArray *regs) {
  for (guint i = 0; i < regs->len; i++) {
    const adm_reg *r = regs->pdata[i];
    cloudnotify_record rec = adm_reg_record(r);
    int rc = db_save(db, r->account, &rec);
    if (rc) {
      int ex = db_error(db, rc, "importing");
      fprintf(stderr,
              "%s: %u of %u registrations were imported before the failure; importing "
              "again is safe (a registration replaces its own)\n",
              prog, i, regs->len);
      return ex;
    }
  }
  printf("imported %u registration%s\n", regs->len, regs->len == 1 ? "" : "s");
  return EX_DONE;
}

/* Read JSON lines from file into regs; EX_INPUT after reporting each bad
 * line (up to MAX_REPORTED). */
static int read_jsonl(const char *file, GPtrArray *regs) {
  FILE *in = stdin;
  const char *name = file && strcmp(file, "-") ? file : "<stdin>";
  if (file && strcmp(file, "-")) {
    in = fopen(file, "r");
    if (!in) {
      fprintf(stderr, "%s: cannot read %s: %s\n", prog, file, g_strerror(errno));
      return EX_IO;
    }
  }
  char *buf = NULL;
  size_t cap = 0;
  ssize_t got;
  unsigned errors = 0;
  int line = 0;
  while ((got = getline(&buf, &cap, in)) >= 0) {
    line++;
    size_t len = (size_t)got;
    if (len && buf[len - 1] == '\n')
      len--;
    gboolean blank = TRUE;
    for (size_t i = 0; i < len && blank; i++)
      blank = buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r';
    if (blank)
      continue;
    char *err = NULL;
    adm_reg *r = g_new0(adm_reg, 1);
    if (len > ADM_JSON_MAX_LINE)
      err = g_strdup_printf("line longer than %u bytes", ADM_JSON_MAX_LINE);
    else
      adm_json_parse(buf, len, r, &err);
    if (err) {
      if (errors++ < MAX_REPORTED)
        fprintf(stderr, "%s:%d: %s\n", name, line, err);
      g_free(err);
      adm_reg_free(r);
      continue;
    }
    r->line = line;
    g_ptr_array_add(regs, r);
  }
  int read_error = ferror(in);
  free(buf);
  if (in != stdin)
    fclose(in);
  if (read_error) {
    fprintf(stderr, "%s: reading %s failed\n", prog, name);
    return EX_IO;
  }
  if (errors) {
    fprintf(stderr, "%s: %u invalid line%s in %s; nothing imported\n", prog, errors,
            errors == 1 ? "" : "s", name);
    return EX_INPUT;
  }
  return EX_DONE;
}

static int cmd_import(const char *file, int busy_ms) {
  GPtrArray *regs = g_ptr_array_new_with_free_func(adm_reg_free);
  int ex = read_jsonl(file, regs);
  adm_db db = { 0 };
  if (!ex)
    ex = db_open(TRUE, FALSE, busy_ms, &db);
  if (!ex)
    ex = save_all(&db, regs);
  db_close(&db);
  g_ptr_array_free(regs, TRUE);
  return ex;
}

/* One mod_cloud_notify file: DIR/HOST/cloud_notify/USER.dat. */
static int read_prosody_file(const char *path, const char *host_enc, const char *file_name,
                             GPtrArray *regs, unsigned *errors) {
  size_t n = strlen(file_name);
  char *user_enc = g_strndup(file_name, n - 4);
  char *user = adm_prosody_decode_name(user_enc), *host = adm_prosody_decode_name(host_enc);
  char *text = NULL, *err = NULL;
  gsize len = 0;
  GError *gerr = NULL;
  int ex = EX_DONE;
  if (!user || !host || !*user || !*host) {
    if ((*errors)++ < MAX_REPORTED)
      fprintf(stderr, "%s: not a Prosody user or host name\n", path);
  } else if (!g_file_get_contents(path, &text, &len, &gerr)) {
    fprintf(stderr, "%s: cannot read %s: %s\n", prog, path, gerr->message);
    g_error_free(gerr);
    ex = EX_IO;
  } else {
    char *account = g_strdup_printf("%s@%s", user, host);
    if (adm_prosody_parse(text, len, account, regs, &err)) {
      if ((*errors)++ < MAX_REPORTED)
        fprintf(stderr, "%s:%s\n", path, err + strlen("line "));
      g_free(err);
    }
    g_free(account);
  }
  g_free(text);
  g_free(user);
  g_free(host);
  g_free(user_enc);
  return ex;
}

static int cmd_import_prosody(const char *dir, const char *only_host, int busy_ms) {
  GError *gerr = NULL;
  GDir *d = g_dir_open(dir, 0, &gerr);
  if (!d) {
    fprintf(stderr, "%s: cannot read the data directory %s: %s\n", prog, dir, gerr->message);
    g_error_free(gerr);
    return EX_IO;
  }
  GPtrArray *regs = g_ptr_array_new_with_free_func(adm_reg_free);
  unsigned errors = 0, files = 0;
  int ex = EX_DONE;
  const char *host_enc;
  /* Sorted, so that messages and the import order do not depend on the
   * file system. */
  GPtrArray *hosts = g_ptr_array_new_with_free_func(g_free);
  while ((host_enc = g_dir_read_name(d)))
    g_ptr_array_add(hosts, g_strdup(host_enc));
  g_dir_close(d);
  g_ptr_array_sort(hosts, (GCompareFunc)g_strcmp0);
  for (guint h = 0; !ex && h < hosts->len; h++) {
    host_enc = *(char **)&hosts->pdata[h];
    char *host = adm_prosody_decode_name(host_enc);
    gboolean wanted = !only_host || (host && !strcmp(host, only_host));
    g_free(host);
    if (!wanted)
      continue;
    char *store = g_build_filename(dir, host_enc, "cloud_notify", NULL);
    GDir *sd = g_dir_open(store, 0, NULL);
    if (sd) {
      GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
      const char *f;
      while ((f = g_dir_read_name(sd)))
        if (g_str_has_suffix(f, ".dat") && strlen(f) > 4)
          g_ptr_array_add(names, g_strdup(f));
      g_dir_close(sd);
      g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
      for (guint i = 0; !ex && i < names->len; i++) {
        const char *f2 = *(char **)&names->pdata[i];
        char *path = g_build_filename(store, f2, NULL);
        ex = read_prosody_file(path, host_enc, f2, regs, &errors);
        files++;
        g_free(path);
      }
      g_ptr_array_free(names, TRUE);
    }
    g_free(store);
  }
  g_ptr_array_free(hosts, TRUE);
  if (!ex && errors) {
    fprintf(stderr, "%s: %u invalid file%s; nothing imported\n", prog, errors,
            errors == 1 ? "" : "s");
    ex = EX_INPUT;
  }
  if (!ex && !files)
    fprintf(stderr,
            "%s: no mod_cloud_notify storage found under %s (expected HOST/cloud_notify/"
            "USER.dat)\n",
            prog, dir);
  adm_db db = { 0 };
  if (!ex)
    ex = db_open(TRUE, FALSE, busy_ms, &db);
  if (!ex)
    ex = save_all(&db, regs);
  db_close(&db);
  g_ptr_array_free(regs, TRUE);
  return ex;
}

/* ---- stats ----------------------------------------------------------------- */

typedef struct stats {
  char *last_account;
  unsigned accounts, registrations;
  GHashTable *per_service; /* jid -> count */
} stats;

static int stats_row(void *data, const char *account, const cloudnotify_record *r) {
  stats *s = data;
  /* foreach goes account by account. */
  if (!s->last_account || strcmp(s->last_account, account)) {
    g_free(s->last_account);
    s->last_account = g_strdup(account);
    s->accounts++;
  }
  s->registrations++;
  gpointer old = g_hash_table_lookup(s->per_service, r->jid);
  g_hash_table_replace(s->per_service, g_strdup(r->jid),
                       GUINT_TO_POINTER(GPOINTER_TO_UINT(old) + 1));
  return 0;
}

static gint by_count(gconstpointer a, gconstpointer b, gpointer table) {
  guint x = GPOINTER_TO_UINT(g_hash_table_lookup(table, *(char *const *)a));
  guint y = GPOINTER_TO_UINT(g_hash_table_lookup(table, *(char *const *)b));
  return x != y ? (x > y ? -1 : 1) : strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmd_stats(adm_db *db) {
  stats s = { NULL, 0, 0, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL) };
  int rc = db_foreach(db, NULL, stats_row, &s);
  int ex = rc ? db_error(db, rc, "reading") : EX_DONE;
  if (!ex) {
    printf("accounts: %u\nregistrations: %u\nservices: %u\n", s.accounts, s.registrations,
           g_hash_table_size(s.per_service));
    GPtrArray *keys = g_ptr_array_new();
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, s.per_service);
    while (g_hash_table_iter_next(&it, &k, NULL))
      g_ptr_array_add(keys, k);
    g_ptr_array_sort_with_data(keys, by_count, s.per_service);
    for (guint i = 0; i < keys->len; i++)
      printf("  %-40s %u\n", (char *)keys->pdata[i],
             GPOINTER_TO_UINT(g_hash_table_lookup(s.per_service, keys->pdata[i])));
    g_ptr_array_free(keys, TRUE);
  }
  g_free(s.last_account);
  g_hash_table_destroy(s.per_service);
  return ex;
}

/* ---- main ------------------------------------------------------------------ */

/* ---- explain ---------------------------------------------------------------- */

/* The tool is not inside the server: it reads the account's registrations
 * from the store into a context of its own (which writes nothing back:
 * the servers own the error counts), lists them through the library's
 * diagnosis, and for a test push connects to the server as an XEP-0114
 * component.  The publish the library builds goes out from the
 * component's JID (the only 'from' a component may use), so the app
 * server answers there and the answer comes back on the same connection
 * to be handled by the tool's context, whose publish_outcome reports it. */

typedef struct explain_run {
  GPtrArray *recs; /* cloudnotify_record*, deep copies, of the account */
  cloudnotify_ctx *ctx;
  /* the component connection, NULL without --component */
  GSocketConnection *conn;
  GMarkupParseContext *mp;
  int depth;
  GString *cur;       /* the stanza being read, rebuilt as text */
  GPtrArray *stanzas; /* complete stanzas not handled yet */
  char *stream_id;
  gboolean handshake_ok, stream_error, closed;
  const char *component_jid;
  /* the test push's outcomes */
  unsigned answered, errors;
} explain_run;

static void rec_free(gpointer p) {
  cloudnotify_record *r = p;
  g_free((char *)r->jid);
  g_free((char *)r->node);
  g_free((char *)r->publish_options);
  g_free((char *)r->client_id);
  g_free(r);
}

static int snap_row(void *data, const char *account, const cloudnotify_record *r) {
  (void)account;
  cloudnotify_record *c = g_new0(cloudnotify_record, 1);
  *c = *r;
  c->jid = g_strdup(r->jid);
  c->node = g_strdup(r->node);
  if (r->publish_options) {
    char *po = g_malloc(r->publish_options_len + 1);
    memcpy(po, r->publish_options, r->publish_options_len);
    po[r->publish_options_len] = '\0';
    c->publish_options = po;
  }
  c->client_id = g_strdup(r->client_id);
  g_ptr_array_add(data, c);
  return 0;
}

static int snap_load(void *data, const char *account, cloudnotify_loader *loader) {
  (void)account;
  explain_run *x = data;
  for (guint i = 0; i < x->recs->len; i++)
    cloudnotify_loader_add(loader, x->recs->pdata[i]);
  return 0;
}

/* Nothing is written back: the servers hold the truth of the counts. */
static int snap_save(void *data, const char *account, const cloudnotify_record *r) {
  (void)data, (void)account, (void)r;
  return 0;
}

static int snap_remove(void *data, const char *account, const char *jid, const char *node) {
  (void)data, (void)account, (void)jid, (void)node;
  return 0;
}

static void fmt_time(int64_t ms, char out[32]) {
  strcpy(out, "-");
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  if (ms > 0 && gmtime_r(&secs, &tm))
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int explain_row(void *data, const char *account, const cloudnotify_diag_registration *r) {
  (void)account;
  unsigned *n = data;
  char when[32];
  fmt_time(r->enabled_at_ms, when);
  if (!*n)
    printf("%-30s %-24s %-20s %-24s %-6s %s\n", "SERVICE", "NODE", "ENABLED", "CLIENT", "ERRORS",
           "EXTENSIONS");
  printf("%-30s %-24s %-20s %-24s %-6u %s%s\n", r->jid, r->node ? r->node : "-", when,
         r->client_id ? r->client_id : "-", r->errors, *r->extensions ? r->extensions : "-",
         r->encrypted ? " (pushes encrypted)" : "");
  (*n)++;
  return 0;
}

static gboolean comp_write(explain_run *x, const char *text, size_t len) {
  GOutputStream *out = g_io_stream_get_output_stream(G_IO_STREAM(x->conn));
  GError *err = NULL;
  if (g_output_stream_write_all(out, text, len, NULL, NULL, &err))
    return TRUE;
  fprintf(stderr, "%s: component connection: %s\n", prog, err->message);
  g_error_free(err);
  return FALSE;
}

/* The library's publish, sent from the component's JID. */
static int explain_send(void *ud, cloudnotify_route route, cloudnotify_session *s,
                        const char *account, const char *to, const char *xml, size_t len) {
  (void)s, (void)account;
  explain_run *x = ud;
  if (route != CLOUDNOTIFY_ROUTE_APP_SERVER || !x->conn)
    return -1;
  /* The publish's start tag names the server's domain as 'from' (the
   * library writes attributes in single quotes). */
  GString *out = g_string_new_len(xml, (gssize)len);
  const char *end = memchr(xml, '>', len);
  const char *from = g_strstr_len(xml, end ? end - xml : (gssize)len, " from='");
  if (from) {
    const char *v = from + 7, *q = strchr(v, '\'');
    char *jid = g_markup_escape_text(x->component_jid, -1);
    g_string_erase(out, v - xml, q - v);
    g_string_insert(out, v - xml, jid);
    g_free(jid);
  }
  /* Not the stanza: its publish-options hold the app server's secrets. */
  printf("test push to %s sent from %s\n", to, x->component_jid);
  gboolean ok = comp_write(x, out->str, out->len);
  g_string_free(out, TRUE);
  return ok ? 0 : -1;
}

static const char *const outcome_words[] = {
  [CLOUDNOTIFY_PUBLISH_OK] = "result",
  [CLOUDNOTIFY_PUBLISH_ERROR] = "error",
  [CLOUDNOTIFY_PUBLISH_WAIT] = "wait error",
  [CLOUDNOTIFY_PUBLISH_EXPIRED] = "no answer",
  [CLOUDNOTIFY_PUBLISH_DROPPED] = "dropped",
  [CLOUDNOTIFY_PUBLISH_FORGOTTEN] = "forgotten",
  [CLOUDNOTIFY_PUBLISH_REFUSED] = "not sent",
  [CLOUDNOTIFY_PUBLISH_VETOED] = "vetoed",
  [CLOUDNOTIFY_PUBLISH_TRANSIENT] = "transient error",
};

static void explain_outcome(void *ud, const cloudnotify_publish_report *r) {
  explain_run *x = ud;
  if (r->size < sizeof *r || !(r->flags & CLOUDNOTIFY_PUBLISH_FLAG_TEST))
    return;
  x->answered++;
  gboolean error = r->outcome == CLOUDNOTIFY_PUBLISH_ERROR ||
                   r->outcome == CLOUDNOTIFY_PUBLISH_WAIT ||
                   r->outcome == CLOUDNOTIFY_PUBLISH_TRANSIENT;
  x->errors += r->outcome != CLOUDNOTIFY_PUBLISH_OK;
  printf("answer from %s node %s: %s", r->jid, r->node ? r->node : "-",
         outcome_words[r->outcome] ? outcome_words[r->outcome] : "unknown");
  if (error)
    printf(" %s/%s", r->error_type ? r->error_type : "?",
           r->error_condition ? r->error_condition : "?");
  if (r->error_text)
    printf(" \"%s\"", r->error_text);
  if (r->outcome == CLOUDNOTIFY_PUBLISH_ERROR)
    printf(" (%u error(s) in a row with this one; the store is not changed)",
           r->consecutive_errors);
  printf("\n");
}

/* ---- the component stream, read with GMarkup: stanzas at depth 2 are
 * rebuilt as text for cloudnotify_handle_app_reply. */

static void mp_start(GMarkupParseContext *c, const char *name, const char **an, const char **av,
                     gpointer ud, GError **err) {
  (void)c, (void)err;
  explain_run *x = ud;
  x->depth++;
  if (x->depth == 1) {
    for (int i = 0; an[i]; i++)
      if (!strcmp(an[i], "id"))
        x->stream_id = g_strdup(av[i]);
    return;
  }
  g_string_append_printf(x->cur, "<%s", name);
  for (int i = 0; an[i]; i++) {
    char *v = g_markup_escape_text(av[i], -1);
    g_string_append_printf(x->cur, " %s='%s'", an[i], v);
    g_free(v);
  }
  g_string_append_c(x->cur, '>');
}

static void mp_end(GMarkupParseContext *c, const char *name, gpointer ud, GError **err) {
  (void)c, (void)err;
  explain_run *x = ud;
  if (x->depth >= 2)
    g_string_append_printf(x->cur, "</%s>", name);
  if (x->depth == 2) {
    if (!strcmp(name, "handshake"))
      x->handshake_ok = TRUE;
    else if (!strcmp(name, "stream:error"))
      x->stream_error = TRUE;
    else
      g_ptr_array_add(x->stanzas, g_strdup(x->cur->str));
    g_string_truncate(x->cur, 0);
  }
  if (x->depth == 1)
    x->closed = TRUE;
  x->depth--;
}

static void mp_text(GMarkupParseContext *c, const char *text, gsize len, gpointer ud,
                    GError **err) {
  (void)c, (void)err;
  explain_run *x = ud;
  if (x->depth < 2)
    return;
  char *t = g_markup_escape_text(text, (gssize)len);
  g_string_append(x->cur, t);
  g_free(t);
}

static const GMarkupParser stream_parser = { mp_start, mp_end, mp_text, NULL, NULL };

/* Read until done(x) or the deadline (monotonic µs).  FALSE on timeout,
 * a closed or broken stream. */
static gboolean comp_read_until(explain_run *x, gboolean (*done)(explain_run *), gint64 deadline) {
  GSocket *sock = g_socket_connection_get_socket(x->conn);
  GInputStream *in = g_io_stream_get_input_stream(G_IO_STREAM(x->conn));
  char buf[4096];
  while (!done(x)) {
    if (x->stream_error || x->closed)
      return FALSE;
    gint64 left = deadline - g_get_monotonic_time();
    if (left <= 0)
      return FALSE;
    GError *err = NULL;
    if (!g_socket_condition_timed_wait(sock, G_IO_IN, left, NULL, &err)) {
      g_error_free(err);
      return FALSE;
    }
    gssize n = g_input_stream_read(in, buf, sizeof buf, NULL, &err);
    if (n <= 0) {
      if (err) {
        fprintf(stderr, "%s: component connection: %s\n", prog, err->message);
        g_error_free(err);
      }
      return FALSE;
    }
    if (!g_markup_parse_context_parse(x->mp, buf, n, &err)) {
      fprintf(stderr, "%s: component connection: unreadable stream: %s\n", prog, err->message);
      g_error_free(err);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean have_stream_id(explain_run *x) {
  return x->stream_id != NULL;
}
static gboolean have_handshake(explain_run *x) {
  return x->handshake_ok;
}
static gboolean have_stanza(explain_run *x) {
  return x->stanzas->len > 0;
}

static int comp_connect(explain_run *x, const char *hostport, const char *secret, int timeout_s) {
  GSocketClient *client = g_socket_client_new();
  g_socket_client_set_timeout(client, (guint)timeout_s);
  GError *err = NULL;
  x->conn = g_socket_client_connect_to_host(client, hostport, 5347, NULL, &err);
  g_object_unref(client);
  if (!x->conn) {
    fprintf(stderr, "%s: --component %s: %s\n", prog, hostport, err->message);
    g_error_free(err);
    return EX_NO_ANSWER;
  }
  x->mp = g_markup_parse_context_new(&stream_parser, 0, x, NULL);
  char *jid = g_markup_escape_text(x->component_jid, -1);
  char *open =
      g_strdup_printf("<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
                      "xmlns:stream='http://etherx.jabber.org/streams' to='%s'>",
                      jid);
  g_free(jid);
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
  gboolean ok = comp_write(x, open, strlen(open)) && comp_read_until(x, have_stream_id, deadline);
  g_free(open);
  if (ok) {
    char *joined = g_strconcat(x->stream_id, secret, NULL);
    char *digest = g_compute_checksum_for_string(G_CHECKSUM_SHA1, joined, -1);
    char *hs = g_strdup_printf("<handshake>%s</handshake>", digest);
    ok = comp_write(x, hs, strlen(hs)) && comp_read_until(x, have_handshake, deadline);
    g_free(hs);
    g_free(digest);
    g_free(joined);
  }
  if (!ok) {
    fprintf(stderr, "%s: --component %s: the server did not accept %s as a component (%s)\n", prog,
            hostport, x->component_jid,
            x->stream_error ? "stream error: wrong JID or secret" : "no answer");
    return EX_NO_ANSWER;
  }
  return EX_DONE;
}

static int cmd_explain(int nargs, char **args, int busy_ms) {
  const char *account = args[0];
  const char *component = NULL, *secret = NULL, *service = NULL, *node = NULL;
  const char *component_jid = NULL;
  int timeout_s = 10;
  for (int k = 1; k < nargs; k += 2) {
    const char *o = args[k];
    if (k + 1 >= nargs)
      return usage_error("explain: %s needs a value", o);
    const char *v = args[k + 1];
    if (!strcmp(o, "--component"))
      component = v;
    else if (!strcmp(o, "--component-jid"))
      component_jid = v;
    else if (!strcmp(o, "--secret"))
      secret = v;
    else if (!strcmp(o, "--service"))
      service = v;
    else if (!strcmp(o, "--node"))
      node = v;
    else if (!strcmp(o, "--timeout")) {
      char *end = NULL;
      long t = strtol(v, &end, 10);
      if (!*v || *end || t < 1 || t > 3600)
        return usage_error("explain: --timeout takes seconds, 1 to 3600");
      timeout_s = (int)t;
    } else
      return usage_error("explain: unknown option %s", o);
  }
  if (component && (!component_jid || !secret))
    return usage_error("explain: --component needs --component-jid and --secret");
  if (!component && (component_jid || secret || service || node))
    return usage_error("explain: --component-jid, --secret, --service and --node go with "
                       "--component");
  if (node && !service)
    return usage_error("explain: --node goes with --service");

  adm_db store = { 0 }, *db = &store;
  int ex = db_open(FALSE, TRUE, busy_ms, db);
  if (ex) {
    db_close(db);
    return ex;
  }
  explain_run x = { 0 };
  x.recs = g_ptr_array_new_with_free_func(rec_free);
  x.cur = g_string_new(NULL);
  x.stanzas = g_ptr_array_new_with_free_func(g_free);
  x.component_jid = component_jid;
  int rc = db_foreach(db, account, snap_row, x.recs);
  if (rc) {
    ex = db_error(db, rc, "listing");
    goto out;
  }
  cloudnotify_callbacks cb = { .size = sizeof cb,
                               .send = explain_send,
                               .publish_outcome = explain_outcome };
  cloudnotify_store st = {
    .size = sizeof st, .load = snap_load, .save = snap_save, .remove = snap_remove
  };
  cloudnotify_ctx_new(&x.ctx, &cb, &x);
  cloudnotify_ctx_set_store(x.ctx, &st, &x);
  /* The tool's context only reports: it never removes what it reads. */
  cloudnotify_ctx_set_option_int(x.ctx, CLOUDNOTIFY_OPT_MAX_ERRORS, 1000000);
  cloudnotify_ctx_set_option_int(x.ctx, CLOUDNOTIFY_OPT_MAX_DEVICES, 1000);
  unsigned n = 0;
  rc = cloudnotify_diag_registrations(x.ctx, account, explain_row, &n);
  if (rc == CLOUDNOTIFY_ERR_JID_MALFORMED) {
    ex = usage_error("explain: %s is not an account (a bare JID)", account);
    goto out;
  }
  if (rc < 0) {
    fprintf(stderr, "%s: explain: %s\n", prog, cloudnotify_strerror(rc));
    ex = EX_IO;
    goto out;
  }
  if (!n) {
    printf("%s has no registration\n", account);
    ex = component ? EX_NOT_FOUND : EX_DONE;
    goto out;
  }
  if (!component)
    goto out;
  ex = comp_connect(&x, component, secret, timeout_s);
  if (ex)
    goto out;
  cloudnotify_endpoint ep = { service, node };
  unsigned pushes = 0;
  rc = cloudnotify_diag_test_push(x.ctx, account, service ? &ep : NULL, &pushes, NULL);
  if (rc == CLOUDNOTIFY_ERR_NOT_MINE) {
    fprintf(stderr, "%s: explain: %s has no registration at %s node %s\n", prog, account, service,
            node ? node : "(none)");
    ex = EX_NOT_FOUND;
    goto out;
  }
  if (rc < 0) {
    fprintf(stderr, "%s: explain: test push not sent: %s\n", prog, cloudnotify_strerror(rc));
    ex = EX_NO_ANSWER;
    goto out;
  }
  gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
  while (x.answered < pushes && comp_read_until(&x, have_stanza, deadline)) {
    while (x.stanzas->len) {
      char *s = g_ptr_array_steal_index(x.stanzas, 0);
      if (g_str_has_prefix(s, "<iq"))
        cloudnotify_handle_app_reply(x.ctx, s, strlen(s));
      g_free(s);
    }
  }
  if (x.answered < pushes) {
    printf("no answer to %u of %u test push(es) within %d s\n", pushes - x.answered, pushes,
           timeout_s);
    ex = EX_NO_ANSWER;
  } else {
    ex = x.errors ? EX_APP_ERROR : EX_DONE;
  }
  comp_write(&x, "</stream:stream>", 16);
out:
  cloudnotify_ctx_free(x.ctx);
  if (x.mp)
    g_markup_parse_context_free(x.mp);
  if (x.conn) {
    g_io_stream_close(G_IO_STREAM(x.conn), NULL, NULL);
    g_object_unref(x.conn);
  }
  g_free(x.stream_id);
  g_string_free(x.cur, TRUE);
  g_ptr_array_free(x.stanzas, TRUE);
  g_ptr_array_free(x.recs, TRUE);
  db_close(db);
  return ex;
}

int main(int argc, char **argv) {
  int busy_ms = -1;
  int i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(usage_text, stdout);
      return EX_DONE;
    }
    if (!strcmp(a, "--version")) {
#ifdef CN_ADMIN_PG
      const char *pg_support = ", with PostgreSQL";
#else
      const char *pg_support = ", without PostgreSQL";
#endif
      printf("cloudnotify-admin %s (libcloudnotify %s%s)\n", CN_ADMIN_VERSION,
             cloudnotify_version_string(), pg_support);
      return EX_DONE;
    }
    if (!strcmp(a, "--db") || !strcmp(a, "--pg") || !strcmp(a, "--pg-schema") ||
        !strcmp(a, "--busy-timeout")) {
      if (i + 1 >= argc)
        return usage_error("%s needs a value", a);
      const char *v = argv[++i];
      if (!strcmp(a, "--db")) {
        db_path = v;
      } else if (!strcmp(a, "--pg") || !strcmp(a, "--pg-schema")) {
#ifdef CN_ADMIN_PG
        *(!strcmp(a, "--pg") ? &pg_conninfo : &pg_schema) = v;
#else
        fprintf(stderr,
                "%s: %s: this cloudnotify-admin was built without PostgreSQL support "
                "(libcloudnotify-pg, which needs libpq); export from SQLite and import the "
                "JSON lines with a cloudnotify-admin that has it\n",
                prog, a);
        return EX_USAGE;
#endif
      } else {
        char *end = NULL;
        long ms = strtol(v, &end, 10);
        if (!*v || *end || ms < 0 || ms > 3600000)
          return usage_error("--busy-timeout takes milliseconds, 0 to 3600000");
        busy_ms = (int)ms;
      }
      continue;
    }
    if (!strcmp(a, "--"))
      break;
    return usage_error("unknown option %s", a);
  }
  if (i < argc && !strcmp(argv[i], "--"))
    i++;
  if (i >= argc)
    return usage_error("no command given");
  if (db_path && pg_conninfo)
    return usage_error("--db and --pg name two stores: give one");
  if (pg_schema && !pg_conninfo)
    return usage_error("--pg-schema goes with --pg");
  if ((!db_path || !*db_path) && !pg_conninfo)
    return usage_error("--db PATH or --pg CONNINFO is required");
  const char *cmd = argv[i++];
  int nargs = argc - i;
  char **args = argv + i;
  struct {
    const char *name;
    int min, max;
  } cmds[] = { { "list", 1, 1 },   { "remove", 2, 3 },  { "remove-account", 1, 1 },
               { "export", 0, 1 }, { "import", 0, 1 },  { "import-prosody", 1, 2 },
               { "stats", 0, 0 },  { "explain", 1, 13 } };
  gboolean known = FALSE;
  for (size_t k = 0; k < G_N_ELEMENTS(cmds); k++) {
    if (strcmp(cmd, cmds[k].name))
      continue;
    known = TRUE;
    if (nargs < cmds[k].min || nargs > cmds[k].max)
      return usage_error("wrong number of arguments for %s", cmd);
  }
  if (!known)
    return usage_error("unknown command %s", cmd);
  if (!strcmp(cmd, "explain"))
    return cmd_explain(nargs, args, busy_ms);
  if (!strcmp(cmd, "import"))
    return cmd_import(nargs ? args[0] : NULL, busy_ms);
  if (!strcmp(cmd, "import-prosody"))
    return cmd_import_prosody(args[0], nargs > 1 ? args[1] : NULL, busy_ms);

  adm_db store = { 0 }, *db = &store;
  gboolean reads = !strcmp(cmd, "list") || !strcmp(cmd, "export") || !strcmp(cmd, "stats");
  int ex = db_open(FALSE, reads, busy_ms, db);
  if (ex) {
    db_close(db);
    return ex;
  }
  if (!strcmp(cmd, "list"))
    ex = cmd_list(db, args[0]);
  else if (!strcmp(cmd, "remove"))
    ex = cmd_remove(db, args[0], args[1], nargs > 2 ? args[2] : NULL);
  else if (!strcmp(cmd, "remove-account"))
    ex = cmd_remove_account(db, args[0]);
  else if (!strcmp(cmd, "export"))
    ex = cmd_export(db, nargs ? args[0] : NULL);
  else
    ex = cmd_stats(db);
  db_close(db);
  return ex;
}
