/* Threads: requests and events around the store's thread members. A
 * reply is stored through the send path (chat_send.c calls thread_append
 * when the send names a thread), so every rule of a send applies to it. */
#include "chat/chat_threads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/chat_internal.h"
#include "chat/mention_all.h"

int chat_threads_stored(void)
{
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	return PARLEY_HAS(parley_store_vtable, st, thread_append) &&
	       PARLEY_HAS(parley_store_vtable, st, thread_history) &&
	       PARLEY_HAS(parley_store_vtable, st, thread_follow) &&
	       PARLEY_HAS(parley_store_vtable, st, thread_read) &&
	       PARLEY_HAS(parley_store_vtable, st, threads_list);
}

const parley_thread_info *chat_thread_info(const parley_store_result *res, size_t i)
{
	/* res->threads exists only in the results of a store that has them. */
	if (!chat_threads_stored() || !res->threads || i >= res->n_messages)
		return NULL;
	return &res->threads[i];
}

void chat_thread_fields(json_t *msg, const parley_thread_info *t)
{
	if (!msg || !t)
		return;
	if (t->thread_id) {
		json_object_set_new(msg, "thread", json_string(t->thread_id));
		if (t->also_room)
			json_object_set_new(msg, "also_room", json_true());
	}
	if (t->replies > 0) {
		json_object_set_new(msg, "replies", json_integer(t->replies));
		json_object_set_new(msg, "last_reply_ts", json_integer(t->last_reply_ts));
	}
}

static int refuse_unstored(struct client *cl, json_t *rid)
{
	if (chat_threads_stored())
		return 0;
	chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "this server's store cannot keep threads");
	return 1;
}

/* The messages of res as objects with their thread facts, for u. */
static json_t *messages_json(const parley_store_result *res, const user_rec *u)
{
	json_t *msgs = json_array();
	for (size_t i = 0; msgs && i < res->n_messages; i++) {
		const parley_message *m = &res->messages[i];
		json_t *o = proto_message(m, u && strcmp(m->user_id, u->id) == 0);
		chat_thread_fields(o, chat_thread_info(res, i));
		json_array_append_new(msgs, o);
	}
	return msgs;
}

struct root_check_op {
	chat_root_checked done;
	void *ud;
	char *root_id;
};

static void root_checked(void *ud, const parley_store_result *res)
{
	struct root_check_op *op = ud;
	const parley_thread_info *t = chat_thread_info(res, 0);
	char why[64 + PROTO_MAX_ID];
	int rc = res->rc;
	if (rc == PARLEY_ENOTFOUND ||
	    (rc == PARLEY_OK && (!res->n_messages || res->messages[0].deleted))) {
		snprintf(why, sizeof why, "thread: no message %s in the room", op->root_id);
		rc = PARLEY_ENOTFOUND;
	} else if (rc != PARLEY_OK) {
		snprintf(why, sizeof why, "%s",
		         res->error ? res->error : "the store could not be read");
	} else if (t && t->thread_id) {
		snprintf(why, sizeof why, "thread: %s is a reply itself", op->root_id);
		rc = PARLEY_EINVAL;
	}
	op->done(op->ud, rc, rc == PARLEY_OK ? NULL : why);
	free(op->root_id);
	free(op);
}

void chat_thread_root_check(const char *room_id, const char *root_id, chat_root_checked done,
                            void *ud)
{
	struct root_check_op *op = calloc(1, sizeof *op);
	if (!op || !(op->root_id = strdup(root_id))) {
		free(op);
		done(ud, PARLEY_ENOMEM, "out of memory");
		return;
	}
	op->done = done;
	op->ud = ud;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (st->message_get(self, room_id, root_id, root_checked, op) != PARLEY_PENDING) {
		free(op->root_id);
		free(op);
		done(ud, PARLEY_EUNAVAIL, "the store is unavailable");
	}
}

/* ---------------------------------------------------------------- */
/* history of a thread                                                */
/* ---------------------------------------------------------------- */

/* A thread's history: the root (message_get), then its replies. */
struct thread_read_op {
	struct ws_op *op;
	json_t *root; /* the root's message object, once read */
	int64_t before, after;
	int limit;
};

static void thread_read_op_free(struct thread_read_op *t)
{
	chat_ws_op_free(t->op);
	json_decref(t->root);
	free(t);
}

static const char *thread_error(int rc)
{
	return rc == PARLEY_ENOTFOUND ? "thread: no such message here"
	       : rc == PARLEY_EINVAL  ? "thread: a reply has no thread"
	                              : "history unavailable";
}

static void thread_history_done(void *ud, const parley_store_result *res)
{
	struct thread_read_op *t = ud;
	struct ws_op *op = t->op;
	client *cl = chat_ws_op_client(op);
	if (cl) {
		if (res->rc != PARLEY_OK) {
			chat_reply_error(cl, op->rid, res->rc, thread_error(res->rc));
		} else {
			json_t *reply =
			    json_pack("{s:s, s:s, s:O, s:O, s:o, s:b}", "type", "history", "room",
			              op->room_id, "thread", json_object_get(op->req, "thread"),
			              "root", t->root, "messages", messages_json(res, cl->user),
			              "more", res->more ? 1 : 0);
			if (reply && op->rid)
				json_object_set(reply, "rid", op->rid);
			chat_send_json(cl, reply);
		}
	}
	thread_read_op_free(t);
}

static void thread_root_read(void *ud, const parley_store_result *res)
{
	struct thread_read_op *t = ud;
	struct ws_op *op = t->op;
	client *cl = chat_ws_op_client(op);
	if (!cl) {
		thread_read_op_free(t);
		return;
	}
	if (res->rc != PARLEY_OK || !res->n_messages) {
		int rc = res->rc != PARLEY_OK ? res->rc : PARLEY_ENOTFOUND;
		chat_reply_error(cl, op->rid, rc, thread_error(rc));
		thread_read_op_free(t);
		return;
	}
	const parley_message *m = &res->messages[0];
	t->root = proto_message(m, strcmp(m->user_id, cl->user->id) == 0);
	chat_thread_fields(t->root, chat_thread_info(res, 0));
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	int rc = st->thread_history(self, op->room_id, m->id, t->before, t->after, t->limit,
	                            thread_history_done, t);
	if (rc != PARLEY_PENDING) {
		chat_reply_error(cl, op->rid, chat_store_refused(rc), "store unavailable");
		thread_read_op_free(t);
	}
}

void chat_req_thread_history(client *cl, json_t *req, json_t *rid, room *r, int64_t before,
                             int64_t after, int limit)
{
	char err[PROTO_ERR_LEN];
	const char *root;
	if (proto_get_str(req, "thread", 1, PROTO_MAX_ID, &root, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (refuse_unstored(cl, rid))
		return;
	struct thread_read_op *t = calloc(1, sizeof *t);
	if (!t || !(t->op = chat_ws_op_new(cl, req, rid, r))) {
		free(t);
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	t->before = before;
	t->after = after;
	t->limit = limit;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	int rc = st->message_get(self, r->id, root, thread_root_read, t);
	if (rc != PARLEY_PENDING) {
		chat_reply_error(cl, rid, chat_store_refused(rc),
		                 rc == PARLEY_EINVAL ? thread_error(PARLEY_ENOTFOUND)
		                                     : "store unavailable");
		thread_read_op_free(t);
	}
}

/* ---------------------------------------------------------------- */
/* threads: the followed threads                                      */
/* ---------------------------------------------------------------- */

static void threads_listed(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = chat_ws_op_client(op);
	if (cl) {
		if (res->rc != PARLEY_OK) {
			chat_reply_error(cl, op->rid, res->rc, "threads unavailable");
		} else {
			json_t *list = json_array();
			for (size_t i = 0; list && i < res->n_messages; i++) {
				const parley_message *m = &res->messages[i];
				const parley_thread_info *t = chat_thread_info(res, i);
				json_t *root =
				    proto_message(m, strcmp(m->user_id, cl->user->id) == 0);
				chat_thread_fields(root, t);
				json_array_append_new(
				    list,
				    json_pack("{s:s, s:o, s:I, s:I}", "room", m->room_id, "root",
				              root, "unread", (json_int_t)(t ? t->unread : 0),
				              "read_seq", (json_int_t)(t ? t->read_seq : 0)));
			}
			json_t *reply = json_pack("{s:s, s:o, s:b}", "type", "threads", "threads",
			                          list, "more", res->more ? 1 : 0);
			if (reply && op->rid)
				json_object_set(reply, "rid", op->rid);
			chat_send_json(cl, reply);
		}
	}
	chat_ws_op_free(op);
}

void chat_req_threads(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *after = NULL;
	int64_t limit = 50;
	if (proto_get_str(req, "after", 0, PROTO_MAX_ID, &after, err, sizeof err) < 0 ||
	    proto_get_int(req, "limit", 0, &limit, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (limit < 1 || limit > CHAT_THREADS_PAGE_MAX) {
		snprintf(err, sizeof err, "limit: must be between 1 and %d", CHAT_THREADS_PAGE_MAX);
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (refuse_unstored(cl, rid))
		return;
	/* Only the rooms this session may read now: a thread of a room left
	 * since is kept in the store but not listed. */
	json_t *rooms = json_array();
	for (size_t i = 0; rooms && i < cl->user->n_memberships; i++) {
		const room *r = cl->user->memberships[i]->room;
		if (scope_allows(cl->scope, SCOPE_READ, r->id))
			json_array_append_new(rooms, json_string(r->id));
	}
	char *rooms_json = rooms ? proto_dump(rooms, NULL) : NULL;
	json_decref(rooms);
	struct ws_op *op = rooms_json ? chat_ws_op_new(cl, req, rid, NULL) : NULL;
	if (!op) {
		free(rooms_json);
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	int rc =
	    st->threads_list(self, cl->user->id, rooms_json, after, (int)limit, threads_listed, op);
	free(rooms_json);
	if (rc != PARLEY_PENDING) {
		chat_reply_error(cl, rid, rc == PARLEY_EINVAL ? PARLEY_EINVAL : PARLEY_EUNAVAIL,
		                 rc == PARLEY_EINVAL ? "after: not a message id"
		                                     : "store unavailable");
		chat_ws_op_free(op);
	}
}

/* ---------------------------------------------------------------- */
/* thread_follow, thread_read                                         */
/* ---------------------------------------------------------------- */

/* The person's other sessions (on every node) learn what changed, so a
 * second tab's followed threads and unread counts follow: the event is
 * the request itself, as `read` is for rooms. The store holds the state:
 * no node keeps any in memory. */
static void tell_other_sessions(struct ws_op *op, client *cl)
{
	const char *type = json_string_value(json_object_get(op->req, "type"));
	const char *root = json_string_value(json_object_get(op->req, "id"));
	room *r = op->room_id ? room_by_id(op->room_id) : NULL;
	if (!type || !root || !r || !op->user)
		return;
	json_t *ev = json_pack("{s:s, s:s, s:s}", "type", type, "room", r->id, "id", root);
	if (!ev)
		return;
	if (strcmp(type, "thread_read") == 0)
		json_object_set(ev, "seq", json_object_get(op->req, "seq"));
	else
		json_object_set_new(ev, "on",
		                    json_boolean(!json_is_false(json_object_get(op->req, "on"))));
	chat_send_user(op->user, r, ev, cl);
}

static void thread_written(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = chat_ws_op_client(op);
	if (res->rc == PARLEY_OK)
		tell_other_sessions(op, cl);
	if (cl) {
		if (res->rc == PARLEY_OK)
			chat_reply_ok(cl, op->rid);
		else
			chat_reply_error(cl, op->rid, res->rc,
			                 res->rc == PARLEY_ENOTFOUND
			                     ? "thread: no such thread here, or not followed"
			                 : res->rc == PARLEY_EINVAL
			                     ? "thread: a reply has no thread"
			                     : "store unavailable");
	}
	chat_ws_op_free(op);
}

/* The room and root a thread request names; replies the error and returns
 * NULL when it cannot go on. */
static room *thread_target(client *cl, json_t *req, json_t *rid, const char **root)
{
	char err[PROTO_ERR_LEN];
	member *m;
	room *r = chat_req_room(cl, req, rid, &m);
	if (!r)
		return NULL;
	if (proto_get_str(req, "id", 1, PROTO_MAX_ID, root, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return NULL;
	}
	return refuse_unstored(cl, rid) ? NULL : r;
}

static void start_write(client *cl, json_t *req, json_t *rid, room *r, int rc_or_pending,
                        struct ws_op *op)
{
	(void)req;
	(void)r;
	if (rc_or_pending != PARLEY_PENDING) {
		chat_reply_error(cl, rid, chat_store_refused(rc_or_pending),
		                 rc_or_pending == PARLEY_EINVAL ? "id: no such message"
		                                                : "store unavailable");
		chat_ws_op_free(op);
	}
}

void chat_req_thread_follow(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *root;
	int on = 1;
	room *r = thread_target(cl, req, rid, &root);
	if (!r)
		return;
	if (proto_get_bool(req, "on", 0, &on, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	struct ws_op *op = chat_ws_op_new(cl, req, rid, r);
	if (!op) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	start_write(cl, req, rid, r,
	            st->thread_follow(self, r->id, root, cl->user->id, on, thread_written, op), op);
}

void chat_req_thread_read(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *root;
	int64_t seq;
	room *r = thread_target(cl, req, rid, &root);
	if (!r)
		return;
	if (proto_get_int(req, "seq", 1, &seq, err, sizeof err) < 0 || seq < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL,
		                 seq < 0 ? "seq: must not be negative" : err);
		return;
	}
	struct ws_op *op = chat_ws_op_new(cl, req, rid, r);
	if (!op) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	start_write(cl, req, rid, r,
	            st->thread_read(self, r->id, root, cl->user->id, seq, thread_written, op), op);
}

/* ---------------------------------------------------------------- */
/* After a reply is stored                                            */
/* ---------------------------------------------------------------- */

static void follow_stored(void *ud, const parley_store_result *res)
{
	(void)ud;
	chat_store_log(res);
}

void chat_thread_replied(room *r, const parley_message *reply, const parley_message *root,
                         const parley_thread_info *rt)
{
	if (root && rt) {
		json_t *ev =
		    json_pack("{s:s, s:s, s:s, s:I, s:I}", "type", "thread_updated", "room", r->id,
		              "id", root->id, "replies", (json_int_t)rt->replies, "last_reply_ts",
		              (json_int_t)rt->last_reply_ts);
		if (ev)
			chat_broadcast_json(r, ev, NULL);
	}
	/* People named in a reply follow its thread; @room/@all/@here name
	 * everyone and make nobody follow. */
	if (!root || !reply->mentions_json || (reply->text && mention_all_kind(reply->text)))
		return;
	json_t *ids = json_loads(reply->mentions_json, 0, NULL);
	size_t i;
	json_t *v;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	json_array_foreach(ids, i, v)
	{
		const char *uid = json_string_value(v);
		if (uid && strcmp(uid, reply->user_id) != 0)
			st->thread_follow(self, r->id, root->id, uid, 1, follow_stored, NULL);
	}
	json_decref(ids);
}
