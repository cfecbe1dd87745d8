/* Unit tests for lib/rules.c: which stanzas are important or urgent, the
 * unwrapping of carbons, and stanza keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "cloudnotify/cloudnotify.h"
#include "rules.h"
#include "xml.h"

#define ACCOUNT "juliet@capulet.example"

static cn_xml_parser *parser;

static int setup(void **state) {
  (void)state;
  parser = cn_xml_parser_new();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  cn_xml_parser_free(parser);
  parser = NULL;
  return 0;
}

static xmlDoc *parse(const char *xml) {
  xmlDoc *doc = NULL;

  assert_int_equal(cn_xml_parse(parser, xml, strlen(xml), 64 * 1024, 32, &doc), 0);
  assert_non_null(doc);
  return doc;
}

/* Classify xml for ACCOUNT; the caller clears *info. */
static void classify(const char *xml, cn_summary *info) {
  xmlDoc *doc = parse(xml);

  /* Junk in *info must not matter: classify starts from scratch. */
  memset(info, 0xff, sizeof *info);
  cn_rules_classify(xmlDocGetRootElement(doc), ACCOUNT, info);
  xmlFreeDoc(doc);
  assert_non_null(info->key);
}

static char *key_of(const char *xml) {
  cn_summary info;
  char *key;

  classify(xml, &info);
  key = g_strdup(info.key);
  cn_summary_clear(&info);
  return key;
}

#define MSG_HEAD                                                                                   \
  "<message xmlns='jabber:client' from='romeo@montague.example/orchard'"                           \
  " to='" ACCOUNT "' type='chat' id='m1'>"
#define FROM_ROMEO "romeo@montague.example/orchard"

static const struct rule_case {
  const char *name;
  const char *xml;
  int is_message;
  int important;
  int urgent;
  int outgoing_carbon;
  const char *sender; /* NULL: expect none */
  const char *body;   /* NULL: expect none */
} cases[] = {
  { "chat with body", MSG_HEAD "<body>Hello</body></message>", 1, 1, 0, 0, FROM_ROMEO, "Hello" },
  { "empty body", MSG_HEAD "<body/></message>", 1, 0, 0, 0, FROM_ROMEO, "" },
  { "empty body, open and close tags", MSG_HEAD "<body></body></message>", 1, 0, 0, 0, FROM_ROMEO,
    "" },
  { "no body", MSG_HEAD "<thread>t</thread></message>", 1, 0, 0, 0, FROM_ROMEO, NULL },
  { "whitespace body counts as non-empty", MSG_HEAD "<body> </body></message>", 1, 1, 0, 0,
    FROM_ROMEO, " " },
  { "body without any namespace (server serialisation)",
    "<message from='a@b/c' type='chat'><body>hi</body></message>", 1, 1, 0, 0, "a@b/c", "hi" },
  { "message without type is normal",
    "<message xmlns='jabber:client' from='a@b'><body>hi</body></message>", 1, 1, 0, 0, "a@b",
    "hi" },
  { "body in a foreign namespace is not the body",
    "<message from='a@b'><body xmlns='urn:other'>hi</body></message>", 1, 0, 0, 0, "a@b", NULL },
  { "headline with body",
    "<message xmlns='jabber:client' from='news.example' type='headline'>"
    "<body>News</body></message>",
    1, 0, 0, 0, "news.example", "News" },
  { "groupchat with subject and body",
    "<message xmlns='jabber:client' from='room@muc.example/nick' type='groupchat'>"
    "<subject>Topic</subject><body>nick has set the subject</body></message>",
    1, 0, 0, 0, "room@muc.example/nick", "nick has set the subject" },
  { "groupchat with body only",
    "<message xmlns='jabber:client' from='room@muc.example/nick' type='groupchat'>"
    "<body>hi all</body></message>",
    1, 1, 0, 0, "room@muc.example/nick", "hi all" },
  { "groupchat subject carrying an encrypted payload: the payload wins",
    "<message from='room@muc.example/n' type='groupchat'><subject>t</subject>"
    "<encrypted xmlns='urn:xmpp:omemo:2'/></message>",
    1, 1, 0, 0, "room@muc.example/n", NULL },
  { "chat with subject and body is still important",
    MSG_HEAD "<subject>s</subject><body>b</body></message>", 1, 1, 0, 0, FROM_ROMEO, "b" },
  { "presence", "<presence xmlns='jabber:client' from='a@b/c'><status>away</status></presence>", 0,
    0, 0, 0, "a@b/c", NULL },
  { "presence with a body-like child is still not a message",
    "<presence from='a@b/c'><body>x</body></presence>", 0, 0, 0, 0, "a@b/c", "x" },
  { "iq",
    "<iq xmlns='jabber:client' type='get' id='q' from='a@b/c'>"
    "<query xmlns='jabber:iq:version'/></iq>",
    0, 0, 0, 0, "a@b/c", NULL },
  { "OMEMO (legacy) without body",
    MSG_HEAD "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'/>"
             "</encrypted></message>",
    1, 1, 0, 0, FROM_ROMEO, NULL },
  { "OMEMO 0 without body", MSG_HEAD "<encrypted xmlns='urn:xmpp:omemo:0'/></message>", 1, 1, 0, 0,
    FROM_ROMEO, NULL },
  { "OMEMO 2 without body", MSG_HEAD "<encrypted xmlns='urn:xmpp:omemo:2'/></message>", 1, 1, 0, 0,
    FROM_ROMEO, NULL },
  { "legacy OpenPGP without body",
    MSG_HEAD "<x xmlns='jabber:x:encrypted'>qANQR1DBwU4D</x></message>", 1, 1, 0, 0, FROM_ROMEO,
    NULL },
  { "OpenPGP for XMPP without body",
    MSG_HEAD "<openpgp xmlns='urn:xmpp:openpgp:0'>BASE64</openpgp></message>", 1, 1, 0, 0,
    FROM_ROMEO, NULL },
  { "encrypted element in the wrong namespace is nothing",
    MSG_HEAD "<encrypted xmlns='urn:xmpp:omemo:1'/></message>", 1, 0, 0, 0, FROM_ROMEO, NULL },
  { "encrypted element nested deeper does not count",
    MSG_HEAD "<wrap xmlns='urn:w'><encrypted xmlns='urn:xmpp:omemo:2'/></wrap></message>", 1, 0, 0,
    0, FROM_ROMEO, NULL },
  { "OMEMO in a headline stays unimportant",
    "<message from='a@b' type='headline'><encrypted xmlns='urn:xmpp:omemo:2'/></message>", 1, 0, 0,
    0, "a@b", NULL },
  { "JMI propose",
    "<message xmlns='jabber:client' from='romeo@montague.example/phone' type='chat'>"
    "<propose xmlns='urn:xmpp:jingle-message:0' id='call1'>"
    "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>"
    "<store xmlns='urn:xmpp:hints'/></message>",
    1, 1, 1, 0, "romeo@montague.example/phone", NULL },
  { "JMI retract is not urgent",
    "<message from='a@b/c'><retract xmlns='urn:xmpp:jingle-message:0' id='x'/></message>", 1, 0, 0,
    0, "a@b/c", NULL },
  { "JMI propose, namespace 1",
    "<message from='romeo@montague.example/phone' type='chat'>"
    "<propose xmlns='urn:xmpp:jingle-message:1' id='call1'/></message>",
    1, 1, 1, 0, "romeo@montague.example/phone", NULL },
  { "JMI accept, namespace 1, is not urgent",
    "<message from='a@b/c'><accept xmlns='urn:xmpp:jingle-message:1' id='x'/></message>", 1, 0, 0,
    0, "a@b/c", NULL },
  { "JMI propose in a future namespace is nothing",
    "<message from='a@b/c'><propose xmlns='urn:xmpp:jingle-message:2' id='x'/></message>", 1, 0, 0,
    0, "a@b/c", NULL },
  { "incoming carbon with body",
    "<message xmlns='jabber:client' from='" ACCOUNT "' to='" ACCOUNT "/balcony'>"
    "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
    "<message xmlns='jabber:client' from='romeo@montague.example/garden'"
    " to='" ACCOUNT "/chamber' type='chat'><body>Wherefore</body></message>"
    "</forwarded></received></message>",
    1, 1, 0, 0, "romeo@montague.example/garden", "Wherefore" },
  { "incoming carbon, inner message without namespace",
    "<message from='" ACCOUNT "'>"
    "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
    "<delay xmlns='urn:xmpp:delay' stamp='2020-01-01T00:00:00Z'/>"
    "<message xmlns='' from='romeo@montague.example/garden' type='chat'><body>art</body></message>"
    "</forwarded></received></message>",
    1, 1, 0, 0, "romeo@montague.example/garden", "art" },
  { "carbon from a peer is not unwrapped (spoofed sender and body)",
    "<message xmlns='jabber:client' from='mallory@evil.example/x' type='chat'>"
    "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
    "<message xmlns='jabber:client' from='bank@bank.example' type='chat'>"
    "<body>Your code is 1234</body></message></forwarded></received></message>",
    1, 0, 0, 0, "mallory@evil.example/x", NULL },
  { "outgoing carbon from a peer is not believed",
    "<message xmlns='jabber:client' from='mallory@evil.example/x' type='chat'>"
    "<body>hi</body><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
    "<message xmlns='jabber:client' from='" ACCOUNT "/a'><body>x</body></message>"
    "</forwarded></sent></message>",
    1, 1, 0, 0, "mallory@evil.example/x", "hi" },
  { "error bounce with body is not important",
    "<message from='romeo@montague.example' type='error'><body>Wherefore</body>"
    "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
    "</error></message>",
    1, 0, 0, 0, "romeo@montague.example", "Wherefore" },
  { "a call in a headline is neither important nor urgent",
    "<message from='a@b/c' type='headline'><propose xmlns='urn:xmpp:jingle-message:0' id='x'/>"
    "</message>",
    1, 0, 0, 0, "a@b/c", NULL },
  { "incoming carbon wrapping a headline",
    "<message xmlns='jabber:client' from='" ACCOUNT "'>"
    "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
    "<message xmlns='jabber:client' from='news.example' type='headline'>"
    "<body>News</body></message></forwarded></received></message>",
    1, 0, 0, 0, "news.example", "News" },
  { "incoming carbon wrapping a call",
    "<message from='" ACCOUNT "'>"
    "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
    "<message xmlns='jabber:server' from='romeo@montague.example/p'>"
    "<propose xmlns='urn:xmpp:jingle-message:0' id='c'/></message>"
    "</forwarded></received></message>",
    1, 1, 1, 0, "romeo@montague.example/p", NULL },
  { "a <message/> inheriting the forward namespace is not a stanza",
    "<message from='" ACCOUNT "'>"
    "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
    "<message from='c@d'><body>x</body></message></forwarded></received></message>",
    1, 0, 0, 0, ACCOUNT, NULL },
  { "carbon element in the wrong namespace is not unwrapped",
    "<message from='a@b'>"
    "<received xmlns='urn:xmpp:carbons:1'><forwarded xmlns='urn:xmpp:forward:0'>"
    "<message from='c@d'><body>x</body></message></forwarded></received></message>",
    1, 0, 0, 0, "a@b", NULL },
  { "outgoing carbon",
    "<message xmlns='jabber:client' from='" ACCOUNT "' to='" ACCOUNT "/balcony'>"
    "<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
    "<message xmlns='jabber:client' from='" ACCOUNT "/chamber'"
    " to='romeo@montague.example' type='chat'><body>My lord</body></message>"
    "</forwarded></sent></message>",
    1, 0, 0, 1, ACCOUNT, NULL },
  { "outgoing carbon of a call is not urgent",
    "<message from='" ACCOUNT "'>"
    "<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
    "<message from='" ACCOUNT "/x'><propose xmlns='urn:xmpp:jingle-message:0' id='c'/>"
    "</message></forwarded></sent></message>",
    1, 0, 0, 1, ACCOUNT, NULL },
  { "chat state only",
    MSG_HEAD "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>", 1, 0, 0, 0,
    FROM_ROMEO, NULL },
  { "receipt only", MSG_HEAD "<received xmlns='urn:xmpp:receipts' id='x'/></message>", 1, 0, 0, 0,
    FROM_ROMEO, NULL },
  { "no from", "<message><body>x</body></message>", 1, 1, 0, 0, NULL, "x" },
  { "first body wins",
    "<message from='a@b'><body xml:lang='en'>one</body><body xml:lang='de'>eins</body></message>",
    1, 1, 0, 0, "a@b", "one" },
  { "body text is direct text only, entities decoded",
    "<message from='a@b'><body>a&amp;b<i>x</i>c</body></message>", 1, 1, 0, 0, "a@b", "a&bc" },
};

static void test_classify_table(void **state) {
  (void)state;
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    const struct rule_case *c = &cases[i];
    cn_summary info;

    classify(c->xml, &info);
    /* Name the row before the assertion that will stop the test. */
    if (info.is_message != (unsigned)c->is_message || info.important != (unsigned)c->important ||
        info.urgent != (unsigned)c->urgent ||
        info.outgoing_carbon != (unsigned)c->outgoing_carbon ||
        g_strcmp0(info.sender, c->sender) != 0 || g_strcmp0(info.body, c->body) != 0)
      print_error("failing case: %s\n", c->name);
    assert_int_equal(info.is_message, c->is_message);
    assert_int_equal(info.important, c->important);
    assert_int_equal(info.urgent, c->urgent);
    assert_int_equal(info.outgoing_carbon, c->outgoing_carbon);
    if (c->sender == NULL)
      assert_null(info.sender);
    else
      assert_string_equal(info.sender, c->sender);
    if (c->body == NULL)
      assert_null(info.body);
    else
      assert_string_equal(info.body, c->body);
    cn_summary_clear(&info);
  }
}

static void test_key_stanza_id(void **state) {
  char *key;

  (void)state;
  key = key_of("<message from='a@b/c' id='client-id'>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='" ACCOUNT "' id='sid-1'/>"
               "<body>x</body></message>");
  assert_string_equal(key, "sid:sid-1");
  g_free(key);

  /* The domain (and here the node too) compares case-insensitively. */
  key = key_of("<message from='a@b/c' id='client-id'>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='Juliet@Capulet.EXAMPLE' id='sid-2'/>"
               "</message>");
  assert_string_equal(key, "sid:sid-2");
  g_free(key);

  /* A stanza-id set by someone else (a MUC, or forged by the sender) is
   * not ours. */
  key = key_of("<message from='room@muc.example/n' id='client-id' type='groupchat'>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='room@muc.example' id='room-sid'/>"
               "<body>x</body></message>");
  assert_string_equal(key, "id:room@muc.example/n\nclient-id");
  g_free(key);

  /* Ours is found among several. */
  key = key_of("<message from='room@muc.example/n' id='client-id' type='groupchat'>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='room@muc.example' id='room-sid'/>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='" ACCOUNT "' id='our-sid'/>"
               "</message>");
  assert_string_equal(key, "sid:our-sid");
  g_free(key);

  /* Wrong namespace, missing id, or a full JID in 'by' do not count. */
  key = key_of("<message from='a@b' id='i'>"
               "<stanza-id xmlns='urn:xmpp:sid:1' by='" ACCOUNT "' id='x'/>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='" ACCOUNT "'/>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='" ACCOUNT "/res' id='y'/>"
               "</message>");
  assert_string_equal(key, "id:a@b\ni");
  g_free(key);

  /* Only a direct child of the root counts. */
  key = key_of("<message from='a@b' id='i'><x xmlns='urn:x'>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='" ACCOUNT "' id='x'/>"
               "</x></message>");
  assert_string_equal(key, "id:a@b\ni");
  g_free(key);
}

/* Non-ASCII accounts: 'by' is folded the way nodeprep folds. */
static void test_key_stanza_id_unicode(void **state) {
  const char *xml = "<message from='a@b' id='i'>"
                    "<stanza-id xmlns='urn:xmpp:sid:0' by='J\xc3\x9cLIET@Capulet.example'"
                    " id='u1'/></message>";
  xmlDoc *doc = parse(xml);
  cn_summary info;

  (void)state;
  cn_rules_classify(xmlDocGetRootElement(doc), "j\xc3\xbcliet@capulet.example", &info);
  assert_string_equal(info.key, "sid:u1");
  cn_summary_clear(&info);
  cn_rules_classify(xmlDocGetRootElement(doc), "juliet@capulet.example", &info);
  assert_string_equal(info.key, "id:a@b\ni");
  cn_summary_clear(&info);
  /* No account: no stanza-id can be ours. */
  cn_rules_classify(xmlDocGetRootElement(doc), NULL, &info);
  assert_string_equal(info.key, "id:a@b\ni");
  cn_summary_clear(&info);
  xmlFreeDoc(doc);
}

static void test_key_id(void **state) {
  char *key;

  (void)state;
  key = key_of("<message from='a@b/c' id='abc'><body>x</body></message>");
  assert_string_equal(key, "id:a@b/c\nabc");
  g_free(key);
  key = key_of("<message id='abc'><body>x</body></message>");
  assert_string_equal(key, "id:\nabc");
  g_free(key);
  key = key_of("<presence from='a@b/c' id='p1'/>");
  assert_string_equal(key, "id:a@b/c\np1");
  g_free(key);
}

static gboolean is_sha256_key(const char *key) {
  if (!g_str_has_prefix(key, "sha256:") || strlen(key) != 7 + 64)
    return FALSE;
  for (const char *p = key + 7; *p != '\0'; p++) {
    if (!g_ascii_isxdigit(*p) || g_ascii_isupper(*p))
      return FALSE;
  }
  return TRUE;
}

static void test_key_content_hash(void **state) {
  char *plain, *delayed, *delayed_first, *other_body, *jc, *other_delay, *nested_delay, *again;

  (void)state;
  plain = key_of("<message from='a@b/c' type='chat'><body>hello</body></message>");
  assert_true(is_sha256_key(plain));

  again = key_of("<message from='a@b/c' type='chat'><body>hello</body></message>");
  assert_string_equal(again, plain);

  delayed = key_of("<message from='a@b/c' type='chat'><body>hello</body>"
                   "<delay xmlns='urn:xmpp:delay' from='b' stamp='2024-01-01T00:00:00Z'>"
                   "Offline Storage</delay></message>");
  assert_string_equal(delayed, plain);
  delayed_first = key_of("<message from='a@b/c' type='chat'>"
                         "<delay xmlns='urn:xmpp:delay' stamp='2024-01-02T00:00:00Z'/>"
                         "<body>hello</body></message>");
  assert_string_equal(delayed_first, plain);

  other_body = key_of("<message from='a@b/c' type='chat'><body>hullo</body></message>");
  assert_true(is_sha256_key(other_body));
  assert_string_not_equal(other_body, plain);

  /* Stanza namespace written out or left implicit: same stanza. */
  jc = key_of("<message xmlns='jabber:client' from='a@b/c' type='chat'>"
              "<body>hello</body></message>");
  assert_string_equal(jc, plain);

  /* Only urn:xmpp:delay directly under the root is ignored. */
  other_delay = key_of("<message from='a@b/c' type='chat'><body>hello</body>"
                       "<delay xmlns='urn:xmpp:delay:other'/></message>");
  assert_string_not_equal(other_delay, plain);
  nested_delay = key_of("<message from='a@b/c' type='chat'><body>hello</body>"
                        "<x xmlns='urn:x'><delay xmlns='urn:xmpp:delay'/></x></message>");
  assert_string_not_equal(nested_delay, plain);
  g_free(again);
  g_free(nested_delay);
  g_free(other_delay);
  g_free(jc);
  g_free(plain);
  g_free(delayed);
  g_free(delayed_first);
  g_free(other_body);
}

static void test_key_hash_distinguishes_structure(void **state) {
  char *a, *b, *c, *d;

  (void)state;
  /* Text moved across an element boundary, or an attribute turned into
   * text, must not collide. */
  a = key_of("<message from='a@b'><body>x</body><thread>y</thread></message>");
  b = key_of("<message from='a@b'><body>xy</body><thread/></message>");
  c = key_of("<message from='a@b' t='y'><body>x</body></message>");
  d = key_of("<message from='a@b'><body>x</body></message>");
  assert_string_not_equal(a, b);
  assert_string_not_equal(c, d);
  assert_string_not_equal(a, d);
  g_free(a);
  g_free(b);
  g_free(c);
  g_free(d);
}

/* Namespaced attributes count, whatever prefix spells them. */
static void test_key_hash_namespaced_attributes(void **state) {
  char *a, *b, *c, *d;

  (void)state;
  a = key_of("<message from='a@b' xmlns:p='urn:p' p:x='1'><body>x</body></message>");
  b = key_of("<message from='a@b' xmlns:q='urn:p' q:x='1'><body>x</body></message>");
  c = key_of("<message from='a@b' xmlns:p='urn:p' p:x='2'><body>x</body></message>");
  d = key_of("<message from='a@b'><body>x</body></message>");
  assert_string_equal(a, b);
  assert_string_not_equal(a, c);
  assert_string_not_equal(a, d);
  g_free(a);
  g_free(b);
  g_free(c);
  g_free(d);
}

static void test_empty_id_falls_back(void **state) {
  char *key;

  (void)state;
  key = key_of("<message from='a@b' id=''><body>x</body></message>");
  assert_true(is_sha256_key(key));
  g_free(key);
  key = key_of("<message from='a@b'>"
               "<stanza-id xmlns='urn:xmpp:sid:0' by='" ACCOUNT "' id=''/>"
               "<body>x</body></message>");
  assert_true(is_sha256_key(key));
  g_free(key);
}

static void test_clear(void **state) {
  cn_summary info;

  (void)state;
  classify(MSG_HEAD "<body>Hello</body></message>", &info);
  assert_non_null(info.sender);
  assert_non_null(info.body);
  cn_summary_clear(&info);
  assert_null(info.sender);
  assert_null(info.body);
  assert_null(info.key);
  assert_int_equal(info.is_message, 0);
  assert_int_equal(info.important, 0);
  assert_int_equal(info.urgent, 0);
  assert_int_equal(info.outgoing_carbon, 0);
  /* Idempotent and NULL-safe. */
  cn_summary_clear(&info);
  cn_summary_clear(NULL);
}

/* The info owns copies: they survive the document. */
static void test_info_outlives_doc(void **state) {
  cn_summary info;
  xmlDoc *doc = parse("<message from='a@b/c'><body>kept</body></message>");

  (void)state;
  cn_rules_classify(xmlDocGetRootElement(doc), ACCOUNT, &info);
  xmlFreeDoc(doc);
  assert_string_equal(info.sender, "a@b/c");
  assert_string_equal(info.body, "kept");
  assert_true(is_sha256_key(info.key));
  cn_summary_clear(&info);
}

/* ---- calls (XEP-0353 in both namespaces) ------------------------------- */

#define PROPOSE(ns, extra)                                                                         \
  "<message xmlns='jabber:client' from='Romeo@Montague.example/phone' to='" ACCOUNT "' "           \
  "type='chat' id='msg-1'><propose xmlns='" ns "' id='call-9'>"                                    \
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"                                \
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/>"                                \
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"                                \
  "<description xmlns='urn:other' media='text'/></propose>" extra "</message>"

static void test_call_both_namespaces(void **state) {
  (void)state;
  static const char *const ns[] = { "urn:xmpp:jingle-message:0", "urn:xmpp:jingle-message:1" };
  for (size_t i = 0; i < G_N_ELEMENTS(ns); i++) {
    char *xml = g_strdup_printf(PROPOSE("%s", ""), ns[i]);
    cn_summary info;
    classify(xml, &info);
    assert_true(info.important);
    assert_true(info.urgent);
    assert_false(info.invisible);
    assert_string_equal(info.call_id, "call-9");
    /* Each medium once, in document order; other namespaces ignored. */
    assert_non_null(info.call_media);
    assert_int_equal(g_strv_length(info.call_media), 2);
    assert_string_equal(info.call_media[0], "audio");
    assert_string_equal(info.call_media[1], "video");
    /* The identity is the bare sender (normalised) and the propose id. */
    assert_string_equal(info.key, "call:romeo@montague.example\ncall-9");
    assert_string_equal(info.alt_key, info.key);
    assert_int_equal(info.delay_ms, INT64_MAX);
    assert_false(info.delay_bad);
    cn_summary_clear(&info);
    g_free(xml);
  }
}

static void test_call_key_ignores_route(void **state) {
  (void)state;
  /* Another message id, another resource, an archive stanza-id: one call. */
  char *a = key_of(PROPOSE("urn:xmpp:jingle-message:1", ""));
  char *b = key_of("<message from='romeo@montague.example/laptop' id='other' type='chat'>"
                   "<propose xmlns='urn:xmpp:jingle-message:1' id='call-9'/>"
                   "<stanza-id xmlns='urn:xmpp:sid:0' by='" ACCOUNT "' id='S1'/></message>");
  assert_string_equal(a, b);
  g_free(b);
  /* Another caller with the same propose id is another call. */
  b = key_of("<message from='mercutio@verona.example/x' id='msg-1' type='chat'>"
             "<propose xmlns='urn:xmpp:jingle-message:1' id='call-9'/></message>");
  assert_string_not_equal(a, b);
  g_free(a);
  g_free(b);
}

static void test_call_without_id_is_no_call(void **state) {
  (void)state;
  cn_summary info;
  classify(MSG_HEAD "<propose xmlns='urn:xmpp:jingle-message:1'/></message>", &info);
  assert_true(info.important);
  assert_false(info.urgent);
  assert_null(info.call_id);
  assert_null(info.call_media);
  assert_string_equal(info.key, "id:" FROM_ROMEO "\nm1");
  cn_summary_clear(&info);
  classify(MSG_HEAD "<propose xmlns='urn:xmpp:jingle-message:0' id=''/></message>", &info);
  assert_false(info.urgent);
  cn_summary_clear(&info);
}

static void test_call_delay_stamps(void **state) {
  (void)state;
  cn_summary info;
  /* The oldest of the stamps on the root, the forwarded wrapper and the
   * inner message. */
  classify("<message from='" ACCOUNT "'>"
           "<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:10Z'/>"
           "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
           "<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:05Z'/>"
           "<message xmlns='jabber:client' from='romeo@montague.example/p' type='chat'>"
           "<propose xmlns='urn:xmpp:jingle-message:1' id='c'/>"
           "<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:07Z'/></message>"
           "</forwarded></received></message>",
           &info);
  assert_true(info.urgent);
  assert_false(info.delay_bad);
  assert_int_equal(info.delay_ms, INT64_C(1767225605000));
  cn_summary_clear(&info);
  classify(PROPOSE("urn:xmpp:jingle-message:0",
                   "<delay xmlns='urn:xmpp:delay' stamp='yesterday'/>"
                   "<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:05Z'/>"),
           &info);
  assert_true(info.delay_bad);
  cn_summary_clear(&info);
  /* A delay in another namespace is no XEP-0203 stamp. */
  classify(PROPOSE("urn:xmpp:jingle-message:0", "<delay xmlns='urn:other' stamp='x'/>"), &info);
  assert_false(info.delay_bad);
  assert_int_equal(info.delay_ms, INT64_MAX);
  cn_summary_clear(&info);
}

/* ---- XEP-0082 stamps ---------------------------------------------------- */

static void test_stamp_good(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int64_t ms;
  } good[] = {
    { "1970-01-01T00:00:00Z", 0 },
    { "2026-01-01T00:00:05Z", INT64_C(1767225605000) },
    { "2000-02-29T12:00:00Z", INT64_C(951825600000) },
    { "1969-12-31T23:59:59Z", -1000 },
    { "2026-01-01T00:00:05.1Z", INT64_C(1767225605100) },
    { "2026-01-01T00:00:05.123Z", INT64_C(1767225605123) },
    { "2026-01-01T00:00:05.123999999Z", INT64_C(1767225605123) },
    { "2026-01-01T01:00:05+01:00", INT64_C(1767225605000) },
    { "2025-12-31T19:30:05-04:30", INT64_C(1767225605000) },
    { "2026-01-01T00:00:05.5+00:00", INT64_C(1767225605500) },
    { "2026-01-01T00:00:05-00:00", INT64_C(1767225605000) },
    { "2400-02-29T00:00:00Z", INT64_C(13574563200000) },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
    int64_t ms = 42;
    if (cn_rules_parse_stamp(good[i].text, &ms) != 0 || ms != good[i].ms)
      print_error("stamp %s: %" G_GINT64_FORMAT "\n", good[i].text, ms);
    assert_int_equal(cn_rules_parse_stamp(good[i].text, &ms), 0);
    assert_int_equal(ms, good[i].ms);
  }
}

static void test_stamp_bad(void **state) {
  (void)state;
  static const char *const bad[] = {
    "",
    "2026-01-01",
    "2026-01-01T00:00:05",
    "2026-01-01T00:00:05z",
    "2026-01-01t00:00:05Z",
    "2026-01-01 00:00:05Z",
    " 2026-01-01T00:00:05Z",
    "2026-01-01T00:00:05Z ",
    "2026-1-01T00:00:05Z",
    "26-01-01T00:00:05Z",
    "+2026-01-01T00:00:05Z",
    "2026-13-01T00:00:05Z",
    "2026-00-01T00:00:05Z",
    "2026-02-29T00:00:05Z",
    "1900-02-29T00:00:05Z",
    "2026-04-31T00:00:05Z",
    "2026-01-00T00:00:05Z",
    "2026-01-01T24:00:00Z",
    "2026-01-01T00:60:00Z",
    "2026-01-01T00:00:60Z",
    "2026-01-01T00:00:05.Z",
    "2026-01-01T00:00:05,5Z",
    "2026-01-01T00:00:05+01",
    "2026-01-01T00:00:05+0100",
    "2026-01-01T00:00:05+24:00",
    "2026-01-01T00:00:05+01:60",
    "2026-01-01T00:00:05+01:00Z",
    "2026-01-01T00:00:05ZZ",
    "2026-01-01T00:00:05.123456789012345678901234567890123456789012345Z",
    "yesterday",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    int64_t ms = 42;
    if (cn_rules_parse_stamp(bad[i], &ms) == 0)
      print_error("stamp '%s' accepted\n", bad[i]);
    assert_int_equal(cn_rules_parse_stamp(bad[i], &ms), -1);
    assert_int_equal(ms, 42);
  }
  int64_t ms;
  assert_int_equal(cn_rules_parse_stamp(NULL, &ms), -1);
}

/* ---- invisible (push_quiet) ---------------------------------------------- */

static const struct {
  const char *name;
  const char *xml;
  int invisible;
} invisible_cases[] = {
  { "empty message", "<message from='a@b/c'/>", 1 },
  { "empty message in jabber:client", MSG_HEAD "</message>", 1 },
  { "chat state only",
    MSG_HEAD "<composing xmlns='http://jabber.org/protocol/chatstates'/></message>", 1 },
  { "chat state, thread, hints, ids, delay",
    MSG_HEAD "<active xmlns='http://jabber.org/protocol/chatstates'/><thread>t</thread>"
             "<no-store xmlns='urn:xmpp:hints'/><origin-id xmlns='urn:xmpp:sid:0' id='o'/>"
             "<stanza-id xmlns='urn:xmpp:sid:0' by='x' id='s'/>"
             "<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>"
             "<x xmlns='jabber:x:delay' stamp='20260101T00:00:00'/>"
             "<private xmlns='urn:xmpp:carbons:2'/><encryption xmlns='urn:xmpp:eme:0' "
             "namespace='urn:xmpp:omemo:2'/></message>",
    1 },
  { "receipt request alone", MSG_HEAD "<request xmlns='urn:xmpp:receipts'/></message>", 1 },
  { "receipt", MSG_HEAD "<received xmlns='urn:xmpp:receipts' id='x'/></message>", 1 },
  { "marker", MSG_HEAD "<displayed xmlns='urn:xmpp:chat-markers:0' id='x'/></message>", 1 },
  { "JMI retract :0", MSG_HEAD "<retract xmlns='urn:xmpp:jingle-message:0' id='x'/></message>", 1 },
  { "JMI accept :1", MSG_HEAD "<accept xmlns='urn:xmpp:jingle-message:1' id='x'/></message>", 1 },
  { "JMI reject :1", MSG_HEAD "<reject xmlns='urn:xmpp:jingle-message:1' id='x'/></message>", 1 },
  { "JMI proceed :0", MSG_HEAD "<proceed xmlns='urn:xmpp:jingle-message:0' id='x'/></message>", 1 },
  { "JMI ringing :1", MSG_HEAD "<ringing xmlns='urn:xmpp:jingle-message:1' id='x'/></message>", 1 },
  { "blank body", MSG_HEAD "<body> \t\r\n</body></message>", 1 },
  { "empty body", MSG_HEAD "<body/></message>", 1 },
  { "body", MSG_HEAD "<body>hi</body></message>", 0 },
  { "non-breaking space is something", MSG_HEAD "<body>\xc2\xa0</body></message>", 0 },
  { "blank first body, real second one",
    MSG_HEAD "<body xml:lang='en'> </body><body xml:lang='de'>x</body></message>", 0 },
  { "subject", MSG_HEAD "<subject>s</subject></message>", 0 },
  { "correction with a body",
    MSG_HEAD "<body>fixed</body><replace xmlns='urn:xmpp:message-correct:0' id='m0'/></message>",
    0 },
  { "correction without body",
    MSG_HEAD "<replace xmlns='urn:xmpp:message-correct:0' id='m0'/></message>", 0 },
  { "OMEMO", MSG_HEAD "<encrypted xmlns='urn:xmpp:omemo:2'/></message>", 0 },
  { "propose without id", MSG_HEAD "<propose xmlns='urn:xmpp:jingle-message:1'/></message>", 0 },
  { "unknown payload", MSG_HEAD "<x xmlns='jabber:x:conference' jid='r@m'/></message>", 0 },
  { "chat state in a foreign element", MSG_HEAD "<composing xmlns='urn:other'/></message>", 0 },
  { "body in a foreign namespace", MSG_HEAD "<body xmlns='urn:other'/></message>", 0 },
  { "thread in a foreign namespace", MSG_HEAD "<thread xmlns='urn:other'/></message>", 0 },
  { "headline, empty", "<message from='a@b' type='headline'/>", 1 },
  { "outgoing carbon is never invisible (it is skipped)",
    "<message from='" ACCOUNT "'><sent xmlns='urn:xmpp:carbons:2'><forwarded "
    "xmlns='urn:xmpp:forward:0'><message from='" ACCOUNT "/x'/></forwarded></sent></message>",
    0 },
  { "incoming carbon of a chat state",
    "<message from='" ACCOUNT "'><received xmlns='urn:xmpp:carbons:2'><forwarded "
    "xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' from='romeo@montague.example/x'>"
    "<gone xmlns='http://jabber.org/protocol/chatstates'/></message></forwarded></received>"
    "</message>",
    1 },
  { "presence", "<presence from='a@b/c'/>", 0 },
};

static void test_invisible_table(void **state) {
  (void)state;
  for (size_t i = 0; i < G_N_ELEMENTS(invisible_cases); i++) {
    cn_summary info;
    classify(invisible_cases[i].xml, &info);
    if (info.invisible != (unsigned)invisible_cases[i].invisible)
      print_error("failing case: %s\n", invisible_cases[i].name);
    assert_int_equal(info.invisible, invisible_cases[i].invisible);
    cn_summary_clear(&info);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_classify_table),
    cmocka_unit_test(test_key_stanza_id),
    cmocka_unit_test(test_key_stanza_id_unicode),
    cmocka_unit_test(test_key_id),
    cmocka_unit_test(test_key_content_hash),
    cmocka_unit_test(test_key_hash_distinguishes_structure),
    cmocka_unit_test(test_key_hash_namespaced_attributes),
    cmocka_unit_test(test_empty_id_falls_back),
    cmocka_unit_test(test_clear),
    cmocka_unit_test(test_info_outlives_doc),
    cmocka_unit_test(test_call_both_namespaces),
    cmocka_unit_test(test_call_key_ignores_route),
    cmocka_unit_test(test_call_without_id_is_no_call),
    cmocka_unit_test(test_call_delay_stamps),
    cmocka_unit_test(test_stamp_good),
    cmocka_unit_test(test_stamp_bad),
    cmocka_unit_test(test_invisible_table),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
