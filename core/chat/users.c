/* User cache: two indexes over the same records (by id; by name, case
 * insensitive). Records live as long as the process; a user is never
 * deleted, only disabled, so pointers to records stay valid. */
#include "chat/users.h"

#include <stdlib.h>
#include <string.h>

#include "base/strmap.h"

static strmap by_id, by_name;
static uint64_t mark_counter;

void users_init(void)
{
	strmap_init(&by_id, 0);
	strmap_init(&by_name, 1);
}

void users_fini(void)
{
	size_t pos = 0;
	user_rec *u;
	while ((u = strmap_next(&by_id, &pos, NULL))) {
		free(u->id);
		free(u->name);
		free(u->display_name);
		free(u->role);
		free(u->memberships);
		free(u);
	}
	strmap_free(&by_id);
	strmap_free(&by_name);
}

user_rec *users_by_id(const char *id)
{
	return id ? strmap_get(&by_id, id) : NULL;
}

user_rec *users_by_name(const char *name)
{
	return name ? strmap_get(&by_name, name) : NULL;
}

static int replace(char **field, const char *value)
{
	if (!value)
		return 0;
	if (*field && strcmp(*field, value) == 0)
		return 0;
	char *copy = strdup(value);
	if (!copy)
		return -1;
	free(*field);
	*field = copy;
	return 0;
}

user_rec *users_upsert(const parley_user *pu)
{
	if (!pu || !pu->id || !pu->name)
		return NULL;
	user_rec *u = strmap_get(&by_id, pu->id);
	int fresh = 0;
	if (!u) {
		u = calloc(1, sizeof *u);
		if (!u || !(u->id = strdup(pu->id))) {
			free(u);
			return NULL;
		}
		fresh = 1;
	}
	if (!fresh && u->name && strcmp(u->name, pu->name) != 0)
		strmap_del(&by_name, u->name);
	if (replace(&u->name, pu->name) < 0 ||
	    replace(&u->display_name, pu->display_name ? pu->display_name : pu->name) < 0 ||
	    replace(&u->role, pu->role ? pu->role : "member") < 0)
		goto error;
	u->disabled = pu->disabled;
	if (fresh && strmap_put(&by_id, u->id, u) < 0)
		goto error;
	if (strmap_put(&by_name, u->name, u) < 0)
		return NULL; /* stays findable by id */
	return u;
error:
	if (fresh) {
		free(u->id);
		free(u->name);
		free(u->display_name);
		free(u->role);
		free(u);
	}
	return NULL;
}

int users_add_membership(user_rec *u, struct member *m)
{
	if (u->n_memberships == u->cap_memberships) {
		size_t ncap = u->cap_memberships ? u->cap_memberships * 2 : 4;
		struct member **n = realloc(u->memberships, ncap * sizeof *n);
		if (!n)
			return -1;
		u->memberships = n;
		u->cap_memberships = ncap;
	}
	u->memberships[u->n_memberships++] = m;
	return 0;
}

void users_remove_membership(user_rec *u, struct member *m)
{
	for (size_t i = 0; i < u->n_memberships; i++) {
		if (u->memberships[i] == m) {
			u->memberships[i] = u->memberships[--u->n_memberships];
			return;
		}
	}
}

user_rec *users_next(size_t *pos)
{
	return strmap_next(&by_id, pos, NULL);
}

uint64_t users_new_mark(void)
{
	return ++mark_counter;
}

void users_view(const user_rec *u, parley_user *out)
{
	memset(out, 0, sizeof *out);
	out->id = u->id;
	out->name = u->name;
	out->display_name = u->display_name;
	out->role = u->role;
	out->disabled = u->disabled;
}
