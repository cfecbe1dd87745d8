/* Message triggers from the host's routing: offline storage, archive,
 * bare-JID groupchat, and pings. */
#include "private.h"

#include <string.h>

#include "jid.h"
#include "tree.h"

typedef enum { FOR_ALL, FOR_UNBOUND } audience;

static cloudnotify_session *bound_session(const cn_user *u, const cn_reg *r) {
  for (const GList *l = u->sessions; l; l = l->next)
    if (((cloudnotify_session *)l->data)->reg == r)
      return l->data;
  return NULL;
}

/* The cached user behind an account argument: JID_MALFORMED, STORE or 0. */
static int account_user(cloudnotify_ctx *ctx, const char *account, cn_user **u) {
  /* Cache keys are normalised and normalising is idempotent, so a host
   * passing the normalised form (the usual case) skips stringprep. */
  *u = g_hash_table_lookup(ctx->users, account);
  if (*u) {
    CN_COUNT(ctx, CN_C_CACHE_HITS);
    cn_user_touch(ctx, *u);
    return 0;
  }
  char *bare = cn_account_normalize(account);
  if (!bare)
    return CLOUDNOTIFY_ERR_JID_MALFORMED;
  int rc = cn_user_get(ctx, bare, u);
  g_free(bare);
  return rc;
}

static int trigger(cloudnotify_ctx *ctx, const char *account, const cn_input *in,
                   const char *archive_id, audience who, unsigned *pushes) {
  if (pushes)
    *pushes = 0;
  if (!ctx || !account || (!in->xml && !in->tree))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (in->tree) {
    int rc = cn_tree_check(in->tree);
    if (rc)
      return rc;
  }
  CN_ENTER(ctx);
  cn_user *u;
  int rc = account_user(ctx, account, &u);
  /* Most users have no registration: decided before any parsing. */
  if (rc || u->regs->len == 0)
    return cn_leave(ctx, rc);
  cn_summary sum;
  rc = cn_summarize_input(ctx, u->account, in, &sum);
  if (rc)
    return cn_leave(ctx, rc);
  if (archive_id && *archive_id) {
    /* The archive id is what a stanza-id on the other copies carries; the
     * alternative key still matches copies that have none. */
    g_free(sum.key);
    sum.key = g_strconcat("sid:", archive_id, NULL);
  }
  unsigned n = 0;
  /* A push may end in the host's filter dropping it, never in removing a
   * registration, so iterating over the array is safe. */
  for (guint i = 0; i < u->regs->len; i++) {
    cn_reg *r = u->regs->pdata[i];
    cloudnotify_session *bound = bound_session(u, r);
    if (who == FOR_UNBOUND && !sum.urgent && bound)
      continue;
    if (cn_notify(ctx, r, NULL, &sum)) {
      n++;
      /* A call pushed to a hibernated session's registration is its first
       * important push as much as one from its queue would be. */
      if (bound)
        cn_session_pushed(ctx, bound, sum.important || !ctx->opt.important_body);
    }
  }
  cn_summary_clear(&sum);
  if (pushes)
    *pushes = n;
  return cn_leave(ctx, 0);
}

int cloudnotify_message_offline(cloudnotify_ctx *ctx, const char *account, const char *xml,
                                size_t len, unsigned *pushes) {
  cn_input in = { xml, len, NULL };
  return trigger(ctx, account, &in, NULL, FOR_ALL, pushes);
}

int cloudnotify_message_archived(cloudnotify_ctx *ctx, const char *account, const char *xml,
                                 size_t len, const char *archive_id, unsigned *pushes) {
  cn_input in = { xml, len, NULL };
  return trigger(ctx, account, &in, archive_id, FOR_UNBOUND, pushes);
}

int cloudnotify_message_groupchat_bare(cloudnotify_ctx *ctx, const char *account,
                                       const char *xml, size_t len, unsigned *pushes) {
  cn_input in = { xml, len, NULL };
  return trigger(ctx, account, &in, NULL, FOR_ALL, pushes);
}

/* The tree forms: the same trigger, fed through the host's adapter.  A
 * NULL tree is refused like a NULL text. */
static const cn_input *tree_input(cn_input *in, const cloudnotify_tree *tree) {
  static const cloudnotify_tree missing = { NULL, NULL, NULL };
  *in = (cn_input){ NULL, 0, tree ? tree : &missing };
  return in;
}

int cloudnotify_message_offline_tree(cloudnotify_ctx *ctx, const char *account,
                                     const cloudnotify_tree *tree, unsigned *pushes) {
  cn_input in;
  return trigger(ctx, account, tree_input(&in, tree), NULL, FOR_ALL, pushes);
}

int cloudnotify_message_archived_tree(cloudnotify_ctx *ctx, const char *account,
                                      const cloudnotify_tree *tree, const char *archive_id,
                                      unsigned *pushes) {
  cn_input in;
  return trigger(ctx, account, tree_input(&in, tree), archive_id, FOR_UNBOUND, pushes);
}

int cloudnotify_message_groupchat_bare_tree(cloudnotify_ctx *ctx, const char *account,
                                            const cloudnotify_tree *tree, unsigned *pushes) {
  cn_input in;
  return trigger(ctx, account, tree_input(&in, tree), NULL, FOR_ALL, pushes);
}

int cloudnotify_account_has_push(cloudnotify_ctx *ctx, const char *account) {
  if (!ctx || !account)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  cn_user *u;
  int rc = account_user(ctx, account, &u);
  return cn_leave(ctx, rc ? rc : u->regs->len > 0);
}

int cloudnotify_ping(cloudnotify_ctx *ctx, const char *account,
                     const cloudnotify_endpoint *endpoints, size_t n, unsigned *pushes) {
  if (pushes)
    *pushes = 0;
  if (!ctx || !account || (n && !endpoints))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  char **jids = g_new0(char *, n + 1);
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    jids[i] = endpoints[i].jid ? cn_jid_normalize(endpoints[i].jid) : NULL;
    if (!jids[i])
      rc = CLOUDNOTIFY_ERR_JID_MALFORMED;
  }
  cn_user *u = NULL;
  if (!rc)
    rc = account_user(ctx, account, &u);
  unsigned sent = 0;
  for (guint i = 0; !rc && i < u->regs->len; i++) {
    cn_reg *r = u->regs->pdata[i];
    gboolean wanted = n == 0;
    for (size_t k = 0; k < n && !wanted; k++) {
      const char *node = endpoints[k].node && *endpoints[k].node ? endpoints[k].node : NULL;
      wanted = !strcmp(jids[k], r->jid) && (!node || !g_strcmp0(node, r->node));
    }
    if (wanted)
      sent += (unsigned)cn_notify(ctx, r, NULL, NULL);
  }
  g_strfreev(jids);
  if (pushes)
    *pushes = sent;
  return cn_leave(ctx, rc);
}
