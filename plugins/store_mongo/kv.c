/* parley.kv in a collection keyed by (owner, key), values opaque text.
 * incr reads the old value as an integer (text that is not one counts as
 * 0, as SQLite's CAST) and writes the sum only if the value is still the
 * one it read (compare and set), retrying otherwise: concurrent increments
 * from several nodes never lose a step. */
#include "kv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INCR_ATTEMPTS 100

static const char KV[] = "kv";

static bson_t *key_of(struct op *op)
{
	return BCON_NEW("owner", BCON_UTF8(op->args.kv.owner), "key", BCON_UTF8(op->args.kv.key));
}

int kv_get(struct dbconn *c, struct op *op)
{
	bson_t *q = key_of(op);
	bson_t *doc = NULL;
	int rc = mdb_find_one(c, op, KV, q, NULL, &doc);
	bson_destroy(q);
	if (rc < 0)
		return rc;
	const char *v = mdb_str(op, doc, "value");
	op->res.text = v ? v : op_strdup(op, "");
	bson_destroy(doc);
	return op->res.text ? PARLEY_OK : op_fail(op, PARLEY_ENOMEM, "out of memory");
}

int kv_set(struct dbconn *c, struct op *op)
{
	bson_t *q = key_of(op);
	bson_t *u = BCON_NEW("$set", "{", "value", BCON_UTF8(op->args.kv.value), "}");
	int rc = mdb_update(c, op, KV, q, u, 0, 1, NULL);
	if (rc == PARLEY_ECONFLICT) /* two first upserts racing */
		rc = mdb_update(c, op, KV, q, u, 0, 1, NULL);
	bson_destroy(q);
	bson_destroy(u);
	return rc;
}

int kv_delete(struct dbconn *c, struct op *op)
{
	bson_t *q = key_of(op);
	int rc = mdb_delete(c, op, KV, q, 0, &op->res.value);
	bson_destroy(q);
	return rc;
}

int kv_incr(struct dbconn *c, struct op *op)
{
	bson_t *q = key_of(op);
	int rc = PARLEY_ERR;
	for (int i = 0; i < INCR_ATTEMPTS; i++) {
		bson_t *doc = NULL;
		char next[32];
		rc = mdb_find_one(c, op, KV, q, NULL, &doc);
		if (rc == PARLEY_ENOTFOUND) {
			op->res.rc = PARLEY_OK;
			op->error[0] = '\0';
			snprintf(next, sizeof next, "%lld", (long long)op->args.kv.delta);
			bson_t *ins =
			    BCON_NEW("owner", BCON_UTF8(op->args.kv.owner), "key",
			             BCON_UTF8(op->args.kv.key), "value", BCON_UTF8(next));
			/* A concurrent first increment wins the insert: read again. */
			rc = mdb_insert_unique(c, op, KV, q, ins);
			bson_destroy(ins);
			if (rc == PARLEY_OK)
				op->res.value = op->args.kv.delta;
			if (rc != PARLEY_ECONFLICT)
				break;
			continue;
		}
		if (rc < 0)
			break;
		const char *old = mdb_str(op, doc, "value");
		bson_destroy(doc);
		int64_t sum = (old ? strtoll(old, NULL, 10) : 0) + op->args.kv.delta;
		snprintf(next, sizeof next, "%lld", (long long)sum);
		bson_t *cas =
		    BCON_NEW("owner", BCON_UTF8(op->args.kv.owner), "key",
		             BCON_UTF8(op->args.kv.key), "value", BCON_UTF8(old ? old : ""));
		bson_t *u = BCON_NEW("$set", "{", "value", BCON_UTF8(next), "}");
		int64_t matched = 0;
		rc = mdb_update(c, op, KV, cas, u, 0, 0, &matched);
		bson_destroy(cas);
		bson_destroy(u);
		if (rc < 0)
			break;
		if (matched == 1) {
			op->res.value = sum;
			break;
		}
		rc = op_fail(op, PARLEY_EUNAVAIL, "kv_incr: too much contention on %s",
		             op->args.kv.key);
	}
	if (rc == PARLEY_ECONFLICT)
		rc = op_fail(op, PARLEY_EUNAVAIL, "kv_incr: too much contention on %s",
		             op->args.kv.key);
	bson_destroy(q);
	return rc;
}

#define KV_INT_BYTES 20 /* the longest int64 as decimal text, as store_sqlite */

/* The owner's keys and bytes of keys and values, without key. */
static int usage(struct dbconn *c, struct op *op, int64_t *keys, int64_t *bytes)
{
	mongoc_collection_t *col = mdb_coll(c, KV);
	bson_t *q = BCON_NEW("owner", BCON_UTF8(op->args.kv.owner), "key", "{", "$ne",
	                     BCON_UTF8(op->args.kv.key), "}");
	bson_t *opts =
	    BCON_NEW("projection", "{", "key", BCON_INT32(1), "value", BCON_INT32(1), "}");
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(col, q, opts, NULL);
	const bson_t *doc;
	*keys = *bytes = 0;
	while (mongoc_cursor_next(cur, &doc)) {
		static const char *const fields[] = {"key", "value"};
		(*keys)++;
		for (size_t i = 0; i < 2; i++) {
			bson_iter_t it;
			uint32_t len = 0;
			if (bson_iter_init_find(&it, doc, fields[i]) && BSON_ITER_HOLDS_UTF8(&it)) {
				bson_iter_utf8(&it, &len);
				*bytes += len;
			}
		}
	}
	bson_error_t err;
	int rc = mongoc_cursor_error(cur, &err) ? mdb_fail(c, op, &err) : PARLEY_OK;
	mongoc_cursor_destroy(cur);
	bson_destroy(q);
	bson_destroy(opts);
	mongoc_collection_destroy(col);
	return rc;
}

/* Capped writes of one owner run on the owner's lane (store_mongo.c), one
 * at a time on this node, so the count and the write cannot interleave
 * with another capped write of that owner here. Two nodes writing one
 * owner's space at once can each pass the check (no transaction). */
int kv_put_capped(struct dbconn *c, struct op *op)
{
	int64_t keys, bytes;
	int rc = usage(c, op, &keys, &bytes);
	if (rc < 0)
		return rc;
	const char *value = op->args.kv.value;
	keys += 1;
	bytes += (int64_t)strlen(op->args.kv.key) + (value ? (int64_t)strlen(value) : KV_INT_BYTES);
	if (keys > op->args.kv.max_keys)
		return op_fail(op, PARLEY_ETOOLARGE,
		               "the kv space is full: at most %lld keys (kv_max_keys)",
		               (long long)op->args.kv.max_keys);
	if (bytes > op->args.kv.max_bytes)
		return op_fail(op, PARLEY_ETOOLARGE,
		               "the kv space is full: at most %lld bytes of keys and values "
		               "(kv_max_bytes)",
		               (long long)op->args.kv.max_bytes);
	return value ? kv_set(c, op) : kv_incr(c, op);
}
