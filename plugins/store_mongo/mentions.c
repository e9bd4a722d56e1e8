/* Unread mentions (see mentions.h). Plain finds, which CongoDB serves as a
 * real server does (no aggregation): every membership first, then each
 * room's messages once, from the lowest read mark of its members (the
 * room_seq index's range on a real server), 256 rooms per find, with only
 * room, seq, user and mentions_json projected; the mentions are matched
 * here. Not one snapshot: a message appended meanwhile may be counted, and its seq is
 * then in the entry's "seq", which the core does not deliver again. */
#include "mentions.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "mdb.h"
#include "store.h"

/* Rooms per find: the $or of their ranges stays far below BSON's 16 MB. */
#define ROOMS_PER_FIND 256

/* rooms: {room: {"low": min read mark, "users": {user: read mark}}}. */
static int members_read(struct dbconn *c, struct op *op, json_t *rooms)
{
	bson_t *q = bson_new();
	bson_t *opts = BCON_NEW("projection", "{", "room", BCON_INT32(1), "user", BCON_INT32(1),
	                        "read_seq", BCON_INT32(1), "}");
	mongoc_collection_t *col = mdb_coll(c, "members");
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
	const bson_t *doc;
	bson_error_t e;
	int rc = PARLEY_OK;
	while (rc == PARLEY_OK && mongoc_cursor_next(cur, &doc)) {
		const char *room = mdb_str(op, doc, "room"), *user = mdb_str(op, doc, "user");
		int64_t read_seq = mdb_int(doc, "read_seq");
		if (!room || !user)
			continue;
		json_t *r = json_object_get(rooms, room);
		if (!r && (!(r = json_pack("{s:I, s:{}}", "low", (json_int_t)read_seq, "users")) ||
		           json_object_set_new(rooms, room, r))) {
			rc = PARLEY_ENOMEM;
			break;
		}
		if (read_seq < json_integer_value(json_object_get(r, "low")))
			json_object_set_new(r, "low", json_integer(read_seq));
		if (json_object_set_new(json_object_get(r, "users"), user, json_integer(read_seq)))
			rc = PARLEY_ENOMEM;
	}
	if (rc == PARLEY_OK && mongoc_cursor_error(cur, &e))
		rc = mdb_fail(c, op, &e);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(q);
	bson_destroy(opts);
	return rc;
}

/* One message's mentions into counts ({user: [n, newest seq]}). */
static int count_message(json_t *users, json_t *counts, int64_t seq, const char *author,
                         const char *mentions_json)
{
	json_t *ids = json_loads(mentions_json, 0, NULL);
	size_t i;
	json_t *v;
	int rc = PARLEY_OK;
	json_array_foreach(ids, i, v)
	{
		const char *id = json_string_value(v);
		json_t *mark = id ? json_object_get(users, id) : NULL;
		if (!mark || json_integer_value(mark) >= seq || (author && strcmp(author, id) == 0))
			continue;
		json_t *cnt = json_object_get(counts, id);
		if (!cnt) {
			if (json_object_set_new(counts, id,
			                        json_pack("[I,I]", (json_int_t)1, (json_int_t)seq)))
				rc = PARLEY_ENOMEM;
			continue;
		}
		json_array_set_new(cnt, 0,
		                   json_integer(json_integer_value(json_array_get(cnt, 0)) + 1));
		if (seq > json_integer_value(json_array_get(cnt, 1)))
			json_array_set_new(cnt, 1, json_integer(seq));
	}
	json_decref(ids);
	return rc;
}

/* The messages after the lowest mark of each of these rooms (names[0..n)),
 * as one find: an $or of (room, seq > low) ranges, each an index range
 * on a real server, and one pass over the collection on CongoDB (which
 * scans for every find). counts: {room: {user: [n, newest seq]}}. */
static int rooms_count(struct dbconn *c, struct op *op, json_t *rooms, const char **names, size_t n,
                       json_t *counts)
{
	bson_t q = BSON_INITIALIZER, ranges, one;
	bson_append_array_begin(&q, "$or", -1, &ranges);
	for (size_t i = 0; i < n; i++) {
		char key[16];
		const char *k;
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
		bson_append_document_begin(&ranges, k, -1, &one);
		BSON_APPEND_UTF8(&one, "room", names[i]);
		bson_t gt;
		bson_append_document_begin(&one, "seq", -1, &gt);
		BSON_APPEND_INT64(
		    &gt, "$gt",
		    json_integer_value(json_object_get(json_object_get(rooms, names[i]), "low")));
		bson_append_document_end(&one, &gt);
		bson_append_document_end(&ranges, &one);
	}
	bson_append_array_end(&q, &ranges);
	BSON_APPEND_INT32(&q, "deleted", 0);
	bson_t *opts = BCON_NEW("projection", "{", "room", BCON_INT32(1), "seq", BCON_INT32(1),
	                        "user", BCON_INT32(1), "mentions_json", BCON_INT32(1), "}");
	mongoc_collection_t *col = mdb_coll(c, "messages");
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, &q, opts, NULL);
	const bson_t *doc;
	bson_error_t e;
	int rc = PARLEY_OK;
	while (rc == PARLEY_OK && mongoc_cursor_next(cur, &doc)) {
		/* bson_iter, not mdb_str: its copies in op's arena would grow with
		 * the messages read. */
		bson_iter_t it;
		if (!bson_iter_init_find(&it, doc, "mentions_json") || !BSON_ITER_HOLDS_UTF8(&it))
			continue;
		const char *mentions = bson_iter_utf8(&it, NULL);
		if (strcmp(mentions, "[]") == 0 || !bson_iter_init_find(&it, doc, "room") ||
		    !BSON_ITER_HOLDS_UTF8(&it))
			continue;
		const char *room = bson_iter_utf8(&it, NULL);
		json_t *users = json_object_get(json_object_get(rooms, room), "users");
		if (!users)
			continue;
		const char *author =
		    bson_iter_init_find(&it, doc, "user") && BSON_ITER_HOLDS_UTF8(&it)
		        ? bson_iter_utf8(&it, NULL)
		        : NULL;
		json_t *mine = json_object_get(counts, room);
		if (!mine && json_object_set_new(counts, room, mine = json_object())) {
			rc = PARLEY_ENOMEM;
			break;
		}
		rc = count_message(users, mine, mdb_int(doc, "seq"), author, mentions);
	}
	if (rc == PARLEY_OK && mongoc_cursor_error(cur, &e))
		rc = mdb_fail(c, op, &e);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(&q);
	bson_destroy(opts);
	return rc;
}

static int mentions_unread(struct dbconn *c, struct op *op)
{
	json_t *rooms = json_object(), *counts = json_object(), *out = json_array();
	int rc = rooms && counts && out ? members_read(c, op, rooms) : PARLEY_ENOMEM;
	const char *names[ROOMS_PER_FIND], *room;
	size_t n = 0;
	json_t *r;
	json_object_foreach(rooms, room, r)
	{
		if (rc != PARLEY_OK)
			break;
		names[n++] = room;
		if (n == ROOMS_PER_FIND) {
			rc = rooms_count(c, op, rooms, names, n, counts);
			n = 0;
		}
	}
	if (rc == PARLEY_OK && n)
		rc = rooms_count(c, op, rooms, names, n, counts);
	json_t *users, *cnt;
	const char *user;
	json_object_foreach(counts, room, users)
	{
		json_object_foreach(users, user, cnt)
		{
			if (rc == PARLEY_OK &&
			    json_array_append_new(out, json_pack("{s:s, s:s, s:O, s:O}", "room",
			                                         room, "user", user, "mentions",
			                                         json_array_get(cnt, 0), "seq",
			                                         json_array_get(cnt, 1))))
				rc = PARLEY_ENOMEM;
		}
	}
	if (rc == PARLEY_OK) {
		char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (!text || !(op->res.text = op_strdup(op, text)))
			rc = PARLEY_ENOMEM;
		free(text);
	}
	if (rc == PARLEY_ENOMEM)
		op_fail(op, rc, "mentions_unread: out of memory");
	json_decref(rooms);
	json_decref(counts);
	json_decref(out);
	return rc;
}

int mentions_call_unread(void *self, parley_store_done done, void *ud)
{
	struct op *op = store_op_begin(self, "mentions_unread", mentions_unread, done, ud);
	if (!op)
		return PARLEY_EUNAVAIL;
	return store_op_submit(op, NULL);
}
