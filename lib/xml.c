/* Hardened stanza parsing on top of libxml2, tree helpers and the
 * serialiser.  See xml.h for the contract. */
#include "xml.h"

#include <string.h>

#include <libxml/dict.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>

#include "cloudnotify/cloudnotify.h"

/* Without XML_PARSE_HUGE (never given here) libxml2 2.9 fails documents
 * nested deeper than xmlParserMaxDepth + 1 = 257 elements with a generic
 * error.  Our limit is clamped just below, so that deep input is always
 * reported as TOO_LARGE, never as XML, whatever max_depth the caller
 * configured. */
#define CN_XML_LIBXML_MAX_DEPTH 256

/* The context's dictionary interns every element and attribute name ever
 * parsed and is never emptied by xmlCtxtReset, so a peer sending stanzas
 * with ever new names would grow it without bound.  Past this many
 * entries the context is replaced; documents still alive keep their own
 * reference to the old dictionary. */
#define CN_XML_DICT_MAX_ENTRIES 4096

#define CN_XML_PARSE_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

struct cn_xml_parser {
  xmlParserCtxtPtr ctxt;
};

/* XML_PARSE_NOERROR only removes the context's own error callbacks: a
 * structured handler the host installed globally would still be told
 * about every malformed stanza a peer sends.  A per-context no-op handler
 * takes precedence over the global one without touching it. */
static void silent_error(void *user_data, xmlErrorPtr error) {
  (void)user_data;
  (void)error;
}

static xmlParserCtxtPtr new_ctxt(void) {
  xmlParserCtxtPtr ctxt = xmlNewParserCtxt();

  if (ctxt == NULL || ctxt->sax == NULL)
    g_error("cloudnotify: cannot allocate an XML parser context");
  ctxt->sax->serror = silent_error;
  return ctxt;
}

cn_xml_parser *cn_xml_parser_new(void) {
  cn_xml_parser *p = g_new0(cn_xml_parser, 1);

  /* Idempotent; makes the lazy initialisation of libxml2's dictionary and
   * encoding tables happen here rather than in the middle of a parse. */
  xmlInitParser();
  p->ctxt = new_ctxt();
  return p;
}

void cn_xml_parser_free(cn_xml_parser *p) {
  if (p == NULL)
    return;
  xmlFreeParserCtxt(p->ctxt);
  g_free(p);
}

static gboolean is_xml_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Byte-level screening so that hostile input is refused before libxml2
 * builds anything.  Relies on the well-formedness rule that '<' appears
 * literally only as the start of markup (never in text or attribute
 * values); once '<!' and '<?' are refused, every '<' opens a start or end
 * tag, which also gives the nesting depth cheaply.  Input this function
 * lets through may still be malformed: libxml2 has the final word. */
static int prescan(const char *data, size_t len, int max_depth) {
  size_t i = 0;
  int depth = 0;

  if (len > 5 && memcmp(data, "<?xml", 5) == 0 && is_xml_space(data[5])) {
    /* A well-formed declaration holds no '>' before its closing '?>'. */
    const char *gt = memchr(data, '>', len);

    if (gt == NULL || gt[-1] != '?')
      return CLOUDNOTIFY_ERR_XML;
    i = (size_t)(gt - data) + 1;
  }

  while (i < len) {
    const char *lt = memchr(data + i, '<', len - i);
    char quote = 0;

    if (lt == NULL)
      break;
    i = (size_t)(lt - data) + 1;
    if (i >= len)
      return CLOUDNOTIFY_ERR_XML;
    if (data[i] == '!' || data[i] == '?')
      return CLOUDNOTIFY_ERR_XML;
    if (data[i] == '/') {
      depth--;
      continue;
    }
    /* Start tag: find its end, where attribute values may hide '>' and
     * '/'. */
    for (; i < len; i++) {
      char c = data[i];

      if (quote != 0) {
        if (c == quote)
          quote = 0;
        else if (c == '<')
          return CLOUDNOTIFY_ERR_XML;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '>' || c == '<') {
        break;
      }
    }
    if (i >= len || data[i] == '<')
      return CLOUDNOTIFY_ERR_XML;
    /* An empty-element tag still occupies one level while it lasts. */
    if (depth + 1 > max_depth)
      return CLOUDNOTIFY_ERR_TOO_LARGE;
    if (data[i - 1] != '/')
      depth++;
    i++;
  }
  return 0;
}

/* Without entity substitution libxml2 keeps each '&' of an attribute
 * value as the reference "&#38;", which its tree builder decodes for
 * ordinary attributes but not for namespace declarations: the namespace
 * name would differ from what the sender wrote, and its serialisation
 * would not parse back.  Decoded in place, left to right, so that a
 * literal "&#38;" written as "&amp;#38;" stays as it is. */
static void decode_ns_amp(xmlNs *ns) {
  xmlChar *r, *w;

  if (ns->href == NULL || strstr((const char *)ns->href, "&#38;") == NULL)
    return;
  r = w = (xmlChar *)ns->href;
  while (*r != '\0') {
    if (strncmp((const char *)r, "&#38;", 5) == 0) {
      *w++ = '&';
      r += 5;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
}

/* Authoritative check on the tree, independent of the byte scan: nesting
 * depth, and node kinds that must not exist once the input passed the
 * scan (entity references above all, which would make attribute and text
 * values incomplete).  Also repairs namespace names (decode_ns_amp). */
static int check_tree(const xmlNode *root, int max_depth) {
  const xmlNode *n = root;
  int depth = 1;

  for (;;) {
    switch (n->type) {
    case XML_ELEMENT_NODE:
      if (depth > max_depth)
        return CLOUDNOTIFY_ERR_TOO_LARGE;
      for (xmlNs *ns = n->nsDef; ns != NULL; ns = ns->next)
        decode_ns_amp(ns);
      for (const xmlAttr *a = n->properties; a != NULL; a = a->next) {
        for (const xmlNode *c = a->children; c != NULL; c = c->next) {
          if (c->type != XML_TEXT_NODE)
            return CLOUDNOTIFY_ERR_XML;
        }
      }
      break;
    case XML_TEXT_NODE: break;
    default: return CLOUDNOTIFY_ERR_XML;
    }
    if (n->type == XML_ELEMENT_NODE && n->children != NULL) {
      n = n->children;
      depth++;
      continue;
    }
    while (n != root && n->next == NULL) {
      n = n->parent;
      depth--;
    }
    if (n == root)
      return 0;
    n = n->next;
  }
}

static int parse(cn_xml_parser *p, const char *data, size_t len, size_t max_bytes, int max_depth,
                 gboolean stanza, xmlDoc **out) {
  xmlDoc *doc;
  xmlNode *root;
  int depth_limit = MIN(max_depth, CN_XML_LIBXML_MAX_DEPTH);
  int rc;

  *out = NULL;
  if (len > max_bytes || len > (size_t)G_MAXINT)
    return CLOUDNOTIFY_ERR_TOO_LARGE;
  if (len == 0 || data == NULL)
    return CLOUDNOTIFY_ERR_XML;
  /* Also refuses NUL bytes, overlong forms and surrogates. */
  if (!cn_utf8_valid(data, len, NULL))
    return CLOUDNOTIFY_ERR_XML;
  rc = prescan(data, len, depth_limit);
  if (rc != 0)
    return rc;

  /* The forced encoding makes libxml2 ignore an encoding='...' in the
   * declaration: the bytes were validated as UTF-8 and stay UTF-8.  It
   * also runs every byte through libxml2's UTF-8 to UTF-8 converter,
   * about a sixth of the parse; input that starts with a tag has no
   * declaration (prescan refuses "<?" anywhere else) and no byte order
   * mark, so libxml2 reads it as UTF-8 without being told. */
  gboolean plain = data[0] == '<' && len > 1 && data[1] != '?';
  doc = xmlCtxtReadMemory(p->ctxt, data, (int)len, NULL, plain ? NULL : "UTF-8",
                          CN_XML_PARSE_OPTIONS);
  /* Namespace errors (undeclared prefix, duplicate expanded attribute
   * name, ...) are not fatal to libxml2: it returns a tree where
   * "x:message" is a plain name without namespace, which would slip past
   * the namespace checks. */
  if (doc != NULL && !p->ctxt->nsWellFormed) {
    xmlFreeDoc(doc);
    doc = NULL;
  }
  /* Drop the context's copy of the input now rather than at the next
   * parse: stanzas are private and may be large. */
  xmlCtxtReset(p->ctxt);
  if (xmlDictSize(p->ctxt->dict) > CN_XML_DICT_MAX_ENTRIES) {
    xmlFreeParserCtxt(p->ctxt);
    p->ctxt = new_ctxt();
  }
  if (doc == NULL)
    return CLOUDNOTIFY_ERR_XML;

  root = xmlDocGetRootElement(doc);
  if (root == NULL || doc->intSubset != NULL || doc->extSubset != NULL || root->prev != NULL ||
      root->next != NULL) {
    rc = CLOUDNOTIFY_ERR_XML;
  } else if (stanza && !cn_xml_is_stanza_ns(root->ns)) {
    rc = CLOUDNOTIFY_ERR_XML;
  } else {
    rc = check_tree(root, depth_limit);
  }
  if (rc != 0) {
    xmlFreeDoc(doc);
    return rc;
  }
  *out = doc;
  return 0;
}

int cn_xml_parse(cn_xml_parser *p, const char *data, size_t len, size_t max_bytes, int max_depth,
                 xmlDoc **out) {
  return parse(p, data, len, max_bytes, max_depth, TRUE, out);
}

int cn_xml_parse_element(cn_xml_parser *p, const char *data, size_t len, size_t max_bytes,
                         int max_depth, xmlDoc **out) {
  return parse(p, data, len, max_bytes, max_depth, FALSE, out);
}

gboolean cn_xml_is_stanza_ns(const xmlNs *ns) {
  const char *href;

  if (ns == NULL || ns->href == NULL)
    return TRUE;
  href = (const char *)ns->href;
  return strcmp(href, "jabber:client") == 0 || strcmp(href, "jabber:server") == 0 ||
         strcmp(href, "jabber:component:accept") == 0;
}

const char *cn_xml_ns(const xmlNode *node) {
  if (node == NULL || node->ns == NULL)
    return NULL;
  return (const char *)node->ns->href;
}

static gboolean child_matches(const xmlNode *c, const char *name, const char *ns) {
  if (c->type != XML_ELEMENT_NODE)
    return FALSE;
  if (name != NULL && strcmp((const char *)c->name, name) != 0)
    return FALSE;
  if (ns == NULL)
    return cn_xml_is_stanza_ns(c->ns);
  return c->ns != NULL && c->ns->href != NULL && strcmp((const char *)c->ns->href, ns) == 0;
}

xmlNode *cn_xml_child(const xmlNode *parent, const char *name, const char *ns) {
  if (parent == NULL)
    return NULL;
  for (xmlNode *c = parent->children; c != NULL; c = c->next) {
    if (child_matches(c, name, ns))
      return c;
  }
  return NULL;
}

unsigned cn_xml_count_children(const xmlNode *parent, const char *name, const char *ns) {
  unsigned n = 0;

  if (parent == NULL)
    return 0;
  for (const xmlNode *c = parent->children; c != NULL; c = c->next) {
    if (child_matches(c, name, ns))
      n++;
  }
  return n;
}

const char *cn_xml_attr(const xmlNode *node, const char *name) {
  if (node == NULL || node->type != XML_ELEMENT_NODE || name == NULL)
    return NULL;
  for (const xmlAttr *a = node->properties; a != NULL; a = a->next) {
    if (a->ns != NULL || strcmp((const char *)a->name, name) != 0)
      continue;
    if (a->children == NULL)
      return "";
    /* Parsed trees and xmlNewProp/xmlSetProp always give a single text
     * child; anything else could only be returned by allocating. */
    if (a->children->type != XML_TEXT_NODE || a->children->next != NULL)
      return NULL;
    return a->children->content != NULL ? (const char *)a->children->content : "";
  }
  return NULL;
}

static gboolean is_text_node(const xmlNode *n) {
  return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

char *cn_xml_text(const xmlNode *node) {
  const xmlNode *first = NULL;
  GString *s;

  if (node == NULL)
    return NULL;
  for (const xmlNode *c = node->children; c != NULL; c = c->next) {
    if (is_text_node(c) && c->content != NULL) {
      first = c;
      break;
    }
  }
  if (first == NULL)
    return g_strdup("");

  /* libxml2 merges adjacent character data, so one text child is the
   * usual case and needs no GString. */
  {
    gboolean single = TRUE;

    for (const xmlNode *c = first->next; c != NULL; c = c->next) {
      if (is_text_node(c) && c->content != NULL) {
        single = FALSE;
        break;
      }
    }
    if (single)
      return g_strdup((const char *)first->content);
  }

  s = g_string_new(NULL);
  for (const xmlNode *c = first; c != NULL; c = c->next) {
    if (is_text_node(c) && c->content != NULL)
      g_string_append(s, (const char *)c->content);
  }
  return g_string_free(s, FALSE);
}

enum escape_mode {
  ESCAPE_TEXT = 1,
  ESCAPE_ATTR = 2,
};

/* Which modes escape each byte.  Besides the five specials: CR would be
 * turned into LF by end-of-line handling on re-parse, and TAB and LF in
 * attribute values into spaces by attribute-value normalisation, so they
 * are written as character references where that would happen. */
static const unsigned char escape_modes[256] = {
  ['&'] = ESCAPE_TEXT | ESCAPE_ATTR,
  ['<'] = ESCAPE_TEXT | ESCAPE_ATTR,
  ['>'] = ESCAPE_TEXT | ESCAPE_ATTR,
  ['"'] = ESCAPE_TEXT | ESCAPE_ATTR,
  ['\''] = ESCAPE_TEXT | ESCAPE_ATTR,
  ['\r'] = ESCAPE_TEXT | ESCAPE_ATTR,
  ['\n'] = ESCAPE_ATTR,
  ['\t'] = ESCAPE_ATTR,
};

static const char *escape_ref(unsigned char c) {
  switch (c) {
  case '&': return "&amp;";
  case '<': return "&lt;";
  case '>': return "&gt;";
  case '"': return "&quot;";
  case '\'': return "&apos;";
  case '\r': return "&#13;";
  case '\n': return "&#10;";
  default: return "&#9;";
  }
}

static void escape_append(GString *out, const char *text, size_t len, enum escape_mode mode) {
  size_t run = 0;

  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)text[i];

    if ((escape_modes[c] & mode) == 0)
      continue;
    if (i > run)
      cn_gstring_put(out, text + run, i - run);
    const char *ref = escape_ref(c);
    cn_gstring_put(out, ref, strlen(ref));
    run = i + 1;
  }
  if (len > run)
    cn_gstring_put(out, text + run, len - run);
}

gboolean cn_utf8_valid(const char *s, size_t len, gboolean *ascii) {
  const guint64 high = G_GUINT64_CONSTANT(0x8080808080808080);
  const guint64 ones = G_GUINT64_CONSTANT(0x0101010101010101);
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    guint64 w;
    memcpy(&w, s + i, 8);
    /* A byte >= 0x80, or a zero byte: the general check from here on
     * (i is a character boundary: everything before it is ASCII). */
    if ((w & high) || ((w - ones) & ~w & high))
      break;
  }
  for (; i < len; i++)
    if ((unsigned char)s[i] >= 0x80 || s[i] == 0)
      break;
  if (ascii)
    *ascii = i == len;
  return i == len || g_utf8_validate_len(s + i, len - i, NULL);
}

gboolean cn_text_is_xml_safe(const char *text) {
  if (!g_utf8_validate(text, -1, NULL))
    return FALSE;
  /* XML 1.0 Char: escaping cannot represent C0 controls (but tab, line
   * feed and carriage return) or U+FFFE / U+FFFF; one of them would make
   * every publish ill-formed and get the app server's stream closed. */
  for (const char *c = text; *c; c = g_utf8_next_char(c)) {
    gunichar u = g_utf8_get_char(c);
    if ((u < 0x20 && u != '\t' && u != '\n' && u != '\r') || u == 0xFFFE || u == 0xFFFF)
      return FALSE;
  }
  return TRUE;
}

void cn_xml_escape(GString *out, const char *text, size_t len) {
  /* Attribute rules are the stricter ones and are valid in text too. */
  escape_append(out, text, len, ESCAPE_ATTR);
}

static void escape_cstr(GString *out, const xmlChar *s, enum escape_mode mode) {
  if (s != NULL)
    escape_append(out, (const char *)s, strlen((const char *)s), mode);
}

static gboolean same_ns(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return a == b;
  return a == b || strcmp(a, b) == 0;
}

typedef struct {
  gboolean stanza_ns_as_none;
  gboolean (*skip_root_child)(const xmlNode *child);
} serialize_opts;

/* Write " prefix:" for an attribute in a namespace other than XML's,
 * declaring the prefix first when this element has not yet: each element
 * declares what its own attributes use, so no declaration depends on an
 * ancestor's (elements are written with default namespaces, never with a
 * prefix, so these cannot clash with them).  Prefixes are numbered in
 * order of first use on the element, whatever the input called them:
 * copies of a stanza spelled with other prefixes, or handed over as a
 * tree, serialise alike. */
static void namespaced_attr_prefix(GString *out, const xmlAttr *a, GHashTable **prefixes) {
  const char *href = (const char *)a->ns->href;
  const char *prefix;

  if (*prefixes == NULL)
    *prefixes = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
  prefix = g_hash_table_lookup(*prefixes, href);
  if (prefix == NULL) {
    char *p = g_strdup_printf("n%u", g_hash_table_size(*prefixes));

    g_hash_table_insert(*prefixes, (gpointer)href, p);
    prefix = p;
    g_string_append(out, " xmlns:");
    g_string_append(out, prefix);
    g_string_append(out, "='");
    escape_cstr(out, (const xmlChar *)href, ESCAPE_ATTR);
    g_string_append_c(out, '\'');
  }
  g_string_append_c(out, ' ');
  g_string_append(out, prefix);
  g_string_append_c(out, ':');
}

/* inherited: the default namespace in effect in the output at this point,
 * NULL for none (as around the root). */
static void serialize_element(GString *out, const xmlNode *node, const char *inherited,
                              const serialize_opts *o, gboolean is_root) {
  const char *ns = o->stanza_ns_as_none && cn_xml_is_stanza_ns(node->ns) ? NULL : cn_xml_ns(node);
  /* The XML namespace may only be bound to its own prefix, never declared
   * as the default one: such an element keeps xml: and leaves the default
   * namespace of its children as it was. */
  gboolean xml_prefix = ns != NULL && strcmp(ns, (const char *)XML_XML_NAMESPACE) == 0;
  const char *children_ns = xml_prefix ? inherited : ns;

  g_string_append_c(out, '<');
  if (xml_prefix)
    g_string_append(out, "xml:");
  g_string_append(out, (const char *)node->name);
  if (!xml_prefix && !same_ns(ns, inherited)) {
    /* xmlns='' when leaving a namespace for none. */
    g_string_append(out, " xmlns='");
    if (ns != NULL)
      escape_cstr(out, (const xmlChar *)ns, ESCAPE_ATTR);
    g_string_append_c(out, '\'');
  }

  GHashTable *prefixes = NULL; /* href -> prefix declared on this element */
  for (const xmlAttr *a = node->properties; a != NULL; a = a->next) {
    if (a->ns != NULL) {
      if (a->ns->href == NULL)
        continue;
      if (strcmp((const char *)a->ns->href, (const char *)XML_XML_NAMESPACE) == 0)
        g_string_append(out, " xml:");
      else
        namespaced_attr_prefix(out, a, &prefixes);
    } else {
      g_string_append_c(out, ' ');
    }
    g_string_append(out, (const char *)a->name);
    g_string_append(out, "='");
    for (const xmlNode *c = a->children; c != NULL; c = c->next) {
      if (is_text_node(c))
        escape_cstr(out, c->content, ESCAPE_ATTR);
    }
    g_string_append_c(out, '\'');
  }
  if (prefixes != NULL)
    g_hash_table_destroy(prefixes);

  if (node->children == NULL) {
    g_string_append(out, "/>");
    return;
  }
  g_string_append_c(out, '>');
  for (const xmlNode *c = node->children; c != NULL; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) {
      if (!(is_root && o->skip_root_child && o->skip_root_child(c)))
        serialize_element(out, c, children_ns, o, FALSE);
    } else if (is_text_node(c))
      escape_cstr(out, c->content, ESCAPE_TEXT);
    /* Comments, PIs and entity references are not stanza content. */
  }
  g_string_append(out, "</");
  if (xml_prefix)
    g_string_append(out, "xml:");
  g_string_append(out, (const char *)node->name);
  g_string_append_c(out, '>');
}

void cn_xml_serialize(GString *out, const xmlNode *node) {
  static const serialize_opts plain = { FALSE, NULL };

  if (out == NULL || node == NULL || node->type != XML_ELEMENT_NODE)
    return;
  serialize_element(out, node, NULL, &plain, TRUE);
}

void cn_xml_serialize_canonical(GString *out, const xmlNode *root,
                                gboolean (*skip_root_child)(const xmlNode *child)) {
  serialize_opts o = { TRUE, skip_root_child };

  if (out == NULL || root == NULL || root->type != XML_ELEMENT_NODE)
    return;
  serialize_element(out, root, NULL, &o, TRUE);
}
