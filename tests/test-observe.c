/* Observability: every counter and gauge moved by the event it names
 * (and not by its neighbours), the publish_outcome, registration_added,
 * registration_removed2 and log2 callbacks, and the log threshold. */
#include "api-util.h"

#include <string.h>

#include "ctx.h" /* cn_log_id, for the proof that nothing is formatted */

typedef struct {
  fake_host h;
  au_store st;
  cloudnotify_session *s;
} fixture;

static int setup_flags(void **state, unsigned flags) {
  fixture *f = g_new0(fixture, 1);
  fh_init_ex(&f->h, flags);
  au_store_init(&f->st);
  au_use_store(&f->h, &f->st);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  /* Later enables from f->s are another client's (0.3): they add to the
   * registration above instead of replacing it by client identity. */
  assert_int_equal(cloudnotify_session_set_client_id(f->s, "observe"), 0);
  fh_clear(&f->h);
  *state = f;
  return 0;
}

static int setup(void **state) {
  return setup_flags(state, 0);
}

static int setup_v2(void **state) {
  return setup_flags(state, FH_REMOVED2 | FH_LOG2);
}

static int teardown(void **state) {
  fixture *f = *state;
  cloudnotify_session_free(f->s);
  fh_fini(&f->h);
  au_store_fini(&f->st);
  g_free(f);
  return 0;
}

static uint64_t get(fixture *f, cloudnotify_counter c) {
  uint64_t v = 12345;
  assert_int_equal(cloudnotify_ctx_get_counter(f->h.ctx, c, &v), 0);
  return v;
}

/* Every counter, to check that an event moves only its own. */
static const cloudnotify_counter all_counters[] = {
  CLOUDNOTIFY_COUNTER_PUBLISHES_SENT,
  CLOUDNOTIFY_COUNTER_PUBLISHES_VETOED,
  CLOUDNOTIFY_COUNTER_PUBLISHES_REFUSED,
  CLOUDNOTIFY_COUNTER_PUBLISHES_DEDUPLICATED,
  CLOUDNOTIFY_COUNTER_PUBLISHES_EXPIRED,
  CLOUDNOTIFY_COUNTER_PUBLISHES_DROPPED,
  CLOUDNOTIFY_COUNTER_PUBLISHES_FORGOTTEN,
  CLOUDNOTIFY_COUNTER_REPLIES_OK,
  CLOUDNOTIFY_COUNTER_REPLIES_ERROR,
  CLOUDNOTIFY_COUNTER_REPLIES_WAIT,
  CLOUDNOTIFY_COUNTER_REPLIES_FOREIGN,
  CLOUDNOTIFY_COUNTER_REPLIES_NOT_MINE,
  CLOUDNOTIFY_COUNTER_ENABLES,
  CLOUDNOTIFY_COUNTER_DISABLES,
  CLOUDNOTIFY_COUNTER_STORE_FAILURES,
  CLOUDNOTIFY_COUNTER_CACHE_HITS,
  CLOUDNOTIFY_COUNTER_CACHE_MISSES,
  CLOUDNOTIFY_COUNTER_INPUTS_REJECTED,
  CLOUDNOTIFY_COUNTER_STORE_RECORDS_REJECTED,
  CLOUDNOTIFY_COUNTER_LOG_MESSAGES,
  CLOUDNOTIFY_COUNTER_REMOVED_DISABLED,
  CLOUDNOTIFY_COUNTER_REMOVED_ERRORS,
  CLOUDNOTIFY_COUNTER_REMOVED_EVICTED,
};

typedef struct {
  uint64_t v[G_N_ELEMENTS(all_counters)];
} snapshot;

static snapshot snap(fixture *f) {
  snapshot s;
  for (size_t i = 0; i < G_N_ELEMENTS(all_counters); i++)
    s.v[i] = get(f, all_counters[i]);
  return s;
}

/* Since before: the counters named in want (terminated by 0) grew by
 * the matching delta, every other counter except the cache and log
 * ones (which most calls move) stayed. */
static void assert_moved(fixture *f, const snapshot *before, const cloudnotify_counter *want,
                         const uint64_t *delta) {
  snapshot now = snap(f);
  for (size_t i = 0; i < G_N_ELEMENTS(all_counters); i++) {
    cloudnotify_counter c = all_counters[i];
    uint64_t d = 0;
    gboolean named = FALSE;
    for (size_t k = 0; want[k]; k++) {
      if (want[k] == c) {
        d = delta[k];
        named = TRUE;
      }
    }
    if (!named && (c == CLOUDNOTIFY_COUNTER_CACHE_HITS || c == CLOUDNOTIFY_COUNTER_CACHE_MISSES ||
                   c == CLOUDNOTIFY_COUNTER_LOG_MESSAGES))
      continue;
    if (now.v[i] - before->v[i] != d)
      print_error("counter %#x moved by %llu, want %llu\n", (unsigned)c,
                  (unsigned long long)(now.v[i] - before->v[i]), (unsigned long long)d);
    assert_int_equal(now.v[i] - before->v[i], d);
  }
}

#define MOVED(f, before, ...)                                                                      \
  do {                                                                                             \
    const struct {                                                                                 \
      cloudnotify_counter c;                                                                       \
      uint64_t d;                                                                                  \
    } m_[] = { __VA_ARGS__ };                                                                      \
    cloudnotify_counter w_[G_N_ELEMENTS(m_) + 1];                                                  \
    uint64_t d_[G_N_ELEMENTS(m_) + 1];                                                             \
    for (size_t i_ = 0; i_ < G_N_ELEMENTS(m_); i_++) {                                             \
      w_[i_] = m_[i_].c;                                                                           \
      d_[i_] = m_[i_].d;                                                                           \
    }                                                                                              \
    w_[G_N_ELEMENTS(m_)] = 0;                                                                      \
    assert_moved(f, before, w_, d_);                                                               \
  } while (0)

static const fh_report *report(fixture *f, unsigned i) {
  assert_true(i < f->h.reports->len);
  return f->h.reports->pdata[i];
}

static char *publish_id(fixture *f, unsigned n) {
  const fh_sent *p = fh_publish(&f->h, n);
  assert_non_null(p);
  return fh_attr(p->xml, "id");
}

/* ---- publishes ---------------------------------------------------------------- */

static void counts_sent_and_pushes_agree(void **state) {
  fixture *f = *state;
  snapshot b = snap(f);
  unsigned n = au_offline_msg(&f->h, ALICE, "hi");
  assert_int_equal(n, 1);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_PUBLISHES_SENT, 1 });
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_OUTSTANDING), 1);
}

static void counts_vetoed(void **state) {
  fixture *f = *state;
  f->h.push_filter = 1;
  snapshot b = snap(f);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hi"), 0);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_PUBLISHES_VETOED, 1 });
  assert_int_equal(f->h.reports->len, 1);
  const fh_report *r = report(f, 0);
  assert_int_equal(r->outcome, CLOUDNOTIFY_PUBLISH_VETOED);
  assert_null(r->id);
  assert_string_equal(r->account, ALICE);
  assert_string_equal(r->jid, PUSH_JID);
  assert_string_equal(r->node, "n1");
}

static void counts_refused(void **state) {
  fixture *f = *state;
  f->h.send_result = -1;
  snapshot b = snap(f);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hi"), 0);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_PUBLISHES_REFUSED, 1 });
  const fh_report *r = report(f, 0);
  assert_int_equal(r->outcome, CLOUDNOTIFY_PUBLISH_REFUSED);
  /* The id is the one in the stanza the host refused. */
  char *id = publish_id(f, 0);
  assert_string_equal(r->id, id);
  g_free(id);
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_OUTSTANDING), 0);
}

static void counts_deduplicated(void **state) {
  fixture *f = *state;
  char *m = fh_message(ALICE, "same", "hi");
  assert_int_equal(au_offline(&f->h, ALICE, m), 1);
  snapshot b = snap(f);
  assert_int_equal(au_offline(&f->h, ALICE, m), 0);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_PUBLISHES_DEDUPLICATED, 1 });
  g_free(m);
}

static void counts_expired(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_publish_timeout", "10");
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  snapshot b = snap(f);
  f->h.now += 10000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_PUBLISHES_EXPIRED, 1 });
  const fh_report *r = report(f, 0);
  assert_int_equal(r->outcome, CLOUDNOTIFY_PUBLISH_EXPIRED);
  char *id = publish_id(f, 0);
  assert_string_equal(r->id, id);
  g_free(id);
  assert_string_equal(r->node, "n1");
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_OUTSTANDING), 0);
}

static void counts_dropped_when_full(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_outstanding", "1");
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  snapshot b = snap(f);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_PUBLISHES_SENT, 1 },
        { CLOUDNOTIFY_COUNTER_PUBLISHES_DROPPED, 1 });
  const fh_report *r = report(f, 0);
  assert_int_equal(r->outcome, CLOUDNOTIFY_PUBLISH_DROPPED);
  char *first = publish_id(f, 0);
  assert_string_equal(r->id, first);
  g_free(first);
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_OUTSTANDING), 1);
}

static void counts_forgotten_on_removal(void **state) {
  fixture *f = *state;
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  snapshot b = snap(f);
  assert_int_equal(fh_disable(f->s, PUSH_JID, NULL), 0);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_PUBLISHES_FORGOTTEN, 1 }, { CLOUDNOTIFY_COUNTER_DISABLES, 1 },
        { CLOUDNOTIFY_COUNTER_REMOVED_DISABLED, 1 });
  assert_int_equal(report(f, 0)->outcome, CLOUDNOTIFY_PUBLISH_FORGOTTEN);
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_OUTSTANDING), 0);
}

/* The per-registration index of outstanding publishes keeps its first
 * entry in the hash table and the others linked to it: removing the
 * registration forgets exactly those still outstanding, after answers
 * that removed the first entry (its successor takes its place) and one in
 * the middle. */
static void counts_forgotten_after_partial_replies(void **state) {
  fixture *f = *state;
  for (int i = 0; i < 3; i++)
    assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(fh_reply(&f->h, 0, "result", NULL), 0);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(fh_reply(&f->h, 3, "result", NULL), 0);
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_OUTSTANDING), 2);
  snapshot b = snap(f);
  assert_int_equal(fh_disable(f->s, PUSH_JID, NULL), 0);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_PUBLISHES_FORGOTTEN, 2 }, { CLOUDNOTIFY_COUNTER_DISABLES, 1 },
        { CLOUDNOTIFY_COUNTER_REMOVED_DISABLED, 1 });
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_OUTSTANDING), 0);
  for (unsigned i = 0; i < 4; i++)
    assert_int_equal(fh_reply(&f->h, i, "result", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
}

/* ---- replies ------------------------------------------------------------------- */

static void counts_replies(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "100");
  for (int i = 0; i < 5; i++)
    assert_int_equal(au_ping(&f->h, ALICE), 1);
  snapshot b = snap(f);
  assert_int_equal(fh_reply(&f->h, 0, "cancel", NULL), 0);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_REPLIES_ERROR, 1 });
  const fh_report *r = report(f, 0);
  assert_int_equal(r->outcome, CLOUDNOTIFY_PUBLISH_ERROR);
  assert_string_equal(r->error_type, "cancel");
  assert_string_equal(r->error_condition, "item-not-found");
  assert_int_equal(r->errors, 1);
  assert_string_equal(r->account, ALICE);
  assert_string_equal(r->jid, PUSH_JID);

  b = snap(f);
  assert_int_equal(fh_reply(&f->h, 1, "wait", NULL), 0);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_REPLIES_WAIT, 1 });
  assert_int_equal(report(f, 1)->outcome, CLOUDNOTIFY_PUBLISH_WAIT);
  assert_string_equal(report(f, 1)->error_type, "wait");
  assert_int_equal(report(f, 1)->errors, 1);

  b = snap(f);
  assert_int_equal(fh_reply(&f->h, 2, "modify", NULL), 0);
  assert_int_equal(report(f, 2)->errors, 2);
  assert_int_equal(fh_reply(&f->h, 2, "result", "evil.example"), CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(fh_reply(&f->h, 3, "result", "evil.example"), CLOUDNOTIFY_ERR_FOREIGN_SENDER);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_REPLIES_ERROR, 1 },
        { CLOUDNOTIFY_COUNTER_REPLIES_NOT_MINE, 1 }, { CLOUDNOTIFY_COUNTER_REPLIES_FOREIGN, 1 });
  assert_int_equal(f->h.reports->len, 3);

  b = snap(f);
  assert_int_equal(fh_reply(&f->h, 3, "result", NULL), 0);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_REPLIES_OK, 1 });
  assert_int_equal(report(f, 3)->outcome, CLOUDNOTIFY_PUBLISH_OK);
  assert_int_equal(report(f, 3)->errors, 0);
  assert_null(report(f, 3)->error_type);
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_OUTSTANDING), 1);
}

/* ---- registrations ------------------------------------------------------------------ */

static void counts_enables_and_reports_added(void **state) {
  fixture *f = *state;
  snapshot b = snap(f);
  au_enable_device(&f->h, f->s, OTHER_PUSH_JID, NULL, NULL);
  au_enable_device(&f->h, f->s, PUSH_JID, "n1", NULL);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_ENABLES, 2 });
  assert_int_equal(f->h.added->len, 2);
  const fh_added *a = f->h.added->pdata[0];
  assert_ptr_equal(a->session, f->s);
  assert_string_equal(a->account, ALICE);
  assert_string_equal(a->jid, OTHER_PUSH_JID);
  assert_null(a->node);
  assert_int_equal(a->change, CLOUDNOTIFY_REGISTRATION_ADDED);
  a = f->h.added->pdata[1];
  assert_string_equal(a->jid, PUSH_JID);
  assert_string_equal(a->node, "n1");
  assert_int_equal(a->change, CLOUDNOTIFY_REGISTRATION_REPLACED);
  /* A vetoed or failed enable adds nothing. */
  f->h.veto_type = "cancel";
  assert_int_equal(fh_enable(f->s, "third.example", NULL, NULL), 0);
  f->h.veto_type = NULL;
  f->st.fail_save = 1;
  assert_int_equal(fh_enable(f->s, "fourth.example", NULL, NULL), 0);
  assert_int_equal(f->h.added->len, 2);
  assert_int_equal(get(f, CLOUDNOTIFY_COUNTER_ENABLES), b.v[12] + 2);
}

static void counts_removals_by_reason(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_devices", "2");
  au_enable_device(&f->h, f->s, "a.example", NULL, NULL);
  snapshot b = snap(f);
  f->h.now += 1;
  f->h.wall_offset += 1;
  au_enable_device(&f->h, f->s, "b.example", NULL, NULL);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_ENABLES, 1 }, { CLOUDNOTIFY_COUNTER_REMOVED_EVICTED, 1 });
  b = snap(f);
  assert_int_equal(fh_disable(f->s, "b.example", NULL), 0);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_DISABLES, 1 }, { CLOUDNOTIFY_COUNTER_REMOVED_DISABLED, 1 });
  au_set(&f->h, "push_max_errors", "1");
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  b = snap(f);
  assert_int_equal(fh_reply(&f->h, 0, "cancel", NULL), 0);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_REPLIES_ERROR, 1 }, { CLOUDNOTIFY_COUNTER_REMOVED_ERRORS, 1 });
  /* Disabling what does not exist is still a disable answered. */
  b = snap(f);
  assert_int_equal(fh_disable(f->s, "nothing.example", NULL), 0);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_DISABLES, 1 });
}

static void removed2_replaces_removed_and_carries_cause(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "2");
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(fh_reply(&f->h, 0, "auth", NULL), 0);
  assert_int_equal(fh_reply(&f->h, 1, "cancel", NULL), 0);
  assert_int_equal(f->h.removed->len, 1);
  const fh_removed *r = au_removed(&f->h, 0);
  /* Recorded by removed2 (so the old callback was not called as well:
   * it would have recorded a second entry). */
  assert_true(r->v2);
  assert_int_equal(r->reason, CLOUDNOTIFY_REMOVED_ERRORS);
  assert_string_equal(r->error_type, "cancel");
  assert_string_equal(r->error_condition, "item-not-found");
  /* Other reasons carry no cause. */
  au_enable_ok(&f->h, f->s, PUSH_JID, NULL, NULL);
  assert_int_equal(fh_disable(f->s, PUSH_JID, NULL), 0);
  assert_int_equal(f->h.removed->len, 2);
  r = au_removed(&f->h, 1);
  assert_true(r->v2);
  assert_int_equal(r->reason, CLOUDNOTIFY_REMOVED_DISABLED);
  assert_null(r->error_type);
  assert_null(r->error_condition);
}

static void old_removed_callback_without_removed2(void **state) {
  fixture *f = *state;
  assert_int_equal(fh_disable(f->s, PUSH_JID, NULL), 0);
  assert_int_equal(f->h.removed->len, 1);
  assert_false(au_removed(&f->h, 0)->v2);
}

/* ---- store, cache, inputs -------------------------------------------------------------- */

static void counts_store_failures(void **state) {
  fixture *f = *state;
  snapshot b = snap(f);
  f->st.fail_save = 1;
  assert_int_equal(fh_enable(f->s, OTHER_PUSH_JID, NULL, NULL), 0);
  au_assert_last_reply(&f->h, "wait/internal-server-error");
  f->st.fail_save = 0;
  f->st.fail_remove = 1;
  assert_int_equal(fh_disable(f->s, PUSH_JID, NULL), 0);
  f->st.fail_remove = 0;
  f->st.fail_load = 1;
  unsigned n;
  assert_int_equal(cloudnotify_ping(f->h.ctx, "romeo@montague.example", NULL, 0, &n),
                   CLOUDNOTIFY_ERR_STORE);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_STORE_FAILURES, 3 }, { CLOUDNOTIFY_COUNTER_CACHE_MISSES, 1 });
}

static void counts_cache_hits_and_misses(void **state) {
  fixture *f = *state;
  snapshot b = snap(f);
  assert_int_equal(cloudnotify_account_has_push(f->h.ctx, "romeo@montague.example"), 0);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_CACHE_MISSES, 1 });
  b = snap(f);
  assert_int_equal(cloudnotify_account_has_push(f->h.ctx, "romeo@montague.example"), 0);
  assert_int_equal(cloudnotify_account_has_push(f->h.ctx, ALICE), 1);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_CACHE_HITS, 2 });
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_CACHED_ACCOUNTS), 2);
}

static void counts_inputs_rejected(void **state) {
  fixture *f = *state;
  snapshot b = snap(f);
  unsigned n;
  const char *bad = "<message";
  assert_int_equal(cloudnotify_message_offline(f->h.ctx, ALICE, bad, strlen(bad), &n),
                   CLOUDNOTIFY_ERR_XML);
  assert_int_equal(cloudnotify_message_offline(f->h.ctx, "no@@jid", bad, strlen(bad), &n),
                   CLOUDNOTIFY_ERR_JID_MALFORMED);
  au_set(&f->h, "push_max_stanza_size", "256");
  GString *big = g_string_new("<message><body>");
  for (int i = 0; i < 300; i++)
    g_string_append_c(big, 'x');
  g_string_append(big, "</body></message>");
  assert_int_equal(cloudnotify_session_queued(f->s, big->str, big->len), CLOUDNOTIFY_ERR_TOO_LARGE);
  g_string_free(big, TRUE);
  assert_int_equal(fh_iq(f->s, "<iq type='set' id='x'><enable"), CLOUDNOTIFY_ERR_XML);
  /* Not an input error: a stanza that is not ours, a wrong argument. */
  assert_int_equal(fh_iq(f->s, "<iq type='set' id='x'><query xmlns='jabber:iq:roster'/></iq>"),
                   CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(cloudnotify_message_offline(f->h.ctx, ALICE, NULL, 0, &n),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_INPUTS_REJECTED, 4 });
}

static void counts_store_records_rejected(void **state) {
  fixture *f = *state;
  au_record *r = g_new0(au_record, 1);
  r->account = g_strdup("romeo@montague.example");
  r->jid = g_strdup("bad@@jid");
  g_ptr_array_add(f->st.records, r);
  r = g_new0(au_record, 1);
  r->account = g_strdup("romeo@montague.example");
  r->jid = g_strdup(PUSH_JID);
  g_ptr_array_add(f->st.records, r);
  snapshot b = snap(f);
  assert_int_equal(cloudnotify_account_has_push(f->h.ctx, "romeo@montague.example"), 1);
  MOVED(f, &b, { CLOUDNOTIFY_COUNTER_STORE_RECORDS_REJECTED, 1 },
        { CLOUDNOTIFY_COUNTER_CACHE_MISSES, 1 });
}

static void gauges(void **state) {
  fixture *f = *state;
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_SESSIONS), 1);
  cloudnotify_session *s2 = au_session(&f->h, "romeo@montague.example", "r");
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_SESSIONS), 2);
  cloudnotify_session_free(s2);
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_SESSIONS), 1);
  /* 0.3: a new session's account is loaded, to find the registration of
   * its client (docs/features.md); romeo's empty entry stays cached. */
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_CACHED_ACCOUNTS), 2);
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_OUTSTANDING), 0);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_OUTSTANDING), 2);
  assert_int_equal(fh_reply(&f->h, 0, "result", NULL), 0);
  assert_int_equal(get(f, CLOUDNOTIFY_GAUGE_OUTSTANDING), 1);
}

static void unknown_counters(void **state) {
  fixture *f = *state;
  const int unknown[] = { 0,
                          -1,
                          CLOUDNOTIFY_COUNTER_PUBLISHES_ENCRYPTED + 1,
                          0xff,
                          CLOUDNOTIFY_COUNTER_REMOVED_BASE,
                          CLOUDNOTIFY_COUNTER_REMOVED_CLIENT_REPLACED + 1,
                          0x1ff,
                          0x203,
                          INT32_MAX };
  for (size_t i = 0; i < G_N_ELEMENTS(unknown); i++) {
    uint64_t v = 7;
    assert_int_equal(cloudnotify_ctx_get_counter(f->h.ctx, (cloudnotify_counter)unknown[i], &v),
                     CLOUDNOTIFY_ERR_UNKNOWN_OPTION);
    assert_int_equal(v, 0);
  }
  uint64_t v;
  assert_int_equal(cloudnotify_ctx_get_counter(NULL, CLOUDNOTIFY_COUNTER_ENABLES, &v),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_ctx_get_counter(f->h.ctx, CLOUDNOTIFY_COUNTER_ENABLES, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
}

/* Readable from inside a callback (the send of a publish). */
static uint64_t seen_in_send;

static int counting_send(void *ud, cloudnotify_route route, cloudnotify_session *s,
                         const char *account, const char *to, const char *xml, size_t len) {
  (void)s;
  (void)account;
  (void)to;
  (void)xml;
  (void)len;
  if (route == CLOUDNOTIFY_ROUTE_APP_SERVER)
    assert_int_equal(cloudnotify_ctx_get_counter(*(cloudnotify_ctx **)ud,
                                                 CLOUDNOTIFY_COUNTER_ENABLES, &seen_in_send),
                     0);
  return 0;
}

static void counter_from_callback(void **state) {
  (void)state;
  cloudnotify_ctx *ctx;
  cloudnotify_callbacks cb = { .size = sizeof cb, .send = counting_send };
  assert_int_equal(cloudnotify_ctx_new(&ctx, &cb, &ctx), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ctx, ALICE, ALICE_RES, &s), 0);
  assert_int_equal(fh_enable(s, PUSH_JID, NULL, NULL), 0);
  unsigned n;
  assert_int_equal(cloudnotify_ping(ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(seen_in_send, 1);
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(ctx);
}

/* ---- every publish ends exactly once ---------------------------------------------------- */

static void one_outcome_per_publish(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_outstanding", "3");
  au_set(&f->h, "push_publish_timeout", "5");
  au_set(&f->h, "push_max_errors", "1000");
  for (int i = 0; i < 8; i++)
    assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(fh_reply(&f->h, 5, "result", NULL), 0);
  assert_int_equal(fh_reply(&f->h, 6, "cancel", NULL), 0);
  f->h.now += 5000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  /* 5 dropped, 1 ok, 1 error, 1 expired: each id once. */
  assert_int_equal(f->h.reports->len, 8);
  for (unsigned i = 0; i < 8; i++) {
    char *id = publish_id(f, i);
    unsigned seen = 0;
    for (unsigned k = 0; k < f->h.reports->len; k++)
      seen += !g_strcmp0(report(f, k)->id, id);
    assert_int_equal(seen, 1);
    g_free(id);
  }
  assert_int_equal(get(f, CLOUDNOTIFY_COUNTER_PUBLISHES_DROPPED), 5);
  assert_int_equal(get(f, CLOUDNOTIFY_COUNTER_PUBLISHES_EXPIRED), 1);
}

/* ---- logging ------------------------------------------------------------------------------ */

static gboolean logged_id(fixture *f, const char *id) {
  for (guint i = 0; i < f->h.log_ids->len; i++)
    if (!strcmp(f->h.log_ids->pdata[i], id))
      return TRUE;
  return FALSE;
}

static void log2_carries_stable_ids(void **state) {
  fixture *f = *state;
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_true(logged_id(f, CLOUDNOTIFY_LOG_ID_PUSH_SENT));
  assert_int_equal(fh_reply(&f->h, 0, "result", "evil.example"), CLOUDNOTIFY_ERR_FOREIGN_SENDER);
  assert_true(logged_id(f, "reply-foreign-sender"));
  assert_int_equal(fh_disable(f->s, PUSH_JID, NULL), 0);
  assert_true(logged_id(f, "push-disabled"));
  f->st.fail_load = 1;
  assert_int_equal(cloudnotify_account_has_push(f->h.ctx, "romeo@montague.example"),
                   CLOUDNOTIFY_ERR_STORE);
  assert_true(logged_id(f, "store-load-failed"));
  /* One id per message, and the old log callback is not called too. */
  assert_int_equal(f->h.log_ids->len, f->h.logs->len);
  assert_false(logged_id(f, CLOUDNOTIFY_LOG_ID_OTHER));
}

static void log_threshold_skips_formatting(void **state) {
  fixture *f = *state;
  uint64_t formatted = get(f, CLOUDNOTIFY_COUNTER_LOG_MESSAGES);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_true(f->h.logs->len > 0);
  assert_int_equal(get(f, CLOUDNOTIFY_COUNTER_LOG_MESSAGES) - formatted, f->h.logs->len);
  formatted = get(f, CLOUDNOTIFY_COUNTER_LOG_MESSAGES);
  au_set(&f->h, "push_log_level", "warn");
  fh_clear(&f->h);
  /* Debug and info only: nothing formatted, nothing delivered. */
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  au_enable_ok(&f->h, f->s, OTHER_PUSH_JID, NULL, NULL);
  assert_int_equal(f->h.logs->len, 0);
  assert_int_equal(get(f, CLOUDNOTIFY_COUNTER_LOG_MESSAGES), formatted);
  /* A warning passes. */
  f->h.send_result = -1;
  assert_int_equal(au_ping(&f->h, ALICE), 0);
  /* one per registration */
  assert_int_equal(f->h.logs->len, 2);
  assert_true(logged_id(f, CLOUDNOTIFY_LOG_ID_PUSH_REFUSED));
  assert_int_equal(get(f, CLOUDNOTIFY_COUNTER_LOG_MESSAGES), formatted + 2);
  /* none: nothing at all, even errors. */
  f->h.send_result = 0;
  au_set(&f->h, "push_log_level", "none");
  f->st.fail_load = 1;
  assert_int_equal(cloudnotify_account_has_push(f->h.ctx, "romeo@montague.example"),
                   CLOUDNOTIFY_ERR_STORE);
  assert_int_equal(f->h.logs->len, 2);
  assert_int_equal(get(f, CLOUDNOTIFY_COUNTER_LOG_MESSAGES), formatted + 2);
}

/* The proof that the vprintf path is skipped: an argument that would
 * crash any formatting of it. */
static void below_threshold_never_formats(void **state) {
  fixture *f = *state;
  const char *poison = (const char *)(uintptr_t)1;
  au_set(&f->h, "push_log_level", "info");
  cn_log_id(f->h.ctx, CLOUDNOTIFY_LOG_DEBUG, "test", "%s", poison);
  au_set(&f->h, "push_log_level", "none");
  cn_log_id(f->h.ctx, CLOUDNOTIFY_LOG_ERROR, "test", "%s", poison);
  assert_int_equal(f->h.logs->len, 0);
  au_set(&f->h, "push_log_level", "debug");
  cn_log_id(f->h.ctx, CLOUDNOTIFY_LOG_DEBUG, "test", "%s", "formatted");
  assert_int_equal(f->h.logs->len, 1);
  assert_string_equal(f->h.logs->pdata[0], "formatted");
}

static void log_level_option_values(void **state) {
  fixture *f = *state;
  const char *ok[] = { "debug", "INFO", "warn", "error", "none", "0", "4" };
  for (size_t i = 0; i < G_N_ELEMENTS(ok); i++)
    au_set(&f->h, "push_log_level", ok[i]);
  const char *bad[] = { "verbose", "5", "-1", "", "warning" };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
    assert_int_equal(cloudnotify_ctx_set_option(f->h.ctx, "push_log_level", bad[i]),
                     CLOUDNOTIFY_ERR_OPTION_VALUE);
  assert_int_equal(
      cloudnotify_ctx_set_option_int(f->h.ctx, CLOUDNOTIFY_OPT_LOG_LEVEL, CLOUDNOTIFY_LOG_ERROR),
      0);
  assert_int_equal(cloudnotify_ctx_set_option_int(f->h.ctx, CLOUDNOTIFY_OPT_LOG_LEVEL, 5),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  assert_int_equal(cloudnotify_ctx_set_option_string(f->h.ctx, CLOUDNOTIFY_OPT_LOG_LEVEL, "info"),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  /* At ERROR, a warning is not delivered. */
  fh_clear(&f->h);
  f->h.send_result = -1;
  assert_int_equal(au_ping(&f->h, ALICE), 0);
  assert_int_equal(f->h.logs->len, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn)  cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define T2(fn) cmocka_unit_test_setup_teardown(fn, setup_v2, teardown)
    T(counts_sent_and_pushes_agree),
    T(counts_vetoed),
    T(counts_refused),
    T(counts_deduplicated),
    T(counts_expired),
    T(counts_dropped_when_full),
    T(counts_forgotten_on_removal),
    T(counts_forgotten_after_partial_replies),
    T(counts_replies),
    T(counts_enables_and_reports_added),
    T(counts_removals_by_reason),
    T2(removed2_replaces_removed_and_carries_cause),
    T(old_removed_callback_without_removed2),
    T(counts_store_failures),
    T(counts_cache_hits_and_misses),
    T(counts_inputs_rejected),
    T(counts_store_records_rejected),
    T(gauges),
    T(unknown_counters),
    cmocka_unit_test(counter_from_callback),
    T(one_outcome_per_publish),
    T2(log2_carries_stable_ids),
    T2(log_threshold_skips_formatting),
    T(below_threshold_never_formats),
    T(log_level_option_values),
#undef T
#undef T2
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
