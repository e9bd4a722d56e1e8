/* Search sorted `recent` (see search_recent.c). */
#ifndef STORE_SQLITE_SEARCH_RECENT_H
#define STORE_SQLITE_SEARCH_RECENT_H

#include <stdint.h>

struct dbconn;
struct op;

/* A page is at most this many messages (the vtable's limit), plus one to
 * know there are more. */
#define SEARCH_RECENT_PAGE_MAX 101

/* Runs op's search newest first after the cursor (ts, id), both 0 for
 * the first page: the page in op's messages, more and the next cursor
 * set. PARLEY_OK or the error recorded in op. */
int search_recent_exec(struct dbconn *c, struct op *op, int64_t ts, int64_t id);

#endif
