/* Profiles over HTTP: GET/PATCH /api/profile (one's own), GET
 * /api/users/{id}/profile (anyone signed in; a room-limited bot token
 * only the people of its rooms, as in the directory), PATCH /api/admin/users/{id}/profile (admins,
 * audited). */
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "chat/chat_directory.h"
#include "chat/profiles.h"

static void profile_done_http(void *ud, int rc, const char *message, json_t *profile)
{
	struct api_ctx *x = ud;
	if (rc != PARLEY_OK) {
		api_ctx_fail(x, rc, message, 0);
		return;
	}
	if (x->body && strcmp(x->id[0] ? x->id : x->who_id, x->who_id) != 0)
		api_audit(x, NULL, "user.profile", x->id, json_deep_copy(x->body));
	api_ctx_json(x, 200, json_pack("{s:O}", "profile", profile));
}

static void run_profile(struct api_ctx *x)
{
	const char *who = x->id[0] ? x->id : x->who_id;
	char err[200];
	if (!chat_directory_visible(x->scope, x->who_id, who)) {
		api_ctx_fail(x, PARLEY_ENOTFOUND, "no such user", 0);
		return;
	}
	int rc = x->body ? profile_set(who, x->body, err, sizeof err, profile_done_http, x)
	                 : profile_get(who, profile_done_http, x);
	if (rc < 0)
		api_ctx_fail(x, rc,
		             rc == PARLEY_EINVAL      ? err
		             : rc == PARLEY_ENOTFOUND ? "no such user"
		                                      : "profiles are unavailable",
		             0);
}

/* body: the patch for PATCH, else none; a bad patch is answered here. */
static void start(struct http_request *req, const struct api_route *r, const char *id, int patch)
{
	json_t *body = NULL;
	if (patch) {
		char err[200];
		if (!(body = api_body(req)))
			return;
		if (profile_check(body, err, sizeof err) < 0) {
			api_error(req, 400, "bad_request", err);
			json_decref(body);
			return;
		}
	}
	struct api_ctx *x = api_ctx_new(req, r, run_profile, id, body);
	if (x)
		api_ctx_start(req, x);
}

void api_profile(struct http_request *req, const struct api_route *r, const char *id)
{
	(void)id;
	start(req, r, NULL, api_is_post(req));
}

void api_user_profile(struct http_request *req, const struct api_route *r, const char *user_id)
{
	start(req, r, user_id, 0);
}

void api_admin_profile(struct http_request *req, const struct api_route *r, const char *user_id)
{
	start(req, r, user_id, 1);
}
