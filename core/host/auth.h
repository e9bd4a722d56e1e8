/* The auth chain of the core: asks each auth provider in config order;
 * a provider that answers PARLEY_PASS hands the token to the next. Also the
 * token sources of a request (Authorization: Bearer, the parley_session
 * cookie). */
#ifndef PARLEY_AUTH_H
#define PARLEY_AUTH_H

#include <parley/plugin.h>

struct http_request;

#define AUTH_COOKIE "parley_session"

/* Resolves token to a user through the chain; done(ud, res) on the loop
 * thread (res->rc: OK with user, or EUNAUTHORIZED / EUNAVAIL). Returns
 * PARLEY_PENDING, or an error without calling done. */
int auth_token(const char *token, parley_auth_done done, void *ud);
/* The first provider that implements the member (login, logout, …), or NULL. */
const struct provider *auth_provider_with(size_t offset);
#define AUTH_PROVIDER_WITH(member) auth_provider_with(offsetof(parley_auth_vtable, member))

/* The request's token: Bearer header first, then the cookie; malloc'ed
 * or NULL. *from_cookie set to 1 when it came from the cookie. */
char *auth_request_token(const struct http_request *req, int *from_cookie);

#endif
