/* Rooms and members. */
#ifndef STORE_MONGO_ROOMS_H
#define STORE_MONGO_ROOMS_H

#include "mdb.h"

/* room (copied), s[0] owner role, s[1] creator id or NULL. */
int rooms_create(struct dbconn *c, struct op *op);
/* s[0] room id or NULL, s[1] name. */
int rooms_get(struct dbconn *c, struct op *op);
/* s[0] room id, s[1] topic. */
int rooms_set_topic(struct dbconn *c, struct op *op);
int rooms_list(struct dbconn *c, struct op *op);
/* s[0] room id, s[1] user id, n[0], n[1] their numbers; s[2] role. */
int rooms_member_set(struct dbconn *c, struct op *op);
int rooms_member_remove(struct dbconn *c, struct op *op);
/* s[0] room id or NULL: every membership. */
int rooms_members_list(struct dbconn *c, struct op *op);
/* n[2] seq. */
int rooms_read_set(struct dbconn *c, struct op *op);

/* 1 when the user (by id) exists, 0 not, < 0 an error (recorded). */
int rooms_user_exists(struct dbconn *c, struct op *op, const char *user_id);

#endif
