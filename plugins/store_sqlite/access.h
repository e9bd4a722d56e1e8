/* Access records: single-use tokens (password resets), the audit log,
 * user settings, invite administration and lookup by e-mail. Exec
 * functions for ops (see op.h); each says which op members carry its
 * arguments. */
#ifndef STORE_SQLITE_ACCESS_H
#define STORE_SQLITE_ACCESS_H

struct dbconn;
struct op;

/* Read: args.by_email. */
int access_user_by_email(struct dbconn *c, struct op *op);
/* Write: args.token_create. */
int access_token_create(struct dbconn *c, struct op *op);
/* Write: args.token_use. */
int access_token_use(struct dbconn *c, struct op *op);
/* Read: args.token_use (nothing is spent). */
int access_token_peek(struct dbconn *c, struct op *op);
/* Read: args.invites_list. */
int access_invites_list(struct dbconn *c, struct op *op);
/* Write: args.invite_revoke. */
int access_invite_revoke(struct dbconn *c, struct op *op);
/* Write: audit, args.author (actor, 0: none). */
int access_audit_append(struct dbconn *c, struct op *op);
/* Read: args.audit_list (before 0: newest). */
int access_audit_list(struct dbconn *c, struct op *op);
/* Read: args.user. */
int access_settings_get(struct dbconn *c, struct op *op);
/* Write: args.settings_set. */
int access_settings_set(struct dbconn *c, struct op *op);

#endif
