/* Host answers that come later (the cloudnotify_op section of the
 * header): what the operation handles refuse, what a client sees, the
 * order of an account's parked work, and what happens when a session or
 * the context goes while an answer is outstanding.  The whole scenario
 * suite also runs under the asynchronous modes (test-scenarios-*). */
#include "api-util.h"
#include "tree-util.h"

#define BOB   "bob@montague.example"
#define CAROL "carol@verona.example"

static void later_init(fake_host *h) {
  fh_default_mode = FH_LATER;
  fh_init(h);
  fh_default_mode = FH_SYNC;
}

static void later_fini(fake_host *h) {
  fh_fini(h);
}

/* The enable IQ as text, sent without the harness's settling. */
static int raw_enable(cloudnotify_session *s, const char *jid, const char *node) {
  char *x = g_strdup_printf("<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='%s' "
                            "node='%s'/></iq>",
                            jid, node);
  int rc = cloudnotify_handle_client_iq(s, x, strlen(x));
  g_free(x);
  return rc;
}

static int raw_disable(cloudnotify_session *s, const char *jid) {
  char *x = g_strdup_printf("<iq type='set' id='d1'><disable xmlns='urn:xmpp:push:0' "
                            "jid='%s'/></iq>",
                            jid);
  int rc = cloudnotify_handle_client_iq(s, x, strlen(x));
  g_free(x);
  return rc;
}

static unsigned client_replies(const fake_host *h) {
  return fh_count(h, CLOUDNOTIFY_ROUTE_CLIENT);
}

/* A session of account with one registration (node n), all answered. */
static cloudnotify_session *enabled_session(fake_host *h, const char *account, const char *node) {
  cloudnotify_session *s = au_session(h, account, "phone");
  assert_int_equal(raw_enable(s, PUSH_JID, node), 0);
  fh_settle(h);
  au_assert_last_reply(h, "result");
  return s;
}

/* An enable from s as another client (0.3): registrations enabled from
 * one session with one client identity replace each other. */
static int raw_enable_device(cloudnotify_session *s, const char *jid, const char *node) {
  char *id = g_strdup_printf("dev:%s<%s", jid, node ? node : "");
  assert_int_equal(cloudnotify_session_set_client_id(s, id), 0);
  g_free(id);
  return raw_enable(s, jid, node);
}

static char *msg(const char *to, const char *id, const char *body) {
  return fh_message(to, id, body);
}

static unsigned offline(fake_host *h, const char *account, const char *id, const char *body) {
  char *m = msg(account, id, body);
  unsigned n = 999;
  assert_int_equal(cloudnotify_message_offline(h->ctx, account, m, strlen(m), &n), 0);
  g_free(m);
  return n;
}

/* ---- the client's reply waits for the store ------------------------- */

static void enable_reply_after_save_completes(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(raw_enable(s, PUSH_JID, "n1"), 0);
  /* Load of the account, then (once answered) the filter, then the save. */
  assert_int_equal(fh_open_ops(&h), 1);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_LOAD);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_REGISTRATION_FILTER);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_SAVE);
  assert_int_equal(client_replies(&h), 0);
  /* A ping while the save is out is parked: it must see the new one. */
  unsigned n = 999;
  assert_int_equal(cloudnotify_ping(h.ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(au_publishes(&h), 0);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  au_assert_last_reply(&h, "result");
  /* The parked ping ran after the enable, and its filter asks now. */
  assert_int_equal(fh_open_ops(&h), 1);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_NOTIFICATION_FILTER);
  fh_settle(&h);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "n1"), 1);
  later_fini(&h);
}

static void enable_save_failure_changes_nothing(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *s = enabled_session(&h, ALICE, "n1");
  fh_clear(&h);
  assert_int_equal(raw_enable(s, OTHER_PUSH_JID, "n2"), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_REGISTRATION_FILTER);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_SAVE);
  assert_int_equal(fh_complete(&h, 0, 1), 0);
  au_assert_last_reply(&h, "wait/internal-server-error");
  /* Memory unchanged: only the first registration is pushed. */
  assert_int_equal(offline(&h, ALICE, "x1", "hi"), 0);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 1);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "n1"), 1);
  assert_int_equal(h.rows->len, 1);
  later_fini(&h);
}

static void disable_reply_after_remove_completes(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *s = enabled_session(&h, ALICE, "n1");
  fh_clear(&h);
  assert_int_equal(raw_disable(s, PUSH_JID), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_REMOVE);
  assert_int_equal(client_replies(&h), 0);
  assert_int_equal(h.removed->len, 0);
  /* Failure: the registration stays, in memory as in the store. */
  assert_int_equal(fh_complete(&h, 0, 1), 0);
  au_assert_last_reply(&h, "wait/internal-server-error");
  assert_int_equal(h.removed->len, 0);
  assert_int_equal(h.rows->len, 1);
  assert_int_equal(raw_disable(s, PUSH_JID), 0);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  au_assert_last_reply(&h, "result");
  assert_int_equal(au_removed(&h, 0)->reason, CLOUDNOTIFY_REMOVED_DISABLED);
  assert_int_equal(h.rows->len, 0);
  later_fini(&h);
}

/* The device limit: the eviction is a removal answered later too, and a
 * failed one takes the new registration back. */
static void eviction_answered_later(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  au_set(&h, "push_max_devices", "1");
  cloudnotify_session *s = enabled_session(&h, ALICE, "n1");
  fh_clear(&h);
  h.now += 10;
  assert_int_equal(raw_enable_device(s, PUSH_JID, "n2"), 0);
  assert_int_equal(fh_complete(&h, 0, 0), 0); /* filter */
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_SAVE);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_REMOVE);
  assert_int_equal(client_replies(&h), 0);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  au_assert_last_reply(&h, "result");
  assert_int_equal(au_removed(&h, 0)->reason, CLOUDNOTIFY_REMOVED_EVICTED);
  assert_string_equal(au_removed(&h, 0)->node, "n1");
  assert_int_equal(h.rows->len, 1);

  /* The eviction fails: the new one is removed again, nothing changes. */
  fh_clear(&h);
  h.now += 10;
  assert_int_equal(raw_enable_device(s, PUSH_JID, "n3"), 0);
  assert_int_equal(fh_complete(&h, 0, 0), 0); /* filter */
  assert_int_equal(fh_complete(&h, 0, 0), 0); /* save */
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_REMOVE);
  assert_int_equal(fh_complete(&h, 0, 1), 0); /* eviction of n2 fails */
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_REMOVE);
  assert_int_equal(client_replies(&h), 0);
  assert_int_equal(fh_complete(&h, 0, 0), 0); /* n3 taken back */
  au_assert_last_reply(&h, "wait/internal-server-error");
  assert_int_equal(h.removed->len, 0);
  assert_int_equal(h.rows->len, 1);
  assert_int_equal(offline(&h, ALICE, "m1", "x"), 0);
  fh_settle(&h);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "n2"), 1);
  assert_int_equal(au_publishes(&h), 1);
  later_fini(&h);
}

/* A load that finds more than the limit removes the surplus, each removal
 * answered later, before the call that caused the load goes on. */
static void load_surplus_answered_later(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  const char *nodes[] = { "a", "b", "c" };
  for (int i = 0; i < 3; i++) {
    fh_row *r = g_new0(fh_row, 1);
    r->account = g_strdup(ALICE);
    r->jid = g_strdup(PUSH_JID);
    r->node = g_strdup(nodes[i]);
    r->enabled_at = 1000 + i;
    g_ptr_array_add(h.rows, r);
  }
  au_set(&h, "push_max_devices", "2");
  assert_int_equal(offline(&h, ALICE, "m1", "x"), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_LOAD);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_REMOVE);
  assert_int_equal(au_publishes(&h), 0);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(au_removed(&h, 0)->reason, CLOUDNOTIFY_REMOVED_EVICTED);
  assert_string_equal(au_removed(&h, 0)->node, "a");
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 2);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "a"), 0);
  assert_int_equal(h.rows->len, 2);
  later_fini(&h);
}

/* ---- order per account ---------------------------------------------- */

static void account_order_is_kept(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  au_set(&h, "push_notification_with_body", "true");
  cloudnotify_session *s = enabled_session(&h, ALICE, "n1");
  au_set(&h, "push_coalesce_ms", "0");
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  fh_settle(&h);
  fh_clear(&h);
  /* The first message's filter is out: everything after it waits. */
  assert_int_equal(offline(&h, ALICE, "o1", "first"), 0);
  assert_int_equal(fh_open_ops(&h), 1);
  char *q = msg(ALICE, "q2", "second");
  assert_int_equal(cloudnotify_session_queued(s, q, strlen(q)), 0);
  g_free(q);
  assert_int_equal(offline(&h, ALICE, "o3", "third"), 0);
  assert_int_equal(fh_open_ops(&h), 1);
  assert_int_equal(au_publishes(&h), 0);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 3);
  au_assert_summary_field(fh_publish(&h, 0)->xml, "last-message-body", "first");
  au_assert_summary_field(fh_publish(&h, 1)->xml, "last-message-body", "second");
  au_assert_summary_field(fh_publish(&h, 2)->xml, "last-message-body", "third");
  later_fini(&h);
}

/* Several accounts' answers completed in reverse: each account's own
 * work still runs in its order, and no account waits for another. */
static void accounts_answered_out_of_order(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  au_set(&h, "push_notification_with_body", "true");
  const char *accounts[] = { ALICE, BOB, CAROL };
  for (int i = 0; i < 3; i++) {
    cloudnotify_session *s = enabled_session(&h, accounts[i], "n");
    cloudnotify_session_free(s);
  }
  /* Forget the cache so that each trigger loads again. */
  au_set(&h, "push_max_cached_users", "1");
  au_set(&h, "push_max_cached_users", "100");
  fh_clear(&h);
  for (int i = 0; i < 3; i++) {
    char id[8];
    g_snprintf(id, sizeof id, "a%d", i);
    assert_int_equal(offline(&h, accounts[i], id, "one"), 0);
    g_snprintf(id, sizeof id, "b%d", i);
    assert_int_equal(offline(&h, accounts[i], id, "two"), 0);
  }
  /* Alice is cached (the most recent); Bob and Carol load. */
  unsigned open = fh_open_ops(&h);
  assert_true(open >= 2);
  while (fh_open_ops(&h))
    assert_int_equal(fh_complete(&h, fh_open_ops(&h) - 1, 0), 0);
  assert_int_equal(au_publishes(&h), 6);
  for (int i = 0; i < 3; i++) {
    int first = -1, second = -1;
    for (unsigned k = 0; fh_publish(&h, k); k++) {
      const fh_sent *p = fh_publish(&h, k);
      if (strcmp(p->account, accounts[i]))
        continue;
      char *b = au_summary_field(p->xml, "last-message-body");
      if (!strcmp(b, "one"))
        first = (int)k;
      else
        second = (int)k;
      g_free(b);
    }
    assert_true(first >= 0 && second > first);
  }
  later_fini(&h);
}

static void app_reply_parked_in_order(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  au_set(&h, "push_max_errors", "1");
  cloudnotify_session *s = enabled_session(&h, ALICE, "n1");
  (void)s;
  fh_clear(&h);
  assert_int_equal(offline(&h, ALICE, "m1", "x"), 0);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 1);
  /* A second message's filter is out when the error for the first comes:
   * the error (and the removal it causes) waits for it. */
  assert_int_equal(offline(&h, ALICE, "m2", "y"), 0);
  assert_int_equal(fh_open_ops(&h), 1);
  const fh_sent *p = fh_publish(&h, 0);
  char *id = fh_attr(p->xml, "id");
  char *x = g_strdup_printf("<iq type='error' id='%s' from='%s'><error type='cancel'>"
                            "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                            "</error></iq>",
                            id, PUSH_JID);
  assert_int_equal(cloudnotify_handle_app_reply(h.ctx, x, strlen(x)), 0);
  /* Not ours is still decided at once. */
  assert_int_equal(cloudnotify_handle_app_reply(h.ctx, "<iq type='result' id='zz'/>", 27),
                   CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(h.removed->len, 0);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(au_publishes(&h), 2);
  /* Now the error applies: the removal is asked, then done. */
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_REMOVE);
  fh_settle(&h);
  assert_int_equal(au_removed(&h, 0)->reason, CLOUDNOTIFY_REMOVED_ERRORS);
  g_free(x);
  g_free(id);
  later_fini(&h);
}

static void timer_of_busy_account_waits(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *s = enabled_session(&h, ALICE, "n1");
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  char *q = msg(ALICE, "q1", "queued");
  assert_int_equal(cloudnotify_session_queued(s, q, strlen(q)), 0);
  g_free(q);
  fh_clear(&h);
  /* An offline message whose filter is out when the coalescing timer
   * fires: the timer's push comes after it. */
  assert_int_equal(offline(&h, ALICE, "o1", "offline"), 0);
  assert_int_equal(fh_open_ops(&h), 1);
  h.now += 1000;
  assert_int_equal(cloudnotify_tick(h.ctx), 0);
  assert_int_equal(fh_open_ops(&h), 1);
  assert_int_equal(au_publishes(&h), 0);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 2);
  later_fini(&h);
}

/* ---- what completions refuse ---------------------------------------- */

static void double_and_wrong_completions(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(raw_enable(s, PUSH_JID, "n1"), 0);
  cloudnotify_op *op = fh_op_handle(&h, 0);
  assert_int_equal(cloudnotify_op_get_kind(op), CLOUDNOTIFY_OP_LOAD);
  assert_null(cloudnotify_op_push(op));
  assert_int_equal(cloudnotify_op_complete(NULL, 0), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_op_complete(op, CLOUDNOTIFY_PENDING),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  /* A veto is only for the registration filter. */
  assert_int_equal(cloudnotify_op_veto(op, "cancel", "forbidden"), CLOUDNOTIFY_ERR_OP_UNKNOWN);
  /* Not an operation at all. */
  guint32 junk[16] = { 0 };
  assert_int_equal(cloudnotify_op_complete((cloudnotify_op *)junk, 0), CLOUDNOTIFY_ERR_OP_UNKNOWN);
  assert_int_equal(cloudnotify_op_get_kind((cloudnotify_op *)junk), 0);
  assert_int_equal(fh_open_ops(&h), 1);
  assert_int_equal(client_replies(&h), 0);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  fh_settle(&h);
  au_assert_last_reply(&h, "result");
  assert_null(cloudnotify_ctx_current_op(h.ctx));
  assert_null(cloudnotify_ctx_current_op(NULL));
  cloudnotify_op_free(NULL);
  later_fini(&h);
}

static void filter_veto_later(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  h.veto_type = "auth";
  h.veto_condition = "forbidden";
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(raw_enable(s, PUSH_JID, "n1"), 0);
  fh_settle(&h);
  au_assert_last_reply(&h, "auth/forbidden");
  assert_int_equal(h.rows->len, 0);
  /* Invalid strings become cancel/not-allowed, as when answered at once. */
  h.veto_type = "nonsense";
  assert_int_equal(raw_enable(s, PUSH_JID, "n1"), 0);
  fh_settle(&h);
  au_assert_last_reply(&h, "cancel/not-allowed");
  later_fini(&h);
}

static void push_amended_until_completion(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  enabled_session(&h, ALICE, "n1");
  fh_clear(&h);
  h.push_filter = 2;
  assert_int_equal(offline(&h, ALICE, "m1", "secret"), 0);
  cloudnotify_op *op = fh_op_handle(&h, 0);
  cloudnotify_push *p = cloudnotify_op_push(op);
  assert_non_null(p);
  assert_string_equal(cloudnotify_push_account(p), ALICE);
  assert_string_equal(cloudnotify_push_body(p), "New Message!");
  fh_settle(&h);
  au_assert_summary_field(fh_publish(&h, 0)->xml, "last-message-body", "amended");
  /* A dropped one is not sent. */
  h.push_filter = 1;
  assert_int_equal(offline(&h, ALICE, "m2", "x"), 0);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 1);
  later_fini(&h);
}

static void completion_after_session_free(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *keep = enabled_session(&h, ALICE, "n0");
  (void)keep;
  cloudnotify_session *s = au_session(&h, ALICE, "tablet");
  fh_clear(&h);
  assert_int_equal(raw_enable(s, PUSH_JID, "n1"), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_REGISTRATION_FILTER);
  /* Work queued behind it for the same session goes with it. */
  char *q = msg(ALICE, "q1", "x");
  assert_int_equal(cloudnotify_session_queued(s, q, strlen(q)), 0);
  g_free(q);
  cloudnotify_session_free(s);
  assert_int_equal(fh_complete(&h, 0, 0), CLOUDNOTIFY_ERR_OP_CANCELLED);
  assert_int_equal(client_replies(&h), 0);
  assert_int_equal(h.rows->len, 1);
  /* The account is free again. */
  assert_int_equal(offline(&h, ALICE, "m1", "x"), 0);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 1);
  later_fini(&h);
}

/* A store write in flight is finished without its session: memory keeps
 * agreeing with the store. */
static void save_survives_session_free(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *keep = enabled_session(&h, ALICE, "n0");
  (void)keep;
  cloudnotify_session *s = au_session(&h, ALICE, "tablet");
  fh_clear(&h);
  assert_int_equal(raw_enable(s, PUSH_JID, "n1"), 0);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_SAVE);
  cloudnotify_session_free(s);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(client_replies(&h), 0);
  assert_int_equal(h.rows->len, 2);
  unsigned n = 999;
  assert_int_equal(cloudnotify_ping(h.ctx, ALICE, NULL, 0, &n), 0);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 2);
  later_fini(&h);
}

static void completion_after_ctx_free(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(raw_enable(s, PUSH_JID, "n1"), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_LOAD);
  /* fh_fini frees the context first, then answers every open question:
   * GONE each time, and the loader it kept refuses records. */
  cloudnotify_op *op = fh_op_handle(&h, 0);
  (void)op;
  later_fini(&h);
}

static void loader_closed_after_completion(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  (void)s;
  unsigned n = 999;
  assert_int_equal(cloudnotify_ping(h.ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_LOAD);
  /* Busy: "maybe". */
  assert_int_equal(cloudnotify_account_has_push(h.ctx, ALICE), 1);
  /* The store cannot be swapped under parked work. */
  cloudnotify_store st = au_store_vtable();
  au_store aus;
  au_store_init(&aus);
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &st, &aus), CLOUDNOTIFY_ERR_STATE);
  au_store_fini(&aus);
  fh_settle(&h);
  assert_int_equal(cloudnotify_account_has_push(h.ctx, ALICE), 0);
  later_fini(&h);
}

/* ---- hosts that misuse the protocol --------------------------------- */

static fake_host *bad_host;
static cloudnotify_op *kept_op;
static cloudnotify_loader *kept_loader;

static int pending_without_op(void *data, const char *account, cloudnotify_loader *l) {
  (void)data;
  (void)account;
  (void)l;
  return CLOUDNOTIFY_PENDING;
}

/* Takes the op, answers at once anyway; keeps op and loader. */
static int answers_now(void *data, const char *account, cloudnotify_loader *l) {
  (void)data;
  (void)account;
  kept_op = cloudnotify_ctx_current_op(bad_host->ctx);
  kept_loader = l;
  /* Completing from inside its own callback re-enters. */
  assert_int_equal(cloudnotify_op_complete(kept_op, 0), CLOUDNOTIFY_ERR_REENTRANT);
  return 0;
}

static int keeps_loader(void *data, const char *account, cloudnotify_loader *l) {
  (void)data;
  (void)account;
  kept_op = cloudnotify_ctx_current_op(bad_host->ctx);
  kept_loader = l;
  return CLOUDNOTIFY_PENDING;
}

static int ok_save(void *d, const char *a, const cloudnotify_record *r) {
  (void)d, (void)a, (void)r;
  return 0;
}

static int ok_remove(void *d, const char *a, const char *j, const char *n) {
  (void)d, (void)a, (void)j, (void)n;
  return 0;
}

static void misbehaving_store(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  bad_host = &h;
  cloudnotify_store st = { sizeof st, pending_without_op, ok_save, ok_remove, NULL, NULL };
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &st, NULL), 0);
  /* Pending without the op is a failure, at once. */
  assert_int_equal(cloudnotify_account_has_push(h.ctx, ALICE), CLOUDNOTIFY_ERR_STORE);
  assert_true(au_log_contains(&h, "without taking (or keeping) its operation"));

  st.load = answers_now;
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &st, NULL), 0);
  assert_int_equal(cloudnotify_account_has_push(h.ctx, ALICE), 0);
  assert_int_equal(cloudnotify_op_complete(kept_op, 0), CLOUDNOTIFY_ERR_OP_DONE);
  cloudnotify_record rec = { PUSH_JID, NULL, NULL, 0, 1, 0, NULL };
  assert_int_equal(cloudnotify_loader_add(kept_loader, &rec), CLOUDNOTIFY_ERR_OP_DONE);
  cloudnotify_op_free(kept_op);

  /* Records may come until the completion, then the loader closes. */
  st.load = keeps_loader;
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &st, NULL), 0);
  assert_int_equal(cloudnotify_account_has_push(h.ctx, BOB), 1);
  assert_int_equal(cloudnotify_loader_add(kept_loader, &rec), 0);
  assert_int_equal(cloudnotify_op_complete(kept_op, 0), 0);
  assert_int_equal(cloudnotify_loader_add(kept_loader, &rec), CLOUDNOTIFY_ERR_OP_DONE);
  assert_int_equal(cloudnotify_account_has_push(h.ctx, BOB), 1);
  cloudnotify_op_free(kept_op);

  /* After the context is gone. */
  assert_int_equal(cloudnotify_account_has_push(h.ctx, CAROL), 1);
  cloudnotify_op *op = kept_op;
  cloudnotify_loader *l = kept_loader;
  fh_fini(&h);
  assert_int_equal(cloudnotify_op_complete(op, 0), CLOUDNOTIFY_ERR_GONE);
  assert_int_equal(cloudnotify_loader_add(l, &rec), CLOUDNOTIFY_ERR_GONE);
  cloudnotify_op_free(op);
}

/* An op the host lets go of unanswered fails instead of parking its
 * account for ever. */
static void op_freed_unanswered_fails(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *s = enabled_session(&h, ALICE, "n1");
  fh_clear(&h);
  assert_int_equal(raw_enable(s, OTHER_PUSH_JID, "n2"), 0);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_SAVE);
  fh_drop_op(&h, 0);
  au_assert_last_reply(&h, "wait/internal-server-error");
  assert_true(au_log_contains(&h, "freed unanswered"));
  /* The account is not stuck. */
  assert_int_equal(offline(&h, ALICE, "m1", "x"), 0);
  assert_int_equal(fh_open_ops(&h), 1);
  fh_drop_op(&h, 0);
  assert_int_equal(au_publishes(&h), 0);
  assert_int_equal(offline(&h, ALICE, "m2", "x"), 0);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 1);
  later_fini(&h);
}

static void parked_work_is_bounded(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *s = enabled_session(&h, ALICE, "n1");
  assert_int_equal(offline(&h, ALICE, "m0", "x"), 0);
  assert_int_equal(fh_open_ops(&h), 1);
  char *q = msg(ALICE, "q", "x");
  int rc = 0;
  unsigned i;
  for (i = 0; i < CLOUDNOTIFY_MAX_PARKED_PER_ACCOUNT + 5 && rc == 0; i++)
    rc = cloudnotify_session_queued(s, q, strlen(q));
  g_free(q);
  assert_int_equal(rc, CLOUDNOTIFY_ERR_BUSY);
  assert_true(i >= CLOUDNOTIFY_MAX_PARKED_PER_ACCOUNT - 1);
  fh_settle(&h);
  /* Free again. */
  assert_int_equal(cloudnotify_session_acked(s, 0), 0);
  assert_int_equal(fh_open_ops(&h), 0);
  later_fini(&h);
}

/* ---- random interleavings ------------------------------------------- */

/* Every registration the library holds for account is stored (a ping
 * reaches only stored rows), with the host answering at once. */
static void check_memory_in_store(fake_host *h, const char *account) {
  fh_settle(h);
  fh_mode mode = h->mode;
  h->mode = FH_SYNC;
  guint before = h->sent->len;
  unsigned n;
  assert_int_equal(cloudnotify_ping(h->ctx, account, NULL, 0, &n), 0);
  for (guint i = before; i < h->sent->len; i++) {
    const fh_sent *p = h->sent->pdata[i];
    if (p->route != CLOUDNOTIFY_ROUTE_APP_SERVER)
      continue;
    const char *at = strstr(p->xml, "<publish node='");
    char *node = at ? g_strndup(at + 15, strcspn(at + 15, "'")) : NULL;
    gboolean found = FALSE;
    for (guint k = 0; k < h->rows->len && !found; k++) {
      const fh_row *r = h->rows->pdata[k];
      found = !strcmp(r->account, account) && !strcmp(r->jid, p->to) && !g_strcmp0(r->node, node);
    }
    if (!found)
      print_error("%s holds %s<%s, not stored\n", account, p->to, node ? node : "");
    assert_true(found);
    g_free(node);
  }
  h->mode = mode;
}

static unsigned rnd(guint32 *r, unsigned n) {
  *r = *r * 1103515245u + 12345u;
  return (*r >> 8) % n;
}

/* Calls of every kind on three accounts, answers completed in a random
 * order, some failing, some dropped unanswered, sessions freed with
 * work outstanding.  The sanitizers and valgrind watch the memory; the
 * test checks return codes, that nothing stays open, and that memory
 * never holds what the store does not. */
static void random_interleavings(void **state) {
  (void)state;
  const char *accounts[] = { ALICE, BOB, CAROL };
  const char *jids[] = { PUSH_JID, OTHER_PUSH_JID };
  const char *nodes[] = { "n1", "n2", "n3" };
  for (guint32 seed = 1; seed <= 120; seed++) {
    fake_host h;
    fh_default_mode = FH_SHUFFLE;
    fh_init(&h);
    fh_default_mode = FH_SYNC;
    au_set(&h, "push_max_devices", "2");
    au_set(&h, "push_max_errors", "2");
    au_set(&h, "push_max_cached_users", "1");
    cloudnotify_session *slots[4] = { NULL };
    guint32 r = seed * 2654435761u;
#define RND(n) rnd(&r, (n))
    unsigned serial = 0;
    for (int step = 0; step < 250; step++) {
      unsigned slot = RND(4);
      cloudnotify_session *s = slots[slot];
      const char *account = accounts[slot % 3];
      int rc = 0;
      switch (RND(14)) {
      case 0:
        if (!s)
          slots[slot] = au_session(&h, account, slot == 3 ? "other" : "phone");
        break;
      case 1:
        if (s) {
          cloudnotify_session_free(s);
          slots[slot] = NULL;
        }
        break;
      case 2:
        if (s)
          rc = raw_enable(s, jids[RND(2)], nodes[RND(3)]);
        break;
      case 3:
        if (s)
          rc = raw_disable(s, jids[RND(2)]);
        break;
      case 4: {
        char id[16];
        g_snprintf(id, sizeof id, "r%u", ++serial);
        char *m = msg(account, id, "hi");
        unsigned n;
        rc = RND(2) ? cloudnotify_message_offline(h.ctx, account, m, strlen(m), &n)
                    : cloudnotify_message_archived(h.ctx, account, m, strlen(m), id, &n);
        g_free(m);
        break;
      }
      case 5:
        if (s) {
          char id[16];
          g_snprintf(id, sizeof id, "q%u", ++serial);
          char *m = msg(account, id, "q");
          rc = cloudnotify_session_queued(s, m, strlen(m));
          g_free(m);
        }
        break;
      case 6:
        if (s) {
          rc = RND(2) ? cloudnotify_session_hibernated(s, NULL, 0) : cloudnotify_session_resumed(s);
          if (rc == CLOUDNOTIFY_ERR_STATE)
            rc = 0;
        }
        break;
      case 7:
        if (s)
          rc = RND(2) ? cloudnotify_session_ack_requested(s)
                      : cloudnotify_session_acked(s, (uint32_t)RND(4));
        break;
      case 8:
        if (au_publishes(&h)) {
          unsigned k = RND(au_publishes(&h));
          const fh_sent *p = fh_publish(&h, k);
          char *id = fh_attr(p->xml, "id");
          char *x = RND(2) ? g_strdup_printf("<iq type='result' id='%s' from='%s'/>", id, p->to)
                           : g_strdup_printf("<iq type='error' id='%s' from='%s'><error "
                                             "type='cancel'/></iq>",
                                             id, p->to);
          rc = cloudnotify_handle_app_reply(h.ctx, x, strlen(x));
          if (rc == CLOUDNOTIFY_ERR_NOT_MINE)
            rc = 0;
          g_free(x);
          g_free(id);
        }
        break;
      case 9:
        h.now += RND(40000);
        rc = cloudnotify_tick(h.ctx);
        break;
      case 10: {
        unsigned n;
        rc = RND(2) ? cloudnotify_ping(h.ctx, account, NULL, 0, &n) : 0;
        int has = cloudnotify_account_has_push(h.ctx, account);
        assert_true(has == 0 || has == 1);
        break;
      }
      default:
        /* Answer some of what is open, in any order. */
        for (unsigned k = RND(3) + 1; k > 0 && fh_open_ops(&h); k--) {
          unsigned i = RND(fh_open_ops(&h));
          if (RND(20) == 0) {
            fh_drop_op(&h, i);
            continue;
          }
          int crc = fh_complete(&h, i, RND(5) == 0);
          assert_true(crc == 0 || crc == CLOUDNOTIFY_ERR_OP_CANCELLED);
        }
        break;
      }
      if (rc != 0)
        print_error("seed %u step %d: rc %d\n", seed, step, rc);
      assert_int_equal(rc, 0);
    }
#undef RND
    for (int i = 0; i < 3; i++)
      check_memory_in_store(&h, accounts[i]);
    /* The runs do reach the parked paths (a few dozen answers each). */
    assert_true(h.completions > 10);
    assert_int_equal(fh_open_ops(&h), 0);
    fh_fini(&h);
  }
}

/* ---- what came from the other 0.2 branches ---------------------------- */

static uint64_t counter(const fake_host *h, cloudnotify_counter which) {
  uint64_t v = 0;
  assert_int_equal(cloudnotify_ctx_get_counter(h->ctx, which, &v), 0);
  return v;
}

static unsigned outcomes(const fake_host *h, cloudnotify_publish_outcome o) {
  unsigned n = 0;
  for (guint i = 0; i < h->reports->len; i++)
    n += ((const fh_report *)h->reports->pdata[i])->outcome == o;
  return n;
}

/* The administration calls answer with what they did, so they are not
 * replayed: a busy account is BUSY; a store that answers the removals
 * later gets them one by one, in the account's order. */
static void admin_calls_on_a_busy_account(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *s = enabled_session(&h, ALICE, "n1");
  assert_int_equal(raw_enable_device(s, PUSH_JID, "n2"), 0); /* waits on the filter */
  assert_int_equal(fh_open_ops(&h), 1);
  unsigned removed = 7;
  assert_int_equal(cloudnotify_account_remove_all(h.ctx, ALICE, &removed), CLOUDNOTIFY_ERR_BUSY);
  assert_int_equal(removed, 0);
  assert_int_equal(cloudnotify_account_forget(h.ctx, ALICE), CLOUDNOTIFY_ERR_BUSY);
  fh_settle(&h);
  au_assert_last_reply(&h, "result");
  assert_int_equal(h.rows->len, 2);
  /* Nothing parked now: the removals are asked, and answered later. */
  assert_int_equal(cloudnotify_account_remove_all(h.ctx, ALICE, &removed), 0);
  assert_int_equal(removed, 0);
  assert_int_equal(fh_open_ops(&h), 1);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_REMOVE);
  assert_int_equal(cloudnotify_account_forget(h.ctx, ALICE), CLOUDNOTIFY_ERR_BUSY);
  fh_settle(&h);
  assert_int_equal(h.rows->len, 0);
  assert_int_equal(h.removed->len, 2);
  for (guint i = 0; i < h.removed->len; i++)
    assert_int_equal(((fh_removed *)h.removed->pdata[i])->reason, CLOUDNOTIFY_REMOVED_ACCOUNT);
  assert_int_equal(cloudnotify_account_has_push(h.ctx, ALICE), 0);
  assert_int_equal(cloudnotify_session_has_push(s), 0);
  later_fini(&h);
}

static int count_regs(void *ud, const char *account, const cloudnotify_record *rec) {
  (void)account, (void)rec;
  (*(int *)ud)++;
  return 0;
}

/* A listing or a forget that has to load, when the load is answered
 * later, is BUSY or finishes when the load is answered: the fresh copy
 * takes the sessions over then, and the stale one serves meanwhile. */
static void admin_calls_with_a_load_answered_later(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  int n = 0;
  assert_int_equal(cloudnotify_account_registrations(h.ctx, BOB, count_regs, &n),
                   CLOUDNOTIFY_ERR_BUSY);
  assert_int_equal(fh_open_ops(&h), 1);
  fh_settle(&h);
  assert_int_equal(cloudnotify_account_registrations(h.ctx, BOB, count_regs, &n), 0);
  assert_int_equal(n, 0);

  cloudnotify_session *s = enabled_session(&h, ALICE, "n1");
  assert_int_equal(cloudnotify_account_forget(h.ctx, ALICE), 0);
  assert_int_equal(fh_open_ops(&h), 1);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_LOAD);
  assert_int_equal(cloudnotify_session_has_push(s), 1);
  fh_settle(&h);
  assert_int_equal(cloudnotify_session_has_push(s), 1);
  fh_clear(&h);
  assert_int_equal(offline(&h, ALICE, "m1", "hi"), 0);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 1);
  /* The session is bound to the fresh copy: a disable reaches it. */
  assert_int_equal(raw_disable(s, PUSH_JID), 0);
  fh_settle(&h);
  assert_int_equal(cloudnotify_session_has_push(s), 0);
  later_fini(&h);
}

/* A call given a tree while its account is busy keeps text: the host's
 * tree is freed as soon as the call returns (ASan and valgrind see any
 * later read), and the parked call still pushes what it said. */
static void tree_calls_park_as_text(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  au_set(&h, "push_notification_with_body", "true");
  cloudnotify_session *s = enabled_session(&h, ALICE, "n1");
  assert_int_equal(raw_enable_device(s, PUSH_JID, "n2"), 0); /* busy */
  fh_clear(&h);
  tt_host th = { 0 };
  char *m = msg(ALICE, "t1", "from a tree");
  tt_node *n = tt_from_xml(m, strlen(m));
  cloudnotify_tree t = tt_tree(&th, n);
  unsigned pushes = 9;
  assert_int_equal(cloudnotify_message_offline_tree(h.ctx, ALICE, &t, &pushes), 0);
  assert_int_equal(pushes, 0);
  tt_free(n);
  g_free(m);
  const char *iq =
      "<iq type='set' id='d9'><disable xmlns='urn:xmpp:push:0' jid='" PUSH_JID "' node='n1'/></iq>";
  n = tt_from_xml(iq, strlen(iq));
  t = tt_tree(&th, n);
  assert_int_equal(cloudnotify_handle_client_iq_tree(s, &t), 0);
  tt_free(n);
  assert_int_equal(client_replies(&h), 0);
  fh_settle(&h);
  /* In order: the enable's reply, the push to both, the disable's reply. */
  assert_int_equal(au_publishes(&h), 2);
  au_assert_summary_field(fh_publish(&h, 0)->xml, "last-message-body", "from a tree");
  au_assert_last_reply(&h, "result");
  assert_int_equal(h.rows->len, 1);
  /* Queued stanzas of a hibernated session, as trees. */
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  assert_int_equal(raw_enable_device(s, PUSH_JID, "n3"), 0); /* busy again */
  fh_clear(&h);
  m = msg(ALICE, "t2", "queued tree");
  n = tt_from_xml(m, strlen(m));
  t = tt_tree(&th, n);
  assert_int_equal(cloudnotify_session_queued_tree(s, &t), 0);
  tt_free(n);
  g_free(m);
  fh_settle(&h);
  au_set(&h, "push_coalesce_ms", "0");
  h.now += 10000;
  assert_int_equal(cloudnotify_tick(h.ctx), 0);
  fh_settle(&h);
  assert_true(au_publishes(&h) >= 1);
  au_assert_summary_field(fh_publish(&h, 0)->xml, "last-message-body", "queued tree");
  later_fini(&h);
}

/* Store failures are counted once per answer, given at once or later. */
static void store_failures_counted_when_answered(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(raw_enable(s, PUSH_JID, "n1"), 0);
  assert_int_equal(fh_complete(&h, 0, 0), 0); /* load */
  assert_int_equal(fh_complete(&h, 0, 0), 0); /* filter */
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_SAVE);
  assert_int_equal(counter(&h, CLOUDNOTIFY_COUNTER_STORE_FAILURES), 0);
  assert_int_equal(fh_complete(&h, 0, 1), 0);
  assert_int_equal(counter(&h, CLOUDNOTIFY_COUNTER_STORE_FAILURES), 1);
  au_assert_last_reply(&h, "wait/internal-server-error");
  /* A load that fails later is counted too, and the calls behind it
   * get the failure. */
  assert_int_equal(cloudnotify_account_has_push(h.ctx, BOB), 1);
  assert_int_equal(fh_complete(&h, 0, 1), 0);
  assert_int_equal(counter(&h, CLOUDNOTIFY_COUNTER_STORE_FAILURES), 2);
  assert_int_equal(counter(&h, CLOUDNOTIFY_COUNTER_CACHE_MISSES), 2);
  later_fini(&h);
}

/* publish_outcome: one per publish when the filter answers later; a push
 * whose question goes with its session is reported vetoed (never built). */
static void outcomes_once_with_a_later_filter(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  cloudnotify_session *s = enabled_session(&h, ALICE, "n1");
  fh_clear(&h);
  assert_int_equal(offline(&h, ALICE, "m1", "one"), 0);
  assert_int_equal(h.reports->len, 0);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 1);
  assert_int_equal(fh_reply(&h, 0, "result", NULL), 0);
  assert_int_equal(outcomes(&h, CLOUDNOTIFY_PUBLISH_OK), 1);
  h.push_filter = 1;
  assert_int_equal(offline(&h, ALICE, "m2", "two"), 0);
  fh_settle(&h);
  assert_int_equal(outcomes(&h, CLOUDNOTIFY_PUBLISH_VETOED), 1);
  h.push_filter = 0;
  /* A coalesced batch of a hibernated session waits on the filter when
   * the session goes. */
  au_set(&h, "push_coalesce_ms", "0");
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  fh_settle(&h);
  char *m = msg(ALICE, "m3", "three");
  assert_int_equal(cloudnotify_session_queued(s, m, strlen(m)), 0);
  g_free(m);
  assert_int_equal(fh_open_ops(&h), 1);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_NOTIFICATION_FILTER);
  cloudnotify_session_free(s);
  assert_int_equal(outcomes(&h, CLOUDNOTIFY_PUBLISH_VETOED), 2);
  assert_int_equal(fh_complete(&h, 0, 0), CLOUDNOTIFY_ERR_OP_CANCELLED);
  assert_int_equal(h.reports->len, 3);
  later_fini(&h);
}

/* A row stored under a key that is not normalised is rewritten by the
 * load with store calls that are answered later like any other; a
 * failure there fails the load (nothing cached), and the next call
 * loads and rewrites again. */
static void load_rewrite_answered_later(void **state) {
  (void)state;
  fake_host h;
  later_init(&h);
  fh_row *r = g_new0(fh_row, 1);
  r->account = g_strdup(ALICE);
  r->jid = g_strdup("Push.Example.");
  r->node = g_strdup("n1");
  r->enabled_at = 5;
  g_ptr_array_add(h.rows, r);
  assert_int_equal(cloudnotify_account_has_push(h.ctx, ALICE), 1); /* maybe */
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(fh_open_ops(&h), 1);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_SAVE);
  /* The save fails: the load fails, the stored row is untouched. */
  assert_int_equal(fh_complete(&h, 0, 1), 0);
  assert_int_equal(fh_open_ops(&h), 0);
  assert_int_equal(counter(&h, CLOUDNOTIFY_COUNTER_STORE_FAILURES), 1);
  assert_int_equal(h.rows->len, 1);
  /* Again, answered: save under the normalised key, remove the old row. */
  assert_int_equal(cloudnotify_account_has_push(h.ctx, ALICE), 1);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_SAVE);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_REMOVE);
  assert_int_equal(fh_complete(&h, 0, 0), 0);
  assert_int_equal(fh_open_ops(&h), 0);
  assert_int_equal(h.rows->len, 1);
  assert_string_equal(((fh_row *)h.rows->pdata[0])->jid, "push.example");
  assert_int_equal(cloudnotify_account_has_push(h.ctx, ALICE), 1);
  assert_int_equal(fh_open_ops(&h), 0);
  later_fini(&h);
}

static void op_errors_are_classified(void **state) {
  (void)state;
  assert_true(cloudnotify_is_usage_error(CLOUDNOTIFY_ERR_OP_DONE));
  assert_true(cloudnotify_is_usage_error(CLOUDNOTIFY_ERR_OP_UNKNOWN));
  assert_false(cloudnotify_is_usage_error(CLOUDNOTIFY_ERR_OP_CANCELLED));
  assert_false(cloudnotify_is_usage_error(CLOUDNOTIFY_ERR_GONE));
  assert_false(cloudnotify_is_usage_error(CLOUDNOTIFY_ERR_BUSY));
  assert_int_equal(CLOUDNOTIFY_ERR_FOREIGN_SENDER, -513);
  assert_int_equal(CLOUDNOTIFY_ERR_OP_DONE, -514);
  assert_int_equal(CLOUDNOTIFY_ERR_OP_UNKNOWN, -518);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(enable_reply_after_save_completes),
    cmocka_unit_test(enable_save_failure_changes_nothing),
    cmocka_unit_test(disable_reply_after_remove_completes),
    cmocka_unit_test(eviction_answered_later),
    cmocka_unit_test(load_surplus_answered_later),
    cmocka_unit_test(account_order_is_kept),
    cmocka_unit_test(accounts_answered_out_of_order),
    cmocka_unit_test(app_reply_parked_in_order),
    cmocka_unit_test(timer_of_busy_account_waits),
    cmocka_unit_test(double_and_wrong_completions),
    cmocka_unit_test(filter_veto_later),
    cmocka_unit_test(push_amended_until_completion),
    cmocka_unit_test(completion_after_session_free),
    cmocka_unit_test(save_survives_session_free),
    cmocka_unit_test(completion_after_ctx_free),
    cmocka_unit_test(loader_closed_after_completion),
    cmocka_unit_test(misbehaving_store),
    cmocka_unit_test(op_freed_unanswered_fails),
    cmocka_unit_test(parked_work_is_bounded),
    cmocka_unit_test(random_interleavings),
    cmocka_unit_test(admin_calls_on_a_busy_account),
    cmocka_unit_test(admin_calls_with_a_load_answered_later),
    cmocka_unit_test(tree_calls_park_as_text),
    cmocka_unit_test(store_failures_counted_when_answered),
    cmocka_unit_test(outcomes_once_with_a_later_filter),
    cmocka_unit_test(load_rewrite_answered_later),
    cmocka_unit_test(op_errors_are_classified),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
