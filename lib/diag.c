/* Diagnosis: per registration what became of its last publish, listed
 * with what else the library knows of it, and test pushes an
 * administrator or a user asks for.  A test push passes every rule that
 * holds pushes back (the quiet rule, the gate, the back-off, the Tigase
 * filters) because someone is waiting for it now; its reply goes through
 * the ordinary reply path, so what it reports is what the app server
 * does with real pushes. */
#include "diag.h"

#include <string.h>

#include "counters.h"
#include "ctx.h"
#include "emit.h"
#include "host.h"
#include "jid.h"
#include "notify.h"
#include "outstanding.h"
#include "pending.h"
#include "push-ext.h"
#include "push.h"
#include "random.h"
#include "registry.h"
#include "rules.h"
#include "session.h"

void cn_diag_last_free(cn_diag_last *d) {
  if (!d)
    return;
  g_free(d->id);
  g_free(d->error_text);
  g_free(d);
}

char *cn_diag_bound_text(const char *text) {
  if (!text || !*text)
    return NULL;
  /* The app server's text is valid UTF-8 (it came through the parser):
   * cut at the last character that fits. */
  const char *end = text + strnlen(text, CLOUDNOTIFY_DIAG_TEXT_MAX + 1);
  if (end - text > CLOUDNOTIFY_DIAG_TEXT_MAX) {
    end = text + CLOUDNOTIFY_DIAG_TEXT_MAX;
    while (end > text && ((unsigned char)*end & 0xC0) == 0x80)
      end--;
  }
  return g_strndup(text, (gsize)(end - text));
}

unsigned cn_diag_outcome(cloudnotify_ctx *ctx, const char *account, const char *jid,
                         const char *node, const char *id, cloudnotify_publish_outcome outcome,
                         const char *error_type, const char *error_condition,
                         const char *error_text) {
  unsigned flags = 0;
  if (id && ctx->diag_tests && g_hash_table_remove(ctx->diag_tests, id))
    flags |= CLOUDNOTIFY_PUBLISH_FLAG_TEST;
  /* Only what is cached: an account that left the cache has no memory
   * of its publishes to keep this in, and loading it here would let a
   * reply evict someone else's. */
  cn_user *u = g_hash_table_lookup(ctx->users, account);
  cn_reg *r = u ? cn_user_find_reg(u, jid, node) : NULL;
  if (!r)
    return flags;
  cn_diag_last *d = r->diag;
  if (!d) {
    d = g_new0(cn_diag_last, 1);
    r->diag = d;
  }
  d->outcome = outcome;
  d->at_ms = cn_now(ctx);
  d->flags = flags;
  g_free(d->id);
  d->id = g_strdup(id);
  d->error_type = error_type;
  d->error_condition = error_condition;
  g_free(d->error_text);
  d->error_text = cn_diag_bound_text(error_text);
  return flags;
}

void cn_diag_fini(cloudnotify_ctx *ctx) {
  g_clear_pointer(&ctx->diag_tests, g_hash_table_destroy);
}

/* The account behind an argument, as the administration calls take it:
 * work parked on it, or a load this call starts that answers later, is
 * BUSY; these calls answer with what they did and cannot be replayed. */
static int diag_user(cloudnotify_ctx *ctx, const char *account, cn_user **u) {
  char *bare = cn_account_normalize(account);
  if (!bare)
    return CLOUDNOTIFY_ERR_JID_MALFORMED;
  int rc = cn_pending_busy(ctx, bare) ? CLOUDNOTIFY_ERR_BUSY : cn_user_get(ctx, bare, u);
  g_free(bare);
  return rc == CN_PARKED ? CLOUDNOTIFY_ERR_BUSY : rc;
}

/* ---- listing -------------------------------------------------------- */

static void ext_names(const cn_push_ext *e, GString *out) {
  if (!e)
    return;
  const struct {
    gboolean on;
    const char *name;
  } names[] = {
    { e->encrypt, "encrypt" },
    { e->priority, "priority" },
    { e->jingle, "jingle" },
    { e->muted != NULL, "muted" },
    { e->groupchat != NULL, "groupchat" },
    { e->ignore_unknown, "ignore-unknown" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
    if (!names[i].on)
      continue;
    if (out->len)
      g_string_append_c(out, ' ');
    g_string_append(out, names[i].name);
  }
}

static unsigned bound_sessions(const cn_user *u, const cn_reg *r) {
  unsigned n = 0;
  for (const GList *l = u->sessions; l; l = l->next) {
    const cloudnotify_session *s = l->data;
    n += s->reg == r && !s->dead;
  }
  return n;
}

static gint newest_first(gconstpointer a, gconstpointer b) {
  const cn_reg *x = *(cn_reg *const *)a, *y = *(cn_reg *const *)b;
  return x->enabled_at < y->enabled_at ? 1 : (x->enabled_at > y->enabled_at ? -1 : 0);
}

int cloudnotify_diag_registrations(cloudnotify_ctx *ctx, const char *account,
                                   cloudnotify_diag_fn callback, void *user_data) {
  if (!ctx || !account || !callback)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  cn_user *u;
  int rc = diag_user(ctx, account, &u);
  if (rc)
    return cn_leave(ctx, rc);
  /* The callback cannot change the registrations (it may not re-enter),
   * so the copy's pointers hold while it runs. */
  GPtrArray *order = g_ptr_array_copy(u->regs, NULL, NULL);
  g_ptr_array_sort(order, newest_first);
  int64_t mono = cn_mono(ctx);
  GString *ext = g_string_new(NULL);
  int n = 0;
  for (guint i = 0; i < order->len; i++) {
    const cn_reg *r = order->pdata[i];
    const cn_diag_last *d = r->diag;
    const cn_push_ext *e = ctx->opt.tigase_extensions ? r->ext : NULL;
    g_string_truncate(ext, 0);
    ext_names(r->ext, ext);
    /* The timer also carries out an expiry (reg-policy.c): only a
     * back-off that is on holds pushes. */
    int64_t left = 0;
    if (r->backoff_ms && r->leaving != CLOUDNOTIFY_REMOVED_EXPIRED &&
        cn_timer_armed(&r->backoff_timer))
      left = MAX(r->backoff_timer.deadline - mono, 0);
    cloudnotify_diag_registration rep = {
      .size = sizeof rep,
      .jid = r->jid,
      .node = r->node,
      .client_id = r->client_id,
      .enabled_at_ms = r->enabled_at,
      .errors = r->errors,
      .last_outcome = d ? d->outcome : 0,
      .last_outcome_at_ms = d ? d->at_ms : 0,
      .last_id = d ? d->id : NULL,
      .last_error_type = d ? d->error_type : NULL,
      .last_error_condition = d ? d->error_condition : NULL,
      .last_error_text = d ? d->error_text : NULL,
      .last_was_test = d && (d->flags & CLOUDNOTIFY_PUBLISH_FLAG_TEST),
      .backoff_ms = r->backoff_ms,
      .backoff_left_ms = left,
      .backoff_held = left ? r->held : 0,
      .outstanding = cn_outstanding_count(ctx, u->account, r->ident),
      .sessions = bound_sessions(u, r),
      .encrypted = e && e->encrypt,
      .extensions = ext->str,
    };
    n++;
    ctx->in_callback++;
    int stop = callback(user_data, u->account, &rep);
    ctx->in_callback--;
    if (stop)
      break;
  }
  g_string_free(ext, TRUE);
  g_ptr_array_free(order, TRUE);
  return cn_leave(ctx, n);
}

/* ---- test push ------------------------------------------------------ */

/* Test ids whose publishes were forgotten without an outcome (a store
 * change clears the outstanding table) would stay: dropped here. */
static void prune_tests(cloudnotify_ctx *ctx) {
  GHashTableIter it;
  gpointer id;
  g_hash_table_iter_init(&it, ctx->diag_tests);
  while (g_hash_table_iter_next(&it, &id, NULL))
    if (!g_hash_table_contains(ctx->outstanding, id))
      g_hash_table_iter_remove(&it);
}

/* One test publish to r: 1 sent, 0 refused (reported). */
static int test_one(cloudnotify_ctx *ctx, cn_reg *r, char *first_id) {
  /* An important chat message from nobody, with no text of its own: what
   * the registration's pushes look like without saying anything. */
  cn_summary sum = { 0 };
  sum.is_message = 1;
  sum.important = 1;
  sum.type = (char *)"chat";
  sum.key = sum.alt_key = (char *)"cloudnotify-diagnosis-test";
  sum.delay_ms = INT64_MAX;
  cloudnotify_push p = { 0 };
  p.ctx = ctx;
  p.reg = r;
  p.sum = &sum;
  p.body = g_strdup(ctx->opt.important_body);
  char id[CN_PUBLISH_ID_SIZE];
  cn_publish_id(ctx, id);
  const char *from =
      ctx->opt.publish_from_bare ? r->user->account : strchr(r->user->account, '@') + 1;
  cn_el *x = cn_notify_build_publish(id, from, &p);
  g_free(p.body);
  g_hash_table_add(ctx->diag_tests, g_strdup(id));
  int sent = 0;
  if (cn_emit(ctx, CLOUDNOTIFY_ROUTE_APP_SERVER, NULL, r->user->account, r->jid, id, x) == 0) {
    cn_outstanding_add(ctx, id, r);
    CN_COUNT(ctx, CN_C_PUBLISHES_SENT);
    cn_log_id(ctx, CLOUDNOTIFY_LOG_INFO, CLOUDNOTIFY_LOG_ID_PUSH_SENT,
              "sent a test push to %s for %s", r->jid, r->user->account);
    if (first_id && !*first_id)
      g_strlcpy(first_id, id, CN_PUBLISH_ID_SIZE);
    sent = 1;
  } else {
    cn_log_id(ctx, CLOUDNOTIFY_LOG_WARN, CLOUDNOTIFY_LOG_ID_PUSH_REFUSED,
              "the host refused a test push to %s for %s", r->jid, r->user->account);
    cn_report_publish(ctx, r->user->account, r->jid, r->node, id, CLOUDNOTIFY_PUBLISH_REFUSED, NULL,
                      NULL, r->errors);
  }
  cn_el_free(x);
  return sent;
}

int cloudnotify_diag_test_push(cloudnotify_ctx *ctx, const char *account,
                               const cloudnotify_endpoint *endpoint, unsigned *pushes, char *id) {
  if (pushes)
    *pushes = 0;
  if (id)
    *id = '\0';
  if (!ctx || !account || (endpoint && !endpoint->jid))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  char *jid = NULL;
  if (endpoint && !(jid = cn_jid_normalize(endpoint->jid)))
    return cn_leave(ctx, CLOUDNOTIFY_ERR_JID_MALFORMED);
  const char *node = endpoint && endpoint->node && *endpoint->node ? endpoint->node : NULL;
  cn_user *u;
  int rc = diag_user(ctx, account, &u);
  if (rc) {
    g_free(jid);
    return cn_leave(ctx, rc);
  }
  if (!ctx->diag_tests)
    ctx->diag_tests = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  prune_tests(ctx);
  /* A copy: a refused send's report cannot change the registrations, but
   * the outstanding bound may report (and so record) on any of them. */
  GPtrArray *targets = g_ptr_array_new();
  for (guint i = 0; i < u->regs->len; i++) {
    cn_reg *r = u->regs->pdata[i];
    if (!jid || (!strcmp(r->jid, jid) && !g_strcmp0(r->node, node)))
      g_ptr_array_add(targets, r);
  }
  g_free(jid);
  unsigned sent = 0;
  for (guint i = 0; i < targets->len; i++)
    sent += (unsigned)test_one(ctx, targets->pdata[i], id);
  rc = !targets->len ? CLOUDNOTIFY_ERR_NOT_MINE : (sent ? 0 : CLOUDNOTIFY_ERR_SEND);
  g_ptr_array_free(targets, TRUE);
  if (pushes)
    *pushes = sent;
  return cn_leave(ctx, rc);
}
