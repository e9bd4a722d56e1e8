/* Admin routes beyond users and invites (api.c): role changes, invite
 * listing and revocation, the audit log, bot accounts and their scoped
 * tokens. Every change is written to the audit log with who, what, when
 * and from where.
 *
 *   POST /api/admin/users/{id}/role {role}
 *   GET  /api/admin/invites                 (POST creates: api.c)
 *   POST /api/admin/invites/{id}/revoke
 *   GET  /api/admin/audit?before=&limit=
 *   POST /api/admin/bots {name, display_name?}
 *   POST /api/admin/bots/{id}/tokens {scopes, rooms?, ttl?}
 *   POST /api/admin/bots/{id}/tokens/revoke */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "host/auth.h"
#include "chat/chat.h"
#include "net/http.h"
#include "base/loop.h"
#include "host/plugin_host.h"
#include "chat/users.h"

#define AUDIT_DEFAULT 100
#define AUDIT_MAX     500

#define STORE_HAS(st, m) PARLEY_HAS(parley_store_vtable, st, m)

static int role_valid(const char *role)
{
	return role && (!strcmp(role, "admin") || !strcmp(role, "member") || !strcmp(role, "bot"));
}

/* ---- role --------------------------------------------------------------- */

static void role_updated(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK || res->n_users == 0) {
		api_ctx_fail(
		    x, res->rc == PARLEY_OK ? PARLEY_ENOTFOUND : res->rc,
		    res->rc == PARLEY_ENOTFOUND || res->rc == PARLEY_OK ? "no such user" : NULL, 0);
		return;
	}
	users_upsert(&res->users[0]);
	api_audit(x, "user.role", x->id, json_pack("{s:s}", "role", x->s1));
	api_ctx_json(x, 200, json_pack("{s:o}", "user", api_user_full(&res->users[0])));
}

static void run_role(struct api_ctx *x)
{
	void *self;
	const parley_store_vtable *st = api_ctx_store(x, &self);
	if (!st)
		return;
	if (!strcmp(x->id, x->who_id) && strcmp(x->s1, "admin") != 0) {
		/* The last admin could lock everyone out of administration. */
		api_ctx_fail(x, PARLEY_ECONFLICT, "admins cannot demote themselves", 0);
		return;
	}
	parley_user u = {.id = x->id, .role = x->s1};
	int rc = st->user_update(self, &u, 0, role_updated, x);
	if (rc < 0)
		api_ctx_fail(x, rc == PARLEY_EINVAL ? PARLEY_ENOTFOUND : rc, "no such user", 0);
}

static void route_role(struct http_request *req, const char *user_id)
{
	json_t *body = api_body(req);
	const char *role;
	if (!body)
		return;
	if (api_body_str(req, body, "role", 1, &role) < 0) {
		json_decref(body);
		return;
	}
	if (!role_valid(role)) {
		api_error(req, 400, "bad_request", "role: expected admin, member or bot");
		json_decref(body);
		return;
	}
	struct api_ctx *x = api_ctx_new(req, run_role, API_ADMIN, user_id, body);
	if (!x)
		return;
	if (!(x->s1 = strdup(role))) {
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		api_ctx_free(x);
		return;
	}
	api_ctx_start(req, x);
}

/* ---- invites ------------------------------------------------------------ */

static void invites_listed(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK) {
		api_ctx_fail(x, res->rc, "cannot list invites", 0);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; list && i < res->n_invites; i++) {
		const parley_invite *v = &res->invites[i];
		json_array_append_new(list,
		                      json_pack("{s:s,s:s?,s:s?,s:s?,s:I,s:I}", "id", v->token_hash,
		                                "role", v->role, "email", v->email, "created_by",
		                                v->created_by, "created", (json_int_t)v->created_ts,
		                                "expires", (json_int_t)v->expires_ts));
	}
	api_ctx_json(x, 200, json_pack("{s:o*}", "invites", list));
}

static void run_invites_list(struct api_ctx *x)
{
	void *self;
	const parley_store_vtable *st = api_ctx_store(x, &self);
	if (!st)
		return;
	int rc = STORE_HAS(st, invites_list)
	             ? st->invites_list(self, loop_now_ms(), invites_listed, x)
	             : PARLEY_EUNAVAIL;
	if (rc < 0)
		api_ctx_fail(x, rc, "cannot list invites", 0);
}

void api_admin_invites_list(struct http_request *req)
{
	struct api_ctx *x = api_ctx_new(req, run_invites_list, API_ADMIN, NULL, NULL);
	if (x)
		api_ctx_start(req, x);
}

static void invite_revoked(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK) {
		api_ctx_fail(x, res->rc,
		             res->rc == PARLEY_ENOTFOUND ? "no unused invite with that id" : NULL,
		             0);
		return;
	}
	api_audit(x, "invite.revoke", x->id, NULL);
	api_ctx_json(x, 200, json_pack("{s:s,s:b}", "id", x->id, "revoked", 1));
}

static void run_invite_revoke(struct api_ctx *x)
{
	void *self;
	const parley_store_vtable *st = api_ctx_store(x, &self);
	if (!st)
		return;
	int rc = STORE_HAS(st, invite_revoke) ? st->invite_revoke(self, x->id, invite_revoked, x)
	                                      : PARLEY_EUNAVAIL;
	if (rc < 0)
		api_ctx_fail(x, rc, NULL, 0);
}

/* ---- audit log ---------------------------------------------------------- */

static void audit_listed(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK) {
		api_ctx_fail(x, res->rc, "cannot read the audit log", 0);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; list && i < res->n_audit; i++) {
		const parley_audit *a = &res->audit[i];
		json_t *detail = a->detail ? json_loads(a->detail, 0, NULL) : NULL;
		json_array_append_new(list,
		                      json_pack("{s:I,s:I,s:s?,s:s,s:s?,s:o?,s:s?}", "id",
		                                (json_int_t)a->id, "ts", (json_int_t)a->ts, "actor",
		                                a->actor_id, "action", a->action, "target",
		                                a->target, "detail", detail, "client", a->client));
	}
	api_ctx_json(x, 200, json_pack("{s:o*,s:b}", "entries", list, "more", res->more));
}

static void run_audit(struct api_ctx *x)
{
	void *self;
	const parley_store_vtable *st = api_ctx_store(x, &self);
	if (!st)
		return;
	int64_t before = json_integer_value(json_object_get(x->body, "before"));
	int limit = (int)json_integer_value(json_object_get(x->body, "limit"));
	int rc = STORE_HAS(st, audit_list) ? st->audit_list(self, before, limit, audit_listed, x)
	                                   : PARLEY_EUNAVAIL;
	if (rc < 0)
		api_ctx_fail(x, rc, NULL, 0);
}

static void route_audit(struct http_request *req)
{
	int64_t before = 0, limit = AUDIT_DEFAULT;
	if (api_query_int(req, "before", 0, INT64_MAX, &before) < 0 ||
	    api_query_int(req, "limit", 1, AUDIT_MAX, &limit) < 0)
		return;
	json_t *args =
	    json_pack("{s:I,s:I}", "before", (json_int_t)before, "limit", (json_int_t)limit);
	struct api_ctx *x = api_ctx_new(req, run_audit, API_ADMIN, NULL, args);
	if (x)
		api_ctx_start(req, x);
}

/* ---- bots --------------------------------------------------------------- */

static void bot_created(void *ud, const parley_auth_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK || !res->user) {
		api_ctx_fail(x, res->rc == PARLEY_OK ? PARLEY_ERR : res->rc, res->message, 0);
		return;
	}
	api_audit(x, "bot.create", res->user->id, json_pack("{s:s}", "name", res->user->name));
	api_ctx_json(x, 201, json_pack("{s:o}", "user", api_user_full(res->user)));
}

static void run_bot_create(struct api_ctx *x)
{
	const struct provider *p = AUTH_PROVIDER_WITH(user_add);
	if (!p) {
		api_ctx_fail(x, PARLEY_ENOTFOUND, "no auth provider creates accounts", 0);
		return;
	}
	const parley_auth_vtable *vt = p->vtable;
	int rc = vt->user_add(p->self, json_string_value(json_object_get(x->body, "name")), "bot",
	                      NULL, NULL, bot_created, x);
	if (rc < 0)
		api_ctx_fail(x, rc, NULL, 0);
}

static void bot_token_done(void *ud, const parley_auth_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK || !res->token) {
		api_ctx_fail(x, res->rc == PARLEY_OK ? PARLEY_ERR : res->rc, res->message, 0);
		return;
	}
	api_audit(x, "bot.token", x->id, json_pack("{s:s,s:s?}", "scopes", x->s1, "rooms", x->s2));
	json_t *out =
	    json_pack("{s:s,s:s,s:s}", "token", res->token, "user", x->id, "scopes", x->s1);
	if (out && x->s2)
		json_object_set_new(out, "rooms", json_loads(x->s2, 0, NULL));
	if (out && res->expires_ts != INT64_MAX)
		json_object_set_new(out, "expires", json_integer(res->expires_ts));
	api_ctx_json(x, 201, out);
}

static void run_bot_token(struct api_ctx *x)
{
	const struct provider *p = AUTH_PROVIDER_WITH(bot_token_new);
	if (!p) {
		api_ctx_fail(x, PARLEY_ENOTFOUND, "no auth provider makes bot tokens", 0);
		return;
	}
	const parley_auth_vtable *vt = p->vtable;
	int rc = vt->bot_token_new(p->self, x->id, x->s1, x->s2, x->n1, bot_token_done, x);
	if (rc < 0)
		api_ctx_fail(x, rc == PARLEY_EINVAL ? PARLEY_ENOTFOUND : rc, "no such bot", 0);
}

/* scopes: ["read","post"] or "read,post"; rooms: ["r_1", …]. */
static int token_args(struct http_request *req, json_t *body, char **scopes, char **rooms)
{
	json_t *s = json_object_get(body, "scopes"), *r = json_object_get(body, "rooms");
	char buf[128] = "";
	size_t i;
	json_t *v;
	if (json_is_string(s)) {
		snprintf(buf, sizeof buf, "%s", json_string_value(s));
	} else if (json_is_array(s) && json_array_size(s) > 0 && json_array_size(s) <= 4) {
		json_array_foreach(s, i, v)
		{
			if (!json_is_string(v))
				break;
			size_t len = strlen(buf);
			snprintf(buf + len, sizeof buf - len, "%s%s", len ? "," : "",
			         json_string_value(v));
		}
	}
	if (!buf[0]) {
		api_error(req, 400, "bad_request",
		          "scopes: expected a list of read, post, react, moderate");
		return -1;
	}
	if (r && !json_is_null(r)) {
		int ok = json_is_array(r) && json_array_size(r) > 0 && json_array_size(r) <= 256;
		json_array_foreach(r, i, v) ok = ok && json_is_string(v);
		if (!ok) {
			api_error(req, 400, "bad_request", "rooms: expected a list of room ids");
			return -1;
		}
		*rooms = json_dumps(r, JSON_COMPACT);
	}
	*scopes = strdup(buf);
	return 0;
}

static void route_bot_token(struct http_request *req, const char *bot_id)
{
	json_t *body = api_body(req);
	int64_t ttl = 0;
	if (!body)
		return;
	json_t *t = json_object_get(body, "ttl");
	if (t && (!json_is_integer(t) || json_integer_value(t) < 0)) {
		api_error(req, 400, "bad_request", "ttl: expected seconds (0: no expiry)");
		json_decref(body);
		return;
	}
	ttl = t ? json_integer_value(t) : 0;
	struct api_ctx *x = api_ctx_new(req, run_bot_token, API_ADMIN, bot_id, body);
	if (!x)
		return;
	x->n1 = ttl;
	if (token_args(req, x->body, &x->s1, &x->s2) < 0) {
		api_ctx_free(x);
		return;
	}
	api_ctx_start(req, x);
}

static void bot_tokens_revoked(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK) {
		api_ctx_fail(x, res->rc, NULL, 0);
		return;
	}
	chat_user_revoked(x->id);
	api_audit(x, "bot.token_revoke", x->id,
	          json_pack("{s:I}", "revoked", (json_int_t)res->value));
	api_ctx_json(x, 200,
	             json_pack("{s:s,s:I}", "user", x->id, "revoked", (json_int_t)res->value));
}

static void run_bot_revoke(struct api_ctx *x)
{
	void *self;
	const parley_store_vtable *st = api_ctx_store(x, &self);
	if (!st)
		return;
	int rc = st->session_delete(self, NULL, x->id, bot_tokens_revoked, x);
	if (rc < 0)
		api_ctx_fail(x, rc == PARLEY_EINVAL ? PARLEY_ENOTFOUND : rc, "no such bot", 0);
}

static void route_simple(struct http_request *req, api_run_fn run, const char *id, json_t *body)
{
	struct api_ctx *x = api_ctx_new(req, run, API_ADMIN, id, body);
	if (x)
		api_ctx_start(req, x);
}

int api_admin_route(struct http_request *req, const char *path)
{
	char id[API_ID_MAX];
	int post = api_is_post(req), get = !strcmp(req->method, "GET");
	if (api_path_param(path, "/api/admin/users/", "/role", id, sizeof id)) {
		post ? route_role(req, id)
		     : api_error(req, 405, "bad_request", "method not allowed");
	} else if (api_path_param(path, "/api/admin/invites/", "/revoke", id, sizeof id)) {
		post ? route_simple(req, run_invite_revoke, id, NULL)
		     : api_error(req, 405, "bad_request", "method not allowed");
	} else if (!strcmp(path, "/api/admin/audit")) {
		get ? route_audit(req) : api_error(req, 405, "bad_request", "method not allowed");
	} else if (!strcmp(path, "/api/admin/bots")) {
		if (!post) {
			api_error(req, 405, "bad_request", "method not allowed");
			return 1;
		}
		json_t *body = api_body(req);
		const char *name;
		if (body && api_body_str(req, body, "name", 1, &name) >= 0)
			route_simple(req, run_bot_create, NULL, body);
		else
			json_decref(body);
	} else if (api_path_param(path, "/api/admin/bots/", "/tokens", id, sizeof id)) {
		post ? route_bot_token(req, id)
		     : api_error(req, 405, "bad_request", "method not allowed");
	} else if (api_path_param(path, "/api/admin/bots/", "/tokens/revoke", id, sizeof id)) {
		post ? route_simple(req, run_bot_revoke, id, NULL)
		     : api_error(req, 405, "bad_request", "method not allowed");
	} else {
		return 0;
	}
	return 1;
}
