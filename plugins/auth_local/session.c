/* Sessions: a bearer token whose SHA-256 keys a session row in the store.
 * authenticate() answers PASS for tokens that are not ours (a JWT, say) so
 * the next provider in the chain can try them. */
#include <stdio.h>

#include "auth_local.h"

static const char MSG_STORE[] = "the account store is unavailable";
static const char MSG_BAD_SESSION[] = "invalid or expired session";
static const char MSG_DISABLED[] = "account disabled";

static void session_created(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;

	if (res->rc < 0) {
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
		return;
	}
	req_finish(req, PARLEY_OK, NULL);
}

void session_start(struct al_req *req)
{
	struct al *al = req->al;
	const parley_store_vtable *st;
	void *self;
	int64_t now = al->host->now_ms();
	parley_session s;
	int rc;

	if (!(st = al_store(al, &self))) {
		req_finish(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	if (token_new(al->host, req->token) != PARLEY_OK) {
		req_finish(req, PARLEY_ERR, "no randomness for a token");
		return;
	}
	token_hash(req->token, req->token_hash);
	req->expires_ts = now + (req->ttl_ms > 0 ? req->ttl_ms : al->cfg.session_ttl_s * 1000);
	s = (parley_session){.token_hash = req->token_hash,
	                     .user_id = req->user.id,
	                     .created_ts = now,
	                     .expires_ts = req->expires_ts};
	rc = st->session_create(self, &s, session_created, req);
	if (rc < 0) {
		req->token[0] = '\0';
		req_finish(req, al_store_rc(rc), MSG_STORE);
	}
}

static void session_found(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;

	if (res->rc == PARLEY_ENOTFOUND || (res->rc == PARLEY_OK && res->n_users < 1)) {
		req_finish(req, PARLEY_EUNAUTHORIZED, MSG_BAD_SESSION);
		return;
	}
	if (res->rc < 0) {
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
		return;
	}
	if (req_take_user(req, &res->users[0]) != PARLEY_OK) {
		req_finish(req, PARLEY_ENOMEM, NULL);
		return;
	}
	if (req->user.disabled) {
		req_finish(req, PARLEY_EUNAUTHORIZED, MSG_DISABLED);
		return;
	}
	req_finish(req, PARLEY_OK, NULL);
}

int al_authenticate(void *self_, const char *token, parley_auth_done done, void *ud)
{
	struct al *al = self_;
	struct al_req *req = req_new(al, done, ud);
	const parley_store_vtable *st;
	void *self;
	int rc;

	if (!req)
		return PARLEY_ENOMEM;
	if (!token_is_local(token))
		return req_fail(req, PARLEY_PASS, NULL);
	if (!(st = al_store(al, &self)))
		return req_fail(req, PARLEY_EUNAVAIL, MSG_STORE);
	token_hash(token, req->token_hash);
	rc = st->session_get(self, req->token_hash, al->host->now_ms(), session_found, req);
	if (rc < 0)
		return req_fail(req, al_store_rc(rc), MSG_STORE);
	return PARLEY_PENDING;
}

static void session_deleted(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;

	/* Logging out of a session that is already gone is still logged out. */
	if (res->rc < 0 && res->rc != PARLEY_ENOTFOUND) {
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
		return;
	}
	req_finish(req, PARLEY_OK, NULL);
}

int al_logout(void *self_, const char *token, parley_auth_done done, void *ud)
{
	struct al *al = self_;
	struct al_req *req = req_new(al, done, ud);
	const parley_store_vtable *st;
	void *self;
	int rc;

	if (!req)
		return PARLEY_ENOMEM;
	if (!token_is_local(token))
		return req_fail(req, PARLEY_EUNAUTHORIZED, MSG_BAD_SESSION);
	if (!(st = al_store(al, &self)))
		return req_fail(req, PARLEY_EUNAVAIL, MSG_STORE);
	token_hash(token, req->token_hash);
	rc = st->session_delete(self, req->token_hash, NULL, session_deleted, req);
	if (rc < 0)
		return req_fail(req, al_store_rc(rc), MSG_STORE);
	return PARLEY_PENDING;
}

static void session_new_user(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;

	if (res->rc == PARLEY_ENOTFOUND || (res->rc == PARLEY_OK && res->n_users < 1)) {
		snprintf(req->msg, sizeof req->msg, "no user named %s", req->name);
		req_finish(req, PARLEY_ENOTFOUND, req->msg);
		return;
	}
	if (res->rc < 0) {
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
		return;
	}
	if (req_take_user(req, &res->users[0]) != PARLEY_OK) {
		req_finish(req, PARLEY_ENOMEM, NULL);
		return;
	}
	if (req->user.disabled) {
		req_finish(req, PARLEY_EFORBIDDEN, MSG_DISABLED);
		return;
	}
	session_start(req);
}

int al_session_new(void *self_, const char *name, int64_t ttl_s, parley_auth_done done, void *ud)
{
	struct al *al = self_;
	struct al_req *req = req_new(al, done, ud);
	const parley_store_vtable *st;
	void *self;
	int rc;

	if (!req)
		return PARLEY_ENOMEM;
	if (!name || !*name)
		return req_fail(req, PARLEY_EINVAL, "a user name is required");
	if (req_dup(req, &req->name, name) != PARLEY_OK)
		return req_fail(req, PARLEY_ENOMEM, NULL);
	if (!(st = al_store(al, &self)))
		return req_fail(req, PARLEY_EUNAVAIL, MSG_STORE);
	if (ttl_s > AL_TTL_MAX_S)
		return req_fail(req, PARLEY_EINVAL, "ttl must be at most ten years");
	req->ttl_ms = ttl_s > 0 ? ttl_s * 1000 : 0;
	rc = st->user_get(self, NULL, name, session_new_user, req);
	if (rc < 0)
		return req_fail(req, al_store_rc(rc), MSG_STORE);
	return PARLEY_PENDING;
}
