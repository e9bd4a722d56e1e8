/* Users, sessions, invites. */
#ifndef STORE_MONGO_ACCOUNTS_H
#define STORE_MONGO_ACCOUNTS_H

#include "mdb.h"

/* user (copied). */
int accounts_user_create(struct dbconn *c, struct op *op);
/* s[0] user id or NULL, s[1] name. */
int accounts_user_get(struct dbconn *c, struct op *op);
/* user (copied, id set), flag: set disabled. */
int accounts_user_update(struct dbconn *c, struct op *op);
int accounts_users_list(struct dbconn *c, struct op *op);
/* session (copied). */
int accounts_session_create(struct dbconn *c, struct op *op);
/* s[0] token hash, n[0] now. */
int accounts_session_get(struct dbconn *c, struct op *op);
/* s[0] token hash or NULL, s[1] user id or NULL. */
int accounts_session_delete(struct dbconn *c, struct op *op);
/* invite (copied). */
int accounts_invite_create(struct dbconn *c, struct op *op);
/* s[0] token hash, n[0] now. */
int accounts_invite_use(struct dbconn *c, struct op *op);

/* The user of filter into the results (with hash): OK or ENOTFOUND. */
int accounts_one_user(struct dbconn *c, struct op *op, const bson_t *filter);

#endif
