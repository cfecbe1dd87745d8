/* Administration (listing, removing and forgetting an account's
 * registrations, error counts kept by the store, client identities) and
 * the session rules of 0.2: has_push, stream management gating, freeing
 * a session or the context from a callback. */
#include "api-util.h"

#include <stdint.h>
#include <string.h>

#define BOB "romeo@montague.example"

/* ---- a store that keeps every field of a record ----------------------- */

typedef struct ad_rec {
  char *account, *jid, *node, *form, *client_id;
  size_t form_len;
  int64_t enabled_at;
  unsigned errors;
} ad_rec;

typedef struct ad_store {
  GPtrArray *recs; /* ad_rec* */
  int fail_load, fail_remove, fail_set_errors;
  unsigned fail_remove_after; /* nonzero: removes beyond this many fail */
  unsigned loads, removes, set_errors_calls;
} ad_store;

static void ad_rec_free(gpointer p) {
  ad_rec *r = p;
  g_free(r->account);
  g_free(r->jid);
  g_free(r->node);
  g_free(r->form);
  g_free(r->client_id);
  g_free(r);
}

static void ad_init(ad_store *st) {
  memset(st, 0, sizeof *st);
  st->recs = g_ptr_array_new_with_free_func(ad_rec_free);
}

static void ad_fini(ad_store *st) {
  g_ptr_array_free(st->recs, TRUE);
}

static ad_rec *ad_find(const ad_store *st, const char *account, const char *jid, const char *node) {
  for (guint i = 0; i < st->recs->len; i++) {
    ad_rec *r = st->recs->pdata[i];
    if (!strcmp(r->account, account) && !strcmp(r->jid, jid) && !g_strcmp0(r->node, node))
      return r;
  }
  return NULL;
}

static unsigned ad_count(const ad_store *st, const char *account) {
  unsigned n = 0;
  for (guint i = 0; i < st->recs->len; i++)
    n += !strcmp(((ad_rec *)st->recs->pdata[i])->account, account);
  return n;
}

static int ad_load(void *data, const char *account, cloudnotify_loader *loader) {
  ad_store *st = data;
  st->loads++;
  if (st->fail_load)
    return -1;
  for (guint i = 0; i < st->recs->len; i++) {
    const ad_rec *r = st->recs->pdata[i];
    if (strcmp(r->account, account))
      continue;
    cloudnotify_record rec = { .jid = r->jid,
                               .node = r->node,
                               .publish_options = r->form,
                               .publish_options_len = r->form_len,
                               .enabled_at_ms = r->enabled_at,
                               .errors = r->errors,
                               .client_id = r->client_id };
    cloudnotify_loader_add(loader, &rec);
  }
  return 0;
}

static void ad_put(ad_store *st, const char *account, const cloudnotify_record *rec) {
  ad_rec *r = ad_find(st, account, rec->jid, rec->node);
  if (r)
    g_ptr_array_remove(st->recs, r);
  r = g_new0(ad_rec, 1);
  r->account = g_strdup(account);
  r->jid = g_strdup(rec->jid);
  r->node = g_strdup(rec->node);
  r->form = rec->publish_options ? g_strndup(rec->publish_options, rec->publish_options_len) : NULL;
  r->form_len = rec->publish_options ? rec->publish_options_len : 0;
  r->enabled_at = rec->enabled_at_ms;
  r->errors = rec->errors;
  r->client_id = g_strdup(rec->client_id);
  g_ptr_array_add(st->recs, r);
}

static int ad_save(void *data, const char *account, const cloudnotify_record *rec) {
  ad_put(data, account, rec);
  return 0;
}

static int ad_remove(void *data, const char *account, const char *jid, const char *node) {
  ad_store *st = data;
  st->removes++;
  if (st->fail_remove || (st->fail_remove_after && st->removes > st->fail_remove_after))
    return -1;
  ad_rec *r = ad_find(st, account, jid, node);
  if (r)
    g_ptr_array_remove(st->recs, r);
  return 0;
}

static int ad_set_errors(void *data, const char *account, const char *jid, const char *node,
                         unsigned errors) {
  ad_store *st = data;
  st->set_errors_calls++;
  if (st->fail_set_errors)
    return -1;
  ad_rec *r = ad_find(st, account, jid, node);
  if (r)
    r->errors = errors;
  return 0;
}

/* with_counts 0: a store of 0.1's shape, that keeps no count. */
static void ad_use(fake_host *h, ad_store *st, int with_counts) {
  cloudnotify_store v = { .size = sizeof v,
                          .load = ad_load,
                          .save = ad_save,
                          .remove = ad_remove,
                          .set_errors = with_counts ? ad_set_errors : NULL };
  assert_int_equal(cloudnotify_ctx_set_store(h->ctx, &v, st), 0);
}

static void ad_add(ad_store *st, const char *account, const char *jid, const char *node, int64_t at,
                   unsigned errors, const char *client_id) {
  cloudnotify_record rec = {
    .jid = jid, .node = node, .enabled_at_ms = at, .errors = errors, .client_id = client_id
  };
  ad_put(st, account, &rec);
}

/* ---- listing ------------------------------------------------------------ */

typedef struct {
  GPtrArray *jids; /* "jid node errors client form" per record */
  unsigned stop_after;
  int reenter_rc;
  cloudnotify_ctx *ctx;
  char *account;
} listing;

static int collect(void *ud, const char *account, const cloudnotify_record *r) {
  listing *l = ud;
  g_free(l->account);
  l->account = g_strdup(account);
  char *form =
      r->publish_options ? g_strndup(r->publish_options, r->publish_options_len) : g_strdup("-");
  g_ptr_array_add(
      l->jids, g_strdup_printf("%s %s %u %s %s %" G_GINT64_FORMAT, r->jid, r->node ? r->node : "-",
                               r->errors, r->client_id ? r->client_id : "-",
                               strstr(form, "secret") ? "form" : form, r->enabled_at_ms));
  g_free(form);
  if (l->ctx)
    l->reenter_rc = cloudnotify_account_remove_all(l->ctx, account, NULL);
  return l->stop_after && l->jids->len >= l->stop_after;
}

static listing *list_new(void) {
  listing *l = g_new0(listing, 1);
  l->jids = g_ptr_array_new_with_free_func(g_free);
  return l;
}

static void list_free(listing *l) {
  g_ptr_array_free(l->jids, TRUE);
  g_free(l->account);
  g_free(l);
}

static const char *list_at(const listing *l, guint i) {
  assert_true(i < l->jids->len);
  return l->jids->pdata[i];
}

static void list_registrations(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, "n1", FORM_WITH_SECRET("s3cret"));
  h.now += 10;
  assert_int_equal(cloudnotify_session_set_client_id(s, "urn:uuid:client-1"), 0);
  au_enable_ok(&h, s, OTHER_PUSH_JID, NULL, NULL);
  /* One counted error on the first. */
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 2);
  for (unsigned i = 0; i < 2; i++)
    if (!strcmp(fh_publish(&h, i)->to, PUSH_JID))
      assert_int_equal(fh_reply(&h, i, "cancel", NULL), 0);

  listing *l = list_new();
  /* Another spelling of the account names the same one. */
  assert_int_equal(cloudnotify_account_registrations(h.ctx, "Juliet@Capulet.Example", collect, l),
                   2);
  assert_string_equal(l->account, ALICE);
  /* Newest first, every field as stored. */
  assert_string_equal(list_at(l, 0), OTHER_PUSH_JID " - 0 urn:uuid:client-1 - 1700000000010");
  /* Enabled without a client id: the resource is its identity (0.3). */
  assert_string_equal(list_at(l, 1), PUSH_JID " n1 1 " ALICE_RES " form 1700000000000");
  list_free(l);

  /* The callback may stop the listing. */
  l = list_new();
  l->stop_after = 1;
  assert_int_equal(cloudnotify_account_registrations(h.ctx, ALICE, collect, l), 1);
  assert_int_equal(l->jids->len, 1);
  list_free(l);

  /* Inside the callback nothing may change state. */
  l = list_new();
  l->ctx = h.ctx;
  l->reenter_rc = 12345;
  assert_int_equal(cloudnotify_account_registrations(h.ctx, ALICE, collect, l), 2);
  assert_int_equal(l->reenter_rc, CLOUDNOTIFY_ERR_REENTRANT);
  list_free(l);

  /* An account without registrations: nothing to report. */
  l = list_new();
  assert_int_equal(cloudnotify_account_registrations(h.ctx, BOB, collect, l), 0);
  assert_int_equal(l->jids->len, 0);

  assert_int_equal(cloudnotify_account_registrations(NULL, ALICE, collect, l),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_account_registrations(h.ctx, NULL, collect, l),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_account_registrations(h.ctx, ALICE, NULL, l),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_account_registrations(h.ctx, ALICE_FULL, collect, l),
                   CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_int_equal(cloudnotify_account_registrations(h.ctx, "capulet.example", collect, l),
                   CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_int_equal(l->jids->len, 0);
  list_free(l);
  cloudnotify_session_free(s);
  fh_fini(&h);
}

static void list_loads_from_store(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  ad_store st;
  ad_init(&st);
  ad_use(&h, &st, 1);
  ad_add(&st, ALICE, PUSH_JID, "a", 5, 3, "phone-app");
  ad_add(&st, ALICE, "Other.Example", NULL, 7, 0, "");
  listing *l = list_new();
  assert_int_equal(cloudnotify_account_registrations(h.ctx, ALICE, collect, l), 2);
  assert_int_equal(st.loads, 1);
  /* The loader's normalisation shows; an empty client id is none. */
  assert_string_equal(list_at(l, 0), OTHER_PUSH_JID " - 0 - - 7");
  assert_string_equal(list_at(l, 1), PUSH_JID " a 3 phone-app - 5");
  list_free(l);

  st.fail_load = 1;
  l = list_new();
  assert_int_equal(cloudnotify_account_registrations(h.ctx, BOB, collect, l),
                   CLOUDNOTIFY_ERR_STORE);
  assert_int_equal(l->jids->len, 0);
  list_free(l);
  fh_fini(&h);
  ad_fini(&st);
}

/* ---- removing an account -------------------------------------------------- */

static void remove_all_registrations(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  ad_store st;
  ad_init(&st);
  ad_use(&h, &st, 1);
  cloudnotify_session *s1 = au_session(&h, ALICE, ALICE_RES);
  cloudnotify_session *s2 = au_session(&h, ALICE, "orchard");
  au_enable_ok(&h, s1, PUSH_JID, "n1", NULL);
  au_enable_ok(&h, s2, OTHER_PUSH_JID, "n2", NULL);
  ad_add(&st, BOB, PUSH_JID, "bob", 1, 0, NULL);
  assert_int_equal(cloudnotify_session_hibernated(s1, NULL, 0), 0);
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 2);
  assert_int_equal(cloudnotify_session_has_push(s1), 1);
  assert_int_equal(cloudnotify_session_has_push(s2), 1);

  unsigned removed = 12345;
  assert_int_equal(cloudnotify_account_remove_all(h.ctx, ALICE, &removed), 0);
  assert_int_equal(removed, 2);
  assert_int_equal(ad_count(&st, ALICE), 0);
  assert_int_equal(ad_count(&st, BOB), 1);
  assert_int_equal(h.removed->len, 2);
  for (unsigned i = 0; i < 2; i++) {
    assert_string_equal(au_removed(&h, i)->account, ALICE);
    assert_int_equal(au_removed(&h, i)->reason, CLOUDNOTIFY_REMOVED_ACCOUNT);
  }
  /* The hibernated session goes back to the host's normal timeout. */
  assert_int_equal(h.hib->len, 1);
  assert_ptr_equal(((fh_hib *)h.hib->pdata[0])->session, s1);
  assert_int_equal(((fh_hib *)h.hib->pdata[0])->seconds, -1);
  assert_int_equal(cloudnotify_session_has_push(s1), 0);
  assert_int_equal(cloudnotify_session_has_push(s2), 0);
  /* The publishes awaiting replies are forgotten. */
  assert_int_equal(fh_reply(&h, 0, "result", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(fh_reply(&h, 1, "cancel", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
  /* Nothing is left to push to, hibernated or not. */
  char *m = fh_message(ALICE, "q1", "hi");
  assert_int_equal(cloudnotify_session_queued(s1, m, strlen(m)), 0);
  g_free(m);
  h.now += 60000;
  assert_int_equal(cloudnotify_tick(h.ctx), 0);
  assert_int_equal(au_ping(&h, ALICE), 0);
  assert_int_equal(au_publishes(&h), 2);

  /* Again: nothing to remove, no callback. */
  assert_int_equal(cloudnotify_account_remove_all(h.ctx, ALICE, &removed), 0);
  assert_int_equal(removed, 0);
  assert_int_equal(h.removed->len, 2);
  cloudnotify_session_free(s1);
  cloudnotify_session_free(s2);
  fh_fini(&h);
  ad_fini(&st);
}

static void remove_all_store_failure(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  ad_store st;
  ad_init(&st);
  ad_use(&h, &st, 1);
  ad_add(&st, ALICE, PUSH_JID, "a", 1, 0, NULL);
  ad_add(&st, ALICE, PUSH_JID, "b", 2, 0, NULL);
  ad_add(&st, ALICE, PUSH_JID, "c", 3, 0, NULL);
  st.fail_remove_after = 2;
  unsigned removed = 12345;
  assert_int_equal(cloudnotify_account_remove_all(h.ctx, ALICE, &removed), CLOUDNOTIFY_ERR_STORE);
  assert_int_equal(removed, 2);
  assert_int_equal(h.removed->len, 2);
  /* What the store kept, memory kept: they still agree. */
  assert_int_equal(ad_count(&st, ALICE), 1);
  assert_int_equal(au_ping(&h, ALICE), 1);
  assert_int_equal(st.loads, 1);

  st.fail_load = 1;
  assert_int_equal(cloudnotify_account_remove_all(h.ctx, BOB, &removed), CLOUDNOTIFY_ERR_STORE);
  assert_int_equal(removed, 0);
  assert_int_equal(cloudnotify_account_remove_all(NULL, ALICE, &removed),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_account_remove_all(h.ctx, NULL, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_account_remove_all(h.ctx, "not a jid", &removed),
                   CLOUDNOTIFY_ERR_JID_MALFORMED);
  fh_fini(&h);
  ad_fini(&st);
}

/* ---- forgetting the cached copy ------------------------------------------------ */

static void forget_reloads(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  ad_store st;
  ad_init(&st);
  ad_use(&h, &st, 1);
  ad_add(&st, ALICE, PUSH_JID, "a", 1, 0, NULL);
  assert_int_equal(au_ping(&h, ALICE), 1);
  /* Another node replaces the registration. */
  g_ptr_array_set_size(st.recs, 0);
  ad_add(&st, ALICE, OTHER_PUSH_JID, "b", 2, 0, NULL);
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 1);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "a"), 1); /* the cache still rules */
  assert_int_equal(cloudnotify_account_forget(h.ctx, "JULIET@capulet.example"), 0);
  assert_int_equal(st.loads, 1); /* lazily: the next use loads */
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 1);
  assert_int_equal(st.loads, 2);
  assert_int_equal(au_publishes_to(&h, OTHER_PUSH_JID, "b"), 1);
  assert_int_equal(h.removed->len, 0);

  /* Not cached: nothing to do. */
  assert_int_equal(cloudnotify_account_forget(h.ctx, BOB), 0);
  assert_int_equal(st.loads, 2);
  assert_int_equal(cloudnotify_account_forget(NULL, ALICE), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_account_forget(h.ctx, NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_account_forget(h.ctx, "@x"), CLOUDNOTIFY_ERR_JID_MALFORMED);
  fh_fini(&h);
  ad_fini(&st);
}

/* Sessions pin the cached user: the reload happens at once and every
 * session keeps or loses its registration by jid and node. */
static void forget_with_sessions(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  ad_store st;
  ad_init(&st);
  ad_use(&h, &st, 1);
  cloudnotify_session *s1 = au_session(&h, ALICE, ALICE_RES);
  cloudnotify_session *s2 = au_session(&h, ALICE, "orchard");
  au_enable_ok(&h, s1, PUSH_JID, "gone", NULL);
  au_enable_ok(&h, s2, PUSH_JID, "kept", NULL);
  assert_int_equal(cloudnotify_session_hibernated(s1, NULL, 0), 0);
  assert_int_equal(cloudnotify_session_hibernated(s2, NULL, 0), 0);
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 2); /* awaiting replies */

  /* Behind the library: one removed, one added; the kept one changed
   * its form elsewhere. */
  ad_rec *gone = ad_find(&st, ALICE, PUSH_JID, "gone");
  g_ptr_array_remove(st.recs, gone);
  ad_rec *kept = ad_find(&st, ALICE, PUSH_JID, "kept");
  const char *form = "<x xmlns='jabber:x:data' type='submit'><field var='k'><value>v</value>"
                     "</field></x>";
  kept->form = g_strdup(form);
  kept->form_len = strlen(form);
  ad_add(&st, ALICE, OTHER_PUSH_JID, "new", h.now + 5, 0, NULL);

  /* A failing reload changes nothing. */
  st.fail_load = 1;
  fh_clear(&h);
  assert_int_equal(cloudnotify_account_forget(h.ctx, ALICE), CLOUDNOTIFY_ERR_STORE);
  assert_int_equal(cloudnotify_session_has_push(s1), 1);
  assert_int_equal(h.hib->len, 0);
  assert_int_equal(au_ping(&h, ALICE), 2);

  st.fail_load = 0;
  fh_clear(&h);
  assert_int_equal(cloudnotify_account_forget(h.ctx, ALICE), 0);
  assert_int_equal(cloudnotify_session_has_push(s1), 0);
  assert_int_equal(cloudnotify_session_has_push(s2), 1);
  /* Only s1's extended timeout is handed back; nothing was "removed" by
   * this library. */
  assert_int_equal(h.hib->len, 1);
  assert_ptr_equal(((fh_hib *)h.hib->pdata[0])->session, s1);
  assert_int_equal(((fh_hib *)h.hib->pdata[0])->seconds, -1);
  assert_int_equal(h.removed->len, 0);

  /* s2 pushes through the reloaded registration, form included. */
  char *m = fh_message(ALICE, "q1", "hi");
  assert_int_equal(cloudnotify_session_queued(s2, m, strlen(m)), 0);
  assert_int_equal(cloudnotify_session_queued(s1, m, strlen(m)), 0);
  g_free(m);
  h.now += 1000;
  assert_int_equal(cloudnotify_tick(h.ctx), 0);
  assert_int_equal(au_publishes(&h), 1);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "kept"), 1);
  assert_true(au_sent_contains(&h, "<field var='k'>"));
  /* The vanished registration's publish is forgotten; the kept one's
   * still counts. */
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 2);
  listing *l = list_new();
  assert_int_equal(cloudnotify_account_registrations(h.ctx, ALICE, collect, l), 2);
  list_free(l);

  cloudnotify_session_free(s1);
  cloudnotify_session_free(s2);
  /* The old copy is gone for good: the account can leave the cache. */
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, NULL, NULL), 0);
  fh_fini(&h);
  ad_fini(&st);
}

static void forget_forgets_vanished_publishes(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  ad_store st;
  ad_init(&st);
  ad_use(&h, &st, 1);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, "n", NULL);
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 1);
  g_ptr_array_set_size(st.recs, 0);
  assert_int_equal(cloudnotify_account_forget(h.ctx, ALICE), 0);
  assert_int_equal(fh_reply(&h, 0, "cancel", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
  cloudnotify_session_free(s);
  fh_fini(&h);
  ad_fini(&st);
}

/* ---- error counts kept by the store ------------------------------------------ */

/* n counted errors for ALICE's only registration. */
static void fail_pushes(fake_host *h, unsigned n) {
  for (unsigned i = 0; i < n; i++) {
    fh_clear(h);
    assert_int_equal(au_ping(h, ALICE), 1);
    assert_int_equal(fh_reply(h, 0, "cancel", NULL), 0);
  }
}

static void errors_survive_eviction(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  ad_store st;
  ad_init(&st);
  ad_use(&h, &st, 1);
  au_set(&h, "push_max_cached_users", "1");
  au_set(&h, "push_max_errors", "3");
  ad_add(&st, ALICE, PUSH_JID, "n", 1, 0, NULL);
  fail_pushes(&h, 2);
  assert_int_equal(ad_find(&st, ALICE, PUSH_JID, "n")->errors, 2);
  /* BOB pushes ALICE out of the cache; her count comes back with her. */
  assert_int_equal(au_ping(&h, BOB), 0);
  assert_int_equal(st.loads, 2);
  fail_pushes(&h, 1);
  assert_int_equal(st.loads, 3);
  assert_int_equal(h.removed->len, 1);
  assert_int_equal(au_removed(&h, 0)->reason, CLOUDNOTIFY_REMOVED_ERRORS);
  assert_int_equal(ad_count(&st, ALICE), 0);
  fh_fini(&h);
  ad_fini(&st);
}

/* A restart is a new context on the same store. */
static void errors_survive_restart(void **state) {
  (void)state;
  ad_store st;
  ad_init(&st);
  fake_host h;
  fh_init(&h);
  ad_use(&h, &st, 1);
  au_set(&h, "push_max_errors", "3");
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, "n", NULL);
  cloudnotify_session_free(s);
  fail_pushes(&h, 2);
  fh_fini(&h);

  fh_init(&h);
  ad_use(&h, &st, 1);
  au_set(&h, "push_max_errors", "3");
  listing *l = list_new();
  assert_int_equal(cloudnotify_account_registrations(h.ctx, ALICE, collect, l), 1);
  assert_string_equal(list_at(l, 0), PUSH_JID " n 2 " ALICE_RES " - 1700000000000");
  list_free(l);
  fail_pushes(&h, 1);
  assert_int_equal(h.removed->len, 1);
  assert_int_equal(au_removed(&h, 0)->reason, CLOUDNOTIFY_REMOVED_ERRORS);
  assert_int_equal(ad_count(&st, ALICE), 0);
  fh_fini(&h);
  ad_fini(&st);
}

static void errors_reset_by_success(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  ad_store st;
  ad_init(&st);
  ad_use(&h, &st, 1);
  ad_add(&st, ALICE, PUSH_JID, "n", 1, 7, NULL);
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 1);
  /* 'wait' errors are not counted: no store call. */
  assert_int_equal(fh_reply(&h, 0, "wait", NULL), 0);
  assert_int_equal(st.set_errors_calls, 0);
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 1);
  assert_int_equal(fh_reply(&h, 0, "result", NULL), 0);
  assert_int_equal(ad_find(&st, ALICE, PUSH_JID, "n")->errors, 0);
  assert_int_equal(st.set_errors_calls, 1);
  /* Already 0: nothing to store. */
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 1);
  assert_int_equal(fh_reply(&h, 0, "result", NULL), 0);
  assert_int_equal(st.set_errors_calls, 1);
  /* Enabling again starts from 0, in the store too. */
  fail_pushes(&h, 1);
  assert_int_equal(ad_find(&st, ALICE, PUSH_JID, "n")->errors, 1);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, "n", NULL);
  assert_int_equal(ad_find(&st, ALICE, PUSH_JID, "n")->errors, 0);
  cloudnotify_session_free(s);
  fh_fini(&h);
  ad_fini(&st);
}

static void errors_store_failure(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  ad_store st;
  ad_init(&st);
  ad_use(&h, &st, 1);
  au_set(&h, "push_max_errors", "2");
  ad_add(&st, ALICE, PUSH_JID, "n", 1, 0, NULL);
  st.fail_set_errors = 1;
  fail_pushes(&h, 1);
  assert_true(au_log_contains(&h, "error count"));
  assert_int_equal(ad_find(&st, ALICE, PUSH_JID, "n")->errors, 0);
  /* Memory counted it anyway. */
  fail_pushes(&h, 1);
  assert_int_equal(h.removed->len, 1);
  fh_fini(&h);
  ad_fini(&st);
}

/* The store of 0.1's shape: counts live in memory only, and a reload
 * with sessions keeps them for registrations that are still the same. */
static void errors_without_set_errors(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  ad_store st;
  ad_init(&st);
  ad_use(&h, &st, 0);
  au_set(&h, "push_max_errors", "3");
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, "n", NULL);
  fail_pushes(&h, 2);
  assert_int_equal(ad_find(&st, ALICE, PUSH_JID, "n")->errors, 0);
  assert_int_equal(cloudnotify_account_forget(h.ctx, ALICE), 0);
  listing *l = list_new();
  assert_int_equal(cloudnotify_account_registrations(h.ctx, ALICE, collect, l), 1);
  assert_string_equal(list_at(l, 0), PUSH_JID " n 2 " ALICE_RES " - 1700000000000");
  list_free(l);
  /* Enabled again elsewhere (a newer enable time): a new count. */
  ad_find(&st, ALICE, PUSH_JID, "n")->enabled_at += 1;
  assert_int_equal(cloudnotify_account_forget(h.ctx, ALICE), 0);
  fail_pushes(&h, 2);
  assert_int_equal(h.removed->len, 0);
  cloudnotify_session_free(s);
  fh_fini(&h);
  ad_fini(&st);
}

/* The in-memory store keeps the counts too: eviction does not reset them. */
static void memory_store_keeps_errors(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  au_set(&h, "push_max_cached_users", "1");
  au_set(&h, "push_max_errors", "3");
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(cloudnotify_session_set_client_id(s, "app-1"), 0);
  au_enable_ok(&h, s, PUSH_JID, "n", NULL);
  cloudnotify_session_free(s);
  fail_pushes(&h, 2);
  assert_int_equal(au_ping(&h, BOB), 0);
  listing *l = list_new();
  assert_int_equal(cloudnotify_account_registrations(h.ctx, ALICE, collect, l), 1);
  assert_string_equal(list_at(l, 0), PUSH_JID " n 2 app-1 - 1700000000000");
  list_free(l);
  assert_int_equal(au_ping(&h, BOB), 0);
  fail_pushes(&h, 1);
  assert_int_equal(h.removed->len, 1);
  fh_fini(&h);
}

/* ---- the loader and the record's new fields ------------------------------------- */

static void loader_client_id(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  ad_store st;
  ad_init(&st);
  ad_use(&h, &st, 1);
  char *long_id = g_strnfill(CLOUDNOTIFY_CLIENT_ID_MAX + 1, 'a');
  ad_add(&st, ALICE, PUSH_JID, "ok", 1, 4000000000u, "id-\xc3\xa9");
  ad_add(&st, ALICE, PUSH_JID, "ctl", 2, 0, "a\001b");
  ad_add(&st, ALICE, PUSH_JID, "utf", 3, 0, "\xff");
  ad_add(&st, ALICE, PUSH_JID, "long", 4, 0, long_id);
  long_id[CLOUDNOTIFY_CLIENT_ID_MAX] = 0;
  ad_add(&st, ALICE, PUSH_JID, "max", 5, 0, long_id);
  listing *l = list_new();
  assert_int_equal(cloudnotify_account_registrations(h.ctx, ALICE, collect, l), 2);
  char *want = g_strdup_printf(PUSH_JID " max 0 %s - 5", long_id);
  assert_string_equal(list_at(l, 0), want);
  assert_string_equal(list_at(l, 1), PUSH_JID " ok 4000000000 id-\xc3\xa9 - 1");
  g_free(want);
  list_free(l);
  assert_int_equal(h.logs->len >= 3, 1);
  g_free(long_id);
  fh_fini(&h);
  ad_fini(&st);
}

/* What the loader returns for each bad client id. */
static int loader_rcs[3];
static int rc_load(void *data, const char *account, cloudnotify_loader *loader) {
  const char *ids[] = { "a\001b", "\xff", NULL };
  char *long_id = g_strnfill(CLOUDNOTIFY_CLIENT_ID_MAX + 1, 'a');
  ids[2] = long_id;
  for (int i = 0; i < 3; i++) {
    cloudnotify_record rec = {
      .jid = PUSH_JID, .node = "n", .enabled_at_ms = 1, .client_id = ids[i]
    };
    loader_rcs[i] = cloudnotify_loader_add(loader, &rec);
  }
  g_free(long_id);
  return 0;
}

static int nop_save(void *d, const char *a, const cloudnotify_record *r) {
  return 0;
}
static int nop_remove(void *d, const char *a, const char *j, const char *n) {
  return 0;
}

static void loader_client_id_errors(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  cloudnotify_store v = {
    .size = sizeof v, .load = rc_load, .save = nop_save, .remove = nop_remove
  };
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &v, NULL), 0);
  assert_int_equal(cloudnotify_account_has_push(h.ctx, ALICE), 0);
  assert_int_equal(loader_rcs[0], CLOUDNOTIFY_ERR_XML);
  assert_int_equal(loader_rcs[1], CLOUDNOTIFY_ERR_XML);
  assert_int_equal(loader_rcs[2], CLOUDNOTIFY_ERR_TOO_LARGE);
  fh_fini(&h);
}

/* ---- client identity -------------------------------------------------------------- */

typedef struct {
  fake_host h;
  char *filter_saw;
  char *push_saw;
  unsigned pushes;
} ident_host;

static int ident_send(void *ud, cloudnotify_route route, cloudnotify_session *s,
                      const char *account, const char *to, const char *xml, size_t len) {
  return 0;
}

static int ident_regfilter(void *ud, cloudnotify_session *s, const char *account, const char *jid,
                           const char *node, const char **t, const char **c) {
  ident_host *ih = ud;
  g_free(ih->filter_saw);
  const char *id = cloudnotify_session_client_id(s);
  ih->filter_saw = g_strdup(id ? id : "(none)");
  return 0;
}

static int ident_pushfilter(void *ud, cloudnotify_push *p) {
  ident_host *ih = ud;
  const char *id = cloudnotify_push_client_id(p);
  char *prev = ih->push_saw;
  ih->push_saw = g_strdup_printf("%s%s%s=%s", prev ? prev : "", prev ? " " : "",
                                 cloudnotify_push_jid(p), id ? id : "(none)");
  g_free(prev);
  ih->pushes++;
  return 0;
}

static void client_id_set_and_seen(void **state) {
  (void)state;
  ident_host ih = { 0 };
  cloudnotify_callbacks cb = { .size = sizeof cb,
                               .send = ident_send,
                               .registration_filter = ident_regfilter,
                               .notification_filter = ident_pushfilter };
  assert_int_equal(cloudnotify_ctx_new(&ih.h.ctx, &cb, &ih), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ih.h.ctx, ALICE, ALICE_RES, &s), 0);
  assert_null(cloudnotify_session_client_id(s));
  assert_null(cloudnotify_session_client_id(NULL));

  /* Validation: nothing changes on a refusal. */
  assert_int_equal(cloudnotify_session_set_client_id(NULL, "x"), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_set_client_id(s, "first"), 0);
  assert_int_equal(cloudnotify_session_set_client_id(s, ""), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_set_client_id(s, "a\001b"),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_set_client_id(s, "\xc3"), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_set_client_id(s, "\xef\xbf\xbe"),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  char *big = g_strnfill(CLOUDNOTIFY_CLIENT_ID_MAX + 1, 'x');
  assert_int_equal(cloudnotify_session_set_client_id(s, big), CLOUDNOTIFY_ERR_TOO_LARGE);
  assert_string_equal(cloudnotify_session_client_id(s), "first");
  big[CLOUDNOTIFY_CLIENT_ID_MAX] = 0;
  assert_int_equal(cloudnotify_session_set_client_id(s, big), 0);
  assert_string_equal(cloudnotify_session_client_id(s), big);
  g_free(big);
  /* Copied, not borrowed. */
  char *id = g_strdup("urn:uuid:0b2c");
  assert_int_equal(cloudnotify_session_set_client_id(s, id), 0);
  id[0] = 'X';
  g_free(id);
  assert_string_equal(cloudnotify_session_client_id(s), "urn:uuid:0b2c");

  const char *iq = "<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' "
                   "jid='push.example'/></iq>";
  assert_int_equal(cloudnotify_handle_client_iq(s, iq, strlen(iq)), 0);
  assert_string_equal(ih.filter_saw, "urn:uuid:0b2c");
  /* Forgotten: later registrations carry the session's resource, its
   * identity without a client id (0.3); earlier ones keep theirs. */
  assert_int_equal(cloudnotify_session_set_client_id(s, NULL), 0);
  assert_null(cloudnotify_session_client_id(s));
  const char *iq2 = "<iq type='set' id='e2'><enable xmlns='urn:xmpp:push:0' "
                    "jid='other.example'/></iq>";
  assert_int_equal(cloudnotify_handle_client_iq(s, iq2, strlen(iq2)), 0);
  assert_string_equal(ih.filter_saw, "(none)");
  unsigned n;
  assert_int_equal(cloudnotify_ping(ih.h.ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(ih.push_saw, "push.example=urn:uuid:0b2c other.example=" ALICE_RES);
  assert_null(cloudnotify_push_client_id(NULL));
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(ih.h.ctx);
  g_free(ih.filter_saw);
  g_free(ih.push_saw);
}

/* The identity goes to the store with the registration and comes back. */
static void client_id_stored(void **state) {
  (void)state;
  ad_store st;
  ad_init(&st);
  fake_host h;
  fh_init(&h);
  ad_use(&h, &st, 1);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(cloudnotify_session_set_client_id(s, "tablet"), 0);
  au_enable_ok(&h, s, PUSH_JID, "n", NULL);
  assert_string_equal(ad_find(&st, ALICE, PUSH_JID, "n")->client_id, "tablet");
  cloudnotify_session_free(s);
  fh_fini(&h);
  fh_init(&h);
  ad_use(&h, &st, 1);
  listing *l = list_new();
  assert_int_equal(cloudnotify_account_registrations(h.ctx, ALICE, collect, l), 1);
  assert_string_equal(list_at(l, 0), PUSH_JID " n 0 tablet - 1700000000000");
  list_free(l);
  fh_fini(&h);
  ad_fini(&st);
}

/* ---- has_push ----------------------------------------------------------------------- */

static int has_push_in_send;
static int probe_send(void *ud, cloudnotify_route route, cloudnotify_session *s,
                      const char *account, const char *to, const char *xml, size_t len) {
  if (s)
    has_push_in_send = cloudnotify_session_has_push(s);
  return 0;
}

static void session_has_push(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  assert_int_equal(cloudnotify_session_has_push(NULL), 0);
  cloudnotify_session *s1 = au_session(&h, ALICE, ALICE_RES);
  cloudnotify_session *s2 = au_session(&h, ALICE, "orchard");
  assert_int_equal(cloudnotify_session_has_push(s1), 0);
  au_enable_ok(&h, s1, PUSH_JID, "n", NULL);
  assert_int_equal(cloudnotify_session_has_push(s1), 1);
  /* The account has push, the other session does not. */
  assert_int_equal(cloudnotify_account_has_push(h.ctx, ALICE), 1);
  assert_int_equal(cloudnotify_session_has_push(s2), 0);
  au_enable_ok(&h, s2, PUSH_JID, "n2", NULL);
  au_set(&h, "push_max_devices", "1");
  au_enable_ok(&h, s2, OTHER_PUSH_JID, NULL, NULL); /* evicts s1's */
  assert_int_equal(cloudnotify_session_has_push(s1), 0);
  assert_int_equal(cloudnotify_session_has_push(s2), 1);
  assert_int_equal(fh_disable(s2, OTHER_PUSH_JID, NULL), 0);
  assert_int_equal(cloudnotify_session_has_push(s2), 0);
  cloudnotify_session_free(s1);
  cloudnotify_session_free(s2);
  fh_fini(&h);

  /* Callable from a callback: the reply to an enable is sent once the
   * registration is bound. */
  cloudnotify_callbacks cb = { .size = sizeof cb, .send = probe_send };
  cloudnotify_ctx *ctx;
  assert_int_equal(cloudnotify_ctx_new(&ctx, &cb, NULL), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ctx, ALICE, ALICE_RES, &s), 0);
  has_push_in_send = -1;
  assert_int_equal(fh_enable(s, PUSH_JID, NULL, NULL), 0);
  assert_int_equal(has_push_in_send, 1);
  assert_int_equal(fh_disable(s, PUSH_JID, NULL), 0);
  assert_int_equal(has_push_in_send, 0);
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(ctx);
}

/* ---- stream management gates the ack and hibernation machinery ------------------------ */

static void sm_gates_machinery(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(h.ctx, ALICE, ALICE_RES, &s), 0);
  au_enable_ok(&h, s, PUSH_JID, NULL, NULL);
  fh_clear(&h);
  char *m = fh_message(ALICE, "q1", "hi");
  cloudnotify_buf q = { m, strlen(m) };
  assert_int_equal(cloudnotify_session_queued(s, m, strlen(m)), CLOUDNOTIFY_ERR_STATE);
  assert_int_equal(cloudnotify_session_ack_requested(s), CLOUDNOTIFY_ERR_STATE);
  assert_int_equal(cloudnotify_session_acked(s, 0), CLOUDNOTIFY_ERR_STATE);
  assert_int_equal(cloudnotify_session_ack_delayed(s, &q, 1), CLOUDNOTIFY_ERR_STATE);
  assert_int_equal(cloudnotify_session_hibernated(s, &q, 1), CLOUDNOTIFY_ERR_STATE);
  /* Not hibernated, since that was refused. */
  assert_int_equal(cloudnotify_session_resumed(s), CLOUDNOTIFY_ERR_STATE);
  h.now += 3600 * 1000;
  assert_int_equal(cloudnotify_tick(h.ctx), 0);
  assert_int_equal(h.sent->len + h.hib->len, 0);
  assert_int_equal(cloudnotify_next_timeout(h.ctx), -1);

  /* Once enabled the same calls work, and stanzas are numbered from
   * here: the one stanza queued before counts for nothing. */
  assert_int_equal(cloudnotify_session_sm_enabled(s), 0);
  assert_int_equal(cloudnotify_session_sm_enabled(s), 0);
  assert_int_equal(cloudnotify_session_queued(s, m, strlen(m)), 0);
  assert_int_equal(cloudnotify_session_ack_requested(s), 0);
  assert_int_equal(cloudnotify_session_acked(s, 0), 0);
  h.now += 30 * 1000;
  assert_int_equal(cloudnotify_tick(h.ctx), 0);
  assert_int_equal(au_publishes(&h), 1); /* h=0 acked nothing: overdue */
  fh_clear(&h);
  char *m2 = fh_message(ALICE, "q2", "again");
  assert_int_equal(cloudnotify_session_queued(s, m2, strlen(m2)), 0);
  assert_int_equal(cloudnotify_session_ack_requested(s), 0);
  assert_int_equal(cloudnotify_session_acked(s, 2), 0);
  h.now += 30 * 1000;
  assert_int_equal(cloudnotify_tick(h.ctx), 0);
  assert_int_equal(au_publishes(&h), 0); /* h=2 covered both */
  assert_int_equal(cloudnotify_session_hibernated(s, &q, 1), 0);
  assert_int_equal(h.hib->len, 1);
  assert_int_equal(((fh_hib *)h.hib->pdata[0])->seconds, 72 * 3600);
  g_free(m);
  g_free(m2);
  cloudnotify_session_free(s);
  fh_fini(&h);
}

/* ---- freeing from callbacks ---------------------------------------------------------- */

typedef struct {
  fake_host h;
  cloudnotify_session *victim;
  int free_in_filter;    /* free victim from the notification filter */
  int free_in_send;      /* ... from the send callback (client reply) */
  int free_in_hib;       /* ... from hibernation_timeout(-1) */
  int free_ctx;          /* try to free the context from send */
  int free_in_now;       /* free victim from now_ms */
  int free_in_regfilter; /* ... from the registration filter */
  int free_in_timer;     /* ... from timer_changed */
  int probe_reentry;     /* the notification filter calls the 0.2 entry points */
  int reentry_rcs[5];
  unsigned regfilter_calls;
  unsigned filter_calls, hib_calls, sends;
  cloudnotify_session *named[64];
  unsigned n_named;
} free_host;

static void fr_name(free_host *f, cloudnotify_session *s) {
  if (s && f->n_named < G_N_ELEMENTS(f->named))
    f->named[f->n_named++] = s;
}

static int fr_send(void *ud, cloudnotify_route route, cloudnotify_session *s, const char *account,
                   const char *to, const char *xml, size_t len) {
  free_host *f = ud;
  f->sends++;
  fr_name(f, s);
  if (f->free_in_send && s && s == f->victim) {
    cloudnotify_session_free(s);
    cloudnotify_session_free(s); /* twice: still one free */
  }
  if (f->free_ctx)
    cloudnotify_ctx_free(f->h.ctx);
  return 0;
}

static int collect_nothing(void *ud, const char *account, const cloudnotify_record *r) {
  return 0;
}

static int fr_filter(void *ud, cloudnotify_push *p) {
  free_host *f = ud;
  f->filter_calls++;
  fr_name(f, cloudnotify_push_session(p));
  if (f->free_in_filter && cloudnotify_push_session(p) == f->victim)
    cloudnotify_session_free(f->victim);
  if (f->probe_reentry) {
    unsigned n = 12345;
    f->reentry_rcs[0] = cloudnotify_account_registrations(f->h.ctx, ALICE, collect_nothing, NULL);
    f->reentry_rcs[1] = cloudnotify_account_remove_all(f->h.ctx, ALICE, &n);
    f->reentry_rcs[2] = cloudnotify_account_forget(f->h.ctx, ALICE);
    f->reentry_rcs[3] = cloudnotify_session_set_client_id(f->victim, "x");
    f->reentry_rcs[4] = n == 0 ? 0 : -1;
    /* The getters stay usable. */
    assert_int_equal(cloudnotify_session_has_push(f->victim), 1);
    assert_null(cloudnotify_session_client_id(f->victim));
    /* Enabled without a client id: the resource (0.3). */
    assert_string_equal(cloudnotify_push_client_id(p), ALICE_RES);
  }
  return 0;
}

static void fr_hib(void *ud, cloudnotify_session *s, int64_t seconds) {
  free_host *f = ud;
  f->hib_calls++;
  fr_name(f, s);
  if (f->free_in_hib && seconds < 0)
    cloudnotify_session_free(s);
}

static int fr_regfilter(void *ud, cloudnotify_session *s, const char *account, const char *jid,
                        const char *node, const char **t, const char **c) {
  free_host *f = ud;
  f->regfilter_calls++;
  if (f->free_in_regfilter)
    cloudnotify_session_free(s);
  return 0;
}

static void fr_timer(void *ud, int64_t ms) {
  free_host *f = ud;
  if (f->free_in_timer && f->victim) {
    cloudnotify_session_free(f->victim);
    f->victim = NULL;
  }
}

static int64_t fr_now(void *ud) {
  free_host *f = ud;
  if (f->free_in_now && f->victim) {
    cloudnotify_session_free(f->victim);
    f->victim = NULL;
  }
  return f->h.now;
}

static free_host *fr_new(void) {
  free_host *f = g_new0(free_host, 1);
  f->h.now = 1700000000000;
  cloudnotify_callbacks cb = { .size = sizeof cb,
                               .send = fr_send,
                               .now_ms = fr_now,
                               .monotonic_ms = fr_now,
                               .hibernation_timeout = fr_hib,
                               .timer_changed = fr_timer,
                               .registration_filter = fr_regfilter,
                               .notification_filter = fr_filter };
  assert_int_equal(cloudnotify_ctx_new(&f->h.ctx, &cb, f), 0);
  return f;
}

static cloudnotify_session *fr_session(free_host *f, const char *res) {
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(f->h.ctx, ALICE, res, &s), 0);
  assert_int_equal(cloudnotify_session_sm_enabled(s), 0);
  return s;
}

static unsigned fr_count_named(const free_host *f, const cloudnotify_session *s) {
  unsigned n = 0;
  for (unsigned i = 0; i < f->n_named; i++)
    n += f->named[i] == s;
  return n;
}

/* Freed by the notification filter in the middle of a coalesced batch:
 * the batch stops (no second push), no timer or callback names the
 * session again, and it is gone once the tick returns. */
static void free_session_in_filter(void **state) {
  (void)state;
  free_host *f = fr_new();
  cloudnotify_session *s = fr_session(f, ALICE_RES);
  assert_int_equal(fh_enable(s, PUSH_JID, NULL, NULL), 0);
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  assert_int_equal(f->hib_calls, 1);
  const char *important = "<message type='chat' id='a'><body>x</body></message>";
  const char *presence = "<presence/>";
  assert_int_equal(cloudnotify_session_queued(s, important, strlen(important)), 0);
  assert_int_equal(cloudnotify_session_queued(s, presence, strlen(presence)), 0);
  f->victim = s;
  f->free_in_filter = 1;
  f->n_named = 0;
  f->h.now += 1000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(f->filter_calls, 1);
  assert_int_equal(fr_count_named(f, s), 1);
  /* Nothing left: no wake-up, no timer, and the store may be swapped,
   * which is refused while a session exists. */
  assert_int_equal(cloudnotify_next_timeout(f->h.ctx) > 0, 1); /* publish expiry only */
  assert_int_equal(cloudnotify_ctx_set_store(f->h.ctx, NULL, NULL), 0);
  f->h.now += 400 * 1000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(fr_count_named(f, s), 1);
  cloudnotify_ctx_free(f->h.ctx);
  g_free(f);
}

/* Freed by the send callback while its enable reply goes out: the
 * enable stands, the session is gone after the call. */
static void free_session_in_send(void **state) {
  (void)state;
  free_host *f = fr_new();
  cloudnotify_session *s = fr_session(f, ALICE_RES);
  f->victim = s;
  f->free_in_send = 1;
  assert_int_equal(fh_enable(s, PUSH_JID, NULL, NULL), 0);
  assert_int_equal(f->sends, 1);
  unsigned n;
  assert_int_equal(cloudnotify_ping(f->h.ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(cloudnotify_ctx_set_store(f->h.ctx, NULL, NULL), 0);
  cloudnotify_ctx_free(f->h.ctx);
  g_free(f);
}

/* Freed by the registration filter: the enable goes on (the filter
 * accepted it) but no reply goes to the closed session. */
static void free_session_in_regfilter(void **state) {
  (void)state;
  free_host *f = fr_new();
  cloudnotify_session *s = fr_session(f, ALICE_RES);
  f->free_in_regfilter = 1;
  assert_int_equal(fh_enable(s, PUSH_JID, NULL, NULL), 0);
  assert_int_equal(f->regfilter_calls, 1);
  assert_int_equal(f->sends, 0);
  unsigned n;
  assert_int_equal(cloudnotify_ping(f->h.ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(cloudnotify_ctx_set_store(f->h.ctx, NULL, NULL), 0);
  cloudnotify_ctx_free(f->h.ctx);
  g_free(f);
}

/* Freed by the store while the account loads for an enable: nothing is
 * enabled for a session that is gone, and no callback names it. */
static cloudnotify_session *load_victim;
static int free_load(void *data, const char *account, cloudnotify_loader *loader) {
  cloudnotify_session_free(load_victim);
  return 0;
}

static void free_session_in_store_load(void **state) {
  (void)state;
  free_host *f = fr_new();
  cloudnotify_store v = {
    .size = sizeof v, .load = free_load, .save = nop_save, .remove = nop_remove
  };
  assert_int_equal(cloudnotify_ctx_set_store(f->h.ctx, &v, NULL), 0);
  load_victim = fr_session(f, ALICE_RES);
  /* The session's appearance loaded the account (0.3, to find its
   * client's registration): forgotten, the enable loads it again. */
  assert_int_equal(cloudnotify_account_forget(f->h.ctx, ALICE), 0);
  assert_int_equal(fh_enable(load_victim, PUSH_JID, NULL, NULL), 0);
  assert_int_equal(f->regfilter_calls + f->sends, 0);
  /* The account stays cached, without registration. */
  assert_int_equal(cloudnotify_account_has_push(f->h.ctx, ALICE), 0);
  assert_int_equal(cloudnotify_ctx_set_store(f->h.ctx, NULL, NULL), 0);
  cloudnotify_ctx_free(f->h.ctx);
  g_free(f);
}

/* Freed while the library walks the account's sessions handing back
 * extended timeouts: every session bound to the registration is still
 * told, each exactly once, and both are freed after the call. */
static void free_session_in_unbind(void **state) {
  (void)state;
  free_host *f = fr_new();
  cloudnotify_session *s1 = fr_session(f, "one");
  cloudnotify_session *s2 = fr_session(f, "two");
  cloudnotify_session *s3 = fr_session(f, "three");
  assert_int_equal(fh_enable(s1, PUSH_JID, "n", NULL), 0);
  assert_int_equal(fh_enable(s2, PUSH_JID, "n", NULL), 0); /* both bound */
  assert_int_equal(cloudnotify_session_hibernated(s1, NULL, 0), 0);
  assert_int_equal(cloudnotify_session_hibernated(s2, NULL, 0), 0);
  f->free_in_hib = 1;
  f->n_named = 0;
  f->hib_calls = 0;
  assert_int_equal(fh_disable(s3, PUSH_JID, "n"), 0);
  assert_int_equal(f->hib_calls, 2);
  assert_int_equal(fr_count_named(f, s1), 1);
  assert_int_equal(fr_count_named(f, s2), 1);
  cloudnotify_session_free(s3);
  assert_int_equal(cloudnotify_ctx_set_store(f->h.ctx, NULL, NULL), 0);
  cloudnotify_ctx_free(f->h.ctx);
  g_free(f);
}

/* The clock is read by cloudnotify_next_timeout, outside any call that
 * changes state: a session freed there is freed by the next call, or
 * with the context. */
static void free_session_outside_calls(void **state) {
  (void)state;
  for (int next_call = 0; next_call < 2; next_call++) {
    free_host *f = fr_new();
    cloudnotify_session *s = fr_session(f, ALICE_RES);
    assert_int_equal(fh_enable(s, PUSH_JID, NULL, NULL), 0);
    unsigned n;
    assert_int_equal(cloudnotify_ping(f->h.ctx, ALICE, NULL, 0, &n), 0);
    assert_int_equal(n, 1);
    f->victim = s;
    f->free_in_now = 1;
    assert_true(cloudnotify_next_timeout(f->h.ctx) > 0);
    assert_null(f->victim);
    if (next_call) {
      assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
      assert_int_equal(cloudnotify_ctx_set_store(f->h.ctx, NULL, NULL), 0);
    }
    cloudnotify_ctx_free(f->h.ctx);
    g_free(f);
  }
}

/* Freed by timer_changed on the way out of a call: gone when the call
 * returns, not at the next one. */
static void free_session_in_timer_changed(void **state) {
  (void)state;
  free_host *f = fr_new();
  cloudnotify_session *s = fr_session(f, ALICE_RES);
  assert_int_equal(fh_enable(s, PUSH_JID, NULL, NULL), 0);
  f->victim = s;
  f->free_in_timer = 1;
  unsigned n;
  /* The publish arms its expiry: the deadline changes. */
  assert_int_equal(cloudnotify_ping(f->h.ctx, ALICE, NULL, 0, &n), 0);
  assert_null(f->victim);
  f->free_in_timer = 0;
  assert_int_equal(cloudnotify_ctx_set_store(f->h.ctx, NULL, NULL), 0);
  cloudnotify_ctx_free(f->h.ctx);
  g_free(f);
}

/* The entry points of 0.2 that change state refuse from a callback. */
static void admin_reentry_refused(void **state) {
  (void)state;
  free_host *f = fr_new();
  cloudnotify_session *s = fr_session(f, ALICE_RES);
  assert_int_equal(fh_enable(s, PUSH_JID, NULL, NULL), 0);
  f->victim = s;
  f->probe_reentry = 1;
  unsigned n;
  assert_int_equal(cloudnotify_ping(f->h.ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(n, 1);
  for (int i = 0; i < 4; i++)
    assert_int_equal(f->reentry_rcs[i], CLOUDNOTIFY_ERR_REENTRANT);
  assert_int_equal(f->reentry_rcs[4], 0);
  /* Nothing changed. */
  assert_int_equal(cloudnotify_session_has_push(s), 1);
  assert_null(cloudnotify_session_client_id(s));
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(f->h.ctx);
  g_free(f);
}

static unsigned criticals;
static void count_criticals(const gchar *domain, GLogLevelFlags level, const gchar *message,
                            gpointer ud) {
  if (level & G_LOG_LEVEL_CRITICAL)
    criticals++;
}

static void ctx_free_in_callback_refused(void **state) {
  (void)state;
  GLogFunc old = g_log_set_default_handler(count_criticals, NULL);
  criticals = 0;
  free_host *f = fr_new();
  cloudnotify_session *s = fr_session(f, ALICE_RES);
  f->free_ctx = 1;
  assert_int_equal(fh_enable(s, PUSH_JID, NULL, NULL), 0);
  assert_int_equal(criticals, 1);
  /* Still whole. */
  unsigned n;
  assert_int_equal(cloudnotify_ping(f->h.ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(criticals, 2);
  f->free_ctx = 0;
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(f->h.ctx);
  g_log_set_default_handler(old, NULL);
  g_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(list_registrations),
    cmocka_unit_test(list_loads_from_store),
    cmocka_unit_test(remove_all_registrations),
    cmocka_unit_test(remove_all_store_failure),
    cmocka_unit_test(forget_reloads),
    cmocka_unit_test(forget_with_sessions),
    cmocka_unit_test(forget_forgets_vanished_publishes),
    cmocka_unit_test(errors_survive_eviction),
    cmocka_unit_test(errors_survive_restart),
    cmocka_unit_test(errors_reset_by_success),
    cmocka_unit_test(errors_store_failure),
    cmocka_unit_test(errors_without_set_errors),
    cmocka_unit_test(memory_store_keeps_errors),
    cmocka_unit_test(loader_client_id),
    cmocka_unit_test(loader_client_id_errors),
    cmocka_unit_test(client_id_set_and_seen),
    cmocka_unit_test(client_id_stored),
    cmocka_unit_test(session_has_push),
    cmocka_unit_test(sm_gates_machinery),
    cmocka_unit_test(free_session_in_filter),
    cmocka_unit_test(free_session_in_send),
    cmocka_unit_test(free_session_in_unbind),
    cmocka_unit_test(free_session_in_regfilter),
    cmocka_unit_test(free_session_in_store_load),
    cmocka_unit_test(free_session_outside_calls),
    cmocka_unit_test(ctx_free_in_callback_refused),
    cmocka_unit_test(free_session_in_timer_changed),
    cmocka_unit_test(admin_reentry_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
