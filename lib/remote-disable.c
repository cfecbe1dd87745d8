/* Remote disabling (XEP-0357 section 8): an app server that stops
 * accepting an account's publishes tells the account's bare JID with a
 * message holding a pubsub affiliation 'none' for the node.  The message
 * comes from outside and is untrusted: it removes a registration only
 * when it comes from that registration's own push service JID and names
 * that registration's node (docs/features.md, "Remote disable and
 * TTL"). */
#include <string.h>

#include "ctx.h"
#include "jid.h"
#include "pending.h"
#include "reg-policy.h"
#include "registry.h"
#include "tree.h"
#include "xml.h"

#define NS_PUBSUB       "http://jabber.org/protocol/pubsub"
#define NS_PUBSUB_EVENT "http://jabber.org/protocol/pubsub#event"

/* One <affiliation/>: its node, else the enclosing element's (dflt), is
 * added to nodes when it says 'none' for the account.  A jid attribute
 * naming someone else is another account's business (the XEP's example
 * names the user; Tigase reads it as the user). */
static void take_affiliation(const xmlNode *a, const char *dflt, const char *account,
                             GPtrArray *nodes) {
  const char *aff = cn_xml_attr(a, "affiliation");
  const char *node = cn_xml_attr(a, "node");
  const char *jid = cn_xml_attr(a, "jid");
  if (!node)
    node = dflt;
  if (!aff || strcmp(aff, "none") || !node || !*node)
    return;
  if (jid && !cn_jid_bare_equal(jid, account))
    return;
  g_ptr_array_add(nodes, g_strdup(node));
}

static gboolean is_element(const xmlNode *n, const char *name, const char *ns) {
  return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name) &&
         !g_strcmp0(cn_xml_ns(n), ns);
}

/* The nodes a <message/> says the account's affiliation is now 'none'
 * for, in the forms found documented: <pubsub node='N'><affiliation
 * affiliation='none'/></pubsub> (XEP-0357's example, Tigase), the same in
 * the pubsub#event namespace, and an <affiliations node='N'> list around
 * the <affiliation/> elements (XEP-0060's affiliation notices); a node on
 * the <affiliation/> itself wins. */
static void read_notice(const xmlNode *root, const char *account, GPtrArray *nodes) {
  if (strcmp((const char *)root->name, "message"))
    return;
  for (const xmlNode *p = root->children; p; p = p->next) {
    const char *ns = NULL;
    if (is_element(p, "pubsub", NS_PUBSUB))
      ns = NS_PUBSUB;
    else if (is_element(p, "pubsub", NS_PUBSUB_EVENT))
      ns = NS_PUBSUB_EVENT;
    if (!ns)
      continue;
    const char *pnode = cn_xml_attr(p, "node");
    for (const xmlNode *c = p->children; c; c = c->next) {
      if (is_element(c, "affiliation", ns)) {
        take_affiliation(c, pnode, account, nodes);
      } else if (is_element(c, "affiliations", ns)) {
        const char *lnode = cn_xml_attr(c, "node");
        for (const xmlNode *a = c->children; a; a = a->next)
          if (is_element(a, "affiliation", ns))
            take_affiliation(a, lnode ? lnode : pnode, account, nodes);
      }
    }
  }
}

/* The registration of u the notice from `from` names: its push service is
 * the sender and its node one of nodes.  A registration without node is
 * never named: a notice always names a node, and the one without stands
 * for no node the app server could name. */
static cn_reg *named_registration(cn_user *u, const char *from, const GPtrArray *nodes) {
  for (guint i = 0; i < u->regs->len; i++) {
    cn_reg *r = u->regs->pdata[i];
    if (!r->node || !cn_jid_equal(from, r->jid))
      continue;
    for (guint k = 0; k < nodes->len; k++)
      if (!strcmp(nodes->pdata[k], r->node))
        return r;
  }
  return NULL;
}

/* The work for a normalised account that is not busy: 0 (removed, or
 * its removal parked), NOT_MINE, STORE, or CN_PARKED (the load answers
 * later). */
static int apply(cloudnotify_ctx *ctx, const char *account, const char *from,
                 const GPtrArray *nodes) {
  cn_user *u;
  int rc = cn_user_get(ctx, account, &u);
  if (rc)
    return rc;
  cn_reg *r = named_registration(u, from, nodes);
  if (!r)
    return CLOUDNOTIFY_ERR_NOT_MINE;
  return cn_policy_remove_stored(ctx, u, r, CLOUDNOTIFY_REMOVED_REMOTE);
}

/* The message as the parts apply needs: the sender and the nodes (empty
 * when it is no notice). */
static const char *notice_of(const xmlDoc *doc, const char *account, GPtrArray *nodes) {
  const xmlNode *root = xmlDocGetRootElement(doc);
  const char *from = cn_xml_attr(root, "from");
  if (from)
    read_notice(root, account, nodes);
  return from;
}

static int message_replay(cloudnotify_ctx *ctx, cn_replay *r) {
  cn_input in = { r->xml, r->len, NULL };
  xmlDoc *doc;
  if (cn_input_parse(ctx, &in, &doc))
    return 0;
  GPtrArray *nodes = g_ptr_array_new_with_free_func(g_free);
  const char *from = notice_of(doc, r->t.account, nodes);
  int rc = nodes->len ? apply(ctx, r->t.account, from, nodes) : 0;
  g_ptr_array_free(nodes, TRUE);
  xmlFreeDoc(doc);
  /* Not ours after all: the host was told 0 when it parked. */
  return rc == CLOUDNOTIFY_ERR_NOT_MINE ? 0 : rc;
}

static int park(cloudnotify_ctx *ctx, const char *account, const cn_input *in, const xmlDoc *doc,
                gboolean after_load) {
  GString *tmp;
  size_t len;
  const char *xml = cn_input_text(in, doc, &tmp, &len);
  cn_replay *r = cn_replay_new(account, NULL, message_replay, 0, xml, len, NULL, NULL, 0, NULL, 0);
  if (tmp)
    g_string_free(tmp, TRUE);
  if (!after_load)
    return cn_pending_enqueue(ctx, &r->t);
  cn_pending_after_load(ctx, &r->t);
  return 0;
}

static int handle_app_message(cloudnotify_ctx *ctx, const char *account, const cn_input *in) {
  CN_ENTER(ctx);
  char *bare = cn_account_normalize(account);
  if (!bare)
    return cn_leave(ctx, CLOUDNOTIFY_ERR_JID_MALFORMED);
  xmlDoc *doc;
  int rc = cn_input_parse(ctx, in, &doc);
  if (rc) {
    g_free(bare);
    return cn_leave(ctx, rc);
  }
  GPtrArray *nodes = g_ptr_array_new_with_free_func(g_free);
  const char *from = notice_of(doc, bare, nodes);
  if (!nodes->len) {
    rc = CLOUDNOTIFY_ERR_NOT_MINE;
  } else if (cn_pending_busy(ctx, bare)) {
    /* Decided now from memory when the account is cached (a busy one
     * stays cached), so that the host still hears NOT_MINE for a sender
     * that is no registration's; otherwise in turn, answered 0. */
    cn_user *u = g_hash_table_lookup(ctx->users, bare);
    rc = u && !named_registration(u, from, nodes) ? CLOUDNOTIFY_ERR_NOT_MINE
                                                  : park(ctx, bare, in, doc, FALSE);
  } else {
    rc = apply(ctx, bare, from, nodes);
    if (rc == CN_PARKED)
      rc = park(ctx, bare, in, doc, TRUE);
  }
  g_ptr_array_free(nodes, TRUE);
  xmlFreeDoc(doc);
  g_free(bare);
  return cn_leave(ctx, rc);
}

int cloudnotify_handle_app_message(cloudnotify_ctx *ctx, const char *account, const char *xml,
                                   size_t len) {
  if (!ctx || !account || !xml)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  cn_input in = { xml, len, NULL };
  return handle_app_message(ctx, account, &in);
}

int cloudnotify_handle_app_message_tree(cloudnotify_ctx *ctx, const char *account,
                                        const cloudnotify_tree *tree) {
  int rc = ctx && account ? cn_tree_check(tree) : CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (rc)
    return rc;
  cn_input in = { NULL, 0, tree };
  return handle_app_message(ctx, account, &in);
}
