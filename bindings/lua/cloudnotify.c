/*
 * Lua 5.4 binding of libcloudnotify: require "cloudnotify".
 *
 * The module is loaded into a process that already holds the Lua VM
 * (Prosody under lua5.4), so it is compiled against Lua's headers only and
 * resolves lua_* from the host at load time.
 *
 * Three rules shape everything below (README.md has the user's view):
 *  - The library calls back from inside our own method calls only (it is
 *    sans-I/O), on whatever coroutine made the call.  Every method records
 *    its lua_State in the binding before calling into C, and the
 *    trampolines use that one, restoring the previous value on the way out
 *    so that a method called from inside a callback on another coroutine
 *    does not leave a dangling state behind.
 *  - No Lua error may unwind through library frames: every trampoline does
 *    all its Lua work (pushing arguments included, which may run out of
 *    memory) inside lua_pcall, and reports failures as the C API expects.
 *  - A cloudnotify_session* maps back to its Lua object through a strong
 *    table held in the registry for as long as the C session lives, so
 *    callbacks hand the host the very object it got from ctx:session().
 */
#include <lauxlib.h>
#include <lua.h>

#include <cloudnotify/cloudnotify.h>

#include "stanza-tree.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CTX_MT     "cloudnotify.ctx"
#define SESSION_MT "cloudnotify.session"
#define PUSH_MT    "cloudnotify.push"

enum {
  CB_SEND,
  CB_NOW,
  CB_TIMER,
  CB_HIBERNATION,
  CB_REMOVED,
  CB_LOG,
  CB_REG_FILTER,
  CB_NOTIFY_FILTER,
  CB_MONOTONIC,
  CB_OUTCOME,
  CB_ADDED,
  CB_SENDER_KNOWN,
  CB_COUNT
};

/* Keys accepted by cn.new, indexed like the enum above. */
static const char *const cb_names[CB_COUNT] = {
  "send",
  "now",
  "timer",
  "hibernation_timeout",
  "removed",
  "log",
  "registration_filter",
  "notification_filter",
  "monotonic",
  "publish_outcome",
  "registration_added",
  "sender_known",
};

typedef struct lpush lpush;

/* The ctx userdata.  It is the user_data of every C callback, so it must
 * not move: full userdata never do. */
typedef struct binding {
  cloudnotify_ctx *ctx; /* NULL once freed */
  lua_State *L;         /* the state of the method call in progress */
  int cb_ref[CB_COUNT]; /* registry refs, LUA_NOREF when not given */
  int sessions_ref;     /* registry ref: light userdata -> session object */
  int push_ref;         /* registry ref: the reusable push object */
  int stanza_mt_ref;    /* registry ref: stanza metatable, LUA_NOREF: send text */
  lpush *push;          /* that object, kept alive by push_ref */
  cn_lua_out *out;      /* stanza building's buffer and shared subtrees */
  int in_cb;            /* library callbacks currently running */
} binding;

typedef struct lsession {
  cloudnotify_session *s; /* NULL once freed (directly or with the ctx) */
  binding *b;
} lsession;

/* Session uservalues.  The ctx slot keeps the context's memory (and so
 * ls->b) valid for as long as any session object is reachable. */
enum { SUV_CTX = 1, SUV_DATA, SUV_ACCOUNT, SUV_RESOURCE, SUV_COUNT = SUV_RESOURCE };

struct lpush {
  cloudnotify_push *p; /* set only while the notification filter runs */
  binding *b;
};

/* store_data of a Lua store: the library hands it back to destroy, which
 * has no other way to find the binding or the Lua functions. */
typedef struct lstore {
  binding *b;
  int ref; /* registry ref to { load, save, remove } */
} lstore;

static const char *const log_levels[] = { "debug", "info", "warn", "error" };

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

/* JIDs, names and node strings reach C as NUL-terminated strings; an
 * embedded zero would silently shorten them to something else. */
static const char *check_cstr(lua_State *L, int idx) {
  size_t len;
  const char *s = luaL_checklstring(L, idx, &len);
  if (strlen(s) != len)
    luaL_argerror(L, idx, "string contains an embedded zero");
  return s;
}

static const char *opt_cstr(lua_State *L, int idx) {
  return lua_isnoneornil(L, idx) ? NULL : check_cstr(L, idx);
}

static int push_error(lua_State *L, int rc) {
  lua_pushnil(L);
  lua_pushstring(L, cloudnotify_strerror(rc));
  lua_pushinteger(L, rc);
  return 3;
}

static int push_rc(lua_State *L, int rc) {
  if (rc < 0)
    return push_error(L, rc);
  lua_pushboolean(L, 1);
  return 1;
}

static lua_State *enter(binding *b, lua_State *L) {
  lua_State *prev = b->L;
  b->L = L;
  return prev;
}

static binding *check_ctx(lua_State *L, int idx) {
  binding *b = luaL_checkudata(L, idx, CTX_MT);
  if (!b->ctx)
    luaL_error(L, "attempt to use a freed cloudnotify context");
  return b;
}

static lsession *check_session(lua_State *L, int idx) {
  lsession *ls = luaL_checkudata(L, idx, SESSION_MT);
  if (!ls->s)
    luaL_error(L, "attempt to use a freed cloudnotify session");
  return ls;
}

static void unref(lua_State *L, int *ref) {
  luaL_unref(L, LUA_REGISTRYINDEX, *ref);
  *ref = LUA_NOREF;
}

/* The Lua object of a C session, or nil (NULL, or a session the binding
 * does not know, which cannot happen while the registry table is kept in
 * step with session_new/free). */
static void push_session(lua_State *L, binding *b, cloudnotify_session *s) {
  if (!s) {
    lua_pushnil(L);
    return;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->sessions_ref);
  lua_pushlightuserdata(L, s);
  lua_rawget(L, -2);
  lua_remove(L, -2);
}

static void push_cb(lua_State *L, binding *b, int which) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->cb_ref[which]);
}

/* ------------------------------------------------------------------ */
/* Running Lua from C callbacks                                        */
/* ------------------------------------------------------------------ */

/* Turns any error value into a string with a traceback, so the log line
 * says where the host's callback failed. */
static int traceback_handler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (!msg) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

typedef struct log_args {
  binding *b;
  cloudnotify_log_level level;
  const char *prefix; /* may be "" */
  const char *msg;
  const char *id; /* the library's stable message id; NULL for the binding's own */
} log_args;

static int p_log(lua_State *L) {
  log_args *a = lua_touserdata(L, 1);
  push_cb(L, a->b, CB_LOG);
  lua_pushstring(L,
                 log_levels[a->level <= CLOUDNOTIFY_LOG_ERROR ? a->level : CLOUDNOTIFY_LOG_ERROR]);
  if (*a->prefix)
    lua_pushfstring(L, "%s%s", a->prefix, a->msg);
  else
    lua_pushstring(L, a->msg);
  lua_pushstring(L, a->id ? a->id : "lua-binding");
  lua_call(L, 3, 0);
  return 0;
}

static int call_protected(binding *b, const char *what, lua_CFunction fn, void *args);

/* A line from the binding itself.  Silently dropped without a log
 * callback, like the library's own lines. */
static void log_line(binding *b, cloudnotify_log_level level, const char *prefix, const char *msg) {
  if (b->cb_ref[CB_LOG] == LUA_NOREF)
    return;
  log_args a = { b, level, prefix, msg, NULL };
  call_protected(b, "log", p_log, &a);
}

/* The failed callback's message is on top of b->L.  Callback failures are
 * never dropped: without a log callback (or when it is the log callback
 * that failed) they go to stderr. */
static void report_failure(binding *b, const char *what) {
  lua_State *L = b->L;
  const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "(no error message)";
  if (strcmp(what, "log") != 0 && b->cb_ref[CB_LOG] != LUA_NOREF) {
    char prefix[96];
    snprintf(prefix, sizeof prefix, "cloudnotify: Lua %s callback failed: ", what);
    log_args a = { b, CLOUDNOTIFY_LOG_ERROR, prefix, msg, NULL };
    if (call_protected(b, "log", p_log, &a) == 0)
      return;
  }
  fprintf(stderr, "cloudnotify: Lua %s callback failed: %s\n", what, msg);
}

/* Runs fn(args) protected on the state of the current method call.
 * Returns 0, or -1 after reporting the error. */
static int call_protected(binding *b, const char *what, lua_CFunction fn, void *args) {
  lua_State *L = b->L;
  if (!lua_checkstack(L, 4)) {
    fprintf(stderr, "cloudnotify: Lua stack exhausted, %s callback not called\n", what);
    return -1;
  }
  int base = lua_gettop(L);
  lua_pushcfunction(L, traceback_handler);
  lua_pushcfunction(L, fn);
  lua_pushlightuserdata(L, args);
  b->in_cb++;
  int status = lua_pcall(L, 1, 0, base + 1);
  b->in_cb--;
  if (status != LUA_OK)
    report_failure(b, what);
  lua_settop(L, base);
  return status == LUA_OK ? 0 : -1;
}

/* A callback that returned nil/false, err: pass err on, it is the only
 * trace the host's reason leaves. */
static void log_refusal(binding *b, lua_State *L, int idx, const char *prefix) {
  if (lua_type(L, idx) == LUA_TSTRING)
    log_line(b, CLOUDNOTIFY_LOG_WARN, prefix, lua_tostring(L, idx));
}

/* ---- send ------------------------------------------------------------ */

typedef struct send_args {
  binding *b;
  cloudnotify_route route;
  cloudnotify_session *session;
  const char *account, *to, *xml;
  size_t len;
  int ok;
} send_args;

static int p_send(lua_State *L) {
  send_args *a = lua_touserdata(L, 1);
  push_cb(L, a->b, CB_SEND);
  lua_pushstring(L, a->route == CLOUDNOTIFY_ROUTE_CLIENT ? "client" : "app");
  push_session(L, a->b, a->session);
  lua_pushstring(L, a->account);
  lua_pushstring(L, a->to);
  lua_pushlstring(L, a->xml, a->len);
  lua_call(L, 5, 2);
  a->ok = lua_toboolean(L, -2);
  if (!a->ok)
    log_refusal(a->b, L, -1, "cloudnotify: send callback refused a stanza: ");
  return 0;
}

static int t_send(void *ud, cloudnotify_route route, cloudnotify_session *session,
                  const char *account, const char *to, const char *xml, size_t len) {
  send_args a = { ud, route, session, account, to, xml, len, 0 };
  if (call_protected(a.b, "send", p_send, &a) != 0)
    return -1;
  return a.ok ? 0 : -1;
}

/* With stanza_mt given to cn.new, send receives util.stanza tables built
 * from the library's structure (no text is made) and the stanza's id. */
typedef struct send_stanza_args {
  binding *b;
  const cloudnotify_stanza *st;
  int ok;
} send_stanza_args;

static int p_send_stanza(lua_State *L) {
  send_stanza_args *a = lua_touserdata(L, 1);
  const cloudnotify_stanza *st = a->st;
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->b->stanza_mt_ref);
  int mt = lua_gettop(L);
  if (cn_lua_stanza_push(L, st, mt, a->b->out,
                         cloudnotify_stanza_route(st) == CLOUDNOTIFY_ROUTE_APP_SERVER) != 0)
    return lua_error(L);
  int stanza = lua_gettop(L);
  push_cb(L, a->b, CB_SEND);
  lua_pushstring(L, cloudnotify_stanza_route(st) == CLOUDNOTIFY_ROUTE_CLIENT ? "client" : "app");
  push_session(L, a->b, cloudnotify_stanza_session(st));
  lua_pushstring(L, cloudnotify_stanza_account(st));
  lua_pushstring(L, cloudnotify_stanza_to(st));
  lua_pushvalue(L, stanza);
  lua_pushstring(L, cloudnotify_stanza_id(st)); /* NULL pushes nil */
  lua_call(L, 6, 2);
  a->ok = lua_toboolean(L, -2);
  if (!a->ok)
    log_refusal(a->b, L, -1, "cloudnotify: send callback refused a stanza: ");
  return 0;
}

static int t_send_stanza(void *ud, const cloudnotify_stanza *st) {
  send_stanza_args a = { ud, st, 0 };
  if (call_protected(a.b, "send", p_send_stanza, &a) != 0)
    return -1;
  return a.ok ? 0 : -1;
}

/* ---- now ------------------------------------------------------------- */

typedef struct now_args {
  binding *b;
  int64_t ms;
  int which; /* CB_NOW or CB_MONOTONIC */
} now_args;

static int p_now(lua_State *L) {
  now_args *a = lua_touserdata(L, 1);
  push_cb(L, a->b, a->which);
  lua_call(L, 0, 1);
  int isint;
  lua_Integer i = lua_tointegerx(L, -1, &isint);
  if (isint && lua_type(L, -1) == LUA_TNUMBER) {
    a->ms = i;
    return 0;
  }
  /* Clocks built from socket.gettime() * 1000 are floats. */
  if (lua_type(L, -1) == LUA_TNUMBER) {
    lua_Number n = lua_tonumber(L, -1);
    if (n >= -9.2e18 && n <= 9.2e18) {
      a->ms = (int64_t)n;
      return 0;
    }
  }
  return luaL_error(L, "%s must return a number of milliseconds, got %s", cb_names[a->which],
                    luaL_typename(L, -1));
}

static int64_t t_now(void *ud) {
  now_args a = { ud, 0, CB_NOW };
  if (call_protected(a.b, "now", p_now, &a) == 0)
    return a.ms;
  /* The library needs a time; the real clock beats a made-up one. */
  struct timespec ts;
  timespec_get(&ts, TIME_UTC);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t t_monotonic(void *ud) {
  now_args a = { ud, 0, CB_MONOTONIC };
  if (call_protected(a.b, "monotonic", p_now, &a) == 0)
    return a.ms;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- timer, hibernation timeout, removal, log ------------------------- */

typedef struct int_args {
  binding *b;
  cloudnotify_session *session;
  int64_t value;
} int_args;

static int p_timer(lua_State *L) {
  int_args *a = lua_touserdata(L, 1);
  push_cb(L, a->b, CB_TIMER);
  lua_pushinteger(L, a->value);
  lua_call(L, 1, 0);
  return 0;
}

static void t_timer(void *ud, int64_t timeout_ms) {
  int_args a = { ud, NULL, timeout_ms };
  call_protected(a.b, "timer", p_timer, &a);
}

static int p_hibernation(lua_State *L) {
  int_args *a = lua_touserdata(L, 1);
  push_cb(L, a->b, CB_HIBERNATION);
  push_session(L, a->b, a->session);
  lua_pushinteger(L, a->value);
  lua_call(L, 2, 0);
  return 0;
}

static void t_hibernation(void *ud, cloudnotify_session *session, int64_t seconds) {
  int_args a = { ud, session, seconds };
  call_protected(a.b, "hibernation_timeout", p_hibernation, &a);
}

#define G_N_ELEMENTS_LUA(a) (sizeof(a) / sizeof((a)[0]))

typedef struct removed_args {
  binding *b;
  const char *account, *jid, *node;
  cloudnotify_removal_reason reason;
  const char *error_type, *error_condition; /* NULL but for error removals */
} removed_args;

/* Indexed by cloudnotify_removal_reason; a reason a newer library adds is
 * reported as "unknown", never as one of these. */
static const char *const removal_reasons[] = {
  [CLOUDNOTIFY_REMOVED_DISABLED] = "disabled",
  [CLOUDNOTIFY_REMOVED_ERRORS] = "errors",
  [CLOUDNOTIFY_REMOVED_EVICTED] = "evicted",
  [CLOUDNOTIFY_REMOVED_ACCOUNT] = "account",
  [CLOUDNOTIFY_REMOVED_REMOTE] = "remote",
  [CLOUDNOTIFY_REMOVED_EXPIRED] = "expired",
  [CLOUDNOTIFY_REMOVED_CLIENT_REPLACED] = "client_replaced",
};

static int p_removed(lua_State *L) {
  removed_args *a = lua_touserdata(L, 1);
  unsigned r = (unsigned)a->reason;
  push_cb(L, a->b, CB_REMOVED);
  lua_pushstring(L, a->account);
  lua_pushstring(L, a->jid);
  lua_pushstring(L, a->node); /* NULL pushes nil */
  lua_pushstring(L, r < G_N_ELEMENTS_LUA(removal_reasons) && removal_reasons[r] ? removal_reasons[r]
                                                                                : "unknown");
  lua_pushstring(L, a->error_type);
  lua_pushstring(L, a->error_condition);
  lua_call(L, 6, 0);
  return 0;
}

/* Through registration_removed2: the cause of an error removal comes as
 * two more arguments, which older Lua callbacks simply ignore. */
static void t_removed2(void *ud, const char *account, const char *jid, const char *node,
                       cloudnotify_removal_reason reason, const char *error_type,
                       const char *error_condition) {
  removed_args a = { ud, account, jid, node, reason, error_type, error_condition };
  call_protected(a.b, "removed", p_removed, &a);
}

static const char *const outcome_names[] = {
  [CLOUDNOTIFY_PUBLISH_OK] = "ok",
  [CLOUDNOTIFY_PUBLISH_ERROR] = "error",
  [CLOUDNOTIFY_PUBLISH_WAIT] = "wait",
  [CLOUDNOTIFY_PUBLISH_EXPIRED] = "expired",
  [CLOUDNOTIFY_PUBLISH_DROPPED] = "dropped",
  [CLOUDNOTIFY_PUBLISH_FORGOTTEN] = "forgotten",
  [CLOUDNOTIFY_PUBLISH_REFUSED] = "refused",
  [CLOUDNOTIFY_PUBLISH_VETOED] = "vetoed",
  [CLOUDNOTIFY_PUBLISH_TRANSIENT] = "transient",
};

typedef struct outcome_args {
  binding *b;
  const cloudnotify_publish_report *r;
} outcome_args;

static void set_str(lua_State *L, const char *k, const char *v) {
  if (!v)
    return;
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static int p_outcome(lua_State *L) {
  outcome_args *a = lua_touserdata(L, 1);
  const cloudnotify_publish_report *r = a->r;
  push_cb(L, a->b, CB_OUTCOME);
  lua_createtable(L, 0, 8);
  set_str(L, "account", r->account);
  set_str(L, "jid", r->jid);
  set_str(L, "node", r->node);
  set_str(L, "id", r->id);
  unsigned o = (unsigned)r->outcome;
  set_str(L, "outcome",
          o < G_N_ELEMENTS_LUA(outcome_names) && outcome_names[o] ? outcome_names[o] : "unknown");
  set_str(L, "error_type", r->error_type);
  set_str(L, "error_condition", r->error_condition);
  lua_pushinteger(L, r->consecutive_errors);
  lua_setfield(L, -2, "errors");
  /* Diagnosis (after 0.3): the error's text and the test push's mark. */
  if (r->size >= offsetof(cloudnotify_publish_report, flags) + sizeof r->flags) {
    set_str(L, "error_text", r->error_text);
    if (r->flags & CLOUDNOTIFY_PUBLISH_FLAG_TEST) {
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, "test");
    }
  }
  lua_call(L, 1, 0);
  return 0;
}

static void t_outcome(void *ud, const cloudnotify_publish_report *r) {
  outcome_args a = { ud, r };
  call_protected(a.b, "publish_outcome", p_outcome, &a);
}

typedef struct added_args {
  binding *b;
  cloudnotify_session *session;
  const char *account, *jid, *node;
  cloudnotify_registration_change change;
} added_args;

static int p_added(lua_State *L) {
  added_args *a = lua_touserdata(L, 1);
  push_cb(L, a->b, CB_ADDED);
  push_session(L, a->b, a->session);
  lua_pushstring(L, a->account);
  lua_pushstring(L, a->jid);
  lua_pushstring(L, a->node);
  lua_pushstring(L, a->change == CLOUDNOTIFY_REGISTRATION_REPLACED ? "replaced" : "added");
  lua_call(L, 5, 0);
  return 0;
}

static void t_added(void *ud, cloudnotify_session *session, const char *account, const char *jid,
                    const char *node, cloudnotify_registration_change change) {
  added_args a = { ud, session, account, jid, node, change };
  call_protected(a.b, "registration_added", p_added, &a);
}

/* Through log2: the message's stable id is the third argument. */
static void t_log2(void *ud, cloudnotify_log_level level, const char *id, const char *message) {
  binding *b = ud;
  log_args a = { b, level, "", message, id };
  call_protected(b, "log", p_log, &a);
}

/* ---- sender_known ----------------------------------------------------- */

typedef struct sender_args {
  binding *b;
  const char *account, *sender;
  int known; /* 1, 0, or -1: cannot tell */
} sender_args;

static int p_sender_known(lua_State *L) {
  sender_args *a = lua_touserdata(L, 1);
  push_cb(L, a->b, CB_SENDER_KNOWN);
  lua_pushstring(L, a->account);
  lua_pushstring(L, a->sender);
  lua_call(L, 2, 1);
  /* Only a boolean is an answer: nil (or anything else) is "cannot tell",
   * which the library takes as known, so that a roster that could not be
   * read never silences a contact. */
  a->known = lua_type(L, -1) == LUA_TBOOLEAN ? lua_toboolean(L, -1) : -1;
  return 0;
}

static int t_sender_known(void *ud, const char *account, const char *sender) {
  sender_args a = { ud, account, sender, -1 };
  if (call_protected(a.b, "sender_known", p_sender_known, &a) != 0)
    return -1;
  return a.known;
}

/* ---- registration filter -------------------------------------------- */

/* The library keeps the chosen type and condition after the callback has
 * returned, so they must be static strings, not the Lua ones. */
static const char *const error_types[] = { "cancel", "modify", "auth", "wait", NULL };
static const char *const error_conditions[] = {
  "bad-request",
  "conflict",
  "feature-not-implemented",
  "forbidden",
  "gone",
  "internal-server-error",
  "item-not-found",
  "jid-malformed",
  "not-acceptable",
  "not-allowed",
  "not-authorized",
  "policy-violation",
  "recipient-unavailable",
  "redirect",
  "registration-required",
  "remote-server-not-found",
  "remote-server-timeout",
  "resource-constraint",
  "service-unavailable",
  "subscription-required",
  "undefined-condition",
  "unexpected-request",
  NULL,
};

static const char *static_copy(const char *const *list, const char *s) {
  for (size_t i = 0; s && list[i]; i++)
    if (!strcmp(list[i], s))
      return list[i];
  return NULL;
}

typedef struct regfilter_args {
  binding *b;
  cloudnotify_session *session;
  const char *account, *jid, *node;
  int veto;
  const char *type, *condition;
} regfilter_args;

static int p_regfilter(lua_State *L) {
  regfilter_args *a = lua_touserdata(L, 1);
  push_cb(L, a->b, CB_REG_FILTER);
  push_session(L, a->b, a->session);
  lua_pushstring(L, a->account);
  lua_pushstring(L, a->jid);
  lua_pushstring(L, a->node);
  lua_call(L, 4, 2);
  a->veto = lua_toboolean(L, -2);
  if (!a->veto)
    return 0;
  const char *type = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
  const char *cond = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  a->type = static_copy(error_types, type);
  a->condition = static_copy(error_conditions, cond);
  if ((type && !a->type) || (cond && !a->condition))
    log_line(a->b, CLOUDNOTIFY_LOG_WARN, "",
             "cloudnotify: registration_filter returned an unknown error type or "
             "condition; the veto is sent as cancel/not-allowed");
  return 0;
}

static int t_regfilter(void *ud, cloudnotify_session *session, const char *account, const char *jid,
                       const char *node, const char **error_type, const char **error_condition) {
  regfilter_args a = { ud, session, account, jid, node, 0, NULL, NULL };
  if (call_protected(a.b, "registration_filter", p_regfilter, &a) != 0)
    return 0;
  if (a.veto) {
    *error_type = a.type;
    *error_condition = a.condition;
  }
  return a.veto;
}

/* ---- notification filter --------------------------------------------- */

typedef struct notify_args {
  binding *b;
  int drop;
} notify_args;

static int p_notify(lua_State *L) {
  notify_args *a = lua_touserdata(L, 1);
  push_cb(L, a->b, CB_NOTIFY_FILTER);
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->b->push_ref);
  lua_call(L, 1, 1);
  a->drop = lua_toboolean(L, -1);
  return 0;
}

static int t_notify(void *ud, cloudnotify_push *push) {
  notify_args a = { ud, 0 };
  /* One push object per context, valid only between these two lines:
   * kept alive by the registry, so clearing it afterwards is always safe. */
  cloudnotify_push *prev = a.b->push->p;
  a.b->push->p = push;
  int rc = call_protected(a.b, "notification_filter", p_notify, &a);
  a.b->push->p = prev;
  return rc == 0 && a.drop;
}

/* ---- store ------------------------------------------------------------ */

typedef struct load_args {
  binding *b;
  int ref;
  const char *account;
  cloudnotify_loader *loader;
  int ok;
} load_args;

/* Pushes the record's field, or returns 0 and pushes nothing when it is
 * absent; a field of the wrong type makes the record invalid (-1). */
static int record_string(lua_State *L, int rec, const char *name, int required) {
  int t = lua_getfield(L, rec, name);
  if (t == LUA_TSTRING)
    return 1;
  lua_pop(L, 1);
  return t == LUA_TNIL && !required ? 0 : -1;
}

static int p_load(lua_State *L) {
  load_args *a = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->ref);
  lua_getfield(L, -1, "load");
  lua_pushstring(L, a->account);
  lua_call(L, 1, 2);
  if (lua_type(L, -2) != LUA_TTABLE) {
    if (!lua_toboolean(L, -2))
      log_refusal(a->b, L, -1, "cloudnotify: store load failed: ");
    else
      log_line(a->b, CLOUDNOTIFY_LOG_ERROR, "",
               "cloudnotify: store load must return a table of records");
    return 0;
  }
  lua_pop(L, 1);
  int list = lua_gettop(L);
  lua_Integer n = luaL_len(L, list);
  for (lua_Integer i = 1; i <= n; i++) {
    int top = lua_gettop(L);
    cloudnotify_record rec = { 0 };
    int rec_idx = top + 1;
    int valid = lua_geti(L, list, i) == LUA_TTABLE;
    if (valid && record_string(L, rec_idx, "jid", 1) == 1)
      rec.jid = lua_tostring(L, -1);
    else
      valid = 0;
    if (valid) {
      int r = record_string(L, rec_idx, "node", 0);
      if (r == 1)
        rec.node = lua_tostring(L, -1);
      valid = r >= 0;
    }
    if (valid) {
      int r = record_string(L, rec_idx, "publish_options", 0);
      if (r == 1)
        rec.publish_options = lua_tolstring(L, -1, &rec.publish_options_len);
      valid = r >= 0;
    }
    if (valid) {
      int t = lua_getfield(L, rec_idx, "enabled_at");
      if (t == LUA_TNUMBER) {
        lua_Number v = lua_tonumber(L, -1);
        int isint;
        lua_Integer iv = lua_tointegerx(L, -1, &isint);
        if (isint)
          rec.enabled_at_ms = iv;
        else if (v >= -9.2e18 && v <= 9.2e18)
          rec.enabled_at_ms = (int64_t)v;
        else
          valid = 0;
      } else if (t != LUA_TNIL) {
        valid = 0;
      }
    }
    if (valid) {
      int isint = 0;
      int t = lua_getfield(L, rec_idx, "errors");
      lua_Integer e = lua_tointegerx(L, -1, &isint);
      if (t == LUA_TNUMBER && isint && e >= 0 && e <= (lua_Integer)UINT32_MAX)
        rec.errors = (unsigned)e;
      else if (t != LUA_TNIL)
        valid = 0;
    }
    if (valid) {
      int r = record_string(L, rec_idx, "client_id", 0);
      if (r == 1)
        rec.client_id = lua_tostring(L, -1);
      valid = r >= 0;
    }
    /* The strings stay on the stack, and so alive, until loader_add has
     * copied them. */
    if (valid)
      cloudnotify_loader_add(a->loader, &rec);
    else
      log_line(a->b, CLOUDNOTIFY_LOG_WARN, "",
               "cloudnotify: store load returned a malformed record; skipped");
    lua_settop(L, top);
  }
  a->ok = 1;
  return 0;
}

static int t_load(void *store_data, const char *account, cloudnotify_loader *loader) {
  lstore *st = store_data;
  load_args a = { st->b, st->ref, account, loader, 0 };
  if (call_protected(a.b, "store load", p_load, &a) != 0)
    return -1;
  return a.ok ? 0 : -1;
}

typedef struct save_args {
  binding *b;
  int ref;
  const char *account;
  const cloudnotify_record *rec;
  const char *jid, *node; /* for remove */
  int ok;
} save_args;

static int p_save(lua_State *L) {
  save_args *a = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->ref);
  lua_getfield(L, -1, "save");
  lua_pushstring(L, a->account);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, a->rec->jid);
  lua_setfield(L, -2, "jid");
  if (a->rec->node) {
    lua_pushstring(L, a->rec->node);
    lua_setfield(L, -2, "node");
  }
  if (a->rec->publish_options && a->rec->publish_options_len) {
    lua_pushlstring(L, a->rec->publish_options, a->rec->publish_options_len);
    lua_setfield(L, -2, "publish_options");
  }
  lua_pushinteger(L, a->rec->enabled_at_ms);
  lua_setfield(L, -2, "enabled_at");
  lua_pushinteger(L, a->rec->errors);
  lua_setfield(L, -2, "errors");
  if (a->rec->client_id) {
    lua_pushstring(L, a->rec->client_id);
    lua_setfield(L, -2, "client_id");
  }
  lua_call(L, 2, 2);
  a->ok = lua_toboolean(L, -2);
  if (!a->ok)
    log_refusal(a->b, L, -1, "cloudnotify: store save failed: ");
  return 0;
}

static int t_save(void *store_data, const char *account, const cloudnotify_record *record) {
  lstore *st = store_data;
  save_args a = { st->b, st->ref, account, record, NULL, NULL, 0 };
  if (call_protected(a.b, "store save", p_save, &a) != 0)
    return -1;
  return a.ok ? 0 : -1;
}

static int p_remove(lua_State *L) {
  save_args *a = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->ref);
  lua_getfield(L, -1, "remove");
  lua_pushstring(L, a->account);
  lua_pushstring(L, a->jid);
  lua_pushstring(L, a->node);
  lua_call(L, 3, 2);
  a->ok = lua_toboolean(L, -2);
  if (!a->ok)
    log_refusal(a->b, L, -1, "cloudnotify: store remove failed: ");
  return 0;
}

static int t_remove(void *store_data, const char *account, const char *jid, const char *node) {
  lstore *st = store_data;
  save_args a = { st->b, st->ref, account, NULL, jid, node, 0 };
  if (call_protected(a.b, "store remove", p_remove, &a) != 0)
    return -1;
  return a.ok ? 0 : -1;
}

typedef struct set_errors_args {
  binding *b;
  int ref;
  const char *account, *jid, *node;
  unsigned errors;
  int ok;
} set_errors_args;

static int p_set_errors(lua_State *L) {
  set_errors_args *a = lua_touserdata(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->ref);
  lua_getfield(L, -1, "set_errors");
  lua_pushstring(L, a->account);
  lua_pushstring(L, a->jid);
  lua_pushstring(L, a->node);
  lua_pushinteger(L, a->errors);
  lua_call(L, 4, 2);
  a->ok = lua_toboolean(L, -2);
  if (!a->ok)
    log_refusal(a->b, L, -1, "cloudnotify: store set_errors failed: ");
  return 0;
}

static int t_set_errors(void *store_data, const char *account, const char *jid, const char *node,
                        unsigned errors) {
  lstore *st = store_data;
  set_errors_args a = { st->b, st->ref, account, jid, node, errors, 0 };
  if (call_protected(a.b, "store set_errors", p_set_errors, &a) != 0)
    return -1;
  return a.ok ? 0 : -1;
}

/* Called by the library when the store is replaced or the ctx freed; both
 * happen inside a method (or __gc) that has set b->L. */
static void t_destroy(void *store_data) {
  lstore *st = store_data;
  luaL_unref(st->b->L, LUA_REGISTRYINDEX, st->ref);
  free(st);
}

/* ------------------------------------------------------------------ */
/* Input arrays                                                        */
/* ------------------------------------------------------------------ */

/* A queue: a table of stanzas, either all XML strings (a cloudnotify_buf
 * array) or all util.stanza tables (a cloudnotify_tree array).  For
 * strings it leaves two values on the stack: the array (a userdata, so a
 * later argument error cannot leak it) and a table holding the strings, so
 * that a callback editing the caller's table cannot free a string the
 * library is reading.  For tables it leaves the array, the adapter's keys
 * and every item (the adapter reads items by stack index). */
typedef struct queue {
  size_t n;
  cloudnotify_buf *bufs;   /* strings */
  cloudnotify_tree *trees; /* tables */
  cn_lua_tree lt;
} queue;

static void check_queue(lua_State *L, int idx, queue *q) {
  memset(q, 0, sizeof *q);
  if (lua_isnoneornil(L, idx))
    return;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_Integer n = luaL_len(L, idx);
  if (n <= 0)
    return;
  if ((lua_Unsigned)n > SIZE_MAX / sizeof(cloudnotify_tree) || n > 1000000)
    luaL_argerror(L, idx, "queue too long");
  int first = lua_geti(L, idx, 1);
  lua_pop(L, 1);
  if (first == LUA_TTABLE) {
    cloudnotify_tree *v = lua_newuserdatauv(L, (size_t)n * sizeof *v, 0);
    cn_lua_tree_prepare(L, &q->lt);
    luaL_checkstack(L, (int)n, "queue too long");
    for (lua_Integer i = 1; i <= n; i++) {
      if (lua_geti(L, idx, i) != LUA_TTABLE)
        luaL_argerror(L, idx,
                      lua_pushfstring(L,
                                      "item %I is not a stanza (items must be all "
                                      "strings or all stanzas)",
                                      (LUAI_UACINT)i));
      v[i - 1] = cn_lua_tree_at(&q->lt, -1);
    }
    q->trees = v;
    q->n = (size_t)n;
    return;
  }
  cloudnotify_buf *v = lua_newuserdatauv(L, (size_t)n * sizeof *v, 0);
  lua_createtable(L, (int)(n < 1 << 20 ? n : 1 << 20), 0);
  int anchor = lua_gettop(L);
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_geti(L, idx, i) != LUA_TSTRING)
      luaL_argerror(L, idx,
                    lua_pushfstring(L,
                                    "item %I is not a string (items must be all "
                                    "strings or all stanzas)",
                                    (LUAI_UACINT)i));
    v[i - 1].data = lua_tolstring(L, -1, &v[i - 1].len);
    lua_rawseti(L, anchor, i);
  }
  q->bufs = v;
  q->n = (size_t)n;
}

static size_t check_endpoints(lua_State *L, int idx, cloudnotify_endpoint **out) {
  *out = NULL;
  if (lua_isnoneornil(L, idx))
    return 0;
  luaL_checktype(L, idx, LUA_TTABLE);
  lua_Integer n = luaL_len(L, idx);
  if (n <= 0)
    return 0;
  if ((lua_Unsigned)n > SIZE_MAX / sizeof(cloudnotify_endpoint))
    luaL_argerror(L, idx, "too many endpoints");
  cloudnotify_endpoint *v = lua_newuserdatauv(L, (size_t)n * sizeof *v, 0);
  lua_newtable(L);
  int anchor = lua_gettop(L);
  lua_Integer slot = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_geti(L, idx, i) != LUA_TTABLE)
      luaL_argerror(L, idx, lua_pushfstring(L, "endpoint %I is not a table", (LUAI_UACINT)i));
    int e = lua_gettop(L);
    size_t len = 0;
    v[i - 1].jid = lua_getfield(L, e, "jid") == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    if (!v[i - 1].jid || strlen(v[i - 1].jid) != len)
      luaL_argerror(L, idx,
                    lua_pushfstring(L, "endpoint %I: jid must be a string", (LUAI_UACINT)i));
    lua_rawseti(L, anchor, ++slot);
    int t = lua_getfield(L, e, "node");
    v[i - 1].node = NULL;
    if (t == LUA_TSTRING) {
      v[i - 1].node = lua_tolstring(L, -1, &len);
      if (strlen(v[i - 1].node) != len)
        luaL_argerror(L, idx, "endpoint node contains an embedded zero");
      lua_rawseti(L, anchor, ++slot);
    } else if (t == LUA_TNIL) {
      lua_pop(L, 1);
    } else {
      luaL_argerror(
          L, idx, lua_pushfstring(L, "endpoint %I: node must be a string or nil", (LUAI_UACINT)i));
    }
    lua_pop(L, 1);
  }
  *out = v;
  return (size_t)n;
}

/* ------------------------------------------------------------------ */
/* Push object (notification filter argument)                          */
/* ------------------------------------------------------------------ */

static cloudnotify_push *check_push(lua_State *L, int idx) {
  lpush *pu = luaL_checkudata(L, idx, PUSH_MT);
  if (!pu->p)
    luaL_error(L, "push object used outside the notification filter");
  return pu->p;
}

static int push_set_body(lua_State *L) {
  cloudnotify_push *p = check_push(L, 1);
  return push_rc(L, cloudnotify_push_set_body(p, opt_cstr(L, 2)));
}

static int push_set_sender(lua_State *L) {
  cloudnotify_push *p = check_push(L, 1);
  return push_rc(L, cloudnotify_push_set_sender(p, opt_cstr(L, 2)));
}

static int push_add_field(lua_State *L) {
  cloudnotify_push *p = check_push(L, 1);
  return push_rc(L, cloudnotify_push_add_field(p, luaL_checkstring(L, 2), luaL_checkstring(L, 3)));
}

/* push:set_extra(xml) sets the extra element, push:set_extra(nil) removes it. */
static int push_set_extra(lua_State *L) {
  cloudnotify_push *p = check_push(L, 1);
  size_t len = 0;
  const char *xml = lua_isnoneornil(L, 2) ? NULL : luaL_checklstring(L, 2, &len);
  return push_rc(L, cloudnotify_push_set_extra(p, xml, len));
}

/* push:set_message_count(n), e.g. the host's own count of offline
 * messages; the badge is unsigned on the wire, so is n. */
static int push_set_message_count(lua_State *L) {
  cloudnotify_push *p = check_push(L, 1);
  lua_Integer n = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n >= 0 && (lua_Unsigned)n <= UINT32_MAX, 2, "count out of range");
  return push_rc(L, cloudnotify_push_set_message_count(p, (unsigned)n));
}

static int push_index(lua_State *L) {
  lpush *pu = luaL_checkudata(L, 1, PUSH_MT);
  const char *k = luaL_checkstring(L, 2);
  if (!strcmp(k, "set_body")) {
    lua_pushcfunction(L, push_set_body);
    return 1;
  }
  if (!strcmp(k, "set_sender")) {
    lua_pushcfunction(L, push_set_sender);
    return 1;
  }
  if (!strcmp(k, "add_field")) {
    lua_pushcfunction(L, push_add_field);
    return 1;
  }
  if (!strcmp(k, "set_extra")) {
    lua_pushcfunction(L, push_set_extra);
    return 1;
  }
  if (!strcmp(k, "set_message_count")) {
    lua_pushcfunction(L, push_set_message_count);
    return 1;
  }
  cloudnotify_push *p = check_push(L, 1);
  if (!strcmp(k, "account"))
    lua_pushstring(L, cloudnotify_push_account(p));
  else if (!strcmp(k, "jid"))
    lua_pushstring(L, cloudnotify_push_jid(p));
  else if (!strcmp(k, "node"))
    lua_pushstring(L, cloudnotify_push_node(p));
  else if (!strcmp(k, "sender"))
    lua_pushstring(L, cloudnotify_push_sender(p));
  else if (!strcmp(k, "body"))
    lua_pushstring(L, cloudnotify_push_body(p));
  else if (!strcmp(k, "important"))
    lua_pushboolean(L, cloudnotify_push_is_important(p));
  else if (!strcmp(k, "urgent"))
    lua_pushboolean(L, cloudnotify_push_is_urgent(p));
  else if (!strcmp(k, "stanza_type"))
    lua_pushstring(L, cloudnotify_push_stanza_type(p));
  else if (!strcmp(k, "stanza_id"))
    lua_pushstring(L, cloudnotify_push_stanza_id(p));
  else if (!strcmp(k, "session"))
    push_session(L, pu->b, cloudnotify_push_session(p));
  else if (!strcmp(k, "client_id"))
    lua_pushstring(L, cloudnotify_push_client_id(p));
  else if (!strcmp(k, "message_count"))
    lua_pushinteger(L, cloudnotify_push_message_count(p));
  else if (!strcmp(k, "call"))
    lua_pushboolean(L, cloudnotify_push_is_call(p));
  else if (!strcmp(k, "call_id"))
    lua_pushstring(L, cloudnotify_push_call_id(p));
  else
    lua_pushnil(L);
  return 1;
}

/* ------------------------------------------------------------------ */
/* Sessions                                                            */
/* ------------------------------------------------------------------ */

static void forget_session(lua_State *L, binding *b, cloudnotify_session *s) {
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->sessions_ref);
  lua_pushlightuserdata(L, s);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

static int s_free(lua_State *L) {
  lsession *ls = luaL_checkudata(L, 1, SESSION_MT);
  if (!ls->s) {
    lua_pushboolean(L, 1);
    return 1;
  }
  binding *b = ls->b;
  /* From a callback the library stops the session at once and frees it
   * when the call running the callback returns; no later callback names
   * it, so the object can let go of it now. */
  cloudnotify_session *s = ls->s;
  lua_State *prev = enter(b, L);
  cloudnotify_session_free(s);
  b->L = prev;
  ls->s = NULL;
  forget_session(L, b, s);
  lua_pushboolean(L, 1);
  return 1;
}

/* Sessions are strongly held while their C side lives, so this only finds
 * one alive when the whole state is closing, and then the ctx's own __gc
 * (which runs after, being older) would free it anyway. */
static int s_gc(lua_State *L) {
  lsession *ls = luaL_checkudata(L, 1, SESSION_MT);
  if (ls->s && ls->b->ctx && !ls->b->in_cb) {
    cloudnotify_session *s = ls->s;
    lua_State *prev = enter(ls->b, L);
    cloudnotify_session_free(s);
    ls->b->L = prev;
    ls->s = NULL;
    forget_session(L, ls->b, s);
  }
  return 0;
}

/* The session events that take no argument, and those that take a queue:
 * one wrapper each, so that every call enters and leaves the binding the
 * same way. */
static int session_event(lua_State *L, int (*event)(cloudnotify_session *)) {
  lsession *ls = check_session(L, 1);
  lua_State *prev = enter(ls->b, L);
  int rc = event(ls->s);
  ls->b->L = prev;
  return push_rc(L, rc);
}

static int session_queue_event(lua_State *L,
                               int (*event)(cloudnotify_session *, const cloudnotify_buf *, size_t),
                               int (*tree_event)(cloudnotify_session *, const cloudnotify_tree *,
                                                 size_t)) {
  lsession *ls = check_session(L, 1);
  queue q;
  check_queue(L, 2, &q);
  lua_State *prev = enter(ls->b, L);
  int rc = q.trees ? tree_event(ls->s, q.trees, q.n) : event(ls->s, q.bufs, q.n);
  ls->b->L = prev;
  return push_rc(L, rc);
}

static int s_sm_enabled(lua_State *L) {
  return session_event(L, cloudnotify_session_sm_enabled);
}

static int s_hibernated(lua_State *L) {
  return session_queue_event(L, cloudnotify_session_hibernated,
                             cloudnotify_session_hibernated_tree);
}

/* And those that take one stanza, as text or as a util.stanza table. */
static int session_text_event(lua_State *L,
                              int (*event)(cloudnotify_session *, const char *, size_t),
                              int (*tree_event)(cloudnotify_session *, const cloudnotify_tree *)) {
  lsession *ls = check_session(L, 1);
  int rc;
  if (lua_type(L, 2) == LUA_TTABLE) {
    cn_lua_tree lt;
    cn_lua_tree_prepare(L, &lt);
    cloudnotify_tree t = cn_lua_tree_at(&lt, 2);
    lua_State *prev = enter(ls->b, L);
    rc = tree_event(ls->s, &t);
    ls->b->L = prev;
  } else {
    size_t len;
    const char *xml = luaL_checklstring(L, 2, &len);
    lua_State *prev = enter(ls->b, L);
    rc = event(ls->s, xml, len);
    ls->b->L = prev;
  }
  return push_rc(L, rc);
}

static int s_queued(lua_State *L) {
  return session_text_event(L, cloudnotify_session_queued, cloudnotify_session_queued_tree);
}

static int s_ack_requested(lua_State *L) {
  return session_event(L, cloudnotify_session_ack_requested);
}

static int s_acked(lua_State *L) {
  lsession *ls = check_session(L, 1);
  /* h counts modulo 2^32 on the wire; take any integer the same way. */
  uint32_t h = (uint32_t)(lua_Unsigned)luaL_checkinteger(L, 2);
  lua_State *prev = enter(ls->b, L);
  int rc = cloudnotify_session_acked(ls->s, h);
  ls->b->L = prev;
  return push_rc(L, rc);
}

static int s_ack_delayed(lua_State *L) {
  return session_queue_event(L, cloudnotify_session_ack_delayed,
                             cloudnotify_session_ack_delayed_tree);
}

static int s_resumed(lua_State *L) {
  return session_event(L, cloudnotify_session_resumed);
}

/* session:active(): the user sent a message or a chat state from it. */
static int s_active(lua_State *L) {
  return session_event(L, cloudnotify_session_active);
}

static int s_has_push(lua_State *L) {
  lsession *ls = check_session(L, 1);
  lua_pushboolean(L, cloudnotify_session_has_push(ls->s));
  return 1;
}

/* s:set_client_id(id): a string, or nil to forget it. */
static int s_set_client_id(lua_State *L) {
  lsession *ls = check_session(L, 1);
  const char *id = lua_isnoneornil(L, 2) ? NULL : check_cstr(L, 2);
  lua_State *prev = enter(ls->b, L);
  int rc = cloudnotify_session_set_client_id(ls->s, id);
  ls->b->L = prev;
  return push_rc(L, rc);
}

static int s_client_id(lua_State *L) {
  lsession *ls = check_session(L, 1);
  lua_pushstring(L, cloudnotify_session_client_id(ls->s));
  return 1;
}

static int s_handle_iq(lua_State *L) {
  return session_text_event(L, cloudnotify_handle_client_iq, cloudnotify_handle_client_iq_tree);
}

static const luaL_Reg session_methods[] = {
  { "free", s_free },
  { "sm_enabled", s_sm_enabled },
  { "hibernated", s_hibernated },
  { "queued", s_queued },
  { "ack_requested", s_ack_requested },
  { "acked", s_acked },
  { "ack_delayed", s_ack_delayed },
  { "resumed", s_resumed },
  { "active", s_active },
  { "handle_iq", s_handle_iq },
  { "has_push", s_has_push },
  { "set_client_id", s_set_client_id },
  { "client_id", s_client_id },
  { NULL, NULL },
};

/* Upvalue 1: the methods table. */
static int s_index(lua_State *L) {
  luaL_checkudata(L, 1, SESSION_MT);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL)
    return 1;
  const char *k = lua_tostring(L, 2);
  int slot = !k                       ? 0
             : !strcmp(k, "data")     ? SUV_DATA
             : !strcmp(k, "account")  ? SUV_ACCOUNT
             : !strcmp(k, "resource") ? SUV_RESOURCE
                                      : 0;
  if (!slot)
    lua_pushnil(L);
  else
    lua_getiuservalue(L, 1, slot);
  return 1;
}

/* Only data is writable: a typo like s.dta = x should fail loudly rather
 * than vanish. */
static int s_newindex(lua_State *L) {
  luaL_checkudata(L, 1, SESSION_MT);
  const char *k = lua_tostring(L, 2);
  if (!k || strcmp(k, "data") != 0)
    return luaL_error(L, "cloudnotify session: only the field 'data' can be set");
  lua_settop(L, 3);
  lua_setiuservalue(L, 1, SUV_DATA);
  return 0;
}

static int s_tostring(lua_State *L) {
  lsession *ls = luaL_checkudata(L, 1, SESSION_MT);
  lua_getiuservalue(L, 1, SUV_ACCOUNT);
  lua_getiuservalue(L, 1, SUV_RESOURCE);
  lua_pushfstring(L, "cloudnotify.session (%s/%s%s)", lua_tostring(L, -2), lua_tostring(L, -1),
                  ls->s ? "" : ", freed");
  return 1;
}

/* ------------------------------------------------------------------ */
/* Context                                                             */
/* ------------------------------------------------------------------ */

/* Frees the C context and lets go of every Lua value the binding holds.
 * Idempotent.  Sessions are marked dead first: the library frees them
 * with the context. */
static void ctx_release(lua_State *L, binding *b) {
  if (b->sessions_ref != LUA_NOREF && b->sessions_ref != LUA_REFNIL) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, b->sessions_ref);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
      lsession *ls = lua_touserdata(L, -1);
      if (ls)
        ls->s = NULL;
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  if (b->ctx) {
    cloudnotify_ctx *ctx = b->ctx;
    b->ctx = NULL;
    /* Store destroy runs in here and needs a live state. */
    lua_State *prev = enter(b, L);
    cloudnotify_ctx_free(ctx);
    b->L = prev;
  }
  for (int i = 0; i < CB_COUNT; i++)
    unref(L, &b->cb_ref[i]);
  unref(L, &b->sessions_ref);
  unref(L, &b->stanza_mt_ref);
  if (b->push)
    b->push->p = NULL;
  b->push = NULL;
  unref(L, &b->push_ref);
  cn_lua_out_free(L, b->out);
  b->out = NULL;
}

static int c_free(lua_State *L) {
  binding *b = luaL_checkudata(L, 1, CTX_MT);
  /* cloudnotify_ctx_free has no guard of its own. */
  if (b->in_cb)
    return push_error(L, CLOUDNOTIFY_ERR_REENTRANT);
  ctx_release(L, b);
  lua_pushboolean(L, 1);
  return 1;
}

static int c_gc(lua_State *L) {
  binding *b = luaL_checkudata(L, 1, CTX_MT);
  if (!b->in_cb)
    ctx_release(L, b);
  return 0;
}

static int c_tostring(lua_State *L) {
  binding *b = luaL_checkudata(L, 1, CTX_MT);
  lua_pushfstring(L, "cloudnotify.ctx (%p%s)", (void *)b, b->ctx ? "" : ", freed");
  return 1;
}

static int c_set_option(lua_State *L) {
  binding *b = check_ctx(L, 1);
  const char *name = check_cstr(L, 2);
  char buf[64];
  const char *value;
  switch (lua_type(L, 3)) {
  case LUA_TBOOLEAN: value = lua_toboolean(L, 3) ? "true" : "false"; break;
  case LUA_TNUMBER: {
    int isint;
    lua_Integer i = lua_tointegerx(L, 3, &isint);
    /* 5.0 is as good as 5 (Prosody's get_option_number may give either);
     * 5.5 is passed on as text for the library to refuse. */
    if (isint)
      snprintf(buf, sizeof buf, "%lld", (long long)i);
    else
      snprintf(buf, sizeof buf, "%.17g", (double)lua_tonumber(L, 3));
    value = buf;
    break;
  }
  case LUA_TSTRING: value = check_cstr(L, 3); break;
  default: return luaL_typeerror(L, 3, "boolean, number or string");
  }
  lua_State *prev = enter(b, L);
  int rc = cloudnotify_ctx_set_option(b->ctx, name, value);
  b->L = prev;
  return push_rc(L, rc);
}

static int c_set_store(lua_State *L) {
  binding *b = check_ctx(L, 1);
  if (lua_isnoneornil(L, 2)) {
    lua_State *prev = enter(b, L);
    int rc = cloudnotify_ctx_set_store(b->ctx, NULL, NULL);
    b->L = prev;
    return push_rc(L, rc);
  }
  luaL_checktype(L, 2, LUA_TTABLE);
  /* The functions are captured now: a store object changed later does
   * not change what the context calls. */
  static const char *const fields[] = { "load", "save", "remove" };
  lua_createtable(L, 0, 3);
  for (int i = 0; i < 3; i++) {
    if (lua_getfield(L, 2, fields[i]) != LUA_TFUNCTION)
      return luaL_argerror(L, 2, lua_pushfstring(L, "%s must be a function", fields[i]));
    lua_setfield(L, -2, fields[i]);
  }
  /* Optional: without it error counts live in memory only. */
  int t = lua_getfield(L, 2, "set_errors");
  if (t != LUA_TNIL && t != LUA_TFUNCTION)
    return luaL_argerror(L, 2, "set_errors must be a function");
  int with_set_errors = t == LUA_TFUNCTION;
  lua_setfield(L, -2, "set_errors");
  int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lstore *st = malloc(sizeof *st);
  if (!st) {
    luaL_unref(L, LUA_REGISTRYINDEX, ref);
    return luaL_error(L, "not enough memory");
  }
  st->b = b;
  st->ref = ref;
  const cloudnotify_store vt = {
    .size = sizeof vt,
    .load = t_load,
    .save = t_save,
    .remove = t_remove,
    .destroy = t_destroy,
    .set_errors = with_set_errors ? t_set_errors : NULL,
  };
  lua_State *prev = enter(b, L);
  int rc = cloudnotify_ctx_set_store(b->ctx, &vt, st);
  b->L = prev;
  if (rc < 0) {
    /* Not adopted: destroy will never be called for it. */
    luaL_unref(L, LUA_REGISTRYINDEX, st->ref);
    free(st);
  }
  return push_rc(L, rc);
}

static int c_session(lua_State *L) {
  binding *b = check_ctx(L, 1);
  const char *account = check_cstr(L, 2);
  const char *resource = check_cstr(L, 3);
  lsession *ls = lua_newuserdatauv(L, sizeof *ls, SUV_COUNT);
  ls->s = NULL;
  ls->b = b;
  luaL_setmetatable(L, SESSION_MT);
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, -2, SUV_CTX);
  cloudnotify_session *s;
  lua_State *prev = enter(b, L);
  int rc = cloudnotify_session_new(b->ctx, account, resource, &s);
  b->L = prev;
  if (rc < 0)
    return push_error(L, rc);
  /* From here a Lua error (out of memory) leaves an unreachable object
   * whose __gc frees the C session. */
  ls->s = s;
  lua_pushstring(L, cloudnotify_session_account(s));
  lua_setiuservalue(L, -2, SUV_ACCOUNT);
  lua_pushstring(L, cloudnotify_session_resource(s));
  lua_setiuservalue(L, -2, SUV_RESOURCE);
  lua_rawgeti(L, LUA_REGISTRYINDEX, b->sessions_ref);
  lua_pushlightuserdata(L, s);
  lua_pushvalue(L, -3);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  return 1;
}

static int push_count(lua_State *L, int rc, unsigned pushes) {
  if (rc < 0)
    return push_error(L, rc);
  lua_pushinteger(L, pushes);
  return 1;
}

/* The triggers: the stanza (argument 3) as text or as a util.stanza
 * table; which selects the function. */
enum { TRIGGER_OFFLINE, TRIGGER_ARCHIVED, TRIGGER_GROUPCHAT, TRIGGER_DELIVERED };

static int trigger(lua_State *L, int which) {
  binding *b = check_ctx(L, 1);
  const char *account = check_cstr(L, 2);
  const char *archive_id = which == TRIGGER_ARCHIVED ? opt_cstr(L, 4) : NULL;
  unsigned pushes = 0;
  int rc;
  if (lua_type(L, 3) == LUA_TTABLE) {
    cn_lua_tree lt;
    cn_lua_tree_prepare(L, &lt);
    cloudnotify_tree t = cn_lua_tree_at(&lt, 3);
    lua_State *prev = enter(b, L);
    switch (which) {
    case TRIGGER_OFFLINE:
      rc = cloudnotify_message_offline_tree(b->ctx, account, &t, &pushes);
      break;
    case TRIGGER_ARCHIVED:
      rc = cloudnotify_message_archived_tree(b->ctx, account, &t, archive_id, &pushes);
      break;
    case TRIGGER_GROUPCHAT:
      rc = cloudnotify_message_groupchat_bare_tree(b->ctx, account, &t, &pushes);
      break;
    default: rc = cloudnotify_message_delivered_tree(b->ctx, account, &t, &pushes); break;
    }
    b->L = prev;
  } else {
    size_t len;
    const char *xml = luaL_checklstring(L, 3, &len);
    lua_State *prev = enter(b, L);
    switch (which) {
    case TRIGGER_OFFLINE:
      rc = cloudnotify_message_offline(b->ctx, account, xml, len, &pushes);
      break;
    case TRIGGER_ARCHIVED:
      rc = cloudnotify_message_archived(b->ctx, account, xml, len, archive_id, &pushes);
      break;
    case TRIGGER_GROUPCHAT:
      rc = cloudnotify_message_groupchat_bare(b->ctx, account, xml, len, &pushes);
      break;
    default: rc = cloudnotify_message_delivered(b->ctx, account, xml, len, &pushes); break;
    }
    b->L = prev;
  }
  return push_count(L, rc, pushes);
}

static int c_offline(lua_State *L) {
  return trigger(L, TRIGGER_OFFLINE);
}

static int c_archived(lua_State *L) {
  return trigger(L, TRIGGER_ARCHIVED);
}

static int c_groupchat_bare(lua_State *L) {
  return trigger(L, TRIGGER_GROUPCHAT);
}

/* ctx:delivered(account, stanza): a message reached a connected session;
 * only calls push from here. */
static int c_delivered(lua_State *L) {
  return trigger(L, TRIGGER_DELIVERED);
}

/* ctx:app_message(account, stanza) -> true when it was a remote disable
 * from the registration's own push service (the host drops the message),
 * false when it is none of ours (deliver it), nil, err, code on errors. */
static int c_app_message(lua_State *L) {
  binding *b = check_ctx(L, 1);
  const char *account = check_cstr(L, 2);
  int rc;
  if (lua_type(L, 3) == LUA_TTABLE) {
    cn_lua_tree lt;
    cn_lua_tree_prepare(L, &lt);
    cloudnotify_tree t = cn_lua_tree_at(&lt, 3);
    lua_State *prev = enter(b, L);
    rc = cloudnotify_handle_app_message_tree(b->ctx, account, &t);
    b->L = prev;
  } else {
    size_t len;
    const char *xml = luaL_checklstring(L, 3, &len);
    lua_State *prev = enter(b, L);
    rc = cloudnotify_handle_app_message(b->ctx, account, xml, len);
    b->L = prev;
  }
  if (rc == CLOUDNOTIFY_ERR_NOT_MINE) {
    lua_pushboolean(L, 0);
    return 1;
  }
  return push_rc(L, rc);
}

/* ctx:offline_fetched(account) -> pushes (badge-clearing ones). */
static int c_offline_fetched(lua_State *L) {
  binding *b = check_ctx(L, 1);
  const char *account = check_cstr(L, 2);
  unsigned pushes = 0;
  lua_State *prev = enter(b, L);
  int rc = cloudnotify_offline_fetched(b->ctx, account, &pushes);
  b->L = prev;
  return push_count(L, rc, pushes);
}

/* ctx:disco_features() -> { "urn:xmpp:push:0", ... }: what the account's
 * disco#info should list, for the options and callbacks in force now. */
static int c_disco_features(lua_State *L) {
  binding *b = check_ctx(L, 1);
  const char *features[32];
  int n = cloudnotify_ctx_disco_features(b->ctx, features, G_N_ELEMENTS_LUA(features));
  if (n < 0)
    return push_error(L, n);
  /* A list longer than the array: a later library; take it whole. */
  const char **all = features;
  if ((size_t)n > G_N_ELEMENTS_LUA(features)) {
    all = lua_newuserdatauv(L, (size_t)n * sizeof *all, 0);
    size_t room = (size_t)n;
    n = cloudnotify_ctx_disco_features(b->ctx, all, room);
    if (n < 0)
      return push_error(L, n);
    if ((size_t)n > room)
      n = (int)room;
  }
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushstring(L, all[i]);
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

static int c_has_push(lua_State *L) {
  binding *b = check_ctx(L, 1);
  const char *account = check_cstr(L, 2);
  lua_State *prev = enter(b, L);
  int rc = cloudnotify_account_has_push(b->ctx, account);
  b->L = prev;
  if (rc < 0)
    return push_error(L, rc);
  lua_pushboolean(L, rc > 0);
  return 1;
}

/* ctx:registrations(account): an array of records shaped as the store's
 * (jid, node, publish_options, enabled_at, errors, client_id), newest
 * first. */
static int p_registration(lua_State *L) {
  const cloudnotify_record *r = lua_touserdata(L, 1);
  lua_Integer i = lua_tointeger(L, 2);
  lua_createtable(L, 0, 6);
  lua_pushstring(L, r->jid);
  lua_setfield(L, -2, "jid");
  lua_pushstring(L, r->node);
  lua_setfield(L, -2, "node");
  if (r->publish_options) {
    lua_pushlstring(L, r->publish_options, r->publish_options_len);
    lua_setfield(L, -2, "publish_options");
  }
  lua_pushinteger(L, r->enabled_at_ms);
  lua_setfield(L, -2, "enabled_at");
  lua_pushinteger(L, r->errors);
  lua_setfield(L, -2, "errors");
  lua_pushstring(L, r->client_id);
  lua_setfield(L, -2, "client_id");
  lua_seti(L, 3, i);
  return 0;
}

typedef struct {
  lua_State *L;
  int list; /* stack index of the result table in L */
  lua_Integer n;
  int failed;
} listing_args;

/* Appends one item of a listing with fill(item, index, list).  Runs
 * inside the library: no Lua error may escape, so the table is filled
 * through a protected call, and a failure stops the listing. */
static int listing_add(listing_args *a, lua_CFunction fill, const void *item) {
  lua_State *L = a->L;
  lua_pushcfunction(L, fill);
  lua_pushlightuserdata(L, (void *)item);
  lua_pushinteger(L, ++a->n);
  lua_pushvalue(L, a->list);
  if (lua_pcall(L, 3, 0, 0) != LUA_OK) {
    lua_pop(L, 1);
    a->failed = 1;
    return 1;
  }
  return 0;
}

static int t_registration(void *ud, const char *account, const cloudnotify_record *r) {
  (void)account;
  return listing_add(ud, p_registration, r);
}

static int c_registrations(lua_State *L) {
  binding *b = check_ctx(L, 1);
  const char *account = check_cstr(L, 2);
  lua_newtable(L);
  listing_args a = { L, lua_gettop(L), 0, 0 };
  lua_State *prev = enter(b, L);
  int rc = cloudnotify_account_registrations(b->ctx, account, t_registration, &a);
  b->L = prev;
  if (rc < 0)
    return push_error(L, rc);
  if (a.failed)
    return luaL_error(L, "not enough memory");
  return 1;
}

static int c_remove_all(lua_State *L) {
  binding *b = check_ctx(L, 1);
  const char *account = check_cstr(L, 2);
  unsigned removed = 0;
  lua_State *prev = enter(b, L);
  int rc = cloudnotify_account_remove_all(b->ctx, account, &removed);
  b->L = prev;
  return push_count(L, rc, removed);
}

static int c_forget(lua_State *L) {
  binding *b = check_ctx(L, 1);
  const char *account = check_cstr(L, 2);
  lua_State *prev = enter(b, L);
  int rc = cloudnotify_account_forget(b->ctx, account);
  b->L = prev;
  return push_rc(L, rc);
}

static int c_ping(lua_State *L) {
  binding *b = check_ctx(L, 1);
  const char *account = check_cstr(L, 2);
  cloudnotify_endpoint *ep;
  size_t n = check_endpoints(L, 3, &ep);
  unsigned pushes = 0;
  lua_State *prev = enter(b, L);
  int rc = cloudnotify_ping(b->ctx, account, ep, n, &pushes);
  b->L = prev;
  return push_count(L, rc, pushes);
}

static int c_app_reply(lua_State *L) {
  binding *b = check_ctx(L, 1);
  int rc;
  if (lua_type(L, 2) == LUA_TTABLE) {
    cn_lua_tree lt;
    cn_lua_tree_prepare(L, &lt);
    cloudnotify_tree t = cn_lua_tree_at(&lt, 2);
    lua_State *prev = enter(b, L);
    rc = cloudnotify_handle_app_reply_tree(b->ctx, &t);
    b->L = prev;
  } else {
    size_t len;
    const char *xml = luaL_checklstring(L, 2, &len);
    lua_State *prev = enter(b, L);
    rc = cloudnotify_handle_app_reply(b->ctx, xml, len);
    b->L = prev;
  }
  return push_rc(L, rc);
}

/* The reply fields a host already has: a table with id, from, type and,
 * for errors, error_type and error_condition. */
static const char *field_cstr(lua_State *L, int t, const char *k) {
  lua_getfield(L, t, k);
  const char *v = NULL;
  if (!lua_isnil(L, -1)) {
    size_t len;
    v = lua_tolstring(L, -1, &len);
    if (!v || strlen(v) != len)
      luaL_error(L, "reply field '%s' must be a string without embedded zeros", k);
  }
  lua_pop(L, 1); /* the string stays alive: the table holds it */
  return v;
}

static int c_app_reply_fields(lua_State *L) {
  binding *b = check_ctx(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  cloudnotify_reply r = { sizeof r,
                          field_cstr(L, 2, "id"),
                          field_cstr(L, 2, "from"),
                          field_cstr(L, 2, "type"),
                          field_cstr(L, 2, "error_type"),
                          field_cstr(L, 2, "error_condition") };
  lua_State *prev = enter(b, L);
  int rc = cloudnotify_handle_app_reply_fields(b->ctx, &r);
  b->L = prev;
  return push_rc(L, rc);
}

static int c_is_outstanding(lua_State *L) {
  binding *b = check_ctx(L, 1);
  lua_pushboolean(L, cloudnotify_is_outstanding_id(b->ctx, check_cstr(L, 2)) == 1);
  return 1;
}

static const struct {
  const char *name;
  cloudnotify_counter which;
} counter_names[] = {
  { "publishes_sent", CLOUDNOTIFY_COUNTER_PUBLISHES_SENT },
  { "publishes_vetoed", CLOUDNOTIFY_COUNTER_PUBLISHES_VETOED },
  { "publishes_refused", CLOUDNOTIFY_COUNTER_PUBLISHES_REFUSED },
  { "publishes_deduplicated", CLOUDNOTIFY_COUNTER_PUBLISHES_DEDUPLICATED },
  { "publishes_expired", CLOUDNOTIFY_COUNTER_PUBLISHES_EXPIRED },
  { "publishes_dropped", CLOUDNOTIFY_COUNTER_PUBLISHES_DROPPED },
  { "publishes_forgotten", CLOUDNOTIFY_COUNTER_PUBLISHES_FORGOTTEN },
  { "replies_ok", CLOUDNOTIFY_COUNTER_REPLIES_OK },
  { "replies_error", CLOUDNOTIFY_COUNTER_REPLIES_ERROR },
  { "replies_wait", CLOUDNOTIFY_COUNTER_REPLIES_WAIT },
  { "replies_foreign", CLOUDNOTIFY_COUNTER_REPLIES_FOREIGN },
  { "replies_not_mine", CLOUDNOTIFY_COUNTER_REPLIES_NOT_MINE },
  { "enables", CLOUDNOTIFY_COUNTER_ENABLES },
  { "disables", CLOUDNOTIFY_COUNTER_DISABLES },
  { "store_failures", CLOUDNOTIFY_COUNTER_STORE_FAILURES },
  { "cache_hits", CLOUDNOTIFY_COUNTER_CACHE_HITS },
  { "cache_misses", CLOUDNOTIFY_COUNTER_CACHE_MISSES },
  { "inputs_rejected", CLOUDNOTIFY_COUNTER_INPUTS_REJECTED },
  { "store_records_rejected", CLOUDNOTIFY_COUNTER_STORE_RECORDS_REJECTED },
  { "log_messages", CLOUDNOTIFY_COUNTER_LOG_MESSAGES },
  { "removed_disabled", CLOUDNOTIFY_COUNTER_REMOVED_DISABLED },
  { "removed_errors", CLOUDNOTIFY_COUNTER_REMOVED_ERRORS },
  { "removed_evicted", CLOUDNOTIFY_COUNTER_REMOVED_EVICTED },
  { "removed_account", CLOUDNOTIFY_COUNTER_REMOVED_ACCOUNT },
  { "removed_remote", CLOUDNOTIFY_COUNTER_REMOVED_REMOTE },
  { "removed_expired", CLOUDNOTIFY_COUNTER_REMOVED_EXPIRED },
  { "removed_client_replaced", CLOUDNOTIFY_COUNTER_REMOVED_CLIENT_REPLACED },
  { "suppressed_quiet", CLOUDNOTIFY_COUNTER_SUPPRESSED_QUIET },
  { "suppressed_grace", CLOUDNOTIFY_COUNTER_SUPPRESSED_GRACE },
  { "suppressed_rate", CLOUDNOTIFY_COUNTER_SUPPRESSED_RATE },
  { "suppressed_filter", CLOUDNOTIFY_COUNTER_SUPPRESSED_FILTER },
  { "suppressed_backoff", CLOUDNOTIFY_COUNTER_SUPPRESSED_BACKOFF },
  { "calls_pushed", CLOUDNOTIFY_COUNTER_CALLS_PUSHED },
  { "calls_stale", CLOUDNOTIFY_COUNTER_CALLS_STALE },
  { "replies_transient", CLOUDNOTIFY_COUNTER_REPLIES_TRANSIENT },
  { "publishes_encrypted", CLOUDNOTIFY_COUNTER_PUBLISHES_ENCRYPTED },
  { "outstanding", CLOUDNOTIFY_GAUGE_OUTSTANDING },
  { "cached_accounts", CLOUDNOTIFY_GAUGE_CACHED_ACCOUNTS },
  { "sessions", CLOUDNOTIFY_GAUGE_SESSIONS },
};

/* ctx:counters() -> { name = value, ... } for every counter and gauge. */
static int c_counters(lua_State *L) {
  binding *b = check_ctx(L, 1);
  lua_createtable(L, 0, (int)G_N_ELEMENTS_LUA(counter_names));
  for (size_t i = 0; i < G_N_ELEMENTS_LUA(counter_names); i++) {
    uint64_t v = 0;
    cloudnotify_ctx_get_counter(b->ctx, counter_names[i].which, &v);
    lua_pushinteger(L, (lua_Integer)v);
    lua_setfield(L, -2, counter_names[i].name);
  }
  return 1;
}

/* ctx:counter(name or number) -> value | nil, err, code */
static int c_counter(lua_State *L) {
  binding *b = check_ctx(L, 1);
  int which = -1;
  if (lua_type(L, 2) == LUA_TNUMBER) {
    which = (int)luaL_checkinteger(L, 2);
  } else {
    const char *name = check_cstr(L, 2);
    for (size_t i = 0; i < G_N_ELEMENTS_LUA(counter_names); i++)
      if (!strcmp(name, counter_names[i].name))
        which = (int)counter_names[i].which;
  }
  uint64_t v = 0;
  int rc = cloudnotify_ctx_get_counter(b->ctx, (cloudnotify_counter)which, &v);
  if (rc < 0)
    return push_error(L, rc);
  lua_pushinteger(L, (lua_Integer)v);
  return 1;
}

static int c_next_timeout(lua_State *L) {
  binding *b = check_ctx(L, 1);
  /* Not a state change, but it asks the now callback. */
  lua_State *prev = enter(b, L);
  int64_t t = cloudnotify_next_timeout(b->ctx);
  b->L = prev;
  lua_pushinteger(L, t);
  return 1;
}

static int c_tick(lua_State *L) {
  binding *b = check_ctx(L, 1);
  lua_State *prev = enter(b, L);
  int rc = cloudnotify_tick(b->ctx);
  b->L = prev;
  return push_rc(L, rc);
}

/* ---- diagnosis (after 0.3) ------------------------------------------ */

/* ctx:diag_registrations(account) -> array of tables (jid, node,
 * client_id, enabled_at, errors, last_outcome, last_at, last_id,
 * last_error_type, last_error_condition, last_error_text, last_test,
 * backoff_ms, backoff_left_ms, backoff_held, outstanding, sessions,
 * encrypted, extensions), newest first | nil, err, code */
static int p_diag_registration(lua_State *L) {
  const cloudnotify_diag_registration *r = lua_touserdata(L, 1);
  lua_Integer i = lua_tointeger(L, 2);
  lua_createtable(L, 0, 20);
  set_str(L, "jid", r->jid);
  set_str(L, "node", r->node);
  set_str(L, "client_id", r->client_id);
  set_str(L, "last_id", r->last_id);
  set_str(L, "last_error_type", r->last_error_type);
  set_str(L, "last_error_condition", r->last_error_condition);
  set_str(L, "last_error_text", r->last_error_text);
  set_str(L, "extensions", r->extensions);
  unsigned o = (unsigned)r->last_outcome;
  if (o && o < G_N_ELEMENTS_LUA(outcome_names) && outcome_names[o])
    set_str(L, "last_outcome", outcome_names[o]);
  const struct {
    const char *k;
    lua_Integer v;
  } ints[] = {
    { "enabled_at", r->enabled_at_ms },        { "errors", r->errors },
    { "last_at", r->last_outcome_at_ms },      { "backoff_ms", r->backoff_ms },
    { "backoff_left_ms", r->backoff_left_ms }, { "backoff_held", r->backoff_held },
    { "outstanding", r->outstanding },         { "sessions", r->sessions },
  };
  for (size_t k = 0; k < G_N_ELEMENTS_LUA(ints); k++) {
    lua_pushinteger(L, ints[k].v);
    lua_setfield(L, -2, ints[k].k);
  }
  lua_pushboolean(L, r->last_was_test);
  lua_setfield(L, -2, "last_test");
  lua_pushboolean(L, r->encrypted);
  lua_setfield(L, -2, "encrypted");
  lua_seti(L, 3, i);
  return 0;
}

static int t_diag_registration(void *ud, const char *account,
                               const cloudnotify_diag_registration *r) {
  (void)account;
  return listing_add(ud, p_diag_registration, r);
}

static int c_diag_registrations(lua_State *L) {
  binding *b = check_ctx(L, 1);
  const char *account = check_cstr(L, 2);
  lua_newtable(L);
  listing_args a = { L, lua_gettop(L), 0, 0 };
  lua_State *prev = enter(b, L);
  int rc = cloudnotify_diag_registrations(b->ctx, account, t_diag_registration, &a);
  b->L = prev;
  if (rc < 0)
    return push_error(L, rc);
  if (a.failed)
    return luaL_error(L, "not enough memory");
  return 1;
}

/* ctx:diag_test_push(account [, jid [, node]]) -> pushes, first id |
 * nil, err, code.  Without jid: every registration of the account. */
static int c_diag_test_push(lua_State *L) {
  binding *b = check_ctx(L, 1);
  const char *account = check_cstr(L, 2);
  const char *jid = opt_cstr(L, 3);
  const char *node = opt_cstr(L, 4);
  cloudnotify_endpoint ep = { jid, node };
  unsigned pushes = 0;
  char id[CLOUDNOTIFY_PUBLISH_ID_MAX + 1];
  lua_State *prev = enter(b, L);
  int rc = cloudnotify_diag_test_push(b->ctx, account, jid ? &ep : NULL, &pushes, id);
  b->L = prev;
  if (rc < 0)
    return push_error(L, rc);
  lua_pushinteger(L, pushes);
  lua_pushstring(L, id);
  return 2;
}

static const luaL_Reg ctx_methods[] = {
  { "free", c_free },
  { "set_option", c_set_option },
  { "set_store", c_set_store },
  { "session", c_session },
  { "offline", c_offline },
  { "archived", c_archived },
  { "groupchat_bare", c_groupchat_bare },
  { "delivered", c_delivered },
  { "app_message", c_app_message },
  { "offline_fetched", c_offline_fetched },
  { "disco_features", c_disco_features },
  { "has_push", c_has_push },
  { "registrations", c_registrations },
  { "remove_all", c_remove_all },
  { "forget", c_forget },
  { "ping", c_ping },
  { "app_reply", c_app_reply },
  { "app_reply_fields", c_app_reply_fields },
  { "is_outstanding", c_is_outstanding },
  { "counter", c_counter },
  { "counters", c_counters },
  { "next_timeout", c_next_timeout },
  { "tick", c_tick },
  { "diag_registrations", c_diag_registrations },
  { "diag_test_push", c_diag_test_push },
  { NULL, NULL },
};

static int l_new(lua_State *L) {
  int have = !lua_isnoneornil(L, 1);
  if (have) {
    luaL_checktype(L, 1, LUA_TTABLE);
    /* A misspelt callback would otherwise just never be called. */
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
      if (k && !strcmp(k, "stanza_mt")) {
        if (lua_type(L, -1) != LUA_TTABLE)
          return luaL_argerror(L, 1, "stanza_mt must be a table");
        lua_pop(L, 1);
        continue;
      }
      int known = 0;
      for (int i = 0; k && i < CB_COUNT; i++)
        known |= !strcmp(k, cb_names[i]);
      if (!known)
        return luaL_argerror(
            L, 1, lua_pushfstring(L, "unknown callback '%s'", k ? k : luaL_typename(L, -2)));
      if (lua_type(L, -1) != LUA_TFUNCTION)
        return luaL_argerror(L, 1, lua_pushfstring(L, "callback '%s' must be a function", k));
      lua_pop(L, 1);
    }
  }
  binding *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  b->L = L;
  b->sessions_ref = b->push_ref = b->stanza_mt_ref = LUA_NOREF;
  for (int i = 0; i < CB_COUNT; i++)
    b->cb_ref[i] = LUA_NOREF;
  luaL_setmetatable(L, CTX_MT);
  int self = lua_gettop(L);

  lua_newtable(L);
  b->sessions_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lpush *pu = lua_newuserdatauv(L, sizeof *pu, 0);
  pu->p = NULL;
  pu->b = b;
  luaL_setmetatable(L, PUSH_MT);
  b->push_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  b->push = pu;

  cloudnotify_callbacks cb = { .size = sizeof cb };
  for (int i = 0; have && i < CB_COUNT; i++) {
    if (lua_getfield(L, 1, cb_names[i]) == LUA_TFUNCTION)
      b->cb_ref[i] = luaL_ref(L, LUA_REGISTRYINDEX);
    else
      lua_pop(L, 1);
  }
  /* Only what the host gave: the library's defaults (real clock, polled
   * timers, ...) apply to the rest. */
  if (have && lua_getfield(L, 1, "stanza_mt") == LUA_TTABLE) {
    b->stanza_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    /* Without it every stanza is built with a buffer of its own. */
    b->out = cn_lua_out_new();
  } else if (have)
    lua_pop(L, 1);
  if (b->cb_ref[CB_SEND] != LUA_NOREF && b->stanza_mt_ref != LUA_NOREF)
    cb.send_stanza = t_send_stanza;
  else if (b->cb_ref[CB_SEND] != LUA_NOREF)
    cb.send = t_send;
  if (b->cb_ref[CB_NOW] != LUA_NOREF)
    cb.now_ms = t_now;
  if (b->cb_ref[CB_MONOTONIC] != LUA_NOREF)
    cb.monotonic_ms = t_monotonic;
  if (b->cb_ref[CB_TIMER] != LUA_NOREF)
    cb.timer_changed = t_timer;
  if (b->cb_ref[CB_HIBERNATION] != LUA_NOREF)
    cb.hibernation_timeout = t_hibernation;
  if (b->cb_ref[CB_REMOVED] != LUA_NOREF)
    cb.registration_removed2 = t_removed2;
  if (b->cb_ref[CB_OUTCOME] != LUA_NOREF)
    cb.publish_outcome = t_outcome;
  if (b->cb_ref[CB_ADDED] != LUA_NOREF)
    cb.registration_added = t_added;
  if (b->cb_ref[CB_LOG] != LUA_NOREF)
    cb.log2 = t_log2;
  if (b->cb_ref[CB_REG_FILTER] != LUA_NOREF)
    cb.registration_filter = t_regfilter;
  if (b->cb_ref[CB_NOTIFY_FILTER] != LUA_NOREF)
    cb.notification_filter = t_notify;
  if (b->cb_ref[CB_SENDER_KNOWN] != LUA_NOREF)
    cb.sender_known = t_sender_known;

  int rc = cloudnotify_ctx_new(&b->ctx, &cb, b);
  if (rc < 0) {
    ctx_release(L, b);
    return push_error(L, rc);
  }
  lua_settop(L, self);
  return 1;
}

static int l_strerror(lua_State *L) {
  lua_pushstring(L, cloudnotify_strerror((int)luaL_checkinteger(L, 1)));
  return 1;
}

static int l_is_usage_error(lua_State *L) {
  lua_pushboolean(L, cloudnotify_is_usage_error((int)luaL_checkinteger(L, 1)));
  return 1;
}

static const luaL_Reg module_functions[] = {
  { "new", l_new },
  { "strerror", l_strerror },
  { "is_usage_error", l_is_usage_error },
  { NULL, NULL },
};

static const struct {
  const char *name;
  int value;
} error_constants[] = {
  { "ERR_INVALID_ARGUMENT", CLOUDNOTIFY_ERR_INVALID_ARGUMENT },
  { "ERR_XML", CLOUDNOTIFY_ERR_XML },
  { "ERR_TOO_LARGE", CLOUDNOTIFY_ERR_TOO_LARGE },
  { "ERR_NOT_MINE", CLOUDNOTIFY_ERR_NOT_MINE },
  { "ERR_JID_MALFORMED", CLOUDNOTIFY_ERR_JID_MALFORMED },
  { "ERR_STORE", CLOUDNOTIFY_ERR_STORE },
  { "ERR_VTABLE_SIZE", CLOUDNOTIFY_ERR_VTABLE_SIZE },
  { "ERR_SEND", CLOUDNOTIFY_ERR_SEND },
  { "ERR_UNKNOWN_OPTION", CLOUDNOTIFY_ERR_UNKNOWN_OPTION },
  { "ERR_OPTION_VALUE", CLOUDNOTIFY_ERR_OPTION_VALUE },
  { "ERR_REENTRANT", CLOUDNOTIFY_ERR_REENTRANT },
  { "ERR_STATE", CLOUDNOTIFY_ERR_STATE },
  { "ERR_FOREIGN_SENDER", CLOUDNOTIFY_ERR_FOREIGN_SENDER },
  { "ERR_OP_DONE", CLOUDNOTIFY_ERR_OP_DONE },
  { "ERR_OP_CANCELLED", CLOUDNOTIFY_ERR_OP_CANCELLED },
  { "ERR_GONE", CLOUDNOTIFY_ERR_GONE },
  { "ERR_BUSY", CLOUDNOTIFY_ERR_BUSY },
  { "ERR_OP_UNKNOWN", CLOUDNOTIFY_ERR_OP_UNKNOWN },
  { "ERR_STORE_LOCKED", CLOUDNOTIFY_ERR_STORE_LOCKED },
  { "ERR_STORE_CORRUPT", CLOUDNOTIFY_ERR_STORE_CORRUPT },
  { "ERR_STORE_VERSION", CLOUDNOTIFY_ERR_STORE_VERSION },
  { "ERR_STORE_IO", CLOUDNOTIFY_ERR_STORE_IO },
  { "ERR_PG_CONNINFO", CLOUDNOTIFY_ERR_PG_CONNINFO },
  { "ERR_PG_UNAVAILABLE", CLOUDNOTIFY_ERR_PG_UNAVAILABLE },
  { "ERR_PG_QUERY", CLOUDNOTIFY_ERR_PG_QUERY },
  { "ERR_PG_SCHEMA", CLOUDNOTIFY_ERR_PG_SCHEMA },
};

#if defined(__GNUC__)
#define CN_LUA_EXPORT LUAMOD_API __attribute__((visibility("default")))
#else
#define CN_LUA_EXPORT LUAMOD_API
#endif

CN_LUA_EXPORT int luaopen_cloudnotify(lua_State *L);

CN_LUA_EXPORT int luaopen_cloudnotify(lua_State *L) {
  luaL_checkversion(L);

  luaL_newmetatable(L, CTX_MT);
  luaL_newlib(L, ctx_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, c_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, c_gc);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, c_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);

  luaL_newmetatable(L, SESSION_MT);
  luaL_newlib(L, session_methods);
  lua_pushcclosure(L, s_index, 1);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, s_newindex);
  lua_setfield(L, -2, "__newindex");
  lua_pushcfunction(L, s_gc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, s_gc);
  lua_setfield(L, -2, "__close");
  lua_pushcfunction(L, s_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);

  luaL_newmetatable(L, PUSH_MT);
  lua_pushcfunction(L, push_index);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);

  luaL_newlib(L, module_functions);
  lua_pushstring(L, cloudnotify_version_string());
  lua_setfield(L, -2, "version");
  lua_pushliteral(L, CLOUDNOTIFY_NS_PUSH);
  lua_setfield(L, -2, "NS_PUSH");
  for (size_t i = 0; i < sizeof error_constants / sizeof error_constants[0]; i++) {
    lua_pushinteger(L, error_constants[i].value);
    lua_setfield(L, -2, error_constants[i].name);
  }
  return 1;
}
