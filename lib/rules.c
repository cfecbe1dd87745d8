/* Stanza classification and identity.  See rules.h for the contract. */
#include "rules.h"

#include <string.h>

#include <glib.h>

#include "jid.h"
#include "xml.h"

#define NS_CARBONS "urn:xmpp:carbons:2"
#define NS_FORWARD "urn:xmpp:forward:0"
#define NS_SID     "urn:xmpp:sid:0"
#define NS_DELAY   "urn:xmpp:delay"
#define NS_JMI     "urn:xmpp:jingle-message:0"
#define NS_JMI1    "urn:xmpp:jingle-message:1"
#define NS_RTP     "urn:xmpp:jingle:apps:rtp:1"

/* Payloads that carry a message the user must see even though <body/> is
 * absent or only a fallback text. */
static const struct {
  const char *name;
  const char *ns;
} always_important[] = {
  { "encrypted", "eu.siacs.conversations.axolotl" },
  { "encrypted", "urn:xmpp:omemo:0" },
  { "encrypted", "urn:xmpp:omemo:2" },
  { "x", "jabber:x:encrypted" },
  { "openpgp", "urn:xmpp:openpgp:0" },
  { "propose", NS_JMI },
  { "propose", NS_JMI1 },
};

/* See cn_rules_child_kind in rules.h: name NULL is any element of ns. */
static const struct {
  const char *name;
  const char *ns;
} invisible_children[] = {
  { NULL, "http://jabber.org/protocol/chatstates" },
  { NULL, "urn:xmpp:receipts" },
  { NULL, "urn:xmpp:chat-markers:0" },
  { NULL, "urn:xmpp:hints" },
  { "delay", NS_DELAY },
  { "x", "jabber:x:delay" },
  { "stanza-id", NS_SID },
  { "origin-id", NS_SID },
  { "private", NS_CARBONS },
  { "encryption", "urn:xmpp:eme:0" },
};

gboolean cn_rules_is_jmi(const char *ns) {
  return ns != NULL && (strcmp(ns, NS_JMI) == 0 || strcmp(ns, NS_JMI1) == 0);
}

static gboolean stanza_ns(const char *ns) {
  return ns == NULL || *ns == '\0' || strcmp(ns, "jabber:client") == 0 ||
         strcmp(ns, "jabber:server") == 0 || strcmp(ns, "jabber:component:accept") == 0;
}

static gboolean name_eq(const char *name, size_t len, const char *lit) {
  return len == strlen(lit) && memcmp(name, lit, len) == 0;
}

cn_child_kind cn_rules_child_kind(const char *name, size_t name_len, const char *ns) {
  if (stanza_ns(ns)) {
    if (name_eq(name, name_len, "body"))
      return CN_CHILD_BODY;
    return name_eq(name, name_len, "thread") ? CN_CHILD_INVISIBLE : CN_CHILD_VISIBLE;
  }
  if (cn_rules_is_jmi(ns))
    return name_eq(name, name_len, "propose") ? CN_CHILD_VISIBLE : CN_CHILD_INVISIBLE;
  for (size_t i = 0; i < G_N_ELEMENTS(invisible_children); i++) {
    if (strcmp(ns, invisible_children[i].ns) == 0 &&
        (invisible_children[i].name == NULL || name_eq(name, name_len, invisible_children[i].name)))
      return CN_CHILD_INVISIBLE;
  }
  return CN_CHILD_VISIBLE;
}

gboolean cn_rules_blank(const char *text, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r' && text[i] != '\n')
      return FALSE;
  }
  return TRUE;
}

static gboolean name_is(const xmlNode *node, const char *name) {
  return strcmp((const char *)node->name, name) == 0;
}

/* ---- XEP-0082 stamps ------------------------------------------------- */

static gboolean digits(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return FALSE;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return TRUE;
}

static gboolean leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 0000-01-01 to the first day of year y (proleptic Gregorian,
 * 0 <= y): 365 a year plus the leap years among 0 .. y-1. */
static int64_t days_before_year(int64_t y) {
  return 365 * y + (y + 3) / 4 - (y + 99) / 100 + (y + 399) / 400;
}

int cn_rules_parse_stamp(const char *t, int64_t *ms) {
  static const int month_days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  int y, mo, d, h, mi, sec, frac = 0;
  if (t == NULL || strnlen(t, 65) > 64 || strlen(t) < 20)
    return -1;
  if (!digits(t, 4, &y) || t[4] != '-' || !digits(t + 5, 2, &mo) || t[7] != '-' ||
      !digits(t + 8, 2, &d) || t[10] != 'T' || !digits(t + 11, 2, &h) || t[13] != ':' ||
      !digits(t + 14, 2, &mi) || t[16] != ':' || !digits(t + 17, 2, &sec))
    return -1;
  if (mo < 1 || mo > 12 || d < 1 || d > month_days[mo - 1] + (mo == 2 && leap(y)) || h > 23 ||
      mi > 59 || sec > 59)
    return -1;
  const char *p = t + 19;
  if (*p == '.') {
    int n = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, n++) {
      if (n < 3)
        frac = frac * 10 + (*p - '0');
    }
    if (n == 0)
      return -1;
    for (; n < 3; n++)
      frac *= 10;
  }
  int offset = 0; /* minutes east of UTC */
  if (*p == 'Z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
      return -1;
    offset = (oh * 60 + om) * (*p == '-' ? -1 : 1);
    p += 6;
  } else {
    return -1;
  }
  if (*p != '\0')
    return -1;
  int64_t yday = d - 1;
  for (int m = 1; m < mo; m++)
    yday += month_days[m - 1] + (m == 2 && leap(y));
  int64_t days = days_before_year(y) - days_before_year(1970) + yday;
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - (int64_t)offset * 60;
  *ms = secs * 1000 + frac;
  return 0;
}

/* Carbons are only believed from the account itself (XEP-0280 section
 * 11): a wrapper from anyone else would let a peer choose the sender and
 * body shown in someone's push. */
static gboolean carbon_trusted(const xmlNode *root, const char *account) {
  const char *from = cn_xml_attr(root, "from");

  return from == NULL || (account != NULL && cn_jid_equal(from, account));
}

static const xmlNode *effective_message(const xmlNode *root, const char *account,
                                        gboolean *outgoing) {
  const xmlNode *wrap;

  *outgoing = FALSE;
  if (!carbon_trusted(root, account))
    return root;
  if (cn_xml_child(root, "sent", NS_CARBONS) != NULL) {
    *outgoing = TRUE;
    return root;
  }
  wrap = cn_xml_child(root, "received", NS_CARBONS);
  if (wrap != NULL) {
    const xmlNode *fwd = cn_xml_child(wrap, "forwarded", NS_FORWARD);
    const xmlNode *inner = cn_xml_child(fwd, "message", NULL);

    if (inner != NULL)
      return inner;
  }
  return root;
}

/* What the account sent itself is never news for its devices, whichever
 * route reports it: the archive (outgoing copies), a note to self, a
 * message from another of its resources. */
static gboolean is_own(const xmlNode *msg, const char *account) {
  const char *from = cn_xml_attr(msg, "from");
  const char *to = cn_xml_attr(msg, "to");

  if (account == NULL)
    return FALSE;
  if (from != NULL && cn_jid_bare_equal(from, account))
    return TRUE;
  return to != NULL && to[0] != '\0' && !cn_jid_bare_equal(to, account);
}

static gboolean is_important(const xmlNode *msg, const char *body) {
  const char *type = cn_xml_attr(msg, "type");

  /* Precedence follows the order of the rules in rules.h: headline beats
   * every payload, and a payload beats the groupchat-subject rule. */
  /* Error bounces are not news for the user: the reference's wake-up for
   * them is one of the differences this library makes on purpose. */
  if (type != NULL && (strcmp(type, "headline") == 0 || strcmp(type, "error") == 0))
    return FALSE;
  for (size_t i = 0; i < G_N_ELEMENTS(always_important); i++) {
    if (cn_xml_child(msg, always_important[i].name, always_important[i].ns))
      return TRUE;
  }
  if (type != NULL && strcmp(type, "groupchat") == 0 && cn_xml_child(msg, "subject", NULL) != NULL)
    return FALSE;
  return body != NULL && body[0] != '\0';
}

/* Routes add these to the root: offline storage a <delay/>, the archive a
 * <stanza-id/> on the copies it hands on.  Leaving them out of the hash
 * lets the copies of one stanza hash alike. */
static gboolean added_by_route(const xmlNode *c) {
  return (name_is(c, "delay") && g_strcmp0(cn_xml_ns(c), NS_DELAY) == 0) ||
         (name_is(c, "stanza-id") && g_strcmp0(cn_xml_ns(c), NS_SID) == 0);
}

static char *content_key(const xmlNode *root) {
  GString *s = g_string_sized_new(512);
  GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA256);
  char *key;

  cn_xml_serialize_canonical(s, root, added_by_route);
  g_checksum_update(sum, (const guchar *)s->str, (gssize)s->len);
  key = g_strconcat("sha256:", g_checksum_get_string(sum), NULL);
  g_checksum_free(sum);
  g_string_free(s, TRUE);
  return key;
}

/* The identity a stanza has whatever route it took: its id attribute
 * with its sender, or its content. */
static char *route_independent_key(const xmlNode *root) {
  const char *id = cn_xml_attr(root, "id");

  if (id != NULL && id[0] != '\0') {
    const char *from = cn_xml_attr(root, "from");

    return g_strconcat("id:", from != NULL ? from : "", "\n", id, NULL);
  }
  return content_key(root);
}

static char *stanza_key(const xmlNode *root, const char *account) {
  if (account != NULL) {
    for (const xmlNode *c = root->children; c != NULL; c = c->next) {
      const char *by, *sid;

      if (c->type != XML_ELEMENT_NODE || !name_is(c, "stanza-id") ||
          g_strcmp0(cn_xml_ns(c), NS_SID) != 0)
        continue;
      by = cn_xml_attr(c, "by");
      sid = cn_xml_attr(c, "id");
      if (by != NULL && sid != NULL && sid[0] != '\0' && cn_jid_equal(by, account))
        return g_strconcat("sid:", sid, NULL);
    }
  }
  return route_independent_key(root);
}

static gboolean is_invisible(const xmlNode *msg) {
  for (const xmlNode *c = msg->children; c != NULL; c = c->next) {
    if (c->type != XML_ELEMENT_NODE)
      continue;
    const char *name = (const char *)c->name;
    switch (cn_rules_child_kind(name, strlen(name), cn_xml_ns(c))) {
    case CN_CHILD_VISIBLE: return FALSE;
    case CN_CHILD_INVISIBLE: break;
    case CN_CHILD_BODY: {
      char *text = cn_xml_text(c);
      gboolean blank = cn_rules_blank(text, strlen(text));
      g_free(text);
      if (!blank)
        return FALSE;
      break;
    }
    }
  }
  return TRUE;
}

static const xmlNode *find_propose(const xmlNode *msg) {
  const xmlNode *p = cn_xml_child(msg, "propose", NS_JMI);
  return p != NULL ? p : cn_xml_child(msg, "propose", NS_JMI1);
}

static char **propose_media(const xmlNode *propose) {
  GPtrArray *media = g_ptr_array_new();
  for (const xmlNode *c = propose->children; c != NULL; c = c->next) {
    if (c->type != XML_ELEMENT_NODE || !name_is(c, "description") ||
        g_strcmp0(cn_xml_ns(c), NS_RTP) != 0)
      continue;
    const char *m = cn_xml_attr(c, "media");
    gboolean dup = m == NULL || *m == '\0';
    for (guint i = 0; !dup && i < media->len; i++)
      dup = strcmp(media->pdata[i], m) == 0;
    if (!dup)
      g_ptr_array_add(media, g_strdup(m));
  }
  g_ptr_array_add(media, NULL);
  return (char **)g_ptr_array_free(media, FALSE);
}

/* The oldest XEP-0203 stamp among parent's <delay/> children. */
static void scan_delays(const xmlNode *parent, cn_summary *out) {
  for (const xmlNode *c = parent != NULL ? parent->children : NULL; c != NULL; c = c->next) {
    if (c->type != XML_ELEMENT_NODE || !name_is(c, "delay") ||
        g_strcmp0(cn_xml_ns(c), NS_DELAY) != 0)
      continue;
    int64_t ms;
    if (cn_rules_parse_stamp(cn_xml_attr(c, "stamp"), &ms) != 0)
      out->delay_bad = 1;
    else if (ms < out->delay_ms)
      out->delay_ms = ms;
  }
}

static char *call_key(const char *from, const char *call_id) {
  char *bare = from != NULL ? cn_jid_normalize_bare(from) : NULL;
  char *key = g_strconcat("call:",
                          bare != NULL   ? bare
                          : from != NULL ? from
                                         : "",
                          "\n", call_id, NULL);
  g_free(bare);
  return key;
}

void cn_rules_classify(const xmlNode *root, const char *account, cn_summary *out) {
  const xmlNode *eff = root;
  const xmlNode *body;
  const char *from;
  gboolean outgoing = FALSE;

  memset(out, 0, sizeof *out);
  out->delay_ms = INT64_MAX;
  if (root == NULL) {
    /* Keep the promise that key is never NULL and has the usual form. */
    char *hex = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)"", 0);

    out->key = g_strconcat("sha256:", hex, NULL);
    out->alt_key = g_strdup(out->key);
    g_free(hex);
    return;
  }

  if (root->type == XML_ELEMENT_NODE && name_is(root, "message")) {
    out->is_message = 1;
    eff = effective_message(root, account, &outgoing);
    out->outgoing_carbon = outgoing ? 1 : 0;
    out->own = !outgoing && is_own(eff, account) ? 1 : 0;
    out->skip = out->outgoing_carbon || out->own;
  }

  {
    const char *type = cn_xml_attr(eff, "type");
    const char *id = cn_xml_attr(eff, "id");

    if (type == NULL && eff->type == XML_ELEMENT_NODE)
      type = name_is(eff, "message") ? "normal" : name_is(eff, "presence") ? "available" : NULL;
    out->type = g_strdup(type);
    out->id = g_strdup(id);
  }

  from = cn_xml_attr(eff, "from");
  out->sender = from != NULL ? g_strdup(from) : NULL;
  body = cn_xml_child(eff, "body", NULL);
  out->body = body != NULL ? cn_xml_text(body) : NULL;

  if (out->is_message && !outgoing && !out->own) {
    out->important = is_important(eff, out->body) ? 1 : 0;
    /* A call that is not important (a headline, a bounce) is not urgent
     * either: urgency only changes when an important push goes out. */
    const xmlNode *propose = out->important ? find_propose(eff) : NULL;
    const char *call_id = propose != NULL ? cn_xml_attr(propose, "id") : NULL;
    if (call_id != NULL && *call_id != '\0') {
      out->urgent = 1;
      out->call_id = g_strdup(call_id);
      out->call_media = propose_media(propose);
      scan_delays(root, out);
      if (eff != root) {
        scan_delays(eff->parent, out);
        scan_delays(eff, out);
      }
      out->key = call_key(from, call_id);
      out->alt_key = g_strdup(out->key);
      return;
    }
    out->invisible = is_invisible(eff) ? 1 : 0;
  }

  out->key = stanza_key(root, account);
  out->alt_key = route_independent_key(root);
}

void cn_summary_clear(cn_summary *sum) {
  if (sum == NULL)
    return;
  g_free(sum->sender);
  g_free(sum->body);
  g_free(sum->key);
  g_free(sum->alt_key);
  g_free(sum->type);
  g_free(sum->id);
  g_free(sum->call_id);
  g_strfreev(sum->call_media);
  g_strfreev(sum->facts);
  memset(sum, 0, sizeof *sum);
}

void cn_summary_free(cn_summary *sum) {
  if (sum == NULL)
    return;
  cn_summary_clear(sum);
  g_free(sum);
}
