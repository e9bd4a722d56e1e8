/* A built-in command that stores nothing (/topic, /invite, /leave,
 * /notify, /mute, /help), typed in a send: like a script's command it
 * runs once per client_id — a resend after a reconnect, on this node or
 * another, is acked and not run again — and its answer is a command ack
 * (chat_builtins.h). */
#include <stdlib.h>

#include "chat/chat_builtins.h"
#include "chat/chat_internal.h"
#include "chat/chat_threads.h"
#include "chat/command_dedup.h"
#include "chat/command_reply.h"

static void ack_repeat(client *cl, json_t *rid, const char *client_id)
{
	json_t *ack = chat_ack(client_id, NULL, 1, 1);
	if (ack && rid)
		json_object_set(ack, "rid", rid);
	chat_send_json(cl, ack);
}

static void run(client *cl, json_t *rid, room *r, const char *thread, const char *text,
                const char *client_id)
{
	json_t *stand_in = command_reply_begin(cl, rid, client_id);
	if (!stand_in) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL,
		                 "too many commands waiting for their answer: try again");
		return;
	}
	command_dedup_ran(cl->user->id, client_id);
	char *rewritten = NULL;
	chat_builtin_run(cl, stand_in, r, thread, text, &rewritten);
	free(rewritten); /* a request kind rewrites nothing */
	json_decref(stand_in);
}

/* The cluster's count of this client_id: above 1, some node ran it. */
static void counted(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = chat_ws_op_client(op);
	room *r = op->room_id ? room_by_id(op->room_id) : NULL;
	const char *text = json_string_value(json_object_get(op->req, "text"));
	const char *client_id = json_string_value(json_object_get(op->req, "client_id"));
	const char *thread = json_string_value(json_object_get(op->req, "thread"));
	if (!cl) {
		/* the session is gone: nothing to answer */
	} else if (!r || !text) {
		chat_reply_error(cl, op->rid, PARLEY_ENOTFOUND, "the room is gone");
	} else if (res->rc == PARLEY_OK && res->value > 1) {
		command_dedup_ran(cl->user->id, client_id);
		ack_repeat(cl, op->rid, client_id);
	} else {
		/* A store that cannot answer: this node's memory decided. */
		run(cl, op->rid, r, thread, text, client_id);
	}
	chat_ws_op_free(op);
}

/* The cluster's count is asked (its answer runs the command), or, with
 * no cluster, the command runs now. Takes op. */
static void ask_then_run(struct ws_op *op, client *cl, room *r)
{
	const char *client_id = json_string_value(json_object_get(op->req, "client_id"));
	if (command_dedup_ask(cl->user->id, client_id, counted, op))
		return;
	run(cl, op->rid, r, json_string_value(json_object_get(op->req, "thread")),
	    json_string_value(json_object_get(op->req, "text")), client_id);
	chat_ws_op_free(op);
}

/* Typed in a thread: its root is looked up first (the notice goes there). */
static void thread_checked(void *ud, int rc, const char *why)
{
	struct ws_op *op = ud;
	client *cl = chat_ws_op_client(op);
	room *r = op->room_id ? room_by_id(op->room_id) : NULL;
	if (cl && rc == PARLEY_OK && !r) {
		rc = PARLEY_ENOTFOUND;
		why = "the room is gone";
	}
	if (!cl || rc != PARLEY_OK) {
		if (cl)
			chat_reply_error(cl, op->rid, rc, why);
		chat_ws_op_free(op);
		return;
	}
	ask_then_run(op, cl, r);
}

void chat_builtin_send(client *cl, json_t *req, json_t *rid, room *r, const char *client_id)
{
	if (command_dedup_seen(cl->user->id, client_id)) {
		ack_repeat(cl, rid, client_id);
		return;
	}
	struct ws_op *op = chat_ws_op_new(cl, req, rid, r);
	if (!op) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	const char *thread = json_string_value(json_object_get(req, "thread"));
	if (thread)
		chat_thread_root_check(r->id, thread, thread_checked, op);
	else
		ask_then_run(op, cl, r);
}
