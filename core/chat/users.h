/* The loop thread's cache of user accounts (id, name, display name, role),
 * filled from the store at start and from every auth result, so events can
 * name users without a store round trip. Each record also lists the user's
 * online sessions (for presence and fan-out to "the user's other
 * sessions") and their room memberships. */
#ifndef PARLEY_USERS_H
#define PARLEY_USERS_H

#include <stddef.h>
#include <stdint.h>

#include <parley/plugin.h>

#include "chat/rate.h"

struct client;
struct member;

typedef struct user_rec {
	char *id;
	char *name;
	char *display_name;
	char *role; /* admin | member | bot */
	int disabled;
	struct client *clients; /* online sessions (client->user_next) */
	size_t n_clients;
	int presence_sent;           /* enum presence last announced (presence.c) */
	int presence_published;      /* this node's share last put on the cluster bus
	                                (-1: the bus did not take it) */
	double presence_left_at;     /* when this node last put "offline" there */
	struct member **memberships; /* rooms this user is in */
	size_t n_memberships, cap_memberships;
	/* Memberships read from the store: at start, or at the first sign-in
	 * of an account met later (the CLI, the directory, an admin edit). */
	int memberships_loaded;
	uint64_t mark;                          /* scratch stamp for de-duplicating fan-out */
	unsigned joins_pending;                 /* a new account's #general join not stored yet */
	struct rate_bucket rates[RATE_ACTIONS]; /* per-user rate limits */
} user_rec;

void users_init(void);
void users_fini(void);
user_rec *users_by_id(const char *id);
user_rec *users_by_name(const char *name); /* case-insensitive */
/* Inserts or refreshes a record from a store/auth user; NULL on ENOMEM. */
user_rec *users_upsert(const parley_user *u);
/* Membership index of a user. */
int users_add_membership(user_rec *u, struct member *m);
void users_remove_membership(user_rec *u, struct member *m);
/* Every record in turn: start with *pos = 0; NULL at the end. */
user_rec *users_next(size_t *pos);
/* A new stamp for user_rec.mark. */
uint64_t users_new_mark(void);
/* Fills a parley_user view of a record (strings borrowed). */
void users_view(const user_rec *u, parley_user *out);

#endif
