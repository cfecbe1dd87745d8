/* Replies routable without parsing: the publish id's shape and its
 * prefix option, the outstanding-id check, the reply entry taking
 * fields the host already parsed, and replies from a foreign sender. */
#include "api-util.h"

#include <string.h>

typedef struct {
  fake_host h;
} fixture;

static int setup_flags(void **state, unsigned flags) {
  fixture *f = g_new0(fixture, 1);
  fh_init_ex(&f->h, flags);
  cloudnotify_session *s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, s, PUSH_JID, "n1", NULL);
  cloudnotify_session_free(s);
  fh_clear(&f->h);
  *state = f;
  return 0;
}

static int setup(void **state) {
  return setup_flags(state, 0);
}

static int setup_v2(void **state) {
  return setup_flags(state, FH_REMOVED2);
}

static int teardown(void **state) {
  fixture *f = *state;
  fh_fini(&f->h);
  g_free(f);
  return 0;
}

/* Ping once and return the new publish's id (g_free it). */
static char *publish(fixture *f) {
  unsigned before = au_publishes(&f->h);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  assert_int_equal(au_publishes(&f->h), before + 1);
  return fh_attr(fh_publish(&f->h, before)->xml, "id");
}

static gboolean is_lower_hex(const char *s, size_t n) {
  if (strlen(s) != n)
    return FALSE;
  for (; *s; s++)
    if (!g_ascii_isdigit(*s) && !(*s >= 'a' && *s <= 'f'))
      return FALSE;
  return TRUE;
}

/* ---- the id and its prefix ------------------------------------------------ */

static void id_is_32_lowercase_hex_by_default(void **state) {
  fixture *f = *state;
  char *a = publish(f), *b = publish(f);
  assert_true(is_lower_hex(a, 32));
  assert_true(is_lower_hex(b, 32));
  assert_string_not_equal(a, b);
  g_free(a);
  g_free(b);
}

static void prefix_prepended(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_id_prefix", "node-7.shard_2:");
  char *id = publish(f);
  assert_true(g_str_has_prefix(id, "node-7.shard_2:"));
  assert_true(is_lower_hex(id + strlen("node-7.shard_2:"), 32));
  assert_true(strlen(id) <= CLOUDNOTIFY_PUBLISH_ID_MAX);
  g_free(id);
  /* By number as well, and "" turns it off again. */
  assert_int_equal(cloudnotify_ctx_set_option_string(f->h.ctx, CLOUDNOTIFY_OPT_ID_PREFIX, "B"), 0);
  id = publish(f);
  assert_true(id[0] == 'B' && is_lower_hex(id + 1, 32));
  g_free(id);
  au_set(&f->h, "push_id_prefix", "");
  id = publish(f);
  assert_true(is_lower_hex(id, 32));
  g_free(id);
}

static void prefix_of_maximum_length(void **state) {
  fixture *f = *state;
  char longest[CLOUDNOTIFY_ID_PREFIX_MAX + 1];
  memset(longest, 'p', CLOUDNOTIFY_ID_PREFIX_MAX);
  longest[CLOUDNOTIFY_ID_PREFIX_MAX] = '\0';
  au_set(&f->h, "push_id_prefix", longest);
  char *id = publish(f);
  assert_int_equal(strlen(id), CLOUDNOTIFY_PUBLISH_ID_MAX);
  assert_true(g_str_has_prefix(id, longest));
  /* The reply to the longest id is found. */
  assert_int_equal(cloudnotify_is_outstanding_id(f->h.ctx, id), 1);
  assert_int_equal(fh_reply(&f->h, 0, "result", NULL), 0);
  g_free(id);
}

static void prefix_validated(void **state) {
  fixture *f = *state;
  char too_long[CLOUDNOTIFY_ID_PREFIX_MAX + 2];
  memset(too_long, 'p', CLOUDNOTIFY_ID_PREFIX_MAX + 1);
  too_long[CLOUDNOTIFY_ID_PREFIX_MAX + 1] = '\0';
  const char *bad[] = { too_long, "a b", "a'b",      "a\"b", "a<b",
                        "a&b",    "a/b", "\xc3\xa9", "a\tb", "a@b" };
  au_set(&f->h, "push_id_prefix", "ok-");
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    assert_int_equal(cloudnotify_ctx_set_option(f->h.ctx, "push_id_prefix", bad[i]),
                     CLOUDNOTIFY_ERR_OPTION_VALUE);
    assert_int_equal(cloudnotify_ctx_set_option_string(f->h.ctx, CLOUDNOTIFY_OPT_ID_PREFIX, bad[i]),
                     CLOUDNOTIFY_ERR_OPTION_VALUE);
  }
  assert_int_equal(cloudnotify_ctx_set_option_int(f->h.ctx, CLOUDNOTIFY_OPT_ID_PREFIX, 1),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  /* A refused value leaves the previous one. */
  char *id = publish(f);
  assert_true(g_str_has_prefix(id, "ok-"));
  g_free(id);
}

static void prefix_change_keeps_outstanding(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_id_prefix", "one-");
  char *old = publish(f);
  au_set(&f->h, "push_id_prefix", "two-");
  assert_int_equal(cloudnotify_is_outstanding_id(f->h.ctx, old), 1);
  assert_int_equal(fh_reply(&f->h, 0, "result", NULL), 0);
  g_free(old);
}

/* ---- the cheap check ----------------------------------------------------------- */

static void outstanding_id_check(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_id_prefix", "x-");
  char *id = publish(f);
  assert_int_equal(cloudnotify_is_outstanding_id(f->h.ctx, id), 1);
  assert_int_equal(cloudnotify_is_outstanding_id(f->h.ctx, id + 2), 0);
  char *upper = g_ascii_strup(id, -1);
  assert_int_equal(cloudnotify_is_outstanding_id(f->h.ctx, upper), 0);
  g_free(upper);
  assert_int_equal(cloudnotify_is_outstanding_id(f->h.ctx, ""), 0);
  assert_int_equal(cloudnotify_is_outstanding_id(f->h.ctx, NULL), 0);
  assert_int_equal(cloudnotify_is_outstanding_id(NULL, id), 0);
  /* A foreign sender leaves it outstanding; the real reply ends it. */
  assert_int_equal(fh_reply(&f->h, 0, "result", "evil.example"), CLOUDNOTIFY_ERR_FOREIGN_SENDER);
  assert_int_equal(cloudnotify_is_outstanding_id(f->h.ctx, id), 1);
  assert_int_equal(fh_reply(&f->h, 0, "result", NULL), 0);
  assert_int_equal(cloudnotify_is_outstanding_id(f->h.ctx, id), 0);
  g_free(id);
  /* Expiry ends it too. */
  au_set(&f->h, "push_publish_timeout", "1");
  id = publish(f);
  f->h.now += 1000;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
  assert_int_equal(cloudnotify_is_outstanding_id(f->h.ctx, id), 0);
  g_free(id);
}

/* Callable from callbacks: the notification filter of the second
 * publish sees the first one outstanding. */
typedef struct {
  cloudnotify_ctx *ctx;
  char last_id[CLOUDNOTIFY_PUBLISH_ID_MAX + 1];
  int probes[4];
  unsigned nprobes;
} probe_host;

static int probe_send(void *ud, cloudnotify_route route, cloudnotify_session *s,
                      const char *account, const char *to, const char *xml, size_t len) {
  probe_host *p = ud;
  (void)s;
  (void)account;
  (void)to;
  if (route == CLOUDNOTIFY_ROUTE_APP_SERVER) {
    char *x = g_strndup(xml, len);
    char *id = fh_attr(x, "id");
    g_strlcpy(p->last_id, id, sizeof p->last_id);
    g_free(id);
    g_free(x);
  }
  return 0;
}

static int probe_filter(void *ud, cloudnotify_push *push) {
  probe_host *p = ud;
  (void)push;
  if (p->nprobes < G_N_ELEMENTS(p->probes))
    p->probes[p->nprobes++] = cloudnotify_is_outstanding_id(p->ctx, p->last_id);
  return 0;
}

static void outstanding_check_from_callback(void **state) {
  (void)state;
  probe_host p = { 0 };
  cloudnotify_callbacks cb = { .size = sizeof cb,
                               .send = probe_send,
                               .notification_filter = probe_filter };
  assert_int_equal(cloudnotify_ctx_new(&p.ctx, &cb, &p), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(p.ctx, ALICE, ALICE_RES, &s), 0);
  assert_int_equal(fh_enable(s, PUSH_JID, NULL, NULL), 0);
  unsigned n;
  assert_int_equal(cloudnotify_ping(p.ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(cloudnotify_ping(p.ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(p.nprobes, 2);
  assert_int_equal(p.probes[0], 0); /* no publish yet */
  assert_int_equal(p.probes[1], 1); /* the first one, from inside a callback */
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(p.ctx);
}

/* ---- the fields entry ---------------------------------------------------------- */

static cloudnotify_reply fields(const char *id, const char *from, const char *type,
                                const char *etype, const char *econd) {
  cloudnotify_reply r = { sizeof r, id, from, type, etype, econd };
  return r;
}

static int reply_fields(fixture *f, const char *id, const char *from, const char *type,
                        const char *etype, const char *econd) {
  cloudnotify_reply r = fields(id, from, type, etype, econd);
  return cloudnotify_handle_app_reply_fields(f->h.ctx, &r);
}

static const fh_report *last_report(fixture *f) {
  assert_true(f->h.reports->len > 0);
  return f->h.reports->pdata[f->h.reports->len - 1];
}

static void fields_result_error_wait(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "2");
  char *a = publish(f);
  assert_int_equal(reply_fields(f, a, PUSH_JID, "error", "cancel", "item-not-found"), 0);
  const fh_report *r = last_report(f);
  assert_int_equal(r->outcome, CLOUDNOTIFY_PUBLISH_ERROR);
  assert_string_equal(r->id, a);
  assert_string_equal(r->error_type, "cancel");
  assert_string_equal(r->error_condition, "item-not-found");
  assert_int_equal(r->errors, 1);
  /* Consumed: the same id again is not ours any more. */
  assert_int_equal(reply_fields(f, a, PUSH_JID, "error", "cancel", NULL), CLOUDNOTIFY_ERR_NOT_MINE);
  char *b = publish(f);
  assert_int_equal(reply_fields(f, b, PUSH_JID, "error", "wait", "resource-constraint"), 0);
  assert_int_equal(last_report(f)->outcome, CLOUDNOTIFY_PUBLISH_WAIT);
  assert_int_equal(last_report(f)->errors, 1);
  char *c = publish(f);
  /* from is normalised as in the text entry. */
  assert_int_equal(reply_fields(f, c, "Push.Example", "result", NULL, NULL), 0);
  assert_int_equal(last_report(f)->outcome, CLOUDNOTIFY_PUBLISH_OK);
  assert_int_equal(last_report(f)->errors, 0);
  /* Reset: two more errors are needed; no type nor condition counts. */
  char *d = publish(f), *e = publish(f);
  assert_int_equal(reply_fields(f, d, PUSH_JID, "error", NULL, NULL), 0);
  assert_null(last_report(f)->error_type);
  assert_null(last_report(f)->error_condition);
  assert_int_equal(f->h.removed->len, 0);
  assert_int_equal(reply_fields(f, e, PUSH_JID, "error", "auth", "forbidden"), 0);
  assert_int_equal(f->h.removed->len, 1);
  assert_int_equal(au_removed(&f->h, 0)->reason, CLOUDNOTIFY_REMOVED_ERRORS);
  g_free(a);
  g_free(b);
  g_free(c);
  g_free(d);
  g_free(e);
}

/* Both entries share one path: errors counted through one count
 * towards the limit with errors counted through the other. */
static void fields_and_text_share_the_count(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "2");
  unsigned n = au_publishes(&f->h);
  char *a = publish(f);
  assert_int_equal(fh_reply(&f->h, n, "cancel", NULL), 0);
  char *b = publish(f);
  assert_int_equal(reply_fields(f, b, PUSH_JID, "error", "cancel", "gone"), 0);
  assert_int_equal(f->h.removed->len, 1);
  g_free(a);
  g_free(b);
}

static void fields_validated(void **state) {
  fixture *f = *state;
  char *id = publish(f);
  unsigned reports = f->h.reports->len;
  assert_int_equal(cloudnotify_handle_app_reply_fields(NULL, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_handle_app_reply_fields(f->h.ctx, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  cloudnotify_reply r = fields(id, PUSH_JID, "result", NULL, NULL);
  r.size = sizeof r - 1;
  assert_int_equal(cloudnotify_handle_app_reply_fields(f->h.ctx, &r), CLOUDNOTIFY_ERR_VTABLE_SIZE);
  /* A newer header's struct: refused while its unknown tail is set,
   * read as ours once that tail is zero. */
  struct {
    cloudnotify_reply r;
    void *newer;
  } w = { r, &w };
  w.r.size = sizeof w;
  assert_int_equal(cloudnotify_handle_app_reply_fields(f->h.ctx, &w.r),
                   CLOUDNOTIFY_ERR_VTABLE_SIZE);
  w.newer = NULL;
  w.r.id = "not-outstanding";
  assert_int_equal(cloudnotify_handle_app_reply_fields(f->h.ctx, &w.r), CLOUDNOTIFY_ERR_NOT_MINE);
  r.size = sizeof r;
  struct {
    const char *id, *from, *type, *etype, *econd;
    int rc;
  } cases[] = {
    { NULL, PUSH_JID, "result", NULL, NULL, CLOUDNOTIFY_ERR_INVALID_ARGUMENT },
    { id, NULL, "result", NULL, NULL, CLOUDNOTIFY_ERR_INVALID_ARGUMENT },
    { id, PUSH_JID, NULL, NULL, NULL, CLOUDNOTIFY_ERR_INVALID_ARGUMENT },
    { id, PUSH_JID, "bogus", NULL, NULL, CLOUDNOTIFY_ERR_INVALID_ARGUMENT },
    { id, PUSH_JID, "RESULT", NULL, NULL, CLOUDNOTIFY_ERR_INVALID_ARGUMENT },
    { id, PUSH_JID, "result", "cancel", NULL, CLOUDNOTIFY_ERR_INVALID_ARGUMENT },
    { id, PUSH_JID, "result", NULL, "gone", CLOUDNOTIFY_ERR_INVALID_ARGUMENT },
    { id, PUSH_JID, "error", "fatal", NULL, CLOUDNOTIFY_ERR_INVALID_ARGUMENT },
    { id, PUSH_JID, "error", "cancel", "no-such-condition", CLOUDNOTIFY_ERR_INVALID_ARGUMENT },
    { id, PUSH_JID, "error", "cancel", "text", CLOUDNOTIFY_ERR_INVALID_ARGUMENT },
    { id, "not a jid@", "result", NULL, NULL, CLOUDNOTIFY_ERR_JID_MALFORMED },
    { id, "", "result", NULL, NULL, CLOUDNOTIFY_ERR_JID_MALFORMED },
    { id, PUSH_JID, "get", NULL, NULL, CLOUDNOTIFY_ERR_NOT_MINE },
    { id, PUSH_JID, "set", NULL, NULL, CLOUDNOTIFY_ERR_NOT_MINE },
    { "nope", PUSH_JID, "result", NULL, NULL, CLOUDNOTIFY_ERR_NOT_MINE },
    { id, OTHER_PUSH_JID, "result", NULL, NULL, CLOUDNOTIFY_ERR_FOREIGN_SENDER },
    { id, PUSH_JID "/res", "error", "cancel", NULL, CLOUDNOTIFY_ERR_FOREIGN_SENDER },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    int rc =
        reply_fields(f, cases[i].id, cases[i].from, cases[i].type, cases[i].etype, cases[i].econd);
    if (rc != cases[i].rc)
      print_error("case %zu: %d, want %d\n", i, rc, cases[i].rc);
    assert_int_equal(rc, cases[i].rc);
    /* Nothing changed: still awaited, nothing reported. */
    assert_int_equal(cloudnotify_is_outstanding_id(f->h.ctx, id), 1);
    assert_int_equal(f->h.reports->len, reports);
  }
  assert_int_equal(reply_fields(f, id, PUSH_JID, "result", NULL, NULL), 0);
  g_free(id);
}

/* ---- foreign senders ----------------------------------------------------------- */

static void foreign_sender_reported_not_consumed(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "1");
  char *id = publish(f);
  unsigned reports = f->h.reports->len;
  char *x = g_strdup_printf("<iq type='error' id='%s'><error type='cancel'/></iq>", id);
  assert_int_equal(cloudnotify_handle_app_reply(f->h.ctx, x, strlen(x)),
                   CLOUDNOTIFY_ERR_FOREIGN_SENDER);
  g_free(x);
  assert_int_equal(fh_reply(&f->h, 0, "cancel", "romeo@montague.example"),
                   CLOUDNOTIFY_ERR_FOREIGN_SENDER);
  assert_int_equal(reply_fields(f, id, "romeo@montague.example", "error", "cancel", NULL),
                   CLOUDNOTIFY_ERR_FOREIGN_SENDER);
  assert_int_equal(f->h.reports->len, reports);
  assert_int_equal(f->h.removed->len, 0);
  assert_true(au_log_contains(&f->h, "unexpected sender"));
  /* The real reply is still awaited and counts (limit 1: removed). */
  assert_int_equal(fh_reply(&f->h, 0, "cancel", NULL), 0);
  assert_int_equal(f->h.removed->len, 1);
  g_free(id);
  assert_string_not_equal(cloudnotify_strerror(CLOUDNOTIFY_ERR_FOREIGN_SENDER),
                          cloudnotify_strerror(-9999));
  assert_int_equal(cloudnotify_is_usage_error(CLOUDNOTIFY_ERR_FOREIGN_SENDER), 0);
}

/* The condition the text entry reads is what the removal reports. */
static void text_reply_condition_reaches_removal(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_max_errors", "2");
  char *a = publish(f), *b = publish(f);
  char *x = g_strdup_printf("<iq type='error' id='%s' from='" PUSH_JID "'><error type='modify'>"
                            "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>t</text>"
                            "<not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                            "</error></iq>",
                            a);
  assert_int_equal(cloudnotify_handle_app_reply(f->h.ctx, x, strlen(x)), 0);
  g_free(x);
  assert_string_equal(last_report(f)->error_type, "modify");
  assert_string_equal(last_report(f)->error_condition, "not-acceptable");
  /* A condition outside RFC 6120 is undefined-condition; an unknown type
   * is none (and still counts). */
  x = g_strdup_printf("<iq type='error' id='%s' from='" PUSH_JID "'><error type='weird'>"
                      "<app-gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                      "</error></iq>",
                      b);
  assert_int_equal(cloudnotify_handle_app_reply(f->h.ctx, x, strlen(x)), 0);
  g_free(x);
  assert_null(last_report(f)->error_type);
  assert_string_equal(last_report(f)->error_condition, "undefined-condition");
  assert_int_equal(f->h.removed->len, 1);
  const fh_removed *r = au_removed(&f->h, 0);
  assert_true(r->v2);
  assert_int_equal(r->reason, CLOUDNOTIFY_REMOVED_ERRORS);
  assert_null(r->error_type);
  assert_string_equal(r->error_condition, "undefined-condition");
  g_free(a);
  g_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    T(id_is_32_lowercase_hex_by_default),
    T(prefix_prepended),
    T(prefix_of_maximum_length),
    T(prefix_validated),
    T(prefix_change_keeps_outstanding),
    T(outstanding_id_check),
    cmocka_unit_test(outstanding_check_from_callback),
    T(fields_result_error_wait),
    T(fields_and_text_share_the_count),
    T(fields_validated),
    T(foreign_sender_reported_not_consumed),
    cmocka_unit_test_setup_teardown(text_reply_condition_reaches_removal, setup_v2, teardown),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
