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
/* Read: args.lookup (user key, or name when it is 0). */
int accounts_user_get(struct dbconn *c, struct op *op);
/* Write: user (NULL fields kept), args.user_update. */
int accounts_user_update(struct dbconn *c, struct op *op);
/* Read: every user, without password hashes. */
int accounts_users_list(struct dbconn *c, struct op *op);
/* Write: session, args.user. */
int accounts_session_create(struct dbconn *c, struct op *op);
/* Read: args.token_at. */
int accounts_session_get(struct dbconn *c, struct op *op);
/* Write: args.session_delete (token hash and/or user key, 0: none). value: deleted. */
int accounts_session_delete(struct dbconn *c, struct op *op);
/* Write: invite, args.author (0: none). */
int accounts_invite_create(struct dbconn *c, struct op *op);
/* Write: args.token_at. */
int accounts_invite_use(struct dbconn *c, struct op *op);

#endif
