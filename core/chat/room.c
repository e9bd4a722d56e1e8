/* Rooms, members and subscriptions. Members are kept twice: a hash by user
 * id for checks on every request, and an array sorted lazily by id for
 * paging `members` in stable order. Subscriptions are intrusive list nodes
 * linked into both the room's and the session's lists, so a session
 * leaving costs nothing proportional to the room's size. */
#include "chat/room.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* by_name holds the rooms whose names are unique: public rooms and DMs (a
 * DM's name is made of its two people's ids). A private room may share any
 * name, so it is found by id, or by name among the rooms its viewer is in. */
static strmap by_id, by_name;
/* Public rooms sorted by id, for paging the public list; rebuilt when a
 * room was added. */
static room **public_sorted;
static size_t n_public;
static int public_dirty = 1;

static int name_is_unique(const room *r)
{
	return strcmp(r->kind, "private") != 0;
}

static void unindex_name(room *r)
{
	if (r->name && strmap_get(&by_name, r->name) == r)
		strmap_del(&by_name, r->name);
}

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
	free(public_sorted);
	public_sorted = NULL;
	n_public = 0;
	public_dirty = 1;
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
		r->may_post = ROLE_MEMBER;
		r->may_pin = ROLE_MODERATOR;
		r->may_invite = -1;
	} else {
		unindex_name(r);
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
	if (fresh)
		public_dirty = 1;
	if (name_is_unique(r))
		strmap_put(&by_name, r->name, r);
	return r;
}

void room_drop(room *r)
{
	unindex_name(r);
	if (strmap_get(&by_id, r->id) == r)
		strmap_del(&by_id, r->id);
	public_dirty = 1;
	room_free(r);
}

room *room_find(const char *id_or_name, const user_rec *viewer)
{
	if (!id_or_name)
		return NULL;
	room *r = room_by_id(id_or_name);
	if (r)
		return room_visible(r, viewer) ? r : NULL;
	r = room_by_name(id_or_name);
	if (r && room_visible(r, viewer))
		return r;
	/* A private room by name: the oldest of the viewer's rooms so named. */
	room *found = NULL;
	for (size_t i = 0; viewer && i < viewer->n_memberships; i++) {
		room *m = viewer->memberships[i]->room;
		if (strcmp(m->kind, "private") == 0 && strcasecmp(m->name, id_or_name) == 0 &&
		    (!found || m->created_ts < found->created_ts ||
		     (m->created_ts == found->created_ts && strcmp(m->id, found->id) < 0)))
			found = m;
	}
	return found;
}

int room_visible(const room *r, const user_rec *viewer)
{
	if (strcmp(r->kind, "public") == 0)
		return 1;
	return viewer ? room_member(r, viewer->id) != NULL : 1;
}

int room_named(const parley_room *r, const char *id_or_name)
{
	return strcmp(r->id, id_or_name) == 0 ||
	       (strcmp(r->kind, "public") == 0 && strcasecmp(r->name, id_or_name) == 0);
}

void room_view(const room *r, parley_room *out)
{
	*out = (parley_room){.id = r->id,
	                     .name = r->name,
	                     .kind = r->kind,
	                     .topic = r->topic,
	                     .last_seq = r->last_seq,
	                     .created_ts = r->created_ts};
}

static int by_room_id(const void *a, const void *b)
{
	return strcmp((*(room *const *)a)->id, (*(room *const *)b)->id);
}

room **rooms_public_sorted(size_t *n)
{
	if (public_dirty) {
		size_t pos = 0, k = 0;
		room *r;
		while ((r = strmap_next(&by_id, &pos, NULL)))
			k += strcmp(r->kind, "public") == 0;
		room **list = realloc(public_sorted, (k ? k : 1) * sizeof *list);
		if (!list) {
			*n = 0;
			return NULL;
		}
		public_sorted = list;
		n_public = 0;
		pos = 0;
		while ((r = strmap_next(&by_id, &pos, NULL)))
			if (strcmp(r->kind, "public") == 0)
				public_sorted[n_public++] = r;
		qsort(public_sorted, n_public, sizeof *public_sorted, by_room_id);
		public_dirty = 0;
	}
	*n = n_public;
	return public_sorted;
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
