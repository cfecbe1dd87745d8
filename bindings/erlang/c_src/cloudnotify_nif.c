/*
 * Erlang NIF over libcloudnotify's public API.
 *
 * A NIF cannot call back into Erlang, so every output callback of the
 * library (stanzas to send, timer changes, hibernation timeouts, removals,
 * publish outcomes, log lines) is turned into a term while the library
 * runs and the whole list is returned from the NIF call that caused it:
 * every state-changing function returns {Result, Actions}, Result being 0
 * or a negative cloudnotify_error and Actions in the order the library
 * produced them.  The Erlang side carries them out.
 *
 * Lifetime: a context and each session are NIF resources.  A session
 * resource holds a reference on its context resource, so the library
 * context outlives every session handle whatever order the garbage
 * collector picks; destructors run on any scheduler thread, hence the
 * mutex per context, which every call and destructor takes.
 *
 * The library's questions that need an answer during a call cannot be
 * put to Erlang either.  sender_known (is the sender in the account's
 * roster?) is answered from a cache the host fills before each trigger
 * with senders_known/3: the host knows the stanza's sender and reads its
 * roster in the hook's own process, the owner hands the answer over just
 * before the call that may ask, and a push decided later (a coalesced
 * push on tick) finds it still there.  A question the cache cannot answer
 * gets "cannot tell", which the library counts as known: the push goes
 * out rather than a wanted one being lost.
 */
#include <cloudnotify/cloudnotify.h>
#include <erl_nif.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

typedef struct cn_ctx {
  ErlNifMutex *lock;
  cloudnotify_ctx *ctx;
  /* Set only while a NIF call runs the library with the lock held:
   * callbacks build their action terms in this env.  NULL in destructors,
   * whose side effects (a timer that may fire early) are harmless to drop. */
  ErlNifEnv *env;
  ERL_NIF_TERM actions; /* reversed */
  /* sender_known answers: "account\nsender" -> 1 known, 0 unknown.  At
   * most KNOWN_MAX entries: when full it is emptied (a miss counts as
   * known, and the next trigger for a sender refills its entry). */
  GHashTable *known;
} cn_ctx;

#define KNOWN_MAX 65536

typedef struct cn_sess {
  cn_ctx *owner;
  cloudnotify_session *sess;
  /* The host's name for the session (an integer), carried in the actions
   * that concern it: the resource itself may not be reachable from the
   * callback's env. */
  ErlNifSInt64 tag;
} cn_sess;

static ErlNifResourceType *ctx_type;
static ErlNifResourceType *sess_type;

#define G_N_ELEMENTS_NIF(a) (sizeof(a) / sizeof((a)[0]))

static ERL_NIF_TERM atom_ok, atom_error, atom_undefined, atom_send, atom_client, atom_app,
    atom_timer, atom_hibernation_timeout, atom_removed, atom_added, atom_outcome, atom_log;

static ERL_NIF_TERM mk_str(ErlNifEnv *env, const char *s) {
  if (s == NULL)
    return atom_undefined;
  size_t n = strlen(s);
  ERL_NIF_TERM t;
  unsigned char *p = enif_make_new_binary(env, n, &t);
  memcpy(p, s, n);
  return t;
}

static ERL_NIF_TERM mk_bin(ErlNifEnv *env, const char *s, size_t n) {
  ERL_NIF_TERM t;
  unsigned char *p = enif_make_new_binary(env, n, &t);
  if (n)
    memcpy(p, s, n);
  return t;
}

static void push_action(cn_ctx *c, ERL_NIF_TERM t) {
  if (c->env)
    c->actions = enif_make_list_cell(c->env, t, c->actions);
}

static ERL_NIF_TERM session_tag(ErlNifEnv *env, cloudnotify_session *s) {
  cn_sess *h = s ? cloudnotify_session_get_user_data(s) : NULL;
  return h ? enif_make_int64(env, h->tag) : atom_undefined;
}

/* ---- callbacks: each becomes an action term --------------------------- */

static int cb_send(void *ud, cloudnotify_route route, cloudnotify_session *session,
                   const char *account, const char *to, const char *xml, size_t len) {
  cn_ctx *c = ud;
  if (!c->env)
    return -1;
  ErlNifEnv *env = c->env;
  ERL_NIF_TERM who =
      route == CLOUDNOTIFY_ROUTE_CLIENT ? session_tag(env, session) : mk_str(env, account);
  push_action(c, enif_make_tuple5(env, atom_send,
                                  route == CLOUDNOTIFY_ROUTE_CLIENT ? atom_client : atom_app, who,
                                  mk_str(env, to), mk_bin(env, xml, len)));
  return 0;
}

static void cb_timer(void *ud, int64_t ms) {
  cn_ctx *c = ud;
  if (c->env)
    push_action(c, enif_make_tuple2(c->env, atom_timer, enif_make_int64(c->env, ms)));
}

static void cb_hibernation(void *ud, cloudnotify_session *s, int64_t seconds) {
  cn_ctx *c = ud;
  if (c->env)
    push_action(c, enif_make_tuple3(c->env, atom_hibernation_timeout, session_tag(c->env, s),
                                    enif_make_int64(c->env, seconds)));
}

static const char *reason_name(cloudnotify_removal_reason r) {
  switch (r) {
  case CLOUDNOTIFY_REMOVED_DISABLED: return "disabled";
  case CLOUDNOTIFY_REMOVED_ERRORS: return "errors";
  case CLOUDNOTIFY_REMOVED_EVICTED: return "evicted";
  case CLOUDNOTIFY_REMOVED_ACCOUNT: return "account";
  case CLOUDNOTIFY_REMOVED_REMOTE: return "remote";
  case CLOUDNOTIFY_REMOVED_EXPIRED: return "expired";
  case CLOUDNOTIFY_REMOVED_CLIENT_REPLACED: return "client_replaced";
  }
  return "other";
}

static void cb_removed2(void *ud, const char *account, const char *jid, const char *node,
                        cloudnotify_removal_reason reason, const char *etype, const char *econd) {
  cn_ctx *c = ud;
  if (!c->env)
    return;
  ErlNifEnv *env = c->env;
  ERL_NIF_TERM t[] = { atom_removed,
                       mk_str(env, account),
                       mk_str(env, jid),
                       mk_str(env, node),
                       enif_make_atom(env, reason_name(reason)),
                       mk_str(env, etype),
                       mk_str(env, econd) };
  push_action(c, enif_make_tuple_from_array(env, t, 7));
}

static void cb_added(void *ud, cloudnotify_session *s, const char *account, const char *jid,
                     const char *node, cloudnotify_registration_change change) {
  cn_ctx *c = ud;
  if (!c->env)
    return;
  ErlNifEnv *env = c->env;
  ERL_NIF_TERM t[] = { atom_added,
                       session_tag(env, s),
                       mk_str(env, account),
                       mk_str(env, jid),
                       mk_str(env, node),
                       enif_make_atom(env, change == CLOUDNOTIFY_REGISTRATION_ADDED ? "added"
                                                                                    : "replaced") };
  push_action(c, enif_make_tuple_from_array(env, t, 6));
}

static const char *outcome_name(cloudnotify_publish_outcome o) {
  static const char *names[] = { "other",   "ok",        "error",   "wait",   "expired",
                                 "dropped", "forgotten", "refused", "vetoed", "transient" };
  return (unsigned)o < sizeof names / sizeof names[0] ? names[o] : "other";
}

static void cb_outcome(void *ud, const cloudnotify_publish_report *r) {
  cn_ctx *c = ud;
  if (!c->env)
    return;
  ErlNifEnv *env = c->env;
  ERL_NIF_TERM t[] = { atom_outcome,
                       mk_str(env, r->account),
                       mk_str(env, r->jid),
                       mk_str(env, r->node),
                       mk_str(env, r->id),
                       enif_make_atom(env, outcome_name(r->outcome)),
                       mk_str(env, r->error_type),
                       mk_str(env, r->error_condition),
                       enif_make_uint(env, r->consecutive_errors) };
  push_action(c, enif_make_tuple_from_array(env, t, 9));
}

static void cb_log2(void *ud, cloudnotify_log_level level, const char *id, const char *msg) {
  cn_ctx *c = ud;
  if (!c->env)
    return;
  static const char *levels[] = { "debug", "info", "warning", "error" };
  const char *l = (unsigned)level < 4 ? levels[level] : "info";
  push_action(c, enif_make_tuple4(c->env, atom_log, enif_make_atom(c->env, l), mk_str(c->env, id),
                                  mk_str(c->env, msg)));
}

static char *known_key(const char *account, const char *sender) {
  return g_strconcat(account, "\n", sender, NULL);
}

/* Answered from the cache (see the top of this file); -1 is "cannot
 * tell", which the library counts as known. */
static int cb_sender_known(void *ud, const char *account, const char *sender) {
  cn_ctx *c = ud;
  if (!c->known || !account || !sender)
    return -1;
  char *k = known_key(account, sender);
  gpointer v;
  int found = g_hash_table_lookup_extended(c->known, k, NULL, &v);
  g_free(k);
  return found ? GPOINTER_TO_INT(v) : -1;
}

/* ---- resources ---------------------------------------------------------- */

static void ctx_dtor(ErlNifEnv *env, void *obj) {
  cn_ctx *c = obj;
  /* Every session resource holds a reference on this one, so no session
   * handle of the context is alive any more. */
  cloudnotify_ctx_free(c->ctx);
  c->ctx = NULL;
  if (c->known)
    g_hash_table_destroy(c->known);
  c->known = NULL;
  if (c->lock)
    enif_mutex_destroy(c->lock);
}

static void sess_dtor(ErlNifEnv *env, void *obj) {
  cn_sess *s = obj;
  if (!s->owner)
    return;
  enif_mutex_lock(s->owner->lock);
  if (s->sess) {
    /* env stays NULL: actions of a collected session are dropped (only
     * timer re-arming, and an early tick is harmless). */
    cloudnotify_session_free(s->sess);
    s->sess = NULL;
  }
  enif_mutex_unlock(s->owner->lock);
  enif_release_resource(s->owner);
  s->owner = NULL;
}

/* ---- argument helpers --------------------------------------------------- */

/* A binary or iolist argument as a NUL-terminated copy in env's memory. */
static int get_cstr(ErlNifEnv *env, ERL_NIF_TERM t, char **out) {
  ErlNifBinary b;
  if (!enif_inspect_iolist_as_binary(env, t, &b))
    return 0;
  if (memchr(b.data, 0, b.size))
    return 0;
  ERL_NIF_TERM tmp;
  char *p = (char *)enif_make_new_binary(env, b.size + 1, &tmp);
  memcpy(p, b.data, b.size);
  p[b.size] = 0;
  *out = p;
  return 1;
}

static int get_bin(ErlNifEnv *env, ERL_NIF_TERM t, ErlNifBinary *b) {
  return enif_inspect_iolist_as_binary(env, t, b);
}

static int get_ctx(ErlNifEnv *env, ERL_NIF_TERM t, cn_ctx **c) {
  return enif_get_resource(env, t, ctx_type, (void **)c) && (*c)->ctx != NULL;
}

static int get_sess(ErlNifEnv *env, ERL_NIF_TERM t, cn_sess **s) {
  return enif_get_resource(env, t, sess_type, (void **)s) && (*s)->owner != NULL;
}

static void begin(cn_ctx *c, ErlNifEnv *env) {
  enif_mutex_lock(c->lock);
  c->env = env;
  c->actions = enif_make_list(env, 0);
}

/* {Result, Actions} with the actions in the order they happened. */
static ERL_NIF_TERM finish(cn_ctx *c, ErlNifEnv *env, ERL_NIF_TERM result) {
  ERL_NIF_TERM list;
  enif_make_reverse_list(env, c->actions, &list);
  c->env = NULL;
  enif_mutex_unlock(c->lock);
  return enif_make_tuple2(env, result, list);
}

/* ---- context ------------------------------------------------------------- */

/* new() -> {ok, Ctx} */
static ERL_NIF_TERM nif_ctx_new(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c = enif_alloc_resource(ctx_type, sizeof *c);
  memset(c, 0, sizeof *c);
  c->lock = enif_mutex_create("cloudnotify_ctx");
  cloudnotify_callbacks cb = {
    .size = sizeof cb,
    .send = cb_send,
    .timer_changed = cb_timer,
    .hibernation_timeout = cb_hibernation,
    .publish_outcome = cb_outcome,
    .registration_added = cb_added,
    .registration_removed2 = cb_removed2,
    .log2 = cb_log2,
    .sender_known = cb_sender_known,
  };
  c->known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  int rc = cloudnotify_ctx_new(&c->ctx, &cb, c);
  if (rc != 0 || !c->lock) {
    enif_release_resource(c);
    return enif_make_tuple2(env, atom_error, enif_make_int(env, rc));
  }
  ERL_NIF_TERM t = enif_make_resource(env, c);
  enif_release_resource(c); /* the term owns it now */
  return enif_make_tuple2(env, atom_ok, t);
}

/* set_option(Ctx, Name, Value) -> {Rc, Actions} */
static ERL_NIF_TERM nif_set_option(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c;
  char *name, *value;
  if (!get_ctx(env, argv[0], &c) || !get_cstr(env, argv[1], &name) ||
      !get_cstr(env, argv[2], &value))
    return enif_make_badarg(env);
  begin(c, env);
  int rc = cloudnotify_ctx_set_option(c->ctx, name, value);
  return finish(c, env, enif_make_int(env, rc));
}

/* tick(Ctx) -> {Rc, Actions} */
static ERL_NIF_TERM nif_tick(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c;
  if (!get_ctx(env, argv[0], &c))
    return enif_make_badarg(env);
  begin(c, env);
  int rc = cloudnotify_tick(c->ctx);
  return finish(c, env, enif_make_int(env, rc));
}

/* handle_app_reply(Ctx, Xml) -> {Rc, Actions} */
static ERL_NIF_TERM nif_app_reply(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c;
  ErlNifBinary b;
  if (!get_ctx(env, argv[0], &c) || !get_bin(env, argv[1], &b))
    return enif_make_badarg(env);
  begin(c, env);
  int rc = cloudnotify_handle_app_reply(c->ctx, (const char *)b.data, b.size);
  return finish(c, env, enif_make_int(env, rc));
}

/* is_outstanding_id(Ctx, Id) -> boolean() */
static ERL_NIF_TERM nif_is_outstanding(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c;
  char *id;
  if (!get_ctx(env, argv[0], &c) || !get_cstr(env, argv[1], &id))
    return enif_make_badarg(env);
  enif_mutex_lock(c->lock);
  int r = cloudnotify_is_outstanding_id(c->ctx, id);
  enif_mutex_unlock(c->lock);
  return enif_make_atom(env, r ? "true" : "false");
}

enum trigger { T_OFFLINE, T_ARCHIVED, T_GROUPCHAT, T_DELIVERED, T_APP_MESSAGE };

/* message_offline(Ctx, Account, Xml), message_groupchat_bare(Ctx, Account,
 * Xml), message_delivered(Ctx, Account, Xml), handle_app_message(Ctx,
 * Account, Xml), message_archived(Ctx, Account, Xml, ArchiveId | undefined)
 *   -> {Rc, Actions} */
static ERL_NIF_TERM trigger(ErlNifEnv *env, const ERL_NIF_TERM argv[], enum trigger kind) {
  cn_ctx *c;
  char *account, *archive_id = NULL;
  ErlNifBinary b;
  if (!get_ctx(env, argv[0], &c) || !get_cstr(env, argv[1], &account) || !get_bin(env, argv[2], &b))
    return enif_make_badarg(env);
  if (kind == T_ARCHIVED && enif_compare(argv[3], atom_undefined) != 0 &&
      !get_cstr(env, argv[3], &archive_id))
    return enif_make_badarg(env);
  begin(c, env);
  int rc;
  const char *xml = (const char *)b.data;
  switch (kind) {
  case T_OFFLINE: rc = cloudnotify_message_offline(c->ctx, account, xml, b.size, NULL); break;
  case T_ARCHIVED:
    rc = cloudnotify_message_archived(c->ctx, account, xml, b.size, archive_id, NULL);
    break;
  case T_DELIVERED: rc = cloudnotify_message_delivered(c->ctx, account, xml, b.size, NULL); break;
  case T_APP_MESSAGE: rc = cloudnotify_handle_app_message(c->ctx, account, xml, b.size); break;
  default: rc = cloudnotify_message_groupchat_bare(c->ctx, account, xml, b.size, NULL); break;
  }
  return finish(c, env, enif_make_int(env, rc));
}

static ERL_NIF_TERM nif_offline(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  return trigger(env, argv, T_OFFLINE);
}
static ERL_NIF_TERM nif_archived(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  return trigger(env, argv, T_ARCHIVED);
}
static ERL_NIF_TERM nif_groupchat(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  return trigger(env, argv, T_GROUPCHAT);
}
static ERL_NIF_TERM nif_delivered(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  return trigger(env, argv, T_DELIVERED);
}
static ERL_NIF_TERM nif_app_message(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  return trigger(env, argv, T_APP_MESSAGE);
}

/* offline_fetched(Ctx, Account) -> {Rc, Actions} */
static ERL_NIF_TERM nif_offline_fetched(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c;
  char *account;
  if (!get_ctx(env, argv[0], &c) || !get_cstr(env, argv[1], &account))
    return enif_make_badarg(env);
  begin(c, env);
  int rc = cloudnotify_offline_fetched(c->ctx, account, NULL);
  return finish(c, env, enif_make_int(env, rc));
}

/* disco_features(Ctx) -> [binary()] */
static ERL_NIF_TERM nif_disco_features(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c;
  if (!get_ctx(env, argv[0], &c))
    return enif_make_badarg(env);
  enif_mutex_lock(c->lock);
  int n = cloudnotify_ctx_disco_features(c->ctx, NULL, 0);
  const char **f = n > 0 ? g_new0(const char *, n) : NULL;
  if (n > 0)
    n = cloudnotify_ctx_disco_features(c->ctx, f, (size_t)n);
  enif_mutex_unlock(c->lock);
  ERL_NIF_TERM list = enif_make_list(env, 0);
  for (int i = n - 1; i >= 0; i--)
    list = enif_make_list_cell(env, mk_str(env, f[i]), list);
  g_free(f);
  return list;
}

/* senders_known(Ctx, Account, [{Sender, boolean()}]) -> ok: the answers
 * sender_known will give for account (see the top of this file).  Account
 * and Sender are bare JIDs as the library normalises them (lower case). */
static ERL_NIF_TERM nif_senders_known(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c;
  char *account;
  unsigned len;
  if (!get_ctx(env, argv[0], &c) || !get_cstr(env, argv[1], &account) ||
      !enif_get_list_length(env, argv[2], &len))
    return enif_make_badarg(env);
  /* Validate every element before touching the cache: a badarg leaves it
   * as it was. */
  ERL_NIF_TERM head, tail = argv[2];
  while (enif_get_list_cell(env, tail, &head, &tail)) {
    const ERL_NIF_TERM *el;
    int arity;
    char *sender, atom[8];
    if (!enif_get_tuple(env, head, &arity, &el) || arity != 2 || !get_cstr(env, el[0], &sender) ||
        !enif_get_atom(env, el[1], atom, sizeof atom, ERL_NIF_LATIN1) ||
        (strcmp(atom, "true") != 0 && strcmp(atom, "false") != 0))
      return enif_make_badarg(env);
  }
  enif_mutex_lock(c->lock);
  if (g_hash_table_size(c->known) + len > KNOWN_MAX)
    g_hash_table_remove_all(c->known);
  tail = argv[2];
  while (enif_get_list_cell(env, tail, &head, &tail)) {
    const ERL_NIF_TERM *el;
    int arity;
    char *sender, atom[8];
    enif_get_tuple(env, head, &arity, &el);
    get_cstr(env, el[0], &sender);
    enif_get_atom(env, el[1], atom, sizeof atom, ERL_NIF_LATIN1);
    g_hash_table_insert(c->known, known_key(account, sender),
                        GINT_TO_POINTER(strcmp(atom, "true") == 0));
  }
  enif_mutex_unlock(c->lock);
  return atom_ok;
}

/* account_remove_all(Ctx, Account) -> {Rc, Actions} */
static ERL_NIF_TERM nif_remove_all(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c;
  char *account;
  if (!get_ctx(env, argv[0], &c) || !get_cstr(env, argv[1], &account))
    return enif_make_badarg(env);
  begin(c, env);
  int rc = cloudnotify_account_remove_all(c->ctx, account, NULL);
  return finish(c, env, enif_make_int(env, rc));
}

/* account_has_push(Ctx, Account) -> {Rc, Actions}: Rc 1, 0 or an error */
static ERL_NIF_TERM nif_has_push(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c;
  char *account;
  if (!get_ctx(env, argv[0], &c) || !get_cstr(env, argv[1], &account))
    return enif_make_badarg(env);
  begin(c, env);
  int rc = cloudnotify_account_has_push(c->ctx, account);
  return finish(c, env, enif_make_int(env, rc));
}

/* counter_nif(Ctx, Which) -> {ok, N} | {error, Rc} (counter/2 maps names) */
static ERL_NIF_TERM nif_counter(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c;
  int which;
  if (!get_ctx(env, argv[0], &c) || !enif_get_int(env, argv[1], &which))
    return enif_make_badarg(env);
  uint64_t v = 0;
  enif_mutex_lock(c->lock);
  int rc = cloudnotify_ctx_get_counter(c->ctx, (cloudnotify_counter)which, &v);
  enif_mutex_unlock(c->lock);
  if (rc != 0)
    return enif_make_tuple2(env, atom_error, enif_make_int(env, rc));
  return enif_make_tuple2(env, atom_ok, enif_make_uint64(env, v));
}

/* ---- sessions ------------------------------------------------------------ */

/* session_new(Ctx, Account, Resource, Tag) -> {ok, Sess} | {error, Rc} */
static ERL_NIF_TERM nif_session_new(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c;
  char *account, *resource;
  ErlNifSInt64 tag;
  if (!get_ctx(env, argv[0], &c) || !get_cstr(env, argv[1], &account) ||
      !get_cstr(env, argv[2], &resource) || !enif_get_int64(env, argv[3], &tag))
    return enif_make_badarg(env);
  cn_sess *s = enif_alloc_resource(sess_type, sizeof *s);
  memset(s, 0, sizeof *s);
  enif_mutex_lock(c->lock);
  int rc = cloudnotify_session_new(c->ctx, account, resource, &s->sess);
  if (rc == 0) {
    cloudnotify_session_set_user_data(s->sess, s);
    s->tag = tag;
    s->owner = c;
    enif_keep_resource(c);
  }
  enif_mutex_unlock(c->lock);
  if (rc != 0) {
    enif_release_resource(s);
    return enif_make_tuple2(env, atom_error, enif_make_int(env, rc));
  }
  ERL_NIF_TERM t = enif_make_resource(env, s);
  enif_release_resource(s);
  return enif_make_tuple2(env, atom_ok, t);
}

/* The session calls share one shape: lock the owner, refuse a freed
 * session with CLOUDNOTIFY_ERR_INVALID_ARGUMENT (the handle outlives the
 * library session after session_free), run, return {Rc, Actions}. */
#define SESSION_CALL(env, argv, s, c, body)                                                        \
  do {                                                                                             \
    c = s->owner;                                                                                  \
    begin(c, env);                                                                                 \
    int rc_ = CLOUDNOTIFY_ERR_INVALID_ARGUMENT;                                                    \
    if (s->sess)                                                                                   \
      rc_ = (body);                                                                                \
    return finish(c, env, enif_make_int(env, rc_));                                                \
  } while (0)

/* session_free(Sess) -> {0, Actions} (a second call is a no-op) */
static ERL_NIF_TERM nif_session_free(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_sess *s;
  if (!get_sess(env, argv[0], &s))
    return enif_make_badarg(env);
  cn_ctx *c = s->owner;
  begin(c, env);
  if (s->sess)
    cloudnotify_session_free(s->sess);
  s->sess = NULL;
  return finish(c, env, enif_make_int(env, 0));
}

/* session_retag(Sess, Tag) -> ok: the host's name for it changed (the c2s
 * process of a resumed session). */
static ERL_NIF_TERM nif_session_retag(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_sess *s;
  ErlNifSInt64 tag;
  if (!get_sess(env, argv[0], &s) || !enif_get_int64(env, argv[1], &tag))
    return enif_make_badarg(env);
  enif_mutex_lock(s->owner->lock);
  s->tag = tag;
  enif_mutex_unlock(s->owner->lock);
  return atom_ok;
}

static ERL_NIF_TERM nif_sm_enabled(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_sess *s;
  cn_ctx *c;
  if (!get_sess(env, argv[0], &s))
    return enif_make_badarg(env);
  SESSION_CALL(env, argv, s, c, cloudnotify_session_sm_enabled(s->sess));
}

static ERL_NIF_TERM nif_resumed(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_sess *s;
  cn_ctx *c;
  if (!get_sess(env, argv[0], &s))
    return enif_make_badarg(env);
  SESSION_CALL(env, argv, s, c, cloudnotify_session_resumed(s->sess));
}

static ERL_NIF_TERM nif_session_active(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_sess *s;
  cn_ctx *c;
  if (!get_sess(env, argv[0], &s))
    return enif_make_badarg(env);
  SESSION_CALL(env, argv, s, c, cloudnotify_session_active(s->sess));
}

/* session_set_client_id(Sess, Id | undefined) -> {Rc, Actions} */
static ERL_NIF_TERM nif_set_client_id(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_sess *s;
  cn_ctx *c;
  char *id = NULL;
  if (!get_sess(env, argv[0], &s) ||
      (enif_compare(argv[1], atom_undefined) != 0 && !get_cstr(env, argv[1], &id)))
    return enif_make_badarg(env);
  SESSION_CALL(env, argv, s, c, cloudnotify_session_set_client_id(s->sess, id));
}

static ERL_NIF_TERM nif_ack_requested(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_sess *s;
  cn_ctx *c;
  if (!get_sess(env, argv[0], &s))
    return enif_make_badarg(env);
  SESSION_CALL(env, argv, s, c, cloudnotify_session_ack_requested(s->sess));
}

static ERL_NIF_TERM nif_acked(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_sess *s;
  cn_ctx *c;
  unsigned h;
  if (!get_sess(env, argv[0], &s) || !enif_get_uint(env, argv[1], &h))
    return enif_make_badarg(env);
  SESSION_CALL(env, argv, s, c, cloudnotify_session_acked(s->sess, h));
}

static ERL_NIF_TERM nif_queued(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_sess *s;
  cn_ctx *c;
  ErlNifBinary b;
  if (!get_sess(env, argv[0], &s) || !get_bin(env, argv[1], &b))
    return enif_make_badarg(env);
  SESSION_CALL(env, argv, s, c, cloudnotify_session_queued(s->sess, (const char *)b.data, b.size));
}

static ERL_NIF_TERM nif_client_iq(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_sess *s;
  cn_ctx *c;
  ErlNifBinary b;
  if (!get_sess(env, argv[0], &s) || !get_bin(env, argv[1], &b))
    return enif_make_badarg(env);
  SESSION_CALL(env, argv, s, c,
               cloudnotify_handle_client_iq(s->sess, (const char *)b.data, b.size));
}

/* A list of binaries (a session's queue) as cloudnotify_buf[], in env's
 * memory; the binaries stay referenced by argv for the call. */
static int get_queue(ErlNifEnv *env, ERL_NIF_TERM list, cloudnotify_buf **out, size_t *n) {
  unsigned len;
  if (!enif_get_list_length(env, list, &len))
    return 0;
  ERL_NIF_TERM tmp;
  cloudnotify_buf *q =
      (cloudnotify_buf *)enif_make_new_binary(env, (len ? len : 1) * sizeof *q, &tmp);
  ERL_NIF_TERM head, tail = list;
  for (unsigned i = 0; i < len; i++) {
    ErlNifBinary b;
    if (!enif_get_list_cell(env, tail, &head, &tail) || !get_bin(env, head, &b))
      return 0;
    q[i].data = (const char *)b.data;
    q[i].len = b.size;
  }
  *out = q;
  *n = len;
  return 1;
}

static ERL_NIF_TERM nif_hibernated(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_sess *s;
  cn_ctx *c;
  cloudnotify_buf *q;
  size_t n;
  if (!get_sess(env, argv[0], &s) || !get_queue(env, argv[1], &q, &n))
    return enif_make_badarg(env);
  SESSION_CALL(env, argv, s, c, cloudnotify_session_hibernated(s->sess, q, n));
}

static ERL_NIF_TERM nif_ack_delayed(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_sess *s;
  cn_ctx *c;
  cloudnotify_buf *q;
  size_t n;
  if (!get_sess(env, argv[0], &s) || !get_queue(env, argv[1], &q, &n))
    return enif_make_badarg(env);
  SESSION_CALL(env, argv, s, c, cloudnotify_session_ack_delayed(s->sess, q, n));
}

static ERL_NIF_TERM nif_has_session_push(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_sess *s;
  if (!get_sess(env, argv[0], &s))
    return enif_make_badarg(env);
  enif_mutex_lock(s->owner->lock);
  int r = s->sess ? cloudnotify_session_has_push(s->sess) : 0;
  enif_mutex_unlock(s->owner->lock);
  return enif_make_atom(env, r ? "true" : "false");
}

/* ---- pure functions ------------------------------------------------------ */

static ERL_NIF_TERM nif_strerror(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  int e;
  if (!enif_get_int(env, argv[0], &e))
    return enif_make_badarg(env);
  return mk_str(env, cloudnotify_strerror(e));
}

static ERL_NIF_TERM nif_version(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  return mk_str(env, cloudnotify_version_string());
}

static int load(ErlNifEnv *env, void **priv, ERL_NIF_TERM info) {
  ErlNifResourceFlags fl = ERL_NIF_RT_CREATE | ERL_NIF_RT_TAKEOVER;
  ctx_type = enif_open_resource_type(env, NULL, "cloudnotify_ctx", ctx_dtor, fl, NULL);
  sess_type = enif_open_resource_type(env, NULL, "cloudnotify_session", sess_dtor, fl, NULL);
  if (!ctx_type || !sess_type)
    return 1;
  atom_ok = enif_make_atom(env, "ok");
  atom_error = enif_make_atom(env, "error");
  atom_undefined = enif_make_atom(env, "undefined");
  atom_send = enif_make_atom(env, "send");
  atom_client = enif_make_atom(env, "client");
  atom_app = enif_make_atom(env, "app");
  atom_timer = enif_make_atom(env, "timer");
  atom_hibernation_timeout = enif_make_atom(env, "hibernation_timeout");
  atom_removed = enif_make_atom(env, "removed");
  atom_added = enif_make_atom(env, "added");
  atom_outcome = enif_make_atom(env, "outcome");
  atom_log = enif_make_atom(env, "log");
  return 0;
}

static int upgrade(ErlNifEnv *env, void **priv, void **old, ERL_NIF_TERM info) {
  return load(env, priv, info);
}

/* ---- diagnosis (after 0.3) ------------------------------------------------ */

typedef struct diag_list {
  ErlNifEnv *env;
  ERL_NIF_TERM list;
} diag_list;

static int diag_row(void *ud, const char *account, const cloudnotify_diag_registration *r) {
  (void)account;
  diag_list *d = ud;
  ErlNifEnv *env = d->env;
  const char *keys[] = { "jid",
                         "node",
                         "client_id",
                         "enabled_at",
                         "errors",
                         "last_outcome",
                         "last_at",
                         "last_id",
                         "last_error_type",
                         "last_error_condition",
                         "last_error_text",
                         "last_test",
                         "backoff_left_ms",
                         "outstanding",
                         "encrypted",
                         "extensions" };
  ERL_NIF_TERM k[G_N_ELEMENTS_NIF(keys)], v[G_N_ELEMENTS_NIF(keys)];
  for (size_t i = 0; i < G_N_ELEMENTS_NIF(keys); i++)
    k[i] = enif_make_atom(env, keys[i]);
  v[0] = mk_str(env, r->jid);
  v[1] = mk_str(env, r->node);
  v[2] = mk_str(env, r->client_id);
  v[3] = enif_make_int64(env, r->enabled_at_ms);
  v[4] = enif_make_uint(env, r->errors);
  v[5] = r->last_outcome ? enif_make_atom(env, outcome_name(r->last_outcome)) : atom_undefined;
  v[6] = enif_make_int64(env, r->last_outcome_at_ms);
  v[7] = mk_str(env, r->last_id);
  v[8] = mk_str(env, r->last_error_type);
  v[9] = mk_str(env, r->last_error_condition);
  v[10] = mk_str(env, r->last_error_text);
  v[11] = enif_make_atom(env, r->last_was_test ? "true" : "false");
  v[12] = enif_make_int64(env, r->backoff_left_ms);
  v[13] = enif_make_uint(env, r->outstanding);
  v[14] = enif_make_atom(env, r->encrypted ? "true" : "false");
  v[15] = mk_str(env, r->extensions);
  ERL_NIF_TERM map;
  enif_make_map_from_arrays(env, k, v, G_N_ELEMENTS_NIF(keys), &map);
  d->list = enif_make_list_cell(env, map, d->list);
  return 0;
}

/* diag_registrations(Ctx, Account) -> {ok, [Map]} | {error, Rc}, newest
 * first; Map as cloudnotify_diag_registration (strings as binaries,
 * undefined when absent). */
static ERL_NIF_TERM nif_diag_registrations(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c;
  char *account;
  if (!get_ctx(env, argv[0], &c) || !get_cstr(env, argv[1], &account))
    return enif_make_badarg(env);
  diag_list d = { env, enif_make_list(env, 0) };
  begin(c, env);
  int rc = cloudnotify_diag_registrations(c->ctx, account, diag_row, &d);
  ERL_NIF_TERM res = finish(c, env, enif_make_int(env, rc));
  (void)res; /* the listing sends nothing */
  if (rc < 0)
    return enif_make_tuple2(env, atom_error, enif_make_int(env, rc));
  ERL_NIF_TERM list;
  enif_make_reverse_list(env, d.list, &list);
  return enif_make_tuple2(env, atom_ok, list);
}

/* diag_test_push(Ctx, Account) -> {Rc, Actions}: Rc the number of test
 * pushes sent (>= 0) or an error; the publishes are among the actions. */
static ERL_NIF_TERM nif_diag_test_push(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  cn_ctx *c;
  char *account;
  if (!get_ctx(env, argv[0], &c) || !get_cstr(env, argv[1], &account))
    return enif_make_badarg(env);
  begin(c, env);
  unsigned pushes = 0;
  int rc = cloudnotify_diag_test_push(c->ctx, account, NULL, &pushes, NULL);
  return finish(c, env, enif_make_int(env, rc < 0 ? rc : (int)pushes));
}

/* Calls that may reach the store (loading an account's registrations,
 * saving an enable) run on dirty I/O schedulers: with an on-disk store
 * (push_store) they wait for the disk.  session_active is one of them
 * (with push_grace_period a session's first activity loads its account),
 * and session_set_client_id (the client's registration is looked up).  Pure in-memory calls (session
 * events of a cached account, ticks, getters) stay on normal schedulers,
 * where they take microseconds. */
#define DIRTY ERL_NIF_DIRTY_JOB_IO_BOUND
static ErlNifFunc funcs[] = {
  { "ctx_new", 0, nif_ctx_new, 0 },
  { "set_option", 3, nif_set_option, DIRTY },
  { "tick", 1, nif_tick, 0 },
  { "handle_app_reply", 2, nif_app_reply, DIRTY },
  { "is_outstanding_id", 2, nif_is_outstanding, 0 },
  { "message_offline", 3, nif_offline, DIRTY },
  { "message_archived", 4, nif_archived, DIRTY },
  { "message_groupchat_bare", 3, nif_groupchat, DIRTY },
  { "message_delivered", 3, nif_delivered, DIRTY },
  { "handle_app_message", 3, nif_app_message, DIRTY },
  { "offline_fetched", 2, nif_offline_fetched, DIRTY },
  { "disco_features", 1, nif_disco_features, 0 },
  { "senders_known", 3, nif_senders_known, 0 },
  { "account_remove_all", 2, nif_remove_all, DIRTY },
  { "account_has_push", 2, nif_has_push, DIRTY },
  { "counter_nif", 2, nif_counter, 0 },
  { "session_new", 4, nif_session_new, 0 },
  { "session_free", 1, nif_session_free, 0 },
  { "session_retag", 2, nif_session_retag, 0 },
  { "session_sm_enabled", 1, nif_sm_enabled, 0 },
  { "session_hibernated", 2, nif_hibernated, 0 },
  { "session_queued", 2, nif_queued, 0 },
  { "session_ack_requested", 1, nif_ack_requested, 0 },
  { "session_acked", 2, nif_acked, 0 },
  { "session_ack_delayed", 2, nif_ack_delayed, 0 },
  { "session_resumed", 1, nif_resumed, 0 },
  { "session_active", 1, nif_session_active, DIRTY },
  { "session_set_client_id", 2, nif_set_client_id, DIRTY },
  { "session_has_push", 1, nif_has_session_push, 0 },
  { "handle_client_iq", 2, nif_client_iq, DIRTY },
  { "strerror", 1, nif_strerror, 0 },
  { "version", 0, nif_version, 0 },
  { "diag_registrations", 2, nif_diag_registrations, DIRTY },
  { "diag_test_push", 2, nif_diag_test_push, DIRTY },
};

ERL_NIF_INIT(cloudnotify_nif, funcs, load, NULL, upgrade, NULL)
