/* Fuzz target: the tree adapter.  The input is a stanza as text; libxml2
 * (as a host's own parser would) turns it into a test tree, and every
 * entry point is fed both forms on twin contexts:
 * - whenever the text is accepted, the tree is accepted too, with the same
 *   result, the same pushes and the same stanzas sent;
 * - on one context, the tree after the text is the same stanza: never a
 *   second push for it (the content digests agree);
 * - a tree is never refused as too large where its text is accepted.
 * The text may be refused where its tree is accepted (comments, CDATA,
 * a DOCTYPE are not part of a tree), never the other way round. */
#include "fuzz-host.h"

#include <string.h>

#include "../tests/tree-util.h"

#define ACCOUNT "juliet@capulet.example"
#define PUSH    "push.example.net"

typedef struct twin {
  cloudnotify_ctx *ctx;
  cloudnotify_session *s;
  GString *sent;
} twin;

static int rec_send(void *ud, cloudnotify_route route, cloudnotify_session *session,
                    const char *account, const char *to, const char *xml, size_t len) {
  twin *t = ud;
  (void)session;
  g_string_append_printf(t->sent, "%d %s %s ", route, account, to);
  /* Publish ids are random: everything else must agree. */
  const char *id = g_strstr_len(xml, (gssize)len, " id='");
  if (route == CLOUDNOTIFY_ROUTE_APP_SERVER && id) {
    g_string_append_len(t->sent, xml, id - xml);
    g_string_append(t->sent, " id='ID'");
    g_string_append_len(t->sent, id + 5 + 32 + 1, (gssize)(len - (size_t)(id + 38 - xml)));
  } else {
    g_string_append_len(t->sent, xml, (gssize)len);
  }
  g_string_append_c(t->sent, '\n');
  return 0;
}

static int64_t fixed_now(void *ud) {
  (void)ud;
  return 1700000000000;
}

static void twin_init(twin *t) {
  cloudnotify_callbacks cb = {
    .size = sizeof cb, .send = rec_send, .now_ms = fixed_now, .monotonic_ms = fixed_now
  };
  FH_CHECK(cloudnotify_ctx_new(&t->ctx, &cb, t) == 0);
  FH_CHECK(cloudnotify_ctx_set_option(t->ctx, "push_max_stanza_size", "65536") == 0);
  FH_CHECK(cloudnotify_ctx_set_option(t->ctx, "push_notification_with_body", "true") == 0);
  FH_CHECK(cloudnotify_ctx_set_option(t->ctx, "push_coalesce_ms", "0") == 0);
  t->sent = g_string_new(NULL);
  FH_CHECK(cloudnotify_session_new(t->ctx, ACCOUNT, "phone", &t->s) == 0);
  FH_CHECK(cloudnotify_session_sm_enabled(t->s) == 0);
  const char *en =
      "<iq type='set' id='e'><enable xmlns='urn:xmpp:push:0' jid='" PUSH "' node='n'/></iq>";
  FH_CHECK(cloudnotify_handle_client_iq(t->s, en, strlen(en)) == 0);
  g_string_truncate(t->sent, 0);
}

static void twin_fini(twin *t) {
  cloudnotify_ctx_free(t->ctx);
  g_string_free(t->sent, TRUE);
}

/* rc of the text form, rc of the tree form: the tree may only be more
 * lenient, and only where the text holds what a tree cannot. */
static void check_rcs(int text_rc, int tree_rc, const twin *a, const twin *b) {
  if (text_rc == 0) {
    FH_CHECK(tree_rc == 0);
  } else if (tree_rc == CLOUDNOTIFY_ERR_TOO_LARGE) {
    FH_CHECK(text_rc == CLOUDNOTIFY_ERR_TOO_LARGE);
  }
  if (text_rc == tree_rc)
    FH_CHECK(strcmp(a->sent->str, b->sent->str) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  tt_node *root = tt_from_xml((const char *)data, size);
  if (!root)
    return 0;
  tt_host th = { 0 };
  cloudnotify_tree tree = tt_tree(&th, root);
  const char *xml = (const char *)data;
  twin a, b;
  twin_init(&a);
  twin_init(&b);

  /* Triggers: the same pushes; then the other form of the same stanza on
   * the same context is a duplicate. */
  unsigned pa = 7, pb = 7, again = 7;
  int ra = cloudnotify_message_offline(a.ctx, ACCOUNT, xml, size, &pa);
  int rb = cloudnotify_message_offline_tree(b.ctx, ACCOUNT, &tree, &pb);
  check_rcs(ra, rb, &a, &b);
  if (ra == 0) {
    FH_CHECK(pa == pb);
    FH_CHECK(cloudnotify_message_offline_tree(a.ctx, ACCOUNT, &tree, &again) == 0);
    FH_CHECK(again == 0);
    FH_CHECK(cloudnotify_message_offline(b.ctx, ACCOUNT, xml, size, &again) == 0);
    FH_CHECK(again == 0);
  }

  /* Session paths: queued while hibernated (pushed at once), client IQ. */
  FH_CHECK(cloudnotify_session_hibernated(a.s, NULL, 0) == 0);
  FH_CHECK(cloudnotify_session_hibernated_tree(b.s, NULL, 0) == 0);
  g_string_truncate(a.sent, 0);
  g_string_truncate(b.sent, 0);
  ra = cloudnotify_session_queued(a.s, xml, size);
  rb = cloudnotify_session_queued_tree(b.s, &tree);
  check_rcs(ra, rb, &a, &b);
  FH_CHECK(cloudnotify_session_resumed(a.s) == 0);
  FH_CHECK(cloudnotify_session_resumed(b.s) == 0);

  g_string_truncate(a.sent, 0);
  g_string_truncate(b.sent, 0);
  ra = cloudnotify_handle_client_iq(a.s, xml, size);
  rb = cloudnotify_handle_client_iq_tree(b.s, &tree);
  check_rcs(ra, rb, &a, &b);

  g_string_truncate(a.sent, 0);
  g_string_truncate(b.sent, 0);
  ra = cloudnotify_handle_app_reply(a.ctx, xml, size);
  rb = cloudnotify_handle_app_reply_tree(b.ctx, &tree);
  check_rcs(ra, rb, &a, &b);

  twin_fini(&a);
  twin_fini(&b);
  tt_free(root);
  return 0;
}
