/* Unit tests for lib/reg-policy.c: the registration policy's decisions
 * on a user built by hand, without a store or a session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "cloudnotify/cloudnotify.h"
#include "reg-policy.h"

typedef struct {
  cloudnotify_ctx *ctx;
  cn_user *u;
} fixture;

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  assert_int_equal(cloudnotify_ctx_new(&f->ctx, NULL, NULL), 0);
  assert_int_equal(cloudnotify_ctx_set_option_int(f->ctx, CLOUDNOTIFY_OPT_MAX_DEVICES, 3), 0);
  assert_int_equal(cloudnotify_ctx_set_option_int(f->ctx, CLOUDNOTIFY_OPT_MAX_ERRORS, 2), 0);
  f->u = g_new0(cn_user, 1);
  f->u->account = g_strdup("juliet@example.com");
  f->u->regs = g_ptr_array_new();
  f->u->lru.data = f->u;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  cn_user_free(f->u);
  cloudnotify_ctx_free(f->ctx);
  g_free(f);
  return 0;
}

static cn_reg *add(cn_user *u, const char *jid, int64_t enabled_at) {
  cn_reg *r = cn_reg_new(u, jid, NULL, NULL, 0, enabled_at);
  g_ptr_array_add(u->regs, r);
  return r;
}

static uint64_t counter(cloudnotify_ctx *ctx, cloudnotify_counter which) {
  uint64_t n;
  assert_int_equal(cloudnotify_ctx_get_counter(ctx, which, &n), 0);
  return n;
}

static void enable_time_is_strictly_newest(void **state) {
  fixture *f = *state;
  assert_int_equal(cn_policy_enable_time(f->u, 100), 100);
  add(f->u, "a.example", 500);
  assert_int_equal(cn_policy_enable_time(f->u, 100), 501);
  assert_int_equal(cn_policy_enable_time(f->u, 900), 900);
  /* An untrusted stored time at the end of the range is tied. */
  add(f->u, "b.example", INT64_MAX);
  assert_true(cn_policy_enable_time(f->u, 100) == INT64_MAX);
}

static void admit_evicts_least_recently_enabled(void **state) {
  fixture *f = *state;
  GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
  add(f->u, "c.example", 30);
  add(f->u, "a.example", 10);
  cn_policy_admit(f->ctx, f->u, "new.example", NULL, NULL, v);
  assert_int_equal(v->len, 0); /* below the limit of 3 */
  add(f->u, "b.example", 20);
  /* Replacing the same key evicts nobody, even at the limit. */
  cn_policy_admit(f->ctx, f->u, "b.example", NULL, NULL, v);
  assert_int_equal(v->len, 0);
  cn_policy_admit(f->ctx, f->u, "new.example", NULL, NULL, v);
  assert_int_equal(v->len, 1);
  assert_string_equal(v->pdata[0], "a.example<");
  /* A limit lowered while cached: enough to fit the new one, oldest first. */
  g_ptr_array_set_size(v, 0);
  assert_int_equal(cloudnotify_ctx_set_option_int(f->ctx, CLOUDNOTIFY_OPT_MAX_DEVICES, 1), 0);
  cn_policy_admit(f->ctx, f->u, "new.example", NULL, NULL, v);
  assert_int_equal(v->len, 3);
  assert_string_equal(v->pdata[0], "a.example<");
  assert_string_equal(v->pdata[1], "b.example<");
  assert_string_equal(v->pdata[2], "c.example<");
  g_ptr_array_free(v, TRUE);
}

static void install_replaces_and_evicts(void **state) {
  fixture *f = *state;
  add(f->u, "a.example", 10);
  add(f->u, "b.example", 20);
  GPtrArray *evicted = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(evicted, g_strdup("a.example<"));
  cn_reg *r = cn_reg_new(f->u, "b.example", NULL, NULL, 0, 30);
  assert_true(cn_policy_install(f->ctx, f->u, r, evicted));
  assert_int_equal(f->u->regs->len, 1);
  assert_ptr_equal(f->u->regs->pdata[0], r);
  assert_int_equal(counter(f->ctx, CLOUDNOTIFY_COUNTER_REMOVED_EVICTED), 1);
  g_ptr_array_set_size(evicted, 0);
  cn_reg *n = cn_reg_new(f->u, "c.example", NULL, NULL, 0, 40);
  assert_false(cn_policy_install(f->ctx, f->u, n, evicted));
  assert_int_equal(f->u->regs->len, 2);
  g_ptr_array_free(evicted, TRUE);
}

static void trim_keeps_the_newest(void **state) {
  fixture *f = *state;
  GPtrArray *regs = g_ptr_array_new(), *surplus = g_ptr_array_new();
  const int64_t times[] = { 20, 50, 10, 40, 30 };
  for (size_t i = 0; i < G_N_ELEMENTS(times); i++) {
    char jid[32];
    g_snprintf(jid, sizeof jid, "s%zu.example", i);
    g_ptr_array_add(regs, cn_reg_new(f->u, jid, NULL, NULL, 0, times[i]));
  }
  cn_policy_trim_loaded(f->ctx, regs, f->u->regs, surplus);
  assert_int_equal(regs->len, 0);
  assert_int_equal(f->u->regs->len, 3);
  assert_int_equal(surplus->len, 2);
  const int64_t kept[] = { 50, 40, 30 }, dropped[] = { 20, 10 };
  for (guint i = 0; i < 3; i++)
    assert_true(((cn_reg *)f->u->regs->pdata[i])->enabled_at == kept[i]);
  for (guint i = 0; i < 2; i++)
    assert_true(((cn_reg *)surplus->pdata[i])->enabled_at == dropped[i]);
  for (guint i = 0; i < surplus->len; i++)
    cn_reg_free(surplus->pdata[i]);
  g_ptr_array_free(surplus, TRUE);
  g_ptr_array_free(regs, TRUE);
}

static void loaded_duplicates_and_stale_keys(void **state) {
  fixture *f = *state;
  cn_reg *old = cn_reg_new(f->u, "a.example", NULL, NULL, 0, 10);
  cn_reg *newer = cn_reg_new(f->u, "a.example", NULL, NULL, 0, 20);
  cn_reg *tie = cn_reg_new(f->u, "a.example", NULL, NULL, 0, 20);
  assert_true(cn_policy_loaded_replaces(old, newer));
  assert_false(cn_policy_loaded_replaces(newer, old));
  assert_true(cn_policy_loaded_replaces(newer, tie));
  cn_reg_free(old);
  cn_reg_free(newer);
  cn_reg_free(tie);

  cloudnotify_record rec = { .jid = "a.example", .node = "n" };
  assert_false(cn_policy_stored_key_stale(&rec, "a.example", "n"));
  rec.jid = "A.Example.";
  assert_true(cn_policy_stored_key_stale(&rec, "a.example", "n"));
  rec.jid = "a.example";
  rec.node = ""; /* an empty node is stored as none */
  assert_true(cn_policy_stored_key_stale(&rec, "a.example", NULL));
  rec.node = NULL;
  assert_false(cn_policy_stored_key_stale(&rec, "a.example", NULL));
}

static void errors_count_to_the_limit(void **state) {
  fixture *f = *state;
  cn_reg *r = add(f->u, "a.example", 10);
  assert_false(cn_policy_error_counts("wait"));
  assert_true(cn_policy_error_counts("cancel"));
  assert_true(cn_policy_error_counts(NULL));
  assert_false(cn_policy_on_publish_error(f->ctx, r, "cancel", "item-not-found"));
  assert_int_equal(r->errors, 1);
  cn_policy_on_publish_ok(f->ctx, r);
  assert_int_equal(r->errors, 0);
  assert_false(cn_policy_on_publish_error(f->ctx, r, "auth", "forbidden"));
  assert_true(cn_policy_on_publish_error(f->ctx, r, "cancel", "gone"));
  assert_string_equal(r->last_error_condition, "gone");
  cn_policy_remove(f->ctx, f->u, r, CLOUDNOTIFY_REMOVED_ERRORS);
  assert_int_equal(f->u->regs->len, 0);
  assert_int_equal(counter(f->ctx, CLOUDNOTIFY_COUNTER_REMOVED_ERRORS), 1);
}

static void disable_matches_every_node_without_one(void **state) {
  fixture *f = *state;
  cn_reg *r = cn_reg_new(f->u, "a.example", "n1", NULL, 0, 10);
  assert_true(cn_policy_disable_matches(r, "a.example", NULL));
  assert_true(cn_policy_disable_matches(r, "a.example", "n1"));
  assert_false(cn_policy_disable_matches(r, "a.example", "n2"));
  assert_false(cn_policy_disable_matches(r, "b.example", NULL));
  cn_reg_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(enable_time_is_strictly_newest, setup, teardown),
    cmocka_unit_test_setup_teardown(admit_evicts_least_recently_enabled, setup, teardown),
    cmocka_unit_test_setup_teardown(install_replaces_and_evicts, setup, teardown),
    cmocka_unit_test_setup_teardown(trim_keeps_the_newest, setup, teardown),
    cmocka_unit_test_setup_teardown(loaded_duplicates_and_stale_keys, setup, teardown),
    cmocka_unit_test_setup_teardown(errors_count_to_the_limit, setup, teardown),
    cmocka_unit_test_setup_teardown(disable_matches_every_node_without_one, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
