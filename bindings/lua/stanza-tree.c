/* util.stanza tables in and out of the library without text.
 *
 * In: a cloudnotify_tree adapter over the tables Prosody routes (name,
 * attr with xmlns where the namespace changes, the children in the array
 * part: tables for elements, strings for text).  Element handles are
 * absolute stack indices; every read is a raw access to values already
 * held by the tables, so nothing allocates and nothing can raise while
 * the library's frames are on the C stack.
 *
 * Out: the stanza is first recorded by a cloudnotify_builder into a flat
 * byte buffer (plain C: no Lua call runs inside the library's walk), then
 * made into those tables (name, attr, tags, the children, the host's
 * stanza metatable) by one protected Lua call reading the buffer.  For
 * stanzas to app servers, subtrees equal to one built for an earlier
 * stanza are shared instead of built again (see the cache below). */
#include <lauxlib.h>
#include <lua.h>

#include <stdint.h>
#include <stdlib.h>
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

/* The recorded form.  An element: REC_START, u32 length of the whole
 * record up to and including its REC_END, u8 flags, name, ns, u32 number
 * of attributes, each attribute as ns, name, value; then its children;
 * then REC_END.  Text: REC_TEXT, string.  A string is a u32 length, the
 * bytes and a NUL, or NO_STR alone for NULL. */
enum { REC_START = 1, REC_END = 2, REC_TEXT = 3 };
#define NO_STR UINT32_MAX
/* The element or one below it has a namespaced attribute: never shared
 * (the check of a shared subtree compares plain attribute names only). */
#define FLAG_NOSHARE 1
/* Deeper than anything the library emits: input nests at most 256 levels
 * (push_max_xml_depth), and a publish adds a few around the form it
 * copies. */
#define MAX_DEPTH 288

/* Subtrees of publishes repeat from one push to the next: the form's
 * FORM_TYPE field, the important-body placeholder, the publish-options
 * of a registration, often the whole <pubsub/> but for the counts.  Under
 * Prosody's collector (pause 105%) every byte a push allocates is paid
 * for again in marking the whole heap, and the tables of a 13-element
 * publish were most of what a push allocated.  So a subtree built for one
 * publish is kept (direct-mapped by a hash of its recorded bytes and its
 * parent's namespace) and put into the next publish whose recorded bytes
 * are the same.  Before reuse the Lua tables are compared with the
 * recorded bytes (names, attributes, children, tags, metatable): a host
 * module that changed a shared table in flight makes the next publish
 * build that subtree afresh, never carry the change.  Only stanzas to app
 * servers share (they are serialised as soon as they are routed); stanzas
 * to clients may be queued and changed (stream management) and are
 * always built afresh.  The root is never shared: its id differs. */
#define CACHE_SLOTS 128

typedef struct cache_slot {
  uint64_t hash;
  unsigned char *bytes; /* the recorded subtree, NULL: empty slot */
  size_t len;
  char *pns; /* the parent's namespace, NULL for none */
} cache_slot;

struct cn_lua_out {
  unsigned char *buf;
  size_t len, cap;
  int fail; /* out of memory while recording */
  size_t open[MAX_DEPTH];
  int depth;
  int busy;      /* a build is using buf (a finalizer may start another) */
  int slots_ref; /* registry ref of the table holding the shared subtrees */
  cache_slot slot[CACHE_SLOTS];
};

cn_lua_out *cn_lua_out_new(void) {
  cn_lua_out *o = calloc(1, sizeof *o);
  if (o)
    o->slots_ref = LUA_NOREF;
  return o;
}

void cn_lua_out_free(lua_State *L, cn_lua_out *o) {
  if (!o)
    return;
  luaL_unref(L, LUA_REGISTRYINDEX, o->slots_ref);
  for (int i = 0; i < CACHE_SLOTS; i++) {
    free(o->slot[i].bytes);
    free(o->slot[i].pns);
  }
  free(o->buf);
  free(o);
}

/* -- recording: the library's builder, C only -- */

static int put(cn_lua_out *o, const void *p, size_t n) {
  if (o->fail)
    return -1;
  if (n > o->cap - o->len) {
    size_t cap = o->cap ? o->cap : 1024;
    while (n > cap - o->len) {
      if (cap > SIZE_MAX / 2) {
        o->fail = 1;
        return -1;
      }
      cap *= 2;
    }
    unsigned char *nb = realloc(o->buf, cap);
    if (!nb) {
      o->fail = 1;
      return -1;
    }
    o->buf = nb;
    o->cap = cap;
  }
  memcpy(o->buf + o->len, p, n);
  o->len += n;
  return 0;
}

static int put_u32(cn_lua_out *o, uint32_t v) {
  return put(o, &v, sizeof v);
}

static int put_str(cn_lua_out *o, const char *str, size_t n) {
  if (!str)
    return put_u32(o, NO_STR);
  if (n >= NO_STR) {
    o->fail = 1;
    return -1;
  }
  /* NUL-terminated too: lua_pushfstring reads names as C strings. */
  return put_u32(o, (uint32_t)n) || put(o, str, n) || put(o, "", 1);
}

static int put_cstr(cn_lua_out *o, const char *str) {
  return put_str(o, str, str ? strlen(str) : 0);
}

static int r_start(void *data, const char *name, const char *ns, const cloudnotify_attr *attrs,
                   size_t n) {
  cn_lua_out *o = data;
  if (o->depth >= MAX_DEPTH || n >= NO_STR)
    return o->fail = -1;
  unsigned char tag = REC_START, flags = 0;
  size_t at = o->len;
  if (put(o, &tag, 1) || put_u32(o, 0) || put(o, &flags, 1) || put_cstr(o, name) ||
      put_cstr(o, ns) || put_u32(o, (uint32_t)n))
    return -1;
  int namespaced = 0;
  for (size_t i = 0; i < n; i++) {
    namespaced |= attrs[i].ns != NULL;
    if (put_cstr(o, attrs[i].ns) || put_cstr(o, attrs[i].name) || put_cstr(o, attrs[i].value))
      return -1;
  }
  o->open[o->depth++] = at;
  if (namespaced)
    for (int d = 0; d < o->depth; d++)
      o->buf[o->open[d] + 5] |= FLAG_NOSHARE;
  return 0;
}

static int r_text(void *data, const char *text, size_t len) {
  cn_lua_out *o = data;
  unsigned char tag = REC_TEXT;
  return put(o, &tag, 1) || put_str(o, text, len) ? -1 : 0;
}

static int r_end(void *data, const char *name) {
  cn_lua_out *o = data;
  (void)name;
  unsigned char tag = REC_END;
  if (o->depth <= 0 || put(o, &tag, 1))
    return -1;
  size_t at = o->open[--o->depth];
  size_t total = o->len - at;
  if (total >= NO_STR) {
    o->fail = 1;
    return -1;
  }
  uint32_t v = (uint32_t)total;
  memcpy(o->buf + at + 1, &v, sizeof v);
  return 0;
}

static const cloudnotify_builder recorder = {
  sizeof(cloudnotify_builder),
  r_start,
  r_text,
  r_end,
};

/* -- reading the record -- */

typedef struct rd {
  const unsigned char *p;
} rd;

static uint32_t get_u32(rd *r) {
  uint32_t v;
  memcpy(&v, r->p, sizeof v);
  r->p += sizeof v;
  return v;
}

/* *s is NULL for NO_STR. */
static void get_str(rd *r, const char **s, size_t *n) {
  uint32_t len = get_u32(r);
  if (len == NO_STR) {
    *s = NULL;
    *n = 0;
    return;
  }
  *s = (const char *)r->p;
  *n = len;
  r->p += (size_t)len + 1;
}

typedef struct rec_el {
  const unsigned char *start; /* REC_START */
  size_t total;
  int flags;
  const char *name, *ns;
  size_t name_len, ns_len;
  uint32_t n_attrs;
  const unsigned char *attrs; /* the first attribute */
  const unsigned char *children;
} rec_el;

static void get_el(const unsigned char *p, rec_el *e) {
  rd r = { p + 1 };
  e->start = p;
  e->total = get_u32(&r);
  e->flags = *r.p++;
  get_str(&r, &e->name, &e->name_len);
  get_str(&r, &e->ns, &e->ns_len);
  e->n_attrs = get_u32(&r);
  e->attrs = r.p;
  for (uint32_t i = 0; i < e->n_attrs; i++) {
    const char *s;
    size_t n;
    get_str(&r, &s, &n);
    get_str(&r, &s, &n);
    get_str(&r, &s, &n);
  }
  e->children = r.p;
}

static int same_str(const char *a, size_t alen, const char *b, size_t blen) {
  if (!a || !b)
    return a == b;
  return alen == blen && !memcmp(a, b, alen);
}

/* Whether the element's xmlns goes into its attr table. */
static int with_xmlns(const rec_el *e, const char *pns, size_t pns_len) {
  return e->ns && !same_str(e->ns, e->ns_len, pns, pns_len);
}

/* -- building -- */

typedef struct out_build {
  cn_lua_out *o;
  int mt;    /* absolute index of the metatable */
  int slots; /* absolute index of the shared subtrees' table, 0: no sharing */
} out_build;

static uint64_t hash_subtree(const rec_el *e, const char *pns, size_t pns_len) {
  uint64_t h = 1469598103934665603u;
  for (size_t i = 0; i < e->total; i++)
    h = (h ^ e->start[i]) * 1099511628211u;
  h = (h ^ (pns ? 1u : 0u)) * 1099511628211u;
  for (size_t i = 0; pns && i < pns_len; i++)
    h = (h ^ (unsigned char)pns[i]) * 1099511628211u;
  return h;
}

/* t[k] without metamethods (util.stanza's __index would answer for
 * absent keys). */
static int raw_key(lua_State *L, int t, const char *k) {
  lua_pushstring(L, k);
  return lua_rawget(L, t);
}

static int lua_str_is(lua_State *L, int idx, const char *s, size_t n) {
  size_t len;
  const char *v;
  if (lua_type(L, idx) != LUA_TSTRING)
    return 0;
  v = lua_tolstring(L, idx, &len);
  return same_str(v, len, s, n);
}

/* Whether the table at t is still exactly the recorded element e under a
 * parent of namespace pns.  Reads only; raises only when the stack cannot
 * grow. */
static int still_same(lua_State *L, const out_build *ob, int t, const rec_el *e, const char *pns,
                      size_t pns_len) {
  luaL_checkstack(L, 6, "shared stanza check");
  int top = lua_gettop(L);
  int ok = 0;
  if (lua_type(L, t) != LUA_TTABLE || !lua_getmetatable(L, t))
    goto out;
  if (!lua_rawequal(L, -1, ob->mt))
    goto out;
  if (raw_key(L, t, "name") != LUA_TSTRING || !lua_str_is(L, -1, e->name, e->name_len))
    goto out;
  /* attr: exactly xmlns where the namespace changes and the attributes. */
  if (raw_key(L, t, "attr") != LUA_TTABLE)
    goto out;
  int attr = lua_gettop(L);
  int xmlns = with_xmlns(e, pns, pns_len);
  size_t count = 0;
  lua_pushnil(L);
  while (lua_next(L, attr)) {
    count++;
    size_t klen;
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &klen) : NULL;
    int match = 0;
    if (k && xmlns && same_str(k, klen, "xmlns", 5)) {
      match = lua_str_is(L, -1, e->ns, e->ns_len);
    } else if (k) {
      rd r = { e->attrs };
      for (uint32_t i = 0; i < e->n_attrs && !match; i++) {
        const char *ans, *an, *av;
        size_t ansl, anl, avl;
        get_str(&r, &ans, &ansl);
        get_str(&r, &an, &anl);
        get_str(&r, &av, &avl);
        if (same_str(k, klen, an, anl))
          match = lua_str_is(L, -1, av, avl) ? 1 : -1;
      }
    }
    lua_pop(L, 1);
    if (match != 1) {
      lua_pop(L, 1);
      goto out;
    }
  }
  if (count != e->n_attrs + (size_t)xmlns)
    goto out;
  /* children and tags */
  if (raw_key(L, t, "tags") != LUA_TTABLE)
    goto out;
  int tags = lua_gettop(L);
  const unsigned char *p = e->children;
  lua_Integer i = 0, j = 0;
  while (*p != REC_END) {
    i++;
    int type = lua_rawgeti(L, t, i);
    if (*p == REC_TEXT) {
      rd r = { p + 1 };
      const char *s;
      size_t n;
      get_str(&r, &s, &n);
      if (type != LUA_TSTRING || !lua_str_is(L, -1, s, n))
        goto out;
      p = r.p;
    } else {
      rec_el c;
      get_el(p, &c);
      if (!still_same(L, ob, lua_gettop(L), &c, e->ns, e->ns_len))
        goto out;
      j++;
      lua_rawgeti(L, tags, j);
      if (!lua_rawequal(L, -1, -2))
        goto out;
      lua_pop(L, 1);
      p += c.total;
    }
    lua_pop(L, 1);
  }
  ok = lua_rawlen(L, t) == (lua_Unsigned)i && lua_rawlen(L, tags) == (lua_Unsigned)j;
out:
  lua_settop(L, top);
  return ok;
}

static void append(lua_State *L, int list, int value) {
  lua_pushvalue(L, value);
  lua_rawseti(L, list, (lua_Integer)lua_rawlen(L, list) + 1);
}

/* Pushes the table of the element recorded at p (depth 0: the root).
 * Runs protected: may raise. */
static void build_el(lua_State *L, out_build *ob, const unsigned char *p, const char *pns,
                     size_t pns_len, int depth) {
  luaL_checkstack(L, 8, "stanza depth");
  rec_el e;
  get_el(p, &e);
  cache_slot *slot = NULL;
  uint64_t h = 0;
  if (ob->slots && depth > 0 && !(e.flags & FLAG_NOSHARE)) {
    h = hash_subtree(&e, pns, pns_len);
    slot = &ob->o->slot[h % CACHE_SLOTS];
    if (slot->bytes && slot->hash == h && slot->len == e.total &&
        !memcmp(slot->bytes, e.start, e.total) &&
        same_str(slot->pns, slot->pns ? strlen(slot->pns) : 0, pns, pns_len)) {
      lua_rawgeti(L, ob->slots, (lua_Integer)(slot - ob->o->slot) + 1);
      if (still_same(L, ob, lua_gettop(L), &e, pns, pns_len))
        return;
      lua_pop(L, 1);
    }
  }
  /* Sized for what most elements of a publish hold (one child; name,
   * attr and tags): under Prosody's eager collector every byte allocated
   * per push is paid for again in collection work. */
  lua_createtable(L, 1, 3);
  int el = lua_gettop(L);
  lua_pushlstring(L, e.name, e.name_len);
  lua_setfield(L, el, "name");
  /* xmlns where the namespace changes, as util.xmppstream leaves it. */
  int xmlns = with_xmlns(&e, pns, pns_len);
  lua_createtable(L, 0, (int)e.n_attrs + xmlns);
  int attr = lua_gettop(L);
  if (xmlns) {
    lua_pushlstring(L, e.ns, e.ns_len);
    lua_setfield(L, attr, "xmlns");
  }
  rd r = { e.attrs };
  for (uint32_t i = 0; i < e.n_attrs; i++) {
    const char *ans, *an, *av;
    size_t ansl, anl, avl;
    get_str(&r, &ans, &ansl);
    get_str(&r, &an, &anl);
    get_str(&r, &av, &avl);
    if (!ans)
      lua_pushlstring(L, an, anl);
    else if (same_str(ans, ansl, NS_XML, strlen(NS_XML)))
      lua_pushfstring(L, "xml:%s", an);
    else
      lua_pushfstring(L, "%s\1%s", ans, an);
    lua_pushlstring(L, av, avl);
    lua_rawset(L, attr);
  }
  lua_setfield(L, el, "attr");
  lua_newtable(L);
  int tags = lua_gettop(L);
  lua_pushvalue(L, tags);
  lua_setfield(L, el, "tags");
  lua_pushvalue(L, ob->mt);
  lua_setmetatable(L, el);
  const unsigned char *c = e.children;
  while (*c != REC_END) {
    if (*c == REC_TEXT) {
      rd tr = { c + 1 };
      const char *s;
      size_t n;
      get_str(&tr, &s, &n);
      lua_pushlstring(L, s, n);
      lua_rawseti(L, el, (lua_Integer)lua_rawlen(L, el) + 1);
      c = tr.p;
    } else {
      rec_el ce;
      get_el(c, &ce);
      build_el(L, ob, c, e.ns, e.ns_len, depth + 1);
      int child = lua_gettop(L);
      append(L, el, child);
      append(L, tags, child);
      lua_pop(L, 1);
      c += ce.total;
    }
  }
  lua_settop(L, el);
  if (slot) {
    /* Kept for the next stanza, replacing what the slot held. */
    unsigned char *bytes = malloc(e.total);
    char *pcopy = NULL;
    if (pns && (pcopy = malloc(pns_len + 1)) != NULL) {
      memcpy(pcopy, pns, pns_len);
      pcopy[pns_len] = '\0';
    }
    free(slot->bytes);
    free(slot->pns);
    slot->bytes = NULL;
    slot->pns = NULL;
    if (bytes && (!pns || pcopy) && !memchr(pns ? pns : "", '\0', pns_len)) {
      memcpy(bytes, e.start, e.total);
      slot->bytes = bytes;
      slot->len = e.total;
      slot->hash = h;
      slot->pns = pcopy;
      lua_pushvalue(L, el);
      lua_rawseti(L, ob->slots, (lua_Integer)(slot - ob->o->slot) + 1);
    } else {
      free(bytes);
      free(pcopy);
      lua_pushnil(L);
      lua_rawseti(L, ob->slots, (lua_Integer)(slot - ob->o->slot) + 1);
    }
  }
}

/* Arguments: the out_build (light userdata), the metatable, the slots
 * table or nil.  Returns the root. */
static int p_build(lua_State *L) {
  out_build *ob = lua_touserdata(L, 1);
  ob->mt = 2;
  ob->slots = lua_istable(L, 3) ? 3 : 0;
  build_el(L, ob, ob->o->buf, NULL, 0, 0);
  return 1;
}

int cn_lua_stanza_push(lua_State *L, const cloudnotify_stanza *st, int mt, cn_lua_out *o,
                       int share) {
  if (!lua_checkstack(L, 6))
    return -1;
  /* A build started from inside another (a finalizer of another context
   * sending a stanza while this one's tables are made) records into a
   * buffer of its own and shares nothing. */
  cn_lua_out *mine = NULL;
  if (!o || o->busy) {
    mine = cn_lua_out_new();
    if (!mine) {
      lua_pushliteral(L, "out of memory");
      return -1;
    }
    o = mine;
    share = 0;
  }
  o->busy = 1;
  o->len = 0;
  o->depth = 0;
  o->fail = 0;
  int rc = cloudnotify_stanza_build(st, &recorder, o);
  if (rc == 0 && (o->fail || o->depth != 0 || o->len == 0 || o->buf[0] != REC_START))
    rc = -1;
  if (rc != 0) {
    if (o->fail > 0)
      lua_pushliteral(L, "out of memory");
    else if (rc == -1)
      lua_pushliteral(L, "stanza too deep or too large");
    else
      lua_pushstring(L, cloudnotify_strerror(rc));
  } else {
    out_build ob = { o, 0, 0 };
    int top = lua_gettop(L);
    lua_pushcfunction(L, p_build);
    lua_pushlightuserdata(L, &ob);
    lua_pushvalue(L, mt);
    if (share) {
      if (o->slots_ref == LUA_NOREF) {
        lua_createtable(L, CACHE_SLOTS, 0);
        o->slots_ref = luaL_ref(L, LUA_REGISTRYINDEX);
      }
      lua_rawgeti(L, LUA_REGISTRYINDEX, o->slots_ref);
    } else {
      lua_pushnil(L);
    }
    if (lua_pcall(L, 3, 1, 0) != LUA_OK)
      rc = -1;
    lua_settop(L, top + 1);
  }
  o->busy = 0;
  if (mine)
    cn_lua_out_free(L, mine);
  return rc;
}
