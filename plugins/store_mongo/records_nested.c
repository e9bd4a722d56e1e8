/* Records kept inside other documents (see records_nested.h): edit
 * versions and pins in their messages, settings in their rooms. An edit
 * version written by records_write keeps its record's id in the version;
 * message_edit numbers its versions from the "edit" counter (lifecycle.c);
 * versions stored before it did have none and are read with "id": null
 * (store_sqlite gives them ids below 0 and finds them again by message, ts
 * and text; written back here, ids below 0 are left out again). */
#include "records_nested.h"

#include <string.h>

#include "ids.h"

int records_nested_kind(const char *kind)
{
	return !strcmp(kind, "edits") || !strcmp(kind, "room_settings") || !strcmp(kind, "pins");
}

/* The versions of one message (doc) as edit records; how many into *added. */
static int append_edits(struct op *op, const bson_t *doc, json_t *out, int *added)
{
	bson_iter_t it, arr;
	int64_t message = 0;
	const char *id = mdb_str(op, doc, "id");
	*added = 0;
	if (!id || !ids_parse(id, "m", &message) || !bson_iter_init_find(&it, doc, "edits") ||
	    !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &arr))
		return PARLEY_OK;
	while (bson_iter_next(&arr)) {
		const uint8_t *data;
		uint32_t len;
		bson_t v;
		if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
			continue;
		bson_iter_document(&arr, &len, &data);
		if (!bson_init_static(&v, data, len))
			continue;
		int64_t vid = mdb_int(&v, "id");
		const char *text = mdb_str(op, &v, "text");
		const char *mentions = mdb_str(op, &v, "mentions_json");
		json_t *rec = json_pack(
		    "{s:o, s:I, s:o, s:o, s:I}", "id", vid > 0 ? json_integer(vid) : json_null(),
		    "message", (json_int_t)message, "text", text ? json_string(text) : json_null(),
		    "mentions_json", mentions ? json_string(mentions) : json_null(), "ts",
		    (json_int_t)mdb_int(&v, "ts"));
		if (!rec || json_array_append_new(out, rec) < 0)
			return PARLEY_ENOMEM;
		(*added)++;
	}
	return PARLEY_OK;
}

static int append_settings(struct op *op, const bson_t *doc, json_t *out, int *added)
{
	int64_t room = 0;
	const char *id = mdb_str(op, doc, "id");
	const char *json = mdb_str(op, doc, "settings");
	*added = 0;
	if (!id || !json || !ids_parse(id, "r", &room))
		return PARLEY_OK;
	json_t *rec = json_pack("{s:I, s:s}", "room", (json_int_t)room, "json", json);
	if (!rec || json_array_append_new(out, rec) < 0)
		return PARLEY_ENOMEM;
	*added = 1;
	return PARLEY_OK;
}

/* A pinned message (doc) as a pin record (pins.c keeps pin_ts and
 * pin_user on the message while it is pinned). */
static int append_pin(struct op *op, const bson_t *doc, json_t *out, int *added)
{
	bson_iter_t it;
	int64_t message = 0, room = 0, user = 0;
	const char *id = mdb_str(op, doc, "id"), *rid = mdb_str(op, doc, "room");
	const char *uid = mdb_str(op, doc, "pin_user");
	*added = 0;
	if (!id || !rid || !ids_parse(id, "m", &message) || !ids_parse(rid, "r", &room) ||
	    !bson_iter_init_find(&it, doc, "pin_ts") || !BSON_ITER_HOLDS_NUMBER(&it))
		return PARLEY_OK;
	if (uid && !ids_parse(uid, "u", &user))
		user = 0;
	json_t *rec =
	    json_pack("{s:I, s:I, s:o, s:I}", "message", (json_int_t)message, "room",
	              (json_int_t)room, "user", user > 0 ? json_integer(user) : json_null(), "ts",
	              (json_int_t)bson_iter_as_int64(&it));
	if (!rec || json_array_append_new(out, rec) < 0)
		return PARLEY_ENOMEM;
	*added = 1;
	return PARLEY_OK;
}

int records_nested_page(struct dbconn *c, struct op *op, const char *kind, int64_t after, int limit,
                        json_t *out, int64_t *next, int *more)
{
	int edits = !strcmp(kind, "edits"), pins = !strcmp(kind, "pins");
	/* Documents without any are skipped here (the same on every server),
	 * so no limit on the find: the cursor stops at the page's end. */
	bson_t *q = BCON_NEW("n", "{", "$gt", BCON_INT64(after), "}");
	if (pins)
		BCON_APPEND(q, "pin_ts", "{", "$exists", BCON_BOOL(true), "}");
	bson_t *opts = pins
	                   ? BCON_NEW("sort", "{", "n", BCON_INT32(1), "}", "projection", "{", "id",
	                              BCON_INT32(1), "n", BCON_INT32(1), "room", BCON_INT32(1),
	                              "pin_ts", BCON_INT32(1), "pin_user", BCON_INT32(1), "}")
	                   : BCON_NEW("sort", "{", "n", BCON_INT32(1), "}", "projection", "{", "id",
	                              BCON_INT32(1), "n", BCON_INT32(1),
	                              edits ? "edits" : "settings", BCON_INT32(1), "}");
	mongoc_collection_t *col = mdb_coll(c, edits || pins ? "messages" : "rooms");
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
	const bson_t *d;
	bson_error_t err;
	int rc = PARLEY_OK, n = 0;
	*more = 0;
	*next = after;
	while (rc == PARLEY_OK && mongoc_cursor_next(cur, &d)) {
		json_t *one = json_array();
		int added = 0;
		rc = !one    ? PARLEY_ENOMEM
		     : edits ? append_edits(op, d, one, &added)
		     : pins  ? append_pin(op, d, one, &added)
		             : append_settings(op, d, one, &added);
		if (rc == PARLEY_OK && added > 0 && n >= limit) {
			*more = 1; /* another document has some: the next page's */
			json_decref(one);
			break;
		}
		if (rc == PARLEY_OK && json_array_extend(out, one) < 0)
			rc = PARLEY_ENOMEM;
		json_decref(one);
		if (rc < 0) {
			rc = op_fail(op, rc, "records_read: out of memory");
			break;
		}
		n += added;
		*next = mdb_int(d, "n");
	}
	if (rc == PARLEY_OK && mongoc_cursor_error(cur, &err))
		rc = mdb_fail(c, op, &err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(q);
	bson_destroy(opts);
	return rc;
}

/* The record's integer field as "<prefix>_<n>" in op's arena, or NULL. */
static const char *ref(struct op *op, json_t *rec, const char *field, const char *prefix)
{
	json_t *v = json_object_get(rec, field);
	if (!json_is_integer(v) || json_integer_value(v) <= 0)
		return NULL;
	return op_printf(op, "%s_%lld", prefix, (long long)json_integer_value(v));
}

/* A string field: present and a string or null, else -1. */
static int str_field(json_t *rec, const char *field, const char **out)
{
	json_t *v = json_object_get(rec, field);
	*out = json_string_value(v);
	return !v || json_is_null(v) || json_is_string(v) ? 0 : -1;
}

/* 1 when message doc already has the version rec. */
static int has_version(struct op *op, const bson_t *doc, int64_t id, int64_t ts, const char *text)
{
	bson_iter_t it, arr;
	if (!bson_iter_init_find(&it, doc, "edits") || !BSON_ITER_HOLDS_ARRAY(&it) ||
	    !bson_iter_recurse(&it, &arr))
		return 0;
	while (bson_iter_next(&arr)) {
		const uint8_t *data;
		uint32_t len;
		bson_t v;
		if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
			continue;
		bson_iter_document(&arr, &len, &data);
		if (!bson_init_static(&v, data, len))
			continue;
		int64_t vid = mdb_int(&v, "id");
		if (id > 0 && vid > 0) {
			if (vid == id)
				return 1;
			continue;
		}
		const char *vtext = mdb_str(op, &v, "text");
		if (mdb_int(&v, "ts") == ts &&
		    ((!vtext && !text) || (vtext && text && !strcmp(vtext, text))))
			return 1;
	}
	return 0;
}

static int write_edit(struct dbconn *c, struct op *op, json_t *rec, int64_t *max_id)
{
	const char *mid = ref(op, rec, "message", "m"), *text, *mentions;
	json_t *id = json_object_get(rec, "id"), *ts = json_object_get(rec, "ts");
	if (!mid || !json_is_integer(ts) || (id && !json_is_null(id) && !json_is_integer(id)) ||
	    str_field(rec, "text", &text) < 0 || str_field(rec, "mentions_json", &mentions) < 0)
		return op_fail(op, PARLEY_EINVAL,
		               "records_write: an edit needs message and ts (id, text and "
		               "mentions_json: numbers, strings or null)");
	int64_t vid = json_is_integer(id) ? json_integer_value(id) : 0;
	if (vid > *max_id)
		*max_id = vid;
	bson_t *q = BCON_NEW("id", BCON_UTF8(mid));
	bson_t *opts = BCON_NEW("projection", "{", "edits", BCON_INT32(1), "}");
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, "messages", q, opts, &doc);
	bson_destroy(opts);
	if (rc == PARLEY_ENOTFOUND)
		rc = op_fail(op, PARLEY_ENOTFOUND, "records_write: an edit of a missing message %s",
		             mid);
	int there = rc == PARLEY_OK && has_version(op, doc, vid, json_integer_value(ts), text);
	if (doc)
		bson_destroy(doc);
	if (rc == PARLEY_OK && !there) {
		/* Appended: a copy writes a message's versions oldest first. */
		bson_t *u = bson_new(), push, version;
		BSON_APPEND_DOCUMENT_BEGIN(u, "$push", &push);
		BSON_APPEND_DOCUMENT_BEGIN(&push, "edits", &version);
		if (vid > 0)
			BSON_APPEND_INT64(&version, "id", vid);
		mdb_append_str(&version, "text", text);
		mdb_append_str(&version, "mentions_json", mentions);
		BSON_APPEND_INT64(&version, "ts", json_integer_value(ts));
		bson_append_document_end(&push, &version);
		bson_append_document_end(u, &push);
		rc = mdb_update(c, op, "messages", q, u, 0, 0, NULL);
		bson_destroy(u);
	}
	bson_destroy(q);
	return rc;
}

static int write_settings(struct dbconn *c, struct op *op, json_t *rec)
{
	const char *rid = ref(op, rec, "room", "r");
	const char *json = json_string_value(json_object_get(rec, "json"));
	if (!rid || !json)
		return op_fail(op, PARLEY_EINVAL,
		               "records_write: room settings need room and json");
	bson_t *q = BCON_NEW("id", BCON_UTF8(rid));
	bson_t *u = BCON_NEW("$set", "{", "settings", BCON_UTF8(json), "}");
	int64_t matched = 0;
	int rc = mdb_update(c, op, "rooms", q, u, 0, 0, &matched);
	bson_destroy(q);
	bson_destroy(u);
	if (rc == PARLEY_OK && matched == 0)
		rc = op_fail(op, PARLEY_ENOTFOUND, "records_write: settings of a missing room %s",
		             rid);
	return rc;
}

/* A pin onto its message, as pins.c writes one. */
static int write_pin(struct dbconn *c, struct op *op, json_t *rec)
{
	const char *mid = ref(op, rec, "message", "m"), *rid = ref(op, rec, "room", "r");
	json_t *user = json_object_get(rec, "user"), *ts = json_object_get(rec, "ts");
	const char *uid = ref(op, rec, "user", "u");
	if (!mid || !rid || !json_is_integer(ts) ||
	    (user && !json_is_null(user) && (!json_is_integer(user) || !uid)))
		return op_fail(op, PARLEY_EINVAL,
		               "records_write: a pin needs message, room and ts (user: a number "
		               "or null)");
	bson_t *q = BCON_NEW("id", BCON_UTF8(mid), "room", BCON_UTF8(rid));
	bson_t *u = bson_new(), set;
	BSON_APPEND_DOCUMENT_BEGIN(u, "$set", &set);
	BSON_APPEND_INT64(&set, "pin_ts", json_integer_value(ts));
	mdb_append_str(&set, "pin_user", uid);
	bson_append_document_end(u, &set);
	int64_t matched = 0;
	int rc = mdb_update(c, op, "messages", q, u, 0, 0, &matched);
	bson_destroy(q);
	bson_destroy(u);
	if (rc == PARLEY_OK && matched == 0)
		rc = op_fail(op, PARLEY_ENOTFOUND, "records_write: a pin of a missing message %s",
		             mid);
	return rc;
}

int records_nested_write(struct dbconn *c, struct op *op, const char *kind, json_t *rec,
                         int64_t *max_id)
{
	if (!strcmp(kind, "pins"))
		return write_pin(c, op, rec);
	return !strcmp(kind, "edits") ? write_edit(c, op, rec, max_id) : write_settings(c, op, rec);
}
