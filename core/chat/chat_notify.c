/* Notification levels in a string map keyed "room_id user_id" holding the
 * level's index; "all" is no entry (most people never change it). */
#include "chat/chat_notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strmap.h"
#include "chat/chat_internal.h"

#define KEY_MAX (2 * PROTO_MAX_ID + 2)

static const char *const levels[] = {"all", "mentions", "none"};

struct level {
	int index;
	char key[KEY_MAX];
};

static strmap map;
static int ready;

static int level_index(const char *s)
{
	for (int i = 0; s && i < 3; i++)
		if (strcmp(levels[i], s) == 0)
			return i;
	return -1;
}

static int make_key(char *key, const char *room_id, const char *user_id)
{
	int n = snprintf(key, KEY_MAX, "%s %s", room_id, user_id);
	return n > 0 && n < KEY_MAX;
}

const char *chat_notify_level(const char *room_id, const char *user_id)
{
	char key[KEY_MAX];
	struct level *l = ready && make_key(key, room_id, user_id) ? strmap_get(&map, key) : NULL;
	return levels[l ? l->index : 0];
}

/* Remembers a level; 0, or -1 without memory. */
static int remember(const char *room_id, const char *user_id, int index)
{
	char key[KEY_MAX];
	if (!make_key(key, room_id, user_id))
		return -1;
	if (!ready) {
		strmap_init(&map, 0);
		ready = 1;
	}
	struct level *l = strmap_get(&map, key);
	if (index == 0) {
		if (l) {
			strmap_del(&map, l->key);
			free(l);
		}
		return 0;
	}
	if (l) {
		l->index = index;
		return 0;
	}
	if (!(l = malloc(sizeof *l)))
		return -1;
	l->index = index;
	memcpy(l->key, key, sizeof l->key);
	if (strmap_put(&map, l->key, l) < 0) {
		free(l);
		return -1;
	}
	return 0;
}

void chat_notify_remote(const char *room_id, const char *user_id, const char *level)
{
	int index = level_index(level);
	if (index >= 0 && remember(room_id, user_id, index) < 0)
		log_warn("cluster_notify", NULL,
		         "room %s: the level of %s from another node not kept", room_id, user_id);
}

static void notify_written(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = chat_ws_op_client(op);
	room *r = room_by_id(op->room_id);
	int index = level_index(json_string_value(json_object_get(op->req, "level")));
	if (res->rc != PARLEY_OK) {
		if (cl)
			chat_reply_error(cl, op->rid, res->rc, "the level could not be stored");
		chat_ws_op_free(op);
		return;
	}
	if (r && remember(r->id, op->user->id, index) < 0) {
		if (cl)
			chat_reply_error(cl, op->rid, PARLEY_ENOMEM, "out of memory");
		chat_ws_op_free(op);
		return;
	}
	if (cl)
		chat_reply_ok(cl, op->rid);
	/* Every session of the person shows the new level. */
	if (r)
		chat_send_user_state(op->user, r,
		                     json_pack("{s:s, s:o}", "type", "room_updated", "room",
		                               proto_room(r, op->user)),
		                     NULL);
	chat_ws_op_free(op);
}

void chat_req_notify(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	const char *level;
	member *m;
	if (cl->scope || strcmp(cl->user->role, "bot") == 0) {
		chat_reply_error(cl, rid, PARLEY_EFORBIDDEN,
		                 "notification levels are a person's: bot tokens cannot set them");
		return;
	}
	if (proto_get_str(req, "level", 1, 16, &level, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (level_index(level) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL,
		                 "level: expected \"all\", \"mentions\" or \"none\"");
		return;
	}
	room *r = chat_req_room(cl, req, rid, &m);
	if (!r)
		return;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, notify_set)) {
		chat_reply_error(cl, rid, PARLEY_EUNAVAIL,
		                 "this server's store cannot keep notification levels");
		return;
	}
	struct ws_op *op = chat_ws_op_new(cl, req, rid, r);
	if (!op) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	int rc = st->notify_set(self, r->id, cl->user->id, level, notify_written, op);
	if (rc != PARLEY_PENDING) {
		chat_reply_error(cl, rid, chat_store_refused(rc), "store unavailable");
		chat_ws_op_free(op);
	}
}

struct load {
	void (*next)(void);
	void (*fail)(int ok);
};

static void levels_loaded(void *ud, const parley_store_result *res)
{
	struct load *l = ud;
	void (*next)(void) = l->next;
	void (*fail)(int) = l->fail;
	free(l);
	json_t *list = res->rc == PARLEY_OK && res->text ? json_loads(res->text, 0, NULL) : NULL;
	if (!json_is_array(list)) {
		log_error("chat_start", NULL, "cannot load notification levels: %s",
		          res->rc != PARLEY_OK && res->error ? res->error : "malformed list");
		json_decref(list);
		fail(0);
		return;
	}
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *room_id = json_string_value(json_object_get(v, "room"));
		const char *user_id = json_string_value(json_object_get(v, "user"));
		int index = level_index(json_string_value(json_object_get(v, "level")));
		if (room_id && user_id && index > 0)
			remember(room_id, user_id, index);
	}
	json_decref(list);
	next();
}

void chat_notify_load(void (*next)(void), void (*fail)(int ok))
{
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, notify_list)) {
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
	if (st->notify_list(self, NULL, levels_loaded, l) != PARLEY_PENDING) {
		free(l);
		fail(0);
	}
}

void chat_notify_fini(void)
{
	if (!ready)
		return;
	size_t pos = 0;
	const char *key;
	struct level *l;
	while ((l = strmap_next(&map, &pos, &key)))
		free(l);
	strmap_free(&map);
	ready = 0;
}
