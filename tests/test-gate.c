/* Quiet devices (issue 11): the grace period after another session's
 * activity, one visible push per window, a budget of silent pushes per
 * hour, and what bypasses them.  Time is the fake host's clock, moved by
 * hand: nothing here waits. */
#include "api-util.h"

#include <string.h>

#define HOUR 3600000

#define CALL(id)                                                                                   \
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' to='" ALICE    \
  "' id='" id "'><propose xmlns='urn:xmpp:jingle-message:0' id='" id "'><description "             \
  "xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>"

/* A fake host with the 0.3 defaults for the rate limits (fh_init turns
 * them off for the tests about other things). */
static void gate_init(fake_host *h) {
  fh_init_ex(h, FH_LOG2);
  au_set(h, "push_visible_interval", "3000");
  au_set(h, "push_silent_per_hour", "3");
}

/* A registration whose session is gone. */
static void unbound(fake_host *h, const char *node) {
  cloudnotify_session *s = au_session(h, ALICE, node);
  au_enable_ok(h, s, PUSH_JID, node, NULL);
  cloudnotify_session_free(s);
}

static uint64_t counter(fake_host *h, cloudnotify_counter which) {
  uint64_t v = 0;
  assert_int_equal(cloudnotify_ctx_get_counter(h->ctx, which, &v), 0);
  return v;
}

static unsigned msg(fake_host *h, const char *id) {
  char *m = fh_message(ALICE, id, "hi");
  unsigned n = au_offline(h, ALICE, m);
  g_free(m);
  return n;
}

static gboolean logged_id(const fake_host *h, const char *id) {
  for (guint i = 0; i < h->log_ids->len; i++)
    if (!strcmp(h->log_ids->pdata[i], id))
      return TRUE;
  return FALSE;
}

/* ---- defaults ------------------------------------------------------------- */

static int64_t plain_clock;
static unsigned plain_sent;
static int plain_send(void *ud, cloudnotify_route route, cloudnotify_session *s,
                      const char *account, const char *to, const char *xml, size_t len) {
  (void)ud, (void)s, (void)account, (void)to, (void)xml, (void)len;
  plain_sent += route == CLOUDNOTIFY_ROUTE_APP_SERVER;
  return 0;
}
static int64_t plain_now(void *ud) {
  (void)ud;
  return plain_clock;
}

/* A context as a host gets it: the window and the budget are on. */
static void defaults_are_on(void **state) {
  (void)state;
  cloudnotify_callbacks cb = {
    .size = sizeof cb, .send = plain_send, .now_ms = plain_now, .monotonic_ms = plain_now
  };
  cloudnotify_ctx *ctx;
  plain_clock = 1700000000000;
  plain_sent = 0;
  assert_int_equal(cloudnotify_ctx_new(&ctx, &cb, NULL), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ctx, ALICE, "phone", &s), 0);
  assert_int_equal(fh_enable(s, PUSH_JID, "n1", NULL), 0);
  cloudnotify_session_free(s);
  unsigned n;
  char *m1 = fh_message(ALICE, "d1", "one"), *m2 = fh_message(ALICE, "d2", "two");
  assert_int_equal(cloudnotify_message_offline(ctx, ALICE, m1, strlen(m1), &n), 0);
  assert_int_equal(n, 1);
  plain_clock += 2999;
  assert_int_equal(cloudnotify_message_offline(ctx, ALICE, m2, strlen(m2), &n), 0);
  assert_int_equal(n, 0);
  g_free(m1);
  g_free(m2);
  for (int i = 0; i < 4; i++) {
    char id[16], x[256];
    g_snprintf(id, sizeof id, "h%d", i);
    g_snprintf(x, sizeof x,
               "<message type='headline' from='news.example' to='" ALICE
               "' id='%s'><body>x</body></message>",
               id);
    assert_int_equal(cloudnotify_message_offline(ctx, ALICE, x, strlen(x), &n), 0);
    assert_int_equal(n, i < 3 ? 1 : 0);
  }
  assert_int_equal(plain_sent, 4);
  cloudnotify_ctx_free(ctx);
}

/* ---- the window of visible pushes --------------------------------------- */

static void visible_window(void **state) {
  (void)state;
  fake_host h;
  gate_init(&h);
  unbound(&h, "n1");
  assert_int_equal(msg(&h, "v1"), 1);
  h.now += 2999;
  assert_int_equal(msg(&h, "v2"), 0);
  assert_int_equal(counter(&h, CLOUDNOTIFY_COUNTER_SUPPRESSED_RATE), 1);
  assert_true(logged_id(&h, CLOUDNOTIFY_LOG_ID_PUSH_SUPPRESSED));
  assert_true(au_log_contains(&h, "visible interval"));
  /* A suppressed push never was a publish: no outcome. */
  assert_int_equal(h.reports->len, 0);
  /* The window runs from the last push that went, not the one held. */
  h.now += 1;
  assert_int_equal(msg(&h, "v3"), 1);
  assert_int_equal(au_publishes(&h), 2);
  fh_fini(&h);
}

static void visible_window_off(void **state) {
  (void)state;
  fake_host h;
  gate_init(&h);
  au_set(&h, "push_visible_interval", "0");
  unbound(&h, "n1");
  assert_int_equal(msg(&h, "o1"), 1);
  assert_int_equal(msg(&h, "o2"), 1);
  assert_int_equal(msg(&h, "o3"), 1);
  assert_int_equal(counter(&h, CLOUDNOTIFY_COUNTER_SUPPRESSED_RATE), 0);
  fh_fini(&h);
}

/* The window is per registration. */
static void visible_window_per_registration(void **state) {
  (void)state;
  fake_host h;
  gate_init(&h);
  unbound(&h, "n1");
  assert_int_equal(msg(&h, "r1"), 1);
  unbound(&h, "n2");
  assert_int_equal(msg(&h, "r2"), 1);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "n2"), 1);
  fh_fini(&h);
}

/* Calls pass the window and do not use it. */
static void calls_bypass_window(void **state) {
  (void)state;
  fake_host h;
  gate_init(&h);
  unbound(&h, "n1");
  assert_int_equal(msg(&h, "c1"), 1);
  assert_int_equal(au_offline(&h, ALICE, CALL("call1")), 1);
  h.now += 3000;
  assert_int_equal(au_offline(&h, ALICE, CALL("call2")), 1);
  /* The window runs from c1, not from the call just pushed. */
  h.now += 1;
  assert_int_equal(msg(&h, "c2"), 1);
  assert_int_equal(counter(&h, CLOUDNOTIFY_COUNTER_SUPPRESSED_RATE), 0);
  fh_fini(&h);
}

/* ---- the hourly budget of silent pushes ---------------------------------- */

static unsigned headline(fake_host *h, int i) {
  char x[256];
  g_snprintf(x, sizeof x,
             "<message xmlns='jabber:client' type='headline' from='news.example' to='" ALICE
             "' id='hl%d'><body>news</body></message>",
             i);
  return au_offline(h, ALICE, x);
}

static void silent_budget_slides_over_the_hour(void **state) {
  (void)state;
  fake_host h;
  gate_init(&h);
  unbound(&h, "n1");
  int64_t t0 = h.now;
  assert_int_equal(headline(&h, 1), 1);
  h.now = t0 + 1000;
  assert_int_equal(headline(&h, 2), 1);
  h.now = t0 + 2000;
  assert_int_equal(headline(&h, 3), 1);
  h.now = t0 + 3000;
  assert_int_equal(headline(&h, 4), 0);
  assert_true(au_log_contains(&h, "silent pushes per hour"));
  h.now = t0 + HOUR - 1;
  assert_int_equal(headline(&h, 5), 0);
  /* An hour after the first, one slot is free again... */
  h.now = t0 + HOUR;
  assert_int_equal(headline(&h, 6), 1);
  /* ...and only one: the second left 1 s later. */
  h.now = t0 + HOUR + 1;
  assert_int_equal(headline(&h, 7), 0);
  h.now = t0 + HOUR + 1000;
  assert_int_equal(headline(&h, 8), 1);
  assert_int_equal(counter(&h, CLOUDNOTIFY_COUNTER_SUPPRESSED_RATE), 3);
  /* Important pushes have their own rule. */
  assert_int_equal(msg(&h, "imp"), 1);
  fh_fini(&h);
}

static void silent_budget_off(void **state) {
  (void)state;
  fake_host h;
  gate_init(&h);
  au_set(&h, "push_silent_per_hour", "0");
  unbound(&h, "n1");
  for (int i = 0; i < 10; i++)
    assert_int_equal(headline(&h, i), 1);
  fh_fini(&h);
}

/* Beyond the ring (8), a budget N is kept as 8 per 1/floor(N/8) hour:
 * never more than N in an hour. */
static void silent_budget_large(void **state) {
  (void)state;
  fake_host h;
  gate_init(&h);
  au_set(&h, "push_silent_per_hour", "20");
  unbound(&h, "n1");
  int64_t t0 = h.now;
  unsigned sent = 0;
  /* One attempt a minute for an hour. */
  for (int i = 0; i < 60; i++) {
    h.now = t0 + (int64_t)i * 60000;
    sent += headline(&h, i);
  }
  assert_int_equal(sent, 16);
  fh_fini(&h);
}

/* Pings, wake-ups before expiry and calls pass an exhausted budget. */
static void silent_budget_bypasses(void **state) {
  (void)state;
  fake_host h;
  gate_init(&h);
  au_set(&h, "push_max_hibernation_timeout", "600");
  au_set(&h, "push_wake_before_expiry", "60");
  cloudnotify_session *s = au_session(&h, ALICE, "phone");
  au_enable_ok(&h, s, PUSH_JID, "n1", NULL);
  for (int i = 0; i < 3; i++)
    assert_int_equal(headline(&h, i), 1);
  assert_int_equal(headline(&h, 9), 0);
  for (int i = 0; i < 4; i++)
    assert_int_equal(au_ping(&h, ALICE), 1);
  assert_int_equal(au_offline(&h, ALICE, CALL("callb")), 1);
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  unsigned before = au_publishes(&h);
  h.now += 540 * 1000;
  assert_int_equal(cloudnotify_tick(h.ctx), 0);
  assert_int_equal(au_publishes(&h), before + 1);
  /* None of them used the budget either. */
  assert_int_equal(headline(&h, 10), 0);
  cloudnotify_session_free(s);
  fh_fini(&h);
}

/* ---- the grace period ---------------------------------------------------- */

/* The phone's registration, bound to its hibernated session, and a
 * desktop session without push. */
static void grace_setup(fake_host *h, cloudnotify_session **phone, cloudnotify_session **desk) {
  gate_init(h);
  au_set(h, "push_visible_interval", "0");
  au_set(h, "push_grace_period", "30");
  *phone = au_session(h, ALICE, "phone");
  au_enable_ok(h, *phone, PUSH_JID, "n1", NULL);
  assert_int_equal(cloudnotify_session_hibernated(*phone, NULL, 0), 0);
  *desk = au_session(h, ALICE, "desktop");
}

static void grace_holds_pushes(void **state) {
  (void)state;
  fake_host h;
  cloudnotify_session *phone, *desk;
  grace_setup(&h, &phone, &desk);
  assert_int_equal(msg(&h, "g0"), 1);
  assert_int_equal(cloudnotify_session_active(desk), 0);
  h.now += 29999;
  assert_int_equal(msg(&h, "g1"), 0);
  assert_int_equal(counter(&h, CLOUDNOTIFY_COUNTER_SUPPRESSED_GRACE), 1);
  assert_true(logged_id(&h, CLOUDNOTIFY_LOG_ID_PUSH_SUPPRESSED));
  assert_true(au_log_contains(&h, "grace period"));
  /* Calls are exempt. */
  assert_int_equal(au_offline(&h, ALICE, CALL("gcall")), 1);
  h.now += 1;
  assert_int_equal(msg(&h, "g2"), 1);
  /* The phone's own activity does not hold its own pushes. */
  assert_int_equal(cloudnotify_session_active(phone), 0);
  assert_int_equal(msg(&h, "g3"), 1);
  /* The desktop again, then gone: its activity goes with it. */
  assert_int_equal(cloudnotify_session_active(desk), 0);
  assert_int_equal(msg(&h, "g4"), 0);
  cloudnotify_session_free(desk);
  assert_int_equal(msg(&h, "g5"), 1);
  assert_int_equal(counter(&h, CLOUDNOTIFY_COUNTER_SUPPRESSED_GRACE), 2);
  cloudnotify_session_free(phone);
  fh_fini(&h);
}

/* Of two other sessions, the latest counts, whichever came last. */
static void grace_two_other_sessions(void **state) {
  (void)state;
  fake_host h;
  cloudnotify_session *phone, *desk;
  grace_setup(&h, &phone, &desk);
  cloudnotify_session *web = au_session(&h, ALICE, "web");
  assert_int_equal(cloudnotify_session_active(desk), 0);
  h.now += 20000;
  assert_int_equal(cloudnotify_session_active(phone), 0);
  assert_int_equal(cloudnotify_session_active(web), 0);
  h.now += 20000;
  /* desk 40 s ago, web 20 s ago. */
  assert_int_equal(msg(&h, "t1"), 0);
  cloudnotify_session_free(web);
  /* Only desk is left, 40 s ago. */
  assert_int_equal(msg(&h, "t2"), 1);
  cloudnotify_session_free(desk);
  cloudnotify_session_free(phone);
  fh_fini(&h);
}

static void grace_off(void **state) {
  (void)state;
  fake_host h;
  cloudnotify_session *phone, *desk;
  grace_setup(&h, &phone, &desk);
  au_set(&h, "push_grace_period", "0");
  assert_int_equal(cloudnotify_session_active(desk), 0);
  assert_int_equal(msg(&h, "f1"), 1);
  assert_int_equal(counter(&h, CLOUDNOTIFY_COUNTER_SUPPRESSED_GRACE), 0);
  cloudnotify_session_free(desk);
  cloudnotify_session_free(phone);
  fh_fini(&h);
}

static void session_active_errors(void **state) {
  (void)state;
  assert_int_equal(cloudnotify_session_active(NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
}

/* The activity of a session whose account is busy is recorded in turn. */
static void grace_when_busy(void **state) {
  (void)state;
  fake_host h;
  fh_default_mode = FH_LATER;
  gate_init(&h);
  fh_default_mode = FH_SYNC;
  au_set(&h, "push_visible_interval", "0");
  au_set(&h, "push_grace_period", "30");
  unbound(&h, "n1");
  fh_settle(&h);
  cloudnotify_session *desk = au_session(&h, ALICE, "desktop");
  /* A push whose filter answers later keeps the account busy. */
  char *m = fh_message(ALICE, "b1", "hi");
  unsigned n;
  assert_int_equal(cloudnotify_message_offline(h.ctx, ALICE, m, strlen(m), &n), 0);
  g_free(m);
  assert_int_equal(fh_open_ops(&h), 1);
  assert_int_equal(cloudnotify_session_active(desk), 0);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 1);
  m = fh_message(ALICE, "b2", "hi");
  assert_int_equal(cloudnotify_message_offline(h.ctx, ALICE, m, strlen(m), &n), 0);
  g_free(m);
  fh_settle(&h);
  assert_int_equal(au_publishes(&h), 1);
  assert_int_equal(counter(&h, CLOUDNOTIFY_COUNTER_SUPPRESSED_GRACE), 1);
  cloudnotify_session_free(desk);
  fh_fini(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(defaults_are_on),
    cmocka_unit_test(visible_window),
    cmocka_unit_test(visible_window_off),
    cmocka_unit_test(visible_window_per_registration),
    cmocka_unit_test(calls_bypass_window),
    cmocka_unit_test(silent_budget_slides_over_the_hour),
    cmocka_unit_test(silent_budget_off),
    cmocka_unit_test(silent_budget_large),
    cmocka_unit_test(silent_budget_bypasses),
    cmocka_unit_test(grace_holds_pushes),
    cmocka_unit_test(grace_two_other_sessions),
    cmocka_unit_test(grace_off),
    cmocka_unit_test(session_active_errors),
    cmocka_unit_test(grace_when_busy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
