/* Fuzz target: the input is a client IQ on a session of an account that
 * already has a registration.  Whatever the IQ stored is then used (an
 * offline message, a hibernation with a queued stanza, the coalescing
 * timer), and finally reloaded from the store after a restart: every
 * registration the library saved must load back. */
#include "fuzz-host.h"

#include <string.h>

#define ACCOUNT "juliet@capulet.example"
#define FORM                                                                                       \
  "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"                          \
  "http://jabber.org/protocol/pubsub#publish-options</value></field>"                              \
  "<field var='secret'><value>S3CR3T-FORM</value></field></x>"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_host h;
  fh_init(&h);
  h.store_strict = TRUE;
  h.store_exact = TRUE;
  FH_CHECK(fh_session_new(&h, 0, ACCOUNT, "balcony") == 0);
  FH_CHECK(fh_session_new(&h, 1, ACCOUNT, "phone") == 0);
  FH_CHECK(fh_enable(&h, 1, "push.example.net", "existing-node", FORM) == 0);
  FH_CHECK(cloudnotify_session_sm_enabled(h.slots[0].s) == 0);

  fh_client_iq(&h, 0, (const char *)data, size);

  char *m1 = fh_stanza(0, ACCOUNT, 1);
  char *m2 = fh_stanza(2, ACCOUNT, 2);
  char *m3 = fh_stanza(7, ACCOUNT, 3);
  unsigned offline = 0, again = 0;
  fh_trigger(&h, FH_OFFLINE, ACCOUNT, m1, strlen(m1), NULL, &offline);
  /* A registration's own filter (Tigase's muted, groupchat) may keep a
   * push back although the account has push. */
  uint64_t filtered = 0;
  FH_CHECK(cloudnotify_ctx_get_counter(h.ctx, CLOUDNOTIFY_COUNTER_SUPPRESSED_FILTER, &filtered) ==
           0);
  /* The same stanza again: every registration was pushed already. */
  fh_trigger(&h, FH_OFFLINE, ACCOUNT, m1, strlen(m1), NULL, &again);
  FH_CHECK(again == 0);

  cloudnotify_buf queue[] = { { m2, strlen(m2) } };
  fh_hibernated(&h, 0, queue, 1);
  fh_queued(&h, 0, m3, strlen(m3));
  fh_advance(&h, 2000);
  fh_resumed(&h, 0);
  fh_advance(&h, 400 * 1000);

  /* Restart: what was stored must come back, as many as were live. */
  fh_session_free(&h, 0);
  fh_session_free(&h, 1);
  fh_restart(&h);
  FH_CHECK(filtered || cloudnotify_account_has_push(h.ctx, ACCOUNT) == (offline > 0));
  unsigned reloaded = 0;
  char *m4 = fh_stanza(0, ACCOUNT, 4);
  fh_trigger(&h, FH_OFFLINE, ACCOUNT, m4, strlen(m4), NULL, &reloaded);
  FH_CHECK(reloaded == offline);

  g_free(m1);
  g_free(m2);
  g_free(m3);
  g_free(m4);
  fh_fini(&h);
  return 0;
}
