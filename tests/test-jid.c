/* Unit tests for lib/jid.c: parsing, normalisation and rejection of JIDs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "cloudnotify/cloudnotify.h"
#include "jid.h"

#include <stringprep.h>

/* Parse a NUL-terminated literal; most cases need nothing more. */
static int parse(const char *text, cn_jid *out) {
  return cn_jid_parse(text, strlen(text), out);
}

static void assert_zeroed(const cn_jid *j) {
  assert_null(j->node);
  assert_null(j->domain);
  assert_null(j->resource);
  assert_null(j->bare);
  assert_null(j->full);
}

/* Rejection must also leave *out zeroed, whatever it held before: fill
 * it with junk that is never dereferenced so a missing reset shows. */
static void assert_rejected_len(const char *text, size_t len) {
  cn_jid j;

  j.node = j.domain = j.resource = j.bare = j.full = (char *)(uintptr_t)1;
  assert_int_equal(cn_jid_parse(text, len, &j), CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_zeroed(&j);
}

static void assert_rejected(const char *text) {
  assert_rejected_len(text, strlen(text));
}

/* Parse text, expect success and the given bare/full forms. */
static void assert_parses_to(const char *text, const char *bare, const char *full) {
  cn_jid j;

  assert_int_equal(parse(text, &j), 0);
  assert_string_equal(j.bare, bare);
  assert_string_equal(j.full, full);
  cn_jid_clear(&j);
}

static char *repeat(char c, size_t n) {
  char *s = g_malloc(n + 1);
  memset(s, c, n);
  s[n] = '\0';
  return s;
}

/* A domain of exactly len bytes made of labels no longer than 61. */
static char *long_domain(size_t len) {
  GString *s = g_string_new(NULL);

  while (len - s->len > 61) {
    g_string_append_len(s, "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd", 60);
    g_string_append_c(s, '.');
  }
  while (s->len < len)
    g_string_append_c(s, 'e');
  return g_string_free(s, FALSE);
}

static void test_node_domain(void **state) {
  cn_jid j;

  assert_int_equal(parse("juliet@example.com", &j), 0);
  assert_string_equal(j.node, "juliet");
  assert_string_equal(j.domain, "example.com");
  assert_null(j.resource);
  assert_string_equal(j.bare, "juliet@example.com");
  assert_string_equal(j.full, "juliet@example.com");
  cn_jid_clear(&j);
  assert_zeroed(&j);
}

static void test_domain_only(void **state) {
  cn_jid j;

  assert_int_equal(parse("example.com", &j), 0);
  assert_null(j.node);
  assert_string_equal(j.domain, "example.com");
  assert_null(j.resource);
  assert_string_equal(j.bare, "example.com");
  assert_string_equal(j.full, "example.com");
  cn_jid_clear(&j);

  assert_int_equal(parse("example.com/res", &j), 0);
  assert_null(j.node);
  assert_string_equal(j.resource, "res");
  assert_string_equal(j.bare, "example.com");
  assert_string_equal(j.full, "example.com/res");
  cn_jid_clear(&j);
}

static void test_full(void **state) {
  cn_jid j;

  assert_int_equal(parse("juliet@example.com/balcony", &j), 0);
  assert_string_equal(j.node, "juliet");
  assert_string_equal(j.domain, "example.com");
  assert_string_equal(j.resource, "balcony");
  assert_string_equal(j.bare, "juliet@example.com");
  assert_string_equal(j.full, "juliet@example.com/balcony");
  cn_jid_clear(&j);
}

static void test_resource_with_separators(void **state) {
  cn_jid j;

  assert_int_equal(parse("juliet@example.com/a/b@c/d", &j), 0);
  assert_string_equal(j.node, "juliet");
  assert_string_equal(j.domain, "example.com");
  assert_string_equal(j.resource, "a/b@c/d");
  assert_string_equal(j.full, "juliet@example.com/a/b@c/d");
  cn_jid_clear(&j);

  /* An '@' after the first '/' is not a node separator. */
  assert_int_equal(parse("example.com/juliet@example.org", &j), 0);
  assert_null(j.node);
  assert_string_equal(j.domain, "example.com");
  assert_string_equal(j.resource, "juliet@example.org");
  cn_jid_clear(&j);

  /* ASCII space is legal in a resource (resourceprep). */
  assert_parses_to("d/a b", "d", "d/a b");
}

static void test_case_folding(void **state) {
  cn_jid j;

  assert_int_equal(parse("Juliet@Example.COM/Balcony", &j), 0);
  assert_string_equal(j.node, "juliet");
  assert_string_equal(j.domain, "example.com");
  assert_string_equal(j.resource, "Balcony");
  assert_string_equal(j.full, "juliet@example.com/Balcony");
  cn_jid_clear(&j);

  /* Full case folding, not just ASCII: sharp s folds to "ss". */
  assert_parses_to("Stra\xc3\x9f"
                   "e@d",
                   "strasse@d", "strasse@d");
}

static void test_trailing_dot(void **state) {
  cn_jid j;

  assert_int_equal(parse("juliet@example.com./r", &j), 0);
  assert_string_equal(j.domain, "example.com");
  assert_string_equal(j.full, "juliet@example.com/r");
  cn_jid_clear(&j);

  assert_parses_to("example.com.", "example.com", "example.com");
  /* Only one dot is stripped; a second means an empty label. */
  assert_rejected("example.com..");
  assert_rejected(".");
  assert_rejected("n@.");
  assert_rejected(".example.com");
  assert_rejected("example..com");
}

static void test_idn(void **state) {
  cn_jid j;

  assert_int_equal(parse("user@b\xc3\xbc"
                         "cher.example",
                         &j),
                   0);
  assert_string_equal(j.node, "user");
  assert_string_equal(j.domain, "b\xc3\xbc"
                                "cher.example");
  cn_jid_clear(&j);

  /* Non-ASCII upper case is folded too. */
  assert_parses_to("user@B\xc3\x9c"
                   "CHER.example",
                   "user@b\xc3\xbc"
                   "cher.example",
                   "user@b\xc3\xbc"
                   "cher.example");
  /* The ideographic full stop separates labels like '.'. */
  assert_parses_to("a@example\xe3\x80\x82"
                   "com",
                   "a@example.com", "a@example.com");
  /* ASCII punctuation stays forbidden inside an IDN. */
  assert_rejected("a@b\xc3\xbc"
                  "cher_x.example");
  assert_rejected("a@b\xc3\xbc"
                  "cher x.example");
  /* Non-ASCII node and resource. */
  assert_parses_to("\xc3\x89lise@d/\xc3\x89"
                   "t\xc3\xa9",
                   "\xc3\xa9lise@d", "\xc3\xa9lise@d/\xc3\x89t\xc3\xa9");
}

static void test_ip_literals(void **state) {
  assert_parses_to("juliet@192.168.0.1/r", "juliet@192.168.0.1", "juliet@192.168.0.1/r");
  assert_parses_to("juliet@[::1]/r", "juliet@[::1]", "juliet@[::1]/r");
  assert_parses_to("[::1]", "[::1]", "[::1]");
  /* Equal addresses give equal JIDs. */
  assert_parses_to("a@[0:0:0:0:0:0:0:1]", "a@[::1]", "a@[::1]");
  assert_parses_to("a@[2001:DB8::A]", "a@[2001:db8::a]", "a@[2001:db8::a]");

  assert_rejected("a@[::1");
  assert_rejected("a@::1");
  assert_rejected("a@[]");
  assert_rejected("a@[::g]");
  assert_rejected("a@[192.168.0.1]");
  assert_rejected("a@[::1]x");
  assert_rejected("a@x[::1]");
  /* All-numeric names are only valid as real IPv4 addresses. */
  assert_rejected("a@999.1.1.1");
  assert_rejected("a@1.2.3");
  assert_rejected("a@1.2.3.4.5");
}

static void test_empty_parts(void **state) {
  assert_rejected("");
  assert_rejected_len("example.com", 0);
  assert_rejected("@d");
  assert_rejected("n@");
  assert_rejected("d/");
  assert_rejected("n@/r");
  assert_rejected("/r");
  assert_rejected("@");
  assert_rejected("n@d/");
  /* Soft hyphen is mapped to nothing: empty once prepared. */
  assert_rejected("\xc2\xad@d");
  assert_rejected("d/\xc2\xad");
}

static void test_total_length(void **state) {
  char *node = repeat('n', 1023);
  char *domain = long_domain(1023);
  char *res = repeat('r', 1023);
  char *jid = g_strconcat(node, "@", domain, "/", res, NULL);
  char *longer;
  cn_jid j;

  assert_int_equal(strlen(jid), CN_JID_MAX_TOTAL);
  assert_int_equal(parse(jid, &j), 0);
  assert_int_equal(strlen(j.full), CN_JID_MAX_TOTAL);
  cn_jid_clear(&j);

  longer = g_strconcat(jid, "x", NULL);
  assert_int_equal(strlen(longer), CN_JID_MAX_TOTAL + 1);
  assert_rejected(longer);
  g_free(longer);

  /* Every part is within its own limit here (the domain's trailing dot
   * is stripped), so only the limit on the text as given refuses it. */
  longer = g_strconcat(node, "@", domain, "./", res, NULL);
  assert_int_equal(strlen(longer), CN_JID_MAX_TOTAL + 1);
  assert_rejected(longer);
  g_free(longer);
  longer = g_strconcat(node, "@", domain, ".", NULL);
  assert_int_equal(parse(longer, &j), 0);
  assert_string_equal(j.domain, domain);
  cn_jid_clear(&j);
  g_free(longer);

  g_free(jid);
  g_free(res);
  g_free(domain);
  g_free(node);
}

static void test_node_length(void **state) {
  char *node = repeat('n', 1023);
  char *jid = g_strconcat(node, "@d", NULL);
  cn_jid j;

  assert_int_equal(parse(jid, &j), 0);
  assert_int_equal(strlen(j.node), 1023);
  cn_jid_clear(&j);
  g_free(jid);

  jid = g_strconcat(node, "n@d", NULL);
  assert_rejected(jid);
  g_free(jid);

  /* Measured after preparation: 512 sharp s (1024 bytes) fold to 1024
   * bytes of "ss", while 511 fold to 1022. */
  {
    GString *s = g_string_new(NULL);
    for (int i = 0; i < 511; i++)
      g_string_append(s, "\xc3\x9f");
    g_string_append(s, "@d");
    assert_int_equal(parse(s->str, &j), 0);
    assert_int_equal(strlen(j.node), 1022);
    cn_jid_clear(&j);
    g_string_insert(s, 0, "\xc3\x9f");
    assert_rejected(s->str);
    g_string_free(s, TRUE);
  }
  g_free(node);
}

static void test_resource_length(void **state) {
  char *res = repeat('r', 1023);
  char *jid = g_strconcat("n@d/", res, NULL);
  cn_jid j;

  assert_int_equal(parse(jid, &j), 0);
  assert_int_equal(strlen(j.resource), 1023);
  cn_jid_clear(&j);
  g_free(jid);

  jid = g_strconcat("n@d/r", res, NULL);
  assert_rejected(jid);
  g_free(jid);
  g_free(res);
}

static void test_domain_length(void **state) {
  char *domain = long_domain(1023);
  char *jid;
  cn_jid j;

  assert_int_equal(strlen(domain), 1023);
  assert_int_equal(parse(domain, &j), 0);
  assert_string_equal(j.domain, domain);
  cn_jid_clear(&j);

  /* The trailing dot does not count towards the limit. */
  jid = g_strconcat(domain, ".", NULL);
  assert_int_equal(parse(jid, &j), 0);
  assert_string_equal(j.domain, domain);
  cn_jid_clear(&j);
  g_free(jid);
  g_free(domain);

  domain = long_domain(1024);
  assert_int_equal(strlen(domain), 1024);
  assert_rejected(domain);
  g_free(domain);
}

static void test_label_length(void **state) {
  char *label = repeat('l', 63);
  char *jid = g_strconcat("n@", label, ".example", NULL);
  cn_jid j;

  assert_int_equal(parse(jid, &j), 0);
  cn_jid_clear(&j);
  g_free(jid);

  jid = g_strconcat("n@", label, "l.example", NULL);
  assert_rejected(jid);
  g_free(jid);
  jid = g_strconcat("n@example.", label, "l", NULL);
  assert_rejected(jid);
  g_free(jid);
  g_free(label);
}

static void test_forbidden_node_chars(void **state) {
  assert_rejected("a\"b@d");
  assert_rejected("a&b@d");
  assert_rejected("a'b@d");
  assert_rejected("a:b@d");
  assert_rejected("a<b@d");
  assert_rejected("a>b@d");
  assert_rejected("a b@d");
  /* Non-ASCII spaces are refused in the node; the domain and resource
   * profiles fold them to ASCII space first (NFKC), which the domain then
   * refuses and the resource keeps. */
  assert_rejected("a\xc2\xa0"
                  "b@d");
  assert_rejected("a\xe3\x80\x80"
                  "b@d");
  assert_rejected("n@exa\xc2\xa0"
                  "mple.com");
  assert_parses_to("d/a\xe2\x80\x83"
                   "b",
                   "d", "d/a b");
  /* '@' and '/' split instead of being refused: check where they went. */
  {
    cn_jid j;
    assert_int_equal(parse("a/b@d", &j), 0);
    assert_null(j.node);
    assert_string_equal(j.domain, "a");
    assert_string_equal(j.resource, "b@d");
    cn_jid_clear(&j);
  }
  /* A second '@' lands in the domain, where it is refused. */
  assert_rejected("a@b@d");
}

static void test_forbidden_domain_chars(void **state) {
  assert_rejected("n@exa_mple.com");
  assert_rejected("n@exa mple.com");
  assert_rejected("n@exa:mple.com");
  assert_rejected("n@exa!mple.com");
  assert_rejected("n@b@d");
  assert_parses_to("n@ex-ample.com", "n@ex-ample.com", "n@ex-ample.com");
}

static void test_control_chars(void **state) {
  assert_rejected("a\x01"
                  "b@d");
  assert_rejected("a\x7f"
                  "b@d");
  assert_rejected("n@exa\x01mple.com");
  assert_rejected("n@d/r\x07");
  assert_rejected("n@d/r\n");
  assert_rejected("n@d/r\t");
}

static void test_embedded_nul(void **state) {
  static const char t1[] = "a\0b@d";
  static const char t2[] = "a@d\0x";
  static const char t3[] = "a@d/r\0s";

  assert_rejected_len(t1, sizeof t1 - 1);
  assert_rejected_len(t2, sizeof t2 - 1);
  assert_rejected_len(t3, sizeof t3 - 1);
  /* Trailing NUL inside len counts too. */
  assert_rejected_len("a@d", 4);
}

static void test_invalid_utf8(void **state) {
  assert_rejected("a\xff"
                  "b@d");
  assert_rejected("a@d\xff");
  assert_rejected("a@d/\xff");
  /* Overlong encoding of NUL and of '/', which must not split. */
  assert_rejected("a\xc0\x80"
                  "b@d");
  assert_rejected("d\xc0\xaf"
                  "r");
  /* Truncated multibyte sequences, in the middle and at the end. */
  assert_rejected("a\xc3"
                  "b@d");
  assert_rejected("a@d/r\xe2\x82");
  /* UTF-16 surrogate encoded as UTF-8. */
  assert_rejected("a\xed\xa0\x80"
                  "b@d");
  /* A sequence cut by len is as bad as a truncated one. */
  assert_rejected_len("a@d\xc3\xa9", 4);
}

static void test_zeroed_after_failure(void **state) {
  cn_jid j;

  /* A good parse then a bad one into the same struct: the struct is
   * zeroed (the strings from the first are the caller's to free, so save
   * them first). */
  assert_int_equal(parse("a@b/c", &j), 0);
  cn_jid saved = j;
  assert_int_equal(parse("a\"b@d", &j), CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_zeroed(&j);
  cn_jid_clear(&saved);

  /* Failures late in the parse (resource) after node and domain were
   * already built must leave nothing behind either. */
  assert_rejected("node@example.com/\x01");
  assert_rejected("node@exa_mple.com/r");

  assert_int_equal(cn_jid_parse(NULL, 3, &j), CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_zeroed(&j);
  assert_int_equal(cn_jid_parse("a@b", 3, NULL), CLOUDNOTIFY_ERR_JID_MALFORMED);
}

static void test_clear(void **state) {
  cn_jid j;

  cn_jid_clear(NULL);
  assert_int_equal(parse("a@b/c", &j), 0);
  cn_jid_clear(&j);
  assert_zeroed(&j);
  /* Clearing twice is harmless. */
  cn_jid_clear(&j);
  assert_zeroed(&j);
}

static void test_normalize(void **state) {
  char *s;

  s = cn_jid_normalize("Juliet@Example.COM./Balcony");
  assert_string_equal(s, "juliet@example.com/Balcony");
  g_free(s);
  s = cn_jid_normalize("Example.COM");
  assert_string_equal(s, "example.com");
  g_free(s);
  s = cn_jid_normalize("a@[0::1]/x/y");
  assert_string_equal(s, "a@[::1]/x/y");
  g_free(s);

  assert_null(cn_jid_normalize(NULL));
  assert_null(cn_jid_normalize(""));
  assert_null(cn_jid_normalize("a<b@d"));
  assert_null(cn_jid_normalize("d/"));
}

static void test_normalize_bare(void **state) {
  char *s;

  s = cn_jid_normalize_bare("Juliet@Example.COM./Balcony");
  assert_string_equal(s, "juliet@example.com");
  g_free(s);
  s = cn_jid_normalize_bare("Example.COM/r");
  assert_string_equal(s, "example.com");
  g_free(s);
  s = cn_jid_normalize_bare("user@B\xc3\x9c"
                            "CHER.example");
  assert_string_equal(s, "user@b\xc3\xbc"
                         "cher.example");
  g_free(s);

  assert_null(cn_jid_normalize_bare(NULL));
  assert_null(cn_jid_normalize_bare(""));
  assert_null(cn_jid_normalize_bare("@d"));
  /* A bad resource invalidates the whole JID, bare form included. */
  assert_null(cn_jid_normalize_bare("n@d/\x01"));
}

/* The one comparison of wire JIDs with normalised ones: equal after
 * preparation, not merely as text, and never by prefix. */
static void test_equal(void **state) {
  (void)state;
  assert_true(cn_jid_equal("juliet@capulet.example", "juliet@capulet.example"));
  assert_true(cn_jid_equal("Juliet@Capulet.Example.", "juliet@capulet.example"));
  assert_true(cn_jid_equal("J\xc3\x9cLIET@capulet.example", "j\xc3\xbcliet@capulet.example"));
  assert_true(cn_jid_equal("push.example/Res", "push.example/Res"));
  assert_false(cn_jid_equal("push.example/res", "push.example/Res"));
  assert_false(cn_jid_equal("juliet@capulet.example/balcony", "juliet@capulet.example"));
  assert_false(cn_jid_equal("romeo@montague.example", "juliet@capulet.example"));
  assert_false(cn_jid_equal("juliet@capulet.example.evil", "juliet@capulet.example"));
  assert_false(cn_jid_equal("jul iet@capulet.example", "juliet@capulet.example"));
  assert_false(cn_jid_equal("a<b@capulet.example", "ab@capulet.example"));
  assert_false(cn_jid_equal(NULL, "juliet@capulet.example"));
  assert_false(cn_jid_equal("juliet@capulet.example", NULL));

  assert_true(cn_jid_bare_equal("juliet@capulet.example", "juliet@capulet.example"));
  assert_true(cn_jid_bare_equal("juliet@capulet.example/balcony", "juliet@capulet.example"));
  assert_true(cn_jid_bare_equal("JULIET@capulet.example/Balcony", "juliet@capulet.example"));
  assert_false(cn_jid_bare_equal("juliet@capulet.example.evil/x", "juliet@capulet.example"));
  assert_false(cn_jid_bare_equal("juliet@capulet.examplex", "juliet@capulet.example"));
  assert_false(
      cn_jid_bare_equal("nurse@capulet.example/juliet@capulet.example", "juliet@capulet.example"));
  assert_false(cn_jid_bare_equal("@capulet.example", "capulet.example"));
  assert_false(cn_jid_bare_equal(NULL, "juliet@capulet.example"));
}

/* The parts copied without libidn: for every ASCII character the code
 * says a profile keeps, libidn must keep it too (alone, and between
 * letters); and parts with any other character still go through libidn
 * (an upper-case node is folded, a prohibited character refused). */
static void test_ascii_fast_path_agrees_with_libidn(void **state) {
  (void)state;
  static const struct {
    int part;
    const Stringprep_profile *profile;
  } parts[] = {
    { CN_JID_NODE, stringprep_xmpp_nodeprep },
    { CN_JID_DOMAIN, stringprep_nameprep },
    { CN_JID_RESOURCE, stringprep_xmpp_resourceprep },
  };
  int kept = 0;

  for (size_t p = 0; p < G_N_ELEMENTS(parts); p++) {
    for (int c = 1; c < 0x80; c++) {
      if (!cn_jid_prep_keeps(parts[p].part, (unsigned char)c))
        continue;
      kept++;
      char alone[8] = { (char)c, 0 };
      char between[8] = { 'a', (char)c, 'b', 0 };
      assert_int_equal(stringprep(alone, sizeof alone, 0, parts[p].profile), STRINGPREP_OK);
      assert_int_equal(alone[0], c);
      assert_int_equal(alone[1], 0);
      assert_int_equal(stringprep(between, sizeof between, 0, parts[p].profile), STRINGPREP_OK);
      assert_string_equal(between, ((char[]){ 'a', (char)c, 'b', 0 }));
    }
  }
  assert_true(kept > 3 * 38);
  assert_false(cn_jid_prep_keeps(CN_JID_NODE, 'A'));
  assert_false(cn_jid_prep_keeps(CN_JID_NODE, '@'));
  assert_false(cn_jid_prep_keeps(CN_JID_DOMAIN, 'A'));
  assert_false(cn_jid_prep_keeps(CN_JID_RESOURCE, ' '));
  assert_false(cn_jid_prep_keeps(CN_JID_RESOURCE, 0x7f));
  assert_false(cn_jid_prep_keeps(CN_JID_RESOURCE, 0x80));

  cn_jid j;
  assert_int_equal(parse("Carol@Example.com/Sender", &j), 0);
  assert_string_equal(j.full, "carol@example.com/Sender");
  cn_jid_clear(&j);
  assert_rejected("carol@example.com/send\x7f"
                  "er");
  assert_rejected("carol@example.com/send\x01"
                  "er");
  assert_rejected("car\"ol@example.com");
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_node_domain),
    cmocka_unit_test(test_domain_only),
    cmocka_unit_test(test_full),
    cmocka_unit_test(test_resource_with_separators),
    cmocka_unit_test(test_case_folding),
    cmocka_unit_test(test_trailing_dot),
    cmocka_unit_test(test_idn),
    cmocka_unit_test(test_ip_literals),
    cmocka_unit_test(test_empty_parts),
    cmocka_unit_test(test_total_length),
    cmocka_unit_test(test_node_length),
    cmocka_unit_test(test_resource_length),
    cmocka_unit_test(test_domain_length),
    cmocka_unit_test(test_label_length),
    cmocka_unit_test(test_forbidden_node_chars),
    cmocka_unit_test(test_forbidden_domain_chars),
    cmocka_unit_test(test_control_chars),
    cmocka_unit_test(test_embedded_nul),
    cmocka_unit_test(test_invalid_utf8),
    cmocka_unit_test(test_zeroed_after_failure),
    cmocka_unit_test(test_clear),
    cmocka_unit_test(test_normalize),
    cmocka_unit_test(test_normalize_bare),
    cmocka_unit_test(test_equal),
    cmocka_unit_test(test_ascii_fast_path_agrees_with_libidn),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
