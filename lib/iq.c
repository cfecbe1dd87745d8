/* Client IQs in urn:xmpp:push:0: enable and disable, with the error
 * replies of XEP-0357 and RFC 6120. */
#include <string.h>

#include "counters.h"
#include "ctx.h"
#include "emit.h"
#include "host.h"
#include "jid.h"
#include "pending.h"
#include "push-ext.h"
#include "reg-policy.h"
#include "registry.h"
#include "session.h"
#include "stanza-errors.h"
#include "tree.h"
#include "xml.h"

#define NS_PUSH    "urn:xmpp:push:0"
#define NS_DATA    "jabber:x:data"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

static cn_el *reply_open(cloudnotify_session *s, const char *id, const char *type) {
  cn_el *iq = cn_el_new("iq", NULL);
  cn_el_attr(iq, "type", type);
  cn_el_attr(iq, "id", id);
  cn_el_attr(iq, "from", s->account);
  cn_el_attr(iq, "to", s->full);
  return iq;
}

static int send_reply(cloudnotify_session *s, const char *id, cn_el *iq) {
  int rc = cn_emit(s->ctx, CLOUDNOTIFY_ROUTE_CLIENT, s, s->account, s->full, id, iq);
  cn_el_free(iq);
  return rc;
}

static int send_result(cloudnotify_session *s, const char *id) {
  return send_reply(s, id, reply_open(s, id, "result"));
}

static int send_error(cloudnotify_session *s, const char *id, const char *type,
                      const char *condition, const char *text) {
  cn_el *iq = reply_open(s, id, "error");
  cn_el *error = cn_el_add(iq, "error", NULL);
  cn_el_attr(error, "type", type);
  cn_el_add(error, condition, NS_STANZAS);
  if (text)
    cn_el_text(cn_el_add(error, "text", NS_STANZAS), text);
  return send_reply(s, id, iq);
}

/* node attribute: absent and empty mean the same thing. */
static int node_of(const xmlNode *el, const char **node) {
  const char *n = cn_xml_attr(el, "node");
  *node = n && *n ? n : NULL;
  return !*node || strlen(*node) <= CN_JID_MAX_PART;
}

static int count_forms(const xmlNode *enable, xmlNode **form) {
  int n = 0;
  *form = NULL;
  for (xmlNode *c = enable->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, "x") &&
        !g_strcmp0(cn_xml_ns(c), NS_DATA)) {
      if (!*form)
        *form = c;
      n++;
    }
  }
  return n;
}

/* An enable from the filter on.  Each question to the host may be
 * answered later; the job then waits with everything it needs, and its
 * session may go meanwhile once the store is involved (t.session NULL:
 * memory still follows the store, nobody is answered). */
typedef enum {
  EN_FILTER, /* ask the registration filter */
  EN_SAVE,   /* save the new registration */
  EN_EVICT,  /* remove the least recently enabled beyond the limit */
  EN_UNDO,   /* an eviction failed: take the new registration back */
  EN_UNDONE, /* waiting for that removal */
} en_stage;

typedef struct {
  cn_task t;
  en_stage stage;
  char *id;
  char *jid; /* normalised push JID */
  char *node;
  char *form;
  size_t form_len;
  cn_push_ext *ext;   /* Tigase's extensions asked for, NULL: none */
  cn_reg *r;          /* the new registration, not in memory yet */
  GPtrArray *victims; /* idents to evict, oldest first */
  guint k;
  GPtrArray *evicted; /* idents the store removed */
} enable_job;

static void enable_job_free(cn_task *t) {
  enable_job *j = (enable_job *)t;
  g_free(j->id);
  g_free(j->jid);
  g_free(j->node);
  g_free(j->form);
  cn_push_ext_free(j->ext);
  cn_reg_free(j->r);
  if (j->victims)
    g_ptr_array_free(j->victims, TRUE);
  if (j->evicted)
    g_ptr_array_free(j->evicted, TRUE);
  cn_task_fini(t);
  g_free(j);
}

static int enable_error(enable_job *j, const char *type, const char *condition) {
  if (!j->t.session)
    return 0;
  return send_error(j->t.session, j->id, type, condition, NULL);
}

static int enable_vetoed(enable_job *j, const char *etype, const char *econd) {
  if (!cn_error_type_static(etype) || !cn_error_condition_static(econd)) {
    etype = "cancel";
    econd = "not-allowed";
  }
  /* The reply is built now, so borrowed veto strings are not kept. */
  return enable_error(j, etype, econd);
}

static void enable_new_reg(cloudnotify_ctx *ctx, enable_job *j, cn_user *u) {
  j->r =
      cn_reg_new(u, j->jid, j->node, j->form, j->form_len, cn_policy_enable_time(u, cn_now(ctx)));
  /* The new registration replaces the old one whole: no extension in
   * this enable means none (encryption off). */
  cn_reg_set_ext(j->r, g_steal_pointer(&j->ext));
  /* 0.3: the session's identity (client id, else resource), which later
   * sessions of the same client are bound by (cn_policy_follow_client). */
  if (j->t.session)
    j->r->client_id = g_strdup(cn_policy_identity(j->t.session));
}

/* Whom the enable evicts is the policy's (cn_policy_admit).  The store
 * is updated first: if it refuses, the new registration is taken back so
 * that store and memory still agree. */
static void enable_pick_victims(cloudnotify_ctx *ctx, enable_job *j, cn_user *u) {
  j->victims = g_ptr_array_new_with_free_func(g_free);
  j->evicted = g_ptr_array_new_with_free_func(g_free);
  j->k = 0;
  cn_policy_admit(ctx, u, j->jid, j->node, j->r->client_id, j->victims);
}

static int enable_apply(cloudnotify_ctx *ctx, enable_job *j, cn_user *u) {
  cloudnotify_session *s = j->t.session;
  cn_reg *r = g_steal_pointer(&j->r);
  gboolean replaced = cn_policy_install(ctx, u, r, j->evicted);
  if (!s) {
    cn_log_id(ctx, CLOUDNOTIFY_LOG_INFO, CLOUDNOTIFY_LOG_ID_PUSH_ENABLED,
              "push enabled for %s to %s (session gone)", u->account, r->jid);
    cn_cb_registration_added(ctx, NULL, r, replaced);
    return 0;
  }
  s->reg = r;
  cn_log_id(ctx, CLOUDNOTIFY_LOG_INFO, CLOUDNOTIFY_LOG_ID_PUSH_ENABLED, "push enabled for %s to %s",
            s->full, r->jid);
  cn_cb_registration_added(ctx, s, r, replaced);
  return send_result(s, j->id);
}

/* Run from the current stage until done (the client's reply's rc) or
 * until a question is answered later (CN_WAIT). */
static int enable_step(cloudnotify_ctx *ctx, enable_job *j) {
  cn_user *u = g_hash_table_lookup(ctx->users, j->t.account);
  int rc;
  for (;;) {
    switch (j->stage) {
    case EN_FILTER: {
      const char *etype = NULL, *econd = NULL;
      int veto = cn_cb_registration_filter(ctx, j->t.session, j->jid, j->node, &etype, &econd);
      if (veto == CN_WAIT)
        return CN_WAIT;
      if (veto)
        return enable_vetoed(j, etype, econd);
      j->stage = EN_SAVE;
    } break;
    case EN_SAVE:
      enable_new_reg(ctx, j, u);
      /* From here the store is involved: the job outlives its session. */
      j->t.survives_session = TRUE;
      rc = cn_store_save(ctx, u->account, j->r);
      if (rc == CN_WAIT)
        return CN_WAIT;
      if (rc)
        return enable_error(j, "wait", "internal-server-error");
      enable_pick_victims(ctx, j, u);
      j->stage = EN_EVICT;
      break;
    case EN_EVICT:
      for (; j->k < j->victims->len; j->k++) {
        cn_reg *o = cn_user_find_ident(u, j->victims->pdata[j->k]);
        if (!o)
          continue;
        rc = cn_store_remove(ctx, u->account, o->jid, o->node);
        if (rc == CN_WAIT)
          return CN_WAIT;
        if (rc && cn_policy_victim_optional(o, j->r))
          continue;
        if (rc)
          break;
        g_ptr_array_add(j->evicted, g_strdup(o->ident));
      }
      if (j->k >= j->victims->len)
        return enable_apply(ctx, j, u);
      j->stage = EN_UNDO;
      break;
    case EN_UNDO:
      /* Those the store did remove are gone from memory too. */
      cn_policy_drop_evicted(ctx, u, j->evicted, j->r->client_id);
      g_ptr_array_set_size(j->evicted, 0);
      j->stage = EN_UNDONE;
      rc = cn_store_remove(ctx, u->account, j->r->jid, j->r->node);
      if (rc == CN_WAIT)
        return CN_WAIT;
      if (rc)
        cn_log_id(ctx, CLOUDNOTIFY_LOG_ERROR, CLOUDNOTIFY_LOG_ID_STORE_OVER_LIMIT,
                  "storage: %s now holds more than push_max_devices registrations; the "
                  "surplus is dropped at the next load",
                  u->account);
      return enable_error(j, "wait", "internal-server-error");
    case EN_UNDONE: return enable_error(j, "wait", "internal-server-error");
    }
  }
}

/* An answer came for the question the job was waiting on. */
static int enable_run(cloudnotify_ctx *ctx, cn_task *t) {
  enable_job *j = (enable_job *)t;
  cn_user *u = g_hash_table_lookup(ctx->users, t->account);
  const char *etype, *econd;
  int answer = cn_task_answer(t, &etype, &econd);
  switch (j->stage) {
  case EN_FILTER:
    if (answer)
      return enable_vetoed(j, etype, econd);
    j->stage = EN_SAVE;
    break;
  case EN_SAVE:
    if (cn_store_checked(ctx, "saving", t->account, answer))
      return enable_error(j, "wait", "internal-server-error");
    enable_pick_victims(ctx, j, u);
    j->stage = EN_EVICT;
    break;
  case EN_EVICT:
    if (cn_store_checked(ctx, "removing", t->account, answer)) {
      cn_reg *o = cn_user_find_ident(u, j->victims->pdata[j->k]);
      if (o && cn_policy_victim_optional(o, j->r))
        j->k++;
      else
        j->stage = EN_UNDO;
    } else {
      g_ptr_array_add(j->evicted, g_strdup(j->victims->pdata[j->k]));
      j->k++;
    }
    break;
  case EN_UNDO:
  case EN_UNDONE:
    if (cn_store_checked(ctx, "removing", t->account, answer))
      cn_log_id(ctx, CLOUDNOTIFY_LOG_ERROR, CLOUDNOTIFY_LOG_ID_STORE_OVER_LIMIT,
                "storage: %s now holds more than push_max_devices registrations; the "
                "surplus is dropped at the next load",
                t->account);
    return enable_error(j, "wait", "internal-server-error");
  }
  return enable_step(ctx, j);
}

static int enable_checked(cloudnotify_session *s, const char *id, cn_jid *push, const char *node,
                          GString *form, cn_push_ext *ext) {
  cloudnotify_ctx *ctx = s->ctx;
  /* Freed by an earlier callback of this call: nobody to enable for. */
  if (s->dead) {
    cn_push_ext_free(ext);
    return 0;
  }
  enable_job *j = g_new0(enable_job, 1);
  cn_task_init(&j->t, enable_run, enable_job_free, s->account, s);
  j->id = g_strdup(id);
  j->jid = g_strdup(push->full);
  j->node = g_strdup(node);
  j->ext = ext;
  if (form) {
    j->form = g_strndup(form->str, form->len);
    j->form_len = form->len;
  }
  int rc = enable_step(ctx, j);
  if (rc == CN_WAIT) {
    cn_pending_wait(ctx, &j->t);
    return 0;
  }
  enable_job_free(&j->t);
  return rc;
}

static int handle_enable(cloudnotify_session *s, const char *id, const xmlNode *enable) {
  cloudnotify_ctx *ctx = s->ctx;
  const char *jid = cn_xml_attr(enable, "jid");
  if (!jid)
    return send_error(s, id, "modify", "bad-request", "Missing jid");
  cn_jid push;
  if (cn_jid_parse(jid, strlen(jid), &push))
    return send_error(s, id, "modify", "jid-malformed", "Invalid push service JID");
  int rc;
  GString *form = NULL;
  const char *node;
  xmlNode *x;
  if (!strcmp(push.bare, s->account)) {
    rc = send_error(s, id, "modify", "bad-request", "JID must be different from ours");
  } else if (!node_of(enable, &node)) {
    rc = send_error(s, id, "modify", "bad-request", "Node too long");
  } else if (count_forms(enable, &x) > 1) {
    rc = send_error(s, id, "modify", "bad-request", "More than one publish-options form");
  } else if (x && cn_xml_attr(x, "type") && strcmp(cn_xml_attr(x, "type"), "submit")) {
    rc = send_error(s, id, "modify", "bad-request", "Publish options must be a submitted form");
  } else if (x && cn_xml_count_children(x, "field", NS_DATA) > (unsigned)ctx->opt.max_form_fields) {
    rc = send_error(s, id, "modify", "not-acceptable", "Too many publish-options fields");
  } else {
    if (x) {
      form = g_string_sized_new(256);
      cn_xml_serialize(form, x);
    }
    cn_push_ext *ext = NULL;
    cn_push_ext_error err;
    if (form && form->len > (size_t)ctx->opt.max_form_size)
      rc = send_error(s, id, "modify", "not-acceptable", "Publish options too large");
    else if (cn_push_ext_from_enable(ctx, enable, &ext, &err))
      rc = send_error(s, id, err.type, err.condition, err.text);
    else
      rc = enable_checked(s, id, &push, node, form, ext);
  }
  if (form)
    g_string_free(form, TRUE);
  cn_jid_clear(&push);
  return rc;
}

/* A disable whose removals may be answered later. */
typedef struct {
  cn_task t;
  char *id;
  GPtrArray *idents; /* matching registrations, in the cache's order */
  guint k;
  gboolean failed;
} disable_job;

static void disable_job_free(cn_task *t) {
  disable_job *j = (disable_job *)t;
  g_free(j->id);
  g_ptr_array_free(j->idents, TRUE);
  cn_task_fini(t);
  g_free(j);
}

static void disable_removed(cloudnotify_ctx *ctx, disable_job *j, cn_user *u, int rc) {
  cn_reg *r = cn_user_find_ident(u, j->idents->pdata[j->k]);
  if (rc) {
    j->failed = TRUE;
    return;
  }
  if (!r)
    return;
  cn_log_id(ctx, CLOUDNOTIFY_LOG_INFO, CLOUDNOTIFY_LOG_ID_PUSH_DISABLED,
            "push disabled for %s to %s", j->t.session ? j->t.session->full : u->account, r->jid);
  cn_policy_remove(ctx, u, r, CLOUDNOTIFY_REMOVED_DISABLED);
}

static int disable_step(cloudnotify_ctx *ctx, disable_job *j) {
  cn_user *u = g_hash_table_lookup(ctx->users, j->t.account);
  for (; j->k < j->idents->len; j->k++) {
    cn_reg *r = cn_user_find_ident(u, j->idents->pdata[j->k]);
    if (!r)
      continue;
    int rc = cn_store_remove(ctx, u->account, r->jid, r->node);
    if (rc == CN_WAIT)
      return CN_WAIT;
    disable_removed(ctx, j, u, rc);
  }
  if (!j->failed)
    CN_COUNT(ctx, CN_C_DISABLES);
  cloudnotify_session *s = j->t.session;
  if (!s)
    return 0;
  if (j->failed)
    return send_error(s, j->id, "wait", "internal-server-error", NULL);
  /* Disabling what does not exist succeeds: the client's wish holds. */
  return send_result(s, j->id);
}

static int disable_run(cloudnotify_ctx *ctx, cn_task *t) {
  disable_job *j = (disable_job *)t;
  cn_user *u = g_hash_table_lookup(ctx->users, t->account);
  disable_removed(ctx, j, u,
                  cn_store_checked(ctx, "removing", t->account, cn_task_answer(t, NULL, NULL)));
  j->k++;
  return disable_step(ctx, j);
}

static int handle_disable(cloudnotify_session *s, const char *id, const xmlNode *disable) {
  cloudnotify_ctx *ctx = s->ctx;
  cn_user *u = s->user;
  const char *jid = cn_xml_attr(disable, "jid");
  if (!jid)
    return send_error(s, id, "modify", "bad-request", "Missing jid");
  char *push = cn_jid_normalize(jid);
  if (!push)
    return send_error(s, id, "modify", "jid-malformed", "Invalid push service JID");
  const char *node;
  if (!node_of(disable, &node)) {
    g_free(push);
    return send_error(s, id, "modify", "bad-request", "Node too long");
  }
  disable_job *j = g_new0(disable_job, 1);
  cn_task_init(&j->t, disable_run, disable_job_free, s->account, s);
  /* Every removal is a store write: finished even if the session goes. */
  j->t.survives_session = TRUE;
  j->id = g_strdup(id);
  j->idents = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < u->regs->len; i++) {
    cn_reg *r = u->regs->pdata[i];
    if (cn_policy_disable_matches(r, push, node))
      g_ptr_array_add(j->idents, g_strdup(r->ident));
  }
  g_free(push);
  int rc = disable_step(ctx, j);
  if (rc == CN_WAIT) {
    cn_pending_wait(ctx, &j->t);
    return 0;
  }
  disable_job_free(&j->t);
  return rc;
}

/* NOT_MINE or 0, decided from the stanza alone (so also for an IQ
 * parked behind its account's other work). */
static int iq_mine(xmlNode *iq, xmlNode **child_out, unsigned *children_out) {
  const char *type = cn_xml_attr(iq, "type");
  if (strcmp((const char *)iq->name, "iq") || !type)
    return CLOUDNOTIFY_ERR_NOT_MINE;
  /* Ours when any child is in the push namespace, wherever it stands:
   * an IQ with two children is answered the same in either order. */
  xmlNode *child = NULL;
  unsigned children = 0;
  for (xmlNode *c = iq->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) {
      if (!child && !g_strcmp0(cn_xml_ns(c), NS_PUSH))
        child = c;
      children++;
    }
  }
  if (!child)
    return CLOUDNOTIFY_ERR_NOT_MINE;
  /* Results and errors are never answered (RFC 6120 8.2.3). */
  if (!strcmp(type, "result") || !strcmp(type, "error"))
    return CLOUDNOTIFY_ERR_NOT_MINE;
  *child_out = child;
  *children_out = children;
  return 0;
}

static int dispatch(cloudnotify_session *s, xmlNode *iq) {
  xmlNode *child;
  unsigned children;
  int mine = iq_mine(iq, &child, &children);
  if (mine)
    return mine;
  const char *type = cn_xml_attr(iq, "type");
  const char *id = cn_xml_attr(iq, "id");
  if (!id)
    return send_error(s, NULL, "modify", "bad-request", "Missing id");
  if (strcmp(type, "set") && strcmp(type, "get"))
    return send_error(s, id, "modify", "bad-request", "Invalid IQ type");
  const char *to = cn_xml_attr(iq, "to");
  if (to) {
    char *bare = cn_jid_normalize(to);
    gboolean ours = bare && !strcmp(bare, s->account);
    g_free(bare);
    if (!ours)
      return send_error(s, id, "cancel", "forbidden", NULL);
  }
  if (strcmp(type, "set") || children != 1)
    return send_error(s, id, "modify", "bad-request", NULL);
  int attached = cn_session_attach(s);
  if (attached == CN_PARKED)
    return CN_PARKED;
  if (attached)
    return send_error(s, id, "wait", "internal-server-error", NULL);
  if (!strcmp((const char *)child->name, "enable"))
    return handle_enable(s, id, child);
  if (!strcmp((const char *)child->name, "disable"))
    return handle_disable(s, id, child);
  return send_error(s, id, "cancel", "feature-not-implemented", NULL);
}

static int iq_replay(cloudnotify_ctx *ctx, cn_replay *r) {
  xmlDoc *doc;
  int rc = cn_parse(ctx, r->xml, r->len, &doc);
  if (rc)
    return rc;
  rc = dispatch(r->t.session, xmlDocGetRootElement(doc));
  xmlFreeDoc(doc);
  return rc;
}

static cn_replay *iq_replay_new(cloudnotify_session *s, const cn_input *in, xmlDoc *doc) {
  GString *tmp;
  size_t len;
  const char *xml = cn_input_text(in, doc, &tmp, &len);
  cn_replay *r = cn_replay_new(s->account, s, iq_replay, 0, xml, len, NULL, NULL, 0, NULL, 0);
  if (tmp)
    g_string_free(tmp, TRUE);
  return r;
}

static int handle_client_iq(cloudnotify_session *s, const cn_input *in) {
  cloudnotify_ctx *ctx = s->ctx;
  CN_ENTER(ctx);
  xmlDoc *doc;
  int rc = cn_input_parse(ctx, in, &doc);
  if (rc)
    return cn_leave(ctx, rc);
  xmlNode *child;
  unsigned children;
  if (cn_pending_busy(ctx, s->account)) {
    /* Answered once the account's earlier work is done, in order. */
    rc = iq_mine(xmlDocGetRootElement(doc), &child, &children);
    cn_replay *r = rc ? NULL : iq_replay_new(s, in, doc);
    xmlFreeDoc(doc);
    if (rc)
      return cn_leave(ctx, rc);
    return cn_leave(ctx, cn_pending_enqueue(ctx, &r->t));
  }
  rc = dispatch(s, xmlDocGetRootElement(doc));
  if (rc == CN_PARKED) {
    /* The account is being loaded: the IQ is handled again behind it. */
    cn_replay *r = iq_replay_new(s, in, doc);
    cn_pending_after_load(ctx, &r->t);
    rc = 0;
  }
  xmlFreeDoc(doc);
  return cn_leave(ctx, rc);
}

int cloudnotify_handle_client_iq(cloudnotify_session *s, const char *xml, size_t len) {
  if (!s || !xml)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  cn_input in = { xml, len, NULL };
  return handle_client_iq(s, &in);
}

int cloudnotify_handle_client_iq_tree(cloudnotify_session *s, const cloudnotify_tree *tree) {
  int rc = s ? cn_tree_check(tree) : CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (rc)
    return rc;
  cn_input in = { NULL, 0, tree };
  return handle_client_iq(s, &in);
}
