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
  char *name, *value;
} el_attr;

struct cn_el {
  el_kind kind;
  char *name;    /* element */
  char *ns;      /* element: declared namespace, NULL inherits */
  GArray *attrs; /* el_attr, element, NULL when none */
  char *text;    /* text or raw XML */
  size_t len;
  cn_el *first, *last, *next;
};

cn_el *cn_el_new(const char *name, const char *ns) {
  cn_el *e = g_new0(cn_el, 1);
  e->kind = EL_ELEMENT;
  e->name = g_strdup(name);
  e->ns = g_strdup(ns);
  return e;
}

static void append(cn_el *parent, cn_el *c) {
  if (parent->last)
    parent->last->next = c;
  else
    parent->first = c;
  parent->last = c;
}

cn_el *cn_el_add(cn_el *parent, const char *name, const char *ns) {
  cn_el *c = cn_el_new(name, ns);
  append(parent, c);
  return c;
}

void cn_el_attr(cn_el *el, const char *name, const char *value) {
  if (!value)
    return;
  if (!el->attrs)
    el->attrs = g_array_sized_new(FALSE, FALSE, sizeof(el_attr), 4);
  el_attr a = { g_strdup(name), g_strdup(value) };
  g_array_append_val(el->attrs, a);
}

static void add_chars(cn_el *el, el_kind kind, const char *text, size_t len) {
  cn_el *c = g_new0(cn_el, 1);
  c->kind = kind;
  c->text = g_strndup(text, len);
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

void cn_el_free(cn_el *el) {
  while (el) {
    cn_el *next = el->next;
    cn_el_free(el->first);
    if (el->attrs) {
      for (guint i = 0; i < el->attrs->len; i++) {
        el_attr *a = &g_array_index(el->attrs, el_attr, i);
        g_free(a->name);
        g_free(a->value);
      }
      g_array_free(el->attrs, TRUE);
    }
    g_free(el->name);
    g_free(el->ns);
    g_free(el->text);
    g_free(el);
    el = next;
  }
}

/* ---- text ------------------------------------------------------------- */

static void escape(GString *out, const char *s) {
  cn_xml_escape(out, s, strlen(s));
}

void cn_el_serialize(GString *out, const cn_el *e) {
  switch (e->kind) {
  case EL_TEXT: cn_xml_escape(out, e->text, e->len); return;
  case EL_RAW: g_string_append_len(out, e->text, (gssize)e->len); return;
  case EL_ELEMENT: break;
  }
  g_string_append_c(out, '<');
  g_string_append(out, e->name);
  if (e->ns) {
    g_string_append(out, " xmlns='");
    escape(out, e->ns);
    g_string_append_c(out, '\'');
  }
  for (guint i = 0; e->attrs && i < e->attrs->len; i++) {
    const el_attr *a = &g_array_index(e->attrs, el_attr, i);
    g_string_append_c(out, ' ');
    g_string_append(out, a->name);
    g_string_append(out, "='");
    escape(out, a->value);
    g_string_append_c(out, '\'');
  }
  if (!e->first) {
    g_string_append(out, "/>");
    return;
  }
  g_string_append_c(out, '>');
  for (const cn_el *c = e->first; c; c = c->next)
    cn_el_serialize(out, c);
  g_string_append(out, "</");
  g_string_append(out, e->name);
  g_string_append_c(out, '>');
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
  size_t na = e->attrs ? e->attrs->len : 0;
  cloudnotify_attr stack_attrs[8] = { { 0 } };
  cloudnotify_attr *attrs =
      na <= G_N_ELEMENTS(stack_attrs) ? stack_attrs : g_new(cloudnotify_attr, na);
  for (size_t i = 0; i < na; i++) {
    const el_attr *a = &g_array_index(e->attrs, el_attr, i);
    attrs[i] = (cloudnotify_attr){ NULL, a->name, a->value };
  }
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
    GString *x = g_string_sized_new(512);
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
