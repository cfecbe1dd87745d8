/* Calls (Jingle Message Initiation, XEP-0353) through the public API:
 * both namespaces, one push per call and registration whichever paths
 * report it (offline, archive, session queues, delivered), a call pushed
 * at once from a hibernated session's queue, stale proposes, the actions
 * that never ring, the filter's view of a call, and
 * cloudnotify_message_delivered itself. */
#include "api-util.h"
#include "tree-util.h"

#include <string.h>

#define ROMEO "romeo@montague.example/orchard"

typedef struct {
  fake_host h;
  cloudnotify_session *phone;  /* hibernated, bound to n2 */
  cloudnotify_session *laptop; /* live, bound to n3 */
} fixture;

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  fh_init(&f->h);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  cloudnotify_session_free(f->phone);
  cloudnotify_session_free(f->laptop);
  fh_fini(&f->h);
  g_free(f);
  return 0;
}

static void enable_unbound(fixture *f, const char *node) {
  cloudnotify_session *s = au_session(&f->h, ALICE, "gone");
  au_enable_ok(&f->h, s, PUSH_JID, node, NULL);
  cloudnotify_session_free(s);
}

/* n1 unbound, n2 bound to the hibernated phone, n3 bound to the live
 * laptop. */
static void three_devices(fixture *f) {
  enable_unbound(f, "n1");
  f->phone = au_session(&f->h, ALICE, "phone");
  au_enable_ok(&f->h, f->phone, PUSH_JID, "n2", NULL);
  assert_int_equal(cloudnotify_session_hibernated(f->phone, NULL, 0), 0);
  f->laptop = au_session(&f->h, ALICE, "laptop");
  au_enable_ok(&f->h, f->laptop, PUSH_JID, "n3", NULL);
  fh_clear(&f->h);
}

static char *propose(const char *ns_version, const char *msg_id, const char *call_id,
                     const char *extra) {
  return g_strdup_printf("<message xmlns='jabber:client' type='chat' from='" ROMEO "' to='" ALICE
                         "' id='%s'><propose xmlns='urn:xmpp:jingle-message:%s' id='%s'>"
                         "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"
                         "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/>"
                         "</propose><store xmlns='urn:xmpp:hints'/>%s</message>",
                         msg_id, ns_version, call_id, extra ? extra : "");
}

static unsigned delivered(fixture *f, const char *xml) {
  unsigned n = 12345;
  assert_int_equal(cloudnotify_message_delivered(f->h.ctx, ALICE, xml, strlen(xml), &n), 0);
  return n;
}

static unsigned archived(fixture *f, const char *xml, const char *aid) {
  unsigned n = 12345;
  assert_int_equal(cloudnotify_message_archived(f->h.ctx, ALICE, xml, strlen(xml), aid, &n), 0);
  return n;
}

static uint64_t counter(fixture *f, cloudnotify_counter c) {
  uint64_t v = 0;
  assert_int_equal(cloudnotify_ctx_get_counter(f->h.ctx, c, &v), 0);
  return v;
}

static void queue(cloudnotify_session *s, const char *xml) {
  assert_int_equal(cloudnotify_session_queued(s, xml, strlen(xml)), 0);
}

/* XEP-0082 text of the host's wall clock plus delta_ms. */
static char *stamp(fixture *f, int64_t delta_ms) {
  int64_t ms = f->h.now + f->h.wall_offset + delta_ms;
  GDateTime *t = g_date_time_new_from_unix_utc(ms / 1000);
  char *s = g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ");
  g_date_time_unref(t);
  return s;
}

static char *delay(fixture *f, int64_t delta_ms) {
  char *s = stamp(f, delta_ms);
  char *d = g_strdup_printf("<delay xmlns='urn:xmpp:delay' stamp='%s'/>", s);
  g_free(s);
  return d;
}

/* ---- one push per call ------------------------------------------------------ */

static void one_push_per_call_over_every_path(const char *ns_version, fixture *f) {
  three_devices(f);
  char *d = propose(ns_version, "via-delivered", "call-1", NULL);
  /* Delivered to the laptop: every registration but the live one's, at
   * once (the phone's queue window has not run). */
  assert_int_equal(delivered(f, d), 2);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n2"), 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n3"), 0);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "New Message!");
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_PUSHED), 2);
  /* The same call, other message ids, on every other path. */
  assert_int_equal(delivered(f, d), 0);
  char *q = propose(ns_version, "via-queue", "call-1", NULL);
  queue(f->phone, q);
  f->h.now += 5000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  char *o = propose(ns_version, "via-offline", "call-1",
                    "<stanza-id xmlns='urn:xmpp:sid:0' by='" ALICE "' id='S1'/>");
  /* Offline: no session took it, so even the laptop's registration. */
  assert_int_equal(au_offline(&f->h, ALICE, o), 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n3"), 1);
  char *a = propose(ns_version, "via-archive", "call-1", NULL);
  assert_int_equal(archived(f, a, "S1"), 0);
  assert_int_equal(archived(f, a, "S2"), 0);
  assert_int_equal(au_offline(&f->h, ALICE, o), 0);
  assert_int_equal(au_publishes(&f->h), 3);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_PUSHED), 3);
  /* Another call from the same peer rings again. */
  char *next = propose(ns_version, "via-delivered", "call-2", NULL);
  assert_int_equal(delivered(f, next), 2);
  g_free(d);
  g_free(q);
  g_free(o);
  g_free(a);
  g_free(next);
}

static void namespace_0(void **state) {
  one_push_per_call_over_every_path("0", *state);
}

static void namespace_1(void **state) {
  one_push_per_call_over_every_path("1", *state);
}

/* The archive pushes a call to every registration, the live session's
 * too (0.2: that phone may be asleep with its stream not yet timed out);
 * delivered does not push the live one. */
static void archive_then_delivered(void **state) {
  fixture *f = *state;
  three_devices(f);
  char *m = propose("1", "m", "call-7", NULL);
  assert_int_equal(archived(f, m, "A1"), 3);
  assert_int_equal(delivered(f, m), 0);
  assert_int_equal(au_publishes(&f->h), 3);
  g_free(m);
}

/* A call while another session of the account is live: the phone's
 * registration is pushed at once. */
static void call_while_another_session_is_live(void **state) {
  fixture *f = *state;
  enable_unbound(f, "phone");
  f->laptop = au_session(&f->h, ALICE, "laptop"); /* no push of its own */
  fh_clear(&f->h);
  char *m = propose("1", "m", "call-8", NULL);
  assert_int_equal(delivered(f, m), 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "phone"), 1);
  /* The same message not a call: nothing from delivered. */
  char *plain = fh_message(ALICE, "plain", "hello");
  assert_int_equal(delivered(f, plain), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  g_free(m);
  g_free(plain);
}

/* ---- session queues --------------------------------------------------------- */

static void hibernated_queue_pushes_a_call_at_once(void **state) {
  fixture *f = *state;
  f->phone = au_session(&f->h, ALICE, "phone");
  au_enable_ok(&f->h, f->phone, PUSH_JID, "n1", NULL);
  assert_int_equal(cloudnotify_session_hibernated(f->phone, NULL, 0), 0);
  fh_clear(&f->h);
  char *msg = fh_message(ALICE, "m1", "hi");
  queue(f->phone, msg);
  /* An ordinary message waits for the coalescing window. */
  assert_int_equal(au_publishes(&f->h), 0);
  char *call = propose("1", "c1", "call-1", NULL);
  queue(f->phone, call);
  assert_int_equal(au_publishes(&f->h), 1);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_PUSHED), 1);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "message-count", "1");
  /* The message still goes when the window ends, in a push of its own. */
  f->h.now += 1000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 2);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_PUSHED), 1);
  g_free(msg);
  g_free(call);
}

/* In a batch (hibernation start, overdue ack) a call is pushed alone,
 * besides the batch's important push, and never covered by it. */
static void batch_pushes_a_call_alone(void **state) {
  fixture *f = *state;
  f->phone = au_session(&f->h, ALICE, "phone");
  au_enable_ok(&f->h, f->phone, PUSH_JID, "n1", NULL);
  fh_clear(&f->h);
  char *m1 = fh_message(ALICE, "m1", "one");
  char *m2 = fh_message(ALICE, "m2", "two");
  char *call = propose("0", "c1", "call-1", NULL);
  char *call2 = propose("1", "c2", "call-2", NULL);
  cloudnotify_buf q[] = {
    { m1, strlen(m1) }, { call, strlen(call) }, { m2, strlen(m2) }, { call2, strlen(call2) }
  };
  assert_int_equal(cloudnotify_session_hibernated(f->phone, q, G_N_ELEMENTS(q)), 0);
  /* m1 covering m2, then each call. */
  assert_int_equal(au_publishes(&f->h), 3);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "message-count", "2");
  au_assert_summary_field(fh_publish(&f->h, 1)->xml, "message-count", "1");
  au_assert_summary_field(fh_publish(&f->h, 2)->xml, "message-count", "1");
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_PUSHED), 2);
  /* Already pushed: the same calls queued again are not. */
  queue(f->phone, call);
  queue(f->phone, call2);
  assert_int_equal(au_publishes(&f->h), 3);
  g_free(m1);
  g_free(m2);
  g_free(call);
  g_free(call2);
}

/* A live session's unacknowledged call goes with the overdue ack, alone. */
static void overdue_ack_pushes_a_call_alone(void **state) {
  fixture *f = *state;
  f->laptop = au_session(&f->h, ALICE, "laptop");
  au_enable_ok(&f->h, f->laptop, PUSH_JID, "n1", NULL);
  fh_clear(&f->h);
  char *m1 = fh_message(ALICE, "m1", "one");
  char *call = propose("1", "c1", "call-1", NULL);
  queue(f->laptop, m1);
  queue(f->laptop, call);
  assert_int_equal(au_publishes(&f->h), 0);
  assert_int_equal(cloudnotify_session_ack_requested(f->laptop), 0);
  f->h.now += 30 * 1000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 2);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_PUSHED), 1);
  g_free(m1);
  g_free(call);
}

/* ---- stale proposes ------------------------------------------------------------ */

static void stale_propose_is_no_call(void **state) {
  fixture *f = *state;
  enable_unbound(f, "n1");
  fh_clear(&f->h);
  /* Stored two minutes ago (push_call_max_age 60 s): a missed call. */
  char *d = delay(f, -120 * 1000);
  char *m = propose("1", "m1", "call-1", d);
  assert_int_equal(delivered(f, m), 0);
  assert_int_equal(au_offline(&f->h, ALICE, m), 1);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "New Message!");
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_PUSHED), 0);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_STALE), 2);
  g_free(d);
  g_free(m);
  /* Ten seconds old: still ringing. */
  d = delay(f, -10 * 1000);
  m = propose("1", "m2", "call-2", d);
  assert_int_equal(au_offline(&f->h, ALICE, m), 1);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_PUSHED), 1);
  g_free(m);
  /* The bound is the option's. */
  au_set(&f->h, "push_call_max_age", "5");
  m = propose("1", "m3", "call-3", d);
  assert_int_equal(au_offline(&f->h, ALICE, m), 1);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_PUSHED), 1);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_STALE), 3);
  g_free(d);
  g_free(m);
  /* A malformed stamp is stale too; a stamp in the future is not. */
  m = propose("0", "m4", "call-4", "<delay xmlns='urn:xmpp:delay' stamp='2026-02-30T00:00:00Z'/>");
  assert_int_equal(au_offline(&f->h, ALICE, m), 1);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_STALE), 4);
  g_free(m);
  d = delay(f, 60 * 1000);
  m = propose("0", "m5", "call-5", d);
  assert_int_equal(delivered(f, m), 1);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_PUSHED), 2);
  g_free(d);
  g_free(m);
}

/* ---- what never rings ------------------------------------------------------- */

static void actions_never_ring(void **state) {
  fixture *f = *state;
  enable_unbound(f, "n1");
  fh_clear(&f->h);
  static const char *const actions[] = { "retract", "accept", "reject", "proceed", "ringing" };
  static const char *const versions[] = { "0", "1" };
  unsigned seq = 0;
  for (size_t v = 0; v < G_N_ELEMENTS(versions); v++) {
    for (size_t a = 0; a < G_N_ELEMENTS(actions); a++) {
      char *m = g_strdup_printf("<message xmlns='jabber:client' type='chat' from='" ROMEO
                                "' id='act-%u'><%s xmlns='urn:xmpp:jingle-message:%s' "
                                "id='call-1'/></message>",
                                ++seq, actions[a], versions[v]);
      assert_int_equal(delivered(f, m), 0);
      /* With push_quiet (the default) not pushed at all. */
      assert_int_equal(au_offline(&f->h, ALICE, m), 0);
      g_free(m);
    }
  }
  assert_int_equal(au_publishes(&f->h), 0);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_SUPPRESSED_QUIET), 10);
  /* Without it, a silent push as in 0.2, never a call. */
  au_set(&f->h, "push_quiet", "false");
  char *m = g_strdup_printf("<message xmlns='jabber:client' type='chat' from='" ROMEO
                            "' id='act-x'><retract xmlns='urn:xmpp:jingle-message:1' "
                            "id='call-1'/></message>");
  assert_int_equal(delivered(f, m), 0);
  assert_int_equal(au_offline(&f->h, ALICE, m), 1);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", NULL);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_CALLS_PUSHED), 0);
  g_free(m);
}

/* ---- the filter's view ------------------------------------------------------ */

typedef struct {
  int is_call, is_urgent, is_important;
  char *call_id;
  unsigned calls;
} seen_call;

static int record_send(void *ud, cloudnotify_route route, cloudnotify_session *session,
                       const char *account, const char *to, const char *xml, size_t len) {
  (void)ud, (void)route, (void)session, (void)account, (void)to, (void)xml, (void)len;
  return 0;
}

static int record_filter(void *data, cloudnotify_push *p) {
  seen_call *v = data;
  v->calls++;
  v->is_call = cloudnotify_push_is_call(p);
  v->is_urgent = cloudnotify_push_is_urgent(p);
  v->is_important = cloudnotify_push_is_important(p);
  g_free(v->call_id);
  v->call_id = g_strdup(cloudnotify_push_call_id(p));
  return 0;
}

static void filter_sees_the_call(void **state) {
  (void)state;
  seen_call v = { 0 };
  cloudnotify_callbacks cb = { .size = sizeof cb,
                               .send = record_send,
                               .notification_filter = record_filter };
  cloudnotify_ctx *ctx;
  assert_int_equal(cloudnotify_ctx_new(&ctx, &cb, &v), 0);
  /* Important pushes in a row: the window is test-gate.c's. */
  assert_int_equal(cloudnotify_ctx_set_option_int(ctx, CLOUDNOTIFY_OPT_VISIBLE_INTERVAL_MS, 0), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ctx, ALICE, ALICE_RES, &s), 0);
  assert_int_equal(fh_enable(s, PUSH_JID, "nd", NULL), 0);
  cloudnotify_session_free(s);
  unsigned n;
  char *m = propose("1", "m1", "the-call", NULL);
  assert_int_equal(cloudnotify_message_offline(ctx, ALICE, m, strlen(m), &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(v.is_call, 1);
  assert_int_equal(v.is_urgent, 1);
  assert_int_equal(v.is_important, 1);
  assert_string_equal(v.call_id, "the-call");
  g_free(m);
  m = fh_message(ALICE, "m2", "hi");
  assert_int_equal(cloudnotify_message_offline(ctx, ALICE, m, strlen(m), &n), 0);
  assert_int_equal(v.calls, 2);
  assert_int_equal(v.is_call, 0);
  assert_null(v.call_id);
  g_free(m);
  /* A stale propose is important, and no call. */
  m = propose("1", "m3", "old-call",
              "<delay xmlns='urn:xmpp:delay' stamp='2001-01-01T00:00:00.000+02:00'/>");
  assert_int_equal(cloudnotify_message_offline(ctx, ALICE, m, strlen(m), &n), 0);
  assert_int_equal(v.calls, 3);
  assert_int_equal(v.is_call, 0);
  assert_int_equal(v.is_urgent, 0);
  assert_int_equal(v.is_important, 1);
  assert_null(v.call_id);
  g_free(m);
  /* A ping is no call. */
  assert_int_equal(cloudnotify_ping(ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(v.calls, 4);
  assert_int_equal(v.is_call, 0);
  assert_null(v.call_id);
  assert_int_equal(cloudnotify_push_is_call(NULL), 0);
  assert_null(cloudnotify_push_call_id(NULL));
  cloudnotify_ctx_free(ctx);
  g_free(v.call_id);
}

/* ---- cloudnotify_message_delivered ------------------------------------------ */

static void delivered_arguments_and_trees(void **state) {
  fixture *f = *state;
  enable_unbound(f, "n1");
  fh_clear(&f->h);
  char *m = propose("1", "m1", "call-1", NULL);
  unsigned n = 7;
  assert_int_equal(cloudnotify_message_delivered(NULL, ALICE, m, strlen(m), &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(n, 0);
  assert_int_equal(cloudnotify_message_delivered(f->h.ctx, NULL, m, strlen(m), &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_message_delivered(f->h.ctx, ALICE, NULL, 3, &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_message_delivered(f->h.ctx, "not a jid@", m, strlen(m), &n),
                   CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_int_equal(cloudnotify_message_delivered(f->h.ctx, ALICE, "<message", 8, &n),
                   CLOUDNOTIFY_ERR_XML);
  assert_int_equal(cloudnotify_message_delivered_tree(f->h.ctx, ALICE, NULL, &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(au_publishes(&f->h), 0);
  /* pushes may be NULL. */
  assert_int_equal(cloudnotify_message_delivered(f->h.ctx, ALICE, m, strlen(m), NULL), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  /* The tree form: the same call is the same call. */
  tt_host th = { 0 };
  tt_node *root = tt_from_xml(m, strlen(m));
  cloudnotify_tree t = tt_tree(&th, root);
  n = 7;
  assert_int_equal(cloudnotify_message_delivered_tree(f->h.ctx, ALICE, &t, &n), 0);
  assert_int_equal(n, 0);
  tt_free(root);
  char *m2 = propose("0", "m2", "call-2", NULL);
  root = tt_from_xml(m2, strlen(m2));
  t = tt_tree(&th, root);
  assert_int_equal(cloudnotify_message_delivered_tree(f->h.ctx, ALICE, &t, &n), 0);
  assert_int_equal(n, 1);
  tt_free(root);
  /* Not a call: no push, nothing counted as suppressed. */
  char *state_only = "<message xmlns='jabber:client' type='chat' from='" ROMEO "' id='cs'>"
                     "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>";
  assert_int_equal(delivered(f, state_only), 0);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_SUPPRESSED_QUIET), 0);
  /* An account without registrations. */
  unsigned none = 7;
  assert_int_equal(
      cloudnotify_message_delivered(f->h.ctx, "nurse@capulet.example", m2, strlen(m2), &none), 0);
  assert_int_equal(none, 0);
  assert_int_equal(au_publishes(&f->h), 2);
  g_free(m);
  g_free(m2);
}

/* A host whose store answers later: delivered parks behind the load and
 * pushes when it is answered, once. */
static void delivered_parks_while_busy(void **state) {
  (void)state;
  fh_default_mode = FH_LATER;
  fake_host h;
  fh_init(&h);
  fh_default_mode = FH_SYNC;
  cloudnotify_session *s = au_session(&h, ALICE, "gone");
  assert_int_equal(fh_enable(s, PUSH_JID, "n1", NULL), 0);
  cloudnotify_session_free(s);
  fh_settle(&h);
  fh_clear(&h);
  /* Another account takes the only cache slot, so that the next trigger
   * for ALICE loads her registrations. */
  au_set(&h, "push_max_cached_users", "1");
  s = au_session(&h, "nurse@capulet.example", "x");
  assert_int_equal(fh_enable(s, PUSH_JID, "n9", NULL), 0);
  cloudnotify_session_free(s);
  fh_settle(&h);
  fh_clear(&h);
  char *m = propose("1", "m1", "call-1", NULL);
  unsigned n = 7;
  assert_int_equal(cloudnotify_message_delivered(h.ctx, ALICE, m, strlen(m), &n), 0);
  assert_int_equal(n, 0);
  /* Behind the load: another copy is parked too. */
  assert_int_equal(cloudnotify_message_delivered(h.ctx, ALICE, m, strlen(m), &n), 0);
  assert_int_equal(fh_count(&h, CLOUDNOTIFY_ROUTE_APP_SERVER), 0);
  fh_settle(&h);
  assert_int_equal(fh_count(&h, CLOUDNOTIFY_ROUTE_APP_SERVER), 1);
  g_free(m);
  fh_fini(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(namespace_0, setup, teardown),
    cmocka_unit_test_setup_teardown(namespace_1, setup, teardown),
    cmocka_unit_test_setup_teardown(archive_then_delivered, setup, teardown),
    cmocka_unit_test_setup_teardown(call_while_another_session_is_live, setup, teardown),
    cmocka_unit_test_setup_teardown(hibernated_queue_pushes_a_call_at_once, setup, teardown),
    cmocka_unit_test_setup_teardown(batch_pushes_a_call_alone, setup, teardown),
    cmocka_unit_test_setup_teardown(overdue_ack_pushes_a_call_alone, setup, teardown),
    cmocka_unit_test_setup_teardown(stale_propose_is_no_call, setup, teardown),
    cmocka_unit_test_setup_teardown(actions_never_ring, setup, teardown),
    cmocka_unit_test(filter_sees_the_call),
    cmocka_unit_test_setup_teardown(delivered_arguments_and_trees, setup, teardown),
    cmocka_unit_test(delivered_parks_while_busy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
