/* Users, sessions, invites. User names are unique case-insensitively
 * (COLLATE NOCASE). Expiry and single use are decided in SQL, in one
 * statement, so two servers (or the CLI) racing for one invite cannot both
 * win. */
#include "accounts.h"

#include <sqlite3.h>

#include "db.h"
#include "op.h"
#include "rows.h"

static const char SQL_USER_CREATE[] =
    "INSERT INTO users (name, display_name, role, email, password_hash, disabled, created_ts)"
    " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING " ROWS_USER;
static const char SQL_USER_BY_ID[] = "SELECT " ROWS_USER " FROM users WHERE id = ?";
static const char SQL_USER_BY_NAME[] = "SELECT " ROWS_USER " FROM users WHERE name = ?";
static const char SQL_USER_UPDATE[] =
    "UPDATE users SET name = coalesce(?1, name), display_name = coalesce(?2, display_name),"
    " role = coalesce(?3, role), email = coalesce(?4, email),"
    " password_hash = coalesce(?5, password_hash),"
    " disabled = CASE WHEN ?6 THEN ?7 ELSE disabled END WHERE id = ?8 RETURNING " ROWS_USER;
static const char SQL_USERS[] = "SELECT " ROWS_USER " FROM users ORDER BY id";
static const char SQL_SESSION_CREATE[] =
    "INSERT INTO sessions (token_hash, user, created_ts, expires_ts, scopes, rooms_json)"
    " VALUES (?, ?, ?, ?, ?, ?)"
    " RETURNING " ROWS_SESSION;
static const char SQL_SESSION_GET[] =
    "SELECT " ROWS_SESSION " FROM sessions WHERE token_hash = ? AND expires_ts > ?";
static const char SQL_SESSION_DEL_TOKEN[] = "DELETE FROM sessions WHERE token_hash = ?";
static const char SQL_SESSION_DEL_USER[] = "DELETE FROM sessions WHERE user = ?";
static const char SQL_SESSION_DEL_OTHERS[] =
    "DELETE FROM sessions WHERE user = ? AND token_hash <> ?";
static const char SQL_INVITE_CREATE[] =
    "INSERT INTO invites (token_hash, role, email, created_by, created_ts, expires_ts)"
    " VALUES (?, ?, ?, ?, ?, ?) RETURNING " ROWS_INVITE;
static const char SQL_INVITE_USE[] =
    "UPDATE invites SET used_ts = ?1 WHERE token_hash = ?2 AND used_ts = 0 AND expires_ts > ?1"
    " RETURNING " ROWS_INVITE;

static int user_with_hash(struct op *op, sqlite3_stmt *st)
{
	return rows_user(op, st, 1);
}

static int user_without_hash(struct op *op, sqlite3_stmt *st)
{
	return rows_user(op, st, 0);
}

int accounts_one_user(struct dbconn *c, struct op *op, sqlite3_stmt *st)
{
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		rc = user_with_hash(op, st);
	sqlite3_reset(st);
	return rc;
}

int accounts_user_create(struct dbconn *c, struct op *op)
{
	const parley_user *u = &op->user;
	sqlite3_stmt *st = rows_stmt(c, op, SQL_USER_CREATE);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, u->name);
	db_bind_text(st, 2, u->display_name);
	db_bind_text(st, 3, u->role);
	db_bind_text(st, 4, u->email);
	db_bind_text(st, 5, u->password_hash);
	db_bind_int(st, 6, u->disabled ? 1 : 0);
	db_bind_int(st, 7, u->created_ts);
	return accounts_one_user(c, op, st);
}

int accounts_user_get(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st =
	    rows_stmt(c, op, op->args.lookup.key > 0 ? SQL_USER_BY_ID : SQL_USER_BY_NAME);
	if (!st)
		return op->res.rc;
	if (op->args.lookup.key > 0)
		db_bind_int(st, 1, op->args.lookup.key);
	else
		db_bind_text(st, 1, op->args.lookup.name);
	return accounts_one_user(c, op, st);
}

int accounts_user_update(struct dbconn *c, struct op *op)
{
	const parley_user *u = &op->user;
	sqlite3_stmt *st = rows_stmt(c, op, SQL_USER_UPDATE);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, u->name);
	db_bind_text(st, 2, u->display_name);
	db_bind_text(st, 3, u->role);
	db_bind_text(st, 4, u->email);
	db_bind_text(st, 5, u->password_hash);
	db_bind_int(st, 6, op->args.user_update.set_disabled);
	db_bind_int(st, 7, u->disabled ? 1 : 0);
	db_bind_int(st, 8, op->args.user_update.user);
	return accounts_one_user(c, op, st);
}

int accounts_users_list(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_USERS);
	if (!st)
		return op->res.rc;
	return rows_all(c, op, st, user_without_hash);
}

int accounts_session_create(struct dbconn *c, struct op *op)
{
	const parley_session *s = &op->session;
	sqlite3_stmt *st = rows_stmt(c, op, SQL_SESSION_CREATE);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, s->token_hash);
	db_bind_int(st, 2, op->args.user.user);
	db_bind_int(st, 3, s->created_ts);
	db_bind_int(st, 4, s->expires_ts);
	db_bind_text(st, 5, s->scopes);
	db_bind_text(st, 6, s->rooms_json);
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		rows_session(op, st);
	sqlite3_reset(st);
	return rc;
}

int accounts_session_get(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_SESSION_GET);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, op->args.token_at.token_hash);
	db_bind_int(st, 2, op->args.token_at.now_ms);
	int64_t user = 0;
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK) {
		user = sqlite3_column_int64(st, 1);
		rows_session(op, st);
	}
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	/* Same read transaction: the user is the session's, as of one snapshot. */
	if (!(st = rows_stmt(c, op, SQL_USER_BY_ID)))
		return op->res.rc;
	db_bind_int(st, 1, user);
	return accounts_one_user(c, op, st);
}

int accounts_session_delete(struct dbconn *c, struct op *op)
{
	const char *sql = !op->args.session_delete.token_hash ? SQL_SESSION_DEL_USER
	                  : op->args.session_delete.user > 0  ? SQL_SESSION_DEL_OTHERS
	                                                      : SQL_SESSION_DEL_TOKEN;
	sqlite3_stmt *st = rows_stmt(c, op, sql);
	if (!st)
		return op->res.rc;
	if (sql == SQL_SESSION_DEL_TOKEN) {
		db_bind_text(st, 1, op->args.session_delete.token_hash);
	} else {
		db_bind_int(st, 1, op->args.session_delete.user);
		db_bind_text(st, 2, op->args.session_delete.token_hash);
	}
	int rc = rows_done(c, op, st);
	op->res.value = sqlite3_changes(c->db);
	return rc;
}

int accounts_invite_create(struct dbconn *c, struct op *op)
{
	const parley_invite *v = &op->invite;
	sqlite3_stmt *st = rows_stmt(c, op, SQL_INVITE_CREATE);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, v->token_hash);
	db_bind_text(st, 2, v->role);
	db_bind_text(st, 3, v->email);
	if (op->args.author.by > 0)
		db_bind_int(st, 4, op->args.author.by);
	db_bind_int(st, 5, v->created_ts);
	db_bind_int(st, 6, v->expires_ts);
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		rows_invite(op, st);
	sqlite3_reset(st);
	return rc;
}

int accounts_invite_use(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_INVITE_USE);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.token_at.now_ms);
	db_bind_text(st, 2, op->args.token_at.token_hash);
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		rows_invite(op, st);
	sqlite3_reset(st);
	return rc;
}
