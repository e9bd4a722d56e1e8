/* Full-text search over the FTS5 index of schema migration 5 (see
 * search.c). */
#ifndef STORE_SQLITE_SEARCH_H
#define STORE_SQLITE_SEARCH_H

#include <parley/plugin.h>

/* Relevance ranks the newest this many matches in the asker's rooms (a
 * word in most messages would otherwise cost a bm25 score for each);
 * its pages end there. */
#define SEARCH_CANDIDATES 5000
#define SEARCH_OFFSET_MAX SEARCH_CANDIDATES

/* The vtable's search member (loop thread): checks and copies q, runs on
 * a reader. */
int search_call(void *self, const parley_search_query *q, parley_store_done done, void *ud);

#endif
