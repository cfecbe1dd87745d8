/* Counters of what the library did, read by cloudnotify_ctx_get_counter.
 * Each event is counted at the one place it happens with CN_COUNT; the
 * internal index is dense, the public enum has room between its blocks. */
#ifndef CN_COUNTERS_H
#define CN_COUNTERS_H

#include <stdint.h>

typedef enum cn_counter {
  CN_C_PUBLISHES_SENT,
  CN_C_PUBLISHES_VETOED,
  CN_C_PUBLISHES_REFUSED,
  CN_C_PUBLISHES_DEDUPLICATED,
  CN_C_PUBLISHES_EXPIRED,
  CN_C_PUBLISHES_DROPPED,
  CN_C_PUBLISHES_FORGOTTEN,
  CN_C_REPLIES_OK,
  CN_C_REPLIES_ERROR,
  CN_C_REPLIES_WAIT,
  CN_C_REPLIES_FOREIGN,
  CN_C_REPLIES_NOT_MINE,
  CN_C_ENABLES,
  CN_C_DISABLES,
  CN_C_STORE_FAILURES,
  CN_C_CACHE_HITS,
  CN_C_CACHE_MISSES,
  CN_C_INPUTS_REJECTED,
  CN_C_STORE_RECORDS_REJECTED,
  CN_C_LOG_MESSAGES,
  /* 0.3 */
  CN_C_SUPPRESSED_QUIET,
  CN_C_SUPPRESSED_GRACE,
  CN_C_SUPPRESSED_RATE,
  CN_C_SUPPRESSED_FILTER,
  CN_C_SUPPRESSED_BACKOFF,
  CN_C_CALLS_PUSHED,
  CN_C_CALLS_STALE,
  CN_C_REPLIES_TRANSIENT,
  CN_C_PUBLISHES_ENCRYPTED,
  /* one per removal reason, CN_C_REMOVED + reason; room for more */
  CN_C_REMOVED,
  CN_C_REMOVED_LAST = CN_C_REMOVED + 15,
  CN_C_COUNT
} cn_counter;

#define CN_COUNT(ctx, which) ((ctx)->counters[(which)]++)

#endif
