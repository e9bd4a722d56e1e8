/* Messages: append with seq and client_id dedup, history pages, edits,
 * tombstones, reactions.
 *
 * seq comes from rooms.last_seq, bumped with UPDATE ... RETURNING inside
 * the writer's transaction: every writer (this server, the admin CLI, a
 * second process) serializes on SQLite's write lock, so seq stays strictly
 * +1 per room whoever writes. */
#include "messages.h"

#include <sqlite3.h>
#include <string.h>

#include "db.h"
#include "op.h"
#include "pins.h"
#include "rows.h"
#include "uploads.h"

static const char SQL_BY_CLIENT[] =
    "SELECT " ROWS_MESSAGE " FROM messages WHERE user = ? AND client_id = ?";
static const char SQL_NEXT_SEQ[] =
    "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq";
static const char SQL_INSERT[] =
    "INSERT INTO messages (room, seq, user, text, ts, client_id, reply_to, mentions_json,"
    " attachments_json, thread, also_room) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_ROOM_EXISTS[] = "SELECT 1 FROM rooms WHERE id = ?";
static const char SQL_BEFORE[] =
    "SELECT " ROWS_MESSAGE " FROM messages WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?";
static const char SQL_AFTER[] =
    "SELECT " ROWS_MESSAGE " FROM messages WHERE room = ? AND seq > ? ORDER BY seq ASC LIMIT ?";
static const char SQL_NEWEST[] =
    "SELECT " ROWS_MESSAGE " FROM messages WHERE room = ? ORDER BY seq DESC LIMIT ?";
static const char SQL_GET[] = "SELECT " ROWS_MESSAGE " FROM messages WHERE id = ? AND room = ?";
static const char SQL_GET_LIVE[] =
    "SELECT " ROWS_MESSAGE " FROM messages WHERE id = ? AND room = ? AND deleted = 0";
static const char SQL_EDIT[] = "UPDATE messages SET text = ?, mentions_json = ?, edited_ts = ?"
                               " WHERE id = ? AND room = ? AND deleted = 0 RETURNING " ROWS_MESSAGE;
/* The version an edit replaces, kept in the same transaction. */
static const char SQL_EDIT_KEEP[] =
    "INSERT INTO edits (message, text, mentions_json, ts) SELECT id, text, mentions_json,"
    " CASE WHEN edited_ts > 0 THEN edited_ts ELSE ts END FROM messages"
    " WHERE id = ? AND room = ? AND deleted = 0";
static const char SQL_DELETE[] =
    "UPDATE messages SET text = NULL, attachments_json = NULL, mentions_json = NULL,"
    " deleted = 1 WHERE id = ? AND room = ? RETURNING " ROWS_MESSAGE;
static const char SQL_REACTIONS_DROP[] = "DELETE FROM reactions WHERE message = ?";
static const char SQL_EDITS_DROP[] = "DELETE FROM edits WHERE message = ?";
static const char SQL_REACT_ON[] =
    "INSERT OR IGNORE INTO reactions (message, user, emoji) VALUES (?, ?, ?)";
static const char SQL_REACT_OFF[] =
    "DELETE FROM reactions WHERE message = ? AND user = ? AND emoji = ?";

/* Steps a one-row query and appends the message; ENOTFOUND without a row. */
static int one_message(struct dbconn *c, struct op *op, sqlite3_stmt *st)
{
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		rc = rows_message(op, st);
	sqlite3_reset(st);
	return rc;
}

int messages_append(struct dbconn *c, struct op *op)
{
	const parley_message *m = &op->msg;
	sqlite3_stmt *st;
	if (m->client_id) {
		if (!(st = rows_stmt(c, op, SQL_BY_CLIENT)))
			return op->res.rc;
		db_bind_int(st, 1, op->args.append.user);
		db_bind_text(st, 2, m->client_id);
		int rc = one_message(c, op, st);
		if (rc == PARLEY_OK) {
			op->res.duplicate = 1;
			return rows_reactions(c, op, 0);
		}
		if (rc != PARLEY_ENOTFOUND)
			return rc;
		op->error[0] = '\0';
	}
	if (!(st = rows_stmt(c, op, SQL_NEXT_SEQ)))
		return op->res.rc;
	db_bind_int(st, 1, op->args.append.room);
	int rc, src = sqlite3_step(st);
	int64_t seq = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (src == SQLITE_DONE)
		return op_fail(op, PARLEY_ENOTFOUND, "append: no room %s", m->room_id);
	if (src != SQLITE_ROW)
		return rows_error(c, op, src);

	if (!(st = rows_stmt(c, op, SQL_INSERT)))
		return op->res.rc;
	db_bind_int(st, 1, op->args.append.room);
	db_bind_int(st, 2, seq);
	db_bind_int(st, 3, op->args.append.user);
	db_bind_text(st, 4, m->text);
	db_bind_int(st, 5, m->ts);
	db_bind_text(st, 6, m->client_id);
	db_bind_text(st, 7, m->reply_to);
	db_bind_text(st, 8, m->mentions_json);
	db_bind_text(st, 9, m->attachments_json);
	if (op->args.append.thread > 0) {
		db_bind_int(st, 10, op->args.append.thread);
		db_bind_int(st, 11, op->args.append.also_room);
	} else {
		sqlite3_bind_null(st, 10);
		db_bind_int(st, 11, 0);
	}
	if ((rc = rows_done(c, op, st)) < 0)
		return rc;

	parley_message *out = op_add_message(op);
	if (!out)
		return op_fail(op, PARLEY_ENOMEM, "append: out of memory");
	*out = *m;
	out->id = op_printf(op, "m_%lld", (long long)sqlite3_last_insert_rowid(c->db));
	out->seq = seq;
	out->reactions_json = NULL;
	out->edited_ts = 0;
	out->deleted = 0;
	parley_thread_info *t = out->id ? op_add_thread(op, out->id) : NULL;
	if (!t)
		return op_fail(op, PARLEY_ENOMEM, "append: out of memory");
	if (op->args.append.thread > 0) {
		t->thread_id = op_printf(op, "m_%lld", (long long)op->args.append.thread);
		t->also_room = op->args.append.also_room;
	}
	return PARLEY_OK;
}

int messages_history(struct dbconn *c, struct op *op)
{
	int64_t room = op->args.history.room, before = op->args.history.before,
	        after = op->args.history.after;
	int limit = op->args.history.limit;
	sqlite3_stmt *st = rows_stmt(c, op, SQL_ROOM_EXISTS);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, room);
	int rc = rows_one(c, op, st);
	sqlite3_reset(st);
	if (rc < 0)
		return rc;

	/* One row past the limit tells whether there is more. */
	if (before > 0) {
		if (!(st = rows_stmt(c, op, SQL_BEFORE)))
			return op->res.rc;
		db_bind_int(st, 1, room);
		db_bind_int(st, 2, before);
		db_bind_int(st, 3, limit + 1);
	} else if (after >= 0) {
		if (!(st = rows_stmt(c, op, SQL_AFTER)))
			return op->res.rc;
		db_bind_int(st, 1, room);
		db_bind_int(st, 2, after);
		db_bind_int(st, 3, limit + 1);
	} else {
		if (!(st = rows_stmt(c, op, SQL_NEWEST)))
			return op->res.rc;
		db_bind_int(st, 1, room);
		db_bind_int(st, 2, limit + 1);
	}
	int src;
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		if (op->n_msgs == (size_t)limit) {
			op->res.more = 1;
			break;
		}
		if ((rc = rows_message(op, st)) < 0) {
			sqlite3_reset(st);
			return op_fail(op, rc, "history: out of memory");
		}
	}
	sqlite3_reset(st);
	if (src != SQLITE_ROW && src != SQLITE_DONE)
		return rows_error(c, op, src);
	if (before <= 0 && after < 0) {
		/* The newest page is fetched newest first, returned oldest first. */
		for (size_t i = 0, j = op->n_msgs; i + 1 < j; i++, j--) {
			parley_message t = op->msgs[i];
			op->msgs[i] = op->msgs[j - 1];
			op->msgs[j - 1] = t;
		}
	}
	return rows_reactions(c, op, 0);
}

int messages_get(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_GET);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.message.message);
	db_bind_int(st, 2, op->args.message.room);
	int rc = one_message(c, op, st);
	return rc < 0 ? rc : rows_reactions(c, op, 0);
}

int messages_edit(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_EDIT_KEEP);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.edit.message);
	db_bind_int(st, 2, op->args.edit.room);
	int krc = rows_done(c, op, st);
	if (krc < 0)
		return krc;
	if (!(st = rows_stmt(c, op, SQL_EDIT)))
		return op->res.rc;
	db_bind_text(st, 1, op->args.edit.text);
	db_bind_text(st, 2, op->args.edit.mentions_json);
	db_bind_int(st, 3, op->args.edit.edited_ts);
	db_bind_int(st, 4, op->args.edit.message);
	db_bind_int(st, 5, op->args.edit.room);
	int rc = one_message(c, op, st);
	return rc < 0 ? rc : rows_reactions(c, op, 0);
}

int messages_delete(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_DELETE);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.message.message);
	db_bind_int(st, 2, op->args.message.room);
	int rc = one_message(c, op, st);
	if (rc < 0)
		return rc;
	/* A tombstone carries no content: its reactions and earlier versions
	 * go too. */
	if (!(st = rows_stmt(c, op, SQL_REACTIONS_DROP)))
		return op->res.rc;
	db_bind_int(st, 1, op->args.message.message);
	if ((rc = rows_done(c, op, st)) < 0)
		return rc;
	if (!(st = rows_stmt(c, op, SQL_EDITS_DROP)))
		return op->res.rc;
	db_bind_int(st, 1, op->args.message.message);
	if ((rc = rows_done(c, op, st)) < 0)
		return rc;
	/* A deleted message is no longer pinned. */
	if ((rc = pins_drop_message(c, op, op->args.message.message)) < 0)
		return rc;
	/* Its files are detached: the cleanup job removes them later. */
	return uploads_detach_message(c, op, op->args.message.message);
}

int messages_react(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_GET_LIVE);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.react.message);
	db_bind_int(st, 2, op->args.react.room);
	int rc = one_message(c, op, st);
	if (rc < 0)
		return rc;
	if (!(st = rows_stmt(c, op, op->args.react.on ? SQL_REACT_ON : SQL_REACT_OFF)))
		return op->res.rc;
	db_bind_int(st, 1, op->args.react.message);
	db_bind_int(st, 2, op->args.react.user);
	db_bind_text(st, 3, op->args.react.emoji);
	if ((rc = rows_done(c, op, st)) < 0)
		return rc;
	return rows_reactions(c, op, 0);
}
