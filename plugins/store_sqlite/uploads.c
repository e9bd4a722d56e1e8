/* Upload records. A row is attached when message is set; a message's
 * tombstone sets it back to NULL (uploads_detach_message) so the core's
 * cleanup job finds the row with the unattached ones. */
#include "uploads.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>

#include "db.h"
#include "op.h"
#include "rows.h"

#define ROWS_UPLOAD "id, user, name, type, size, sha256, key, tags, room, message, created_ts"

static const char SQL_CREATE[] =
    "INSERT INTO uploads (user, name, type, size, sha256, key, tags, created_ts, room, message)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING " ROWS_UPLOAD;
static const char SQL_GET[] = "SELECT " ROWS_UPLOAD " FROM uploads WHERE id = ?";
static const char SQL_ATTACH[] = "UPDATE uploads SET room = ?, message = ?"
                                 " WHERE id = ? AND user = ? AND message IS NULL"
                                 " RETURNING " ROWS_UPLOAD;
static const char SQL_DELETE[] = "DELETE FROM uploads WHERE id = ?";
static const char SQL_UNATTACHED[] = "SELECT " ROWS_UPLOAD " FROM uploads"
                                     " WHERE message IS NULL AND created_ts < ?"
                                     " ORDER BY created_ts LIMIT ?";
/* Upload retention: the oldest attached uploads, one more than asked (so
 * `more` is known); their entries in the message's attachments lose the
 * url and say expired; the rows are detached like a deleted message's. */
static const char SQL_EXPIRE_DUE[] = "SELECT " ROWS_UPLOAD " FROM uploads"
                                     " WHERE message IS NOT NULL AND created_ts < ?"
                                     " ORDER BY created_ts, id LIMIT ?";
static const char SQL_EXPIRE_MARK[] =
    "UPDATE messages SET attachments_json = (SELECT json_group_array(CASE"
    " WHEN json_extract(a.value, '$.id') = ?1"
    " THEN json_set(json_remove(a.value, '$.url'), '$.expired', json('true'))"
    " ELSE json(a.value) END) FROM json_each(messages.attachments_json) AS a)"
    " WHERE id = ?2 AND json_valid(attachments_json)";
static const char SQL_EXPIRE_DETACH[] =
    "UPDATE uploads SET room = NULL, message = NULL WHERE id = ?";
static const char SQL_USAGE[] =
    "SELECT COALESCE(SUM(size), 0) FROM uploads WHERE user = ? AND created_ts >= ?";
static const char SQL_DETACH[] = "UPDATE uploads SET room = NULL, message = NULL WHERE message = ?";
static const char SQL_DETACH_RETURNING[] = "UPDATE uploads SET room = NULL, message = NULL"
                                           " WHERE message = ? RETURNING " ROWS_UPLOAD;

int uploads_id_parse(const char *s, int64_t *out)
{
	if (!s || s[0] != 'u' || s[1] != 'p' || s[2] != '_' || s[3] < '1' || s[3] > '9')
		return 0;
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s + 3, &end, 10);
	if (errno || *end || v <= 0)
		return 0;
	*out = v;
	return 1;
}

static const char *col_text(struct op *op, sqlite3_stmt *st, int col)
{
	return op_strdup(op, (const char *)sqlite3_column_text(st, col));
}

static int row_upload(struct op *op, sqlite3_stmt *st)
{
	parley_upload *u = op_add_upload(op);
	if (!u)
		return PARLEY_ENOMEM;
	u->id = op_printf(op, "up_%lld", (long long)sqlite3_column_int64(st, 0));
	u->user_id = rows_id(op, 'u', st, 1);
	u->name = col_text(op, st, 2);
	u->type = col_text(op, st, 3);
	u->size = sqlite3_column_int64(st, 4);
	u->sha256 = col_text(op, st, 5);
	u->key = col_text(op, st, 6);
	u->tags = col_text(op, st, 7);
	u->room_id = rows_id(op, 'r', st, 8);
	u->message_id = rows_id(op, 'm', st, 9);
	u->created_ts = sqlite3_column_int64(st, 10);
	return u->id && u->user_id && u->name && u->key ? PARLEY_OK : PARLEY_ENOMEM;
}

/* Steps a one-row statement into the results; ENOTFOUND without a row. */
static int one_upload(struct dbconn *c, struct op *op, sqlite3_stmt *st)
{
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		rc = row_upload(op, st);
	sqlite3_reset(st);
	return rc;
}

int uploads_create(struct dbconn *c, struct op *op)
{
	const parley_upload *u = &op->upload;
	sqlite3_stmt *st = rows_stmt(c, op, SQL_CREATE);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.upload_create.user);
	db_bind_text(st, 2, u->name);
	db_bind_text(st, 3, u->type);
	db_bind_int(st, 4, u->size);
	db_bind_text(st, 5, u->sha256);
	db_bind_text(st, 6, u->key);
	db_bind_text(st, 7, u->tags);
	db_bind_int(st, 8, u->created_ts);
	const int64_t where[2] = {op->args.upload_create.room, op->args.upload_create.message};
	for (int i = 0; i < 2; i++) {
		if (where[i])
			db_bind_int(st, 9 + i, where[i]);
		else
			sqlite3_bind_null(st, 9 + i);
	}
	int rc = one_upload(c, op, st);
	return rc == PARLEY_ENOTFOUND ? op_fail(op, PARLEY_ERR, "upload_create: no row") : rc;
}

int uploads_get(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_GET);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.upload.upload);
	return one_upload(c, op, st);
}

int uploads_attach(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_ATTACH);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.upload_attach.room);
	if (op->args.upload_attach.message > 0)
		db_bind_int(st, 2, op->args.upload_attach.message);
	else
		sqlite3_bind_null(st, 2);
	db_bind_int(st, 3, op->args.upload_attach.upload);
	db_bind_int(st, 4, op->args.upload_attach.user);
	return one_upload(c, op, st);
}

int uploads_delete(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_DELETE);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.upload.upload);
	return rows_done(c, op, st);
}

int uploads_unattached(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_UNATTACHED);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.unattached.before_ts);
	db_bind_int(st, 2, op->args.unattached.limit);
	return rows_all(c, op, st, row_upload);
}

int uploads_expire(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_EXPIRE_DUE);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.unattached.before_ts);
	db_bind_int(st, 2, op->args.unattached.limit + 1);
	int rc = rows_all(c, op, st, row_upload);
	if (rc < 0)
		return rc;
	if (op->n_uploads > (size_t)op->args.unattached.limit) {
		op->n_uploads = (size_t)op->args.unattached.limit;
		op->res.more = 1;
	}
	for (size_t i = 0; i < op->n_uploads; i++) {
		parley_upload *u = &op->uploads[i];
		int64_t id = 0, message = 0;
		uploads_id_parse(u->id, &id);
		rows_id_parse(u->message_id, 'm', &message);
		if (!(st = rows_stmt(c, op, SQL_EXPIRE_MARK)))
			return op->res.rc;
		db_bind_text(st, 1, u->id);
		db_bind_int(st, 2, message);
		if ((rc = rows_done(c, op, st)) < 0)
			return rc;
		if (!(st = rows_stmt(c, op, SQL_EXPIRE_DETACH)))
			return op->res.rc;
		db_bind_int(st, 1, id);
		if ((rc = rows_done(c, op, st)) < 0)
			return rc;
		u->room_id = NULL;
		u->message_id = NULL;
	}
	return PARLEY_OK;
}

int uploads_usage(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_USAGE);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.usage.user);
	db_bind_int(st, 2, op->args.usage.since_ts);
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		op->res.value = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc;
}

int uploads_detach_message(struct dbconn *c, struct op *op, int64_t message)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_DETACH);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, message);
	return rows_done(c, op, st);
}

int uploads_detach_message_rows(struct dbconn *c, struct op *op, int64_t message)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_DETACH_RETURNING);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, message);
	return rows_all(c, op, st, row_upload);
}
