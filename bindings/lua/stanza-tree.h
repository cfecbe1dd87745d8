/* Stanzas crossing between util.stanza-shaped Lua tables and the library
 * without text: a cloudnotify_tree adapter reading the tables, and a
 * cloudnotify_builder making them. */
#ifndef CN_LUA_STANZA_TREE_H
#define CN_LUA_STANZA_TREE_H

#include <lua.h>

#include <cloudnotify/cloudnotify.h>

/* The adapter's data: the state of the method call and the stack slots
 * of the keys it reads, pushed beforehand so that reading allocates
 * nothing (no Lua error may unwind through the library's frames). */
typedef struct cn_lua_tree {
  lua_State *L;
  int keys; /* index of "name"; "attr" and "xmlns" follow */
} cn_lua_tree;

/* Push the keys (3 values) and fill lt.  Raises only before any library
 * call (out of memory). */
void cn_lua_tree_prepare(lua_State *L, cn_lua_tree *lt);

/* The tree of the table at absolute index idx. */
cloudnotify_tree cn_lua_tree_at(cn_lua_tree *lt, int idx);

/* What building stanzas keeps between builds: the record buffer and the
 * subtrees shared between stanzas to app servers.  One per context. */
typedef struct cn_lua_out cn_lua_out;

/* NULL when out of memory. */
cn_lua_out *cn_lua_out_new(void);
/* Releases its registry reference too; NULL does nothing. */
void cn_lua_out_free(lua_State *L, cn_lua_out *o);

/* Build the stanza as util.stanza tables with metatable at index mt (its
 * absolute index) and push the root.  With share, subtrees equal to (and
 * still unchanged from) ones built by an earlier call with share are
 * reused instead of built (for stanzas to app servers only).  o may be
 * NULL (nothing kept, nothing shared).  Runs every Lua operation
 * protected.  Returns 0 with the root pushed, or nonzero with an error
 * message pushed instead. */
int cn_lua_stanza_push(lua_State *L, const cloudnotify_stanza *st, int mt, cn_lua_out *o,
                       int share);

#endif
