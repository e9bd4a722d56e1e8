/* auth_jwt's shared state and its request object. Private to the plugin:
 * the server sees only the parley_auth_vtable.
 *
 * authenticate() parses and checks a token on the loop (cheap, bounded),
 * then may wait for the issuer's keys (keys.c, one transfer on the host's
 * curl multi shared by every waiting request) and always asks the store for
 * the account (provision.c). Every answer, errors included, reaches the
 * caller through done(), posted or from a callback, never from inside the
 * call; only PASS (not a token of this issuer) is returned directly. */
#ifndef AUTH_JWT_H
#define AUTH_JWT_H

#include <stdint.h>

#include <parley/plugin.h>

#include "claims.h"
#include "config.h"
#include "jwks.h"
#include "jwt.h"

#define AJ_MSG_MAX       200
#define AJ_NAME_MAX      32  /* user names: auth_local's rule */
#define AJ_DISPLAY_MAX   128 /* bytes of a display name taken from a claim */
#define AJ_EMAIL_MAX     254
#define AJ_MAX_WAITING   1024 /* requests waiting for one key fetch */
#define AJ_MARKER_PREFIX "$sso$"
#define AJ_MARKER_MAX    (sizeof AJ_MARKER_PREFIX + 16 + 1 + CLAIMS_MAX_SUB + 1)

/* Where a request is; decides who may free it. */
enum aj_req_state {
	AJ_REQ_NEW = 0,   /* on the loop, no callback owed */
	AJ_REQ_WAIT_KEYS, /* in the fetch's waiting list */
	AJ_REQ_IN_STORE,  /* a store callback is owed */
	AJ_REQ_POSTED     /* a posted delivery is owed */
};

struct aj_req;

struct aj {
	const parley_host *host;
	parley_ctx *ctx;
	struct aj_config cfg;
	struct claims_rules rules;
	struct jwks keys;
	int have_keys;
	struct aj_req *live; /* every request not finished */
	size_t n_waiting;
	int stopping;          /* fini ran: the last request to finish frees the state */
	size_t n_posted;       /* oidc.c's answers posted and not delivered yet */
	size_t n_store_calls;  /* oidc_store.c's store calls not answered yet */
	int oidc_sweeping;     /* oidc_store.c's sweep of expired flows runs */
	int64_t oidc_swept_ms; /* when it last began */
	struct aj_oidc *oidc;  /* browser sign-in (oidc.c); NULL when not configured */

	/* The key fetch (keys.c). */
	void *easy; /* CURL *, while a transfer runs */
	char *body;
	size_t body_len;
	int body_too_large;
	char curl_error[256];
	char fetch_error[AJ_MSG_MAX]; /* why the last fetch failed; "" after a success */
	int64_t last_kid_fetch_ms;    /* the last fetch an unknown key started */
	parley_timer *refresh;

	parley_metric *m_accepted, *m_refused, *m_fetches, *m_fetch_failures;
};

struct aj_req {
	struct aj *aj;
	struct aj_req *prev, *next;
	int state; /* enum aj_req_state */
	parley_auth_done done;
	void *ud;
	struct jwt jwt;
	enum jwt_alg alg;
	/* From the claims, owned. */
	char *name, *display_name, *email, *role;
	char marker[AJ_MARKER_MAX];
	/* The account as the store has it, owned. */
	char *user_id, *user_name, *user_display, *user_role, *user_email;
	int user_disabled;
	int64_t user_created_ts;
	int have_user;
	int create_retried;
	int rc;
	const char *message;
	char msg[AJ_MSG_MAX];
};

/* auth_jwt.c: frees the state (after fini, by the last request). */
void aj_free(struct aj *aj);

/* request.c */
/* The vtable's authenticate. */
int aj_authenticate(void *self, const char *token, parley_auth_done done, void *ud);
struct aj_req *req_new(struct aj *aj, parley_auth_done done, void *ud);
/* Calls done with rc and message, and frees req. Only from a callback:
 * inside authenticate, use req_fail. */
void req_finish(struct aj_req *req, int rc, const char *message);
/* Delivers rc and message from the next loop turn; returns PENDING. */
int req_fail(struct aj_req *req, int rc, const char *message);
void req_free(struct aj_req *req);
/* Copies s into *dst (NULL stays NULL); 0 or -1. */
int req_dup(struct aj_req *req, char **dst, const char *s);
/* With the token's key at hand: checks the signature, then provisions. */
void req_verify(struct aj_req *req, const struct jwk *key);

/* The ID token of a browser sign-in, checked like a bearer token but
 * for client_id and with the flow's nonce; done always runs (later). */
int aj_verify_id_token(struct aj *aj, const char *token, const char *nonce, parley_auth_done done,
                       void *ud);
/* After fini: frees the state once nothing is owed any more. */
void aj_free_if_idle(struct aj *aj);

/* keys.c */
/* Starts a fetch of the key set unless one runs; 0, or -1 (logged). */
int keys_fetch(struct aj *aj, const char *reason);
/* Finds req's key, or parks req until a fetch brings it (then req_verify
 * or req_finish). */
void keys_for(struct aj_req *req);
void keys_stop(struct aj *aj);

/* provision.c: the account for a verified token; finishes req. */
void provision_start(struct aj_req *req);

#endif
