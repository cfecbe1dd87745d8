/* Internal structures shared by the library's source files. */
#ifndef CN_PRIVATE_H
#define CN_PRIVATE_H

#include <glib.h>
#include <stdarg.h>

#include "cloudnotify/cloudnotify.h"
#include "counters.h"
#include "rules.h"
#include "xml.h"

typedef struct cn_user cn_user;
typedef struct cn_reg cn_reg;
typedef struct cn_timer cn_timer;

/* ---- timers (timers.c) ------------------------------------------------ */

typedef void (*cn_timer_fn)(cloudnotify_ctx *ctx, void *data);

struct cn_timer {
  int64_t deadline; /* absolute, monotonic clock (cn_mono) */
  guint64 seq;      /* orders equal deadlines by creation */
  cn_timer_fn fn;
  void *data;
  GSequenceIter *iter; /* NULL when not armed */
};

void cn_timers_init(cloudnotify_ctx *ctx);
void cn_timers_clear(cloudnotify_ctx *ctx);
/* (Re)arm t to fire after delay_ms. */
void cn_timer_arm(cloudnotify_ctx *ctx, cn_timer *t, int64_t delay_ms, cn_timer_fn fn, void *data);
/* (Re)arm t to fire at the absolute monotonic deadline. */
void cn_timer_arm_at(cloudnotify_ctx *ctx, cn_timer *t, int64_t deadline, cn_timer_fn fn,
                     void *data);
void cn_timer_cancel(cloudnotify_ctx *ctx, cn_timer *t);
gboolean cn_timer_armed(const cn_timer *t);
/* Earliest absolute deadline of every timer source, or INT64_MAX. */
int64_t cn_timers_next_deadline(const cloudnotify_ctx *ctx);
/* Run due timers; returns after no timer is due. */
void cn_timers_run(cloudnotify_ctx *ctx);

/* ---- registrations and users (registry.c) --------------------------- */

struct cn_reg {
  cn_user *user;
  char *jid;  /* normalised */
  char *node; /* NULL when none */
  char *form; /* publish-options <x/> serialised, NULL when none */
  size_t form_len;
  int64_t enabled_at;
  unsigned errors; /* consecutive app-server errors, stored through set_errors */
  char *ident;     /* "jid<node": identity used for de-duplication */
  /* the last counted error's type and condition (static strings from
   * stanza-errors.c, or NULL), reported when it causes the removal */
  const char *last_error_type;
  const char *last_error_condition;
  char *client_id; /* of the enabling session, NULL when none */
};

struct cn_user {
  char *account;   /* normalised bare JID */
  GPtrArray *regs; /* cn_reg*, owned */
  GList *sessions; /* cloudnotify_session*, borrowed */
  GList lru;       /* link in ctx->user_lru; data = this user */
};

/* Find or load the user; loads through the store.  Returns 0 and *out
 * (borrowed from the cache) or CLOUDNOTIFY_ERR_STORE.  The user stays
 * valid until the next call that may evict (cn_user_get again) unless it
 * has sessions. */
int cn_user_get(cloudnotify_ctx *ctx, const char *account, cn_user **out);
void cn_user_touch(cloudnotify_ctx *ctx, cn_user *u);
/* Free a user already taken out of the cache (ctx->users, user_lru). */
void cn_user_free(cn_user *u);
/* Evict users beyond max_cached_users that hold no session. */
void cn_users_trim(cloudnotify_ctx *ctx);
void cn_users_clear(cloudnotify_ctx *ctx);
/* The registration of u with identity ident ("jid<node"), or NULL. */
cn_reg *cn_user_find_ident(cn_user *u, const char *ident);
cn_reg *cn_user_find_reg(cn_user *u, const char *jid, const char *node);
cn_reg *cn_reg_new(cn_user *u, const char *jid, const char *node, const char *form, size_t form_len,
                   int64_t enabled_at);
void cn_reg_free(cn_reg *r);
/* r as the store and the listing see it; every pointer borrowed from r. */
cloudnotify_record cn_reg_record(const cn_reg *r);

/* ---- administration (admin.c) --------------------------------------- */

/* Change r's consecutive error count, in memory and through the store's
 * set_errors when it has one (a failure there is logged). */
void cn_reg_set_errors(cloudnotify_ctx *ctx, cn_reg *r, unsigned errors);
/* 0 when id is acceptable as a client identity (NULL is), else
 * INVALID_ARGUMENT or TOO_LARGE. */
int cn_client_id_check(const char *id);

/* ---- the in-memory store (store-memory.c) --------------------------- */

const cloudnotify_store *cn_store_memory_vtable(void);
void *cn_store_memory_new(void);

/* ---- outstanding publishes (outstanding.c) -------------------------- */

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
/* push_publish_timeout changed: the expiry timer follows. */
void cn_outstanding_rearm(cloudnotify_ctx *ctx);

/* ---- de-duplication memory (seen.c) --------------------------------- */

/* How long a stanza known only by a digest of its content is remembered
 * as pushed (docs/design.md, "Stanza identity"). */
#define CN_DIGEST_WINDOW_MS (60 * 1000)

void cn_seen_init(cloudnotify_ctx *ctx);
void cn_seen_clear(cloudnotify_ctx *ctx);
/* Whether r was already pushed (or vetoed) for the stanza of sum. */
gboolean cn_seen_contains(cloudnotify_ctx *ctx, const cn_summary *sum, const cn_reg *r);
/* Remember that r was pushed (or vetoed) for it. */
void cn_seen_add(cloudnotify_ctx *ctx, const cn_summary *sum, const cn_reg *r);

/* ---- notifications (notify.c) --------------------------------------- */

/* Parse and classify a stanza; 0 or XML/TOO_LARGE. */
int cn_summarize(cloudnotify_ctx *ctx, const char *account, const char *xml, size_t len,
                 cn_summary *out);
/* Classify an already parsed stanza (cn_summarize without the parse). */
void cn_summarize_root(cloudnotify_ctx *ctx, const char *account, const xmlNode *root,
                       cn_summary *out);

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

/* ---- sessions (session.c) ------------------------------------------- */

typedef enum { CN_SESSION_LIVE, CN_SESSION_HIBERNATED } cn_session_state;

struct cloudnotify_session {
  cloudnotify_ctx *ctx;
  cn_user *user; /* NULL until the session first needs its registrations */
  char *account;
  char *resource;
  char *full;
  void *user_data;
  cn_reg *reg; /* registration bound by this session's enable, or NULL */
  cn_session_state state;
  gboolean sm;
  gboolean extended;   /* host told to use the extended timeout */
  GPtrArray *pending;  /* cn_summary*: queued while hibernated */
  GQueue unacked;      /* cn_summary*: sent while live, not yet acked */
  uint32_t sent;       /* stanzas reported through queued() */
  uint32_t acked;      /* last h */
  uint32_t ack_target; /* h that stops the ack timer */
  cn_timer coalesce_timer;
  cn_timer ack_timer;
  cn_timer wake_timer;
  GList *ctx_link;
  char *client_id; /* cloudnotify_session_set_client_id, or NULL */
  gboolean dead;   /* freed from a callback: reaped on the way out */
};

/* Make sure s->user is loaded and s is among its sessions (which pins
 * the user in the cache).  0 or CLOUDNOTIFY_ERR_STORE. */
int cn_session_attach(cloudnotify_session *s);
/* Unbind every session bound to r and cancel their work for it. */
void cn_sessions_unbind_reg(cloudnotify_ctx *ctx, cn_user *u, cn_reg *r);
/* First important push went out for s. */
void cn_session_pushed(cloudnotify_ctx *ctx, cloudnotify_session *s, gboolean important);
/* Free the sessions freed from callbacks during the call now ending. */
void cn_sessions_reap(cloudnotify_ctx *ctx);

/* ---- the context (ctx.c) -------------------------------------------- */

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
} cn_options;

struct cloudnotify_ctx {
  cloudnotify_callbacks cb;
  void *user_data;
  cn_options opt;

  cloudnotify_store store;
  void *store_data;

  GHashTable *users; /* account -> cn_user*, owned */
  GQueue user_lru;   /* head = most recently used */

  GList *sessions; /* every live cloudnotify_session */

  /* outstanding publishes: id -> entry; FIFO for bound and expiry */
  GHashTable *outstanding;
  GQueue outstanding_fifo;
  GHashTable *outstanding_by_reg; /* "account\x1fident" -> GQueue of entries */
  cn_timer outstanding_timer;     /* the oldest entry's expiry */

  /* de-duplication (seen.c): key -> entry; FIFO for the bound */
  GHashTable *seen;
  GQueue seen_fifo;

  GSequence *timers;
  guint64 timer_seq;
  int64_t reported_deadline; /* last absolute deadline told to the host */

  cn_xml_parser *parser;
  struct cn_pending *pending; /* work parked for the host's answers (pending.c) */
  int in_callback;
  gboolean destroying;
  int depth; /* API nesting, for the timer_changed report on the way out */
  uint64_t counters[CN_C_COUNT];
  GList *doomed; /* sessions freed from a callback, freed at depth 0 */
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

/* Wall clock: only for the enable times that are stored. */
/* The size rule of every struct that starts with a size field (see the
 * header's conventions): min is the oldest accepted layout, ours this
 * library's; a larger size needs a zero tail. */
gboolean cn_struct_size_ok(const void *st, size_t size, size_t min, size_t ours);
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
int cn_send(cloudnotify_ctx *ctx, cloudnotify_route route, cloudnotify_session *s,
            const char *account, const char *to, const GString *xml);
void cn_cb_removed(cloudnotify_ctx *ctx, const char *account, const cn_reg *r,
                   cloudnotify_removal_reason reason);
void cn_cb_hibernation_timeout(cloudnotify_ctx *ctx, cloudnotify_session *s, int64_t seconds);
/* Every host call goes through these helpers (ctx.c) and pending.c's
 * cn_ask_begin / cn_ask_end: the filters and the store may answer later,
 * and they then return CN_WAIT (pending.h) with the op handed to the
 * caller's task; store answers, now or later, are counted and logged by
 * cn_store_checked. */
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
int cn_store_load(cloudnotify_ctx *ctx, const char *account, cloudnotify_loader *loader);
int cn_store_save(cloudnotify_ctx *ctx, const char *account, const cn_reg *r);
int cn_store_remove(cloudnotify_ctx *ctx, const char *account, const char *jid, const char *node);
/* A store answer (given now or later) as 0 or CLOUDNOTIFY_ERR_STORE,
 * logged; what is "saving" or "removing". */
int cn_store_checked(cloudnotify_ctx *ctx, const char *what, const char *account, int rc);

/* ---- misc ------------------------------------------------------------ */

/* Valid UTF-8 made only of characters XML 1.0 can carry. */
gboolean cn_text_is_xml_safe(const char *text);
/* A fresh unpredictable id from getrandom(): 32 hex characters. */
void cn_random_id(char out[33]);
/* A publish id: push_id_prefix then cn_random_id. */
#define CN_PUBLISH_ID_SIZE (CLOUDNOTIFY_PUBLISH_ID_MAX + 1)
void cn_publish_id(const cloudnotify_ctx *ctx, char out[CN_PUBLISH_ID_SIZE]);
/* The static copy of a known stanza error type / RFC 6120 defined
 * condition, or NULL (stanza-errors.c). */
const char *cn_error_type_static(const char *type);
const char *cn_error_condition_static(const char *condition);
/* Normalised bare account or NULL; a JID with a resource or no node is
 * refused. */
char *cn_account_normalize(const char *account);
/* Parse with the context's bounds. */
int cn_parse(cloudnotify_ctx *ctx, const char *xml, size_t len, xmlDoc **out);

#endif
