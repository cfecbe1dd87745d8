/* Counts and clearing (issue 11): the host reports that the account's
 * client fetched its offline messages.  The message counts of the
 * account's registrations start again, and with push_clear_on_fetch each
 * registration whose device is not connected gets one push saying
 * message-count 0, so that its app can clear the badge.  Parked behind a
 * busy account as cloudnotify_ping is (triggers.c). */
#include "counters.h"
#include "ctx.h"
#include "notify.h"
#include "pending.h"
#include "push-gate.h"
#include "registry.h"
#include "session.h"

/* The device behind r is connected: a live session is bound to it (a
 * hibernated one is not: its phone is asleep and keeps its badge). */
static gboolean connected(const cn_user *u, const cn_reg *r) {
  for (const GList *l = u->sessions; l; l = l->next) {
    const cloudnotify_session *s = l->data;
    if (s->reg == r && s->state == CN_SESSION_LIVE && !s->dead)
      return TRUE;
  }
  return FALSE;
}

/* The loop over the account's registrations, parked when the
 * notification filter answers later. */
typedef struct {
  cn_task t;
  guint i;
  unsigned sent;
} clear_job;

/* One badge clear to r: cn_notify's answer (1 sent, 0 not, CN_WAIT). */
static int clear_one(cloudnotify_ctx *ctx, cn_reg *r) {
  /* Read by push-gate.c when the push is built, within this call. */
  r->gate.clearing = TRUE;
  int rc = cn_notify(ctx, r, NULL, NULL);
  r->gate.clearing = FALSE;
  return rc;
}

static int clear_loop(cloudnotify_ctx *ctx, cn_user *u, clear_job *J) {
  for (; J->i < u->regs->len; J->i++) {
    cn_reg *r = u->regs->pdata[J->i];
    if (connected(u, r))
      continue;
    int rc = clear_one(ctx, r);
    if (rc == CN_WAIT)
      return CN_WAIT;
    J->sent += rc;
  }
  return 0;
}

static void clear_free(cn_task *t) {
  cn_task_fini(t);
  g_free(t);
}

static int clear_run(cloudnotify_ctx *ctx, cn_task *t) {
  clear_job *J = (clear_job *)t;
  J->sent += cn_notify_resume(ctx, t);
  cn_user *u = g_hash_table_lookup(ctx->users, t->account);
  J->i++;
  return u ? clear_loop(ctx, u, J) : 0;
}

/* The work; CN_PARKED when the load answers later. */
static int fetched_impl(cloudnotify_ctx *ctx, const char *account, unsigned *pushes) {
  cn_user *u;
  int rc = cn_user_get_input(ctx, account, &u);
  if (rc)
    return rc;
  for (guint i = 0; i < u->regs->len; i++)
    cn_gate_reset_count(u->regs->pdata[i]);
  if (!ctx->opt.clear_on_fetch)
    return 0;
  clear_job J = { .i = 0 };
  if (clear_loop(ctx, u, &J) == CN_WAIT) {
    clear_job *j = g_new0(clear_job, 1);
    *j = J;
    cn_task_init(&j->t, clear_run, clear_free, u->account, NULL);
    cn_pending_wait(ctx, &j->t);
  }
  if (pushes)
    *pushes = J.sent;
  return 0;
}

static int fetched_replay(cloudnotify_ctx *ctx, cn_replay *r) {
  return fetched_impl(ctx, r->t.account, NULL);
}

static int fetched_park(cloudnotify_ctx *ctx, const char *account, gboolean after_load) {
  char *bare = cn_account_normalize(account);
  if (!bare)
    return CLOUDNOTIFY_ERR_JID_MALFORMED;
  cn_replay *r = cn_replay_new(bare, NULL, fetched_replay, 0, NULL, 0, NULL, NULL, 0, NULL, 0);
  g_free(bare);
  if (!after_load)
    return cn_pending_enqueue(ctx, &r->t);
  cn_pending_after_load(ctx, &r->t);
  return 0;
}

int cloudnotify_offline_fetched(cloudnotify_ctx *ctx, const char *account, unsigned *pushes) {
  if (pushes)
    *pushes = 0;
  if (!ctx || !account)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  if (cn_pending_busy(ctx, account))
    return cn_leave(ctx, fetched_park(ctx, account, FALSE));
  int rc = fetched_impl(ctx, account, pushes);
  if (rc == CN_PARKED)
    rc = fetched_park(ctx, account, TRUE);
  return cn_leave(ctx, rc);
}
