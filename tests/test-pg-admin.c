/* The PostgreSQL store's blocking calls for tools (cloudnotify_pg_foreach,
 * _save_record, _remove_record, CLOUDNOTIFY_PG_NO_CREATE), on a private
 * cluster (tests/scripts/pg-cluster.sh) like test-store-pg.  Each test
 * uses a schema of its own. */
#include "api-util.h"

#include <libpq-fe.h>
#include <stdlib.h>

#include "pg-cluster.h"

#include "cloudnotify/cloudnotify-pg.h"

static pgc_cluster pgc;

static cloudnotify_pg *tool_open(const char *schema, int max_devices, unsigned flags) {
  cloudnotify_pg_options o = {
    .size = sizeof o,
    .schema = schema,
    .max_devices = max_devices,
    .connect_timeout_ms = 5000,
    .flags = flags,
  };
  cloudnotify_pg *pg = NULL;
  assert_int_equal(cloudnotify_pg_new(&pg, pgc.conninfo, &o), 0);
  return pg;
}

static void db_exec(const char *sql) {
  PGconn *c = PQconnectdb(pgc.conninfo);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  PQclear(r);
  PQfinish(c);
}

/* Every field of every row foreach gave, one line each. */
static int dump_row(void *data, const char *account, const cloudnotify_record *r) {
  g_string_append_printf(data, "%s|%s|%s|%.*s|%" G_GINT64_FORMAT "|%u|%s\n", account, r->jid,
                         r->node ? r->node : "(none)", (int)r->publish_options_len,
                         r->publish_options ? r->publish_options : "", r->enabled_at_ms, r->errors,
                         r->client_id ? r->client_id : "(none)");
  if (r->publish_options)
    assert_int_equal(strlen(r->publish_options), r->publish_options_len);
  return 0;
}

static char *dump(cloudnotify_pg *pg, const char *account) {
  GString *s = g_string_new(NULL);
  assert_int_equal(cloudnotify_pg_foreach(pg, account, dump_row, s), 0);
  return g_string_free(s, FALSE);
}

static void save(cloudnotify_pg *pg, const char *account, const char *jid, const char *node,
                 const char *form, int64_t at, unsigned errors, const char *client) {
  cloudnotify_record r = { .jid = jid,
                           .node = node,
                           .publish_options = form,
                           .publish_options_len = form ? strlen(form) : 0,
                           .enabled_at_ms = at,
                           .errors = errors,
                           .client_id = client };
  assert_int_equal(cloudnotify_pg_save_record(pg, account, &r), 0);
}

#define FORM "<x xmlns='jabber:x:data' type='submit'/>"

/* Every field comes back as saved; rows are ordered by account in byte
 * order (whatever the database's collation), then enable time, then the
 * order they were stored in; the account filter keeps one account. */
static void foreach_fields_and_order(void **state) {
  cloudnotify_pg *pg = tool_open("cn_adm_fields", 0, 0);
  save(pg, "b@x", "push.example", "n2", FORM, 2000, 3, "client/é");
  save(pg, "b@x", "push.example", NULL, NULL, 1000, 0, NULL);
  save(pg, "a@x", "other.example", "n", NULL, 5000, 0, "");
  save(pg, "Z@x", "push.example", "z", NULL, 7, 0, NULL);
  save(pg, "b@x", "push.example", "same-time", NULL, 2000, 0, NULL);
  /* A collation that puts "a@x" before "Z@x" (the test cluster's own may
   * be C): foreach must still give byte order. */
  db_exec("ALTER TABLE cn_adm_fields.cloudnotify_registrations ALTER COLUMN account "
          "TYPE text COLLATE \"und-x-icu\"");
  char *all = dump(pg, NULL);
  assert_string_equal(all, "Z@x|push.example|z||7|0|(none)\n"
                           "a@x|other.example|n||5000|0|(none)\n"
                           "b@x|push.example|(none)||1000|0|(none)\n"
                           "b@x|push.example|n2|" FORM "|2000|3|client/é\n"
                           "b@x|push.example|same-time||2000|0|(none)\n");
  g_free(all);
  char *b = dump(pg, "b@x");
  assert_string_equal(b, "b@x|push.example|(none)||1000|0|(none)\n"
                         "b@x|push.example|n2|" FORM "|2000|3|client/é\n"
                         "b@x|push.example|same-time||2000|0|(none)\n");
  g_free(b);
  char *none = dump(pg, "nobody@x");
  assert_string_equal(none, "");
  g_free(none);
  /* Saving again replaces: one row, the new fields. */
  save(pg, "a@x", "other.example", "n", NULL, 6000, 1, "c2");
  char *a = dump(pg, "a@x");
  assert_string_equal(a, "a@x|other.example|n||6000|1|c2\n");
  g_free(a);
  cloudnotify_pg_free(pg);
}

static int stop_at_second(void *data, const char *account, const cloudnotify_record *r) {
  return ++*(int *)data == 2 ? 42 : 0;
}

typedef struct reentry {
  cloudnotify_pg *pg;
  int foreach_rc, save_rc, remove_rc, wait_rc;
} reentry;

static int call_back_in(void *data, const char *account, const cloudnotify_record *r) {
  reentry *re = data;
  re->foreach_rc = cloudnotify_pg_foreach(re->pg, NULL, stop_at_second, &(int){ 0 });
  re->save_rc = cloudnotify_pg_save_record(re->pg, account, r);
  re->remove_rc = cloudnotify_pg_remove_record(re->pg, account, r->jid, r->node);
  re->wait_rc = cloudnotify_pg_wait_idle(re->pg, 0);
  return 0;
}

/* The callback's nonzero value stops the listing and is returned; calls
 * on the handle from the callback are refused; arguments are checked. */
static void foreach_stop_reentry_arguments(void **state) {
  cloudnotify_pg *pg = tool_open("cn_adm_stop", 0, 0);
  for (int i = 0; i < 3; i++) {
    char node[8];
    g_snprintf(node, sizeof node, "n%d", i);
    save(pg, "a@x", "push.example", node, NULL, i, 0, NULL);
  }
  int seen = 0;
  assert_int_equal(cloudnotify_pg_foreach(pg, NULL, stop_at_second, &seen), 42);
  assert_int_equal(seen, 2);
  reentry re = { .pg = pg };
  assert_int_equal(cloudnotify_pg_foreach(pg, "a@x", call_back_in, &re), 0);
  assert_int_equal(re.foreach_rc, CLOUDNOTIFY_ERR_REENTRANT);
  assert_int_equal(re.save_rc, CLOUDNOTIFY_ERR_REENTRANT);
  assert_int_equal(re.remove_rc, CLOUDNOTIFY_ERR_REENTRANT);
  assert_int_equal(re.wait_rc, CLOUDNOTIFY_ERR_REENTRANT);
  char *a = dump(pg, NULL);
  assert_int_equal(strlen(a) > 0, 1); /* nothing was removed */
  g_free(a);
  cloudnotify_record r = { .jid = NULL };
  assert_int_equal(cloudnotify_pg_foreach(NULL, NULL, dump_row, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_pg_foreach(pg, NULL, NULL, NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_pg_save_record(pg, "a@x", &r), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_pg_save_record(pg, "a@x", NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_pg_save_record(pg, NULL, &r), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_pg_remove_record(pg, "a@x", NULL, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_pg_remove_record(NULL, "a@x", "j", NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  /* Text the database cannot hold is the statement's failure. */
  cloudnotify_record bad = { .jid = "push.example", .node = "\xff" };
  assert_int_equal(cloudnotify_pg_save_record(pg, "a@x", &bad), CLOUDNOTIFY_ERR_PG_QUERY);
  const char *msg;
  assert_int_equal(cloudnotify_pg_last_error(pg, &msg), CLOUDNOTIFY_ERR_PG_QUERY);
  assert_true(*msg);
  /* The connection is still usable. */
  assert_int_equal(cloudnotify_pg_remove_record(pg, "a@x", "push.example", "n0"), 1);
  assert_int_equal(cloudnotify_pg_remove_record(pg, "a@x", "push.example", "n0"), 0);
  cloudnotify_pg_free(pg);
}

static int form_is_none(void *data, const char *account, const cloudnotify_record *r) {
  assert_null(r->publish_options);
  assert_int_equal(r->publish_options_len, 0);
  (*(int *)data)++;
  return 0;
}

/* NULL/0 is no form: a form of length 0 is stored as none, as SQLite
 * keeps it (exports of both stores compare equal). */
static void empty_form_is_none(void **state) {
  cloudnotify_pg *pg = tool_open("cn_adm_form", 0, 0);
  save(pg, "a@x", "push.example", NULL, "", 1, 0, NULL);
  int n = 0;
  assert_int_equal(cloudnotify_pg_foreach(pg, NULL, form_is_none, &n), 0);
  assert_int_equal(n, 1);
  cloudnotify_pg_free(pg);
}

/* save_record applies the handle's device limit as an enable does: the
 * least recently stored beyond it go. */
static void save_applies_device_limit(void **state) {
  cloudnotify_pg *pg = tool_open("cn_adm_limit", 2, 0);
  save(pg, "a@x", "push.example", "1", NULL, 1, 0, NULL);
  save(pg, "a@x", "push.example", "2", NULL, 2, 0, NULL);
  save(pg, "a@x", "push.example", "3", NULL, 3, 0, NULL);
  char *a = dump(pg, NULL);
  assert_string_equal(a, "a@x|push.example|2||2|0|(none)\n"
                         "a@x|push.example|3||3|0|(none)\n");
  g_free(a);
  cloudnotify_pg_free(pg);
}

static int count_regs(void *data, const char *account, const cloudnotify_record *r) {
  (*(int *)data)++;
  return 0;
}

/* What a node (a context on the store) wrote is listed; a removal by the
 * tool reaches the node through the channel; a handle serving a context
 * refuses the blocking calls. */
static void rows_of_another_node(void **state) {
  fake_host h;
  fh_init(&h);
  cloudnotify_pg *node = tool_open("cn_adm_node", 5, 0);
  assert_int_equal(cloudnotify_ctx_set_pg_store(h.ctx, node), 0);
  assert_int_equal(cloudnotify_pg_wait_idle(node, 20000), 0);
  cloudnotify_session *s = au_session(&h, ALICE, "a");
  assert_int_equal(cloudnotify_session_set_client_id(s, "phone-1"), 0);
  assert_int_equal(fh_enable(s, PUSH_JID, "dev", NULL), 0);
  assert_int_equal(cloudnotify_pg_wait_idle(node, 20000), 0);
  au_assert_last_reply(&h, "result");
  assert_int_equal(cloudnotify_pg_foreach(node, NULL, dump_row, NULL), CLOUDNOTIFY_ERR_STATE);
  assert_int_equal(cloudnotify_pg_remove_record(node, ALICE, PUSH_JID, "dev"),
                   CLOUDNOTIFY_ERR_STATE);

  cloudnotify_pg *tool = tool_open("cn_adm_node", 5, CLOUDNOTIFY_PG_NO_CREATE);
  GString *rows = g_string_new(NULL);
  assert_int_equal(cloudnotify_pg_foreach(tool, ALICE, dump_row, rows), 0);
  char **f = g_strsplit(rows->str, "|", -1);
  assert_int_equal(g_strv_length(f), 7);
  assert_string_equal(f[0], ALICE);
  assert_string_equal(f[1], PUSH_JID);
  assert_string_equal(f[2], "dev");
  assert_true(g_ascii_strtoll(f[4], NULL, 10) > 0);
  assert_string_equal(f[5], "0");
  assert_string_equal(f[6], "phone-1\n");
  g_strfreev(f);
  g_string_free(rows, TRUE);

  assert_int_equal(cloudnotify_account_has_push(h.ctx, ALICE), 1);
  assert_int_equal(cloudnotify_pg_remove_record(tool, ALICE, PUSH_JID, "dev"), 1);
  /* The node hears of it and reads the account again: gone there too. */
  int n = -1;
  for (int tries = 0; tries < 100; tries++) {
    /* wait_idle does not read a connection that is idle already: the
     * notification is read as a host's loop would, on a readable socket. */
    assert_int_equal(cloudnotify_pg_process(node, CLOUDNOTIFY_PG_READ), 0);
    assert_int_equal(cloudnotify_pg_wait_idle(node, 20000), 0);
    int c = 0;
    int rc = cloudnotify_account_registrations(h.ctx, ALICE, count_regs, &c);
    if (rc == CLOUDNOTIFY_ERR_BUSY)
      continue;
    assert_true(rc >= 0);
    n = c;
    if (!n)
      break;
    g_usleep(20000);
  }
  assert_int_equal(n, 0);
  cloudnotify_pg_free(tool);
  fh_fini(&h);
  cloudnotify_pg_free(node);
}

static gboolean schema_exists(const char *name) {
  PGconn *c = PQconnectdb(pgc.conninfo);
  assert_int_equal(PQstatus(c), CONNECTION_OK);
  const char *params[] = { name };
  PGresult *r = PQexecParams(c, "SELECT 1 FROM pg_namespace WHERE nspname = $1", 1, NULL, params,
                             NULL, NULL, 0);
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  gboolean yes = PQntuples(r) == 1;
  PQclear(r);
  PQfinish(c);
  return yes;
}

/* NO_CREATE: a missing schema is reported and left missing; refused
 * connections and unknown flags give their errors. */
static void missing_schema_and_refused(void **state) {
  cloudnotify_pg *pg = tool_open("cn_adm_missing", 0, CLOUDNOTIFY_PG_NO_CREATE);
  assert_int_equal(cloudnotify_pg_foreach(pg, NULL, dump_row, NULL), CLOUDNOTIFY_ERR_PG_SCHEMA);
  const char *msg;
  assert_int_equal(cloudnotify_pg_last_error(pg, &msg), CLOUDNOTIFY_ERR_PG_SCHEMA);
  assert_non_null(strstr(msg, "does not exist"));
  assert_int_equal(cloudnotify_pg_remove_record(pg, "a@x", "j", NULL), CLOUDNOTIFY_ERR_PG_SCHEMA);
  cloudnotify_pg_free(pg);
  assert_false(schema_exists("cn_adm_missing"));
  /* Without the flag the same name is created. */
  pg = tool_open("cn_adm_missing", 0, 0);
  char *empty = dump(pg, NULL);
  assert_string_equal(empty, "");
  g_free(empty);
  cloudnotify_pg_free(pg);
  assert_true(schema_exists("cn_adm_missing"));

  cloudnotify_pg_options o = { .size = sizeof o, .flags = 2 };
  cloudnotify_pg *bad = NULL;
  assert_int_equal(cloudnotify_pg_new(&bad, pgc.conninfo, &o), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_null(bad);

  char *info = g_strdup_printf("host=127.0.0.1 port=%d dbname=postgres user=postgres "
                               "connect_timeout=5",
                               pgc_free_port());
  cloudnotify_pg_options r = { .size = sizeof r, .reconnect_min_ms = 10 };
  assert_int_equal(cloudnotify_pg_new(&pg, info, &r), 0);
  assert_int_equal(cloudnotify_pg_foreach(pg, NULL, dump_row, NULL),
                   CLOUDNOTIFY_ERR_PG_UNAVAILABLE);
  cloudnotify_record rec = { .jid = "j" };
  assert_int_equal(cloudnotify_pg_save_record(pg, "a@x", &rec), CLOUDNOTIFY_ERR_PG_UNAVAILABLE);
  assert_int_equal(cloudnotify_pg_last_error(pg, &msg), CLOUDNOTIFY_ERR_PG_UNAVAILABLE);
  assert_true(*msg);
  cloudnotify_pg_free(pg);
  g_free(info);
}

static int group_setup(void **state) {
  int rc = pgc_start(&pgc);
  if (rc == 77) {
    fprintf(stderr, "no PostgreSQL server: skipped\n");
    exit(77);
  }
  return rc;
}

static int group_teardown(void **state) {
  pgc_destroy(&pgc);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(foreach_fields_and_order), cmocka_unit_test(foreach_stop_reentry_arguments),
    cmocka_unit_test(empty_form_is_none),       cmocka_unit_test(save_applies_device_limit),
    cmocka_unit_test(rows_of_another_node),     cmocka_unit_test(missing_schema_and_refused),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
