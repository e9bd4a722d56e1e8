/* Notification levels (see notify.h). notify_list's text is the JSON
 * store_sqlite's json_group_array writes: compact, keys room, user, level,
 * ordered by the room's number then the user's (room_n, user_n). */
#include "notify.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "mdb.h"
#include "store.h"

static const char NOTIFY[] = "notify";

/* 1 when the document with this id is in coll, 0 when not, < 0 failed. */
static int has_id(struct dbconn *c, struct op *op, const char *coll, const char *id)
{
	bson_t *q = BCON_NEW("id", BCON_UTF8(id));
	int found = mdb_exists(c, op, coll, q);
	bson_destroy(q);
	return found;
}

static int notify_set(struct dbconn *c, struct op *op)
{
	const char *room = op->args.notify.room, *user = op->args.notify.user;
	int found = has_id(c, op, "rooms", room);
	if (found > 0)
		found = has_id(c, op, "users", user);
	if (found < 0)
		return found;
	if (!found)
		return op_fail(op, PARLEY_ENOTFOUND, "notify_set: no room %s or user %s", room,
		               user);
	bson_t *q = BCON_NEW("room", BCON_UTF8(room), "user", BCON_UTF8(user));
	int rc;
	if (strcmp(op->args.notify.level, "all") == 0) {
		rc = mdb_delete(c, op, NOTIFY, q, 0, NULL);
	} else {
		bson_t *u = BCON_NEW("$set", "{", "level", BCON_UTF8(op->args.notify.level),
		                     "room_n", BCON_INT64(op->args.notify.room_n), "user_n",
		                     BCON_INT64(op->args.notify.user_n), "}");
		rc = mdb_update(c, op, NOTIFY, q, u, 0, 1, NULL);
		bson_destroy(u);
	}
	bson_destroy(q);
	return rc < 0 ? rc : PARLEY_OK;
}

/* One document as {"room","user","level"} onto list; 0, or -1 without
 * memory. */
static int notify_add(struct op *op, json_t *list, const bson_t *doc)
{
	json_t *one = json_object();
	const char *room = mdb_str(op, doc, "room"), *user = mdb_str(op, doc, "user");
	const char *level = mdb_str(op, doc, "level");
	if (!one || !room || !user || !level ||
	    json_object_set_new(one, "room", json_string(room)) ||
	    json_object_set_new(one, "user", json_string(user)) ||
	    json_object_set_new(one, "level", json_string(level)) || json_array_append(list, one)) {
		json_decref(one);
		return -1;
	}
	json_decref(one);
	return 0;
}

static int notify_list(struct dbconn *c, struct op *op)
{
	bson_t *q = bson_new();
	if (op->args.notify.user)
		BSON_APPEND_UTF8(q, "user", op->args.notify.user);
	bson_t *opts = BCON_NEW("sort", "{", "room_n", BCON_INT32(1), "user_n", BCON_INT32(1), "}");
	mongoc_collection_t *col = mdb_coll(c, NOTIFY);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
	json_t *list = json_array();
	const bson_t *doc;
	bson_error_t e;
	int rc = list ? PARLEY_OK : PARLEY_ENOMEM;
	while (rc == PARLEY_OK && mongoc_cursor_next(cur, &doc))
		if (notify_add(op, list, doc) < 0)
			rc = PARLEY_ENOMEM;
	if (rc == PARLEY_OK && mongoc_cursor_error(cur, &e))
		rc = mdb_fail(c, op, &e);
	if (rc == PARLEY_OK) {
		char *text = json_dumps(list, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!text || !(op->res.text = op_strdup(op, text)))
			rc = PARLEY_ENOMEM;
		free(text);
	}
	if (rc == PARLEY_ENOMEM)
		op_fail(op, rc, "notify_list: out of memory");
	json_decref(list);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(q);
	bson_destroy(opts);
	return rc;
}

int notify_call_set(void *self, const char *room_id, const char *user_id, const char *level,
                    parley_store_done done, void *ud)
{
	int64_t room_n, user_n;
	if (!ids_parse(room_id, "r", &room_n) || !ids_parse(user_id, "u", &user_n) || !level ||
	    (strcmp(level, "all") != 0 && strcmp(level, "mentions") != 0 &&
	     strcmp(level, "none") != 0))
		return PARLEY_EINVAL;
	struct op *op = store_op_begin(self, "notify_set", notify_set, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	op->args.notify.room = op_strdup(op, room_id);
	op->args.notify.user = op_strdup(op, user_id);
	op->args.notify.level = op_strdup(op, level);
	op->args.notify.room_n = room_n;
	op->args.notify.user_n = user_n;
	/* The user's lane: a person's own list follows their changes. */
	return store_op_submit(op, user_id);
}

int notify_call_list(void *self, const char *user_id, parley_store_done done, void *ud)
{
	int64_t n;
	if (user_id && !ids_parse(user_id, "u", &n))
		return PARLEY_EINVAL;
	struct op *op = store_op_begin(self, "notify_list", notify_list, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	op->args.notify.user = op_strdup(op, user_id);
	return store_op_submit(op, user_id);
}
