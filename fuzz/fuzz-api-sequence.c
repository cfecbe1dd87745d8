/* Fuzz target: the input is a program of API calls on one context, with
 * up to FH_SLOTS sessions.  Each operation is one byte (modulo the
 * number of operations) followed by its operands; reads past the end give
 * zeros.  After every operation the host's invariants are checked
 * (fuzz-host.c): the timer the host was told about is the library's next
 * deadline, callbacks only see live sessions and never re-enter,
 * published stanzas are well-formed and leak no body, the internal
 * structures hold no dangling pointer.  The context is freed at the end
 * with whatever is still alive, so LeakSanitizer sees every path.
 *
 * The values come from small tables (accounts, push JIDs, nodes, forms,
 * stanzas of every kind) so that operations meet each other often: the
 * interesting bugs are in the interleavings, not in the parsing, which
 * the other targets cover. */
#include "fuzz-host.h"

#include <string.h>

#include "jid.h"
#include "admin.h"
#include "ctx.h"

#define MAX_OPS 512

static const char *const accounts[] = {
  "juliet@capulet.example", "romeo@montague.example", "Juliet@Capulet.Example",
  "nurse@capulet.example",  "capulet.example",
};
static const char *const resources[] = {
  "balcony", "phone", "Balcony", "tab/1", "", "\xc3\x28",
};
static const char *const push_jids[] = {
  "push.example.net",       "pubsub.app.example", "PUSH.Example.Net.",  "push.example.net/device",
  "juliet@capulet.example", "bad@@jid",           "push.other.example", NULL,
};
static const char *const nodes[] = {
  NULL, "", "node-1", "node-2", "yxs32uqsflafdk3iuqo",
};
static const char *const forms[] = {
  NULL,
  "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>"
  "http://jabber.org/protocol/pubsub#publish-options</value></field>"
  "<field var='secret'><value>S3CR3T-FORM</value></field></x>",
  "<x xmlns='jabber:x:data' type='submit' xml:lang='en'><field var='a'><value>1</value></field>"
  "<field var='b'><value>&lt;2&amp;&apos;</value></field><field var='c'/><field var='d'/>"
  "<field var='e'/><field var='f'/><field var='g'/><field var='h'/><field var='i'/></x>",
  "<x xmlns='jabber:x:data' type='form'/>",
  "<x xmlns='jabber:x:data'/>",
  "<x xmlns='jabber:x:data' type='submit'/><x xmlns='jabber:x:data' type='submit'/>",
  "<x xmlns='jabber:x:data' type='submit'><a><b><c><d><e><f><g/></f></e></d></c></b></a></x>",
};
static const char *const iqs[] = {
  "<iq type='get' id='g1'><enable xmlns='urn:xmpp:push:0' jid='push.example.net'/></iq>",
  "<iq type='set'><enable xmlns='urn:xmpp:push:0' jid='push.example.net'/></iq>",
  "<iq type='set' id='t1' to='someone@else.example'><enable xmlns='urn:xmpp:push:0' "
  "jid='push.example.net'/></iq>",
  "<iq type='set' id='t2' to='juliet@capulet.example'><enable xmlns='urn:xmpp:push:0' "
  "jid='push.example.net' node='to-own'/></iq>",
  "<iq type='set' id='u1'><frobnicate xmlns='urn:xmpp:push:0'/></iq>",
  "<iq type='set' id='two'><enable xmlns='urn:xmpp:push:0' jid='a.example'/>"
  "<disable xmlns='urn:xmpp:push:0' jid='a.example'/></iq>",
  "<iq type='result' id='r'><enable xmlns='urn:xmpp:push:0'/></iq>",
  "<iq type='set' id='q'><query xmlns='jabber:iq:roster'/></iq>",
  "<iq type='set' id='m'><enable xmlns='urn:xmpp:push:0'/></iq>",
  "<iq type='set' id='d'><disable xmlns='urn:xmpp:push:0' jid='push.example.net'/></iq>",
  "<iq xmlns='jabber:client' type='set' id='c'><enable xmlns='urn:xmpp:push:0' "
  "jid='pubsub.app.example' node=''/></iq>",
  "<message xmlns='jabber:client'/>",
  "<iq type='set' id='x'><enable xmlns='urn:xmpp:push:0' jid='push.example.net'>",
};

typedef struct {
  cloudnotify_option opt;
  int64_t lo, hi; /* range explored */
  int64_t limit;  /* first invalid value above the documented range */
} opt_range;

static const opt_range options[] = {
  { CLOUDNOTIFY_OPT_WITH_BODY, 0, 1, 2 },
  { CLOUDNOTIFY_OPT_WITH_SENDER, 0, 1, 2 },
  { CLOUDNOTIFY_OPT_MAX_ERRORS, 1, 5, 1000001 },
  { CLOUDNOTIFY_OPT_MAX_DEVICES, 1, 6, 1001 },
  { CLOUDNOTIFY_OPT_MAX_HIBERNATION_TIMEOUT, 0, 600, 31536001 },
  { CLOUDNOTIFY_OPT_MAX_ACK_DELAY, 1, 60, 86401 },
  { CLOUDNOTIFY_OPT_COALESCE_MS, 0, 3000, 60001 },
  { CLOUDNOTIFY_OPT_MAX_OUTSTANDING, 1, 12, 10000001 },
  { CLOUDNOTIFY_OPT_PUBLISH_TIMEOUT, 1, 400, 86401 },
  { CLOUDNOTIFY_OPT_MAX_CACHED_USERS, 1, 4, 10000001 },
  { CLOUDNOTIFY_OPT_MAX_STANZA_SIZE, 256, 4096, 16777217 },
  { CLOUDNOTIFY_OPT_MAX_XML_DEPTH, 4, 16, 257 },
  { CLOUDNOTIFY_OPT_MAX_FORM_SIZE, 64, 1024, 1048577 },
  { CLOUDNOTIFY_OPT_MAX_FORM_FIELDS, 1, 12, 10001 },
  { CLOUDNOTIFY_OPT_MAX_REMEMBERED_STANZAS, 0, 16, 10000001 },
  { CLOUDNOTIFY_OPT_MAX_SESSION_QUEUE, 1, 8, 100001 },
  { CLOUDNOTIFY_OPT_WAKE_BEFORE_EXPIRY, 0, 600, 86401 },
};

static const struct {
  const char *name, *value;
  cloudnotify_option opt;
  int64_t ival;
  int rc;
} named[] = {
  { "push_notification_with_body", "true", CLOUDNOTIFY_OPT_WITH_BODY, 1, 0 },
  { "push_notification_with_body", "0", CLOUDNOTIFY_OPT_WITH_BODY, 0, 0 },
  { "push_notification_with_sender", "TRUE", CLOUDNOTIFY_OPT_WITH_SENDER, 1, 0 },
  { "push_notification_important_body", "You have mail", CLOUDNOTIFY_OPT_IMPORTANT_BODY, 0, 0 },
  { "push_notification_important_body", "", CLOUDNOTIFY_OPT_IMPORTANT_BODY, 0, 0 },
  { "push_max_devices", "2", CLOUDNOTIFY_OPT_MAX_DEVICES, 2, 0 },
  { "push_max_devices", "0", CLOUDNOTIFY_OPT_MAX_DEVICES, 0, CLOUDNOTIFY_ERR_OPTION_VALUE },
  { "smacks_max_ack_delay", "2", CLOUDNOTIFY_OPT_MAX_ACK_DELAY, 2, 0 },
  { "push_max_hibernation_timeout", "120", CLOUDNOTIFY_OPT_MAX_HIBERNATION_TIMEOUT, 120, 0 },
  { "push_publish_timeout", "1x", CLOUDNOTIFY_OPT_PUBLISH_TIMEOUT, 0,
    CLOUDNOTIFY_ERR_OPTION_VALUE },
  { "push_no_such_option", "1", CLOUDNOTIFY_OPT_WITH_BODY, 0, CLOUDNOTIFY_ERR_UNKNOWN_OPTION },
};

typedef struct {
  fuzz_host h;
  fh_reader in;
  unsigned serial;
} state;

static const char *pick(fh_reader *r, const char *const *table, size_t n) {
  return table[fh_u8(r) % n];
}
#define PICK(r, t) pick((r), (t), G_N_ELEMENTS(t))

/* A live slot near the one asked for, or -1. */
static int live(state *st) {
  int want = fh_u8(&st->in) % FH_SLOTS;
  for (int i = 0; i < FH_SLOTS; i++) {
    int s = (want + i) % FH_SLOTS;
    if (st->h.slots[s].s)
      return s;
  }
  return -1;
}

static char *stanza(state *st, const char *account) {
  unsigned kind = fh_u8(&st->in);
  /* A repeated serial repeats the stanza: de-duplication gets exercised. */
  unsigned serial = fh_u8(&st->in) % 8 ? st->serial++ : 0;
  return fh_stanza(kind, account, serial);
}

static void mirror(fuzz_host *h, cloudnotify_option opt, int64_t v, const char *s) {
  switch (opt) {
  case CLOUDNOTIFY_OPT_WITH_BODY: h->with_body = v != 0; break;
  case CLOUDNOTIFY_OPT_WITH_SENDER: h->with_sender = v != 0; break;
  case CLOUDNOTIFY_OPT_MAX_HIBERNATION_TIMEOUT: h->max_hibernation_timeout = v; break;
  case CLOUDNOTIFY_OPT_IMPORTANT_BODY:
    g_free(h->important_body);
    h->important_body = *s ? g_strdup(s) : NULL;
    break;
  case CLOUDNOTIFY_OPT_MAX_FORM_SIZE:
  case CLOUDNOTIFY_OPT_MAX_FORM_FIELDS:
  case CLOUDNOTIFY_OPT_MAX_XML_DEPTH:
    /* Stored forms are validated again on load with the new bounds: a
     * record refused then is the intended behaviour. */
    h->store_strict = FALSE;
    break;
  default: break;
  }
}

static void op_session_new(state *st) {
  int slot = fh_u8(&st->in) % FH_SLOTS;
  const char *account = PICK(&st->in, accounts);
  const char *resource = PICK(&st->in, resources);
  if (st->h.slots[slot].s)
    fh_session_free(&st->h, slot);
  fh_session_new(&st->h, slot, account, resource);
}

static void op_enable(state *st, int slot) {
  const char *jid = PICK(&st->in, push_jids);
  const char *node = PICK(&st->in, nodes);
  const char *form = PICK(&st->in, forms);
  fh_enable(&st->h, slot, jid, node, form);
}

static void op_disable(state *st, int slot) {
  const char *jid = PICK(&st->in, push_jids);
  const char *node = PICK(&st->in, nodes);
  fh_disable(&st->h, slot, jid, node);
}

static size_t queue_of(state *st, int slot, cloudnotify_buf *q, char **keep) {
  size_t n = fh_u8(&st->in) % 4;
  for (size_t i = 0; i < n; i++) {
    keep[i] = stanza(st, st->h.slots[slot].account);
    q[i].data = keep[i];
    q[i].len = strlen(keep[i]);
  }
  return n;
}

static void op_hibernated(state *st, int slot, gboolean delayed) {
  cloudnotify_buf q[3];
  char *keep[3] = { NULL, NULL, NULL };
  size_t n = queue_of(st, slot, q, keep);
  fuzz_host *h = &st->h;
  unsigned before = h->app_accepted;
  if (delayed) {
    unsigned sends = h->client_sends;
    FH_CHECK(cloudnotify_session_ack_delayed(h->slots[slot].s, q, n) == 0);
    FH_CHECK(h->client_sends == sends);
    fh_check(h);
  } else {
    fh_hibernated(h, slot, q, n);
  }
  /* One important and one unimportant push at most per event. */
  FH_CHECK(h->app_accepted - before <= 2);
  for (size_t i = 0; i < n; i++)
    g_free(keep[i]);
}

static void op_acked(state *st, int slot) {
  fh_slot *s = &st->h.slots[slot];
  uint8_t mode = fh_u8(&st->in);
  uint32_t count;
  switch (mode % 4) {
  case 0: count = s->sent; break;
  case 1: count = s->sent - (mode >> 2) % 4; break;
  case 2: count = fh_u32(&st->in); break;
  default: count = s->acked; break;
  }
  fh_acked(&st->h, slot, count);
}

static void op_trigger(state *st, enum fh_trigger_kind kind) {
  const char *account = PICK(&st->in, accounts);
  static const char *const archive_ids[] = { NULL, "", "arch-1", "arch-2" };
  const char *archive_id = PICK(&st->in, archive_ids);
  char *xml = stanza(st, account);
  unsigned pushes = 0;
  fh_trigger(&st->h, kind, account, xml, strlen(xml), archive_id, &pushes);
  FH_CHECK(pushes <= 6);
  g_free(xml);
}

static void op_ping(state *st) {
  fuzz_host *h = &st->h;
  const char *account = PICK(&st->in, accounts);
  cloudnotify_endpoint ep[2];
  size_t n = fh_u8(&st->in) % 3;
  for (size_t i = 0; i < n; i++) {
    ep[i].jid = PICK(&st->in, push_jids);
    ep[i].node = PICK(&st->in, nodes);
  }
  unsigned before = h->app_accepted, pushes = 99;
  int rc = cloudnotify_ping(h->ctx, account, n ? ep : NULL, n, &pushes);
  FH_CHECK(rc == 0 || rc == CLOUDNOTIFY_ERR_JID_MALFORMED || rc == CLOUDNOTIFY_ERR_STORE);
  FH_CHECK(pushes == h->app_accepted - before);
  FH_CHECK(rc == 0 || pushes == 0);
  fh_check(h);
}

static void op_app_reply(state *st) {
  fuzz_host *h = &st->h;
  uint16_t which = fh_u16(&st->in);
  uint8_t kind = fh_u8(&st->in) % 8;
  if (h->publishes->len == 0)
    return;
  const fh_publish *p = h->publishes->pdata[which % h->publishes->len];
  const char *from = kind == 4 || kind == 5 ? "evil.example" : p->to;
  char *upper = g_ascii_strup(from, -1);
  char *x;
  switch (kind) {
  case 0:
  case 4: x = g_strdup_printf("<iq type='result' id='%s' from='%s'/>", p->id, from); break;
  case 6: x = g_strdup_printf("<iq type='error' id='%s' from='%s'/>", p->id, from); break;
  case 7:
    x = g_strdup_printf("<iq type='result' id='%s' from='%s' to='capulet.example'/>", p->id, upper);
    break;
  default: {
    static const char *const types[] = { "cancel", "cancel", "wait", "auth", "cancel", "modify" };
    x = g_strdup_printf("<iq type='error' id='%s' from='%s'><error type='%s'><item-not-found "
                        "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
                        p->id, from, types[kind]);
    break;
  }
  }
  fh_app_reply(h, x, strlen(x));
  g_free(x);
  g_free(upper);
}

static void op_advance(state *st) {
  uint8_t mode = fh_u8(&st->in);
  uint16_t v = fh_u16(&st->in);
  int64_t ms;
  switch (mode % 5) {
  case 0: ms = v % 2000; break;
  case 1: ms = (int64_t)v * 100; break;
  case 2: ms = ((int64_t)v % 600 + 1) * 60 * 1000; break;
  case 3:
    /* Wall clocks step back (NTP); the library must cope. */
    ms = -(int64_t)(v % 10000);
    break;
  default: ms = 1000; break;
  }
  fh_advance(&st->h, ms);
}

static void op_option(state *st) {
  fuzz_host *h = &st->h;
  uint8_t which = fh_u8(&st->in);
  uint16_t v = fh_u16(&st->in);
  const opt_range *o = &options[which % G_N_ELEMENTS(options)];
  if (which >= 240) {
    /* Out of range and unknown: refused, nothing changes. */
    FH_CHECK(fh_set_int(h, o->opt, o->limit) == CLOUDNOTIFY_ERR_OPTION_VALUE);
    FH_CHECK(fh_set_int(h, o->opt, o->lo - 1) == CLOUDNOTIFY_ERR_OPTION_VALUE);
    FH_CHECK(fh_set_int(h, (cloudnotify_option)99, 1) == CLOUDNOTIFY_ERR_UNKNOWN_OPTION);
    FH_CHECK(fh_set_int(h, CLOUDNOTIFY_OPT_IMPORTANT_BODY, 1) == CLOUDNOTIFY_ERR_OPTION_VALUE);
    FH_CHECK(fh_set_string(h, o->opt, "1") == CLOUDNOTIFY_ERR_OPTION_VALUE);
    FH_CHECK(fh_set_string(h, CLOUDNOTIFY_OPT_IMPORTANT_BODY, "\xff") ==
             CLOUDNOTIFY_ERR_OPTION_VALUE);
    return;
  }
  int64_t value = o->lo + v % (o->hi - o->lo + 1);
  FH_CHECK(fh_set_int(h, o->opt, value) == 0);
  mirror(h, o->opt, value, NULL);
}

static void op_named_option(state *st) {
  fuzz_host *h = &st->h;
  size_t i = fh_u8(&st->in) % G_N_ELEMENTS(named);
  int rc = cloudnotify_ctx_set_option(h->ctx, named[i].name, named[i].value);
  FH_CHECK(rc == named[i].rc);
  if (rc == 0)
    mirror(h, named[i].opt, named[i].ival, named[i].value);
  fh_check(h);
}

static void op_host(state *st) {
  fuzz_host *h = &st->h;
  switch (fh_u8(&st->in) % 8) {
  case 0: h->send_fail = !h->send_fail; break;
  case 1: h->client_fail = !h->client_fail; break;
  case 2: h->veto = (h->veto + 1) % 4; break;
  case 3: h->push_filter = (h->push_filter + 1) % 4; break;
  case 4: h->store_fail_save = !h->store_fail_save; break;
  case 5:
    h->store_fail_remove = !h->store_fail_remove;
    /* A refused removal can leave the store one registration ahead of
     * memory until the next load (documented). */
    if (h->store_fail_remove)
      h->store_exact = FALSE;
    break;
  case 6: h->store_fail_load = !h->store_fail_load; break;
  default:
    h->send_fail = h->client_fail = FALSE;
    h->veto = h->push_filter = 0;
    h->store_fail_save = h->store_fail_remove = h->store_fail_load = FALSE;
    break;
  }
}

/* Every record listed is one the library would accept from a store. */
static int check_listed(void *ud, const char *account, const cloudnotify_record *r) {
  unsigned *n = ud;
  char *norm = cn_jid_normalize(r->jid);
  FH_CHECK(norm && strcmp(norm, r->jid) == 0);
  g_free(norm);
  FH_CHECK(r->node == NULL || *r->node);
  FH_CHECK((r->publish_options == NULL) == (r->publish_options_len == 0));
  FH_CHECK(r->client_id == NULL || cn_client_id_check(r->client_id) == 0);
  (*n)++;
  return 0;
}

/* Listing, removing every registration of, or forgetting an account. */
static void op_admin(state *st) {
  fuzz_host *h = &st->h;
  uint8_t which = fh_u8(&st->in) % 3;
  const char *account = PICK(&st->in, accounts);
  int rc;
  if (which == 0) {
    unsigned n = 0;
    rc = cloudnotify_account_registrations(h->ctx, account, check_listed, &n);
    FH_CHECK(rc == CLOUDNOTIFY_ERR_JID_MALFORMED || rc == CLOUDNOTIFY_ERR_STORE ||
             (rc >= 0 && (unsigned)rc == n));
  } else if (which == 1) {
    unsigned removed = 12345;
    rc = cloudnotify_account_remove_all(h->ctx, account, &removed);
    FH_CHECK(rc == 0 || rc == CLOUDNOTIFY_ERR_JID_MALFORMED || rc == CLOUDNOTIFY_ERR_STORE);
    FH_CHECK(rc == 0 ? removed != 12345 : removed <= 1000);
    if (rc == 0)
      FH_CHECK(cloudnotify_account_has_push(h->ctx, account) == 0);
  } else {
    rc = cloudnotify_account_forget(h->ctx, account);
    FH_CHECK(rc == 0 || rc == CLOUDNOTIFY_ERR_JID_MALFORMED || rc == CLOUDNOTIFY_ERR_STORE);
  }
  fh_check(h);
}

static void step(state *st) {
  fuzz_host *h = &st->h;
  /* Operations are only ever appended: a byte below an older count keeps
   * its meaning, so the crafted seeds keep theirs. */
  uint8_t op = fh_u8(&st->in) % 27;
  int slot;
  switch (op) {
  case 0: op_session_new(st); return;
  case 1:
    if ((slot = live(st)) >= 0)
      fh_session_free(h, slot);
    return;
  case 11: op_trigger(st, FH_OFFLINE); return;
  case 12: op_trigger(st, FH_ARCHIVED); return;
  case 13: op_trigger(st, FH_GROUPCHAT); return;
  case 14: op_ping(st); return;
  case 15: op_app_reply(st); return;
  case 16: op_advance(st); return;
  case 17: fh_tick(h); return;
  case 18: op_option(st); return;
  case 19: {
    static const char *const bodies[] = { "New Message!", "", "Ping", "\xe2\x9c\x89" };
    const char *b = PICK(&st->in, bodies);
    FH_CHECK(fh_set_string(h, CLOUDNOTIFY_OPT_IMPORTANT_BODY, b) == 0);
    return;
  }
  case 20: op_named_option(st); return;
  case 21: {
    int rc = cloudnotify_account_has_push(h->ctx, PICK(&st->in, accounts));
    FH_CHECK(rc == 0 || rc == 1 || rc == CLOUDNOTIFY_ERR_JID_MALFORMED ||
             rc == CLOUDNOTIFY_ERR_STORE);
    fh_check(h);
    return;
  }
  case 22: op_host(st); return;
  case 26: op_admin(st); return;
  case 23:
    if (fh_u8(&st->in) % 4 == 3) {
      /* Back to the built-in store: empty, and none of the host's
       * failure switches apply to it. */
      unsigned live_sessions = g_list_length(h->ctx->sessions);
      fh_note_store_swap(h);
      int rc = cloudnotify_ctx_set_store(h->ctx, NULL, NULL);
      FH_CHECK(rc == (live_sessions ? CLOUDNOTIFY_ERR_STATE : 0));
      if (rc)
        h->store_forgot = h->store_forgot_before;
      if (rc == 0)
        h->store_exact = FALSE;
      fh_check(h);
    } else if (fh_restart(h) == 0) {
      /* Reloading trims what a refused removal left behind. */
      h->store_exact = !h->store_fail_remove;
    }
    return;
  default: break;
  }

  /* Session operations: on a live session, if there is one. */
  if ((slot = live(st)) < 0)
    return;
  switch (op) {
  case 2: op_enable(st, slot); break;
  case 3: op_disable(st, slot); break;
  case 4:
    FH_CHECK(cloudnotify_session_sm_enabled(h->slots[slot].s) == 0);
    fh_check(h);
    break;
  case 5: op_hibernated(st, slot, FALSE); break;
  case 6: {
    char *xml = stanza(st, h->slots[slot].account);
    fh_queued(h, slot, xml, strlen(xml));
    g_free(xml);
    break;
  }
  case 7: {
    unsigned sends = h->app_sends;
    FH_CHECK(cloudnotify_session_ack_requested(h->slots[slot].s) == 0);
    FH_CHECK(h->app_sends == sends);
    fh_check(h);
    break;
  }
  case 8: op_acked(st, slot); break;
  case 9: op_hibernated(st, slot, TRUE); break;
  case 10: fh_resumed(h, slot); break;
  default: {
    const char *iq = PICK(&st->in, iqs);
    fh_client_iq(h, slot, iq, strlen(iq));
    break;
  }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  state st = { .in = { data, size } };
  fh_init(&st.h);
  st.h.store_strict = TRUE;
  st.h.store_exact = TRUE;
  st.h.secret = "S3CR3T";
  for (unsigned i = 0; i < MAX_OPS && st.in.n > 0; i++)
    step(&st);
  fh_fini(&st.h);
  return 0;
}
