/* Message operations: exec functions for ops (see op.h). Each says which
 * op members carry its arguments; room, user and message ids arrive as
 * integer keys, already parsed. */
#ifndef STORE_SQLITE_MESSAGES_H
#define STORE_SQLITE_MESSAGES_H

struct dbconn;
struct op;

/* Largest history page. */
#define MESSAGES_HISTORY_MAX 1000

/* Write: msg, n[0] room, n[1] user. */
int messages_append(struct dbconn *c, struct op *op);
/* Read: n[0] room, n[1] before, n[2] after, flag limit. */
int messages_history(struct dbconn *c, struct op *op);
/* Read: n[0] room, n[1] message. */
int messages_get(struct dbconn *c, struct op *op);
/* Write: n[0] room, n[1] message, s[0] text, s[1] mentions, n[2] edited_ts. */
int messages_edit(struct dbconn *c, struct op *op);
/* Write: n[0] room, n[1] message. */
int messages_delete(struct dbconn *c, struct op *op);
/* Write: n[0] room, n[1] message, n[2] user, s[0] emoji, flag on. */
int messages_react(struct dbconn *c, struct op *op);

#endif
