/* A host's own store and its conformance target, written as a host
 * author would: the public header, plain C, nothing else.  It is built
 * against the installed library by tests/scripts/check-conformance.sh
 * (the route docs/store-conformance.md describes) and in the tree.
 *
 * -DEXAMPLE_LATER makes it answer every question asked inside a context
 * later (CLOUDNOTIFY_PENDING, completed by run_until_idle), as a store
 * over a network client would.  The BROKEN_* macros each plant one defect
 * the suite must catch (the build registers those runs as should_fail). */
#include "store-conformance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct row {
  struct row *next;
  char *account, *jid, *node, *form, *client_id;
  size_t form_len;
  int64_t at;
  unsigned errors;
} row;

/* A question taken to be answered later. */
typedef struct later {
  struct later *next;
  cloudnotify_op *op;
  int kind; /* 1 load, 2 save, 3 remove */
  char *account;
  cloudnotify_loader *loader;
  row rec;
} later;

typedef struct store {
  row *rows;
  later *queue, **tail;
  cloudnotify_ctx *ctx[4]; /* the contexts using it (use/release) */
} store;

static char *copy_n(const char *s, size_t n) {
  if (!s)
    return NULL;
  char *d = malloc(n + 1);
  if (!d)
    abort();
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

static char *copy(const char *s) {
  return s ? copy_n(s, strlen(s)) : NULL;
}

static int same_node(const char *a, const char *b) {
#ifdef BROKEN_EMPTY_NODE
  if (a && !*a)
    a = NULL;
  if (b && !*b)
    b = NULL;
#endif
  return (!a && !b) || (a && b && !strcmp(a, b));
}

static int same_jid(const char *a, const char *b) {
#ifdef BROKEN_NOCASE
  return !strcasecmp(a, b);
#else
  return !strcmp(a, b);
#endif
}

static row **find(store *s, const char *account, const char *jid, const char *node) {
  for (row **p = &s->rows; *p; p = &(*p)->next)
    if (!strcmp((*p)->account, account) && same_jid((*p)->jid, jid) && same_node((*p)->node, node))
      return p;
  return NULL;
}

static void row_free(row *r) {
  free(r->account);
  free(r->jid);
  free(r->node);
  free(r->form);
  free(r->client_id);
  free(r);
}

static void do_load(store *s, const char *account, cloudnotify_loader *loader) {
  for (row *r = s->rows; r; r = r->next) {
    if (strcmp(r->account, account))
      continue;
    cloudnotify_record rec = { .jid = r->jid,
                               .node = r->node,
                               .publish_options = r->form,
                               .publish_options_len = r->form_len,
                               .enabled_at_ms = r->at,
                               .errors = r->errors,
                               .client_id = r->client_id };
    cloudnotify_loader_add(loader, &rec);
  }
}

static void do_save(store *s, const char *account, const cloudnotify_record *rec) {
  row **p = find(s, account, rec->jid, rec->node);
  row *r = p ? *p : calloc(1, sizeof *r);
  if (!r)
    abort();
  if (!p) {
    r->account = copy(account);
    r->jid = copy(rec->jid);
    r->node = copy(rec->node);
    r->next = s->rows;
    s->rows = r;
  }
  free(r->form);
  free(r->client_id);
  r->form = rec->publish_options ? copy_n(rec->publish_options, rec->publish_options_len) : NULL;
  r->form_len = rec->publish_options ? rec->publish_options_len : 0;
  r->at = rec->enabled_at_ms;
  r->errors = rec->errors;
#ifdef BROKEN_CLIENT_ID
  r->client_id = NULL;
#else
  r->client_id = copy(rec->client_id);
#endif
}

static void do_remove(store *s, const char *account, const char *jid, const char *node) {
  row **p = find(s, account, jid, node);
  if (p) {
    row *r = *p;
    *p = r->next;
    row_free(r);
  }
}

/* Inside a context's callback (and built to answer later): queue the
 * question and return the op to answer it with. */
static later *ask_later(store *s, int kind, const char *account) {
#ifdef EXAMPLE_LATER
  /* Only the context whose callback this is has a current op. */
  cloudnotify_op *op = NULL;
  for (int i = 0; i < 4 && !op; i++)
    op = s->ctx[i] ? cloudnotify_ctx_current_op(s->ctx[i]) : NULL;
  if (!op)
    return NULL; /* called directly: answer at once */
  later *l = calloc(1, sizeof *l);
  if (!l)
    abort();
  l->op = op;
  l->kind = kind;
  l->account = copy(account);
  *s->tail = l;
  s->tail = &l->next;
  return l;
#else
  (void)s, (void)kind, (void)account;
  return NULL;
#endif
}

static int st_load(void *data, const char *account, cloudnotify_loader *loader) {
  store *s = data;
  later *l = ask_later(s, 1, account);
  if (l) {
    l->loader = loader;
    return CLOUDNOTIFY_PENDING;
  }
  do_load(s, account, loader);
  return 0;
}

static int st_save(void *data, const char *account, const cloudnotify_record *rec) {
  store *s = data;
  later *l = ask_later(s, 2, account);
  if (!l) {
    do_save(s, account, rec);
    return 0;
  }
  l->rec.jid = copy(rec->jid);
  l->rec.node = copy(rec->node);
  l->rec.form =
      rec->publish_options ? copy_n(rec->publish_options, rec->publish_options_len) : NULL;
  l->rec.form_len = rec->publish_options ? rec->publish_options_len : 0;
  l->rec.at = rec->enabled_at_ms;
  l->rec.errors = rec->errors;
  l->rec.client_id = copy(rec->client_id);
  return CLOUDNOTIFY_PENDING;
}

static int st_remove(void *data, const char *account, const char *jid, const char *node) {
  store *s = data;
  later *l = ask_later(s, 3, account);
  if (!l) {
    do_remove(s, account, jid, node);
    return 0;
  }
  l->rec.jid = copy(jid);
  l->rec.node = copy(node);
  return CLOUDNOTIFY_PENDING;
}

static int st_set_errors(void *data, const char *account, const char *jid, const char *node,
                         unsigned errors) {
  store *s = data;
  row **p = find(s, account, jid, node);
  if (p)
    (*p)->errors = errors;
#ifdef BROKEN_SET_ERRORS_CREATES
  else {
    cloudnotify_record rec = { .jid = jid, .node = node, .enabled_at_ms = 1, .errors = errors };
    do_save(s, account, &rec);
  }
#endif
  return 0;
}

/* ---- The conformance target ---------------------------------------------- */

static int t_create(void *data, cloudnotify_store *vt, void **sd) {
  store *s = calloc(1, sizeof *s);
  if (!s)
    return -1;
  s->tail = &s->queue;
  cloudnotify_store v = { .size = sizeof v,
                          .load = st_load,
                          .save = st_save,
                          .remove = st_remove,
                          .set_errors = st_set_errors };
  *vt = v;
  *sd = s;
  return 0;
}

static void t_destroy(void *data, void *sd) {
  store *s = sd;
  while (s->rows) {
    row *r = s->rows;
    s->rows = r->next;
    row_free(r);
  }
  free(s);
}

static int t_use(void *data, void *sd, cloudnotify_ctx *ctx) {
  static const cloudnotify_store v = { .size = sizeof v,
                                       .load = st_load,
                                       .save = st_save,
                                       .remove = st_remove,
                                       .set_errors = st_set_errors };
  store *s = sd;
  int i = 0;
  while (i < 4 && s->ctx[i])
    i++;
  if (i == 4)
    return -1;
  s->ctx[i] = ctx;
  return cloudnotify_ctx_set_store(ctx, &v, sd);
}

static void t_release(void *data, void *sd, cloudnotify_ctx *ctx) {
  store *s = sd;
  for (int i = 0; i < 4; i++)
    if (s->ctx[i] == ctx)
      s->ctx[i] = NULL;
}

/* Answer every queued question, in order; answers run the library's
 * parked work, which may ask more. */
static int t_run_until_idle(void *data, void *sd) {
  store *s = sd;
  while (s->queue) {
    later *l = s->queue;
    s->queue = l->next;
    if (!s->queue)
      s->tail = &s->queue;
    if (l->kind == 1) {
      do_load(s, l->account, l->loader);
    } else if (l->kind == 2) {
      cloudnotify_record rec = { .jid = l->rec.jid,
                                 .node = l->rec.node,
                                 .publish_options = l->rec.form,
                                 .publish_options_len = l->rec.form_len,
                                 .enabled_at_ms = l->rec.at,
                                 .errors = l->rec.errors,
                                 .client_id = l->rec.client_id };
      do_save(s, l->account, &rec);
    } else {
      do_remove(s, l->account, l->rec.jid, l->rec.node);
    }
    int rc = cloudnotify_op_complete(l->op, 0);
    cloudnotify_op_free(l->op);
    free(l->account);
    free(l->rec.jid);
    free(l->rec.node);
    free(l->rec.form);
    free(l->rec.client_id);
    free(l);
    if (rc)
      return rc;
  }
  return 0;
}

int main(void) {
  cn_conformance_target t = {
#ifdef EXAMPLE_LATER
    .name = "example store answering later",
#else
    .name = "example store",
#endif
    .create = t_create,
    .destroy = t_destroy,
    .use = t_use,
    .release = t_release,
    .run_until_idle = t_run_until_idle,
  };
  return cn_conformance_run(&t) ? 1 : 0;
}
