/* Fuzz target: app-server replies.  A few registrations are pushed first
 * so that real publish ids are outstanding; then
 *   byte 0   picks the publish whose id and JID are spliced in,
 *   byte 1   flags (below),
 *   the rest is a free-form template in which {id}, {to}, {account} and
 *            {domain} are replaced by that publish's values.
 * Besides the host's checks, a registration may only be removed by an
 * error reply that is not type 'wait', from the registration's own JID,
 * for one of its publishes still outstanding; with push_max_errors 1 such
 * a reply must remove it. */
#include "fuzz-host.h"

#include <string.h>

#include "jid.h"
#include "ctx.h"
#include "xml.h"

#define JULIET "juliet@capulet.example"
/* Not the sender of the stanzas fh_stanza builds: an account's own
 * messages are never pushed. */
#define ROMEO "mercutio@verona.example"
#define FORM                                                                                       \
  "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"                          \
  "http://jabber.org/protocol/pubsub#publish-options</value></field></x>"

enum {
  F_MAX_ERRORS = 3,     /* push_max_errors = 1 + (flags & 3) */
  F_EXPIRE = 1 << 2,    /* every publish times out before the reply */
  F_TWICE = 1 << 3,     /* the same reply again */
  F_EVICT = 1 << 4,     /* the user leaves the cache before the reply */
  F_RESTART = 1 << 5,   /* sessions close and the store is reattached */
  F_NO_REMOVE = 1 << 6, /* the store refuses removals */
  F_DISABLE = 1 << 7,   /* the client disables everything first */
};

static cn_xml_parser *parser;

static GString *splice(const fh_publish *p, const uint8_t *t, size_t len) {
  static const char *const keys[] = { "{id}", "{to}", "{account}", "{domain}" };
  const char *vals[] = { p->id, p->to, p->account, strchr(p->account, '@') + 1 };
  GString *out = g_string_sized_new(len + 64);
  for (size_t i = 0; i < len;) {
    size_t k = 0;
    for (; k < G_N_ELEMENTS(keys); k++) {
      size_t kl = strlen(keys[k]);
      if (len - i >= kl && memcmp(t + i, keys[k], kl) == 0) {
        g_string_append(out, vals[k]);
        i += kl;
        break;
      }
    }
    if (k == G_N_ELEMENTS(keys))
      g_string_append_c(out, (char)t[i++]);
  }
  return out;
}

/* Whether the library must count this reply as an error against the
 * registration behind the publish it names (read the way the library
 * reads stanzas), and which publish that is. */
static const fh_publish *counted_error(fuzz_host *h, const GString *x) {
  xmlDoc *doc = NULL;
  const fh_publish *hit = NULL;
  if (cn_xml_parse(parser, x->str, x->len, 256 * 1024, 64, &doc) != 0)
    return NULL;
  xmlNode *iq = xmlDocGetRootElement(doc);
  const char *id = cn_xml_attr(iq, "id");
  xmlNode *err = cn_xml_child(iq, "error", NULL);
  const char *etype = err ? cn_xml_attr(err, "type") : NULL;
  char *from = cn_jid_normalize(cn_xml_attr(iq, "from"));
  if (!strcmp((const char *)iq->name, "iq") && !g_strcmp0(cn_xml_attr(iq, "type"), "error") && id &&
      g_hash_table_lookup(h->ctx->outstanding, id) && g_strcmp0(etype, "wait") && from) {
    for (guint i = 0; i < h->publishes->len && !hit; i++) {
      const fh_publish *p = h->publishes->pdata[i];
      if (!strcmp(p->id, id) && !strcmp(p->to, from))
        hit = p;
    }
  }
  g_free(from);
  xmlFreeDoc(doc);
  return hit;
}

static void reply(fuzz_host *h, const GString *x, int max_errors) {
  const fh_publish *counted = counted_error(h, x);
  unsigned removed = h->removed;
  int rc = fh_app_reply(h, x->str, x->len);
  if (h->removed != removed) {
    FH_CHECK(h->removed == removed + 1);
    FH_CHECK(counted != NULL && strcmp(h->last_removed_jid, counted->to) == 0);
    FH_CHECK(h->last_removed_reason == CLOUDNOTIFY_REMOVED_ERRORS);
    FH_CHECK(rc == 0);
  } else if (counted && max_errors == 1) {
    FH_CHECK(h->store_fail_remove && rc == CLOUDNOTIFY_ERR_STORE);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!parser)
    parser = cn_xml_parser_new();
  fh_reader in = { data, size };
  uint8_t pick = fh_u8(&in);
  uint8_t flags = fh_u8(&in);
  int max_errors = 1 + (flags & F_MAX_ERRORS);

  fuzz_host h;
  fh_init(&h);
  h.store_exact = TRUE;
  FH_CHECK(fh_set_int(&h, CLOUDNOTIFY_OPT_MAX_ERRORS, max_errors) == 0);
  FH_CHECK(fh_session_new(&h, 0, JULIET, "balcony") == 0);
  FH_CHECK(fh_session_new(&h, 1, ROMEO, "garden") == 0);
  /* Three devices of one account: one client identity each, or they
   * would replace each other (0.3). */
  FH_CHECK(cloudnotify_session_set_client_id(h.slots[0].s, "dev-1") == 0);
  FH_CHECK(fh_enable(&h, 0, "push.example.net", NULL, NULL) == 0);
  FH_CHECK(cloudnotify_session_set_client_id(h.slots[0].s, "dev-2") == 0);
  FH_CHECK(fh_enable(&h, 0, "pubsub.app.example", "n1", FORM) == 0);
  FH_CHECK(cloudnotify_session_set_client_id(h.slots[0].s, "dev-3") == 0);
  FH_CHECK(fh_enable(&h, 0, "push.example.net", "n2", NULL) == 0);
  FH_CHECK(fh_enable(&h, 1, "push.example.net", "romeo", NULL) == 0);
  char *m1 = fh_stanza(0, JULIET, 1), *m2 = fh_stanza(5, JULIET, 2), *m3 = fh_stanza(0, ROMEO, 3);
  unsigned n;
  FH_CHECK(fh_trigger(&h, FH_OFFLINE, JULIET, m1, strlen(m1), NULL, &n) == 0 && n == 3);
  FH_CHECK(fh_trigger(&h, FH_OFFLINE, JULIET, m2, strlen(m2), NULL, &n) == 0 && n == 3);
  FH_CHECK(fh_trigger(&h, FH_OFFLINE, ROMEO, m3, strlen(m3), NULL, &n) == 0 && n == 1);
  g_free(m1);
  g_free(m2);
  g_free(m3);

  if (flags & F_EXPIRE)
    fh_advance(&h, 301 * 1000);
  if (flags & F_EVICT) {
    FH_CHECK(fh_set_int(&h, CLOUDNOTIFY_OPT_MAX_CACHED_USERS, 1) == 0);
    fh_session_free(&h, 0);
    fh_session_free(&h, 1);
    FH_CHECK(cloudnotify_account_has_push(h.ctx, "nurse@capulet.example") == 0);
    fh_check(&h);
  }
  if (flags & F_RESTART) {
    fh_session_free(&h, 0);
    fh_session_free(&h, 1);
    FH_CHECK(fh_restart(&h) == 0);
  }
  if ((flags & F_DISABLE) && h.slots[0].s) {
    FH_CHECK(fh_disable(&h, 0, "push.example.net", NULL) == 0);
    FH_CHECK(fh_disable(&h, 0, "pubsub.app.example", NULL) == 0);
  }
  h.store_fail_remove = (flags & F_NO_REMOVE) != 0;

  const fh_publish *p = h.publishes->pdata[pick % h.publishes->len];
  GString *x = splice(p, in.p, in.n);
  reply(&h, x, max_errors);
  if (flags & F_TWICE)
    reply(&h, x, max_errors);
  g_string_free(x, TRUE);

  /* Whatever is left still works: a push for each account, expiry. */
  char *m4 = fh_stanza(2, JULIET, 4);
  fh_trigger(&h, FH_OFFLINE, JULIET, m4, strlen(m4), NULL, NULL);
  g_free(m4);
  fh_advance(&h, 301 * 1000);
  fh_fini(&h);
  return 0;
}
