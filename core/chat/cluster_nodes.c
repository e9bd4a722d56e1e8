/* Heartbeats and the other nodes' liveness; see cluster_nodes.h. */
#include "chat/cluster_nodes.h"

#include <string.h>

#include "base/log.h"
#include "base/loop.h"

#define NODE_ID_MAX 64

static struct {
	struct cluster_nodes_ops ops;
	ev_timer tick;
	int running;
	int bus_up;
	size_t n;
	struct {
		char id[NODE_ID_MAX];
		double seen;
	} nodes[CLUSTER_NODES_MAX];
} cn;

static void tick(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)w;
	(void)revents;
	if (!cn.bus_up)
		return;
	cn.ops.beat();
	double now = ev_now(loop_ev);
	for (size_t i = 0; i < cn.n;) {
		if (now - cn.nodes[i].seen < CLUSTER_NODE_LOST) {
			i++;
			continue;
		}
		char id[NODE_ID_MAX];
		memcpy(id, cn.nodes[i].id, sizeof id);
		cn.nodes[i] = cn.nodes[--cn.n];
		log_warn("cluster_node_lost", NULL, "node %s: no heartbeat for %.1f s", id,
		         CLUSTER_NODE_LOST);
		cn.ops.lost(id);
	}
}

void cluster_nodes_start(const struct cluster_nodes_ops *ops)
{
	cn.ops = *ops;
	ev_timer_init(&cn.tick, tick, CLUSTER_HEARTBEAT, CLUSTER_HEARTBEAT);
	ev_timer_start(loop_ev, &cn.tick);
	ev_unref(loop_ev); /* the heartbeat alone does not keep the loop running */
	cn.running = 1;
}

int cluster_nodes_seen(const char *node_id)
{
	if (!cn.running || strlen(node_id) >= NODE_ID_MAX)
		return 0;
	double now = ev_now(loop_ev);
	for (size_t i = 0; i < cn.n; i++) {
		if (strcmp(cn.nodes[i].id, node_id) == 0) {
			cn.nodes[i].seen = now;
			return 0;
		}
	}
	if (cn.n == CLUSTER_NODES_MAX)
		return 0;
	strcpy(cn.nodes[cn.n].id, node_id);
	cn.nodes[cn.n].seen = now;
	cn.n++;
	log_info("cluster_node_joined", NULL, "node %s is on the bus", node_id);
	return 1;
}

void cluster_nodes_bus(int up)
{
	cn.bus_up = up;
	/* Nobody was heard while the bus was down: count from now. */
	double now = ev_now(loop_ev);
	for (size_t i = 0; up && i < cn.n; i++)
		cn.nodes[i].seen = now;
}

size_t cluster_nodes_alive(void)
{
	return cn.n;
}

void cluster_nodes_fini(void)
{
	if (!cn.running)
		return;
	ev_ref(loop_ev);
	ev_timer_stop(loop_ev, &cn.tick);
	cn.running = 0;
	cn.n = 0;
}
