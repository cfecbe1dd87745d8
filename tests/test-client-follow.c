/* The registration follows the client (docs/features.md): an enable
 * stores the session's identity (client id, else resource); a later
 * session with that identity is bound to the registration without
 * enabling again (not pushed while connected, pushed as its own session
 * when it hibernates), also when the account loads later; two
 * registrations of one identity replace each other. */
#include "api-util.h"

#include <string.h>

typedef struct {
  fake_host h;
  au_store st;
} fixture;

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  fh_init_ex(&f->h, FH_REMOVED2 | FH_LOG2);
  au_store_init(&f->st);
  au_use_store(&f->h, &f->st);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  fh_fini(&f->h);
  au_store_fini(&f->st);
  g_free(f);
  return 0;
}

static unsigned archived(fake_host *h, const char *id) {
  char *m = fh_message(ALICE, id, "hi");
  unsigned n = 99;
  assert_int_equal(cloudnotify_message_archived(h->ctx, ALICE, m, strlen(m), id, &n), 0);
  g_free(m);
  return n;
}

/* Enable from a fresh session of this identity, then let it go. */
static void enable_and_leave(fixture *f, const char *resource, const char *client_id,
                             const char *jid, const char *node) {
  cloudnotify_session *s = au_session(&f->h, ALICE, resource);
  if (client_id)
    assert_int_equal(cloudnotify_session_set_client_id(s, client_id), 0);
  au_enable_ok(&f->h, s, jid, node, NULL);
  cloudnotify_session_free(s);
}

static int collect_client(void *data, const char *account, const cloudnotify_record *r) {
  GPtrArray *a = data;
  g_ptr_array_add(a, g_strdup_printf("%s<%s=%s", r->jid, r->node ? r->node : "",
                                     r->client_id ? r->client_id : "(none)"));
  return 0;
}

static gint by_text(gconstpointer a, gconstpointer b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *listing(fixture *f) {
  GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
  assert_true(cloudnotify_account_registrations(f->h.ctx, ALICE, collect_client, a) >= 0);
  g_ptr_array_sort(a, by_text);
  GString *out = g_string_new(NULL);
  for (guint i = 0; i < a->len; i++)
    g_string_append_printf(out, "%s%s", i ? " " : "", (char *)a->pdata[i]);
  g_ptr_array_free(a, TRUE);
  return g_string_free(out, FALSE);
}

static void assert_listing(fixture *f, const char *want) {
  char *got = listing(f);
  assert_string_equal(got, want);
  g_free(got);
}

/* The identity stored: the client id, else the resource (0.2 stored
 * none without a client id). */
static void identity_stored(void **state) {
  fixture *f = *state;
  enable_and_leave(f, "phone", NULL, PUSH_JID, "n1");
  enable_and_leave(f, "tablet", "urn:uuid:tab", OTHER_PUSH_JID, "n2");
  assert_listing(f, OTHER_PUSH_JID "<n2=urn:uuid:tab " PUSH_JID "<n1=phone");
  assert_int_equal(au_store_find(&f->st, ALICE, PUSH_JID, "n1") >= 0, 1);
}

/* A later session of the same resource: bound at once, so the archive
 * does not push it while connected; hibernated, it is pushed as its own
 * session (extended timeout and its queue pushed). */
static void later_session_connected_then_hibernated(void **state) {
  fixture *f = *state;
  enable_and_leave(f, "phone", NULL, PUSH_JID, "n1");
  fh_clear(&f->h);
  /* No session: the archive pushes. */
  assert_int_equal(archived(&f->h, "a0"), 1);
  cloudnotify_session *s = au_session(&f->h, ALICE, "phone");
  assert_int_equal(cloudnotify_session_has_push(s), 1);
  assert_int_equal(archived(&f->h, "a1"), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  /* Nothing stored, nobody told of a new registration. */
  assert_int_equal(f->h.added->len, 0);
  assert_int_equal(f->st.records->len, 1);
  char *m = fh_message(ALICE, "q1", "while away");
  cloudnotify_buf q = { m, strlen(m) };
  assert_int_equal(cloudnotify_session_hibernated(s, &q, 1), 0);
  g_free(m);
  assert_int_equal(au_publishes(&f->h), 2);
  assert_int_equal(au_publishes_to(&f->h, PUSH_JID, "n1"), 2);
  assert_true(f->h.hib->len >= 1);
  cloudnotify_session_free(s);
}

/* A client id set after the session appeared binds then. */
static void bound_at_set_client_id(void **state) {
  fixture *f = *state;
  enable_and_leave(f, "a", "urn:uuid:X", PUSH_JID, "n1");
  cloudnotify_session *s = au_session(&f->h, ALICE, "b");
  assert_int_equal(cloudnotify_session_has_push(s), 0);
  assert_int_equal(cloudnotify_session_set_client_id(s, "urn:uuid:Y"), 0);
  assert_int_equal(cloudnotify_session_has_push(s), 0);
  assert_int_equal(cloudnotify_session_set_client_id(s, "urn:uuid:X"), 0);
  assert_int_equal(cloudnotify_session_has_push(s), 1);
  fh_clear(&f->h);
  assert_int_equal(archived(&f->h, "a1"), 0);
  cloudnotify_session_free(s);
}

/* Another identity: not bound, pushed by the archive while connected. */
static void other_identity_not_bound(void **state) {
  fixture *f = *state;
  enable_and_leave(f, "phone", NULL, PUSH_JID, "n1");
  cloudnotify_session *s = au_session(&f->h, ALICE, "desktop");
  assert_int_equal(cloudnotify_session_has_push(s), 0);
  fh_clear(&f->h);
  assert_int_equal(archived(&f->h, "a1"), 1);
  /* Hibernating does not push it either: it has no registration. */
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  assert_int_equal(f->h.hib->len, 0);
  cloudnotify_session_free(s);
}

/* Bound by identity, then the registration goes (disabled from another
 * session): the session is unbound. */
static void unbound_when_removed(void **state) {
  fixture *f = *state;
  enable_and_leave(f, "phone", NULL, PUSH_JID, "n1");
  cloudnotify_session *s = au_session(&f->h, ALICE, "phone");
  cloudnotify_session *d = au_session(&f->h, ALICE, "desktop");
  assert_int_equal(cloudnotify_session_has_push(s), 1);
  assert_int_equal(fh_disable(d, PUSH_JID, NULL), 0);
  assert_int_equal(cloudnotify_session_has_push(s), 0);
  cloudnotify_session_free(s);
  cloudnotify_session_free(d);
}

/* The account loading later (a store answering later): the session is
 * bound once the load is answered. */
static void bound_when_load_answered(void **state) {
  (void)state;
  fake_host h;
  fh_default_mode = FH_LATER;
  fh_init(&h);
  fh_default_mode = FH_SYNC;
  cloudnotify_session *s = au_session(&h, ALICE, "phone");
  fh_settle(&h);
  assert_int_equal(fh_enable(s, PUSH_JID, "n1", NULL), 0);
  au_assert_last_reply(&h, "result");
  cloudnotify_session_free(s);
  assert_int_equal(cloudnotify_account_forget(h.ctx, ALICE), 0);
  s = au_session(&h, ALICE, "phone");
  assert_int_equal(fh_open_ops(&h), 1);
  assert_int_equal(fh_op_kind(&h, 0), CLOUDNOTIFY_OP_LOAD);
  assert_int_equal(cloudnotify_session_has_push(s), 0);
  fh_settle(&h);
  assert_int_equal(cloudnotify_session_has_push(s), 1);
  /* Freed before its load is answered: nothing left behind. */
  cloudnotify_session_free(s);
  assert_int_equal(cloudnotify_account_forget(h.ctx, ALICE), 0);
  s = au_session(&h, ALICE, "phone");
  cloudnotify_session_free(s);
  fh_settle(&h);
  assert_int_equal(fh_open_ops(&h), 0);
  fh_fini(&h);
}

/* The same client enabling another (jid, node): the older registration
 * is removed (CLIENT_REPLACED) once the new one is stored; another
 * client's stays; the same key again replaces without a removal. */
static void replaced_by_identity(void **state) {
  fixture *f = *state;
  enable_and_leave(f, "desk", "urn:uuid:other", "third.example", NULL);
  enable_and_leave(f, "phone", "urn:uuid:X", PUSH_JID, "n1");
  fh_clear(&f->h);
  enable_and_leave(f, "phone2", "urn:uuid:X", OTHER_PUSH_JID, "n2");
  assert_int_equal(f->h.removed->len, 1);
  const fh_removed *r = au_removed(&f->h, 0);
  assert_string_equal(r->jid, PUSH_JID);
  assert_string_equal(r->node, "n1");
  assert_int_equal(r->reason, CLOUDNOTIFY_REMOVED_CLIENT_REPLACED);
  assert_true(r->v2);
  assert_listing(f, OTHER_PUSH_JID "<n2=urn:uuid:X third.example<=urn:uuid:other");
  assert_int_equal(au_store_find(&f->st, ALICE, PUSH_JID, "n1"), -1);
  assert_int_equal(f->st.records->len, 2);
  uint64_t v = 0;
  assert_int_equal(
      cloudnotify_ctx_get_counter(f->h.ctx, CLOUDNOTIFY_COUNTER_REMOVED_CLIENT_REPLACED, &v), 0);
  assert_int_equal(v, 1);
  /* The same key again: a replacement, no removal. */
  enable_and_leave(f, "phone3", "urn:uuid:X", OTHER_PUSH_JID, "n2");
  assert_int_equal(f->h.removed->len, 1);
  assert_int_equal(au_ping(&f->h, ALICE), 2);
}

/* Replaced by identity with push_max_devices reached: the replaced one
 * makes the room, nothing else is evicted. */
static void replacement_makes_room(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_devices", "2");
  enable_and_leave(f, "a", "A", "a.example", NULL);
  f->h.now += 10;
  enable_and_leave(f, "b", "B", "b.example", NULL);
  fh_clear(&f->h);
  enable_and_leave(f, "b2", "B", "c.example", NULL);
  assert_int_equal(f->h.removed->len, 1);
  assert_string_equal(au_removed(&f->h, 0)->jid, "b.example");
  assert_int_equal(au_removed(&f->h, 0)->reason, CLOUDNOTIFY_REMOVED_CLIENT_REPLACED);
  assert_listing(f, "a.example<=A c.example<=B");
}

/* The store refusing to remove the replaced registration: the enable
 * stands (the client's new registration is stored), the old one stays in
 * memory and store alike. */
static void replacement_removal_fails(void **state) {
  fixture *f = *state;
  enable_and_leave(f, "phone", "X", PUSH_JID, "n1");
  f->st.fail_remove = 1;
  fh_clear(&f->h);
  enable_and_leave(f, "phone", "X", OTHER_PUSH_JID, "n2");
  f->st.fail_remove = 0;
  assert_int_equal(f->h.removed->len, 0);
  assert_int_equal(f->st.records->len, 2);
  assert_int_equal(au_ping(&f->h, ALICE), 2);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
    T(identity_stored),           T(later_session_connected_then_hibernated),
    T(bound_at_set_client_id),    T(other_identity_not_bound),
    T(unbound_when_removed),      cmocka_unit_test(bound_when_load_answered),
    T(replaced_by_identity),      T(replacement_makes_room),
    T(replacement_removal_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
