/* room_delete in steps (room_delete.c): the room's messages in batches,
 * oldest first, each batch its own op on the room's lane; then the rest
 * of the room and the room document. */
#ifndef STORE_MONGO_ROOM_DELETE_H
#define STORE_MONGO_ROOM_DELETE_H

#include <parley/plugin.h>

/* Messages deleted per step (store_sqlite's ROOMS_DELETE_CHUNK). */
#define ROOM_DELETE_BATCH 1000

/* The vtable's room_delete (loop thread). */
int mongo_room_delete(void *self, const char *room_id, parley_store_done done, void *ud);

#endif
