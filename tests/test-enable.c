/* Enable and disable through the public API: every row of the enable
 * error table (DESIGN.md section 3), the device limit and its order
 * across restarts, publish-options, disable, and session binding. */
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

/* The IQ is answered with outcome and, since no state changed, an
 * offline message reaches no registration. */
static void assert_refused(fixture *f, int rc, const char *outcome) {
  assert_int_equal(rc, 0);
  assert_int_equal(f->h.sent->len, 1);
  au_assert_last_reply(&f->h, outcome);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 0);
  assert_int_equal(au_publishes(&f->h), 0);
  fh_clear(&f->h);
}

/* ---- success ------------------------------------------------------------ */

static void enable_new_gives_empty_result(void **state) {
  fixture *f = *state;
  const char *iq = "<iq type='set' id='en-42'><enable xmlns='urn:xmpp:push:0' "
                   "jid='push.example' node='n1'/></iq>";
  assert_int_equal(fh_iq(f->s, iq), 0);
  assert_int_equal(f->h.sent->len, 1);
  const fh_sent *r = fh_last(&f->h);
  assert_int_equal(r->route, CLOUDNOTIFY_ROUTE_CLIENT);
  assert_ptr_equal(r->session, f->s);
  assert_string_equal(r->account, ALICE);
  assert_string_equal(r->to, ALICE_FULL);
  au_assert_last_reply(&f->h, "result");
  au_assert_xpath(r->xml, "string(/iq/@id)", "en-42");
  au_assert_xpath(r->xml, "string(/iq/@from)", ALICE);
  au_assert_xpath(r->xml, "string(/iq/@to)", ALICE_FULL);
  assert_int_equal(au_xpath_count(r->xml, "/iq/node()"), 0);
  assert_int_equal(f->h.removed->len, 0);

  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 1);
}

static void enable_same_key_replaces(void **state) {
  fixture *f = *state;
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", FORM_WITH_SECRET("first"));
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", FORM_WITH_SECRET("second"));
  /* Replacing is not a removal. */
  assert_int_equal(f->h.removed->len, 0);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 1);
  const fh_sent *p = fh_publish(&f->h, 0);
  au_assert_xpath(p->xml,
                  "string(/iq/ps:pubsub/ps:publish-options/x:x/x:field[@var='secret']/x:value)",
                  "second");
  assert_false(au_sent_contains(&f->h, "first"));
}

static void enable_replace_becomes_most_recent(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_devices", "2");
  au_enable_device(&f->h, f->s, "a.example", NULL, NULL);
  au_enable_device(&f->h, f->s, "b.example", NULL, NULL);
  au_enable_device(&f->h, f->s, "a.example", NULL, NULL);
  assert_int_equal(f->h.removed->len, 0);
  au_enable_device(&f->h, f->s, "c.example", NULL, NULL);
  assert_int_equal(f->h.removed->len, 1);
  assert_string_equal(au_removed(&f->h, 0)->jid, "b.example");
  assert_int_equal(au_removed(&f->h, 0)->reason, CLOUDNOTIFY_REMOVED_EVICTED);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 2);
  assert_int_equal(au_publishes_to(&f->h, "a.example", NULL), 1);
  assert_int_equal(au_publishes_to(&f->h, "c.example", NULL), 1);
  assert_int_equal(au_publishes_to(&f->h, "b.example", NULL), 0);
}

/* ---- the error table ----------------------------------------------------- */

static void enable_missing_jid(void **state) {
  fixture *f = *state;
  assert_refused(f, fh_enable(f->s, NULL, "n1", NULL), "modify/bad-request");
}

static void enable_malformed_jid(void **state) {
  fixture *f = *state;
  const char *bad[] = { "a@b@c", "bad jid", "@x", "", "push.example/" };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    assert_refused(f, fh_enable(f->s, bad[i], "n1", NULL), "modify/jid-malformed");
}

static void enable_own_jid(void **state) {
  fixture *f = *state;
  const char *own[] = { ALICE, ALICE_FULL, "juliet@capulet.example/x", "Juliet@Capulet.Example/x",
                        "JULIET@capulet.example" };
  for (size_t i = 0; i < G_N_ELEMENTS(own); i++)
    assert_refused(f, fh_enable(f->s, own[i], NULL, NULL), "modify/bad-request");
}

static int enable_to(fixture *f, const char *to) {
  char *iq = g_strdup_printf("<iq type='set' id='t1'%s%s%s><enable xmlns='urn:xmpp:push:0' "
                             "jid='push.example' node='n1'/></iq>",
                             to ? " to='" : "", to ? to : "", to ? "'" : "");
  int rc = fh_iq(f->s, iq);
  g_free(iq);
  return rc;
}

static void enable_to_other_account_forbidden(void **state) {
  fixture *f = *state;
  assert_refused(f, enable_to(f, "romeo@montague.example"), "cancel/forbidden");
  assert_refused(f, enable_to(f, "capulet.example"), "cancel/forbidden");
  assert_refused(f, enable_to(f, "nurse@capulet.example"), "cancel/forbidden");
}

static void enable_to_own_bare_or_absent_accepted(void **state) {
  fixture *f = *state;
  const char *ok[] = { NULL, ALICE, "Juliet@Capulet.Example" };
  for (size_t i = 0; i < G_N_ELEMENTS(ok); i++) {
    fh_clear(&f->h);
    assert_int_equal(enable_to(f, ok[i]), 0);
    au_assert_last_reply(&f->h, "result");
    au_assert_xpath(fh_last(&f->h)->xml, "string(/iq/@id)", "t1");
  }
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 1);
}

static void enable_two_forms(void **state) {
  fixture *f = *state;
  assert_refused(f, fh_enable(f->s, PUSH_JID, "n1", FORM_WITH_SECRET("a") FORM_WITH_SECRET("b")),
                 "modify/bad-request");
}

/* A form of about size bytes. */
static char *form_of_size(size_t size) {
  GString *v = g_string_new(NULL);
  while (v->len < size)
    g_string_append_c(v, 'v');
  char *form = g_strdup_printf("<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'>"
                               "<value>http://jabber.org/protocol/pubsub#publish-options</value>"
                               "</field><field var='secret'><value>%s</value></field></x>",
                               v->str);
  g_string_free(v, TRUE);
  return form;
}

static void enable_form_over_size(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_form_size", "512");
  char *big = form_of_size(600);
  assert_refused(f, fh_enable(f->s, PUSH_JID, "n1", big), "modify/not-acceptable");
  g_free(big);
  /* The bound, not forms as such, is what refuses. */
  char *small = form_of_size(100);
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", small);
  g_free(small);
}

static void enable_form_default_size_bound(void **state) {
  fixture *f = *state;
  char *big = form_of_size(9000);
  assert_refused(f, fh_enable(f->s, PUSH_JID, "n1", big), "modify/not-acceptable");
  g_free(big);
}

static char *form_with_fields(unsigned n) {
  GString *x = g_string_new("<x xmlns='jabber:x:data' type='submit'>");
  for (unsigned i = 0; i < n; i++)
    g_string_append_printf(x, "<field var='f%u'><value>%u</value></field>", i, i);
  g_string_append(x, "</x>");
  return g_string_free(x, FALSE);
}

static void enable_form_too_many_fields(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_form_fields", "3");
  char *many = form_with_fields(4);
  assert_refused(f, fh_enable(f->s, PUSH_JID, "n1", many), "modify/not-acceptable");
  g_free(many);
  char *enough = form_with_fields(3);
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", enough);
  g_free(enough);
}

static void enable_unknown_push_element(void **state) {
  fixture *f = *state;
  assert_refused(f,
                 fh_iq(f->s, "<iq type='set' id='u1'><frobnicate xmlns='urn:xmpp:push:0' "
                             "jid='push.example'/></iq>"),
                 "cancel/feature-not-implemented");
}

static void enable_vetoed_by_filter(void **state) {
  fixture *f = *state;
  f->h.veto_type = "auth";
  f->h.veto_condition = "not-authorized";
  assert_refused(f, fh_enable(f->s, PUSH_JID, "n1", NULL), "auth/not-authorized");
  f->h.veto_type = "modify";
  f->h.veto_condition = "policy-violation";
  assert_refused(f, fh_enable(f->s, PUSH_JID, "n1", NULL), "modify/policy-violation");
  f->h.veto_type = "wait";
  f->h.veto_condition = "resource-constraint";
  assert_refused(f, fh_enable(f->s, PUSH_JID, "n1", NULL), "wait/resource-constraint");
  f->h.veto_type = NULL;
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
}

static void enable_veto_invalid_choice(void **state) {
  fixture *f = *state;
  const char *choices[][2] = {
    { "modify", "made-up-condition" },
    { "bogus", "forbidden" },
    { "cancel", NULL },
    { "cancel", "bad-request xmlns='x'/><injected" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(choices); i++) {
    f->h.veto_type = choices[i][0];
    f->h.veto_condition = choices[i][1];
    assert_refused(f, fh_enable(f->s, PUSH_JID, "n1", NULL), "cancel/not-allowed");
  }
}

static void enable_store_failure(void **state) {
  fixture *f = *state;
  au_store st;
  au_store_init(&st);
  /* The store can only change while no session exists. */
  cloudnotify_session_free(f->s);
  au_use_store(&f->h, &st);
  f->s = au_session(&f->h, ALICE, ALICE_RES);

  st.fail_save = 1;
  assert_refused(f, fh_enable(f->s, PUSH_JID, "n1", NULL), "wait/internal-server-error");
  assert_int_equal(st.records->len, 0);
  assert_int_equal(f->h.removed->len, 0);

  /* A failed replace leaves the previous registration as it was. */
  st.fail_save = 0;
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", FORM_WITH_SECRET("old"));
  st.fail_save = 1;
  fh_clear(&f->h);
  assert_int_equal(fh_enable(f->s, PUSH_JID, "n1", FORM_WITH_SECRET("new")), 0);
  au_assert_last_reply(&f->h, "wait/internal-server-error");
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 1);
  assert_true(au_sent_contains(&f->h, "old"));
  assert_false(au_sent_contains(&f->h, ">new<"));

  cloudnotify_session_free(f->s);
  f->s = NULL;
  cloudnotify_ctx_free(f->h.ctx);
  f->h.ctx = NULL;
  assert_int_equal(st.destroys, 1);
  au_store_fini(&st);
}

/* When the evicted registration cannot be removed from storage the new
 * one is refused and memory keeps the old set. */
static void enable_eviction_store_failure(void **state) {
  fixture *f = *state;
  au_store st;
  au_store_init(&st);
  cloudnotify_session_free(f->s);
  au_use_store(&f->h, &st);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_set(&f->h, "push_max_devices", "1");
  au_enable_device(&f->h, f->s, "a.example", NULL, NULL);
  st.fail_remove = 1;
  fh_clear(&f->h);
  assert_int_equal(cloudnotify_session_set_client_id(f->s, "dev:b"), 0);
  assert_int_equal(fh_enable(f->s, "b.example", NULL, NULL), 0);
  au_assert_last_reply(&f->h, "wait/internal-server-error");
  st.fail_remove = 0;
  fh_clear(&f->h);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(au_publishes_to(&f->h, "a.example", NULL), 1);
  assert_int_equal(f->h.removed->len, 0);

  cloudnotify_session_free(f->s);
  f->s = NULL;
  cloudnotify_ctx_free(f->h.ctx);
  f->h.ctx = NULL;
  au_store_fini(&st);
}

/* The host failing to send the reply does not undo the enable. */
static void enable_reply_send_failure(void **state) {
  fixture *f = *state;
  f->h.send_result = -1;
  assert_int_equal(fh_enable(f->s, PUSH_JID, "n1", NULL), CLOUDNOTIFY_ERR_SEND);
  assert_int_equal(f->h.sent->len, 1);
  au_assert_last_reply(&f->h, "result");
  f->h.send_result = 0;
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 1);
  f->h.send_result = -1;
  assert_int_equal(fh_disable(f->s, PUSH_JID, NULL), CLOUDNOTIFY_ERR_SEND);
  f->h.send_result = 0;
  assert_int_equal(f->h.removed->len, 1);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 0);
}

/* ---- not for us ----------------------------------------------------------- */

static void iq_result_and_error_not_mine(void **state) {
  fixture *f = *state;
  const char *iqs[] = {
    "<iq type='result' id='r1'><enable xmlns='urn:xmpp:push:0' jid='push.example'/></iq>",
    "<iq type='error' id='r2'><enable xmlns='urn:xmpp:push:0' jid='push.example'/>"
    "<error type='cancel'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
    "</iq>",
    "<iq type='result' id='r3'/>",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(iqs); i++)
    assert_int_equal(fh_iq(f->s, iqs[i]), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(f->h.sent->len, 0);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 0);
}

static void non_push_iq_not_mine(void **state) {
  fixture *f = *state;
  const char *iqs[] = {
    "<iq type='get' id='v1'><query xmlns='jabber:iq:version'/></iq>",
    "<iq type='set' id='v2'><enable xmlns='urn:xmpp:push:1' jid='push.example'/></iq>",
    "<iq type='set' id='v3'><enable jid='push.example'/></iq>",
    "<message type='chat'><enable xmlns='urn:xmpp:push:0' jid='push.example'/></message>",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(iqs); i++)
    assert_int_equal(fh_iq(f->s, iqs[i]), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(f->h.sent->len, 0);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 0);
}

static void malformed_xml_no_reply(void **state) {
  fixture *f = *state;
  const char *bad[] = {
    "<iq type='set' id='x1'><enable xmlns='urn:xmpp:push:0' jid='push.example'>",
    "<iq type='set' id='x2'><enable xmlns='urn:xmpp:push:0' jid='push.example'/></iq><iq/>",
    "<iq xmlns='urn:example:other' type='set' id='x3'><enable xmlns='urn:xmpp:push:0' "
    "jid='push.example'/></iq>",
    "<!DOCTYPE iq><iq type='set' id='x4'><enable xmlns='urn:xmpp:push:0' "
    "jid='push.example'/></iq>",
    "",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    assert_int_equal(fh_iq(f->s, bad[i]), CLOUDNOTIFY_ERR_XML);
  assert_int_equal(f->h.sent->len, 0);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 0);
}

/* ---- device limit --------------------------------------------------------- */

static void device_limit_evicts_least_recent(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_devices", "2");
  au_enable_device(&f->h, f->s, "a.example", "na", NULL);
  f->h.now += 1000;
  au_enable_device(&f->h, f->s, "b.example", "nb", NULL);
  assert_int_equal(f->h.removed->len, 0);
  f->h.now += 1000;
  au_enable_device(&f->h, f->s, "c.example", "nc", NULL);
  assert_int_equal(f->h.removed->len, 1);
  const fh_removed *r = au_removed(&f->h, 0);
  assert_string_equal(r->account, ALICE);
  assert_string_equal(r->jid, "a.example");
  assert_string_equal(r->node, "na");
  assert_int_equal(r->reason, CLOUDNOTIFY_REMOVED_EVICTED);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 2);
  assert_int_equal(au_publishes_to(&f->h, "a.example", "na"), 0);
  assert_int_equal(au_publishes_to(&f->h, "b.example", "nb"), 1);
  assert_int_equal(au_publishes_to(&f->h, "c.example", "nc"), 1);
  assert_int_equal(au_ping(&f->h, ALICE), 2);
  assert_int_equal(au_publishes_to(&f->h, "a.example", "na"), 0);
}

/* A limit lowered while the user's registrations are cached holds from
 * the next enable on, not only after a reload. */
static void device_limit_lowered_at_run_time(void **state) {
  fixture *f = *state;
  const char *jids[] = { "a.example", "b.example", "c.example", "d.example" };
  for (size_t i = 0; i < G_N_ELEMENTS(jids); i++)
    au_enable_device(&f->h, f->s, jids[i], NULL, NULL);
  au_set(&f->h, "push_max_devices", "2");
  au_enable_device(&f->h, f->s, "e.example", NULL, NULL);
  assert_int_equal(f->h.removed->len, 3);
  for (unsigned i = 0; i < 3; i++) {
    assert_string_equal(au_removed(&f->h, i)->jid, jids[i]);
    assert_int_equal(au_removed(&f->h, i)->reason, CLOUDNOTIFY_REMOVED_EVICTED);
  }
  fh_clear(&f->h);
  assert_int_equal(au_ping(&f->h, ALICE), 2);
  assert_int_equal(au_publishes_to(&f->h, "d.example", NULL), 1);
  assert_int_equal(au_publishes_to(&f->h, "e.example", NULL), 1);
}

/* The store refusing the second of several evictions: the one it did
 * remove is gone from memory as well, the new registration is refused. */
static void device_limit_lowered_partial_store_failure(void **state) {
  fixture *f = *state;
  au_store st;
  au_store_init(&st);
  cloudnotify_session_free(f->s);
  au_use_store(&f->h, &st);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  const char *jids[] = { "a.example", "b.example", "c.example", "d.example" };
  for (size_t i = 0; i < G_N_ELEMENTS(jids); i++)
    au_enable_device(&f->h, f->s, jids[i], NULL, NULL);
  au_set(&f->h, "push_max_devices", "2");
  st.fail_remove_after = 1;
  fh_clear(&f->h);
  assert_int_equal(cloudnotify_session_set_client_id(f->s, "dev:e"), 0);
  assert_int_equal(fh_enable(f->s, "e.example", NULL, NULL), 0);
  au_assert_last_reply(&f->h, "wait/internal-server-error");
  assert_int_equal(f->h.removed->len, 1);
  assert_string_equal(au_removed(&f->h, 0)->jid, "a.example");
  assert_int_equal(au_store_find(&st, ALICE, "a.example", NULL), -1);
  st.fail_remove_after = 0;
  fh_clear(&f->h);
  assert_int_equal(au_ping(&f->h, ALICE), 3);
  assert_int_equal(au_publishes_to(&f->h, "e.example", NULL), 0);
  assert_int_equal(au_publishes_to(&f->h, "a.example", NULL), 0);

  cloudnotify_session_free(f->s);
  f->s = NULL;
  cloudnotify_ctx_free(f->h.ctx);
  f->h.ctx = NULL;
  au_store_fini(&st);
}

/* A fresh context over a store: the restart of a server. */
static cloudnotify_session *restart(fake_host *h, au_store *st, int64_t now) {
  fh_init(h);
  h->now = now;
  au_use_store(h, st);
  au_set(h, "push_max_devices", "2");
  return au_session(h, ALICE, ALICE_RES);
}

static void stop(fake_host *h, cloudnotify_session *s) {
  cloudnotify_session_free(s);
  fh_fini(h);
}

static void device_limit_order_survives_restart(void **state) {
  (void)state;
  au_store st;
  au_store_init(&st);
  fake_host h;

  /* Enabled in the order a, b; the clock standing still must not matter. */
  cloudnotify_session *s = restart(&h, &st, 1700000000000);
  au_enable_device(&h, s, "a.example", NULL, NULL);
  au_enable_device(&h, s, "b.example", NULL, NULL);
  stop(&h, s);
  assert_int_equal(st.records->len, 2);
  assert_int_equal(st.destroys, 1);

  /* After the restart c evicts a, the least recently enabled. */
  s = restart(&h, &st, 1700000000000);
  au_enable_device(&h, s, "c.example", NULL, NULL);
  assert_int_equal(h.removed->len, 1);
  assert_string_equal(au_removed(&h, 0)->jid, "a.example");
  assert_int_equal(au_removed(&h, 0)->reason, CLOUDNOTIFY_REMOVED_EVICTED);
  assert_int_equal(au_store_find(&st, ALICE, "a.example", NULL), -1);
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 2);
  assert_int_equal(au_publishes_to(&h, "a.example", NULL), 0);
  stop(&h, s);

  /* Re-enabling the oldest (b) makes it the most recent: d evicts c. */
  s = restart(&h, &st, 1700000000000);
  au_enable_device(&h, s, "b.example", NULL, NULL);
  assert_int_equal(h.removed->len, 0);
  stop(&h, s);
  s = restart(&h, &st, 1700000000000);
  au_enable_device(&h, s, "d.example", NULL, NULL);
  assert_int_equal(h.removed->len, 1);
  assert_string_equal(au_removed(&h, 0)->jid, "c.example");
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 2);
  assert_int_equal(au_publishes_to(&h, "b.example", NULL), 1);
  assert_int_equal(au_publishes_to(&h, "d.example", NULL), 1);
  stop(&h, s);

  assert_int_equal(st.destroys, 4);
  au_store_fini(&st);
}

/* Storage holding more than the limit (the limit was lowered): the most
 * recently enabled survive the load and the rest leave storage too. */
static void load_trims_to_limit(void **state) {
  (void)state;
  au_store st;
  au_store_init(&st);
  fake_host h;
  cloudnotify_session *s = restart(&h, &st, 1700000000000);
  au_set(&h, "push_max_devices", "3");
  au_enable_device(&h, s, "a.example", NULL, NULL);
  au_enable_device(&h, s, "b.example", NULL, NULL);
  au_enable_device(&h, s, "c.example", NULL, NULL);
  stop(&h, s);

  s = restart(&h, &st, 1700000000000);
  assert_int_equal(au_ping(&h, ALICE), 2);
  assert_int_equal(au_publishes_to(&h, "a.example", NULL), 0);
  assert_int_equal(h.removed->len, 1);
  assert_string_equal(au_removed(&h, 0)->jid, "a.example");
  assert_int_equal(au_removed(&h, 0)->reason, CLOUDNOTIFY_REMOVED_EVICTED);
  assert_int_equal(st.records->len, 2);
  assert_int_equal(au_store_find(&st, ALICE, "a.example", NULL), -1);
  stop(&h, s);
  au_store_fini(&st);
}

/* ---- publish-options -------------------------------------------------------- */

static void publish_options_kept(void **state) {
  fixture *f = *state;
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", FORM_WITH_SECRET("s3cr3t &amp; more"));
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "one"), 1);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "two"), 1);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(au_publishes(&f->h), 3);
  for (unsigned i = 0; i < 3; i++) {
    const char *x = fh_publish(&f->h, i)->xml;
    assert_int_equal(au_xpath_count(x, "/iq/ps:pubsub/ps:publish-options/x:x"), 1);
    au_assert_xpath(x, "string(/iq/ps:pubsub/ps:publish-options/x:x/@type)", "submit");
    au_assert_xpath(
        x, "string(/iq/ps:pubsub/ps:publish-options/x:x/x:field[@var='FORM_TYPE']/x:value)",
        "http://jabber.org/protocol/pubsub#publish-options");
    au_assert_xpath(x,
                    "string(/iq/ps:pubsub/ps:publish-options/x:x/x:field[@var='secret']/x:value)",
                    "s3cr3t & more");
  }
}

static void no_form_no_publish_options(void **state) {
  fixture *f = *state;
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "one"), 1);
  assert_int_equal(au_xpath_count(fh_publish(&f->h, 0)->xml, "//ps:publish-options"), 0);
}

/* ---- disable ------------------------------------------------------------------ */

static void enable_three(fixture *f) {
  au_enable_device(&f->h, f->s, PUSH_JID, "n1", NULL);
  au_enable_device(&f->h, f->s, PUSH_JID, "n2", NULL);
  au_enable_device(&f->h, f->s, OTHER_PUSH_JID, "n1", NULL);
  fh_clear(&f->h);
}

static void disable_missing_jid(void **state) {
  fixture *f = *state;
  enable_three(f);
  assert_int_equal(fh_disable(f->s, NULL, "n1"), 0);
  au_assert_last_reply(&f->h, "modify/bad-request");
  assert_int_equal(f->h.removed->len, 0);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 3);
}

static void disable_jid_removes_every_node(void **state) {
  fixture *f = *state;
  enable_three(f);
  assert_int_equal(fh_disable(f->s, PUSH_JID, NULL), 0);
  au_assert_last_reply(&f->h, "result");
  assert_int_equal(au_xpath_count(fh_last(&f->h)->xml, "/iq/node()"), 0);
  assert_int_equal(f->h.removed->len, 2);
  for (unsigned i = 0; i < 2; i++) {
    const fh_removed *r = au_removed(&f->h, i);
    assert_string_equal(r->account, ALICE);
    assert_string_equal(r->jid, PUSH_JID);
    assert_int_equal(r->reason, CLOUDNOTIFY_REMOVED_DISABLED);
  }
  assert_string_not_equal(au_removed(&f->h, 0)->node, au_removed(&f->h, 1)->node);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 1);
  assert_int_equal(au_publishes_to(&f->h, OTHER_PUSH_JID, "n1"), 1);
}

static void disable_jid_and_node_removes_one(void **state) {
  fixture *f = *state;
  enable_three(f);
  assert_int_equal(fh_disable(f->s, PUSH_JID, "n1"), 0);
  au_assert_last_reply(&f->h, "result");
  assert_int_equal(f->h.removed->len, 1);
  assert_string_equal(au_removed(&f->h, 0)->jid, PUSH_JID);
  assert_string_equal(au_removed(&f->h, 0)->node, "n1");
  assert_int_equal(au_removed(&f->h, 0)->reason, CLOUDNOTIFY_REMOVED_DISABLED);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 2);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 0);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n2"), 1);
  assert_int_equal(au_publishes_to(&f->h, OTHER_PUSH_JID, "n1"), 1);
}

static void disable_unknown_is_empty_result(void **state) {
  fixture *f = *state;
  assert_int_equal(fh_disable(f->s, PUSH_JID, NULL), 0);
  au_assert_last_reply(&f->h, "result");
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  fh_clear(&f->h);
  assert_int_equal(fh_disable(f->s, PUSH_JID, "other-node"), 0);
  au_assert_last_reply(&f->h, "result");
  assert_int_equal(fh_disable(f->s, "never.example", NULL), 0);
  au_assert_last_reply(&f->h, "result");
  assert_int_equal(f->h.removed->len, 0);
  assert_int_equal(fh_disable(f->s, PUSH_JID, "n1"), 0);
  assert_int_equal(fh_disable(f->s, PUSH_JID, "n1"), 0);
  au_assert_last_reply(&f->h, "result");
  assert_int_equal(f->h.removed->len, 1);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 0);
  assert_int_equal(au_ping(&f->h, ALICE), 0);
  assert_int_equal(au_publishes(&f->h), 0);
}

/* A disabled registration no longer belongs to the session that enabled
 * it: hibernating that session pushes nothing and asks for no extended
 * timeout, while a session still enabled does both. */
static void disable_unbinds_session(void **state) {
  fixture *f = *state;
  cloudnotify_session *t = au_session(&f->h, ALICE, "other");
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  au_enable_ok(&f->h, t, OTHER_PUSH_JID, "n1", NULL);
  assert_int_equal(fh_disable(f->s, PUSH_JID, "n1"), 0);
  au_assert_last_reply(&f->h, "result");
  fh_clear(&f->h);
  char *m = fh_message(ALICE, "q1", "queued");
  cloudnotify_buf q = { m, strlen(m) };
  assert_int_equal(cloudnotify_session_hibernated(f->s, &q, 1), 0);
  assert_int_equal(au_publishes(&f->h), 0);
  assert_int_equal(f->h.hib->len, 0);
  assert_int_equal(cloudnotify_session_hibernated(t, &q, 1), 0);
  assert_int_equal(au_publishes_to(&f->h, OTHER_PUSH_JID, "n1"), 1);
  assert_true(f->h.hib->len >= 1);
  assert_ptr_equal(((fh_hib *)f->h.hib->pdata[0])->session, t);
  assert_int_equal(((fh_hib *)f->h.hib->pdata[0])->seconds, 259200);
  g_free(m);
  cloudnotify_session_free(t);
}

/* Disabling from one session a registration bound to another, which is
 * hibernated on the extended timeout, sends that one back to its normal
 * timeout: nothing will wake the device for it any more. */
static void disable_ends_extended_hibernation(void **state) {
  fixture *f = *state;
  cloudnotify_session *t = au_session(&f->h, ALICE, "phone");
  au_enable_ok(&f->h, t, PUSH_JID, "n1", NULL);
  assert_int_equal(cloudnotify_session_hibernated(t, NULL, 0), 0);
  assert_int_equal(f->h.hib->len, 1);
  assert_int_equal(((fh_hib *)f->h.hib->pdata[0])->seconds, 259200);
  assert_int_equal(fh_disable(f->s, PUSH_JID, NULL), 0);
  au_assert_last_reply(&f->h, "result");
  assert_int_equal(f->h.hib->len, 2);
  assert_ptr_equal(((fh_hib *)f->h.hib->pdata[1])->session, t);
  assert_int_equal(((fh_hib *)f->h.hib->pdata[1])->seconds, -1);
  fh_clear(&f->h);
  char *m = fh_message(ALICE, "late", "hi");
  assert_int_equal(cloudnotify_session_queued(t, m, strlen(m)), 0);
  g_free(m);
  f->h.now += 5000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 0);
  cloudnotify_session_free(t);
}

/* ---- session binding ------------------------------------------------------------ */

static void enable_binds_to_session(void **state) {
  fixture *f = *state;
  cloudnotify_session *idle = au_session(&f->h, ALICE, "idle");
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  fh_clear(&f->h);
  char *m1 = fh_message(ALICE, "arch-1", "first");
  unsigned n = 99;
  assert_int_equal(cloudnotify_message_archived(f->h.ctx, ALICE, m1, strlen(m1), "A1", &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(au_publishes(&f->h), 0);

  cloudnotify_session_free(f->s);
  f->s = NULL;
  char *m2 = fh_message(ALICE, "arch-2", "second");
  assert_int_equal(cloudnotify_message_archived(f->h.ctx, ALICE, m2, strlen(m2), "A2", &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 1);
  /* The first message was never pushed, so it may still be. */
  assert_int_equal(cloudnotify_message_archived(f->h.ctx, ALICE, m1, strlen(m1), "A1", &n), 0);
  assert_int_equal(n, 1);
  g_free(m1);
  g_free(m2);
  cloudnotify_session_free(idle);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    T(enable_new_gives_empty_result),
    T(enable_same_key_replaces),
    T(enable_replace_becomes_most_recent),
    T(enable_missing_jid),
    T(enable_malformed_jid),
    T(enable_own_jid),
    T(enable_to_other_account_forbidden),
    T(enable_to_own_bare_or_absent_accepted),
    T(enable_two_forms),
    T(enable_form_over_size),
    T(enable_form_default_size_bound),
    T(enable_form_too_many_fields),
    T(enable_unknown_push_element),
    T(enable_vetoed_by_filter),
    T(enable_veto_invalid_choice),
    T(enable_store_failure),
    T(enable_eviction_store_failure),
    T(enable_reply_send_failure),
    T(iq_result_and_error_not_mine),
    T(non_push_iq_not_mine),
    T(malformed_xml_no_reply),
    T(device_limit_evicts_least_recent),
    T(device_limit_lowered_at_run_time),
    T(device_limit_lowered_partial_store_failure),
    cmocka_unit_test(device_limit_order_survives_restart),
    cmocka_unit_test(load_trims_to_limit),
    T(publish_options_kept),
    T(no_form_no_publish_options),
    T(disable_missing_jid),
    T(disable_jid_removes_every_node),
    T(disable_jid_and_node_removes_one),
    T(disable_unknown_is_empty_result),
    T(disable_unbinds_session),
    T(disable_ends_extended_hibernation),
    T(enable_binds_to_session),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
