/* Group DMs: parse and check the people, find the room by its name (the
 * sorted ids) or create it, bring back whoever left, reply the room. */
#include "chat/chat_dm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "base/loop.h"
#include "chat/chat_internal.h"
#include "chat/cluster_bus.h"

/* An opening in progress: the people and the membership writes pending. */
struct dm_op {
	uint64_t conn_id;
	json_t *rid;
	user_rec *caller;
	user_rec *people[CHAT_DM_USERS_MAX + 1]; /* the caller included */
	size_t n;
	char *room_id;
	char *name; /* "dm:" and the sorted ids */
	size_t pending;
	int failed;
};

static void dm_op_free(struct dm_op *op)
{
	json_decref(op->rid);
	free(op->room_id);
	free(op->name);
	free(op);
}

static client *dm_client(const struct dm_op *op)
{
	conn *c = conn_find(op->conn_id);
	return c && c->proto == CONN_WS ? c->app : NULL;
}

static void dm_reply(struct dm_op *op)
{
	client *cl = dm_client(op);
	room *r = op->room_id ? room_by_id(op->room_id) : NULL;
	if (cl && r && !op->failed) {
		json_t *f =
		    json_pack("{s:s, s:o}", "type", "room", "room", proto_room(r, cl->user));
		if (f && op->rid)
			json_object_set(f, "rid", op->rid);
		chat_send_json(cl, f);
	} else if (cl) {
		chat_reply_error(cl, op->rid, PARLEY_EUNAVAIL,
		                 "the conversation could not be opened");
	}
	dm_op_free(op);
}

static void member_back(void *ud, int rc, const char *message)
{
	struct dm_op *op = ud;
	if (rc != PARLEY_OK) {
		log_warn("dm", NULL, "group DM %s: a member could not be added: %s",
		         op->room_id ? op->room_id : "?", message ? message : "?");
		op->failed = 1;
	}
	if (--op->pending == 0)
		dm_reply(op);
}

/* Adds every one of the people who is not (or no longer) a member. */
static void bring_everyone(struct dm_op *op, room *r)
{
	op->pending = 1; /* held until every add is issued */
	for (size_t i = 0; i < op->n; i++)
		if (!room_member(r, op->people[i]->id)) {
			op->pending++;
			chat_add_member(r, op->people[i], ROLE_MEMBER, member_back, op);
		}
	member_back(op, PARLEY_OK, NULL);
}

static void dm_created(void *ud, const parley_store_result *res);

/* The room as the store has it, after someone else created it first. */
static void dm_found(void *ud, const parley_store_result *res)
{
	struct dm_op *op = ud;
	int ok = res->rc == PARLEY_OK && res->n_rooms && strcmp(res->rooms[0].kind, "dm") == 0;
	int known = ok && room_by_id(res->rooms[0].id) != NULL;
	room *r = ok ? room_upsert(&res->rooms[0]) : NULL;
	/* Made on another node whose news has not come yet: take its channel. */
	if (r && !known)
		cluster_room_added(r);
	if (!r || !(op->room_id = strdup(r->id))) {
		client *cl = dm_client(op);
		if (cl)
			chat_reply_error(cl, op->rid, r ? PARLEY_ENOMEM : PARLEY_EUNAVAIL,
			                 "the conversation could not be opened");
		dm_op_free(op);
		return;
	}
	bring_everyone(op, r);
}

/* room_create said the name is taken: the same people opened it at the
 * same moment (on this node or another). Open that one: idempotent by the
 * set of people, races included. */
static void dm_taken(struct dm_op *op)
{
	room *r = room_by_name(op->name);
	if (r) {
		if (!(op->room_id = strdup(r->id))) {
			dm_found(op, &(parley_store_result){.rc = PARLEY_ENOMEM});
			return;
		}
		bring_everyone(op, r);
		return;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (st->room_get(self, NULL, op->name, dm_found, op) != PARLEY_PENDING)
		dm_found(op, &(parley_store_result){.rc = PARLEY_EUNAVAIL});
}

static void dm_created(void *ud, const parley_store_result *res)
{
	struct dm_op *op = ud;
	client *cl = dm_client(op);
	if (res->rc == PARLEY_ECONFLICT) {
		dm_taken(op);
		return;
	}
	if (res->rc != PARLEY_OK || !res->n_rooms) {
		if (cl)
			chat_reply_error(cl, op->rid, res->rc == PARLEY_OK ? PARLEY_ERR : res->rc,
			                 "the conversation could not be opened");
		dm_op_free(op);
		return;
	}
	int known = room_by_id(res->rooms[0].id) != NULL;
	room *r = room_upsert(&res->rooms[0]);
	/* A new room: this node takes its channel and the others load it. */
	if (r && !known)
		cluster_room_added(r);
	if (!r || !(op->room_id = strdup(r->id))) {
		if (cl)
			chat_reply_error(cl, op->rid, PARLEY_ENOMEM, "out of memory");
		dm_op_free(op);
		return;
	}
	/* The store made the caller a member with the room. */
	room_add_member(r, op->caller, ROLE_MEMBER, 0);
	chat_subscribe_user(op->caller, r);
	log_info("room_created", NULL, "%s opened a DM of %zu people (%s)", op->caller->name, op->n,
	         r->id);
	bring_everyone(op, r);
}

static int by_id(const void *a, const void *b)
{
	const user_rec *x = *(user_rec *const *)a, *y = *(user_rec *const *)b;
	return strcmp(x->id, y->id);
}

/* Reads "users" into op->people with the caller; 0, or -1 after replying. */
static int read_people(client *cl, json_t *req, json_t *rid, struct dm_op *op)
{
	json_t *users = json_object_get(req, "users");
	int64_t max = server_config ? server_config->limits.group_dm_max : 8;
	if (max > CHAT_DM_USERS_MAX)
		max = CHAT_DM_USERS_MAX;
	if (max < 2)
		max = 2; /* a 1:1 DM is always allowed */
	if (!json_is_array(users) || json_array_size(users) == 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, "users: expected an array of user ids");
		return -1;
	}
	op->people[op->n++] = cl->user;
	size_t i;
	json_t *v;
	json_array_foreach(users, i, v)
	{
		const char *who = json_string_value(v);
		if ((int64_t)i >= max) {
			char why[96];
			snprintf(why, sizeof why,
			         "users: a DM has at most %lld people, you included",
			         (long long)max);
			chat_reply_error(cl, rid, PARLEY_EINVAL, why);
			return -1;
		}
		if (!who || strlen(who) > PROTO_MAX_ID) {
			chat_reply_error(cl, rid, PARLEY_EINVAL, "users: expected user ids");
			return -1;
		}
		user_rec *u = users_by_id(who);
		if (!u)
			u = users_by_name(who[0] == '@' ? who + 1 : who);
		if (!u || u->disabled) {
			chat_reply_error(cl, rid, PARLEY_ENOTFOUND, "no such user");
			return -1;
		}
		int seen = 0;
		for (size_t k = 0; k < op->n; k++)
			seen |= op->people[k] == u;
		if (!seen)
			op->people[op->n++] = u;
	}
	if ((int64_t)op->n > max) {
		char why[96];
		snprintf(why, sizeof why, "users: a DM has at most %lld people, you included",
		         (long long)max);
		chat_reply_error(cl, rid, PARLEY_EINVAL, why);
		return -1;
	}
	qsort(op->people, op->n, sizeof op->people[0], by_id);
	return 0;
}

void chat_req_group_dm(client *cl, json_t *req, json_t *rid)
{
	struct dm_op *op = calloc(1, sizeof *op);
	if (!op) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	op->conn_id = cl->conn_id;
	op->rid = json_incref(rid);
	op->caller = cl->user;
	if (read_people(cl, req, rid, op) < 0) {
		dm_op_free(op);
		return;
	}
	/* The name: "dm:" and the sorted ids; a self-DM names its one person
	 * twice, as 1:1 DMs always did. */
	char name[CHAT_DM_USERS_MAX * (PROTO_MAX_ID + 1) + 8] = "dm";
	size_t len = 2;
	for (size_t i = 0; i < op->n || (op->n == 1 && i < 2); i++) {
		const char *id = op->people[i < op->n ? i : 0]->id;
		len += (size_t)snprintf(name + len, sizeof name - len, ":%s", id);
	}
	if (!(op->name = strdup(name))) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		dm_op_free(op);
		return;
	}
	room *r = room_by_name(name);
	if (r) {
		if (!(op->room_id = strdup(r->id))) {
			chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
			dm_op_free(op);
			return;
		}
		bring_everyone(op, r);
		return;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	parley_room pr = {.name = name,
	                  .kind = "dm",
	                  .topic = "",
	                  .created_by = cl->user->id,
	                  .created_ts = loop_now_ms()};
	if (st->room_create(self, &pr, "member", dm_created, op) != PARLEY_PENDING) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL, "store unavailable");
		dm_op_free(op);
	}
}

json_t *chat_dm_users(const room *r, const user_rec *viewer)
{
	if (strcmp(r->kind, "dm") != 0 || strncmp(r->name, "dm:", 3) != 0)
		return NULL;
	json_t *list = json_array();
	const char *p = r->name + 3;
	while (list && *p) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		char id[PROTO_MAX_ID + 1];
		if (n <= PROTO_MAX_ID) {
			memcpy(id, p, n);
			id[n] = 0;
			user_rec *u = users_by_id(id);
			int listed = 0;
			size_t i;
			json_t *v;
			json_array_foreach(list, i, v) listed |=
			    strcmp(json_string_value(json_object_get(v, "id")), id) == 0;
			if (u && (!viewer || u != viewer) && !listed)
				json_array_append_new(list, proto_user(u));
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return list;
}
