/* The asynchronous request context of the API routes: one record per
 * request that owns copies of what later steps need, authenticates the
 * caller through the auth chain, applies the route's access rule, then
 * runs the route's step. Every path ends in api_ctx_json or api_ctx_fail,
 * which answer only when the connection is still there. */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "base/config.h"
#include "base/log.h"
#include "chat/scope.h"
#include "host/auth.h"
#include "host/plugin_host.h"
#include "net/http.h"

int api_access(const struct api_route *route, const struct scope *scope, int bad_scope,
               const char *role, const char *room_id, const char **msg)
{
	if (scope || bad_scope) {
		if (route->scope == API_NO_BOT_TOKEN) {
			*msg = "not with a bot token";
			return PARLEY_EFORBIDDEN;
		}
		if (scope_hides_room(scope, room_id)) {
			*msg = "no such room";
			return PARLEY_ENOTFOUND;
		}
		if (!scope || !scope_allows(scope, route->scope, NULL)) {
			*msg = "outside the token's scope";
			return PARLEY_EFORBIDDEN;
		}
	}
	if (route->need == API_ADMIN && (!role || strcmp(role, "admin") != 0)) {
		*msg = "admin only";
		return PARLEY_EFORBIDDEN;
	}
	*msg = NULL;
	return PARLEY_OK;
}

struct api_ctx *api_ctx_new(struct http_request *req, const struct api_route *route, api_run_fn run,
                            const char *id, json_t *body)
{
	struct api_ctx *x = calloc(1, sizeof *x);
	if (!x) {
		json_decref(body);
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		return NULL;
	}
	x->conn_id = req->conn_id;
	x->tls = req->c ? req->c->tls : 0;
	x->route = route;
	x->run = run;
	x->body = body;
	origin_client_addr(server_config, req, x->client, sizeof x->client);
	if (id)
		snprintf(x->id, sizeof x->id, "%s", id);
	return x;
}

void api_ctx_free(struct api_ctx *x)
{
	if (!x)
		return;
	json_decref(x->body);
	free(x->upload);
	json_decref(x->user);
	free(x->token);
	free(x->who_id);
	free(x->who_name);
	free(x->who_display);
	free(x->who_role);
	free(x->who_email);
	scope_free(x->scope);
	free(x->text);
	free(x->client_id);
	free(x->role);
	free(x->email);
	free(x->scopes);
	free(x->rooms);
	free(x->invite_token);
	free(x->invite_link);
	free(x->inviter);
	free(x->audit_actor);
	free(x->audit_action);
	json_decref(x->audit_found);
	free(x);
}

struct http_request *api_ctx_req(struct api_ctx *x)
{
	return http_request_find(x->conn_id);
}

void api_ctx_json(struct api_ctx *x, int status, json_t *j)
{
	struct http_request *req = api_ctx_req(x);
	if (req)
		api_json(req, status, NULL, j);
	else
		json_decref(j);
	api_ctx_free(x);
}

void api_ctx_fail(struct api_ctx *x, int rc, const char *msg, int64_t retry_after_ms)
{
	struct http_request *req = api_ctx_req(x);
	if (req)
		api_fail(req, rc, msg, retry_after_ms);
	api_ctx_free(x);
}

const parley_store_vtable *api_ctx_store(struct api_ctx *x, void **self)
{
	const parley_store_vtable *st = plugins_store(self);
	if (!st)
		api_ctx_fail(x, PARLEY_EUNAVAIL, "no store", 0);
	return st;
}

static void authenticated(void *ud, const parley_auth_result *res)
{
	struct api_ctx *x = ud;
	if (!api_ctx_req(x)) {
		api_ctx_free(x);
		return;
	}
	if (res->rc != PARLEY_OK || !res->user) {
		api_ctx_fail(x, res->rc == PARLEY_OK ? PARLEY_EUNAUTHORIZED : res->rc, res->message,
		             res->retry_after_ms);
		return;
	}
	/* A signed-in connection leaves the short pre-authentication life and
	 * is not shed first under descriptor pressure (a long upload). */
	conn_set_authenticated(api_ctx_req(x)->c);
	int bad = 0;
	x->scope = scope_parse(res->scopes, res->rooms_json, &bad);
	const parley_user *u = res->user;
	const char *display = u->display_name ? u->display_name : u->name;
	if (!(x->who_id = strdup(u->id)) || !(x->who_name = strdup(u->name)) ||
	    !(x->who_display = strdup(display)) ||
	    !(x->who_role = strdup(u->role ? u->role : "member")) ||
	    (u->email && !(x->who_email = strdup(u->email)))) {
		api_ctx_fail(x, PARLEY_ENOMEM, NULL, 0);
		return;
	}
	x->who = (parley_user){.id = x->who_id,
	                       .name = x->who_name,
	                       .display_name = x->who_display,
	                       .role = x->who_role,
	                       .email = x->who_email,
	                       .disabled = u->disabled,
	                       .created_ts = u->created_ts};
	const char *msg;
	int rc = api_access(x->route, x->scope, bad, x->who_role,
	                    x->route->id_is_room ? x->id : NULL, &msg);
	if (rc != PARLEY_OK) {
		log_info("api_forbidden", NULL, "user %s from %s: %s %s: %s", x->who_name,
		         x->client, x->route->method, x->route->pattern, msg);
		api_ctx_fail(x, rc, msg, 0);
		return;
	}
	x->run(x);
}

void api_ctx_start(struct http_request *req, struct api_ctx *x)
{
	if (x->route->need == API_ANYONE) {
		x->run(x);
		return;
	}
	if (!(x->token = api_request_token(req))) {
		api_ctx_free(x);
		return;
	}
	int rc = auth_token(x->token, authenticated, x);
	if (rc < 0) {
		api_fail(req, rc, rc == PARLEY_EUNAUTHORIZED ? "invalid or expired token" : NULL,
		         0);
		api_ctx_free(x);
	}
}

static void audit_written(void *ud, const parley_store_result *res)
{
	(void)ud;
	if (res->rc != PARLEY_OK)
		log_error("audit_failed", NULL, "an audit entry was not written: %s",
		          res->error ? res->error : "store error");
}

void api_audit(const struct api_ctx *x, const char *actor_id, const char *action,
               const char *target, json_t *detail)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	if (!actor_id)
		actor_id = x->who_id;
	int have = PARLEY_HAS(parley_store_vtable, st, audit_append);
	parley_audit a = {.actor_id = actor_id,
	                  .action = action,
	                  .target = target,
	                  .detail = text,
	                  .client = x->client};
	/* Also in the log, so an audit trail exists even without the store. */
	log_info("audit", NULL, "%s by %s from %s on %s", action, actor_id ? actor_id : "server",
	         x->client, target ? target : "-");
	if (!have || st->audit_append(self, &a, audit_written, NULL) < 0)
		log_error("audit_failed", NULL, "an audit entry for %s was not written", action);
	free(text);
}
