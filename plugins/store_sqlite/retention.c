/* Retention: prune, leases, a room's own retention, edit history.
 *
 * prune works on a prefix of the room's seqs: the messages after the
 * room's pruned mark, in seq order, up to the first one still young
 * enough. So "every seq below before_seq is a tombstone" holds for the
 * pruned event, and the mark in rooms.pruned_seq is the job's progress: a
 * restart resumes from it. One batch is one write (the writer's
 * savepoint): a crash leaves the batch wholly done or not at all. */
#include "retention.h"

#include <sqlite3.h>

#include "db.h"
#include "op.h"
#include "rows.h"
#include "uploads.h"

static const char SQL_MARK[] = "SELECT pruned_seq FROM rooms WHERE id = ?";
static const char SQL_PREFIX[] =
    "SELECT id, seq, ts FROM messages WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?";
static const char SQL_TOMBSTONE[] =
    "UPDATE messages SET text = NULL, attachments_json = NULL, mentions_json = NULL,"
    " deleted = 1 WHERE id = ?";
static const char SQL_REACTIONS_DROP[] = "DELETE FROM reactions WHERE message = ?";
static const char SQL_EDITS_DROP[] = "DELETE FROM edits WHERE message = ?";
static const char SQL_MARK_SET[] = "UPDATE rooms SET pruned_seq = ? WHERE id = ?";
/* Taken when free, expired, or already the holder's. */
static const char SQL_LEASE_TAKE[] =
    "INSERT INTO leases (name, holder, expires_ts) VALUES (?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ts = excluded.expires_ts"
    " WHERE leases.holder = excluded.holder OR leases.expires_ts <= ?"
    " RETURNING expires_ts";
static const char SQL_LEASE_DROP[] = "DELETE FROM leases WHERE name = ? AND holder = ?";
static const char SQL_RETENTION_SET[] =
    "UPDATE rooms SET retention_ms = ? WHERE id = ? RETURNING retention_ms";
static const char SQL_RETENTION_GET[] = "SELECT retention_ms FROM rooms WHERE id = ?";
static const char SQL_MESSAGE[] = "SELECT " ROWS_MESSAGE " FROM messages WHERE id = ? AND room = ?";
static const char SQL_EDITS[] =
    "SELECT text, mentions_json, ts FROM edits WHERE message = ? ORDER BY id";

/* Reads the room's pruned mark; ENOTFOUND without the room. */
static int pruned_mark(struct dbconn *c, struct op *op, int64_t *mark)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_MARK);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.prune.room);
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		*mark = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

/* Appends a tombstone record (id, room, seq, ts) to the results. */
static int add_pruned(struct op *op, sqlite3_stmt *st)
{
	parley_message *m = op_add_message(op);
	if (!m)
		return PARLEY_ENOMEM;
	m->id = rows_id(op, 'm', st, 0);
	m->room_id = op_printf(op, "r_%lld", (long long)op->args.prune.room);
	m->seq = sqlite3_column_int64(st, 1);
	m->ts = sqlite3_column_int64(st, 2);
	m->deleted = 1;
	return m->id && m->room_id ? PARLEY_OK : PARLEY_ENOMEM;
}

/* Collects the due prefix: up to limit records (and, when count is set,
 * counts every due message). */
static int due_prefix(struct dbconn *c, struct op *op, int64_t mark, int64_t *count)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_PREFIX);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.prune.room);
	db_bind_int(st, 2, mark);
	db_bind_int(st, 3, count ? -1 : op->args.prune.limit + 1);
	int src, rc = PARLEY_OK;
	int64_t n = 0;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_int64(st, 2) >= op->args.prune.before_ts)
			break;
		if (n == op->args.prune.limit) {
			op->res.more = 1;
			if (!count)
				break;
		}
		if (n < op->args.prune.limit && (rc = add_pruned(op, st)) < 0)
			break;
		n++;
	}
	sqlite3_reset(st);
	if (rc < 0)
		return op_fail(op, rc, "prune: out of memory");
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		return rows_error(c, op, src);
	if (count)
		*count = n;
	return PARLEY_OK;
}

/* Runs one statement binding a message key. */
static int by_message(struct dbconn *c, struct op *op, const char *sql, int64_t message)
{
	sqlite3_stmt *st = rows_stmt(c, op, sql);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, message);
	return rows_done(c, op, st);
}

int retention_prune(struct dbconn *c, struct op *op)
{
	int64_t mark = 0;
	int rc = pruned_mark(c, op, &mark);
	if (rc < 0)
		return rc;
	if (op->args.prune.dry_run) {
		int64_t count = 0;
		rc = due_prefix(c, op, mark, &count);
		op->res.value = count;
		return rc;
	}
	if ((rc = due_prefix(c, op, mark, NULL)) < 0)
		return rc;
	for (size_t i = 0; i < op->n_msgs; i++) {
		int64_t key = 0;
		rows_id_parse(op->msgs[i].id, 'm', &key);
		if ((rc = by_message(c, op, SQL_TOMBSTONE, key)) < 0 ||
		    (rc = by_message(c, op, SQL_REACTIONS_DROP, key)) < 0 ||
		    (rc = by_message(c, op, SQL_EDITS_DROP, key)) < 0 ||
		    (rc = uploads_detach_message_rows(c, op, key)) < 0)
			return rc;
		mark = op->msgs[i].seq;
	}
	op->res.value = mark;
	if (op->n_msgs == 0)
		return PARLEY_OK;
	sqlite3_stmt *st = rows_stmt(c, op, SQL_MARK_SET);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, mark);
	db_bind_int(st, 2, op->args.prune.room);
	return rows_done(c, op, st);
}

int retention_lease(struct dbconn *c, struct op *op)
{
	const char *sql = op->args.lease.ttl_ms > 0 ? SQL_LEASE_TAKE : SQL_LEASE_DROP;
	sqlite3_stmt *st = rows_stmt(c, op, sql);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, op->args.lease.name);
	db_bind_text(st, 2, op->args.lease.holder);
	if (op->args.lease.ttl_ms <= 0)
		return rows_done(c, op, st);
	db_bind_int(st, 3, op->args.lease.now_ms + op->args.lease.ttl_ms);
	db_bind_int(st, 4, op->args.lease.now_ms);
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		op->res.value = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc == PARLEY_ENOTFOUND)
		return op_fail(op, PARLEY_ECONFLICT, "lease %s: held by another",
		               op->args.lease.name);
	return rc;
}

static int retention_value(struct dbconn *c, struct op *op, const char *sql, int set)
{
	sqlite3_stmt *st = rows_stmt(c, op, sql);
	if (!st)
		return op->res.rc;
	if (set) {
		db_bind_int(st, 1, op->args.retention.ms);
		db_bind_int(st, 2, op->args.retention.room);
	} else {
		db_bind_int(st, 1, op->args.retention.room);
	}
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		op->res.value = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

int retention_room_set(struct dbconn *c, struct op *op)
{
	return retention_value(c, op, SQL_RETENTION_SET, 1);
}

int retention_room_get(struct dbconn *c, struct op *op)
{
	return retention_value(c, op, SQL_RETENTION_GET, 0);
}

int retention_edits_list(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_MESSAGE);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.message.message);
	db_bind_int(st, 2, op->args.message.room);
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		rc = rows_message(op, st);
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	/* The current version goes last; the earlier ones share its ids. */
	parley_message current = op->msgs[0];
	current.ts = current.edited_ts ? current.edited_ts : current.ts;
	op->n_msgs = 0;
	if (!(st = rows_stmt(c, op, SQL_EDITS)))
		return op->res.rc;
	db_bind_int(st, 1, op->args.message.message);
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		parley_message *m = op_add_message(op);
		if (!m) {
			sqlite3_reset(st);
			return op_fail(op, PARLEY_ENOMEM, "edits_list: out of memory");
		}
		*m = current;
		m->text = op_strdup(op, (const char *)sqlite3_column_text(st, 0));
		m->mentions_json = op_strdup(op, (const char *)sqlite3_column_text(st, 1));
		m->ts = sqlite3_column_int64(st, 2);
		m->deleted = 0;
		m->edited_ts = 0;
		m->attachments_json = NULL;
	}
	sqlite3_reset(st);
	if (src != SQLITE_DONE)
		return rows_error(c, op, src);
	parley_message *last = op_add_message(op);
	if (!last)
		return op_fail(op, PARLEY_ENOMEM, "edits_list: out of memory");
	*last = current;
	return PARLEY_OK;
}
