/* Deadlines on the monotonic clock, kept in one ordered set per
 * context.  A base room: it knows what a deadline is, not what a timer
 * is for nor which clock the caller read.  Internal. */
#ifndef CN_TIMERS_H
#define CN_TIMERS_H

#include <stdint.h>

#include <glib.h>

#include "cloudnotify/cloudnotify.h"

typedef void (*cn_timer_fn)(cloudnotify_ctx *ctx, void *data);

/* Embedded by its owner (a session, the outstanding table); armed and
 * cancelled only through the functions below. */
typedef struct cn_timer {
  int64_t deadline; /* absolute, monotonic clock */
  guint64 seq;      /* orders equal deadlines by creation */
  cn_timer_fn fn;
  void *data;
  GSequenceIter *iter; /* NULL when not armed */
} cn_timer;

/* The ordered set of armed timers: one per context. */
typedef struct cn_timers {
  GSequence *seq; /* cn_timer*, by deadline then seq */
  guint64 next_seq;
} cn_timers;

void cn_timers_init(cn_timers *set);
/* Disarm everything (the timers stay their owners') and free the set. */
void cn_timers_clear(cn_timers *set);
/* (Re)arm t to fire delay_ms after now (monotonic), saturating. */
void cn_timer_arm(cn_timers *set, cn_timer *t, int64_t now, int64_t delay_ms, cn_timer_fn fn,
                  void *data);
/* (Re)arm t to fire at the absolute monotonic deadline. */
void cn_timer_arm_at(cn_timers *set, cn_timer *t, int64_t deadline, cn_timer_fn fn, void *data);
void cn_timer_cancel(cn_timer *t);
gboolean cn_timer_armed(const cn_timer *t);
/* Earliest absolute deadline, or INT64_MAX when none (or the set is
 * cleared). */
int64_t cn_timers_next_deadline(const cn_timers *set);
/* Run the timers due at now, handing ctx to each; returns when none is
 * due. */
void cn_timers_run(cn_timers *set, int64_t now, cloudnotify_ctx *ctx);

#endif
