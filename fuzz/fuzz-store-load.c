/* Fuzz target: what a storage backend hands back is untrusted.  The input
 * is decoded into the records a custom load returns:
 *   byte 0    bits 0-2 push_max_devices - 1, bit 3 load fails, bit 4 save
 *             fails, bit 5 remove fails, bit 6 with_body, bit 7 the
 *             records are returned twice;
 *   records   until the input ends (at most 32):
 *             u8 flags (bit 0 jid NULL, bit 1 node NULL, bit 2 form NULL,
 *             bit 3 an error count follows, bit 4 a client id follows),
 *             u8 length + jid bytes, u8 length + node bytes,
 *             u16 LE length + publish-options bytes, i64 LE enabled_at,
 *             [u32 LE errors], [u8 length + client id bytes].
 * Strings are NUL-terminated copies; the form is an exactly sized buffer
 * without terminator.  The loaded registrations are then used: checked
 * against the library's own validation, listed, pushed to, enabled next
 * to, disabled, pinged, forgotten and removed with the account. */
#include "fuzz-host.h"

#include <string.h>

#include "jid.h"
#include "admin.h"
#include "ctx.h"
#include "registry.h"
#include "xml.h"

#define ACCOUNT "juliet@capulet.example"

typedef struct {
  char *jid, *node, *form, *client_id;
  size_t form_len;
  int64_t enabled_at;
  unsigned errors;
} rec;

typedef struct {
  rec recs[32];
  unsigned n;
  gboolean twice;
  unsigned loads;
} input;

static char *take_string(fh_reader *r, size_t len, gboolean null) {
  if (len > r->n)
    len = r->n;
  char *s = null ? NULL : g_strndup((const char *)r->p, len);
  r->p += len;
  r->n -= len;
  return s;
}

static void decode(fh_reader *r, input *in) {
  while (r->n > 0 && in->n < G_N_ELEMENTS(in->recs)) {
    rec *e = &in->recs[in->n++];
    uint8_t f = fh_u8(r);
    e->jid = take_string(r, fh_u8(r), f & 1);
    e->node = take_string(r, fh_u8(r), f & 2);
    size_t len = fh_u16(r);
    if (len > r->n)
      len = r->n;
    if (!(f & 4)) {
      e->form = g_memdup2(r->p, len);
      e->form_len = len;
    }
    r->p += len;
    r->n -= len;
    e->enabled_at = (int64_t)fh_u64(r);
    if (f & 8)
      e->errors = fh_u32(r);
    if (f & 16)
      e->client_id = take_string(r, fh_u8(r), FALSE);
  }
}

static int load(fuzz_host *h, const char *account, cloudnotify_loader *loader) {
  input *in = h->hook_data;
  if (strcmp(account, ACCOUNT) != 0)
    return 0;
  in->loads++;
  for (int round = 0; round < (in->twice ? 2 : 1); round++) {
    for (unsigned i = 0; i < in->n; i++) {
      const rec *e = &in->recs[i];
      cloudnotify_record r = { .jid = e->jid,
                               .node = e->node,
                               .publish_options = e->form,
                               .publish_options_len = e->form_len,
                               .enabled_at_ms = e->enabled_at,
                               .errors = e->errors,
                               .client_id = e->client_id };
      int rc = cloudnotify_loader_add(loader, &r);
      FH_CHECK(rc == 0 || rc == CLOUDNOTIFY_ERR_INVALID_ARGUMENT ||
               rc == CLOUDNOTIFY_ERR_JID_MALFORMED || rc == CLOUDNOTIFY_ERR_XML ||
               rc == CLOUDNOTIFY_ERR_TOO_LARGE);
      FH_CHECK(rc != CLOUDNOTIFY_ERR_INVALID_ARGUMENT || e->jid == NULL);
    }
  }
  /* Failing after records were added: they must all be let go. */
  return h->store_fail_load ? -1 : 0;
}

/* What was kept must be what the library accepts from a client. */

/* What the library keeps of a stored form is one jabber:x:data <x/>
 * within the context's bounds, as the loader promised. */
static int form_is_valid(cloudnotify_ctx *ctx, const char *text, size_t len) {
  xmlDoc *doc = NULL;
  if (len > (size_t)ctx->opt.max_form_size ||
      cn_xml_parse_element(ctx->parser, text, len, (size_t)ctx->opt.max_form_size,
                           (int)ctx->opt.max_xml_depth, &doc) != 0)
    return 0;
  xmlNode *x = xmlDocGetRootElement(doc);
  int ok = !strcmp((const char *)x->name, "x") && !g_strcmp0(cn_xml_ns(x), "jabber:x:data") &&
           cn_xml_count_children(x, "field", "jabber:x:data") <= (unsigned)ctx->opt.max_form_fields;
  xmlFreeDoc(doc);
  return ok;
}

static unsigned check_loaded(fuzz_host *h, int64_t max_devices) {
  cn_user *u = g_hash_table_lookup(h->ctx->users, ACCOUNT);
  if (!u)
    return 0;
  FH_CHECK(u->regs->len <= (guint)max_devices);
  for (guint i = 0; i < u->regs->len; i++) {
    const cn_reg *r = u->regs->pdata[i];
    char *norm = cn_jid_normalize(r->jid);
    FH_CHECK(norm && strcmp(norm, r->jid) == 0);
    g_free(norm);
    FH_CHECK(r->node == NULL || (*r->node && strlen(r->node) <= CN_JID_MAX_PART &&
                                 g_utf8_validate(r->node, -1, NULL)));
    FH_CHECK((r->form == NULL) == (r->form_len == 0));
    if (r->form)
      FH_CHECK(form_is_valid(h->ctx, r->form, r->form_len));
    FH_CHECK(r->client_id == NULL || (*r->client_id && cn_client_id_check(r->client_id) == 0));
  }
  return u->regs->len;
}

typedef struct {
  unsigned n;
  int64_t last_at;
} listed;

/* The listing shows what was kept, newest first, as a client would see
 * it through an enable. */
static int check_listed(void *ud, const char *account, const cloudnotify_record *r) {
  listed *l = ud;
  FH_CHECK(strcmp(account, ACCOUNT) == 0);
  char *norm = cn_jid_normalize(r->jid);
  FH_CHECK(norm && strcmp(norm, r->jid) == 0);
  g_free(norm);
  FH_CHECK(r->node == NULL || *r->node);
  FH_CHECK((r->publish_options == NULL) == (r->publish_options_len == 0));
  FH_CHECK(r->client_id == NULL || cn_client_id_check(r->client_id) == 0);
  FH_CHECK(l->n == 0 || r->enabled_at_ms <= l->last_at);
  l->last_at = r->enabled_at_ms;
  l->n++;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fh_reader r = { data, size };
  uint8_t mode = fh_u8(&r);
  int64_t max_devices = 1 + (mode & 7);
  input in = { .twice = (mode & 0x80) != 0 };
  decode(&r, &in);

  fuzz_host h;
  fh_init(&h);
  h.load_hook = load;
  h.hook_data = &in;
  h.store_fail_load = (mode & 0x08) != 0;
  h.store_fail_save = (mode & 0x10) != 0;
  h.store_fail_remove = (mode & 0x20) != 0;
  FH_CHECK(fh_set_int(&h, CLOUDNOTIFY_OPT_MAX_DEVICES, max_devices) == 0);
  FH_CHECK(fh_set_int(&h, CLOUDNOTIFY_OPT_WITH_BODY, (mode >> 6) & 1) == 0);

  int has = cloudnotify_account_has_push(h.ctx, ACCOUNT);
  if (h.store_fail_load)
    FH_CHECK(has == CLOUDNOTIFY_ERR_STORE);
  else if (h.store_fail_save || h.store_fail_remove)
    /* A record stored under a non-normalised key is rewritten on load;
     * when that fails, so does the load. */
    FH_CHECK(has == 0 || has == 1 || has == CLOUDNOTIFY_ERR_STORE);
  else
    FH_CHECK(has == 0 || has == 1);
  fh_check(&h);
  unsigned loaded = check_loaded(&h, max_devices);
  FH_CHECK(has < 0 || (unsigned)has == (loaded > 0));
  listed l = { 0 };
  int n = cloudnotify_account_registrations(h.ctx, ACCOUNT, check_listed, &l);
  FH_CHECK(n == (h.store_fail_load ? CLOUDNOTIFY_ERR_STORE : (int)loaded));
  FH_CHECK(n < 0 || (unsigned)n == l.n);

  char *m1 = fh_stanza(0, ACCOUNT, 1);
  unsigned pushes = 0;
  int rc = fh_trigger(&h, FH_OFFLINE, ACCOUNT, m1, strlen(m1), NULL, &pushes);
  FH_CHECK(rc == (has == CLOUDNOTIFY_ERR_STORE ? CLOUDNOTIFY_ERR_STORE : 0));
  /* Stored Tigase filters (muted, groupchat) may keep some back. */
  uint64_t filtered = 0;
  FH_CHECK(cloudnotify_ctx_get_counter(h.ctx, CLOUDNOTIFY_COUNTER_SUPPRESSED_FILTER, &filtered) ==
           0);
  FH_CHECK(pushes + filtered == loaded);
  g_free(m1);

  /* A new registration next to the loaded ones (evicting the oldest when
   * full), and one on a loaded key when there is one. */
  if (fh_session_new(&h, 0, ACCOUNT, "phone") == 0) {
    FH_CHECK(fh_enable(&h, 0, "fresh.push.example", "fresh-node", NULL) == 0);
    check_loaded(&h, max_devices);
    cn_user *u = g_hash_table_lookup(h.ctx->users, ACCOUNT);
    if (u && u->regs->len) {
      const cn_reg *first = u->regs->pdata[0];
      char *jid = g_strdup(first->jid), *node = g_strdup(first->node);
      FH_CHECK(fh_enable(&h, 0, jid, node, NULL) == 0);
      check_loaded(&h, max_devices);
      char *m2 = fh_stanza(11, ACCOUNT, 2);
      fh_hibernated(&h, 0, NULL, 0);
      fh_queued(&h, 0, m2, strlen(m2));
      fh_advance(&h, 1000);
      g_free(m2);
      unsigned pinged = 0;
      cloudnotify_endpoint ep = { jid, node };
      /* node NULL names every node of the JID. */
      FH_CHECK(cloudnotify_ping(h.ctx, ACCOUNT, &ep, 1, &pinged) == 0);
      FH_CHECK(pinged <= (node ? 1u : (unsigned)max_devices));
      fh_check(&h);
      FH_CHECK(fh_disable(&h, 0, jid, NULL) == 0);
      g_free(jid);
      g_free(node);
    }
    /* Reloaded under a session, and every registration removed. */
    int rc2 = cloudnotify_account_forget(h.ctx, ACCOUNT);
    FH_CHECK(rc2 == 0 || rc2 == CLOUDNOTIFY_ERR_STORE);
    fh_check(&h);
    unsigned removed = 12345;
    rc2 = cloudnotify_account_remove_all(h.ctx, ACCOUNT, &removed);
    FH_CHECK(rc2 == 0 || rc2 == CLOUDNOTIFY_ERR_STORE);
    FH_CHECK(rc2 == CLOUDNOTIFY_ERR_STORE || cloudnotify_account_has_push(h.ctx, ACCOUNT) == 0);
    FH_CHECK(removed <= (unsigned)max_devices);
    fh_check(&h);
    fh_session_free(&h, 0);
  }
  FH_CHECK(cloudnotify_account_forget(h.ctx, ACCOUNT) == 0);
  fh_advance(&h, 301 * 1000);
  fh_fini(&h);
  for (unsigned i = 0; i < in.n; i++) {
    g_free(in.recs[i].jid);
    g_free(in.recs[i].node);
    g_free(in.recs[i].form);
    g_free(in.recs[i].client_id);
  }
  return 0;
}
