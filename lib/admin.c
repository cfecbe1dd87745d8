/* Administration of an account's registrations from the host's side:
 * listing them, removing them all (the account was deleted), forgetting
 * the cached copy when the store changed behind the library, and keeping
 * the consecutive error counts in the store. */
#include "admin.h"

#include <string.h>

#include "ctx.h"
#include "host.h"
#include "pending.h"
#include "reg-policy.h"
#include "registry.h"
#include "xml.h"

void cn_reg_set_errors(cloudnotify_ctx *ctx, cn_reg *r, unsigned errors) {
  r->errors = errors;
  if (!ctx->store.set_errors)
    return;
  /* Never waited for, so never an op: nothing depends on the answer (the
   * count in memory is right whatever the store does), and a reply must
   * not park the account behind a write that changes no decision. */
  ctx->in_callback++;
  int rc = ctx->store.set_errors(ctx->store_data, r->user->account, r->jid, r->node, errors);
  ctx->in_callback--;
  /* The count in memory is still right; the store catches up at the
   * next change, or the count restarts from what it holds.  Counted and
   * logged like every other store failure. */
  if (rc != CLOUDNOTIFY_PENDING)
    cn_store_checked(ctx, "saving the error count of", r->user->account, rc);
}

int cn_client_id_check(const char *id) {
  if (!id)
    return 0;
  if (!*id)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  /* Bounded before it is scanned: the host may hand over anything. */
  if (strnlen(id, CLOUDNOTIFY_CLIENT_ID_MAX + 1) > CLOUDNOTIFY_CLIENT_ID_MAX)
    return CLOUDNOTIFY_ERR_TOO_LARGE;
  return cn_text_is_xml_safe(id) ? 0 : CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
}

/* The user behind an account argument: JID_MALFORMED, STORE, BUSY or 0.
 * An account with work parked behind a host answer is BUSY rather than
 * queued: these calls answer with what they did (a count, a listing), so
 * they cannot be replayed later; the host retries once it has answered.
 * A load this call starts that is answered later makes it BUSY too (the
 * load goes on; a retry after the answer finds the account cached). */
static int admin_user(cloudnotify_ctx *ctx, const char *account, cn_user **u) {
  /* Cache keys are normalised and normalising is idempotent: a cached
   * account as the host usually passes it skips stringprep. */
  char *norm = NULL;
  if (!g_hash_table_contains(ctx->users, account) && !(norm = cn_account_normalize(account)))
    return CLOUDNOTIFY_ERR_JID_MALFORMED;
  const char *bare = norm ? norm : account;
  int rc = cn_pending_busy(ctx, bare) ? CLOUDNOTIFY_ERR_BUSY : cn_user_get(ctx, bare, u);
  g_free(norm);
  return rc == CN_PARKED ? CLOUDNOTIFY_ERR_BUSY : rc;
}

/* A removal of every registration whose store removals may be answered
 * later: the rest waits as the account's parked work. */
typedef struct {
  cn_task t;
  GPtrArray *idents; /* the registrations when the call came, in order */
  guint k;
  unsigned n; /* removed so far */
  gboolean failed;
} remove_all_job;

static void remove_all_free(cn_task *t) {
  remove_all_job *j = (remove_all_job *)t;
  g_ptr_array_free(j->idents, TRUE);
  cn_task_fini(t);
  g_free(j);
}

static void remove_all_removed(cloudnotify_ctx *ctx, remove_all_job *j, int rc) {
  cn_user *u = g_hash_table_lookup(ctx->users, j->t.account);
  cn_reg *r = u ? cn_user_find_ident(u, j->idents->pdata[j->k]) : NULL;
  if (rc) {
    /* What the store refuses to remove stays in memory too. */
    j->failed = TRUE;
    return;
  }
  if (!r)
    return;
  cn_log(ctx, CLOUDNOTIFY_LOG_INFO, "push to %s for %s removed with the account", r->jid,
         u->account);
  cn_policy_remove(ctx, u, r, CLOUDNOTIFY_REMOVED_ACCOUNT);
  j->n++;
}

static int remove_all_step(cloudnotify_ctx *ctx, remove_all_job *j) {
  cn_user *u = g_hash_table_lookup(ctx->users, j->t.account);
  for (; u && j->k < j->idents->len; j->k++) {
    cn_reg *r = cn_user_find_ident(u, j->idents->pdata[j->k]);
    if (!r)
      continue;
    int rc = cn_store_remove(ctx, u->account, r->jid, r->node);
    if (rc == CN_WAIT)
      return CN_WAIT;
    remove_all_removed(ctx, j, rc);
  }
  return j->failed ? CLOUDNOTIFY_ERR_STORE : 0;
}

static int remove_all_run(cloudnotify_ctx *ctx, cn_task *t) {
  remove_all_job *j = (remove_all_job *)t;
  remove_all_removed(ctx, j,
                     cn_store_checked(ctx, "removing", t->account, cn_task_answer(t, NULL, NULL)));
  j->k++;
  return remove_all_step(ctx, j);
}

static gint newest_first(gconstpointer a, gconstpointer b) {
  const cn_reg *x = *(cn_reg *const *)a, *y = *(cn_reg *const *)b;
  return x->enabled_at < y->enabled_at ? 1 : (x->enabled_at > y->enabled_at ? -1 : 0);
}

int cloudnotify_account_registrations(cloudnotify_ctx *ctx, const char *account,
                                      cloudnotify_registration_fn callback, void *user_data) {
  if (!ctx || !account || !callback)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  cn_user *u;
  int rc = admin_user(ctx, account, &u);
  if (rc)
    return cn_leave(ctx, rc);
  /* A copy: the cache's order is insertion order, and the callback cannot
   * change the registrations (it may not re-enter), so the pointers hold. */
  GPtrArray *order = g_ptr_array_copy(u->regs, NULL, NULL);
  g_ptr_array_sort(order, newest_first);
  int n = 0;
  for (guint i = 0; i < order->len; i++) {
    const cn_reg *r = order->pdata[i];
    cloudnotify_record rec = cn_reg_record(r);
    n++;
    ctx->in_callback++;
    int stop = callback(user_data, u->account, &rec);
    ctx->in_callback--;
    if (stop)
      break;
  }
  g_ptr_array_free(order, TRUE);
  return cn_leave(ctx, n);
}

int cloudnotify_account_remove_all(cloudnotify_ctx *ctx, const char *account, unsigned *removed) {
  if (removed)
    *removed = 0;
  if (!ctx || !account)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  cn_user *u;
  int rc = admin_user(ctx, account, &u);
  if (rc)
    return cn_leave(ctx, rc);
  /* The store first, one by one: what it refuses to remove stays in
   * memory too, so that both keep agreeing. */
  remove_all_job *j = g_new0(remove_all_job, 1);
  cn_task_init(&j->t, remove_all_run, remove_all_free, u->account, NULL);
  j->idents = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < u->regs->len; i++)
    g_ptr_array_add(j->idents, g_strdup(((cn_reg *)u->regs->pdata[i])->ident));
  rc = remove_all_step(ctx, j);
  if (removed)
    *removed = j->n;
  if (rc == CN_WAIT) {
    cn_pending_wait(ctx, &j->t);
    return cn_leave(ctx, 0);
  }
  remove_all_free(&j->t);
  return cn_leave(ctx, rc);
}

int cloudnotify_account_forget(cloudnotify_ctx *ctx, const char *account) {
  if (!ctx || !account)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  char *bare = cn_account_normalize(account);
  if (!bare)
    return cn_leave(ctx, CLOUDNOTIFY_ERR_JID_MALFORMED);
  /* Parked work may hold on to the cached copy (and expects it cached). */
  if (cn_pending_busy(ctx, bare)) {
    g_free(bare);
    return cn_leave(ctx, CLOUDNOTIFY_ERR_BUSY);
  }
  cn_user *old = g_hash_table_lookup(ctx->users, bare);
  int rc = 0;
  if (old) {
    /* Out of the cache, so that the lookup below loads afresh. */
    cn_user_lru_unlink(ctx, old);
    g_hash_table_remove(ctx->users, old->account);
    if (!old->sessions) {
      cn_user_free(old);
    } else {
      /* Sessions point at registrations: they are carried over now
       * rather than left on a copy nobody reloads. */
      cn_user *fresh;
      rc = cn_user_get(ctx, bare, &fresh);
      if (rc == 0) {
        cn_policy_rebind(ctx, old, fresh);
      } else if (rc == CN_PARKED) {
        /* The fresh copy is answered later: the stale one serves (the
         * account's calls wait behind the load) until the load caches
         * the fresh one, which takes its sessions over (cn_policy_rebind). */
        g_hash_table_insert(ctx->users, old->account, old);
        g_queue_push_head_link(&ctx->user_lru, &old->lru);
        rc = 0;
      } else {
        g_hash_table_insert(ctx->users, old->account, old);
        g_queue_push_head_link(&ctx->user_lru, &old->lru);
      }
    }
  }
  g_free(bare);
  return cn_leave(ctx, rc);
}
