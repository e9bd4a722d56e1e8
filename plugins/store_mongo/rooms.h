/* Rooms and members. */
#ifndef STORE_MONGO_ROOMS_H
#define STORE_MONGO_ROOMS_H

#include "mdb.h"

/* room (copied), args.room_create. */
int rooms_create(struct dbconn *c, struct op *op);
/* args.lookup: by id, or by name (public rooms and DMs) when id is NULL. */
int rooms_get(struct dbconn *c, struct op *op);
/* args.topic. */
int rooms_set_topic(struct dbconn *c, struct op *op);
int rooms_list(struct dbconn *c, struct op *op);
/* args.member. */
int rooms_member_set(struct dbconn *c, struct op *op);
int rooms_member_remove(struct dbconn *c, struct op *op);
/* args.members: room NULL for every membership. */
int rooms_members_list(struct dbconn *c, struct op *op);
/* args.read_set. */
int rooms_read_set(struct dbconn *c, struct op *op);

/* 1 when the user (by id) exists, 0 not, < 0 an error (recorded). */
int rooms_user_exists(struct dbconn *c, struct op *op, const char *user_id);

#endif
