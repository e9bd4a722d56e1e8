/* Rows to records: the column lists every query selects, readers that
 * copy a row into the op's result, and the public ids ("u_1", "r_1",
 * "m_1") made from and parsed back to the tables' integer keys. */
#ifndef STORE_SQLITE_ROWS_H
#define STORE_SQLITE_ROWS_H

#include <sqlite3.h>
#include <stdint.h>

#include "op.h"

struct dbconn;

#define ROWS_MESSAGE                                                                               \
	"id, room, seq, user, text, ts, client_id, reply_to, mentions_json, attachments_json, "    \
	"edited_ts, deleted, thread, also_room, replies, last_reply_ts"
#define ROWS_ROOM    "id, name, kind, topic, created_by, created_ts, last_seq"
#define ROWS_USER    "id, name, display_name, role, email, password_hash, disabled, created_ts"
#define ROWS_MEMBER  "room, user, role, read_seq"
#define ROWS_SESSION "token_hash, user, created_ts, expires_ts, scopes, rooms_json"
#define ROWS_INVITE  "token_hash, role, email, created_by, created_ts, expires_ts, used_ts"
#define ROWS_AUDIT   "id, ts, actor, action, target, detail, client"

/* Parses "<prefix>_<n>" (n > 0); 1 and *out, or 0 when malformed. */
int rows_id_parse(const char *s, char prefix, int64_t *out);
/* "<prefix>_<n>" in the op's arena; NULL for a NULL column. */
const char *rows_id(struct op *op, char prefix, sqlite3_stmt *st, int col);

/* Each appends the current row (columns from col, in the order above) to
 * the op's results; PARLEY_OK or ENOMEM. */
int rows_message(struct op *op, sqlite3_stmt *st);
int rows_room(struct op *op, sqlite3_stmt *st);
int rows_user(struct op *op, sqlite3_stmt *st, int with_hash);
int rows_member(struct op *op, sqlite3_stmt *st);
void rows_session(struct op *op, sqlite3_stmt *st);
void rows_invite(struct op *op, sqlite3_stmt *st);
/* Appends to the op's invites or audit arrays; PARLEY_OK or ENOMEM. */
int rows_invite_add(struct op *op, sqlite3_stmt *st);
int rows_audit(struct op *op, sqlite3_stmt *st);

/* Sets reactions_json of every message in the op's results from index
 * first on: {"👍":["u_2","u_5"]}, in the order reactions were added.
 * PARLEY_OK or an error. */
int rows_reactions(struct dbconn *c, struct op *op, size_t first);

/* Steps a query of one row: PARLEY_OK with a row, ENOTFOUND without, or an
 * error recorded in op. */
int rows_one(struct dbconn *c, struct op *op, sqlite3_stmt *st);
/* Steps a query of one row whose first column is a JSON array text (NULL
 * read as "[]") into op->res.text, then resets st. */
int rows_json_text(struct dbconn *c, struct op *op, sqlite3_stmt *st);

/* The cached statement for sql, or NULL with the error recorded in op. */
sqlite3_stmt *rows_stmt(struct dbconn *c, struct op *op, const char *sql);
/* Records the connection's last error in op; returns its parley_rc. */
int rows_error(struct dbconn *c, struct op *op, int sqlite_rc);
/* Steps a statement without rows and resets it: PARLEY_OK or the error. */
int rows_done(struct dbconn *c, struct op *op, sqlite3_stmt *st);
/* Appends every row of st with read (rows_room, rows_member...), resets
 * st: PARLEY_OK or the error recorded in op. */
int rows_all(struct dbconn *c, struct op *op, sqlite3_stmt *st,
             int (*read)(struct op *op, sqlite3_stmt *st));

#endif
