/* The early de-duplication of a tree trigger: a host that reports one
 * stanza on two routes (Prosody: archive, then offline storage) hands the
 * library the same tree twice, and the second time every registration
 * was already pushed for it.  The stanza's identity is then read from the
 * root's attributes and children through the adapter and looked up
 * before the tree is converted and classified.  Only stanzas whose
 * identity needs no classification take this path (a message with an id
 * attribute, no carbon, not the account's own, no Jingle Message propose,
 * whose call key needs its id, and with push_quiet one that the probe
 * sees is visible, as quiet drops the others before any lookup); anything
 * else, or any
 * registration not yet pushed, goes the usual way, so results are those
 * of the full path by construction.  See docs/design.md, "Stanza
 * identity". */
#include "tree-seen.h"

#include <string.h>

#include "counters.h"
#include "ctx.h"
#include "jid.h"
#include "registry.h"
#include "rules.h"
#include "seen.h"
#include "tree.h"

#define NS_CARBONS "urn:xmpp:carbons:2"
#define NS_SID     "urn:xmpp:sid:0"

typedef struct {
  const cloudnotify_tree *t;
  const char *account;
  const char *root_ns; /* the root's namespace as the conversion sets it */
  char *id, *from, *to;
  char *sid;         /* the first stanza-id by the account */
  gboolean fallback; /* something only the full path decides */
  gboolean visible;  /* a child shows something: rules.c's is_invisible is FALSE */
} probe;

typedef struct {
  const char *names[3];
  char **values[3];
} attr_pick;

static gboolean is(const char *s, size_t len, const char *lit) {
  return s && len == strlen(lit) && !memcmp(s, lit, len);
}

/* The first attribute without namespace of each name, as cn_xml_attr
 * finds it. */
static int pick_attr(void *data, const char *ns, size_t ns_len, const char *name, size_t name_len,
                     const char *value, size_t value_len) {
  attr_pick *p = data;
  if (ns && ns_len)
    return 0;
  for (int i = 0; i < 3 && p->names[i]; i++)
    if (!*p->values[i] && is(name, name_len, p->names[i]))
      *p->values[i] = g_strndup(value ? value : "", value ? value_len : 0);
  return 0;
}

/* The element's name and namespace as the conversion gives them, NULL
 * name on failure; *href is owned. */
static gboolean element_name(const probe *pr, const void *el, const char *parent_ns,
                             const char **name, size_t *name_len, char **href, const char **eff) {
  const cloudnotify_tree_ops *ops = pr->t->ops;
  const char *ns = NULL;
  size_t ns_len = 0;
  *name = NULL;
  if (ops->name(pr->t->data, el, name, name_len) < 0 ||
      ops->ns(pr->t->data, el, &ns, &ns_len) < 0 || !*name)
    return FALSE;
  *href = ns && ns_len ? g_strndup(ns, ns_len) : NULL;
  *eff = cn_tree_child_ns(parent_ns, ns, *href);
  return TRUE;
}

static int body_child(void *data, const void *child) {
  (void)data;
  (void)child;
  return 0; /* only the body's own text counts (cn_xml_text) */
}

static int body_text(void *data, const char *text, size_t len) {
  probe *pr = data;
  if (!cn_rules_blank(text, len))
    pr->visible = TRUE;
  return 0;
}

static const cloudnotify_tree_visitor body_visitor = { body_child, body_text };

/* What the child adds to what a user sees, as rules.c judges it. */
static void judge_child(probe *pr, const void *child, const char *name, size_t name_len,
                        const char *eff) {
  if (cn_rules_is_jmi(eff) && is(name, name_len, "propose")) {
    pr->fallback = TRUE;
    return;
  }
  switch (cn_rules_child_kind(name, name_len, eff)) {
  case CN_CHILD_VISIBLE: pr->visible = TRUE; break;
  case CN_CHILD_INVISIBLE: break;
  case CN_CHILD_BODY:
    if (!pr->visible && pr->t->ops->children(pr->t->data, child, &body_visitor, pr) < 0)
      pr->fallback = TRUE;
    break;
  }
}

static int root_child(void *data, const void *child) {
  probe *pr = data;
  const char *name, *eff;
  size_t name_len;
  char *href = NULL;
  if (!child || !element_name(pr, child, pr->root_ns, &name, &name_len, &href, &eff)) {
    pr->fallback = TRUE;
    return 1;
  }
  if ((is(name, name_len, "sent") || is(name, name_len, "received")) &&
      !g_strcmp0(eff, NS_CARBONS)) {
    pr->fallback = TRUE;
  } else if (!pr->sid && is(name, name_len, "stanza-id") && !g_strcmp0(eff, NS_SID)) {
    char *by = NULL, *sid = NULL;
    attr_pick p = { { "by", "id", NULL }, { &by, &sid, NULL } };
    if (pr->t->ops->attrs(pr->t->data, child, pick_attr, &p) < 0)
      pr->fallback = TRUE;
    if (by && sid && *sid && cn_jid_equal(by, pr->account))
      pr->sid = g_steal_pointer(&sid);
    g_free(by);
    g_free(sid);
  }
  if (!pr->fallback)
    judge_child(pr, child, name, name_len, eff);
  g_free(href);
  return pr->fallback ? 1 : 0;
}

static int root_text(void *data, const char *text, size_t len) {
  (void)data;
  (void)text;
  (void)len;
  return 0;
}

static const cloudnotify_tree_visitor root_visitor = { root_child, root_text };

/* The keys cn_rules_classify would give the stanza (key, alt_key), or
 * FALSE when reading them needs the full path. */
static gboolean read_keys(probe *pr, gboolean quiet, cn_summary *sum) {
  const cloudnotify_tree *t = pr->t;
  const char *name, *eff;
  size_t name_len;
  char *href = NULL;
  if (!element_name(pr, t->root, NULL, &name, &name_len, &href, &eff))
    return FALSE;
  gboolean message = is(name, name_len, "message");
  pr->root_ns = eff;
  attr_pick p = { { "id", "from", "to" }, { &pr->id, &pr->from, &pr->to } };
  if (!message || t->ops->attrs(t->data, t->root, pick_attr, &p) < 0 || !pr->id || !*pr->id ||
      t->ops->children(t->data, t->root, &root_visitor, pr) < 0) {
    g_free(href);
    return FALSE;
  }
  g_free(href);
  pr->root_ns = NULL;
  /* The account's own message is never pushed nor counted: rules.c's
   * is_own, for a root that is its own effective message. */
  gboolean own = (pr->from && cn_jid_bare_equal(pr->from, pr->account)) ||
                 (pr->to && *pr->to && !cn_jid_bare_equal(pr->to, pr->account));
  if (pr->fallback || own || (quiet && !pr->visible))
    return FALSE;
  sum->alt_key = g_strconcat("id:", pr->from ? pr->from : "", "\n", pr->id, NULL);
  sum->key = pr->sid ? g_strconcat("sid:", pr->sid, NULL) : g_strdup(sum->alt_key);
  return TRUE;
}

gboolean cn_tree_seen_early(cloudnotify_ctx *ctx, const cn_user *u, const cloudnotify_tree *tree) {
  if (ctx->opt.max_remembered == 0)
    return FALSE;
  probe pr = { .t = tree, .account = u->account };
  cn_summary sum = { 0 };
  gboolean all = read_keys(&pr, ctx->opt.quiet, &sum);
  /* Keys of an id are remembered without expiry: these lookups drop
   * nothing, so a miss leaves the table as the full path will find it. */
  for (guint i = 0; all && i < u->regs->len; i++)
    all = cn_seen_contains(ctx, &sum, u->regs->pdata[i]);
  /* The full path refuses a tree it cannot convert before any lookup. */
  if (all)
    all = cn_tree_validate(ctx, tree) == 0;
  if (all)
    for (guint i = 0; i < u->regs->len; i++)
      CN_COUNT(ctx, CN_C_PUBLISHES_DEDUPLICATED);
  cn_summary_clear(&sum);
  g_free(pr.id);
  g_free(pr.from);
  g_free(pr.to);
  g_free(pr.sid);
  return all;
}
