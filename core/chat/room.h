/* Rooms in memory: their members (role, read marker) and the online
 * sessions subscribed to them (the fan-out list). The store is the truth;
 * this is the loop thread's copy, loaded at start and kept in step by the
 * chat layer after each store write succeeds. */
#ifndef PARLEY_ROOM_H
#define PARLEY_ROOM_H

#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

#include "base/strmap.h"
#include "chat/users.h"

struct client;
struct room;

enum room_role { ROLE_MEMBER = 0, ROLE_MODERATOR = 1, ROLE_OWNER = 2 };

typedef struct member {
	struct room *room;
	user_rec *user;
	enum room_role role;
	int64_t read_seq;
	int64_t mentions; /* unread mentions since read_seq (this process's count) */
	double last_typing;
	/* This node told its sessions of the join when it read the membership
	 * of an account met after start (chat.c): the bus's member_joined for
	 * it, racing that read, is not told here again. */
	int joined_told;
} member;

/* One online session subscribed to one room. */
typedef struct sub {
	struct client *client;
	struct room *room;
	int64_t delivered_seq;     /* the newest message seq sent on it: none twice */
	struct sub *rprev, *rnext; /* the room's list */
	struct sub *cnext;         /* the client's list */
} sub;

typedef struct room {
	char *id;
	char *name;
	char *kind; /* public | private | dm */
	char *topic;
	int64_t last_seq;
	int64_t created_ts;
	strmap members;  /* user id -> member */
	member **sorted; /* by user id, for paging `members` */
	size_t n_members, cap_sorted;
	int sorted_dirty;
	sub *subs; /* online sessions */
	size_t n_subs;
	/* Settings an owner sets (room_settings; chat_room_admin.c): an
	 * archived room is read-only and left out of the public list; the
	 * may_* are the least role that may do it (may_invite < 0: the kind's
	 * default, anyone in a public room, moderators in a private one). */
	int archived;
	enum room_role may_post, may_pin;
	int may_invite;
	struct room_order *order; /* cluster_order.c's state; NULL without a cluster */
	/* cluster_bus.c: reloads of the members started; only the newest one's
	 * list is applied (an older read may predate a change since). */
	unsigned resyncs;
} room;

void rooms_init(void);
void rooms_fini(void);
room *room_by_id(const char *id);
/* A public room or DM by name (case-insensitive); private rooms may share
 * names and are not found here. */
room *room_by_name(const char *name);
/* The room named id_or_name among those viewer can see: by id, else the
 * public room of that name, else the oldest private room so named that
 * viewer is in. viewer NULL: the server itself (any room by id, public
 * rooms by name). NULL when none. */
room *room_find(const char *id_or_name, const user_rec *viewer);
/* 1 when viewer (NULL: the server) may see r: public, or a member. */
int room_visible(const room *r, const user_rec *viewer);
/* 1 when id_or_name names r (a room's view) for a config list such as a
 * script's `rooms`: its id, or a public room's name. */
int room_named(const parley_room *r, const char *id_or_name);
/* The plugin-facing view of r (strings borrowed). */
void room_view(const room *r, parley_room *out);
/* Public rooms sorted by id (valid until the next room is added). */
room **rooms_public_sorted(size_t *n);
/* Inserts or refreshes from a store record; NULL on ENOMEM. */
room *room_upsert(const parley_room *r);
/* Removes r (no members or subscriptions left) from the indexes and
 * frees it. */
void room_drop(room *r);
/* Iteration over every room: *pos starts at 0; NULL at the end. */
room *rooms_next(size_t *pos);

member *room_member(const room *r, const char *user_id);
/* Adds (or updates the role of) a member; NULL on ENOMEM. */
member *room_add_member(room *r, user_rec *u, enum room_role role, int64_t read_seq);
void room_remove_member(room *r, const char *user_id);
/* Members sorted by user id (valid until the next change). */
member **room_sorted_members(room *r);

int room_subscribe(room *r, struct client *c, sub **client_list);
/* Removes c's subscription to r from both lists. */
void room_unsubscribe(room *r, struct client *c, sub **client_list);
/* Drops every subscription on the client's list. */
void room_unsubscribe_all(sub **client_list);

const char *room_role_name(enum room_role role);
int room_role_parse(const char *s, enum room_role *out);
/* For DMs: the member who is not `self` (or self for a self-DM). */
user_rec *room_dm_peer(const room *r, const user_rec *self);

#endif
