/* The HTTP router and what every route shares: the route table (the one
 * place that says who may call what), answers, request bodies and query
 * parameters, the caller's token, and the service routes (health,
 * readiness, metrics, the WebSocket upgrade). Routes live in api_*.c,
 * uploads.c and downloads.c; their asynchronous steps run on an api_ctx
 * (api_ctx.c) that keeps only the connection id and copies, finds the
 * request again when a step finishes and, if the connection closed
 * meanwhile, finishes the remaining writes and drops the answer.
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

#include "base/ready_warnings.h"
#include "base/serving_state.h"
#include "base/config.h"
#include "base/json_depth.h"
#include "base/log.h"
#include "base/metrics.h"
#include "chat/chat.h"
#include "chat/scope.h"
#include "host/auth.h"
#include "host/plugin_host.h"
#include "net/http.h"
#include "net/origin.h"
#include "net/static_files.h"
#include "net/ws.h"

#define API_JSON_MAX_DEPTH 15   /* levels below a request body (16 with it) */
#define API_EXTRA_MAX      128  /* other extra header lines */
#define API_READY_MAX      1024 /* /readyz explanation */
#define API_LOG_PATH_MAX   256

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
 * of PROTOCOL.md; 429, a 503 from a store that cannot write, and any
 * error given a retry time carry Retry-After (whole seconds, rounded up)
 * and retry_after_ms. */
void api_fail(struct http_request *req, int rc, const char *msg, int64_t retry_after_ms)
{
	if (rc >= 0 && rc != PARLEY_DENY)
		rc = PARLEY_ERR;
	int status = chat_error_status(rc);
	const char *code = chat_error_code(rc);
	if (!msg || !*msg)
		msg = http_status_text(status);
	if (retry_after_ms <= 0)
		retry_after_ms = chat_error_retry_ms(rc);
	if (status != 429 && retry_after_ms <= 0) {
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
	if (!json_is_object(j) || !json_depth_ok(j, API_JSON_MAX_DEPTH)) {
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
	/* Every state-changing method: the CSRF rule holds for PATCH too. */
	return strcmp(req->method, "POST") == 0 || strcmp(req->method, "PATCH") == 0 ||
	       strcmp(req->method, "DELETE") == 0;
}

/* ---------------------------------------------------------------- */
/* Credentials                                                        */
/* ---------------------------------------------------------------- */

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

/* ---------------------------------------------------------------- */
/* Service routes                                                     */
/* ---------------------------------------------------------------- */

static void route_healthz(struct http_request *req, const struct api_route *r, const char *id)
{
	(void)r;
	(void)id;
	api_json(req, 200, NULL, json_pack("{s:s}", "status", "ok"));
}

static void route_readyz(struct http_request *req, const struct api_route *r, const char *id)
{
	(void)r;
	(void)id;
	char why[API_READY_MAX] = "", warn[READY_WARNINGS_MAX][READY_WARNING_LEN];
	if (serving_state_is_ready(why, sizeof why) && plugins_ready(why, sizeof(why))) {
		json_t *body = json_pack("{s:s}", "status", "ok");
		size_t n = ready_warnings(warn, READY_WARNINGS_MAX);
		json_t *list = n ? json_array() : NULL;
		for (size_t i = 0; list && i < n; i++)
			json_array_append_new(list, json_string(warn[i]));
		if (body && list)
			json_object_set_new(body, "warnings", list);
		api_json(req, 200, NULL, body);
	} else
		api_json(req, 503, NULL,
		         json_pack("{s:s,s:s}", "status", "unavailable", "why", why));
}

static void route_metrics(struct http_request *req, const struct api_route *r, const char *id)
{
	(void)r;
	(void)id;
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

/* The WebSocket session checks its own credential and scope (chat.c). */
static void route_ws(struct http_request *req, const struct api_route *r, const char *id)
{
	(void)r;
	(void)id;
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

#define READ     SCOPE_READ
#define POST     SCOPE_POST
#define NO_BOT   API_NO_BOT_TOKEN
#define ROOM_ID  1
#define OTHER_ID 0

/* Every route, one a line (tests/integration/test_route_access.py parses
 * these lines): method, path, who, what a bot token needs, whether {id} is
 * a room, handler. A bot token reaches only rows that name its scope. */
// clang-format off
static const struct api_route routes[] = {
    {"GET",  "/healthz",                          API_ANYONE, NO_BOT, OTHER_ID, route_healthz},
    {"GET",  "/readyz",                           API_ANYONE, NO_BOT, OTHER_ID, route_readyz},
    {"GET",  "/metrics",                          API_ANYONE, NO_BOT, OTHER_ID, route_metrics},
    {"GET",  "/ws",                               API_ANYONE, NO_BOT, OTHER_ID, route_ws},
    {"POST", "/api/login",                        API_ANYONE, NO_BOT, OTHER_ID, api_login},
    {"POST", "/api/register",                     API_ANYONE, NO_BOT, OTHER_ID, api_register},
    {"POST", "/api/logout",                       API_ANYONE, NO_BOT, OTHER_ID, api_logout},
    {"GET",  "/api/auth/methods",                 API_ANYONE, NO_BOT, OTHER_ID, api_auth_methods},
    {"GET",  "/api/oidc/login",                   API_ANYONE, NO_BOT, OTHER_ID, api_oidc_login},
    {"GET",  "/api/oidc/callback",                API_ANYONE, NO_BOT, OTHER_ID, api_oidc_callback},
    {"POST", "/api/password/forgot",              API_ANYONE, NO_BOT, OTHER_ID, api_password_forgot},
    {"POST", "/api/password/reset",               API_ANYONE, NO_BOT, OTHER_ID, api_password_reset},
    {"GET",  "/api/unsubscribe",                  API_ANYONE, NO_BOT, OTHER_ID, api_unsubscribe},
    {"POST", "/api/unsubscribe",                  API_ANYONE, NO_BOT, OTHER_ID, api_unsubscribe},
    {"POST", "/api/password/change",              API_USER,   NO_BOT, OTHER_ID, api_password_change},
    {"GET",  "/api/settings",                     API_USER,   NO_BOT, OTHER_ID, api_settings},
    {"POST", "/api/settings",                     API_USER,   NO_BOT, OTHER_ID, api_settings},
    {"GET",  "/api/profile",                      API_USER,   NO_BOT, OTHER_ID, api_profile},
    {"PATCH", "/api/profile",                     API_USER,   NO_BOT, OTHER_ID, api_profile},
    {"POST", "/api/profile/avatar",               API_USER,   NO_BOT, OTHER_ID, api_avatar_upload},
    {"DELETE", "/api/profile/avatar",             API_USER,   NO_BOT, OTHER_ID, api_avatar_upload},
    {"GET",  "/api/users/{id}/avatar",            API_USER,   READ,   OTHER_ID, api_avatar},
    {"GET",  "/api/users/{id}/profile",           API_USER,   READ,   OTHER_ID, api_user_profile},
    {"PATCH", "/api/admin/users/{id}/profile",    API_ADMIN,  NO_BOT, OTHER_ID, api_admin_profile},
    {"GET",  "/api/commands",                     API_USER,   READ,   OTHER_ID, api_commands},
    {"GET",  "/api/search",                       API_USER,   READ,   OTHER_ID, api_search},
    {"GET",  "/api/rooms/{id}/messages",          API_USER,   READ,   ROOM_ID,  api_history},
    {"POST", "/api/rooms/{id}/messages",          API_USER,   POST,   ROOM_ID,  api_post},
    {"POST", "/api/uploads",                      API_USER,   POST,   OTHER_ID, api_upload},
    {"GET",  "/api/uploads/{id}",                 API_USER,   READ,   OTHER_ID, api_download},
    {"HEAD", "/api/uploads/{id}",                 API_USER,   READ,   OTHER_ID, api_download},
    {"GET",  "/api/admin/users",                  API_ADMIN,  NO_BOT, OTHER_ID, api_admin_users},
    {"POST", "/api/admin/users/{id}/disable",     API_ADMIN,  NO_BOT, OTHER_ID, api_admin_disable},
    {"POST", "/api/admin/users/{id}/enable",      API_ADMIN,  NO_BOT, OTHER_ID, api_admin_enable},
    {"POST", "/api/admin/users/{id}/role",        API_ADMIN,  NO_BOT, OTHER_ID, api_admin_role},
    {"GET",  "/api/admin/invites",                API_ADMIN,  NO_BOT, OTHER_ID, api_admin_invites},
    {"POST", "/api/admin/invites",                API_ADMIN,  NO_BOT, OTHER_ID, api_admin_invite},
    {"POST", "/api/admin/invites/{id}/revoke",    API_ADMIN,  NO_BOT, OTHER_ID, api_admin_invite_revoke},
    {"GET",  "/api/admin/audit",                  API_ADMIN,  NO_BOT, OTHER_ID, api_admin_audit},
    {"GET",  "/api/admin/export",                 API_ADMIN,  NO_BOT, OTHER_ID, api_admin_export},
    {"POST", "/api/admin/bots",                   API_ADMIN,  NO_BOT, OTHER_ID, api_admin_bot_create},
    {"POST", "/api/admin/bots/{id}/tokens",       API_ADMIN,  NO_BOT, OTHER_ID, api_admin_bot_token},
    {"POST", "/api/admin/bots/{id}/tokens/revoke", API_ADMIN, NO_BOT, OTHER_ID, api_admin_bot_revoke},
    {"GET",  "/api/admin/scripts",                API_ADMIN,  NO_BOT, OTHER_ID, api_admin_scripts},
    {"POST", "/api/admin/scripts/reload",         API_ADMIN,  NO_BOT, OTHER_ID, api_admin_scripts_reload},
};
// clang-format on

int api_route_match(const char *pattern, const char *path, char *id, size_t n)
{
	const char *param = strstr(pattern, "{id}");
	if (!param) {
		if (n)
			id[0] = '\0';
		return strcmp(pattern, path) == 0;
	}
	char prefix[API_LOG_PATH_MAX];
	size_t plen = (size_t)(param - pattern);
	if (plen >= sizeof prefix)
		return 0;
	memcpy(prefix, pattern, plen);
	prefix[plen] = '\0';
	return api_path_param(path, prefix, param + 4, id, n);
}

int api_streams_body(const struct http_request *req)
{
	return strcmp(req->method, "POST") == 0 && req->path &&
	       strcmp(req->path, "/api/uploads") == 0;
}

/* The chat state is not loaded yet (the store not answering): the API
 * answers 503 `unavailable` with Retry-After; /readyz says why. */
static void not_serving(struct http_request *req)
{
	char why[SERVING_WHY_LEN], message[SERVING_WHY_LEN + 64];
	serving_state_is_ready(why, sizeof why);
	snprintf(message, sizeof message, "the server is not serving yet: %s", why);
	api_fail(req, PARLEY_EUNAVAIL, message, serving_state_retry_ms());
}

void api_route(struct http_request *req)
{
	const char *path = req->path ? req->path : "/";
	int is_api = strcmp(path, "/api") == 0 || strncmp(path, "/api/", 5) == 0;
	char id[API_ID_MAX];
	int path_known = 0;

	/* A browser's POST from a foreign page never gets further. */
	if (is_api && api_is_post(req) && !origin_allowed(server_config, req)) {
		api_error(req, 403, "forbidden", "origin not allowed");
		return;
	}
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const struct api_route *r = &routes[i];
		if (!api_route_match(r->pattern, path, id, sizeof id))
			continue;
		path_known = 1;
		if (strcmp(r->method, req->method) == 0) {
			if (is_api && !serving_state_is_ready(NULL, 0)) {
				not_serving(req);
				return;
			}
			r->fn(req, r, strstr(r->pattern, "{id}") ? id : NULL);
			return;
		}
	}
	if (path_known) {
		api_error(req, 405, "bad_request", "method not allowed");
	} else if (is_api) {
		api_error(req, 404, "not_found", "no such API endpoint");
	} else if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
		api_log(req, 0);
		static_files_serve(req);
	} else {
		api_error(req, 405, "bad_request", "method not allowed");
	}
}
