/* Publishes awaiting an app-server reply, and the handling of those
 * replies.  Unlike the reference, whose table of ids only grows, this
 * one is bounded and its entries expire. */
#include "private.h"

#include <string.h>

#include "jid.h"

typedef struct {
  char id[33];
  char *account;
  char *ident;
  int64_t created;
  GList link;
} pending;

static void pending_free(pending *p) {
  g_free(p->account);
  g_free(p->ident);
  g_free(p);
}

void cn_outstanding_init(cloudnotify_ctx *ctx) {
  ctx->outstanding = g_hash_table_new(g_str_hash, g_str_equal);
  g_queue_init(&ctx->outstanding_fifo);
}

static void drop(cloudnotify_ctx *ctx, pending *p) {
  g_hash_table_remove(ctx->outstanding, p->id);
  g_queue_unlink(&ctx->outstanding_fifo, &p->link);
  pending_free(p);
}

void cn_outstanding_clear(cloudnotify_ctx *ctx) {
  while (ctx->outstanding_fifo.head)
    drop(ctx, ctx->outstanding_fifo.head->data);
}

void cn_outstanding_fini(cloudnotify_ctx *ctx) {
  cn_outstanding_clear(ctx);
  g_hash_table_destroy(ctx->outstanding);
  ctx->outstanding = NULL;
}

void cn_outstanding_add(cloudnotify_ctx *ctx, const char *id, const cn_reg *r) {
  while (ctx->outstanding_fifo.length >= (guint)ctx->opt.max_outstanding)
    drop(ctx, ctx->outstanding_fifo.head->data);
  pending *p = g_new0(pending, 1);
  g_strlcpy(p->id, id, sizeof p->id);
  p->account = g_strdup(r->user->account);
  p->ident = g_strdup(r->ident);
  p->created = cn_now(ctx);
  p->link.data = p;
  g_hash_table_insert(ctx->outstanding, p->id, p);
  g_queue_push_tail_link(&ctx->outstanding_fifo, &p->link);
}

void cn_outstanding_forget(cloudnotify_ctx *ctx, const char *account, const char *ident) {
  for (GList *l = ctx->outstanding_fifo.head; l;) {
    pending *p = l->data;
    l = l->next;
    if (!strcmp(p->ident, ident) && !strcmp(p->account, account))
      drop(ctx, p);
  }
}

int64_t cn_outstanding_next_deadline(const cloudnotify_ctx *ctx) {
  if (!ctx->outstanding_fifo.head)
    return INT64_MAX;
  const pending *p = ctx->outstanding_fifo.head->data;
  return p->created + ctx->opt.publish_timeout * 1000;
}

void cn_outstanding_expire(cloudnotify_ctx *ctx, int64_t now) {
  while (ctx->outstanding_fifo.head) {
    pending *p = ctx->outstanding_fifo.head->data;
    if (p->created + ctx->opt.publish_timeout * 1000 > now)
      break;
    /* No answer is neither success nor failure: an app server that is
     * merely slow must not lose the user's registration. */
    drop(ctx, p);
  }
}

static cn_reg *find_by_ident(cn_user *u, const char *ident) {
  for (guint i = 0; i < u->regs->len; i++) {
    cn_reg *r = u->regs->pdata[i];
    if (!strcmp(r->ident, ident))
      return r;
  }
  return NULL;
}

static int apply_reply(cloudnotify_ctx *ctx, pending *p, xmlNode *iq, gboolean is_error) {
  cn_user *u;
  int rc = cn_user_get(ctx, p->account, &u);
  if (rc)
    return rc;
  cn_reg *r = find_by_ident(u, p->ident);
  char *from = cn_jid_normalize(cn_xml_attr(iq, "from"));
  if (!r || !from || strcmp(from, r->jid)) {
    /* Another JID answering for this id changes nothing, and the entry
     * stays for the real app server's reply. */
    cn_log(ctx, CLOUDNOTIFY_LOG_WARN, "ignoring a push reply for %s from an unexpected sender",
           p->account);
    gboolean gone = r == NULL;
    g_free(from);
    if (gone)
      drop(ctx, p);
    return 0;
  }
  g_free(from);
  drop(ctx, p);
  if (!is_error) {
    if (r->errors)
      cn_reg_set_errors(ctx, r, 0);
    return 0;
  }
  xmlNode *err = cn_xml_child(iq, "error", NULL);
  const char *type = err ? cn_xml_attr(err, "type") : NULL;
  if (type && !strcmp(type, "wait")) {
    cn_log(ctx, CLOUDNOTIFY_LOG_DEBUG, "push to %s for %s: temporary error, not counted", r->jid,
           u->account);
    return 0;
  }
  cn_reg_set_errors(ctx, r, r->errors < G_MAXUINT ? r->errors + 1 : r->errors);
  cn_log(ctx, CLOUDNOTIFY_LOG_INFO, "push to %s for %s failed; %u error(s) in a row", r->jid,
         u->account, r->errors);
  if (r->errors < (unsigned)ctx->opt.max_errors)
    return 0;
  rc = cn_store_remove(ctx, u->account, r->jid, r->node);
  if (rc)
    return rc;
  cn_log(ctx, CLOUDNOTIFY_LOG_WARN, "disabling push to %s for %s after %u errors", r->jid,
         u->account, r->errors);
  cn_user_drop_reg(ctx, u, r, CLOUDNOTIFY_REMOVED_ERRORS);
  return 0;
}

int cloudnotify_handle_app_reply(cloudnotify_ctx *ctx, const char *xml, size_t len) {
  if (!ctx || !xml)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  xmlDoc *doc;
  int rc = cn_parse(ctx, xml, len, &doc);
  if (rc)
    return cn_leave(ctx, rc);
  xmlNode *iq = xmlDocGetRootElement(doc);
  const char *type = cn_xml_attr(iq, "type");
  const char *id = cn_xml_attr(iq, "id");
  pending *p = NULL;
  if (!strcmp((const char *)iq->name, "iq") && type &&
      (!strcmp(type, "result") || !strcmp(type, "error")) && id)
    p = g_hash_table_lookup(ctx->outstanding, id);
  if (!p)
    rc = CLOUDNOTIFY_ERR_NOT_MINE;
  else
    rc = apply_reply(ctx, p, iq, !strcmp(type, "error"));
  xmlFreeDoc(doc);
  return cn_leave(ctx, rc);
}
