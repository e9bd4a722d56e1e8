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

/* The user of a store answer, into req. 0 to go on; otherwise req has
 * been finished: absent_rc when there is no such user, disabled_rc when
 * the account is disabled. */
static int found_user(struct al_req *req, const parley_store_result *res, int absent_rc,
                      const char *absent_msg, int disabled_rc)
{
	if (res->rc == PARLEY_ENOTFOUND || (res->rc == PARLEY_OK && res->n_users < 1))
		req_finish(req, absent_rc, absent_msg);
	else if (res->rc < 0)
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
	else if (req_take_user(req, &res->users[0]) != PARLEY_OK)
		req_finish(req, PARLEY_ENOMEM, NULL);
	else if (req->user.disabled)
		req_finish(req, disabled_rc, MSG_DISABLED);
	else
		return 0;
	return -1;
}

static void session_found(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	const parley_store_vtable *st;
	void *self;

	if (found_user(req, res, PARLEY_EUNAUTHORIZED, MSG_BAD_SESSION, PARLEY_EUNAUTHORIZED) != 0)
		return;
	/* A bot token carries its limits to the core, which enforces them. */
	st = al_store(req->al, &self);
	if (st && AL_STORE_HAS(st, session_create_scoped) && res->session && res->session->scopes &&
	    (req_dup(req, &req->scopes, res->session->scopes) ||
	     req_dup(req, &req->rooms_json, res->session->rooms_json))) {
		req_finish(req, PARLEY_ENOMEM, NULL);
		return;
	}
	req_finish(req, PARLEY_OK, NULL);
}

static int session_get_call(struct al_req *req, const parley_store_vtable *st, void *self)
{
	return st->session_get(self, req->token_hash, req->al->host->now_ms(), session_found, req);
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

static int session_delete_call(struct al_req *req, const parley_store_vtable *st, void *self)
{
	return st->session_delete(self, req->token_hash, NULL, session_deleted, req);
}

/* A store call keyed by the hash of token; a token not of our shape gets
 * foreign_rc (PASS: let the next provider try). */
static int by_token(struct al *al, const char *token, int foreign_rc, const char *foreign_msg,
                    int (*call)(struct al_req *req, const parley_store_vtable *st, void *self),
                    parley_auth_done done, void *ud)
{
	struct al_req *req = req_new(al, done, ud);
	const parley_store_vtable *st;
	void *self;
	int rc;

	if (!req)
		return PARLEY_ENOMEM;
	if (!token_is_local(token))
		return req_fail(req, foreign_rc, foreign_msg);
	if (!(st = al_store(al, &self)))
		return req_fail(req, PARLEY_EUNAVAIL, MSG_STORE);
	token_hash(token, req->token_hash);
	rc = call(req, st, self);
	if (rc < 0)
		return req_fail(req, al_store_rc(rc), MSG_STORE);
	return PARLEY_PENDING;
}

int al_authenticate(void *self, const char *token, parley_auth_done done, void *ud)
{
	return by_token(self, token, PARLEY_PASS, NULL, session_get_call, done, ud);
}

int al_logout(void *self, const char *token, parley_auth_done done, void *ud)
{
	return by_token(self, token, PARLEY_EUNAUTHORIZED, MSG_BAD_SESSION, session_delete_call,
	                done, ud);
}

static void session_new_user(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;

	snprintf(req->msg, sizeof req->msg, "no user named %s", req->name);
	if (found_user(req, res, PARLEY_ENOTFOUND, req->msg, PARLEY_EFORBIDDEN) == 0)
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
