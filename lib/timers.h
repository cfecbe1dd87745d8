/* Deadlines on the monotonic clock, kept in one ordered set per
 * context.  A base room: it knows what a deadline is, not what a timer
 * is for.  Internal. */
#ifndef CN_TIMERS_H
#define CN_TIMERS_H

#include <stdint.h>

#include <glib.h>

#include "cloudnotify/cloudnotify.h"

typedef void (*cn_timer_fn)(cloudnotify_ctx *ctx, void *data);

/* Embedded by its owner (a session, the outstanding table); armed and
 * cancelled only through the functions below. */
typedef struct cn_timer {
  int64_t deadline; /* absolute, monotonic clock (cn_mono) */
  guint64 seq;      /* orders equal deadlines by creation */
  cn_timer_fn fn;
  void *data;
  GSequenceIter *iter; /* NULL when not armed */
} cn_timer;

void cn_timers_init(cloudnotify_ctx *ctx);
void cn_timers_clear(cloudnotify_ctx *ctx);
/* (Re)arm t to fire after delay_ms. */
void cn_timer_arm(cloudnotify_ctx *ctx, cn_timer *t, int64_t delay_ms, cn_timer_fn fn, void *data);
/* (Re)arm t to fire at the absolute monotonic deadline. */
void cn_timer_arm_at(cloudnotify_ctx *ctx, cn_timer *t, int64_t deadline, cn_timer_fn fn,
                     void *data);
void cn_timer_cancel(cloudnotify_ctx *ctx, cn_timer *t);
gboolean cn_timer_armed(const cn_timer *t);
/* Earliest absolute deadline of every timer source, or INT64_MAX. */
int64_t cn_timers_next_deadline(const cloudnotify_ctx *ctx);
/* Run due timers; returns after no timer is due. */
void cn_timers_run(cloudnotify_ctx *ctx);

#endif
