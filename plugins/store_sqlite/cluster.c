/* kv_add and counter_add in SQLite. Each is one statement (or a sweep and
 * one statement) in the writer's transaction, so two processes on one
 * file cannot both win a kv_add or lose a counter step. */
#include "cluster.h"

#include <sqlite3.h>

#include "db.h"
#include "op.h"
#include "rows.h"

/* The no-op update makes RETURNING report the row already there. */
static const char SQL_KV_ADD[] =
    "INSERT INTO kv (owner, key, value) VALUES (?, ?, ?)"
    " ON CONFLICT (owner, key) DO UPDATE SET value = kv.value RETURNING value";
static const char SQL_SWEEP[] = "DELETE FROM counters WHERE expires_ts <= ?";
static const char SQL_ADD[] =
    "INSERT INTO counters (name, count, expires_ts) VALUES (?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET count = count + excluded.count RETURNING count";
static const char SQL_READ[] = "SELECT count FROM counters WHERE name = ? AND expires_ts > ?";
static const char SQL_DROP[] = "DELETE FROM counters WHERE name = ?";

int cluster_kv_add(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_KV_ADD);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, op->args.kv.owner);
	db_bind_text(st, 2, op->args.kv.key);
	db_bind_text(st, 3, op->args.kv.value);
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

static int count_query(struct dbconn *c, struct op *op, sqlite3_stmt *st)
{
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		op->res.value = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == PARLEY_ENOTFOUND) { /* absent or expired: 0 */
		op->res.rc = PARLEY_OK;
		op->error[0] = '\0';
		op->res.value = 0;
		rc = PARLEY_OK;
	}
	return rc;
}

int cluster_counter_add(struct dbconn *c, struct op *op)
{
	const char *name = op->args.counter.name;
	int64_t now = op->args.counter.now_ms;
	sqlite3_stmt *st;

	if (op->args.counter.window_ms == 0) {
		if (!(st = rows_stmt(c, op, SQL_DROP)))
			return op->res.rc;
		db_bind_text(st, 1, name);
		op->res.value = 0;
		return rows_done(c, op, st);
	}
	if (op->args.counter.delta == 0) {
		if (!(st = rows_stmt(c, op, SQL_READ)))
			return op->res.rc;
		db_bind_text(st, 1, name);
		db_bind_int(st, 2, now);
		return count_query(c, op, st);
	}
	/* Expired counters go first: the add below then begins a new window. */
	if (!(st = rows_stmt(c, op, SQL_SWEEP)))
		return op->res.rc;
	db_bind_int(st, 1, now);
	int rc = rows_done(c, op, st);
	if (rc != PARLEY_OK)
		return rc;
	if (!(st = rows_stmt(c, op, SQL_ADD)))
		return op->res.rc;
	db_bind_text(st, 1, name);
	db_bind_int(st, 2, op->args.counter.delta);
	db_bind_int(st, 3, now + op->args.counter.window_ms);
	return count_query(c, op, st);
}
