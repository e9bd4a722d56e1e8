/* Rooms and members. Room names are unique case-insensitively (the column
 * is COLLATE NOCASE), so a taken name is a unique-constraint failure, which
 * the writer's savepoint confines to that one operation. */
#include "rooms.h"

#include <sqlite3.h>

#include "db.h"
#include "op.h"
#include "rows.h"

/* A room id is never given twice: SQLite would reuse a deleted newest
 * room's, so ids start above the highest one deleted (meta). */
static const char SQL_CREATE[] =
    "INSERT INTO rooms (id, name, kind, topic, created_by, created_ts) VALUES ("
    "max(coalesce((SELECT max(id) FROM rooms), 0),"
    " coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'rooms_deleted_max'), 0))"
    " + 1, ?, ?, ?, ?, ?) RETURNING " ROWS_ROOM;
static const char SQL_OWNER[] = "INSERT INTO members (room, user, role) VALUES (?, ?, ?)";
static const char SQL_BY_ID[] = "SELECT " ROWS_ROOM " FROM rooms WHERE id = ?";
/* Names are unique among public rooms and DMs only (migration 5). */
static const char SQL_BY_NAME[] =
    "SELECT " ROWS_ROOM " FROM rooms WHERE name = ? AND kind <> 'private'";
static const char SQL_TOPIC[] = "UPDATE rooms SET topic = ? WHERE id = ? RETURNING " ROWS_ROOM;
static const char SQL_LIST[] = "SELECT " ROWS_ROOM " FROM rooms ORDER BY id";
static const char SQL_MEMBER_SET[] =
    "INSERT INTO members (room, user, role) VALUES (?, ?, ?)"
    " ON CONFLICT (room, user) DO UPDATE SET role = excluded.role RETURNING " ROWS_MEMBER;
static const char SQL_MEMBER_REMOVE[] = "DELETE FROM members WHERE room = ? AND user = ?";
static const char SQL_MEMBERS_ALL[] = "SELECT " ROWS_MEMBER " FROM members ORDER BY room, user";
static const char SQL_MEMBERS_ROOM[] =
    "SELECT " ROWS_MEMBER " FROM members WHERE room = ? ORDER BY user";
/* Room administration (migration 10): a taken public name fails the
 * unique index (ECONFLICT); the settings row is the core's opaque JSON. */
static const char SQL_RENAME[] = "UPDATE rooms SET name = ? WHERE id = ? RETURNING " ROWS_ROOM;
static const char SQL_SETTINGS_SET[] =
    "INSERT INTO room_settings (room, json) SELECT id, ? FROM rooms WHERE id = ?"
    " ON CONFLICT (room) DO UPDATE SET json = excluded.json";
static const char SQL_SETTINGS_LIST[] =
    "SELECT json_group_array(json_object('room', 'r_' || room, 'settings', json(json)))"
    " FROM (SELECT * FROM room_settings ORDER BY room)";
/* Foreign keys cascade to members, messages (reactions, edits, pins),
 * notification levels and settings; uploads are detached (SET NULL). */
static const char SQL_DELETE[] = "DELETE FROM rooms WHERE id = ?";
/* One chunk of a room's messages, oldest first (the (room, seq) index). */
static const char SQL_DELETE_CHUNK[] =
    "DELETE FROM messages WHERE id IN"
    " (SELECT id FROM messages WHERE room = ? ORDER BY seq LIMIT ?)";
static const char SQL_DELETED_MAX[] =
    "INSERT INTO meta (key, value) VALUES ('rooms_deleted_max', ?)"
    " ON CONFLICT (key) DO UPDATE SET value = max(CAST(value AS INTEGER), excluded.value)";
/* Forward only, and never past the room's last message. */
static const char SQL_READ_SET[] =
    "UPDATE members SET read_seq = max(read_seq, min(?, (SELECT last_seq FROM rooms"
    " WHERE rooms.id = members.room))) WHERE room = ? AND user = ? RETURNING read_seq";

/* Steps a one-row statement and appends its room; resets it. */
static int one_room(struct dbconn *c, struct op *op, sqlite3_stmt *st)
{
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		rc = rows_room(op, st);
	sqlite3_reset(st);
	return rc;
}

int rooms_create(struct dbconn *c, struct op *op)
{
	const parley_room *r = &op->room;
	sqlite3_stmt *st = rows_stmt(c, op, SQL_CREATE);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, r->name);
	db_bind_text(st, 2, r->kind);
	db_bind_text(st, 3, r->topic);
	if (op->args.room_create.creator > 0)
		db_bind_int(st, 4, op->args.room_create.creator);
	db_bind_int(st, 5, r->created_ts);
	int rc = one_room(c, op, st);
	if (rc < 0 || op->args.room_create.creator <= 0)
		return rc;
	if (!(st = rows_stmt(c, op, SQL_OWNER)))
		return op->res.rc;
	db_bind_int(st, 1, sqlite3_last_insert_rowid(c->db));
	db_bind_int(st, 2, op->args.room_create.creator);
	db_bind_text(st, 3, op->args.room_create.owner_role);
	return rows_done(c, op, st);
}

int rooms_get(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, op->args.lookup.key > 0 ? SQL_BY_ID : SQL_BY_NAME);
	if (!st)
		return op->res.rc;
	if (op->args.lookup.key > 0)
		db_bind_int(st, 1, op->args.lookup.key);
	else
		db_bind_text(st, 1, op->args.lookup.name);
	return one_room(c, op, st);
}

int rooms_set_topic(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_TOPIC);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, op->args.topic.topic);
	db_bind_int(st, 2, op->args.topic.room);
	return one_room(c, op, st);
}

int rooms_list(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_LIST);
	if (!st)
		return op->res.rc;
	return rows_all(c, op, st, rows_room);
}

int rooms_member_set(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_MEMBER_SET);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.member.room);
	db_bind_int(st, 2, op->args.member.user);
	db_bind_text(st, 3, op->args.member.role);
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		rc = rows_member(op, st);
	sqlite3_reset(st);
	return rc;
}

int rooms_member_remove(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_MEMBER_REMOVE);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.member.room);
	db_bind_int(st, 2, op->args.member.user);
	int rc = rows_done(c, op, st);
	op->res.value = sqlite3_changes(c->db);
	return rc;
}

int rooms_members_list(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st =
	    rows_stmt(c, op, op->args.members.room > 0 ? SQL_MEMBERS_ROOM : SQL_MEMBERS_ALL);
	if (!st)
		return op->res.rc;
	if (op->args.members.room > 0)
		db_bind_int(st, 1, op->args.members.room);
	return rows_all(c, op, st, rows_member);
}

int rooms_read_set(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_READ_SET);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.read_set.seq);
	db_bind_int(st, 2, op->args.read_set.room);
	db_bind_int(st, 3, op->args.read_set.user);
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		op->res.value = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

int rooms_rename(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_RENAME);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, op->args.room_admin.name);
	db_bind_int(st, 2, op->args.room_admin.room);
	return one_room(c, op, st);
}

int rooms_settings_set(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_SETTINGS_SET);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, op->args.room_admin.json);
	db_bind_int(st, 2, op->args.room_admin.room);
	int rc = rows_done(c, op, st);
	if (rc == PARLEY_OK && sqlite3_changes(c->db) == 0)
		return PARLEY_ENOTFOUND;
	return rc;
}

int rooms_settings_list(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_SETTINGS_LIST);
	if (!st)
		return op->res.rc;
	return rows_json_text(c, op, st);
}

int rooms_delete(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_DELETE);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.room_admin.room);
	int rc = rows_done(c, op, st);
	if (rc == PARLEY_OK && sqlite3_changes(c->db) == 0)
		return PARLEY_ENOTFOUND;
	if (rc != PARLEY_OK || !(st = rows_stmt(c, op, SQL_DELETED_MAX)))
		return rc != PARLEY_OK ? rc : op->res.rc;
	db_bind_int(st, 1, op->args.room_admin.room);
	return rows_done(c, op, st);
}

int rooms_delete_chunk(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_DELETE_CHUNK);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.room_admin.room);
	db_bind_int(st, 2, ROOMS_DELETE_CHUNK);
	int rc = rows_done(c, op, st);
	if (rc == PARLEY_OK)
		op->res.value = sqlite3_changes(c->db);
	return rc;
}
