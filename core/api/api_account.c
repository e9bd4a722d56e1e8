/* The caller's own account: password reset by e-mail, password change,
 * settings, and the unsubscribe link of notification e-mails.
 *
 *   POST /api/password/forgot {email}            202 always (or 429)
 *   POST /api/password/reset  {token, password}  200 {user}
 *   POST /api/password/change {old_password, new_password}  200 {user}
 *   GET  /api/settings, POST /api/settings {…}   200 {settings}
 *   GET  /api/unsubscribe?u=&s=   a page with a button (GET changes nothing:
 *                                 mail scanners fetch links)
 *   POST /api/unsubscribe?u=&s=   turns e-mail digests off (RFC 8058
 *                                 one-click, or the page's button)
 *   GET  /api/commands            the registered slash commands */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_internal.h"
#include "host/auth.h"
#include "chat/chat.h"
#include "net/http.h"
#include "host/plugin_host.h"
#include "base/secret.h"
#include "chat/user_settings.h"

#define UNSUB_PURPOSE "unsubscribe"

/* ---- password ----------------------------------------------------------- */

static void forgot_done(void *ud, const parley_auth_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc == PARLEY_OK)
		api_ctx_json(x, 202, json_object());
	else
		api_ctx_fail(x, res->rc, res->message, res->retry_after_ms);
}

static void run_forgot(struct api_ctx *x)
{
	const struct provider *p = AUTH_PROVIDER_WITH(password_forgot);
	const char *email = json_string_value(json_object_get(x->body, "email"));
	if (!p) {
		api_ctx_fail(x, PARLEY_ENOTFOUND, "no auth provider resets passwords", 0);
		return;
	}
	const parley_auth_vtable *vt = p->vtable;
	int rc = vt->password_forgot(p->self, email, x->client, forgot_done, x);
	if (rc < 0)
		api_ctx_fail(x, rc, NULL, 0);
}

static void password_set_done(void *ud, const parley_auth_result *res)
{
	struct api_ctx *x = ud;
	if (res->rc != PARLEY_OK || !res->user) {
		api_ctx_fail(x, res->rc == PARLEY_OK ? PARLEY_ERR : res->rc, res->message,
		             res->retry_after_ms);
		return;
	}
	api_audit(x, res->user->id, x->password_change ? "password.change" : "password.reset",
	          res->user->id, NULL);
	/* Open connections of the revoked sessions go too. */
	chat_user_sessions_revoked(res->user->id, x->password_change ? x->token : NULL);
	api_ctx_json(x, 200, json_pack("{s:o}", "user", api_user_brief(res->user)));
}

static void run_reset(struct api_ctx *x)
{
	const struct provider *p = AUTH_PROVIDER_WITH(password_reset);
	if (!p) {
		api_ctx_fail(x, PARLEY_ENOTFOUND, "no auth provider resets passwords", 0);
		return;
	}
	const parley_auth_vtable *vt = p->vtable;
	int rc = vt->password_reset(p->self, json_string_value(json_object_get(x->body, "token")),
	                            json_string_value(json_object_get(x->body, "password")),
	                            password_set_done, x);
	if (rc < 0)
		api_ctx_fail(x, rc, NULL, 0);
}

static void run_change(struct api_ctx *x)
{
	const struct provider *p = AUTH_PROVIDER_WITH(password_change);
	if (!p) {
		api_ctx_fail(x, PARLEY_ENOTFOUND, "no auth provider changes passwords", 0);
		return;
	}
	const parley_auth_vtable *vt = p->vtable;
	x->password_change = 1;
	int rc = vt->password_change(p->self, x->who_id, x->token,
	                             json_string_value(json_object_get(x->body, "old_password")),
	                             json_string_value(json_object_get(x->body, "new_password")),
	                             password_set_done, x);
	if (rc < 0)
		api_ctx_fail(x, rc, NULL, 0);
}

/* Parses the body and checks its string members before anything starts. */
static json_t *body_with(struct http_request *req, const char *const *keys, size_t n)
{
	json_t *body = api_body(req);
	const char *v;
	for (size_t i = 0; body && i < n; i++) {
		if (api_body_str(req, body, keys[i], 1, &v) < 0) {
			json_decref(body);
			return NULL;
		}
	}
	return body;
}

static void route_password(struct http_request *req, const struct api_route *r, api_run_fn run,
                           const char *const *keys, size_t n)
{
	json_t *body = body_with(req, keys, n);
	struct api_ctx *x = body ? api_ctx_new(req, r, run, NULL, body) : NULL;
	if (x)
		api_ctx_start(req, x);
}

void api_password_forgot(struct http_request *req, const struct api_route *r, const char *id)
{
	static const char *const keys[] = {"email"};
	(void)id;
	route_password(req, r, run_forgot, keys, 1);
}

void api_password_reset(struct http_request *req, const struct api_route *r, const char *id)
{
	static const char *const keys[] = {"token", "password"};
	(void)id;
	route_password(req, r, run_reset, keys, 2);
}

void api_password_change(struct http_request *req, const struct api_route *r, const char *id)
{
	static const char *const keys[] = {"old_password", "new_password"};
	(void)id;
	route_password(req, r, run_change, keys, 2);
}

/* ---- settings ----------------------------------------------------------- */

static void settings_done(void *ud, int rc, const char *message, json_t *settings)
{
	struct api_ctx *x = ud;
	if (rc != PARLEY_OK) {
		api_ctx_fail(x, rc, message, 0);
		return;
	}
	/* email_available: whether anything can send the digest at all (no
	 * notify plugin configured: the client must not offer it as working). */
	api_ctx_json(x, 200,
	             json_pack("{s:O,s:b}", "settings", settings, "email_available",
	                       plugins_has_provider(PARLEY_PROVIDE_NOTIFY)));
}

static void run_settings(struct api_ctx *x)
{
	char err[160];
	int rc = x->body ? user_settings_set(x->who_id, x->body, err, sizeof err, settings_done, x)
	                 : user_settings_get(x->who_id, settings_done, x);
	if (rc < 0)
		api_ctx_fail(x, rc, rc == PARLEY_EINVAL ? err : "settings are unavailable", 0);
}

void api_settings(struct http_request *req, const struct api_route *r, const char *id)
{
	json_t *body = NULL;
	if (api_is_post(req)) {
		char err[160];
		if (!(body = api_body(req)))
			return;
		if (user_settings_check(body, err, sizeof err) < 0) {
			api_error(req, 400, "bad_request", err);
			json_decref(body);
			return;
		}
	}
	struct api_ctx *x = api_ctx_new(req, r, run_settings, id, body);
	if (x)
		api_ctx_start(req, x);
}

/* ---- unsubscribe -------------------------------------------------------- */

static void html_page(struct http_request *req, int status, const char *title, const char *text,
                      const char *form_action)
{
	char body[2048];
	/* Only fixed text and a checked id and hex signature go in: nothing to
	 * escape. No script: the form works under the strict CSP. */
	snprintf(body, sizeof body,
	         "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
	         "<meta name=\"viewport\" content=\"width=device-width\"><title>%s</title></head>"
	         "<body style=\"font-family:sans-serif;max-width:32em;margin:3em auto\">"
	         "<h1>%s</h1><p>%s</p>%s%s%s</body></html>",
	         title, title, text, form_action ? "<form method=\"post\" action=\"" : "",
	         form_action ? form_action : "",
	         form_action ? "\"><button type=\"submit\">Turn off e-mail digests</button></form>"
	                     : "");
	api_log(req, status);
	http_respond(req, status, "text/html; charset=utf-8", NULL, body, strlen(body));
}

static void unsubscribed(void *ud, int rc, const char *message, json_t *settings)
{
	struct api_ctx *x = ud;
	(void)settings;
	struct http_request *req = api_ctx_req(x);
	if (req && rc == PARLEY_OK)
		html_page(req, 200, "Unsubscribed",
		          "You will get no more e-mail digests of missed mentions and messages. "
		          "Turn them on again in the chat's settings.",
		          NULL);
	else if (req)
		html_page(req, rc == PARLEY_ENOTFOUND ? 404 : 503, "Not unsubscribed",
		          message ? "The setting could not be saved; try the link again later."
		                  : "The setting could not be saved.",
		          NULL);
	if (rc == PARLEY_OK)
		api_audit(x, x->id, "settings.unsubscribe", x->id, NULL);
	api_ctx_free(x);
}

void api_unsubscribe(struct http_request *req, const struct api_route *r, const char *id)
{
	(void)id;
	char *user = http_query_param(req, "u"), *sig = http_query_param(req, "s");
	int post = api_is_post(req);
	int valid = user && strlen(user) < API_ID_MAX && secret_verify(UNSUB_PURPOSE, user, sig);
	for (const char *p = user; valid && *p; p++)
		valid = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
	if (!valid) {
		html_page(req, 400, "Invalid link",
		          "This unsubscribe link is not valid. Change e-mail settings in the chat.",
		          NULL);
	} else if (!post) {
		char action[API_ID_MAX + SECRET_SIG_HEX + 40];
		snprintf(action, sizeof action, "/api/unsubscribe?u=%s&amp;s=%s", user, sig);
		html_page(req, 200, "Unsubscribe",
		          "Stop e-mail digests of the mentions and direct messages you missed?",
		          action);
	} else {
		json_t *patch = json_pack("{s:b}", "email_digest", 0);
		struct api_ctx *x = api_ctx_new(req, r, NULL, user, NULL);
		char err[160];
		int rc = x && patch
		             ? user_settings_set(user, patch, err, sizeof err, unsubscribed, x)
		             : PARLEY_ENOMEM;
		if (rc < 0) {
			html_page(req, rc == PARLEY_ENOTFOUND ? 404 : 503, "Not unsubscribed",
			          "The setting could not be saved; try the link again later.",
			          NULL);
			api_ctx_free(x);
		}
		json_decref(patch);
	}
	free(user);
	free(sig);
}

int api_unsubscribe_link(const char *base, const char *user_id, char *out, size_t n)
{
	char sig[SECRET_SIG_HEX + 1];
	secret_sign(UNSUB_PURPOSE, user_id, sig);
	if (!sig[0])
		return -1;
	int len = snprintf(out, n, "%s/api/unsubscribe?u=%s&s=%s", base ? base : "", user_id, sig);
	return len < 0 || (size_t)len >= n ? -1 : 0;
}

/* ---- slash commands ----------------------------------------------------- */

static void run_commands(struct api_ctx *x)
{
	api_ctx_json(x, 200, json_pack("{s:o*}", "commands", chat_commands_list()));
}

void api_commands(struct http_request *req, const struct api_route *r, const char *id)
{
	struct api_ctx *x = api_ctx_new(req, r, run_commands, id, NULL);
	if (x)
		api_ctx_start(req, x);
}
