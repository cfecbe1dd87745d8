/**
 * @file
 * libcloudnotify-pg: registrations in PostgreSQL, shared by several
 * server nodes (one library context per node, each with its own store
 * handle and connection, all on one database).  Separate library, header
 * and pkg-config name (libcloudnotify-pg) so that hosts without libpq
 * never see it; this header includes no libpq or GLib type.
 *
 * The store never blocks the host.  Every load, save and remove is sent
 * with libpq's non-blocking interface and answered later (the store
 * callbacks return CLOUDNOTIFY_PENDING, see "Answers that come later" in
 * cloudnotify.h); the answer arrives when the host drives the connection
 * from its own loop, the way libcurl's multi interface or nghttp2 are
 * driven:
 *
 *   - watch the descriptor cloudnotify_pg_socket() names, for the events
 *     it names (socket_changed reports every change: a reconnect gives a
 *     new descriptor, and -1 while there is none);
 *   - call cloudnotify_pg_process() with the events that occurred, and
 *     with 0 when cloudnotify_pg_next_timeout() has elapsed (timer_changed
 *     reports every change of that deadline);
 *   - never call cloudnotify_pg_process() from inside a callback of the
 *     context or of the store handle.
 *
 * Ownership: the host owns the handle (cloudnotify_pg_new / _free).  A
 * handle serves one context at a time (cloudnotify_ctx_set_pg_store);
 * freeing the context or replacing its store detaches it.  Free the
 * context before the handle; a handle freed while still attached closes
 * its connection at once, fails every operation still waiting, and keeps
 * the little memory the context's store vtable points to until the
 * context lets go of it.
 *
 * Cluster rules kept in the database (docs/storage-postgresql.md):
 *   - the device limit is enforced in the transaction that stores an
 *     enable, under a per-account advisory lock: the least recently
 *     enabled beyond max_devices are deleted there, so two nodes enabling
 *     at once never leave more than the limit;
 *   - every change is announced with NOTIFY on the channel
 *     "cloudnotify:<schema>" with the account as payload; the other nodes
 *     call cloudnotify_account_forget on it, so that their next use of the
 *     account reads the database again; after a lost connection every
 *     account the store served is forgotten once it is back;
 *   - error counts are counted in the database (one more per counted
 *     error, reset to 0 on success), so they add up whichever node sees
 *     the errors.
 */
#ifndef CLOUDNOTIFY_PG_H
#define CLOUDNOTIFY_PG_H

#include <cloudnotify/cloudnotify.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One PostgreSQL store: a connection (re-established by itself), its
 *  queue of statements and the context it serves. */
typedef struct cloudnotify_pg cloudnotify_pg;

/** Events of the socket, as wanted by the store and as given to
 *  cloudnotify_pg_process. */
#define CLOUDNOTIFY_PG_READ  1u /**< readable, or to be watched for it */
#define CLOUDNOTIFY_PG_WRITE 2u /**< writable, or to be watched for it */

/** Where the connection stands. */
typedef enum cloudnotify_pg_state {
  /** No connection; the next attempt is due after
   *  cloudnotify_pg_next_timeout().  Store calls fail at once
   *  (CLOUDNOTIFY_ERR_PG_UNAVAILABLE): an enable is answered
   *  wait/internal-server-error. */
  CLOUDNOTIFY_PG_DOWN = 0,
  /** Connecting, or setting the schema up and subscribing to the
   *  channel.  Store calls wait for the outcome. */
  CLOUDNOTIFY_PG_CONNECTING = 1,
  /** Connected and listening. */
  CLOUDNOTIFY_PG_READY = 2,
} cloudnotify_pg_state;

/** Longest schema name accepted, in bytes. */
#define CLOUDNOTIFY_PG_SCHEMA_MAX 48

/** Configuration of a store handle, copied by cloudnotify_pg_new.  Set
 *  size to sizeof(cloudnotify_pg_options) and zero-initialise it; zero
 *  fields take the defaults below.  Fields are only ever appended (the
 *  vtable rule of cloudnotify.h applies to size). */
typedef struct cloudnotify_pg_options {
  /** sizeof(cloudnotify_pg_options) as the host was built. */
  size_t size;
  /** The device limit enforced in the database: set it equal to the
   *  context's push_max_devices (CLOUDNOTIFY_OPT_MAX_DEVICES) on every
   *  node.  1..1000, default 5.  With a different value the database's
   *  limit wins: the store then makes the context reload the account
   *  after each enable that evicted differently. */
  int max_devices;
  /** Backoff between connection attempts: the first wait, doubled after
   *  each failed attempt up to the maximum (with up to a quarter added at
   *  random so that nodes do not reconnect in step).  Defaults 100 ms and
   *  30000 ms; 1..3600000. */
  int64_t reconnect_min_ms;
  /** The longest wait between connection attempts (see reconnect_min_ms). */
  int64_t reconnect_max_ms;
  /** A connection attempt (including the schema setup) taking longer
   *  fails.  Default 10000 ms. */
  int64_t connect_timeout_ms;
  /** The server cancels a statement running longer than this (the
   *  session's statement_timeout): its operation fails, nothing of it is
   *  committed, the connection stays.  Without any answer 2 s later the
   *  connection counts as lost: it is closed (every waiting operation
   *  fails) and opened again.  Default 30000 ms. */
  int64_t query_timeout_ms;
  /** Schema holding the tables and functions: [a-z_][a-z0-9_]*, at most
   *  CLOUDNOTIFY_PG_SCHEMA_MAX bytes; NULL: "public".  Created when
   *  missing.  Nodes sharing registrations use the same schema; tests
   *  get a fresh store by naming a fresh schema.  Copied. */
  const char *schema;
  /** The descriptor to watch, or the events wanted on it, changed: fd is
   *  -1 (events 0) while there is no connection; a new connection may
   *  reuse the number of a closed one and is still reported (after a
   *  report of -1), so hosts using epoll register it again.  May be
   *  called from inside any function of this header and from inside the
   *  context's functions (a statement queued by a store call may want
   *  to write); it must call no function of either library.  NULL: the
   *  host polls cloudnotify_pg_socket() instead. */
  void (*socket_changed)(void *user_data, int fd, unsigned events);
  /** cloudnotify_pg_next_timeout() changed to timeout_ms (-1 none).  Same
   *  rules as socket_changed.  NULL: the host asks instead. */
  void (*timer_changed)(void *user_data, int64_t timeout_ms);
  /** Connection events and failures, as one line of text (borrowed for
   *  the call).  Same rules as socket_changed.  NULL: not logged. */
  void (*log)(void *user_data, cloudnotify_log_level level, const char *message);
  /** Passed to the three callbacks above. */
  void *user_data;
  /** CLOUDNOTIFY_PG_NO_CREATE or 0. */
  unsigned flags;
} cloudnotify_pg_options;

/** Flag of cloudnotify_pg_options.flags: do not create a missing schema
 *  or table.  Connecting to a schema without the store's tables then
 *  fails like a newer schema does (cloudnotify_pg_wait_idle returns
 *  CLOUDNOTIFY_ERR_PG_SCHEMA; cloudnotify_pg_last_error's message
 *  contains "does not exist"), and nothing is written to the database.
 *  For tools that only read or remove. */
#define CLOUDNOTIFY_PG_NO_CREATE 1u

/** Create a store handle and start connecting to conninfo (a libpq
 *  connection string or URI, copied).  Nothing blocks, except that libpq
 *  resolves a host name synchronously: give hostaddr, a socket directory
 *  or a name from /etc/hosts to a host that must never block.  options
 *  may be NULL for all defaults; it is copied.  socket_changed and
 *  timer_changed may be called before this returns.  *out is owned by the
 *  caller, freed with cloudnotify_pg_free.
 *  Errors: INVALID_ARGUMENT (out or conninfo NULL, an option out of
 *  range, schema not of the accepted form), VTABLE_SIZE (options->size
 *  refused by the vtable rule), PG_CONNINFO (conninfo does not parse;
 *  libpq's reason is logged through options->log).  *out is NULL on
 *  error.  A server that cannot be reached is not an error here: the
 *  handle keeps trying (see cloudnotify_pg_get_state). */
CLOUDNOTIFY_EXPORT int cloudnotify_pg_new(cloudnotify_pg **out, const char *conninfo,
                                          const cloudnotify_pg_options *options);

/** Close the connection and free the handle.  Operations still waiting
 *  are answered as failures (their enables get
 *  wait/internal-server-error) when this is called outside the context's
 *  callbacks, and otherwise released unanswered (see cloudnotify_op_free).
 *  If the handle is still attached to a context, its store answers every
 *  later call with a failure until the context is freed or given another
 *  store.  NULL is a no-op. */
CLOUDNOTIFY_EXPORT void cloudnotify_pg_free(cloudnotify_pg *pg);

/** Make pg the storage of ctx (cloudnotify_ctx_set_store with this
 *  library's vtable).  The handle stays owned by the host; the context
 *  detaches from it when it is freed or given another store.
 *  Errors: INVALID_ARGUMENT (ctx or pg NULL), STATE (pg already serves a
 *  context, or cloudnotify_ctx_set_store refused: sessions exist or work
 *  is parked), REENTRANT. */
CLOUDNOTIFY_EXPORT int cloudnotify_ctx_set_pg_store(cloudnotify_ctx *ctx, cloudnotify_pg *pg);

/** The descriptor to watch (-1 when there is none) and the events wanted
 *  (CLOUDNOTIFY_PG_READ / _WRITE; 0 with -1).  Either out-pointer may be
 *  NULL.  Callable from callbacks.  Errors: INVALID_ARGUMENT (pg NULL;
 *  *fd is then -1 and *events 0). */
CLOUDNOTIFY_EXPORT int cloudnotify_pg_socket(const cloudnotify_pg *pg, int *fd, unsigned *events);

/** Milliseconds until cloudnotify_pg_process is due even without socket
 *  events (a reconnect, a connection or statement deadline, a retry of
 *  work the context could not take yet): -1 none, 0 now.  -1 for NULL.
 *  Callable from callbacks. */
CLOUDNOTIFY_EXPORT int64_t cloudnotify_pg_next_timeout(const cloudnotify_pg *pg);

/** Drive the store: revents are the events that occurred on the
 *  descriptor (0 when called for the timeout).  Reads what arrived,
 *  answers the context's waiting operations (their parked work runs
 *  before this returns, callbacks of the context included), sends the
 *  next statements, tells the context about accounts other nodes
 *  changed, and reconnects when due.  A lost connection is not an error
 *  of this call: the waiting operations fail, the store logs it and
 *  tries again after its backoff (see cloudnotify_pg_get_state).
 *  Errors: INVALID_ARGUMENT (pg NULL), REENTRANT (called from inside one
 *  of pg's own callbacks; nothing done). */
CLOUDNOTIFY_EXPORT int cloudnotify_pg_process(cloudnotify_pg *pg, unsigned revents);

/** Where the connection stands; CLOUDNOTIFY_PG_DOWN for NULL.  Callable
 *  from callbacks. */
CLOUDNOTIFY_EXPORT cloudnotify_pg_state cloudnotify_pg_get_state(const cloudnotify_pg *pg);

/** The last failure: one of CLOUDNOTIFY_ERR_PG_UNAVAILABLE (connection
 *  failed or lost), _PG_QUERY (the server refused a statement), _PG_SCHEMA
 *  (the schema could not be set up, or is newer than this library), or 0
 *  when nothing failed since the handle was created.  *message (may be
 *  NULL) receives the server's or libpq's text, borrowed until the next
 *  call of any function of this header on pg or of the context it serves
 *  (it is "" with 0).  Callable
 *  from callbacks.  Errors: INVALID_ARGUMENT (pg NULL). */
CLOUDNOTIFY_EXPORT int cloudnotify_pg_last_error(const cloudnotify_pg *pg, const char **message);

/** Block in poll() driving pg (and nothing else: not the context's
 *  timers) until it is idle: connected with no statement queued or
 *  running and nothing left to tell the context; or until the connection
 *  attempt under way fails; or until timeout_ms elapsed (-1: no limit).
 *  For tests, tools and start-up, never inside an event loop.
 *  Returns 0 when idle.  Errors: INVALID_ARGUMENT (pg NULL),
 *  REENTRANT (as cloudnotify_pg_process), PG_UNAVAILABLE (no connection,
 *  and the attempt under way, if any, failed), PG_SCHEMA (the schema
 *  could not be set up), BUSY (still working when timeout_ms elapsed). */
CLOUDNOTIFY_EXPORT int cloudnotify_pg_wait_idle(cloudnotify_pg *pg, int timeout_ms);

/* ---- Administration: blocking calls for tools ------------------------ */
/* The three calls below serve operators' tools (cloudnotify-admin) and
 * tests.  They block in poll() and libpq until the database answered:
 * never call them from a host's event loop.  They work on a handle that
 * serves no context (STATE otherwise): a tool creates its own handle.
 * Each first waits, as cloudnotify_pg_wait_idle(pg, -1) does, for the
 * connection and the schema setup (bounded by connect_timeout_ms), then
 * runs one statement; the server's statement_timeout
 * (query_timeout_ms) bounds it (a server that vanishes without closing
 * the connection is noticed only when TCP gives up: libpq's keepalives_*
 * and tcp_user_timeout in conninfo shorten that).  Common errors: INVALID_ARGUMENT (pg
 * NULL, or a required pointer NULL), STATE (pg serves a context),
 * REENTRANT (from inside a callback of pg, including the foreach
 * callback), PG_UNAVAILABLE (no connection could be made, or it was
 * lost during the statement; the handle reconnects later as usual),
 * PG_SCHEMA (the schema could not be set up, is newer than this
 * library, or is missing under CLOUDNOTIFY_PG_NO_CREATE), PG_QUERY (the
 * server refused the statement, e.g. text that is not valid in the
 * database's encoding, or the statement timed out).  The text of the
 * failure is in cloudnotify_pg_last_error. */

/** Call cb for every stored registration of account (NULL: of every
 *  account), ordered by account (byte order, as cloudnotify_sqlite_foreach
 *  orders them) then enable time, oldest first, then the order the
 *  database stored them in.  account is compared as stored: the library
 *  stores normalised bare JIDs.  One SELECT: it sees one consistent state
 *  while nodes write, and holds every row of the answer in memory while
 *  cb runs.  account and record (every pointer in it) are borrowed for
 *  the call; they are the database's contents as stored, not validated
 *  (node "" is passed as NULL, as the store keeps a missing node as "").
 *  From cb, calls of this header on pg return REENTRANT: collect first,
 *  then change.  Returns 0 after the last one, cb's nonzero value when
 *  it stopped, or an error listed above. */
CLOUDNOTIFY_EXPORT int cloudnotify_pg_foreach(cloudnotify_pg *pg, const char *account,
                                              cloudnotify_record_cb cb, void *data);

/** Store record for account (both borrowed), replacing the registration
 *  with the same (jid, node), in one transaction under the account's
 *  lock, exactly as an enable is stored: it counts as the account's most
 *  recent, the device limit of pg's options (max_devices) is applied
 *  (the least recently stored beyond it are deleted), and the running
 *  nodes are told to read the account again.  The record is stored as
 *  given, not normalised or validated (nodes validate what they load,
 *  as cloudnotify_loader_add does).  Records saved one after the other
 *  keep that order as their enable order.  Returns 0, or an error listed
 *  above (INVALID_ARGUMENT also for record or record->jid NULL). */
CLOUDNOTIFY_EXPORT int cloudnotify_pg_save_record(cloudnotify_pg *pg, const char *account,
                                                  const cloudnotify_record *record);

/** Remove the registration of account keyed by (jid, node), node NULL
 *  being the one without node (all borrowed, compared as stored), and
 *  tell the running nodes to read the account again.  Returns 1 when it
 *  was removed, 0 when there was none, or an error listed above. */
CLOUDNOTIFY_EXPORT int cloudnotify_pg_remove_record(cloudnotify_pg *pg, const char *account,
                                                    const char *jid, const char *node);

#ifdef __cplusplus
}
#endif

#endif /* CLOUDNOTIFY_PG_H */
