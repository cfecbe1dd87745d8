/* Remote disable (XEP-0357 section 8, cloudnotify_handle_app_message):
 * the registered push service's affiliation-'none' notice removes that
 * registration (REMOVED_REMOTE), in each documented form; anyone else, any
 * other node or affiliation, and a registration without node change
 * nothing (NOT_MINE); input errors and bounds; an account that is busy or
 * still loading. */
#include "api-util.h"
#include "tree-util.h"

#include <string.h>

typedef struct {
  fake_host h;
  au_store st;
} fixture;

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  fh_init_ex(&f->h, FH_REMOVED2 | FH_LOG2);
  au_store_init(&f->st);
  au_use_store(&f->h, &f->st);
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_device(&f->h, s, PUSH_JID, "n1", NULL);
  au_enable_device(&f->h, s, OTHER_PUSH_JID, "n2", NULL);
  cloudnotify_session_free(s);
  fh_clear(&f->h);
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

static int notice(fixture *f, const char *xml) {
  return cloudnotify_handle_app_message(f->h.ctx, ALICE, xml, strlen(xml));
}

#define XEP_FORM(from, node, aff)                                                                  \
  "<message xmlns='jabber:client' from='" from "' to='" ALICE "'>"                                 \
  "<pubsub xmlns='http://jabber.org/protocol/pubsub' node='" node "'>"                             \
  "<affiliation jid='" ALICE "' affiliation='" aff "'/></pubsub></message>"

static void assert_removed_remote(fixture *f, const char *jid, const char *node) {
  assert_int_equal(f->h.removed->len, 1);
  const fh_removed *r = au_removed(&f->h, 0);
  assert_string_equal(r->account, ALICE);
  assert_string_equal(r->jid, jid);
  assert_string_equal(r->node, node);
  assert_int_equal(r->reason, CLOUDNOTIFY_REMOVED_REMOTE);
  assert_true(r->v2);
  assert_null(r->error_type);
  assert_int_equal(au_store_find(&f->st, ALICE, jid, node), -1);
  uint64_t v = 0;
  assert_int_equal(cloudnotify_ctx_get_counter(f->h.ctx, CLOUDNOTIFY_COUNTER_REMOVED_REMOTE, &v),
                   0);
  assert_int_equal(v, 1);
}

/* XEP-0357's own example, from the registered service: removed, the
 * other registration stays. */
static void xep_form_removes(void **state) {
  fixture *f = *state;
  assert_int_equal(notice(f, XEP_FORM(PUSH_JID, "n1", "none")), 0);
  assert_removed_remote(f, PUSH_JID, "n1");
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(au_publishes_to(&f->h, OTHER_PUSH_JID, "n2"), 1);
  /* The same notice again: nothing left to remove. */
  assert_int_equal(notice(f, XEP_FORM(PUSH_JID, "n1", "none")), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(f->h.removed->len, 1);
}

/* The pubsub#event namespace, an <affiliations node=…> list, a node on
 * the <affiliation/> itself, and no jid attribute: each accepted. */
static void other_forms(void **state) {
  fixture *f = *state;
  const char *event =
      "<message from='" OTHER_PUSH_JID "'><event xmlns='http://jabber.org/protocol/pubsub#event'/>"
      "<pubsub xmlns='http://jabber.org/protocol/pubsub#event'><affiliations node='n2'>"
      "<affiliation jid='" ALICE "/phone' affiliation='none'/></affiliations></pubsub></message>";
  assert_int_equal(notice(f, event), 0);
  assert_removed_remote(f, OTHER_PUSH_JID, "n2");
  fh_clear(&f->h);
  const char *own_node = "<message from='" PUSH_JID "'>"
                         "<pubsub xmlns='http://jabber.org/protocol/pubsub' node='n9'>"
                         "<affiliation node='n1' affiliation='none'/></pubsub></message>";
  assert_int_equal(notice(f, own_node), 0);
  assert_int_equal(f->h.removed->len, 1);
  assert_string_equal(au_removed(&f->h, 0)->node, "n1");
  assert_int_equal(au_ping(&f->h, ALICE), 0);
}

/* The tree entry point reads the same, and refuses a bad tree without
 * touching anything. */
static void tree_form(void **state) {
  fixture *f = *state;
  const char *x = "<message xmlns='jabber:client' from='" PUSH_JID "'>"
                  "<pubsub xmlns='http://jabber.org/protocol/pubsub' node='n1'>"
                  "<affiliation affiliation='none'/></pubsub></message>";
  tt_node *root = tt_from_xml(x, strlen(x));
  assert_non_null(root);
  tt_host th = { 0 };
  cloudnotify_tree t = tt_tree(&th, root);
  assert_int_equal(cloudnotify_handle_app_message_tree(f->h.ctx, ALICE, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_handle_app_message_tree(NULL, ALICE, &t),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_handle_app_message_tree(f->h.ctx, NULL, &t),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(f->h.removed->len, 0);
  assert_int_equal(cloudnotify_handle_app_message_tree(f->h.ctx, ALICE, &t), 0);
  assert_removed_remote(f, PUSH_JID, "n1");
  tt_free(root);
}

/* Anyone but the registered service, any other node or affiliation, a
 * notice for someone else: nothing changes. */
static void wrong_senders_and_nodes(void **state) {
  fixture *f = *state;
  const char *not_mine[] = {
    XEP_FORM(OTHER_PUSH_JID, "n1", "none"),   /* another service's node */
    XEP_FORM("evil.example", "n1", "none"),   /* a stranger */
    XEP_FORM(PUSH_JID "/res", "n1", "none"),  /* not the registered JID */
    XEP_FORM("user@" PUSH_JID, "n1", "none"), /* someone at that domain */
    XEP_FORM(PUSH_JID, "n2", "none"),         /* a node of another service */
    XEP_FORM(PUSH_JID, "nX", "none"),
    XEP_FORM(PUSH_JID, "n1", "member"),
    XEP_FORM(PUSH_JID, "n1", "publish-only"),
    XEP_FORM(PUSH_JID, "", "none"),
    /* for another account */
    "<message from='" PUSH_JID "'><pubsub xmlns='http://jabber.org/protocol/pubsub' node='n1'>"
    "<affiliation jid='romeo@montague.example' affiliation='none'/></pubsub></message>",
    /* no sender */
    "<message><pubsub xmlns='http://jabber.org/protocol/pubsub' node='n1'>"
    "<affiliation affiliation='none'/></pubsub></message>",
    /* a pubsub of another namespace, or none at all */
    "<message from='" PUSH_JID "'><pubsub xmlns='urn:example' node='n1'>"
    "<affiliation affiliation='none'/></pubsub></message>",
    "<message from='" PUSH_JID "'><body>affiliation none n1</body></message>",
    /* not a message */
    "<iq type='set' from='" PUSH_JID "'><pubsub xmlns='http://jabber.org/protocol/pubsub' "
    "node='n1'><affiliation affiliation='none'/></pubsub></iq>",
    /* the affiliation not where the forms put it */
    "<message from='" PUSH_JID "'><pubsub xmlns='http://jabber.org/protocol/pubsub' node='n1'>"
    "<x><affiliation affiliation='none'/></x></pubsub></message>",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(not_mine); i++) {
    int rc = notice(f, not_mine[i]);
    if (rc != CLOUDNOTIFY_ERR_NOT_MINE)
      print_error("case %zu: %d\n", i, rc);
    assert_int_equal(rc, CLOUDNOTIFY_ERR_NOT_MINE);
  }
  assert_int_equal(f->h.removed->len, 0);
  assert_int_equal(f->st.records->len, 2);
  assert_int_equal(au_ping(&f->h, ALICE), 2);
}

/* A registration without node is never removed remotely: a notice names
 * a node, and no node is none the service could name. */
static void registration_without_node(void **state) {
  fixture *f = *state;
  cloudnotify_session *s = au_session(&f->h, ALICE, "desk");
  au_enable_ok(&f->h, s, "third.example", NULL, NULL);
  cloudnotify_session_free(s);
  fh_clear(&f->h);
  assert_int_equal(notice(f, XEP_FORM("third.example", "", "none")), CLOUDNOTIFY_ERR_NOT_MINE);
  const char *no_node = "<message from='third.example'>"
                        "<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                        "<affiliation affiliation='none'/></pubsub></message>";
  assert_int_equal(notice(f, no_node), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(notice(f, XEP_FORM("third.example", "any", "none")), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(f->h.removed->len, 0);
  assert_int_equal(au_ping(&f->h, ALICE), 3);
}

/* Input errors: arguments, the account, XML, the size and depth bounds. */
static void input_errors(void **state) {
  fixture *f = *state;
  const char *ok = XEP_FORM(PUSH_JID, "n1", "none");
  assert_int_equal(cloudnotify_handle_app_message(NULL, ALICE, ok, strlen(ok)),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_handle_app_message(f->h.ctx, NULL, ok, strlen(ok)),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_handle_app_message(f->h.ctx, ALICE, NULL, 0),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_handle_app_message(f->h.ctx, "not a jid@@", ok, strlen(ok)),
                   CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_int_equal(cloudnotify_handle_app_message(f->h.ctx, ALICE "/res", ok, strlen(ok)),
                   CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_int_equal(notice(f, "<message from='" PUSH_JID "'><pubsub"), CLOUDNOTIFY_ERR_XML);
  au_set(&f->h, "push_max_stanza_size", "1024");
  GString *big = g_string_new("<message from='" PUSH_JID "'><body>");
  while (big->len < 2048)
    g_string_append(big, "xxxxxxxxxxxxxxxx");
  g_string_append(big, "</body></message>");
  assert_int_equal(notice(f, big->str), CLOUDNOTIFY_ERR_TOO_LARGE);
  g_string_free(big, TRUE);
  GString *deep = g_string_new("<message from='" PUSH_JID "'>");
  for (int i = 0; i < 200; i++)
    g_string_append(deep, "<x>");
  for (int i = 0; i < 200; i++)
    g_string_append(deep, "</x>");
  g_string_append(deep, "</message>");
  int rc = notice(f, deep->str);
  assert_true(rc == CLOUDNOTIFY_ERR_XML || rc == CLOUDNOTIFY_ERR_TOO_LARGE);
  g_string_free(deep, TRUE);
  assert_int_equal(f->h.removed->len, 0);
  assert_int_equal(f->st.records->len, 2);
}

/* The store refusing the removal: STORE, and the registration stays. */
static void store_refuses_removal(void **state) {
  fixture *f = *state;
  f->st.fail_remove = 1;
  assert_int_equal(notice(f, XEP_FORM(PUSH_JID, "n1", "none")), CLOUDNOTIFY_ERR_STORE);
  assert_int_equal(f->h.removed->len, 0);
  f->st.fail_remove = 0;
  assert_int_equal(au_ping(&f->h, ALICE), 2);
  assert_int_equal(notice(f, XEP_FORM(PUSH_JID, "n1", "none")), 0);
  assert_int_equal(f->h.removed->len, 1);
}

/* The account still loading (a store that answers later): 0 at once,
 * the notice examined when the load is answered; a busy account decides
 * from memory (a foreign sender still hears NOT_MINE) and removes in
 * turn. */
static void answered_later(void **state) {
  (void)state;
  fake_host h;
  fh_default_mode = FH_LATER;
  fh_init_ex(&h, FH_REMOVED2);
  fh_default_mode = FH_SYNC;
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(fh_enable(s, PUSH_JID, "n1", NULL), 0);
  au_assert_last_reply(&h, "result");
  cloudnotify_session_free(s);
  assert_int_equal(cloudnotify_account_forget(h.ctx, ALICE), 0);
  const char *x = XEP_FORM(PUSH_JID, "n1", "none");
  assert_int_equal(cloudnotify_handle_app_message(h.ctx, ALICE, x, strlen(x)), 0);
  assert_int_equal(h.removed->len, 0);
  assert_int_equal(fh_open_ops(&h), 1);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_LOAD);
  /* Busy now, and the account not cached: kept for later as well. */
  const char *stranger = XEP_FORM("evil.example", "n1", "none");
  assert_int_equal(cloudnotify_handle_app_message(h.ctx, ALICE, stranger, strlen(stranger)), 0);
  fh_settle(&h);
  assert_int_equal(h.removed->len, 1);
  assert_int_equal(au_removed(&h, 0)->reason, CLOUDNOTIFY_REMOVED_REMOTE);
  assert_int_equal(h.rows->len, 0);

  /* Busy with a cached account: decided at once from memory. */
  s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(fh_enable(s, PUSH_JID, "n2", NULL), 0);
  const char *iq =
      "<iq type='set' id='e3'><enable xmlns='urn:xmpp:push:0' jid='" PUSH_JID "' node='n3'/></iq>";
  assert_int_equal(cloudnotify_session_set_client_id(s, "second"), 0);
  assert_int_equal(cloudnotify_handle_client_iq(s, iq, strlen(iq)), 0);
  assert_true(fh_open_ops(&h) > 0);
  const char *n2 = XEP_FORM(PUSH_JID, "n2", "none");
  assert_int_equal(cloudnotify_handle_app_message(h.ctx, ALICE, stranger, strlen(stranger)),
                   CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(cloudnotify_handle_app_message(h.ctx, ALICE, n2, strlen(n2)), 0);
  assert_int_equal(h.removed->len, 1);
  fh_settle(&h);
  assert_int_equal(h.removed->len, 2);
  assert_string_equal(au_removed(&h, 1)->node, "n2");
  assert_int_equal(h.rows->len, 1);
  cloudnotify_session_free(s);
  fh_fini(&h);
}

/* From a callback: refused, nothing changed. */
static int reenter_rc;
static int reentering_filter(void *ud, cloudnotify_push *p) {
  (void)p;
  fixture *f = ud;
  const char *x = XEP_FORM(PUSH_JID, "n1", "none");
  reenter_rc = cloudnotify_handle_app_message(f->h.ctx, ALICE, x, strlen(x));
  return 0;
}

static void reentry_refused(void **state) {
  (void)state;
  fixture f = { 0 };
  cloudnotify_callbacks cb = { .size = sizeof cb, .notification_filter = reentering_filter };
  fh_init(&f.h);
  cloudnotify_ctx_free(f.h.ctx);
  assert_int_equal(cloudnotify_ctx_new(&f.h.ctx, &cb, &f), 0);
  cloudnotify_session *s = NULL;
  assert_int_equal(cloudnotify_session_new(f.h.ctx, ALICE, ALICE_RES, &s), 0);
  const char *iq =
      "<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='" PUSH_JID "' node='n1'/></iq>";
  assert_int_equal(cloudnotify_handle_client_iq(s, iq, strlen(iq)), CLOUDNOTIFY_ERR_SEND);
  unsigned n = 0;
  assert_int_equal(cloudnotify_ping(f.h.ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(reenter_rc, CLOUDNOTIFY_ERR_REENTRANT);
  assert_int_equal(cloudnotify_session_has_push(s), 1);
  cloudnotify_session_free(s);
  fh_fini(&f.h);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
    T(xep_form_removes),
    T(other_forms),
    T(tree_form),
    T(wrong_senders_and_nodes),
    T(registration_without_node),
    T(input_errors),
    T(store_refuses_removal),
    cmocka_unit_test(answered_later),
    cmocka_unit_test(reentry_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
