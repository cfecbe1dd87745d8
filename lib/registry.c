/* Users and their registrations: the bounded cache in front of the
 * store, loading (with validation of what storage hands back), and
 * removal with everything that hangs off a registration. */
#include "registry.h"

#include <string.h>

#include "admin.h"
#include "counters.h"
#include "ctx.h"
#include "diag.h"
#include "host.h"
#include "jid.h"
#include "pending.h"
#include "push-ext.h"
#include "reg-policy.h"
#include "rules.h"
#include "xml.h"

struct cloudnotify_loader {
  cloudnotify_ctx *ctx;
  cn_user *user;
  GPtrArray *regs;    /* cn_reg* read so far */
  GHashTable *by_key; /* ident -> index in regs: a hostile store may return
                         thousands of records, so no linear search */
  GHashTable *raw;    /* ident -> GPtrArray of raw_key*: the keys records were
                         stored under when they differ from the normalised
                         one; NULL until the first such record */
  int closed;         /* nonzero once the load is over: what loader_add says */
  gboolean op_owned;  /* freed with the op the host took, not by the load */
};

/* A key as a store holds it, when that is not how the library would
 * write it: a service JID as a client spelled it (mod_cloud_notify keeps
 * "Push.Example." as written) or an empty node. */
typedef struct {
  char *jid;
  char *node;
} raw_key;

static void raw_key_free(gpointer p) {
  raw_key *k = p;
  g_free(k->jid);
  g_free(k->node);
  g_free(k);
}

static void loader_remember_raw(cloudnotify_loader *l, const char *ident,
                                const cloudnotify_record *rec) {
  if (!l->raw)
    l->raw =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
  GPtrArray *keys = g_hash_table_lookup(l->raw, ident);
  if (!keys) {
    keys = g_ptr_array_new_with_free_func(raw_key_free);
    g_hash_table_insert(l->raw, g_strdup(ident), keys);
  }
  raw_key *k = g_new0(raw_key, 1);
  k->jid = g_strdup(rec->jid);
  k->node = g_strdup(rec->node);
  g_ptr_array_add(keys, k);
}

cn_reg *cn_reg_new(cn_user *u, const char *jid, const char *node, const char *form, size_t form_len,
                   int64_t enabled_at) {
  cn_reg *r = g_new0(cn_reg, 1);
  r->user = u;
  /* A million registrations name a handful of app servers and forms:
   * interned, each text is kept once. */
  r->jid = g_ref_string_new_intern(jid);
  r->node = g_strdup(node);
  if (form)
    r->form = memchr(form, 0, form_len) ? g_ref_string_new_len(form, (gssize)form_len)
                                        : g_ref_string_new_intern(form);
  r->form_len = form ? form_len : 0;
  r->enabled_at = enabled_at;
  /* '<' cannot occur in a prepared JID, so the identity is unambiguous. */
  r->ident = g_strconcat(jid, "<", node ? node : "", NULL);
  return r;
}

cloudnotify_record cn_reg_record(const cn_reg *r) {
  cloudnotify_record rec = {
    .jid = r->jid,
    .node = r->node,
    .publish_options = r->ext ? r->stored : r->form,
    .publish_options_len = r->ext ? r->stored_len : r->form_len,
    .enabled_at_ms = r->enabled_at,
    .errors = r->errors,
    .client_id = r->client_id,
  };
  return rec;
}

void cn_reg_free(cn_reg *r) {
  if (!r)
    return;
  g_ref_string_release(r->jid);
  g_free(r->node);
  if (r->form)
    g_ref_string_release(r->form);
  g_free(r->ident);
  g_free(r->client_id);
  cn_reg_set_ext(r, NULL);
  cn_timer_cancel(&r->backoff_timer);
  cn_summary_free(r->held_sum);
  cn_diag_last_free(r->diag);
  g_free(r);
}

void cn_reg_set_ext(cn_reg *r, cn_push_ext *ext) {
  cn_push_ext_free(r->ext);
  /* The text holds the device's key. */
  if (r->stored)
    memset(r->stored, 0, r->stored_len);
  g_free(r->stored);
  r->ext = ext;
  r->stored = NULL;
  r->stored_len = 0;
  if (!ext)
    return;
  GString *s = g_string_new(NULL);
  if (r->form)
    g_string_append_len(s, r->form, (gssize)r->form_len);
  cn_push_ext_serialize(ext, s);
  r->stored_len = s->len;
  r->stored = g_string_free(s, FALSE);
}

static void user_free(cn_user *u) {
  for (guint i = 0; i < u->regs->len; i++)
    cn_reg_free(u->regs->pdata[i]);
  g_ptr_array_free(u->regs, TRUE);
  g_free(u->account);
  g_free(u);
}

void cn_user_free(cn_user *u) {
  user_free(u);
}

cn_reg *cn_user_find_ident(cn_user *u, const char *ident) {
  for (guint i = 0; i < u->regs->len; i++) {
    cn_reg *r = u->regs->pdata[i];
    if (!strcmp(r->ident, ident))
      return r;
  }
  return NULL;
}

cn_reg *cn_user_find_reg(cn_user *u, const char *jid, const char *node) {
  for (guint i = 0; i < u->regs->len; i++) {
    cn_reg *r = u->regs->pdata[i];
    if (!strcmp(r->jid, jid) && g_strcmp0(r->node, node) == 0)
      return r;
  }
  return NULL;
}

/* A cached user is on ctx->user_lru unless cn_users_trim took it off
 * because sessions pin it (see there). */
static gboolean lru_on(const cloudnotify_ctx *ctx, const cn_user *u) {
  return u->lru.prev || u->lru.next || ctx->user_lru.head == &u->lru;
}

void cn_user_lru_unlink(cloudnotify_ctx *ctx, cn_user *u) {
  if (lru_on(ctx, u))
    g_queue_unlink(&ctx->user_lru, &u->lru);
}

void cn_user_touch(cloudnotify_ctx *ctx, cn_user *u) {
  cn_user_lru_unlink(ctx, u);
  g_queue_push_head_link(&ctx->user_lru, &u->lru);
}

void cn_user_unpinned(cloudnotify_ctx *ctx, cn_user *u) {
  if (!u->sessions && !lru_on(ctx, u) && g_hash_table_lookup(ctx->users, u->account) == u)
    g_queue_push_head_link(&ctx->user_lru, &u->lru);
}

void cn_users_trim(cloudnotify_ctx *ctx) {
  GList *l = ctx->user_lru.tail;
  while (l && g_hash_table_size(ctx->users) > (guint)ctx->opt.max_cached_users) {
    cn_user *u = l->data;
    l = l->prev;
    /* A user with sessions stays: sessions point at its registrations.
     * It also leaves the list until it is used again or its last session
     * goes (cn_user_unpinned): with more online users than the bound, a
     * walk that skipped them at every load made each load cost all of
     * them.  The head is the user the caller is about to use. */
    if (u->sessions && &u->lru != ctx->user_lru.head) {
      g_queue_unlink(&ctx->user_lru, &u->lru);
      continue;
    }
    if (u->sessions || &u->lru == ctx->user_lru.head || cn_pending_pinned(ctx, u->account))
      continue;
    g_queue_unlink(&ctx->user_lru, &u->lru);
    g_hash_table_remove(ctx->users, u->account);
    user_free(u);
  }
}

void cn_users_clear(cloudnotify_ctx *ctx) {
  /* Through the table, not the list: pinned users may be off the list. */
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, ctx->users);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    cn_user *u = v;
    cn_user_lru_unlink(ctx, u);
    g_hash_table_iter_steal(&it);
    user_free(u);
  }
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
static GPtrArray *loader_take(cloudnotify_loader *l, GHashTable **raw) {
  GPtrArray *regs = l->regs;
  l->regs = g_ptr_array_new();
  *raw = g_steal_pointer(&l->raw);
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
  if (l->raw)
    g_hash_table_destroy(l->raw);
  l->regs = NULL;
  l->by_key = NULL;
  l->raw = NULL;
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

/* One store call made once a load is answered.  Rows stored under a key
 * that is not normalised are rewritten before the user is cached (save
 * under the normalised key, then remove the stored keys: a failure fails
 * the load, and the next call loads and rewrites again); then the
 * surplus beyond push_max_devices is removed (its normalised key, then
 * its stored keys; a failure spares that registration's removal
 * callback).  Any step may be answered later, like every store call. */
typedef struct {
  cn_reg *r;              /* borrowed: in the user or in surplus */
  const char *jid, *node; /* the key to remove (borrowed); jid NULL: save r */
  gboolean surplus;
  gboolean first, last; /* r's first and last steps */
} load_step;

/* A load answered later, then its rewrites and surplus removals. */
typedef struct {
  cn_task t;
  cn_user *u;          /* not cached until the load and rewrites are done */
  cn_user *cached;     /* u once cached (borrowed) */
  gboolean loaded;     /* the load itself was answered */
  GPtrArray *surplus;  /* cn_reg* */
  GHashTable *raw;     /* the loader's stored keys (steps borrow them) */
  GArray *steps;       /* load_step */
  guint k;             /* the step in progress */
  gboolean reg_failed; /* a step of the surplus registration failed */
} load_job;

static void load_job_free(cn_task *t) {
  load_job *j = (load_job *)t;
  if (j->u)
    user_free(j->u);
  if (j->surplus)
    regs_free(j->surplus);
  if (j->raw)
    g_hash_table_destroy(j->raw);
  if (j->steps)
    g_array_free(j->steps, TRUE);
  cn_task_fini(t);
  g_free(j);
}

static int load_run(cloudnotify_ctx *ctx, cn_task *t);

static load_job *load_job_new(const char *account) {
  load_job *j = g_new0(load_job, 1);
  cn_task_init(&j->t, load_run, load_job_free, account, NULL);
  return j;
}

static void add_steps(load_job *j, cn_reg *r, gboolean surplus) {
  GPtrArray *keys = j->raw ? g_hash_table_lookup(j->raw, r->ident) : NULL;
  if (!surplus && !keys)
    return;
  guint start = j->steps->len;
  load_step st = { r, surplus ? r->jid : NULL, surplus ? r->node : NULL, surplus, TRUE, FALSE };
  g_array_append_val(j->steps, st);
  for (guint i = 0; keys && i < keys->len; i++) {
    const raw_key *k = keys->pdata[i];
    load_step rm = { r, k->jid, k->node, surplus, FALSE, FALSE };
    g_array_append_val(j->steps, rm);
  }
  g_array_index(j->steps, load_step, j->steps->len - 1).last = TRUE;
  (void)start;
}

static void cache_user(cloudnotify_ctx *ctx, load_job *j) {
  cn_user *u = g_steal_pointer(&j->u);
  /* A stale copy is cached only when cloudnotify_account_forget started
   * this load for an account with sessions: they move to the fresh one. */
  cn_user *stale = g_hash_table_lookup(ctx->users, u->account);
  if (stale) {
    cn_user_lru_unlink(ctx, stale);
    g_hash_table_remove(ctx->users, stale->account);
  }
  g_hash_table_insert(ctx->users, u->account, u);
  g_queue_push_head_link(&ctx->user_lru, &u->lru);
  if (stale)
    cn_policy_rebind(ctx, stale, u);
  cn_users_trim(ctx);
  j->cached = u;
}

static int load_failed(cloudnotify_ctx *ctx, load_job *j) {
  cn_log_id(ctx, CLOUDNOTIFY_LOG_ERROR, CLOUDNOTIFY_LOG_ID_STORE_LOAD_FAILED,
            "storage: the registrations of %s could not be rewritten under their "
            "normalised keys",
            j->t.account);
  user_free(g_steal_pointer(&j->u));
  return CLOUDNOTIFY_ERR_STORE;
}

/* The answer rc (0 or STORE) to step k.  Nonzero when the load fails. */
static int step_answered(cloudnotify_ctx *ctx, load_job *j, int rc) {
  const load_step *s = &g_array_index(j->steps, load_step, j->k);
  j->k++;
  if (!s->surplus) {
    if (rc)
      return 1;
    if (s->last)
      cn_log_id(ctx, CLOUDNOTIFY_LOG_INFO, CLOUDNOTIFY_LOG_ID_STORE_KEY_REWRITTEN,
                "storage: registration %s of %s rewritten under its normalised key", s->r->jid,
                j->t.account);
    return 0;
  }
  if (rc)
    j->reg_failed = TRUE;
  if (s->last) {
    if (!j->reg_failed)
      cn_policy_report_removed(ctx, j->t.account, s->r, s->r->leaving);
    j->reg_failed = FALSE;
  }
  return 0;
}

/* Run the steps from k on.  0 once done (the user cached), STORE, or
 * CN_WAIT when a step is answered later. */
static int run_steps(cloudnotify_ctx *ctx, load_job *j) {
  const char *account = j->t.account;
  while (j->k < j->steps->len) {
    const load_step *s = &g_array_index(j->steps, load_step, j->k);
    if (s->surplus && j->u)
      cache_user(ctx, j);
    int rc = CLOUDNOTIFY_ERR_STORE;
    if (!(s->surplus && j->reg_failed)) {
      if (s->surplus && s->first)
        cn_log_id(ctx, CLOUDNOTIFY_LOG_INFO, CLOUDNOTIFY_LOG_ID_STORE_SURPLUS_DROPPED,
                  "dropping surplus registration %s of %s", s->r->jid, account);
      rc = s->jid ? cn_store_remove(ctx, account, s->jid, s->node)
                  : cn_store_save(ctx, account, s->r);
      if (rc == CN_WAIT)
        return CN_WAIT;
    }
    if (step_answered(ctx, j, rc))
      return load_failed(ctx, j);
  }
  if (j->u)
    cache_user(ctx, j);
  return 0;
}

/* The load answered rc with regs (raw: their stored keys): rewrite, cache
 * the user and drop the surplus.  j is the parked job when answered
 * later, else NULL.  Returns 0 (and *out), STORE, CN_PARKED (a step
 * parked; a new job when j is NULL) or, for j, CN_WAIT. */
static int load_finish(cloudnotify_ctx *ctx, cn_user *u, GPtrArray *regs, GHashTable *raw, int rc,
                       cn_user **out, load_job *j) {
  if (cn_store_checked(ctx, "loading", u->account, rc)) {
    regs_free(regs);
    user_free(u);
    if (raw)
      g_hash_table_destroy(raw);
    return CLOUDNOTIFY_ERR_STORE;
  }
  load_job *own = j ? j : load_job_new(u->account);
  own->u = u;
  own->loaded = TRUE;
  own->raw = raw;
  own->surplus = g_ptr_array_new();
  own->steps = g_array_new(FALSE, FALSE, sizeof(load_step));
  cn_policy_trim_loaded(ctx, regs, u->regs, own->surplus);
  g_ptr_array_free(regs, TRUE);
  for (guint i = 0; i < u->regs->len; i++)
    add_steps(own, u->regs->pdata[i], FALSE);
  for (guint i = 0; i < own->surplus->len; i++)
    add_steps(own, own->surplus->pdata[i], TRUE);
  own->k = 0;
  rc = run_steps(ctx, own);
  if (rc == CN_WAIT) {
    if (j)
      return CN_WAIT;
    cn_pending_wait(ctx, &own->t);
    return CN_PARKED;
  }
  if (rc == 0)
    *out = own->cached;
  if (!j)
    load_job_free(&own->t);
  return rc;
}

static int load_run(cloudnotify_ctx *ctx, cn_task *t) {
  load_job *j = (load_job *)t;
  cn_user *out;
  if (!j->loaded) {
    cloudnotify_loader *l = cn_task_loader(t);
    int rc = cn_task_answer(t, NULL, NULL);
    cn_user *u = g_steal_pointer(&j->u);
    GHashTable *raw = NULL;
    GPtrArray *regs = loader_take(l, &raw);
    return load_finish(ctx, u, regs, raw, rc < 0 ? rc : 0, &out, j);
  }
  const load_step *s = &g_array_index(j->steps, load_step, j->k);
  int rc = cn_store_checked(ctx, s->jid ? "removing" : "saving", t->account,
                            cn_task_answer(t, NULL, NULL));
  if (step_answered(ctx, j, rc))
    return load_failed(ctx, j);
  return run_steps(ctx, j);
}

/* The cached user, counted and moved to the front of the cache, or NULL. */
static cn_user *cache_hit(cloudnotify_ctx *ctx, const char *account) {
  cn_user *u = g_hash_table_lookup(ctx->users, account);
  if (u) {
    CN_COUNT(ctx, CN_C_CACHE_HITS);
    cn_user_touch(ctx, u);
  }
  return u;
}

int cn_user_get_input(cloudnotify_ctx *ctx, const char *account, cn_user **out) {
  /* Cache keys are normalised and normalising is idempotent, so a host
   * passing the normalised form (the usual case) skips stringprep, with
   * one lookup. */
  if ((*out = cache_hit(ctx, account)))
    return 0;
  char *bare = cn_account_normalize(account);
  if (!bare)
    return CLOUDNOTIFY_ERR_JID_MALFORMED;
  int rc = cn_user_get(ctx, bare, out);
  g_free(bare);
  return rc;
}

int cn_user_get(cloudnotify_ctx *ctx, const char *account, cn_user **out) {
  cn_user *u = cache_hit(ctx, account);
  if (u) {
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
  CN_COUNT(ctx, CN_C_CACHE_MISSES);
  int rc = cn_store_load(ctx, account, loader);
  if (rc == CN_WAIT) {
    /* The op owns the loader now: records may come until it is answered. */
    load_job *j = load_job_new(account);
    j->u = u;
    cn_pending_wait(ctx, &j->t);
    return CN_PARKED;
  }
  GHashTable *raw = NULL;
  GPtrArray *regs = loader_take(loader, &raw);
  if (!loader->op_owned)
    cn_loader_free(loader);
  return load_finish(ctx, u, regs, raw, rc, out, NULL);
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
  else if (cn_xml_count_children(x, "field", "jabber:x:data") > (unsigned)ctx->opt.max_form_fields)
    rc = CLOUDNOTIFY_ERR_TOO_LARGE;
  else if (canon)
    cn_xml_serialize(canon, x);
  xmlFreeDoc(doc);
  return rc;
}

void cn_form_memo_clear(cloudnotify_ctx *ctx) {
  g_free(ctx->form_memo_text);
  if (ctx->form_memo_canon)
    g_ref_string_release(ctx->form_memo_canon);
  ctx->form_memo_text = ctx->form_memo_canon = NULL;
  ctx->form_memo_len = 0;
}

/* form_parse for a stored form, remembering the last valid one: its
 * verdict depends only on the bytes and the three options compared here,
 * so a load meeting the same text again gets the same answer without
 * parsing it (a store holds the forms of a few app servers, repeated in
 * every registration). */
static int form_parse_stored(cloudnotify_ctx *ctx, const char *text, size_t len, GString *canon) {
  const int64_t opts[3] = { ctx->opt.max_form_size, ctx->opt.max_xml_depth,
                            ctx->opt.max_form_fields };
  if (ctx->form_memo_text && len == ctx->form_memo_len &&
      !memcmp(opts, ctx->form_memo_opts, sizeof opts) && !memcmp(text, ctx->form_memo_text, len)) {
    g_string_append(canon, ctx->form_memo_canon);
    return 0;
  }
  int rc = form_parse(ctx, text, len, canon);
  if (rc || memchr(canon->str, 0, canon->len))
    return rc;
  cn_form_memo_clear(ctx);
  ctx->form_memo_text = g_malloc(len ? len : 1);
  memcpy(ctx->form_memo_text, text, len);
  ctx->form_memo_len = len;
  ctx->form_memo_canon = g_ref_string_new_intern(canon->str);
  memcpy(ctx->form_memo_opts, opts, sizeof opts);
  return 0;
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
  const char *client_id = record->client_id && *record->client_id ? record->client_id : NULL;
  if (!rc && client_id) {
    rc = cn_client_id_check(client_id);
    /* Goes into no stanza, but the host sees it again: held to the rules
     * a session's own identity follows. */
    if (rc == CLOUDNOTIFY_ERR_INVALID_ARGUMENT)
      rc = CLOUDNOTIFY_ERR_XML;
  }
  GString *form = NULL;
  cn_push_ext *ext = NULL;
  if (!rc && record->publish_options && record->publish_options_len) {
    form = g_string_new(NULL);
    rc = form_parse_stored(ctx, record->publish_options, record->publish_options_len, form);
    /* Not a lone form: perhaps a form and Tigase's extensions after it. */
    if (rc) {
      g_string_truncate(form, 0);
      if (!cn_push_ext_from_stored(ctx, record->publish_options, record->publish_options_len, form,
                                   &ext))
        rc = 0;
    }
  }
  if (rc) {
    CN_COUNT(ctx, CN_C_STORE_RECORDS_REJECTED);
    cn_log_id(ctx, CLOUDNOTIFY_LOG_WARN, CLOUDNOTIFY_LOG_ID_STORE_RECORD_INVALID,
              "storage: skipping an invalid registration of %s (%s)", account,
              cloudnotify_strerror(rc));
    g_free(jid);
    if (form)
      g_string_free(form, TRUE);
    return rc;
  }
  gboolean has_form = form && form->len;
  cn_reg *r = cn_reg_new(loader->user, jid, node, has_form ? form->str : NULL,
                         has_form ? form->len : 0, record->enabled_at_ms);
  cn_reg_set_ext(r, ext);
  r->errors = record->errors;
  r->client_id = g_strdup(client_id);
  if (cn_policy_stored_key_stale(record, jid, node))
    loader_remember_raw(loader, r->ident, record);
  g_free(jid);
  if (form)
    g_string_free(form, TRUE);
  /* A store that returns the same key twice: the newer wins. */
  gpointer at;
  if (g_hash_table_lookup_extended(loader->by_key, r->ident, NULL, &at)) {
    guint i = GPOINTER_TO_UINT(at);
    cn_reg *o = loader->regs->pdata[i];
    if (cn_policy_loaded_replaces(o, r)) {
      loader->regs->pdata[i] = r;
      g_hash_table_replace(loader->by_key, r->ident, at);
      cn_reg_free(o);
    } else {
      cn_reg_free(r);
    }
    return 0;
  }
  g_hash_table_insert(loader->by_key, r->ident, GUINT_TO_POINTER(loader->regs->len));
  g_ptr_array_add(loader->regs, r);
  return 0;
}
