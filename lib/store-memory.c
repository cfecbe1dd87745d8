/* The default store: registrations kept in process memory, lost at
 * exit.  It goes through the same vtable as any host store so that the
 * engine has one code path. */
#include "store-memory.h"

#include <string.h>

#include <glib.h>

/* One allocation per record: the service JID and the form are interned
 * GRefStrings (a million records name a few app servers and carry a few
 * forms), the node and the client id follow the struct. */
typedef struct {
  char *jid;
  char *form; /* NULL when none */
  size_t form_len;
  int64_t enabled_at;
  unsigned errors;
  gboolean has_node, has_client_id;
  char text[]; /* node NUL client_id NUL (each empty when absent) */
} mem_record;

static const char *rec_node(const mem_record *m) {
  return m->has_node ? m->text : NULL;
}

static const char *rec_client_id(const mem_record *m) {
  return m->has_client_id ? m->text + strlen(m->text) + 1 : NULL;
}

static char *form_ref(const char *form, size_t len) {
  if (!form)
    return NULL;
  /* The vtable gives a length: only a C string can be interned. */
  char *tmp = memchr(form, 0, len) ? NULL : g_strndup(form, len);
  char *ref = tmp ? g_ref_string_new_intern(tmp) : g_ref_string_new_len(form, (gssize)len);
  g_free(tmp);
  return ref;
}

static mem_record *mem_record_new(const char *jid, const char *node, const char *client_id) {
  size_t nl = node ? strlen(node) : 0, cl = client_id ? strlen(client_id) : 0;
  mem_record *m = g_malloc0(sizeof *m + nl + cl + 2);
  m->jid = g_ref_string_new_intern(jid);
  m->has_node = node != NULL;
  m->has_client_id = client_id != NULL;
  if (nl)
    memcpy(m->text, node, nl);
  if (cl)
    memcpy(m->text + nl + 1, client_id, cl);
  return m;
}

static void mem_record_free(gpointer p) {
  mem_record *r = p;
  g_ref_string_release(r->jid);
  if (r->form)
    g_ref_string_release(r->form);
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
                               .node = rec_node(m),
                               .publish_options = m->form,
                               .publish_options_len = m->form_len,
                               .enabled_at_ms = m->enabled_at,
                               .errors = m->errors,
                               .client_id = rec_client_id(m) };
    cloudnotify_loader_add(loader, &rec);
  }
  return 0;
}

static gboolean same_key(const mem_record *m, const char *jid, const char *node) {
  return !strcmp(m->jid, jid) && g_strcmp0(rec_node(m), node) == 0;
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
  /* A record is rewritten whole: its client id lives in its allocation. */
  mem_record *m = mem_record_new(rec->jid, rec->node, rec->client_id);
  m->form = form_ref(rec->publish_options, rec->publish_options_len);
  m->form_len = m->form ? rec->publish_options_len : 0;
  m->enabled_at = rec->enabled_at_ms;
  m->errors = rec->errors;
  for (guint i = 0; i < a->len; i++) {
    if (same_key(a->pdata[i], rec->jid, rec->node)) {
      mem_record_free(a->pdata[i]);
      a->pdata[i] = m;
      return 0;
    }
  }
  g_ptr_array_add(a, m);
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
