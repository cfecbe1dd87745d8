/* The default store: registrations kept in process memory, lost at
 * exit.  It goes through the same vtable as any host store so that the
 * engine has one code path. */
#include "store-memory.h"

#include <string.h>

#include <glib.h>

typedef struct {
  char *jid, *node, *form;
  size_t form_len;
  int64_t enabled_at;
  unsigned errors;
  char *client_id;
} mem_record;

static void mem_record_free(gpointer p) {
  mem_record *r = p;
  g_free(r->jid);
  g_free(r->node);
  g_free(r->form);
  g_free(r->client_id);
  g_free(r);
}

static void mem_array_free(gpointer p) {
  g_ptr_array_free(p, TRUE);
}

static int mem_load(void *data, const char *account, cloudnotify_loader *loader) {
  GPtrArray *a = g_hash_table_lookup(data, account);
  if (!a)
    return 0;
  for (guint i = 0; i < a->len; i++) {
    mem_record *m = a->pdata[i];
    cloudnotify_record rec = { .jid = m->jid,
                               .node = m->node,
                               .publish_options = m->form,
                               .publish_options_len = m->form_len,
                               .enabled_at_ms = m->enabled_at,
                               .errors = m->errors,
                               .client_id = m->client_id };
    cloudnotify_loader_add(loader, &rec);
  }
  return 0;
}

static gboolean same_key(const mem_record *m, const char *jid, const char *node) {
  return !strcmp(m->jid, jid) && g_strcmp0(m->node, node) == 0;
}

static mem_record *mem_find(GPtrArray *a, const char *jid, const char *node) {
  for (guint i = 0; a && i < a->len; i++)
    if (same_key(a->pdata[i], jid, node))
      return a->pdata[i];
  return NULL;
}

static int mem_save(void *data, const char *account, const cloudnotify_record *rec) {
  GPtrArray *a = g_hash_table_lookup(data, account);
  if (!a) {
    a = g_ptr_array_new_with_free_func(mem_record_free);
    g_hash_table_insert(data, g_strdup(account), a);
  }
  mem_record *m = mem_find(a, rec->jid, rec->node);
  if (!m) {
    m = g_new0(mem_record, 1);
    m->jid = g_strdup(rec->jid);
    m->node = g_strdup(rec->node);
    g_ptr_array_add(a, m);
  }
  g_free(m->form);
  m->form = rec->publish_options ? g_strndup(rec->publish_options, rec->publish_options_len) : NULL;
  m->form_len = rec->publish_options ? rec->publish_options_len : 0;
  m->enabled_at = rec->enabled_at_ms;
  m->errors = rec->errors;
  g_free(m->client_id);
  m->client_id = g_strdup(rec->client_id);
  return 0;
}

static int mem_set_errors(void *data, const char *account, const char *jid, const char *node,
                          unsigned errors) {
  mem_record *m = mem_find(g_hash_table_lookup(data, account), jid, node);
  if (m)
    m->errors = errors;
  return 0;
}

static int mem_remove(void *data, const char *account, const char *jid, const char *node) {
  GPtrArray *a = g_hash_table_lookup(data, account);
  if (!a)
    return 0;
  for (guint i = 0; i < a->len; i++) {
    if (same_key(a->pdata[i], jid, node)) {
      g_ptr_array_remove_index(a, i);
      break;
    }
  }
  if (a->len == 0)
    g_hash_table_remove(data, account);
  return 0;
}

static void mem_destroy(void *data) {
  g_hash_table_destroy(data);
}

static const cloudnotify_store memory_vtable = {
  .size = sizeof(cloudnotify_store),
  .load = mem_load,
  .save = mem_save,
  .remove = mem_remove,
  .destroy = mem_destroy,
  .set_errors = mem_set_errors,
};

const cloudnotify_store *cn_store_memory_vtable(void) {
  return &memory_vtable;
}

void *cn_store_memory_new(void) {
  return g_hash_table_new_full(g_str_hash, g_str_equal, g_free, mem_array_free);
}
