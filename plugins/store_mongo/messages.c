/* Messages (see messages.h).
 *
 * seq: findAndModify {$inc: {last_seq: 1}} on the room document is atomic
 * on every node sharing the database, so seqs are unique and dense. An
 * insert that fails after that step must not leave a hole history cannot
 * explain: a lost client_id race (duplicate key 11000 on the unique
 * (user, client_id) index) writes a tombstone at the seq; a network error
 * retries the insert with the same _id and seq once, then hands the seq to
 * the health monitor, which writes the tombstone when the database is back
 * (or finds that the insert did land). A write concern error leaves the
 * message where it is, unacknowledged: a resend with its client_id finds
 * it and acks it then. */
#include "messages.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "docs.h"
#include "health.h"
#include "ids.h"
#include "search.h"
#include "store.h"

static const char MESSAGES[] = "messages";

/* Forgets an ENOTFOUND that was an answer, not a failure. */
static void clear(struct op *op)
{
	op->res.rc = PARLEY_OK;
	op->error[0] = '\0';
}

/* Finds one message by filter into the results (ENOTFOUND without). */
static int find_message(struct dbconn *c, struct op *op, const bson_t *filter)
{
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, MESSAGES, filter, NULL, &doc);
	if (rc == PARLEY_OK) {
		rc = docs_message(op, doc);
		if (rc < 0)
			rc = op_fail(op, rc, "%s: out of memory", op->name);
	}
	if (doc)
		bson_destroy(doc);
	return rc;
}

/* seq_at: when the seq was taken, or a later time (never an earlier one:
 * the sweep judges the holes before a document by it). */
static bson_t *tombstone_doc(const bson_oid_t *oid, const char *room, int64_t room_n, int64_t seq,
                             const char *user, int64_t ts, int64_t seq_at)
{
	char id[48];
	snprintf(id, sizeof id, "m_%lld", (long long)IDS_MESSAGE(room_n, seq));
	return BCON_NEW("_id", BCON_OID(oid), "id", BCON_UTF8(id), "n",
	                BCON_INT64(IDS_MESSAGE(room_n, seq)), "room", BCON_UTF8(room), "room_n",
	                BCON_INT64(room_n), "seq", BCON_INT64(seq), "user", BCON_UTF8(user), "text",
	                BCON_NULL, "ts", BCON_INT64(ts), "edited_ts", BCON_INT64(0), "deleted",
	                BCON_INT32(1), "reactions", "[", "]", "seq_at", BCON_INT64(seq_at));
}

int messages_fill_hole(mongoc_client_t *client, const char *database, const struct hole_info *h,
                       char *err, size_t errlen)
{
	mongoc_collection_t *col = mongoc_client_get_collection(client, database, MESSAGES);
	bson_oid_t oid;
	bson_oid_init_from_data(&oid, h->oid);
	bson_t *q = BCON_NEW("room", BCON_UTF8(h->room_id), "seq", BCON_INT64(h->seq));
	bson_error_t e;
	int rc = -1;
	int64_t n = mongoc_collection_count_documents(col, q, NULL, NULL, NULL, &e);
	if (n > 0) {
		rc = 0; /* the insert had landed after all */
	} else if (n == 0) {
		bson_t *doc =
		    tombstone_doc(&oid, h->room_id, h->room_n, h->seq, h->user_id, 0, h->seq_at);
		if (mongoc_collection_insert_one(col, doc, NULL, NULL, &e) ||
		    e.code == MDB_DUPLICATE_KEY)
			rc = 0;
		bson_destroy(doc);
	}
	if (rc != 0)
		snprintf(err, errlen, "%s", e.message);
	bson_destroy(q);
	mongoc_collection_destroy(col);
	return rc;
}

/* Lost the client_id race after taking seq: a tombstone fills the seq, and
 * the winner's message is the answer, as a duplicate. */
static int lost_race(struct dbconn *c, struct op *op, int64_t seq, int64_t seq_at)
{
	const parley_message *m = &op->msg;
	bson_oid_t oid;
	bson_oid_init(&oid, NULL);
	bson_t *t =
	    tombstone_doc(&oid, m->room_id, op->args.append.room_n, seq, m->user_id, m->ts, seq_at);
	bson_error_t err;
	clear(op);
	int rc = mdb_insert(c, op, MESSAGES, t, &err);
	bson_destroy(t);
	if (rc < 0) {
		health_hole(c->st->health, m->room_id, op->args.append.room_n, seq, seq_at,
		            m->user_id, oid.bytes);
		return rc;
	}
	bson_t *q = BCON_NEW("user", BCON_UTF8(m->user_id), "client_id", BCON_UTF8(m->client_id));
	rc = find_message(c, op, q);
	bson_destroy(q);
	if (rc == PARLEY_OK)
		op->res.duplicate = 1;
	return rc;
}

/* The wall clock now, read here (not the loop's cached time): the clock
 * the hole sweep compares seq_at with (health.c). */
static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int messages_append(struct dbconn *c, struct op *op)
{
	const parley_message *m = &op->msg;
	int rc;
	if (m->client_id) {
		bson_t *q =
		    BCON_NEW("user", BCON_UTF8(m->user_id), "client_id", BCON_UTF8(m->client_id));
		rc = find_message(c, op, q);
		bson_destroy(q);
		if (rc == PARLEY_OK) {
			op->res.duplicate = 1;
			return PARLEY_OK;
		}
		if (rc != PARLEY_ENOTFOUND)
			return rc;
		clear(op);
	}

	bson_t *rq = BCON_NEW("id", BCON_UTF8(m->room_id));
	/* seq_ts: when the counter last moved, and seq_at on the message: the
	 * hole sweep's clock, this store's own (a message's ts is the client's
	 * and may be old, or made up, when its seq is taken). */
	int64_t seq_at = wall_ms();
	bson_t *ru = BCON_NEW("$inc", "{", "last_seq", BCON_INT64(1), "}", "$set", "{", "seq_ts",
	                      BCON_INT64(seq_at), "}");
	bson_t *room = NULL;
	rc = mdb_modify(c, op, "rooms", rq, ru, 0, &room);
	bson_destroy(rq);
	bson_destroy(ru);
	if (rc == PARLEY_ENOTFOUND)
		return op_fail(op, PARLEY_ENOTFOUND, "append: no room %s", m->room_id);
	if (rc < 0)
		return rc;
	int64_t seq = mdb_int(room, "last_seq");
	bson_destroy(room);

	int64_t n = IDS_MESSAGE(op->args.append.room_n, seq);
	const char *id = op_printf(op, "m_%lld", (long long)n);
	if (!id)
		return op_fail(op, PARLEY_ENOMEM, "append: out of memory");
	bson_oid_t oid;
	bson_oid_init(&oid, NULL);
	bson_t doc = BSON_INITIALIZER;
	BSON_APPEND_OID(&doc, "_id", &oid);
	BSON_APPEND_UTF8(&doc, "id", id);
	BSON_APPEND_INT64(&doc, "n", n);
	BSON_APPEND_UTF8(&doc, "room", m->room_id);
	BSON_APPEND_INT64(&doc, "room_n", op->args.append.room_n);
	BSON_APPEND_INT64(&doc, "seq", seq);
	BSON_APPEND_UTF8(&doc, "user", m->user_id);
	mdb_append_str(&doc, "text", m->text);
	search_append_words(&doc, "words", m->text);
	BSON_APPEND_INT64(&doc, "ts", m->ts);
	BSON_APPEND_INT64(&doc, "seq_at", seq_at);
	/* Absent, not null: the partial unique index covers present ones only. */
	if (m->client_id)
		BSON_APPEND_UTF8(&doc, "client_id", m->client_id);
	mdb_append_str(&doc, "reply_to", m->reply_to);
	mdb_append_str(&doc, "mentions_json", m->mentions_json);
	mdb_append_str(&doc, "attachments_json", m->attachments_json);
	BSON_APPEND_INT64(&doc, "edited_ts", 0);
	BSON_APPEND_INT32(&doc, "deleted", 0);
	if (op->args.append.thread) { /* a reply (threads.c) */
		BSON_APPEND_UTF8(&doc, "thread", op->args.append.thread);
		BSON_APPEND_INT32(&doc, "also_room", op->args.append.also_room);
	}
	bson_t empty;
	BSON_APPEND_ARRAY_BEGIN(&doc, "reactions", &empty);
	bson_append_array_end(&doc, &empty);

	bson_error_t err;
	rc = mdb_insert(c, op, MESSAGES, &doc, &err);
	if (rc == PARLEY_ECONFLICT && m->client_id && strstr(err.message, "client")) {
		bson_destroy(&doc);
		return lost_race(c, op, seq, seq_at);
	}
	if (rc < 0 && err.domain != MONGOC_ERROR_WRITE_CONCERN && rc != PARLEY_ECONFLICT) {
		/* The outcome is unknown (the driver's own retry failed too):
		 * once more with the same _id and seq, then leave it to the
		 * monitor. A duplicate _id means it landed, yet unacknowledged. */
		clear(op);
		rc = mdb_insert(c, op, MESSAGES, &doc, &err);
		if (rc == PARLEY_ECONFLICT)
			rc = op_fail(op, PARLEY_EUNAVAIL,
			             "append: stored, but its write concern is unknown");
		else if (rc < 0)
			health_hole(c->st->health, m->room_id, op->args.append.room_n, seq, seq_at,
			            m->user_id, oid.bytes);
	}
	bson_destroy(&doc);
	if (rc < 0)
		return rc;

	parley_message *out = op_add_message(op);
	if (!out)
		return op_fail(op, PARLEY_ENOMEM, "append: out of memory");
	*out = *m;
	out->id = id;
	out->seq = seq;
	out->reactions_json = NULL;
	out->edited_ts = 0;
	out->deleted = 0;
	parley_thread_info *t = op_add_thread(op, id);
	if (!t)
		return op_fail(op, PARLEY_ENOMEM, "append: out of memory");
	t->thread_id = op->args.append.thread;
	t->also_room = op->args.append.also_room;
	return PARLEY_OK;
}

int messages_history(struct dbconn *c, struct op *op)
{
	const char *room = op->args.history.room;
	int64_t before = op->args.history.before, after = op->args.history.after;
	int limit = op->args.history.limit;
	bson_t *rq = BCON_NEW("id", BCON_UTF8(room));
	int found = mdb_exists(c, op, "rooms", rq);
	bson_destroy(rq);
	if (found < 0)
		return found;
	if (!found)
		return op_fail(op, PARLEY_ENOTFOUND, "history: no room %s", room);

	bson_t *q, *opts;
	int newest_first = 1;
	if (before > 0) {
		q = BCON_NEW("room", BCON_UTF8(room), "seq", "{", "$lt", BCON_INT64(before), "}");
	} else if (after >= 0) {
		q = BCON_NEW("room", BCON_UTF8(room), "seq", "{", "$gt", BCON_INT64(after), "}");
		newest_first = 0;
	} else {
		q = BCON_NEW("room", BCON_UTF8(room));
	}
	/* One past the limit tells whether there is more. */
	opts = BCON_NEW("sort", "{", "seq", BCON_INT32(newest_first ? -1 : 1), "}", "limit",
	                BCON_INT64(limit + 1));
	int rc = mdb_each(c, op, MESSAGES, q, opts, docs_message);
	bson_destroy(q);
	bson_destroy(opts);
	if (rc < 0)
		return rc;
	if (op->n_msgs > (size_t)limit) {
		op->n_msgs = (size_t)limit;
		op->res.more = 1;
	}
	if (before <= 0 && after < 0) {
		/* The newest page is fetched newest first, returned oldest first. */
		for (size_t i = 0, j = op->n_msgs; i + 1 < j; i++, j--) {
			parley_message t = op->msgs[i];
			op->msgs[i] = op->msgs[j - 1];
			op->msgs[j - 1] = t;
		}
	}
	return PARLEY_OK;
}

static bson_t *by_id(const char *room, const char *message, int live)
{
	if (live)
		return BCON_NEW("id", BCON_UTF8(message), "room", BCON_UTF8(room), "deleted",
		                BCON_INT32(0));
	return BCON_NEW("id", BCON_UTF8(message), "room", BCON_UTF8(room));
}

int messages_get(struct dbconn *c, struct op *op)
{
	bson_t *q = by_id(op->args.message.room, op->args.message.message, 0);
	int rc = find_message(c, op, q);
	bson_destroy(q);
	return rc;
}

/* findAndModify on one message; the new document into the results. */
static int modify_message(struct dbconn *c, struct op *op, bson_t *q, bson_t *u)
{
	bson_t *doc = NULL;
	int rc = mdb_modify(c, op, MESSAGES, q, u, 0, &doc);
	if (rc == PARLEY_OK && (rc = docs_message(op, doc)) < 0)
		rc = op_fail(op, rc, "%s: out of memory", op->name);
	if (doc)
		bson_destroy(doc);
	bson_destroy(q);
	bson_destroy(u);
	return rc;
}

int messages_delete(struct dbconn *c, struct op *op)
{
	/* A tombstone has no words to find, no pin (pins.h), no history. */
	bson_t *u = BCON_NEW("$set", "{", "text", BCON_NULL, "attachments_json", BCON_NULL,
	                     "mentions_json", BCON_NULL, "deleted", BCON_INT32(1), "reactions", "[",
	                     "]", "words", "[", "]", "edits", "[", "]", "}", "$unset", "{",
	                     "pin_ts", BCON_UTF8(""), "pin_user", BCON_UTF8(""), "}");
	const char *message = op->args.message.message;
	int rc = modify_message(c, op, by_id(op->args.message.room, message, 0), u);
	if (rc < 0)
		return rc;
	/* Its files are detached: the cleanup job removes them later. */
	bson_t *q = BCON_NEW("message", BCON_UTF8(message));
	u = BCON_NEW("$set", "{", "room", BCON_NULL, "message", BCON_NULL, "}");
	rc = mdb_update(c, op, "uploads", q, u, 1, 0, NULL);
	bson_destroy(q);
	bson_destroy(u);
	return rc;
}

int messages_react(struct dbconn *c, struct op *op)
{
	const char *room = op->args.react.room, *message = op->args.react.message;
	const char *user = op->args.react.user;
	bson_t *q = by_id(room, message, 1);
	int found = mdb_exists(c, op, MESSAGES, q);
	bson_destroy(q);
	if (found < 0)
		return found;
	if (!found)
		return op_fail(op, PARLEY_ENOTFOUND, "react: no message %s", message);
	if (op->args.react.on) {
		bson_t *uq = BCON_NEW("id", BCON_UTF8(user));
		found = mdb_exists(c, op, "users", uq);
		bson_destroy(uq);
		if (found < 0)
			return found;
		if (!found)
			return op_fail(op, PARLEY_ENOTFOUND, "react: no user %s", user);
	}
	/* $addToSet compares whole documents: {e, u} always in this order. */
	bson_t *u = BCON_NEW(op->args.react.on ? "$addToSet" : "$pull", "{", "reactions", "{", "e",
	                     BCON_UTF8(op->args.react.emoji), "u", BCON_UTF8(user), "}", "}");
	return modify_message(c, op, by_id(room, message, 1), u);
}

/* Fills seqs [from, to] of a room with tombstones; the count written, or
 * -1 with err. A duplicate key means someone filled it meanwhile. */
static int fill_range(mongoc_collection_t *col, const char *room, int64_t room_n, int64_t from,
                      int64_t to, const char *user, int64_t ts, int64_t seq_at, char *err,
                      size_t errlen)
{
	int n = 0;
	for (int64_t seq = from; seq <= to; seq++) {
		bson_oid_t oid;
		bson_error_t e;
		bson_oid_init(&oid, NULL);
		bson_t *doc = tombstone_doc(&oid, room, room_n, seq, user, ts, seq_at);
		int ok = mongoc_collection_insert_one(col, doc, NULL, NULL, &e);
		bson_destroy(doc);
		if (ok) {
			n++;
		} else if (e.code != MDB_DUPLICATE_KEY) {
			snprintf(err, errlen, "%s", e.message);
			return -1;
		}
	}
	return n;
}

static int64_t field_int(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	return bson_iter_init_find(&it, doc, key) ? bson_iter_as_int64(&it) : 0;
}

static const char *field_str(const bson_t *doc, const char *key, char *out, size_t n)
{
	bson_iter_t it;
	if (!bson_iter_init_find(&it, doc, key) || !BSON_ITER_HOLDS_UTF8(&it))
		return NULL;
	snprintf(out, n, "%s", bson_iter_utf8(&it, NULL));
	return out;
}

/* When the seq of message document d was taken, on the store's clock, or
 * a later time: its seq_at; a document without one (written before
 * seq_at existed) was inserted after its seq was taken, so its ObjectId's
 * creation second, plus the second it truncates. Never the document's ts:
 * that is the client's clock, and may be long past (or made up). */
static int64_t seq_taken(const bson_t *d)
{
	int64_t at = field_int(d, "seq_at");
	bson_iter_t it;
	if (at > 0)
		return at;
	if (bson_iter_init_find(&it, d, "_id") && BSON_ITER_HOLDS_OID(&it))
		return (int64_t)bson_oid_get_time_t(bson_iter_oid(&it)) * 1000 + 1000;
	return INT64_MAX; /* unknown: the holes before it wait for a later one */
}

/* One room: walks its seqs in order and fills the abandoned holes. */
static int sweep_room(mongoc_collection_t *msgs, const bson_t *room_doc, int64_t now_ms,
                      int64_t stale_ms, char *err, size_t errlen)
{
	char room[48], user[48] = "", next_user[48];
	if (!field_str(room_doc, "id", room, sizeof room))
		return 0;
	int64_t last = field_int(room_doc, "last_seq"), room_n = field_int(room_doc, "n");
	/* The seqs below a room delete's floor were deleted on purpose
	 * (room_delete.c): not holes. */
	int64_t floor_seq = field_int(room_doc, "delete_floor");
	if (floor_seq < 1)
		floor_seq = 1;
	bson_error_t e;
	bson_t *q =
	    BCON_NEW("room", BCON_UTF8(room), "seq", "{", "$gte", BCON_INT64(floor_seq), "}");
	int64_t count = last >= floor_seq
	                    ? mongoc_collection_count_documents(msgs, q, NULL, NULL, NULL, &e)
	                    : 0;
	if (count < 0) {
		snprintf(err, errlen, "%s", e.message);
		bson_destroy(q);
		return -1;
	}
	int filled = 0;
	if (count < last - floor_seq + 1) {
		bson_t *opts =
		    BCON_NEW("sort", "{", "seq", BCON_INT32(1), "}", "projection", "{", "_id",
		             BCON_INT32(1), "seq", BCON_INT32(1), "ts", BCON_INT32(1), "seq_at",
		             BCON_INT32(1), "user", BCON_INT32(1), "}");
		mongoc_cursor_t *cur = mongoc_collection_find_with_opts(msgs, q, opts, NULL);
		const bson_t *d;
		int64_t expect = floor_seq, ts = 0;
		while (filled >= 0 && mongoc_cursor_next(cur, &d)) {
			int64_t seq = field_int(d, "seq");
			ts = field_int(d, "ts");
			/* The holes before it were taken before it was. */
			int64_t taken = seq_taken(d);
			field_str(d, "user", next_user, sizeof next_user);
			if (seq > expect && taken != INT64_MAX && now_ms - taken > stale_ms) {
				int n = fill_range(msgs, room, room_n, expect, seq - 1, next_user,
				                   ts, taken, err, errlen);
				filled = n < 0 ? -1 : filled + n;
			}
			snprintf(user, sizeof user, "%s", next_user);
			if (seq >= expect)
				expect = seq + 1;
		}
		if (filled >= 0 && mongoc_cursor_error(cur, &e)) {
			snprintf(err, errlen, "%s", e.message);
			filled = -1;
		}
		/* The end of the room: abandoned when the counter has not moved
		 * for stale_ms. */
		int64_t seq_ts = field_int(room_doc, "seq_ts");
		if (filled >= 0 && expect <= last && user[0] && now_ms - seq_ts > stale_ms) {
			int n = fill_range(msgs, room, room_n, expect, last, user, ts, seq_ts, err,
			                   errlen);
			filled = n < 0 ? -1 : filled + n;
		}
		mongoc_cursor_destroy(cur);
		bson_destroy(opts);
	}
	bson_destroy(q);
	return filled;
}

int messages_sweep(mongoc_client_t *client, const char *database, int64_t now_ms, int64_t stale_ms,
                   char *err, size_t errlen)
{
	mongoc_collection_t *rooms = mongoc_client_get_collection(client, database, "rooms");
	mongoc_collection_t *msgs = mongoc_client_get_collection(client, database, MESSAGES);
	bson_t *all = bson_new();
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(rooms, all, NULL, NULL);
	const bson_t *room;
	bson_error_t e;
	int total = 0;
	while (total >= 0 && mongoc_cursor_next(cur, &room)) {
		int n = sweep_room(msgs, room, now_ms, stale_ms, err, errlen);
		total = n < 0 ? -1 : total + n;
	}
	if (total >= 0 && mongoc_cursor_error(cur, &e)) {
		snprintf(err, errlen, "%s", e.message);
		total = -1;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(all);
	mongoc_collection_destroy(msgs);
	mongoc_collection_destroy(rooms);
	return total;
}
