/* Calls and quiet: the delay stamp of a Jingle Message Initiation
 * propose, the age bound, the quiet check every path makes, and the
 * accessors of a call.  See calls.h, rules.h and docs/features.md
 * ("Calls", "Quiet"). */
#include "calls.h"

#include <string.h>

#include "counters.h"
#include "ctx.h"
#include "notify.h"
#include "push.h"

/* ---- the age bound --------------------------------------------------- */

void cn_calls_settle(cloudnotify_ctx *ctx, cn_summary *sum) {
  if (!sum->urgent || (!sum->delay_bad && sum->delay_ms == INT64_MAX))
    return;
  /* A malformed stamp counts as stale.  A propose that is still ringing
   * reaches the server live, without any <delay/>: only a stored copy
   * (offline storage, a replayed queue, the archive) carries one, and a
   * stored copy whose age cannot be told may be hours old.  Ringing for a
   * call that is over is the worse mistake: the user answers nothing, and
   * an iOS app that gets a VoIP push must show a call for it.  The
   * message still goes out as an important push (a missed call). */
  int64_t max_ms = ctx->opt.call_max_age * 1000;
  if (!sum->delay_bad && cn_now(ctx) - sum->delay_ms < max_ms)
    return;
  sum->urgent = 0;
  g_clear_pointer(&sum->call_id, g_free);
  g_clear_pointer(&sum->call_media, g_strfreev);
  CN_COUNT(ctx, CN_C_CALLS_STALE);
  cn_log(ctx, CLOUDNOTIFY_LOG_DEBUG, "a call from %s is %s: pushed as a missed call",
         sum->sender ? sum->sender : "(nobody)", sum->delay_bad ? "of unknown age" : "stale");
}

/* ---- quiet ----------------------------------------------------------- */

gboolean cn_quiet_drop(cloudnotify_ctx *ctx, const cn_summary *sum) {
  if (!ctx->opt.quiet || !sum->invisible || sum->skip)
    return FALSE;
  CN_COUNT(ctx, CN_C_SUPPRESSED_QUIET);
  cn_log_id(ctx, CLOUDNOTIFY_LOG_DEBUG, CLOUDNOTIFY_LOG_ID_PUSH_SUPPRESSED,
            "quiet: nothing to see in a message from %s", sum->sender ? sum->sender : "(nobody)");
  return TRUE;
}

/* ---- accessors ------------------------------------------------------- */

void cn_calls_published(cloudnotify_ctx *ctx, const cn_summary *sum) {
  if (sum && sum->urgent)
    CN_COUNT(ctx, CN_C_CALLS_PUSHED);
}

gboolean cn_calls_remain(const GPtrArray *sums, guint from) {
  for (guint i = from; i < sums->len; i++) {
    const cn_summary *sum = sums->pdata[i];
    if (sum->urgent && !sum->skip)
      return TRUE;
  }
  return FALSE;
}

const char *cn_call_id(const cn_summary *sum) {
  return sum && sum->urgent ? sum->call_id : NULL;
}

const char *const *cn_call_media(const cn_summary *sum) {
  return sum && sum->urgent ? (const char *const *)sum->call_media : NULL;
}

const char *cn_push_call_id(const cloudnotify_push *push) {
  return push ? cn_call_id(push->sum) : NULL;
}

const char *const *cn_push_call_media(const cloudnotify_push *push) {
  return push ? cn_call_media(push->sum) : NULL;
}

int cloudnotify_push_is_call(const cloudnotify_push *push) {
  return cn_push_call_id(push) != NULL;
}

const char *cloudnotify_push_call_id(const cloudnotify_push *push) {
  return cn_push_call_id(push);
}

/* ---- sessions -------------------------------------------------------- */

void cn_calls_session_push(cloudnotify_ctx *ctx, cloudnotify_session *s, const cn_summary *sum) {
  GPtrArray *one = g_ptr_array_new();
  g_ptr_array_add(one, (gpointer)sum);
  /* The batch machinery parks the push when the filter answers later,
   * with a copy of the summary. */
  cn_notify_batch(ctx, s, one);
  g_ptr_array_free(one, TRUE);
}
