/* The host's stanza trees, read through its adapter and rebuilt as the
 * libxml2 document the text path would have parsed.  Converting once
 * keeps a single implementation of everything after the parse
 * (classification, content digests, IQ handling), which is what makes
 * "both forms give identical results" hold by construction; the checks
 * below are the text parser's, stated on trees. */
#include "tree.h"

#include <string.h>
#include <libxml/tree.h>

#include "ctx.h"
#include "notify.h"
#include "xml.h"

/* As in xml.c: libxml2 refuses deeper documents without XML_PARSE_HUGE,
 * so the text path never accepts more than this whatever the option. */
#define CN_TREE_MAX_DEPTH 256
/* libxml2's XML_MAX_NAME_LENGTH: longer names fail the text parse. */
#define CN_TREE_MAX_NAME 50000

#define NS_XMLNS "http://www.w3.org/2000/xmlns/"

int cn_tree_check(const cloudnotify_tree *t) {
  if (!t || !t->ops || !t->root)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  /* 0.2's layout is the oldest: every field is required. */
  if (!cn_struct_size_ok(t->ops, t->ops->size, sizeof(cloudnotify_tree_ops),
                         sizeof(cloudnotify_tree_ops)))
    return CLOUDNOTIFY_ERR_VTABLE_SIZE;
  if (!t->ops->name || !t->ops->ns || !t->ops->attrs || !t->ops->children)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  return 0;
}

/* ---- character checks ------------------------------------------------ */

/* What the text parser accepts as character data: UTF-8 (which refuses
 * NUL, overlong forms and surrogates) of XML 1.0 Chars only. */
static gboolean chars_ok(const char *s, size_t len) {
  if (len && !s)
    return FALSE;
  gboolean ascii;
  if (!cn_utf8_valid(s, len, &ascii))
    return FALSE;
  if (ascii) {
    for (size_t i = 0; i < len; i++)
      if ((unsigned char)s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
        return FALSE;
    return TRUE;
  }
  for (const char *c = s, *end = s + len; c < end; c = g_utf8_next_char(c)) {
    unsigned char b = (unsigned char)*c;
    if (b < 0x20) {
      if (b != '\t' && b != '\n' && b != '\r')
        return FALSE;
      continue;
    }
    if (b == 0xEF) {
      gunichar u = g_utf8_get_char(c);
      if (u == 0xFFFE || u == 0xFFFF)
        return FALSE;
    }
  }
  return TRUE;
}

/* XML 1.0 fifth edition name characters, the ones libxml2's parser
 * applies to XML 1.0 documents; the colon is left out (NCName). */
static gboolean name_start_char(gunichar c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= 0xC0 && c <= 0xD6) ||
         (c >= 0xD8 && c <= 0xF6) || (c >= 0xF8 && c <= 0x2FF) || (c >= 0x370 && c <= 0x37D) ||
         (c >= 0x37F && c <= 0x1FFF) || (c >= 0x200C && c <= 0x200D) ||
         (c >= 0x2070 && c <= 0x218F) || (c >= 0x2C00 && c <= 0x2FEF) ||
         (c >= 0x3001 && c <= 0xD7FF) || (c >= 0xF900 && c <= 0xFDCF) ||
         (c >= 0xFDF0 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0xEFFFF);
}

static gboolean name_char(gunichar c) {
  return name_start_char(c) || c == '-' || c == '.' || (c >= '0' && c <= '9') || c == 0xB7 ||
         (c >= 0x300 && c <= 0x36F) || (c >= 0x203F && c <= 0x2040);
}

static gboolean ncname_ok(const char *s, size_t len) {
  if (!s || len == 0 || len > CN_TREE_MAX_NAME || !cn_utf8_valid(s, len, NULL))
    return FALSE;
  gboolean first = TRUE;
  for (const char *c = s, *end = s + len; c < end; c = g_utf8_next_char(c)) {
    gunichar u = g_utf8_get_char(c);
    if (first ? !name_start_char(u) : !name_char(u))
      return FALSE;
    first = FALSE;
  }
  return TRUE;
}

/* ---- conversion ------------------------------------------------------ */

typedef struct conv {
  const cloudnotify_tree *t;
  xmlDoc *doc;             /* NULL: check only (cn_tree_validate), nothing is built */
  xmlNode *cur;            /* the element whose attributes or children are being read */
  const char *cur_href;    /* check only: the namespace cur would have */
  struct attr_seen *attrs; /* check only: cur's attributes so far */
  unsigned n_attrs;
  gboolean root_ns_ok; /* check only: the root's namespace is a stanza's */
  int depth, max_depth;
  size_t size, max_size;
  unsigned prefixes; /* for attribute namespaces, which need a prefix */
  int rc;            /* the library's own verdict; 0 while all is well */
} conv;

static int fail(conv *c, int rc) {
  if (!c->rc)
    c->rc = rc;
  /* Any nonzero value stops the host's iteration. */
  return 1;
}

static gboolean grow(conv *c, size_t n) {
  if (n > c->max_size - c->size) {
    fail(c, CLOUDNOTIFY_ERR_TOO_LARGE);
    return FALSE;
  }
  c->size += n;
  return TRUE;
}

static gboolean is(const char *s, size_t len, const char *lit) {
  return len == strlen(lit) && !memcmp(s, lit, len);
}

/* The namespace object for href on node: the XML namespace is the
 * predefined one, any other is declared on node (as the default
 * namespace for the element itself, with a fresh prefix for attributes:
 * prefixes are not part of what either form compares). */
static xmlNs *ns_for(conv *c, xmlNode *node, const char *href, gboolean for_attr) {
  if (!strcmp(href, (const char *)XML_XML_NAMESPACE))
    return xmlSearchNsByHref(c->doc, node, XML_XML_NAMESPACE);
  if (!for_attr)
    return xmlNewNs(node, (const xmlChar *)href, NULL);
  for (xmlNs *ns = node->nsDef; ns; ns = ns->next)
    if (ns->prefix && !strcmp((const char *)ns->href, href))
      return ns;
  char prefix[16];
  g_snprintf(prefix, sizeof prefix, "a%u", c->prefixes++);
  return xmlNewNs(node, (const xmlChar *)href, (const xmlChar *)prefix);
}

/* Check mode's stand-in for xmlHasNsProp: the same expanded name twice. */
typedef struct attr_seen {
  const char *ns, *name;
  size_t ns_len, name_len;
} attr_seen;

/* More attributes on one element than this and the check gives up (an
 * answer of XML for a tree the conversion might accept): its caller only
 * needs "surely converts". */
#define CN_CHECK_MAX_ATTRS 32

static int check_attr(conv *c, const char *ns, size_t ns_len, const char *name, size_t name_len) {
  if (c->n_attrs == CN_CHECK_MAX_ATTRS)
    return fail(c, CLOUDNOTIFY_ERR_XML);
  for (unsigned i = 0; i < c->n_attrs; i++) {
    const attr_seen *a = &c->attrs[i];
    if (a->name_len == name_len && !memcmp(a->name, name, name_len) && a->ns_len == ns_len &&
        (!ns_len || !memcmp(a->ns, ns, ns_len)))
      return fail(c, CLOUDNOTIFY_ERR_XML);
  }
  c->attrs[c->n_attrs++] = (attr_seen){ ns, name, ns_len, name_len };
  return 0;
}

static int visit_attr(void *data, const char *ns, size_t ns_len, const char *name, size_t name_len,
                      const char *value, size_t value_len) {
  conv *c = data;
  if (c->rc)
    return 1;
  if (!ncname_ok(name, name_len) || !chars_ok(value, value_len) ||
      (ns && ns_len && !chars_ok(ns, ns_len)))
    return fail(c, CLOUDNOTIFY_ERR_XML);
  gboolean has_ns = ns && ns_len;
  if (!has_ns)
    ns_len = 0;
  /* In text an xmlns attribute is a declaration, never an attribute, and
   * nothing can be put in the namespace of declarations. */
  if ((!has_ns && is(name, name_len, "xmlns")) || (has_ns && is(ns, ns_len, NS_XMLNS)))
    return fail(c, CLOUDNOTIFY_ERR_XML);
  if (!grow(c, name_len + value_len + 4))
    return 1;
  if (!c->doc)
    return check_attr(c, ns, ns_len, name, name_len);
  char *n = g_strndup(name, name_len);
  char *href = has_ns ? g_strndup(ns, ns_len) : NULL;
  char *v = g_strndup(value, value_len);
  /* Twice the same expanded name is not well-formed. */
  if (xmlHasNsProp(c->cur, (const xmlChar *)n, (const xmlChar *)href)) {
    fail(c, CLOUDNOTIFY_ERR_XML);
  } else {
    xmlNs *xns = href ? ns_for(c, c->cur, href, TRUE) : NULL;
    /* xmlNewNsProp stores the value as it is: no entity parsing. */
    xmlNewNsProp(c->cur, xns, (const xmlChar *)n, (const xmlChar *)v);
  }
  g_free(n);
  g_free(href);
  g_free(v);
  return c->rc ? 1 : 0;
}

static int convert(conv *c, const void *el);

static int visit_element(void *data, const void *child) {
  conv *c = data;
  if (c->rc)
    return 1;
  if (!child)
    return fail(c, CLOUDNOTIFY_ERR_XML);
  xmlNode *parent = c->cur;
  convert(c, child);
  c->cur = parent;
  return c->rc ? 1 : 0;
}

static int visit_text(void *data, const char *text, size_t len) {
  conv *c = data;
  if (c->rc)
    return 1;
  if (!chars_ok(text, len))
    return fail(c, CLOUDNOTIFY_ERR_XML);
  if (len == 0)
    return 0;
  if (len > (size_t)G_MAXINT || !grow(c, len))
    return fail(c, CLOUDNOTIFY_ERR_TOO_LARGE);
  if (!c->doc)
    return 0;
  /* Adjacent texts are merged, as the parser leaves them. */
  xmlNode *last = c->cur->last;
  if (last && last->type == XML_TEXT_NODE)
    xmlNodeAddContentLen(last, (const xmlChar *)text, (int)len);
  else
    xmlAddChild(c->cur, xmlNewDocTextLen(c->doc, (const xmlChar *)text, (int)len));
  return 0;
}

static const cloudnotify_tree_visitor visitor = { visit_element, visit_text };

const char *cn_tree_child_ns(const char *parent_ns, const char *ns, const char *href) {
  gboolean own = ns && g_strcmp0(href, parent_ns) != 0;
  /* As convert sets it: a namespace equal to the parent's is the parent's. */
  return own && href ? href : !own ? parent_ns : NULL;
}

/* The rest of convert in check mode (href: owned, taken): the element's
 * namespace as convert would set it, then its attributes and children. */
static int check_element(conv *c, const void *el, const char *ns, char *href,
                         const char *inherited) {
  const cloudnotify_tree_ops *ops = c->t->ops;
  void *td = c->t->data;
  const char *saved = c->cur_href;
  c->cur_href = cn_tree_child_ns(inherited, ns, href);
  if (c->depth == 1)
    c->root_ns_ok = cn_tree_stanza_href(c->cur_href);
  c->n_attrs = 0;
  int rc = ops->attrs(td, el, visit_attr, c);
  if (!c->rc && rc)
    fail(c, CLOUDNOTIFY_ERR_XML);
  if (!c->rc) {
    rc = ops->children(td, el, &visitor, c);
    if (!c->rc && rc)
      fail(c, CLOUDNOTIFY_ERR_XML);
  }
  c->cur_href = saved;
  g_free(href);
  c->depth--;
  return c->rc ? 1 : 0;
}

/* Adds el under c->cur (the document when NULL); leaves c->rc set on
 * refusal. */
static int convert(conv *c, const void *el) {
  const cloudnotify_tree_ops *ops = c->t->ops;
  void *td = c->t->data;
  if (++c->depth > c->max_depth)
    return fail(c, CLOUDNOTIFY_ERR_TOO_LARGE);

  const char *name = NULL, *ns = NULL;
  size_t name_len = 0, ns_len = 0;
  if (ops->name(td, el, &name, &name_len) < 0 || ops->ns(td, el, &ns, &ns_len) < 0)
    return fail(c, CLOUDNOTIFY_ERR_XML);
  if (!ncname_ok(name, name_len) || (ns && !chars_ok(ns, ns_len)))
    return fail(c, CLOUDNOTIFY_ERR_XML);
  if (ns && is(ns, ns_len, NS_XMLNS))
    return fail(c, CLOUDNOTIFY_ERR_XML);

  xmlNode *parent = c->cur;
  const char *inherited = !c->doc                ? c->cur_href
                          : parent && parent->ns ? (const char *)parent->ns->href
                                                 : NULL;
  char *href = ns && ns_len ? g_strndup(ns, ns_len) : NULL;
  gboolean own = ns && g_strcmp0(href, inherited) != 0;
  if (!grow(c, 2 * name_len + 5 + (own ? ns_len + 9 : 0))) {
    g_free(href);
    return 1;
  }
  if (!c->doc)
    return check_element(c, el, ns, href, inherited);
  char *n = g_strndup(name, name_len);
  xmlNode *node = xmlNewDocNode(c->doc, NULL, (const xmlChar *)n, NULL);
  g_free(n);
  if (parent)
    xmlAddChild(parent, node);
  else
    xmlDocSetRootElement(c->doc, node);
  if (own && href)
    xmlSetNs(node, ns_for(c, node, href, FALSE));
  else if (!own) /* none given, or the parent's repeated (util.xmppstream's shape) */
    xmlSetNs(node, parent ? parent->ns : NULL);
  g_free(href);

  c->cur = node;
  int rc = ops->attrs(td, el, visit_attr, c);
  if (!c->rc && rc)
    return fail(c, CLOUDNOTIFY_ERR_XML);
  if (c->rc)
    return 1;
  c->cur = node;
  rc = ops->children(td, el, &visitor, c);
  if (!c->rc && rc)
    return fail(c, CLOUDNOTIFY_ERR_XML);
  c->depth--;
  return c->rc ? 1 : 0;
}

int cn_tree_parse(cloudnotify_ctx *ctx, const cloudnotify_tree *t, xmlDoc **out) {
  conv c = { 0 };
  c.t = t;
  c.doc = xmlNewDoc((const xmlChar *)"1.0");
  c.max_depth = (int)MIN(ctx->opt.max_xml_depth, CN_TREE_MAX_DEPTH);
  c.max_size = (size_t)ctx->opt.max_stanza_size;
  *out = NULL;
  convert(&c, t->root);
  if (!c.rc) {
    xmlNode *root = xmlDocGetRootElement(c.doc);
    if (!root || !cn_xml_is_stanza_ns(root->ns))
      c.rc = CLOUDNOTIFY_ERR_XML;
  }
  if (c.rc) {
    xmlFreeDoc(c.doc);
    return c.rc;
  }
  *out = c.doc;
  return 0;
}

gboolean cn_tree_stanza_href(const char *href) {
  xmlNs ns = { .href = (const xmlChar *)href };
  return cn_xml_is_stanza_ns(href ? &ns : NULL);
}

int cn_tree_validate(cloudnotify_ctx *ctx, const cloudnotify_tree *t) {
  conv c = { 0 };
  c.t = t;
  c.max_depth = (int)MIN(ctx->opt.max_xml_depth, CN_TREE_MAX_DEPTH);
  c.max_size = (size_t)ctx->opt.max_stanza_size;
  attr_seen attrs[CN_CHECK_MAX_ATTRS];
  c.attrs = attrs;
  convert(&c, t->root);
  if (!c.rc && !c.root_ns_ok)
    c.rc = CLOUDNOTIFY_ERR_XML;
  return c.rc;
}

int cn_input_parse(cloudnotify_ctx *ctx, const cn_input *in, xmlDoc **out) {
  if (in->tree)
    return cn_tree_parse(ctx, in->tree, out);
  return cn_parse(ctx, in->xml, in->len, out);
}

int cn_summarize_input(cloudnotify_ctx *ctx, const char *account, const cn_input *in,
                       cn_summary *out) {
  if (!in->tree)
    return cn_summarize(ctx, account, in->xml, in->len, out);
  memset(out, 0, sizeof *out);
  xmlDoc *doc;
  int rc = cn_tree_parse(ctx, in->tree, &doc);
  if (rc)
    return rc;
  cn_summarize_root(ctx, account, xmlDocGetRootElement(doc), out);
  xmlFreeDoc(doc);
  return 0;
}
