/* Answers that come later: the operation handles given to the host, the
 * per-account queues of parked work, and the replay of API calls that
 * came while their account was busy.  See pending.h for the model. */
#include "pending.h"

#include <string.h>

#include "ctx.h"
#include "notify.h"
#include "registry.h"
#include "session.h"
#include "tree.h"
#include "xml.h"

#define OP_MAGIC 0x63706f70u /* "cpop" */

typedef enum { OP_ASKING, OP_IN_FLIGHT, OP_DONE, OP_CANCELLED, OP_GONE } op_state;

struct cloudnotify_op {
  guint32 magic;
  cloudnotify_op_kind kind;
  op_state state;
  unsigned host_refs;
  gboolean lib_ref;     /* the library still needs the op */
  cloudnotify_ctx *ctx; /* NULL once the context is gone */
  cn_task *task;        /* the task waiting on it */
  int result;
  const char *veto_type, *veto_condition;
  cloudnotify_loader *loader; /* load: owned by the op once taken */
  cloudnotify_push *push;     /* notification filter: owned while in flight */
  GList link;                 /* in cn_pending.ops while lib_ref */
};

typedef struct {
  char *account;
  GQueue tasks; /* front: the task whose op is in flight, if any */
} acct_queue;

typedef struct cn_pending {
  GHashTable *accounts; /* normalised account -> acct_queue* */
  GQueue ops;           /* every op the library still holds */
  guint parked;         /* tasks queued, all accounts */
  /* the question being asked right now */
  cloudnotify_op_kind asking;
  cloudnotify_op *asking_op;
  cloudnotify_loader *asking_loader;
  cloudnotify_push *asking_push;
  cloudnotify_op *taken; /* taken and answered PENDING, not yet owned */
  gboolean no_reload;
} cn_pending;

static void acct_free(gpointer p) {
  acct_queue *q = p;
  g_free(q->account);
  g_free(q);
}

void cn_pending_init(cloudnotify_ctx *ctx) {
  ctx->pending = g_new0(cn_pending, 1);
  ctx->pending->accounts = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, acct_free);
  g_queue_init(&ctx->pending->ops);
}

/* ---- ops ------------------------------------------------------------- */

static void op_maybe_free(cloudnotify_op *op) {
  if (op->host_refs || op->lib_ref)
    return;
  if (op->loader)
    cn_loader_free(op->loader);
  if (op->push)
    cn_push_free(op->push);
  op->magic = 0;
  g_free(op);
}

/* The library no longer needs op: it is answered, cancelled or gone. */
static void op_release(cloudnotify_ctx *ctx, cloudnotify_op *op, op_state state) {
  op->state = state;
  op->task = NULL;
  /* Answered: the load took (and closed) the loader itself. */
  if (op->loader && state != OP_DONE)
    cn_loader_close(op->loader,
                    state == OP_GONE ? CLOUDNOTIFY_ERR_GONE : CLOUDNOTIFY_ERR_OP_CANCELLED);
  if (op->push) {
    /* Every push the library decided to make ends in one outcome; one
     * whose filter question goes with its session is reported as never
     * built.  A freed context calls nobody. */
    if (state == OP_CANCELLED && ctx)
      cn_push_cancelled(ctx, op->push);
    cn_push_free(op->push);
    op->push = NULL;
  }
  if (op->lib_ref) {
    g_queue_unlink(&ctx->pending->ops, &op->link);
    op->lib_ref = FALSE;
  }
  if (state == OP_GONE)
    op->ctx = NULL;
  op_maybe_free(op);
}

cloudnotify_op *cloudnotify_ctx_current_op(cloudnotify_ctx *ctx) {
  if (!ctx || !ctx->pending || !ctx->pending->asking)
    return NULL;
  cn_pending *pd = ctx->pending;
  if (!pd->asking_op) {
    cloudnotify_op *op = g_new0(cloudnotify_op, 1);
    op->magic = OP_MAGIC;
    op->kind = pd->asking;
    op->state = OP_ASKING;
    op->ctx = ctx;
    op->lib_ref = TRUE;
    op->link.data = op;
    op->push = pd->asking_push;
    op->loader = pd->asking_loader;
    /* The host may keep the loader as long as the op: it goes with it. */
    if (op->loader)
      cn_loader_hand_to_op(op->loader);
    g_queue_push_tail_link(&pd->ops, &op->link);
    pd->asking_op = op;
  }
  pd->asking_op->host_refs++;
  return pd->asking_op;
}

cloudnotify_op_kind cloudnotify_op_get_kind(const cloudnotify_op *op) {
  return op && op->magic == OP_MAGIC ? op->kind : 0;
}

cloudnotify_push *cloudnotify_op_push(cloudnotify_op *op) {
  if (!op || op->magic != OP_MAGIC || (op->state != OP_IN_FLIGHT && op->state != OP_ASKING))
    return NULL;
  return op->push;
}

static int op_answer(cloudnotify_op *op, int result, const char *type, const char *cond,
                     gboolean veto_form);

/* What an op answers when the host lets go of it without answering. */
static int op_failure(const cloudnotify_op *op) {
  return op->kind == CLOUDNOTIFY_OP_REGISTRATION_FILTER ||
                 op->kind == CLOUDNOTIFY_OP_NOTIFICATION_FILTER
             ? 1
             : -1;
}

void cloudnotify_op_free(cloudnotify_op *op) {
  if (!op || op->magic != OP_MAGIC || !op->host_refs)
    return;
  op->host_refs--;
  /* Nobody can answer it any more: a failure rather than an account
   * parked for ever (not possible from inside a callback). */
  if (!op->host_refs && op->state == OP_IN_FLIGHT && op->ctx && !op->ctx->in_callback) {
    cn_log(op->ctx, CLOUDNOTIFY_LOG_WARN, "an operation was freed unanswered; failed");
    op_answer(op, op_failure(op), NULL, NULL, FALSE);
    return;
  }
  op_maybe_free(op);
}

void cn_ask_begin(cloudnotify_ctx *ctx, cloudnotify_op_kind kind) {
  cn_pending *pd = ctx->pending;
  pd->asking = kind;
  pd->asking_op = NULL;
  ctx->in_callback++;
}

void cn_ask_set_loader(cloudnotify_ctx *ctx, cloudnotify_loader *loader) {
  ctx->pending->asking_loader = loader;
}

void cn_ask_set_push(cloudnotify_ctx *ctx, cloudnotify_push *push) {
  ctx->pending->asking_push = push;
}

gboolean cn_ask_end(cloudnotify_ctx *ctx, int *rc) {
  cn_pending *pd = ctx->pending;
  ctx->in_callback--;
  cloudnotify_op *op = pd->asking_op;
  pd->asking = 0;
  pd->asking_op = NULL;
  pd->asking_loader = NULL;
  pd->asking_push = NULL;
  if (*rc == CLOUDNOTIFY_PENDING && op && op->host_refs) {
    op->state = OP_IN_FLIGHT;
    pd->taken = op;
    return TRUE;
  }
  if (*rc == CLOUDNOTIFY_PENDING) {
    cn_log(ctx, CLOUDNOTIFY_LOG_ERROR,
           "a callback answered pending without taking (or keeping) its operation; counted as "
           "a failure");
    *rc = -1;
  }
  if (op) {
    /* The push still belongs to the caller: it answered now.  The loader
     * stays with the op (closed by the caller when it takes the records). */
    op->push = NULL;
    op_release(ctx, op, OP_DONE);
  }
  return FALSE;
}

int cn_task_answer(cn_task *t, const char **type, const char **condition) {
  cloudnotify_op *op = t->op;
  if (type)
    *type = op->veto_type;
  if (condition)
    *condition = op->veto_condition;
  return op->result;
}

cloudnotify_loader *cn_task_loader(const cn_task *t) {
  return t->op ? t->op->loader : NULL;
}

cloudnotify_push *cn_task_push(const cn_task *t) {
  return t->op ? t->op->push : NULL;
}

/* ---- queues ---------------------------------------------------------- */

void cn_task_init(cn_task *t, cn_task_run run, cn_task_free free, const char *account,
                  cloudnotify_session *session) {
  memset(t, 0, sizeof *t);
  t->run = run;
  t->free = free;
  t->account = g_strdup(account);
  t->session = session;
  t->link.data = t;
}

void cn_task_fini(cn_task *t) {
  g_free(t->account);
}

gboolean cn_pending_any(const cloudnotify_ctx *ctx) {
  return g_hash_table_size(ctx->pending->accounts) > 0;
}

gboolean cn_pending_pinned(const cloudnotify_ctx *ctx, const char *account) {
  return ctx->pending && g_hash_table_size(ctx->pending->accounts) &&
         g_hash_table_contains(ctx->pending->accounts, account);
}

gboolean cn_pending_busy(cloudnotify_ctx *ctx, const char *account) {
  GHashTable *a = ctx->pending->accounts;
  /* The usual case, nothing parked anywhere, costs one comparison. */
  if (!g_hash_table_size(a))
    return FALSE;
  if (g_hash_table_contains(a, account))
    return TRUE;
  char *bare = cn_account_normalize(account);
  gboolean busy = bare && g_hash_table_contains(a, bare);
  g_free(bare);
  return busy;
}

gboolean cn_pending_no_reload(const cloudnotify_ctx *ctx) {
  return ctx->pending->no_reload;
}

static acct_queue *queue_of(cloudnotify_ctx *ctx, const char *account, gboolean create) {
  acct_queue *q = g_hash_table_lookup(ctx->pending->accounts, account);
  if (!q && create) {
    q = g_new0(acct_queue, 1);
    q->account = g_strdup(account);
    g_queue_init(&q->tasks);
    g_hash_table_insert(ctx->pending->accounts, q->account, q);
  }
  return q;
}

static void task_unlink(cloudnotify_ctx *ctx, acct_queue *q, cn_task *t) {
  g_queue_unlink(&q->tasks, &t->link);
  ctx->pending->parked--;
}

static void task_destroy(cn_task *t) {
  t->free(t);
}

void cn_pending_wait(cloudnotify_ctx *ctx, cn_task *t) {
  cn_pending *pd = ctx->pending;
  g_assert(pd->taken);
  t->op = NULL;
  t->waiting = pd->taken;
  pd->taken->task = t;
  pd->taken = NULL;
  acct_queue *q = queue_of(ctx, t->account, TRUE);
  g_queue_push_head_link(&q->tasks, &t->link);
  pd->parked++;
}

int cn_pending_enqueue(cloudnotify_ctx *ctx, cn_task *t) {
  acct_queue *q = queue_of(ctx, t->account, FALSE);
  if (ctx->pending->parked >= CLOUDNOTIFY_MAX_PARKED ||
      (q && q->tasks.length >= CLOUDNOTIFY_MAX_PARKED_PER_ACCOUNT)) {
    cn_log(ctx, CLOUDNOTIFY_LOG_WARN, "too much work parked for %s; call refused", t->account);
    task_destroy(t);
    return CLOUDNOTIFY_ERR_BUSY;
  }
  q = queue_of(ctx, t->account, TRUE);
  g_queue_push_tail_link(&q->tasks, &t->link);
  ctx->pending->parked++;
  return 0;
}

void cn_pending_after_load(cloudnotify_ctx *ctx, cn_task *t) {
  acct_queue *q = queue_of(ctx, t->account, TRUE);
  t->waits_load = TRUE;
  /* Behind the load, before anything that came later. */
  if (q->tasks.head)
    g_queue_insert_after_link(&q->tasks, q->tasks.head, &t->link);
  else
    g_queue_push_head_link(&q->tasks, &t->link);
  ctx->pending->parked++;
}

/* What a task's run returned: wait again, replay after a load, or done. */
static void task_settle(cloudnotify_ctx *ctx, cn_task *t, int rc) {
  if (rc == CN_WAIT) {
    cn_pending_wait(ctx, t);
  } else if (rc == CN_PARKED) {
    cn_pending_after_load(ctx, t);
  } else {
    if (rc < 0)
      cn_log(ctx, CLOUDNOTIFY_LOG_WARN, "parked work of %s ended with: %s", t->account,
             cloudnotify_strerror(rc));
    task_destroy(t);
  }
}

static void run_task(cloudnotify_ctx *ctx, cn_task *t) {
  cn_pending *pd = ctx->pending;
  gboolean saved = pd->no_reload;
  pd->no_reload = t->waits_load;
  t->waits_load = FALSE;
  int rc = t->run(ctx, t);
  t->op = NULL;
  pd->no_reload = saved;
  task_settle(ctx, t, rc);
}

/* Run the front tasks of account until one waits or none is left. */
static void drain(cloudnotify_ctx *ctx, const char *account) {
  char *acc = g_strdup(account);
  for (;;) {
    acct_queue *q = queue_of(ctx, acc, FALSE);
    if (!q)
      break;
    if (!q->tasks.head) {
      g_hash_table_remove(ctx->pending->accounts, acc);
      break;
    }
    cn_task *t = q->tasks.head->data;
    if (t->waiting)
      break;
    task_unlink(ctx, q, t);
    run_task(ctx, t);
  }
  g_free(acc);
  /* Work that finished may leave users beyond the cache bound. */
  cn_users_trim(ctx);
}

static int op_answer(cloudnotify_op *op, int result, const char *type, const char *cond,
                     gboolean veto_form) {
  if (!op)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  if (op->magic != OP_MAGIC)
    return CLOUDNOTIFY_ERR_OP_UNKNOWN;
  if (veto_form && op->kind != CLOUDNOTIFY_OP_REGISTRATION_FILTER)
    return CLOUDNOTIFY_ERR_OP_UNKNOWN;
  if (result == CLOUDNOTIFY_PENDING)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  switch (op->state) {
  case OP_GONE: return CLOUDNOTIFY_ERR_GONE;
  case OP_CANCELLED: return CLOUDNOTIFY_ERR_OP_CANCELLED;
  case OP_DONE: return CLOUDNOTIFY_ERR_OP_DONE;
  case OP_ASKING: return CLOUDNOTIFY_ERR_REENTRANT;
  case OP_IN_FLIGHT: break;
  }
  cloudnotify_ctx *ctx = op->ctx;
  CN_ENTER(ctx);
  op->result = result;
  op->veto_type = type;
  op->veto_condition = cond;
  cn_task *t = op->task;
  if (!t) {
    /* Cannot happen: an op in flight always has its task. */
    op_release(ctx, op, OP_DONE);
    return cn_leave(ctx, 0);
  }
  acct_queue *q = queue_of(ctx, t->account, FALSE);
  char *account = g_strdup(t->account);
  task_unlink(ctx, q, t);
  t->op = op;
  t->waiting = NULL;
  op->task = NULL;
  /* The task reads what it needs (loader, push) before the op lets go. */
  run_task(ctx, t);
  op_release(ctx, op, OP_DONE);
  drain(ctx, account);
  g_free(account);
  return cn_leave(ctx, 0);
}

int cloudnotify_op_complete(cloudnotify_op *op, int result) {
  return op_answer(op, result, NULL, NULL, FALSE);
}

int cloudnotify_op_veto(cloudnotify_op *op, const char *error_type, const char *error_condition) {
  /* The strings are checked against static lists by the enable task and
   * used only through those lists' own copies, so borrowing is safe. */
  return op_answer(op, 1, error_type, error_condition, TRUE);
}

void cn_pending_session_gone(cloudnotify_ctx *ctx, cloudnotify_session *s) {
  acct_queue *q = queue_of(ctx, s->account, FALSE);
  if (!q)
    return;
  gboolean front_freed = FALSE;
  for (GList *l = q->tasks.head; l;) {
    cn_task *t = l->data;
    l = l->next;
    if (t->session != s)
      continue;
    gboolean front = &t->link == q->tasks.head;
    if (t->survives_session) {
      t->session = NULL;
      continue;
    }
    if (t->waiting)
      op_release(ctx, t->waiting, OP_CANCELLED);
    task_unlink(ctx, q, t);
    task_destroy(t);
    front_freed |= front;
  }
  if (front_freed || !q->tasks.head)
    drain(ctx, s->account);
}

void cn_pending_fini(cloudnotify_ctx *ctx) {
  cn_pending *pd = ctx->pending;
  if (!pd)
    return;
  while (pd->ops.head)
    op_release(ctx, pd->ops.head->data, OP_GONE);
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, pd->accounts);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    acct_queue *q = v;
    cn_task *t;
    GList *l;
    while ((l = g_queue_pop_head_link(&q->tasks))) {
      t = l->data;
      task_destroy(t);
    }
  }
  g_hash_table_destroy(pd->accounts);
  g_free(pd);
  ctx->pending = NULL;
}

/* ---- replays --------------------------------------------------------- */

static void replay_free(cn_task *t) {
  cn_replay *r = (cn_replay *)t;
  g_free(r->xml);
  g_free(r->str);
  for (size_t i = 0; i < r->n; i++)
    g_free((char *)r->bufs[i].data);
  g_free(r->bufs);
  for (size_t i = 0; i < r->n_eps; i++) {
    g_free((char *)r->eps[i].jid);
    g_free((char *)r->eps[i].node);
  }
  g_free(r->eps);
  cn_task_fini(t);
  g_free(r);
}

static int replay_run(cloudnotify_ctx *ctx, cn_task *t) {
  cn_replay *r = (cn_replay *)t;
  return r->fn(ctx, r);
}

cn_replay *cn_replay_new(const char *account, cloudnotify_session *s, cn_replay_fn fn, int kind,
                         const char *xml, size_t len, const char *str, const cloudnotify_buf *bufs,
                         size_t n, const cloudnotify_endpoint *eps, size_t n_eps) {
  cn_replay *r = g_new0(cn_replay, 1);
  cn_task_init(&r->t, replay_run, replay_free, account, s);
  r->fn = fn;
  r->kind = kind;
  if (xml) {
    r->xml = g_strndup(xml, len);
    r->len = len;
  }
  r->str = g_strdup(str);
  if (n) {
    r->bufs = g_new0(cloudnotify_buf, n);
    r->n = n;
    for (size_t i = 0; i < n; i++) {
      /* An unreadable entry stays unreadable: it is skipped when replayed. */
      r->bufs[i].data = bufs[i].data ? g_strndup(bufs[i].data, bufs[i].len) : NULL;
      r->bufs[i].len = bufs[i].len;
    }
  }
  if (n_eps) {
    r->eps = g_new0(cloudnotify_endpoint, n_eps);
    r->n_eps = n_eps;
    for (size_t i = 0; i < n_eps; i++) {
      r->eps[i].jid = g_strdup(eps[i].jid);
      r->eps[i].node = g_strdup(eps[i].node);
    }
  }
  return r;
}

gboolean cn_pending_session_event(cloudnotify_session *s, cn_replay_fn fn, int kind,
                                  const char *xml, size_t len, const cloudnotify_buf *bufs,
                                  size_t n, uint32_t h, cn_timer_fn timer_fn, int *rc) {
  cloudnotify_ctx *ctx = s->ctx;
  if (!g_hash_table_size(ctx->pending->accounts) ||
      !g_hash_table_contains(ctx->pending->accounts, s->account))
    return FALSE;
  cn_replay *r = cn_replay_new(s->account, s, fn, kind, xml, len, NULL, bufs, n, NULL, 0);
  r->h = h;
  r->timer_fn = timer_fn;
  *rc = cn_pending_enqueue(ctx, &r->t);
  return TRUE;
}

/* A parked call keeps text only: the host's tree is borrowed for the call,
 * so a tree input is kept as the serialisation of the document it was
 * converted into, which parses back to an equal document. */
const char *cn_input_text(const cn_input *in, const xmlDoc *doc, GString **tmp, size_t *len) {
  *tmp = NULL;
  if (!in->tree) {
    *len = in->len;
    return in->xml;
  }
  *tmp = g_string_new(NULL);
  cn_xml_serialize(*tmp, xmlDocGetRootElement((xmlDoc *)doc));
  *len = (*tmp)->len;
  return (*tmp)->str;
}
