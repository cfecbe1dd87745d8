/* The per-device decisions of a push (push-gate.h): grace period, window
 * of visible pushes, hourly budget of silent ones, and the message count
 * a publish carries.
 *
 * Why these defaults (docs/features.md, "Quiet devices"): APNs delivers a
 * priority-10 push at once and wants it to show something; a burst of
 * them for one conversation buzzes the phone once per message although
 * the app fetches everything after the first.  One visible push per 3 s
 * keeps the first alert immediate and folds a burst into it (its
 * message-count grows instead).  Background (content-available) pushes
 * Apple budgets at "two or three per hour"; beyond that it delays or
 * drops them, and Google lowers the priority of an app whose
 * high-priority messages show nothing.  So 3 silent pushes an hour. */
#include "push-gate.h"

#include <limits.h>

#include "counters.h"
#include "ctx.h"
#include "push.h"
#include "registry.h"
#include "rules.h"
#include "session.h"

#define HOUR_MS INT64_C(3600000)

/* The silent budget N in any sliding hour, in O(1) memory: a ring of the
 * latest CN_GATE_RING push times.  For N <= CN_GATE_RING the rule is
 * exact: a push goes when fewer than N went in the hour before it.  For a
 * larger N the ring cannot hold an hour, so the rule becomes "at most R =
 * CN_GATE_RING in any window of W = 1 h / k", k = floor(N / R): an hour
 * is covered by k such windows, so it still never sends more than k * R
 * <= N in any hour (and at least N - R + 1 when pushes are spread out).
 * A token bucket was the other choice: as small, but a full bucket of N
 * plus an hour's refill lets up to 2N through in one sliding hour, which
 * is the burst Apple's budget punishes. */
static gboolean silent_ok(const cloudnotify_ctx *ctx, const cn_gate_state *g, int64_t now) {
  int64_t n = ctx->opt.silent_per_hour;
  if (n <= 0)
    return TRUE;
  unsigned r = n < CN_GATE_RING ? (unsigned)n : CN_GATE_RING;
  int64_t k = n / r;
  int64_t window = (HOUR_MS + k - 1) / k;
  if (g->silent_n < r)
    return TRUE;
  int64_t oldest = g->silent_at[(g->silent_next + CN_GATE_RING - r) % CN_GATE_RING];
  return now - oldest >= window;
}

static gboolean visible_ok(const cloudnotify_ctx *ctx, const cn_gate_state *g, int64_t now) {
  return ctx->opt.visible_interval_ms <= 0 || !g->visible_sent ||
         now - g->visible_at >= ctx->opt.visible_interval_ms;
}

/* How long ago another session than r's own was active, or -1.  A
 * session bound to r is the device itself: its activity resets the
 * count instead. */
static int64_t other_activity_age(const cn_reg *r, int64_t now) {
  const cn_gate_activity *a = &r->user->activity;
  for (int i = 0; i < 2; i++) {
    const cloudnotify_session *s = a->session[i];
    if (s && !s->dead && s->reg != r)
      return now - a->at[i];
  }
  return -1;
}

int cn_gate_admit(cloudnotify_ctx *ctx, cn_reg *r, cloudnotify_push *p) {
  cn_gate_state *g = &r->gate;
  const cn_summary *sum = p->sum;
  if (!sum) {
    /* A ping or a wake-up carries no count and passes every rule: the
     * host asked for it, or the session dies without it.  A badge clear
     * (badge.c) says 0. */
    if (g->clearing) {
      p->counted = TRUE;
      p->count = 0;
      g->clearing = FALSE;
    }
    return 1;
  }
  /* Counted before deciding: what is held back is announced by the next
   * push that goes. */
  unsigned n = p->covered ? p->covered->len : 1;
  g->count = n > UINT_MAX - g->count ? UINT_MAX : g->count + n;
  p->count = g->count;
  p->counted = TRUE;
  if (sum->urgent)
    return 1;
  int64_t now = cn_mono(ctx);
  int64_t grace = ctx->opt.grace_period * 1000;
  int64_t age = grace > 0 ? other_activity_age(r, now) : -1;
  const char *rule;
  if (age >= 0 && age < grace) {
    CN_COUNT(ctx, CN_C_SUPPRESSED_GRACE);
    rule = "grace period (another session is active)";
  } else if (sum->important ? !visible_ok(ctx, g, now) : !silent_ok(ctx, g, now)) {
    CN_COUNT(ctx, CN_C_SUPPRESSED_RATE);
    rule = sum->important ? "visible interval" : "silent pushes per hour";
  } else {
    return 1;
  }
  cn_log_id(ctx, CLOUDNOTIFY_LOG_DEBUG, CLOUDNOTIFY_LOG_ID_PUSH_SUPPRESSED,
            "%s push to %s for %s suppressed: %s (%u held)",
            sum->important ? "important" : "unimportant", r->jid, r->user->account, rule, g->count);
  return 0;
}

void cn_gate_sent(cloudnotify_ctx *ctx, const cloudnotify_push *p) {
  /* The push keeps a read-only view of its registration; the gate's
   * bookkeeping is the one thing a sent push changes on it. */
  cn_gate_state *g = &((cn_reg *)p->reg)->gate;
  if (p->counted)
    g->count = 0;
  /* Calls, pings, wake-ups and badge clears neither use the window nor
   * the budget: they bypass them. */
  if (!p->sum || p->sum->urgent)
    return;
  int64_t now = cn_mono(ctx);
  if (p->sum->important) {
    g->visible_sent = TRUE;
    g->visible_at = now;
    return;
  }
  g->silent_at[g->silent_next] = now;
  g->silent_next = (g->silent_next + 1) % CN_GATE_RING;
  if (g->silent_n < CN_GATE_RING)
    g->silent_n++;
}

void cn_gate_reset_count(cn_reg *r) {
  r->gate.count = 0;
}

void cn_gate_session_active(cloudnotify_ctx *ctx, cloudnotify_session *s) {
  cn_gate_activity *a = &s->user->activity;
  int64_t now = cn_mono(ctx);
  if (a->session[0] != s) {
    a->session[1] = a->session[0];
    a->at[1] = a->at[0];
    a->session[0] = s;
  }
  a->at[0] = now;
}

void cn_gate_session_gone(cloudnotify_session *s) {
  if (!s->user)
    return;
  cn_gate_activity *a = &s->user->activity;
  if (a->session[1] == s)
    a->session[1] = NULL;
  if (a->session[0] == s) {
    a->session[0] = a->session[1];
    a->at[0] = a->at[1];
    a->session[1] = NULL;
  }
}
