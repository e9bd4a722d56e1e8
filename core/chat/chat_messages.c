/* Messages: the send path (validation → before_message hooks → store append
 * → ack → one shared frame per broadcast → message hooks), edits, deletes,
 * reactions, history and resume. The same path serves WebSocket `send`,
 * HTTP POST /api/rooms/{id}/messages and bots. */
#include <stdlib.h>
#include <string.h>

#include "chat/chat.h"
#include "chat/chat_attachments.h"
#include "chat/chat_internal.h"
#include "base/config.h"
#include "host/hooks.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "chat/mutes.h"
#include "host/plugin_host.h"

static int64_t max_text(void)
{
	return server_config ? server_config->limits.max_text : 4000;
}

/* Runs the edit, delete or reaction hooks for a change by u in r. */
static void run_change_hook(int event, room *r, const user_rec *u, const parley_message *m,
                            const char *emoji, int on)
{
	parley_user view;
	users_view(u, &view);
	parley_room rv = {.id = r->id,
	                  .name = r->name,
	                  .kind = r->kind,
	                  .topic = r->topic,
	                  .last_seq = r->last_seq};
	parley_hook_args args = {.struct_size = sizeof args,
	                         .event = event,
	                         .user = &view,
	                         .room = &rv,
	                         .message = m,
	                         .emoji = emoji,
	                         .on = on};
	hooks_run(&args, NULL, NULL);
}

/* Common checks of a message text; 0 or an rc with *why. */
static int check_text(const char *text, int allow_empty, const char **why)
{
	if (!allow_empty && !*text) {
		*why = "text: empty";
		return PARLEY_EINVAL;
	}
	if ((int64_t)proto_utf8_len(text) > max_text()) {
		*why = "text: longer than limits.max_text characters";
		return PARLEY_ETOOLARGE;
	}
	return PARLEY_OK;
}

json_t *chat_message_event(const parley_message *m, int with_client_id)
{
	json_t *body = proto_message(m, with_client_id);
	json_t *o = json_pack("{s:s}", "type", "message");
	if (!body || !o || json_object_update(o, body) < 0) {
		json_decref(o);
		o = NULL;
	}
	json_decref(body);
	return o;
}

json_t *chat_ack(const char *client_id, const parley_message *m, int duplicate, int command)
{
	json_t *ack = json_pack("{s:s}", "type", "ack");
	if (!ack)
		return NULL;
	if (client_id)
		json_object_set_new(ack, "client_id", json_string(client_id));
	if (command || !m) {
		json_object_set_new(ack, "command", json_true());
		json_object_set_new(ack, "ts", json_integer(loop_now_ms()));
		return ack;
	}
	json_object_set_new(ack, "id", json_string(m->id));
	json_object_set_new(ack, "seq", json_integer(m->seq));
	json_object_set_new(ack, "ts", json_integer(m->ts));
	if (duplicate)
		json_object_set_new(ack, "duplicate", json_true());
	return ack;
}

/* ---------------------------------------------------------------- */
/* The send path                                                      */
/* ---------------------------------------------------------------- */

struct post_op {
	chat_post_done done;
	void *ud;
	user_rec *author;
	char *room_id;
	char *attachments_json; /* attached once the message is stored */
	int depth;
	double t0;
	int no_previews;
};

static chat_message_observer *message_observer;

void chat_set_message_observer(chat_message_observer *fn)
{
	message_observer = fn;
}

int chat_room_event(const char *room_id, json_t *ev)
{
	room *r = room_by_id(room_id);
	if (!r) {
		json_decref(ev);
		return -1;
	}
	chat_broadcast_json(r, ev, NULL);
	return 0;
}

static void fan_out(room *r, const parley_message *m, user_rec *author)
{
	sbuf *common = chat_frame(chat_message_event(m, 0));
	sbuf *own = m->client_id ? chat_frame(chat_message_event(m, 1)) : NULL;
	if (!common)
		goto done;
	size_t n = 0;
	for (sub *s = r->subs; s; s = s->rnext) {
		client *cl = s->client;
		chat_deliver(cl, r, (own && cl->user == author) ? own : common, m->seq);
		n++;
	}
	metric_add(core_metrics.deliveries, (double)n);
done:
	if (common)
		sbuf_unref(common);
	if (own)
		sbuf_unref(own);
}

/* The members of r that text mentions. Only members: a name in a private
 * room must not reach (notify, or e-mail) someone outside it. */
static json_t *room_mentions(room *r, const char *text)
{
	json_t *ids = proto_mentions(text);
	for (size_t i = ids ? json_array_size(ids) : 0; i-- > 0;)
		if (!room_member(r, json_string_value(json_array_get(ids, i))))
			json_array_remove(ids, i);
	return ids;
}

static void count_mentions(room *r, const parley_message *m)
{
	json_t *ids = m->mentions_json ? json_loads(m->mentions_json, 0, NULL) : NULL;
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		member *mb = room_member(r, json_string_value(v));
		if (mb && mb->read_seq < m->seq)
			mb->mentions++;
	}
	json_decref(ids);
}

static void read_stored(void *ud, const parley_store_result *res)
{
	(void)ud;
	chat_store_log(res);
}

static void appended(void *ud, const parley_store_result *res)
{
	struct post_op *op = ud;
	if (res->rc != PARLEY_OK || !res->n_messages) {
		op->done(op->ud, res->rc < 0 ? res->rc : PARLEY_ERR,
		         res->error ? res->error : "the message could not be stored", NULL, 0, 0);
		goto out;
	}
	const parley_message *m = &res->messages[0];
	if (res->duplicate) {
		op->done(op->ud, PARLEY_OK, NULL, m, 1, 0);
		goto out;
	}
	room *r = room_by_id(m->room_id);
	metric_add(core_metrics.messages, 1);
	metric_observe(core_metrics.send_ack_seconds, ev_now(loop_ev) - op->t0);
	op->done(op->ud, PARLEY_OK, NULL, m, 0, 0);
	if (op->attachments_json)
		chat_attachments_attach(op->attachments_json, op->author->id, m->room_id, m->id);
	if (r) {
		if (m->seq > r->last_seq)
			r->last_seq = m->seq;
		/* Writing in a room means having read it. */
		member *mine = room_member(r, op->author->id);
		if (mine && mine->read_seq < m->seq) {
			mine->read_seq = m->seq;
			mine->mentions = 0;
			void *self;
			const parley_store_vtable *st = chat_store(&self);
			st->read_set(self, r->id, op->author->id, m->seq, read_stored, NULL);
		}
		count_mentions(r, m);
		fan_out(r, m, op->author);
		parley_user view;
		users_view(op->author, &view);
		parley_room rv = {.id = r->id,
		                  .name = r->name,
		                  .kind = r->kind,
		                  .topic = r->topic,
		                  .last_seq = r->last_seq};
		parley_hook_args args = {.struct_size = sizeof args,
		                         .event = PARLEY_HOOK_MESSAGE,
		                         .user = &view,
		                         .room = &rv,
		                         .message = m,
		                         .depth = op->depth};
		hooks_run(&args, NULL, NULL);
		if (message_observer)
			message_observer(m, !op->no_previews);
	}
out:
	free(op->room_id);
	free(op->attachments_json);
	free(op);
}

/* Recently run commands per user and client_id: a resent command does
 * not run twice. A small ring; commands are rare. */
#define RECENT_COMMANDS 256
static struct {
	char *key; /* "user_id client_id" */
} recent_commands[RECENT_COMMANDS];
static size_t recent_next;

static int command_seen(const user_rec *u, const char *client_id, int remember)
{
	if (!client_id)
		return 0;
	size_t n = strlen(u->id) + strlen(client_id) + 2;
	char *key = malloc(n);
	if (!key)
		return 0;
	snprintf(key, n, "%s %s", u->id, client_id);
	for (size_t i = 0; i < RECENT_COMMANDS; i++) {
		if (recent_commands[i].key && strcmp(recent_commands[i].key, key) == 0) {
			free(key);
			return 1;
		}
	}
	if (remember) {
		free(recent_commands[recent_next].key);
		recent_commands[recent_next].key = key;
		recent_next = (recent_next + 1) % RECENT_COMMANDS;
	} else {
		free(key);
	}
	return 0;
}

static void post_resolved(const struct chat_post *p, char *attachments_json, chat_post_done done,
                          void *ud);

/* A send waiting for its attachments: copies of what it said. */
struct post_wait {
	user_rec *author;
	char *room_id, *text, *client_id, *reply_to;
	int depth;
	double t0;
	int no_command;
	int no_previews;
	chat_post_done done;
	void *ud;
};

static void post_wait_free(struct post_wait *w)
{
	free(w->room_id);
	free(w->text);
	free(w->client_id);
	free(w->reply_to);
	free(w);
}

static void attachments_resolved(void *ud, int rc, const char *why, char *json)
{
	struct post_wait *w = ud;
	room *r = room_by_id(w->room_id);
	if (rc == PARLEY_OK && !r) {
		rc = PARLEY_ENOTFOUND;
		why = "the room is gone";
	}
	if (rc != PARLEY_OK) {
		w->done(w->ud, rc, why, NULL, 0, 0);
	} else {
		struct chat_post p = {.author = w->author,
		                      .room = r,
		                      .text = w->text,
		                      .client_id = w->client_id,
		                      .reply_to = w->reply_to,
		                      .depth = w->depth,
		                      .t0 = w->t0,
		                      .no_command = w->no_command,
		                      .no_previews = w->no_previews};
		post_resolved(&p, json, w->done, w->ud);
	}
	free(json);
	post_wait_free(w);
}

static char *dup_or_null(const char *s, int *oom)
{
	char *d = s ? strdup(s) : NULL;
	if (s && !d)
		*oom = 1;
	return d;
}

void chat_post_message(const struct chat_post *p, chat_post_done done, void *ud)
{
	const char *why = NULL;
	int rc = check_text(p->text, 0, &why);
	if (rc != PARLEY_OK) {
		done(ud, rc, why, NULL, 0, 0);
		return;
	}
	int64_t muted = mutes_until(p->author->id, p->room->id, mutes_now_ms());
	if (muted) {
		char why_muted[128];
		mutes_describe(muted, why_muted, sizeof why_muted);
		done(ud, PARLEY_EFORBIDDEN, why_muted, NULL, 0, 0);
		return;
	}
	if (!p->attachments || json_array_size(p->attachments) == 0) {
		post_resolved(p, NULL, done, ud);
		return;
	}
	if (!plugins_uploads(&(void *){NULL})) {
		done(
		    ud, PARLEY_EINVAL,
		    "attachments: no uploads provider is configured (add uploads_local to plugins)",
		    NULL, 0, 0);
		return;
	}
	/* The uploads are looked up first (async): keep copies meanwhile. */
	struct post_wait *w = calloc(1, sizeof *w);
	int oom = !w;
	if (w) {
		w->author = p->author;
		w->room_id = dup_or_null(p->room->id, &oom);
		w->text = dup_or_null(p->text, &oom);
		w->client_id = dup_or_null(p->client_id, &oom);
		w->reply_to = dup_or_null(p->reply_to, &oom);
		w->depth = p->depth;
		w->t0 = p->t0;
		w->no_command = p->no_command;
		w->no_previews = p->no_previews;
		w->done = done;
		w->ud = ud;
	}
	if (oom) {
		if (w)
			post_wait_free(w);
		done(ud, PARLEY_ENOMEM, "out of memory", NULL, 0, 0);
		return;
	}
	chat_attachments_resolve(p->author->id, p->room->id, p->client_id, p->attachments,
	                         attachments_resolved, w);
}

/* The send once its attachments (JSON text or NULL) are known. */
static void post_resolved(const struct chat_post *p, char *attachments_json, chat_post_done done,
                          void *ud)
{
	const char *why = NULL;
	int rc;
	if (p->text[0] == '/' && !p->no_command) {
		if (command_seen(p->author, p->client_id, 0)) {
			done(ud, PARLEY_OK, NULL, NULL, 1, 1);
			return;
		}
		if (chat_command_try(p->author, p->room, p->text, p->depth)) {
			command_seen(p->author, p->client_id, 1);
			done(ud, PARLEY_OK, NULL, NULL, 0, 1);
			return;
		}
	}
	parley_user view;
	users_view(p->author, &view);
	room *r = p->room;
	parley_room rv = {.id = r->id,
	                  .name = r->name,
	                  .kind = r->kind,
	                  .topic = r->topic,
	                  .last_seq = r->last_seq};
	parley_message msg = {.room_id = r->id,
	                      .user_id = p->author->id,
	                      .text = p->text,
	                      .client_id = p->client_id,
	                      .reply_to = p->reply_to,
	                      .attachments_json = attachments_json,
	                      .ts = loop_now_ms()};
	parley_hook_args args = {.struct_size = sizeof args,
	                         .event = PARLEY_HOOK_BEFORE_MESSAGE,
	                         .user = &view,
	                         .room = &rv,
	                         .message = &msg,
	                         .depth = p->depth};
	const char *deny = NULL, *rewritten = NULL;
	if (hooks_run(&args, &deny, &rewritten) == PARLEY_DENY) {
		done(ud, PARLEY_EFORBIDDEN, deny ? deny : "rejected by a moderation hook", NULL, 0,
		     0);
		return;
	}
	char *text_copy = NULL;
	if (rewritten) {
		text_copy = strdup(rewritten);
		if (!text_copy || check_text(text_copy, 0, &why) != PARLEY_OK) {
			free(text_copy);
			done(ud, PARLEY_EFORBIDDEN, "a moderation hook emptied the message", NULL,
			     0, 0);
			return;
		}
		msg.text = text_copy;
	}
	json_t *mentions = room_mentions(r, msg.text);
	char *mentions_json = mentions ? proto_dump(mentions, NULL) : NULL;
	json_decref(mentions);
	msg.mentions_json = mentions_json;

	struct post_op *op = calloc(1, sizeof *op);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!op || !(op->room_id = strdup(r->id)) ||
	    (attachments_json && !(op->attachments_json = strdup(attachments_json)))) {
		if (op)
			free(op->room_id);
		free(op);
		done(ud, PARLEY_ENOMEM, "out of memory", NULL, 0, 0);
		goto out;
	}
	op->done = done;
	op->ud = ud;
	op->author = p->author;
	op->depth = p->depth;
	op->t0 = p->t0;
	op->no_previews = p->no_previews;
	rc = st->append(self, &msg, appended, op);
	if (rc != PARLEY_PENDING) {
		free(op->room_id);
		free(op->attachments_json);
		free(op);
		done(ud, rc < 0 ? rc : PARLEY_ERR, "the store refused the message", NULL, 0, 0);
	}
out:
	free(mentions_json);
	free(text_copy);
}

/* ---------------------------------------------------------------- */
/* WebSocket requests                                                 */
/* ---------------------------------------------------------------- */

/* A request's context across asynchronous steps. */
struct ws_op {
	uint64_t conn_id;
	json_t *rid;
	json_t *req; /* the request frame, kept for later steps */
	user_rec *user;
	char *room_id;
};

static struct ws_op *ws_op_new(client *cl, json_t *req, json_t *rid, room *r)
{
	struct ws_op *op = calloc(1, sizeof *op);
	if (!op)
		return NULL;
	op->conn_id = cl->conn_id;
	op->rid = json_incref(rid);
	op->req = json_incref(req);
	op->user = cl->user;
	op->room_id = r ? strdup(r->id) : NULL;
	return op;
}

static void ws_op_free(struct ws_op *op)
{
	json_decref(op->rid);
	json_decref(op->req);
	free(op->room_id);
	free(op);
}

/* The client still connected for op, or NULL. */
static client *op_client(const struct ws_op *op)
{
	conn *c = conn_find(op->conn_id);
	return c && c->proto == CONN_WS ? c->app : NULL;
}

room *chat_req_room(client *cl, json_t *req, json_t *rid, member **m)
{
	char err[PROTO_ERR_LEN];
	const char *room_id;
	if (proto_get_str(req, "room", 1, PROTO_MAX_ID, &room_id, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return NULL;
	}
	room *r = room_by_id(room_id);
	return chat_require_member(cl, rid, r, m) == PARLEY_OK ? r : NULL;
}

static void send_done(void *ud, int rc, const char *message, const parley_message *m, int duplicate,
                      int command)
{
	struct ws_op *op = ud;
	client *cl = op_client(op);
	if (cl) {
		if (rc != PARLEY_OK) {
			chat_reply_error(cl, op->rid, rc, message);
		} else {
			json_t *ack =
			    chat_ack(json_string_value(json_object_get(op->req, "client_id")), m,
			             duplicate, command);
			if (ack && op->rid)
				json_object_set(ack, "rid", op->rid);
			chat_send_json(cl, ack);
		}
	}
	ws_op_free(op);
}

void chat_req_send(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *text, *client_id = NULL, *reply_to = NULL;
	member *m;
	room *r = chat_req_room(cl, req, rid, &m);
	if (!r)
		return;
	if (proto_get_str(req, "text", 1, 0, &text, err, sizeof err) < 0 ||
	    proto_get_str(req, "client_id", 0, PROTO_MAX_CLIENT_ID, &client_id, err, sizeof err) <
	        0 ||
	    proto_get_str(req, "reply_to", 0, PROTO_MAX_ID, &reply_to, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	json_t *att = json_object_get(req, "attachments");
	if (att && !json_is_array(att) && !json_is_null(att)) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, "attachments: expected an array");
		return;
	}
	json_t *previews = json_object_get(req, "previews");
	if (previews && !json_is_boolean(previews)) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, "previews: expected true or false");
		return;
	}
	struct ws_op *op = ws_op_new(cl, req, rid, r);
	if (!op) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	struct chat_post p = {.author = cl->user,
	                      .room = r,
	                      .text = text,
	                      .client_id = client_id,
	                      .reply_to = reply_to,
	                      .attachments = json_is_array(att) ? att : NULL,
	                      .t0 = ev_now(loop_ev),
	                      .no_previews = json_is_false(previews)};
	chat_post_message(&p, send_done, op);
}

/* edit / delete / react: fetch the message, check, then write. */

static void edited(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = op_client(op);
	if (res->rc != PARLEY_OK || !res->n_messages) {
		if (cl)
			chat_reply_error(cl, op->rid, res->rc,
			                 res->error ? res->error : "edit failed");
		ws_op_free(op);
		return;
	}
	const parley_message *m = &res->messages[0];
	if (cl)
		chat_reply_ok(cl, op->rid);
	room *r = room_by_id(m->room_id);
	if (r) {
		json_t *ev = json_pack(
		    "{s:s, s:s, s:s, s:s, s:I}", "type", "message_edited", "room", m->room_id, "id",
		    m->id, "text", m->text ? m->text : "", "edited_ts", (json_int_t)m->edited_ts);
		json_t *mentions = m->mentions_json ? json_loads(m->mentions_json, 0, NULL) : NULL;
		if (ev && mentions)
			json_object_set_new(ev, "mentions", mentions);
		else
			json_decref(mentions);
		chat_broadcast_json(r, ev, NULL);
		run_change_hook(PARLEY_HOOK_EDIT, r, op->user, m, NULL, 0);
	}
	ws_op_free(op);
}

static void deleted(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = op_client(op);
	if (res->rc != PARLEY_OK) {
		if (cl)
			chat_reply_error(cl, op->rid, res->rc,
			                 res->error ? res->error : "delete failed");
		ws_op_free(op);
		return;
	}
	if (cl)
		chat_reply_ok(cl, op->rid);
	room *r = room_by_id(op->room_id);
	const char *id = json_string_value(json_object_get(op->req, "id"));
	if (r && id) {
		chat_broadcast_json(r,
		                    json_pack("{s:s, s:s, s:s}", "type", "message_deleted", "room",
		                              r->id, "id", id),
		                    NULL);
		parley_message gone = {.id = id, .room_id = r->id, .deleted = 1};
		run_change_hook(PARLEY_HOOK_DELETE, r, op->user, &gone, NULL, 0);
	}
	ws_op_free(op);
}

static void got_message_for_change(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = op_client(op);
	room *r = room_by_id(op->room_id);
	if (!cl || !r || !cl->user) {
		ws_op_free(op);
		return;
	}
	member *still;
	if (chat_require_member(cl, op->rid, r, &still) != PARLEY_OK) {
		ws_op_free(op); /* left the room meanwhile */
		return;
	}
	if (res->rc != PARLEY_OK || !res->n_messages) {
		chat_reply_error(cl, op->rid, res->rc == PARLEY_OK ? PARLEY_ENOTFOUND : res->rc,
		                 "no such message");
		ws_op_free(op);
		return;
	}
	const parley_message *m = &res->messages[0];
	const char *type = json_string_value(json_object_get(op->req, "type"));
	int is_author = strcmp(m->user_id, cl->user->id) == 0;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (m->deleted) {
		chat_reply_error(cl, op->rid, PARLEY_ENOTFOUND, "the message was deleted");
		ws_op_free(op);
		return;
	}
	if (strcmp(type, "edit") == 0) {
		if (!is_author) {
			chat_reply_error(cl, op->rid, PARLEY_EFORBIDDEN,
			                 "only the author may edit a message");
			ws_op_free(op);
			return;
		}
		const char *text = json_string_value(json_object_get(op->req, "text"));
		parley_user view;
		users_view(cl->user, &view);
		parley_room rv = {.id = r->id, .name = r->name, .kind = r->kind, .topic = r->topic};
		parley_message mv = *m;
		mv.text = text;
		parley_hook_args args = {.struct_size = sizeof args,
		                         .event = PARLEY_HOOK_BEFORE_MESSAGE,
		                         .user = &view,
		                         .room = &rv,
		                         .message = &mv};
		const char *deny = NULL, *rewritten = NULL;
		if (hooks_run(&args, &deny, &rewritten) == PARLEY_DENY) {
			chat_reply_error(cl, op->rid, PARLEY_EFORBIDDEN,
			                 deny ? deny : "rejected by a moderation hook");
			ws_op_free(op);
			return;
		}
		if (rewritten)
			text = rewritten;
		json_t *mentions = room_mentions(r, text);
		char *mj = mentions ? proto_dump(mentions, NULL) : NULL;
		json_decref(mentions);
		int rc = st->message_edit(self, r->id, m->id, text, mj, loop_now_ms(), edited, op);
		free(mj);
		if (rc != PARLEY_PENDING) {
			chat_reply_error(cl, op->rid, rc < 0 ? rc : PARLEY_ERR, "edit failed");
			ws_op_free(op);
		}
		return;
	}
	/* delete */
	member *mb = room_member(r, cl->user->id);
	int may =
	    is_author || (mb && mb->role >= ROLE_MODERATOR) || strcmp(cl->user->role, "admin") == 0;
	/* A bot token deletes others' messages only with the moderate scope. */
	if (may && !is_author && !scope_allows(cl->scope, SCOPE_MODERATE, r->id)) {
		chat_reply_error(cl, op->rid, PARLEY_EFORBIDDEN, "outside the token's scope");
		ws_op_free(op);
		return;
	}
	if (!may) {
		chat_reply_error(cl, op->rid, PARLEY_EFORBIDDEN,
		                 "only the author or a moderator may delete a message");
		ws_op_free(op);
		return;
	}
	int rc = st->message_delete(self, r->id, m->id, deleted, op);
	if (rc != PARLEY_PENDING) {
		chat_reply_error(cl, op->rid, rc < 0 ? rc : PARLEY_ERR, "delete failed");
		ws_op_free(op);
	}
}

static void change_message(client *cl, json_t *req, json_t *rid, int is_edit)
{
	char err[PROTO_ERR_LEN];
	const char *id, *text = NULL;
	member *m;
	room *r = chat_req_room(cl, req, rid, &m);
	if (!r)
		return;
	if (proto_get_str(req, "id", 1, PROTO_MAX_ID, &id, err, sizeof err) < 0 ||
	    (is_edit && proto_get_str(req, "text", 1, 0, &text, err, sizeof err) < 0)) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (is_edit) {
		const char *why;
		int rc = check_text(text, 0, &why);
		if (rc != PARLEY_OK) {
			chat_reply_error(cl, rid, rc, why);
			return;
		}
	}
	struct ws_op *op = ws_op_new(cl, req, rid, r);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!op || st->message_get(self, r->id, id, got_message_for_change, op) != PARLEY_PENDING) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "store unavailable");
		if (op)
			ws_op_free(op);
	}
}

void chat_req_edit(client *cl, json_t *req, json_t *rid)
{
	change_message(cl, req, rid, 1);
}

void chat_req_delete(client *cl, json_t *req, json_t *rid)
{
	change_message(cl, req, rid, 0);
}

static void reacted(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = op_client(op);
	if (res->rc != PARLEY_OK) {
		if (cl)
			chat_reply_error(cl, op->rid, res->rc,
			                 res->rc == PARLEY_ENOTFOUND ? "no such message"
			                                             : "reaction failed");
		ws_op_free(op);
		return;
	}
	if (cl)
		chat_reply_ok(cl, op->rid);
	room *r = room_by_id(op->room_id);
	if (r) {
		json_t *ev =
		    json_pack("{s:s, s:s, s:O, s:O, s:o, s:b}", "type", "reaction", "room", r->id,
		              "id", json_object_get(op->req, "id"), "emoji",
		              json_object_get(op->req, "emoji"), "user", proto_user(op->user), "on",
		              json_is_false(json_object_get(op->req, "on")) ? 0 : 1);
		chat_broadcast_json(r, ev, NULL);
		parley_message target = {.id = json_string_value(json_object_get(op->req, "id")),
		                         .room_id = r->id};
		run_change_hook(PARLEY_HOOK_REACTION, r, op->user, &target,
		                json_string_value(json_object_get(op->req, "emoji")),
		                !json_is_false(json_object_get(op->req, "on")));
	}
	ws_op_free(op);
}

void chat_req_react(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *id, *emoji;
	int on = 1;
	member *m;
	room *r = chat_req_room(cl, req, rid, &m);
	if (!r)
		return;
	if (proto_get_str(req, "id", 1, PROTO_MAX_ID, &id, err, sizeof err) < 0 ||
	    proto_get_str(req, "emoji", 1, CHAT_EMOJI_MAX, &emoji, err, sizeof err) < 0 ||
	    proto_get_bool(req, "on", 0, &on, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (!*emoji || strpbrk(emoji, " \t\r\n")) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, "emoji: must be one emoji or :name:");
		return;
	}
	struct ws_op *op = ws_op_new(cl, req, rid, r);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!op ||
	    st->react(self, r->id, id, cl->user->id, emoji, on, reacted, op) != PARLEY_PENDING) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "store unavailable");
		if (op)
			ws_op_free(op);
	}
}

/* ---------------------------------------------------------------- */
/* Changes by the server itself (scripts: moderation, bots' reactions)  */
/* ---------------------------------------------------------------- */

struct change_op {
	char *room_id, *msg_id, *emoji;
	user_rec *actor;
	int on;
	chat_member_done done;
	void *ud;
};

static void change_op_free(struct change_op *op)
{
	free(op->room_id);
	free(op->msg_id);
	free(op->emoji);
	free(op);
}

static struct change_op *change_op_new(room *r, const char *msg_id, const char *emoji,
                                       chat_member_done done, void *ud)
{
	struct change_op *op = calloc(1, sizeof *op);
	if (!op)
		return NULL;
	op->room_id = strdup(r->id);
	op->msg_id = strdup(msg_id);
	op->emoji = emoji ? strdup(emoji) : NULL;
	op->done = done;
	op->ud = ud;
	if (!op->room_id || !op->msg_id || (emoji && !op->emoji)) {
		change_op_free(op);
		return NULL;
	}
	return op;
}

static void change_finish(struct change_op *op, int rc, const char *message)
{
	if (op->done)
		op->done(op->ud, rc, message);
	change_op_free(op);
}

static void moderated_delete(void *ud, const parley_store_result *res)
{
	struct change_op *op = ud;
	room *r = room_by_id(op->room_id);
	if (res->rc == PARLEY_OK && r) {
		chat_broadcast_json(r,
		                    json_pack("{s:s, s:s, s:s}", "type", "message_deleted", "room",
		                              r->id, "id", op->msg_id),
		                    NULL);
		parley_message gone = {.id = op->msg_id, .room_id = r->id, .deleted = 1};
		if (op->actor)
			run_change_hook(PARLEY_HOOK_DELETE, r, op->actor, &gone, NULL, 0);
	}
	change_finish(op, res->rc, res->rc == PARLEY_OK ? NULL : "delete failed");
}

int chat_delete_message(room *r, const char *msg_id, user_rec *actor, chat_member_done done,
                        void *ud)
{
	if (!r || !msg_id)
		return PARLEY_EINVAL;
	struct change_op *op = change_op_new(r, msg_id, NULL, done, ud);
	if (!op)
		return PARLEY_ENOMEM;
	op->actor = actor;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	int rc = st->message_delete(self, r->id, msg_id, moderated_delete, op);
	if (rc != PARLEY_PENDING) {
		change_op_free(op);
		return rc < 0 ? rc : PARLEY_ERR;
	}
	return PARLEY_OK;
}

static void reacted_as(void *ud, const parley_store_result *res)
{
	struct change_op *op = ud;
	room *r = room_by_id(op->room_id);
	if (res->rc == PARLEY_OK && r) {
		chat_broadcast_json(r,
		                    json_pack("{s:s, s:s, s:s, s:s, s:o, s:b}", "type", "reaction",
		                              "room", r->id, "id", op->msg_id, "emoji", op->emoji,
		                              "user", proto_user(op->actor), "on", op->on),
		                    NULL);
		parley_message target = {.id = op->msg_id, .room_id = r->id};
		run_change_hook(PARLEY_HOOK_REACTION, r, op->actor, &target, op->emoji, op->on);
	}
	change_finish(op, res->rc, res->rc == PARLEY_OK ? NULL : "reaction failed");
}

int chat_react_as(user_rec *u, room *r, const char *msg_id, const char *emoji, int on,
                  chat_member_done done, void *ud)
{
	if (!u || !r || !msg_id || !emoji || !*emoji || strlen(emoji) > CHAT_EMOJI_MAX ||
	    strpbrk(emoji, " \t\r\n"))
		return PARLEY_EINVAL;
	struct change_op *op = change_op_new(r, msg_id, emoji, done, ud);
	if (!op)
		return PARLEY_ENOMEM;
	op->actor = u;
	op->on = on;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	int rc = st->react(self, r->id, msg_id, u->id, emoji, on, reacted_as, op);
	if (rc != PARLEY_PENDING) {
		change_op_free(op);
		return rc < 0 ? rc : PARLEY_ERR;
	}
	return PARLEY_OK;
}

/* ---------------------------------------------------------------- */
/* History                                                            */
/* ---------------------------------------------------------------- */

/* History of one room for user u as a reply object {room, messages, more}. */
static json_t *history_reply(const parley_store_result *res, const char *room_id, const user_rec *u,
                             int reverse)
{
	json_t *msgs = json_array();
	for (size_t k = 0; k < res->n_messages; k++) {
		size_t i = reverse ? res->n_messages - 1 - k : k;
		const parley_message *m = &res->messages[i];
		json_array_append_new(msgs, proto_message(m, u && strcmp(m->user_id, u->id) == 0));
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
	client *cl = op_client(op);
	if (cl) {
		if (res->rc != PARLEY_OK) {
			chat_reply_error(cl, op->rid, res->rc, "history unavailable");
		} else {
			int reverse = !json_object_get(op->req, "before") &&
			              !json_object_get(op->req, "after");
			json_t *body = history_reply(res, op->room_id, cl->user, reverse);
			json_t *reply = json_pack("{s:s}", "type", "history");
			if (op->rid)
				json_object_set(reply, "rid", op->rid);
			json_object_update(reply, body);
			json_decref(body);
			chat_send_json(cl, reply);
		}
	}
	ws_op_free(op);
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
	struct ws_op *op = ws_op_new(cl, req, rid, r);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!op || st->history(self, r->id, h.before, h.after, h.limit, history_done, op) !=
	               PARLEY_PENDING) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "store unavailable");
		if (op)
			ws_op_free(op);
	}
}

/* ---------------------------------------------------------------- */
/* Resume                                                             */
/* ---------------------------------------------------------------- */

struct resume_op {
	uint64_t conn_id;
	room *room;
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

static void resumed(void *ud, const parley_store_result *res)
{
	struct resume_op *op = ud;
	conn *c = conn_find(op->conn_id);
	client *cl = c && c->proto == CONN_WS ? c->app : NULL;
	if (!cl) {
		free(op);
		return;
	}
	struct resume_room *rr = take_resume(cl, op->room);
	int64_t last = op->from;
	if (res->rc == PARLEY_OK) {
		for (size_t i = 0; i < res->n_messages; i++) {
			const parley_message *m = &res->messages[i];
			chat_send_json(cl,
			               chat_message_event(
			                   m, cl->user && strcmp(m->user_id, cl->user->id) == 0));
			last = m->seq;
		}
		if (res->more)
			chat_send_json(cl,
			               json_pack("{s:s, s:s, s:I}", "type", "gap", "room",
			                         op->room->id, "from_seq", (json_int_t)(last + 1)));
	} else {
		chat_send_json(cl, json_pack("{s:s, s:s, s:I}", "type", "gap", "room", op->room->id,
		                             "from_seq", (json_int_t)(op->from + 1)));
	}
	if (rr) {
		for (struct held_frame *h = rr->held; h;) {
			struct held_frame *next = h->next;
			if (h->seq > last || res->more)
				ws_send_frame(cl->c, h->frame);
			sbuf_unref(h->frame);
			free(h);
			h = next;
		}
		free(rr);
	}
	free(op);
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
		if (from >= r->last_seq)
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
		op->room = r;
		op->from = from;
		if (st->history(self, r->id, 0, from, CHAT_RESUME_MAX, resumed, op) !=
		    PARLEY_PENDING) {
			free(take_resume(cl, r));
			free(op);
		}
	}
}

/* ---------------------------------------------------------------- */
/* HTTP API                                                           */
/* ---------------------------------------------------------------- */

struct http_op {
	chat_http_done done;
	void *ud;
	char *client_id;
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
                   const char *client_id, chat_http_done done, void *ud)
{
	user_rec *u;
	room *r;
	const char *why = NULL;
	int rc = http_room(pu, room_id, &u, &r, &why);
	if (rc != PARLEY_OK) {
		done(ud, rc, why, NULL);
		return rc;
	}
	if (client_id && strlen(client_id) > PROTO_MAX_CLIENT_ID) {
		done(ud, PARLEY_EINVAL, "client_id: too long", NULL);
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
	struct chat_post p = {
	    .author = u, .room = r, .text = text, .client_id = client_id, .t0 = ev_now(loop_ev)};
	chat_post_message(&p, http_post_done, op);
	return PARLEY_PENDING;
}

static void http_history_done(void *ud, const parley_store_result *res)
{
	struct http_op *op = ud;
	if (res->rc != PARLEY_OK) {
		op->done(op->ud, res->rc, "history unavailable", NULL);
	} else {
		json_t *reply = history_reply(res, op->room_id, op->user, op->client_id != NULL);
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
	/* client_id doubles as the "reverse" flag: neither before nor after. */
	if (before == 0 && after < 0)
		op->client_id = strdup("reverse");
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
