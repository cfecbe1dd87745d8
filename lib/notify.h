/* Notifications (notify.c): summarising a stanza, deciding and sending
 * the publish for a registration, and the notification filter's view of
 * it.  Internal. */
#ifndef CN_NOTIFY_H
#define CN_NOTIFY_H

#include <glib.h>
#include <libxml/tree.h>

#include "cloudnotify/cloudnotify.h"
#include "rules.h"

typedef struct cn_reg cn_reg;
typedef struct cn_task cn_task;

/* Parse and classify a stanza; 0 or XML/TOO_LARGE. */
int cn_summarize(cloudnotify_ctx *ctx, const char *account, const char *xml, size_t len,
                 cn_summary *out);
/* Classify an already parsed stanza (cn_summarize without the parse). */
void cn_summarize_root(cloudnotify_ctx *ctx, const char *account, const xmlNode *root,
                       cn_summary *out);
/* A deep copy (g_new; cn_summary_free). */
cn_summary *cn_summary_copy(const cn_summary *s);

/* Push for one stanza (sum NULL: ping) to r unless r was already pushed
 * for this stanza.  Returns 1 when a publish was sent, 0 otherwise, or
 * CN_WAIT (pending.h) when the notification filter answers later: the
 * caller parks the rest of its work on the op. */
int cn_notify(cloudnotify_ctx *ctx, cn_reg *r, cloudnotify_session *session, const cn_summary *sum);
/* As cn_notify for sum, on behalf of every summary in covered (sum among
 * them, none already pushed to r): the publish's message-count is their
 * number, and each is remembered as pushed. */
int cn_notify_covering(cloudnotify_ctx *ctx, cn_reg *r, cloudnotify_session *session,
                       const cn_summary *sum, GPtrArray *covered);
/* Process a batch of summaries for a session's registration: at most one
 * important and one unimportant push.  Returns pushes sent before it
 * returned; a filter answering later parks the rest (with copies). */
unsigned cn_notify_batch(cloudnotify_ctx *ctx, cloudnotify_session *s, GPtrArray *summaries);

/* The publish p stands for, as every push builds it (diag.c's test
 * push); cn_el_free it. */
struct cn_el *cn_notify_build_publish(const char *id, const char *from, const cloudnotify_push *p);

/* ---- for pending.c: a notification filter answered later ------------ */

/* The pending push of a notification filter op. */
void cn_push_free(cloudnotify_push *p);
/* Report a push whose filter question was cancelled (VETOED). */
void cn_push_cancelled(cloudnotify_ctx *ctx, const cloudnotify_push *p);
/* Finish a push whose filter answered (t->op); 1 when sent. */
int cn_notify_resume(cloudnotify_ctx *ctx, cn_task *t);
/* cn_notify answered CN_WAIT for a single push; the op goes to a task
 * that finishes it. */
void cn_notify_single_wait(cloudnotify_ctx *ctx, const char *account, cloudnotify_session *s);

#endif
