/* Registration policy: see reg-policy.h.  The decisions only; the store
 * calls, parking and replies stay with the callers. */
#include "reg-policy.h"

#include <string.h>

#include "admin.h"
#include "counters.h"
#include "ctx.h"
#include "host.h"
#include "notify.h"
#include "outstanding.h"
#include "pending.h"
#include "session.h"
#include "stanza-errors.h"

static gint oldest_first(gconstpointer a, gconstpointer b) {
  const cn_reg *x = *(cn_reg *const *)a, *y = *(cn_reg *const *)b;
  return x->enabled_at < y->enabled_at ? -1 : (x->enabled_at > y->enabled_at ? 1 : 0);
}

static gint newest_first(gconstpointer a, gconstpointer b) {
  return oldest_first(b, a);
}

int64_t cn_policy_enable_time(const cn_user *u, int64_t now) {
  for (guint i = 0; i < u->regs->len; i++) {
    const cn_reg *o = u->regs->pdata[i];
    if (o->enabled_at >= now)
      /* Stored times are untrusted: one at the very end of the range
       * is tied rather than overflowed past. */
      now = o->enabled_at < INT64_MAX ? o->enabled_at + 1 : INT64_MAX;
  }
  return now;
}

/* Another registration of the same client: the one being enabled takes
 * its place (a client that moved to another node or app server). */
static gboolean same_client(const cn_reg *o, const char *jid, const char *node,
                            const char *client_id) {
  return client_id && o->client_id && !strcmp(o->client_id, client_id) &&
         (strcmp(o->jid, jid) || g_strcmp0(o->node, node));
}

void cn_policy_admit(const cloudnotify_ctx *ctx, cn_user *u, const char *jid, const char *node,
                     const char *client_id, GPtrArray *victims) {
  GPtrArray *by_age = g_ptr_array_new();
  for (guint i = 0; i < u->regs->len; i++) {
    cn_reg *o = u->regs->pdata[i];
    if (same_client(o, jid, node, client_id))
      g_ptr_array_add(victims, g_strdup(o->ident));
    else
      g_ptr_array_add(by_age, o);
  }
  if (!cn_user_find_reg(u, jid, node) && by_age->len >= (guint)ctx->opt.max_devices) {
    g_ptr_array_sort(by_age, oldest_first);
    guint surplus = by_age->len - (guint)ctx->opt.max_devices + 1;
    for (guint i = 0; i < surplus; i++)
      g_ptr_array_add(victims, g_strdup(((cn_reg *)by_age->pdata[i])->ident));
  }
  g_ptr_array_free(by_age, TRUE);
}

gboolean cn_policy_victim_optional(const cn_reg *victim, const cn_reg *r) {
  return same_client(victim, r->jid, r->node, r->client_id);
}

void cn_policy_drop_evicted(cloudnotify_ctx *ctx, cn_user *u, const GPtrArray *evicted,
                            const char *client_id) {
  for (guint i = 0; i < evicted->len; i++) {
    cn_reg *o = cn_user_find_ident(u, evicted->pdata[i]);
    if (!o)
      continue;
    gboolean replaced = client_id && !g_strcmp0(o->client_id, client_id);
    cn_policy_remove(ctx, u, o,
                     replaced ? CLOUDNOTIFY_REMOVED_CLIENT_REPLACED : CLOUDNOTIFY_REMOVED_EVICTED);
  }
}

gboolean cn_policy_install(cloudnotify_ctx *ctx, cn_user *u, cn_reg *r, const GPtrArray *evicted) {
  cn_reg *old = cn_user_find_reg(u, r->jid, r->node);
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
  cn_policy_drop_evicted(ctx, u, evicted, r->client_id);
  g_ptr_array_add(u->regs, r);
  return old != NULL;
}

gboolean cn_policy_disable_matches(const cn_reg *r, const char *jid, const char *node) {
  return !strcmp(r->jid, jid) && (!node || !g_strcmp0(r->node, node));
}

gboolean cn_policy_loaded_replaces(const cn_reg *held, const cn_reg *candidate) {
  return held->enabled_at <= candidate->enabled_at;
}

gboolean cn_policy_stored_key_stale(const cloudnotify_record *rec, const char *jid,
                                    const char *node) {
  return strcmp(rec->jid, jid) || (rec->node && !node);
}

void cn_policy_trim_loaded(cloudnotify_ctx *ctx, GPtrArray *regs, GPtrArray *kept,
                           GPtrArray *surplus) {
  g_ptr_array_sort(regs, newest_first);
  int64_t now = ctx->opt.registration_ttl ? cn_now(ctx) : 0;
  guint n = 0;
  for (guint i = 0; i < regs->len; i++) {
    cn_reg *r = regs->pdata[i];
    if (cn_policy_expired(ctx, r, now)) {
      r->leaving = CLOUDNOTIFY_REMOVED_EXPIRED;
      g_ptr_array_add(surplus, r);
    } else if (n++ < (guint)ctx->opt.max_devices) {
      g_ptr_array_add(kept, r);
    } else {
      r->leaving = CLOUDNOTIFY_REMOVED_EVICTED;
      g_ptr_array_add(surplus, r);
    }
  }
  g_ptr_array_set_size(regs, 0);
}

gboolean cn_policy_expired(const cloudnotify_ctx *ctx, const cn_reg *r, int64_t now) {
  if (!ctx->opt.registration_ttl)
    return FALSE;
  /* Stored times are untrusted: compared without overflowing. */
  int64_t ttl_ms = ctx->opt.registration_ttl * 86400 * 1000;
  return r->enabled_at < now && now - r->enabled_at > ttl_ms;
}

/* ---- back-off ----------------------------------------------------------
 * One timer per registration (r->backoff_timer) stands for the end of its
 * back-off, or for an expiry found in the push path.  When it fires with
 * the account busy, the work runs in turn behind the account's parked
 * work, naming the registration by identity. */

typedef struct {
  cn_task t;
  char *ident;
} policy_job;

static void policy_job_free(cn_task *t) {
  g_free(((policy_job *)t)->ident);
  cn_task_fini(t);
  g_free(t);
}

/* The held push goes out through the ordinary path (filter, publish,
 * outstanding table), standing for everything held. */
static void send_held(cloudnotify_ctx *ctx, cn_reg *r) {
  cn_summary *sum = g_steal_pointer(&r->held_sum);
  unsigned held = r->held;
  r->held = 0;
  if (!sum)
    return;
  cn_log_id(ctx, CLOUDNOTIFY_LOG_DEBUG, CLOUDNOTIFY_LOG_ID_PUSH_SENT,
            "back-off of %s for %s over: one push for %u held", r->jid, r->user->account, held);
  /* The gate counted the retry's stanza when it was held; the retry
   * passes the gate again and must not count it twice. */
  if (r->gate.count > 0)
    r->gate.count--;
  char *account = g_strdup(r->user->account);
  if (cn_notify(ctx, r, NULL, sum) == CN_WAIT)
    cn_notify_single_wait(ctx, account, NULL);
  g_free(account);
  cn_summary_free(sum);
}

static void policy_work_run(cloudnotify_ctx *ctx, cn_reg *r) {
  if (r->leaving == CLOUDNOTIFY_REMOVED_EXPIRED)
    cn_policy_remove_stored(ctx, r->user, r, CLOUDNOTIFY_REMOVED_EXPIRED);
  else
    send_held(ctx, r);
}

static int policy_job_run(cloudnotify_ctx *ctx, cn_task *t) {
  cn_user *u = g_hash_table_lookup(ctx->users, t->account);
  cn_reg *r = u ? cn_user_find_ident(u, ((policy_job *)t)->ident) : NULL;
  /* Gone meanwhile (disabled, removed, the account forgotten): nothing
   * left to do for it. */
  if (r && !cn_timer_armed(&r->backoff_timer))
    policy_work_run(ctx, r);
  return 0;
}

static void backoff_fire(cloudnotify_ctx *ctx, void *data) {
  cn_reg *r = data;
  if (cn_pending_busy(ctx, r->user->account)) {
    policy_job *j = g_new0(policy_job, 1);
    cn_task_init(&j->t, policy_job_run, policy_job_free, r->user->account, NULL);
    j->ident = g_strdup(r->ident);
    if (cn_pending_enqueue(ctx, &j->t))
      cn_log(ctx, CLOUDNOTIFY_LOG_WARN, "the back-off end of %s for %s was dropped", r->jid,
             r->user->account);
    return;
  }
  policy_work_run(ctx, r);
}

void cn_policy_backoff_start(cloudnotify_ctx *ctx, cn_reg *r) {
  if (!ctx->opt.backoff || r->leaving == CLOUDNOTIFY_REMOVED_EXPIRED)
    return;
  int64_t base = ctx->opt.backoff * 1000;
  r->backoff_ms = r->backoff_ms ? MIN(r->backoff_ms * 2, base * 32) : base;
  cn_timer_arm(&ctx->timers, &r->backoff_timer, cn_mono(ctx), r->backoff_ms, backoff_fire, r);
}

void cn_policy_on_publish_ok(cloudnotify_ctx *ctx, cn_reg *r) {
  if (r->errors)
    cn_reg_set_errors(ctx, r, 0);
  r->backoff_ms = 0;
  if (r->leaving == CLOUDNOTIFY_REMOVED_EXPIRED || !cn_timer_armed(&r->backoff_timer))
    return;
  cn_timer_cancel(&r->backoff_timer);
  send_held(ctx, r);
}

gboolean cn_policy_push_held(cloudnotify_ctx *ctx, cn_reg *r, const cn_summary *sum) {
  if (r->leaving == CLOUDNOTIFY_REMOVED_EXPIRED)
    return TRUE;
  if (ctx->opt.registration_ttl && cn_policy_expired(ctx, r, cn_now(ctx))) {
    /* Not removed here: the caller may be walking the registrations. */
    r->leaving = CLOUDNOTIFY_REMOVED_EXPIRED;
    cn_timer_arm(&ctx->timers, &r->backoff_timer, cn_mono(ctx), 0, backoff_fire, r);
    return TRUE;
  }
  if (!sum || sum->urgent || !cn_timer_armed(&r->backoff_timer))
    return FALSE;
  r->held++;
  /* The retry stands for the newest held stanza, an important one first,
   * so that it is as visible as the most visible push it replaces. */
  if (!r->held_sum || sum->important || !r->held_sum->important) {
    cn_summary_free(r->held_sum);
    r->held_sum = cn_summary_copy(sum);
  }
  CN_COUNT(ctx, CN_C_SUPPRESSED_BACKOFF);
  cn_log_id(ctx, CLOUDNOTIFY_LOG_DEBUG, CLOUDNOTIFY_LOG_ID_PUSH_SUPPRESSED,
            "push to %s for %s held: back-off (%u held)", r->jid, r->user->account, r->held);
  return TRUE;
}

/* ---- app-server errors ------------------------------------------------ */

gboolean cn_policy_error_counts(const char *error_type) {
  return !error_type || strcmp(error_type, "wait");
}

cloudnotify_publish_outcome cn_policy_classify_error(const cloudnotify_ctx *ctx,
                                                     const char *error_type,
                                                     const char *error_condition) {
  if (!cn_policy_error_counts(error_type))
    return CLOUDNOTIFY_PUBLISH_WAIT;
  /* A reply without a type is malformed; it counts as in 0.2. */
  if (error_type && cn_error_condition_in(ctx->opt.transient_errors, error_condition))
    return CLOUDNOTIFY_PUBLISH_TRANSIENT;
  return CLOUDNOTIFY_PUBLISH_ERROR;
}

gboolean cn_policy_on_publish_error(cloudnotify_ctx *ctx, cn_reg *r, const char *error_type,
                                    const char *error_condition) {
  cn_reg_set_errors(ctx, r, r->errors < G_MAXUINT ? r->errors + 1 : r->errors);
  r->last_error_type = error_type;
  r->last_error_condition = error_condition;
  return r->errors >= (unsigned)ctx->opt.max_errors;
}

/* ---- the client's identity --------------------------------------------- */

const char *cn_policy_identity(const cloudnotify_session *s) {
  return s->client_id ? s->client_id : s->resource;
}

static void bind_now(cloudnotify_ctx *ctx, cloudnotify_session *s, cn_user *u) {
  if (s->reg || s->dead)
    return;
  const char *id = cn_policy_identity(s);
  cn_reg *best = NULL;
  for (guint i = 0; i < u->regs->len; i++) {
    cn_reg *r = u->regs->pdata[i];
    if (r->client_id && !strcmp(r->client_id, id) && r->leaving != CLOUDNOTIFY_REMOVED_EXPIRED &&
        (!best || r->enabled_at > best->enabled_at))
      best = r;
  }
  if (!best)
    return;
  /* Attached only when bound: a session that pushes nothing does not pin
   * its account in the cache. */
  if (!s->user) {
    s->user = u;
    u->sessions = g_list_prepend(u->sessions, s);
  }
  s->reg = best;
  cn_log_id(ctx, CLOUDNOTIFY_LOG_DEBUG, CLOUDNOTIFY_LOG_ID_OTHER,
            "session %s bound to its client's registration %s", s->full, best->jid);
}

static int follow_run(cloudnotify_ctx *ctx, cn_task *t) {
  cn_user *u;
  int rc = cn_user_get(ctx, t->account, &u);
  if (rc == CN_PARKED || rc)
    return rc;
  bind_now(ctx, t->session, u);
  return 0;
}

static void follow_free(cn_task *t) {
  cn_task_fini(t);
  g_free(t);
}

int cn_policy_follow_client(cloudnotify_session *s) {
  cloudnotify_ctx *ctx = s->ctx;
  if (s->reg || s->dead)
    return 0;
  cn_task *t = g_new0(cn_task, 1);
  cn_task_init(t, follow_run, follow_free, s->account, s);
  if (cn_pending_busy(ctx, s->account))
    return cn_pending_enqueue(ctx, t);
  int rc = follow_run(ctx, t);
  if (rc == CN_PARKED) {
    cn_pending_after_load(ctx, t);
    return 0;
  }
  follow_free(t);
  /* The load's failure is logged; the session works, unbound. */
  return 0;
}

/* ---- removals -------------------------------------------------------- */

static const char *reason_name(cloudnotify_removal_reason reason) {
  switch (reason) {
  case CLOUDNOTIFY_REMOVED_DISABLED: return "disabled";
  case CLOUDNOTIFY_REMOVED_ERRORS: return "app-server errors";
  case CLOUDNOTIFY_REMOVED_EVICTED: return "evicted (push_max_devices)";
  case CLOUDNOTIFY_REMOVED_ACCOUNT: return "account removed";
  case CLOUDNOTIFY_REMOVED_REMOTE: return "disabled by the app server";
  case CLOUDNOTIFY_REMOVED_EXPIRED: return "expired (push_registration_ttl)";
  case CLOUDNOTIFY_REMOVED_CLIENT_REPLACED: return "replaced by the same client";
  }
  return "unknown";
}

void cn_policy_report_removed(cloudnotify_ctx *ctx, const char *account, const cn_reg *r,
                              cloudnotify_removal_reason reason) {
  if (reason != CLOUDNOTIFY_REMOVED_DISABLED)
    cn_log_id(ctx, CLOUDNOTIFY_LOG_INFO, CLOUDNOTIFY_LOG_ID_REGISTRATION_REMOVED,
              "registration %s%s%s of %s removed: %s", r->jid, r->node ? " node " : "",
              r->node ? r->node : "", account, reason_name(reason));
  cn_cb_removed(ctx, account, r, reason);
}

void cn_policy_remove(cloudnotify_ctx *ctx, cn_user *u, cn_reg *r,
                      cloudnotify_removal_reason reason) {
  cn_sessions_unbind_reg(ctx, u, r);
  cn_outstanding_forget(ctx, u->account, r->ident);
  g_ptr_array_remove(u->regs, r);
  if (reason)
    cn_policy_report_removed(ctx, u->account, r, reason);
  cn_reg_free(r);
}

/* A removal whose store write is answered later. */
typedef struct {
  cn_task t;
  char *ident;
  cloudnotify_removal_reason reason;
} remove_job;

static void remove_job_free(cn_task *t) {
  g_free(((remove_job *)t)->ident);
  cn_task_fini(t);
  g_free(t);
}

static int remove_job_run(cloudnotify_ctx *ctx, cn_task *t) {
  remove_job *j = (remove_job *)t;
  int rc = cn_store_checked(ctx, "removing", t->account, cn_task_answer(t, NULL, NULL));
  cn_user *u = g_hash_table_lookup(ctx->users, t->account);
  cn_reg *r = u ? cn_user_find_ident(u, j->ident) : NULL;
  if (rc == 0 && r)
    cn_policy_remove(ctx, u, r, j->reason);
  else if (r && r->leaving == CLOUDNOTIFY_REMOVED_EXPIRED)
    r->leaving = 0; /* found again at the next push or load */
  return rc;
}

int cn_policy_remove_stored(cloudnotify_ctx *ctx, cn_user *u, cn_reg *r,
                            cloudnotify_removal_reason reason) {
  int rc = cn_store_remove(ctx, u->account, r->jid, r->node);
  if (rc == CN_WAIT) {
    remove_job *j = g_new0(remove_job, 1);
    cn_task_init(&j->t, remove_job_run, remove_job_free, u->account, NULL);
    j->t.survives_session = TRUE;
    j->ident = g_strdup(r->ident);
    j->reason = reason;
    cn_pending_wait(ctx, &j->t);
    return 0;
  }
  if (rc) {
    if (r->leaving == CLOUDNOTIFY_REMOVED_EXPIRED)
      r->leaving = 0;
    return rc;
  }
  cn_policy_remove(ctx, u, r, reason);
  return 0;
}

void cn_policy_rebind(cloudnotify_ctx *ctx, cn_user *old, cn_user *fresh) {
  for (guint i = 0; i < old->regs->len; i++) {
    cn_reg *r = old->regs->pdata[i];
    cn_reg *nr = cn_user_find_reg(fresh, r->jid, r->node);
    /* The same registration (not one enabled again elsewhere) keeps the
     * count the store could not hold. */
    if (nr && !ctx->store.set_errors && nr->enabled_at == r->enabled_at)
      nr->errors = r->errors;
    if (nr) {
      for (GList *l = old->sessions; l; l = l->next) {
        cloudnotify_session *s = l->data;
        if (s->reg == r)
          s->reg = nr;
      }
      continue;
    }
    /* Gone from the store: its sessions stop pushing, and a late reply
     * must not count against a registration enabled again later. */
    cn_sessions_unbind_reg(ctx, old, r);
    cn_outstanding_forget(ctx, old->account, r->ident);
  }
  for (GList *l = old->sessions; l; l = l->next)
    ((cloudnotify_session *)l->data)->user = fresh;
  fresh->sessions = g_list_concat(fresh->sessions, old->sessions);
  old->sessions = NULL;
  cn_user_free(old);
}
