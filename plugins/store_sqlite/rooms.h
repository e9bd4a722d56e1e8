/* Room and membership operations: exec functions for ops (see op.h). Each
 * says which op members carry its arguments; ids arrive as integer keys. */
#ifndef STORE_SQLITE_ROOMS_H
#define STORE_SQLITE_ROOMS_H

struct dbconn;
struct op;

/* Write: room, args.room_create (creator 0: none). */
int rooms_create(struct dbconn *c, struct op *op);
/* Read: args.lookup (room key, or name when it is 0). */
int rooms_get(struct dbconn *c, struct op *op);
/* Write: args.topic. */
int rooms_set_topic(struct dbconn *c, struct op *op);
/* Read: every room. */
int rooms_list(struct dbconn *c, struct op *op);
/* Write: args.member. */
int rooms_member_set(struct dbconn *c, struct op *op);
/* Write: args.member (no role). Result value: 1 removed, 0 was no member. */
int rooms_member_remove(struct dbconn *c, struct op *op);
/* Read: args.members (room 0: every membership). */
int rooms_members_list(struct dbconn *c, struct op *op);
/* Write: args.read_set. */
int rooms_read_set(struct dbconn *c, struct op *op);
/* Room administration (migration 10), args.room_admin. Write: rename
 * (ECONFLICT for a taken public name; result rooms[0]), settings (the
 * core's JSON object), delete (cascades; ENOTFOUND without the room). */
int rooms_rename(struct dbconn *c, struct op *op);
int rooms_settings_set(struct dbconn *c, struct op *op);
int rooms_delete(struct dbconn *c, struct op *op);
/* A big room is deleted in chunks of its messages, each its own write, so
 * other writes run between them (store_sqlite.c's v_room_delete): deletes
 * up to ROOMS_DELETE_CHUNK of them, oldest first; res.value says how many. */
#define ROOMS_DELETE_CHUNK 1000
int rooms_delete_chunk(struct dbconn *c, struct op *op);
/* Read: every room's settings. Result text: a JSON array. */
int rooms_settings_list(struct dbconn *c, struct op *op);

#endif
