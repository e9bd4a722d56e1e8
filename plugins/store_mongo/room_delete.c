/* room_delete in steps (plugin.h): a room's messages go ROOM_DELETE_BATCH
 * at a time, oldest first, each batch one op of its own on the room's
 * lane, so the calls queued meanwhile (of the rooms hashing to that lane)
 * run between the batches instead of after one delete_many of every
 * message and its search-word index keys. Then the room itself, in a last
 * op. (On CongoDB, which scans for every query, a step costs about what
 * the one delete_many did: docs/performance.md.)
 *
 * There is no transaction around the steps (CongoDB has none, nor has a
 * standalone mongod), so the order is what keeps a stop part-way readable:
 * - The messages before the room document: a stop leaves the room with
 *   its newest messages (history starts later, no gap inside it), as
 *   store_sqlite does, and deleting it again finishes. With the room
 *   document first (as before) a stop left messages, members and follows
 *   of a room no call can name any more (ENOTFOUND), which store copy and
 *   backups still read.
 * - A batch first moves the room's `delete_floor` past its messages: the
 *   seq-hole sweep (messages.c) takes the seqs below the floor as deleted
 *   on purpose, not as abandoned holes to fill with tombstones.
 * - In a batch, the messages before what hangs on them (their thread
 *   follows; the `message` of their uploads' records): a stop between
 *   leaves follows of gone roots (threads_list skips them) and upload
 *   records still attached (nothing removes their objects), never a live
 *   message whose attachment the cleanup job takes away.
 * - The last step removes what is left by room (messages appended
 *   meanwhile, follows, members, notification levels; uploads detached)
 *   and the room document last, so ENOTFOUND means all of it is gone.
 * Reactions, edit history, pins and search words live in the message
 * documents and go with them. */
#include "room_delete.h"

#include <stdlib.h>
#include <string.h>

#include "ids.h"
#include "mdb.h"
#include "store.h"

static const char MESSAGES[] = "messages";
static const char FOLLOWS[] = "thread_follows";

/* The oldest batch of the room: each message's id (what follows and
 * uploads name) appended to the array ids, *n of them, the largest seq in
 * *max_seq. One round trip (batchSize): the test server runs the query
 * again for every getMore. */
static int oldest_batch(struct dbconn *c, struct op *op, const char *room, bson_t *ids, int64_t *n,
                        int64_t *max_seq)
{
	bson_t *q = BCON_NEW("room", BCON_UTF8(room));
	bson_t *opts =
	    BCON_NEW("sort", "{", "seq", BCON_INT32(1), "}", "limit", BCON_INT64(ROOM_DELETE_BATCH),
	             "batchSize", BCON_INT64(ROOM_DELETE_BATCH), "projection", "{", "_id",
	             BCON_INT32(0), "id", BCON_INT32(1), "seq", BCON_INT32(1), "}");
	mongoc_collection_t *col = mdb_coll(c, MESSAGES);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
	const bson_t *d;
	bson_error_t e;
	char key[16];
	const char *k;
	int64_t n_ids = 0;
	*n = 0;
	*max_seq = 0;
	while (mongoc_cursor_next(cur, &d)) {
		bson_iter_t it;
		(*n)++;
		if (bson_iter_init_find(&it, d, "id") && BSON_ITER_HOLDS_UTF8(&it)) {
			bson_uint32_to_string((uint32_t)n_ids++, &k, key, sizeof key);
			BSON_APPEND_UTF8(ids, k, bson_iter_utf8(&it, NULL));
		}
		int64_t seq = mdb_int(d, "seq");
		if (seq > *max_seq)
			*max_seq = seq;
	}
	int rc = mongoc_cursor_error(cur, &e) ? mdb_fail(c, op, &e) : PARLEY_OK;
	mongoc_cursor_destroy(cur);
	mongoc_collection_destroy(col);
	bson_destroy(opts);
	bson_destroy(q);
	return rc;
}

/* One batch; res.value = messages deleted (fewer than a batch: the last).
 * The messages go by their seq range, one index range on a real server (a
 * list of 1000 _ids took CongoDB 3.5 s to match); a message that landed
 * in that range after the read (a late insert, a sweep's tombstone) goes
 * with them, and what hangs on it with the last step, by room. */
static int delete_batch(struct dbconn *c, struct op *op)
{
	const char *room = op->args.room_admin.room;
	bson_t ids = BSON_INITIALIZER;
	int64_t n = 0, max_seq = 0;
	int rc = oldest_batch(c, op, room, &ids, &n, &max_seq);
	if (rc == PARLEY_OK && n > 0) {
		bson_t *room_q = BCON_NEW("id", BCON_UTF8(room));
		bson_t *floor = BCON_NEW("$max", "{", "delete_floor", BCON_INT64(max_seq + 1), "}");
		rc = mdb_update(c, op, "rooms", room_q, floor, 0, 0, NULL);
		bson_destroy(room_q);
		bson_destroy(floor);
	}
	if (rc == PARLEY_OK && n > 0) {
		bson_t *q =
		    BCON_NEW("room", BCON_UTF8(room), "seq", "{", "$lte", BCON_INT64(max_seq), "}");
		rc = mdb_delete(c, op, MESSAGES, q, 1, NULL);
		bson_destroy(q);
	}
	if (rc == PARLEY_OK && n > 0) {
		bson_t *q = BCON_NEW("root", "{", "$in", BCON_ARRAY(&ids), "}");
		rc = mdb_delete(c, op, FOLLOWS, q, 1, NULL);
		bson_destroy(q);
	}
	if (rc == PARLEY_OK && n > 0) {
		bson_t *q = BCON_NEW("message", "{", "$in", BCON_ARRAY(&ids), "}");
		bson_t *u = BCON_NEW("$set", "{", "message", BCON_NULL, "}");
		rc = mdb_update(c, op, "uploads", q, u, 1, 0, NULL);
		bson_destroy(q);
		bson_destroy(u);
	}
	bson_destroy(&ids);
	op->res.value = n;
	return rc;
}

/* The first batch, after checking that the room is there. */
static int delete_first(struct dbconn *c, struct op *op)
{
	bson_t *q = BCON_NEW("id", BCON_UTF8(op->args.room_admin.room));
	int found = mdb_exists(c, op, "rooms", q);
	bson_destroy(q);
	if (found < 0)
		return found;
	if (!found)
		return op_fail(op, PARLEY_ENOTFOUND, "room_delete: no room %s",
		               op->args.room_admin.room);
	return delete_batch(c, op);
}

/* The rest by room, the room document last (see the top). */
static int delete_rest(struct dbconn *c, struct op *op)
{
	const char *room = op->args.room_admin.room;
	bson_t *by_room = BCON_NEW("room", BCON_UTF8(room));
	static const char *const by_room_colls[] = {MESSAGES, FOLLOWS, "members", "notify"};
	int rc = PARLEY_OK;
	for (size_t i = 0; rc == PARLEY_OK && i < sizeof by_room_colls / sizeof *by_room_colls; i++)
		rc = mdb_delete(c, op, by_room_colls[i], by_room, 1, NULL);
	if (rc == PARLEY_OK) {
		bson_t *u = BCON_NEW("$set", "{", "room", BCON_NULL, "message", BCON_NULL, "}");
		rc = mdb_update(c, op, "uploads", by_room, u, 1, 0, NULL);
		bson_destroy(u);
	}
	bson_destroy(by_room);
	if (rc < 0)
		return rc;
	bson_t *q = BCON_NEW("id", BCON_UTF8(room));
	int64_t n = 0;
	rc = mdb_delete(c, op, "rooms", q, 0, &n);
	bson_destroy(q);
	if (rc == PARLEY_OK && !n) /* another delete of it finished first */
		return op_fail(op, PARLEY_ENOTFOUND, "room_delete: no room %s", room);
	return rc;
}

#define ROOM_ID_MAX 48 /* "r_" and an int64 fit */

/* A delete in progress, between its ops (loop thread). */
struct room_delete_run {
	struct store *st;
	char room[ROOM_ID_MAX];
	parley_store_done done;
	void *ud;
};

static void batch_done(void *ud, const parley_store_result *res);

/* Queues the next step: a batch, or with last the rest (whose result is
 * the caller's). PENDING or an error. */
static int run_step(struct room_delete_run *run, op_exec_fn exec, int last)
{
	struct op *op = last ? store_op_begin(run->st, "room_delete", exec, run->done, run->ud)
	                     : store_op_begin(run->st, "room_delete_batch", exec, batch_done, run);
	if (!op)
		return PARLEY_EUNAVAIL;
	op->args.room_admin.room = op_strdup(op, run->room);
	return store_op_submit(op, run->room);
}

static void batch_done(void *ud, const parley_store_result *res)
{
	struct room_delete_run *run = ud;
	if (res->rc != PARLEY_OK) {
		run->done(run->ud, res);
		free(run);
		return;
	}
	int last = res->value < ROOM_DELETE_BATCH;
	int rc = run_step(run, last ? delete_rest : delete_batch, last);
	if (rc != PARLEY_PENDING) {
		parley_store_result failed = {.rc = rc,
		                              .error = "room_delete: the store refused a step"};
		run->done(run->ud, &failed);
	}
	if (last || rc != PARLEY_PENDING)
		free(run);
}

int mongo_room_delete(void *self, const char *room_id, parley_store_done done, void *ud)
{
	struct store *st = self;
	int64_t n;
	if (st->stopped || !done)
		return PARLEY_EUNAVAIL;
	if (!ids_parse(room_id, "r", &n) || strlen(room_id) >= ROOM_ID_MAX)
		return PARLEY_EINVAL;
	struct room_delete_run *run = malloc(sizeof *run);
	if (!run)
		return PARLEY_ENOMEM;
	*run = (struct room_delete_run){.st = st, .done = done, .ud = ud};
	strcpy(run->room, room_id);
	int rc = run_step(run, delete_first, 0);
	if (rc != PARLEY_PENDING)
		free(run);
	return rc;
}
