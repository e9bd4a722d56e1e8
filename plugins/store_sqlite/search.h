/* Full-text search over the FTS5 index of schema migration 5 (see
 * search.c). */
#ifndef STORE_SQLITE_SEARCH_H
#define STORE_SQLITE_SEARCH_H

#include <parley/plugin.h>

/* Largest relevance offset a cursor may carry (deep pages cost a sort of
 * every match). */
#define SEARCH_OFFSET_MAX 10000

/* The vtable's search member (loop thread): checks and copies q, runs on
 * a reader. */
int search_call(void *self, const parley_search_query *q, parley_store_done done, void *ud);

#endif
