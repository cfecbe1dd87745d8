/* Hardened parsing of stanzas with libxml2, tree helpers, and the small
 * serialiser used to build outgoing stanzas.  Internal: not exported.
 *
 * libxml2 global state is never touched: no xmlCleanupParser, no
 * xmlSetGenericErrorFunc, no changes to xmlParserMaxDepth etc. */
#ifndef CN_XML_H
#define CN_XML_H

#include <stddef.h>
#include <glib.h>
#include <libxml/tree.h>
#include <string.h>

typedef struct cn_xml_parser cn_xml_parser;

/* A reusable parser (one per context).  Never NULL. */
cn_xml_parser *cn_xml_parser_new(void);
void cn_xml_parser_free(cn_xml_parser *p); /* NULL-safe */

/* Parse exactly one stanza from data[0..len).
 * Returns 0 and *out (owned by the caller, free with xmlFreeDoc), or:
 *  CLOUDNOTIFY_ERR_TOO_LARGE  len > max_bytes, or nesting deeper than
 *                             max_depth (root element is depth 1);
 *  CLOUDNOTIFY_ERR_XML        len 0, a NUL byte, invalid UTF-8, not well
 *                             formed, truncated, several roots, text
 *                             outside the root, any DOCTYPE / ENTITY
 *                             declaration, comment, CDATA section, or
 *                             processing instruction (an XML declaration
 *                             at the very start is allowed), entity
 *                             references other than the five predefined
 *                             and numeric ones, or a root element whose
 *                             namespace is not jabber:client,
 *                             jabber:server, jabber:component:accept or
 *                             none.
 * Checks that can be made on the bytes are made before libxml2 sees
 * them (size, NUL, '<!' and '<?'), so hostile input costs little.  The
 * parse uses XML_PARSE_NONET|NOERROR|NOWARNING and never substitutes
 * entities. */
int cn_xml_parse(cn_xml_parser *p, const char *data, size_t len, size_t max_bytes, int max_depth,
                 xmlDoc **out);

/* As cn_xml_parse, for a stored element that is not a stanza (a
 * publish-options form): the root may be in any namespace. */
int cn_xml_parse_element(cn_xml_parser *p, const char *data, size_t len, size_t max_bytes,
                         int max_depth, xmlDoc **out);

/* TRUE when ns (may be NULL) is one of the accepted stanza namespaces or
 * absent. */
gboolean cn_xml_is_stanza_ns(const xmlNs *ns);

/* Namespace href of node, or NULL when it has none. */
const char *cn_xml_ns(const xmlNode *node);

/* First element child of parent named name (NULL: any name) whose
 * namespace href equals ns; ns NULL matches a child that has no namespace
 * or one of the stanza namespaces (used for <body/>, <subject/> which
 * inherit the stanza's default namespace).  NULL when none. */
xmlNode *cn_xml_child(const xmlNode *parent, const char *name, const char *ns);

/* Count element children matching as cn_xml_child. */
unsigned cn_xml_count_children(const xmlNode *parent, const char *name, const char *ns);

/* Value of an attribute without namespace, borrowed from the tree (valid
 * while the doc lives), or NULL. */
const char *cn_xml_attr(const xmlNode *node, const char *name);

/* Concatenated text content of node (direct text children), g_malloc'd,
 * "" when it has none.  NULL when node is NULL. */
char *cn_xml_text(const xmlNode *node);

/* Valid UTF-8 made only of characters XML 1.0 can carry (what escaping
 * can represent): text that may go into a stanza. */
gboolean cn_text_is_xml_safe(const char *text);

/* Append text escaped for XML character data / attribute values
 * (& < > " ' escaped). */
void cn_xml_escape(GString *out, const char *text, size_t len);

/* g_utf8_validate_len (UTF-8, no NUL, no overlong form, no surrogate)
 * with a fast path for ASCII, eight bytes at a time; *ascii (may be NULL)
 * is set to whether every byte was ASCII. */
gboolean cn_utf8_valid(const char *s, size_t len, gboolean *ascii);

/* g_string_append_len for the many short pieces of a serialisation:
 * inline while the buffer has room. */
static inline __attribute__((always_inline)) void cn_gstring_put(GString *out, const char *s,
                                                                 size_t n) {
  if (out->len + n >= out->allocated_len) {
    g_string_append_len(out, s, (gssize)n);
    return;
  }
  memcpy(out->str + out->len, s, n);
  out->len += n;
  out->str[out->len] = 0;
}

/* Append a self-contained serialisation of the element node and its
 * subtree: every element whose namespace differs from its parent's in the
 * output gets an xmlns='...' declaration (the root always, when it has a
 * namespace); element prefixes are not reproduced (but xml:, which may not
 * be declared as a default namespace); attributes in the XML namespace
 * keep the xml: prefix, other namespaced attributes get prefixes n0,
 * n1... in order of first use on their element, declared there; text is
 * escaped.  Re-parsing the output gives an equivalent tree. */
void cn_xml_serialize(GString *out, const xmlNode *node);

/* As cn_xml_serialize, but the stanza namespaces are written as no
 * namespace and the root's children for which skip_root_child (may be
 * NULL) returns TRUE are left out: the form that copies of one stanza
 * share whatever route they took and whichever server wrote them. */
void cn_xml_serialize_canonical(GString *out, const xmlNode *root,
                                gboolean (*skip_root_child)(const xmlNode *child));

#endif
