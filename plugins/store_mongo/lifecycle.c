/* The data lifecycle on MongoDB (see lifecycle.h): prune, a room's
 * own retention, edit history — store_sqlite's retention.c in documents.
 *
 * A message's earlier versions live in the message document itself, as the
 * array `edits` of {text, mentions_json, ts}: an edit pushes the version it
 * replaces in the same single-document update that writes the new text, so
 * the history and the text never disagree (single-document writes are
 * atomic in MongoDB without a transaction). A tombstone empties it.
 *
 * prune tombstones a prefix of the room's seqs (those after its pruned mark
 * up to the first message still young enough) with one updateMany over the
 * seq range, detaches their uploads, then moves the mark (rooms.pruned_seq,
 * $max). A crash between the steps leaves the mark behind: the next run
 * tombstones the same range again (idempotent) and moves it. */
#include "lifecycle.h"
#include "search.h"

#include <string.h>

#include "docs.h"
#include "ids.h"

/* An edit that lost a race with another node's edit reads again; more than
 * this many lost races in a row is reported as a conflict. */
#define EDIT_ATTEMPTS 20

static const char MESSAGES[] = "messages";

static void clear(struct op *op)
{
	op->res.rc = PARLEY_OK;
	op->error[0] = '\0';
}

/* The message id/room filter; live: only one not deleted. */
static bson_t *message_filter(const char *room, const char *message, int live)
{
	if (live)
		return BCON_NEW("id", BCON_UTF8(message), "room", BCON_UTF8(room), "deleted",
		                BCON_INT32(0));
	return BCON_NEW("id", BCON_UTF8(message), "room", BCON_UTF8(room));
}

int lifecycle_edit(struct dbconn *c, struct op *op)
{
	const char *room = op->args.edit.room, *message = op->args.edit.message;
	/* The version's own number: a copy to another store keeps it, so a
	 * second copy finds the version there instead of adding it again. */
	int64_t version_id;
	int rc0 = mdb_next_id(c, op, "edit", &version_id);
	if (rc0 < 0)
		return rc0;
	for (int attempt = 0; attempt < EDIT_ATTEMPTS; attempt++) {
		bson_t *q = message_filter(room, message, 1);
		bson_t *cur = NULL;
		int rc = mdb_find_one(c, op, MESSAGES, q, NULL, &cur);
		bson_destroy(q);
		if (rc < 0)
			return rc;
		int64_t edited = mdb_int(cur, "edited_ts");
		int64_t version_ts = edited > 0 ? edited : mdb_int(cur, "ts");
		const char *old_text = mdb_str(op, cur, "text");
		const char *old_mentions = mdb_str(op, cur, "mentions_json");
		bson_destroy(cur);

		/* Compare and set: written only if no other edit came between. */
		bson_t *guard = message_filter(room, message, 1);
		BSON_APPEND_INT64(guard, "edited_ts", edited);
		mdb_append_str(guard, "text", old_text);
		bson_t *u = bson_new(), set, push, version;
		BSON_APPEND_DOCUMENT_BEGIN(u, "$set", &set);
		BSON_APPEND_UTF8(&set, "text", op->args.edit.text);
		search_append_words(&set, "words", op->args.edit.text); /* found by the new text */
		mdb_append_str(&set, "mentions_json", op->args.edit.mentions_json);
		BSON_APPEND_INT64(&set, "edited_ts", op->args.edit.edited_ts);
		bson_append_document_end(u, &set);
		BSON_APPEND_DOCUMENT_BEGIN(u, "$push", &push);
		BSON_APPEND_DOCUMENT_BEGIN(&push, "edits", &version);
		BSON_APPEND_INT64(&version, "id", version_id);
		mdb_append_str(&version, "text", old_text);
		mdb_append_str(&version, "mentions_json", old_mentions);
		BSON_APPEND_INT64(&version, "ts", version_ts);
		bson_append_document_end(&push, &version);
		bson_append_document_end(u, &push);
		bson_t *doc = NULL;
		rc = mdb_modify(c, op, MESSAGES, guard, u, 0, &doc);
		bson_destroy(guard);
		bson_destroy(u);
		if (rc == PARLEY_OK) {
			rc = docs_message(op, doc);
			bson_destroy(doc);
			return rc < 0 ? op_fail(op, rc, "message_edit: out of memory") : PARLEY_OK;
		}
		if (rc != PARLEY_ENOTFOUND)
			return rc;
		clear(op); /* another edit (or a delete) came between: read again */
	}
	return op_fail(op, PARLEY_ECONFLICT, "message_edit: %s keeps changing", message);
}

int lifecycle_edits_list(struct dbconn *c, struct op *op)
{
	bson_t *q = message_filter(op->args.message.room, op->args.message.message, 0);
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, MESSAGES, q, NULL, &doc);
	bson_destroy(q);
	if (rc < 0)
		return rc;
	if ((rc = docs_message(op, doc)) < 0) {
		bson_destroy(doc);
		return op_fail(op, rc, "edits_list: out of memory");
	}
	/* The current version goes last; the earlier ones share its ids. */
	parley_message current = op->msgs[0];
	current.ts = current.edited_ts ? current.edited_ts : current.ts;
	op->n_msgs = 0;
	bson_iter_t it, arr;
	if (bson_iter_init_find(&it, doc, "edits") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &arr)) {
		while (bson_iter_next(&arr)) {
			const uint8_t *data;
			uint32_t len;
			bson_t v;
			if (!BSON_ITER_HOLDS_DOCUMENT(&arr))
				continue;
			bson_iter_document(&arr, &len, &data);
			if (!bson_init_static(&v, data, len))
				continue;
			parley_message *m = op_add_message(op);
			if (!m) {
				bson_destroy(doc);
				return op_fail(op, PARLEY_ENOMEM, "edits_list: out of memory");
			}
			*m = current;
			m->text = mdb_str(op, &v, "text");
			m->mentions_json = mdb_str(op, &v, "mentions_json");
			m->ts = mdb_int(&v, "ts");
			m->deleted = 0;
			m->edited_ts = 0;
			m->attachments_json = NULL;
		}
	}
	bson_destroy(doc);
	parley_message *last = op_add_message(op);
	if (!last)
		return op_fail(op, PARLEY_ENOMEM, "edits_list: out of memory");
	*last = current;
	return PARLEY_OK;
}

/* Appends a tombstone record (id, room, seq, ts) of a due message. */
static int add_pruned(struct op *op, const bson_t *doc)
{
	parley_message *m = op_add_message(op);
	if (!m)
		return PARLEY_ENOMEM;
	m->id = mdb_str(op, doc, "id");
	m->room_id = op->args.prune.room;
	m->seq = mdb_int(doc, "seq");
	m->ts = mdb_int(doc, "ts");
	m->deleted = 1;
	return m->id ? PARLEY_OK : PARLEY_ENOMEM;
}

/* Collects the due prefix after mark: up to limit records (and, when count
 * is set, counts every due message). */
static int due_prefix(struct dbconn *c, struct op *op, int64_t mark, int64_t *count)
{
	int limit = op->args.prune.limit;
	bson_t *q = BCON_NEW("room", BCON_UTF8(op->args.prune.room), "seq", "{", "$gt",
	                     BCON_INT64(mark), "}");
	bson_t *opts = BCON_NEW("sort", "{", "seq", BCON_INT32(1), "}", "projection", "{", "id",
	                        BCON_INT32(1), "seq", BCON_INT32(1), "ts", BCON_INT32(1), "}");
	if (!count)
		BSON_APPEND_INT64(opts, "limit", limit + 1);
	mongoc_collection_t *col = mdb_coll(c, MESSAGES);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
	const bson_t *d;
	bson_error_t err;
	int rc = PARLEY_OK;
	int64_t n = 0;
	while (rc == PARLEY_OK && mongoc_cursor_next(cur, &d)) {
		if (mdb_int(d, "ts") >= op->args.prune.before_ts)
			break;
		if (n == limit) {
			op->res.more = 1;
			if (!count)
				break;
		}
		if (n < limit && add_pruned(op, d) < 0)
			rc = op_fail(op, PARLEY_ENOMEM, "prune: out of memory");
		n++;
	}
	if (rc == PARLEY_OK && mongoc_cursor_error(cur, &err))
		rc = mdb_fail(c, op, &err);
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(q);
	bson_destroy(opts);
	if (rc == PARLEY_OK && count)
		*count = n;
	return rc;
}

/* Detaches the uploads of the pruned messages, returning their records. */
static int detach_uploads(struct dbconn *c, struct op *op)
{
	bson_t *q = bson_new(), in, ids;
	BSON_APPEND_DOCUMENT_BEGIN(q, "message", &in);
	BSON_APPEND_ARRAY_BEGIN(&in, "$in", &ids);
	for (size_t i = 0; i < op->n_msgs; i++) {
		char key[16];
		const char *k;
		bson_uint32_to_string((uint32_t)i, &k, key, sizeof key);
		BSON_APPEND_UTF8(&ids, k, op->msgs[i].id);
	}
	bson_append_array_end(&in, &ids);
	bson_append_document_end(q, &in);
	size_t first = op->n_uploads;
	int rc = mdb_each(c, op, "uploads", q, NULL, docs_upload);
	if (rc == PARLEY_OK && op->n_uploads > first) {
		bson_t *u = BCON_NEW("$set", "{", "room", BCON_NULL, "message", BCON_NULL, "}");
		rc = mdb_update(c, op, "uploads", q, u, 1, 0, NULL);
		bson_destroy(u);
		for (size_t i = first; i < op->n_uploads; i++) {
			op->uploads[i].room_id = NULL;
			op->uploads[i].message_id = NULL;
		}
	}
	bson_destroy(q);
	return rc;
}

int lifecycle_prune(struct dbconn *c, struct op *op)
{
	const char *room = op->args.prune.room;
	bson_t *rq = BCON_NEW("id", BCON_UTF8(room));
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, "rooms", rq, NULL, &doc);
	if (rc < 0) {
		bson_destroy(rq);
		return rc;
	}
	int64_t mark = mdb_int(doc, "pruned_seq");
	bson_destroy(doc);
	if (op->args.prune.dry_run) {
		int64_t count = 0;
		rc = due_prefix(c, op, mark, &count);
		op->res.value = count;
		bson_destroy(rq);
		return rc;
	}
	if ((rc = due_prefix(c, op, mark, NULL)) < 0 || op->n_msgs == 0) {
		op->res.value = mark;
		bson_destroy(rq);
		return rc;
	}
	int64_t to = op->msgs[op->n_msgs - 1].seq;
	bson_t *q = BCON_NEW("room", BCON_UTF8(room), "seq", "{", "$gt", BCON_INT64(mark), "$lte",
	                     BCON_INT64(to), "}");
	/* Text, words, reactions, history and pins go with the message. */
	bson_t *u = BCON_NEW("$set", "{", "text", BCON_NULL, "attachments_json", BCON_NULL,
	                     "mentions_json", BCON_NULL, "deleted", BCON_INT32(1), "reactions", "[",
	                     "]", "edits", "[", "]", "words", "[", "]", "}", "$unset", "{",
	                     "pin_ts", BCON_UTF8(""), "pin_user", BCON_UTF8(""), "}");
	rc = mdb_update(c, op, MESSAGES, q, u, 1, 0, NULL);
	bson_destroy(q);
	bson_destroy(u);
	if (rc == PARLEY_OK)
		rc = detach_uploads(c, op);
	if (rc == PARLEY_OK) {
		u = BCON_NEW("$max", "{", "pruned_seq", BCON_INT64(to), "}");
		rc = mdb_update(c, op, "rooms", rq, u, 0, 0, NULL);
		bson_destroy(u);
	}
	bson_destroy(rq);
	op->res.value = to;
	return rc;
}

static int retention_value(struct dbconn *c, struct op *op, int set)
{
	bson_t *q = BCON_NEW("id", BCON_UTF8(op->args.retention.room));
	bson_t *doc = NULL;
	int rc;
	if (set) {
		bson_t *u =
		    BCON_NEW("$set", "{", "retention_ms", BCON_INT64(op->args.retention.ms), "}");
		rc = mdb_modify(c, op, "rooms", q, u, 0, &doc);
		bson_destroy(u);
	} else {
		rc = mdb_find_one(c, op, "rooms", q, NULL, &doc);
	}
	bson_destroy(q);
	if (rc == PARLEY_ENOTFOUND)
		return op_fail(op, PARLEY_ENOTFOUND, "%s: no room %s", op->name,
		               op->args.retention.room);
	if (rc == PARLEY_OK) {
		op->res.value = mdb_int(doc, "retention_ms");
		bson_destroy(doc);
	}
	return rc;
}

int lifecycle_retention_set(struct dbconn *c, struct op *op)
{
	return retention_value(c, op, 1);
}

int lifecycle_retention_get(struct dbconn *c, struct op *op)
{
	return retention_value(c, op, 0);
}
