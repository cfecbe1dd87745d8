/* Message triggers from the host's routing: offline storage, archive,
 * bare-JID groupchat, delivery to a session (calls only), and pings. */
#include <string.h>

#include "calls.h"
#include "counters.h"
#include "ctx.h"
#include "jid.h"
#include "notify.h"
#include "pending.h"
#include "registry.h"
#include "rules.h"
#include "session.h"
#include "tree.h"
#include "tree-seen.h"

/* Who a message trigger pushes.  FOR_ALL: offline storage and bare
 * groupchat, which no session took: every registration.  FOR_UNBOUND:
 * the archive, whose message the connected sessions took: registrations
 * bound to no session, and for a call every registration (0.2: the
 * device of a session that looks live may be asleep with its stream not
 * yet timed out, and a call cannot wait for that).  FOR_DELIVERED:
 * cloudnotify_message_delivered, calls only: every registration not
 * bound to a live session, as planned for 0.3 (docs/features.md,
 * "Calls"). */
typedef enum { FOR_ALL, FOR_UNBOUND, FOR_DELIVERED } audience;

static gboolean cn_account_normalize_ok(const char *account) {
  char *bare = cn_account_normalize(account);
  g_free(bare);
  return bare != NULL;
}

static cloudnotify_session *bound_session(const cn_user *u, const cn_reg *r) {
  for (const GList *l = u->sessions; l; l = l->next)
    if (((cloudnotify_session *)l->data)->reg == r)
      return l->data;
  return NULL;
}

/* The loop over an account's registrations, parked when a filter
 * answers later. */
typedef struct {
  cn_task t;
  gboolean is_ping;
  cn_summary sum; /* messages; owned */
  audience who;
  char **jids;  /* ping: normalised endpoint JIDs, NULL-terminated; owned */
  char **nodes; /* ping: their nodes (NULL entries: any) */
  size_t n;     /* ping: number of endpoints, 0 for all */
  guint i;
  unsigned sent;
} loop_job;

static gboolean ping_wanted(const loop_job *L, const cn_reg *r) {
  gboolean wanted = L->n == 0;
  for (size_t k = 0; k < L->n && !wanted; k++) {
    const char *node = L->nodes[k] && *L->nodes[k] ? L->nodes[k] : NULL;
    wanted = !strcmp(L->jids[k], r->jid) && (!node || !g_strcmp0(node, r->node));
  }
  return wanted;
}

static void loop_sent(cloudnotify_ctx *ctx, loop_job *L, cloudnotify_session *bound, int sent) {
  if (!sent)
    return;
  L->sent++;
  /* A call pushed to a hibernated session's registration is its first
   * important push as much as one from its queue would be. */
  if (bound && !L->is_ping)
    cn_session_pushed(ctx, bound, L->sum.important || !ctx->opt.important_body);
}

static gboolean skips(const loop_job *L, const cloudnotify_session *bound) {
  if (L->who == FOR_ALL || !bound)
    return FALSE;
  if (L->who == FOR_UNBOUND)
    return !L->sum.urgent;
  return bound->state == CN_SESSION_LIVE;
}

/* A push may end in the host's filter dropping it, never in removing a
 * registration, and the account's other work waits while a filter
 * answers later, so iterating over the array is safe. */
static int trigger_loop(cloudnotify_ctx *ctx, cn_user *u, loop_job *L) {
  for (; L->i < u->regs->len; L->i++) {
    cn_reg *r = u->regs->pdata[L->i];
    cloudnotify_session *bound = bound_session(u, r);
    if (L->is_ping ? !ping_wanted(L, r) : skips(L, bound))
      continue;
    int rc = cn_notify(ctx, r, NULL, L->is_ping ? NULL : &L->sum);
    if (rc == CN_WAIT)
      return CN_WAIT;
    loop_sent(ctx, L, bound, rc);
  }
  return 0;
}

static void loop_free(cn_task *t) {
  loop_job *L = (loop_job *)t;
  cn_summary_clear(&L->sum);
  g_strfreev(L->jids);
  g_strfreev(L->nodes);
  cn_task_fini(t);
  g_free(L);
}

static int loop_run(cloudnotify_ctx *ctx, cn_task *t) {
  loop_job *L = (loop_job *)t;
  cn_user *u = g_hash_table_lookup(ctx->users, t->account);
  int sent = cn_notify_resume(ctx, t);
  if (!u || L->i >= u->regs->len)
    return 0;
  loop_sent(ctx, L, bound_session(u, u->regs->pdata[L->i]), sent);
  L->i++;
  return trigger_loop(ctx, u, L);
}

/* Run the loop; when a filter answers later the rest is parked (the
 * state in L moves to the parked job). */
static unsigned trigger_run_loop(cloudnotify_ctx *ctx, cn_user *u, loop_job *L) {
  if (trigger_loop(ctx, u, L) != CN_WAIT) {
    cn_summary_clear(&L->sum);
    g_strfreev(L->jids);
    g_strfreev(L->nodes);
    return L->sent;
  }
  loop_job *j = g_new0(loop_job, 1);
  *j = *L;
  cn_task_init(&j->t, loop_run, loop_free, u->account, NULL);
  cn_pending_wait(ctx, &j->t);
  return L->sent;
}

/* The work of a message trigger; CN_PARKED when the load answers later. */
static int trigger_impl(cloudnotify_ctx *ctx, const char *account, const cn_input *in,
                        const char *archive_id, audience who, unsigned *pushes) {
  cn_user *u;
  int rc = cn_user_get_input(ctx, account, &u);
  /* Most users have no registration: decided before any parsing. */
  if (rc || u->regs->len == 0)
    return rc;
  /* A stanza the host reports twice (archive, then offline): found
   * already pushed before the tree is converted. */
  if (in->tree && who == FOR_ALL && !(archive_id && *archive_id) &&
      cn_tree_seen_early(ctx, u, in->tree))
    return 0;
  loop_job L = { .who = who };
  rc = cn_summarize_input(ctx, u->account, in, &L.sum);
  if (rc)
    return rc;
  /* Delivered messages are pushed only when they are calls, and quiet
   * counts what a path would have pushed: neither for the others. */
  if ((who == FOR_DELIVERED && !L.sum.urgent) ||
      (who != FOR_DELIVERED && cn_quiet_drop(ctx, &L.sum))) {
    cn_summary_clear(&L.sum);
    return 0;
  }
  /* A call is known by its propose's id on every route (rules.h). */
  if (archive_id && *archive_id && !g_str_has_prefix(L.sum.key, "call:")) {
    /* The archive id is what a stanza-id on the other copies carries; the
     * alternative key still matches copies that have none. */
    g_free(L.sum.key);
    L.sum.key = g_strconcat("sid:", archive_id, NULL);
  }
  unsigned n = trigger_run_loop(ctx, u, &L);
  if (pushes)
    *pushes = n;
  return 0;
}

static int trigger_replay(cloudnotify_ctx *ctx, cn_replay *r) {
  cn_input in = { r->xml, r->len, NULL };
  return trigger_impl(ctx, r->t.account, &in, r->str, (audience)r->kind, NULL);
}

/* Keep a copy of the call for when the account is free (after_load: its
 * own load was just parked): the text, or for a tree (borrowed for the
 * call only) the serialisation of the document it converts into.  0,
 * JID_MALFORMED, XML, TOO_LARGE or BUSY. */
static int trigger_park(cloudnotify_ctx *ctx, const char *account, const cn_input *in,
                        const char *archive_id, audience who, gboolean after_load) {
  char *bare = cn_account_normalize(account);
  if (!bare)
    return CLOUDNOTIFY_ERR_JID_MALFORMED;
  xmlDoc *doc = NULL;
  if (in->tree) {
    int rc = cn_input_parse(ctx, in, &doc);
    if (rc) {
      g_free(bare);
      return rc;
    }
  }
  GString *tmp;
  size_t len;
  const char *xml = cn_input_text(in, doc, &tmp, &len);
  cn_replay *r =
      cn_replay_new(bare, NULL, trigger_replay, who, xml, len, archive_id, NULL, 0, NULL, 0);
  if (tmp)
    g_string_free(tmp, TRUE);
  if (doc)
    xmlFreeDoc(doc);
  g_free(bare);
  if (!after_load)
    return cn_pending_enqueue(ctx, &r->t);
  cn_pending_after_load(ctx, &r->t);
  return 0;
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
  if (cn_pending_busy(ctx, account))
    return cn_leave(ctx, trigger_park(ctx, account, in, archive_id, who, FALSE));
  int rc = trigger_impl(ctx, account, in, archive_id, who, pushes);
  if (rc == CN_PARKED)
    rc = trigger_park(ctx, account, in, archive_id, who, TRUE);
  return cn_leave(ctx, rc);
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

int cloudnotify_message_groupchat_bare(cloudnotify_ctx *ctx, const char *account, const char *xml,
                                       size_t len, unsigned *pushes) {
  cn_input in = { xml, len, NULL };
  return trigger(ctx, account, &in, NULL, FOR_ALL, pushes);
}

int cloudnotify_message_delivered(cloudnotify_ctx *ctx, const char *account, const char *xml,
                                  size_t len, unsigned *pushes) {
  cn_input in = { xml, len, NULL };
  return trigger(ctx, account, &in, NULL, FOR_DELIVERED, pushes);
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

int cloudnotify_message_delivered_tree(cloudnotify_ctx *ctx, const char *account,
                                       const cloudnotify_tree *tree, unsigned *pushes) {
  cn_input in;
  return trigger(ctx, account, tree_input(&in, tree), NULL, FOR_DELIVERED, pushes);
}

int cloudnotify_account_has_push(cloudnotify_ctx *ctx, const char *account) {
  if (!ctx || !account)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  /* Not known yet: "maybe", so that the host hands the stanza over and
   * the trigger parks behind the answer. */
  if (cn_pending_busy(ctx, account))
    return cn_leave(ctx, cn_account_normalize_ok(account) ? 1 : CLOUDNOTIFY_ERR_JID_MALFORMED);
  cn_user *u;
  int rc = cn_user_get_input(ctx, account, &u);
  if (rc == CN_PARKED)
    return cn_leave(ctx, 1);
  return cn_leave(ctx, rc ? rc : u->regs->len > 0);
}

/* The work of a ping; CN_PARKED when the load answers later. */
static int ping_impl(cloudnotify_ctx *ctx, const char *account,
                     const cloudnotify_endpoint *endpoints, size_t n, unsigned *pushes) {
  loop_job L = { .is_ping = TRUE, .n = n };
  L.jids = g_new0(char *, n + 1);
  L.nodes = g_new0(char *, n + 1);
  int rc = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    L.jids[i] = endpoints[i].jid ? cn_jid_normalize(endpoints[i].jid) : NULL;
    L.nodes[i] = g_strdup(endpoints[i].node ? endpoints[i].node : "");
    if (!L.jids[i])
      rc = CLOUDNOTIFY_ERR_JID_MALFORMED;
  }
  cn_user *u = NULL;
  if (!rc)
    rc = cn_user_get_input(ctx, account, &u);
  if (rc) {
    g_strfreev(L.jids);
    g_strfreev(L.nodes);
    return rc;
  }
  unsigned sent = trigger_run_loop(ctx, u, &L);
  if (pushes)
    *pushes = sent;
  return 0;
}

static int ping_replay(cloudnotify_ctx *ctx, cn_replay *r) {
  return ping_impl(ctx, r->t.account, r->eps, r->n_eps, NULL);
}

static int ping_park(cloudnotify_ctx *ctx, const char *account,
                     const cloudnotify_endpoint *endpoints, size_t n, gboolean after_load) {
  char *bare = cn_account_normalize(account);
  if (!bare)
    return CLOUDNOTIFY_ERR_JID_MALFORMED;
  cn_replay *r = cn_replay_new(bare, NULL, ping_replay, 0, NULL, 0, NULL, NULL, 0, endpoints, n);
  g_free(bare);
  if (!after_load)
    return cn_pending_enqueue(ctx, &r->t);
  cn_pending_after_load(ctx, &r->t);
  return 0;
}

int cloudnotify_ping(cloudnotify_ctx *ctx, const char *account,
                     const cloudnotify_endpoint *endpoints, size_t n, unsigned *pushes) {
  if (pushes)
    *pushes = 0;
  if (!ctx || !account || (n && !endpoints))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  if (cn_pending_busy(ctx, account)) {
    /* The endpoints are checked now: a malformed one is the caller's to know. */
    for (size_t i = 0; i < n; i++) {
      char *j = endpoints[i].jid ? cn_jid_normalize(endpoints[i].jid) : NULL;
      g_free(j);
      if (!j)
        return cn_leave(ctx, CLOUDNOTIFY_ERR_JID_MALFORMED);
    }
    return cn_leave(ctx, ping_park(ctx, account, endpoints, n, FALSE));
  }
  int rc = ping_impl(ctx, account, endpoints, n, pushes);
  if (rc == CN_PARKED)
    rc = ping_park(ctx, account, endpoints, n, TRUE);
  return cn_leave(ctx, rc);
}
