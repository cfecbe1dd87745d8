/* Work parked while the host answers later (pending.c).
 *
 * A callback that asks the host something (store load/save/remove, the
 * two filters) may answer CLOUDNOTIFY_PENDING.  The work that depends on
 * the answer is then kept as a task on its account's queue, and every
 * later event of that account is queued behind it, so that events of
 * one account are processed in the order they came whatever the host's
 * timing.  An account with a non-empty queue is "busy"; its cached user
 * stays in the cache until the queue is empty. */
#ifndef CN_PENDING_H
#define CN_PENDING_H

#include <glib.h>
#include <libxml/tree.h>

#include "cloudnotify/cloudnotify.h"
#include "timers.h"

/* Internal statuses, never returned to the host.  CN_PARKED: a load is
 * in flight; the entry point that called cn_user_get queues a replay of
 * itself behind it.  CN_WAIT: the task that got it waits on the op
 * handed over by the last cn_ask_end. */
#define CN_PARKED 2
#define CN_WAIT   3

typedef struct cn_task cn_task;
typedef int (*cn_task_run)(cloudnotify_ctx *ctx, cn_task *t);
typedef void (*cn_task_free)(cn_task *t);

/* A unit of parked work; concrete tasks embed it as their first member.
 * run is called when the task reaches the front of its queue and again
 * each time the op it waits on is answered (t->op set: read the answer
 * with cn_task_answer).  It returns CN_WAIT to wait again, CN_PARKED to
 * be replayed after a load, anything else when done. */
struct cn_task {
  cn_task_run run;
  cn_task_free free;            /* frees the task itself too */
  char *account;                /* owned, normalised */
  cloudnotify_session *session; /* the session whose work it is, or NULL */
  /* A store write in flight is finished even when its session goes, so
   * that memory keeps agreeing with the store; other work is dropped. */
  gboolean survives_session;
  gboolean waits_load;     /* replayed behind a load it started */
  cloudnotify_op *op;      /* answered op while run is called, else NULL */
  cloudnotify_op *waiting; /* the op in flight this task waits on */
  GList link;
};

/* ---- asking the host ------------------------------------------------ */

/* Around every callback that asks the host something: begin makes
 * cloudnotify_ctx_current_op available (and counts as being inside a
 * callback); end returns TRUE when the host took the op and answered
 * PENDING (the op then waits in the context for the task that will own
 * it: cn_pending_wait).  Otherwise *rc is the answer to use; an answer of
 * PENDING without a taken op is turned into -1 (a failure / veto). */
void cn_ask_begin(cloudnotify_ctx *ctx, cloudnotify_op_kind kind);
gboolean cn_ask_end(cloudnotify_ctx *ctx, int *rc);
/* The loader or push a taken op exposes (set between begin and end). */
void cn_ask_set_loader(cloudnotify_ctx *ctx, cloudnotify_loader *loader);
void cn_ask_set_push(cloudnotify_ctx *ctx, cloudnotify_push *push);

/* The answer of the op t was woken by.  For the registration
 * filter *type / *condition receive the veto's strings (NULL unless
 * given); they are static. */
int cn_task_answer(cn_task *t, const char **type, const char **condition);
/* The loader / push of the op t waits on (borrowed). */
cloudnotify_loader *cn_task_loader(const cn_task *t);
cloudnotify_push *cn_task_push(const cn_task *t);

/* ---- queues ---------------------------------------------------------- */

void cn_pending_init(cloudnotify_ctx *ctx);
/* Cancel everything (ops answer GONE from now on) and free. */
void cn_pending_fini(cloudnotify_ctx *ctx);
/* Nonzero when any work is parked. */
gboolean cn_pending_any(const cloudnotify_ctx *ctx);
/* Whether account (normalised or not) has parked work. */
gboolean cn_pending_busy(cloudnotify_ctx *ctx, const char *account);
/* Whether the normalised account's user must stay cached. */
gboolean cn_pending_pinned(const cloudnotify_ctx *ctx, const char *account);
/* Inside a task replayed after a load it started: the load failed if the
 * user is still not cached, and must not be asked again. */
gboolean cn_pending_no_reload(const cloudnotify_ctx *ctx);

/* Initialise the common part of a task; account is copied. */
void cn_task_init(cn_task *t, cn_task_run run, cn_task_free free, const char *account,
                  cloudnotify_session *session);
void cn_task_fini(cn_task *t);

/* The op taken by the last cn_ask_end goes to t, which goes to the front
 * of its account's queue (it continues the work that was running). */
void cn_pending_wait(cloudnotify_ctx *ctx, cn_task *t);
/* Queue t behind the parked work of its account (an event that came
 * while the account was busy).  0, or CLOUDNOTIFY_ERR_BUSY when a bound
 * is reached (t is then freed). */
int cn_pending_enqueue(cloudnotify_ctx *ctx, cn_task *t);
/* Queue t right behind the load that cn_user_get just parked. */
void cn_pending_after_load(cloudnotify_ctx *ctx, cn_task *t);

/* A session is going: its queued work is dropped, its ops cancelled. */
void cn_pending_session_gone(cloudnotify_ctx *ctx, cloudnotify_session *s);

/* ---- replays: an API call made again once the account is free -------- */

typedef struct cn_replay cn_replay;
typedef int (*cn_replay_fn)(cloudnotify_ctx *ctx, cn_replay *r);

/* Copies of the call's inputs. */
struct cn_replay {
  cn_task t;
  cn_replay_fn fn;
  int kind;
  char *xml;
  size_t len;
  char *str;
  cloudnotify_buf *bufs;
  size_t n;
  cloudnotify_endpoint *eps;
  size_t n_eps;
  uint32_t h;
  cn_timer_fn timer_fn;
};

/* A replay holding copies of the given inputs (xml/str/bufs/eps may be
 * NULL). */
cn_replay *cn_replay_new(const char *account, cloudnotify_session *s, cn_replay_fn fn, int kind,
                         const char *xml, size_t len, const char *str, const cloudnotify_buf *bufs,
                         size_t n, const cloudnotify_endpoint *eps, size_t n_eps);
/* Queue a replay of a session event (or timer) when the session's account
 * is busy: TRUE when queued, *rc then holds the entry point's answer. */
gboolean cn_pending_session_event(cloudnotify_session *s, cn_replay_fn fn, int kind,
                                  const char *xml, size_t len, const cloudnotify_buf *bufs,
                                  size_t n, uint32_t h, cn_timer_fn timer_fn, int *rc);

/* The text a parked call keeps of its input (in->xml, or doc serialised
 * into *tmp, which the caller frees with g_string_free when not NULL). */
struct cn_input;
const char *cn_input_text(const struct cn_input *in, const xmlDoc *doc, GString **tmp, size_t *len);

#endif
