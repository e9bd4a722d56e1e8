/* The one Lua allocator of the core: a heap capped at a byte limit, for
 * the config tree (base/conf_tree.c) and each script's sandbox
 * (lua/script_state.c). Past the limit an allocation fails, and Lua
 * raises "not enough memory" (after an emergency collection). */
#ifndef PARLEY_LUA_ALLOC_H
#define PARLEY_LUA_ALLOC_H

#include <stddef.h>

struct lua_heap {
	size_t used, peak; /* bytes */
	size_t limit;
};

/* A lua_Alloc; ud is a struct lua_heap *. */
void *lua_heap_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

#endif
