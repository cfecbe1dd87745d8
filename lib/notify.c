/* Building and sending the pubsub publish, the notification filter's
 * view of it, and the memory that keeps one registration from being
 * pushed twice for the same stanza. */
#include "private.h"

#include "emit.h"

#include <string.h>

struct cloudnotify_push {
  cloudnotify_ctx *ctx;
  const cn_reg *reg;
  cloudnotify_session *session;
  const cn_summary *sum;
  char *body;   /* what will be sent, owned */
  char *sender; /* what will be sent, owned */
};

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
  memset(out, 0, sizeof *out);
  cn_stanza_info info;
  cn_rules_classify(root, account, &info);
  out->important = info.important;
  out->urgent = info.urgent;
  out->skip = info.outgoing_carbon;
  out->sender = g_steal_pointer(&info.sender);
  /* The body is kept only when it may leave the server. */
  out->body = ctx->opt.with_body ? g_steal_pointer(&info.body) : NULL;
  out->key = g_steal_pointer(&info.key);
  out->alt_key = g_steal_pointer(&info.alt_key);
  cn_stanza_info_clear(&info);
}

void cn_summary_clear(cn_summary *s) {
  g_free(s->sender);
  g_free(s->body);
  g_free(s->key);
  g_free(s->alt_key);
  memset(s, 0, sizeof *s);
}

void cn_summary_free(cn_summary *s) {
  if (!s)
    return;
  cn_summary_clear(s);
  g_free(s);
}

/* ---- de-duplication ------------------------------------------------- */

void cn_seen_init(cloudnotify_ctx *ctx) {
  ctx->seen = g_hash_table_new(g_str_hash, g_str_equal);
  g_queue_init(&ctx->seen_fifo);
}

void cn_seen_clear(cloudnotify_ctx *ctx) {
  g_hash_table_destroy(ctx->seen);
  g_queue_free_full(g_queue_copy(&ctx->seen_fifo), g_free);
  g_queue_clear(&ctx->seen_fifo);
}

/* The account is part of the key: two accounts may share a push service
 * and node, and a stanza id is only unique per sender. */
static char *seen_key(const char *key, const cn_reg *r) {
  return g_strconcat(key, "\x1f", r->user->account, "\x1f", r->ident, NULL);
}

static gboolean seen_contains_one(cloudnotify_ctx *ctx, const char *key, const cn_reg *r) {
  char *k = seen_key(key, r);
  gboolean seen = g_hash_table_contains(ctx->seen, k);
  g_free(k);
  return seen;
}

static gboolean seen_contains(cloudnotify_ctx *ctx, const cn_summary *sum, const cn_reg *r) {
  return seen_contains_one(ctx, sum->key, r) ||
         (sum->alt_key && seen_contains_one(ctx, sum->alt_key, r));
}

/* Remembered only once the stanza is dealt with for r: a publish the host
 * refused was not sent, and another copy of the stanza may still go. */
static void seen_add_one(cloudnotify_ctx *ctx, const char *key, const cn_reg *r) {
  if (ctx->opt.max_remembered == 0)
    return;
  while (ctx->seen_fifo.length >= (guint)ctx->opt.max_remembered) {
    char *old = g_queue_pop_head(&ctx->seen_fifo);
    g_hash_table_remove(ctx->seen, old);
    g_free(old);
  }
  char *k = seen_key(key, r);
  g_hash_table_add(ctx->seen, k);
  g_queue_push_tail(&ctx->seen_fifo, k);
}

static void seen_add(cloudnotify_ctx *ctx, const cn_summary *sum, const cn_reg *r) {
  seen_add_one(ctx, sum->key, r);
  if (sum->alt_key && strcmp(sum->alt_key, sum->key))
    seen_add_one(ctx, sum->alt_key, r);
}

/* ---- the publish ---------------------------------------------------- */

static void add_field(cn_el *x, const char *var, const char *value) {
  cn_el *f = cn_el_add(x, "field", NULL);
  cn_el_attr(f, "var", var);
  cn_el_text(cn_el_add(f, "value", NULL), value);
}

static cn_el *build_publish(const char *id, const char *domain, const cloudnotify_push *p) {
  const cn_reg *r = p->reg;
  cn_el *iq = cn_el_new("iq", NULL);
  cn_el_attr(iq, "type", "set");
  cn_el_attr(iq, "id", id);
  cn_el_attr(iq, "from", domain);
  cn_el_attr(iq, "to", r->jid);
  cn_el *pubsub = cn_el_add(iq, "pubsub", "http://jabber.org/protocol/pubsub");
  cn_el *publish = cn_el_add(pubsub, "publish", NULL);
  cn_el_attr(publish, "node", r->node);
  cn_el *x = cn_el_add(cn_el_add(cn_el_add(publish, "item", NULL), "notification",
                                 "urn:xmpp:push:0"),
                       "x", "jabber:x:data");
  cn_el_attr(x, "type", "submit");
  add_field(x, "FORM_TYPE", "urn:xmpp:push:summary");
  add_field(x, "message-count", "1");
  if (p->sender)
    add_field(x, "last-message-sender", p->sender);
  if (p->body)
    add_field(x, "last-message-body", p->body);
  if (r->form)
    cn_el_raw(cn_el_add(pubsub, "publish-options", NULL), r->form, r->form_len);
  return iq;
}

int cn_notify(cloudnotify_ctx *ctx, cn_reg *r, cloudnotify_session *session,
              const cn_summary *sum) {
  if (sum && sum->skip)
    return 0;
  if (sum && seen_contains(ctx, sum, r)) {
    CN_COUNT(ctx, CN_C_PUBLISHES_DEDUPLICATED);
    return 0;
  }
  cloudnotify_push p = { ctx, r, session, sum, NULL, NULL };
  if (sum && ctx->opt.with_sender)
    p.sender = g_strdup(sum->sender);
  if (sum && ctx->opt.with_body)
    p.body = g_strdup(sum->body);
  else if (sum && sum->important && ctx->opt.important_body)
    p.body = g_strdup(ctx->opt.important_body);

  int sent = 0;
  int veto = cn_cb_notification_filter(ctx, &p);
  if (veto) {
    if (sum)
      seen_add(ctx, sum, r);
    cn_log_id(ctx, CLOUDNOTIFY_LOG_DEBUG, CLOUDNOTIFY_LOG_ID_PUSH_VETOED,
              "push to %s for %s vetoed by the host", r->jid, r->user->account);
    cn_report_publish(ctx, r->user->account, r->jid, r->node, NULL, CLOUDNOTIFY_PUBLISH_VETOED,
                      NULL, NULL, r->errors);
  } else {
    char id[CN_PUBLISH_ID_SIZE];
    cn_publish_id(ctx, id);
    const char *domain = strchr(r->user->account, '@') + 1;
    cn_el *x = build_publish(id, domain, &p);
    if (cn_emit(ctx, CLOUDNOTIFY_ROUTE_APP_SERVER, NULL, r->user->account, r->jid, id, x) ==
        0) {
      cn_outstanding_add(ctx, id, r);
      if (sum)
        seen_add(ctx, sum, r);
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
  return sent;
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
    if (cn_notify(ctx, s->reg, s, sum)) {
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
