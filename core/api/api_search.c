/* GET /api/search?q=…&room=&from=&before=&after=&sort=&cursor=&limit=:
 * the `search` request over HTTP (chat_search.h), for people and for bot
 * tokens with the read scope (limited to their rooms). */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "chat/chat_search.h"
#include "chat/scope.h"
#include "net/http.h"

static void search_answered(void *ud, int rc, const char *message, json_t *reply)
{
	struct api_ctx *x = ud;
	if (rc != PARLEY_OK)
		api_ctx_fail(x, rc, message, 0);
	else
		api_ctx_json(x, 200, json_incref(reply));
}

/* An integer query parameter in [lo, hi]; 0 when absent. -1 answered. */
static int query_int(struct api_ctx *x, struct http_request *req, const char *key, int64_t lo,
                     int64_t hi, int64_t *out)
{
	*out = 0;
	/* api_query_int answers the 400 itself; x then only needs freeing. */
	if (api_query_int(req, key, lo, hi, out) < 0) {
		api_ctx_free(x);
		return -1;
	}
	return 0;
}

static void search_run(struct api_ctx *x);

static void search_again(void *ud)
{
	search_run(ud);
}

static void search_run(struct api_ctx *x)
{
	struct http_request *req = api_ctx_req(x);
	if (!req) {
		api_ctx_free(x);
		return;
	}
	if (x->scope && !scope_allows(x->scope, SCOPE_READ, NULL)) {
		api_ctx_fail(x, PARLEY_EFORBIDDEN, "outside the token's scope", 0);
		return;
	}
	struct chat_search_args a = {0};
	if (query_int(x, req, "before", 0, INT64_MAX, &a.before) < 0 ||
	    query_int(x, req, "after", 0, INT64_MAX, &a.after) < 0 ||
	    query_int(x, req, "limit", 1, CHAT_SEARCH_MAX, &a.limit) < 0)
		return;
	char *q = http_query_param(req, "q"), *room = http_query_param(req, "room"),
	     *from = http_query_param(req, "from"), *sort = http_query_param(req, "sort"),
	     *cursor = http_query_param(req, "cursor");
	a.query = q;
	a.query_len = q ? strlen(q) : 0;
	a.room = room;
	a.from = from;
	a.sort = sort;
	a.cursor = cursor;
	/* An author this node has not met is read from the store once, then
	 * the request runs again (its parameters are read anew). */
	if (!x->authors_looked_up) {
		x->authors_looked_up = 1;
		if (chat_search_find_authors(&a, search_again, x)) {
			free(q);
			free(room);
			free(from);
			free(sort);
			free(cursor);
			return;
		}
	}
	/* done may run later: every string above is copied by then. */
	chat_search_http(&x->who, x->scope, &a, search_answered, x);
	free(q);
	free(room);
	free(from);
	free(sort);
	free(cursor);
}

void api_search(struct http_request *req, const struct api_route *r, const char *id)
{
	(void)id;
	struct api_ctx *x = api_ctx_new(req, r, search_run, NULL, NULL);
	if (x)
		api_ctx_start(req, x);
}
