/* @here / @room / @all: which word the text has, who may use it, who it
 * reaches. */
#include "chat/mention_all.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <parley/plugin.h>

#include "base/config.h"
#include "chat/presence.h"
#include "chat/room.h"
#include "chat/users.h"

static int word_char(unsigned char ch)
{
	return isalnum(ch) || ch == '_' || ch == '-';
}

/* 1 when p (after an '@') starts the word w, ended by a non-name char. */
static int is_word(const char *p, const char *w)
{
	size_t n = strlen(w);
	return strncasecmp(p, w, n) == 0 && !word_char((unsigned char)p[n]) &&
	       !(p[n] == '.' && word_char((unsigned char)p[n + 1]));
}

const char *mention_all_kind(const char *text)
{
	int here = 0;
	for (const char *p = text ? strchr(text, '@') : NULL; p; p = strchr(p + 1, '@')) {
		if (p > text && (word_char((unsigned char)p[-1]) || p[-1] == '.'))
			continue; /* an e-mail address */
		if (is_word(p + 1, "room") || is_word(p + 1, "all"))
			return "room";
		if (is_word(p + 1, "here"))
			here = 1;
	}
	return here ? "here" : NULL;
}

int mention_all_allowed(const room *r, const user_rec *author, const char *kind, char *why,
                        size_t whylen)
{
	int64_t max = server_config ? server_config->limits.mention_all_max : 50;
	if (strcmp(r->kind, "dm") == 0 || (int64_t)r->n_members <= max)
		return PARLEY_OK;
	member *m = room_member(r, author->id);
	if ((m && m->role >= ROLE_MODERATOR) || strcmp(author->role, "admin") == 0)
		return PARLEY_OK;
	snprintf(why, whylen,
	         "@%s would notify %zu people: in rooms of more than %lld members only moderators "
	         "may use @here, @room and @all",
	         kind, r->n_members, (long long)max);
	return PARLEY_EFORBIDDEN;
}

void mention_all_add(json_t *ids, const room *r, const user_rec *author, const char *kind)
{
	int here = strcmp(kind, "here") == 0;
	/* Marks those listed already: one pass over the room, not one per id. */
	uint64_t mark = users_new_mark();
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		user_rec *u = users_by_id(json_string_value(v));
		if (u)
			u->mark = mark;
	}
	size_t pos = 0;
	const char *key;
	member *m;
	while ((m = strmap_next(&r->members, &pos, &key))) {
		if (m->user == author || (here && presence_of(m->user) != PRESENCE_ONLINE) ||
		    m->user->mark == mark)
			continue;
		m->user->mark = mark;
		json_array_append_new(ids, json_string(m->user->id));
	}
}
