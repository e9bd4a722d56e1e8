/* The capped Lua allocator (lua_alloc.h). */
#include "base/lua_alloc.h"

#include <stdlib.h>

void *lua_heap_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct lua_heap *h = ud;
	size_t old = ptr ? osize : 0; /* with ptr NULL, osize is a type tag */
	if (nsize == 0) {
		free(ptr);
		h->used -= old;
		return NULL;
	}
	if (nsize > old && h->used - old + nsize > h->limit)
		return NULL;
	void *p = realloc(ptr, nsize);
	if (!p)
		return NULL;
	h->used = h->used - old + nsize;
	if (h->used > h->peak)
		h->peak = h->used;
	return p;
}
