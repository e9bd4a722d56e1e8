/* A JSON Web Key Set (RFC 7517) as an issuer publishes it: the keys this
 * plugin can verify with (RSA, and EC on P-256), each loaded into an
 * mbedTLS public key once, when the set is fetched. Keys of other kinds
 * (encryption keys, other curves, symmetric "oct" keys) are skipped. */
#ifndef AUTH_JWT_JWKS_H
#define AUTH_JWT_JWKS_H

#include <stddef.h>

#include <mbedtls/pk.h>

#include "jwt.h"

#define JWKS_MAX_BYTES    (256 * 1024) /* the document */
#define JWKS_MAX_KEYS     64           /* entries in "keys" */
#define JWKS_MAX_DEPTH    8            /* JSON nesting */
#define JWKS_MAX_KID      256          /* bytes of a key id */
#define JWKS_RSA_MIN_BITS 2048
#define JWKS_RSA_MAX_BITS 8192

struct jwk {
	char *kid;        /* may be NULL */
	enum jwt_alg alg; /* the algorithm this key serves */
	int alg_pinned;   /* the JWK named its "alg" */
	mbedtls_pk_context pk;
};

struct jwks {
	struct jwk *keys;
	size_t n;
	size_t skipped; /* entries not usable here */
};

/* Parses text[0..len) into *set (zeroed first). 0 on success (free with
 * jwks_free; a set may have no usable key), -1 with a reason in why[n]. */
int jwks_parse(const char *text, size_t len, struct jwks *set, char *why, size_t n);
void jwks_free(struct jwks *set);
/* The key for a token: same kid (when the token names one) and a key type
 * that serves alg. The first match, or NULL. */
const struct jwk *jwks_find(const struct jwks *set, const char *kid, enum jwt_alg alg);

#endif
