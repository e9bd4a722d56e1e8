/* Access records: lookup by e-mail, single-use tokens, the invites list,
 * the audit log, user settings. */
#ifndef STORE_MONGO_ACCESS_H
#define STORE_MONGO_ACCESS_H

#include "mdb.h"

int access_user_by_email(struct dbconn *c, struct op *op); /* s[0] email */
/* s[0] kind, s[1] hash, s[2] user, n[1] expires, n[2] now. */
int access_token_create(struct dbconn *c, struct op *op);
int access_token_use(struct dbconn *c, struct op *op);     /* s[0] kind, s[1] hash, n[0] now */
int access_invites_list(struct dbconn *c, struct op *op);  /* n[0] now */
int access_invite_revoke(struct dbconn *c, struct op *op); /* s[0] hash */
int access_audit_append(struct dbconn *c, struct op *op);  /* audit (copied) */
int access_audit_list(struct dbconn *c, struct op *op);    /* n[0] before, n[1] limit */
int access_settings_get(struct dbconn *c, struct op *op);  /* s[0] user */
int access_settings_set(struct dbconn *c, struct op *op);  /* s[0] user, s[1] json */

#endif
