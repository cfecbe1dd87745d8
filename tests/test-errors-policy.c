/* App-server errors per condition (docs/features.md, "App-server
 * errors"): which reply is WAIT, TRANSIENT or a counted ERROR, the
 * option that names the transient conditions, the back-off that WAIT and
 * TRANSIENT start (held pushes, the one retry, doubling up to 32 times,
 * a result ending it, calls passing), the registration TTL, and the
 * reasons every removal reaches the host with. */
#include "api-util.h"

#include <string.h>

typedef struct {
  fake_host h;
  au_store st;
} fixture;

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  fh_init_ex(&f->h, FH_REMOVED2 | FH_LOG2);
  au_store_init(&f->st);
  au_use_store(&f->h, &f->st);
  au_set(&f->h, "push_log_level", "debug");
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, s, PUSH_JID, "n1", NULL);
  cloudnotify_session_free(s);
  fh_clear(&f->h);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  fh_fini(&f->h);
  au_store_fini(&f->st);
  g_free(f);
  return 0;
}

static uint64_t counter(fixture *f, cloudnotify_counter c) {
  uint64_t v = 0;
  assert_int_equal(cloudnotify_ctx_get_counter(f->h.ctx, c, &v), 0);
  return v;
}

static const fh_report *last_report(fixture *f) {
  assert_true(f->h.reports->len > 0);
  return f->h.reports->pdata[f->h.reports->len - 1];
}

static gboolean logged_id(fixture *f, const char *id) {
  for (guint i = 0; i < f->h.log_ids->len; i++)
    if (!strcmp(f->h.log_ids->pdata[i], id))
      return TRUE;
  return FALSE;
}

/* Answer publish n with an error of this type and condition (either may
 * be NULL: left out). */
static int reply_error(fixture *f, unsigned n, const char *type, const char *condition) {
  const fh_sent *p = fh_publish(&f->h, n);
  assert_non_null(p);
  char *id = fh_attr(p->xml, "id");
  GString *x = g_string_new(NULL);
  g_string_printf(x, "<iq type='error' id='%s' from='%s'><error", id, p->to);
  if (type)
    g_string_append_printf(x, " type='%s'", type);
  g_string_append(x, ">");
  if (condition)
    g_string_append_printf(x, "<%s xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>", condition);
  g_string_append(x, "</error></iq>");
  int rc = cloudnotify_handle_app_reply(f->h.ctx, x->str, x->len);
  g_string_free(x, TRUE);
  g_free(id);
  return rc;
}

/* A ping's publish (pings are never held): its index. */
static unsigned ping_publish(fixture *f) {
  unsigned before = au_publishes(&f->h);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  return before;
}

static unsigned message(fixture *f, const char *id, const char *body) {
  char *m = fh_message(ALICE, id, body);
  unsigned n = au_offline(&f->h, ALICE, m);
  g_free(m);
  return n;
}

static void advance(fixture *f, int64_t ms) {
  f->h.now += ms;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
}

/* ---- the table -------------------------------------------------------------- */

static const char *const conditions[] = {
  "bad-request",
  "conflict",
  "feature-not-implemented",
  "forbidden",
  "gone",
  "internal-server-error",
  "item-not-found",
  "jid-malformed",
  "not-acceptable",
  "not-allowed",
  "not-authorized",
  "policy-violation",
  "recipient-unavailable",
  "redirect",
  "registration-required",
  "remote-server-not-found",
  "remote-server-timeout",
  "resource-constraint",
  "service-unavailable",
  "subscription-required",
  "undefined-condition",
  "unexpected-request",
};

static gboolean default_transient(const char *c) {
  return !strcmp(c, "resource-constraint") || !strcmp(c, "internal-server-error") ||
         !strcmp(c, "remote-server-timeout") || !strcmp(c, "service-unavailable") ||
         !strcmp(c, "recipient-unavailable");
}

/* Every condition under every type: 'wait' is WAIT, the five default
 * transient conditions are TRANSIENT, everything else counts. */
static void every_condition_of_the_table(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "1000");
  au_set(&f->h, "push_backoff", "0");
  const char *types[] = { "cancel", "auth", "modify", "wait" };
  unsigned errors = 0;
  for (size_t t = 0; t < G_N_ELEMENTS(types); t++) {
    for (size_t c = 0; c < G_N_ELEMENTS(conditions); c++) {
      uint64_t transient = counter(f, CLOUDNOTIFY_COUNTER_REPLIES_TRANSIENT);
      assert_int_equal(reply_error(f, ping_publish(f), types[t], conditions[c]), 0);
      const fh_report *r = last_report(f);
      cloudnotify_publish_outcome want = !strcmp(types[t], "wait") ? CLOUDNOTIFY_PUBLISH_WAIT
                                         : default_transient(conditions[c])
                                             ? CLOUDNOTIFY_PUBLISH_TRANSIENT
                                             : CLOUDNOTIFY_PUBLISH_ERROR;
      if (r->outcome != want)
        print_error("%s/%s: outcome %d, want %d\n", types[t], conditions[c], r->outcome, want);
      assert_int_equal(r->outcome, want);
      assert_string_equal(r->error_type, types[t]);
      assert_string_equal(r->error_condition, conditions[c]);
      if (want == CLOUDNOTIFY_PUBLISH_ERROR)
        errors++;
      assert_int_equal(r->errors, errors);
      assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_REPLIES_TRANSIENT),
                       transient + (want == CLOUDNOTIFY_PUBLISH_TRANSIENT));
    }
  }
  /* No type, no condition, an unknown condition: counted, as in 0.2. */
  assert_int_equal(reply_error(f, ping_publish(f), NULL, "service-unavailable"), 0);
  assert_int_equal(last_report(f)->outcome, CLOUDNOTIFY_PUBLISH_ERROR);
  assert_int_equal(reply_error(f, ping_publish(f), "cancel", NULL), 0);
  assert_int_equal(last_report(f)->outcome, CLOUDNOTIFY_PUBLISH_ERROR);
  assert_int_equal(reply_error(f, ping_publish(f), "cancel", "no-such-condition"), 0);
  assert_int_equal(last_report(f)->outcome, CLOUDNOTIFY_PUBLISH_ERROR);
  assert_string_equal(last_report(f)->error_condition, "undefined-condition");
  assert_int_equal(f->h.removed->len, 0);
}

/* The app servers of the field notes: p2's item-not-found for a node it
 * does not know removes at the limit; its wait/recipient-unavailable and
 * a transient condition under 'cancel' never do. */
static void transient_never_removes(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "1");
  au_set(&f->h, "push_backoff", "0");
  for (int i = 0; i < 20; i++) {
    assert_int_equal(reply_error(f, ping_publish(f), "cancel", "service-unavailable"), 0);
    assert_int_equal(reply_error(f, ping_publish(f), "wait", "recipient-unavailable"), 0);
    assert_int_equal(reply_error(f, ping_publish(f), "cancel", "internal-server-error"), 0);
  }
  assert_int_equal(f->h.removed->len, 0);
  assert_int_equal(reply_error(f, ping_publish(f), "cancel", "item-not-found"), 0);
  assert_int_equal(f->h.removed->len, 1);
  assert_int_equal(au_removed(&f->h, 0)->reason, CLOUDNOTIFY_REMOVED_ERRORS);
  assert_string_equal(au_removed(&f->h, 0)->error_condition, "item-not-found");
}

/* A transient reply neither counts nor restarts the count: errors in a
 * row around it still reach the limit. */
static void transient_keeps_the_count(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "2");
  au_set(&f->h, "push_backoff", "0");
  assert_int_equal(reply_error(f, ping_publish(f), "auth", "forbidden"), 0);
  assert_int_equal(reply_error(f, ping_publish(f), "cancel", "remote-server-timeout"), 0);
  assert_int_equal(last_report(f)->errors, 1);
  assert_int_equal(f->h.removed->len, 0);
  assert_int_equal(reply_error(f, ping_publish(f), "cancel", "gone"), 0);
  assert_int_equal(f->h.removed->len, 1);
}

/* push_transient_errors: "" makes every non-wait error count; a list of
 * one's own (fpush's cancel/bad-request for its internal faults). */
static void transient_errors_option(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "1000");
  au_set(&f->h, "push_backoff", "0");
  au_set(&f->h, "push_transient_errors", "");
  assert_int_equal(reply_error(f, ping_publish(f), "cancel", "service-unavailable"), 0);
  assert_int_equal(last_report(f)->outcome, CLOUDNOTIFY_PUBLISH_ERROR);
  assert_int_equal(reply_error(f, ping_publish(f), "wait", "service-unavailable"), 0);
  assert_int_equal(last_report(f)->outcome, CLOUDNOTIFY_PUBLISH_WAIT);
  au_set(&f->h, "push_transient_errors", "bad-request, item-not-found");
  assert_int_equal(reply_error(f, ping_publish(f), "cancel", "bad-request"), 0);
  assert_int_equal(last_report(f)->outcome, CLOUDNOTIFY_PUBLISH_TRANSIENT);
  assert_int_equal(reply_error(f, ping_publish(f), "cancel", "service-unavailable"), 0);
  assert_int_equal(last_report(f)->outcome, CLOUDNOTIFY_PUBLISH_ERROR);
}

/* ---- back-off ----------------------------------------------------------- */

/* WAIT holds pushes for push_backoff seconds; at its end one push goes,
 * standing for what was held (the important one). */
static void backoff_holds_then_one_retry(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_notification_with_body", "true");
  assert_int_equal(message(f, "m1", "one"), 1);
  assert_int_equal(reply_error(f, 0, "wait", "resource-constraint"), 0);
  assert_int_equal(last_report(f)->outcome, CLOUDNOTIFY_PUBLISH_WAIT);
  assert_int_equal(message(f, "m2", "two"), 0);
  assert_int_equal(message(f, "m3", "three"), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_SUPPRESSED_BACKOFF), 2);
  assert_true(logged_id(f, CLOUDNOTIFY_LOG_ID_PUSH_SUPPRESSED));
  /* Held pushes are no publishes: no outcome for them. */
  assert_int_equal(f->h.reports->len, 1);
  advance(f, 29999);
  assert_int_equal(au_publishes(&f->h), 1);
  advance(f, 1);
  assert_int_equal(au_publishes(&f->h), 2);
  const fh_sent *retry = fh_publish(&f->h, 1);
  assert_string_equal(retry->to, PUSH_JID);
  /* A real publish: outstanding, answered like any other. */
  au_assert_summary_field(retry->xml, "last-message-body", "three");
  /* It announces both held messages: counted once each, the retry's own
   * stanza included only once. */
  au_assert_summary_field(retry->xml, "message-count", "2");
  assert_int_equal(fh_reply(&f->h, 1, "result", NULL), 0);
  assert_int_equal(last_report(f)->outcome, CLOUDNOTIFY_PUBLISH_OK);
  /* The result ended the back-off: the next message goes at once. */
  assert_int_equal(message(f, "m4", "four"), 1);
}

/* The retry is important (the placeholder body) when anything held was,
 * even if a later held stanza was not. */
static void retry_important_if_any_held_was(void **state) {
  fixture *f = *state;
  assert_int_equal(message(f, "m1", "one"), 1);
  assert_int_equal(reply_error(f, 0, "wait", NULL), 0);
  assert_int_equal(message(f, "m2", "important"), 0);
  const char *presence = "<presence xmlns='jabber:client' from='romeo@montague.example/o'/>";
  assert_int_equal(au_offline(&f->h, ALICE, presence), 0);
  advance(f, 30000);
  assert_int_equal(au_publishes(&f->h), 2);
  au_assert_summary_field(fh_publish(&f->h, 1)->xml, "last-message-body", "New Message!");
}

/* Nothing held: the back-off ends without a push. */
static void nothing_held_no_retry(void **state) {
  fixture *f = *state;
  assert_int_equal(message(f, "m1", "one"), 1);
  assert_int_equal(reply_error(f, 0, "wait", NULL), 0);
  advance(f, 30000);
  advance(f, 1000000);
  assert_int_equal(au_publishes(&f->h), 1);
  assert_int_equal(message(f, "m2", "two"), 1);
}

/* Each further WAIT or TRANSIENT doubles the back-off, up to 32 times
 * the base; a result resets it to the base. */
static void backoff_doubles_up_to_32_times(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_backoff", "10");
  assert_int_equal(message(f, "m0", "x"), 1);
  const int64_t want[] = { 10, 20, 40, 80, 160, 320, 320, 320 };
  unsigned n = 0;
  for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
    /* Alternately wait and transient: both back off the same way. */
    assert_int_equal(reply_error(f, n, i % 2 ? "cancel" : "wait", "service-unavailable"), 0);
    char id[8];
    g_snprintf(id, sizeof id, "h%zu", i);
    assert_int_equal(message(f, id, "held"), 0);
    advance(f, want[i] * 1000 - 1);
    assert_int_equal(au_publishes(&f->h), n + 1);
    advance(f, 1);
    assert_int_equal(au_publishes(&f->h), n + 2);
    n++;
  }
  /* A result resets: the next back-off is the base again. */
  assert_int_equal(fh_reply(&f->h, n, "result", NULL), 0);
  assert_int_equal(message(f, "r1", "x"), 1);
  n++;
  assert_int_equal(reply_error(f, n, "wait", NULL), 0);
  assert_int_equal(message(f, "r2", "held"), 0);
  advance(f, 10000);
  assert_int_equal(au_publishes(&f->h), n + 2);
}

/* A result for an earlier publish ends a back-off at once: the held push
 * goes then, not at the timer. */
static void result_ends_backoff(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_notification_with_body", "true");
  assert_int_equal(message(f, "m1", "one"), 1);
  assert_int_equal(message(f, "m2", "two"), 1);
  assert_int_equal(reply_error(f, 0, "wait", NULL), 0);
  assert_int_equal(message(f, "m3", "three"), 0);
  assert_int_equal(fh_reply(&f->h, 1, "result", NULL), 0);
  assert_int_equal(au_publishes(&f->h), 3);
  au_assert_summary_field(fh_publish(&f->h, 2)->xml, "last-message-body", "three");
  advance(f, 60000);
  assert_int_equal(au_publishes(&f->h), 3);
}

#define PROPOSE                                                                                    \
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' "              \
  "to='juliet@capulet.example' id='call1'><propose xmlns='urn:xmpp:jingle-message:0' "             \
  "id='c1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>"              \
  "<store xmlns='urn:xmpp:hints'/></message>"

/* Calls are not held; pings are not either. */
static void calls_and_pings_bypass(void **state) {
  fixture *f = *state;
  assert_int_equal(message(f, "m1", "one"), 1);
  assert_int_equal(reply_error(f, 0, "cancel", "resource-constraint"), 0);
  assert_int_equal(last_report(f)->outcome, CLOUDNOTIFY_PUBLISH_TRANSIENT);
  assert_int_equal(message(f, "m2", "held"), 0);
  assert_int_equal(au_offline(&f->h, ALICE, PROPOSE), 1);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_SUPPRESSED_BACKOFF), 1);
}

static void backoff_off(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_backoff", "0");
  assert_int_equal(message(f, "m1", "one"), 1);
  assert_int_equal(reply_error(f, 0, "wait", NULL), 0);
  assert_int_equal(message(f, "m2", "two"), 1);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_SUPPRESSED_BACKOFF), 0);
}

/* A registration removed while backing off takes its timer along: no
 * retry for it, nor for a registration enabled again with its key. */
static void removal_cancels_backoff(void **state) {
  fixture *f = *state;
  assert_int_equal(message(f, "m1", "one"), 1);
  assert_int_equal(reply_error(f, 0, "wait", NULL), 0);
  assert_int_equal(message(f, "m2", "held"), 0);
  cloudnotify_session *s = au_session(&f->h, ALICE, "other");
  assert_int_equal(fh_disable(s, PUSH_JID, "n1"), 0);
  au_assert_last_reply(&f->h, "result");
  advance(f, 100000);
  assert_int_equal(au_publishes(&f->h), 1);
  au_enable_ok(&f->h, s, PUSH_JID, "n1", NULL);
  advance(f, 100000);
  assert_int_equal(au_publishes(&f->h), 1);
  assert_int_equal(message(f, "m3", "three"), 1);
  cloudnotify_session_free(s);
}

/* The back-off lives in memory only: an account that leaves the cache
 * forgets it (documented), and the next push goes at once. */
static void eviction_forgets_backoff(void **state) {
  fixture *f = *state;
  assert_int_equal(message(f, "m1", "one"), 1);
  assert_int_equal(reply_error(f, 0, "wait", NULL), 0);
  assert_int_equal(message(f, "m2", "held"), 0);
  assert_int_equal(cloudnotify_account_forget(f->h.ctx, ALICE), 0);
  advance(f, 100000);
  assert_int_equal(au_publishes(&f->h), 1);
  assert_int_equal(message(f, "m3", "three"), 1);
}

/* Freeing the context with a back-off running (valgrind checks the rest). */
static void ctx_free_while_backing_off(void **state) {
  fixture *f = *state;
  assert_int_equal(message(f, "m1", "one"), 1);
  assert_int_equal(reply_error(f, 0, "wait", NULL), 0);
  assert_int_equal(message(f, "m2", "held"), 0);
  assert_true(cloudnotify_next_timeout(f->h.ctx) >= 0);
}

/* The back-off ending while the account waits for the store: the retry
 * runs in turn, after the work that was first. */
static void backoff_end_on_busy_account(void **state) {
  (void)state;
  fake_host h;
  fh_default_mode = FH_LATER;
  fh_init(&h);
  fh_default_mode = FH_SYNC;
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(fh_enable(s, PUSH_JID, "n1", NULL), 0);
  au_assert_last_reply(&h, "result");
  char *m = fh_message(ALICE, "m1", "one");
  unsigned n;
  assert_int_equal(cloudnotify_message_offline(h.ctx, ALICE, m, strlen(m), &n), 0);
  g_free(m);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 1);
  assert_int_equal(fh_reply(&h, 0, "wait", NULL), 0);
  m = fh_message(ALICE, "m2", "two");
  assert_int_equal(cloudnotify_message_offline(h.ctx, ALICE, m, strlen(m), &n), 0);
  g_free(m);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 1);
  /* An enable waits on the filter: the account is busy when the timer
   * fires. */
  const char *iq = "<iq type='set' id='e2'><enable xmlns='urn:xmpp:push:0' jid='other.example'/>"
                   "</iq>";
  assert_int_equal(cloudnotify_session_set_client_id(s, "second"), 0);
  assert_int_equal(cloudnotify_handle_client_iq(s, iq, strlen(iq)), 0);
  assert_true(fh_open_ops(&h) > 0);
  h.now += 30000;
  assert_int_equal(cloudnotify_tick(h.ctx), 0);
  assert_int_equal(au_publishes(&h), 1);
  fh_settle(&h);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "n1"), 2);
  cloudnotify_session_free(s);
  fh_fini(&h);
}

/* ---- TTL ------------------------------------------------------------------ */

static const int64_t DAY = 86400 * 1000;

/* Expired in memory: not pushed, then removed (EXPIRED) from store and
 * memory, the host told and the removal logged. */
static void ttl_expires_when_pushed(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_registration_ttl", "2");
  f->h.wall_offset += 2 * DAY - 1000;
  assert_int_equal(message(f, "m1", "one"), 1);
  f->h.wall_offset += 2000;
  assert_int_equal(message(f, "m2", "two"), 0);
  assert_int_equal(f->h.removed->len, 0);
  advance(f, 0);
  assert_int_equal(f->h.removed->len, 1);
  assert_int_equal(au_removed(&f->h, 0)->reason, CLOUDNOTIFY_REMOVED_EXPIRED);
  assert_true(au_removed(&f->h, 0)->v2);
  assert_int_equal(au_store_find(&f->st, ALICE, PUSH_JID, "n1"), -1);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_REMOVED_EXPIRED), 1);
  assert_true(logged_id(f, CLOUDNOTIFY_LOG_ID_REGISTRATION_REMOVED));
  assert_int_equal(au_ping(&f->h, ALICE), 0);
}

/* Expired in the store: dropped as the account loads (after a restart). */
static void ttl_expires_when_loaded(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_registration_ttl", "1");
  assert_int_equal(cloudnotify_account_forget(f->h.ctx, ALICE), 0);
  f->h.wall_offset += DAY + 1;
  assert_int_equal(message(f, "m1", "one"), 0);
  assert_int_equal(f->h.removed->len, 1);
  assert_int_equal(au_removed(&f->h, 0)->reason, CLOUDNOTIFY_REMOVED_EXPIRED);
  assert_int_equal(au_store_find(&f->st, ALICE, PUSH_JID, "n1"), -1);
}

static int64_t listed_enabled_at(fixture *f);

/* Enabling again refreshes the enable time, which the TTL counts from. */
static void reenable_refreshes(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_registration_ttl", "1");
  int64_t first = listed_enabled_at(f);
  f->h.wall_offset += DAY - 1000;
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, s, PUSH_JID, "n1", NULL);
  cloudnotify_session_free(s);
  assert_true(listed_enabled_at(f) >= first + DAY - 1000);
  f->h.wall_offset += DAY - 1000;
  assert_int_equal(message(f, "m1", "one"), 1);
  assert_int_equal(cloudnotify_account_forget(f->h.ctx, ALICE), 0);
  assert_int_equal(message(f, "m2", "two"), 1);
  assert_int_equal(f->h.removed->len, 0);
}

static int collect_time(void *data, const char *account, const cloudnotify_record *r) {
  *(int64_t *)data = r->enabled_at_ms;
  return 0;
}

static int64_t listed_enabled_at(fixture *f) {
  int64_t t = 0;
  assert_int_equal(cloudnotify_account_registrations(f->h.ctx, ALICE, collect_time, &t), 1);
  return t;
}

/* 0: no TTL, whatever the age. */
static void ttl_off_by_default(void **state) {
  fixture *f = *state;
  f->h.wall_offset += 3650 * DAY;
  assert_int_equal(message(f, "m1", "one"), 1);
  assert_int_equal(cloudnotify_account_forget(f->h.ctx, ALICE), 0);
  assert_int_equal(message(f, "m2", "two"), 1);
}

/* ---- removal reasons --------------------------------------------------- */

/* Removals other than the client's own disable are logged with
 * REGISTRATION_REMOVED; every one reaches the host with its reason. */
static void removals_logged_with_reason(void **state) {
  fixture *f = *state;
  cloudnotify_session *s = au_session(&f->h, ALICE, "desk");
  au_enable_ok(&f->h, s, OTHER_PUSH_JID, NULL, NULL);
  fh_clear(&f->h);
  assert_int_equal(fh_disable(s, OTHER_PUSH_JID, NULL), 0);
  assert_int_equal(au_removed(&f->h, 0)->reason, CLOUDNOTIFY_REMOVED_DISABLED);
  assert_false(logged_id(f, CLOUDNOTIFY_LOG_ID_REGISTRATION_REMOVED));
  unsigned removed = 0;
  assert_int_equal(cloudnotify_account_remove_all(f->h.ctx, ALICE, &removed), 0);
  assert_int_equal(removed, 1);
  assert_int_equal(au_removed(&f->h, 1)->reason, CLOUDNOTIFY_REMOVED_ACCOUNT);
  assert_true(logged_id(f, CLOUDNOTIFY_LOG_ID_REGISTRATION_REMOVED));
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_REMOVED_ACCOUNT), 1);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_REMOVED_DISABLED), 1);
  cloudnotify_session_free(s);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
    T(every_condition_of_the_table),
    T(transient_never_removes),
    T(transient_keeps_the_count),
    T(transient_errors_option),
    T(backoff_holds_then_one_retry),
    T(retry_important_if_any_held_was),
    T(nothing_held_no_retry),
    T(backoff_doubles_up_to_32_times),
    T(result_ends_backoff),
    T(calls_and_pings_bypass),
    T(backoff_off),
    T(removal_cancels_backoff),
    T(eviction_forgets_backoff),
    T(ctx_free_while_backing_off),
    cmocka_unit_test(backoff_end_on_busy_account),
    T(ttl_expires_when_pushed),
    T(ttl_expires_when_loaded),
    T(reenable_refreshes),
    T(ttl_off_by_default),
    T(removals_logged_with_reason),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
