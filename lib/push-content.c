/* What a notification says beyond sender and body: the message count
 * (kept per registration by push-gate.c, replaceable by the filter), summary fields and one extra element the notification filter
 * adds, and the triggering stanza's type and id for the filter to read. */
#include <string.h>

#include "push.h"
#include "ctx.h"
#include "xml.h"

#define NS_PUSH "urn:xmpp:push:0"
#define NS_DATA "jabber:x:data"

/* Fields the library writes itself: the filter changes them through
 * cloudnotify_push_set_body / _set_sender, never twice in one form. */
static const char *const reserved_vars[] = {
  "FORM_TYPE",
  "message-count",
  "last-message-sender",
  "last-message-body",
};

typedef struct {
  char *var;
  char *value;
} owned_field;

static void owned_field_free(gpointer p) {
  owned_field *f = p;
  g_free(f->var);
  g_free(f->value);
  g_free(f);
}

GArray *cn_push_summary_fields(const cloudnotify_push *p, char count_buf[16]) {
  GArray *a =
      g_array_sized_new(FALSE, FALSE, sizeof(cn_push_field), 4 + (p->fields ? p->fields->len : 0));
  cn_push_field f = { "FORM_TYPE", "urn:xmpp:push:summary" };
  g_array_append_val(a, f);
  /* A ping covers no stanza: a count of 0 would clear a badge, and 1
   * would invent a message, so it has none.  A badge clear says 0. */
  if (p->counted) {
    g_snprintf(count_buf, 16, "%u", p->count);
    f = (cn_push_field){ "message-count", count_buf };
    g_array_append_val(a, f);
  }
  if (p->sender) {
    f = (cn_push_field){ "last-message-sender", p->sender };
    g_array_append_val(a, f);
  }
  if (p->body) {
    f = (cn_push_field){ "last-message-body", p->body };
    g_array_append_val(a, f);
  }
  for (guint i = 0; p->fields && i < p->fields->len; i++) {
    const owned_field *o = p->fields->pdata[i];
    f = (cn_push_field){ o->var, o->value };
    g_array_append_val(a, f);
  }
  return a;
}

void cn_push_content_clear(cloudnotify_push *p) {
  if (p->fields)
    g_ptr_array_free(p->fields, TRUE);
  p->fields = NULL;
  g_free(p->extra);
  p->extra = NULL;
}

/* A field name: what XEP-0004 allows in 'var' that is also safe to write
 * and to log: printable, no white space, bounded. */
static gboolean var_ok(const char *var) {
  size_t len = strlen(var);
  if (len == 0 || len > CLOUDNOTIFY_PUSH_MAX_VAR_SIZE || !cn_text_is_xml_safe(var))
    return FALSE;
  for (const char *c = var; *c; c = g_utf8_next_char(c))
    if (g_unichar_isspace(g_utf8_get_char(c)))
      return FALSE;
  for (size_t i = 0; i < G_N_ELEMENTS(reserved_vars); i++)
    if (!strcmp(var, reserved_vars[i]))
      return FALSE;
  return TRUE;
}

int cloudnotify_push_add_field(cloudnotify_push *p, const char *var, const char *value) {
  if (!p || !var || !value || !var_ok(var) || !cn_text_is_xml_safe(value))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (strlen(value) > CLOUDNOTIFY_PUSH_MAX_VALUE_SIZE)
    return CLOUDNOTIFY_ERR_TOO_LARGE;
  if (!p->fields)
    p->fields = g_ptr_array_new_with_free_func(owned_field_free);
  for (guint i = 0; i < p->fields->len; i++) {
    owned_field *o = p->fields->pdata[i];
    if (!strcmp(o->var, var)) {
      /* A form names each field once (XEP-0004): the last value wins. */
      g_free(o->value);
      o->value = g_strdup(value);
      return 0;
    }
  }
  if (p->fields->len >= CLOUDNOTIFY_PUSH_MAX_FIELDS)
    return CLOUDNOTIFY_ERR_TOO_LARGE;
  owned_field *o = g_new0(owned_field, 1);
  o->var = g_strdup(var);
  o->value = g_strdup(value);
  g_ptr_array_add(p->fields, o);
  return 0;
}

int cloudnotify_push_set_extra(cloudnotify_push *p, const char *xml, size_t len) {
  if (!p)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (!xml) {
    g_free(p->extra);
    p->extra = NULL;
    return 0;
  }
  if (len > CLOUDNOTIFY_PUSH_MAX_EXTRA_SIZE)
    return CLOUDNOTIFY_ERR_TOO_LARGE;
  cloudnotify_ctx *ctx = p->ctx;
  xmlDoc *doc = NULL;
  /* The same hardened parser as for stanzas: this text goes to a third
   * party inside our publish, so it must be one element and nothing
   * that could end or reshape the stanza around it. */
  int rc = cn_xml_parse_element(ctx->parser, xml, len, CLOUDNOTIFY_PUSH_MAX_EXTRA_SIZE,
                                (int)ctx->opt.max_xml_depth, &doc);
  if (rc)
    return rc;
  const xmlNode *root = xmlDocGetRootElement(doc);
  const char *ns = cn_xml_ns(root);
  /* Without a namespace it would inherit urn:xmpp:push:0; in that one or
   * jabber:x:data it would pass for part of the notification itself. */
  if (!ns || !strcmp(ns, NS_PUSH) || !strcmp(ns, NS_DATA)) {
    xmlFreeDoc(doc);
    return CLOUDNOTIFY_ERR_XML;
  }
  GString *out = g_string_sized_new(len + 64);
  cn_xml_serialize(out, root);
  xmlFreeDoc(doc);
  g_free(p->extra);
  p->extra = g_string_free(out, FALSE);
  return 0;
}

const char *cloudnotify_push_stanza_type(const cloudnotify_push *p) {
  return p && p->sum ? p->sum->type : NULL;
}

const char *cloudnotify_push_stanza_id(const cloudnotify_push *p) {
  return p && p->sum ? p->sum->id : NULL;
}

unsigned cloudnotify_push_message_count(const cloudnotify_push *p) {
  return p ? p->count : 0;
}

int cloudnotify_push_set_message_count(cloudnotify_push *p, unsigned count) {
  if (!p)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  /* On a ping too: the host may know an offline count the library does
   * not. */
  p->count = count;
  p->counted = TRUE;
  return 0;
}
