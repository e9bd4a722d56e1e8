/* Per-room notification levels: one document per (room, user) whose level
 * is not "all" (the default is no document), in `notify` (schema 3). It
 * outlives leaving the room, as in store_sqlite. */
#ifndef STORE_MONGO_NOTIFY_H
#define STORE_MONGO_NOTIFY_H

#include <parley/plugin.h>

/* The vtable's notify_set and notify_list (loop thread). */
int notify_call_set(void *self, const char *room_id, const char *user_id, const char *level,
                    parley_store_done done, void *ud);
int notify_call_list(void *self, const char *user_id, parley_store_done done, void *ud);

#endif
