/* parley.json and the conversions the host uses (options, kv values,
 * plugin functions). Tables with keys 1..n only are arrays; an empty
 * table is an empty object; other keys must be strings (numbers are
 * written as their decimal text). JSON null decodes to nil, so it
 * vanishes from tables. Depth is bounded both ways. */
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lua/script_internal.h"
#include "lua/scripts.h"

#define JSON_BOX "parley.jsonbox"

static int is_array(lua_State *L, int idx, size_t *len)
{
	size_t n = lua_rawlen(L, idx), count = 0;
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		count++;
		if (!lua_isinteger(L, -1)) {
			lua_pop(L, 1);
			return 0;
		}
	}
	*len = n;
	return n > 0 && count == n;
}

static json_t *from_lua(lua_State *L, int idx, int depth, const char **err)
{
	idx = lua_absindex(L, idx);
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		return json_null();
	case LUA_TBOOLEAN:
		return json_boolean(lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return json_integer((json_int_t)lua_tointeger(L, idx));
		if (!isfinite(lua_tonumber(L, idx))) {
			*err = "NaN and infinity have no JSON form";
			return NULL;
		}
		return json_real(lua_tonumber(L, idx));
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		json_t *v = json_stringn(s, n);
		if (!v)
			*err = "a string that is not UTF-8";
		return v;
	}
	case LUA_TTABLE:
		break;
	default:
		*err = "functions, threads and userdata have no JSON form";
		return NULL;
	}
	if (depth >= SCRIPT_JSON_DEPTH_MAX) {
		*err = "nested too deep (or a table contains itself)";
		return NULL;
	}
	if (!lua_checkstack(L, 4)) {
		*err = "nested too deep";
		return NULL;
	}
	size_t n;
	if (is_array(L, idx, &n)) {
		json_t *a = json_array();
		for (size_t i = 1; a && i <= n; i++) {
			lua_rawgeti(L, idx, (lua_Integer)i);
			json_t *v = from_lua(L, -1, depth + 1, err);
			lua_pop(L, 1);
			if (!v || json_array_append_new(a, v) < 0) {
				json_decref(a);
				return NULL;
			}
		}
		return a;
	}
	json_t *o = json_object();
	lua_pushnil(L);
	while (o && lua_next(L, idx)) {
		char buf[64];
		const char *key;
		if (lua_type(L, -2) == LUA_TSTRING) {
			key = lua_tostring(L, -2);
		} else if (lua_type(L, -2) == LUA_TNUMBER) {
			if (lua_isinteger(L, -2))
				snprintf(buf, sizeof buf, "%lld", (long long)lua_tointeger(L, -2));
			else
				snprintf(buf, sizeof buf, "%.17g", lua_tonumber(L, -2));
			key = buf;
		} else {
			*err = "object keys must be strings or numbers";
			lua_pop(L, 2);
			json_decref(o);
			return NULL;
		}
		json_t *v = from_lua(L, -1, depth + 1, err);
		if (!v || json_object_set_new(o, key, v) < 0) {
			lua_pop(L, 2);
			json_decref(o);
			return NULL;
		}
		lua_pop(L, 1);
	}
	return o;
}

json_t *json_from_lua(lua_State *L, int idx, const char **err)
{
	*err = NULL;
	return from_lua(L, idx, 0, err);
}

static void push(lua_State *L, const json_t *v, int depth)
{
	if (depth >= SCRIPT_JSON_DEPTH_MAX)
		luaL_error(L, "json: nested deeper than %d", SCRIPT_JSON_DEPTH_MAX);
	luaL_checkstack(L, 4, "json: nested too deep");
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *x;
		lua_createtable(L, 0, (int)json_object_size(v));
		json_object_foreach((json_t *)v, k, x)
		{
			push(L, x, depth + 1);
			lua_setfield(L, -2, k);
		}
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *x;
		lua_createtable(L, (int)json_array_size(v), 0);
		json_array_foreach(v, i, x)
		{
			push(L, x, depth + 1);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	}
	case JSON_STRING:
		lua_pushlstring(L, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		lua_pushinteger(L, (lua_Integer)json_integer_value(v));
		break;
	case JSON_REAL:
		lua_pushnumber(L, json_real_value(v));
		break;
	case JSON_TRUE:
		lua_pushboolean(L, 1);
		break;
	case JSON_FALSE:
		lua_pushboolean(L, 0);
		break;
	default:
		lua_pushnil(L);
	}
}

static int box_gc(lua_State *L)
{
	json_t **slot = luaL_checkudata(L, 1, JSON_BOX);
	json_decref(*slot);
	*slot = NULL;
	return 0;
}

void json_push_owned(lua_State *L, json_t *v)
{
	if (!v) {
		lua_pushnil(L);
		return;
	}
	json_t **slot = lua_newuserdatauv(L, sizeof *slot, 0);
	*slot = NULL;
	if (luaL_newmetatable(L, JSON_BOX)) {
		lua_pushcfunction(L, box_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushstring(L, "locked");
		lua_setfield(L, -2, "__metatable");
	}
	lua_setmetatable(L, -2);
	*slot = v; /* from here a raise leaves v to the collector */
	push(L, v, 0);
	json_decref(v);
	*slot = NULL;
	lua_remove(L, -2);
}

static int l_encode(lua_State *L)
{
	luaL_checkany(L, 1);
	const char *err = NULL;
	json_t *v = json_from_lua(L, 1, &err);
	if (!v)
		return luaL_error(L, "json.encode: %s", err ? err : "out of memory");
	char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
	json_decref(v);
	if (!text)
		return luaL_error(L, "json.encode: out of memory");
	lua_pushstring(L, text);
	free(text);
	return 1;
}

static int l_decode(lua_State *L)
{
	size_t n;
	const char *text = luaL_checklstring(L, 1, &n);
	if (n > SCRIPT_JSON_TEXT_MAX)
		return luaL_error(L, "json.decode: text longer than %d bytes",
		                  SCRIPT_JSON_TEXT_MAX);
	json_error_t e;
	json_t *v = json_loadb(text, n, JSON_DECODE_ANY, &e);
	if (!v) {
		lua_pushnil(L);
		lua_pushfstring(L, "json.decode: %s at line %d", e.text, e.line);
		return 2;
	}
	json_push_owned(L, v);
	return 1;
}

void json_open(lua_State *L)
{
	lua_pushcfunction(L, l_encode);
	lua_setfield(L, -2, "encode");
	lua_pushcfunction(L, l_decode);
	lua_setfield(L, -2, "decode");
}

void scripts_push_json(lua_State *L, json_t *v)
{
	json_push_owned(L, v);
}
