"""cffi build script of the Python binding (API mode).

Run at build time by meson (bindings/python/cloudnotify/meson.build) as
``/usr/bin/python3 cloudnotify_build.py OUTPUT.c``: it writes the C source
of the extension module ``cloudnotify._cloudnotify``, which meson compiles
against include/cloudnotify/cloudnotify.h and links with libcloudnotify.

Why API mode: every declaration below is checked by the C compiler against
the real header.  Struct fields are listed by name and type, so a field
that does not exist fails the build, a field whose type differs fails it too
(the extension is compiled with -Werror=incompatible-pointer-types), and the
offsets and sizes are those of the header, never cffi's guesses.  Enum and
macro values are written ``static const int NAME;`` / ``#define NAME ...``:
the values are read from the header at compile time, a name the header does
not have fails the build.

Only the text forms of stanzas are bound: a Python host holds its stanzas
as text or as its own objects, and the tree adapters (cloudnotify_tree,
cloudnotify_builder) exist for hosts that hold parsed trees already.
"""
import sys

import cffi

CDEF = r"""
/* ---- errors and versions ---- */
typedef int... cloudnotify_error;
static const int CLOUDNOTIFY_OK;
static const int CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
static const int CLOUDNOTIFY_ERR_XML;
static const int CLOUDNOTIFY_ERR_TOO_LARGE;
static const int CLOUDNOTIFY_ERR_NOT_MINE;
static const int CLOUDNOTIFY_ERR_JID_MALFORMED;
static const int CLOUDNOTIFY_ERR_STORE;
static const int CLOUDNOTIFY_ERR_VTABLE_SIZE;
static const int CLOUDNOTIFY_ERR_SEND;
static const int CLOUDNOTIFY_ERR_UNKNOWN_OPTION;
static const int CLOUDNOTIFY_ERR_OPTION_VALUE;
static const int CLOUDNOTIFY_ERR_REENTRANT;
static const int CLOUDNOTIFY_ERR_STATE;
static const int CLOUDNOTIFY_ERR_FOREIGN_SENDER;
static const int CLOUDNOTIFY_ERR_OP_DONE;
static const int CLOUDNOTIFY_ERR_OP_CANCELLED;
static const int CLOUDNOTIFY_ERR_GONE;
static const int CLOUDNOTIFY_ERR_BUSY;
static const int CLOUDNOTIFY_ERR_OP_UNKNOWN;
static const int CLOUDNOTIFY_ERR_STORE_LOCKED;
static const int CLOUDNOTIFY_ERR_STORE_CORRUPT;
static const int CLOUDNOTIFY_ERR_STORE_VERSION;
static const int CLOUDNOTIFY_ERR_STORE_IO;
static const int CLOUDNOTIFY_ERR_PG_CONNINFO;
static const int CLOUDNOTIFY_ERR_PG_UNAVAILABLE;
static const int CLOUDNOTIFY_ERR_PG_QUERY;
static const int CLOUDNOTIFY_ERR_PG_SCHEMA;

#define CLOUDNOTIFY_VERSION_NUMBER ...
#define CLOUDNOTIFY_PENDING ...
#define CLOUDNOTIFY_ID_PREFIX_MAX ...
#define CLOUDNOTIFY_PUBLISH_ID_MAX ...
#define CLOUDNOTIFY_CLIENT_ID_MAX ...
#define CLOUDNOTIFY_MAX_PARKED_PER_ACCOUNT ...
#define CLOUDNOTIFY_MAX_PARKED ...
#define CLOUDNOTIFY_PUSH_MAX_FIELDS ...
#define CLOUDNOTIFY_PUSH_MAX_VAR_SIZE ...
#define CLOUDNOTIFY_PUSH_MAX_VALUE_SIZE ...
#define CLOUDNOTIFY_PUSH_MAX_EXTRA_SIZE ...
#define CLOUDNOTIFY_SQLITE_SCHEMA_VERSION ...
#define CLOUDNOTIFY_SQLITE_BUSY_TIMEOUT_MS ...
static const int CLOUDNOTIFY_SQLITE_READONLY;
static const int CLOUDNOTIFY_SQLITE_NO_CREATE;

const char *cloudnotify_strerror(int error);
int cloudnotify_is_usage_error(int error);
const char *cloudnotify_version_string(void);
uint32_t cloudnotify_version_number(void);

/* ---- handles ---- */
typedef struct cloudnotify_ctx cloudnotify_ctx;
typedef struct cloudnotify_session cloudnotify_session;
typedef struct cloudnotify_push cloudnotify_push;
typedef struct cloudnotify_loader cloudnotify_loader;
typedef struct cloudnotify_stanza cloudnotify_stanza;
typedef struct cloudnotify_op cloudnotify_op;
typedef struct cloudnotify_sqlite cloudnotify_sqlite;

typedef struct cloudnotify_buf {
  const char *data;
  size_t len;
} cloudnotify_buf;

typedef struct cloudnotify_endpoint {
  const char *jid;
  const char *node;
} cloudnotify_endpoint;

/* ---- enums (values from the header) ---- */
typedef int... cloudnotify_route;
static const int CLOUDNOTIFY_ROUTE_CLIENT;
static const int CLOUDNOTIFY_ROUTE_APP_SERVER;

typedef int... cloudnotify_log_level;
static const int CLOUDNOTIFY_LOG_DEBUG;
static const int CLOUDNOTIFY_LOG_INFO;
static const int CLOUDNOTIFY_LOG_WARN;
static const int CLOUDNOTIFY_LOG_ERROR;

typedef int... cloudnotify_removal_reason;
static const int CLOUDNOTIFY_REMOVED_DISABLED;
static const int CLOUDNOTIFY_REMOVED_ERRORS;
static const int CLOUDNOTIFY_REMOVED_EVICTED;
static const int CLOUDNOTIFY_REMOVED_ACCOUNT;
static const int CLOUDNOTIFY_REMOVED_REMOTE;
static const int CLOUDNOTIFY_REMOVED_EXPIRED;
static const int CLOUDNOTIFY_REMOVED_CLIENT_REPLACED;

typedef int... cloudnotify_publish_outcome;
static const int CLOUDNOTIFY_PUBLISH_OK;
static const int CLOUDNOTIFY_PUBLISH_ERROR;
static const int CLOUDNOTIFY_PUBLISH_WAIT;
static const int CLOUDNOTIFY_PUBLISH_EXPIRED;
static const int CLOUDNOTIFY_PUBLISH_DROPPED;
static const int CLOUDNOTIFY_PUBLISH_FORGOTTEN;
static const int CLOUDNOTIFY_PUBLISH_REFUSED;
static const int CLOUDNOTIFY_PUBLISH_VETOED;
static const int CLOUDNOTIFY_PUBLISH_TRANSIENT;

typedef int... cloudnotify_registration_change;
static const int CLOUDNOTIFY_REGISTRATION_ADDED;
static const int CLOUDNOTIFY_REGISTRATION_REPLACED;

typedef int... cloudnotify_option;
static const int CLOUDNOTIFY_OPT_WITH_BODY;
static const int CLOUDNOTIFY_OPT_WITH_SENDER;
static const int CLOUDNOTIFY_OPT_IMPORTANT_BODY;
static const int CLOUDNOTIFY_OPT_MAX_ERRORS;
static const int CLOUDNOTIFY_OPT_MAX_DEVICES;
static const int CLOUDNOTIFY_OPT_MAX_HIBERNATION_TIMEOUT;
static const int CLOUDNOTIFY_OPT_MAX_ACK_DELAY;
static const int CLOUDNOTIFY_OPT_COALESCE_MS;
static const int CLOUDNOTIFY_OPT_MAX_OUTSTANDING;
static const int CLOUDNOTIFY_OPT_PUBLISH_TIMEOUT;
static const int CLOUDNOTIFY_OPT_MAX_CACHED_USERS;
static const int CLOUDNOTIFY_OPT_MAX_STANZA_SIZE;
static const int CLOUDNOTIFY_OPT_MAX_XML_DEPTH;
static const int CLOUDNOTIFY_OPT_MAX_FORM_SIZE;
static const int CLOUDNOTIFY_OPT_MAX_FORM_FIELDS;
static const int CLOUDNOTIFY_OPT_MAX_REMEMBERED_STANZAS;
static const int CLOUDNOTIFY_OPT_MAX_SESSION_QUEUE;
static const int CLOUDNOTIFY_OPT_WAKE_BEFORE_EXPIRY;
static const int CLOUDNOTIFY_OPT_ID_PREFIX;
static const int CLOUDNOTIFY_OPT_LOG_LEVEL;
static const int CLOUDNOTIFY_OPT_PUBLISH_FROM_BARE;
static const int CLOUDNOTIFY_OPT_STORE;
static const int CLOUDNOTIFY_OPT_QUIET;
static const int CLOUDNOTIFY_OPT_CALL_MAX_AGE;
static const int CLOUDNOTIFY_OPT_GRACE_PERIOD;
static const int CLOUDNOTIFY_OPT_VISIBLE_INTERVAL_MS;
static const int CLOUDNOTIFY_OPT_SILENT_PER_HOUR;
static const int CLOUDNOTIFY_OPT_TRANSIENT_ERRORS;
static const int CLOUDNOTIFY_OPT_BACKOFF;
static const int CLOUDNOTIFY_OPT_REGISTRATION_TTL;
static const int CLOUDNOTIFY_OPT_CLEAR_ON_FETCH;
static const int CLOUDNOTIFY_OPT_TIGASE_EXTENSIONS;

typedef int... cloudnotify_counter;
static const int CLOUDNOTIFY_COUNTER_PUBLISHES_SENT;
static const int CLOUDNOTIFY_COUNTER_PUBLISHES_VETOED;
static const int CLOUDNOTIFY_COUNTER_PUBLISHES_REFUSED;
static const int CLOUDNOTIFY_COUNTER_PUBLISHES_DEDUPLICATED;
static const int CLOUDNOTIFY_COUNTER_PUBLISHES_EXPIRED;
static const int CLOUDNOTIFY_COUNTER_PUBLISHES_DROPPED;
static const int CLOUDNOTIFY_COUNTER_PUBLISHES_FORGOTTEN;
static const int CLOUDNOTIFY_COUNTER_REPLIES_OK;
static const int CLOUDNOTIFY_COUNTER_REPLIES_ERROR;
static const int CLOUDNOTIFY_COUNTER_REPLIES_WAIT;
static const int CLOUDNOTIFY_COUNTER_REPLIES_FOREIGN;
static const int CLOUDNOTIFY_COUNTER_REPLIES_NOT_MINE;
static const int CLOUDNOTIFY_COUNTER_ENABLES;
static const int CLOUDNOTIFY_COUNTER_DISABLES;
static const int CLOUDNOTIFY_COUNTER_STORE_FAILURES;
static const int CLOUDNOTIFY_COUNTER_CACHE_HITS;
static const int CLOUDNOTIFY_COUNTER_CACHE_MISSES;
static const int CLOUDNOTIFY_COUNTER_INPUTS_REJECTED;
static const int CLOUDNOTIFY_COUNTER_STORE_RECORDS_REJECTED;
static const int CLOUDNOTIFY_COUNTER_LOG_MESSAGES;
static const int CLOUDNOTIFY_COUNTER_SUPPRESSED_QUIET;
static const int CLOUDNOTIFY_COUNTER_SUPPRESSED_GRACE;
static const int CLOUDNOTIFY_COUNTER_SUPPRESSED_RATE;
static const int CLOUDNOTIFY_COUNTER_SUPPRESSED_FILTER;
static const int CLOUDNOTIFY_COUNTER_SUPPRESSED_BACKOFF;
static const int CLOUDNOTIFY_COUNTER_CALLS_PUSHED;
static const int CLOUDNOTIFY_COUNTER_CALLS_STALE;
static const int CLOUDNOTIFY_COUNTER_REPLIES_TRANSIENT;
static const int CLOUDNOTIFY_COUNTER_PUBLISHES_ENCRYPTED;
static const int CLOUDNOTIFY_COUNTER_REMOVED_DISABLED;
static const int CLOUDNOTIFY_COUNTER_REMOVED_ERRORS;
static const int CLOUDNOTIFY_COUNTER_REMOVED_EVICTED;
static const int CLOUDNOTIFY_COUNTER_REMOVED_ACCOUNT;
static const int CLOUDNOTIFY_COUNTER_REMOVED_REMOTE;
static const int CLOUDNOTIFY_COUNTER_REMOVED_EXPIRED;
static const int CLOUDNOTIFY_COUNTER_REMOVED_CLIENT_REPLACED;
static const int CLOUDNOTIFY_GAUGE_OUTSTANDING;
static const int CLOUDNOTIFY_GAUGE_CACHED_ACCOUNTS;
static const int CLOUDNOTIFY_GAUGE_SESSIONS;

typedef int... cloudnotify_op_kind;
static const int CLOUDNOTIFY_OP_LOAD;
static const int CLOUDNOTIFY_OP_SAVE;
static const int CLOUDNOTIFY_OP_REMOVE;
static const int CLOUDNOTIFY_OP_REGISTRATION_FILTER;
static const int CLOUDNOTIFY_OP_NOTIFICATION_FILTER;

/* ---- structs: every field named here is checked against the header;
 * "..." lets the header have more (fields appended by later versions). */
typedef struct cloudnotify_publish_report {
  size_t size;
  const char *account;
  const char *jid;
  const char *node;
  const char *id;
  cloudnotify_publish_outcome outcome;
  const char *error_type;
  const char *error_condition;
  unsigned consecutive_errors;
  ...;
} cloudnotify_publish_report;

typedef struct cloudnotify_callbacks {
  size_t size;
  int (*send)(void *user_data, cloudnotify_route route, cloudnotify_session *session,
              const char *account, const char *to, const char *xml, size_t len);
  int64_t (*now_ms)(void *user_data);
  void (*timer_changed)(void *user_data, int64_t timeout_ms);
  void (*hibernation_timeout)(void *user_data, cloudnotify_session *session, int64_t seconds);
  void (*registration_removed)(void *user_data, const char *account, const char *jid,
                               const char *node, cloudnotify_removal_reason reason);
  void (*log)(void *user_data, cloudnotify_log_level level, const char *message);
  int (*registration_filter)(void *user_data, cloudnotify_session *session, const char *account,
                             const char *jid, const char *node, const char **error_type,
                             const char **error_condition);
  int (*notification_filter)(void *user_data, cloudnotify_push *push);
  int (*send_stanza)(void *user_data, const cloudnotify_stanza *stanza);
  int64_t (*monotonic_ms)(void *user_data);
  void (*publish_outcome)(void *user_data, const cloudnotify_publish_report *report);
  void (*registration_added)(void *user_data, cloudnotify_session *session, const char *account,
                             const char *jid, const char *node,
                             cloudnotify_registration_change change);
  void (*registration_removed2)(void *user_data, const char *account, const char *jid,
                                const char *node, cloudnotify_removal_reason reason,
                                const char *error_type, const char *error_condition);
  void (*log2)(void *user_data, cloudnotify_log_level level, const char *id, const char *message);
  int (*sender_known)(void *user_data, const char *account, const char *sender);
  ...;
} cloudnotify_callbacks;

typedef struct cloudnotify_record {
  const char *jid;
  const char *node;
  const char *publish_options;
  size_t publish_options_len;
  int64_t enabled_at_ms;
  unsigned errors;
  const char *client_id;
  ...;
} cloudnotify_record;

typedef struct cloudnotify_store {
  size_t size;
  int (*load)(void *store_data, const char *account, cloudnotify_loader *loader);
  int (*save)(void *store_data, const char *account, const cloudnotify_record *record);
  int (*remove)(void *store_data, const char *account, const char *jid, const char *node);
  void (*destroy)(void *store_data);
  int (*set_errors)(void *store_data, const char *account, const char *jid, const char *node,
                    unsigned errors);
  ...;
} cloudnotify_store;

typedef struct cloudnotify_reply {
  size_t size;
  const char *id;
  const char *from;
  const char *type;
  const char *error_type;
  const char *error_condition;
  ...;
} cloudnotify_reply;

/* ---- context, options, store ---- */
int cloudnotify_ctx_new(cloudnotify_ctx **out, const cloudnotify_callbacks *callbacks,
                        void *user_data);
void cloudnotify_ctx_free(cloudnotify_ctx *ctx);
int cloudnotify_ctx_set_option_int(cloudnotify_ctx *ctx, cloudnotify_option option, int64_t value);
int cloudnotify_ctx_set_option_string(cloudnotify_ctx *ctx, cloudnotify_option option,
                                      const char *value);
int cloudnotify_ctx_set_option(cloudnotify_ctx *ctx, const char *name, const char *value);
int cloudnotify_ctx_set_store(cloudnotify_ctx *ctx, const cloudnotify_store *store,
                              void *store_data);
int cloudnotify_loader_add(cloudnotify_loader *loader, const cloudnotify_record *record);
int cloudnotify_ctx_disco_features(const cloudnotify_ctx *ctx, const char **features, size_t max);

/* ---- sessions ---- */
int cloudnotify_session_new(cloudnotify_ctx *ctx, const char *account, const char *resource,
                            cloudnotify_session **out);
void cloudnotify_session_free(cloudnotify_session *session);
void cloudnotify_session_set_user_data(cloudnotify_session *session, void *user_data);
void *cloudnotify_session_get_user_data(const cloudnotify_session *session);
const char *cloudnotify_session_account(const cloudnotify_session *session);
const char *cloudnotify_session_resource(const cloudnotify_session *session);
int cloudnotify_session_sm_enabled(cloudnotify_session *session);
int cloudnotify_session_hibernated(cloudnotify_session *session, const cloudnotify_buf *queue,
                                   size_t n);
int cloudnotify_session_queued(cloudnotify_session *session, const char *xml, size_t len);
int cloudnotify_session_ack_requested(cloudnotify_session *session);
int cloudnotify_session_acked(cloudnotify_session *session, uint32_t h);
int cloudnotify_session_ack_delayed(cloudnotify_session *session, const cloudnotify_buf *queue,
                                    size_t n);
int cloudnotify_session_resumed(cloudnotify_session *session);
int cloudnotify_session_has_push(const cloudnotify_session *session);
int cloudnotify_session_set_client_id(cloudnotify_session *session, const char *id);
const char *cloudnotify_session_client_id(const cloudnotify_session *session);
int cloudnotify_session_active(cloudnotify_session *session);

/* ---- client IQs, app-server replies and messages ---- */
int cloudnotify_handle_client_iq(cloudnotify_session *session, const char *xml, size_t len);
int cloudnotify_handle_app_reply(cloudnotify_ctx *ctx, const char *xml, size_t len);
int cloudnotify_is_outstanding_id(const cloudnotify_ctx *ctx, const char *id);
int cloudnotify_handle_app_reply_fields(cloudnotify_ctx *ctx, const cloudnotify_reply *reply);
int cloudnotify_handle_app_message(cloudnotify_ctx *ctx, const char *account, const char *xml,
                                   size_t len);

/* ---- triggers ---- */
int cloudnotify_message_offline(cloudnotify_ctx *ctx, const char *account, const char *xml,
                                size_t len, unsigned *pushes);
int cloudnotify_message_archived(cloudnotify_ctx *ctx, const char *account, const char *xml,
                                 size_t len, const char *archive_id, unsigned *pushes);
int cloudnotify_message_groupchat_bare(cloudnotify_ctx *ctx, const char *account,
                                       const char *xml, size_t len, unsigned *pushes);
int cloudnotify_message_delivered(cloudnotify_ctx *ctx, const char *account, const char *xml,
                                  size_t len, unsigned *pushes);
int cloudnotify_account_has_push(cloudnotify_ctx *ctx, const char *account);
int cloudnotify_ping(cloudnotify_ctx *ctx, const char *account,
                     const cloudnotify_endpoint *endpoints, size_t n, unsigned *pushes);
int cloudnotify_offline_fetched(cloudnotify_ctx *ctx, const char *account, unsigned *pushes);

/* ---- administration ---- */
typedef int (*cloudnotify_registration_fn)(void *user_data, const char *account,
                                           const cloudnotify_record *record);
int cloudnotify_account_registrations(cloudnotify_ctx *ctx, const char *account,
                                      cloudnotify_registration_fn callback, void *user_data);
int cloudnotify_account_remove_all(cloudnotify_ctx *ctx, const char *account, unsigned *removed);
int cloudnotify_account_forget(cloudnotify_ctx *ctx, const char *account);

/* ---- time, counters ---- */
int64_t cloudnotify_next_timeout(const cloudnotify_ctx *ctx);
int cloudnotify_tick(cloudnotify_ctx *ctx);
int cloudnotify_ctx_get_counter(const cloudnotify_ctx *ctx, cloudnotify_counter which,
                                uint64_t *out);

/* ---- the notification filter's push ---- */
const char *cloudnotify_push_account(const cloudnotify_push *push);
const char *cloudnotify_push_jid(const cloudnotify_push *push);
const char *cloudnotify_push_node(const cloudnotify_push *push);
const char *cloudnotify_push_sender(const cloudnotify_push *push);
const char *cloudnotify_push_body(const cloudnotify_push *push);
int cloudnotify_push_is_important(const cloudnotify_push *push);
int cloudnotify_push_is_urgent(const cloudnotify_push *push);
cloudnotify_session *cloudnotify_push_session(const cloudnotify_push *push);
const char *cloudnotify_push_client_id(const cloudnotify_push *push);
const char *cloudnotify_push_stanza_type(const cloudnotify_push *push);
const char *cloudnotify_push_stanza_id(const cloudnotify_push *push);
int cloudnotify_push_add_field(cloudnotify_push *push, const char *var, const char *value);
int cloudnotify_push_set_extra(cloudnotify_push *push, const char *xml, size_t len);
int cloudnotify_push_set_body(cloudnotify_push *push, const char *text);
int cloudnotify_push_set_sender(cloudnotify_push *push, const char *jid);
int cloudnotify_push_is_call(const cloudnotify_push *push);
const char *cloudnotify_push_call_id(const cloudnotify_push *push);
unsigned cloudnotify_push_message_count(const cloudnotify_push *push);
int cloudnotify_push_set_message_count(cloudnotify_push *push, unsigned count);

/* ---- answers that come later ---- */
cloudnotify_op *cloudnotify_ctx_current_op(cloudnotify_ctx *ctx);
cloudnotify_op_kind cloudnotify_op_get_kind(const cloudnotify_op *op);
cloudnotify_push *cloudnotify_op_push(cloudnotify_op *op);
int cloudnotify_op_complete(cloudnotify_op *op, int result);
int cloudnotify_op_veto(cloudnotify_op *op, const char *error_type, const char *error_condition);
void cloudnotify_op_free(cloudnotify_op *op);

/* ---- the SQLite store ---- */
typedef int (*cloudnotify_record_cb)(void *data, const char *account,
                                     const cloudnotify_record *record);
int cloudnotify_sqlite_open(const char *path, unsigned flags, cloudnotify_sqlite **out);
void cloudnotify_sqlite_close(cloudnotify_sqlite *db);
const char *cloudnotify_sqlite_errmsg(const cloudnotify_sqlite *db);
int cloudnotify_sqlite_set_busy_timeout(cloudnotify_sqlite *db, int ms);
const cloudnotify_store *cloudnotify_sqlite_store(void);
int cloudnotify_ctx_set_sqlite_store(cloudnotify_ctx *ctx, cloudnotify_sqlite *db);
int cloudnotify_sqlite_foreach(cloudnotify_sqlite *db, const char *account,
                               cloudnotify_record_cb cb, void *data);
int cloudnotify_sqlite_schema_version(const cloudnotify_sqlite *db);

/* ---- the trampolines: the library calls these, they call Python ---- */
extern "Python" {
  int _cb_send(void *, cloudnotify_route, cloudnotify_session *, const char *, const char *,
               const char *, size_t);
  int64_t _cb_now_ms(void *);
  int64_t _cb_monotonic_ms(void *);
  void _cb_timer_changed(void *, int64_t);
  void _cb_hibernation_timeout(void *, cloudnotify_session *, int64_t);
  void _cb_registration_removed2(void *, const char *, const char *, const char *,
                                 cloudnotify_removal_reason, const char *, const char *);
  void _cb_log2(void *, cloudnotify_log_level, const char *, const char *);
  int _cb_registration_filter(void *, cloudnotify_session *, const char *, const char *,
                              const char *, const char **, const char **);
  int _cb_notification_filter(void *, cloudnotify_push *);
  void _cb_publish_outcome(void *, const cloudnotify_publish_report *);
  void _cb_registration_added(void *, cloudnotify_session *, const char *, const char *,
                              const char *, cloudnotify_registration_change);
  int _cb_sender_known(void *, const char *, const char *);
  int _cb_store_load(void *, const char *, cloudnotify_loader *);
  int _cb_store_save(void *, const char *, const cloudnotify_record *);
  int _cb_store_remove(void *, const char *, const char *, const char *);
  int _cb_store_set_errors(void *, const char *, const char *, const char *, unsigned);
  int _cb_collect_record(void *, const char *, const cloudnotify_record *);
}
"""

SOURCE = r"""
#include <cloudnotify/cloudnotify.h>
"""


def make_ffi():
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.set_source("cloudnotify._cloudnotify", SOURCE)
    return ffi


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: cloudnotify_build.py OUTPUT.c")
    make_ffi().emit_c_code(sys.argv[1])
