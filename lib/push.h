/* The notification as the notification filter sees and amends it, and
 * what of it goes into the publish.  Internal. */
#ifndef CN_PUSH_H
#define CN_PUSH_H

#include <glib.h>

#include "cloudnotify/cloudnotify.h"
#include "rules.h"

typedef struct cn_reg cn_reg;

struct cloudnotify_push {
  cloudnotify_ctx *ctx;
  const cn_reg *reg;
  cloudnotify_session *session;
  const cn_summary *sum;
  char *body;   /* what will be sent, owned */
  char *sender; /* what will be sent, owned */
  /* Appended for issue 8 point 8 (push-content.c): */
  unsigned count;    /* message-count (push-gate.c); 0 for a ping */
  GPtrArray *fields; /* cn_push_field*, added by the filter; NULL: none */
  char *extra;       /* extra child of <notification>, serialised; NULL: none */
  /* Appended for answers that come later (pending.c): */
  GPtrArray *covered;     /* cn_summary* the publish covers (borrowed), or NULL */
  cn_summary *own_sum;    /* sum points here while the filter answers later */
  GPtrArray *own_covered; /* covered points here then (copies, owned) */
  /* Appended for issue 11 (push-gate.c): */
  gboolean counted; /* the form carries message-count (count, 0 included) */
};

/* One field of the summary form. */
typedef struct cn_push_field {
  const char *var;
  const char *value;
} cn_push_field;

/* The summary form's fields in the order they are written: FORM_TYPE,
 * message-count (when counted), last-message-sender and
 * last-message-body when set, then the filter's own.  Returns a GArray of
 * cn_push_field borrowing from p and from count_buf, which must outlive
 * the array; free it with g_array_unref. */
GArray *cn_push_summary_fields(const cloudnotify_push *p, char count_buf[16]);

/* Free what the filter added (not the push itself). */
void cn_push_content_clear(cloudnotify_push *p);

#endif
