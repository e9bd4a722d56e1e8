/* Room and membership operations: exec functions for ops (see op.h). Each
 * says which op members carry its arguments; ids arrive as integer keys. */
#ifndef STORE_SQLITE_ROOMS_H
#define STORE_SQLITE_ROOMS_H

struct dbconn;
struct op;

/* Write: room, n[0] creator key (0: none), s[0] owner role. */
int rooms_create(struct dbconn *c, struct op *op);
/* Read: n[0] room key, or s[0] name when n[0] is 0. */
int rooms_get(struct dbconn *c, struct op *op);
/* Write: n[0] room, s[0] topic. */
int rooms_set_topic(struct dbconn *c, struct op *op);
/* Read: every room. */
int rooms_list(struct dbconn *c, struct op *op);
/* Write: n[0] room, n[1] user, s[0] role. */
int rooms_member_set(struct dbconn *c, struct op *op);
/* Write: n[0] room, n[1] user. Result value: 1 removed, 0 was no member. */
int rooms_member_remove(struct dbconn *c, struct op *op);
/* Read: n[0] room, or 0 for every membership. */
int rooms_members_list(struct dbconn *c, struct op *op);
/* Write: n[0] room, n[1] user, n[2] seq. */
int rooms_read_set(struct dbconn *c, struct op *op);

#endif
