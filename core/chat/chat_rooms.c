/* Rooms and people: listing, creating, joining, leaving, inviting,
 * kicking, topics, DMs, member lists, typing and read markers. Each change
 * is written to the store first; memory, events and hooks follow only
 * when the store has it. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "chat/cluster_shared.h"
#include "chat/chat.h"
#include "chat/chat_dm.h"
#include "chat/chat_internal.h"
#include "chat/presence.h"
#include "chat/chat_room_admin.h"
#include "chat/cluster_bus.h"
#include "chat/person_lookup.h"
#include "host/hooks.h"
#include "base/log.h"
#include "base/loop.h"

void chat_reply_member_error(client *cl, json_t *rid, int rc)
{
	chat_reply_error(cl, rid, rc,
	                 rc == PARLEY_ENOTFOUND ? "no such room" : "not a member of this room");
}

int chat_require_member(client *cl, json_t *rid, room *r, member **out)
{
	int rc = chat_check_member(r, cl->user, out);
	if (rc != PARLEY_OK)
		chat_reply_member_error(cl, rid, rc);
	return rc;
}

int chat_check_member(room *r, const user_rec *u, member **out)
{
	*out = NULL;
	if (!r)
		return PARLEY_ENOTFOUND;
	member *m = room_member(r, u->id);
	if (m) {
		*out = m;
		return PARLEY_OK;
	}
	/* Private rooms and DMs are invisible to non-members. */
	return strcmp(r->kind, "public") == 0 ? PARLEY_EFORBIDDEN : PARLEY_ENOTFOUND;
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

static int is_admin(const user_rec *u)
{
	return strcmp(u->role, "admin") == 0;
}

/* A request's context across store calls. */
struct room_op {
	uint64_t conn_id;
	json_t *rid;
	user_rec *user;   /* who asked */
	user_rec *target; /* invite/kick/dm: the other person */
	char *room_id;
	enum room_role role;
	chat_member_done done;
	void *ud;
};

static struct room_op *room_op_new(client *cl, json_t *rid)
{
	struct room_op *op = calloc(1, sizeof *op);
	if (!op)
		return NULL;
	if (cl) {
		op->conn_id = cl->conn_id;
		op->user = cl->user;
	}
	op->rid = json_incref(rid);
	return op;
}

static void room_op_free(struct room_op *op)
{
	json_decref(op->rid);
	free(op->room_id);
	free(op);
}

static client *op_client(const struct room_op *op)
{
	if (!op->conn_id)
		return NULL;
	conn *c = conn_find(op->conn_id);
	return c && c->proto == CONN_WS ? c->app : NULL;
}

static void reply_room(client *cl, json_t *rid, room *r)
{
	json_t *f = json_pack("{s:s, s:o}", "type", "room", "room", proto_room(r, cl->user));
	if (f && rid)
		json_object_set(f, "rid", rid);
	chat_send_json(cl, f);
}

static room *find_room_arg(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *room_id;
	if (proto_get_str(req, "room", 1, PROTO_MAX_ID, &room_id, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return NULL;
	}
	room *r = room_by_id(room_id);
	if (!r) {
		chat_reply_error(cl, rid, PARLEY_ENOTFOUND, "no such room");
		return NULL;
	}
	return r;
}

static user_rec *find_user_arg(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *who;
	if (proto_get_str(req, "user", 1, PROTO_MAX_ID, &who, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return NULL;
	}
	user_rec *u = users_by_id(who);
	if (!u)
		u = users_by_name(who[0] == '@' ? who + 1 : who);
	if (!u || u->disabled) {
		chat_reply_error(cl, rid, PARLEY_ENOTFOUND, "no such user");
		return NULL;
	}
	return u;
}

/* ---------------------------------------------------------------- */
/* Membership changes                                                 */
/* ---------------------------------------------------------------- */

static void run_member_hook(int event, room *r, user_rec *u)
{
	struct chat_hook h;
	chat_hook_init(&h, event, u, r);
	hooks_run(&h.args, NULL, NULL);
}

static void member_added(void *ud, const parley_store_result *res)
{
	struct room_op *op = ud;
	room *r = room_by_id(op->room_id);
	if (res->rc != PARLEY_OK || !r) {
		if (op->done)
			op->done(op->ud, res->rc != PARLEY_OK ? res->rc : PARLEY_ENOTFOUND,
			         res->error ? res->error : "membership change failed");
		room_op_free(op);
		return;
	}
	member *before = room_member(r, op->target->id);
	/* A read of the account's memberships (its first sign-in, a "Y") that
	 * saw this join stored told this node's sessions already: the join is
	 * still done, and told to the other nodes. */
	int told_here = before && before->joined_told;
	if (!room_add_member(r, op->target, op->role, 0)) {
		if (op->done)
			op->done(op->ud, PARLEY_ENOMEM, "out of memory");
		room_op_free(op);
		return;
	}
	if (!before || told_here) {
		json_t *ev = json_pack("{s:s, s:s, s:o}", "type", "member_joined", "room", r->id,
		                       "user", proto_user(op->target));
		if (told_here) {
			before->joined_told = 0;
			chat_publish_json(r, ev);
		} else {
			chat_broadcast_json(r, ev, NULL);
		}
		chat_subscribe_user(op->target, r);
		/* The newcomer's sessions learn the room itself. */
		chat_send_user(op->target, r,
		               json_pack("{s:s, s:o}", "type", "room_updated", "room",
		                         proto_room(r, op->target)),
		               NULL);
		run_member_hook(PARLEY_HOOK_JOIN, r, op->target);
	}
	if (op->done)
		op->done(op->ud, PARLEY_OK, NULL);
	room_op_free(op);
}

void chat_add_member(room *r, user_rec *u, enum room_role role, chat_member_done done, void *ud)
{
	struct room_op *op = room_op_new(NULL, NULL);
	if (!op || !(op->room_id = strdup(r->id))) {
		if (op)
			room_op_free(op);
		if (done)
			done(ud, PARLEY_ENOMEM, "out of memory");
		return;
	}
	op->target = u;
	op->role = role;
	op->done = done;
	op->ud = ud;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (st->member_set(self, r->id, u->id, room_role_name(role), member_added, op) !=
	    PARLEY_PENDING) {
		if (done)
			done(ud, PARLEY_EUNAVAIL, "store unavailable");
		room_op_free(op);
	}
}

/* Reply for a request whose effect is a membership change. */
struct member_reply {
	uint64_t conn_id;
	json_t *rid;
	char *room_id;
	int reply_room; /* join: the room object; invite: ok */
};

static void member_reply_done(void *ud, int rc, const char *message)
{
	struct member_reply *mr = ud;
	conn *c = conn_find(mr->conn_id);
	client *cl = c && c->proto == CONN_WS ? c->app : NULL;
	room *r = room_by_id(mr->room_id);
	if (cl) {
		if (rc != PARLEY_OK)
			chat_reply_error(cl, mr->rid, rc, message);
		else if (mr->reply_room && r)
			reply_room(cl, mr->rid, r);
		else
			chat_reply_ok(cl, mr->rid);
	}
	json_decref(mr->rid);
	free(mr->room_id);
	free(mr);
}

static void add_member_for(client *cl, json_t *rid, room *r, user_rec *u, enum room_role role,
                           int reply_room)
{
	struct member_reply *mr = calloc(1, sizeof *mr);
	if (!mr || !(mr->room_id = strdup(r->id))) {
		free(mr);
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	mr->conn_id = cl->conn_id;
	mr->rid = json_incref(rid);
	mr->reply_room = reply_room;
	chat_add_member(r, u, role, member_reply_done, mr);
}

static void member_removed(void *ud, const parley_store_result *res)
{
	struct room_op *op = ud;
	client *cl = op_client(op);
	room *r = room_by_id(op->room_id);
	if (res->rc != PARLEY_OK) {
		if (cl)
			chat_reply_error(cl, op->rid, res->rc, "membership change failed");
		room_op_free(op);
		return;
	}
	if (r && room_member(r, op->target->id)) {
		json_t *ev = json_pack("{s:s, s:s, s:o}", "type", "member_left", "room", r->id,
		                       "user", proto_user(op->target));
		if (ev && op->user != op->target)
			json_object_set_new(ev, "by", proto_user(op->user));
		chat_broadcast_json(r, ev, NULL);
		chat_unsubscribe_user(op->target, r);
		room_remove_member(r, op->target->id);
		run_member_hook(PARLEY_HOOK_LEAVE, r, op->target);
	}
	if (cl)
		chat_reply_ok(cl, op->rid);
	room_op_free(op);
}

static void remove_member(client *cl, json_t *rid, room *r, user_rec *target)
{
	struct room_op *op = room_op_new(cl, rid);
	if (!op || !(op->room_id = strdup(r->id))) {
		if (op)
			room_op_free(op);
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	op->target = target;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (st->member_remove(self, r->id, target->id, member_removed, op) != PARLEY_PENDING) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "store unavailable");
		room_op_free(op);
	}
}

struct kick_op {
	char *room_id;
	user_rec *target, *by;
	chat_member_done done;
	void *ud;
};

static void kicked(void *ud, const parley_store_result *res)
{
	struct kick_op *op = ud;
	room *r = room_by_id(op->room_id);
	if (res->rc == PARLEY_OK && r && room_member(r, op->target->id)) {
		json_t *ev = json_pack("{s:s, s:s, s:o}", "type", "member_left", "room", r->id,
		                       "user", proto_user(op->target));
		if (ev && op->by)
			json_object_set_new(ev, "by", proto_user(op->by));
		chat_broadcast_json(r, ev, NULL);
		chat_unsubscribe_user(op->target, r);
		room_remove_member(r, op->target->id);
		run_member_hook(PARLEY_HOOK_LEAVE, r, op->target);
	}
	if (op->done)
		op->done(op->ud, res->rc, res->rc == PARLEY_OK ? NULL : "membership change failed");
	free(op->room_id);
	free(op);
}

int chat_remove_member(room *r, user_rec *target, user_rec *by, chat_member_done done, void *ud)
{
	if (!r || !target)
		return PARLEY_EINVAL;
	if (!room_member(r, target->id))
		return PARLEY_ENOTFOUND;
	struct kick_op *op = calloc(1, sizeof *op);
	if (!op || !(op->room_id = strdup(r->id))) {
		free(op);
		return PARLEY_ENOMEM;
	}
	op->target = target;
	op->by = by;
	op->done = done;
	op->ud = ud;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	int rc = st->member_remove(self, r->id, target->id, kicked, op);
	if (rc != PARLEY_PENDING) {
		free(op->room_id);
		free(op);
		return rc < 0 ? rc : PARLEY_ERR;
	}
	return PARLEY_OK;
}

/* ---------------------------------------------------------------- */
/* Requests                                                           */
/* ---------------------------------------------------------------- */

/* `rooms`: the caller's rooms, or with public=true a page of the public
 * rooms in id order (after, limit; more when there are others). A token
 * limited to some rooms lists only those. */
void chat_req_rooms(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	int pub = 0;
	const char *after = NULL;
	int64_t limit = CHAT_ROOMS_PAGE_MAX;
	if (proto_get_bool(req, "public", 0, &pub, err, sizeof err) < 0 ||
	    proto_get_str(req, "after", 0, PROTO_MAX_ID, &after, err, sizeof err) < 0 ||
	    proto_get_int(req, "limit", 0, &limit, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (limit < 1 || limit > CHAT_ROOMS_PAGE_MAX) {
		snprintf(err, sizeof err, "limit: must be between 1 and %d", CHAT_ROOMS_PAGE_MAX);
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	json_t *list = json_array();
	int more = 0;
	if (pub) {
		size_t n;
		room **sorted = rooms_public_sorted(&n);
		int64_t taken = 0;
		for (size_t i = 0; i < n; i++) {
			room *r = sorted[i];
			/* An archived room leaves the list (search still finds it). */
			if ((after && strcmp(r->id, after) <= 0) || r->archived ||
			    scope_hides_room(cl->scope, r->id))
				continue;
			if (taken == limit) {
				more = 1;
				break;
			}
			json_array_append_new(list, proto_room(r, cl->user));
			taken++;
		}
	} else {
		for (size_t i = 0; i < cl->user->n_memberships; i++) {
			room *r = cl->user->memberships[i]->room;
			if (!scope_hides_room(cl->scope, r->id))
				json_array_append_new(list, proto_room(r, cl->user));
		}
	}
	json_t *f = json_pack("{s:s, s:o}", "type", "rooms", "rooms", list);
	if (f && pub)
		json_object_set_new(f, "more", json_boolean(more));
	if (f && rid)
		json_object_set(f, "rid", rid);
	chat_send_json(cl, f);
}

int chat_valid_room_name(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > CHAT_ROOM_NAME_MAX || s[0] == '.' || s[0] == '-')
		return 0;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (!(isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch >= 0x80))
			return 0;
	}
	return 1;
}

static void room_created(void *ud, const parley_store_result *res)
{
	struct room_op *op = ud;
	client *cl = op_client(op);
	if (res->rc != PARLEY_OK || !res->n_rooms) {
		if (cl)
			chat_reply_error(cl, op->rid, res->rc,
			                 res->rc == PARLEY_ECONFLICT
			                     ? "a public room with that name exists"
			                     : "room creation failed");
		room_op_free(op);
		return;
	}
	room *r = room_upsert(&res->rooms[0]);
	if (r)
		cluster_room_added(r);
	if (r && op->user) {
		room_add_member(r, op->user, strcmp(r->kind, "dm") == 0 ? ROLE_MEMBER : ROLE_OWNER,
		                0);
		chat_subscribe_user(op->user, r);
		log_info("room_created", NULL, "%s created room %s (%s, %s)", op->user->name,
		         r->name, r->id, r->kind);
	}
	if (r && op->target && op->target != op->user) {
		/* A DM: the other person joins too; the reply (named after
		 * them) waits for that. */
		struct member_reply *mr = calloc(1, sizeof *mr);
		if (mr && (mr->room_id = strdup(r->id))) {
			mr->conn_id = op->conn_id;
			mr->rid = json_incref(op->rid);
			mr->reply_room = 1;
			chat_add_member(r, op->target, ROLE_MEMBER, member_reply_done, mr);
			room_op_free(op);
			return;
		}
		free(mr);
	}
	if (cl && r)
		reply_room(cl, op->rid, r);
	room_op_free(op);
}

void chat_req_create_room(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *name, *kind = "public", *topic = "";
	if (proto_get_str(req, "name", 1, CHAT_ROOM_NAME_MAX * 4, &name, err, sizeof err) < 0 ||
	    proto_get_str(req, "kind", 0, 16, &kind, err, sizeof err) < 0 ||
	    proto_get_str(req, "topic", 0, CHAT_TOPIC_MAX * 4, &topic, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (!chat_valid_room_name(name)) {
		chat_reply_error(cl, rid, PARLEY_EINVAL,
		                 "name: 1-64 letters, digits, '-', '_' or '.', not starting "
		                 "with '-' or '.'");
		return;
	}
	if (strcmp(kind, "public") != 0 && strcmp(kind, "private") != 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL,
		                 "kind: expected \"public\" or \"private\"");
		return;
	}
	if (proto_utf8_len(topic) > CHAT_TOPIC_MAX) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, "topic: at most 250 characters");
		return;
	}
	if (strcmp(cl->user->role, "bot") == 0) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN, "bots may not create rooms");
		return;
	}
	/* Only public names are unique: a private room may share any name, so
	 * creating one tells nothing about the rooms a person cannot see. */
	if (strcmp(kind, "public") == 0 && room_by_name(name)) {
		chat_reply_error(cl, rid, PARLEY_ECONFLICT, "a public room with that name exists");
		return;
	}
	struct room_op *op = room_op_new(cl, rid);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	parley_room pr = {.name = name,
	                  .kind = kind,
	                  .topic = topic,
	                  .created_by = cl->user->id,
	                  .created_ts = loop_now_ms()};
	if (!op || st->room_create(self, &pr, "owner", room_created, op) != PARLEY_PENDING) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "store unavailable");
		if (op)
			room_op_free(op);
	}
}

void chat_req_join(client *cl, json_t *req, json_t *rid)
{
	room *r = find_room_arg(cl, req, rid);
	if (!r)
		return;
	if (room_member(r, cl->user->id)) {
		reply_room(cl, rid, r);
		return;
	}
	if (strcmp(r->kind, "public") != 0) {
		chat_reply_error(cl, rid, PARLEY_ENOTFOUND, "no such room");
		return;
	}
	add_member_for(cl, rid, r, cl->user, ROLE_MEMBER, 1);
}

void chat_req_leave(client *cl, json_t *req, json_t *rid)
{
	member *m;
	room *r = find_room_arg(cl, req, rid);
	if (!r)
		return;
	if (chat_require_member(cl, rid, r, &m) != PARLEY_OK)
		return;
	remove_member(cl, rid, r, cl->user);
}

static void invitee_found(void *ud, user_rec *u)
{
	struct room_op *op = ud;
	client *cl = op_client(op);
	room *r = room_by_id(op->room_id);
	if (!cl || !r) {
		room_op_free(op);
		return;
	}
	if (!u || u->disabled)
		chat_reply_error(cl, op->rid, PARLEY_ENOTFOUND, "no such user");
	else if (room_member(r, u->id))
		chat_reply_ok(cl, op->rid);
	else
		add_member_for(cl, op->rid, r, u, ROLE_MEMBER, 0);
	room_op_free(op);
}

void chat_req_invite(client *cl, json_t *req, json_t *rid)
{
	member *m;
	room *r = find_room_arg(cl, req, rid);
	if (!r)
		return;
	if (chat_require_member(cl, rid, r, &m) != PARLEY_OK)
		return;
	if (strcmp(r->kind, "dm") == 0) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN,
		                 "a DM has exactly its people: open a DM with everyone instead");
		return;
	}
	/* Anyone may join a public room, so by default any member may bring
	 * someone; a private room's door is kept by its owners and moderators.
	 * The room's may_invite setting changes either. */
	if (!chat_room_may_invite(r, m) && !is_admin(cl->user)) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN,
		                 strcmp(r->kind, "private") == 0
		                     ? "only owners and moderators may invite to a private room"
		                     : "only owners and moderators may invite to this room");
		return;
	}
	char err[PROTO_ERR_LEN];
	const char *who;
	if (proto_get_str(req, "user", 1, PROTO_MAX_ID, &who, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	/* The invitee may be unknown here yet (made by the CLI, or seen only
	 * by another node): looked up in the store then. */
	struct room_op *op = room_op_new(cl, rid);
	if (!op || !(op->room_id = strdup(r->id))) {
		if (op)
			room_op_free(op);
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	int rc = chat_user_find(who, invitee_found, op);
	if (rc != PARLEY_OK) {
		chat_reply_error(cl, rid, rc, "the invitee could not be looked up");
		room_op_free(op);
	}
}

static void kick_now(client *cl, json_t *req, json_t *rid)
{
	member *m;
	room *r = find_room_arg(cl, req, rid);
	if (!r)
		return;
	int rc = chat_check_member(r, cl->user, &m);
	if (rc != PARLEY_OK && !is_admin(cl->user)) {
		chat_reply_member_error(cl, rid, rc);
		return;
	}
	user_rec *u = find_user_arg(cl, req, rid);
	if (!u)
		return;
	member *target = room_member(r, u->id);
	if (!target) {
		chat_reply_error(cl, rid, PARLEY_ENOTFOUND, "not a member of this room");
		return;
	}
	if (strcmp(r->kind, "dm") == 0) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN,
		                 "nobody can be removed from a DM: anyone may leave it");
		return;
	}
	enum room_role mine = m ? m->role : ROLE_MEMBER;
	if (!is_admin(cl->user) && (mine < ROLE_MODERATOR || target->role > mine)) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN, "only moderators may remove members");
		return;
	}
	remove_member(cl, rid, r, u);
}

void chat_req_kick(client *cl, json_t *req, json_t *rid)
{
	person_lookup_then(cl, req, rid, kick_now);
}

static void topic_set(void *ud, const parley_store_result *res)
{
	struct room_op *op = ud;
	client *cl = op_client(op);
	room *r = room_by_id(op->room_id);
	if (res->rc != PARLEY_OK) {
		if (cl)
			chat_reply_error(cl, op->rid, res->rc, "topic change failed");
		room_op_free(op);
		return;
	}
	if (r && res->n_rooms)
		room_upsert(&res->rooms[0]);
	if (cl)
		chat_reply_ok(cl, op->rid);
	if (r) {
		json_t *ev =
		    json_pack("{s:s, s:o}", "type", "room_updated", "room", proto_room(r, NULL));
		if (ev)
			json_object_set_new(ev, "by", proto_user(op->user));
		chat_broadcast_json(r, ev, NULL);
	}
	room_op_free(op);
}

void chat_req_topic(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *topic;
	member *m;
	room *r = find_room_arg(cl, req, rid);
	if (!r)
		return;
	if (proto_get_str(req, "topic", 1, CHAT_TOPIC_MAX * 4, &topic, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (proto_utf8_len(topic) > CHAT_TOPIC_MAX) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, "topic: at most 250 characters");
		return;
	}
	int rc = chat_check_member(r, cl->user, &m);
	if (rc != PARLEY_OK && !is_admin(cl->user)) {
		chat_reply_member_error(cl, rid, rc);
		return;
	}
	int may =
	    is_admin(cl->user) || (m && m->role >= ROLE_MODERATOR) || strcmp(r->kind, "dm") == 0;
	if (!may) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN,
		                 "only moderators may change the topic");
		return;
	}
	/* Set in memory when the store confirms (topic_set). */
	struct room_op *op = room_op_new(cl, rid);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!op || !(op->room_id = strdup(r->id))) {
		if (op)
			room_op_free(op);
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	free(r->topic);
	r->topic = strdup(topic);
	if (st->room_set_topic(self, r->id, topic, topic_set, op) != PARLEY_PENDING) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "store unavailable");
		room_op_free(op);
	}
}

static void dm_now(client *cl, json_t *req, json_t *rid)
{
	if (json_object_get(req, "users")) {
		chat_req_group_dm(cl, req, rid);
		return;
	}
	user_rec *u = find_user_arg(cl, req, rid);
	if (!u)
		return;
	/* A 1:1 DM is the DM of a set of two (or one: a self-DM): the same
	 * room name, the same bringing back of whoever left, the same handling
	 * of two people opening it at once. */
	json_t *users = json_pack("[s]", u->id);
	if (!users || json_object_set_new(req, "users", users) < 0) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	chat_req_group_dm(cl, req, rid);
}

void chat_req_members(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *after = NULL;
	int64_t limit = CHAT_MEMBERS_MAX;
	member *m;
	room *r = find_room_arg(cl, req, rid);
	if (!r)
		return;
	if (chat_require_member(cl, rid, r, &m) != PARLEY_OK)
		return;
	if (proto_get_str(req, "after", 0, PROTO_MAX_ID, &after, err, sizeof err) < 0 ||
	    proto_get_int(req, "limit", 0, &limit, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (limit < 1 || limit > CHAT_MEMBERS_MAX) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, "limit: must be between 1 and 500");
		return;
	}
	member **sorted = room_sorted_members(r);
	size_t i = 0;
	if (after)
		while (i < r->n_members && strcmp(sorted[i]->user->id, after) <= 0)
			i++;
	json_t *list = json_array();
	for (int64_t n = 0; i < r->n_members && n < limit; i++, n++) {
		member *mb = sorted[i];
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id",
		                                      mb->user->id, "name", mb->user->name,
		                                      "display_name", mb->user->display_name,
		                                      "role", room_role_name(mb->role), "presence",
		                                      presence_name(presence_of(mb->user))));
	}
	json_t *f = json_pack("{s:s, s:s, s:o, s:b}", "type", "members", "room", r->id, "members",
	                      list, "more", i < r->n_members);
	if (f && rid)
		json_object_set(f, "rid", rid);
	chat_send_json(cl, f);
}

void chat_req_typing(client *cl, json_t *req, json_t *rid)
{
	member *m;
	room *r = chat_req_room(cl, req, rid, &m);
	if (!r)
		return;
	double now = ev_now(loop_ev);
	if (m->last_typing && now - m->last_typing < CHAT_TYPING_INTERVAL)
		return;
	m->last_typing = now;
	chat_broadcast_json(r,
	                    json_pack("{s:s, s:s, s:o}", "type", "typing", "room", r->id, "user",
	                              proto_user(cl->user)),
	                    cl->user);
}

static void read_stored(void *ud, const parley_store_result *res)
{
	(void)ud;
	chat_store_log(res);
}

void chat_req_read(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	int64_t seq;
	member *m;
	room *r = chat_req_room(cl, req, rid, &m);
	if (!r)
		return;
	if (proto_get_int(req, "seq", 1, &seq, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (seq > r->last_seq)
		seq = r->last_seq;
	if (seq <= m->read_seq)
		return; /* forward only */
	m->read_seq = seq;
	if (seq >= r->last_seq)
		m->mentions = 0;
	cluster_read_publish(r, cl->user, seq, seq >= r->last_seq);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (st->read_set(self, r->id, cl->user->id, seq, read_stored, NULL) != PARLEY_PENDING)
		log_warn("store_error", NULL, "read marker of %s in %s not stored", cl->user->id,
		         r->id);
	/* Every node's member state follows the "K" published above; the
	 * event itself is for the person's other sessions only. */
	chat_send_user(
	    cl->user, r,
	    json_pack("{s:s, s:s, s:I}", "type", "read", "room", r->id, "seq", (json_int_t)seq),
	    cl);
}

/* A DM may name people this node has not met (made by the CLI, or seen
 * only by another node): they are read from the store first. */
void chat_req_dm(client *cl, json_t *req, json_t *rid)
{
	person_lookup_then(cl, req, rid, dm_now);
}
