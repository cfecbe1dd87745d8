/* Timers on the host's clock.  The library owns no loop: it keeps its
 * deadlines in one ordered sequence and the host calls tick when the
 * earliest is due.  The clock is read by the caller: this file knows
 * deadlines, not what reads them or what a timer is for. */
#include "timers.h"

static gint timer_cmp(gconstpointer a, gconstpointer b, gpointer unused) {
  const cn_timer *x = a, *y = b;
  if (x->deadline != y->deadline)
    return x->deadline < y->deadline ? -1 : 1;
  return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

void cn_timers_init(cn_timers *set) {
  set->seq = g_sequence_new(NULL);
  set->next_seq = 0;
}

void cn_timers_clear(cn_timers *set) {
  GSequenceIter *it = g_sequence_get_begin_iter(set->seq);
  while (!g_sequence_iter_is_end(it)) {
    cn_timer *t = g_sequence_get(it);
    t->iter = NULL;
    it = g_sequence_iter_next(it);
  }
  g_sequence_free(set->seq);
  set->seq = NULL;
}

void cn_timer_arm(cn_timers *set, cn_timer *t, int64_t now, int64_t delay_ms, cn_timer_fn fn,
                  void *data) {
  cn_timer_arm_at(set, t, delay_ms > INT64_MAX - now ? INT64_MAX - 1 : now + delay_ms, fn, data);
}

void cn_timer_arm_at(cn_timers *set, cn_timer *t, int64_t deadline, cn_timer_fn fn, void *data) {
  cn_timer_cancel(t);
  t->deadline = deadline;
  t->seq = ++set->next_seq;
  t->fn = fn;
  t->data = data;
  t->iter = g_sequence_insert_sorted(set->seq, t, timer_cmp, NULL);
}

void cn_timer_cancel(cn_timer *t) {
  if (!t->iter)
    return;
  g_sequence_remove(t->iter);
  t->iter = NULL;
}

gboolean cn_timer_armed(const cn_timer *t) {
  return t->iter != NULL;
}

int64_t cn_timers_next_deadline(const cn_timers *set) {
  if (!set->seq || g_sequence_is_empty(set->seq))
    return INT64_MAX;
  const cn_timer *t = g_sequence_get(g_sequence_get_begin_iter(set->seq));
  return t->deadline;
}

void cn_timers_run(cn_timers *set, int64_t now, cloudnotify_ctx *ctx) {
  /* One timer at a time from the front: a timer's function may arm or
   * cancel others, so no iterator is kept across the call. */
  for (;;) {
    if (g_sequence_is_empty(set->seq))
      break;
    GSequenceIter *it = g_sequence_get_begin_iter(set->seq);
    cn_timer *t = g_sequence_get(it);
    if (t->deadline > now)
      break;
    g_sequence_remove(it);
    t->iter = NULL;
    t->fn(ctx, t->data);
  }
}
