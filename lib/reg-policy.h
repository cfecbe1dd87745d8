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
#include "rules.h"

/* ---- enabling ------------------------------------------------------- */

/* The enable time of a new registration of u, given the wall clock now:
 * made strictly greater than every stored time of u, so that the
 * eviction order survives a restart even when two enables share a
 * millisecond. */
int64_t cn_policy_enable_time(const cn_user *u, int64_t now);

/* An enable of (jid, node) for u by a client of identity client_id
 * (NULL: none), already saved: appends to victims (a GPtrArray with
 * g_free) the identities of the registrations it removes.  First every
 * registration of another key with the same client identity (the client
 * moved to another app server or node: REMOVED_CLIENT_REPLACED), then,
 * unless it replaces the registration with the same key, as many of the
 * rest, least recently enabled first, as the new one would exceed
 * push_max_devices by (more than one when the limit was lowered while
 * the user was cached: REMOVED_EVICTED). */
void cn_policy_admit(const cloudnotify_ctx *ctx, cn_user *u, const char *jid, const char *node,
                     const char *client_id, GPtrArray *victims);

/* Whether victim, chosen by cn_policy_admit for the new registration r,
 * only gives way to the same client: when the store fails to remove it,
 * the enable stands and victim stays (in memory and in the store), where
 * a failed eviction takes the new registration back.  The undo would
 * remove r's key from the store, which an enable replacing the same key
 * already overwrote. */
gboolean cn_policy_victim_optional(const cn_reg *victim, const cn_reg *r);

/* Put r (owned, now u's) into u once the store holds it and removed the
 * registrations whose identities are in evicted: the registration with
 * r's key is replaced (sessions bound to it are bound to r), the evicted
 * ones are removed (REMOVED_CLIENT_REPLACED when their client identity
 * is r's, else REMOVED_EVICTED).  TRUE when one was replaced. */
gboolean cn_policy_install(cloudnotify_ctx *ctx, cn_user *u, cn_reg *r, const GPtrArray *evicted);

/* Remove from u the registrations whose identities are in evicted: those
 * the store removed before an eviction failed.  client_id is the new
 * registration's identity, which decides the reason as in
 * cn_policy_install. */
void cn_policy_drop_evicted(cloudnotify_ctx *ctx, cn_user *u, const GPtrArray *evicted,
                            const char *client_id);

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
 * left empty): those older than push_registration_ttl (wall clock) go to
 * surplus with leaving = REMOVED_EXPIRED; of the others the most recently
 * enabled push_max_devices go to kept, newest first, the rest to surplus
 * with leaving = REMOVED_EVICTED.  The load removes the surplus from the
 * store (storage may hold more than the limit: a lower push_max_devices,
 * a crash between save and evict) and reports each through
 * cn_policy_report_removed with its leaving reason. */
void cn_policy_trim_loaded(cloudnotify_ctx *ctx, GPtrArray *regs, GPtrArray *kept,
                           GPtrArray *surplus);

/* ---- app-server replies --------------------------------------------- */

/* A result from r's app server: the consecutive error count restarts
 * (written through set_errors when it was not 0), and a back-off ends
 * and is reset, sending the held push at once when there is one. */
void cn_policy_on_publish_ok(cloudnotify_ctx *ctx, cn_reg *r);

/* Whether an error of type error_type (static or NULL) counts towards
 * push_max_errors by its type alone: every type but wait, which is
 * temporary.  cn_policy_classify_error adds the conditions. */
gboolean cn_policy_error_counts(const char *error_type);

/* What an error reply means for the registration (docs/features.md, "App-
 * server errors"): type wait is WAIT; another type whose condition is in
 * push_transient_errors is TRANSIENT; both start the back-off and do not
 * count.  Everything else (no type, no condition, an unknown one) is
 * ERROR and counts towards push_max_errors, as in 0.2. */
cloudnotify_publish_outcome cn_policy_classify_error(const cloudnotify_ctx *ctx,
                                                     const char *error_type,
                                                     const char *error_condition);

/* A WAIT or TRANSIENT reply from r's app server: r backs off for
 * push_backoff seconds, doubling at each further such reply up to 32
 * times that (nothing when push_backoff is 0). */
void cn_policy_backoff_start(cloudnotify_ctx *ctx, cn_reg *r);

/* A counted error from r's app server (error_type and error_condition
 * static or NULL): the count grows and the error is kept as the one a
 * removal reports.  TRUE when r must now be removed (the limit is
 * reached): from the store first, then with cn_policy_remove. */
gboolean cn_policy_on_publish_error(cloudnotify_ctx *ctx, cn_reg *r, const char *error_type,
                                    const char *error_condition);

/* ---- the push path -------------------------------------------------- */

/* The policy's one check in the push path (notify.c), before the filter:
 * TRUE when the push of sum (NULL: a ping or a wake-up) to r must not go
 * out.  Held while r backs off (counted, logged PUSH_SUPPRESSED, kept for
 * the retry); pings, wake-ups and calls (sum->urgent) are never held.
 * Also TRUE for a registration past push_registration_ttl, whose removal
 * (REMOVED_EXPIRED) is then carried out by a timer that fires at once:
 * the caller may be walking the account's registrations. */
gboolean cn_policy_push_held(cloudnotify_ctx *ctx, cn_reg *r, const cn_summary *sum);

/* Whether r was enabled more than push_registration_ttl days before the
 * wall clock now (never when the option is 0). */
gboolean cn_policy_expired(const cloudnotify_ctx *ctx, const cn_reg *r, int64_t now);

/* ---- the client's identity ------------------------------------------ */

/* A session's client identity: its client id, else its resource.  An
 * enable stores it in the registration's client_id. */
const char *cn_policy_identity(const cloudnotify_session *s);

/* A session appeared, or its client id changed: when it has no
 * registration and one of its account's registrations carries its
 * identity, bind it, as an enable on it would (nothing stored, the host
 * not told).  Loads the account (the load may park: the binding then
 * runs behind it; a busy account: behind its work).  Returns 0 or BUSY;
 * a store failure is only logged (the session still works, unbound). */
int cn_policy_follow_client(cloudnotify_session *s);

/* ---- removals -------------------------------------------------------- */

/* Every removal of a registration reaches the host here: counted under
 * its reason, logged (REGISTRATION_REMOVED, INFO, for every reason but
 * the client's own disable) and reported through registration_removed2
 * or registration_removed.  Used by cn_policy_remove and by the load's
 * surplus, which never was in memory. */
void cn_policy_report_removed(cloudnotify_ctx *ctx, const char *account, const cn_reg *r,
                              cloudnotify_removal_reason reason);

/* Remove r of u from the store, then from memory (cn_policy_remove with
 * reason).  The store may answer later: the removal is then parked work
 * of the account.  0, or STORE (r stays, logged). */
int cn_policy_remove_stored(cloudnotify_ctx *ctx, cn_user *u, cn_reg *r,
                            cloudnotify_removal_reason reason);

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
