/* Client IQs in urn:xmpp:push:0: enable and disable, with the error
 * replies of XEP-0357 and RFC 6120. */
#include "private.h"

#include <string.h>

#include "emit.h"
#include "jid.h"
#include "tree.h"

#define NS_PUSH "urn:xmpp:push:0"
#define NS_DATA "jabber:x:data"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

static cn_el *reply_open(cloudnotify_session *s, const char *id, const char *type) {
  cn_el *iq = cn_el_new("iq", NULL);
  cn_el_attr(iq, "type", type);
  cn_el_attr(iq, "id", id);
  cn_el_attr(iq, "from", s->account);
  cn_el_attr(iq, "to", s->full);
  return iq;
}

static int send_reply(cloudnotify_session *s, const char *id, cn_el *iq) {
  int rc = cn_emit(s->ctx, CLOUDNOTIFY_ROUTE_CLIENT, s, s->account, s->full, id, iq);
  cn_el_free(iq);
  return rc;
}

static int send_result(cloudnotify_session *s, const char *id) {
  return send_reply(s, id, reply_open(s, id, "result"));
}

static int send_error(cloudnotify_session *s, const char *id, const char *type,
                      const char *condition, const char *text) {
  cn_el *iq = reply_open(s, id, "error");
  cn_el *error = cn_el_add(iq, "error", NULL);
  cn_el_attr(error, "type", type);
  cn_el_add(error, condition, NS_STANZAS);
  if (text)
    cn_el_text(cn_el_add(error, "text", NS_STANZAS), text);
  return send_reply(s, id, iq);
}

/* node attribute: absent and empty mean the same thing. */
static int node_of(const xmlNode *el, const char **node) {
  const char *n = cn_xml_attr(el, "node");
  *node = n && *n ? n : NULL;
  return !*node || strlen(*node) <= CN_JID_MAX_PART;
}

static int count_forms(const xmlNode *enable, xmlNode **form) {
  int n = 0;
  *form = NULL;
  for (xmlNode *c = enable->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, "x") &&
        !g_strcmp0(cn_xml_ns(c), NS_DATA)) {
      if (!*form)
        *form = c;
      n++;
    }
  }
  return n;
}

static gint oldest_first(gconstpointer a, gconstpointer b) {
  const cn_reg *x = *(cn_reg *const *)a, *y = *(cn_reg *const *)b;
  return x->enabled_at < y->enabled_at ? -1 : (x->enabled_at > y->enabled_at ? 1 : 0);
}

static int enable_checked(cloudnotify_session *s, const char *id, cn_jid *push, const char *node, GString *form) {
  cloudnotify_ctx *ctx = s->ctx;
  cn_user *u = s->user;
  /* Freed by an earlier callback of this call: nobody to enable for. */
  if (s->dead)
    return 0;

  {
    const char *etype = NULL, *econd = NULL;
    int veto = cn_cb_registration_filter(ctx, s, push->full, node, &etype, &econd);
    if (veto) {
      if (!cn_error_type_static(etype) || !cn_error_condition_static(econd)) {
        etype = "cancel";
        econd = "not-allowed";
      }
      return send_error(s, id, etype, econd, NULL);
    }
  }

  int64_t now = cn_now(ctx);
  /* Strictly increasing per user, so that the eviction order survives a
   * restart even when two enables share a millisecond. */
  for (guint i = 0; i < u->regs->len; i++) {
    const cn_reg *o = u->regs->pdata[i];
    if (o->enabled_at >= now)
      /* Stored times are untrusted: one at the very end of the range
       * is tied rather than overflowed past. */
      now = o->enabled_at < INT64_MAX ? o->enabled_at + 1 : INT64_MAX;
  }
  cn_reg *old = cn_user_find_reg(u, push->full, node);
  cn_reg *r = cn_reg_new(u, push->full, node, form ? form->str : NULL, form ? form->len : 0,
                         now);
  r->client_id = g_strdup(s->client_id);
  if (cn_store_save(ctx, u->account, r)) {
    cn_reg_free(r);
    return send_error(s, id, "wait", "internal-server-error", NULL);
  }

  /* The least recently enabled go when the new one would exceed the
   * limit: one, or more when the limit was lowered while the user was
   * cached.  The store is updated first: if it refuses, the new
   * registration is taken back so that store and memory still agree. */
  GPtrArray *evict = g_ptr_array_new();
  if (!old && u->regs->len >= (guint)ctx->opt.max_devices) {
    GPtrArray *by_age = g_ptr_array_copy(u->regs, NULL, NULL);
    g_ptr_array_sort(by_age, oldest_first);
    guint surplus = u->regs->len - (guint)ctx->opt.max_devices + 1;
    gboolean failed = FALSE;
    for (guint i = 0; i < surplus && !failed; i++) {
      cn_reg *o = by_age->pdata[i];
      failed = cn_store_remove(ctx, u->account, o->jid, o->node) != 0;
      if (!failed)
        g_ptr_array_add(evict, o);
    }
    g_ptr_array_free(by_age, TRUE);
    if (failed) {
      /* Those the store did remove are gone from memory too. */
      for (guint i = 0; i < evict->len; i++)
        cn_user_drop_reg(ctx, u, evict->pdata[i], CLOUDNOTIFY_REMOVED_EVICTED);
      g_ptr_array_free(evict, TRUE);
      if (cn_store_remove(ctx, u->account, r->jid, r->node))
        cn_log_id(ctx, CLOUDNOTIFY_LOG_ERROR, CLOUDNOTIFY_LOG_ID_STORE_OVER_LIMIT,
                  "storage: %s now holds more than push_max_devices registrations; the "
                  "surplus is dropped at the next load", u->account);
      cn_reg_free(r);
      return send_error(s, id, "wait", "internal-server-error", NULL);
    }
  }
  if (old) {
    /* Replacing keeps sessions bound to the same key bound to the new one. */
    for (GList *l = u->sessions; l; l = l->next) {
      cloudnotify_session *o = l->data;
      if (o->reg == old)
        o->reg = r;
    }
    g_ptr_array_remove(u->regs, old);
    cn_reg_free(old);
  }
  for (guint i = 0; i < evict->len; i++)
    cn_user_drop_reg(ctx, u, evict->pdata[i], CLOUDNOTIFY_REMOVED_EVICTED);
  g_ptr_array_free(evict, TRUE);
  g_ptr_array_add(u->regs, r);
  s->reg = r;
  cn_log_id(ctx, CLOUDNOTIFY_LOG_INFO, CLOUDNOTIFY_LOG_ID_PUSH_ENABLED, "push enabled for %s to %s",
            s->full, r->jid);
  cn_cb_registration_added(ctx, s, r, old != NULL);
  return send_result(s, id);
}

static int handle_enable(cloudnotify_session *s, const char *id, const xmlNode *enable) {
  cloudnotify_ctx *ctx = s->ctx;
  const char *jid = cn_xml_attr(enable, "jid");
  if (!jid)
    return send_error(s, id, "modify", "bad-request", "Missing jid");
  cn_jid push;
  if (cn_jid_parse(jid, strlen(jid), &push))
    return send_error(s, id, "modify", "jid-malformed", "Invalid push service JID");
  int rc;
  GString *form = NULL;
  const char *node;
  xmlNode *x;
  if (!strcmp(push.bare, s->account)) {
    rc = send_error(s, id, "modify", "bad-request", "JID must be different from ours");
  } else if (!node_of(enable, &node)) {
    rc = send_error(s, id, "modify", "bad-request", "Node too long");
  } else if (count_forms(enable, &x) > 1) {
    rc = send_error(s, id, "modify", "bad-request", "More than one publish-options form");
  } else if (x && cn_xml_attr(x, "type") && strcmp(cn_xml_attr(x, "type"), "submit")) {
    rc = send_error(s, id, "modify", "bad-request", "Publish options must be a submitted form");
  } else if (x && cn_xml_count_children(x, "field", NS_DATA) >
                      (unsigned)ctx->opt.max_form_fields) {
    rc = send_error(s, id, "modify", "not-acceptable", "Too many publish-options fields");
  } else {
    if (x) {
      form = g_string_sized_new(256);
      cn_xml_serialize(form, x);
    }
    if (form && form->len > (size_t)ctx->opt.max_form_size)
      rc = send_error(s, id, "modify", "not-acceptable", "Publish options too large");
    else
      rc = enable_checked(s, id, &push, node, form);
  }
  if (form)
    g_string_free(form, TRUE);
  cn_jid_clear(&push);
  return rc;
}

static int handle_disable(cloudnotify_session *s, const char *id, const xmlNode *disable) {
  cloudnotify_ctx *ctx = s->ctx;
  cn_user *u = s->user;
  const char *jid = cn_xml_attr(disable, "jid");
  if (!jid)
    return send_error(s, id, "modify", "bad-request", "Missing jid");
  char *push = cn_jid_normalize(jid);
  if (!push)
    return send_error(s, id, "modify", "jid-malformed", "Invalid push service JID");
  const char *node;
  if (!node_of(disable, &node)) {
    g_free(push);
    return send_error(s, id, "modify", "bad-request", "Node too long");
  }
  int failed = 0;
  for (guint i = 0; i < u->regs->len;) {
    cn_reg *r = u->regs->pdata[i];
    if (strcmp(r->jid, push) || (node && g_strcmp0(r->node, node))) {
      i++;
      continue;
    }
    if (cn_store_remove(ctx, u->account, r->jid, r->node)) {
      failed = 1;
      i++;
      continue;
    }
    cn_log_id(ctx, CLOUDNOTIFY_LOG_INFO, CLOUDNOTIFY_LOG_ID_PUSH_DISABLED,
              "push disabled for %s to %s", s->full, r->jid);
    cn_user_drop_reg(ctx, u, r, CLOUDNOTIFY_REMOVED_DISABLED);
  }
  g_free(push);
  if (failed)
    return send_error(s, id, "wait", "internal-server-error", NULL);
  /* Disabling what does not exist succeeds: the client's wish holds. */
  CN_COUNT(ctx, CN_C_DISABLES);
  return send_result(s, id);
}

static int dispatch(cloudnotify_session *s, xmlNode *iq) {
  const char *type = cn_xml_attr(iq, "type");
  if (strcmp((const char *)iq->name, "iq") || !type)
    return CLOUDNOTIFY_ERR_NOT_MINE;
  /* Ours when any child is in the push namespace, wherever it stands:
   * an IQ with two children is answered the same in either order. */
  xmlNode *child = NULL;
  unsigned children = 0;
  for (xmlNode *c = iq->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) {
      if (!child && !g_strcmp0(cn_xml_ns(c), NS_PUSH))
        child = c;
      children++;
    }
  }
  if (!child)
    return CLOUDNOTIFY_ERR_NOT_MINE;
  /* Results and errors are never answered (RFC 6120 8.2.3). */
  if (!strcmp(type, "result") || !strcmp(type, "error"))
    return CLOUDNOTIFY_ERR_NOT_MINE;
  const char *id = cn_xml_attr(iq, "id");
  if (!id)
    return send_error(s, NULL, "modify", "bad-request", "Missing id");
  if (strcmp(type, "set") && strcmp(type, "get"))
    return send_error(s, id, "modify", "bad-request", "Invalid IQ type");
  const char *to = cn_xml_attr(iq, "to");
  if (to) {
    char *bare = cn_jid_normalize(to);
    gboolean ours = bare && !strcmp(bare, s->account);
    g_free(bare);
    if (!ours)
      return send_error(s, id, "cancel", "forbidden", NULL);
  }
  if (strcmp(type, "set") || children != 1)
    return send_error(s, id, "modify", "bad-request", NULL);
  if (cn_session_attach(s))
    return send_error(s, id, "wait", "internal-server-error", NULL);
  if (!strcmp((const char *)child->name, "enable"))
    return handle_enable(s, id, child);
  if (!strcmp((const char *)child->name, "disable"))
    return handle_disable(s, id, child);
  return send_error(s, id, "cancel", "feature-not-implemented", NULL);
}

static int handle_client_iq(cloudnotify_session *s, const cn_input *in) {
  cloudnotify_ctx *ctx = s->ctx;
  CN_ENTER(ctx);
  xmlDoc *doc;
  int rc = cn_input_parse(ctx, in, &doc);
  if (rc)
    return cn_leave(ctx, rc);
  rc = dispatch(s, xmlDocGetRootElement(doc));
  xmlFreeDoc(doc);
  return cn_leave(ctx, rc);
}

int cloudnotify_handle_client_iq(cloudnotify_session *s, const char *xml, size_t len) {
  if (!s || !xml)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  cn_input in = { xml, len, NULL };
  return handle_client_iq(s, &in);
}

int cloudnotify_handle_client_iq_tree(cloudnotify_session *s, const cloudnotify_tree *tree) {
  int rc = s ? cn_tree_check(tree) : CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (rc)
    return rc;
  cn_input in = { NULL, 0, tree };
  return handle_client_iq(s, &in);
}
