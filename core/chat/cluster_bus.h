/* Several parley nodes as one chat (issue 16): what a node delivers to
 * its own sessions is also published on the cluster provider's bus, and
 * what other nodes publish is applied here (caches, then this node's
 * sessions). Without a cluster provider every call is a no-op.
 *
 * Channels: "room.<id>" (messages and room events; a node subscribes to
 * every room it knows), "user.<id>" (events for one person's sessions;
 * subscribed while the user has a session here), "cluster" (rooms created,
 * membership and room setting changes, account changes, a person's read
 * markers and notification levels, which every node's caches need),
 * "presence" (each node's share of each person's
 * presence). */
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
/* The same for an event every node keeps (read marker, notification
 * level): on the "cluster" channel, applied also where u has no session. */
void cluster_publish_user_state(const user_rec *u, const room *r, const char *ev_json, size_t len);
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
/* What user_id's sessions on this node add up to ("online", "away",
 * "offline"): the other nodes sum it with theirs. 0, or -1 when the bus
 * did not take it (down): to be said again when it is back. */
int cluster_publish_presence(const char *user_id, const char *state);
/* user_id's account changed (role, disabled, display name): the other
 * nodes reload it from the store, then deliver profile_json (the profile
 * event, or NULL) to every session of theirs. */
void cluster_user_changed(const char *user_id, const char *profile_json, size_t len);
/* r is about to be dropped here (deleted): its channel and ordering go. */
void cluster_room_dropped(room *r);
/* A bus message of another kind (cluster_shared.c): header (one line
 * starting with its letter and this node's id) and body. 0, or -1 when
 * the bus did not take it. */
int cluster_publish_raw(const char *channel, const char *header, const char *body, size_t len);
/* This node's id on the bus ("" without a cluster). */
const char *cluster_node_id(void);
/* u's first session here opened / last one closed. */
void cluster_user_sessions(const user_rec *u, int online);

#endif
