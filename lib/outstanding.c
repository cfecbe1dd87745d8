/* Publishes awaiting an app-server reply, and the handling of those
 * replies.  Unlike the reference, whose table of ids only grows, this
 * one is bounded and its entries expire. */
#include "outstanding.h"

#include <string.h>

#include "counters.h"
#include "ctx.h"
#include "diag.h"
#include "host.h"
#include "jid.h"
#include "pending.h"
#include "random.h"
#include "reg-policy.h"
#include "registry.h"
#include "stanza-errors.h"
#include "timers.h"
#include "tree.h"
#include "xml.h"

typedef struct {
  char id[CN_PUBLISH_ID_SIZE];
  char *account;
  char *ident;
  char *jid, *node; /* for the publish_outcome report */
  char *regkey;     /* "account\x1fident": the per-registration index */
  int64_t created;  /* monotonic */
  GList link;       /* in ctx->outstanding_fifo: oldest first */
  GList reg_link;   /* the registration's entries; the index holds the first */
  char strings[];   /* the strings above, in the same allocation */
} pending;

static void pending_free(pending *p) {
  g_free(p);
}

/* Copies s (NULL stays NULL) to *at and advances it. */
static char *pack(char **at, const char *s, size_t len) {
  if (!s)
    return NULL;
  char *c = *at;
  memcpy(c, s, len);
  c[len] = 0;
  *at += len + 1;
  return c;
}

void cn_outstanding_init(cloudnotify_ctx *ctx) {
  ctx->outstanding = g_hash_table_new(g_str_hash, g_str_equal);
  /* Keyed by the first entry's own regkey: adding a registration's first
   * publish allocates nothing more than the entry. */
  ctx->outstanding_by_reg = g_hash_table_new(g_str_hash, g_str_equal);
  g_queue_init(&ctx->outstanding_fifo);
}

static void expire_fire(cloudnotify_ctx *ctx, void *data);

/* Every entry shares one timeout, so they expire oldest first and one
 * ordinary timer, armed for the oldest, stands for the whole table. */
void cn_outstanding_rearm(cloudnotify_ctx *ctx) {
  const pending *head = ctx->outstanding_fifo.head ? ctx->outstanding_fifo.head->data : NULL;
  if (!head) {
    cn_timer_cancel(&ctx->outstanding_timer);
    return;
  }
  int64_t deadline = head->created + ctx->opt.publish_timeout * 1000;
  if (!cn_timer_armed(&ctx->outstanding_timer) || ctx->outstanding_timer.deadline != deadline)
    cn_timer_arm_at(&ctx->timers, &ctx->outstanding_timer, deadline, expire_fire, NULL);
}

static void drop(cloudnotify_ctx *ctx, pending *p) {
  gboolean was_oldest = ctx->outstanding_fifo.head == &p->link;
  g_hash_table_remove(ctx->outstanding, p->id);
  g_queue_unlink(&ctx->outstanding_fifo, &p->link);
  GList *next = p->reg_link.next;
  if (!p->reg_link.prev) {
    /* The first: the next one (if any) takes its place in the index. */
    g_hash_table_remove(ctx->outstanding_by_reg, p->regkey);
    if (next) {
      pending *n = next->data;
      next->prev = NULL;
      g_hash_table_insert(ctx->outstanding_by_reg, n->regkey, n);
    }
  } else {
    p->reg_link.prev->next = next;
    if (next)
      next->prev = p->reg_link.prev;
  }
  pending_free(p);
  if (was_oldest)
    cn_outstanding_rearm(ctx);
}

void cn_outstanding_clear(cloudnotify_ctx *ctx) {
  while (ctx->outstanding_fifo.head)
    drop(ctx, ctx->outstanding_fifo.head->data);
}

void cn_outstanding_fini(cloudnotify_ctx *ctx) {
  cn_outstanding_clear(ctx);
  g_hash_table_destroy(ctx->outstanding);
  g_hash_table_destroy(ctx->outstanding_by_reg);
  ctx->outstanding = NULL;
  ctx->outstanding_by_reg = NULL;
}

/* An entry leaving without a reply of its own: the count it reports is
 * the one in memory, without loading an account that left the cache. */
static void drop_reporting(cloudnotify_ctx *ctx, pending *p, cloudnotify_publish_outcome outcome) {
  cn_user *u = g_hash_table_lookup(ctx->users, p->account);
  const cn_reg *r = u ? cn_user_find_ident(u, p->ident) : NULL;
  cn_report_publish(ctx, p->account, p->jid, p->node, p->id, outcome, NULL, NULL,
                    r ? r->errors : 0);
  drop(ctx, p);
}

static char *reg_key(const char *account, const char *ident) {
  return g_strconcat(account, "\x1f", ident, NULL);
}

void cn_outstanding_add(cloudnotify_ctx *ctx, const char *id, const cn_reg *r) {
  while (ctx->outstanding_fifo.length >= (guint)ctx->opt.max_outstanding)
    drop_reporting(ctx, ctx->outstanding_fifo.head->data, CLOUDNOTIFY_PUBLISH_DROPPED);
  /* One allocation per publish: the entry and its five strings. */
  size_t la = strlen(r->user->account), li = strlen(r->ident);
  size_t lj = r->jid ? strlen(r->jid) : 0, ln = r->node ? strlen(r->node) : 0;
  pending *p = g_malloc0(sizeof *p + la + li + lj + ln + (la + 1 + li) + 5);
  char *at = p->strings;
  g_strlcpy(p->id, id, sizeof p->id);
  p->account = pack(&at, r->user->account, la);
  p->ident = pack(&at, r->ident, li);
  p->jid = pack(&at, r->jid, lj);
  p->node = pack(&at, r->node, ln);
  p->regkey = at;
  memcpy(at, p->account, la);
  at[la] = '\x1f';
  memcpy(at + la + 1, p->ident, li + 1);
  p->created = cn_mono(ctx);
  p->link.data = p;
  p->reg_link.data = p;
  g_hash_table_insert(ctx->outstanding, p->id, p);
  g_queue_push_tail_link(&ctx->outstanding_fifo, &p->link);
  pending *first = g_hash_table_lookup(ctx->outstanding_by_reg, p->regkey);
  if (!first) {
    g_hash_table_insert(ctx->outstanding_by_reg, p->regkey, p);
  } else {
    /* Order within a registration does not matter: only
     * cn_outstanding_forget walks it, dropping all. */
    p->reg_link.prev = &first->reg_link;
    p->reg_link.next = first->reg_link.next;
    if (p->reg_link.next)
      p->reg_link.next->prev = &p->reg_link;
    first->reg_link.next = &p->reg_link;
  }
  if (ctx->outstanding_fifo.length == 1)
    cn_outstanding_rearm(ctx);
}

/* Indexed per registration: removing one registration costs its own
 * publishes, not a walk over every publish of the context. */
unsigned cn_outstanding_count(const cloudnotify_ctx *ctx, const char *account, const char *ident) {
  char *key = reg_key(account, ident);
  const GQueue *q = g_hash_table_lookup(ctx->outstanding_by_reg, key);
  g_free(key);
  return q ? q->length : 0;
}

void cn_outstanding_forget(cloudnotify_ctx *ctx, const char *account, const char *ident) {
  char *key = reg_key(account, ident);
  pending *p;
  while ((p = g_hash_table_lookup(ctx->outstanding_by_reg, key)))
    drop_reporting(ctx, p, CLOUDNOTIFY_PUBLISH_FORGOTTEN);
  g_free(key);
}

static void expire_fire(cloudnotify_ctx *ctx, void *data) {
  (void)data;
  int64_t now = cn_mono(ctx);
  while (ctx->outstanding_fifo.head) {
    pending *p = ctx->outstanding_fifo.head->data;
    if (p->created + ctx->opt.publish_timeout * 1000 > now)
      break;
    /* No answer is neither success nor failure: an app server that is
     * merely slow must not lose the user's registration. */
    drop_reporting(ctx, p, CLOUDNOTIFY_PUBLISH_EXPIRED);
  }
  cn_outstanding_rearm(ctx);
}

static void limit_removed(cloudnotify_ctx *ctx, cn_user *u, cn_reg *r) {
  cn_log_id(ctx, CLOUDNOTIFY_LOG_WARN, CLOUDNOTIFY_LOG_ID_REMOVED_ERRORS,
            "disabling push to %s for %s after %u errors", r->jid, u->account, r->errors);
  cn_policy_remove(ctx, u, r, CLOUDNOTIFY_REMOVED_ERRORS);
}

/* The removal at the error limit, answered later. */
typedef struct {
  cn_task t;
  char *ident;
} limit_job;

static void limit_free(cn_task *t) {
  g_free(((limit_job *)t)->ident);
  cn_task_fini(t);
  g_free(t);
}

static int limit_run(cloudnotify_ctx *ctx, cn_task *t) {
  int rc = cn_store_checked(ctx, "removing", t->account, cn_task_answer(t, NULL, NULL));
  cn_user *u = g_hash_table_lookup(ctx->users, t->account);
  cn_reg *r = u ? cn_user_find_ident(u, ((limit_job *)t)->ident) : NULL;
  /* A failure leaves the count at the limit: the next error retries. */
  if (rc == 0 && r)
    limit_removed(ctx, u, r);
  return rc;
}

static void limit_wait(cloudnotify_ctx *ctx, const char *account, const char *ident) {
  limit_job *j = g_new0(limit_job, 1);
  cn_task_init(&j->t, limit_run, limit_free, account, NULL);
  j->ident = g_strdup(ident);
  cn_pending_wait(ctx, &j->t);
}

/* A reply reduced to what the rules need, from either entry point:
 * error_type and error_condition are static strings or NULL. */
typedef struct {
  const char *id;
  const char *from; /* as received; NULL when absent */
  gboolean is_error;
  const char *error_type;
  const char *error_condition;
  const char *error_text; /* the error's <text/>, for the diagnosis; NULL: none */
} reply_fields;

static int foreign_sender(cloudnotify_ctx *ctx, const pending *p) {
  /* Another JID answering for this id changes nothing, and the entry
   * stays for the real app server's reply. */
  CN_COUNT(ctx, CN_C_REPLIES_FOREIGN);
  cn_log_id(ctx, CLOUDNOTIFY_LOG_WARN, CLOUDNOTIFY_LOG_ID_REPLY_FOREIGN_SENDER,
            "ignoring a push reply for %s from an unexpected sender", p->account);
  return CLOUDNOTIFY_ERR_FOREIGN_SENDER;
}

/* The reply f to the outstanding publish p, its account not busy.  May
 * return CN_PARKED (the account is being loaded). */
static int apply_now(cloudnotify_ctx *ctx, pending *p, const reply_fields *f) {
  cn_user *u;
  int rc = cn_user_get(ctx, p->account, &u);
  if (rc)
    return rc;
  cn_reg *r = cn_user_find_ident(u, p->ident);
  if (!r) {
    /* The registration went behind our back (the store changed): the
     * reply is ours, and nobody's count is left to change. */
    drop_reporting(ctx, p, CLOUDNOTIFY_PUBLISH_FORGOTTEN);
    return 0;
  }
  if (!cn_jid_equal(f->from, r->jid))
    return foreign_sender(ctx, p);
  char id[CN_PUBLISH_ID_SIZE];
  g_strlcpy(id, p->id, sizeof id);
  drop(ctx, p);
  if (!f->is_error) {
    cn_report_publish(ctx, u->account, r->jid, r->node, id, CLOUDNOTIFY_PUBLISH_OK, NULL, NULL, 0);
    /* After the report: ending a back-off may send the held push. */
    cn_policy_on_publish_ok(ctx, r);
    return 0;
  }
  cloudnotify_publish_outcome kind =
      cn_policy_classify_error(ctx, f->error_type, f->error_condition);
  if (kind != CLOUDNOTIFY_PUBLISH_ERROR) {
    cn_log_id(ctx, CLOUDNOTIFY_LOG_DEBUG, CLOUDNOTIFY_LOG_ID_REPLY_WAIT,
              "push to %s for %s: %s error (%s), not counted", r->jid, u->account,
              kind == CLOUDNOTIFY_PUBLISH_WAIT ? "wait" : "transient",
              f->error_condition ? f->error_condition : "no condition");
    cn_report_publish_text(ctx, u->account, r->jid, r->node, id, kind, f->error_type,
                           f->error_condition, f->error_text, r->errors);
    cn_policy_backoff_start(ctx, r);
    return 0;
  }
  gboolean at_limit = cn_policy_on_publish_error(ctx, r, f->error_type, f->error_condition);
  cn_log_id(ctx, CLOUDNOTIFY_LOG_INFO, CLOUDNOTIFY_LOG_ID_REPLY_ERROR,
            "push to %s for %s failed; %u error(s) in a row", r->jid, u->account, r->errors);
  cn_report_publish_text(ctx, u->account, r->jid, r->node, id, CLOUDNOTIFY_PUBLISH_ERROR,
                         f->error_type, f->error_condition, f->error_text, r->errors);
  if (!at_limit)
    return 0;
  rc = cn_store_remove(ctx, u->account, r->jid, r->node);
  if (rc == CN_WAIT) {
    limit_wait(ctx, u->account, r->ident);
    return 0;
  }
  if (rc)
    return rc;
  limit_removed(ctx, u, r);
  return 0;
}

/* A reply kept behind its account's earlier work: its fields copied (the
 * error strings are static), whichever entry point it came through. */
typedef struct {
  cn_task t;
  char *id, *from;
  gboolean is_error;
  const char *error_type, *error_condition;
  char *error_text;
} reply_job;

static void reply_job_free(cn_task *t) {
  reply_job *j = (reply_job *)t;
  g_free(j->id);
  g_free(j->from);
  g_free(j->error_text);
  cn_task_fini(t);
  g_free(j);
}

static int reply_run(cloudnotify_ctx *ctx, cn_task *t) {
  reply_job *j = (reply_job *)t;
  reply_fields f = {
    j->id, j->from, j->is_error, j->error_type, j->error_condition, j->error_text
  };
  pending *p = g_hash_table_lookup(ctx->outstanding, j->id);
  /* Forgotten meanwhile (expired, or its registration went): as late. */
  return p ? apply_now(ctx, p, &f) : 0;
}

static cn_task *reply_job_new(const char *account, const reply_fields *f) {
  reply_job *j = g_new0(reply_job, 1);
  cn_task_init(&j->t, reply_run, reply_job_free, account, NULL);
  j->id = g_strdup(f->id);
  j->from = g_strdup(f->from);
  j->is_error = f->is_error;
  j->error_type = f->error_type;
  j->error_condition = f->error_condition;
  j->error_text = cn_diag_bound_text(f->error_text);
  return &j->t;
}

static int apply_reply(cloudnotify_ctx *ctx, const reply_fields *f) {
  pending *p = g_hash_table_lookup(ctx->outstanding, f->id);
  if (!p) {
    CN_COUNT(ctx, CN_C_REPLIES_NOT_MINE);
    return CLOUDNOTIFY_ERR_NOT_MINE;
  }
  if (cn_pending_busy(ctx, p->account)) {
    /* Applied in order behind the account's earlier work; consumed now.
     * The sender is checked now against the JID the publish went to, so
     * that the host still hears of a foreign sender. */
    if (!cn_jid_equal(f->from, p->jid))
      return foreign_sender(ctx, p);
    return cn_pending_enqueue(ctx, reply_job_new(p->account, f));
  }
  char *account = g_strdup(p->account);
  int rc = apply_now(ctx, p, f);
  if (rc == CN_PARKED) {
    cn_pending_after_load(ctx, reply_job_new(account, f));
    rc = 0;
  }
  g_free(account);
  return rc;
}

/* The defined condition of an <error/>: the first child in the stanzas
 * namespace that is not <text/>.  One outside RFC 6120 is reported as
 * undefined-condition, which is what that condition is for. */
static const char *xml_error_condition(const xmlNode *err) {
  for (const xmlNode *c = err->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE ||
        g_strcmp0(cn_xml_ns(c), "urn:ietf:params:xml:ns:xmpp-stanzas") ||
        !strcmp((const char *)c->name, "text"))
      continue;
    const char *known = cn_error_condition_static((const char *)c->name);
    return known ? known : "undefined-condition";
  }
  return NULL;
}

/* The first <text/> of an <error/> (*keep owns it), for the diagnosis. */
static const char *xml_error_text(const xmlNode *err, xmlChar **keep) {
  for (const xmlNode *c = err->children; c; c = c->next)
    if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, "text") &&
        !g_strcmp0(cn_xml_ns(c), "urn:ietf:params:xml:ns:xmpp-stanzas"))
      return (const char *)(*keep = xmlNodeGetContent(c));
  return NULL;
}

static int handle_app_reply(cloudnotify_ctx *ctx, const cn_input *in) {
  CN_ENTER(ctx);
  xmlDoc *doc;
  int rc = cn_input_parse(ctx, in, &doc);
  if (rc)
    return cn_leave(ctx, rc);
  xmlNode *iq = xmlDocGetRootElement(doc);
  const char *type = cn_xml_attr(iq, "type");
  reply_fields f = { cn_xml_attr(iq, "id"), cn_xml_attr(iq, "from"), FALSE, NULL, NULL, NULL };
  xmlChar *text = NULL;
  if (strcmp((const char *)iq->name, "iq") || !type ||
      (strcmp(type, "result") && strcmp(type, "error")) || !f.id) {
    CN_COUNT(ctx, CN_C_REPLIES_NOT_MINE);
    rc = CLOUDNOTIFY_ERR_NOT_MINE;
  } else {
    f.is_error = !strcmp(type, "error");
    xmlNode *err = f.is_error ? cn_xml_child(iq, "error", NULL) : NULL;
    if (err) {
      f.error_type = cn_error_type_static(cn_xml_attr(err, "type"));
      f.error_condition = xml_error_condition(err);
      f.error_text = xml_error_text(err, &text);
    }
    rc = apply_reply(ctx, &f);
  }
  xmlFree(text);
  xmlFreeDoc(doc);
  return cn_leave(ctx, rc);
}

int cloudnotify_handle_app_reply(cloudnotify_ctx *ctx, const char *xml, size_t len) {
  if (!ctx || !xml)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  cn_input in = { xml, len, NULL };
  return handle_app_reply(ctx, &in);
}

int cloudnotify_handle_app_reply_tree(cloudnotify_ctx *ctx, const cloudnotify_tree *tree) {
  int rc = ctx ? cn_tree_check(tree) : CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (rc)
    return rc;
  cn_input in = { NULL, 0, tree };
  return handle_app_reply(ctx, &in);
}

int cloudnotify_handle_app_reply_fields(cloudnotify_ctx *ctx, const cloudnotify_reply *reply) {
  if (!ctx || !reply)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (!cn_struct_size_ok(reply, reply->size, sizeof(cloudnotify_reply), sizeof(cloudnotify_reply)))
    return CLOUDNOTIFY_ERR_VTABLE_SIZE;
  CN_ENTER(ctx);
  const cloudnotify_reply *in = reply;
  if (!in->id || !in->from || !in->type)
    return cn_leave(ctx, CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  gboolean is_result = !strcmp(in->type, "result"), is_error = !strcmp(in->type, "error");
  if (!is_result && !is_error && strcmp(in->type, "get") && strcmp(in->type, "set"))
    return cn_leave(ctx, CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  reply_fields f = { in->id, in->from, is_error, cn_error_type_static(in->error_type),
                     cn_error_condition_static(in->error_condition) };
  /* Given but unknown, or given for a result: the host mis-parsed. */
  if ((in->error_type && (!f.error_type || is_result)) ||
      (in->error_condition && (!f.error_condition || is_result)))
    return cn_leave(ctx, CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  char *from = cn_jid_normalize(in->from);
  gboolean jid_ok = from != NULL;
  g_free(from);
  if (!jid_ok)
    return cn_leave(ctx, CLOUDNOTIFY_ERR_JID_MALFORMED);
  if (!is_result && !is_error) {
    CN_COUNT(ctx, CN_C_REPLIES_NOT_MINE);
    return cn_leave(ctx, CLOUDNOTIFY_ERR_NOT_MINE);
  }
  return cn_leave(ctx, apply_reply(ctx, &f));
}

int cloudnotify_is_outstanding_id(const cloudnotify_ctx *ctx, const char *id) {
  if (!ctx || !id)
    return 0;
  return g_hash_table_contains(ctx->outstanding, id);
}
