/* Building and sending the pubsub publish, the notification filter's
 * view of it, and the memory that keeps one registration from being
 * pushed twice for the same stanza. */
#include "private.h"

#include "emit.h"

#include <string.h>

#include "push.h"

/* ---- summaries ------------------------------------------------------ */

int cn_summarize(cloudnotify_ctx *ctx, const char *account, const char *xml, size_t len,
                 cn_summary *out) {
  memset(out, 0, sizeof *out);
  xmlDoc *doc;
  int rc = cn_parse(ctx, xml, len, &doc);
  if (rc)
    return rc;
  cn_summarize_root(ctx, account, xmlDocGetRootElement(doc), out);
  xmlFreeDoc(doc);
  return 0;
}

void cn_summarize_root(cloudnotify_ctx *ctx, const char *account, const xmlNode *root,
                       cn_summary *out) {
  cn_rules_classify(root, account, out);
  /* The body is kept only when it may leave the server. */
  if (!ctx->opt.with_body)
    g_clear_pointer(&out->body, g_free);
}

/* ---- the publish ---------------------------------------------------- */

static void add_field(cn_el *x, const char *var, const char *value) {
  cn_el *f = cn_el_add(x, "field", NULL);
  cn_el_attr(f, "var", var);
  cn_el_text(cn_el_add(f, "value", NULL), value);
}

static cn_el *build_publish(const char *id, const char *from, const cloudnotify_push *p) {
  const cn_reg *r = p->reg;
  cn_el *iq = cn_el_new("iq", NULL);
  cn_el_attr(iq, "type", "set");
  cn_el_attr(iq, "id", id);
  cn_el_attr(iq, "from", from);
  cn_el_attr(iq, "to", r->jid);
  cn_el *pubsub = cn_el_add(iq, "pubsub", "http://jabber.org/protocol/pubsub");
  cn_el *publish = cn_el_add(pubsub, "publish", NULL);
  cn_el_attr(publish, "node", r->node);
  cn_el *notification = cn_el_add(cn_el_add(publish, "item", NULL), "notification",
                                  "urn:xmpp:push:0");
  cn_el *x = cn_el_add(notification, "x", "jabber:x:data");
  cn_el_attr(x, "type", "submit");
  char count[16];
  GArray *fields = cn_push_summary_fields(p, count);
  for (guint i = 0; i < fields->len; i++) {
    const cn_push_field *f = &g_array_index(fields, cn_push_field, i);
    add_field(x, f->var, f->value);
  }
  g_array_unref(fields);
  if (p->extra)
    cn_el_raw(notification, p->extra, strlen(p->extra));
  if (r->form)
    cn_el_raw(cn_el_add(pubsub, "publish-options", NULL), r->form, r->form_len);
  return iq;
}

/* The body field a push starts with (the filter may change it), NULL for
 * none.  App servers tell an alert from a silent push by this field, so
 * an important stanza always has one while the placeholder is set, even
 * with push_notification_with_body on: a call or an encrypted message
 * has no <body/> to copy. */
static const char *push_body(const cloudnotify_ctx *ctx, const cn_summary *sum) {
  if (!sum)
    return NULL;
  if (ctx->opt.with_body && sum->body && *sum->body)
    return sum->body;
  if (sum->important)
    return ctx->opt.important_body;
  return ctx->opt.with_body ? sum->body : NULL;
}

static void seen_add_all(cloudnotify_ctx *ctx, const cn_summary *sum, GPtrArray *covered,
                         const cn_reg *r) {
  if (!covered) {
    cn_seen_add(ctx, sum, r);
    return;
  }
  for (guint i = 0; i < covered->len; i++)
    cn_seen_add(ctx, covered->pdata[i], r);
}

int cn_notify(cloudnotify_ctx *ctx, cn_reg *r, cloudnotify_session *session,
              const cn_summary *sum) {
  return cn_notify_covering(ctx, r, session, sum, NULL);
}

int cn_notify_covering(cloudnotify_ctx *ctx, cn_reg *r, cloudnotify_session *session,
                       const cn_summary *sum, GPtrArray *covered) {
  if (sum && sum->skip)
    return 0;
  if (sum && cn_seen_contains(ctx, sum, r)) {
    CN_COUNT(ctx, CN_C_PUBLISHES_DEDUPLICATED);
    return 0;
  }
  cloudnotify_push p = { ctx, r, session, sum, NULL, NULL, 0, NULL, NULL };
  if (sum)
    p.count = covered ? covered->len : 1;
  if (sum && ctx->opt.with_sender)
    p.sender = g_strdup(sum->sender);
  p.body = g_strdup(push_body(ctx, sum));

  int sent = 0;
  int veto = cn_cb_notification_filter(ctx, &p);
  if (veto) {
    if (sum)
      seen_add_all(ctx, sum, covered, r);
    cn_log_id(ctx, CLOUDNOTIFY_LOG_DEBUG, CLOUDNOTIFY_LOG_ID_PUSH_VETOED,
              "push to %s for %s vetoed by the host", r->jid, r->user->account);
    cn_report_publish(ctx, r->user->account, r->jid, r->node, NULL, CLOUDNOTIFY_PUBLISH_VETOED,
                      NULL, NULL, r->errors);
  } else {
    char id[CN_PUBLISH_ID_SIZE];
    cn_publish_id(ctx, id);
    /* The domain, as the reference (module.host), unless the host asked
     * for the account's bare JID, as in XEP-0357's examples. */
    const char *from = ctx->opt.publish_from_bare ? r->user->account
                                                  : strchr(r->user->account, '@') + 1;
    cn_el *x = build_publish(id, from, &p);
    if (cn_emit(ctx, CLOUDNOTIFY_ROUTE_APP_SERVER, NULL, r->user->account, r->jid, id, x) ==
        0) {
      cn_outstanding_add(ctx, id, r);
      if (sum)
        seen_add_all(ctx, sum, covered, r);
      sent = 1;
      CN_COUNT(ctx, CN_C_PUBLISHES_SENT);
      cn_log_id(ctx, CLOUDNOTIFY_LOG_DEBUG, CLOUDNOTIFY_LOG_ID_PUSH_SENT,
                "sent %s push to %s for %s", p.body ? "important" : "unimportant", r->jid,
                r->user->account);
    } else {
      cn_log_id(ctx, CLOUDNOTIFY_LOG_WARN, CLOUDNOTIFY_LOG_ID_PUSH_REFUSED,
                "the host refused a push to %s for %s", r->jid, r->user->account);
      cn_report_publish(ctx, r->user->account, r->jid, r->node, id,
                        CLOUDNOTIFY_PUBLISH_REFUSED, NULL, NULL, r->errors);
    }
    cn_el_free(x);
  }
  g_free(p.body);
  g_free(p.sender);
  cn_push_content_clear(&p);
  return sent;
}

/* The stanzas of a batch one push stands for: from the first one of its
 * kind not yet pushed (at index first) to the end, those of the same kind
 * (important or not, as the batch sorts them) that can be pushed and were
 * not yet.  Their number is the publish's message-count. */
static GPtrArray *batch_covered(cloudnotify_ctx *ctx, const cn_reg *r, GPtrArray *summaries,
                                guint first, gboolean important) {
  GPtrArray *covered = g_ptr_array_new();
  for (guint i = first; i < summaries->len; i++) {
    cn_summary *sum = summaries->pdata[i];
    if (sum->skip || (sum->important && ctx->opt.important_body) != important)
      continue;
    if (i == first || !cn_seen_contains(ctx, sum, r))
      g_ptr_array_add(covered, sum);
  }
  return covered;
}

unsigned cn_notify_batch(cloudnotify_ctx *ctx, cloudnotify_session *s, GPtrArray *summaries) {
  gboolean done_important = FALSE, done_unimportant = FALSE;
  unsigned pushes = 0;
  for (guint i = 0; i < summaries->len && s->reg && !s->dead; i++) {
    const cn_summary *sum = summaries->pdata[i];
    /* Without an important body every push looks the same to the device,
     * so one push covers the batch. */
    gboolean important = sum->important && ctx->opt.important_body;
    gboolean *done = important ? &done_important : &done_unimportant;
    if (*done || sum->skip)
      continue;
    if (cn_seen_contains(ctx, sum, s->reg)) {
      CN_COUNT(ctx, CN_C_PUBLISHES_DEDUPLICATED);
      continue;
    }
    GPtrArray *covered = batch_covered(ctx, s->reg, summaries, i, important);
    int pushed = cn_notify_covering(ctx, s->reg, s, sum, covered);
    g_ptr_array_free(covered, TRUE);
    if (pushed) {
      *done = TRUE;
      pushes++;
      cn_session_pushed(ctx, s, important || !ctx->opt.important_body);
    }
    if (done_important && done_unimportant)
      break;
  }
  return pushes;
}

/* ---- filter accessors ----------------------------------------------- */

const char *cloudnotify_push_account(const cloudnotify_push *p) {
  return p ? p->reg->user->account : NULL;
}
const char *cloudnotify_push_jid(const cloudnotify_push *p) {
  return p ? p->reg->jid : NULL;
}
const char *cloudnotify_push_node(const cloudnotify_push *p) {
  return p ? p->reg->node : NULL;
}
const char *cloudnotify_push_sender(const cloudnotify_push *p) {
  return p && p->sum ? p->sum->sender : NULL;
}
const char *cloudnotify_push_body(const cloudnotify_push *p) {
  return p ? p->body : NULL;
}
int cloudnotify_push_is_important(const cloudnotify_push *p) {
  return p && p->sum ? p->sum->important : 0;
}
int cloudnotify_push_is_urgent(const cloudnotify_push *p) {
  return p && p->sum ? p->sum->urgent : 0;
}
cloudnotify_session *cloudnotify_push_session(const cloudnotify_push *p) {
  return p ? p->session : NULL;
}
const char *cloudnotify_push_client_id(const cloudnotify_push *p) {
  return p ? p->reg->client_id : NULL;
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

int cloudnotify_push_set_body(cloudnotify_push *p, const char *text) {
  if (!p || (text && !cn_text_is_xml_safe(text)))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  g_free(p->body);
  p->body = g_strdup(text);
  return 0;
}

int cloudnotify_push_set_sender(cloudnotify_push *p, const char *jid) {
  if (!p || (jid && !cn_text_is_xml_safe(jid)))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  g_free(p->sender);
  p->sender = g_strdup(jid);
  return 0;
}
