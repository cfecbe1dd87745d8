/* Building and sending the pubsub publish, the notification filter's
 * view of it, and the memory that keeps one registration from being
 * pushed twice for the same stanza. */
#include "private.h"

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
  cn_stanza_info info;
  cn_rules_classify(xmlDocGetRootElement(doc), account, &info);
  xmlFreeDoc(doc);
  out->important = info.important;
  out->urgent = info.urgent;
  out->skip = info.outgoing_carbon || info.own;
  out->sender = g_steal_pointer(&info.sender);
  /* The body is kept only when it may leave the server. */
  out->body = ctx->opt.with_body ? g_steal_pointer(&info.body) : NULL;
  out->key = g_steal_pointer(&info.key);
  out->alt_key = g_steal_pointer(&info.alt_key);
  out->type = g_steal_pointer(&info.type);
  out->id = g_steal_pointer(&info.id);
  cn_stanza_info_clear(&info);
  return 0;
}

void cn_summary_clear(cn_summary *s) {
  g_free(s->sender);
  g_free(s->body);
  g_free(s->key);
  g_free(s->alt_key);
  g_free(s->type);
  g_free(s->id);
  memset(s, 0, sizeof *s);
}

void cn_summary_free(cn_summary *s) {
  if (!s)
    return;
  cn_summary_clear(s);
  g_free(s);
}

/* ---- the publish ---------------------------------------------------- */

static void add_field(GString *x, const char *var, const char *value) {
  g_string_append(x, "<field var='");
  g_string_append(x, var);
  g_string_append(x, "'><value>");
  cn_xml_escape(x, value, strlen(value));
  g_string_append(x, "</value></field>");
}

static void build_publish(GString *x, const char *id, const char *from,
                          const cloudnotify_push *p) {
  const cn_reg *r = p->reg;
  g_string_append(x, "<iq type='set' id='");
  g_string_append(x, id);
  g_string_append(x, "' from='");
  cn_xml_escape(x, from, strlen(from));
  g_string_append(x, "' to='");
  cn_xml_escape(x, r->jid, strlen(r->jid));
  g_string_append(x, "'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish");
  if (r->node) {
    g_string_append(x, " node='");
    cn_xml_escape(x, r->node, strlen(r->node));
    g_string_append_c(x, '\'');
  }
  g_string_append(x, "><item><notification xmlns='urn:xmpp:push:0'>"
                     "<x xmlns='jabber:x:data' type='submit'>");
  char count[16];
  GArray *fields = cn_push_summary_fields(p, count);
  for (guint i = 0; i < fields->len; i++) {
    const cn_push_field *f = &g_array_index(fields, cn_push_field, i);
    add_field(x, f->var, f->value);
  }
  g_array_unref(fields);
  g_string_append(x, "</x>");
  if (p->extra)
    g_string_append(x, p->extra);
  g_string_append(x, "</notification></item></publish>");
  if (r->form) {
    g_string_append(x, "<publish-options>");
    g_string_append_len(x, r->form, (gssize)r->form_len);
    g_string_append(x, "</publish-options>");
  }
  g_string_append(x, "</pubsub></iq>");
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
  if (sum && (sum->skip || cn_seen_contains(ctx, sum, r)))
    return 0;
  cloudnotify_push p = { ctx, r, session, sum, NULL, NULL, 0, NULL, NULL };
  if (sum)
    p.count = covered ? covered->len : 1;
  if (sum && ctx->opt.with_sender)
    p.sender = g_strdup(sum->sender);
  p.body = g_strdup(push_body(ctx, sum));

  int sent = 0;
  int veto = 0;
  if (ctx->cb.notification_filter) {
    ctx->in_callback++;
    veto = ctx->cb.notification_filter(ctx->user_data, &p);
    ctx->in_callback--;
  }
  if (veto) {
    if (sum)
      seen_add_all(ctx, sum, covered, r);
    cn_log(ctx, CLOUDNOTIFY_LOG_DEBUG, "push to %s for %s vetoed by the host", r->jid,
           r->user->account);
  } else {
    char id[33];
    cn_random_id(id);
    /* The domain, as the reference (module.host), unless the host asked
     * for the account's bare JID, as in XEP-0357's examples. */
    const char *from = ctx->opt.publish_from_bare ? r->user->account
                                                  : strchr(r->user->account, '@') + 1;
    GString *x = g_string_sized_new(512 + r->form_len);
    build_publish(x, id, from, &p);
    if (cn_send(ctx, CLOUDNOTIFY_ROUTE_APP_SERVER, NULL, r->user->account, r->jid, x) == 0) {
      cn_outstanding_add(ctx, id, r);
      if (sum)
        seen_add_all(ctx, sum, covered, r);
      sent = 1;
      cn_log(ctx, CLOUDNOTIFY_LOG_DEBUG, "sent %s push to %s for %s",
             p.body ? "important" : "unimportant", r->jid, r->user->account);
    } else {
      cn_log(ctx, CLOUDNOTIFY_LOG_WARN, "the host refused a push to %s for %s", r->jid,
             r->user->account);
    }
    g_string_free(x, TRUE);
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
  for (guint i = 0; i < summaries->len && s->reg; i++) {
    const cn_summary *sum = summaries->pdata[i];
    /* Without an important body every push looks the same to the device,
     * so one push covers the batch. */
    gboolean important = sum->important && ctx->opt.important_body;
    gboolean *done = important ? &done_important : &done_unimportant;
    if (*done || sum->skip || cn_seen_contains(ctx, sum, s->reg))
      continue;
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
