/* Rooms an owner can run (issue 18): exec functions for ops (op.h), on
 * args.room_admin. Write: rename (ECONFLICT for a taken public name;
 * result rooms[0]), settings (the core's JSON text). Read: every room's
 * settings (result text: a JSON array). The delete: room_delete.h. */
#ifndef STORE_MONGO_ROOM_SETTINGS_H
#define STORE_MONGO_ROOM_SETTINGS_H

#include "mdb.h"
#include "op.h"

int room_admin_rename(struct dbconn *c, struct op *op);
int room_admin_settings_set(struct dbconn *c, struct op *op);
int room_admin_settings_list(struct dbconn *c, struct op *op);

#endif
