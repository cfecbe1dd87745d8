/* Registration policy: see reg-policy.h.  The decisions only; the store
 * calls, parking and replies stay with the callers. */
#include "reg-policy.h"

#include <string.h>

#include "admin.h"
#include "ctx.h"
#include "host.h"
#include "outstanding.h"
#include "session.h"

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

void cn_policy_admit(const cloudnotify_ctx *ctx, cn_user *u, const char *jid, const char *node,
                     GPtrArray *victims) {
  if (cn_user_find_reg(u, jid, node) || u->regs->len < (guint)ctx->opt.max_devices)
    return;
  GPtrArray *by_age = g_ptr_array_copy(u->regs, NULL, NULL);
  g_ptr_array_sort(by_age, oldest_first);
  guint surplus = u->regs->len - (guint)ctx->opt.max_devices + 1;
  for (guint i = 0; i < surplus; i++)
    g_ptr_array_add(victims, g_strdup(((cn_reg *)by_age->pdata[i])->ident));
  g_ptr_array_free(by_age, TRUE);
}

void cn_policy_drop_evicted(cloudnotify_ctx *ctx, cn_user *u, const GPtrArray *evicted) {
  for (guint i = 0; i < evicted->len; i++) {
    cn_reg *o = cn_user_find_ident(u, evicted->pdata[i]);
    if (o)
      cn_policy_remove(ctx, u, o, CLOUDNOTIFY_REMOVED_EVICTED);
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
  cn_policy_drop_evicted(ctx, u, evicted);
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

void cn_policy_trim_loaded(const cloudnotify_ctx *ctx, GPtrArray *regs, GPtrArray *kept,
                           GPtrArray *surplus) {
  g_ptr_array_sort(regs, newest_first);
  for (guint i = 0; i < regs->len; i++)
    g_ptr_array_add(i < (guint)ctx->opt.max_devices ? kept : surplus, regs->pdata[i]);
  g_ptr_array_set_size(regs, 0);
}

void cn_policy_on_publish_ok(cloudnotify_ctx *ctx, cn_reg *r) {
  if (r->errors)
    cn_reg_set_errors(ctx, r, 0);
}

gboolean cn_policy_error_counts(const char *error_type) {
  return !error_type || strcmp(error_type, "wait");
}

gboolean cn_policy_on_publish_error(cloudnotify_ctx *ctx, cn_reg *r, const char *error_type,
                                    const char *error_condition) {
  cn_reg_set_errors(ctx, r, r->errors < G_MAXUINT ? r->errors + 1 : r->errors);
  r->last_error_type = error_type;
  r->last_error_condition = error_condition;
  return r->errors >= (unsigned)ctx->opt.max_errors;
}

void cn_policy_remove(cloudnotify_ctx *ctx, cn_user *u, cn_reg *r,
                      cloudnotify_removal_reason reason) {
  cn_sessions_unbind_reg(ctx, u, r);
  cn_outstanding_forget(ctx, u->account, r->ident);
  g_ptr_array_remove(u->regs, r);
  if (reason)
    cn_cb_removed(ctx, u->account, r, reason);
  cn_reg_free(r);
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
