/* What a notification says (issue 8, point 8): message-count as the
 * number of stanzas a publish covers, summary fields and one extra element
 * added by the notification filter, the triggering stanza's type and id,
 * and publishing from the account's bare JID. */
#include "api-util.h"

#include <string.h>

/* A host whose notification filter is the test's. */
typedef struct content_host {
  cloudnotify_ctx *ctx;
  int64_t now;
  GPtrArray *publishes; /* char*: the publishes sent, in order */
  unsigned client_replies;
  /* The filter: run for each push when set. */
  void (*filter)(struct content_host *h, cloudnotify_push *p);
  GPtrArray *types, *ids; /* what the filter saw (recorded by see_stanza) */
  int rc[32];             /* results the filter recorded */
  unsigned n_rc;
} content_host;

static int ch_send(void *ud, cloudnotify_route route, cloudnotify_session *s, const char *account,
                   const char *to, const char *xml, size_t len) {
  (void)s;
  (void)account;
  (void)to;
  content_host *h = ud;
  if (route == CLOUDNOTIFY_ROUTE_APP_SERVER)
    g_ptr_array_add(h->publishes, g_strndup(xml, len));
  else
    h->client_replies++;
  return 0;
}

static int64_t ch_now(void *ud) {
  return ((content_host *)ud)->now;
}

static int ch_filter(void *ud, cloudnotify_push *p) {
  content_host *h = ud;
  if (h->filter)
    h->filter(h, p);
  return 0;
}

static int setup(void **state) {
  content_host *h = g_new0(content_host, 1);
  h->now = 1700000000000;
  h->publishes = g_ptr_array_new_with_free_func(g_free);
  h->types = g_ptr_array_new_with_free_func(g_free);
  h->ids = g_ptr_array_new_with_free_func(g_free);
  cloudnotify_callbacks cb = { .size = sizeof cb,
                               .send = ch_send,
                               .now_ms = ch_now,
                               .monotonic_ms = ch_now,
                               .notification_filter = ch_filter };
  assert_int_equal(cloudnotify_ctx_new(&h->ctx, &cb, h), 0);
  /* Several pushes to one registration in a row; how the rate limits
   * hold them back and count what they held is test-counts.c's. */
  assert_int_equal(cloudnotify_ctx_set_option_int(h->ctx, CLOUDNOTIFY_OPT_VISIBLE_INTERVAL_MS, 0),
                   0);
  assert_int_equal(cloudnotify_ctx_set_option_int(h->ctx, CLOUDNOTIFY_OPT_SILENT_PER_HOUR, 0), 0);
  *state = h;
  return 0;
}

static int teardown(void **state) {
  content_host *h = *state;
  cloudnotify_ctx_free(h->ctx);
  g_ptr_array_free(h->publishes, TRUE);
  g_ptr_array_free(h->types, TRUE);
  g_ptr_array_free(h->ids, TRUE);
  g_free(h);
  return 0;
}

static void set(content_host *h, const char *name, const char *value) {
  assert_int_equal(cloudnotify_ctx_set_option(h->ctx, name, value), 0);
}

static cloudnotify_session *bound_session(content_host *h) {
  cloudnotify_session *s;
  unsigned replies = h->client_replies;
  assert_int_equal(cloudnotify_session_new(h->ctx, ALICE, ALICE_RES, &s), 0);
  assert_int_equal(cloudnotify_session_sm_enabled(s), 0);
  assert_int_equal(fh_enable(s, PUSH_JID, "n1", NULL), 0);
  assert_int_equal(h->client_replies, replies + 1);
  return s;
}

static void unbound_registration(content_host *h) {
  cloudnotify_session *s = bound_session(h);
  cloudnotify_session_free(s);
}

static unsigned offline(content_host *h, const char *xml) {
  unsigned n = 12345;
  assert_int_equal(cloudnotify_message_offline(h->ctx, ALICE, xml, strlen(xml), &n), 0);
  return n;
}

static void queued(cloudnotify_session *s, const char *xml) {
  assert_int_equal(cloudnotify_session_queued(s, xml, strlen(xml)), 0);
}

static const char *publish(const content_host *h, unsigned i) {
  assert_true(i < h->publishes->len);
  return h->publishes->pdata[i];
}

static void tick_after(content_host *h, int64_t ms) {
  h->now += ms;
  assert_int_equal(cloudnotify_tick(h->ctx), 0);
}

#define MSG(id, body)                                                                              \
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' "              \
  "to='" ALICE_FULL "' id='" id "'><body>" body "</body></message>"
#define PRES(n)                                                                                    \
  "<presence xmlns='jabber:client' from='romeo@montague.example/" n "' to='" ALICE_FULL "'/>"

/* ---- message-count ------------------------------------------------------------- */

static void message_count_single_stanza(void **state) {
  content_host *h = *state;
  unbound_registration(h);
  assert_int_equal(offline(h, MSG("c1", "hi")), 1);
  au_assert_summary_field(publish(h, 0), "message-count", "1");
}

static void message_count_coalesced_batch(void **state) {
  content_host *h = *state;
  cloudnotify_session *s = bound_session(h);
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  queued(s, MSG("b1", "one"));
  queued(s, MSG("b2", "two"));
  queued(s, MSG("b3", "three"));
  queued(s, MSG("b4", "four"));
  queued(s, MSG("b5", "five"));
  tick_after(h, 1000);
  assert_int_equal(h->publishes->len, 1);
  au_assert_summary_field(publish(h, 0), "message-count", "5");
  /* Each covered stanza counts as pushed: handed to offline storage when
   * the session expires, none is pushed again. */
  cloudnotify_session_free(s);
  assert_int_equal(offline(h, MSG("b3", "three")), 0);
  assert_int_equal(offline(h, MSG("b5", "five")), 0);
  assert_int_equal(h->publishes->len, 1);
}

/* Important and unimportant pushes each count their own kind. */
static void message_count_by_kind(void **state) {
  content_host *h = *state;
  cloudnotify_session *s = bound_session(h);
  cloudnotify_buf q[] = {
    { PRES("p1"), strlen(PRES("p1")) },
    { MSG("k1", "one"), strlen(MSG("k1", "one")) },
    { MSG("k2", "two"), strlen(MSG("k2", "two")) },
    { PRES("p2"), strlen(PRES("p2")) },
    { MSG("k3", "three"), strlen(MSG("k3", "three")) },
  };
  assert_int_equal(cloudnotify_session_hibernated(s, q, G_N_ELEMENTS(q)), 0);
  assert_int_equal(h->publishes->len, 2);
  /* The first stanza decides which goes first: the presence. */
  au_assert_summary_field(publish(h, 0), "last-message-body", NULL);
  au_assert_summary_field(publish(h, 0), "message-count", "2");
  au_assert_summary_field(publish(h, 1), "last-message-body", "New Message!");
  au_assert_summary_field(publish(h, 1), "message-count", "3");
  cloudnotify_session_free(s);
}

/* Without an important body every push looks alike: one covers all. */
static void message_count_single_kind(void **state) {
  content_host *h = *state;
  set(h, "push_notification_important_body", "");
  cloudnotify_session *s = bound_session(h);
  cloudnotify_buf q[] = {
    { MSG("u1", "one"), strlen(MSG("u1", "one")) },
    { PRES("p1"), strlen(PRES("p1")) },
    { MSG("u2", "two"), strlen(MSG("u2", "two")) },
  };
  assert_int_equal(cloudnotify_session_hibernated(s, q, G_N_ELEMENTS(q)), 0);
  assert_int_equal(h->publishes->len, 1);
  au_assert_summary_field(publish(h, 0), "message-count", "3");
  cloudnotify_session_free(s);
}

/* The ack-delay push counts what was not pushed before. */
static void message_count_excludes_pushed(void **state) {
  content_host *h = *state;
  cloudnotify_session *s = bound_session(h);
  queued(s, MSG("a1", "one"));
  queued(s, MSG("a2", "two"));
  assert_int_equal(cloudnotify_session_ack_delayed(s, NULL, 0), 0);
  assert_int_equal(h->publishes->len, 1);
  au_assert_summary_field(publish(h, 0), "message-count", "2");
  queued(s, MSG("a3", "three"));
  assert_int_equal(cloudnotify_session_ack_delayed(s, NULL, 0), 0);
  assert_int_equal(h->publishes->len, 2);
  au_assert_summary_field(publish(h, 1), "message-count", "1");
  cloudnotify_session_free(s);
}

/* A stanza of a batch that was pushed already is counted as a
 * de-duplicated publish, as on every other path. */
static void batch_counts_deduplicated(void **state) {
  content_host *h = *state;
  cloudnotify_session *s = bound_session(h);
  cloudnotify_buf q[] = { { MSG("d1", "one"), strlen(MSG("d1", "one")) } };
  assert_int_equal(cloudnotify_session_hibernated(s, q, 1), 0);
  assert_int_equal(h->publishes->len, 1);
  uint64_t before = 0, after = 0;
  assert_int_equal(
      cloudnotify_ctx_get_counter(h->ctx, CLOUDNOTIFY_COUNTER_PUBLISHES_DEDUPLICATED, &before), 0);
  assert_int_equal(cloudnotify_session_resumed(s), 0);
  /* Resent on resumption, unacked again when the session drops again. */
  assert_int_equal(cloudnotify_session_hibernated(s, q, 1), 0);
  assert_int_equal(h->publishes->len, 1);
  assert_int_equal(
      cloudnotify_ctx_get_counter(h->ctx, CLOUDNOTIFY_COUNTER_PUBLISHES_DEDUPLICATED, &after), 0);
  assert_int_equal(after, before + 1);
  cloudnotify_session_free(s);
}

/* ---- fields and the extra element ---------------------------------------------- */

static void record(content_host *h, int rc) {
  assert_true(h->n_rc < G_N_ELEMENTS(h->rc));
  h->rc[h->n_rc++] = rc;
}

static void add_fields(content_host *h, cloudnotify_push *p) {
  record(h, cloudnotify_push_add_field(p, "pending-subscription-count", "2"));
  record(h, cloudnotify_push_add_field(p, "x-app", "a&b<c>"));
  /* Again: the value is replaced, the field not added twice. */
  record(h, cloudnotify_push_add_field(p, "pending-subscription-count", "3"));
  /* Refused, and nothing changes. */
  record(h, cloudnotify_push_add_field(p, "message-count", "9"));
  record(h, cloudnotify_push_add_field(p, "last-message-body", "x"));
  record(h, cloudnotify_push_add_field(p, "FORM_TYPE", "x"));
  record(h, cloudnotify_push_add_field(p, "two words", "x"));
  record(h, cloudnotify_push_add_field(p, "", "x"));
  record(h, cloudnotify_push_add_field(p, "bad", "\001"));
  record(h, cloudnotify_push_add_field(p, "bad\xef\xbf\xbe", "x"));
  record(h, cloudnotify_push_add_field(p, NULL, "x"));
  record(h, cloudnotify_push_add_field(p, "x", NULL));
  record(h, cloudnotify_push_add_field(NULL, "x", "x"));
  char *big = g_strnfill(CLOUDNOTIFY_PUSH_MAX_VALUE_SIZE + 1, 'v');
  record(h, cloudnotify_push_add_field(p, "big", big));
  big[CLOUDNOTIFY_PUSH_MAX_VALUE_SIZE] = '\0';
  record(h, cloudnotify_push_add_field(p, "big", big));
  g_free(big);
  char *long_var = g_strnfill(CLOUDNOTIFY_PUSH_MAX_VAR_SIZE + 1, 'k');
  record(h, cloudnotify_push_add_field(p, long_var, "x"));
  g_free(long_var);
}

static void filter_adds_fields(void **state) {
  content_host *h = *state;
  h->filter = add_fields;
  unbound_registration(h);
  assert_int_equal(offline(h, MSG("f1", "hi")), 1);
  static const int want[] = {
    0,
    0,
    0,
    CLOUDNOTIFY_ERR_INVALID_ARGUMENT,
    CLOUDNOTIFY_ERR_INVALID_ARGUMENT,
    CLOUDNOTIFY_ERR_INVALID_ARGUMENT,
    CLOUDNOTIFY_ERR_INVALID_ARGUMENT,
    CLOUDNOTIFY_ERR_INVALID_ARGUMENT,
    CLOUDNOTIFY_ERR_INVALID_ARGUMENT,
    CLOUDNOTIFY_ERR_INVALID_ARGUMENT,
    CLOUDNOTIFY_ERR_INVALID_ARGUMENT,
    CLOUDNOTIFY_ERR_INVALID_ARGUMENT,
    CLOUDNOTIFY_ERR_INVALID_ARGUMENT,
    CLOUDNOTIFY_ERR_TOO_LARGE,
    0,
    CLOUDNOTIFY_ERR_INVALID_ARGUMENT,
  };
  assert_int_equal(h->n_rc, G_N_ELEMENTS(want));
  for (unsigned i = 0; i < G_N_ELEMENTS(want); i++) {
    if (h->rc[i] != want[i])
      print_error("call %u: %d, want %d\n", i, h->rc[i], want[i]);
    assert_int_equal(h->rc[i], want[i]);
  }
  const char *x = publish(h, 0);
  au_assert_summary_field(x, "pending-subscription-count", "3");
  au_assert_summary_field(x, "x-app", "a&b<c>");
  au_assert_summary_field(x, "message-count", "1");
  au_assert_summary_field(x, "last-message-body", "New Message!");
  /* The library's fields first, then the filter's in the order added;
   * each var once. */
  const char *form = "/iq/ps:pubsub/ps:publish/ps:item/p:notification/x:x/x:field";
  char *q = g_strdup_printf("count(%s)", form);
  au_assert_xpath(x, q, "6");
  g_free(q);
  au_assert_xpath(x,
                  "string(/iq/ps:pubsub/ps:publish/ps:item/p:notification/x:x"
                  "/x:field[3]/@var)",
                  "last-message-body");
  au_assert_xpath(x,
                  "string(/iq/ps:pubsub/ps:publish/ps:item/p:notification/x:x"
                  "/x:field[4]/@var)",
                  "pending-subscription-count");
  au_assert_xpath(x,
                  "string(/iq/ps:pubsub/ps:publish/ps:item/p:notification/x:x"
                  "/x:field[5]/@var)",
                  "x-app");
  au_assert_xpath(x,
                  "string(/iq/ps:pubsub/ps:publish/ps:item/p:notification/x:x"
                  "/x:field[6]/@var)",
                  "big");
}

static void add_many_fields(content_host *h, cloudnotify_push *p) {
  for (unsigned i = 0; i <= CLOUDNOTIFY_PUSH_MAX_FIELDS; i++) {
    char var[16];
    g_snprintf(var, sizeof var, "f%u", i);
    record(h, cloudnotify_push_add_field(p, var, "v"));
  }
  /* Replacing one is still possible at the bound. */
  record(h, cloudnotify_push_add_field(p, "f0", "w"));
}

static void filter_fields_bounded(void **state) {
  content_host *h = *state;
  h->filter = add_many_fields;
  unbound_registration(h);
  assert_int_equal(offline(h, MSG("f2", "hi")), 1);
  assert_int_equal(h->n_rc, CLOUDNOTIFY_PUSH_MAX_FIELDS + 2);
  for (unsigned i = 0; i < CLOUDNOTIFY_PUSH_MAX_FIELDS; i++)
    assert_int_equal(h->rc[i], 0);
  assert_int_equal(h->rc[CLOUDNOTIFY_PUSH_MAX_FIELDS], CLOUDNOTIFY_ERR_TOO_LARGE);
  assert_int_equal(h->rc[CLOUDNOTIFY_PUSH_MAX_FIELDS + 1], 0);
  au_assert_summary_field(publish(h, 0), "f0", "w");
  char *last = g_strdup_printf("f%u", CLOUDNOTIFY_PUSH_MAX_FIELDS - 1);
  au_assert_summary_field(publish(h, 0), last, "v");
  g_free(last);
  char *over = g_strdup_printf("f%u", CLOUDNOTIFY_PUSH_MAX_FIELDS);
  au_assert_summary_field(publish(h, 0), over, NULL);
  g_free(over);
}

static int set_extra(cloudnotify_push *p, const char *xml) {
  return cloudnotify_push_set_extra(p, xml, strlen(xml));
}

static void extras(content_host *h, cloudnotify_push *p) {
  /* Refused, each leaving the push as it was. */
  record(h, set_extra(p, "<a xmlns='urn:a'/><b xmlns='urn:a'/>"));
  record(h, set_extra(p, "<a/>"));
  record(h, set_extra(p, "<a xmlns='urn:xmpp:push:0'/>"));
  record(h, set_extra(p, "<x xmlns='jabber:x:data'/>"));
  record(h, set_extra(p, "<a xmlns='urn:a'><!-- c --></a>"));
  record(h, set_extra(p, "<a xmlns='urn:a'>"));
  record(h, set_extra(p, "text"));
  record(h, set_extra(p, ""));
  record(h, cloudnotify_push_set_extra(NULL, "<a xmlns='urn:a'/>", 18));
  GString *big = g_string_new("<a xmlns='urn:a'>");
  while (big->len <= CLOUDNOTIFY_PUSH_MAX_EXTRA_SIZE)
    g_string_append(big, "<b/>");
  g_string_append(big, "</a>");
  record(h, set_extra(p, big->str));
  g_string_free(big, TRUE);
  GString *deep = g_string_new(NULL);
  for (int i = 0; i < 100; i++)
    g_string_append(deep, "<d xmlns='urn:d'>");
  for (int i = 0; i < 100; i++)
    g_string_append(deep, "</d>");
  record(h, set_extra(p, deep->str));
  g_string_free(deep, TRUE);
  /* Accepted, then replaced, removed, set again. */
  record(h, set_extra(p, "<first xmlns='urn:a'/>"));
  record(h, cloudnotify_push_set_extra(p, NULL, 0));
  record(h, set_extra(p, "<e:info xmlns:e='urn:example:info' xmlns:m='urn:m' m:k='1'>"
                         "<e:unread>4</e:unread><plain xmlns=''>&amp;</plain></e:info>"));
}

static void filter_sets_extra_element(void **state) {
  content_host *h = *state;
  h->filter = extras;
  unbound_registration(h);
  assert_int_equal(offline(h, MSG("e1", "hi")), 1);
  static const int want[] = {
    CLOUDNOTIFY_ERR_XML,
    CLOUDNOTIFY_ERR_XML,
    CLOUDNOTIFY_ERR_XML,
    CLOUDNOTIFY_ERR_XML,
    CLOUDNOTIFY_ERR_XML,
    CLOUDNOTIFY_ERR_XML,
    CLOUDNOTIFY_ERR_XML,
    CLOUDNOTIFY_ERR_XML,
    CLOUDNOTIFY_ERR_INVALID_ARGUMENT,
    CLOUDNOTIFY_ERR_TOO_LARGE,
    CLOUDNOTIFY_ERR_TOO_LARGE,
    0,
    0,
    0,
  };
  assert_int_equal(h->n_rc, G_N_ELEMENTS(want));
  for (unsigned i = 0; i < G_N_ELEMENTS(want); i++) {
    if (h->rc[i] != want[i])
      print_error("call %u: %d, want %d\n", i, h->rc[i], want[i]);
    assert_int_equal(h->rc[i], want[i]);
  }
  const char *x = publish(h, 0);
  const char *n = "/iq/ps:pubsub/ps:publish/ps:item/p:notification";
  char *q = g_strdup_printf("count(%s/*)", n);
  au_assert_xpath(x, q, "2");
  g_free(q);
  /* After the summary form, re-written with default namespaces. */
  q = g_strdup_printf("namespace-uri(%s/*[2])", n);
  au_assert_xpath(x, q, "urn:example:info");
  g_free(q);
  q = g_strdup_printf("string(%s/*[2]/*[local-name()='unread'])", n);
  au_assert_xpath(x, q, "4");
  g_free(q);
  q = g_strdup_printf("string(%s/*[2]/*[local-name()='plain' and namespace-uri()=''])", n);
  au_assert_xpath(x, q, "&");
  g_free(q);
  q = g_strdup_printf("string(%s/*[2]/@*[local-name()='k' and namespace-uri()='urn:m'])", n);
  au_assert_xpath(x, q, "1");
  g_free(q);
  assert_null(strstr(x, "first"));
}

/* ---- the triggering stanza's type and id ---------------------------------------- */

static void see_stanza(content_host *h, cloudnotify_push *p) {
  const char *t = cloudnotify_push_stanza_type(p), *i = cloudnotify_push_stanza_id(p);
  g_ptr_array_add(h->types, g_strdup(t ? t : "(null)"));
  g_ptr_array_add(h->ids, g_strdup(i ? i : "(null)"));
}

static void assert_seen(const content_host *h, unsigned i, const char *type, const char *id) {
  assert_true(i < h->types->len);
  assert_string_equal(h->types->pdata[i], type);
  assert_string_equal(h->ids->pdata[i], id);
}

static void filter_sees_stanza_type_and_id(void **state) {
  content_host *h = *state;
  h->filter = see_stanza;
  cloudnotify_session *s = bound_session(h);
  cloudnotify_session *other;
  assert_int_equal(cloudnotify_session_new(h->ctx, ALICE, "other", &other), 0);
  assert_int_equal(fh_enable(other, OTHER_PUSH_JID, "n2", NULL), 0);
  cloudnotify_session_free(other);

  assert_int_equal(offline(h, MSG("t1", "hi")), 2);
  assert_seen(h, 0, "chat", "t1");
  /* No type: RFC 6121's default.  No id: none. */
  assert_int_equal(offline(h, "<message from='romeo@montague.example/o' to='" ALICE "'>"
                              "<body>untyped</body></message>"),
                   2);
  assert_seen(h, 2, "normal", "(null)");
  /* A carbon: the forwarded message's. */
  assert_int_equal(
      offline(h, "<message from='" ALICE "' to='" ALICE_FULL "' id='outer' "
                 "type='chat'><received xmlns='urn:xmpp:carbons:2'><forwarded "
                 "xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' type='groupchat' "
                 "from='room@muc.example/nick' to='" ALICE "/phone' id='inner'>"
                 "<body>x</body></message></forwarded></received></message>"),
      2);
  assert_seen(h, 4, "groupchat", "inner");
  /* A presence on a session path. */
  cloudnotify_buf q[] = { { PRES("p1"), strlen(PRES("p1")) } };
  assert_int_equal(cloudnotify_session_hibernated(s, q, 1), 0);
  assert_seen(h, 6, "available", "(null)");
  /* A ping has none. */
  unsigned n;
  assert_int_equal(cloudnotify_ping(h->ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(n, 2);
  assert_seen(h, 7, "(null)", "(null)");
  assert_seen(h, 8, "(null)", "(null)");
  /* Outside a filter there is nothing to see. */
  assert_null(cloudnotify_push_stanza_type(NULL));
  assert_null(cloudnotify_push_stanza_id(NULL));
  cloudnotify_session_free(s);
}

/* ---- publishing from the account's bare JID --------------------------------------- */

static char *reply_to(const char *publish_xml, const char *type) {
  char *id = fh_attr(publish_xml, "id");
  char *from = fh_attr(publish_xml, "from");
  char *x =
      g_strdup_printf("<iq type='%s' id='%s' from='" PUSH_JID "' to='%s'>%s</iq>", type, id, from,
                      strcmp(type, "error") ? ""
                                            : "<error type='cancel'><item-not-found "
                                              "xmlns='urn:ietf:params:xml:ns:xmpp-"
                                              "stanzas'/></error>");
  g_free(id);
  g_free(from);
  return x;
}

static void publish_from_bare_jid(void **state) {
  content_host *h = *state;
  unbound_registration(h);
  /* Default: the domain, as the reference. */
  assert_int_equal(offline(h, MSG("j1", "hi")), 1);
  char *from = fh_attr(publish(h, 0), "from");
  assert_string_equal(from, "capulet.example");
  g_free(from);

  set(h, "push_publish_from_bare", "true");
  set(h, "push_max_errors", "2");
  assert_int_equal(offline(h, MSG("j2", "hi")), 1);
  from = fh_attr(publish(h, 1), "from");
  assert_string_equal(from, ALICE);
  g_free(from);
  /* The app server answers the account; the host hands that reply over
   * and it counts as usual. */
  char *r = reply_to(publish(h, 1), "error");
  assert_int_equal(cloudnotify_handle_app_reply(h->ctx, r, strlen(r)), 0);
  assert_int_equal(cloudnotify_handle_app_reply(h->ctx, r, strlen(r)), CLOUDNOTIFY_ERR_NOT_MINE);
  g_free(r);
  assert_int_equal(offline(h, MSG("j3", "hi")), 1);
  r = reply_to(publish(h, 2), "error");
  assert_int_equal(cloudnotify_handle_app_reply(h->ctx, r, strlen(r)), 0);
  g_free(r);
  assert_int_equal(cloudnotify_account_has_push(h->ctx, ALICE), 0);

  /* By enum as well, and back. */
  assert_int_equal(cloudnotify_ctx_set_option_int(h->ctx, CLOUDNOTIFY_OPT_PUBLISH_FROM_BARE, 0), 0);
  assert_int_equal(cloudnotify_ctx_set_option_int(h->ctx, CLOUDNOTIFY_OPT_PUBLISH_FROM_BARE, 2),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  assert_int_equal(cloudnotify_ctx_set_option(h->ctx, "push_publish_from_bare", "maybe"),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  unbound_registration(h);
  unsigned before = h->publishes->len;
  assert_int_equal(offline(h, MSG("j4", "hi")), 1);
  from = fh_attr(publish(h, before), "from");
  assert_string_equal(from, "capulet.example");
  g_free(from);
}

int main(void) {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    T(message_count_single_stanza),
    T(message_count_coalesced_batch),
    T(message_count_by_kind),
    T(message_count_single_kind),
    T(message_count_excludes_pushed),
    T(batch_counts_deduplicated),
    T(filter_adds_fields),
    T(filter_fields_bounded),
    T(filter_sets_extra_element),
    T(filter_sees_stanza_type_and_id),
    T(publish_from_bare_jid),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
