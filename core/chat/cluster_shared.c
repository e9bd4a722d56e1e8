/* One-per-cluster state carried on the bus; see cluster_shared.h. */
#include "chat/cluster_shared.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/loop.h"
#include "chat/chat_internal.h"
#include "chat/cluster_bus.h"
#include "chat/cluster_nodes.h"
#include "chat/cluster_presence.h"
#include "chat/mutes.h"

#define HEADER_MAX 512

/* ---- mutes -------------------------------------------------------------- */

static void publish_mute(const char *user_id, const char *room_id, int64_t until_ms, int64_t set_ms)
{
	char header[HEADER_MAX], body[32];
	snprintf(header, sizeof header, "T %s %s %s %lld", cluster_node_id(), user_id, room_id,
	         (long long)until_ms);
	int n = snprintf(body, sizeof body, "%lld", (long long)set_ms);
	cluster_publish_raw("cluster", header, body, (size_t)n);
}

int cluster_mute_set(const char *user_id, const char *room_id, int64_t until_ms)
{
	int64_t now = mutes_now_ms();
	if (mutes_apply(user_id, room_id, until_ms, now) < 0)
		return -1;
	if (cluster_bus_active())
		publish_mute(user_id, room_id, until_ms, now);
	return 0;
}

void cluster_mutes_publish_all(void)
{
	mutes_each(publish_mute);
}

/* A decimal integer of a bus message; -1 when it is not one. */
static int64_t parse_ms(const char *s, size_t len)
{
	char buf[24];
	if (!len || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *end;
	long long v = strtoll(buf, &end, 10);
	return *end || v < 0 ? -1 : (int64_t)v;
}

void cluster_mute_heard(const char *user_id, const char *room_id, const char *until,
                        const char *body, size_t len)
{
	int64_t until_ms = parse_ms(until, strlen(until)), set_ms = parse_ms(body, len);
	if (until_ms >= 0 && set_ms >= 0)
		mutes_apply(user_id, room_id, until_ms, set_ms);
}

/* ---- read markers and mention counts ------------------------------------- */

void cluster_read_publish(const room *r, const user_rec *u, int64_t seq, int all_read)
{
	if (!cluster_bus_active())
		return;
	char channel[HEADER_MAX], header[HEADER_MAX];
	snprintf(channel, sizeof channel, "room.%s", r->id);
	snprintf(header, sizeof header, "K %s %s %s %lld", cluster_node_id(), r->id, u->id,
	         (long long)seq);
	cluster_publish_raw(channel, header, all_read ? "1" : "0", 1);
}

void cluster_read_heard(const char *room_id, const char *user_id, const char *seq_word,
                        const char *body, size_t len)
{
	room *r = room_by_id(room_id);
	member *mb = r ? room_member(r, user_id) : NULL;
	int64_t seq = parse_ms(seq_word, strlen(seq_word));
	if (!mb || seq <= 0)
		return;
	if (seq > mb->read_seq)
		mb->read_seq = seq;
	/* Cleared where it was read: the messages it had read there may not
	 * all have reached this node yet, so the reader's node decides. */
	if (len == 1 && body[0] == '1')
		mb->mentions = 0;
}

/* ---- typing and rates ---------------------------------------------------- */

void cluster_typing_heard(room *r, const user_rec *u)
{
	member *mb = room_member(r, u->id);
	if (mb)
		mb->last_typing = ev_now(loop_ev);
}

const struct rate_spec *cluster_rate_share(const user_rec *u, const struct rate_spec *spec,
                                           struct rate_spec *out)
{
	if (!cluster_bus_active() || spec->per_s <= 0)
		return spec;
	/* The nodes with a session of u; none anywhere (HTTP only, a bot's
	 * token): any node may get its requests, so every live node. */
	size_t k = cluster_presence_nodes(u->id) + (u->n_clients ? 1 : 0);
	if (!k)
		k = cluster_nodes_alive() + 1;
	if (k <= 1)
		return spec;
	*out = *spec;
	out->per_s = spec->per_s / (double)k;
	out->burst = spec->burst / (double)k;
	if (out->burst < 1)
		out->burst = 1; /* a share below one token would never send */
	return out;
}
