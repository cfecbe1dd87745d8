/* Fuzz target: the input (after byte 0) is a stanza handed to one of the
 * triggers.  Byte 0:
 *   bits 0-2  0 offline, 1 archived (with archive id), 2 groupchat_bare,
 *             3 queued on a live session then an overdue ack,
 *             4 queued while hibernated (coalesced), 5 the hibernation
 *             queue (twice the stanza), 6 ack_delayed with it as queue,
 *             7 archived without archive id, no session bound;
 *   bit 3     push_notification_with_body;
 *   bit 4     push_notification_with_sender;
 *   bit 5     important body off;
 *   bit 6     the notification filter rewrites the body;
 *   bit 7     push_coalesce_ms 0.
 * Checked on top of the host's checks: a stanza is pushed at most once
 * per registration (the same stanza again gives no push), and a session
 * event gives at most one important and one unimportant push. */
#include "fuzz-host.h"

#include <string.h>

#define ACCOUNT "juliet@capulet.example"
#define FORM                                                                                       \
  "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"                          \
  "http://jabber.org/protocol/pubsub#publish-options</value></field>"                              \
  "<field var='secret'><value>S3CR3T-FORM</value></field></x>"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fh_reader in = { data, size };
  uint8_t mode = fh_u8(&in);
  const char *xml = (const char *)in.p;
  size_t len = in.n;

  fuzz_host h;
  fh_init(&h);
  h.store_exact = TRUE;
  FH_CHECK(fh_set_int(&h, CLOUDNOTIFY_OPT_WITH_BODY, (mode >> 3) & 1) == 0);
  FH_CHECK(fh_set_int(&h, CLOUDNOTIFY_OPT_WITH_SENDER, (mode >> 4) & 1) == 0);
  if (mode & 0x20)
    FH_CHECK(fh_set_string(&h, CLOUDNOTIFY_OPT_IMPORTANT_BODY, "") == 0);
  if (mode & 0x80)
    FH_CHECK(fh_set_int(&h, CLOUDNOTIFY_OPT_COALESCE_MS, 0) == 0);
  FH_CHECK(fh_session_new(&h, 0, ACCOUNT, "phone") == 0);
  FH_CHECK(fh_session_new(&h, 1, ACCOUNT, "tablet") == 0);
  FH_CHECK(cloudnotify_session_sm_enabled(h.slots[0].s) == 0);
  FH_CHECK(fh_enable(&h, 0, "push.example.net", NULL, FORM) == 0);
  FH_CHECK(fh_enable(&h, 1, "pubsub.app.example", "tablet-node", NULL) == 0);
  /* The tablet's registration stays, unbound: what offline storage and
   * the archive are for. */
  fh_session_free(&h, 1);
  h.push_filter = (mode & 0x40) ? 2 : 0;

  unsigned first = 0, second = 0, before = h.app_accepted;
  cloudnotify_buf queue[] = { { xml, len }, { xml, len } };
  switch (mode & 7) {
  case 0:
  case 1:
  case 2:
  case 7: {
    enum fh_trigger_kind kind = (mode & 7) == 0   ? FH_OFFLINE
                                : (mode & 7) == 2 ? FH_GROUPCHAT
                                                  : FH_ARCHIVED;
    const char *archive_id = (mode & 7) == 1 ? "arch-77" : NULL;
    if ((mode & 7) == 7)
      fh_session_free(&h, 0);
    fh_trigger(&h, kind, ACCOUNT, xml, len, archive_id, &first);
    FH_CHECK(first <= 2);
    fh_trigger(&h, kind, ACCOUNT, xml, len, archive_id, &second);
    FH_CHECK(second == 0);
    break;
  }
  case 3:
    fh_queued(&h, 0, xml, len);
    FH_CHECK(cloudnotify_session_ack_requested(h.slots[0].s) == 0);
    fh_check(&h);
    fh_advance(&h, 31 * 1000);
    FH_CHECK(h.app_accepted - before <= 2);
    fh_acked(&h, 0, h.slots[0].sent);
    break;
  case 4:
    fh_hibernated(&h, 0, NULL, 0);
    FH_CHECK(h.app_accepted == before);
    fh_queued(&h, 0, xml, len);
    fh_advance(&h, 1000);
    FH_CHECK(h.app_accepted - before <= 2);
    fh_resumed(&h, 0);
    break;
  case 5:
    fh_hibernated(&h, 0, queue, 2);
    FH_CHECK(h.app_accepted - before <= 2);
    fh_advance(&h, 72 * 3600 * 1000);
    break;
  default:
    FH_CHECK(cloudnotify_session_ack_delayed(h.slots[0].s, queue, 1) == 0);
    fh_check(&h);
    FH_CHECK(h.app_accepted - before <= 1);
    break;
  }

  unsigned pings = 0;
  FH_CHECK(cloudnotify_ping(h.ctx, ACCOUNT, NULL, 0, &pings) == 0 && pings == 2);
  fh_check(&h);
  fh_advance(&h, 301 * 1000);
  fh_fini(&h);
  return 0;
}
