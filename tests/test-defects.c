/* Behaviour defects found by trying the library as a new user would
 * (issue 8, point 10).  Each test failed before its fix. */
#include "api-util.h"

#include <string.h>

/* CN_DIGEST_WINDOW_MS (lib/seen.h), which API tests do not include. */
#define CN_DIGEST_WINDOW_MS_FOR_TESTS (60 * 1000)

typedef struct {
  fake_host h;
  au_store st;
  cloudnotify_session *s; /* live session of ALICE, may be bound */
} fixture;

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  /* log2: the tests read the id of each log message. */
  fh_init_ex(&f->h, FH_LOG2);
  au_store_init(&f->st);
  au_use_store(&f->h, &f->st);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  cloudnotify_session_free(f->s);
  fh_fini(&f->h);
  au_store_fini(&f->st);
  g_free(f);
  return 0;
}

/* A registration enabled from a session that is gone again. */
static void enable_unbound(fixture *f, const char *jid, const char *node) {
  cloudnotify_session *s = au_session(&f->h, ALICE, "tmp");
  au_enable_ok(&f->h, s, jid, node, NULL);
  cloudnotify_session_free(s);
  fh_clear(&f->h);
}

static void enable_bound(fixture *f, const char *jid, const char *node) {
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, f->s, jid, node, NULL);
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

static void queued(fixture *f, const char *xml) {
  assert_int_equal(cloudnotify_session_queued(f->s, xml, strlen(xml)), 0);
}

/* ---- 1. the account's own messages ----------------------------------------- */

#define OWN_TO_PEER(id)                                                                            \
  "<message xmlns='jabber:client' type='chat' from='" ALICE "/phone' "                             \
  "to='romeo@montague.example' id='" id "'><body>my own words</body></message>"
#define OWN_NO_FROM(id)                                                                            \
  "<message xmlns='jabber:client' type='chat' to='romeo@montague.example' id='" id "'>"            \
  "<body>my own words</body></message>"
#define OWN_TO_SELF(id)                                                                            \
  "<message type='chat' from='JULIET@capulet.example/laptop' to='" ALICE "' id='" id               \
  "'><body>note to self</body></message>"

static void own_messages_never_pushed(void **state) {
  fixture *f = *state;
  enable_unbound(f, PUSH_JID, "n1");
  /* The archive stores what the account sends as well as what it gets. */
  assert_int_equal(archived(f, OWN_TO_PEER("o1"), "A1"), 0);
  /* Without 'from' (a host that archives outgoing stanzas as the client
   * wrote them) the 'to' still says it is not for the account. */
  assert_int_equal(archived(f, OWN_NO_FROM("o2"), "A2"), 0);
  assert_int_equal(au_offline(&f->h, ALICE, OWN_TO_SELF("o3")), 0);
  assert_int_equal(groupchat(f, OWN_TO_PEER("o4")), 0);
  assert_int_equal(au_publishes(&f->h), 0);
  /* A peer's message still goes. */
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hi"), 1);
}

static void own_messages_not_pushed_from_session_queue(void **state) {
  fixture *f = *state;
  enable_bound(f, PUSH_JID, "n1");
  cloudnotify_buf q[] = { { OWN_TO_SELF("q1"), strlen(OWN_TO_SELF("q1")) } };
  assert_int_equal(cloudnotify_session_hibernated(f->s, q, 1), 0);
  assert_int_equal(au_publishes(&f->h), 0);
  queued(f, OWN_TO_SELF("q2"));
  f->h.now += 60000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 0);
  /* Live again, the ack-delay path is the same. */
  assert_int_equal(cloudnotify_session_resumed(f->s), 0);
  queued(f, OWN_TO_SELF("q3"));
  cloudnotify_buf q2[] = { { OWN_TO_SELF("q4"), strlen(OWN_TO_SELF("q4")) } };
  assert_int_equal(cloudnotify_session_ack_delayed(f->s, q2, 1), 0);
  assert_int_equal(cloudnotify_session_ack_delayed(f->s, NULL, 0), 0);
  assert_int_equal(au_publishes(&f->h), 0);
}

/* ---- 2. stanza identity ------------------------------------------------------ */

/* The same words from the same sender, no id attribute: only the
 * archive's stanza-id tells two such messages apart. */
#define NO_ID(extra)                                                                               \
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' "              \
  "to='" ALICE "'><body>ok</body>" extra "</message>"
#define SID(x) "<stanza-id xmlns='urn:xmpp:sid:0' by='" ALICE "' id='" x "'/>"

static void distinct_stanza_ids_are_distinct_stanzas(void **state) {
  fixture *f = *state;
  enable_unbound(f, PUSH_JID, "n1");
  assert_int_equal(au_offline(&f->h, ALICE, NO_ID(SID("S1"))), 1);
  assert_int_equal(au_offline(&f->h, ALICE, NO_ID(SID("S2"))), 1);
  /* ... and distinct archive ids. */
  assert_int_equal(archived(f, NO_ID(""), "A1"), 1);
  assert_int_equal(archived(f, NO_ID(""), "A2"), 1);
  /* Copies of one of them are still recognised, by stanza-id or archive id. */
  assert_int_equal(archived(f, NO_ID(""), "S1"), 0);
  assert_int_equal(au_offline(&f->h, ALICE, NO_ID(SID("A2"))), 0);
  assert_int_equal(au_publishes(&f->h), 4);
}

/* A stanza with an id attribute but no stanza-id: a stanza-id distinguishes
 * it from an earlier stanza that reused the id. */
static void stanza_id_beats_reused_id_attribute(void **state) {
  fixture *f = *state;
  enable_unbound(f, PUSH_JID, "n1");
  char *a = fh_message(ALICE, "reused", "one");
  assert_int_equal(archived(f, a, "R1"), 1);
  assert_int_equal(archived(f, a, "R2"), 1);
  /* The copy without any stanza-id matches either. */
  assert_int_equal(au_offline(&f->h, ALICE, a), 0);
  g_free(a);
}

static void digest_only_identity_is_time_bound(void **state) {
  fixture *f = *state;
  enable_unbound(f, PUSH_JID, "n1");
  /* Nothing but the content: the copies a host hands over for one stanza
   * arrive together and are one push. */
  assert_int_equal(au_offline(&f->h, ALICE, NO_ID("")), 1);
  assert_int_equal(archived(f, NO_ID(""), NULL), 0);
  /* An hour later the same words are a new message. */
  f->h.now += 3600 * 1000;
  assert_int_equal(au_offline(&f->h, ALICE, NO_ID("")), 1);
  assert_int_equal(au_publishes(&f->h), 2);
}

/* The window is a deadline: it runs on the monotonic clock, and a step of
 * the wall clock neither ends nor stretches it. */
static void digest_window_ignores_wall_clock_steps(void **state) {
  fixture *f = *state;
  enable_unbound(f, PUSH_JID, "n1");
  assert_int_equal(au_offline(&f->h, ALICE, NO_ID("")), 1);
  f->h.wall_offset += 3600 * 1000;
  assert_int_equal(archived(f, NO_ID(""), NULL), 0);
  f->h.wall_offset -= 2 * 3600 * 1000;
  f->h.now += CN_DIGEST_WINDOW_MS_FOR_TESTS;
  assert_int_equal(archived(f, NO_ID(""), NULL), 1);
  assert_int_equal(au_publishes(&f->h), 2);
}

/* ---- 3. the per-session queue bound ------------------------------------------ */

#define PRESENCE(n)                                                                                \
  "<presence xmlns='jabber:client' from='romeo@montague.example/" n "' to='" ALICE_FULL "'/>"

static void presences(fixture *f, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    char *p = g_strdup_printf(PRESENCE("%u"), i);
    queued(f, p);
    g_free(p);
  }
}

static gboolean important_push_sent(const fixture *f) {
  for (unsigned i = 0; fh_publish(&f->h, i); i++) {
    char *b = au_summary_field(fh_publish(&f->h, i)->xml, "last-message-body");
    gboolean important = b != NULL;
    g_free(b);
    if (important)
      return TRUE;
  }
  return FALSE;
}

static void overflow_keeps_the_important_stanza_hibernated(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_session_queue", "5");
  enable_bound(f, PUSH_JID, "n1");
  assert_int_equal(cloudnotify_session_hibernated(f->s, NULL, 0), 0);
  char *m = fh_message(ALICE_FULL, "q-1", "the one that matters");
  queued(f, m);
  g_free(m);
  presences(f, 20);
  f->h.now += 2000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_true(important_push_sent(f));
}

static void overflow_keeps_the_important_stanza_live(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_session_queue", "5");
  enable_bound(f, PUSH_JID, "n1");
  char *m = fh_message(ALICE_FULL, "q-2", "the one that matters");
  queued(f, m);
  g_free(m);
  presences(f, 20);
  assert_int_equal(cloudnotify_session_ack_requested(f->s), 0);
  f->h.now += 31000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_true(important_push_sent(f));
  /* The ack still releases what it covers: h counts the stanzas sent. */
  fh_clear(&f->h);
  assert_int_equal(cloudnotify_session_acked(f->s, 21), 0);
  assert_int_equal(cloudnotify_session_ack_delayed(f->s, NULL, 0), 0);
  assert_int_equal(au_publishes(&f->h), 0);
}

/* Among important entries the oldest goes; the one unimportant entry stays
 * to decide the unimportant push. */
static void overflow_of_important_stanzas_drops_the_oldest(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_session_queue", "2");
  au_set(&f->h, "push_notification_with_body", "true");
  enable_bound(f, PUSH_JID, "n1");
  assert_int_equal(cloudnotify_session_hibernated(f->s, NULL, 0), 0);
  for (unsigned i = 1; i <= 3; i++) {
    char id[8], body[8];
    g_snprintf(id, sizeof id, "i%u", i);
    g_snprintf(body, sizeof body, "m%u", i);
    char *m = fh_message(ALICE_FULL, id, body);
    queued(f, m);
    g_free(m);
  }
  presences(f, 1);
  f->h.now += 2000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 2);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "m3");
  au_assert_summary_field(fh_publish(&f->h, 1)->xml, "last-message-body", NULL);
}

/* ---- 4. registrations stored under a non-normalised key ------------------------ */

/* What mod_cloud_notify leaves behind: the service JID as the client wrote
 * it. */
static void store_raw(fixture *f, const char *jid, const char *node, int64_t at) {
  au_record *r = g_new0(au_record, 1);
  r->account = g_strdup(ALICE);
  r->jid = g_strdup(jid);
  r->node = g_strdup(node);
  r->enabled_at = at;
  g_ptr_array_add(f->st.records, r);
}

/* A restarted server: a fresh context over the same store. */
static int has_push_after_restart(fixture *f) {
  fake_host h2;
  fh_init(&h2);
  au_use_store(&h2, &f->st);
  int rc = cloudnotify_account_has_push(h2.ctx, ALICE);
  fh_fini(&h2);
  return rc;
}

static void assert_only_row(const fixture *f, const char *jid, const char *node) {
  assert_int_equal(f->st.records->len, 1);
  const au_record *r = f->st.records->pdata[0];
  assert_string_equal(r->jid, jid);
  assert_string_equal(r->node, node);
}

static gboolean logged_id(const fixture *f, const char *id) {
  for (guint i = 0; i < f->h.log_ids->len; i++)
    if (!strcmp(f->h.log_ids->pdata[i], id))
      return TRUE;
  return FALSE;
}

static void raw_key_rewritten_on_load(void **state) {
  fixture *f = *state;
  store_raw(f, "PUSH.Example.", "n1", 1000);
  assert_int_equal(cloudnotify_account_has_push(f->h.ctx, ALICE), 1);
  assert_only_row(f, PUSH_JID, "n1");
  /* The rewrite is a replacement, not an addition or a removal. */
  assert_int_equal(f->h.removed->len, 0);
  assert_int_equal(((au_record *)f->st.records->pdata[0])->enabled_at, 1000);
  assert_true(logged_id(f, CLOUDNOTIFY_LOG_ID_STORE_KEY_REWRITTEN));
}

static void raw_key_disabled_stays_gone_after_restart(void **state) {
  fixture *f = *state;
  store_raw(f, "Push.Example", "n1", 1000);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  assert_int_equal(fh_disable(f->s, PUSH_JID, "n1"), 0);
  au_assert_last_reply(&f->h, "result");
  assert_int_equal(f->st.records->len, 0);
  assert_int_equal(has_push_after_restart(f), 0);
}

static void raw_key_error_removal_stays_gone_after_restart(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "1");
  store_raw(f, "PUSH.EXAMPLE.", NULL, 1000);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hi"), 1);
  assert_int_equal(fh_reply(&f->h, 0, "cancel", NULL), 0);
  assert_int_equal(f->h.removed->len, 1);
  assert_int_equal(f->st.records->len, 0);
  assert_int_equal(has_push_after_restart(f), 0);
}

static void raw_key_reenable_leaves_one_row(void **state) {
  fixture *f = *state;
  store_raw(f, "Push.Example.", "n1", 1000);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  assert_only_row(f, PUSH_JID, "n1");
}

/* An empty node and no node are the same registration; a store that kept
 * the empty string is rewritten to "no node". */
static void empty_node_rewritten(void **state) {
  fixture *f = *state;
  store_raw(f, PUSH_JID, "", 1000);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  assert_int_equal(fh_disable(f->s, PUSH_JID, NULL), 0);
  assert_int_equal(f->st.records->len, 0);
  assert_int_equal(has_push_after_restart(f), 0);
}

/* Two spellings of one key: one row remains, the newer. */
static void two_spellings_collapse(void **state) {
  fixture *f = *state;
  store_raw(f, "PUSH.example", "n1", 1000);
  store_raw(f, "push.example.", "n1", 2000);
  assert_int_equal(cloudnotify_account_has_push(f->h.ctx, ALICE), 1);
  assert_only_row(f, PUSH_JID, "n1");
  assert_int_equal(((au_record *)f->st.records->pdata[0])->enabled_at, 2000);
}

/* A store that cannot rewrite: the load fails (and is retried later)
 * rather than leave a row that no removal would reach. */
static void raw_key_rewrite_failure_fails_the_load(void **state) {
  fixture *f = *state;
  store_raw(f, "Push.Example", "n1", 1000);
  f->st.fail_remove = 1;
  assert_int_equal(cloudnotify_account_has_push(f->h.ctx, ALICE), CLOUDNOTIFY_ERR_STORE);
  assert_true(logged_id(f, CLOUDNOTIFY_LOG_ID_STORE_LOAD_FAILED));
  assert_false(logged_id(f, CLOUDNOTIFY_LOG_ID_OTHER));
  f->st.fail_remove = 0;
  assert_int_equal(cloudnotify_account_has_push(f->h.ctx, ALICE), 1);
  assert_only_row(f, PUSH_JID, "n1");
}

/* ---- 5. the publish-options form is kept verbatim ------------------------------ */

#define NS_FORM                                                                                    \
  "<x xmlns='jabber:x:data' xmlns:ext='urn:example:ext' type='submit' ext:flag='on'>"              \
  "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options"                \
  "</value></field><field var='secret' ext:hint='a&amp;b' xml:lang='en'>"                          \
  "<value>s3cr3t</value></field></x>"

/* count(expr) on xml with ext bound to urn:example:ext. */
static long count_ext(const char *xml, const char *expr) {
  xmlDoc *d = xmlReadMemory(xml, (int)strlen(xml), NULL, "UTF-8", XML_PARSE_NONET);
  assert_non_null(d);
  xmlXPathContext *c = xmlXPathNewContext(d);
  xmlXPathRegisterNs(c, BAD_CAST "ps", BAD_CAST "http://jabber.org/protocol/pubsub");
  xmlXPathRegisterNs(c, BAD_CAST "x", BAD_CAST "jabber:x:data");
  xmlXPathRegisterNs(c, BAD_CAST "e", BAD_CAST "urn:example:ext");
  char *q = g_strdup_printf("count(%s)", expr);
  xmlXPathObject *o = xmlXPathEvalExpression(BAD_CAST q, c);
  assert_non_null(o);
  long n = (long)xmlXPathCastToNumber(o);
  xmlXPathFreeObject(o);
  xmlXPathFreeContext(c);
  xmlFreeDoc(d);
  g_free(q);
  return n;
}

static void assert_form_kept(const char *publish) {
  const char *form = "/iq/ps:pubsub/ps:publish-options/x:x";
  char *q = g_strdup_printf("%s[@e:flag='on']", form);
  assert_int_equal(count_ext(publish, q), 1);
  g_free(q);
  q = g_strdup_printf("%s/x:field[@var='secret'][@e:hint='a&b'][@xml:lang='en']", form);
  assert_int_equal(count_ext(publish, q), 1);
  g_free(q);
}

static void form_namespaced_attributes_kept(void **state) {
  fixture *f = *state;
  cloudnotify_session *s = au_session(&f->h, ALICE, "tmp");
  au_enable_ok(&f->h, s, PUSH_JID, "n1", NS_FORM);
  cloudnotify_session_free(s);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hi"), 1);
  assert_form_kept(fh_publish(&f->h, 0)->xml);
  /* And as stored: after a restart the form is read back the same. */
  fake_host h2;
  fh_init(&h2);
  au_use_store(&h2, &f->st);
  assert_int_equal(au_offline_msg(&h2, ALICE, "again"), 1);
  assert_form_kept(fh_publish(&h2, 0)->xml);
  fh_fini(&h2);
}

/* ---- 6. which IQs are the library's, and how they are answered ----------------- */

static char *iq_outcome(fixture *f, const char *xml, int *rc) {
  fh_clear(&f->h);
  *rc = fh_iq(f->s, xml);
  return f->h.sent->len ? fh_outcome(fh_last(&f->h)->xml) : NULL;
}

static void iq_children_order_does_not_matter(void **state) {
  fixture *f = *state;
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  const char *push_first = "<iq type='set' id='o1'><enable xmlns='urn:xmpp:push:0' "
                           "jid='push.example'/><query xmlns='jabber:iq:version'/></iq>";
  const char *push_second = "<iq type='set' id='o2'><query xmlns='jabber:iq:version'/>"
                            "<enable xmlns='urn:xmpp:push:0' jid='push.example'/></iq>";
  int rc1, rc2;
  char *a = iq_outcome(f, push_first, &rc1);
  char *b = iq_outcome(f, push_second, &rc2);
  assert_int_equal(rc1, 0);
  assert_int_equal(rc2, 0);
  assert_non_null(a);
  assert_non_null(b);
  assert_string_equal(a, "modify/bad-request");
  assert_string_equal(b, a);
  g_free(a);
  g_free(b);
  assert_int_equal(f->st.saves, 0);
}

/* An enable in a get: the library's (its namespace), answered bad-request,
 * as the header says. */
static void iq_get_answered_as_documented(void **state) {
  fixture *f = *state;
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  int rc;
  char *o = iq_outcome(f,
                       "<iq type='get' id='g1'><enable xmlns='urn:xmpp:push:0' "
                       "jid='push.example'/></iq>",
                       &rc);
  assert_int_equal(rc, 0);
  assert_non_null(o);
  assert_string_equal(o, "modify/bad-request");
  g_free(o);
  /* Results and errors never are, whatever they hold. */
  o = iq_outcome(f,
                 "<iq type='result' id='g2'><query xmlns='jabber:iq:version'/>"
                 "<enable xmlns='urn:xmpp:push:0' jid='push.example'/></iq>",
                 &rc);
  assert_int_equal(rc, CLOUDNOTIFY_ERR_NOT_MINE);
  assert_null(o);
}

/* ---- 7. with_body and important stanzas without a body -------------------------- */

#define OMEMO_NO_BODY(id)                                                                          \
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' "              \
  "to='" ALICE "' id='" id "'><encrypted xmlns='eu.siacs.conversations.axolotl'>"                  \
  "<header sid='1'/><payload>AAAA</payload></encrypted></message>"
#define CALL(id)                                                                                   \
  "<message type='chat' from='romeo@montague.example/orchard' to='" ALICE "' id='" id              \
  "'><propose xmlns='urn:xmpp:jingle-message:0' id='c1'><description "                             \
  "xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>"

static void with_body_important_without_body_gets_placeholder(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_notification_with_body", "true");
  enable_unbound(f, PUSH_JID, "n1");
  assert_int_equal(au_offline(&f->h, ALICE, OMEMO_NO_BODY("b1")), 1);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "New Message!");
  assert_int_equal(archived(f, CALL("b2"), "B2"), 1);
  au_assert_summary_field(fh_publish(&f->h, 1)->xml, "last-message-body", "New Message!");
  /* A real body is still sent as it is. */
  assert_int_equal(au_offline_msg(&f->h, ALICE, "words"), 1);
  au_assert_summary_field(fh_publish(&f->h, 2)->xml, "last-message-body", "words");
  /* Unimportant stays without body; an empty placeholder means none. */
  au_set(&f->h, "push_notification_important_body", "");
  assert_int_equal(au_offline(&f->h, ALICE, OMEMO_NO_BODY("b3")), 1);
  au_assert_summary_field(fh_publish(&f->h, 3)->xml, "last-message-body", NULL);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    T(own_messages_never_pushed),
    T(own_messages_not_pushed_from_session_queue),
    T(distinct_stanza_ids_are_distinct_stanzas),
    T(stanza_id_beats_reused_id_attribute),
    T(digest_only_identity_is_time_bound),
    T(digest_window_ignores_wall_clock_steps),
    T(overflow_keeps_the_important_stanza_hibernated),
    T(overflow_keeps_the_important_stanza_live),
    T(overflow_of_important_stanzas_drops_the_oldest),
    T(raw_key_rewritten_on_load),
    T(raw_key_disabled_stays_gone_after_restart),
    T(raw_key_error_removal_stays_gone_after_restart),
    T(raw_key_reenable_leaves_one_row),
    T(empty_node_rewritten),
    T(two_spellings_collapse),
    T(raw_key_rewrite_failure_fails_the_load),
    T(form_namespaced_attributes_kept),
    T(iq_children_order_does_not_matter),
    T(iq_get_answered_as_documented),
    T(with_body_important_without_body_gets_placeholder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
