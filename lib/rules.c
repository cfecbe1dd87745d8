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
};

static gboolean name_is(const xmlNode *node, const char *name) {
  return strcmp((const char *)node->name, name) == 0;
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

void cn_rules_classify(const xmlNode *root, const char *account, cn_summary *out) {
  const xmlNode *eff = root;
  const xmlNode *body;
  const char *from;
  gboolean outgoing = FALSE;

  memset(out, 0, sizeof *out);
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
    out->urgent = out->important && cn_xml_child(eff, "propose", NS_JMI) != NULL ? 1 : 0;
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
  g_strfreev(sum->facts);
  memset(sum, 0, sizeof *sum);
}

void cn_summary_free(cn_summary *sum) {
  if (sum == NULL)
    return;
  cn_summary_clear(sum);
  g_free(sum);
}
