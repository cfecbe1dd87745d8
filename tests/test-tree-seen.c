/* The early de-duplication of tree triggers (lib/tree-seen.c): a stanza
 * the host reports twice, archive then offline storage, is found already
 * pushed before its tree is converted.  The early path must not change a
 * result: each script below runs with text (which never takes it) and
 * with trees, and every outcome, counter, log line and stanza sent must
 * be the same (early_path_taken shows the tree run does go through it). */
#include "api-util.h"
#include "tree-util.h"

#include "ctx.h"
#include "registry.h"
#include "tree-seen.h"

typedef enum { TEXT, TREE } form;

static tt_host th;

static int trig(fake_host *h, form f, const char *which, const char *xml, const char *aid,
                unsigned *pushes) {
  if (f == TEXT) {
    if (!strcmp(which, "archived"))
      return cloudnotify_message_archived(h->ctx, ALICE, xml, strlen(xml), aid, pushes);
    if (!strcmp(which, "groupchat"))
      return cloudnotify_message_groupchat_bare(h->ctx, ALICE, xml, strlen(xml), pushes);
    return cloudnotify_message_offline(h->ctx, ALICE, xml, strlen(xml), pushes);
  }
  tt_node *n = tt_from_xml(xml, strlen(xml));
  assert_non_null(n);
  cloudnotify_tree t = tt_tree(&th, n);
  int rc;
  if (!strcmp(which, "archived"))
    rc = cloudnotify_message_archived_tree(h->ctx, ALICE, &t, aid, pushes);
  else if (!strcmp(which, "groupchat"))
    rc = cloudnotify_message_groupchat_bare_tree(h->ctx, ALICE, &t, pushes);
  else
    rc = cloudnotify_message_offline_tree(h->ctx, ALICE, &t, pushes);
  tt_free(n);
  return rc;
}

#define FROM    "romeo@montague.example/orchard"
#define SID(id) "<stanza-id xmlns='urn:xmpp:sid:0' by='" ALICE "' id='" id "'/>"
#define MSG(attrs, extra)                                                                          \
  "<message xmlns='jabber:client' type='chat' to='" ALICE "' " attrs "><body>hi</body>" extra      \
  "</message>"

#define CHAT(attrs, inner)                                                                         \
  "<message xmlns='jabber:client' type='chat' to='" ALICE "' " attrs ">" inner "</message>"
#define STATE "<composing xmlns='http://jabber.org/protocol/chatstates'/>"
#define PROPOSE(v, id)                                                                             \
  "<propose xmlns='urn:xmpp:jingle-message:" v "' id='" id "'><description "                       \
  "xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>"

/* Each step: a trigger and the stanza it is given (archived: with the
 * archive id); the two registrations are pushed for unbound sessions. */
static const struct {
  const char *which, *xml, *aid;
} steps[] = {
  /* Archive then offline, as Prosody reports a message to an offline
   * account: the second is de-duplicated for both registrations. */
  { "archived", MSG("from='" FROM "' id='m1'", ""), "A1" },
  { "offline", MSG("from='" FROM "' id='m1'", SID("A1")), NULL },
  { "offline", MSG("from='" FROM "' id='m1'", SID("A1")), NULL },
  /* Same sender and id, another archive id: another stanza, pushed. */
  { "offline", MSG("from='" FROM "' id='m1'", SID("A2")), NULL },
  { "offline", MSG("from='" FROM "' id='m1'", SID("A2")), NULL },
  /* A stanza-id by someone else is not the archive's: the id decides. */
  { "offline",
    MSG("from='" FROM "' id='m1'", "<stanza-id xmlns='urn:xmpp:sid:0' by='x@y.example' "
                                   "id='A9'/>"),
    NULL },
  /* Without stanza-id: a copy known by sender and id matches what the
   * archive's copy left. */
  { "archived", MSG("from='" FROM "' id='m2'", ""), "A3" },
  { "offline", MSG("from='" FROM "' id='m2'", ""), NULL },
  { "offline", MSG("from='" FROM "' id='m2'", ""), NULL },
  { "groupchat", MSG("from='" FROM "' id='m2'", ""), NULL },
  /* Another sender with the same id is another stanza. */
  { "offline", MSG("from='tybalt@capulet.example/x' id='m2'", ""), NULL },
  /* No id: the digest, the full path. */
  { "offline", MSG("from='" FROM "'", "<x xmlns='urn:e'/>"), NULL },
  { "offline", MSG("from='" FROM "'", "<x xmlns='urn:e'/>"), NULL },
  /* The account's own message and a carbon: never counted nor pushed. */
  { "offline", MSG("from='" ALICE "/phone' id='m2'", ""), NULL },
  { "offline", MSG("from='" ALICE "/phone' id='m2'", SID("A1")), NULL },
  { "offline",
    "<message xmlns='jabber:client' to='mercutio@verona.example' id='m1'><body>x</body>" SID(
        "A1") "</message>",
    NULL },
  { "offline",
    "<message xmlns='jabber:client' from='" ALICE "' id='m1'><received "
    "xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message "
    "xmlns='jabber:client' from='" FROM "' id='m1'><body>c</body></message>"
    "</forwarded></received>" SID("A1") "</message>",
    NULL },
  /* A carbon without 'from' is the account's own: a sent one is skipped. */
  { "offline",
    "<message xmlns='jabber:client' to='" ALICE "' id='m1'><sent xmlns='urn:xmpp:carbons:2'>"
    "<forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' to='" FROM "' "
    "id='m1'><body>c</body></message></forwarded></sent>" SID("A1") "</message>",
    NULL },
  /* More attributes on one element than the check follows: full path. */
  { "offline",
    MSG("from='" FROM "' id='m1'",
        SID("A1") "<x xmlns='urn:e' a0='v' a1='v' a2='v' a3='v' a4='v' a5='v' a6='v' a7='v' a8='v' "
                  "a9='v' a10='v' a11='v' a12='v' a13='v' a14='v' a15='v' a16='v' a17='v' a18='v' "
                  "a19='v' a20='v' a21='v' a22='v' a23='v' a24='v' a25='v' a26='v' a27='v' a28='v' "
                  "a29='v' a30='v' a31='v' a32='v' a33='v' a34='v' a35='v' a36='v' a37='v' a38='v' "
                  "a39='v'/>"),
    NULL },
  /* An empty id is no id. */
  { "offline", MSG("from='" FROM "' id=''", ""), NULL },
  { "offline", MSG("from='" FROM "' id=''", ""), NULL },
  /* A third registration, never pushed for m1: only it is pushed. */
  { "enable", NULL, NULL },
  { "offline", MSG("from='" FROM "' id='m1'", SID("A1")), NULL },
  { "offline", MSG("from='" FROM "' id='m1'", SID("A1")), NULL },
  /* push_quiet (on): a stanza with nothing to see is dropped before any
   * lookup, even with the sender and id of one already pushed. */
  { "offline", CHAT("from='" FROM "' id='m1'", STATE), NULL },
  { "offline", CHAT("from='" FROM "' id='q1'", STATE), NULL },
  { "offline", CHAT("from='" FROM "' id='m1'", "<body> </body>" STATE), NULL },
  { "offline", CHAT("from='" FROM "' id='m2'", "<body>\n</body><body/>"), NULL },
  { "offline", CHAT("from='" FROM "' id='m2'", "<received xmlns='urn:xmpp:receipts' id='m0'/>"),
    NULL },
  { "offline",
    CHAT("from='" FROM "' id='m2'", "<retract xmlns='urn:xmpp:jingle-message:1' id='c'/>"), NULL },
  { "offline", CHAT("from='" FROM "' id='m2'", ""), NULL },
  /* Something to see beside the chat state: the early path answers. */
  { "offline", CHAT("from='" FROM "' id='m2'", "<body>x</body>" STATE), NULL },
  { "offline", CHAT("from='" FROM "' id='m2'", STATE "<x xmlns='urn:e'/>"), NULL },
  { "offline", CHAT("from='" FROM "' id='m2'", "<subject>s</subject>"), NULL },
  /* Calls: one per propose id and caller, whatever the message id. */
  { "archived", CHAT("from='" FROM "' id='call-m1'", PROPOSE("0", "call-1")), "C1" },
  { "offline", CHAT("from='" FROM "' id='call-m2'", PROPOSE("0", "call-1")), NULL },
  { "offline", CHAT("from='" FROM "' id='call-m2'", PROPOSE("0", "call-1")), NULL },
  { "offline", CHAT("from='romeo@montague.example/other' id='call-m3'", PROPOSE("1", "call-1")),
    NULL },
  /* A call is known by its propose id, not by the message id m1 that every
   * registration was pushed for. */
  { "offline", CHAT("from='" FROM "' id='m1'", PROPOSE("1", "call-2")), NULL },
  /* A stale and a badly stamped propose: important, not calls. */
  { "offline",
    CHAT("from='" FROM "' id='call-m5'",
         PROPOSE("1", "call-3") "<delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/>"),
    NULL },
  { "offline",
    CHAT("from='" FROM "' id='call-m5'",
         PROPOSE("1", "call-3") "<delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/>"),
    NULL },
  { "offline",
    CHAT("from='" FROM "' id='call-m6'",
         PROPOSE("0", "call-4") "<delay xmlns='urn:xmpp:delay' stamp='soon'/>"),
    NULL },
  /* Quiet off: the 0.2 behaviour, lookups included. */
  { "quiet-off", NULL, NULL },
  { "offline", CHAT("from='" FROM "' id='m2'", STATE), NULL },
  { "offline", CHAT("from='" FROM "' id='q1'", STATE), NULL },
  { "offline", CHAT("from='" FROM "' id='q1'", STATE), NULL },
  { "offline", CHAT("from='" FROM "' id='q2'", "<body> </body>"), NULL },
  { "offline", CHAT("from='" FROM "' id='q2'", "<body> </body>"), NULL },
};

static void enable_unbound(fake_host *h, const char *node) {
  cloudnotify_session *s = au_session(h, ALICE, ALICE_RES);
  au_enable_device(h, s, PUSH_JID, node, NULL);
  cloudnotify_session_free(s);
}

static void run(fake_host *h, form f, GString *out) {
  enable_unbound(h, "n1");
  enable_unbound(h, "n2");
  for (size_t i = 0; i < G_N_ELEMENTS(steps); i++) {
    if (!strcmp(steps[i].which, "enable")) {
      enable_unbound(h, "n3");
      continue;
    }
    if (!strcmp(steps[i].which, "quiet-off")) {
      au_set(h, "push_quiet", "false");
      continue;
    }
    unsigned n = 99;
    int rc = trig(h, f, steps[i].which, steps[i].xml, steps[i].aid, &n);
    g_string_append_printf(out, "step %zu %s rc=%d pushes=%u", i, steps[i].which, rc, n);
    for (int c = CLOUDNOTIFY_COUNTER_PUBLISHES_SENT; c <= CLOUDNOTIFY_COUNTER_PUBLISHES_ENCRYPTED;
         c++) {
      uint64_t v = 0;
      assert_int_equal(cloudnotify_ctx_get_counter(h->ctx, (cloudnotify_counter)c, &v), 0);
      g_string_append_printf(out, " %" G_GUINT64_FORMAT, v);
    }
    g_string_append_c(out, '\n');
  }
  for (guint i = 0; i < h->logs->len; i++)
    g_string_append_printf(out, "log %s\n", (const char *)h->logs->pdata[i]);
  GRegex *re = g_regex_new("id='[0-9a-f]{32}'", 0, 0, NULL);
  for (guint i = 0; i < h->sent->len; i++) {
    const fh_sent *s = h->sent->pdata[i];
    char *x = g_regex_replace_literal(re, s->xml, -1, 0, "id='ID'", 0, NULL);
    g_string_append_printf(out, "sent %d %s %s\n", s->route, s->to, x);
    g_free(x);
  }
  g_regex_unref(re);
}

static void same_results_as_the_full_path(void **state) {
  (void)state;
  fake_host a, b;
  fh_init(&a);
  fh_init(&b);
  memset(&th, 0, sizeof th);
  GString *ta = g_string_new(NULL), *tb = g_string_new(NULL);
  run(&a, TEXT, ta);
  run(&b, TREE, tb);
  if (getenv("TREE_DEBUG"))
    fputs(ta->str, stderr);
  assert_string_equal(ta->str, tb->str);
  /* What the script means to check did happen. */
  assert_non_null(strstr(ta->str, "step 1 offline rc=0 pushes=0"));
  assert_non_null(strstr(ta->str, "step 3 offline rc=0 pushes=2"));
  assert_non_null(strstr(ta->str, "step 23 offline rc=0 pushes=0"));
  assert_non_null(strstr(ta->str, "step 22 offline rc=0 pushes=1"));
  /* Quiet drops the invisible ones; a visible one is looked up. */
  assert_non_null(strstr(ta->str, "step 24 offline rc=0 pushes=0"));
  assert_non_null(strstr(ta->str, "step 30 offline rc=0 pushes=0"));
  assert_non_null(strstr(ta->str, "step 32 offline rc=0 pushes=0"));
  /* One push per call and registration, whichever copy. */
  assert_non_null(strstr(ta->str, "step 34 archived rc=0 pushes=3"));
  assert_non_null(strstr(ta->str, "step 37 offline rc=0 pushes=0"));
  assert_non_null(strstr(ta->str, "step 38 offline rc=0 pushes=3"));
  assert_non_null(strstr(ta->str, "step 40 offline rc=0 pushes=0"));
  assert_non_null(strstr(ta->str, "step 44 offline rc=0 pushes=3"));
  assert_non_null(strstr(ta->str, "step 45 offline rc=0 pushes=0"));
  g_string_free(ta, TRUE);
  g_string_free(tb, TRUE);
  fh_fini(&a);
  fh_fini(&b);
}

/* The early path itself (internal): it answers exactly for the stanzas
 * every registration was pushed for, so the comparison above did run
 * through it. */
static gboolean early(fake_host *h, const char *xml) {
  tt_node *n = tt_from_xml(xml, strlen(xml));
  assert_non_null(n);
  cloudnotify_tree t = tt_tree(&th, n);
  cn_user *u = g_hash_table_lookup(h->ctx->users, ALICE);
  assert_non_null(u);
  gboolean r = cn_tree_seen_early(h->ctx, u, &t);
  tt_free(n);
  return r;
}

static void early_path_taken(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  memset(&th, 0, sizeof th);
  enable_unbound(&h, "n1");
  enable_unbound(&h, "n2");
  const char *x = MSG("from='" FROM "' id='m1'", SID("A1"));
  unsigned n;
  assert_false(early(&h, x));
  assert_int_equal(trig(&h, TREE, "archived", x, "A1", &n), 0);
  assert_int_equal(n, 2);
  uint64_t d0 = 0, d1 = 0;
  cloudnotify_ctx_get_counter(h.ctx, CLOUDNOTIFY_COUNTER_PUBLISHES_DEDUPLICATED, &d0);
  assert_true(early(&h, x));
  cloudnotify_ctx_get_counter(h.ctx, CLOUDNOTIFY_COUNTER_PUBLISHES_DEDUPLICATED, &d1);
  assert_int_equal(d1 - d0, 2);
  assert_true(early(&h, MSG("from='" FROM "' id='m1'", "")));
  assert_false(early(&h, MSG("from='" FROM "' id='m1'", SID("A2"))));
  /* The archive id decides over the id attribute. */
  assert_true(early(&h, MSG("from='" FROM "' id='m9'", SID("A1") "<x/>")));
  assert_false(early(&h, MSG("from='" FROM "' id='m9'", "")));
  assert_false(early(&h, MSG("from='" FROM "'", SID("A1"))));
  assert_false(early(&h, MSG("from='" ALICE "' id='m1'", SID("A1"))));
  assert_false(early(&h, "<presence xmlns='jabber:client' from='" FROM "' id='m1'/>"));
  /* A registration not pushed yet: the full path pushes it. */
  enable_unbound(&h, "n3");
  assert_false(early(&h, x));
  cloudnotify_ctx_get_counter(h.ctx, CLOUDNOTIFY_COUNTER_PUBLISHES_DEDUPLICATED, &d0);
  assert_int_equal(d0, d1 + 4);
  fh_fini(&h);
}

/* Calls, and with push_quiet stanzas the probe cannot see are visible,
 * take the full path; with quiet off an invisible stanza is looked up. */
static void early_path_calls_and_quiet(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  memset(&th, 0, sizeof th);
  enable_unbound(&h, "n1");
  const char *call = CHAT("from='" FROM "' id='c1'", PROPOSE("1", "call-1"));
  const char *state_only = CHAT("from='" FROM "' id='c1'", STATE);
  const char *blank = CHAT("from='" FROM "' id='c1'", "<body> </body>");
  const char *visible = CHAT("from='" FROM "' id='c1'", "<body>x</body>" STATE);
  unsigned n;
  assert_int_equal(trig(&h, TREE, "offline", call, NULL, &n), 0);
  assert_int_equal(n, 1);
  assert_false(early(&h, call));
  /* The call's key is not the id: the message was never pushed by it. */
  assert_false(early(&h, visible));
  assert_int_equal(trig(&h, TREE, "offline", visible, NULL, &n), 0);
  assert_int_equal(n, 1);
  assert_true(early(&h, visible));
  assert_false(early(&h, state_only));
  assert_false(early(&h, blank));
  au_set(&h, "push_quiet", "false");
  assert_true(early(&h, state_only));
  assert_true(early(&h, blank));
  assert_false(early(&h, call));
  fh_fini(&h);
}

/* A tree the conversion refuses is refused, already pushed or not: the
 * early path validates before it answers. */
static void invalid_tree_still_refused(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  memset(&th, 0, sizeof th);
  enable_unbound(&h, "n1");
  const char *x = MSG("from='" FROM "' id='m1'", SID("A1"));
  unsigned n;
  assert_int_equal(trig(&h, TREE, "archived", x, "A1", &n), 0);
  assert_int_equal(n, 1);
  uint64_t before = 0, after = 0;
  cloudnotify_ctx_get_counter(h.ctx, CLOUDNOTIFY_COUNTER_PUBLISHES_DEDUPLICATED, &before);
  static const char *bad_names[] = { "1a", "", "a:b" };
  for (size_t i = 0; i < G_N_ELEMENTS(bad_names); i++) {
    tt_node *root = tt_from_xml(x, strlen(x));
    tt_node *bad = tt_element("x", NULL);
    g_string_assign(bad->name, bad_names[i]);
    g_ptr_array_add(root->children, bad);
    cloudnotify_tree t = tt_tree(&th, root);
    n = 9;
    assert_int_equal(cloudnotify_message_offline_tree(h.ctx, ALICE, &t, &n), CLOUDNOTIFY_ERR_XML);
    assert_int_equal(n, 0);
    tt_free(root);
  }
  /* A duplicate attribute deep down, and a root outside the stanza
   * namespaces. */
  tt_node *root = tt_from_xml(x, strlen(x));
  tt_node *dup = tt_element("x", "urn:e");
  tt_add_attr(dup, NULL, "a", "1");
  tt_add_attr(dup, NULL, "a", "2");
  g_ptr_array_add(root->children, dup);
  cloudnotify_tree t = tt_tree(&th, root);
  assert_int_equal(cloudnotify_message_offline_tree(h.ctx, ALICE, &t, &n), CLOUDNOTIFY_ERR_XML);
  tt_free(root);
  const char *foreign = "<message xmlns='urn:other' type='chat' from='" FROM "' id='m1'>"
                        "<body>hi</body>" SID("A1") "</message>";
  root = tt_from_xml(foreign, strlen(foreign));
  t = tt_tree(&th, root);
  assert_int_equal(cloudnotify_message_offline_tree(h.ctx, ALICE, &t, &n), CLOUDNOTIFY_ERR_XML);
  tt_free(root);
  /* Too deep for the context's bound. */
  GString *deep = g_string_new("<message xmlns='jabber:client' from='" FROM "' id='m1'>" SID("A1"));
  for (int i = 0; i < 300; i++)
    g_string_append(deep, "<a>");
  for (int i = 0; i < 300; i++)
    g_string_append(deep, "</a>");
  g_string_append(deep, "</message>");
  root = tt_from_xml(deep->str, deep->len);
  if (root) {
    t = tt_tree(&th, root);
    assert_int_equal(cloudnotify_message_offline_tree(h.ctx, ALICE, &t, &n),
                     CLOUDNOTIFY_ERR_TOO_LARGE);
    tt_free(root);
  }
  g_string_free(deep, TRUE);
  cloudnotify_ctx_get_counter(h.ctx, CLOUDNOTIFY_COUNTER_PUBLISHES_DEDUPLICATED, &after);
  assert_true(after == before);
  fh_fini(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(same_results_as_the_full_path),
    cmocka_unit_test(early_path_taken),
    cmocka_unit_test(early_path_calls_and_quiet),
    cmocka_unit_test(invalid_tree_still_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
