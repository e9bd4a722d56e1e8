/* The other nodes' presence states; see cluster_presence.h. Only states
 * other than offline are kept: a person offline everywhere costs nothing. */
#include "chat/cluster_presence.h"

#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"

struct node_state {
	char node[CLUSTER_PRESENCE_NODE_MAX];
	enum presence p;
};

struct person {
	char *user_id;
	struct node_state *states;
	size_t n, cap;
};

static strmap people; /* user id -> struct person */
static int ready;

static void person_free(struct person *pp)
{
	free(pp->states);
	free(pp->user_id);
	free(pp);
}

static struct person *person_get(const char *user_id, int create)
{
	if (!ready) {
		if (!create)
			return NULL;
		strmap_init(&people, 0);
		ready = 1;
	}
	struct person *pp = strmap_get(&people, user_id);
	if (pp || !create)
		return pp;
	pp = calloc(1, sizeof *pp);
	if (!pp || !(pp->user_id = strdup(user_id)) || strmap_put(&people, pp->user_id, pp) < 0) {
		if (pp)
			free(pp->user_id);
		free(pp);
		return NULL;
	}
	return pp;
}

static void remove_state(struct person *pp, size_t i)
{
	pp->states[i] = pp->states[--pp->n];
}

int cluster_presence_set(const char *node, const char *user_id, enum presence p)
{
	if (strlen(node) >= CLUSTER_PRESENCE_NODE_MAX)
		return 0;
	struct person *pp = person_get(user_id, p != PRESENCE_OFFLINE);
	if (!pp)
		return 0;
	for (size_t i = 0; i < pp->n; i++) {
		if (strcmp(pp->states[i].node, node) != 0)
			continue;
		if (pp->states[i].p == p)
			return 0;
		if (p == PRESENCE_OFFLINE)
			remove_state(pp, i);
		else
			pp->states[i].p = p;
		if (!pp->n) {
			strmap_del(&people, pp->user_id);
			person_free(pp);
		}
		return 1;
	}
	if (p == PRESENCE_OFFLINE)
		return 0;
	if (pp->n == pp->cap) {
		size_t ncap = pp->cap ? pp->cap * 2 : 2;
		struct node_state *ns = realloc(pp->states, ncap * sizeof *ns);
		if (!ns)
			return 0;
		pp->states = ns;
		pp->cap = ncap;
	}
	strcpy(pp->states[pp->n].node, node);
	pp->states[pp->n].p = p;
	pp->n++;
	return 1;
}

enum presence cluster_presence_remote(const char *user_id)
{
	struct person *pp = person_get(user_id, 0);
	enum presence best = PRESENCE_OFFLINE;
	for (size_t i = 0; pp && i < pp->n; i++) {
		if (pp->states[i].p == PRESENCE_ONLINE)
			return PRESENCE_ONLINE;
		best = PRESENCE_AWAY;
	}
	return best;
}

size_t cluster_presence_nodes(const char *user_id)
{
	struct person *pp = person_get(user_id, 0);
	return pp ? pp->n : 0;
}

void cluster_presence_node_gone(const char *node, void (*changed)(const char *user_id))
{
	if (!ready)
		return;
	/* Collected first: the map must not change under strmap_next. */
	size_t n = 0, cap = 0, pos = 0;
	char **ids = NULL;
	for (struct person *pp; (pp = strmap_next(&people, &pos, NULL));) {
		for (size_t i = 0; i < pp->n; i++) {
			if (strcmp(pp->states[i].node, node) != 0)
				continue;
			if (n == cap) {
				size_t ncap = cap ? cap * 2 : 16;
				char **nid = realloc(ids, ncap * sizeof *nid);
				if (!nid)
					break;
				ids = nid;
				cap = ncap;
			}
			ids[n] = strdup(pp->user_id);
			if (ids[n])
				n++;
			break;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (cluster_presence_set(node, ids[i], PRESENCE_OFFLINE))
			changed(ids[i]);
		free(ids[i]);
	}
	free(ids);
}

void cluster_presence_fini(void)
{
	if (!ready)
		return;
	size_t pos = 0;
	for (struct person *pp; (pp = strmap_next(&people, &pos, NULL));)
		person_free(pp);
	strmap_free(&people);
	ready = 0;
}
