/* Users and their registrations: the bounded cache in front of the
 * store, loading (with validation of what storage hands back), and
 * removal with everything that hangs off a registration. */
#include "private.h"

#include <string.h>

#include "jid.h"
#include "pending.h"

struct cloudnotify_loader {
  cloudnotify_ctx *ctx;
  cn_user *user;
  GPtrArray *regs;    /* cn_reg* read so far */
  GHashTable *by_key; /* ident -> index in regs: a hostile store may return
                         thousands of records, so no linear search */
  int closed;         /* nonzero once the load is over: what loader_add says */
  gboolean op_owned;  /* freed with the op the host took, not by the load */
};

cn_reg *cn_reg_new(cn_user *u, const char *jid, const char *node, const char *form,
                   size_t form_len, int64_t enabled_at) {
  cn_reg *r = g_new0(cn_reg, 1);
  r->user = u;
  r->jid = g_strdup(jid);
  r->node = g_strdup(node);
  r->form = form ? g_strndup(form, form_len) : NULL;
  r->form_len = form ? form_len : 0;
  r->enabled_at = enabled_at;
  /* '<' cannot occur in a prepared JID, so the identity is unambiguous. */
  r->ident = g_strconcat(jid, "<", node ? node : "", NULL);
  return r;
}

void cn_reg_free(cn_reg *r) {
  if (!r)
    return;
  g_free(r->jid);
  g_free(r->node);
  g_free(r->form);
  g_free(r->ident);
  g_free(r);
}

static void user_free(cn_user *u) {
  for (guint i = 0; i < u->regs->len; i++)
    cn_reg_free(u->regs->pdata[i]);
  g_ptr_array_free(u->regs, TRUE);
  g_free(u->account);
  g_free(u);
}

cn_reg *cn_user_find_reg(cn_user *u, const char *jid, const char *node) {
  for (guint i = 0; i < u->regs->len; i++) {
    cn_reg *r = u->regs->pdata[i];
    if (!strcmp(r->jid, jid) && g_strcmp0(r->node, node) == 0)
      return r;
  }
  return NULL;
}

void cn_user_touch(cloudnotify_ctx *ctx, cn_user *u) {
  g_queue_unlink(&ctx->user_lru, &u->lru);
  g_queue_push_head_link(&ctx->user_lru, &u->lru);
}

void cn_users_trim(cloudnotify_ctx *ctx) {
  GList *l = ctx->user_lru.tail;
  while (l && g_hash_table_size(ctx->users) > (guint)ctx->opt.max_cached_users) {
    cn_user *u = l->data;
    l = l->prev;
    /* A user with sessions stays: sessions point at its registrations.
     * The head is the user the caller is about to use. */
    if (u->sessions || &u->lru == ctx->user_lru.head || cn_pending_pinned(ctx, u->account))
      continue;
    g_queue_unlink(&ctx->user_lru, &u->lru);
    g_hash_table_remove(ctx->users, u->account);
    user_free(u);
  }
}

void cn_users_clear(cloudnotify_ctx *ctx) {
  while (ctx->user_lru.head) {
    cn_user *u = ctx->user_lru.head->data;
    g_queue_unlink(&ctx->user_lru, &u->lru);
    g_hash_table_remove(ctx->users, u->account);
    user_free(u);
  }
}

static gint newest_first(gconstpointer a, gconstpointer b) {
  const cn_reg *x = *(cn_reg *const *)a, *y = *(cn_reg *const *)b;
  return x->enabled_at < y->enabled_at ? 1 : (x->enabled_at > y->enabled_at ? -1 : 0);
}

static cloudnotify_loader *loader_new(cloudnotify_ctx *ctx, cn_user *u) {
  cloudnotify_loader *l = g_new0(cloudnotify_loader, 1);
  l->ctx = ctx;
  l->user = u;
  l->regs = g_ptr_array_new();
  l->by_key = g_hash_table_new(g_str_hash, g_str_equal);
  return l;
}

/* The records read so far, taken out of the loader, which is closed. */
static GPtrArray *loader_take(cloudnotify_loader *l) {
  GPtrArray *regs = l->regs;
  l->regs = g_ptr_array_new();
  cn_loader_close(l, CLOUDNOTIFY_ERR_OP_DONE);
  return regs;
}

void cn_loader_close(cloudnotify_loader *l, int rc) {
  if (l->closed)
    return;
  for (guint i = 0; i < l->regs->len; i++)
    cn_reg_free(l->regs->pdata[i]);
  g_ptr_array_free(l->regs, TRUE);
  g_hash_table_destroy(l->by_key);
  l->regs = NULL;
  l->by_key = NULL;
  /* The context may go before the host drops its op: nothing of it is
   * reachable from a closed loader. */
  l->ctx = NULL;
  l->user = NULL;
  l->closed = rc;
}

void cn_loader_hand_to_op(cloudnotify_loader *l) {
  l->op_owned = TRUE;
}

void cn_loader_free(cloudnotify_loader *l) {
  if (!l)
    return;
  cn_loader_close(l, CLOUDNOTIFY_ERR_OP_DONE);
  g_free(l);
}

static void regs_free(GPtrArray *regs) {
  for (guint i = 0; i < regs->len; i++)
    cn_reg_free(regs->pdata[i]);
  g_ptr_array_free(regs, TRUE);
}

/* A load answered later, then the removal of its surplus records. */
typedef struct {
  cn_task t;
  cn_user *u;         /* not cached until the load is answered */
  GPtrArray *surplus; /* cn_reg*, removed from the store one by one */
  guint k;
} load_job;

static void load_job_free(cn_task *t) {
  load_job *j = (load_job *)t;
  if (j->u)
    user_free(j->u);
  if (j->surplus)
    regs_free(j->surplus);
  cn_task_fini(t);
  g_free(j);
}

static int load_run(cloudnotify_ctx *ctx, cn_task *t);

static load_job *load_job_new(const char *account) {
  load_job *j = g_new0(load_job, 1);
  cn_task_init(&j->t, load_run, load_job_free, account, NULL);
  return j;
}

/* Remove the surplus from the store, from index j->k on.  A removal
 * answered later parks the rest; the caller then gets CN_PARKED. */
static int trim_surplus(cloudnotify_ctx *ctx, load_job *j) {
  const char *account = j->t.account;
  for (; j->k < j->surplus->len; j->k++) {
    cn_reg *r = j->surplus->pdata[j->k];
    cn_log(ctx, CLOUDNOTIFY_LOG_INFO, "dropping surplus registration %s of %s", r->jid,
           account);
    int rc = cn_store_remove(ctx, account, r->jid, r->node);
    if (rc == CN_WAIT)
      return CN_WAIT;
    if (rc == 0)
      cn_cb_removed(ctx, account, r, CLOUDNOTIFY_REMOVED_EVICTED);
  }
  return 0;
}

/* The load answered rc with regs: cache the user and drop the surplus.
 * j is the parked job when answered later, else NULL.  Returns 0 (and
 * *out), STORE, CN_PARKED (surplus removal parked; a new job when j is
 * NULL) or, for j, CN_WAIT. */
static int load_finish(cloudnotify_ctx *ctx, cn_user *u, GPtrArray *regs, int rc,
                       cn_user **out, load_job *j) {
  if (rc < 0) {
    cn_log(ctx, CLOUDNOTIFY_LOG_ERROR, "storage: loading the registrations of %s failed (%d)",
           u->account, rc);
    regs_free(regs);
    user_free(u);
    return CLOUDNOTIFY_ERR_STORE;
  }
  /* Storage may hold more than the limit (a lower push_max_devices, a
   * crash between save and evict): keep the most recently enabled. */
  g_ptr_array_sort(regs, newest_first);
  GPtrArray *surplus = g_ptr_array_new();
  for (guint i = 0; i < regs->len; i++)
    g_ptr_array_add(i < (guint)ctx->opt.max_devices ? u->regs : surplus, regs->pdata[i]);
  g_ptr_array_free(regs, TRUE);

  g_hash_table_insert(ctx->users, u->account, u);
  g_queue_push_head_link(&ctx->user_lru, &u->lru);
  cn_users_trim(ctx);
  *out = u;
  if (!surplus->len) {
    g_ptr_array_free(surplus, TRUE);
    return 0;
  }
  load_job *own = j ? j : load_job_new(u->account);
  own->surplus = surplus;
  own->k = 0;
  rc = trim_surplus(ctx, own);
  if (rc == CN_WAIT) {
    if (j)
      return CN_WAIT;
    cn_pending_wait(ctx, &own->t);
    return CN_PARKED;
  }
  if (!j)
    load_job_free(&own->t);
  return 0;
}

static int load_run(cloudnotify_ctx *ctx, cn_task *t) {
  load_job *j = (load_job *)t;
  if (!j->surplus) {
    cloudnotify_loader *l = cn_task_loader(t);
    int rc = cn_task_answer(t, NULL, NULL);
    cn_user *u = g_steal_pointer(&j->u);
    cn_user *out;
    return load_finish(ctx, u, loader_take(l), rc < 0 ? rc : 0, &out, j);
  }
  int rc = cn_store_checked(ctx, "removing", t->account, cn_task_answer(t, NULL, NULL));
  if (rc == 0)
    cn_cb_removed(ctx, t->account, j->surplus->pdata[j->k], CLOUDNOTIFY_REMOVED_EVICTED);
  j->k++;
  return trim_surplus(ctx, j);
}

int cn_user_get(cloudnotify_ctx *ctx, const char *account, cn_user **out) {
  cn_user *u = g_hash_table_lookup(ctx->users, account);
  if (u) {
    cn_user_touch(ctx, u);
    *out = u;
    return 0;
  }
  /* Replayed behind a load of this account that failed: the failure is
   * the answer, as it would have been for a call made at that moment. */
  if (cn_pending_no_reload(ctx))
    return CLOUDNOTIFY_ERR_STORE;
  u = g_new0(cn_user, 1);
  u->account = g_strdup(account);
  u->regs = g_ptr_array_new();
  u->lru.data = u;

  cloudnotify_loader *loader = loader_new(ctx, u);
  cn_ask_begin(ctx, CLOUDNOTIFY_OP_LOAD);
  cn_ask_set_loader(ctx, loader);
  int rc = ctx->store.load(ctx->store_data, account, loader);
  if (cn_ask_end(ctx, &rc)) {
    /* The op owns the loader now: records may come until it is answered. */
    load_job *j = load_job_new(account);
    j->u = u;
    cn_pending_wait(ctx, &j->t);
    return CN_PARKED;
  }
  GPtrArray *regs = loader_take(loader);
  if (!loader->op_owned)
    cn_loader_free(loader);
  return load_finish(ctx, u, regs, rc < 0 ? rc : 0, out, NULL);
}

/* canon, when given, receives the form as the library serialises it:
 * stored text is copied into publishes, where a leading XML declaration
 * (valid alone, not inside another element) would break them. */
static int form_parse(cloudnotify_ctx *ctx, const char *text, size_t len, GString *canon) {
  if (len > (size_t)ctx->opt.max_form_size)
    return CLOUDNOTIFY_ERR_TOO_LARGE;
  xmlDoc *doc = NULL;
  int rc = cn_xml_parse_element(ctx->parser, text, len, (size_t)ctx->opt.max_form_size,
                        (int)ctx->opt.max_xml_depth, &doc);
  if (rc)
    return rc;
  xmlNode *x = xmlDocGetRootElement(doc);
  if (strcmp((const char *)x->name, "x") || g_strcmp0(cn_xml_ns(x), "jabber:x:data"))
    rc = CLOUDNOTIFY_ERR_XML;
  else if (cn_xml_count_children(x, "field", "jabber:x:data") >
           (unsigned)ctx->opt.max_form_fields)
    rc = CLOUDNOTIFY_ERR_TOO_LARGE;
  else if (canon)
    cn_xml_serialize(canon, x);
  xmlFreeDoc(doc);
  return rc;
}

int cn_form_validate_text(cloudnotify_ctx *ctx, const char *text, size_t len) {
  return form_parse(ctx, text, len, NULL);
}

int cloudnotify_loader_add(cloudnotify_loader *loader, const cloudnotify_record *record) {
  if (!loader)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (loader->closed)
    return loader->closed;
  if (!record || !record->jid)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  cloudnotify_ctx *ctx = loader->ctx;
  const char *account = loader->user->account;
  char *jid = cn_jid_normalize(record->jid);
  int rc = 0;
  if (!jid)
    rc = CLOUDNOTIFY_ERR_JID_MALFORMED;
  const char *node = record->node && *record->node ? record->node : NULL;
  if (!rc && node && strlen(node) > CN_JID_MAX_PART)
    rc = CLOUDNOTIFY_ERR_TOO_LARGE;
  /* The node goes into every publish as an attribute value. */
  if (!rc && node && !cn_text_is_xml_safe(node))
    rc = CLOUDNOTIFY_ERR_XML;
  GString *form = NULL;
  if (!rc && record->publish_options && record->publish_options_len) {
    form = g_string_new(NULL);
    rc = form_parse(ctx, record->publish_options, record->publish_options_len, form);
  }
  if (rc) {
    cn_log(ctx, CLOUDNOTIFY_LOG_WARN, "storage: skipping an invalid registration of %s (%s)",
           account, cloudnotify_strerror(rc));
    g_free(jid);
    if (form)
      g_string_free(form, TRUE);
    return rc;
  }
  cn_reg *r = cn_reg_new(loader->user, jid, node, form ? form->str : NULL,
                         form ? form->len : 0, record->enabled_at_ms);
  g_free(jid);
  if (form)
    g_string_free(form, TRUE);
  /* A store that returns the same key twice: the newer wins. */
  gpointer at;
  if (g_hash_table_lookup_extended(loader->by_key, r->ident, NULL, &at)) {
    guint i = GPOINTER_TO_UINT(at);
    cn_reg *o = loader->regs->pdata[i];
    if (o->enabled_at > r->enabled_at) {
      cn_reg_free(r);
    } else {
      loader->regs->pdata[i] = r;
      g_hash_table_replace(loader->by_key, r->ident, at);
      cn_reg_free(o);
    }
    return 0;
  }
  g_hash_table_insert(loader->by_key, r->ident, GUINT_TO_POINTER(loader->regs->len));
  g_ptr_array_add(loader->regs, r);
  return 0;
}

void cn_user_drop_reg(cloudnotify_ctx *ctx, cn_user *u, cn_reg *r,
                      cloudnotify_removal_reason reason) {
  cn_sessions_unbind_reg(ctx, u, r);
  cn_outstanding_forget(ctx, u->account, r->ident);
  g_ptr_array_remove(u->regs, r);
  if (reason)
    cn_cb_removed(ctx, u->account, r, reason);
  cn_reg_free(r);
}
