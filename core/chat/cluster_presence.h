/* Presence across nodes (issue 16): each node publishes, per person, what
 * its own sessions of them add up to; every node keeps the other nodes'
 * states here, so presence_of() is over all of a person's sessions on
 * all nodes. States of a node taken for gone are dropped. */
#ifndef PARLEY_CLUSTER_PRESENCE_H
#define PARLEY_CLUSTER_PRESENCE_H

#include "chat/presence.h"

#define CLUSTER_PRESENCE_NODE_MAX 128 /* bytes of a node id kept */

/* node says user_id's sessions there add up to p. 1 when that changed
 * what this node knew. */
int cluster_presence_set(const char *node, const char *user_id, enum presence p);
/* What user_id's sessions on the other nodes add up to. */
enum presence cluster_presence_remote(const char *user_id);
/* How many other nodes have a session of user_id (online or away). */
size_t cluster_presence_nodes(const char *user_id);
/* node is gone: its states are dropped; changed(user_id) for each person
 * it had online or away. */
void cluster_presence_node_gone(const char *node, void (*changed)(const char *user_id));
void cluster_presence_fini(void);

#endif
