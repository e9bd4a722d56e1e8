/* Users, sessions and invites: exec functions for ops (see op.h). Each
 * says which op members carry its arguments; ids arrive as integer keys. */
#ifndef STORE_SQLITE_ACCOUNTS_H
#define STORE_SQLITE_ACCOUNTS_H

#include <sqlite3.h>

struct dbconn;
struct op;

/* Steps a one-row user query (ROWS_USER, with the hash), appends the
 * user to op's results and resets st. */
int accounts_one_user(struct dbconn *c, struct op *op, sqlite3_stmt *st);

/* Write: user. */
int accounts_user_create(struct dbconn *c, struct op *op);
/* Read: n[0] user key, or s[0] name when n[0] is 0. */
int accounts_user_get(struct dbconn *c, struct op *op);
/* Write: user (NULL fields kept), n[0] user key, flag set_disabled. */
int accounts_user_update(struct dbconn *c, struct op *op);
/* Read: every user, without password hashes. */
int accounts_users_list(struct dbconn *c, struct op *op);
/* Write: session, n[0] user key. */
int accounts_session_create(struct dbconn *c, struct op *op);
/* Read: s[0] token hash, n[0] now_ms. */
int accounts_session_get(struct dbconn *c, struct op *op);
/* Write: s[0] token hash and/or n[0] user key (0: none). value: deleted. */
int accounts_session_delete(struct dbconn *c, struct op *op);
/* Write: invite, n[0] creator key (0: none). */
int accounts_invite_create(struct dbconn *c, struct op *op);
/* Write: s[0] token hash, n[0] now_ms. */
int accounts_invite_use(struct dbconn *c, struct op *op);

#endif
