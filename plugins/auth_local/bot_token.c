/* Tokens for bot accounts, limited to scopes and rooms. auth_local stores
 * the limits with the session and hands them back on authenticate; the
 * core enforces them on every request (WebSocket and HTTP alike). */
#include <string.h>

#include "auth_local.h"

#define SCOPES_MAX 64 /* "read,post,react,moderate" is 24 */

static const char MSG_STORE[] = "the account store is unavailable";

const char *al_scopes_problem(const char *scopes)
{
	static const char why[] = "scopes must be a comma list of read, post, react, moderate";
	static const char *const known[] = {"read", "post", "react", "moderate"};
	size_t n = scopes ? strlen(scopes) : 0;
	const char *p = scopes;

	if (n == 0 || n > SCOPES_MAX)
		return why;
	while (*p) {
		size_t len = strcspn(p, ",");
		int ok = 0;
		for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
			ok |= strlen(known[i]) == len && !strncmp(p, known[i], len);
		if (!ok)
			return why;
		p += len;
		if (*p == ',' && !*++p)
			return why; /* a trailing comma */
	}
	return NULL;
}

static void bot_session_created(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;

	if (res->rc < 0) {
		req->token[0] = '\0';
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
		return;
	}
	req->al->host->log(req->al->ctx, PARLEY_LOG_INFO, "bot_token_created", "bot %s scopes %s",
	                   req->user.name, req->scopes);
	req_finish(req, PARLEY_OK, NULL);
}

static void bot_found(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;
	const parley_store_vtable *st;
	void *self;
	int64_t now = al->host->now_ms();
	int rc;

	if (res->rc < 0 || res->n_users < 1) {
		req_finish(req,
		           res->rc == PARLEY_ENOTFOUND ? PARLEY_ENOTFOUND : al_store_rc(res->rc),
		           res->rc == PARLEY_ENOTFOUND ? "no such user" : MSG_STORE);
		return;
	}
	if (req_take_user(req, &res->users[0]) != PARLEY_OK) {
		req_finish(req, PARLEY_ENOMEM, NULL);
		return;
	}
	if (strcmp(req->user.role, "bot") != 0) {
		req_finish(req, PARLEY_EINVAL, "scoped tokens are for bot accounts only");
		return;
	}
	if (req->user.disabled) {
		req_finish(req, PARLEY_EFORBIDDEN, "account disabled");
		return;
	}
	if (!(st = al_store(al, &self)) || token_new(al->host, req->token) != PARLEY_OK) {
		req_finish(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	token_hash(req->token, req->token_hash);
	req->expires_ts = req->ttl_ms > 0 ? now + req->ttl_ms : INT64_MAX;
	parley_session s = {.token_hash = req->token_hash,
	                    .user_id = req->user.id,
	                    .created_ts = now,
	                    .expires_ts = req->expires_ts};
	rc = st->session_create_scoped(self, &s, req->scopes, req->rooms_json, bot_session_created,
	                               req);
	if (rc < 0) {
		req->token[0] = '\0';
		req_finish(req, al_store_rc(rc), MSG_STORE);
	}
}

int al_bot_token_new(void *self_, const char *user_id, const char *scopes, const char *rooms_json,
                     int64_t ttl_s, parley_auth_done done, void *ud)
{
	struct al *al = self_;
	struct al_req *req = req_new(al, done, ud);
	const parley_store_vtable *st;
	const char *why;
	void *self;
	int rc;

	if (!req)
		return PARLEY_ENOMEM;
	if ((why = al_scopes_problem(scopes)))
		return req_fail(req, PARLEY_EINVAL, why);
	if (ttl_s > AL_TTL_MAX_S)
		return req_fail(req, PARLEY_EINVAL, "ttl must be at most ten years");
	if (!(st = al_store(al, &self)) || !AL_STORE_HAS(st, session_create_scoped))
		return req_fail(req, PARLEY_EUNAVAIL, "bot tokens need a newer store");
	if (req_dup(req, &req->scopes, scopes) || req_dup(req, &req->rooms_json, rooms_json))
		return req_fail(req, PARLEY_ENOMEM, NULL);
	req->ttl_ms = ttl_s > 0 ? ttl_s * 1000 : 0;
	rc = st->user_get(self, user_id, NULL, bot_found, req);
	if (rc < 0)
		return req_fail(req, al_store_rc(rc), MSG_STORE);
	return PARLEY_PENDING;
}
