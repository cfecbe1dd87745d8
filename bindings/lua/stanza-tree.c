/* util.stanza tables in and out of the library without text.
 *
 * In: a cloudnotify_tree adapter over the tables Prosody routes (name,
 * attr with xmlns where the namespace changes, the children in the array
 * part: tables for elements, strings for text).  Element handles are
 * absolute stack indices; every read is a raw access to values already
 * held by the tables, so nothing allocates and nothing can raise while
 * the library's frames are on the C stack.
 *
 * Out: a cloudnotify_builder making those tables (name, attr, tags, the
 * children), each given the host's stanza metatable.  Building allocates,
 * so each builder step runs under lua_pcall and a failure stops the walk
 * cleanly. */
#include <lauxlib.h>
#include <lua.h>

#include <stdint.h>
#include <string.h>

#include "stanza-tree.h"

#define NS_XML "http://www.w3.org/XML/1998/namespace"

/* ---- in ------------------------------------------------------------- */

enum { KEY_NAME, KEY_ATTR, KEY_XMLNS };

void cn_lua_tree_prepare(lua_State *L, cn_lua_tree *lt) {
  luaL_checkstack(L, 3, "stanza keys");
  lt->L = L;
  lt->keys = lua_gettop(L) + 1;
  lua_pushliteral(L, "name");
  lua_pushliteral(L, "attr");
  lua_pushliteral(L, "xmlns");
}

static int el_index(const void *el) {
  return (int)(intptr_t)el;
}

/* Pushes t[key] raw; returns its type, or LUA_TNONE without a push when
 * the stack cannot grow. */
static int raw_field(cn_lua_tree *lt, int t, int key) {
  if (!lua_checkstack(lt->L, 2))
    return LUA_TNONE;
  lua_pushvalue(lt->L, lt->keys + key);
  return lua_rawget(lt->L, t);
}

static int op_name(void *data, const void *el, const char **name, size_t *len) {
  cn_lua_tree *lt = data;
  int top = lua_gettop(lt->L);
  if (raw_field(lt, el_index(el), KEY_NAME) != LUA_TSTRING) {
    lua_settop(lt->L, top);
    return -1;
  }
  /* The table holds the string, and tables do not change during the
   * call: the pointer outlives the pop. */
  *name = lua_tolstring(lt->L, -1, len);
  lua_settop(lt->L, top);
  return 0;
}

/* Pushes the attr table (or nil); LUA_TNONE pushes nothing. */
static int attr_table(cn_lua_tree *lt, int t) {
  return raw_field(lt, t, KEY_ATTR);
}

static int op_ns(void *data, const void *el, const char **ns, size_t *len) {
  cn_lua_tree *lt = data;
  lua_State *L = lt->L;
  int top = lua_gettop(L);
  *ns = NULL;
  *len = 0;
  int type = attr_table(lt, el_index(el));
  if (type == LUA_TNONE)
    return -1;
  int rc = 0;
  if (type == LUA_TTABLE) {
    int x = raw_field(lt, lua_gettop(L), KEY_XMLNS);
    if (x == LUA_TSTRING)
      *ns = lua_tolstring(L, -1, len);
    else if (x != LUA_TNIL)
      rc = -1;
  } else if (type != LUA_TNIL) {
    rc = -1;
  }
  lua_settop(L, top);
  return rc;
}

static int op_attrs(void *data, const void *el,
                    int (*visit)(void *, const char *, size_t, const char *, size_t, const char *,
                                 size_t),
                    void *vd) {
  cn_lua_tree *lt = data;
  lua_State *L = lt->L;
  int top = lua_gettop(L);
  int type = attr_table(lt, el_index(el));
  if (type != LUA_TTABLE) {
    lua_settop(L, top);
    return type == LUA_TNIL ? 0 : -1;
  }
  int attr = lua_gettop(L);
  int rc = 0;
  if (!lua_checkstack(L, 3)) {
    lua_settop(L, top);
    return -1;
  }
  lua_pushnil(L);
  while (rc == 0 && lua_next(L, attr)) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
      rc = -1;
      break;
    }
    size_t klen, vlen;
    const char *k = lua_tolstring(L, -2, &klen);
    const char *v = lua_tolstring(L, -1, &vlen);
    lua_pop(L, 1);
    /* Namespace declarations are not attributes. */
    if ((klen == 5 && !memcmp(k, "xmlns", 5)) || (klen > 6 && !memcmp(k, "xmlns:", 6)))
      continue;
    /* util.xmppstream's keys: "xml:lang" for the XML namespace,
     * "uri\1name" for any other. */
    const char *sep = memchr(k, '\1', klen);
    if (sep) {
      rc = visit(vd, k, (size_t)(sep - k), sep + 1, klen - (size_t)(sep - k) - 1, v, vlen);
    } else if (klen > 4 && !memcmp(k, "xml:", 4)) {
      rc = visit(vd, NS_XML, strlen(NS_XML), k + 4, klen - 4, v, vlen);
    } else {
      rc = visit(vd, NULL, 0, k, klen, v, vlen);
    }
  }
  lua_settop(L, top);
  return rc;
}

static int op_children(void *data, const void *el, const cloudnotify_tree_visitor *v, void *vd) {
  cn_lua_tree *lt = data;
  lua_State *L = lt->L;
  int t = el_index(el);
  int top = lua_gettop(L);
  lua_Unsigned n = lua_rawlen(L, t);
  int rc = 0;
  for (lua_Unsigned i = 1; rc == 0 && i <= n; i++) {
    if (!lua_checkstack(L, 4))
      return -1;
    int type = lua_rawgeti(L, t, (lua_Integer)i);
    if (type == LUA_TTABLE) {
      rc = v->element(vd, (const void *)(intptr_t)lua_gettop(L));
    } else if (type == LUA_TSTRING) {
      size_t len;
      const char *s = lua_tolstring(L, -1, &len);
      rc = v->text(vd, s, len);
    } else {
      rc = -1;
    }
    lua_settop(L, top);
  }
  return rc;
}

static const cloudnotify_tree_ops lua_tree_ops = {
  sizeof(cloudnotify_tree_ops), op_name, op_ns, op_attrs, op_children,
};

cloudnotify_tree cn_lua_tree_at(cn_lua_tree *lt, int idx) {
  cloudnotify_tree t = { &lua_tree_ops, lt, (const void *)(intptr_t)lua_absindex(lt->L, idx) };
  return t;
}

/* ---- out ------------------------------------------------------------ */

/* The tables being built live in a Lua table S on the stack: for depth d
 * (1 = the root) S[3d-2] is the element, S[3d-1] its tags, S[3d] its
 * namespace (false for none). */
typedef struct lbuild {
  lua_State *L;
  int S, mt;
  int depth;
  /* The step's arguments, read by the protected function. */
  const char *name, *ns, *text;
  const cloudnotify_attr *attrs;
  size_t n, len;
} lbuild;

static void push_ns(lua_State *L, const char *ns) {
  if (ns)
    lua_pushstring(L, ns);
  else
    lua_pushboolean(L, 0);
}

/* Protected steps run in their own frame: S and the metatable come as
 * arguments 2 and 3. */
static int p_start(lua_State *L) {
  lbuild *b = lua_touserdata(L, 1);
  const int S = 2, mt = 3;
  int d = b->depth;
  /* Sized for what most elements of a publish hold (one child; name,
   * attr and tags): under Prosody's eager collector (pause 105%) every
   * byte allocated per push is paid for again in collection work. */
  lua_createtable(L, 1, 3);
  int el = lua_gettop(L);
  lua_pushstring(L, b->name);
  lua_setfield(L, el, "name");
  /* xmlns where the namespace changes, as util.xmppstream leaves it. */
  push_ns(L, b->ns);
  if (d == 0)
    lua_pushboolean(L, 0);
  else
    lua_rawgeti(L, S, 3 * d);
  int with_ns = b->ns && !lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  lua_createtable(L, 0, (int)b->n + with_ns);
  int attr = lua_gettop(L);
  if (with_ns) {
    lua_pushstring(L, b->ns);
    lua_setfield(L, attr, "xmlns");
  }
  for (size_t i = 0; i < b->n; i++) {
    const cloudnotify_attr *a = &b->attrs[i];
    if (!a->ns)
      lua_pushstring(L, a->name);
    else if (!strcmp(a->ns, NS_XML))
      lua_pushfstring(L, "xml:%s", a->name);
    else
      lua_pushfstring(L, "%s\1%s", a->ns, a->name);
    lua_pushstring(L, a->value);
    lua_rawset(L, attr);
  }
  lua_setfield(L, el, "attr");
  lua_newtable(L);
  int tags = lua_gettop(L);
  lua_pushvalue(L, tags);
  lua_setfield(L, el, "tags");
  lua_pushvalue(L, mt);
  lua_setmetatable(L, el);
  if (d > 0) {
    lua_rawgeti(L, S, 3 * d - 2);
    lua_pushvalue(L, el);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_rawgeti(L, S, 3 * d - 1);
    lua_pushvalue(L, el);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  }
  d++;
  lua_pushvalue(L, el);
  lua_rawseti(L, S, 3 * d - 2);
  lua_pushvalue(L, tags);
  lua_rawseti(L, S, 3 * d - 1);
  push_ns(L, b->ns);
  lua_rawseti(L, S, 3 * d);
  b->depth = d;
  return 0;
}

static int p_text(lua_State *L) {
  lbuild *b = lua_touserdata(L, 1);
  lua_rawgeti(L, 2, 3 * b->depth - 2);
  lua_pushlstring(L, b->text, b->len);
  lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
  return 0;
}

static int step(lbuild *b, lua_CFunction fn) {
  lua_State *L = b->L;
  if (!lua_checkstack(L, 8))
    return -1;
  int top = lua_gettop(L);
  lua_pushcfunction(L, fn);
  lua_pushlightuserdata(L, b);
  lua_pushvalue(L, b->S);
  lua_pushvalue(L, b->mt);
  int status = lua_pcall(L, 3, 0, 0);
  /* On failure the message stays for cn_lua_stanza_push to report. */
  if (status != LUA_OK)
    return 1;
  lua_settop(L, top);
  return 0;
}

static int b_start(void *data, const char *name, const char *ns, const cloudnotify_attr *attrs,
                   size_t n) {
  lbuild *b = data;
  b->name = name;
  b->ns = ns;
  b->attrs = attrs;
  b->n = n;
  return step(b, p_start);
}

static int b_text(void *data, const char *text, size_t len) {
  lbuild *b = data;
  b->text = text;
  b->len = len;
  return step(b, p_text);
}

static int b_end(void *data, const char *name) {
  lbuild *b = data;
  (void)name;
  b->depth--;
  return 0;
}

static const cloudnotify_builder lua_builder = {
  sizeof(cloudnotify_builder),
  b_start,
  b_text,
  b_end,
};

/* The registry key of the depth stack kept between builds. */
static const char stack_key;

int cn_lua_stanza_push(lua_State *L, const cloudnotify_stanza *st, int mt) {
  if (!lua_checkstack(L, 6))
    return -1;
  /* The depth stack is kept between builds (one table less per push). It
   * is taken out of the registry while in use, so that a build started
   * from inside another (a finalizer sending a stanza) makes its own. */
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &stack_key) == LUA_TTABLE) {
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &stack_key);
  } else {
    lua_pop(L, 1);
    lua_createtable(L, 24, 0);
  }
  int S = lua_gettop(L);
  lbuild b = { L, S, mt, 0, NULL, NULL, NULL, NULL, 0, 0 };
  int rc = cloudnotify_stanza_build(st, &lua_builder, &b);
  /* The result goes to S + 1: the root, or the message a failed step
   * left there, or the library's error. */
  if (rc == 0)
    lua_rawgeti(L, S, 1);
  else if (lua_gettop(L) == S)
    lua_pushfstring(L, "%s", cloudnotify_strerror(rc));
  lua_settop(L, S + 1);
  /* Emptied (every slot up to the deepest level is set) before it is put
   * back, so that it keeps no stanza alive. */
  for (lua_Integer i = 1; lua_rawgeti(L, S, i) != LUA_TNIL; i++) {
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_rawseti(L, S, i);
  }
  lua_pop(L, 1);
  lua_pushvalue(L, S);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &stack_key);
  lua_replace(L, S);
  return rc;
}
