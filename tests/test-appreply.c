/* App-server replies: error counting and its reset, removal at
 * push_max_errors, 'wait' errors, replies from strangers, unknown and
 * repeated ids, the bounded table of outstanding publishes, expiry, and
 * the timer that expiry needs. */
#include "api-util.h"

#include <string.h>

typedef struct {
  fake_host h;
} fixture;

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  fh_init(&f->h);
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
  g_free(f);
  return 0;
}

/* Publish once more and return the index of the new publish. */
static unsigned publish(fixture *f) {
  unsigned before = au_publishes(&f->h);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(au_publishes(&f->h), before + 1);
  return before;
}

static void reply_ok(fixture *f, unsigned n, const char *type) {
  assert_int_equal(fh_reply(&f->h, n, type, NULL), 0);
}

/* n publishes, each answered with type. */
static void answer_n(fixture *f, unsigned n, const char *type) {
  for (unsigned i = 0; i < n; i++)
    reply_ok(f, publish(f), type);
}

static gboolean registered(fixture *f) {
  unsigned before = au_publishes(&f->h);
  unsigned pushes = au_ping(&f->h, ALICE);
  assert_int_equal(au_publishes(&f->h), before + pushes);
  return pushes == 1;
}

static void assert_removed_for_errors(fixture *f) {
  assert_int_equal(f->h.removed->len, 1);
  const fh_removed *r = au_removed(&f->h, 0);
  assert_string_equal(r->account, ALICE);
  assert_string_equal(r->jid, PUSH_JID);
  assert_string_equal(r->node, "n1");
  assert_int_equal(r->reason, CLOUDNOTIFY_REMOVED_ERRORS);
}

/* ---- counting ---------------------------------------------------------------- */

static void result_resets_error_count(void **state) {
  fixture *f = *state;
  answer_n(f, 15, "cancel");
  answer_n(f, 1, "result");
  answer_n(f, 15, "cancel");
  assert_int_equal(f->h.removed->len, 0);
  assert_true(registered(f));
  /* The count is still running: one more makes sixteen in a row. */
  answer_n(f, 1, "modify");
  assert_removed_for_errors(f);
  assert_false(registered(f));
}

static void errors_remove_at_limit(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "3");
  unsigned a = publish(f), b = publish(f), c = publish(f);
  reply_ok(f, a, "cancel");
  reply_ok(f, b, "modify");
  assert_int_equal(f->h.removed->len, 0);
  reply_ok(f, c, "auth");
  assert_removed_for_errors(f);
  fh_clear(&f->h);
  assert_int_equal(au_ping(&f->h, ALICE), 0);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hi"), 0);
  assert_int_equal(au_publishes(&f->h), 0);
  assert_int_equal(f->h.removed->len, 0);
}

/* Replies still in flight when the registration goes must not count
 * against it twice or report the removal again. */
static void removal_reported_once(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "3");
  unsigned ids[5];
  for (unsigned i = 0; i < 5; i++)
    ids[i] = publish(f);
  for (unsigned i = 0; i < 5; i++)
    assert_int_equal(fh_reply(&f->h, ids[i], "cancel", NULL), i < 3 ? 0 : CLOUDNOTIFY_ERR_NOT_MINE);
  assert_removed_for_errors(f);
  assert_false(registered(f));
}

static void errors_remove_at_default_limit(void **state) {
  fixture *f = *state;
  answer_n(f, 15, "cancel");
  assert_int_equal(f->h.removed->len, 0);
  assert_true(registered(f));
  answer_n(f, 1, "auth");
  assert_removed_for_errors(f);
  assert_false(registered(f));
}

static void wait_errors_never_count(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "3");
  answer_n(f, 20, "wait");
  assert_int_equal(f->h.removed->len, 0);
  assert_true(registered(f));
  /* Nor do they reset the count (as the reference). */
  answer_n(f, 2, "cancel");
  answer_n(f, 5, "wait");
  assert_int_equal(f->h.removed->len, 0);
  answer_n(f, 1, "cancel");
  assert_removed_for_errors(f);
}

static void replies_from_another_jid_change_nothing(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "2");
  unsigned a = publish(f);
  reply_ok(f, a, "cancel");
  unsigned b = publish(f);
  /* A stranger's result does not reset, a stranger's errors do not count,
   * and each is reported as such rather than as consumed. */
  assert_int_equal(fh_reply(&f->h, b, "result", "evil.example"), CLOUDNOTIFY_ERR_FOREIGN_SENDER);
  assert_int_equal(fh_reply(&f->h, b, "cancel", "evil.example"), CLOUDNOTIFY_ERR_FOREIGN_SENDER);
  assert_int_equal(fh_reply(&f->h, b, "cancel", "mallory@push.example"),
                   CLOUDNOTIFY_ERR_FOREIGN_SENDER);
  assert_int_equal(fh_reply(&f->h, b, "cancel", "push.example/res"),
                   CLOUDNOTIFY_ERR_FOREIGN_SENDER);
  assert_int_equal(f->h.removed->len, 0);
  /* The real reply afterwards is still awaited and counts. */
  assert_int_equal(fh_reply(&f->h, b, "cancel", "Push.Example"), 0);
  assert_removed_for_errors(f);
}

static void result_from_another_jid_does_not_reset(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "2");
  reply_ok(f, publish(f), "cancel");
  unsigned b = publish(f);
  assert_int_equal(fh_reply(&f->h, b, "result", "evil.example"), CLOUDNOTIFY_ERR_FOREIGN_SENDER);
  reply_ok(f, b, "cancel");
  assert_removed_for_errors(f);
}

/* ---- ids ------------------------------------------------------------------------ */

static int reply_raw(fixture *f, const char *xml) {
  return cloudnotify_handle_app_reply(f->h.ctx, xml, strlen(xml));
}

static void unknown_id_not_mine(void **state) {
  fixture *f = *state;
  unsigned a = publish(f);
  assert_int_equal(reply_raw(f, "<iq type='result' id='0123456789abcdef0123456789abcdef' "
                                "from='push.example'/>"),
                   CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(reply_raw(f, "<iq type='error' id='nope' from='push.example'>"
                                "<error type='cancel'><item-not-found "
                                "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"),
                   CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(reply_raw(f, "<iq type='result' from='push.example'/>"),
                   CLOUDNOTIFY_ERR_NOT_MINE);
  /* Only results and errors are replies, even with a known id. */
  char *id = fh_attr(fh_publish(&f->h, a)->xml, "id");
  char *x = g_strdup_printf("<iq type='set' id='%s' from='push.example'><pubsub "
                            "xmlns='http://jabber.org/protocol/pubsub'/></iq>",
                            id);
  assert_int_equal(reply_raw(f, x), CLOUDNOTIFY_ERR_NOT_MINE);
  g_free(x);
  x = g_strdup_printf("<message type='error' id='%s' from='push.example'/>", id);
  assert_int_equal(reply_raw(f, x), CLOUDNOTIFY_ERR_NOT_MINE);
  g_free(x);
  g_free(id);
  assert_int_equal(reply_raw(f, "<iq type='result' id='x'"), CLOUDNOTIFY_ERR_XML);
  /* The real one is still there. */
  reply_ok(f, a, "result");
  assert_int_equal(f->h.sent->len, 1);
}

static void answered_id_not_mine(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "2");
  unsigned a = publish(f);
  reply_ok(f, a, "cancel");
  assert_int_equal(fh_reply(&f->h, a, "cancel", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(fh_reply(&f->h, a, "result", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
  /* The repeated error did not count: one more real error is needed. */
  assert_int_equal(f->h.removed->len, 0);
  reply_ok(f, publish(f), "cancel");
  assert_removed_for_errors(f);
}

/* A publish made for a registration that has since gone belongs to
 * nobody: its late reply must not count against a new registration with
 * the same jid and node. */
static void reply_for_removed_registration_not_mine(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "1");
  unsigned old = publish(f);
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  assert_int_equal(fh_disable(s, PUSH_JID, "n1"), 0);
  au_assert_last_reply(&f->h, "result");
  au_enable_ok(&f->h, s, PUSH_JID, "n1", NULL);
  cloudnotify_session_free(s);
  assert_int_equal(f->h.removed->len, 1);
  assert_int_equal(au_removed(&f->h, 0)->reason, CLOUDNOTIFY_REMOVED_DISABLED);
  assert_int_equal(fh_reply(&f->h, old, "cancel", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(f->h.removed->len, 1);
  assert_true(registered(f));
}

/* ---- the bounded table -------------------------------------------------------------- */

static void table_bounded_oldest_dropped(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_outstanding", "2");
  unsigned a = publish(f), b = publish(f), c = publish(f);
  assert_int_equal(fh_reply(&f->h, a, "cancel", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
  reply_ok(f, b, "result");
  reply_ok(f, c, "cancel");
  assert_int_equal(fh_reply(&f->h, c, "cancel", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
}

/* ---- expiry and the timer ------------------------------------------------------------- */

static void expired_publish_counts_as_nothing(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "2");
  au_set(&f->h, "push_publish_timeout", "10");
  reply_ok(f, publish(f), "cancel");
  unsigned late = publish(f);
  f->h.now += 10001;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(fh_reply(&f->h, late, "cancel", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(f->h.removed->len, 0);
  assert_true(registered(f));
  /* Neither reset nor counted: one more error reaches the limit of 2. */
  reply_ok(f, publish(f), "cancel");
  assert_removed_for_errors(f);
}

static void unexpired_publish_still_awaited(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_publish_timeout", "10");
  unsigned a = publish(f);
  f->h.now += 9999;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  reply_ok(f, a, "result");
}

static void timer_reported_for_outstanding(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_publish_timeout", "10");
  assert_int_equal(cloudnotify_next_timeout(f->h.ctx), -1);
  unsigned calls = f->h.timer_calls;
  unsigned a = publish(f);
  assert_true(f->h.timer_calls > calls);
  assert_true(f->h.timer > 0);
  assert_int_equal(f->h.timer, 10000);
  assert_int_equal(cloudnotify_next_timeout(f->h.ctx), 10000);
  f->h.now += 2500;
  assert_int_equal(cloudnotify_next_timeout(f->h.ctx), 7500);
  /* Once answered nothing is awaited any more. */
  reply_ok(f, a, "result");
  assert_int_equal(f->h.timer, -1);
  assert_int_equal(cloudnotify_next_timeout(f->h.ctx), -1);

  /* Expiry through tick also clears the timer. */
  publish(f);
  assert_int_equal(f->h.timer, 10000);
  f->h.now += 10000;
  assert_int_equal(cloudnotify_next_timeout(f->h.ctx), 0);
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(f->h.timer, -1);
  assert_int_equal(cloudnotify_next_timeout(f->h.ctx), -1);
}

/* ---- storage failure at the limit ------------------------------------------------------ */

static void removal_store_failure_retried(void **state) {
  fixture *f = *state;
  au_store st;
  au_store_init(&st);
  au_use_store(&f->h, &st);
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, s, PUSH_JID, "n1", NULL);
  cloudnotify_session_free(s);
  au_set(&f->h, "push_max_errors", "1");
  fh_clear(&f->h);
  st.fail_remove = 1;
  unsigned a = publish(f);
  assert_int_equal(fh_reply(&f->h, a, "cancel", NULL), CLOUDNOTIFY_ERR_STORE);
  assert_int_equal(f->h.removed->len, 0);
  assert_true(registered(f));
  st.fail_remove = 0;
  reply_ok(f, publish(f), "cancel");
  assert_removed_for_errors(f);
  assert_int_equal(st.records->len, 0);
  cloudnotify_ctx_free(f->h.ctx);
  f->h.ctx = NULL;
  assert_int_equal(st.destroys, 1);
  au_store_fini(&st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    T(result_resets_error_count),
    T(errors_remove_at_limit),
    T(removal_reported_once),
    T(errors_remove_at_default_limit),
    T(wait_errors_never_count),
    T(replies_from_another_jid_change_nothing),
    T(result_from_another_jid_does_not_reset),
    T(unknown_id_not_mine),
    T(answered_id_not_mine),
    T(reply_for_removed_registration_not_mine),
    T(table_bounded_oldest_dropped),
    T(expired_publish_counts_as_nothing),
    T(unexpired_publish_still_awaited),
    T(timer_reported_for_outstanding),
    T(removal_store_failure_retried),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
