#include "harness.h"

#include <libxml/parser.h>
#include <string.h>

static void sent_free(gpointer p) {
  fh_sent *s = p;
  g_free(s->account);
  g_free(s->to);
  g_free(s->xml);
  g_free(s);
}

static void removed_free(gpointer p) {
  fh_removed *r = p;
  g_free(r->account);
  g_free(r->jid);
  g_free(r->node);
  g_free(r->error_type);
  g_free(r->error_condition);
  g_free(r);
}

static void report_free(gpointer p) {
  fh_report *r = p;
  g_free(r->account);
  g_free(r->jid);
  g_free(r->node);
  g_free(r->id);
  g_free(r->error_type);
  g_free(r->error_condition);
  g_free(r);
}

static void added_free(gpointer p) {
  fh_added *a = p;
  g_free(a->account);
  g_free(a->jid);
  g_free(a->node);
  g_free(a);
}

fh_mode fh_default_mode = FH_SYNC;
unsigned fh_default_fail_at;

/* One question the host answers later. */
typedef struct fh_op {
  cloudnotify_op *op;
  cloudnotify_op_kind kind;
  char *account;
  cloudnotify_loader *loader; /* load */
  fh_row rec;                 /* save: the record; remove: jid and node */
  int verdict;                /* filters: the answer decided when asked */
  const char *veto_type, *veto_condition;
  int amend; /* notification filter: set the body at completion */
} fh_op;

static void row_clear(fh_row *r) {
  g_free(r->account);
  g_free(r->jid);
  g_free(r->node);
  g_free(r->form);
  g_free(r->client_id);
}

static void row_free(gpointer p) {
  row_clear(p);
  g_free(p);
}

static void fhop_free(fh_op *o) {
  cloudnotify_op_free(o->op);
  g_free(o->account);
  row_clear(&o->rec);
  g_free(o);
}

/* Inside a callback: take the op and remember what to answer. */
static fh_op *ask_later(fake_host *h, cloudnotify_op_kind kind, const char *account) {
  fh_op *o = g_new0(fh_op, 1);
  o->op = cloudnotify_ctx_current_op(h->ctx);
  assert_non_null(o->op);
  assert_int_equal(cloudnotify_op_get_kind(o->op), kind);
  o->kind = kind;
  o->account = g_strdup(account);
  g_ptr_array_add(h->ops, o);
  return o;
}

static int row_find(const fake_host *h, const char *account, const char *jid, const char *node) {
  for (guint i = 0; i < h->rows->len; i++) {
    const fh_row *r = h->rows->pdata[i];
    if (!strcmp(r->account, account) && !strcmp(r->jid, jid) && !g_strcmp0(r->node, node))
      return (int)i;
  }
  return -1;
}

static void store_load_rows(fake_host *h, const char *account, cloudnotify_loader *loader) {
  for (guint i = 0; i < h->rows->len; i++) {
    const fh_row *r = h->rows->pdata[i];
    if (strcmp(r->account, account))
      continue;
    cloudnotify_record rec = { .jid = r->jid,
                               .node = r->node,
                               .publish_options = r->form,
                               .publish_options_len = r->form_len,
                               .enabled_at_ms = r->enabled_at,
                               .errors = r->errors,
                               .client_id = r->client_id };
    cloudnotify_loader_add(loader, &rec);
  }
}

static void store_save_row(fake_host *h, const char *account, const fh_row *rec) {
  int i = row_find(h, account, rec->jid, rec->node);
  if (i >= 0)
    g_ptr_array_remove_index(h->rows, (guint)i);
  fh_row *r = g_new0(fh_row, 1);
  r->account = g_strdup(account);
  r->jid = g_strdup(rec->jid);
  r->node = g_strdup(rec->node);
  r->form = rec->form ? g_strndup(rec->form, rec->form_len) : NULL;
  r->form_len = rec->form_len;
  r->enabled_at = rec->enabled_at;
  r->errors = rec->errors;
  r->client_id = g_strdup(rec->client_id);
  g_ptr_array_add(h->rows, r);
}

static void store_remove_row(fake_host *h, const char *account, const char *jid, const char *node) {
  int i = row_find(h, account, jid, node);
  if (i >= 0)
    g_ptr_array_remove_index(h->rows, (guint)i);
}

static int st_load(void *data, const char *account, cloudnotify_loader *loader) {
  fake_host *h = data;
  if (h->mode == FH_SYNC) {
    store_load_rows(h, account, loader);
    return 0;
  }
  fh_op *o = ask_later(h, CLOUDNOTIFY_OP_LOAD, account);
  o->loader = loader;
  return CLOUDNOTIFY_PENDING;
}

static int st_save(void *data, const char *account, const cloudnotify_record *rec) {
  fake_host *h = data;
  fh_row r = { NULL,
               (char *)rec->jid,
               (char *)rec->node,
               (char *)rec->publish_options,
               rec->publish_options ? rec->publish_options_len : 0,
               rec->enabled_at_ms,
               rec->errors,
               (char *)rec->client_id };
  if (h->mode == FH_SYNC) {
    store_save_row(h, account, &r);
    return 0;
  }
  fh_op *o = ask_later(h, CLOUDNOTIFY_OP_SAVE, account);
  o->rec.jid = g_strdup(rec->jid);
  o->rec.node = g_strdup(rec->node);
  o->rec.form = r.form ? g_strndup(r.form, r.form_len) : NULL;
  o->rec.form_len = r.form_len;
  o->rec.enabled_at = rec->enabled_at_ms;
  o->rec.errors = rec->errors;
  o->rec.client_id = g_strdup(rec->client_id);
  return CLOUDNOTIFY_PENDING;
}

static int st_remove(void *data, const char *account, const char *jid, const char *node) {
  fake_host *h = data;
  if (h->mode == FH_SYNC) {
    store_remove_row(h, account, jid, node);
    return 0;
  }
  fh_op *o = ask_later(h, CLOUDNOTIFY_OP_REMOVE, account);
  o->rec.jid = g_strdup(jid);
  o->rec.node = g_strdup(node);
  return CLOUDNOTIFY_PENDING;
}

/* Error counts are written at once in every mode: the library never
 * waits for them (see cloudnotify_store.set_errors). */
static int st_set_errors(void *data, const char *account, const char *jid, const char *node,
                         unsigned errors) {
  fake_host *h = data;
  int i = row_find(h, account, jid, node);
  if (i >= 0)
    ((fh_row *)h->rows->pdata[i])->errors = errors;
  return 0;
}

static guint32 next_rand(fake_host *h) {
  h->rand = h->rand * 1103515245u + 12345u;
  return h->rand >> 8;
}

/* Answer o (removed from h->ops by the caller, freed here); the
 * completion's rc. */
static int answer(fake_host *h, fh_op *o) {
  h->completions++;
  gboolean fail = h->mode == FH_FAIL_NTH && h->completions == h->fail_at;
  if (fail) {
    h->failures++;
    h->failed_kind = o->kind;
  }
  int rc = 0;
  switch (o->kind) {
  case CLOUDNOTIFY_OP_LOAD:
    /* Records may come until the completion; a failure discards them. */
    store_load_rows(h, o->account, o->loader);
    rc = cloudnotify_op_complete(o->op, fail ? -1 : 0);
    break;
  case CLOUDNOTIFY_OP_SAVE:
    if (!fail)
      store_save_row(h, o->account, &o->rec);
    rc = cloudnotify_op_complete(o->op, fail ? -1 : 0);
    break;
  case CLOUDNOTIFY_OP_REMOVE:
    if (!fail)
      store_remove_row(h, o->account, o->rec.jid, o->rec.node);
    rc = cloudnotify_op_complete(o->op, fail ? -1 : 0);
    break;
  case CLOUDNOTIFY_OP_REGISTRATION_FILTER:
    if (fail)
      rc = cloudnotify_op_complete(o->op, 1);
    else if (o->verdict)
      rc = cloudnotify_op_veto(o->op, o->veto_type, o->veto_condition);
    else
      rc = cloudnotify_op_complete(o->op, 0);
    break;
  case CLOUDNOTIFY_OP_NOTIFICATION_FILTER:
    if (o->amend)
      assert_int_equal(cloudnotify_push_set_body(cloudnotify_op_push(o->op), "amended"), 0);
    rc = cloudnotify_op_complete(o->op, fail ? 1 : o->verdict);
    break;
  }
  h->complete_rc = rc;
  /* Answered: a second answer is refused and changes nothing. */
  if (rc == 0)
    assert_int_equal(cloudnotify_op_complete(o->op, 0), CLOUDNOTIFY_ERR_OP_DONE);
  fhop_free(o);
  return rc;
}

int fh_complete(fake_host *h, unsigned i, int fail) {
  assert_true(i < h->ops->len);
  fh_op *o = h->ops->pdata[i];
  g_ptr_array_remove_index(h->ops, i);
  fh_mode mode = h->mode;
  unsigned fail_at = h->fail_at;
  if (fail) {
    h->mode = FH_FAIL_NTH;
    h->fail_at = h->completions + 1;
  }
  int rc = answer(h, o);
  h->mode = mode;
  h->fail_at = fail_at;
  return rc;
}

void fh_drop_op(fake_host *h, unsigned i) {
  assert_true(i < h->ops->len);
  fh_op *o = h->ops->pdata[i];
  g_ptr_array_remove_index(h->ops, i);
  fhop_free(o);
}

cloudnotify_op_kind fh_op_kind(const fake_host *h, unsigned i) {
  assert_true(i < h->ops->len);
  return ((fh_op *)h->ops->pdata[i])->kind;
}

const char *fh_op_account(const fake_host *h, unsigned i) {
  assert_true(i < h->ops->len);
  return ((fh_op *)h->ops->pdata[i])->account;
}

cloudnotify_op *fh_op_handle(const fake_host *h, unsigned i) {
  assert_true(i < h->ops->len);
  return ((fh_op *)h->ops->pdata[i])->op;
}

void fh_settle(fake_host *h) {
  while (h->ops->len) {
    guint i = 0;
    if (h->mode == FH_SHUFFLE)
      i = next_rand(h) % h->ops->len;
    fh_op *o = h->ops->pdata[i];
    g_ptr_array_remove_index(h->ops, i);
    /* Cancelled: its session was freed while the question was open. */
    int rc = answer(h, o);
    assert_true(rc == 0 || rc == CLOUDNOTIFY_ERR_OP_CANCELLED);
  }
}

void fh_step(fake_host *h, int need_results) {
  if (h->mode == FH_LATER || h->mode == FH_FAIL_NTH || (h->mode == FH_SHUFFLE && need_results))
    fh_settle(h);
}

unsigned fh_open_ops(const fake_host *h) {
  return h->ops->len;
}

/* Hosts alive: fh_iq reaches its host through them (one at a time in
 * the suites that use the asynchronous modes). */
static GPtrArray *live_hosts;

static fake_host *fh_host_of(cloudnotify_session *s) {
  (void)s;
  return live_hosts && live_hosts->len ? live_hosts->pdata[live_hosts->len - 1] : NULL;
}

static int cb_send(void *ud, cloudnotify_route route, cloudnotify_session *session,
                   const char *account, const char *to, const char *xml, size_t len) {
  fake_host *h = ud;
  if (h->reenter)
    h->reenter_rc = cloudnotify_tick(h->ctx);
  fh_sent *s = g_new0(fh_sent, 1);
  s->route = route;
  s->session = session;
  s->account = g_strdup(account);
  s->to = g_strdup(to);
  s->xml = g_strndup(xml, len);
  g_ptr_array_add(h->sent, s);
  return h->send_result;
}

static int64_t cb_now(void *ud) {
  const fake_host *h = ud;
  return h->now + h->wall_offset;
}

static int64_t cb_mono(void *ud) {
  return ((fake_host *)ud)->now;
}

static void cb_timer(void *ud, int64_t t) {
  fake_host *h = ud;
  h->timer = t;
  h->timer_calls++;
}

static void cb_hib(void *ud, cloudnotify_session *s, int64_t seconds) {
  fake_host *h = ud;
  fh_hib *e = g_new0(fh_hib, 1);
  e->session = s;
  e->seconds = seconds;
  g_ptr_array_add(h->hib, e);
}

static void cb_removed(void *ud, const char *account, const char *jid, const char *node,
                       cloudnotify_removal_reason reason) {
  fake_host *h = ud;
  fh_removed *r = g_new0(fh_removed, 1);
  r->account = g_strdup(account);
  r->jid = g_strdup(jid);
  r->node = g_strdup(node);
  r->reason = reason;
  g_ptr_array_add(h->removed, r);
}

static void cb_log(void *ud, cloudnotify_log_level level, const char *msg) {
  g_ptr_array_add(((fake_host *)ud)->logs, g_strdup(msg));
}

static void cb_log2(void *ud, cloudnotify_log_level level, const char *id, const char *msg) {
  fake_host *h = ud;
  g_ptr_array_add(h->logs, g_strdup(msg));
  g_ptr_array_add(h->log_ids, g_strdup(id));
}

static void cb_removed2(void *ud, const char *account, const char *jid, const char *node,
                        cloudnotify_removal_reason reason, const char *error_type,
                        const char *error_condition) {
  fake_host *h = ud;
  cb_removed(ud, account, jid, node, reason);
  fh_removed *r = h->removed->pdata[h->removed->len - 1];
  r->v2 = TRUE;
  r->error_type = g_strdup(error_type);
  r->error_condition = g_strdup(error_condition);
}

static void cb_outcome(void *ud, const cloudnotify_publish_report *rep) {
  fake_host *h = ud;
  assert_true(rep->size >= sizeof *rep);
  fh_report *r = g_new0(fh_report, 1);
  r->account = g_strdup(rep->account);
  r->jid = g_strdup(rep->jid);
  r->node = g_strdup(rep->node);
  r->id = g_strdup(rep->id);
  r->outcome = rep->outcome;
  r->error_type = g_strdup(rep->error_type);
  r->error_condition = g_strdup(rep->error_condition);
  r->errors = rep->consecutive_errors;
  g_ptr_array_add(h->reports, r);
}

static void cb_added(void *ud, cloudnotify_session *s, const char *account, const char *jid,
                     const char *node, cloudnotify_registration_change change) {
  fake_host *h = ud;
  fh_added *a = g_new0(fh_added, 1);
  a->session = s;
  a->account = g_strdup(account);
  a->jid = g_strdup(jid);
  a->node = g_strdup(node);
  a->change = change;
  g_ptr_array_add(h->added, a);
}

static int cb_regfilter(void *ud, cloudnotify_session *s, const char *account, const char *jid,
                        const char *node, const char **type, const char **cond) {
  fake_host *h = ud;
  if (h->mode != FH_SYNC) {
    fh_op *o = ask_later(h, CLOUDNOTIFY_OP_REGISTRATION_FILTER, account);
    o->verdict = h->veto_type != NULL;
    o->veto_type = h->veto_type;
    o->veto_condition = h->veto_condition;
    return CLOUDNOTIFY_PENDING;
  }
  if (!h->veto_type)
    return 0;
  *type = h->veto_type;
  *cond = h->veto_condition;
  return 1;
}

static int cb_sender_known(void *ud, const char *account, const char *sender) {
  fake_host *h = ud;
  (void)account;
  h->known_calls++;
  for (const char *const *k = h->known; k && *k; k++)
    if (!strcmp(*k, sender))
      return 1;
  return 0;
}

static int cb_pushfilter(void *ud, cloudnotify_push *p) {
  fake_host *h = ud;
  if (h->mode != FH_SYNC && h->push_filter != 3) {
    fh_op *o = ask_later(h, CLOUDNOTIFY_OP_NOTIFICATION_FILTER, cloudnotify_push_account(p));
    assert_ptr_equal(cloudnotify_op_push(o->op), p);
    o->verdict = h->push_filter == 1;
    /* Amended at completion: the push stays amendable until then. */
    o->amend = h->push_filter == 2;
    return CLOUDNOTIFY_PENDING;
  }
  if (h->push_filter == 1)
    return 1;
  if (h->push_filter == 2)
    cloudnotify_push_set_body(p, "amended");
  if (h->push_filter == 3) {
    /* Characters XML cannot carry are refused, and nothing changes. */
    h->filter_rc = cloudnotify_push_set_body(p, "bad\001body");
    h->filter_rc2 = cloudnotify_push_set_sender(p, "x\xef\xbf\xbf@y");
  }
  return 0;
}

void fh_init(fake_host *h) {
  fh_init_ex(h, 0);
}

void fh_init_ex(fake_host *h, unsigned flags) {
  memset(h, 0, sizeof *h);
  h->now = 1700000000000;
  h->timer = -2;
  h->sent = g_ptr_array_new_with_free_func(sent_free);
  h->removed = g_ptr_array_new_with_free_func(removed_free);
  h->hib = g_ptr_array_new_with_free_func(g_free);
  h->logs = g_ptr_array_new_with_free_func(g_free);
  h->log_ids = g_ptr_array_new_with_free_func(g_free);
  h->reports = g_ptr_array_new_with_free_func(report_free);
  h->added = g_ptr_array_new_with_free_func(added_free);
  cloudnotify_callbacks cb = {
    .size = sizeof cb,
    .send = cb_send,
    .now_ms = cb_now,
    .timer_changed = cb_timer,
    .hibernation_timeout = cb_hib,
    .registration_removed = cb_removed,
    .log = cb_log,
    .registration_filter = cb_regfilter,
    .notification_filter = cb_pushfilter,
    .monotonic_ms = cb_mono,
    .publish_outcome = cb_outcome,
    .registration_added = cb_added,
    .registration_removed2 = (flags & FH_REMOVED2) ? cb_removed2 : NULL,
    .log2 = (flags & FH_LOG2) ? cb_log2 : NULL,
    .sender_known = (flags & FH_KNOWN) ? cb_sender_known : NULL,
  };
  assert_int_equal(cloudnotify_ctx_new(&h->ctx, &cb, h), 0);
  /* The rate limits of 0.3 (on by default) are the business of
   * test-gate.c and test-counts.c, which set them back; the scripts here
   * push one registration many times in a row, as 0.2 allowed. */
  assert_int_equal(cloudnotify_ctx_set_option_int(h->ctx, CLOUDNOTIFY_OPT_VISIBLE_INTERVAL_MS, 0),
                   0);
  assert_int_equal(cloudnotify_ctx_set_option_int(h->ctx, CLOUDNOTIFY_OPT_SILENT_PER_HOUR, 0), 0);
  h->mode = fh_default_mode;
  h->fail_at = fh_default_fail_at;
  h->rand = 20261127;
  h->ops = g_ptr_array_new();
  h->rows = g_ptr_array_new_with_free_func(row_free);
  if (!live_hosts)
    live_hosts = g_ptr_array_new();
  g_ptr_array_add(live_hosts, h);
  if (h->mode != FH_SYNC) {
    cloudnotify_store st = {
      .size = sizeof st,
      .load = st_load,
      .save = st_save,
      .remove = st_remove,
      .set_errors = st_set_errors,
    };
    assert_int_equal(cloudnotify_ctx_set_store(h->ctx, &st, h), 0);
  }
}

void fh_fini(fake_host *h) {
  g_ptr_array_remove(live_hosts, h);
  cloudnotify_ctx_free(h->ctx);
  /* Questions left open: the context is gone, and answering says so. */
  for (guint i = 0; i < h->ops->len; i++) {
    fh_op *o = h->ops->pdata[i];
    int rc = cloudnotify_op_complete(o->op, 0);
    assert_true(rc == CLOUDNOTIFY_ERR_GONE || rc == CLOUDNOTIFY_ERR_OP_CANCELLED);
    fhop_free(o);
  }
  g_ptr_array_free(h->ops, TRUE);
  g_ptr_array_free(h->rows, TRUE);
  g_ptr_array_free(h->sent, TRUE);
  g_ptr_array_free(h->removed, TRUE);
  g_ptr_array_free(h->hib, TRUE);
  g_ptr_array_free(h->logs, TRUE);
  g_ptr_array_free(h->log_ids, TRUE);
  g_ptr_array_free(h->reports, TRUE);
  g_ptr_array_free(h->added, TRUE);
}

void fh_clear(fake_host *h) {
  g_ptr_array_set_size(h->sent, 0);
  g_ptr_array_set_size(h->removed, 0);
  g_ptr_array_set_size(h->hib, 0);
  g_ptr_array_set_size(h->logs, 0);
  g_ptr_array_set_size(h->log_ids, 0);
  g_ptr_array_set_size(h->reports, 0);
  g_ptr_array_set_size(h->added, 0);
}

const fh_sent *fh_last(const fake_host *h) {
  return h->sent->len ? h->sent->pdata[h->sent->len - 1] : NULL;
}

unsigned fh_count(const fake_host *h, cloudnotify_route route) {
  unsigned n = 0;
  for (guint i = 0; i < h->sent->len; i++)
    n += ((fh_sent *)h->sent->pdata[i])->route == route;
  return n;
}

const fh_sent *fh_publish(const fake_host *h, unsigned n) {
  for (guint i = 0; i < h->sent->len; i++) {
    fh_sent *s = h->sent->pdata[i];
    if (s->route == CLOUDNOTIFY_ROUTE_APP_SERVER && n-- == 0)
      return s;
  }
  return NULL;
}

static xmlDoc *parse(const char *xml) {
  xmlDoc *d = xmlReadMemory(xml, (int)strlen(xml), NULL, "UTF-8", XML_PARSE_NONET);
  assert_non_null(d);
  return d;
}

char *fh_attr(const char *xml, const char *attr) {
  xmlDoc *d = parse(xml);
  xmlChar *v = xmlGetProp(xmlDocGetRootElement(d), (const xmlChar *)attr);
  char *r = v ? g_strdup((const char *)v) : NULL;
  xmlFree(v);
  xmlFreeDoc(d);
  return r;
}

static xmlNode *find(xmlNode *n, const char *name, const char *attr, const char *value) {
  for (; n; n = n->next) {
    if (n->type != XML_ELEMENT_NODE)
      continue;
    if (!strcmp((const char *)n->name, name)) {
      if (!attr)
        return n;
      xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);
      gboolean match = v && !strcmp((const char *)v, value);
      xmlFree(v);
      if (match)
        return n;
    }
    xmlNode *c = find(n->children, name, attr, value);
    if (c)
      return c;
  }
  return NULL;
}

char *fh_field(const char *xml, const char *var) {
  xmlDoc *d = parse(xml);
  xmlNode *f = find(xmlDocGetRootElement(d), "field", "var", var);
  char *r = NULL;
  if (f) {
    xmlNode *v = find(f->children, "value", NULL, NULL);
    xmlChar *t = v ? xmlNodeGetContent(v) : NULL;
    r = g_strdup(t ? (const char *)t : "");
    xmlFree(t);
  }
  xmlFreeDoc(d);
  return r;
}

char *fh_outcome(const char *xml) {
  xmlDoc *d = parse(xml);
  xmlNode *root = xmlDocGetRootElement(d);
  xmlChar *type = xmlGetProp(root, (const xmlChar *)"type");
  char *r = NULL;
  if (type && !strcmp((const char *)type, "result")) {
    r = g_strdup("result");
  } else if (type && !strcmp((const char *)type, "error")) {
    xmlNode *e = find(root->children, "error", NULL, NULL);
    xmlChar *et = e ? xmlGetProp(e, (const xmlChar *)"type") : NULL;
    xmlNode *c = e ? e->children : NULL;
    while (c && (c->type != XML_ELEMENT_NODE || !strcmp((const char *)c->name, "text")))
      c = c->next;
    r = g_strdup_printf("%s/%s", et ? (const char *)et : "?", c ? (const char *)c->name : "?");
    xmlFree(et);
  }
  xmlFree(type);
  xmlFreeDoc(d);
  return r;
}

int fh_iq(cloudnotify_session *s, const char *xml) {
  fake_host *h = fh_host_of(s);
  unsigned before = h ? h->sent->len : 0, failures = h ? h->failures : 0;
  int rc = cloudnotify_handle_client_iq(s, xml, strlen(xml));
  if (!h)
    return rc;
  /* Whatever the host's timing, the client's reply is there when the
   * call and the answers it waited for are done. */
  fh_step(h, 1);
  unsigned replies = 0;
  const fh_sent *last = NULL;
  for (guint i = before; i < h->sent->len; i++)
    if (((fh_sent *)h->sent->pdata[i])->route == CLOUDNOTIFY_ROUTE_CLIENT) {
      replies++;
      last = h->sent->pdata[i];
    }
  assert_true(replies <= 1);
  if (h->failures != failures && last) {
    /* A failed answer on the way: never a result, nothing half done. */
    char *o = fh_outcome(last->xml);
    assert_non_null(o);
    assert_string_not_equal(o, "result");
    g_free(o);
  }
  return rc;
}

static GString *open_push_iq(const char *el, const char *jid, const char *node) {
  GString *x = g_string_new("<iq type='set' id='e1'><");
  g_string_append_printf(x, "%s xmlns='urn:xmpp:push:0'", el);
  if (jid)
    g_string_append_printf(x, " jid='%s'", jid);
  if (node)
    g_string_append_printf(x, " node='%s'", node);
  return x;
}

int fh_enable(cloudnotify_session *s, const char *jid, const char *node, const char *form) {
  GString *x = open_push_iq("enable", jid, node);
  g_string_append_printf(x, ">%s</enable></iq>", form ? form : "");
  int rc = fh_iq(s, x->str);
  g_string_free(x, TRUE);
  return rc;
}

int fh_disable(cloudnotify_session *s, const char *jid, const char *node) {
  GString *x = open_push_iq("disable", jid, node);
  g_string_append(x, "/></iq>");
  int rc = fh_iq(s, x->str);
  g_string_free(x, TRUE);
  return rc;
}

int fh_reply(fake_host *h, unsigned n, const char *type, const char *from) {
  const fh_sent *p = fh_publish(h, n);
  assert_non_null(p);
  char *id = fh_attr(p->xml, "id");
  char *x;
  if (!strcmp(type, "result"))
    x = g_strdup_printf("<iq type='result' id='%s' from='%s'/>", id, from ? from : p->to);
  else
    x = g_strdup_printf("<iq type='error' id='%s' from='%s'><error type='%s'>"
                        "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                        "</error></iq>",
                        id, from ? from : p->to, type);
  int rc = cloudnotify_handle_app_reply(h->ctx, x, strlen(x));
  fh_step(h, 1);
  g_free(x);
  g_free(id);
  return rc;
}

char *fh_message(const char *to, const char *id, const char *body) {
  return g_strdup_printf(
      "<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' "
      "to='%s' id='%s'><body>%s</body></message>",
      to, id, body);
}
