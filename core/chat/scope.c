/* Scopes of bot tokens. Parsed once per authentication; checked on every
 * request, so the check is a bit test and a short list scan. */
#include "chat/scope.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static unsigned action_bit(const char *p, size_t len)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {{"read", SCOPE_READ},
	             {"post", SCOPE_POST},
	             {"react", SCOPE_REACT},
	             {"moderate", SCOPE_MODERATE}};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i].name) == len && !strncmp(p, names[i].name, len))
			return names[i].bit;
	return 0;
}

static int parse_rooms(struct scope *s, const char *rooms_json)
{
	json_t *a = json_loads(rooms_json, 0, NULL);
	size_t i;
	json_t *v;
	int ok = json_is_array(a) && json_array_size(a) <= SCOPE_MAX_ROOMS;

	if (ok && json_array_size(a) > 0 &&
	    !(s->rooms = calloc(json_array_size(a), sizeof(char *))))
		ok = 0;
	json_array_foreach(a, i, v)
	{
		if (!ok)
			break;
		if (!json_is_string(v) || !(s->rooms[s->n_rooms] = strdup(json_string_value(v))))
			ok = 0;
		else
			s->n_rooms++;
	}
	json_decref(a);
	return ok;
}

struct scope *scope_parse(const char *scopes, const char *rooms_json, int *bad)
{
	struct scope *s;
	const char *p = scopes;

	*bad = 0;
	if (!scopes)
		return NULL;
	if (!(s = calloc(1, sizeof *s))) {
		*bad = 1;
		return NULL;
	}
	while (*p) {
		size_t len = strcspn(p, ",");
		unsigned bit = action_bit(p, len);
		if (!bit)
			*bad = 1;
		s->actions |= bit;
		p += len;
		if (*p == ',')
			p++;
	}
	if (rooms_json && !parse_rooms(s, rooms_json))
		*bad = 1;
	if (*bad) /* a malformed scope allows nothing rather than everything */
		s->actions = 0;
	return s;
}

struct scope *scope_copy(const struct scope *s)
{
	struct scope *c;
	if (!s || !(c = calloc(1, sizeof *c)))
		return NULL;
	c->actions = s->actions;
	if (s->n_rooms && !(c->rooms = calloc(s->n_rooms, sizeof(char *)))) {
		free(c);
		return NULL;
	}
	for (size_t i = 0; i < s->n_rooms; i++) {
		if (!(c->rooms[i] = strdup(s->rooms[i]))) {
			scope_free(c);
			return NULL;
		}
		c->n_rooms++;
	}
	return c;
}

void scope_free(struct scope *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_rooms; i++)
		free(s->rooms[i]);
	free(s->rooms);
	free(s);
}

int scope_hides_room(const struct scope *s, const char *room_id)
{
	if (!s || s->n_rooms == 0 || !room_id)
		return 0;
	for (size_t i = 0; i < s->n_rooms; i++)
		if (!strcmp(s->rooms[i], room_id))
			return 0;
	return 1;
}

int scope_allows(const struct scope *s, unsigned action, const char *room_id)
{
	if (!s)
		return 1;
	return (s->actions & action) == action && !scope_hides_room(s, room_id);
}
