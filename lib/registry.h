/* Users and their registrations (registry.c): the bounded cache in front
 * of the store, and loading what the store holds.  Which registrations
 * an account keeps is reg-policy.h's business.  Internal. */
#ifndef CN_REGISTRY_H
#define CN_REGISTRY_H

#include <glib.h>

#include "cloudnotify/cloudnotify.h"
#include "push-gate.h"
#include "timers.h"

typedef struct cn_user cn_user;
typedef struct cn_reg cn_reg;

struct cn_reg {
  cn_user *user;
  char *jid;  /* normalised; an interned GRefString (shared by the
                 registrations of one app server) */
  char *node; /* NULL when none */
  char *form; /* publish-options <x/> serialised, NULL when none; an
                 interned GRefString when it holds no NUL (shared by
                 registrations with the same form), else a GRefString */
  size_t form_len;
  int64_t enabled_at;
  unsigned errors; /* consecutive app-server errors, stored through set_errors */
  char *ident;     /* "jid<node": identity used for de-duplication */
  /* the last counted error's type and condition (static strings from
   * stanza-errors.c, or NULL), reported when it causes the removal */
  const char *last_error_type;
  const char *last_error_condition;
  /* count, window and budget (push-gate.c); in memory only */
  cn_gate_state gate;
  /* Tigase's push extensions (push-ext.h), NULL when none; stored is then
   * the form followed by their canonical text: what the store keeps as
   * publish_options (form stays the form alone: the publish echoes it). */
  struct cn_push_ext *ext;
  char *stored;
  size_t stored_len;
  char *client_id; /* identity of the enabling session (0.3: client id, else resource) */
  /* 0.3, reg-policy.c's alone: the back-off after WAIT / TRANSIENT replies
   * and what it held; lost when the registration leaves memory. */
  int64_t backoff_ms;                 /* current length; 0: none since the last result */
  unsigned held;                      /* pushes held during the back-off */
  struct cn_summary *held_sum;        /* the one the retry stands for (important first) */
  cn_timer backoff_timer;             /* end of the back-off, or an expiry to carry out */
  cloudnotify_removal_reason leaving; /* why a load drops it (surplus or expired) */
  struct cn_diag_last *diag;          /* its last publish outcome (diag.c); NULL: none yet */
};

struct cn_user {
  char *account;   /* normalised bare JID */
  GPtrArray *regs; /* cn_reg*, owned */
  GList *sessions; /* cloudnotify_session*, borrowed */
  GList lru;       /* link in ctx->user_lru; data = this user */
  /* the sessions' activity, for push_grace_period (push-gate.c) */
  cn_gate_activity activity;
};

/* Find or load the user; loads through the store.  Returns 0 and *out
 * (borrowed from the cache), CLOUDNOTIFY_ERR_STORE, or CN_PARKED
 * (pending.h) when the load is answered later.  The user stays valid
 * until the next call that may evict (cn_user_get again) unless it has
 * sessions. */
int cn_user_get(cloudnotify_ctx *ctx, const char *account, cn_user **out);
/* cn_user_get for an account as a host passed it (not yet normalised):
 * also CLOUDNOTIFY_ERR_JID_MALFORMED. */
int cn_user_get_input(cloudnotify_ctx *ctx, const char *account, cn_user **out);
void cn_user_touch(cloudnotify_ctx *ctx, cn_user *u);
/* Take u off the LRU list if it is on it (cn_users_trim takes users
 * pinned by sessions off it). */
void cn_user_lru_unlink(cloudnotify_ctx *ctx, cn_user *u);
/* u lost a session: once it has none, a cached u is evictable again. */
void cn_user_unpinned(cloudnotify_ctx *ctx, cn_user *u);
/* Free a user already taken out of the cache (ctx->users, user_lru). */
void cn_user_free(cn_user *u);
/* Evict users beyond max_cached_users that hold no session. */
void cn_users_trim(cloudnotify_ctx *ctx);
void cn_users_clear(cloudnotify_ctx *ctx);
/* Forget the last validated form (ctx.h form_memo_*). */
void cn_form_memo_clear(cloudnotify_ctx *ctx);
/* The registration of u with identity ident ("jid<node"), or NULL. */
cn_reg *cn_user_find_ident(cn_user *u, const char *ident);
cn_reg *cn_user_find_reg(cn_user *u, const char *jid, const char *node);
/* form, when not NULL, is form_len bytes followed by a NUL. */
cn_reg *cn_reg_new(cn_user *u, const char *jid, const char *node, const char *form, size_t form_len,
                   int64_t enabled_at);
void cn_reg_free(cn_reg *r);
/* Give r the extensions ext (owned from now; NULL: none). */
void cn_reg_set_ext(cn_reg *r, struct cn_push_ext *ext);
/* r as the store and the listing see it; every pointer borrowed from r. */
cloudnotify_record cn_reg_record(const cn_reg *r);

/* The loader of a load op, owned by the op once taken (pending.c). */
void cn_loader_close(cloudnotify_loader *l, int rc);
/* The loader now belongs to the op that was taken during the load. */
void cn_loader_hand_to_op(cloudnotify_loader *l);
void cn_loader_free(cloudnotify_loader *l);

#endif
