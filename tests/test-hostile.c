/* Hostile input through the public API.  Each hostile stanza is built
 * from a template that is known to work (hostile_templates_work proves
 * it), so that a refusal can only come from the hostile part; each is
 * sent down every path a peer can reach (client IQ, trigger, app-server
 * reply, the hibernation and ack queues) and must give the documented
 * error, no reply, no push, and leave the engine exactly as it was.
 * Also here: hostile enables (forms, JIDs, addressing), spoofed and
 * unknown app-server replies, and the privacy of the log. */
#include "api-util.h"

#include <stdlib.h>
#include <string.h>

#define EVIL_JID "evil.example"

/* ---- the table ----------------------------------------------------------- */

enum gen {
  GEN_NONE,
  GEN_DEEP,      /* 10 000 nested elements in the content */
  GEN_HUGE_ATTR, /* a 10 MB attribute on the root */
  GEN_EMPTY,     /* zero bytes */
};

typedef struct hostile {
  const char *name;
  const char *prefix; /* before the root */
  const char *attr;   /* inside the root's start tag */
  size_t attr_len;
  const char *content; /* inside the stanza's payload element */
  size_t content_len;
  const char *suffix; /* after the root */
  size_t suffix_len;
  size_t cut;  /* bytes dropped from the end */
  size_t keep; /* nonzero: only the first bytes are kept */
  enum gen gen;
  int expect;
} hostile;

/* Literals may hold NUL bytes, so lengths come from sizeof. */
#define B(s) s, sizeof(s) - 1
#define NONE "", 0

#define LOLS                                                                                       \
  "<!DOCTYPE lolz [<!ENTITY lol 'lol'>"                                                            \
  "<!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"                            \
  "<!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>"                  \
  "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>"                  \
  "<!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>"                  \
  "<!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>"                  \
  "<!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>"                  \
  "<!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>"                  \
  "<!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>"                  \
  "<!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>]>"

#define XML_ERR CLOUDNOTIFY_ERR_XML
#define BIG_ERR CLOUDNOTIFY_ERR_TOO_LARGE

static const hostile table[] = {
  { "doctype", "<!DOCTYPE iq>", NONE, NONE, NONE, 0, 0, GEN_NONE, XML_ERR },
  { "doctype after declaration", "<?xml version='1.0'?><!DOCTYPE iq>", NONE, NONE, NONE, 0, 0,
    GEN_NONE, XML_ERR },
  { "external entity (SYSTEM file:///etc/passwd)",
    "<?xml version='1.0'?><!DOCTYPE iq [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>", NONE,
    B("&xxe;"), NONE, 0, 0, GEN_NONE, XML_ERR },
  { "external entity in an attribute", "<!DOCTYPE iq [<!ENTITY xxe SYSTEM 'file:///etc/passwd'>]>",
    B(" a='&xxe;'"), NONE, NONE, 0, 0, GEN_NONE, XML_ERR },
  { "parameter entity (SYSTEM http)",
    "<!DOCTYPE iq [<!ENTITY % p SYSTEM 'http://127.0.0.1:1/x.dtd'> %p;]>", NONE, NONE, NONE, 0, 0,
    GEN_NONE, XML_ERR },
  { "billion laughs", LOLS, NONE, B("&lol9;"), NONE, 0, 0, GEN_NONE, XML_ERR },
  { "undeclared entity without DTD", "", NONE, B("&xxe;"), NONE, 0, 0, GEN_NONE, XML_ERR },
  { "10 000-deep nesting", "", NONE, NONE, NONE, 0, 0, GEN_DEEP, BIG_ERR },
  { "10 MB attribute", "", NONE, NONE, NONE, 0, 0, GEN_HUGE_ATTR, BIG_ERR },
  { "invalid UTF-8 (0xff)", "", NONE, B("\xff\xfe"), NONE, 0, 0, GEN_NONE, XML_ERR },
  { "overlong UTF-8 '/'", "", NONE, B("\xc0\xaf"), NONE, 0, 0, GEN_NONE, XML_ERR },
  { "UTF-16 surrogate in UTF-8", "", NONE, B("\xed\xa0\x80"), NONE, 0, 0, GEN_NONE, XML_ERR },
  { "invalid UTF-8 in an attribute", "", B(" a='\xfe'"), NONE, NONE, 0, 0, GEN_NONE, XML_ERR },
  { "NUL byte in text", "", NONE, B("a\0b"), NONE, 0, 0, GEN_NONE, XML_ERR },
  { "NUL byte in an attribute", "", B(" a='\0'"), NONE, NONE, 0, 0, GEN_NONE, XML_ERR },
  { "NUL byte after the root", "", NONE, NONE, B("\0"), 0, 0, GEN_NONE, XML_ERR },
  { "truncated: last byte", "", NONE, NONE, NONE, 1, 0, GEN_NONE, XML_ERR },
  { "truncated: end tag missing", "", NONE, NONE, NONE, 5, 0, GEN_NONE, XML_ERR },
  { "truncated: inside the start tag", "", NONE, NONE, NONE, 0, 10, GEN_NONE, XML_ERR },
  { "truncated: after '<'", "", NONE, NONE, NONE, 0, 1, GEN_NONE, XML_ERR },
  { "empty", "", NONE, NONE, NONE, 0, 0, GEN_EMPTY, XML_ERR },
  { "several roots", "", NONE, NONE, B("<iq type='result' id='x'/>"), 0, 0, GEN_NONE, XML_ERR },
  { "text after the root", "", NONE, NONE, B("junk"), 0, 0, GEN_NONE, XML_ERR },
  { "comment inside", "", NONE, B("<!-- c -->"), NONE, 0, 0, GEN_NONE, XML_ERR },
  { "comment before the root", "<!-- c -->", NONE, NONE, NONE, 0, 0, GEN_NONE, XML_ERR },
  { "comment after the root", "", NONE, NONE, B("<!-- c -->"), 0, 0, GEN_NONE, XML_ERR },
  { "CDATA", "", NONE, B("<![CDATA[x]]>"), NONE, 0, 0, GEN_NONE, XML_ERR },
  { "processing instruction inside", "", NONE, B("<?pi x?>"), NONE, 0, 0, GEN_NONE, XML_ERR },
  { "processing instruction before the root", "<?xml-stylesheet href='x'?>", NONE, NONE, NONE, 0, 0,
    GEN_NONE, XML_ERR },
  { "XML declaration not at the start", " <?xml version='1.0'?>", NONE, NONE, NONE, 0, 0, GEN_NONE,
    XML_ERR },
  { "'<' in an attribute value", "", B(" a='<'"), NONE, NONE, 0, 0, GEN_NONE, XML_ERR },
  { "duplicate attribute", "", B(" id='again'"), NONE, NONE, 0, 0, GEN_NONE, XML_ERR },
  { "undeclared prefix", "", B(" p:a='x'"), NONE, NONE, 0, 0, GEN_NONE, XML_ERR },
  { "root in a foreign namespace", "", B(" xmlns='urn:evil'"), NONE, NONE, 0, 0, GEN_NONE,
    XML_ERR },
  { "mismatched end tag", "", NONE, B("<a></b>"), NONE, 0, 0, GEN_NONE, XML_ERR },
  { "control character (XML 1.0 forbids U+0001)", "", NONE, B("&#1;"), NONE, 0, 0, GEN_NONE,
    XML_ERR },
};

/* A stanza for one path: head ATTR mid CONTENT tail. */
typedef struct tmpl {
  char *head, *mid, *tail;
} tmpl;

static void tmpl_clear(tmpl *t) {
  g_free(t->head);
  g_free(t->mid);
  g_free(t->tail);
}

/* An enable for a service not yet registered: accepted, it would store
 * EVIL_JID and send a reply. */
static tmpl iq_tmpl(void) {
  tmpl t = { g_strdup("<iq type='set' id='h1'"),
             g_strdup("><enable xmlns='urn:xmpp:push:0' jid='" EVIL_JID "' node='n'>"),
             g_strdup("</enable></iq>") };
  return t;
}

/* A fresh important chat message: accepted, it would push. */
static tmpl msg_tmpl(const char *id) {
  /* No xmlns: a foreign one added by the table must be the only one. */
  tmpl t = { g_strdup_printf("<message type='chat' "
                             "from='romeo@montague.example/orchard' to='" ALICE "' id='%s'",
                             id),
             g_strdup("><body>hello "), g_strdup("</body></message>") };
  return t;
}

/* An error reply to an outstanding publish: accepted with push_max_errors
 * 1, it would remove the registration. */
static tmpl reply_tmpl(const char *id) {
  tmpl t = { g_strdup_printf("<iq type='error' id='%s' from='" PUSH_JID "'", id),
             g_strdup("><error type='cancel'>"
                      "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                      "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>"),
             g_strdup("</text></error></iq>") };
  return t;
}

static GString *build(const hostile *e, const tmpl *t) {
  GString *x = g_string_new(NULL);
  if (e->gen == GEN_EMPTY)
    return x;
  g_string_append(x, e->prefix);
  g_string_append(x, t->head);
  g_string_append_len(x, e->attr, (gssize)e->attr_len);
  if (e->gen == GEN_HUGE_ATTR) {
    g_string_append(x, " a='");
    gsize at = x->len;
    g_string_set_size(x, at + 10 * 1024 * 1024);
    memset(x->str + at, 'A', 10 * 1024 * 1024);
    g_string_append_c(x, '\'');
  }
  g_string_append(x, t->mid);
  g_string_append_len(x, e->content, (gssize)e->content_len);
  if (e->gen == GEN_DEEP) {
    for (int i = 0; i < 10000; i++)
      g_string_append(x, "<a>");
    for (int i = 0; i < 10000; i++)
      g_string_append(x, "</a>");
  }
  g_string_append(x, t->tail);
  g_string_append_len(x, e->suffix, (gssize)e->suffix_len);
  if (e->cut)
    g_string_truncate(x, x->len - e->cut);
  if (e->keep)
    g_string_truncate(x, e->keep);
  return x;
}

/* ---- fixture: ALICE with one registration bound to a session ------------------- */

typedef struct {
  fake_host h;
  au_store st;
  cloudnotify_session *s;
} fixture;

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  fh_init(&f->h);
  au_store_init(&f->st);
  au_use_store(&f->h, &f->st);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  /* Later enables from f->s are another client's (0.3): they add to the
   * registration above instead of replacing it by client identity. */
  assert_int_equal(cloudnotify_session_set_client_id(f->s, "hostile"), 0);
  fh_clear(&f->h);
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

/* Nothing changed: the store holds the one registration, a fresh message
 * pushes exactly once to it and to nothing else, and no registration was
 * removed. */
static void assert_unchanged(fixture *f) {
  assert_int_equal(f->st.records->len, 1);
  assert_true(au_store_find(&f->st, ALICE, PUSH_JID, "n1") >= 0);
  assert_int_equal(f->h.removed->len, 0);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "fresh"), 1);
  assert_int_equal(au_publishes(&f->h), 1);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 1);
  fh_clear(&f->h);
}

static void print_name(const hostile *e) {
  print_message("  %s\n", e->name);
}

/* The templates themselves are accepted; otherwise every refusal below
 * would prove nothing. */
static void hostile_templates_work(void **state) {
  fixture *f = *state;
  tmpl t = iq_tmpl();
  char *x = g_strconcat(t.head, t.mid, t.tail, NULL);
  assert_int_equal(fh_iq(f->s, x), 0);
  au_assert_last_reply(&f->h, "result");
  assert_true(au_store_find(&f->st, ALICE, EVIL_JID, "n") >= 0);
  g_free(x);
  tmpl_clear(&t);
  assert_int_equal(fh_disable(f->s, EVIL_JID, NULL), 0);
  au_assert_last_reply(&f->h, "result");
  fh_clear(&f->h);

  t = msg_tmpl("control");
  x = g_strconcat(t.head, t.mid, t.tail, NULL);
  assert_int_equal(au_offline(&f->h, ALICE, x), 1);
  g_free(x);
  tmpl_clear(&t);

  au_set(&f->h, "push_max_errors", "1");
  char *id = fh_attr(fh_publish(&f->h, 0)->xml, "id");
  t = reply_tmpl(id);
  x = g_strconcat(t.head, t.mid, t.tail, NULL);
  assert_int_equal(cloudnotify_handle_app_reply(f->h.ctx, x, strlen(x)), 0);
  assert_int_equal(f->h.removed->len, 1);
  assert_int_equal(au_removed(&f->h, 0)->reason, CLOUDNOTIFY_REMOVED_ERRORS);
  g_free(x);
  g_free(id);
  tmpl_clear(&t);
}

static void hostile_client_iq(void **state) {
  fixture *f = *state;
  tmpl t = iq_tmpl();
  for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
    const hostile *e = &table[i];
    print_name(e);
    GString *x = build(e, &t);
    unsigned saves = f->st.saves;
    assert_int_equal(cloudnotify_handle_client_iq(f->s, x->str, x->len), e->expect);
    /* The host answers malformed stanzas itself: no reply from us. */
    assert_int_equal(f->h.sent->len, 0);
    assert_int_equal(f->st.saves, saves);
    g_string_free(x, TRUE);
    assert_unchanged(f);
  }
  tmpl_clear(&t);
}

static void hostile_triggers(void **state) {
  fixture *f = *state;
  /* Unbound, so that archived messages are pushed too when accepted. */
  cloudnotify_session_free(f->s);
  f->s = NULL;
  for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
    const hostile *e = &table[i];
    print_name(e);
    char id[32];
    g_snprintf(id, sizeof id, "hostile-%zu", i);
    tmpl t = msg_tmpl(id);
    GString *x = build(e, &t);
    for (int path = 0; path < 3; path++) {
      unsigned n = 12345;
      int rc = path == 0 ? cloudnotify_message_offline(f->h.ctx, ALICE, x->str, x->len, &n)
               : path == 1
                   ? cloudnotify_message_archived(f->h.ctx, ALICE, x->str, x->len, "arch-1", &n)
                   : cloudnotify_message_groupchat_bare(f->h.ctx, ALICE, x->str, x->len, &n);
      assert_int_equal(rc, e->expect);
      assert_int_equal(n, 0);
      assert_int_equal(f->h.sent->len, 0);
    }
    g_string_free(x, TRUE);
    tmpl_clear(&t);
    assert_unchanged(f);
  }
}

static void hostile_app_replies(void **state) {
  fixture *f = *state;
  /* One accepted error would remove the registration: any leak shows. */
  au_set(&f->h, "push_max_errors", "1");
  for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
    const hostile *e = &table[i];
    print_name(e);
    assert_int_equal(au_offline_msg(&f->h, ALICE, "to be answered"), 1);
    char *id = fh_attr(fh_publish(&f->h, 0)->xml, "id");
    tmpl t = reply_tmpl(id);
    GString *x = build(e, &t);
    assert_int_equal(cloudnotify_handle_app_reply(f->h.ctx, x->str, x->len), e->expect);
    assert_int_equal(f->h.removed->len, 0);
    /* The publish is still awaited: the real answer is consumed once. */
    char *ok = g_strdup_printf("<iq type='result' id='%s' from='" PUSH_JID "'/>", id);
    assert_int_equal(cloudnotify_handle_app_reply(f->h.ctx, ok, strlen(ok)), 0);
    assert_int_equal(cloudnotify_handle_app_reply(f->h.ctx, ok, strlen(ok)),
                     CLOUDNOTIFY_ERR_NOT_MINE);
    g_free(ok);
    g_string_free(x, TRUE);
    tmpl_clear(&t);
    g_free(id);
    assert_unchanged(f);
  }
}

/* Every hostile stanza of the table as a message, with the good one in
 * the middle: the queue a host hands over at hibernation or ack delay. */
static GArray *hostile_queue(const char *prefix, const char *good, GPtrArray *keep) {
  GArray *q = g_array_new(FALSE, FALSE, sizeof(cloudnotify_buf));
  for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
    char id[32];
    g_snprintf(id, sizeof id, "%s-%zu", prefix, i);
    tmpl t = msg_tmpl(id);
    GString *x = build(&table[i], &t);
    tmpl_clear(&t);
    cloudnotify_buf b = { x->str, x->len };
    g_ptr_array_add(keep, g_string_free(x, FALSE));
    g_array_append_val(q, b);
    if (i == G_N_ELEMENTS(table) / 2) {
      cloudnotify_buf g = { good, strlen(good) };
      g_array_append_val(q, g);
    }
  }
  /* A NULL buffer is skipped the same way. */
  cloudnotify_buf nul = { NULL, 5 };
  g_array_append_val(q, nul);
  return q;
}

/* Hostile stanzas among good ones in the session's queues: the queue is
 * the host's (it already delivered those stanzas), so the call succeeds,
 * the hostile ones are skipped and the good one still pushes. */
static void hostile_in_session_queues(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_notification_with_body", "true");
  GPtrArray *keep = g_ptr_array_new_with_free_func(g_free);

  char *good = fh_message(ALICE, "good-hib", "the good one");
  GArray *q = hostile_queue("hq", good, keep);
  assert_int_equal(cloudnotify_session_hibernated(f->s, (cloudnotify_buf *)q->data, q->len), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "the good one");
  g_array_free(q, TRUE);
  g_free(good);

  /* Queued one at a time while hibernated: each hostile one is refused
   * with its error and arms nothing. */
  fh_clear(&f->h);
  int64_t before = cloudnotify_next_timeout(f->h.ctx);
  for (size_t i = 0; i < G_N_ELEMENTS(table); i++) {
    char id[32];
    g_snprintf(id, sizeof id, "hq2-%zu", i);
    tmpl t = msg_tmpl(id);
    GString *x = build(&table[i], &t);
    tmpl_clear(&t);
    assert_int_equal(cloudnotify_session_queued(f->s, x->str, x->len), table[i].expect);
    g_string_free(x, TRUE);
  }
  assert_int_equal(cloudnotify_next_timeout(f->h.ctx), before);
  f->h.now += 5000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(f->h.sent->len, 0);

  /* Good ones between hostile ones: one coalesced push, for the first
   * good one. */
  char *g1 = fh_message(ALICE, "good-q1", "queued one");
  char *g2 = fh_message(ALICE, "good-q2", "queued two");
  const char *h0 = keep->pdata[0], *h1 = keep->pdata[1];
  assert_int_equal(cloudnotify_session_queued(f->s, h0, strlen(h0)), table[0].expect);
  assert_int_equal(cloudnotify_session_queued(f->s, g1, strlen(g1)), 0);
  assert_int_equal(cloudnotify_session_queued(f->s, h1, strlen(h1)), table[1].expect);
  assert_int_equal(cloudnotify_session_queued(f->s, g2, strlen(g2)), 0);
  f->h.now += 1000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "queued one");
  g_free(g1);
  g_free(g2);

  /* The queue the host hands over when an ack is overdue. */
  assert_int_equal(cloudnotify_session_resumed(f->s), 0);
  fh_clear(&f->h);
  char *g3 = fh_message(ALICE, "good-ack", "acked late");
  q = hostile_queue("ha", g3, keep);
  assert_int_equal(cloudnotify_session_ack_delayed(f->s, (cloudnotify_buf *)q->data, q->len), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "acked late");
  g_array_free(q, TRUE);
  g_free(g3);

  /* Queued while live: refused the same way, and the ack-delay push
   * still covers the good one. */
  fh_clear(&f->h);
  char *g4 = fh_message(ALICE, "good-live", "live one");
  assert_int_equal(cloudnotify_session_queued(f->s, h0, strlen(h0)), table[0].expect);
  assert_int_equal(cloudnotify_session_queued(f->s, g4, strlen(g4)), 0);
  assert_int_equal(cloudnotify_session_queued(f->s, h1, strlen(h1)), table[1].expect);
  assert_int_equal(cloudnotify_session_ack_requested(f->s), 0);
  f->h.now += 30000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", "live one");
  g_free(g4);

  g_ptr_array_free(keep, TRUE);
  au_set(&f->h, "push_notification_with_body", "false");
  assert_unchanged(f);
}

/* ---- hostile enables -------------------------------------------------------- */

/* An enable that must be refused with outcome and store nothing. */
static void enable_refused(fixture *f, const char *jid, const char *node, const char *form,
                           const char *outcome) {
  unsigned saves = f->st.saves, removes = f->st.removes;
  fh_clear(&f->h);
  assert_int_equal(fh_enable(f->s, jid, node, form), 0);
  assert_int_equal(f->h.sent->len, 1);
  au_assert_last_reply(&f->h, outcome);
  assert_int_equal(f->st.saves, saves);
  assert_int_equal(f->st.removes, removes);
  assert_unchanged(f);
}

static char *form_with_fields(unsigned n, size_t value_len) {
  GString *x = g_string_new("<x xmlns='jabber:x:data' type='submit'>"
                            "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub"
                            "#publish-options</value></field>");
  for (unsigned i = 1; i < n; i++)
    g_string_append_printf(x, "<field var='f%u'><value>v</value></field>", i);
  if (value_len) {
    g_string_append(x, "<field var='big'><value>");
    for (size_t i = 0; i < value_len; i++)
      g_string_append_c(x, 'v');
    g_string_append(x, "</value></field>");
  }
  g_string_append(x, "</x>");
  return g_string_free(x, FALSE);
}

static void enable_hostile_forms(void **state) {
  fixture *f = *state;
  enable_refused(f, EVIL_JID, NULL, FORM_WITH_SECRET("a") FORM_WITH_SECRET("b"),
                 "modify/bad-request");
  /* The same form twice is still two forms. */
  enable_refused(f, EVIL_JID, NULL, FORM_WITH_SECRET("a") FORM_WITH_SECRET("a"),
                 "modify/bad-request");
  char *many = form_with_fields(5000, 0);
  enable_refused(f, EVIL_JID, NULL, many, "modify/not-acceptable");
  g_free(many);
  char *large = form_with_fields(1, 9000);
  enable_refused(f, EVIL_JID, NULL, large, "modify/not-acceptable");
  g_free(large);
  /* A form type other than submit is not publish options. */
  enable_refused(f, EVIL_JID, NULL, "<x xmlns='jabber:x:data' type='form'/>", "modify/bad-request");
}

static char *repeat(char c, size_t n) {
  char *s = g_malloc(n + 1);
  memset(s, c, n);
  s[n] = '\0';
  return s;
}

/* A domain of exactly n bytes made of valid labels. */
static char *domain_of(size_t n) {
  GString *d = g_string_new(NULL);
  size_t left = n;
  while (left > 63) {
    size_t take = MIN(62, left - 2);
    for (size_t i = 0; i < take; i++)
      g_string_append_c(d, 'd');
    g_string_append_c(d, '.');
    left -= take + 1;
  }
  for (size_t i = 0; i < left; i++)
    g_string_append_c(d, 'e');
  g_assert(d->len == n);
  return g_string_free(d, FALSE);
}

/* A resource of raw bytes that resourceprep shrinks: soft hyphens (U+00AD,
 * two bytes each) are mapped to nothing, so the parts stay within 1023
 * bytes while the JID as given grows past 3071. */
static char *shrinking_resource(size_t raw) {
  GString *r = g_string_new("r");
  while (r->len + 2 <= raw)
    g_string_append(r, "\xc2\xad");
  while (r->len < raw)
    g_string_append_c(r, 's');
  return g_string_free(r, FALSE);
}

typedef struct {
  char *jid;
  const char *outcome;
} jid_case;

static void enable_hostile_jids(void **state) {
  fixture *f = *state;
  char *n1023 = repeat('a', 1023), *n1024 = repeat('a', 1024);
  char *d1023 = domain_of(1023), *d1024 = domain_of(1024);
  char *r1023 = repeat('r', 1023), *r1024 = repeat('r', 1024);
  char *res_ok = shrinking_resource(1023), *res_long = shrinking_resource(1024);
  jid_case cases[] = {
    /* Present but empty is not missing: it is malformed. */
    { g_strdup(""), "modify/jid-malformed" },
    { g_strdup_printf("%s@%s/%s", n1023, d1023, res_long), "modify/jid-malformed" },
    { g_strdup_printf("%s@" PUSH_JID, n1024), "modify/jid-malformed" },
    { g_strdup(d1024), "modify/jid-malformed" },
    { g_strdup_printf(PUSH_JID "/%s", r1024), "modify/jid-malformed" },
    { g_strdup("a&quot;b@" PUSH_JID), "modify/jid-malformed" },
    { g_strdup("a&amp;b@" PUSH_JID), "modify/jid-malformed" },
    { g_strdup("a&apos;b@" PUSH_JID), "modify/jid-malformed" },
    { g_strdup("a:b@" PUSH_JID), "modify/jid-malformed" },
    { g_strdup("a&lt;b@" PUSH_JID), "modify/jid-malformed" },
    { g_strdup("a&gt;b@" PUSH_JID), "modify/jid-malformed" },
    { g_strdup("a b@" PUSH_JID), "modify/jid-malformed" },
    { g_strdup("a@b@" PUSH_JID), "modify/jid-malformed" },
    { g_strdup("@" PUSH_JID), "modify/jid-malformed" },
    { g_strdup("a@"), "modify/jid-malformed" },
    { g_strdup(PUSH_JID "/"), "modify/jid-malformed" },
    { g_strdup("push_service.example"), "modify/jid-malformed" },
    { g_strdup("push..example"), "modify/jid-malformed" },
    { g_strdup("push example"), "modify/jid-malformed" },
    { g_strdup("999.1.1"), "modify/jid-malformed" },
    { g_strdup("[::g]"), "modify/jid-malformed" },
    { g_strdup(PUSH_JID "/a&#127;b"), "modify/jid-malformed" },
    { g_strdup("a&#x7f;b@" PUSH_JID), "modify/jid-malformed" },
    /* The account itself, however spelled. */
    { g_strdup("JULIET@Capulet.Example"), "modify/bad-request" },
    { g_strdup("juliet@capulet.example."), "modify/bad-request" },
    { g_strdup(ALICE_FULL), "modify/bad-request" },
    { g_strdup("Juliet@CAPULET.example/another-device"), "modify/bad-request" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    print_message("  jid of %zu bytes: %.60s\n", strlen(cases[i].jid), cases[i].jid);
    enable_refused(f, cases[i].jid, NULL, NULL, cases[i].outcome);
    g_free(cases[i].jid);
  }
  /* Missing jid is the one bad-request of the table. */
  enable_refused(f, NULL, NULL, NULL, "modify/bad-request");
  /* A node over 1023 bytes, the limit of a JID part. */
  enable_refused(f, EVIL_JID, n1024, NULL, "modify/bad-request");

  /* The same limits are inclusive: at each of them the JID is taken. */
  char *at[] = {
    g_strdup_printf("%s@%s/%s", n1023, d1023, res_ok),
    g_strdup_printf("%s@" PUSH_JID, n1023),
    g_strdup(d1023),
    g_strdup_printf(PUSH_JID "/%s", r1023),
  };
  for (size_t i = 0; i < G_N_ELEMENTS(at); i++) {
    print_message("  jid of %zu bytes accepted\n", strlen(at[i]));
    assert_true(i != 0 || strlen(at[i]) == 3071);
    fh_clear(&f->h);
    au_enable_ok(&f->h, f->s, at[i], n1023, NULL);
    assert_int_equal(f->st.records->len, 2);
    fh_clear(&f->h);
    assert_int_equal(fh_disable(f->s, at[i], NULL), 0);
    au_assert_last_reply(&f->h, "result");
    assert_int_equal(f->st.records->len, 1);
    g_free(at[i]);
  }
  g_free(n1023);
  g_free(n1024);
  g_free(d1023);
  g_free(d1024);
  g_free(r1023);
  g_free(r1024);
  g_free(res_ok);
  g_free(res_long);
}

static void iq_addressed_elsewhere(void **state) {
  fixture *f = *state;
  const char *tos[] = {
    "romeo@montague.example",
    ALICE_FULL, /* a full JID is not the account */
    "capulet.example",
    "juliet@evil.example",
    "not a jid",
    "",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(tos); i++) {
    char *x = g_strdup_printf("<iq type='set' id='t1' to='%s'><enable xmlns='urn:xmpp:push:0' "
                              "jid='" EVIL_JID "'/></iq>",
                              tos[i]);
    fh_clear(&f->h);
    assert_int_equal(fh_iq(f->s, x), 0);
    assert_int_equal(f->h.sent->len, 1);
    au_assert_last_reply(&f->h, "cancel/forbidden");
    g_free(x);
    /* A disable addressed elsewhere touches nothing either. */
    x = g_strdup_printf("<iq type='set' id='t2' to='%s'><disable xmlns='urn:xmpp:push:0' "
                        "jid='" PUSH_JID "'/></iq>",
                        tos[i]);
    fh_clear(&f->h);
    assert_int_equal(fh_iq(f->s, x), 0);
    au_assert_last_reply(&f->h, "cancel/forbidden");
    g_free(x);
    assert_unchanged(f);
  }
}

/* IQs whose shape is wrong: answered with an error (or left to the host
 * when not ours), never acted upon. */
static void iq_shape(void **state) {
  fixture *f = *state;
  static const struct {
    const char *xml;
    const char *outcome; /* NULL: NOT_MINE, no reply */
  } cases[] = {
    { "<iq type='set'><enable xmlns='urn:xmpp:push:0' jid='" EVIL_JID "'/></iq>",
      "modify/bad-request" },
    { "<iq type='get' id='g'><enable xmlns='urn:xmpp:push:0' jid='" EVIL_JID "'/></iq>",
      "modify/bad-request" },
    { "<iq type='frob' id='g'><enable xmlns='urn:xmpp:push:0' jid='" EVIL_JID "'/></iq>",
      "modify/bad-request" },
    { "<iq type='set' id='g'><enable xmlns='urn:xmpp:push:0' jid='" EVIL_JID "'/>"
      "<disable xmlns='urn:xmpp:push:0' jid='" PUSH_JID "'/></iq>",
      "modify/bad-request" },
    { "<iq type='set' id='g'><enable xmlns='urn:xmpp:push:0' jid='" EVIL_JID "'/>"
      "<query xmlns='jabber:iq:version'/></iq>",
      "modify/bad-request" },
    { "<iq type='set' id='g'><Enable xmlns='urn:xmpp:push:0' jid='" EVIL_JID "'/></iq>",
      "cancel/feature-not-implemented" },
    /* Ours whichever child comes first: answered as above. */
    { "<iq type='set' id='g'><query xmlns='jabber:iq:version'/>"
      "<enable xmlns='urn:xmpp:push:0' jid='" EVIL_JID "'/></iq>",
      "modify/bad-request" },
    { "<iq type='result' id='g'><enable xmlns='urn:xmpp:push:0' jid='" EVIL_JID "'/></iq>", NULL },
    { "<message type='chat' id='g'><enable xmlns='urn:xmpp:push:0' jid='" EVIL_JID "'/>"
      "</message>",
      NULL },
    { "<iq id='g'><enable xmlns='urn:xmpp:push:0' jid='" EVIL_JID "'/></iq>", NULL },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    unsigned saves = f->st.saves;
    fh_clear(&f->h);
    int rc = fh_iq(f->s, cases[i].xml);
    if (!cases[i].outcome) {
      assert_int_equal(rc, CLOUDNOTIFY_ERR_NOT_MINE);
      assert_int_equal(f->h.sent->len, 0);
    } else {
      assert_int_equal(rc, 0);
      assert_int_equal(f->h.sent->len, 1);
      au_assert_last_reply(&f->h, cases[i].outcome);
    }
    assert_int_equal(f->st.saves, saves);
    assert_unchanged(f);
  }
  /* Without an id the error reply carries none. */
  fh_clear(&f->h);
  assert_int_equal(fh_iq(f->s, cases[0].xml), 0);
  char *id = fh_attr(fh_last(&f->h)->xml, "id");
  assert_null(id);
}

static void disable_never_enabled(void **state) {
  fixture *f = *state;
  const char *jids[] = { EVIL_JID, (PUSH_JID "/resource"), ("nobody@" PUSH_JID) };
  for (size_t i = 0; i < G_N_ELEMENTS(jids); i++) {
    for (int twice = 0; twice < 2; twice++) {
      unsigned removes = f->st.removes;
      fh_clear(&f->h);
      assert_int_equal(fh_disable(f->s, jids[i], twice ? "n1" : NULL), 0);
      assert_int_equal(f->h.sent->len, 1);
      au_assert_last_reply(&f->h, "result");
      assert_int_equal(f->st.removes, removes);
      assert_unchanged(f);
    }
  }
  /* The registered service with a node it does not have. */
  fh_clear(&f->h);
  assert_int_equal(fh_disable(f->s, PUSH_JID, "n2"), 0);
  au_assert_last_reply(&f->h, "result");
  assert_unchanged(f);
}

/* ---- app-server replies ------------------------------------------------------ */

static char *publish_id(const fake_host *h, unsigned n) {
  const fh_sent *p = fh_publish(h, n);
  assert_non_null(p);
  return fh_attr(p->xml, "id");
}

static int reply_raw(fake_host *h, const char *type, const char *id, const char *from) {
  GString *x = g_string_new("<iq");
  if (type)
    g_string_append_printf(x, " type='%s'", type);
  if (id)
    g_string_append_printf(x, " id='%s'", id);
  if (from)
    g_string_append_printf(x, " from='%s'", from);
  if (type && !strcmp(type, "error"))
    g_string_append(x, "><error type='cancel'><item-not-found "
                       "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
  else
    g_string_append(x, "/>");
  int rc = cloudnotify_handle_app_reply(h->ctx, x->str, x->len);
  g_string_free(x, TRUE);
  return rc;
}

static void spoofed_app_replies(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "2");
  const char *spoofs[] = {
    EVIL_JID,
    (PUSH_JID "/resource"), /* the service's full JID is another JID */
    ("juliet@" PUSH_JID),
    "capulet.example",
    ALICE,
    NULL, /* no from at all */
    "not a jid",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(spoofs); i++) {
    print_message("  from %s\n", spoofs[i] ? spoofs[i] : "(none)");
    /* Enabling again starts from zero errors. */
    au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
    /* One real error counted, then a spoofed result must not reset it. */
    fh_clear(&f->h);
    assert_int_equal(au_offline_msg(&f->h, ALICE, "m"), 1);
    assert_int_equal(au_offline_msg(&f->h, ALICE, "m"), 1);
    char *id1 = publish_id(&f->h, 0), *id2 = publish_id(&f->h, 1);
    assert_int_equal(reply_raw(&f->h, "error", id1, PUSH_JID), 0);
    assert_int_equal(reply_raw(&f->h, "result", id2, spoofs[i]), CLOUDNOTIFY_ERR_FOREIGN_SENDER);
    assert_int_equal(f->h.removed->len, 0);
    /* A spoofed error must not count either: at 1 error of 2, one
     * counted spoof would remove it. */
    assert_int_equal(reply_raw(&f->h, "error", id2, spoofs[i]), CLOUDNOTIFY_ERR_FOREIGN_SENDER);
    assert_int_equal(f->h.removed->len, 0);
    /* The real reply afterwards still counts: the second error removes. */
    assert_int_equal(reply_raw(&f->h, "error", id2, PUSH_JID), 0);
    assert_int_equal(f->h.removed->len, 1);
    assert_int_equal(au_removed(&f->h, 0)->reason, CLOUDNOTIFY_REMOVED_ERRORS);
    g_free(id1);
    g_free(id2);
    /* Back to the start for the next spoof. */
    fh_clear(&f->h);
    au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
    /* And a real result after a spoofed error still resets. */
    fh_clear(&f->h);
    assert_int_equal(au_offline_msg(&f->h, ALICE, "m"), 1);
    assert_int_equal(au_offline_msg(&f->h, ALICE, "m"), 1);
    assert_int_equal(au_offline_msg(&f->h, ALICE, "m"), 1);
    id1 = publish_id(&f->h, 0);
    id2 = publish_id(&f->h, 1);
    char *id3 = publish_id(&f->h, 2);
    assert_int_equal(reply_raw(&f->h, "error", id1, PUSH_JID), 0);
    assert_int_equal(reply_raw(&f->h, "error", id2, spoofs[i]), CLOUDNOTIFY_ERR_FOREIGN_SENDER);
    assert_int_equal(reply_raw(&f->h, "result", id2, PUSH_JID), 0);
    assert_int_equal(reply_raw(&f->h, "error", id3, PUSH_JID), 0);
    assert_int_equal(f->h.removed->len, 0);
    g_free(id1);
    g_free(id2);
    g_free(id3);
    assert_unchanged(f);
  }
}

static void unknown_ids_not_mine(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "1");
  assert_int_equal(au_offline_msg(&f->h, ALICE, "m"), 1);
  char *real = publish_id(&f->h, 0);
  char *upper = g_ascii_strup(real, -1);
  const char *never[] = {
    "00000000000000000000000000000000", "e1", "", upper, "x&apos;--",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(never); i++) {
    assert_int_equal(reply_raw(&f->h, "error", never[i], PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
    assert_int_equal(reply_raw(&f->h, "result", never[i], PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
  }
  assert_int_equal(reply_raw(&f->h, "error", NULL, PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
  /* The real id on something that is not a reply. */
  assert_int_equal(reply_raw(&f->h, "set", real, PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(reply_raw(&f->h, "get", real, PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(reply_raw(&f->h, NULL, real, PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
  char *msg = g_strdup_printf("<message type='error' id='%s' from='" PUSH_JID "'/>", real);
  assert_int_equal(cloudnotify_handle_app_reply(f->h.ctx, msg, strlen(msg)),
                   CLOUDNOTIFY_ERR_NOT_MINE);
  g_free(msg);
  assert_int_equal(f->h.removed->len, 0);
  /* None of them consumed the real entry. */
  assert_int_equal(reply_raw(&f->h, "result", real, PUSH_JID), 0);
  assert_int_equal(reply_raw(&f->h, "result", real, PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
  g_free(upper);
  g_free(real);
  assert_unchanged(f);
}

static void replies_after_removal_not_mine(void **state) {
  fixture *f = *state;
  /* Disabled: its publishes are forgotten. */
  assert_int_equal(au_offline_msg(&f->h, ALICE, "m"), 1);
  char *id = publish_id(&f->h, 0);
  assert_int_equal(fh_disable(f->s, PUSH_JID, "n1"), 0);
  fh_clear(&f->h);
  assert_int_equal(reply_raw(&f->h, "error", id, PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(reply_raw(&f->h, "result", id, PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(f->h.removed->len, 0);
  g_free(id);

  /* Disabled, then enabled again under the same key: the old id must not
   * count against the new registration. */
  au_set(&f->h, "push_max_errors", "1");
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "m"), 1);
  id = publish_id(&f->h, 0);
  assert_int_equal(fh_disable(f->s, PUSH_JID, "n1"), 0);
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  fh_clear(&f->h);
  assert_int_equal(reply_raw(&f->h, "error", id, PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(f->h.removed->len, 0);
  g_free(id);

  /* Removed after errors: the other outstanding publishes go with it. */
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "m"), 1);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "m"), 1);
  char *a = publish_id(&f->h, 0), *b = publish_id(&f->h, 1);
  assert_int_equal(reply_raw(&f->h, "error", a, PUSH_JID), 0);
  assert_int_equal(f->h.removed->len, 1);
  assert_int_equal(reply_raw(&f->h, "error", b, PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(reply_raw(&f->h, "result", b, PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(f->h.removed->len, 1);
  g_free(a);
  g_free(b);

  /* Evicted by the device limit: the same. */
  au_set(&f->h, "push_max_devices", "1");
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "m"), 1);
  id = publish_id(&f->h, 0);
  au_enable_device(&f->h, f->s, OTHER_PUSH_JID, NULL, NULL);
  assert_int_equal(f->h.removed->len, 1);
  assert_int_equal(au_removed(&f->h, 0)->reason, CLOUDNOTIFY_REMOVED_EVICTED);
  assert_int_equal(reply_raw(&f->h, "error", id, PUSH_JID), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(f->h.removed->len, 1);
  g_free(id);
  assert_true(au_store_find(&f->st, ALICE, OTHER_PUSH_JID, NULL) >= 0);
  assert_int_equal(f->st.records->len, 1);
}

/* ---- corrupt storage ---------------------------------------------------------- */

typedef struct {
  const char *what;
  cloudnotify_record rec;
  int expect; /* what cloudnotify_loader_add returns; 1: any documented error */
} stored_case;

static stored_case *stored_cases;
static size_t n_stored_cases;
static int *stored_rc;

static int corrupt_load(void *data, const char *account, cloudnotify_loader *loader) {
  (void)data;
  if (strcmp(account, ALICE))
    return 0;
  for (size_t i = 0; i < n_stored_cases; i++)
    stored_rc[i] = cloudnotify_loader_add(loader, &stored_cases[i].rec);
  return 0;
}

static int corrupt_save(void *d, const char *a, const cloudnotify_record *r) {
  return 0;
}

static int corrupt_remove(void *d, const char *a, const char *j, const char *n) {
  return 0;
}

static gboolean well_formed(const char *xml) {
  xmlDoc *d = xmlReadMemory(xml, (int)strlen(xml), NULL, "UTF-8",
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlFreeDoc(d);
  return d != NULL;
}

#define REC(j, n, f, at)                                                                           \
  {                                                                                                \
    .jid = j, .node = n, .publish_options = f, .publish_options_len = sizeof(f) - 1,               \
    .enabled_at_ms = at                                                                            \
  }
#define REC_NOFORM(j, n, at)                                                                       \
  { .jid = j, .node = n, .enabled_at_ms = at }
#define DATA_FORM                                                                                  \
  "<x xmlns='jabber:x:data' type='submit'><field var='a'><value>1</value></field></x>"

/* Storage is not trusted: what it hands back is validated like client
 * input, and what is taken must still make well-formed publishes. */
static void corrupt_store_records(void **state) {
  (void)state;
  char *node1024 = repeat('n', 1024);
  char *jid3072 = g_strdup_printf("%s@push.example", node1024);
  char *big_form = g_strdup_printf("<x xmlns='jabber:x:data'><field var='a'><value>%09000d"
                                   "</value></field></x>",
                                   0);
  GString *many = g_string_new("<x xmlns='jabber:x:data'>");
  for (int i = 0; i < 65; i++)
    g_string_append_printf(many, "<field var='f%d'/>", i);
  g_string_append(many, "</x>");
  stored_case cases[] = {
    { "valid", REC(PUSH_JID, "good", DATA_FORM, 10), 0 },
    { "older copy of the same key", REC_NOFORM(PUSH_JID, "good", 5), 0 },
    { "empty jid", REC_NOFORM("", "n", 1), CLOUDNOTIFY_ERR_JID_MALFORMED },
    { "jid with a space", REC_NOFORM("a b@" PUSH_JID, "n", 1), CLOUDNOTIFY_ERR_JID_MALFORMED },
    { "jid part over 1023 bytes", REC_NOFORM(jid3072, "n", 1), CLOUDNOTIFY_ERR_JID_MALFORMED },
    { "jid NULL", REC_NOFORM(NULL, "n", 1), CLOUDNOTIFY_ERR_INVALID_ARGUMENT },
    { "node over 1023 bytes", REC_NOFORM(PUSH_JID, node1024, 1), CLOUDNOTIFY_ERR_TOO_LARGE },
    { "node with a C0 control", REC_NOFORM(PUSH_JID, "a\001b", 1), CLOUDNOTIFY_ERR_XML },
    { "node with U+FFFE", REC_NOFORM(PUSH_JID, "a\xef\xbf\xbe", 1), CLOUDNOTIFY_ERR_XML },
    { "node not UTF-8", REC_NOFORM(PUSH_JID, "a\xff", 1), 1 },
    { "form not XML", REC(PUSH_JID, "f1", "<x", 1), CLOUDNOTIFY_ERR_XML },
    { "form with a DOCTYPE", REC(PUSH_JID, "f2", "<!DOCTYPE x><x xmlns='jabber:x:data'/>", 1),
      CLOUDNOTIFY_ERR_XML },
    { "form with a NUL", REC(PUSH_JID, "f3", "<x xmlns='jabber:x:data'>\0</x>", 1),
      CLOUDNOTIFY_ERR_XML },
    { "not a data form", REC(PUSH_JID, "f4", "<y xmlns='jabber:x:data'/>", 1),
      CLOUDNOTIFY_ERR_XML },
    { "form in another namespace", REC(PUSH_JID, "f5", "<x xmlns='urn:evil'/>", 1),
      CLOUDNOTIFY_ERR_XML },
    { "two roots", REC(PUSH_JID, "f6", "<x xmlns='jabber:x:data'/><x xmlns='jabber:x:data'/>", 1),
      CLOUDNOTIFY_ERR_XML },
    { "form over the size bound",
      { .jid = PUSH_JID,
        .node = "f7",
        .publish_options = big_form,
        .publish_options_len = strlen(big_form),
        .enabled_at_ms = 1 },
      CLOUDNOTIFY_ERR_TOO_LARGE },
    { "form with too many fields",
      { .jid = PUSH_JID,
        .node = "f8",
        .publish_options = many->str,
        .publish_options_len = many->len,
        .enabled_at_ms = 1 },
      CLOUDNOTIFY_ERR_TOO_LARGE },
    /* Valid alone, but copied verbatim it would break every publish. */
    { "form with an XML declaration",
      REC(PUSH_JID, "decl", "<?xml version='1.0'?><x xmlns='jabber:x:data' type='submit'/>", 20),
      0 },
    { "form with a prefix",
      REC(PUSH_JID, "prefix", "<d:x xmlns:d='jabber:x:data' type='submit'/>", 30), 0 },
  };
  stored_cases = cases;
  n_stored_cases = G_N_ELEMENTS(cases);
  int rcs[G_N_ELEMENTS(cases)];
  stored_rc = rcs;

  fake_host h;
  fh_init(&h);
  cloudnotify_store v = {
    .size = sizeof v, .load = corrupt_load, .save = corrupt_save, .remove = corrupt_remove
  };
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &v, NULL), 0);
  unsigned n = 12345;
  assert_int_equal(cloudnotify_ping(h.ctx, ALICE, NULL, 0, &n), 0);
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    print_message("  %s: %d\n", cases[i].what, rcs[i]);
    if (cases[i].expect == 1)
      assert_true(rcs[i] == CLOUDNOTIFY_ERR_XML || rcs[i] == CLOUDNOTIFY_ERR_TOO_LARGE ||
                  rcs[i] == CLOUDNOTIFY_ERR_JID_MALFORMED);
    else
      assert_int_equal(rcs[i], cases[i].expect);
  }
  /* good (its newer copy), decl, prefix. */
  assert_int_equal(n, 3);
  for (guint i = 0; i < h.sent->len; i++) {
    const fh_sent *p = h.sent->pdata[i];
    if (!well_formed(p->xml))
      fail_msg("ill-formed publish: %s", p->xml);
  }
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "good"), 1);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "decl"), 1);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "prefix"), 1);
  /* The newer copy of a key wins: its form is the one sent. */
  assert_true(au_sent_contains(&h, "<field var='a'><value>1</value></field>"));
  assert_true(au_log_contains(&h, "skipping an invalid registration"));
  fh_fini(&h);
  g_free(node1024);
  g_free(jid3072);
  g_free(big_form);
  g_string_free(many, TRUE);
}

/* ---- host strings ------------------------------------------------------------- */

/* Escaping cannot represent C0 controls or U+FFFE/U+FFFF: an operator's
 * "New\001Message" must be refused, not turn every important publish into
 * ill-formed XML (an app server's stream would be closed). */
static void host_strings_never_break_publishes(void **state) {
  (void)state;
  const char *bodies[] = { "New\001Message", "New\xef\xbf\xbe", "a\x1b[31m" };
  for (size_t i = 0; i < G_N_ELEMENTS(bodies); i++) {
    fake_host h;
    fh_init(&h);
    int rc = cloudnotify_ctx_set_option_string(h.ctx, CLOUDNOTIFY_OPT_IMPORTANT_BODY, bodies[i]);
    if (rc == 0) {
      cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
      au_enable_ok(&h, s, PUSH_JID, NULL, NULL);
      cloudnotify_session_free(s);
      assert_int_equal(au_offline_msg(&h, ALICE, "hi"), 1);
      assert_true(well_formed(fh_publish(&h, 0)->xml));
    } else {
      assert_int_equal(rc, CLOUDNOTIFY_ERR_OPTION_VALUE);
    }
    fh_fini(&h);
  }
}

/* ---- log privacy ----------------------------------------------------------- */

#define SECRET    "s3cr3t-publish-token-Qx7"
#define BODY_MARK "body-secret-Zk4"

static void log_privacy_one(gboolean with_body, gboolean with_sender) {
  fake_host h;
  fh_init(&h);
  au_store st;
  au_store_init(&st);
  au_use_store(&h, &st);
  /* A stored record whose form is broken but holds the secret: the
   * loader refuses and logs it. */
  cloudnotify_record bad = { .jid = OTHER_PUSH_JID,
                             .node = "x",
                             .publish_options =
                                 "<x xmlns='jabber:x:data'><field var='secret'><value>" SECRET
                                 "</value></field><oops></x>",
                             .enabled_at_ms = 1 };
  bad.publish_options_len = strlen(bad.publish_options);
  assert_int_equal(au_store_save(&st, ALICE, &bad), 0);

  au_set(&h, "push_notification_with_body", with_body ? "true" : "false");
  au_set(&h, "push_notification_with_sender", with_sender ? "true" : "false");
  au_set(&h, "push_max_errors", "2");
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, "n1", FORM_WITH_SECRET(SECRET));
  /* Refused forms holding the secret. */
  assert_int_equal(fh_enable(s, PUSH_JID, "n2", FORM_WITH_SECRET(SECRET) FORM_WITH_SECRET(SECRET)),
                   0);
  au_assert_last_reply(&h, "modify/bad-request");
  char *big = g_strdup_printf("<x xmlns='jabber:x:data' type='submit'><field var='s'><value>" SECRET
                              "%09000d</value></field></x>",
                              0);
  assert_int_equal(fh_enable(s, PUSH_JID, "n3", big), 0);
  au_assert_last_reply(&h, "modify/not-acceptable");
  g_free(big);

  unsigned seq = 0;
  char id[32], body[64];
#define NEXT()                                                                                     \
  (g_snprintf(id, sizeof id, "lp-%u", ++seq), g_snprintf(body, sizeof body, BODY_MARK "-%u", seq))
  NEXT();
  char *m = fh_message(ALICE, id, body);
  unsigned n;
  assert_int_equal(cloudnotify_message_offline(h.ctx, ALICE, m, strlen(m), &n), 0);
  assert_int_equal(n, 1);
  g_free(m);
  NEXT();
  m = fh_message(ALICE, id, body);
  /* A stanza that does not parse, body inside. */
  GString *broken = g_string_new(m);
  g_string_truncate(broken, broken->len - 3);
  assert_int_equal(cloudnotify_message_offline(h.ctx, ALICE, broken->str, broken->len, &n),
                   CLOUDNOTIFY_ERR_XML);
  assert_int_equal(cloudnotify_message_groupchat_bare(h.ctx, ALICE, m, strlen(m), &n), 0);
  g_free(m);
  /* Session paths: live queue and ack delay, hibernation, coalescing,
   * an unparsable queued stanza. */
  NEXT();
  m = fh_message(ALICE, id, body);
  assert_int_equal(cloudnotify_session_queued(s, m, strlen(m)), 0);
  assert_int_equal(cloudnotify_session_ack_requested(s), 0);
  h.now += 31000;
  assert_int_equal(cloudnotify_tick(h.ctx), 0);
  g_free(m);
  NEXT();
  m = fh_message(ALICE, id, body);
  cloudnotify_buf q[2] = { { m, strlen(m) }, { broken->str, broken->len } };
  assert_int_equal(cloudnotify_session_hibernated(s, q, 2), 0);
  g_free(m);
  NEXT();
  m = fh_message(ALICE, id, body);
  assert_int_equal(cloudnotify_session_queued(s, m, strlen(m)), 0);
  assert_int_equal(cloudnotify_session_queued(s, broken->str, broken->len), CLOUDNOTIFY_ERR_XML);
  h.now += 1000;
  assert_int_equal(cloudnotify_tick(h.ctx), 0);
  g_free(m);
  g_string_free(broken, TRUE);
  NEXT();
  m = fh_message(ALICE, id, body);
  assert_int_equal(cloudnotify_message_archived(h.ctx, ALICE, m, strlen(m), "arch-lp", &n), 0);
  g_free(m);
#undef NEXT
  unsigned published = au_publishes(&h);
  assert_true(published >= 4);
  /* App-server errors to the limit: the second removes it. */
  unsigned before = h.removed->len;
  assert_int_equal(fh_reply(&h, 0, "cancel", NULL), 0);
  assert_int_equal(fh_reply(&h, 0, "cancel", "evil.example"), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(fh_reply(&h, 1, "wait", NULL), 0);
  assert_int_equal(fh_reply(&h, 2, "auth", NULL), 0);
  assert_int_equal(h.removed->len, before + 1);
  assert_int_equal(au_removed(&h, before)->reason, CLOUDNOTIFY_REMOVED_ERRORS);
  au_enable_ok(&h, s, PUSH_JID, "n1", FORM_WITH_SECRET(SECRET));
  assert_int_equal(fh_disable(s, PUSH_JID, NULL), 0);
  au_assert_last_reply(&h, "result");

  /* The test sees what a leak would look like: the secret and the
   * bodies are in what was sent where the options allow it. */
  assert_true(au_sent_contains(&h, SECRET));
  assert_true(au_sent_contains(&h, BODY_MARK) == with_body);
  assert_true(au_sent_contains(&h, "romeo@montague.example/orchard") == with_sender);
  /* Logging was on throughout: lines for the events above exist. */
  assert_true(au_log_contains(&h, "skipping an invalid registration"));
  assert_true(au_log_contains(&h, "unparsable"));
  assert_true(au_log_contains(&h, "disabling push"));
  assert_true(au_log_contains(&h, "push disabled"));
  for (guint i = 0; i < h.logs->len; i++) {
    const char *line = h.logs->pdata[i];
    if (strstr(line, SECRET) || strstr(line, BODY_MARK))
      fail_msg("log line leaks a secret or body: %s", line);
  }
  cloudnotify_session_free(s);
  fh_fini(&h);
  au_store_fini(&st);
}

static void logs_never_hold_bodies_or_secrets(void **state) {
  (void)state;
  for (int b = 0; b < 2; b++)
    for (int s = 0; s < 2; s++) {
      print_message("  with_body=%d with_sender=%d\n", b, s);
      log_privacy_one(b, s);
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    T(hostile_templates_work),
    T(hostile_client_iq),
    T(hostile_triggers),
    T(hostile_app_replies),
    T(hostile_in_session_queues),
    T(enable_hostile_forms),
    T(enable_hostile_jids),
    T(iq_addressed_elsewhere),
    T(iq_shape),
    T(disable_never_enabled),
    T(spoofed_app_replies),
    T(unknown_ids_not_mine),
    T(replies_after_removal_not_mine),
#undef T
    cmocka_unit_test(corrupt_store_records),
    cmocka_unit_test(host_strings_never_break_publishes),
    cmocka_unit_test(logs_never_hold_bodies_or_secrets),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
