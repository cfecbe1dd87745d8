/* The fake host behind the stateful fuzz targets.  See fuzz-host.h. */
#include "fuzz-host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "jid.h"
#include "ctx.h"
#include "registry.h"
#include "session.h"
#include "xml.h"

#define NS_PUBSUB  "http://jabber.org/protocol/pubsub"
#define NS_PUSH    "urn:xmpp:push:0"
#define NS_DATA    "jabber:x:data"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

_Noreturn void fh_fail(const char *file, int line, const char *what) {
  fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, what);
  abort();
}

/* ---- input decoding ---------------------------------------------------- */

uint8_t fh_u8(fh_reader *r) {
  if (r->n == 0)
    return 0;
  r->n--;
  return *r->p++;
}

uint16_t fh_u16(fh_reader *r) {
  uint16_t lo = fh_u8(r);
  return (uint16_t)(lo | (uint16_t)fh_u8(r) << 8);
}

uint32_t fh_u32(fh_reader *r) {
  uint32_t lo = fh_u16(r);
  return lo | (uint32_t)fh_u16(r) << 16;
}

uint64_t fh_u64(fh_reader *r) {
  uint64_t lo = fh_u32(r);
  return lo | (uint64_t)fh_u32(r) << 32;
}

/* ---- stored registrations ---------------------------------------------- */

typedef struct fh_record {
  char *jid, *node, *form;
  size_t form_len;
  int64_t enabled_at;
} fh_record;

static void record_free(gpointer p) {
  fh_record *r = p;
  g_free(r->jid);
  g_free(r->node);
  g_free(r->form);
  g_free(r);
}

static void records_free(gpointer p) {
  g_ptr_array_free(p, TRUE);
}

static void publish_free(gpointer p) {
  fh_publish *pub = p;
  g_free(pub->id);
  g_free(pub->to);
  g_free(pub->account);
  g_free(pub);
}

/* ---- checks shared by the callbacks ------------------------------------ */

/* Every callback is a chance to try re-entering: the library must refuse
 * and change nothing. */
static void cb_enter(fuzz_host *h) {
  FH_CHECK(!h->freeing);
  FH_CHECK(cloudnotify_tick(h->ctx) == CLOUDNOTIFY_ERR_REENTRANT);
  FH_CHECK(cloudnotify_ctx_set_option_int(h->ctx, CLOUDNOTIFY_OPT_MAX_DEVICES, 1) ==
           CLOUDNOTIFY_ERR_REENTRANT);
}

static void check_account(const char *account) {
  FH_CHECK(account != NULL);
  char *norm = cn_account_normalize(account);
  FH_CHECK(norm != NULL && strcmp(norm, account) == 0);
  g_free(norm);
}

/* Push JIDs reach the host normalised: normalising again changes nothing. */
static void check_push_jid(const char *jid) {
  FH_CHECK(jid != NULL);
  char *norm = cn_jid_normalize(jid);
  FH_CHECK(norm != NULL && strcmp(norm, jid) == 0);
  g_free(norm);
}

int fh_slot_of(const fuzz_host *h, const cloudnotify_session *s) {
  for (int i = 0; i < FH_SLOTS; i++)
    if (s != NULL && h->slots[i].s == s)
      return i;
  return -1;
}

/* A session handed to a callback must be one the host still holds; the
 * user-data read goes through the handle, so a freed one trips ASan even
 * if its address was reused. */
static fh_slot *live_slot(fuzz_host *h, cloudnotify_session *s) {
  int i = fh_slot_of(h, s);
  FH_CHECK(i >= 0);
  FH_CHECK(cloudnotify_session_get_user_data(s) == &h->slots[i]);
  return &h->slots[i];
}

/* The library's own output is parsed without its bounds (a publish wraps
 * a stored form a few levels deeper than the form itself was). */
static xmlDoc *parse_out(const char *xml, size_t len) {
  FH_CHECK(len > 0 && len < (size_t)G_MAXINT);
  FH_CHECK(g_utf8_validate_len(xml, len, NULL));
  /* One context for the whole process: creating one per stanza was most
   * of the cost of an execution.  Its dictionary only grows, so it is
   * replaced now and then. */
  static xmlParserCtxtPtr ctxt;
  if (ctxt && xmlDictSize(ctxt->dict) > 4096) {
    xmlFreeParserCtxt(ctxt);
    ctxt = NULL;
  }
  if (!ctxt)
    ctxt = xmlNewParserCtxt();
  FH_CHECK(ctxt != NULL);
  xmlDoc *doc =
      xmlCtxtReadMemory(ctxt, xml, (int)len, NULL, "UTF-8",
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_HUGE);
  if (doc == NULL || !ctxt->wellFormed || !ctxt->nsWellFormed)
    fprintf(stderr, "not well-formed: %.*s\n", (int)len, xml);
  FH_CHECK(doc != NULL && ctxt->wellFormed && ctxt->nsWellFormed);
  xmlCtxtReset(ctxt);
  FH_CHECK(doc->intSubset == NULL);
  return doc;
}

static gboolean check_client_reply(fh_slot *slot, const char *to, const char *xml, size_t len) {
  FH_CHECK(strcmp(to, slot->full) == 0);
  xmlDoc *doc = parse_out(xml, len);
  xmlNode *iq = xmlDocGetRootElement(doc);
  FH_CHECK(strcmp((const char *)iq->name, "iq") == 0);
  const char *type = cn_xml_attr(iq, "type");
  FH_CHECK(g_strcmp0(cn_xml_attr(iq, "to"), slot->full) == 0);
  FH_CHECK(g_strcmp0(cn_xml_attr(iq, "from"), slot->account) == 0);
  FH_CHECK(type != NULL);
  if (strcmp(type, "error") == 0) {
    xmlNode *err = cn_xml_child(iq, "error", NULL);
    FH_CHECK(err != NULL);
    const char *et = cn_xml_attr(err, "type");
    FH_CHECK(et && (!strcmp(et, "cancel") || !strcmp(et, "modify") || !strcmp(et, "auth") ||
                    !strcmp(et, "wait")));
    FH_CHECK(err->children != NULL && g_strcmp0(cn_xml_ns(err->children), NS_STANZAS) == 0);
  } else {
    FH_CHECK(strcmp(type, "result") == 0 && iq->children == NULL);
  }
  gboolean result = strcmp(type, "result") == 0;
  xmlFreeDoc(doc);
  return result;
}

/* Value of a summary field of a publish, NULL when absent. */
static char *summary_field(xmlNode *x, const char *var) {
  for (xmlNode *f = x->children; f; f = f->next) {
    if (f->type != XML_ELEMENT_NODE || g_strcmp0(cn_xml_attr(f, "var"), var))
      continue;
    return cn_xml_text(cn_xml_child(f, "value", NS_DATA));
  }
  return NULL;
}

static gboolean is_publish_id(const char *id) {
  if (!id || strlen(id) != 32)
    return FALSE;
  for (const char *c = id; *c; c++)
    if (!g_ascii_isxdigit(*c) || g_ascii_isupper(*c))
      return FALSE;
  return TRUE;
}

/* Returns the publish id (g_malloc'd). */
static char *check_publish(fuzz_host *h, const char *account, const char *to, const char *xml,
                           size_t len) {
  check_push_jid(to);
  xmlDoc *doc = parse_out(xml, len);
  xmlNode *iq = xmlDocGetRootElement(doc);
  FH_CHECK(strcmp((const char *)iq->name, "iq") == 0);
  FH_CHECK(g_strcmp0(cn_xml_attr(iq, "type"), "set") == 0);
  FH_CHECK(g_strcmp0(cn_xml_attr(iq, "to"), to) == 0);
  FH_CHECK(g_strcmp0(cn_xml_attr(iq, "from"), strchr(account, '@') + 1) == 0);
  const char *id = cn_xml_attr(iq, "id");
  FH_CHECK(is_publish_id(id));
  xmlNode *pubsub = cn_xml_child(iq, "pubsub", NS_PUBSUB);
  xmlNode *publish = cn_xml_child(pubsub, "publish", NS_PUBSUB);
  xmlNode *item = cn_xml_child(publish, "item", NS_PUBSUB);
  xmlNode *notif = cn_xml_child(item, "notification", NS_PUSH);
  xmlNode *x = cn_xml_child(notif, "x", NS_DATA);
  FH_CHECK(x != NULL);
  char *form_type = summary_field(x, "FORM_TYPE");
  char *body = summary_field(x, "last-message-body");
  char *sender = summary_field(x, "last-message-sender");
  FH_CHECK(g_strcmp0(form_type, "urn:xmpp:push:summary") == 0);
  /* Without push_notification_with_body the real body must not leave the
   * server: only the configured important body, or the filter's text. */
  if (h->push_filter == 2)
    FH_CHECK(g_strcmp0(body, "amended") == 0);
  else if (h->push_filter == 3)
    FH_CHECK(body == NULL && sender == NULL);
  else if (!h->with_body)
    FH_CHECK(body == NULL || g_strcmp0(body, h->important_body) == 0);
  if (!h->with_sender && h->push_filter != 3)
    FH_CHECK(sender == NULL);
  g_free(form_type);
  g_free(body);
  g_free(sender);
  char *r = g_strdup(id);
  xmlFreeDoc(doc);
  return r;
}

/* ---- callbacks --------------------------------------------------------- */

static int cb_send(void *ud, cloudnotify_route route, cloudnotify_session *session,
                   const char *account, const char *to, const char *xml, size_t len) {
  fuzz_host *h = ud;
  cb_enter(h);
  check_account(account);
  FH_CHECK(to != NULL && xml != NULL);
  if (route == CLOUDNOTIFY_ROUTE_CLIENT) {
    fh_slot *slot = live_slot(h, session);
    FH_CHECK(strcmp(slot->account, account) == 0);
    h->last_reply_result = check_client_reply(slot, to, xml, len);
    h->client_sends++;
    return h->client_fail ? -1 : 0;
  }
  FH_CHECK(route == CLOUDNOTIFY_ROUTE_APP_SERVER);
  FH_CHECK(session == NULL);
  char *id = check_publish(h, account, to, xml, len);
  h->app_sends++;
  if (h->send_fail) {
    g_free(id);
    return -1;
  }
  h->app_accepted++;
  fh_publish *p = g_new0(fh_publish, 1);
  p->id = id;
  p->to = g_strdup(to);
  p->account = g_strdup(account);
  g_ptr_array_add(h->publishes, p);
  return 0;
}

static int64_t cb_now(void *ud) {
  fuzz_host *h = ud;
  FH_CHECK(!h->freeing);
  return h->now;
}

static void cb_timer(void *ud, int64_t timeout) {
  fuzz_host *h = ud;
  cb_enter(h);
  FH_CHECK(timeout >= -1);
  /* Getters stay usable here, and agree with what is being reported. */
  FH_CHECK(cloudnotify_next_timeout(h->ctx) == timeout);
  h->timer_at = h->now;
  h->timer_timeout = timeout;
}

static void cb_hibernation(void *ud, cloudnotify_session *s, int64_t seconds) {
  fuzz_host *h = ud;
  cb_enter(h);
  fh_slot *slot = live_slot(h, s);
  if (seconds == -1) {
    /* Back to normal only after having been told to extend. */
    FH_CHECK(slot->extended);
    slot->extended = FALSE;
    return;
  }
  FH_CHECK(seconds > 0 && seconds == h->max_hibernation_timeout);
  FH_CHECK(slot->hibernated && !slot->extended);
  slot->extended = TRUE;
}

static void cb_removed(void *ud, const char *account, const char *jid, const char *node,
                       cloudnotify_removal_reason reason) {
  fuzz_host *h = ud;
  cb_enter(h);
  check_account(account);
  check_push_jid(jid);
  FH_CHECK(node == NULL || *node != '\0');
  FH_CHECK(reason >= CLOUDNOTIFY_REMOVED_DISABLED && reason <= CLOUDNOTIFY_REMOVED_CLIENT_REPLACED);
  h->removed++;
  g_free(h->last_removed_jid);
  h->last_removed_jid = g_strdup(jid);
  h->last_removed_reason = reason;
}

static void cb_log(void *ud, cloudnotify_log_level level, const char *message) {
  fuzz_host *h = ud;
  cb_enter(h);
  FH_CHECK(level >= CLOUDNOTIFY_LOG_DEBUG && level <= CLOUDNOTIFY_LOG_ERROR);
  FH_CHECK(message != NULL && g_utf8_validate(message, -1, NULL));
  if (h->secret)
    FH_CHECK(strstr(message, h->secret) == NULL);
}

static int cb_regfilter(void *ud, cloudnotify_session *s, const char *account, const char *jid,
                        const char *node, const char **error_type, const char **error_condition) {
  fuzz_host *h = ud;
  cb_enter(h);
  fh_slot *slot = live_slot(h, s);
  FH_CHECK(account && strcmp(account, slot->account) == 0);
  check_push_jid(jid);
  FH_CHECK(node == NULL || *node != '\0');
  switch (h->veto) {
  case 0: return 0;
  case 1: return 1; /* unset: cancel / not-allowed */
  case 2:
    *error_type = "wait";
    *error_condition = "resource-constraint";
    return 1;
  default:
    /* Not a condition: must be replaced, never copied into XML. */
    *error_type = "bogus'/><x";
    *error_condition = "not a condition";
    return 1;
  }
}

static int cb_pushfilter(void *ud, cloudnotify_push *p) {
  fuzz_host *h = ud;
  cb_enter(h);
  check_account(cloudnotify_push_account(p));
  check_push_jid(cloudnotify_push_jid(p));
  const char *node = cloudnotify_push_node(p);
  FH_CHECK(node == NULL || *node != '\0');
  cloudnotify_session *s = cloudnotify_push_session(p);
  if (s != NULL)
    live_slot(h, s);
  int important = cloudnotify_push_is_important(p);
  int urgent = cloudnotify_push_is_urgent(p);
  FH_CHECK(important == 0 || important == 1);
  FH_CHECK(urgent == 0 || (urgent == 1 && important == 1));
  const char *sender = cloudnotify_push_sender(p);
  FH_CHECK(sender == NULL || g_utf8_validate(sender, -1, NULL));
  const char *body = cloudnotify_push_body(p);
  if (!h->with_body)
    FH_CHECK(body == NULL || g_strcmp0(body, h->important_body) == 0);
  FH_CHECK(body == NULL || g_utf8_validate(body, -1, NULL));
  FH_CHECK(cloudnotify_push_set_body(p, "\xff") == CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  switch (h->push_filter) {
  case 1: return 1;
  case 2:
    FH_CHECK(cloudnotify_push_set_body(p, "amended") == 0);
    FH_CHECK(g_strcmp0(cloudnotify_push_body(p), "amended") == 0);
    return 0;
  case 3:
    FH_CHECK(cloudnotify_push_set_body(p, NULL) == 0);
    FH_CHECK(cloudnotify_push_set_sender(p, NULL) == 0);
    return 0;
  default: return 0;
  }
}

/* ---- the host's store -------------------------------------------------- */

static GPtrArray *store_records(fuzz_host *h, const char *account, gboolean create) {
  GPtrArray *a = g_hash_table_lookup(h->store, account);
  if (!a && create) {
    a = g_ptr_array_new_with_free_func(record_free);
    g_hash_table_insert(h->store, g_strdup(account), a);
  }
  return a;
}

static int st_load(void *data, const char *account, cloudnotify_loader *loader) {
  fuzz_host *h = data;
  cb_enter(h);
  check_account(account);
  FH_CHECK(cloudnotify_loader_add(loader, NULL) == CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  if (h->load_hook)
    return h->load_hook(h, account, loader);
  if (h->store_fail_load)
    return -1;
  GPtrArray *a = store_records(h, account, FALSE);
  for (guint i = 0; a && i < a->len; i++) {
    const fh_record *r = a->pdata[i];
    cloudnotify_record rec = { .jid = r->jid,
                               .node = r->node,
                               .publish_options = r->form,
                               .publish_options_len = r->form_len,
                               .enabled_at_ms = r->enabled_at };
    int rc = cloudnotify_loader_add(loader, &rec);
    /* What the library saved it must accept back after a restart. */
    if (h->store_strict)
      FH_CHECK(rc == 0);
  }
  return 0;
}

static gboolean same_key(const fh_record *r, const char *jid, const char *node) {
  return strcmp(r->jid, jid) == 0 && g_strcmp0(r->node, node) == 0;
}

static int st_save(void *data, const char *account, const cloudnotify_record *rec) {
  fuzz_host *h = data;
  cb_enter(h);
  check_account(account);
  FH_CHECK(rec != NULL);
  check_push_jid(rec->jid);
  FH_CHECK(rec->node == NULL || *rec->node != '\0');
  FH_CHECK((rec->publish_options == NULL) == (rec->publish_options_len == 0));
  if (h->store_fail_save)
    return -1;
  GPtrArray *a = store_records(h, account, TRUE);
  fh_record *r = NULL;
  for (guint i = 0; i < a->len && !r; i++)
    if (same_key(a->pdata[i], rec->jid, rec->node))
      r = a->pdata[i];
  if (!r) {
    r = g_new0(fh_record, 1);
    r->jid = g_strdup(rec->jid);
    r->node = g_strdup(rec->node);
    g_ptr_array_add(a, r);
  }
  g_free(r->form);
  /* Exactly the bytes given: no terminator, so an over-read shows. */
  r->form =
      rec->publish_options_len ? g_memdup2(rec->publish_options, rec->publish_options_len) : NULL;
  r->form_len = rec->publish_options_len;
  r->enabled_at = rec->enabled_at_ms;
  return 0;
}

static int st_remove(void *data, const char *account, const char *jid, const char *node) {
  fuzz_host *h = data;
  cb_enter(h);
  check_account(account);
  /* Removals name the normalised key, or the key a loaded record was
   * stored under when it differs (rewritten on load): a JID as a client
   * spelled it, an empty node. */
  FH_CHECK(jid != NULL);
  char *norm = cn_jid_normalize(jid);
  FH_CHECK(norm != NULL);
  g_free(norm);
  if (h->store_fail_remove)
    return -1;
  GPtrArray *a = store_records(h, account, FALSE);
  for (guint i = 0; a && i < a->len; i++) {
    if (same_key(a->pdata[i], jid, node)) {
      g_ptr_array_remove_index(a, i);
      break;
    }
  }
  return 0;
}

/* The host owns the records: they outlive a context, like a database. */
static void st_destroy(void *data) {
  (void)data;
}

static const cloudnotify_store host_store = {
  .size = sizeof(cloudnotify_store),
  .load = st_load,
  .save = st_save,
  .remove = st_remove,
  .destroy = st_destroy,
};

/* ---- lifecycle --------------------------------------------------------- */

void fh_init(fuzz_host *h) {
  static gboolean once;
  if (!once) {
    /* The library reports misuse through g_critical; under fuzzing that
     * must be a finding, not a line on stderr. */
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
    once = TRUE;
  }
  memset(h, 0, sizeof *h);
  h->now = 1700000000000;
  h->timer_timeout = -1;
  h->publishes = g_ptr_array_new_with_free_func(publish_free);
  h->important_body = g_strdup("New Message!");
  h->max_hibernation_timeout = 72 * 3600;
  h->store = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, records_free);
  cloudnotify_callbacks cb = {
    .size = sizeof cb,
    .send = cb_send,
    .now_ms = cb_now,
    .timer_changed = cb_timer,
    .hibernation_timeout = cb_hibernation,
    .registration_removed = cb_removed,
    .log = cb_log,
    .registration_filter = cb_regfilter,
    .notification_filter = cb_pushfilter,
    /* One simulated time drives both clocks. */
    .monotonic_ms = cb_now,
  };
  FH_CHECK(cloudnotify_ctx_new(&h->ctx, &cb, h) == 0);
  FH_CHECK(cloudnotify_ctx_set_store(h->ctx, &host_store, h) == 0);
  fh_check(h);
}

void fh_fini(fuzz_host *h) {
  h->freeing = TRUE;
  cloudnotify_ctx_free(h->ctx);
  h->ctx = NULL;
  for (int i = 0; i < FH_SLOTS; i++) {
    g_free(h->slots[i].account);
    g_free(h->slots[i].full);
  }
  g_ptr_array_free(h->publishes, TRUE);
  g_hash_table_destroy(h->store);
  g_free(h->important_body);
  g_free(h->last_removed_jid);
  memset(h, 0, sizeof *h);
}

int fh_restart(fuzz_host *h) {
  int live = 0;
  for (int i = 0; i < FH_SLOTS; i++)
    live += h->slots[i].s != NULL;
  fh_note_store_swap(h);
  int rc = cloudnotify_ctx_set_store(h->ctx, &host_store, h);
  FH_CHECK(rc == (live ? CLOUDNOTIFY_ERR_STATE : 0));
  if (rc)
    h->store_forgot = h->store_forgot_before;
  fh_check(h);
  return rc;
}

/* ---- invariants -------------------------------------------------------- */

static void check_timer(fuzz_host *h) {
  int64_t t = cloudnotify_next_timeout(h->ctx);
  FH_CHECK(t >= -1);
  /* The host only knows what timer_changed told it; it must be enough to
   * wake up on time. */
  if (h->timer_timeout == -1) {
    FH_CHECK(t == -1);
  } else if (h->timer_timeout > 0) {
    int64_t due = h->timer_at + h->timer_timeout;
    FH_CHECK(t == (due > h->now ? due - h->now : 0));
  } else {
    FH_CHECK(t >= 0);
    FH_CHECK(h->now >= h->timer_at ? t == 0 : t <= h->timer_at - h->now);
  }
}

/* The library's own structures, reached through the internal header: the
 * cheapest way to notice a dangling pointer before it is used. */
static void check_internal(fuzz_host *h) {
  cloudnotify_ctx *ctx = h->ctx;
  FH_CHECK(ctx->in_callback == 0 && ctx->depth == 0);
  /* Every cached user is on the LRU list, or off it only while sessions
   * pin it (cn_users_trim takes those off). */
  GHashTableIter it;
  gpointer v;
  guint listed = 0;
  g_hash_table_iter_init(&it, ctx->users);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    const cn_user *u = v;
    if (u->lru.prev || u->lru.next || ctx->user_lru.head == &u->lru)
      listed++;
    else
      FH_CHECK(u->sessions != NULL);
  }
  FH_CHECK(listed == ctx->user_lru.length);
  FH_CHECK(g_hash_table_size(ctx->outstanding) == ctx->outstanding_fifo.length);
  FH_CHECK(g_hash_table_size(ctx->seen) <= ctx->seen_fifo.length);
  unsigned live = 0;
  for (int i = 0; i < FH_SLOTS; i++)
    live += h->slots[i].s != NULL;
  FH_CHECK(g_list_length(ctx->sessions) == live);
  for (GList *l = ctx->sessions; l; l = l->next) {
    cloudnotify_session *s = l->data;
    FH_CHECK(fh_slot_of(h, s) >= 0);
    FH_CHECK(s->ctx == ctx && s->ctx_link == l);
    if (s->user) {
      FH_CHECK(g_hash_table_lookup(ctx->users, s->user->account) == s->user);
      FH_CHECK(g_list_find(s->user->sessions, s) != NULL);
    }
    if (s->reg) {
      FH_CHECK(s->user != NULL && s->reg->user == s->user);
      FH_CHECK(g_ptr_array_find(s->user->regs, s->reg, NULL));
    }
    FH_CHECK(!cn_timer_armed(&s->coalesce_timer) || s->coalesce_timer.data == s);
    FH_CHECK(!cn_timer_armed(&s->ack_timer) || s->ack_timer.data == s);
    FH_CHECK(!cn_timer_armed(&s->wake_timer) || s->wake_timer.data == s);
  }
  for (GList *l = ctx->user_lru.head; l; l = l->next) {
    cn_user *u = l->data;
    FH_CHECK(g_hash_table_lookup(ctx->users, u->account) == u);
    if (h->store_exact) {
      GPtrArray *a = store_records(h, u->account, FALSE);
      FH_CHECK((a ? a->len : 0) == u->regs->len);
      for (guint i = 0; i < u->regs->len; i++) {
        const cn_reg *r = u->regs->pdata[i];
        const fh_record *found = NULL;
        for (guint k = 0; a && k < a->len && !found; k++)
          if (same_key(a->pdata[k], r->jid, r->node))
            found = a->pdata[k];
        FH_CHECK(found != NULL && found->enabled_at == r->enabled_at);
        /* The stored text: the form, and Tigase's extensions after it. */
        cloudnotify_record rec = cn_reg_record(r);
        FH_CHECK(found->form_len == rec.publish_options_len &&
                 (rec.publish_options_len == 0 ||
                  memcmp(found->form, rec.publish_options, rec.publish_options_len) == 0));
      }
    }
    for (GList *m = u->sessions; m; m = m->next)
      FH_CHECK(((cloudnotify_session *)m->data)->user == u);
    for (guint i = 0; i < u->regs->len; i++) {
      cn_reg *r = u->regs->pdata[i];
      FH_CHECK(r->user == u);
      for (guint k = i + 1; k < u->regs->len; k++)
        FH_CHECK(strcmp(r->ident, ((cn_reg *)u->regs->pdata[k])->ident) != 0);
    }
  }
}

static uint64_t counter(fuzz_host *h, cloudnotify_counter c) {
  uint64_t v = 0;
  FH_CHECK(cloudnotify_ctx_get_counter(h->ctx, c, &v) == 0);
  return v;
}

/* Every publish the host accepted is counted once, and ends in exactly
 * one outcome or is still awaited (the store is set only at init, so no
 * outstanding publish is forgotten silently). */
static void check_counters(fuzz_host *h) {
  uint64_t sent = counter(h, CLOUDNOTIFY_COUNTER_PUBLISHES_SENT);
  FH_CHECK(sent == h->app_accepted);
  uint64_t ended = counter(h, CLOUDNOTIFY_COUNTER_REPLIES_OK) +
                   counter(h, CLOUDNOTIFY_COUNTER_REPLIES_ERROR) +
                   counter(h, CLOUDNOTIFY_COUNTER_REPLIES_WAIT) +
                   counter(h, CLOUDNOTIFY_COUNTER_PUBLISHES_EXPIRED) +
                   counter(h, CLOUDNOTIFY_COUNTER_PUBLISHES_DROPPED) +
                   counter(h, CLOUDNOTIFY_COUNTER_PUBLISHES_FORGOTTEN);
  FH_CHECK(sent == ended + h->store_forgot + counter(h, CLOUDNOTIFY_GAUGE_OUTSTANDING));
}

void fh_note_store_swap(fuzz_host *h) {
  h->store_forgot_before = h->store_forgot;
  h->store_forgot += counter(h, CLOUDNOTIFY_GAUGE_OUTSTANDING);
}

void fh_check(fuzz_host *h) {
  check_timer(h);
  check_counters(h);
  for (int i = 0; i < FH_SLOTS; i++) {
    fh_slot *slot = &h->slots[i];
    if (!slot->s)
      continue;
    FH_CHECK(cloudnotify_session_get_user_data(slot->s) == slot);
    FH_CHECK(g_strcmp0(cloudnotify_session_account(slot->s), slot->account) == 0);
  }
  check_internal(h);
}

/* ---- options ----------------------------------------------------------- */

int fh_set_int(fuzz_host *h, cloudnotify_option opt, int64_t value) {
  int rc = cloudnotify_ctx_set_option_int(h->ctx, opt, value);
  if (rc == 0) {
    if (opt == CLOUDNOTIFY_OPT_WITH_BODY)
      h->with_body = value != 0;
    else if (opt == CLOUDNOTIFY_OPT_WITH_SENDER)
      h->with_sender = value != 0;
    else if (opt == CLOUDNOTIFY_OPT_MAX_HIBERNATION_TIMEOUT)
      h->max_hibernation_timeout = value;
  }
  fh_check(h);
  return rc;
}

int fh_set_string(fuzz_host *h, cloudnotify_option opt, const char *value) {
  int rc = cloudnotify_ctx_set_option_string(h->ctx, opt, value);
  if (rc == 0 && opt == CLOUDNOTIFY_OPT_IMPORTANT_BODY) {
    g_free(h->important_body);
    h->important_body = *value ? g_strdup(value) : NULL;
  }
  fh_check(h);
  return rc;
}

/* ---- sessions ---------------------------------------------------------- */

int fh_session_new(fuzz_host *h, int slot_no, const char *account, const char *resource) {
  fh_slot *slot = &h->slots[slot_no];
  FH_CHECK(slot->s == NULL);
  cloudnotify_session *s = (cloudnotify_session *)&h; /* must be overwritten */
  int rc = cloudnotify_session_new(h->ctx, account, resource, &s);
  if (rc != 0) {
    FH_CHECK(rc == CLOUDNOTIFY_ERR_JID_MALFORMED && s == NULL);
    fh_check(h);
    return rc;
  }
  FH_CHECK(s != NULL);
  char *bare = cn_account_normalize(account);
  FH_CHECK(bare != NULL);
  char *text = g_strconcat(bare, "/", resource, NULL);
  char *full = cn_jid_normalize(text);
  FH_CHECK(full != NULL);
  g_free(text);
  FH_CHECK(strcmp(cloudnotify_session_account(s), bare) == 0);
  FH_CHECK(strcmp(full + strlen(bare) + 1, cloudnotify_session_resource(s)) == 0);
  g_free(slot->account);
  g_free(slot->full);
  memset(slot, 0, sizeof *slot);
  slot->s = s;
  slot->account = bare;
  slot->full = full;
  cloudnotify_session_set_user_data(s, slot);
  /* Every modelled session has stream management: the wrappers below
   * model hibernation and acks, which need it. */
  FH_CHECK(cloudnotify_session_sm_enabled(s) == 0);
  fh_check(h);
  return 0;
}

void fh_session_free(fuzz_host *h, int slot_no) {
  fh_slot *slot = &h->slots[slot_no];
  cloudnotify_session_free(slot->s);
  slot->s = NULL;
  slot->hibernated = FALSE;
  slot->extended = FALSE;
  fh_check(h);
}

/* ---- wrappers ---------------------------------------------------------- */

int fh_client_iq(fuzz_host *h, int slot_no, const char *xml, size_t len) {
  unsigned before = h->client_sends, app_before = h->app_sends;
  int rc = cloudnotify_handle_client_iq(h->slots[slot_no].s, xml, len);
  unsigned replies = h->client_sends - before;
  /* Answered exactly when handled; never a publish on the way. */
  if (rc == 0 || rc == CLOUDNOTIFY_ERR_SEND)
    FH_CHECK(replies == 1 && (rc == 0) == !h->client_fail);
  else
    FH_CHECK(replies == 0 && (rc == CLOUDNOTIFY_ERR_XML || rc == CLOUDNOTIFY_ERR_TOO_LARGE ||
                              rc == CLOUDNOTIFY_ERR_NOT_MINE));
  FH_CHECK(h->app_sends == app_before);
  fh_check(h);
  return rc;
}

static void append_attr(GString *x, const char *name, const char *value) {
  if (!value)
    return;
  g_string_append_printf(x, " %s='", name);
  cn_xml_escape(x, value, strlen(value));
  g_string_append_c(x, '\'');
}

int fh_enable(fuzz_host *h, int slot, const char *jid, const char *node, const char *form) {
  GString *x = g_string_new("<iq type='set' id='enable-1'><enable xmlns='" NS_PUSH "'");
  append_attr(x, "jid", jid);
  append_attr(x, "node", node);
  g_string_append_printf(x, ">%s</enable></iq>", form ? form : "");
  int rc = fh_client_iq(h, slot, x->str, x->len);
  g_string_free(x, TRUE);
  if (rc == 0 && h->last_reply_result) {
    /* Enabled means bound to this session under the normalised key. */
    const cn_reg *r = h->slots[slot].s->reg;
    char *norm = cn_jid_normalize(jid);
    FH_CHECK(r != NULL && norm != NULL && strcmp(r->jid, norm) == 0);
    FH_CHECK(g_strcmp0(r->node, node && *node ? node : NULL) == 0);
    g_free(norm);
  }
  return rc;
}

int fh_disable(fuzz_host *h, int slot, const char *jid, const char *node) {
  GString *x = g_string_new("<iq type='set' id='disable-1'><disable xmlns='" NS_PUSH "'");
  append_attr(x, "jid", jid);
  append_attr(x, "node", node);
  g_string_append(x, "/></iq>");
  int rc = fh_client_iq(h, slot, x->str, x->len);
  g_string_free(x, TRUE);
  const cn_user *u = h->slots[slot].s->user;
  char *norm = jid ? cn_jid_normalize(jid) : NULL;
  if (rc == 0 && h->last_reply_result && u) {
    /* Disabled means gone, every node of the JID when none was named. */
    FH_CHECK(norm != NULL);
    for (guint i = 0; i < u->regs->len; i++) {
      const cn_reg *r = u->regs->pdata[i];
      FH_CHECK(strcmp(r->jid, norm) != 0 || (node && *node && g_strcmp0(r->node, node)));
    }
  }
  g_free(norm);
  return rc;
}

int fh_trigger(fuzz_host *h, enum fh_trigger_kind kind, const char *account, const char *xml,
               size_t len, const char *archive_id, unsigned *pushes) {
  unsigned before = h->app_accepted, client_before = h->client_sends;
  unsigned n = 12345;
  int rc;
  switch (kind) {
  case FH_OFFLINE: rc = cloudnotify_message_offline(h->ctx, account, xml, len, &n); break;
  case FH_ARCHIVED:
    rc = cloudnotify_message_archived(h->ctx, account, xml, len, archive_id, &n);
    break;
  default: rc = cloudnotify_message_groupchat_bare(h->ctx, account, xml, len, &n); break;
  }
  FH_CHECK(rc == 0 || rc == CLOUDNOTIFY_ERR_JID_MALFORMED || rc == CLOUDNOTIFY_ERR_XML ||
           rc == CLOUDNOTIFY_ERR_TOO_LARGE || rc == CLOUDNOTIFY_ERR_STORE);
  FH_CHECK(n == h->app_accepted - before);
  FH_CHECK(rc == 0 || n == 0);
  FH_CHECK(h->client_sends == client_before);
  if (pushes)
    *pushes = n;
  fh_check(h);
  return rc;
}

int fh_app_reply(fuzz_host *h, const char *xml, size_t len) {
  unsigned sends = h->app_sends + h->client_sends, removed = h->removed;
  int rc = cloudnotify_handle_app_reply(h->ctx, xml, len);
  FH_CHECK(rc == 0 || rc == CLOUDNOTIFY_ERR_XML || rc == CLOUDNOTIFY_ERR_TOO_LARGE ||
           rc == CLOUDNOTIFY_ERR_NOT_MINE || rc == CLOUDNOTIFY_ERR_STORE ||
           rc == CLOUDNOTIFY_ERR_FOREIGN_SENDER);
  /* A foreign sender changes nothing at all. */
  if (rc == CLOUDNOTIFY_ERR_FOREIGN_SENDER)
    FH_CHECK(h->removed == removed);
  FH_CHECK(h->app_sends + h->client_sends == sends);
  /* One reply removes at most its own registration, and only for errors
   * (or, while loading it back, surplus ones: evicted). */
  if (h->removed != removed)
    FH_CHECK(h->last_removed_reason == CLOUDNOTIFY_REMOVED_ERRORS ||
             h->last_removed_reason == CLOUDNOTIFY_REMOVED_EVICTED);
  fh_check(h);
  return rc;
}

int fh_hibernated(fuzz_host *h, int slot_no, const cloudnotify_buf *queue, size_t n) {
  fh_slot *slot = &h->slots[slot_no];
  gboolean was = slot->hibernated;
  unsigned client = h->client_sends;
  slot->hibernated = TRUE;
  int rc = cloudnotify_session_hibernated(slot->s, queue, n);
  FH_CHECK(rc == (was ? CLOUDNOTIFY_ERR_STATE : 0));
  FH_CHECK(h->client_sends == client);
  fh_check(h);
  return rc;
}

int fh_resumed(fuzz_host *h, int slot_no) {
  fh_slot *slot = &h->slots[slot_no];
  unsigned sends = h->client_sends + h->app_sends;
  int rc = cloudnotify_session_resumed(slot->s);
  FH_CHECK(rc == (slot->hibernated ? 0 : CLOUDNOTIFY_ERR_STATE));
  FH_CHECK(h->client_sends + h->app_sends == sends);
  if (rc == 0) {
    /* Documented: no hibernation_timeout callback on resumption. */
    slot->hibernated = FALSE;
    slot->extended = FALSE;
    slot->sent = slot->acked;
  }
  fh_check(h);
  return rc;
}

int fh_queued(fuzz_host *h, int slot_no, const char *xml, size_t len) {
  fh_slot *slot = &h->slots[slot_no];
  unsigned app = h->app_sends, client = h->client_sends;
  int rc = cloudnotify_session_queued(slot->s, xml, len);
  FH_CHECK(rc == 0 || rc == CLOUDNOTIFY_ERR_XML || rc == CLOUDNOTIFY_ERR_TOO_LARGE);
  if (!slot->hibernated) {
    slot->sent++;
    /* A live session is only remembered for the ack-delay push. */
    FH_CHECK(h->app_sends == app);
  } else {
    FH_CHECK(h->app_sends - app <= 2);
  }
  FH_CHECK(h->client_sends == client);
  fh_check(h);
  return rc;
}

int fh_acked(fuzz_host *h, int slot_no, uint32_t count) {
  fh_slot *slot = &h->slots[slot_no];
  unsigned sends = h->client_sends + h->app_sends;
  FH_CHECK(cloudnotify_session_acked(slot->s, count) == 0);
  FH_CHECK(h->client_sends + h->app_sends == sends);
  slot->acked = count;
  fh_check(h);
  return 0;
}

int fh_tick(fuzz_host *h) {
  h->timer_at = INT64_MIN;
  int rc = cloudnotify_tick(h->ctx);
  FH_CHECK(rc == 0);
  /* The host's one-shot timer fired: it must always be told again. */
  FH_CHECK(h->timer_at == h->now);
  /* Everything due has run. */
  FH_CHECK(cloudnotify_next_timeout(h->ctx) != 0);
  fh_check(h);
  return rc;
}

void fh_advance(fuzz_host *h, int64_t ms) {
  h->now += ms;
  fh_check(h);
  if (cloudnotify_next_timeout(h->ctx) == 0)
    fh_tick(h);
}

/* ---- stanzas ----------------------------------------------------------- */

static const char *const stanzas[FH_N_STANZAS] = {
  /* chat with body */
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' to='{to}' "
  "id='m{n}'><body>S3CR3T-BODY wherefore art thou</body></message>",
  /* chat state only: not important */
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' to='{to}' "
  "id='cs{n}'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>",
  /* OMEMO */
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' to='{to}' "
  "id='o{n}'><encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'><key rid='2'>"
  "S3CR3T-KEY</key><iv>aXY=</iv></header><payload>S3CR3T-PAYLOAD</payload></encrypted>"
  "<body>I sent you an OMEMO encrypted message</body></message>",
  /* carbon received, from the account itself */
  "<message xmlns='jabber:client' from='{to}' to='{to}/phone' type='chat'>"
  "<received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' "
  "to='{to}/laptop' id='c{n}'><body>S3CR3T-BODY carbon</body></message></forwarded>"
  "</received></message>",
  /* carbon sent: never pushed */
  "<message xmlns='jabber:client' from='{to}' to='{to}/phone' type='chat'>"
  "<sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>"
  "<message xmlns='jabber:client' type='chat' from='{to}/laptop' to='romeo@montague.example' "
  "id='s{n}'><body>S3CR3T-BODY sent</body></message></forwarded></sent></message>",
  /* Jingle Message Initiation: urgent */
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' to='{to}' "
  "id='p{n}'><propose xmlns='urn:xmpp:jingle-message:0' id='call{n}'><description "
  "xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose><store xmlns='urn:xmpp:hints'/>"
  "</message>",
  /* groupchat subject: not important */
  "<message xmlns='jabber:client' type='groupchat' from='room@muc.example/nurse' to='{to}' "
  "id='g{n}'><subject>S3CR3T-BODY topic</subject></message>",
  /* groupchat body */
  "<message xmlns='jabber:client' type='groupchat' from='room@muc.example/nurse' to='{to}' "
  "id='gb{n}'><body>S3CR3T-BODY hello room</body></message>",
  /* headline */
  "<message xmlns='jabber:client' type='headline' from='news.example' to='{to}' id='h{n}'>"
  "<body>S3CR3T-BODY news</body></message>",
  /* presence */
  "<presence xmlns='jabber:client' from='romeo@montague.example/orchard' to='{to}'>"
  "<show>away</show></presence>",
  /* error bounce */
  "<message xmlns='jabber:client' type='error' from='romeo@montague.example' to='{to}' "
  "id='e{n}'><body>S3CR3T-BODY</body><error type='cancel'><service-unavailable "
  "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>",
  /* stanza-id from the account's archive */
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' to='{to}' "
  "id='sid{n}'><body>S3CR3T-BODY archived</body><stanza-id xmlns='urn:xmpp:sid:0' by='{to}' "
  "id='arch-{n}'/></message>",
  /* no id, with delay: content key */
  "<message type='chat' from='romeo@montague.example/orchard' to='{to}'><body>S3CR3T-BODY "
  "no id {n}</body><delay xmlns='urn:xmpp:delay' from='capulet.example' "
  "stamp='2024-01-01T00:00:00Z'/></message>",
  /* iq */
  "<iq xmlns='jabber:client' type='get' from='romeo@montague.example/orchard' to='{to}' "
  "id='q{n}'><query xmlns='jabber:iq:version'/></iq>",
  /* malformed */
  "<message xmlns='jabber:client' id='bad{n}'><body>unclosed</message>",
  /* OpenPGP */
  "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' to='{to}' "
  "id='pgp{n}'><openpgp xmlns='urn:xmpp:openpgp:0'>S3CR3T-PGP</openpgp></message>",
  /* root in a foreign namespace */
  "<message xmlns='urn:example:other' id='f{n}' to='{to}'/>",
};

char *fh_stanza(unsigned kind, const char *account, unsigned serial) {
  const char *t = stanzas[kind % FH_N_STANZAS];
  GString *out = g_string_sized_new(512);
  while (*t) {
    if (g_str_has_prefix(t, "{to}")) {
      cn_xml_escape(out, account, strlen(account));
      t += 4;
    } else if (g_str_has_prefix(t, "{n}")) {
      g_string_append_printf(out, "%u", serial);
      t += 3;
    } else {
      g_string_append_c(out, *t++);
    }
  }
  return g_string_free(out, FALSE);
}
