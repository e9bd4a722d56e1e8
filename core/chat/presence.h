/* Presence: a person is online while one of their sessions is active, away
 * while every session says it is idle or hidden, offline with none. Changes
 * go to the people who share a DM or a small room with them. */
#ifndef PARLEY_PRESENCE_H
#define PARLEY_PRESENCE_H

#include <jansson.h>

#include "chat/users.h"

struct client;

enum presence { PRESENCE_OFFLINE, PRESENCE_ONLINE, PRESENCE_AWAY };

/* What u's sessions add up to now. */
enum presence presence_of(const user_rec *u);
const char *presence_name(enum presence p);
/* Announces u's presence when it differs from what was last announced
 * (called after a session comes, goes or changes its own state). */
void presence_changed(user_rec *u);
/* {user id: "online"|"away"} of the people whose presence u is sent (for
 * `ready`, so nobody online shows as offline until they change state). */
json_t *presence_of_peers(user_rec *u);

#endif
