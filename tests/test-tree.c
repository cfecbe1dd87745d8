/* Stanzas as trees, both ways: every entry point given the host's tree
 * instead of text gives the same results (stanzas out, pushes, replies,
 * de-duplication identities); trees are held to the text form's bounds
 * and validity; and each stanza the library emits, walked into a
 * builder, reproduces its text form exactly. */
#include "api-util.h"
#include "tree-util.h"

typedef enum { TEXT, TREE } form;

static tt_host th;

/* ---- entry points in either form -------------------------------------- */

static tt_node *must_tree(const char *xml) {
  tt_node *n = tt_from_xml(xml, strlen(xml));
  assert_non_null(n);
  return n;
}

static int f_offline(fake_host *h, form f, const char *xml, unsigned *pushes) {
  if (f == TEXT)
    return cloudnotify_message_offline(h->ctx, ALICE, xml, strlen(xml), pushes);
  tt_node *n = must_tree(xml);
  cloudnotify_tree t = tt_tree(&th, n);
  int rc = cloudnotify_message_offline_tree(h->ctx, ALICE, &t, pushes);
  tt_free(n);
  return rc;
}

static int f_archived(fake_host *h, form f, const char *xml, const char *aid, unsigned *pushes) {
  if (f == TEXT)
    return cloudnotify_message_archived(h->ctx, ALICE, xml, strlen(xml), aid, pushes);
  tt_node *n = must_tree(xml);
  cloudnotify_tree t = tt_tree(&th, n);
  int rc = cloudnotify_message_archived_tree(h->ctx, ALICE, &t, aid, pushes);
  tt_free(n);
  return rc;
}

static int f_groupchat(fake_host *h, form f, const char *xml, unsigned *pushes) {
  if (f == TEXT)
    return cloudnotify_message_groupchat_bare(h->ctx, ALICE, xml, strlen(xml), pushes);
  tt_node *n = must_tree(xml);
  cloudnotify_tree t = tt_tree(&th, n);
  int rc = cloudnotify_message_groupchat_bare_tree(h->ctx, ALICE, &t, pushes);
  tt_free(n);
  return rc;
}

static int f_queued(cloudnotify_session *s, form f, const char *xml) {
  if (f == TEXT)
    return cloudnotify_session_queued(s, xml, strlen(xml));
  tt_node *n = must_tree(xml);
  cloudnotify_tree t = tt_tree(&th, n);
  int rc = cloudnotify_session_queued_tree(s, &t);
  tt_free(n);
  return rc;
}

static int f_iq(cloudnotify_session *s, form f, const char *xml) {
  if (f == TEXT)
    return cloudnotify_handle_client_iq(s, xml, strlen(xml));
  tt_node *n = must_tree(xml);
  cloudnotify_tree t = tt_tree(&th, n);
  int rc = cloudnotify_handle_client_iq_tree(s, &t);
  tt_free(n);
  return rc;
}

static int f_reply(fake_host *h, form f, const char *xml) {
  if (f == TEXT)
    return cloudnotify_handle_app_reply(h->ctx, xml, strlen(xml));
  tt_node *n = must_tree(xml);
  cloudnotify_tree t = tt_tree(&th, n);
  int rc = cloudnotify_handle_app_reply_tree(h->ctx, &t);
  tt_free(n);
  return rc;
}

/* hibernated (which 1) or ack_delayed (which 2) with a queue. */
static int f_queue(cloudnotify_session *s, form f, int which, const char *const *xml, size_t n) {
  int rc;
  if (f == TEXT) {
    cloudnotify_buf q[8];
    for (size_t i = 0; i < n; i++)
      q[i] = (cloudnotify_buf){ xml[i], strlen(xml[i]) };
    rc = which == 1 ? cloudnotify_session_hibernated(s, q, n)
                    : cloudnotify_session_ack_delayed(s, q, n);
    return rc;
  }
  cloudnotify_tree q[8];
  tt_node *nodes[8];
  for (size_t i = 0; i < n; i++) {
    nodes[i] = must_tree(xml[i]);
    q[i] = tt_tree(&th, nodes[i]);
  }
  rc = which == 1 ? cloudnotify_session_hibernated_tree(s, q, n)
                  : cloudnotify_session_ack_delayed_tree(s, q, n);
  for (size_t i = 0; i < n; i++)
    tt_free(nodes[i]);
  return rc;
}

/* ---- a host receiving structure --------------------------------------- */

typedef struct stanza_host {
  unsigned text_sends; /* calls of send: must stay 0 */
  unsigned builds;
} stanza_host;

static stanza_host sh;

static int sh_send_text(void *ud, cloudnotify_route route, cloudnotify_session *session,
                        const char *account, const char *to, const char *xml, size_t len) {
  (void)ud;
  (void)route;
  (void)session;
  (void)account;
  (void)to;
  (void)xml;
  (void)len;
  sh.text_sends++;
  return 0;
}

static gboolean is_publish_id(const char *id) {
  if (!id || strlen(id) != 32)
    return FALSE;
  for (const char *c = id; *c; c++)
    if (!g_ascii_isdigit(*c) && !(*c >= 'a' && *c <= 'f'))
      return FALSE;
  return TRUE;
}

static int sh_send_stanza(void *ud, const cloudnotify_stanza *st) {
  fake_host *h = ud;
  int rc;
  char *built = tt_build_text(st, 0, &rc);
  assert_int_equal(rc, 0);
  sh.builds++;
  size_t len = 0;
  const char *text = cloudnotify_stanza_text(st, &len);
  assert_non_null(text);
  assert_int_equal(len, strlen(text));
  if (strcmp(built, text))
    print_error("built %s\ntext  %s\n", built, text);
  assert_string_equal(built, text);
  /* Asked twice, the same buffer. */
  assert_ptr_equal(cloudnotify_stanza_text(st, NULL), text);

  char *id = fh_attr(text, "id");
  if (id)
    assert_string_equal(cloudnotify_stanza_id(st), id);
  else
    assert_null(cloudnotify_stanza_id(st));
  char *to = fh_attr(text, "to");
  assert_string_equal(cloudnotify_stanza_to(st), to);
  cloudnotify_route route = cloudnotify_stanza_route(st);
  if (route == CLOUDNOTIFY_ROUTE_APP_SERVER) {
    assert_true(is_publish_id(cloudnotify_stanza_id(st)));
    assert_null(cloudnotify_stanza_session(st));
  } else {
    assert_int_equal(route, CLOUDNOTIFY_ROUTE_CLIENT);
    assert_non_null(cloudnotify_stanza_session(st));
    assert_string_equal(cloudnotify_session_account(cloudnotify_stanza_session(st)),
                        cloudnotify_stanza_account(st));
  }

  /* A builder that stops gets its own value back. */
  char *part = tt_build_text(st, 1, &rc);
  assert_int_equal(rc, 7);
  g_free(part);

  fh_sent *s = g_new0(fh_sent, 1);
  s->route = route;
  s->session = cloudnotify_stanza_session(st);
  s->account = g_strdup(cloudnotify_stanza_account(st));
  s->to = g_strdup(cloudnotify_stanza_to(st));
  s->xml = built;
  g_ptr_array_add(h->sent, s);
  g_free(id);
  g_free(to);
  return h->send_result;
}

static int64_t sh_now(void *ud) {
  return ((fake_host *)ud)->now;
}

static void cb_removed(void *ud, const char *account, const char *jid, const char *node,
                       cloudnotify_removal_reason reason) {
  fake_host *h = ud;
  fh_removed *r = g_new0(fh_removed, 1);
  r->account = g_strdup(account);
  r->jid = g_strdup(jid);
  r->node = g_strdup(node);
  r->reason = reason;
  g_ptr_array_add(h->removed, r);
}

/* A fake host whose context emits structure (and whose send, also set,
 * must never be called). */
static void sh_init(fake_host *h) {
  fh_init(h);
  cloudnotify_ctx_free(h->ctx);
  cloudnotify_callbacks cb = {
    .size = sizeof cb,
    .send = sh_send_text,
    .now_ms = sh_now,
    .monotonic_ms = sh_now,
    .registration_removed = cb_removed,
    .send_stanza = sh_send_stanza,
  };
  assert_int_equal(cloudnotify_ctx_new(&h->ctx, &cb, h), 0);
  /* As fh_init: the rate limits are test-gate.c's. */
  assert_int_equal(cloudnotify_ctx_set_option_int(h->ctx, CLOUDNOTIFY_OPT_VISIBLE_INTERVAL_MS, 0),
                   0);
  assert_int_equal(cloudnotify_ctx_set_option_int(h->ctx, CLOUDNOTIFY_OPT_SILENT_PER_HOUR, 0), 0);
}

/* ---- one script, run in each form -------------------------------------- */

#define MSG_NOID                                                                                   \
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard'"               \
  " to='" ALICE "'><body>no id &amp; &lt;here&gt;</body><delay xmlns='urn:xmpp:delay'"             \
  " stamp='2020-01-01T00:00:00Z'/></message>"
#define MSG_CALL                                                                                   \
  "<message xmlns='jabber:client' from='romeo@montague.example/orchard' to='" ALICE                \
  "' id='call1'><propose xmlns='urn:xmpp:jingle-message:0' id='c'>"                                \
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose></message>"
#define MSG_GC                                                                                     \
  "<message xmlns='jabber:client' type='groupchat' from='room@muc.example/nick' to='" ALICE        \
  "' id='gc1'><body xml:lang='en'>hello room</body></message>"
#define PRESENCE "<presence xmlns='jabber:client' from='romeo@montague.example/orchard'/>"
#define FORM_LANG                                                                                  \
  "<x xmlns='jabber:x:data' type='submit' xml:lang='en'>"                                          \
  "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options"                \
  "</value></field><field var='secret' xmlns:ext='urn:example:ext' ext:hint='h'>"                  \
  "<value>s3cr3t &amp; &lt;more&gt;</value></field>"                                               \
  "<field var='empty'><value></value></field></x>"

static char *enable_iq(const char *jid, const char *node, const char *x_form) {
  return g_strdup_printf("<iq type='set' id='en-%s'><enable xmlns='urn:xmpp:push:0' jid='%s'%s%s%s>"
                         "%s</enable></iq>",
                         jid, jid, node ? " node='" : "", node ? node : "", node ? "'" : "",
                         x_form ? x_form : "");
}

static void note(GString *log, const char *what, int rc, unsigned pushes) {
  g_string_append_printf(log, "%s rc=%d pushes=%u\n", what, rc, pushes);
}

/* Replies with an error from the registered JID to the publishes to jid
 * recorded from index from on. */
static void reply_errors(fake_host *h, form f, GString *log, const char *jid, unsigned from) {
  for (unsigned i = from; fh_publish(h, i); i++) {
    const fh_sent *p = fh_publish(h, i);
    if (strcmp(p->to, jid))
      continue;
    char *id = fh_attr(p->xml, "id");
    char *x = g_strdup_printf("<iq type='error' id='%s' from='%s'><error type='cancel'>"
                              "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                              "</error></iq>",
                              id, jid);
    note(log, "reply", f_reply(h, f, x), 0);
    g_free(x);
    g_free(id);
  }
}

static void script(fake_host *h, form f, GString *log) {
  unsigned n;
  int rc;
  cloudnotify_session *s1 = au_session(h, ALICE, "balcony");
  cloudnotify_session *s2 = au_session(h, ALICE, "phone");
  au_set(h, "push_max_errors", "2");
  au_set(h, "push_notification_with_body", "true");
  au_set(h, "push_notification_with_sender", "true");

  char *e1 = enable_iq(PUSH_JID, "node&amp;1", FORM_LANG);
  char *e2 = enable_iq(OTHER_PUSH_JID, NULL, NULL);
  note(log, "enable1", f_iq(s1, f, e1), 0);
  note(log, "enable2", f_iq(s2, f, e2), 0);
  g_free(e1);
  g_free(e2);
  static const char *const bad_iqs[] = {
    "<iq type='set' id='b1'><enable xmlns='urn:xmpp:push:0'/></iq>",
    "<iq type='get' id='b2'><enable xmlns='urn:xmpp:push:0' jid='x.example'/></iq>",
    "<iq type='set' id='b3' to='other@capulet.example'><disable xmlns='urn:xmpp:push:0' "
    "jid='x.example'/></iq>",
    "<iq type='set' id='b4'><frobnicate xmlns='urn:xmpp:push:0'/></iq>",
    "<iq type='set' id='b5'><ping xmlns='urn:xmpp:ping'/></iq>",
    "<iq type='set'><enable xmlns='urn:xmpp:push:0' jid='x.example'/></iq>",
    "<iq type='set' id='b7'><enable xmlns='urn:xmpp:push:0' jid='@@bad'/></iq>",
    "<iq type='set' id='b8'><enable xmlns='urn:xmpp:push:0' jid='" ALICE "'/></iq>",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad_iqs); i++)
    note(log, "bad iq", f_iq(s1, f, bad_iqs[i]), 0);

  char *m1 = fh_message(ALICE, "m1", "hello\tthere\r\nline 'two' \"q\"");
  n = 0;
  rc = f_offline(h, f, m1, &n);
  note(log, "offline m1", rc, n);
  n = 0;
  rc = f_offline(h, f, m1, &n);
  note(log, "offline m1 again", rc, n);
  n = 0;
  rc = f_offline(h, f, MSG_NOID, &n);
  note(log, "offline noid", rc, n);
  n = 0;
  rc = f_archived(h, f, MSG_NOID, "arch-1", &n);
  note(log, "archived noid", rc, n);
  n = 0;
  rc = f_archived(h, f, MSG_CALL, "arch-2", &n);
  note(log, "archived call", rc, n);
  n = 0;
  rc = f_groupchat(h, f, MSG_GC, &n);
  note(log, "groupchat", rc, n);

  /* s1 hibernates with a queue, then more is queued while hibernated. */
  char *m2 = fh_message(ALICE, "m2", "queued one");
  char *m3 = fh_message(ALICE, "m3", "queued two");
  const char *q1[] = { PRESENCE, m2 };
  note(log, "hibernated", f_queue(s1, f, 1, q1, 2), 0);
  note(log, "queued", f_queued(s1, f, m3), 0);
  note(log, "queued presence", f_queued(s1, f, PRESENCE), 0);
  h->now += 2000;
  note(log, "tick", cloudnotify_tick(h->ctx), 0);
  note(log, "resumed", cloudnotify_session_resumed(s1), 0);

  /* s2 live: queued stanzas, then an overdue ack with a queue. */
  char *m4 = fh_message(ALICE, "m4", "live one");
  note(log, "queued live", f_queued(s2, f, m4), 0);
  note(log, "queued live presence", f_queued(s2, f, PRESENCE), 0);
  const char *q2[] = { m4, MSG_GC };
  note(log, "ack delayed", f_queue(s2, f, 2, q2, 2), 0);

  /* Errors from the app server remove the second registration. */
  reply_errors(h, f, log, OTHER_PUSH_JID, 0);
  note(log, "removed", 0, h->removed->len);
  note(log, "unknown reply", f_reply(h, f, "<iq type='result' id='nope' from='x.example'/>"), 0);

  char *d1 = g_strdup_printf("<iq type='set' id='d1'><disable xmlns='urn:xmpp:push:0' "
                             "jid='%s' node='node&amp;1'/></iq>",
                             PUSH_JID);
  note(log, "disable", f_iq(s1, f, d1), 0);
  n = 0;
  rc = f_offline(h, f, m4, &n);
  note(log, "offline after disable", rc, n);
  g_free(d1);
  g_free(m1);
  g_free(m2);
  g_free(m3);
  g_free(m4);
  cloudnotify_session_free(s1);
  cloudnotify_session_free(s2);
}

/* The recorded stanzas with publish ids (random) replaced. */
static char *normalised(const fake_host *h) {
  GRegex *re = g_regex_new("id='[0-9a-f]{32}'", 0, 0, NULL);
  GString *all = g_string_new(NULL);
  for (guint i = 0; i < h->sent->len; i++) {
    const fh_sent *s = h->sent->pdata[i];
    char *x = g_regex_replace_literal(re, s->xml, -1, 0, "id='ID'", 0, NULL);
    g_string_append_printf(all, "%d %s %s %s\n", s->route, s->account, s->to, x);
    g_free(x);
  }
  g_regex_unref(re);
  return g_string_free(all, FALSE);
}

static void text_and_tree_give_the_same_results(void **state) {
  (void)state;
  fake_host a, b, c;
  fh_init(&a);
  fh_init(&b);
  sh_init(&c);
  memset(&sh, 0, sizeof sh);
  GString *la = g_string_new(NULL), *lb = g_string_new(NULL), *lc = g_string_new(NULL);
  script(&a, TEXT, la);
  script(&b, TREE, lb);
  script(&c, TREE, lc);
  /* The script does reach every path: pushes, replies, a removal. */
  assert_true(au_publishes(&a) >= 6);
  assert_true(fh_count(&a, CLOUDNOTIFY_ROUTE_CLIENT) >= 10);
  assert_int_equal(a.removed->len, 2);
  assert_int_equal(au_removed(&a, 0)->reason, CLOUDNOTIFY_REMOVED_ERRORS);
  assert_int_equal(au_removed(&a, 1)->reason, CLOUDNOTIFY_REMOVED_DISABLED);
  assert_non_null(strstr(la->str, "offline m1 again rc=0 pushes=0"));

  if (getenv("TREE_DEBUG"))
    print_message("%s\n", la->str);
  assert_string_equal(la->str, lb->str);
  assert_string_equal(la->str, lc->str);
  char *na = normalised(&a), *nb = normalised(&b), *nc = normalised(&c);
  assert_string_equal(na, nb);
  assert_string_equal(na, nc);
  /* The structured host got everything as structure, nothing as text. */
  assert_int_equal(sh.text_sends, 0);
  assert_int_equal(sh.builds, c.sent->len);
  g_free(na);
  g_free(nb);
  g_free(nc);
  g_string_free(la, TRUE);
  g_string_free(lb, TRUE);
  g_string_free(lc, TRUE);
  fh_fini(&a);
  fh_fini(&b);
  fh_fini(&c);
}

/* ---- identities --------------------------------------------------------- */

static int setup(void **state) {
  fake_host *h = g_new0(fake_host, 1);
  fh_init(h);
  memset(&th, 0, sizeof th);
  *state = h;
  return 0;
}

static int teardown(void **state) {
  fake_host *h = *state;
  fh_fini(h);
  g_free(h);
  return 0;
}

static cloudnotify_session *enabled(fake_host *h) {
  cloudnotify_session *s = au_session(h, ALICE, ALICE_RES);
  au_enable_ok(h, s, PUSH_JID, "n", NULL);
  return s;
}

/* A stanza without id is known by the digest of its content: the text
 * and the tree of one stanza must hash alike, whichever comes first. */
static void digest_identical_in_both_forms(void **state) {
  fake_host *h = *state;
  cloudnotify_session *s = enabled(h);
  unsigned n = 9;
  assert_int_equal(f_offline(h, TEXT, MSG_NOID, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(f_offline(h, TREE, MSG_NOID, &n), 0);
  assert_int_equal(n, 0);
  const char *other = "<message type='chat' from='a@b.example/c'><body>x</body>"
                      "<thread xmlns='jabber:client' parent='p'>t</thread></message>";
  assert_int_equal(f_offline(h, TREE, other, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(f_offline(h, TEXT, other, &n), 0);
  assert_int_equal(n, 0);
  /* The archive's copy (different delay, a stanza-id) is the same stanza. */
  const char *archived_copy =
      "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard'"
      " to='" ALICE "'><body>no id &amp; &lt;here&gt;</body>"
      "<stanza-id xmlns='urn:xmpp:sid:0' by='someone@else.example' id='x'/></message>";
  assert_int_equal(f_archived(h, TREE, archived_copy, NULL, &n), 0);
  assert_int_equal(n, 0);
  cloudnotify_session_free(s);
}

/* ---- bounds and validity ----------------------------------------------- */

static int offline_tree(fake_host *h, const tt_node *root) {
  cloudnotify_tree t = tt_tree(&th, root);
  unsigned n = 9;
  unsigned before = h->sent->len;
  int rc = cloudnotify_message_offline_tree(h->ctx, ALICE, &t, &n);
  if (rc) {
    assert_int_equal(n, 0);
    assert_int_equal(h->sent->len, before);
  }
  return rc;
}

static char *nested(int depth) {
  GString *x = g_string_new("<message><body>b</body>");
  for (int i = 1; i < depth; i++)
    g_string_append(x, "<a>");
  for (int i = 1; i < depth; i++)
    g_string_append(x, "</a>");
  g_string_append(x, "</message>");
  return g_string_free(x, FALSE);
}

static void depth_bound_as_text(void **state) {
  fake_host *h = *state;
  cloudnotify_session *s = enabled(h);
  au_set(h, "push_max_xml_depth", "4");
  for (int depth = 3; depth <= 6; depth++) {
    char *x = nested(depth);
    unsigned n;
    int want = depth <= 4 ? 0 : CLOUDNOTIFY_ERR_TOO_LARGE;
    assert_int_equal(f_offline(h, TEXT, x, &n), want);
    tt_node *t = must_tree(x);
    assert_int_equal(offline_tree(h, t), want);
    tt_free(t);
    g_free(x);
  }
  cloudnotify_session_free(s);
}

static void size_bound_never_above_text(void **state) {
  fake_host *h = *state;
  cloudnotify_session *s = enabled(h);
  au_set(h, "push_max_stanza_size", "300");
  /* Counted: message 2*7+5, body 2*4+5, text, type='chat' 4+4+4: the
   * tree's count of a 270-byte body is 310, over the bound; 250 is 290. */
  for (int len = 250; len <= 270; len += 20) {
    char *body = g_strnfill(len, 'b');
    char *x = g_strdup_printf("<message type='chat'><body>%s</body></message>", body);
    tt_node *t = must_tree(x);
    int rc = offline_tree(h, t);
    assert_int_equal(rc, len == 250 ? 0 : CLOUDNOTIFY_ERR_TOO_LARGE);
    /* Whatever the tree is refused for, its text is refused for too. */
    unsigned n;
    if (rc == CLOUDNOTIFY_ERR_TOO_LARGE)
      assert_int_equal(f_offline(h, TEXT, x, &n), CLOUDNOTIFY_ERR_TOO_LARGE);
    tt_free(t);
    g_free(x);
    g_free(body);
  }
  cloudnotify_session_free(s);
}

/* One bad detail at a time in an otherwise valid message. */
static void invalid_content_refused(void **state) {
  fake_host *h = *state;
  cloudnotify_session *s = enabled(h);
  static const struct {
    const char *what, *name, *ns, *attr_ns, *attr_name, *attr_value, *text;
    size_t text_len; /* nonzero: text has that length (embedded NUL) */
  } cases[] = {
    { "name starts with a digit", "1a", NULL, NULL, "x", "v", "t", 0 },
    { "name with a prefix", "a:b", NULL, NULL, "x", "v", "t", 0 },
    { "empty name", "", NULL, NULL, "x", "v", "t", 0 },
    { "name not UTF-8", "a\xff", NULL, NULL, "x", "v", "t", 0 },
    { "text with NUL", "a", NULL, NULL, "x", "v", "t\0u", 3 },
    { "text with a C0 control", "a", NULL, NULL, "x", "v", "t\001", 0 },
    { "text not UTF-8", "a", NULL, NULL, "x", "v", "t\xc3", 0 },
    { "text with a surrogate", "a", NULL, NULL, "x", "v", "\xed\xa0\x80", 0 },
    { "attribute value U+FFFF", "a", NULL, NULL, "x", "\xef\xbf\xbf", "t", 0 },
    { "attribute value U+FFFE", "a", NULL, NULL, "x", "\xef\xbf\xbe", "t", 0 },
    { "attribute name invalid", "a", NULL, NULL, "-x", "v", "t", 0 },
    { "attribute named xmlns", "a", NULL, NULL, "xmlns", "v", "t", 0 },
    { "attribute in the xmlns namespace", "a", NULL, "http://www.w3.org/2000/xmlns/", "x", "v", "t",
      0 },
    { "namespace not UTF-8", "a", "urn:\xff", NULL, "x", "v", "t", 0 },
    { "element in the xmlns namespace", "a", "http://www.w3.org/2000/xmlns/", NULL, "x", "v", "t",
      0 },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    tt_node *root = tt_element("message", NULL);
    tt_add_attr(root, NULL, "type", "chat");
    tt_node *body = tt_element("body", NULL);
    g_ptr_array_add(body->children, tt_text_node("hello", 5));
    g_ptr_array_add(root->children, body);
    tt_node *a = tt_element("x", cases[i].ns);
    g_string_assign(a->name, "");
    g_string_append_len(a->name, cases[i].name, (gssize)strlen(cases[i].name));
    tt_add_attr(a, cases[i].attr_ns, cases[i].attr_name, cases[i].attr_value);
    size_t tl = cases[i].text_len ? cases[i].text_len : strlen(cases[i].text);
    g_ptr_array_add(a->children, tt_text_node(cases[i].text, tl));
    g_ptr_array_add(root->children, a);
    int rc = offline_tree(h, root);
    if (rc != CLOUDNOTIFY_ERR_XML)
      print_error("case '%s': rc %d\n", cases[i].what, rc);
    assert_int_equal(rc, CLOUDNOTIFY_ERR_XML);
    tt_free(root);
  }
  /* And the same message without the bad detail is pushed. */
  tt_node *ok = must_tree("<message type='chat'><body>hello</body><a x='v'>t</a></message>");
  assert_int_equal(offline_tree(h, ok), 0);
  assert_int_equal(au_publishes(h), 1);
  tt_free(ok);
  cloudnotify_session_free(s);
}

static void structure_errors_refused(void **state) {
  fake_host *h = *state;
  cloudnotify_session *s = enabled(h);
  /* Twice the same attribute. */
  tt_node *dup = must_tree("<message><body>x</body></message>");
  tt_add_attr(dup, NULL, "type", "chat");
  tt_add_attr(dup, NULL, "type", "normal");
  assert_int_equal(offline_tree(h, dup), CLOUDNOTIFY_ERR_XML);
  tt_free(dup);
  /* Twice the same xml:lang, through its namespace. */
  tt_node *dup2 = must_tree("<message xml:lang='en'><body>x</body></message>");
  tt_add_attr(dup2, "http://www.w3.org/XML/1998/namespace", "lang", "de");
  assert_int_equal(offline_tree(h, dup2), CLOUDNOTIFY_ERR_XML);
  tt_free(dup2);
  /* The same local name in two namespaces is two attributes. */
  tt_node *two = must_tree("<message xml:lang='en'><body>y</body></message>");
  tt_add_attr(two, NULL, "lang", "de");
  tt_add_attr(two, "urn:other", "lang", "fr");
  assert_int_equal(offline_tree(h, two), 0);
  tt_free(two);
  /* A root in a namespace that is not a stanza's. */
  tt_node *foreign = must_tree("<message xmlns='urn:other'><body>x</body></message>");
  assert_int_equal(offline_tree(h, foreign), CLOUDNOTIFY_ERR_XML);
  tt_free(foreign);
  cloudnotify_session_free(s);
}

static void adapter_failures_refused(void **state) {
  fake_host *h = *state;
  cloudnotify_session *s = enabled(h);
  tt_node *m = must_tree("<message type='chat'><body>x</body></message>");
  int *flags[] = { &th.fail_name, &th.fail_ns, &th.fail_attrs, &th.fail_children };
  for (size_t i = 0; i < G_N_ELEMENTS(flags); i++) {
    *flags[i] = 1;
    assert_int_equal(offline_tree(h, m), CLOUDNOTIFY_ERR_XML);
    *flags[i] = 0;
  }
  assert_int_equal(offline_tree(h, m), 0);

  /* Arguments: NULL tree, ops, root; an unknown ops size; a NULL op. */
  unsigned n;
  assert_int_equal(cloudnotify_message_offline_tree(h->ctx, ALICE, NULL, &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  cloudnotify_tree t = { NULL, &th, m };
  assert_int_equal(cloudnotify_message_offline_tree(h->ctx, ALICE, &t, &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  cloudnotify_tree_ops ops = tt_ops;
  t.ops = &ops;
  t.root = NULL;
  assert_int_equal(cloudnotify_message_offline_tree(h->ctx, ALICE, &t, &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  t.root = m;
  /* A newer header's adapter with a field this library does not know. */
  struct {
    cloudnotify_tree_ops ops;
    void *newer;
  } wide = { tt_ops, &wide };
  wide.ops.size = sizeof wide;
  t.ops = &wide.ops;
  assert_int_equal(cloudnotify_message_offline_tree(h->ctx, ALICE, &t, &n),
                   CLOUDNOTIFY_ERR_VTABLE_SIZE);
  t.ops = &ops;
  ops.children = NULL;
  assert_int_equal(cloudnotify_message_offline_tree(h->ctx, ALICE, &t, &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_queued_tree(s, NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_queued_tree(NULL, &t), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_handle_client_iq_tree(s, &t), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_handle_app_reply_tree(h->ctx, &t), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_handle_app_reply_tree(NULL, NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_hibernated_tree(s, NULL, 1),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_ack_delayed_tree(NULL, NULL, 0),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(au_publishes(h), 1);
  tt_free(m);
  cloudnotify_session_free(s);
}

/* Every other entry point applies the same checks. */
static void every_entry_point_checks(void **state) {
  fake_host *h = *state;
  cloudnotify_session *s = enabled(h);
  tt_node *deep = must_tree("<iq type='set' id='x'><enable xmlns='urn:xmpp:push:0' jid='a.b'>"
                            "<a><b><c/></b></a></enable></iq>");
  au_set(h, "push_max_xml_depth", "4");
  cloudnotify_tree t = tt_tree(&th, deep);
  unsigned before = h->sent->len;
  assert_int_equal(cloudnotify_handle_client_iq_tree(s, &t), CLOUDNOTIFY_ERR_TOO_LARGE);
  assert_int_equal(cloudnotify_session_queued_tree(s, &t), CLOUDNOTIFY_ERR_TOO_LARGE);
  assert_int_equal(cloudnotify_handle_app_reply_tree(h->ctx, &t), CLOUDNOTIFY_ERR_TOO_LARGE);
  unsigned n;
  assert_int_equal(cloudnotify_message_archived_tree(h->ctx, ALICE, &t, "a", &n),
                   CLOUDNOTIFY_ERR_TOO_LARGE);
  assert_int_equal(cloudnotify_message_groupchat_bare_tree(h->ctx, ALICE, &t, &n),
                   CLOUDNOTIFY_ERR_TOO_LARGE);
  th.fail_attrs = 1;
  assert_int_equal(cloudnotify_handle_client_iq_tree(s, &t), CLOUDNOTIFY_ERR_XML);
  assert_int_equal(cloudnotify_handle_app_reply_tree(h->ctx, &t), CLOUDNOTIFY_ERR_XML);
  th.fail_attrs = 0;
  assert_int_equal(h->sent->len, before);
  /* In a queue, a refused tree is skipped and the rest still counts. */
  tt_node *good = must_tree("<message type='chat' id='q'><body>x</body></message>");
  cloudnotify_tree q[2] = { t, tt_tree(&th, good) };
  assert_int_equal(cloudnotify_session_hibernated_tree(s, q, 2), 0);
  assert_int_equal(au_publishes(h), 1);
  assert_true(au_log_contains(h, "unparsable"));
  tt_free(good);
  tt_free(deep);
  cloudnotify_session_free(s);
}

/* ---- structured output ------------------------------------------------- */

static void builder_checks(void **state) {
  (void)state;
  assert_int_equal(cloudnotify_stanza_build(NULL, &tt_builder_vt, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_null(cloudnotify_stanza_text(NULL, NULL));
  assert_null(cloudnotify_stanza_id(NULL));
  assert_null(cloudnotify_stanza_to(NULL));
  assert_null(cloudnotify_stanza_account(NULL));
  assert_null(cloudnotify_stanza_session(NULL));
  assert_int_equal(cloudnotify_stanza_route(NULL), 0);
}

static int bad_builder_rc[3];

static int sh_bad_builders(void *ud, const cloudnotify_stanza *st) {
  (void)ud;
  cloudnotify_builder b = tt_builder_vt;
  b.size = sizeof b + 1;
  bad_builder_rc[0] = cloudnotify_stanza_build(st, &b, NULL);
  b.size = sizeof b;
  b.text = NULL;
  bad_builder_rc[1] = cloudnotify_stanza_build(st, &b, NULL);
  bad_builder_rc[2] = cloudnotify_stanza_build(st, NULL, NULL);
  return -1; /* refused, as send may refuse */
}

static void builder_arguments_and_refusal(void **state) {
  (void)state;
  cloudnotify_ctx *ctx;
  cloudnotify_callbacks cb = { .size = sizeof cb, .send_stanza = sh_bad_builders };
  assert_int_equal(cloudnotify_ctx_new(&ctx, &cb, NULL), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ctx, ALICE, "r", &s), 0);
  const char *iq = "<iq type='set' id='e'><enable xmlns='urn:xmpp:push:0' jid='p.example'/></iq>";
  /* The refusal is a failed send, as with the send callback. */
  assert_int_equal(cloudnotify_handle_client_iq(s, iq, strlen(iq)), CLOUDNOTIFY_ERR_SEND);
  assert_int_equal(bad_builder_rc[0], CLOUDNOTIFY_ERR_VTABLE_SIZE);
  assert_int_equal(bad_builder_rc[1], CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(bad_builder_rc[2], CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(ctx);
}

/* The walk hands over the stored form with its namespaces resolved and
 * xml:lang in the XML namespace; the stanza root has no namespace. */
typedef struct ns_seen {
  GString *log;
} ns_seen;

static int ns_start(void *d, const char *name, const char *ns, const cloudnotify_attr *a,
                    size_t n) {
  ns_seen *s = d;
  g_string_append_printf(s->log, "<%s{%s}", name, ns ? ns : "");
  for (size_t i = 0; i < n; i++)
    g_string_append_printf(s->log, " %s%s%s%s=", a[i].ns ? "{" : "", a[i].ns ? a[i].ns : "",
                           a[i].ns ? "}" : "", a[i].name);
  return 0;
}
static int ns_text(void *d, const char *t, size_t len) {
  (void)d;
  (void)t;
  assert_true(len > 0);
  return 0;
}
static int ns_end(void *d, const char *name) {
  (void)name;
  g_string_append(((ns_seen *)d)->log, ">");
  return 0;
}

static int sh_ns_walk(void *ud, const cloudnotify_stanza *st) {
  static const cloudnotify_builder b = { sizeof b, ns_start, ns_text, ns_end };
  if (cloudnotify_stanza_route(st) == CLOUDNOTIFY_ROUTE_APP_SERVER)
    assert_int_equal(cloudnotify_stanza_build(st, &b, ud), 0);
  return 0;
}

static void walk_resolves_namespaces(void **state) {
  (void)state;
  ns_seen seen = { g_string_new(NULL) };
  cloudnotify_ctx *ctx;
  cloudnotify_callbacks cb = { .size = sizeof cb, .send_stanza = sh_ns_walk };
  assert_int_equal(cloudnotify_ctx_new(&ctx, &cb, &seen), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ctx, ALICE, "r", &s), 0);
  char *iq = enable_iq(PUSH_JID, "n", FORM_LANG);
  assert_int_equal(cloudnotify_handle_client_iq(s, iq, strlen(iq)), 0);
  g_free(iq);
  char *m = fh_message(ALICE, "w1", "hi");
  unsigned n;
  assert_int_equal(cloudnotify_message_offline(ctx, ALICE, m, strlen(m), &n), 0);
  assert_int_equal(n, 1);
  g_free(m);
  const char *log = seen.log->str;
  assert_true(g_str_has_prefix(log, "<iq{} type= id= from= to="
                                    "<pubsub{http://jabber.org/protocol/pubsub}"
                                    "<publish{http://jabber.org/protocol/pubsub} node="
                                    "<item{http://jabber.org/protocol/pubsub}"
                                    "<notification{urn:xmpp:push:0}"
                                    "<x{jabber:x:data} type="));
  assert_non_null(strstr(log, "<publish-options{http://jabber.org/protocol/pubsub}"
                              "<x{jabber:x:data} type= {http://www.w3.org/XML/1998/namespace}lang="
                              "<field{jabber:x:data} var="));
  g_string_free(seen.log, TRUE);
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(ctx);
}

/* Prosody's parser (util.xmppstream) names the namespace of every element
 * outside jabber:client, also where it repeats the parent's: such a child
 * is in that namespace, as in the text, not in none. */
static void name_every_ns(tt_node *n, const char *inherited) {
  const char *mine = !n->ns ? inherited : n->ns->len ? n->ns->str : NULL;
  if (!n->ns && mine && strcmp(mine, "jabber:client") != 0)
    n->ns = g_string_new(mine);
  for (guint i = 0; i < n->children->len; i++) {
    tt_node *c = n->children->pdata[i];
    if (!c->is_text)
      name_every_ns(c, mine);
  }
}

static void repeated_namespace_is_the_parents(void **state) {
  (void)state;
  ns_seen seen = { g_string_new(NULL) };
  cloudnotify_ctx *ctx;
  cloudnotify_callbacks cb = { .size = sizeof cb, .send_stanza = sh_ns_walk };
  assert_int_equal(cloudnotify_ctx_new(&ctx, &cb, &seen), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ctx, ALICE, "r", &s), 0);
  char *iq = enable_iq(PUSH_JID, "n", FORM_LANG);
  tt_node *n = tt_from_xml(iq, strlen(iq));
  g_free(iq);
  name_every_ns(n, NULL);
  tt_host h = { 0 };
  cloudnotify_tree t = tt_tree(&h, n);
  assert_int_equal(cloudnotify_handle_client_iq_tree(s, &t), 0);
  tt_free(n);
  char *m = fh_message(ALICE, "w1", "hi");
  unsigned pushes;
  assert_int_equal(cloudnotify_message_offline(ctx, ALICE, m, strlen(m), &pushes), 0);
  assert_int_equal(pushes, 1);
  g_free(m);
  assert_non_null(strstr(seen.log->str,
                         "<publish-options{http://jabber.org/protocol/pubsub}"
                         "<x{jabber:x:data} type= {http://www.w3.org/XML/1998/namespace}lang="
                         "<field{jabber:x:data} var=<value{jabber:x:data}>>"));
  g_string_free(seen.log, TRUE);
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(text_and_tree_give_the_same_results),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    T(digest_identical_in_both_forms),
    T(depth_bound_as_text),
    T(size_bound_never_above_text),
    T(invalid_content_refused),
    T(structure_errors_refused),
    T(adapter_failures_refused),
    T(every_entry_point_checks),
#undef T
    cmocka_unit_test(builder_checks),
    cmocka_unit_test(builder_arguments_and_refusal),
    cmocka_unit_test(walk_resolves_namespaces),
    cmocka_unit_test(repeated_namespace_is_the_parents),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
