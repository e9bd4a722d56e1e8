/* Threads: a reply is a message of the room (it takes the room's next seq
 * in messages_append) whose `thread` names its root. The root's `replies`
 * and `last_reply_ts`, and the follows of the reply's author and the
 * root's author, move in the reply's own transaction, so a crash never
 * leaves a count that disagrees with the replies. */
#include "threads.h"

#include <sqlite3.h>

#include "db.h"
#include "messages.h"
#include "op.h"
#include "rows.h"

static const char SQL_ROOT[] = "SELECT room, thread, deleted, user FROM messages WHERE id = ?";
static const char SQL_ROOT_BUMP[] =
    "UPDATE messages SET replies = replies + 1, last_reply_ts = max(last_reply_ts, ?)"
    " WHERE id = ? RETURNING " ROWS_MESSAGE;
/* Writing in a thread means following it, and having read it up to there. */
static const char SQL_FOLLOW_READ[] =
    "INSERT INTO thread_follows (root, user, read_seq) VALUES (?, ?, ?)"
    " ON CONFLICT (root, user) DO UPDATE SET read_seq = max(read_seq, excluded.read_seq)";
static const char SQL_FOLLOW[] =
    "INSERT OR IGNORE INTO thread_follows (root, user, read_seq) VALUES (?, ?, 0)";
static const char SQL_UNFOLLOW[] = "DELETE FROM thread_follows WHERE root = ? AND user = ?";
static const char SQL_USER_EXISTS[] = "SELECT 1 FROM users WHERE id = ?";
static const char SQL_READ[] =
    "UPDATE thread_follows SET read_seq = max(read_seq, ?) WHERE root = ? AND user = ?"
    " RETURNING read_seq";
static const char SQL_BEFORE[] = "SELECT " ROWS_MESSAGE " FROM messages WHERE thread = ?"
                                 " AND seq < ? ORDER BY seq DESC LIMIT ?";
static const char SQL_AFTER[] = "SELECT " ROWS_MESSAGE " FROM messages WHERE thread = ?"
                                " AND seq > ? ORDER BY seq ASC LIMIT ?";
static const char SQL_NEWEST[] =
    "SELECT " ROWS_MESSAGE " FROM messages WHERE thread = ? ORDER BY seq DESC LIMIT ?";
/* The followed roots in the given rooms, latest reply first; ?3 the root
 * to continue after (0: from the start). unread: others' live replies
 * above the follower's mark. */
static const char SQL_LIST[] =
    "SELECT " ROWS_MESSAGE ", fr, (SELECT count(*) FROM messages r WHERE r.thread = t.id"
    "  AND r.seq > t.fr AND r.user <> t.fu AND r.deleted = 0)"
    " FROM (SELECT m.*, f.read_seq AS fr, f.user AS fu FROM thread_follows f"
    "  JOIN messages m ON m.id = f.root WHERE f.user = ?1"
    "  AND m.room IN (SELECT CAST(substr(value, 3) AS INTEGER) FROM json_each(?2))"
    "  AND (?3 = 0 OR (m.last_reply_ts, m.id) <"
    "   (SELECT last_reply_ts, id FROM messages WHERE id = ?3))) AS t"
    " ORDER BY last_reply_ts DESC, id DESC LIMIT ?4";

/* What the root row says about a thread in a room: ENOTFOUND when absent
 * or of another room (or deleted, when live), EINVAL when it is a reply.
 * *author: the root's author. */
static int root_check(struct dbconn *c, struct op *op, int64_t room, int64_t root, int live,
                      int64_t *author)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_ROOT);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, root);
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK) {
		if (sqlite3_column_int64(st, 0) != room || (live && sqlite3_column_int(st, 2) != 0))
			rc = op_fail(op, PARLEY_ENOTFOUND, "thread: no message m_%lld in the room",
			             (long long)root);
		else if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			rc = op_fail(op, PARLEY_EINVAL, "thread: m_%lld is a reply itself",
			             (long long)root);
		if (author)
			*author = sqlite3_column_int64(st, 3);
	} else if (rc == PARLEY_ENOTFOUND) {
		op_fail(op, rc, "thread: no message m_%lld", (long long)root);
	}
	sqlite3_reset(st);
	return rc;
}

static int follow_row(struct dbconn *c, struct op *op, const char *sql, int64_t root, int64_t user,
                      int64_t seq)
{
	sqlite3_stmt *st = rows_stmt(c, op, sql);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, root);
	db_bind_int(st, 2, user);
	if (sql == SQL_FOLLOW_READ)
		db_bind_int(st, 3, seq);
	return rows_done(c, op, st);
}

int threads_append(struct dbconn *c, struct op *op)
{
	int64_t root = op->args.append.thread, root_author = 0;
	int rc = root_check(c, op, op->args.append.room, root, 1, &root_author);
	if (rc < 0)
		return rc;
	if ((rc = messages_append(c, op)) < 0 || op->res.duplicate)
		return rc;
	const parley_message *reply = &op->msgs[0];
	sqlite3_stmt *st = rows_stmt(c, op, SQL_ROOT_BUMP);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, reply->ts);
	db_bind_int(st, 2, root);
	if ((rc = rows_one(c, op, st)) == PARLEY_OK)
		rc = rows_message(op, st);
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	/* op->msgs may have moved: read the reply's seq again. */
	if ((rc = follow_row(c, op, SQL_FOLLOW_READ, root, op->args.append.user, op->msgs[0].seq)) <
	        0 ||
	    (rc = follow_row(c, op, SQL_FOLLOW, root, root_author, 0)) < 0)
		return rc;
	return rows_reactions(c, op, 1);
}

int threads_history(struct dbconn *c, struct op *op)
{
	int64_t root = op->args.thread.root, before = op->args.thread.before,
	        after = op->args.thread.after;
	int limit = op->args.thread.limit;
	int rc = root_check(c, op, op->args.thread.room, root, 0, NULL);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st;
	const char *sql = before > 0 ? SQL_BEFORE : after >= 0 ? SQL_AFTER : SQL_NEWEST;
	if (!(st = rows_stmt(c, op, sql)))
		return op->res.rc;
	db_bind_int(st, 1, root);
	if (sql == SQL_NEWEST) {
		db_bind_int(st, 2, limit + 1);
	} else {
		db_bind_int(st, 2, before > 0 ? before : after);
		db_bind_int(st, 3, limit + 1);
	}
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (op->n_msgs == (size_t)limit) {
			op->res.more = 1;
			break;
		}
		if ((rc = rows_message(op, st)) < 0) {
			sqlite3_reset(st);
			return op_fail(op, rc, "thread_history: out of memory");
		}
	}
	sqlite3_reset(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		return rows_error(c, op, src);
	if (sql == SQL_NEWEST) {
		/* Fetched newest first, returned oldest first, as history. */
		for (size_t i = 0, j = op->n_msgs; i + 1 < j; i++, j--) {
			parley_message t = op->msgs[i];
			op->msgs[i] = op->msgs[j - 1];
			op->msgs[j - 1] = t;
		}
	}
	return rows_reactions(c, op, 0);
}

int threads_follow(struct dbconn *c, struct op *op)
{
	int rc = root_check(c, op, op->args.thread.room, op->args.thread.root, 0, NULL);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = rows_stmt(c, op, SQL_USER_EXISTS);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.thread.user);
	rc = rows_one(c, op, st);
	sqlite3_reset(st);
	if (rc < 0)
		return rc == PARLEY_ENOTFOUND ? op_fail(op, rc, "thread_follow: no such user") : rc;
	if ((rc = follow_row(c, op, op->args.thread.on ? SQL_FOLLOW : SQL_UNFOLLOW,
	                     op->args.thread.root, op->args.thread.user, 0)) < 0)
		return rc;
	op->res.value = sqlite3_changes(c->db);
	return PARLEY_OK;
}

int threads_read(struct dbconn *c, struct op *op)
{
	int rc = root_check(c, op, op->args.thread.room, op->args.thread.root, 0, NULL);
	if (rc < 0)
		return rc;
	sqlite3_stmt *st = rows_stmt(c, op, SQL_READ);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.thread.seq);
	db_bind_int(st, 2, op->args.thread.root);
	db_bind_int(st, 3, op->args.thread.user);
	if ((rc = rows_one(c, op, st)) == PARLEY_OK)
		op->res.value = sqlite3_column_int64(st, 0);
	else if (rc == PARLEY_ENOTFOUND)
		op_fail(op, rc, "thread_read: not following the thread");
	sqlite3_reset(st);
	return rc;
}

int threads_list(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_LIST);
	if (!st)
		return op->res.rc;
	int limit = op->args.thread.limit;
	db_bind_int(st, 1, op->args.thread.user);
	db_bind_text(st, 2, op->args.thread.rooms_json);
	db_bind_int(st, 3, op->args.thread.root);
	db_bind_int(st, 4, limit + 1);
	int rc = PARLEY_OK, src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (op->n_msgs == (size_t)limit) {
			op->res.more = 1;
			break;
		}
		if ((rc = rows_message(op, st)) < 0)
			break;
		parley_thread_info *t = &op->thr[op->n_thr - 1].info;
		t->following = 1;
		t->read_seq = sqlite3_column_int64(st, 16);
		t->unread = sqlite3_column_int64(st, 17);
	}
	sqlite3_reset(st);
	if (rc < 0)
		return op_fail(op, rc, "threads_list: out of memory");
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		return rows_error(c, op, src);
	return rows_reactions(c, op, 0);
}
