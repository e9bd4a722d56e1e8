/* Access records. A token and an invite are spent or revoked in one
 * conditional statement, so two servers racing for one cannot both win;
 * the audit log is append-only (no call deletes from it). */
#include "access.h"

#include <sqlite3.h>

#include "accounts.h"
#include "db.h"
#include "op.h"
#include "rows.h"

static const char SQL_USER_BY_EMAIL[] =
    "SELECT " ROWS_USER " FROM users WHERE email = ?1 COLLATE NOCASE ORDER BY id LIMIT 1";
static const char SQL_TOKEN_CREATE[] =
    "INSERT INTO tokens (token_hash, kind, user, created_ts, expires_ts) VALUES (?, ?, ?, ?, ?)";
static const char SQL_TOKEN_USE[] =
    "UPDATE tokens SET used_ts = ?1 WHERE token_hash = ?2 AND kind = ?3 AND used_ts = 0"
    " AND expires_ts > ?1 RETURNING user";
static const char SQL_TOKEN_PEEK[] =
    "SELECT user FROM tokens WHERE token_hash = ?2 AND kind = ?3 AND used_ts = 0"
    " AND expires_ts > ?1";
static const char SQL_USER_BY_ID[] = "SELECT " ROWS_USER " FROM users WHERE id = ?";
static const char SQL_INVITES[] = "SELECT " ROWS_INVITE " FROM invites"
                                  " WHERE used_ts = 0 AND expires_ts > ? ORDER BY created_ts";
static const char SQL_INVITE_REVOKE[] = "DELETE FROM invites WHERE token_hash = ? AND used_ts = 0";
static const char SQL_AUDIT_APPEND[] =
    "INSERT INTO audit (ts, actor, action, target, detail, client) VALUES (?, ?, ?, ?, ?, ?)"
    " RETURNING " ROWS_AUDIT;
/* One row more than asked tells whether there is more. */
static const char SQL_AUDIT_LIST[] = "SELECT " ROWS_AUDIT " FROM audit"
                                     " WHERE ?1 = 0 OR id < ?1 ORDER BY id DESC LIMIT ?2 + 1";
static const char SQL_SETTINGS_GET[] = "SELECT json FROM settings WHERE user = ?";
static const char SQL_SETTINGS_SET[] = "INSERT INTO settings (user, json) VALUES (?1, ?2)"
                                       " ON CONFLICT (user) DO UPDATE SET json = excluded.json";

int access_user_by_email(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_USER_BY_EMAIL);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, op->args.by_email.email);
	return accounts_one_user(c, op, st);
}

int access_token_create(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_TOKEN_CREATE);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, op->args.token_create.token_hash);
	db_bind_text(st, 2, op->args.token_create.kind);
	db_bind_int(st, 3, op->args.token_create.user);
	db_bind_int(st, 4, op->args.token_create.created_ts);
	db_bind_int(st, 5, op->args.token_create.expires_ts);
	return rows_done(c, op, st);
}

/* token_use and token_peek: the token's user by a statement that gives
 * its key, then the user. */
static int token_user(struct dbconn *c, struct op *op, const char *sql)
{
	sqlite3_stmt *st = rows_stmt(c, op, sql);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.token_use.now_ms);
	db_bind_text(st, 2, op->args.token_use.token_hash);
	db_bind_text(st, 3, op->args.token_use.kind);
	int rc = rows_one(c, op, st);
	int64_t user = rc == PARLEY_OK ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	if (!(st = rows_stmt(c, op, SQL_USER_BY_ID)))
		return op->res.rc;
	db_bind_int(st, 1, user);
	return accounts_one_user(c, op, st);
}

int access_token_use(struct dbconn *c, struct op *op)
{
	return token_user(c, op, SQL_TOKEN_USE);
}

int access_token_peek(struct dbconn *c, struct op *op)
{
	return token_user(c, op, SQL_TOKEN_PEEK);
}

int access_invites_list(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_INVITES);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.invites_list.now_ms);
	return rows_all(c, op, st, rows_invite_add);
}

int access_invite_revoke(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_INVITE_REVOKE);
	if (!st)
		return op->res.rc;
	db_bind_text(st, 1, op->args.invite_revoke.token_hash);
	int rc = rows_done(c, op, st);
	if (rc == PARLEY_OK && sqlite3_changes(c->db) == 0)
		return op_fail(op, PARLEY_ENOTFOUND, "no unused invite with that id");
	return rc;
}

int access_audit_append(struct dbconn *c, struct op *op)
{
	const parley_audit *a = &op->audit;
	sqlite3_stmt *st = rows_stmt(c, op, SQL_AUDIT_APPEND);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, a->ts);
	if (op->args.author.by > 0)
		db_bind_int(st, 2, op->args.author.by);
	else
		sqlite3_bind_null(st, 2);
	db_bind_text(st, 3, a->action);
	db_bind_text(st, 4, a->target);
	db_bind_text(st, 5, a->detail);
	db_bind_text(st, 6, a->client);
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		rc = rows_audit(op, st);
	sqlite3_reset(st);
	return rc;
}

int access_audit_list(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_AUDIT_LIST);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.audit_list.before);
	db_bind_int(st, 2, op->args.audit_list.limit);
	int rc = rows_all(c, op, st, rows_audit);
	if (rc == PARLEY_OK && (int64_t)op->n_audits > op->args.audit_list.limit) {
		op->n_audits = (size_t)op->args.audit_list.limit;
		op->res.more = 1;
	}
	return rc;
}

int access_settings_get(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_SETTINGS_GET);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.user.user);
	int rc = rows_one(c, op, st);
	if (rc == PARLEY_OK)
		op->res.text = op_strdup(op, (const char *)sqlite3_column_text(st, 0));
	sqlite3_reset(st);
	if (rc == PARLEY_ENOTFOUND) { /* never set: no settings, not an error */
		op->res.rc = PARLEY_OK;
		op->error[0] = '\0';
		return PARLEY_OK;
	}
	return rc;
}

int access_settings_set(struct dbconn *c, struct op *op)
{
	sqlite3_stmt *st = rows_stmt(c, op, SQL_SETTINGS_SET);
	if (!st)
		return op->res.rc;
	db_bind_int(st, 1, op->args.settings_set.user);
	db_bind_text(st, 2, op->args.settings_set.json);
	return rows_done(c, op, st);
}
