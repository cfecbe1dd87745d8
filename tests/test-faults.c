/* Fault injection: one fixed scenario run again and again, the Nth store
 * call (load, save and remove counted together) or the Nth send failing,
 * for every N until a run completes without the fault firing.  Whatever
 * N is, the promises to the host must hold:
 * - every client IQ gets exactly one reply, and a failed store call shows
 *   as wait/internal-server-error (IQs) or CLOUDNOTIFY_ERR_STORE
 *   (triggers, pings, app-server replies), and only then;
 * - a failed client reply returns CLOUDNOTIFY_ERR_SEND but its state
 *   change stands; a failed publish is not awaited (its reply is
 *   NOT_MINE) and not remembered (another trigger pushes the stanza);
 * - memory and storage agree: a second context opened on the same store
 *   contents pushes, on a ping, to exactly the registrations the first
 *   one does, each once, and those are exactly the ones the client was
 *   told were enabled and that were not removed since. */
#include "api-util.h"

#include <string.h>

#define BOB   "romeo@montague.example"
#define CAROL "nurse@capulet.example"

/* ---- a store that fails once ---------------------------------------------- */

typedef struct fstore {
  au_store st; /* the contents, shared by both contexts */
  unsigned calls, fail_at;
  gboolean fired;
} fstore;

static gboolean store_fault(fstore *fs) {
  fs->calls++;
  if (fs->fail_at && fs->calls == fs->fail_at) {
    fs->fired = TRUE;
    return TRUE;
  }
  return FALSE;
}

static int fs_load(void *d, const char *account, cloudnotify_loader *loader) {
  fstore *fs = d;
  return store_fault(fs) ? -1 : au_store_load(&fs->st, account, loader);
}

static int fs_save(void *d, const char *account, const cloudnotify_record *rec) {
  fstore *fs = d;
  return store_fault(fs) ? -1 : au_store_save(&fs->st, account, rec);
}

static int fs_remove(void *d, const char *account, const char *jid, const char *node) {
  fstore *fs = d;
  return store_fault(fs) ? -1 : au_store_remove(&fs->st, account, jid, node);
}

/* ---- a host whose send fails once ------------------------------------------ */

typedef struct fsent {
  cloudnotify_route route;
  char *account, *to, *xml;
  gboolean failed;
} fsent;

typedef struct host {
  cloudnotify_ctx *ctx;
  fstore *store;
  int64_t now;
  GPtrArray *sent; /* fsent* */
  unsigned send_calls, send_fail_at;
  gboolean send_fired;
  /* "account|jid|node" of every registration the client was told is
   * enabled and that was not reported removed since. */
  GHashTable *model;
  gboolean track; /* removals update the model (the first context only) */
} host;

static char *reg_key(const char *account, const char *jid, const char *node) {
  return g_strdup_printf("%s|%s|%s", account, jid, node ? node : "");
}

static void fsent_free(gpointer p) {
  fsent *s = p;
  g_free(s->account);
  g_free(s->to);
  g_free(s->xml);
  g_free(s);
}

static int cb_send(void *ud, cloudnotify_route route, cloudnotify_session *session,
                   const char *account, const char *to, const char *xml, size_t len) {
  host *h = ud;
  fsent *s = g_new0(fsent, 1);
  s->route = route;
  s->account = g_strdup(account);
  s->to = g_strdup(to);
  s->xml = g_strndup(xml, len);
  h->send_calls++;
  if (h->send_fail_at && h->send_calls == h->send_fail_at) {
    s->failed = TRUE;
    h->send_fired = TRUE;
  }
  g_ptr_array_add(h->sent, s);
  return s->failed ? -1 : 0;
}

static int64_t cb_now(void *ud) {
  return ((host *)ud)->now;
}

static void cb_removed(void *ud, const char *account, const char *jid, const char *node,
                       cloudnotify_removal_reason reason) {
  host *h = ud;
  if (!h->track)
    return;
  char *k = reg_key(account, jid, node);
  /* Removing what the client was never told exists would mean memory
   * held a registration behind the client's back. */
  if (!g_hash_table_remove(h->model, k))
    fail_msg("removed %s (reason %d), which was not enabled", k, reason);
  g_free(k);
}

static void host_init(host *h, fstore *fs, gboolean track) {
  memset(h, 0, sizeof *h);
  h->store = fs;
  h->now = 1700000000000;
  h->sent = g_ptr_array_new_with_free_func(fsent_free);
  h->model = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  h->track = track;
  cloudnotify_callbacks cb = {
    .size = sizeof cb,
    .send = cb_send,
    .now_ms = cb_now,
    .registration_removed = cb_removed,
    .monotonic_ms = cb_now,
  };
  assert_int_equal(cloudnotify_ctx_new(&h->ctx, &cb, h), 0);
  cloudnotify_store v = { .size = sizeof v, .load = fs_load, .save = fs_save, .remove = fs_remove };
  assert_int_equal(cloudnotify_ctx_set_store(h->ctx, &v, fs), 0);
  /* The scenario's bounds: small enough that every path is taken. */
  assert_int_equal(cloudnotify_ctx_set_option(h->ctx, "push_max_devices", "2"), 0);
  assert_int_equal(cloudnotify_ctx_set_option(h->ctx, "push_max_errors", "2"), 0);
  assert_int_equal(cloudnotify_ctx_set_option(h->ctx, "push_max_cached_users", "1"), 0);
  /* Every send is a fault point here; the rate limits (test-gate.c)
   * would take pushes, and so fault points, away. */
  assert_int_equal(cloudnotify_ctx_set_option(h->ctx, "push_visible_interval", "0"), 0);
  assert_int_equal(cloudnotify_ctx_set_option(h->ctx, "push_silent_per_hour", "0"), 0);
}

static void host_fini(host *h) {
  cloudnotify_ctx_free(h->ctx);
  g_ptr_array_free(h->sent, TRUE);
  g_hash_table_destroy(h->model);
}

static gboolean store_failed_since(const host *h, unsigned mark) {
  return h->store->fired && h->store->fail_at > mark && h->store->fail_at <= h->store->calls;
}

static char *node_of(const fsent *p) {
  if (au_xpath_count(p->xml, "/iq/ps:pubsub/ps:publish/@node") == 0)
    return NULL;
  return au_xpath(p->xml, "string(/iq/ps:pubsub/ps:publish/@node)");
}

static char *publish_key(const fsent *p) {
  char *node = node_of(p);
  char *k = reg_key(p->account, p->to, node);
  g_free(node);
  return k;
}

static int reply_to(host *h, const fsent *p, const char *type) {
  char *id = fh_attr(p->xml, "id");
  char *x;
  if (!strcmp(type, "result"))
    x = g_strdup_printf("<iq type='result' id='%s' from='%s'/>", id, p->to);
  else
    x = g_strdup_printf("<iq type='error' id='%s' from='%s'><error type='%s'>"
                        "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                        "</error></iq>",
                        id, p->to, type);
  unsigned mark = h->store->calls;
  int rc = cloudnotify_handle_app_reply(h->ctx, x, strlen(x));
  if (store_failed_since(h, mark))
    assert_int_equal(rc, CLOUDNOTIFY_ERR_STORE);
  else
    assert_int_not_equal(rc, CLOUDNOTIFY_ERR_STORE);
  g_free(x);
  g_free(id);
  return rc;
}

/* Publishes the host refused since mark were never sent: nobody can
 * answer them. */
static GPtrArray *failed_publishes_since(host *h, guint mark) {
  GPtrArray *a = g_ptr_array_new();
  for (guint i = mark; i < h->sent->len; i++) {
    fsent *p = h->sent->pdata[i];
    if (p->route == CLOUDNOTIFY_ROUTE_APP_SERVER && p->failed) {
      assert_int_equal(reply_to(h, p, "cancel"), CLOUDNOTIFY_ERR_NOT_MINE);
      assert_int_equal(reply_to(h, p, "result"), CLOUDNOTIFY_ERR_NOT_MINE);
      g_ptr_array_add(a, p);
    }
  }
  return a;
}

static unsigned ok_publishes_since(const host *h, guint mark) {
  unsigned n = 0;
  for (guint i = mark; i < h->sent->len; i++) {
    const fsent *p = h->sent->pdata[i];
    n += p->route == CLOUDNOTIFY_ROUTE_APP_SERVER && !p->failed;
  }
  return n;
}

/* ---- steps, each checking its own promises --------------------------------- */

/* A client IQ: exactly one reply; its outcome (g_free) is returned. */
static char *client_iq(host *h, cloudnotify_session *s, const char *xml) {
  unsigned smark = h->store->calls;
  guint mark = h->sent->len;
  int rc = cloudnotify_handle_client_iq(s, xml, strlen(xml));
  const fsent *reply = NULL;
  unsigned replies = 0;
  for (guint i = mark; i < h->sent->len; i++) {
    const fsent *p = h->sent->pdata[i];
    if (p->route == CLOUDNOTIFY_ROUTE_CLIENT) {
      reply = p;
      replies++;
    }
  }
  assert_int_equal(replies, 1);
  assert_int_equal(rc, reply->failed ? CLOUDNOTIFY_ERR_SEND : 0);
  char *o = fh_outcome(reply->xml);
  assert_non_null(o);
  gboolean store_failed = store_failed_since(h, smark);
  if (store_failed || !strcmp(o, "wait/internal-server-error")) {
    if (!store_failed || strcmp(o, "wait/internal-server-error"))
      fail_msg("store failure %d but reply %s to %s", store_failed, o, xml);
  }
  return o;
}

static void enable(host *h, cloudnotify_session *s, const char *jid, const char *node) {
  char *x = g_strdup_printf("<iq type='set' id='en'><enable xmlns='urn:xmpp:push:0' "
                            "jid='%s' node='%s'/></iq>",
                            jid, node);
  char *o = client_iq(h, s, x);
  if (!strcmp(o, "result")) {
    g_hash_table_add(h->model, reg_key(cloudnotify_session_account(s), jid, node));
  } else {
    assert_string_equal(o, "wait/internal-server-error");
  }
  g_free(o);
  g_free(x);
}

static void disable(host *h, cloudnotify_session *s, const char *jid, const char *node) {
  char *x = node ? g_strdup_printf("<iq type='set' id='dis'><disable xmlns='urn:xmpp:push:0' "
                                   "jid='%s' node='%s'/></iq>",
                                   jid, node)
                 : g_strdup_printf("<iq type='set' id='dis'><disable xmlns='urn:xmpp:push:0' "
                                   "jid='%s'/></iq>",
                                   jid);
  char *o = client_iq(h, s, x);
  if (!strcmp(o, "result")) {
    /* Each one that went was reported, so none is left in the model. */
    char *prefix = g_strdup_printf("%s|%s|", cloudnotify_session_account(s), jid);
    char *exact = reg_key(cloudnotify_session_account(s), jid, node);
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, h->model);
    while (g_hash_table_iter_next(&it, &k, NULL))
      if (node ? !strcmp(k, exact) : g_str_has_prefix(k, prefix))
        fail_msg("%s still enabled after a successful disable", (char *)k);
    g_free(prefix);
    g_free(exact);
  } else {
    assert_string_equal(o, "wait/internal-server-error");
  }
  g_free(o);
  g_free(x);
}

static char *message(const char *account, const char *id) {
  return fh_message(account, id, "hi");
}

/* An offline message: STORE exactly when the store failed; a refused
 * publish is neither awaited nor remembered, so the same stanza through
 * another trigger reaches exactly the registrations that missed it. */
static unsigned offline(host *h, const char *account, const char *id) {
  char *m = message(account, id);
  unsigned smark = h->store->calls;
  guint mark = h->sent->len;
  unsigned n = 12345;
  int rc = cloudnotify_message_offline(h->ctx, account, m, strlen(m), &n);
  if (store_failed_since(h, smark)) {
    assert_int_equal(rc, CLOUDNOTIFY_ERR_STORE);
    assert_int_equal(n, 0);
  } else {
    assert_int_equal(rc, 0);
  }
  assert_int_equal(n, ok_publishes_since(h, mark));
  GPtrArray *failed = failed_publishes_since(h, mark);
  if (failed->len) {
    guint again = h->sent->len;
    unsigned n2 = 12345;
    assert_int_equal(cloudnotify_message_groupchat_bare(h->ctx, account, m, strlen(m), &n2), 0);
    assert_int_equal(n2, failed->len);
    for (guint i = 0; i < failed->len; i++) {
      char *want = publish_key(failed->pdata[i]);
      gboolean found = FALSE;
      for (guint j = again; j < h->sent->len; j++) {
        char *got = publish_key(h->sent->pdata[j]);
        found |= !strcmp(got, want);
        g_free(got);
      }
      assert_true(found);
      g_free(want);
    }
  }
  g_ptr_array_free(failed, TRUE);
  g_free(m);
  return n;
}

static unsigned ping(host *h, const char *account) {
  unsigned smark = h->store->calls;
  guint mark = h->sent->len;
  unsigned n = 12345;
  int rc = cloudnotify_ping(h->ctx, account, NULL, 0, &n);
  assert_int_equal(rc, store_failed_since(h, smark) ? CLOUDNOTIFY_ERR_STORE : 0);
  assert_int_equal(n, ok_publishes_since(h, mark));
  g_ptr_array_free(failed_publishes_since(h, mark), TRUE);
  return n;
}

static const fsent *first_ok_publish_to(const host *h, guint mark, const char *to) {
  for (guint i = mark; i < h->sent->len; i++) {
    const fsent *p = h->sent->pdata[i];
    if (p->route == CLOUDNOTIFY_ROUTE_APP_SERVER && !p->failed && !strcmp(p->to, to))
      return p;
  }
  return NULL;
}

/* ---- the scenario ------------------------------------------------------------ */

typedef struct script {
  cloudnotify_session *s1, *s2;
} script;

static void script_run(host *h, script *sc) {
  char *ka = reg_key(ALICE, OTHER_PUSH_JID, "n3");

  /* ALICE is loaded (empty) before any session of hers exists. */
  assert_int_equal(offline(h, ALICE, "m1"), 0);
  assert_int_equal(cloudnotify_session_new(h->ctx, ALICE, "balcony", &sc->s1), 0);
  assert_int_equal(cloudnotify_session_new(h->ctx, ALICE, "orchard", &sc->s2), 0);
  assert_int_equal(cloudnotify_session_sm_enabled(sc->s1), 0);

  /* Three registrations from two sessions with room for two. */
  enable(h, sc->s1, PUSH_JID, "n1");
  enable(h, sc->s2, PUSH_JID, "n2");
  /* Another client on s1 (0.3): the same one would replace n1. */
  assert_int_equal(cloudnotify_session_set_client_id(sc->s1, "urn:uuid:second"), 0);
  enable(h, sc->s1, OTHER_PUSH_JID, "n3");

  /* BOB's registration, from a session that then closes; CAROL has none.
   * With one cached user they push each other out of the cache. */
  cloudnotify_session *sb;
  assert_int_equal(cloudnotify_session_new(h->ctx, BOB, "home", &sb), 0);
  enable(h, sb, PUSH_JID, "bob");
  cloudnotify_session_free(sb);
  offline(h, CAROL, "m2");
  guint bob_mark = h->sent->len;
  offline(h, BOB, "m3");
  const fsent *bob_pub = first_ok_publish_to(h, bob_mark, PUSH_JID);

  disable(h, sc->s2, PUSH_JID, "n2");

  guint mark = h->sent->len;
  offline(h, ALICE, "m4");
  offline(h, ALICE, "m5");
  GPtrArray *early = g_ptr_array_new();
  for (guint i = mark; i < h->sent->len; i++) {
    fsent *p = h->sent->pdata[i];
    if (p->route == CLOUDNOTIFY_ROUTE_APP_SERVER && !p->failed && !strcmp(p->to, OTHER_PUSH_JID))
      g_ptr_array_add(early, p);
  }

  /* App-server errors until the removal (retried when storing it fails). */
  for (unsigned k = 0; k < 6 && g_hash_table_contains(h->model, ka); k++) {
    char id[16];
    g_snprintf(id, sizeof id, "err-%u", k);
    guint m = h->sent->len;
    offline(h, ALICE, id);
    const fsent *p = first_ok_publish_to(h, m, OTHER_PUSH_JID);
    /* reply_to checks that STORE comes exactly from a failed store. */
    if (p) {
      int rc = reply_to(h, p, "cancel");
      assert_true(rc == 0 || rc == CLOUDNOTIFY_ERR_STORE);
    }
  }
  if (!g_hash_table_contains(h->model, ka)) {
    /* Gone with its registration: the publishes nobody answered. */
    for (guint i = 0; i < early->len; i++)
      assert_int_equal(reply_to(h, early->pdata[i], "cancel"), CLOUDNOTIFY_ERR_NOT_MINE);
  }
  g_ptr_array_free(early, TRUE);

  /* Re-enable both, then replace one at the limit (nothing evicted). */
  enable(h, sc->s1, OTHER_PUSH_JID, "n3");
  enable(h, sc->s2, PUSH_JID, "n2");
  enable(h, sc->s2, PUSH_JID, "n2");

  mark = h->sent->len;
  ping(h, ALICE);
  for (guint i = mark; i < h->sent->len; i++) {
    fsent *p = h->sent->pdata[i];
    if (p->route == CLOUDNOTIFY_ROUTE_APP_SERVER && !p->failed)
      assert_int_equal(reply_to(h, p, "result"), 0);
  }

  /* Hibernation with an unacked stanza, then two queued while hibernated. */
  char *m6 = message(ALICE, "m6");
  cloudnotify_buf q = { m6, strlen(m6) };
  mark = h->sent->len;
  assert_int_equal(cloudnotify_session_hibernated(sc->s1, &q, 1), 0);
  GPtrArray *failed = failed_publishes_since(h, mark);
  if (failed->len) {
    /* Not remembered: the offline copy reaches the registration. */
    char *want = publish_key(failed->pdata[0]);
    guint again = h->sent->len;
    offline(h, ALICE, "m6");
    gboolean found = FALSE;
    for (guint j = again; j < h->sent->len; j++) {
      char *got = publish_key(h->sent->pdata[j]);
      found |= !strcmp(got, want);
      g_free(got);
    }
    assert_true(found);
    g_free(want);
  }
  g_ptr_array_free(failed, TRUE);
  g_free(m6);
  for (int i = 7; i <= 8; i++) {
    char id[8];
    g_snprintf(id, sizeof id, "m%d", i);
    char *m = message(ALICE, id);
    assert_int_equal(cloudnotify_session_queued(sc->s1, m, strlen(m)), 0);
    g_free(m);
  }
  mark = h->sent->len;
  h->now += 1000;
  assert_int_equal(cloudnotify_tick(h->ctx), 0);
  g_ptr_array_free(failed_publishes_since(h, mark), TRUE);

  /* An overdue ack on the other session. */
  assert_int_equal(cloudnotify_session_sm_enabled(sc->s2), 0);
  char *m9 = message(ALICE, "m9");
  assert_int_equal(cloudnotify_session_queued(sc->s2, m9, strlen(m9)), 0);
  g_free(m9);
  assert_int_equal(cloudnotify_session_ack_requested(sc->s2), 0);
  mark = h->sent->len;
  h->now += 30000;
  assert_int_equal(cloudnotify_tick(h->ctx), 0);
  g_ptr_array_free(failed_publishes_since(h, mark), TRUE);
  assert_int_equal(cloudnotify_session_resumed(sc->s1), 0);

  offline(h, CAROL, "m10");
  /* BOB left the cache: answering his publish loads him again.  A failed
   * load changes nothing, so the same answer is taken afterwards. */
  if (bob_pub) {
    int rc = reply_to(h, bob_pub, "result");
    if (rc == CLOUDNOTIFY_ERR_STORE)
      rc = reply_to(h, bob_pub, "result");
    assert_int_equal(rc, 0);
  }
  ping(h, BOB);
  unsigned smark = h->store->calls;
  int has = cloudnotify_account_has_push(h->ctx, CAROL);
  assert_int_equal(has, store_failed_since(h, smark) ? CLOUDNOTIFY_ERR_STORE : 0);
  disable(h, sc->s1, OTHER_PUSH_JID, NULL);
  g_free(ka);
}

/* Publishes per registration for one ping of each account. */
static GHashTable *ping_counts(host *h) {
  GHashTable *c = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  const char *accounts[] = { ALICE, BOB, CAROL };
  guint mark = h->sent->len;
  for (size_t i = 0; i < G_N_ELEMENTS(accounts); i++) {
    unsigned n;
    assert_int_equal(cloudnotify_ping(h->ctx, accounts[i], NULL, 0, &n), 0);
  }
  for (guint i = mark; i < h->sent->len; i++) {
    const fsent *p = h->sent->pdata[i];
    assert_int_equal(p->route, CLOUDNOTIFY_ROUTE_APP_SERVER);
    assert_false(p->failed);
    char *k = publish_key(p);
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(c, k));
    g_hash_table_insert(c, k, GUINT_TO_POINTER(n + 1));
  }
  return c;
}

static void assert_counts_match_model(GHashTable *counts, GHashTable *model, const char *who) {
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init(&it, model);
  while (g_hash_table_iter_next(&it, &k, NULL))
    if (!g_hash_table_contains(counts, k))
      fail_msg("%s lost %s", who, (char *)k);
  g_hash_table_iter_init(&it, counts);
  while (g_hash_table_iter_next(&it, &k, &v)) {
    if (GPOINTER_TO_UINT(v) != 1)
      fail_msg("%s pushes %s %u times per ping", who, (char *)k, GPOINTER_TO_UINT(v));
    if (!g_hash_table_contains(model, k))
      fail_msg("%s pushes %s, which the client was not told is enabled", who, (char *)k);
  }
}

/* Memory (the first context) and storage (a second context on the same
 * contents) against what the client was told. */
static void verify(host *h) {
  h->store->fail_at = 0;
  h->send_fail_at = 0;
  GHashTable *c1 = ping_counts(h);
  assert_counts_match_model(c1, h->model, "memory");
  host h2;
  host_init(&h2, h->store, FALSE);
  GHashTable *c2 = ping_counts(&h2);
  assert_counts_match_model(c2, h->model, "storage");
  host_fini(&h2);
  g_hash_table_destroy(c1);
  g_hash_table_destroy(c2);
}

static void assert_clean_outcome(const host *h) {
  /* Without any fault the scenario ends with these two. */
  assert_int_equal(g_hash_table_size(h->model), 2);
  char *b = reg_key(ALICE, PUSH_JID, "n2"), *d = reg_key(BOB, PUSH_JID, "bob");
  assert_true(g_hash_table_contains(h->model, b));
  assert_true(g_hash_table_contains(h->model, d));
  g_free(b);
  g_free(d);
}

static void run_with_faults(gboolean store_faults) {
  unsigned n;
  for (n = 1;; n++) {
    fstore fs = { 0 };
    au_store_init(&fs.st);
    host h;
    host_init(&h, &fs, TRUE);
    if (store_faults)
      fs.fail_at = n;
    else
      h.send_fail_at = n;
    print_message("  %s call %u fails\n", store_faults ? "store" : "send", n);
    script sc = { NULL, NULL };
    script_run(&h, &sc);
    gboolean fired = store_faults ? fs.fired : h.send_fired;
    unsigned calls = store_faults ? fs.calls : h.send_calls;
    verify(&h);
    if (!fired)
      assert_clean_outcome(&h);
    cloudnotify_session_free(sc.s1);
    cloudnotify_session_free(sc.s2);
    host_fini(&h);
    au_store_fini(&fs.st);
    if (!fired) {
      /* The last run made fewer calls than n: every call had its turn. */
      assert_true(calls < n);
      break;
    }
    assert_true(n < 500);
  }
  /* The scenario must be rich enough to be worth running. */
  assert_true(n > (store_faults ? 15u : 18u));
}

static void store_fails_once(void **state) {
  (void)state;
  run_with_faults(TRUE);
}

static void send_fails_once(void **state) {
  (void)state;
  run_with_faults(FALSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(store_fails_once),
    cmocka_unit_test(send_fails_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
