/* The store conformance suite (see store-conformance.h).  Public API and
 * cmocka only: no GLib, no libxml2, so that it builds against an
 * installed library with nothing but pkg-config. */
#include "store-conformance.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define ALICE    "alice@example.org"
#define BOB      "bob@example.org"
#define PUSH     "push.example.net"
#define PUSH2    "push2.example.net"
#define MAX_RECS 64

/* A form with text that needs escaping, multi-byte UTF-8 and a line
 * break: a store that mangles bytes (charset conversion, trimming,
 * NUL-terminated copies of a length-led buffer) shows here. */
#define RAW_FORM                                                                                   \
  "<x xmlns='jabber:x:data' type='submit'>"                                                        \
  "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value>"        \
  "</field><field var='secret'><value>a&amp;b &lt;c&gt; \"q\" \xc3\xa9\xe2\x82\xac"                \
  "\xf0\x9f\x98\x80\nline 2</value></field></x>"
#define RAW_FORM2                                                                                  \
  "<x xmlns='jabber:x:data' type='submit'>"                                                        \
  "<field var='FORM_TYPE'><value>http://jabber.org/protocol/pubsub#publish-options</value>"        \
  "</field><field var='endpoint'><value>https://push.example.net/v2/t</value></field></x>"
#define CLIENT_ID "urn:uuid:7a1c\xc3\xa9-\xe3\x82\xaf\xe3\x83\xa9\xe3\x82\xa4"

static const cn_conformance_target *target;

/* ---- Small helpers (no GLib here) ------------------------------------ */

static char *dup_n(const char *s, size_t n) {
  if (!s)
    return NULL;
  char *d = malloc(n + 1);
  assert_non_null(d);
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

static char *dup(const char *s) {
  return s ? dup_n(s, strlen(s)) : NULL;
}

/* A record as the library lists it, copied. */
typedef struct crec {
  char *jid, *node, *form, *client_id;
  size_t form_len;
  int64_t at;
  unsigned errors;
} crec;

typedef struct clist {
  crec r[MAX_RECS];
  int n;
} clist;

static void clist_clear(clist *l) {
  for (int i = 0; i < l->n; i++) {
    free(l->r[i].jid);
    free(l->r[i].node);
    free(l->r[i].form);
    free(l->r[i].client_id);
  }
  l->n = 0;
}

/* The record of l with (jid, node), or NULL. */
static const crec *clist_find(const clist *l, const char *jid, const char *node) {
  for (int i = 0; i < l->n; i++)
    if (!strcmp(l->r[i].jid, jid) &&
        ((!node && !l->r[i].node) || (node && l->r[i].node && !strcmp(node, l->r[i].node))))
      return &l->r[i];
  return NULL;
}

/* A string the store must have kept: a missing one fails the test
 * instead of crashing it. */
#define assert_kept(got, want)                                                                     \
  do {                                                                                             \
    assert_non_null(got);                                                                          \
    assert_string_equal(got, want);                                                                \
  } while (0)

/* ---- The fixture: one store per test ---------------------------------- */

typedef struct fixture {
  cloudnotify_store vt;
  void *sd;
} fixture;

static void drive(fixture *f) {
  if (target->run_until_idle)
    assert_int_equal(target->run_until_idle(target->data, f->sd), 0);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  assert_int_equal(target->create(target->data, &f->vt, &f->sd), 0);
  if (!target->use || !(target->flags & CN_CONFORMANCE_CONTEXT_ONLY)) {
    assert_non_null(f->vt.load);
    assert_non_null(f->vt.save);
    assert_non_null(f->vt.remove);
  }
  /* The store outlives every context of the test (see create). */
  f->vt.destroy = NULL;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  target->destroy(target->data, f->sd);
  free(f);
  return 0;
}

/* A server restart: the store closed and opened again where the target
 * can, and in any case a new context. */
static void restart_store(fixture *f) {
  if (target->reopen)
    assert_int_equal(target->reopen(target->data, &f->sd), 0);
}

/* ---- A small host around one context ---------------------------------- */

typedef struct chost {
  fixture *f;
  cloudnotify_ctx *ctx;
  int64_t now;
  char reply[512]; /* the last client reply, cut */
  int replies;
  char publish_id[128], publish_to[256];
  int publishes;
  int removed;
  cloudnotify_removal_reason removed_reason;
} chost;

/* Value of attribute name in the first tag of xml (' or "), copied into
 * out; "" when absent. */
static void first_tag_attr(const char *xml, size_t len, const char *name, char *out, size_t cap) {
  out[0] = 0;
  const char *end = memchr(xml, '>', len);
  size_t tag = end ? (size_t)(end - xml) : len;
  size_t nl = strlen(name);
  for (size_t i = 1; i + nl + 2 < tag; i++) {
    if (xml[i - 1] != ' ' || memcmp(xml + i, name, nl) || xml[i + nl] != '=')
      continue;
    char q = xml[i + nl + 1];
    const char *v = xml + i + nl + 2;
    const char *e = memchr(v, q, tag - (size_t)(v - xml));
    if (!e || (size_t)(e - v) >= cap)
      return;
    memcpy(out, v, (size_t)(e - v));
    out[e - v] = 0;
    return;
  }
}

static int cb_send(void *ud, cloudnotify_route route, cloudnotify_session *session,
                   const char *account, const char *to, const char *xml, size_t len) {
  chost *h = ud;
  if (route == CLOUDNOTIFY_ROUTE_CLIENT) {
    size_t n = len < sizeof h->reply - 1 ? len : sizeof h->reply - 1;
    memcpy(h->reply, xml, n);
    h->reply[n] = 0;
    h->replies++;
  } else {
    first_tag_attr(xml, len, "id", h->publish_id, sizeof h->publish_id);
    snprintf(h->publish_to, sizeof h->publish_to, "%s", to);
    h->publishes++;
  }
  return 0;
}

static int64_t cb_now(void *ud) {
  return ((chost *)ud)->now;
}

static void cb_removed(void *ud, const char *account, const char *jid, const char *node,
                       cloudnotify_removal_reason reason) {
  chost *h = ud;
  h->removed++;
  h->removed_reason = reason;
}

static void host_drive(chost *h) {
  if (h->f) /* NULL: the context's own memory store, which answers at once */
    drive(h->f);
}

static void host_open(chost *h, fixture *f, int64_t max_devices, int64_t max_errors) {
  memset(h, 0, sizeof *h);
  h->f = f;
  h->now = INT64_C(1767225600000); /* 2026-01-01, ms */
  cloudnotify_callbacks cb = {
    .size = sizeof cb,
    .send = cb_send,
    .now_ms = cb_now,
    .monotonic_ms = cb_now,
    .registration_removed = cb_removed,
  };
  assert_int_equal(cloudnotify_ctx_new(&h->ctx, &cb, h), 0);
  assert_int_equal(cloudnotify_ctx_set_option_int(h->ctx, CLOUDNOTIFY_OPT_MAX_DEVICES, max_devices),
                   0);
  assert_int_equal(cloudnotify_ctx_set_option_int(h->ctx, CLOUDNOTIFY_OPT_MAX_ERRORS, max_errors),
                   0);
  /* The suite pushes one registration several times in a row to see
   * error counts reach the store; the rate limits of 0.3 would hold
   * those pushes back. */
  assert_int_equal(cloudnotify_ctx_set_option_int(h->ctx, CLOUDNOTIFY_OPT_VISIBLE_INTERVAL_MS, 0),
                   0);
  if (f && target->use)
    assert_int_equal(target->use(target->data, f->sd, h->ctx), 0);
  else if (f)
    assert_int_equal(cloudnotify_ctx_set_store(h->ctx, &f->vt, f->sd), 0);
}

static void host_close(chost *h) {
  cloudnotify_ctx_free(h->ctx);
  if (h->f && target->release)
    target->release(target->data, h->f->sd, h->ctx);
  h->ctx = NULL;
}

static int list_cb(void *ud, const char *account, const cloudnotify_record *r) {
  clist *l = ud;
  assert_true(l->n < MAX_RECS);
  crec *c = &l->r[l->n++];
  c->jid = dup(r->jid);
  c->node = dup(r->node);
  c->form = r->publish_options ? dup_n(r->publish_options, r->publish_options_len) : NULL;
  c->form_len = r->publish_options ? r->publish_options_len : 0;
  c->at = r->enabled_at_ms;
  c->errors = r->errors;
  c->client_id = dup(r->client_id);
  return 0;
}

/* The registrations of account as h's context sees them (loading them
 * if needed, the store answering at once or later). */
static void host_list(chost *h, const char *account, clist *out) {
  out->n = 0;
  for (int tries = 0; tries < 100; tries++) {
    int rc = cloudnotify_account_registrations(h->ctx, account, list_cb, out);
    host_drive(h);
    if (rc != CLOUDNOTIFY_ERR_BUSY) {
      assert_int_equal(rc, out->n);
      return;
    }
    clist_clear(out);
  }
  fail_msg("the account stayed busy: run_until_idle did not complete the load");
}

/* What the store holds for account, read by a context that did not exist
 * before (nothing cached) and keeps every record (no device limit
 * trimming what it reads). */
static void stored(fixture *f, const char *account, clist *out) {
  chost h;
  host_open(&h, f, 1000, 1000000);
  host_list(&h, account, out);
  host_close(&h);
}

static char *push_iq(const char *what, const char *jid, const char *node, const char *form) {
  size_t cap = 256 + strlen(jid) + (node ? strlen(node) : 0) + (form ? strlen(form) : 0);
  char *x = malloc(cap);
  assert_non_null(x);
  int n = snprintf(x, cap, "<iq type='set' id='%s-1'><%s xmlns='urn:xmpp:push:0' jid='%s'", what,
                   what, jid);
  if (node)
    n += snprintf(x + n, cap - (size_t)n, " node='%s'", node);
  snprintf(x + n, cap - (size_t)n, ">%s</%s></iq>", form ? form : "", what);
  return x;
}

/* Send an enable or disable and return 1 when the client got a result,
 * once every answer the store gives later has come. */
static int host_iq(chost *h, cloudnotify_session *s, const char *what, const char *jid,
                   const char *node, const char *form) {
  char *x = push_iq(what, jid, node, form);
  int before = h->replies;
  int rc = cloudnotify_handle_client_iq(s, x, strlen(x));
  free(x);
  assert_int_equal(rc, 0);
  host_drive(h);
  assert_int_equal(h->replies, before + 1);
  return strstr(h->reply, "type='result'") || strstr(h->reply, "type=\"result\"");
}

static cloudnotify_session *host_session(chost *h, const char *account, const char *resource,
                                         const char *client_id) {
  cloudnotify_session *s = NULL;
  assert_int_equal(cloudnotify_session_new(h->ctx, account, resource, &s), 0);
  if (client_id)
    assert_int_equal(cloudnotify_session_set_client_id(s, client_id), 0);
  return s;
}

/* The form as the library serialises it: what a listing reports and a
 * load of these bytes gives back unchanged.  Found with the built-in
 * store, so the check of the target's bytes does not depend on it. */
static char *canonical_form(const char *raw) {
  chost h;
  host_open(&h, NULL, 5, 16);
  cloudnotify_session *s = host_session(&h, ALICE, "r", NULL);
  assert_true(host_iq(&h, s, "enable", PUSH, "n", raw));
  clist l = { 0 };
  host_list(&h, ALICE, &l);
  assert_int_equal(l.n, 1);
  char *form = l.r[0].form;
  l.r[0].form = NULL;
  clist_clear(&l);
  cloudnotify_session_free(s);
  host_close(&h);
  return form;
}

/* ---- Direct calls -------------------------------------------------------- */

static void skip_if_context_only(void) {
  if (target->flags & CN_CONFORMANCE_CONTEXT_ONLY)
    skip();
}

static void d_save(fixture *f, const char *account, const cloudnotify_record *r) {
  int rc = f->vt.save(f->sd, account, r);
  if (rc == CLOUDNOTIFY_PENDING)
    fail_msg("save answered later outside any context (no operation to complete): "
             "set CN_CONFORMANCE_CONTEXT_ONLY");
  assert_true(rc >= 0);
  drive(f);
}

static void d_remove(fixture *f, const char *account, const char *jid, const char *node) {
  int rc = f->vt.remove(f->sd, account, jid, node);
  if (rc == CLOUDNOTIFY_PENDING)
    fail_msg("remove answered later outside any context: set CN_CONFORMANCE_CONTEXT_ONLY");
  assert_true(rc >= 0);
  drive(f);
}

static void d_set_errors(fixture *f, const char *account, const char *jid, const char *node,
                         unsigned errors) {
  /* Never waited for: a store that writes later says 0 (or PENDING,
   * which the library takes as 0) and run_until_idle lands it. */
  int rc = f->vt.set_errors(f->sd, account, jid, node, errors);
  assert_true(rc >= 0);
  drive(f);
}

static cloudnotify_record rec_at(const char *jid, const char *node, int64_t at) {
  cloudnotify_record r = { .jid = jid, .node = node, .enabled_at_ms = at };
  return r;
}

static void empty_store_loads_nothing(void **state) {
  fixture *f = *state;
  clist l = { 0 };
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 0);
}

static void load_returns_every_field(void **state) {
  skip_if_context_only();
  fixture *f = *state;
  char *form = canonical_form(RAW_FORM);
  /* The form handed over is length-led and not NUL-terminated: bytes
   * after it must not be stored. */
  size_t flen = strlen(form);
  char *buf = malloc(flen + 8);
  assert_non_null(buf);
  memcpy(buf, form, flen);
  memcpy(buf + flen, "JUNK!!!", 8);
  cloudnotify_record full = { .jid = PUSH,
                              .node = "node-\xc3\xa9",
                              .publish_options = buf,
                              .publish_options_len = flen,
                              .enabled_at_ms = INT64_C(4102444800123), /* beyond 32 bits */
                              .errors = 7,
                              .client_id = CLIENT_ID };
  d_save(f, ALICE, &full);
  cloudnotify_record bare = rec_at(PUSH2, NULL, 1);
  d_save(f, ALICE, &bare);
  free(buf);

  clist l = { 0 };
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 2);
  const crec *a = clist_find(&l, PUSH, "node-\xc3\xa9");
  assert_non_null(a);
  assert_non_null(a->form);
  assert_int_equal(a->form_len, flen);
  assert_memory_equal(a->form, form, flen);
  assert_true(a->at == INT64_C(4102444800123));
  assert_int_equal(a->errors, 7);
  assert_non_null(a->client_id);
  assert_kept(a->client_id, CLIENT_ID);
  const crec *b = clist_find(&l, PUSH2, NULL);
  assert_non_null(b);
  assert_null(b->form);
  assert_int_equal(b->form_len, 0);
  assert_true(b->at == 1);
  assert_int_equal(b->errors, 0);
  assert_null(b->client_id);
  clist_clear(&l);
  free(form);
}

static void save_replaces_by_key(void **state) {
  skip_if_context_only();
  fixture *f = *state;
  char *form = canonical_form(RAW_FORM);
  cloudnotify_record first = { .jid = PUSH,
                               .node = "n",
                               .publish_options = form,
                               .publish_options_len = strlen(form),
                               .enabled_at_ms = 10,
                               .errors = 4,
                               .client_id = "first" };
  d_save(f, ALICE, &first);
  /* Every field replaced, the ones now absent included. */
  cloudnotify_record second = rec_at(PUSH, "n", 20);
  d_save(f, ALICE, &second);
  clist l = { 0 };
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 1);
  assert_true(l.r[0].at == 20);
  assert_null(l.r[0].form);
  assert_int_equal(l.r[0].errors, 0);
  assert_null(l.r[0].client_id);
  clist_clear(&l);
  free(form);
}

/* NULL and "" are different keys to a store: the library rewrites a row
 * stored with node "" by saving it under NULL and then removing "", which
 * a store that mixes them up turns into losing the registration. */
static void null_and_empty_node_are_distinct(void **state) {
  skip_if_context_only();
  fixture *f = *state;
  cloudnotify_record none = rec_at(PUSH, NULL, 1), empty = rec_at(PUSH, "", 2);
  d_save(f, ALICE, &none);
  d_save(f, ALICE, &empty);
  d_remove(f, ALICE, PUSH, "");
  clist l = { 0 };
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 1);
  assert_null(l.r[0].node);
  assert_true(l.r[0].at == 1);
  clist_clear(&l);

  d_save(f, BOB, &none);
  d_save(f, BOB, &empty);
  d_remove(f, BOB, PUSH, NULL);
  /* The "" row is what is left; loading rewrites it under NULL. */
  stored(f, BOB, &l);
  assert_int_equal(l.n, 1);
  assert_null(l.r[0].node);
  assert_true(l.r[0].at == 2);
  clist_clear(&l);
}

static void keys_compare_exactly(void **state) {
  skip_if_context_only();
  fixture *f = *state;
  /* node NULL is one registration, not every node of the JID; nodes and
   * JIDs compare byte for byte (no case folding). */
  cloudnotify_record a = rec_at(PUSH, NULL, 1), b = rec_at(PUSH, "n", 2), c = rec_at(PUSH, "N", 3),
                     d = rec_at(PUSH2, "n", 4);
  d_save(f, ALICE, &a);
  d_save(f, ALICE, &b);
  d_save(f, ALICE, &c);
  d_save(f, ALICE, &d);
  clist l = { 0 };
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 4);
  clist_clear(&l);
  d_remove(f, ALICE, PUSH, NULL);
  d_remove(f, ALICE, PUSH, "n");
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 2);
  assert_non_null(clist_find(&l, PUSH, "N"));
  assert_non_null(clist_find(&l, PUSH2, "n"));
  clist_clear(&l);
}

/* A service JID stored as a client wrote it (mod_cloud_notify keeps it
 * so) is rewritten by the load: save under the normalised JID, then
 * remove under the stored one.  A store comparing JIDs without case
 * would delete the row it just saved. */
static void load_rewrite_of_a_stored_spelling(void **state) {
  skip_if_context_only();
  fixture *f = *state;
  cloudnotify_record odd = rec_at("PUSH.Example.NET", "n", 5);
  d_save(f, ALICE, &odd);
  clist l = { 0 };
  stored(f, ALICE, &l); /* loads and rewrites */
  assert_int_equal(l.n, 1);
  assert_kept(l.r[0].jid, PUSH);
  clist_clear(&l);
  restart_store(f);
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 1);
  assert_kept(l.r[0].jid, PUSH);
  assert_true(l.r[0].at == 5);
  clist_clear(&l);
  /* Only the normalised row is left: removing it empties the account. */
  d_remove(f, ALICE, PUSH, "n");
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 0);
}

static void remove_missing_succeeds(void **state) {
  skip_if_context_only();
  fixture *f = *state;
  d_remove(f, ALICE, PUSH, "n");
  d_remove(f, ALICE, PUSH, NULL);
  cloudnotify_record r = rec_at(PUSH, "n", 1);
  d_save(f, ALICE, &r);
  d_remove(f, ALICE, PUSH, "other");
  d_remove(f, ALICE, PUSH2, "n");
  d_remove(f, ALICE, PUSH, "n");
  d_remove(f, ALICE, PUSH, "n"); /* twice */
  clist l = { 0 };
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 0);
}

static void set_errors_updates_only_the_count(void **state) {
  skip_if_context_only();
  fixture *f = *state;
  if (!f->vt.set_errors)
    skip(); /* optional: counts then live in memory only */
  char *form = canonical_form(RAW_FORM2);
  cloudnotify_record r = { .jid = PUSH,
                           .node = "n",
                           .publish_options = form,
                           .publish_options_len = strlen(form),
                           .enabled_at_ms = 99,
                           .client_id = "c" };
  d_save(f, ALICE, &r);
  d_set_errors(f, ALICE, PUSH, "n", 5);
  /* Missing records, accounts and nodes: not an error, nothing created. */
  d_set_errors(f, ALICE, PUSH, "other", 3);
  d_set_errors(f, ALICE, PUSH, NULL, 3);
  d_set_errors(f, BOB, PUSH, "n", 3);
  clist l = { 0 };
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 1);
  assert_int_equal(l.r[0].errors, 5);
  assert_true(l.r[0].at == 99);
  assert_kept(l.r[0].client_id, "c");
  assert_int_equal(l.r[0].form_len, strlen(form));
  assert_memory_equal(l.r[0].form, form, strlen(form));
  clist_clear(&l);
  stored(f, BOB, &l);
  assert_int_equal(l.n, 0);
  d_set_errors(f, ALICE, PUSH, "n", 0);
  stored(f, ALICE, &l);
  assert_int_equal(l.r[0].errors, 0);
  clist_clear(&l);
  free(form);
}

static void accounts_are_isolated(void **state) {
  skip_if_context_only();
  fixture *f = *state;
  cloudnotify_record a = rec_at(PUSH, "n", 1), b = rec_at(PUSH, "n", 2);
  a.client_id = "alice-phone";
  b.client_id = "bob-phone";
  d_save(f, ALICE, &a);
  d_save(f, BOB, &b);
  if (f->vt.set_errors)
    d_set_errors(f, ALICE, PUSH, "n", 9);
  clist l = { 0 };
  stored(f, BOB, &l);
  assert_int_equal(l.n, 1);
  assert_true(l.r[0].at == 2);
  assert_int_equal(l.r[0].errors, 0);
  assert_kept(l.r[0].client_id, "bob-phone");
  clist_clear(&l);
  d_remove(f, ALICE, PUSH, "n");
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 0);
  stored(f, BOB, &l);
  assert_int_equal(l.n, 1);
  clist_clear(&l);
  /* An account whose name extends another's is another account. */
  stored(f, "bob@example.org.uk", &l);
  assert_int_equal(l.n, 0);
}

static void many_registrations_and_accounts(void **state) {
  skip_if_context_only();
  fixture *f = *state;
  char account[64], node[32];
  for (int u = 0; u < 20; u++) {
    snprintf(account, sizeof account, "user%d@example.org", u);
    for (int i = 0; i <= u % 7; i++) {
      snprintf(node, sizeof node, "node-%d", i);
      cloudnotify_record r = rec_at(PUSH, node, 1000 * u + i);
      d_save(f, account, &r);
    }
  }
  clist l = { 0 };
  for (int u = 0; u < 20; u++) {
    snprintf(account, sizeof account, "user%d@example.org", u);
    stored(f, account, &l);
    assert_int_equal(l.n, u % 7 + 1);
    for (int i = 0; i < l.n; i++)
      assert_true(l.r[i].at / 1000 == u);
    clist_clear(&l);
  }
}

/* ---- Through a context ---------------------------------------------------- */

static void enable_survives_restart(void **state) {
  fixture *f = *state;
  char *form = canonical_form(RAW_FORM);
  chost h;
  host_open(&h, f, 5, 16);
  cloudnotify_session *s = host_session(&h, ALICE, "phone", CLIENT_ID);
  assert_true(host_iq(&h, s, "enable", PUSH, "n", RAW_FORM));
  int64_t at = h.now;
  cloudnotify_session_free(s);
  host_close(&h);

  restart_store(f);
  clist l = { 0 };
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 1);
  assert_kept(l.r[0].jid, PUSH);
  assert_kept(l.r[0].node, "n");
  assert_true(l.r[0].at == at);
  assert_int_equal(l.r[0].errors, 0);
  assert_kept(l.r[0].client_id, CLIENT_ID);
  assert_int_equal(l.r[0].form_len, strlen(form));
  assert_memory_equal(l.r[0].form, form, strlen(form));
  clist_clear(&l);
  free(form);
}

static void enable_again_replaces(void **state) {
  fixture *f = *state;
  chost h;
  host_open(&h, f, 5, 16);
  cloudnotify_session *s = host_session(&h, ALICE, "phone", "one");
  assert_true(host_iq(&h, s, "enable", PUSH, NULL, RAW_FORM));
  h.now += 1000;
  assert_int_equal(cloudnotify_session_set_client_id(s, "two"), 0);
  assert_true(host_iq(&h, s, "enable", PUSH, NULL, NULL));
  int64_t at = h.now;
  cloudnotify_session_free(s);
  host_close(&h);

  restart_store(f);
  clist l = { 0 };
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 1);
  assert_null(l.r[0].node);
  assert_true(l.r[0].at == at);
  assert_null(l.r[0].form);
  assert_kept(l.r[0].client_id, "two");
  clist_clear(&l);
}

static void disable_reaches_store(void **state) {
  fixture *f = *state;
  chost h;
  host_open(&h, f, 5, 16);
  cloudnotify_session *s = host_session(&h, ALICE, "phone", NULL);
  /* Three devices: one client identity each, or they would replace each
   * other (0.3). */
  assert_true(host_iq(&h, s, "enable", PUSH, "a", NULL));
  h.now++;
  assert_int_equal(cloudnotify_session_set_client_id(s, "dev-b"), 0);
  assert_true(host_iq(&h, s, "enable", PUSH, "b", NULL));
  h.now++;
  assert_int_equal(cloudnotify_session_set_client_id(s, "dev-c"), 0);
  assert_true(host_iq(&h, s, "enable", PUSH2, "a", NULL));
  assert_true(host_iq(&h, s, "disable", PUSH, "a", NULL));
  clist l = { 0 };
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 2);
  assert_null(clist_find(&l, PUSH, "a"));
  clist_clear(&l);
  /* Without node: every node of that service. */
  assert_true(host_iq(&h, s, "disable", PUSH, NULL, NULL));
  cloudnotify_session_free(s);
  host_close(&h);
  restart_store(f);
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 1);
  assert_non_null(clist_find(&l, PUSH2, "a"));
  clist_clear(&l);
}

static void device_limit_eviction_reaches_store(void **state) {
  fixture *f = *state;
  chost h;
  /* The default limit, 5: a store that keeps a limit of its own (the
   * PostgreSQL store, in its transaction) is configured with the same. */
  host_open(&h, f, 5, 16);
  cloudnotify_session *s = host_session(&h, ALICE, "phone", NULL);
  char node[16];
  for (int i = 0; i < 6; i++) {
    h.now += 10;
    snprintf(node, sizeof node, "device-%d", i);
    /* One client identity per device (0.3). */
    assert_int_equal(cloudnotify_session_set_client_id(s, node), 0);
    assert_true(host_iq(&h, s, "enable", PUSH, node, NULL));
  }
  assert_int_equal(h.removed, 1);
  assert_int_equal(h.removed_reason, CLOUDNOTIFY_REMOVED_EVICTED);
  cloudnotify_session_free(s);
  host_close(&h);
  restart_store(f);
  clist l = { 0 };
  stored(f, ALICE, &l); /* a reader without limit: the store itself */
  assert_int_equal(l.n, 5);
  assert_null(clist_find(&l, PUSH, "device-0"));
  for (int i = 1; i < 6; i++) {
    snprintf(node, sizeof node, "device-%d", i);
    assert_non_null(clist_find(&l, PUSH, node));
  }
  clist_clear(&l);
}

/* Offline message for ALICE and the app server's answer to its publish. */
static void push_and_answer(chost *h, const char *type) {
  static const char msg[] = "<message xmlns='jabber:client' type='chat' from='romeo@example.net/x'"
                            " to='" ALICE "' id='m-%d'><body>hi</body></message>";
  char x[512];
  snprintf(x, sizeof x, msg, h->publishes);
  int before = h->publishes;
  unsigned pushes = 0;
  assert_int_equal(cloudnotify_message_offline(h->ctx, ALICE, x, strlen(x), &pushes), 0);
  host_drive(h);
  assert_int_equal(h->publishes, before + 1);
  if (!strcmp(type, "result"))
    snprintf(x, sizeof x, "<iq type='result' id='%s' from='%s'/>", h->publish_id, h->publish_to);
  else
    snprintf(x, sizeof x,
             "<iq type='error' id='%s' from='%s'><error type='%s'><item-not-found"
             " xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
             h->publish_id, h->publish_to, type);
  assert_int_equal(cloudnotify_handle_app_reply(h->ctx, x, strlen(x)), 0);
  host_drive(h);
}

static void error_counts_and_removal_reach_store(void **state) {
  fixture *f = *state;
  chost h;
  host_open(&h, f, 5, 3);
  cloudnotify_session *s = host_session(&h, ALICE, "phone", NULL);
  assert_true(host_iq(&h, s, "enable", PUSH, "n", NULL));
  cloudnotify_session_free(s);
  clist l = { 0 };
  push_and_answer(&h, "cancel");
  push_and_answer(&h, "cancel");
  if (f->vt.set_errors) {
    /* Counts are stored: another node or a restart goes on from 2. */
    stored(f, ALICE, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.r[0].errors, 2);
    clist_clear(&l);
    push_and_answer(&h, "result");
    stored(f, ALICE, &l);
    assert_int_equal(l.r[0].errors, 0);
    clist_clear(&l);
    push_and_answer(&h, "cancel");
    push_and_answer(&h, "cancel");
  }
  push_and_answer(&h, "cancel");
  assert_int_equal(h.removed, 1);
  assert_int_equal(h.removed_reason, CLOUDNOTIFY_REMOVED_ERRORS);
  host_close(&h);
  restart_store(f);
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 0);
}

static void remove_all_empties_the_account(void **state) {
  fixture *f = *state;
  chost h;
  host_open(&h, f, 5, 16);
  cloudnotify_session *a = host_session(&h, ALICE, "phone", NULL);
  cloudnotify_session *b = host_session(&h, BOB, "phone", NULL);
  assert_true(host_iq(&h, a, "enable", PUSH, "1", NULL));
  h.now++;
  assert_true(host_iq(&h, a, "enable", PUSH2, NULL, NULL));
  assert_true(host_iq(&h, b, "enable", PUSH, "1", NULL));
  unsigned removed = 0;
  int rc = cloudnotify_account_remove_all(h.ctx, ALICE, &removed);
  host_drive(&h);
  assert_int_equal(rc, 0);
  cloudnotify_session_free(a);
  cloudnotify_session_free(b);
  host_close(&h);
  restart_store(f);
  clist l = { 0 };
  stored(f, ALICE, &l);
  assert_int_equal(l.n, 0);
  stored(f, BOB, &l);
  assert_int_equal(l.n, 1);
  clist_clear(&l);
}

/* A second context on the same store (another node of a cluster, or the
 * server after a restart without the first one closing) reads what the
 * first one wrote as soon as the write was acknowledged. */
static void second_context_sees_acknowledged_writes(void **state) {
  fixture *f = *state;
  chost one, two;
  host_open(&one, f, 5, 16);
  host_open(&two, f, 5, 16);
  cloudnotify_session *s = host_session(&one, ALICE, "phone", "x");
  assert_true(host_iq(&one, s, "enable", PUSH, "n", NULL));
  clist l = { 0 };
  host_list(&two, ALICE, &l);
  assert_int_equal(l.n, 1);
  assert_kept(l.r[0].client_id, "x");
  clist_clear(&l);
  assert_true(host_iq(&one, s, "disable", PUSH, "n", NULL));
  assert_int_equal(cloudnotify_account_forget(two.ctx, ALICE), 0);
  host_drive(&two);
  host_list(&two, ALICE, &l);
  assert_int_equal(l.n, 0);
  cloudnotify_session_free(s);
  host_close(&one);
  host_close(&two);
}

int cn_conformance_run(const cn_conformance_target *t) {
  target = t;
  /* One test or a glob of them, e.g. while fixing a store. */
  const char *only = getenv("CN_CONFORMANCE_FILTER");
  if (only && *only)
    cmocka_set_test_filter(only);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    T(empty_store_loads_nothing),
    T(load_returns_every_field),
    T(save_replaces_by_key),
    T(null_and_empty_node_are_distinct),
    T(keys_compare_exactly),
    T(load_rewrite_of_a_stored_spelling),
    T(remove_missing_succeeds),
    T(set_errors_updates_only_the_count),
    T(accounts_are_isolated),
    T(many_registrations_and_accounts),
    T(enable_survives_restart),
    T(enable_again_replaces),
    T(disable_reaches_store),
    T(device_limit_eviction_reaches_store),
    T(error_counts_and_removal_reach_store),
    T(remove_all_empties_the_account),
    T(second_context_sees_acknowledged_writes),
  };
#undef T
  return _cmocka_run_group_tests(t->name, tests, sizeof tests / sizeof tests[0], NULL, NULL);
}
