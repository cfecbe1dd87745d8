/*
 * libcloudnotify: the server side of XEP-0357 (Push Notifications) as a
 * sans-I/O engine.  The host (an XMPP server) feeds events in and sends out
 * what the library hands back through callbacks.
 *
 * Conventions used throughout this header
 * ---------------------------------------
 * - Every function that can fail returns 0 on success or a negative
 *   cloudnotify_error.  The errors each function can return are listed in
 *   its documentation and no others are returned.
 * - Strings are UTF-8.  "borrowed" means the pointer belongs to the caller
 *   (or, for callback arguments, to the library) and is only valid for the
 *   duration of the call; the receiver copies what it wants to keep.
 *   "owned" says which function frees the object.
 * - Stanzas cross the API as XML text: a pointer and a length in bytes,
 *   no NUL terminator needed; or, since 0.2, as trees read through the
 *   host's adapter (cloudnotify_tree) on the way in and as structure
 *   (cloudnotify_stanza, the send_stanza callback) on the way out.  Accepted default namespaces of a stanza:
 *   jabber:client, jabber:server, jabber:component:accept, or none.
 * - Identity always comes from the host: "account" parameters are the
 *   bare JID (user@domain) of the local account concerned.  The library
 *   never derives the account from a 'from' attribute.
 * - Callbacks never re-enter: calling any function of this library that
 *   changes state from inside a callback returns CLOUDNOTIFY_ERR_REENTRANT
 *   and changes nothing.  Functions marked "callable from callbacks" are
 *   pure getters and are safe there.
 * - Threads: the library starts none and holds no global state.  One
 *   context and everything created from it (sessions, operations) must be
 *   used from one thread at a time (the host serialises calls, e.g. by
 *   owning the context in one thread or process); different contexts are
 *   fully independent and may be used from different threads at once.
 *   Callbacks run on the thread that made the call.  The pure functions
 *   (cloudnotify_strerror, cloudnotify_is_usage_error,
 *   cloudnotify_version_string, cloudnotify_version_number) may be called
 *   from any thread.
 * - One context per virtual host is the intended model: options, store,
 *   the user cache and the outstanding publishes are per context, and
 *   accounts passed to a context are expected to belong to its host.
 * - Vtables (cloudnotify_callbacks, cloudnotify_store) start with a size
 *   field.  Every size a released header declared is accepted (missing
 *   fields count as NULL); a size larger than this library knows is
 *   accepted only when every byte it does not know is zero, so a host built
 *   against a newer header runs on an older library as long as it leaves
 *   the newer fields unset.  Any other size is CLOUDNOTIFY_ERR_VTABLE_SIZE.
 * - Out of memory aborts the process (GLib's policy); no function returns
 *   an out-of-memory error.
 */
#ifndef CLOUDNOTIFY_H
#define CLOUDNOTIFY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CLOUDNOTIFY_BUILDING) && defined(__GNUC__)
#define CLOUDNOTIFY_EXPORT __attribute__((visibility("default")))
#else
#define CLOUDNOTIFY_EXPORT
#endif

#define CLOUDNOTIFY_VERSION_MAJOR 0
#define CLOUDNOTIFY_VERSION_MINOR 3
#define CLOUDNOTIFY_VERSION_MICRO 0
/** The header's version as one number, 0xMMmmuu, comparable with
 *  cloudnotify_version_number(). */
#define CLOUDNOTIFY_VERSION_NUMBER                                                                 \
  ((CLOUDNOTIFY_VERSION_MAJOR << 16) | (CLOUDNOTIFY_VERSION_MINOR << 8) | CLOUDNOTIFY_VERSION_MICRO)

/** The XEP-0357 namespace, to advertise in the account's disco#info. */
#define CLOUDNOTIFY_NS_PUSH "urn:xmpp:push:0"

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

typedef enum cloudnotify_error {
  CLOUDNOTIFY_OK = 0,
  /** A required pointer was NULL or a value was out of range. */
  CLOUDNOTIFY_ERR_INVALID_ARGUMENT = -501,
  /** Input is not acceptable XML: malformed, several roots, DOCTYPE,
   *  comment, processing instruction, CDATA, NUL byte, invalid UTF-8, or a
   *  default namespace other than the accepted ones. */
  CLOUDNOTIFY_ERR_XML = -502,
  /** Input exceeds a configured bound (size, nesting depth, field count). */
  CLOUDNOTIFY_ERR_TOO_LARGE = -503,
  /** The stanza is not for this library (not a push IQ, or an app-server
   *  reply whose id the library never sent or has forgotten).  The host
   *  should process it as if the library did not exist. */
  CLOUDNOTIFY_ERR_NOT_MINE = -504,
  /** A JID argument is not a valid JID. */
  CLOUDNOTIFY_ERR_JID_MALFORMED = -505,
  /** The storage vtable reported a failure; nothing changed in memory. */
  CLOUDNOTIFY_ERR_STORE = -506,
  /** A struct starting with a size field (callbacks, store, tree ops,
   *  builder, reply) declares a size this library cannot accept: smaller
   *  than the oldest layout it takes, not a whole number of fields, or
   *  larger with nonzero fields this library does not know (the host was
   *  built against a newer header and uses them). */
  CLOUDNOTIFY_ERR_VTABLE_SIZE = -507,
  /** The send callback reported a failure. */
  CLOUDNOTIFY_ERR_SEND = -508,
  /** Unknown option name or number. */
  CLOUDNOTIFY_ERR_UNKNOWN_OPTION = -509,
  /** The option exists but the value has the wrong type or range. */
  CLOUDNOTIFY_ERR_OPTION_VALUE = -510,
  /** Called from inside one of this context's callbacks. */
  CLOUDNOTIFY_ERR_REENTRANT = -511,
  /** The call does not fit the session's state (e.g. resume of a session
   *  that is not hibernated). */
  CLOUDNOTIFY_ERR_STATE = -512,
  /** An app-server reply carries the id of an outstanding publish but
   *  comes from a JID other than the registration's (or from none).  It
   *  changed nothing and the publish still awaits its real reply; the
   *  host may drop the stanza (appended in 0.2). */
  CLOUDNOTIFY_ERR_FOREIGN_SENDER = -513,
  /* Answers that come later (see cloudnotify_op below). */
  /** The operation was already answered: completed before, or answered
   *  by the callback's own return value. */
  CLOUDNOTIFY_ERR_OP_DONE = -514,
  /** The operation was cancelled: the work waiting on it belonged to a
   *  session that was freed. */
  CLOUDNOTIFY_ERR_OP_CANCELLED = -515,
  /** The context the operation belonged to was freed. */
  CLOUDNOTIFY_ERR_GONE = -516,
  /** Too much work is parked waiting for the host's answers
   *  (CLOUDNOTIFY_MAX_PARKED_PER_ACCOUNT, CLOUDNOTIFY_MAX_PARKED); the
   *  call was not processed. */
  CLOUDNOTIFY_ERR_BUSY = -517,
  /** Not an operation handed out by this library, or a completion call
   *  that does not fit the operation's kind. */
  CLOUDNOTIFY_ERR_OP_UNKNOWN = -518,
  /* Appended in 0.3: the built-in SQLite store (cloudnotify_sqlite_*).
   * Through the store vtable the core sees any of them as a store failure
   * and answers the client wait/internal-server-error (ERR_STORE). */
  /** The database stayed locked by another connection or process beyond
   *  the busy timeout. */
  CLOUDNOTIFY_ERR_STORE_LOCKED = -519,
  /** The database file is not a database or is damaged. */
  CLOUDNOTIFY_ERR_STORE_CORRUPT = -520,
  /** The database's schema is not one this library can use: newer than
   *  this library, or not a libcloudnotify database at all. */
  CLOUDNOTIFY_ERR_STORE_VERSION = -521,
  /** The database cannot be opened, created or written: missing file or
   *  directory, permissions, read-only handle or file system, disk full,
   *  I/O error. */
  CLOUDNOTIFY_ERR_STORE_IO = -522,
  /* The PostgreSQL store (libcloudnotify-pg, cloudnotify-pg.h). */
  /** A PostgreSQL connection string that does not parse. */
  CLOUDNOTIFY_ERR_PG_CONNINFO = -524,
  /** The PostgreSQL server cannot be reached or the connection was lost;
   *  the store reconnects by itself. */
  CLOUDNOTIFY_ERR_PG_UNAVAILABLE = -525,
  /** The PostgreSQL server refused a statement. */
  CLOUDNOTIFY_ERR_PG_QUERY = -526,
  /** The PostgreSQL schema could not be set up, or was made by a newer
   *  version of the library. */
  CLOUDNOTIFY_ERR_PG_SCHEMA = -527,
} cloudnotify_error;

/** Static English description of an error code; never NULL.  Callable
 *  from callbacks. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_strerror(int error);

/** Nonzero when the error is the host's programming error or a version
 *  mismatch: retrying the same call unchanged can never succeed
 *  (INVALID_ARGUMENT, VTABLE_SIZE, UNKNOWN_OPTION, OPTION_VALUE,
 *  REENTRANT, OP_DONE, OP_UNKNOWN).  OP_CANCELLED, GONE and BUSY are not:
 *  they are races and load a correct host meets.  Zero for errors caused by the input or a transient
 *  failure, and for non-errors.  No error of this library leaves a context
 *  unusable (out of memory aborts), so there is no "fatal" class: after
 *  any error the context and its sessions stay valid.  Callable from
 *  callbacks and from any thread. */
CLOUDNOTIFY_EXPORT int cloudnotify_is_usage_error(int error);

/** Version of the library at run time, e.g. "0.2.0"; static string. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_version_string(void);

/** Version of the library at run time as 0xMMmmuu (major, minor, micro),
 *  to compare with CLOUDNOTIFY_VERSION_NUMBER, e.g. to refuse running on a
 *  library older than the header a host was built against. */
CLOUDNOTIFY_EXPORT uint32_t cloudnotify_version_number(void);

/* ------------------------------------------------------------------ */
/* Handles                                                             */
/* ------------------------------------------------------------------ */

/** One push engine: options, callbacks, store, cache, timers. */
typedef struct cloudnotify_ctx cloudnotify_ctx;
/** One client session (a bound resource) of a local account. */
typedef struct cloudnotify_session cloudnotify_session;
/** A notification about to be published; only seen by the
 *  notification filter, valid for the duration of that call. */
typedef struct cloudnotify_push cloudnotify_push;
/** Collects registrations during cloudnotify_store.load. */
typedef struct cloudnotify_loader cloudnotify_loader;
/** A stanza the library emits, handed to the send_stanza callback as
 *  structure (see "Stanzas as structure" below). */
typedef struct cloudnotify_stanza cloudnotify_stanza;

/** A byte buffer: a pointer and a length.  Used for arrays of stanzas. */
typedef struct cloudnotify_buf {
  const char *data;
  size_t len;
} cloudnotify_buf;

/** A push endpoint named by its service JID and node.  node NULL means
 *  every node of that JID. */
typedef struct cloudnotify_endpoint {
  const char *jid;
  const char *node;
} cloudnotify_endpoint;

/* ------------------------------------------------------------------ */
/* Host callbacks                                                      */
/* ------------------------------------------------------------------ */

typedef enum cloudnotify_route {
  /** An IQ reply for the client session passed along (enable/disable). */
  CLOUDNOTIFY_ROUTE_CLIENT = 1,
  /** A pubsub publish for an app server (the stanza's 'to'). */
  CLOUDNOTIFY_ROUTE_APP_SERVER = 2,
} cloudnotify_route;

typedef enum cloudnotify_log_level {
  CLOUDNOTIFY_LOG_DEBUG = 0,
  CLOUDNOTIFY_LOG_INFO = 1,
  CLOUDNOTIFY_LOG_WARN = 2,
  CLOUDNOTIFY_LOG_ERROR = 3,
} cloudnotify_log_level;

typedef enum cloudnotify_removal_reason {
  /** The client disabled it. */
  CLOUDNOTIFY_REMOVED_DISABLED = 1,
  /** The app server answered with push_max_errors errors in a row. */
  CLOUDNOTIFY_REMOVED_ERRORS = 2,
  /** push_max_devices was exceeded; this was the least recently enabled. */
  CLOUDNOTIFY_REMOVED_EVICTED = 3,
  /** The host removed every registration of the account
   *  (cloudnotify_account_remove_all: the account was deleted). */
  CLOUDNOTIFY_REMOVED_ACCOUNT = 4,
  /* Appended in 0.3: a host built against 0.2 may meet these values and
   * must treat an unknown reason as "removed for a reason it does not
   * know". */
  /** The registered app server said the node's affiliation is now 'none'
   *  (XEP-0357 section 8; see cloudnotify_handle_app_message). */
  CLOUDNOTIFY_REMOVED_REMOTE = 5,
  /** Not enabled again within push_registration_ttl days. */
  CLOUDNOTIFY_REMOVED_EXPIRED = 6,
  /** The same client identity (see cloudnotify_session_set_client_id)
   *  enabled another (jid, node): the older registration gave way. */
  CLOUDNOTIFY_REMOVED_CLIENT_REPLACED = 7,
} cloudnotify_removal_reason;

/** What became of one publish (see the publish_outcome callback). */
typedef enum cloudnotify_publish_outcome {
  /** A result from the registered JID; the error count is reset. */
  CLOUDNOTIFY_PUBLISH_OK = 1,
  /** An error from the registered JID counted towards push_max_errors:
   *  any type but 'wait' (and, since 0.3, any condition but those of
   *  push_transient_errors, which are TRANSIENT). */
  CLOUDNOTIFY_PUBLISH_ERROR = 2,
  /** A 'wait' error from the registered JID: not counted; since 0.3 it
   *  starts the registration's back-off (push_backoff). */
  CLOUDNOTIFY_PUBLISH_WAIT = 3,
  /** No reply within push_publish_timeout: neither success nor error. */
  CLOUDNOTIFY_PUBLISH_EXPIRED = 4,
  /** Forgotten unanswered because push_max_outstanding was reached. */
  CLOUDNOTIFY_PUBLISH_DROPPED = 5,
  /** Forgotten unanswered because its registration was removed. */
  CLOUDNOTIFY_PUBLISH_FORGOTTEN = 6,
  /** The send callback refused the publish: it never left. */
  CLOUDNOTIFY_PUBLISH_REFUSED = 7,
  /** The notification filter vetoed it, or the filter's question was
   *  cancelled with its session before it was answered (see "Answers that
   *  come later"): never built, no id. */
  CLOUDNOTIFY_PUBLISH_VETOED = 8,
  /** Appended in 0.3: an error of a type other than 'wait' whose
   *  condition is one of push_transient_errors (by default
   *  resource-constraint, internal-server-error, remote-server-timeout,
   *  service-unavailable, recipient-unavailable).  Not counted towards
   *  push_max_errors; like WAIT it starts the registration's back-off
   *  (push_backoff). */
  CLOUDNOTIFY_PUBLISH_TRANSIENT = 9,
} cloudnotify_publish_outcome;

/** Passed to publish_outcome; every pointer borrowed for the call.  The
 *  library may append fields: read size before any field added after
 *  0.2. */
typedef struct cloudnotify_publish_report {
  size_t size;
  const char *account;
  /** The registration's push service JID and node (node may be NULL). */
  const char *jid;
  const char *node;
  /** The publish id (as in the stanza's id attribute); NULL for VETOED. */
  const char *id;
  cloudnotify_publish_outcome outcome;
  /** For ERROR and WAIT: the reply's error type ("cancel", "modify",
   *  "auth", "wait") and RFC 6120 defined condition, each NULL when the
   *  reply had none (a condition outside RFC 6120 is reported as
   *  "undefined-condition").  NULL for the other outcomes. */
  const char *error_type;
  const char *error_condition;
  /** The registration's consecutive error count after this outcome, as
   *  held in memory (0 when the account is not cached). */
  unsigned consecutive_errors;
  /* ---- appended after 0.3 (diagnosis): check size first ---- */
  /** For ERROR, WAIT and TRANSIENT from a reply given as text or tree:
   *  the first <text/> of the reply's <error/>, at most
   *  CLOUDNOTIFY_DIAG_TEXT_MAX bytes (cut at a character boundary), or
   *  NULL when it had none (always NULL through
   *  cloudnotify_handle_app_reply_fields).  The app server's words:
   *  untrusted, show them as text. */
  const char *error_text;
  /** CLOUDNOTIFY_PUBLISH_FLAG_* bits: CLOUDNOTIFY_PUBLISH_FLAG_TEST for
   *  the outcome of a test push (cloudnotify_diag_test_push). */
  unsigned flags;
} cloudnotify_publish_report;

typedef enum cloudnotify_registration_change {
  /** A new (jid, node) for the account. */
  CLOUDNOTIFY_REGISTRATION_ADDED = 1,
  /** An enable for a (jid, node) the account already had: its form and
   *  enable time were replaced and its error count restarts at 0. */
  CLOUDNOTIFY_REGISTRATION_REPLACED = 2,
} cloudnotify_registration_change;

/** The host's callbacks.  Set size to sizeof(cloudnotify_callbacks) and
 *  zero-initialise the struct (a designated initialiser does); a later
 *  version of the library only appends fields.  Sizes are checked by the
 *  vtable rule in the conventions at the top of this header.  Every
 *  field may be NULL; the documented default then applies.
 *  Every pointer passed to a callback is borrowed for the duration of the
 *  call.  user_data is the pointer given to cloudnotify_ctx_new. */
typedef struct cloudnotify_callbacks {
  size_t size;

  /** Send a stanza.  session is the client session for ROUTE_CLIENT and
   *  NULL for ROUTE_APP_SERVER; account is the local account concerned;
   *  to is the destination JID (also in the stanza).  Return 0 when the
   *  stanza was accepted for delivery, negative otherwise (the library
   *  then treats the push as not sent, logs it, and for ROUTE_CLIENT
   *  returns CLOUDNOTIFY_ERR_SEND).  Default: nothing is sent. */
  int (*send)(void *user_data, cloudnotify_route route, cloudnotify_session *session,
              const char *account, const char *to, const char *xml, size_t len);

  /** Wall-clock time in milliseconds since the Unix epoch.  Used only
   *  for the enable time stored with each registration (it orders
   *  device-limit eviction), so it must keep counting across restarts;
   *  it may step.  Timers use monotonic_ms.  Default: CLOCK_REALTIME. */
  int64_t (*now_ms)(void *user_data);

  /** The next deadline changed: call cloudnotify_tick() after timeout_ms
   *  milliseconds (0: as soon as possible; -1: no timer needed).  Called
   *  on the way out of an API call when the earliest deadline changed, and
   *  always on the way out of cloudnotify_tick (the host's one-shot timer
   *  has fired and needs re-arming).  Default: the host polls
   *  cloudnotify_next_timeout(). */
  void (*timer_changed)(void *user_data, int64_t timeout_ms);

  /** The session's hibernation timeout should change: keep a hibernated
   *  session up to seconds (push_max_hibernation_timeout) while no
   *  important push has gone out; seconds == -1 means return to the
   *  host's normal timeout.  Default: ignored. */
  void (*hibernation_timeout)(void *user_data, cloudnotify_session *session, int64_t seconds);

  /** A registration was removed (not called when one is merely replaced
   *  by enabling the same jid and node again).  node may be NULL.
   *  Default: ignored. */
  void (*registration_removed)(void *user_data, const char *account, const char *jid,
                               const char *node, cloudnotify_removal_reason reason);

  /** A log line.  Message bodies and publish-options contents are never
   *  part of it.  Not called (nor the line formatted) below
   *  push_log_level, nor when log2 is set.  Default: discarded. */
  void (*log)(void *user_data, cloudnotify_log_level level, const char *message);

  /** Registration filter, called before an enable is stored.  jid and
   *  node are normalised.  Return 0 to accept; to veto, return nonzero
   *  and set *error_type ("cancel", "modify", "auth" or "wait") and
   *  *error_condition (an RFC 6120 defined-condition element name such as
   *  "not-allowed") to static strings; invalid or unset values become
   *  cancel / not-allowed.  May answer later: CLOUDNOTIFY_PENDING (see
   *  "Answers that come later"; then session is borrowed until the
   *  callback returns, like the other arguments).  Default: accept. */
  int (*registration_filter)(void *user_data, cloudnotify_session *session, const char *account,
                             const char *jid, const char *node, const char **error_type,
                             const char **error_condition);

  /** Notification filter, called before each publish.  Return 0 to send
   *  (possibly after amending push with cloudnotify_push_set_*), nonzero
   *  to drop this one publish, or CLOUDNOTIFY_PENDING to answer later
   *  (push then stays valid through cloudnotify_op_push until the answer).
   *  Default: send. */
  int (*notification_filter)(void *user_data, cloudnotify_push *push);

  /* ---- appended in 0.2 ---- */

  /** Send a stanza given as structure instead of text.  When set, it is
   *  called instead of send for every stanza the library emits (send is
   *  then never called), and the library does not serialise the stanza
   *  unless the host asks with cloudnotify_stanza_text.  stanza is
   *  borrowed for the call: read it with the cloudnotify_stanza_*
   *  getters, walk it into the host's own objects with
   *  cloudnotify_stanza_build, and keep nothing of it after returning.
   *  Return 0 when accepted for delivery, negative otherwise (handled as
   *  for send).  Default (NULL): send. */
  int (*send_stanza)(void *user_data, const cloudnotify_stanza *stanza);
  /** A monotonic clock in milliseconds (any origin; it must never go
   *  back nor jump when the wall clock is set).  Every deadline runs on
   *  it: coalescing window, ack delay, wake-up before expiry, publish
   *  expiry, and the timeouts given to timer_changed and returned by
   *  cloudnotify_next_timeout.  A host that fakes time (tests,
   *  simulations) sets both clocks.  Default: CLOCK_MONOTONIC. */
  int64_t (*monotonic_ms)(void *user_data);

  /** Every publish ends here exactly once with its outcome (see
   *  cloudnotify_publish_outcome), except publishes still awaiting a
   *  reply when cloudnotify_ctx_set_store or cloudnotify_ctx_free
   *  forgets them.  Default: ignored. */
  void (*publish_outcome)(void *user_data, const cloudnotify_publish_report *report);

  /** An enable was stored: change says whether (jid, node) is new for
   *  the account or replaced an existing registration.  session is the
   *  enabling session; node may be NULL.  Called after any eviction it
   *  caused was reported and before the client's result is sent.
   *  Default: ignored. */
  void (*registration_added)(void *user_data, cloudnotify_session *session, const char *account,
                             const char *jid, const char *node,
                             cloudnotify_registration_change change);

  /** As registration_removed, with the cause of an error removal: for
   *  CLOUDNOTIFY_REMOVED_ERRORS, error_type and error_condition are those
   *  of the error that reached push_max_errors (each NULL when that reply
   *  had none); NULL for the other reasons.  When set it is called
   *  instead of registration_removed.  Default: registration_removed. */
  void (*registration_removed2)(void *user_data, const char *account, const char *jid,
                                const char *node, cloudnotify_removal_reason reason,
                                const char *error_type, const char *error_condition);

  /** As log, with a stable identifier of the message (one of the
   *  CLOUDNOTIFY_LOG_ID_* strings below, static).  When set it is called
   *  instead of log.  Messages below push_log_level are never formatted.
   *  Default: log. */
  void (*log2)(void *user_data, cloudnotify_log_level level, const char *id, const char *message);

  /* ---- appended in 0.3 ---- */

  /** Whether sender (a normalised bare JID, borrowed) is known to
   *  account: 1 when the account's roster has a subscription with it in
   *  either direction (RFC 6121 'to', 'from' or 'both'), 0 when it has
   *  none ('none', or no roster item).  Any other value means "cannot
   *  tell" and counts as known.  Called synchronously while a push is
   *  decided, only for registrations that opted into
   *  tigase:push:filter:ignore-unknown:0 and never for groupchat
   *  messages; it cannot answer later.  Default (NULL): every sender is
   *  known, and tigase:push:filter:ignore-unknown:0 is neither advertised
   *  (cloudnotify_ctx_disco_features) nor accepted in an enable. */
  int (*sender_known)(void *user_data, const char *account, const char *sender);
} cloudnotify_callbacks;

/* Identifiers passed to log2.  Each names one kind of message; the text
 * may change between versions, the identifier does not. */
/** INFO (0.3): a registration was removed for a reason other than the
 *  client's disable: errors, eviction, remote disable, expiry, client
 *  replaced.  The reason is in the text. */
#define CLOUDNOTIFY_LOG_ID_REGISTRATION_REMOVED "registration-removed"
/** DEBUG (0.3): a push was not sent because of a rule (quiet, grace,
 *  rate limit, filter, back-off); the rule is in the text. */
#define CLOUDNOTIFY_LOG_ID_PUSH_SUPPRESSED "push-suppressed"
/** ERROR: the store's save failed. */
#define CLOUDNOTIFY_LOG_ID_STORE_SAVE_FAILED "store-save-failed"
/** ERROR: the store's remove failed. */
#define CLOUDNOTIFY_LOG_ID_STORE_REMOVE_FAILED "store-remove-failed"
/** ERROR: the store's load failed. */
#define CLOUDNOTIFY_LOG_ID_STORE_LOAD_FAILED "store-load-failed"
/** ERROR: a failed eviction left more than push_max_devices stored. */
#define CLOUDNOTIFY_LOG_ID_STORE_OVER_LIMIT "store-over-limit"
/** WARN: a stored record was invalid and skipped. */
#define CLOUDNOTIFY_LOG_ID_STORE_RECORD_INVALID "store-record-invalid"
/** INFO: a stored record beyond push_max_devices was removed on load. */
#define CLOUDNOTIFY_LOG_ID_STORE_SURPLUS_DROPPED "store-surplus-dropped"
/** INFO: a client enabled push. */
#define CLOUDNOTIFY_LOG_ID_PUSH_ENABLED "push-enabled"
/** INFO: a client disabled push. */
#define CLOUDNOTIFY_LOG_ID_PUSH_DISABLED "push-disabled"
/** DEBUG: a publish was sent. */
#define CLOUDNOTIFY_LOG_ID_PUSH_SENT "push-sent"
/** DEBUG: the notification filter vetoed a publish. */
#define CLOUDNOTIFY_LOG_ID_PUSH_VETOED "push-vetoed"
/** WARN: the send callback refused a publish. */
#define CLOUDNOTIFY_LOG_ID_PUSH_REFUSED "push-refused"
/** WARN: a reply to a publish came from a foreign sender. */
#define CLOUDNOTIFY_LOG_ID_REPLY_FOREIGN_SENDER "reply-foreign-sender"
/** DEBUG: a 'wait' error reply, not counted. */
#define CLOUDNOTIFY_LOG_ID_REPLY_WAIT "reply-wait"
/** INFO: an error reply, counted. */
#define CLOUDNOTIFY_LOG_ID_REPLY_ERROR "reply-error"
/** WARN: a registration was removed at push_max_errors. */
#define CLOUDNOTIFY_LOG_ID_REMOVED_ERRORS "removed-errors"
/** WARN: a stanza in a session queue could not be parsed. */
#define CLOUDNOTIFY_LOG_ID_QUEUED_UNPARSABLE "queued-unparsable"
/** DEBUG: a session's ack is overdue. */
#define CLOUDNOTIFY_LOG_ID_ACK_OVERDUE "ack-overdue"
/** INFO: a registration stored under a key that is not normalised was
 *  rewritten under its normalised key while loading. */
#define CLOUDNOTIFY_LOG_ID_STORE_KEY_REWRITTEN "store-key-rewritten"
/** Any message a future version adds before it gets its own id. */
#define CLOUDNOTIFY_LOG_ID_OTHER "other"

/* ------------------------------------------------------------------ */
/* Context and options                                                 */
/* ------------------------------------------------------------------ */

/** Create a context.  callbacks is copied (borrowed for the call); may be
 *  NULL for all defaults.  user_data is passed to every callback.  The
 *  context starts with the in-memory store.  *out is owned by the caller
 *  and freed with cloudnotify_ctx_free.
 *  Errors: INVALID_ARGUMENT (out NULL), VTABLE_SIZE (callbacks->size
 *  refused by the vtable rule). */
CLOUDNOTIFY_EXPORT int cloudnotify_ctx_new(cloudnotify_ctx **out,
                                           const cloudnotify_callbacks *callbacks, void *user_data);

/** Free a context and everything created from it that is still alive,
 *  sessions included (their handles become invalid).  Calls the store's
 *  destroy.  No callback other than the store's destroy is called.
 *  NULL is a no-op.  Called from inside one of the context's callbacks it
 *  is refused: nothing is freed and a critical message is logged through
 *  GLib (g_critical); free the context after the call returns. */
CLOUDNOTIFY_EXPORT void cloudnotify_ctx_free(cloudnotify_ctx *ctx);

typedef enum cloudnotify_option {
  /** bool, default 0: put the real message body in the summary.  An
   *  important stanza without a body of its own (a call, an encrypted
   *  message) still gets IMPORTANT_BODY, so that app servers that tell
   *  an alert from a silent push by the body field see it. */
  CLOUDNOTIFY_OPT_WITH_BODY = 1,
  /** bool, default 0: put the message sender in the summary. */
  CLOUDNOTIFY_OPT_WITH_SENDER = 2,
  /** string, default "New Message!": body sent for important stanzas
   *  when WITH_BODY is off; "" disables it (and then every push counts as
   *  important for the hibernation timeout, as in the reference). */
  CLOUDNOTIFY_OPT_IMPORTANT_BODY = 3,
  /** int 1..1000000, default 16: consecutive app-server errors before a
   *  registration is removed. */
  CLOUDNOTIFY_OPT_MAX_ERRORS = 4,
  /** int 1..1000, default 5: registrations kept per account. */
  CLOUDNOTIFY_OPT_MAX_DEVICES = 5,
  /** int seconds 0..31536000, default 259200 (72 h): hibernation timeout
   *  recommended while no important push has gone out. */
  CLOUDNOTIFY_OPT_MAX_HIBERNATION_TIMEOUT = 6,
  /** int seconds 1..86400, default 30: ack delay before a push. */
  CLOUDNOTIFY_OPT_MAX_ACK_DELAY = 7,
  /** int ms 0..60000, default 1000: coalescing window for stanzas queued
   *  while hibernated. */
  CLOUDNOTIFY_OPT_COALESCE_MS = 8,
  /** int 1..10000000, default 10000: publishes awaiting an app-server
   *  reply; when full the oldest is forgotten. */
  CLOUDNOTIFY_OPT_MAX_OUTSTANDING = 9,
  /** int seconds 1..86400, default 300: how long a publish waits for its
   *  reply before it is forgotten (neither success nor error). */
  CLOUDNOTIFY_OPT_PUBLISH_TIMEOUT = 10,
  /** int 1..10000000, default 10000: accounts kept in the cache. */
  CLOUDNOTIFY_OPT_MAX_CACHED_USERS = 11,
  /** int bytes 256..10000000, default 262144: largest stanza accepted
   *  (libxml2 refuses longer text nodes without its "huge" mode, which
   *  also lifts its other protections). */
  CLOUDNOTIFY_OPT_MAX_STANZA_SIZE = 12,
  /** int 4..256, default 64: deepest element nesting accepted. */
  CLOUDNOTIFY_OPT_MAX_XML_DEPTH = 13,
  /** int bytes 64..1048576, default 8192: largest publish-options form
   *  (serialised) accepted in an enable. */
  CLOUDNOTIFY_OPT_MAX_FORM_SIZE = 14,
  /** int 1..10000, default 64: most fields in a publish-options form. */
  CLOUDNOTIFY_OPT_MAX_FORM_FIELDS = 15,
  /** int 0..10000000, default 4096: stanza identities remembered per
   *  context so that no registration is pushed twice for one stanza. */
  CLOUDNOTIFY_OPT_MAX_REMEMBERED_STANZAS = 16,
  /** int 1..100000, default 1000: stanzas tracked per session for the
   *  hibernation and ack-delay pushes.  Beyond it one is dropped: a
   *  stanza that is never pushed first, else the oldest unimportant one,
   *  else the oldest important one, but never the last important or the
   *  last unimportant one (they decide the pushes). */
  CLOUDNOTIFY_OPT_MAX_SESSION_QUEUE = 17,
  /** int seconds 0..86400, default 0 (off): push once this long before an
   *  extended hibernation would expire. */
  CLOUDNOTIFY_OPT_WAKE_BEFORE_EXPIRY = 18,
  /** string, default "" (none), appended in 0.2: prepended to every
   *  publish id, for servers that route or shard replies by id.  At most
   *  CLOUDNOTIFY_ID_PREFIX_MAX characters from A-Z a-z 0-9 '-' '_' '.'
   *  ':' (safe in an XML attribute and in any id); anything else is
   *  OPTION_VALUE.  Changing it does not affect publishes already sent. */
  CLOUDNOTIFY_OPT_ID_PREFIX = 19,
  /** int 0..4, default 0 (CLOUDNOTIFY_LOG_DEBUG), appended in 0.2: log
   *  messages below this level are neither formatted nor passed to log /
   *  log2; 4 turns logging off.  By name it also takes "debug", "info",
   *  "warn", "error" and "none". */
  CLOUDNOTIFY_OPT_LOG_LEVEL = 20,
  /** bool, default 0 (by name: push_publish_from_bare): publish from the
   *  account's bare JID, as XEP-0357's examples do, instead of from its
   *  domain (the reference's choice).  App servers then answer to the
   *  account's bare JID: the host must hand IQ results and errors
   *  addressed to a local account's bare JID (not only those addressed to
   *  the domain) to cloudnotify_handle_app_reply, before answering them
   *  on the account's behalf, and process them as usual when it returns
   *  CLOUDNOTIFY_ERR_NOT_MINE.  Publishes already sent are answered
   *  wherever they were sent from: route both while switching. */
  CLOUDNOTIFY_OPT_PUBLISH_FROM_BARE = 21,
  /** string, appended in 0.3 (by name: push_store): which store the
   *  context uses.  "memory" restores the in-memory store (empty);
   *  "sqlite:" followed by a file path opens that SQLite database
   *  (created and migrated as cloudnotify_sqlite_open with flags 0 does)
   *  and makes it the store, owned by the context
   *  (cloudnotify_ctx_set_sqlite_store).  Write only: the context does
   *  not remember the text.  Besides the errors of the option setters:
   *  STATE (sessions exist or work is parked, as
   *  cloudnotify_ctx_set_store), STORE_LOCKED, STORE_CORRUPT,
   *  STORE_VERSION, STORE_IO (from opening the file); on any error the
   *  store in use is unchanged. */
  CLOUDNOTIFY_OPT_STORE = 22,

  /* ---- appended in 0.3: what phones need (docs/features.md) ---- */

  /** bool, default 1 (by name: push_quiet): no push, on any path, for a
   *  message that carries nothing a user sees: no body (or only
   *  whitespace), none of the payloads that make a message important, no
   *  subject, and no child outside the list of invisible ones (chat
   *  states, delivery receipts, chat markers, Jingle Message actions
   *  other than propose, and the routing elements delay, stanza-id,
   *  origin-id, thread, processing hints).  An empty message counts as
   *  invisible.  A correction (XEP-0308) with a body is a message.  0
   *  restores the 0.2 behaviour (a silent push). */
  CLOUDNOTIFY_OPT_QUIET = 23,
  /** int seconds 0..86400, default 60 (by name: push_call_max_age): a
   *  Jingle Message Initiation propose whose XEP-0203 delay stamp is
   *  older than this is not pushed as a call (no ring); it is an ordinary
   *  important message.  0: every delayed propose is stale. */
  CLOUDNOTIFY_OPT_CALL_MAX_AGE = 24,
  /** int seconds 0..86400, default 0 (off) (by name: push_grace_period):
   *  no push to a registration while another session of the same account
   *  was active (cloudnotify_session_active) within this many seconds.
   *  Calls are exempt. */
  CLOUDNOTIFY_OPT_GRACE_PERIOD = 25,
  /** int ms 0..3600000, default 3000 (by name: push_visible_interval):
   *  at most one important (visible) push per registration in this
   *  window; the messages it holds back are counted in the next push's
   *  message-count.  0: no limit.  Calls bypass it. */
  CLOUDNOTIFY_OPT_VISIBLE_INTERVAL_MS = 26,
  /** int 0..100000, default 3 (by name: push_silent_per_hour): at most
   *  this many unimportant (silent) pushes per registration in any hour;
   *  Apple budgets background pushes at two or three an hour.  0: no
   *  limit.  Calls, cloudnotify_ping, wake-ups before expiry and badge
   *  clearing (push_clear_on_fetch) bypass it. */
  CLOUDNOTIFY_OPT_SILENT_PER_HOUR = 27,
  /** string (by name: push_transient_errors): comma-separated RFC 6120
   *  conditions that an app server uses for faults that pass; an error
   *  with one of them (or of type 'wait') is reported as
   *  CLOUDNOTIFY_PUBLISH_TRANSIENT (or WAIT), is neither counted towards
   *  push_max_errors nor resets the count, and starts the back-off.
   *  Every other error counts, as in 0.2: another condition, an error
   *  without type or condition, a condition outside RFC 6120.  Default
   *  "resource-constraint,internal-server-error,remote-server-timeout,service-unavailable,recipient-unavailable":
   *  rate limits, the app server's own faults, APNs/FCM out of reach;
   *  item-not-found (p2: unknown node or unregistered token), forbidden,
   *  not-authorized, gone, policy-violation (fpush: token blocked) ...
   *  mean the registration is gone and count.  bad-request counts by
   *  default although fpush sends cancel/bad-request for its internal
   *  errors: p2 sends it for what is no publish.  docs/features.md, "App-
   *  server errors", has the whole table.  "" makes every non-'wait'
   *  error count.  An unknown condition name is OPTION_VALUE. */
  CLOUDNOTIFY_OPT_TRANSIENT_ERRORS = 28,
  /** int seconds 0..86400, default 30 (by name: push_backoff): after a
   *  WAIT or TRANSIENT reply, pushes to that registration are held for
   *  this long (CLOUDNOTIFY_COUNTER_SUPPRESSED_BACKOFF, log id
   *  PUSH_SUPPRESSED, no publish_outcome), doubling at each further such
   *  reply up to 32 times this; when the back-off ends, one push goes out
   *  through the ordinary path if any was held, standing for the newest
   *  held stanza (an important one if any held was important).  A result
   *  ends the back-off at once (sending the held push) and resets its
   *  length.  Calls, cloudnotify_ping and the wake-up before the
   *  hibernation expires are never held.  The back-off lives in memory:
   *  an account leaving the user cache, a restart or enabling again
   *  forgets it.  0: no back-off. */
  CLOUDNOTIFY_OPT_BACKOFF = 29,
  /** int days 0..3650, default 0 (off) (by name:
   *  push_registration_ttl): a registration not enabled again for this
   *  many days (its enabled_at_ms against now_ms) is removed
   *  (CLOUDNOTIFY_REMOVED_EXPIRED) when it is next loaded, or when a push
   *  to it is due: that push is not sent and the removal follows at the
   *  next cloudnotify_tick.  Enabling again refreshes the time. */
  CLOUDNOTIFY_OPT_REGISTRATION_TTL = 30,
  /** bool, default 0 (by name: push_clear_on_fetch): when the host
   *  reports that the account's client fetched its offline messages
   *  (cloudnotify_offline_fetched), push once with message-count 0 to
   *  every registration not bound to a live session, so that apps can
   *  clear their badge. */
  CLOUDNOTIFY_OPT_CLEAR_ON_FETCH = 31,
  /** bool, default 1 (by name: push_tigase_extensions): accept and
   *  advertise Tigase's push extensions (tigase:push:*: encrypt,
   *  priority, jingle, muted, groupchat, ignore-unknown).  Each only
   *  changes what a registration that opted into it in its enable gets.
   *  0: an enable carrying one is refused with
   *  cancel/feature-not-implemented, and none is advertised.
   *  Registrations stored with extensions keep them but they are not
   *  applied while it is 0. */
  CLOUDNOTIFY_OPT_TIGASE_EXTENSIONS = 32,
} cloudnotify_option;

/** Longest push_id_prefix, in bytes. */
#define CLOUDNOTIFY_ID_PREFIX_MAX 32

/** Set an integer or boolean option.
 *  Errors: INVALID_ARGUMENT (ctx NULL), UNKNOWN_OPTION, OPTION_VALUE
 *  (string option, or value out of range), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_ctx_set_option_int(cloudnotify_ctx *ctx,
                                                      cloudnotify_option option, int64_t value);

/** Set a string option; value is copied.
 *  Errors: INVALID_ARGUMENT (ctx or value NULL), UNKNOWN_OPTION,
 *  OPTION_VALUE (not a string option, not valid UTF-8, or holding a
 *  character XML cannot carry; for ID_PREFIX: too long or a character
 *  outside its set), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_ctx_set_option_string(cloudnotify_ctx *ctx,
                                                         cloudnotify_option option,
                                                         const char *value);

/** Set an option by its configuration name (the reference module's
 *  names: push_notification_with_body, push_notification_with_sender,
 *  push_notification_important_body, push_max_errors, push_max_devices,
 *  push_max_hibernation_timeout, smacks_max_ack_delay; and
 *  push_coalesce_ms, push_max_outstanding, push_publish_timeout,
 *  push_max_cached_users, push_max_stanza_size, push_max_xml_depth,
 *  push_max_form_size, push_max_form_fields, push_max_remembered_stanzas,
 *  push_max_session_queue, push_wake_before_expiry; since 0.2
 *  push_id_prefix, push_log_level, push_publish_from_bare; since 0.3
 *  push_store, whose errors are listed at CLOUDNOTIFY_OPT_STORE) with the value
 *  as text ("true"/"false"/"1"/"0" for booleans, decimal for integers).
 *  Errors: INVALID_ARGUMENT, UNKNOWN_OPTION, OPTION_VALUE, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_ctx_set_option(cloudnotify_ctx *ctx, const char *name,
                                                  const char *value);

/* ------------------------------------------------------------------ */
/* Storage                                                             */
/* ------------------------------------------------------------------ */

/** One stored registration, as passed to save and to
 *  cloudnotify_loader_add.  All pointers borrowed.  Zero-initialise it
 *  (designated initialisers do).  Its layout is frozen with 0.2 (it has
 *  no size field): a record with more fields would come with new
 *  functions taking it, never by growing this one. */
typedef struct cloudnotify_record {
  /** Push service JID (normalised by the library on save). */
  const char *jid;
  /** Node; NULL when the client gave none. */
  const char *node;
  /** Publish-options form as XML text, NULL/0 when none.  From 0.3 the
   *  text may be followed by the registration's Tigase push extension
   *  elements (namespaces starting with "tigase:push:", see "What phones
   *  need"), so that every store keeps them without a change of schema;
   *  the form, when there is one, comes first.  The extensions hold the
   *  client's encryption key: protect the text as the app-server secrets
   *  of the form are protected.  A store keeps the text as it is. */
  const char *publish_options;
  size_t publish_options_len;
  /** When it was enabled (now_ms); orders device-limit eviction. */
  int64_t enabled_at_ms;
  /* Fields added in 0.2.  Fields are only ever appended: a host must
   * zero-initialise records it builds (a designated or positional
   * initialiser, or memset) so that fields it does not know are 0/NULL. */
  /** Consecutive app-server errors so far (0 for a new registration).
   *  Stored so that cache eviction, restarts and other nodes do not reset
   *  the count towards push_max_errors; see cloudnotify_store.set_errors.
   *  A store that keeps no count passes 0 to the loader. */
  unsigned errors;
  /** Client identity of the session that enabled it (see
   *  cloudnotify_session_set_client_id): its client id, or since 0.3 its
   *  resource when none was set (0.2 stored NULL then).  From a
   *  store: valid UTF-8 XML can carry, at most
   *  CLOUDNOTIFY_CLIENT_ID_MAX bytes; "" counts as NULL. */
  const char *client_id;
} cloudnotify_record;

/** A storage backend.  Set size to sizeof(cloudnotify_store) and
 *  zero-initialise the struct; sizes follow the vtable rule at the top of
 *  this header.
 *  Data read back is untrusted: every record is validated again by
 *  cloudnotify_loader_add.  Return 0 on success, negative on failure, or
 *  CLOUDNOTIFY_PENDING to answer later (see "Answers that come later";
 *  the store_data must then let the host reach the context, for
 *  cloudnotify_ctx_current_op).  store_data is the pointer given to
 *  cloudnotify_ctx_set_store. */
typedef struct cloudnotify_store {
  size_t size;
  /** Add every registration of account with cloudnotify_loader_add. */
  int (*load)(void *store_data, const char *account, cloudnotify_loader *loader);
  /** Insert or replace the registration keyed by (jid, node). */
  int (*save)(void *store_data, const char *account, const cloudnotify_record *record);
  /** Remove the registration keyed by (jid, node); node NULL is the
   *  registration without node.  Removing a missing one succeeds.  jid
   *  and node are normalised, except when a load rewrites a record
   *  stored under another spelling (see cloudnotify_loader_add): then
   *  they are the record's own, as load gave them. */
  int (*remove)(void *store_data, const char *account, const char *jid, const char *node);
  /** Called once when the store is replaced or the context freed.  May be
   *  NULL. */
  void (*destroy)(void *store_data);
  /* Added in 0.2. */
  /** The consecutive error count of the registration keyed by (jid,
   *  node) changed to errors (0 after a successful publish).  Update only
   *  that field of the stored record; a missing record is not an error.
   *  May be NULL: counts then live in memory only, and restart from the
   *  stored value (what save wrote, normally 0) whenever the account is
   *  loaded again.  A failure (negative) is logged and counted
   *  (CLOUDNOTIFY_COUNTER_STORE_FAILURES); the count in memory stands and
   *  the call is repeated at the next change.  Unlike load, save and
   *  remove this call is never waited for (no decision depends on it),
   *  so it has no operation (cloudnotify_ctx_current_op returns NULL): a
   *  store that writes later returns 0 (CLOUDNOTIFY_PENDING is taken as
   *  0) and writes when it can; a load before that write lands restarts
   *  the count from the older stored value. */
  int (*set_errors)(void *store_data, const char *account, const char *jid, const char *node,
                    unsigned errors);
} cloudnotify_store;

/** Replace the storage backend (vtable copied; store_data borrowed until
 *  destroy is called).  The previous backend's destroy is called and the
 *  user cache emptied.  store NULL restores the in-memory store (empty).
 *  Errors: INVALID_ARGUMENT (ctx NULL, or load/save/remove NULL),
 *  VTABLE_SIZE, REENTRANT, STATE (sessions exist, or work is parked
 *  waiting for an answer: set the store first). */
CLOUDNOTIFY_EXPORT int cloudnotify_ctx_set_store(cloudnotify_ctx *ctx,
                                                 const cloudnotify_store *store, void *store_data);

/** Called from a store's load, or until a load answered later is
 *  completed: add one record (copied).  An invalid record (bad JID, bad
 *  form, bad client id) is skipped and logged, and its error returned;
 *  the load continues.  Records beyond push_max_devices are trimmed,
 *  least recently enabled first, and removed from the store.
 *  A record stored under a key that is not normalised (a service JID in
 *  another case or with a trailing dot, as mod_cloud_notify keeps what
 *  clients wrote; an empty node instead of none) is rewritten once the
 *  load is over: saved under the normalised key, then removed under the
 *  stored one, so that later removals reach it; both calls may answer
 *  later like any save or remove.  If the store refuses either, the load
 *  fails (the caller gets CLOUDNOTIFY_ERR_STORE, nothing is cached) and
 *  the next call tries again.
 *  Errors: INVALID_ARGUMENT, JID_MALFORMED, XML, TOO_LARGE; after the load
 *  is over (only reachable while the host holds the load's op): OP_DONE,
 *  OP_CANCELLED, GONE. */
CLOUDNOTIFY_EXPORT int cloudnotify_loader_add(cloudnotify_loader *loader,
                                              const cloudnotify_record *record);

/* ------------------------------------------------------------------ */
/* Sessions                                                            */
/* ------------------------------------------------------------------ */

/** A resource was bound: create its session.  account is the bare JID,
 *  resource the bound resource (both copied, validated).  *out is owned
 *  by the caller and freed with cloudnotify_session_free.  Since 0.3 the
 *  account's registrations are loaded (the store's load may answer
 *  later) to bind the session to the registration its client enabled
 *  in an earlier session (see cloudnotify_session_set_client_id); a
 *  store failure only leaves the session unbound.
 *  Errors: INVALID_ARGUMENT, JID_MALFORMED, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_new(cloudnotify_ctx *ctx, const char *account,
                                               const char *resource, cloudnotify_session **out);

/** The session closed: cancel its timers and unbind it.  NULL is a no-op.
 *  May be called from a callback (e.g. the send callback learning that
 *  the connection is gone): the session then stops at once (its timers
 *  are cancelled and no further callback names it or sends to it) and is
 *  freed on the way out of the outermost call of the library in progress;
 *  the handle must not be passed to the library again either way.
 *  Freeing it twice from callbacks is a no-op the second time. */
CLOUDNOTIFY_EXPORT void cloudnotify_session_free(cloudnotify_session *session);

/** Attach the host's own pointer to a session (borrowed). */
CLOUDNOTIFY_EXPORT void cloudnotify_session_set_user_data(cloudnotify_session *session,
                                                          void *user_data);
/** Callable from callbacks. */
CLOUDNOTIFY_EXPORT void *cloudnotify_session_get_user_data(const cloudnotify_session *session);
/** The account's normalised bare JID; borrowed, valid while the session
 *  lives.  Callable from callbacks. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_session_account(const cloudnotify_session *session);
/** The normalised resource; borrowed as above.  Callable from callbacks. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_session_resource(const cloudnotify_session *session);

/** Stream management (XEP-0198) was enabled on the session; calling it
 *  again changes nothing.  Until it is called the session has no
 *  stream-management machinery: cloudnotify_session_hibernated, _queued,
 *  _ack_requested, _acked and _ack_delayed return CLOUDNOTIFY_ERR_STATE
 *  and change nothing (without stream management there is no queue to
 *  report, no ack to wait for and no hibernation), so neither ack-delay
 *  nor hibernation pushes can start.  Stanzas are numbered for
 *  cloudnotify_session_acked from this call on, as XEP-0198's h is.
 *  Errors: INVALID_ARGUMENT, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_sm_enabled(cloudnotify_session *session);

/** The session hibernated (its connection dropped, stream management
 *  keeps it).  queue is the session's unacknowledged stanzas (n may be 0);
 *  if the session has push enabled one push goes out for them and the
 *  hibernation_timeout callback is asked for the extended timeout.
 *  Errors: INVALID_ARGUMENT, STATE (already hibernated, or
 *  cloudnotify_session_sm_enabled not called), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_hibernated(cloudnotify_session *session,
                                                      const cloudnotify_buf *queue, size_t n);

/** A stanza was added to the session's stream-management queue (sent to
 *  a live session, or queued while hibernated).  While hibernated it is
 *  pushed after the coalescing window; while live it is remembered for
 *  the ack-delay push.  Errors: INVALID_ARGUMENT, XML, TOO_LARGE, STATE
 *  (cloudnotify_session_sm_enabled not called), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_queued(cloudnotify_session *session, const char *xml,
                                                  size_t len);

/** The server sent an ack request <r/>; the ack-delay clock starts for
 *  the stanzas queued so far.  Errors: INVALID_ARGUMENT, STATE
 *  (cloudnotify_session_sm_enabled not called), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_ack_requested(cloudnotify_session *session);

/** The client acknowledged: h is the <a h=''/> value (stanzas handled,
 *  modulo 2^32).  Errors: INVALID_ARGUMENT, STATE
 *  (cloudnotify_session_sm_enabled not called), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_acked(cloudnotify_session *session, uint32_t h);

/** The host detected an overdue ack itself; queue holds the unacked
 *  stanzas (n may be 0: the ones reported through queued are used).
 *  Errors: INVALID_ARGUMENT, STATE (cloudnotify_session_sm_enabled not
 *  called), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_ack_delayed(cloudnotify_session *session,
                                                       const cloudnotify_buf *queue, size_t n);

/** The session was resumed: pending coalesced pushes are cancelled and
 *  the hibernation_timeout callback is not called again.
 *  Errors: INVALID_ARGUMENT, STATE (not hibernated), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_resumed(cloudnotify_session *session);

/* ---- Sessions: push state and client identity (0.2) ---------------- */

/** Longest client identity accepted, in bytes. */
#define CLOUDNOTIFY_CLIENT_ID_MAX 1024

/** 1 when a registration is bound to the session (its client enabled
 *  push on it, and that registration still exists), 0 otherwise or when
 *  session is NULL.  A host may skip serialising stanzas for
 *  cloudnotify_session_queued when it is 0: such calls change nothing
 *  but the stanza count.  Callable from callbacks. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_has_push(const cloudnotify_session *session);

/** Tell the library the identity of the client behind the session: a
 *  SASL2 / Bind2 client id (XEP-0388, XEP-0386) or whatever stable
 *  identifier the server has.  id is copied; NULL forgets it.  The
 *  identity is stored with each registration this session enables
 *  afterwards (cloudnotify_record.client_id), reported by
 *  cloudnotify_account_registrations and cloudnotify_push_client_id;
 *  registrations enabled earlier keep theirs.  Since 0.3 a session
 *  without client id has its resource as identity (stored likewise);
 *  a session without registration is bound to the account's
 *  registration carrying its identity when it is created and again
 *  here (nothing stored; may load the account), and an enable removes
 *  the account's other registrations with the same identity
 *  (CLOUDNOTIFY_REMOVED_CLIENT_REPLACED); docs/features.md, "The
 *  registration follows the client".
 *  Errors: INVALID_ARGUMENT (session NULL; id empty, not UTF-8, or
 *  holding a character XML cannot carry), TOO_LARGE (longer than
 *  CLOUDNOTIFY_CLIENT_ID_MAX bytes), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_set_client_id(cloudnotify_session *session,
                                                         const char *id);

/** The identity set with cloudnotify_session_set_client_id, or NULL;
 *  borrowed, valid until it is set again or the session is freed.
 *  Callable from callbacks (the registration filter sees the session). */
CLOUDNOTIFY_EXPORT const char *cloudnotify_session_client_id(const cloudnotify_session *session);

/* ------------------------------------------------------------------ */
/* Client IQs and app-server replies                                   */
/* ------------------------------------------------------------------ */

/** A client IQ arrived on session.  The library takes every <iq/> that
 *  has a type other than result and error and at least one child element
 *  in urn:xmpp:push:0, in any position; it sends the reply (result or
 *  error) through send with ROUTE_CLIENT and returns 0, whatever the
 *  reply.  The replies, in the order checked: no id: modify/bad-request
 *  without id; a type other than set or get: modify/bad-request; a 'to'
 *  that is not the account's bare JID: cancel/forbidden; type get
 *  (XEP-0357 defines only set) or more than one child element (RFC 6120
 *  8.2.3), whichever the order: modify/bad-request; a child other than
 *  enable or disable: cancel/feature-not-implemented; the account's
 *  registrations cannot be loaded: wait/internal-server-error; then
 *  enable and disable as XEP-0357 says.
 *  When the answer needs a host answer that comes later (or the account
 *  is busy) 0 is returned at once and the reply is sent when the work
 *  completes.
 *  Errors: INVALID_ARGUMENT; XML / TOO_LARGE (no reply sent: the host
 *  answers or drops as for any malformed stanza); NOT_MINE (not an <iq/>,
 *  no type, type result or error, or no child in urn:xmpp:push:0; no
 *  reply sent); SEND (the reply could not be sent; the state change it
 *  reports stands); REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_handle_client_iq(cloudnotify_session *session, const char *xml,
                                                    size_t len);

/** An IQ result or error arrived for the local domain.  If its id is one
 *  of our outstanding publishes and it comes from the registered JID it
 *  is consumed (0): results reset the error count, errors of any type
 *  but 'wait' count towards push_max_errors.  A reply from another JID,
 *  or without from, changes nothing, leaves the publish awaiting its
 *  real reply and returns FOREIGN_SENDER (0.1 returned 0).
 *  Errors: INVALID_ARGUMENT, XML, TOO_LARGE, NOT_MINE, FOREIGN_SENDER,
 *  STORE (the removal at the error limit could not be stored; it is
 *  retried at the next error), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_handle_app_reply(cloudnotify_ctx *ctx, const char *xml,
                                                    size_t len);

/* ---- Routing replies without parsing (0.2) ---------------------------
 *
 * Publish ids are the push_id_prefix option's value followed by 32
 * lowercase hexadecimal digits (128 bits from getrandom()), so at most
 * CLOUDNOTIFY_PUBLISH_ID_MAX bytes.  A host routing by id may rely on
 * that shape; only the library decides which ids are outstanding. */

/** Longest publish id, in bytes, without the terminating NUL. */
#define CLOUDNOTIFY_PUBLISH_ID_MAX (CLOUDNOTIFY_ID_PREFIX_MAX + 32)

/** 1 if id (NUL-terminated, borrowed) is a publish of ctx still awaiting
 *  its reply, 0 otherwise (ctx or id NULL included).  Parses nothing,
 *  calls no callback, changes nothing: a hash lookup.  A reply whose id
 *  gives 0 is one cloudnotify_handle_app_reply would answer NOT_MINE
 *  (unless a tick expires the entry in between).  Callable from
 *  callbacks. */
CLOUDNOTIFY_EXPORT int cloudnotify_is_outstanding_id(const cloudnotify_ctx *ctx, const char *id);

/** An app-server reply the host has already parsed.  Every pointer is
 *  borrowed for the call.  Set size to sizeof(cloudnotify_reply). */
typedef struct cloudnotify_reply {
  size_t size;
  /** The IQ's id attribute. */
  const char *id;
  /** The IQ's from attribute, as received (normalised by the library). */
  const char *from;
  /** The IQ's type: "result" or "error" ("get" and "set" are not
   *  replies: NOT_MINE). */
  const char *type;
  /** For "error": the <error/> element's type attribute ("cancel",
   *  "modify", "auth" or "wait"), or NULL when it had none.  Must be NULL
   *  for "result". */
  const char *error_type;
  /** For "error": the name of the RFC 6120 defined-condition element
   *  (section 8.3.3: bad-request, conflict, feature-not-implemented,
   *  forbidden, gone, internal-server-error, item-not-found,
   *  jid-malformed, not-acceptable, not-allowed, not-authorized,
   *  policy-violation, recipient-unavailable, redirect,
   *  registration-required, remote-server-not-found,
   *  remote-server-timeout, resource-constraint, service-unavailable,
   *  subscription-required, undefined-condition, unexpected-request), or
   *  NULL when it had none.  A host that met another condition passes
   *  "undefined-condition".  Must be NULL for "result". */
  const char *error_condition;
} cloudnotify_reply;

/** The same as cloudnotify_handle_app_reply, from fields instead of
 *  text: same rules, same outcome, same callbacks and counters.
 *  Errors: INVALID_ARGUMENT (ctx, reply, id, from or type NULL; type not
 *  one of result, error, get, set; error_type or error_condition not
 *  one of the values listed above, or set for a result); VTABLE_SIZE
 *  (reply->size is not a size this library knows); JID_MALFORMED (from
 *  is not a JID); NOT_MINE (type get or set, or id not outstanding);
 *  FOREIGN_SENDER; STORE (as cloudnotify_handle_app_reply); REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_handle_app_reply_fields(cloudnotify_ctx *ctx,
                                                           const cloudnotify_reply *reply);

/* ------------------------------------------------------------------ */
/* Triggers                                                            */
/* ------------------------------------------------------------------ */

/* What to pass.  Every function below that takes a stanza, and
 * cloudnotify_session_queued / _hibernated / _ack_delayed, expects it as
 * routed: with the 'from' the server stamped and the 'to' it was
 * addressed to.  The account's own messages are never pushed, on any of
 * these paths: a message whose 'from' is the account (any resource: a
 * note to self, a message from another of its devices) or whose 'to'
 * names someone else (the copy of an outgoing message the archive
 * stores).  A host may pass them (the library drops them after one
 * parse) but must not strip 'from' or 'to' from what it passes: a
 * message with neither counts as a peer's. */

/** A message for account went to offline storage: every registration is
 *  notified (at most once per stanza).  pushes, if not NULL, receives the
 *  number of publishes the send callback accepted during this call
 *  (CLOUDNOTIFY_COUNTER_PUBLISHES_SENT's increase): publishes vetoed by
 *  the notification filter, refused by send, or not made because the
 *  registration was already pushed for this stanza are not included, nor
 *  is work parked behind a host answer that comes later; 0 on error.
 *  Every call taking an account, a session or a reply may also return
 *  BUSY (see "Answers that come later").  Errors: INVALID_ARGUMENT, JID_MALFORMED,
 *  XML, TOO_LARGE, STORE (registrations could not be loaded), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_message_offline(cloudnotify_ctx *ctx, const char *account,
                                                   const char *xml, size_t len, unsigned *pushes);

/** A message was archived (MAM) for account with archive id archive_id
 *  (may be NULL).  Registrations bound to a live or hibernated session
 *  are skipped, unless the stanza is urgent (a call).  Errors as
 *  cloudnotify_message_offline. */
CLOUDNOTIFY_EXPORT int cloudnotify_message_archived(cloudnotify_ctx *ctx, const char *account,
                                                    const char *xml, size_t len,
                                                    const char *archive_id, unsigned *pushes);

/** A groupchat message reached account's bare JID with no resource to
 *  take it: every registration is notified.  Errors as
 *  cloudnotify_message_offline. */
CLOUDNOTIFY_EXPORT int cloudnotify_message_groupchat_bare(cloudnotify_ctx *ctx, const char *account,
                                                          const char *xml, size_t len,
                                                          unsigned *pushes);

/** Whether account has at least one registration (loading it from the
 *  store if needed): 1 yes (or not known yet: the account is busy or its
 *  load answers later), 0 no, or a negative error.  Lets a host skip
 *  serialising a stanza for the triggers above when nothing would be
 *  pushed.  Errors: INVALID_ARGUMENT, JID_MALFORMED, STORE, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_account_has_push(cloudnotify_ctx *ctx, const char *account);

/** Ping: a notification without stanza to every registration of account
 *  (endpoints NULL or n 0) or to the named ones that exist.  pushes as
 *  for cloudnotify_message_offline.
 *  Errors: INVALID_ARGUMENT, JID_MALFORMED, STORE, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_ping(cloudnotify_ctx *ctx, const char *account,
                                        const cloudnotify_endpoint *endpoints, size_t n,
                                        unsigned *pushes);

/* ------------------------------------------------------------------ */
/* Stanzas as trees, in (0.2)                                          */
/* ------------------------------------------------------------------ */

/* A host that holds its stanzas parsed already (Prosody's util.stanza
 * tables, Erlang terms) hands them over through a read-only adapter
 * instead of serialising them.  Every entry point that takes a stanza as
 * text has a _tree form; for the same stanza both give the same results:
 * the same pushes, replies, errors and de-duplication identities.  "The
 * same stanza" means the tree whose text form is what the text entry
 * point would have been given: element and attribute names, namespaces,
 * attribute values (in the order the text would list them: the content
 * digest of a stanza without id depends on it) and text, with character
 * references already resolved.
 *
 * Element handles are the host's own pointers (or indices cast to
 * pointers): the library only passes them back to the adapter, during the
 * call that was given the tree, and keeps nothing after it returns.
 *
 * The bounds and checks of the text form apply:
 *  - TOO_LARGE when the elements nest deeper than push_max_xml_depth
 *    (the root is depth 1), or when the tree's size exceeds
 *    push_max_stanza_size.  The size is that of its text form without
 *    character escapes or prefixes: per element 2 * name + 5 bytes
 *    (+ namespace + 9 where it differs from the parent's), per attribute
 *    name + value + 4, plus every text's length.  A tree is never counted
 *    larger than its text, so a tree refused as too large is refused as
 *    text too.
 *  - XML when a name is not an XML NCName (no prefix: namespaces are
 *    given apart), when a name, namespace, attribute value or text is
 *    not valid UTF-8 or holds a character XML 1.0 cannot carry (NUL, C0
 *    controls but tab/LF/CR, U+FFFE, U+FFFF), when the root's namespace
 *    is not one of the accepted stanza namespaces, when an element holds
 *    the same attribute (namespace and name) twice, when an attribute's
 *    namespace is the XMLNS one, or when an adapter function fails.
 */

/** What cloudnotify_tree_ops.children reports for each child. */
typedef struct cloudnotify_tree_visitor {
  /** An element child; child is the host's handle for it.  Returns 0 to
   *  go on; nonzero stops the iteration: children must then return that
   *  value at once. */
  int (*element)(void *visit_data, const void *child);
  /** A text child: len bytes at text (no NUL needed; a NUL byte is
   *  refused).  Adjacent texts are joined; empty ones are ignored.
   *  Return value as for element. */
  int (*text)(void *visit_data, const char *text, size_t len);
} cloudnotify_tree_visitor;

/** Read-only access to one of the host's stanza trees.  Set size to
 *  sizeof(cloudnotify_tree_ops); every field is required.  tree_data is
 *  cloudnotify_tree.data.  Every string returned is borrowed from the
 *  host and must stay valid and unchanged until the library's call that
 *  received the tree returns.  Strings are given as a pointer and a
 *  length; a NUL byte inside is refused (XML). */
typedef struct cloudnotify_tree_ops {
  size_t size;
  /** The element's local name (no prefix).  Return 0 and set
   *  *name / *len, or negative on failure. */
  int (*name)(void *tree_data, const void *element, const char **name, size_t *len);
  /** The element's namespace.  Set *ns to NULL when the element has no
   *  namespace of its own and inherits its parent's (for the root: none);
   *  to "" (len 0) for no namespace under a parent that has one.  Return
   *  0, or negative on failure. */
  int (*ns)(void *tree_data, const void *element, const char **ns, size_t *len);
  /** Call visit once per attribute, in order, with its namespace (NULL
   *  or len 0: none; "http://www.w3.org/XML/1998/namespace" for xml:lang
   *  and the like), local name and value; namespace declarations are not
   *  attributes.  When visit returns nonzero, return that value at once.
   *  Return 0 after the last, or negative on failure. */
  int (*attrs)(void *tree_data, const void *element,
               int (*visit)(void *visit_data, const char *ns, size_t ns_len, const char *name,
                            size_t name_len, const char *value, size_t value_len),
               void *visit_data);
  /** Call the visitor once per child, elements and texts in document
   *  order.  Same return rules as attrs.  The library may call the
   *  adapter for a child (its children included) from inside
   *  visitor->element: the iteration state must survive that. */
  int (*children)(void *tree_data, const void *element, const cloudnotify_tree_visitor *visitor,
                  void *visit_data);
} cloudnotify_tree_ops;

/** One stanza as a tree: the adapter, its data and the root element.
 *  Borrowed for the call it is passed to. */
typedef struct cloudnotify_tree {
  const cloudnotify_tree_ops *ops;
  void *data;
  const void *root;
} cloudnotify_tree;

/* The tree forms.  Each behaves exactly as the text function it is named
 * after, with the same errors plus: INVALID_ARGUMENT when tree (or
 * tree->ops, or tree->root) is NULL; VTABLE_SIZE when tree->ops->size is
 * not a size this library knows; XML and TOO_LARGE as described above.
 * In the arrays of hibernated_tree and ack_delayed_tree, a tree that is
 * refused is skipped as an unparsable text would be. */

CLOUDNOTIFY_EXPORT int cloudnotify_message_offline_tree(cloudnotify_ctx *ctx, const char *account,
                                                        const cloudnotify_tree *tree,
                                                        unsigned *pushes);
CLOUDNOTIFY_EXPORT int cloudnotify_message_archived_tree(cloudnotify_ctx *ctx, const char *account,
                                                         const cloudnotify_tree *tree,
                                                         const char *archive_id, unsigned *pushes);
CLOUDNOTIFY_EXPORT int cloudnotify_message_groupchat_bare_tree(cloudnotify_ctx *ctx,
                                                               const char *account,
                                                               const cloudnotify_tree *tree,
                                                               unsigned *pushes);
CLOUDNOTIFY_EXPORT int cloudnotify_session_queued_tree(cloudnotify_session *session,
                                                       const cloudnotify_tree *tree);
/** queue: n trees (n may be 0; queue may then be NULL). */
CLOUDNOTIFY_EXPORT int cloudnotify_session_hibernated_tree(cloudnotify_session *session,
                                                           const cloudnotify_tree *queue, size_t n);
/** queue as cloudnotify_session_hibernated_tree. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_ack_delayed_tree(cloudnotify_session *session,
                                                            const cloudnotify_tree *queue,
                                                            size_t n);
CLOUDNOTIFY_EXPORT int cloudnotify_handle_client_iq_tree(cloudnotify_session *session,
                                                         const cloudnotify_tree *tree);
CLOUDNOTIFY_EXPORT int cloudnotify_handle_app_reply_tree(cloudnotify_ctx *ctx,
                                                         const cloudnotify_tree *tree);

/* ------------------------------------------------------------------ */
/* Stanzas as structure, out (0.2)                                     */
/* ------------------------------------------------------------------ */

/* With the send_stanza callback the host receives each stanza the
 * library emits (publishes to app servers, IQ replies to clients) as an
 * object it reads with the getters below, and builds its own stanza
 * object from it with cloudnotify_stanza_build, element by element,
 * without parsing text.  Every getter is callable from callbacks; the
 * stanza and every pointer obtained from it are borrowed, valid until
 * send_stanza returns. */

/** One attribute passed to cloudnotify_builder.start_element. */
typedef struct cloudnotify_attr {
  /** NULL for an attribute without namespace (the usual case);
   *  "http://www.w3.org/XML/1998/namespace" for xml:lang and the like. */
  const char *ns;
  const char *name;
  const char *value;
} cloudnotify_attr;

/** A builder of the host's.  Set size to sizeof(cloudnotify_builder);
 *  every field is required.  Each function returns 0 to go on; nonzero
 *  stops the walk, and cloudnotify_stanza_build returns that value. */
typedef struct cloudnotify_builder {
  size_t size;
  /** An element starts.  name is its local name; ns its namespace (NULL:
   *  none; the root of every stanza the library emits has none, so that it
   *  takes the host's stream namespace).  The text form declares xmlns
   *  exactly where ns differs from the parent's.  attrs: n attributes, in
   *  the order of the text form. */
  int (*start_element)(void *build_data, const char *name, const char *ns,
                       const cloudnotify_attr *attrs, size_t n);
  /** Character data of the current element: len bytes, unescaped. */
  int (*text)(void *build_data, const char *text, size_t len);
  /** The current element ends. */
  int (*end_element)(void *build_data, const char *name);
} cloudnotify_builder;

/** CLOUDNOTIFY_ROUTE_CLIENT or CLOUDNOTIFY_ROUTE_APP_SERVER; 0 for NULL. */
CLOUDNOTIFY_EXPORT cloudnotify_route cloudnotify_stanza_route(const cloudnotify_stanza *stanza);
/** The client session for ROUTE_CLIENT, NULL for ROUTE_APP_SERVER. */
CLOUDNOTIFY_EXPORT cloudnotify_session *
cloudnotify_stanza_session(const cloudnotify_stanza *stanza);
/** The local account concerned (normalised bare JID). */
CLOUDNOTIFY_EXPORT const char *cloudnotify_stanza_account(const cloudnotify_stanza *stanza);
/** The destination JID (also the stanza's 'to'). */
CLOUDNOTIFY_EXPORT const char *cloudnotify_stanza_to(const cloudnotify_stanza *stanza);
/** The stanza's id attribute, NULL when it has none (an error reply to
 *  an IQ without id).  For ROUTE_APP_SERVER it is the publish id, the id
 *  the app server's reply carries: a fresh unpredictable value, today 32
 *  lowercase hexadecimal digits from getrandom(); when the context is
 *  configured with an id prefix, the full id including the prefix.
 *  Hosts that route replies by id use it whole and assume nothing else
 *  about its form. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_stanza_id(const cloudnotify_stanza *stanza);
/** The stanza as XML text, exactly what send would have been given;
 *  serialised at the first call (later calls return the same buffer).
 *  *len (if len is not NULL) receives its length; the text is also
 *  NUL-terminated.  NULL for a NULL stanza. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_stanza_text(const cloudnotify_stanza *stanza,
                                                       size_t *len);
/** Walk the stanza into builder: start_element, text and end_element
 *  calls in document order, properly nested, the root first.  Every
 *  pointer passed to the builder is borrowed for that one call.  May be
 *  called several times.  Returns 0, the builder's nonzero return value
 *  (the walk stopped there), or INVALID_ARGUMENT (stanza or builder
 *  NULL, or a builder function NULL), VTABLE_SIZE (builder->size not a
 *  size this library knows). */
CLOUDNOTIFY_EXPORT int cloudnotify_stanza_build(const cloudnotify_stanza *stanza,
                                                const cloudnotify_builder *builder,
                                                void *build_data);

/* ------------------------------------------------------------------ */
/* Administration (0.2)                                                */
/* ------------------------------------------------------------------ */

/** Called once per registration by cloudnotify_account_registrations.
 *  account is the normalised bare JID; record and every pointer in it are
 *  borrowed for the duration of the call (publish_options is the form as
 *  the library will send it, without NUL terminator).  Return 0 to go on,
 *  nonzero to stop the listing. */
typedef int (*cloudnotify_registration_fn)(void *user_data, const char *account,
                                           const cloudnotify_record *record);

/** List the registrations of account (loading them from the store if
 *  they are not cached), most recently enabled first, calling callback
 *  once per registration with user_data.  The callback runs as any other
 *  callback does: calls that change state are refused there.  Returns
 *  the number of registrations reported (>= 0), or a negative error.
 *  An account with work parked behind a host answer (see "Answers that
 *  come later") is not listed: BUSY, retry once the host has answered;
 *  a load this call starts that is answered later also gives BUSY (the
 *  load goes on, and a retry after its answer lists the account).
 *  Errors: INVALID_ARGUMENT (ctx, account or callback NULL),
 *  JID_MALFORMED, STORE (the load failed), BUSY, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_account_registrations(cloudnotify_ctx *ctx, const char *account,
                                                         cloudnotify_registration_fn callback,
                                                         void *user_data);

/** Remove every registration of account, e.g. because the account was
 *  deleted: each is removed from the store, the sessions bound to it are
 *  unbound (hibernation_timeout(-1) where the timeout was extended),
 *  its publishes awaiting a reply are forgotten, and registration_removed
 *  is called with CLOUDNOTIFY_REMOVED_ACCOUNT.  A registration the store
 *  fails to remove stays, in memory as in the store, and the others are
 *  still removed.  Records the loader skipped as invalid are unknown to
 *  the library and stay in the store.  removed, if not NULL, receives the
 *  number of registrations removed before the call returned.  An account
 *  with work parked behind a host answer gives BUSY and nothing is
 *  removed (nor is a load answered later waited for: BUSY too); retry
 *  once the host has answered.  When the store answers a removal later,
 *  0 is returned and the remaining removals go on, in order, as the
 *  account's parked work; a failure then is only logged and counted.
 *  Errors: INVALID_ARGUMENT (ctx or account NULL), JID_MALFORMED, STORE
 *  (the load, or the removal of at least one registration, failed),
 *  BUSY, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_account_remove_all(cloudnotify_ctx *ctx, const char *account,
                                                      unsigned *removed);

/** Forget what the library caches for account because the store changed
 *  behind it (another node, an administrator).  When no session of the
 *  account exists the cached registrations are dropped and the next use
 *  loads them again.  Otherwise they are reloaded at once: each session
 *  stays bound to the registration with the same jid and node if the
 *  store still has it, and is unbound otherwise (hibernation_timeout(-1)
 *  where the timeout was extended; registration_removed is not called,
 *  this library removed nothing).  Error counts come from the store's
 *  records; with a store without set_errors (whose records hold no
 *  current count) a registration that survives a reload under sessions
 *  with the same enable time keeps its count from memory.  An account
 *  that is not cached is a no-op.  An account with parked work gives BUSY
 *  (the parked work relies on the cached copy; nothing is forgotten).
 *  When the reload is answered later, 0 is returned, the cached copy
 *  keeps serving the sessions while the account's calls wait behind the
 *  load, and the fresh copy takes the sessions over once the load is
 *  answered (a failed load keeps the cached copy).
 *  Errors: INVALID_ARGUMENT (ctx or account NULL), JID_MALFORMED, STORE
 *  (the reload failed: the cached state is kept unchanged), BUSY,
 *  REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_account_forget(cloudnotify_ctx *ctx, const char *account);

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/** Milliseconds until cloudnotify_tick is due: -1 none, 0 now.
 *  Callable from callbacks. */
CLOUDNOTIFY_EXPORT int64_t cloudnotify_next_timeout(const cloudnotify_ctx *ctx);

/** Run every timer that is due.  Errors: INVALID_ARGUMENT, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_tick(cloudnotify_ctx *ctx);

/* ------------------------------------------------------------------ */
/* Counters and gauges (0.2)                                           */
/* ------------------------------------------------------------------ */

/** What cloudnotify_ctx_get_counter reads.  Counters count events since
 *  the context was created and only grow (modulo 2^64); gauges are the
 *  current size of something.  Values are only ever added. */
typedef enum cloudnotify_counter {
  /** Publishes the send callback accepted. */
  CLOUDNOTIFY_COUNTER_PUBLISHES_SENT = 1,
  /** Publishes the notification filter vetoed. */
  CLOUDNOTIFY_COUNTER_PUBLISHES_VETOED = 2,
  /** Publishes the send callback refused. */
  CLOUDNOTIFY_COUNTER_PUBLISHES_REFUSED = 3,
  /** Publishes not made because the registration was already pushed for
   *  the same stanza. */
  CLOUDNOTIFY_COUNTER_PUBLISHES_DEDUPLICATED = 4,
  /** Sent publishes that got no reply within push_publish_timeout. */
  CLOUDNOTIFY_COUNTER_PUBLISHES_EXPIRED = 5,
  /** Sent publishes forgotten unanswered because push_max_outstanding
   *  was reached. */
  CLOUDNOTIFY_COUNTER_PUBLISHES_DROPPED = 6,
  /** Sent publishes forgotten unanswered because their registration was
   *  removed. */
  CLOUDNOTIFY_COUNTER_PUBLISHES_FORGOTTEN = 7,
  /** Results from the registered JID. */
  CLOUDNOTIFY_COUNTER_REPLIES_OK = 8,
  /** Errors from the registered JID counted towards push_max_errors. */
  CLOUDNOTIFY_COUNTER_REPLIES_ERROR = 9,
  /** 'wait' errors from the registered JID (not counted). */
  CLOUDNOTIFY_COUNTER_REPLIES_WAIT = 10,
  /** Replies to an outstanding id from another JID (FOREIGN_SENDER). */
  CLOUDNOTIFY_COUNTER_REPLIES_FOREIGN = 11,
  /** Replies given to the library that were not for it (NOT_MINE). */
  CLOUDNOTIFY_COUNTER_REPLIES_NOT_MINE = 12,
  /** Enables stored (new or replacing). */
  CLOUDNOTIFY_COUNTER_ENABLES = 13,
  /** Disables answered with a result. */
  CLOUDNOTIFY_COUNTER_DISABLES = 14,
  /** Store load, save or remove calls that failed. */
  CLOUDNOTIFY_COUNTER_STORE_FAILURES = 15,
  /** Account lookups answered from the cache. */
  CLOUDNOTIFY_COUNTER_CACHE_HITS = 16,
  /** Account lookups that had to load from the store. */
  CLOUDNOTIFY_COUNTER_CACHE_MISSES = 17,
  /** Calls that returned XML, TOO_LARGE or JID_MALFORMED. */
  CLOUDNOTIFY_COUNTER_INPUTS_REJECTED = 18,
  /** Stored records cloudnotify_loader_add refused. */
  CLOUDNOTIFY_COUNTER_STORE_RECORDS_REJECTED = 19,
  /** Log messages formatted and passed to log or log2. */
  CLOUDNOTIFY_COUNTER_LOG_MESSAGES = 20,
  /* Appended in 0.3.  "Suppressed" counts one per registration that a
   * push would otherwise have gone to. */
  /** Triggers dropped by push_quiet (nothing a user sees), once per
   *  stanza. */
  CLOUDNOTIFY_COUNTER_SUPPRESSED_QUIET = 21,
  /** Pushes not sent because of push_grace_period. */
  CLOUDNOTIFY_COUNTER_SUPPRESSED_GRACE = 22,
  /** Pushes not sent because of push_visible_interval or
   *  push_silent_per_hour. */
  CLOUDNOTIFY_COUNTER_SUPPRESSED_RATE = 23,
  /** Pushes not sent because of a registration's own filter (Tigase
   *  muted, groupchat or ignore-unknown). */
  CLOUDNOTIFY_COUNTER_SUPPRESSED_FILTER = 24,
  /** Pushes held back during a back-off (push_backoff). */
  CLOUDNOTIFY_COUNTER_SUPPRESSED_BACKOFF = 25,
  /** Call pushes sent (a Jingle Message Initiation propose). */
  CLOUDNOTIFY_COUNTER_CALLS_PUSHED = 26,
  /** Proposes older than push_call_max_age, not pushed as calls. */
  CLOUDNOTIFY_COUNTER_CALLS_STALE = 27,
  /** Replies reported as CLOUDNOTIFY_PUBLISH_TRANSIENT. */
  CLOUDNOTIFY_COUNTER_REPLIES_TRANSIENT = 28,
  /** Publishes sent with an encrypted payload (tigase:push:encrypt:0). */
  CLOUDNOTIFY_COUNTER_PUBLISHES_ENCRYPTED = 29,

  /** Registrations removed, one counter per cloudnotify_removal_reason:
   *  CLOUDNOTIFY_COUNTER_REMOVED_BASE + reason.  A reason added later
   *  gets its counter at the same offset. */
  CLOUDNOTIFY_COUNTER_REMOVED_BASE = 0x100,
  CLOUDNOTIFY_COUNTER_REMOVED_DISABLED = 0x100 + CLOUDNOTIFY_REMOVED_DISABLED,
  CLOUDNOTIFY_COUNTER_REMOVED_ERRORS = 0x100 + CLOUDNOTIFY_REMOVED_ERRORS,
  CLOUDNOTIFY_COUNTER_REMOVED_EVICTED = 0x100 + CLOUDNOTIFY_REMOVED_EVICTED,
  CLOUDNOTIFY_COUNTER_REMOVED_ACCOUNT = 0x100 + CLOUDNOTIFY_REMOVED_ACCOUNT,
  CLOUDNOTIFY_COUNTER_REMOVED_REMOTE = 0x100 + CLOUDNOTIFY_REMOVED_REMOTE,
  CLOUDNOTIFY_COUNTER_REMOVED_EXPIRED = 0x100 + CLOUDNOTIFY_REMOVED_EXPIRED,
  CLOUDNOTIFY_COUNTER_REMOVED_CLIENT_REPLACED = 0x100 + CLOUDNOTIFY_REMOVED_CLIENT_REPLACED,

  /** Gauge: publishes awaiting a reply. */
  CLOUDNOTIFY_GAUGE_OUTSTANDING = 0x200,
  /** Gauge: accounts in the cache. */
  CLOUDNOTIFY_GAUGE_CACHED_ACCOUNTS = 0x201,
  /** Gauge: sessions alive. */
  CLOUDNOTIFY_GAUGE_SESSIONS = 0x202,
} cloudnotify_counter;

/** Read one counter or gauge into *out.  Callable from callbacks.
 *  Errors: INVALID_ARGUMENT (ctx or out NULL), UNKNOWN_OPTION (which is
 *  not a value this version knows, CLOUDNOTIFY_COUNTER_REMOVED_BASE
 *  itself included; *out is then 0). */
CLOUDNOTIFY_EXPORT int cloudnotify_ctx_get_counter(const cloudnotify_ctx *ctx,
                                                   cloudnotify_counter which, uint64_t *out);

/* ------------------------------------------------------------------ */
/* Notification filter accessors (valid only inside the filter)        */
/* ------------------------------------------------------------------ */

/** All return borrowed strings valid during the filter call, or NULL. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_push_account(const cloudnotify_push *push);
CLOUDNOTIFY_EXPORT const char *cloudnotify_push_jid(const cloudnotify_push *push);
CLOUDNOTIFY_EXPORT const char *cloudnotify_push_node(const cloudnotify_push *push);
/** The sender of the triggering stanza (NULL for a ping), whether or not
 *  it will be sent. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_push_sender(const cloudnotify_push *push);
/** The body text that will be sent (NULL: no body field). */
CLOUDNOTIFY_EXPORT const char *cloudnotify_push_body(const cloudnotify_push *push);
/** 1 if the triggering stanza is important, 0 otherwise. */
CLOUDNOTIFY_EXPORT int cloudnotify_push_is_important(const cloudnotify_push *push);
/** 1 if the triggering stanza is urgent (a call), 0 otherwise. */
CLOUDNOTIFY_EXPORT int cloudnotify_push_is_urgent(const cloudnotify_push *push);
/** The session this push is for, or NULL (offline, archive, ping). */
CLOUDNOTIFY_EXPORT cloudnotify_session *cloudnotify_push_session(const cloudnotify_push *push);
/** The client identity stored with the registration being pushed to
 *  (that of the session that enabled it), or NULL.  Added in 0.2. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_push_client_id(const cloudnotify_push *push);

/* ---- Notification content (0.2) ---------------------------------- */

/** The triggering stanza's type: its 'type' attribute, or when it has
 *  none the RFC 6121 default ("normal" for a message, "available" for a
 *  presence).  For a carbon the forwarded message's.  NULL for a ping (a
 *  push without stanza: cloudnotify_ping, the wake-up before expiry).
 *  Borrowed, valid during the filter call.  Callable from callbacks. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_push_stanza_type(const cloudnotify_push *push);
/** The triggering stanza's 'id' attribute (for a carbon the forwarded
 *  message's), NULL when it has none and for a ping.  When one push
 *  covers several stanzas (a session's queue), the first of them.
 *  Borrowed, valid during the filter call.  Callable from callbacks. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_push_stanza_id(const cloudnotify_push *push);

/** Most fields cloudnotify_push_add_field adds to one push. */
#define CLOUDNOTIFY_PUSH_MAX_FIELDS 16
/** Longest field name (var) in bytes. */
#define CLOUDNOTIFY_PUSH_MAX_VAR_SIZE 256
/** Longest field value in bytes. */
#define CLOUDNOTIFY_PUSH_MAX_VALUE_SIZE 4096
/** Longest extra element, as given, in bytes. */
#define CLOUDNOTIFY_PUSH_MAX_EXTRA_SIZE 8192

/** Add a field to the summary form (urn:xmpp:push:summary), after the
 *  library's own.  Both strings are copied.  Adding a var again replaces
 *  its value.  The form the publish carries says message-count (see
 *  cloudnotify_push_message_count; none for a ping), last-message-sender and
 *  last-message-body (see cloudnotify_push_set_sender / _set_body), then
 *  these fields in the order first added.
 *  Errors: INVALID_ARGUMENT (push, var or value NULL; var empty, longer
 *  than CLOUDNOTIFY_PUSH_MAX_VAR_SIZE, holding white space, or one of the
 *  library's: FORM_TYPE, message-count, last-message-sender,
 *  last-message-body; var or value not UTF-8 or holding a character XML
 *  cannot carry, as cloudnotify_push_set_body), TOO_LARGE (value longer
 *  than CLOUDNOTIFY_PUSH_MAX_VALUE_SIZE, or CLOUDNOTIFY_PUSH_MAX_FIELDS
 *  fields already added).  On error the push is unchanged. */
CLOUDNOTIFY_EXPORT int cloudnotify_push_add_field(cloudnotify_push *push, const char *var,
                                                  const char *value);

/** Set the one extra child element of <notification/>, written after the
 *  summary form: xml is one element as text (len bytes, copied), parsed
 *  with the same hardening as stanzas and written again by the library
 *  (prefixes become default namespace declarations, namespaced
 *  attributes get prefixes n0, n1... declared on their element).  A second call replaces the first; xml NULL
 *  removes it.
 *  Errors: INVALID_ARGUMENT (push NULL), TOO_LARGE (len over
 *  CLOUDNOTIFY_PUSH_MAX_EXTRA_SIZE, or nesting deeper than
 *  push_max_xml_depth), XML (not exactly one well-formed element: empty,
 *  text around it, several elements, DOCTYPE, comment, CDATA, processing
 *  instruction, NUL byte, invalid UTF-8; or an element in no namespace,
 *  in urn:xmpp:push:0 or in jabber:x:data, which would pass for part of
 *  the notification).  On error the push is unchanged. */
CLOUDNOTIFY_EXPORT int cloudnotify_push_set_extra(cloudnotify_push *push, const char *xml,
                                                  size_t len);

/** Replace the body field (copied; NULL removes it).
 *  Errors: INVALID_ARGUMENT (push NULL, or text not UTF-8 or holding a
 *  character XML cannot carry: C0 controls but tab/LF/CR, U+FFFE/U+FFFF). */
CLOUDNOTIFY_EXPORT int cloudnotify_push_set_body(cloudnotify_push *push, const char *text);
/** Replace the sender field (copied; NULL removes it).
 *  Errors: INVALID_ARGUMENT (as cloudnotify_push_set_body). */
CLOUDNOTIFY_EXPORT int cloudnotify_push_set_sender(cloudnotify_push *push, const char *jid);

/* ------------------------------------------------------------------ */
/* Answers that come later                                             */
/* ------------------------------------------------------------------ */

/* Every callback through which the library asks the host something --
 * the store's load, save and remove, the registration filter and the
 * notification filter -- may answer later instead of at once:
 *
 *   1. inside the callback, take the operation with
 *      cloudnotify_ctx_current_op(ctx) (the host owns that reference);
 *   2. return CLOUDNOTIFY_PENDING;
 *   3. later, outside any callback, answer with cloudnotify_op_complete
 *      (or cloudnotify_op_veto for a registration filter) and release the
 *      reference with cloudnotify_op_free.
 *
 * Returning 0 / a negative value (store) or 0 / nonzero (filters) as in
 * 0.1 stays the simple path and behaves exactly as before; an op taken
 * in a callback that then answers synchronously is simply freed later
 * (completing it returns CLOUDNOTIFY_ERR_OP_DONE).  Returning
 * CLOUDNOTIFY_PENDING without having taken the op counts as a failure
 * (store: STORE error; filters: a veto / a drop) and is logged.
 *
 * While an answer is outstanding the account concerned is "busy": the
 * work that depends on the answer is parked, and every later call that
 * concerns the account (triggers, client IQs of its sessions, app-server
 * replies to its publishes, its sessions' events and timers, pings) is
 * parked behind it with copies of its inputs, and run in the order the
 * calls came when the answer arrives.  Other accounts are not held up.
 * A parked call returns 0 (or BUSY) at once: errors it meets later are
 * logged, not returned, and out-parameters such as `pushes` count only
 * the publishes sent before the call returned (0 when it was parked).
 * cloudnotify_account_has_push answers 1 ("maybe") for a busy account.
 * INVALID_ARGUMENT and JID_MALFORMED are still returned at once; client
 * IQs and app-server replies are parsed at once too (XML, TOO_LARGE,
 * NOT_MINE), while the stanzas of triggers and session events are parsed
 * when their turn comes.  Options in force when the work finally runs
 * apply.
 *
 * A client's enable or disable is answered only when the store write
 * completed: with the usual result, or wait/internal-server-error with
 * nothing changed in memory when the completion reports failure.  A
 * store write in flight is finished even if the session that asked for
 * it is freed (without reply), so that memory keeps agreeing with the
 * store; every other parked work of a freed session is dropped and its
 * outstanding filter operations cancelled (OP_CANCELLED).
 * cloudnotify_ctx_free cancels everything: later completions return
 * GONE.  cloudnotify_ctx_set_store is refused (STATE) while work is
 * parked.
 *
 * Since 0.2 also (merged with the other 0.2 changes):
 * - the _tree entry points park like the text ones; the host's tree is
 *   still borrowed for the call only: a parked call keeps the text the
 *   tree converts into (a tree that does not convert is refused at once
 *   for a trigger or a client IQ, and skipped when replayed for a
 *   session's stanza array, as the text form would be);
 * - the administration calls (cloudnotify_account_registrations,
 *   _remove_all, _forget) are not parked: on a busy account they return
 *   BUSY (see each);
 * - cloudnotify_session_sm_enabled is never parked (it changes no
 *   account state), so the calls it gates are refused (STATE) or accepted
 *   at once, even on a busy account;
 * - a load's rewrite of rows stored under non-normalised keys (save then
 *   remove) and its removal of the surplus beyond push_max_devices are
 *   store calls like any other, each of which may be answered later;
 *   set_errors is never waited for (see cloudnotify_store.set_errors);
 * - CLOUDNOTIFY_COUNTER_STORE_FAILURES counts each store failure once,
 *   when its answer arrives; publish_outcome is called once per push the
 *   library decided to make, when the filter's answer arrives (a push
 *   whose filter question is cancelled with its session is reported
 *   VETOED; cloudnotify_ctx_free reports nothing). */

/** Returned by a callback that will answer later.  Deliberately not a
 *  small number: 0.1 filters that veto with 1 or -1 keep their meaning. */
#define CLOUDNOTIFY_PENDING 0x504E

/** Most calls parked behind one busy account, and in the whole context. */
#define CLOUDNOTIFY_MAX_PARKED_PER_ACCOUNT 1024
#define CLOUDNOTIFY_MAX_PARKED             65536

/** One question to the host that may be answered later. */
typedef struct cloudnotify_op cloudnotify_op;

typedef enum cloudnotify_op_kind {
  CLOUDNOTIFY_OP_LOAD = 1,
  CLOUDNOTIFY_OP_SAVE = 2,
  CLOUDNOTIFY_OP_REMOVE = 3,
  CLOUDNOTIFY_OP_REGISTRATION_FILTER = 4,
  CLOUDNOTIFY_OP_NOTIFICATION_FILTER = 5,
} cloudnotify_op_kind;

/** Inside a store callback (load, save, remove) or a filter of ctx: the
 *  operation it answers, with a new reference owned by the caller and
 *  released with cloudnotify_op_free (each call gives one reference).
 *  NULL outside those callbacks or for NULL ctx.  Callable from
 *  callbacks (it is meant to be). */
CLOUDNOTIFY_EXPORT cloudnotify_op *cloudnotify_ctx_current_op(cloudnotify_ctx *ctx);

/** The kind of op, or 0 for NULL.  Callable from callbacks. */
CLOUDNOTIFY_EXPORT cloudnotify_op_kind cloudnotify_op_get_kind(const cloudnotify_op *op);

/** For a notification filter op still waiting for its answer: the push,
 *  borrowed until the op is completed or cancelled, so that the
 *  cloudnotify_push_* getters and setters can be used until then.  NULL
 *  otherwise.  (For a load op, the loader passed to load likewise stays
 *  valid for cloudnotify_loader_add until the op is completed; after
 *  that cloudnotify_loader_add returns OP_DONE, OP_CANCELLED or GONE, as
 *  long as the op has not been freed.)  Callable from callbacks. */
CLOUDNOTIFY_EXPORT cloudnotify_push *cloudnotify_op_push(cloudnotify_op *op);

/** Answer op.  result: for load, save and remove 0 (or positive) for
 *  success, negative for failure, as the callback would have returned;
 *  for the registration filter 0 accepts and nonzero vetoes with
 *  cancel/not-allowed; for the notification filter 0 sends (with any
 *  amendment made through cloudnotify_op_push) and nonzero drops.  The
 *  parked work of the account then runs, callbacks included, before this
 *  returns.  op stays owned by the caller.
 *  Errors: INVALID_ARGUMENT (op NULL, or result is CLOUDNOTIFY_PENDING),
 *  OP_UNKNOWN (op is not an operation of this library), OP_DONE,
 *  OP_CANCELLED, GONE, REENTRANT (called from a callback of op's
 *  context, including the callback that handed out op). */
CLOUDNOTIFY_EXPORT int cloudnotify_op_complete(cloudnotify_op *op, int result);

/** Answer a registration filter op with a veto and its error (static or
 *  borrowed strings, as for the synchronous filter; invalid or NULL
 *  values become cancel / not-allowed).
 *  Errors: as cloudnotify_op_complete; OP_UNKNOWN also when op is not a
 *  registration filter op. */
CLOUDNOTIFY_EXPORT int cloudnotify_op_veto(cloudnotify_op *op, const char *error_type,
                                           const char *error_condition);

/** Release one reference taken with cloudnotify_ctx_current_op.  Releasing
 *  the last reference of an op still waiting for its answer answers it
 *  as a failure (store: failure; filters: veto / drop), logged, and runs
 *  the parked work as cloudnotify_op_complete would; from inside a
 *  callback that cannot happen and the account stays parked until
 *  cloudnotify_ctx_free, so answer first.  Releasing the last reference
 *  inside the very callback that returns CLOUDNOTIFY_PENDING counts as
 *  not having taken the op.  Valid after cloudnotify_ctx_free.  NULL is
 *  a no-op.  Callable from callbacks. */
CLOUDNOTIFY_EXPORT void cloudnotify_op_free(cloudnotify_op *op);

/* ------------------------------------------------------------------ */
/* The SQLite store (0.3)                                              */
/* ------------------------------------------------------------------ */

/* Registrations kept in one SQLite database file (docs/storage.md):
 * the schema is created and versioned by the library, the database runs
 * in WAL mode with synchronous=FULL, so a save, remove or set_errors that
 * returned 0 is on disk and survives a crash of the process or of the
 * machine.  Every call blocks the calling thread for its disk write (an
 * fsync) and, when another connection holds the write lock, up to the
 * busy timeout.  One handle is used from one thread at a time, like a
 * context; several processes may open the same file (the admin tool
 * while a server runs). */

/** An open SQLite database of registrations. */
typedef struct cloudnotify_sqlite cloudnotify_sqlite;

/** Flags of cloudnotify_sqlite_open. */
enum {
  /** Open for reading only: no schema creation nor migration; every
   *  write through the store answers STORE_IO. */
  CLOUDNOTIFY_SQLITE_READONLY = 1u << 0,
  /** Fail with STORE_IO instead of creating a missing file. */
  CLOUDNOTIFY_SQLITE_NO_CREATE = 1u << 1,
};

/** The schema version this library writes (PRAGMA user_version). */
#define CLOUDNOTIFY_SQLITE_SCHEMA_VERSION 1
/** Busy timeout a new handle starts with, in milliseconds. */
#define CLOUDNOTIFY_SQLITE_BUSY_TIMEOUT_MS 5000

/** Open (creating it unless NO_CREATE or READONLY) the database at path,
 *  a file name (copied).  Unless READONLY, creates the schema in an empty
 *  file or migrates an older one, in one transaction.  *out is owned by
 *  the caller and freed with cloudnotify_sqlite_close (or handed to a
 *  context with cloudnotify_ctx_set_sqlite_store); on error *out is NULL.
 *  Errors: INVALID_ARGUMENT (path or out NULL, path empty, unknown flag
 *  bits), STORE_IO (cannot open or create the file, or write it to set
 *  up the schema; a READONLY or NO_CREATE open of a missing file),
 *  STORE_LOCKED (another connection held the database locked beyond the
 *  busy timeout while the schema was checked), STORE_CORRUPT (not an
 *  SQLite database, or damaged), STORE_VERSION (schema newer than
 *  CLOUDNOTIFY_SQLITE_SCHEMA_VERSION, a database of another application,
 *  or READONLY on a database whose schema is not the current one). */
CLOUDNOTIFY_EXPORT int cloudnotify_sqlite_open(const char *path, unsigned flags,
                                               cloudnotify_sqlite **out);

/** Close the database.  NULL is a no-op.  Must not be called while a
 *  context still uses it as its store (through cloudnotify_sqlite_store). */
CLOUDNOTIFY_EXPORT void cloudnotify_sqlite_close(cloudnotify_sqlite *db);

/** A description of the last failure of a call on db (SQLite's message
 *  with what was being done), "" when none failed yet, or "" for NULL.
 *  Borrowed: valid until the next call on db or its close. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_sqlite_errmsg(const cloudnotify_sqlite *db);

/** Change how long a call waits for another connection's lock before
 *  failing with STORE_LOCKED (default CLOUDNOTIFY_SQLITE_BUSY_TIMEOUT_MS;
 *  0 fails at once).
 *  Errors: INVALID_ARGUMENT (db NULL, ms negative). */
CLOUDNOTIFY_EXPORT int cloudnotify_sqlite_set_busy_timeout(cloudnotify_sqlite *db, int ms);

/** The store vtable over an open database, for cloudnotify_ctx_set_store
 *  with the cloudnotify_sqlite* as store_data.  Its destroy does not close
 *  the database: the caller keeps ownership and closes it after the
 *  context stopped using it (after cloudnotify_ctx_free or a store
 *  change).  Its functions return 0 or STORE_LOCKED, STORE_CORRUPT,
 *  STORE_IO (REENTRANT when called from a foreach callback on the same
 *  database); records whose columns a hand edit made unusable (wrong
 *  types, oversized values) are handed to the loader as invalid, which
 *  skips, logs and counts them.  Static, never NULL. */
CLOUDNOTIFY_EXPORT const cloudnotify_store *cloudnotify_sqlite_store(void);

/** Make db the store of ctx, which takes ownership: it closes db when the
 *  store is replaced or the context freed.  On error nothing changed and
 *  the caller still owns db.
 *  Errors: INVALID_ARGUMENT (ctx or db NULL), REENTRANT, STATE (as
 *  cloudnotify_ctx_set_store). */
CLOUDNOTIFY_EXPORT int cloudnotify_ctx_set_sqlite_store(cloudnotify_ctx *ctx,
                                                        cloudnotify_sqlite *db);

/** Called once per stored registration by cloudnotify_sqlite_foreach.
 *  account and record (every pointer in it) are borrowed for the call;
 *  they are the database's contents as stored, not validated (a host
 *  that trusts nobody checks them, as cloudnotify_loader_add does).
 *  Return 0 to go on, nonzero to stop: foreach then returns that value. */
typedef int (*cloudnotify_record_cb)(void *data, const char *account,
                                     const cloudnotify_record *record);

/** Call cb for every registration of account (NULL: of every account),
 *  ordered by account then enable time, oldest first.  account is
 *  compared as stored: the library stores normalised bare JIDs.  Runs in
 *  one read transaction, so it sees one consistent state while other
 *  connections write; from the callback, calls on the same db (foreach,
 *  the store's functions) return REENTRANT: collect first, then change.
 *  Rows whose columns cannot form a record (wrong types, NULL where a
 *  value is required, a NUL byte inside a text, longer than 1 MiB) are
 *  skipped.
 *  Returns 0 after the last one, cb's nonzero value when it stopped, or
 *  an error: INVALID_ARGUMENT (db or cb NULL), STORE_LOCKED,
 *  STORE_CORRUPT, STORE_IO, REENTRANT (called from a foreach callback on
 *  the same database). */
CLOUDNOTIFY_EXPORT int cloudnotify_sqlite_foreach(cloudnotify_sqlite *db, const char *account,
                                                  cloudnotify_record_cb cb, void *data);

/** The schema version of the open database (after any migration open
 *  made), or INVALID_ARGUMENT for NULL. */
CLOUDNOTIFY_EXPORT int cloudnotify_sqlite_schema_version(const cloudnotify_sqlite *db);

/* ------------------------------------------------------------------ */
/* What phones need (0.3)                                              */
/* ------------------------------------------------------------------ */

/* ---- Registration policy: remote disable (XEP-0357 section 8) ------ */

/** A message addressed to account (a local bare JID) arrived from
 *  elsewhere.  When it is a XEP-0357 section 8 notice sent by the push
 *  service of one of the account's registrations and naming that
 *  registration's node with affiliation 'none', that registration is
 *  removed (CLOUDNOTIFY_REMOVED_REMOTE, through registration_removed2 /
 *  registration_removed) and 0 is returned: the host should not deliver
 *  the message.  Forms accepted: a <pubsub/> child in
 *  http://jabber.org/protocol/pubsub or its #event namespace, holding an
 *  <affiliation affiliation='none'/> directly (the node on <pubsub/>, as
 *  in XEP-0357's example) or inside <affiliations node='…'>; a node on
 *  the <affiliation/> itself wins; a jid attribute, when present, must be
 *  the account (any resource).  The sender must be the registration's
 *  push service JID exactly (after normalisation); a registration
 *  without node is never removed this way.  From anyone else, for
 *  another node, another affiliation, or anything else: nothing changes
 *  and NOT_MINE is returned: deliver it as usual.  A host may call it for
 *  every message to a bare JID that has a pubsub child.  Input bounds as
 *  for every stanza: push_max_stanza_size, push_max_xml_depth.  On a busy
 *  account (an answer outstanding, see "Answers that come later") the
 *  notice is decided from the cached registrations and its removal runs
 *  in turn; when the account is still loading, 0 is returned and the
 *  notice is examined once the load is answered.  One registration per
 *  message.
 *  Errors: INVALID_ARGUMENT, XML, TOO_LARGE, JID_MALFORMED (account),
 *  STORE (the load or the removal failed: nothing removed), BUSY,
 *  REENTRANT, NOT_MINE as said. */
CLOUDNOTIFY_EXPORT int cloudnotify_handle_app_message(cloudnotify_ctx *ctx, const char *account,
                                                      const char *xml, size_t len);
/** As cloudnotify_handle_app_message, with the stanza as a tree
 *  (INVALID_ARGUMENT or VTABLE_SIZE for a bad tree). */
CLOUDNOTIFY_EXPORT int cloudnotify_handle_app_message_tree(cloudnotify_ctx *ctx,
                                                           const char *account,
                                                           const cloudnotify_tree *tree);

/* ---- Calls (Jingle Message Initiation) and quiet ---------------------
 * A message holding a Jingle Message Initiation <propose/> with an id, in
 * urn:xmpp:jingle-message:0 or urn:xmpp:jingle-message:1 (after
 * unwrapping an incoming carbon), is a call: important and urgent.  A
 * call is pushed at once, alone (never folded into a session's batch nor
 * held by the coalescing window), by every path: offline storage, bare
 * groupchat and the archive push every registration (as in 0.2 for the
 * archive: a session that looks live may be a sleeping phone whose stream
 * has not timed out yet); cloudnotify_message_delivered pushes every
 * registration not bound to a live (not hibernated) session; a
 * hibernated session's queue pushes its registration at once, and a live
 * session's unacknowledged queue when its ack is overdue, as any stanza.  One call is pushed once per
 * registration: its identity is the sender's bare JID and the propose's
 * id, whatever the message id or stanza-id of the copy.  A propose with
 * a XEP-0203 delay stamp older than push_call_max_age, or a stamp that
 * does not parse, is no call (CLOUDNOTIFY_COUNTER_CALLS_STALE): an
 * important message, pushed as a missed call, without ringing.
 * retract, accept, reject, proceed and ringing never ring; with
 * push_quiet (on by default) they are not pushed at all, like every
 * message carrying nothing a user sees (CLOUDNOTIFY_OPT_QUIET).
 * CLOUDNOTIFY_COUNTER_CALLS_PUSHED counts call publishes sent. */

/** A message for account was delivered to at least one of its connected
 *  sessions (so it went neither offline nor only to the archive).  Only
 *  calls push from here: every registration not bound to a live session
 *  gets its call push at once (see "Calls" above), and *pushes (may be
 *  NULL) receives how many publishes were sent.  Anything else returns 0
 *  with no push (and no quiet count: it would not have been pushed from
 *  here anyway).  A host may call it for every message it delivers to a
 *  session of an account with push (cloudnotify_account_has_push); the
 *  same call reported again through the archive, offline storage or a
 *  session queue is not pushed twice.  Same arguments, bounds, errors and
 *  parking (the account busy: BUSY at the queue's bound) as
 *  cloudnotify_message_offline. */
CLOUDNOTIFY_EXPORT int cloudnotify_message_delivered(cloudnotify_ctx *ctx, const char *account,
                                                     const char *xml, size_t len, unsigned *pushes);
/** As cloudnotify_message_delivered, with the stanza as a tree. */
CLOUDNOTIFY_EXPORT int cloudnotify_message_delivered_tree(cloudnotify_ctx *ctx, const char *account,
                                                          const cloudnotify_tree *tree,
                                                          unsigned *pushes);
/** 1 when the push is a call (see "Calls"): it is then also important
 *  and urgent.  0 otherwise, for a stale propose, and for NULL.  Callable
 *  in the notification filter. */
CLOUDNOTIFY_EXPORT int cloudnotify_push_is_call(const cloudnotify_push *push);
/** The call's id (the propose's id attribute, what Tigase's jingle
 *  element and encrypted payload call sid), borrowed for the filter
 *  call; NULL when the push is not a call or push is NULL. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_push_call_id(const cloudnotify_push *push);

/* ---- Quiet devices, counts and clearing (branch device) ----------
 * Quiet devices, counts and clearing (docs/features.md, "Quiet devices"
 * and "Counts and clearing").
 *
 * Before a push is built for one registration, after de-duplication and
 * before the notification filter, three rules may hold it back; a push
 * held back is counted (CLOUDNOTIFY_COUNTER_SUPPRESSED_GRACE or _RATE),
 * logged at DEBUG (CLOUDNOTIFY_LOG_ID_PUSH_SUPPRESSED), gets no
 * publish_outcome, and its stanzas count as pushed (a copy of them
 * arriving by another path is not pushed either) and are announced by the
 * message-count of the next push that goes:
 *   - push_grace_period (default 0, off): while another session of the
 *     account than the one bound to the registration was active
 *     (cloudnotify_session_active) within that many seconds;
 *   - push_visible_interval (default 3000 ms): an important push within
 *     that time of the registration's last important push.  One alert
 *     per burst; the app fetches the rest;
 *   - push_silent_per_hour (default 3): an unimportant push when that
 *     many went to the registration in the hour before.  Apple budgets
 *     background pushes at "two or three per hour" and throttles beyond;
 *     Google deprioritises high-priority messages that show nothing.
 *     Exact up to 8 an hour; a larger budget N is kept as at most 8 in
 *     every 1/floor(N/8) hour, never more than N in an hour.
 * Calls (cloudnotify_push_is_urgent) pass all three and use neither the
 * window nor the budget; pings, wake-ups before expiry and badge clears
 * pass the budget.  The state is kept in memory on the registration and
 * the account: a restart, an account leaving the cache
 * (push_max_cached_users) or an enable that replaces the registration
 * starts afresh, which can only let a push more through.
 *
 * message-count: the stanzas the registration would have been pushed for
 * since it was last pushed, or since its own session was last active or
 * resumed (this push's included): those held back by the rules above or
 * vetoed by the notification filter count, de-duplicated copies and
 * stanzas never pushed (the account's own, quiet ones) do not. */

/** The session sent something that shows its user is at it: a message
 *  or a chat state.  Resets the message count of the registration bound
 *  to this session; with push_grace_period, holds pushes to the account's
 *  other registrations for that long (monotonic clock).  Cheap without a
 *  grace period; with one, the first call of a session loads the account
 *  (as an enable would) and keeps it cached while the session lives.
 *  Parked behind a busy account like the other session events.
 *  Errors: INVALID_ARGUMENT (session NULL), REENTRANT, STORE (the account
 *  could not be loaded), BUSY. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_active(cloudnotify_session *session);

/** The account's client fetched its offline messages.  Resets the
 *  message count of every registration of the account; with
 *  push_clear_on_fetch, pushes once with message-count 0 (no body, no
 *  sender, not important) to every registration not bound to a live
 *  session (a hibernated one's device is asleep and gets it), passing
 *  push_silent_per_hour.  *pushes (may be NULL) receives how many
 *  publishes were sent.  Parked behind a busy account as cloudnotify_ping
 *  is.  Errors: INVALID_ARGUMENT, JID_MALFORMED, STORE, BUSY, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_offline_fetched(cloudnotify_ctx *ctx, const char *account,
                                                   unsigned *pushes);

/** The message-count the publish will carry (see above): at least 1 for
 *  a message, 0 for a badge clear and for a ping (which carries none).
 *  Callable in the notification filter, and through cloudnotify_op_push
 *  while its answer is out. */
CLOUDNOTIFY_EXPORT unsigned cloudnotify_push_message_count(const cloudnotify_push *push);
/** Replace the message-count, e.g. with the host's own offline count; on
 *  a ping it adds one.  The registration's count still starts again when
 * the push goes out.
 *  Errors: INVALID_ARGUMENT (push NULL). */
CLOUDNOTIFY_EXPORT int cloudnotify_push_set_message_count(cloudnotify_push *push, unsigned count);
/* Tigase's push extensions (area: tigase; docs/features.md "Tigase
 * extensions").  With push_tigase_extensions they are children of
 * <enable/>:
 *   <encrypt xmlns='tigase:push:encrypt:0' alg='aes-128-gcm'
 *            max-size='N'>base64 of a 16-byte key</encrypt>
 *   <priority xmlns='tigase:push:priority:0'/>
 *   <jingle xmlns='tigase:push:jingle:0'/>
 *   <muted xmlns='tigase:push:filter:muted:0'><item jid='…'/>…</muted>
 *   <groupchat xmlns='tigase:push:filter:groupchat:0'>
 *     <room jid='…' allow='always|mentioned|never' nick='…'/>…</groupchat>
 *   <ignore-unknown xmlns='tigase:push:filter:ignore-unknown:0'/>
 * An enable replaces the extensions of the registration it replaces:
 * enabling again without <encrypt/> turns encryption off.  max-size
 * defaults to 3000 (Tigase's).  At most 128 muted items and 128 rooms,
 * 64 KiB of extensions in all (modify/not-acceptable beyond); duplicates
 * count once (the first rule for a room wins).  Errors to the client:
 * an unknown alg is cancel/feature-not-implemented; no alg, a key that
 * is not base64 of 16 bytes, a max-size outside 256..65536, the same
 * extension twice, an item or room without a valid JID, an allow other
 * than the three, a nick empty or over 1023 bytes, or a 'mentioned' room
 * without a nick is modify/bad-request; ignore-unknown without the
 * sender_known callback, encrypt in a build without crypto, or any
 * extension while push_tigase_extensions is 0 is
 * cancel/feature-not-implemented.  They are stored after the form in
 * cloudnotify_record.publish_options; the publish-options echoed to the
 * app server is the form alone. */

/** The disco#info features to advertise where urn:xmpp:push:0 is (the
 *  account's bare JID, as the host does today): fills
 *  features[0 .. max-1] with static strings and returns how many there
 *  are in all (call with max 0 to size the array; 10 is always enough).
 *  The list always starts with "urn:xmpp:push:0"; with
 *  push_tigase_extensions it goes on with tigase:push:encrypt:0 and
 *  tigase:push:encrypt:aes-128-gcm (only in a build with crypto),
 *  tigase:push:priority:0, tigase:push:jingle:0,
 *  tigase:push:filter:muted:0, tigase:push:filter:groupchat:0 and
 *  tigase:push:filter:ignore-unknown:0 (only with the sender_known
 *  callback).  Returns INVALID_ARGUMENT for ctx NULL, or features NULL
 *  with max > 0.  Callable from callbacks. */
CLOUDNOTIFY_EXPORT int cloudnotify_ctx_disco_features(const cloudnotify_ctx *ctx,
                                                      const char **features, size_t max);

/* ------------------------------------------------------------------ */
/* Diagnosis (0.3)                                                     */
/* ------------------------------------------------------------------ */

/* What an operator or a user needs to answer "my phone does not ring"
 * (docs/features.md, "Metrics and diagnosis"): per registration what the
 * library knows of it, and a test push whose app-server answer comes back
 * through publish_outcome marked as the test's.  The last outcome, the
 * back-off and the publishes awaiting a reply live in memory only (a
 * restart, an account leaving the user cache or an enable replacing the
 * registration starts them afresh); the rest is what the store holds. */

/** Longest error text kept from an app server's reply, in bytes. */
#define CLOUDNOTIFY_DIAG_TEXT_MAX 512

/** cloudnotify_publish_report.flags: the publish was a test push. */
#define CLOUDNOTIFY_PUBLISH_FLAG_TEST 1u

/** One registration as cloudnotify_diag_registrations reports it.  Every
 *  pointer is borrowed for the callback's duration.  The library may
 *  append fields: read size before any field added after this one's
 *  last. */
typedef struct cloudnotify_diag_registration {
  size_t size;
  /** The push service JID and node (node NULL when none). */
  const char *jid;
  const char *node;
  /** The identity of the client that enabled it, or NULL (see
   *  cloudnotify_record.client_id). */
  const char *client_id;
  /** When it was enabled (wall clock, ms since the epoch). */
  int64_t enabled_at_ms;
  /** Consecutive errors counted towards push_max_errors. */
  unsigned errors;
  /** What became of the last publish to it that ended, or 0 when none
   *  ended since the registration came into memory. */
  cloudnotify_publish_outcome last_outcome;
  /** When that outcome happened (wall clock, ms); 0 with no outcome. */
  int64_t last_outcome_at_ms;
  /** That publish's id (NULL for VETOED or no outcome). */
  const char *last_id;
  /** For ERROR, WAIT and TRANSIENT: as in cloudnotify_publish_report
   *  (error type, condition and text, each NULL when absent). */
  const char *last_error_type;
  const char *last_error_condition;
  const char *last_error_text;
  /** 1 when that publish was a test push. */
  int last_was_test;
  /** The back-off (push_backoff): its current length in ms (0: none
   *  since the last result), the ms left before pushes go again (0: not
   *  holding now) and how many pushes it held so far. */
  int64_t backoff_ms;
  int64_t backoff_left_ms;
  unsigned backoff_held;
  /** Publishes sent to it still awaiting a reply. */
  unsigned outstanding;
  /** Sessions of the account bound to it (their client enabled it). */
  unsigned sessions;
  /** 1 when its pushes carry Tigase's encrypted payload
   *  (tigase:push:encrypt:0 and push_tigase_extensions on). */
  int encrypted;
  /** The Tigase extensions it opted into, as a space-separated list of
   *  names in a fixed order ("encrypt priority jingle muted groupchat
   *  ignore-unknown"), "" when none.  Never the key. */
  const char *extensions;
} cloudnotify_diag_registration;

/** Called once per registration by cloudnotify_diag_registrations with
 *  the account's normalised bare JID; return 0 to go on, nonzero to stop.
 *  Runs as any other callback: calls that change state are refused. */
typedef int (*cloudnotify_diag_fn)(void *user_data, const char *account,
                                   const cloudnotify_diag_registration *reg);

/** List the registrations of account with their diagnosis, most recently
 *  enabled first, as cloudnotify_account_registrations does: loading
 *  the account from the store when it is not cached, BUSY for an
 *  account with work parked behind a host answer, and BUSY too when the
 *  load this call starts is answered later (CLOUDNOTIFY_PENDING): the
 *  load goes on, and a call after its answer lists the account.  Returns
 *  the number of registrations reported (>= 0) or a negative error.
 *  Errors: INVALID_ARGUMENT (ctx, account or callback NULL),
 *  JID_MALFORMED, STORE (the load failed), BUSY, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_diag_registrations(cloudnotify_ctx *ctx, const char *account,
                                                      cloudnotify_diag_fn callback,
                                                      void *user_data);

/** Send a test push to the registration endpoint names (jid and node;
 *  node NULL: the registration without node), or to every registration
 *  of account when endpoint is NULL.  A test push is an explicit action
 *  of an administrator or of the user, so it passes every rule that
 *  holds pushes back: push_quiet, the grace period, the visible interval
 *  and the silent budget (which it does not use up either), the back-off
 *  and the registration's own Tigase filters; nor is the notification
 *  filter asked (the host asked for it).  It is otherwise the publish
 *  the registration's pushes are: same addressing, publish-options,
 *  Tigase payload (encrypted when the registration asked for it) and
 *  priority, an important push carrying push_notification_important_body
 *  (when set) and no message-count.  Its reply is handled as any other:
 *  checked against the registered JID, counted towards push_max_errors,
 *  starting a back-off, and reported once through publish_outcome with
 *  CLOUDNOTIFY_PUBLISH_FLAG_TEST in flags (also for REFUSED, EXPIRED,
 *  DROPPED and FORGOTTEN).  pushes (may be NULL) receives how many
 *  publishes the send callback accepted; id (may be NULL) receives the
 *  id of the first one, NUL-terminated, in a buffer of at least
 *  CLOUDNOTIFY_PUBLISH_ID_MAX + 1 bytes ("" when none went).  The
 *  account is loaded as cloudnotify_diag_registrations loads it (BUSY
 *  likewise: nothing is sent).
 *  Errors: INVALID_ARGUMENT (ctx or account NULL; endpoint with a NULL
 *  jid), JID_MALFORMED (account or endpoint->jid), STORE, BUSY,
 *  NOT_MINE (endpoint names no registration of the account, or the
 *  account has none), SEND (the send callback refused every publish: each
 *  was reported REFUSED), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_diag_test_push(cloudnotify_ctx *ctx, const char *account,
                                                  const cloudnotify_endpoint *endpoint,
                                                  unsigned *pushes, char *id);

#ifdef __cplusplus
}
#endif

#endif /* CLOUDNOTIFY_H */
