/* person_lookup.h. Each lookup is chat_user_find (by id, else by name,
 * with the person's memberships); a request waits for all of its own and
 * then runs once, as if the people had been known, giving its one reply. */
#include "chat/person_lookup.h"

#include <stdlib.h>
#include <string.h>

#include "chat/chat_internal.h"
#include "chat/protocol.h"

/* Worth a store read: a string the request's own checks accept, not in
 * the cache (a leading @ is a name). */
static int unknown(const char *who)
{
	if (!who || !*who || strlen(who) > PROTO_MAX_ID)
		return 0; /* the request says what is wrong with it */
	return !users_by_id(who) && !users_by_name(who[0] == '@' ? who + 1 : who);
}

static int any_unknown(const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (unknown(names[i]))
			return 1;
	return 0;
}

struct lookups {
	void (*then)(void *ud);
	void *ud;
	size_t pending; /* lookups not answered, plus one while starting them */
};

static void one_found(void *ud, user_rec *u)
{
	(void)u; /* in the cache now, where the request looks */
	struct lookups *l = ud;
	if (--l->pending)
		return;
	l->then(l->ud);
	free(l);
}

int person_lookup_each(const char *const *names, size_t n, void (*then)(void *ud), void *ud)
{
	size_t missing = 0;
	for (size_t i = 0; i < n; i++)
		missing += unknown(names[i]);
	struct lookups *l = missing ? calloc(1, sizeof *l) : NULL;
	if (!l)
		return 0; /* nobody missing, or no memory to wait: the cache answers */
	l->then = then;
	l->ud = ud;
	l->pending = 1;
	for (size_t i = 0; i < n; i++) {
		if (!unknown(names[i]))
			continue;
		l->pending++;
		if (chat_user_find(names[i], one_found, l) != PARLEY_OK)
			l->pending--;
	}
	one_found(l, NULL);
	return 1;
}

struct waiting_request {
	uint64_t conn_id;
	json_t *req, *rid;
	person_req_fn fn;
};

static void request_resumes(void *ud)
{
	struct waiting_request *w = ud;
	conn *c = conn_find(w->conn_id);
	client *cl = c && c->proto == CONN_WS ? c->app : NULL;
	if (cl && cl->user)
		w->fn(cl, w->req, w->rid);
	json_decref(w->req);
	json_decref(w->rid);
	free(w);
}

void person_lookup_names(client *cl, json_t *req, json_t *rid, const char *const *names, size_t n,
                         person_req_fn fn)
{
	struct waiting_request *w = any_unknown(names, n) ? calloc(1, sizeof *w) : NULL;
	if (!w) {
		fn(cl, req, rid);
		return;
	}
	w->conn_id = cl->conn_id;
	w->req = json_incref(req);
	w->rid = json_incref(rid);
	w->fn = fn;
	if (!person_lookup_each(names, n, request_resumes, w)) {
		json_decref(w->req);
		json_decref(w->rid);
		free(w);
		fn(cl, req, rid);
	}
}

void person_lookup_then(client *cl, json_t *req, json_t *rid, person_req_fn fn)
{
	const char *names[PERSON_LOOKUP_MAX];
	size_t n = 0;
	json_t *one = json_object_get(req, "user"), *users = json_object_get(req, "users");
	if (json_is_string(one))
		names[n++] = json_string_value(one);
	for (size_t i = 0;
	     json_is_array(users) && i < json_array_size(users) && n < PERSON_LOOKUP_MAX; i++)
		if (json_is_string(json_array_get(users, i)))
			names[n++] = json_string_value(json_array_get(users, i));
	person_lookup_names(cl, req, rid, names, n, fn);
}
