/* Access records: lookup by e-mail, single-use tokens, the invites list,
 * the audit log, user settings. */
#ifndef STORE_MONGO_ACCESS_H
#define STORE_MONGO_ACCESS_H

#include "mdb.h"

int access_user_by_email(struct dbconn *c, struct op *op); /* args.by_email */
/* args.token_create */
int access_token_create(struct dbconn *c, struct op *op);
int access_token_use(struct dbconn *c, struct op *op); /* args.token_use */
/* args.token_use: the user, the token left unspent. */
int access_token_peek(struct dbconn *c, struct op *op);
int access_invites_list(struct dbconn *c, struct op *op);  /* args.invites_list */
int access_invite_revoke(struct dbconn *c, struct op *op); /* args.invite_revoke */
int access_audit_append(struct dbconn *c, struct op *op);  /* audit (copied) */
int access_audit_list(struct dbconn *c, struct op *op);    /* args.audit_list */
int access_settings_get(struct dbconn *c, struct op *op);  /* args.user */
int access_settings_set(struct dbconn *c, struct op *op);  /* args.settings_set */

#endif
