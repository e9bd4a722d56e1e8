/* Access records: single-use tokens (password resets), the audit log,
 * user settings, invite administration and lookup by e-mail. Exec
 * functions for ops (see op.h); each says which op members carry its
 * arguments. */
#ifndef STORE_SQLITE_ACCESS_H
#define STORE_SQLITE_ACCESS_H

struct dbconn;
struct op;

/* Read: s[0] e-mail address. */
int access_user_by_email(struct dbconn *c, struct op *op);
/* Write: s[0] kind, s[1] token hash, n[0] user key, n[1] expires_ts, n[2] now. */
int access_token_create(struct dbconn *c, struct op *op);
/* Write: s[0] kind, s[1] token hash, n[0] now_ms. */
int access_token_use(struct dbconn *c, struct op *op);
/* Read: s[0] kind, s[1] token hash, n[0] now_ms. */
int access_token_peek(struct dbconn *c, struct op *op);
/* Read: n[0] now_ms. */
int access_invites_list(struct dbconn *c, struct op *op);
/* Write: s[0] token hash. */
int access_invite_revoke(struct dbconn *c, struct op *op);
/* Write: audit, n[0] actor key (0: none). */
int access_audit_append(struct dbconn *c, struct op *op);
/* Read: n[0] before (0: newest), n[1] limit. */
int access_audit_list(struct dbconn *c, struct op *op);
/* Read: n[0] user key. */
int access_settings_get(struct dbconn *c, struct op *op);
/* Write: n[0] user key, s[0] JSON. */
int access_settings_set(struct dbconn *c, struct op *op);

#endif
