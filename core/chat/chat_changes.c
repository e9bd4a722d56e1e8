/* Changes to stored messages: edit, delete and react for a session, and
 * the same for the server itself (scripts' moderation, bots' reactions):
 * store write, then the event to the room and the hooks. */
#include <stdlib.h>
#include <string.h>

#include "base/loop.h"
#include "chat/chat.h"
#include "chat/chat_internal.h"
#include "chat/chat_room_admin.h"
#include "chat/chat_pins.h"
#include "chat/mention_all.h"
#include "chat/send_rules.h"
#include "host/hooks.h"

/* Runs the edit, delete or reaction hooks for a change by u in r. */
static void run_change_hook(int event, room *r, const user_rec *u, const parley_message *m,
                            const char *emoji, int on)
{
	struct chat_hook h;
	chat_hook_init(&h, event, u, r);
	h.args.message = m;
	h.args.emoji = emoji;
	h.args.on = on;
	hooks_run(&h.args, NULL, NULL);
}

static void edited(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = chat_ws_op_client(op);
	if (res->rc != PARLEY_OK || !res->n_messages) {
		if (cl)
			chat_reply_error(cl, op->rid, res->rc,
			                 res->error ? res->error : "edit failed");
		chat_ws_op_free(op);
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
	chat_ws_op_free(op);
}

static void deleted(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = chat_ws_op_client(op);
	if (res->rc != PARLEY_OK) {
		if (cl)
			chat_reply_error(cl, op->rid, res->rc,
			                 res->error ? res->error : "delete failed");
		chat_ws_op_free(op);
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
		chat_pins_deleted(r, id, op->user);
		parley_message gone = {.id = id, .room_id = r->id, .deleted = 1};
		run_change_hook(PARLEY_HOOK_DELETE, r, op->user, &gone, NULL, 0);
	}
	chat_ws_op_free(op);
}

static void got_message_for_change(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = chat_ws_op_client(op);
	room *r = room_by_id(op->room_id);
	if (!cl || !r || !cl->user) {
		chat_ws_op_free(op);
		return;
	}
	member *still;
	if (chat_require_member(cl, op->rid, r, &still) != PARLEY_OK) {
		chat_ws_op_free(op); /* left the room meanwhile */
		return;
	}
	if (res->rc != PARLEY_OK || !res->n_messages) {
		chat_reply_error(cl, op->rid, res->rc == PARLEY_OK ? PARLEY_ENOTFOUND : res->rc,
		                 "no such message");
		chat_ws_op_free(op);
		return;
	}
	const parley_message *m = &res->messages[0];
	const char *type = json_string_value(json_object_get(op->req, "type"));
	int is_author = strcmp(m->user_id, cl->user->id) == 0;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (m->deleted) {
		chat_reply_error(cl, op->rid, PARLEY_ENOTFOUND, "the message was deleted");
		chat_ws_op_free(op);
		return;
	}
	if (strcmp(type, "edit") == 0) {
		if (!is_author) {
			chat_reply_error(cl, op->rid, PARLEY_EFORBIDDEN,
			                 "only the author may edit a message");
			chat_ws_op_free(op);
			return;
		}
		const char *text = json_string_value(json_object_get(op->req, "text"));
		parley_message mv = *m;
		mv.text = text;
		struct chat_hook h;
		chat_hook_init(&h, PARLEY_HOOK_BEFORE_MESSAGE, cl->user, r);
		h.args.message = &mv;
		const char *deny = NULL, *rewritten = NULL, *why;
		int verdict = hooks_run(&h.args, &deny, &rewritten);
		if (send_rule_hooks(verdict, deny, rewritten, chat_max_text(), &text, &why) !=
		    PARLEY_OK) {
			chat_reply_error(cl, op->rid, PARLEY_EFORBIDDEN, why);
			chat_ws_op_free(op);
			return;
		}
		/* @here/@room/@all follow the send's rules: an edit that brings
		 * one the message did not have is checked as a send would be. */
		const char *all = mention_all_kind(text);
		const char *had = m->text ? mention_all_kind(m->text) : NULL;
		char why_all[200];
		if (all && (!had || strcmp(all, had) != 0) &&
		    mention_all_allowed(r, cl->user, all, why_all, sizeof why_all) != PARLEY_OK) {
			chat_reply_error(cl, op->rid, PARLEY_EFORBIDDEN, why_all);
			chat_ws_op_free(op);
			return;
		}
		json_t *mentions = chat_room_mentions(r, text);
		if (all && mentions)
			mention_all_add(mentions, r, cl->user, all);
		char *mj = mentions ? proto_dump(mentions, NULL) : NULL;
		json_decref(mentions);
		int rc = st->message_edit(self, r->id, m->id, text, mj, loop_now_ms(), edited, op);
		free(mj);
		if (rc != PARLEY_PENDING) {
			chat_reply_error(cl, op->rid, rc < 0 ? rc : PARLEY_ERR, "edit failed");
			chat_ws_op_free(op);
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
		chat_ws_op_free(op);
		return;
	}
	if (!may) {
		chat_reply_error(cl, op->rid, PARLEY_EFORBIDDEN,
		                 "only the author or a moderator may delete a message");
		chat_ws_op_free(op);
		return;
	}
	int rc = st->message_delete(self, r->id, m->id, deleted, op);
	if (rc != PARLEY_PENDING) {
		chat_reply_error(cl, op->rid, rc < 0 ? rc : PARLEY_ERR, "delete failed");
		chat_ws_op_free(op);
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
	const char *why;
	if (chat_room_may_write(r, cl->user, 0, &why) != PARLEY_OK) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN, why);
		return;
	}
	if (is_edit) {
		int rc = send_rule_text(text, 0, chat_max_text(), &why);
		if (rc != PARLEY_OK) {
			chat_reply_error(cl, rid, rc, why);
			return;
		}
	}
	struct ws_op *op = chat_ws_op_new(cl, req, rid, r);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!op) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	int rc = st->message_get(self, r->id, id, got_message_for_change, op);
	if (rc != PARLEY_PENDING) {
		rc = chat_store_refused(rc);
		chat_reply_error(cl, rid, rc,
		                 rc == PARLEY_ENOTFOUND ? "no such message" : "store unavailable");
		chat_ws_op_free(op);
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
	client *cl = chat_ws_op_client(op);
	if (res->rc != PARLEY_OK) {
		if (cl)
			chat_reply_error(cl, op->rid, res->rc,
			                 res->rc == PARLEY_ENOTFOUND ? "no such message"
			                                             : "reaction failed");
		chat_ws_op_free(op);
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
	chat_ws_op_free(op);
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
	const char *why;
	if (chat_room_may_write(r, cl->user, 0, &why) != PARLEY_OK) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN, why);
		return;
	}
	if (!*emoji || strpbrk(emoji, " \t\r\n")) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, "emoji: must be one emoji or :name:");
		return;
	}
	struct ws_op *op = chat_ws_op_new(cl, req, rid, r);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!op) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	int rc = st->react(self, r->id, id, cl->user->id, emoji, on, reacted, op);
	if (rc != PARLEY_PENDING) {
		rc = chat_store_refused(rc);
		chat_reply_error(cl, rid, rc,
		                 rc == PARLEY_ENOTFOUND ? "no such message" : "store unavailable");
		chat_ws_op_free(op);
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
		chat_pins_deleted(r, op->msg_id, op->actor);
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
		return chat_store_refused(rc);
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
		return chat_store_refused(rc);
	}
	return PARLEY_OK;
}
