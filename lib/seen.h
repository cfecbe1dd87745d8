/* De-duplication memory (seen.c): which registration was pushed for
 * which stanza.  Internal. */
#ifndef CN_SEEN_H
#define CN_SEEN_H

#include <glib.h>

#include "cloudnotify/cloudnotify.h"
#include "rules.h"

typedef struct cn_reg cn_reg;

/* How long a stanza known only by a digest of its content is remembered
 * as pushed (docs/design.md, "Stanza identity"). */
#define CN_DIGEST_WINDOW_MS (60 * 1000)

void cn_seen_init(cloudnotify_ctx *ctx);
void cn_seen_clear(cloudnotify_ctx *ctx);
/* Whether r was already pushed (or vetoed) for the stanza of sum. */
gboolean cn_seen_contains(cloudnotify_ctx *ctx, const cn_summary *sum, const cn_reg *r);
/* Remember that r was pushed (or vetoed) for it. */
void cn_seen_add(cloudnotify_ctx *ctx, const cn_summary *sum, const cn_reg *r);

#endif
