/* The people directory. A person sees every account that is not disabled
 * (a team's own server: anyone may DM anyone); a bot token with a room
 * list sees only the people of its rooms. The store's users_list is the
 * truth (the cache lacks accounts added from the command line while the
 * server runs, and learns them here); a team has hundreds of people, so one read per query and
 * a sort here cost less than an index to keep. */
#include "chat/chat_directory.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "chat/chat_internal.h"
#include "chat/presence.h"
#include "chat/scope.h"

static int name_cmp(const void *a, const void *b)
{
	const parley_user *x = *(const parley_user *const *)a, *y = *(const parley_user *const *)b;
	int c = strcasecmp(x->name, y->name);
	return c ? c : strcmp(x->name, y->name);
}

/* Case-insensitive (ASCII) substring. */
static int contains(const char *hay, const char *needle)
{
	if (!hay)
		return 0;
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

int chat_directory_visible(const struct scope *scope, const char *viewer_id, const char *user_id)
{
	if (!scope)
		return 1;
	const user_rec *me = users_by_id(viewer_id);
	if (!me)
		return 0;
	if (!strcmp(viewer_id, user_id))
		return 1;
	for (size_t i = 0; i < me->n_memberships; i++) {
		const room *r = me->memberships[i]->room;
		if (scope_allows(scope, SCOPE_READ, r->id) && room_member(r, user_id))
			return 1;
	}
	return 0;
}

static void users_listed(void *ud, const parley_store_result *res)
{
	struct ws_op *op = ud;
	client *cl = chat_ws_op_client(op);
	if (!cl) {
		chat_ws_op_free(op);
		return;
	}
	if (res->rc != PARLEY_OK) {
		chat_reply_error(cl, op->rid, res->rc, "the directory could not be read");
		chat_ws_op_free(op);
		return;
	}
	const char *query = json_string_value(json_object_get(op->req, "query"));
	const char *after = json_string_value(json_object_get(op->req, "after"));
	json_int_t limit = json_integer_value(json_object_get(op->req, "limit"));
	if (limit <= 0)
		limit = DIRECTORY_LIMIT;
	if (query && *query == '@')
		query++;
	const parley_user **hits = malloc((res->n_users + 1) * sizeof *hits);
	json_t *list = json_array();
	if (!hits || !list) {
		free(hits);
		json_decref(list);
		chat_reply_error(cl, op->rid, PARLEY_ENOMEM, "out of memory");
		chat_ws_op_free(op);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < res->n_users; i++) {
		const parley_user *u = &res->users[i];
		/* Someone found here can be invited or DM'd next: the cache learns
		 * accounts the command line added while the server ran. */
		users_upsert(u);
		if (u->disabled || !u->name || !u->id)
			continue;
		if (query && *query && !contains(u->name, query) &&
		    !contains(u->display_name, query))
			continue;
		if (!chat_directory_visible(cl->scope, cl->user->id, u->id))
			continue;
		hits[n++] = u;
	}
	qsort(hits, n, sizeof *hits, name_cmp);
	size_t i = 0;
	if (after)
		while (i < n && strcasecmp(hits[i]->name, after) <= 0)
			i++;
	for (json_int_t k = 0; i < n && k < limit; i++, k++) {
		const parley_user *u = hits[i];
		const user_rec *rec = users_by_id(u->id);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", u->id,
		                                      "name", u->name, "display_name",
		                                      u->display_name ? u->display_name : u->name,
		                                      "role", u->role ? u->role : "member",
		                                      "presence", presence_name(presence_of(rec))));
	}
	json_t *f = json_pack("{s:s, s:o, s:b}", "type", "users", "users", list, "more", i < n);
	free(hits);
	if (f && op->rid)
		json_object_set(f, "rid", op->rid);
	chat_send_json(cl, f);
	chat_ws_op_free(op);
}

void chat_req_users(client *cl, json_t *req, json_t *rid)
{
	json_t *q = json_object_get(req, "query"), *after = json_object_get(req, "after"),
	       *limit = json_object_get(req, "limit");
	if ((q && (!json_is_string(q) || json_string_length(q) > DIRECTORY_QUERY_MAX)) ||
	    (after && !json_is_string(after)) ||
	    (limit && (!json_is_integer(limit) || json_integer_value(limit) < 1 ||
	               json_integer_value(limit) > DIRECTORY_LIMIT_MAX))) {
		chat_reply_error(
		    cl, rid, PARLEY_EINVAL,
		    "users: query is text of at most 64 bytes, after a name, limit 1-100");
		return;
	}
	void *self;
	const parley_store_vtable *st = chat_store(&self);
	struct ws_op *op = st ? chat_ws_op_new(cl, req, rid, NULL) : NULL;
	if (!op) {
		chat_reply_error(cl, rid, st ? PARLEY_ENOMEM : PARLEY_EUNAVAIL,
		                 st ? "out of memory" : "store unavailable");
		return;
	}
	int rc = st->users_list(self, users_listed, op);
	if (rc != PARLEY_PENDING) {
		chat_reply_error(cl, rid, chat_store_refused(rc), "store unavailable");
		chat_ws_op_free(op);
	}
}
