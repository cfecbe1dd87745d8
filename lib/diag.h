/* Diagnosis (diag.c): what the library remembers of each registration's
 * last publish, the test pushes still awaiting their outcome, and the
 * public listing and test-push entry points.  Internal. */
#ifndef CN_DIAG_H
#define CN_DIAG_H

#include <glib.h>

#include "cloudnotify/cloudnotify.h"

typedef struct cn_reg cn_reg;

/* The last publish outcome of one registration, in memory only. */
typedef struct cn_diag_last {
  cloudnotify_publish_outcome outcome;
  int64_t at_ms; /* wall clock */
  unsigned flags;
  char *id;
  const char *error_type, *error_condition; /* static strings */
  char *error_text;                         /* bounded copy */
} cn_diag_last;

void cn_diag_last_free(cn_diag_last *d); /* NULL-safe */

/* Keep what publish_outcome is about to report on the registration (when
 * its account is cached) and return the report's flags: the test flag is
 * taken off ctx's list of test publishes here, once. */
unsigned cn_diag_outcome(cloudnotify_ctx *ctx, const char *account, const char *jid,
                         const char *node, const char *id, cloudnotify_publish_outcome outcome,
                         const char *error_type, const char *error_condition,
                         const char *error_text);

/* The text of an app server's error, bounded to CLOUDNOTIFY_DIAG_TEXT_MAX
 * bytes at a character boundary (g_free it), or NULL. */
char *cn_diag_bound_text(const char *text);

void cn_diag_fini(cloudnotify_ctx *ctx);

#endif
