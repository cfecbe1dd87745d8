/* Fuzz target: messages from elsewhere to an account with registrations
 * (cloudnotify_handle_app_message, XEP-0357 section 8 remote disable).
 *   byte 0   flags (below),
 *   the rest the message text, handed over as it is.
 * Juliet has three registrations: push.example.net node n1,
 * pubsub.app.example node n2, push.example.net without node.  Besides
 * the host's checks: the return code is one of the documented ones; 0
 * exactly when one registration was removed, with reason REMOTE, whose
 * push JID is the message's sender; a registration without node is
 * never removed; the rest still pushes. */
#include "fuzz-host.h"

#include <string.h>

#include "ctx.h"
#include "jid.h"
#include "xml.h"

#define JULIET "juliet@capulet.example"

enum {
  F_NO_REMOVE = 1 << 0, /* the store refuses removals */
  F_EVICT = 1 << 1,     /* the account leaves the cache first */
  F_TINY = 1 << 2,      /* push_max_stanza_size at its minimum */
};

static gboolean rc_documented(int rc) {
  return rc == 0 || rc == CLOUDNOTIFY_ERR_NOT_MINE || rc == CLOUDNOTIFY_ERR_XML ||
         rc == CLOUDNOTIFY_ERR_TOO_LARGE || rc == CLOUDNOTIFY_ERR_STORE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fh_reader in = { data, size };
  uint8_t flags = fh_u8(&in);

  fuzz_host h;
  fh_init(&h);
  FH_CHECK(fh_session_new(&h, 0, JULIET, "balcony") == 0);
  FH_CHECK(cloudnotify_session_set_client_id(h.slots[0].s, "dev-1") == 0);
  FH_CHECK(fh_enable(&h, 0, "push.example.net", "n1", NULL) == 0);
  FH_CHECK(cloudnotify_session_set_client_id(h.slots[0].s, "dev-2") == 0);
  FH_CHECK(fh_enable(&h, 0, "pubsub.app.example", "n2", NULL) == 0);
  FH_CHECK(cloudnotify_session_set_client_id(h.slots[0].s, "dev-3") == 0);
  FH_CHECK(fh_enable(&h, 0, "push.example.net", NULL, NULL) == 0);
  if (flags & F_EVICT) {
    fh_session_free(&h, 0);
    FH_CHECK(cloudnotify_account_forget(h.ctx, JULIET) == 0);
  }
  if (flags & F_TINY)
    FH_CHECK(fh_set_int(&h, CLOUDNOTIFY_OPT_MAX_STANZA_SIZE, 1024) == 0);
  h.store_fail_remove = (flags & F_NO_REMOVE) != 0;

  /* The sender as the library will compare it. */
  char *from = NULL;
  xmlDoc *doc = NULL;
  if (cn_parse(h.ctx, (const char *)in.p, in.n, &doc) == 0) {
    const char *f = cn_xml_attr(xmlDocGetRootElement(doc), "from");
    from = f ? cn_jid_normalize(f) : NULL;
    xmlFreeDoc(doc);
  }

  unsigned before = h.removed;
  int rc = cloudnotify_handle_app_message(h.ctx, JULIET, (const char *)in.p, in.n);
  FH_CHECK(rc_documented(rc));
  fh_check(&h);
  if (rc == 0) {
    FH_CHECK(h.removed == before + 1);
    FH_CHECK(h.last_removed_reason == CLOUDNOTIFY_REMOVED_REMOTE);
    FH_CHECK(from && !strcmp(h.last_removed_jid, from));
    FH_CHECK(!(flags & F_NO_REMOVE));
  } else {
    FH_CHECK(h.removed == before);
  }
  g_free(from);

  /* Whatever is left still pushes: at least the registration without
   * node, which no notice can remove. */
  h.store_fail_remove = FALSE;
  unsigned n = 0;
  FH_CHECK(cloudnotify_ping(h.ctx, JULIET, NULL, 0, &n) == 0);
  FH_CHECK(n == 3 - (rc == 0));
  fh_fini(&h);
  return 0;
}
