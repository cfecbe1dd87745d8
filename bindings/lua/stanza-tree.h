#ifndef CN_LUA_STANZA_TREE_H
#define CN_LUA_STANZA_TREE_H
#include <lua.h>
int cn_lua_stanza_tree(lua_State *L);
#endif
