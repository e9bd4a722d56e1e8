/* Message operations: exec functions for ops (see op.h). Each says which
 * op members carry its arguments; room, user and message ids arrive as
 * integer keys, already parsed. */
#ifndef STORE_SQLITE_MESSAGES_H
#define STORE_SQLITE_MESSAGES_H

struct dbconn;
struct op;

/* Largest history page. */
#define MESSAGES_HISTORY_MAX 1000

/* Write: msg, args.append. */
int messages_append(struct dbconn *c, struct op *op);
/* Read: args.history. */
int messages_history(struct dbconn *c, struct op *op);
/* Read: args.message. */
int messages_get(struct dbconn *c, struct op *op);
/* Write: args.edit. */
int messages_edit(struct dbconn *c, struct op *op);
/* Write: args.message. */
int messages_delete(struct dbconn *c, struct op *op);
/* Write: args.react. */
int messages_react(struct dbconn *c, struct op *op);

#endif
