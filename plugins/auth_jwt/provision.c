/* The account behind a verified token, found or made through the store.
 *
 * Accounts are found by name (the username claim). An account made by this
 * plugin carries a marker in its password_hash field, "$sso$" + 16 hex of
 * the issuer's SHA-256 + "$" + the subject, which ties the name to one
 * subject of one issuer and can never match a password (a user field of
 * its own would change the store's schema and the ABI's parley_user; the
 * marker needs neither, and auth_local refuses any non-Argon2 hash).
 *
 * A name that belongs to a local account (or to another subject, or
 * another issuer) is refused, so an identity provider cannot take over an
 * account by naming it; `link_existing` lets an account made without a
 * password (by `parley user import`) be claimed by the first subject that
 * signs in with its name. With `roles` configured the issuer's groups
 * decide the role at every sign-in. */
#include <stdio.h>
#include <string.h>

#include "auth_jwt.h"

static const char MSG_STORE[] = "the account store is unavailable";

static void looked_up(void *ud, const parley_store_result *res);

static const parley_store_vtable *store_of(struct aj *aj, void **self)
{
	*self = NULL;
	return aj->host->store ? aj->host->store(aj->ctx, self) : NULL;
}

static int take_user(struct aj_req *req, const parley_user *u)
{
	char **fields[] = {&req->user_id, &req->user_name, &req->user_display, &req->user_role,
	                   &req->user_email};
	const char *values[] = {u->id, u->name, u->display_name, u->role, u->email};

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		req->aj->host->free(req->aj->ctx, *fields[i]);
		if (req_dup(req, fields[i], values[i]) != 0)
			return -1;
	}
	req->user_disabled = u->disabled;
	req->user_created_ts = u->created_ts;
	req->have_user = 1;
	return 0;
}

static void updated(void *ud, const parley_store_result *res);

/* user_created made the core queue writes of its own (the new account's
 * membership in #general). One more write, which changes nothing, answers
 * after them, because the store commits writes in order: so the first
 * `ready` already lists #general. */
static void settle(struct aj_req *req)
{
	const parley_store_vtable *st;
	void *self;
	parley_user same = {.id = req->user_id, .role = req->user_role};

	if ((st = store_of(req->aj, &self)) &&
	    st->user_update(self, &same, 0, updated, req) == PARLEY_PENDING) {
		req->state = AJ_REQ_IN_STORE;
		return;
	}
	req_finish(req, PARLEY_OK, NULL);
}

/* The store answered a write (create or update) with the account. */
static void stored(void *ud, const parley_store_result *res, int created)
{
	struct aj_req *req = ud;
	struct aj *aj = req->aj;

	req->state = AJ_REQ_NEW;
	if (aj->stopping) {
		req_finish(req, PARLEY_EUNAVAIL, NULL);
		return;
	}
	if (res->rc == PARLEY_ECONFLICT && created && !req->create_retried) {
		/* Someone made the name meanwhile (the same person on two tabs): look
		 * again, and judge the account that won. */
		const parley_store_vtable *st;
		void *self;
		req->create_retried = 1;
		if ((st = store_of(aj, &self)) &&
		    st->user_get(self, NULL, req->name, looked_up, req) == PARLEY_PENDING) {
			req->state = AJ_REQ_IN_STORE;
			return;
		}
	}
	if (res->rc < 0 || res->n_users < 1) {
		req_finish(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	if (take_user(req, &res->users[0]) != 0) {
		req_finish(req, PARLEY_ENOMEM, NULL);
		return;
	}
	if (created) {
		aj->host->log(aj->ctx, PARLEY_LOG_INFO, "sso_user_created", "user %s (%s), role %s",
		              req->user_name, req->user_id, req->user_role);
		aj->host->user_created(aj->ctx, &res->users[0]);
		settle(req);
		return;
	}
	req_finish(req, PARLEY_OK, NULL);
}

static void created(void *ud, const parley_store_result *res)
{
	stored(ud, res, 1);
}

static void updated(void *ud, const parley_store_result *res)
{
	stored(ud, res, 0);
}

static void create_user(struct aj_req *req, const parley_store_vtable *st, void *self)
{
	parley_user u = {.name = req->name,
	                 .display_name = req->display_name,
	                 .role = req->role,
	                 .email = req->email,
	                 .password_hash = req->marker,
	                 .created_ts = req->aj->host->now_ms()};

	if (st->user_create(self, &u, created, req) != PARLEY_PENDING) {
		req_finish(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	req->state = AJ_REQ_IN_STORE;
}

static int differs(const char *want, const char *have)
{
	return want && (!have || strcmp(want, have));
}

/* An account of ours: refresh what the issuer decides (role, when mapped;
 * display name and email, when given), then answer. */
static void refresh_user(struct aj_req *req, const parley_user *u, const parley_store_vtable *st,
                         void *self, int link)
{
	struct aj *aj = req->aj;
	parley_user change = {.id = u->id};
	int any = link;

	if (link)
		change.password_hash = req->marker;
	if (aj->cfg.roles_mapped && differs(req->role, u->role)) {
		change.role = req->role;
		any = 1;
		aj->host->log(aj->ctx, PARLEY_LOG_INFO, "sso_role_changed",
		              "user %s: role %s -> %s (groups)", u->name, u->role ? u->role : "-",
		              req->role);
	}
	if (differs(req->display_name, u->display_name))
		change.display_name = req->display_name, any = 1;
	if (differs(req->email, u->email))
		change.email = req->email, any = 1;
	if (!any) {
		if (take_user(req, u) != 0)
			req_finish(req, PARLEY_ENOMEM, NULL);
		else
			req_finish(req, PARLEY_OK, NULL);
		return;
	}
	if (st->user_update(self, &change, 0, updated, req) != PARLEY_PENDING) {
		req_finish(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	req->state = AJ_REQ_IN_STORE;
}

static void looked_up(void *ud, const parley_store_result *res)
{
	struct aj_req *req = ud;
	struct aj *aj = req->aj;
	const parley_store_vtable *st;
	const parley_user *u;
	const char *hash;
	void *self;

	req->state = AJ_REQ_NEW;
	if (aj->stopping || !(st = store_of(aj, &self))) {
		req_finish(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	if (res->rc == PARLEY_ENOTFOUND || (res->rc == PARLEY_OK && res->n_users < 1)) {
		create_user(req, st, self);
		return;
	}
	if (res->rc < 0) {
		req_finish(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	u = &res->users[0];
	hash = u->password_hash;
	if (u->disabled) {
		req_finish(req, PARLEY_EUNAUTHORIZED, "account disabled");
		return;
	}
	if (hash && !strcmp(hash, req->marker)) {
		refresh_user(req, u, st, self, 0);
		return;
	}
	if (aj->cfg.link_existing && (!hash || !*hash)) {
		aj->host->log(aj->ctx, PARLEY_LOG_INFO, "sso_user_linked",
		              "user %s (%s) is now tied to this issuer's subject", u->name, u->id);
		refresh_user(req, u, st, self, 1);
		return;
	}
	snprintf(req->msg, sizeof req->msg,
	         "the user name %s belongs to %s; an administrator must rename one of them",
	         req->name,
	         hash && !strncmp(hash, AJ_MARKER_PREFIX, strlen(AJ_MARKER_PREFIX))
	             ? "another single sign-on account"
	             : "a local account");
	aj->host->log(aj->ctx, PARLEY_LOG_WARN, "sso_name_collision", "%s", req->msg);
	req_finish(req, PARLEY_EUNAUTHORIZED, req->msg);
}

void provision_start(struct aj_req *req)
{
	struct aj *aj = req->aj;
	const parley_store_vtable *st;
	void *self;

	if (!(st = store_of(aj, &self))) {
		req_fail(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	if (st->user_get(self, NULL, req->name, looked_up, req) != PARLEY_PENDING) {
		req_fail(req, PARLEY_EUNAVAIL, MSG_STORE);
		return;
	}
	req->state = AJ_REQ_IN_STORE;
}
