/* Messages over HTTP (PROTOCOL.md "HTTP API"), through the chat layer:
 *   GET  /api/rooms/{id}/messages?before=&after=&limit=   history
 *   POST /api/rooms/{id}/messages {text, client_id?, thread?, also_room?}
 *        one message (a webhook's or bot's way in: idempotent by
 *        client_id; a reply in a thread with thread) */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "chat/chat.h"

#define API_HISTORY_DEFAULT 50 /* PROTOCOL.md: history limit */
#define API_HISTORY_MAX     100

/* chat_http_* call this on every path, errors included. */
static void chat_done(void *ud, int rc, const char *message, json_t *reply)
{
	struct api_ctx *x = ud;
	if (rc != PARLEY_OK || !reply)
		/* A refusal may carry its retry time (rate limits: 429 Retry-After). */
		api_ctx_fail(x, rc == PARLEY_OK ? PARLEY_ERR : rc, message,
		             json_integer_value(json_object_get(reply, "retry_after_ms")));
	else
		api_ctx_json(x, 200, json_incref(reply));
}

static void run_history(struct api_ctx *x)
{
	chat_http_history(&x->who, x->id, x->before, x->after, x->limit, chat_done, x);
}

void api_history(struct http_request *req, const struct api_route *r, const char *room_id)
{
	int64_t before = 0, after = -1, limit = API_HISTORY_DEFAULT;
	if (api_query_int(req, "before", 0, INT64_MAX, &before) < 0 ||
	    api_query_int(req, "after", 0, INT64_MAX, &after) < 0 ||
	    api_query_int(req, "limit", 1, API_HISTORY_MAX, &limit) < 0)
		return;
	struct api_ctx *x = api_ctx_new(req, r, run_history, room_id, NULL);
	if (!x)
		return;
	x->before = before;
	x->after = after;
	x->limit = (int)limit;
	api_ctx_start(req, x);
}

static void run_post(struct api_ctx *x)
{
	/* thread and also_room were checked in api_post; the body is kept. */
	json_t *thread = json_object_get(x->body, "thread");
	chat_http_post(&x->who, x->id, x->text, x->client_id, json_string_value(thread),
	               json_is_true(json_object_get(x->body, "also_room")), chat_done, x);
}

void api_post(struct http_request *req, const struct api_route *r, const char *room_id)
{
	json_t *body = api_body(req);
	const char *text, *client_id, *thread;
	if (!body)
		return;
	if (api_body_str(req, body, "text", 1, &text) < 0 ||
	    api_body_str(req, body, "client_id", 0, &client_id) < 0 ||
	    api_body_str(req, body, "thread", 0, &thread) < 0) {
		json_decref(body);
		return;
	}
	json_t *also_room = json_object_get(body, "also_room");
	if (also_room && !json_is_boolean(also_room) && !json_is_null(also_room)) {
		api_error(req, 400, "bad_request", "also_room: expected true or false");
		json_decref(body);
		return;
	}
	struct api_ctx *x = api_ctx_new(req, r, run_post, room_id, body);
	if (!x)
		return;
	if (!(x->text = strdup(text)) || (client_id && !(x->client_id = strdup(client_id)))) {
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		api_ctx_free(x);
		return;
	}
	api_ctx_start(req, x);
}
