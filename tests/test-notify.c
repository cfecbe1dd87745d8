/* What a notification holds: the summary form and the options that shape
 * it, the publish's addressing and id, the notification filter, escaping,
 * and what never leaves the server or reaches a log line. */
#include "api-util.h"

#include <string.h>

typedef struct {
  fake_host h;
  cloudnotify_session *s;
} fixture;

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  fh_init(&f->h);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, f->s, PUSH_JID, "node-1", NULL);
  /* Unbound, so that archived messages reach it too. */
  cloudnotify_session_free(f->s);
  f->s = NULL;
  fh_clear(&f->h);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  cloudnotify_session_free(f->s);
  fh_fini(&f->h);
  g_free(f);
  return 0;
}

/* Push one message offline and return the single publish it caused. */
static const char *push_one(fixture *f, const char *xml) {
  fh_clear(&f->h);
  assert_int_equal(au_offline(&f->h, ALICE, xml), 1);
  assert_int_equal(au_publishes(&f->h), 1);
  return fh_publish(&f->h, 0)->xml;
}

static const char *push_body(fixture *f, const char *body) {
  static unsigned seq;
  char id[32];
  g_snprintf(id, sizeof id, "n-%u", ++seq);
  char *m = fh_message(ALICE, id, body);
  fh_clear(&f->h);
  assert_int_equal(au_offline(&f->h, ALICE, m), 1);
  g_free(m);
  return fh_publish(&f->h, 0)->xml;
}

#define CHAT_STATE_ONLY                                                                            \
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' "              \
  "to='juliet@capulet.example' id='cs-%u'>"                                                        \
  "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>"

static const char *push_chat_state(fixture *f) {
  static unsigned seq;
  char *m = g_strdup_printf(CHAT_STATE_ONLY, ++seq);
  const char *x = push_one(f, m);
  g_free(m);
  return x;
}

/* ---- the summary form ------------------------------------------------------ */

static void summary_form_defaults(void **state) {
  fixture *f = *state;
  const char *x = push_body(f, "Wherefore art thou");
  assert_int_equal(au_xpath_count(x, "/iq/ps:pubsub/ps:publish/ps:item/p:notification/x:x"), 1);
  au_assert_xpath(x, "string(/iq/ps:pubsub/ps:publish/ps:item/p:notification/x:x/@type)", "submit");
  au_assert_summary_field(x, "FORM_TYPE", "urn:xmpp:push:summary");
  au_assert_summary_field(x, "message-count", "1");
  au_assert_summary_field(x, "last-message-sender", NULL);
  au_assert_summary_field(x, "last-message-body", "New Message!");
  assert_false(au_sent_contains(&f->h, "Wherefore"));
  assert_false(au_sent_contains(&f->h, "romeo@"));
}

static void sender_only_when_configured(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_notification_with_sender", "true");
  const char *x = push_body(f, "hi");
  au_assert_summary_field(x, "last-message-sender", "romeo@montague.example/orchard");
  /* Without the body option the sender alone must not drag the body out. */
  au_assert_summary_field(x, "last-message-body", "New Message!");
  au_set(&f->h, "push_notification_with_sender", "false");
  x = push_body(f, "hi");
  au_assert_summary_field(x, "last-message-sender", NULL);
}

static void body_only_when_configured(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_notification_with_body", "true");
  const char *x = push_body(f, "But soft, what light");
  au_assert_summary_field(x, "last-message-body", "But soft, what light");
  au_assert_summary_field(x, "last-message-sender", NULL);
  au_set(&f->h, "push_notification_with_body", "false");
  x = push_body(f, "But soft, what light");
  au_assert_summary_field(x, "last-message-body", "New Message!");
  assert_false(au_sent_contains(&f->h, "soft"));
}

static void unimportant_has_no_body(void **state) {
  fixture *f = *state;
  /* Chat states and empty bodies as 0.2 pushed them (test-quiet has quiet). */
  au_set(&f->h, "push_quiet", "false");
  const char *x = push_chat_state(f);
  au_assert_summary_field(x, "FORM_TYPE", "urn:xmpp:push:summary");
  au_assert_summary_field(x, "message-count", "1");
  au_assert_summary_field(x, "last-message-body", NULL);
  au_set(&f->h, "push_notification_with_body", "true");
  x = push_chat_state(f);
  au_assert_summary_field(x, "last-message-body", NULL);
  /* An empty body is no body either. */
  au_set(&f->h, "push_notification_with_body", "false");
  x = push_body(f, "");
  au_assert_summary_field(x, "last-message-body", NULL);
}

static void important_body_custom_and_empty(void **state) {
  fixture *f = *state;
  /* Chat states and empty bodies as 0.2 pushed them (test-quiet has quiet). */
  au_set(&f->h, "push_quiet", "false");
  au_set(&f->h, "push_notification_important_body", "Wake up, Juliet");
  const char *x = push_body(f, "hi");
  au_assert_summary_field(x, "last-message-body", "Wake up, Juliet");
  x = push_chat_state(f);
  au_assert_summary_field(x, "last-message-body", NULL);

  au_set(&f->h, "push_notification_important_body", "");
  x = push_body(f, "hi");
  au_assert_summary_field(x, "last-message-body", NULL);
  au_assert_summary_field(x, "message-count", "1");
  assert_false(au_sent_contains(&f->h, "New Message!"));

  /* The real body wins over the important body when configured. */
  assert_int_equal(
      cloudnotify_ctx_set_option_string(f->h.ctx, CLOUDNOTIFY_OPT_IMPORTANT_BODY, "generic"), 0);
  au_set(&f->h, "push_notification_with_body", "1");
  x = push_body(f, "specific");
  au_assert_summary_field(x, "last-message-body", "specific");
}

/* ---- the publish ------------------------------------------------------------- */

static void publish_addressing(void **state) {
  fixture *f = *state;
  const char *x = push_body(f, "hi");
  const fh_sent *p = fh_publish(&f->h, 0);
  assert_int_equal(p->route, CLOUDNOTIFY_ROUTE_APP_SERVER);
  assert_null(p->session);
  assert_string_equal(p->account, ALICE);
  assert_string_equal(p->to, PUSH_JID);
  au_assert_xpath(x, "name(/*)", "iq");
  au_assert_xpath(x, "string(/iq/@type)", "set");
  au_assert_xpath(x, "string(/iq/@to)", PUSH_JID);
  au_assert_xpath(x, "string(/iq/@from)", "capulet.example");
  au_assert_xpath(x, "string(/iq/ps:pubsub/ps:publish/@node)", "node-1");
  assert_int_equal(au_xpath_count(x, "/iq/ps:pubsub/ps:publish/ps:item"), 1);
}

static void publish_without_node(void **state) {
  fixture *f = *state;
  cloudnotify_session *s = au_session(&f->h, ALICE, "b");
  au_enable_ok(&f->h, s, "Push.Other.Example", NULL, NULL);
  cloudnotify_session_free(s);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hi"), 2);
  assert_int_equal(au_publishes_to(&f->h, "push.other.example", NULL), 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "node-1"), 1);
}

static gboolean is_hex32(const char *s) {
  if (!s || strlen(s) != 32)
    return FALSE;
  for (const char *c = s; *c; c++)
    if (!g_ascii_isxdigit(*c))
      return FALSE;
  return TRUE;
}

static void publish_ids_fresh_hex(void **state) {
  fixture *f = *state;
  cloudnotify_session *s = au_session(&f->h, ALICE, "b");
  au_enable_ok(&f->h, s, OTHER_PUSH_JID, NULL, NULL);
  cloudnotify_session_free(s);
  fh_clear(&f->h);
  for (int i = 0; i < 10; i++)
    assert_int_equal(au_ping(&f->h, ALICE), 2);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hi"), 2);
  assert_int_equal(au_publishes(&f->h), 22);
  GHashTable *ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  for (unsigned i = 0; i < 22; i++) {
    char *id = fh_attr(fh_publish(&f->h, i)->xml, "id");
    if (!is_hex32(id))
      print_error("publish id '%s'\n", id ? id : "(none)");
    assert_true(is_hex32(id));
    assert_false(g_hash_table_contains(ids, id));
    g_hash_table_add(ids, id);
  }
  assert_int_equal(g_hash_table_size(ids), 22);
  g_hash_table_destroy(ids);
}

/* ---- notification filter ------------------------------------------------------ */

static void filter_drops(void **state) {
  fixture *f = *state;
  f->h.push_filter = 1;
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hi"), 0);
  assert_int_equal(au_ping(&f->h, ALICE), 0);
  assert_int_equal(f->h.sent->len, 0);
  /* A dropped publish is not awaited, so no timer is wanted. */
  assert_int_equal(cloudnotify_next_timeout(f->h.ctx), -1);
  f->h.push_filter = 0;
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hi"), 1);
}

static void filter_amends_body(void **state) {
  fixture *f = *state;
  /* Chat states and empty bodies as 0.2 pushed them (test-quiet has quiet). */
  au_set(&f->h, "push_quiet", "false");
  f->h.push_filter = 2;
  const char *x = push_body(f, "hi");
  au_assert_summary_field(x, "last-message-body", "amended");
  assert_false(au_sent_contains(&f->h, "New Message!"));
  x = push_chat_state(f);
  au_assert_summary_field(x, "last-message-body", "amended");
}

/* The filter cannot put characters XML cannot carry into a publish: the
 * setters refuse them and the publish keeps its fields. */
static void filter_unsafe_text_refused(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_notification_with_sender", "true");
  f->h.push_filter = 3;
  const char *x = push_body(f, "hi");
  assert_int_equal(f->h.filter_rc, CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(f->h.filter_rc2, CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  au_assert_summary_field(x, "last-message-body", "New Message!");
  au_assert_summary_field(x, "last-message-sender", "romeo@montague.example/orchard");
}

/* A publish the host refused was not sent: nothing awaits its reply, and
 * another copy of the same stanza may still be pushed. */
static void refused_publish_not_sent(void **state) {
  fixture *f = *state;
  f->h.send_result = -1;
  const char *m = "<message type='chat' from='romeo@montague.example/orchard' id='r1'>"
                  "<body>hi</body><stanza-id xmlns='urn:xmpp:sid:0' "
                  "by='juliet@capulet.example' id='S1'/></message>";
  assert_int_equal(au_offline(&f->h, ALICE, m), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  assert_int_equal(cloudnotify_next_timeout(f->h.ctx), -1);
  assert_int_equal(fh_reply(&f->h, 0, "cancel", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
  f->h.send_result = 0;
  fh_clear(&f->h);
  unsigned n = 12345;
  assert_int_equal(cloudnotify_message_archived(f->h.ctx, ALICE, m, strlen(m), "S1", &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(au_offline(&f->h, ALICE, m), 0);
}

/* What the notification filter sees of each push. */
typedef struct {
  unsigned calls, sent;
  char *account, *jid, *node, *sender, *body;
  int important, urgent;
  cloudnotify_session *session;
  const char *set_sender;
} seen_push;

static int record_filter(void *ud, cloudnotify_push *p) {
  seen_push *v = ud;
  v->calls++;
  g_free(v->account);
  g_free(v->jid);
  g_free(v->node);
  g_free(v->sender);
  g_free(v->body);
  v->account = g_strdup(cloudnotify_push_account(p));
  v->jid = g_strdup(cloudnotify_push_jid(p));
  v->node = g_strdup(cloudnotify_push_node(p));
  v->sender = g_strdup(cloudnotify_push_sender(p));
  v->body = g_strdup(cloudnotify_push_body(p));
  v->important = cloudnotify_push_is_important(p);
  v->urgent = cloudnotify_push_is_urgent(p);
  v->session = cloudnotify_push_session(p);
  assert_int_equal(cloudnotify_push_set_body(p, "\xff"), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  if (v->set_sender)
    assert_int_equal(cloudnotify_push_set_sender(p, v->set_sender), 0);
  return 0;
}

static int record_send(void *ud, cloudnotify_route route, cloudnotify_session *session,
                       const char *account, const char *to, const char *xml, size_t len) {
  seen_push *v = ud;
  if (route == CLOUDNOTIFY_ROUTE_APP_SERVER) {
    char *x = g_strndup(xml, len);
    char *sender = au_summary_field(x, "last-message-sender");
    /* The filter's sender replaces the field even with the option off. */
    if (v->set_sender)
      assert_string_equal(sender, v->set_sender);
    else
      assert_null(sender);
    g_free(sender);
    g_free(x);
    v->sent++;
  }
  return 0;
}

static void filter_view_of_push(void **state) {
  (void)state;
  seen_push v = { 0 };
  cloudnotify_callbacks cb = { .size = sizeof cb,
                               .send = record_send,
                               .notification_filter = record_filter };
  cloudnotify_ctx *ctx;
  assert_int_equal(cloudnotify_ctx_new(&ctx, &cb, &v), 0);
  /* Several important pushes in a row: the window is test-gate.c's. */
  assert_int_equal(cloudnotify_ctx_set_option_int(ctx, CLOUDNOTIFY_OPT_VISIBLE_INTERVAL_MS, 0), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ctx, ALICE, ALICE_RES, &s), 0);
  assert_int_equal(cloudnotify_session_sm_enabled(s), 0);
  assert_int_equal(fh_enable(s, "Push.Example", "nd", NULL), 0);
  assert_int_equal(v.calls, 0);

  char *m = fh_message(ALICE, "f1", "hi");
  unsigned n;
  assert_int_equal(cloudnotify_message_offline(ctx, ALICE, m, strlen(m), &n), 0);
  g_free(m);
  assert_int_equal(n, 1);
  assert_int_equal(v.calls, 1);
  assert_int_equal(v.sent, 1);
  assert_string_equal(v.account, ALICE);
  assert_string_equal(v.jid, PUSH_JID);
  assert_string_equal(v.node, "nd");
  assert_string_equal(v.sender, "romeo@montague.example/orchard");
  assert_string_equal(v.body, "New Message!");
  assert_int_equal(v.important, 1);
  assert_int_equal(v.urgent, 0);
  assert_null(v.session);

  const char *call = "<message type='chat' from='romeo@montague.example/orchard' id='f2'>"
                     "<propose xmlns='urn:xmpp:jingle-message:0' id='c1'><description "
                     "xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>";
  v.set_sender = "someone@else.example";
  assert_int_equal(cloudnotify_message_archived(ctx, ALICE, call, strlen(call), "F2", &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(v.urgent, 1);
  assert_int_equal(v.important, 1);
  v.set_sender = NULL;

  /* A push for a session's queue names that session. */
  m = fh_message(ALICE, "f3", "hi");
  cloudnotify_buf q = { m, strlen(m) };
  assert_int_equal(cloudnotify_session_hibernated(s, &q, 1), 0);
  g_free(m);
  assert_int_equal(v.calls, 3);
  assert_ptr_equal(v.session, s);

  assert_int_equal(cloudnotify_ping(ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(v.calls, 4);
  assert_null(v.sender);
  assert_null(v.body);
  assert_int_equal(v.important, 0);
  assert_int_equal(v.urgent, 0);
  assert_int_equal(v.sent, 4);

  cloudnotify_session_free(s);
  cloudnotify_ctx_free(ctx);
  g_free(v.account);
  g_free(v.jid);
  g_free(v.node);
  g_free(v.sender);
  g_free(v.body);
}

/* ---- escaping ------------------------------------------------------------------ */

static void body_and_sender_escaped(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_notification_with_body", "true");
  au_set(&f->h, "push_notification_with_sender", "true");
  const char *m = "<message type='chat' from='romeo@montague.example/a&amp;&lt;b&apos;' "
                  "to='juliet@capulet.example' id='esc'>"
                  "<body>&lt;&amp;&apos;&quot;&gt; ]]&gt; &#x263A;</body></message>";
  const char *x = push_one(f, m);
  au_assert_summary_field(x, "last-message-body", "<&'\"> ]]> \xe2\x98\xba");
  au_assert_summary_field(x, "last-message-sender", "romeo@montague.example/a&<b'");
  au_assert_summary_field(x, "message-count", "1");
}

static void important_body_escaped(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_notification_important_body", "<b>&'\"");
  const char *x = push_body(f, "hi");
  au_assert_summary_field(x, "last-message-body", "<b>&'\"");
}

/* ---- privacy --------------------------------------------------------------------- */

#define SECRET_BODY "TopSecretBodyText"
#define SECRET_FORM "FormSecretValue"

static void body_and_form_secret_never_logged(void **state) {
  fixture *f = *state;
  cloudnotify_session *s = au_session(&f->h, ALICE, "b");
  au_enable_ok(&f->h, s, OTHER_PUSH_JID, "n", FORM_WITH_SECRET(SECRET_FORM));
  /* Error paths log too: a refused form, a form too large. */
  assert_int_equal(fh_enable(s, OTHER_PUSH_JID, "n",
                             FORM_WITH_SECRET(SECRET_FORM) FORM_WITH_SECRET(SECRET_FORM)),
                   0);
  au_set(&f->h, "push_max_form_fields", "1");
  assert_int_equal(fh_enable(s, OTHER_PUSH_JID, "n2", FORM_WITH_SECRET(SECRET_FORM)), 0);
  au_set(&f->h, "push_max_form_fields", "64");
  au_set(&f->h, "push_max_form_size", "64");
  assert_int_equal(fh_enable(s, OTHER_PUSH_JID, "n3", FORM_WITH_SECRET(SECRET_FORM)), 0);
  unsigned n;

  char *m = fh_message(ALICE, "p1", SECRET_BODY);
  assert_int_equal(cloudnotify_message_offline(f->h.ctx, ALICE, m, strlen(m), &n), 0);
  assert_int_equal(n, 2);
  g_free(m);
  m = fh_message(ALICE, "p2", SECRET_BODY);
  assert_int_equal(cloudnotify_message_archived(f->h.ctx, ALICE, m, strlen(m), "arch", &n), 0);
  g_free(m);
  m = fh_message(ALICE, "p3", SECRET_BODY);
  assert_int_equal(cloudnotify_message_groupchat_bare(f->h.ctx, ALICE, m, strlen(m), &n), 0);
  g_free(m);
  const char *carbon =
      "<message from='juliet@capulet.example' to='juliet@capulet.example/balcony'>"
      "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
      "<message xmlns='jabber:client' from='romeo@montague.example/o' "
      "to='juliet@capulet.example/x' type='chat' id='p4'><body>" SECRET_BODY "</body>"
      "</message></forwarded></received></message>";
  assert_int_equal(au_offline(&f->h, ALICE, carbon), 2);
  /* Through the session paths: queued while live, hibernated, acked late. */
  m = fh_message(ALICE, "p5", SECRET_BODY);
  assert_int_equal(cloudnotify_session_queued(s, m, strlen(m)), 0);
  assert_int_equal(cloudnotify_session_ack_requested(s), 0);
  f->h.now += 31000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  g_free(m);
  m = fh_message(ALICE, "p7", SECRET_BODY);
  cloudnotify_buf q = { m, strlen(m) };
  unsigned before = au_publishes(&f->h);
  assert_int_equal(cloudnotify_session_hibernated(s, &q, 1), 0);
  assert_int_equal(au_publishes(&f->h), before + 1);
  g_free(m);
  m = fh_message(ALICE, "p8", SECRET_BODY);
  assert_int_equal(cloudnotify_session_queued(s, m, strlen(m)), 0);
  f->h.now += 2000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), before + 2);
  g_free(m);
  /* The host refusing a publish, and app servers failing. */
  f->h.send_result = -1;
  m = fh_message(ALICE, "p6", SECRET_BODY);
  assert_int_equal(cloudnotify_message_offline(f->h.ctx, ALICE, m, strlen(m), &n), 0);
  assert_int_equal(n, 0);
  g_free(m);
  f->h.send_result = 0;
  for (unsigned i = 0; fh_publish(&f->h, i); i++)
    fh_reply(&f->h, i, i % 2 ? "cancel" : "wait", NULL);
  assert_int_equal(fh_disable(s, OTHER_PUSH_JID, NULL), 0);

  assert_true(au_publishes(&f->h) >= 4);
  assert_true(f->h.logs->len > 0);
  assert_false(au_sent_contains(&f->h, SECRET_BODY));
  assert_false(au_log_contains(&f->h, SECRET_BODY));
  assert_false(au_log_contains(&f->h, SECRET_FORM));
  /* The secret does go to the app server: that is its purpose. */
  assert_true(au_sent_contains(&f->h, SECRET_FORM));
  cloudnotify_session_free(s);
}

/* With the body option on, the body reaches the app server but still no
 * log line. */
static void body_with_option_not_logged(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_notification_with_body", "true");
  const char *x = push_body(f, SECRET_BODY);
  au_assert_summary_field(x, "last-message-body", SECRET_BODY);
  f->h.push_filter = 1;
  char *m = fh_message(ALICE, "wb2", SECRET_BODY);
  assert_int_equal(au_offline(&f->h, ALICE, m), 0);
  g_free(m);
  assert_true(f->h.logs->len > 0);
  assert_false(au_log_contains(&f->h, SECRET_BODY));
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    T(summary_form_defaults),
    T(sender_only_when_configured),
    T(body_only_when_configured),
    T(unimportant_has_no_body),
    T(important_body_custom_and_empty),
    T(publish_addressing),
    T(publish_without_node),
    T(publish_ids_fresh_hex),
    T(filter_drops),
    T(filter_amends_body),
    T(filter_unsafe_text_refused),
    T(refused_publish_not_sent),
    cmocka_unit_test(filter_view_of_push),
    T(body_and_sender_escaped),
    T(important_body_escaped),
    T(body_and_form_secret_never_logged),
    T(body_with_option_not_logged),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
