/* Login by name and password. The order matters for what an attacker can
 * learn: the throttle is asked first (a blocked name or address costs no
 * hash), an unknown name still pays one Argon2id verify (against the dummy
 * hash) so timing does not tell which names exist, both failures give the
 * same message, and "disabled" is only told to someone who knew the
 * password. A stored hash weaker than the configured parameters is
 * replaced after the login, in the background. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "addr_prefix.h"
#include "auth_local.h"

static const char MSG_BAD_CREDENTIALS[] = "invalid username or password";
static const char MSG_THROTTLED[] = "too many failed logins; try again later";
static const char MSG_STORE[] = "the account store is unavailable";
static const char MSG_BUSY[] = "too many logins at once; try again shortly";

#define KEY_MAX (THROTTLE_KEY_MAX + 1)

/* Throttle keys: the account as typed (case-folded, so Alice and alice
 * share a counter), the client address, and under pressure its network. */
void al_account_key(const char *name, char *out)
{
	size_t i = 0;

	out[i++] = 'a';
	out[i++] = ':';
	for (const char *p = name; *p && i < KEY_MAX - 1; p++)
		out[i++] = (char)tolower((unsigned char)*p);
	out[i] = '\0';
}

static void client_key(const char *client, char *out)
{
	snprintf(out, KEY_MAX, "c:%s", client);
}

static void network_key(const char *client, int level, char *out)
{
	char net[64]; /* the longest IPv6 text and "/64" */

	addr_prefix(client, level, net, sizeof net);
	snprintf(out, KEY_MAX, "n%d:%s", level, net);
}

int64_t al_client_wait(struct al *al, const char *client, int64_t now)
{
	char key[KEY_MAX];
	int64_t wait, w;

	client_key(client, key);
	wait = throttle_wait_ms(al->throttle, key, now);
	for (int level = 1; level <= 2; level++) {
		network_key(client, level, key);
		w = throttle_wait_ms(al->throttle, key, now);
		if (w > wait)
			wait = w;
	}
	return wait;
}

void al_client_fail(struct al *al, const char *client, int64_t now)
{
	int pressure = throttle_pressure(al->throttle), counted = 0;
	char key[KEY_MAX];

	client_key(client, key);
	if (!pressure || throttle_has(al->throttle, key, now))
		counted = al_shared_fail(al, key, now) == 0;
	/* Under pressure (many addresses, or many names), a new address is
	 * counted with its network, a wider one as pressure rises: an attacker
	 * with many addresses in one network gets that network's guesses, not
	 * each address's. */
	if (pressure || !counted) {
		network_key(client, pressure ? pressure : 1, key);
		throttle_fail(al->throttle, key, now);
	}
}

static void login_failed(struct al_req *req)
{
	struct al *al = req->al;
	int64_t now = al->host->now_ms();
	char key[KEY_MAX];

	al_account_key(req->name, key);
	al_shared_fail(al, key, now);
	al_client_fail(al, req->client, now);
	al->host->log(al->ctx, PARLEY_LOG_INFO, "login_failed", "user %.*s from %s",
	              AL_LOG_NAME_MAX, req->name, req->client);
	req_finish(req, PARLEY_EUNAUTHORIZED, MSG_BAD_CREDENTIALS);
}

static void rehash_stored(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;

	if (res->rc < 0)
		al->host->log(al->ctx, PARLEY_LOG_WARN, "password_rehash_failed", "user %s: %s",
		              req->name, res->error ? res->error : "store error");
	else
		al->host->log(al->ctx, PARLEY_LOG_INFO, "password_rehashed", "user %s", req->name);
	req_finish(req, res->rc < 0 ? al_store_rc(res->rc) : PARLEY_OK, NULL);
}

static void rehashed(void *arg, int result)
{
	struct al_req *req = arg;
	struct al *al = req->al;
	const parley_store_vtable *st;
	void *self;
	parley_user u;

	req->in_worker = 0;
	if (result != PW_MATCH || !(st = al_store(al, &self))) {
		req_finish(req, PARLEY_ERR, NULL);
		return;
	}
	u = (parley_user){.id = req->user.id, .password_hash = req->job.encoded};
	if (st->user_update(self, &u, 0, rehash_stored, req) < 0)
		req_finish(req, PARLEY_ERR, NULL);
}

/* Background work of its own, so the login answers without waiting. A
 * busy pool just skips it: the next login tries again. */
static void rehash_start(struct al_req *login)
{
	struct al *al = login->al;
	struct al_req *req = req_new(al, NULL, NULL);

	if (!req)
		return;
	if (req_dup(req, &req->name, login->user.name) ||
	    req_dup(req, &req->user.id, login->user.id) ||
	    req_dup(req, &req->password, login->password) ||
	    pw_hash(&al->pw, &req->job, req->password, rehashed, req) != PARLEY_PENDING) {
		req_free(req);
		return;
	}
	req->in_worker = 1;
}

static void login_verified(void *arg, int result)
{
	struct al_req *req = arg;
	struct al *al = req->al;
	char key[KEY_MAX];

	req->in_worker = 0;
	if (result == PW_CANCELLED) {
		req_finish(req, PARLEY_EUNAVAIL, "the server is shutting down");
		return;
	}
	if (result == PW_FAILED && req->have_user && req->user.password_hash &&
	    *req->user.password_hash)
		al->host->log(al->ctx, PARLEY_LOG_WARN, "password_hash_invalid",
		              "user %s: stored hash cannot be verified", req->user.name);
	if (result != PW_MATCH || !req->have_user || !req->user.password_hash ||
	    !*req->user.password_hash) {
		login_failed(req);
		return;
	}
	if (req->user.disabled) {
		al->host->log(al->ctx, PARLEY_LOG_INFO, "login_refused",
		              "user %s from %s: account disabled", req->user.name, req->client);
		req_finish(req, PARLEY_EFORBIDDEN, "account disabled");
		return;
	}
	al_account_key(req->name, key);
	al_shared_reset(al, key);
	al->host->log(al->ctx, PARLEY_LOG_INFO, "login", "user %s from %s", req->user.name,
	              req->client);
	if (pw_needs_rehash(&al->pw, req->user.password_hash))
		rehash_start(req);
	session_start(req);
}

static void login_user(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;
	int rc;

	if (res->rc < 0 && res->rc != PARLEY_ENOTFOUND) {
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
		return;
	}
	if (res->rc == PARLEY_OK && res->n_users > 0 &&
	    req_take_user(req, &res->users[0]) != PARLEY_OK) {
		req_finish(req, PARLEY_ENOMEM, NULL);
		return;
	}
	/* Never hashed, whoever asks: no timing difference between names. */
	if (strlen(req->password) > PW_MAX_BYTES) {
		login_failed(req);
		return;
	}
	rc = pw_verify(&al->pw, &req->job, req->have_user ? req->user.password_hash : NULL,
	               req->password, login_verified, req);
	if (rc != PARLEY_PENDING) {
		req_finish(req, rc == PARLEY_EUNAVAIL ? rc : PARLEY_ERR,
		           rc == PARLEY_EUNAVAIL ? MSG_BUSY : NULL);
		return;
	}
	req->in_worker = 1;
}

/* The throttle's answer (every node's counts, when the store shares
 * them), then the account. */
static int login_checked(struct al_req *req)
{
	struct al *al = req->al;
	const parley_store_vtable *st;
	void *self;
	int64_t now = al->host->now_ms(), wait, wait_client;
	char key[KEY_MAX];
	int rc;

	al_account_key(req->name, key);
	wait = throttle_wait_ms(al->throttle, key, now);
	wait_client = al_client_wait(al, req->client, now);
	if (wait_client > wait)
		wait = wait_client;
	if (wait > 0) {
		al->host->log(al->ctx, PARLEY_LOG_INFO, "login_throttled",
		              "user %.*s from %s: retry in %lld ms", AL_LOG_NAME_MAX, req->name,
		              req->client, (long long)wait);
		req->retry_after_ms = wait;
		return req_fail(req, PARLEY_ERATELIMIT, MSG_THROTTLED);
	}
	if (!*req->name)
		return req_fail(req, PARLEY_EUNAUTHORIZED, MSG_BAD_CREDENTIALS);
	if (!(st = al_store(al, &self)))
		return req_fail(req, PARLEY_EUNAVAIL, MSG_STORE);
	rc = st->user_get(self, NULL, req->name, login_user, req);
	if (rc < 0)
		return req_fail(req, al_store_rc(rc), MSG_STORE);
	return PARLEY_PENDING;
}

static void login_refreshed(struct al_req *req)
{
	login_checked(req); /* PENDING: its answer goes through done */
}

int al_login(void *self_, const char *username, const char *password, const char *client,
             parley_auth_done done, void *ud)
{
	struct al *al = self_;
	struct al_req *req = req_new(al, done, ud);
	char account[KEY_MAX], address[KEY_MAX];

	if (!req)
		return PARLEY_ENOMEM;
	if (req_dup(req, &req->name, username ? username : "") ||
	    req_dup(req, &req->password, password ? password : "") ||
	    req_dup(req, &req->client, client && *client ? client : "unknown"))
		return req_fail(req, PARLEY_ENOMEM, NULL);
	al_account_key(req->name, account);
	client_key(req->client, address);
	if (al_shared_refresh(req, account, address, login_refreshed))
		return PARLEY_PENDING;
	return login_checked(req);
}
