/* The other nodes' liveness, from heartbeats on the bus: each node says
 * "H <node>" every CLUSTER_HEARTBEAT s; a node not heard for
 * CLUSTER_NODE_LOST s while the bus is up is taken for gone (killed,
 * partitioned). Its last messages may have been stored and acked but never
 * published, so the survivors read the rooms' tails from the store. */
#ifndef PARLEY_CLUSTER_NODES_H
#define PARLEY_CLUSTER_NODES_H

#include <stddef.h>

#define CLUSTER_HEARTBEAT 1.0 /* s between heartbeats */
#define CLUSTER_NODE_LOST 3.5 /* s of silence before a node is gone */
#define CLUSTER_NODES_MAX 256 /* nodes remembered */

struct cluster_nodes_ops {
	void (*beat)(void);                /* publish our heartbeat */
	void (*lost)(const char *node_id); /* a node went silent */
};

void cluster_nodes_start(const struct cluster_nodes_ops *ops);
/* Heard from node_id (any bus message of it). 1 when the node is new
 * here (first heard, or heard again after it was taken for gone). */
int cluster_nodes_seen(const char *node_id);
/* The bus went down or came back: silence while it is down is not death. */
void cluster_nodes_bus(int up);
/* Nodes heard from recently (this one not counted). */
size_t cluster_nodes_alive(void);
void cluster_nodes_fini(void);

#endif
