/* The admin routes: accounts (list, disable, enable, role), invites
 * (create, e-mail, list, revoke), the audit log, bot accounts and their
 * scoped tokens, and the scripts' status. Every change is written to the
 * audit log with who, what, when and from where. The router lets only
 * admins in (API_ADMIN: no bot token either).
 *
 *   GET  /api/admin/users
 *   POST /api/admin/users/{id}/disable, /enable
 *   POST /api/admin/users/{id}/role {role}
 *   POST /api/admin/invites {role, email?}    GET /api/admin/invites
 *   POST /api/admin/invites/{id}/revoke
 *   GET  /api/admin/audit (api_audit.c)
 *   POST /api/admin/bots {name, display_name?}
 *   POST /api/admin/bots/{id}/tokens {scopes, rooms?, ttl?}
 *   POST /api/admin/bots/{id}/tokens/revoke
 *   GET  /api/admin/scripts, POST /api/admin/scripts/reload */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api_internal.h"
#include "base/log.h"
#include "base/loop.h"
#include "chat/chat.h"
#include "chat/cluster_bus.h"
#include "chat/users.h"
#include "host/auth.h"
#include "host/plugin_host.h"
#include "lua/scripts.h"
#include "net/http.h"

#define STORE_HAS(st, m) PARLEY_HAS(parley_store_vtable, st, m)

static int role_valid(const char *role)
{
	return role && (!strcmp(role, "admin") || !strcmp(role, "member") || !strcmp(role, "bot"));
}

/* ---- users -------------------------------------------------------------- */

static void users_listed(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK) {
		api_ctx_fail(x, res->rc, "cannot list users", 0);
		return;
	}
	json_t *list = json_array();
	for (size_t i = 0; list && i < res->n_users; i++)
		json_array_append_new(list, api_user_full(&res->users[i]));
	api_ctx_json(x, 200, json_pack("{s:o*}", "users", list));
}

static void run_users(struct api_ctx *x)
{
	void *self;
	const parley_store_vtable *st = api_ctx_store(x, &self);
	if (!st)
		return;
	int rc = st->users_list(self, users_listed, x);
	if (rc < 0)
		api_ctx_fail(x, rc, "cannot list users", 0);
}

void api_admin_users(struct http_request *req, const struct api_route *r, const char *id)
{
	struct api_ctx *x = api_ctx_new(req, r, run_users, id, NULL);
	if (x)
		api_ctx_start(req, x);
}

/* ---- keeping one active admin ------------------------------------------ */

/* Disables and demotions run one at a time, each counting the active
 * admins in the store first: two admins removing each other at once both
 * pass the "not yourself" check, and only the store (not the cache, which
 * lacks users added by the CLI) knows who is still an admin. Admin changes
 * are rare, so the queue costs nothing. */
static struct api_ctx *removal_running, *removal_head, *removal_tail;

static void removal_next(void);

static int user_is_active_admin(const parley_user *u)
{
	return !u->disabled && u->role && !strcmp(u->role, "admin");
}

static void removal_counted(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK) {
		api_ctx_fail(x, res->rc, "cannot count the active admins", 0);
		removal_running = NULL;
		removal_next();
		return;
	}
	size_t others = 0;
	int target_admin = 0;
	for (size_t i = 0; i < res->n_users; i++) {
		if (!user_is_active_admin(&res->users[i]))
			continue;
		if (res->users[i].id && !strcmp(res->users[i].id, x->id))
			target_admin = 1;
		else
			others++;
	}
	if (target_admin && others == 0) {
		api_ctx_fail(x, PARLEY_ECONFLICT, "at least one active admin must remain", 0);
		removal_running = NULL;
		removal_next();
		return;
	}
	x->admin_apply(x); /* its store callback calls removal_done */
}

static void removal_next(void)
{
	while (!removal_running && removal_head) {
		struct api_ctx *x = removal_head;
		removal_head = x->admin_next;
		if (!removal_head)
			removal_tail = NULL;
		x->admin_next = NULL;
		void *self;
		const parley_store_vtable *st = api_ctx_store(x, &self);
		if (!st)
			continue;
		removal_running = x;
		int rc = st->users_list(self, removal_counted, x);
		if (rc < 0) {
			removal_running = NULL;
			api_ctx_fail(x, rc, "cannot count the active admins", 0);
		}
	}
}

/* Queues x, whose admin_apply writes the change once the count allows it. */
static void removal_queue(struct api_ctx *x, void (*apply)(struct api_ctx *))
{
	x->admin_apply = apply;
	if (removal_tail)
		removal_tail->admin_next = x;
	else
		removal_head = x;
	removal_tail = x;
	removal_next();
}

/* Called first by the store callback of a queued change. */
static void removal_done(struct api_ctx *x)
{
	if (removal_running == x) {
		removal_running = NULL;
		removal_next(); /* x's write is committed: the next count sees it */
	}
}

static void sessions_deleted(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK) {
		log_error("user_disable", NULL, "cannot delete the sessions of %s: %s", x->id,
		          res->error ? res->error : chat_error_code(res->rc));
		api_ctx_fail(x, res->rc, "the account is disabled, its sessions not revoked", 0);
		return;
	}
	api_ctx_json(x, 200, json_pack("{s:O}", "user", x->user));
}

static void state_updated(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	removal_done(x);
	if (res->rc != PARLEY_OK || res->n_users == 0) {
		api_ctx_fail(x, res->rc == PARLEY_OK ? PARLEY_ENOTFOUND : res->rc,
		             res->rc == PARLEY_ENOTFOUND || res->rc == PARLEY_OK
		                 ? "no such user"
		                 : "cannot update the user",
		             0);
		return;
	}
	x->user = api_user_full(&res->users[0]);
	users_upsert(&res->users[0]);
	cluster_user_changed(x->id, NULL, 0); /* the other nodes' caches */
	api_audit(x, NULL, x->disable ? "user.disable" : "user.enable", x->id, NULL);
	if (!x->disable) {
		api_ctx_json(x, 200, json_pack("{s:O}", "user", x->user));
		return;
	}
	/* Close their connections now; their stored sessions go next. */
	chat_user_revoked(x->id);
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	int rc = st ? st->session_delete(self, NULL, x->id, sessions_deleted, x) : PARLEY_EUNAVAIL;
	if (rc < 0) {
		parley_store_result fail = {.rc = rc, .error = "session_delete refused"};
		sessions_deleted(x, &fail);
	}
}

static void apply_user_state(struct api_ctx *x)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	parley_user pu = {.id = x->id, .disabled = x->disable};
	int rc = st ? st->user_update(self, &pu, 1, state_updated, x) : PARLEY_EUNAVAIL;
	/* Ids are opaque: one the store cannot even parse names no one. */
	if (rc < 0) {
		removal_done(x);
		api_ctx_fail(x, rc == PARLEY_EINVAL ? PARLEY_ENOTFOUND : rc, "no such user", 0);
	}
}

static void run_user_state(struct api_ctx *x)
{
	void *self;
	/* The caller is an active admin: refusing only themselves keeps at
	 * least one, so no one can lock everyone out of the admin pages. */
	if (x->disable && x->who_id && !strcmp(x->id, x->who_id)) {
		api_ctx_fail(x, PARLEY_ECONFLICT, "admins cannot disable themselves", 0);
		return;
	}
	if (!api_ctx_store(x, &self))
		return;
	if (x->disable)
		removal_queue(x, apply_user_state);
	else
		apply_user_state(x);
}

static void route_user_state(struct http_request *req, const struct api_route *r,
                             const char *user_id, int disable)
{
	struct api_ctx *x = api_ctx_new(req, r, run_user_state, user_id, NULL);
	if (!x)
		return;
	x->disable = disable;
	api_ctx_start(req, x);
}

void api_admin_disable(struct http_request *req, const struct api_route *r, const char *user_id)
{
	route_user_state(req, r, user_id, 1);
}

void api_admin_enable(struct http_request *req, const struct api_route *r, const char *user_id)
{
	route_user_state(req, r, user_id, 0);
}

/* ---- role --------------------------------------------------------------- */

static void role_updated(void *ud, const parley_store_result *res)
{
	struct api_ctx *x = ud;
	removal_done(x);
	if (res->rc != PARLEY_OK || res->n_users == 0) {
		api_ctx_fail(
		    x, res->rc == PARLEY_OK ? PARLEY_ENOTFOUND : res->rc,
		    res->rc == PARLEY_ENOTFOUND || res->rc == PARLEY_OK ? "no such user" : NULL, 0);
		return;
	}
	users_upsert(&res->users[0]);
	cluster_user_changed(x->id, NULL, 0); /* the other nodes' caches */
	api_audit(x, NULL, "user.role", x->id, json_pack("{s:s}", "role", x->role));
	api_ctx_json(x, 200, json_pack("{s:o}", "user", api_user_full(&res->users[0])));
}

static void apply_role(struct api_ctx *x)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	parley_user u = {.id = x->id, .role = x->role};
	int rc = st ? st->user_update(self, &u, 0, role_updated, x) : PARLEY_EUNAVAIL;
	if (rc < 0) {
		removal_done(x);
		api_ctx_fail(x, rc == PARLEY_EINVAL ? PARLEY_ENOTFOUND : rc, "no such user", 0);
	}
}

static void run_role(struct api_ctx *x)
{
	void *self;
	if (!api_ctx_store(x, &self))
		return;
	if (!strcmp(x->id, x->who_id) && strcmp(x->role, "admin") != 0) {
		/* The last admin could lock everyone out of administration. */
		api_ctx_fail(x, PARLEY_ECONFLICT, "admins cannot demote themselves", 0);
		return;
	}
	if (strcmp(x->role, "admin") != 0)
		removal_queue(x, apply_role);
	else
		apply_role(x);
}

void api_admin_role(struct http_request *req, const struct api_route *r, const char *user_id)
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
	struct api_ctx *x = api_ctx_new(req, r, run_role, user_id, body);
	if (!x)
		return;
	if (!(x->role = strdup(role))) {
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		api_ctx_free(x);
		return;
	}
	api_ctx_start(req, x);
}

/* ---- invites ------------------------------------------------------------ */

/* The invite's answer; emailed: -1 when no address was given. */
static void invite_answer(struct api_ctx *x, int emailed, const char *email_error)
{
	json_t *out = json_pack("{s:s,s:s?,s:I}", "token", x->invite_token, "link", x->invite_link,
	                        "expires", (json_int_t)x->invite_expires);
	if (out && emailed >= 0)
		json_object_set_new(out, "emailed", json_boolean(emailed));
	if (out && email_error)
		json_object_set_new(out, "email_error", json_string(email_error));
	api_ctx_json(x, 201, out);
}

static void invite_emailed(void *ud, int rc, const char *error)
{
	struct api_ctx *x = ud;
	if (rc != PARLEY_OK)
		log_warn("invite_email", NULL, "the invite for an address was not e-mailed: %s",
		         error ? error : "notify failed");
	if (rc == PARLEY_EINVAL)
		api_ctx_fail(x, rc, error ? error : "email: not an address mail can go to", 0);
	else
		invite_answer(x, rc == PARLEY_OK, rc == PARLEY_OK ? NULL : error);
}

/* Hands the invite to the notify providers (notify_email) through the
 * host's own fan-out; its ctx argument is only the caller's name there. */
static int invite_email(struct api_ctx *x)
{
	char expires[64];
	time_t t = (time_t)(x->invite_expires / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(expires, sizeof expires, "%Y-%m-%d %H:%M UTC", &tm);
	const char *vars[] = {"link",    x->invite_link ? x->invite_link : "",
	                      "expires", expires,
	                      "inviter", x->inviter ? x->inviter : "An administrator"};
	parley_notify_msg msg = {
	    .struct_size = sizeof msg,
	    .kind = "invite",
	    .to = x->email,
	    .vars = vars,
	    .n_vars = sizeof vars / sizeof vars[0] / 2,
	};
	return plugins_host()->notify(NULL, &msg, invite_emailed, x);
}

static void invite_created(void *ud, const parley_auth_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK || !res->token) {
		api_ctx_fail(x, res->rc == PARLEY_OK ? PARLEY_ERR : res->rc, res->message,
		             res->retry_after_ms);
		return;
	}
	x->invite_expires = res->expires_ts;
	api_audit(x, NULL, "invite.create", NULL,
	          json_pack("{s:s?,s:s?}", "role", x->role, "email", x->email));
	if (!(x->invite_token = strdup(res->token)) ||
	    (res->link && !(x->invite_link = strdup(res->link)))) {
		api_ctx_fail(x, PARLEY_ENOMEM, NULL, 0);
		return;
	}
	/* The answer waits for the mail only while someone may still read it. */
	if (x->email && api_ctx_req(x) && plugins_has_provider(PARLEY_PROVIDE_NOTIFY)) {
		if (invite_email(x) == PARLEY_PENDING)
			return; /* invite_emailed answers and frees */
		invite_answer(x, 0, "no notify provider accepted the message");
		return;
	}
	invite_answer(x, x->email ? 0 : -1, NULL);
}

static void run_invite(struct api_ctx *x)
{
	const struct provider *p = AUTH_PROVIDER_WITH(invite_create);
	if (!p) {
		api_ctx_fail(x, PARLEY_ENOTFOUND, "no auth provider creates invites", 0);
		return;
	}
	const char *who =
	    x->who.display_name && *x->who.display_name ? x->who.display_name : x->who.name;
	if (who && !(x->inviter = strdup(who))) {
		api_ctx_fail(x, PARLEY_ENOMEM, NULL, 0);
		return;
	}
	const parley_auth_vtable *vt = p->vtable;
	int rc = vt->invite_create(p->self, x->role, x->email, x->who_id, invite_created, x);
	if (rc < 0)
		api_ctx_fail(x, rc, NULL, 0);
}

void api_admin_invite(struct http_request *req, const struct api_route *r, const char *id)
{
	json_t *body = api_body(req);
	const char *role, *email;
	if (!body)
		return;
	if (api_body_str(req, body, "role", 1, &role) < 0 ||
	    api_body_str(req, body, "email", 0, &email) < 0)
		goto bad;
	if (!role_valid(role)) {
		api_error(req, 400, "bad_request", "role: expected admin, member or bot");
		goto bad;
	}
	/* Refused before an invite exists: a line break in an address is a
	 * header injection attempt (notify_email checks again). */
	for (const char *p = email; p && *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			api_error(req, 400, "bad_request",
			          "email: must not contain line breaks or control characters");
			goto bad;
		}
	}
	struct api_ctx *x = api_ctx_new(req, r, run_invite, id, body);
	if (!x)
		return;
	if (!(x->role = strdup(role)) || (email && !(x->email = strdup(email)))) {
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		api_ctx_free(x);
		return;
	}
	api_ctx_start(req, x);
	return;
bad:
	json_decref(body);
}

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

void api_admin_invites(struct http_request *req, const struct api_route *r, const char *id)
{
	struct api_ctx *x = api_ctx_new(req, r, run_invites_list, id, NULL);
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
	api_audit(x, NULL, "invite.revoke", x->id, NULL);
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

/* ---- bots --------------------------------------------------------------- */

static void bot_created(void *ud, const parley_auth_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK || !res->user) {
		api_ctx_fail(x, res->rc == PARLEY_OK ? PARLEY_ERR : res->rc, res->message, 0);
		return;
	}
	api_audit(x, NULL, "bot.create", res->user->id,
	          json_pack("{s:s}", "name", res->user->name));
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
	api_audit(x, NULL, "bot.token", x->id,
	          json_pack("{s:s,s:s?}", "scopes", x->scopes, "rooms", x->rooms));
	json_t *out =
	    json_pack("{s:s,s:s,s:s}", "token", res->token, "user", x->id, "scopes", x->scopes);
	if (out && x->rooms)
		json_object_set_new(out, "rooms", json_loads(x->rooms, 0, NULL));
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
	int rc =
	    vt->bot_token_new(p->self, x->id, x->scopes, x->rooms, x->ttl_s, bot_token_done, x);
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

void api_admin_bot_token(struct http_request *req, const struct api_route *r, const char *bot_id)
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
	struct api_ctx *x = api_ctx_new(req, r, run_bot_token, bot_id, body);
	if (!x)
		return;
	x->ttl_s = ttl;
	if (token_args(req, x->body, &x->scopes, &x->rooms) < 0) {
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
	/* Every token of the bot ended: so did the sockets on them. */
	chat_sessions_end(x->id, NULL);
	api_audit(x, NULL, "bot.token_revoke", x->id,
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

static void route_simple(struct http_request *req, const struct api_route *r, api_run_fn run,
                         const char *id, json_t *body)
{
	struct api_ctx *x = api_ctx_new(req, r, run, id, body);
	if (x)
		api_ctx_start(req, x);
}

void api_admin_invite_revoke(struct http_request *req, const struct api_route *r,
                             const char *invite_id)
{
	route_simple(req, r, run_invite_revoke, invite_id, NULL);
}

void api_admin_bot_create(struct http_request *req, const struct api_route *r, const char *id)
{
	json_t *body = api_body(req);
	const char *name;
	if (body && api_body_str(req, body, "name", 1, &name) >= 0)
		route_simple(req, r, run_bot_create, id, body);
	else
		json_decref(body);
}

void api_admin_bot_revoke(struct http_request *req, const struct api_route *r, const char *bot_id)
{
	route_simple(req, r, run_bot_revoke, bot_id, NULL);
}

/* ---- scripts ------------------------------------------------------------ */

/* Synchronous: the scripts are the loop thread's. */
static void run_scripts(struct api_ctx *x)
{
	api_ctx_json(x, 200, scripts_status());
}

static void run_scripts_reload(struct api_ctx *x)
{
	api_ctx_json(x, 200, scripts_reload());
}

void api_admin_scripts(struct http_request *req, const struct api_route *r, const char *id)
{
	route_simple(req, r, run_scripts, id, NULL);
}

void api_admin_scripts_reload(struct http_request *req, const struct api_route *r, const char *id)
{
	route_simple(req, r, run_scripts_reload, id, NULL);
}
