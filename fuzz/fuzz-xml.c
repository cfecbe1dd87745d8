/* Fuzz target: the hardened parser and the serialiser.
 *
 * - A reused parser and a fresh one give the same answer (the reused one
 *   carries state between stanzas: its dictionary, its reset input).
 * - Stanza and element parsing agree: they differ only in the check of
 *   the root's namespace.
 * - On success, the serialisation parses again and serialises to the same
 *   bytes; the classifier sees the same stanza in both trees, so that a
 *   publish-options form or a stanza copied through the serialiser keeps
 *   its meaning. */
#include "fuzz-host.h"

#include <stdio.h>
#include <string.h>

#include "rules.h"
#include "xml.h"

#define MAX_BYTES 65536
#define MAX_DEPTH 64
#define ACCOUNT   "juliet@capulet.example"

static cn_xml_parser *reused;

static void check_same_info(const xmlNode *a, const xmlNode *b) {
  cn_summary x, y;
  cn_rules_classify(a, ACCOUNT, &x);
  cn_rules_classify(b, ACCOUNT, &y);
  FH_CHECK(x.is_message == y.is_message && x.important == y.important);
  FH_CHECK(x.urgent == y.urgent && x.outgoing_carbon == y.outgoing_carbon);
  FH_CHECK(g_strcmp0(x.sender, y.sender) == 0);
  FH_CHECK(g_strcmp0(x.body, y.body) == 0);
  FH_CHECK(x.key != NULL && strcmp(x.key, y.key) == 0);
  FH_CHECK(x.body == NULL || g_utf8_validate(x.body, -1, NULL));
  cn_summary_clear(&x);
  cn_summary_clear(&y);
}

static void round_trip(xmlNode *root, gboolean stanza) {
  GString *first = g_string_new(NULL);
  cn_xml_serialize(first, root);
  FH_CHECK(first->len > 0 && g_utf8_validate_len(first->str, first->len, NULL));

  xmlDoc *doc = NULL;
  /* Escaping may lengthen the text: no byte limit on the way back. */
  int rc = stanza ? cn_xml_parse(reused, first->str, first->len, G_MAXINT, MAX_DEPTH, &doc)
                  : cn_xml_parse_element(reused, first->str, first->len, G_MAXINT, MAX_DEPTH, &doc);
  if (rc != 0)
    fprintf(stderr, "serialisation does not parse (%d): %s\n", rc, first->str);
  FH_CHECK(rc == 0);
  xmlNode *again = xmlDocGetRootElement(doc);
  GString *second = g_string_new(NULL);
  cn_xml_serialize(second, again);
  if (!g_string_equal(first, second))
    fprintf(stderr, "first:  %s\nsecond: %s\n", first->str, second->str);
  FH_CHECK(g_string_equal(first, second));
  check_same_info(root, again);
  g_string_free(second, TRUE);
  g_string_free(first, TRUE);
  xmlFreeDoc(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!reused)
    reused = cn_xml_parser_new();
  const char *text = (const char *)data;

  xmlDoc *elem = NULL, *stanza = NULL, *fresh_doc = NULL;
  int rc_elem = cn_xml_parse_element(reused, text, size, MAX_BYTES, MAX_DEPTH, &elem);
  int rc_stanza = cn_xml_parse(reused, text, size, MAX_BYTES, MAX_DEPTH, &stanza);
  cn_xml_parser *fresh = cn_xml_parser_new();
  int rc_fresh = cn_xml_parse_element(fresh, text, size, MAX_BYTES, MAX_DEPTH, &fresh_doc);
  cn_xml_parser_free(fresh);
  FH_CHECK(rc_elem == rc_fresh);
  xmlFreeDoc(fresh_doc);

  FH_CHECK(rc_elem == 0 || rc_elem == CLOUDNOTIFY_ERR_XML || rc_elem == CLOUDNOTIFY_ERR_TOO_LARGE);
  FH_CHECK((rc_elem == 0) == (elem != NULL));
  FH_CHECK((rc_stanza == 0) == (stanza != NULL));
  if (rc_elem != 0) {
    FH_CHECK(rc_stanza == rc_elem);
    return 0;
  }
  xmlNode *root = xmlDocGetRootElement(elem);
  FH_CHECK(rc_stanza == (cn_xml_is_stanza_ns(root->ns) ? 0 : CLOUDNOTIFY_ERR_XML));

  char *t = cn_xml_text(root);
  FH_CHECK(t != NULL && g_utf8_validate(t, -1, NULL));
  g_free(t);
  round_trip(root, FALSE);
  if (stanza)
    round_trip(xmlDocGetRootElement(stanza), TRUE);
  xmlFreeDoc(elem);
  xmlFreeDoc(stanza);
  return 0;
}
