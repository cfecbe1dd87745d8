/* push_quiet through the public API: a message carrying nothing a user
 * sees (chat states, receipts, markers, call signalling, empty or blank
 * bodies, an empty message) is never pushed, on any path (offline,
 * archive, bare groupchat, a hibernated session's queue, hibernation
 * start, overdue and delayed acks, delivered), and is counted once per
 * stanza; what a user sees (a body, a correction, a subject, an
 * encrypted payload, an unknown payload) still is.  With the option off,
 * 0.2's silent pushes come back. */
#include "api-util.h"
#include "tree-util.h"

#include <string.h>

#define ROMEO "romeo@montague.example/orchard"
#define CHAT(id, inner)                                                                            \
  "<message xmlns='jabber:client' type='chat' from='" ROMEO "' to='" ALICE "' id='" id "'>" inner  \
  "</message>"

typedef struct {
  fake_host h;
  cloudnotify_session *s;
} fixture;

static int setup(void **state) {
  fixture *f = g_new0(fixture, 1);
  fh_init(&f->h);
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

static void enable_unbound(fixture *f, const char *node) {
  cloudnotify_session *s = au_session(&f->h, ALICE, "gone");
  /* One device per node (0.3: one client identity would replace). */
  au_enable_device(&f->h, s, PUSH_JID, node, NULL);
  cloudnotify_session_free(s);
}

static uint64_t quiet_count(fixture *f) {
  uint64_t v = 0;
  assert_int_equal(cloudnotify_ctx_get_counter(f->h.ctx, CLOUDNOTIFY_COUNTER_SUPPRESSED_QUIET, &v),
                   0);
  return v;
}

/* Nothing to see. */
static const char *const invisible[] = {
  CHAT("i1", "<composing xmlns='http://jabber.org/protocol/chatstates'/>"),
  CHAT("i2", "<active xmlns='http://jabber.org/protocol/chatstates'/><thread>t1</thread>"
             "<origin-id xmlns='urn:xmpp:sid:0' id='o'/><no-store xmlns='urn:xmpp:hints'/>"),
  CHAT("i3", "<received xmlns='urn:xmpp:receipts' id='m0'/>"),
  CHAT("i4", "<displayed xmlns='urn:xmpp:chat-markers:0' id='m0'/>"),
  CHAT("i5", "<retract xmlns='urn:xmpp:jingle-message:1' id='c'/>"),
  CHAT("i6", "<body>  </body>"),
  CHAT("i7", "<body/>"),
  CHAT("i8", ""),
  "<message xmlns='jabber:client' from='" ROMEO "'/>",
};

/* Something to see. */
static const char *const visible[] = {
  CHAT("v1", "<body>hi</body><active xmlns='http://jabber.org/protocol/chatstates'/>"),
  CHAT("v2", "<body>fixed</body><replace xmlns='urn:xmpp:message-correct:0' id='v1'/>"),
  CHAT("v3", "<subject>plans</subject>"),
  CHAT("v4", "<encrypted xmlns='urn:xmpp:omemo:2'/><encryption xmlns='urn:xmpp:eme:0'/>"),
  CHAT("v5", "<x xmlns='jabber:x:conference' jid='room@muc.example'/>"),
  CHAT("v6", "<markable xmlns='urn:xmpp:chat-markers:0'/><body>x</body>"),
};

static void offline_drops_what_nobody_sees(void **state) {
  fixture *f = *state;
  enable_unbound(f, "n1");
  enable_unbound(f, "n2");
  fh_clear(&f->h);
  for (size_t i = 0; i < G_N_ELEMENTS(invisible); i++)
    assert_int_equal(au_offline(&f->h, ALICE, invisible[i]), 0);
  assert_int_equal(au_publishes(&f->h), 0);
  /* Once per stanza, not per registration. */
  assert_int_equal(quiet_count(f), G_N_ELEMENTS(invisible));
  assert_true(au_log_contains(&f->h, "quiet"));
  for (size_t i = 0; i < G_N_ELEMENTS(visible); i++)
    assert_int_equal(au_offline(&f->h, ALICE, visible[i]), 2);
  assert_int_equal(quiet_count(f), G_N_ELEMENTS(invisible));
  /* No publish_outcome for what was never a publish. */
  assert_int_equal(f->h.reports->len, 0);
}

static void option_off_is_0_2(void **state) {
  fixture *f = *state;
  enable_unbound(f, "n1");
  au_set(&f->h, "push_quiet", "false");
  fh_clear(&f->h);
  for (size_t i = 0; i < G_N_ELEMENTS(invisible); i++)
    assert_int_equal(au_offline(&f->h, ALICE, invisible[i]), 1);
  assert_int_equal(quiet_count(f), 0);
  /* A chat state is a silent push there. */
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "last-message-body", NULL);
  /* And back on. */
  au_set(&f->h, "push_quiet", "true");
  assert_int_equal(au_offline(&f->h, ALICE,
                              CHAT("i9", "<gone xmlns='http://jabber.org/protocol/"
                                         "chatstates'/>")),
                   0);
  assert_int_equal(quiet_count(f), 1);
}

static void archive_and_groupchat(void **state) {
  fixture *f = *state;
  enable_unbound(f, "n1");
  fh_clear(&f->h);
  unsigned n = 9;
  const char *m = invisible[0];
  assert_int_equal(cloudnotify_message_archived(f->h.ctx, ALICE, m, strlen(m), "A1", &n), 0);
  assert_int_equal(n, 0);
  const char *gc = "<message xmlns='jabber:client' type='groupchat' from='room@muc.example/nick' "
                   "id='g1'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>";
  assert_int_equal(cloudnotify_message_groupchat_bare(f->h.ctx, ALICE, gc, strlen(gc), &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(quiet_count(f), 2);
  /* A group chat subject change is something to see (not important). */
  const char *subj = "<message xmlns='jabber:client' type='groupchat' "
                     "from='room@muc.example/nick' id='g2'><subject>new</subject></message>";
  assert_int_equal(cloudnotify_message_groupchat_bare(f->h.ctx, ALICE, subj, strlen(subj), &n), 0);
  assert_int_equal(n, 1);
  /* Delivered pushes only calls, and counts nothing for the rest. */
  assert_int_equal(cloudnotify_message_delivered(f->h.ctx, ALICE, m, strlen(m), &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(quiet_count(f), 2);
  assert_int_equal(au_publishes(&f->h), 1);
}

/* The tree forms agree with the text. */
static void trees(void **state) {
  fixture *f = *state;
  enable_unbound(f, "n1");
  fh_clear(&f->h);
  tt_host th = { 0 };
  for (size_t i = 0; i < G_N_ELEMENTS(invisible); i++) {
    tt_node *root = tt_from_xml(invisible[i], strlen(invisible[i]));
    cloudnotify_tree t = tt_tree(&th, root);
    unsigned n = 9;
    assert_int_equal(cloudnotify_message_offline_tree(f->h.ctx, ALICE, &t, &n), 0);
    assert_int_equal(n, 0);
    tt_free(root);
  }
  assert_int_equal(quiet_count(f), G_N_ELEMENTS(invisible));
  tt_node *root = tt_from_xml(visible[0], strlen(visible[0]));
  cloudnotify_tree t = tt_tree(&th, root);
  unsigned n = 9;
  assert_int_equal(cloudnotify_message_offline_tree(f->h.ctx, ALICE, &t, &n), 0);
  assert_int_equal(n, 1);
  tt_free(root);
}

/* ---- session paths ------------------------------------------------------------ */

static void bound(fixture *f) {
  f->s = au_session(&f->h, ALICE, ALICE_RES);
  au_enable_ok(&f->h, f->s, PUSH_JID, "n1", NULL);
  fh_clear(&f->h);
}

static void queue(fixture *f, const char *xml) {
  assert_int_equal(cloudnotify_session_queued(f->s, xml, strlen(xml)), 0);
}

static void tick_after(fixture *f, int64_t ms) {
  f->h.now += ms;
  assert_int_equal(cloudnotify_tick(f->h.ctx), 0);
}

static void hibernated_queue(void **state) {
  fixture *f = *state;
  bound(f);
  assert_int_equal(cloudnotify_session_hibernated(f->s, NULL, 0), 0);
  for (size_t i = 0; i < G_N_ELEMENTS(invisible); i++)
    queue(f, invisible[i]);
  /* Nothing waits for the window either. */
  assert_int_equal(cloudnotify_next_timeout(f->h.ctx), -1);
  tick_after(f, 5000);
  assert_int_equal(au_publishes(&f->h), 0);
  assert_int_equal(quiet_count(f), G_N_ELEMENTS(invisible));
  /* The hibernation timeout stays extended: nothing went out. */
  queue(f, visible[0]);
  tick_after(f, 5000);
  assert_int_equal(au_publishes(&f->h), 1);
  /* Trees on the same path. */
  tt_host th = { 0 };
  tt_node *root = tt_from_xml(invisible[2], strlen(invisible[2]));
  cloudnotify_tree t = tt_tree(&th, root);
  assert_int_equal(cloudnotify_session_queued_tree(f->s, &t), 0);
  tt_free(root);
  tick_after(f, 5000);
  assert_int_equal(au_publishes(&f->h), 1);
  assert_int_equal(quiet_count(f), G_N_ELEMENTS(invisible) + 1);
}

static void hibernation_start_and_delayed_ack(void **state) {
  fixture *f = *state;
  bound(f);
  cloudnotify_buf q[G_N_ELEMENTS(invisible)];
  for (size_t i = 0; i < G_N_ELEMENTS(invisible); i++)
    q[i] = (cloudnotify_buf){ invisible[i], strlen(invisible[i]) };
  assert_int_equal(cloudnotify_session_ack_delayed(f->s, q, G_N_ELEMENTS(q)), 0);
  assert_int_equal(au_publishes(&f->h), 0);
  assert_int_equal(quiet_count(f), G_N_ELEMENTS(invisible));
  assert_int_equal(cloudnotify_session_hibernated(f->s, q, G_N_ELEMENTS(q)), 0);
  assert_int_equal(au_publishes(&f->h), 0);
  assert_int_equal(quiet_count(f), 2 * G_N_ELEMENTS(invisible));
  /* A visible one among them is pushed, covering only itself. */
  assert_int_equal(cloudnotify_session_resumed(f->s), 0);
  q[3] = (cloudnotify_buf){ visible[1], strlen(visible[1]) };
  assert_int_equal(cloudnotify_session_hibernated(f->s, q, G_N_ELEMENTS(q)), 0);
  assert_int_equal(au_publishes(&f->h), 1);
  au_assert_summary_field(fh_publish(&f->h, 0)->xml, "message-count", "1");
}

static void overdue_ack(void **state) {
  fixture *f = *state;
  bound(f);
  for (size_t i = 0; i < G_N_ELEMENTS(invisible); i++)
    queue(f, invisible[i]);
  assert_int_equal(quiet_count(f), G_N_ELEMENTS(invisible));
  /* Nothing unacknowledged worth a push: no ack timer at all. */
  assert_int_equal(cloudnotify_session_ack_requested(f->s), 0);
  assert_int_equal(cloudnotify_next_timeout(f->h.ctx), -1);
  tick_after(f, 60 * 1000);
  assert_int_equal(au_publishes(&f->h), 0);
  /* The acknowledgement numbers still count every stanza. */
  queue(f, visible[0]);
  assert_int_equal(cloudnotify_session_acked(f->s, (uint32_t)G_N_ELEMENTS(invisible)), 0);
  assert_int_equal(cloudnotify_session_ack_requested(f->s), 0);
  tick_after(f, 30 * 1000);
  assert_int_equal(au_publishes(&f->h), 1);
  assert_int_equal(cloudnotify_session_acked(f->s, (uint32_t)G_N_ELEMENTS(invisible) + 1), 0);
}

/* With quiet off the session paths push them as 0.2 did. */
static void session_paths_option_off(void **state) {
  fixture *f = *state;
  bound(f);
  au_set(&f->h, "push_quiet", "false");
  assert_int_equal(cloudnotify_session_hibernated(f->s, NULL, 0), 0);
  queue(f, invisible[0]);
  tick_after(f, 1000);
  assert_int_equal(au_publishes(&f->h), 1);
  assert_int_equal(quiet_count(f), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(offline_drops_what_nobody_sees, setup, teardown),
    cmocka_unit_test_setup_teardown(option_off_is_0_2, setup, teardown),
    cmocka_unit_test_setup_teardown(archive_and_groupchat, setup, teardown),
    cmocka_unit_test_setup_teardown(trees, setup, teardown),
    cmocka_unit_test_setup_teardown(hibernated_queue, setup, teardown),
    cmocka_unit_test_setup_teardown(hibernation_start_and_delayed_ack, setup, teardown),
    cmocka_unit_test_setup_teardown(overdue_ack, setup, teardown),
    cmocka_unit_test_setup_teardown(session_paths_option_off, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
