/* Sessions: POST /api/login {username, password} and POST /api/register
 * {invite, username, password, email?} answer the session and its cookie;
 * POST /api/logout ends the caller's session and closes, at once, every
 * WebSocket that authenticated with it. */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "base/loop.h"
#include "base/token_hash.h"
#include "chat/chat.h"
#include "host/auth.h"
#include "host/plugin_host.h"
#include "net/http.h"

#define API_COOKIE_MAX 512 /* the Set-Cookie line */

/* login and register answer alike: the session and the cookie. */
static void answer_session(struct api_ctx *x, const parley_auth_result *res, int status)
{
	struct http_request *req = api_ctx_req(x);
	if (!req) {
		api_ctx_free(x);
		return;
	}
	if (res->rc != PARLEY_OK || !res->token || !res->user) {
		api_ctx_fail(x, res->rc == PARLEY_OK ? PARLEY_ERR : res->rc, res->message,
		             res->retry_after_ms);
		return;
	}
	char cookie[API_COOKIE_MAX];
	int64_t max_age = (res->expires_ts - loop_now_ms()) / 1000;
	const char *extra =
	    api_session_cookie(cookie, sizeof(cookie), res->token, max_age, x->tls) == 0 ? cookie
	                                                                                 : NULL;
	api_json(req, status, extra,
	         json_pack("{s:s,s:I,s:o}", "token", res->token, "expires",
	                   (json_int_t)res->expires_ts, "user", api_user_brief(res->user)));
	api_ctx_free(x);
}

static void logged_in(void *ud, const parley_auth_result *res)
{
	answer_session(ud, res, 200);
}

static void registered(void *ud, const parley_auth_result *res)
{
	answer_session(ud, res, 201);
}

static void run_login(struct api_ctx *x)
{
	const struct provider *p = AUTH_PROVIDER_WITH(login);
	if (!p) {
		api_ctx_fail(x, PARLEY_ENOTFOUND, "no auth provider logs in with a password", 0);
		return;
	}
	const parley_auth_vtable *vt = p->vtable;
	int rc = vt->login(p->self, json_string_value(json_object_get(x->body, "username")),
	                   json_string_value(json_object_get(x->body, "password")), x->client,
	                   logged_in, x);
	if (rc < 0)
		api_ctx_fail(x, rc, NULL, 0);
}

static void run_register(struct api_ctx *x)
{
	const struct provider *p = AUTH_PROVIDER_WITH(register_user);
	if (!p) {
		api_ctx_fail(x, PARLEY_ENOTFOUND, "no auth provider registers accounts", 0);
		return;
	}
	const parley_auth_vtable *vt = p->vtable;
	const char *invite = json_string_value(json_object_get(x->body, "invite"));
	const char *name = json_string_value(json_object_get(x->body, "username"));
	const char *password = json_string_value(json_object_get(x->body, "password"));
	const char *email = json_string_value(json_object_get(x->body, "email"));
	/* A provider that takes the client address throttles registration. */
	int rc = AUTH_PROVIDER_WITH(register_from) == p
	             ? vt->register_from(p->self, invite, name, password, email, x->client,
	                                 registered, x)
	             : vt->register_user(p->self, invite, name, password, email, registered, x);
	if (rc < 0)
		api_ctx_fail(x, rc, NULL, 0);
}

/* The body with its string members checked, or NULL after answering. */
static json_t *body_with(struct http_request *req, const char *const *required, size_t n,
                         const char *optional)
{
	json_t *body = api_body(req);
	const char *v;
	for (size_t i = 0; body && i < n; i++)
		if (api_body_str(req, body, required[i], 1, &v) < 0)
			goto bad;
	if (body && optional && api_body_str(req, body, optional, 0, &v) < 0)
		goto bad;
	return body;
bad:
	json_decref(body);
	return NULL;
}

void api_login(struct http_request *req, const struct api_route *r, const char *id)
{
	static const char *const keys[] = {"username", "password"};
	json_t *body = body_with(req, keys, 2, NULL);
	struct api_ctx *x = body ? api_ctx_new(req, r, run_login, id, body) : NULL;
	if (x)
		api_ctx_start(req, x);
}

void api_register(struct http_request *req, const struct api_route *r, const char *id)
{
	static const char *const keys[] = {"invite", "username", "password"};
	json_t *body = body_with(req, keys, 3, "email");
	struct api_ctx *x = body ? api_ctx_new(req, r, run_register, id, body) : NULL;
	if (x)
		api_ctx_start(req, x);
}

static void logged_out(void *ud, const parley_auth_result *res)
{
	struct api_ctx *x = ud;
	/* An unknown token is as logged out as a revoked one. */
	if (res->rc != PARLEY_OK && res->rc != PARLEY_EUNAUTHORIZED) {
		api_ctx_fail(x, res->rc, res->message, res->retry_after_ms);
		return;
	}
	/* The session is gone: so are the sockets that live on it, whether or
	 * not this request is still there to be answered. */
	char hash[TOKEN_HASH_HEX + 1];
	token_hash_hex(x->token, hash);
	chat_sessions_end(NULL, hash);
	struct http_request *req = api_ctx_req(x);
	if (req) {
		char cookie[API_COOKIE_MAX];
		api_session_cookie(cookie, sizeof(cookie), NULL, 0, x->tls);
		api_log(req, 204);
		http_respond(req, 204, NULL, cookie, NULL, 0);
	}
	api_ctx_free(x);
}

/* Any credential may end itself, even one the chain no longer accepts:
 * the router checks none (API_ANYONE) and the provider decides. */
void api_logout(struct http_request *req, const struct api_route *r, const char *id)
{
	const struct provider *p = AUTH_PROVIDER_WITH(logout);
	char *token = api_request_token(req);
	if (!token)
		return;
	if (!p) {
		free(token);
		api_error(req, 404, "not_found", "no auth provider logs out");
		return;
	}
	struct api_ctx *x = api_ctx_new(req, r, NULL, id, NULL);
	if (!x) {
		free(token);
		return;
	}
	x->token = token;
	const parley_auth_vtable *vt = p->vtable;
	int rc = vt->logout(p->self, token, logged_out, x);
	if (rc < 0) {
		api_fail(req, rc, NULL, 0);
		api_ctx_free(x);
	}
}
