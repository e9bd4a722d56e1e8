/* Password reset by e-mail, and password change.
 *
 * forgot() answers OK at once, whether or not the address has an account,
 * and does the rest in the background (lookup, token, mail), so neither
 * the answer nor its timing tells who has an account. Each request counts
 * against the client's and the address's throttle keys, so the form cannot
 * be used to flood one inbox or to probe many addresses quickly.
 *
 * A reset token is single use, stored hashed, and expires (reset_ttl).
 * Spending it sets the password and revokes every session of the user;
 * changing the password revokes every session but the caller's. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth_local.h"

#define KEY_MAX (THROTTLE_KEY_MAX + 1)

static const char MSG_STORE[] = "the account store is unavailable";
static const char MSG_BAD_TOKEN[] = "invalid or expired reset link; ask for a new one";
static const char MSG_THROTTLED[] = "too many requests; try again later";
static const char MSG_BAD_PASSWORD[] = "the current password is wrong";
static const char MSG_BUSY[] = "the server is busy; try again shortly";
static const char KIND_RESET[] = "password_reset";

/* ---- forgot: lookup, token, mail, all in the background --------------- */

static void reset_mailed(void *ud, int rc, const char *error)
{
	struct al_req *req = ud;
	struct al *al = req->al;

	if (rc != PARLEY_OK)
		al->host->log(al->ctx, PARLEY_LOG_WARN, "password_reset_not_sent", "user %s: %s",
		              req->user.name, error ? error : "no notify provider");
	else
		al->host->log(al->ctx, PARLEY_LOG_INFO, "password_reset_sent", "user %s",
		              req->user.name);
	req_finish(req, PARLEY_OK, NULL);
}

static void reset_token_stored(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;
	const char *base = al->host->public_url(al->ctx);
	char link[512], expires[64];
	time_t t = (time_t)((al->host->now_ms() + al->cfg.reset_ttl_s * 1000) / 1000);
	struct tm tm;
	int rc;

	if (res->rc < 0) {
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
		return;
	}
	snprintf(link, sizeof link, "%s/#reset=%s", base ? base : "", req->token);
	gmtime_r(&t, &tm);
	strftime(expires, sizeof expires, "%Y-%m-%d %H:%M UTC", &tm);
	const char *vars[] = {"link",    link,       "name",        req->user.name,
	                      "expires", expires,    "server_name", al->host->server_name(al->ctx),
	                      "client",  req->client};
	parley_notify_msg msg = {.struct_size = sizeof msg,
	                         .kind = KIND_RESET,
	                         .to = req->user.email,
	                         .to_name = req->user.display_name ? req->user.display_name
	                                                           : req->user.name,
	                         .user_id = req->user.id,
	                         .vars = vars,
	                         .n_vars = sizeof vars / sizeof vars[0] / 2};
	rc = PARLEY_HOST_HAS(al->host, notify) ? al->host->notify(al->ctx, &msg, reset_mailed, req)
	                                       : PARLEY_EUNAVAIL;
	explicit_bzero(req->token, sizeof req->token);
	explicit_bzero(link, sizeof link);
	if (rc != PARLEY_PENDING && rc != PARLEY_OK)
		reset_mailed(req, rc, "no notify provider is configured");
}

static void reset_user_found(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;
	const parley_store_vtable *st;
	void *self;
	int rc;

	if (res->rc < 0 || res->n_users < 1) {
		if (res->rc != PARLEY_ENOTFOUND)
			req_finish(req, al_store_rc(res->rc), MSG_STORE);
		else
			req_finish(req, PARLEY_OK, NULL); /* nobody: nothing to send */
		return;
	}
	if (req_take_user(req, &res->users[0]) != PARLEY_OK) {
		req_finish(req, PARLEY_ENOMEM, NULL);
		return;
	}
	/* Disabled accounts and bots get no reset: an admin decides for them.
	 * Nor do single sign-on accounts (auth_jwt marks their hash "$sso$"):
	 * a password would untie them from their identity provider. */
	if (req->user.disabled || !req->user.email || !strcmp(req->user.role, "bot") ||
	    (req->user.password_hash && !strncmp(req->user.password_hash, "$sso$", 5))) {
		al->host->log(al->ctx, PARLEY_LOG_INFO, "password_reset_refused",
		              "user %s: account disabled, a bot or signed in by SSO",
		              req->user.name);
		req_finish(req, PARLEY_OK, NULL);
		return;
	}
	if (!(st = al_store(al, &self)) || token_new(al->host, req->token) != PARLEY_OK) {
		req_finish(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	token_hash(req->token, req->token_hash);
	rc = st->token_create(self, KIND_RESET, req->token_hash, req->user.id,
	                      al->host->now_ms() + al->cfg.reset_ttl_s * 1000, reset_token_stored,
	                      req);
	if (rc < 0)
		req_finish(req, al_store_rc(rc), MSG_STORE);
}

/* 1 when key may ask again now (and counts this request), else 0 with
 * *wait set. */
static int forgot_allowed(struct al *al, const char *key, int64_t now, int64_t *wait)
{
	int64_t w = throttle_wait_ms(al->throttle, key, now);
	if (w > *wait)
		*wait = w;
	return w == 0;
}

/* The throttle's answer (every node's counts, when the store shares
 * them), then the mail in the background: the answer never says whether
 * the address is known. */
static int forgot_checked(struct al_req *req)
{
	struct al *al = req->al;
	struct al_req *bg;
	const parley_store_vtable *st;
	void *self;
	char ckey[KEY_MAX], ekey[KEY_MAX];
	int64_t now = al->host->now_ms(), wait = 0;

	snprintf(ckey, sizeof ckey, "fc:%s", req->client);
	snprintf(ekey, sizeof ekey, "fe:%s", req->email);
	int ok = forgot_allowed(al, ckey, now, &wait);
	ok &= forgot_allowed(al, ekey, now, &wait);
	if (!ok) {
		al->host->log(al->ctx, PARLEY_LOG_INFO, "password_forgot_throttled", "from %s",
		              req->client);
		req->retry_after_ms = wait;
		return req_fail(req, PARLEY_ERATELIMIT, MSG_THROTTLED);
	}
	/* Every request counts: the throttle is what limits mail per address. */
	al_shared_fail(al, ckey, now);
	al_shared_fail(al, ekey, now);

	if (!(st = al_store(al, &self)))
		return req_fail(req, PARLEY_EUNAVAIL, MSG_STORE);
	if (!(bg = req_new(al, NULL, NULL)))
		return req_fail(req, PARLEY_ENOMEM, NULL);
	if (req_dup(bg, &bg->client, req->client) ||
	    st->user_by_email(self, req->email, reset_user_found, bg) < 0)
		req_free(bg);
	return req_fail(req, PARLEY_OK, NULL);
}

static void forgot_refreshed(struct al_req *req)
{
	forgot_checked(req); /* PENDING: its answer goes through done */
}

int al_password_forgot(void *self_, const char *email, const char *client, parley_auth_done done,
                       void *ud)
{
	struct al *al = self_;
	struct al_req *req = req_new(al, done, ud);
	const parley_store_vtable *st;
	void *self;
	char ckey[KEY_MAX], ekey[KEY_MAX];

	if (!req)
		return PARLEY_ENOMEM;
	if (!email || !*email || strlen(email) > AL_EMAIL_MAX)
		return req_fail(req, PARLEY_EINVAL, "an e-mail address is required");
	if (!(st = al_store(al, &self)) || !AL_STORE_HAS(st, token_create) ||
	    !AL_STORE_HAS(st, user_by_email))
		return req_fail(req, PARLEY_EUNAVAIL, "password reset needs a newer store");
	if (req_dup(req, &req->email, email) ||
	    req_dup(req, &req->client, client && *client ? client : "unknown"))
		return req_fail(req, PARLEY_ENOMEM, NULL);
	snprintf(ckey, sizeof ckey, "fc:%s", req->client);
	snprintf(ekey, sizeof ekey, "fe:%s", req->email);
	if (al_shared_refresh(req, ckey, ekey, forgot_refreshed))
		return PARLEY_PENDING;
	return forgot_checked(req);
}

/* ---- reset: spend the token, hash, store, revoke ---------------------- */

static void all_sessions_revoked(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;

	if (res->rc < 0 && res->rc != PARLEY_ENOTFOUND) {
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
		return;
	}
	/* The core closes the connections of the revoked sessions. */
	req_finish(req, PARLEY_OK, NULL);
}

static void password_stored(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;
	const parley_store_vtable *st;
	void *self;
	int rc;

	if (res->rc < 0 || !(st = al_store(al, &self))) {
		req_finish(req, al_store_rc(res->rc < 0 ? res->rc : PARLEY_EUNAVAIL), MSG_STORE);
		return;
	}
	al->host->log(al->ctx, PARLEY_LOG_INFO, "password_changed", "user %s (%s)", req->user.name,
	              req->token_hash[0] ? "change" : "reset");
	rc = st->session_delete(self, req->token_hash[0] ? req->token_hash : NULL, req->user.id,
	                        all_sessions_revoked, req);
	if (rc < 0)
		req_finish(req, al_store_rc(rc), MSG_STORE);
}

static void store_new_password(struct al_req *req)
{
	struct al *al = req->al;
	const parley_store_vtable *st;
	void *self;
	int rc;

	if (!(st = al_store(al, &self))) {
		req_finish(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	parley_user u = {.id = req->user.id, .password_hash = req->job.encoded};
	rc = st->user_update(self, &u, 0, password_stored, req);
	if (rc < 0)
		req_finish(req, al_store_rc(rc), MSG_STORE);
}

static void reset_token_spent(void *ud, const parley_store_result *res);

static void new_password_hashed(void *arg, int result)
{
	struct al_req *req = arg;
	struct al *al = req->al;
	const parley_store_vtable *st;
	void *self;
	int rc;

	req->in_worker = 0;
	if (result != PW_MATCH) {
		req_finish(req, result == PW_CANCELLED ? PARLEY_EUNAVAIL : PARLEY_ERR,
		           result == PW_CANCELLED ? "the server is shutting down" : NULL);
		return;
	}
	if (!req->spend_reset) {
		store_new_password(req);
		return;
	}
	/* Everything that could refuse the password has passed: now the link
	 * is spent (atomically: of two racing resets, one wins). */
	if (!(st = al_store(al, &self))) {
		req_finish(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	rc = st->token_use(self, KIND_RESET, req->token_hash, al->host->now_ms(), reset_token_spent,
	                   req);
	if (rc < 0)
		req_finish(req, al_store_rc(rc), MSG_STORE);
}

/* Checks the new password (in req->new_password) against the rules and
 * the user's name, then hashes it. */
static void hash_new_password(struct al_req *req)
{
	struct al *al = req->al;
	const char *why = pw_rules(req->new_password, req->user.name, al->cfg.min_password,
	                           req->msg, sizeof req->msg);
	int rc;

	if (why) {
		req_finish(req, PARLEY_EINVAL, why);
		return;
	}
	rc = pw_hash(&al->pw, &req->job, req->new_password, new_password_hashed, req);
	if (rc != PARLEY_PENDING) {
		req_finish(req, rc == PARLEY_EUNAVAIL ? rc : PARLEY_ERR,
		           rc == PARLEY_EUNAVAIL ? MSG_BUSY : NULL);
		return;
	}
	req->in_worker = 1;
}

/* The link's user, checked before anything is spent or hashed. */
static void reset_token_found(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;

	if (res->rc == PARLEY_ENOTFOUND || (res->rc == PARLEY_OK && res->n_users < 1)) {
		al->host->log(al->ctx, PARLEY_LOG_INFO, "password_reset_refused",
		              "invalid, used or expired token");
		req_finish(req, PARLEY_EUNAUTHORIZED, MSG_BAD_TOKEN);
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
		req_finish(req, PARLEY_EFORBIDDEN, "account disabled");
		return;
	}
	hash_new_password(req);
}

static void reset_token_spent(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;

	/* Spent by another request since it was looked at, or (a store
	 * without token_peek) the first look. */
	if (res->rc == PARLEY_ENOTFOUND || (res->rc == PARLEY_OK && res->n_users < 1) ||
	    (res->rc == PARLEY_OK && req->have_user && res->users[0].id &&
	     strcmp(res->users[0].id, req->user.id))) {
		al->host->log(al->ctx, PARLEY_LOG_INFO, "password_reset_refused",
		              "invalid, used or expired token");
		req_finish(req, PARLEY_EUNAUTHORIZED, MSG_BAD_TOKEN);
		return;
	}
	if (res->rc < 0) {
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
		return;
	}
	req->spend_reset = 0;
	req->token_hash[0] = '\0'; /* a reset revokes every session */
	if (req->have_user) {
		store_new_password(req);
		return;
	}
	reset_token_found(req, res);
}

int al_password_reset(void *self_, const char *token, const char *password, parley_auth_done done,
                      void *ud)
{
	struct al *al = self_;
	struct al_req *req = req_new(al, done, ud);
	const parley_store_vtable *st;
	const char *why;
	void *self;
	int64_t now = al->host->now_ms();
	int rc;

	if (!req)
		return PARLEY_ENOMEM;
	if (!token || !token_is_local(token))
		return req_fail(req, PARLEY_EUNAUTHORIZED, MSG_BAD_TOKEN);
	/* The rules that need no name are checked before any lookup. */
	if ((why = pw_rules(password ? password : "", NULL, al->cfg.min_password, req->msg,
	                    sizeof req->msg)))
		return req_fail(req, PARLEY_EINVAL, why);
	if (!(st = al_store(al, &self)) || !AL_STORE_HAS(st, token_use))
		return req_fail(req, PARLEY_EUNAVAIL, MSG_STORE);
	if (req_dup(req, &req->new_password, password))
		return req_fail(req, PARLEY_ENOMEM, NULL);
	token_hash(token, req->token_hash);
	/* Looked at first, spent only once the password passed every rule
	 * (the name's included) and is hashed. An older store without
	 * token_peek spends it first, as before. */
	if (AL_STORE_HAS(st, token_peek)) {
		req->spend_reset = 1;
		rc = st->token_peek(self, KIND_RESET, req->token_hash, now, reset_token_found, req);
	} else {
		rc = st->token_use(self, KIND_RESET, req->token_hash, now, reset_token_spent, req);
	}
	if (rc < 0)
		return req_fail(req, al_store_rc(rc), MSG_STORE);
	return PARLEY_PENDING;
}

/* ---- change: verify the old one first --------------------------------- */

/* A wrong current password counts against the account like a failed login. */
static void change_refused(struct al_req *req)
{
	struct al *al = req->al;
	char key[KEY_MAX];

	al_account_key(req->user.name, key);
	al_shared_fail(al, key, al->host->now_ms());
	al->host->log(al->ctx, PARLEY_LOG_INFO, "password_change_refused",
	              "user %s: wrong current password", req->user.name);
	req_finish(req, PARLEY_EFORBIDDEN, MSG_BAD_PASSWORD);
}

static void old_password_verified(void *arg, int result)
{
	struct al_req *req = arg;

	req->in_worker = 0;
	if (result == PW_CANCELLED) {
		req_finish(req, PARLEY_EUNAVAIL, "the server is shutting down");
		return;
	}
	if (result != PW_MATCH) {
		change_refused(req);
		return;
	}
	hash_new_password(req);
}

static void change_user_found(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;
	char key[KEY_MAX];
	int64_t wait;
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
	al_account_key(req->user.name, key);
	if ((wait = throttle_wait_ms(al->throttle, key, al->host->now_ms())) > 0) {
		req->retry_after_ms = wait;
		req_finish(req, PARLEY_ERATELIMIT, MSG_THROTTLED);
		return;
	}
	/* Never hashed, and counted like any other wrong password. */
	if (strlen(req->password) > PW_MAX_BYTES) {
		change_refused(req);
		return;
	}
	rc = pw_verify(&al->pw, &req->job, req->user.password_hash, req->password,
	               old_password_verified, req);
	if (rc != PARLEY_PENDING) {
		req_finish(req, rc == PARLEY_EUNAVAIL ? rc : PARLEY_ERR,
		           rc == PARLEY_EUNAVAIL ? MSG_BUSY : NULL);
		return;
	}
	req->in_worker = 1;
}

int al_password_change(void *self_, const char *user_id, const char *keep_token,
                       const char *old_password, const char *new_password, parley_auth_done done,
                       void *ud)
{
	struct al *al = self_;
	struct al_req *req = req_new(al, done, ud);
	const parley_store_vtable *st;
	void *self;
	int rc;

	if (!req)
		return PARLEY_ENOMEM;
	if (!user_id || !old_password || !new_password)
		return req_fail(req, PARLEY_EINVAL, "current and new password are required");
	if (!(st = al_store(al, &self)))
		return req_fail(req, PARLEY_EUNAVAIL, MSG_STORE);
	if (req_dup(req, &req->password, old_password) ||
	    req_dup(req, &req->new_password, new_password))
		return req_fail(req, PARLEY_ENOMEM, NULL);
	/* Only a session of ours is kept; any other credential keeps none. */
	if (keep_token && token_is_local(keep_token))
		token_hash(keep_token, req->token_hash);
	else
		req->token_hash[0] = '\0';
	rc = st->user_get(self, user_id, NULL, change_user_found, req);
	if (rc < 0)
		return req_fail(req, al_store_rc(rc), MSG_STORE);
	return PARLEY_PENDING;
}
