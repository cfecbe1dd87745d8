/* Durability of the SQLite store under SIGKILL (issue 9).
 *
 * A child process enables and disables registrations through the library
 * (a context with push_store = sqlite:FILE, client IQs, the replies the
 * library sends) and writes to a pipe what it is about to do ("I") and,
 * once the library has answered the client, whether the change was
 * acknowledged ("A seq ok") or refused ("A seq refused": vetoed by the
 * registration filter, or a store failure).  The parent kills it with
 * SIGKILL after a random delay, then reopens the file and checks:
 *   - every acknowledged change is there (the registration with the form
 *     of the last acknowledged enable, or absent after a disable);
 *   - nothing refused is;
 *   - the one change in flight (announced, not acknowledged) is either
 *     wholly there or wholly absent;
 *   - PRAGMA integrity_check says ok.
 * Then the next child starts on the same file.
 *
 *   durability-sqlite [--kills N] [--seed S] [--max-delay-ms M] [--dir D]
 *
 * CI runs a short version (tests/meson.build); docs/storage.md gives the
 * long run's figures. */
#include <cloudnotify/cloudnotify.h>

#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ACCOUNT "juliet@capulet.example"
#define N_JIDS  6
#define N_NODES 3

static const char *const nodes[N_NODES] = { "a", "b", "c" };

/* ---- the child --------------------------------------------------------- */

typedef struct child {
  int fd;
  char outcome[64];
} child;

static int child_send(void *user_data, cloudnotify_route route, cloudnotify_session *session,
                      const char *account, const char *to, const char *xml, size_t len) {
  (void)session;
  (void)account;
  (void)to;
  (void)len;
  child *c = user_data;
  if (route == CLOUDNOTIFY_ROUTE_CLIENT)
    g_strlcpy(c->outcome,
              strstr(xml, "type='result'") || strstr(xml, "type=\"result\"") ? "ok" : "refused",
              sizeof c->outcome);
  return 0;
}

/* Refusals the child can count on: every enable for veto.example. */
static int child_filter(void *user_data, cloudnotify_session *session, const char *account,
                        const char *jid, const char *node, const char **error_type,
                        const char **error_condition) {
  (void)user_data;
  (void)session;
  (void)account;
  (void)node;
  (void)error_type;
  (void)error_condition;
  return g_str_has_prefix(jid, "veto.") ? 1 : 0;
}

static void say(int fd, const char *line) {
  size_t n = strlen(line);
  /* One write of less than PIPE_BUF bytes: the parent never sees half a
   * line, however the child dies. */
  if (write(fd, line, n) != (ssize_t)n)
    _exit(3);
}

static G_NORETURN void run_child(const char *path, int fd, guint32 seed, guint64 seq_base) {
  child c = { .fd = fd };
  cloudnotify_callbacks cb = { .size = sizeof cb,
                               .send = child_send,
                               .registration_filter = child_filter };
  cloudnotify_ctx *ctx = NULL;
  if (cloudnotify_ctx_new(&ctx, &cb, &c))
    _exit(4);
  char *opt = g_strconcat("sqlite:", path, NULL);
  int rc = cloudnotify_ctx_set_option(ctx, "push_store", opt);
  if (rc) {
    fprintf(stderr, "child: push_store: %s\n", cloudnotify_strerror(rc));
    _exit(5);
  }
  cloudnotify_ctx_set_option(ctx, "push_max_devices", "1000");
  cloudnotify_session *s = NULL;
  if (cloudnotify_session_new(ctx, ACCOUNT, "phone", &s))
    _exit(6);
  GRand *r = g_rand_new_with_seed(seed);
  for (guint64 seq = seq_base;; seq++) {
    gboolean enable = g_rand_int_range(r, 0, 10) < 7;
    int j = g_rand_int_range(r, 0, N_JIDS + 1);
    char jid[32];
    if (j == N_JIDS)
      g_strlcpy(jid, "veto.example", sizeof jid);
    else
      g_snprintf(jid, sizeof jid, "p%d.example", j);
    const char *node = nodes[g_rand_int_range(r, 0, N_NODES)];
    char *iq =
        enable ? g_strdup_printf(
                     "<iq type='set' id='e%" G_GUINT64_FORMAT "'><enable xmlns='urn:xmpp:push:0' "
                     "jid='%s' node='%s'><x xmlns='jabber:x:data' type='submit'>"
                     "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#"
                     "publish-options</value></field><field var='secret'><value>S%" G_GUINT64_FORMAT
                     "E</value></field></x></enable></iq>",
                     seq, jid, node, seq)
               : g_strdup_printf("<iq type='set' id='d%" G_GUINT64_FORMAT
                                 "'><disable xmlns='urn:xmpp:push:0' jid='%s' node='%s'/></iq>",
                                 seq, jid, node);
    char line[256];
    g_snprintf(line, sizeof line, "I %" G_GUINT64_FORMAT " %c %s %s\n", seq, enable ? 'E' : 'D',
               jid, node);
    say(fd, line);
    /* One client identity per (jid, node): since 0.3 the enables of one
     * identity replace each other, and this test is about what the file
     * keeps, not about whose device a registration is. */
    char ident[64];
    g_snprintf(ident, sizeof ident, "%s/%s", jid, node);
    if (cloudnotify_session_set_client_id(s, ident))
      _exit(8);
    c.outcome[0] = 0;
    rc = cloudnotify_handle_client_iq(s, iq, strlen(iq));
    g_free(iq);
    if (rc || !c.outcome[0]) {
      fprintf(stderr, "child: no reply (%s)\n", cloudnotify_strerror(rc));
      _exit(7);
    }
    g_snprintf(line, sizeof line, "A %" G_GUINT64_FORMAT " %s\n", seq, c.outcome);
    say(fd, line);
  }
}

/* ---- the parent -------------------------------------------------------- */

typedef struct op {
  guint64 seq;
  gboolean enable;
  char *key; /* "jid node" */
} op;

typedef struct stats {
  guint64 acked, refused, inflight_committed, inflight_lost, lines;
} stats;

static char *key_of(const char *jid, const char *node) {
  return g_strdup_printf("%s %s", jid, node ? node : "-");
}

/* The model: key -> the seq of the enable whose form is stored. */
static void apply(GHashTable *model, const op *o) {
  if (o->enable)
    g_hash_table_insert(model, g_strdup(o->key), GSIZE_TO_POINTER((gsize)o->seq));
  else
    g_hash_table_remove(model, o->key);
}

static int collect(void *data, const char *account, const cloudnotify_record *rec) {
  if (strcmp(account, ACCOUNT))
    return 1;
  const char *f = rec->publish_options;
  char *form = f ? g_strndup(f, rec->publish_options_len) : NULL;
  const char *s = form ? strstr(form, ">S") : NULL;
  guint64 seq = s ? g_ascii_strtoull(s + 2, NULL, 10) : 0;
  g_free(form);
  g_hash_table_insert(data, key_of(rec->jid, rec->node), GSIZE_TO_POINTER((gsize)seq));
  return 0;
}

static gboolean same(GHashTable *a, GHashTable *b) {
  if (g_hash_table_size(a) != g_hash_table_size(b))
    return FALSE;
  GHashTableIter it;
  gpointer k, v, w;
  g_hash_table_iter_init(&it, a);
  while (g_hash_table_iter_next(&it, &k, &v))
    if (!g_hash_table_lookup_extended(b, k, NULL, &w) || w != v)
      return FALSE;
  return TRUE;
}

static GHashTable *model_new(void) {
  return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
}

static GHashTable *model_copy(GHashTable *m) {
  GHashTable *c = model_new();
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, m);
  while (g_hash_table_iter_next(&it, &k, &v))
    g_hash_table_insert(c, g_strdup(k), v);
  return c;
}

static void dump(const char *what, GHashTable *m) {
  fprintf(stderr, "%s:", what);
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, m);
  while (g_hash_table_iter_next(&it, &k, &v))
    fprintf(stderr, " [%s]=%" G_GSIZE_FORMAT, (char *)k, GPOINTER_TO_SIZE(v));
  fprintf(stderr, "\n");
}

static gboolean integrity_ok(const char *path) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  gboolean ok = FALSE;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    ok = !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
  if (!ok)
    fprintf(stderr, "integrity_check: %s\n",
            st ? (const char *)sqlite3_column_text(st, 0) : sqlite3_errmsg(db));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return ok;
}

static gint64 now_us(void) {
  return g_get_monotonic_time();
}

/* Read the child's lines until the deadline (or its death), kill it, and
 * read what is left.  Returns the whole text. */
static GString *watch_and_kill(pid_t pid, int fd, gint64 deadline) {
  GString *text = g_string_new(NULL);
  char buf[4096];
  for (;;) {
    gint64 left = deadline - now_us();
    if (left <= 0)
      break;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int n = poll(&p, 1, (int)((left + 999) / 1000));
    if (n <= 0)
      continue;
    ssize_t got = read(fd, buf, sizeof buf);
    if (got <= 0)
      break;
    g_string_append_len(text, buf, got);
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ssize_t got;
  while ((got = read(fd, buf, sizeof buf)) > 0)
    g_string_append_len(text, buf, got);
  if (!WIFSIGNALED(status)) {
    fprintf(stderr, "child exited by itself (status %d)\n", status);
    g_string_free(text, TRUE);
    return NULL;
  }
  return text;
}

/* Replay one child's lines over the model; *inflight is the announced
 * change without answer, if any. */
static gboolean replay(GString *text, GHashTable *model, op *inflight, stats *st) {
  gchar **lines = g_strsplit(text->str, "\n", -1);
  gboolean ok = TRUE;
  op cur = { 0 };
  gboolean have = FALSE;
  for (gchar **l = lines; *l && ok; l++) {
    if (!**l)
      continue;
    /* The last line may be cut if the pipe write raced the kill: it was
     * written whole or not at all, so a line is either complete here or
     * missing. */
    st->lines++;
    char kind, ek;
    guint64 seq;
    char jid[64], node[16], res[16];
    if (sscanf(*l, "I %" G_GUINT64_FORMAT " %c %63s %15s", &seq, &ek, jid, node) == 4 &&
        (*l)[0] == 'I') {
      if (have) {
        fprintf(stderr, "intent without answer before: %s\n", *l);
        ok = FALSE;
        break;
      }
      g_free(cur.key);
      cur = (op){ .seq = seq, .enable = ek == 'E', .key = key_of(jid, node) };
      have = TRUE;
    } else if (sscanf(*l, "%c %" G_GUINT64_FORMAT " %15s", &kind, &seq, res) == 3 && kind == 'A') {
      if (!have || seq != cur.seq) {
        fprintf(stderr, "answer without intent: %s\n", *l);
        ok = FALSE;
        break;
      }
      if (!strcmp(res, "ok")) {
        apply(model, &cur);
        st->acked++;
      } else {
        st->refused++;
        /* A refused enable must leave no trace: the model says what the
         * key held before. */
      }
      have = FALSE;
    } else {
      fprintf(stderr, "unreadable line: %s\n", *l);
      ok = FALSE;
    }
  }
  g_strfreev(lines);
  if (have)
    *inflight = cur;
  else
    g_free(cur.key);
  return ok;
}

int main(int argc, char **argv) {
  gint kills = 50, max_delay_ms = 100;
  gint64 seed = 0;
  gchar *dir = NULL;
  GOptionEntry entries[] = {
    { "kills", 0, 0, G_OPTION_ARG_INT, &kills, "SIGKILLs to deliver (default 50)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, "random seed (default: time)", "S" },
    { "max-delay-ms", 0, 0, G_OPTION_ARG_INT, &max_delay_ms,
      "longest a child runs before its kill (default 100)", "M" },
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &dir,
      "directory for the database (default: a new "
      "temporary one, removed at the end)",
      "D" },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };
  GOptionContext *oc = g_option_context_new("- SIGKILL durability test of the SQLite store");
  g_option_context_add_main_entries(oc, entries, NULL);
  GError *err = NULL;
  if (!g_option_context_parse(oc, &argc, &argv, &err) || kills < 1 || max_delay_ms < 1) {
    fprintf(stderr, "%s\n", err ? err->message : "--kills and --max-delay-ms must be positive");
    return 2;
  }
  g_option_context_free(oc);
  if (!seed)
    seed = (gint64)time(NULL);
  gboolean own_dir = !dir;
  if (own_dir)
    dir = g_dir_make_tmp("cn-durability-XXXXXX", NULL);
  char *path = g_build_filename(dir, "registrations.db", NULL);
  printf("durability-sqlite: %d kills, seed %" G_GINT64_FORMAT ", database %s\n", kills, seed,
         path);
  fflush(stdout);

  GRand *r = g_rand_new_with_seed((guint32)seed);
  GHashTable *model = model_new();
  stats st = { 0 };
  int failed = 0;
  for (int k = 0; k < kills && !failed; k++) {
    int fds[2];
    if (pipe(fds))
      return 2;
    guint32 child_seed = g_rand_int(r);
    gint64 delay = g_rand_int_range(r, 0, max_delay_ms * 1000);
    pid_t pid = fork();
    if (pid < 0)
      return 2;
    if (pid == 0) {
      close(fds[0]);
      run_child(path, fds[1], child_seed, (guint64)(k + 1) * 1000000);
    }
    close(fds[1]);
    GString *text = watch_and_kill(pid, fds[0], now_us() + delay);
    close(fds[0]);
    if (!text) {
      failed = 1;
      break;
    }
    op inflight = { 0 };
    if (!replay(text, model, &inflight, &st))
      failed = 1;
    g_string_free(text, TRUE);

    GHashTable *actual = model_new();
    cloudnotify_sqlite *db = NULL;
    int rc = cloudnotify_sqlite_open(path, 0, &db);
    /* A kill before the first child created the file leaves nothing. */
    if (rc == 0)
      rc = cloudnotify_sqlite_foreach(db, NULL, collect, actual);
    if (rc) {
      fprintf(stderr, "kill %d: reopening: %s (%s)\n", k, cloudnotify_strerror(rc),
              cloudnotify_sqlite_errmsg(db));
      failed = 1;
    }
    cloudnotify_sqlite_close(db);
    if (!failed && !same(actual, model)) {
      GHashTable *with = model_copy(model);
      if (inflight.key)
        apply(with, &inflight);
      if (inflight.key && same(actual, with)) {
        st.inflight_committed++;
        g_hash_table_unref(model);
        model = g_steal_pointer(&with);
      } else {
        fprintf(stderr, "kill %d: the database does not hold what was acknowledged\n", k);
        dump("acknowledged", model);
        dump("database", actual);
        failed = 1;
      }
      if (with)
        g_hash_table_unref(with);
    } else if (inflight.key) {
      st.inflight_lost++;
    }
    if (!failed && !integrity_ok(path)) {
      fprintf(stderr, "kill %d: integrity_check failed\n", k);
      failed = 1;
    }
    g_free(inflight.key);
    g_hash_table_unref(actual);
    if ((k + 1) % 100 == 0 && !failed) {
      printf("  %d kills verified\n", k + 1);
      fflush(stdout);
    }
  }
  printf("%s: %d kills, %" G_GUINT64_FORMAT " changes acknowledged, %" G_GUINT64_FORMAT
         " refused, in flight at the kill: %" G_GUINT64_FORMAT " committed, %" G_GUINT64_FORMAT
         " not; %u registrations at the end\n",
         failed ? "FAILED" : "ok", kills, st.acked, st.refused, st.inflight_committed,
         st.inflight_lost, g_hash_table_size(model));
  g_hash_table_unref(model);
  g_rand_free(r);
  if (own_dir && !failed) {
    char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
      fprintf(stderr, "could not remove %s\n", dir);
    g_free(cmd);
  }
  g_free(path);
  g_free(dir);
  return failed;
}
