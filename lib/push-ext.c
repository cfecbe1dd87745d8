/* Tigase's push extensions: parsed from <enable/>, kept after the form in
 * the stored text, applied when a push is decided and built.  The wire
 * forms were checked against tigase-server's
 * src/main/java/tigase/xmpp/impl/push/ (MutedFilter, GroupchatFilter,
 * IgnoreFromUnknownFilter, PriorityExtension, JinglePushNotificationsExtension,
 * EncryptedPushNotificationExtension) and Tigase's client library. */
#include "push-ext.h"

#include <stdlib.h>
#include <string.h>

#include "calls.h"
#include "counters.h"
#include "ctx.h"
#include "emit.h"
#include "jid.h"
#include "push-encrypt.h"
#include "push.h"
#include "registry.h"
#include "rules.h"
#include "xml.h"

#define NS_ENCRYPT   "tigase:push:encrypt:0"
#define NS_PRIORITY  "tigase:push:priority:0"
#define NS_JINGLE    "tigase:push:jingle:0"
#define NS_MUTED     "tigase:push:filter:muted:0"
#define NS_GROUPCHAT "tigase:push:filter:groupchat:0"
#define NS_UNKNOWN   "tigase:push:filter:ignore-unknown:0"
#define NS_MUC_OFF   "http://tigase.org/protocol/muc#offline"
#define NS_DATA      "jabber:x:data"
#define NS_REFERENCE "urn:xmpp:reference:0"
#define ALG          "aes-128-gcm"

static const char *const allow_names[] = { "always", "mentioned", "never" };

static void room_free(gpointer p) {
  cn_push_room *r = p;
  g_free(r->jid);
  g_free(r->nick);
  g_free(r);
}

void cn_push_ext_free(cn_push_ext *e) {
  if (!e)
    return;
  if (e->muted)
    g_ptr_array_free(e->muted, TRUE);
  if (e->groupchat)
    g_ptr_array_free(e->groupchat, TRUE);
  memset(e->key, 0, sizeof e->key);
  g_free(e);
}

/* ---- parsing ----------------------------------------------------------- */

typedef enum {
  KIND_NONE,
  KIND_ENCRYPT,
  KIND_PRIORITY,
  KIND_JINGLE,
  KIND_MUTED,
  KIND_GROUPCHAT,
  KIND_UNKNOWN
} ext_kind;

static ext_kind kind_of(const xmlNode *c) {
  static const struct {
    const char *name, *ns;
  } kinds[] = {
    { NULL, NULL },
    { "encrypt", NS_ENCRYPT },
    { "priority", NS_PRIORITY },
    { "jingle", NS_JINGLE },
    { "muted", NS_MUTED },
    { "groupchat", NS_GROUPCHAT },
    { "ignore-unknown", NS_UNKNOWN },
  };
  if (c->type != XML_ELEMENT_NODE)
    return KIND_NONE;
  const char *ns = cn_xml_ns(c);
  for (size_t k = 1; k < G_N_ELEMENTS(kinds); k++)
    if (!g_strcmp0(ns, kinds[k].ns) && !strcmp((const char *)c->name, kinds[k].name))
      return (ext_kind)k;
  return KIND_NONE;
}

static int fail(cn_push_ext_error *err, const char *type, const char *condition, const char *text) {
  err->type = type;
  err->condition = condition;
  err->text = text;
  return -1;
}

#define BAD(text)      fail(err, "modify", "bad-request", text)
#define TOO_MANY(text) fail(err, "modify", "not-acceptable", text)
#define NOT_IMPL(text) fail(err, "cancel", "feature-not-implemented", text)

/* Strict: 22 base64 characters and "==" (white space around allowed),
 * which is the one way standard base64 writes 16 bytes. */
static gboolean key_decode(const char *text, uint8_t key[16]) {
  while (g_ascii_isspace(*text))
    text++;
  size_t n = strlen(text);
  while (n && g_ascii_isspace(text[n - 1]))
    n--;
  if (n != 24 || text[22] != '=' || text[23] != '=')
    return FALSE;
  for (size_t i = 0; i < 22; i++)
    if (!g_ascii_isalnum(text[i]) && text[i] != '+' && text[i] != '/')
      return FALSE;
  char buf[25];
  memcpy(buf, text, 24);
  buf[24] = '\0';
  gsize len = 0;
  guchar *raw = g_base64_decode(buf, &len);
  gboolean ok = len == 16;
  if (ok)
    memcpy(key, raw, 16);
  if (raw) {
    memset(raw, 0, len);
    g_free(raw);
  }
  return ok;
}

static int parse_encrypt(const xmlNode *c, cn_push_ext *e, cn_push_ext_error *err) {
  const char *alg = cn_xml_attr(c, "alg");
  if (!alg)
    return BAD("Missing alg");
  if (g_ascii_strcasecmp(alg, ALG))
    return NOT_IMPL("Unsupported alg");
  const char *ms = cn_xml_attr(c, "max-size");
  e->max_size = CN_PUSH_EXT_MAX_SIZE_DEF;
  if (ms) {
    guint64 v;
    if (!g_ascii_string_to_unsigned(ms, 10, CN_PUSH_EXT_MAX_SIZE_MIN, CN_PUSH_EXT_MAX_SIZE_MAX, &v,
                                    NULL))
      return BAD("Invalid max-size");
    e->max_size = (size_t)v;
  }
  char *text = cn_xml_text(c);
  gboolean ok = key_decode(text, e->key);
  memset(text, 0, strlen(text));
  g_free(text);
  if (!ok)
    return BAD("Key must be base64 of 16 bytes");
  e->encrypt = TRUE;
  return 0;
}

static gboolean str_listed(const GPtrArray *a, const char *s) {
  for (guint i = 0; a && i < a->len; i++)
    if (!strcmp(a->pdata[i], s))
      return TRUE;
  return FALSE;
}

static const cn_push_room *room_find(const GPtrArray *rooms, const char *jid) {
  for (guint i = 0; rooms && i < rooms->len; i++) {
    const cn_push_room *r = rooms->pdata[i];
    if (!strcmp(r->jid, jid))
      return r;
  }
  return NULL;
}

static char *child_jid(const xmlNode *c) {
  const char *jid = cn_xml_attr(c, "jid");
  return jid ? cn_jid_normalize_bare(jid) : NULL;
}

static int parse_muted(const xmlNode *m, cn_push_ext *e, cn_push_ext_error *err) {
  e->muted = g_ptr_array_new_with_free_func(g_free);
  for (const xmlNode *c = m->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE)
      continue;
    if (strcmp((const char *)c->name, "item") || g_strcmp0(cn_xml_ns(c), NS_MUTED))
      return BAD("Unexpected element in muted");
    char *jid = child_jid(c);
    if (!jid)
      return BAD("Invalid muted item");
    if (str_listed(e->muted, jid)) {
      g_free(jid);
      continue;
    }
    if (e->muted->len >= CN_PUSH_EXT_MAX_ITEMS) {
      g_free(jid);
      return TOO_MANY("Too many muted items");
    }
    g_ptr_array_add(e->muted, jid);
  }
  return 0;
}

static int parse_groupchat(const xmlNode *g, cn_push_ext *e, cn_push_ext_error *err) {
  e->groupchat = g_ptr_array_new_with_free_func(room_free);
  for (const xmlNode *c = g->children; c; c = c->next) {
    if (c->type != XML_ELEMENT_NODE)
      continue;
    if (strcmp((const char *)c->name, "room") || g_strcmp0(cn_xml_ns(c), NS_GROUPCHAT))
      return BAD("Unexpected element in groupchat");
    char *jid = child_jid(c);
    if (!jid)
      return BAD("Invalid room");
    const char *allow = cn_xml_attr(c, "allow");
    const char *nick = cn_xml_attr(c, "nick");
    size_t a = 0;
    while (allow && a < G_N_ELEMENTS(allow_names) && strcmp(allow, allow_names[a]))
      a++;
    const char *bad = NULL;
    if (!allow || a == G_N_ELEMENTS(allow_names))
      bad = "Invalid room allow";
    else if (nick && (!*nick || strlen(nick) > CN_PUSH_EXT_MAX_NICK || !cn_text_is_xml_safe(nick)))
      bad = "Invalid room nick";
    else if (a == CN_ROOM_MENTIONED && !nick)
      bad = "A mentioned room needs a nick";
    if (bad) {
      g_free(jid);
      return BAD(bad);
    }
    /* The first rule for a room wins, as in Tigase's walk of the list. */
    if (room_find(e->groupchat, jid)) {
      g_free(jid);
      continue;
    }
    if (e->groupchat->len >= CN_PUSH_EXT_MAX_ROOMS) {
      g_free(jid);
      return TOO_MANY("Too many rooms");
    }
    cn_push_room *r = g_new0(cn_push_room, 1);
    r->jid = jid;
    r->allow = (cn_room_allow)a;
    r->nick = g_strdup(nick);
    g_ptr_array_add(e->groupchat, r);
  }
  return 0;
}

/* stored: the record of a registration accepted earlier; whether this
 * context may apply it is decided when pushing. */
static int parse_children(const cloudnotify_ctx *ctx, const xmlNode *first, gboolean stored,
                          cn_push_ext **out, cn_push_ext_error *err) {
  cn_push_ext *e = NULL;
  guint seen = 0;
  int rc = 0;
  *out = NULL;
  for (const xmlNode *c = first; c && !rc; c = c->next) {
    ext_kind k = kind_of(c);
    if (k == KIND_NONE)
      continue;
    if (!stored && !ctx->opt.tigase_extensions) {
      rc = NOT_IMPL("Push extensions are disabled");
      break;
    }
    if (seen & (1u << k)) {
      rc = BAD("Extension given twice");
      break;
    }
    seen |= 1u << k;
    if (!e)
      e = g_new0(cn_push_ext, 1);
    switch (k) {
    case KIND_ENCRYPT:
      rc = parse_encrypt(c, e, err);
      if (!rc && !stored && !cn_push_encrypt_available())
        rc = NOT_IMPL("Encryption is not available");
      break;
    case KIND_PRIORITY: e->priority = TRUE; break;
    case KIND_JINGLE: e->jingle = TRUE; break;
    case KIND_MUTED: rc = parse_muted(c, e, err); break;
    case KIND_GROUPCHAT: rc = parse_groupchat(c, e, err); break;
    case KIND_UNKNOWN:
      e->ignore_unknown = TRUE;
      if (!stored && !ctx->cb.sender_known)
        rc = NOT_IMPL("Unknown senders cannot be told");
      break;
    case KIND_NONE: break;
    }
  }
  if (!rc && e) {
    GString *s = g_string_new(NULL);
    cn_push_ext_serialize(e, s);
    if (s->len > CN_PUSH_EXT_MAX_TEXT)
      rc = TOO_MANY("Push extensions too large");
    g_string_free(s, TRUE);
  }
  if (rc) {
    cn_push_ext_free(e);
    return rc;
  }
  *out = e;
  return 0;
}

int cn_push_ext_from_enable(const cloudnotify_ctx *ctx, const xmlNode *enable, cn_push_ext **out,
                            cn_push_ext_error *err) {
  return parse_children(ctx, enable->children, FALSE, out, err);
}

/* ---- the stored text --------------------------------------------------- */

static void serialize_el(GString *out, cn_el *el) {
  cn_el_serialize(out, el);
  cn_el_free(el);
}

void cn_push_ext_serialize(const cn_push_ext *e, GString *out) {
  if (e->encrypt) {
    cn_el *el = cn_el_new("encrypt", NS_ENCRYPT);
    char size[24];
    g_snprintf(size, sizeof size, "%zu", e->max_size);
    cn_el_attr(el, "alg", ALG);
    cn_el_attr(el, "max-size", size);
    char *key = g_base64_encode(e->key, sizeof e->key);
    cn_el_text(el, key);
    memset(key, 0, strlen(key));
    g_free(key);
    serialize_el(out, el);
  }
  if (e->priority)
    serialize_el(out, cn_el_new("priority", NS_PRIORITY));
  if (e->jingle)
    serialize_el(out, cn_el_new("jingle", NS_JINGLE));
  if (e->muted) {
    cn_el *el = cn_el_new("muted", NS_MUTED);
    for (guint i = 0; i < e->muted->len; i++)
      cn_el_attr(cn_el_add(el, "item", NULL), "jid", e->muted->pdata[i]);
    serialize_el(out, el);
  }
  if (e->groupchat) {
    cn_el *el = cn_el_new("groupchat", NS_GROUPCHAT);
    for (guint i = 0; i < e->groupchat->len; i++) {
      const cn_push_room *r = e->groupchat->pdata[i];
      cn_el *room = cn_el_add(el, "room", NULL);
      cn_el_attr(room, "jid", r->jid);
      cn_el_attr(room, "allow", allow_names[r->allow]);
      cn_el_attr(room, "nick", r->nick);
    }
    serialize_el(out, el);
  }
  if (e->ignore_unknown)
    serialize_el(out, cn_el_new("ignore-unknown", NS_UNKNOWN));
}

int cn_push_ext_from_stored(const cloudnotify_ctx *ctx, const char *text, size_t len, GString *form,
                            cn_push_ext **out) {
  *out = NULL;
  size_t max = (size_t)ctx->opt.max_form_size + CN_PUSH_EXT_MAX_TEXT;
  if (len > max)
    return CLOUDNOTIFY_ERR_TOO_LARGE;
  /* One wrapper makes the sequence one element for the hardened parser;
   * an XML declaration inside it is refused (only a lone form, read
   * before this, may start with one). */
  GString *w = g_string_sized_new(len + 8);
  g_string_append(w, "<r>");
  g_string_append_len(w, text, (gssize)len);
  g_string_append(w, "</r>");
  xmlDoc *doc = NULL;
  int rc = cn_xml_parse_element(ctx->parser, w->str, w->len, max + 7,
                                (int)ctx->opt.max_xml_depth + 1, &doc);
  g_string_free(w, TRUE);
  if (rc)
    return rc;
  const xmlNode *root = xmlDocGetRootElement(doc);
  const xmlNode *c = root->children;
  for (const xmlNode *n = c; n && !rc; n = n->next)
    if (n->type != XML_ELEMENT_NODE)
      rc = CLOUDNOTIFY_ERR_XML;
  if (!rc && c && !strcmp((const char *)c->name, "x") && !g_strcmp0(cn_xml_ns(c), NS_DATA)) {
    GString *canon = g_string_new(NULL);
    cn_xml_serialize(canon, c);
    if (cn_xml_count_children(c, "field", NS_DATA) > (unsigned)ctx->opt.max_form_fields ||
        canon->len > (size_t)ctx->opt.max_form_size)
      rc = CLOUDNOTIFY_ERR_TOO_LARGE;
    else
      g_string_append_len(form, canon->str, (gssize)canon->len);
    g_string_free(canon, TRUE);
    c = c->next;
  }
  /* Every element after the form is an extension, each once. */
  for (const xmlNode *n = c; n && !rc; n = n->next)
    if (kind_of(n) == KIND_NONE)
      rc = CLOUDNOTIFY_ERR_XML;
  cn_push_ext_error err;
  if (!rc && parse_children(ctx, c, TRUE, out, &err))
    rc = !strcmp(err.condition, "not-acceptable") ? CLOUDNOTIFY_ERR_TOO_LARGE : CLOUDNOTIFY_ERR_XML;
  if (!rc && !*out)
    rc = CLOUDNOTIFY_ERR_XML; /* a form alone was read before */
  xmlFreeDoc(doc);
  return rc;
}

/* ---- facts of a stanza ------------------------------------------------- */

/* cn_summary.facts: entries "TAG" + value, only those present: 'b' the
 * body (when the summary may not keep it), '@' the JID of a mention
 * reference.  Who sent it is read from cn_summary.sender, and the call
 * from calls.h, when a registration needs them. */
#define TAG_BODY    'b'
#define TAG_MENTION '@'

/* The n-th value tagged tag, or NULL. */
static const char *fact(const cn_summary *sum, char tag, int n) {
  for (char **f = sum ? sum->facts : NULL; f && *f; f++)
    if (**f == tag && n-- == 0)
      return *f + 1;
  return NULL;
}

static void fact_add(GPtrArray *facts, char tag, const char *value) {
  char t[2] = { tag, '\0' };
  g_ptr_array_add(facts, g_strconcat(t, value, NULL));
}

/* The message a carbon carries, as cn_rules_classify takes it. */
static const xmlNode *effective(const xmlNode *root) {
  const xmlNode *rcv = cn_xml_child(root, "received", "urn:xmpp:carbons:2");
  const xmlNode *fwd = rcv ? cn_xml_child(rcv, "forwarded", "urn:xmpp:forward:0") : NULL;
  const xmlNode *inner = fwd ? cn_xml_child(fwd, "message", NULL) : NULL;
  return inner ? inner : root;
}

static void take_mentions(const xmlNode *m, GPtrArray *facts) {
  int n = 0;
  for (const xmlNode *c = m->children; c && n < CN_PUSH_EXT_MAX_MENTIONS; c = c->next) {
    if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "reference") ||
        g_strcmp0(cn_xml_ns(c), NS_REFERENCE) || g_strcmp0(cn_xml_attr(c, "type"), "mention"))
      continue;
    const char *uri = cn_xml_attr(c, "uri");
    if (!uri || strncmp(uri, "xmpp:", 5) || strlen(uri) > CN_JID_MAX_TOTAL * 3)
      continue;
    /* RFC 5122: the JID ends at the query; it may be percent-encoded. */
    char *path = g_strndup(uri + 5, strcspn(uri + 5, "?#"));
    char *raw = g_uri_unescape_string(path, NULL);
    char *jid = raw ? cn_jid_normalize(raw) : NULL;
    g_free(path);
    g_free(raw);
    if (jid) {
      fact_add(facts, TAG_MENTION, jid);
      n++;
    }
    g_free(jid);
  }
}

void cn_push_facts_take(const cloudnotify_ctx *ctx, const xmlNode *root, cn_summary *sum) {
  if (!ctx->opt.tigase_extensions || !sum->is_message || sum->skip || !root)
    return;
  const xmlNode *m = effective(root);
  GPtrArray *facts = g_ptr_array_new();
  take_mentions(m, facts);
  /* The body stays inside: mentions and the payload only the device can
   * decrypt read it; with with_body off it is never written in clear. */
  if (!ctx->opt.with_body && sum->body) {
    fact_add(facts, TAG_BODY, sum->body);
    g_clear_pointer(&sum->body, g_free);
  }
  if (!facts->len) {
    g_ptr_array_free(facts, TRUE);
    return;
  }
  g_ptr_array_add(facts, NULL);
  sum->facts = (char **)g_ptr_array_free(facts, FALSE);
}

/* ---- deciding ---------------------------------------------------------- */

/* Who sent the stanza (the effective one: a carbon's inner message), as
 * a parsed JID; FALSE when it names nobody valid. */
static gboolean sender_of(const cn_summary *sum, cn_jid *j) {
  memset(j, 0, sizeof *j);
  return sum && sum->sender && !cn_jid_parse(sum->sender, strlen(sum->sender), j);
}

static const cn_push_ext *active_ext(const cloudnotify_ctx *ctx, const cn_reg *r) {
  return ctx->opt.tigase_extensions ? r->ext : NULL;
}

static gboolean is_groupchat(const cn_summary *sum) {
  return sum && sum->type && !strcmp(sum->type, "groupchat");
}

static const char *body_of(const cn_summary *sum) {
  return sum->body ? sum->body : fact(sum, TAG_BODY, 0);
}

/* The call the push is for (its propose's id), NULL when it is none. */
static const char *call_sid(const cn_summary *sum) {
  return cn_call_id(sum);
}

static gboolean word_char(gunichar c) {
  return g_unichar_isalnum(c) || c == '_';
}

/* The nick appears in the body as a word: compared after NFC and case
 * folding, and neither preceded nor followed by a letter, digit or '_'
 * ("@anna:" and "anna," mention anna, "joanna" and "anna2" do not). */
static gboolean nick_in_body(const char *body, const char *nick) {
  char *nb = g_utf8_normalize(body, -1, G_NORMALIZE_DEFAULT_COMPOSE);
  char *nn = g_utf8_normalize(nick, -1, G_NORMALIZE_DEFAULT_COMPOSE);
  char *fb = nb ? g_utf8_casefold(nb, -1) : NULL;
  char *fn = nn ? g_utf8_casefold(nn, -1) : NULL;
  gboolean found = FALSE;
  size_t ln = fn ? strlen(fn) : 0;
  for (const char *at = fb && ln ? strstr(fb, fn) : NULL; at && !found; at = strstr(at + 1, fn)) {
    gboolean before_ok = at == fb || !word_char(g_utf8_get_char(g_utf8_prev_char(at)));
    gboolean after_ok = !at[ln] || !word_char(g_utf8_get_char(at + ln));
    found = before_ok && after_ok;
  }
  g_free(nb);
  g_free(nn);
  g_free(fb);
  g_free(fn);
  return found;
}

static gboolean mentioned(const cn_reg *r, const cn_push_room *room, const cn_summary *sum) {
  char *occupant = room->nick ? g_strconcat(room->jid, "/", room->nick, NULL) : NULL;
  char *norm = occupant ? cn_jid_normalize(occupant) : NULL;
  gboolean hit = FALSE;
  const char *jid;
  for (int i = 0; (jid = fact(sum, TAG_MENTION, i)) && !hit; i++) {
    hit = !strcmp(jid, r->user->account) || (norm && !strcmp(jid, norm));
  }
  g_free(occupant);
  g_free(norm);
  const char *body = body_of(sum);
  return hit || (room->nick && body && nick_in_body(body, room->nick));
}

static gboolean room_allows(const cn_reg *r, const cn_push_ext *e, const cn_summary *sum,
                            const char *sender) {
  const cn_push_room *room = sender ? room_find(e->groupchat, sender) : NULL;
  if (!room || room->allow == CN_ROOM_NEVER)
    return FALSE;
  return room->allow == CN_ROOM_ALWAYS || mentioned(r, room, sum);
}

static gboolean sender_unknown(cloudnotify_ctx *ctx, const cn_reg *r, const char *sender) {
  if (!ctx->cb.sender_known || !sender)
    return FALSE;
  ctx->in_callback++;
  int known = ctx->cb.sender_known(ctx->user_data, r->user->account, sender);
  ctx->in_callback--;
  return known == 0;
}

gboolean cn_push_ext_suppressed(cloudnotify_ctx *ctx, const cn_reg *r, const cn_summary *sum) {
  const cn_push_ext *e = active_ext(ctx, r);
  if (!e || !sum || !sum->is_message)
    return FALSE;
  cn_jid j;
  const char *sender = sender_of(sum, &j) ? j.bare : NULL;
  gboolean groupchat = is_groupchat(sum);
  const char *rule = NULL;
  if (e->muted && sender && str_listed(e->muted, sender))
    rule = "muted";
  else if (groupchat && e->groupchat && !room_allows(r, e, sum, sender))
    rule = "groupchat";
  else if (e->ignore_unknown && !groupchat && sender_unknown(ctx, r, sender))
    rule = "ignore-unknown";
  cn_jid_clear(&j);
  if (!rule)
    return FALSE;
  CN_COUNT(ctx, CN_C_SUPPRESSED_FILTER);
  cn_log_id(ctx, CLOUDNOTIFY_LOG_DEBUG, CLOUDNOTIFY_LOG_ID_PUSH_SUPPRESSED,
            "push to %s for %s suppressed by its %s filter", r->jid, r->user->account, rule);
  return TRUE;
}

/* ---- building ---------------------------------------------------------- */

static gboolean encrypts(const cloudnotify_push *p) {
  const cn_push_ext *e = active_ext(p->ctx, p->reg);
  /* A ping has no stanza to tell about: its form says nothing either. */
  return e && e->encrypt && p->sum;
}

gboolean cn_push_ext_payload(const cloudnotify_push *p, cn_el *notification) {
  if (!encrypts(p))
    return FALSE;
  cloudnotify_ctx *ctx = p->ctx;
  const cn_reg *r = p->reg;
  const cn_summary *sum = p->sum;
  const char *sid = call_sid(sum);
  gboolean groupchat = is_groupchat(sum);
  const char *const *media = cn_call_media(sum);
  const char *type = "chat";
  if (sid)
    type = "call";
  else if (groupchat)
    type = "groupchat";
  /* A call names the caller's full JID, as Tigase's does: the device
   * answers that resource. */
  cn_jid j;
  gboolean from = sender_of(sum, &j);
  cn_push_payload pl = {
    .unread = p->count,
    .sender = !from ? NULL
              : sid ? j.full
                    : j.bare,
    .type = type,
    .message = sid ? NULL : body_of(sum),
    .nickname = from && groupchat ? j.resource : NULL,
    .sid = sid,
    .media = media && media[0] ? media : NULL,
  };
  char *iv = NULL, *data = NULL;
  int rc = cn_push_encrypt(r->ext->key, r->ext->max_size, &pl, &iv, &data);
  cn_jid_clear(&j);
  if (rc) {
    cn_log_id(ctx, CLOUDNOTIFY_LOG_WARN, CLOUDNOTIFY_LOG_ID_OTHER,
              "push to %s for %s: the payload could not be encrypted (%s); sent without content",
              r->jid, r->user->account, cloudnotify_strerror(rc));
    return TRUE;
  }
  cn_el *enc = cn_el_add(notification, "encrypted", NS_ENCRYPT);
  cn_el_attr(enc, "iv", iv);
  if (sid)
    cn_el_attr(enc, "type", "voip");
  cn_el_text(enc, data);
  g_free(iv);
  g_free(data);
  CN_COUNT(ctx, CN_C_PUBLISHES_ENCRYPTED);
  return TRUE;
}

void cn_push_ext_children(const cloudnotify_push *p, cn_el *notification) {
  const cn_push_ext *e = active_ext(p->ctx, p->reg);
  if (!e)
    return;
  const cn_summary *sum = p->sum;
  const char *sid = call_sid(sum);
  if (e->priority) {
    gboolean high = sid || (sum && sum->important);
    cn_el_text(cn_el_add(notification, "priority", NS_PRIORITY), high ? "high" : "low");
  }
  if (e->jingle && sid) {
    cn_el *j = cn_el_add(notification, "jingle", NS_JINGLE);
    cn_el_attr(j, "action", "propose");
    cn_el_attr(j, "sid", sid);
    for (const char *const *m = cn_call_media(sum); m && *m; m++)
      cn_el_text(cn_el_add(j, "media", NULL), *m);
  }
  /* The nick is part of the sender's JID: in clear only where the sender
   * may be, and inside the payload when that is encrypted. */
  cn_jid from = { 0 };
  if (e->groupchat && is_groupchat(sum) && p->ctx->opt.with_sender && !encrypts(p) &&
      sender_of(sum, &from) && from.resource) {
    cn_el *g = cn_el_add(notification, "groupchat", NS_MUC_OFF);
    cn_el_text(cn_el_add(g, "nickname", NULL), from.resource);
  }
  cn_jid_clear(&from);
}

/* ---- disco ------------------------------------------------------------- */

int cloudnotify_ctx_disco_features(const cloudnotify_ctx *ctx, const char **features, size_t max) {
  if (!ctx || (!features && max > 0))
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  const char *all[10];
  size_t n = 0;
  all[n++] = "urn:xmpp:push:0";
  if (ctx->opt.tigase_extensions) {
    if (cn_push_encrypt_available()) {
      all[n++] = NS_ENCRYPT;
      all[n++] = "tigase:push:encrypt:aes-128-gcm";
    }
    all[n++] = NS_PRIORITY;
    all[n++] = NS_JINGLE;
    all[n++] = NS_MUTED;
    all[n++] = NS_GROUPCHAT;
    if (ctx->cb.sender_known)
      all[n++] = NS_UNKNOWN;
  }
  for (size_t i = 0; i < n && i < max; i++)
    features[i] = all[i];
  return (int)n;
}
