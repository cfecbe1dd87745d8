/* The per-device decisions (push-gate.c): whether a registration may be
 * pushed now for a stanza — the grace period after another session's
 * activity, the window of visible pushes, the hourly budget of silent
 * ones — and the registration's message count.  Asked once per publish,
 * after de-duplication and before the notification filter.
 *
 * The state lives in memory only, on the registration (cn_gate_state in
 * cn_reg) and on the account (cn_gate_activity in cn_user): a user that
 * leaves the cache, a restart, another node or an enable that replaces
 * the registration start afresh (count 0, window and budget unused, no
 * activity).  Losing it can only let one push more through, never hold
 * one back.  Internal. */
#ifndef CN_PUSH_GATE_H
#define CN_PUSH_GATE_H

#include <stdint.h>

#include <glib.h>

#include "cloudnotify/cloudnotify.h"

typedef struct cn_reg cn_reg;

/* Timestamps kept for the silent budget: the budget is exact up to this
 * many pushes an hour (see push-gate.c for larger budgets). */
#define CN_GATE_RING 8

/* What a registration remembers between pushes. */
typedef struct cn_gate_state {
  unsigned count;                  /* stanzas since last pushed or active */
  gboolean clearing;               /* the push being built is a badge clear */
  gboolean visible_sent;           /* visible_at is set */
  int64_t visible_at;              /* monotonic ms of the last important push */
  int64_t silent_at[CN_GATE_RING]; /* monotonic ms of the latest unimportant ones */
  unsigned silent_next;            /* ring slot the next one goes to */
  unsigned silent_n;               /* slots in use */
} cn_gate_state;

/* What an account remembers of its sessions' activity: the two latest,
 * from two distinct sessions (newest first), which is enough to know the
 * latest activity of any session other than a given one.  The sessions
 * are attached ones (cn_session_attach) and leave on destruction. */
typedef struct cn_gate_activity {
  const cloudnotify_session *session[2];
  int64_t at[2];
} cn_gate_activity;

/* Before the filter: counts the stanzas p stands for into r's count,
 * then decides.  1: go on (p->count and p->counted are set); 0: the push
 * is suppressed (counted, logged; the caller remembers the stanzas as
 * pushed and frees p).  Pings, wake-ups and badge clears (no summary)
 * and calls always go on. */
int cn_gate_admit(cloudnotify_ctx *ctx, cn_reg *r, cloudnotify_push *p);
/* p went out to the app server: resets the count, uses the window or
 * the budget. */
void cn_gate_sent(cloudnotify_ctx *ctx, const cloudnotify_push *p);
/* The message count of r starts again (its session is active). */
void cn_gate_reset_count(cn_reg *r);
/* s (attached) showed its user at work: starts push_grace_period for the
 * account's other registrations. */
void cn_gate_session_active(cloudnotify_ctx *ctx, cloudnotify_session *s);
/* s is going: its activity no longer holds pushes. */
void cn_gate_session_gone(cloudnotify_session *s);

#endif
