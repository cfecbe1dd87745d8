/* The context: callbacks, options, store selection, time, and the
 * guards that keep callbacks from re-entering. */
#include "ctx.h"

#include <limits.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "host.h"
#include "jid.h"
#include "outstanding.h"
#include "pending.h"
#include "registry.h"
#include "seen.h"
#include "stanza-errors.h"
#include "session.h"
#include "store-memory.h"
#include "store-sqlite.h"

/* The first released layouts (0.2): every later header only appends, so
 * any size from these up to ours names a prefix of our fields. */
#define CALLBACKS_SIZE_0_1                                                                         \
  (offsetof(cloudnotify_callbacks, notification_filter) + sizeof(void (*)(void)))
#define STORE_SIZE_0_1 (offsetof(cloudnotify_store, destroy) + sizeof(void (*)(void)))

/* libxkbcommon's rule: an older size is a prefix and the missing fields
 * are NULL; a newer size is accepted only when every field this library
 * does not know is zero, because a set field there is a request this
 * library would silently ignore.  Every field is a pointer or a size, so
 * a size between fields is a corrupt struct. */
gboolean cn_struct_size_ok(const void *vt, size_t size, size_t min, size_t ours) {
  if (size < min || size % sizeof(void *) != 0)
    return FALSE;
  for (size_t i = ours; i < size; i++)
    if (((const unsigned char *)vt)[i])
      return FALSE;
  return TRUE;
}

static void options_defaults(cn_options *o) {
  o->with_body = FALSE;
  o->with_sender = FALSE;
  o->important_body = g_strdup("New Message!");
  o->max_errors = 16;
  o->max_devices = 5;
  o->max_hibernation_timeout = 72 * 3600;
  o->max_ack_delay = 30;
  o->coalesce_ms = 1000;
  o->max_outstanding = 10000;
  o->publish_timeout = 300;
  o->max_cached_users = 10000;
  o->max_stanza_size = 256 * 1024;
  o->max_xml_depth = 64;
  o->max_form_size = 8192;
  o->max_form_fields = 64;
  o->max_remembered = 4096;
  o->max_session_queue = 1000;
  o->wake_before_expiry = 0;
  o->id_prefix = NULL;
  o->log_level = CLOUDNOTIFY_LOG_DEBUG;
  o->publish_from_bare = FALSE;
  o->quiet = TRUE;
  o->call_max_age = 60;
  o->grace_period = 0;
  o->visible_interval_ms = 3000;
  o->silent_per_hour = 3;
  cn_error_condition_set(CN_DEFAULT_TRANSIENT_ERRORS, &o->transient_errors);
  o->backoff = 30;
  o->registration_ttl = 0;
  o->clear_on_fetch = FALSE;
  o->tigase_extensions = TRUE;
}

int cloudnotify_ctx_new(cloudnotify_ctx **out, const cloudnotify_callbacks *callbacks,
                        void *user_data) {
  if (!out)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  *out = NULL;
  if (callbacks && !cn_struct_size_ok(callbacks, callbacks->size, CALLBACKS_SIZE_0_1,
                                      sizeof(cloudnotify_callbacks)))
    return CLOUDNOTIFY_ERR_VTABLE_SIZE;

  cloudnotify_ctx *ctx = g_new0(cloudnotify_ctx, 1);
  if (callbacks)
    memcpy(&ctx->cb, callbacks, MIN(callbacks->size, sizeof ctx->cb));
  ctx->cb.size = sizeof ctx->cb;
  ctx->user_data = user_data;
  options_defaults(&ctx->opt);
  ctx->store = *cn_store_memory_vtable();
  ctx->store_data = cn_store_memory_new();
  ctx->users = g_hash_table_new(g_str_hash, g_str_equal);
  g_queue_init(&ctx->user_lru);
  ctx->parser = cn_xml_parser_new();
  ctx->reported_deadline = INT64_MAX;
  cn_timers_init(&ctx->timers);
  cn_outstanding_init(ctx);
  cn_seen_init(ctx);
  cn_pending_init(ctx);
  *out = ctx;
  return 0;
}

void cloudnotify_ctx_free(cloudnotify_ctx *ctx) {
  if (!ctx)
    return;
  if (ctx->in_callback || ctx->destroying) {
    /* The call that is running the callback would return into freed
     * memory; the function returns nothing, so the refusal is logged. */
    g_critical("cloudnotify_ctx_free called from a callback; ignored");
    return;
  }
  /* No callback runs while the context is being destroyed. */
  ctx->destroying = TRUE;
  /* Parked work refers to sessions and users: it goes first, and every
   * op still held by the host answers GONE from now on. */
  cn_pending_fini(ctx);
  /* Freeing sessions first releases their pins on cached users. */
  while (ctx->sessions)
    cloudnotify_session_free(ctx->sessions->data);
  cn_outstanding_fini(ctx);
  cn_users_clear(ctx);
  cn_seen_clear(ctx);
  cn_timers_clear(&ctx->timers);
  g_hash_table_destroy(ctx->users);
  if (ctx->store.destroy)
    ctx->store.destroy(ctx->store_data);
  cn_xml_parser_free(ctx->parser);
  g_free(ctx->opt.important_body);
  g_free(ctx->opt.id_prefix);
  cn_diag_fini(ctx);
  g_free(ctx);
}

/* ---- options --------------------------------------------------------- */

typedef struct {
  const char *name;
  cloudnotify_option opt;
  int kind; /* 0 bool, 1 int, 2 string, 3 log level (int, or its name), 4 store (string),
             * 5 set of error conditions (string) */
  int64_t min, max;
  size_t offset;
} option_desc;

#define OPT(n, o, k, lo, hi, field)                                                                \
  { n, o, k, lo, hi, offsetof(cn_options, field) }
static const option_desc option_table[] = {
  OPT("push_notification_with_body", CLOUDNOTIFY_OPT_WITH_BODY, 0, 0, 1, with_body),
  OPT("push_notification_with_sender", CLOUDNOTIFY_OPT_WITH_SENDER, 0, 0, 1, with_sender),
  OPT("push_notification_important_body", CLOUDNOTIFY_OPT_IMPORTANT_BODY, 2, 0, 0, important_body),
  OPT("push_max_errors", CLOUDNOTIFY_OPT_MAX_ERRORS, 1, 1, 1000000, max_errors),
  OPT("push_max_devices", CLOUDNOTIFY_OPT_MAX_DEVICES, 1, 1, 1000, max_devices),
  OPT("push_max_hibernation_timeout", CLOUDNOTIFY_OPT_MAX_HIBERNATION_TIMEOUT, 1, 0, 31536000,
      max_hibernation_timeout),
  OPT("smacks_max_ack_delay", CLOUDNOTIFY_OPT_MAX_ACK_DELAY, 1, 1, 86400, max_ack_delay),
  OPT("push_coalesce_ms", CLOUDNOTIFY_OPT_COALESCE_MS, 1, 0, 60000, coalesce_ms),
  OPT("push_max_outstanding", CLOUDNOTIFY_OPT_MAX_OUTSTANDING, 1, 1, 10000000, max_outstanding),
  OPT("push_publish_timeout", CLOUDNOTIFY_OPT_PUBLISH_TIMEOUT, 1, 1, 86400, publish_timeout),
  OPT("push_max_cached_users", CLOUDNOTIFY_OPT_MAX_CACHED_USERS, 1, 1, 10000000, max_cached_users),
  OPT("push_max_stanza_size", CLOUDNOTIFY_OPT_MAX_STANZA_SIZE, 1, 256, 10000000, max_stanza_size),
  OPT("push_max_xml_depth", CLOUDNOTIFY_OPT_MAX_XML_DEPTH, 1, 4, 256, max_xml_depth),
  OPT("push_max_form_size", CLOUDNOTIFY_OPT_MAX_FORM_SIZE, 1, 64, 1048576, max_form_size),
  OPT("push_max_form_fields", CLOUDNOTIFY_OPT_MAX_FORM_FIELDS, 1, 1, 10000, max_form_fields),
  OPT("push_max_remembered_stanzas", CLOUDNOTIFY_OPT_MAX_REMEMBERED_STANZAS, 1, 0, 10000000,
      max_remembered),
  OPT("push_max_session_queue", CLOUDNOTIFY_OPT_MAX_SESSION_QUEUE, 1, 1, 100000, max_session_queue),
  OPT("push_wake_before_expiry", CLOUDNOTIFY_OPT_WAKE_BEFORE_EXPIRY, 1, 0, 86400,
      wake_before_expiry),
  OPT("push_id_prefix", CLOUDNOTIFY_OPT_ID_PREFIX, 2, 0, 0, id_prefix),
  OPT("push_log_level", CLOUDNOTIFY_OPT_LOG_LEVEL, 3, CLOUDNOTIFY_LOG_DEBUG,
      CLOUDNOTIFY_LOG_ERROR + 1, log_level),
  OPT("push_publish_from_bare", CLOUDNOTIFY_OPT_PUBLISH_FROM_BARE, 0, 0, 1, publish_from_bare),
  /* 0.3: kept in no field; cn_store_option switches the store at once. */
  { "push_store", CLOUDNOTIFY_OPT_STORE, 4, 0, 0, 0 },
  /* 0.3: what phones need */
  OPT("push_quiet", CLOUDNOTIFY_OPT_QUIET, 0, 0, 1, quiet),
  OPT("push_call_max_age", CLOUDNOTIFY_OPT_CALL_MAX_AGE, 1, 0, 86400, call_max_age),
  OPT("push_grace_period", CLOUDNOTIFY_OPT_GRACE_PERIOD, 1, 0, 86400, grace_period),
  OPT("push_visible_interval", CLOUDNOTIFY_OPT_VISIBLE_INTERVAL_MS, 1, 0, 3600000,
      visible_interval_ms),
  OPT("push_silent_per_hour", CLOUDNOTIFY_OPT_SILENT_PER_HOUR, 1, 0, 100000, silent_per_hour),
  OPT("push_transient_errors", CLOUDNOTIFY_OPT_TRANSIENT_ERRORS, 5, 0, 0, transient_errors),
  OPT("push_backoff", CLOUDNOTIFY_OPT_BACKOFF, 1, 0, 86400, backoff),
  OPT("push_registration_ttl", CLOUDNOTIFY_OPT_REGISTRATION_TTL, 1, 0, 3650, registration_ttl),
  OPT("push_clear_on_fetch", CLOUDNOTIFY_OPT_CLEAR_ON_FETCH, 0, 0, 1, clear_on_fetch),
  OPT("push_tigase_extensions", CLOUDNOTIFY_OPT_TIGASE_EXTENSIONS, 0, 0, 1, tigase_extensions),
};

static const option_desc *find_option(cloudnotify_option opt) {
  for (size_t i = 0; i < G_N_ELEMENTS(option_table); i++)
    if (option_table[i].opt == opt)
      return &option_table[i];
  return NULL;
}

static int set_int(cloudnotify_ctx *ctx, const option_desc *d, int64_t value) {
  if (d->kind == 2 || d->kind == 4 || d->kind == 5 || value < d->min || value > d->max)
    return CLOUDNOTIFY_ERR_OPTION_VALUE;
  char *field = (char *)&ctx->opt + d->offset;
  if (d->kind == 0)
    *(gboolean *)field = value != 0;
  else
    *(int64_t *)field = value;
  /* A smaller bound takes effect at once, not at the next insertion. */
  cn_users_trim(ctx);
  cn_outstanding_rearm(ctx);
  return 0;
}

/* The prefix goes unescaped into every publish id: a small set of
 * characters that no XML attribute, id scheme or log line trips over. */
static gboolean id_prefix_ok(const char *value) {
  size_t n = 0;
  for (const char *c = value; *c; c++, n++)
    if (!g_ascii_isalnum(*c) && !strchr("-_.:", *c))
      return FALSE;
  return n <= CLOUDNOTIFY_ID_PREFIX_MAX;
}

static int set_string(cloudnotify_ctx *ctx, const option_desc *d, const char *value) {
  if (d->kind == 4)
    return cn_store_option(ctx, value);
  if (d->kind == 5)
    return cn_error_condition_set(value, (uint32_t *)((char *)&ctx->opt + d->offset));
  if (d->kind != 2 || !cn_text_is_xml_safe(value))
    return CLOUDNOTIFY_ERR_OPTION_VALUE;
  if (d->opt == CLOUDNOTIFY_OPT_ID_PREFIX && !id_prefix_ok(value))
    return CLOUDNOTIFY_ERR_OPTION_VALUE;
  char **field = (char **)((char *)&ctx->opt + d->offset);
  g_free(*field);
  /* "" is "none" for every string option (the reference treats an empty
   * important body as "off"). */
  *field = *value ? g_strdup(value) : NULL;
  return 0;
}

int cloudnotify_ctx_set_option_int(cloudnotify_ctx *ctx, cloudnotify_option option, int64_t value) {
  if (!ctx)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  const option_desc *d = find_option(option);
  return cn_leave(ctx, d ? set_int(ctx, d, value) : CLOUDNOTIFY_ERR_UNKNOWN_OPTION);
}

int cloudnotify_ctx_set_option_string(cloudnotify_ctx *ctx, cloudnotify_option option,
                                      const char *value) {
  if (!ctx || !value)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  const option_desc *d = find_option(option);
  return cn_leave(ctx, d ? set_string(ctx, d, value) : CLOUDNOTIFY_ERR_UNKNOWN_OPTION);
}

static int parse_value(const option_desc *d, const char *text, int64_t *out) {
  if (d->kind == 3) {
    static const char *const levels[] = { "debug", "info", "warn", "error", "none" };
    for (size_t i = 0; i < G_N_ELEMENTS(levels); i++) {
      if (!g_ascii_strcasecmp(text, levels[i])) {
        *out = (int64_t)i;
        return 0;
      }
    }
  }
  if (d->kind == 0) {
    if (!g_ascii_strcasecmp(text, "true") || !strcmp(text, "1")) {
      *out = 1;
      return 0;
    }
    if (!g_ascii_strcasecmp(text, "false") || !strcmp(text, "0")) {
      *out = 0;
      return 0;
    }
    return CLOUDNOTIFY_ERR_OPTION_VALUE;
  }
  char *end = NULL;
  gint64 v;
  if (!g_ascii_string_to_signed(text, 10, INT64_MIN, INT64_MAX, &v, NULL))
    return CLOUDNOTIFY_ERR_OPTION_VALUE;
  (void)end;
  *out = v;
  return 0;
}

int cloudnotify_ctx_set_option(cloudnotify_ctx *ctx, const char *name, const char *value) {
  if (!ctx || !name || !value)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  const option_desc *d = NULL;
  for (size_t i = 0; i < G_N_ELEMENTS(option_table); i++)
    if (!strcmp(option_table[i].name, name))
      d = &option_table[i];
  if (!d)
    return cn_leave(ctx, CLOUDNOTIFY_ERR_UNKNOWN_OPTION);
  if (d->kind == 2 || d->kind == 4 || d->kind == 5)
    return cn_leave(ctx, set_string(ctx, d, value));
  int64_t v;
  int rc = parse_value(d, value, &v);
  return cn_leave(ctx, rc ? rc : set_int(ctx, d, v));
}

/* ---- store ----------------------------------------------------------- */

int cloudnotify_ctx_set_store(cloudnotify_ctx *ctx, const cloudnotify_store *store,
                              void *store_data) {
  if (!ctx)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  if (store) {
    if (!cn_struct_size_ok(store, store->size, STORE_SIZE_0_1, sizeof(cloudnotify_store)))
      return cn_leave(ctx, CLOUDNOTIFY_ERR_VTABLE_SIZE);
    if (!store->load || !store->save || !store->remove)
      return cn_leave(ctx, CLOUDNOTIFY_ERR_INVALID_ARGUMENT);
  }
  /* Sessions hold registrations loaded from the old store; swapping under
   * them would bind sessions to registrations the new store never had. */
  if (ctx->sessions || cn_pending_any(ctx))
    return cn_leave(ctx, CLOUDNOTIFY_ERR_STATE);
  cn_outstanding_clear(ctx);
  cn_users_clear(ctx);
  if (ctx->store.destroy)
    ctx->store.destroy(ctx->store_data);
  if (store) {
    memset(&ctx->store, 0, sizeof ctx->store);
    memcpy(&ctx->store, store, MIN(store->size, sizeof ctx->store));
    ctx->store_data = store_data;
  } else {
    ctx->store = *cn_store_memory_vtable();
    ctx->store_data = cn_store_memory_new();
  }
  return cn_leave(ctx, 0);
}

int cn_store_save(cloudnotify_ctx *ctx, const char *account, const cn_reg *r) {
  cloudnotify_record rec = cn_reg_record(r);
  cn_ask_begin(ctx, CLOUDNOTIFY_OP_SAVE);
  int rc = ctx->store.save(ctx->store_data, account, &rec);
  if (cn_ask_end(ctx, &rc))
    return CN_WAIT;
  return cn_store_checked(ctx, "saving", account, rc);
}

/* Every store answer, given at once or completed later, ends here, so the
 * failure counter and the log see each answer once. */
int cn_store_checked(cloudnotify_ctx *ctx, const char *what, const char *account, int rc) {
  if (rc < 0) {
    CN_COUNT(ctx, CN_C_STORE_FAILURES);
    const char *id = what[0] == 's'   ? CLOUDNOTIFY_LOG_ID_STORE_SAVE_FAILED
                     : what[0] == 'l' ? CLOUDNOTIFY_LOG_ID_STORE_LOAD_FAILED
                                      : CLOUDNOTIFY_LOG_ID_STORE_REMOVE_FAILED;
    cn_log_id(ctx, CLOUDNOTIFY_LOG_ERROR, id, "storage: %s a registration of %s failed (%d)", what,
              account, rc);
  }
  return rc < 0 ? CLOUDNOTIFY_ERR_STORE : 0;
}

int cn_store_remove(cloudnotify_ctx *ctx, const char *account, const char *jid, const char *node) {
  cn_ask_begin(ctx, CLOUDNOTIFY_OP_REMOVE);
  int rc = ctx->store.remove(ctx->store_data, account, jid, node);
  if (cn_ask_end(ctx, &rc))
    return CN_WAIT;
  return cn_store_checked(ctx, "removing", account, rc);
}

/* CN_WAIT when the host answers later (the op owns the loader then);
 * otherwise the raw answer: the caller reports it through
 * cn_store_checked once it has taken the records. */
int cn_store_load(cloudnotify_ctx *ctx, const char *account, cloudnotify_loader *loader) {
  cn_ask_begin(ctx, CLOUDNOTIFY_OP_LOAD);
  cn_ask_set_loader(ctx, loader);
  int rc = ctx->store.load(ctx->store_data, account, loader);
  if (cn_ask_end(ctx, &rc))
    return CN_WAIT;
  return rc < 0 ? rc : 0;
}

/* ---- callbacks ------------------------------------------------------- */

int64_t cn_now(cloudnotify_ctx *ctx) {
  if (ctx->cb.now_ms) {
    ctx->in_callback++;
    int64_t t = ctx->cb.now_ms(ctx->user_data);
    ctx->in_callback--;
    return t;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deadlines must not move when an administrator or NTP sets the wall
 * clock: an hour's step back would hold every push for an hour. */
int64_t cn_mono(cloudnotify_ctx *ctx) {
  if (ctx->cb.monotonic_ms) {
    ctx->in_callback++;
    int64_t t = ctx->cb.monotonic_ms(ctx->user_data);
    ctx->in_callback--;
    return t;
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The threshold is checked before anything is formatted: a busy server
 * that discards debug lines must not pay for building them. */
static void log_v(cloudnotify_ctx *ctx, cloudnotify_log_level level, const char *id,
                  const char *fmt, va_list ap) G_GNUC_PRINTF(4, 0);
static void log_v(cloudnotify_ctx *ctx, cloudnotify_log_level level, const char *id,
                  const char *fmt, va_list ap) {
  if ((int64_t)level < ctx->opt.log_level || (!ctx->cb.log && !ctx->cb.log2))
    return;
  char *msg = g_strdup_vprintf(fmt, ap);
  CN_COUNT(ctx, CN_C_LOG_MESSAGES);
  ctx->in_callback++;
  if (ctx->cb.log2)
    ctx->cb.log2(ctx->user_data, level, id, msg);
  else
    ctx->cb.log(ctx->user_data, level, msg);
  ctx->in_callback--;
  g_free(msg);
}

void cn_log_id(cloudnotify_ctx *ctx, cloudnotify_log_level level, const char *id, const char *fmt,
               ...) {
  va_list ap;
  va_start(ap, fmt);
  log_v(ctx, level, id, fmt, ap);
  va_end(ap);
}

void cn_log(cloudnotify_ctx *ctx, cloudnotify_log_level level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_v(ctx, level, CLOUDNOTIFY_LOG_ID_OTHER, fmt, ap);
  va_end(ap);
}

int cn_send(cloudnotify_ctx *ctx, cloudnotify_route route, cloudnotify_session *s,
            const char *account, const char *to, const GString *xml) {
  if (!ctx->cb.send)
    return CLOUDNOTIFY_ERR_SEND;
  /* Freed from a callback during this call: nobody is left to read it. */
  if (s && s->dead)
    return 0;
  ctx->in_callback++;
  int rc = ctx->cb.send(ctx->user_data, route, s, account, to, xml->str, xml->len);
  ctx->in_callback--;
  return rc < 0 ? CLOUDNOTIFY_ERR_SEND : 0;
}

void cn_cb_removed(cloudnotify_ctx *ctx, const char *account, const cn_reg *r,
                   cloudnotify_removal_reason reason) {
  if (reason > 0 && reason <= CN_C_REMOVED_LAST - CN_C_REMOVED)
    CN_COUNT(ctx, CN_C_REMOVED + reason);
  if (ctx->cb.registration_removed2) {
    gboolean errors = reason == CLOUDNOTIFY_REMOVED_ERRORS;
    ctx->in_callback++;
    ctx->cb.registration_removed2(ctx->user_data, account, r->jid, r->node, reason,
                                  errors ? r->last_error_type : NULL,
                                  errors ? r->last_error_condition : NULL);
    ctx->in_callback--;
    return;
  }
  if (!ctx->cb.registration_removed)
    return;
  ctx->in_callback++;
  ctx->cb.registration_removed(ctx->user_data, account, r->jid, r->node, reason);
  ctx->in_callback--;
}

int cn_cb_registration_filter(cloudnotify_ctx *ctx, cloudnotify_session *s, const char *jid,
                              const char *node, const char **error_type,
                              const char **error_condition) {
  if (!ctx->cb.registration_filter)
    return 0;
  cn_ask_begin(ctx, CLOUDNOTIFY_OP_REGISTRATION_FILTER);
  int veto = ctx->cb.registration_filter(ctx->user_data, s, s->account, jid, node, error_type,
                                         error_condition);
  if (cn_ask_end(ctx, &veto))
    return CN_WAIT;
  return veto;
}

int cn_cb_notification_filter(cloudnotify_ctx *ctx, cloudnotify_push *push) {
  if (!ctx->cb.notification_filter)
    return 0;
  cn_ask_begin(ctx, CLOUDNOTIFY_OP_NOTIFICATION_FILTER);
  cn_ask_set_push(ctx, push);
  int veto = ctx->cb.notification_filter(ctx->user_data, push);
  if (cn_ask_end(ctx, &veto))
    return CN_WAIT;
  return veto;
}

void cn_cb_registration_added(cloudnotify_ctx *ctx, cloudnotify_session *s, const cn_reg *r,
                              gboolean replaced) {
  CN_COUNT(ctx, CN_C_ENABLES);
  if (!ctx->cb.registration_added)
    return;
  ctx->in_callback++;
  ctx->cb.registration_added(ctx->user_data, s, r->user->account, r->jid, r->node,
                             replaced ? CLOUDNOTIFY_REGISTRATION_REPLACED
                                      : CLOUDNOTIFY_REGISTRATION_ADDED);
  ctx->in_callback--;
}

void cn_report_publish(cloudnotify_ctx *ctx, const char *account, const char *jid, const char *node,
                       const char *id, cloudnotify_publish_outcome outcome, const char *error_type,
                       const char *error_condition, unsigned consecutive_errors) {
  cn_report_publish_text(ctx, account, jid, node, id, outcome, error_type, error_condition, NULL,
                         consecutive_errors);
}

void cn_report_publish_text(cloudnotify_ctx *ctx, const char *account, const char *jid,
                            const char *node, const char *id, cloudnotify_publish_outcome outcome,
                            const char *error_type, const char *error_condition,
                            const char *error_text, unsigned consecutive_errors) {
  static const cn_counter counter[] = {
    [CLOUDNOTIFY_PUBLISH_OK] = CN_C_REPLIES_OK,
    [CLOUDNOTIFY_PUBLISH_ERROR] = CN_C_REPLIES_ERROR,
    [CLOUDNOTIFY_PUBLISH_WAIT] = CN_C_REPLIES_WAIT,
    [CLOUDNOTIFY_PUBLISH_EXPIRED] = CN_C_PUBLISHES_EXPIRED,
    [CLOUDNOTIFY_PUBLISH_DROPPED] = CN_C_PUBLISHES_DROPPED,
    [CLOUDNOTIFY_PUBLISH_FORGOTTEN] = CN_C_PUBLISHES_FORGOTTEN,
    [CLOUDNOTIFY_PUBLISH_REFUSED] = CN_C_PUBLISHES_REFUSED,
    [CLOUDNOTIFY_PUBLISH_VETOED] = CN_C_PUBLISHES_VETOED,
    [CLOUDNOTIFY_PUBLISH_TRANSIENT] = CN_C_REPLIES_TRANSIENT,
  };
  CN_COUNT(ctx, counter[outcome]);
  if (ctx->destroying)
    return;
  /* Kept for the diagnosis whether or not the host listens. */
  unsigned flags = cn_diag_outcome(ctx, account, jid, node, id, outcome, error_type,
                                   error_condition, error_text);
  if (!ctx->cb.publish_outcome)
    return;
  char *text = cn_diag_bound_text(error_text);
  cloudnotify_publish_report rep = {
    .size = sizeof rep,
    .account = account,
    .jid = jid,
    .node = node,
    .id = id,
    .outcome = outcome,
    .error_type = error_type,
    .error_condition = error_condition,
    .consecutive_errors = consecutive_errors,
    .error_text = text,
    .flags = flags,
  };
  ctx->in_callback++;
  ctx->cb.publish_outcome(ctx->user_data, &rep);
  ctx->in_callback--;
  g_free(text);
}

void cn_cb_hibernation_timeout(cloudnotify_ctx *ctx, cloudnotify_session *s, int64_t seconds) {
  if (!ctx->cb.hibernation_timeout || s->dead)
    return;
  ctx->in_callback++;
  ctx->cb.hibernation_timeout(ctx->user_data, s, seconds);
  ctx->in_callback--;
}

int cn_leave(cloudnotify_ctx *ctx, int rc) {
  if (rc == CLOUDNOTIFY_ERR_XML || rc == CLOUDNOTIFY_ERR_TOO_LARGE ||
      rc == CLOUDNOTIFY_ERR_JID_MALFORMED)
    CN_COUNT(ctx, CN_C_INPUTS_REJECTED);
  if (--ctx->depth > 0 || ctx->destroying)
    return rc;
  cn_sessions_reap(ctx);
  int64_t deadline = cn_timers_next_deadline(&ctx->timers);
  if (deadline == ctx->reported_deadline)
    return rc;
  ctx->reported_deadline = deadline;
  if (!ctx->cb.timer_changed)
    return rc;
  int64_t timeout = -1;
  if (deadline != INT64_MAX) {
    int64_t now = cn_mono(ctx);
    timeout = deadline > now ? deadline - now : 0;
  }
  ctx->in_callback++;
  ctx->cb.timer_changed(ctx->user_data, timeout);
  ctx->in_callback--;
  /* A session freed by timer_changed (or the clock) is not left waiting
   * for the next call; its timers are already cancelled, so the deadline
   * just reported stands. */
  cn_sessions_reap(ctx);
  return rc;
}

/* ---- time ------------------------------------------------------------ */

int64_t cloudnotify_next_timeout(const cloudnotify_ctx *ctx) {
  if (!ctx)
    return -1;
  int64_t deadline = cn_timers_next_deadline(&ctx->timers);
  if (deadline == INT64_MAX)
    return -1;
  int64_t now = cn_mono((cloudnotify_ctx *)ctx);
  return deadline > now ? deadline - now : 0;
}

int cloudnotify_tick(cloudnotify_ctx *ctx) {
  if (!ctx)
    return CLOUDNOTIFY_ERR_INVALID_ARGUMENT;
  CN_ENTER(ctx);
  cn_timers_run(&ctx->timers, cn_mono(ctx), ctx);
  /* The host is about to re-arm from what timer_changed says; make sure
   * it hears about the next deadline even if it equals the last one. */
  ctx->reported_deadline = INT64_MIN;
  return cn_leave(ctx, 0);
}

/* ---- helpers --------------------------------------------------------- */

char *cn_account_normalize(const char *account) {
  if (!account)
    return NULL;
  cn_jid j;
  if (cn_jid_parse(account, strlen(account), &j) != 0)
    return NULL;
  char *bare = NULL;
  if (j.node && !j.resource)
    bare = g_steal_pointer(&j.bare);
  cn_jid_clear(&j);
  return bare;
}

int cn_parse(cloudnotify_ctx *ctx, const char *xml, size_t len, xmlDoc **out) {
  return cn_xml_parse(ctx->parser, xml, len, (size_t)ctx->opt.max_stanza_size,
                      (int)ctx->opt.max_xml_depth, out);
}
