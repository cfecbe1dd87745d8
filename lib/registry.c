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
                                g_hash_table_new(g_str_hash, g_str_equal) };
  CN_COUNT(ctx, CN_C_CACHE_MISSES);
  int rc = cn_store_load(ctx, account, &loader);
  if (rc < 0) {
    for (guint i = 0; i < loader.regs->len; i++)
      cn_reg_free(loader.regs->pdata[i]);
    g_ptr_array_free(loader.regs, TRUE);
    g_hash_table_destroy(loader.by_key);
    user_free(u);
    return CLOUDNOTIFY_ERR_STORE;
  }
  /* Storage may hold more than the limit (a lower push_max_devices, a
   * crash between save and evict): keep the most recently enabled. */
  g_ptr_array_sort(loader.regs, newest_first);
  for (guint i = 0; i < loader.regs->len; i++) {
    cn_reg *r = loader.regs->pdata[i];
    if (i < (guint)ctx->opt.max_devices) {
      g_ptr_array_add(u->regs, r);
      continue;
    }
    cn_log_id(ctx, CLOUDNOTIFY_LOG_INFO, CLOUDNOTIFY_LOG_ID_STORE_SURPLUS_DROPPED,
              "dropping surplus registration %s of %s", r->jid, account);
    if (cn_store_remove(ctx, account, r->jid, r->node) == 0)
      cn_cb_removed(ctx, account, r, CLOUDNOTIFY_REMOVED_EVICTED);
    cn_reg_free(r);
  }
  g_ptr_array_free(loader.regs, TRUE);
  g_hash_table_destroy(loader.by_key);

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

int cn_form_validate_text(cloudnotify_ctx *ctx, const char *text, size_t len) {
  return form_parse(ctx, text, len, NULL);
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
