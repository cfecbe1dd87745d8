/* The API's own contract: vtable sizes, store replacement, options,
 * error codes, version, NULL-safety, re-entrancy and session arguments. */
#include "api-util.h"

#include <stdint.h>
#include <string.h>

/* ---- context creation ----------------------------------------------------------- */

/* A callbacks struct followed by fields of a header newer than ours. */
typedef struct {
  cloudnotify_callbacks cb;
  void *newer[2];
} newer_callbacks;

static void ctx_new_vtable_size(void **state) {
  (void)state;
  const size_t first = offsetof(cloudnotify_callbacks, notification_filter) + sizeof(void *);
  const size_t refused[] = { 0,
                             1,
                             first - sizeof(void *),
                             sizeof(cloudnotify_callbacks) - 1,
                             sizeof(cloudnotify_callbacks) + 1,
                             SIZE_MAX };
  for (size_t i = 0; i < G_N_ELEMENTS(refused); i++) {
    newer_callbacks n = { .cb.size = refused[i] };
    cloudnotify_ctx *ctx = (cloudnotify_ctx *)&n; /* must be overwritten */
    assert_int_equal(cloudnotify_ctx_new(&ctx, &n.cb, NULL), CLOUDNOTIFY_ERR_VTABLE_SIZE);
    assert_null(ctx);
  }
  /* A newer header's struct with a field this library does not know set:
   * refused, since the host asks for something that would not happen. */
  newer_callbacks n = { .cb.size = sizeof n, .newer[1] = &n };
  cloudnotify_ctx *ctx = NULL;
  assert_int_equal(cloudnotify_ctx_new(&ctx, &n.cb, NULL), CLOUDNOTIFY_ERR_VTABLE_SIZE);
  assert_null(ctx);
  /* The first released size, ours, and a newer one with a zero tail. */
  const size_t accepted[] = { first, sizeof(cloudnotify_callbacks), sizeof n };
  for (size_t i = 0; i < G_N_ELEMENTS(accepted); i++) {
    newer_callbacks ok = { .cb.size = accepted[i] };
    ctx = NULL;
    assert_int_equal(cloudnotify_ctx_new(&ctx, &ok.cb, NULL), 0);
    assert_non_null(ctx);
    cloudnotify_ctx_free(ctx);
  }
  assert_int_equal(cloudnotify_ctx_new(NULL, NULL, NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
}

/* An older, shorter struct: the fields past its size are never read,
 * whatever the memory after it holds. */
static void ctx_new_older_size_reads_prefix(void **state) {
  (void)state;
  unsigned sent = 0;
  cloudnotify_callbacks *cb = g_malloc(sizeof *cb);
  memset(cb, 0xA5, sizeof *cb); /* garbage past the declared size */
  const size_t first = offsetof(cloudnotify_callbacks, notification_filter) + sizeof(void *);
  memset(cb, 0, first);
  cb->size = first;
  cloudnotify_ctx *ctx = NULL;
  assert_int_equal(cloudnotify_ctx_new(&ctx, cb, &sent), 0);
  g_free(cb);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ctx, ALICE, ALICE_RES, &s), 0);
  unsigned n = 7;
  assert_int_equal(cloudnotify_ping(ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(cloudnotify_tick(ctx), 0);
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(ctx);
}

/* Without callbacks nothing can be sent, yet the engine works: state
 * changes stand and are visible through what is returned. */
static void ctx_new_null_callbacks(void **state) {
  (void)state;
  cloudnotify_ctx *ctx = NULL;
  assert_int_equal(cloudnotify_ctx_new(&ctx, NULL, NULL), 0);
  assert_non_null(ctx);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ctx, ALICE, ALICE_RES, &s), 0);
  const char *iq = "<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' "
                   "jid='push.example'/></iq>";
  assert_int_equal(cloudnotify_handle_client_iq(s, iq, strlen(iq)), CLOUDNOTIFY_ERR_SEND);
  const char *nm = "<iq type='get' id='v'><query xmlns='jabber:iq:version'/></iq>";
  assert_int_equal(cloudnotify_handle_client_iq(s, nm, strlen(nm)), CLOUDNOTIFY_ERR_NOT_MINE);
  unsigned n = 12345;
  assert_int_equal(cloudnotify_ping(ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(cloudnotify_next_timeout(ctx), -1);
  assert_int_equal(cloudnotify_tick(ctx), 0);
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(ctx);
}

static int only_send(void *ud, cloudnotify_route route, cloudnotify_session *session,
                     const char *account, const char *to, const char *xml, size_t len) {
  (*(unsigned *)ud)++;
  return 0;
}

/* Missing fields take their defaults: the real clock among them. */
static void partial_callbacks(void **state) {
  (void)state;
  unsigned sent = 0;
  cloudnotify_callbacks cb = { .size = sizeof cb, .send = only_send };
  cloudnotify_ctx *ctx;
  assert_int_equal(cloudnotify_ctx_new(&ctx, &cb, &sent), 0);
  cloudnotify_session *s;
  assert_int_equal(cloudnotify_session_new(ctx, ALICE, ALICE_RES, &s), 0);
  const char *iq = "<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' "
                   "jid='push.example'/></iq>";
  assert_int_equal(cloudnotify_handle_client_iq(s, iq, strlen(iq)), 0);
  assert_int_equal(sent, 1);
  unsigned n = 12345;
  assert_int_equal(cloudnotify_ping(ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(sent, 2);
  int64_t t = cloudnotify_next_timeout(ctx);
  assert_true(t > 290000 && t <= 300000);
  cloudnotify_session_free(s);
  cloudnotify_ctx_free(ctx);
}

/* ---- store replacement ------------------------------------------------------------ */

static void set_store_errors(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  au_store st;
  au_store_init(&st);
  cloudnotify_store v = au_store_vtable();

  assert_int_equal(cloudnotify_ctx_set_store(NULL, &v, &st), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  const size_t sizes[] = { 0, offsetof(cloudnotify_store, destroy), sizeof v - 1, sizeof v + 1 };
  for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
    cloudnotify_store w = v;
    w.size = sizes[i];
    assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &w, &st), CLOUDNOTIFY_ERR_VTABLE_SIZE);
  }
  struct {
    cloudnotify_store s;
    void *newer;
  } wide = { v, &st };
  wide.s.size = sizeof wide;
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &wide.s, &st), CLOUDNOTIFY_ERR_VTABLE_SIZE);
  cloudnotify_store w = v;
  w.load = NULL;
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &w, &st), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  w = v;
  w.save = NULL;
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &w, &st), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  w = v;
  w.remove = NULL;
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &w, &st), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);

  /* With a session alive the old store stays, registrations included. */
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, NULL, NULL);
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &v, &st), CLOUDNOTIFY_ERR_STATE);
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, NULL, NULL), CLOUDNOTIFY_ERR_STATE);
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 1);
  cloudnotify_session_free(s);

  /* Refused stores were never taken: no call reached them. */
  assert_int_equal(st.destroys + st.loads + st.saves + st.removes, 0);

  /* Once the session is gone it works, and the new store starts empty. */
  au_use_store(&h, &st);
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 0);
  assert_int_equal(st.loads, 1);
  fh_fini(&h);
  assert_int_equal(st.destroys, 1);
  au_store_fini(&st);
}

static void store_destroyed_once(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  au_store a, b;
  au_store_init(&a);
  au_store_init(&b);
  au_use_store(&h, &a);
  assert_int_equal(a.destroys, 0);
  au_use_store(&h, &b);
  assert_int_equal(a.destroys, 1);
  assert_int_equal(b.destroys, 0);
  /* NULL brings back an empty in-memory store. */
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, NULL, NULL), 0);
  assert_int_equal(b.destroys, 1);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, NULL, NULL);
  cloudnotify_session_free(s);
  assert_int_equal(b.saves, 0);
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 1);
  au_use_store(&h, &b);
  assert_int_equal(b.destroys, 1);
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 0);
  fh_fini(&h);
  assert_int_equal(a.destroys, 1);
  assert_int_equal(b.destroys, 2);
  au_store_fini(&a);
  au_store_fini(&b);
}

static void store_without_destroy(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  au_store st;
  au_store_init(&st);
  cloudnotify_store v = au_store_vtable();
  v.destroy = NULL;
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &v, &st), 0);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, "n", NULL);
  cloudnotify_session_free(s);
  assert_int_equal(st.saves, 1);
  assert_int_equal(au_store_find(&st, ALICE, PUSH_JID, "n"), 0);
  fh_fini(&h);
  assert_int_equal(st.destroys, 0);
  au_store_fini(&st);
}

static void store_load_failure(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  au_store st;
  au_store_init(&st);
  au_use_store(&h, &st);
  st.fail_load = 1;
  unsigned n = 12345;
  char *m = fh_message(ALICE, "x", "hi");
  assert_int_equal(cloudnotify_message_offline(h.ctx, ALICE, m, strlen(m), &n),
                   CLOUDNOTIFY_ERR_STORE);
  assert_int_equal(n, 0);
  assert_int_equal(cloudnotify_ping(h.ctx, ALICE, NULL, 0, &n), CLOUDNOTIFY_ERR_STORE);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(fh_enable(s, PUSH_JID, NULL, NULL), 0);
  au_assert_last_reply(&h, "wait/internal-server-error");
  assert_int_equal(st.saves, 0);
  /* A failed load is not cached: the next call tries again. */
  st.fail_load = 0;
  fh_clear(&h);
  au_enable_ok(&h, s, PUSH_JID, NULL, NULL);
  assert_int_equal(cloudnotify_message_offline(h.ctx, ALICE, m, strlen(m), &n), 0);
  assert_int_equal(n, 1);
  g_free(m);
  cloudnotify_session_free(s);
  fh_fini(&h);
  au_store_fini(&st);
}

/* Records read back from storage are validated again. */
static int bad_records_load(void *data, const char *account, cloudnotify_loader *loader) {
  int *rcs = data;
  cloudnotify_record good = { .jid = "push.example", .node = "n", .enabled_at_ms = 1 };
  cloudnotify_record badjid = { .jid = "bad jid", .node = "n", .enabled_at_ms = 2 };
  const char *form = "<x xmlns='jabber:x:data' type='submit'";
  cloudnotify_record badform = { .jid = "form.example",
                                 .publish_options = form,
                                 .publish_options_len = strlen(form),
                                 .enabled_at_ms = 3 };
  const char *other = "<y xmlns='urn:other'/>";
  cloudnotify_record notform = { .jid = "notform.example",
                                 .publish_options = other,
                                 .publish_options_len = strlen(other),
                                 .enabled_at_ms = 4 };
  cloudnotify_record nojid = { .jid = NULL, .node = "n", .enabled_at_ms = 5 };
  rcs[0] = cloudnotify_loader_add(loader, &good);
  rcs[1] = cloudnotify_loader_add(loader, &badjid);
  rcs[2] = cloudnotify_loader_add(loader, &badform);
  rcs[3] = cloudnotify_loader_add(loader, &notform);
  rcs[4] = cloudnotify_loader_add(loader, &nojid);
  rcs[5] = cloudnotify_loader_add(NULL, &good);
  rcs[6] = cloudnotify_loader_add(loader, NULL);
  return 0;
}

static int nop_save(void *d, const char *a, const cloudnotify_record *r) {
  return 0;
}

static int nop_remove(void *d, const char *a, const char *j, const char *n) {
  return 0;
}

static void loader_validates(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  int rcs[7] = { 1, 1, 1, 1, 1, 1, 1 };
  cloudnotify_store v = {
    .size = sizeof v, .load = bad_records_load, .save = nop_save, .remove = nop_remove
  };
  assert_int_equal(cloudnotify_ctx_set_store(h.ctx, &v, rcs), 0);
  assert_int_equal(au_ping(&h, ALICE), 1);
  assert_int_equal(au_publishes_to(&h, PUSH_JID, "n"), 1);
  assert_int_equal(rcs[0], 0);
  assert_int_equal(rcs[1], CLOUDNOTIFY_ERR_JID_MALFORMED);
  assert_int_equal(rcs[2], CLOUDNOTIFY_ERR_XML);
  assert_int_equal(rcs[3], CLOUDNOTIFY_ERR_XML);
  assert_int_equal(rcs[4], CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(rcs[5], CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(rcs[6], CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  fh_fini(&h);
}

/* ---- options ---------------------------------------------------------------------------- */

typedef struct {
  const char *name;
  const char *good[4];
  const char *bad[5];
} option_case;

static const option_case option_cases[] = {
  { "push_notification_with_body",
    { "true", "false", "1", "0" },
    { "2", "yes", "", "-1", "truex" } },
  { "push_notification_with_sender",
    { "TRUE", "False", "1", "0" },
    { "2", "on", "", "01x", NULL } },
  { "push_max_errors", { "1", "16", "1000000", NULL }, { "0", "1000001", "-1", "abc", "1.5" } },
  { "push_max_devices", { "1", "5", "1000", NULL }, { "0", "1001", "", "five", NULL } },
  { "push_max_hibernation_timeout",
    { "0", "259200", "31536000", NULL },
    { "-1", "31536001", "x", NULL, NULL } },
  { "smacks_max_ack_delay", { "1", "30", "86400", NULL }, { "0", "86401", "1e3", NULL, NULL } },
  { "push_coalesce_ms", { "0", "1000", "60000", NULL }, { "-1", "60001", " 5", NULL, NULL } },
  { "push_max_outstanding",
    { "1", "10000", "10000000", NULL },
    { "0", "10000001", "0x10", NULL, NULL } },
  { "push_publish_timeout", { "1", "300", "86400", NULL }, { "0", "86401", "300s", NULL, NULL } },
  { "push_max_cached_users",
    { "1", "10000", "10000000", NULL },
    { "0", "10000001", "", NULL, NULL } },
  { "push_max_stanza_size",
    { "256", "262144", "10000000", NULL },
    { "255", "10000001", "99999999999999999999", NULL, NULL } },
  { "push_max_xml_depth", { "4", "64", "256", NULL }, { "3", "257", "deep", NULL, NULL } },
  { "push_max_form_size", { "64", "8192", "1048576", NULL }, { "63", "1048577", "", NULL, NULL } },
  { "push_max_form_fields", { "1", "64", "10000", NULL }, { "0", "10001", "many", NULL, NULL } },
  { "push_max_remembered_stanzas",
    { "0", "4096", "10000000", NULL },
    { "-1", "10000001", "", NULL, NULL } },
  { "push_max_session_queue", { "1", "1000", "100000", NULL }, { "0", "100001", "", NULL, NULL } },
  { "push_wake_before_expiry", { "0", "60", "86400", NULL }, { "-1", "86401", "", NULL, NULL } },
  { "push_notification_important_body",
    { "New Message!", "", "\xc3\xa9t\xc3\xa9", "1" },
    { "\xff\xfe", "\xc3", NULL, NULL, NULL } }, /* 0.3 */
  { "push_quiet", { "true", "false", "1", "0" }, { "2", "yes", "", NULL, NULL } },
  { "push_call_max_age", { "0", "60", "86400", NULL }, { "-1", "86401", "1m", NULL, NULL } },
  { "push_grace_period", { "0", "30", "86400", NULL }, { "-1", "86401", "", NULL, NULL } },
  { "push_visible_interval",
    { "0", "3000", "3600000", NULL },
    { "-1", "3600001", "x", NULL, NULL } },
  { "push_silent_per_hour", { "0", "3", "100000", NULL }, { "-1", "100001", "", NULL, NULL } },
  { "push_transient_errors",
    { "", "gone", " item-not-found , gone ,", "resource-constraint" },
    { "timeout", "gone,nope", "Gone", NULL, NULL } },
  { "push_backoff", { "0", "30", "86400", NULL }, { "-1", "86401", "", NULL, NULL } },
  { "push_registration_ttl", { "0", "30", "3650", NULL }, { "-1", "3651", "", NULL, NULL } },
  { "push_clear_on_fetch", { "true", "false", "1", "0" }, { "2", "", NULL, NULL, NULL } },
  { "push_tigase_extensions", { "true", "false", "1", "0" }, { "on", "", NULL, NULL, NULL } },
};

static void options_by_name(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  for (size_t i = 0; i < G_N_ELEMENTS(option_cases); i++) {
    const option_case *c = &option_cases[i];
    for (size_t k = 0; k < G_N_ELEMENTS(c->good) && c->good[k]; k++) {
      int rc = cloudnotify_ctx_set_option(h.ctx, c->name, c->good[k]);
      if (rc)
        print_error("%s=%s: %d\n", c->name, c->good[k], rc);
      assert_int_equal(rc, 0);
    }
    for (size_t k = 0; k < G_N_ELEMENTS(c->bad) && c->bad[k]; k++) {
      int rc = cloudnotify_ctx_set_option(h.ctx, c->name, c->bad[k]);
      if (rc != CLOUDNOTIFY_ERR_OPTION_VALUE)
        print_error("%s=%s: %d\n", c->name, c->bad[k], rc);
      assert_int_equal(rc, CLOUDNOTIFY_ERR_OPTION_VALUE);
    }
  }
  const char *unknown[] = { "push_max_device", "PUSH_MAX_DEVICES", "",
                            "push_notification_with_body ", "max_devices" };
  for (size_t i = 0; i < G_N_ELEMENTS(unknown); i++)
    assert_int_equal(cloudnotify_ctx_set_option(h.ctx, unknown[i], "1"),
                     CLOUDNOTIFY_ERR_UNKNOWN_OPTION);
  assert_int_equal(cloudnotify_ctx_set_option(NULL, "push_max_devices", "1"),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_ctx_set_option(h.ctx, NULL, "1"), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_ctx_set_option(h.ctx, "push_max_devices", NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  fh_fini(&h);
}

static void options_by_number(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  cloudnotify_ctx *c = h.ctx;
  assert_int_equal(cloudnotify_ctx_set_option_int(c, CLOUDNOTIFY_OPT_WITH_BODY, 1), 0);
  assert_int_equal(cloudnotify_ctx_set_option_int(c, CLOUDNOTIFY_OPT_WITH_BODY, 2),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  assert_int_equal(cloudnotify_ctx_set_option_int(c, CLOUDNOTIFY_OPT_MAX_DEVICES, 1000), 0);
  assert_int_equal(cloudnotify_ctx_set_option_int(c, CLOUDNOTIFY_OPT_MAX_DEVICES, 1001),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  assert_int_equal(cloudnotify_ctx_set_option_int(c, CLOUDNOTIFY_OPT_MAX_ERRORS, INT64_MIN),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  assert_int_equal(cloudnotify_ctx_set_option_int(c, CLOUDNOTIFY_OPT_WAKE_BEFORE_EXPIRY, 0), 0);
  assert_int_equal(cloudnotify_ctx_set_option_int(c, CLOUDNOTIFY_OPT_IMPORTANT_BODY, 1),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  assert_int_equal(cloudnotify_ctx_set_option_int(c, (cloudnotify_option)0, 1),
                   CLOUDNOTIFY_ERR_UNKNOWN_OPTION);
  assert_int_equal(cloudnotify_ctx_set_option_int(c, (cloudnotify_option)10000, 1),
                   CLOUDNOTIFY_ERR_UNKNOWN_OPTION);
  assert_int_equal(cloudnotify_ctx_set_option_int(NULL, CLOUDNOTIFY_OPT_MAX_DEVICES, 1),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_ctx_set_option_string(c, CLOUDNOTIFY_OPT_IMPORTANT_BODY, "x"), 0);
  assert_int_equal(cloudnotify_ctx_set_option_string(c, CLOUDNOTIFY_OPT_MAX_DEVICES, "3"),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  assert_int_equal(cloudnotify_ctx_set_option_string(c, CLOUDNOTIFY_OPT_IMPORTANT_BODY, "\xc0\x80"),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  assert_int_equal(cloudnotify_ctx_set_option_string(c, (cloudnotify_option)99, "x"),
                   CLOUDNOTIFY_ERR_UNKNOWN_OPTION);
  assert_int_equal(cloudnotify_ctx_set_option_string(c, CLOUDNOTIFY_OPT_IMPORTANT_BODY, NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_ctx_set_option_string(NULL, CLOUDNOTIFY_OPT_IMPORTANT_BODY, "x"),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  fh_fini(&h);
}

static void option_takes_effect(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(cloudnotify_ctx_set_option(h.ctx, "push_max_devices", "2"), 0);
  /* A refused value leaves the previous one in force. */
  assert_int_equal(cloudnotify_ctx_set_option(h.ctx, "push_max_devices", "0"),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  assert_int_equal(cloudnotify_ctx_set_option(h.ctx, "push_max_devices", "many"),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  au_enable_device(&h, s, "a.example", NULL, NULL);
  au_enable_device(&h, s, "b.example", NULL, NULL);
  assert_int_equal(h.removed->len, 0);
  au_enable_device(&h, s, "c.example", NULL, NULL);
  assert_int_equal(h.removed->len, 1);
  assert_string_equal(au_removed(&h, 0)->jid, "a.example");

  fh_clear(&h);
  assert_int_equal(cloudnotify_ctx_set_option(h.ctx, "push_notification_with_body", "yes"),
                   CLOUDNOTIFY_ERR_OPTION_VALUE);
  assert_int_equal(au_offline_msg(&h, ALICE, "visible?"), 2);
  au_assert_summary_field(fh_publish(&h, 0)->xml, "last-message-body", "New Message!");
  au_set(&h, "push_notification_with_body", "true");
  fh_clear(&h);
  assert_int_equal(au_offline_msg(&h, ALICE, "visible!"), 2);
  au_assert_summary_field(fh_publish(&h, 0)->xml, "last-message-body", "visible!");
  cloudnotify_session_free(s);
  fh_fini(&h);
}

/* ---- errors and version ---------------------------------------------------------------- */

static const int all_codes[] = {
  CLOUDNOTIFY_OK,
  CLOUDNOTIFY_ERR_INVALID_ARGUMENT,
  CLOUDNOTIFY_ERR_XML,
  CLOUDNOTIFY_ERR_TOO_LARGE,
  CLOUDNOTIFY_ERR_NOT_MINE,
  CLOUDNOTIFY_ERR_JID_MALFORMED,
  CLOUDNOTIFY_ERR_STORE,
  CLOUDNOTIFY_ERR_VTABLE_SIZE,
  CLOUDNOTIFY_ERR_SEND,
  CLOUDNOTIFY_ERR_UNKNOWN_OPTION,
  CLOUDNOTIFY_ERR_OPTION_VALUE,
  CLOUDNOTIFY_ERR_REENTRANT,
  CLOUDNOTIFY_ERR_STATE,
  CLOUDNOTIFY_ERR_FOREIGN_SENDER,
  CLOUDNOTIFY_ERR_OP_DONE,
  CLOUDNOTIFY_ERR_OP_CANCELLED,
  CLOUDNOTIFY_ERR_GONE,
  CLOUDNOTIFY_ERR_BUSY,
  CLOUDNOTIFY_ERR_OP_UNKNOWN,
  /* 0.3, the SQLite store */
  CLOUDNOTIFY_ERR_STORE_LOCKED,
  CLOUDNOTIFY_ERR_STORE_CORRUPT,
  CLOUDNOTIFY_ERR_STORE_VERSION,
  CLOUDNOTIFY_ERR_STORE_IO,
};

static void strerror_distinct(void **state) {
  (void)state;
  const char *unknown = cloudnotify_strerror(-9999);
  assert_non_null(unknown);
  for (size_t i = 0; i < G_N_ELEMENTS(all_codes); i++) {
    const char *a = cloudnotify_strerror(all_codes[i]);
    assert_non_null(a);
    assert_true(strlen(a) > 0);
    assert_string_not_equal(a, unknown);
    for (size_t k = i + 1; k < G_N_ELEMENTS(all_codes); k++)
      assert_string_not_equal(a, cloudnotify_strerror(all_codes[k]));
  }
  const int others[] = { 1, -1, -500, -600, INT32_MIN, INT32_MAX };
  for (size_t i = 0; i < G_N_ELEMENTS(others); i++) {
    assert_non_null(cloudnotify_strerror(others[i]));
    assert_string_equal(cloudnotify_strerror(others[i]), unknown);
  }
}

static void is_usage_error_per_header(void **state) {
  (void)state;
  for (size_t i = 0; i < G_N_ELEMENTS(all_codes); i++) {
    int c = all_codes[i];
    int want = c == CLOUDNOTIFY_ERR_INVALID_ARGUMENT || c == CLOUDNOTIFY_ERR_VTABLE_SIZE ||
               c == CLOUDNOTIFY_ERR_UNKNOWN_OPTION || c == CLOUDNOTIFY_ERR_OPTION_VALUE ||
               c == CLOUDNOTIFY_ERR_REENTRANT || c == CLOUDNOTIFY_ERR_OP_DONE ||
               c == CLOUDNOTIFY_ERR_OP_UNKNOWN;
    assert_int_equal(!!cloudnotify_is_usage_error(c), want);
  }
  assert_int_equal(cloudnotify_is_usage_error(-9999), 0);
  assert_int_equal(cloudnotify_is_usage_error(1), 0);
}

static void version_string(void **state) {
  (void)state;
  assert_string_equal(cloudnotify_version_string(), "0.3.0");
  char *fromh = g_strdup_printf("%d.%d.%d", CLOUDNOTIFY_VERSION_MAJOR, CLOUDNOTIFY_VERSION_MINOR,
                                CLOUDNOTIFY_VERSION_MICRO);
  assert_string_equal(cloudnotify_version_string(), fromh);
  g_free(fromh);
  assert_ptr_equal(cloudnotify_version_string(), cloudnotify_version_string());
  assert_int_equal(cloudnotify_version_number(), CLOUDNOTIFY_VERSION_NUMBER);
  assert_int_equal(cloudnotify_version_number(), 0x000300);
}

/* ---- NULL-safety ------------------------------------------------------------------------- */

static void null_safe(void **state) {
  (void)state;
  cloudnotify_ctx_free(NULL);
  cloudnotify_session_free(NULL);
  cloudnotify_session_set_user_data(NULL, &state);
  assert_null(cloudnotify_session_get_user_data(NULL));
  assert_null(cloudnotify_session_account(NULL));
  assert_null(cloudnotify_session_resource(NULL));
  assert_int_equal(cloudnotify_next_timeout(NULL), -1);
  assert_int_equal(cloudnotify_tick(NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_handle_client_iq(NULL, "<iq/>", 5),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_handle_app_reply(NULL, "<iq/>", 5),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_null(cloudnotify_push_account(NULL));
  assert_null(cloudnotify_push_jid(NULL));
  assert_null(cloudnotify_push_node(NULL));
  assert_null(cloudnotify_push_sender(NULL));
  assert_null(cloudnotify_push_body(NULL));
  assert_null(cloudnotify_push_session(NULL));
  assert_int_equal(cloudnotify_push_is_important(NULL), 0);
  assert_int_equal(cloudnotify_push_is_urgent(NULL), 0);
  assert_int_equal(cloudnotify_push_set_body(NULL, "x"), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_push_set_sender(NULL, "x"), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_sm_enabled(NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_hibernated(NULL, NULL, 0), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_queued(NULL, "<m/>", 4), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_ack_requested(NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_acked(NULL, 1), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_ack_delayed(NULL, NULL, 0),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_resumed(NULL), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);

  fake_host h;
  fh_init(&h);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(cloudnotify_handle_client_iq(s, NULL, 0), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_handle_app_reply(h.ctx, NULL, 0), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_queued(s, NULL, 0), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 1), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(cloudnotify_session_ack_delayed(s, NULL, 1), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_int_equal(h.sent->len, 0);
  cloudnotify_session_free(s);
  fh_fini(&h);
}

/* Freeing the context frees the sessions still open, and calls no
 * callback other than the store's destroy. */
static void ctx_free_with_sessions(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  au_set(&h, "push_publish_timeout", "10");
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  au_enable_ok(&h, s, PUSH_JID, NULL, NULL);
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  char *m = fh_message(ALICE, "x", "hi");
  assert_int_equal(cloudnotify_session_queued(s, m, strlen(m)), 0);
  g_free(m);
  au_session(&h, "romeo@montague.example", "orchard");
  assert_int_equal(au_ping(&h, ALICE), 1);
  fh_clear(&h);
  unsigned timer_calls = h.timer_calls;
  cloudnotify_ctx_free(h.ctx);
  h.ctx = NULL;
  assert_int_equal(h.sent->len + h.removed->len + h.hib->len + h.logs->len, 0);
  assert_int_equal(h.timer_calls, timer_calls);
  fh_fini(&h);
}

/* ---- re-entrancy -------------------------------------------------------------------------- */

static void reentrant_call_refused(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  h.reenter = 1;
  h.reenter_rc = 12345;
  au_enable_ok(&h, s, PUSH_JID, NULL, NULL);
  assert_int_equal(h.reenter_rc, CLOUDNOTIFY_ERR_REENTRANT);
  h.reenter_rc = 12345;
  fh_clear(&h);
  assert_int_equal(au_ping(&h, ALICE), 1);
  assert_int_equal(h.reenter_rc, CLOUDNOTIFY_ERR_REENTRANT);
  h.reenter_rc = 12345;
  assert_int_equal(au_offline_msg(&h, ALICE, "hi"), 1);
  assert_int_equal(h.reenter_rc, CLOUDNOTIFY_ERR_REENTRANT);
  h.reenter = 0;
  assert_int_equal(cloudnotify_tick(h.ctx), 0);
  cloudnotify_session_free(s);
  fh_fini(&h);
}

/* Every state-changing entry point refuses from inside a callback. */
typedef struct {
  fake_host h;
  cloudnotify_session *s;
  int rcs[16];
  int ran;
  unsigned removed;
} reenter_probe;

static int probe_filter(void *ud, cloudnotify_push *p);

static void probe_removed(void *ud, const char *account, const char *jid, const char *node,
                          cloudnotify_removal_reason reason) {
  ((reenter_probe *)ud)->removed++;
}

static void reentrant_every_entry(void **state) {
  (void)state;
  reenter_probe *pr = g_new0(reenter_probe, 1);
  fh_init(&pr->h);
  /* The notification filter is the callback here: swap the context for
   * one whose filter runs the probe. */
  cloudnotify_ctx_free(pr->h.ctx);
  cloudnotify_callbacks cb = { .size = sizeof cb,
                               .registration_removed = probe_removed,
                               .notification_filter = probe_filter };
  assert_int_equal(cloudnotify_ctx_new(&pr->h.ctx, &cb, pr), 0);
  pr->s = au_session(&pr->h, ALICE, ALICE_RES);
  const char *iq = "<iq type='set' id='e1'><enable xmlns='urn:xmpp:push:0' jid='p.example'/></iq>";
  assert_int_equal(cloudnotify_handle_client_iq(pr->s, iq, strlen(iq)), CLOUDNOTIFY_ERR_SEND);
  unsigned n;
  assert_int_equal(cloudnotify_ping(pr->h.ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(pr->ran, 1);
  for (size_t i = 0; i < 15; i++) {
    if (pr->rcs[i] != CLOUDNOTIFY_ERR_REENTRANT)
      print_error("call %zu gave %d\n", i, pr->rcs[i]);
    assert_int_equal(pr->rcs[i], CLOUDNOTIFY_ERR_REENTRANT);
  }
  /* Nothing changed: push_max_devices is still 5, so a second
   * registration evicts nothing, and the first is still there. */
  const char *iq2 = "<iq type='set' id='e2'><enable xmlns='urn:xmpp:push:0' jid='q.example'/></iq>";
  /* Another client (0.3): the same one would replace its registration. */
  assert_int_equal(cloudnotify_session_set_client_id(pr->s, "other-client"), 0);
  assert_int_equal(cloudnotify_handle_client_iq(pr->s, iq2, strlen(iq2)), CLOUDNOTIFY_ERR_SEND);
  assert_int_equal(pr->removed, 0);
  assert_int_equal(cloudnotify_ping(pr->h.ctx, ALICE, NULL, 0, &n), 0);
  assert_int_equal(pr->ran, 3);
  cloudnotify_session_free(pr->s);
  fh_fini(&pr->h);
  g_free(pr);
}

static int probe_filter(void *ud, cloudnotify_push *p) {
  reenter_probe *pr = ud;
  cloudnotify_ctx *c = pr->h.ctx;
  cloudnotify_session *s = pr->s, *out = NULL;
  const char *m = "<message type='chat' id='r'><body>x</body></message>";
  size_t len = strlen(m);
  unsigned n;
  cloudnotify_buf q = { m, len };
  int *r = pr->rcs;
  pr->ran++;
  r[0] = cloudnotify_tick(c);
  r[1] = cloudnotify_ctx_set_option(c, "push_max_devices", "1");
  r[2] = cloudnotify_ctx_set_option_int(c, CLOUDNOTIFY_OPT_MAX_DEVICES, 1);
  r[3] = cloudnotify_ctx_set_option_string(c, CLOUDNOTIFY_OPT_IMPORTANT_BODY, "x");
  r[4] = cloudnotify_ctx_set_store(c, NULL, NULL);
  r[5] = cloudnotify_session_new(c, ALICE, "x", &out);
  r[6] = cloudnotify_handle_client_iq(s, m, len);
  r[7] = cloudnotify_handle_app_reply(c, m, len);
  r[8] = cloudnotify_message_offline(c, ALICE, m, len, &n);
  r[9] = cloudnotify_message_archived(c, ALICE, m, len, "a", &n);
  r[10] = cloudnotify_message_groupchat_bare(c, ALICE, m, len, &n);
  r[11] = cloudnotify_ping(c, ALICE, NULL, 0, &n);
  r[12] = cloudnotify_session_queued(s, m, len);
  r[13] = cloudnotify_session_hibernated(s, &q, 1);
  r[14] = cloudnotify_session_acked(s, 1);
  /* Getters stay usable. */
  assert_string_equal(cloudnotify_push_account(p), ALICE);
  assert_true(!strcmp(cloudnotify_push_jid(p), "p.example") ||
              !strcmp(cloudnotify_push_jid(p), "q.example"));
  assert_true(cloudnotify_push_session(p) == NULL);
  assert_null(cloudnotify_push_body(p));
  assert_null(out);
  cloudnotify_next_timeout(c);
  return 1;
}

/* ---- sessions ------------------------------------------------------------------------------ */

static void session_new_validation(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  cloudnotify_session *s = (cloudnotify_session *)&h;
  assert_int_equal(cloudnotify_session_new(NULL, ALICE, "r", &s), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_null(s);
  s = (cloudnotify_session *)&h;
  assert_int_equal(cloudnotify_session_new(h.ctx, NULL, "r", &s), CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_null(s);
  s = (cloudnotify_session *)&h;
  assert_int_equal(cloudnotify_session_new(h.ctx, ALICE, NULL, &s),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  assert_null(s);
  assert_int_equal(cloudnotify_session_new(h.ctx, ALICE, "r", NULL),
                   CLOUDNOTIFY_ERR_INVALID_ARGUMENT);

  const char *bad_accounts[] = {
    "capulet.example", ALICE_FULL, "bad jid@x.example", "@x.example", "juliet@", "", "a@b@c"
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad_accounts); i++) {
    s = (cloudnotify_session *)&h;
    assert_int_equal(cloudnotify_session_new(h.ctx, bad_accounts[i], "r", &s),
                     CLOUDNOTIFY_ERR_JID_MALFORMED);
    assert_null(s);
  }
  const char *bad_resources[] = { "",
                                  ("a\x01"
                                   "b"),
                                  "\xff" };
  for (size_t i = 0; i < G_N_ELEMENTS(bad_resources); i++) {
    s = (cloudnotify_session *)&h;
    assert_int_equal(cloudnotify_session_new(h.ctx, ALICE, bad_resources[i], &s),
                     CLOUDNOTIFY_ERR_JID_MALFORMED);
    assert_null(s);
  }

  /* Accepted input comes back normalised. */
  assert_int_equal(cloudnotify_session_new(h.ctx, "Juliet@Capulet.Example", "Balcony/2", &s), 0);
  assert_string_equal(cloudnotify_session_account(s), ALICE);
  assert_string_equal(cloudnotify_session_resource(s), "Balcony/2");
  assert_null(cloudnotify_session_get_user_data(s));
  int marker;
  cloudnotify_session_set_user_data(s, &marker);
  assert_ptr_equal(cloudnotify_session_get_user_data(s), &marker);
  /* Replies go to the normalised full JID. */
  au_enable_ok(&h, s, PUSH_JID, NULL, NULL);
  assert_string_equal(fh_last(&h)->to, ALICE "/Balcony/2");
  cloudnotify_session_free(s);
  assert_int_equal(h.sent->len, 1);
  fh_fini(&h);
}

static void session_state_errors(void **state) {
  (void)state;
  fake_host h;
  fh_init(&h);
  cloudnotify_session *s = au_session(&h, ALICE, ALICE_RES);
  assert_int_equal(cloudnotify_session_resumed(s), CLOUDNOTIFY_ERR_STATE);
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), 0);
  assert_int_equal(cloudnotify_session_hibernated(s, NULL, 0), CLOUDNOTIFY_ERR_STATE);
  assert_int_equal(cloudnotify_session_resumed(s), 0);
  assert_int_equal(cloudnotify_session_resumed(s), CLOUDNOTIFY_ERR_STATE);
  cloudnotify_session_free(s);
  fh_fini(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(ctx_new_vtable_size),    cmocka_unit_test(ctx_new_older_size_reads_prefix),
    cmocka_unit_test(ctx_new_null_callbacks), cmocka_unit_test(partial_callbacks),
    cmocka_unit_test(set_store_errors),       cmocka_unit_test(store_destroyed_once),
    cmocka_unit_test(store_without_destroy),  cmocka_unit_test(store_load_failure),
    cmocka_unit_test(loader_validates),       cmocka_unit_test(options_by_name),
    cmocka_unit_test(options_by_number),      cmocka_unit_test(option_takes_effect),
    cmocka_unit_test(strerror_distinct),      cmocka_unit_test(is_usage_error_per_header),
    cmocka_unit_test(version_string),         cmocka_unit_test(null_safe),
    cmocka_unit_test(ctx_free_with_sessions), cmocka_unit_test(reentrant_call_refused),
    cmocka_unit_test(reentrant_every_entry),  cmocka_unit_test(session_new_validation),
    cmocka_unit_test(session_state_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
