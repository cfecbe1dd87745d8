/* Unit tests for lib/xml.c: hardened parsing, tree helpers, escaping and
 * serialisation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "cloudnotify/cloudnotify.h"
#include "xml.h"

#define MAX_BYTES (64 * 1024)
#define MAX_DEPTH 32

static cn_xml_parser *parser;

static int setup(void **state) {
  (void)state;
  parser = cn_xml_parser_new();
  return parser == NULL ? -1 : 0;
}

static int teardown(void **state) {
  (void)state;
  cn_xml_parser_free(parser);
  parser = NULL;
  return 0;
}

/* Parse with the default bounds.  On failure *out must have been reset:
 * start it off as junk so a missing reset shows. */
static int parse_len(const char *data, size_t len, size_t max_bytes, int max_depth, xmlDoc **out) {
  int rc;

  *out = (xmlDoc *)(uintptr_t)1;
  rc = cn_xml_parse(parser, data, len, max_bytes, max_depth, out);
  if (rc != 0)
    assert_null(*out);
  else
    assert_non_null(*out);
  return rc;
}

static int parse(const char *text, xmlDoc **out) {
  return parse_len(text, strlen(text), MAX_BYTES, MAX_DEPTH, out);
}

static xmlNode *parse_ok(const char *text, xmlDoc **doc) {
  xmlNode *root;

  assert_int_equal(parse(text, doc), 0);
  root = xmlDocGetRootElement(*doc);
  assert_non_null(root);
  return root;
}

static void assert_parse_error(const char *text, int expected) {
  xmlDoc *doc;

  assert_int_equal(parse(text, &doc), expected);
}

static void assert_parse_error_len(const char *data, size_t len, int expected) {
  xmlDoc *doc;

  assert_int_equal(parse_len(data, len, MAX_BYTES, MAX_DEPTH, &doc), expected);
}

/* depth nested <a> elements; the innermost written as <a/> when
 * innermost_empty, since an empty-element tag must count as a level too. */
static char *nested(int depth, gboolean innermost_empty) {
  GString *s = g_string_new(NULL);

  for (int i = 0; i < depth - 1; i++)
    g_string_append(s, "<a>");
  g_string_append(s, innermost_empty ? "<a/>" : "<a></a>");
  for (int i = 0; i < depth - 1; i++)
    g_string_append(s, "</a>");
  return g_string_free(s, FALSE);
}

static char *serialize(const xmlNode *node) {
  GString *s = g_string_new(NULL);

  cn_xml_serialize(s, node);
  return g_string_free(s, FALSE);
}

/* ---------------------------------------------------------------- */

static void test_accepts_stanza_namespaces(void **state) {
  static const struct {
    const char *xml;
    const char *ns;
  } cases[] = {
    { "<message xmlns='jabber:client'><body>hi</body></message>", "jabber:client" },
    { "<message xmlns='jabber:server'><body>hi</body></message>", "jabber:server" },
    { "<message xmlns='jabber:component:accept'><body>hi</body></message>",
      "jabber:component:accept" },
    { "<message><body>hi</body></message>", NULL },
    { "<c:message xmlns:c='jabber:client'><body>hi</body></c:message>", "jabber:client" },
  };

  (void)state;
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    xmlDoc *doc;
    xmlNode *root = parse_ok(cases[i].xml, &doc);

    assert_string_equal((const char *)root->name, "message");
    if (cases[i].ns == NULL)
      assert_null(cn_xml_ns(root));
    else
      assert_string_equal(cn_xml_ns(root), cases[i].ns);
    xmlFreeDoc(doc);
  }
}

static void test_rejects_foreign_root_namespace(void **state) {
  (void)state;
  assert_parse_error("<message xmlns='urn:foo'><body>hi</body></message>", CLOUDNOTIFY_ERR_XML);
  assert_parse_error("<f:message xmlns:f='urn:foo'/>", CLOUDNOTIFY_ERR_XML);
  assert_parse_error("<message xmlns='jabber:client2'/>", CLOUDNOTIFY_ERR_XML);
  assert_parse_error("<message xmlns='JABBER:CLIENT'/>", CLOUDNOTIFY_ERR_XML);
  assert_parse_error("<stream:stream xmlns:stream='http://etherx.jabber.org/streams'/>",
                     CLOUDNOTIFY_ERR_XML);
  /* Namespace errors, which libxml2 alone does not treat as fatal: an
   * undeclared prefix must not pass as "no namespace". */
  assert_parse_error("<x:message/>", CLOUDNOTIFY_ERR_XML);
  assert_parse_error("<message><x:body>hi</x:body></message>", CLOUDNOTIFY_ERR_XML);
  assert_parse_error("<message a:b='1'/>", CLOUDNOTIFY_ERR_XML);
  assert_parse_error("<message xmlns:a='u' xmlns:b='u' a:x='1' b:x='2'/>", CLOUDNOTIFY_ERR_XML);
}

static void test_rejects_markup_declarations(void **state) {
  static const char *const bad[] = {
    /* DOCTYPE */
    "<!DOCTYPE message><message/>",
    /* billion laughs */
    "<?xml version='1.0'?>\n"
    "<!DOCTYPE lolz [\n"
    " <!ENTITY lol \"lol\">\n"
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
    "]>\n"
    "<message><body>&lol2;</body></message>",
    /* external entity */
    "<!DOCTYPE message [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
    "<message><body>&xxe;</body></message>",
    /* comments, anywhere */
    "<message><!-- hi --><body>x</body></message>",
    "<!-- hi --><message/>",
    "<message/><!-- hi -->",
    /* CDATA */
    "<message><body><![CDATA[<b>x</b>]]></body></message>",
    /* processing instructions */
    "<message><?pi data?></message>",
    "<?pi data?><message/>",
    "<message/><?pi data?>",
    "<?xml-stylesheet href='a'?><message/>",
    /* the declaration is only allowed at offset 0 */
    " <?xml version='1.0'?><message/>",
    "<?xml version='1.0'?><?xml version='1.0'?><message/>",
    /* entity references that would need a DTD */
    "<message><body>&foo;</body></message>",
    "<message a='&foo;'/>",
    "<message><body>&nbsp;</body></message>",
  };

  (void)state;
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    assert_parse_error(bad[i], CLOUDNOTIFY_ERR_XML);
}

static void test_rejects_malformed(void **state) {
  static const char *const bad[] = {
    "<message><body>hi</body>", /* truncated */
    "<message><body>hi</bo",
    "<message",
    "<",
    "<message a='1",
    "<message/><message/>", /* two roots */
    "<message/>trailing",   /* text after the root */
    "leading<message/>",    /* text before the root */
    "just text",
    "   ",
    "<message><body></message></body>",
    "<message a='<'/>",
    "<message a='1' a='2'/>",
    "<message xmlns='jabber:client' xmlns='jabber:server'/>",
    "<message>\x01</message>", /* not an XML character */
    "<message>&#0;</message>",
    "<message>&#xD800;</message>",
    "<message>a & b</message>",
    "<message>a < b</message>",
  };

  (void)state;
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    assert_parse_error(bad[i], CLOUDNOTIFY_ERR_XML);
  assert_parse_error("", CLOUDNOTIFY_ERR_XML);
}

static void test_rejects_nul_and_bad_utf8(void **state) {
  static const char nul[] = "<message><body>a\0b</body></message>";
  static const char nul_end[] = "<message/>\0";

  (void)state;
  assert_parse_error_len(nul, sizeof nul - 1, CLOUDNOTIFY_ERR_XML);
  assert_parse_error_len(nul_end, sizeof nul_end - 1, CLOUDNOTIFY_ERR_XML);
  assert_parse_error("<message><body>\xff</body></message>", CLOUDNOTIFY_ERR_XML);
  /* overlong encoding of NUL */
  assert_parse_error("<message><body>\xc0\x80</body></message>", CLOUDNOTIFY_ERR_XML);
  /* UTF-16 surrogate encoded in UTF-8 */
  assert_parse_error("<message><body>\xed\xa0\x80</body></message>", CLOUDNOTIFY_ERR_XML);
  /* truncated sequence */
  assert_parse_error("<message><body>\xe2\x82</body></message>", CLOUDNOTIFY_ERR_XML);
  assert_parse_error("<message a='\xfe'/>", CLOUDNOTIFY_ERR_XML);
  /* NULL data with a length is refused rather than read. */
  {
    xmlDoc *doc = (xmlDoc *)(uintptr_t)1;

    assert_int_equal(cn_xml_parse(parser, NULL, 5, MAX_BYTES, MAX_DEPTH, &doc),
                     CLOUDNOTIFY_ERR_XML);
    assert_null(doc);
  }
}

static void test_accepts_xml_declaration(void **state) {
  xmlDoc *doc;
  xmlNode *root;
  char *text;

  (void)state;
  root = parse_ok("<?xml version='1.0'?><message><body>x</body></message>", &doc);
  assert_string_equal((const char *)root->name, "message");
  xmlFreeDoc(doc);

  root = parse_ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<message/>", &doc);
  assert_string_equal((const char *)root->name, "message");
  xmlFreeDoc(doc);

  /* A declared encoding must not make libxml2 reinterpret the bytes, which
   * were validated as UTF-8. */
  root = parse_ok("<?xml version='1.0' encoding='ISO-8859-1'?>"
                  "<message><body>\xc3\xa9</body></message>",
                  &doc);
  text = cn_xml_text(cn_xml_child(root, "body", NULL));
  assert_string_equal(text, "\xc3\xa9");
  g_free(text);
  xmlFreeDoc(doc);

  /* Whitespace around the root is not "text outside the root". */
  root = parse_ok("\n <message/>\r\n", &doc);
  assert_string_equal((const char *)root->name, "message");
  xmlFreeDoc(doc);
}

static void test_entities_decode(void **state) {
  xmlDoc *doc;
  xmlNode *root, *body;
  char *text;

  (void)state;
  root = parse_ok("<message a='&amp;&lt;&gt;&quot;&apos;&#x41;&#66;&#x20AC;'>"
                  "<body>&amp;&lt;&gt;&quot;&apos;&#x41;&#66;&#x20AC;</body>"
                  "</message>",
                  &doc);
  assert_string_equal(cn_xml_attr(root, "a"), "&<>\"'AB\xe2\x82\xac");
  body = cn_xml_child(root, "body", NULL);
  text = cn_xml_text(body);
  assert_string_equal(text, "&<>\"'AB\xe2\x82\xac");
  g_free(text);
  xmlFreeDoc(doc);
}

/* cn_utf8_valid's word-at-a-time ASCII path agrees with GLib's validator
 * whatever the position of a NUL, a non-ASCII byte or a broken sequence
 * relative to its 8-byte words. */
static void test_utf8_fast_path(void **state) {
  (void)state;
  static const char *inserts[] = { "\0",   "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                   "\xc3", "\x80",     "\xed\xa0\x80", "\xc0\xaf",
                                   "\xff" };
  static const size_t ins_len[] = { 1, 2, 3, 4, 1, 1, 3, 2, 1 };
  char buf[64];
  for (size_t k = 0; k < G_N_ELEMENTS(inserts); k++)
    for (size_t pre = 0; pre < 20; pre++)
      for (size_t post = 0; post < 12; post++) {
        size_t n = 0;
        for (size_t i = 0; i < pre; i++)
          buf[n++] = (char)('a' + i % 26);
        memcpy(buf + n, inserts[k], ins_len[k]);
        n += ins_len[k];
        for (size_t i = 0; i < post; i++)
          buf[n++] = '<';
        gboolean ascii = TRUE;
        assert_int_equal(!!cn_utf8_valid(buf, n, &ascii), !!g_utf8_validate_len(buf, n, NULL));
        assert_false(ascii);
        assert_true(cn_utf8_valid(buf, pre, &ascii));
        assert_true(ascii);
      }
}

static void test_depth_limit(void **state) {
  xmlDoc *doc;
  char *s;

  (void)state;
  for (int empty = 0; empty <= 1; empty++) {
    s = nested(MAX_DEPTH, empty);
    assert_int_equal(parse(s, &doc), 0);
    xmlFreeDoc(doc);
    g_free(s);

    s = nested(MAX_DEPTH + 1, empty);
    assert_int_equal(parse(s, &doc), CLOUDNOTIFY_ERR_TOO_LARGE);
    g_free(s);
  }

  /* Siblings do not add up: a wide tree at depth 2 is fine with limit 2. */
  assert_int_equal(parse_len("<m><a/><a></a><a x='1'/></m>", 28, MAX_BYTES, 2, &doc), 0);
  xmlFreeDoc(doc);
  assert_int_equal(parse_len("<m><a><b/></a></m>", 18, MAX_BYTES, 2, &doc),
                   CLOUDNOTIFY_ERR_TOO_LARGE);
  assert_int_equal(parse_len("<m/>", 4, MAX_BYTES, 1, &doc), 0);
  xmlFreeDoc(doc);
  assert_int_equal(parse_len("<m/>", 4, MAX_BYTES, 0, &doc), CLOUDNOTIFY_ERR_TOO_LARGE);

  /* '>' and '/' inside attribute values must not confuse the depth count. */
  {
    const char *tricky = "<m q='/>' r=\"a>b/\"><a x='/'><b y='>'/></a></m>";

    assert_int_equal(parse_len(tricky, strlen(tricky), MAX_BYTES, 3, &doc), 0);
    xmlFreeDoc(doc);
    assert_int_equal(parse_len(tricky, strlen(tricky), MAX_BYTES, 2, &doc),
                     CLOUDNOTIFY_ERR_TOO_LARGE);
  }

  /* Very deep input: refused as too large, cheaply and without recursion
   * trouble. */
  s = nested(10000, FALSE);
  assert_int_equal(parse_len(s, strlen(s), 1024 * 1024, MAX_DEPTH, &doc),
                   CLOUDNOTIFY_ERR_TOO_LARGE);
  /* Even when the caller allows it, libxml2's own ceiling applies, and
   * the error stays TOO_LARGE. */
  assert_int_equal(parse_len(s, strlen(s), 1024 * 1024, 100000, &doc), CLOUDNOTIFY_ERR_TOO_LARGE);
  g_free(s);

  s = nested(300, FALSE);
  assert_int_equal(parse_len(s, strlen(s), MAX_BYTES, 1000, &doc), CLOUDNOTIFY_ERR_TOO_LARGE);
  g_free(s);
  s = nested(200, FALSE);
  assert_int_equal(parse_len(s, strlen(s), MAX_BYTES, 1000, &doc), 0);
  xmlFreeDoc(doc);
  g_free(s);
}

static void test_size_limit(void **state) {
  const char *msg = "<message><body>0123456789</body></message>";
  size_t len = strlen(msg);
  xmlDoc *doc;

  (void)state;
  assert_int_equal(parse_len(msg, len, len, MAX_DEPTH, &doc), 0);
  xmlFreeDoc(doc);
  assert_int_equal(parse_len(msg, len, len - 1, MAX_DEPTH, &doc), CLOUDNOTIFY_ERR_TOO_LARGE);
  /* Size is checked before anything else, even on garbage. */
  assert_int_equal(parse_len("<!DOCTYPE x>", 12, 11, MAX_DEPTH, &doc), CLOUDNOTIFY_ERR_TOO_LARGE);
}

static void test_huge_attribute_rejected_fast(void **state) {
  size_t size = 10 * 1024 * 1024;
  GString *s = g_string_sized_new(size + 64);
  xmlDoc *doc;
  gint64 start, elapsed;

  (void)state;
  g_string_append(s, "<message a='");
  while (s->len < size)
    g_string_append(s, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  g_string_append(s, "'/>");

  start = g_get_monotonic_time();
  assert_int_equal(parse_len(s->str, s->len, 256 * 1024, MAX_DEPTH, &doc),
                   CLOUDNOTIFY_ERR_TOO_LARGE);
  elapsed = g_get_monotonic_time() - start;
  /* The bytes must not even be scanned: far below what reading 10 MB
   * costs, with room for valgrind. */
  assert_true(elapsed < 100 * 1000);
  g_string_free(s, TRUE);
}

static void test_child_count_attr_text(void **state) {
  xmlDoc *doc;
  xmlNode *root, *body, *c;
  char *text;
  const char *v1, *v2;

  (void)state;
  root = parse_ok("<message xmlns='jabber:client' to='a@b' type='chat' e=''"
                  " xml:lang='en' xmlns:f='urn:f' f:to='no'>"
                  "<x xmlns='urn:foo'/>"
                  "<body>one</body>"
                  "<body xml:lang='de'>zwei</body>"
                  "<body xmlns='urn:other'>three</body>"
                  "<subject xmlns=''>s</subject>"
                  "<thread>t<b>inner</b>u</thread>"
                  "<empty/>"
                  "</message>",
                  &doc);

  body = cn_xml_child(root, "body", NULL);
  assert_non_null(body);
  text = cn_xml_text(body);
  assert_string_equal(text, "one");
  g_free(text);
  assert_int_equal(cn_xml_count_children(root, "body", NULL), 2);
  assert_int_equal(cn_xml_count_children(root, "body", "urn:other"), 1);
  assert_int_equal(cn_xml_count_children(root, "body", "jabber:client"), 2);
  assert_int_equal(cn_xml_count_children(root, "body", "urn:none"), 0);
  c = cn_xml_child(root, "body", "urn:other");
  assert_non_null(c);
  text = cn_xml_text(c);
  assert_string_equal(text, "three");
  g_free(text);

  /* ns NULL matches no namespace too (xmlns=''). */
  assert_non_null(cn_xml_child(root, "subject", NULL));
  assert_null(cn_xml_child(root, "subject", "jabber:client"));
  /* name NULL: any element; ns NULL skips the foreign <x/>. */
  c = cn_xml_child(root, NULL, NULL);
  assert_string_equal((const char *)c->name, "body");
  c = cn_xml_child(root, NULL, "urn:foo");
  assert_string_equal((const char *)c->name, "x");
  assert_int_equal(cn_xml_count_children(root, NULL, NULL), 5);
  assert_int_equal(cn_xml_count_children(root, NULL, "urn:foo"), 1);
  assert_null(cn_xml_child(root, "x", NULL));
  assert_null(cn_xml_child(root, "nope", NULL));
  assert_null(cn_xml_child(NULL, "body", NULL));
  assert_int_equal(cn_xml_count_children(NULL, NULL, NULL), 0);

  /* Attributes: no namespace only, borrowed from the tree. */
  assert_string_equal(cn_xml_attr(root, "to"), "a@b");
  assert_string_equal(cn_xml_attr(root, "type"), "chat");
  assert_string_equal(cn_xml_attr(root, "e"), "");
  assert_null(cn_xml_attr(root, "lang"));
  assert_null(cn_xml_attr(root, "from"));
  assert_null(cn_xml_attr(NULL, "to"));
  v1 = cn_xml_attr(root, "type");
  v2 = cn_xml_attr(root, "type");
  assert_ptr_equal(v1, v2);
  assert_ptr_equal(v1, (const char *)xmlHasProp(root, BAD_CAST "type")->children->content);

  /* Direct text children only. */
  c = cn_xml_child(root, "thread", NULL);
  text = cn_xml_text(c);
  assert_string_equal(text, "tu");
  g_free(text);
  text = cn_xml_text(cn_xml_child(root, "empty", NULL));
  assert_string_equal(text, "");
  g_free(text);
  assert_null(cn_xml_text(NULL));

  assert_string_equal(cn_xml_ns(root), "jabber:client");
  assert_string_equal(cn_xml_ns(cn_xml_child(root, "x", "urn:foo")), "urn:foo");
  assert_null(cn_xml_ns(cn_xml_child(root, "subject", NULL)));
  xmlFreeDoc(doc);
}

static void test_body_without_xmlns(void **state) {
  xmlDoc *doc;
  xmlNode *root;

  (void)state;
  /* Prosody-style serialisation: no xmlns at all. */
  root = parse_ok("<message to='a@b'><body>hi</body></message>", &doc);
  assert_non_null(cn_xml_child(root, "body", NULL));
  xmlFreeDoc(doc);
  root = parse_ok("<message xmlns='jabber:server'><body>hi</body></message>", &doc);
  assert_non_null(cn_xml_child(root, "body", NULL));
  xmlFreeDoc(doc);
}

static void test_is_stanza_ns(void **state) {
  xmlNs ns;

  (void)state;
  memset(&ns, 0, sizeof ns);
  assert_true(cn_xml_is_stanza_ns(NULL));
  ns.href = BAD_CAST "jabber:client";
  assert_true(cn_xml_is_stanza_ns(&ns));
  ns.href = BAD_CAST "jabber:server";
  assert_true(cn_xml_is_stanza_ns(&ns));
  ns.href = BAD_CAST "jabber:component:accept";
  assert_true(cn_xml_is_stanza_ns(&ns));
  ns.href = BAD_CAST "jabber:x:data";
  assert_false(cn_xml_is_stanza_ns(&ns));
  ns.href = BAD_CAST "jabber:clientx";
  assert_false(cn_xml_is_stanza_ns(&ns));
}

static void test_escape(void **state) {
  GString *s = g_string_new("pre:");
  const char *in = "a&b<c>d\"e'f\tg\nh\ri";

  (void)state;
  cn_xml_escape(s, in, strlen(in));
  assert_string_equal(s->str, "pre:a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i");

  /* len is honoured: nothing past it is read or written. */
  g_string_truncate(s, 0);
  cn_xml_escape(s, "safe&unsafe", 4);
  assert_string_equal(s->str, "safe");
  g_string_truncate(s, 0);
  cn_xml_escape(s, "&&", 0);
  assert_string_equal(s->str, "");
  g_string_truncate(s, 0);
  cn_xml_escape(s, "&", 1);
  assert_string_equal(s->str, "&amp;");
  g_string_truncate(s, 0);
  cn_xml_escape(s, "\xc3\xa9 plain", strlen("\xc3\xa9 plain"));
  assert_string_equal(s->str, "\xc3\xa9 plain");
  g_string_free(s, TRUE);
}

/* parse -> serialise must equal expected, and serialising the re-parsed
 * output must give the same bytes again. */
static void assert_serializes_to(const char *input, const char *expected) {
  xmlDoc *doc, *doc2;
  xmlNode *root = parse_ok(input, &doc);
  char *out = serialize(root);
  char *out2;

  assert_string_equal(out, expected);
  root = parse_ok(out, &doc2);
  out2 = serialize(root);
  assert_string_equal(out2, out);
  g_free(out);
  g_free(out2);
  xmlFreeDoc(doc);
  xmlFreeDoc(doc2);
}

static void test_serialize(void **state) {
  (void)state;
  assert_serializes_to("<message><body>hi</body></message>", "<message><body>hi</body></message>");
  assert_serializes_to("<message xmlns=\"jabber:client\" to=\"a@b\">"
                       "<body>hi</body><active xmlns=\"http://jabber.org/protocol/chatstates\"/>"
                       "</message>",
                       "<message xmlns='jabber:client' to='a@b'>"
                       "<body>hi</body><active xmlns='http://jabber.org/protocol/chatstates'/>"
                       "</message>");
  /* Prefixes are dropped for default declarations. */
  assert_serializes_to("<message><f:x xmlns:f='jabber:x:data'><f:field var='a'>"
                       "<f:value>v&amp;</f:value></f:field></f:x></message>",
                       "<message><x xmlns='jabber:x:data'><field var='a'>"
                       "<value>v&amp;</value></field></x></message>");
  assert_serializes_to("<c:message xmlns:c='jabber:client' xmlns:o='urn:o'>"
                       "<c:body>a</c:body><o:x><y/></o:x></c:message>",
                       "<message xmlns='jabber:client'><body>a</body>"
                       "<x xmlns='urn:o'><y xmlns=''/></x></message>");
  /* Going back to no namespace needs xmlns=''. */
  assert_serializes_to("<message xmlns='jabber:client'><x xmlns='urn:x'><y xmlns=''/>"
                       "<z/></x><body/></message>",
                       "<message xmlns='jabber:client'><x xmlns='urn:x'><y xmlns=''/>"
                       "<z/></x><body/></message>");
  /* xml:lang kept, other namespaced attributes kept under numbered
   * prefixes declared where used (a publish-options form is kept whole). */
  assert_serializes_to("<message xml:lang='en' xmlns:f='urn:f' f:a='1' b='2'>"
                       "<body xml:lang='de' f:c='&amp;'>x</body></message>",
                       "<message xml:lang='en' xmlns:n0='urn:f' n0:a='1' b='2'>"
                       "<body xml:lang='de' xmlns:n0='urn:f' n0:c='&amp;'>x</body></message>");
  /* Two prefixes for one namespace: one declaration. */
  assert_serializes_to("<x xmlns:f='urn:f' xmlns:g='urn:f' xmlns:h='urn:h' f:a='1' h:b='2'"
                       " g:c='3'/>",
                       "<x xmlns:n0='urn:f' n0:a='1' xmlns:n1='urn:h' n1:b='2' n0:c='3'/>");
  /* Specials in text and attributes, whitespace that would be normalised. */
  assert_serializes_to("<message a=\"&amp;&lt;&gt;&quot;'&#9;&#10;&#13;\">"
                       "<body>&amp;&lt;&gt;\"'&#13;\n\t</body></message>",
                       "<message a='&amp;&lt;&gt;&quot;&apos;&#9;&#10;&#13;'>"
                       "<body>&amp;&lt;&gt;&quot;&apos;&#13;\n\t</body></message>");
  /* Whitespace-only text between elements survives. */
  assert_serializes_to("<message>\n  <body>x</body>\n</message>",
                       "<message>\n  <body>x</body>\n</message>");
}

static void test_serialize_preserves_values(void **state) {
  const char *input = "<message a=\"x&#9;y&#10;z&#13;&amp;&apos;&quot;\">"
                      "<body>l1\nl2&#13;&lt;/body&gt;&amp;</body></message>";
  xmlDoc *doc, *doc2;
  xmlNode *root, *root2;
  char *out, *t1, *t2;

  (void)state;
  root = parse_ok(input, &doc);
  out = serialize(root);
  root2 = parse_ok(out, &doc2);
  assert_string_equal(cn_xml_attr(root2, "a"), "x\ty\nz\r&'\"");
  assert_string_equal(cn_xml_attr(root2, "a"), cn_xml_attr(root, "a"));
  t1 = cn_xml_text(cn_xml_child(root, "body", NULL));
  t2 = cn_xml_text(cn_xml_child(root2, "body", NULL));
  assert_string_equal(t1, "l1\nl2\r</body>&");
  assert_string_equal(t2, t1);
  g_free(t1);
  g_free(t2);
  g_free(out);
  xmlFreeDoc(doc);
  xmlFreeDoc(doc2);
}

/* A subtree serialised on its own is self-contained: it declares its own
 * namespace even where the parent already had it in the input. */
static void test_serialize_subtree(void **state) {
  xmlDoc *doc;
  xmlNode *root;
  GString *s = g_string_new("[");

  (void)state;
  root = parse_ok("<message xmlns='jabber:client'><body>x</body>"
                  "<f:x xmlns:f='jabber:x:data'><f:field var='a'>"
                  "<f:value>v&amp;</f:value></f:field></f:x></message>",
                  &doc);
  cn_xml_serialize(s, cn_xml_child(root, "body", NULL));
  g_string_append_c(s, ']');
  assert_string_equal(s->str, "[<body xmlns='jabber:client'>x</body>]");
  g_string_truncate(s, 0);
  cn_xml_serialize(s, cn_xml_child(root, "x", "jabber:x:data"));
  assert_string_equal(s->str, "<x xmlns='jabber:x:data'><field var='a'>"
                              "<value>v&amp;</value></field></x>");
  xmlFreeDoc(doc);
  g_string_free(s, TRUE);
}

static int error_calls;

static void count_error(void *user_data, xmlErrorPtr error) {
  (void)user_data;
  (void)error;
  error_calls++;
}

/* A host that installed a global libxml2 error handler must not hear
 * about the stanzas this library refuses. */
static void test_host_error_handler_untouched(void **state) {
  xmlDoc *doc;

  (void)state;
  error_calls = 0;
  xmlSetStructuredErrorFunc(NULL, count_error);
  assert_parse_error("<message><body>hi</body>", CLOUDNOTIFY_ERR_XML);
  assert_parse_error("<message>&foo;</message>", CLOUDNOTIFY_ERR_XML);
  assert_parse_error("<a><b></a>", CLOUDNOTIFY_ERR_XML);
  assert_int_equal(error_calls, 0);
  /* And the handler is still the host's: a direct libxml2 parse reaches it. */
  doc = xmlReadMemory("<a>", 3, NULL, NULL, 0);
  assert_null(doc);
  assert_true(error_calls > 0);
  xmlSetStructuredErrorFunc(NULL, NULL);
}

static void test_parser_reusable(void **state) {
  xmlDoc *kept;
  char *text;

  (void)state;
  /* A document from early on stays valid while the parser renews its
   * context (and dictionary) underneath. */
  parse_ok("<message><kept-name kept-attr='v'>early</kept-name></message>", &kept);
  for (int i = 0; i < 1000; i++) {
    char good[128], expect[16];
    xmlDoc *doc;
    xmlNode *root;

    /* Fresh names each time also exercise the dictionary rotation. */
    g_snprintf(good, sizeof good,
               "<message id='m%d'><e%d xmlns='urn:x%d' a%d='v'/><body>%d</body></message>", i, i, i,
               i, i);
    root = parse_ok(good, &doc);
    g_snprintf(expect, sizeof expect, "m%d", i);
    assert_string_equal(cn_xml_attr(root, "id"), expect);
    text = cn_xml_text(cn_xml_child(root, "body", NULL));
    g_snprintf(expect, sizeof expect, "%d", i);
    assert_string_equal(text, expect);
    g_free(text);
    xmlFreeDoc(doc);
    if (i % 3 == 0)
      assert_parse_error("<message><body>broken", CLOUDNOTIFY_ERR_XML);
    if (i % 7 == 0)
      assert_parse_error("<!DOCTYPE x><x/>", CLOUDNOTIFY_ERR_XML);
  }
  {
    xmlNode *c = cn_xml_child(xmlDocGetRootElement(kept), "kept-name", NULL);

    assert_non_null(c);
    assert_string_equal(cn_xml_attr(c, "kept-attr"), "v");
    text = cn_xml_text(c);
    assert_string_equal(text, "early");
    g_free(text);
  }
  xmlFreeDoc(kept);
}

/* Documents must outlive the parser that made them (they share its
 * dictionary). */
static void test_doc_outlives_parser(void **state) {
  cn_xml_parser *p = cn_xml_parser_new();
  xmlDoc *doc = NULL;
  const char *xml = "<message><body>kept</body></message>";
  char *text;

  (void)state;
  assert_int_equal(cn_xml_parse(p, xml, strlen(xml), MAX_BYTES, MAX_DEPTH, &doc), 0);
  cn_xml_parser_free(p);
  cn_xml_parser_free(NULL);
  text = cn_xml_text(cn_xml_child(xmlDocGetRootElement(doc), "body", NULL));
  assert_string_equal(text, "kept");
  g_free(text);
  xmlFreeDoc(doc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_accepts_stanza_namespaces),
    cmocka_unit_test(test_rejects_foreign_root_namespace),
    cmocka_unit_test(test_rejects_markup_declarations),
    cmocka_unit_test(test_rejects_malformed),
    cmocka_unit_test(test_rejects_nul_and_bad_utf8),
    cmocka_unit_test(test_accepts_xml_declaration),
    cmocka_unit_test(test_entities_decode),
    cmocka_unit_test(test_utf8_fast_path),
    cmocka_unit_test(test_depth_limit),
    cmocka_unit_test(test_size_limit),
    cmocka_unit_test(test_huge_attribute_rejected_fast),
    cmocka_unit_test(test_child_count_attr_text),
    cmocka_unit_test(test_body_without_xmlns),
    cmocka_unit_test(test_is_stanza_ns),
    cmocka_unit_test(test_escape),
    cmocka_unit_test(test_serialize),
    cmocka_unit_test(test_serialize_preserves_values),
    cmocka_unit_test(test_serialize_subtree),
    cmocka_unit_test(test_host_error_handler_untouched),
    cmocka_unit_test(test_parser_reusable),
    cmocka_unit_test(test_doc_outlives_parser),
  };

  return cmocka_run_group_tests(tests, setup, teardown);
}
