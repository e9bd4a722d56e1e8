/* Pinned messages: a pin lives on its message (pin_ts, pin_user), so the
 * tombstone write of message_delete unpins it in the same update, and a
 * room's pins are one range of a partial index (schema 3). */
#ifndef STORE_MONGO_PINS_H
#define STORE_MONGO_PINS_H

#include <stdint.h>

#include <parley/plugin.h>

/* The vtable's pin_set and pins_list (loop thread). */
int pins_call_set(void *self, const char *room_id, const char *msg_id, const char *user_id, int on,
                  int64_t ts, parley_store_done done, void *ud);
int pins_call_list(void *self, const char *room_id, parley_store_done done, void *ud);

#endif
