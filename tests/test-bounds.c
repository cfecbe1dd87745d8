/* Every resource bound at the bound, with a small configured value: at
 * the bound the input is taken, one over it the documented thing
 * happens.  Then two floods that show memory stays flat while the
 * bounds do their work.  CN_FLOOD_COUNT overrides the flood size (100000)
 * for slow runs such as valgrind. */
#include "api-util.h"

#include "ctx.h" /* the cache's LRU list, for the pinned-users test */

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  fake_host h;
  au_store st;
} fixture;

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  fh_init(&f->h);
  au_store_init(&f->st);
  au_use_store(&f->h, &f->st);
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

static char *publish_id(const fake_host *h, unsigned n) {
  const fh_sent *p = fh_publish(h, n);
  assert_non_null(p);
  return fh_attr(p->xml, "id");
}

static int reply(fake_host *h, const char *id, const char *from) {
  char *x = g_strdup_printf("<iq type='result' id='%s' from='%s'/>", id, from);
  int rc = cloudnotify_handle_app_reply(h->ctx, x, strlen(x));
  g_free(x);
  return rc;
}

/* ---- push_max_devices --------------------------------------------------------- */

static void max_devices_at_bound(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_devices", "2");
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_device(&f->h, s, PUSH_JID, "a", NULL);
  f->h.now++;
  au_enable_device(&f->h, s, PUSH_JID, "b", NULL);
  /* At the bound: both kept. */
  assert_int_equal(f->h.removed->len, 0);
  assert_int_equal(f->st.records->len, 2);
  fh_clear(&f->h);
  assert_int_equal(au_ping(&f->h, ALICE), 2);
  /* Replacing one at the bound is not one more. */
  f->h.now++;
  au_enable_device(&f->h, s, PUSH_JID, "a", NULL);
  assert_int_equal(f->h.removed->len, 0);
  assert_int_equal(f->st.records->len, 2);
  /* One over: the least recently enabled ("b" now) goes. */
  f->h.now++;
  au_enable_device(&f->h, s, PUSH_JID, "c", NULL);
  assert_int_equal(f->h.removed->len, 1);
  assert_string_equal(au_removed(&f->h, 0)->node, "b");
  assert_int_equal(au_removed(&f->h, 0)->reason, CLOUDNOTIFY_REMOVED_EVICTED);
  assert_int_equal(f->st.records->len, 2);
  assert_true(au_store_find(&f->st, ALICE, PUSH_JID, "b") < 0);
  fh_clear(&f->h);
  assert_int_equal(au_ping(&f->h, ALICE), 2);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "a"), 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "c"), 1);
  cloudnotify_session_free(s);
}

/* ---- push_max_cached_users ---------------------------------------------------- */

static void store_registration(fixture *f, const char *account) {
  cloudnotify_record rec = { .jid = PUSH_JID, .node = account, .enabled_at_ms = 1 };
  assert_int_equal(au_store_save(&f->st, account, &rec), 0);
}

/* Loads an offline message to account caused (and it pushed once). */
static unsigned loads_for(fixture *f, const char *account) {
  unsigned before = f->st.loads;
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, account, "hi"), 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, account), 1);
  return f->st.loads - before;
}

static void max_cached_users_at_bound(void **state) {
  fixture *f = *state;
  const char *users[] = { "u1@capulet.example", "u2@capulet.example", "u3@capulet.example",
                          "u4@capulet.example" };
  for (size_t i = 0; i < G_N_ELEMENTS(users); i++)
    store_registration(f, users[i]);
  au_set(&f->h, "push_max_cached_users", "2");
  for (size_t i = 0; i < G_N_ELEMENTS(users); i++)
    assert_int_equal(loads_for(f, users[i]), 1);
  /* The two most recent are cached: no load. */
  assert_int_equal(loads_for(f, users[3]), 0);
  assert_int_equal(loads_for(f, users[2]), 0);
  /* Beyond the cache: reloaded from the store, and still pushed. */
  assert_int_equal(loads_for(f, users[0]), 1);
  assert_int_equal(loads_for(f, users[1]), 1);
  assert_int_equal(loads_for(f, users[2]), 1);

  /* A user with a session stays cached whatever the traffic. */
  cloudnotify_session *s = au_session(&f->h, users[0], "phone");
  assert_int_equal(fh_disable(s, "nothing.example", NULL), 0); /* attaches the session */
  for (int round = 0; round < 3; round++)
    for (size_t i = 1; i < G_N_ELEMENTS(users); i++)
      loads_for(f, users[i]);
  assert_int_equal(loads_for(f, users[0]), 0);
  /* Its registrations are the ones in memory: the session's enable is
   * pushed without any store round trip. */
  unsigned loads = f->st.loads;
  au_enable_ok(&f->h, s, OTHER_PUSH_JID, NULL, NULL);
  fh_clear(&f->h);
  assert_int_equal(au_ping(&f->h, users[0]), 2);
  assert_int_equal(f->st.loads, loads);
  /* Closed: it becomes evictable again. */
  cloudnotify_session_free(s);
  loads_for(f, users[1]);
  loads_for(f, users[2]);
  loads = f->st.loads;
  fh_clear(&f->h);
  assert_int_equal(au_ping(&f->h, users[0]), 2);
  assert_int_equal(f->st.loads, loads + 1);
}

/* Sessions pin their accounts in the cache beyond its bound.  Pinned
 * accounts leave the LRU list, so that a load past the bound does not
 * walk every one of them (each load cost all online users before), and
 * come back to it, evictable, when their last session goes. */
static void pinned_users_leave_the_lru(void **state) {
  fixture *f = *state;
  cloudnotify_ctx *ctx = f->h.ctx;
  au_set(&f->h, "push_max_cached_users", "2");
  enum { N = 40 };
  cloudnotify_session *s[N];
  for (unsigned i = 0; i < N; i++) {
    char *account = g_strdup_printf("p%u@capulet.example", i);
    s[i] = au_session(&f->h, account, "phone");
    au_enable_ok(&f->h, s[i], PUSH_JID, account, NULL);
    g_free(account);
  }
  assert_int_equal(g_hash_table_size(ctx->users), N);
  assert_in_range(ctx->user_lru.length, 0, 2);
  /* An account loaded past the bound is cached and pushed; the pinned
   * ones stay. */
  store_registration(f, "other@capulet.example");
  assert_int_equal(loads_for(f, "other@capulet.example"), 1);
  assert_in_range(g_hash_table_size(ctx->users), N, N + 1);
  for (unsigned i = 0; i < N; i++)
    cloudnotify_session_free(s[i]);
  assert_in_range(g_hash_table_size(ctx->users), 0, 2);
  assert_int_equal(ctx->user_lru.length, g_hash_table_size(ctx->users));
}

/* ---- push_max_outstanding ----------------------------------------------------- */

static void max_outstanding_at_bound(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_outstanding", "3");
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, s, PUSH_JID, NULL, NULL);
  cloudnotify_session_free(s);
  /* At the bound: three awaited, all three answers taken. */
  fh_clear(&f->h);
  for (int i = 0; i < 3; i++)
    assert_int_equal(au_offline_msg(&f->h, ALICE, "m"), 1);
  for (unsigned i = 0; i < 3; i++) {
    char *id = publish_id(&f->h, i);
    assert_int_equal(reply(&f->h, id, PUSH_JID), 0);
    g_free(id);
  }
  /* One over: the oldest is forgotten, the others still awaited. */
  fh_clear(&f->h);
  for (int i = 0; i < 4; i++)
    assert_int_equal(au_offline_msg(&f->h, ALICE, "m"), 1);
  char *oldest = publish_id(&f->h, 0);
  assert_int_equal(reply(&f->h, oldest, PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
  g_free(oldest);
  for (unsigned i = 1; i < 4; i++) {
    char *id = publish_id(&f->h, i);
    assert_int_equal(reply(&f->h, id, PUSH_JID), 0);
    g_free(id);
  }
}

/* ---- push_max_session_queue --------------------------------------------------- */

static char *numbered(unsigned i) {
  char id[16], body[16];
  g_snprintf(id, sizeof id, "q-%u", i);
  g_snprintf(body, sizeof body, "m%u", i);
  return fh_message(ALICE, id, body);
}

static const char *hibernated_queue_push(fixture *f, cloudnotify_session *s, unsigned n,
                                         unsigned base) {
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  fh_clear(&f->h);
  for (unsigned i = 1; i <= n; i++) {
    char *m = numbered(base + i);
    assert_int_equal(cloudnotify_session_queued(s, m, strlen(m)), 0);
    g_free(m);
  }
  assert_int_equal(f->h.sent->len, 0);
  f->h.now += 1000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  assert_int_equal(cloudnotify_session_resumed(s), 0);
  return fh_publish(&f->h, 0)->xml;
}

static void max_session_queue_at_bound(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_session_queue", "3");
  au_set(&f->h, "push_notification_with_body", "true");
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, s, PUSH_JID, NULL, NULL);
  /* The push is for the oldest stanza still queued. At the bound: the
   * first. */
  au_assert_summary_field(hibernated_queue_push(f, s, 3, 0), "last-message-body", "m1");
  /* Two over: one push still, the two oldest dropped. */
  au_assert_summary_field(hibernated_queue_push(f, s, 5, 10), "last-message-body", "m13");

  /* The live queue kept for the ack-delay push has the same bound. */
  fh_clear(&f->h);
  for (unsigned i = 1; i <= 5; i++) {
    char *m = numbered(20 + i);
    assert_int_equal(cloudnotify_session_queued(s, m, strlen(m)), 0);
    g_free(m);
  }
  assert_int_equal(cloudnotify_session_ack_delayed(s, NULL, 0), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "m23");
  cloudnotify_session_free(s);
}

/* A lowered push_max_session_queue applies to stanzas already queued, as
 * the cache, outstanding and remembered bounds do. */
static void max_session_queue_lowered(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_notification_with_body", "true");
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, s, PUSH_JID, NULL, NULL);
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  fh_clear(&f->h);
  for (unsigned i = 1; i <= 10; i++) {
    char *m = numbered(i);
    assert_int_equal(cloudnotify_session_queued(s, m, strlen(m)), 0);
    g_free(m);
  }
  au_set(&f->h, "push_max_session_queue", "3");
  char *m = numbered(11);
  assert_int_equal(cloudnotify_session_queued(s, m, strlen(m)), 0);
  g_free(m);
  f->h.now += 1000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "m9");
  cloudnotify_session_free(s);
}

/* ---- push_max_remembered_stanzas ---------------------------------------------- */

static unsigned deliver(fixture *f, unsigned i) {
  char id[16];
  g_snprintf(id, sizeof id, "r-%u", i);
  char *m = fh_message(ALICE, id, "hi");
  unsigned n = au_offline(&f->h, ALICE, m);
  g_free(m);
  return n;
}

static void max_remembered_at_bound(void **state) {
  fixture *f = *state;
  /* Each of these stanzas has one identity (its id; no stanza-id), and
   * there is one registration: one remembered entry per stanza. */
  au_set(&f->h, "push_max_remembered_stanzas", "4");
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, s, PUSH_JID, NULL, NULL);
  cloudnotify_session_free(s);
  for (unsigned i = 1; i <= 4; i++)
    assert_int_equal(deliver(f, i), 1);
  /* At the bound: all four remembered. */
  for (unsigned i = 1; i <= 4; i++)
    assert_int_equal(deliver(f, i), 0);
  /* One more: the oldest leaves the memory and may push again; the
   * others are still remembered. */
  assert_int_equal(deliver(f, 5), 1);
  for (unsigned i = 2; i <= 5; i++)
    assert_int_equal(deliver(f, i), 0);
  assert_int_equal(deliver(f, 1), 1);
  /* 0 remembers nothing. */
  au_set(&f->h, "push_max_remembered_stanzas", "0");
  assert_int_equal(deliver(f, 6), 1);
  assert_int_equal(deliver(f, 6), 1);
}

/* ---- publish-options form bounds ---------------------------------------------- */

/* A form whose serialisation is itself (canonical spelling), exactly len
 * bytes with fields fields (FORM_TYPE included). */
static char *form_of(size_t len, unsigned fields) {
  GString *x = g_string_new("<x xmlns='jabber:x:data' type='submit'>"
                            "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub"
                            "#publish-options</value></field>");
  for (unsigned i = 1; i < fields; i++)
    g_string_append_printf(x, "<field var='f%u'><value>v</value></field>", i);
  const char *tail = "</x>";
  assert_true(x->len + strlen(tail) <= len);
  /* Pad the last value: it is text, so serialised unchanged. */
  if (x->len + strlen(tail) < len) {
    g_string_truncate(x, x->len - strlen("</value></field>"));
    size_t pad = len - x->len - strlen("</value></field>") - strlen(tail);
    for (size_t i = 0; i < pad; i++)
      g_string_append_c(x, 'p');
    g_string_append(x, "</value></field>");
  }
  g_string_append(x, tail);
  assert_int_equal(x->len, len);
  return g_string_free(x, FALSE);
}

static void enable_form(fixture *f, cloudnotify_session *s, const char *node, const char *form,
                        const char *outcome) {
  unsigned saves = f->st.saves;
  fh_clear(&f->h);
  assert_int_equal(fh_enable(s, PUSH_JID, node, form), 0);
  au_assert_last_reply(&f->h, outcome);
  assert_int_equal(f->st.saves, saves + !strcmp(outcome, "result"));
}

static void form_size_at_bound(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_form_size", "300");
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  char *at = form_of(300, 2), *over = form_of(301, 2);
  enable_form(f, s, "at", at, "result");
  /* The bound applies to what is stored and sent: the form verbatim. */
  fh_clear(&f->h);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  char *sent = g_strconcat("<publish-options>", at, "</publish-options>", NULL);
  assert_true(au_sent_contains(&f->h, sent));
  g_free(sent);
  enable_form(f, s, "over", over, "modify/not-acceptable");
  g_free(at);
  g_free(over);
  /* Stored forms are held to the same bound when loaded: the one at the
   * bound loads again. */
  cloudnotify_session_free(s);
  assert_int_equal(cloudnotify_ctx_set_store(f->h.ctx, NULL, NULL), 0);
  au_use_store(&f->h, &f->st);
  fh_clear(&f->h);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
}

static void form_fields_at_bound(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_form_fields", "3");
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  char *at = form_of(400, 3), *over = form_of(400, 4);
  enable_form(f, s, "at", at, "result");
  enable_form(f, s, "over", over, "modify/not-acceptable");
  g_free(at);
  g_free(over);
  cloudnotify_session_free(s);
}

/* A stored form is judged again at every load by the bounds in force
 * then: the loader remembers the last form it validated (a store repeats
 * a few forms in every registration), and that memory must not outlive
 * a change of the bounds it was judged by. */
static void stored_form_judged_by_current_bounds(void **state) {
  fixture *f = *state;
  char *form = form_of(400, 3);
  cloudnotify_record rec = { .jid = PUSH_JID,
                             .node = "n",
                             .publish_options = form,
                             .publish_options_len = strlen(form),
                             .enabled_at_ms = 1 };
  assert_int_equal(au_store_save(&f->st, ALICE, &rec), 0);
  const char *bounds[] = { "3", "2", "3" };
  const unsigned pushed[] = { 1, 0, 1 };
  for (size_t i = 0; i < G_N_ELEMENTS(bounds); i++) {
    au_set(&f->h, "push_max_form_fields", bounds[i]);
    /* A new store empties the cache: the next event loads again. */
    assert_int_equal(cloudnotify_ctx_set_store(f->h.ctx, NULL, NULL), 0);
    au_use_store(&f->h, &f->st);
    fh_clear(&f->h);
    assert_int_equal(au_ping(&f->h, ALICE), pushed[i]);
  }
  g_free(form);
}

/* ---- stanza size and depth ------------------------------------------------------ */

/* A message of exactly len bytes. */
static char *message_of(size_t len, const char *id) {
  GString *x = g_string_new(NULL);
  g_string_printf(x,
                  "<message type='chat' from='romeo@montague.example/o' to='" ALICE "' "
                  "id='%s'><body>",
                  id);
  const char *tail = "</body></message>";
  assert_true(x->len + strlen(tail) < len);
  while (x->len + strlen(tail) < len)
    g_string_append_c(x, 'b');
  g_string_append(x, tail);
  assert_int_equal(x->len, len);
  return g_string_free(x, FALSE);
}

static void stanza_size_at_bound(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_stanza_size", "512");
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, s, PUSH_JID, NULL, NULL);
  cloudnotify_session_free(s);
  s = NULL;

  /* Triggers. */
  char *at = message_of(512, "s1"), *over = message_of(513, "s2");
  fh_clear(&f->h);
  assert_int_equal(au_offline(&f->h, ALICE, at), 1);
  unsigned n = 12345;
  assert_int_equal(cloudnotify_message_offline(f->h.ctx, ALICE, over, strlen(over), &n),
                   CLOUDNOTIFY_ERR_TOO_LARGE);
  assert_int_equal(n, 0);
  assert_int_equal(au_publishes(&f->h), 1);
  g_free(at);
  g_free(over);

  /* App-server replies: one byte over is refused and the publish stays
   * awaited; at the bound it is taken. */
  char *id = publish_id(&f->h, 0);
  GString *r = g_string_new(NULL);
  g_string_printf(r, "<iq type='result' id='%s' from='" PUSH_JID "' x='", id);
  while (r->len + 3 < 513)
    g_string_append_c(r, 'p');
  g_string_append(r, "'/>");
  assert_int_equal(r->len, 513);
  assert_int_equal(cloudnotify_handle_app_reply(f->h.ctx, r->str, r->len),
                   CLOUDNOTIFY_ERR_TOO_LARGE);
  g_string_erase(r, r->len - 4, 1);
  assert_int_equal(r->len, 512);
  assert_int_equal(cloudnotify_handle_app_reply(f->h.ctx, r->str, r->len), 0);
  g_string_free(r, TRUE);
  g_free(id);

  /* Client IQs: the node pads the enable to the size wanted. */
  s = au_session(&f->h, ALICE, "other");
  for (size_t len = 512; len <= 513; len++) {
    GString *x = g_string_new("<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' "
                              "jid='" OTHER_PUSH_JID "' node='");
    const char *tail = "'/></iq>";
    while (x->len + strlen(tail) < len)
      g_string_append_c(x, 'n');
    g_string_append(x, tail);
    assert_int_equal(x->len, len);
    fh_clear(&f->h);
    int rc = cloudnotify_handle_client_iq(s, x->str, x->len);
    if (len == 512) {
      assert_int_equal(rc, 0);
      au_assert_last_reply(&f->h, "result");
    } else {
      assert_int_equal(rc, CLOUDNOTIFY_ERR_TOO_LARGE);
      assert_int_equal(f->h.sent->len, 0);
    }
    g_string_free(x, TRUE);
  }
  cloudnotify_session_free(s);
}

/* The top of the option's range is parseable: libxml2 2.9 without
 * XML_PARSE_HUGE refuses text nodes over 10000000 bytes, which is why the
 * range stops there. */
static void stanza_size_upper_range(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_stanza_size", "10000000");
  assert_int_equal(cloudnotify_ctx_set_option(f->h.ctx, "push_max_stanza_size", "10000001"),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, s, PUSH_JID, NULL, NULL);
  cloudnotify_session_free(s);
  char *at = message_of(10000000, "huge");
  fh_clear(&f->h);
  assert_int_equal(au_offline(&f->h, ALICE, at), 1);
  g_free(at);
}

/* A message whose deepest element is at depth (the root is 1); the
 * deepest is empty or not. */
static char *message_deep(int depth, gboolean empty, const char *id) {
  GString *x = g_string_new(NULL);
  g_string_printf(x,
                  "<message type='chat' from='romeo@montague.example/o' to='" ALICE "' "
                  "id='%s'><body>deep</body><x xmlns='urn:example:deep'>",
                  id);
  for (int d = 3; d < depth; d++)
    g_string_append(x, "<a>");
  g_string_append(x, empty ? "<e/>" : "<e>t</e>");
  for (int d = 3; d < depth; d++)
    g_string_append(x, "</a>");
  g_string_append(x, "</x></message>");
  return g_string_free(x, FALSE);
}

static void xml_depth_at_bound(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_xml_depth", "8");
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, s, PUSH_JID, NULL, NULL);
  for (int empty = 0; empty < 2; empty++) {
    char *at = message_deep(8, empty, empty ? "d1" : "d2");
    char *over = message_deep(9, empty, empty ? "d3" : "d4");
    fh_clear(&f->h);
    assert_int_equal(au_offline(&f->h, ALICE, at), 1);
    unsigned n;
    assert_int_equal(cloudnotify_message_offline(f->h.ctx, ALICE, over, strlen(over), &n),
                     CLOUDNOTIFY_ERR_TOO_LARGE);
    assert_int_equal(cloudnotify_session_queued(s, over, strlen(over)), CLOUDNOTIFY_ERR_TOO_LARGE);
    assert_int_equal(cloudnotify_session_queued(s, at, strlen(at)), 0);
    g_free(at);
    g_free(over);
  }
  /* Client IQs: iq, enable, x, field, value, then padding elements. */
  for (int depth = 8; depth <= 9; depth++) {
    GString *x = g_string_new("<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' "
                              "jid='" OTHER_PUSH_JID "'><x xmlns='jabber:x:data' type='submit'>"
                              "<field var='FORM_TYPE'><value>");
    for (int d = 6; d <= depth; d++)
      g_string_append(x, "<i>");
    for (int d = 6; d <= depth; d++)
      g_string_append(x, "</i>");
    g_string_append(x, "</value></field></x></enable></iq>");
    fh_clear(&f->h);
    int rc = cloudnotify_handle_client_iq(s, x->str, x->len);
    if (depth == 8) {
      assert_int_equal(rc, 0);
      au_assert_last_reply(&f->h, "result");
    } else {
      assert_int_equal(rc, CLOUDNOTIFY_ERR_TOO_LARGE);
      assert_int_equal(f->h.sent->len, 0);
    }
    g_string_free(x, TRUE);
  }
  cloudnotify_session_free(s);
}

/* ---- floods -------------------------------------------------------------------- */

#define HEAP_BUDGET (2 * 1024 * 1024)

static unsigned flood_count(void) {
  const char *e = getenv("CN_FLOOD_COUNT");
  unsigned n = e ? (unsigned)strtoul(e, NULL, 10) : 0;
  return n ? n : 100000;
}

/* Bytes the program holds on the heap.  Under valgrind the allocator is
 * replaced and this stays flat whatever happens: there the leak check
 * is what speaks. */
static size_t heap_in_use(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks;
}

typedef struct {
  cloudnotify_ctx *ctx;
  int64_t now;
  unsigned publishes;
  char first_id[40], last_id[40];
  char last_body[32];
} flood_host;

/* Records nothing that grows: a flood must measure the library only. */
static int flood_send(void *ud, cloudnotify_route route, cloudnotify_session *session,
                      const char *account, const char *to, const char *xml, size_t len) {
  flood_host *fh = ud;
  if (route != CLOUDNOTIFY_ROUTE_APP_SERVER)
    return 0;
  const char *id = g_strstr_len(xml, (gssize)len, "id='");
  assert_non_null(id);
  id += 4;
  if (fh->publishes++ == 0)
    g_strlcpy(fh->first_id, id, 33);
  g_strlcpy(fh->last_id, id, 33);
  const char *b = g_strstr_len(xml, (gssize)len, "last-message-body'><value>");
  fh->last_body[0] = '\0';
  if (b) {
    b += strlen("last-message-body'><value>");
    const char *e = strchr(b, '<');
    g_strlcpy(fh->last_body, b, MIN((size_t)(e - b) + 1, sizeof fh->last_body));
  }
  return 0;
}

static int64_t flood_now(void *ud) {
  return ((flood_host *)ud)->now;
}

static void flood_init(flood_host *fh) {
  memset(fh, 0, sizeof *fh);
  fh->now = 1700000000000;
  cloudnotify_callbacks cb = {
    .size = sizeof cb, .send = flood_send, .now_ms = flood_now, .monotonic_ms = flood_now
  };
  assert_int_equal(cloudnotify_ctx_new(&fh->ctx, &cb, fh), 0);
  /* A flood of pushes to one registration is the point here; the rate
   * limits that would thin it are test-gate.c's. */
  assert_int_equal(cloudnotify_ctx_set_option_int(fh->ctx, CLOUDNOTIFY_OPT_VISIBLE_INTERVAL_MS, 0),
                   0);
  assert_int_equal(cloudnotify_ctx_set_option_int(fh->ctx, CLOUDNOTIFY_OPT_SILENT_PER_HOUR, 0), 0);
}

static int flood_reply(flood_host *fh, const char *id) {
  char x[128];
  g_snprintf(x, sizeof x, "<iq type='result' id='%s' from='" PUSH_JID "'/>", id);
  return cloudnotify_handle_app_reply(fh->ctx, x, strlen(x));
}

static void flood_enable(flood_host *fh, cloudnotify_session *s) {
  const char *iq =
      "<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='" PUSH_JID "' node='n'/></iq>";
  assert_int_equal(cloudnotify_handle_client_iq(s, iq, strlen(iq)), 0);
}

static void offline_n(flood_host *fh, unsigned from, unsigned n) {
  char m[256];
  for (unsigned i = from; i < from + n; i++) {
    int len = g_snprintf(m, sizeof m,
                         "<message type='chat' from='romeo@montague.example/o' "
                         "to='" ALICE "' id='f%u'><body>flood %u</body></message>",
                         i, i);
    unsigned pushes = 0;
    assert_int_equal(cloudnotify_message_offline(fh->ctx, ALICE, m, (size_t)len, &pushes), 0);
    if (pushes != 1)
      fail_msg("message %u: %u pushes", i, pushes);
  }
}

/* The app server never answers: the outstanding table is bounded by
 * push_max_outstanding and the de-duplication memory by
 * push_max_remembered_stanzas (defaults), so once both are full the heap
 * stops growing. */
static void flood_offline_unanswered(void **state) {
  (void)state;
  unsigned count = flood_count();
  flood_host fh;
  flood_init(&fh);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(fh.ctx, ALICE, ALICE_RES, &s), 0);
  assert_int_equal(cloudnotify_session_sm_enabled(s), 0);
  flood_enable(&fh, s);
  cloudnotify_session_free(s);

  /* Warm-up past both default bounds (10000 and 4096). */
  const unsigned warm = 12000;
  offline_n(&fh, 0, warm);
  char first[40];
  g_strlcpy(first, fh.first_id, sizeof first);
  size_t before = heap_in_use();
  offline_n(&fh, warm, count);
  size_t after = heap_in_use();
  print_message("  %u publishes, heap %zu -> %zu\n", fh.publishes, before, after);
  assert_int_equal(fh.publishes, warm + count);
  assert_true(after < before + HEAP_BUDGET);
  /* The oldest was forgotten, the newest is still awaited. */
  assert_int_equal(flood_reply(&fh, first), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(flood_reply(&fh, fh.last_id), 0);
  cloudnotify_ctx_free(fh.ctx);
}

/* A peer choosing new element and namespace names in every stanza: the
 * parser interns names, and its dictionary is replaced past a fixed size
 * (xml.c), so the heap stays flat here too; the warm-up fills the
 * outstanding and remembered bounds, as in the flood above. */
static void flood_fresh_names(void **state) {
  (void)state;
  unsigned count = flood_count();
  flood_host fh;
  flood_init(&fh);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(fh.ctx, ALICE, ALICE_RES, &s), 0);
  assert_int_equal(cloudnotify_session_sm_enabled(s), 0);
  flood_enable(&fh, s);
  cloudnotify_session_free(s);
  char m[320];
  const unsigned warm = 12000;
  size_t before = 0;
  for (unsigned i = 0; i < warm + count; i++) {
    if (i == warm)
      before = heap_in_use();
    int len = g_snprintf(m, sizeof m,
                         "<message type='chat' from='romeo@montague.example/o' "
                         "to='" ALICE "' id='n%u'><body>x</body>"
                         "<e%u xmlns='urn:fresh:%u' a%u='v'/></message>",
                         i, i, i, i);
    unsigned pushes = 0;
    assert_int_equal(cloudnotify_message_offline(fh.ctx, ALICE, m, (size_t)len, &pushes), 0);
    assert_int_equal(pushes, 1);
  }
  size_t after = heap_in_use();
  print_message("  %u stanzas with fresh names, heap %zu -> %zu\n", warm + count, before, after);
  assert_true(after < before + HEAP_BUDGET);
  cloudnotify_ctx_free(fh.ctx);
}

/* Stanzas queued while hibernated are coalesced; the pending list is
 * bounded by push_max_session_queue (default), so the heap stays flat and
 * the one push is for the oldest stanza still held. */
static void flood_hibernated_queue(void **state) {
  (void)state;
  unsigned count = flood_count();
  flood_host fh;
  flood_init(&fh);
  assert_int_equal(cloudnotify_ctx_set_option(fh.ctx, "push_notification_with_body", "true"), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(fh.ctx, ALICE, ALICE_RES, &s), 0);
  assert_int_equal(cloudnotify_session_sm_enabled(s), 0);
  flood_enable(&fh, s);
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);

  char m[256];
  const unsigned warm = 3000, queue = 1000;
  size_t before = 0;
  for (unsigned i = 0; i < warm + count; i++) {
    if (i == warm)
      before = heap_in_use();
    int len = g_snprintf(m, sizeof m,
                         "<message type='chat' from='romeo@montague.example/o' "
                         "to='" ALICE "' id='h%u'><body>b%u</body></message>",
                         i, i);
    assert_int_equal(cloudnotify_session_queued(s, m, (size_t)len), 0);
  }
  size_t after = heap_in_use();
  print_message("  %u queued, heap %zu -> %zu\n", warm + count, before, after);
  assert_true(after < before + HEAP_BUDGET);
  /* Nothing went out during the window, one push after it. */
  assert_int_equal(fh.publishes, 0);
  fh.now += 1000;
  assert_int_equal(cloudnotify_tick(fh.ctx), 0);
  assert_int_equal(fh.publishes, 1);
  char want[32];
  g_snprintf(want, sizeof want, "b%u", warm + count - queue);
  assert_string_equal(fh.last_body, want);
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(fh.ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    T(max_devices_at_bound),
    T(max_cached_users_at_bound),
    T(pinned_users_leave_the_lru),
    T(max_outstanding_at_bound),
    T(max_session_queue_at_bound),
    T(max_session_queue_lowered),
    T(max_remembered_at_bound),
    T(form_size_at_bound),
    T(form_fields_at_bound),
    T(stored_form_judged_by_current_bounds),
    T(stanza_size_at_bound),
    T(stanza_size_upper_range),
    T(xml_depth_at_bound),
#undef T
    cmocka_unit_test(flood_offline_unanswered),
    cmocka_unit_test(flood_hibernated_queue),
    cmocka_unit_test(flood_fresh_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
