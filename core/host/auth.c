/* The auth chain. A token goes to each auth provider in config order; a
 * provider answering PARLEY_PASS hands it on, any other answer is final.
 * The walk state lives in one heap record (the token copied), because
 * providers answer asynchronously. A provider may answer from inside its
 * own call before returning PENDING, so the record is never touched after
 * a call that returned PENDING. */
#include "host/auth.h"

#include <stdlib.h>
#include <string.h>

#include "net/http.h"
#include "host/plugin_host.h"

#define AUTH_BEARER     "bearer"
#define AUTH_BEARER_LEN (sizeof(AUTH_BEARER) - 1)

struct auth_walk {
	char *token;
	size_t next; /* index of the next provider to ask */
	parley_auth_done done;
	void *ud;
};

static int has_member(const parley_auth_vtable *vt, size_t offset)
{
	void *fn;
	if (!vt || vt->struct_size < offset + sizeof(fn))
		return 0;
	memcpy(&fn, (const char *)vt + offset, sizeof(fn));
	return fn != NULL;
}

const struct provider *auth_provider_with(size_t offset)
{
	const struct provider *list;
	size_t n = plugins_auth(&list);
	for (size_t i = 0; i < n; i++)
		if (has_member(list[i].vtable, offset))
			return &list[i];
	return NULL;
}

static void walk_free(struct auth_walk *w)
{
	free(w->token);
	free(w);
}

static void walk_result(void *ud, const parley_auth_result *res);

/* Asks providers from w->next on. Returns PENDING (w belongs to the
 * callback now), or the final rc when every provider passed or refused
 * synchronously (w still ours). */
static int walk_step(struct auth_walk *w)
{
	const struct provider *list;
	size_t n = plugins_auth(&list);
	while (w->next < n) {
		const struct provider *p = &list[w->next++];
		const parley_auth_vtable *vt = p->vtable;
		if (!has_member(vt, offsetof(parley_auth_vtable, authenticate)))
			continue;
		int rc = vt->authenticate(p->self, w->token, walk_result, w);
		if (rc == PARLEY_PENDING)
			return PARLEY_PENDING;
		if (rc != PARLEY_PASS)
			return rc < 0 ? rc : PARLEY_ERR;
	}
	return PARLEY_EUNAUTHORIZED;
}

static void walk_finish(struct auth_walk *w, int rc)
{
	parley_auth_result res = {0};
	res.rc = rc;
	res.message =
	    rc == PARLEY_EUNAUTHORIZED ? "invalid or expired token" : "authentication unavailable";
	w->done(w->ud, &res);
	walk_free(w);
}

/* The members every ABI 1 provider sets, without the appended ones: what
 * an older provider passes may end before them. */
static parley_auth_result result_base(const parley_auth_result *res)
{
	return (parley_auth_result){.rc = res->rc,
	                            .message = res->message,
	                            .user = res->user,
	                            .token = res->token,
	                            .expires_ts = res->expires_ts,
	                            .retry_after_ms = res->retry_after_ms,
	                            .link = res->link};
}

static void walk_result(void *ud, const parley_auth_result *res)
{
	struct auth_walk *w = ud;
	const struct provider *list;
	size_t n = plugins_auth(&list);
	parley_auth_result base;
	/* Scopes are read only from a provider that knows about them. */
	if (w->next == 0 || w->next > n ||
	    !has_member(list[w->next - 1].vtable, offsetof(parley_auth_vtable, bot_token_new))) {
		base = result_base(res);
		res = &base;
	}
	if (res->rc == PARLEY_PASS) {
		int rc = walk_step(w);
		if (rc != PARLEY_PENDING)
			walk_finish(w, rc);
		return;
	}
	if (res->rc == PARLEY_OK && (!res->user || res->user->disabled)) {
		/* A disabled account's leftover session is no session. */
		parley_auth_result denied = *res;
		denied.rc = PARLEY_EUNAUTHORIZED;
		denied.message = "account disabled";
		denied.user = NULL;
		w->done(w->ud, &denied);
	} else {
		w->done(w->ud, res);
	}
	walk_free(w);
}

int auth_token(const char *token, parley_auth_done done, void *ud)
{
	if (!token || !*token)
		return PARLEY_EUNAUTHORIZED;
	struct auth_walk *w = calloc(1, sizeof(*w));
	if (!w)
		return PARLEY_ENOMEM;
	w->token = strdup(token);
	if (!w->token) {
		free(w);
		return PARLEY_ENOMEM;
	}
	w->done = done;
	w->ud = ud;
	int rc = walk_step(w);
	if (rc != PARLEY_PENDING)
		walk_free(w);
	return rc;
}

char *auth_request_token(const struct http_request *req, int *from_cookie)
{
	if (from_cookie)
		*from_cookie = 0;
	const char *h = http_header(req, "authorization");
	if (h) {
		while (*h == ' ' || *h == '\t')
			h++;
		if (strncasecmp(h, AUTH_BEARER, AUTH_BEARER_LEN) == 0 &&
		    (h[AUTH_BEARER_LEN] == ' ' || h[AUTH_BEARER_LEN] == '\t')) {
			const char *t = h + AUTH_BEARER_LEN;
			while (*t == ' ' || *t == '\t')
				t++;
			size_t len = strlen(t);
			while (len && (t[len - 1] == ' ' || t[len - 1] == '\t'))
				len--;
			if (len)
				return strndup(t, len);
		}
	}
	char *c = http_cookie(req, AUTH_COOKIE);
	if (c && !*c) {
		free(c);
		return NULL;
	}
	if (c && from_cookie)
		*from_cookie = 1;
	return c;
}
