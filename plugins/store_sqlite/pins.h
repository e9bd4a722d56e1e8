/* Pinned messages: one row per pinned message (migration 6). Exec
 * functions for ops (op.h). */
#ifndef STORE_SQLITE_PINS_H
#define STORE_SQLITE_PINS_H

#include <stdint.h>

struct dbconn;
struct op;

/* Write: args.pin. Result value: 1 changed, 0 already so; ENOTFOUND for a
 * message absent from the room or deleted. */
int pins_set(struct dbconn *c, struct op *op);
/* Read: args.pin.room (0: every room). Result: messages, newest pin first. */
int pins_list(struct dbconn *c, struct op *op);
/* Unpins a message being deleted (inside message_delete's transaction). */
int pins_drop_message(struct dbconn *c, struct op *op, int64_t message);

/* Notification levels (the same migration; small enough to live here).
 * Write: args.notify; "all" deletes the row. ENOTFOUND for an unknown room
 * or user. */
int notify_set(struct dbconn *c, struct op *op);
/* Read: args.notify.user (0: everyone). Result text: a JSON array. */
int notify_list(struct dbconn *c, struct op *op);

#endif
