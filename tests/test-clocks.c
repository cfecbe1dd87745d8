/* Two clocks: every deadline runs on the monotonic clock, the wall
 * clock only stamps enable times.  The fake host keeps them apart
 * (harness: monotonic = now, wall = now + wall_offset), and each timer
 * is checked while the wall clock steps an hour back and forth. */
#include "api-util.h"

#include <string.h>

#define HOUR_MS (3600 * (int64_t)1000)

typedef struct {
  fake_host h;
  cloudnotify_session *s;
} fixture;

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  fh_init(&f->h);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, f->s, PUSH_JID, NULL, NULL);
  fh_clear(&f->h);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  cloudnotify_session_free(f->s);
  fh_fini(&f->h);
  g_free(f);
  return 0;
}

/* The library's idea of the next deadline, asked both ways. */
static void assert_due_in(fixture *f, int64_t ms) {
  assert_int_equal(cloudnotify_next_timeout(f->h.ctx), ms);
}

/* Step the wall clock back an hour, then forward two, and check after
 * each step that the deadline did not move and a tick fires nothing. */
static void step_wall_around(fixture *f, int64_t due_in) {
  unsigned sent = f->h.sent->len;
  const int64_t steps[] = { -HOUR_MS, 2 * HOUR_MS, -HOUR_MS };
  for (size_t i = 0; i < G_N_ELEMENTS(steps); i++) {
    f->h.wall_offset += steps[i];
    assert_due_in(f, due_in);
    assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
    /* The timeout the host re-arms with after a tick is unchanged too. */
    assert_int_equal(f->h.timer, due_in);
    assert_int_equal(f->h.sent->len, sent);
  }
}

static void queue_message(fixture *f, const char *id) {
  char *m = fh_message(ALICE, id, "hi");
  assert_int_equal(cloudnotify_session_queued(f->s, m, strlen(m)), 0);
  g_free(m);
}

static void coalescing_ignores_wall_steps(void **state) {
  fixture *f = *state;
  assert_int_equal(cloudnotify_session_hibernated(f->s, NULL, 0), 0);
  queue_message(f, "c1");
  assert_due_in(f, 1000);
  step_wall_around(f, 1000);
  f->h.now += 999;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 0);
  f->h.now += 1;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 1);
}

static void ack_delay_ignores_wall_steps(void **state) {
  fixture *f = *state;
  assert_int_equal(cloudnotify_session_sm_enabled(f->s), 0);
  queue_message(f, "a1");
  assert_int_equal(cloudnotify_session_ack_requested(f->s), 0);
  assert_due_in(f, 30000);
  step_wall_around(f, 30000);
  f->h.now += 29999;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 0);
  f->h.now += 1;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 1);
}

static void wake_up_ignores_wall_steps(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_hibernation_timeout", "7200");
  au_set(&f->h, "push_wake_before_expiry", "60");
  assert_int_equal(cloudnotify_session_hibernated(f->s, NULL, 0), 0);
  const int64_t due = (7200 - 60) * 1000;
  assert_due_in(f, due);
  step_wall_around(f, due);
  f->h.now += due - 1;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 0);
  f->h.now += 1;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 1);
}

static void publish_expiry_ignores_wall_steps(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_publish_timeout", "10");
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_due_in(f, 10000);
  step_wall_around(f, 10000);
  f->h.now += 9999;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  /* Still awaited after the steps: the reply is consumed. */
  assert_int_equal(fh_reply(&f->h, 0, "result", NULL), 0);
  f->h.now += 1;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(fh_reply(&f->h, 1, "result", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_due_in(f, -1);
}

/* The other way round: only the monotonic clock moves deadlines.  A wall
 * clock a day ahead fires nothing; the monotonic one fires everything. */
static void monotonic_clock_drives_timers(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_publish_timeout", "5");
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(cloudnotify_session_hibernated(f->s, NULL, 0), 0);
  queue_message(f, "m1");
  f->h.wall_offset += 24 * HOUR_MS;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  assert_due_in(f, 1000);
  f->h.now += 1000;
  assert_due_in(f, 0);
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(au_publishes(&f->h), 2);
  f->h.now += 4000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(fh_reply(&f->h, 0, "result", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
}

/* The enable time stored with a registration is the wall clock. */
static void enable_time_is_wall_clock(void **state) {
  fixture *f = *state;
  au_store st;
  au_store_init(&st);
  cloudnotify_session_free(f->s);
  f->s = NULL;
  au_use_store(&f->h, &st);
  f->h.wall_offset = 5 * HOUR_MS;
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, f->s, PUSH_JID, NULL, NULL);
  assert_int_equal(st.records->len, 1);
  assert_int_equal(((au_record *)st.records->pdata[0])->enabled_at, f->h.now + 5 * HOUR_MS);
  cloudnotify_session_free(f->s);
  f->s = NULL;
  cloudnotify_ctx_free(f->h.ctx);
  f->h.ctx = NULL;
  au_store_fini(&st);
}

/* Without a monotonic_ms callback the default clock is CLOCK_MONOTONIC:
 * a wall clock that leaps an hour at every reading moves no deadline. */
static int64_t leaping_wall(void *ud) {
  static int64_t t;
  (void)ud;
  return t += HOUR_MS;
}

static void default_monotonic_clock(void **state) {
  (void)state;
  cloudnotify_callbacks cb = { .size = sizeof cb, .now_ms = leaping_wall };
  cloudnotify_ctx *ctx;
  assert_int_equal(cloudnotify_ctx_new(&ctx, &cb, NULL), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ctx, ALICE, ALICE_RES, &s), 0);
  assert_int_equal(cloudnotify_session_sm_enabled(s), 0);
  const char *iq =
      "<iq type='set' id='e'><enable xmlns='urn:xmpp:push:0' jid='" PUSH_JID "'/></iq>";
  assert_int_equal(cloudnotify_handle_client_iq(s, iq, strlen(iq)), CLOUDNOTIFY_ERR_SEND);
  assert_int_equal(cloudnotify_ctx_set_option(ctx, "push_coalesce_ms", "60000"), 0);
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  char *m = fh_message(ALICE, "d1", "hi");
  assert_int_equal(cloudnotify_session_queued(s, m, strlen(m)), 0);
  g_free(m);
  int64_t t = cloudnotify_next_timeout(ctx);
  assert_true(t > 59000 && t <= 60000);
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(ctx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    T(coalescing_ignores_wall_steps),
    T(ack_delay_ignores_wall_steps),
    T(wake_up_ignores_wall_steps),
    T(publish_expiry_ignores_wall_steps),
    T(monotonic_clock_drives_timers),
    T(enable_time_is_wall_clock),
    cmocka_unit_test(default_monotonic_clock),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
