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
  if (!h->veto_type)
    return 0;
  *type = h->veto_type;
  *cond = h->veto_condition;
  return 1;
}

static int cb_pushfilter(void *ud, cloudnotify_push *p) {
  fake_host *h = ud;
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
  };
  assert_int_equal(cloudnotify_ctx_new(&h->ctx, &cb, h), 0);
}

void fh_fini(fake_host *h) {
  cloudnotify_ctx_free(h->ctx);
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
  return cloudnotify_handle_client_iq(s, xml, strlen(xml));
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
                        "</error></iq>", id, from ? from : p->to, type);
  int rc = cloudnotify_handle_app_reply(h->ctx, x, strlen(x));
  g_free(x);
  g_free(id);
  return rc;
}

char *fh_message(const char *to, const char *id, const char *body) {
  return g_strdup_printf("<message xmlns='jabber:client' type='chat' from='romeo@montague.example/orchard' "
                         "to='%s' id='%s'><body>%s</body></message>", to, id, body);
}
