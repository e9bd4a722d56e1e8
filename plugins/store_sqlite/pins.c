/* Pinned messages. A pin names its message; the message's room is kept in
 * the row too so a room's pins are one indexed range. */
#include "pins.h"

#include <sqlite3.h>
#include <string.h>

#include "db.h"
#include "op.h"
#include "rows.h"

static const char SQL_LIVE[] = "SELECT 1 FROM messages WHERE id = ? AND room = ? AND deleted = 0";
static const char SQL_PIN[] =
    "INSERT OR IGNORE INTO pins (message, room, user, ts) VALUES (?, ?, ?, ?)";
static const char SQL_UNPIN[] = "DELETE FROM pins WHERE message = ? AND room = ?";
static const char SQL_DROP[] = "DELETE FROM pins WHERE message = ?";
/* Qualified names: ROWS_MESSAGE's columns are the messages table's. */
static const char SQL_ROOM[] = "SELECT " ROWS_MESSAGE " FROM messages WHERE id IN"
                               " (SELECT message FROM pins WHERE room = ?) AND deleted = 0"
                               " ORDER BY (SELECT ts FROM pins WHERE pins.message = messages.id)"
                               " DESC, id DESC";
static const char SQL_ALL[] = "SELECT " ROWS_MESSAGE " FROM messages WHERE id IN"
                              " (SELECT message FROM pins) AND deleted = 0"
                              " ORDER BY (SELECT ts FROM pins WHERE pins.message = messages.id)"
                              " DESC, id DESC";

int pins_set(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_LIVE);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.pin.message);
	db_bind_int(st, 2, op->args.pin.room);
	int rc = rows_one(c, op, st);
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	if (!(st = rows_stmt(c, op, op->args.pin.on ? SQL_PIN : SQL_UNPIN)))
		return op->res.rc;
	db_bind_int(st, 1, op->args.pin.message);
	db_bind_int(st, 2, op->args.pin.room);
	if (op->args.pin.on) {
		if (op->args.pin.user > 0)
			db_bind_int(st, 3, op->args.pin.user);
		db_bind_int(st, 4, op->args.pin.ts);
	}
	if ((rc = rows_done(c, op, st)) < 0)
		return rc;
	op->res.value = sqlite3_changes(c->db);
	return PARLEY_OK;
}

int pins_list(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, op->args.pin.room > 0 ? SQL_ROOM : SQL_ALL);
	if (!st)
		return op->res.rc;
	if (op->args.pin.room > 0)
		db_bind_int(st, 1, op->args.pin.room);
	int rc = rows_all(c, op, st, rows_message);
	return rc < 0 ? rc : rows_reactions(c, op, 0);
}

int pins_drop_message(struct dbconn *c, struct op *op, int64_t message)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_DROP);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, message);
	return rows_done(c, op, st);
}

static const char SQL_ROOM_USER[] =
    "SELECT 1 FROM rooms, users WHERE rooms.id = ? AND users.id = ?";
static const char SQL_NOTIFY_PUT[] =
    "INSERT INTO notify (room, user, level) VALUES (?, ?, ?)"
    " ON CONFLICT (room, user) DO UPDATE SET level = excluded.level";
static const char SQL_NOTIFY_DEL[] = "DELETE FROM notify WHERE room = ? AND user = ?";
static const char SQL_NOTIFY_ALL[] =
    "SELECT json_group_array(json_object('room', 'r_' || room, 'user', 'u_' || user,"
    " 'level', level)) FROM (SELECT * FROM notify ORDER BY room, user)";
static const char SQL_NOTIFY_USER[] =
    "SELECT json_group_array(json_object('room', 'r_' || room, 'user', 'u_' || user,"
    " 'level', level)) FROM (SELECT * FROM notify WHERE user = ? ORDER BY room)";

int notify_set(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_ROOM_USER);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.notify.room);
	db_bind_int(st, 2, op->args.notify.user);
	int rc = rows_one(c, op, st);
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	int all = strcmp(op->args.notify.level, "all") == 0;
	if (!(st = rows_stmt(c, op, all ? SQL_NOTIFY_DEL : SQL_NOTIFY_PUT)))
		return op->res.rc;
	db_bind_int(st, 1, op->args.notify.room);
	db_bind_int(st, 2, op->args.notify.user);
	if (!all)
		db_bind_text(st, 3, op->args.notify.level);
	return rows_done(c, op, st);
}

int notify_list(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st =
	    rows_stmt(c, op, op->args.notify.user > 0 ? SQL_NOTIFY_USER : SQL_NOTIFY_ALL);
	if (!st)
		return op->res.rc;
	if (op->args.notify.user > 0)
		db_bind_int(st, 1, op->args.notify.user);
	return rows_json_text(c, op, st);
}
