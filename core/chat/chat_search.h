/* Search: the `search` request and GET /api/search (PROTOCOL.md). The
 * caller's query is parsed (search_query.h), from:/in: names resolved
 * among the users and the rooms the caller can read, and the store's
 * optional `search` member asked over exactly those rooms. */
#ifndef PARLEY_CHAT_SEARCH_H
#define PARLEY_CHAT_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

#include "chat/chat.h"

struct scope;

#define CHAT_SEARCH_DEFAULT    20
#define CHAT_SEARCH_MAX        100
#define CHAT_SEARCH_CURSOR_MAX 128

/* A search as given, before any check. */
struct chat_search_args {
	const char *query;
	size_t query_len;
	const char *room;   /* only this room; NULL: every readable room */
	const char *from;   /* only this author (a user id); NULL: anyone */
	int64_t before;     /* ts < before; 0: no bound */
	int64_t after;      /* ts > after; 0: no bound */
	const char *sort;   /* "relevance" (NULL) | "recent" */
	const char *cursor; /* a previous reply's cursor, or NULL */
	int64_t limit;      /* 0: CHAT_SEARCH_DEFAULT */
};

/* Searches as user (scope: a bot token's limits, NULL for a person).
 * done is called exactly once, maybe before this returns, with the reply
 * {"messages":[…],"more":bool,"cursor":…} or an error. */
void chat_search_http(const parley_user *user, const struct scope *scope,
                      const struct chat_search_args *a, chat_http_done done, void *ud);

/* Reads from the store the authors a names (from, from:NAME) that this
 * node has not met, before a search that would not find them. 0 when none
 * is missing (then does not run); 1 when then(ud) runs once the store
 * answered. */
int chat_search_find_authors(const struct chat_search_args *a, void (*then)(void *ud), void *ud);

#endif
