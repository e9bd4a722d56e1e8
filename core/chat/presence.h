/* Presence: a person is online while one of their sessions is active, away
 * while every session says it is idle or hidden, offline with none. Changes
 * go to the people who share a DM or a small room with them. */
#ifndef PARLEY_PRESENCE_H
#define PARLEY_PRESENCE_H

#include <jansson.h>

#include "chat/users.h"

struct client;

enum presence { PRESENCE_OFFLINE, PRESENCE_ONLINE, PRESENCE_AWAY };

/* What u's sessions add up to now, on every node. */
enum presence presence_of(const user_rec *u);
/* What u's sessions on this node add up to. */
enum presence presence_local(const user_rec *u);
const char *presence_name(enum presence p);
/* Announces u's presence when it differs from what was last announced
 * (called after a session comes, goes or changes its own state). */
void presence_changed(user_rec *u);
/* Another node's share of u's presence changed: announced here when the
 * sum did (the presence hook runs on the node where it happened only). */
void presence_remote_changed(user_rec *u);
/* Puts this node's share of every person with a session here on the
 * cluster bus (a node joined, or the bus came back). */
void presence_publish_all(void);
/* {user id: "online"|"away"} of the people whose presence u is sent (for
 * `ready`, so nobody online shows as offline until they change state). */
json_t *presence_of_peers(user_rec *u);

#endif
