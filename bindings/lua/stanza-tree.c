/* cloudnotify.stanza_tree(xml, mt): the library's outgoing XML text as a
 * tree of Lua tables in the shape Prosody's util.stanza uses (name, attr
 * with xmlns where declared, tags, children in the array part), each
 * given the metatable mt.  Prosody routes stanza objects, not text, and
 * util.xml.parse costs about 200 us for a publish; building the tables
 * from libxml2's tree here costs a small fraction of that.  The input is
 * the library's own output, but it is still parsed without network access
 * or entity substitution. */
#include <lauxlib.h>
#include <lua.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

#include "stanza-tree.h"

static void push_text(lua_State *L, const xmlNode *n) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (const xmlNode *c = n->children; c; c = c->next)
    if (c->type == XML_TEXT_NODE && c->content)
      luaL_addstring(&b, (const char *)c->content);
  luaL_pushresult(&b);
}

/* Leaves the element's table on the stack. */
static void push_element(lua_State *L, const xmlNode *n, int mt) {
  luaL_checkstack(L, 8, "stanza too deep");
  lua_createtable(L, 0, 4);
  int el = lua_gettop(L);
  lua_pushstring(L, (const char *)n->name);
  lua_setfield(L, el, "name");

  lua_createtable(L, 0, 2);
  for (const xmlNs *ns = n->nsDef; ns; ns = ns->next) {
    if (ns->prefix == NULL && ns->href) {
      lua_pushstring(L, (const char *)ns->href);
      lua_setfield(L, -2, "xmlns");
    }
  }
  for (const xmlAttr *a = n->properties; a; a = a->next) {
    if (a->ns && a->ns->prefix)
      lua_pushfstring(L, "%s:%s", (const char *)a->ns->prefix, (const char *)a->name);
    else
      lua_pushstring(L, (const char *)a->name);
    push_text(L, (const xmlNode *)a);
    lua_rawset(L, -3);
  }
  lua_setfield(L, el, "attr");

  lua_newtable(L);
  int tags = lua_gettop(L);
  lua_Integer child = 0, tag = 0;
  for (const xmlNode *c = n->children; c; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) {
      push_element(L, c, mt);
      lua_pushvalue(L, -1);
      lua_rawseti(L, tags, ++tag);
      lua_rawseti(L, el, ++child);
    } else if (c->type == XML_TEXT_NODE && c->content && *c->content) {
      lua_pushstring(L, (const char *)c->content);
      lua_rawseti(L, el, ++child);
    }
  }
  lua_setfield(L, el, "tags");
  lua_pushvalue(L, mt);
  lua_setmetatable(L, el);
}

int cn_lua_stanza_tree(lua_State *L) {
  size_t len;
  const char *xml = luaL_checklstring(L, 1, &len);
  luaL_checktype(L, 2, LUA_TTABLE);
  if (len > (size_t)0x7fffffff)
    return luaL_argerror(L, 1, "too large");
  xmlDoc *doc = xmlReadMemory(xml, (int)len, NULL, "UTF-8",
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
  if (!root || doc->intSubset) {
    xmlFreeDoc(doc);
    lua_pushnil(L);
    lua_pushliteral(L, "not well-formed XML");
    return 2;
  }
  push_element(L, root, 2);
  xmlFreeDoc(doc);
  return 1;
}
