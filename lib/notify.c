/* Building and sending the pubsub publish, the notification filter's
 * view of it, and the memory that keeps one registration from being
 * pushed twice for the same stanza. */
#include "notify.h"

#include <string.h>

#include "calls.h"
#include "counters.h"
#include "ctx.h"
#include "emit.h"
#include "host.h"
#include "outstanding.h"
#include "pending.h"
#include "push-gate.h"
#include "push-ext.h"
#include "push.h"
#include "random.h"
#include "reg-policy.h"
#include "registry.h"
#include "seen.h"
#include "session.h"
#include "xml.h"

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
  cn_calls_settle(ctx, out);
  cn_push_facts_take(ctx, root, out);
  /* The body is kept only when it may leave the server. */
  if (!ctx->opt.with_body)
    g_clear_pointer(&out->body, g_free);
}

cn_summary *cn_summary_copy(const cn_summary *s) {
  cn_summary *c = g_new0(cn_summary, 1);
  *c = *s;
  c->sender = g_strdup(s->sender);
  c->body = g_strdup(s->body);
  c->key = g_strdup(s->key);
  c->alt_key = g_strdup(s->alt_key);
  c->type = g_strdup(s->type);
  c->id = g_strdup(s->id);
  c->call_id = g_strdup(s->call_id);
  c->call_media = g_strdupv(s->call_media);
  c->facts = g_strdupv(s->facts);
  return c;
}

/* ---- the publish ---------------------------------------------------- */

static void add_field(cn_el *x, const char *var, const char *value) {
  cn_el *f = cn_el_add(x, "field", NULL);
  cn_el_attr(f, "var", var);
  cn_el_text(cn_el_add(f, "value", NULL), value);
}

static void add_summary_form(cn_el *notification, const cloudnotify_push *p) {
  cn_el *x = cn_el_add(notification, "x", "jabber:x:data");
  cn_el_attr(x, "type", "submit");
  char count[16];
  GArray *fields = cn_push_summary_fields(p, count);
  for (guint i = 0; i < fields->len; i++) {
    const cn_push_field *f = &g_array_index(fields, cn_push_field, i);
    add_field(x, f->var, f->value);
  }
  g_array_unref(fields);
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
  cn_el *notification =
      cn_el_add(cn_el_add(publish, "item", NULL), "notification", "urn:xmpp:push:0");
  /* Tigase's encrypted payload takes the summary form's place. */
  if (!cn_push_ext_payload(p, notification))
    add_summary_form(notification, p);
  cn_push_ext_children(p, notification);
  if (p->extra)
    cn_el_raw(notification, p->extra, strlen(p->extra));
  if (r->form)
    cn_el_raw(cn_el_add(pubsub, "publish-options", NULL), r->form, r->form_len);
  return iq;
}

struct cn_el *cn_notify_build_publish(const char *id, const char *from, const cloudnotify_push *p) {
  return build_publish(id, from, p);
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

void cn_push_free(cloudnotify_push *p) {
  if (!p)
    return;
  g_free(p->body);
  g_free(p->sender);
  cn_push_content_clear(p);
  cn_summary_free(p->own_sum);
  if (p->own_covered) {
    for (guint i = 0; i < p->own_covered->len; i++)
      cn_summary_free(p->own_covered->pdata[i]);
    g_ptr_array_free(p->own_covered, TRUE);
  }
  g_free(p);
}

void cn_push_cancelled(cloudnotify_ctx *ctx, const cloudnotify_push *p) {
  const cn_reg *r = p->reg;
  cn_report_publish(ctx, r->user->account, r->jid, r->node, NULL, CLOUDNOTIFY_PUBLISH_VETOED, NULL,
                    NULL, r->errors);
}

/* The filter answered veto (nonzero: drop): send or not.  1 when sent. */
static int push_finish(cloudnotify_ctx *ctx, cloudnotify_push *p, int veto) {
  const cn_reg *r = p->reg;
  const cn_summary *sum = p->sum;
  int sent = 0;
  GPtrArray *covered = p->covered;
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
    const char *from =
        ctx->opt.publish_from_bare ? r->user->account : strchr(r->user->account, '@') + 1;
    cn_el *x = build_publish(id, from, p);
    if (cn_emit(ctx, CLOUDNOTIFY_ROUTE_APP_SERVER, NULL, r->user->account, r->jid, id, x) == 0) {
      cn_outstanding_add(ctx, id, r);
      cn_gate_sent(ctx, p);
      if (sum)
        seen_add_all(ctx, sum, covered, r);
      sent = 1;
      CN_COUNT(ctx, CN_C_PUBLISHES_SENT);
      cn_calls_published(ctx, sum);
      cn_log_id(ctx, CLOUDNOTIFY_LOG_DEBUG, CLOUDNOTIFY_LOG_ID_PUSH_SENT,
                "sent %s push to %s for %s", p->body ? "important" : "unimportant", r->jid,
                r->user->account);
    } else {
      cn_log_id(ctx, CLOUDNOTIFY_LOG_WARN, CLOUDNOTIFY_LOG_ID_PUSH_REFUSED,
                "the host refused a push to %s for %s", r->jid, r->user->account);
      cn_report_publish(ctx, r->user->account, r->jid, r->node, id, CLOUDNOTIFY_PUBLISH_REFUSED,
                        NULL, NULL, r->errors);
    }
    cn_el_free(x);
  }
  return sent;
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
  /* The registration's own filters (Tigase's muted, groupchat,
   * ignore-unknown): calls too, a muted caller does not ring. */
  if (cn_push_ext_suppressed(ctx, r, sum))
    return 0;

  /* On the heap: a filter that answers later keeps it until then. */
  cloudnotify_push *p = g_new0(cloudnotify_push, 1);
  p->ctx = ctx;
  p->reg = r;
  p->session = session;
  p->sum = sum;
  if (sum)
    p->count = covered ? covered->len : 1;
  if (sum && ctx->opt.with_sender)
    p->sender = g_strdup(sum->sender);
  p->body = g_strdup(push_body(ctx, sum));
  p->covered = covered;
  /* Per device: grace period, rate limits, message count (push-gate.c). */
  if (!cn_gate_admit(ctx, r, p)) {
    if (sum)
      seen_add_all(ctx, sum, covered, r);
    cn_push_free(p);
    return 0;
  }
  /* Registration policy (reg-policy.c): back-off after transient app-server
   * errors, registration TTL.  After the gate, so that what the back-off
   * holds is in the count its retry carries. */
  if (cn_policy_push_held(ctx, r, sum)) {
    cn_push_free(p);
    return 0;
  }
  int veto = cn_cb_notification_filter(ctx, p);
  if (veto == CN_WAIT) {
    /* The op owns p now; the caller's summaries will not outlive it. */
    if (sum)
      p->sum = p->own_sum = cn_summary_copy(sum);
    if (covered) {
      p->own_covered = g_ptr_array_new();
      for (guint i = 0; i < covered->len; i++)
        g_ptr_array_add(p->own_covered, cn_summary_copy(covered->pdata[i]));
      p->covered = p->own_covered;
    }
    return CN_WAIT;
  }
  int sent = push_finish(ctx, p, veto);
  cn_push_free(p);
  return sent;
}

int cn_notify_resume(cloudnotify_ctx *ctx, cn_task *t) {
  cloudnotify_push *p = cn_task_push(t);
  int veto = cn_task_answer(t, NULL, NULL);
  return push_finish(ctx, p, veto);
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
    /* A call is pushed alone (calls.h). */
    if (sum->skip || sum->urgent || (sum->important && ctx->opt.important_body) != important)
      continue;
    if (i == first || !cn_seen_contains(ctx, sum, r))
      g_ptr_array_add(covered, sum);
  }
  return covered;
}

/* A batch whose filter answers later: the rest of it, with copies of the
 * summaries still to go. */
typedef struct {
  cn_task t;
  GPtrArray *sums; /* cn_summary*; owned by a parked batch only */
  guint i;
  gboolean done_important, done_unimportant;
  unsigned pushes;
} batch_job;

static void batch_free(cn_task *t) {
  batch_job *b = (batch_job *)t;
  for (guint i = 0; i < b->sums->len; i++)
    cn_summary_free(b->sums->pdata[i]);
  g_ptr_array_free(b->sums, TRUE);
  cn_task_fini(t);
  g_free(b);
}

static gboolean batch_important(cloudnotify_ctx *ctx, const cn_summary *sum) {
  /* Without an important body every push looks the same to the device,
   * so one push covers the batch. */
  return sum->important && ctx->opt.important_body;
}

static void batch_sent(cloudnotify_ctx *ctx, batch_job *b, const cn_summary *sum, int sent) {
  if (!sent)
    return;
  gboolean important = batch_important(ctx, sum);
  if (!sum->urgent)
    *(important ? &b->done_important : &b->done_unimportant) = TRUE;
  b->pushes++;
  cn_session_pushed(ctx, b->t.session, important || !ctx->opt.important_body);
}

static int batch_loop(cloudnotify_ctx *ctx, batch_job *b) {
  cloudnotify_session *s = b->t.session;
  for (; b->i < b->sums->len && s->reg && !s->dead; b->i++) {
    const cn_summary *sum = b->sums->pdata[b->i];
    gboolean important = batch_important(ctx, sum);
    gboolean *done = important ? &b->done_important : &b->done_unimportant;
    if ((*done && !sum->urgent) || sum->skip)
      continue;
    if (cn_seen_contains(ctx, sum, s->reg)) {
      CN_COUNT(ctx, CN_C_PUBLISHES_DEDUPLICATED);
      continue;
    }
    GPtrArray *covered = sum->urgent ? NULL : batch_covered(ctx, s->reg, b->sums, b->i, important);
    int rc = cn_notify_covering(ctx, s->reg, s, sum, covered);
    if (covered)
      g_ptr_array_free(covered, TRUE);
    if (rc == CN_WAIT)
      return CN_WAIT;
    batch_sent(ctx, b, sum, rc);
    if (b->done_important && b->done_unimportant && !cn_calls_remain(b->sums, b->i + 1))
      break;
  }
  return 0;
}

static int batch_run(cloudnotify_ctx *ctx, cn_task *t) {
  batch_job *b = (batch_job *)t;
  batch_sent(ctx, b, b->sums->pdata[b->i], cn_notify_resume(ctx, t));
  if (b->done_important && b->done_unimportant && !cn_calls_remain(b->sums, b->i + 1))
    return 0;
  b->i++;
  return batch_loop(ctx, b);
}

unsigned cn_notify_batch(cloudnotify_ctx *ctx, cloudnotify_session *s, GPtrArray *summaries) {
  batch_job b = { .sums = summaries };
  b.t.session = s;
  if (batch_loop(ctx, &b) != CN_WAIT)
    return b.pushes;
  /* The rest goes on when the filter answers; the caller keeps its array. */
  batch_job *j = g_new0(batch_job, 1);
  cn_task_init(&j->t, batch_run, batch_free, s->account, s);
  j->sums = g_ptr_array_new();
  for (guint i = b.i; i < summaries->len; i++)
    g_ptr_array_add(j->sums, cn_summary_copy(summaries->pdata[i]));
  j->done_important = b.done_important;
  j->done_unimportant = b.done_unimportant;
  cn_pending_wait(ctx, &j->t);
  return b.pushes;
}

/* A single push whose filter answers later (the wake-up push). */
static void single_free(cn_task *t) {
  cn_task_fini(t);
  g_free(t);
}

static int single_run(cloudnotify_ctx *ctx, cn_task *t) {
  cn_notify_resume(ctx, t);
  return 0;
}

void cn_notify_single_wait(cloudnotify_ctx *ctx, const char *account, cloudnotify_session *s) {
  cn_task *t = g_new0(cn_task, 1);
  cn_task_init(t, single_run, single_free, account, s);
  cn_pending_wait(ctx, t);
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
