/* Timers on the host's clock.  The library owns no loop: it keeps its
 * deadlines in one ordered sequence and the host calls tick when the
 * earliest is due. */
#include "timers.h"

#include "ctx.h"

static gint timer_cmp(gconstpointer a, gconstpointer b, gpointer unused) {
  const cn_timer *x = a, *y = b;
  if (x->deadline != y->deadline)
    return x->deadline < y->deadline ? -1 : 1;
  return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

void cn_timers_init(cloudnotify_ctx *ctx) {
  ctx->timers = g_sequence_new(NULL);
}

void cn_timers_clear(cloudnotify_ctx *ctx) {
  GSequenceIter *it = g_sequence_get_begin_iter(ctx->timers);
  while (!g_sequence_iter_is_end(it)) {
    cn_timer *t = g_sequence_get(it);
    t->iter = NULL;
    it = g_sequence_iter_next(it);
  }
  g_sequence_free(ctx->timers);
  ctx->timers = NULL;
}

void cn_timer_arm(cloudnotify_ctx *ctx, cn_timer *t, int64_t delay_ms, cn_timer_fn fn, void *data) {
  int64_t now = cn_mono(ctx);
  cn_timer_arm_at(ctx, t, delay_ms > INT64_MAX - now ? INT64_MAX - 1 : now + delay_ms, fn, data);
}

void cn_timer_arm_at(cloudnotify_ctx *ctx, cn_timer *t, int64_t deadline, cn_timer_fn fn,
                     void *data) {
  cn_timer_cancel(ctx, t);
  t->deadline = deadline;
  t->seq = ++ctx->timer_seq;
  t->fn = fn;
  t->data = data;
  t->iter = g_sequence_insert_sorted(ctx->timers, t, timer_cmp, NULL);
}

void cn_timer_cancel(cloudnotify_ctx *ctx, cn_timer *t) {
  if (!t->iter)
    return;
  g_sequence_remove(t->iter);
  t->iter = NULL;
}

gboolean cn_timer_armed(const cn_timer *t) {
  return t->iter != NULL;
}

int64_t cn_timers_next_deadline(const cloudnotify_ctx *ctx) {
  if (!ctx->timers || g_sequence_is_empty(ctx->timers))
    return INT64_MAX;
  const cn_timer *t = g_sequence_get(g_sequence_get_begin_iter(ctx->timers));
  return t->deadline;
}

void cn_timers_run(cloudnotify_ctx *ctx) {
  int64_t now = cn_mono(ctx);
  /* One timer at a time from the front: a timer's function may arm or
   * cancel others, so no iterator is kept across the call. */
  for (;;) {
    if (g_sequence_is_empty(ctx->timers))
      break;
    GSequenceIter *it = g_sequence_get_begin_iter(ctx->timers);
    cn_timer *t = g_sequence_get(it);
    if (t->deadline > now)
      break;
    g_sequence_remove(it);
    t->iter = NULL;
    t->fn(ctx, t->data);
  }
}
