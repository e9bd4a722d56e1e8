/* The chat operations of the HTTP API (POST and GET
 * /api/rooms/{id}/messages) for an authenticated user without a session.
 * They stay in the chat layer: they are the send path and history with a
 * completion instead of a frame, and core/api calls them down the layers. */
#include <stdlib.h>
#include <string.h>

#include "base/loop.h"
#include "chat/chat.h"
#include "chat/chat_internal.h"
#include "chat/thread_args.h"

struct http_op {
	chat_http_done done;
	void *ud;
	char *client_id; /* post */
	int reverse;     /* history: neither before nor after (newest first) */
	char *room_id;
	user_rec *user;
};

static void http_op_free(struct http_op *op)
{
	free(op->client_id);
	free(op->room_id);
	free(op);
}

static void http_post_done(void *ud, int rc, const char *message, const parley_message *m,
                           int duplicate, int command)
{
	struct http_op *op = ud;
	if (rc != PARLEY_OK) {
		op->done(op->ud, rc, message, NULL);
	} else {
		json_t *ack = chat_ack(op->client_id, m, duplicate, command);
		if (ack && m)
			json_object_set_new(ack, "room", json_string(m->room_id));
		op->done(op->ud, PARLEY_OK, NULL, ack);
		json_decref(ack);
	}
	http_op_free(op);
}

static int http_room(const parley_user *pu, const char *room_id, user_rec **u, room **r,
                     const char **why)
{
	*u = chat_user_from(pu);
	if (!*u) {
		*why = "out of memory";
		return PARLEY_ENOMEM;
	}
	*r = room_by_id(room_id);
	member *m;
	int rc = chat_check_member(*r, *u, &m);
	if (rc != PARLEY_OK)
		*why = rc == PARLEY_ENOTFOUND ? "no such room" : "not a member of this room";
	return rc;
}

int chat_http_post(const parley_user *pu, const char *room_id, const char *text,
                   const char *client_id, const char *thread, int also_room, chat_http_done done,
                   void *ud)
{
	user_rec *u;
	room *r;
	const char *why = NULL;
	int rc = http_room(pu, room_id, &u, &r, &why);
	if (rc != PARLEY_OK) {
		done(ud, rc, why, NULL);
		return rc;
	}
	int64_t wait_ms = chat_rate_take(u, RATE_SEND);
	if (wait_ms > 0) {
		json_t *retry = json_pack("{s:I}", "retry_after_ms", (json_int_t)wait_ms);
		done(ud, PARLEY_ERATELIMIT, "too many messages: try again later", retry);
		json_decref(retry);
		return PARLEY_ERATELIMIT;
	}
	if (client_id && strlen(client_id) > PROTO_MAX_CLIENT_ID) {
		done(ud, PARLEY_EINVAL, "client_id: too long", NULL);
		return PARLEY_EINVAL;
	}
	const char *bad = thread_args_error(thread, also_room);
	if (bad) {
		done(ud, PARLEY_EINVAL, bad, NULL);
		return PARLEY_EINVAL;
	}
	struct http_op *op = calloc(1, sizeof *op);
	if (!op || !(op->room_id = strdup(room_id)) ||
	    (client_id && !(op->client_id = strdup(client_id)))) {
		if (op)
			http_op_free(op);
		done(ud, PARLEY_ENOMEM, "out of memory", NULL);
		return PARLEY_ENOMEM;
	}
	op->done = done;
	op->ud = ud;
	op->user = u;
	struct chat_post p = {.author = u,
	                      .room = r,
	                      .text = text,
	                      .client_id = client_id,
	                      .thread = thread,
	                      .also_room = also_room,
	                      .t0 = ev_now(loop_ev)};
	chat_post_message(&p, http_post_done, op);
	return PARLEY_PENDING;
}

static void http_history_done(void *ud, const parley_store_result *res)
{
	struct http_op *op = ud;
	if (res->rc != PARLEY_OK) {
		op->done(op->ud, res->rc, "history unavailable", NULL);
	} else {
		json_t *reply = chat_history_reply(res, op->room_id, op->user, op->reverse);
		op->done(op->ud, PARLEY_OK, NULL, reply);
		json_decref(reply);
	}
	http_op_free(op);
}

int chat_http_history(const parley_user *pu, const char *room_id, int64_t before, int64_t after,
                      int limit, chat_http_done done, void *ud)
{
	user_rec *u;
	room *r;
	const char *why = NULL;
	int rc = http_room(pu, room_id, &u, &r, &why);
	if (rc != PARLEY_OK) {
		done(ud, rc, why, NULL);
		return rc;
	}
	if (limit <= 0)
		limit = CHAT_HISTORY_DEFAULT;
	if (limit > CHAT_HISTORY_MAX || before < 0 || (before > 0 && after >= 0)) {
		done(ud, PARLEY_EINVAL, "limit: at most 100; before and after: one of them", NULL);
		return PARLEY_EINVAL;
	}
	struct http_op *op = calloc(1, sizeof *op);
	if (!op || !(op->room_id = strdup(room_id))) {
		free(op);
		done(ud, PARLEY_ENOMEM, "out of memory", NULL);
		return PARLEY_ENOMEM;
	}
	op->done = done;
	op->ud = ud;
	op->user = u;
	op->reverse = before == 0 && after < 0;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (st->history(self, r->id, before, after, limit, http_history_done, op) !=
	    PARLEY_PENDING) {
		http_op_free(op);
		done(ud, PARLEY_EUNAVAIL, "store unavailable", NULL);
		return PARLEY_EUNAVAIL;
	}
	return PARLEY_PENDING;
}
