/* When to notify: offline storage, the archive (with de-duplication
 * against the offline copy and the urgent exception), bare-JID
 * groupchat, carbons, accepted stanza namespaces, the no-parse fast path,
 * pings, and validation of the account argument. */
#include "api-util.h"

#include <string.h>

typedef struct {
  fake_host h;
  cloudnotify_session *s; /* live, bound to PUSH_JID/n1 when enabled */
} fixture;

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  fh_init(&f->h);
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

/* Registrations enabled from sessions that are gone again: nothing is
 * bound to them. */
static void enable_unbound(fixture *f, const char *jid, const char *node) {
  cloudnotify_session *s = au_session(&f->h, ALICE, "tmp");
  au_enable_device(&f->h, s, jid, node, NULL);
  cloudnotify_session_free(s);
}

static void two_unbound(fixture *f) {
  enable_unbound(f, PUSH_JID, "n1");
  enable_unbound(f, OTHER_PUSH_JID, "n2");
  fh_clear(&f->h);
}

static unsigned archived(fixture *f, const char *xml, const char *archive_id) {
  unsigned n = 12345;
  assert_int_equal(cloudnotify_message_archived(f->h.ctx, ALICE, xml, strlen(xml), archive_id, &n),
                   0);
  return n;
}

static unsigned groupchat(fixture *f, const char *xml) {
  unsigned n = 12345;
  assert_int_equal(cloudnotify_message_groupchat_bare(f->h.ctx, ALICE, xml, strlen(xml), &n), 0);
  return n;
}

/* ---- offline and archive ------------------------------------------------------- */

static void offline_reaches_every_registration(void **state) {
  fixture *f = *state;
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  enable_unbound(f, OTHER_PUSH_JID, "n2");
  fh_clear(&f->h);
  /* Bound or not: offline storage means no session took the message. */
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hi"), 2);
  assert_int_equal(au_publishes(&f->h), 2);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 1);
  assert_int_equal(au_publishes_to(&f->h, OTHER_PUSH_JID, "n2"), 1);
}

static void same_stanza_pushed_once(void **state) {
  fixture *f = *state;
  two_unbound(f);
  char *m = fh_message(ALICE, "once", "hi");
  assert_int_equal(au_offline(&f->h, ALICE, m), 2);
  assert_int_equal(au_offline(&f->h, ALICE, m), 0);
  assert_int_equal(groupchat(f, m), 0);
  g_free(m);
  assert_int_equal(au_publishes(&f->h), 2);
}

#define WITH_STANZA_ID(id, sid)                                                                    \
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' "              \
  "to='juliet@capulet.example' id='" id "'><body>hi</body>"                                        \
  "<stanza-id xmlns='urn:xmpp:sid:0' by='juliet@capulet.example' id='" sid "'/></message>"

static void offline_then_archived_once(void **state) {
  fixture *f = *state;
  two_unbound(f);
  assert_int_equal(au_offline(&f->h, ALICE, WITH_STANZA_ID("m1", "X")), 2);
  assert_int_equal(archived(f, WITH_STANZA_ID("m1", "X"), "X"), 0);
  /* The archive copy may have lost the stanza-id: the archive id still
   * names the same stanza. */
  assert_int_equal(archived(f,
                            "<message xmlns='jabber:client' type='chat' "
                            "from='romeo@montague.example/orchard' id='other-id'>"
                            "<body>hi</body></message>",
                            "X"),
                   0);
  assert_int_equal(au_publishes(&f->h), 2);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 1);
  assert_int_equal(au_publishes_to(&f->h, OTHER_PUSH_JID, "n2"), 1);
  /* A different stanza is pushed: the archive does reach these. */
  assert_int_equal(archived(f, WITH_STANZA_ID("m2", "Y"), "Y"), 2);
}

static void archived_then_offline_once(void **state) {
  fixture *f = *state;
  two_unbound(f);
  assert_int_equal(archived(f, WITH_STANZA_ID("m1", "Z"), "Z"), 2);
  assert_int_equal(au_offline(&f->h, ALICE, WITH_STANZA_ID("m1", "Z")), 0);
  assert_int_equal(au_publishes(&f->h), 2);
}

/* A stanza-id put there by someone else (a MUC, a forged one) is not the
 * account's archive id. */
static void foreign_stanza_id_not_taken(void **state) {
  fixture *f = *state;
  two_unbound(f);
  const char *m =
      "<message type='chat' from='romeo@montague.example/orchard' to='juliet@capulet.example' "
      "id='f1'><body>hi</body><stanza-id xmlns='urn:xmpp:sid:0' by='romeo@montague.example' "
      "id='W'/></message>";
  assert_int_equal(au_offline(&f->h, ALICE, m), 2);
  assert_int_equal(archived(f, WITH_STANZA_ID("f2", "W"), "W"), 2);
}

static void archived_skips_bound_registration(void **state) {
  fixture *f = *state;
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  enable_unbound(f, OTHER_PUSH_JID, "n2");
  fh_clear(&f->h);
  char *m = fh_message(ALICE, "a1", "hi");
  assert_int_equal(archived(f, m, "A1"), 1);
  g_free(m);
  assert_int_equal(au_publishes_to(&f->h, OTHER_PUSH_JID, "n2"), 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 0);
  /* Hibernated is still bound. */
  assert_int_equal(cloudnotify_session_hibernated(f->s, NULL, 0), 0);
  fh_clear(&f->h);
  m = fh_message(ALICE, "a2", "hi");
  assert_int_equal(archived(f, m, "A2"), 1);
  g_free(m);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 0);
}

#define JMI_PROPOSE(id)                                                                            \
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' "              \
  "to='juliet@capulet.example' id='" id "'><propose xmlns='urn:xmpp:jingle-message:0' "            \
  "id='c1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>"              \
  "</message>"

static void archived_urgent_reaches_bound(void **state) {
  fixture *f = *state;
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  fh_clear(&f->h);
  assert_int_equal(archived(f, JMI_PROPOSE("call-1"), "C1"), 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 1);
  /* A call is important even without a body. */
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "New Message!");
  /* Still at most once per registration. */
  assert_int_equal(archived(f, JMI_PROPOSE("call-1"), "C1"), 0);
  /* The ordinary message in the same situation is not pushed. */
  char *m = fh_message(ALICE, "plain", "hi");
  assert_int_equal(archived(f, m, "P1"), 0);
  g_free(m);
}

/* A host whose archive stamps no stanza-id on the other copies: the
 * archive id then names nothing the offline copy carries, and the stanza's
 * own id must still recognise it. */
static void offline_without_stanza_id_then_archived_once(void **state) {
  fixture *f = *state;
  two_unbound(f);
  char *m = fh_message(ALICE, "plain-id", "hi");
  assert_int_equal(au_offline(&f->h, ALICE, m), 2);
  assert_int_equal(archived(f, m, "Q"), 0);
  g_free(m);
  assert_int_equal(au_publishes(&f->h), 2);
}

/* Two accounts may register the same push service and node (one app
 * server, shared node naming); the same stanza id from one sender reaches
 * both. */
static void accounts_sharing_an_endpoint_both_pushed(void **state) {
  fixture *f = *state;
  const char *bob = "bob@capulet.example";
  cloudnotify_session *a = au_session(&f->h, ALICE, "a");
  cloudnotify_session *b = au_session(&f->h, bob, "b");
  au_enable_ok(&f->h, a, PUSH_JID, "shared", NULL);
  au_enable_ok(&f->h, b, PUSH_JID, "shared", NULL);
  cloudnotify_session_free(a);
  cloudnotify_session_free(b);
  fh_clear(&f->h);
  /* Each account gets its own copy, addressed to it. */
  char *m = fh_message(ALICE, "same-id", "hi");
  char *mb = fh_message(bob, "same-id", "hi");
  assert_int_equal(au_offline(&f->h, ALICE, m), 1);
  assert_int_equal(au_offline(&f->h, bob, mb), 1);
  g_free(m);
  g_free(mb);
  assert_int_equal(au_publishes(&f->h), 2);
}

/* A call pushed through the archive to a hibernated session's
 * registration is that session's first important push: the host must be
 * told to go back to the normal hibernation timeout. */
static void archived_urgent_ends_hibernation_extension(void **state) {
  fixture *f = *state;
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  assert_int_equal(cloudnotify_session_hibernated(f->s, NULL, 0), 0);
  assert_int_equal(f->h.hib->len, 1);
  assert_int_equal(((fh_hib *)f->h.hib->pdata[0])->seconds, 259200);
  assert_int_equal(archived(f, JMI_PROPOSE("call-h"), "CH"), 1);
  assert_int_equal(f->h.hib->len, 2);
  assert_ptr_equal(((fh_hib *)f->h.hib->pdata[1])->session, f->s);
  assert_int_equal(((fh_hib *)f->h.hib->pdata[1])->seconds, -1);
}

/* ---- groupchat and carbons --------------------------------------------------------- */

static void groupchat_bare_reaches_all(void **state) {
  fixture *f = *state;
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  enable_unbound(f, OTHER_PUSH_JID, "n2");
  fh_clear(&f->h);
  const char *m = "<message xmlns='jabber:client' type='groupchat' "
                  "from='room@conference.example/mercutio' to='juliet@capulet.example' "
                  "id='g1'><body>a plague</body></message>";
  assert_int_equal(groupchat(f, m), 2);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 1);
  assert_int_equal(au_publishes_to(&f->h, OTHER_PUSH_JID, "n2"), 1);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "New Message!");
}

static void groupchat_subject_unimportant(void **state) {
  fixture *f = *state;
  two_unbound(f);
  const char *m = "<message type='groupchat' from='room@conference.example/mercutio' "
                  "to='juliet@capulet.example' id='g2'><subject>new topic</subject>"
                  "<body>new topic</body></message>";
  assert_int_equal(groupchat(f, m), 2);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", NULL);
}

static void outgoing_carbon_never(void **state) {
  fixture *f = *state;
  two_unbound(f);
  const char *sent =
      "<message xmlns='jabber:client' from='juliet@capulet.example' "
      "to='juliet@capulet.example/balcony' type='chat'><sent xmlns='urn:xmpp:carbons:2'>"
      "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' "
      "from='juliet@capulet.example/phone' to='romeo@montague.example' type='chat' "
      "id='out1'><body>my own words</body></message></forwarded></sent></message>";
  assert_int_equal(au_offline(&f->h, ALICE, sent), 0);
  assert_int_equal(archived(f, sent, "S1"), 0);
  assert_int_equal(groupchat(f, sent), 0);
  assert_int_equal(au_publishes(&f->h), 0);
}

static void incoming_carbon_unwrapped(void **state) {
  fixture *f = *state;
  two_unbound(f);
  au_set(&f->h, "push_notification_with_sender", "true");
  const char *received =
      "<message xmlns='jabber:client' from='juliet@capulet.example' "
      "to='juliet@capulet.example/balcony' type='chat'><received xmlns='urn:xmpp:carbons:2'>"
      "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' "
      "from='romeo@montague.example/orchard' to='juliet@capulet.example/phone' type='chat' "
      "id='in1'><body>hi</body></message></forwarded></received></message>";
  assert_int_equal(au_offline(&f->h, ALICE, received), 2);
  const char *x = fh_publish(&f->h, 0)->xml;
  au_assert_summary_field(x, "last-message-body", "New Message!");
  au_assert_summary_field(x, "last-message-sender", "romeo@montague.example/orchard");
}

static void importance_of_payloads(void **state) {
  fixture *f = *state;
  two_unbound(f);
  assert_int_equal(au_offline(&f->h, ALICE,
                              "<presence type='subscribe' from='romeo@montague.example' "
                              "id='pr1'><status>let me in</status></presence>"),
                   2);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", NULL);
  fh_clear(&f->h);
  assert_int_equal(au_offline(&f->h, ALICE,
                              "<message type='headline' from='news.example' id='h1'>"
                              "<body>extra</body></message>"),
                   2);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", NULL);
  fh_clear(&f->h);
  assert_int_equal(au_offline(&f->h, ALICE,
                              "<message type='chat' from='romeo@montague.example/o' id='e1'>"
                              "<encrypted xmlns='eu.siacs.conversations.axolotl'/>"
                              "</message>"),
                   2);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "New Message!");
}

/* ---- namespaces and the fast path ------------------------------------------------------ */

static void stanza_namespaces(void **state) {
  fixture *f = *state;
  two_unbound(f);
  const char *ok[] = { "jabber:client", "jabber:server", "jabber:component:accept", NULL };
  for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
    char *m = g_strdup_printf("<message%s%s%s type='chat' from='romeo@montague.example/o' "
                              "id='ns-%zu'><body>hi</body></message>",
                              ok[i] ? " xmlns='" : "", ok[i] ? ok[i] : "", ok[i] ? "'" : "", i);
    fh_clear(&f->h);
    assert_int_equal(au_offline(&f->h, ALICE, m), 2);
    au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "New Message!");
    g_free(m);
  }
  fh_clear(&f->h);
  const char *bad[] = {
    "<message xmlns='urn:example:other' type='chat' id='ns-x'><body>hi</body></message>",
    "<stream:message xmlns:stream='http://etherx.jabber.org/streams' id='ns-y'>"
    "<body>hi</body></stream:message>",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    unsigned n = 12345;
    assert_int_equal(cloudnotify_message_offline(f->h.ctx, ALICE, bad[i], strlen(bad[i]), &n),
                     CLOUDNOTIFY_ERR_XML);
    assert_int_equal(n, 0);
    assert_int_equal(cloudnotify_message_archived(f->h.ctx, ALICE, bad[i], strlen(bad[i]), "B", &n),
                     CLOUDNOTIFY_ERR_XML);
    assert_int_equal(
        cloudnotify_message_groupchat_bare(f->h.ctx, ALICE, bad[i], strlen(bad[i]), &n),
        CLOUDNOTIFY_ERR_XML);
  }
  assert_int_equal(au_publishes(&f->h), 0);
}

static void no_registration_decided_without_parsing(void **state) {
  fixture *f = *state;
  two_unbound(f);
  const char *junk = "<<<";
  unsigned n = 12345;
  assert_int_equal(
      cloudnotify_message_offline(f->h.ctx, "nurse@capulet.example", junk, strlen(junk), &n), 0);
  assert_int_equal(n, 0);
  n = 12345;
  assert_int_equal(
      cloudnotify_message_archived(f->h.ctx, "nurse@capulet.example", junk, strlen(junk), "J", &n),
      0);
  assert_int_equal(n, 0);
  n = 12345;
  assert_int_equal(cloudnotify_message_offline(f->h.ctx, ALICE, junk, strlen(junk), &n),
                   CLOUDNOTIFY_ERR_XML);
  assert_int_equal(n, 0);
  assert_int_equal(au_publishes(&f->h), 0);
}

static void too_large_refused(void **state) {
  fixture *f = *state;
  two_unbound(f);
  au_set(&f->h, "push_max_stanza_size", "256");
  GString *body = g_string_new(NULL);
  while (body->len < 300)
    g_string_append(body, "long ");
  char *m = fh_message(ALICE, "big", body->str);
  unsigned n = 12345;
  assert_int_equal(cloudnotify_message_offline(f->h.ctx, ALICE, m, strlen(m), &n),
                   CLOUDNOTIFY_ERR_TOO_LARGE);
  assert_int_equal(n, 0);
  g_free(m);
  g_string_free(body, TRUE);
  assert_int_equal(au_publishes(&f->h), 0);
}

/* ---- pings ------------------------------------------------------------------------------ */

static void three_unbound(fixture *f) {
  enable_unbound(f, PUSH_JID, "n1");
  enable_unbound(f, PUSH_JID, "n2");
  enable_unbound(f, OTHER_PUSH_JID, "n1");
  fh_clear(&f->h);
}

static void ping_all(void **state) {
  fixture *f = *state;
  three_unbound(f);
  /* A ping has no stanza: nothing to reveal even when allowed. */
  au_set(&f->h, "push_notification_with_body", "true");
  au_set(&f->h, "push_notification_with_sender", "true");
  assert_int_equal(au_ping(&f->h, ALICE), 3);
  /* Pings are not de-duplicated: each one is a fresh wake-up. */
  assert_int_equal(au_ping(&f->h, ALICE), 3);
  assert_int_equal(au_publishes(&f->h), 6);
  for (unsigned i = 0; i < 6; i++) {
    const char *x = fh_publish(&f->h, i)->xml;
    au_assert_summary_field(x, "FORM_TYPE", "urn:xmpp:push:summary");
    /* It covers no stanza: no count (0 could clear a badge). */
    au_assert_summary_field(x, "message-count", NULL);
    au_assert_summary_field(x, "last-message-body", NULL);
    au_assert_summary_field(x, "last-message-sender", NULL);
  }
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 2);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n2"), 2);
  assert_int_equal(au_publishes_to(&f->h, OTHER_PUSH_JID, "n1"), 2);
}

static unsigned ping_some(fixture *f, const cloudnotify_endpoint *e, size_t n) {
  unsigned pushes = 12345;
  assert_int_equal(cloudnotify_ping(f->h.ctx, ALICE, e, n, &pushes), 0);
  return pushes;
}

static void ping_chosen_endpoint(void **state) {
  fixture *f = *state;
  three_unbound(f);
  const cloudnotify_endpoint one[] = { { PUSH_JID, "n2" } };
  assert_int_equal(ping_some(f, one, 1), 1);
  assert_int_equal(au_publishes(&f->h), 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n2"), 1);

  fh_clear(&f->h);
  const cloudnotify_endpoint two[] = { { "Push.Example", "n1" }, { OTHER_PUSH_JID, "n1" } };
  assert_int_equal(ping_some(f, two, 2), 2);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 1);
  assert_int_equal(au_publishes_to(&f->h, OTHER_PUSH_JID, "n1"), 1);

  fh_clear(&f->h);
  const cloudnotify_endpoint none[] = { { PUSH_JID, "n9" }, { "unknown.example", NULL } };
  assert_int_equal(ping_some(f, none, 2), 0);
  assert_int_equal(au_publishes(&f->h), 0);
}

static void ping_jid_without_node(void **state) {
  fixture *f = *state;
  three_unbound(f);
  const cloudnotify_endpoint all_nodes[] = { { PUSH_JID, NULL } };
  assert_int_equal(ping_some(f, all_nodes, 1), 2);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n2"), 1);
  assert_int_equal(au_publishes_to(&f->h, OTHER_PUSH_JID, "n1"), 0);
}

static void ping_endpoint_validation(void **state) {
  fixture *f = *state;
  three_unbound(f);
  unsigned n = 12345;
  const cloudnotify_endpoint bad[] = { { PUSH_JID, "n1" }, { "bad jid", NULL } };
  assert_int_equal(cloudnotify_ping(f->h.ctx, ALICE, bad, 2, &n), CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_int_equal(n, 0);
  const cloudnotify_endpoint nojid[] = { { NULL, "n1" } };
  assert_int_equal(cloudnotify_ping(f->h.ctx, ALICE, nojid, 1, &n), CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_int_equal(cloudnotify_ping(f->h.ctx, ALICE, NULL, 1, &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(au_publishes(&f->h), 0);
  /* pushes may be NULL. */
  assert_int_equal(cloudnotify_ping(f->h.ctx, ALICE, NULL, 0, NULL), 0);
  assert_int_equal(au_publishes(&f->h), 3);
}

/* ---- the account argument ------------------------------------------------------------------ */

static void account_validation(void **state) {
  fixture *f = *state;
  two_unbound(f);
  const char *m = "<message type='chat' id='v1'><body>hi</body></message>";
  size_t len = strlen(m);
  cloudnotify_ctx *c = f->h.ctx;
  unsigned n = 12345;

  assert_int_equal(cloudnotify_message_offline(c, NULL, m, len, &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(n, 0);
  assert_int_equal(cloudnotify_message_archived(c, NULL, m, len, "a", &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_message_groupchat_bare(c, NULL, m, len, &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_ping(c, NULL, NULL, 0, &n), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_message_offline(NULL, ALICE, m, len, &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_message_offline(c, ALICE, NULL, 0, &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_ping(NULL, ALICE, NULL, 0, &n), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);

  const char *bad[] = { "not a jid@",       "capulet.example", ALICE_FULL,
                        "@capulet.example", "juliet@",         "" };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    n = 12345;
    assert_int_equal(cloudnotify_message_offline(c, bad[i], m, len, &n),
                     CLOUDNOTIFY_ERR_JID_MALFORMED);
    assert_int_equal(n, 0);
    assert_int_equal(cloudnotify_message_archived(c, bad[i], m, len, "a", &n),
                     CLOUDNOTIFY_ERR_JID_MALFORMED);
    assert_int_equal(cloudnotify_message_groupchat_bare(c, bad[i], m, len, &n),
                     CLOUDNOTIFY_ERR_JID_MALFORMED);
    assert_int_equal(cloudnotify_ping(c, bad[i], NULL, 0, &n), CLOUDNOTIFY_ERR_JID_MALFORMED);
  }
  assert_int_equal(au_publishes(&f->h), 0);
  /* The account is normalised, not refused, when only its case differs. */
  assert_int_equal(cloudnotify_message_offline(c, "Juliet@Capulet.Example", m, len, &n), 0);
  assert_int_equal(n, 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    T(offline_reaches_every_registration),
    T(same_stanza_pushed_once),
    T(offline_then_archived_once),
    T(archived_then_offline_once),
    T(foreign_stanza_id_not_taken),
    T(archived_skips_bound_registration),
    T(archived_urgent_reaches_bound),
    T(offline_without_stanza_id_then_archived_once),
    T(accounts_sharing_an_endpoint_both_pushed),
    T(archived_urgent_ends_hibernation_extension),
    T(groupchat_bare_reaches_all),
    T(groupchat_subject_unimportant),
    T(outgoing_carbon_never),
    T(incoming_carbon_unwrapped),
    T(importance_of_payloads),
    T(stanza_namespaces),
    T(no_registration_decided_without_parsing),
    T(too_large_refused),
    T(ping_all),
    T(ping_chosen_endpoint),
    T(ping_jid_without_node),
    T(ping_endpoint_validation),
    T(account_validation),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
