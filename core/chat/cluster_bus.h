/* Several parley nodes as one chat (issue 16): what a node delivers to
 * its own sessions is also published on the cluster provider's bus, and
 * what other nodes publish is applied here (caches, then this node's
 * sessions). Without a cluster provider every call is a no-op.
 *
 * Channels: "room.<id>" (messages and room events; a node subscribes to
 * every room it knows), "user.<id>" (events for one person's sessions;
 * subscribed while the user has a session here), "cluster" (rooms created
 * and membership changes, which every node's caches need). */
#ifndef PARLEY_CLUSTER_BUS_H
#define PARLEY_CLUSTER_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "chat/room.h"
#include "chat/users.h"

/* After the chat layer loaded the store: subscribes and starts ordering.
 * 0, or -1 when the provider refused to start. */
int cluster_bus_start(void);
/* 1 when a cluster provider is configured. */
int cluster_bus_active(void);
void cluster_bus_fini(void);

/* A room event (ev_json, its "type" given) delivered here to r's
 * sessions except skip's. */
void cluster_publish_room_event(const room *r, const char *type, const char *ev_json, size_t len,
                                const user_rec *skip);
/* An event for u's sessions (with r: only tokens that may read r). */
void cluster_publish_user_event(const user_rec *u, const room *r, const char *ev_json, size_t len);
/* A stored message: own_json is its frame with client_id (the author's). */
void cluster_publish_message(const room *r, int64_t seq, const char *author_id,
                             const char *own_json, size_t len);
/* Sessions closed elsewhere too. kind: "revoked" (disabled: every
 * session), "sessions" (all but the credential keep_hash), "end" (the
 * credential hash, or all of user_id's when hash is NULL; user_id NULL:
 * anyone's with that hash). */
void cluster_publish_sessions(const char *kind, const char *user_id, const char *hash);
/* A room this node created: the other nodes load it from the store. */
void cluster_room_added(room *r);
/* An account this node had not seen authenticated here (made by the
 * admin CLI, or elsewhere): the other nodes load it too. */
void cluster_user_known(const user_rec *u);
/* u's first session here opened / last one closed. */
void cluster_user_sessions(const user_rec *u, int online);

#endif
