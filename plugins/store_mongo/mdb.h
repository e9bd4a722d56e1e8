/* What every operation file uses: the connection an op runs on, MongoDB
 * errors as parley codes, BSON field readers, id counters and the
 * lookup-then-insert step that gives unique keys on servers that do not
 * enforce unique indexes (the test server) and on those that do (a race
 * ends in duplicate key 11000, also ECONFLICT). */
#ifndef STORE_MONGO_MDB_H
#define STORE_MONGO_MDB_H

#include <stdint.h>

#include <mongoc/mongoc.h>

#include "../store_sqlite/op.h"

/* The connection an op runs on: a client popped from the pool for the
 * duration of one op. (op.h names it struct dbconn.) */
struct dbconn {
	mongoc_client_t *client;
	struct store *st;
	const char *database;
};

#define MDB_DUPLICATE_KEY 11000

/* The collection name in the store's database; free with
 * mongoc_collection_destroy. */
mongoc_collection_t *mdb_coll(struct dbconn *c, const char *name);

/* Records a driver error in op: network trouble, "not primary", a write
 * concern not satisfied -> EUNAVAIL (and the health monitor is told);
 * duplicate key -> ECONFLICT; anything else -> ERR. Returns the rc. */
int mdb_fail(struct dbconn *c, struct op *op, const bson_error_t *err);
/* 1 when err is a duplicate key error (11000). */
int mdb_is_duplicate(const bson_error_t *err);

/* Field readers: NULL / 0 when absent or null; strings copied into op's
 * arena. Numbers are read with bson_iter_as_int64 (a server may return
 * another numeric type than it was given). */
const char *mdb_str(struct op *op, const bson_t *doc, const char *key);
int64_t mdb_int(const bson_t *doc, const char *key);
/* Appends a string or null. */
void mdb_append_str(bson_t *b, const char *key, const char *s);

/* The next value of the named counter (1, 2, ...), by findAndModify $inc
 * with upsert. PARLEY_OK with *out, or an error recorded in op. */
int mdb_next_id(struct dbconn *c, struct op *op, const char *counter, int64_t *out);

/* findOne: PARLEY_OK with *doc (caller destroys), ENOTFOUND, or an error.
 * opts may be NULL (sort, projection). */
int mdb_find_one(struct dbconn *c, struct op *op, const char *coll, const bson_t *filter,
                 const bson_t *opts, bson_t **doc);
/* 1 when a document matches, 0 when none, < 0 an error (recorded). */
int mdb_exists(struct dbconn *c, struct op *op, const char *coll, const bson_t *filter);

/* findAndModify returning the new document: PARLEY_OK with *doc (caller
 * destroys), ENOTFOUND when nothing matched (and no upsert), or an error. */
int mdb_modify(struct dbconn *c, struct op *op, const char *coll, const bson_t *query,
               const bson_t *update, int upsert, bson_t **doc);

/* Inserts doc unless `unique` matches a document already: ECONFLICT then
 * (also on a duplicate key from the server's unique index). A write
 * concern error is EUNAVAIL (the write is not acknowledged). */
int mdb_insert_unique(struct dbconn *c, struct op *op, const char *coll, const bson_t *unique,
                      const bson_t *doc);
/* Inserts doc: PARLEY_OK, or an error; *err gets the driver's error. */
int mdb_insert(struct dbconn *c, struct op *op, const char *coll, const bson_t *doc,
               bson_error_t *err);

/* Runs fn on every document of a find (filter, opts) until it fails. */
int mdb_each(struct dbconn *c, struct op *op, const char *coll, const bson_t *filter,
             const bson_t *opts, int (*fn)(struct op *op, const bson_t *doc));

/* deleteOne / deleteMany: *n = documents removed. */
int mdb_delete(struct dbconn *c, struct op *op, const char *coll, const bson_t *filter, int many,
               int64_t *n);
/* updateOne / updateMany: *matched = documents matched (may be NULL). */
int mdb_update(struct dbconn *c, struct op *op, const char *coll, const bson_t *filter,
               const bson_t *update, int many, int upsert, int64_t *matched);

/* A time limit as compared in queries: clamped to +-(2^53 - 1). The test
 * server keeps larger integers as objects its query engine cannot compare
 * (INT64_MAX, "never expires", matched nothing); the stored field keeps
 * the exact value, a second field (`<name>_q`) this one. */
int64_t mdb_query_int(int64_t v);
/* "Now" as compared with such a field by $gt: clamped one lower, so "never
 * expires" (INT64_MAX) stays after any now. Two times both beyond 2^53 ms
 * (year 287,000) compare as "after"; session_get checks exactly. */
int64_t mdb_query_now(int64_t now);

/* ASCII lower case (SQLite's NOCASE) into the arena, for unique names. */
const char *mdb_fold(struct op *op, const char *s);

#endif
