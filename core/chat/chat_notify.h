/* Per-room notification levels (issue 15): {"type":"notify","room":…,
 * "level":"all"|"mentions"|"none"}, kept in the store (notify_set), loaded
 * at start, carried as `notify` in the room object. The level is the
 * person's: clients apply it (browser notifications, badge colour, title
 * count); plugins ask for it through chat_notify_level. Loop thread only. */
#ifndef PARLEY_CHAT_NOTIFY_H
#define PARLEY_CHAT_NOTIFY_H

#include <jansson.h>

struct client;

void chat_req_notify(struct client *cl, json_t *req, json_t *rid);
/* "all" (the default), "mentions" or "none". */
const char *chat_notify_level(const char *room_id, const char *user_id);
/* Loads every level from the store, then next(); fail(0) when the store
 * fails. A store without notify_list: everyone at "all". */
void chat_notify_load(void (*next)(void), void (*fail)(int ok));
/* A level another node stored (its room_updated for the person): kept
 * here too, so this node's room objects and digests say the same. */
void chat_notify_remote(const char *room_id, const char *user_id, const char *level);
void chat_notify_fini(void);

#endif
