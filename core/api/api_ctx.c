/* The asynchronous request context of the newer API routes: one record
 * per request that owns copies of what later steps need, authenticates the
 * caller through the auth chain, checks the kind of caller the route
 * needs, then runs the route's step. Every path ends in api_ctx_json or
 * api_ctx_fail, which answer only when the connection is still there. */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "host/auth.h"
#include "base/config.h"
#include "net/http.h"
#include "base/log.h"
#include "host/plugin_host.h"
#include "chat/scope.h"

struct api_ctx *api_ctx_new(struct http_request *req, api_run_fn run, enum api_need need,
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
	x->run = run;
	x->need = need;
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
	json_decref(x->out);
	free(x->token);
	free(x->who_id);
	free(x->who_name);
	free(x->who_role);
	free(x->s1);
	free(x->s2);
	scope_free(x->scope);
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
	int bad = 0;
	x->scope = scope_parse(res->scopes, res->rooms_json, &bad);
	if (!(x->who_id = strdup(res->user->id)) || !(x->who_name = strdup(res->user->name)) ||
	    !(x->who_role = strdup(res->user->role ? res->user->role : "member"))) {
		api_ctx_fail(x, PARLEY_ENOMEM, NULL, 0);
		return;
	}
	x->who = (parley_user){
	    .id = x->who_id, .name = x->who_name, .display_name = x->who_name, .role = x->who_role};
	if (x->need >= API_PERSON && (x->scope || bad)) {
		api_ctx_fail(x, PARLEY_EFORBIDDEN, "not with a bot token", 0);
		return;
	}
	if (x->need == API_ADMIN && strcmp(x->who_role, "admin") != 0) {
		log_info("api_forbidden", NULL, "user %s from %s: admin only", x->who_name,
		         x->client);
		api_ctx_fail(x, PARLEY_EFORBIDDEN, "admin only", 0);
		return;
	}
	x->run(x);
}

void api_ctx_start(struct http_request *req, struct api_ctx *x)
{
	if (x->need == API_ANYONE) {
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

void api_audit_as(const char *actor_id, const char *client, const char *action, const char *target,
                  json_t *detail)
{
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	char *text = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
	json_decref(detail);
	int have = PARLEY_HAS(parley_store_vtable, st, audit_append);
	parley_audit a = {.actor_id = actor_id,
	                  .action = action,
	                  .target = target,
	                  .detail = text,
	                  .client = client};
	/* Also in the log, so an audit trail exists even without the store. */
	log_info("audit", NULL, "%s by %s from %s on %s", action, actor_id ? actor_id : "server",
	         client ? client : "-", target ? target : "-");
	if (!have || st->audit_append(self, &a, audit_written, NULL) < 0)
		log_error("audit_failed", NULL, "an audit entry for %s was not written", action);
	free(text);
}

void api_audit(const struct api_ctx *x, const char *action, const char *target, json_t *detail)
{
	api_audit_as(x->who_id, x->client, action, target, detail);
}
