/* Registration policy: which registrations an account keeps, which an
 * enable evicts or replaces, when app-server errors remove one, and what
 * goes with a registration that leaves memory.  Internal.
 *
 * The other files carry these decisions out (store calls, answers that
 * come later, replies to clients, log messages) but do not make them, so
 * that a change of policy (a per-account limit a store enforces, say) is
 * made here alone.  Nothing here waits for the store: its one store
 * write is the error count (cn_reg_set_errors), which no decision waits
 * for; the saves and removals a decision calls for are the callers'. */
#ifndef CN_REG_POLICY_H
#define CN_REG_POLICY_H

#include <glib.h>

#include "cloudnotify/cloudnotify.h"
#include "registry.h"

/* ---- enabling ------------------------------------------------------- */

/* The enable time of a new registration of u, given the wall clock now:
 * made strictly greater than every stored time of u, so that the
 * eviction order survives a restart even when two enables share a
 * millisecond. */
int64_t cn_policy_enable_time(const cn_user *u, int64_t now);

/* An enable of (jid, node) for u, already saved: appends to victims (a
 * GPtrArray with g_free) the identities of the registrations it evicts,
 * least recently enabled first.  None when it replaces the registration
 * with the same key, else as many as the new one would exceed
 * push_max_devices by (more than one when the limit was lowered while
 * the user was cached). */
void cn_policy_admit(const cloudnotify_ctx *ctx, cn_user *u, const char *jid, const char *node,
                     GPtrArray *victims);

/* Put r (owned, now u's) into u once the store holds it and removed the
 * registrations whose identities are in evicted: the registration with
 * r's key is replaced (sessions bound to it are bound to r), the evicted
 * ones are removed (REMOVED_EVICTED).  TRUE when one was replaced. */
gboolean cn_policy_install(cloudnotify_ctx *ctx, cn_user *u, cn_reg *r, const GPtrArray *evicted);

/* Remove from u the registrations whose identities are in evicted
 * (REMOVED_EVICTED): those the store removed before an eviction failed. */
void cn_policy_drop_evicted(cloudnotify_ctx *ctx, cn_user *u, const GPtrArray *evicted);

/* ---- disabling ------------------------------------------------------ */

/* Whether a disable of (jid, node), jid normalised, removes r: a disable
 * without node removes every node of that service. */
gboolean cn_policy_disable_matches(const cn_reg *r, const char *jid, const char *node);

/* ---- loading -------------------------------------------------------- */

/* A store handed back two records with held's and candidate's key: TRUE
 * when candidate is the one to keep: the newer, or on a tie the one
 * handed back later. */
gboolean cn_policy_loaded_replaces(const cn_reg *held, const cn_reg *candidate);

/* Whether rec, normalised to jid and node (NULL: none), is stored under
 * another key (a service JID as the client spelled it, an empty node),
 * which the load rewrites under the normalised one so that every later
 * removal reaches the stored row. */
gboolean cn_policy_stored_key_stale(const cloudnotify_record *rec, const char *jid,
                                    const char *node);

/* The registrations a load returned (cn_reg*, taken from regs, which is
 * left empty): the most recently enabled push_max_devices go to kept,
 * newest first; the rest to surplus, which the load removes from the
 * store (storage may hold more than the limit: a lower push_max_devices,
 * a crash between save and evict). */
void cn_policy_trim_loaded(const cloudnotify_ctx *ctx, GPtrArray *regs, GPtrArray *kept,
                           GPtrArray *surplus);

/* ---- app-server replies --------------------------------------------- */

/* A result from r's app server: the consecutive error count restarts
 * (written through set_errors when it was not 0). */
void cn_policy_on_publish_ok(cloudnotify_ctx *ctx, cn_reg *r);

/* Whether an error of type error_type (static or NULL) counts towards
 * push_max_errors: every type but wait, which is temporary. */
gboolean cn_policy_error_counts(const char *error_type);

/* A counted error from r's app server (error_type and error_condition
 * static or NULL): the count grows and the error is kept as the one a
 * removal reports.  TRUE when r must now be removed (the limit is
 * reached): from the store first, then with cn_policy_remove. */
gboolean cn_policy_on_publish_error(cloudnotify_ctx *ctx, cn_reg *r, const char *error_type,
                                    const char *error_condition);

/* ---- leaving memory ------------------------------------------------- */

/* Remove r from u (not from the store), with everything hanging off it:
 * sessions bound to it are unbound, its outstanding publishes forgotten
 * (a late reply must not count against a registration enabled again
 * later), the host told if reason != 0; r is freed. */
void cn_policy_remove(cloudnotify_ctx *ctx, cn_user *u, cn_reg *r,
                      cloudnotify_removal_reason reason);

/* A fresh copy of an account was loaded while the stale copy old still
 * had sessions (cloudnotify_account_forget): each session moves to the
 * fresh registration with the same key, or is unbound when the store no
 * longer has one (not a removal by this library: the host is not told);
 * then old is freed. */
void cn_policy_rebind(cloudnotify_ctx *ctx, cn_user *old, cn_user *fresh);

#endif
