/* parley.kv in SQLite: table kv (migration 2). incr reads the old value as
 * an integer (text that is not one counts as 0) in the write transaction,
 * so concurrent increments never lose a step. */
#include "kv.h"

#include <sqlite3.h>
#include <string.h>

#include "db.h"
#include "op.h"
#include "rows.h"

static const char SQL_GET[] = "SELECT value FROM kv WHERE owner = ? AND key = ?";
static const char SQL_SET[] = "INSERT INTO kv (owner, key, value) VALUES (?, ?, ?)"
                              " ON CONFLICT (owner, key) DO UPDATE SET value = excluded.value";
static const char SQL_DELETE[] = "DELETE FROM kv WHERE owner = ? AND key = ?";
static const char SQL_INCR[] =
    "INSERT INTO kv (owner, key, value) VALUES (?, ?, CAST(?3 AS TEXT))"
    " ON CONFLICT (owner, key) DO UPDATE SET value ="
    " CAST(CAST(value AS INTEGER) + ?3 AS TEXT) RETURNING CAST(value AS INTEGER)";

/* The owner's keys and bytes without the key about to be written. */
static const char SQL_USAGE[] =
    "SELECT count(*), coalesce(sum(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))), 0)"
    " FROM kv WHERE owner = ? AND key <> ?";
#define KV_INT_BYTES 20 /* the longest int64 as decimal text */

static sqlite3_stmt *bound(struct dbconn *c, struct op *op, const char *sql)
{
	sqlite3_stmt *st = rows_stmt(c, op, sql);
	if (st) {
		db_bind_text(st, 1, op->args.kv.owner);
		db_bind_text(st, 2, op->args.kv.key);
	}
	return st;
}

int kv_get(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = bound(c, op, SQL_GET);
	if (!st)
		return op->res.rc;
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		op->res.text = op_strdup(op, v ? v : "");
		if (!op->res.text)
			rc = op_fail(op, PARLEY_ENOMEM, "out of memory");
	}
	sqlite3_reset(st);
	return rc;
}

int kv_set(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = bound(c, op, SQL_SET);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 3, op->args.kv.value);
	return rows_done(c, op, st);
}

int kv_delete(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = bound(c, op, SQL_DELETE);
	if (!st)
		return op->res.rc;
	int rc = rows_done(c, op, st);
	op->res.value = sqlite3_changes(c->db);
	return rc;
}

int kv_incr(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = bound(c, op, SQL_INCR);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 3, op->args.kv.delta);
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		op->res.value = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

int kv_put_capped(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = bound(c, op, SQL_USAGE);
	if (!st)
		return op->res.rc;
	int rc = rows_one(c, op, st);
	int64_t keys = sqlite3_column_int64(st, 0) + 1;
	int64_t value_len = op->args.kv.value ? (int64_t)strlen(op->args.kv.value) : KV_INT_BYTES;
	int64_t bytes = sqlite3_column_int64(st, 1) + (int64_t)strlen(op->args.kv.key) + value_len;
	sqlite3_reset(st);
	if (rc != PARLEY_OK)
		return rc;
	if (keys > op->args.kv.max_keys)
		return op_fail(op, PARLEY_ETOOLARGE,
		               "the kv space is full: at most %lld keys (kv_max_keys)",
		               (long long)op->args.kv.max_keys);
	if (bytes > op->args.kv.max_bytes)
		return op_fail(op, PARLEY_ETOOLARGE,
		               "the kv space is full: at most %lld bytes of keys and values "
		               "(kv_max_bytes)",
		               (long long)op->args.kv.max_bytes);
	return op->args.kv.value ? kv_set(c, op) : kv_incr(c, op);
}
