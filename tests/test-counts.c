/* Counts and clearing (issue 11): message-count as the messages for a
 * registration since it was last pushed or its session was last active,
 * what resets it, the host's own count through the notification filter,
 * and the badge-clearing push after an offline fetch. */
#include "api-util.h"

#include <string.h>

#define CALL(id)                                                                                   \
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' to='" ALICE    \
  "' id='" id "'><propose xmlns='urn:xmpp:jingle-message:0' id='" id "'><description "             \
  "xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>"

static void counts_init(fake_host *h) {
  fh_init(h);
  au_set(h, "push_visible_interval", "3000");
  au_set(h, "push_silent_per_hour", "3");
}

static void unbound(fake_host *h, const char *node) {
  cloudnotify_session *s = au_session(h, ALICE, node);
  au_enable_ok(h, s, PUSH_JID, node, NULL);
  cloudnotify_session_free(s);
}

static unsigned msg(fake_host *h, const char *id) {
  char *m = fh_message(ALICE, id, "hi");
  unsigned n = au_offline(h, ALICE, m);
  g_free(m);
  return n;
}

/* message-count of the last publish to node. */
static void assert_last_count(const fake_host *h, const char *node, const char *want) {
  const fh_sent *last = NULL;
  for (unsigned i = 0; fh_publish(h, i); i++) {
    char *got = au_xpath(fh_publish(h, i)->xml, "string(/iq/ps:pubsub/ps:publish/@node)");
    if (!strcmp(got, node))
      last = fh_publish(h, i);
    g_free(got);
  }
  assert_non_null(last);
  au_assert_summary_field(last->xml, "message-count", want);
}

/* Messages held back by the window are announced by the next push. */
static void count_across_suppressed(void **state) {
  (void)state;
  fake_host h;
  counts_init(&h);
  unbound(&h, "n1");
  assert_int_equal(msg(&h, "m1"), 1);
  assert_last_count(&h, "n1", "1");
  assert_int_equal(msg(&h, "m2"), 0);
  assert_int_equal(msg(&h, "m3"), 0);
  /* A copy of m3 is de-duplicated, not counted again. */
  assert_int_equal(msg(&h, "m3"), 0);
  h.now += 3000;
  assert_int_equal(msg(&h, "m4"), 1);
  assert_last_count(&h, "n1", "3");
  /* Counting starts again after a push. */
  h.now += 3000;
  assert_int_equal(msg(&h, "m5"), 1);
  assert_last_count(&h, "n1", "1");
  fh_fini(&h);
}

/* Each registration counts its own. */
static void count_per_registration(void **state) {
  (void)state;
  fake_host h;
  counts_init(&h);
  unbound(&h, "n1");
  assert_int_equal(msg(&h, "p1"), 1);
  assert_int_equal(msg(&h, "p2"), 0);
  unbound(&h, "n2");
  h.now += 3000;
  assert_int_equal(msg(&h, "p3"), 2);
  assert_last_count(&h, "n1", "2");
  assert_last_count(&h, "n2", "1");
  fh_fini(&h);
}

/* A push the host's filter vetoed still counts in the next one. */
static void count_includes_vetoed(void **state) {
  (void)state;
  fake_host h;
  counts_init(&h);
  unbound(&h, "n1");
  h.push_filter = 1;
  assert_int_equal(msg(&h, "v1"), 0);
  h.push_filter = 0;
  assert_int_equal(msg(&h, "v2"), 1);
  assert_last_count(&h, "n1", "2");
  fh_fini(&h);
}

/* The device's own session active, resumed, or the client enabling
 * again: the count starts again. */
static void count_resets(void **state) {
  (void)state;
  fake_host h;
  counts_init(&h);
  cloudnotify_session *s = au_session(&h, ALICE, "phone");
  au_enable_ok(&h, s, PUSH_JID, "n1", NULL);
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  assert_int_equal(msg(&h, "r1"), 1);
  assert_int_equal(msg(&h, "r2"), 0);
  assert_int_equal(cloudnotify_session_active(s), 0);
  h.now += 3000;
  assert_int_equal(msg(&h, "r3"), 1);
  assert_last_count(&h, "n1", "1");

  assert_int_equal(msg(&h, "r4"), 0);
  assert_int_equal(cloudnotify_session_resumed(s), 0);
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  h.now += 3000;
  assert_int_equal(msg(&h, "r5"), 1);
  assert_last_count(&h, "n1", "1");

  assert_int_equal(msg(&h, "r6"), 0);
  assert_int_equal(cloudnotify_session_resumed(s), 0);
  au_enable_ok(&h, s, PUSH_JID, "n1", NULL);
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  assert_int_equal(msg(&h, "r7"), 1);
  assert_last_count(&h, "n1", "1");

  /* Another session's activity does not reset the phone's count. */
  cloudnotify_session *desk = au_session(&h, ALICE, "desktop");
  assert_int_equal(msg(&h, "r8"), 0);
  assert_int_equal(cloudnotify_session_active(desk), 0);
  h.now += 3000;
  assert_int_equal(msg(&h, "r9"), 1);
  assert_last_count(&h, "n1", "2");
  cloudnotify_session_free(desk);
  cloudnotify_session_free(s);
  fh_fini(&h);
}

/* The offline fetch resets every registration's count. */
static void count_reset_by_fetch(void **state) {
  (void)state;
  fake_host h;
  counts_init(&h);
  unbound(&h, "n1");
  unbound(&h, "n2");
  assert_int_equal(msg(&h, "f1"), 2);
  assert_int_equal(msg(&h, "f2"), 0);
  unsigned n = 99;
  assert_int_equal(cloudnotify_offline_fetched(h.ctx, ALICE, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(au_publishes(&h), 2);
  h.now += 3000;
  assert_int_equal(msg(&h, "f3"), 2);
  assert_last_count(&h, "n1", "1");
  assert_last_count(&h, "n2", "1");
  fh_fini(&h);
}

/* ---- the host's count, through the notification filter ------------------- */

typedef struct {
  unsigned seen[8];
  unsigned n;
  unsigned set_to; /* 0: leave the count */
  GPtrArray *publishes;
  int64_t now;
} filter_host;

static int fl_send(void *ud, cloudnotify_route route, cloudnotify_session *s, const char *account,
                   const char *to, const char *xml, size_t len) {
  (void)s, (void)account, (void)to;
  filter_host *f = ud;
  if (route == CLOUDNOTIFY_ROUTE_APP_SERVER)
    g_ptr_array_add(f->publishes, g_strndup(xml, len));
  return 0;
}

static int fl_filter(void *ud, cloudnotify_push *p) {
  filter_host *f = ud;
  if (f->n < G_N_ELEMENTS(f->seen))
    f->seen[f->n++] = cloudnotify_push_message_count(p);
  if (f->set_to)
    assert_int_equal(cloudnotify_push_set_message_count(p, f->set_to), 0);
  return 0;
}

static int64_t fl_now(void *ud) {
  return ((filter_host *)ud)->now;
}

static void host_count_in_filter(void **state) {
  (void)state;
  filter_host f = { .now = 1700000000000, .publishes = g_ptr_array_new_with_free_func(g_free) };
  cloudnotify_callbacks cb = { .size = sizeof cb,
                               .send = fl_send,
                               .now_ms = fl_now,
                               .monotonic_ms = fl_now,
                               .notification_filter = fl_filter };
  cloudnotify_ctx *ctx;
  assert_int_equal(cloudnotify_ctx_new(&ctx, &cb, &f), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ctx, ALICE, "phone", &s), 0);
  assert_int_equal(fh_enable(s, PUSH_JID, "n1", NULL), 0);
  cloudnotify_session_free(s);
  char *m1 = fh_message(ALICE, "h1", "one"), *m2 = fh_message(ALICE, "h2", "two"),
       *m3 = fh_message(ALICE, "h3", "three");
  unsigned n;
  assert_int_equal(cloudnotify_message_offline(ctx, ALICE, m1, strlen(m1), &n), 0);
  assert_int_equal(cloudnotify_message_offline(ctx, ALICE, m2, strlen(m2), &n), 0);
  assert_int_equal(n, 0);
  f.now += 3000;
  f.set_to = 42;
  assert_int_equal(cloudnotify_message_offline(ctx, ALICE, m3, strlen(m3), &n), 0);
  assert_int_equal(n, 1);
  /* The filter saw the library's count (h2 held, h3), then replaced it. */
  assert_int_equal(f.n, 2);
  assert_int_equal(f.seen[0], 1);
  assert_int_equal(f.seen[1], 2);
  au_assert_summary_field(f.publishes->pdata[1], "message-count", "42");
  /* A ping carries none, unless the host gives one. */
  f.set_to = 0;
  assert_int_equal(cloudnotify_ping(ctx, ALICE, NULL, 0, &n), 0);
  au_assert_summary_field(f.publishes->pdata[2], "message-count", NULL);
  assert_int_equal(f.seen[2], 0);
  f.set_to = 7;
  assert_int_equal(cloudnotify_ping(ctx, ALICE, NULL, 0, &n), 0);
  au_assert_summary_field(f.publishes->pdata[3], "message-count", "7");
  g_free(m1);
  g_free(m2);
  g_free(m3);
  cloudnotify_ctx_free(ctx);
  g_ptr_array_free(f.publishes, TRUE);
  assert_int_equal(cloudnotify_push_message_count(NULL), 0);
  assert_int_equal(cloudnotify_push_set_message_count(NULL, 1), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
}

/* ---- clearing the badge --------------------------------------------------- */

static void clear_on_fetch_off(void **state) {
  (void)state;
  fake_host h;
  counts_init(&h);
  unbound(&h, "n1");
  unsigned n = 99;
  assert_int_equal(cloudnotify_offline_fetched(h.ctx, ALICE, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(au_publishes(&h), 0);
  fh_fini(&h);
}

static void clear_on_fetch_on(void **state) {
  (void)state;
  fake_host h;
  counts_init(&h);
  au_set(&h, "push_clear_on_fetch", "1");
  au_set(&h, "push_notification_with_body", "1");
  /* n1: no session; n2: its session hibernated; n3: its session live,
   * the client that fetched. */
  unbound(&h, "n1");
  cloudnotify_session *sleeping = au_session(&h, ALICE, "tablet");
  au_enable_ok(&h, sleeping, PUSH_JID, "n2", NULL);
  assert_int_equal(cloudnotify_session_hibernated(sleeping, NULL, 0), 0);
  cloudnotify_session *live = au_session(&h, ALICE, "phone");
  au_enable_ok(&h, live, PUSH_JID, "n3", NULL);
  /* Use up the silent budget of n1 first: the clear passes it. */
  for (int i = 0; i < 3; i++)
    assert_int_equal(au_ping(&h, ALICE), 3);
  for (int i = 0; i < 3; i++) {
    char x[256];
    g_snprintf(x, sizeof x,
               "<message type='headline' from='news.example' to='" ALICE
               "' id='cl%d'><body>x</body></message>",
               i);
    assert_int_equal(au_offline(&h, ALICE, x), 3);
  }
  fh_clear(&h);
  unsigned n = 99;
  assert_int_equal(cloudnotify_offline_fetched(h.ctx, ALICE, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "n1"), 1);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "n2"), 1);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "n3"), 0);
  for (unsigned i = 0; i < 2; i++) {
    const char *x = fh_publish(&h, i)->xml;
    au_assert_summary_field(x, "message-count", "0");
    au_assert_summary_field(x, "last-message-body", NULL);
    au_assert_summary_field(x, "last-message-sender", NULL);
  }
  /* The budget is still spent: the clear went past it. */
  assert_int_equal(au_offline(&h, ALICE,
                              "<message type='headline' from='news.example' to='" ALICE
                              "' id='cl9'><body>x</body></message>"),
                   0);
  cloudnotify_session_free(live);
  cloudnotify_session_free(sleeping);
  fh_fini(&h);
}

static void clear_on_fetch_errors(void **state) {
  (void)state;
  fake_host h;
  counts_init(&h);
  unsigned n = 99;
  assert_int_equal(cloudnotify_offline_fetched(NULL, ALICE, &n), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(n, 0);
  assert_int_equal(cloudnotify_offline_fetched(h.ctx, NULL, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_offline_fetched(h.ctx, "not a jid@", NULL),
                   CLOUDNOTIFY_ERR_JID_MALFORMED);
  /* An account without registrations: nothing to do. */
  assert_int_equal(cloudnotify_offline_fetched(h.ctx, ALICE, &n), 0);
  assert_int_equal(n, 0);
  fh_fini(&h);
}

/* A busy account: the fetch waits its turn, as a ping does. */
static void clear_on_fetch_busy(void **state) {
  (void)state;
  fake_host h;
  fh_default_mode = FH_LATER;
  counts_init(&h);
  fh_default_mode = FH_SYNC;
  au_set(&h, "push_clear_on_fetch", "1");
  unbound(&h, "n1");
  fh_settle(&h);
  char *m = fh_message(ALICE, "busy1", "hi");
  unsigned n;
  assert_int_equal(cloudnotify_message_offline(h.ctx, ALICE, m, strlen(m), &n), 0);
  g_free(m);
  assert_int_equal(fh_open_ops(&h), 1);
  n = 99;
  assert_int_equal(cloudnotify_offline_fetched(h.ctx, ALICE, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(au_publishes(&h), 0);
  fh_settle(&h);
  /* The message's push, then the clear, in that order. */
  assert_int_equal(au_publishes(&h), 2);
  au_assert_summary_field(fh_publish(&h, 0)->xml, "message-count", "1");
  au_assert_summary_field(fh_publish(&h, 1)->xml, "message-count", "0");
  fh_fini(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(count_across_suppressed), cmocka_unit_test(count_per_registration),
    cmocka_unit_test(count_includes_vetoed),   cmocka_unit_test(count_resets),
    cmocka_unit_test(count_reset_by_fetch),    cmocka_unit_test(host_count_in_filter),
    cmocka_unit_test(clear_on_fetch_off),      cmocka_unit_test(clear_on_fetch_on),
    cmocka_unit_test(clear_on_fetch_errors),   cmocka_unit_test(clear_on_fetch_busy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
