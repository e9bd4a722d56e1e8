/* Accounts and invites: registration (by invite, or open), the admin
 * CLI's user add, and invite creation. Registration asks the throttle
 * first, then checks the invite (without spending it), so someone without
 * a valid invite learns nothing about which names exist; then the name,
 * then it spends the invite, and only then a hash. A bogus invite costs
 * the server one store lookup and no Argon2 work, and counts as a failure
 * of the client's address, as a taken name does with open registration. */
#include <stdio.h>
#include <string.h>

#include "auth_local.h"

static const char MSG_STORE[] = "the account store is unavailable";
static const char MSG_BAD_INVITE[] = "invalid or expired invite";
static const char MSG_NAME_TAKEN[] = "that user name is taken";
static const char MSG_BUSY[] = "the server is busy; try again shortly";
static const char MSG_ROLE[] = "role must be admin, member or bot";
static const char MSG_EMAIL[] = "email address is not valid";
static const char MSG_THROTTLED[] = "too many failed registrations; try again later";

/* A refusal that tells the client something (a bad invite, a taken name)
 * counts against its address like a failed login. */
static void register_refused(struct al_req *req, int rc, const char *message)
{
	struct al *al = req->al;

	al_client_fail(al, req->client, al->host->now_ms());
	al->host->log(al->ctx, PARLEY_LOG_INFO, "register_refused", "user %.*s from %s: %s",
	              AL_LOG_NAME_MAX, req->name, req->client, message);
	req_finish(req, rc, message);
}

const char *al_name_problem(const char *name)
{
	static const char why[] = "user name must be 1 to 32 letters, digits, dots, dashes or "
	                          "underscores, not starting with a dot or dash";
	size_t n = name ? strlen(name) : 0;

	if (n < 1 || n > AL_NAME_MAX || name[0] == '.' || name[0] == '-')
		return why;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return why;
	}
	return NULL;
}

int al_role_valid(const char *role)
{
	return role && (!strcmp(role, "admin") || !strcmp(role, "member") || !strcmp(role, "bot"));
}

/* The address itself is the mail server's business: only its shape here. */
static int email_valid(const char *email)
{
	size_t n = strlen(email);
	const char *at = strchr(email, '@');

	return n <= AL_EMAIL_MAX && at && at != email && at[1] && !strchr(at + 1, '@') &&
	       !strpbrk(email, " \t\r\n<>\"");
}

/* Defaults an absent role to member and an empty email to none; NULL
 * when both are then valid, else why not. */
static const char *role_email_problem(const char **role, const char **email)
{
	if (!*role || !**role)
		*role = "member";
	if (*email && !**email)
		*email = NULL;
	if (!al_role_valid(*role))
		return MSG_ROLE;
	if (*email && !email_valid(*email))
		return MSG_EMAIL;
	return NULL;
}

static void user_stored(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;

	if (res->rc == PARLEY_ECONFLICT) {
		register_refused(req, PARLEY_ECONFLICT, MSG_NAME_TAKEN);
		return;
	}
	if (res->rc < 0 || res->n_users < 1) {
		req_finish(req, res->rc < 0 ? al_store_rc(res->rc) : PARLEY_ERR, MSG_STORE);
		return;
	}
	if (req_take_user(req, &res->users[0]) != PARLEY_OK) {
		req_finish(req, PARLEY_ENOMEM, NULL);
		return;
	}
	al->host->log(al->ctx, PARLEY_LOG_INFO, "user_created", "user %s (%s) role %s",
	              req->user.name, req->user.id, req->user.role ? req->user.role : "?");
	/* The core joins them to general and refreshes its caches. */
	if (al->host->user_created)
		al->host->user_created(al->ctx, &res->users[0]);
	if (req->want_session)
		session_start(req);
	else
		req_finish(req, PARLEY_OK, NULL);
}

/* Stores the account; password_hash NULL: no password login. */
static void user_store(struct al_req *req, const char *password_hash)
{
	struct al *al = req->al;
	const parley_store_vtable *st;
	void *self;
	parley_user u;
	int rc;

	if (!(st = al_store(al, &self))) {
		req_finish(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	u = (parley_user){.name = req->name,
	                  .display_name = req->name,
	                  .role = req->role,
	                  .email = req->email,
	                  .password_hash = password_hash,
	                  .created_ts = al->host->now_ms()};
	rc = st->user_create(self, &u, user_stored, req);
	if (rc < 0)
		req_finish(req, al_store_rc(rc), MSG_STORE);
}

static void password_hashed(void *arg, int result)
{
	struct al_req *req = arg;

	req->in_worker = 0;
	if (result == PW_CANCELLED) {
		req_finish(req, PARLEY_EUNAVAIL, "the server is shutting down");
		return;
	}
	if (result != PW_MATCH) {
		req_finish(req, PARLEY_ERR, "password hashing failed");
		return;
	}
	user_store(req, req->job.encoded);
}

/* Hashes req->password on the pool (if there is one) and stores the user. */
static void hash_and_store(struct al_req *req)
{
	int rc;

	if (!req->password || !*req->password) {
		user_store(req, NULL);
		return;
	}
	rc = pw_hash(&req->al->pw, &req->job, req->password, password_hashed, req);
	if (rc != PARLEY_PENDING) {
		req_finish(req, rc == PARLEY_EUNAVAIL ? rc : PARLEY_ERR,
		           rc == PARLEY_EUNAVAIL ? MSG_BUSY : NULL);
		return;
	}
	req->in_worker = 1;
}

static void invite_used(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	const parley_invite *inv = res->invite;

	/* Spent by someone else since it was checked. */
	if (res->rc == PARLEY_ENOTFOUND || (res->rc == PARLEY_OK && !inv)) {
		register_refused(req, PARLEY_EUNAUTHORIZED, MSG_BAD_INVITE);
		return;
	}
	if (res->rc < 0) {
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
		return;
	}
	if (req_dup(req, &req->role, al_role_valid(inv->role) ? inv->role : "member") ||
	    (!req->email && req_dup(req, &req->email, inv->email))) {
		req_finish(req, PARLEY_ENOMEM, NULL);
		return;
	}
	hash_and_store(req);
}

static void name_checked(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;
	struct al *al = req->al;
	const parley_store_vtable *st;
	void *self;
	int rc;

	if (res->rc == PARLEY_OK) {
		register_refused(req, PARLEY_ECONFLICT, MSG_NAME_TAKEN);
		return;
	}
	if (res->rc != PARLEY_ENOTFOUND) {
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
		return;
	}
	if (!req->invite) {
		if (req_dup(req, &req->role, "member") != PARLEY_OK) {
			req_finish(req, PARLEY_ENOMEM, NULL);
			return;
		}
		hash_and_store(req);
		return;
	}
	if (!(st = al_store(al, &self))) {
		req_finish(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	rc = st->invite_use(self, req->token_hash, al->host->now_ms(), invite_used, req);
	if (rc < 0)
		req_finish(req, al_store_rc(rc), MSG_STORE);
}

/* Looks the name up: taken or free. */
static void check_name(struct al_req *req)
{
	const parley_store_vtable *st;
	void *self;
	int rc;

	if (!(st = al_store(req->al, &self))) {
		req_finish(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	rc = st->user_get(self, NULL, req->name, name_checked, req);
	if (rc < 0)
		req_finish(req, al_store_rc(rc), MSG_STORE);
}

/* The invites still usable: is ours among them? Nothing is spent yet. */
static void invite_checked(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;

	if (res->rc < 0) {
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
		return;
	}
	for (size_t i = 0; i < res->n_invites; i++)
		if (res->invites[i].token_hash &&
		    !strcmp(res->invites[i].token_hash, req->token_hash)) {
			check_name(req);
			return;
		}
	register_refused(req, PARLEY_EUNAUTHORIZED, MSG_BAD_INVITE);
}

int al_register_from(void *self_, const char *invite, const char *username, const char *password,
                     const char *email, const char *client, parley_auth_done done, void *ud)
{
	struct al *al = self_;
	struct al_req *req = req_new(al, done, ud);
	const parley_store_vtable *st;
	const char *why;
	void *self;
	int64_t wait;
	int rc;

	if (!req)
		return PARLEY_ENOMEM;
	if (invite && !*invite)
		invite = NULL;
	if (email && !*email)
		email = NULL;
	if (req_dup(req, &req->client, client && *client ? client : "unknown") ||
	    req_dup(req, &req->name, username ? username : ""))
		return req_fail(req, PARLEY_ENOMEM, NULL);
	if (al->cfg.registration == AL_REG_CLOSED)
		return req_fail(req, PARLEY_EFORBIDDEN, "registration is closed");
	if ((wait = al_client_wait(al, req->client, al->host->now_ms())) > 0) {
		al->host->log(al->ctx, PARLEY_LOG_INFO, "register_throttled",
		              "from %s: retry in %lld ms", req->client, (long long)wait);
		req->retry_after_ms = wait;
		return req_fail(req, PARLEY_ERATELIMIT, MSG_THROTTLED);
	}
	if (!invite && al->cfg.registration != AL_REG_OPEN)
		return req_fail(req, PARLEY_EUNAUTHORIZED, "an invite is needed to register");
	if (invite && !token_is_local(invite)) {
		al_client_fail(al, req->client, al->host->now_ms());
		return req_fail(req, PARLEY_EUNAUTHORIZED, MSG_BAD_INVITE);
	}
	if ((why = al_name_problem(username)))
		return req_fail(req, PARLEY_EINVAL, why);
	if ((why = pw_rules(password, username, al->cfg.min_password, req->msg, sizeof req->msg)))
		return req_fail(req, PARLEY_EINVAL, why);
	if (email && !email_valid(email))
		return req_fail(req, PARLEY_EINVAL, MSG_EMAIL);
	if (req_dup(req, &req->password, password) || req_dup(req, &req->email, email) ||
	    req_dup(req, &req->invite, invite))
		return req_fail(req, PARLEY_ENOMEM, NULL);
	if (!(st = al_store(al, &self)) || (invite && !AL_STORE_HAS(st, invites_list)))
		return req_fail(req, PARLEY_EUNAVAIL, MSG_STORE);
	req->want_session = 1;
	if (!invite) {
		rc = st->user_get(self, NULL, username, name_checked, req);
	} else {
		token_hash(invite, req->token_hash);
		rc = st->invites_list(self, al->host->now_ms(), invite_checked, req);
	}
	if (rc < 0)
		return req_fail(req, al_store_rc(rc), MSG_STORE);
	return PARLEY_PENDING;
}

int al_register_user(void *self, const char *invite, const char *username, const char *password,
                     const char *email, parley_auth_done done, void *ud)
{
	return al_register_from(self, invite, username, password, email, NULL, done, ud);
}

static void user_add_start(void *arg)
{
	hash_and_store(arg);
}

int al_user_add(void *self_, const char *name, const char *role, const char *email,
                const char *password, parley_auth_done done, void *ud)
{
	struct al *al = self_;
	struct al_req *req = req_new(al, done, ud);
	const char *why;

	if (!req)
		return PARLEY_ENOMEM;
	if ((why = al_name_problem(name)) || (why = role_email_problem(&role, &email)))
		return req_fail(req, PARLEY_EINVAL, why);
	if (password && *password &&
	    (why = pw_rules(password, name, al->cfg.min_password, req->msg, sizeof req->msg)))
		return req_fail(req, PARLEY_EINVAL, why);
	if (req_dup(req, &req->name, name) || req_dup(req, &req->role, role) ||
	    req_dup(req, &req->email, email) || req_dup(req, &req->password, password))
		return req_fail(req, PARLEY_ENOMEM, NULL);
	/* Start from the loop, not inside the call: done() must come later. */
	al->host->post(al->ctx, user_add_start, req);
	return PARLEY_PENDING;
}

static void invite_stored(void *ud, const parley_store_result *res)
{
	struct al_req *req = ud;

	if (res->rc < 0) {
		req->token[0] = '\0';
		req_finish(req, al_store_rc(res->rc), MSG_STORE);
		return;
	}
	req_finish(req, PARLEY_OK, NULL);
}

/* public_url + "/#invite=" + token, without doubling a trailing slash. */
static int invite_link(struct al_req *req)
{
	struct al *al = req->al;
	const char *base = al->host->public_url ? al->host->public_url(al->ctx) : NULL;
	size_t n, len;

	if (!base)
		base = "";
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	len = n + strlen("/#invite=") + TOKEN_CHARS + 1;
	if (!(req->link = al->host->alloc(al->ctx, len)))
		return PARLEY_ENOMEM;
	snprintf(req->link, len, "%.*s/#invite=%s", (int)n, base, req->token);
	return PARLEY_OK;
}

int al_invite_create(void *self_, const char *role, const char *email, const char *created_by,
                     parley_auth_done done, void *ud)
{
	struct al *al = self_;
	struct al_req *req = req_new(al, done, ud);
	const parley_store_vtable *st;
	parley_invite inv;
	const char *why;
	void *self;
	int64_t now;
	int rc;

	if (!req)
		return PARLEY_ENOMEM;
	if ((why = role_email_problem(&role, &email)))
		return req_fail(req, PARLEY_EINVAL, why);
	if (!(st = al_store(al, &self)))
		return req_fail(req, PARLEY_EUNAVAIL, MSG_STORE);
	if (token_new(al->host, req->token) != PARLEY_OK)
		return req_fail(req, PARLEY_ERR, "no randomness for a token");
	if (invite_link(req) != PARLEY_OK) {
		req->token[0] = '\0';
		return req_fail(req, PARLEY_ENOMEM, NULL);
	}
	token_hash(req->token, req->token_hash);
	now = al->host->now_ms();
	req->expires_ts = now + al->cfg.invite_ttl_s * 1000;
	inv = (parley_invite){.token_hash = req->token_hash,
	                      .role = role,
	                      .email = email,
	                      .created_by = created_by,
	                      .created_ts = now,
	                      .expires_ts = req->expires_ts};
	rc = st->invite_create(self, &inv, invite_stored, req);
	if (rc < 0) {
		req->token[0] = '\0';
		return req_fail(req, al_store_rc(rc), MSG_STORE);
	}
	return PARLEY_PENDING;
}
