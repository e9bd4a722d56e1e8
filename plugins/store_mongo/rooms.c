/* Rooms and members. A room name is unique by its folded copy name_lc: a
 * lookup before the insert answers ECONFLICT (the test server does not
 * enforce unique indexes), and the unique index settles two nodes racing
 * one name (duplicate key, also ECONFLICT). */
#include "rooms.h"

#include <string.h>

#include "docs.h"
#include "ids.h"

static int one_room(struct dbconn *c, struct op *op, const bson_t *q)
{
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, "rooms", q, NULL, &doc);
	if (rc == PARLEY_OK && (rc = docs_room(op, doc)) < 0)
		rc = op_fail(op, rc, "%s: out of memory", op->name);
	if (doc)
		bson_destroy(doc);
	return rc;
}

int rooms_user_exists(struct dbconn *c, struct op *op, const char *user_id)
{
	bson_t *q = BCON_NEW("id", BCON_UTF8(user_id));
	int found = mdb_exists(c, op, "users", q);
	bson_destroy(q);
	return found;
}

static int need(struct dbconn *c, struct op *op, const char *coll, const char *id)
{
	bson_t *q = BCON_NEW("id", BCON_UTF8(id));
	int found = mdb_exists(c, op, coll, q);
	bson_destroy(q);
	if (found < 0)
		return found;
	return found ? PARLEY_OK
	             : op_fail(op, PARLEY_ENOTFOUND, "%s: no %s %s", op->name, coll, id);
}

int rooms_create(struct dbconn *c, struct op *op)
{
	const parley_room *r = &op->room;
	const char *creator = op->s[1];
	int rc;
	if (creator && (rc = need(c, op, "users", creator)) < 0)
		return rc;
	const char *lc = mdb_fold(op, r->name);
	bson_t *unique = BCON_NEW("name_lc", BCON_UTF8(lc));
	int found = mdb_exists(c, op, "rooms", unique);
	bson_destroy(unique);
	if (found < 0)
		return found;
	if (found)
		return op_fail(op, PARLEY_ECONFLICT, "room_create: the name %s is taken", r->name);
	int64_t n;
	if ((rc = mdb_next_id(c, op, "room", &n)) < 0)
		return rc;
	const char *id = op_printf(op, "r_%lld", (long long)n);
	bson_t doc = BSON_INITIALIZER;
	BSON_APPEND_INT64(&doc, "n", n);
	BSON_APPEND_UTF8(&doc, "id", id);
	BSON_APPEND_UTF8(&doc, "name", r->name);
	BSON_APPEND_UTF8(&doc, "name_lc", lc);
	BSON_APPEND_UTF8(&doc, "kind", r->kind);
	mdb_append_str(&doc, "topic", r->topic);
	mdb_append_str(&doc, "created_by", creator);
	BSON_APPEND_INT64(&doc, "created_ts", r->created_ts);
	BSON_APPEND_INT64(&doc, "last_seq", 0);
	bson_error_t err;
	rc = mdb_insert(c, op, "rooms", &doc, &err);
	bson_destroy(&doc);
	if (rc < 0)
		return rc;
	parley_room *out = op_add_room(op);
	if (!out)
		return op_fail(op, PARLEY_ENOMEM, "room_create: out of memory");
	*out = *r;
	out->id = id;
	out->created_by = creator;
	out->last_seq = 0;
	if (!creator)
		return PARLEY_OK;
	int64_t user_n = 0;
	ids_parse(creator, "u", &user_n);
	bson_t *m = BCON_NEW("room", BCON_UTF8(id), "user", BCON_UTF8(creator), "room_n",
	                     BCON_INT64(n), "user_n", BCON_INT64(user_n), "role",
	                     BCON_UTF8(op->s[0]), "read_seq", BCON_INT64(0));
	rc = mdb_insert(c, op, "members", m, &err);
	bson_destroy(m);
	return rc;
}

int rooms_get(struct dbconn *c, struct op *op)
{
	bson_t *q = op->s[0] ? BCON_NEW("id", BCON_UTF8(op->s[0]))
	                     : BCON_NEW("name_lc", BCON_UTF8(mdb_fold(op, op->s[1])));
	int rc = one_room(c, op, q);
	bson_destroy(q);
	return rc;
}

int rooms_set_topic(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("id", BCON_UTF8(op->s[0]));
	bson_t *u = bson_new(), set;
	BSON_APPEND_DOCUMENT_BEGIN(u, "$set", &set);
	mdb_append_str(&set, "topic", op->s[1]);
	bson_append_document_end(u, &set);
	bson_t *doc = NULL;
	int rc = mdb_modify(c, op, "rooms", q, u, 0, &doc);
	if (rc == PARLEY_OK && (rc = docs_room(op, doc)) < 0)
		rc = op_fail(op, rc, "room_set_topic: out of memory");
	if (doc)
		bson_destroy(doc);
	bson_destroy(q);
	bson_destroy(u);
	return rc;
}

int rooms_list(struct dbconn *c, struct op *op)
{
	bson_t *q = bson_new();
	bson_t *opts = BCON_NEW("sort", "{", "n", BCON_INT32(1), "}");
	int rc = mdb_each(c, op, "rooms", q, opts, docs_room);
	bson_destroy(q);
	bson_destroy(opts);
	return rc;
}

int rooms_member_set(struct dbconn *c, struct op *op)
{
	int rc;
	if ((rc = need(c, op, "rooms", op->s[0])) < 0 || (rc = need(c, op, "users", op->s[1])) < 0)
		return rc;
	bson_t *q = BCON_NEW("room", BCON_UTF8(op->s[0]), "user", BCON_UTF8(op->s[1]));
	bson_t *u = BCON_NEW("$set", "{", "role", BCON_UTF8(op->s[2]), "}", "$setOnInsert", "{",
	                     "room_n", BCON_INT64(op->n[0]), "user_n", BCON_INT64(op->n[1]),
	                     "read_seq", BCON_INT64(0), "}");
	bson_t *doc = NULL;
	rc = mdb_modify(c, op, "members", q, u, 1, &doc);
	/* Two first upserts racing on a real server: the loser's duplicate key
	 * means the membership exists now; set the role on it. */
	if (rc == PARLEY_ECONFLICT)
		rc = mdb_modify(c, op, "members", q, u, 1, &doc);
	if (rc == PARLEY_OK && (rc = docs_member(op, doc)) < 0)
		rc = op_fail(op, rc, "member_set: out of memory");
	if (doc)
		bson_destroy(doc);
	bson_destroy(q);
	bson_destroy(u);
	return rc;
}

int rooms_member_remove(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("room", BCON_UTF8(op->s[0]), "user", BCON_UTF8(op->s[1]));
	int rc = mdb_delete(c, op, "members", q, 0, &op->res.value);
	bson_destroy(q);
	return rc;
}

int rooms_members_list(struct dbconn *c, struct op *op)
{
	bson_t *q = op->s[0] ? BCON_NEW("room", BCON_UTF8(op->s[0])) : bson_new();
	bson_t *opts = BCON_NEW("sort", "{", "room_n", BCON_INT32(1), "user_n", BCON_INT32(1), "}");
	int rc = mdb_each(c, op, "members", q, opts, docs_member);
	bson_destroy(q);
	bson_destroy(opts);
	return rc;
}

int rooms_read_set(struct dbconn *c, struct op *op)
{
	/* Forward only ($max), and never past the room's last message. */
	bson_t *rq = BCON_NEW("id", BCON_UTF8(op->s[0]));
	bson_t *room = NULL;
	int rc = mdb_find_one(c, op, "rooms", rq, NULL, &room);
	bson_destroy(rq);
	if (rc < 0)
		return rc;
	int64_t last = mdb_int(room, "last_seq");
	bson_destroy(room);
	int64_t seq = op->n[2] < last ? op->n[2] : last;
	bson_t *q = BCON_NEW("room", BCON_UTF8(op->s[0]), "user", BCON_UTF8(op->s[1]));
	bson_t *u = BCON_NEW("$max", "{", "read_seq", BCON_INT64(seq), "}");
	bson_t *doc = NULL;
	rc = mdb_modify(c, op, "members", q, u, 0, &doc);
	if (rc == PARLEY_OK)
		op->res.value = mdb_int(doc, "read_seq");
	if (doc)
		bson_destroy(doc);
	bson_destroy(q);
	bson_destroy(u);
	return rc;
}
