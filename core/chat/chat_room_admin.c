/* Rooms an owner can run (chat_room_admin.h). Each request is checked,
 * written to the store step by step (rename, settings, retention), and
 * only what the store confirmed reaches memory, the events and the audit
 * log. */
#include "chat/chat_room_admin.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/loop.h"
#include "chat/chat.h"
#include "chat/chat_internal.h"
#include "chat/chat_retention.h"
#include "chat/cluster_bus.h"
#include "chat/person_lookup.h"

static int is_admin(const user_rec *u)
{
	return strcmp(u->role, "admin") == 0;
}

static const char *least_role_name(int role)
{
	return role >= ROLE_MODERATOR ? "moderators" : "members";
}

/* "members" | "moderators" → the least role; -1 when neither. */
static int least_role_parse(const char *s)
{
	if (!s)
		return -1;
	if (strcmp(s, "members") == 0)
		return ROLE_MEMBER;
	if (strcmp(s, "moderators") == 0)
		return ROLE_MODERATOR;
	return -1;
}

static int invite_least_role(const room *r)
{
	if (r->may_invite >= 0)
		return r->may_invite;
	return strcmp(r->kind, "private") == 0 ? ROLE_MODERATOR : ROLE_MEMBER;
}

void chat_room_settings_json(const room *r, json_t *o)
{
	json_object_set_new(o, "archived", json_boolean(r->archived));
	json_object_set_new(o, "may_post", json_string(least_role_name(r->may_post)));
	json_object_set_new(o, "may_invite", json_string(least_role_name(invite_least_role(r))));
	json_object_set_new(o, "may_pin", json_string(least_role_name(r->may_pin)));
}

int chat_room_may_write(const room *r, const user_rec *u, int posting, const char **why)
{
	if (r->archived) {
		*why = "this room is archived: it is read-only";
		return PARLEY_EFORBIDDEN;
	}
	if (!posting || r->may_post <= ROLE_MEMBER || strcmp(r->kind, "dm") == 0 || is_admin(u))
		return PARLEY_OK;
	const member *m = room_member(r, u->id);
	if (m && m->role >= r->may_post)
		return PARLEY_OK;
	*why = "only moderators may post in this room";
	return PARLEY_EFORBIDDEN;
}

int chat_room_may_invite(const room *r, const member *m)
{
	return m && (int)m->role >= invite_least_role(r);
}

int chat_room_may_pin(const room *r, const member *m)
{
	return strcmp(r->kind, "dm") == 0 || (m && m->role >= r->may_pin);
}

/* Applies a stored settings object to r (unknown keys are ignored, so a
 * newer server's settings do not stop an older one). */
static void apply_settings(room *r, json_t *s)
{
	r->archived = json_is_true(json_object_get(s, "archived"));
	int post = least_role_parse(json_string_value(json_object_get(s, "may_post")));
	int pin = least_role_parse(json_string_value(json_object_get(s, "may_pin")));
	r->may_post = post < 0 ? ROLE_MEMBER : (enum room_role)post;
	r->may_pin = pin < 0 ? ROLE_MODERATOR : (enum room_role)pin;
	r->may_invite = least_role_parse(json_string_value(json_object_get(s, "may_invite")));
}

void chat_room_settings_apply(room *r, json_t *settings)
{
	apply_settings(r, settings);
}

/* ---------------------------------------------------------------- */
/* Audit                                                              */
/* ---------------------------------------------------------------- */

static void audit_written(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (res->rc != PARLEY_OK)
		log_error("audit_failed", NULL, "an audit entry was not written: %s",
		          res->error ? res->error : "store error");
}

void chat_audit(const user_rec *actor, const char *action, const char *target, json_t *detail,
                const char *peer)
{
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	char *detail_text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(detail);
	parley_audit a = {.ts = loop_now_ms(),
	                  .actor_id = actor ? actor->id : NULL,
	                  .action = action,
	                  .target = target,
	                  .detail = detail_text,
	                  .client = peer};
	/* Also in the log, so an audit trail exists even without the store. */
	log_info("audit", NULL, "%s by %s from %s on %s", action, actor ? actor->id : "server",
	         peer ? peer : "-", target ? target : "-");
	if (!PARLEY_HAS(parley_store_vtable, st, audit_append) ||
	    st->audit_append(self, &a, audit_written, NULL) != PARLEY_PENDING)
		log_error("audit_failed", NULL, "an audit entry for %s was not written", action);
	free(detail_text);
}

static const char *client_addr(const client *cl)
{
	return cl && cl->c && cl->c->peer_ip[0] ? cl->c->peer_ip : NULL;
}

/* ---------------------------------------------------------------- */
/* room_settings                                                      */
/* ---------------------------------------------------------------- */

struct settings_op {
	uint64_t conn_id;
	json_t *rid;
	user_rec *user;
	char *room_id;
	char *name;        /* to rename to; NULL: done or unchanged */
	json_t *settings;  /* the whole new settings object; NULL: done or unchanged */
	int has_retention; /* a retention to set */
	int64_t retention_ms;
	json_t *changes; /* what was asked, for the event's reader and the audit */
	int changed;     /* a step the store confirmed */
	char client[48];
};

static void settings_op_free(struct settings_op *op)
{
	json_decref(op->rid);
	json_decref(op->settings);
	json_decref(op->changes);
	free(op->room_id);
	free(op->name);
	free(op);
}

static client *settings_client(const struct settings_op *op)
{
	conn *c = conn_find(op->conn_id);
	return c && c->proto == CONN_WS ? c->app : NULL;
}

static void settings_next(struct settings_op *op);

/* The end of the chain: room_updated to the room, the room to the caller
 * (or the error), and the audit entry for what the store took. */
static void settings_finish(struct settings_op *op, int rc, const char *why)
{
	client *cl = settings_client(op);
	room *r = room_by_id(op->room_id);
	if (op->changed && r) {
		json_t *room_o = proto_room(r, NULL);
		if (room_o && op->has_retention && rc == PARLEY_OK)
			json_object_set_new(room_o, "retention",
			                    json_integer(op->retention_ms / 1000));
		json_t *ev = json_pack("{s:s, s:o, s:o}", "type", "room_updated", "room", room_o,
		                       "by", proto_user(op->user));
		chat_broadcast_json(r, ev, NULL);
		chat_audit(op->user, "room.settings", r->id, json_incref(op->changes),
		           op->client[0] ? op->client : NULL);
	}
	if (cl) {
		if (rc != PARLEY_OK) {
			chat_reply_error(cl, op->rid, rc, why);
		} else if (r) {
			json_t *room_o = proto_room(r, cl->user);
			if (room_o && op->has_retention)
				json_object_set_new(room_o, "retention",
				                    json_integer(op->retention_ms / 1000));
			json_t *f = json_pack("{s:s, s:o}", "type", "room", "room", room_o);
			if (f && op->rid)
				json_object_set(f, "rid", op->rid);
			chat_send_json(cl, f);
		}
	}
	settings_op_free(op);
}

static void renamed(void *ud, const parley_store_result *res)
{
	struct settings_op *op = ud;
	if (res->rc != PARLEY_OK || !res->n_rooms) {
		settings_finish(op, res->rc != PARLEY_OK ? res->rc : PARLEY_ENOTFOUND,
		                res->rc == PARLEY_ECONFLICT ? "a public room with that name exists"
		                                            : "the room was not renamed");
		return;
	}
	room_upsert(&res->rooms[0]);
	free(op->name);
	op->name = NULL;
	op->changed = 1;
	settings_next(op);
}

static void settings_written(void *ud, const parley_store_result *res)
{
	struct settings_op *op = ud;
	if (res->rc != PARLEY_OK) {
		settings_finish(op, res->rc, "the settings were not stored");
		return;
	}
	room *r = room_by_id(op->room_id);
	if (r)
		apply_settings(r, op->settings);
	json_decref(op->settings);
	op->settings = NULL;
	op->changed = 1;
	settings_next(op);
}

static void retention_written(void *ud, const parley_store_result *res)
{
	struct settings_op *op = ud;
	if (res->rc != PARLEY_OK) {
		settings_finish(op, res->rc, "the retention was not stored");
		return;
	}
	op->changed = 1;
	settings_finish(op, PARLEY_OK, NULL);
}

static void settings_next(struct settings_op *op)
{
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	int rc;
	if (op->name)
		rc = st->room_rename(self, op->room_id, op->name, renamed, op);
	else if (op->settings) {
		char *text = json_dumps(op->settings, JSON_COMPACT | JSON_SORT_KEYS);
		rc = text ? st->room_settings_set(self, op->room_id, text, settings_written, op)
		          : PARLEY_ENOMEM;
		free(text);
	} else if (op->has_retention)
		rc = st->room_retention_set(self, op->room_id, op->retention_ms, retention_written,
		                            op);
	else {
		settings_finish(op, PARLEY_OK, NULL);
		return;
	}
	if (rc != PARLEY_PENDING)
		settings_finish(op, chat_store_refused(rc), "store unavailable");
}

/* The room named by "room" that the caller may administer (its owner, or
 * an admin); otherwise replies the error and returns NULL. */
static room *owned_room(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *room_id;
	if (proto_get_str(req, "room", 1, PROTO_MAX_ID, &room_id, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return NULL;
	}
	room *r = room_by_id(room_id);
	member *m = NULL;
	int rc = chat_check_member(r, cl->user, &m);
	if (rc != PARLEY_OK && !(r && is_admin(cl->user))) {
		chat_reply_member_error(cl, rid, rc);
		return NULL;
	}
	if (strcmp(r->kind, "dm") == 0) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN, "a DM has no settings");
		return NULL;
	}
	if (!is_admin(cl->user) && (!m || m->role < ROLE_OWNER)) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN, "only the room's owners may do that");
		return NULL;
	}
	return r;
}

/* Reads one may_* field into the settings object; -1 after replying an
 * error. */
static int take_least_role(client *cl, json_t *req, json_t *rid, const char *key, json_t *settings,
                           json_t *changes)
{
	json_t *v = json_object_get(req, key);
	if (!v)
		return 0;
	if (least_role_parse(json_string_value(v)) < 0) {
		char why[96];
		snprintf(why, sizeof why, "%s: expected \"members\" or \"moderators\"", key);
		chat_reply_error(cl, rid, PARLEY_EINVAL, why);
		return -1;
	}
	json_object_set(settings, key, v);
	json_object_set(changes, key, v);
	return 1;
}

void chat_req_room_settings(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	room *r = owned_room(cl, req, rid);
	if (!r)
		return;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, room_rename) ||
	    !PARLEY_HAS(parley_store_vtable, st, room_settings_set)) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "this store keeps no room settings");
		return;
	}
	const char *name = NULL;
	int archived = -1;
	if (proto_get_str(req, "name", 0, CHAT_ROOM_NAME_MAX * 4, &name, err, sizeof err) < 0 ||
	    (json_object_get(req, "archived") &&
	     proto_get_bool(req, "archived", 1, &archived, err, sizeof err) < 0)) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (name && !chat_valid_room_name(name)) {
		chat_reply_error(cl, rid, PARLEY_EINVAL,
		                 "name: 1-64 letters, digits, '-', '_' or '.', not starting "
		                 "with '-' or '.'");
		return;
	}
	if (name && strcmp(r->kind, "public") == 0) {
		room *other = room_by_name(name);
		if (other && other != r) {
			chat_reply_error(cl, rid, PARLEY_ECONFLICT,
			                 "a public room with that name exists");
			return;
		}
	}
	int64_t retention_ms = 0;
	json_t *retention = json_object_get(req, "retention");
	const char *why;
	if (retention && chat_retention_parse(retention, &retention_ms, &why) != PARLEY_OK) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, why);
		return;
	}
	if (retention && !PARLEY_HAS(parley_store_vtable, st, room_retention_set)) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "this store has no per-room retention");
		return;
	}
	/* The whole settings object as it will be: today's, then the request. */
	json_t *settings = json_object();
	json_t *changes = json_object();
	if (!settings || !changes) {
		json_decref(settings);
		json_decref(changes);
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	json_object_set_new(settings, "archived", json_boolean(r->archived));
	json_object_set_new(settings, "may_post", json_string(least_role_name(r->may_post)));
	json_object_set_new(settings, "may_pin", json_string(least_role_name(r->may_pin)));
	if (r->may_invite >= 0)
		json_object_set_new(settings, "may_invite",
		                    json_string(least_role_name(r->may_invite)));
	int touched = 0, t;
	if (archived >= 0) {
		json_object_set_new(settings, "archived", json_boolean(archived));
		json_object_set_new(changes, "archived", json_boolean(archived));
		touched = 1;
	}
	const char *keys[] = {"may_post", "may_invite", "may_pin"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if ((t = take_least_role(cl, req, rid, keys[i], settings, changes)) < 0) {
			json_decref(settings);
			json_decref(changes);
			return;
		}
		touched |= t;
	}
	if (name && strcmp(name, r->name) != 0)
		json_object_set_new(changes, "name", json_string(name));
	else
		name = NULL;
	if (retention)
		json_object_set_new(changes, "retention", json_integer(retention_ms / 1000));

	struct settings_op *op = calloc(1, sizeof *op);
	if (!op || !(op->room_id = strdup(r->id)) || (name && !(op->name = strdup(name)))) {
		if (op)
			settings_op_free(op);
		json_decref(settings);
		json_decref(changes);
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	op->conn_id = cl->conn_id;
	op->rid = json_incref(rid);
	op->user = cl->user;
	op->changes = changes;
	if (touched)
		op->settings = settings;
	else
		json_decref(settings);
	op->has_retention = retention != NULL;
	op->retention_ms = retention_ms;
	const char *addr = client_addr(cl);
	if (addr)
		snprintf(op->client, sizeof op->client, "%s", addr);
	settings_next(op);
}

/* ---------------------------------------------------------------- */
/* delete_room                                                        */
/* ---------------------------------------------------------------- */

static void room_deleted(void *ud, const parley_store_result *res)
{
	struct settings_op *op = ud;
	client *cl = settings_client(op);
	room *r = room_by_id(op->room_id);
	if (res->rc != PARLEY_OK) {
		if (cl)
			chat_reply_error(cl, op->rid, res->rc, "the room was not deleted");
		settings_op_free(op);
		return;
	}
	if (r) {
		json_t *ev = json_pack("{s:s, s:s, s:o}", "type", "room_deleted", "room", r->id,
		                       "by", proto_user(op->user));
		chat_broadcast_json(r, ev, NULL);
		chat_audit(op->user, "room.delete", r->id,
		           json_pack("{s:s, s:s}", "name", r->name, "kind", r->kind),
		           op->client[0] ? op->client : NULL);
		log_info("room_deleted", NULL, "%s deleted room %s (%s)", op->user->name, r->name,
		         r->id);
		chat_room_drop_local(r);
	}
	if (cl)
		chat_reply_ok(cl, op->rid);
	settings_op_free(op);
}

void chat_room_drop_local(room *r)
{
	member **members = room_sorted_members(r);
	while (r->n_members) {
		user_rec *u = members[r->n_members - 1]->user;
		for (client *c = u->clients; c; c = c->user_next)
			chat_resume_forget_room(c, r);
		chat_unsubscribe_user(u, r);
		room_remove_member(r, u->id);
	}
	cluster_room_dropped(r);
	room_drop(r);
}

void chat_req_delete_room(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *room_id;
	if (proto_get_str(req, "room", 1, PROTO_MAX_ID, &room_id, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	room *r = room_by_id(room_id);
	if (!is_admin(cl->user)) {
		member *m;
		int rc = chat_check_member(r, cl->user, &m);
		if (rc == PARLEY_ENOTFOUND)
			chat_reply_member_error(cl, rid, rc);
		else
			chat_reply_error(cl, rid, PARLEY_EFORBIDDEN,
			                 "only admins may delete a room");
		return;
	}
	if (!r) {
		chat_reply_error(cl, rid, PARLEY_ENOTFOUND, "no such room");
		return;
	}
	if (strcmp(r->name, CHAT_GENERAL) == 0 && strcmp(r->kind, "public") == 0) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN,
		                 "#general is where everyone starts: archive it instead");
		return;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, room_delete)) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "this store cannot delete rooms");
		return;
	}
	struct settings_op *op = calloc(1, sizeof *op);
	if (!op || !(op->room_id = strdup(r->id))) {
		free(op);
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	op->conn_id = cl->conn_id;
	op->rid = json_incref(rid);
	op->user = cl->user;
	const char *addr = client_addr(cl);
	if (addr)
		snprintf(op->client, sizeof op->client, "%s", addr);
	int rc = st->room_delete(self, r->id, room_deleted, op);
	if (rc != PARLEY_PENDING) {
		settings_op_free(op);
		chat_reply_error(cl, rid, chat_store_refused(rc), "store unavailable");
	}
}

/* ---------------------------------------------------------------- */
/* member_role                                                        */
/* ---------------------------------------------------------------- */

struct role_op {
	struct settings_op base; /* conn, rid, caller, room, client */
	user_rec *target;
	enum room_role role, was;
};

static void role_written(void *ud, const parley_store_result *res)
{
	struct role_op *op = ud;
	client *cl = settings_client(&op->base);
	room *r = room_by_id(op->base.room_id);
	if (res->rc != PARLEY_OK) {
		if (cl)
			chat_reply_error(cl, op->base.rid, res->rc, "the role was not changed");
	} else {
		member *m = r ? room_member(r, op->target->id) : NULL;
		if (m) {
			m->role = op->role;
			json_t *ev =
			    json_pack("{s:s, s:s, s:o, s:s, s:o}", "type", "member_updated", "room",
			              r->id, "user", proto_user(op->target), "role",
			              room_role_name(op->role), "by", proto_user(op->base.user));
			chat_broadcast_json(r, ev, NULL);
			/* The person's own sessions learn their new role in the room. */
			chat_send_user(op->target, r,
			               json_pack("{s:s, s:o}", "type", "room_updated", "room",
			                         proto_room(r, op->target)),
			               NULL);
			chat_audit(op->base.user, "room.member_role", r->id,
			           json_pack("{s:s, s:s, s:s}", "user", op->target->id, "role",
			                     room_role_name(op->role), "was",
			                     room_role_name(op->was)),
			           op->base.client[0] ? op->base.client : NULL);
		}
		if (cl)
			chat_reply_ok(cl, op->base.rid);
	}
	json_decref(op->base.rid);
	free(op->base.room_id);
	free(op);
}

static void member_role_now(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *who, *role_s;
	room *r = owned_room(cl, req, rid);
	if (!r)
		return;
	if (proto_get_str(req, "user", 1, PROTO_MAX_ID, &who, err, sizeof err) < 0 ||
	    proto_get_str(req, "role", 1, 16, &role_s, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	enum room_role role;
	if (room_role_parse(role_s, &role) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL,
		                 "role: expected \"owner\", \"moderator\" or \"member\"");
		return;
	}
	user_rec *u = users_by_id(who);
	if (!u)
		u = users_by_name(who[0] == '@' ? who + 1 : who);
	member *target = u ? room_member(r, u->id) : NULL;
	if (!target) {
		chat_reply_error(cl, rid, PARLEY_ENOTFOUND, "not a member of this room");
		return;
	}
	if (target->role == role) {
		chat_reply_ok(cl, rid);
		return;
	}
	/* A room keeps someone who can run it. */
	if (target->role == ROLE_OWNER) {
		size_t owners = 0;
		member **all = room_sorted_members(r);
		for (size_t i = 0; i < r->n_members; i++)
			owners += all[i]->role == ROLE_OWNER;
		if (owners < 2) {
			chat_reply_error(cl, rid, PARLEY_EFORBIDDEN,
			                 "a room keeps at least one owner: make someone else owner "
			                 "first");
			return;
		}
	}
	struct role_op *op = calloc(1, sizeof *op);
	if (!op || !(op->base.room_id = strdup(r->id))) {
		free(op);
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	op->base.conn_id = cl->conn_id;
	op->base.rid = json_incref(rid);
	op->base.user = cl->user;
	op->target = u;
	op->role = role;
	op->was = target->role;
	const char *addr = client_addr(cl);
	if (addr)
		snprintf(op->base.client, sizeof op->base.client, "%s", addr);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	int rc = st->member_set(self, r->id, u->id, room_role_name(role), role_written, op);
	if (rc != PARLEY_PENDING) {
		json_decref(op->base.rid);
		free(op->base.room_id);
		free(op);
		chat_reply_error(cl, rid, chat_store_refused(rc), "store unavailable");
	}
}

void chat_req_member_role(client *cl, json_t *req, json_t *rid)
{
	person_lookup_then(cl, req, rid, member_role_now);
}

/* ---------------------------------------------------------------- */
/* Loading at start                                                   */
/* ---------------------------------------------------------------- */

struct load {
	void (*next)(void);
	void (*fail)(int ok);
};

static void settings_loaded(void *ud, const parley_store_result *res)
{
	struct load *l = ud;
	void (*next)(void) = l->next;
	void (*fail)(int) = l->fail;
	free(l);
	json_t *list = res->rc == PARLEY_OK && res->text ? json_loads(res->text, 0, NULL) : NULL;
	if (!json_is_array(list)) {
		log_error("chat_start", NULL, "cannot load room settings: %s",
		          res->rc != PARLEY_OK && res->error ? res->error : "malformed list");
		json_decref(list);
		fail(0);
		return;
	}
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		room *r = room_by_id(json_string_value(json_object_get(v, "room")));
		if (r)
			apply_settings(r, json_object_get(v, "settings"));
	}
	json_decref(list);
	next();
}

void chat_room_settings_load(void (*next)(void), void (*fail)(int ok))
{
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, room_settings_list)) {
		next();
		return;
	}
	struct load *l = malloc(sizeof *l);
	if (!l) {
		fail(0);
		return;
	}
	l->next = next;
	l->fail = fail;
	if (st->room_settings_list(self, settings_loaded, l) != PARLEY_PENDING) {
		free(l);
		fail(0);
	}
}
