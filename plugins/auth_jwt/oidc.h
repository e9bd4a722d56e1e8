/* Browser sign-in (oidc.c): the auth vtable's oidc_* members. */
#ifndef AUTH_JWT_OIDC_H
#define AUTH_JWT_OIDC_H

#include <stdint.h>

#include <parley/plugin.h>

#define OIDC_RAND_CHARS 44 /* 32 random bytes in base64url, and the terminator */

struct aj;

/* One sign-in in progress: what finish needs of what begin made. */
struct oidc_flow {
	char state[OIDC_RAND_CHARS], binding[OIDC_RAND_CHARS];
	char nonce[OIDC_RAND_CHARS], verifier[OIDC_RAND_CHARS];
	int64_t expires_ms;
};

/* The flow table when client_id is configured; 0 or -1 (no memory). */
int oidc_init(struct aj *aj);
/* Starts the discovery document's fetch unless it is held or running. */
int oidc_discover(struct aj *aj);
/* Answers what waits (unavailable), ends transfers, frees the table. */
void oidc_stop(struct aj *aj);

int oidc_describe(void *self, const char **name, const char **logout_url);
int oidc_begin(void *self, parley_auth_done done, void *ud);
int oidc_finish(void *self, const char *binding, const char *state, const char *code,
                parley_auth_done done, void *ud);

#endif
