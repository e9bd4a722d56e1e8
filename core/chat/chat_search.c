/* Search requests (see chat_search.h). The rooms searched are the
 * caller's memberships, narrowed by a bot token's room list, the `room`
 * field and an in: name: the store never sees a room the caller may not
 * read. */
#include "chat/chat_search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat/chat_internal.h"
#include "chat/chat_threads.h"
#include "chat/person_lookup.h"
#include "chat/scope.h"
#include "chat/search_query.h"

/* One search between the request and the store's answer. */
struct search_op {
	chat_http_done done;
	void *ud;
	user_rec *user;
};

/* A room name as typed after in: ("general", "#general"), among the
 * rooms u is a member of; names compare case-insensitively. */
static room *readable_room_named(const user_rec *u, const char *name)
{
	for (size_t i = 0; i < u->n_memberships; i++) {
		room *r = u->memberships[i]->room;
		if (strcasecmp(r->name, name) == 0)
			return r;
	}
	return NULL;
}

static int parse_sort(const char *s, int *out)
{
	if (!s || strcmp(s, "relevance") == 0)
		*out = PARLEY_SEARCH_RELEVANCE;
	else if (strcmp(s, "recent") == 0)
		*out = PARLEY_SEARCH_RECENT;
	else
		return -1;
	return 0;
}

static void searched(void *ud, const parley_store_result *res)
{
	struct search_op *op = ud;
	if (res->rc != PARLEY_OK) {
		op->done(op->ud, res->rc,
		         res->rc == PARLEY_EINVAL ? "cursor: not one this search gave"
		                                  : "search unavailable",
		         NULL);
		free(op);
		return;
	}
	json_t *msgs = json_array();
	for (size_t i = 0; i < res->n_messages; i++) {
		const parley_message *m = &res->messages[i];
		json_t *o = proto_message(m, strcmp(m->user_id, op->user->id) == 0);
		chat_thread_fields(o, chat_thread_info(res, i)); /* a hit in a thread opens it */
		json_array_append_new(msgs, o);
	}
	int more = res->more && res->text;
	json_t *reply = json_pack("{s:o, s:b, s:s?}", "messages", msgs, "more", more, "cursor",
	                          more ? res->text : NULL);
	if (!json_object_get(reply, "cursor"))
		json_object_set_new(reply, "cursor", json_null());
	op->done(op->ud, PARLEY_OK, NULL, reply);
	json_decref(reply);
	free(op);
}

static void empty_reply(chat_http_done done, void *ud)
{
	json_t *reply = json_pack("{s:[], s:b, s:n}", "messages", "more", 0, "cursor");
	done(ud, PARLEY_OK, NULL, reply);
	json_decref(reply);
}

static void fail(chat_http_done done, void *ud, int rc, const char *msg)
{
	done(ud, rc, msg, NULL);
}

static void search_as(user_rec *u, const struct scope *scope, const struct chat_search_args *a,
                      chat_http_done done, void *ud)
{
	char err[SEARCH_QUERY_ERR + 96];
	struct search_query q;
	parley_search_query sq = {.struct_size = sizeof sq, .limit = CHAT_SEARCH_DEFAULT};
	if (!a->query) {
		fail(done, ud, PARLEY_EINVAL, "query: required");
		return;
	}
	if (search_query_parse(a->query, a->query_len, &q, err, sizeof err) < 0) {
		fail(done, ud, PARLEY_EINVAL, err);
		return;
	}
	if (parse_sort(a->sort, &sq.sort) < 0) {
		fail(done, ud, PARLEY_EINVAL, "sort: expected \"relevance\" or \"recent\"");
		return;
	}
	if (a->limit < 0 || a->limit > CHAT_SEARCH_MAX) {
		snprintf(err, sizeof err, "limit: must be between 1 and %d", CHAT_SEARCH_MAX);
		fail(done, ud, PARLEY_EINVAL, err);
		return;
	}
	if (a->limit)
		sq.limit = (int)a->limit;
	if (a->before < 0 || a->after < 0) {
		fail(done, ud, PARLEY_EINVAL, "before/after: must not be negative");
		return;
	}
	if (a->cursor && (!*a->cursor || strlen(a->cursor) > CHAT_SEARCH_CURSOR_MAX)) {
		fail(done, ud, PARLEY_EINVAL, "cursor: not one this search gave");
		return;
	}
	sq.before_ts = a->before;
	sq.after_ts = a->after;
	sq.cursor = a->cursor;
	sq.terms = q.terms;
	sq.n_terms = q.n_terms;

	/* The author: the `from` field (an id) and from:NAME must agree. */
	const char *author = a->from;
	if (author && !users_by_id(author)) {
		fail(done, ud, PARLEY_ENOTFOUND, "from: no such user");
		return;
	}
	if (q.from) {
		user_rec *fu = users_by_name(q.from);
		if (!fu) {
			snprintf(err, sizeof err, "from:%s: no such user", q.from);
			fail(done, ud, PARLEY_ENOTFOUND, err);
			return;
		}
		if (author && strcmp(author, fu->id) != 0) {
			empty_reply(done, ud);
			return;
		}
		author = fu->id;
	}
	sq.user_id = author;

	/* The rooms: readable ones, narrowed by room and in:. */
	room *only = NULL;
	if (a->room) {
		member *m;
		int rc = chat_check_member(room_by_id(a->room), u, &m);
		if (rc != PARLEY_OK || scope_hides_room(scope, a->room)) {
			fail(done, ud, rc == PARLEY_EFORBIDDEN ? rc : PARLEY_ENOTFOUND,
			     rc == PARLEY_EFORBIDDEN ? "not a member of this room"
			                             : "no such room");
			return;
		}
		only = m->room;
	}
	if (q.in) {
		room *r = readable_room_named(u, q.in);
		if (!r || scope_hides_room(scope, r->id)) {
			snprintf(err, sizeof err, "in:%s: no such room among yours", q.in);
			fail(done, ud, PARLEY_ENOTFOUND, err);
			return;
		}
		if (only && only != r) {
			empty_reply(done, ud);
			return;
		}
		only = r;
	}
	const char **ids = calloc(u->n_memberships ? u->n_memberships : 1, sizeof *ids);
	if (!ids) {
		fail(done, ud, PARLEY_ENOMEM, "out of memory");
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < u->n_memberships; i++) {
		room *r = u->memberships[i]->room;
		if ((only && r != only) || scope_hides_room(scope, r->id))
			continue;
		ids[n++] = r->id;
	}
	if (n == 0) {
		free(ids);
		empty_reply(done, ud);
		return;
	}
	sq.room_ids = ids;
	sq.n_rooms = n;

	void *self;
	const parley_store_vtable *st = chat_store(&self);
	if (!PARLEY_HAS(parley_store_vtable, st, search)) {
		free(ids);
		fail(done, ud, PARLEY_EUNAVAIL, "search: the store does not offer it");
		return;
	}
	struct search_op *op = calloc(1, sizeof *op);
	if (!op) {
		free(ids);
		fail(done, ud, PARLEY_ENOMEM, "out of memory");
		return;
	}
	op->done = done;
	op->ud = ud;
	op->user = u;
	/* The store copies what it keeps: the ids can go once it returns. */
	int rc = st->search(self, &sq, searched, op);
	free(ids);
	if (rc != PARLEY_PENDING) {
		free(op);
		fail(done, ud, rc == PARLEY_EINVAL ? rc : PARLEY_EUNAVAIL,
		     rc == PARLEY_EINVAL ? "search: the store cannot serve this query"
		                         : "search unavailable");
	}
}

void chat_search_http(const parley_user *pu, const struct scope *scope,
                      const struct chat_search_args *a, chat_http_done done, void *ud)
{
	user_rec *u = chat_user_from(pu);
	if (!u) {
		done(ud, PARLEY_ENOMEM, "out of memory", NULL);
		return;
	}
	search_as(u, scope, a, done, ud);
}

/* ---------------------------------------------------------------- */
/* The WebSocket request                                              */
/* ---------------------------------------------------------------- */

struct ws_search {
	uint64_t conn_id;
	json_t *rid;
};

static void ws_searched(void *ud, int rc, const char *message, json_t *reply)
{
	struct ws_search *w = ud;
	conn *c = conn_find(w->conn_id);
	client *cl = c && c->proto == CONN_WS ? c->app : NULL;
	if (cl) {
		if (rc != PARLEY_OK) {
			chat_reply_error(cl, w->rid, rc, message);
		} else {
			json_t *frame = json_pack("{s:s}", "type", "search");
			if (w->rid)
				json_object_set(frame, "rid", w->rid);
			json_object_update(frame, reply);
			chat_send_json(cl, frame);
		}
	}
	json_decref(w->rid);
	free(w);
}

/* The authors a search names (from, from:NAME) into names[2], pointing
 * into a and q; how many. A query that does not parse names nobody (the
 * search then says what is wrong with it). */
static size_t search_authors(const struct chat_search_args *a, struct search_query *q,
                             const char **names)
{
	char err[SEARCH_QUERY_ERR];
	size_t n = 0;
	if (a->from)
		names[n++] = a->from;
	if (a->query && search_query_parse(a->query, a->query_len, q, err, sizeof err) == 0 &&
	    q->from)
		names[n++] = q->from;
	return n;
}

int chat_search_find_authors(const struct chat_search_args *a, void (*then)(void *ud), void *ud)
{
	const char *names[2];
	struct search_query q;
	return person_lookup_each(names, search_authors(a, &q, names), then, ud);
}

static void search_now(client *cl, json_t *req, json_t *rid)
{
	char err[PROTO_ERR_LEN];
	struct chat_search_args a = {0};
	const char *query;
	if (proto_get_str(req, "query", 1, 0, &query, err, sizeof err) < 0 ||
	    proto_get_str(req, "room", 0, PROTO_MAX_ID, &a.room, err, sizeof err) < 0 ||
	    proto_get_str(req, "from", 0, PROTO_MAX_ID, &a.from, err, sizeof err) < 0 ||
	    proto_get_str(req, "sort", 0, 16, &a.sort, err, sizeof err) < 0 ||
	    proto_get_str(req, "cursor", 0, CHAT_SEARCH_CURSOR_MAX, &a.cursor, err, sizeof err) <
	        0 ||
	    proto_get_int(req, "before", 0, &a.before, err, sizeof err) < 0 ||
	    proto_get_int(req, "after", 0, &a.after, err, sizeof err) < 0 ||
	    proto_get_int(req, "limit", 0, &a.limit, err, sizeof err) < 0) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, err);
		return;
	}
	if (json_object_get(req, "limit") && a.limit < 1) {
		chat_reply_error(cl, rid, PARLEY_EINVAL, "limit: must be between 1 and 100");
		return;
	}
	a.query = query;
	a.query_len = strlen(query);
	struct ws_search *w = calloc(1, sizeof *w);
	if (!w) {
		chat_reply_error(cl, rid, PARLEY_ENOMEM, "out of memory");
		return;
	}
	w->conn_id = cl->conn_id;
	w->rid = json_incref(rid);
	search_as(cl->user, cl->scope, &a, ws_searched, w);
}

/* An author this node has not met (from, from:NAME) is read from the
 * store first: their messages may be in the rooms searched. */
void chat_req_search(client *cl, json_t *req, json_t *rid)
{
	struct chat_search_args a = {.from = json_string_value(json_object_get(req, "from")),
	                             .query = json_string_value(json_object_get(req, "query"))};
	a.query_len = a.query ? strlen(a.query) : 0;
	const char *names[2];
	struct search_query q;
	person_lookup_names(cl, req, rid, names, search_authors(&a, &q, names), search_now);
}
