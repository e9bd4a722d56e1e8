/* Reading messages back: `history` requests and `resume` at
 * authentication (the missed messages of each room, then its live ones). */
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "chat/chat_internal.h"
#include "chat/chat_threads.h"
#include "chat/cluster_bus.h"

/* History of one room for user u as a reply object {room, messages, more}. */
json_t *chat_history_reply(const parley_store_result *res, const char *room_id, const user_rec *u,
                           int reverse)
{
	json_t *msgs = json_array();
	for (size_t k = 0; k < res->n_messages; k++) {
		size_t i = reverse ? res->n_messages - 1 - k : k;
		const parley_message *m = &res->messages[i];
		json_t *o = proto_message(m, u && strcmp(m->user_id, u->id) == 0);
		chat_thread_fields(o, chat_thread_info(res, i));
		json_array_append_new(msgs, o);
	}
	return json_pack("{s:s, s:o, s:b}", "room", room_id, "messages", msgs, "more",
	                 res->more ? 1 : 0);
}

struct history_args {
	int64_t before, after;
	int limit;
	int reverse; /* neither before nor after: the store gives oldest first */
};

static int parse_history_args(json_t *req, struct history_args *h, char *err, size_t errlen)
{
	int64_t limit = CHAT_HISTORY_DEFAULT;
	h->before = 0;
	h->after = -1;
	if (proto_get_int(req, "before", 0, &h->before, err, errlen) < 0 ||
	    proto_get_int(req, "after", 0, &h->after, err, errlen) < 0 ||
	    proto_get_int(req, "limit", 0, &limit, err, errlen) < 0)
		return -1;
	if (limit < 1 || limit > CHAT_HISTORY_MAX) {
		snprintf(err, errlen, "limit: must be between 1 and %d", CHAT_HISTORY_MAX);
		return -1;
	}
	if (h->before < 0 || (json_object_get(req, "after") && h->after < 0)) {
		snprintf(err, errlen, "before/after: must not be negative");
		return -1;
	}
	if (h->before > 0 && h->after >= 0) {
		snprintf(err, errlen, "before/after: give one of them, not both");
		return -1;
	}
	h->limit = (int)limit;
	h->reverse = h->before == 0 && h->after < 0;
	return 0;
}

static void history_done(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = chat_ws_op_client(op);
	if (cl) {
		if (res->rc != PARLEY_OK) {
			chat_reply_error(cl, op->rid, res->rc, "history unavailable");
		} else {
			int reverse = !json_object_get(op->req, "before") &&
			              !json_object_get(op->req, "after");
			json_t *body = chat_history_reply(res, op->room_id, cl->user, reverse);
			json_t *reply = json_pack("{s:s}", "type", "history");
			if (op->rid)
				json_object_set(reply, "rid", op->rid);
			json_object_update(reply, body);
			json_decref(body);
			chat_send_json(cl, reply);
		}
	}
	chat_ws_op_free(op);
}

void chat_req_history(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	member *m;
	room *r = chat_req_room(cl, req, rid, &m);
	if (!r)
		return;
	struct history_args h;
	if (parse_history_args(req, &h, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (json_object_get(req, "thread")) {
		chat_req_thread_history(cl, req, rid, r, h.before, h.after, h.limit);
		return;
	}
	struct ws_op *op = chat_ws_op_new(cl, req, rid, r);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!op || st->history(self, r->id, h.before, h.after, h.limit, history_done, op) !=
	               PARLEY_PENDING) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "store unavailable");
		if (op)
			chat_ws_op_free(op);
	}
}

/* ---------------------------------------------------------------- */
/* Resume                                                             */
/* ---------------------------------------------------------------- */

/* The room by id: it may be deleted (delete_room) while its history is
 * read. */
struct resume_op {
	uint64_t conn_id;
	char room_id[PROTO_MAX_ID + 1];
	int64_t from;
};

static struct resume_room *take_resume(client *cl, room *r)
{
	for (struct resume_room **p = &cl->resuming; *p; p = &(*p)->next) {
		if ((*p)->room == r) {
			struct resume_room *rr = *p;
			*p = rr->next;
			return rr;
		}
	}
	return NULL;
}

/* The replay of one room's missed messages, then what was held back while
 * it was read. The session's subscription remembers the newest seq sent,
 * so a message both in the replay and in the live fan-out (stored before
 * the read, fanned out after it) is sent once, in order. */
static void resumed(void *ud, const parley_store_result *res)
{
	struct resume_op *op = ud;
	conn *c = conn_find(op->conn_id);
	client *cl = c && c->proto == CONN_WS ? c->app : NULL;
	room *r = room_by_id(op->room_id);
	if (!cl || !r) {
		free(op);
		return;
	}
	struct resume_room *rr = take_resume(cl, r);
	sub *s = chat_sub_of(cl, r);
	int64_t sent = s && s->delivered_seq > op->from ? s->delivered_seq : op->from;
	if (res->rc == PARLEY_OK) {
		for (size_t i = 0; i < res->n_messages; i++) {
			const parley_message *m = &res->messages[i];
			if (m->seq <= sent)
				continue;
			chat_send_json(cl, chat_message_event_in(
			                       m, chat_thread_info(res, i),
			                       cl->user && strcmp(m->user_id, cl->user->id) == 0));
			sent = m->seq;
		}
		if (res->more)
			chat_send_json(cl, json_pack("{s:s, s:s, s:I}", "type", "gap", "room",
			                             r->id, "from_seq", (json_int_t)(sent + 1)));
	} else {
		chat_send_json(cl, json_pack("{s:s, s:s, s:I}", "type", "gap", "room", r->id,
		                             "from_seq", (json_int_t)(op->from + 1)));
	}
	if (s)
		s->delivered_seq = sent;
	for (struct held_frame *h = rr ? rr->held : NULL; h;) {
		struct held_frame *next = h->next;
		if (s)
			chat_deliver(s, h->frame, h->seq);
		sbuf_unref(h->frame);
		free(h);
		h = next;
	}
	free(rr);
	free(op);
}

void chat_resume_forget_room(client *cl, const room *r)
{
	struct resume_room *rr = take_resume(cl, (room *)r);
	if (!rr)
		return;
	for (struct held_frame *h = rr->held; h;) {
		struct held_frame *next = h->next;
		sbuf_unref(h->frame);
		free(h);
		h = next;
	}
	free(rr);
}

void chat_resume(client *cl, json_t *resume)
{
	const char *room_id;
	json_t *v;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	json_object_foreach(resume, room_id, v)
	{
		room *r = room_by_id(room_id);
		if (!r || !room_member(r, cl->user->id) || !json_is_integer(v) ||
		    !scope_allows(cl->scope, SCOPE_READ, r->id))
			continue;
		int64_t from = json_integer_value(v);
		if (from < 0)
			from = 0;
		/* With several nodes this node's last_seq may lag the store's
		 * (a node killed after its ack, before its publish): ask the
		 * store. */
		if (from >= r->last_seq && !cluster_bus_active())
			continue;
		struct resume_room *rr = calloc(1, sizeof *rr);
		struct resume_op *op = calloc(1, sizeof *op);
		if (!rr || !op) {
			free(rr);
			free(op);
			continue;
		}
		rr->room = r;
		rr->next = cl->resuming;
		cl->resuming = rr;
		op->conn_id = cl->conn_id;
		snprintf(op->room_id, sizeof op->room_id, "%s", r->id);
		op->from = from;
		if (st->history(self, r->id, 0, from, CHAT_RESUME_MAX, resumed, op) !=
		    PARLEY_PENDING) {
			free(take_resume(cl, r));
			free(op);
		}
	}
}
