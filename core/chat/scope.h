/* What a scoped (bot) token may do: a set of actions and, optionally, the
 * rooms it may do them in. A NULL scope is a person's session: no limits
 * beyond the user's own roles. */
#ifndef PARLEY_SCOPE_H
#define PARLEY_SCOPE_H

#include <stddef.h>

enum scope_action {
	SCOPE_READ = 1,     /* history, resume, rooms, members */
	SCOPE_POST = 2,     /* send, edit and delete own messages, typing */
	SCOPE_REACT = 4,    /* react */
	SCOPE_MODERATE = 8, /* kick, topic, delete others' messages */
};

#define SCOPE_MAX_ROOMS 256

struct scope {
	unsigned actions;
	size_t n_rooms; /* 0: every room the bot is a member of */
	char **rooms;
};

/* Parses "read,post" and a JSON array of room ids (NULL: no room limit).
 * NULL scopes gives NULL (unscoped). *bad is set to 1 when either is
 * malformed (the token then may do nothing). */
struct scope *scope_parse(const char *scopes, const char *rooms_json, int *bad);
struct scope *scope_copy(const struct scope *s);
void scope_free(struct scope *s);
/* 1 when s allows action in room_id (room_id NULL: outside any room). */
int scope_allows(const struct scope *s, unsigned action, const char *room_id);
/* 1 when s limits rooms and room_id is not among them. */
int scope_hides_room(const struct scope *s, const char *room_id);

#endif
