/* The HTTP router and the JSON API.
 *
 * Each request is answered at once (health, metrics, errors) or after
 * asynchronous steps: the auth chain, an auth provider, the store, the chat
 * layer. An async step keeps only the connection id and copies of what it
 * needs (struct api_call); its callback finds the request again with
 * http_request_find() and, if the connection closed meanwhile, finishes the
 * remaining writes (a disable still revokes) and drops the answer.
 *
 * CSRF: a browser sends Origin on every POST; a POST whose Origin is not
 * allowed is refused, and a POST authenticated by the session cookie must
 * carry an allowed Origin (SameSite=Strict is the second fence). Bearer
 * tokens cannot be sent by a foreign page, so they need no Origin.
 *
 * Logs never carry tokens, passwords or query strings. */
#include "api/api.h"
#include "api/api_internal.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/auth.h"
#include "chat/chat.h"
#include "base/config.h"
#include "net/http.h"
#include "base/log.h"
#include "lua/scripts.h"
#include "base/loop.h"
#include "base/metrics.h"
#include "net/origin.h"
#include "host/plugin_host.h"
#include "chat/scope.h"
#include "net/static_files.h"
#include "api/uploads.h"
#include "chat/users.h"
#include "net/ws.h"

#define API_JSON_MAX_DEPTH  16 /* nesting of request bodies */
#define API_HISTORY_DEFAULT 50 /* PROTOCOL.md: history limit */
#define API_HISTORY_MAX     100
#define API_COOKIE_MAX      512  /* the Set-Cookie line */
#define API_EXTRA_MAX       128  /* other extra header lines */
#define API_READY_MAX       1024 /* /readyz explanation */
#define API_LOG_PATH_MAX    256

enum api_op {
	OP_LOGIN,
	OP_LOGOUT,
	OP_REGISTER,
	OP_HISTORY,
	OP_POST,
	OP_USERS,
	OP_SCRIPTS,
	OP_SCRIPTS_RELOAD,
	OP_DISABLE,
	OP_ENABLE,
	OP_INVITE,
};

/* What an async step keeps of its request. */
struct api_call {
	uint64_t conn_id;
	enum api_op op;
	int tls;
	char *id; /* room id (messages) or user id (disable/enable) */
	char *text;
	char *client_id;
	char *role;
	char *email;
	char *inviter, *token, *link; /* invite: kept while it is e-mailed */
	int64_t expires;
	int64_t before, after;
	int limit;
	json_t *user; /* disable: the updated user, answered after revoking */
	char *actor;  /* the caller's id, for the audit log */
	char client[ORIGIN_MAX];
};

static void call_free(struct api_call *call)
{
	if (!call)
		return;
	free(call->id);
	free(call->text);
	free(call->client_id);
	free(call->role);
	free(call->email);
	free(call->inviter);
	free(call->token);
	free(call->link);
	json_decref(call->user);
	free(call->actor);
	free(call);
}

static struct api_call *call_new(const struct http_request *req, enum api_op op)
{
	struct api_call *call = calloc(1, sizeof(*call));
	if (!call)
		return NULL;
	call->conn_id = req->conn_id;
	call->op = op;
	call->tls = req->c ? req->c->tls : 0;
	origin_client_addr(server_config, req, call->client, sizeof call->client);
	return call;
}

/* ---------------------------------------------------------------- */
/* Pure helpers                                                       */
/* ---------------------------------------------------------------- */

int api_path_param(const char *path, const char *prefix, const char *suffix, char *out, size_t n)
{
	size_t plen = strlen(prefix), slen = strlen(suffix), len = strlen(path);
	if (len <= plen + slen || strncmp(path, prefix, plen) != 0 ||
	    strcmp(path + len - slen, suffix) != 0)
		return 0;
	size_t seg = len - plen - slen;
	if (seg >= n || memchr(path + plen, '/', seg))
		return 0;
	memcpy(out, path + plen, seg);
	out[seg] = '\0';
	return 1;
}

int api_parse_int(const char *s, int64_t *out)
{
	if (!s || !*s || isspace((unsigned char)*s) || *s == '+')
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || end == s)
		return -1;
	*out = v;
	return 0;
}

int api_session_cookie(char *buf, size_t n, const char *token, int64_t max_age_s, int tls)
{
	/* RFC 6265 cookie-octet: no CTLs, blanks, quotes, commas, semicolons
	 * or backslashes, so no header can be smuggled through a token. */
	for (const char *p = token; p && *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == ',' || ch == ';' || ch == '\\')
			return -1;
	}
	if (max_age_s < 0 || !token)
		max_age_s = 0;
	int len = snprintf(buf, n,
	                   "Set-Cookie: " AUTH_COOKIE
	                   "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%" PRId64 "%s\r\n",
	                   token ? token : "", max_age_s, tls ? "; Secure" : "");
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* ---------------------------------------------------------------- */
/* Answers                                                            */
/* ---------------------------------------------------------------- */

/* One debug line per answered request, written before the answer frees req. */
void api_log(const struct http_request *req, int status)
{
	if (LOG_DEBUG < log_min_level)
		return;
	char path[API_LOG_PATH_MAX], ctx[API_LOG_PATH_MAX * 2];
	log_escape(path, sizeof(path), req->path ? req->path : "");
	if (status > 0)
		snprintf(ctx, sizeof(ctx),
		         "\"conn\":%" PRIu64 ",\"method\":\"%s\",\"path\":\"%s\",\"status\":%d",
		         req->conn_id, req->method, path, status);
	else
		snprintf(ctx, sizeof(ctx), "\"conn\":%" PRIu64 ",\"method\":\"%s\",\"path\":\"%s\"",
		         req->conn_id, req->method, path);
	log_write(LOG_DEBUG, "http_request", ctx, "%s %s", req->method, path);
}

/* Answers with j (the reference is taken). */
void api_json(struct http_request *req, int status, const char *extra, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text) {
		api_log(req, 500);
		http_respond_error(req, 500, "internal", "out of memory");
		return;
	}
	api_log(req, status);
	http_respond_json(req, status, extra, text, strlen(text));
	free(text);
}

void api_error(struct http_request *req, int status, const char *code, const char *msg)
{
	if (status == 400 && core_metrics.bad_requests)
		metric_add(core_metrics.bad_requests, 1);
	api_log(req, status);
	http_respond_error(req, status, code, msg);
}

/* An error rc from a provider, the store or chat, with the status and code
 * of PROTOCOL.md; 429 carries Retry-After (whole seconds, rounded up). */
void api_fail(struct http_request *req, int rc, const char *msg, int64_t retry_after_ms)
{
	if (rc >= 0 && rc != PARLEY_DENY)
		rc = PARLEY_ERR;
	int status = chat_error_status(rc);
	const char *code = chat_error_code(rc);
	if (!msg || !*msg)
		msg = http_status_text(status);
	if (status != 429) {
		api_error(req, status, code, msg);
		return;
	}
	int64_t secs = retry_after_ms > 0 ? (retry_after_ms + 999) / 1000 : 1;
	char extra[API_EXTRA_MAX];
	snprintf(extra, sizeof(extra), "Retry-After: %" PRId64 "\r\n", secs);
	api_json(req, status, extra,
	         json_pack("{s:{s:s,s:s,s:I}}", "error", "code", code, "message", msg,
	                   "retry_after_ms", (json_int_t)retry_after_ms));
}

json_t *api_user_brief(const parley_user *u)
{
	return json_pack("{s:s?,s:s?,s:s?,s:s?}", "id", u->id, "name", u->name, "display_name",
	                 u->display_name ? u->display_name : u->name, "role", u->role);
}

json_t *api_user_full(const parley_user *u)
{
	return json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:b,s:I}", "id", u->id, "name", u->name,
	                 "display_name", u->display_name ? u->display_name : u->name, "role",
	                 u->role, "email", u->email, "disabled", u->disabled, "created",
	                 (json_int_t)u->created_ts);
}

/* ---------------------------------------------------------------- */
/* Request bodies                                                     */
/* ---------------------------------------------------------------- */

static int json_depth_ok(const json_t *j, int depth)
{
	if (depth > API_JSON_MAX_DEPTH)
		return 0;
	if (json_is_object(j)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)j, k, v)
		{
			(void)k;
			if (!json_depth_ok(v, depth + 1))
				return 0;
		}
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v)
		{
			if (!json_depth_ok(v, depth + 1))
				return 0;
		}
	}
	return 1;
}

/* The body as a JSON object, or NULL after answering 400. */
json_t *api_body(struct http_request *req)
{
	json_error_t err;
	if (!req->body || req->body_len == 0) {
		api_error(req, 400, "bad_request", "body: expected a JSON object");
		return NULL;
	}
	json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!j) {
		char msg[JSON_ERROR_TEXT_LENGTH + 64];
		snprintf(msg, sizeof(msg), "body: invalid JSON at line %d column %d: %s", err.line,
		         err.column, err.text);
		api_error(req, 400, "bad_request", msg);
		return NULL;
	}
	if (!json_is_object(j) || !json_depth_ok(j, 1)) {
		api_error(req, 400, "bad_request",
		          json_is_object(j) ? "body: nested too deeply"
		                            : "body: expected a JSON object");
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A string member: 1 set, 0 absent and optional, -1 answered 400. */
int api_body_str(struct http_request *req, json_t *o, const char *key, int required,
                 const char **out)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if ((!v || json_is_null(v)) && !required)
		return 0;
	if (!json_is_string(v)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s: expected a string", key);
		api_error(req, 400, "bad_request", msg);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

/* An integer query parameter: 0 (absent: *out untouched, or set), -1
 * answered 400. */
int api_query_int(struct http_request *req, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	char *s = http_query_param(req, key);
	if (!s)
		return 0;
	int64_t v;
	int ok = api_parse_int(s, &v) == 0 && v >= lo && v <= hi;
	free(s);
	if (!ok) {
		char msg[128];
		snprintf(msg, sizeof(msg), "%s: expected an integer from %" PRId64 " to %" PRId64,
		         key, lo, hi);
		api_error(req, 400, "bad_request", msg);
		return -1;
	}
	*out = v;
	return 0;
}

int api_is_post(const struct http_request *req)
{
	return strcmp(req->method, "POST") == 0;
}

/* ---------------------------------------------------------------- */
/* Login, register, logout                                            */
/* ---------------------------------------------------------------- */

/* login and register answer alike: the session and the cookie. */
static void session_done(void *ud, const parley_auth_result *res)
{
	struct api_call *call = ud;
	struct http_request *req = http_request_find(call->conn_id);
	if (!req)
		goto done;
	if (res->rc != PARLEY_OK || !res->token || !res->user) {
		api_fail(req, res->rc == PARLEY_OK ? PARLEY_ERR : res->rc, res->message,
		         res->retry_after_ms);
		goto done;
	}
	char cookie[API_COOKIE_MAX];
	int64_t max_age = (res->expires_ts - loop_now_ms()) / 1000;
	const char *extra =
	    api_session_cookie(cookie, sizeof(cookie), res->token, max_age, call->tls) == 0 ? cookie
	                                                                                    : NULL;
	api_json(req, call->op == OP_REGISTER ? 201 : 200, extra,
	         json_pack("{s:s,s:I,s:o}", "token", res->token, "expires",
	                   (json_int_t)res->expires_ts, "user", api_user_brief(res->user)));
done:
	call_free(call);
}

/* Starts a provider call; call belongs to the callback unless rc < 0. */
static void provider_started(struct http_request *req, struct api_call *call, int rc)
{
	if (rc >= 0)
		return;
	api_fail(req, rc, NULL, 0);
	call_free(call);
}

static void route_login(struct http_request *req)
{
	const struct provider *p = AUTH_PROVIDER_WITH(login);
	json_t *body = api_body(req);
	const char *user, *pass;
	if (!body)
		return;
	if (api_body_str(req, body, "username", 1, &user) < 0 ||
	    api_body_str(req, body, "password", 1, &pass) < 0)
		goto done;
	if (!p) {
		api_error(req, 404, "not_found", "no auth provider logs in with a password");
		goto done;
	}
	struct api_call *call = call_new(req, OP_LOGIN);
	if (!call) {
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		goto done;
	}
	char client[ORIGIN_MAX];
	origin_client_addr(server_config, req, client, sizeof(client));
	const parley_auth_vtable *vt = p->vtable;
	provider_started(req, call, vt->login(p->self, user, pass, client, session_done, call));
done:
	json_decref(body);
}

static void route_register(struct http_request *req)
{
	const struct provider *p = AUTH_PROVIDER_WITH(register_user);
	json_t *body = api_body(req);
	const char *invite, *user, *pass, *email;
	if (!body)
		return;
	if (api_body_str(req, body, "invite", 1, &invite) < 0 ||
	    api_body_str(req, body, "username", 1, &user) < 0 ||
	    api_body_str(req, body, "password", 1, &pass) < 0 ||
	    api_body_str(req, body, "email", 0, &email) < 0)
		goto done;
	if (!p) {
		api_error(req, 404, "not_found", "no auth provider registers accounts");
		goto done;
	}
	struct api_call *call = call_new(req, OP_REGISTER);
	if (!call) {
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		goto done;
	}
	const parley_auth_vtable *vt = p->vtable;
	provider_started(req, call,
	                 vt->register_user(p->self, invite, user, pass, email, session_done, call));
done:
	json_decref(body);
}

static void logout_done(void *ud, const parley_auth_result *res)
{
	struct api_call *call = ud;
	struct http_request *req = http_request_find(call->conn_id);
	char cookie[API_COOKIE_MAX];
	if (!req)
		goto done;
	/* An unknown token is as logged out as a revoked one. */
	if (res->rc != PARLEY_OK && res->rc != PARLEY_EUNAUTHORIZED) {
		api_fail(req, res->rc, res->message, res->retry_after_ms);
		goto done;
	}
	api_session_cookie(cookie, sizeof(cookie), NULL, 0, call->tls);
	api_log(req, 204);
	http_respond(req, 204, NULL, cookie, NULL, 0);
done:
	call_free(call);
}

/* The token of a request that needs one, or NULL after answering. A
 * cookie-authenticated POST must carry an allowed Origin. */
char *api_request_token(struct http_request *req)
{
	int from_cookie;
	char *token = auth_request_token(req, &from_cookie);
	if (!token) {
		api_error(req, 401, "unauthorized", "a bearer token or session cookie is required");
		return NULL;
	}
	if (from_cookie && api_is_post(req) && !http_header(req, "origin")) {
		free(token);
		api_error(req, 403, "forbidden", "a request authenticated by cookie needs Origin");
		return NULL;
	}
	return token;
}

static void route_logout(struct http_request *req)
{
	const struct provider *p = AUTH_PROVIDER_WITH(logout);
	char *token = api_request_token(req);
	if (!token)
		return;
	if (!p) {
		api_error(req, 404, "not_found", "no auth provider logs out");
		goto done;
	}
	struct api_call *call = call_new(req, OP_LOGOUT);
	if (!call) {
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		goto done;
	}
	const parley_auth_vtable *vt = p->vtable;
	provider_started(req, call, vt->logout(p->self, token, logout_done, call));
done:
	free(token);
}

/* ---------------------------------------------------------------- */
/* Routes that need a user                                            */
/* ---------------------------------------------------------------- */

static void chat_done(void *ud, int rc, const char *message, json_t *reply)
{
	struct api_call *call = ud;
	struct http_request *req = http_request_find(call->conn_id);
	if (!req)
		goto done;
	if (rc != PARLEY_OK || !reply)
		api_fail(req, rc == PARLEY_OK ? PARLEY_ERR : rc, message, 0);
	else
		api_json(req, 200, NULL, json_incref(reply));
done:
	call_free(call);
}

static void users_listed(void *ud, const parley_store_result *res)
{
	struct api_call *call = ud;
	struct http_request *req = http_request_find(call->conn_id);
	if (!req)
		goto done;
	if (res->rc != PARLEY_OK) {
		api_fail(req, res->rc, "cannot list users", 0);
		goto done;
	}
	json_t *list = json_array();
	for (size_t i = 0; list && i < res->n_users; i++)
		json_array_append_new(list, api_user_full(&res->users[i]));
	api_json(req, 200, NULL, json_pack("{s:o*}", "users", list));
done:
	call_free(call);
}

static void answer_user(struct api_call *call)
{
	struct http_request *req = http_request_find(call->conn_id);
	if (req)
		api_json(req, 200, NULL, json_pack("{s:O}", "user", call->user));
	call_free(call);
}

static void sessions_deleted(void *ud, const parley_store_result *res)
{
	struct api_call *call = ud;
	if (res->rc != PARLEY_OK) {
		log_error("user_disable", NULL, "cannot delete the sessions of %s: %s", call->id,
		          res->error ? res->error : chat_error_code(res->rc));
		struct http_request *req = http_request_find(call->conn_id);
		if (req)
			api_fail(req, res->rc, "the account is disabled, its sessions not revoked",
			         0);
		call_free(call);
		return;
	}
	answer_user(call);
}

static void user_updated(void *ud, const parley_store_result *res)
{
	struct api_call *call = ud;
	if (res->rc != PARLEY_OK || res->n_users == 0) {
		struct http_request *req = http_request_find(call->conn_id);
		if (req)
			api_fail(req, res->rc == PARLEY_OK ? PARLEY_ENOTFOUND : res->rc,
			         res->rc == PARLEY_ENOTFOUND || res->rc == PARLEY_OK
			             ? "no such user"
			             : "cannot update the user",
			         0);
		call_free(call);
		return;
	}
	call->user = api_user_full(&res->users[0]);
	users_upsert(&res->users[0]);
	api_audit_as(call->actor, call->client,
	             call->op == OP_ENABLE ? "user.enable" : "user.disable", call->id, NULL);
	if (call->op == OP_ENABLE) {
		answer_user(call);
		return;
	}
	/* Close their connections now; their stored sessions go next. */
	chat_user_revoked(call->id);
	void *self;
	const parley_store_vtable *st = plugins_store(&self);
	int rc = st->session_delete(self, NULL, call->id, sessions_deleted, call);
	if (rc < 0) {
		parley_store_result fail = {.rc = rc, .error = "session_delete refused"};
		sessions_deleted(call, &fail);
	}
}

/* The invite's answer; emailed: -1 when no address was given. */
static void invite_answer(struct http_request *req, struct api_call *call, int emailed,
                          const char *email_error)
{
	json_t *out = json_pack("{s:s,s:s?,s:I}", "token", call->token, "link", call->link,
	                        "expires", (json_int_t)call->expires);
	if (out && emailed >= 0)
		json_object_set_new(out, "emailed", json_boolean(emailed));
	if (out && email_error)
		json_object_set_new(out, "email_error", json_string(email_error));
	api_json(req, 201, NULL, out);
}

static void invite_emailed(void *ud, int rc, const char *error)
{
	struct api_call *call = ud;
	struct http_request *req = http_request_find(call->conn_id);
	if (rc != PARLEY_OK)
		log_warn("invite_email", NULL, "the invite for an address was not e-mailed: %s",
		         error ? error : "notify failed");
	if (!req)
		goto done;
	if (rc == PARLEY_EINVAL)
		api_fail(req, rc, error ? error : "email: not an address mail can go to", 0);
	else
		invite_answer(req, call, rc == PARLEY_OK, rc == PARLEY_OK ? NULL : error);
done:
	call_free(call);
}

/* Hands the invite to the notify providers (notify_email) through the
 * host's own fan-out; its ctx argument is only the caller's name there. */
static int invite_email(struct api_call *call)
{
	char expires[64];
	time_t t = (time_t)(call->expires / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(expires, sizeof expires, "%Y-%m-%d %H:%M UTC", &tm);
	const char *vars[] = {"link",    call->link ? call->link : "",
	                      "expires", expires,
	                      "inviter", call->inviter ? call->inviter : "An administrator"};
	parley_notify_msg msg = {
	    .struct_size = sizeof msg,
	    .kind = "invite",
	    .to = call->email,
	    .vars = vars,
	    .n_vars = sizeof vars / sizeof vars[0] / 2,
	};
	return plugins_host()->notify(NULL, &msg, invite_emailed, call);
}

static void invite_done(void *ud, const parley_auth_result *res)
{
	struct api_call *call = ud;
	struct http_request *req = http_request_find(call->conn_id);
	if (!req)
		goto done;
	if (res->rc != PARLEY_OK || !res->token) {
		api_fail(req, res->rc == PARLEY_OK ? PARLEY_ERR : res->rc, res->message,
		         res->retry_after_ms);
		goto done;
	}
	call->expires = res->expires_ts;
	api_audit_as(call->actor, call->client, "invite.create", NULL,
	             json_pack("{s:s?,s:s?}", "role", call->role, "email", call->email));
	if (!(call->token = strdup(res->token)) ||
	    (res->link && !(call->link = strdup(res->link)))) {
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		goto done;
	}
	if (call->email && plugins_has_provider(PARLEY_PROVIDE_NOTIFY)) {
		int rc = invite_email(call);
		if (rc == PARLEY_PENDING)
			return; /* invite_emailed answers and frees */
		invite_answer(req, call, 0, "no notify provider accepted the message");
		goto done;
	}
	invite_answer(req, call, call->email ? 0 : -1, NULL);
done:
	call_free(call);
}

/* Runs the operation once the caller is known; returns an rc < 0 when it
 * did not start (call still ours). */
static int run_as(struct api_call *call, const parley_user *user)
{
	void *self;
	const parley_store_vtable *st;
	/* chat_http_* call done on every path, errors included: the call is
	 * theirs whatever they return. */
	if (call->op == OP_HISTORY) {
		chat_http_history(user, call->id, call->before, call->after, call->limit, chat_done,
		                  call);
		return PARLEY_PENDING;
	}
	if (call->op == OP_POST) {
		chat_http_post(user, call->id, call->text, call->client_id, chat_done, call);
		return PARLEY_PENDING;
	}
	if (!user->role || strcmp(user->role, "admin") != 0)
		return PARLEY_EFORBIDDEN;
	switch (call->op) {
	case OP_SCRIPTS:
	case OP_SCRIPTS_RELOAD: {
		/* Synchronous: the scripts are the loop thread's. */
		struct http_request *req = http_request_find(call->conn_id);
		json_t *body = call->op == OP_SCRIPTS ? scripts_status() : scripts_reload();
		if (req)
			api_json(req, 200, NULL, body);
		else
			json_decref(body);
		call_free(call);
		return PARLEY_OK;
	}
	case OP_USERS:
		st = plugins_store(&self);
		return st ? st->users_list(self, users_listed, call) : PARLEY_EUNAVAIL;
	case OP_DISABLE:
	case OP_ENABLE: {
		st = plugins_store(&self);
		if (!st)
			return PARLEY_EUNAVAIL;
		parley_user pu = {.id = call->id, .disabled = call->op == OP_DISABLE};
		int rc = st->user_update(self, &pu, 1, user_updated, call);
		/* Ids are opaque: one the store cannot even parse names no one. */
		return rc == PARLEY_EINVAL ? PARLEY_ENOTFOUND : rc;
	}
	case OP_INVITE: {
		const struct provider *p = AUTH_PROVIDER_WITH(invite_create);
		if (!p)
			return PARLEY_ENOTFOUND;
		const parley_auth_vtable *vt = p->vtable;
		const char *who =
		    user->display_name && *user->display_name ? user->display_name : user->name;
		if (who && !(call->inviter = strdup(who)))
			return PARLEY_ENOMEM;
		return vt->invite_create(p->self, call->role, call->email, user->id, invite_done,
		                         call);
	}
	default:
		return PARLEY_ERR;
	}
}

static void authenticated(void *ud, const parley_auth_result *res)
{
	struct api_call *call = ud;
	struct http_request *req = http_request_find(call->conn_id);
	if (!req) {
		call_free(call);
		return;
	}
	if (res->rc != PARLEY_OK || !res->user) {
		api_fail(req, res->rc == PARLEY_OK ? PARLEY_EUNAUTHORIZED : res->rc, res->message,
		         res->retry_after_ms);
		call_free(call);
		return;
	}
	/* A bot token reaches only what its scope names. */
	int bad = 0;
	struct scope *scope = scope_parse(res->scopes, res->rooms_json, &bad);
	unsigned need = call->op == OP_HISTORY ? SCOPE_READ : call->op == OP_POST ? SCOPE_POST : 0;
	int refused = (scope || bad) && (!need || !scope_allows(scope, need, NULL));
	int hidden = scope && scope_hides_room(scope, call->id);
	scope_free(scope);
	if (hidden || refused) {
		api_fail(req, hidden ? PARLEY_ENOTFOUND : PARLEY_EFORBIDDEN,
		         hidden ? "no such room" : "outside the token's scope", 0);
		call_free(call);
		return;
	}
	if (!(call->actor = strdup(res->user->id))) {
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		call_free(call);
		return;
	}
	int rc = run_as(call, res->user);
	if (rc < 0) {
		const char *msg = rc == PARLEY_EFORBIDDEN  ? "admin only"
		                  : rc != PARLEY_ENOTFOUND ? NULL
		                  : call->op == OP_INVITE  ? "no auth provider creates invites"
		                                           : "no such user";
		api_fail(req, rc, msg, 0);
		call_free(call);
	}
}

/* Authenticates req, then runs call as that user. call is taken. */
static void with_user(struct http_request *req, struct api_call *call)
{
	char *token = api_request_token(req);
	if (!token) {
		call_free(call);
		return;
	}
	int rc = auth_token(token, authenticated, call);
	free(token);
	if (rc < 0) {
		api_fail(req, rc, rc == PARLEY_EUNAUTHORIZED ? "invalid or expired token" : NULL,
		         0);
		call_free(call);
	}
}

static void route_history(struct http_request *req, const char *room_id)
{
	int64_t before = 0, after = -1, limit = API_HISTORY_DEFAULT;
	if (api_query_int(req, "before", 0, INT64_MAX, &before) < 0 ||
	    api_query_int(req, "after", 0, INT64_MAX, &after) < 0 ||
	    api_query_int(req, "limit", 1, API_HISTORY_MAX, &limit) < 0)
		return;
	struct api_call *call = call_new(req, OP_HISTORY);
	if (!call || !(call->id = strdup(room_id))) {
		call_free(call);
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		return;
	}
	call->before = before;
	call->after = after;
	call->limit = (int)limit;
	with_user(req, call);
}

static void route_post(struct http_request *req, const char *room_id)
{
	json_t *body = api_body(req);
	const char *text, *client_id;
	if (!body)
		return;
	if (api_body_str(req, body, "text", 1, &text) < 0 ||
	    api_body_str(req, body, "client_id", 0, &client_id) < 0)
		goto done;
	struct api_call *call = call_new(req, OP_POST);
	if (!call || !(call->id = strdup(room_id)) || !(call->text = strdup(text)) ||
	    (client_id && !(call->client_id = strdup(client_id)))) {
		call_free(call);
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		goto done;
	}
	with_user(req, call);
done:
	json_decref(body);
}

static int valid_role(const char *role)
{
	return strcmp(role, "admin") == 0 || strcmp(role, "member") == 0 ||
	       strcmp(role, "bot") == 0;
}

static void route_invite(struct http_request *req)
{
	json_t *body = api_body(req);
	const char *role, *email;
	if (!body)
		return;
	if (api_body_str(req, body, "role", 1, &role) < 0 ||
	    api_body_str(req, body, "email", 0, &email) < 0)
		goto done;
	if (!valid_role(role)) {
		api_error(req, 400, "bad_request", "role: expected admin, member or bot");
		goto done;
	}
	/* Refused before an invite exists: a line break in an address is a
	 * header injection attempt (notify_email checks again). */
	for (const char *p = email; p && *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			api_error(req, 400, "bad_request",
			          "email: must not contain line breaks or control characters");
			goto done;
		}
	}
	struct api_call *call = call_new(req, OP_INVITE);
	if (!call || !(call->role = strdup(role)) || (email && !(call->email = strdup(email)))) {
		call_free(call);
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		goto done;
	}
	with_user(req, call);
done:
	json_decref(body);
}

static void route_admin_user(struct http_request *req, enum api_op op, const char *user_id)
{
	struct api_call *call = call_new(req, op);
	if (!call || (user_id && !(call->id = strdup(user_id)))) {
		call_free(call);
		api_fail(req, PARLEY_ENOMEM, NULL, 0);
		return;
	}
	with_user(req, call);
}

/* ---------------------------------------------------------------- */
/* Service routes                                                     */
/* ---------------------------------------------------------------- */

static void route_readyz(struct http_request *req)
{
	char why[API_READY_MAX] = "";
	if (plugins_ready(why, sizeof(why)))
		api_json(req, 200, NULL, json_pack("{s:s}", "status", "ok"));
	else
		api_json(req, 503, NULL,
		         json_pack("{s:s,s:s}", "status", "unavailable", "why", why));
}

static void route_metrics(struct http_request *req)
{
	size_t len = 0;
	char *text = metrics_render(&len);
	if (!text) {
		api_error(req, 500, "internal", "cannot render metrics");
		return;
	}
	api_log(req, 200);
	http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, text, len);
	free(text);
}

static void route_ws(struct http_request *req)
{
	if (!origin_allowed(server_config, req)) {
		api_error(req, 403, "forbidden", "origin not allowed");
		return;
	}
	/* ws_accept answers (101 or an error) itself; log before req goes. */
	api_log(req, 0);
	ws_accept(req);
}

/* ---------------------------------------------------------------- */
/* The router                                                         */
/* ---------------------------------------------------------------- */

static void method_not_allowed(struct http_request *req)
{
	api_error(req, 405, "bad_request", "method not allowed");
}

static void route_api(struct http_request *req)
{
	const char *path = req->path;
	char id[API_ID_MAX];
	int post = api_is_post(req), get = strcmp(req->method, "GET") == 0;

	/* A browser's POST from a foreign page never gets further. */
	if (post && !origin_allowed(server_config, req)) {
		api_error(req, 403, "forbidden", "origin not allowed");
		return;
	}
	if (strcmp(path, "/api/login") == 0)
		post ? route_login(req) : method_not_allowed(req);
	else if (strcmp(path, "/api/logout") == 0)
		post ? route_logout(req) : method_not_allowed(req);
	else if (strcmp(path, "/api/register") == 0)
		post ? route_register(req) : method_not_allowed(req);
	else if (api_path_param(path, "/api/rooms/", "/messages", id, sizeof(id)))
		get ? route_history(req, id) : post ? route_post(req, id) : method_not_allowed(req);
	else if (strcmp(path, "/api/admin/users") == 0)
		get ? route_admin_user(req, OP_USERS, NULL) : method_not_allowed(req);
	else if (api_path_param(path, "/api/admin/users/", "/disable", id, sizeof(id)))
		post ? route_admin_user(req, OP_DISABLE, id) : method_not_allowed(req);
	else if (api_path_param(path, "/api/admin/users/", "/enable", id, sizeof(id)))
		post ? route_admin_user(req, OP_ENABLE, id) : method_not_allowed(req);
	else if (strcmp(path, "/api/admin/scripts") == 0)
		get ? route_admin_user(req, OP_SCRIPTS, NULL) : method_not_allowed(req);
	else if (strcmp(path, "/api/admin/scripts/reload") == 0)
		post ? route_admin_user(req, OP_SCRIPTS_RELOAD, NULL) : method_not_allowed(req);
	else if (strcmp(path, "/api/admin/invites") == 0)
		post  ? route_invite(req)
		: get ? api_admin_invites_list(req)
		      : method_not_allowed(req);
	else if (strcmp(path, "/api/uploads") == 0)
		post ? uploads_post(req) : method_not_allowed(req);
	else if (api_path_param(path, "/api/uploads/", "", id, sizeof(id)))
		get || strcmp(req->method, "HEAD") == 0 ? uploads_get(req, id)
		                                        : method_not_allowed(req);
	else if (api_account_route(req, path) || api_admin_route(req, path) ||
	         api_search_route(req, path))
		return;
	else
		api_error(req, 404, "not_found", "no such API endpoint");
}

int api_streams_body(const struct http_request *req)
{
	return strcmp(req->method, "POST") == 0 && req->path &&
	       strcmp(req->path, "/api/uploads") == 0;
}

void api_route(struct http_request *req)
{
	const char *path = req->path ? req->path : "/";
	int get = strcmp(req->method, "GET") == 0; /* http.c counts requests */

	if (strcmp(path, "/healthz") == 0)
		get ? api_json(req, 200, NULL, json_pack("{s:s}", "status", "ok"))
		    : method_not_allowed(req);
	else if (strcmp(path, "/readyz") == 0)
		get ? route_readyz(req) : method_not_allowed(req);
	else if (strcmp(path, "/metrics") == 0)
		get ? route_metrics(req) : method_not_allowed(req);
	else if (strcmp(path, "/ws") == 0)
		get ? route_ws(req) : method_not_allowed(req);
	else if (strcmp(path, "/api") == 0 || strncmp(path, "/api/", 5) == 0)
		route_api(req);
	else if (get || strcmp(req->method, "HEAD") == 0) {
		api_log(req, 0);
		static_files_serve(req);
	} else
		method_not_allowed(req);
}
