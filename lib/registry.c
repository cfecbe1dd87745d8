/* Users and their registrations: the bounded cache in front of the
 * store, loading (with validation of what storage hands back), and
 * removal with everything that hangs off a registration. */
#include "private.h"

#include <string.h>

#include "jid.h"

struct cloudnotify_loader {
  cloudnotify_ctx *ctx;
  cn_user *user;
  GPtrArray *regs;    /* cn_reg* read so far */
  GHashTable *by_key; /* ident -> index in regs: a hostile store may return
                         thousands of records, so no linear search */
  GHashTable *raw;    /* ident -> GPtrArray of raw_key*: the keys records were
                         stored under when they differ from the normalised
                         one; NULL until the first such record */
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
    l->raw = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify)g_ptr_array_unref);
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

/* Remove the rows a registration was stored under besides its normalised
 * key.  0 or CLOUDNOTIFY_ERR_STORE (the rest are still attempted). */
static int remove_raw_keys(cloudnotify_ctx *ctx, const char *account, GPtrArray *keys) {
  int rc = 0;
  for (guint i = 0; keys && i < keys->len; i++) {
    const raw_key *k = keys->pdata[i];
    if (cn_store_remove(ctx, account, k->jid, k->node))
      rc = CLOUDNOTIFY_ERR_STORE;
  }
  return rc;
}

/* Every removal names the normalised key, so a row stored under another
 * spelling would outlive its disable or error removal and come back at
 * the next load, and a re-enable would add a second row.  Such rows are
 * rewritten under the normalised key as they are loaded: saved first,
 * then the original removed, so that a failure half way leaves at worst
 * both rows, which the next load collapses again. */
static int rewrite_raw_keys(cloudnotify_ctx *ctx, cloudnotify_loader *l) {
  if (!l->raw)
    return 0;
  const char *account = l->user->account;
  for (guint i = 0; i < l->regs->len; i++) {
    const cn_reg *r = l->regs->pdata[i];
    GPtrArray *keys = g_hash_table_lookup(l->raw, r->ident);
    if (!keys)
      continue;
    if (cn_store_save(ctx, account, r) || remove_raw_keys(ctx, account, keys))
      return CLOUDNOTIFY_ERR_STORE;
    cn_log_id(ctx, CLOUDNOTIFY_LOG_INFO, CLOUDNOTIFY_LOG_ID_STORE_KEY_REWRITTEN,
              "storage: registration %s of %s rewritten under its normalised key", r->jid,
              account);
    g_hash_table_remove(l->raw, r->ident);
  }
  return 0;
}

static void loader_dispose(cloudnotify_loader *l, gboolean free_regs) {
  for (guint i = 0; free_regs && i < l->regs->len; i++)
    cn_reg_free(l->regs->pdata[i]);
  g_ptr_array_free(l->regs, TRUE);
  g_hash_table_destroy(l->by_key);
  if (l->raw)
    g_hash_table_destroy(l->raw);
}

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
  g_free(r->client_id);
  g_free(r);
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
    if (u->sessions || &u->lru == ctx->user_lru.head)
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

int cn_user_get(cloudnotify_ctx *ctx, const char *account, cn_user **out) {
  cn_user *u = g_hash_table_lookup(ctx->users, account);
  if (u) {
    CN_COUNT(ctx, CN_C_CACHE_HITS);
    cn_user_touch(ctx, u);
    *out = u;
    return 0;
  }
  u = g_new0(cn_user, 1);
  u->account = g_strdup(account);
  u->regs = g_ptr_array_new();
  u->lru.data = u;

  cloudnotify_loader loader = { ctx, u, g_ptr_array_new(),
                                g_hash_table_new(g_str_hash, g_str_equal), NULL };
  CN_COUNT(ctx, CN_C_CACHE_MISSES);
  int rc = cn_store_load(ctx, account, &loader);
  if (rc < 0) {
    loader_dispose(&loader, TRUE);
    user_free(u);
    return CLOUDNOTIFY_ERR_STORE;
  }
  /* Storage may hold more than the limit (a lower push_max_devices, a
   * crash between save and evict): keep the most recently enabled. */
  g_ptr_array_sort(loader.regs, newest_first);
  guint keep = MIN(loader.regs->len, (guint)ctx->opt.max_devices);
  GPtrArray *surplus = g_ptr_array_new();
  while (loader.regs->len > keep)
    g_ptr_array_add(surplus, g_ptr_array_steal_index(loader.regs, loader.regs->len - 1));
  if (rewrite_raw_keys(ctx, &loader)) {
    /* Nothing is cached: the next call loads and rewrites again. */
    for (guint i = 0; i < surplus->len; i++)
      cn_reg_free(surplus->pdata[i]);
    g_ptr_array_free(surplus, TRUE);
    loader_dispose(&loader, TRUE);
    user_free(u);
    cn_log_id(ctx, CLOUDNOTIFY_LOG_ERROR, CLOUDNOTIFY_LOG_ID_STORE_LOAD_FAILED,
              "storage: the registrations of %s could not be rewritten under their "
              "normalised keys", account);
    return CLOUDNOTIFY_ERR_STORE;
  }
  for (guint i = surplus->len; i-- > 0;)
    g_ptr_array_add(loader.regs, surplus->pdata[i]);
  g_ptr_array_free(surplus, TRUE);
  for (guint i = 0; i < loader.regs->len; i++) {
    cn_reg *r = loader.regs->pdata[i];
    if (i < (guint)ctx->opt.max_devices) {
      g_ptr_array_add(u->regs, r);
      continue;
    }
    cn_log_id(ctx, CLOUDNOTIFY_LOG_INFO, CLOUDNOTIFY_LOG_ID_STORE_SURPLUS_DROPPED,
              "dropping surplus registration %s of %s", r->jid, account);
    GPtrArray *raw = loader.raw ? g_hash_table_lookup(loader.raw, r->ident) : NULL;
    if (cn_store_remove(ctx, account, r->jid, r->node) == 0 &&
        remove_raw_keys(ctx, account, raw) == 0)
      cn_cb_removed(ctx, account, r, CLOUDNOTIFY_REMOVED_EVICTED);
    cn_reg_free(r);
  }
  loader_dispose(&loader, FALSE);

  g_hash_table_insert(ctx->users, u->account, u);
  g_queue_push_head_link(&ctx->user_lru, &u->lru);
  cn_users_trim(ctx);
  *out = u;
  return 0;
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

int cloudnotify_loader_add(cloudnotify_loader *loader, const cloudnotify_record *record) {
  if (!loader || !record || !record->jid)
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
  if (!rc && record->publish_options && record->publish_options_len) {
    form = g_string_new(NULL);
    rc = form_parse(ctx, record->publish_options, record->publish_options_len, form);
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
  cn_reg *r = cn_reg_new(loader->user, jid, node, form ? form->str : NULL,
                         form ? form->len : 0, record->enabled_at_ms);
  r->errors = record->errors;
  r->client_id = g_strdup(client_id);
  if (strcmp(record->jid, jid) || (record->node && !node))
    loader_remember_raw(loader, r->ident, record);
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
