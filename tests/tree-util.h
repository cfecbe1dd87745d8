/* A host's stanza tree for the tests and the fuzz target: plain C nodes
 * holding arbitrary bytes (so that invalid content can be handed over),
 * built from XML text with libxml2 the way a host's own parser would
 * have built its tree, and read by the library through a
 * cloudnotify_tree_ops adapter.  Header-only so each user compiles it
 * alone. */
#ifndef CN_TEST_TREE_UTIL_H
#define CN_TEST_TREE_UTIL_H

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "cloudnotify/cloudnotify.h"

typedef struct tt_attr {
  GString *ns; /* NULL: none */
  GString *name, *value;
} tt_attr;

typedef struct tt_node {
  gboolean is_text;
  GString *name;       /* element */
  GString *ns;         /* element; NULL inherits */
  GPtrArray *attrs;    /* tt_attr*, element */
  GPtrArray *children; /* tt_node*, element */
  GString *text;       /* text */
} tt_node;

/* The adapter's data: failure injection for the adapter's own errors. */
typedef struct tt_host {
  int fail_name, fail_ns, fail_attrs, fail_children; /* nonzero: that op fails */
  unsigned calls;
} tt_host;

static inline GString *tt_str(const char *s) {
  return s ? g_string_new(s) : NULL;
}

static inline tt_node *tt_element(const char *name, const char *ns) {
  tt_node *n = g_new0(tt_node, 1);
  n->name = tt_str(name);
  n->ns = tt_str(ns);
  n->attrs = g_ptr_array_new();
  n->children = g_ptr_array_new();
  return n;
}

static inline tt_node *tt_text_node(const char *text, size_t len) {
  tt_node *n = g_new0(tt_node, 1);
  n->is_text = TRUE;
  n->text = g_string_new_len(text, (gssize)len);
  return n;
}

static inline tt_attr *tt_add_attr(tt_node *n, const char *ns, const char *name,
                                   const char *value) {
  tt_attr *a = g_new0(tt_attr, 1);
  a->ns = tt_str(ns);
  a->name = tt_str(name);
  a->value = tt_str(value);
  g_ptr_array_add(n->attrs, a);
  return a;
}

static inline void tt_free(tt_node *n) {
  if (!n)
    return;
  if (n->is_text) {
    g_string_free(n->text, TRUE);
  } else {
    for (guint i = 0; i < n->attrs->len; i++) {
      tt_attr *a = n->attrs->pdata[i];
      if (a->ns)
        g_string_free(a->ns, TRUE);
      g_string_free(a->name, TRUE);
      g_string_free(a->value, TRUE);
      g_free(a);
    }
    g_ptr_array_free(n->attrs, TRUE);
    for (guint i = 0; i < n->children->len; i++)
      tt_free(n->children->pdata[i]);
    g_ptr_array_free(n->children, TRUE);
    g_string_free(n->name, TRUE);
    if (n->ns)
      g_string_free(n->ns, TRUE);
  }
  g_free(n);
}

/* libxml2 without entity substitution leaves '&' in a namespace name as
 * "&#38;" (the library's parser repairs it, see xml.c); a host's parser
 * gives the name as written. */
static inline char *tt_ns_name(const xmlNs *ns) {
  if (!ns || !ns->href)
    return NULL;
  GString *out = g_string_new(NULL);
  for (const char *r = (const char *)ns->href; *r;) {
    if (!strncmp(r, "&#38;", 5)) {
      g_string_append_c(out, '&');
      r += 5;
    } else {
      g_string_append_c(out, *r++);
    }
  }
  return g_string_free(out, FALSE);
}

/* As a host would hold it: a namespace only where it changes, like
 * util.stanza's attr.xmlns ("" leaving a namespace for none). */
static inline tt_node *tt_from_node(const xmlNode *x, const char *parent_ns) {
  char *ns = tt_ns_name(x->ns);
  const char *given = g_strcmp0(ns, parent_ns) ? (ns ? ns : "") : NULL;
  tt_node *n = tt_element((const char *)x->name, given);
  for (const xmlAttr *a = x->properties; a; a = a->next) {
    xmlChar *v = xmlNodeGetContent((const xmlNode *)a);
    char *ans = tt_ns_name(a->ns);
    tt_add_attr(n, ans, (const char *)a->name, v ? (const char *)v : "");
    g_free(ans);
    xmlFree(v);
  }
  for (const xmlNode *c = x->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE)
      g_ptr_array_add(n->children, tt_from_node(c, ns));
    else if (c->type == XML_TEXT_NODE && c->content)
      g_ptr_array_add(n->children,
                      tt_text_node((const char *)c->content, strlen((const char *)c->content)));
  }
  g_free(ns);
  return n;
}

/* The tree of well-formed text, or NULL when libxml2 refuses it. */
static inline tt_node *tt_from_xml(const char *xml, size_t len) {
  if (len > (size_t)G_MAXINT)
    return NULL;
  xmlDoc *d = xmlReadMemory(xml, (int)len, NULL, "UTF-8",
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlNode *root = d ? xmlDocGetRootElement(d) : NULL;
  tt_node *n = root ? tt_from_node(root, NULL) : NULL;
  xmlFreeDoc(d);
  return n;
}

/* ---- the adapter ----------------------------------------------------- */

static inline int tt_op_name(void *data, const void *el, const char **name, size_t *len) {
  tt_host *h = data;
  const tt_node *n = el;
  h->calls++;
  if (h->fail_name)
    return -1;
  *name = n->name->str;
  *len = n->name->len;
  return 0;
}

static inline int tt_op_ns(void *data, const void *el, const char **ns, size_t *len) {
  tt_host *h = data;
  const tt_node *n = el;
  if (h->fail_ns)
    return -1;
  *ns = n->ns ? n->ns->str : NULL;
  *len = n->ns ? n->ns->len : 0;
  return 0;
}

static inline int tt_op_attrs(void *data, const void *el,
                              int (*visit)(void *, const char *, size_t, const char *, size_t,
                                           const char *, size_t),
                              void *vd) {
  tt_host *h = data;
  const tt_node *n = el;
  if (h->fail_attrs)
    return -1;
  for (guint i = 0; i < n->attrs->len; i++) {
    const tt_attr *a = n->attrs->pdata[i];
    int rc = visit(vd, a->ns ? a->ns->str : NULL, a->ns ? a->ns->len : 0, a->name->str,
                   a->name->len, a->value->str, a->value->len);
    if (rc)
      return rc;
  }
  return 0;
}

static inline int tt_op_children(void *data, const void *el, const cloudnotify_tree_visitor *v,
                                 void *vd) {
  tt_host *h = data;
  const tt_node *n = el;
  if (h->fail_children)
    return -1;
  for (guint i = 0; i < n->children->len; i++) {
    const tt_node *c = n->children->pdata[i];
    int rc = c->is_text ? v->text(vd, c->text->str, c->text->len) : v->element(vd, c);
    if (rc)
      return rc;
  }
  return 0;
}

static const cloudnotify_tree_ops tt_ops = {
  sizeof(cloudnotify_tree_ops), tt_op_name, tt_op_ns, tt_op_attrs, tt_op_children,
};

static inline cloudnotify_tree tt_tree(tt_host *h, const tt_node *root) {
  cloudnotify_tree t = { &tt_ops, h, root };
  return t;
}

/* ---- a builder that writes the library's text form ------------------- */

typedef struct tt_builder {
  GString *out;
  GPtrArray *ns_stack; /* effective namespaces, copies (char* or NULL) */
  GPtrArray *names;
  gboolean open; /* the last start tag is not closed yet */
  int stop_at;   /* nonzero: start_element number stop_at returns 7 */
  int starts;
} tt_builder;

static inline void tt_escape(GString *out, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    switch (s[i]) {
    case '&': g_string_append(out, "&amp;"); break;
    case '<': g_string_append(out, "&lt;"); break;
    case '>': g_string_append(out, "&gt;"); break;
    case '"': g_string_append(out, "&quot;"); break;
    case '\'': g_string_append(out, "&apos;"); break;
    case '\r': g_string_append(out, "&#13;"); break;
    case '\n': g_string_append(out, "&#10;"); break;
    case '\t': g_string_append(out, "&#9;"); break;
    default: g_string_append_c(out, s[i]);
    }
  }
}

static inline void tt_close_open(tt_builder *b) {
  if (b->open)
    g_string_append_c(b->out, '>');
  b->open = FALSE;
}

static inline int tt_b_start(void *data, const char *name, const char *ns,
                             const cloudnotify_attr *attrs, size_t n) {
  tt_builder *b = data;
  if (b->stop_at && ++b->starts == b->stop_at)
    return 7;
  tt_close_open(b);
  const char *parent = b->ns_stack->len ? b->ns_stack->pdata[b->ns_stack->len - 1] : NULL;
  g_string_append_printf(b->out, "<%s", name);
  if (g_strcmp0(ns, parent)) {
    g_string_append(b->out, " xmlns='");
    if (ns)
      tt_escape(b->out, ns, strlen(ns));
    g_string_append_c(b->out, '\'');
  }
  /* Other namespaced attributes as the library writes them: prefixes
   * n0, n1... in order of first use on the element, declared there. */
  GPtrArray *declared = g_ptr_array_new();
  for (size_t i = 0; i < n; i++) {
    g_string_append_c(b->out, ' ');
    if (attrs[i].ns && !strcmp(attrs[i].ns, "http://www.w3.org/XML/1998/namespace")) {
      g_string_append(b->out, "xml:");
    } else if (attrs[i].ns) {
      guint k = 0;
      while (k < declared->len && strcmp(declared->pdata[k], attrs[i].ns))
        k++;
      if (k == declared->len) {
        g_ptr_array_add(declared, (gpointer)attrs[i].ns);
        g_string_append_printf(b->out, "xmlns:n%u='", k);
        tt_escape(b->out, attrs[i].ns, strlen(attrs[i].ns));
        g_string_append(b->out, "' ");
      }
      g_string_append_printf(b->out, "n%u:", k);
    }
    g_string_append_printf(b->out, "%s='", attrs[i].name);
    tt_escape(b->out, attrs[i].value, strlen(attrs[i].value));
    g_string_append_c(b->out, '\'');
  }
  g_ptr_array_free(declared, TRUE);
  /* The builder's arguments are borrowed for the one call. */
  g_ptr_array_add(b->ns_stack, g_strdup(ns));
  g_ptr_array_add(b->names, g_strdup(name));
  b->open = TRUE;
  return 0;
}

static inline int tt_b_text(void *data, const char *text, size_t len) {
  tt_builder *b = data;
  tt_close_open(b);
  tt_escape(b->out, text, len);
  return 0;
}

static inline int tt_b_end(void *data, const char *name) {
  tt_builder *b = data;
  char *open_name = b->names->pdata[b->names->len - 1];
  if (strcmp(open_name, name))
    return 9; /* not nested properly */
  if (b->open)
    g_string_append(b->out, "/>");
  else
    g_string_append_printf(b->out, "</%s>", name);
  b->open = FALSE;
  g_free(open_name);
  g_free(b->ns_stack->pdata[b->ns_stack->len - 1]);
  g_ptr_array_set_size(b->names, b->names->len - 1);
  g_ptr_array_set_size(b->ns_stack, b->ns_stack->len - 1);
  return 0;
}

static const cloudnotify_builder tt_builder_vt = {
  sizeof(cloudnotify_builder),
  tt_b_start,
  tt_b_text,
  tt_b_end,
};

/* The stanza walked into text; g_free it.  *rc receives the build's rc. */
static inline char *tt_build_text(const cloudnotify_stanza *st, int stop_at, int *rc) {
  tt_builder b = { g_string_new(NULL), g_ptr_array_new(), g_ptr_array_new(), FALSE, stop_at, 0 };
  *rc = cloudnotify_stanza_build(st, &tt_builder_vt, &b);
  for (guint i = 0; i < b.names->len; i++)
    g_free(b.names->pdata[i]);
  for (guint i = 0; i < b.ns_stack->len; i++)
    g_free(b.ns_stack->pdata[i]);
  g_ptr_array_free(b.names, TRUE);
  g_ptr_array_free(b.ns_stack, TRUE);
  return g_string_free(b.out, FALSE);
}

#endif
