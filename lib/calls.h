/* Calls (Jingle Message Initiation) and quiet (push_quiet): the parts of
 * issue 11's "Calls" and "Quiet where nothing is to be seen" that need
 * the context.  Classification itself is rules.c's.  Internal. */
#ifndef CN_CALLS_H
#define CN_CALLS_H

#include <stdint.h>

#include <glib.h>

#include "cloudnotify/cloudnotify.h"
#include "rules.h"

/* After classification, where the clock is: a call whose delay stamp is
 * older than push_call_max_age, or malformed, is no call (urgent, call_id
 * and call_media cleared; important and the call key stay, so later
 * copies of it are still one stanza), counted CN_C_CALLS_STALE.  Called
 * once per stanza a trigger or session summarises (cn_summarize_root). */
void cn_calls_settle(cloudnotify_ctx *ctx, cn_summary *sum);

/* push_quiet: TRUE when the stanza of sum must not be pushed because it
 * carries nothing a user sees; it is then counted
 * (CN_C_SUPPRESSED_QUIET) and logged (PUSH_SUPPRESSED).  The one check
 * every path makes (triggers.c, session.c), once per stanza. */
gboolean cn_quiet_drop(cloudnotify_ctx *ctx, const cn_summary *sum);

/* A call publish went out (CN_C_CALLS_PUSHED). */
void cn_calls_published(cloudnotify_ctx *ctx, const cn_summary *sum);

/* The call a summary or a push stands for, for the code that marks call
 * pushes (the Tigase extensions): the propose's id, NULL when it is no
 * call; its media, a NULL-terminated array of distinct strings ("audio",
 * "video", in document order; empty when the propose names none), NULL
 * when it is no call.  Borrowed from the summary (the push's summary
 * lives as long as the push).  NULL-safe. */
const char *cn_call_id(const cn_summary *sum);
const char *const *cn_call_media(const cn_summary *sum);
const char *cn_push_call_id(const cloudnotify_push *push);
const char *const *cn_push_call_media(const cloudnotify_push *push);

/* A stanza queued for a hibernated session's registration that is a
 * call: pushed at once, alone, without waiting for the coalescing window
 * (a call rings for seconds).  sum stays the caller's. */
void cn_calls_session_push(cloudnotify_ctx *ctx, cloudnotify_session *s, const cn_summary *sum);

/* Whether sums[from..] holds a call still to push (not skipped): a
 * session batch pushes each call alone, besides its one important and
 * one unimportant push, so it goes on while one remains (notify.c). */
gboolean cn_calls_remain(const GPtrArray *sums, guint from);

#endif
