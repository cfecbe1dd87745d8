/* Publishes awaiting an app-server reply (outstanding.c), and the
 * handling of those replies.  Internal. */
#ifndef CN_OUTSTANDING_H
#define CN_OUTSTANDING_H

#include "cloudnotify/cloudnotify.h"

typedef struct cn_reg cn_reg;

void cn_outstanding_init(cloudnotify_ctx *ctx);
void cn_outstanding_clear(cloudnotify_ctx *ctx);
void cn_outstanding_fini(cloudnotify_ctx *ctx);
/* Remember a publish to r under id.  Entries name the registration by
 * account and identity, not by pointer: the user may leave the cache
 * before the reply comes. */
void cn_outstanding_add(cloudnotify_ctx *ctx, const char *id, const cn_reg *r);
/* Forget the publishes made for a registration that is going, so that a
 * late reply cannot count against a new registration with the same key. */
void cn_outstanding_forget(cloudnotify_ctx *ctx, const char *account, const char *ident);
/* Publishes to the registration ident of account still awaiting a reply. */
unsigned cn_outstanding_count(const cloudnotify_ctx *ctx, const char *account, const char *ident);
/* push_publish_timeout changed: the expiry timer follows. */
void cn_outstanding_rearm(cloudnotify_ctx *ctx);

#endif
