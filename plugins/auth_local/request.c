/* The request object every vtable call walks: allocation, the list of
 * requests in flight (so fini frees what the loop never finished), the
 * owned copy of a user, and delivery of the result. */
#include <string.h>

#include "auth_local.h"

struct al_req *req_new(struct al *al, parley_auth_done done, void *ud)
{
	struct al_req *req = al->host->calloc(al->ctx, 1, sizeof *req);

	if (!req)
		return NULL;
	req->al = al;
	req->done = done;
	req->ud = ud;
	req->next = al->live;
	if (al->live)
		al->live->prev = req;
	al->live = req;
	return req;
}

int req_dup(struct al_req *req, char **dst, const char *s)
{
	*dst = NULL;
	if (!s)
		return PARLEY_OK;
	*dst = req->al->host->strdup(req->al->ctx, s);
	return *dst ? PARLEY_OK : PARLEY_ENOMEM;
}

static void user_clear(struct al *al, struct al_user *u)
{
	char **fields[] = {&u->id,   &u->name,  &u->display_name,
	                   &u->role, &u->email, &u->password_hash};

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		al->host->free(al->ctx, *fields[i]);
		*fields[i] = NULL;
	}
}

int req_take_user(struct al_req *req, const parley_user *u)
{
	struct al *al = req->al;
	struct al_user *c = &req->user;
	int rc = PARLEY_OK;

	user_clear(al, c);
	req->have_user = 0;
	if (req_dup(req, &c->id, u->id) || req_dup(req, &c->name, u->name) ||
	    req_dup(req, &c->display_name, u->display_name) || req_dup(req, &c->role, u->role) ||
	    req_dup(req, &c->email, u->email) ||
	    req_dup(req, &c->password_hash, u->password_hash)) {
		user_clear(al, c);
		rc = PARLEY_ENOMEM;
		goto out;
	}
	c->disabled = u->disabled;
	c->created_ts = u->created_ts;
	req->have_user = 1;
out:
	return rc;
}

void req_free(struct al_req *req)
{
	struct al *al = req->al;

	if (req->prev)
		req->prev->next = req->next;
	else
		al->live = req->next;
	if (req->next)
		req->next->prev = req->prev;
	if (req->password)
		explicit_bzero(req->password, strlen(req->password));
	if (req->new_password)
		explicit_bzero(req->new_password, strlen(req->new_password));
	explicit_bzero(req->job.encoded, sizeof req->job.encoded);
	explicit_bzero(req->token, sizeof req->token);
	user_clear(al, &req->user);
	al->host->free(al->ctx, req->name);
	al->host->free(al->ctx, req->password);
	al->host->free(al->ctx, req->email);
	al->host->free(al->ctx, req->role);
	al->host->free(al->ctx, req->created_by);
	al->host->free(al->ctx, req->client);
	al->host->free(al->ctx, req->invite);
	al->host->free(al->ctx, req->link);
	al->host->free(al->ctx, req->new_password);
	al->host->free(al->ctx, req->scopes);
	al->host->free(al->ctx, req->rooms_json);
	al->host->free(al->ctx, req);
}

void req_finish(struct al_req *req, int rc, const char *message)
{
	parley_auth_result res = {.rc = rc, .message = message};
	parley_user view;

	if (rc >= 0 && req->have_user) {
		/* Never hand the password hash beyond the plugin. */
		view = (parley_user){.id = req->user.id,
		                     .name = req->user.name,
		                     .display_name = req->user.display_name,
		                     .role = req->user.role,
		                     .email = req->user.email,
		                     .disabled = req->user.disabled,
		                     .created_ts = req->user.created_ts};
		res.user = &view;
	}
	if (rc >= 0 && req->token[0]) {
		res.token = req->token;
		res.expires_ts = req->expires_ts;
	}
	res.link = rc >= 0 ? req->link : NULL;
	res.scopes = rc >= 0 ? req->scopes : NULL;
	res.rooms_json = rc >= 0 ? req->rooms_json : NULL;
	res.retry_after_ms = rc == PARLEY_ERATELIMIT ? req->retry_after_ms : 0;
	if (req->done)
		req->done(req->ud, &res);
	req_free(req);
}

static void req_deliver(void *arg)
{
	struct al_req *req = arg;

	req_finish(req, req->rc, req->message);
}

int req_fail(struct al_req *req, int rc, const char *message)
{
	req->rc = rc;
	req->message = message;
	req->al->host->post(req->al->ctx, req_deliver, req);
	return PARLEY_PENDING;
}

const parley_store_vtable *al_store(struct al *al, void **self)
{
	*self = NULL;
	return al->host->store ? al->host->store(al->ctx, self) : NULL;
}

int al_store_rc(int rc)
{
	if (rc == PARLEY_ENOTFOUND || rc == PARLEY_ECONFLICT || rc == PARLEY_ESTORAGE)
		return rc;
	return PARLEY_EUNAVAIL;
}
