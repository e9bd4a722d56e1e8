/* Rooms, members and subscriptions. Members are kept twice: a hash by user
 * id for checks on every request, and an array sorted lazily by id for
 * paging `members` in stable order. Subscriptions are intrusive list nodes
 * linked into both the room's and the session's lists, so a session
 * leaving costs nothing proportional to the room's size. */
#include "chat/room.h"

#include <stdlib.h>
#include <string.h>

static strmap by_id, by_name;

void rooms_init(void)
{
	strmap_init(&by_id, 0);
	strmap_init(&by_name, 1);
}

static void room_free(room *r)
{
	size_t pos = 0;
	member *m;
	while ((m = strmap_next(&r->members, &pos, NULL)))
		free(m);
	strmap_free(&r->members);
	free(r->sorted);
	free(r->id);
	free(r->name);
	free(r->kind);
	free(r->topic);
	free(r);
}

void rooms_fini(void)
{
	size_t pos = 0;
	room *r;
	while ((r = strmap_next(&by_id, &pos, NULL)))
		room_free(r);
	strmap_free(&by_id);
	strmap_free(&by_name);
}

room *room_by_id(const char *id)
{
	return id ? strmap_get(&by_id, id) : NULL;
}

room *room_by_name(const char *name)
{
	return name ? strmap_get(&by_name, name) : NULL;
}

room *rooms_next(size_t *pos)
{
	return strmap_next(&by_id, pos, NULL);
}

static int set_str(char **field, const char *v)
{
	if (!v)
		v = "";
	if (*field && strcmp(*field, v) == 0)
		return 0;
	char *copy = strdup(v);
	if (!copy)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

room *room_upsert(const parley_room *pr)
{
	room *r = strmap_get(&by_id, pr->id);
	int fresh = !r;
	if (fresh) {
		r = calloc(1, sizeof *r);
		if (!r || !(r->id = strdup(pr->id))) {
			free(r);
			return NULL;
		}
		strmap_init(&r->members, 0);
	} else if (pr->name && strcmp(r->name, pr->name) != 0) {
		strmap_del(&by_name, r->name);
	}
	if (set_str(&r->name, pr->name) < 0 || set_str(&r->kind, pr->kind) < 0 ||
	    set_str(&r->topic, pr->topic) < 0) {
		if (fresh)
			room_free(r);
		return NULL;
	}
	if (pr->last_seq > r->last_seq)
		r->last_seq = pr->last_seq;
	if (pr->created_ts)
		r->created_ts = pr->created_ts;
	if (fresh && strmap_put(&by_id, r->id, r) < 0) {
		room_free(r);
		return NULL;
	}
	strmap_put(&by_name, r->name, r);
	return r;
}

member *room_member(const room *r, const char *user_id)
{
	return strmap_get(&r->members, user_id);
}

member *room_add_member(room *r, user_rec *u, enum room_role role, int64_t read_seq)
{
	member *m = strmap_get(&r->members, u->id);
	if (m) {
		m->role = role;
		if (read_seq > m->read_seq)
			m->read_seq = read_seq;
		return m;
	}
	m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->room = r;
	m->user = u;
	m->role = role;
	m->read_seq = read_seq;
	if (r->n_members == r->cap_sorted) {
		size_t ncap = r->cap_sorted ? r->cap_sorted * 2 : 8;
		member **n = realloc(r->sorted, ncap * sizeof *n);
		if (!n) {
			free(m);
			return NULL;
		}
		r->sorted = n;
		r->cap_sorted = ncap;
	}
	if (strmap_put(&r->members, u->id, m) < 0 || users_add_membership(u, m) < 0) {
		strmap_del(&r->members, u->id);
		free(m);
		return NULL;
	}
	r->sorted[r->n_members++] = m;
	r->sorted_dirty = 1;
	return m;
}

void room_remove_member(room *r, const char *user_id)
{
	member *m = strmap_del(&r->members, user_id);
	if (!m)
		return;
	for (size_t i = 0; i < r->n_members; i++) {
		if (r->sorted[i] == m) {
			r->sorted[i] = r->sorted[--r->n_members];
			r->sorted_dirty = 1;
			break;
		}
	}
	users_remove_membership(m->user, m);
	free(m);
}

static int by_user_id(const void *a, const void *b)
{
	const member *ma = *(member *const *)a, *mb = *(member *const *)b;
	return strcmp(ma->user->id, mb->user->id);
}

member **room_sorted_members(room *r)
{
	if (r->sorted_dirty) {
		qsort(r->sorted, r->n_members, sizeof *r->sorted, by_user_id);
		r->sorted_dirty = 0;
	}
	return r->sorted;
}

int room_subscribe(room *r, struct client *c, sub **client_list)
{
	for (sub *s = *client_list; s; s = s->cnext)
		if (s->room == r)
			return 0;
	sub *s = calloc(1, sizeof *s);
	if (!s)
		return -1;
	s->client = c;
	s->room = r;
	s->rnext = r->subs;
	if (r->subs)
		r->subs->rprev = s;
	r->subs = s;
	r->n_subs++;
	s->cnext = *client_list;
	*client_list = s;
	return 0;
}

static void unlink_from_room(sub *s)
{
	room *r = s->room;
	if (s->rprev)
		s->rprev->rnext = s->rnext;
	else
		r->subs = s->rnext;
	if (s->rnext)
		s->rnext->rprev = s->rprev;
	r->n_subs--;
}

void room_unsubscribe(room *r, struct client *c, sub **client_list)
{
	(void)c;
	for (sub **p = client_list; *p; p = &(*p)->cnext) {
		if ((*p)->room == r) {
			sub *s = *p;
			*p = s->cnext;
			unlink_from_room(s);
			free(s);
			return;
		}
	}
}

void room_unsubscribe_all(sub **client_list)
{
	sub *s = *client_list;
	while (s) {
		sub *next = s->cnext;
		unlink_from_room(s);
		free(s);
		s = next;
	}
	*client_list = NULL;
}

const char *room_role_name(enum room_role role)
{
	switch (role) {
	case ROLE_OWNER:
		return "owner";
	case ROLE_MODERATOR:
		return "moderator";
	default:
		return "member";
	}
}

int room_role_parse(const char *s, enum room_role *out)
{
	if (!s)
		return -1;
	if (strcmp(s, "owner") == 0)
		*out = ROLE_OWNER;
	else if (strcmp(s, "moderator") == 0)
		*out = ROLE_MODERATOR;
	else if (strcmp(s, "member") == 0)
		*out = ROLE_MEMBER;
	else
		return -1;
	return 0;
}

user_rec *room_dm_peer(const room *r, const user_rec *self)
{
	for (size_t i = 0; i < r->n_members; i++)
		if (r->sorted[i]->user != self)
			return r->sorted[i]->user;
	return (user_rec *)self;
}
