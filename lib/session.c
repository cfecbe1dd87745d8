/* Client sessions and the stream-management triggers: hibernation,
 * stanzas queued while hibernated (coalesced), overdue acks, and the
 * extended hibernation timeout. */
#include "session.h"

#include <string.h>

#include "admin.h"
#include "calls.h"
#include "ctx.h"
#include "host.h"
#include "jid.h"
#include "notify.h"
#include "pending.h"
#include "push-gate.h"
#include "reg-policy.h"
#include "registry.h"
#include "rules.h"
#include "tree.h"

static void summaries_free(GPtrArray *a) {
  for (guint i = 0; i < a->len; i++)
    cn_summary_free(a->pdata[i]);
  g_ptr_array_set_size(a, 0);
}

static void unacked_clear(cloudnotify_session *s) {
  cn_summary *sum;
  while ((sum = g_queue_pop_head(&s->unacked)))
    cn_summary_free(sum);
}

/* Forget everything pending for the session's push: used when its
 * registration goes, and when the session resumes or closes. */
static void session_stop_work(cloudnotify_ctx *ctx, cloudnotify_session *s) {
  cn_timer_cancel(&s->coalesce_timer);
  cn_timer_cancel(&s->ack_timer);
  cn_timer_cancel(&s->wake_timer);
  summaries_free(s->pending);
  unacked_clear(s);
}

int cloudnotify_session_new(cloudnotify_ctx *ctx, const char *account, const char *resource,
                            cloudnotify_session **out) {
  if (out)
    *out = NULL;
  if (!ctx || !account || !resource || !out)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  char *bare = cn_account_normalize(account);
  if (!bare)
    return cn_leave(ctx, CLOUDNOTIFY_ERR_JID_MALFORMED);
  char *text = g_strconcat(bare, "/", resource, NULL);
  cn_jid full;
  int rc = cn_jid_parse(text, strlen(text), &full);
  g_free(text);
  if (rc) {
    g_free(bare);
    return cn_leave(ctx, CLOUDNOTIFY_ERR_JID_MALFORMED);
  }
  cloudnotify_session *s = g_new0(cloudnotify_session, 1);
  s->ctx = ctx;
  s->account = bare;
  s->resource = g_steal_pointer(&full.resource);
  s->full = g_steal_pointer(&full.full);
  cn_jid_clear(&full);
  s->state = CN_SESSION_LIVE;
  s->pending = g_ptr_array_new();
  g_queue_init(&s->unacked);
  ctx->sessions = g_list_prepend(ctx->sessions, s);
  s->ctx_link = ctx->sessions;
  *out = s;
  /* The registration follows the client (reg-policy.c); a refusal (BUSY)
   * only leaves the session unbound. */
  cn_policy_follow_client(s);
  return cn_leave(ctx, 0);
}

static void session_destroy(cloudnotify_ctx *ctx, cloudnotify_session *s) {
  session_stop_work(ctx, s);
  cn_gate_session_gone(s);
  g_ptr_array_free(s->pending, TRUE);
  if (s->user) {
    s->user->sessions = g_list_remove(s->user->sessions, s);
    cn_user_unpinned(ctx, s->user);
  }
  ctx->sessions = g_list_delete_link(ctx->sessions, s->ctx_link);
  if (s->dead)
    ctx->doomed = g_list_remove(ctx->doomed, s);
  /* Its parked work goes (a store write in flight is finished without
   * it).  This may run the account's later work, which must no longer
   * see the session: hence after the unlinking above.  A session freed
   * from a callback gets here when it is reaped, at the end of the
   * outermost call. */
  if (!ctx->destroying)
    cn_pending_session_gone(ctx, s);
  g_free(s->account);
  g_free(s->resource);
  g_free(s->full);
  g_free(s->client_id);
  g_free(s);
}

void cloudnotify_session_free(cloudnotify_session *s) {
  if (!s)
    return;
  cloudnotify_ctx *ctx = s->ctx;
  if (ctx->in_callback && !ctx->destroying) {
    /* The call reporting on the session may still be walking the lists
     * that hold it (or its queue): it only stops here, and is freed on
     * the way out of the outermost call. */
    if (s->dead)
      return;
    s->dead = TRUE;
    cn_timer_cancel(&s->coalesce_timer);
    cn_timer_cancel(&s->ack_timer);
    cn_timer_cancel(&s->wake_timer);
    ctx->doomed = g_list_prepend(ctx->doomed, s);
    return;
  }
  ctx->depth++;
  session_destroy(ctx, s);
  cn_users_trim(ctx);
  cn_leave(ctx, 0);
}

void cn_sessions_reap(cloudnotify_ctx *ctx) {
  if (!ctx->doomed)
    return;
  while (ctx->doomed)
    session_destroy(ctx, ctx->doomed->data);
  cn_users_trim(ctx);
}

int cloudnotify_session_has_push(const cloudnotify_session *s) {
  return s && s->reg && !s->dead;
}

int cloudnotify_session_set_client_id(cloudnotify_session *s, const char *id) {
  if (!s)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(s->ctx);
  int rc = cn_client_id_check(id);
  if (rc == 0) {
    g_free(s->client_id);
    s->client_id = g_strdup(id);
    cn_policy_follow_client(s);
  }
  return cn_leave(s->ctx, rc);
}

const char *cloudnotify_session_client_id(const cloudnotify_session *s) {
  return s ? s->client_id : NULL;
}

void cloudnotify_session_set_user_data(cloudnotify_session *s, void *user_data) {
  if (s)
    s->user_data = user_data;
}

void *cloudnotify_session_get_user_data(const cloudnotify_session *s) {
  return s ? s->user_data : NULL;
}

const char *cloudnotify_session_account(const cloudnotify_session *s) {
  return s ? s->account : NULL;
}

const char *cloudnotify_session_resource(const cloudnotify_session *s) {
  return s ? s->resource : NULL;
}

int cn_session_attach(cloudnotify_session *s) {
  if (s->user)
    return 0;
  cn_user *u;
  int rc = cn_user_get(s->ctx, s->account, &u);
  if (rc)
    return rc;
  s->user = u;
  u->sessions = g_list_prepend(u->sessions, s);
  return 0;
}

void cn_sessions_unbind_reg(cloudnotify_ctx *ctx, cn_user *u, cn_reg *r) {
  for (GList *l = u->sessions; l; l = l->next) {
    cloudnotify_session *s = l->data;
    if (s->reg != r)
      continue;
    s->reg = NULL;
    session_stop_work(ctx, s);
    if (s->extended) {
      s->extended = FALSE;
      cn_cb_hibernation_timeout(ctx, s, -1);
    }
  }
}

void cn_session_pushed(cloudnotify_ctx *ctx, cloudnotify_session *s, gboolean important) {
  if (s->state != CN_SESSION_HIBERNATED || !s->extended || !important)
    return;
  /* The device has been told; from here the normal timeout applies, as
   * the reference does after its first important push. */
  s->extended = FALSE;
  cn_timer_cancel(&s->wake_timer);
  cn_cb_hibernation_timeout(ctx, s, -1);
}

/* Summaries of a stanza array; stanzas that do not parse are skipped
 * (they were delivered by the host, so they are not an attack on us, but
 * they cannot be classified). */
static void summarize_array(cloudnotify_session *s, const cloudnotify_buf *queue,
                            const cloudnotify_tree *trees, size_t n, GPtrArray *out) {
  for (size_t i = 0; i < n; i++) {
    cn_summary *sum = g_new0(cn_summary, 1);
    cn_input in = { queue ? queue[i].data : NULL, queue ? queue[i].len : 0,
                    trees ? &trees[i] : NULL };
    if ((trees ? cn_tree_check(in.tree) != 0 : !in.xml) ||
        cn_summarize_input(s->ctx, s->account, &in, sum) != 0) {
      cn_log_id(s->ctx, CLOUDNOTIFY_LOG_WARN, CLOUDNOTIFY_LOG_ID_QUEUED_UNPARSABLE,
                "skipping an unparsable queued stanza of %s", s->full);
      g_free(sum);
      continue;
    }
    if (cn_quiet_drop(s->ctx, sum)) {
      cn_summary_free(sum);
      continue;
    }
    g_ptr_array_add(out, sum);
  }
}

/* What goes when a session's queue is over push_max_session_queue: what
 * can never be pushed first, then unimportant stanzas, then important
 * ones, oldest first within each, but never the last stanza of a kind
 * (a batch gives at most one important and one unimportant push, decided
 * by the first of each kind).  The tally is fed the queue in order. */
typedef struct {
  guint count[3];    /* by kind: skip, unimportant, important */
  gpointer first[3]; /* the oldest of each kind (an index + 1, or a link) */
} overflow_tally;

static gboolean tally_add(overflow_tally *t, const cn_summary *sum, gpointer ref) {
  int kind = sum->skip ? 0 : (sum->important ? 2 : 1);
  if (!t->count[kind]++)
    t->first[kind] = ref;
  return kind == 0; /* nothing beats a stanza that is never pushed */
}

static gpointer tally_victim(const overflow_tally *t) {
  if (t->count[0])
    return t->first[0];
  if (t->count[1] > 1 || t->count[2] == 0)
    return t->first[1];
  if (t->count[2] > 1)
    return t->first[2];
  /* One of each and a bound of 1: the important one decides more. */
  return t->first[1];
}

/* Add sum to a session queue, then bring it back under the bound (a
 * while: the bound may have been lowered since). */
static void pending_push(cloudnotify_ctx *ctx, GPtrArray *a, cn_summary *sum) {
  g_ptr_array_add(a, sum);
  while (a->len > (guint)ctx->opt.max_session_queue) {
    overflow_tally t = { { 0 }, { NULL } };
    for (guint i = 0; i < a->len; i++)
      if (tally_add(&t, a->pdata[i], GUINT_TO_POINTER(i + 1)))
        break;
    guint victim = GPOINTER_TO_UINT(tally_victim(&t)) - 1;
    cn_summary_free(a->pdata[victim]);
    g_ptr_array_remove_index(a, victim);
  }
}

static void unacked_push(cloudnotify_ctx *ctx, GQueue *q, cn_summary *sum) {
  g_queue_push_tail(q, sum);
  while (q->length > (guint)ctx->opt.max_session_queue) {
    overflow_tally t = { { 0 }, { NULL } };
    for (GList *l = q->head; l; l = l->next)
      if (tally_add(&t, l->data, l))
        break;
    /* Entries stay in sequence order whichever goes, as acked() needs. */
    GList *victim = tally_victim(&t);
    cn_summary_free(victim->data);
    g_queue_delete_link(q, victim);
  }
}

static unsigned push_unacked_or(cloudnotify_session *s, const cloudnotify_buf *queue,
                                const cloudnotify_tree *trees, size_t n) {
  GPtrArray *batch = g_ptr_array_new();
  if (n) {
    summarize_array(s, queue, trees, n, batch);
    unsigned pushes = cn_notify_batch(s->ctx, s, batch);
    summaries_free(batch);
    g_ptr_array_free(batch, TRUE);
    return pushes;
  }
  for (GList *l = s->unacked.head; l; l = l->next)
    g_ptr_array_add(batch, l->data);
  unsigned pushes = cn_notify_batch(s->ctx, s, batch);
  g_ptr_array_free(batch, TRUE);
  return pushes;
}

/* Session events and timers that come while the account's work is
 * parked are replayed in order behind it (pending.h).  A replay keeps
 * text: stanzas given as trees (borrowed for the call only) are kept as
 * the serialisation of the documents they convert into. */
enum {
  EV_HIBERNATED,
  EV_QUEUED,
  EV_ACK_REQUESTED,
  EV_ACKED,
  EV_ACK_DELAYED,
  EV_RESUMED,
  EV_TIMER,
  EV_ACTIVE,
};

static int hibernated_impl(cloudnotify_session *s, const cloudnotify_buf *queue,
                           const cloudnotify_tree *trees, size_t n);
static int queued_impl(cloudnotify_session *s, const cn_input *in);
static int ack_requested_impl(cloudnotify_session *s);
static int acked_impl(cloudnotify_session *s, uint32_t h);
static int ack_delayed_impl(cloudnotify_session *s, const cloudnotify_buf *queue,
                            const cloudnotify_tree *trees, size_t n);
static int resumed_impl(cloudnotify_session *s);
static int active_impl(cloudnotify_session *s);

static int event_replay(cloudnotify_ctx *ctx, cn_replay *r) {
  cloudnotify_session *s = r->t.session;
  cn_input in = { r->xml, r->len, NULL };
  switch (r->kind) {
  case EV_HIBERNATED: return hibernated_impl(s, r->bufs, NULL, r->n);
  case EV_QUEUED: return queued_impl(s, &in);
  case EV_ACK_REQUESTED: return ack_requested_impl(s);
  case EV_ACKED: return acked_impl(s, r->h);
  case EV_ACK_DELAYED: return ack_delayed_impl(s, r->bufs, NULL, r->n);
  case EV_RESUMED: return resumed_impl(s);
  case EV_ACTIVE: return active_impl(s);
  default: r->timer_fn(ctx, s); return 0;
  }
}

/* A timer of s fired while its account is busy: run it in turn. */
static gboolean timer_parked(cloudnotify_session *s, cn_timer_fn fn) {
  int rc;
  return cn_pending_session_event(s, event_replay, EV_TIMER, NULL, 0, NULL, 0, 0, fn, &rc);
}

/* Trees as text for a replay: a tree that does not convert is kept as a
 * NULL entry, skipped as unparsable when replayed, as it would have been
 * now.  Free with trees_text_free. */
static cloudnotify_buf *trees_text(cloudnotify_session *s, const cloudnotify_tree *trees,
                                   size_t n) {
  cloudnotify_buf *bufs = g_new0(cloudnotify_buf, n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    cn_input in = { NULL, 0, &trees[i] };
    xmlDoc *doc;
    if (cn_tree_check(in.tree) || cn_input_parse(s->ctx, &in, &doc))
      continue;
    GString *tmp;
    size_t len;
    cn_input_text(&in, doc, &tmp, &len);
    xmlFreeDoc(doc);
    bufs[i].len = tmp->len;
    bufs[i].data = g_string_free(tmp, FALSE);
  }
  return bufs;
}

static void trees_text_free(cloudnotify_buf *bufs, size_t n) {
  for (size_t i = 0; i < n; i++)
    g_free((char *)bufs[i].data);
  g_free(bufs);
}

/* Park a session event carrying a stanza array given as buffers or trees
 * when the account is busy: TRUE when parked, *rc then the answer. */
static gboolean array_parked(cloudnotify_session *s, int kind, const cloudnotify_buf *queue,
                             const cloudnotify_tree *trees, size_t n, int *rc) {
  if (!cn_pending_busy(s->ctx, s->account))
    return FALSE;
  if (!trees)
    return cn_pending_session_event(s, event_replay, kind, NULL, 0, queue, n, 0, NULL, rc);
  cloudnotify_buf *bufs = trees_text(s, trees, n);
  gboolean parked = cn_pending_session_event(s, event_replay, kind, NULL, 0, bufs, n, 0, NULL, rc);
  trees_text_free(bufs, n);
  return parked;
}

static void wake_run(cloudnotify_ctx *ctx, void *data) {
  cloudnotify_session *s = data;
  if (s->reg && s->state == CN_SESSION_HIBERNATED && cn_notify(ctx, s->reg, s, NULL) == CN_WAIT)
    cn_notify_single_wait(ctx, s->account, s);
}

/* The timers' functions: run now, or in turn with what is parked (the
 * replay calls the run function itself). */
static void wake_fire(cloudnotify_ctx *ctx, void *data) {
  if (!timer_parked(data, wake_run))
    wake_run(ctx, data);
}

/* Not parked: it only says what the host's stream does, and the calls it
 * gates decide at once whether they are refused. */
int cloudnotify_session_sm_enabled(cloudnotify_session *s) {
  if (!s)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(s->ctx);
  s->sm = TRUE;
  return cn_leave(s->ctx, 0);
}

static int hibernated(cloudnotify_session *s, const cloudnotify_buf *queue,
                      const cloudnotify_tree *trees, size_t n) {
  cloudnotify_ctx *ctx = s->ctx;
  CN_ENTER(ctx);
  if (!s->sm)
    return cn_leave(ctx, CLOUDNOTIFY_ERR_STATE);
  int rc;
  if (array_parked(s, EV_HIBERNATED, queue, trees, n, &rc))
    return cn_leave(ctx, rc);
  return cn_leave(ctx, hibernated_impl(s, queue, trees, n));
}

int cloudnotify_session_hibernated(cloudnotify_session *s, const cloudnotify_buf *queue, size_t n) {
  if (!s || (n && !queue))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  return hibernated(s, queue, NULL, n);
}

int cloudnotify_session_hibernated_tree(cloudnotify_session *s, const cloudnotify_tree *queue,
                                        size_t n) {
  if (!s || (n && !queue))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  return hibernated(s, NULL, queue, n);
}

static int hibernated_impl(cloudnotify_session *s, const cloudnotify_buf *queue,
                           const cloudnotify_tree *trees, size_t n) {
  cloudnotify_ctx *ctx = s->ctx;
  if (s->state == CN_SESSION_HIBERNATED)
    return CLOUDNOTIFY_ERR_STATE;
  s->state = CN_SESSION_HIBERNATED;
  cn_timer_cancel(&s->ack_timer);
  if (!s->reg)
    return 0;
  if (ctx->opt.max_hibernation_timeout > 0) {
    s->extended = TRUE;
    cn_cb_hibernation_timeout(ctx, s, ctx->opt.max_hibernation_timeout);
    int64_t wake = ctx->opt.wake_before_expiry;
    if (wake > 0 && wake < ctx->opt.max_hibernation_timeout)
      cn_timer_arm(&ctx->timers, &s->wake_timer, cn_mono(ctx),
                   (ctx->opt.max_hibernation_timeout - wake) * 1000, wake_fire, s);
  }
  push_unacked_or(s, queue, trees, n);
  unacked_clear(s);
  return 0;
}

static void coalesce_run(cloudnotify_ctx *ctx, void *data) {
  cloudnotify_session *s = data;
  cn_notify_batch(ctx, s, s->pending);
  summaries_free(s->pending);
}

static void coalesce_fire(cloudnotify_ctx *ctx, void *data) {
  if (!timer_parked(data, coalesce_run))
    coalesce_run(ctx, data);
}

static void ack_run(cloudnotify_ctx *ctx, void *data) {
  cloudnotify_session *s = data;
  cn_log_id(ctx, CLOUDNOTIFY_LOG_DEBUG, CLOUDNOTIFY_LOG_ID_ACK_OVERDUE, "ack of %s overdue",
            s->full);
  push_unacked_or(s, NULL, NULL, 0);
}

static void ack_fire(cloudnotify_ctx *ctx, void *data) {
  if (!timer_parked(data, ack_run))
    ack_run(ctx, data);
}

static int queued(cloudnotify_session *s, const cn_input *in) {
  cloudnotify_ctx *ctx = s->ctx;
  CN_ENTER(ctx);
  if (!s->sm)
    return cn_leave(ctx, CLOUDNOTIFY_ERR_STATE);
  int rc;
  if (!in->tree) {
    if (cn_pending_session_event(s, event_replay, EV_QUEUED, in->xml, in->len, NULL, 0, 0, NULL,
                                 &rc))
      return cn_leave(ctx, rc);
  } else if (cn_pending_busy(ctx, s->account)) {
    xmlDoc *doc;
    rc = cn_input_parse(ctx, in, &doc);
    if (rc)
      return cn_leave(ctx, rc);
    GString *tmp;
    size_t len;
    cn_input_text(in, doc, &tmp, &len);
    xmlFreeDoc(doc);
    cn_pending_session_event(s, event_replay, EV_QUEUED, tmp->str, tmp->len, NULL, 0, 0, NULL, &rc);
    g_string_free(tmp, TRUE);
    return cn_leave(ctx, rc);
  }
  return cn_leave(ctx, queued_impl(s, in));
}

static int queued_impl(cloudnotify_session *s, const cn_input *in) {
  cloudnotify_ctx *ctx = s->ctx;
  if (s->state == CN_SESSION_LIVE)
    s->sent++;
  /* A session without push costs one branch per stanza. */
  if (!s->reg)
    return 0;
  cn_summary *sum = g_new0(cn_summary, 1);
  int rc = cn_summarize_input(ctx, s->account, in, sum);
  if (rc) {
    g_free(sum);
    return rc;
  }
  if (cn_quiet_drop(ctx, sum) || (s->state != CN_SESSION_LIVE && sum->urgent)) {
    /* Nothing to see; or a call, which rings now, not after the window. */
    if (sum->urgent)
      cn_calls_session_push(ctx, s, sum);
    cn_summary_free(sum);
    return 0;
  }
  if (s->state == CN_SESSION_LIVE) {
    sum->seq = s->sent;
    unacked_push(ctx, &s->unacked, sum);
    return 0;
  }
  pending_push(ctx, s->pending, sum);
  if (ctx->opt.coalesce_ms == 0)
    coalesce_run(ctx, s);
  else if (!cn_timer_armed(&s->coalesce_timer))
    cn_timer_arm(&ctx->timers, &s->coalesce_timer, cn_mono(ctx), ctx->opt.coalesce_ms,
                 coalesce_fire, s);
  return 0;
}

int cloudnotify_session_queued(cloudnotify_session *s, const char *xml, size_t len) {
  if (!s || !xml)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  cn_input in = { xml, len, NULL };
  return queued(s, &in);
}

int cloudnotify_session_queued_tree(cloudnotify_session *s, const cloudnotify_tree *tree) {
  int rc = s ? cn_tree_check(tree) : CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (rc)
    return rc;
  cn_input in = { NULL, 0, tree };
  return queued(s, &in);
}

int cloudnotify_session_ack_requested(cloudnotify_session *s) {
  if (!s)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  cloudnotify_ctx *ctx = s->ctx;
  CN_ENTER(ctx);
  if (!s->sm)
    return cn_leave(ctx, CLOUDNOTIFY_ERR_STATE);
  int rc;
  if (cn_pending_session_event(s, event_replay, EV_ACK_REQUESTED, NULL, 0, NULL, 0, 0, NULL, &rc))
    return cn_leave(ctx, rc);
  return cn_leave(ctx, ack_requested_impl(s));
}

static int ack_requested_impl(cloudnotify_session *s) {
  cloudnotify_ctx *ctx = s->ctx;
  /* The clock runs from the oldest unanswered request. */
  if (s->reg && s->state == CN_SESSION_LIVE && !cn_timer_armed(&s->ack_timer) &&
      s->unacked.length) {
    s->ack_target = s->sent;
    cn_timer_arm(&ctx->timers, &s->ack_timer, cn_mono(ctx), ctx->opt.max_ack_delay * 1000, ack_fire,
                 s);
  }
  return 0;
}

int cloudnotify_session_acked(cloudnotify_session *s, uint32_t h) {
  if (!s)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  cloudnotify_ctx *ctx = s->ctx;
  CN_ENTER(ctx);
  if (!s->sm)
    return cn_leave(ctx, CLOUDNOTIFY_ERR_STATE);
  int rc;
  if (cn_pending_session_event(s, event_replay, EV_ACKED, NULL, 0, NULL, 0, h, NULL, &rc))
    return cn_leave(ctx, rc);
  return cn_leave(ctx, acked_impl(s, h));
}

static int acked_impl(cloudnotify_session *s, uint32_t h) {
  s->acked = h;
  cn_summary *sum;
  /* Serial-number arithmetic: h wraps at 2^32 (XEP-0198). */
  while ((sum = g_queue_peek_head(&s->unacked)) && (int32_t)(sum->seq - h) <= 0)
    cn_summary_free(g_queue_pop_head(&s->unacked));
  if (cn_timer_armed(&s->ack_timer) && (int32_t)(h - s->ack_target) >= 0)
    cn_timer_cancel(&s->ack_timer);
  return 0;
}

static int ack_delayed(cloudnotify_session *s, const cloudnotify_buf *queue,
                       const cloudnotify_tree *trees, size_t n) {
  cloudnotify_ctx *ctx = s->ctx;
  CN_ENTER(ctx);
  if (!s->sm)
    return cn_leave(ctx, CLOUDNOTIFY_ERR_STATE);
  int rc;
  if (array_parked(s, EV_ACK_DELAYED, queue, trees, n, &rc))
    return cn_leave(ctx, rc);
  return cn_leave(ctx, ack_delayed_impl(s, queue, trees, n));
}

int cloudnotify_session_ack_delayed(cloudnotify_session *s, const cloudnotify_buf *queue,
                                    size_t n) {
  if (!s || (n && !queue))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  return ack_delayed(s, queue, NULL, n);
}

int cloudnotify_session_ack_delayed_tree(cloudnotify_session *s, const cloudnotify_tree *queue,
                                         size_t n) {
  if (!s || (n && !queue))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  return ack_delayed(s, NULL, queue, n);
}

static int ack_delayed_impl(cloudnotify_session *s, const cloudnotify_buf *queue,
                            const cloudnotify_tree *trees, size_t n) {
  if (s->reg)
    push_unacked_or(s, queue, trees, n);
  return 0;
}

int cloudnotify_session_resumed(cloudnotify_session *s) {
  if (!s)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  cloudnotify_ctx *ctx = s->ctx;
  CN_ENTER(ctx);
  int rc;
  if (cn_pending_session_event(s, event_replay, EV_RESUMED, NULL, 0, NULL, 0, 0, NULL, &rc))
    return cn_leave(ctx, rc);
  return cn_leave(ctx, resumed_impl(s));
}

static int resumed_impl(cloudnotify_session *s) {
  cloudnotify_ctx *ctx = s->ctx;
  if (s->state != CN_SESSION_HIBERNATED)
    return CLOUDNOTIFY_ERR_STATE;
  s->state = CN_SESSION_LIVE;
  s->extended = FALSE;
  /* Stanzas still unacknowledged are resent by the host on resumption
   * and reported again through queued. */
  session_stop_work(ctx, s);
  s->sent = s->acked;
  /* The device is back: what it was told it has now seen. */
  if (s->reg)
    cn_gate_reset_count(s->reg);
  return 0;
}

/* ---- activity (issue 11: grace period, counts) ----------------------- */

static int active_impl(cloudnotify_session *s) {
  cloudnotify_ctx *ctx = s->ctx;
  if (s->dead)
    return 0;
  if (s->reg)
    cn_gate_reset_count(s->reg);
  /* Without a grace period nothing else is kept: no load, no pinning. */
  if (ctx->opt.grace_period <= 0)
    return 0;
  int rc = cn_session_attach(s);
  if (rc)
    return rc;
  cn_gate_session_active(ctx, s);
  return 0;
}

int cloudnotify_session_active(cloudnotify_session *s) {
  if (!s)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  cloudnotify_ctx *ctx = s->ctx;
  CN_ENTER(ctx);
  int rc;
  if (cn_pending_session_event(s, event_replay, EV_ACTIVE, NULL, 0, NULL, 0, 0, NULL, &rc))
    return cn_leave(ctx, rc);
  rc = active_impl(s);
  if (rc == CN_PARKED) {
    /* The account is being loaded: recorded behind the load. */
    cn_replay *r =
        cn_replay_new(s->account, s, event_replay, EV_ACTIVE, NULL, 0, NULL, NULL, 0, NULL, 0);
    cn_pending_after_load(ctx, &r->t);
    rc = 0;
  }
  return cn_leave(ctx, rc);
}
