/* Browser sign-in through the OpenID Connect provider of an auth plugin
 * (auth_jwt): GET /api/oidc/login sends the browser to the provider with a
 * short-lived state cookie; GET /api/oidc/callback hands state, code and
 * that cookie to the provider plugin, which checks them and provisions the
 * account, then starts a parley session as login does. Both answer the
 * browser with a redirect: to "/#sso=1" signed in, or to the web client
 * with "/#sso_error=CODE&sso_message=TEXT". GET /api/auth/methods tells
 * the web client which sign-ins to offer. The plugin keeps every secret of the
 * flow; this file only carries the binding value between cookie and
 * plugin. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "api/addr_rate.h"
#include "base/log.h"
#include "base/loop.h"
#include "chat/chat.h"
#include "host/auth.h"
#include "host/plugin_host.h"
#include "net/http.h"

#define OIDC_COOKIE            "parley_oidc"
#define OIDC_COOKIE_PATH       "/api/oidc/"
#define OIDC_HEADERS_MAX       8192 /* Location (the provider's URL) and the cookies */
#define OIDC_MESSAGE_MAX       200
#define API_SESSION_COOKIE_MAX 512   /* api_session.c's Set-Cookie line */
#define OIDC_RATE_NETWORKS     65536 /* networks the start limiter tracks (~100 B each) */

/* Sign-in starts per client network (limits.oidc_logins): each start holds
 * one of the provider's pending flows (auth_jwt caps them) until it ends
 * or expires, so one network must not take them all. */
static struct addr_rate *start_rate;

void api_fini(void)
{
	addr_rate_free(start_rate);
	start_rate = NULL;
}

/* The provider of browser sign-in, or NULL when none is configured: the
 * first in the chain that has the three members and says it is set up
 * (several auth_jwt entries, one per issuer, may share a chain). */
static const struct provider *oidc_provider(const char **name, const char **logout_url)
{
	const struct provider *list;
	size_t n = plugins_auth(&list);
	const size_t need = offsetof(parley_auth_vtable, oidc_finish) + sizeof(void *);

	if (!AUTH_PROVIDER_WITH(session_new))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const parley_auth_vtable *vt = list[i].vtable;
		const char *nm = NULL, *l = NULL;
		if (!vt || vt->struct_size < need || !vt->oidc_describe || !vt->oidc_begin ||
		    !vt->oidc_finish || !vt->oidc_describe(list[i].self, &nm, &l))
			continue;
		if (name)
			*name = nm;
		if (logout_url)
			*logout_url = l;
		return &list[i];
	}
	return NULL;
}

/* The state cookie, set (value non-NULL) or cleared; "" when it does not
 * fit or the value is not a cookie-octet string. */
static void state_cookie(char *buf, size_t n, const char *value, int64_t max_age_s, int tls)
{
	for (const char *p = value; p && *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == ';' || *p == ',' || *p == '"' || *p == '\\') {
			buf[0] = '\0';
			return;
		}
	/* Lax: the provider's redirect back is a cross-site navigation. */
	int len = snprintf(buf, n,
	                   "Set-Cookie: " OIDC_COOKIE "=%s; Path=" OIDC_COOKIE_PATH
	                   "; HttpOnly; SameSite=Lax; Max-Age=%" PRId64 "%s\r\n",
	                   value ? value : "", value && max_age_s > 0 ? max_age_s : 0,
	                   tls ? "; Secure" : "");
	if (len < 0 || (size_t)len >= n)
		buf[0] = '\0';
}

/* 1 when url may go into a Location header as it is. */
static int header_safe(const char *url)
{
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return 0;
	return *url != '\0';
}

static void redirect(struct http_request *req, const char *location, const char *cookies)
{
	char headers[OIDC_HEADERS_MAX];
	int len = snprintf(
	    headers, sizeof(headers),
	    "Location: %s\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n%s",
	    location, cookies ? cookies : "");
	if (len < 0 || (size_t)len >= sizeof(headers)) {
		api_error(req, 500, "internal", "the redirect does not fit");
		return;
	}
	api_log(req, 303);
	http_respond(req, 303, NULL, headers, NULL, 0);
}

/* Back to the web client with the error's machine code and message; the
 * state cookie is cleared (its flow is spent or useless). */
static void redirect_error(struct http_request *req, int tls, int rc, const char *message)
{
	static const char hex[] = "0123456789ABCDEF";
	char location[64 + OIDC_MESSAGE_MAX * 3], cookie[256];
	size_t o;

	if (rc >= 0)
		rc = PARLEY_ERR;
	o = (size_t)snprintf(location, sizeof(location),
	                     "/#sso_error=%s&sso_message=", chat_error_code(rc));
	for (const char *p = message ? message : ""; *p && p - message < OIDC_MESSAGE_MAX; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_') {
			location[o++] = (char)c;
		} else {
			location[o++] = '%';
			location[o++] = hex[c >> 4];
			location[o++] = hex[c & 15];
		}
	}
	location[o] = '\0';
	state_cookie(cookie, sizeof(cookie), NULL, 0, tls);
	redirect(req, location, cookie);
}

/* ---- GET /api/oidc/login ------------------------------------------------- */

static void begun(void *ud, const parley_auth_result *res)
{
	struct api_ctx *x = ud;
	struct http_request *req = api_ctx_req(x);
	char cookie[256];

	if (!req) {
		api_ctx_free(x);
		return;
	}
	if (res->rc != PARLEY_OK || !res->link || !res->token || !header_safe(res->link)) {
		log_warn("oidc_begin_failed", NULL, "%s", res->message ? res->message : "no link");
		redirect_error(req, x->tls, res->rc == PARLEY_OK ? PARLEY_ERR : res->rc,
		               res->message);
		api_ctx_free(x);
		return;
	}
	state_cookie(cookie, sizeof(cookie), res->token, (res->expires_ts - loop_now_ms()) / 1000,
	             x->tls);
	if (!cookie[0])
		redirect_error(req, x->tls, PARLEY_ERR, "the state cookie does not fit");
	else
		redirect(req, res->link, cookie);
	api_ctx_free(x);
}

void api_oidc_login(struct http_request *req, const struct api_route *r, const char *id)
{
	const struct provider *p = oidc_provider(NULL, NULL);
	if (!p) {
		api_error(req, 404, "not_found", "browser sign-in is not configured");
		return;
	}
	struct api_ctx *x = api_ctx_new(req, r, NULL, id, NULL);
	if (!x)
		return;
	if (!start_rate && !(start_rate = addr_rate_new(OIDC_RATE_NETWORKS))) {
		redirect_error(req, x->tls, PARLEY_ENOMEM, "out of memory");
		api_ctx_free(x);
		return;
	}
	int64_t wait_ms = addr_rate_take(start_rate, x->client, &server_config->limits.oidc_logins,
	                                 loop_now_ms() / 1000.0);
	if (wait_ms > 0) {
		redirect_error(
		    req, x->tls, PARLEY_ERATELIMIT,
		    "too many sign-ins were started from this network; try again in a minute");
		api_ctx_free(x);
		return;
	}
	const parley_auth_vtable *vt = p->vtable;
	int rc = vt->oidc_begin(p->self, begun, x);
	if (rc < 0) {
		redirect_error(req, x->tls, rc, NULL);
		api_ctx_free(x);
	}
}

/* ---- GET /api/oidc/callback ---------------------------------------------- */

static void session_started(void *ud, const parley_auth_result *res)
{
	struct api_ctx *x = ud;
	struct http_request *req = api_ctx_req(x);
	char cookies[API_SESSION_COOKIE_MAX + 256], *o = cookies;

	if (!req) {
		api_ctx_free(x);
		return;
	}
	if (res->rc != PARLEY_OK || !res->token) {
		redirect_error(req, x->tls, res->rc == PARLEY_OK ? PARLEY_ERR : res->rc,
		               res->message);
		api_ctx_free(x);
		return;
	}
	if (api_session_cookie(cookies, API_SESSION_COOKIE_MAX, res->token,
	                       (res->expires_ts - loop_now_ms()) / 1000, x->tls) != 0) {
		redirect_error(req, x->tls, PARLEY_ERR, "the session cookie does not fit");
		api_ctx_free(x);
		return;
	}
	o += strlen(cookies);
	state_cookie(o, sizeof(cookies) - (size_t)(o - cookies), NULL, 0, x->tls);
	log_info("oidc_signed_in", NULL, "user %s from %s", x->who_name ? x->who_name : "-",
	         x->client);
	redirect(req, "/#sso=1", cookies);
	api_ctx_free(x);
}

static void finished(void *ud, const parley_auth_result *res)
{
	struct api_ctx *x = ud;
	const struct provider *p = AUTH_PROVIDER_WITH(session_new);

	if (res->rc != PARLEY_OK || !res->user || !res->user->name || !p) {
		struct http_request *req = api_ctx_req(x);
		log_info("oidc_refused", NULL, "from %s: %s", x->client,
		         res->message ? res->message : "no account");
		if (req)
			redirect_error(req, x->tls, res->rc == PARLEY_OK ? PARLEY_ERR : res->rc,
			               res->message);
		api_ctx_free(x);
		return;
	}
	if (res->user->disabled) {
		struct http_request *req = api_ctx_req(x);
		if (req)
			redirect_error(req, x->tls, PARLEY_EFORBIDDEN, "this account is disabled");
		api_ctx_free(x);
		return;
	}
	/* A parley session, as a password login makes: the provider's tokens
	 * never become the browser's credential. */
	x->who_name = strdup(res->user->name);
	const parley_auth_vtable *vt = p->vtable;
	int rc = x->who_name ? vt->session_new(p->self, x->who_name, 0, session_started, x)
	                     : PARLEY_ENOMEM;
	if (rc < 0) {
		struct http_request *req = api_ctx_req(x);
		if (req)
			redirect_error(req, x->tls, rc, NULL);
		api_ctx_free(x);
	}
}

void api_oidc_callback(struct http_request *req, const struct api_route *r, const char *id)
{
	const struct provider *p = oidc_provider(NULL, NULL);
	if (!p) {
		api_error(req, 404, "not_found", "browser sign-in is not configured");
		return;
	}
	struct api_ctx *x = api_ctx_new(req, r, NULL, id, NULL);
	if (!x)
		return;
	char *error = http_query_param(req, "error");
	char *state = http_query_param(req, "state");
	char *code = http_query_param(req, "code");
	x->token = http_cookie(req, OIDC_COOKIE);
	if (error) {
		/* The person cancelled, or the provider refused them. */
		char msg[OIDC_MESSAGE_MAX];
		snprintf(msg, sizeof(msg), "the identity provider answered: %.100s", error);
		redirect_error(req, x->tls, PARLEY_EUNAUTHORIZED, msg);
		api_ctx_free(x);
	} else {
		const parley_auth_vtable *vt = p->vtable;
		int rc = vt->oidc_finish(p->self, x->token, state, code, finished, x);
		if (rc < 0) {
			redirect_error(req, x->tls, rc, NULL);
			api_ctx_free(x);
		}
	}
	free(error);
	free(state);
	free(code);
}

/* ---- GET /api/auth/methods ----------------------------------------------- */

void api_auth_methods(struct http_request *req, const struct api_route *r, const char *id)
{
	(void)r;
	(void)id;
	const char *name = NULL, *logout_url = NULL;
	json_t *oidc = oidc_provider(&name, &logout_url)
	                   ? json_pack("{s:s,s:s,s:s?}", "name", name, "login", "/api/oidc/login",
	                               "logout_url", logout_url)
	                   : json_null();
	api_json(
	    req, 200, "Cache-Control: no-store\r\n",
	    json_pack("{s:b,s:o}", "password", AUTH_PROVIDER_WITH(login) != NULL, "oidc", oidc));
}
