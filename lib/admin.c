/* Administration of an account's registrations from the host's side:
 * listing them, removing them all (the account was deleted), forgetting
 * the cached copy when the store changed behind the library, and keeping
 * the consecutive error counts in the store. */
#include "private.h"

#include <string.h>

void cn_reg_set_errors(cloudnotify_ctx *ctx, cn_reg *r, unsigned errors) {
  r->errors = errors;
  if (!ctx->store.set_errors)
    return;
  ctx->in_callback++;
  int rc = ctx->store.set_errors(ctx->store_data, r->user->account, r->jid, r->node, errors);
  ctx->in_callback--;
  /* The count in memory is still right; the store catches up at the
   * next change, or the count restarts from what it holds. */
  if (rc < 0)
    cn_log(ctx, CLOUDNOTIFY_LOG_ERROR,
           "storage: saving the error count of a registration of %s failed (%d)",
           r->user->account, rc);
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

/* The user behind an account argument: JID_MALFORMED, STORE or 0. */
static int admin_user(cloudnotify_ctx *ctx, const char *account, cn_user **u) {
  char *bare = cn_account_normalize(account);
  if (!bare)
    return CLOUDNOTIFY_ERR_JID_MALFORMED;
  int rc = cn_user_get(ctx, bare, u);
  g_free(bare);
  return rc;
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
    cloudnotify_record rec = {
      .jid = r->jid,
      .node = r->node,
      .publish_options = r->form,
      .publish_options_len = r->form_len,
      .enabled_at_ms = r->enabled_at,
      .errors = r->errors,
      .client_id = r->client_id,
    };
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

int cloudnotify_account_remove_all(cloudnotify_ctx *ctx, const char *account,
                                   unsigned *removed) {
  if (removed)
    *removed = 0;
  if (!ctx || !account)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  cn_user *u;
  int rc = admin_user(ctx, account, &u);
  if (rc)
    return cn_leave(ctx, rc);
  unsigned n = 0;
  /* The store first, one by one: what it refuses to remove stays in
   * memory too, so that both keep agreeing. */
  for (guint i = 0; i < u->regs->len;) {
    cn_reg *r = u->regs->pdata[i];
    if (cn_store_remove(ctx, u->account, r->jid, r->node)) {
      rc = CLOUDNOTIFY_ERR_STORE;
      i++;
      continue;
    }
    cn_log(ctx, CLOUDNOTIFY_LOG_INFO, "push to %s for %s removed with the account", r->jid,
           u->account);
    cn_user_drop_reg(ctx, u, r, CLOUDNOTIFY_REMOVED_ACCOUNT);
    n++;
  }
  if (removed)
    *removed = n;
  return cn_leave(ctx, rc);
}

/* Move the sessions of the stale copy old onto the fresh copy fresh of
 * the same account, then free old. */
static void rebind(cloudnotify_ctx *ctx, cn_user *old, cn_user *fresh) {
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

int cloudnotify_account_forget(cloudnotify_ctx *ctx, const char *account) {
  if (!ctx || !account)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  char *bare = cn_account_normalize(account);
  if (!bare)
    return cn_leave(ctx, CLOUDNOTIFY_ERR_JID_MALFORMED);
  cn_user *old = g_hash_table_lookup(ctx->users, bare);
  int rc = 0;
  if (old) {
    /* Out of the cache, so that the lookup below loads afresh. */
    g_queue_unlink(&ctx->user_lru, &old->lru);
    g_hash_table_remove(ctx->users, old->account);
    if (!old->sessions) {
      cn_user_free(old);
    } else {
      /* Sessions point at registrations: they are carried over now
       * rather than left on a copy nobody reloads. */
      cn_user *fresh;
      rc = cn_user_get(ctx, bare, &fresh);
      if (rc == 0) {
        rebind(ctx, old, fresh);
      } else {
        g_hash_table_insert(ctx->users, old->account, old);
        g_queue_push_head_link(&ctx->user_lru, &old->lru);
      }
    }
  }
  g_free(bare);
  return cn_leave(ctx, rc);
}
