/* Pinned messages (issue 15): the `pin` and `pins` requests, the room's
 * list of pinned ids (in memory, loaded at start, kept in step after each
 * store write) and unpinning when a message is deleted. Loop thread only. */
#ifndef PARLEY_CHAT_PINS_H
#define PARLEY_CHAT_PINS_H

#include <jansson.h>

struct client;
struct room;
struct user_rec;

#define CHAT_PINS_MAX 100 /* pinned messages per room */

void chat_req_pin(struct client *cl, json_t *req, json_t *rid);
void chat_req_pins(struct client *cl, json_t *req, json_t *rid);
/* The pinned message ids of r, newest pin first (a new array). */
json_t *chat_pins_json(const struct room *r);
/* Loads every room's pins from the store, then calls next(); fail(0) when
 * the store fails. A store without pins has none. */
void chat_pins_load(void (*next)(void), void (*fail)(int ok));
/* A message of r was deleted (the store unpinned it): forget it and tell
 * the members, when it was pinned. */
void chat_pins_deleted(struct room *r, const char *msg_id, const struct user_rec *by);
/* Retention turned messages of r into tombstones: the store no longer
 * lists them as pinned. Re-reads r's pins (when it has any) and forgets,
 * telling the members, those that went. */
void chat_pins_pruned(struct room *r);
/* Another node's pin event for r (its store write is done): this node's
 * list follows, so its room objects list the same pins. */
void chat_pins_remote(const struct room *r, const char *msg_id, int on);
void chat_pins_fini(void);

#endif
