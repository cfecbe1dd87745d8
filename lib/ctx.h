/* The context (ctx.c): its options and state, and the basics every room
 * of the engine uses on it: the re-entrancy guard, the two clocks,
 * logging, the size rule of host structs.  The calls into the host are
 * in host.h.  Internal. */
#ifndef CN_CTX_H
#define CN_CTX_H

#include <stdarg.h>

#include <glib.h>

#include "cloudnotify/cloudnotify.h"
#include "counters.h"
#include "timers.h"
#include "xml.h"

typedef struct cn_options {
  gboolean with_body;
  gboolean with_sender;
  char *important_body; /* NULL when disabled ("") */
  int64_t max_errors;
  int64_t max_devices;
  int64_t max_hibernation_timeout;
  int64_t max_ack_delay;
  int64_t coalesce_ms;
  int64_t max_outstanding;
  int64_t publish_timeout;
  int64_t max_cached_users;
  int64_t max_stanza_size;
  int64_t max_xml_depth;
  int64_t max_form_size;
  int64_t max_form_fields;
  int64_t max_remembered;
  int64_t max_session_queue;
  int64_t wake_before_expiry;
  char *id_prefix;            /* NULL when none ("") */
  int64_t log_level;          /* messages below it are not formatted */
  gboolean publish_from_bare; /* publishes from the account, not the domain */
  /* 0.3: what phones need (docs/features.md) */
  gboolean quiet;              /* no push for what nobody sees */
  int64_t call_max_age;        /* s: older proposes do not ring */
  int64_t grace_period;        /* s, 0 off */
  int64_t visible_interval_ms; /* 0 off */
  int64_t silent_per_hour;     /* 0 off */
  uint32_t transient_errors;   /* bit i: condition i of cn_error_condition_index */
  int64_t backoff;             /* s, 0 off */
  int64_t registration_ttl;    /* days, 0 off */
  gboolean clear_on_fetch;
  gboolean tigase_extensions;
} cn_options;

/* Each table is the business of the file named beside it, which alone
 * reads or changes it. */
struct cloudnotify_ctx {
  cloudnotify_callbacks cb;
  void *user_data;
  cn_options opt;

  cloudnotify_store store;
  void *store_data;

  GHashTable *users; /* account -> cn_user*, owned (registry.c) */
  GQueue user_lru;   /* head = most recently used */

  GList *sessions; /* every live cloudnotify_session (session.c) */

  /* outstanding publishes (outstanding.c): id -> entry; FIFO for bound
   * and expiry */
  GHashTable *outstanding;
  GQueue outstanding_fifo;
  GHashTable *outstanding_by_reg; /* "account\x1fident" -> its first entry */
  cn_timer outstanding_timer;     /* the oldest entry's expiry */

  /* de-duplication (seen.c): key -> entry; FIFO for the bound */
  GHashTable *seen;
  GQueue seen_fifo;

  cn_timers timers;          /* every armed timer (timers.c) */
  int64_t reported_deadline; /* last absolute deadline told to the host */

  cn_xml_parser *parser;
  struct cn_pending *pending; /* work parked for the host's answers (pending.c) */
  int in_callback;
  gboolean destroying;
  int depth; /* API nesting, for the timer_changed report on the way out */
  uint64_t counters[CN_C_COUNT];
  GList *doomed; /* sessions freed from a callback, freed at depth 0 */
  /* test publishes awaiting their outcome (diag.c): id -> itself; NULL
   * until the first test push */
  GHashTable *diag_tests;
};

/* Guards: every state-changing entry point starts with CN_ENTER and
 * returns through cn_leave, which tells the host about a changed
 * deadline once, at the outermost level. */
#define CN_ENTER(ctx)                                                                              \
  do {                                                                                             \
    if ((ctx)->in_callback)                                                                        \
      return CLOUDNOTIFY_ERR_REENTRANT;                                                            \
    (ctx)->depth++;                                                                                \
  } while (0)
int cn_leave(cloudnotify_ctx *ctx, int rc);

/* The size rule of every struct that starts with a size field (see the
 * header's conventions): min is the oldest accepted layout, ours this
 * library's; a larger size needs a zero tail. */
gboolean cn_struct_size_ok(const void *st, size_t size, size_t min, size_t ours);
/* Wall clock: only for the enable times that are stored. */
int64_t cn_now(cloudnotify_ctx *ctx);
/* Monotonic clock: every deadline. */
int64_t cn_mono(cloudnotify_ctx *ctx);
/* id: one of the CLOUDNOTIFY_LOG_ID_* strings.  Nothing is formatted
 * below push_log_level. */
void cn_log_id(cloudnotify_ctx *ctx, cloudnotify_log_level level, const char *id, const char *fmt,
               ...) G_GNUC_PRINTF(4, 5);
/* A message without its own id yet (CLOUDNOTIFY_LOG_ID_OTHER). */
void cn_log(cloudnotify_ctx *ctx, cloudnotify_log_level level, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);
/* Normalised bare account or NULL; a JID with a resource or no node is
 * refused. */
char *cn_account_normalize(const char *account);
/* Parse with the context's bounds. */
int cn_parse(cloudnotify_ctx *ctx, const char *xml, size_t len, xmlDoc **out);

#endif
