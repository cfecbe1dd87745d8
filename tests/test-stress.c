/* Thousands of sessions driven through random lifecycles (seeded, so a
 * failure replays): what must hold is not a particular push count but the
 * engine's promises to the host, checked inside every callback and after
 * every call:
 * - no callback names a session that was already closed;
 * - hibernation_timeout(s, >0) only from inside s's hibernation call, and
 *   (s, -1) only after a positive one that was not already taken back;
 * - never two publishes to one registration for one stanza (bodies are
 *   unique per stanza and go out with push_notification_with_body; calls,
 *   which have none, go with the placeholder and are not checked);
 * - the deadline the host armed from timer_changed always agrees with
 *   cloudnotify_next_timeout, so a host that only listens to timer_changed
 *   never misses a tick;
 * - once every session is closed nothing but outstanding publishes holds a
 *   deadline, and after they are answered or expired there is none.
 * CN_STRESS_SEED=n replays another seed. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_SESSIONS        3000
#define N_ACCOUNTS        200
#define N_STANZAS         1500
#define PUBLISH_TIMEOUT_S 60

typedef struct sess_info {
  cloudnotify_session *s;
  unsigned idx;
  unsigned account;
  gboolean hibernated;
  uint32_t sent;    /* stanzas reported through queued while live */
  uint32_t acked;   /* last h given */
  int64_t last_hib; /* last hibernation_timeout value, 0 none since hibernation */
} sess_info;

typedef struct publish {
  char *id;
  char *to;
} publish;

typedef struct stress {
  cloudnotify_ctx *ctx;
  int64_t now;
  GRand *rand;
  GHashTable *live;       /* cloudnotify_session* -> sess_info* */
  GPtrArray *open;        /* sess_info*, the same set, for random picks */
  GPtrArray *pending;     /* publish*, not yet answered by the test */
  GPtrArray *stanzas;     /* char* */
  GHashTable *pushed;     /* "account jid node body" of every publish with a body */
  sess_info *hibernating; /* inside cloudnotify_session_hibernated for it */
  int64_t host_deadline;
  int last_client_ok; /* 1 result, 0 error, -1 none since reset */
  unsigned publishes, hib_calls, client_replies, removed, closed;
} stress;

static void publish_free(gpointer p) {
  publish *x = p;
  g_free(x->id);
  g_free(x->to);
  g_free(x);
}

static sess_info *live_info(stress *st, cloudnotify_session *s) {
  sess_info *si = g_hash_table_lookup(st->live, s);
  if (!si)
    fail_msg("callback names session %p, which is closed or unknown", (void *)s);
  /* A handle reused by a later allocation would pass the lookup alone. */
  assert_ptr_equal(cloudnotify_session_get_user_data(s), si);
  return si;
}

static char *attr_of(const char *xml, size_t len, const char *name) {
  char *pat = g_strdup_printf(" %s='", name);
  const char *p = g_strstr_len(xml, (gssize)len, pat);
  char *v = NULL;
  if (p) {
    p += strlen(pat);
    const char *e = strchr(p, '\'');
    if (e)
      v = g_strndup(p, (gsize)(e - p));
  }
  g_free(pat);
  return v;
}

static int cb_send(void *ud, cloudnotify_route route, cloudnotify_session *session,
                   const char *account, const char *to, const char *xml, size_t len) {
  stress *st = ud;
  if (route == CLOUDNOTIFY_ROUTE_CLIENT) {
    sess_info *si = live_info(st, session);
    char *acct = g_strdup_printf("user%u@example.org", si->account);
    assert_string_equal(account, acct);
    g_free(acct);
    st->last_client_ok = g_strstr_len(xml, (gssize)len, "type='result'") != NULL;
    st->client_replies++;
    return 0;
  }
  assert_int_equal(route, CLOUDNOTIFY_ROUTE_APP_SERVER);
  assert_null(session);
  publish *p = g_new0(publish, 1);
  p->id = attr_of(xml, len, "id");
  p->to = g_strdup(to);
  assert_non_null(p->id);
  g_ptr_array_add(st->pending, p);
  st->publishes++;
  return 0;
}

static int64_t cb_now(void *ud) {
  return ((stress *)ud)->now;
}

static void cb_timer(void *ud, int64_t timeout) {
  stress *st = ud;
  assert_true(timeout >= -1);
  st->host_deadline = timeout < 0 ? INT64_MAX : st->now + timeout;
}

static void cb_hib(void *ud, cloudnotify_session *s, int64_t seconds) {
  stress *st = ud;
  sess_info *si = live_info(st, s);
  st->hib_calls++;
  if (seconds > 0) {
    assert_ptr_equal(st->hibernating, si);
    assert_true(si->last_hib <= 0);
  } else {
    assert_int_equal(seconds, -1);
    /* Taking back an extension that was never given, or twice, would
     * make the host shorten a timeout it did not lengthen. */
    assert_true(si->last_hib > 0);
  }
  si->last_hib = seconds;
}

static void cb_removed(void *ud, const char *account, const char *jid, const char *node,
                       cloudnotify_removal_reason reason) {
  stress *st = ud;
  assert_true(reason == CLOUDNOTIFY_REMOVED_ERRORS || reason == CLOUDNOTIFY_REMOVED_EVICTED);
  st->removed++;
}

static int cb_filter(void *ud, cloudnotify_push *p) {
  stress *st = ud;
  cloudnotify_session *s = cloudnotify_push_session(p);
  if (s) {
    live_info(st, s);
    assert_string_equal(cloudnotify_push_account(p), cloudnotify_session_account(s));
  }
  const char *body = cloudnotify_push_body(p);
  /* Calls have no body of their own and go with the placeholder. */
  if (body && strcmp(body, "New Message!")) {
    const char *node = cloudnotify_push_node(p);
    char *k = g_strdup_printf("%s %s %s %s", cloudnotify_push_account(p), cloudnotify_push_jid(p),
                              node ? node : "", body);
    if (!g_hash_table_add(st->pushed, k))
      fail_msg("pushed twice: %s", k);
  }
  return 0;
}

/* The host's timer, armed only from timer_changed, must agree with the
 * library's own idea of the next deadline. */
static void check_deadline(stress *st) {
  int64_t t = cloudnotify_next_timeout(st->ctx);
  if (t < 0)
    assert_true(st->host_deadline == INT64_MAX);
  else if (t == 0)
    assert_true(st->host_deadline <= st->now);
  else
    assert_int_equal(st->host_deadline, st->now + t);
}

static void ok(stress *st, int rc) {
  if (rc != 0)
    fail_msg("rc %d (%s)", rc, cloudnotify_strerror(rc));
  check_deadline(st);
}

static guint32 rnd(stress *st, guint32 n) {
  return (guint32)g_rand_int_range(st->rand, 0, (gint32)n);
}

static char *account_of(unsigned a) {
  return g_strdup_printf("user%u@example.org", a);
}

static void make_stanzas(stress *st) {
  st->stanzas = g_ptr_array_new_with_free_func(g_free);
  for (unsigned i = 0; i < N_STANZAS; i++) {
    char *x;
    switch (i % 6) {
    case 0:
    case 1:
      x = g_strdup_printf("<message type='chat' from='friend%u@example.net/r' id='s%u'>"
                          "<body>text %u</body></message>",
                          i % 17, i, i);
      break;
    case 2:
      x = g_strdup_printf("<message xmlns='jabber:client' type='chat' from='friend@example.net/r' "
                          "id='s%u'><composing xmlns='http://jabber.org/protocol/chatstates'/>"
                          "</message>",
                          i);
      break;
    case 3:
      x = g_strdup_printf("<message type='chat' from='caller@example.net/r' id='s%u'>"
                          "<propose xmlns='urn:xmpp:jingle-message:0' id='call%u'/></message>",
                          i, i);
      break;
    case 4:
      x = g_strdup_printf(
          "<message from='me@example.org' id='s%u'><sent xmlns='urn:xmpp:carbons:2'>"
          "<forwarded xmlns='urn:xmpp:forward:0'><message type='chat' "
          "to='friend@example.net' id='o%u'><body>out</body></message>"
          "</forwarded></sent></message>",
          i, i);
      break;
    default:
      x = g_strdup_printf(
          "<message type='chat' from='friend@example.net/r' id='s%u'><body>"
          "archived %u</body><stanza-id xmlns='urn:xmpp:sid:0' by='user%u@example.org' "
          "id='A%u'/></message>",
          i, i, i % N_ACCOUNTS, i);
      break;
    }
    g_ptr_array_add(st->stanzas, x);
  }
}

static const char *any_stanza(stress *st) {
  return st->stanzas->pdata[rnd(st, st->stanzas->len)];
}

/* The archive id a server would report with x for account a: the one x
 * carries when it was stamped for a, none otherwise. */
static char *archive_id_of(const char *x, unsigned a) {
  char *by = g_strdup_printf("by='user%u@example.org' id='", a);
  const char *p = strstr(x, by);
  char *id = NULL;
  if (p) {
    p += strlen(by);
    id = g_strndup(p, strcspn(p, "'"));
  }
  g_free(by);
  return id;
}

static void open_session(stress *st, unsigned idx) {
  sess_info *si = g_new0(sess_info, 1);
  si->idx = idx;
  si->account = rnd(st, N_ACCOUNTS);
  char *acct = account_of(si->account);
  char *res = g_strdup_printf("r%u", idx);
  ok(st, cloudnotify_session_new(st->ctx, acct, res, &si->s));
  ok(st, cloudnotify_session_sm_enabled(si->s));
  cloudnotify_session_set_user_data(si->s, si);
  g_hash_table_insert(st->live, si->s, si);
  g_ptr_array_add(st->open, si);
  if (rnd(st, 10) < 4) {
    /* Few services and a small node space per account: enables replace
     * each other and push_max_devices evicts, unbinding other sessions. */
    char *iq = g_strdup_printf("<iq type='set' id='en%u'><enable xmlns='urn:xmpp:push:0' "
                               "jid='push%u.example' node='n%u'/></iq>",
                               idx, rnd(st, 3), rnd(st, 8));
    st->last_client_ok = -1;
    ok(st, cloudnotify_handle_client_iq(si->s, iq, strlen(iq)));
    assert_int_equal(st->last_client_ok, 1);
    g_free(iq);
  }
  g_free(res);
  g_free(acct);
}

static void close_session(stress *st, guint i) {
  sess_info *si = st->open->pdata[i];
  g_ptr_array_remove_index_fast(st->open, i);
  /* Gone from the live set first: a callback about it from inside the
   * free would already be one about a closed session. */
  g_hash_table_remove(st->live, si->s);
  cloudnotify_session_free(si->s);
  check_deadline(st);
  g_free(si);
  st->closed++;
}

static void session_step(stress *st) {
  guint i = rnd(st, st->open->len);
  sess_info *si = st->open->pdata[i];
  cloudnotify_buf q[3];
  guint n;
  switch (rnd(st, 12)) {
  case 0:
  case 1:
    if (si->hibernated) {
      assert_int_equal(cloudnotify_session_hibernated(si->s, NULL, 0), CLOUDNOTIFY_ERR_STATE);
      check_deadline(st);
      break;
    }
    n = rnd(st, 4);
    for (guint k = 0; k < n; k++) {
      q[k].data = any_stanza(st);
      q[k].len = strlen(q[k].data);
    }
    si->hibernated = TRUE;
    si->last_hib = 0;
    st->hibernating = si;
    ok(st, cloudnotify_session_hibernated(si->s, q, n));
    st->hibernating = NULL;
    break;
  case 2:
  case 3:
  case 4: {
    const char *x = any_stanza(st);
    if (!si->hibernated)
      si->sent++;
    ok(st, cloudnotify_session_queued(si->s, x, strlen(x)));
    break;
  }
  case 5:
    if (!si->hibernated) {
      assert_int_equal(cloudnotify_session_resumed(si->s), CLOUDNOTIFY_ERR_STATE);
      check_deadline(st);
      break;
    }
    si->hibernated = FALSE;
    si->last_hib = 0;
    si->sent = si->acked;
    ok(st, cloudnotify_session_resumed(si->s));
    break;
  case 6: ok(st, cloudnotify_session_ack_requested(si->s)); break;
  case 7:
  case 8:
    if (si->sent != si->acked)
      si->acked += 1 + rnd(st, si->sent - si->acked);
    ok(st, cloudnotify_session_acked(si->s, si->acked));
    break;
  case 9:
    n = rnd(st, 3);
    for (guint k = 0; k < n; k++) {
      q[k].data = any_stanza(st);
      q[k].len = strlen(q[k].data);
    }
    ok(st, cloudnotify_session_ack_delayed(si->s, q, n));
    break;
  default:
    if (rnd(st, 3) == 0)
      close_session(st, i);
    break;
  }
}

static void trigger_step(stress *st) {
  unsigned a = rnd(st, N_ACCOUNTS);
  char *acct = account_of(a);
  const char *x = any_stanza(st);
  unsigned pushes = 99;
  if (rnd(st, 2)) {
    ok(st, cloudnotify_message_offline(st->ctx, acct, x, strlen(x), &pushes));
  } else {
    char *aid = archive_id_of(x, a);
    ok(st, cloudnotify_message_archived(st->ctx, acct, x, strlen(x), aid, &pushes));
    g_free(aid);
  }
  /* At most one push per registration, and an account has at most
   * push_max_devices of them. */
  assert_true(pushes <= 5);
  g_free(acct);
}

static void reply_step(stress *st) {
  if (!st->pending->len)
    return;
  guint i = rnd(st, st->pending->len);
  publish *p = st->pending->pdata[i];
  static const char *const types[] = { "result", "result", "result", "cancel", "wait", "auth" };
  const char *type = types[rnd(st, G_N_ELEMENTS(types))];
  char *x = strcmp(type, "result")
                ? g_strdup_printf("<iq type='error' id='%s' from='%s'><error type='%s'>"
                                  "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                                  "</error></iq>",
                                  p->id, p->to, type)
                : g_strdup_printf("<iq type='result' id='%s' from='%s'/>", p->id, p->to);
  int rc = cloudnotify_handle_app_reply(st->ctx, x, strlen(x));
  /* The library may have forgotten it: expired, pushed out of the bounded
   * table, or its registration gone. */
  if (rc != CLOUDNOTIFY_ERR_NOT_MINE)
    ok(st, rc);
  check_deadline(st);
  g_free(x);
  g_ptr_array_remove_index_fast(st->pending, i);
}

static void clock_step(stress *st) {
  guint32 r = rnd(st, 100);
  if (r < 80)
    st->now += rnd(st, 1500);
  else if (r < 98)
    st->now += rnd(st, 40000);
  else
    st->now += rnd(st, 400000);
  check_deadline(st);
  /* A host fires its timer when it is due, never early. */
  if (st->host_deadline <= st->now)
    ok(st, cloudnotify_tick(st->ctx));
}

static void set(stress *st, const char *name, const char *value) {
  assert_int_equal(cloudnotify_ctx_set_option(st->ctx, name, value), 0);
}

static void stress_sessions(void **state) {
  (void)state;
  stress st = { 0 };
  const char *seed_env = g_getenv("CN_STRESS_SEED");
  guint32 seed = seed_env ? (guint32)strtoul(seed_env, NULL, 10) : 20240601;
  st.rand = g_rand_new_with_seed(seed);
  st.now = 1700000000000;
  st.host_deadline = INT64_MAX;
  st.live = g_hash_table_new(g_direct_hash, g_direct_equal);
  st.open = g_ptr_array_new();
  st.pending = g_ptr_array_new_with_free_func(publish_free);
  make_stanzas(&st);
  st.pushed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  cloudnotify_callbacks cb = {
    .size = sizeof cb,
    .send = cb_send,
    .now_ms = cb_now,
    .monotonic_ms = cb_now,
    .timer_changed = cb_timer,
    .hibernation_timeout = cb_hib,
    .registration_removed = cb_removed,
    .notification_filter = cb_filter,
  };
  assert_int_equal(cloudnotify_ctx_new(&st.ctx, &cb, &st), 0);
  /* Small bounds so that every eviction path runs many times. */
  set(&st, "push_publish_timeout", G_STRINGIFY(PUBLISH_TIMEOUT_S));
  set(&st, "push_max_errors", "3");
  set(&st, "push_max_outstanding", "300");
  /* Large enough never to forget, so any second push is a fault. */
  set(&st, "push_max_remembered_stanzas", "1000000");
  set(&st, "push_notification_with_body", "true");
  set(&st, "push_max_session_queue", "4");
  set(&st, "push_max_cached_users", "40");
  set(&st, "push_max_hibernation_timeout", "600");
  set(&st, "push_wake_before_expiry", "60");
  set(&st, "smacks_max_ack_delay", "20");

  unsigned created = 0;
  while (created < N_SESSIONS || st.open->len) {
    guint32 r = rnd(&st, 100);
    if (created < N_SESSIONS && (st.open->len < 50 || r < 8)) {
      open_session(&st, created++);
    } else if (r < 60 && st.open->len) {
      session_step(&st);
    } else if (r < 75) {
      trigger_step(&st);
    } else if (r < 90) {
      reply_step(&st);
    } else {
      clock_step(&st);
    }
    /* Once every session exists, wind down so the test ends. */
    if (created == N_SESSIONS && st.open->len && r < 10)
      close_session(&st, rnd(&st, st.open->len));
  }
  assert_int_equal(g_hash_table_size(st.live), 0);
  assert_int_equal(st.closed, N_SESSIONS);
  print_message("seed %u: %u publishes, %u hibernation_timeout calls, %u client replies, "
                "%u removals\n",
                seed, st.publishes, st.hib_calls, st.client_replies, st.removed);
  /* The run must have exercised what it claims to. */
  assert_true(st.publishes > 1000);
  assert_true(st.hib_calls > 100);
  assert_true(st.removed > 10);

  /* Only outstanding publishes may still hold a deadline. */
  int64_t t = cloudnotify_next_timeout(st.ctx);
  assert_true(t <= PUBLISH_TIMEOUT_S * 1000);
  while (st.pending->len && rnd(&st, 2))
    reply_step(&st);
  st.now += PUBLISH_TIMEOUT_S * 1000;
  check_deadline(&st);
  ok(&st, cloudnotify_tick(st.ctx));
  assert_int_equal(cloudnotify_next_timeout(st.ctx), -1);
  assert_true(st.host_deadline == INT64_MAX);

  cloudnotify_ctx_free(st.ctx);
  g_ptr_array_free(st.stanzas, TRUE);
  g_ptr_array_free(st.pending, TRUE);
  g_ptr_array_free(st.open, TRUE);
  g_hash_table_destroy(st.live);
  g_hash_table_destroy(st.pushed);
  g_rand_free(st.rand);
}

int main(void) {
  const struct CMUnitTest tests[] = { cmocka_unit_test(stress_sessions) };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
