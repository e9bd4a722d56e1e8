/* GET /api/admin/audit?before=&limit=&actor=&action=&since=&until= — the
 * audit log for the admin settings' page, newest first.
 *
 * The store pages the log by id only (audit_list), so the filters are
 * applied here: pages of AUDIT_PAGE entries are read until `limit`
 * entries matched, the log ends, an entry is older than `since`, or
 * AUDIT_SCAN_PAGES pages were read. The answer's `before` continues
 * where this one stopped (more: true), whether or not it found `limit`.
 *
 * actor: a user name or id; action: a prefix ("room." or "user.role");
 * since/until: ms since the epoch, inclusive/exclusive. Each entry names
 * its actor (actor_name) so the page need not look people up. */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "chat/chat_internal.h"
#include "chat/person_lookup.h"
#include "chat/protocol.h"
#include "chat/users.h"
#include "net/http.h"

#define AUDIT_DEFAULT      100
#define AUDIT_MAX          500
#define AUDIT_PAGE         500
#define AUDIT_SCAN_PAGES   20 /* 10,000 entries per request at most */
#define AUDIT_ACTION_MAX   64
#define AUDIT_NAME_LOOKUPS 16 /* actors the cache lacks, read per answer */

static int matches(const struct api_ctx *x, const parley_audit *a)
{
	if (x->audit_actor && (!a->actor_id || strcmp(a->actor_id, x->audit_actor) != 0))
		return 0;
	if (x->audit_action && strncmp(a->action, x->audit_action, strlen(x->audit_action)) != 0)
		return 0;
	if (x->audit_until && a->ts >= x->audit_until)
		return 0;
	return !x->audit_since || a->ts >= x->audit_since;
}

static json_t *entry_json(const parley_audit *a)
{
	json_t *detail = a->detail ? json_loads(a->detail, 0, NULL) : NULL;
	const user_rec *u = a->actor_id ? users_by_id(a->actor_id) : NULL;
	return json_pack("{s:I,s:I,s:s?,s:s?,s:s,s:s?,s:o?,s:s?}", "id", (json_int_t)a->id, "ts",
	                 (json_int_t)a->ts, "actor", a->actor_id, "actor_name", u ? u->name : NULL,
	                 "action", a->action, "target", a->target, "detail", detail, "client",
	                 a->client);
}

static void run_audit(struct api_ctx *x);

/* The answer, each entry named by its actor as the cache has them now. */
static void audit_reply(void *ud)
{
	struct api_ctx *x = ud;
	size_t i;
	json_t *e;
	json_array_foreach(x->audit_found, i, e)
	{
		const user_rec *u =
		    json_is_string(json_object_get(e, "actor_name"))
		        ? NULL
		        : users_by_id(json_string_value(json_object_get(e, "actor")));
		if (u)
			json_object_set_new(e, "actor_name", json_string(u->name));
	}
	json_t *out = json_pack("{s:O,s:b}", "entries", x->audit_found, "more", x->audit_more);
	if (out && x->audit_more)
		json_object_set_new(out, "before", json_integer(x->before));
	api_ctx_json(x, 200, out);
}

/* Actors this node has not met (an admin seen only by another node, or
 * only over REST) are read from the store first, a few per answer. */
static void name_actors_then_reply(struct api_ctx *x)
{
	const char *ids[AUDIT_NAME_LOOKUPS];
	size_t n = 0, i;
	json_t *e;
	json_array_foreach(x->audit_found, i, e)
	{
		const char *id = json_string_value(json_object_get(e, "actor"));
		if (!id || json_is_string(json_object_get(e, "actor_name")) || users_by_id(id))
			continue;
		int seen = 0;
		for (size_t k = 0; k < n && !seen; k++)
			seen = !strcmp(ids[k], id);
		if (!seen && n < AUDIT_NAME_LOOKUPS)
			ids[n++] = id;
	}
	if (!person_lookup_each(ids, n, audit_reply, x))
		audit_reply(x);
}

static void audit_listed(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK) {
		api_ctx_fail(x, res->rc, "cannot read the audit log", 0);
		return;
	}
	int more = res->more, full = 0, past = 0;
	size_t i;
	for (i = 0; i < res->n_audit && !full && !past; i++) {
		const parley_audit *a = &res->audit[i];
		x->before = a->id;
		if (x->audit_since && a->ts < x->audit_since) {
			past = 1; /* older entries only from here */
			break;
		}
		if (matches(x, a))
			json_array_append_new(x->audit_found, entry_json(a));
		full = (int)json_array_size(x->audit_found) >= x->limit;
	}
	if (past)
		more = 0;
	else if (full)
		more = more || i < res->n_audit;
	x->audit_pages++;
	if (!full && more && x->audit_pages < AUDIT_SCAN_PAGES) {
		run_audit(x);
		return;
	}
	x->audit_more = more;
	name_actors_then_reply(x);
}

/* The actor this node had not met (an admin made by the CLI, or seen only
 * by another node), as the store has them. */
static void actor_found(void *ud, user_rec *u)
{
	struct api_ctx *x = ud;
	char *id = u ? strdup(u->id) : NULL;
	if (!id) {
		struct http_request *req = api_ctx_req(x);
		if (req && u)
			api_fail(req, PARLEY_ENOMEM, NULL, 0);
		else if (req)
			api_error(req, 400, "bad_request", "actor: no such user");
		api_ctx_free(x);
		return;
	}
	free(x->audit_actor);
	x->audit_actor = id;
	run_audit(x);
}

static void run_audit(struct api_ctx *x)
{
	void *self;
	const parley_store_vtable *st = api_ctx_store(x, &self);
	if (!st)
		return;
	if (!x->audit_found) {
		if (!(x->audit_found = json_array())) {
			api_ctx_fail(x, PARLEY_ENOMEM, NULL, 0);
			return;
		}
		/* An actor the cache lacks is looked up once, before the first page. */
		if (x->audit_actor && !users_by_id(x->audit_actor)) {
			int rc = chat_user_find(x->audit_actor, actor_found, x);
			if (rc != PARLEY_OK)
				api_ctx_fail(x, rc, "actor: the account could not be looked up", 0);
			return;
		}
	}
	/* Without filters a page is what was asked for. */
	int filtered = x->audit_actor || x->audit_action || x->audit_since || x->audit_until;
	int page = filtered ? AUDIT_PAGE : x->limit - (int)json_array_size(x->audit_found);
	int rc = PARLEY_HAS(parley_store_vtable, st, audit_list)
	             ? st->audit_list(self, x->before, page, audit_listed, x)
	             : PARLEY_EUNAVAIL;
	if (rc < 0)
		api_ctx_fail(x, rc, NULL, 0);
}

void api_admin_audit(struct http_request *req, const struct api_route *r, const char *id)
{
	int64_t before = 0, limit = AUDIT_DEFAULT, since = 0, until = 0;
	if (api_query_int(req, "before", 0, INT64_MAX, &before) < 0 ||
	    api_query_int(req, "limit", 1, AUDIT_MAX, &limit) < 0 ||
	    api_query_int(req, "since", 0, INT64_MAX, &since) < 0 ||
	    api_query_int(req, "until", 0, INT64_MAX, &until) < 0)
		return;
	char *actor = http_query_param(req, "actor"), *action = http_query_param(req, "action");
	/* The actor's id from the cache; a name or id it lacks is kept as
	 * given and looked up in the store once the caller is known. */
	const user_rec *u = NULL;
	if (actor && *actor) {
		u = users_by_id(actor);
		if (!u)
			u = users_by_name(actor[0] == '@' ? actor + 1 : actor);
		if (!u && strlen(actor) > PROTO_MAX_ID) {
			free(actor);
			free(action);
			api_error(req, 400, "bad_request", "actor: no such user");
			return;
		}
	}
	if (action && strlen(action) > AUDIT_ACTION_MAX) {
		free(actor);
		free(action);
		api_error(req, 400, "bad_request", "action: at most 64 characters");
		return;
	}
	struct api_ctx *x = api_ctx_new(req, r, run_audit, id, NULL);
	if (!x) {
		free(actor);
		free(action);
		return;
	}
	x->before = before;
	x->limit = (int)limit;
	x->audit_since = since;
	x->audit_until = until;
	int named = actor && *actor;
	x->audit_actor = u ? strdup(u->id) : named ? strdup(actor) : NULL;
	free(actor);
	if (named && !x->audit_actor) {
		free(action);
		api_ctx_fail(x, PARLEY_ENOMEM, NULL, 0);
		return;
	}
	if (action && *action)
		x->audit_action = action;
	else
		free(action);
	api_ctx_start(req, x);
}
