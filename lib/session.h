/* A client's session as stream management sees it (session.c):
 * hibernation, coalescing, ack timing.  Internal. */
#ifndef CN_SESSION_H
#define CN_SESSION_H

#include <glib.h>

#include "cloudnotify/cloudnotify.h"
#include "timers.h"

typedef struct cn_user cn_user;
typedef struct cn_reg cn_reg;

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
 * the user in the cache).  0, CLOUDNOTIFY_ERR_STORE or CN_PARKED
 * (pending.h). */
int cn_session_attach(cloudnotify_session *s);
/* Unbind every session bound to r and cancel their work for it. */
void cn_sessions_unbind_reg(cloudnotify_ctx *ctx, cn_user *u, cn_reg *r);
/* First important push went out for s. */
void cn_session_pushed(cloudnotify_ctx *ctx, cloudnotify_session *s, gboolean important);
/* Free the sessions freed from callbacks during the call now ending. */
void cn_sessions_reap(cloudnotify_ctx *ctx);

#endif
