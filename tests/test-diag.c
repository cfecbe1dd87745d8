/* Diagnosis (cloudnotify_diag_registrations, cloudnotify_diag_test_push):
 * the listing shows what the app server answered, a test push passes the
 * rules that hold pushes back and its outcome comes back marked, and the
 * account is loaded as the administration calls load it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "cloudnotify/cloudnotify.h"

#define ALICE "juliet@capulet.example"
#define PUSH  "push.example"
#define FORM                                                                                       \
  "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"                          \
  "http://jabber.org/protocol/pubsub#publish-options</value></field>"                              \
  "<field var='secret'><value>s3cret</value></field></x>"
#define KEY16 "AAECAwQFBgcICQoLDA0ODw=="

typedef struct rep {
  char *account, *jid, *node, *id, *type, *condition, *text;
  cloudnotify_publish_outcome outcome;
  unsigned errors, flags;
  size_t size;
} rep;

typedef struct host {
  cloudnotify_ctx *ctx;
  int64_t now;
  int send_rc;
  GPtrArray *sent;    /* char*: publishes */
  GPtrArray *reports; /* rep* */
  /* a store answering its loads later (pending_store) */
  cloudnotify_op *op;
  cloudnotify_loader *loader;
  unsigned loads;
} host;

static int h_send(void *ud, cloudnotify_route route, cloudnotify_session *s, const char *account,
                  const char *to, const char *xml, size_t len) {
  (void)s, (void)account, (void)to;
  host *h = ud;
  if (route == CLOUDNOTIFY_ROUTE_APP_SERVER && h->send_rc == 0)
    g_ptr_array_add(h->sent, g_strndup(xml, len));
  return route == CLOUDNOTIFY_ROUTE_APP_SERVER ? h->send_rc : 0;
}

static int64_t h_now(void *ud) {
  return ((host *)ud)->now;
}

static void rep_free(gpointer p) {
  rep *r = p;
  g_free(r->account);
  g_free(r->jid);
  g_free(r->node);
  g_free(r->id);
  g_free(r->type);
  g_free(r->condition);
  g_free(r->text);
  g_free(r);
}

static void h_outcome(void *ud, const cloudnotify_publish_report *report) {
  host *h = ud;
  rep *r = g_new0(rep, 1);
  r->size = report->size;
  r->account = g_strdup(report->account);
  r->jid = g_strdup(report->jid);
  r->node = g_strdup(report->node);
  r->id = g_strdup(report->id);
  r->outcome = report->outcome;
  r->type = g_strdup(report->error_type);
  r->condition = g_strdup(report->error_condition);
  r->errors = report->consecutive_errors;
  if (report->size >= offsetof(cloudnotify_publish_report, flags) + sizeof report->flags) {
    r->text = g_strdup(report->error_text);
    r->flags = report->flags;
  }
  g_ptr_array_add(h->reports, r);
}

static void host_init(host *h) {
  memset(h, 0, sizeof *h);
  h->now = 1700000000000;
  h->sent = g_ptr_array_new_with_free_func(g_free);
  h->reports = g_ptr_array_new_with_free_func(rep_free);
  cloudnotify_callbacks cb = {
    .size = sizeof cb,
    .send = h_send,
    .now_ms = h_now,
    .monotonic_ms = h_now,
    .publish_outcome = h_outcome,
  };
  assert_int_equal(cloudnotify_ctx_new(&h->ctx, &cb, h), 0);
}

static void host_fini(host *h) {
  cloudnotify_ctx_free(h->ctx);
  g_ptr_array_free(h->sent, TRUE);
  g_ptr_array_free(h->reports, TRUE);
}

static cloudnotify_session *enable(host *h, const char *resource, const char *node,
                                   const char *extra) {
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(h->ctx, ALICE, resource, &s), 0);
  char *iq = g_strdup_printf("<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='" PUSH
                             "' node='%s'>" FORM "%s</enable></iq>",
                             node, extra ? extra : "");
  assert_int_equal(cloudnotify_handle_client_iq(s, iq, strlen(iq)), 0);
  g_free(iq);
  return s;
}

static unsigned offline(host *h, const char *id) {
  char *m = g_strdup_printf("<message xmlns='jabber:client' type='chat' to='" ALICE
                            "' from='romeo@montague.example/o' id='%s'><body>hi</body></message>",
                            id);
  unsigned pushes = 0;
  assert_int_equal(cloudnotify_message_offline(h->ctx, ALICE, m, strlen(m), &pushes), 0);
  g_free(m);
  return pushes;
}

/* The id attribute of a sent stanza (the library writes id='...'). */
static char *id_of(const char *xml) {
  const char *p = strstr(xml, " id='");
  assert_non_null(p);
  p += 5;
  return g_strndup(p, strcspn(p, "'"));
}

static int reply(host *h, const char *xml_of_publish, const char *error) {
  char *id = id_of(xml_of_publish);
  char *x = error ? g_strdup_printf("<iq type='error' id='%s' from='" PUSH "'>%s</iq>", id, error)
                  : g_strdup_printf("<iq type='result' id='%s' from='" PUSH "'/>", id);
  int rc = cloudnotify_handle_app_reply(h->ctx, x, strlen(x));
  g_free(x);
  g_free(id);
  return rc;
}

/* ---- what a listing reports ------------------------------------------- */

typedef struct seen_reg {
  char *jid, *node, *client_id, *last_id, *type, *condition, *text, *extensions;
  int64_t enabled_at, at;
  unsigned errors, outstanding, sessions, held;
  cloudnotify_publish_outcome outcome;
  int test, encrypted;
  int64_t backoff_ms, backoff_left;
} seen_reg;

static void seen_free(gpointer p) {
  seen_reg *s = p;
  g_free(s->jid);
  g_free(s->node);
  g_free(s->client_id);
  g_free(s->last_id);
  g_free(s->type);
  g_free(s->condition);
  g_free(s->text);
  g_free(s->extensions);
  g_free(s);
}

static int collect(void *ud, const char *account, const cloudnotify_diag_registration *r) {
  assert_string_equal(account, ALICE);
  assert_true(r->size >= sizeof *r);
  seen_reg *s = g_new0(seen_reg, 1);
  s->jid = g_strdup(r->jid);
  s->node = g_strdup(r->node);
  s->client_id = g_strdup(r->client_id);
  s->last_id = g_strdup(r->last_id);
  s->type = g_strdup(r->last_error_type);
  s->condition = g_strdup(r->last_error_condition);
  s->text = g_strdup(r->last_error_text);
  s->extensions = g_strdup(r->extensions);
  s->enabled_at = r->enabled_at_ms;
  s->at = r->last_outcome_at_ms;
  s->errors = r->errors;
  s->outstanding = r->outstanding;
  s->sessions = r->sessions;
  s->held = r->backoff_held;
  s->outcome = r->last_outcome;
  s->test = r->last_was_test;
  s->encrypted = r->encrypted;
  s->backoff_ms = r->backoff_ms;
  s->backoff_left = r->backoff_left_ms;
  g_ptr_array_add(ud, s);
  return 0;
}

static GPtrArray *list(host *h, int want) {
  GPtrArray *a = g_ptr_array_new_with_free_func(seen_free);
  assert_int_equal(cloudnotify_diag_registrations(h->ctx, ALICE, collect, a), want);
  assert_int_equal(a->len, want < 0 ? 0 : want);
  return a;
}

#define ERR_TEXT                                                                                   \
  "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"             \
  "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Unknown device token</text></error>"

/* An error reply is kept on the registration with its text and the
 * count, and is what publish_outcome reported. */
static void listing_after_error(void **state) {
  (void)state;
  host h;
  host_init(&h);
  cloudnotify_session *s = enable(&h, "phone", "n1", NULL);
  GPtrArray *a = list(&h, 1);
  seen_reg *r = a->pdata[0];
  assert_int_equal(r->outcome, 0);
  assert_null(r->last_id);
  assert_int_equal(r->sessions, 1);
  assert_string_equal(r->client_id, "phone");
  assert_int_equal(r->enabled_at, h.now);
  assert_string_equal(r->extensions, "");
  g_ptr_array_free(a, TRUE);

  cloudnotify_session_free(s);
  assert_int_equal(offline(&h, "m1"), 1);
  a = list(&h, 1);
  assert_int_equal(((seen_reg *)a->pdata[0])->outstanding, 1);
  assert_int_equal(((seen_reg *)a->pdata[0])->sessions, 0);
  g_ptr_array_free(a, TRUE);

  h.now += 5000;
  assert_int_equal(reply(&h, h.sent->pdata[0], ERR_TEXT), 0);
  char *id = id_of(h.sent->pdata[0]);
  a = list(&h, 1);
  r = a->pdata[0];
  assert_string_equal(r->jid, PUSH);
  assert_string_equal(r->node, "n1");
  assert_int_equal(r->errors, 1);
  assert_int_equal(r->outcome, CLOUDNOTIFY_PUBLISH_ERROR);
  assert_int_equal(r->at, h.now);
  assert_string_equal(r->last_id, id);
  assert_string_equal(r->type, "cancel");
  assert_string_equal(r->condition, "item-not-found");
  assert_string_equal(r->text, "Unknown device token");
  assert_int_equal(r->test, 0);
  assert_int_equal(r->outstanding, 0);
  g_ptr_array_free(a, TRUE);
  /* The host heard the same, the text included, without the test flag. */
  assert_int_equal(h.reports->len, 1);
  rep *p = h.reports->pdata[0];
  assert_int_equal(p->size, sizeof(cloudnotify_publish_report));
  assert_int_equal(p->outcome, CLOUDNOTIFY_PUBLISH_ERROR);
  assert_string_equal(p->text, "Unknown device token");
  assert_int_equal(p->flags, 0);

  /* A second error counts again; a result resets the count and clears
   * the error from the listing. */
  assert_int_equal(offline(&h, "m2"), 1);
  assert_int_equal(reply(&h, h.sent->pdata[1], ERR_TEXT), 0);
  a = list(&h, 1);
  assert_int_equal(((seen_reg *)a->pdata[0])->errors, 2);
  g_ptr_array_free(a, TRUE);
  h.now += 4000; /* past the visible interval */
  assert_int_equal(offline(&h, "m3"), 1);
  assert_int_equal(reply(&h, h.sent->pdata[2], NULL), 0);
  a = list(&h, 1);
  r = a->pdata[0];
  assert_int_equal(r->errors, 0);
  assert_int_equal(r->outcome, CLOUDNOTIFY_PUBLISH_OK);
  assert_null(r->condition);
  assert_null(r->text);
  g_ptr_array_free(a, TRUE);
  g_free(id);
  host_fini(&h);
}

/* The app server's text is untrusted: kept bounded, cut between
 * characters. */
static void error_text_bounded(void **state) {
  (void)state;
  host h;
  host_init(&h);
  cloudnotify_session_free(enable(&h, "phone", "n1", NULL));
  assert_int_equal(offline(&h, "m1"), 1);
  GString *e =
      g_string_new("<error type='cancel'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                   "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>a");
  for (int i = 0; i < 1000; i++)
    g_string_append(e, "\xc3\xa9"); /* é: two bytes, so 512 falls inside one */
  g_string_append(e, "</text></error>");
  assert_int_equal(reply(&h, h.sent->pdata[0], e->str), 0);
  g_string_free(e, TRUE);
  rep *p = h.reports->pdata[0];
  assert_true(strlen(p->text) <= CLOUDNOTIFY_DIAG_TEXT_MAX);
  assert_true(strlen(p->text) >= CLOUDNOTIFY_DIAG_TEXT_MAX - 1);
  assert_true(g_utf8_validate(p->text, -1, NULL));
  GPtrArray *a = list(&h, 1);
  assert_string_equal(((seen_reg *)a->pdata[0])->text, p->text);
  assert_string_equal(((seen_reg *)a->pdata[0])->condition, "gone");
  g_ptr_array_free(a, TRUE);
  host_fini(&h);
}

/* A test push goes while the back-off holds ordinary pushes, carries what
 * the registration's pushes carry, and its outcome comes back marked. */
static void test_push_reaches_send(void **state) {
  (void)state;
  host h;
  host_init(&h);
  cloudnotify_session_free(enable(&h, "phone", "n1", NULL));
  assert_int_equal(offline(&h, "m1"), 1);
  assert_int_equal(
      reply(&h, h.sent->pdata[0],
            "<error type='wait'><resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
            "</error>"),
      0);
  /* The back-off holds the next one (past the visible interval). */
  h.now += 4000;
  assert_int_equal(offline(&h, "m2"), 0);
  GPtrArray *a = list(&h, 1);
  seen_reg *r = a->pdata[0];
  assert_int_equal(r->outcome, CLOUDNOTIFY_PUBLISH_WAIT);
  assert_int_equal(r->backoff_ms, 30000);
  assert_int_equal(r->backoff_left, 30000 - 4000);
  assert_int_equal(r->held, 1);
  g_ptr_array_free(a, TRUE);

  unsigned pushes = 99;
  char id[CLOUDNOTIFY_PUBLISH_ID_MAX + 1];
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, ALICE, NULL, &pushes, id), 0);
  assert_int_equal(pushes, 1);
  assert_int_equal(h.sent->len, 2);
  const char *x = h.sent->pdata[1];
  char *sid = id_of(x);
  assert_string_equal(sid, id);
  g_free(sid);
  assert_non_null(strstr(x, "to='" PUSH "'"));
  assert_non_null(strstr(x, "node='n1'"));
  assert_non_null(strstr(x, "s3cret"));       /* the publish-options */
  assert_non_null(strstr(x, "New Message!")); /* an important push */
  assert_null(strstr(x, "message-count"));    /* that stands for no message */
  assert_int_equal(cloudnotify_is_outstanding_id(h.ctx, id), 1);
  unsigned before = h.reports->len;
  assert_int_equal(reply(&h, x, NULL), 0);
  assert_int_equal(h.reports->len, before + 1);
  rep *p = h.reports->pdata[before];
  assert_int_equal(p->outcome, CLOUDNOTIFY_PUBLISH_OK);
  assert_int_equal(p->flags, CLOUDNOTIFY_PUBLISH_FLAG_TEST);
  assert_string_equal(p->id, id);
  a = list(&h, 1);
  r = a->pdata[0];
  assert_int_equal(r->outcome, CLOUDNOTIFY_PUBLISH_OK);
  assert_int_equal(r->test, 1);
  assert_string_equal(r->last_id, id);
  g_ptr_array_free(a, TRUE);
  /* The result ended the back-off: the held push went, unmarked. */
  assert_int_equal(h.sent->len, 3);
  assert_int_equal(reply(&h, h.sent->pdata[2], NULL), 0);
  p = h.reports->pdata[h.reports->len - 1];
  assert_int_equal(p->flags, 0);
  host_fini(&h);
}

/* A test push passes the quiet rule's cousins: the rate limits.  An
 * error answer to it counts like any other, marked as the test's. */
static void test_push_error_counts(void **state) {
  (void)state;
  host h;
  host_init(&h);
  cloudnotify_session_free(enable(&h, "phone", "n1", NULL));
  cloudnotify_session_free(enable(&h, "tablet", "n2", NULL));
  /* Two visible pushes in a row: the second is held by the interval. */
  assert_int_equal(offline(&h, "m1"), 2);
  assert_int_equal(offline(&h, "m2"), 0);
  g_ptr_array_set_size(h.sent, 0);
  unsigned pushes;
  cloudnotify_endpoint ep = { PUSH, "n2" };
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, ALICE, &ep, &pushes, NULL), 0);
  assert_int_equal(pushes, 1);
  assert_non_null(strstr(h.sent->pdata[0], "node='n2'"));
  assert_int_equal(reply(&h, h.sent->pdata[0], ERR_TEXT), 0);
  rep *p = h.reports->pdata[h.reports->len - 1];
  assert_int_equal(p->outcome, CLOUDNOTIFY_PUBLISH_ERROR);
  assert_int_equal(p->flags, CLOUDNOTIFY_PUBLISH_FLAG_TEST);
  assert_string_equal(p->node, "n2");
  assert_string_equal(p->text, "Unknown device token");
  assert_int_equal(p->errors, 1);
  /* Every registration of the account when no endpoint is named. */
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, ALICE, NULL, &pushes, NULL), 0);
  assert_int_equal(pushes, 2);
  /* Refused by the host: SEND, each reported REFUSED and marked. */
  h.send_rc = -1;
  {
    unsigned before = h.reports->len;
    assert_int_equal(cloudnotify_diag_test_push(h.ctx, ALICE, &ep, &pushes, NULL),
                     CLOUDNOTIFY_ERR_SEND);
    assert_int_equal(pushes, 0);
    assert_int_equal(h.reports->len, before + 1);
    p = h.reports->pdata[before];
    assert_int_equal(p->outcome, CLOUDNOTIFY_PUBLISH_REFUSED);
    assert_int_equal(p->flags, CLOUDNOTIFY_PUBLISH_FLAG_TEST);
  }
  host_fini(&h);
}

/* Unknown accounts, registrations and bad arguments. */
static void unknown_and_errors(void **state) {
  (void)state;
  host h;
  host_init(&h);
  unsigned pushes = 7;
  char id[CLOUDNOTIFY_PUBLISH_ID_MAX + 1] = "x";
  /* No registration at all. */
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, ALICE, NULL, &pushes, id),
                   CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(pushes, 0);
  assert_string_equal(id, "");
  GPtrArray *a = list(&h, 0);
  g_ptr_array_free(a, TRUE);
  cloudnotify_session_free(enable(&h, "phone", "n1", NULL));
  cloudnotify_endpoint other_node = { PUSH, "n9" }, other_jid = { "other.example", "n1" },
                       no_node = { PUSH, NULL }, bad = { "@@", NULL }, null_jid = { NULL, "n1" };
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, ALICE, &other_node, &pushes, NULL),
                   CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, ALICE, &other_jid, &pushes, NULL),
                   CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, ALICE, &no_node, &pushes, NULL),
                   CLOUDNOTIFY_ERR_NOT_MINE);
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, ALICE, &bad, &pushes, NULL),
                   CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, ALICE, &null_jid, &pushes, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(h.sent->len, 0);
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, "not a jid@", NULL, &pushes, NULL),
                   CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_int_equal(cloudnotify_diag_test_push(NULL, ALICE, NULL, &pushes, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, NULL, NULL, &pushes, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_diag_registrations(h.ctx, "juliet@capulet.example/r", collect, NULL),
                   CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_int_equal(cloudnotify_diag_registrations(h.ctx, ALICE, NULL, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_diag_registrations(NULL, ALICE, collect, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  /* Another account of the same host has nothing. */
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, "romeo@montague.example", NULL, &pushes, NULL),
                   CLOUDNOTIFY_ERR_NOT_MINE);
  host_fini(&h);
}

/* ---- a store whose load answers later ---------------------------------- */

static int ps_load(void *data, const char *account, cloudnotify_loader *loader) {
  host *h = data;
  (void)account;
  h->loads++;
  h->op = cloudnotify_ctx_current_op(h->ctx);
  h->loader = loader;
  return CLOUDNOTIFY_PENDING;
}
static int ps_save(void *data, const char *account, const cloudnotify_record *r) {
  (void)data, (void)account, (void)r;
  return 0;
}
static int ps_remove(void *data, const char *account, const char *jid, const char *node) {
  (void)data, (void)account, (void)jid, (void)node;
  return 0;
}

static void pending_store(void **state) {
  (void)state;
  host h;
  host_init(&h);
  cloudnotify_store st = {
    .size = sizeof st, .load = ps_load, .save = ps_save, .remove = ps_remove
  };
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &st, &h), 0);
  GPtrArray *a = g_ptr_array_new_with_free_func(seen_free);
  assert_int_equal(cloudnotify_diag_registrations(h.ctx, ALICE, collect, a), CLOUDNOTIFY_ERR_BUSY);
  assert_int_equal(h.loads, 1);
  assert_non_null(h.op);
  /* Still loading: busy again, without a second load, and no test push. */
  unsigned pushes = 5;
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, ALICE, NULL, &pushes, NULL),
                   CLOUDNOTIFY_ERR_BUSY);
  assert_int_equal(pushes, 0);
  assert_int_equal(h.loads, 1);
  cloudnotify_record rec = {
    .jid = PUSH, .node = "n1", .enabled_at_ms = 1600000000000, .errors = 3, .client_id = "phone"
  };
  assert_int_equal(cloudnotify_loader_add(h.loader, &rec), 0);
  assert_int_equal(cloudnotify_op_complete(h.op, 0), 0);
  cloudnotify_op_free(h.op);
  assert_int_equal(cloudnotify_diag_registrations(h.ctx, ALICE, collect, a), 1);
  seen_reg *r = a->pdata[0];
  assert_int_equal(r->errors, 3);
  assert_int_equal(r->enabled_at, 1600000000000);
  assert_string_equal(r->client_id, "phone");
  assert_null(r->last_id);
  g_ptr_array_free(a, TRUE);
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, ALICE, NULL, &pushes, NULL), 0);
  assert_int_equal(pushes, 1);
  /* A load answered with a failure lists nothing: the next call loads again. */
  h.op = NULL;
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, "romeo@montague.example", NULL, &pushes, NULL),
                   CLOUDNOTIFY_ERR_BUSY);
  assert_int_equal(cloudnotify_op_complete(h.op, -1), 0);
  cloudnotify_op_free(h.op);
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, "romeo@montague.example", NULL, &pushes, NULL),
                   CLOUDNOTIFY_ERR_BUSY);
  assert_int_equal(cloudnotify_op_complete(h.op, -1), 0);
  cloudnotify_op_free(h.op);
  host_fini(&h);
}

/* Tigase's encryption shows in the listing, and the test push carries the
 * encrypted payload its pushes carry. */
static void encrypted_registration(void **state) {
  (void)state;
#ifdef CN_HAVE_CRYPTO
  host h;
  host_init(&h);
  cloudnotify_session_free(enable(&h, "phone", "n1",
                                  "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>" KEY16
                                  "</encrypt>"
                                  "<priority xmlns='tigase:push:priority:0'/>"));
  GPtrArray *a = list(&h, 1);
  seen_reg *r = a->pdata[0];
  assert_int_equal(r->encrypted, 1);
  assert_string_equal(r->extensions, "encrypt priority");
  assert_null(strstr(r->extensions, KEY16));
  g_ptr_array_free(a, TRUE);
  assert_int_equal(cloudnotify_diag_test_push(h.ctx, ALICE, NULL, NULL, NULL), 0);
  assert_non_null(strstr(h.sent->pdata[0], "tigase:push:encrypt:0"));
  assert_null(strstr(h.sent->pdata[0], "New Message!"));
  /* Extensions off: neither listed as encrypting nor encrypted. */
  assert_int_equal(cloudnotify_ctx_set_option(h.ctx, "push_tigase_extensions", "false"), 0);
  a = list(&h, 1);
  assert_int_equal(((seen_reg *)a->pdata[0])->encrypted, 0);
  g_ptr_array_free(a, TRUE);
  host_fini(&h);
#else
  skip();
#endif
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(listing_after_error),    cmocka_unit_test(error_text_bounded),
    cmocka_unit_test(test_push_reaches_send), cmocka_unit_test(test_push_error_counts),
    cmocka_unit_test(unknown_and_errors),     cmocka_unit_test(pending_store),
    cmocka_unit_test(encrypted_registration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
