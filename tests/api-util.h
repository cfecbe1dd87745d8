/* Helpers shared by the API suites (test-enable, test-notify,
 * test-appreply, test-triggers, test-api): XPath queries on what the
 * fake host recorded, and a small store whose contents and failures the
 * tests control.  Everything is static so each suite compiles it alone
 * and the meson rule stays "one .c plus harness.c". */
#ifndef CN_TEST_API_UTIL_H
#define CN_TEST_API_UTIL_H

#include "harness.h"

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <string.h>

#define ALICE          "juliet@capulet.example"
#define ALICE_RES      "balcony"
#define ALICE_FULL     ALICE "/" ALICE_RES
#define PUSH_JID       "push.example"
#define OTHER_PUSH_JID "other.example"

#define FORM_WITH_SECRET(secret)                                                                   \
  "<x xmlns='jabber:x:data' type='submit'>"                                                        \
  "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options"                \
  "</value></field><field var='secret'><value>" secret "</value></field></x>"

/* ---- XPath on recorded stanzas ---------------------------------------- */

/* Evaluate expr on xml with the prefixes ps (pubsub), x (data forms), p
 * (push), st (stanza errors); the result cast to a string, g_free it.  The
 * stanzas the library builds carry no default namespace, so /iq works. */
static inline char *au_xpath(const char *xml, const char *expr) {
  xmlDoc *d = xmlReadMemory(xml, (int)strlen(xml), NULL, "UTF-8", XML_PARSE_NONET);
  assert_non_null(d);
  xmlXPathContext *c = xmlXPathNewContext(d);
  xmlXPathRegisterNs(c, BAD_CAST "ps", BAD_CAST "http://jabber.org/protocol/pubsub");
  xmlXPathRegisterNs(c, BAD_CAST "x", BAD_CAST "jabber:x:data");
  xmlXPathRegisterNs(c, BAD_CAST "p", BAD_CAST "urn:xmpp:push:0");
  xmlXPathRegisterNs(c, BAD_CAST "st", BAD_CAST "urn:ietf:params:xml:ns:xmpp-stanzas");
  xmlXPathObject *o = xmlXPathEvalExpression(BAD_CAST expr, c);
  assert_non_null(o);
  xmlChar *s = xmlXPathCastToString(o);
  char *r = g_strdup((const char *)s);
  xmlFree(s);
  xmlXPathFreeObject(o);
  xmlXPathFreeContext(c);
  xmlFreeDoc(d);
  return r;
}

static inline long au_xpath_count(const char *xml, const char *expr) {
  char *q = g_strdup_printf("count(%s)", expr);
  char *s = au_xpath(xml, q);
  long n = strtol(s, NULL, 10);
  g_free(q);
  g_free(s);
  return n;
}

static inline void au_assert_xpath(const char *xml, const char *expr, const char *want) {
  char *got = au_xpath(xml, expr);
  if (strcmp(got, want))
    print_error("%s on %s: got '%s', want '%s'\n", expr, xml, got, want);
  assert_string_equal(got, want);
  g_free(got);
}

/* Notification form field of a publish: NULL when the field is absent.
 * Only the summary form counts, not the publish-options form. */
static inline char *au_summary_field(const char *xml, const char *var) {
  char *q = g_strdup_printf("/iq/ps:pubsub/ps:publish/ps:item/p:notification/x:x"
                            "/x:field[@var='%s']",
                            var);
  char *r = NULL;
  if (au_xpath_count(xml, q) > 0) {
    char *v = g_strdup_printf("string(%s/x:value)", q);
    r = au_xpath(xml, v);
    g_free(v);
  }
  g_free(q);
  return r;
}

static inline void au_assert_summary_field(const char *xml, const char *var, const char *want) {
  char *got = au_summary_field(xml, var);
  if (!want) {
    if (got)
      print_error("field %s present ('%s') in %s\n", var, got, xml);
    assert_null(got);
    return;
  }
  assert_non_null(got);
  assert_string_equal(got, want);
  g_free(got);
  /* fh_field must agree: the summary form comes first in a publish. */
  char *f = fh_field(xml, var);
  assert_string_equal(f, want);
  g_free(f);
}

/* ---- recordings -------------------------------------------------------- */

/* A session with stream management enabled, as nearly every test wants:
 * without it hibernation and acks are refused (test-admin checks that). */
static inline cloudnotify_session *au_session(fake_host *h, const char *account,
                                              const char *resource) {
  cloudnotify_session *s = NULL;
  assert_int_equal(cloudnotify_session_new(h->ctx, account, resource, &s), 0);
  assert_non_null(s);
  assert_int_equal(cloudnotify_session_sm_enabled(s), 0);
  return s;
}

/* The outcome of the last client reply, which must be the last stanza. */
static inline void au_assert_last_reply(const fake_host *h, const char *outcome) {
  const fh_sent *last = fh_last(h);
  assert_non_null(last);
  assert_int_equal(last->route, CLOUDNOTIFY_ROUTE_CLIENT);
  char *o = fh_outcome(last->xml);
  if (!o || strcmp(o, outcome))
    print_error("reply %s, want %s\n", last->xml, outcome);
  assert_non_null(o);
  assert_string_equal(o, outcome);
  g_free(o);
}

/* Enable and expect an empty result. */
static inline void au_enable_ok(fake_host *h, cloudnotify_session *s, const char *jid,
                                const char *node, const char *form) {
  unsigned before = h->sent->len;
  assert_int_equal(fh_enable(s, jid, node, form), 0);
  assert_int_equal(h->sent->len, before + 1);
  au_assert_last_reply(h, "result");
}

/* An enable from s as a device of its own (0.3): the session's client id
 * is first set to one named after (jid, node), so that the registrations
 * a test enables from one session stay apart instead of replacing each
 * other by client identity (docs/features.md, "The registration follows
 * the client"). */
static inline void au_enable_device(fake_host *h, cloudnotify_session *s, const char *jid,
                                    const char *node, const char *form) {
  char *id = g_strdup_printf("dev:%s<%s", jid, node ? node : "");
  assert_int_equal(cloudnotify_session_set_client_id(s, id), 0);
  g_free(id);
  au_enable_ok(h, s, jid, node, form);
}

/* Publishes recorded to (jid, node); node NULL counts publishes without
 * a node attribute. */
static inline unsigned au_publishes_to(const fake_host *h, const char *jid, const char *node) {
  unsigned n = 0;
  for (unsigned i = 0; fh_publish(h, i); i++) {
    const fh_sent *p = fh_publish(h, i);
    if (strcmp(p->to, jid))
      continue;
    long has_node = au_xpath_count(p->xml, "/iq/ps:pubsub/ps:publish/@node");
    if (!node) {
      n += has_node == 0;
      continue;
    }
    char *got = au_xpath(p->xml, "string(/iq/ps:pubsub/ps:publish/@node)");
    n += has_node && !strcmp(got, node);
    g_free(got);
  }
  return n;
}

static inline unsigned au_publishes(const fake_host *h) {
  return fh_count(h, CLOUDNOTIFY_ROUTE_APP_SERVER);
}

/* Offline trigger with the message as text; returns the pushes. */
static inline unsigned au_offline(fake_host *h, const char *account, const char *xml) {
  unsigned n = 12345;
  assert_int_equal(cloudnotify_message_offline(h->ctx, account, xml, strlen(xml), &n), 0);
  return n;
}

/* Offline trigger of a fresh chat message (distinct id each call). */
static inline unsigned au_offline_msg(fake_host *h, const char *account, const char *body) {
  static unsigned seq;
  char id[32];
  g_snprintf(id, sizeof id, "au-%u", ++seq);
  char *m = fh_message(account, id, body);
  unsigned n = au_offline(h, account, m);
  g_free(m);
  return n;
}

static inline unsigned au_ping(fake_host *h, const char *account) {
  unsigned n = 12345;
  assert_int_equal(cloudnotify_ping(h->ctx, account, NULL, 0, &n), 0);
  return n;
}

static inline gboolean au_sent_contains(const fake_host *h, const char *needle) {
  for (guint i = 0; i < h->sent->len; i++)
    if (strstr(((const fh_sent *)h->sent->pdata[i])->xml, needle))
      return TRUE;
  return FALSE;
}

static inline gboolean au_log_contains(const fake_host *h, const char *needle) {
  for (guint i = 0; i < h->logs->len; i++)
    if (strstr(h->logs->pdata[i], needle))
      return TRUE;
  return FALSE;
}

static inline const fh_removed *au_removed(const fake_host *h, unsigned i) {
  assert_true(i < h->removed->len);
  return h->removed->pdata[i];
}

static inline void au_set(fake_host *h, const char *name, const char *value) {
  assert_int_equal(cloudnotify_ctx_set_option(h->ctx, name, value), 0);
}

/* ---- a controllable store --------------------------------------------- */

typedef struct au_record {
  char *account, *jid, *node, *form;
  size_t form_len;
  int64_t enabled_at;
} au_record;

typedef struct au_store {
  GPtrArray *records; /* au_record*, in insertion order */
  int fail_load, fail_save, fail_remove;
  unsigned fail_remove_after; /* nonzero: removes beyond this many fail */
  unsigned loads, saves, removes, destroys;
} au_store;

static inline void au_record_free(gpointer p) {
  au_record *r = p;
  g_free(r->account);
  g_free(r->jid);
  g_free(r->node);
  g_free(r->form);
  g_free(r);
}

static inline void au_store_init(au_store *st) {
  memset(st, 0, sizeof *st);
  st->records = g_ptr_array_new_with_free_func(au_record_free);
}

static inline void au_store_fini(au_store *st) {
  g_ptr_array_free(st->records, TRUE);
}

static inline int au_store_find(const au_store *st, const char *account, const char *jid,
                                const char *node) {
  for (guint i = 0; i < st->records->len; i++) {
    const au_record *r = st->records->pdata[i];
    if (!strcmp(r->account, account) && !strcmp(r->jid, jid) && !g_strcmp0(r->node, node))
      return (int)i;
  }
  return -1;
}

static inline int au_store_load(void *data, const char *account, cloudnotify_loader *loader) {
  au_store *st = data;
  st->loads++;
  if (st->fail_load)
    return -1;
  /* Newest first: the reverse of insertion, so that an engine relying on
   * the order records come back in, rather than on enabled_at, would
   * evict the wrong one. */
  for (guint i = st->records->len; i-- > 0;) {
    const au_record *r = st->records->pdata[i];
    if (strcmp(r->account, account))
      continue;
    cloudnotify_record rec = { .jid = r->jid,
                               .node = r->node,
                               .publish_options = r->form,
                               .publish_options_len = r->form_len,
                               .enabled_at_ms = r->enabled_at };
    cloudnotify_loader_add(loader, &rec);
  }
  return 0;
}

static inline int au_store_save(void *data, const char *account, const cloudnotify_record *rec) {
  au_store *st = data;
  st->saves++;
  if (st->fail_save)
    return -1;
  int i = au_store_find(st, account, rec->jid, rec->node);
  if (i >= 0)
    g_ptr_array_remove_index(st->records, (guint)i);
  au_record *r = g_new0(au_record, 1);
  r->account = g_strdup(account);
  r->jid = g_strdup(rec->jid);
  r->node = g_strdup(rec->node);
  r->form = rec->publish_options ? g_strndup(rec->publish_options, rec->publish_options_len) : NULL;
  r->form_len = rec->publish_options ? rec->publish_options_len : 0;
  r->enabled_at = rec->enabled_at_ms;
  g_ptr_array_add(st->records, r);
  return 0;
}

static inline int au_store_remove(void *data, const char *account, const char *jid,
                                  const char *node) {
  au_store *st = data;
  st->removes++;
  if (st->fail_remove || (st->fail_remove_after && st->removes > st->fail_remove_after))
    return -1;
  int i = au_store_find(st, account, jid, node);
  if (i >= 0)
    g_ptr_array_remove_index(st->records, (guint)i);
  return 0;
}

static inline void au_store_destroy(void *data) {
  ((au_store *)data)->destroys++;
}

static inline cloudnotify_store au_store_vtable(void) {
  cloudnotify_store v = {
    .size = sizeof v,
    .load = au_store_load,
    .save = au_store_save,
    .remove = au_store_remove,
    .destroy = au_store_destroy,
  };
  return v;
}

static inline void au_use_store(fake_host *h, au_store *st) {
  cloudnotify_store v = au_store_vtable();
  assert_int_equal(cloudnotify_ctx_set_store(h->ctx, &v, st), 0);
}

#endif
