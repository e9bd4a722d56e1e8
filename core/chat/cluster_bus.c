/* The chat layer on the cluster bus; see cluster_bus.h.
 *
 * A bus message is one header line and a body:
 *   M <node> <room> <author> <seq>\n<the author's message frame>
 *   R <node> <room> <skip user|-> <type>\n<event frame>
 *   U <node> <user> <room|->\n<event frame>
 *   S <node> <kind> <user|-> <hash|->\n
 *   N <node> <room>\n
 *   Y <node> <user>\n
 *   O <node> <user> <online|away|offline>\n   (on "presence")
 *   Q <node>\n                 (on "presence": everyone publishes theirs)
 *   P <node> <user>\n<profile event or nothing>   (an account changed)
 *   H <node>\n                 (heartbeat: cluster_nodes.c)
 *   T <node> <user> <room> <until_ms>\n<set_ms>   (a mute: cluster_shared.c)
 *   K <node> <room> <user> <seq>\n<1 when all read>   (a read marker)
 * The body is the frame as this node's sessions got it, so a receiving node
 * wraps it in one WebSocket frame without parsing it (a message is
 * serialised once per node); only message frames (for the variant without
 * client_id) and membership events are parsed. A node ignores its own. */
#include "chat/cluster_bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "base/ready_warnings.h"
#include "chat/chat_internal.h"
#include "chat/chat_notify.h"
#include "chat/chat_pins.h"
#include "chat/chat_room_admin.h"
#include "chat/cluster_nodes.h"
#include "chat/cluster_order.h"
#include "chat/cluster_presence.h"
#include "chat/cluster_shared.h"
#include "chat/presence.h"
#include "chat/profiles.h"
#include "host/plugin_host.h"
#include "net/ws.h"

#define BUS_HEADER_MAX 512 /* bytes of a header line */
#define BUS_FIELDS     5   /* words in a header line */
#define BUS_ID_MAX     128 /* bytes of an id in a header */
#define BUS_WARNING    "cluster"

static struct {
	const parley_cluster_vtable *vt;
	void *self;
	const char *node;
	int started;
	int connected;      /* the provider's last word: up */
	int was_up;         /* the bus was up once: a later up is a recovery */
	int asked_since_up; /* Q said again once another node was heard */
	metric *up, *received, *ignored, *repaired, *lag, *published, *downs, *nodes;
} bus;

int cluster_bus_active(void)
{
	return bus.started;
}

/* ---- publishing --------------------------------------------------------- */

/* 0, or -1 when the bus did not take it. */
static int publish(const char *channel, const char *header, const char *body, size_t len)
{
	if (!bus.started)
		return 0;
	/* Known down: not handed to the provider, whose link may not have
	 * noticed yet and would take it into a dead socket. The caller sees
	 * the failure (presence says it again when the bus is back). */
	if (!bus.connected)
		return -1;
	size_t hl = strlen(header);
	char *buf = malloc(hl + 1 + len);
	if (!buf)
		return -1;
	memcpy(buf, header, hl);
	buf[hl] = '\n';
	if (len)
		memcpy(buf + hl + 1, body, len);
	/* Dropped while the bus is down: the receivers repair from the store. */
	int rc = bus.vt->publish(bus.self, channel, buf, hl + 1 + len) == PARLEY_OK ? 0 : -1;
	if (rc == 0)
		metric_add(bus.published, 1);
	free(buf);
	return rc;
}

int cluster_publish_raw(const char *channel, const char *header, const char *body, size_t len)
{
	return publish(channel, header, body, len);
}

const char *cluster_node_id(void)
{
	return bus.started ? bus.node : "";
}

/* Events that change what every node keeps about a room's members. */
static int membership_event(const char *type)
{
	return strcmp(type, "member_joined") == 0 || strcmp(type, "member_left") == 0 ||
	       strcmp(type, "room_updated") == 0 || strcmp(type, "member_updated") == 0;
}

void cluster_publish_room_event(const room *r, const char *type, const char *ev_json, size_t len,
                                const user_rec *skip)
{
	if (!bus.started || !type)
		return;
	char channel[BUS_HEADER_MAX], header[BUS_HEADER_MAX];
	snprintf(channel, sizeof channel, "room.%s", r->id);
	snprintf(header, sizeof header, "R %s %s %s %s", bus.node, r->id, skip ? skip->id : "-",
	         type);
	publish(membership_event(type) ? "cluster" : channel, header, ev_json, len);
}

void cluster_publish_user_event(const user_rec *u, const room *r, const char *ev_json, size_t len)
{
	if (!bus.started)
		return;
	char channel[BUS_HEADER_MAX], header[BUS_HEADER_MAX];
	snprintf(channel, sizeof channel, "user.%s", u->id);
	snprintf(header, sizeof header, "U %s %s %s", bus.node, u->id, r ? r->id : "-");
	publish(channel, header, ev_json, len);
}

void cluster_publish_user_state(const user_rec *u, const room *r, const char *ev_json, size_t len)
{
	if (!bus.started)
		return;
	char header[BUS_HEADER_MAX];
	snprintf(header, sizeof header, "U %s %s %s", bus.node, u->id, r ? r->id : "-");
	publish("cluster", header, ev_json, len);
}

void cluster_publish_message(const room *r, int64_t seq, const char *author_id,
                             const char *own_json, size_t len)
{
	if (!bus.started)
		return;
	char channel[BUS_HEADER_MAX], header[BUS_HEADER_MAX];
	snprintf(channel, sizeof channel, "room.%s", r->id);
	snprintf(header, sizeof header, "M %s %s %s %lld", bus.node, r->id, author_id,
	         (long long)seq);
	publish(channel, header, own_json, len);
}

void cluster_publish_sessions(const char *kind, const char *user_id, const char *hash)
{
	if (!bus.started)
		return;
	char channel[BUS_HEADER_MAX], header[BUS_HEADER_MAX];
	if (user_id)
		snprintf(channel, sizeof channel, "user.%s", user_id);
	else
		snprintf(channel, sizeof channel, "cluster");
	snprintf(header, sizeof header, "S %s %s %s %s", bus.node, kind, user_id ? user_id : "-",
	         hash ? hash : "-");
	publish(channel, header, NULL, 0);
}

int cluster_publish_presence(const char *user_id, const char *state)
{
	if (!bus.started)
		return 0;
	char header[BUS_HEADER_MAX];
	snprintf(header, sizeof header, "O %s %s %s", bus.node, user_id, state);
	return publish("presence", header, NULL, 0);
}

void cluster_user_changed(const char *user_id, const char *profile_json, size_t len)
{
	if (!bus.started)
		return;
	char header[BUS_HEADER_MAX];
	snprintf(header, sizeof header, "P %s %s", bus.node, user_id);
	publish("cluster", header, profile_json, profile_json ? len : 0);
}

void cluster_room_dropped(room *r)
{
	if (!bus.started)
		return;
	char channel[BUS_HEADER_MAX];
	snprintf(channel, sizeof channel, "room.%s", r->id);
	bus.vt->unsubscribe(bus.self, channel);
	cluster_order_forget(r);
}

static void subscribe_room(room *r)
{
	char channel[BUS_HEADER_MAX];
	snprintf(channel, sizeof channel, "room.%s", r->id);
	bus.vt->subscribe(bus.self, channel);
	cluster_order_room(r);
}

void cluster_room_added(room *r)
{
	if (!bus.started)
		return;
	subscribe_room(r);
	char header[BUS_HEADER_MAX];
	snprintf(header, sizeof header, "N %s %s", bus.node, r->id);
	publish("cluster", header, NULL, 0);
}

void cluster_user_known(const user_rec *u)
{
	if (!bus.started)
		return;
	char header[BUS_HEADER_MAX];
	snprintf(header, sizeof header, "Y %s %s", bus.node, u->id);
	publish("cluster", header, NULL, 0);
}

void cluster_user_sessions(const user_rec *u, int online)
{
	if (!bus.started)
		return;
	char channel[BUS_HEADER_MAX];
	snprintf(channel, sizeof channel, "user.%s", u->id);
	if (online)
		bus.vt->subscribe(bus.self, channel);
	else
		bus.vt->unsubscribe(bus.self, channel);
}

/* ---- a room's members from the store ------------------------------------ */

/* After another node changed a room (created it, members joined or left,
 * the topic): this node reloads the room and its members from the store,
 * then delivers the event that said so (if any) to its own sessions. */
struct resync_op {
	char *room_id;
	unsigned gen;     /* the room's resyncs when this one started */
	sbuf *frame;      /* delivered once the caches are in step; may be NULL */
	int frame_before; /* member_left: to the leaver too, so before */
	json_t *settings; /* room_updated: the room's settings, applied here */
	char *joined_id;  /* member_joined: who joined */
};

static void resync_free(struct resync_op *op)
{
	if (op->frame)
		sbuf_unref(op->frame);
	json_decref(op->settings);
	free(op->joined_id);
	free(op->room_id);
	free(op);
}

/* A member_joined's frame, to this node's sessions once the member is in
 * the cache: not when they were told already, by this node reading the
 * account's memberships first (chat.c, joined_told), which the join raced.
 * Told with the member in the cache, so such a read finishing later finds
 * it there and does not tell it again. */
static void tell_joined(room *r, sbuf *frame, const char *joined_id)
{
	member *m = joined_id ? room_member(r, joined_id) : NULL;
	if (m && m->joined_told) {
		m->joined_told = 0;
		return;
	}
	chat_broadcast(r, frame, 0, NULL);
}

/* A member whose account this node has not seen: loaded, then added (and
 * then told, when the reload's frame names them). */
struct member_user_op {
	char *room_id;
	char *user_id;
	enum room_role role;
	int64_t read_seq;
	sbuf *joined_frame; /* or NULL */
};

static void member_user_free(struct member_user_op *op)
{
	if (op->joined_frame)
		sbuf_unref(op->joined_frame);
	free(op->user_id);
	free(op->room_id);
	free(op);
}

static void add_local_member(room *r, user_rec *u, enum room_role role, int64_t read_seq)
{
	int fresh = room_member(r, u->id) == NULL;
	if (!room_add_member(r, u, role, read_seq))
		return;
	if (fresh && u->clients) {
		chat_subscribe_user(u, r);
		chat_send_user_local(
		    u, r, json_pack("{s:s, s:o}", "type", "room_updated", "room", proto_room(r, u)),
		    NULL);
	}
}

static void member_user_loaded(void *ud, const parley_store_result *res)
{
	struct member_user_op *op = ud;
	room *r = room_by_id(op->room_id);
	if (res->rc == PARLEY_OK && res->n_users && r) {
		user_rec *u = chat_user_from(&res->users[0]);
		if (u) {
			add_local_member(r, u, op->role, op->read_seq);
			presence_remote_changed(u); /* told before it was known here */
		}
	}
	if (r && op->joined_frame)
		tell_joined(r, op->joined_frame, op->user_id);
	member_user_free(op);
}

/* One member of a reloaded list into the cache; with joined_frame (the
 * member_joined naming them), that frame is told once they are in. */
static void resync_add(room *r, const parley_member *pm, sbuf *joined_frame)
{
	enum room_role role = ROLE_MEMBER;
	room_role_parse(pm->role, &role);
	user_rec *u = users_by_id(pm->user_id);
	if (u) {
		add_local_member(r, u, role, pm->read_seq);
		if (joined_frame)
			tell_joined(r, joined_frame, u->id);
		return;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	struct member_user_op *mu = calloc(1, sizeof *mu);
	if (!mu || !(mu->room_id = strdup(r->id)) || !(mu->user_id = strdup(pm->user_id))) {
		if (mu)
			member_user_free(mu);
		if (joined_frame)
			chat_broadcast(r, joined_frame, 0, NULL);
		return;
	}
	mu->role = role;
	mu->read_seq = pm->read_seq;
	mu->joined_frame = joined_frame ? sbuf_ref(joined_frame) : NULL;
	if (st->user_get(self, mu->user_id, NULL, member_user_loaded, mu) != PARLEY_PENDING) {
		if (joined_frame)
			chat_broadcast(r, joined_frame, 0, NULL);
		member_user_free(mu);
	}
}

/* The member a member_joined names, in a reloaded list (or NULL). */
static const parley_member *joined_in(const struct resync_op *op, const parley_store_result *res)
{
	for (size_t i = 0; op->joined_id && i < res->n_members; i++)
		if (strcmp(res->members[i].user_id, op->joined_id) == 0)
			return &res->members[i];
	return NULL;
}

static void members_resynced(void *ud, const parley_store_result *res)
{
	struct resync_op *op = ud;
	room *r = room_by_id(op->room_id);
	if (res->rc != PARLEY_OK || !r) {
		resync_free(op);
		return;
	}
	sbuf *after = op->frame && !op->frame_before ? op->frame : NULL;
	const parley_member *joined = after ? joined_in(op, res) : NULL;
	if (op->gen != r->resyncs) {
		/* A newer reload is on its way: this list may predate a change
		 * applied here since (a kick), and would undo it for a while.
		 * Only the member a join names is taken from it, to be in the
		 * cache when its frame is told (the newer reload settles it). */
		if (joined)
			resync_add(r, joined, after);
		else if (after)
			tell_joined(r, after, op->joined_id);
		resync_free(op);
		return;
	}
	/* Who is no longer a member. */
	member **sorted = room_sorted_members(r);
	size_t n = r->n_members;
	user_rec **gone = n ? calloc(n, sizeof *gone) : NULL;
	size_t n_gone = 0;
	for (size_t i = 0; gone && i < n; i++) {
		int still = 0;
		for (size_t j = 0; j < res->n_members && !still; j++)
			still = strcmp(res->members[j].user_id, sorted[i]->user->id) == 0;
		if (!still)
			gone[n_gone++] = sorted[i]->user;
	}
	for (size_t i = 0; i < n_gone; i++) {
		chat_unsubscribe_user(gone[i], r);
		room_remove_member(r, gone[i]->id);
	}
	free(gone);
	/* Who joined (or changed role); the frame once its member is in. */
	for (size_t i = 0; i < res->n_members; i++)
		resync_add(r, &res->members[i], &res->members[i] == joined ? after : NULL);
	if (after && !joined)
		tell_joined(r, after, op->joined_id);
	resync_free(op);
}

static void room_resynced(void *ud, const parley_store_result *res)
{
	struct resync_op *op = ud;
	if (res->rc != PARLEY_OK || !res->n_rooms) {
		resync_free(op);
		return;
	}
	room *r = room_upsert(&res->rooms[0]);
	if (!r) {
		resync_free(op);
		return;
	}
	if (!r->order)
		subscribe_room(r);
	if (op->settings && strcmp(r->kind, "dm") != 0)
		chat_room_settings_apply(r, op->settings);
	if (op->frame && op->frame_before)
		chat_broadcast(r, op->frame, 0, NULL);
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (st->members_list(self, r->id, members_resynced, op) != PARLEY_PENDING)
		resync_free(op);
}

static void resync_room(const char *room_id, sbuf *frame, int frame_before, json_t *settings,
                        const char *joined_id)
{
	struct resync_op *op = calloc(1, sizeof *op);
	if (!op || !(op->room_id = strdup(room_id)) ||
	    (joined_id && !(op->joined_id = strdup(joined_id)))) {
		if (op)
			free(op->room_id);
		free(op);
		json_decref(settings);
		return;
	}
	op->settings = settings;
	room *known = room_by_id(room_id);
	if (known)
		op->gen = ++known->resyncs;
	op->frame = frame ? sbuf_ref(frame) : NULL;
	op->frame_before = frame_before;
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (st->room_get(self, room_id, NULL, room_resynced, op) != PARLEY_PENDING)
		resync_free(op);
}

/* ---- receiving ------------------------------------------------------------ */

static void apply_message(room *r, const char *author_id, int64_t seq, const char *body, size_t len)
{
	json_t *own = json_loadb(body, len, 0, NULL);
	if (!json_is_object(own)) {
		json_decref(own);
		metric_add(bus.ignored, 1);
		return;
	}
	json_t *ts = json_object_get(own, "ts");
	if (json_is_integer(ts))
		metric_set(bus.lag, (double)(loop_now_ms() - json_integer_value(ts)) / 1000.0);
	json_t *mentions = json_object_get(own, "mentions");
	char *mentions_json = json_is_array(mentions) ? json_dumps(mentions, JSON_COMPACT) : NULL;
	int with_client_id = json_object_get(own, "client_id") != NULL;
	json_object_del(own, "client_id");
	sbuf *common = chat_frame(own); /* steals own */
	sbuf *own_frame = with_client_id ? ws_frame_text(body, len) : NULL;
	if (common)
		cluster_order_submit(r, seq, common, own_frame, author_id, mentions_json);
	free(mentions_json);
	if (common)
		sbuf_unref(common);
	if (own_frame)
		sbuf_unref(own_frame);
}

static void apply_room_event(const char *room_id, const char *skip_id, const char *type,
                             const char *body, size_t len)
{
	room *r = room_by_id(room_id);
	sbuf *frame = ws_frame_text(body, len);
	if (!frame)
		return;
	if (strcmp(type, "room_deleted") == 0) {
		/* Told like on the deleting node, then gone from the caches. */
		if (r) {
			chat_broadcast(r, frame, 0, NULL);
			chat_room_drop_local(r);
		}
	} else if (strcmp(type, "member_left") == 0 && r) {
		/* Told with the leaver still in the room, who then goes at once:
		 * what the room says next (a message right after a kick) must
		 * not reach them here while the store read below is on its way. */
		chat_broadcast(r, frame, 0, NULL);
		json_t *ev = json_loadb(body, len, 0, NULL);
		const char *uid =
		    json_string_value(json_object_get(json_object_get(ev, "user"), "id"));
		user_rec *gone = uid ? users_by_id(uid) : NULL;
		if (gone && room_member(r, gone->id)) {
			chat_unsubscribe_user(gone, r);
			room_remove_member(r, gone->id);
		} else if (gone && gone->clients) {
			/* A reload that read the store after the removal already
			 * took them out (and off the room's sessions): told directly. */
			chat_send_user_local(gone, r, json_incref(ev), NULL);
		}
		json_decref(ev);
		resync_room(room_id, NULL, 0, NULL, NULL);
	} else if (membership_event(type) || !r) {
		int updated = strcmp(type, "room_updated") == 0;
		int joined = strcmp(type, "member_joined") == 0;
		json_t *ev = updated || joined ? json_loadb(body, len, 0, NULL) : NULL;
		json_t *settings = updated ? json_incref(json_object_get(ev, "room")) : NULL;
		const char *joined_id =
		    joined ? json_string_value(json_object_get(json_object_get(ev, "user"), "id"))
		           : NULL;
		resync_room(room_id, frame, strcmp(type, "member_left") == 0, settings, joined_id);
		json_decref(ev);
	} else {
		if (strcmp(type, "pin") == 0) {
			/* This node's list of the room's pins follows. */
			json_t *ev = json_loadb(body, len, 0, NULL);
			const char *msg_id = json_string_value(json_object_get(ev, "id"));
			if (msg_id)
				chat_pins_remote(r, msg_id,
				                 json_is_true(json_object_get(ev, "on")));
			json_decref(ev);
		}
		user_rec *skip = strcmp(skip_id, "-") ? users_by_id(skip_id) : NULL;
		if (skip && strcmp(type, "typing") == 0)
			cluster_typing_heard(r, skip);
		chat_broadcast(r, frame, 0, skip);
	}
	sbuf_unref(frame);
}

/* An event for one person's sessions; those sent with
 * chat_send_user_state come to every node, which keeps what they say
 * (a notification level) even when the person has no session here now.
 * Read markers travel as "K" on the room's channel (cluster_shared.c),
 * which also decides the mention count; a `read` event here only moves
 * the marker forward. */
static void apply_user_event(const char *user_id, const char *room_id, const char *body, size_t len)
{
	json_t *ev = json_loadb(body, len, 0, NULL);
	if (!json_is_object(ev)) {
		json_decref(ev);
		return;
	}
	user_rec *u = users_by_id(user_id);
	int in_room = strcmp(room_id, "-") != 0;
	room *r = in_room ? room_by_id(room_id) : NULL;
	const char *type = json_string_value(json_object_get(ev, "type"));
	member *mb = r && u ? room_member(r, u->id) : NULL;
	if (mb && type && strcmp(type, "read") == 0) {
		int64_t seq = json_integer_value(json_object_get(ev, "seq"));
		if (seq > mb->read_seq)
			mb->read_seq = seq;
	}
	if (in_room && type && strcmp(type, "room_updated") == 0) {
		/* The room object was made for this person: its level is theirs. */
		const char *level =
		    json_string_value(json_object_get(json_object_get(ev, "room"), "notify"));
		if (level)
			chat_notify_remote(room_id, user_id, level);
		if (u && u->clients && !mb) {
			/* Added on another node (an invite, a DM) before this node
			 * knows it: the room and its members are read first, and
			 * that read tells the person's sessions here, so what they
			 * ask next (rooms, send) already finds the room. */
			resync_room(room_id, NULL, 0, NULL, NULL);
			json_decref(ev);
			return;
		}
	}
	if (u && u->clients)
		chat_send_user_local(u, r, ev, NULL);
	else
		json_decref(ev);
}

/* An account another node changed: reloaded, then its profile event (if
 * any) told to this node's sessions, naming the person by the new name. */
struct user_change_op {
	char *user_id;
	sbuf *frame;
};

static void user_change_done(struct user_change_op *op)
{
	if (op->frame) {
		profiles_tell_local(op->user_id, op->frame);
		sbuf_unref(op->frame);
	}
	free(op->user_id);
	free(op);
}

static void user_reloaded(void *ud, const parley_store_result *res)
{
	struct user_change_op *op = ud;
	if (res->rc == PARLEY_OK && res->n_users)
		chat_user_from(&res->users[0]);
	user_change_done(op);
}

static void apply_user_changed(const char *user_id, const char *body, size_t len)
{
	struct user_change_op *op = calloc(1, sizeof *op);
	if (!op || !(op->user_id = strdup(user_id))) {
		free(op);
		return;
	}
	op->frame = len ? ws_frame_text(body, len) : NULL;
	if (!users_by_id(user_id)) {
		user_change_done(op); /* not cached here: nothing to reload */
		return;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (st->user_get(self, op->user_id, NULL, user_reloaded, op) != PARLEY_PENDING)
		user_change_done(op);
}

static void presence_of_user_changed(const char *user_id)
{
	user_rec *u = users_by_id(user_id);
	if (u)
		presence_remote_changed(u);
}

static void apply_presence(const char *node, const char *user_id, const char *state)
{
	enum presence p = PRESENCE_OFFLINE;
	if (strcmp(state, "online") == 0)
		p = PRESENCE_ONLINE;
	else if (strcmp(state, "away") == 0)
		p = PRESENCE_AWAY;
	if (!cluster_presence_set(node, user_id, p))
		return;
	if (users_by_id(user_id))
		presence_of_user_changed(user_id);
	else if (p != PRESENCE_OFFLINE)
		chat_user_load(user_id); /* its "Y" may have been lost: announced once loaded */
}

static void apply_sessions(const char *kind, const char *user_id, const char *hash)
{
	const char *uid = strcmp(user_id, "-") ? user_id : NULL;
	const char *h = strcmp(hash, "-") ? hash : NULL;
	if (strcmp(kind, "revoked") == 0 && uid)
		chat_user_revoked_local(uid);
	else if (strcmp(kind, "sessions") == 0 && uid)
		chat_user_sessions_revoked_local(uid, h);
	else if (strcmp(kind, "end") == 0 && (uid || h))
		chat_sessions_end_local(uid, h);
}

/* Splits the header line into words; the number of words, or -1. */
static int split_header(const char *payload, size_t len, char words[BUS_FIELDS][BUS_ID_MAX],
                        const char **body, size_t *body_len)
{
	const char *nl = memchr(payload, '\n', len < BUS_HEADER_MAX ? len : BUS_HEADER_MAX);
	if (!nl)
		return -1;
	int n = 0;
	const char *p = payload;
	while (p < nl) {
		const char *sp = memchr(p, ' ', (size_t)(nl - p));
		const char *end = sp ? sp : nl;
		size_t wl = (size_t)(end - p);
		if (n == BUS_FIELDS || wl == 0 || wl >= BUS_ID_MAX)
			return -1;
		memcpy(words[n], p, wl);
		words[n][wl] = '\0';
		n++;
		p = sp ? sp + 1 : nl;
	}
	*body = nl + 1;
	*body_len = len - (size_t)(nl + 1 - payload);
	return n;
}

static void on_message(void *ud, const char *channel, const char *payload, size_t len)
{
	(void)ud;
	(void)channel;
	char w[BUS_FIELDS][BUS_ID_MAX];
	const char *body;
	size_t body_len;
	int n = split_header(payload, len, w, &body, &body_len);
	if (n < 2 || strlen(w[0]) != 1) {
		metric_add(bus.ignored, 1);
		return;
	}
	if (strcmp(w[1], bus.node) == 0)
		return; /* our own, already delivered here */
	/* The first word from another node since the bus came up: this
	 * node's subscriptions are in place now. The Q said at "up" went on
	 * the other connection and may have been answered before them (or
	 * not gone at all): asked once more, so the answers reach this node. */
	if (!bus.asked_since_up) {
		char q[BUS_HEADER_MAX];
		snprintf(q, sizeof q, "Q %s", bus.node);
		bus.asked_since_up = publish("presence", q, NULL, 0) == 0;
	}
	/* A node new here learns who is online on this one, and the mutes. */
	if (cluster_nodes_seen(w[1])) {
		presence_publish_all();
		cluster_mutes_publish_all();
	}
	metric_set(bus.nodes, (double)cluster_nodes_alive() + 1);
	if (w[0][0] == 'H')
		return;
	if (w[0][0] == 'Q') {
		presence_publish_all();
		cluster_mutes_publish_all();
		return;
	}
	if (n < 3) {
		metric_add(bus.ignored, 1);
		return;
	}
	metric_add(bus.received, 1);
	switch (w[0][0]) {
	case 'M': {
		room *r = room_by_id(w[2]);
		char *end;
		long long seq = n == 5 ? strtoll(w[4], &end, 10) : 0;
		if (r && seq > 0)
			apply_message(r, w[3], seq, body, body_len);
		else if (!r) /* a room this node has not seen yet */
			resync_room(w[2], NULL, 0, NULL, NULL);
		break;
	}
	case 'R':
		if (n == 5)
			apply_room_event(w[2], w[3], w[4], body, body_len);
		break;
	case 'U':
		if (n == 4)
			apply_user_event(w[2], w[3], body, body_len);
		break;
	case 'S':
		if (n == 5)
			apply_sessions(w[2], w[3], w[4]);
		break;
	case 'N':
		resync_room(w[2], NULL, 0, NULL, NULL);
		break;
	case 'Y':
		chat_user_load(w[2]);
		break;
	case 'O':
		if (n == 4)
			apply_presence(w[1], w[2], w[3]);
		break;
	case 'P':
		apply_user_changed(w[2], body, body_len);
		break;
	case 'T':
		if (n == 5)
			cluster_mute_heard(w[2], w[3], w[4], body, body_len);
		break;
	case 'K':
		if (n == 5)
			cluster_read_heard(w[2], w[3], w[4], body, body_len);
		break;
	default:
		metric_add(bus.ignored, 1);
	}
}

/* Every room's tail from the store: what the bus did not bring. */
static void repair_all(int resync)
{
	size_t pos = 0;
	for (room *r; (r = rooms_next(&pos));) {
		cluster_order_repair(r);
		if (resync)
			resync_room(r->id, NULL, 0, NULL, NULL);
	}
}

static void heartbeat(void)
{
	char header[BUS_HEADER_MAX];
	snprintf(header, sizeof header, "H %s", bus.node);
	publish("cluster", header, NULL, 0);
}

/* A node went silent: what it stored and acked just before may never
 * have been published. */
static void node_lost(const char *node_id)
{
	metric_set(bus.nodes, (double)cluster_nodes_alive() + 1);
	cluster_presence_node_gone(node_id, presence_of_user_changed);
	repair_all(0);
}

static void on_state(void *ud, int up)
{
	(void)ud;
	metric_set(bus.up, up);
	bus.connected = up;
	cluster_nodes_bus(up);
	if (!up) {
		metric_add(bus.downs, 1);
		ready_warning_set(BUS_WARNING, "the cluster bus is down: this node serves only its "
		                               "own sessions until it returns");
		return;
	}
	ready_warning_set(BUS_WARNING, NULL);
	/* Whatever travelled before the subscriptions were confirmed comes
	 * from the store: messages in order, and after an outage the rooms
	 * and their members too. */
	int recovery = bus.was_up;
	bus.was_up = 1;
	if (recovery)
		log_info("cluster_repair", NULL, "the bus is back: repairing every room");
	repair_all(recovery);
	/* Presence said while the bus was down (or before this node was on
	 * it) is said again, both ways. */
	presence_publish_all();
	cluster_mutes_publish_all();
	bus.asked_since_up = 0;
	char header[BUS_HEADER_MAX];
	snprintf(header, sizeof header, "Q %s", bus.node);
	publish("presence", header, NULL, 0);
}

int cluster_bus_start(void)
{
	const struct provider *p = plugins_provider(PARLEY_PROVIDE_CLUSTER);
	if (!p)
		return 0;
	bus.vt = p->vtable;
	bus.self = p->self;
	bus.up =
	    metric_gauge("parley_cluster_bus_up", "1 while the cluster bus is connected", NULL);
	bus.downs = metric_counter("parley_cluster_bus_outages_total",
	                           "Times the cluster bus went down", NULL);
	bus.published = metric_counter("parley_cluster_published_total",
	                               "Events this node published on the bus", NULL);
	bus.received = metric_counter("parley_cluster_received_total",
	                              "Events from other nodes applied here", NULL);
	bus.ignored = metric_counter("parley_cluster_ignored_total",
	                             "Bus messages that could not be read", NULL);
	bus.repaired = metric_counter("parley_cluster_repaired_total",
	                              "Messages delivered from the store to fill a gap", NULL);
	bus.lag = metric_gauge("parley_cluster_lag_seconds",
	                       "Age of the newest message from another node when it arrived", NULL);
	bus.nodes = metric_gauge("parley_cluster_nodes",
	                         "Nodes on the bus, this one included (heartbeats)", NULL);
	cluster_order_init(bus.repaired);
	static const struct cluster_nodes_ops nodes_ops = {heartbeat, node_lost};
	cluster_nodes_start(&nodes_ops);
	if (bus.vt->start(bus.self, on_message, on_state, NULL) != PARLEY_OK) {
		log_error("cluster_start", NULL, "the cluster provider did not start");
		return -1;
	}
	bus.node = bus.vt->node_id(bus.self);
	bus.started = 1;
	bus.vt->subscribe(bus.self, "cluster");
	bus.vt->subscribe(bus.self, "presence");
	size_t pos = 0;
	for (room *r; (r = rooms_next(&pos));)
		subscribe_room(r);
	if (bus.vt->up(bus.self))
		on_state(NULL, 1);
	else
		ready_warning_set(BUS_WARNING, "the cluster bus is not connected yet");
	log_info("cluster_start", NULL, "node %s on the cluster bus", bus.node);
	return 0;
}

void cluster_bus_fini(void)
{
	if (!bus.started)
		return;
	cluster_nodes_fini();
	cluster_order_fini();
	cluster_presence_fini();
	bus.started = 0;
}
