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
 *   no NUL terminator needed.  Accepted default namespaces of a stanza:
 *   jabber:client, jabber:server, jabber:component:accept, or none.
 * - Identity always comes from the host: "account" parameters are the
 *   bare JID (user@domain) of the local account concerned.  The library
 *   never derives the account from a 'from' attribute.
 * - Callbacks never re-enter: calling any function of this library that
 *   changes state from inside a callback returns CLOUDNOTIFY_ERR_REENTRANT
 *   and changes nothing.  Functions marked "callable from callbacks" are
 *   pure getters and are safe there.
 * - One context and everything created from it must be used from one
 *   thread at a time.  Different contexts are independent.
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
#define CLOUDNOTIFY_VERSION_MINOR 2
#define CLOUDNOTIFY_VERSION_MICRO 0

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
  /** A vtable (callbacks or store) declares a size this version of the
   *  library does not know: it was built against a newer header. */
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
} cloudnotify_error;

/** Static English description of an error code; never NULL.  Callable
 *  from callbacks. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_strerror(int error);

/** Nonzero when the error is the host's programming error or a version
 *  mismatch: retrying the same call can never succeed
 *  (INVALID_ARGUMENT, VTABLE_SIZE, UNKNOWN_OPTION, OPTION_VALUE,
 *  REENTRANT).  Zero for errors caused by the input or a transient
 *  failure, and for non-errors.  Callable from callbacks. */
CLOUDNOTIFY_EXPORT int cloudnotify_is_fatal(int error);

/** Version of the library at run time, e.g. "0.1.0"; static string. */
CLOUDNOTIFY_EXPORT const char *cloudnotify_version_string(void);

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
} cloudnotify_removal_reason;

/** The host's callbacks.  Set size to sizeof(cloudnotify_callbacks); a
 *  later version of the library only appends fields, and accepts the
 *  sizes of every earlier version (missing fields count as NULL).  Every
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
  int (*send)(void *user_data, cloudnotify_route route,
              cloudnotify_session *session, const char *account,
              const char *to, const char *xml, size_t len);

  /** Wall-clock time in milliseconds since the Unix epoch.  Used for
   *  timers and for the enable time stored with each registration, so it
   *  must keep counting across restarts.  Default: CLOCK_REALTIME. */
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
  void (*hibernation_timeout)(void *user_data, cloudnotify_session *session,
                              int64_t seconds);

  /** A registration was removed (not called when one is merely replaced
   *  by enabling the same jid and node again).  node may be NULL.
   *  Default: ignored. */
  void (*registration_removed)(void *user_data, const char *account,
                               const char *jid, const char *node,
                               cloudnotify_removal_reason reason);

  /** A log line.  Message bodies and publish-options contents are never
   *  part of it.  Default: discarded. */
  void (*log)(void *user_data, cloudnotify_log_level level,
              const char *message);

  /** Registration filter, called before an enable is stored.  jid and
   *  node are normalised.  Return 0 to accept; to veto, return nonzero
   *  and set *error_type ("cancel", "modify", "auth" or "wait") and
   *  *error_condition (an RFC 6120 defined-condition element name such as
   *  "not-allowed") to static strings; invalid or unset values become
   *  cancel / not-allowed.  Default: accept. */
  int (*registration_filter)(void *user_data, cloudnotify_session *session,
                             const char *account, const char *jid,
                             const char *node, const char **error_type,
                             const char **error_condition);

  /** Notification filter, called before each publish.  Return 0 to send
   *  (possibly after amending push with cloudnotify_push_set_*), nonzero
   *  to drop this one publish.  Default: send. */
  int (*notification_filter)(void *user_data, cloudnotify_push *push);
} cloudnotify_callbacks;

/* ------------------------------------------------------------------ */
/* Context and options                                                 */
/* ------------------------------------------------------------------ */

/** Create a context.  callbacks is copied (borrowed for the call); may be
 *  NULL for all defaults.  user_data is passed to every callback.  The
 *  context starts with the in-memory store.  *out is owned by the caller
 *  and freed with cloudnotify_ctx_free.
 *  Errors: INVALID_ARGUMENT (out NULL), VTABLE_SIZE (callbacks->size is
 *  not a size this library knows). */
CLOUDNOTIFY_EXPORT int cloudnotify_ctx_new(cloudnotify_ctx **out,
                                           const cloudnotify_callbacks *callbacks,
                                           void *user_data);

/** Free a context and everything created from it that is still alive,
 *  sessions included (their handles become invalid).  Calls the store's
 *  destroy.  No callback other than the store's destroy is called.
 *  NULL is a no-op.  Must not be called from a callback. */
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
  /** bool, default 0 (by name: push_publish_from_bare): publish from the
   *  account's bare JID, as XEP-0357's examples do, instead of from its
   *  domain (the reference's choice).  App servers then answer to the
   *  account's bare JID: the host must hand IQ results and errors
   *  addressed to a local account's bare JID (not only those addressed to
   *  the domain) to cloudnotify_handle_app_reply, before answering them
   *  on the account's behalf, and process them as usual when it returns
   *  CLOUDNOTIFY_ERR_NOT_MINE.  Publishes already sent are answered
   *  wherever they were sent from: route both while switching. */
  CLOUDNOTIFY_OPT_PUBLISH_FROM_BARE = 19,
} cloudnotify_option;

/** Set an integer or boolean option.
 *  Errors: INVALID_ARGUMENT (ctx NULL), UNKNOWN_OPTION, OPTION_VALUE
 *  (string option, or value out of range), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_ctx_set_option_int(cloudnotify_ctx *ctx,
                                                      cloudnotify_option option,
                                                      int64_t value);

/** Set a string option; value is copied.
 *  Errors: INVALID_ARGUMENT (ctx or value NULL), UNKNOWN_OPTION,
 *  OPTION_VALUE (not a string option, not valid UTF-8, or holding a
 *  character XML cannot carry), REENTRANT. */
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
 *  push_max_session_queue, push_wake_before_expiry,
 *  push_publish_from_bare) with the value as
 *  text ("true"/"false"/"1"/"0" for booleans, decimal for integers).
 *  Errors: INVALID_ARGUMENT, UNKNOWN_OPTION, OPTION_VALUE, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_ctx_set_option(cloudnotify_ctx *ctx,
                                                  const char *name,
                                                  const char *value);

/* ------------------------------------------------------------------ */
/* Storage                                                             */
/* ------------------------------------------------------------------ */

/** One stored registration, as passed to save and to
 *  cloudnotify_loader_add.  All pointers borrowed. */
typedef struct cloudnotify_record {
  /** Push service JID (normalised by the library on save). */
  const char *jid;
  /** Node; NULL when the client gave none. */
  const char *node;
  /** Publish-options form as XML text, NULL/0 when none. */
  const char *publish_options;
  size_t publish_options_len;
  /** When it was enabled (now_ms); orders device-limit eviction. */
  int64_t enabled_at_ms;
} cloudnotify_record;

/** A synchronous storage backend.  Set size to sizeof(cloudnotify_store).
 *  Data read back is untrusted: every record is validated again by
 *  cloudnotify_loader_add.  Return 0 on success, negative on failure.
 *  store_data is the pointer given to cloudnotify_ctx_set_store. */
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
  int (*remove)(void *store_data, const char *account, const char *jid,
                const char *node);
  /** Called once when the store is replaced or the context freed.  May be
   *  NULL. */
  void (*destroy)(void *store_data);
} cloudnotify_store;

/** Replace the storage backend (vtable copied; store_data borrowed until
 *  destroy is called).  The previous backend's destroy is called and the
 *  user cache emptied.  store NULL restores the in-memory store (empty).
 *  Errors: INVALID_ARGUMENT (ctx NULL, or load/save/remove NULL),
 *  VTABLE_SIZE, REENTRANT, STATE (sessions exist: set the store first). */
CLOUDNOTIFY_EXPORT int cloudnotify_ctx_set_store(cloudnotify_ctx *ctx,
                                                 const cloudnotify_store *store,
                                                 void *store_data);

/** Called from a store's load: add one record (copied).  An invalid
 *  record (bad JID, bad form) is skipped and logged, and its error
 *  returned; the load continues.  Records beyond push_max_devices are
 *  trimmed, least recently enabled first, and removed from the store.
 *  A record stored under a key that is not normalised (a service JID in
 *  another case or with a trailing dot, as mod_cloud_notify keeps what
 *  clients wrote; an empty node instead of none) is rewritten once the
 *  load returns: saved under the normalised key, then removed under the
 *  stored one, so that later removals reach it.  If the store refuses
 *  either, the load fails (the caller gets CLOUDNOTIFY_ERR_STORE, nothing
 *  is cached) and the next call tries again.
 *  Errors: INVALID_ARGUMENT, JID_MALFORMED, XML, TOO_LARGE. */
CLOUDNOTIFY_EXPORT int cloudnotify_loader_add(cloudnotify_loader *loader,
                                              const cloudnotify_record *record);

/* ------------------------------------------------------------------ */
/* Sessions                                                            */
/* ------------------------------------------------------------------ */

/** A resource was bound: create its session.  account is the bare JID,
 *  resource the bound resource (both copied, validated).  *out is owned
 *  by the caller and freed with cloudnotify_session_free.
 *  Errors: INVALID_ARGUMENT, JID_MALFORMED, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_new(cloudnotify_ctx *ctx,
                                               const char *account,
                                               const char *resource,
                                               cloudnotify_session **out);

/** The session closed: cancel its timers and unbind it.  NULL is a no-op.
 *  Must not be called from a callback. */
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

/** Stream management was enabled on the session.
 *  Errors: INVALID_ARGUMENT, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_sm_enabled(cloudnotify_session *session);

/** The session hibernated (its connection dropped, stream management
 *  keeps it).  queue is the session's unacknowledged stanzas (n may be 0);
 *  if the session has push enabled one push goes out for them and the
 *  hibernation_timeout callback is asked for the extended timeout.
 *  Errors: INVALID_ARGUMENT, STATE (already hibernated), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_hibernated(cloudnotify_session *session,
                                                      const cloudnotify_buf *queue,
                                                      size_t n);

/** A stanza was added to the session's stream-management queue (sent to
 *  a live session, or queued while hibernated).  While hibernated it is
 *  pushed after the coalescing window; while live it is remembered for
 *  the ack-delay push.  Errors: INVALID_ARGUMENT, XML, TOO_LARGE,
 *  REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_queued(cloudnotify_session *session,
                                                  const char *xml, size_t len);

/** The server sent an ack request <r/>; the ack-delay clock starts for
 *  the stanzas queued so far.  Errors: INVALID_ARGUMENT, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_ack_requested(cloudnotify_session *session);

/** The client acknowledged: h is the <a h=''/> value (stanzas handled,
 *  modulo 2^32).  Errors: INVALID_ARGUMENT, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_acked(cloudnotify_session *session,
                                                 uint32_t h);

/** The host detected an overdue ack itself; queue holds the unacked
 *  stanzas (n may be 0: the ones reported through queued are used).
 *  Errors: INVALID_ARGUMENT, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_ack_delayed(cloudnotify_session *session,
                                                       const cloudnotify_buf *queue,
                                                       size_t n);

/** The session was resumed: pending coalesced pushes are cancelled and
 *  the hibernation_timeout callback is not called again.
 *  Errors: INVALID_ARGUMENT, STATE (not hibernated), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_session_resumed(cloudnotify_session *session);

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
 *  Errors: INVALID_ARGUMENT; XML / TOO_LARGE (no reply sent: the host
 *  answers or drops as for any malformed stanza); NOT_MINE (not an <iq/>,
 *  no type, type result or error, or no child in urn:xmpp:push:0; no
 *  reply sent); SEND (the reply could not be sent; the state change it
 *  reports stands); REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_handle_client_iq(cloudnotify_session *session,
                                                    const char *xml, size_t len);

/** An IQ result or error arrived for the local domain.  If its id is one
 *  of our outstanding publishes it is consumed (0); results from the
 *  registered JID reset the error count, errors of any type but 'wait'
 *  from it count towards push_max_errors; anything from another JID
 *  changes nothing.  Errors: INVALID_ARGUMENT, XML, TOO_LARGE, NOT_MINE,
 *  STORE (the removal at the error limit could not be stored; it is
 *  retried at the next error), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_handle_app_reply(cloudnotify_ctx *ctx,
                                                    const char *xml, size_t len);

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
 *  number of publishes sent.  Errors: INVALID_ARGUMENT, JID_MALFORMED,
 *  XML, TOO_LARGE, STORE (registrations could not be loaded), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_message_offline(cloudnotify_ctx *ctx,
                                                   const char *account,
                                                   const char *xml, size_t len,
                                                   unsigned *pushes);

/** A message was archived (MAM) for account with archive id archive_id
 *  (may be NULL).  Registrations bound to a live or hibernated session
 *  are skipped, unless the stanza is urgent (a call).  Errors as
 *  cloudnotify_message_offline. */
CLOUDNOTIFY_EXPORT int cloudnotify_message_archived(cloudnotify_ctx *ctx,
                                                    const char *account,
                                                    const char *xml, size_t len,
                                                    const char *archive_id,
                                                    unsigned *pushes);

/** A groupchat message reached account's bare JID with no resource to
 *  take it: every registration is notified.  Errors as
 *  cloudnotify_message_offline. */
CLOUDNOTIFY_EXPORT int cloudnotify_message_groupchat_bare(cloudnotify_ctx *ctx,
                                                          const char *account,
                                                          const char *xml, size_t len,
                                                          unsigned *pushes);

/** Whether account has at least one registration (loading it from the
 *  store if needed): 1 yes, 0 no, or a negative error.  Lets a host skip
 *  serialising a stanza for the triggers above when nothing would be
 *  pushed.  Errors: INVALID_ARGUMENT, JID_MALFORMED, STORE, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_account_has_push(cloudnotify_ctx *ctx, const char *account);

/** Ping: a notification without stanza to every registration of account
 *  (endpoints NULL or n 0) or to the named ones that exist.
 *  Errors: INVALID_ARGUMENT, JID_MALFORMED, STORE, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_ping(cloudnotify_ctx *ctx, const char *account,
                                        const cloudnotify_endpoint *endpoints,
                                        size_t n, unsigned *pushes);

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/** Milliseconds until cloudnotify_tick is due: -1 none, 0 now.
 *  Callable from callbacks. */
CLOUDNOTIFY_EXPORT int64_t cloudnotify_next_timeout(const cloudnotify_ctx *ctx);

/** Run every timer that is due.  Errors: INVALID_ARGUMENT, REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_tick(cloudnotify_ctx *ctx);

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
 *  its value.  The form the publish carries says message-count (the
 *  number of stanzas the push covers: 1 for a message, n for a batch of a
 *  session's queue; none for a ping), last-message-sender and
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
 *  attributes keep theirs).  A second call replaces the first; xml NULL
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

#ifdef __cplusplus
}
#endif

#endif /* CLOUDNOTIFY_H */
