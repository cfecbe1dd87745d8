/* Tigase's push extensions through the public API: each extension's
 * parse with its precise errors, replacement on a new enable, keeping
 * them through the stores and a reload, the form still echoed alone,
 * the filters (muted, groupchat, ignore-unknown), priority, jingle, the
 * groupchat nickname, what an encrypting registration sends when no
 * crypto can serve it, and the disco list. */
#include "api-util.h"

#include <string.h>

#include <glib/gstdio.h>

#ifdef CN_HAVE_CRYPTO
#include <openssl/evp.h>
#endif

#define ROMEO "romeo@montague.example"
#define ROOM  "lounge@conference.example"
#define KEY16 "AAECAwQFBgcICQoLDA0ODw==" /* bytes 0..15 */

#define NS_MUTED "tigase:push:filter:muted:0"
#define NS_GC    "tigase:push:filter:groupchat:0"

typedef struct {
  fake_host h;
  cloudnotify_session *s;
} fixture;

static int setup_flags(void **state, unsigned flags) {
  fixture *f = g_new0(fixture, 1);
  fh_init_ex(&f->h, flags | FH_LOG2);
  au_set(&f->h, "push_log_level", "debug");
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  *state = f;
  return 0;
}

static int setup(void **state) {
  return setup_flags(state, 0);
}

static int setup_known(void **state) {
  return setup_flags(state, FH_KNOWN);
}

static int teardown(void **state) {
  fixture *f = *state;
  cloudnotify_session_free(f->s);
  fh_fini(&f->h);
  g_free(f);
  return 0;
}

static uint64_t counter(fixture *f, cloudnotify_counter c) {
  uint64_t v = 0;
  assert_int_equal(cloudnotify_ctx_get_counter(f->h.ctx, c, &v), 0);
  return v;
}

static gboolean crypto_available(fixture *f) {
  const char *feat[16];
  int n = cloudnotify_ctx_disco_features(f->h.ctx, feat, G_N_ELEMENTS(feat));
  for (int i = 0; i < n; i++)
    if (!strcmp(feat[i], "tigase:push:encrypt:0"))
      return TRUE;
  return FALSE;
}

/* The store is set while no session exists. */
static void use_store(fixture *f, au_store *st) {
  cloudnotify_session_free(f->s);
  au_use_store(&f->h, st);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
}

/* Enable with the given children; returns the reply's outcome (g_free). */
static char *enable_with(fixture *f, const char *children) {
  char *iq = g_strdup_printf("<iq type='set' id='t1'><enable xmlns='urn:xmpp:push:0' "
                             "jid='" PUSH_JID "' node='n1'>%s</enable></iq>",
                             children);
  fh_clear(&f->h);
  assert_int_equal(fh_iq(f->s, iq), 0);
  g_free(iq);
  const fh_sent *last = fh_last(&f->h);
  assert_non_null(last);
  char *o = fh_outcome(last->xml);
  assert_non_null(o);
  return o;
}

static void enable_expect(fixture *f, const char *children, const char *outcome) {
  char *o = enable_with(f, children);
  if (strcmp(o, outcome))
    print_error("enable with %s: %s, want %s\n", children, o, outcome);
  assert_string_equal(o, outcome);
  g_free(o);
}

static char *msg_from(const char *from, const char *type, const char *id, const char *inner) {
  return g_strdup_printf("<message xmlns='jabber:client' type='%s' from='%s' to='" ALICE
                         "' id='%s'>%s</message>",
                         type, from, id, inner);
}

/* Pushes for one offline message. */
static unsigned push_msg(fixture *f, const char *from, const char *type, const char *inner) {
  static unsigned seq;
  char id[32];
  g_snprintf(id, sizeof id, "tg-%u", ++seq);
  char *m = msg_from(from, type, id, inner);
  fh_clear(&f->h);
  unsigned n = au_offline(&f->h, ALICE, m);
  g_free(m);
  return n;
}

static const char *last_publish(fixture *f) {
  const fh_sent *p = fh_publish(&f->h, 0);
  assert_non_null(p);
  return p->xml;
}

/* ---- parsing ------------------------------------------------------------ */

static void every_extension_accepted(void **state) {
  fixture *f = *state;
  enable_expect(f,
                "<priority xmlns='tigase:push:priority:0'/>"
                "<jingle xmlns='tigase:push:jingle:0'/>"
                "<muted xmlns='" NS_MUTED "'><item jid='a@b.example'/></muted>"
                "<groupchat xmlns='" NS_GC "'><room jid='" ROOM "' allow='always'/>"
                "<room jid='r2@conference.example' allow='mentioned' nick='Jul'/>"
                "<room jid='r3@conference.example' allow='never'/></groupchat>"
                "<away xmlns='tigase:push:away:0'/>",
                "result");
  /* Without the callback, ignore-unknown cannot be served. */
  enable_expect(f, "<ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/>",
                "cancel/feature-not-implemented");
}

static void ignore_unknown_with_callback(void **state) {
  fixture *f = *state;
  enable_expect(f, "<ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/>", "result");
}

static void precise_errors(void **state) {
  fixture *f = *state;
  static const struct {
    const char *children, *outcome;
  } rows[] = {
    { "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-256-cbc'>" KEY16 "</encrypt>",
      "cancel/feature-not-implemented" },
    { "<encrypt xmlns='tigase:push:encrypt:0'>" KEY16 "</encrypt>", "modify/bad-request" },
    { "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>AAECAwQFBgcICQoLDA0O</encrypt>",
      "modify/bad-request" }, /* 15 bytes */
    { "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>AAECAwQFBgcICQoLDA0ODxA=</encrypt>",
      "modify/bad-request" }, /* 17 bytes */
    { "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>AAEC*wQFBgcICQoLDA0ODw==</encrypt>",
      "modify/bad-request" },
    { "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'/>", "modify/bad-request" },
    { "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' max-size='255'>" KEY16 "</encrypt>",
      "modify/bad-request" },
    { "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' max-size='65537'>" KEY16
      "</encrypt>",
      "modify/bad-request" },
    { "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' max-size='3k'>" KEY16 "</encrypt>",
      "modify/bad-request" },
    { "<muted xmlns='" NS_MUTED "'><item/></muted>", "modify/bad-request" },
    { "<muted xmlns='" NS_MUTED "'><item jid='a@@b'/></muted>", "modify/bad-request" },
    { "<muted xmlns='" NS_MUTED "'><jid>a@b</jid></muted>", "modify/bad-request" },
    { "<groupchat xmlns='" NS_GC "'><room allow='always'/></groupchat>", "modify/bad-request" },
    { "<groupchat xmlns='" NS_GC "'><room jid='" ROOM "'/></groupchat>", "modify/bad-request" },
    { "<groupchat xmlns='" NS_GC "'><room jid='" ROOM "' allow='sometimes'/></groupchat>",
      "modify/bad-request" },
    { "<groupchat xmlns='" NS_GC "'><room jid='" ROOM "' allow='mentioned'/></groupchat>",
      "modify/bad-request" },
    { "<groupchat xmlns='" NS_GC "'><room jid='" ROOM "' allow='always' nick=''/></groupchat>",
      "modify/bad-request" },
    { "<priority xmlns='tigase:push:priority:0'/><priority xmlns='tigase:push:priority:0'/>",
      "modify/bad-request" },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(rows); i++)
    enable_expect(f, rows[i].children, rows[i].outcome);
  /* None of them registered anything. */
  fh_clear(&f->h);
  assert_int_equal(au_offline_msg(&f->h, ALICE, "hello"), 0);
}

static void valid_encrypt_needs_crypto(void **state) {
  fixture *f = *state;
  enable_expect(f,
                "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' max-size='3000'>" KEY16
                "</encrypt>",
                crypto_available(f) ? "result" : "cancel/feature-not-implemented");
}

static void lists_are_bounded(void **state) {
  fixture *f = *state;
  for (int rooms = 0; rooms < 2; rooms++) {
    for (int n = 128; n <= 129; n++) {
      GString *c =
          g_string_new(rooms ? "<groupchat xmlns='" NS_GC "'>" : "<muted xmlns='" NS_MUTED "'>");
      for (int i = 0; i < n; i++)
        g_string_append_printf(
            c, rooms ? "<room jid='r%d@c.example' allow='always'/>" : "<item jid='u%d@b.example'/>",
            i);
      g_string_append(c, rooms ? "</groupchat>" : "</muted>");
      enable_expect(f, c->str, n == 128 ? "result" : "modify/not-acceptable");
      g_string_free(c, TRUE);
    }
  }
}

static void option_off_refuses(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_tigase_extensions", "false");
  enable_expect(f, "<priority xmlns='tigase:push:priority:0'/>", "cancel/feature-not-implemented");
  enable_expect(f, "<jingle xmlns='tigase:push:jingle:0'/>", "cancel/feature-not-implemented");
  /* Plain enables still work. */
  enable_expect(f, "", "result");
}

/* ---- replacing and keeping --------------------------------------------- */

static void enable_again_replaces(void **state) {
  fixture *f = *state;
  enable_expect(f, "<priority xmlns='tigase:push:priority:0'/>", "result");
  assert_int_equal(push_msg(f, ROMEO "/o", "chat", "<body>hi</body>"), 1);
  assert_int_equal(au_xpath_count(last_publish(f), "//*[local-name()='priority']"), 1);
  enable_expect(f, "", "result");
  assert_int_equal(push_msg(f, ROMEO "/o", "chat", "<body>hi</body>"), 1);
  assert_int_equal(au_xpath_count(last_publish(f), "//*[local-name()='priority']"), 0);
}

#define EXTS                                                                                       \
  "<priority xmlns='tigase:push:priority:0'/>"                                                     \
  "<muted xmlns='" NS_MUTED "'><item jid='Tybalt@Capulet.Example/x'/></muted>"

static void check_kept(fixture *f) {
  /* muted kept (normalised), priority kept, the form echoed alone. */
  assert_int_equal(push_msg(f, "tybalt@capulet.example/sword", "chat", "<body>x</body>"), 0);
  assert_int_equal(push_msg(f, ROMEO "/o", "chat", "<body>hi</body>"), 1);
  const char *x = last_publish(f);
  au_assert_xpath(x, "string(//*[local-name()='priority'])", "high");
  au_assert_xpath(x, "string(/iq/ps:pubsub/ps:publish-options/x:x/x:field[@var='secret']/x:value)",
                  "kept");
  assert_int_equal(au_xpath_count(x, "/iq/ps:pubsub/ps:publish-options/*"), 1);
  assert_null(strstr(x, "tigase:push:filter"));
}

static void kept_in_custom_store_after_form(void **state) {
  fixture *f = *state;
  au_store st;
  au_store_init(&st);
  use_store(f, &st);
  enable_expect(f, FORM_WITH_SECRET("kept") EXTS, "result");
  assert_int_equal(st.records->len, 1);
  const au_record *r = st.records->pdata[0];
  /* The form first, then the extensions, normalised. */
  assert_true(g_str_has_prefix(r->form, "<x xmlns="));
  assert_non_null(strstr(r->form, "</x><priority xmlns="));
  assert_non_null(strstr(r->form, "tybalt@capulet.example"));
  assert_null(strstr(r->form, "Tybalt"));
  check_kept(f);
  /* Reloaded from the store. */
  assert_int_equal(cloudnotify_account_forget(f->h.ctx, ALICE), 0);
  check_kept(f);
  cloudnotify_session_free(f->s);
  f->s = NULL;
  fh_fini(&f->h);
  fh_init_ex(&f->h, FH_LOG2);
  au_use_store(&f->h, &st);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  check_kept(f);
  cloudnotify_session_free(f->s);
  f->s = NULL;
  fh_fini(&f->h);
  au_store_fini(&st);
  fh_init(&f->h);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
}

static void kept_in_memory_store(void **state) {
  fixture *f = *state;
  enable_expect(f, FORM_WITH_SECRET("kept") EXTS, "result");
  check_kept(f);
  assert_int_equal(cloudnotify_account_forget(f->h.ctx, ALICE), 0);
  check_kept(f);
}

static void kept_in_sqlite(void **state) {
  fixture *f = *state;
  char *dir = g_dir_make_tmp("cn-tigase-XXXXXX", NULL);
  char *path = g_build_filename(dir, "t.db", NULL);
  char *value = g_strconcat("sqlite:", path, NULL);
  cloudnotify_session_free(f->s);
  au_set(&f->h, "push_store", value);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  enable_expect(f, FORM_WITH_SECRET("kept") EXTS, "result");
  check_kept(f);
  cloudnotify_session_free(f->s);
  fh_fini(&f->h);
  fh_init(&f->h);
  au_set(&f->h, "push_store", value);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  check_kept(f);
  cloudnotify_session_free(f->s);
  fh_fini(&f->h);
  fh_init(&f->h);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  remove(path);
  g_rmdir(dir);
  g_free(value);
  g_free(path);
  g_free(dir);
}

static void stored_invalid_extensions_rejected(void **state) {
  fixture *f = *state;
  static const char *const bad[] = {
    FORM_WITH_SECRET("s") "<muted xmlns='" NS_MUTED "'><item/></muted>",
    FORM_WITH_SECRET("s") "<unknown xmlns='tigase:push:other:0'/>",
    FORM_WITH_SECRET("s") FORM_WITH_SECRET("t"),
    "<priority xmlns='tigase:push:priority:0'/>" FORM_WITH_SECRET("s"),
    "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'>AAEC</encrypt>",
    "<priority xmlns='tigase:push:priority:0'/>text",
  };
  au_store st;
  au_store_init(&st);
  use_store(f, &st);
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_ptr_array_set_size(st.records, 0);
    au_record *r = g_new0(au_record, 1);
    r->account = g_strdup(ALICE);
    r->jid = g_strdup(PUSH_JID);
    r->node = g_strdup("n1");
    r->form = g_strdup(bad[i]);
    r->form_len = strlen(bad[i]);
    r->enabled_at = 1;
    g_ptr_array_add(st.records, r);
    assert_int_equal(cloudnotify_account_forget(f->h.ctx, ALICE), 0);
    uint64_t before = counter(f, CLOUDNOTIFY_COUNTER_STORE_RECORDS_REJECTED);
    assert_int_equal(push_msg(f, ROMEO "/o", "chat", "<body>hi</body>"), 0);
    assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_STORE_RECORDS_REJECTED), before + 1);
  }
  /* A valid one loads (extensions only, no form). */
  g_ptr_array_set_size(st.records, 0);
  au_record *r = g_new0(au_record, 1);
  r->account = g_strdup(ALICE);
  r->jid = g_strdup(PUSH_JID);
  r->node = g_strdup("n1");
  r->form = g_strdup("<priority xmlns='tigase:push:priority:0'/>");
  r->form_len = strlen(r->form);
  g_ptr_array_add(st.records, r);
  assert_int_equal(cloudnotify_account_forget(f->h.ctx, ALICE), 0);
  assert_int_equal(push_msg(f, ROMEO "/o", "chat", "<body>hi</body>"), 1);
  assert_int_equal(au_xpath_count(last_publish(f), "/iq/ps:pubsub/ps:publish-options"), 0);
  assert_int_equal(au_xpath_count(last_publish(f), "//*[local-name()='priority']"), 1);
  cloudnotify_session_free(f->s);
  f->s = NULL;
  fh_fini(&f->h);
  au_store_fini(&st);
  fh_init(&f->h);
  f->s = au_session(&f->h, ALICE, ALICE_RES);
}

/* ---- filters ------------------------------------------------------------ */

static void muted_sender_not_pushed(void **state) {
  fixture *f = *state;
  enable_expect(f, "<muted xmlns='" NS_MUTED "'><item jid='" ROMEO "'/></muted>", "result");
  uint64_t before = counter(f, CLOUDNOTIFY_COUNTER_SUPPRESSED_FILTER);
  assert_int_equal(push_msg(f, ROMEO "/orchard", "chat", "<body>hi</body>"), 0);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_SUPPRESSED_FILTER), before + 1);
  assert_true(au_log_contains(&f->h, "muted filter"));
  assert_int_equal(f->h.reports->len, 0); /* never a publish */
  /* A muted caller does not ring either. */
  assert_int_equal(push_msg(f, ROMEO "/orchard", "chat",
                            "<propose xmlns='urn:xmpp:jingle-message:0' id='c1'>"
                            "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"
                            "</propose>"),
                   0);
  assert_int_equal(push_msg(f, "benvolio@montague.example/x", "chat", "<body>hi</body>"), 1);
  /* With the option off, the stored filter is not applied. */
  au_set(&f->h, "push_tigase_extensions", "false");
  assert_int_equal(push_msg(f, ROMEO "/orchard", "chat", "<body>hi</body>"), 1);
}

#define GC_FILTER                                                                                  \
  "<groupchat xmlns='" NS_GC "'>"                                                                  \
  "<room jid='" ROOM "' allow='always'/>"                                                          \
  "<room jid='quiet@conference.example' allow='never' nick='Jule'/>"                               \
  "<room jid='busy@conference.example' allow='mentioned' nick='Jule'/>"                            \
  "</groupchat>"

static void groupchat_rooms(void **state) {
  fixture *f = *state;
  enable_expect(f, GC_FILTER, "result");
  assert_int_equal(push_msg(f, ROOM "/tybalt", "groupchat", "<body>hi</body>"), 1);
  assert_int_equal(push_msg(f, "quiet@conference.example/tybalt", "groupchat", "<body>hi</body>"),
                   0);
  /* never means never, even when the nick is named. */
  assert_int_equal(
      push_msg(f, "quiet@conference.example/tybalt", "groupchat", "<body>jule, hi</body>"), 0);
  assert_int_equal(push_msg(f, "other@conference.example/tybalt", "groupchat", "<body>hi</body>"),
                   0);
  /* Chats are not the groupchat filter's business. */
  assert_int_equal(push_msg(f, ROMEO "/o", "chat", "<body>hi</body>"), 1);
}

static void groupchat_mentions(void **state) {
  fixture *f = *state;
  enable_expect(f, GC_FILTER, "result");
  static const struct {
    const char *body;
    unsigned pushes;
  } rows[] = {
    { "hello jule, look", 1 }, { "@JULE: look", 1 },     { "Jule", 1 },
    { "julesburg is far", 0 }, { "ajule is no one", 0 }, { "nothing here", 0 },
    { "jule_x is not", 0 },
  };
  for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
    char *inner = g_strdup_printf("<body>%s</body>", rows[i].body);
    unsigned n = push_msg(f, "busy@conference.example/tybalt", "groupchat", inner);
    if (n != rows[i].pushes)
      print_error("body '%s': %u pushes\n", rows[i].body, n);
    assert_int_equal(n, rows[i].pushes);
    g_free(inner);
  }
  /* XEP-0372 references: to the account, or to room/nick. */
  assert_int_equal(push_msg(f, "busy@conference.example/tybalt", "groupchat",
                            "<body>hey you</body><reference xmlns='urn:xmpp:reference:0' "
                            "type='mention' uri='xmpp:" ALICE "'/>"),
                   1);
  assert_int_equal(push_msg(f, "busy@conference.example/tybalt", "groupchat",
                            "<body>hey you</body><reference xmlns='urn:xmpp:reference:0' "
                            "type='mention' uri='xmpp:busy@conference.example/Jule'/>"),
                   1);
  assert_int_equal(push_msg(f, "busy@conference.example/tybalt", "groupchat",
                            "<body>hey you</body><reference xmlns='urn:xmpp:reference:0' "
                            "type='data' uri='xmpp:" ALICE "'/>"),
                   0);
}

static void mention_without_body_leaving(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_notification_with_body", "false");
  enable_expect(f, GC_FILTER, "result");
  assert_int_equal(
      push_msg(f, "busy@conference.example/tybalt", "groupchat", "<body>secret words jule</body>"),
      1);
  assert_false(au_sent_contains(&f->h, "secret words"));
  assert_int_equal(
      push_msg(f, "busy@conference.example/tybalt", "groupchat", "<body>secret words</body>"), 0);
}

static void ignore_unknown_filter(void **state) {
  fixture *f = *state;
  static const char *const known[] = { ROMEO, NULL };
  f->h.known = known;
  enable_expect(f,
                "<ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/>"
                "<groupchat xmlns='" NS_GC "'><room jid='" ROOM "' allow='always'/></groupchat>",
                "result");
  assert_int_equal(push_msg(f, ROMEO "/o", "chat", "<body>hi</body>"), 1);
  assert_int_equal(push_msg(f, "stranger@spam.example/x", "chat", "<body>buy</body>"), 0);
  assert_true(au_log_contains(&f->h, "ignore-unknown filter"));
  /* Group chats are exempt: the callback is not even asked. */
  unsigned calls = f->h.known_calls;
  assert_int_equal(push_msg(f, ROOM "/stranger", "groupchat", "<body>hi</body>"), 1);
  assert_int_equal(f->h.known_calls, calls);
}

/* ---- what the publish carries ------------------------------------------ */

static void priority_high_and_low(void **state) {
  fixture *f = *state;
  enable_expect(f, "<priority xmlns='tigase:push:priority:0'/>", "result");
  assert_int_equal(push_msg(f, ROMEO "/o", "chat", "<body>hi</body>"), 1);
  au_assert_xpath(last_publish(f),
                  "string(/iq/ps:pubsub/ps:publish/ps:item/p:notification/"
                  "*[local-name()='priority' and namespace-uri()='tigase:push:priority:0'])",
                  "high");
  fh_clear(&f->h);
  assert_int_equal(au_ping(&f->h, ALICE), 1);
  au_assert_xpath(last_publish(f), "string(//*[local-name()='priority'])", "low");
}

/* A call in the current namespace (one push per call id and caller). */
#define CALL(id)                                                                                   \
  "<propose xmlns='urn:xmpp:jingle-message:1' id='" id "'>"                                        \
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>"                                \
  "<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='video'/></propose>"

static void jingle_for_calls(void **state) {
  fixture *f = *state;
  enable_expect(f, "", "result");
  assert_int_equal(push_msg(f, ROMEO "/o", "chat", CALL("call-6")), 1);
  assert_int_equal(au_xpath_count(last_publish(f), "//*[local-name()='jingle']"), 0);
  enable_expect(f,
                "<jingle xmlns='tigase:push:jingle:0'/><priority xmlns='tigase:push:priority:0'/>",
                "result");
  assert_int_equal(push_msg(f, ROMEO "/o", "chat", CALL("call-7")), 1);
  const char *x = last_publish(f);
  const char *j = "/iq/ps:pubsub/ps:publish/ps:item/p:notification/"
                  "*[local-name()='jingle' and namespace-uri()='tigase:push:jingle:0']";
  char *q = g_strconcat("string(", j, "/@action)", NULL);
  au_assert_xpath(x, q, "propose");
  g_free(q);
  q = g_strconcat("string(", j, "/@sid)", NULL);
  au_assert_xpath(x, q, "call-7");
  g_free(q);
  q = g_strconcat(j, "/*[local-name()='media' and namespace-uri()='tigase:push:jingle:0']", NULL);
  assert_int_equal(au_xpath_count(x, q), 2);
  g_free(q);
  au_assert_xpath(x, "string(//*[local-name()='media'][2])", "video");
  au_assert_xpath(x, "string(//*[local-name()='priority'])", "high");
  /* A plain message is no call. */
  assert_int_equal(push_msg(f, ROMEO "/o", "chat", "<body>hi</body>"), 1);
  assert_int_equal(au_xpath_count(last_publish(f), "//*[local-name()='jingle']"), 0);
}

static void groupchat_nickname(void **state) {
  fixture *f = *state;
  au_set(&f->h, "push_notification_with_sender", "true");
  enable_expect(f, "", "result");
  assert_int_equal(push_msg(f, ROOM "/Tybalt", "groupchat", "<body>hi</body>"), 1);
  assert_int_equal(au_xpath_count(last_publish(f), "//*[local-name()='nickname']"), 0);
  enable_expect(f, "<groupchat xmlns='" NS_GC "'><room jid='" ROOM "' allow='always'/></groupchat>",
                "result");
  assert_int_equal(push_msg(f, ROOM "/Tybalt", "groupchat", "<body>hi</body>"), 1);
  au_assert_xpath(last_publish(f),
                  "string(/iq/ps:pubsub/ps:publish/ps:item/p:notification/"
                  "*[local-name()='groupchat' and "
                  "namespace-uri()='http://tigase.org/protocol/muc#offline']/"
                  "*[local-name()='nickname'])",
                  "Tybalt");
  /* Not in clear where the sender may not be. */
  au_set(&f->h, "push_notification_with_sender", "false");
  assert_int_equal(push_msg(f, ROOM "/Tybalt", "groupchat", "<body>hi</body>"), 1);
  assert_false(au_sent_contains(&f->h, "Tybalt"));
}

#define ENCRYPT_OPEN  "<encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm' max-size="
#define ENCRYPT(size) ENCRYPT_OPEN "'" size "'>" KEY16 "</encrypt>"

/* Encryption that cannot be done (here: the fields beside the message do
 * not fit max-size) sends a push without any content rather than in
 * clear. */
static void encrypt_failing_sends_no_content(void **state) {
  fixture *f = *state;
  if (!crypto_available(f)) {
    skip();
    return;
  }
  enable_expect(f, ENCRYPT("256"), "result");
  GString *from = g_string_new(NULL);
  for (int i = 0; i < 150; i++)
    g_string_append_c(from, 'r');
  g_string_append(from, "@montague.example/o");
  assert_int_equal(push_msg(f, from->str, "chat", "<body>the secret</body>"), 1);
  const char *x = last_publish(f);
  assert_int_equal(au_xpath_count(x, "//x:x"), 0);
  assert_int_equal(au_xpath_count(x, "//*[local-name()='encrypted']"), 0);
  assert_false(au_sent_contains(&f->h, "the secret"));
  assert_false(au_sent_contains(&f->h, "rrrrr"));
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_PUBLISHES_ENCRYPTED), 0);
  g_string_free(from, TRUE);
}

#ifdef CN_HAVE_CRYPTO
/* The JSON inside the last publish's <encrypted/>, decrypted with the
 * key (libcrypto directly, not the library's code); g_free it. */
static char *decrypt_last(fixture *f, char **type_attr) {
  const char *x = last_publish(f);
  const char *e = "/iq/ps:pubsub/ps:publish/ps:item/p:notification/"
                  "*[local-name()='encrypted' and namespace-uri()='tigase:push:encrypt:0']";
  assert_int_equal(au_xpath_count(x, e), 1);
  char *q = g_strconcat("string(", e, "/@iv)", NULL);
  char *iv64 = au_xpath(x, q);
  g_free(q);
  q = g_strconcat("string(", e, ")", NULL);
  char *data64 = au_xpath(x, q);
  g_free(q);
  q = g_strconcat("string(", e, "/@type)", NULL);
  *type_attr = au_xpath(x, q);
  g_free(q);
  gsize ivlen = 0, len = 0;
  guchar *iv = g_base64_decode(iv64, &ivlen);
  guchar *data = g_base64_decode(data64, &len);
  assert_int_equal(ivlen, 12);
  assert_true(len > 16);
  gsize key_len = 0;
  guchar *key = g_base64_decode(KEY16, &key_len);
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  unsigned char *out = g_malloc0(len + 1);
  int n = 0, fin = 0;
  assert_int_equal(EVP_DecryptInit_ex(c, EVP_aes_128_gcm(), NULL, NULL, NULL), 1);
  assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, 12, NULL), 1);
  assert_int_equal(EVP_DecryptInit_ex(c, NULL, NULL, key, iv), 1);
  assert_int_equal(EVP_DecryptUpdate(c, out, &n, data, (int)(len - 16)), 1);
  assert_int_equal(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, 16, data + len - 16), 1);
  assert_int_equal(EVP_DecryptFinal_ex(c, out + n, &fin), 1); /* the tag holds */
  EVP_CIPHER_CTX_free(c);
  g_free(iv64);
  g_free(data64);
  g_free(iv);
  g_free(data);
  g_free(key);
  return (char *)out;
}

static void assert_has(const char *json, const char *part) {
  if (!strstr(json, part))
    print_error("%s lacks %s\n", json, part);
  assert_non_null(strstr(json, part));
}
#endif

static void encrypted_payload(void **state) {
#ifdef CN_HAVE_CRYPTO
  fixture *f = *state;
  assert_true(crypto_available(f));
  au_set(&f->h, "push_notification_with_sender", "true");
  enable_expect(f,
                ENCRYPT("3000") "<groupchat xmlns='" NS_GC "'><room jid='" ROOM
                                "' allow='always'/></groupchat>",
                "result");
  /* A chat: the body travels only inside, even with with_body off. */
  assert_int_equal(push_msg(f, ROMEO "/o", "chat", "<body>the secret</body>"), 1);
  assert_int_equal(au_xpath_count(last_publish(f), "//x:x"), 0);
  assert_false(au_sent_contains(&f->h, "the secret"));
  char *type = NULL;
  char *json = decrypt_last(f, &type);
  assert_has(json, "\"unread\":1");
  assert_has(json, "\"sender\":\"" ROMEO "\"");
  assert_has(json, "\"type\":\"chat\"");
  assert_has(json, "\"message\":\"the secret\"");
  assert_string_equal(type, "");
  g_free(json);
  g_free(type);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_PUBLISHES_ENCRYPTED), 1);
  /* A group chat: the nick inside, not beside it in clear. */
  assert_int_equal(push_msg(f, ROOM "/Tybalt", "groupchat", "<body>hi all</body>"), 1);
  assert_false(au_sent_contains(&f->h, "Tybalt"));
  json = decrypt_last(f, &type);
  assert_has(json, "\"type\":\"groupchat\"");
  assert_has(json, "\"nickname\":\"Tybalt\"");
  assert_has(json, "\"sender\":\"" ROOM "\"");
  g_free(json);
  g_free(type);
  /* A call: type call, the caller's full JID, sid and media; voip. */
  assert_int_equal(push_msg(f, ROMEO "/orchard", "chat", CALL("call-7")), 1);
  json = decrypt_last(f, &type);
  assert_has(json, "\"type\":\"call\"");
  assert_has(json, "\"sender\":\"" ROMEO "/orchard\"");
  assert_has(json, "\"sid\":\"call-7\"");
  assert_has(json, "\"media\":[\"audio\",\"video\"]");
  assert_string_equal(type, "voip");
  g_free(json);
  g_free(type);
  assert_int_equal(counter(f, CLOUDNOTIFY_COUNTER_PUBLISHES_ENCRYPTED), 3);
  /* Enabling again without <encrypt/> turns it off. */
  enable_expect(f, "", "result");
  assert_int_equal(push_msg(f, ROMEO "/o", "chat", "<body>plain</body>"), 1);
  assert_int_equal(au_xpath_count(last_publish(f), "//x:x"), 1);
  assert_int_equal(au_xpath_count(last_publish(f), "//*[local-name()='encrypted']"), 0);
#else
  (void)state;
  skip();
#endif
}

/* ---- disco -------------------------------------------------------------- */

static void disco_lists(void **state) {
  (void)state;
  for (int known = 0; known < 2; known++) {
    fake_host h;
    fh_init_ex(&h, known ? FH_KNOWN : 0);
    const char *feat[16];
    assert_int_equal(cloudnotify_ctx_disco_features(NULL, feat, 16),
                     CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
    assert_int_equal(cloudnotify_ctx_disco_features(h.ctx, NULL, 1),
                     CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
    int n = cloudnotify_ctx_disco_features(h.ctx, NULL, 0);
    assert_true(n >= 5 && n <= 10);
    assert_int_equal(cloudnotify_ctx_disco_features(h.ctx, feat, 16), n);
    assert_string_equal(feat[0], "urn:xmpp:push:0");
    GString *all = g_string_new(NULL);
    for (int i = 0; i < n; i++)
      g_string_append_printf(all, "%s ", feat[i]);
    assert_non_null(strstr(all->str, "tigase:push:priority:0 "));
    assert_non_null(strstr(all->str, "tigase:push:jingle:0 "));
    assert_non_null(strstr(all->str, "tigase:push:filter:muted:0 "));
    assert_non_null(strstr(all->str, "tigase:push:filter:groupchat:0 "));
    assert_int_equal(strstr(all->str, "tigase:push:filter:ignore-unknown:0") != NULL, known);
    g_string_free(all, TRUE);
    /* A short array gets the first ones, and the total. */
    feat[1] = NULL;
    assert_int_equal(cloudnotify_ctx_disco_features(h.ctx, feat, 1), n);
    assert_null(feat[1]);
    au_set(&h, "push_tigase_extensions", "0");
    assert_int_equal(cloudnotify_ctx_disco_features(h.ctx, feat, 16), 1);
    assert_string_equal(feat[0], "urn:xmpp:push:0");
    fh_fini(&h);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(every_extension_accepted, setup, teardown),
    cmocka_unit_test_setup_teardown(ignore_unknown_with_callback, setup_known, teardown),
    cmocka_unit_test_setup_teardown(precise_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(valid_encrypt_needs_crypto, setup, teardown),
    cmocka_unit_test_setup_teardown(lists_are_bounded, setup, teardown),
    cmocka_unit_test_setup_teardown(option_off_refuses, setup, teardown),
    cmocka_unit_test_setup_teardown(enable_again_replaces, setup, teardown),
    cmocka_unit_test_setup_teardown(kept_in_custom_store_after_form, setup, teardown),
    cmocka_unit_test_setup_teardown(kept_in_memory_store, setup, teardown),
    cmocka_unit_test_setup_teardown(kept_in_sqlite, setup, teardown),
    cmocka_unit_test_setup_teardown(stored_invalid_extensions_rejected, setup, teardown),
    cmocka_unit_test_setup_teardown(muted_sender_not_pushed, setup, teardown),
    cmocka_unit_test_setup_teardown(groupchat_rooms, setup, teardown),
    cmocka_unit_test_setup_teardown(groupchat_mentions, setup, teardown),
    cmocka_unit_test_setup_teardown(mention_without_body_leaving, setup, teardown),
    cmocka_unit_test_setup_teardown(ignore_unknown_filter, setup_known, teardown),
    cmocka_unit_test_setup_teardown(priority_high_and_low, setup, teardown),
    cmocka_unit_test_setup_teardown(jingle_for_calls, setup, teardown),
    cmocka_unit_test_setup_teardown(groupchat_nickname, setup, teardown),
    cmocka_unit_test_setup_teardown(encrypt_failing_sends_no_content, setup, teardown),
    cmocka_unit_test_setup_teardown(encrypted_payload, setup, teardown),
    cmocka_unit_test(disco_lists),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
