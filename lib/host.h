/* Every call into the host goes through these helpers (defined in
 * ctx.c) and pending.c's cn_ask_begin / cn_ask_end: the filters and the
 * store may answer later, and they then return CN_WAIT (pending.h) with
 * the op handed to the caller's task; store answers, now or later, are
 * counted and logged by cn_store_checked.  Internal. */
#ifndef CN_HOST_H
#define CN_HOST_H

#include <glib.h>

#include "cloudnotify/cloudnotify.h"

typedef struct cn_reg cn_reg;

/* 0 or CLOUDNOTIFY_ERR_SEND (no send callback, or it failed); a stanza
 * for a session freed during the call is dropped. */
int cn_send(cloudnotify_ctx *ctx, cloudnotify_route route, cloudnotify_session *s,
            const char *account, const char *to, const GString *xml);
void cn_cb_removed(cloudnotify_ctx *ctx, const char *account, const cn_reg *r,
                   cloudnotify_removal_reason reason);
void cn_cb_hibernation_timeout(cloudnotify_ctx *ctx, cloudnotify_session *s, int64_t seconds);
int cn_cb_registration_filter(cloudnotify_ctx *ctx, cloudnotify_session *s, const char *jid,
                              const char *node, const char **error_type,
                              const char **error_condition);
int cn_cb_notification_filter(cloudnotify_ctx *ctx, cloudnotify_push *push);
void cn_cb_registration_added(cloudnotify_ctx *ctx, cloudnotify_session *s, const cn_reg *r,
                              gboolean replaced);
/* The publish_outcome callback and its counter. */
void cn_report_publish(cloudnotify_ctx *ctx, const char *account, const char *jid, const char *node,
                       const char *id, cloudnotify_publish_outcome outcome, const char *error_type,
                       const char *error_condition, unsigned consecutive_errors);
/* cn_report_publish with the error's text (NULL: none), kept bounded. */
void cn_report_publish_text(cloudnotify_ctx *ctx, const char *account, const char *jid,
                            const char *node, const char *id, cloudnotify_publish_outcome outcome,
                            const char *error_type, const char *error_condition,
                            const char *error_text, unsigned consecutive_errors);
int cn_store_load(cloudnotify_ctx *ctx, const char *account, cloudnotify_loader *loader);
int cn_store_save(cloudnotify_ctx *ctx, const char *account, const cn_reg *r);
int cn_store_remove(cloudnotify_ctx *ctx, const char *account, const char *jid, const char *node);
/* A store answer (given now or later) as 0 or CLOUDNOTIFY_ERR_STORE,
 * logged; what is "saving" or "removing". */
int cn_store_checked(cloudnotify_ctx *ctx, const char *what, const char *account, int rc);

#endif
