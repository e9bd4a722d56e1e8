/* Presence: aggregated from the sessions, announced on change only, to the
 * people u shares a DM or a room of at most limits.presence_room_max
 * members with (in bigger rooms everyone's every change would be noise,
 * and an O(members²) fan-out). */
#include "chat/presence.h"

#include <string.h>

#include "base/config.h"
#include "base/loop.h"
#include "chat/chat.h"
#include "chat/chat_internal.h"
#include "chat/cluster_bus.h"
#include "chat/cluster_presence.h"
#include "chat/protocol.h"
#include "host/hooks.h"
#include "net/ws.h"

enum presence presence_local(const user_rec *u)
{
	if (!u || u->n_clients == 0)
		return PRESENCE_OFFLINE;
	for (const client *cl = u->clients; cl; cl = cl->user_next)
		if (!cl->away)
			return PRESENCE_ONLINE;
	return PRESENCE_AWAY;
}

enum presence presence_of(const user_rec *u)
{
	enum presence here = presence_local(u);
	if (here == PRESENCE_ONLINE || !u)
		return here;
	enum presence there = cluster_presence_remote(u->id);
	return there == PRESENCE_OFFLINE ? here : there;
}

const char *presence_name(enum presence p)
{
	switch (p) {
	case PRESENCE_ONLINE:
		return "online";
	case PRESENCE_AWAY:
		return "away";
	default:
		return "offline";
	}
}

/* Calls fn for every online person (once, never u) who is told u's
 * presence: the subscriptions of u's rooms are exactly the online ones. */
static void for_each_peer(user_rec *u, void (*fn)(user_rec *peer, void *arg), void *arg)
{
	int64_t max = server_config ? server_config->limits.presence_room_max : 100;
	uint64_t mark = users_new_mark();
	u->mark = mark; /* not to oneself */
	for (size_t i = 0; i < u->n_memberships; i++) {
		room *r = u->memberships[i]->room;
		if (strcmp(r->kind, "dm") != 0 && (int64_t)r->n_members > max)
			continue;
		for (sub *sb = r->subs; sb; sb = sb->rnext) {
			user_rec *peer = sb->client->user;
			if (!peer || peer->mark == mark)
				continue;
			peer->mark = mark;
			fn(peer, arg);
		}
	}
}

static void send_frame(user_rec *peer, void *arg)
{
	for (client *cl = peer->clients; cl; cl = cl->user_next)
		ws_send_frame(cl->c, arg);
}

/* Announces u's summed presence to this node's peers when it changed. */
static void announce(user_rec *u, int run_hook)
{
	enum presence now = presence_of(u);
	if ((int)now == u->presence_sent)
		return;
	u->presence_sent = (int)now;
	const char *status = presence_name(now);
	sbuf *frame = chat_frame(json_pack("{s:s, s:o, s:s}", "type", "presence", "user",
	                                   proto_user(u), "status", status));
	if (frame) {
		for_each_peer(u, send_frame, frame);
		sbuf_unref(frame);
	}
	if (!run_hook)
		return;
	struct chat_hook h;
	chat_hook_init(&h, PARLEY_HOOK_PRESENCE, u, NULL);
	h.args.status = status;
	hooks_run(&h.args, NULL, NULL);
}

/* Seconds an "offline" is said again to a node that asks for everything
 * (Q): a node back on the bus may ask before its subscriptions took the
 * republish that followed an outage, and would keep the person online. */
#define OFFLINE_REPEAT_S 30.0

static void publish_share(user_rec *u, enum presence here)
{
	int ok = cluster_publish_presence(u->id, presence_name(here)) == 0;
	u->presence_published = ok ? (int)here : -1;
	if (ok && here == PRESENCE_OFFLINE)
		u->presence_left_at = ev_now(loop_ev);
}

void presence_changed(user_rec *u)
{
	enum presence here = presence_local(u);
	if ((int)here != u->presence_published)
		publish_share(u, here);
	announce(u, 1);
}

void presence_remote_changed(user_rec *u)
{
	/* Met here a moment ago, rooms not loaded yet: told once they are
	 * (announcing now would tell no one and count as told). */
	if (!u->n_memberships)
		return;
	announce(u, 0);
}

void presence_publish_all(void)
{
	size_t pos = 0;
	for (user_rec *u; (u = users_next(&pos));) {
		/* Also whoever left while the bus was down (the others still
		 * have them as they were) or a moment ago. */
		if (!u->n_clients && u->presence_published != -1 &&
		    ev_now(loop_ev) - u->presence_left_at > OFFLINE_REPEAT_S)
			continue;
		publish_share(u, presence_local(u));
	}
}

static void add_peer(user_rec *peer, void *arg)
{
	enum presence p = presence_of(peer);
	if (p != PRESENCE_OFFLINE)
		json_object_set_new(arg, peer->id, json_string(presence_name(p)));
}

/* People online only on other nodes have no subscription here: they
 * come from the members of the same rooms (the same size limit). */
static void add_remote_peers(user_rec *u, json_t *map)
{
	int64_t max = server_config ? server_config->limits.presence_room_max : 100;
	for (size_t i = 0; i < u->n_memberships; i++) {
		room *r = u->memberships[i]->room;
		if (strcmp(r->kind, "dm") != 0 && (int64_t)r->n_members > max)
			continue;
		member **members = room_sorted_members(r);
		for (size_t j = 0; members && j < r->n_members; j++) {
			user_rec *peer = members[j]->user;
			if (peer == u || json_object_get(map, peer->id))
				continue;
			enum presence p = presence_of(peer);
			if (p != PRESENCE_OFFLINE)
				json_object_set_new(map, peer->id, json_string(presence_name(p)));
		}
	}
}

json_t *presence_of_peers(user_rec *u)
{
	json_t *map = json_object();
	if (!map)
		return NULL;
	for_each_peer(u, add_peer, map);
	if (cluster_bus_active())
		add_remote_peers(u, map);
	return map;
}
