/* Outgoing stanzas as a small element tree.  The text it serialises to is
 * byte for byte what the library wrote by hand before 0.2 (attribute-mode
 * escaping for values and text alike, xmlns first, empty elements as
 * "/>"), so hosts reading text see no change; hosts with send_stanza get
 * the same stanza as builder calls and never pay for the text. */
#include "emit.h"

#include <string.h>

#include "ctx.h"
#include "host.h"
#include "xml.h"

typedef enum { EL_ELEMENT, EL_TEXT, EL_RAW } el_kind;

typedef struct el_attr {
  const char *name, *value;
  size_t name_len, value_len;
  struct el_attr *next;
} el_attr;

/* A tree's nodes and strings live in a few blocks owned by its root:
 * a publish is built and freed with one or two allocations instead of
 * one per node, attribute and string (about sixty). */
typedef struct el_block {
  struct el_block *next;
  size_t used, size;
  max_align_t data[];
} el_block;

/* Requests up to about 1 KB are served from glibc's per-thread cache;
 * bigger ones cost a search of the bins and often a trim of the heap's
 * top at free (measured: ~3,700 instructions for a 2 KB block against
 * ~150 for three 1 KB ones). */
#define EL_BLOCK_SIZE (1024 - sizeof(el_block))

struct cn_el {
  el_kind kind;
  cn_el *root;      /* the tree's root, which owns blocks */
  el_block *blocks; /* root only: newest first */
  const char *name; /* element */
  const char *ns;   /* element: declared namespace, NULL inherits */
  size_t name_len, ns_len;
  el_attr *attrs, *last_attr;
  const char *text; /* text or raw XML */
  size_t len;
  cn_el *first, *last, *next;
};

static void *el_alloc(cn_el *root, size_t n) {
  n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  el_block *b = root->blocks;
  if (!b || b->size - b->used < n) {
    size_t size = n > EL_BLOCK_SIZE ? n : EL_BLOCK_SIZE;
    b = g_malloc(sizeof *b + size);
    b->size = size;
    b->used = 0;
    b->next = root->blocks;
    root->blocks = b;
  }
  void *p = (char *)b->data + b->used;
  b->used += n;
  return p;
}

static const char *el_strndup(cn_el *root, const char *s, size_t len) {
  char *c = el_alloc(root, len + 1);
  memcpy(c, s, len);
  c[len] = 0;
  return c;
}

/* e is zeroed; a root has its blocks already. */
static cn_el *el_init(cn_el *e, cn_el *root, const char *name, const char *ns) {
  e->kind = EL_ELEMENT;
  e->root = root ? root : e;
  e->name_len = strlen(name);
  e->name = el_strndup(e->root, name, e->name_len);
  if (ns) {
    e->ns_len = strlen(ns);
    e->ns = el_strndup(e->root, ns, e->ns_len);
  }
  return e;
}

cn_el *cn_el_new(const char *name, const char *ns) {
  /* The root sits at the start of its own first block. */
  el_block *b = g_malloc(sizeof *b + EL_BLOCK_SIZE);
  b->size = EL_BLOCK_SIZE;
  b->used = (sizeof(cn_el) + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  b->next = NULL;
  cn_el *e = (cn_el *)b->data;
  memset(e, 0, sizeof *e);
  e->blocks = b;
  return el_init(e, NULL, name, ns);
}

static void append(cn_el *parent, cn_el *c) {
  if (parent->last)
    parent->last->next = c;
  else
    parent->first = c;
  parent->last = c;
}

cn_el *cn_el_add(cn_el *parent, const char *name, const char *ns) {
  cn_el *c = el_alloc(parent->root, sizeof(cn_el));
  memset(c, 0, sizeof *c);
  el_init(c, parent->root, name, ns);
  append(parent, c);
  return c;
}

void cn_el_attr(cn_el *el, const char *name, const char *value) {
  if (!value)
    return;
  el_attr *a = el_alloc(el->root, sizeof *a);
  a->name_len = strlen(name);
  a->name = el_strndup(el->root, name, a->name_len);
  a->value_len = strlen(value);
  a->value = el_strndup(el->root, value, a->value_len);
  a->next = NULL;
  if (el->last_attr)
    el->last_attr->next = a;
  else
    el->attrs = a;
  el->last_attr = a;
}

static void add_chars(cn_el *el, el_kind kind, const char *text, size_t len) {
  cn_el *c = el_alloc(el->root, sizeof *c);
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->root = el->root;
  c->text = el_strndup(el->root, text, len);
  c->len = len;
  append(el, c);
}

/* Kept even when empty: the element then still serialises as
 * <value></value>, as it always did. */
void cn_el_text(cn_el *el, const char *text) {
  if (text)
    add_chars(el, EL_TEXT, text, strlen(text));
}

void cn_el_raw(cn_el *el, const char *xml, size_t len) {
  if (xml && len)
    add_chars(el, EL_RAW, xml, len);
}

/* Only a root is ever freed: its blocks hold the whole tree. */
void cn_el_free(cn_el *el) {
  if (!el)
    return;
  g_assert(el->root == el);
  el_block *b = el->blocks;
  while (b) {
    el_block *next = b->next;
    g_free(b);
    b = next;
  }
}

/* ---- text ------------------------------------------------------------- */

#define put           cn_gstring_put
#define PUT(out, lit) cn_gstring_put(out, lit, sizeof lit - 1)

void cn_el_serialize(GString *out, const cn_el *e) {
  switch (e->kind) {
  case EL_TEXT: cn_xml_escape(out, e->text, e->len); return;
  case EL_RAW: cn_gstring_put(out, e->text, e->len); return;
  case EL_ELEMENT: break;
  }
  PUT(out, "<");
  cn_gstring_put(out, e->name, e->name_len);
  if (e->ns) {
    PUT(out, " xmlns='");
    cn_xml_escape(out, e->ns, e->ns_len);
    PUT(out, "'");
  }
  for (const el_attr *a = e->attrs; a; a = a->next) {
    PUT(out, " ");
    cn_gstring_put(out, a->name, a->name_len);
    PUT(out, "='");
    cn_xml_escape(out, a->value, a->value_len);
    PUT(out, "'");
  }
  if (!e->first) {
    PUT(out, "/>");
    return;
  }
  PUT(out, ">");
  for (const cn_el *c = e->first; c; c = c->next)
    cn_el_serialize(out, c);
  PUT(out, "</");
  cn_gstring_put(out, e->name, e->name_len);
  PUT(out, ">");
}

/* ---- the stanza handed to send_stanza ------------------------------ */

struct cloudnotify_stanza {
  cloudnotify_ctx *ctx;
  cloudnotify_route route;
  cloudnotify_session *session;
  const char *account, *to, *id;
  const cn_el *root;
  GString *text; /* serialised on demand */
};

cloudnotify_route cloudnotify_stanza_route(const cloudnotify_stanza *st) {
  return st ? st->route : 0;
}

cloudnotify_session *cloudnotify_stanza_session(const cloudnotify_stanza *st) {
  return st ? st->session : NULL;
}

const char *cloudnotify_stanza_account(const cloudnotify_stanza *st) {
  return st ? st->account : NULL;
}

const char *cloudnotify_stanza_to(const cloudnotify_stanza *st) {
  return st ? st->to : NULL;
}

const char *cloudnotify_stanza_id(const cloudnotify_stanza *st) {
  return st ? st->id : NULL;
}

const char *cloudnotify_stanza_text(const cloudnotify_stanza *st, size_t *len) {
  if (!st) {
    if (len)
      *len = 0;
    return NULL;
  }
  /* The object lives on cn_emit's stack for the callback only; caching
   * the text there is invisible to the host. */
  cloudnotify_stanza *m = (cloudnotify_stanza *)st;
  if (!m->text) {
    m->text = g_string_sized_new(512);
    cn_el_serialize(m->text, st->root);
  }
  if (len)
    *len = m->text->len;
  return m->text->str;
}

/* ---- walking ---------------------------------------------------------- */

typedef struct walk {
  const cloudnotify_builder *b;
  void *data;
  cloudnotify_ctx *ctx;
} walk;

/* A stored form, parsed back into libxml2's tree: its namespaces are
 * resolved there, and attributes keep theirs. */
static int walk_xml(walk *w, const xmlNode *n) {
  int rc;
  if (n->type == XML_TEXT_NODE) {
    const char *t = (const char *)n->content;
    return t && *t ? w->b->text(w->data, t, strlen(t)) : 0;
  }
  if (n->type != XML_ELEMENT_NODE)
    return 0;
  size_t na = 0;
  for (const xmlAttr *a = n->properties; a; a = a->next)
    na++;
  cloudnotify_attr *attrs = g_new0(cloudnotify_attr, na ? na : 1);
  char **values = g_new0(char *, na + 1);
  size_t i = 0;
  for (const xmlAttr *a = n->properties; a; a = a->next, i++) {
    values[i] = (char *)xmlNodeGetContent((const xmlNode *)a);
    attrs[i].ns = a->ns ? (const char *)a->ns->href : NULL;
    attrs[i].name = (const char *)a->name;
    attrs[i].value = values[i] ? values[i] : "";
  }
  rc = w->b->start_element(w->data, (const char *)n->name, cn_xml_ns(n), attrs, na);
  for (i = 0; i < na; i++)
    xmlFree(values[i]);
  g_free(values);
  g_free(attrs);
  if (rc)
    return rc;
  for (const xmlNode *c = n->children; c; c = c->next)
    if ((rc = walk_xml(w, c)))
      return rc;
  return w->b->end_element(w->data, (const char *)n->name);
}

static int walk_raw(walk *w, const cn_el *e) {
  xmlDoc *doc;
  /* It was validated and serialised by the library itself; the depth
   * option may have been lowered since, so only libxml2's own bound. */
  int rc = cn_xml_parse_element(w->ctx->parser, e->text, e->len, e->len, 256, &doc);
  if (rc)
    return rc;
  rc = walk_xml(w, xmlDocGetRootElement(doc));
  xmlFreeDoc(doc);
  return rc;
}

static int walk_el(walk *w, const cn_el *e, const char *inherited) {
  if (e->kind == EL_TEXT)
    return e->len ? w->b->text(w->data, e->text, e->len) : 0;
  if (e->kind == EL_RAW)
    return walk_raw(w, e);
  const char *ns = e->ns ? e->ns : inherited;
  size_t na = 0;
  for (const el_attr *a = e->attrs; a; a = a->next)
    na++;
  cloudnotify_attr stack_attrs[8] = { { 0 } };
  cloudnotify_attr *attrs =
      na <= G_N_ELEMENTS(stack_attrs) ? stack_attrs : g_new(cloudnotify_attr, na);
  size_t i = 0;
  for (const el_attr *a = e->attrs; a; a = a->next, i++)
    attrs[i] = (cloudnotify_attr){ NULL, a->name, a->value };
  int rc = w->b->start_element(w->data, e->name, ns, attrs, na);
  if (attrs != stack_attrs)
    g_free(attrs);
  if (rc)
    return rc;
  for (const cn_el *c = e->first; c; c = c->next)
    if ((rc = walk_el(w, c, ns)))
      return rc;
  return w->b->end_element(w->data, e->name);
}

int cloudnotify_stanza_build(const cloudnotify_stanza *st, const cloudnotify_builder *b,
                             void *build_data) {
  if (!st || !b)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (!cn_struct_size_ok(b, b->size, sizeof(cloudnotify_builder), sizeof(cloudnotify_builder)))
    return CLOUDNOTIFY_ERR_VTABLE_SIZE;
  if (!b->start_element || !b->text || !b->end_element)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  walk w = { b, build_data, st->ctx };
  return walk_el(&w, st->root, NULL);
}

/* ---- sending ---------------------------------------------------------- */

int cn_emit(cloudnotify_ctx *ctx, cloudnotify_route route, cloudnotify_session *s,
            const char *account, const char *to, const char *id, const cn_el *root) {
  if (!ctx->cb.send_stanza) {
    /* A publish is about 700 bytes: one buffer, never grown. */
    GString *x = g_string_sized_new(1024);
    cn_el_serialize(x, root);
    int rc = cn_send(ctx, route, s, account, to, x);
    g_string_free(x, TRUE);
    return rc;
  }
  cloudnotify_stanza st = { ctx, route, s, account, to, id, root, NULL };
  ctx->in_callback++;
  int rc = ctx->cb.send_stanza(ctx->user_data, &st);
  ctx->in_callback--;
  if (st.text)
    g_string_free(st.text, TRUE);
  return rc < 0 ? CLOUDNOTIFY_ERR_SEND : 0;
}
