/* The session and trigger rules of DESIGN.md section 3 ("When to notify",
 * "Hibernation"), each written as a short script so that a reader can
 * check the rule against the expected host-visible effects line by line.
 *
 * Script lines (tokens separated by one space):
 *   session S [ACCOUNT]          new session S (resource S), default ALICE
 *   enable S JID NODE            enable push from S; the reply must be a result
 *   disable S JID [NODE]         disable from S; the reply must be a result
 *   hibernate S [STANZA...]      S hibernated with that queue (none: use queued)
 *   queue S STANZA               stanza added to S's stream-management queue
 *   resume S / close S           resumed / cloudnotify_session_free
 *   ackreq S / ack S H           <r/> sent / <a h='H'/> received
 *   ackdelay S [STANZA...]       the host saw the ack overdue
 *   offline STANZA               message stored offline for ALICE
 *   archive STANZA [ARCHIVE_ID]  message archived for ALICE
 *   option NAME VALUE            cloudnotify_ctx_set_option ('' = empty)
 *   reply N|all TYPE             answer publish N (0-based) or every unanswered
 *   advance MS / tick            move the fake clock / run due timers
 *   ... => ERR                   the call must fail with CLOUDNOTIFY_ERR_ERR
 *   expect pushes N [Q...]       N publishes since the last "expect pushes";
 *                                Q (one per publish, in order) is a comma list of
 *                                important | unimportant | node=X | body=X
 *   expect hib [S V...]          hibernation_timeout calls since the last
 *                                "expect hib": a session name selects, a
 *                                number is one call for it
 *   expect removed [NODE:REASON...]  registration_removed calls since the last
 *   expect timer MS              cloudnotify_next_timeout (-1: none)
 * A script ends with every publish, hibernation_timeout and removal
 * accounted for by an expect, so nothing may fire unannounced. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALICE "juliet@capulet.example"
#define ROMEO "romeo@montague.example/orchard"

#define CHAT(id, inner)                                                                            \
  "<message xmlns='jabber:client' type='chat' from='" ROMEO "' to='" ALICE "' id='" id "'>" inner  \
  "</message>"

/* Named stanzas; each has its own id so that de-duplication never hides a
 * stanza the script means to be new. */
static const struct {
  const char *name;
  const char *xml;
} stanzas[] = {
  { "m1", CHAT("m1", "<body>hello-m1</body>") },
  { "m2", CHAT("m2", "<body>hello-m2</body>") },
  { "m3", CHAT("m3", "<body>hello-m3</body>") },
  { "m4", CHAT("m4", "<body>hello-m4</body>") },
  { "m5", CHAT("m5", "<body>hello-m5</body>") },
  { "m6", CHAT("m6", "<body>hello-m6</body>") },
  /* For the second account: a message to another account is that
   * account's own outgoing copy, never pushed. */
  { "n2", "<message xmlns='jabber:client' type='chat' from='" ROMEO "' "
          "to='nurse@capulet.example' id='n2'><body>hello-n2</body></message>" },
  { "n4", "<message xmlns='jabber:client' type='chat' from='" ROMEO "' "
          "to='nurse@capulet.example' id='n4'><body>hello-n4</body></message>" },
  /* As a server with MAM delivers it: the archive id rides along, so the
   * offline, archived and queued copies share one identity. */
  { "m8",
    CHAT("m8", "<body>hello-m8</body><stanza-id xmlns='urn:xmpp:sid:0' by='" ALICE "' id='X8'/>") },
  { "m9",
    CHAT("m9", "<body>hello-m9</body><stanza-id xmlns='urn:xmpp:sid:0' by='" ALICE "' id='X9'/>") },
  { "c1", CHAT("c1", "<composing xmlns='http://jabber.org/protocol/chatstates'/>") },
  { "c2", CHAT("c2", "<paused xmlns='http://jabber.org/protocol/chatstates'/>") },
  { "call", CHAT("call1", "<propose xmlns='urn:xmpp:jingle-message:0' id='c1'>"
                          "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"
                          "</propose>") },
  { "carbon_out",
    "<message xmlns='jabber:client' from='" ALICE "' to='" ALICE "/phone' type='chat' "
    "id='co1'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
    "<message xmlns='jabber:client' from='" ALICE "/laptop' to='romeo@montague.example' "
    "type='chat' id='out1'><body>see you</body></message></forwarded></sent></message>" },
};

static const char *stanza_xml(const char *name) {
  for (size_t i = 0; i < G_N_ELEMENTS(stanzas); i++)
    if (!strcmp(stanzas[i].name, name))
      return stanzas[i].xml;
  return NULL;
}

static const struct {
  const char *name;
  int code;
} errors[] = {
  { "STATE", CLOUDNOTIFY_ERR_STATE },
  { "INVALID_ARGUMENT", CLOUDNOTIFY_ERR_INVALID_ARGUMENT },
  { "NOT_MINE", CLOUDNOTIFY_ERR_NOT_MINE },
  { "XML", CLOUDNOTIFY_ERR_XML },
};

/* The host's timing (harness.h): CN_HOST_MODE=sync|later|shuffle|fail runs
 * every script with a host answering at once, later in the same step, in
 * a shuffled order when results are needed, or (fail) once per answer the
 * script needs with that answer a failure.  A failure changes what the
 * script expects, so those runs check the invariants instead: each client
 * IQ gets one reply and an error when an answer it waited for failed (in
 * fh_iq), no question is left open, and memory agrees with the store. */
static fh_mode scenario_mode = FH_SYNC;
static int scenario_lenient;

typedef struct scenario {
  const char *name;
  unsigned lineno;
  const char *line;
  fake_host h;
  GHashTable *sessions; /* name -> cloudnotify_session* */
  GArray *replied;      /* gboolean per publish */
  guint sent_seen, hib_seen, removed_seen, hib_checked;
} scenario;

#define CHECK(sc, cond, ...)                                                                       \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      print_error("%s, line %u: \"%s\"\n", (sc)->name, (sc)->lineno, (sc)->line);                  \
      fail_msg(__VA_ARGS__);                                                                       \
    }                                                                                              \
  } while (0)

static cloudnotify_session *sess(scenario *sc, const char *name) {
  cloudnotify_session *s = name ? g_hash_table_lookup(sc->sessions, name) : NULL;
  CHECK(sc, s != NULL, "no session named %s", name ? name : "(missing)");
  return s;
}

static const char *sess_name(scenario *sc, cloudnotify_session *s) {
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, sc->sessions);
  while (g_hash_table_iter_next(&it, &k, &v))
    if (v == s)
      return k;
  return NULL;
}

static const char *xml_of(scenario *sc, const char *name) {
  const char *x = name ? stanza_xml(name) : NULL;
  CHECK(sc, x != NULL, "unknown stanza %s", name ? name : "(missing)");
  return x;
}

/* Stanza arguments from tok[from] on as an array of buffers. */
static cloudnotify_buf *bufs(scenario *sc, char **tok, guint from, guint ntok, size_t *n) {
  *n = ntok > from ? ntok - from : 0;
  cloudnotify_buf *b = g_new0(cloudnotify_buf, *n ? *n : 1);
  for (size_t i = 0; i < *n; i++) {
    b[i].data = xml_of(sc, tok[from + i]);
    b[i].len = strlen(b[i].data);
  }
  return b;
}

static void client_reply_is_result(scenario *sc) {
  const fh_sent *last = fh_last(&sc->h);
  CHECK(sc, last && last->route == CLOUDNOTIFY_ROUTE_CLIENT, "no reply to the client");
  char *o = fh_outcome(last->xml);
  CHECK(sc, o && !strcmp(o, "result"), "client got %s", o ? o : "(nothing)");
  g_free(o);
}

/* Every hibernation_timeout call must name a session that is still open:
 * a call about a closed one would reach the host with a dangling handle. */
static void check_hib_sessions(scenario *sc) {
  for (; sc->hib_checked < sc->h.hib->len; sc->hib_checked++) {
    const fh_hib *e = sc->h.hib->pdata[sc->hib_checked];
    CHECK(sc, sess_name(sc, e->session) != NULL, "hibernation_timeout for a closed session");
  }
}

static gboolean publish_matches(scenario *sc, const fh_sent *p, const char *qual) {
  char **q = g_strsplit(qual, ",", -1);
  gboolean ok = TRUE;
  char *body = fh_field(p->xml, "last-message-body");
  for (char **c = q; *c && ok; c++) {
    if (!strcmp(*c, "important")) {
      ok = body != NULL;
    } else if (!strcmp(*c, "unimportant")) {
      ok = body == NULL;
    } else if (g_str_has_prefix(*c, "body=")) {
      ok = body && !strcmp(body, *c + 5);
    } else if (g_str_has_prefix(*c, "node=")) {
      char *want = g_strdup_printf("<publish node='%s'>", *c + 5);
      ok = strstr(p->xml, want) != NULL;
      g_free(want);
    } else {
      CHECK(sc, FALSE, "unknown qualifier %s", *c);
    }
  }
  if (!ok)
    print_error("publish %s does not match %s\n", p->xml, qual);
  g_free(body);
  g_strfreev(q);
  return ok;
}

static void expect_pushes(scenario *sc, char **tok, guint ntok) {
  CHECK(sc, ntok >= 3, "expect pushes needs a count");
  guint want = (guint)atoi(tok[2]);
  GPtrArray *got = g_ptr_array_new();
  for (guint i = sc->sent_seen; i < sc->h.sent->len; i++) {
    const fh_sent *p = sc->h.sent->pdata[i];
    if (p->route == CLOUDNOTIFY_ROUTE_APP_SERVER)
      g_ptr_array_add(got, (gpointer)p);
  }
  sc->sent_seen = sc->h.sent->len;
  guint nq = ntok - 3;
  CHECK(sc, got->len == want, "%u publishes, want %u", got->len, want);
  CHECK(sc, nq == 0 || nq == want, "%u qualifiers for %u publishes", nq, want);
  for (guint i = 0; i < nq; i++)
    CHECK(sc, publish_matches(sc, got->pdata[i], tok[3 + i]), "publish %u: want %s", i, tok[3 + i]);
  g_ptr_array_free(got, TRUE);
}

static void expect_hib(scenario *sc, char **tok, guint ntok) {
  cloudnotify_session *cur = NULL;
  guint at = sc->hib_seen;
  for (guint i = 2; i < ntok; i++) {
    char *end;
    long long v = strtoll(tok[i], &end, 10);
    if (*end) {
      cur = sess(sc, tok[i]);
      continue;
    }
    CHECK(sc, cur != NULL, "name a session before a value");
    CHECK(sc, at < sc->h.hib->len, "missing hibernation_timeout(%s, %lld)", sess_name(sc, cur), v);
    const fh_hib *e = sc->h.hib->pdata[at++];
    CHECK(sc, e->session == cur && e->seconds == v,
          "hibernation_timeout(%s, %lld), want (%s, %lld)", sess_name(sc, e->session),
          (long long)e->seconds, sess_name(sc, cur), v);
  }
  if (at < sc->h.hib->len) {
    const fh_hib *e = sc->h.hib->pdata[at];
    CHECK(sc, FALSE, "unexpected hibernation_timeout(%s, %lld)", sess_name(sc, e->session),
          (long long)e->seconds);
  }
  sc->hib_seen = at;
}

static void expect_removed(scenario *sc, char **tok, guint ntok) {
  static const char *const reasons[] = { "", "disabled", "errors", "evicted" };
  guint at = sc->removed_seen;
  for (guint i = 2; i < ntok; i++, at++) {
    CHECK(sc, at < sc->h.removed->len, "missing removal %s", tok[i]);
    const fh_removed *r = sc->h.removed->pdata[at];
    char *got = g_strdup_printf("%s:%s", r->node ? r->node : "", reasons[r->reason]);
    CHECK(sc, !strcmp(got, tok[i]), "removal %s, want %s", got, tok[i]);
    g_free(got);
  }
  CHECK(sc, at == sc->h.removed->len, "unexpected removal");
  sc->removed_seen = at;
}

static void expect_timer(scenario *sc, char **tok, guint ntok) {
  CHECK(sc, ntok == 3, "expect timer MS");
  int64_t want = strtoll(tok[2], NULL, 10);
  int64_t got = cloudnotify_next_timeout(sc->h.ctx);
  CHECK(sc, got == want, "next timeout %lld, want %lld", (long long)got, (long long)want);
  /* The host arms its timer from timer_changed alone: when nothing is
   * pending any more it must have been told so (or never told of a timer:
   * -2 in the harness). */
  if (want == -1)
    CHECK(sc, sc->h.timer == -1 || sc->h.timer == -2, "host last told %lld, not -1",
          (long long)sc->h.timer);
}

static void reply(scenario *sc, char **tok, guint ntok) {
  CHECK(sc, ntok == 3, "reply N|all TYPE");
  unsigned n = fh_count(&sc->h, CLOUDNOTIFY_ROUTE_APP_SERVER);
  if (sc->replied->len < n)
    g_array_set_size(sc->replied, n);
  unsigned lo = 0, hi = n;
  if (strcmp(tok[1], "all")) {
    lo = (unsigned)atoi(tok[1]);
    hi = lo + 1;
    CHECK(sc, lo < n, "no publish %u", lo);
  }
  for (unsigned i = lo; i < hi; i++) {
    if (g_array_index(sc->replied, gboolean, i))
      continue;
    int rc = fh_reply(&sc->h, i, tok[2], NULL);
    CHECK(sc, rc == 0, "reply to publish %u: %s", i, cloudnotify_strerror(rc));
    g_array_index(sc->replied, gboolean, i) = TRUE;
  }
}

/* Runs one command; returns the library's rc (0 for pure test steps). */
static int command(scenario *sc, char **tok, guint ntok) {
  const char *op = tok[0];
  const char *a1 = ntok > 1 ? tok[1] : NULL;
  cloudnotify_ctx *ctx = sc->h.ctx;
  int rc = 0;
  if (!strcmp(op, "session")) {
    cloudnotify_session *s = NULL;
    CHECK(sc, a1 && !g_hash_table_contains(sc->sessions, a1), "bad session name");
    rc = cloudnotify_session_new(ctx, ntok > 2 ? tok[2] : ALICE, a1, &s);
    if (rc == 0)
      rc = cloudnotify_session_sm_enabled(s);
    if (rc == 0)
      g_hash_table_insert(sc->sessions, g_strdup(a1), s);
  } else if (!strcmp(op, "enable")) {
    CHECK(sc, ntok == 4, "enable S JID NODE");
    rc = fh_enable(sess(sc, a1), tok[2], tok[3], NULL);
    if (rc == 0 && !scenario_lenient)
      client_reply_is_result(sc);
  } else if (!strcmp(op, "disable")) {
    rc = fh_disable(sess(sc, a1), tok[2], ntok > 3 ? tok[3] : NULL);
    if (rc == 0 && !scenario_lenient)
      client_reply_is_result(sc);
  } else if (!strcmp(op, "hibernate") || !strcmp(op, "ackdelay")) {
    size_t n;
    cloudnotify_buf *b = bufs(sc, tok, 2, ntok, &n);
    cloudnotify_session *s = sess(sc, a1);
    rc = op[0] == 'h' ? cloudnotify_session_hibernated(s, b, n)
                      : cloudnotify_session_ack_delayed(s, b, n);
    g_free(b);
  } else if (!strcmp(op, "queue")) {
    CHECK(sc, ntok == 3, "queue S STANZA");
    const char *x = xml_of(sc, tok[2]);
    rc = cloudnotify_session_queued(sess(sc, a1), x, strlen(x));
  } else if (!strcmp(op, "resume")) {
    rc = cloudnotify_session_resumed(sess(sc, a1));
  } else if (!strcmp(op, "close")) {
    cloudnotify_session_free(sess(sc, a1));
    g_hash_table_remove(sc->sessions, a1);
  } else if (!strcmp(op, "ackreq")) {
    rc = cloudnotify_session_ack_requested(sess(sc, a1));
  } else if (!strcmp(op, "ack")) {
    CHECK(sc, ntok == 3, "ack S H");
    rc = cloudnotify_session_acked(sess(sc, a1), (uint32_t)strtoul(tok[2], NULL, 10));
  } else if (!strcmp(op, "offline")) {
    const char *x = xml_of(sc, a1);
    rc = cloudnotify_message_offline(ctx, ALICE, x, strlen(x), NULL);
  } else if (!strcmp(op, "archive")) {
    const char *x = xml_of(sc, a1);
    rc = cloudnotify_message_archived(ctx, ALICE, x, strlen(x), ntok > 2 ? tok[2] : NULL, NULL);
  } else if (!strcmp(op, "option")) {
    CHECK(sc, ntok == 3, "option NAME VALUE");
    rc = cloudnotify_ctx_set_option(ctx, a1, strcmp(tok[2], "''") ? tok[2] : "");
  } else if (!strcmp(op, "reply")) {
    if (!scenario_lenient)
      reply(sc, tok, ntok);
  } else if (!strcmp(op, "advance")) {
    CHECK(sc, ntok == 2, "advance MS");
    sc->h.now += strtoll(a1, NULL, 10);
  } else if (!strcmp(op, "tick")) {
    rc = cloudnotify_tick(ctx);
  } else if (!strcmp(op, "expect")) {
    CHECK(sc, a1 != NULL, "expect what?");
    if (scenario_lenient)
      ;
    else if (!strcmp(a1, "pushes"))
      expect_pushes(sc, tok, ntok);
    else if (!strcmp(a1, "hib"))
      expect_hib(sc, tok, ntok);
    else if (!strcmp(a1, "removed"))
      expect_removed(sc, tok, ntok);
    else if (!strcmp(a1, "timer"))
      expect_timer(sc, tok, ntok);
    else
      CHECK(sc, FALSE, "unknown expectation %s", a1);
  } else {
    CHECK(sc, FALSE, "unknown command %s", op);
  }
  return rc;
}

/* Commands whose effects a script looks at only through a later
 * "expect": with FH_SHUFFLE their questions stay open across them. */
static gboolean may_wait(const char *op) {
  static const char *const ops[] = { "session", "queue",     "offline",  "archive", "ackreq",
                                     "ack",     "hibernate", "ackdelay", "resume",  "tick" };
  for (size_t i = 0; i < G_N_ELEMENTS(ops); i++)
    if (!strcmp(op, ops[i]))
      return TRUE;
  return FALSE;
}

static gint str_ptr_cmp(gconstpointer a, gconstpointer b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Memory agrees with the store: a ping reaches exactly the stored rows. */
static void check_store_agrees(scenario *sc) {
  fake_host *h = &sc->h;
  fh_settle(h);
  CHECK(sc, fh_open_ops(h) == 0, "questions left open");
  fh_mode mode = h->mode;
  h->mode = FH_SYNC;
  guint before = h->sent->len;
  unsigned n;
  CHECK(sc, cloudnotify_ping(h->ctx, ALICE, NULL, 0, &n) == 0, "ping");
  GPtrArray *got = g_ptr_array_new_with_free_func(g_free);
  GPtrArray *want = g_ptr_array_new_with_free_func(g_free);
  for (guint i = before; i < h->sent->len; i++) {
    const fh_sent *p = h->sent->pdata[i];
    if (p->route != CLOUDNOTIFY_ROUTE_APP_SERVER)
      continue;
    const char *at = strstr(p->xml, "<publish node='");
    char *node = at ? g_strndup(at + 15, strcspn(at + 15, "'")) : g_strdup("");
    g_ptr_array_add(got, g_strdup_printf("%s<%s", p->to, node));
    g_free(node);
  }
  for (guint i = 0; i < h->rows->len; i++) {
    const fh_row *r = h->rows->pdata[i];
    if (!strcmp(r->account, ALICE))
      g_ptr_array_add(want, g_strdup_printf("%s<%s", r->jid, r->node ? r->node : ""));
  }
  g_ptr_array_sort(got, str_ptr_cmp);
  g_ptr_array_sort(want, str_ptr_cmp);
  CHECK(sc, got->len == want->len, "%u registrations pushed, %u stored", got->len, want->len);
  for (guint i = 0; i < got->len; i++) {
    const char *const *g = (const char *const *)got->pdata, *const *w =
                                                                (const char *const *)want->pdata;
    CHECK(sc, !strcmp(g[i], w[i]), "pushed %s, stored %s", g[i], w[i]);
  }
  g_ptr_array_free(got, TRUE);
  g_ptr_array_free(want, TRUE);
  h->mode = mode;
}

/* One run of a script; returns the answers given through completions. */
static unsigned run_once(const char *name, const char *const *lines) {
  scenario sc = { .name = name };
  fh_init(&sc.h);
  /* The scripts use chat states (c1, c2) as their unimportant stanzas, as
   * in 0.2; push_quiet, which drops them, is test-quiet's business. */
  assert_int_equal(cloudnotify_ctx_set_option(sc.h.ctx, "push_quiet", "false"), 0);
  sc.sessions = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  sc.replied = g_array_new(FALSE, TRUE, sizeof(gboolean));
  for (unsigned i = 0; lines[i]; i++) {
    sc.lineno = i + 1;
    sc.line = lines[i];
    char **parts = g_strsplit(lines[i], " => ", 2);
    char **tok = g_strsplit(parts[0], " ", -1);
    guint ntok = g_strv_length(tok);
    for (guint k = 0; k < ntok; k++)
      CHECK(&sc, tok[k][0] != '\0', "stray space");
    int want = 0;
    if (parts[1]) {
      want = 1;
      for (size_t k = 0; k < G_N_ELEMENTS(errors); k++)
        if (!strcmp(parts[1], errors[k].name))
          want = errors[k].code;
      CHECK(&sc, want < 0, "unknown error %s", parts[1]);
    }
    /* An error the script expects comes from the state the earlier lines
     * left: their answers are in before the call. */
    fh_step(&sc.h, parts[1] || !may_wait(tok[0]));
    int rc = command(&sc, tok, ntok);
    fh_step(&sc.h, parts[1] != NULL);
    if (!scenario_lenient)
      CHECK(&sc, rc == want, "rc %d (%s), want %d", rc, cloudnotify_strerror(rc), want);
    check_hib_sessions(&sc);
    g_strfreev(tok);
    g_strfreev(parts);
  }
  sc.line = "(end of script)";
  sc.lineno++;
  fh_settle(&sc.h);
  if (!scenario_lenient) {
    char *pushes[] = { "expect", "pushes", "0" };
    char *hib[] = { "expect", "hib" };
    char *removed[] = { "expect", "removed" };
    expect_pushes(&sc, pushes, 3);
    expect_hib(&sc, hib, 2);
    expect_removed(&sc, removed, 2);
  }
  if (scenario_mode != FH_SYNC)
    check_store_agrees(&sc);
  unsigned completions = sc.h.completions;
  g_hash_table_destroy(sc.sessions);
  g_array_free(sc.replied, TRUE);
  fh_fini(&sc.h);
  return completions;
}

static void run_scenario(const char *name, const char *const *lines) {
  if (scenario_mode != FH_FAIL_NTH) {
    fh_default_mode = scenario_mode;
    run_once(name, lines);
    return;
  }
  fh_default_mode = FH_LATER;
  unsigned n = run_once(name, lines);
  /* Each answer in turn fails. */
  fh_default_mode = FH_FAIL_NTH;
  scenario_lenient = 1;
  for (unsigned k = 1; k <= n; k++) {
    fh_default_fail_at = k;
    run_once(name, lines);
  }
  scenario_lenient = 0;
}

#define SCENARIO(name, ...)                                                                        \
  static const char *const name##_script[] = { __VA_ARGS__, NULL };                                \
  static void name(void **state) {                                                                 \
    (void)state;                                                                                   \
    run_scenario(#name, name##_script);                                                            \
  }

/* Hibernation pushes once for what the device never acknowledged, and a
 * batch costs at most one important and one unimportant push. */
SCENARIO(hibernation_pushes_unacked_queue, "session phone", "enable phone push.example n1",
         "queue phone m1", "queue phone c1", "queue phone m2", "queue phone c2", "expect pushes 0",
         "hibernate phone", "expect pushes 2 important,node=n1 unimportant,node=n1",
         "expect hib phone 259200 -1")

SCENARIO(hibernation_batch_given_by_host, "option push_notification_with_body true",
         "session phone", "enable phone push.example n1", "hibernate phone c1 m1 m2 m3 c2",
         "expect pushes 2 unimportant body=hello-m1", "expect hib phone 259200 -1",
         "expect timer 300000", "reply all result", "expect timer -1")

SCENARIO(hibernation_with_empty_queue_sends_nothing, "session phone",
         "enable phone push.example n1", "hibernate phone", "expect pushes 0",
         "expect hib phone 259200", "expect timer -1")

/* Stanzas arriving while hibernated share one push per window; the window
 * opens with the first stanza and later stanzas do not stretch it. */
SCENARIO(coalesce_default_window, "session phone", "enable phone push.example n1",
         "hibernate phone", "expect hib phone 259200", "queue phone m1", "expect timer 1000",
         "advance 400", "queue phone m2", "expect timer 600", "advance 599", "tick",
         "expect pushes 0", "advance 1", "tick", "expect pushes 1 important", "expect hib phone -1",
         "reply all result", "expect timer -1", "queue phone m3", "expect timer 1000",
         "advance 1000", "tick", "expect pushes 1 important")

SCENARIO(coalesce_window_200ms, "option push_coalesce_ms 200", "session phone",
         "enable phone push.example n1", "hibernate phone", "queue phone c1", "queue phone c2",
         "expect timer 200", "advance 199", "tick", "expect pushes 0", "advance 1", "tick",
         "expect pushes 1 unimportant", "expect hib phone 259200")

SCENARIO(coalesce_window_zero_pushes_at_once, "option push_coalesce_ms 0", "session phone",
         "enable phone push.example n1", "hibernate phone", "expect hib phone 259200",
         "queue phone c1", "expect pushes 1 unimportant", "queue phone m1",
         "expect pushes 1 important", "expect hib phone -1", "queue phone m2",
         "expect pushes 1 important", "reply all result", "expect timer -1")

SCENARIO(burst_of_five_one_push, "session phone", "enable phone push.example n1", "hibernate phone",
         "queue phone m1", "advance 100", "queue phone m2", "advance 100", "queue phone m3",
         "advance 100", "queue phone m4", "advance 100", "queue phone m5", "expect pushes 0",
         "advance 600", "tick", "expect pushes 1 important", "expect hib phone 259200 -1",
         "reply all result", "expect timer -1")

SCENARIO(resume_cancels_coalesced_push, "session phone", "enable phone push.example n1",
         "hibernate phone", "queue phone m1", "advance 500", "resume phone", "expect timer -1",
         "advance 1000", "tick", "expect pushes 0",
         /* Resumption restores the normal timeout by itself: no callback. */
         "expect hib phone 259200")

/* After a resumption the host resends what is still unacknowledged; only
 * stanzas never pushed before may cause the second hibernation's push. */
SCENARIO(rehibernation_pushes_only_new_stanzas, "option push_notification_with_body true",
         "session phone", "enable phone push.example n1", "hibernate phone", "queue phone m1",
         "advance 1000", "tick", "expect pushes 1 body=hello-m1", "resume phone", "queue phone m1",
         "hibernate phone", "expect pushes 0", "resume phone", "queue phone m1", "queue phone m2",
         "hibernate phone", "expect pushes 1 body=hello-m2",
         "expect hib phone 259200 -1 259200 259200 -1")

/* smacks_max_ack_delay after the request, not after the stanza. */
SCENARIO(ack_overdue_pushes, "option push_notification_with_body true", "session phone",
         "enable phone push.example n1", "queue phone m1", "advance 5000", "queue phone m2",
         "ackreq phone", "expect timer 30000", "advance 29999", "tick", "expect pushes 0",
         "advance 1", "tick", "expect pushes 1 body=hello-m1", "ack phone 2", "reply all result",
         "expect timer -1")

SCENARIO(ack_in_time_no_push, "session phone", "enable phone push.example n1", "queue phone m1",
         "ackreq phone", "advance 29999", "ack phone 1", "expect timer -1", "advance 10000", "tick",
         "expect pushes 0")

/* An ack covering only part of the request leaves the rest overdue. */
SCENARIO(ack_partial_pushes_the_rest, "option push_notification_with_body true", "session phone",
         "enable phone push.example n1", "queue phone m1", "queue phone m2", "ackreq phone",
         "advance 10000", "ack phone 1", "expect timer 20000", "advance 20000", "tick",
         "expect pushes 1 body=hello-m2")

/* Stream-management counts every stanza, pushed for or not: an ack
 * counts stanzas sent before push was enabled too. */
SCENARIO(ack_counts_stanzas_queued_before_enable, "option push_notification_with_body true",
         "session phone", "queue phone m1", "enable phone push.example n1", "queue phone m2",
         "ackreq phone", "ack phone 1", "advance 30000", "tick", "expect pushes 1 body=hello-m2")

/* A later <r/> must not push the deadline of an earlier one back. */
SCENARIO(ack_clock_runs_from_oldest_request, "session phone", "enable phone push.example n1",
         "queue phone m1", "ackreq phone", "advance 20000", "queue phone m2", "ackreq phone",
         "expect timer 10000", "advance 10000", "tick", "expect pushes 1 important")

/* The hibernation push takes over from the ack clock of the live
 * session; the outgoing carbon keeps the queue non-empty without
 * causing a push of its own, so only a stray ack timer could show. */
SCENARIO(hibernation_stops_ack_clock, "session phone", "enable phone push.example n1",
         "queue phone carbon_out", "ackreq phone", "expect timer 30000", "hibernate phone",
         "expect pushes 0", "expect hib phone 259200", "expect timer -1")

/* Resent stanzas are counted again from the last ack, so an ack after
 * resumption covers exactly what the client received. */
SCENARIO(resumption_renumbers_resent_stanzas, "session phone", "enable phone push.example n1",
         "queue phone m1", "queue phone m2", "ack phone 1", "hibernate phone",
         "expect pushes 1 important", "expect hib phone 259200 -1", "reply all result",
         "resume phone", "queue phone m2", "queue phone m3", "ackreq phone", "ack phone 3",
         "advance 30000", "tick", "expect pushes 0", "expect timer -1")

/* The host restored its normal timeout itself on resumption; a later
 * removal of the registration has nothing to take back. */
SCENARIO(resume_ends_extension_without_callback, "session phone", "enable phone push.example n1",
         "session laptop", "hibernate phone", "expect hib phone 259200", "resume phone",
         "disable laptop push.example n1", "expect removed n1:disabled", "expect hib")

SCENARIO(no_extension_when_max_hibernation_timeout_zero, "option push_max_hibernation_timeout 0",
         "session phone", "enable phone push.example n1", "hibernate phone m1",
         "expect pushes 1 important", "expect hib")

SCENARIO(ack_delay_option_changed, "option smacks_max_ack_delay 5", "session phone",
         "enable phone push.example n1", "queue phone c1", "ackreq phone", "expect timer 5000",
         "advance 4999", "tick", "expect pushes 0", "advance 1", "tick",
         "expect pushes 1 unimportant")

SCENARIO(ack_delayed_by_host, "session phone", "enable phone push.example n1", "queue phone m1",
         "ackdelay phone", "expect pushes 1 important", "ackdelay phone m2 c1 m3",
         "expect pushes 2 important unimportant",
         /* Already pushed for: nothing new to say. */
         "ackdelay phone m1", "expect pushes 0")

SCENARIO(online_acking_device_gets_no_push, "session phone", "enable phone push.example n1",
         "queue phone m1", "ackreq phone", "advance 2000", "ack phone 1", "queue phone m2",
         "queue phone c1", "ackreq phone", "advance 2000", "ack phone 3", "archive m1 A1",
         "archive m2 A2", "advance 60000", "tick", "expect pushes 0", "expect hib",
         "expect timer -1")

/* The registration outlives its session; both routes of one stanza must
 * end in one push whichever comes first. */
SCENARIO(offline_and_archived_push_once, "session phone", "enable phone push.example n1",
         "close phone", "offline m9", "expect pushes 1 important", "archive m9 X9",
         "expect pushes 0", "archive m8 X8", "expect pushes 1 important", "offline m8",
         "expect pushes 0", "archive m1", "offline m1", "expect pushes 1")

SCENARIO(outgoing_carbon_never_pushes, "session laptop", "enable laptop push.example n2",
         "close laptop", "offline carbon_out", "archive carbon_out A1", "expect pushes 0",
         "session phone", "enable phone push.example n1", "queue phone carbon_out", "ackreq phone",
         "advance 30000", "tick", "ackdelay phone carbon_out", "hibernate phone",
         "queue phone carbon_out", "advance 1000", "tick", "expect pushes 0",
         /* Nothing important went out, so the extension stands. */
         "expect hib phone 259200", "expect timer -1")

/* A call cannot wait for the live session's client to notice it. */
SCENARIO(call_archived_pushes_bound_registration, "session phone", "enable phone push.example n1",
         "session tablet", "enable tablet push.example n2", "close tablet", "session laptop",
         "archive m1 A1", "expect pushes 1 important,node=n2", "archive call A2",
         "expect pushes 2 important,node=n1 important,node=n2")

SCENARIO(hibernation_timeout_ends_at_first_important_push, "session phone",
         "enable phone push.example n1", "hibernate phone", "expect hib phone 259200",
         "queue phone c1", "advance 1000", "tick", "expect pushes 1 unimportant", "expect hib",
         "queue phone m1", "advance 1000", "tick", "expect pushes 1 important",
         "expect hib phone -1", "queue phone m2", "advance 1000", "tick",
         "expect pushes 1 important", "expect hib")

/* Without an important body the device cannot tell pushes apart, so any
 * push counts as the important one. */
SCENARIO(empty_important_body_any_push_ends_extension, "option push_notification_important_body ''",
         "session phone", "enable phone push.example n1", "hibernate phone",
         "expect hib phone 259200", "queue phone c1", "advance 1000", "tick",
         "expect pushes 1 unimportant", "expect hib phone -1", "resume phone",
         "hibernate phone m1 c2", "expect pushes 1 unimportant", "expect hib phone 259200 -1")

SCENARIO(session_without_push_gets_no_hibernation_timeout, "session laptop", "hibernate laptop m1",
         "queue laptop m2", "advance 1000", "tick", "resume laptop", "session phone",
         "enable phone push.example n1", "disable phone push.example n1", "hibernate phone m3",
         "expect pushes 0", "expect hib", "expect removed n1:disabled", "expect timer -1")

SCENARIO(wake_before_expiry, "option push_max_hibernation_timeout 3600",
         "option push_wake_before_expiry 60", "session phone", "enable phone push.example n1",
         "hibernate phone c1", "expect pushes 1 unimportant", "expect hib phone 3600",
         "reply all result", "expect timer 3540000", "advance 3539999", "tick", "expect pushes 0",
         "advance 1", "tick", "expect pushes 1 unimportant", "reply all result", "expect timer -1")

SCENARIO(wake_before_expiry_not_after_important_push, "option push_max_hibernation_timeout 3600",
         "option push_wake_before_expiry 60", "session phone", "enable phone push.example n1",
         "hibernate phone", "queue phone m1", "advance 1000", "tick", "expect pushes 1 important",
         "expect hib phone 3600 -1", "reply all result", "expect timer -1", "advance 3600000",
         "tick", "expect pushes 0")

SCENARIO(disable_cancels_pending_work, "session phone", "enable phone push.example n1",
         "session laptop", "hibernate phone c1", "expect pushes 1 unimportant", "reply all result",
         "queue phone m2", "expect timer 1000", "disable laptop push.example n1",
         "expect removed n1:disabled", "expect hib phone 259200 -1", "expect timer -1",
         "advance 1000", "tick", "expect pushes 0", "resume phone", "hibernate phone m3",
         "expect pushes 0", "expect hib")

SCENARIO(error_removal_cancels_pending_work, "option push_max_errors 2", "session phone",
         "enable phone push.example n1", "hibernate phone c1", "expect pushes 1 unimportant",
         "reply 0 cancel", "queue phone c2", "advance 1000", "tick", "expect pushes 1 unimportant",
         "queue phone m3", "expect timer 1000", "reply 1 cancel", "expect removed n1:errors",
         "expect hib phone 259200 -1", "expect timer -1", "advance 1000", "tick", "expect pushes 0")

SCENARIO(close_cancels_timers, "option push_max_hibernation_timeout 3600",
         "option push_wake_before_expiry 60", "session phone", "enable phone push.example n1",
         "hibernate phone", "queue phone m1", "session tablet", "enable tablet push.example n2",
         "queue tablet m2", "ackreq tablet", "expect timer 1000", "expect hib phone 3600",
         "close phone", "expect timer 30000", "close tablet", "expect timer -1", "advance 3600000",
         "tick", "expect pushes 0")

/* One stanza reaching the same registration by every route. */
SCENARIO(never_twice_for_one_stanza, "session tablet", "enable tablet push.example n2",
         "close tablet", "session phone", "enable phone push.example n1", "queue phone m9",
         "ackreq phone", "ackdelay phone", "expect pushes 1 important,node=n1", "advance 30000",
         "tick", "expect pushes 0", "offline m9", "expect pushes 1 important,node=n2",
         "archive m9 X9", "hibernate phone", "queue phone m9", "advance 1000", "tick",
         "ackdelay phone m9", "offline m9", "expect pushes 0", "expect hib phone 259200",
         "close phone", "archive m9 X9", "expect pushes 0")

SCENARIO(state_errors, "session phone", "enable phone push.example n1", "resume phone => STATE",
         "hibernate phone", "hibernate phone m1 => STATE", "expect pushes 0",
         "expect hib phone 259200", "resume phone", "resume phone => STATE", "expect hib")

/* Two accounts whose answers may come in any order (test-scenarios-shuffle
 * holds them across the event lines): each account's events still apply
 * in their order, and one account never waits for the other. */
SCENARIO(two_accounts_interleaved, "option push_max_hibernation_timeout 0", "session phone",
         "session tab nurse@capulet.example", "enable phone push.example n1",
         "enable tab push.example n2", "hibernate phone", "hibernate tab", "queue phone m1",
         "queue tab n2", "queue phone m3", "advance 1000", "tick", "queue tab n4", "offline m5",
         "expect pushes 3 important important important", "advance 1000", "tick",
         "expect pushes 1 important,node=n2", "expect timer 299000")

int main(void) {
  const char *mode = g_getenv("CN_HOST_MODE");
  if (mode && !strcmp(mode, "later"))
    scenario_mode = FH_LATER;
  else if (mode && !strcmp(mode, "shuffle"))
    scenario_mode = FH_SHUFFLE;
  else if (mode && !strcmp(mode, "fail"))
    scenario_mode = FH_FAIL_NTH;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(hibernation_pushes_unacked_queue),
    cmocka_unit_test(hibernation_batch_given_by_host),
    cmocka_unit_test(hibernation_with_empty_queue_sends_nothing),
    cmocka_unit_test(coalesce_default_window),
    cmocka_unit_test(coalesce_window_200ms),
    cmocka_unit_test(coalesce_window_zero_pushes_at_once),
    cmocka_unit_test(burst_of_five_one_push),
    cmocka_unit_test(resume_cancels_coalesced_push),
    cmocka_unit_test(rehibernation_pushes_only_new_stanzas),
    cmocka_unit_test(ack_overdue_pushes),
    cmocka_unit_test(ack_in_time_no_push),
    cmocka_unit_test(ack_partial_pushes_the_rest),
    cmocka_unit_test(ack_counts_stanzas_queued_before_enable),
    cmocka_unit_test(ack_clock_runs_from_oldest_request),
    cmocka_unit_test(hibernation_stops_ack_clock),
    cmocka_unit_test(resumption_renumbers_resent_stanzas),
    cmocka_unit_test(resume_ends_extension_without_callback),
    cmocka_unit_test(no_extension_when_max_hibernation_timeout_zero),
    cmocka_unit_test(ack_delay_option_changed),
    cmocka_unit_test(ack_delayed_by_host),
    cmocka_unit_test(online_acking_device_gets_no_push),
    cmocka_unit_test(offline_and_archived_push_once),
    cmocka_unit_test(outgoing_carbon_never_pushes),
    cmocka_unit_test(call_archived_pushes_bound_registration),
    cmocka_unit_test(hibernation_timeout_ends_at_first_important_push),
    cmocka_unit_test(empty_important_body_any_push_ends_extension),
    cmocka_unit_test(session_without_push_gets_no_hibernation_timeout),
    cmocka_unit_test(wake_before_expiry),
    cmocka_unit_test(wake_before_expiry_not_after_important_push),
    cmocka_unit_test(disable_cancels_pending_work),
    cmocka_unit_test(error_removal_cancels_pending_work),
    cmocka_unit_test(close_cancels_timers),
    cmocka_unit_test(never_twice_for_one_stanza),
    cmocka_unit_test(state_errors),
    cmocka_unit_test(two_accounts_interleaved),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
