/* The one getter for counters and gauges. */
#include "counters.h"

#include "ctx.h"

/* Public plain counters are the internal index plus one. */
#define PLAIN_COUNTERS ((int)CN_C_REMOVED)
G_STATIC_ASSERT(CLOUDNOTIFY_COUNTER_PUBLISHES_SENT == CN_C_PUBLISHES_SENT + 1);
G_STATIC_ASSERT(CLOUDNOTIFY_COUNTER_REPLIES_NOT_MINE == CN_C_REPLIES_NOT_MINE + 1);
G_STATIC_ASSERT(CLOUDNOTIFY_COUNTER_STORE_FAILURES == CN_C_STORE_FAILURES + 1);
G_STATIC_ASSERT(CLOUDNOTIFY_COUNTER_LOG_MESSAGES == CN_C_LOG_MESSAGES + 1);
G_STATIC_ASSERT(CLOUDNOTIFY_COUNTER_SUPPRESSED_QUIET == CN_C_SUPPRESSED_QUIET + 1);
G_STATIC_ASSERT(CLOUDNOTIFY_COUNTER_REPLIES_TRANSIENT == CN_C_REPLIES_TRANSIENT + 1);
G_STATIC_ASSERT((int)CLOUDNOTIFY_COUNTER_PUBLISHES_ENCRYPTED == PLAIN_COUNTERS);
G_STATIC_ASSERT(CLOUDNOTIFY_COUNTER_REMOVED_CLIENT_REPLACED - CLOUDNOTIFY_COUNTER_REMOVED_BASE <=
                CN_C_REMOVED_LAST - CN_C_REMOVED);

int cloudnotify_ctx_get_counter(const cloudnotify_ctx *ctx, cloudnotify_counter which,
                                uint64_t *out) {
  if (!ctx || !out)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  *out = 0;
  int w = (int)which;
  if (w >= 1 && w <= PLAIN_COUNTERS) {
    *out = ctx->counters[w - 1];
    return 0;
  }
  /* Only reasons the header names: a reserved slot is not a counter yet. */
  if (w > CLOUDNOTIFY_COUNTER_REMOVED_BASE && w <= CLOUDNOTIFY_COUNTER_REMOVED_CLIENT_REPLACED) {
    *out = ctx->counters[CN_C_REMOVED + (w - CLOUDNOTIFY_COUNTER_REMOVED_BASE)];
    return 0;
  }
  switch (which) {
  case CLOUDNOTIFY_GAUGE_OUTSTANDING: *out = g_hash_table_size(ctx->outstanding); return 0;
  case CLOUDNOTIFY_GAUGE_CACHED_ACCOUNTS: *out = g_hash_table_size(ctx->users); return 0;
  case CLOUDNOTIFY_GAUGE_SESSIONS: *out = g_list_length(ctx->sessions); return 0;
  default: return CLOUDNOTIFY_ERR_UNKNOWN_OPTION;
  }
}
